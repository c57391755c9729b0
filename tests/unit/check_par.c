/*
 * par: chunks on threads give the serial loop's diagnostics, in its
 * order, and the same ones under the list's bound.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "par.h"
#include "unit.h"

#define NCHUNKS		40

/*
 * Chunk c says (c * 7) % 5 things, chunk 3 a flood of 30; the first a
 * warning when c is odd.
 */
struct said {
	int		 ran[NCHUNKS];
};

static void
say(void *arg, size_t c, size_t worker, struct diag_list *l)
{
	struct said	*s = arg;
	size_t		 i, n = c == 3 ? 30 : (c * 7) % 5;

	ck_assert_uint_lt(worker, PAR_MAX_THREADS);
	s->ran[c]++;
	for (i = 0; i < n; i++)
		diag_add(l, i == 0 && c % 2 ? DIAG_WARNING : DIAG_ERROR,
		    DIAG_INVALID, "f.yaml", (unsigned)(c + 1), (unsigned)(i +
		    1), "Pod", "ns", "p", "spec", NULL, "chunk %zu item %zu", c,
		    i);
}

/* l after a diagnostic "before" and the job on nthreads, bound max. */
static void
run(struct diag_list *l, size_t nthreads, size_t max)
{
	struct said	s;
	size_t		i;

	memset(&s, 0, sizeof(s));
	diag_list_init(l);
	l->max = max;
	diag_add(l, DIAG_ERROR, DIAG_NOTE, "a.yaml", 1, 1, NULL, NULL, NULL,
	    NULL, NULL, "before");
	par_run(nthreads, NCHUNKS, say, &s, l);
	for (i = 0; i < NCHUNKS; i++)
		ck_assert_int_eq(s.ran[i], 1);
}

static void
same(const struct diag_list *a, const struct diag_list *b)
{
	size_t i;

	ck_assert_uint_eq(a->n, b->n);
	ck_assert_uint_eq(a->nerr, b->nerr);
	ck_assert_uint_eq(a->nwarn, b->nwarn);
	ck_assert_uint_eq(a->dropped, b->dropped);
	for (i = 0; i < a->n; i++) {
		ck_assert_int_eq(a->v[i].sev, b->v[i].sev);
		ck_assert_uint_eq(a->v[i].line, b->v[i].line);
		ck_assert_uint_eq(a->v[i].col, b->v[i].col);
		ck_assert_str_eq(a->v[i].detail, b->v[i].detail);
	}
}

START_TEST(test_threads_as_serial)
{
	/*
	 * Unbounded, bounded inside the flood, after it, before the job.
	 */
	static const size_t	maxes[] = { 10000, 20, 37, 50, 5, 1, 0 };
	struct diag_list	serial, threaded;
	size_t			m, t;

	for (m = 0; m < sizeof(maxes) / sizeof(maxes[0]); m++) {
		run(&serial, 1, maxes[m]);
		ck_assert_uint_eq(serial.nerr + serial.nwarn, 110);
		for (t = 2; t <= PAR_MAX_THREADS; t++) {
			run(&threaded, t, maxes[m]);
			same(&serial, &threaded);
			diag_list_free(&threaded);
		}
		diag_list_free(&serial);
	}
}
END_TEST

START_TEST(test_nothing_to_do)
{
	struct said		s;
	struct diag_list	l;

	memset(&s, 0, sizeof(s));
	diag_list_init(&l);
	par_run(4, 0, say, &s, &l);
	ck_assert_uint_eq(l.n, 0);
	diag_list_free(&l);
}
END_TEST

START_TEST(test_threads_env)
{
	unsetenv("SVCPROXY_PARSE_SERIAL");
	setenv("SVCPROXY_CONFIG_THREADS", "3", 1);
	ck_assert_uint_eq(par_threads(1, 1000), 3);
	setenv("SVCPROXY_PARSE_SERIAL", "1", 1);
	ck_assert_uint_eq(par_threads(1000000, 1), 1);
	unsetenv("SVCPROXY_PARSE_SERIAL");
	unsetenv("SVCPROXY_CONFIG_THREADS");
	/* Too few items for a second thread. */
	ck_assert_uint_eq(par_threads(999, 1000), 1);
	ck_assert_uint_eq(par_chunk(10, 2, 256), 1);
	ck_assert_uint_eq(par_chunk(1000000, 2, 256), 256);
}
END_TEST

static Suite *
par_suite(void)
{
	Suite	*s = suite_create("par");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_threads_as_serial);
	tcase_add_test(tc, test_nothing_to_do);
	tcase_add_test(tc, test_threads_env);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(par_suite());
}
