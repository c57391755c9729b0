/*
 * relay against real loopback sockets, on one event loop in the test's
 * thread: health-on-down closes established connections to an endpoint
 * whose check cell went down (and keeps them with keep, or while the
 * cell is up), and passive ejection keeps new connections off an
 * endpoint that refuses them, through the real connect path.  And
 * connection slots: workers racing for the last one never pass a limit.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include <event2/event.h>

#include "lb.h"
#include "load.h"
#include "metrics.h"
#include "relay.h"
#include "res.h"
#include "snapshot.h"
#include "unit.h"
#include "val.h"
#include "worker.h"

#define WAIT_MS		5000	/* bound on every wait */

struct rfx {
	struct lb_livetab	 live;
	struct met_tab		 met;
	struct snap		*snap;
	struct snap_port	*sp;		/* the Service's port 80 */
	const struct snap_lsn	*lsn;
	struct event_base	*base;
	struct relay_wrk	 w;
	struct wrk_stats	 stats;
	_Atomic uint32_t	 active;
	int			 nclosed;	/* closed callbacks */
	struct hc_cell		*chain_cell;	/* rfx_closed downs it */
	size_t			 chained;	/* closed by the first close */
	int			 front;		/* where clients connect */
	int			 back;		/* backend 127.0.0.1:port */
	int			 dead;		/* 127.0.0.2:port, bound only */
	uint16_t		 port;
};

static void
rfx_closed(void *arg)
{
	struct rfx *f = arg;

	f->nclosed++;
	/*
	 * Stand in for the worker's closed callback at its worst: the
	 * first close closes every other connection (a resumed listener's
	 * recheck does that in a worker).
	 */
	if (f->chain_cell != NULL && f->nclosed == 1) {
		atomic_store(&f->chain_cell->state, HC_DOWN);
		f->chained = relay_health_close(&f->w);
	}
}

static int
tcp_listen(const char *ip, uint16_t port, int do_listen, uint16_t *got)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof(sin);
	int			fd, one = 1;

	ck_assert_int_ge(fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0), 0);
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	inet_pton(AF_INET, ip, &sin.sin_addr);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		close(fd);
		return -1;
	}
	if (do_listen)
		ck_assert_int_eq(listen(fd, 64), 0);
	getsockname(fd, (struct sockaddr *)&sin, &len);
	if (got != NULL)
		*got = ntohs(sin.sin_port);
	return fd;
}

static const char yaml_fmt[] =
"apiVersion: svcproxy.io/v1alpha1\n"
"kind: ProxyConfig\n"
"metadata: {name: c}\n"
"spec: {serviceCIDR: 10.96.0.0/16, connectTimeout: 2s}\n"
"---\n"
"apiVersion: v1\n"
"kind: Service\n"
"metadata: {name: web}\n"
"spec:\n"
"  selector: {app: web}\n"
"  clusterIP: 10.96.0.10\n"
"  ports: [{port: 80, targetPort: %u}]\n"
"---\n"
"apiVersion: v1\n"
"kind: Pod\n"
"metadata: {name: a, labels: {app: web}}\n"
"spec: {containers: [{name: c}]}\n"
"status: {phase: Running, podIP: 127.0.0.1,"
" conditions: [{type: Ready, status: \"True\"}]}\n"
"%s";

static const char yaml_pod_b[] =
"---\n"
"apiVersion: v1\n"
"kind: Pod\n"
"metadata: {name: b, labels: {app: web}}\n"
"spec: {containers: [{name: c}]}\n"
"status: {phase: Running, podIP: 127.0.0.2,"
" conditions: [{type: Ready, status: \"True\"}]}\n";

/* A snapshot of one Service whose endpoints are 127.0.0.1 (and .2). */
static void
rfx_init(struct rfx *f, int two)
{
	struct kset		 set;
	struct diag_list	 dl;
	struct pcfg		 pc;
	struct res_model	 m;
	struct ipaddr		 a;
	char			 yaml[2048], err[256];
	int			 i;

	memset(f, 0, sizeof(*f));
	f->dead = -1;
	/* A port free on both addresses: the second may be taken. */
	for (i = 0; i < 50; i++) {
		f->back = tcp_listen("127.0.0.1", 0, 1, &f->port);
		if (!two || (f->dead = tcp_listen("127.0.0.2", f->port, 0,
		    NULL)) != -1)
			break;
		close(f->back);
	}
	ck_assert(!two || f->dead != -1);
	f->front = tcp_listen("127.0.0.1", 0, 1, NULL);
	snprintf(yaml, sizeof(yaml), yaml_fmt, f->port, two ? yaml_pod_b :
	    "");
	memset(&pc, 0, sizeof(pc));
	if (unit_load(&set, &dl, yaml) != 0 || val_all(&set, &pc, &dl) != 0) {
		unit_dump(&dl);
		ck_abort_msg("configuration did not load cleanly");
	}
	ck_assert_int_eq(res_build(&set, &pc, &m, &dl), 0);
	lb_livetab_init(&f->live);
	f->snap = snap_build(&m, &f->live, NULL, err, sizeof(err));
	ck_assert_msg(f->snap != NULL, "%s", err);
	res_free(&m);
	unit_free(&set, &dl);
	ipaddr_parse("10.96.0.10", &a);
	ck_assert_ptr_nonnull(f->lsn = snap_find_lsn(f->snap, &a, 80,
	    PROTO_TCP));
	/* The test stands in for the snapshot build's health settings. */
	f->sp = (struct snap_port *)(uintptr_t)f->lsn->sp;
	ck_assert_uint_eq(f->sp->lb.neps, two ? 2 : 1);
	met_tab_init(&f->met, 1);
	ck_assert_ptr_nonnull(f->sp->met = met_port_get(&f->met, "web"));
	ck_assert_ptr_nonnull(f->base = event_base_new());
	f->w.base = f->base;
	f->w.stats = &f->stats;
	f->w.active_all = &f->active;
	f->w.closed = rfx_closed;
	f->w.arg = f;
	ck_assert_int_eq(relay_wrk_init(&f->w, 16, 65536), 0);
}

static void
rfx_free(struct rfx *f)
{
	relay_close_all(&f->w);
	relay_wrk_free(&f->w);
	event_base_free(f->base);
	snap_unref(f->snap);
	lb_livetab_free(&f->live);
	met_tab_free(&f->met);
	close(f->front);
	close(f->back);
	if (f->dead != -1)
		close(f->dead);
}

static long
ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Turn the loop until fd has a connection to accept; returns it. */
static int
loop_accept(struct rfx *f, int lfd)
{
	long	end = ms_now() + WAIT_MS;
	int	fd;

	while ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) == -1) {
		ck_assert_msg(errno == EAGAIN, "accept: %s", strerror(errno));
		ck_assert_msg(ms_now() < end, "nothing to accept in time");
		event_base_loop(f->base, EVLOOP_NONBLOCK);
		usleep(1000);
	}
	return fd;
}

/* Turn the loop until fd reads n bytes (into buf) or says EOF/error:
   the bytes read, 0 on EOF, -errno. */
static int
loop_read(struct rfx *f, int fd, char *buf, size_t n)
{
	long	end = ms_now() + WAIT_MS;
	ssize_t	r;
	size_t	got = 0;

	while (got < n) {
		r = recv(fd, buf + got, n - got, MSG_DONTWAIT);
		if (r == 0)
			return (int)got;
		if (r > 0) {
			got += (size_t)r;
			continue;
		}
		if (errno != EAGAIN)
			return -errno;
		ck_assert_msg(ms_now() < end, "no bytes in time");
		event_base_loop(f->base, EVLOOP_NONBLOCK);
		usleep(1000);
	}
	return (int)got;
}

/* A client connected through the relay: its socket; *bfd the backend's. */
static int
rfx_connect(struct rfx *f, int *bfd)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof(sin);
	int			cfd, sfd;
	char			buf[8];

	ck_assert_int_ge(cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0),
	    0);
	getsockname(f->front, (struct sockaddr *)&sin, &len);
	ck_assert_int_eq(connect(cfd, (struct sockaddr *)&sin, len), 0);
	len = sizeof(sin);
	sfd = accept4(f->front, (struct sockaddr *)&sin, &len,
	    SOCK_NONBLOCK | SOCK_CLOEXEC);
	ck_assert_int_ge(sfd, 0);
	ck_assert_int_eq(relay_reserve(&f->w, f->lsn->sp, 0), 1);
	relay_start(&f->w, sfd, (struct sockaddr *)&sin, len,
	    snap_ref(f->snap), f->lsn);
	*bfd = loop_accept(f, f->back);
	/* Established both ways. */
	ck_assert_int_eq(send(cfd, "ping", 4, 0), 4);
	ck_assert_int_eq(loop_read(f, *bfd, buf, 4), 4);
	ck_assert_int_eq(memcmp(buf, "ping", 4), 0);
	ck_assert_int_eq(send(*bfd, "pong", 4, 0), 4);
	ck_assert_int_eq(loop_read(f, cfd, buf, 4), 4);
	ck_assert_int_eq(memcmp(buf, "pong", 4), 0);
	return cfd;
}

static struct hc_cell *
cell_new(enum hc_health h)
{
	struct hc_cell *c;

	ck_assert_ptr_nonnull(c = calloc(1, sizeof(*c) + 8));
	atomic_store(&c->state, (int)h);
	return c;
}

START_TEST(test_health_down_closes)
{
	struct rfx	 f;
	struct hc_cell	*cell = cell_new(HC_UP);
	char		 buf[8];
	int		 cfd, bfd;

	rfx_init(&f, 0);
	f.sp->lb.eps[0].hc = cell;
	f.sp->hc.close_on_down = 1;
	cfd = rfx_connect(&f, &bfd);
	/* Up: nothing to close. */
	ck_assert_uint_eq(relay_health_close(&f.w), 0);
	atomic_store(&cell->state, HC_DOWN);
	/* In panic the port serves down endpoints: kept. */
	atomic_store(&f.sp->lb.panic, 1);
	ck_assert_uint_eq(relay_health_close(&f.w), 0);
	atomic_store(&f.sp->lb.panic, 0);
	ck_assert_uint_eq(relay_health_close(&f.w), 1);
	ck_assert_int_eq(f.nclosed, 1);
	ck_assert_ptr_null(f.w.live);
	ck_assert_uint_eq(met_get(&f.sp->met->w[0].closed_health), 1);
	/* Both peers see a reset. */
	ck_assert_int_eq(loop_read(&f, cfd, buf, 4), -ECONNRESET);
	ck_assert_int_eq(loop_read(&f, bfd, buf, 4), -ECONNRESET);
	close(cfd);
	close(bfd);
	rfx_free(&f);
	free(cell);
}
END_TEST

START_TEST(test_health_down_keep)
{
	struct rfx	 f;
	struct hc_cell	*cell = cell_new(HC_DOWN);
	char		 buf[8];
	int		 cfd, bfd;

	rfx_init(&f, 0);
	cfd = rfx_connect(&f, &bfd);
	f.sp->lb.eps[0].hc = cell;	/* went down since: keep */
	ck_assert_uint_eq(relay_health_close(&f.w), 0);
	ck_assert_int_eq(f.nclosed, 0);
	ck_assert_uint_eq(met_get(&f.sp->met->w[0].closed_health), 0);
	ck_assert_int_eq(send(cfd, "more", 4, 0), 4);
	ck_assert_int_eq(loop_read(&f, bfd, buf, 4), 4);
	close(cfd);
	close(bfd);
	rfx_free(&f);
	free(cell);
}
END_TEST

/*
 * Two endpoints, 127.0.0.2 refusing: after two refusals in a row it is
 * ejected, and later connections go straight to 127.0.0.1 with no
 * failed attempt (the flow carries the loop's clock).
 */
START_TEST(test_passive_ejection)
{
	struct rfx	f;
	int		i, cfd[8], bfd[8];
	uint64_t	fails;

	rfx_init(&f, 1);
	f.sp->hc.outlier_failures = 2;
	f.sp->hc.eject_base_ms = 60000;
	f.sp->hc.eject_max_ms = 300000;
	f.sp->hc.eject_max_percent = 50;
	for (i = 0; i < 8; i++)
		cfd[i] = rfx_connect(&f, &bfd[i]);
	fails = f.sp->lb.eps[1].live->failures;
	ck_assert_uint_eq(fails, 2);
	ck_assert_uint_eq(f.sp->lb.eps[1].live->ejections, 1);
	ck_assert_uint_eq(f.sp->lb.eps[0].live->total, 8);
	ck_assert_uint_eq(met_get(&f.sp->met->w[0].connect_failures), 2);
	for (i = 0; i < 8; i++) {
		close(cfd[i]);
		close(bfd[i]);
	}
	rfx_free(&f);
}
END_TEST

/*
 * The whole way from the health thread's side: a worker serving a
 * connection closes it once wrk_group_health_changed() wakes it after
 * the endpoint's cell went down (close), and not while it is up.
 */
START_TEST(test_worker_health_wake)
{
	struct rfx		 f;
	struct hc_cell		*cell = cell_new(HC_UP);
	struct snap_slot	 slot;
	struct wrk_group	 g;
	struct lsn_group	 grp;
	struct lsn		 l;
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	char			 err[256], buf[8];
	long			 end;
	int			 cfd, bfd, lfd;

	rfx_init(&f, 0);
	f.sp->lb.eps[0].hc = cell;
	f.sp->hc.close_on_down = 1;
	/* The worker's listener: f.front's address, the Service's key. */
	memset(&l, 0, sizeof(l));
	memset(&grp, 0, sizeof(grp));
	lfd = tcp_listen("127.0.0.1", 0, 1, NULL);
	l.fd = lfd;
	getsockname(lfd, (struct sockaddr *)&l.sa, &l.salen);
	l.salen = sizeof(struct sockaddr_in);
	ipaddr_parse("10.96.0.10", &l.addr);
	l.port = 80;
	l.proto = PROTO_TCP;
	snprintf(l.name, sizeof(l.name), "test");
	ck_assert_int_eq(lsn_group_push(&grp, &l), 0);
	snap_slot_init(&slot);
	snap_slot_publish(&slot, snap_ref(f.snap));
	ck_assert_int_eq(wrk_group_init(&g, &slot, 65536, 0), 0);
	ck_assert_msg(wrk_group_create(&g, &grp, 1, 64, 0, err,
	    sizeof(err)) == 0,
	    "%s", err);
	ck_assert_msg(wrk_group_start(&g, err, sizeof(err)) == 0, "%s", err);

	ck_assert_int_ge(cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0),
	    0);
	getsockname(lfd, (struct sockaddr *)&sin, &len);
	ck_assert_int_eq(connect(cfd, (struct sockaddr *)&sin, len), 0);
	bfd = loop_accept(&f, f.back);
	ck_assert_int_eq(send(cfd, "ping", 4, 0), 4);
	ck_assert_int_eq(loop_read(&f, bfd, buf, 4), 4);
	/* Up: a wake closes nothing. */
	wrk_group_health_changed(&g);
	ck_assert_int_eq(send(cfd, "more", 4, 0), 4);
	ck_assert_int_eq(loop_read(&f, bfd, buf, 4), 4);
	ck_assert_int_eq(memcmp(buf, "more", 4), 0);
	/* Down: the worker closes it, both peers see a reset. */
	atomic_store(&cell->state, HC_DOWN);
	wrk_group_health_changed(&g);
	ck_assert_int_eq(loop_read(&f, cfd, buf, 4), -ECONNRESET);
	ck_assert_int_eq(loop_read(&f, bfd, buf, 4), -ECONNRESET);
	end = ms_now() + WAIT_MS;
	while (met_get(&f.sp->met->w[0].closed_health) != 1)
		ck_assert_msg(ms_now() < end, "not counted in time");

	wrk_group_command(&g, WRK_STOP);
	end = ms_now() + WAIT_MS;
	while (!wrk_group_exited(&g)) {
		ck_assert_msg(ms_now() < end, "worker did not stop");
		usleep(1000);
	}
	wrk_group_free(&g);
	snap_slot_clear(&slot);
	close(cfd);
	close(bfd);
	rfx_free(&f);
	free(cell);
}
END_TEST

/*
 * Bug from issue 11's refactor: connections waiting on the poller's
 * rerun list, one of which closes while the list is run, and whose
 * close closes the others (here the closed callback does, as a resumed
 * listener's NetworkPolicy recheck does in a worker).  The walk must
 * not reach the closed ones.  Each client sends more than one turn
 * moves and then its FIN, the backends having sent theirs: a
 * connection sees the EOF, and closes, during a rerun.
 */
START_TEST(test_close_chain_on_rerun)
{
	enum { NC = 6, BULK = 6 << 20 };
	struct rfx	 f;
	struct hc_cell	*cell = cell_new(HC_UP);
	static char	 big[1 << 16];
	char		 buf[8];
	int		 cfd[NC], bfd[NC], i, more;
	size_t		 sent[NC];
	ssize_t		 n;
	long		 end;

	rfx_init(&f, 0);
	f.sp->lb.eps[0].hc = cell;
	f.sp->hc.close_on_down = 1;
	for (i = 0; i < NC; i++) {
		cfd[i] = rfx_connect(&f, &bfd[i]);
		ck_assert_int_eq(shutdown(bfd[i], SHUT_WR), 0);
		ck_assert_int_eq(loop_read(&f, cfd[i], buf, 4), 0);
		fcntl(cfd[i], F_SETFL, O_NONBLOCK);
		sent[i] = 0;
	}
	f.chain_cell = cell;
	end = ms_now() + 4 * WAIT_MS;
	do {
		more = 0;
		for (i = 0; i < NC; i++) {
			if (cfd[i] == -1)
				continue;
			while (sent[i] < BULK && (n = send(cfd[i], big,
			    sizeof(big), MSG_NOSIGNAL)) > 0)
				sent[i] += (size_t)n;
			if (sent[i] >= BULK) {
				(void)shutdown(cfd[i], SHUT_WR);
				close(cfd[i]);
				cfd[i] = -1;
			} else
				more = 1;
		}
		/* The backends read: the relays move bytes each turn. */
		for (i = 0; i < NC; i++)
			while (recv(bfd[i], big, sizeof(big),
			    MSG_DONTWAIT) > 0)
				;
		event_base_loop(f.base, EVLOOP_NONBLOCK);
		ck_assert_msg(ms_now() < end, "connections still open");
	} while (more || f.w.live != NULL);
	ck_assert_int_eq(f.nclosed, NC);
	ck_assert_uint_eq(f.chained, NC - 1);
	for (i = 0; i < NC; i++)
		close(bfd[i]);
	rfx_free(&f);
	free(cell);
}
END_TEST

/*
 * Two threads race for the slots of a limit, round after round: the
 * winners never outnumber the limit, whichever limit is the tighter.
 * Checking the count and adding to it apart (the old accept path)
 * let both threads through now and then.
 */
struct race {
	struct relay_wrk	*w;
	const struct snap_port	*sp;
	uint32_t		 max_all;
	_Atomic uint32_t	*go;		/* round to run */
	_Atomic uint32_t	*done;		/* threads done with it */
	uint32_t		 won;		/* this round */
	uint32_t		 over;		/* rounds past the limit */
};

#define RACE_ROUNDS	20000
#define RACE_SLOTS	2

static void *
race_run(void *arg)
{
	struct race	*r = arg;
	uint32_t	 round;

	for (round = 1; round <= RACE_ROUNDS; round++) {
		while (atomic_load(r->go) < round)
			sched_yield();
		r->won = 0;
		while (r->won < RACE_SLOTS + 1 &&
		    relay_reserve(r->w, r->sp, r->max_all))
			r->won++;
		atomic_fetch_add(r->done, 1);
	}
	return NULL;
}

static void
race_limit(uint32_t max_all, uint32_t max_svc)
{
	struct lb_live		 live;
	struct snap_svc		 svc;
	struct snap_port	 sp;
	struct relay_wrk	 w;
	struct race		 r[2];
	pthread_t		 th[2];
	_Atomic uint32_t	 active = 0, go = 0, done = 0;
	uint32_t		 round, i, over = 0, won;

	memset(&live, 0, sizeof(live));
	memset(&svc, 0, sizeof(svc));
	memset(&sp, 0, sizeof(sp));
	memset(&w, 0, sizeof(w));
	svc.live = &live;
	svc.max_connections = max_svc;
	sp.svc = &svc;
	w.active_all = &active;
	for (i = 0; i < 2; i++) {
		r[i] = (struct race){ &w, &sp, max_all, &go, &done, 0, 0 };
		ck_assert_int_eq(pthread_create(&th[i], NULL, race_run,
		    &r[i]), 0);
	}
	for (round = 1; round <= RACE_ROUNDS; round++) {
		atomic_store(&go, round);
		while (atomic_load(&done) < 2 * round)
			sched_yield();
		won = r[0].won + r[1].won;
		if (won != RACE_SLOTS)
			over++;
		/* Back to empty for the next round. */
		for (i = 0; i < won; i++)
			relay_unreserve(&w, &sp);
		ck_assert_uint_eq(atomic_load(&active), 0);
		ck_assert_uint_eq(atomic_load(&live.active), 0);
	}
	for (i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	ck_assert_msg(over == 0, "%u of %u rounds did not fill exactly %u "
	    "slots", over, RACE_ROUNDS, RACE_SLOTS);
}

START_TEST(test_reserve_race)
{
	race_limit(RACE_SLOTS, 0);		/* the group's limit */
	race_limit(0, RACE_SLOTS);		/* maxConnections */
	race_limit(RACE_SLOTS, RACE_SLOTS + 1);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("relay");
	TCase	*tc = tcase_create("health");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_health_down_closes);
	tcase_add_test(tc, test_health_down_keep);
	tcase_add_test(tc, test_passive_ejection);
	tcase_add_test(tc, test_worker_health_wake);
	tcase_add_test(tc, test_close_chain_on_rerun);
	tcase_add_test(tc, test_reserve_race);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
