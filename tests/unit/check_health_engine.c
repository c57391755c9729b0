/*
 * check_health_engine: the health thread (health.c) against real
 * loopback sockets: results reach the cells, shared cells are checked
 * once, a new wanted set keeps what stays and drops what goes, the
 * in-flight bound holds, and every target is checked again and again.
 */
#include "config.h"

#include <check.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "health.h"
#include "unit.h"

static int64_t
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A listening socket on 127.0.0.1 (listen: 1) or a bound, dead one. */
static int
sock(struct sockaddr_in *sin, int listening)
{
	socklen_t	 len = sizeof(*sin);
	int		 fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)sin, sizeof(*sin)), 0);
	if (listening)
		ck_assert_int_eq(listen(fd, 4096), 0);
	getsockname(fd, (struct sockaddr *)sin, &len);
	return fd;
}

/* Accept and close whatever is queued on fd; how many. */
static int
drain(int fd)
{
	int	 n = 0, c;

	while ((c = accept(fd, NULL, NULL)) >= 0) {
		close(c);
		n++;
	}
	return n;
}

/*
 * A tiny HTTP backend on its own thread: it accepts, reads the
 * request, answers 200 and counts the connections.  What it counts is
 * HTTP checks that reached the application; a tcp check no longer does
 * (SYN, SYN-ACK, RST: never accepted), so sharing is counted on HTTP.
 */
struct answerer {
	int		 fd;
	atomic_int	 hits;
	atomic_int	 stop;
	pthread_t	 th;
};

static void *
answer_loop(void *arg)
{
	static const char	 ok[] = "HTTP/1.1 200 OK\r\n"
	    "Content-Length: 0\r\nConnection: close\r\n\r\n";
	struct answerer		*a = arg;
	struct pollfd		 pfd;
	char			 buf[2048];
	ssize_t			 n = 0;
	int			 c;

	while (!atomic_load(&a->stop)) {
		pfd.fd = a->fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 20) <= 0)
			continue;
		while ((c = accept(a->fd, NULL, NULL)) >= 0) {
			atomic_fetch_add(&a->hits, 1);
			pfd.fd = c;
			pfd.events = POLLIN;
			/* The request first: closing on unread bytes would
			   reset the connection under the response. */
			if (poll(&pfd, 1, 1000) > 0 &&
			    read(c, buf, sizeof(buf)) > 0)
				n = write(c, ok, sizeof(ok) - 1);
			(void)n;	/* a probe that gave up still counted */
			close(c);
		}
	}
	return NULL;
}

static void
answerer_start(struct answerer *a, struct sockaddr_in *sin)
{
	a->fd = sock(sin, 1);
	atomic_init(&a->hits, 0);
	atomic_init(&a->stop, 0);
	ck_assert_int_eq(pthread_create(&a->th, NULL, answer_loop, a), 0);
}

static void
answerer_stop(struct answerer *a)
{
	atomic_store(&a->stop, 1);
	pthread_join(a->th, NULL);
	close(a->fd);
}

/* Connections a got since the last call. */
static int
answered(struct answerer *a)
{
	return atomic_exchange(&a->hits, 0);
}

struct notes {
	pthread_mutex_t	 mu;
	int		 up, down;
};

static void
on_change(void *arg, const struct hc_cell *c, enum hc_health from,
    enum hc_health to, const char *reason)
{
	struct notes	*n = arg;

	(void)c;
	(void)from;
	(void)reason;
	pthread_mutex_lock(&n->mu);
	if (to == HC_UP)
		n->up++;
	else if (to == HC_DOWN)
		n->down++;
	pthread_mutex_unlock(&n->mu);
}

static void
settings(struct hc_settings *s, enum hc_kind kind, uint32_t interval)
{
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	s->interval_ms = interval;
	s->timeout_ms = interval;
	s->rise = 1;
	s->fall = 1;
}

static struct hc_cell *
cell_for(struct hc_celltab *t, const struct sockaddr_in *sin,
    const struct hc_settings *s)
{
	char	 key[HC_KEY_MAX];

	ck_assert_ptr_nonnull(hc_key(key, sizeof(key),
	    (const struct sockaddr *)sin, sizeof(*sin), s));
	return hc_celltab_get(t, key);
}

static void
target(struct hc_target *t, struct hc_cell *c, const struct sockaddr_in *sin,
    const struct hc_settings *s)
{
	memset(t, 0, sizeof(*t));
	t->cell = c;
	memcpy(&t->sa, sin, sizeof(*sin));
	t->salen = sizeof(*sin);
	t->set = s;
}

/* Wait (at most ms) until cell's state is st. */
static int
wait_state(const struct hc_cell *c, enum hc_health st, int ms)
{
	int64_t	 t0 = now_ms();

	while (atomic_load(&c->state) != (int)st) {
		if (now_ms() - t0 > ms)
			return 0;
		usleep(5000);
	}
	return 1;
}

START_TEST(results_reach_cells)
{
	struct hc_celltab	 tab;
	struct hc_settings	 s;
	struct hc_target	 t[2];
	struct hc_engine	*e;
	struct sockaddr_in	 live, dead;
	struct notes		 n = { PTHREAD_MUTEX_INITIALIZER, 0, 0 };
	struct hc_cell		*cl, *cd;
	char			 err[160], why[PROBE_REASON_MAX];
	int			 lfd, dfd;

	hc_celltab_init(&tab);
	lfd = sock(&live, 1);
	dfd = sock(&dead, 0);
	settings(&s, HC_TCP, 100);
	cl = cell_for(&tab, &live, &s);
	cd = cell_for(&tab, &dead, &s);
	ck_assert_ptr_ne(cl, cd);
	ck_assert_int_eq(atomic_load(&cl->state), HC_UNKNOWN);
	target(&t[0], cl, &live, &s);
	target(&t[1], cd, &dead, &s);
	e = hc_engine_new(16, on_change, &n, err, sizeof(err));
	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(hc_engine_start(e, err, sizeof(err)), 0);
	ck_assert_int_eq(hc_engine_want(e, t, 2), 0);
	ck_assert(wait_state(cl, HC_UP, 3000));
	ck_assert(wait_state(cd, HC_DOWN, 3000));
	ck_assert_str_eq(hc_cell_reason(cd, why, sizeof(why)),
	    "connection refused");
	ck_assert_str_eq(hc_cell_reason(cl, why, sizeof(why)), "connected");
	ck_assert_int_gt(atomic_load(&cl->last_ms), 0);
	ck_assert_int_gt(atomic_load(&cl->last_ok_ms), 0);
	ck_assert_int_gt(atomic_load(&cl->up_since_ms), 0);
	ck_assert_int_eq(atomic_load(&cd->last_ok_ms), 0);
	{
		uint64_t	 sum = 0;
		size_t		 i;

		hc_engine_want(e, NULL, 0);	/* freeze the counts */
		usleep(50 * 1000);
		for (i = 0; i < HC_LAT_BUCKETS; i++)
			sum += atomic_load(&cl->latency[i]);
		ck_assert_uint_eq(sum, atomic_load(&cl->checks));
		ck_assert_uint_gt(sum, 0);
		ck_assert_int_eq(hc_engine_want(e, t, 2), 0);
	}

	/* The dead port comes alive: up within a few intervals. */
	ck_assert_int_eq(listen(dfd, 16), 0);
	ck_assert(wait_state(cd, HC_UP, 3000));
	hc_engine_free(e);
	pthread_mutex_lock(&n.mu);
	ck_assert_int_eq(n.up, 2);
	ck_assert_int_eq(n.down, 1);
	pthread_mutex_unlock(&n.mu);
	ck_assert_uint_eq(atomic_load(&cd->transitions), 2);
	close(lfd);
	close(dfd);
	hc_celltab_free(&tab);
}
END_TEST

START_TEST(shared_cells_checked_once_and_sets_diffed)
{
	struct hc_celltab	 tab;
	struct hc_settings	 s, s2;
	struct hc_target	 t[3];
	struct hc_engine	*e;
	struct hc_engine_stats	 st;
	struct sockaddr_in	 a, b;
	struct hc_cell		*ca, *ca2, *cb;
	struct answerer		 sa, sb;
	char			 err[160];
	int			 hits;
	uint64_t		 checks;

	hc_celltab_init(&tab);
	answerer_start(&sa, &a);
	answerer_start(&sb, &b);
	/* HTTP: the backend application sees each check (see answerer). */
	settings(&s, HC_HTTP, 50);
	settings(&s2, HC_HTTP, 50);
	/* A busy machine may keep the answering thread from the CPU for
	   longer than an interval: a late answer is not a failure here. */
	s.timeout_ms = s2.timeout_ms = 2000;
	s2.fall = 2;	/* other settings: another check */
	ca = cell_for(&tab, &a, &s);
	ck_assert_ptr_eq(cell_for(&tab, &a, &s), ca);
	ca2 = cell_for(&tab, &a, &s2);
	ck_assert_ptr_ne(ca, ca2);
	cb = cell_for(&tab, &b, &s);

	/* Three Service ports want a's check: one check runs. */
	target(&t[0], ca, &a, &s);
	target(&t[1], ca, &a, &s);
	target(&t[2], ca, &a, &s);
	e = hc_engine_new(16, NULL, NULL, err, sizeof(err));
	ck_assert_int_eq(hc_engine_start(e, err, sizeof(err)), 0);
	ck_assert_int_eq(hc_engine_want(e, t, 3), 0);
	ck_assert(wait_state(ca, HC_UP, 3000));
	answered(&sa);
	usleep(500 * 1000);
	hc_engine_stats(e, &st);
	ck_assert_uint_eq(st.targets, 1);
	hits = answered(&sa);
	/* 50 ms +-25% for 0.5 s or so: about 10, never the 30 of three. */
	ck_assert_msg(hits >= 4 && hits <= 20, "%d probes", hits);

	/* A new set: a stays (keeps its state), b is added. */
	target(&t[1], cb, &b, &s);
	ck_assert_int_eq(hc_engine_want(e, t, 2), 0);
	ck_assert(wait_state(cb, HC_UP, 3000));
	ck_assert_int_eq(atomic_load(&ca->state), HC_UP);
	ck_assert_uint_eq(atomic_load(&ca->transitions), 1);
	hc_engine_stats(e, &st);
	ck_assert_uint_eq(st.targets, 2);

	/* a dropped: its checks stop. */
	target(&t[0], cb, &b, &s);
	ck_assert_int_eq(hc_engine_want(e, t, 1), 0);
	usleep(200 * 1000);
	checks = atomic_load(&ca->checks);
	answered(&sa);
	usleep(300 * 1000);
	ck_assert_uint_eq(atomic_load(&ca->checks), checks);
	ck_assert_int_eq(answered(&sa), 0);
	hc_engine_stats(e, &st);
	ck_assert_uint_eq(st.targets, 1);

	/* Nothing wanted. */
	ck_assert_int_eq(hc_engine_want(e, NULL, 0), 0);
	usleep(100 * 1000);
	hc_engine_stats(e, &st);
	ck_assert_uint_eq(st.targets, 0);
	hc_engine_free(e);
	answerer_stop(&sa);
	answerer_stop(&sb);
	hc_celltab_free(&tab);
}
END_TEST

START_TEST(inflight_bound_and_timeouts)
{
	struct hc_celltab	 tab;
	struct hc_settings	 s;
	struct hc_target	 t[20];
	struct hc_engine	*e;
	struct hc_engine_stats	 st;
	struct sockaddr_in	 silent;
	char			 err[160];
	int			 fd, i, seen_max = 0;
	int64_t			 t0;

	hc_celltab_init(&tab);
	/* Accepted by the kernel, never answered: every HTTP check runs
	   to its timeout. */
	fd = sock(&silent, 1);
	settings(&s, HC_HTTP, 200);
	s.timeout_ms = 150;
	for (i = 0; i < 20; i++) {
		struct hc_settings	*si = malloc(sizeof(*si));
		char			 path[16];

		*si = s;
		snprintf(path, sizeof(path), "/%d", i);
		si->path = strdup(path);	/* distinct checks */
		target(&t[i], cell_for(&tab, &silent, si), &silent, si);
	}
	e = hc_engine_new(2, NULL, NULL, err, sizeof(err));
	ck_assert_int_eq(hc_engine_start(e, err, sizeof(err)), 0);
	ck_assert_int_eq(hc_engine_want(e, t, 20), 0);
	t0 = now_ms();
	while (now_ms() - t0 < 1500) {
		hc_engine_stats(e, &st);
		if ((int)st.inflight > seen_max)
			seen_max = (int)st.inflight;
		usleep(2000);
	}
	hc_engine_stats(e, &st);
	ck_assert_int_le(seen_max, 2);
	ck_assert_uint_gt(st.queued, 0);
	ck_assert_uint_gt(st.started, 4);
	for (i = 0; i < 20; i++)
		if (atomic_load(&t[i].cell->checks) > 0) {
			char	 why[PROBE_REASON_MAX];

			ck_assert_int_eq(atomic_load(&t[i].cell->state),
			    HC_DOWN);
			ck_assert_str_eq(hc_cell_reason(t[i].cell, why,
			    sizeof(why)), "timeout after 150ms");
		}
	hc_engine_free(e);
	for (i = 0; i < 20; i++) {
		free((char *)t[i].set->path);
		free((void *)t[i].set);
	}
	close(fd);
	hc_celltab_free(&tab);
}
END_TEST

START_TEST(every_target_checked)
{
	struct hc_celltab	 tab;
	struct hc_settings	 s[300];
	struct hc_target	 t[300];
	struct hc_engine	*e;
	struct hc_engine_stats	 st;
	struct sockaddr_in	 live;
	char			 err[160], host[16];
	int			 fd, i;
	int64_t			 t0;

	hc_celltab_init(&tab);
	fd = sock(&live, 1);
	for (i = 0; i < 300; i++) {
		settings(&s[i], HC_TCP, 100);
		snprintf(host, sizeof(host), "h%d", i);
		s[i].host = strdup(host);	/* distinct checks */
		target(&t[i], cell_for(&tab, &live, &s[i]), &live, &s[i]);
	}
	e = hc_engine_new(HC_DEFAULT_INFLIGHT, NULL, NULL, err, sizeof(err));
	ck_assert_int_eq(hc_engine_start(e, err, sizeof(err)), 0);
	ck_assert_int_eq(hc_engine_want(e, t, 300), 0);
	t0 = now_ms();
	while (now_ms() - t0 < 1500) {
		drain(fd);
		usleep(2000);
	}
	hc_engine_stats(e, &st);
	hc_engine_free(e);
	/* 300 targets every 100 ms for 1.5 s: about 15 checks each.  How
	   late they run under load is bench/'s to measure; here, each
	   target was checked repeatedly and the lateness was counted. */
	for (i = 0; i < 300; i++)
		ck_assert_msg(atomic_load(&t[i].cell->checks) >= 2,
		    "target %d: %llu checks", i, (unsigned long long)
		    atomic_load(&t[i].cell->checks));
	ck_assert_uint_ge(st.started, 600);
	for (i = 0; i < 300; i++)
		free((char *)s[i].host);
	close(fd);
	hc_celltab_free(&tab);
}
END_TEST

START_TEST(keys)
{
	struct hc_settings	 s, s2;
	struct sockaddr_in6	 in6;
	char			 a[HC_KEY_MAX], b[HC_KEY_MAX], tiny[8];

	settings(&s, HC_HTTP, 2000);
	s2 = s;
	s2.path = "/healthz";
	memset(&in6, 0, sizeof(in6));
	in6.sin6_family = AF_INET6;
	in6.sin6_addr.s6_addr[15] = 1;
	in6.sin6_port = htons(8080);
	ck_assert_ptr_nonnull(hc_key(a, sizeof(a), (struct sockaddr *)&in6,
	    sizeof(in6), &s));
	ck_assert_ptr_nonnull(hc_key(b, sizeof(b), (struct sockaddr *)&in6,
	    sizeof(in6), &s2));
	ck_assert_str_ne(a, b);
	ck_assert(strncmp(a, "[::1]:8080 http 2000/2000 1/1 ", 30) == 0);
	ck_assert_ptr_null(hc_key(tiny, sizeof(tiny), (struct sockaddr *)&in6,
	    sizeof(in6), &s));
}
END_TEST

static Suite *
engine_suite(void)
{
	Suite	*s = suite_create("health_engine");
	TCase	*tc = tcase_create("engine");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, results_reach_cells);
	tcase_add_test(tc, shared_cells_checked_once_and_sets_diffed);
	tcase_add_test(tc, inflight_bound_and_timeouts);
	tcase_add_test(tc, every_target_checked);
	tcase_add_test(tc, keys);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(engine_suite());
}
