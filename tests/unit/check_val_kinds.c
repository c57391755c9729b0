/* val: Pod, EndpointSlice and NetworkPolicy rules and defaults. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

#include "check_val.h"

#define E	DIAG_ERROR
#define W	DIAG_WARNING

/* ---- Pod ---- */

#define POD(body) "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n" body

START_TEST(test_pod_ports)
{
	struct vt		 t;
	const struct diag	*d;

	vt_run(&t, POD("spec:\n  containers:\n  - name: a\n    ports:\n"
	    "    - {name: http, containerPort: 8080}\n"
	    "    - {name: dns, containerPort: 53, protocol: UDP}\n"
	    "  initContainers:\n  - name: i\n    ports:\n"
	    "    - {containerPort: 9000, hostPort: 9000}\n"
	    "status:\n  podIP: 10.1.0.5\n  podIPs: [{ip: 10.1.0.5}, "
	    "{ip: \"fd00::5\"}]\n"));
	vt_clean(&t);
	ck_assert_int_eq(t.set.pods.v[0]->invalid, 0);
	ck_assert_str_eq(t.set.pods.v[0]->spec.containers.v[0].ports.v[0].
	    protocol, "TCP");
	ck_assert_str_eq(t.set.pods.v[0]->spec.init_containers.v[0].ports.
	    v[0].protocol, "TCP");
	vt_free(&t);

	vt_run(&t, POD("spec:\n  containers:\n  - name: a\n    ports:\n"
	    "    - {name: HTTP, containerPort: 8080}\n"
	    "    - {name: web, containerPort: 70000}\n"
	    "    - {name: web, containerPort: 81, protocol: ICMP}\n"
	    "    - {name: x, hostPort: 0}\n"
	    "    - {containerPort: 82, hostPort: 65536}\n"));
	d = vt_expect(&t, "spec.containers[0].ports[0].name", E, DIAG_INVALID,
	    "HTTP", "must contain only alpha-numeric characters");
	ck_assert_uint_eq(d->line, 8);
	ck_assert_uint_eq(d->col, 14);
	vt_expect(&t, "spec.containers[0].ports[1].containerPort", E,
	    DIAG_INVALID, "70000", "must be between 1 and 65535, inclusive");
	vt_expect(&t, "spec.containers[0].ports[2].name", E, DIAG_DUPLICATE,
	    "web", NULL);
	vt_expect(&t, "spec.containers[0].ports[2].protocol", E,
	    DIAG_NOT_SUPPORTED, "ICMP", NULL);
	vt_expect(&t, "spec.containers[0].ports[3].containerPort", E,
	    DIAG_REQUIRED, NULL, NULL);
	vt_expect(&t, "spec.containers[0].ports[4].hostPort", E,
	    DIAG_INVALID, "65536", NULL);
	ck_assert_uint_eq(t.nerr, 7);	/* HTTP breaks two rules */
	ck_assert_int_eq(t.set.pods.v[0]->invalid, 1);
	vt_free(&t);
}
END_TEST

START_TEST(test_pod_port_names_across_containers)
{
	struct vt t;

	/* Legal for the API server; ambiguous for a named targetPort. */
	vt_run(&t, POD("spec:\n  containers:\n"
	    "  - {name: a, ports: [{name: http, containerPort: 80}]}\n"
	    "  - {name: b, ports: [{name: http, containerPort: 81}]}\n"));
	vt_expect(&t, "spec.containers[1].ports[0].name", W, DIAG_DUPLICATE,
	    "http", "another container has a port of this name");
	ck_assert_uint_eq(t.nerr, 0);
	ck_assert_int_eq(t.set.pods.v[0]->invalid, 0);
	vt_free(&t);
	/* Same index, different lists: not the same container. */
	vt_run(&t, POD("spec:\n"
	    "  containers: [{name: a, ports: [{name: m, containerPort: 80}]}]\n"
	    "  initContainers: [{name: b, ports: [{name: m, containerPort: "
	    "81}]}]\n"));
	vt_expect(&t, "spec.initContainers[0].ports[0].name", W,
	    DIAG_DUPLICATE, "m", NULL);
	ck_assert_uint_eq(t.nerr, 0);
	vt_free(&t);
}
END_TEST

START_TEST(test_pod_ips)
{
	struct vt		 t;
	const struct diag	*d;

	/* Conversion makes podIPs [podIP]: errors are at podIPs[0]. */
	vt_run(&t, POD("status:\n  podIP: 10.1.0.256\n"));
	d = vt_expect(&t, "status.podIPs[0]", E, DIAG_INVALID, "10.1.0.256",
	    "must be a valid IP address");
	ck_assert_uint_eq(d->line, 5);
	ck_assert_uint_eq(d->col, 10);
	ck_assert_int_eq(t.set.pods.v[0]->invalid, 1);
	vt_free(&t);

	/* validatePodIPs: the entry's path, not its ip field's. */
	vt_run(&t, POD("status:\n  podIPs: [{ip: 10.1.0.1}, {ip: x}]\n"));
	vt_expect(&t, "status.podIPs[1]", E, DIAG_INVALID, "x", NULL);
	ck_assert_uint_eq(t.nerr, 1);
	vt_free(&t);

	vt_run(&t, POD("status:\n"
	    "  podIPs: [{ip: 10.1.0.1}, {ip: 10.1.0.2}]\n"));
	vt_expect(&t, "status.podIPs", E, DIAG_INVALID, NULL,
	    "may specify no more than one IP for each IP family");
	vt_free(&t);

	/* A repeat is also a Duplicate. */
	vt_run(&t, POD("status:\n"
	    "  podIPs: [{ip: \"fd00::1\"}, {ip: \"fd00::1\"}]\n"));
	vt_expect(&t, "status.podIPs[1]", E, DIAG_DUPLICATE, "fd00::1", NULL);
	vt_expect(&t, "status.podIPs", E, DIAG_INVALID, NULL,
	    "may specify no more than one IP for each IP family");
	ck_assert_uint_eq(t.nerr, 2);
	vt_free(&t);

	/* Loopback: a warning, once. */
	vt_run(&t, POD("status:\n  podIP: 127.0.0.2\n"
	    "  podIPs: [{ip: 127.0.0.2}]\n"));
	vt_expect(&t, "status.podIPs[0]", W, DIAG_INVALID, "127.0.0.2",
	    "single-machine testing");
	ck_assert_uint_eq(t.dl.nwarn, 1);
	ck_assert_uint_eq(t.nerr, 0);
	ck_assert_int_eq(t.set.pods.v[0]->invalid, 0);
	vt_free(&t);

	/* podIP wins; the podIPs it replaces are not looked at. */
	vt_run(&t, POD("status:\n  podIP: 10.1.0.1\n"
	    "  podIPs: [{ip: 10.1.0.2}, {ip: x}]\n"));
	vt_expect(&t, "status.podIPs[0].ip", W, DIAG_INVALID, "10.1.0.2",
	    "status.podIP is used");
	ck_assert_uint_eq(t.nerr, 0);
	vt_free(&t);
}
END_TEST

START_TEST(test_pod_name)
{
	struct vt t;

	vt_run(&t, "apiVersion: v1\nkind: Pod\nmetadata: {name: web.v1-0}\n");
	vt_clean(&t);
	vt_free(&t);
	vt_run(&t, "apiVersion: v1\nkind: Pod\nmetadata: {name: Web}\n");
	vt_expect(&t, "metadata.name", E, DIAG_INVALID, "Web",
	    "a lowercase RFC 1123 subdomain");
	ck_assert_int_eq(t.set.pods.v[0]->invalid, 1);
	vt_free(&t);
}
END_TEST

/* ValidatePodSpec: spec.hostname and spec.subdomain are DNS-1123 labels. */
START_TEST(test_pod_hostname)
{
	struct vt		 t;
	const struct diag	*d;
	char			 y[512], long_label[65];

	vt_run(&t, POD("spec:\n  hostname: db-0\n  subdomain: db\n"));
	vt_clean(&t);
	ck_assert_str_eq(t.set.pods.v[0]->spec.hostname, "db-0");
	ck_assert_str_eq(t.set.pods.v[0]->spec.subdomain, "db");
	vt_free(&t);

	vt_run(&t, POD("spec:\n  hostname: Db_0\n  subdomain: db.sub\n"));
	d = vt_expect(&t, "spec.hostname", E, DIAG_INVALID, "Db_0",
	    "a lowercase RFC 1123 label must consist of lower case "
	    "alphanumeric characters or '-'");
	ck_assert_uint_eq(d->line, 5);
	ck_assert_uint_eq(d->col, 13);
	d = vt_expect(&t, "spec.subdomain", E, DIAG_INVALID, "db.sub",
	    "must not contain dots");
	ck_assert_uint_eq(d->line, 6);
	ck_assert_uint_eq(d->col, 14);
	ck_assert_uint_eq(t.nerr, 2);
	ck_assert_int_eq(t.set.pods.v[0]->invalid, 1);
	vt_free(&t);

	memset(long_label, 'a', 64);
	long_label[64] = '\0';
	snprintf(y, sizeof(y), POD("spec:\n  subdomain: %s\n"), long_label);
	vt_run(&t, y);
	vt_expect(&t, "spec.subdomain", E, DIAG_INVALID, long_label,
	    "must be no more than 63 characters");
	ck_assert_uint_eq(t.nerr, 1);
	vt_free(&t);

	/* Empty is unset, as the API server's len() > 0. */
	vt_run(&t, POD("spec:\n  hostname: \"\"\n  subdomain: \"\"\n"));
	vt_clean(&t);
	vt_free(&t);
}
END_TEST

/* svcproxy.io/weight on a Pod: 0 to 256, HAProxy's range. */
START_TEST(test_pod_weight)
{
	static const char *good[] = { "0", "1", "3", "256" };
	static const char *bad[] = { "257", "-1", "1.5", "heavy", "",
	    "0x10", " 2" };
	const struct diag	*d;
	struct vt		 t;
	char			 y[512];
	size_t			 i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(y, sizeof(y), "apiVersion: v1\nkind: Pod\n"
		    "metadata:\n  name: web\n  annotations:\n"
		    "    svcproxy.io/weight: \"%s\"\n", good[i]);
		vt_run(&t, y);
		vt_clean(&t);
		vt_free(&t);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(y, sizeof(y), "apiVersion: v1\nkind: Pod\n"
		    "metadata:\n  name: web\n  annotations:\n"
		    "    svcproxy.io/weight: \"%s\"\n", bad[i]);
		vt_run(&t, y);
		d = vt_expect(&t, "metadata.annotations[svcproxy.io/weight]",
		    E, DIAG_INVALID, bad[i], "must be an integer from 0 to "
		    "256 (HAProxy's weight range; 0 drains");
		ck_assert_uint_eq(d->line, 6);
		ck_assert_uint_eq(d->col, 25);
		ck_assert_int_eq(t.set.pods.v[0]->invalid, 1);
		vt_free(&t);
	}
}
END_TEST

TCase *
val_tc_pod(void)
{
	TCase *tc = tcase_create("pod");

	tcase_add_test(tc, test_pod_ports);
	tcase_add_test(tc, test_pod_port_names_across_containers);
	tcase_add_test(tc, test_pod_ips);
	tcase_add_test(tc, test_pod_name);
	tcase_add_test(tc, test_pod_hostname);
	tcase_add_test(tc, test_pod_weight);
	return tc;
}

/* ---- EndpointSlice ---- */

#define EPS(type, body) "apiVersion: discovery.k8s.io/v1\n" \
	"kind: EndpointSlice\nmetadata:\n  name: web-abc\n  labels:\n" \
	"    kubernetes.io/service-name: web\naddressType: " type "\n" body

START_TEST(test_eps_good)
{
	struct vt		 t;
	const struct keps	*e;

	vt_run(&t, EPS("IPv4", "endpoints:\n"
	    "- addresses: [10.1.0.5]\n  conditions: {ready: true}\n"
	    "  hostname: web-0\n  nodeName: node-1.example\n"
	    "  targetRef: {kind: Pod, name: web-0, namespace: default}\n"
	    "ports:\n- {name: http, port: 8080}\n- {name: dns, port: 53, "
	    "protocol: UDP}\n"));
	vt_clean(&t);
	e = t.set.epss.v[0];
	ck_assert_int_eq(e->invalid, 0);
	ck_assert_str_eq(e->ports.v[0].protocol, "TCP");
	vt_free(&t);

	vt_run(&t, EPS("IPv6", "endpoints:\n- addresses: [\"fd00::5\"]\n"
	    "ports:\n- {port: 8080}\n"));
	vt_clean(&t);
	vt_free(&t);
}
END_TEST

START_TEST(test_eps_address_type)
{
	struct vt		 t;
	const struct diag	*d;

	vt_run(&t, EPS("IPv5", ""));
	d = vt_expect(&t, "addressType", E, DIAG_NOT_SUPPORTED, "IPv5",
	    "supported values: \"FQDN\", \"IPv4\", \"IPv6\"");
	ck_assert_uint_eq(d->line, 7);
	ck_assert_uint_eq(d->col, 14);
	ck_assert_int_eq(t.set.epss.v[0]->invalid, 1);
	vt_free(&t);

	vt_run(&t, "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
	    "metadata:\n  name: e\n"
	    "  labels: {kubernetes.io/service-name: w}\n");
	vt_expect(&t, "addressType", E, DIAG_REQUIRED, NULL, NULL);
	vt_free(&t);

	/* FQDN: accepted, not proxied. */
	vt_run(&t, EPS("FQDN", "endpoints:\n- addresses: [db.example.com]\n"));
	vt_expect(&t, "addressType", W, DIAG_INVALID, "FQDN",
	    "not used");
	ck_assert_uint_eq(t.nerr, 0);
	ck_assert_int_eq(t.set.epss.v[0]->invalid, 0);
	vt_free(&t);
	vt_run(&t, EPS("FQDN", "endpoints:\n- addresses: [db]\n"));
	vt_expect(&t, "endpoints[0].addresses[0]", E, DIAG_INVALID, "db",
	    "should be a domain with at least two segments");
	vt_free(&t);
}
END_TEST

START_TEST(test_eps_addresses)
{
	struct vt		 t;
	const struct diag	*d;

	vt_run(&t, EPS("IPv4", "endpoints:\n"
	    "- addresses: [\"fd00::1\"]\n"
	    "- addresses: []\n"
	    "- addresses: [0.0.0.0, 169.254.0.1, 10.0.0.300]\n"
	    "  hostname: Web\n  nodeName: Node_1\n"));
	d = vt_expect(&t, "endpoints[0].addresses[0]", E, DIAG_INVALID,
	    "fd00::1", "must be a valid IPv4 address");
	ck_assert_uint_eq(d->line, 9);
	ck_assert_uint_eq(d->col, 15);
	vt_expect(&t, "endpoints[1].addresses", E, DIAG_REQUIRED, NULL,
	    "must contain at least 1 address");
	vt_expect(&t, "endpoints[2].addresses[0]", E, DIAG_INVALID, "0.0.0.0",
	    "may not be unspecified");
	vt_expect(&t, "endpoints[2].addresses[1]", E, DIAG_INVALID,
	    "169.254.0.1", "link-local");
	vt_expect(&t, "endpoints[2].addresses[2]", E, DIAG_INVALID,
	    "10.0.0.300", NULL);
	vt_expect(&t, "endpoints[2].hostname", E, DIAG_INVALID, "Web", NULL);
	vt_expect(&t, "endpoints[2].nodeName", E, DIAG_INVALID, "Node_1",
	    NULL);
	ck_assert_uint_eq(t.nerr, 7);
	ck_assert_int_eq(t.set.epss.v[0]->invalid, 1);
	vt_free(&t);

	vt_run(&t, EPS("IPv6", "endpoints:\n- addresses: [10.0.0.1]\n"));
	vt_expect(&t, "endpoints[0].addresses[0]", E, DIAG_INVALID,
	    "10.0.0.1", "must be a valid IPv6 address");
	vt_free(&t);

	vt_run(&t, EPS("IPv4", "endpoints:\n- addresses: [127.0.0.1]\n"));
	vt_expect(&t, "endpoints[0].addresses[0]", W, DIAG_INVALID,
	    "127.0.0.1", "svcproxy accepts it for single-machine testing");
	ck_assert_uint_eq(t.nerr, 0);
	ck_assert_int_eq(t.set.epss.v[0]->invalid, 0);
	vt_free(&t);
}
END_TEST

START_TEST(test_eps_ports)
{
	struct vt t;

	/* A port may be absent (all ports), and one may be unnamed. */
	vt_run(&t, EPS("IPv4", "ports:\n- {name: \"\"}\n- {name: b, port: 1}\n"
	    "- {name: c, port: 65535, appProtocol: http}\n"));
	vt_clean(&t);
	vt_free(&t);

	vt_run(&t, EPS("IPv4", "ports:\n- {port: 80}\n- {port: 81}\n"
	    "- {name: HTTP, port: 0}\n- {name: x, port: 65536, protocol: "
	    "tcp}\n"));
	vt_expect(&t, "ports[1].name", E, DIAG_DUPLICATE, "", NULL);
	vt_expect(&t, "ports[2].name", E, DIAG_INVALID, "HTTP", NULL);
	vt_expect(&t, "ports[2].port", E, DIAG_INVALID, "0",
	    "must be between 1 and 65535, inclusive");
	vt_expect(&t, "ports[3].port", E, DIAG_INVALID, "65536", NULL);
	vt_expect(&t, "ports[3].protocol", E, DIAG_NOT_SUPPORTED, "tcp",
	    NULL);
	ck_assert_uint_eq(t.nerr, 5);
	vt_free(&t);
}
END_TEST

START_TEST(test_eps_service_label)
{
	struct vt		 t;
	const struct diag	*d;

	vt_run(&t, "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
	    "metadata:\n  name: orphan\naddressType: IPv4\n");
	d = vt_expect(&t, "metadata.labels", W, DIAG_REQUIRED, NULL,
	    "kubernetes.io/service-name");
	ck_assert_uint_eq(d->line, 4);
	ck_assert_uint_eq(t.nerr, 0);
	ck_assert_int_eq(t.set.epss.v[0]->invalid, 0);
	vt_free(&t);
}
END_TEST

START_TEST(test_eps_weight)
{
	struct vt t;

	vt_run(&t, "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
	    "metadata:\n  name: web-1\n  labels: {kubernetes.io/service-name: "
	    "web}\n  annotations: {svcproxy.io/weight: \"0\"}\n"
	    "addressType: IPv4\nendpoints:\n- addresses: [10.1.0.5]\n"
	    "ports:\n- {port: 8080}\n");
	vt_clean(&t);
	vt_free(&t);
	vt_run(&t, "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
	    "metadata:\n  name: web-1\n  labels: {kubernetes.io/service-name: "
	    "web}\n  annotations: {svcproxy.io/weight: \"1000\"}\n"
	    "addressType: IPv4\nendpoints:\n- addresses: [10.1.0.5]\n"
	    "ports:\n- {port: 8080}\n");
	vt_expect(&t, "metadata.annotations[svcproxy.io/weight]", E,
	    DIAG_INVALID, "1000", "from 0 to 256");
	ck_assert_int_eq(t.set.epss.v[0]->invalid, 1);
	vt_free(&t);
}
END_TEST

TCase *
val_tc_eps(void)
{
	TCase *tc = tcase_create("endpointslice");

	tcase_add_test(tc, test_eps_good);
	tcase_add_test(tc, test_eps_address_type);
	tcase_add_test(tc, test_eps_addresses);
	tcase_add_test(tc, test_eps_ports);
	tcase_add_test(tc, test_eps_service_label);
	tcase_add_test(tc, test_eps_weight);
	return tc;
}

/* ---- NetworkPolicy ---- */

#define NP(spec) "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n" \
	"metadata: {name: np}\nspec:\n" spec

static const struct knetpol *
np0(const struct vt *t)
{
	ck_assert_uint_eq(t->set.netpols.n, 1);
	return t->set.netpols.v[0];
}

START_TEST(test_np_good_and_defaults)
{
	struct vt		 t;
	const struct knetpol	*np;

	vt_run(&t, NP("  podSelector:\n    matchLabels: {app: db}\n"
	    "    matchExpressions:\n"
	    "    - {key: tier, operator: In, values: [a, b]}\n"
	    "    - {key: env, operator: DoesNotExist}\n"
	    "  ingress:\n  - from:\n"
	    "    - podSelector: {matchLabels: {app: web}}\n"
	    "      namespaceSelector: {}\n"
	    "    - ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}\n"
	    "    ports:\n    - {port: 5432}\n"
	    "    - {port: http, protocol: UDP}\n"
	    "    - {port: 30000, endPort: 30100}\n    - {protocol: SCTP}\n"));
	vt_clean(&t);
	np = np0(&t);
	ck_assert_int_eq(np->invalid, 0);
	ck_assert_int_eq(np->isolates_ingress, 1);
	ck_assert_int_eq(np->isolates_egress, 0);
	ck_assert_str_eq(np->spec.ingress.v[0].ports.v[0].protocol, "TCP");
	ck_assert_str_eq(np->spec.ingress.v[0].ports.v[1].protocol, "UDP");
	vt_free(&t);
}
END_TEST

START_TEST(test_np_policy_types)
{
	struct vt		 t;
	const struct diag	*d;

	/* No policyTypes: Ingress, plus Egress when egress rules exist. */
	vt_run(&t, NP("  podSelector: {}\n  egress: [{}]\n"));
	vt_clean(&t);
	ck_assert_int_eq(np0(&t)->isolates_ingress, 1);
	ck_assert_int_eq(np0(&t)->isolates_egress, 1);
	vt_free(&t);
	vt_run(&t, NP("  podSelector: {}\n  policyTypes: [Egress]\n"));
	vt_clean(&t);
	ck_assert_int_eq(np0(&t)->isolates_ingress, 0);
	ck_assert_int_eq(np0(&t)->isolates_egress, 1);
	vt_free(&t);
	vt_run(&t, NP("  podSelector: {}\n  policyTypes: [Ingress, Egress]\n"));
	vt_clean(&t);
	ck_assert_int_eq(np0(&t)->isolates_ingress, 1);
	ck_assert_int_eq(np0(&t)->isolates_egress, 1);
	vt_free(&t);

	vt_run(&t, NP("  podSelector: {}\n"
	    "  policyTypes: [Ingress, ingress]\n"));
	d = vt_expect(&t, "spec.policyTypes[1]", E, DIAG_NOT_SUPPORTED,
	    "ingress", "supported values: \"Ingress\", \"Egress\"");
	ck_assert_uint_eq(d->line, 6);
	ck_assert_uint_eq(d->col, 26);
	ck_assert_int_eq(np0(&t)->invalid, 1);
	vt_free(&t);
	vt_run(&t, NP("  podSelector: {}\n"
	    "  policyTypes: [Ingress, Egress, Ingress]\n"));
	vt_expect(&t, "spec.policyTypes", E, DIAG_INVALID, NULL,
	    "may not specify more than two policyTypes");
	vt_free(&t);
	vt_run(&t, NP("  podSelector: {}\n  policyTypes: [Egress, Egress]\n"));
	vt_expect(&t, "spec.policyTypes[1]", W, DIAG_DUPLICATE, "Egress",
	    NULL);
	ck_assert_uint_eq(t.nerr, 0);
	vt_free(&t);
}
END_TEST

START_TEST(test_np_pod_selector)
{
	struct vt t;

	vt_run(&t, NP("  policyTypes: [Ingress]\n"));
	vt_expect(&t, "spec.podSelector", E, DIAG_REQUIRED, NULL, "{}");
	ck_assert_int_eq(np0(&t)->invalid, 1);
	vt_free(&t);
}
END_TEST

START_TEST(test_np_selectors)
{
	struct vt		 t;
	const struct diag	*d;

	vt_run(&t, NP("  podSelector:\n"
	    "    matchLabels: {\"a b\": x}\n"
	    "    matchExpressions:\n"
	    "    - {key: tier, operator: In}\n"
	    "    - {key: tier, operator: Exists, values: [x]}\n"
	    "    - {key: tier, operator: Equals, values: [x]}\n"
	    "    - {key: \"-t\", operator: NotIn, values: [\"bad value\"]}\n"));
	vt_expect(&t, "spec.podSelector.matchLabels", E, DIAG_INVALID, "a b",
	    NULL);
	d = vt_expect(&t, "spec.podSelector.matchExpressions[0].values", E,
	    DIAG_REQUIRED, NULL,
	    "must be specified when `operator` is 'In' or 'NotIn'");
	ck_assert_uint_eq(d->line, 8);
	vt_expect(&t, "spec.podSelector.matchExpressions[1].values", E,
	    DIAG_FORBIDDEN, NULL, "may not be specified when `operator` is "
	    "'Exists' or 'DoesNotExist'");
	vt_expect(&t, "spec.podSelector.matchExpressions[2].operator", E,
	    DIAG_INVALID, "Equals", "not a valid selector operator");
	vt_expect(&t, "spec.podSelector.matchExpressions[3].key", E,
	    DIAG_INVALID, "-t", NULL);
	vt_expect(&t, "spec.podSelector.matchExpressions[3].values[0]", E,
	    DIAG_INVALID, "bad value", NULL);
	ck_assert_uint_eq(t.nerr, 6);
	vt_free(&t);
}
END_TEST

/* ValidateNetworkPolicyPort lists the protocols unsorted. */
START_TEST(test_np_protocol_words)
{
	struct vt		 t;
	const struct diag	*d;

	vt_run(&t, NP("  podSelector: {}\n  ingress:\n  - ports:\n"
	    "    - {port: 80, protocol: ICMP}\n"));
	d = vt_expect(&t, "spec.ingress[0].ports[0].protocol", E,
	    DIAG_NOT_SUPPORTED, "ICMP", NULL);
	ck_assert_str_eq(d->detail,
	    "supported values: \"TCP\", \"UDP\", \"SCTP\"");
	ck_assert_uint_eq(t.nerr, 1);
	vt_free(&t);
}
END_TEST

START_TEST(test_np_ports)
{
	struct vt		 t;
	const struct diag	*d;

	vt_run(&t, NP("  podSelector: {}\n  ingress:\n  - ports:\n"
	    "    - {port: 0}\n"
	    "    - {port: HTTP}\n"
	    "    - {port: 80, protocol: ICMP}\n"
	    "    - {port: 100, endPort: 99}\n"
	    "    - {port: http, endPort: 99}\n"
	    "    - {endPort: 99}\n"
	    "    - {port: 100, endPort: 70000}\n"));
	vt_expect(&t, "spec.ingress[0].ports[0].port", E, DIAG_INVALID, "0",
	    "must be between 1 and 65535, inclusive");
	vt_expect(&t, "spec.ingress[0].ports[1].port", E, DIAG_INVALID,
	    "HTTP", NULL);
	vt_expect(&t, "spec.ingress[0].ports[2].protocol", E,
	    DIAG_NOT_SUPPORTED, "ICMP", NULL);
	d = vt_expect(&t, "spec.ingress[0].ports[3].endPort", E, DIAG_INVALID,
	    "100", "must be greater than or equal to `port`");
	ck_assert_uint_eq(d->line, 11);
	ck_assert_uint_eq(d->col, 28);
	vt_expect(&t, "spec.ingress[0].ports[4].endPort", E, DIAG_INVALID,
	    "99", "may not be specified when `port` is non-numeric");
	vt_expect(&t, "spec.ingress[0].ports[5].endPort", E, DIAG_INVALID,
	    "99", "may not be specified when `port` is not specified");
	vt_expect(&t, "spec.ingress[0].ports[6].endPort", E, DIAG_INVALID,
	    "70000", "must be between 1 and 65535, inclusive");
	/* HTTP breaks two port-name rules. */
	ck_assert_uint_eq(t.nerr, 8);
	ck_assert_int_eq(np0(&t)->invalid, 1);
	vt_free(&t);
}
END_TEST

START_TEST(test_np_peers)
{
	struct vt		 t;
	const struct diag	*d;

	vt_run(&t, NP("  podSelector: {}\n  egress:\n  - to:\n"
	    "    - {}\n"
	    "    - ipBlock: {cidr: 10.0.0.0/8}\n"
	    "      podSelector: {}\n"
	    "    - ipBlock: {except: [10.0.0.0/16]}\n"
	    "    - ipBlock: {cidr: 10.0.0.0/33}\n"
	    "    - ipBlock: {cidr: 10.0.0.0/16, except: [10.0.0.0/16, "
	    "10.1.0.0/24, 10.0.1.0/24, 10.0.2.0]}\n"
	    "    - ipBlock: {cidr: \"fd00::/64\", except: [10.0.0.0/24]}\n"));
	d = vt_expect(&t, "spec.egress[0].to[0]", E, DIAG_REQUIRED, NULL,
	    "must specify a peer");
	ck_assert_uint_eq(d->line, 8);
	ck_assert_uint_eq(d->col, 7);
	vt_expect(&t, "spec.egress[0].to[1]", E, DIAG_FORBIDDEN, NULL,
	    "may not specify both ipBlock and another peer");
	vt_expect(&t, "spec.egress[0].to[2].ipBlock.cidr", E, DIAG_REQUIRED,
	    NULL, NULL);
	vt_expect(&t, "spec.egress[0].to[3].ipBlock.cidr", E, DIAG_INVALID,
	    "10.0.0.0/33", "must be a valid CIDR value");
	vt_expect(&t, "spec.egress[0].to[4].ipBlock.except[0]", E,
	    DIAG_INVALID, "10.0.0.0/16", "must be a strict subset of `cidr`");
	vt_expect(&t, "spec.egress[0].to[4].ipBlock.except[1]", E,
	    DIAG_INVALID, "10.1.0.0/24", "must be a strict subset of `cidr`");
	vt_expect(&t, "spec.egress[0].to[4].ipBlock.except[3]", E,
	    DIAG_INVALID, "10.0.2.0", "must be a valid CIDR value");
	vt_expect(&t, "spec.egress[0].to[5].ipBlock.except[0]", E,
	    DIAG_INVALID, "10.0.0.0/24", "strict subset");
	ck_assert_uint_eq(t.nerr, 8);
	ck_assert_int_eq(np0(&t)->invalid, 1);
	/* Egress rules and no policyTypes: both directions isolated. */
	ck_assert_int_eq(np0(&t)->isolates_egress, 1);
	vt_free(&t);

	/* Selectors inside peers are checked. */
	vt_run(&t, NP("  podSelector: {}\n  ingress:\n  - from:\n"
	    "    - namespaceSelector:\n        matchExpressions:\n"
	    "        - {key: team, operator: Exists, values: [a]}\n"));
	vt_expect(&t, "spec.ingress[0].from[0].namespaceSelector."
	    "matchExpressions[0].values", E, DIAG_FORBIDDEN, NULL, NULL);
	vt_free(&t);
}
END_TEST

START_TEST(test_np_name)
{
	struct vt t;

	vt_run(&t, "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
	    "metadata: {name: deny_all}\nspec: {podSelector: {}}\n");
	vt_expect(&t, "metadata.name", E, DIAG_INVALID, "deny_all",
	    "subdomain");
	ck_assert_int_eq(np0(&t)->invalid, 1);
	vt_free(&t);
}
END_TEST

TCase *
val_tc_netpol(void)
{
	TCase *tc = tcase_create("netpol");

	tcase_add_test(tc, test_np_good_and_defaults);
	tcase_add_test(tc, test_np_policy_types);
	tcase_add_test(tc, test_np_pod_selector);
	tcase_add_test(tc, test_np_selectors);
	tcase_add_test(tc, test_np_ports);
	tcase_add_test(tc, test_np_protocol_words);
	tcase_add_test(tc, test_np_peers);
	tcase_add_test(tc, test_np_name);
	return tc;
}
