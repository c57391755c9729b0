/*
 * extname_conf.c: the pure rules of ExternalName proxying: a record's
 * TTL clamped, the back-off after failures, answers put in order and
 * compared, resolv.conf's nameservers, and the model a snapshot is
 * built from with the answers as endpoints.
 */
#include "config.h"

#include <string.h>

#include "extname_conf.h"
#include "res.h"
#include "unit.h"

static struct ipaddr
ip(const char *s)
{
	struct ipaddr a;

	ck_assert_int_eq(ipaddr_parse(s, &a), 0);
	return a;
}

START_TEST(test_ttl_clamp)
{
	ck_assert_uint_eq(xn_ttl_clamp(0, 1000, 300000), 1000);
	ck_assert_uint_eq(xn_ttl_clamp(-5, 1000, 300000), 1000);
	ck_assert_uint_eq(xn_ttl_clamp(1, 1000, 300000), 1000);
	ck_assert_uint_eq(xn_ttl_clamp(30, 1000, 300000), 30000);
	ck_assert_uint_eq(xn_ttl_clamp(86400, 1000, 300000), 300000);
	/* No overflow for the largest TTL DNS allows (2^31 - 1). */
	ck_assert_uint_eq(xn_ttl_clamp(2147483647, 1000, 300000), 300000);
	ck_assert_uint_eq(xn_ttl_clamp(3, 5000, 10000), 5000);
}
END_TEST

START_TEST(test_retry)
{
	ck_assert_uint_eq(xn_retry_ms(1, 300000), 1000);
	ck_assert_uint_eq(xn_retry_ms(2, 300000), 2000);
	ck_assert_uint_eq(xn_retry_ms(3, 300000), 4000);
	ck_assert_uint_eq(xn_retry_ms(5, 300000), 16000);
	ck_assert_uint_eq(xn_retry_ms(6, 300000), XN_RETRY_MAX_MS);
	ck_assert_uint_eq(xn_retry_ms(1000, 300000), XN_RETRY_MAX_MS);
	/* A short maxTTL asks for quick retries too. */
	ck_assert_uint_eq(xn_retry_ms(4, 2000), 2000);
}
END_TEST

START_TEST(test_answer_diff)
{
	struct ipaddr	a[4], b[3], want;
	size_t		na, nb;

	a[0] = ip("10.0.0.2");
	a[1] = ip("2001:db8::1");
	a[2] = ip("10.0.0.1");
	a[3] = ip("10.0.0.2");		/* a repeat */
	na = xn_addrs_norm(a, 4);
	ck_assert_uint_eq(na, 3);
	want = ip("10.0.0.1");
	ck_assert_int_eq(ipaddr_cmp(&a[0], &want), 0);
	b[0] = ip("2001:db8::1");
	b[1] = ip("10.0.0.1");
	b[2] = ip("10.0.0.2");
	nb = xn_addrs_norm(b, 3);
	/* The same set in another order is no change. */
	ck_assert(xn_addrs_equal(a, na, b, nb));
	b[2] = ip("10.0.0.3");
	nb = xn_addrs_norm(b, 3);
	ck_assert(!xn_addrs_equal(a, na, b, nb));
	ck_assert(!xn_addrs_equal(a, na, b, 2));
	ck_assert(xn_addrs_equal(NULL, 0, NULL, 0));
}
END_TEST

START_TEST(test_resolv_conf)
{
	static const char text[] =
	    "# generated\n"
	    "search example.com\n"
	    "nameserver 10.0.0.53\n"
	    "  nameserver\t::1   # local\n"
	    "nameserver bad\n"
	    "nameserverX 1.2.3.4\n"
	    "nameserver fe80::1%eth0\n"
	    "options ndots:5\n"
	    "nameserver 192.0.2.53#glibc cuts at # and ;\n"
	    "nameserver 127.0.0.53";	/* no final newline */
	struct ipaddr	ns[8], want;
	uint16_t	port[8];
	size_t		n;

	n = xn_resolv_parse(text, ns, port, 8);
	ck_assert_uint_eq(n, 4);
	want = ip("10.0.0.53");
	ck_assert_int_eq(ipaddr_cmp(&ns[0], &want), 0);
	want = ip("::1");
	ck_assert_int_eq(ipaddr_cmp(&ns[1], &want), 0);
	want = ip("192.0.2.53");
	ck_assert_int_eq(ipaddr_cmp(&ns[2], &want), 0);
	want = ip("127.0.0.53");
	ck_assert_int_eq(ipaddr_cmp(&ns[3], &want), 0);
	ck_assert_uint_eq(port[0], 53);
	ck_assert_uint_eq(port[2], 53);
	/* The bound holds. */
	ck_assert_uint_eq(xn_resolv_parse(text, ns, port, 2), 2);
	ck_assert_uint_eq(xn_resolv_parse("", ns, port, 8), 0);
}
END_TEST

/* The test's table: one name, two addresses. */
static const struct ipaddr *
lookup(const char *name, size_t *n, void *arg)
{
	static struct ipaddr a[2];

	(void)arg;
	if (strcmp(name, "db.example.com") != 0) {
		*n = 0;
		return NULL;
	}
	a[0] = ip("192.0.2.1");
	a[1] = ip("2001:db8::7");
	*n = 2;
	return a;
}

START_TEST(test_overlay)
{
	struct res_model	m, out;
	struct res_service	svc[3];
	struct res_port		xp[2], np[1];
	struct res_endpoint	ne[1];
	int			any;

	memset(&m, 0, sizeof(m));
	memset(svc, 0, sizeof(svc));
	memset(xp, 0, sizeof(xp));
	memset(np, 0, sizeof(np));
	memset(ne, 0, sizeof(ne));
	xp[0].port = 443;
	xp[0].target_port.num = 8443;
	xp[1].port = 53;
	xp[1].proto = PROTO_UDP;
	xp[1].target_port.num = 53;
	svc[0].xn_proxy = svc[0].proxied = 1;
	svc[0].external_name = "db.example.com";
	svc[0].ports = xp;
	svc[0].nports = 2;
	ne[0].addr = ip("10.0.0.1");
	ne[0].port = 80;
	ne[0].usable = 1;
	np[0].endpoints = ne;
	np[0].nendpoints = 1;
	svc[1].proxied = 1;
	svc[1].ports = np;
	svc[1].nports = 1;
	svc[2].xn_proxy = 1;		/* a name the table has not */
	svc[2].external_name = "gone.example.com";
	svc[2].ports = np;
	svc[2].nports = 0;
	m.services = svc;
	m.nservices = 3;

	ck_assert_int_eq(xn_overlay(&m, lookup, NULL, &out, &any), 0);
	ck_assert(any);
	ck_assert_uint_eq(out.nservices, 3);
	ck_assert_ptr_ne(out.services, svc);
	ck_assert_uint_eq(out.services[0].ports[0].nendpoints, 2);
	ck_assert_uint_eq(out.services[0].ports[0].nusable, 2);
	ck_assert_uint_eq(out.services[0].ports[0].endpoints[0].port, 8443);
	ck_assert(out.services[0].ports[0].endpoints[1].usable);
	ck_assert_uint_eq(out.services[0].ports[0].endpoints[1].addr.family,
	    AF_INET6);
	ck_assert_uint_eq(out.services[0].ports[1].endpoints[0].port, 53);
	ck_assert_uint_eq(out.services[0].ports[1].endpoints[0].weight, 1);
	/* Other Services are the model's; the model is not changed. */
	ck_assert_ptr_eq(out.services[1].ports, np);
	ck_assert_uint_eq(xp[0].nendpoints, 0);
	ck_assert_ptr_eq(svc[0].ports, xp);
	xn_overlay_free(&out, any);

	/* No proxied ExternalName: the model itself, nothing to free. */
	m.services = &svc[1];
	m.nservices = 1;
	ck_assert_int_eq(xn_overlay(&m, lookup, NULL, &out, &any), 0);
	ck_assert(!any);
	ck_assert_ptr_eq(out.services, &svc[1]);
	xn_overlay_free(&out, any);
}
END_TEST

static Suite *
extname_suite(void)
{
	Suite	*s = suite_create("extname");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_ttl_clamp);
	tcase_add_test(tc, test_retry);
	tcase_add_test(tc, test_answer_diff);
	tcase_add_test(tc, test_resolv_conf);
	tcase_add_test(tc, test_overlay);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(extname_suite());
}
