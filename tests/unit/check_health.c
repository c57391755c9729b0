/*
 * check_health: the pure rules of health checking (health_state.c):
 * rise/fall, ejection back-off, jitter bounds, accepted status codes
 * and the HTTP status line.
 */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <string.h>

#include "health_state.h"
#include "unit.h"

/* Feed n results of one kind; the number of transitions reported. */
static int
feed(struct hc_fsm *f, int ok, int n)
{
	int	 changes = 0;

	while (n-- > 0)
		changes += hc_fsm_feed(f, ok);
	return changes;
}

START_TEST(fsm_first_result_decides)
{
	struct hc_fsm	 f;

	hc_fsm_init(&f, 2, 3);
	ck_assert_int_eq(f.state, HC_UNKNOWN);
	ck_assert_int_eq(hc_fsm_feed(&f, 0), 1);
	ck_assert_int_eq(f.state, HC_DOWN);

	hc_fsm_init(&f, 2, 3);
	ck_assert_int_eq(hc_fsm_feed(&f, 1), 1);
	ck_assert_int_eq(f.state, HC_UP);
}
END_TEST

START_TEST(fsm_fall_and_rise)
{
	struct hc_fsm	 f;
	int		 rise, fall;

	for (rise = 1; rise <= 5; rise++)
		for (fall = 1; fall <= 5; fall++) {
			hc_fsm_init(&f, rise, fall);
			hc_fsm_feed(&f, 1);
			/* Up: fall - 1 failures keep it up, the next one
			   takes it down, once. */
			ck_assert_int_eq(feed(&f, 0, fall - 1), 0);
			ck_assert_int_eq(f.state, HC_UP);
			ck_assert_int_eq(feed(&f, 0, 1), 1);
			ck_assert_int_eq(f.state, HC_DOWN);
			ck_assert_int_eq(feed(&f, 0, 10), 0);
			/* Down: rise successes in a row bring it up. */
			ck_assert_int_eq(feed(&f, 1, rise - 1), 0);
			ck_assert_int_eq(f.state, HC_DOWN);
			ck_assert_int_eq(feed(&f, 1, 1), 1);
			ck_assert_int_eq(f.state, HC_UP);
		}
}
END_TEST

START_TEST(fsm_interrupted_runs)
{
	struct hc_fsm	 f;

	/* A failure in the middle of a rise starts it again. */
	hc_fsm_init(&f, 3, 2);
	hc_fsm_feed(&f, 0);
	ck_assert_int_eq(feed(&f, 1, 2), 0);
	ck_assert_int_eq(feed(&f, 0, 1), 0);
	ck_assert_int_eq(feed(&f, 1, 2), 0);
	ck_assert_int_eq(f.state, HC_DOWN);
	ck_assert_int_eq(feed(&f, 1, 1), 1);
	/* A success in the middle of a fall restores the full margin. */
	ck_assert_int_eq(feed(&f, 0, 1), 0);
	ck_assert_int_eq(feed(&f, 1, 1), 0);
	ck_assert_int_eq(feed(&f, 0, 1), 0);
	ck_assert_int_eq(f.state, HC_UP);
	ck_assert_int_eq(feed(&f, 0, 1), 1);
	ck_assert_str_eq(hc_health_name(f.state), "down");
}
END_TEST

START_TEST(fsm_bounds)
{
	struct hc_fsm	 f;

	hc_fsm_init(&f, 0, 1000);
	ck_assert_int_eq(f.rise, 1);
	ck_assert_int_eq(f.fall, HC_RISE_MAX);
	hc_fsm_init(&f, HC_RISE_MAX, HC_RISE_MAX);
	hc_fsm_feed(&f, 1);
	ck_assert_int_eq(f.health, 2 * HC_RISE_MAX - 1);
}
END_TEST

START_TEST(eject_backoff)
{
	ck_assert_uint_eq(hc_eject_ms(0, 30000, 300000), 30000);
	ck_assert_uint_eq(hc_eject_ms(1, 30000, 300000), 30000);
	ck_assert_uint_eq(hc_eject_ms(3, 30000, 300000), 90000);
	ck_assert_uint_eq(hc_eject_ms(10, 30000, 300000), 300000);
	ck_assert_uint_eq(hc_eject_ms(11, 30000, 300000), 300000);
	/* No overflow on a huge count. */
	ck_assert_uint_eq(hc_eject_ms(UINT32_MAX, UINT32_MAX, 300000),
	    300000);
}
END_TEST

/* Envoy's slow start: linear, at least 10% (and 1), off at 0. */
START_TEST(slow_start_ramp)
{
	ck_assert_uint_eq(hc_slow_start_weight(100, 0, 10000), 10);
	ck_assert_uint_eq(hc_slow_start_weight(100, 500, 10000), 10);
	ck_assert_uint_eq(hc_slow_start_weight(100, 2500, 10000), 25);
	ck_assert_uint_eq(hc_slow_start_weight(100, 5000, 10000), 50);
	ck_assert_uint_eq(hc_slow_start_weight(100, 9999, 10000), 99);
	ck_assert_uint_eq(hc_slow_start_weight(100, 10000, 10000), 100);
	ck_assert_uint_eq(hc_slow_start_weight(100, 99999, 10000), 100);
	/* Off, clock skew, small and large weights. */
	ck_assert_uint_eq(hc_slow_start_weight(100, 0, 0), 100);
	ck_assert_uint_eq(hc_slow_start_weight(100, -5000, 10000), 10);
	ck_assert_uint_eq(hc_slow_start_weight(1, 0, 10000), 1);
	ck_assert_uint_eq(hc_slow_start_weight(0, 5000, 10000), 0);
	ck_assert_uint_eq(hc_slow_start_weight(UINT32_MAX, 5000, 10000),
	    UINT32_MAX / 2);
	/* Never falls as time goes on. */
	{
		uint32_t	prev = 0, w;
		int64_t		t;

		for (t = 0; t <= 12005; t += 7) {
			w = hc_slow_start_weight(1000, t, 12000);
			ck_assert_uint_ge(w, prev);
			prev = w;
		}
		ck_assert_uint_eq(prev, 1000);
	}
}
END_TEST

START_TEST(jitter_bounds)
{
	uint32_t	 rnd, d, lo = UINT32_MAX, hi = 0;
	uint32_t	 first_lo = UINT32_MAX, first_hi = 0;

	for (rnd = 0; rnd < 100000; rnd++) {
		d = hc_next_delay_ms(1000, rnd * 2654435761u);
		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
		d = hc_first_delay_ms(1000, rnd * 2654435761u);
		first_lo = d < first_lo ? d : first_lo;
		first_hi = d > first_hi ? d : first_hi;
	}
	/* Every offset of the spread is reachable, nothing beyond it. */
	ck_assert_uint_eq(lo, 750);
	ck_assert_uint_eq(hi, 1250);
	ck_assert_uint_eq(first_lo, 0);
	ck_assert_uint_eq(first_hi, 999);
	ck_assert_uint_eq(hc_next_delay_ms(1, 12345), 1);
	ck_assert_uint_eq(hc_next_delay_ms(0, 12345), 1);
	ck_assert_uint_eq(hc_first_delay_ms(0, 12345), 0);
	ck_assert_uint_eq(hc_next_delay_ms(UINT32_MAX, UINT32_MAX) >=
	    UINT32_MAX - UINT32_MAX / 4, 1);
}
END_TEST

START_TEST(status_sets)
{
	struct hc_status_set	 s;
	char			 err[160];

	ck_assert_int_eq(hc_status_parse("200-399", &s, err, sizeof(err)), 0);
	ck_assert(!hc_status_has(&s, 199));
	ck_assert(hc_status_has(&s, 200));
	ck_assert(hc_status_has(&s, 399));
	ck_assert(!hc_status_has(&s, 400));
	ck_assert(!hc_status_has(&s, 0));
	ck_assert(!hc_status_has(&s, 600));

	ck_assert_int_eq(hc_status_parse(" 200, 204 ,300-302,599", &s, err,
	    sizeof(err)), 0);
	ck_assert(hc_status_has(&s, 204));
	ck_assert(!hc_status_has(&s, 203));
	ck_assert(hc_status_has(&s, 301));
	ck_assert(hc_status_has(&s, 599));
	ck_assert_int_eq(hc_status_parse("100-599", &s, err, sizeof(err)), 0);
	ck_assert(hc_status_has(&s, 100) && hc_status_has(&s, 427));
}
END_TEST

START_TEST(status_errors)
{
	static const char *bad[] = { "", " ", ",", "200,", ",200", "2OO",
	    "200-", "-200", "99", "600", "200-600", "1000", "0200",
	    "399-200", "200 300", "200;300", "abc", "200--300" };
	struct hc_status_set	 s;
	char			 err[160];
	size_t			 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		ck_assert_msg(hc_status_parse(bad[i], &s, err, sizeof(err)) ==
		    -1, "accepted \"%s\"", bad[i]);
		ck_assert_msg(err[0] != '\0', "no reason for \"%s\"", bad[i]);
	}
	hc_status_parse("399-200", &s, err, sizeof(err));
	ck_assert_str_eq(err, "range 399-200 ends below its start");
}
END_TEST

START_TEST(http_status_line)
{
	static const char	*ok = "HTTP/1.1 503 Service Unavailable\r\n";
	size_t			 i;
	int			 code = 0;

	/* Every prefix short of the decision needs more bytes. */
	for (i = 0; i < 13; i++)
		ck_assert_int_eq(hc_http_status(ok, i, &code), 0);
	ck_assert_int_eq(hc_http_status(ok, strlen(ok), &code), 1);
	ck_assert_int_eq(code, 503);
	ck_assert_int_eq(hc_http_status("HTTP/1.0 200\r\n", 14, &code), 1);
	ck_assert_int_eq(code, 200);
	ck_assert_int_eq(hc_http_status("HTTP/1.1 204\n", 13, &code), 1);
	ck_assert_int_eq(code, 204);

	/* Refused at the first byte that cannot fit. */
	ck_assert_int_eq(hc_http_status("SSH-2.0-OpenSSH", 3, &code), -1);
	ck_assert_int_eq(hc_http_status("HTTP/2 200 ", 7, &code), -1);
	ck_assert_int_eq(hc_http_status("HTTP/1.1 20x ", 13, &code), -1);
	ck_assert_int_eq(hc_http_status("HTTP/1.1 2000", 13, &code), -1);
	ck_assert_int_eq(hc_http_status("HTTP/1.1  200", 13, &code), -1);
	ck_assert_int_eq(hc_http_status("\0TTP/1.1 200 ", 13, &code), -1);
}
END_TEST

static Suite *
health_suite(void)
{
	Suite	*s = suite_create("health");
	TCase	*tc = tcase_create("state");

	tcase_add_test(tc, fsm_first_result_decides);
	tcase_add_test(tc, fsm_fall_and_rise);
	tcase_add_test(tc, fsm_interrupted_runs);
	tcase_add_test(tc, fsm_bounds);
	tcase_add_test(tc, eject_backoff);
	tcase_add_test(tc, slow_start_ramp);
	tcase_add_test(tc, jitter_bounds);
	tcase_add_test(tc, status_sets);
	tcase_add_test(tc, status_errors);
	tcase_add_test(tc, http_status_line);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(health_suite());
}
