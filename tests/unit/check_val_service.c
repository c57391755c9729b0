/* val: Service defaults and rules, one rule per test, both sides. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_val.h"
#include "health_state.h"
#include "lb.h"
#include "unit.h"

#define E	DIAG_ERROR
#define W	DIAG_WARNING

static const struct ksvc *
svc0(const struct vt *t)
{
	ck_assert_uint_ge(t->set.svcs.n, 1);
	return t->set.svcs.v[0];
}

/* Run a Service spec that must validate without any diagnostic. */
static void
clean(const char *spec)
{
	struct vt t;

	vt_run(&t, vt_svc(spec));
	vt_clean(&t);
	ck_assert_int_eq(svc0(&t)->invalid, 0);
	vt_free(&t);
}

/* Run a spec that must fail with exactly one error, at field. */
static void
fails(const char *spec, const char *field, enum diag_type type,
    const char *bad, const char *detail)
{
	struct vt t;

	vt_run(&t, vt_svc(spec));
	vt_expect(&t, field, E, type, bad, detail);
	if (t.nerr != 1) {
		diag_print(&t.dl, stderr);
		ck_abort_msg("%s: %zu errors, want 1", field, t.nerr);
	}
	ck_assert_int_eq(svc0(&t)->invalid, 1);
	vt_free(&t);
}

/* Run a spec that is valid but warns at field. */
static void
warns(const char *spec, const char *field, const char *detail)
{
	struct vt t;

	vt_run(&t, vt_svc(spec));
	vt_expect(&t, field, W, DIAG_INVALID, NULL, detail);
	ck_assert_uint_eq(t.nerr, 0);
	ck_assert_int_eq(svc0(&t)->invalid, 0);
	vt_free(&t);
}

/*
 * Valid, with only the warning that its SCTP ports (n of them) are not
 * served (UDP ports are, with no warning).
 */
static void
clean_unserved(const char *spec, size_t n)
{
	struct vt	t;
	size_t		i;

	vt_run(&t, vt_svc(spec));
	ck_assert_uint_eq(t.nerr, 0);
	ck_assert_uint_eq(t.dl.n, n);
	for (i = 0; i < t.dl.n; i++) {
		ck_assert_int_eq(t.dl.v[i].sev, DIAG_WARNING);
		ck_assert_ptr_nonnull(strstr(t.dl.v[i].detail,
		    " is not served (svcproxy relays TCP and UDP; "));
	}
	ck_assert_int_eq(svc0(&t)->invalid, 0);
	vt_free(&t);
}

START_TEST(test_defaults)
{
	struct vt		 t;
	const struct ksvc	*s;

	vt_run(&t, vt_svc("ports:\n- port: 80\n- {name: b, port: 81, "
	    "targetPort: 0}\n- {name: c, port: 82, targetPort: \"\"}\n"
	    "- {name: d, port: 83, targetPort: http}"));
	ck_assert_uint_eq(t.nerr, 1);	/* [0] has no name */
	s = svc0(&t);
	ck_assert_str_eq(s->spec.type, "ClusterIP");
	ck_assert_str_eq(s->spec.session_affinity, "None");
	ck_assert_str_eq(s->spec.internal_traffic_policy, "Cluster");
	ck_assert_ptr_null(s->spec.external_traffic_policy);
	ck_assert_int_eq(s->spec.publish_not_ready_addresses.set, 1);
	ck_assert_int_eq(s->spec.publish_not_ready_addresses.v, 0);
	ck_assert_int_eq(s->spec.allocate_load_balancer_node_ports.set, 0);
	ck_assert_int_eq(s->spec.session_affinity_config.client_ip.
	    timeout_seconds.set, 0);
	ck_assert_str_eq(s->spec.ports.v[0].protocol, "TCP");
	ck_assert_int_eq(s->spec.ports.v[0].target_port.set, 1);
	ck_assert_int_eq(s->spec.ports.v[0].target_port.is_str, 0);
	ck_assert_int_eq(s->spec.ports.v[0].target_port.num, 80);
	ck_assert_int_eq(s->spec.ports.v[1].target_port.num, 81);
	ck_assert_int_eq(s->spec.ports.v[2].target_port.is_str, 0);
	ck_assert_int_eq(s->spec.ports.v[2].target_port.num, 82);
	ck_assert_int_eq(s->spec.ports.v[3].target_port.is_str, 1);
	ck_assert_str_eq(s->spec.ports.v[3].target_port.str, "http");
	vt_free(&t);

	vt_run(&t, vt_svc("type: LoadBalancer\npublishNotReadyAddresses: "
	    "true\nports: [{port: 80}]"));
	vt_clean(&t);
	s = svc0(&t);
	ck_assert_int_eq(s->spec.allocate_load_balancer_node_ports.set, 1);
	ck_assert_int_eq(s->spec.allocate_load_balancer_node_ports.v, 1);
	ck_assert_str_eq(s->spec.external_traffic_policy, "Cluster");
	ck_assert_int_eq(s->spec.publish_not_ready_addresses.v, 1);
	vt_free(&t);

	/* An explicit false is kept. */
	vt_run(&t, vt_svc("type: LoadBalancer\n"
	    "allocateLoadBalancerNodePorts: false\nports: [{port: 80}]"));
	vt_clean(&t);
	ck_assert_int_eq(svc0(&t)->spec.allocate_load_balancer_node_ports.v,
	    0);
	vt_free(&t);
}
END_TEST

START_TEST(test_type)
{
	clean("type: NodePort\nports: [{port: 80}]");
	fails("type: Internal\nports: [{port: 80}]", "spec.type",
	    DIAG_NOT_SUPPORTED, "Internal", "supported values: \"ClusterIP\", "
	    "\"ExternalName\", \"LoadBalancer\", \"NodePort\"");
}
END_TEST

START_TEST(test_ports_required)
{
	struct vt		 t;
	const struct diag	*d;

	vt_run(&t, vt_svc("selector: {app: web}"));
	d = vt_expect(&t, "spec.ports", E, DIAG_REQUIRED, NULL, NULL);
	ck_assert_uint_eq(d->line, 6);	/* the spec map */
	ck_assert_uint_eq(d->col, 3);
	ck_assert_int_eq(svc0(&t)->invalid, 1);
	vt_free(&t);
	/* Headless and ExternalName Services may have none. */
	clean("clusterIP: None\nselector: {app: web}");
	clean("type: ExternalName\nexternalName: db.example.com");
}
END_TEST

START_TEST(test_port_number)
{
	struct vt		 t;
	const struct diag	*d;

	clean("ports: [{port: 1}]");
	clean("ports: [{port: 65535}]");
	/*
	 * targetPort defaults to port, and ValidatePortNumOrName reports
	 * it too (validateServicePort).
	 */
	vt_run(&t, vt_svc("ports: [{port: 65536}]"));
	vt_expect(&t, "spec.ports[0].port", E, DIAG_INVALID, "65536",
	    "must be between 1 and 65535, inclusive");
	vt_expect(&t, "spec.ports[0].targetPort", E, DIAG_INVALID, "65536",
	    "must be between 1 and 65535, inclusive");
	ck_assert_uint_eq(t.nerr, 2);
	vt_free(&t);
	vt_run(&t, vt_svc("ports: [{port: 0, targetPort: 80}]"));
	vt_expect(&t, "spec.ports[0].port", E, DIAG_INVALID, "0", NULL);
	ck_assert_uint_eq(t.nerr, 1);
	vt_free(&t);
	/* Absent is 0, as in Go. */
	vt_run(&t, vt_svc("ports:\n- name: a\n  port: 80\n- name: b\n"
	    "  targetPort: 80"));
	d = vt_expect(&t, "spec.ports[1].port", E, DIAG_INVALID, "0", NULL);
	ck_assert_uint_eq(d->line, 9);
	ck_assert_uint_eq(d->col, 5);
	vt_free(&t);
}
END_TEST

START_TEST(test_port_name)
{
	struct vt		 t;
	const struct diag	*d;

	clean("ports: [{name: http, port: 80}, {name: https, port: 443}]");
	/* One unnamed port is fine; two need names. */
	clean("ports: [{port: 80}]");
	fails("ports: [{name: http, port: 80}, {port: 443}]",
	    "spec.ports[1].name", DIAG_REQUIRED, NULL, NULL);
	vt_run(&t, vt_svc("ports:\n- name: web\n  port: 80\n- name: HTTP\n"
	    "  port: 8080"));
	d = vt_expect(&t, "spec.ports[1].name", E, DIAG_INVALID, "HTTP",
	    "a lowercase RFC 1123 label must consist of");
	ck_assert_uint_eq(d->line, 9);
	ck_assert_uint_eq(d->col, 11);
	ck_assert_uint_eq(t.nerr, 1);
	vt_free(&t);
	fails("ports: [{name: a, port: 80}, {name: a, port: 81}]",
	    "spec.ports[1].name", DIAG_DUPLICATE, "a", NULL);
}
END_TEST

START_TEST(test_port_protocol)
{
	struct vt t;

	const struct diag *d;

	vt_run(&t, vt_svc("ports: [{name: a, port: 53, protocol: UDP}, "
	    "{name: b, port: 53}, {name: c, port: 9, protocol: SCTP}]"));
	ck_assert_uint_eq(t.nerr, 0);
	ck_assert_str_eq(svc0(&t)->spec.ports.v[1].protocol, "TCP");
	/* Valid; svcproxy serves UDP but not SCTP: a warning at its
	   protocol, which `check` shows and `run` logs. */
	ck_assert_uint_eq(t.dl.n, 1);
	d = vt_expect(&t, "spec.ports[2].protocol", W, DIAG_NOTE, NULL,
	    NULL);
	ck_assert_str_eq(d->detail, "SCTP is not served (svcproxy relays "
	    "TCP and UDP; the kernels it is tested on have no SCTP "
	    "module)");
	ck_assert_uint_eq(d->line, 6);
	ck_assert_uint_eq(d->col, 97);
	vt_free(&t);
	/* A headless Service is not proxied: nothing to warn about. */
	clean("clusterIP: None\nports: [{port: 53, protocol: UDP}]");
	fails("ports: [{port: 53, protocol: udp}]", "spec.ports[0].protocol",
	    DIAG_NOT_SUPPORTED, "udp",
	    "supported values: \"SCTP\", \"TCP\", \"UDP\"");
}
END_TEST

START_TEST(test_target_port)
{
	clean("ports: [{port: 80, targetPort: 65535}]");
	clean("ports: [{port: 80, targetPort: web-http}]");
	fails("ports: [{port: 80, targetPort: 70000}]",
	    "spec.ports[0].targetPort", DIAG_INVALID, "70000",
	    "must be between 1 and 65535, inclusive");
	fails("ports: [{port: 80, targetPort: -1}]",
	    "spec.ports[0].targetPort", DIAG_INVALID, "-1", NULL);
	fails("ports: [{port: 80, targetPort: web--http}]",
	    "spec.ports[0].targetPort", DIAG_INVALID, "web--http",
	    "must not contain consecutive hyphens");
	fails("ports: [{port: 80, targetPort: a-very-long-port-name}]",
	    "spec.ports[0].targetPort", DIAG_INVALID, NULL,
	    "must be no more than 15 characters");
	clean("ports: [{port: 80, appProtocol: kubernetes.io/h2c}]");
	fails("ports: [{port: 80, appProtocol: \"a b\"}]",
	    "spec.ports[0].appProtocol", DIAG_INVALID, "a b", "name part");
}
END_TEST

START_TEST(test_node_port)
{
	struct vt		 t;
	const struct diag	*d;

	clean("type: NodePort\nports: [{port: 80, nodePort: 30000}]");
	clean("type: LoadBalancer\nports: [{port: 80, nodePort: 32767}]");
	/* 0 is "allocate one", as absent. */
	clean("ports: [{port: 80, nodePort: 0}]");
	fails("ports: [{port: 80, nodePort: 30080}]",
	    "spec.ports[0].nodePort", DIAG_FORBIDDEN, NULL,
	    "may not be used when `type` is 'ClusterIP'");
	fails("type: NodePort\nports: [{port: 80, nodePort: 29999}]",
	    "spec.ports[0].nodePort", DIAG_INVALID, "29999",
	    "provided port is not in the valid range. The range of valid "
	    "ports is 30000-32767");
	fails("type: NodePort\nports: [{port: 80, nodePort: 32768}]",
	    "spec.ports[0].nodePort", DIAG_INVALID, "32768", NULL);

	/* The range comes from the ProxyConfig. */
	vt_run(&t, "apiVersion: svcproxy.io/v1alpha1\nkind: ProxyConfig\n"
	    "metadata: {name: c}\nspec: {nodePortRange: 31000-31010}\n---\n"
	    "apiVersion: v1\nkind: Service\nmetadata: {name: a}\n"
	    "spec:\n  type: NodePort\n  ports:\n  - port: 80\n"
	    "    nodePort: 30000\n");
	d = vt_expect(&t, "spec.ports[0].nodePort", E, DIAG_INVALID, "30000",
	    "The range of valid ports is 31000-31010");
	ck_assert_uint_eq(d->line, 13);
	ck_assert_uint_eq(d->col, 15);
	vt_free(&t);
}
END_TEST

/* ValidateService forbids a nodePort on ClusterIP only. */
START_TEST(test_node_port_external_name)
{
	/* Only ClusterIP forbids it; ExternalName allocates nothing. */
	clean("type: ExternalName\nexternalName: a.example\n"
	    "ports: [{port: 80, nodePort: 30080}]");
}
END_TEST

START_TEST(test_node_port_within)
{
	struct vt t;

	/*
	 * Within one Service the allocator (initNodePorts) runs before
	 * validation: one port number's protocols share a nodePort, any
	 * other port asking for it finds it allocated, whatever the
	 * protocol.
	 */
	clean_unserved("type: NodePort\nports: [{name: a, port: 53, "
	    "nodePort: 30053}, {name: b, port: 53, protocol: UDP, "
	    "nodePort: 30053}]", 0);
	fails("type: NodePort\nports: [{name: a, port: 80, nodePort: 30053},"
	    " {name: b, port: 81, nodePort: 30053}]",
	    "spec.ports[1].nodePort", DIAG_INVALID, "30053",
	    "provided port is already allocated");
	fails("type: LoadBalancer\nports: [{name: a, port: 80, "
	    "nodePort: 30053}, {name: b, port: 81, protocol: UDP, "
	    "nodePort: 30053}]", "spec.ports[1].nodePort", DIAG_INVALID,
	    "30053", "provided port is already allocated");
	/* Same port and protocol: allocation passes, validation does not. */
	vt_run(&t, vt_svc("type: NodePort\nports: [{name: a, port: 80, "
	    "nodePort: 30053}, {name: b, port: 80, nodePort: 30053}]"));
	vt_expect(&t, "spec.ports[1].nodePort", E, DIAG_DUPLICATE, "30053",
	    NULL);
	vt_expect(&t, "spec.ports[1]", E, DIAG_DUPLICATE, "80/TCP", NULL);
	ck_assert_uint_eq(t.nerr, 2);
	vt_free(&t);
	/* Without an allocator (ExternalName) only validation speaks. */
	fails("type: ExternalName\nexternalName: a.example\nports: [{name: a, "
	    "port: 80, nodePort: 30053}, {name: b, port: 81, "
	    "nodePort: 30053}]", "spec.ports[1].nodePort", DIAG_DUPLICATE,
	    "30053", NULL);
	/* A port without one takes its number's (findRequestedNodePort). */
	vt_run(&t, vt_svc("type: NodePort\nports: [{name: a, port: 53}, "
	    "{name: b, port: 53, protocol: UDP, nodePort: 30053}]"));
	ck_assert_uint_eq(t.nerr, 0);
	ck_assert_uint_eq(t.dl.n, 0);	/* UDP is served */
	ck_assert_int_eq(svc0(&t)->spec.ports.v[0].node_port.set, 1);
	ck_assert_int_eq(svc0(&t)->spec.ports.v[0].node_port.v, 30053);
	vt_free(&t);
	/* ... unless the LoadBalancer allocates none. */
	vt_run(&t, vt_svc("type: LoadBalancer\n"
	    "allocateLoadBalancerNodePorts: false\nports: [{name: a, "
	    "port: 53}, {name: b, port: 53, protocol: UDP, "
	    "nodePort: 30053}]"));
	ck_assert_uint_eq(t.nerr, 0);
	ck_assert_uint_eq(t.dl.n, 0);	/* UDP is served */
	ck_assert_int_eq(svc0(&t)->spec.ports.v[0].node_port.v, 0);
	vt_free(&t);
}
END_TEST

START_TEST(test_duplicate_port_pair)
{
	clean_unserved("ports: [{name: a, port: 53}, {name: b, port: 53, "
	    "protocol: UDP}]", 0);
	fails("ports: [{name: a, port: 80}, {name: b, port: 80, "
	    "targetPort: 81}]", "spec.ports[1]", DIAG_DUPLICATE, "80/TCP",
	    NULL);
}
END_TEST

/* The API server no longer keeps LoadBalancers off the kubelet port. */
START_TEST(test_kubelet_port)
{
	clean("type: NodePort\nports: [{port: 10250}]");
	clean("type: LoadBalancer\nports: [{port: 10250}]");
}
END_TEST

START_TEST(test_selector)
{
	clean("selector: {app.kubernetes.io/name: web, tier: \"\"}\n"
	    "ports: [{port: 80}]");
	fails("selector: {\"app name\": web}\nports: [{port: 80}]",
	    "spec.selector", DIAG_INVALID, "app name", "name part");
	fails("selector: {app: \"web app\"}\nports: [{port: 80}]",
	    "spec.selector", DIAG_INVALID, "web app", "a valid label must");
}
END_TEST

START_TEST(test_cluster_ip)
{
	struct vt		 t;
	const struct diag	*d;

	clean("clusterIP: 10.96.0.10\nports: [{port: 80}]");
	clean("clusterIP: None\nports: [{port: 80}]");
	clean("clusterIP: \"\"\nports: [{port: 80}]");
	clean("clusterIP: 10.96.0.10\nclusterIPs: [10.96.0.10, fd00::10]\n"
	    "ipFamilyPolicy: PreferDualStack\nports: [{port: 80}]");
	/*
	 * normalizeClusterIPs copies clusterIP into clusterIPs before
	 * anything looks at them, so its errors are at clusterIPs[0],
	 * marked where clusterIP is written.
	 */
	vt_run(&t, vt_svc("clusterIP: 10.96.0\nports: [{port: 80}]"));
	d = vt_expect(&t, "spec.clusterIPs[0]", E, DIAG_INVALID, "10.96.0",
	    "must be a valid IP address");
	ck_assert_uint_eq(d->line, 6);
	ck_assert_uint_eq(d->col, 14);
	ck_assert_uint_eq(t.nerr, 1);
	ck_assert_uint_eq(svc0(&t)->spec.cluster_ips.n, 1);
	vt_free(&t);
	fails("clusterIP: 0.0.0.0\nports: [{port: 80}]", "spec.clusterIPs[0]",
	    DIAG_INVALID, "0.0.0.0", "may not be unspecified (0.0.0.0)");
	warns("clusterIP: 127.0.0.10\nports: [{port: 80}]",
	    "spec.clusterIPs[0]",
	    "svcproxy accepts it for single-machine testing");
	fails("clusterIP: 10.96.0.10\nclusterIPs: [10.96.0.11]\n"
	    "ports: [{port: 80}]", "spec.clusterIPs", DIAG_INVALID,
	    "10.96.0.11", "first value must match `clusterIP`");
	fails("clusterIP: 10.96.0.10\nclusterIPs: [10.96.0.10, 10.96.0.11]\n"
	    "ports: [{port: 80}]", "spec.clusterIPs", DIAG_INVALID,
	    "10.96.0.11", "may specify no more than one IP for each IP family");
	fails("clusterIP: 10.96.0.10\n"
	    "clusterIPs: [10.96.0.10, fd00::1, 10.96.0.12]\n"
	    "ports: [{port: 80}]", "spec.clusterIPs", DIAG_INVALID, NULL,
	    "may only hold up to 2 values");
	fails("clusterIP: None\nclusterIPs: [None, 10.96.0.1]\n"
	    "ports: [{port: 80}]", "spec.clusterIPs", DIAG_INVALID, NULL,
	    "'None' must be the first and only value");
}
END_TEST

/* normalizeClusterIPs never fills clusterIP from clusterIPs. */
START_TEST(test_cluster_ips_alone)
{
	/* A None in second place is just not an IP. */
	fails("clusterIP: 10.96.0.1\nclusterIPs: [10.96.0.1, None]\n"
	    "ports: [{port: 80}]", "spec.clusterIPs[1]", DIAG_INVALID, "None",
	    "must be a valid IP address");
	fails("clusterIP: 10.96.0.10\nclusterIPs: [10.96.0.10, fd00::zz]\n"
	    "ports: [{port: 80}]", "spec.clusterIPs[1]", DIAG_INVALID,
	    "fd00::zz", NULL);
	/* clusterIPs alone is refused: new clients must set both. */
	fails("clusterIPs: [10.96.0.10]\nports: [{port: 80}]",
	    "spec.clusterIPs", DIAG_INVALID, NULL,
	    "must be empty when `clusterIP` is not specified");
}
END_TEST

/* ValidateServiceClusterIPsRelatedFields: IPs against ipFamilies. */
START_TEST(test_cluster_ip_family)
{
	/* Each address must be of the family ipFamilies names for it. */
	clean("clusterIP: fd00::10\nipFamilies: [IPv6]\nports: [{port: 80}]");
	fails("clusterIP: 10.96.0.10\nipFamilies: [IPv6]\n"
	    "ports: [{port: 80}]", "spec.clusterIPs[0]", DIAG_INVALID,
	    "10.96.0.10", "expected an IPv6 value as indicated by "
	    "`ipFamilies[0]`");
	fails("clusterIP: 10.96.0.10\nipFamilies: [IPv4, IPv4]\n"
	    "ipFamilyPolicy: PreferDualStack\nports: [{port: 80}]",
	    "spec.ipFamilies[1]", DIAG_DUPLICATE, "IPv4", NULL);
}
END_TEST

/* initIPFamilyFields: absent, ipFamilyPolicy is SingleStack. */
START_TEST(test_ip_family_policy)
{
	fails("clusterIP: 10.96.0.10\nclusterIPs: [10.96.0.10, fd00::10]\n"
	    "ports: [{port: 80}]", "spec.ipFamilyPolicy", DIAG_INVALID,
	    "SingleStack", "must be 'RequireDualStack' or 'PreferDualStack' "
	    "when multiple cluster IPs are specified");
	fails("ipFamilies: [IPv4, IPv6]\nipFamilyPolicy: SingleStack\n"
	    "ports: [{port: 80}]", "spec.ipFamilyPolicy", DIAG_INVALID,
	    "SingleStack", "when multiple IP families are specified");
	clean("ipFamilies: [IPv4, IPv6]\nipFamilyPolicy: RequireDualStack\n"
	    "ports: [{port: 80}]");
	/* Headless without selector defaults to RequireDualStack. */
	clean("clusterIP: None\nipFamilies: [IPv4, IPv6]");
}
END_TEST

START_TEST(test_ip_families)
{
	clean("ipFamilies: [IPv6, IPv4]\nipFamilyPolicy: PreferDualStack\n"
	    "ports: [{port: 80}]");
	fails("ipFamilies: [IPv5]\nports: [{port: 80}]", "spec.ipFamilies[0]",
	    DIAG_NOT_SUPPORTED, "IPv5", "\"IPv4\", \"IPv6\"");
	fails("ipFamilies: [IPv4, IPv4]\nports: [{port: 80}]",
	    "spec.ipFamilies[1]", DIAG_DUPLICATE, "IPv4", NULL);
	fails("ipFamilyPolicy: Dual\nports: [{port: 80}]",
	    "spec.ipFamilyPolicy", DIAG_NOT_SUPPORTED, "Dual", NULL);
}
END_TEST

START_TEST(test_external_name)
{
	clean("type: ExternalName\nexternalName: db.example.com.");
	clean("type: ExternalName\nexternalName: db");
	fails("type: ExternalName", "spec.externalName", DIAG_REQUIRED, NULL,
	    NULL);
	fails("type: ExternalName\nexternalName: \".\"", "spec.externalName",
	    DIAG_REQUIRED, NULL, NULL);
	fails("type: ExternalName\nexternalName: DB.example.com",
	    "spec.externalName", DIAG_INVALID, "DB.example.com",
	    "a lowercase RFC 1123 subdomain");
	/* Normalizing has copied clusterIP into clusterIPs. */
	fails("type: ExternalName\nexternalName: a.example\n"
	    "clusterIP: 10.96.0.1", "spec.clusterIPs", DIAG_FORBIDDEN, NULL,
	    "may not be set for ExternalName services");
	fails("type: ExternalName\nexternalName: a.example\n"
	    "ipFamilies: [IPv4]", "spec.ipFamilies", DIAG_FORBIDDEN, NULL,
	    "may not be set for ExternalName services");
}
END_TEST

START_TEST(test_headless_types)
{
	/* Reported on clusterIPs[0], which defaulting filled. */
	fails("type: NodePort\nclusterIP: None\nports: [{port: 80}]",
	    "spec.clusterIPs[0]", DIAG_INVALID, "None",
	    "may not be set to 'None' for NodePort services");
	fails("type: LoadBalancer\nclusterIP: None\nports: [{port: 80}]",
	    "spec.clusterIPs[0]", DIAG_INVALID, "None",
	    "may not be set to 'None' for LoadBalancer services");
}
END_TEST

START_TEST(test_session_affinity)
{
	struct vt t;

	vt_run(&t, vt_svc("sessionAffinity: ClientIP\nports: [{port: 80}]"));
	vt_clean(&t);
	ck_assert_int_eq(svc0(&t)->spec.session_affinity_config.client_ip.
	    timeout_seconds.set, 1);
	ck_assert_int_eq(svc0(&t)->spec.session_affinity_config.client_ip.
	    timeout_seconds.v, 10800);
	vt_free(&t);
	clean("sessionAffinity: ClientIP\nsessionAffinityConfig:\n"
	    "  clientIP: {timeoutSeconds: 86400}\nports: [{port: 80}]");
	clean("sessionAffinity: None\nports: [{port: 80}]");
	fails("sessionAffinity: Sticky\nports: [{port: 80}]",
	    "spec.sessionAffinity", DIAG_NOT_SUPPORTED, "Sticky",
	    "supported values: \"ClientIP\", \"None\"");
	fails("sessionAffinity: ClientIP\nsessionAffinityConfig:\n"
	    "  clientIP: {timeoutSeconds: 0}\nports: [{port: 80}]",
	    "spec.sessionAffinityConfig.clientIP.timeoutSeconds",
	    DIAG_INVALID, "0", "must be greater than 0 and less than 86400");
	fails("sessionAffinity: ClientIP\nsessionAffinityConfig:\n"
	    "  clientIP: {timeoutSeconds: 86401}\nports: [{port: 80}]",
	    "spec.sessionAffinityConfig.clientIP.timeoutSeconds",
	    DIAG_INVALID, "86401", NULL);
	/* Defaulting clears the config of None, before validation. */
	vt_run(&t, vt_svc("sessionAffinityConfig:\n"
	    "  clientIP: {timeoutSeconds: 60}\nports: [{port: 80}]"));
	vt_clean(&t);
	ck_assert_str_eq(svc0(&t)->spec.session_affinity, "None");
	ck_assert_ptr_null(svc0(&t)->spec.session_affinity_config.y);
	ck_assert_int_eq(svc0(&t)->spec.session_affinity_config.client_ip.
	    timeout_seconds.set, 0);
	vt_free(&t);
	clean("sessionAffinity: None\nsessionAffinityConfig:\n"
	    "  clientIP: {timeoutSeconds: 0}\nports: [{port: 80}]");
}
END_TEST

START_TEST(test_traffic_policies)
{
	struct vt t;

	/* Valid; svcproxy's warning: test_local_client_address. */
	vt_run(&t, vt_svc("type: NodePort\nexternalTrafficPolicy: Local\n"
	    "ports: [{port: 80}]"));
	ck_assert_uint_eq(t.nerr, 0);
	vt_free(&t);
	clean("internalTrafficPolicy: Local\nports: [{port: 80}]");
	/* externalIPs make a ClusterIP Service reachable from outside. */
	vt_run(&t, vt_svc("externalIPs: [192.0.2.10]\nports: [{port: 80}]"));
	vt_clean(&t);
	ck_assert_str_eq(svc0(&t)->spec.external_traffic_policy, "Cluster");
	vt_free(&t);
	fails("externalTrafficPolicy: Local\nports: [{port: 80}]",
	    "spec.externalTrafficPolicy", DIAG_INVALID, "Local",
	    "may only be set for externally-accessible services");
	fails("type: NodePort\nexternalTrafficPolicy: Global\n"
	    "ports: [{port: 80}]", "spec.externalTrafficPolicy",
	    DIAG_NOT_SUPPORTED, "Global",
	    "supported values: \"Cluster\", \"Local\"");
	fails("internalTrafficPolicy: Node\nports: [{port: 80}]",
	    "spec.internalTrafficPolicy", DIAG_NOT_SUPPORTED, "Node", NULL);
	vt_run(&t, vt_svc("type: LoadBalancer\nexternalTrafficPolicy: Local\n"
	    "healthCheckNodePort: 31999\nports: [{port: 80}]"));
	ck_assert_uint_eq(t.nerr, 0);
	vt_free(&t);
	fails("type: NodePort\nhealthCheckNodePort: 31999\n"
	    "ports: [{port: 80}]", "spec.healthCheckNodePort", DIAG_INVALID,
	    "31999", "may only be set when `type` is 'LoadBalancer'");
}
END_TEST

START_TEST(test_load_balancer_fields)
{
	clean("type: LoadBalancer\nloadBalancerIP: 192.0.2.1\n"
	    "loadBalancerSourceRanges: [10.0.0.0/8, \" 192.168.0.0/16 \"]\n"
	    "ports: [{port: 80}]");
	/* The API server's path has a capital L, in both errors. */
	fails("loadBalancerSourceRanges: [10.0.0.0/8]\nports: [{port: 80}]",
	    "spec.LoadBalancerSourceRanges", DIAG_FORBIDDEN, NULL,
	    "may only be used when `type` is 'LoadBalancer'");
	fails("type: LoadBalancer\nloadBalancerSourceRanges: [10.0.0.0]\n"
	    "ports: [{port: 80}]", "spec.LoadBalancerSourceRanges[0]",
	    DIAG_INVALID, "10.0.0.0", "must be a valid CIDR value");
	warns("type: LoadBalancer\nloadBalancerIP: 127.0.0.5\n"
	    "ports: [{port: 80}]", "spec.loadBalancerIP", "loopback");
	fails("type: NodePort\nallocateLoadBalancerNodePorts: true\n"
	    "ports: [{port: 80}]", "spec.allocateLoadBalancerNodePorts",
	    DIAG_FORBIDDEN, NULL,
	    "may only be used when `type` is 'LoadBalancer'");
}
END_TEST

START_TEST(test_load_balancer_ip_warns)
{
	struct vt t;

	/* loadBalancerIP only ever warns (GetWarningsForService). */
	vt_run(&t, vt_svc("loadBalancerIP: 192.0.2.1\nports: [{port: 80}]"));
	vt_expect(&t, "spec.loadBalancerIP", W, DIAG_INVALID, "192.0.2.1",
	    "ignored");
	ck_assert_uint_eq(t.nerr, 0);
	vt_free(&t);
	vt_run(&t, vt_svc("type: LoadBalancer\nloadBalancerIP: 192.0.2\n"
	    "ports: [{port: 80}]"));
	vt_expect(&t, "spec.loadBalancerIP", W, DIAG_INVALID, "192.0.2",
	    "must be a valid IP address");
	ck_assert_uint_eq(t.nerr, 0);
	vt_free(&t);
}
END_TEST

START_TEST(test_external_ips)
{
	clean("externalIPs: [192.0.2.10, \"2001:db8::1\"]\n"
	    "ports: [{port: 80}]");
	fails("externalIPs: [192.0.2.300]\nports: [{port: 80}]",
	    "spec.externalIPs[0]", DIAG_INVALID, "192.0.2.300",
	    "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)");
	fails("externalIPs: [192.0.2.1, \"::\"]\nports: [{port: 80}]",
	    "spec.externalIPs[1]", DIAG_INVALID, "::",
	    "may not be unspecified (::)");
	fails("externalIPs: [169.254.169.254]\nports: [{port: 80}]",
	    "spec.externalIPs[0]", DIAG_INVALID, NULL, "link-local range");
	fails("externalIPs: [\"ff02::1\"]\nports: [{port: 80}]",
	    "spec.externalIPs[0]", DIAG_INVALID, NULL,
	    "link-local multicast range");
	warns("externalIPs: [127.0.0.1]\nports: [{port: 80}]",
	    "spec.externalIPs[0]", "in the loopback range (127.0.0.0/8, "
	    "::1/128): the API server rejects it; svcproxy accepts it for "
	    "single-machine testing");
}
END_TEST

START_TEST(test_annotations)
{
	struct vt		 t;
	const struct diag	*d;

	vt_run(&t, "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n"
	    "  annotations:\n"
	    "    svcproxy.io/idle-timeout: 30s\n"
	    "    svcproxy.io/connect-timeout: 1.5s\n"
	    "    svcproxy.io/max-connections: \"100\"\n"
	    "    svcproxy.io/lb-algorithm: round-robin\n"
	    "    example.com/other: anything\n"
	    "spec:\n  ports: [{port: 80}]\n");
	vt_clean(&t);
	vt_free(&t);

	vt_run(&t, "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n"
	    "  annotations:\n"
	    "    svcproxy.io/idle-timeout: 0s\n"
	    "    svcproxy.io/connect-timeout: soon\n"
	    "    svcproxy.io/max-connections: \"0\"\n"
	    "    svcproxy.io/idle-timout: 5s\n"
	    "spec:\n  ports: [{port: 80}]\n");
	d = vt_expect(&t, "metadata.annotations[svcproxy.io/idle-timeout]", E,
	    DIAG_INVALID, "0s", "must be a duration greater than 0");
	ck_assert_uint_eq(d->line, 6);
	ck_assert_uint_eq(d->col, 31);
	vt_expect(&t, "metadata.annotations[svcproxy.io/connect-timeout]", E,
	    DIAG_INVALID, "soon", NULL);
	vt_expect(&t, "metadata.annotations[svcproxy.io/max-connections]", E,
	    DIAG_INVALID, "0", "must be a positive integer");
	d = vt_expect(&t, "metadata.annotations", W, DIAG_NOT_SUPPORTED,
	    "svcproxy.io/idle-timout", NULL);
	ck_assert_str_eq(d->detail, "svcproxy reads only "
	    "\"svcproxy.io/accept-proxy-protocol\", "
	    "\"svcproxy.io/affinity-max-entries\", "
	    "\"svcproxy.io/connect-timeout\", "
	    "\"svcproxy.io/defer-accept\", \"svcproxy.io/hash-key\", "
	    "\"svcproxy.io/health-check\", "
	    "\"svcproxy.io/health-check-ca\", "
	    "\"svcproxy.io/health-check-expect-status\", "
	    "\"svcproxy.io/health-check-fall\", "
	    "\"svcproxy.io/health-check-host\", "
	    "\"svcproxy.io/health-check-interval\", "
	    "\"svcproxy.io/health-check-method\", "
	    "\"svcproxy.io/health-check-path\", "
	    "\"svcproxy.io/health-check-port\", "
	    "\"svcproxy.io/health-check-rise\", "
	    "\"svcproxy.io/health-check-sni\", "
	    "\"svcproxy.io/health-check-timeout\", "
	    "\"svcproxy.io/health-on-down\", "
	    "\"svcproxy.io/health-panic-threshold\", "
	    "\"svcproxy.io/idle-timeout\", \"svcproxy.io/lb-algorithm\", "
	    "\"svcproxy.io/maglev-table-size\", "
	    "\"svcproxy.io/max-connections\", "
	    "\"svcproxy.io/outlier-base-ejection-time\", "
	    "\"svcproxy.io/outlier-consecutive-failures\", "
	    "\"svcproxy.io/outlier-max-ejection-percent\", "
	    "\"svcproxy.io/proxy-external-name\", "
	    "\"svcproxy.io/proxy-protocol\", "
	    "\"svcproxy.io/slow-start\", "
	    "\"svcproxy.io/source-address\", \"svcproxy.io/udp-idle-timeout\", "
	    "\"svcproxy.io/udp-max-flows\", \"svcproxy.io/udp-responses\"; "
	    "this one is ignored (a typo?)");
	ck_assert_uint_eq(d->line, 9);
	ck_assert_uint_eq(t.nerr, 3);
	ck_assert_int_eq(svc0(&t)->invalid, 1);
	vt_free(&t);

	/* The UDP flow annotations: udp-responses may be 0 (never). */
	vt_run(&t, "apiVersion: v1\nkind: Service\nmetadata:\n  name: dns\n"
	    "  annotations:\n"
	    "    svcproxy.io/udp-idle-timeout: 5s\n"
	    "    svcproxy.io/udp-responses: \"0\"\n"
	    "    svcproxy.io/udp-max-flows: \"100\"\n"
	    "spec:\n  ports: [{port: 53, protocol: UDP}]\n");
	vt_clean(&t);
	vt_free(&t);
	vt_run(&t, "apiVersion: v1\nkind: Service\nmetadata:\n  name: dns\n"
	    "  annotations:\n"
	    "    svcproxy.io/udp-idle-timeout: 0s\n"
	    "    svcproxy.io/udp-responses: \"-1\"\n"
	    "    svcproxy.io/udp-max-flows: \"0\"\n"
	    "spec:\n  ports: [{port: 53, protocol: UDP}]\n");
	vt_expect(&t, "metadata.annotations[svcproxy.io/udp-idle-timeout]", E,
	    DIAG_INVALID, "0s", "must be a duration greater than 0");
	vt_expect(&t, "metadata.annotations[svcproxy.io/udp-responses]", E,
	    DIAG_INVALID, "-1", "must be an integer greater than or equal "
	    "to 0");
	vt_expect(&t, "metadata.annotations[svcproxy.io/udp-max-flows]", E,
	    DIAG_INVALID, "0", "must be a positive integer");
	ck_assert_uint_eq(t.nerr, 3);
	vt_free(&t);

	/* svcproxy.io/lb-algorithm: a name the registry knows. */
	vt_run(&t, "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n"
	    "  annotations:\n"
	    "    svcproxy.io/lb-algorithm: leastconn\n"
	    "spec:\n  ports: [{port: 80}]\n");
	d = vt_expect(&t, "metadata.annotations[svcproxy.io/lb-algorithm]", E,
	    DIAG_NOT_SUPPORTED, "leastconn", NULL);
	ck_assert_str_eq(d->detail, "supported values: \"least-connections\", "
	    "\"maglev\", \"random-two\", \"round-robin\"");
	ck_assert_uint_eq(d->line, 6);
	ck_assert_uint_eq(d->col, 31);
	ck_assert_uint_eq(t.nerr, 1);
	ck_assert_int_eq(svc0(&t)->invalid, 1);
	vt_free(&t);
	vt_run(&t, "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n"
	    "  annotations: {svcproxy.io/lb-algorithm: \"\"}\n"
	    "spec:\n  ports: [{port: 80}]\n");
	vt_expect(&t, "metadata.annotations[svcproxy.io/lb-algorithm]", E,
	    DIAG_NOT_SUPPORTED, "", "supported values: \"least-connections\", "
	    "\"maglev\", \"random-two\", \"round-robin\"");
	vt_free(&t);

	vt_run(&t, "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n"
	    "  annotations: {svcproxy.io/max-connections: \"-5\"}\n"
	    "spec:\n  ports: [{port: 80}]\n");
	ck_assert_uint_eq(t.nerr, 1);
	vt_free(&t);
	vt_run(&t, "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n"
	    "  annotations: {svcproxy.io/max-connections: \"1e3\"}\n"
	    "spec:\n  ports: [{port: 80}]\n");
	ck_assert_uint_eq(t.nerr, 1);
	vt_free(&t);
}
END_TEST

/* ---- health checking (svcproxy.io/health-*, outlier-*) ---- */

#ifdef HAVE_OPENSSL
#define HC_KINDS	"supported values: \"http\", \"https\", \"none\", " \
	"\"tcp\""
#else
#define HC_KINDS	"supported values: \"http\", \"none\", \"tcp\""
#endif
#define HC_DURATION	"must be a duration greater than 0 (e.g. \"5s\", " \
	"\"1m30s\", \"250ms\")"

/* A Service whose annotations are lines (each "key: value", indented by
   the caller's newline-separated list); the first is on line 6. */
static const char *
svc_ann(const char *lines)
{
	static char	 buf[4096];
	const char	*p;
	size_t		 n;

	n = (size_t)snprintf(buf, sizeof(buf), "apiVersion: v1\n"
	    "kind: Service\nmetadata:\n  name: web\n  annotations:\n");
	for (p = lines; *p != '\0' && n < sizeof(buf) - 64; ) {
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "    ");
		while (*p != '\0' && *p != '\n' && n < sizeof(buf) - 64)
			buf[n++] = *p++;
		if (*p == '\n')
			p++;
		buf[n++] = '\n';
	}
	snprintf(buf + n, sizeof(buf) - n, "spec:\n  ports: [{port: 80}]\n");
	return buf;
}

/*
 * svcproxy.io/<key>: "<value>" alone must fail with exactly this error
 * (type, detail), at metadata.annotations[...] on line 6, column of
 * the value's opening quote.
 */
static void
ann_fails(const char *key, const char *yaml_value, const char *bad,
    enum diag_type type, const char *detail)
{
	struct vt		 t;
	const struct diag	*d;
	char			 line[512], field[256];

	snprintf(line, sizeof(line), "svcproxy.io/%s: \"%s\"", key,
	    yaml_value);
	snprintf(field, sizeof(field), "metadata.annotations[svcproxy.io/%s]",
	    key);
	vt_run(&t, svc_ann(line));
	d = vt_expect(&t, field, E, type, bad, NULL);
	ck_assert_msg(strcmp(d->detail, detail) == 0, "%s: \"%s\", want "
	    "\"%s\"", field, d->detail, detail);
	ck_assert_uint_eq(d->line, 6);
	ck_assert_uint_eq(d->col, 5 + strlen("svcproxy.io/") + strlen(key) +
	    2);
	if (t.nerr != 1) {
		unit_dump(&t.dl);
		ck_abort_msg("%s: %zu errors, want 1", field, t.nerr);
	}
	ck_assert_int_eq(svc0(&t)->invalid, 1);
	vt_free(&t);
}

/* Annotation lines that validate without a diagnostic. */
static void
ann_clean(const char *lines)
{
	struct vt t;

	vt_run(&t, svc_ann(lines));
	vt_clean(&t);
	ck_assert_int_eq(svc0(&t)->invalid, 0);
	vt_free(&t);
}

/* Annotation lines that validate but warn, at key, with this detail. */
static void
ann_warns(const char *lines, const char *key, const char *detail)
{
	struct vt		 t;
	const struct diag	*d;
	char			 field[256];

	snprintf(field, sizeof(field), "metadata.annotations[%s]", key);
	vt_run(&t, svc_ann(lines));
	ck_assert_uint_eq(t.nerr, 0);
	d = vt_expect(&t, field, W, DIAG_INVALID, NULL, NULL);
	ck_assert_msg(strcmp(d->detail, detail) == 0, "%s: \"%s\", want "
	    "\"%s\"", field, d->detail, detail);
	ck_assert_uint_eq(t.dl.n, 1);
	ck_assert_int_eq(svc0(&t)->invalid, 0);
	vt_free(&t);
}

START_TEST(test_health_good)
{
	ann_clean("svcproxy.io/health-check: tcp\n"
	    "svcproxy.io/health-check-interval: 1s\n"
	    "svcproxy.io/health-check-timeout: 1s\n"
	    "svcproxy.io/health-check-rise: \"1\"\n"
	    "svcproxy.io/health-check-fall: \"100\"\n"
	    "svcproxy.io/health-check-port: \"65535\"");
	ann_clean("svcproxy.io/health-check: http\n"
	    "svcproxy.io/health-check-path: /healthz?full=1\n"
	    "svcproxy.io/health-check-host: api.example.com\n"
	    "svcproxy.io/health-check-method: HEAD\n"
	    "svcproxy.io/health-check-expect-status: \"200-299, 404\"");
	ann_clean("svcproxy.io/health-check: http\n"
	    "svcproxy.io/health-check-host: 10.0.0.1");
	ann_clean("svcproxy.io/health-check: http\n"
	    "svcproxy.io/health-check-host: \"2001:db8::1\"");
	ann_clean("svcproxy.io/health-check: none\n"
	    "svcproxy.io/outlier-consecutive-failures: \"0\"\n"
	    "svcproxy.io/outlier-base-ejection-time: 1m\n"
	    "svcproxy.io/outlier-max-ejection-percent: \"100\"\n"
	    "svcproxy.io/health-panic-threshold: \"0\"\n"
	    "svcproxy.io/health-on-down: close\n"
	    "svcproxy.io/slow-start: 0s");
	ann_clean("svcproxy.io/health-on-down: keep\n"
	    "svcproxy.io/health-panic-threshold: \"100\"\n"
	    "svcproxy.io/outlier-consecutive-failures: \"1000\"\n"
	    "svcproxy.io/outlier-max-ejection-percent: \"0\"");
}
END_TEST

/*
 * A timeout over the interval is valid (HAProxy and Kubernetes accept
 * it) but changes how fast a dead endpoint goes down: a warning at the
 * annotation that made it so, saying by how much.
 */
START_TEST(test_health_timeout_over_interval)
{
	struct vt	 t;

	ann_warns("svcproxy.io/health-check: tcp\n"
	    "svcproxy.io/health-check-timeout: 5s",
	    "svcproxy.io/health-check-timeout", "the timeout (5s) is longer "
	    "than the interval (2s): checks of an endpoint never overlap, so "
	    "one that does not answer is checked every 5s, not every 2s, and "
	    "goes down after about 3 x 5s = 15s");
	ann_warns("svcproxy.io/health-check: http\n"
	    "svcproxy.io/health-check-interval: 300ms\n"
	    "svcproxy.io/health-check-timeout: 1500ms\n"
	    "svcproxy.io/health-check-fall: \"2\"",
	    "svcproxy.io/health-check-timeout", "the timeout (1.5s) is longer "
	    "than the interval (300ms): checks of an endpoint never overlap, "
	    "so one that does not answer is checked every 1.5s, not every "
	    "300ms, and goes down after about 2 x 1.5s = 3s");
	/* Equal, or the timeout left to default to the interval: clean. */
	ann_clean("svcproxy.io/health-check: tcp\n"
	    "svcproxy.io/health-check-interval: 300ms\n"
	    "svcproxy.io/health-check-timeout: 300ms");
	ann_clean("svcproxy.io/health-check: tcp\n"
	    "svcproxy.io/health-check-interval: 300ms");
	/* Both from ProxyConfig spec.healthCheck: at the Service's type. */
	vt_run(&t, "apiVersion: svcproxy.io/v1alpha1\nkind: ProxyConfig\n"
	    "metadata: {name: c}\nspec:\n  healthCheck: {interval: 1s, "
	    "timeout: 4s}\n---\napiVersion: v1\nkind: Service\nmetadata:\n"
	    "  name: web\n  annotations:\n    svcproxy.io/health-check: tcp\n"
	    "spec:\n  ports: [{port: 80}]\n");
	vt_expect(&t, "metadata.annotations[svcproxy.io/health-check]", W,
	    DIAG_INVALID, "tcp", "the timeout (4s) is longer than the "
	    "interval (1s): checks of an endpoint never overlap, so one that "
	    "does not answer is checked every 4s, not every 1s, and goes down "
	    "after about 3 x 4s = 12s");
	ck_assert_uint_eq(t.nerr, 0);
	ck_assert_uint_eq(t.dl.n, 1);
	vt_free(&t);
	/* No active check: only the warning that the timeout is ignored. */
	ann_warns("svcproxy.io/health-check: none\n"
	    "svcproxy.io/health-check-timeout: 5s",
	    "svcproxy.io/health-check-timeout", "ignored: "
	    "svcproxy.io/health-check is \"none\" (no active check)");
}
END_TEST

/*
 * A checked Service's UDP port: not served, and not checked either (a
 * TCP connect says nothing of a UDP service); the warning says both.
 */
START_TEST(test_health_udp_port)
{
	struct vt		 t;
	const struct diag	*d;
#define UDP_DOC(kind)	"apiVersion: v1\nkind: Service\n" \
	    "metadata:\n  name: dns\n  annotations:\n" \
	    "    svcproxy.io/health-check: " kind "\n" \
	    "spec:\n  ports: [{name: t, port: 53}, " \
	    "{name: u, port: 53, protocol: UDP}]\n"

	vt_run(&t, UDP_DOC("tcp"));
	ck_assert_uint_eq(t.nerr, 0);
	ck_assert_uint_eq(t.dl.n, 1);
	d = vt_expect(&t, "spec.ports[1].protocol", W, DIAG_NOTE, NULL, NULL);
	ck_assert_str_eq(d->detail, "its health check does not apply to this "
	    "UDP port (checks are TCP)");
	vt_free(&t);
	/* No active check: nothing to say. */
	vt_run(&t, UDP_DOC("none"));
	ck_assert_uint_eq(t.nerr, 0);
	ck_assert_uint_eq(t.dl.n, 0);
	vt_free(&t);
#undef UDP_DOC
}
END_TEST

START_TEST(test_health_bad)
{
	struct hc_status_set	 set;
	char			 why[256];

	ann_fails("health-check", "grpc", "grpc", DIAG_NOT_SUPPORTED,
	    HC_KINDS);
	ann_fails("health-check", "HTTP", "HTTP", DIAG_NOT_SUPPORTED,
	    HC_KINDS);
	ann_fails("health-check", "", "", DIAG_NOT_SUPPORTED, HC_KINDS);
	ann_fails("health-check-interval", "0s", "0s", DIAG_INVALID,
	    HC_DURATION);
	ann_fails("health-check-interval", "2", "2", DIAG_INVALID,
	    HC_DURATION);
	ann_fails("health-check-timeout", "-1s", "-1s", DIAG_INVALID,
	    HC_DURATION);
	ann_fails("health-check-rise", "0", "0", DIAG_INVALID,
	    "must be between 1 and 100, inclusive");
	ann_fails("health-check-rise", "101", "101", DIAG_INVALID,
	    "must be between 1 and 100, inclusive");
	ann_fails("health-check-fall", "-1", "-1", DIAG_INVALID,
	    "must be between 1 and 100, inclusive");
	ann_fails("health-check-fall", "1e1", "1e1", DIAG_INVALID,
	    "must be between 1 and 100, inclusive");
	ann_fails("health-check-fall", " 3", " 3", DIAG_INVALID,
	    "must be between 1 and 100, inclusive");
	ann_fails("health-check-port", "0", "0", DIAG_INVALID,
	    "must be between 1 and 65535, inclusive");
	ann_fails("health-check-port", "65536", "65536", DIAG_INVALID,
	    "must be between 1 and 65535, inclusive");
	ann_fails("health-check-port", "http", "http", DIAG_INVALID,
	    "must be between 1 and 65535, inclusive");
	ann_fails("health-check-path", "healthz", "healthz", DIAG_INVALID,
	    "must start with \"/\"");
	ann_fails("health-check-path", "/a b", "/a b", DIAG_INVALID,
	    "must be printable ASCII without spaces (it goes on the request "
	    "line)");
	ann_fails("health-check-path", "/a\\r\\nX: y", "/a\r\nX: y",
	    DIAG_INVALID, "must be printable ASCII without spaces (it goes "
	    "on the request line)");
	ann_fails("health-check-host", "Example.com", "Example.com",
	    DIAG_INVALID, "must be a lowercase RFC 1123 subdomain (e.g. "
	    "'example.com') or an IP address");
	ann_fails("health-check-host", "a.example\\r\\n", "a.example\r\n",
	    DIAG_INVALID, "must be a lowercase RFC 1123 subdomain (e.g. "
	    "'example.com') or an IP address");
	ann_fails("health-check-method", "get", "get", DIAG_INVALID,
	    "must be an HTTP method of 1 to 20 upper-case letters (e.g. "
	    "\"GET\", \"HEAD\")");
	ann_fails("health-check-method", "GET /", "GET /", DIAG_INVALID,
	    "must be an HTTP method of 1 to 20 upper-case letters (e.g. "
	    "\"GET\", \"HEAD\")");
	ann_fails("health-check-method", "", "", DIAG_INVALID,
	    "must be an HTTP method of 1 to 20 upper-case letters (e.g. "
	    "\"GET\", \"HEAD\")");
	/* expect-status: hc_status_parse's own words. */
	ck_assert_int_eq(hc_status_parse("600", &set, why, sizeof(why)), -1);
	ann_fails("health-check-expect-status", "600", "600", DIAG_INVALID,
	    why);
	ck_assert_int_eq(hc_status_parse("399-200", &set, why, sizeof(why)),
	    -1);
	ann_fails("health-check-expect-status", "399-200", "399-200",
	    DIAG_INVALID, why);
	ann_fails("health-check-sni", "Bad_Name", "Bad_Name", DIAG_INVALID,
	    "must be a lowercase RFC 1123 subdomain (e.g. 'example.com')");
	ann_fails("health-check-ca", "ca.pem", "ca.pem", DIAG_INVALID,
	    "must be an absolute path");
	ann_fails("outlier-consecutive-failures", "1001", "1001",
	    DIAG_INVALID, "must be between 0 and 1000, inclusive (0: no "
	    "ejection)");
	ann_fails("outlier-base-ejection-time", "0s", "0s", DIAG_INVALID,
	    HC_DURATION);
	ann_fails("outlier-max-ejection-percent", "101", "101", DIAG_INVALID,
	    "must be between 0 and 100, inclusive");
	ann_fails("health-panic-threshold", "-5", "-5", DIAG_INVALID,
	    "must be between 0 and 100, inclusive");
	ann_fails("health-on-down", "drop", "drop", DIAG_NOT_SUPPORTED,
	    "supported values: \"close\", \"keep\"");
	ann_fails("slow-start", "later", "later", DIAG_INVALID,
	    "must be a duration (e.g. \"30s\", \"1m\"; \"0s\": off)");
}
END_TEST

/* https: built with OpenSSL, its CA must be a readable regular file;
   without, the annotation is an error naming the build. */
START_TEST(test_health_https)
{
#ifdef HAVE_OPENSSL
	struct vt	 t;
	char		 path[] = "/tmp/svcproxy-ca.XXXXXX", lines[256];
	int		 fd;

	ck_assert_int_ge(fd = mkstemp(path), 0);
	close(fd);
	snprintf(lines, sizeof(lines), "svcproxy.io/health-check: https\n"
	    "svcproxy.io/health-check-sni: api.example.com\n"
	    "svcproxy.io/health-check-ca: %s", path);
	ann_clean(lines);
	unlink(path);
	/* Gone: an error now, at check time, not at the first probe. */
	vt_run(&t, svc_ann(lines));
	vt_expect(&t, "metadata.annotations[svcproxy.io/health-check-ca]", E,
	    DIAG_INVALID, path, "cannot read it: No such file or directory");
	ck_assert_uint_eq(t.nerr, 1);
	vt_free(&t);
	/* A directory is no CA file. */
	vt_run(&t, svc_ann("svcproxy.io/health-check: https\n"
	    "svcproxy.io/health-check-ca: /tmp"));
	vt_expect(&t, "metadata.annotations[svcproxy.io/health-check-ca]", E,
	    DIAG_INVALID, "/tmp", "must be a regular file (PEM CA "
	    "certificates)");
	ck_assert_uint_eq(t.nerr, 1);
	vt_free(&t);
	/* An http check never loads it: only the warning. */
	ann_warns("svcproxy.io/health-check: http\n"
	    "svcproxy.io/health-check-ca: /nonexistent/ca.pem",
	    "svcproxy.io/health-check-ca", "ignored: only an https check "
	    "uses TLS (this one is \"http\")");
#else
	ann_fails("health-check", "https", "https", DIAG_INVALID,
	    "svcproxy was built without OpenSSL (" HC_KINDS ")");
#endif
}
END_TEST

/* Settings that do not apply are warnings, never silently ignored. */
START_TEST(test_health_warnings)
{
	ann_warns("svcproxy.io/health-check: tcp\n"
	    "svcproxy.io/health-check-path: /healthz",
	    "svcproxy.io/health-check-path", "ignored: only an http or https "
	    "check sends a request (this one is \"tcp\")");
	ann_warns("svcproxy.io/health-check-expect-status: \"200\"",
	    "svcproxy.io/health-check-expect-status", "ignored: only an http "
	    "or https check sends a request (this one is \"none\")");
	ann_warns("svcproxy.io/health-check-method: HEAD",
	    "svcproxy.io/health-check-method", "ignored: only an http or "
	    "https check sends a request (this one is \"none\")");
	ann_warns("svcproxy.io/health-check: tcp\n"
	    "svcproxy.io/health-check-host: a.example",
	    "svcproxy.io/health-check-host", "ignored: only an http or https "
	    "check sends a request (this one is \"tcp\")");
	ann_warns("svcproxy.io/health-check: http\n"
	    "svcproxy.io/health-check-sni: a.example",
	    "svcproxy.io/health-check-sni", "ignored: only an https check "
	    "uses TLS (this one is \"http\")");
	ann_warns("svcproxy.io/health-check-interval: 5s",
	    "svcproxy.io/health-check-interval", "ignored: "
	    "svcproxy.io/health-check is \"none\" (no active check)");
	ann_warns("svcproxy.io/health-check-rise: \"3\"",
	    "svcproxy.io/health-check-rise", "ignored: "
	    "svcproxy.io/health-check is \"none\" (no active check)");
	ann_warns("svcproxy.io/lb-algorithm: maglev\n"
	    "svcproxy.io/slow-start: 30s", "svcproxy.io/slow-start",
	    "not honoured: maglev does not ramp weights (its table depends "
	    "on the endpoints alone)");
	{
		struct vt		 t;
		const struct diag	*d;

		/* The warning shows the value, at its line and column. */
		vt_run(&t, svc_ann("svcproxy.io/health-check: tcp\n"
		    "svcproxy.io/health-check-path: /healthz"));
		d = vt_expect(&t,
		    "metadata.annotations[svcproxy.io/health-check-path]", W,
		    DIAG_INVALID, "/healthz", NULL);
		ck_assert_uint_eq(d->line, 7);
		ck_assert_uint_eq(d->col, 36);
		vt_free(&t);
	}
	ann_warns("svcproxy.io/lb-algorithm: maglev\n"
	    "svcproxy.io/slow-start: 1m", "svcproxy.io/slow-start",
	    "not honoured: maglev does not ramp weights (its table depends "
	    "on the endpoints alone)");
}
END_TEST

/* The ProxyConfig's type decides what applies to a Service's settings. */
START_TEST(test_health_proxyconfig_default)
{
	struct vt t;

	vt_run(&t, "apiVersion: svcproxy.io/v1alpha1\nkind: ProxyConfig\n"
	    "metadata: {name: c}\nspec:\n  healthCheck: {type: http}\n---\n"
	    "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n"
	    "  annotations:\n    svcproxy.io/health-check-path: /ready\n"
	    "spec:\n  ports: [{port: 80}]\n");
	vt_clean(&t);
	vt_free(&t);
	/* ... and the Service's own type overrides it. */
	vt_run(&t, "apiVersion: svcproxy.io/v1alpha1\nkind: ProxyConfig\n"
	    "metadata: {name: c}\nspec:\n  healthCheck: {type: http}\n---\n"
	    "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n"
	    "  annotations:\n    svcproxy.io/health-check: tcp\n"
	    "    svcproxy.io/health-check-path: /ready\n"
	    "spec:\n  ports: [{port: 80}]\n");
	vt_expect(&t, "metadata.annotations[svcproxy.io/health-check-path]",
	    W, DIAG_INVALID, NULL, "(this one is \"tcp\")");
	ck_assert_uint_eq(t.nerr, 0);
	vt_free(&t);
}
END_TEST

/* validateLoadBalancerClassField */
START_TEST(test_load_balancer_class)
{
	clean("type: LoadBalancer\nloadBalancerClass: example.com/lb\n"
	    "ports: [{port: 80}]");
	fails("loadBalancerClass: example.com/lb\nports: [{port: 80}]",
	    "spec.loadBalancerClass", DIAG_FORBIDDEN, NULL,
	    "may only be used when `type` is 'LoadBalancer'");
	fails("type: LoadBalancer\nloadBalancerClass: \"a b\"\n"
	    "ports: [{port: 80}]", "spec.loadBalancerClass", DIAG_INVALID,
	    "a b", "name part");
}
END_TEST

/* validateServiceTrafficDistribution */
START_TEST(test_traffic_distribution)
{
	clean("trafficDistribution: PreferSameZone\nports: [{port: 80}]");
	clean("trafficDistribution: PreferSameNode\nports: [{port: 80}]");
	fails("trafficDistribution: Nearest\nports: [{port: 80}]",
	    "spec.trafficDistribution", DIAG_NOT_SUPPORTED, "Nearest",
	    "supported values: \"PreferClose\"");
}
END_TEST

#define SVC_ANN(ann, spec) \
	"apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n" \
	"  annotations: {" ann "}\nspec: {" spec "ports: [{port: 80}]}\n"

/* The older annotation form of loadBalancerSourceRanges. */
START_TEST(test_source_ranges_annotation)
{
	struct vt t;

	vt_run(&t, SVC_ANN("service.beta.kubernetes.io/"
	    "load-balancer-source-ranges: \" 10.0.0.0/8, 192.168.0.0/16\"",
	    "type: LoadBalancer, "));
	vt_clean(&t);
	vt_free(&t);
	vt_run(&t, SVC_ANN("service.beta.kubernetes.io/"
	    "load-balancer-source-ranges: \"10.0.0.0/8,10.1.0.0\"",
	    "type: LoadBalancer, "));
	vt_expect(&t, "metadata.annotations[service.beta.kubernetes.io/"
	    "load-balancer-source-ranges]", E, DIAG_INVALID, "10.1.0.0",
	    "must be a valid CIDR value");
	ck_assert_uint_eq(t.nerr, 1);
	vt_free(&t);
	vt_run(&t, SVC_ANN("service.beta.kubernetes.io/"
	    "load-balancer-source-ranges: 10.0.0.0/8", ""));
	vt_expect(&t, "metadata.annotations[service.beta.kubernetes.io/"
	    "load-balancer-source-ranges]", E, DIAG_FORBIDDEN, NULL,
	    "may only be used when `type` is 'LoadBalancer'");
	ck_assert_uint_eq(t.nerr, 1);
	vt_free(&t);
	/* The field, when set, wins; the annotation is not read. */
	vt_run(&t, SVC_ANN("service.beta.kubernetes.io/"
	    "load-balancer-source-ranges: bad", "type: LoadBalancer, "
	    "loadBalancerSourceRanges: [10.0.0.0/8], "));
	vt_clean(&t);
	vt_free(&t);
}
END_TEST

/* The two topology annotations must agree when both are given. */
START_TEST(test_topology_annotations)
{
	struct vt t;

	vt_run(&t, SVC_ANN("service.kubernetes.io/topology-mode: Auto, "
	    "service.kubernetes.io/topology-aware-hints: Auto", ""));
	ck_assert_uint_eq(t.nerr, 0);
	vt_free(&t);
	vt_run(&t, SVC_ANN("service.kubernetes.io/topology-mode: Auto, "
	    "service.kubernetes.io/topology-aware-hints: Disabled", ""));
	vt_expect(&t, "metadata.annotations[service.kubernetes.io/"
	    "topology-mode]", E, DIAG_INVALID, "Auto", "must match "
	    "annotations[service.kubernetes.io/topology-aware-hints] when "
	    "both are specified");
	ck_assert_uint_eq(t.nerr, 1);
	vt_free(&t);
}
END_TEST

/* GetWarningsForService: accepted, with a word to the client. */
START_TEST(test_api_warnings)
{
	struct vt t;

	vt_run(&t, SVC_ANN("service.kubernetes.io/topology-aware-hints: Auto",
	    ""));
	vt_expect(&t, "metadata.annotations[service.kubernetes.io/"
	    "topology-aware-hints]", W, DIAG_NOTE, NULL, "annotation "
	    "service.kubernetes.io/topology-aware-hints is deprecated, please "
	    "use service.kubernetes.io/topology-mode instead");
	ck_assert_uint_eq(t.nerr, 0);
	vt_free(&t);
	vt_run(&t, vt_svc("clusterIP: None\nloadBalancerIP: 192.0.2.1\n"
	    "externalIPs: [192.0.2.2]\nsessionAffinity: ClientIP\n"
	    "externalName: a.example\ntrafficDistribution: PreferClose\n"
	    "ports: [{port: 80}]"));
	vt_expect(&t, "spec.loadBalancerIP", W, DIAG_NOTE, NULL,
	    "is ignored for headless services");
	vt_expect(&t, "spec.externalIPs", W, DIAG_NOTE, NULL,
	    "is ignored for headless services");
	vt_expect(&t, "spec.SessionAffinity", W, DIAG_NOTE, NULL,
	    "is ignored for headless services");
	vt_expect(&t, "spec.externalName", W, DIAG_NOTE, NULL,
	    "is ignored when spec.type is not \"ExternalName\"");
	vt_expect(&t, "spec.trafficDistribution", W, DIAG_NOTE, NULL,
	    "\"PreferClose\" is deprecated; use \"PreferSameZone\"");
	ck_assert_uint_eq(t.nerr, 0);
	vt_free(&t);
	vt_run(&t, vt_svc("type: ExternalName\nexternalName: a.example\n"
	    "externalIPs: [192.0.2.2]"));
	vt_expect(&t, "spec.externalIPs", W, DIAG_NOTE, NULL,
	    "is ignored when spec.type is \"ExternalName\"");
	ck_assert_uint_eq(t.nerr, 0);
	vt_free(&t);
}
END_TEST

/* Every error is reported, not just the first. */
START_TEST(test_all_errors_listed)
{
	struct vt t;

	vt_run(&t, vt_svc("type: Internal\nsessionAffinity: Sticky\n"
	    "ports: [{name: A, port: 0, protocol: tcp}]"));
	vt_expect(&t, "spec.type", E, DIAG_NOT_SUPPORTED, "Internal", NULL);
	vt_expect(&t, "spec.sessionAffinity", E, DIAG_NOT_SUPPORTED, NULL,
	    NULL);
	vt_expect(&t, "spec.ports[0].name", E, DIAG_INVALID, "A", NULL);
	vt_expect(&t, "spec.ports[0].port", E, DIAG_INVALID, "0", NULL);
	vt_expect(&t, "spec.ports[0].targetPort", E, DIAG_INVALID, "0", NULL);
	vt_expect(&t, "spec.ports[0].protocol", E, DIAG_NOT_SUPPORTED, "tcp",
	    NULL);
	ck_assert_uint_eq(t.nerr, 6);
	vt_free(&t);
}
END_TEST

/* SetDefaults_Service: internalTrafficPolicy for the proxied types. */
START_TEST(test_internal_policy_types)
{
	struct vt t;

	vt_run(&t, vt_svc("type: Internal\nports: [{port: 80}]"));
	/* No internalTrafficPolicy for a type the API server lacks. */
	ck_assert_ptr_null(svc0(&t)->spec.internal_traffic_policy);
	vt_free(&t);
	vt_run(&t, vt_svc("type: ExternalName\nexternalName: a.example"));
	ck_assert_ptr_null(svc0(&t)->spec.internal_traffic_policy);
	vt_free(&t);
}
END_TEST

/* The printed line is the one the issue shows. */
START_TEST(test_format)
{
	struct vt	t;
	char		buf[2048];

	vt_run(&t, "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n"
	    "  namespace: shop\nspec:\n  ports:\n  - name: web\n    port: 80\n"
	    "  - name: HTTP\n    port: 81\n");
	ck_assert_uint_eq(t.dl.n, 1);
	diag_format(&t.dl.v[0], buf, sizeof(buf));
	ck_assert_str_eq(buf, "test.yaml:10:11: Service shop/web: "
	    "spec.ports[1].name: Invalid value: \"HTTP\": a lowercase RFC 1123 "
	    "label must consist of lower case alphanumeric characters or '-', "
	    "and must start and end with an alphanumeric character (e.g. "
	    "'my-name',  or '123-abc', regex used for validation is "
	    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')");
	vt_free(&t);
}
END_TEST

/* A Service with these annotation lines (each "key: value"). */
static const char *
lb_svc(char *buf, size_t len, const char *ann, const char *affinity)
{
	snprintf(buf, len, "apiVersion: v1\nkind: Service\nmetadata:\n"
	    "  name: web\n  annotations:\n%s"
	    "spec:\n  sessionAffinity: %s\n  ports: [{port: 80}]\n", ann,
	    affinity);
	return buf;
}

START_TEST(test_lb_annotations_good)
{
	struct vt	 t;
	char		 y[1024];

	/* Under maglev every one applies: no warning. */
	if (lb_find("maglev") != NULL) {
		vt_run(&t, lb_svc(y, sizeof(y),
		    "    svcproxy.io/lb-algorithm: maglev\n"
		    "    svcproxy.io/hash-key: client-ip-port\n"
		    "    svcproxy.io/maglev-table-size: \"655373\"\n"
		    "    svcproxy.io/affinity-max-entries: \"100\"\n",
		    "ClientIP"));
		vt_clean(&t);
		vt_free(&t);
	}
	vt_run(&t, lb_svc(y, sizeof(y),
	    "    svcproxy.io/affinity-max-entries: \"16777216\"\n",
	    "ClientIP"));
	vt_clean(&t);
	vt_free(&t);
}
END_TEST

START_TEST(test_lb_annotations_bad)
{
	const struct diag	*d;
	struct vt		 t;
	char			 y[1024];

	vt_run(&t, lb_svc(y, sizeof(y),
	    "    svcproxy.io/hash-key: source-ip\n"
	    "    svcproxy.io/maglev-table-size: \"65536\"\n"
	    "    svcproxy.io/affinity-max-entries: \"0\"\n", "ClientIP"));
	d = vt_expect(&t, "metadata.annotations[svcproxy.io/hash-key]", E,
	    DIAG_NOT_SUPPORTED, "source-ip",
	    "supported values: \"client-ip\", \"client-ip-port\"");
	ck_assert_uint_eq(d->line, 6);
	ck_assert_uint_eq(d->col, 27);
	vt_expect(&t, "metadata.annotations[svcproxy.io/maglev-table-size]", E,
	    DIAG_INVALID, "65536", "must be a prime number (Maglev's "
	    "permutations need it): 65536 is not; the nearest primes are "
	    "65521 and 65537");
	vt_expect(&t, "metadata.annotations[svcproxy.io/affinity-max-entries]",
	    E, DIAG_INVALID, "0", "must be an integer from 1 to 16777216");
	ck_assert_uint_eq(t.nerr, 3);
	vt_free(&t);

	/* Out of range, prime or not. */
	vt_run(&t, lb_svc(y, sizeof(y),
	    "    svcproxy.io/maglev-table-size: \"1019\"\n", "None"));
	vt_expect(&t, "metadata.annotations[svcproxy.io/maglev-table-size]", E,
	    DIAG_INVALID, "1019", "must be a prime number from 1021 to "
	    "655373");
	vt_free(&t);
	vt_run(&t, lb_svc(y, sizeof(y),
	    "    svcproxy.io/maglev-table-size: \"655377\"\n", "None"));
	vt_expect(&t, "metadata.annotations[svcproxy.io/maglev-table-size]", E,
	    DIAG_INVALID, "655377", "from 1021 to 655373");
	vt_free(&t);
}
END_TEST

/* Accepted but not honoured: check says so. */
START_TEST(test_lb_annotations_not_honoured)
{
	struct vt	 t;
	char		 y[1024];

	vt_run(&t, lb_svc(y, sizeof(y),
	    "    svcproxy.io/hash-key: client-ip\n"
	    "    svcproxy.io/maglev-table-size: \"65537\"\n"
	    "    svcproxy.io/affinity-max-entries: \"100\"\n"
	    "    svcproxy.io/weight: \"3\"\n", "None"));
	ck_assert_uint_eq(t.nerr, 0);
	vt_expect(&t, "metadata.annotations[svcproxy.io/hash-key]", W,
	    DIAG_INVALID, "client-ip", "not honoured: only the maglev "
	    "algorithm hashes, and this Service is balanced with "
	    "round-robin");
	vt_expect(&t, "metadata.annotations[svcproxy.io/maglev-table-size]", W,
	    DIAG_INVALID, "65537", "not honoured: only the maglev");
	vt_expect(&t, "metadata.annotations[svcproxy.io/affinity-max-entries]",
	    W, DIAG_INVALID, "100", "not honoured: spec.sessionAffinity is "
	    "not \"ClientIP\"");
	vt_expect(&t, "metadata.annotations[svcproxy.io/weight]", W,
	    DIAG_INVALID, "3", "not honoured on a Service: set it on the "
	    "Pods or EndpointSlices");
	vt_free(&t);
}
END_TEST

TCase *
val_tc_service(void)
{
	TCase *tc = tcase_create("service");

	tcase_add_test(tc, test_lb_annotations_good);
	tcase_add_test(tc, test_lb_annotations_bad);
	tcase_add_test(tc, test_lb_annotations_not_honoured);

	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_type);
	tcase_add_test(tc, test_ports_required);
	tcase_add_test(tc, test_port_number);
	tcase_add_test(tc, test_port_name);
	tcase_add_test(tc, test_port_protocol);
	tcase_add_test(tc, test_target_port);
	tcase_add_test(tc, test_node_port);
	tcase_add_test(tc, test_node_port_external_name);
	tcase_add_test(tc, test_node_port_within);
	tcase_add_test(tc, test_duplicate_port_pair);
	tcase_add_test(tc, test_kubelet_port);
	tcase_add_test(tc, test_selector);
	tcase_add_test(tc, test_cluster_ip);
	tcase_add_test(tc, test_cluster_ips_alone);
	tcase_add_test(tc, test_cluster_ip_family);
	tcase_add_test(tc, test_ip_families);
	tcase_add_test(tc, test_ip_family_policy);
	tcase_add_test(tc, test_external_name);
	tcase_add_test(tc, test_headless_types);
	tcase_add_test(tc, test_session_affinity);
	tcase_add_test(tc, test_traffic_policies);
	tcase_add_test(tc, test_load_balancer_fields);
	tcase_add_test(tc, test_load_balancer_ip_warns);
	tcase_add_test(tc, test_external_ips);
	tcase_add_test(tc, test_annotations);
	tcase_add_test(tc, test_health_good);
	tcase_add_test(tc, test_health_bad);
	tcase_add_test(tc, test_health_timeout_over_interval);
	tcase_add_test(tc, test_health_udp_port);
	tcase_add_test(tc, test_health_https);
	tcase_add_test(tc, test_health_warnings);
	tcase_add_test(tc, test_health_proxyconfig_default);
	tcase_add_test(tc, test_load_balancer_class);
	tcase_add_test(tc, test_traffic_distribution);
	tcase_add_test(tc, test_source_ranges_annotation);
	tcase_add_test(tc, test_topology_annotations);
	tcase_add_test(tc, test_api_warnings);
	tcase_add_test(tc, test_all_errors_listed);
	tcase_add_test(tc, test_internal_policy_types);
	tcase_add_test(tc, test_format);
	return tc;
}

/* ---- across Services ---- */

#define SVC_NP(ns, name, proto, np) \
	"apiVersion: v1\nkind: Service\nmetadata: {name: " name \
	", namespace: " ns "}\nspec: {type: NodePort, ports: [{port: 80, " \
	"protocol: " proto ", nodePort: " np "}]}\n---\n"

START_TEST(test_node_port_unique)
{
	struct vt t;

	/* b is read first but a owns the port: name order decides. */
	vt_run(&t, SVC_NP("default", "b", "TCP", "30080")
	    SVC_NP("default", "a", "TCP", "30080")
	    SVC_NP("default", "c", "UDP", "30080")
	    SVC_NP("apps", "z", "TCP", "30081")
	    SVC_NP("default", "d", "TCP", "30081"));
	ck_assert_uint_eq(t.set.svcs.n, 5);
	ck_assert_str_eq(t.set.svcs.v[1]->meta.name, "a");
	ck_assert_int_eq(t.set.svcs.v[0]->invalid, 0);	/* apps/z */
	ck_assert_int_eq(t.set.svcs.v[1]->invalid, 0);	/* default/a */
	ck_assert_int_eq(t.set.svcs.v[2]->invalid, 1);	/* default/b */
	/* One allocator for every protocol. */
	ck_assert_int_eq(t.set.svcs.v[3]->invalid, 1);	/* c: UDP */
	ck_assert_int_eq(t.set.svcs.v[4]->invalid, 1);	/* default/d */
	ck_assert_uint_eq(t.nerr, 3);
	vt_free(&t);

	/* An invalid Service owns nothing. */
	vt_run(&t, SVC_NP("default", "a", "TCP", "30080")
	    "apiVersion: v1\nkind: Service\nmetadata: {name: a0}\n"
	    "spec: {type: Bad, ports: [{port: 80, nodePort: 30090}]}\n---\n"
	    SVC_NP("default", "b", "TCP", "30090"));
	ck_assert_int_eq(t.set.svcs.v[1]->invalid, 1);
	ck_assert_int_eq(t.set.svcs.v[2]->invalid, 0);
	ck_assert_uint_eq(t.nerr, 1);
	vt_free(&t);
}
END_TEST

/* The allocator's words, FieldValueInvalid, and who holds the port. */
START_TEST(test_node_port_taken_wording)
{
	struct vt		 t;
	const struct diag	*d;

	vt_run(&t, SVC_NP("default", "b", "TCP", "30080")
	    SVC_NP("default", "a", "TCP", "30080"));
	d = vt_expect(&t, "spec.ports[0].nodePort", E, DIAG_INVALID,
	    "30080", NULL);
	ck_assert_str_eq(d->detail, "provided port is already allocated");
	ck_assert_str_eq(d->name, "b");
	ck_assert_uint_eq(d->line, 4);
	d = vt_expect(&t, "spec.ports[0].nodePort", W, DIAG_NOTE, NULL,
	    "held by Service default/a");
	ck_assert_str_eq(d->name, "b");
	ck_assert_uint_eq(t.nerr, 1);
	vt_free(&t);
}
END_TEST

START_TEST(test_health_check_port_taken)
{
	struct vt t;

	/* healthCheckNodePort comes from the same allocator. */
	vt_run(&t, SVC_NP("default", "a", "TCP", "30080")
	    "apiVersion: v1\nkind: Service\nmetadata: {name: b}\n"
	    "spec: {type: LoadBalancer, externalTrafficPolicy: Local, "
	    "healthCheckNodePort: 30080, ports: [{port: 80}]}\n---\n"
	    "apiVersion: v1\nkind: Service\nmetadata: {name: c}\n"
	    "spec: {type: LoadBalancer, externalTrafficPolicy: Local, "
	    "healthCheckNodePort: 30090, ports: [{port: 80}]}\n---\n"
	    SVC_NP("default", "d", "TCP", "30090"));
	ck_assert_int_eq(t.set.svcs.v[1]->invalid, 1);
	ck_assert_int_eq(t.set.svcs.v[2]->invalid, 0);
	ck_assert_int_eq(t.set.svcs.v[3]->invalid, 1);
	ck_assert_uint_eq(t.nerr, 2);
	vt_expect(&t, "spec.healthCheckNodePort", E, DIAG_NOTE, NULL,
	    "Internal error occurred: failed to allocate requested "
	    "HealthCheck NodePort 30080: provided port is already allocated");
	vt_free(&t);
}
END_TEST

#define SVC_IP(ns, name, ip) \
	"apiVersion: v1\nkind: Service\nmetadata: {name: " name \
	", namespace: " ns "}\nspec: {clusterIP: \"" ip "\", ports: " \
	"[{port: 80}]}\n---\n"

START_TEST(test_cluster_ip_unique)
{
	struct vt		 t;
	const struct diag	*d;

	vt_run(&t, SVC_IP("default", "z", "10.96.0.10")
	    SVC_IP("apps", "a", "10.96.0.10")
	    SVC_IP("default", "y", "10.96.0.11")
	    SVC_IP("default", "h1", "None")
	    SVC_IP("default", "h2", "None"));
	ck_assert_int_eq(t.set.svcs.v[0]->invalid, 0);	/* apps/a */
	ck_assert_str_eq(t.set.svcs.v[4]->meta.name, "z");
	ck_assert_int_eq(t.set.svcs.v[4]->invalid, 1);
	ck_assert_uint_eq(t.nerr, 1);
	/* allocIPs: Invalid at spec.clusterIPs, in its words. */
	d = vt_expect(&t, "spec.clusterIPs", E, DIAG_INVALID, "10.96.0.10",
	    NULL);
	ck_assert_str_eq(d->detail, "failed to allocate IP 10.96.0.10: "
	    "provided IP is already allocated");
	ck_assert_str_eq(d->name, "z");
	ck_assert_uint_eq(d->line, 4);
	ck_assert_uint_eq(d->col, 19);
	vt_expect(&t, "spec.clusterIPs", W, DIAG_NOTE, NULL,
	    "held by Service apps/a");
	vt_free(&t);

	/* The second family's address counts too. */
	vt_run(&t, "apiVersion: v1\nkind: Service\nmetadata: {name: a}\n"
	    "spec: {clusterIP: 10.96.0.1, clusterIPs: [10.96.0.1, "
	    "\"fd00::1\"], ipFamilyPolicy: RequireDualStack, "
	    "ports: [{port: 80}]}\n---\n"
	    SVC_IP("default", "b", "fd00::1"));
	vt_expect(&t, "spec.clusterIPs", E, DIAG_INVALID, "fd00::1",
	    "failed to allocate IP fd00::1");
	ck_assert_int_eq(t.set.svcs.v[1]->invalid, 1);
	vt_free(&t);

	/* An invalid Service holds no address. */
	vt_run(&t, "apiVersion: v1\nkind: Service\nmetadata: {name: a}\n"
	    "spec: {type: Bad, clusterIP: 10.96.0.1, ports: [{port: 80}]}\n"
	    "---\n" SVC_IP("default", "b", "10.96.0.1"));
	ck_assert_int_eq(t.set.svcs.v[0]->invalid, 1);
	ck_assert_int_eq(t.set.svcs.v[1]->invalid, 0);
	ck_assert_uint_eq(t.nerr, 1);
	vt_free(&t);
}
END_TEST

/*
 * externalTrafficPolicy: Local without a way for the client's address to
 * reach the backends: a warning naming the annotations; none when one
 * is set (also to opt out), when ProxyConfig gives a method, or when
 * the Service has no TCP port.
 */
#define LOCAL_SVC(ann, ports)						\
	"apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n"	\
	"  annotations: {" ann "}\n"					\
	"spec:\n  type: LoadBalancer\n  externalTrafficPolicy: Local\n"	\
	"  ports: " ports "\n"
#define PCFG_DOC(spec)							\
	"apiVersion: svcproxy.io/v1alpha1\nkind: ProxyConfig\n"		\
	"metadata: {name: c}\nspec: {" spec "}\n---\n"

START_TEST(test_local_client_address)
{
	struct vt		 t;
	const struct diag	*d;

	vt_run(&t, LOCAL_SVC("", "[{port: 80}]"));
	d = vt_expect(&t, "spec.externalTrafficPolicy", W, DIAG_INVALID,
	    "Local", "the client's address does not reach the backends");
	ck_assert_ptr_nonnull(strstr(d->detail, "add the annotation "
	    "svcproxy.io/proxy-protocol: v2 (or v1: backends that read a "
	    "PROXY header) or svcproxy.io/source-address: client "
	    "(transparent mode), or set ProxyConfig "
	    "spec.localTrafficClientAddress"));
	ck_assert_uint_eq(d->line, 8);
	ck_assert_uint_eq(t.nerr, 0);
	vt_free(&t);
	/* NodePort too; and ClusterIP with externalIPs. */
	vt_run(&t, "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n"
	    "spec:\n  type: NodePort\n  externalTrafficPolicy: Local\n"
	    "  ports: [{port: 80}]\n");
	vt_expect(&t, "spec.externalTrafficPolicy", W, DIAG_INVALID,
	    "Local", "add the annotation");
	vt_free(&t);
	vt_run(&t, "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n"
	    "spec:\n  externalIPs: [192.0.2.10]\n"
	    "  externalTrafficPolicy: Local\n  ports: [{port: 80}]\n");
	vt_expect(&t, "spec.externalTrafficPolicy", W, DIAG_INVALID,
	    "Local", "add the annotation");
	vt_free(&t);

	vt_run(&t, LOCAL_SVC("svcproxy.io/proxy-protocol: v2",
	    "[{port: 80}]"));
	vt_clean(&t);
	vt_free(&t);
	vt_run(&t, LOCAL_SVC("svcproxy.io/source-address: client",
	    "[{port: 80}]"));
	vt_clean(&t);
	vt_free(&t);
	vt_run(&t, LOCAL_SVC("svcproxy.io/proxy-protocol: none",
	    "[{port: 80}]"));
	vt_clean(&t);
	vt_free(&t);
	vt_run(&t, LOCAL_SVC("", "[{port: 53, protocol: UDP}]"));
	vt_clean(&t);
	vt_free(&t);
	vt_run(&t, PCFG_DOC("localTrafficClientAddress: transparent")
	    LOCAL_SVC("", "[{port: 80}]"));
	vt_clean(&t);
	ck_assert_int_eq(t.pcfg.local_ca, PCFG_LOCAL_CA_TRANSPARENT);
	vt_free(&t);
	vt_run(&t, PCFG_DOC("proxyProtocol: v1") LOCAL_SVC("", "[{port: 80}]"));
	vt_clean(&t);
	vt_free(&t);
	/* A v1 default reaches no UDP port: said there, whichever default
	   it came from; the Service's own v2 (or none) stands. */
	vt_run(&t, PCFG_DOC("proxyProtocol: v1") LOCAL_SVC("",
	    "[{port: 80}, {name: d, port: 53, protocol: UDP}]"));
	vt_expect(&t, "spec.ports[1].protocol", W, DIAG_INVALID, "UDP",
	    "gets no PROXY header: ProxyConfig spec.proxyProtocol asks for "
	    "v1, which has no UDP form");
	vt_free(&t);
	vt_run(&t, PCFG_DOC("localTrafficClientAddress: proxy-protocol-v1")
	    LOCAL_SVC("", "[{port: 53, protocol: UDP}]"));
	vt_expect(&t, "spec.ports[0].protocol", W, DIAG_INVALID, "UDP",
	    "ProxyConfig spec.localTrafficClientAddress asks for v1");
	vt_free(&t);
	vt_run(&t, PCFG_DOC("proxyProtocol: v1")
	    LOCAL_SVC("svcproxy.io/proxy-protocol: v2",
	    "[{port: 53, protocol: UDP}]"));
	vt_clean(&t);
	vt_free(&t);
	vt_run(&t, PCFG_DOC("localTrafficClientAddress: proxy-protocol")
	    LOCAL_SVC("", "[{port: 80}]"));
	vt_expect(&t, "spec.localTrafficClientAddress", E,
	    DIAG_NOT_SUPPORTED, "proxy-protocol", "supported values: "
	    "\"none\", \"proxy-protocol-v1\", \"proxy-protocol-v2\", "
	    "\"transparent\"");
	vt_free(&t);
}
END_TEST

/* svcproxy.io/source-address: client or proxy; TCP ports only. */
START_TEST(test_source_address)
{
	struct vt t;

	vt_run(&t, "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n"
	    "  annotations:\n"
	    "    svcproxy.io/source-address: client\n"
	    "spec:\n  ports: [{port: 80}]\n");
	vt_clean(&t);
	vt_free(&t);

	vt_run(&t, "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n"
	    "  annotations:\n"
	    "    svcproxy.io/source-address: clientip\n"
	    "spec:\n  ports: [{port: 80}]\n");
	vt_expect(&t, "metadata.annotations[svcproxy.io/source-address]", E,
	    DIAG_NOT_SUPPORTED, "clientip",
	    "supported values: \"client\", \"proxy\"");
	ck_assert_uint_eq(t.nerr, 1);
	vt_free(&t);

	vt_run(&t, "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n"
	    "  annotations:\n"
	    "    svcproxy.io/source-address: client\n"
	    "spec:\n  ports: [{name: h, port: 80}, {name: d, port: 53, "
	    "protocol: UDP}]\n");
	vt_expect(&t, "metadata.annotations[svcproxy.io/source-address]", W,
	    DIAG_INVALID, "client", "not honoured on spec.ports[1] (UDP)");
	ck_assert_uint_eq(t.nerr, 0);
	vt_free(&t);

	vt_run(&t, "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n"
	    "  annotations:\n"
	    "    svcproxy.io/source-address: client\n"
	    "spec:\n  clusterIP: None\n  ports: [{port: 80}]\n");
	vt_expect(&t, "metadata.annotations[svcproxy.io/source-address]", W,
	    DIAG_INVALID, "client", "does not proxy headless Services");
	vt_free(&t);
}
END_TEST

TCase *
val_tc_service_cross(void)
{
	TCase *tc = tcase_create("service-cross");

	tcase_add_test(tc, test_node_port_unique);
	tcase_add_test(tc, test_node_port_taken_wording);
	tcase_add_test(tc, test_health_check_port_taken);
	tcase_add_test(tc, test_cluster_ip_unique);
	tcase_add_test(tc, test_source_address);
	tcase_add_test(tc, test_local_client_address);
	return tc;
}
