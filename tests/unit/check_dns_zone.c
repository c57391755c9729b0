/* dns_zone: every record kind the specification defines, from YAML. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns_zone.h"
#include "load.h"
#include "res.h"
#include "unit.h"
#include "val.h"

struct fx {
	struct kset		 set;
	struct diag_list	 dl;
	struct pcfg		 pc;
	struct res_model	 m;
	struct dns_zone		*z;
};

static void
fx_load(struct fx *f, const char *yaml)
{
	memset(f, 0, sizeof(*f));
	if (unit_load(&f->set, &f->dl, yaml) != 0 ||
	    val_all(&f->set, &f->pc, &f->dl) != 0) {
		unit_dump(&f->dl);
		ck_abort_msg("configuration did not load cleanly");
	}
	ck_assert_int_eq(res_build(&f->set, &f->pc, &f->m, &f->dl), 0);
	f->z = dns_zone_build(&f->m, f->pc.dns_domain, f->pc.dns_ttl);
	ck_assert_ptr_nonnull(f->z);
}

static void
fx_free(struct fx *f)
{
	dns_zone_unref(f->z);
	res_free(&f->m);
	unit_free(&f->set, &f->dl);
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The records' data as text, sorted, joined by ' ' (rcode first). */
static const char *
ask(const struct fx *f, const char *name, uint16_t type, char *buf,
    size_t len)
{
	struct dns_answer	 a;
	char			 one[300], **v;
	size_t			 i, o = 0;

	dns_zone_lookup(f->z, name, type, &a);
	o += (size_t)snprintf(buf, len, "%d", a.rcode);
	v = calloc(a.nrrs + 1, sizeof(*v));
	ck_assert_ptr_nonnull(v);
	for (i = 0; i < a.nrrs; i++) {
		const struct dns_rr	*r = &a.rrs[i];
		const uint8_t		*d = r->rdata;
		struct ipaddr		 ip;
		size_t			 k = 0, p = 0, l;

		if (r->type == DNS_T_A || r->type == DNS_T_AAAA) {
			memset(&ip, 0, sizeof(ip));
			ip.family = r->type == DNS_T_A ? AF_INET : AF_INET6;
			memcpy(ip.b, d, r->rdlen);
			ipaddr_format(&ip, one);
		} else if (r->type == DNS_T_TXT) {
			snprintf(one, sizeof(one), "\"%.*s\"", d[0], d + 1);
		} else {
			if (r->type == DNS_T_SRV) {
				k = (size_t)snprintf(one, sizeof(one),
				    "SRV:%u:%u:%u:", d[0] << 8 | d[1],
				    d[2] << 8 | d[3], d[4] << 8 | d[5]);
				p = 6;
			} else if (r->type == DNS_T_CNAME)
				k = (size_t)snprintf(one, sizeof(one),
				    "CNAME:");
			while (p < r->rdlen && (l = d[p]) != 0) {
				k += (size_t)snprintf(one + k, sizeof(one) - k,
				    "%.*s.", (int)l, d + p + 1);
				p += 1 + l;
			}
		}
		v[i] = strdup(one);
	}
	qsort(v, a.nrrs, sizeof(*v), str_cmp);
	for (i = 0; i < a.nrrs && o < len; i++) {
		o += (size_t)snprintf(buf + o, len - o, " %s", v[i]);
		free(v[i]);
	}
	free(v);
	return buf;
}

#define PCFG(domain) \
	"---\napiVersion: svcproxy.io/v1alpha1\nkind: ProxyConfig\n" \
	"metadata: {name: p}\nspec:\n  dns: {listen: \"127.0.0.1:53\", " \
	"clusterDomain: " domain ", ttl: 7}\n"

#define SVC \
	"---\napiVersion: v1\nkind: Service\n" \
	"metadata: {name: web, namespace: default}\n" \
	"spec:\n  clusterIP: 10.96.0.10\n" \
	"  ports:\n  - {name: http, port: 80}\n" \
	"  - {name: dns, port: 53, protocol: UDP}\n"

START_TEST(test_cluster_ip)
{
	struct fx	f;
	char		b[1024];

	fx_load(&f, PCFG("Cluster.Local") SVC);
	ck_assert_str_eq(ask(&f, "web.default.svc.cluster.local.", DNS_T_A, b,
	    sizeof(b)), "0 10.96.0.10");
	/* Case does not matter, nor the final dot. */
	ck_assert_str_eq(ask(&f, "WEB.Default.SVC.cluster.LOCAL", DNS_T_A, b,
	    sizeof(b)), "0 10.96.0.10");
	/* The name exists: no AAAA is NOERROR, no records. */
	ck_assert_str_eq(ask(&f, "web.default.svc.cluster.local", DNS_T_AAAA,
	    b, sizeof(b)), "0");
	ck_assert_str_eq(ask(&f, "_http._tcp.web.default.svc.cluster.local",
	    DNS_T_SRV, b, sizeof(b)),
	    "0 SRV:0:100:80:web.default.svc.cluster.local.");
	ck_assert_str_eq(ask(&f, "_dns._udp.web.default.svc.cluster.local",
	    DNS_T_SRV, b, sizeof(b)),
	    "0 SRV:0:100:53:web.default.svc.cluster.local.");
	/* Not the protocol of the port; an unnamed port has no SRV. */
	ck_assert_str_eq(ask(&f, "_dns._tcp.web.default.svc.cluster.local",
	    DNS_T_SRV, b, sizeof(b)), "3");
	/* Parents of names are empty, not missing. */
	ck_assert_str_eq(ask(&f, "_tcp.web.default.svc.cluster.local",
	    DNS_T_SRV, b, sizeof(b)), "0");
	ck_assert_str_eq(ask(&f, "default.svc.cluster.local", DNS_T_A, b,
	    sizeof(b)), "0");
	ck_assert_str_eq(ask(&f, "10.0.96.10.in-addr.arpa", DNS_T_PTR, b,
	    sizeof(b)), "0 web.default.svc.cluster.local.");
	ck_assert_str_eq(ask(&f, "dns-version.cluster.local", DNS_T_TXT, b,
	    sizeof(b)), "0 \"" DNS_SCHEMA_VERSION "\"");
	ck_assert_str_eq(ask(&f, "nope.default.svc.cluster.local", DNS_T_A, b,
	    sizeof(b)), "3");
	ck_assert_str_eq(ask(&f, "web.other.svc.cluster.local", DNS_T_A, b,
	    sizeof(b)), "3");
	ck_assert_str_eq(ask(&f, "example.com", DNS_T_A, b, sizeof(b)), "5");
	ck_assert_str_eq(ask(&f, "xcluster.local", DNS_T_A, b, sizeof(b)),
	    "5");
	ck_assert_str_eq(ask(&f, "11.0.96.10.in-addr.arpa", DNS_T_PTR, b,
	    sizeof(b)), "5");
	/* The deprecated Pod record. */
	ck_assert_str_eq(ask(&f, "10-1-2-3.default.pod.cluster.local",
	    DNS_T_A, b, sizeof(b)), "0 10.1.2.3");
	ck_assert_str_eq(ask(&f, "10-1-2-300.default.pod.cluster.local",
	    DNS_T_A, b, sizeof(b)), "3");
	dns_zone_unref(dns_zone_ref(f.z));	/* a reader's reference */
	ck_assert_uint_eq(dns_zone_nrecords(f.z), 6);
	fx_free(&f);
}
END_TEST

/* Negative answers in the domain carry the SOA; others do not. */
START_TEST(test_soa)
{
	struct fx		 f;
	struct dns_answer	 a;
	char			 b[256];

	fx_load(&f, PCFG("cluster.local") SVC);
	dns_zone_lookup(f.z, "nope.default.svc.cluster.local", DNS_T_A, &a);
	ck_assert_int_eq(a.rcode, DNS_R_NXDOMAIN);
	ck_assert_ptr_nonnull(a.soa);
	ck_assert_str_eq(a.soa_name, "cluster.local");
	/* minimum (the last 4 bytes) is the zone's TTL */
	ck_assert_uint_eq(a.soa->rdata[a.soa->rdlen - 1], 7);
	ck_assert_int_eq(memcmp(a.soa->rdata, "\2ns\3dns\7cluster\5local",
	    22), 0);
	dns_zone_lookup(f.z, "web.default.svc.cluster.local", DNS_T_AAAA, &a);
	ck_assert_int_eq(a.rcode, DNS_R_NOERROR);
	ck_assert_ptr_nonnull(a.soa);
	dns_zone_lookup(f.z, "web.default.svc.cluster.local", DNS_T_A, &a);
	ck_assert_ptr_null(a.soa);
	dns_zone_lookup(f.z, "example.com", DNS_T_A, &a);
	ck_assert_ptr_null(a.soa);
	dns_zone_lookup(f.z, "11.0.96.10.in-addr.arpa", DNS_T_PTR, &a);
	ck_assert_ptr_null(a.soa);
	dns_zone_lookup(f.z, "cluster.local", DNS_T_SOA, &a);
	ck_assert_uint_eq(a.nrrs, 1);
	ck_assert_ptr_null(a.soa);
	ck_assert_str_eq(ask(&f, "cluster.local", DNS_T_A, b, sizeof(b)), "0");
	fx_free(&f);
}
END_TEST

START_TEST(test_domain)
{
	struct fx	f;
	char		b[256];

	fx_load(&f, PCFG("corp.example.") SVC);
	ck_assert_str_eq(ask(&f, "web.default.svc.corp.example", DNS_T_A, b,
	    sizeof(b)), "0 10.96.0.10");
	ck_assert_str_eq(ask(&f, "web.default.svc.cluster.local", DNS_T_A, b,
	    sizeof(b)), "5");
	ck_assert_str_eq(ask(&f, "dns-version.corp.example", DNS_T_TXT, b,
	    sizeof(b)), "0 \"1.1.0\"");
	fx_free(&f);
}
END_TEST

START_TEST(test_ipv6)
{
	struct fx	f;
	char		b[512];

	fx_load(&f, PCFG("cluster.local")
	    "---\napiVersion: v1\nkind: Service\n"
	    "metadata: {name: six, namespace: ns1}\n"
	    "spec:\n  clusterIP: fd00::a\n  ipFamilies: [IPv6]\n"
	    "  ports:\n  - {name: h, port: 80}\n");
	ck_assert_str_eq(ask(&f, "six.ns1.svc.cluster.local", DNS_T_AAAA, b,
	    sizeof(b)), "0 fd00::a");
	ck_assert_str_eq(ask(&f, "six.ns1.svc.cluster.local", DNS_T_A, b,
	    sizeof(b)), "0");
	ck_assert_str_eq(ask(&f, "a.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
	    "0.0.0.0.0.0.0.0.D.F.ip6.arpa", DNS_T_PTR, b, sizeof(b)),
	    "0 six.ns1.svc.cluster.local.");
	fx_free(&f);
}
END_TEST

/* Dual-stack clusterIPs: A the IPv4 one, AAAA the IPv6 one, PTR both. */
START_TEST(test_dual_stack)
{
	/* Either family first; either dual-stack policy. */
	static const char *const spec[] = {
	    "  clusterIP: 10.96.0.11\n  clusterIPs: [10.96.0.11, fd00::b]\n"
	    "  ipFamilyPolicy: PreferDualStack\n",
	    "  clusterIP: fd00::b\n  clusterIPs: [fd00::b, 10.96.0.11]\n"
	    "  ipFamilyPolicy: RequireDualStack\n"
	};
	struct fx	f;
	char		b[512], y[1024];
	size_t		i;

	for (i = 0; i < 2; i++) {
		snprintf(y, sizeof(y), "%s---\napiVersion: v1\nkind: Service\n"
		    "metadata: {name: two, namespace: ns1}\nspec:\n%s"
		    "  ports:\n  - {name: h, port: 80}\n",
		    PCFG("cluster.local"), spec[i]);
		fx_load(&f, y);
		ck_assert_str_eq(ask(&f, "two.ns1.svc.cluster.local", DNS_T_A,
		    b, sizeof(b)), "0 10.96.0.11");
		ck_assert_str_eq(ask(&f, "two.ns1.svc.cluster.local",
		    DNS_T_AAAA, b, sizeof(b)), "0 fd00::b");
		ck_assert_str_eq(ask(&f, "11.0.96.10.in-addr.arpa", DNS_T_PTR,
		    b, sizeof(b)), "0 two.ns1.svc.cluster.local.");
		ck_assert_str_eq(ask(&f, "b.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
		    "0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa", DNS_T_PTR, b,
		    sizeof(b)), "0 two.ns1.svc.cluster.local.");
		ck_assert_str_eq(ask(&f, "_h._tcp.two.ns1.svc.cluster.local",
		    DNS_T_SRV, b, sizeof(b)),
		    "0 SRV:0:100:80:two.ns1.svc.cluster.local.");
		fx_free(&f);
	}
}
END_TEST

START_TEST(test_external_name)
{
	struct fx	f;
	char		b[256];

	fx_load(&f, PCFG("cluster.local")
	    "---\napiVersion: v1\nkind: Service\n"
	    "metadata: {name: ext, namespace: default}\n"
	    "spec:\n  type: ExternalName\n  externalName: www.example.com\n");
	ck_assert_str_eq(ask(&f, "ext.default.svc.cluster.local", DNS_T_A, b,
	    sizeof(b)), "0 CNAME:www.example.com.");
	ck_assert_str_eq(ask(&f, "ext.default.svc.cluster.local", DNS_T_CNAME,
	    b, sizeof(b)), "0 CNAME:www.example.com.");
	ck_assert_str_eq(ask(&f, "ext.default.svc.cluster.local", DNS_T_SRV,
	    b, sizeof(b)), "0 CNAME:www.example.com.");
	fx_free(&f);
}
END_TEST

#define SLICE_HEAD(name, svc) \
	"---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n" \
	"metadata:\n  name: " name "\n  namespace: default\n" \
	"  labels: {kubernetes.io/service-name: " svc "}\n" \
	"addressType: IPv4\nports:\n- {name: pg, port: 5432}\n" \
	"endpoints:\n"

START_TEST(test_headless)
{
	struct fx	f;
	char		b[1024];

	fx_load(&f, PCFG("cluster.local")
	    "---\napiVersion: v1\nkind: Service\n"
	    "metadata: {name: db, namespace: default}\n"
	    "spec:\n  clusterIP: None\n  ports:\n  - {name: pg, port: 5432}\n"
	    SLICE_HEAD("db-1", "db")
	    "- addresses: [10.1.0.1]\n  hostname: db-0\n"
	    "- addresses: [10.1.0.2]\n"
	    "- addresses: [10.1.0.3]\n  conditions: {ready: false}\n"
	    "---\napiVersion: v1\nkind: Service\n"
	    "metadata: {name: empty, namespace: default}\n"
	    "spec:\n  clusterIP: None\n  ports:\n  - {name: pg, port: 5432}\n"
	    SLICE_HEAD("empty-1", "empty")
	    "- addresses: [10.1.0.9]\n  conditions: {ready: false}\n");
	ck_assert_str_eq(ask(&f, "db.default.svc.cluster.local", DNS_T_A, b,
	    sizeof(b)), "0 10.1.0.1 10.1.0.2");
	ck_assert_str_eq(ask(&f, "db-0.db.default.svc.cluster.local", DNS_T_A,
	    b, sizeof(b)), "0 10.1.0.1");
	ck_assert_str_eq(ask(&f, "10-1-0-2.db.default.svc.cluster.local",
	    DNS_T_A, b, sizeof(b)), "0 10.1.0.2");
	ck_assert_str_eq(ask(&f, "10-1-0-3.db.default.svc.cluster.local",
	    DNS_T_A, b, sizeof(b)), "3");
	ck_assert_str_eq(ask(&f, "_pg._tcp.db.default.svc.cluster.local",
	    DNS_T_SRV, b, sizeof(b)),
	    "0 SRV:0:100:5432:10-1-0-2.db.default.svc.cluster.local. "
	    "SRV:0:100:5432:db-0.db.default.svc.cluster.local.");
	ck_assert_str_eq(ask(&f, "1.0.1.10.in-addr.arpa", DNS_T_PTR, b,
	    sizeof(b)), "0 db-0.db.default.svc.cluster.local.");
	/* No ready endpoint: NXDOMAIN, as the spec asks. */
	ck_assert_str_eq(ask(&f, "empty.default.svc.cluster.local", DNS_T_A,
	    b, sizeof(b)), "3");
	ck_assert_str_eq(ask(&f, "_pg._tcp.empty.default.svc.cluster.local",
	    DNS_T_SRV, b, sizeof(b)), "3");
	fx_free(&f);
}
END_TEST

#define POD(name, ip, extra) \
	"---\napiVersion: v1\nkind: Pod\n" \
	"metadata: {name: " name ", namespace: default, labels: {app: db}}\n" \
	"spec:\n  containers: [{name: c, ports: [{name: pg, " \
	"containerPort: 5432}]}]\n" extra \
	"status:\n  podIPs: " ip "\n"

/*
 * Pods selected by a headless Service: spec.hostname names the endpoint
 * only when spec.subdomain is that Service (ShouldSetHostname).
 */
START_TEST(test_pod_hostname)
{
	struct fx	f;
	char		b[1024];

	fx_load(&f, PCFG("cluster.local")
	    "---\napiVersion: v1\nkind: Service\n"
	    "metadata: {name: db, namespace: default}\n"
	    "spec:\n  clusterIP: None\n  selector: {app: db}\n"
	    "  ports:\n  - {name: pg, port: 5432}\n"
	    POD("p0", "[{ip: 10.1.0.1}, {ip: \"fd00::1\"}]",
	    "  hostname: db-0\n  subdomain: db\n")
	    POD("p1", "[{ip: 10.1.0.2}]", "  hostname: db-1\n  subdomain: x\n")
	    POD("p2", "[{ip: 10.1.0.3}]", "  subdomain: db\n")
	    POD("p3", "[{ip: 10.1.0.4}]", "  hostname: db-3\n")
	    "---\napiVersion: v1\nkind: Service\n"
	    "metadata: {name: x, namespace: default}\n"
	    "spec:\n  clusterIP: 10.96.0.20\n  selector: {app: db}\n"
	    "  ports:\n  - {name: pg, port: 5432}\n");
	ck_assert_str_eq(ask(&f, "db-0.db.default.svc.cluster.local", DNS_T_A,
	    b, sizeof(b)), "0 10.1.0.1");
	ck_assert_str_eq(ask(&f, "db-0.db.default.svc.cluster.local",
	    DNS_T_AAAA, b, sizeof(b)), "0 fd00::1");
	ck_assert_str_eq(ask(&f, "1.0.1.10.in-addr.arpa", DNS_T_PTR, b,
	    sizeof(b)), "0 db-0.db.default.svc.cluster.local.");
	/* Another subdomain, or none, or no hostname: the dashed form.
	   db-0's two addresses give one SRV record, not two. */
	ck_assert_str_eq(ask(&f, "db-1.db.default.svc.cluster.local", DNS_T_A,
	    b, sizeof(b)), "3");
	ck_assert_str_eq(ask(&f, "10-1-0-2.db.default.svc.cluster.local",
	    DNS_T_A, b, sizeof(b)), "0 10.1.0.2");
	ck_assert_str_eq(ask(&f, "10-1-0-3.db.default.svc.cluster.local",
	    DNS_T_A, b, sizeof(b)), "0 10.1.0.3");
	ck_assert_str_eq(ask(&f, "db-3.db.default.svc.cluster.local", DNS_T_A,
	    b, sizeof(b)), "3");
	ck_assert_str_eq(ask(&f, "_pg._tcp.db.default.svc.cluster.local",
	    DNS_T_SRV, b, sizeof(b)),
	    "0 SRV:0:100:5432:10-1-0-2.db.default.svc.cluster.local. "
	    "SRV:0:100:5432:10-1-0-3.db.default.svc.cluster.local. "
	    "SRV:0:100:5432:10-1-0-4.db.default.svc.cluster.local. "
	    "SRV:0:100:5432:db-0.db.default.svc.cluster.local.");
	/* A subdomain naming a Service with a clusterIP: no Pod names. */
	ck_assert_str_eq(ask(&f, "db-1.x.default.svc.cluster.local", DNS_T_A,
	    b, sizeof(b)), "3");
	fx_free(&f);
}
END_TEST

START_TEST(test_headless_many)
{
	struct fx		 f;
	struct dns_answer	 a;
	char			*y, *p, name[80];
	size_t			 len = 1 << 16, i;

	y = p = malloc(len);
	ck_assert_ptr_nonnull(y);
	p += snprintf(p, len, "%s", PCFG("cluster.local")
	    "---\napiVersion: v1\nkind: Service\n"
	    "metadata: {name: big, namespace: default}\n"
	    "spec:\n  clusterIP: None\n  ports:\n  - {name: pg, port: 5432}\n"
	    SLICE_HEAD("big-1", "big"));
	for (i = 0; i < 300; i++)
		p += snprintf(p, len - (size_t)(p - y),
		    "- addresses: [10.2.%zu.%zu]\n", i / 200, i % 200 + 1);
	fx_load(&f, y);
	free(y);
	dns_zone_lookup(f.z, "big.default.svc.cluster.local", DNS_T_A, &a);
	ck_assert_int_eq(a.rcode, DNS_R_NOERROR);
	ck_assert_uint_eq(a.nrrs, 300);
	ck_assert_uint_eq(a.ttl, 7);
	dns_zone_lookup(f.z, "_pg._tcp.big.default.svc.cluster.local",
	    DNS_T_SRV, &a);
	ck_assert_uint_eq(a.nrrs, 300);
	for (i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "10-2-%zu-%zu.BIG.default.svc."
		    "cluster.local", i / 200, i % 200 + 1);
		dns_zone_lookup(f.z, name, DNS_T_A, &a);
		ck_assert_uint_eq(a.nrrs, 1);
		ck_assert_uint_eq(a.rrs[0].rdata[3], i % 200 + 1);
	}
	fx_free(&f);
}
END_TEST

START_TEST(test_wire)
{
	uint8_t	b[300];
	char	n[300];

	ck_assert_uint_eq(dns_name_wire("a.bc", b, sizeof(b)), 6);
	ck_assert_int_eq(memcmp(b, "\1a\2bc\0", 6), 0);
	ck_assert_uint_eq(dns_name_wire("a..b", b, sizeof(b)), 0);
	ck_assert_uint_eq(dns_name_wire("", b, sizeof(b)), 0);
	memset(n, 'x', 64);
	n[64] = '\0';
	ck_assert_uint_eq(dns_name_wire(n, b, sizeof(b)), 0);
	ck_assert_uint_eq(dns_name_wire("a.bc", b, 5), 0);
}
END_TEST

/* spec.dns: defaults, and each field's error at its path. */
START_TEST(test_config)
{
	struct kset		 set;
	struct diag_list	 dl;
	struct pcfg		 pc;
	const struct diag	*d;

	memset(&dl, 0, sizeof(dl));
	ck_assert_int_eq(unit_load(&set, &dl, "---\napiVersion: "
	    "svcproxy.io/v1alpha1\nkind: ProxyConfig\nmetadata: {name: p}\n"
	    "spec: {}\n"), 0);
	ck_assert_uint_eq(val_all(&set, &pc, &dl), 0);
	ck_assert_int_eq(pc.dns_on, 0);
	ck_assert_str_eq(pc.dns_domain, "cluster.local");
	ck_assert_uint_eq(pc.dns_ttl, 5);
	unit_free(&set, &dl);

	memset(&dl, 0, sizeof(dl));
	ck_assert_int_eq(unit_load(&set, &dl, "---\napiVersion: "
	    "svcproxy.io/v1alpha1\nkind: ProxyConfig\nmetadata: {name: p}\n"
	    "spec:\n  dns: {listen: \"127.0.0.1\", clusterDomain: a_b, "
	    "ttl: 3601}\n"), 0);
	ck_assert_uint_eq(val_all(&set, &pc, &dl), 3);
	ck_assert_ptr_nonnull(d = unit_find(&dl, "spec.dns.listen"));
	ck_assert_str_eq(d->bad, "127.0.0.1");
	ck_assert_ptr_nonnull(d = unit_find(&dl, "spec.dns.clusterDomain"));
	ck_assert_str_eq(d->bad, "a_b");
	ck_assert_ptr_nonnull(d = unit_find(&dl, "spec.dns.ttl"));
	ck_assert_str_eq(d->detail, "must be between 0 and 3600, inclusive "
	    "(seconds)");
	ck_assert_int_eq(pc.dns_on, 0);
	/* A bad field keeps its default. */
	ck_assert_uint_eq(pc.dns_ttl, 5);
	unit_free(&set, &dl);

	memset(&dl, 0, sizeof(dl));
	ck_assert_int_eq(unit_load(&set, &dl, "---\napiVersion: "
	    "svcproxy.io/v1alpha1\nkind: ProxyConfig\nmetadata: {name: p}\n"
	    "spec:\n  dns: {listen: \"[::1]:53\", ttl: 0}\n"), 0);
	ck_assert_uint_eq(val_all(&set, &pc, &dl), 0);
	ck_assert_int_eq(pc.dns_on, 1);
	ck_assert_uint_eq(pc.dns_port, 53);
	ck_assert_uint_eq(pc.dns_ttl, 0);
	unit_free(&set, &dl);
}
END_TEST

static Suite *
dns_zone_suite(void)
{
	Suite	*s = suite_create("dns_zone");
	TCase	*tc = tcase_create("records");

	tcase_add_test(tc, test_cluster_ip);
	tcase_add_test(tc, test_domain);
	tcase_add_test(tc, test_soa);
	tcase_add_test(tc, test_ipv6);
	tcase_add_test(tc, test_dual_stack);
	tcase_add_test(tc, test_external_name);
	tcase_add_test(tc, test_headless);
	tcase_add_test(tc, test_pod_hostname);
	tcase_add_test(tc, test_headless_many);
	tcase_add_test(tc, test_wire);
	tcase_add_test(tc, test_config);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(dns_zone_suite());
}
