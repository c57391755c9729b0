/*
 * udp_flow.c: the UDP flow table, pure: keys, insert, lookup, removal,
 * idle order (the next to expire is always the head) and the bound.
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
		udp_flow_insert(&t, &f[i], i);
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

START_TEST(test_expiry_order)
{
	struct udp_flow		f[4];
	struct udp_flow_tab	t;
	unsigned		i;

	ck_assert_int_eq(udp_flow_tab_init(&t, 4, 1), 0);
	for (i = 0; i < 4; i++) {
		key_i(&f[i].key, i);
		udp_flow_insert(&t, &f[i], 100 + i);	/* 100..103 */
	}
	/* Nothing idle 10 ms at 105. */
	ck_assert_ptr_null(udp_flow_expired(&t, 105, 10));
	/* f[0] used again at 108: f[1] is now the oldest. */
	udp_flow_touch(&t, &f[0], 108);
	ck_assert_ptr_eq(udp_flow_expired(&t, 111, 10), &f[1]);
	udp_flow_remove(&t, &f[1]);
	ck_assert_ptr_eq(udp_flow_expired(&t, 112, 10), &f[2]);
	udp_flow_remove(&t, &f[2]);
	ck_assert_ptr_null(udp_flow_expired(&t, 112, 10));	/* f[3]: 103 */
	ck_assert_ptr_eq(udp_flow_expired(&t, 113, 10), &f[3]);
	udp_flow_remove(&t, &f[3]);
	ck_assert_ptr_null(udp_flow_expired(&t, 117, 10));
	ck_assert_ptr_eq(udp_flow_expired(&t, 118, 10), &f[0]);
	udp_flow_remove(&t, &f[0]);
	ck_assert_ptr_null(udp_flow_expired(&t, 100000, 10));
	ck_assert_uint_eq(t.n, 0);
	ck_assert_ptr_null(t.ihead);
	ck_assert_ptr_null(t.itail);
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
		udp_flow_insert(&t, &f[i], 0);
	}
	ck_assert(udp_flow_full(&t));
	/* The bound may move at run time (a reload): the table follows. */
	t.max = 3;
	ck_assert(!udp_flow_full(&t));
	key_i(&f[2].key, 2);
	udp_flow_insert(&t, &f[2], 0);
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
	tcase_add_test(tc, test_bound);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(udp_flow_suite());
}
