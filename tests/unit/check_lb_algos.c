/*
 * The balancing algorithms through lb_pick on hand-made sets: smooth
 * weighted round robin's exact sequences (against nginx's documented
 * one and a literal copy of nginx's loop), drained and down endpoints,
 * slow start; least connections with long-lived connections; random
 * two's spread and its skew toward the less loaded.
 */
#include "config.h"

#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb.h"
#include "unit.h"

#define MAXEPS	32

struct afx {
	struct lb_livetab	 live;
	struct arena		 arena;
	struct lb_ep		 eps[MAXEPS];
	struct lb_set		 set;
	struct hc_cell		*cell;		/* slow start's; or NULL */
};

/* n endpoints 10.0.0.1.. :80 of weights w (NULL: 1), balanced by ops. */
static void
afx_init(struct afx *f, const struct lb_ops *ops, size_t n,
    const uint32_t *w)
{
	struct ipaddr	a;
	char		ip[32];
	size_t		i;

	ck_assert_uint_le(n, MAXEPS);
	memset(f, 0, sizeof(*f));
	lb_livetab_init(&f->live);
	arena_init(&f->arena, 1 << 24);
	for (i = 0; i < n; i++) {
		snprintf(ip, sizeof(ip), "10.0.0.%zu", i + 1);
		ck_assert_int_eq(ipaddr_parse(ip, &a), 0);
		f->eps[i].salen = ipaddr_sockaddr(&a, 80, &f->eps[i].sa);
		f->eps[i].addr = a;
		f->eps[i].port = 80;
		f->eps[i].weight = w ? w[i] : 1;
		snprintf(f->eps[i].name, sizeof(f->eps[i].name), "%s:80", ip);
		ck_assert_ptr_nonnull(f->eps[i].live =
		    lb_live_get(&f->live, f->eps[i].name));
	}
	f->set.ops = ops;
	f->set.eps = f->eps;
	f->set.neps = n;
}

static void
afx_build(struct afx *f)
{
	char err[128] = "";

	ck_assert_msg(f->set.ops->build(&f->set, &f->arena, err,
	    sizeof(err)) == 0, "build: %s", err);
}

static void
afx_free(struct afx *f)
{
	arena_free(&f->arena);
	lb_livetab_free(&f->live);
	free(f->cell);
}

/* A fresh connection's pick, released (hold: kept): index or -1. */
static int
pick(struct afx *f, int hold)
{
	struct lb_flow	 fl;
	struct lb_ep	*ep;

	memset(&fl, 0, sizeof(fl));
	fl.wall_ms = 1000000;
	if ((ep = lb_pick(&f->set, &fl)) == NULL)
		return -1;
	if (!hold)
		lb_release(&f->set, ep);
	return (int)(ep - f->eps);
}

/* ---- smooth weighted round robin ---- */

/* nginx's ngx_http_upstream_get_peer, literally: the reference. */
static void
nginx_swrr(const uint32_t *w, size_t n, int *out, size_t steps)
{
	int64_t	cur[MAXEPS] = { 0 }, total;
	size_t	s, i, best;

	for (s = 0; s < steps; s++) {
		total = 0;
		best = SIZE_MAX;
		for (i = 0; i < n; i++) {
			if (w[i] == 0)
				continue;
			cur[i] += w[i];
			total += w[i];
			if (best == SIZE_MAX || cur[i] > cur[best])
				best = i;
		}
		cur[best] -= total;
		out[s] = (int)best;
	}
}

/* nginx's documented example: weights 5, 1, 1 give a a b a c a a. */
START_TEST(test_swrr_nginx_doc)
{
	static const uint32_t	w[] = { 5, 1, 1 };
	static const char	want[] = "aabacaaaabacaa";
	struct afx		f;
	char			got[sizeof(want)];
	size_t			i;

	afx_init(&f, &lb_rr_ops, 3, w);
	afx_build(&f);
	for (i = 0; i < sizeof(want) - 1; i++)
		got[i] = (char)('a' + pick(&f, 0));
	got[i] = '\0';
	ck_assert_str_eq(got, want);
	afx_free(&f);
}
END_TEST

/* Against nginx's loop for many weight vectors (gcd, ties, zeros). */
START_TEST(test_swrr_vs_nginx)
{
	static const uint32_t	 ws[][8] = {
		{ 4, 2, 1 }, { 1, 2, 3, 4, 5 }, { 3, 3, 1, 1 },
		{ 10, 20, 30 }, { 2, 0, 7, 3, 0, 1 }, { 1, 1, 1, 2 },
		{ 6, 4, 6, 4, 9, 1, 1, 2 }, { 100, 1 },
	};
	static const size_t	 ns[] = { 3, 5, 4, 3, 6, 4, 8, 2 };
	struct afx		 f;
	int			 want[600];
	size_t			 c, i, steps = 600;

	for (c = 0; c < sizeof(ns) / sizeof(ns[0]); c++) {
		afx_init(&f, &lb_rr_ops, ns[c], ws[c]);
		afx_build(&f);
		nginx_swrr(ws[c], ns[c], want, steps);
		for (i = 0; i < steps; i++)
			ck_assert_msg(pick(&f, 0) == want[i], "weights #%zu, "
			    "step %zu: want %d", c, i, want[i]);
		afx_free(&f);
	}
	/* Random weights over 20 endpoints. */
	srand(5);
	for (c = 0; c < 20; c++) {
		uint32_t w[20];

		for (i = 0; i < 20; i++)
			w[i] = (uint32_t)(rand() % 12);
		w[c] = 1 + c;
		afx_init(&f, &lb_rr_ops, 20, w);
		afx_build(&f);
		nginx_swrr(w, 20, want, steps);
		for (i = 0; i < steps; i++)
			ck_assert_int_eq(pick(&f, 0), want[i]);
		afx_free(&f);
	}
}
END_TEST

/* Weight 0 drains; equal weights rotate as unweighted; all 0: none. */
START_TEST(test_swrr_drain)
{
	static const uint32_t	 w[] = { 0, 2, 1, 0 }, same[] = { 3, 3, 3, 3 };
	static const uint32_t	 zero[] = { 0, 0, 0 };
	struct afx		 f;
	int			 n[4] = { 0 }, i, k;

	afx_init(&f, &lb_rr_ops, 4, w);
	afx_build(&f);
	for (i = 0; i < 300; i++) {
		ck_assert_int_ge(k = pick(&f, 0), 0);
		n[k]++;
	}
	ck_assert_int_eq(n[0], 0);
	ck_assert_int_eq(n[3], 0);
	ck_assert_int_eq(n[1], 200);
	ck_assert_int_eq(n[2], 100);
	/* Even when the others are down, a drained one is not used. */
	lb_live_set_up(f.eps[1].live, 0);
	lb_live_set_up(f.eps[2].live, 0);
	ck_assert_int_eq(pick(&f, 0), -1);
	afx_free(&f);

	afx_init(&f, &lb_rr_ops, 4, same);
	afx_build(&f);
	for (i = 0; i < 12; i++)
		ck_assert_int_eq(pick(&f, 0), i % 4);
	afx_free(&f);

	afx_init(&f, &lb_rr_ops, 3, zero);
	afx_build(&f);
	ck_assert_int_eq(pick(&f, 0), -1);
	afx_free(&f);
}
END_TEST

/* A down endpoint's turn passes to the next entry of the sequence. */
START_TEST(test_swrr_down_passes)
{
	static const uint32_t	w[] = { 5, 1, 1 };
	static const char	want[] = "aabaaaa" "aabaaaa";
	struct afx		f;
	char			got[sizeof(want)];
	size_t			i;

	afx_init(&f, &lb_rr_ops, 3, w);
	afx_build(&f);
	lb_live_set_up(f.eps[2].live, 0);
	for (i = 0; i < sizeof(want) - 1; i++)
		got[i] = (char)('a' + pick(&f, 0));
	got[i] = '\0';
	ck_assert_str_eq(got, want);
	/* a down: b and c share its turns, a's next in the sequence. */
	lb_live_set_up(f.eps[2].live, 1);
	lb_live_set_up(f.eps[0].live, 0);
	for (i = 0; i < 7; i++)
		got[i] = (char)('a' + pick(&f, 0));
	got[i] = '\0';
	/* Turns a a b a c a a: each a passes to the next b or c. */
	ck_assert_str_eq(got, "bbbccbb");
	afx_free(&f);
}
END_TEST

/* Weights far past the sequence's length: scaled, still in order. */
START_TEST(test_swrr_scaled)
{
	static const uint32_t	w[] = { 4000000000U, 1000000000U, 7 };
	struct afx		f;
	int			n[3] = { 0 }, i;

	afx_init(&f, &lb_rr_ops, 3, w);
	afx_build(&f);
	for (i = 0; i < 65536 * 2; i++)
		n[pick(&f, 0)]++;
	ck_assert_int_gt(n[2], 0);
	ck_assert_int_lt(n[2], 10);
	ck_assert(fabs((double)n[0] / n[1] - 4.0) < 0.01);
	afx_free(&f);
}
END_TEST

/* Slow start: an endpoint half-way up its window takes about half its
   turns; the rest go to the next. */
START_TEST(test_swrr_slow_start)
{
	struct afx	f;
	int		n[2] = { 0 }, i;

	afx_init(&f, &lb_rr_ops, 2, NULL);
	ck_assert_ptr_nonnull(f.cell = calloc(1, sizeof(*f.cell) + 8));
	atomic_store(&f.cell->state, HC_UP);
	atomic_store(&f.cell->up_since_ms, 1000000 - 5000);
	f.eps[1].hc = f.cell;
	f.set.slow_start_ms = 10000;
	afx_build(&f);
	for (i = 0; i < 20000; i++)
		n[pick(&f, 0)]++;
	/* Its turns are half the picks; it takes half of them. */
	ck_assert_int_gt(n[1], 20000 / 4 - 500);
	ck_assert_int_lt(n[1], 20000 / 4 + 500);
	/* Past the window: every turn. */
	atomic_store(&f.cell->up_since_ms, 1000000 - 10000);
	n[0] = n[1] = 0;
	for (i = 0; i < 1000; i++)
		n[pick(&f, 0)]++;
	ck_assert_int_eq(n[1], 500);
	/* Slow start off: every turn. */
	atomic_store(&f.cell->up_since_ms, 1000000 - 10);
	f.set.slow_start_ms = 0;
	n[0] = n[1] = 0;
	for (i = 0; i < 1000; i++)
		n[pick(&f, 0)]++;
	ck_assert_int_eq(n[1], 500);
	/* Alone in its window, it still takes every pick. */
	f.set.slow_start_ms = 10000;
	lb_live_set_up(f.eps[0].live, 0);
	for (i = 0; i < 100; i++)
		ck_assert_int_eq(pick(&f, 0), 1);
	afx_free(&f);
}
END_TEST

/* Several workers at once: every turn is taken exactly once, so the
   totals follow the weights exactly. */
#define THREADS	4
#define TPICKS	700000		/* THREADS * TPICKS: a multiple of 7 */

struct thr {
	struct afx	*f;
	int		 n[3];
};

static void *
thr_pick(void *arg)
{
	struct thr	*t = arg;
	int		 i;

	for (i = 0; i < TPICKS; i++)
		t->n[pick(t->f, 0)]++;
	return NULL;
}

START_TEST(test_swrr_threads)
{
	static const uint32_t	w[] = { 5, 1, 1 };
	struct afx		f;
	struct thr		t[THREADS];
	pthread_t		tid[THREADS];
	int			i, k, n[3] = { 0 };

	afx_init(&f, &lb_rr_ops, 3, w);
	afx_build(&f);
	memset(t, 0, sizeof(t));
	for (i = 0; i < THREADS; i++) {
		t[i].f = &f;
		ck_assert_int_eq(pthread_create(&tid[i], NULL, thr_pick,
		    &t[i]), 0);
	}
	for (i = 0; i < THREADS; i++) {
		pthread_join(tid[i], NULL);
		for (k = 0; k < 3; k++)
			n[k] += t[i].n[k];
	}
	ck_assert_int_eq(n[0], THREADS * TPICKS / 7 * 5);
	ck_assert_int_eq(n[1], THREADS * TPICKS / 7);
	ck_assert_int_eq(n[2], THREADS * TPICKS / 7);
	for (k = 0; k < 3; k++)
		ck_assert_uint_eq(f.eps[k].live->active, 0);
	afx_free(&f);
}
END_TEST

/* ---- least connections ---- */

/* Long-lived connections (held): each new one goes to the least
   loaded per weight; a freed endpoint catches up first. */
START_TEST(test_lc_held)
{
	static const uint32_t	w[] = { 1, 2, 1, 4 };
	struct afx		f;
	int			n[4] = { 0 }, i, k;

	afx_init(&f, &lb_leastconn_ops, 4, w);
	afx_build(&f);
	for (i = 0; i < 80; i++) {
		ck_assert_int_ge(k = pick(&f, 1), 0);
		n[k]++;
	}
	ck_assert_int_eq(n[0], 10);
	ck_assert_int_eq(n[1], 20);
	ck_assert_int_eq(n[2], 10);
	ck_assert_int_eq(n[3], 40);
	/* Endpoint 3's connections end: the next 40 go to it alone. */
	atomic_store(&f.eps[3].live->active, 0);
	for (i = 0; i < 40; i++)
		ck_assert_int_eq(pick(&f, 1), 3);
	ck_assert_int_ge(k = pick(&f, 1), 0);
	/* Down: not chosen however idle. */
	atomic_store(&f.eps[2].live->active, 0);
	lb_live_set_up(f.eps[2].live, 0);
	for (i = 0; i < 20; i++)
		ck_assert_int_ne(pick(&f, 1), 2);
	afx_free(&f);
}
END_TEST

/* Ties (short connections) rotate over the endpoints; weight 0 never. */
START_TEST(test_lc_ties_rotate)
{
	static const uint32_t	w[] = { 1, 1, 0, 1, 1 };
	struct afx		f;
	int			n[5] = { 0 }, i, prev = -1, k, same = 0;

	afx_init(&f, &lb_leastconn_ops, 5, w);
	afx_build(&f);
	for (i = 0; i < 400; i++) {
		ck_assert_int_ge(k = pick(&f, 0), 0);
		n[k]++;
		same += k == prev;
		prev = k;
	}
	/* Scans start at 0 1 3 4 in turn: 2 is drained, and its
	   neighbour 3 gets no second turn from it. */
	ck_assert_int_eq(n[0], 100);
	ck_assert_int_eq(n[1], 100);
	ck_assert_int_eq(n[2], 0);
	ck_assert_int_eq(n[3], 100);
	ck_assert_int_eq(n[4], 100);
	ck_assert_int_eq(same, 0);
	afx_free(&f);
}
END_TEST

/* ---- random two ---- */

/* Idle (released at once): uniform over 10 endpoints. */
START_TEST(test_r2_spread)
{
	enum { N = 10, PICKS = 100000 };
	struct afx	f;
	int		n[N] = { 0 }, i, k;
	double		chi = 0, e = (double)PICKS / N;

	afx_init(&f, &lb_random2_ops, N, NULL);
	afx_build(&f);
	for (i = 0; i < PICKS; i++) {
		ck_assert_int_ge(k = pick(&f, 0), 0);
		n[k]++;
	}
	for (i = 0; i < N; i++)
		chi += (n[i] - e) * (n[i] - e) / e;
	printf("random-two: chi-square %.2f over %d endpoints (9 degrees "
	    "of freedom: 27.9 at p = 0.001)\n", chi, N);
	ck_assert(chi < 40.0);
	afx_free(&f);
}
END_TEST

/* Held connections: the less loaded of two keeps loads close (random
   choice alone spreads 1000 over 10 by tens); a loaded endpoint is
   avoided; weight 0 and down never; one usable: always it. */
START_TEST(test_r2_skew)
{
	static const uint32_t	w[] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 0 };
	struct afx		f;
	uint32_t		mn = UINT32_MAX, mx = 0, a;
	int			i, k, n0 = 0;

	afx_init(&f, &lb_random2_ops, 10, w);
	afx_build(&f);
	for (i = 0; i < 900; i++)
		ck_assert_int_lt(pick(&f, 1), 9);
	for (i = 0; i < 9; i++) {
		a = f.eps[i].live->active;
		mn = a < mn ? a : mn;
		mx = a > mx ? a : mx;
	}
	printf("random-two: 900 held over 9: min %u max %u\n", mn, mx);
	ck_assert_uint_le(mx - mn, 6);
	/*
	 * Endpoint 0 far busier: chosen only when no other usable one is
	 * drawn (with the drained 9, then four draws: under 0.1%), against
	 * one pick in 9 at random.
	 */
	atomic_store(&f.eps[0].live->active, 1000);
	for (i = 0; i < 9000; i++)
		n0 += pick(&f, 0) == 0;
	ck_assert_int_le(n0, 30);
	/* All but 4 down: always 4, never the drained 9. */
	for (i = 0; i < 9; i++)
		if (i != 4)
			lb_live_set_up(f.eps[i].live, 0);
	for (i = 0; i < 1000; i++)
		ck_assert_int_eq(k = pick(&f, 0), 4);
	lb_live_set_up(f.eps[4].live, 0);
	ck_assert_int_eq(pick(&f, 0), -1);
	afx_free(&f);
}
END_TEST

/* Weights: under load, a weight 3 endpoint holds about 3 times. */
START_TEST(test_r2_weights)
{
	static const uint32_t	w[] = { 3, 1, 1, 1 };
	struct afx		f;
	int			i;
	double			r;

	afx_init(&f, &lb_random2_ops, 4, w);
	afx_build(&f);
	for (i = 0; i < 6000; i++)
		ck_assert_int_ge(pick(&f, 1), 0);
	r = f.eps[0].live->active / ((f.eps[1].live->active +
	    f.eps[2].live->active + f.eps[3].live->active) / 3.0);
	printf("random-two: weight 3 holds %.2fx a weight 1's\n", r);
	ck_assert(r > 2.7 && r < 3.2);
	afx_free(&f);
}
END_TEST

START_TEST(test_registry)
{
	char buf[256];

	ck_assert_ptr_eq(lb_find("least-connections"), &lb_leastconn_ops);
	ck_assert_ptr_eq(lb_find("maglev"), &lb_maglev_ops);
	ck_assert_ptr_eq(lb_find("random-two"), &lb_random2_ops);
	ck_assert_ptr_eq(lb_find("round-robin"), &lb_rr_ops);
	ck_assert_str_eq(lb_names(buf, sizeof(buf)), "\"least-connections\", "
	    "\"maglev\", \"random-two\", \"round-robin\"");
}
END_TEST

static Suite *
algos_suite(void)
{
	Suite	*s = suite_create("lb_algos");
	TCase	*tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_swrr_nginx_doc);
	tcase_add_test(tc, test_swrr_vs_nginx);
	tcase_add_test(tc, test_swrr_drain);
	tcase_add_test(tc, test_swrr_down_passes);
	tcase_add_test(tc, test_swrr_scaled);
	tcase_add_test(tc, test_swrr_slow_start);
	tcase_add_test(tc, test_swrr_threads);
	tcase_add_test(tc, test_lc_held);
	tcase_add_test(tc, test_lc_ties_rotate);
	tcase_add_test(tc, test_r2_spread);
	tcase_add_test(tc, test_r2_skew);
	tcase_add_test(tc, test_r2_weights);
	tcase_add_test(tc, test_registry);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(algos_suite());
}
