/*
 * affinity: sessionAffinity: ClientIP's tables (affinity.c) and their
 * use in lb_pick (lb.c), on a hand-made set with an injected clock
 * (lb_flow.now_ms): kept, expired at the timeout, dropped when its
 * endpoint goes down, is denied, drained or leaves the set, a retry
 * replaces it, the bound, v6 clients, the registry across reloads, and
 * two threads picking at once.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "affinity.h"
#include "lb.h"
#include "unit.h"

#define NEPS	4
#define TMO	1000	/* ms */

struct afx {
	struct lb_livetab	 live;
	struct arena		 arena;
	struct lb_ep		 eps[NEPS];
	struct lb_set		 set;
};

static void
afx_init(struct afx *f, uint32_t max)
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
	f->set.ops = &lb_rr_ops;
	f->set.eps = f->eps;
	f->set.neps = NEPS;
	f->set.aff_timeout_ms = TMO;
	f->set.aff_max = max;
	ck_assert_ptr_nonnull(f->set.aff = aff_reg_get(&f->live.aff,
	    "ns/web:80/TCP", max, 0, TMO));
	ck_assert_int_eq(lb_rr_ops.build(&f->set, &f->arena, err,
	    sizeof(err)), 0);
}

static void
afx_free(struct afx *f)
{
	aff_unref(f->set.aff);
	arena_free(&f->arena);
	lb_livetab_free(&f->live);
}

static void
client4(struct sockaddr_storage *ss, const char *ip)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(40000);
	ck_assert_int_eq(inet_pton(AF_INET, ip, &sin->sin_addr), 1);
}

static void
client6(struct sockaddr_storage *ss, const char *ip)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(40000);
	ck_assert_int_eq(inet_pton(AF_INET6, ip, &sin6->sin6_addr), 1);
}

/* One connection of the client at ss at now: the index, or -1. */
static int
pick_at(const struct lb_set *set, const struct lb_ep *base,
    const struct sockaddr_storage *ss, int64_t now)
{
	struct lb_flow	 fl;
	struct lb_ep	*ep;

	memset(&fl, 0, sizeof(fl));
	fl.client = (const struct sockaddr *)ss;
	fl.now_ms = now;
	if ((ep = lb_pick(set, &fl)) == NULL)
		return -1;
	lb_release(set, ep);
	return (int)(ep - base);
}

static int
pick(struct afx *f, const char *ip, int64_t now)
{
	struct sockaddr_storage ss;

	if (strchr(ip, ':') != NULL)
		client6(&ss, ip);
	else
		client4(&ss, ip);
	return pick_at(&f->set, f->eps, &ss, now);
}

START_TEST(test_kept)
{
	struct afx	f;
	int		a, b, i;

	afx_init(&f, 100);
	a = pick(&f, "192.0.2.1", 0);
	b = pick(&f, "192.0.2.2", 0);
	ck_assert_int_ge(a, 0);
	/* Round robin moved on: only the table keeps them. */
	ck_assert_int_ne(a, b);
	for (i = 0; i < 20; i++) {
		ck_assert_int_eq(pick(&f, "192.0.2.1", i * 10), a);
		ck_assert_int_eq(pick(&f, "192.0.2.2", i * 10), b);
	}
	ck_assert_uint_eq(aff_count(f.set.aff), 2);
	afx_free(&f);
}
END_TEST

START_TEST(test_expires_after_last_use)
{
	struct afx	f;
	int		a, i;

	afx_init(&f, 100);
	a = pick(&f, "192.0.2.1", 0);
	/* Each connection restarts the timeout: kept well past it. */
	for (i = 1; i <= 5; i++)
		ck_assert_int_eq(pick(&f, "192.0.2.1", (int64_t)i * (TMO -
		    1)), a);
	/* Idle for exactly the timeout: gone, a fresh choice (round robin
	   is one past a). */
	ck_assert_int_eq(pick(&f, "192.0.2.1", 5 * (TMO - 1) + TMO),
	    (a + 1) % NEPS);
	ck_assert_uint_eq(atomic_load(&f.set.aff->expired), 1);
	/* The scrape's sweep drops idle entries. */
	ck_assert_uint_eq(aff_expire(f.set.aff, 100 * TMO, TMO), 0);
	afx_free(&f);
}
END_TEST

START_TEST(test_down_gives_fresh_choice)
{
	struct afx	f;
	int		a, b;

	afx_init(&f, 100);
	a = pick(&f, "192.0.2.1", 0);
	ck_assert_int_eq(lb_live_set_up(f.eps[a].live, 0), 1);
	b = pick(&f, "192.0.2.1", 1);
	ck_assert_int_ge(b, 0);
	ck_assert_int_ne(b, a);
	/* Back up: the client stays where the fresh choice put it. */
	ck_assert_int_eq(lb_live_set_up(f.eps[a].live, 1), 1);
	ck_assert_int_eq(pick(&f, "192.0.2.1", 2), b);
	afx_free(&f);
}
END_TEST

static int
deny_ep0(const struct lb_ep *ep, void *arg)
{
	return ep != (const struct lb_ep *)arg;
}

START_TEST(test_policy_and_drain)
{
	struct afx		f;
	struct sockaddr_storage	ss;
	struct lb_flow		fl;
	struct lb_ep		*ep;
	int			a, b, i;

	afx_init(&f, 100);
	a = pick(&f, "192.0.2.1", 0);
	/* NetworkPolicy denies a to this client: a fresh choice. */
	client4(&ss, "192.0.2.1");
	memset(&fl, 0, sizeof(fl));
	fl.client = (const struct sockaddr *)&ss;
	fl.allow = deny_ep0;
	fl.allow_arg = &f.eps[a];
	ck_assert_ptr_nonnull(ep = lb_pick(&f.set, &fl));
	ck_assert_ptr_ne(ep, &f.eps[a]);
	b = (int)(ep - f.eps);
	lb_release(&f.set, ep);
	ck_assert_int_eq(pick(&f, "192.0.2.1", 1), b);
	/* Drained (weight 0): never chosen, its clients move. */
	f.eps[b].weight = 0;
	for (i = 0; i < 3 * NEPS; i++) {
		char ip[32];

		snprintf(ip, sizeof(ip), "192.0.2.%d", 10 + i);
		ck_assert_int_ne(pick(&f, ip, 2), b);
	}
	ck_assert_int_ne(pick(&f, "192.0.2.1", 3), b);
	afx_free(&f);
}
END_TEST

START_TEST(test_retry_replaces)
{
	struct afx		f;
	struct sockaddr_storage	ss;
	struct lb_flow		fl;
	struct lb_ep		*e1, *e2;

	afx_init(&f, 100);
	client4(&ss, "192.0.2.1");
	memset(&fl, 0, sizeof(fl));
	fl.client = (const struct sockaddr *)&ss;
	ck_assert_ptr_nonnull(e1 = lb_pick(&f.set, &fl));
	/* Its connect failed: the retry avoids it and is remembered. */
	ck_assert_ptr_nonnull(e2 = lb_pick(&f.set, &fl));
	ck_assert_ptr_ne(e1, e2);
	lb_release(&f.set, e1);
	lb_release(&f.set, e2);
	ck_assert_int_eq(pick(&f, "192.0.2.1", 1), (int)(e2 - f.eps));
	ck_assert_uint_eq(aff_count(f.set.aff), 1);
	afx_free(&f);
}
END_TEST

/*
 * A reload: a new set (other order, one endpoint gone) over the same
 * live entries and the same table, as snap_build makes it.
 */
START_TEST(test_reload_keeps_remaining)
{
	struct afx	 f;
	struct lb_ep	 eps2[NEPS - 1];
	struct lb_set	 set2;
	struct aff_table *t2;
	char		 ip[32], err[128];
	int		 before[16], i, j, gone;

	afx_init(&f, 100);
	for (i = 0; i < 16; i++) {
		snprintf(ip, sizeof(ip), "192.0.2.%d", i + 1);
		before[i] = pick(&f, ip, 0);
	}
	gone = 2;
	/* Reversed, without endpoint 2: every index differs. */
	for (i = NEPS - 1, j = 0; i >= 0; i--)
		if (i != gone)
			eps2[j++] = f.eps[i];
	memset(&set2, 0, sizeof(set2));
	set2.ops = &lb_rr_ops;
	set2.eps = eps2;
	set2.neps = NEPS - 1;
	set2.aff_timeout_ms = TMO;
	set2.aff_max = 100;
	aff_reg_sweep(&f.live.aff);
	ck_assert_ptr_eq(t2 = aff_reg_get(&f.live.aff, "ns/web:80/TCP", 100,
	    0, TMO), f.set.aff);
	set2.aff = t2;
	ck_assert_int_eq(lb_rr_ops.build(&set2, &f.arena, err, sizeof(err)),
	    0);
	for (i = 0; i < 16; i++) {
		struct sockaddr_storage	ss;
		int			k;

		snprintf(ip, sizeof(ip), "192.0.2.%d", i + 1);
		client4(&ss, ip);
		ck_assert_int_ge(k = pick_at(&set2, eps2, &ss, 1), 0);
		if (before[i] != gone)
			ck_assert_ptr_eq(eps2[k].live, f.eps[before[i]].live);
		else
			ck_assert_ptr_ne(eps2[k].live, f.eps[gone].live);
		/* And again: the index is cached now, same answer. */
		ck_assert_int_eq(pick_at(&set2, eps2, &ss, 2), k);
	}
	aff_unref(t2);
	afx_free(&f);
}
END_TEST

START_TEST(test_full_bound)
{
	struct afx	f;
	char		ip[32];
	int		i;

	afx_init(&f, 4);
	for (i = 0; i < 4; i++) {
		snprintf(ip, sizeof(ip), "192.0.2.%d", i + 1);
		pick(&f, ip, 0);
	}
	ck_assert_uint_eq(aff_count(f.set.aff), 4);
	/* Full: the fifth is balanced but not remembered, and counted. */
	ck_assert_int_ge(pick(&f, "198.51.100.1", 0), 0);
	ck_assert_uint_eq(aff_count(f.set.aff), 4);
	ck_assert_uint_eq(atomic_load(&f.set.aff->full), 1);
	/* Once the others expired, the room is the fifth's. */
	ck_assert_uint_eq(aff_expire(f.set.aff, TMO, TMO), 0);
	pick(&f, "198.51.100.1", TMO);
	ck_assert_uint_eq(aff_count(f.set.aff), 1);
	afx_free(&f);
}
END_TEST

START_TEST(test_v6_clients)
{
	struct afx	f;
	struct aff_key	k4, k6, km;
	struct sockaddr_storage ss;
	int		a, b, i;

	afx_init(&f, 100);
	a = pick(&f, "2001:db8::1", 0);
	b = pick(&f, "2001:db8::2", 0);
	ck_assert_int_ne(a, b);
	for (i = 0; i < 10; i++) {
		ck_assert_int_eq(pick(&f, "2001:db8::1", i), a);
		ck_assert_int_eq(pick(&f, "2001:db8::2", i), b);
	}
	/* Exact keys: v6 differing only in the last byte, a v4 client and
	   its v4-mapped form (one key). */
	client4(&ss, "192.0.2.1");
	ck_assert_int_eq(aff_key_from(&k4, (struct sockaddr *)&ss), 0);
	client6(&ss, "::ffff:192.0.2.1");
	ck_assert_int_eq(aff_key_from(&km, (struct sockaddr *)&ss), 0);
	ck_assert_int_eq(km.family, 4);
	ck_assert_mem_eq(km.addr, k4.addr, 4);
	ck_assert_uint_eq(km.hash, k4.hash);
	client6(&ss, "2001:db8::1");
	ck_assert_int_eq(aff_key_from(&k6, (struct sockaddr *)&ss), 0);
	ck_assert_int_eq(k6.family, 6);
	ck_assert_uint_eq(aff_count(f.set.aff), 2);
	afx_free(&f);
}
END_TEST

START_TEST(test_registry)
{
	struct lb_livetab	 live;
	struct aff_table	*a, *b, *c;
	struct aff_key		 k;
	struct sockaddr_storage	 ss;
	struct lb_live		*l, *got;
	uint32_t		 idx;

	lb_livetab_init(&live);
	ck_assert_ptr_nonnull(l = lb_live_get(&live, "10.0.0.1:80"));
	ck_assert_ptr_nonnull(a = aff_reg_get(&live.aff, "p/TCP", 100, 0,
	    TMO));
	client4(&ss, "192.0.2.1");
	ck_assert_int_eq(aff_key_from(&k, (struct sockaddr *)&ss), 0);
	ck_assert_int_eq(aff_put(a, &k, l, 0, 0, TMO, 100), 0);
	/* Same port, same bound: the same table (a second snapshot). */
	ck_assert_ptr_eq(b = aff_reg_get(&live.aff, "p/TCP", 100, 0, TMO), a);
	/* A bound that needs more buckets: a new table, entries kept. */
	ck_assert_ptr_nonnull(c = aff_reg_get(&live.aff, "p/TCP", 100000,
	    10, TMO));
	ck_assert_ptr_ne(c, a);
	ck_assert_int_eq(aff_get(c, &k, 10, TMO, &got, &idx), 1);
	ck_assert_ptr_eq(got, l);
	/* The snapshot with c is dropped unpublished: a is the port's
	   table again. */
	aff_unref(c);
	aff_reg_sweep(&live.aff);
	ck_assert_ptr_eq(live.aff.head, a);
	ck_assert_ptr_eq(aff_reg_get(&live.aff, "p/TCP", 100, 0, TMO), a);
	aff_unref(a);
	ck_assert_ptr_nonnull(c = aff_reg_get(&live.aff, "p/TCP", 100000,
	    10, TMO));
	ck_assert_int_eq(aff_get(c, &k, 10, TMO, &got, &idx), 1);
	/* Old snapshots gone: the next build's sweep frees a. */
	aff_unref(a);
	aff_unref(b);
	aff_reg_sweep(&live.aff);
	ck_assert_ptr_eq(live.aff.head, c);
	ck_assert_ptr_null(c->next);
	aff_unref(c);
	aff_reg_sweep(&live.aff);
	ck_assert_ptr_null(live.aff.head);
	lb_livetab_free(&live);
}
END_TEST

/* ---- two threads ---- */

#define TH_CLIENTS	1000
#define TH_ROUNDS	200

struct th_arg {
	struct afx	*f;
	int		 seen[TH_CLIENTS];	/* first pick; -1 */
	int		 moved;
};

static void *
th_run(void *p)
{
	struct th_arg		*a = p;
	struct sockaddr_storage	 ss;
	char			 ip[32];
	int			 r, i, k;

	for (i = 0; i < TH_CLIENTS; i++)
		a->seen[i] = -1;
	for (r = 0; r < TH_ROUNDS; r++)
		for (i = 0; i < TH_CLIENTS; i++) {
			snprintf(ip, sizeof(ip), "10.9.%d.%d", i / 250,
			    i % 250 + 1);
			client4(&ss, ip);
			k = pick_at(&a->f->set, a->f->eps, &ss, 1);
			/* Both threads may record a new client at once;
			   after its first round one choice holds. */
			if (r >= 2 && a->seen[i] != k)
				a->moved++;
			if (r == 1)
				a->seen[i] = k;
		}
	return NULL;
}

START_TEST(test_two_threads)
{
	struct afx		 f;
	struct th_arg		 a[2];
	pthread_t		 t[2];
	const struct aff_table	*tab;
	size_t			 i, n = 0;
	int			 j, k, m;

	afx_init(&f, 4096);
	memset(a, 0, sizeof(a));
	for (j = 0; j < 2; j++) {
		a[j].f = &f;
		ck_assert_int_eq(pthread_create(&t[j], NULL, th_run, &a[j]),
		    0);
	}
	for (j = 0; j < 2; j++)
		pthread_join(t[j], NULL);
	ck_assert_int_eq(a[0].moved, 0);
	ck_assert_int_eq(a[1].moved, 0);
	/* The table is whole: the count matches, no client twice, every
	   entry names an endpoint of the set. */
	tab = f.set.aff;
	for (i = 0; i <= tab->mask; i++)
		for (j = 0; j < AFF_WAYS; j++) {
			const struct aff_entry *e = &tab->b[i].e[j];

			if (e->family == 0)
				continue;
			n++;
			for (k = 0, m = 0; k < NEPS; k++)
				m += e->live == f.eps[k].live;
			ck_assert_int_eq(m, 1);
			for (k = j + 1; k < AFF_WAYS; k++)
				ck_assert(tab->b[i].e[k].family == 0 ||
				    memcmp(tab->b[i].e[k].addr, e->addr,
				    16) != 0);
		}
	ck_assert_uint_eq(n, TH_CLIENTS);
	ck_assert_uint_eq(aff_count(tab), TH_CLIENTS);
	for (k = 0; k < NEPS; k++)
		ck_assert_uint_eq(atomic_load(&f.eps[k].live->active), 0);
	afx_free(&f);
}
END_TEST

/*
 * Churn: two threads add, refresh, expire and reuse entries of a small
 * table as fast as they can (a short timeout on a clock both advance),
 * so that both often work on one bucket.  Afterwards the count matches
 * the entries held and no client is in its bucket twice: what a lost
 * lock would break.
 */
#define CH_CLIENTS	40
#define CH_MAX		16	/* 4 buckets: both threads meet often */
#define CH_ITER		2000000

struct ch_arg {
	struct aff_table	*t;
	struct lb_live		*live;
	struct aff_key		*keys;
	unsigned		 seed;
};

static void *
ch_run(void *p)
{
	struct ch_arg	*a = p;
	struct lb_live	*l;
	uint32_t	 idx;
	int		 i, c;

	for (i = 0; i < CH_ITER; i++) {
		a->seed = a->seed * 1103515245u + 12345u;
		c = (int)((a->seed >> 8) % CH_CLIENTS);
		if (!aff_get(a->t, &a->keys[c], i / 64, 20, &l, &idx))
			(void)aff_put(a->t, &a->keys[c], a->live, 0, i / 64,
			    20, CH_MAX);
		if (i % 4096 == 0)
			(void)aff_expire(a->t, i / 64, 20);
	}
	return NULL;
}

START_TEST(test_two_threads_churn)
{
	struct lb_livetab	 live;
	struct aff_table	*t;
	struct ch_arg		 a[2];
	struct aff_key		 keys[CH_CLIENTS];
	pthread_t		 th[2];
	size_t			 i, n = 0;
	int			 j, k;

	lb_livetab_init(&live);
	ck_assert_ptr_nonnull(t = aff_reg_get(&live.aff, "p/TCP", CH_MAX, 0,
	    20));
	for (j = 0; j < CH_CLIENTS; j++) {
		struct sockaddr_storage	ss;
		char			ip[32];

		snprintf(ip, sizeof(ip), "10.8.0.%d", j + 1);
		client4(&ss, ip);
		ck_assert_int_eq(aff_key_from(&keys[j],
		    (struct sockaddr *)&ss), 0);
	}
	for (j = 0; j < 2; j++) {
		a[j].t = t;
		a[j].keys = keys;
		a[j].seed = (unsigned)j + 1;
		ck_assert_ptr_nonnull(a[j].live = lb_live_get(&live,
		    j ? "10.0.0.2:80" : "10.0.0.1:80"));
		ck_assert_int_eq(pthread_create(&th[j], NULL, ch_run, &a[j]),
		    0);
	}
	for (j = 0; j < 2; j++)
		pthread_join(th[j], NULL);
	for (i = 0; i <= t->mask; i++)
		for (j = 0; j < AFF_WAYS; j++) {
			const struct aff_entry *e = &t->b[i].e[j];

			if (e->family == 0)
				continue;
			n++;
			for (k = j + 1; k < AFF_WAYS; k++)
				ck_assert_msg(t->b[i].e[k].family == 0 ||
				    memcmp(t->b[i].e[k].addr, e->addr, 16) !=
				    0, "a client twice in bucket %zu", i);
		}
	ck_assert_uint_eq(aff_count(t), n);
	ck_assert_uint_le(n, CH_MAX);
	aff_unref(t);
	lb_livetab_free(&live);
}
END_TEST

/* The memory an entry costs, for the report (bench/ has no C). */
START_TEST(test_sizes)
{
	size_t b = aff_buckets_for(AFF_DEFAULT_MAX);

	fprintf(stderr, "affinity: entry %zu bytes, bucket %zu bytes; "
	    "max %u: %zu buckets, %zu bytes, %.1f bytes per entry at max\n",
	    sizeof(struct aff_entry), sizeof(struct aff_bucket),
	    AFF_DEFAULT_MAX, b, b * sizeof(struct aff_bucket),
	    (double)(b * sizeof(struct aff_bucket)) / AFF_DEFAULT_MAX);
	ck_assert_uint_eq(sizeof(struct aff_entry), 40);
	ck_assert_uint_ge(b * (AFF_WAYS / 2), AFF_DEFAULT_MAX);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("affinity");
	TCase	*tc = tcase_create("affinity");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_kept);
	tcase_add_test(tc, test_expires_after_last_use);
	tcase_add_test(tc, test_down_gives_fresh_choice);
	tcase_add_test(tc, test_policy_and_drain);
	tcase_add_test(tc, test_retry_replaces);
	tcase_add_test(tc, test_reload_keeps_remaining);
	tcase_add_test(tc, test_full_bound);
	tcase_add_test(tc, test_v6_clients);
	tcase_add_test(tc, test_registry);
	tcase_add_test(tc, test_two_threads);
	tcase_add_test(tc, test_two_threads_churn);
	tcase_add_test(tc, test_sizes);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
