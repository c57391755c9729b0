/*
 * check_health_flap: which transitions are logged (health_flap.c): each
 * at once while calm, a summary per window while flapping, and a last
 * line when it stops.
 */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <string.h>

#include "health_flap.h"
#include "unit.h"

#define W	HC_FLAP_WINDOW_MS

/* Flip f between down and up at each of times t[0..n); lines logged. */
static int
flips(struct hc_flap *f, const int64_t *t, int n, char *last, size_t len)
{
	int	 i, logged = 0;

	for (i = 0; i < n; i++)
		logged += hc_flap_note(f, "10.0.0.1:80", t[i],
		    f->state == HC_DOWN ? HC_UP : HC_DOWN,
		    f->state == HC_DOWN ? "" : "HTTP 503", last, len);
	return logged;
}

START_TEST(calm_logs_each)
{
	struct hc_flap	 f;
	char		 line[HC_FLAP_LINE_MAX];
	int64_t		 t;
	int		 i;

	hc_flap_init(&f);
	ck_assert_int_eq(hc_flap_note(&f, "10.0.0.1:80", 1000, HC_UP, "",
	    line, sizeof(line)), 1);
	ck_assert_str_eq(line, "endpoint 10.0.0.1:80 is up");
	ck_assert_int_eq(hc_flap_note(&f, "10.0.0.1:80", 2000, HC_DOWN,
	    "HTTP 503", line, sizeof(line)), 1);
	ck_assert_str_eq(line, "endpoint 10.0.0.1:80 is down: HTTP 503");
	/* HC_FLAP_MAX transitions per window, forever: every one logged. */
	for (i = 0, t = 100000; i < 50; i++, t += W / HC_FLAP_MAX + 1)
		ck_assert_int_eq(flips(&f, &t, 1, line, sizeof(line)), 1);
	ck_assert_int_eq(hc_flap_tick(&f, "x", t + 10 * W, line,
	    sizeof(line)), 0);
}
END_TEST

START_TEST(flapping_summarised)
{
	struct hc_flap	 f;
	char		 line[HC_FLAP_LINE_MAX];
	int64_t		 t[40];
	int		 i;

	hc_flap_init(&f);
	/* A flip a second: the first HC_FLAP_MAX are logged one by one,
	   the next starts flapping, with one line. */
	for (i = 0; i < 40; i++)
		t[i] = 1000 + 1000 * i;
	ck_assert_int_eq(flips(&f, t, HC_FLAP_MAX, line, sizeof(line)),
	    HC_FLAP_MAX);
	ck_assert_int_eq(hc_flap_note(&f, "10.0.0.1:80", t[HC_FLAP_MAX],
	    HC_DOWN, "timeout after 2s", line, sizeof(line)), 1);
	ck_assert_str_eq(line, "endpoint 10.0.0.1:80 flapping: 5 transitions"
	    " in 4.0s, now down: timeout after 2s");
	ck_assert_int_eq(f.flapping, 1);
	/* The rest of the window: counted, not logged. */
	ck_assert_int_eq(flips(&f, t + HC_FLAP_MAX + 1, 40 - HC_FLAP_MAX - 1,
	    line, sizeof(line)), 0);
	ck_assert_int_eq(hc_flap_tick(&f, "10.0.0.1:80", t[4] + W - 1, line,
	    sizeof(line)), 0);
	/* The window's end: one summary, with the state now. */
	ck_assert_int_eq(hc_flap_tick(&f, "10.0.0.1:80", t[4] + W, line,
	    sizeof(line)), 1);
	ck_assert_str_eq(line, "endpoint 10.0.0.1:80 flapping: 35 transitions"
	    " in 60.0s, now up");
	/* A quiet window: it stopped, said once. */
	ck_assert_int_eq(hc_flap_tick(&f, "10.0.0.1:80", t[4] + 2 * W - 1,
	    line, sizeof(line)), 0);
	ck_assert_int_eq(hc_flap_tick(&f, "10.0.0.1:80", t[4] + 2 * W + 500,
	    line, sizeof(line)), 1);
	ck_assert_str_eq(line, "endpoint 10.0.0.1:80 stopped flapping, now up");
	ck_assert_int_eq(f.flapping, 0);
	ck_assert_int_eq(hc_flap_tick(&f, "10.0.0.1:80", t[4] + 5 * W, line,
	    sizeof(line)), 0);
	/* And the next transition is logged at once. */
	ck_assert_int_eq(hc_flap_note(&f, "10.0.0.1:80", t[4] + 5 * W,
	    HC_DOWN, "connection refused", line, sizeof(line)), 1);
	ck_assert_str_eq(line, "endpoint 10.0.0.1:80 is down: "
	    "connection refused");
}
END_TEST

/* Without ticks, the window's summary comes with the next transition. */
START_TEST(summary_without_tick)
{
	struct hc_flap	 f;
	char		 line[HC_FLAP_LINE_MAX];
	int64_t		 t[8] = { 0, 100, 200, 300, 400, 500, 600, 0 };

	hc_flap_init(&f);
	ck_assert_int_eq(flips(&f, t, 7, line, sizeof(line)), HC_FLAP_MAX + 1);
	t[7] = 400 + W + 7000;
	ck_assert_int_eq(hc_flap_note(&f, "e", t[7], HC_DOWN, "HTTP 500",
	    line, sizeof(line)), 1);
	/* The two counted, and this one. */
	ck_assert_str_eq(line, "endpoint e flapping: 3 transitions in 67.0s,"
	    " now down: HTTP 500");
	/* A window with nothing, then one transition: calm, logged as is. */
	ck_assert_int_eq(hc_flap_note(&f, "e", t[7] + W, HC_UP, "", line,
	    sizeof(line)), 1);
	ck_assert_str_eq(line, "endpoint e is up");
	ck_assert_int_eq(f.flapping, 0);
}
END_TEST

/* A long name or reason is cut to the buffer, never past it. */
START_TEST(truncated)
{
	struct hc_flap	 f;
	char		 line[24], reason[HC_REASON_MAX + 50];

	memset(reason, 'r', sizeof(reason) - 1);
	reason[sizeof(reason) - 1] = '\0';
	hc_flap_init(&f);
	memset(line, 'x', sizeof(line));
	ck_assert_int_eq(hc_flap_note(&f, "10.0.0.1:80", 1, HC_DOWN, reason,
	    line, sizeof(line)), 1);
	ck_assert_uint_eq(strlen(line), sizeof(line) - 1);
	ck_assert_uint_eq(strlen(f.reason), sizeof(f.reason) - 1);
	ck_assert_int_eq(hc_flap_note(&f, "n", 2, HC_UP, NULL, line,
	    sizeof(line)), 1);
	ck_assert_str_eq(line, "endpoint n is up");
}
END_TEST

static Suite *
flap_suite(void)
{
	Suite	*s = suite_create("health_flap");
	TCase	*tc = tcase_create("flap");

	tcase_add_test(tc, calm_logs_each);
	tcase_add_test(tc, flapping_summarised);
	tcase_add_test(tc, summary_without_tick);
	tcase_add_test(tc, truncated);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(flap_suite());
}
