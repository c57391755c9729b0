/*
 * lb: the balancing interface on a hand-made set (no configuration):
 * health (down endpoints are never offered), active checks' cells and
 * panic, the status hooks, the registry's names and a build that
 * reports its error.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "health_cell.h"
#include "lb.h"
#include "unit.h"
#include "val.h"

#define NEPS	4

/* A set of NEPS endpoints 10.0.0.1-4:80 over live, balanced by ops. */
struct lbfx {
	struct lb_livetab	 live;
	struct arena		 arena;
	struct lb_ep		 eps[NEPS];
	struct lb_set		 set;
};

static void
lbfx_init(struct lbfx *f, const struct lb_ops *ops)
{
	struct ipaddr	a;
	char		ip[32], err[128];
	size_t		i;

	memset(f, 0, sizeof(*f));
	lb_livetab_init(&f->live);
	arena_init(&f->arena, 1 << 20);
	for (i = 0; i < NEPS; i++) {
		snprintf(ip, sizeof(ip), "10.0.0.%zu", i + 1);
		ck_assert_int_eq(ipaddr_parse(ip, &a), 0);
		f->eps[i].salen = ipaddr_sockaddr(&a, 80, &f->eps[i].sa);
		f->eps[i].addr = a;
		f->eps[i].port = 80;
		f->eps[i].weight = 1;
		snprintf(f->eps[i].name, sizeof(f->eps[i].name), "%s:80", ip);
		ck_assert_ptr_nonnull(f->eps[i].live =
		    lb_live_get(&f->live, f->eps[i].name));
	}
	f->set.ops = ops;
	f->set.eps = f->eps;
	f->set.neps = NEPS;
	ck_assert_int_eq(ops->build(&f->set, &f->arena, err, sizeof(err)), 0);
}

static void
lbfx_free(struct lbfx *f)
{
	arena_free(&f->arena);
	lb_livetab_free(&f->live);
}

/* A fresh connection's pick: the endpoint's index, or -1 for none. */
static int
pick1(struct lbfx *f)
{
	struct lb_flow	 fl;
	struct lb_ep	*ep;

	memset(&fl, 0, sizeof(fl));
	if ((ep = lb_pick(&f->set, &fl)) == NULL)
		return -1;
	lb_release(&f->set, ep);
	return (int)(ep - f->eps);
}

START_TEST(test_up_by_default)
{
	struct lbfx	f;
	int		i;

	lbfx_init(&f, &lb_rr_ops);
	for (i = 0; i < NEPS; i++) {
		ck_assert(lb_ep_up(&f.eps[i], 0));
		ck_assert_uint_eq(f.eps[i].weight, 1);
	}
	for (i = 0; i < 2 * NEPS; i++)
		ck_assert_int_eq(pick1(&f), i % NEPS);
	lbfx_free(&f);
}
END_TEST

START_TEST(test_down_never_picked)
{
	struct lbfx	f;
	int		i, n[NEPS] = { 0 }, k;

	lbfx_init(&f, &lb_rr_ops);
	ck_assert_int_eq(lb_live_set_up(f.eps[1].live, 0), 1);
	ck_assert_int_eq(lb_live_set_up(f.eps[1].live, 0), 0);	/* same */
	ck_assert(!lb_ep_up(&f.eps[1], 0));
	for (i = 0; i < 300; i++) {
		ck_assert_int_ge(k = pick1(&f), 0);
		n[k]++;
	}
	ck_assert_int_eq(n[1], 0);
	/* Its turns go to the next endpoint up: 0 2 2 3, over and over. */
	ck_assert_int_eq(n[0], 75);
	ck_assert_int_eq(n[2], 150);
	ck_assert_int_eq(n[3], 75);
	ck_assert_uint_eq(f.eps[1].live->total, 0);

	/* One connection's retries skip it too. */
	{
		struct lb_flow	 fl;
		struct lb_ep	*ep;

		memset(&fl, 0, sizeof(fl));
		for (i = 0; i < LB_MAX_TRIES; i++) {
			ck_assert_ptr_nonnull(ep = lb_pick(&f.set, &fl));
			ck_assert_ptr_ne(ep, &f.eps[1]);
		}
		for (i = 0; i < (int)fl.ntried; i++)
			lb_release(&f.set, &f.eps[fl.tried[i]]);
	}
	lbfx_free(&f);
}
END_TEST

START_TEST(test_all_down_then_up)
{
	struct lbfx	f;
	int		i, seen = 0;

	lbfx_init(&f, &lb_rr_ops);
	for (i = 0; i < NEPS; i++)
		ck_assert_int_eq(lb_live_set_up(f.eps[i].live, 0), 1);
	for (i = 0; i < 10; i++)
		ck_assert_int_eq(pick1(&f), -1);
	for (i = 0; i < NEPS; i++)
		ck_assert_uint_eq(f.eps[i].live->active, 0);
	/* Up again: picked again, alone while the others stay down. */
	ck_assert_int_eq(lb_live_set_up(f.eps[2].live, 1), 1);
	ck_assert_int_eq(lb_live_set_up(f.eps[2].live, 1), 0);
	for (i = 0; i < 10; i++)
		ck_assert_int_eq(pick1(&f), 2);
	for (i = 0; i < NEPS; i++)
		lb_live_set_up(f.eps[i].live, 1);
	for (i = 0; i < 2 * NEPS; i++)
		seen |= 1 << pick1(&f);
	ck_assert_int_eq(seen, (1 << NEPS) - 1);
	lbfx_free(&f);
}
END_TEST

/* The state belongs to the address and port: a second set sees it. */
START_TEST(test_state_is_the_endpoints)
{
	struct lbfx	f;
	struct lb_live	*l;

	lbfx_init(&f, &lb_rr_ops);
	lb_live_set_up(f.eps[0].live, 0);
	l = lb_live_get(&f.live, "10.0.0.1:80");
	ck_assert_ptr_eq(l, f.eps[0].live);
	ck_assert_uint_eq(l->down, 1);
	lbfx_free(&f);
}
END_TEST

/* An algorithm with hooks: rr's pick, counting the status calls. */
static int hook_up, hook_down;
static const struct lb_ep *hook_ep;

static void
hk_up(struct lb_set *set, struct lb_ep *ep)
{
	(void)set;
	hook_up++;
	hook_ep = ep;
}

static void
hk_down(struct lb_set *set, struct lb_ep *ep)
{
	(void)set;
	hook_down++;
	hook_ep = ep;
}

START_TEST(test_status_hooks)
{
	struct lb_ops	ops = lb_rr_ops;
	struct lbfx	f;

	ops.set_up = hk_up;
	ops.set_down = hk_down;
	hook_up = hook_down = 0;
	lbfx_init(&f, &ops);
	ck_assert_int_eq(lb_live_set_up(f.eps[3].live, 0), 1);
	lb_set_status(&f.set, &f.eps[3]);
	ck_assert_int_eq(hook_down, 1);
	ck_assert_int_eq(hook_up, 0);
	ck_assert_ptr_eq(hook_ep, &f.eps[3]);
	ck_assert_int_eq(lb_live_set_up(f.eps[3].live, 1), 1);
	lb_set_status(&f.set, &f.eps[3]);
	ck_assert_int_eq(hook_up, 1);
	ck_assert_int_eq(hook_down, 1);
	lbfx_free(&f);

	/* Round robin has none, and needs none. */
	lbfx_init(&f, &lb_rr_ops);
	lb_live_set_up(f.eps[0].live, 0);
	lb_set_status(&f.set, &f.eps[0]);
	ck_assert_int_eq(pick1(&f), 1);
	lbfx_free(&f);
}
END_TEST

/* Active checks: the set over a cell table, as snap_build makes it. */
struct hcfx {
	struct lbfx		 f;
	struct hc_celltab	 cells;
	struct hc_cell		*c[NEPS];
	int			 notes[2];	/* panic exits, entries */
	size_t			 healthy;	/* at the last note */
};

static void
hcfx_note(const struct lb_set *set, int on, size_t healthy, void *arg)
{
	struct hcfx	*h = arg;

	(void)set;
	h->notes[on ? 1 : 0]++;
	h->healthy = healthy;
}

static void
hcfx_init(struct hcfx *h, uint8_t panic_percent)
{
	char	key[64];
	size_t	i;

	memset(h, 0, sizeof(*h));
	lbfx_init(&h->f, &lb_rr_ops);
	hc_celltab_init(&h->cells);
	for (i = 0; i < NEPS; i++) {
		snprintf(key, sizeof(key), "%s tcp", h->f.eps[i].name);
		ck_assert_ptr_nonnull(h->c[i] = hc_celltab_get(&h->cells,
		    key));
		h->f.eps[i].hc = h->c[i];
	}
	h->f.set.hc_gen = &h->cells.gen;
	h->f.set.panic_percent = panic_percent;
	h->f.set.panic_note = hcfx_note;
	h->f.set.panic_arg = h;
}

/* What the health thread does on a transition: state, then bump. */
static void
hcfx_set(struct hcfx *h, size_t i, enum hc_health st)
{
	atomic_store(&h->c[i]->state, st);
	hc_celltab_changed(&h->cells);
}

static void
hcfx_free(struct hcfx *h)
{
	lbfx_free(&h->f);
	hc_celltab_free(&h->cells);
}

START_TEST(test_hc_down_skipped)
{
	struct hcfx	h;
	int		i, n[NEPS] = { 0 };

	hcfx_init(&h, 0);
	/* Unknown (no result yet) is served as up. */
	for (i = 0; i < NEPS; i++)
		ck_assert(lb_ep_up(&h.f.eps[i], 0));
	hcfx_set(&h, 1, HC_UP);
	hcfx_set(&h, 2, HC_DOWN);
	ck_assert(!lb_ep_up(&h.f.eps[2], 0));
	for (i = 0; i < 40; i++)
		n[pick1(&h.f)]++;
	ck_assert_int_eq(n[2], 0);
	ck_assert_int_eq(n[0] + n[1] + n[3], 40);
	ck_assert_uint_eq(h.f.set.panic, 0);
	ck_assert_int_eq(h.notes[0] + h.notes[1], 0);
	/* Back up: in rotation again. */
	hcfx_set(&h, 2, HC_UP);
	for (i = 0; i < NEPS; i++)
		ck_assert_int_eq(pick1(&h.f), (int)((i + 40) % NEPS));
	hcfx_free(&h);
}
END_TEST

/* A flow's allow that refuses endpoint 0 (NetworkPolicy's say). */
static int
deny0(const struct lb_ep *ep, void *arg)
{
	return ep != (const struct lb_ep *)arg;
}

START_TEST(test_hc_panic)
{
	struct hcfx	 h;
	struct lb_flow	 fl;
	struct lb_ep	*ep;
	int		 i, seen = 0;

	hcfx_init(&h, 0);
	for (i = 0; i < NEPS; i++)
		hcfx_set(&h, (size_t)i, HC_DOWN);
	/* None healthy: fail open to every endpoint, in rotation. */
	for (i = 0; i < 2 * NEPS; i++)
		seen |= 1 << pick1(&h.f);
	ck_assert_int_eq(seen, (1 << NEPS) - 1);
	ck_assert_uint_eq(h.f.set.panic, 1);
	ck_assert_int_eq(h.notes[1], 1);	/* told once */
	ck_assert_int_eq(h.notes[0], 0);
	ck_assert_uint_eq(h.healthy, 0);
	/* Still NetworkPolicy's and the tried list's say. */
	memset(&fl, 0, sizeof(fl));
	fl.allow = deny0;
	fl.allow_arg = &h.f.eps[0];
	for (i = 0; i < LB_MAX_TRIES; i++) {
		ck_assert_ptr_nonnull(ep = lb_pick(&h.f.set, &fl));
		ck_assert_ptr_ne(ep, &h.f.eps[0]);
	}
	ck_assert_ptr_null(lb_pick(&h.f.set, &fl));
	ck_assert(fl.tried[0] != fl.tried[1] && fl.tried[1] != fl.tried[2] &&
	    fl.tried[0] != fl.tried[2]);
	for (i = 0; i < (int)fl.ntried; i++)
		lb_release(&h.f.set, &h.f.eps[fl.tried[i]]);
	/* One comes back: panic over, told once, the rest skipped. */
	hcfx_set(&h, 3, HC_UP);
	for (i = 0; i < 10; i++)
		ck_assert_int_eq(pick1(&h.f), 3);
	ck_assert_uint_eq(h.f.set.panic, 0);
	ck_assert_int_eq(h.notes[0], 1);
	ck_assert_int_eq(h.notes[1], 1);
	ck_assert_uint_eq(h.healthy, 1);
	/* Unchecked sets never panic: all marked down is no endpoint. */
	for (i = 0; i < NEPS; i++)
		h.f.eps[i].hc = NULL;
	h.f.set.hc_gen = NULL;
	for (i = 0; i < NEPS; i++)
		lb_live_set_up(h.f.eps[i].live, 0);
	ck_assert_int_eq(pick1(&h.f), -1);
	hcfx_free(&h);
}
END_TEST

START_TEST(test_hc_panic_threshold)
{
	struct hcfx	h;
	int		i, seen = 0;

	hcfx_init(&h, 50);
	hcfx_set(&h, 0, HC_DOWN);
	hcfx_set(&h, 1, HC_DOWN);
	/* 2 of 4 healthy: not under 50%. */
	for (i = 0; i < 8; i++)
		seen |= 1 << pick1(&h.f);
	ck_assert_int_eq(seen, 0xc);
	ck_assert_uint_eq(h.f.set.panic, 0);
	ck_assert_int_eq(lb_panic_due(&h.f.set, 2), 0);
	/* 1 of 4: panic, every endpoint again. */
	hcfx_set(&h, 2, HC_DOWN);
	seen = 0;
	for (i = 0; i < 8; i++)
		seen |= 1 << pick1(&h.f);
	ck_assert_int_eq(seen, 0xf);
	ck_assert_uint_eq(h.f.set.panic, 1);
	ck_assert_int_eq(h.notes[1], 1);
	ck_assert_uint_eq(h.healthy, 1);
	/* Decided only when the generation moves: a state stored without
	   a bump (the health thread bumps after storing) is not seen yet,
	   and costs no count per pick. */
	atomic_store(&h.c[2]->state, HC_UP);
	(void)pick1(&h.f);
	ck_assert_uint_eq(h.f.set.panic, 1);
	hc_celltab_changed(&h.cells);
	(void)pick1(&h.f);
	ck_assert_uint_eq(h.f.set.panic, 0);
	ck_assert_int_eq(h.notes[0], 1);
	hcfx_free(&h);
}
END_TEST

START_TEST(test_registry)
{
	char buf[256];

	ck_assert_ptr_eq(lb_find("round-robin"), &lb_rr_ops);
	/* ProxyConfig's default names one. */
	ck_assert_ptr_nonnull(lb_find(PCFG_DEFAULT_LB_ALGORITHM));
	ck_assert_ptr_null(lb_find("roundrobin"));
	ck_assert_ptr_null(lb_find(""));
	ck_assert_str_eq(lb_names(buf, sizeof(buf)), "\"least-connections\", "
	    "\"maglev\", \"random-two\", \"round-robin\"");
	/* Truncated, still a string. */
	ck_assert_uint_lt(strlen(lb_names(buf, 5)), 5);
}
END_TEST

START_TEST(test_build_error)
{
	struct lb_set	set;
	struct arena	a;
	char		err[128];

	memset(&set, 0, sizeof(set));
	set.ops = &lb_rr_ops;
	arena_init(&a, 1);	/* too small for any state */
	err[0] = '\0';
	ck_assert_int_eq(lb_rr_ops.build(&set, &a, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "out of memory");
	arena_free(&a);
}
END_TEST

/* ---- passive outlier detection (ejection), slow start ---- */

/* A port's outlier settings: n failures, base and cap ms, percent. */
static struct hc_config
ejcfg(uint32_t n, uint32_t base, uint32_t max, uint8_t pct)
{
	struct hc_config hc;

	memset(&hc, 0, sizeof(hc));
	hc.outlier_failures = n;
	hc.eject_base_ms = base;
	hc.eject_max_ms = max;
	hc.eject_max_percent = pct;
	return hc;
}

/* A flow at monotonic now and wall clock wall. */
static struct lb_flow
flow_at(int64_t now, int64_t wall)
{
	struct lb_flow fl;

	memset(&fl, 0, sizeof(fl));
	fl.now_ms = now;
	fl.wall_ms = wall;
	return fl;
}

/* n failed connects to endpoint i at now; the last lb_fail's result. */
static uint32_t
fail_n(struct lbfx *f, size_t i, const struct hc_config *hc, int n,
    int64_t now)
{
	struct lb_flow	fl = flow_at(now, now + 1000000);
	uint32_t	ms = 0;

	while (n-- > 0)
		ms = lb_fail(&f->set, &f->eps[i], hc, &fl);
	return ms;
}

/* Picks at now: how often each endpoint came up in 4 * NEPS. */
static void
picks_at(struct lbfx *f, int64_t now, int n[NEPS])
{
	struct lb_flow	 fl;
	struct lb_ep	*ep;
	int		 i;

	memset(n, 0, NEPS * sizeof(n[0]));
	for (i = 0; i < 4 * NEPS; i++) {
		fl = flow_at(now, 0);
		ck_assert_ptr_nonnull(ep = lb_pick(&f->set, &fl));
		n[ep - f->eps]++;
		lb_release(&f->set, ep);
	}
}

START_TEST(test_eject_after_n_not_before)
{
	struct hc_config	hc = ejcfg(3, 1000, 10000, 50);
	struct lbfx		f;
	int			n[NEPS];

	lbfx_init(&f, &lb_rr_ops);
	ck_assert_uint_eq(fail_n(&f, 0, &hc, 2, 100), 0);
	ck_assert(lb_ep_up(&f.eps[0], 100));
	ck_assert_uint_eq(f.eps[0].live->ejections, 0);
	/* The third in a row ejects it, for the base time, from now. */
	ck_assert_uint_eq(fail_n(&f, 0, &hc, 1, 100), 1000);
	ck_assert_uint_eq(f.eps[0].live->ejections, 1);
	ck_assert_uint_eq(f.eps[0].live->fails_in_row, 0);
	ck_assert_uint_eq(f.eps[0].live->failures, 3);
	ck_assert(!lb_ep_up(&f.eps[0], 100));
	ck_assert(!lb_ep_up(&f.eps[0], 1099));
	picks_at(&f, 500, n);
	ck_assert_int_eq(n[0], 0);
	ck_assert_int_eq(n[1] + n[2] + n[3], 4 * NEPS);
	/* A connect started before it fails late: no second ejection. */
	ck_assert_uint_eq(fail_n(&f, 0, &hc, 3, 600), 0);
	ck_assert_uint_eq(f.eps[0].live->ejections, 1);
	/* Back in at expiry, with no active check configured. */
	ck_assert(lb_ep_up(&f.eps[0], 1100));
	picks_at(&f, 1100, n);
	ck_assert_int_eq(n[0], 4);
	lbfx_free(&f);
}
END_TEST

START_TEST(test_eject_ok_starts_over)
{
	struct hc_config	hc = ejcfg(3, 1000, 10000, 50);
	struct lbfx		f;

	lbfx_init(&f, &lb_rr_ops);
	ck_assert_uint_eq(fail_n(&f, 1, &hc, 2, 0), 0);
	lb_ok(&f.eps[1]);
	ck_assert_uint_eq(fail_n(&f, 1, &hc, 2, 0), 0);
	ck_assert(lb_ep_up(&f.eps[1], 0));
	ck_assert_uint_eq(fail_n(&f, 1, &hc, 1, 0), 1000);
	lbfx_free(&f);
}
END_TEST

/* Envoy's back-off: base times the ejections so far, capped. */
START_TEST(test_eject_backoff)
{
	static const uint32_t	 want[] = { 1000, 2000, 3000, 3500, 3500 };
	struct hc_config	 hc = ejcfg(2, 1000, 3500, 50);
	struct lbfx		 f;
	int64_t			 now = 10;
	size_t			 i;

	lbfx_init(&f, &lb_rr_ops);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		ck_assert_uint_eq(fail_n(&f, 2, &hc, 2, now), want[i]);
		ck_assert(!lb_ep_up(&f.eps[2], now + want[i] - 1));
		ck_assert(lb_ep_up(&f.eps[2], now + want[i]));
		now += want[i];
	}
	ck_assert_uint_eq(f.eps[2].live->ejections, 5);
	lbfx_free(&f);
}
END_TEST

/*
 * Envoy's decay: the multiplier goes down by one per base ejection
 * time the endpoint stays back in.  Ejected 3 times in a row (1, 2, 3
 * s), then back in for 2 whole base periods (and a half: only whole
 * ones count): the next lasts (3 - 2 + 1) x base.  After a long calm,
 * the multiplier is at 0 again: base.  The total count only grows.
 */
START_TEST(test_eject_backoff_decays)
{
	struct hc_config	 hc = ejcfg(2, 1000, 300000, 50);
	struct lbfx		 f;
	int64_t			 now = 10;
	uint32_t		 i;

	lbfx_init(&f, &lb_rr_ops);
	for (i = 1; i <= 3; i++) {
		ck_assert_uint_eq(fail_n(&f, 1, &hc, 2, now), i * 1000);
		now += i * 1000;
	}
	ck_assert_uint_eq(f.eps[1].live->eject_backoff, 3);
	/* Back in at now; 2.5 base periods later, ejected again. */
	now += 2500;
	ck_assert_uint_eq(fail_n(&f, 1, &hc, 2, now), 2000);
	ck_assert_uint_eq(f.eps[1].live->eject_backoff, 2);
	now += 2000;
	/* Less than one period back in: no decay, one more. */
	now += 999;
	ck_assert_uint_eq(fail_n(&f, 1, &hc, 2, now), 3000);
	now += 3000;
	/* Long healthy: back to the base time, never below. */
	now += 3600 * 1000;
	ck_assert_uint_eq(fail_n(&f, 1, &hc, 2, now), 1000);
	ck_assert_uint_eq(f.eps[1].live->eject_backoff, 1);
	ck_assert_uint_eq(f.eps[1].live->ejections, 6);
	lbfx_free(&f);
}
END_TEST

/* Envoy's cap: the multiplier stops once base x it passes max + base. */
START_TEST(test_eject_backoff_cap)
{
	struct hc_config	 hc = ejcfg(2, 1000, 3500, 50);
	struct lbfx		 f;
	int64_t			 now = 10;
	int			 i;

	lbfx_init(&f, &lb_rr_ops);
	/* Each ejection as the last runs out: no decay between. */
	for (i = 0; i < 8; i++)
		now += fail_n(&f, 3, &hc, 2, now);
	/* 0 1 2 3 4 -> 5 (4000 < 4500), and no further (5000). */
	ck_assert_uint_eq(f.eps[3].live->eject_backoff, 5);
	/* So one period back in takes it to 4 and the next ejection to 5
	   again: still the cap, 3.5 s. */
	now += 1000;
	ck_assert_uint_eq(fail_n(&f, 3, &hc, 2, now), 3500);
	lbfx_free(&f);
}
END_TEST

/* At most eject_max_percent of the port's endpoints at once. */
START_TEST(test_eject_max_percent)
{
	struct hc_config	hc = ejcfg(1, 1000, 10000, 50);
	struct lbfx		f;
	int			n[NEPS];

	lbfx_init(&f, &lb_rr_ops);
	ck_assert_uint_eq(fail_n(&f, 0, &hc, 1, 0), 1000);
	ck_assert_uint_eq(fail_n(&f, 1, &hc, 1, 500), 1000);
	/* Two of four are out: a third would pass 50%. */
	ck_assert_uint_eq(fail_n(&f, 2, &hc, 5, 600), 0);
	ck_assert(lb_ep_up(&f.eps[2], 600));
	ck_assert_uint_eq(f.eps[2].live->ejections, 0);
	picks_at(&f, 600, n);
	ck_assert_int_eq(n[0] + n[1], 0);
	ck_assert_int_gt(n[2], 0);
	ck_assert_int_eq(n[2] + n[3], 4 * NEPS);
	/* Once the first is back, the next failure finds room. */
	ck_assert_uint_eq(fail_n(&f, 2, &hc, 1, 1000), 1000);
	ck_assert(!lb_ep_up(&f.eps[2], 1000));
	ck_assert(lb_ep_up(&f.eps[0], 1000));
	/* 0%: nothing is ever ejected. */
	hc = ejcfg(1, 1000, 10000, 0);
	ck_assert_uint_eq(fail_n(&f, 3, &hc, 3, 1000), 0);
	ck_assert(lb_ep_up(&f.eps[3], 1000));
	lbfx_free(&f);
}
END_TEST

/* outlier_failures 0 (or no configuration): counted, never ejected. */
START_TEST(test_eject_disabled)
{
	struct hc_config	hc = ejcfg(0, 1000, 10000, 100);
	struct lbfx		f;

	lbfx_init(&f, &lb_rr_ops);
	ck_assert_uint_eq(fail_n(&f, 0, &hc, 100, 0), 0);
	ck_assert_uint_eq(fail_n(&f, 0, NULL, 100, 0), 0);
	ck_assert(lb_ep_up(&f.eps[0], 0));
	ck_assert_uint_eq(f.eps[0].live->failures, 200);
	ck_assert_uint_eq(f.eps[0].live->fails_in_row, 200);
	ck_assert_uint_eq(f.eps[0].live->ejections, 0);
	lbfx_free(&f);
}
END_TEST

/* An active check that passes after the ejection began re-admits. */
START_TEST(test_eject_active_pass_readmits)
{
	struct hc_config	 hc = ejcfg(1, 30000, 300000, 50);
	struct hc_cell		*cell;
	struct lb_flow		 fl = flow_at(100, 50000);
	struct lbfx		 f;

	ck_assert_ptr_nonnull(cell = calloc(1, sizeof(*cell) + 8));
	lbfx_init(&f, &lb_rr_ops);
	f.eps[0].hc = cell;
	atomic_store(&cell->last_ok_ms, 49000);	/* before */
	ck_assert_uint_eq(lb_fail(&f.set, &f.eps[0], &hc, &fl), 30000);
	ck_assert(!lb_ep_up(&f.eps[0], 200));
	atomic_store(&cell->last_ok_ms, 50000);	/* same ms: not after */
	ck_assert(!lb_ep_up(&f.eps[0], 200));
	atomic_store(&cell->last_ok_ms, 50001);
	ck_assert(lb_ep_up(&f.eps[0], 200));
	/*
	 * A pass the health thread recorded just before the failure but
	 * ahead of the worker's cached clock does not re-admit it.
	 */
	atomic_store(&cell->last_ok_ms, 52000);
	fl = flow_at(300, 51000);
	ck_assert_uint_eq(lb_fail(&f.set, &f.eps[0], &hc, &fl), 60000);
	ck_assert(!lb_ep_up(&f.eps[0], 400));
	atomic_store(&cell->last_ok_ms, 53000);
	ck_assert(lb_ep_up(&f.eps[0], 400));
	lbfx_free(&f);
	free(cell);
}
END_TEST

/* The weight algorithms read: slow start from the cell's up time. */
START_TEST(test_ep_weight_slow_start)
{
	struct hc_cell	*cell;
	struct lbfx	 f;

	ck_assert_ptr_nonnull(cell = calloc(1, sizeof(*cell) + 8));
	lbfx_init(&f, &lb_rr_ops);
	f.eps[0].weight = 100;
	ck_assert_uint_eq(lb_ep_weight(&f.eps[0], 10000, 5000), 100);
	f.eps[0].hc = cell;
	ck_assert_uint_eq(lb_ep_weight(&f.eps[0], 10000, 5000), 100);
	atomic_store(&cell->up_since_ms, 1000);
	ck_assert_uint_eq(lb_ep_weight(&f.eps[0], 10000, 1000), 10);
	ck_assert_uint_eq(lb_ep_weight(&f.eps[0], 10000, 6000), 50);
	ck_assert_uint_eq(lb_ep_weight(&f.eps[0], 10000, 11000), 100);
	ck_assert_uint_eq(lb_ep_weight(&f.eps[0], 0, 1000), 100);
	lbfx_free(&f);
	free(cell);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("lb");
	TCase	*tc = tcase_create("lb");

	tcase_add_test(tc, test_up_by_default);
	tcase_add_test(tc, test_down_never_picked);
	tcase_add_test(tc, test_all_down_then_up);
	tcase_add_test(tc, test_state_is_the_endpoints);
	tcase_add_test(tc, test_status_hooks);
	tcase_add_test(tc, test_hc_down_skipped);
	tcase_add_test(tc, test_hc_panic);
	tcase_add_test(tc, test_hc_panic_threshold);
	tcase_add_test(tc, test_registry);
	tcase_add_test(tc, test_build_error);
	tcase_add_test(tc, test_eject_after_n_not_before);
	tcase_add_test(tc, test_eject_ok_starts_over);
	tcase_add_test(tc, test_eject_backoff);
	tcase_add_test(tc, test_eject_backoff_decays);
	tcase_add_test(tc, test_eject_backoff_cap);
	tcase_add_test(tc, test_eject_max_percent);
	tcase_add_test(tc, test_eject_disabled);
	tcase_add_test(tc, test_eject_active_pass_readmits);
	tcase_add_test(tc, test_ep_weight_slow_start);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
