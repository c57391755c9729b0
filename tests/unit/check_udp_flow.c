/*
 * udp_flow.c: the UDP flow table, pure: keys, insert, lookup, removal,
 * idle order with a timeout per flow (each expires at its own time,
 * the sweep touching only what expires) and the bound.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

#include "udp_flow.h"
#include "unit.h"

static struct sockaddr_in
sin4(const char *a, uint16_t port)
{
	struct sockaddr_in s;

	memset(&s, 0, sizeof(s));
	s.sin_family = AF_INET;
	s.sin_port = htons(port);
	inet_pton(AF_INET, a, &s.sin_addr);
	return s;
}

static struct sockaddr_in6
sin6(const char *a, uint16_t port)
{
	struct sockaddr_in6 s;

	memset(&s, 0, sizeof(s));
	s.sin6_family = AF_INET6;
	s.sin6_port = htons(port);
	inet_pton(AF_INET6, a, &s.sin6_addr);
	return s;
}

/* Flow i: client 10.0.x.y:i, local 10.96.0.1:53. */
static void
key_i(struct udp_key *k, unsigned i)
{
	struct sockaddr_in	c, l = sin4("10.96.0.1", 53);
	char			a[32];

	snprintf(a, sizeof(a), "10.0.%u.%u", (i >> 8) & 255, i & 255);
	c = sin4(a, (uint16_t)(1000 + i));
	ck_assert_int_eq(udp_key_make(k, (struct sockaddr *)&c,
	    (struct sockaddr *)&l), 0);
}

START_TEST(test_key)
{
	struct sockaddr_in	c = sin4("10.0.0.1", 5000);
	struct sockaddr_in	l1 = sin4("10.96.0.1", 53);
	struct sockaddr_in	l2 = sin4("10.96.0.2", 53);
	struct sockaddr_in6	c6 = sin6("fd00::1", 5000);
	struct sockaddr_in6	l6 = sin6("fd00::53", 53);
	struct udp_key		a, b;

	ck_assert_int_eq(udp_key_make(&a, (struct sockaddr *)&c,
	    (struct sockaddr *)&l1), 0);
	ck_assert_int_eq(udp_key_make(&b, (struct sockaddr *)&c,
	    (struct sockaddr *)&l1), 0);
	ck_assert_int_eq(memcmp(&a, &b, sizeof(a)), 0);
	/* Another local address is another flow. */
	ck_assert_int_eq(udp_key_make(&b, (struct sockaddr *)&c,
	    (struct sockaddr *)&l2), 0);
	ck_assert_int_ne(memcmp(&a, &b, sizeof(a)), 0);
	ck_assert_int_eq(udp_key_make(&b, (struct sockaddr *)&c6,
	    (struct sockaddr *)&l6), 0);
	ck_assert_uint_eq(b.family, AF_INET6);
	ck_assert_int_ne(memcmp(&a, &b, sizeof(a)), 0);
	/* Families must agree. */
	ck_assert_int_eq(udp_key_make(&b, (struct sockaddr *)&c,
	    (struct sockaddr *)&l6), -1);
}
END_TEST

START_TEST(test_insert_find_remove)
{
	static struct udp_flow	f[3000];
	struct udp_flow_tab	t;
	struct udp_key		k;
	unsigned		i;

	ck_assert_int_eq(udp_flow_tab_init(&t, 3000, 42), 0);
	for (i = 0; i < 3000; i++) {
		key_i(&f[i].key, i);
		ck_assert_ptr_null(udp_flow_find(&t, &f[i].key));
		ck_assert_int_eq(udp_flow_insert(&t, &f[i], i, 1000), 0);
	}
	ck_assert_uint_eq(t.n, 3000);
	ck_assert(udp_flow_full(&t));
	for (i = 0; i < 3000; i++) {
		key_i(&k, i);
		ck_assert_ptr_eq(udp_flow_find(&t, &k), &f[i]);
	}
	for (i = 0; i < 3000; i += 2)
		udp_flow_remove(&t, &f[i]);
	ck_assert_uint_eq(t.n, 1500);
	ck_assert(!udp_flow_full(&t));
	for (i = 0; i < 3000; i++) {
		key_i(&k, i);
		ck_assert_ptr_eq(udp_flow_find(&t, &k), i % 2 ? &f[i] : NULL);
	}
	udp_flow_tab_free(&t);
}
END_TEST

/* The expire callback: records the order, removes the flow. */
struct exp_log {
	struct udp_flow_tab	*t;
	struct udp_flow		*base;
	unsigned		 got[16];
	unsigned		 n;
	unsigned		 calls;
};

static void
exp_cb(struct udp_flow *f, void *arg)
{
	struct exp_log *e = arg;

	e->calls++;
	if (e->n < 16)
		e->got[e->n++] = (unsigned)(f - e->base);
	udp_flow_remove(e->t, f);
}

/* Expire at now; returns how many, e->got[] lists them. */
static size_t
expire_at(struct exp_log *e, uint64_t now)
{
	e->n = 0;
	return udp_flow_expire(e->t, now, exp_cb, e);
}

START_TEST(test_expiry_order)
{
	struct udp_flow		f[4];
	struct udp_flow_tab	t;
	struct exp_log		e = { &t, f, { 0 }, 0, 0 };
	unsigned		i;

	ck_assert_int_eq(udp_flow_tab_init(&t, 4, 1), 0);
	for (i = 0; i < 4; i++) {
		key_i(&f[i].key, i);
		ck_assert_int_eq(udp_flow_insert(&t, &f[i], 100 + i, 10), 0);
	}
	/* Nothing idle 10 ms at 105. */
	ck_assert_uint_eq(expire_at(&e, 105), 0);
	/* f[0] used again at 108: f[1] is now the oldest. */
	udp_flow_touch(&t, &f[0], 108);
	ck_assert_uint_eq(expire_at(&e, 111), 1);
	ck_assert_uint_eq(e.got[0], 1);
	ck_assert_uint_eq(expire_at(&e, 112), 1);
	ck_assert_uint_eq(e.got[0], 2);
	ck_assert_uint_eq(expire_at(&e, 112), 0);	/* f[3]: 103 */
	ck_assert_uint_eq(expire_at(&e, 117), 1);
	ck_assert_uint_eq(e.got[0], 3);
	ck_assert_uint_eq(expire_at(&e, 118), 1);
	ck_assert_uint_eq(e.got[0], 0);
	ck_assert_uint_eq(expire_at(&e, 100000), 0);
	ck_assert_uint_eq(t.n, 0);
	/* The empty list is gone with the sweep. */
	ck_assert_ptr_null(t.lists);
	ck_assert_ptr_null(udp_flow_any(&t));
	udp_flow_tab_free(&t);
}
END_TEST

/*
 * Flows of different timeouts, interleaved: each expires at its own
 * time, not in LRU order (a long-timeout flow idle longest must not
 * hold back a short one used later, nor be expired with it).
 */
START_TEST(test_expiry_per_timeout)
{
	struct udp_flow		f[6];
	struct udp_flow_tab	t;
	struct exp_log		e = { &t, f, { 0 }, 0, 0 };
	unsigned		i;

	ck_assert_int_eq(udp_flow_tab_init(&t, 6, 3), 0);
	/* f0 (1000 ms) at 0, f1 (100 ms) at 10, f2 (1000) at 20, f3 (100)
	   at 30, f4 (500) at 40, f5 (100) at 50. */
	for (i = 0; i < 6; i++) {
		key_i(&f[i].key, i);
		ck_assert_int_eq(udp_flow_insert(&t, &f[i], 10 * i,
		    i % 2 ? 100 : i == 4 ? 500 : 1000), 0);
	}
	ck_assert_uint_eq(udp_flow_timeout(&f[4]), 500);
	ck_assert_uint_eq(expire_at(&e, 109), 0);
	ck_assert_uint_eq(expire_at(&e, 130), 2);	/* f1, f3 */
	ck_assert_uint_eq(e.got[0], 1);
	ck_assert_uint_eq(e.got[1], 3);
	udp_flow_touch(&t, &f[5], 140);
	ck_assert_uint_eq(expire_at(&e, 239), 0);
	ck_assert_uint_eq(expire_at(&e, 540), 2);	/* f5, f4 */
	ck_assert(e.got[0] + e.got[1] == 9 && (e.got[0] == 4 ||
	    e.got[0] == 5));
	ck_assert_uint_eq(expire_at(&e, 999), 0);
	ck_assert_uint_eq(expire_at(&e, 1020), 2);	/* f0, f2 */
	ck_assert_uint_eq(e.got[0], 0);
	ck_assert_uint_eq(e.got[1], 2);
	ck_assert_uint_eq(t.n, 0);
	ck_assert_ptr_null(t.lists);
	udp_flow_tab_free(&t);
}
END_TEST

/*
 * 10,000 live flows on 30 s and 60 s timeouts, idle longer than one
 * 100 ms flow that is due: the sweep calls back for exactly that one
 * (one LRU order across timeouts would find a live flow at its head
 * and stop before it).
 */
START_TEST(test_expiry_cost)
{
	static struct udp_flow	f[10001];
	struct udp_flow_tab	t;
	struct exp_log		e = { &t, f, { 0 }, 0, 0 };
	unsigned		i;

	ck_assert_int_eq(udp_flow_tab_init(&t, 10001, 5), 0);
	key_i(&f[10000].key, 10000);
	ck_assert_int_eq(udp_flow_insert(&t, &f[10000], 500, 100), 0);
	for (i = 0; i < 10000; i++) {
		key_i(&f[i].key, i);
		ck_assert_int_eq(udp_flow_insert(&t, &f[i], i % 7,
		    i % 2 ? 30000 : 60000), 0);
	}
	ck_assert_uint_eq(expire_at(&e, 600), 1);
	ck_assert_uint_eq(e.calls, 1);
	ck_assert_uint_eq(e.got[0], 10000);
	ck_assert_uint_eq(t.n, 10000);
	udp_flow_tab_free(&t);
}
END_TEST

/* A reload changes a flow's timeout: it moves, keeping its idle time. */
START_TEST(test_set_timeout)
{
	struct udp_flow		f[4];
	struct udp_flow_tab	t;
	struct exp_log		e = { &t, f, { 0 }, 0, 0 };
	unsigned		i;

	ck_assert_int_eq(udp_flow_tab_init(&t, 4, 9), 0);
	for (i = 0; i < 4; i++) {
		key_i(&f[i].key, i);
		ck_assert_int_eq(udp_flow_insert(&t, &f[i], 100 * i,
		    i < 3 ? 1000 : 50), 0);
	}
	/* f1 (last used 100) joins f3's 50 ms list, which holds f3 (300):
	   it goes before f3, so the head stays the oldest. */
	ck_assert_int_eq(udp_flow_set_timeout(&t, &f[1], 50), 0);
	ck_assert_uint_eq(udp_flow_timeout(&f[1]), 50);
	ck_assert_int_eq(udp_flow_set_timeout(&t, &f[1], 50), 0);
	ck_assert_uint_eq(expire_at(&e, 160), 1);
	ck_assert_uint_eq(e.got[0], 1);
	ck_assert_uint_eq(expire_at(&e, 360), 1);
	ck_assert_uint_eq(e.got[0], 3);
	/* f0 (used at 0) and f2 (200) still wait for 1000 ms. */
	ck_assert_uint_eq(expire_at(&e, 999), 0);
	ck_assert_uint_eq(expire_at(&e, 1200), 2);
	ck_assert_uint_eq(t.n, 0);
	udp_flow_tab_free(&t);
}
END_TEST

static void
walk_cb(struct udp_flow *f, void *arg)
{
	struct exp_log *e = arg;

	e->calls++;
	/* Remove every other flow while walking. */
	if ((f - e->base) % 2 == 0)
		udp_flow_remove(e->t, f);
}

START_TEST(test_walk)
{
	struct udp_flow		f[8];
	struct udp_flow_tab	t;
	struct exp_log		e = { &t, f, { 0 }, 0, 0 };
	unsigned		i;

	ck_assert_int_eq(udp_flow_tab_init(&t, 8, 11), 0);
	for (i = 0; i < 8; i++) {
		key_i(&f[i].key, i);
		ck_assert_int_eq(udp_flow_insert(&t, &f[i], i, 10 + i % 3),
		    0);
	}
	udp_flow_walk(&t, walk_cb, &e);
	ck_assert_uint_eq(e.calls, 8);
	ck_assert_uint_eq(t.n, 4);
	while (udp_flow_any(&t) != NULL)
		udp_flow_remove(&t, udp_flow_any(&t));
	ck_assert_uint_eq(t.n, 0);
	udp_flow_tab_free(&t);
}
END_TEST

START_TEST(test_bound)
{
	struct udp_flow		f[3];
	struct udp_flow_tab	t;
	unsigned		i;

	ck_assert_int_eq(udp_flow_tab_init(&t, 2, 7), 0);
	for (i = 0; i < 2; i++) {
		ck_assert(!udp_flow_full(&t));
		key_i(&f[i].key, i);
		ck_assert_int_eq(udp_flow_insert(&t, &f[i], 0, 1000), 0);
	}
	ck_assert(udp_flow_full(&t));
	/* The bound may move at run time (a reload): the table follows. */
	t.max = 3;
	ck_assert(!udp_flow_full(&t));
	key_i(&f[2].key, 2);
	ck_assert_int_eq(udp_flow_insert(&t, &f[2], 0, 1000), 0);
	ck_assert(udp_flow_full(&t));
	t.max = 1;
	ck_assert(udp_flow_full(&t));
	udp_flow_tab_free(&t);
}
END_TEST

static Suite *
udp_flow_suite(void)
{
	Suite	*s = suite_create("udp_flow");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_key);
	tcase_add_test(tc, test_insert_find_remove);
	tcase_add_test(tc, test_expiry_order);
	tcase_add_test(tc, test_expiry_per_timeout);
	tcase_add_test(tc, test_expiry_cost);
	tcase_add_test(tc, test_set_timeout);
	tcase_add_test(tc, test_walk);
	tcase_add_test(tc, test_bound);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(udp_flow_suite());
}
