/*
 * lb: the balancing interface on a hand-made set (no configuration):
 * health (down endpoints are never offered), active checks' cells and
 * panic, the status hooks, the registry's names and a build that
 * reports its error.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

#include "health.h"
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
		ck_assert(lb_ep_up(&f.eps[i]));
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
	ck_assert(!lb_ep_up(&f.eps[1]));
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
		ck_assert(lb_ep_up(&h.f.eps[i]));
	hcfx_set(&h, 1, HC_UP);
	hcfx_set(&h, 2, HC_DOWN);
	ck_assert(!lb_ep_up(&h.f.eps[2]));
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
	ck_assert_str_eq(lb_names(buf, sizeof(buf)), "\"round-robin\"");
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
	suite_add_tcase(s, tc);
	return unit_run(s);
}
