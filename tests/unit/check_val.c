/*
 * val: shared rules, durations, metadata, ProxyConfig, Namespaces and
 * kubectl's own output.  Services are in check_val_service.c, the
 * other kinds in check_val_kinds.c.  Every input goes the real way:
 * YAML text -> load_buffer() -> load_finish() -> val_all().
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_val.h"
#include "kobj.h"
#include "unit.h"

/* ---- helpers ---- */

void
vt_run(struct vt *t, const char *yaml)
{
	memset(t, 0, sizeof(*t));
	if (unit_load(&t->set, &t->dl, yaml) != 0 || t->dl.nerr != 0) {
		unit_dump(&t->dl);
		ck_abort_msg("input did not load cleanly");
	}
	t->nerr = val_all(&t->set, &t->pcfg, &t->dl);
}

void
vt_free(struct vt *t)
{
	unit_free(&t->set, &t->dl);
}

const struct diag *
vt_find(const struct vt *t, const char *field, enum diag_severity sev)
{
	size_t i;

	for (i = 0; i < t->dl.n; i++)
		if (t->dl.v[i].sev == sev &&
		    strcmp(t->dl.v[i].field, field) == 0)
			return &t->dl.v[i];
	return NULL;
}

const struct diag *
vt_expect(const struct vt *t, const char *field, enum diag_severity sev,
    enum diag_type type, const char *bad, const char *detail)
{
	const struct diag *d = vt_find(t, field, sev);

	if (d == NULL) {
		unit_dump(&t->dl);
		ck_abort_msg("no %s at %s", sev == DIAG_ERROR ? "error" :
		    "warning", field);
	}
	ck_assert_str_eq(diag_reason(d->type), diag_reason(type));
	if (bad != NULL) {
		ck_assert_ptr_nonnull(d->bad);
		ck_assert_str_eq(d->bad, bad);
	}
	if (detail != NULL && strstr(d->detail, detail) == NULL)
		ck_abort_msg("detail \"%s\" lacks \"%s\"", d->detail, detail);
	return d;
}

void
vt_clean(const struct vt *t)
{
	if (t->dl.n != 0) {
		unit_dump(&t->dl);
		ck_abort_msg("expected no diagnostics, got %zu", t->dl.n);
	}
	ck_assert_uint_eq(t->nerr, 0);
}

const char *
vt_svc(const char *spec)
{
	static char	 buf[8192];
	const char	*p;
	size_t		 n;

	n = (size_t)snprintf(buf, sizeof(buf), "apiVersion: v1\n"
	    "kind: Service\nmetadata:\n  name: web\nspec:\n");
	for (p = spec; *p != '\0' && n < sizeof(buf) - 4; ) {
		buf[n++] = ' ';
		buf[n++] = ' ';
		while (*p != '\0' && *p != '\n' && n < sizeof(buf) - 2)
			buf[n++] = *p++;
		if (*p == '\n')
			p++;
		buf[n++] = '\n';
	}
	buf[n] = '\0';
	return buf;
}

/* ---- durations ---- */

START_TEST(test_duration)
{
	static const struct {
		const char	*s;
		int		 rc;
		uint32_t	 ms;
	} cases[] = {
		{ "1m30s", 0, 90000 }, { "250ms", 0, 250 }, { "5s", 0, 5000 },
		{ "1h", 0, 3600000 }, { "1.5s", 0, 1500 }, { ".5s", 0, 500 },
		{ "2h45m", 0, 9900000 }, { "0", 0, 0 }, { "0s", 0, 0 },
		{ "100us", 0, 1 }, { "1ns", 0, 1 }, { "1500us", 0, 1 },
		{ "10\xc2\xb5s", 0, 1 }, { "+3s", 0, 3000 },
		{ "1193h", 0, 4294800000u }, { "4294967295ms", 0, UINT32_MAX },
		{ "", -1, 0 }, { "-1s", -1, 0 }, { "5", -1, 0 },
		{ "s", -1, 0 }, { "1d", -1, 0 }, { "1.s", 0, 1000 },
		{ "1 s", -1, 0 }, { "1194h", -1, 0 },
		{ "4294967296ms", -1, 0 }, { "99999999999999999999h", -1, 0 },
		{ "3x", -1, 0 }, { ".s", -1, 0 },
	};
	size_t		i;
	uint32_t	ms;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ms = 12345;
		ck_assert_msg(val_parse_duration(cases[i].s, &ms) ==
		    cases[i].rc, "rc for \"%s\"", cases[i].s);
		if (cases[i].rc == 0)
			ck_assert_msg(ms == cases[i].ms, "\"%s\": %u",
			    cases[i].s, ms);
	}
	ck_assert_int_eq(val_parse_duration(NULL, &ms), -1);
}
END_TEST

/* ---- shared helpers through a diag_ctx ---- */

static struct diag_list	 hl;
static struct diag_ctx	 hdc;

static void
helper_setup(void)
{
	diag_list_init(&hl);
	memset(&hdc, 0, sizeof(hdc));
	hdc.list = &hl;
	hdc.kind = "Service";
}

static void
helper_teardown(void)
{
	diag_list_free(&hl);
}

START_TEST(test_dns_names)
{
	ck_assert_uint_eq(val_dns1123_label(&hdc, NULL, "f", "my-name"), 0);
	ck_assert_uint_eq(val_dns1123_label(&hdc, NULL, "f", "123-abc"), 0);
	ck_assert_uint_eq(val_dns1123_label(&hdc, NULL, "f", "a.b"), 1);
	ck_assert_str_eq(hl.v[0].detail, "must not contain dots");
	ck_assert_uint_eq(val_dns1123_label(&hdc, NULL, "f", "HTTP"), 1);
	ck_assert_str_eq(hl.v[1].detail, "a lowercase RFC 1123 label must "
	    "consist of lower case alphanumeric characters or '-', and must "
	    "start and end with an alphanumeric character (e.g. 'my-name',  "
	    "or '123-abc', regex used for validation is "
	    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')");
	ck_assert_str_eq(hl.v[1].bad, "HTTP");
	ck_assert_int_eq(hl.v[1].type, DIAG_INVALID);
	/* Too long and wrong: two errors, as the API server lists. */
	ck_assert_uint_eq(val_dns1123_label(&hdc, NULL, "f", "-"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
	    2);
	ck_assert_str_eq(hl.v[2].detail, "must be no more than 63 characters");
	ck_assert_uint_eq(val_dns1123_label(&hdc, NULL, "f", "-a"), 1);
	ck_assert_uint_eq(val_dns1123_label(&hdc, NULL, "f", "a-"), 1);
	ck_assert_uint_eq(val_dns1123_label(&hdc, NULL, "f", ""), 1);

	ck_assert_uint_eq(val_dns1123_subdomain(&hdc, NULL, "f",
	    "example.com"), 0);
	ck_assert_uint_eq(val_dns1123_subdomain(&hdc, NULL, "f", "a..b"), 1);
	ck_assert_uint_eq(val_dns1123_subdomain(&hdc, NULL, "f", "a.-b"), 1);
	ck_assert_uint_eq(val_dns1123_subdomain(&hdc, NULL, "f", "Ex.com"),
	    1);
	ck_assert_ptr_nonnull(strstr(hl.v[hl.n - 1].detail,
	    "a lowercase RFC 1123 subdomain must consist of lower case "
	    "alphanumeric characters, '-' or '.', and must start and end "
	    "with an alphanumeric character (e.g. 'example.com', regex"));

	ck_assert_uint_eq(val_dns1035_label(&hdc, NULL, "f", "web-1"), 0);
	ck_assert_uint_eq(val_dns1035_label(&hdc, NULL, "f", "1web"), 1);
	ck_assert_ptr_nonnull(strstr(hl.v[hl.n - 1].detail,
	    "a DNS-1035 label must consist of lower case alphanumeric "
	    "characters or '-', start with an alphabetic character, and end "
	    "with an alphanumeric character (e.g. 'my-name',  or 'abc-123'"));
	ck_assert_int_eq(val_is_dns1123_label("kube-system"), 1);
	ck_assert_int_eq(val_is_dns1123_label("Kube"), 0);
	ck_assert_int_eq(val_is_dns1123_subdomain("a.b.c"), 1);
}
END_TEST

START_TEST(test_port_name_and_number)
{
	ck_assert_uint_eq(val_port_name(&hdc, NULL, "f", "http"), 0);
	ck_assert_uint_eq(val_port_name(&hdc, NULL, "f", "h2-c"), 0);
	ck_assert_uint_eq(val_port_name(&hdc, NULL, "f", "HTTP"), 2);
	ck_assert_str_eq(hl.v[0].detail, "must contain only alpha-numeric "
	    "characters (a-z, 0-9), and hyphens (-)");
	ck_assert_str_eq(hl.v[1].detail,
	    "must contain at least one letter (a-z)");
	ck_assert_uint_eq(val_port_name(&hdc, NULL, "f", "8080"), 1);
	ck_assert_uint_eq(val_port_name(&hdc, NULL, "f", "a--b"), 1);
	ck_assert_str_eq(hl.v[hl.n - 1].detail,
	    "must not contain consecutive hyphens");
	ck_assert_uint_eq(val_port_name(&hdc, NULL, "f", "-ab"), 1);
	ck_assert_str_eq(hl.v[hl.n - 1].detail,
	    "must not begin or end with a hyphen");
	ck_assert_uint_eq(val_port_name(&hdc, NULL, "f", "abcdefghijklmnop"),
	    1);
	ck_assert_str_eq(hl.v[hl.n - 1].detail,
	    "must be no more than 15 characters");

	ck_assert_uint_eq(val_port_number(&hdc, NULL, "f", 1), 0);
	ck_assert_uint_eq(val_port_number(&hdc, NULL, "f", 65535), 0);
	ck_assert_uint_eq(val_port_number(&hdc, NULL, "f", 0), 1);
	ck_assert_uint_eq(val_port_number(&hdc, NULL, "f", 65536), 1);
	ck_assert_str_eq(hl.v[hl.n - 1].bad, "65536");
	ck_assert_str_eq(hl.v[hl.n - 1].detail,
	    "must be between 1 and 65535, inclusive");
}
END_TEST

START_TEST(test_qualified_name)
{
	ck_assert_uint_eq(val_qualified_name(&hdc, NULL, "f", "k",
	    "app.kubernetes.io/name"), 0);
	ck_assert_uint_eq(val_qualified_name(&hdc, NULL, "f", "k", "My.Key_1"),
	    0);
	ck_assert_uint_eq(val_qualified_name(&hdc, NULL, "f", "k", "a/b/c"),
	    1);
	ck_assert_ptr_nonnull(strstr(hl.v[0].detail, "a valid label key must "
	    "consist of alphanumeric characters"));
	ck_assert_uint_eq(val_qualified_name(&hdc, NULL, "f", "k", "/a"), 1);
	ck_assert_str_eq(hl.v[1].detail, "prefix part must be non-empty");
	ck_assert_uint_eq(val_qualified_name(&hdc, NULL, "f", "k", "Ex.com/a"),
	    1);
	ck_assert_ptr_nonnull(strstr(hl.v[2].detail,
	    "prefix part a lowercase RFC 1123 subdomain"));
	ck_assert_uint_eq(val_qualified_name(&hdc, NULL, "f", "k", "x/"), 2);
	ck_assert_str_eq(hl.v[3].detail, "name part must be non-empty");
	ck_assert_uint_eq(val_qualified_name(&hdc, NULL, "f", "k", "-x"), 1);
	ck_assert_str_eq(hl.v[5].detail, "name part must consist of "
	    "alphanumeric characters, '-', '_' or '.', and must start and "
	    "end with an alphanumeric character (e.g. 'MyName',  or "
	    "'my.name',  or '123-abc', regex used for validation is "
	    "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')");
}
END_TEST

START_TEST(test_ip_and_cidr)
{
	struct ipaddr	a;
	struct cidr	c;

	ck_assert_uint_eq(val_ip(&hdc, NULL, "f", "10.0.0.1", 1, &a), 0);
	ck_assert_int_eq(a.family, AF_INET);
	ck_assert_uint_eq(val_ip(&hdc, NULL, "f", "2001:db8::1", 1, NULL), 0);
	ck_assert_uint_eq(hl.n, 0);
	ck_assert_uint_eq(val_ip(&hdc, NULL, "f", "10.0.0.256", 0, NULL), 1);
	ck_assert_str_eq(hl.v[0].detail,
	    "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)");
	ck_assert_uint_eq(val_ip(&hdc, NULL, "f", "0.0.0.0", 1, NULL), 1);
	ck_assert_str_eq(hl.v[1].detail, "may not be unspecified (0.0.0.0)");
	ck_assert_uint_eq(val_ip(&hdc, NULL, "f", "169.254.1.1", 1, NULL), 1);
	ck_assert_str_eq(hl.v[2].detail, "may not be in the link-local range "
	    "(169.254.0.0/16, fe80::/10)");
	ck_assert_uint_eq(val_ip(&hdc, NULL, "f", "fe80::1", 1, NULL), 1);
	ck_assert_uint_eq(val_ip(&hdc, NULL, "f", "224.0.0.5", 1, NULL), 1);
	ck_assert_str_eq(hl.v[4].detail, "may not be in the link-local "
	    "multicast range (224.0.0.0/24, ff02::/10)");
	/* Not special without nonspecial. */
	ck_assert_uint_eq(val_ip(&hdc, NULL, "f", "0.0.0.0", 0, NULL), 0);
	ck_assert_uint_eq(hl.nerr, 5);
	/* Loopback and other multicast: warnings only. */
	ck_assert_uint_eq(val_ip(&hdc, NULL, "f", "127.0.0.2", 1, NULL), 0);
	ck_assert_uint_eq(val_ip(&hdc, NULL, "f", "::1", 1, NULL), 0);
	ck_assert_uint_eq(val_ip(&hdc, NULL, "f", "239.1.1.1", 1, NULL), 0);
	ck_assert_uint_eq(hl.nerr, 5);
	ck_assert_uint_eq(hl.nwarn, 3);
	ck_assert_int_eq(hl.v[5].sev, DIAG_WARNING);
	ck_assert_ptr_nonnull(strstr(hl.v[5].detail,
	    "svcproxy accepts it for single-machine testing"));

	ck_assert_uint_eq(val_cidr(&hdc, NULL, "f", "10.0.0.0/8", &c), 0);
	ck_assert_int_eq(c.prefix, 8);
	/* Host bits may be set, as IsValidCIDR allows. */
	ck_assert_uint_eq(val_cidr(&hdc, NULL, "f", "10.0.0.1/8", NULL), 0);
	ck_assert_uint_eq(val_cidr(&hdc, NULL, "f", "10.0.0.0", NULL), 1);
	ck_assert_str_eq(hl.v[hl.n - 1].detail, "must be a valid CIDR value, "
	    "(e.g. 10.9.8.0/24 or 2001:db8::/64)");
	ck_assert_uint_eq(val_cidr(&hdc, NULL, "f", "10.0.0.0/33", NULL), 1);
}
END_TEST

START_TEST(test_protocol_default)
{
	const char *p = NULL;

	ck_assert_uint_eq(val_protocol(&hdc, NULL, "f", &p), 0);
	ck_assert_str_eq(p, "TCP");
	p = "UDP";
	ck_assert_uint_eq(val_protocol(&hdc, NULL, "f", &p), 0);
	p = "tcp";
	ck_assert_uint_eq(val_protocol(&hdc, NULL, "f", &p), 1);
	ck_assert_int_eq(hl.v[0].type, DIAG_NOT_SUPPORTED);
	ck_assert_str_eq(hl.v[0].detail,
	    "supported values: \"SCTP\", \"TCP\", \"UDP\"");
}
END_TEST

/* ---- metadata (through a Service and a Pod) ---- */

START_TEST(test_meta_names)
{
	struct vt		 t;
	const struct diag	*d;

	/* Service: DNS-1035; a leading digit is wrong there only. */
	vt_run(&t, "apiVersion: v1\nkind: Service\nmetadata:\n"
	    "  name: 1web\n  namespace: Shop\nspec:\n  ports: [{port: 80}]\n"
	    "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: 1web.x\n");
	d = vt_expect(&t, "metadata.name", DIAG_ERROR, DIAG_INVALID, "1web",
	    "a DNS-1035 label");
	ck_assert_uint_eq(d->line, 4);
	ck_assert_uint_eq(d->col, 9);
	ck_assert_str_eq(d->kind, "Service");
	d = vt_expect(&t, "metadata.namespace", DIAG_ERROR, DIAG_INVALID,
	    "Shop", "a lowercase RFC 1123 label");
	ck_assert_uint_eq(d->line, 5);
	ck_assert_int_eq(t.set.svcs.v[0]->invalid, 1);
	/* A Pod name is a subdomain: fine. */
	ck_assert_int_eq(t.set.pods.v[0]->invalid, 0);
	ck_assert_uint_eq(t.nerr, 2);
	vt_free(&t);

	vt_run(&t, "apiVersion: v1\nkind: Namespace\nmetadata:\n"
	    "  name: a.b\n");
	vt_expect(&t, "metadata.name", DIAG_ERROR, DIAG_INVALID, "a.b",
	    "must not contain dots");
	ck_assert_int_eq(t.set.nss.v[0]->invalid, 1);
	vt_free(&t);
}
END_TEST

START_TEST(test_meta_labels_annotations)
{
	struct vt		 t;
	const struct diag	*d;

	vt_run(&t, "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n"
	    "  labels:\n"
	    "    good: yes-1\n"
	    "    bad key: v\n"
	    "    k: -bad-\n"
	    "  annotations:\n"
	    "    Example.COM/Free-Form: \"any value at all: !@#\"\n"
	    "    bad/key/x: v\n");
	d = vt_expect(&t, "metadata.labels", DIAG_ERROR, DIAG_INVALID,
	    "bad key", "name part must consist of");
	ck_assert_uint_eq(d->line, 7);
	ck_assert_uint_eq(d->col, 5);
	/* The value's error points at the value. */
	ck_assert_uint_eq(t.dl.v[1].line, 8);
	ck_assert_uint_eq(t.dl.v[1].col, 8);
	ck_assert_str_eq(t.dl.v[1].bad, "-bad-");
	ck_assert_ptr_nonnull(strstr(t.dl.v[1].detail, "a valid label must "
	    "be an empty string or consist of alphanumeric characters"));
	/* Annotation keys are checked lower-cased; values are free. */
	d = vt_expect(&t, "metadata.annotations", DIAG_ERROR, DIAG_INVALID,
	    "bad/key/x", "a valid label key");
	ck_assert_uint_eq(d->line, 11);
	ck_assert_uint_eq(t.nerr, 3);
	ck_assert_int_eq(t.set.pods.v[0]->invalid, 1);
	vt_free(&t);
}
END_TEST

START_TEST(test_meta_label_value_length)
{
	struct vt	t;
	char		yaml[512];

	snprintf(yaml, sizeof(yaml), "apiVersion: v1\nkind: Pod\nmetadata:\n"
	    "  name: p\n  labels:\n    a: %s\n    b: %s\n",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	vt_run(&t, yaml);
	vt_expect(&t, "metadata.labels", DIAG_ERROR, DIAG_INVALID, NULL,
	    "must be no more than 63 characters");
	ck_assert_uint_eq(t.nerr, 1);
	ck_assert_uint_eq(t.dl.v[0].line, 7);
	vt_free(&t);
}
END_TEST

START_TEST(test_meta_annotation_size)
{
	struct vt	 t;
	char		*yaml, *big;
	size_t		 n = 256 * 1024;

	big = malloc(n + 1);
	memset(big, 'x', n);
	big[n] = '\0';
	yaml = malloc(n + 256);
	snprintf(yaml, n + 256, "apiVersion: v1\nkind: Pod\nmetadata:\n"
	    "  name: p\n  annotations:\n    a: %s\n", big);
	vt_run(&t, yaml);
	vt_expect(&t, "metadata.annotations", DIAG_ERROR, DIAG_TOO_LONG, NULL,
	    "must have at most 262144 bytes");
	ck_assert_int_eq(t.set.pods.v[0]->invalid, 1);
	vt_free(&t);
	/* Exactly the limit is fine. */
	big[n - 1] = '\0';
	snprintf(yaml, n + 256, "apiVersion: v1\nkind: Pod\nmetadata:\n"
	    "  name: p\n  annotations:\n    a: %s\n", big);
	vt_run(&t, yaml);
	vt_clean(&t);
	vt_free(&t);
	free(big);
	free(yaml);
}
END_TEST

/* ---- ProxyConfig ---- */

#define PCFG_HEAD "apiVersion: svcproxy.io/v1alpha1\nkind: ProxyConfig\n" \
	"metadata:\n  name: node\nspec:\n"

START_TEST(test_pcfg_defaults)
{
	struct vt	t;
	char		buf[NETADDR_STRLEN];

	vt_run(&t, "");
	vt_clean(&t);
	ck_assert_uint_eq(t.pcfg.node_port_min, 30000);
	ck_assert_uint_eq(t.pcfg.node_port_max, 32767);
	ck_assert_uint_eq(t.pcfg.nnode_addresses, 0);
	ck_assert_uint_eq(t.pcfg.nlb_pool, 0);
	ck_assert_str_eq(ipaddr_format(&t.pcfg.service_cidr.addr, buf),
	    "10.96.0.0");
	ck_assert_int_eq(t.pcfg.service_cidr.prefix, 12);
	ck_assert_int_eq(t.pcfg.workers, 0);
	ck_assert_str_eq(ipaddr_format(&t.pcfg.admin_ip, buf), "127.0.0.1");
	ck_assert_uint_eq(t.pcfg.admin_port, 9180);
	ck_assert_uint_eq(t.pcfg.connect_timeout_ms, 5000);
	ck_assert_uint_eq(t.pcfg.idle_timeout_ms, 600000);
	ck_assert_uint_eq(t.pcfg.drain_timeout_ms, 30000);
	ck_assert_uint_eq(t.pcfg.max_connections, 0);
	ck_assert_int_eq(t.pcfg.connection_log, CONN_LOG_INFO);
	vt_free(&t);
}
END_TEST

/* spec.loadBalancing's hashKey and maglevTableSize, spec.sessionAffinity. */
START_TEST(test_pcfg_balancing)
{
	const struct diag	*d;
	struct vt		 t;

	vt_run(&t, "");
	ck_assert_int_eq(t.pcfg.hash_key, 0);
	ck_assert_uint_eq(t.pcfg.maglev_table_size, 65537);
	ck_assert_uint_eq(t.pcfg.affinity_max, 65536);
	vt_free(&t);

	vt_run(&t, PCFG_HEAD
	    "  loadBalancing: {hashKey: client-ip-port, maglevTableSize: 1021}\n"
	    "  sessionAffinity: {maxEntriesPerPort: 10}\n");
	vt_clean(&t);
	ck_assert_int_eq(t.pcfg.hash_key, 1);
	ck_assert_uint_eq(t.pcfg.maglev_table_size, 1021);
	ck_assert_uint_eq(t.pcfg.affinity_max, 10);
	vt_free(&t);

	vt_run(&t, PCFG_HEAD
	    "  loadBalancing: {hashKey: ip, maglevTableSize: 100000}\n"
	    "  sessionAffinity: {maxEntriesPerPort: 16777217}\n");
	vt_expect(&t, "spec.loadBalancing.hashKey", DIAG_ERROR, DIAG_NOT_SUPPORTED,
	    "ip", "supported values: \"client-ip\", \"client-ip-port\"");
	d = vt_expect(&t, "spec.loadBalancing.maglevTableSize", DIAG_ERROR,
	    DIAG_INVALID, "100000", "100000 is not; the nearest primes are "
	    "99991 and 100003");
	ck_assert_uint_eq(d->line, 6);
	vt_expect(&t, "spec.sessionAffinity.maxEntriesPerPort", DIAG_ERROR,
	    DIAG_INVALID, "16777217", "from 1 to 16777216");
	/* The defaults stay. */
	ck_assert_int_eq(t.pcfg.hash_key, 0);
	ck_assert_uint_eq(t.pcfg.maglev_table_size, 65537);
	ck_assert_uint_eq(t.pcfg.affinity_max, 65536);
	ck_assert_int_eq(t.set.pcfg->invalid, 1);
	vt_free(&t);
}
END_TEST

START_TEST(test_pcfg_good)
{
	struct vt	t;
	char		buf[NETADDR_STRLEN];

	vt_run(&t, PCFG_HEAD
	    "  nodeAddresses: [127.0.0.1, \"::1\"]\n"
	    "  nodePortRange: 31000-31010\n"
	    "  loadBalancerPool: [127.0.10.0/24, 192.0.2.0/28]\n"
	    "  serviceCIDR: 10.0.0.0/16\n"
	    "  workers: 4\n"
	    "  adminAddress: \"[::1]:0\"\n"
	    "  connectTimeout: 2s\n"
	    "  idleTimeout: 1m30s\n"
	    "  drainTimeout: 250ms\n"
	    "  maxConnections: 1000\n"
	    "  connectionLog: debug\n");
	vt_clean(&t);
	ck_assert_int_eq(t.set.pcfg->invalid, 0);
	ck_assert_uint_eq(t.pcfg.nnode_addresses, 2);
	ck_assert_int_eq(t.pcfg.node_addresses[1].family, AF_INET6);
	ck_assert_uint_eq(t.pcfg.node_port_min, 31000);
	ck_assert_uint_eq(t.pcfg.node_port_max, 31010);
	ck_assert_uint_eq(t.pcfg.nlb_pool, 2);
	ck_assert_int_eq(t.pcfg.lb_pool[1].prefix, 28);
	ck_assert_int_eq(t.pcfg.service_cidr.prefix, 16);
	ck_assert_int_eq(t.pcfg.workers, 4);
	ck_assert_str_eq(ipaddr_format(&t.pcfg.admin_ip, buf), "::1");
	ck_assert_uint_eq(t.pcfg.admin_port, 0);
	ck_assert_uint_eq(t.pcfg.connect_timeout_ms, 2000);
	ck_assert_uint_eq(t.pcfg.idle_timeout_ms, 90000);
	ck_assert_uint_eq(t.pcfg.drain_timeout_ms, 250);
	ck_assert_uint_eq(t.pcfg.max_connections, 1000);
	ck_assert_int_eq(t.pcfg.connection_log, CONN_LOG_DEBUG);
	vt_free(&t);
}
END_TEST

/* spec.loadBalancing.algorithm: round-robin by default, registry names
   only, with the API server's NotSupported wording. */
START_TEST(test_pcfg_lb_algorithm)
{
	struct vt		 t;
	const struct diag	*d;

	vt_run(&t, "");
	ck_assert_str_eq(t.pcfg.lb_algorithm, "round-robin");
	vt_free(&t);
	vt_run(&t, PCFG_HEAD "  loadBalancing: {}\n");
	vt_clean(&t);
	ck_assert_str_eq(t.pcfg.lb_algorithm, "round-robin");
	vt_free(&t);
	vt_run(&t, PCFG_HEAD "  loadBalancing:\n    algorithm: round-robin\n");
	vt_clean(&t);
	ck_assert_str_eq(t.pcfg.lb_algorithm, "round-robin");
	vt_free(&t);

	vt_run(&t, PCFG_HEAD "  workers: 2\n"
	    "  loadBalancing:\n    algorithm: ring-hash\n");
	d = vt_expect(&t, "spec.loadBalancing.algorithm", DIAG_ERROR,
	    DIAG_NOT_SUPPORTED, "ring-hash", NULL);
	ck_assert_str_eq(d->detail, "supported values: \"least-connections\", "
	    "\"maglev\", \"random-two\", \"round-robin\"");
	ck_assert_uint_eq(d->line, 8);
	ck_assert_uint_eq(d->col, 16);
	ck_assert_uint_eq(t.nerr, 1);
	ck_assert_int_eq(t.set.pcfg->invalid, 1);
	/* The bad field keeps its default; the others apply. */
	ck_assert_str_eq(t.pcfg.lb_algorithm, "round-robin");
	ck_assert_int_eq(t.pcfg.workers, 2);
	vt_free(&t);

	/* Case matters, as for every Kubernetes enum. */
	vt_run(&t, PCFG_HEAD "  loadBalancing: {algorithm: Round-Robin}\n");
	vt_expect(&t, "spec.loadBalancing.algorithm", DIAG_ERROR,
	    DIAG_NOT_SUPPORTED, "Round-Robin", "supported values: ");
	vt_free(&t);
}
END_TEST

START_TEST(test_pcfg_bad)
{
	struct vt		 t;
	const struct diag	*d;
	char			 buf[NETADDR_STRLEN];

	vt_run(&t, PCFG_HEAD
	    "  nodeAddresses: [10.0.0.1, 10.0.0.300, 10.0.0.1]\n"
	    "  nodePortRange: 32767-30000\n"
	    "  loadBalancerPool: [192.0.2.0]\n"
	    "  serviceCIDR: 10.0.0.0/40\n"
	    "  workers: 257\n"
	    "  adminAddress: \"::1:9180\"\n"
	    "  connectTimeout: 0s\n"
	    "  idleTimeout: \"10\"\n"
	    "  drainTimeout: -1s\n"
	    "  maxConnections: -1\n"
	    "  connectionLog: verbose\n");
	ck_assert_int_eq(t.set.pcfg->invalid, 1);
	d = vt_expect(&t, "spec.nodeAddresses[1]", DIAG_ERROR, DIAG_INVALID,
	    "10.0.0.300", "must be a valid IP address");
	ck_assert_uint_eq(d->line, 6);
	ck_assert_uint_eq(d->col, 29);
	vt_expect(&t, "spec.nodeAddresses[2]", DIAG_ERROR, DIAG_DUPLICATE,
	    "10.0.0.1", NULL);
	vt_expect(&t, "spec.nodePortRange", DIAG_ERROR, DIAG_INVALID,
	    "32767-30000", "MIN-MAX");
	vt_expect(&t, "spec.loadBalancerPool[0]", DIAG_ERROR, DIAG_INVALID,
	    "192.0.2.0", "must be a valid CIDR value");
	vt_expect(&t, "spec.serviceCIDR", DIAG_ERROR, DIAG_INVALID,
	    "10.0.0.0/40", NULL);
	vt_expect(&t, "spec.workers", DIAG_ERROR, DIAG_INVALID, "257",
	    "must be between 0 and 256, inclusive");
	vt_expect(&t, "spec.adminAddress", DIAG_ERROR, DIAG_INVALID,
	    "::1:9180", "[IPv6]:PORT");
	vt_expect(&t, "spec.connectTimeout", DIAG_ERROR, DIAG_INVALID, "0s",
	    "must be a duration greater than 0");
	vt_expect(&t, "spec.idleTimeout", DIAG_ERROR, DIAG_INVALID, "10",
	    NULL);
	vt_expect(&t, "spec.drainTimeout", DIAG_ERROR, DIAG_INVALID, "-1s",
	    NULL);
	vt_expect(&t, "spec.maxConnections", DIAG_ERROR, DIAG_INVALID, "-1",
	    "must be greater than or equal to 0");
	vt_expect(&t, "spec.connectionLog", DIAG_ERROR, DIAG_NOT_SUPPORTED,
	    "verbose", "supported values: \"debug\", \"info\", \"off\"");
	ck_assert_uint_eq(t.nerr, 12);
	/* Every bad field kept its default. */
	ck_assert_uint_eq(t.pcfg.nnode_addresses, 0);
	ck_assert_uint_eq(t.pcfg.node_port_min, 30000);
	ck_assert_uint_eq(t.pcfg.node_port_max, 32767);
	ck_assert_uint_eq(t.pcfg.nlb_pool, 0);
	ck_assert_int_eq(t.pcfg.service_cidr.prefix, 12);
	ck_assert_int_eq(t.pcfg.workers, 0);
	ck_assert_str_eq(ipaddr_format(&t.pcfg.admin_ip, buf), "127.0.0.1");
	ck_assert_uint_eq(t.pcfg.admin_port, 9180);
	ck_assert_uint_eq(t.pcfg.connect_timeout_ms, 5000);
	ck_assert_uint_eq(t.pcfg.idle_timeout_ms, 600000);
	ck_assert_uint_eq(t.pcfg.drain_timeout_ms, 30000);
	ck_assert_uint_eq(t.pcfg.max_connections, 0);
	ck_assert_int_eq(t.pcfg.connection_log, CONN_LOG_INFO);
	vt_free(&t);
}
END_TEST

/* spec.healthCheck: absent, every HC_DEFAULT_* (no active check). */
START_TEST(test_pcfg_hc_defaults)
{
	struct vt			 t;
	const struct hc_config		*hc;

	vt_run(&t, PCFG_HEAD "  workers: 1\n");
	vt_clean(&t);
	hc = &t.pcfg.hc;
	ck_assert_int_eq(hc->check.kind, HC_NONE);
	ck_assert_uint_eq(hc->check.interval_ms, HC_DEFAULT_INTERVAL_MS);
	ck_assert_uint_eq(hc->check.timeout_ms, 0);	/* the interval */
	ck_assert_uint_eq(hc->check.rise, HC_DEFAULT_RISE);
	ck_assert_uint_eq(hc->check.fall, HC_DEFAULT_FALL);
	ck_assert_uint_eq(hc->check.port, 0);
	ck_assert_str_eq(hc->check.method, HC_DEFAULT_METHOD);
	ck_assert_str_eq(hc->check.path, HC_DEFAULT_PATH);
	ck_assert_str_eq(hc->check.expect, HC_DEFAULT_EXPECT);
	ck_assert_ptr_null(hc->check.host);
	ck_assert_ptr_null(hc->check.sni);
	ck_assert_ptr_null(hc->check.ca);
	ck_assert_uint_eq(hc->outlier_failures, HC_DEFAULT_OUTLIER_FAILURES);
	ck_assert_uint_eq(hc->eject_base_ms, HC_DEFAULT_EJECT_BASE_MS);
	ck_assert_uint_eq(hc->eject_max_ms, HC_DEFAULT_EJECT_MAX_MS);
	ck_assert_uint_eq(hc->eject_max_percent,
	    HC_DEFAULT_EJECT_MAX_PERCENT);
	ck_assert_uint_eq(hc->panic_percent, 0);
	ck_assert_uint_eq(hc->close_on_down, 0);
	ck_assert_uint_eq(hc->slow_start_ms, 0);
	vt_free(&t);
}
END_TEST

START_TEST(test_pcfg_hc_good)
{
	struct vt			 t;
	const struct hc_config		*hc;

	vt_run(&t, PCFG_HEAD
	    "  healthCheck:\n"
	    "    type: http\n"
	    "    interval: 1s\n"
	    "    timeout: 500ms\n"
	    "    rise: 1\n"
	    "    fall: 100\n"
	    "    path: /healthz\n"
	    "    host: api.example.com\n"
	    "    method: HEAD\n"
	    "    expectStatus: \"200,204\"\n"
	    "    outlierDetection:\n"
	    "      consecutiveFailures: 0\n"
	    "      baseEjectionTime: 10s\n"
	    "      maxEjectionPercent: 100\n"
	    "    panicThreshold: 30\n"
	    "    onDown: close\n"
	    "    slowStart: 0s\n");
	vt_clean(&t);
	hc = &t.pcfg.hc;
	ck_assert_int_eq(hc->check.kind, HC_HTTP);
	ck_assert_uint_eq(hc->check.interval_ms, 1000);
	ck_assert_uint_eq(hc->check.timeout_ms, 500);
	ck_assert_uint_eq(hc->check.rise, 1);
	ck_assert_uint_eq(hc->check.fall, 100);
	ck_assert_str_eq(hc->check.path, "/healthz");
	ck_assert_str_eq(hc->check.host, "api.example.com");
	ck_assert_str_eq(hc->check.method, "HEAD");
	ck_assert_str_eq(hc->check.expect, "200,204");
	ck_assert_uint_eq(hc->outlier_failures, 0);
	ck_assert_uint_eq(hc->eject_base_ms, 10000);
	ck_assert_uint_eq(hc->eject_max_ms, HC_DEFAULT_EJECT_MAX_MS);
	ck_assert_uint_eq(hc->eject_max_percent, 100);
	ck_assert_uint_eq(hc->panic_percent, 30);
	ck_assert_uint_eq(hc->close_on_down, 1);
	ck_assert_uint_eq(hc->slow_start_ms, 0);
	vt_free(&t);
}
END_TEST

/* Every bad value at its spec.healthCheck path, line and column; the
   bad ones keep their defaults. */
START_TEST(test_pcfg_hc_bad)
{
	struct vt		 t;
	const struct diag	*d;

	vt_run(&t, PCFG_HEAD
	    "  healthCheck:\n"
	    "    type: grpc\n"
	    "    interval: 0s\n"
	    "    timeout: soon\n"
	    "    rise: 0\n"
	    "    fall: 101\n"
	    "    path: healthz\n"
	    "    host: \"a b\"\n"
	    "    method: get\n"
	    "    expectStatus: \"99\"\n"
	    "    outlierDetection:\n"
	    "      consecutiveFailures: -1\n"
	    "      baseEjectionTime: 0s\n"
	    "      maxEjectionPercent: 101\n"
	    "    panicThreshold: 101\n"
	    "    onDown: drop\n"
	    "    slowStart: -1s\n");
	ck_assert_int_eq(t.set.pcfg->invalid, 1);
	ck_assert_uint_eq(t.nerr, 15);
	d = vt_expect(&t, "spec.healthCheck.type", DIAG_ERROR,
	    DIAG_NOT_SUPPORTED, "grpc", NULL);
	ck_assert_uint_eq(d->line, 7);
	ck_assert_uint_eq(d->col, 11);
#ifdef HAVE_OPENSSL
	ck_assert_str_eq(d->detail, "supported values: \"http\", \"https\", "
	    "\"none\", \"tcp\"");
#else
	ck_assert_str_eq(d->detail, "supported values: \"http\", \"none\", "
	    "\"tcp\"");
#endif
	d = vt_expect(&t, "spec.healthCheck.interval", DIAG_ERROR,
	    DIAG_INVALID, "0s", NULL);
	ck_assert_str_eq(d->detail, "must be a duration greater than 0 "
	    "(e.g. \"5s\", \"1m30s\", \"250ms\")");
	ck_assert_uint_eq(d->line, 8);
	ck_assert_uint_eq(d->col, 15);
	vt_expect(&t, "spec.healthCheck.timeout", DIAG_ERROR, DIAG_INVALID,
	    "soon", "must be a duration greater than 0");
	d = vt_expect(&t, "spec.healthCheck.rise", DIAG_ERROR, DIAG_INVALID,
	    "0", NULL);
	ck_assert_str_eq(d->detail, "must be between 1 and 100, inclusive");
	ck_assert_uint_eq(d->line, 10);
	vt_expect(&t, "spec.healthCheck.fall", DIAG_ERROR, DIAG_INVALID,
	    "101", "must be between 1 and 100, inclusive");
	vt_expect(&t, "spec.healthCheck.path", DIAG_ERROR, DIAG_INVALID,
	    "healthz", "must start with \"/\"");
	vt_expect(&t, "spec.healthCheck.host", DIAG_ERROR, DIAG_INVALID,
	    "a b", "or an IP address");
	vt_expect(&t, "spec.healthCheck.method", DIAG_ERROR, DIAG_INVALID,
	    "get", "upper-case letters");
	vt_expect(&t, "spec.healthCheck.expectStatus", DIAG_ERROR,
	    DIAG_INVALID, "99", "status codes are 100-599");
	d = vt_expect(&t, "spec.healthCheck.outlierDetection."
	    "consecutiveFailures", DIAG_ERROR, DIAG_INVALID, "-1", NULL);
	ck_assert_str_eq(d->detail, "must be between 0 and 1000, inclusive "
	    "(0: no ejection)");
	ck_assert_uint_eq(d->line, 17);
	ck_assert_uint_eq(d->col, 28);
	vt_expect(&t, "spec.healthCheck.outlierDetection.baseEjectionTime",
	    DIAG_ERROR, DIAG_INVALID, "0s", "must be a duration greater");
	vt_expect(&t, "spec.healthCheck.outlierDetection.maxEjectionPercent",
	    DIAG_ERROR, DIAG_INVALID, "101",
	    "must be between 0 and 100, inclusive");
	vt_expect(&t, "spec.healthCheck.panicThreshold", DIAG_ERROR,
	    DIAG_INVALID, "101", "must be between 0 and 100, inclusive");
	d = vt_expect(&t, "spec.healthCheck.onDown", DIAG_ERROR,
	    DIAG_NOT_SUPPORTED, "drop", NULL);
	ck_assert_str_eq(d->detail, "supported values: \"close\", \"keep\"");
	vt_expect(&t, "spec.healthCheck.slowStart", DIAG_ERROR, DIAG_INVALID,
	    "-1s", "\"0s\": off");
	/* Each bad setting kept its default. */
	ck_assert_int_eq(t.pcfg.hc.check.kind, HC_NONE);
	ck_assert_uint_eq(t.pcfg.hc.check.interval_ms, HC_DEFAULT_INTERVAL_MS);
	ck_assert_uint_eq(t.pcfg.hc.check.rise, HC_DEFAULT_RISE);
	ck_assert_str_eq(t.pcfg.hc.check.path, HC_DEFAULT_PATH);
	ck_assert_uint_eq(t.pcfg.hc.outlier_failures,
	    HC_DEFAULT_OUTLIER_FAILURES);
	vt_free(&t);

	/* Integers are integers: "2" is a type error when decoding. */
	{
		struct kset		set;
		struct diag_list	dl;

		memset(&set, 0, sizeof(set));
		ck_assert_int_ne(unit_load(&set, &dl, PCFG_HEAD
		    "  healthCheck:\n    rise: \"2\"\n    intervall: 1s\n"), 0);
		ck_assert_uint_eq(dl.nerr, 2);
		ck_assert_str_eq(dl.v[0].field, "spec.healthCheck.rise");
		ck_assert_int_eq(dl.v[0].type, DIAG_TYPE_INVALID);
		ck_assert_str_eq(dl.v[1].field, "spec.healthCheck.intervall");
		ck_assert_int_eq(dl.v[1].type, DIAG_UNKNOWN_FIELD);
		unit_free(&set, &dl);
	}
}
END_TEST

/* https without OpenSSL is an error; slow start under maglev is a
   warning (its table does not ramp), under round-robin none. */
START_TEST(test_pcfg_hc_https_slow_start)
{
	struct vt		 t;
	const struct diag	*d;

	vt_run(&t, PCFG_HEAD "  loadBalancing: {algorithm: maglev}\n"
	    "  healthCheck: {type: https, slowStart: 30s}\n");
	d = vt_expect(&t, "spec.healthCheck.slowStart", DIAG_WARNING,
	    DIAG_INVALID, NULL, NULL);
	ck_assert_str_eq(d->detail, "not honoured: maglev does not ramp "
	    "weights (its table depends on the endpoints alone)");
	ck_assert_uint_eq(t.pcfg.hc.slow_start_ms, 30000);
#ifdef HAVE_OPENSSL
	ck_assert_uint_eq(t.nerr, 0);
	ck_assert_int_eq(t.pcfg.hc.check.kind, HC_HTTPS);
#else
	ck_assert_uint_eq(t.nerr, 1);
	d = vt_expect(&t, "spec.healthCheck.type", DIAG_ERROR, DIAG_INVALID,
	    "https", NULL);
	ck_assert_str_eq(d->detail, "svcproxy was built without OpenSSL "
	    "(supported values: \"http\", \"none\", \"tcp\")");
	ck_assert_int_eq(t.pcfg.hc.check.kind, HC_NONE);
#endif
	vt_free(&t);

	/* round-robin (the default) ramps: no warning. */
	vt_run(&t, PCFG_HEAD "  healthCheck: {type: tcp, slowStart: 30s}\n");
	ck_assert_ptr_null(vt_find(&t, "spec.healthCheck.slowStart",
	    DIAG_WARNING));
	ck_assert_uint_eq(t.pcfg.hc.slow_start_ms, 30000);
	vt_free(&t);
}
END_TEST

START_TEST(test_pcfg_workers_bounds)
{
	struct vt t;

	vt_run(&t, PCFG_HEAD "  workers: 256\n  nodePortRange: 1-65535\n"
	    "  connectionLog: \"off\"\n");
	vt_clean(&t);
	ck_assert_int_eq(t.pcfg.workers, 256);
	ck_assert_uint_eq(t.pcfg.node_port_min, 1);
	ck_assert_uint_eq(t.pcfg.node_port_max, 65535);
	ck_assert_int_eq(t.pcfg.connection_log, CONN_LOG_OFF);
	vt_free(&t);
	vt_run(&t, PCFG_HEAD "  workers: -1\n  nodePortRange: 0-10\n");
	vt_expect(&t, "spec.workers", DIAG_ERROR, DIAG_INVALID, "-1", NULL);
	vt_expect(&t, "spec.nodePortRange", DIAG_ERROR, DIAG_INVALID, "0-10",
	    NULL);
	vt_free(&t);
}
END_TEST

/* ---- Namespaces ---- */

static const char *
label(const struct kns *ns, const char *key)
{
	size_t i;

	for (i = 0; i < ns->meta.labels.n; i++)
		if (strcmp(ns->meta.labels.v[i].key, key) == 0)
			return ns->meta.labels.v[i].value;
	return NULL;
}

START_TEST(test_namespaces_implicit)
{
	struct vt	t;
	size_t		i;
	static const char *const want[] = { "a", "b", "default", "m", "z" };

	vt_run(&t,
	    "apiVersion: v1\nkind: Namespace\nmetadata: {name: m, labels: "
	    "{team: x}}\n---\n"
	    "apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: z}\n"
	    "spec: {ports: [{port: 80}]}\n---\n"
	    "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n---\n"
	    "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: m}\n"
	    "---\n"
	    "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
	    "metadata: {name: e, namespace: b, labels: "
	    "{kubernetes.io/service-name: s}}\naddressType: IPv4\n---\n"
	    "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
	    "metadata: {name: n, namespace: a}\nspec: {podSelector: {}}\n"
	    "---\n"
	    "apiVersion: v1\nkind: Pod\nmetadata: {name: q, namespace: "
	    "Bad_NS}\n");
	ck_assert_uint_eq(t.set.nss.n, 5);
	for (i = 0; i < 5; i++) {
		const struct kns *ns = t.set.nss.v[i];

		ck_assert_str_eq(ns->meta.name, want[i]);
		ck_assert_int_eq(ns->implicit, strcmp(want[i], "m") != 0);
		ck_assert_str_eq(label(ns, "kubernetes.io/metadata.name"),
		    want[i]);
		ck_assert_int_eq(ns->invalid, 0);
	}
	ck_assert_str_eq(label(t.set.nss.v[3], "team"), "x");
	ck_assert_uint_eq(t.set.nss.v[3]->meta.labels.n, 2);
	/* The bad namespace name is the Pod's error, not a namespace. */
	vt_expect(&t, "metadata.namespace", DIAG_ERROR, DIAG_INVALID,
	    "Bad_NS", NULL);
	ck_assert_uint_eq(t.nerr, 1);
	vt_free(&t);
}
END_TEST

/* SetDefaults_Namespace runs first: a bad value given is replaced. */
START_TEST(test_namespace_label_defaulted_first)
{
	struct vt t;

	vt_run(&t, "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: prod\n"
	    "  labels:\n    kubernetes.io/metadata.name: \"not a label!\"\n");
	ck_assert_str_eq(label(t.set.nss.v[0], "kubernetes.io/metadata.name"),
	    "prod");
	vt_expect(&t, "metadata.labels", DIAG_WARNING, DIAG_INVALID,
	    "not a label!", "the API server sets label");
	ck_assert_uint_eq(t.nerr, 0);
	ck_assert_int_eq(t.set.nss.v[0]->invalid, 0);
	vt_free(&t);
}
END_TEST

START_TEST(test_namespace_label_override)
{
	struct vt		 t;
	const struct diag	*d;

	vt_run(&t, "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: prod\n"
	    "  labels:\n    kubernetes.io/metadata.name: staging\n");
	ck_assert_str_eq(label(t.set.nss.v[0], "kubernetes.io/metadata.name"),
	    "prod");
	ck_assert_uint_eq(t.set.nss.v[0]->meta.labels.n, 1);
	d = vt_expect(&t, "metadata.labels", DIAG_WARNING, DIAG_INVALID,
	    "staging", "the API server sets label");
	ck_assert_uint_eq(d->line, 6);
	ck_assert_uint_eq(t.nerr, 0);
	ck_assert_int_eq(t.set.nss.v[0]->invalid, 0);
	vt_free(&t);
}
END_TEST

/* ---- kubectl create service ... --dry-run=client -o yaml ---- */

START_TEST(test_kubectl_clusterip)
{
	struct vt		 t;
	const struct ksvc	*s;

	vt_run(&t,
	    "apiVersion: v1\n"
	    "kind: Service\n"
	    "metadata:\n"
	    "  creationTimestamp: null\n"
	    "  labels:\n"
	    "    app: web\n"
	    "  name: web\n"
	    "spec:\n"
	    "  ports:\n"
	    "  - name: 80-8080\n"
	    "    port: 80\n"
	    "    protocol: TCP\n"
	    "    targetPort: 8080\n"
	    "  selector:\n"
	    "    app: web\n"
	    "  type: ClusterIP\n"
	    "status:\n"
	    "  loadBalancer: {}\n");
	vt_clean(&t);
	s = t.set.svcs.v[0];
	ck_assert_int_eq(s->invalid, 0);
	ck_assert_str_eq(s->spec.session_affinity, "None");
	ck_assert_str_eq(s->spec.internal_traffic_policy, "Cluster");
	ck_assert_ptr_null(s->spec.external_traffic_policy);
	ck_assert_int_eq(s->spec.ports.v[0].target_port.num, 8080);
	vt_free(&t);
}
END_TEST

START_TEST(test_kubectl_nodeport_lb)
{
	static const char *const types[] = { "NodePort", "LoadBalancer" };
	struct vt	t;
	char		yaml[1024];
	size_t		i;

	for (i = 0; i < 2; i++) {
		snprintf(yaml, sizeof(yaml),
		    "apiVersion: v1\n"
		    "kind: Service\n"
		    "metadata:\n"
		    "  creationTimestamp: null\n"
		    "  labels:\n"
		    "    app: web\n"
		    "  name: web\n"
		    "spec:\n"
		    "  ports:\n"
		    "  - name: 80-8080\n"
		    "    port: 80\n"
		    "    protocol: TCP\n"
		    "    targetPort: 8080\n"
		    "  selector:\n"
		    "    app: web\n"
		    "  type: %s\n"
		    "status:\n"
		    "  loadBalancer: {}\n", types[i]);
		vt_run(&t, yaml);
		vt_clean(&t);
		ck_assert_str_eq(t.set.svcs.v[0]->spec.external_traffic_policy,
		    "Cluster");
		ck_assert_int_eq(t.set.svcs.v[0]->spec.
		    allocate_load_balancer_node_ports.set, i == 1);
		vt_free(&t);
	}
}
END_TEST

START_TEST(test_kubectl_externalname)
{
	struct vt t;

	vt_run(&t,
	    "apiVersion: v1\n"
	    "kind: Service\n"
	    "metadata:\n"
	    "  creationTimestamp: null\n"
	    "  labels:\n"
	    "    app: web\n"
	    "  name: web\n"
	    "spec:\n"
	    "  externalName: example.com\n"
	    "  selector:\n"
	    "    app: web\n"
	    "  type: ExternalName\n"
	    "status:\n"
	    "  loadBalancer: {}\n");
	vt_clean(&t);
	ck_assert_ptr_null(t.set.svcs.v[0]->spec.internal_traffic_policy);
	vt_free(&t);
}
END_TEST

static Suite *
val_suite(void)
{
	Suite	*s = suite_create("val");
	TCase	*tc;

	tc = tcase_create("duration");
	tcase_add_test(tc, test_duration);
	suite_add_tcase(s, tc);

	tc = tcase_create("helpers");
	tcase_add_checked_fixture(tc, helper_setup, helper_teardown);
	tcase_add_test(tc, test_dns_names);
	tcase_add_test(tc, test_port_name_and_number);
	tcase_add_test(tc, test_qualified_name);
	tcase_add_test(tc, test_ip_and_cidr);
	tcase_add_test(tc, test_protocol_default);
	suite_add_tcase(s, tc);

	tc = tcase_create("meta");
	tcase_add_test(tc, test_meta_names);
	tcase_add_test(tc, test_meta_labels_annotations);
	tcase_add_test(tc, test_meta_label_value_length);
	tcase_add_test(tc, test_meta_annotation_size);
	suite_add_tcase(s, tc);

	tc = tcase_create("proxyconfig");
	tcase_add_test(tc, test_pcfg_defaults);
	tcase_add_test(tc, test_pcfg_lb_algorithm);
	tcase_add_test(tc, test_pcfg_good);
	tcase_add_test(tc, test_pcfg_bad);
	tcase_add_test(tc, test_pcfg_workers_bounds);
	tcase_add_test(tc, test_pcfg_hc_defaults);
	tcase_add_test(tc, test_pcfg_hc_good);
	tcase_add_test(tc, test_pcfg_hc_bad);
	tcase_add_test(tc, test_pcfg_hc_https_slow_start);
	tcase_add_test(tc, test_pcfg_balancing);
	suite_add_tcase(s, tc);

	tc = tcase_create("namespace");
	tcase_add_test(tc, test_namespaces_implicit);
	tcase_add_test(tc, test_namespace_label_override);
	tcase_add_test(tc, test_namespace_label_defaulted_first);
	suite_add_tcase(s, tc);

	tc = tcase_create("kubectl");
	tcase_add_test(tc, test_kubectl_clusterip);
	tcase_add_test(tc, test_kubectl_nodeport_lb);
	tcase_add_test(tc, test_kubectl_externalname);
	suite_add_tcase(s, tc);

	suite_add_tcase(s, val_tc_service());
	suite_add_tcase(s, val_tc_service_cross());
	suite_add_tcase(s, val_tc_pod());
	suite_add_tcase(s, val_tc_eps());
	suite_add_tcase(s, val_tc_netpol());
	return s;
}

int
main(void)
{
	return unit_run(val_suite());
}
