/* netaddr: strict parsing, CIDR containment, allocation arithmetic. */
#include "config.h"

#include <check.h>
#include <string.h>
#include <arpa/inet.h>

#include "netaddr.h"
#include "unit.h"

START_TEST(test_parse_strict)
{
	struct ipaddr	a;
	char		buf[NETADDR_STRLEN];

	ck_assert_int_eq(ipaddr_parse("127.0.0.1", &a), 0);
	ck_assert_int_eq(a.family, AF_INET);
	ck_assert_str_eq(ipaddr_format(&a, buf), "127.0.0.1");
	ck_assert_int_eq(ipaddr_parse("::1", &a), 0);
	ck_assert_int_eq(a.family, AF_INET6);
	ck_assert_int_eq(ipaddr_is_loopback(&a), 1);
	ck_assert_int_eq(ipaddr_parse("010.0.0.1", &a), -1);
	ck_assert_int_eq(ipaddr_parse("1.2.3", &a), -1);
	ck_assert_int_eq(ipaddr_parse("1.2.3.4 ", &a), -1);
	ck_assert_int_eq(ipaddr_parse("fe80::1%eth0", &a), -1);
	ck_assert_int_eq(ipaddr_parse("", &a), -1);
	ck_assert_int_eq(ipaddr_parse(NULL, &a), -1);
}
END_TEST

START_TEST(test_cidr)
{
	struct cidr	c, inner;
	struct ipaddr	a;

	ck_assert_int_eq(cidr_parse("10.0.0.0/8", &c, 1), 0);
	ck_assert_int_eq(c.prefix, 8);
	ipaddr_parse("10.255.1.2", &a);
	ck_assert_int_eq(cidr_contains(&c, &a), 1);
	ipaddr_parse("11.0.0.1", &a);
	ck_assert_int_eq(cidr_contains(&c, &a), 0);
	ipaddr_parse("::ffff:10.0.0.1", &a);
	ck_assert_int_eq(cidr_contains(&c, &a), 0);
	ck_assert_int_eq(cidr_parse("10.0.0.1/8", &c, 1), -1);
	ck_assert_int_eq(cidr_parse("10.0.0.1/8", &c, 0), 0);
	ck_assert_int_eq(cidr_parse("10.0.0.0/33", &c, 0), -1);
	ck_assert_int_eq(cidr_parse("10.0.0.0/08", &c, 0), -1);
	ck_assert_int_eq(cidr_parse("10.0.0.0", &c, 0), -1);
	ck_assert_int_eq(cidr_parse("fd00::/108", &c, 1), 0);
	ck_assert_int_eq(cidr_parse("0.0.0.0/0", &c, 1), 0);
	ipaddr_parse("8.8.8.8", &a);
	ck_assert_int_eq(cidr_contains(&c, &a), 1);
	cidr_parse("10.0.0.0/8", &c, 1);
	cidr_parse("10.1.0.0/16", &inner, 1);
	ck_assert_int_eq(cidr_within(&inner, &c), 1);
	ck_assert_int_eq(cidr_within(&c, &inner), 0);
}
END_TEST

START_TEST(test_nth_and_size)
{
	struct cidr	c;
	struct ipaddr	a;
	char		buf[NETADDR_STRLEN];

	cidr_parse("10.96.0.0/12", &c, 1);
	ck_assert_uint_eq(cidr_size(&c), 1u << 20);
	cidr_nth(&c, 257, &a);
	ck_assert_str_eq(ipaddr_format(&a, buf), "10.96.1.1");
	cidr_nth(&c, (1u << 20) - 1, &a);
	ck_assert_str_eq(ipaddr_format(&a, buf), "10.111.255.255");
	cidr_parse("fd00::/64", &c, 1);
	ck_assert(cidr_size(&c) == (uint64_t)1 << 63);
	cidr_nth(&c, 0x10001, &a);
	ck_assert_str_eq(ipaddr_format(&a, buf), "fd00::1:1");
}
END_TEST

START_TEST(test_classes)
{
	struct ipaddr a;

	ipaddr_parse("169.254.1.1", &a);
	ck_assert_int_eq(ipaddr_is_link_local(&a), 1);
	ipaddr_parse("fe80::1", &a);
	ck_assert_int_eq(ipaddr_is_link_local(&a), 1);
	ipaddr_parse("224.0.0.1", &a);
	ck_assert_int_eq(ipaddr_is_multicast(&a), 1);
	ipaddr_parse("0.0.0.0", &a);
	ck_assert_int_eq(ipaddr_is_unspecified(&a), 1);
	ipaddr_parse("::", &a);
	ck_assert_int_eq(ipaddr_is_unspecified(&a), 1);
	ipaddr_parse("127.9.8.7", &a);
	ck_assert_int_eq(ipaddr_is_loopback(&a), 1);
}
END_TEST

START_TEST(test_sockaddr_roundtrip)
{
	struct sockaddr_storage	ss;
	struct ipaddr		a, b;
	uint16_t		port;
	struct sockaddr_in6	mapped;

	ipaddr_parse("127.0.0.2", &a);
	ck_assert_uint_eq(ipaddr_sockaddr(&a, 8080, &ss),
	    sizeof(struct sockaddr_in));
	ipaddr_from_sockaddr((struct sockaddr *)&ss, &b, &port);
	ck_assert_int_eq(ipaddr_equal(&a, &b), 1);
	ck_assert_uint_eq(port, 8080);
	/* A v4-mapped peer of a v6 socket is an IPv4 client. */
	memset(&mapped, 0, sizeof(mapped));
	mapped.sin6_family = AF_INET6;
	mapped.sin6_port = htons(99);
	inet_pton(AF_INET6, "::ffff:127.0.0.9", &mapped.sin6_addr);
	ipaddr_from_sockaddr((struct sockaddr *)&mapped, &b, &port);
	ipaddr_parse("127.0.0.9", &a);
	ck_assert_int_eq(ipaddr_equal(&a, &b), 1);
}
END_TEST

START_TEST(test_hostport)
{
	struct ipaddr	a;
	uint16_t	p;

	ck_assert_int_eq(netaddr_parse_hostport("127.0.0.1:9180", &a, &p), 0);
	ck_assert_uint_eq(p, 9180);
	ck_assert_int_eq(netaddr_parse_hostport("[::1]:65535", &a, &p), 0);
	ck_assert_uint_eq(p, 65535);
	ck_assert_int_eq(netaddr_parse_hostport("[127.0.0.1]:80", &a, &p), -1);
	ck_assert_int_eq(netaddr_parse_hostport("127.0.0.1:65536", &a, &p), -1);
	ck_assert_int_eq(netaddr_parse_hostport("127.0.0.1:-1", &a, &p), -1);
	ck_assert_int_eq(netaddr_parse_hostport("127.0.0.1", &a, &p), -1);
	ck_assert_int_eq(netaddr_parse_hostport(":80", &a, &p), -1);
	ck_assert_int_eq(netaddr_parse_hostport("[::1]80", &a, &p), -1);
	ck_assert_int_eq(netaddr_parse_hostport("localhost:80", &a, &p), -1);
	ck_assert_int_eq(netaddr_parse_hostport("1.2.3.4:", &a, &p), -1);
}
END_TEST

START_TEST(test_format_hostport)
{
	struct sockaddr_storage	ss;
	struct sockaddr_in6	mapped;
	struct ipaddr		a;
	char			buf[NETADDR_HOSTPORTLEN];

	ipaddr_parse("127.0.0.1", &a);
	ck_assert_str_eq(ipaddr_format_hostport(&a, 80, buf, sizeof(buf)),
	    "127.0.0.1:80");
	ipaddr_parse("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", &a);
	ck_assert_str_eq(ipaddr_format_hostport(&a, 65535, buf, sizeof(buf)),
	    "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
	memset(&a, 0, sizeof(a));
	ck_assert_str_eq(ipaddr_format_hostport(&a, 30080, buf, sizeof(buf)),
	    "*:30080");
	ipaddr_parse("::1", &a);
	ipaddr_sockaddr(&a, 8080, &ss);
	ck_assert_str_eq(ipaddr_format_sockaddr((struct sockaddr *)&ss, buf,
	    sizeof(buf)), "[::1]:8080");
	memset(&mapped, 0, sizeof(mapped));
	mapped.sin6_family = AF_INET6;
	mapped.sin6_port = htons(99);
	inet_pton(AF_INET6, "::ffff:127.0.0.9", &mapped.sin6_addr);
	ck_assert_str_eq(ipaddr_format_sockaddr((struct sockaddr *)&mapped,
	    buf, sizeof(buf)), "127.0.0.9:99");
}
END_TEST

static Suite *
netaddr_suite(void)
{
	Suite	*s = suite_create("netaddr");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_parse_strict);
	tcase_add_test(tc, test_cidr);
	tcase_add_test(tc, test_nth_and_size);
	tcase_add_test(tc, test_classes);
	tcase_add_test(tc, test_sockaddr_roundtrip);
	tcase_add_test(tc, test_hostport);
	tcase_add_test(tc, test_format_hostport);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(netaddr_suite());
}
