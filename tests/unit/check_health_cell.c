/*
 * check_health_cell: what the health thread publishes in a cell is
 * what /metrics needs: each check lands in the first latency bucket at
 * least as slow as it was (Prometheus' `le`), the latency sum grows by
 * exactly the check's latency, and a reader (health_view.c) sees each
 * result whole.  Real checks, against an HTTP server on loopback that
 * answers after 1.5 ms, so that a latency rounded down to whole ms
 * would land in the 1 ms bucket.
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
#include "health_view.h"
#include "unit.h"

#define SRV_DELAY_US	1500
#define WANT_SEEN	10	/* single checks observed */
#define MAX_MS		10000

struct srv {
	int		 fd;
	_Atomic int	 stop;
	pthread_t	 th;
};

static int64_t
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Answer each connection 200 after SRV_DELAY_US, until stop. */
static void *
srv_run(void *arg)
{
	static const char	 ok[] = "HTTP/1.0 200 OK\r\n"
	    "Content-Length: 0\r\n\r\n";
	struct srv		*s = arg;
	struct pollfd		 p;
	struct timespec		 d = { 0, SRV_DELAY_US * 1000 };
	char			 buf[1024];
	int			 c;

	while (!atomic_load(&s->stop)) {
		p.fd = s->fd;
		p.events = POLLIN;
		if (poll(&p, 1, 50) <= 0)
			continue;
		if ((c = accept(s->fd, NULL, NULL)) < 0)
			continue;
		p.fd = c;
		if (poll(&p, 1, 1000) > 0 && read(c, buf, sizeof(buf)) > 0) {
			nanosleep(&d, NULL);
			if (write(c, ok, sizeof(ok) - 1) < 0)
				(void)0;
		}
		close(c);
	}
	return NULL;
}

START_TEST(buckets_and_sum_per_check)
{
	static const int	 bounds[] = HC_LAT_BOUNDS_MS;
	struct hc_celltab	 tab;
	struct hc_settings	 set;
	struct hc_target	 t;
	struct hc_engine	*e;
	struct hc_cell		*c;
	struct hc_view		 v;
	struct hc_view_counts	 prev, cur;
	struct sockaddr_in	 sin;
	struct srv		 s;
	socklen_t		 len = sizeof(sin);
	char			 key[HC_KEY_MAX], err[160];
	int64_t			 t0;
	int			 seen = 0, i, hit;

	memset(&s, 0, sizeof(s));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_ge(s.fd = socket(AF_INET, SOCK_STREAM, 0), 0);
	ck_assert_int_eq(bind(s.fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(s.fd, 64), 0);
	getsockname(s.fd, (struct sockaddr *)&sin, &len);
	ck_assert_int_eq(pthread_create(&s.th, NULL, srv_run, &s), 0);

	memset(&set, 0, sizeof(set));
	set.kind = HC_HTTP;
	set.interval_ms = 40;
	set.timeout_ms = 2000;
	set.rise = 1;
	set.fall = 1;
	hc_celltab_init(&tab);
	ck_assert_ptr_nonnull(hc_key(key, sizeof(key),
	    (struct sockaddr *)&sin, sizeof(sin), &set));
	ck_assert_ptr_nonnull(c = hc_celltab_get(&tab, key));
	memset(&t, 0, sizeof(t));
	t.cell = c;
	memcpy(&t.sa, &sin, sizeof(sin));
	t.salen = sizeof(sin);
	t.set = &set;
	ck_assert_ptr_nonnull(e = hc_engine_new(4, NULL, NULL, err,
	    sizeof(err)));
	ck_assert_int_eq(hc_engine_start(e, err, sizeof(err)), 0);
	ck_assert_int_eq(hc_engine_want(e, &t, 1), 0);

	/* Watch the cell every ms; judge each step of exactly one check. */
	hc_view_cell(c, &v, &prev);
	for (t0 = now_ms(); seen < WANT_SEEN && now_ms() - t0 < MAX_MS;) {
		usleep(1000);
		hc_view_cell(c, &v, &cur);
		if (cur.checks == prev.checks + 1) {
			ck_assert_msg(v.pass, "check failed: %s", v.reason);
			for (i = 0, hit = -1; i < HC_LAT_BUCKETS; i++)
				if (cur.latency[i] == prev.latency[i] + 1)
					hit = i;
				else
					ck_assert_uint_eq(cur.latency[i],
					    prev.latency[i]);
			ck_assert_int_ge(hit, 0);
			ck_assert_uint_ge(v.latency_us, SRV_DELAY_US);
			/* le: no faster than the bucket below, no slower
			   than its own bound. */
			if (hit < HC_LAT_BUCKETS - 1)
				ck_assert_msg(v.latency_us <= (uint32_t)
				    bounds[hit] * 1000, "%u us in le %d ms",
				    v.latency_us, bounds[hit]);
			if (hit > 0)
				ck_assert_msg(v.latency_us > (uint32_t)
				    bounds[hit - 1] * 1000, "%u us above le "
				    "%d ms", v.latency_us, bounds[hit - 1]);
			ck_assert_uint_eq(cur.latency_sum_us -
			    prev.latency_sum_us, v.latency_us);
			seen++;
		}
		/* Whole results: a check never counted without its
		   bucket. */
		{
			uint64_t	 sum = 0;

			for (i = 0; i < HC_LAT_BUCKETS; i++)
				sum += cur.latency[i];
			ck_assert_uint_eq(sum, cur.checks);
		}
		prev = cur;
	}
	hc_engine_free(e);
	atomic_store(&s.stop, 1);
	pthread_join(s.th, NULL);
	close(s.fd);
	hc_celltab_free(&tab);
	ck_assert_int_ge(seen, WANT_SEEN);
}
END_TEST

static Suite *
cell_suite(void)
{
	Suite	*s = suite_create("health_cell");
	TCase	*tc = tcase_create("cell");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, buckets_and_sum_per_check);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(cell_suite());
}
