/*
 * lb: the balancing interface on a hand-made set (no configuration):
 * health (down endpoints are never offered), the status hooks, the
 * registry's names and a build that reports its error.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

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
	tcase_add_test(tc, test_registry);
	tcase_add_test(tc, test_build_error);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
