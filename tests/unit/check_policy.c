/*
 * policy + policy_eval: NetworkPolicy semantics, from the examples of
 * the Kubernetes NetworkPolicy documentation and the upstream e2e
 * scenarios (test/e2e/network/netpol): every input goes through
 * load -> val -> pol_build, as a snapshot would.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "load.h"
#include "policy.h"
#include "unit.h"
#include "val.h"

/*
 * The cluster every test starts from.  Three namespaces with labels
 * (default has none declared), Pods with labels and named ports.
 */
static const char base_yaml[] =
    "apiVersion: v1\nkind: Namespace\nmetadata: {name: default}\n"
    "---\napiVersion: v1\nkind: Namespace\n"
    "metadata: {name: prod, labels: {env: prod, team: a}}\n"
    "---\napiVersion: v1\nkind: Namespace\n"
    "metadata: {name: dev, labels: {env: dev}}\n"
    "---\napiVersion: v1\nkind: Pod\n"
    "metadata: {name: web, namespace: default, labels: {app: web}}\n"
    "spec:\n"
    "  containers:\n"
    "  - name: c\n"
    "    ports:\n"
    "    - {name: http, containerPort: 8080}\n"
    "    - {name: dns, containerPort: 53, protocol: UDP}\n"
    "status: {podIP: 10.0.0.10}\n"
    "---\napiVersion: v1\nkind: Pod\n"
    "metadata: {name: web2, namespace: default, labels: {app: web}}\n"
    "spec:\n"
    "  containers:\n"
    "  - name: c\n"
    "    ports: [{name: http, containerPort: 9090}]\n"
    "status: {podIP: 10.0.0.11}\n"
    "---\napiVersion: v1\nkind: Pod\n"
    "metadata: {name: client, namespace: default, labels: {role: client}}\n"
    "spec: {containers: [{name: c}]}\n"
    "status: {podIP: 10.0.0.20}\n"
    "---\napiVersion: v1\nkind: Pod\n"
    "metadata: {name: other, namespace: default, labels: {role: other}}\n"
    "spec: {containers: [{name: c}]}\n"
    "status: {podIP: 10.0.0.21}\n"
    "---\napiVersion: v1\nkind: Pod\n"
    "metadata: {name: v6, namespace: default, labels: {app: v6}}\n"
    "spec: {containers: [{name: c}]}\n"
    "status:\n"
    "  podIP: 10.0.0.40\n"
    "  podIPs: [{ip: 10.0.0.40}, {ip: \"fd00::40\"}]\n"
    "---\napiVersion: v1\nkind: Pod\n"
    "metadata: {name: client, namespace: prod, labels: {role: client}}\n"
    "spec: {containers: [{name: c}]}\n"
    "status: {podIP: 10.1.0.20}\n"
    "---\napiVersion: v1\nkind: Pod\n"
    "metadata: {name: db, namespace: prod, labels: {app: db}}\n"
    "spec: {containers: [{name: c}]}\n"
    "status: {podIP: 10.1.0.30}\n"
    "---\napiVersion: v1\nkind: Pod\n"
    "metadata: {name: client, namespace: dev, labels: {role: client}}\n"
    "spec: {containers: [{name: c}]}\n"
    "status: {podIP: 10.2.0.20}\n"
    "---\napiVersion: v1\nkind: Pod\n"
    "metadata: {name: client, namespace: staging, "
    "labels: {role: client}}\n"
    "spec: {containers: [{name: c}]}\n"
    "status: {podIP: 10.3.0.20}\n";

struct fx {
	struct kset		 set;
	struct diag_list	 dl;
	struct pcfg		 pcfg;
	struct arena		 a;
	struct pol_table	 t;
};

/* Load base_yaml plus extra (policies), validate, compile. */
static void
fx_load(struct fx *x, const char *extra)
{
	char	*yaml;
	size_t	 len = strlen(base_yaml) + strlen(extra) + 8;
	size_t	 nerr;

	yaml = malloc(len);
	ck_assert_ptr_nonnull(yaml);
	snprintf(yaml, len, "%s---\n%s", base_yaml, extra);
	unit_load(&x->set, &x->dl, yaml);
	free(yaml);
	nerr = val_all(&x->set, &x->pcfg, &x->dl);
	if (nerr != 0)
		unit_dump(&x->dl);
	ck_assert_uint_eq(nerr, 0);
	arena_init(&x->a, 0);
	ck_assert_int_eq(pol_build(&x->t, &x->a, &x->set), 0);
}

static void
fx_free(struct fx *x)
{
	arena_free(&x->a);
	unit_free(&x->set, &x->dl);
}

/* "ns/pod" (its address of family, else its first) or an address. */
static void
end_of(const struct fx *x, const char *s, int family, int32_t *pod,
    struct ipaddr *addr)
{
	char			 ns[64];
	const char		*slash = strchr(s, '/');
	const struct pol_pod	*p;
	uint32_t		 i;

	memset(addr, 0, sizeof(*addr));
	if (slash == NULL) {
		ck_assert_int_eq(ipaddr_parse(s, addr), 0);
		*pod = pol_pod_by_addr(&x->t, addr);
		return;
	}
	snprintf(ns, sizeof(ns), "%.*s", (int)(slash - s), s);
	*pod = pol_pod_by_name(&x->t, ns, slash + 1);
	ck_assert_msg(*pod != POL_NONE, "no pod %s", s);
	p = &x->t.pods[*pod];
	for (i = 0; i < p->naddr; i++)
		if (family == 0 || p->addr[i].family == family) {
			*addr = p->addr[i];
			return;
		}
}

/* Judge src -> dst:port/proto; returns the verdict's allowed. */
static int
judge(const struct fx *x, const char *src, const char *dst, int port,
    enum proto proto, struct pol_verdict *v)
{
	struct pol_flow		f;
	struct pol_verdict	local;

	memset(&f, 0, sizeof(f));
	end_of(x, dst, 0, &f.dst_pod, &f.dst);
	end_of(x, src, f.dst.family, &f.src_pod, &f.src);
	f.port = (uint16_t)port;
	f.proto = proto;
	return pol_judge(&x->t, &f, v != NULL ? v : &local);
}

#define ALLOWED(x, s, d, p)	judge((x), (s), (d), (p), PROTO_TCP, NULL)

/* "ns/name" of the policy that allowed side d, or "" when none. */
static const char *
by(const struct fx *x, const struct pol_verdict *v, enum pol_dir d)
{
	static char buf[128];
	const struct pol_side *s = &v->side[d];

	if (s->by_policy == POL_NONE)
		return "";
	snprintf(buf, sizeof(buf), "%s/%s[%d]",
	    x->t.policies[s->by_policy].ns,
	    x->t.policies[s->by_policy].name, (int)s->by_rule);
	return buf;
}

static const char np_head[] =
    "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n";

/* ---- isolation ---- */

START_TEST(test_no_policy_allows_everything)
{
	struct fx		x;
	struct pol_verdict	v;

	fx_load(&x, "apiVersion: v1\nkind: Namespace\n"
	    "metadata: {name: empty}\n");
	ck_assert_uint_eq(x.t.npolicies, 0);
	ck_assert_int_eq(judge(&x, "default/client", "default/web", 8080,
	    PROTO_TCP, &v), 1);
	ck_assert_int_eq(v.side[POL_INGRESS].isolated, 0);
	ck_assert_int_eq(v.side[POL_EGRESS].isolated, 0);
	ck_assert_int_eq(v.side[POL_INGRESS].pod,
	    pol_pod_by_name(&x.t, "default", "web"));
	ck_assert_int_eq(ALLOWED(&x, "192.0.2.1", "prod/db", 5432), 1);
	fx_free(&x);
}
END_TEST

/* Docs: "Default deny all ingress traffic". */
START_TEST(test_default_deny_ingress)
{
	struct fx		x;
	struct pol_verdict	v;
	char			yaml[512];

	snprintf(yaml, sizeof(yaml), "%s"
	    "metadata: {name: default-deny-ingress, namespace: default}\n"
	    "spec:\n  podSelector: {}\n  policyTypes: [Ingress]\n",
	    np_head);
	fx_load(&x, yaml);
	ck_assert_int_eq(judge(&x, "default/client", "default/web", 8080,
	    PROTO_TCP, &v), 0);
	ck_assert_int_eq(v.side[POL_INGRESS].isolated, 1);
	ck_assert_int_eq(v.side[POL_INGRESS].allowed, 0);
	ck_assert_uint_eq(v.side[POL_INGRESS].npolicies, 1);
	ck_assert_str_eq(x.t.policies[v.side[POL_INGRESS].policies[0]].name,
	    "default-deny-ingress");
	ck_assert_int_eq(v.side[POL_INGRESS].by_policy, POL_NONE);
	/* Egress of the client is not isolated by an Ingress policy. */
	ck_assert_int_eq(v.side[POL_EGRESS].isolated, 0);
	ck_assert_int_eq(v.side[POL_EGRESS].allowed, 1);
	ck_assert_int_eq(ALLOWED(&x, "192.0.2.1", "default/web", 8080), 0);
	ck_assert_int_eq(ALLOWED(&x, "prod/client", "default/other", 1), 0);
	/* A policy in another namespace does not apply. */
	ck_assert_int_eq(judge(&x, "default/client", "prod/db", 5432,
	    PROTO_TCP, &v), 1);
	ck_assert_int_eq(v.side[POL_INGRESS].isolated, 0);
	/* From an isolated Pod out: egress is free. */
	ck_assert_int_eq(ALLOWED(&x, "default/web", "prod/db", 5432), 1);
	ck_assert_uint_eq(x.t.nisolated[POL_INGRESS], 5);
	ck_assert_uint_eq(x.t.nisolated[POL_EGRESS], 0);
	fx_free(&x);
}
END_TEST

/* Docs: "Allow all ingress traffic" (ingress: [{}]). */
START_TEST(test_allow_all_ingress)
{
	struct fx		x;
	struct pol_verdict	v;
	char			yaml[1024];

	snprintf(yaml, sizeof(yaml), "%s"
	    "metadata: {name: deny, namespace: default}\n"
	    "spec: {podSelector: {}, policyTypes: [Ingress]}\n---\n%s"
	    "metadata: {name: allow-all-ingress, namespace: default}\n"
	    "spec:\n  podSelector: {}\n  ingress:\n  - {}\n"
	    "  policyTypes: [Ingress]\n", np_head, np_head);
	fx_load(&x, yaml);
	ck_assert_int_eq(judge(&x, "192.0.2.1", "default/web", 8080,
	    PROTO_TCP, &v), 1);
	ck_assert_uint_eq(v.side[POL_INGRESS].npolicies, 2);
	ck_assert_str_eq(by(&x, &v, POL_INGRESS),
	    "default/allow-all-ingress[0]");
	ck_assert_int_eq(judge(&x, "prod/db", "default/client", 1, PROTO_UDP,
	    &v), 1);
	ck_assert_int_eq(judge(&x, "fd00::99", "default/v6", 1, PROTO_SCTP,
	    &v), 1);
	fx_free(&x);
}
END_TEST

/* Docs: "Default deny all egress traffic". */
START_TEST(test_default_deny_egress)
{
	struct fx		x;
	struct pol_verdict	v;
	char			yaml[512];

	snprintf(yaml, sizeof(yaml), "%s"
	    "metadata: {name: default-deny-egress, namespace: default}\n"
	    "spec:\n  podSelector: {}\n  policyTypes: [Egress]\n", np_head);
	fx_load(&x, yaml);
	ck_assert_int_eq(judge(&x, "default/client", "prod/db", 5432,
	    PROTO_TCP, &v), 0);
	ck_assert_int_eq(v.side[POL_EGRESS].isolated, 1);
	ck_assert_int_eq(v.side[POL_EGRESS].allowed, 0);
	ck_assert_int_eq(v.side[POL_INGRESS].isolated, 0);
	ck_assert_int_eq(v.side[POL_INGRESS].allowed, 1);
	/* Even inside the namespace, even to an outside address. */
	ck_assert_int_eq(ALLOWED(&x, "default/client", "default/web", 8080),
	    0);
	ck_assert_int_eq(ALLOWED(&x, "default/client", "192.0.2.1", 53), 0);
	/* policyTypes [Egress] does not isolate ingress. */
	ck_assert_int_eq(judge(&x, "prod/client", "default/web", 8080,
	    PROTO_TCP, &v), 1);
	ck_assert_int_eq(v.side[POL_INGRESS].isolated, 0);
	/* A client that is not a Pod has no egress to isolate. */
	ck_assert_int_eq(ALLOWED(&x, "192.0.2.1", "default/web", 8080), 1);
	fx_free(&x);
}
END_TEST

/* policyTypes [Egress] with ingress rules listed: they are moot. */
START_TEST(test_egress_only_ignores_ingress_rules)
{
	struct fx		x;
	struct pol_verdict	v;
	char			yaml[1024];

	snprintf(yaml, sizeof(yaml), "%s"
	    "metadata: {name: eg, namespace: default}\n"
	    "spec:\n  podSelector: {matchLabels: {app: web}}\n"
	    "  policyTypes: [Egress]\n"
	    "  ingress:\n  - from: [{podSelector: {matchLabels: "
	    "{role: client}}}]\n"
	    "  egress:\n  - to: [{podSelector: {matchLabels: "
	    "{role: client}}}]\n", np_head);
	fx_load(&x, yaml);
	ck_assert_int_eq(judge(&x, "default/other", "default/web", 8080,
	    PROTO_TCP, &v), 1);
	ck_assert_int_eq(v.side[POL_INGRESS].isolated, 0);
	ck_assert_int_eq(judge(&x, "default/web", "default/client", 80,
	    PROTO_TCP, &v), 1);
	ck_assert_str_eq(by(&x, &v, POL_EGRESS), "default/eg[0]");
	ck_assert_int_eq(ALLOWED(&x, "default/web", "default/other", 80), 0);
	fx_free(&x);
}
END_TEST

/* No policyTypes: Ingress, plus Egress because egress rules exist. */
START_TEST(test_policy_types_defaulted)
{
	struct fx		x;
	struct pol_verdict	v;
	char			yaml[1024];

	snprintf(yaml, sizeof(yaml), "%s"
	    "metadata: {name: both, namespace: default}\n"
	    "spec:\n  podSelector: {matchLabels: {role: client}}\n"
	    "  egress:\n  - to: [{namespaceSelector: {matchLabels: "
	    "{env: prod}}}]\n---\n%s"
	    "metadata: {name: in-only, namespace: default}\n"
	    "spec:\n  podSelector: {matchLabels: {app: web}}\n"
	    "  ingress: [{}]\n", np_head, np_head);
	fx_load(&x, yaml);
	/* client: isolated both ways by "both"; no ingress rule. */
	ck_assert_int_eq(judge(&x, "default/other", "default/client", 80,
	    PROTO_TCP, &v), 0);
	ck_assert_int_eq(v.side[POL_INGRESS].isolated, 1);
	ck_assert_int_eq(judge(&x, "default/client", "prod/db", 5432,
	    PROTO_TCP, &v), 1);
	ck_assert_str_eq(by(&x, &v, POL_EGRESS), "default/both[0]");
	ck_assert_int_eq(ALLOWED(&x, "default/client", "dev/client", 80), 0);
	/* web: ingress only (no egress rules: Egress not defaulted). */
	ck_assert_int_eq(judge(&x, "default/web", "dev/client", 80,
	    PROTO_TCP, &v), 1);
	ck_assert_int_eq(v.side[POL_EGRESS].isolated, 0);
	fx_free(&x);
}
END_TEST

/* ---- peers ---- */

/* e2e: "should allow ingress access from namespace on one named port"
   style, simplified: podSelector {} in from = same namespace only. */
START_TEST(test_allow_same_namespace)
{
	struct fx		x;
	struct pol_verdict	v;
	char			yaml[512];

	snprintf(yaml, sizeof(yaml), "%s"
	    "metadata: {name: allow-same-namespace, namespace: default}\n"
	    "spec:\n  podSelector: {}\n"
	    "  ingress:\n  - from:\n    - podSelector: {}\n", np_head);
	fx_load(&x, yaml);
	ck_assert_int_eq(judge(&x, "default/client", "default/web", 8080,
	    PROTO_TCP, &v), 1);
	ck_assert_str_eq(by(&x, &v, POL_INGRESS),
	    "default/allow-same-namespace[0]");
	ck_assert_int_eq(ALLOWED(&x, "default/web", "default/web2", 1), 1);
	ck_assert_int_eq(ALLOWED(&x, "prod/client", "default/web", 8080), 0);
	ck_assert_int_eq(ALLOWED(&x, "staging/client", "default/web", 8080),
	    0);
	/* An outside address is not a Pod: selectors never match it. */
	ck_assert_int_eq(ALLOWED(&x, "192.0.2.1", "default/web", 8080), 0);
	/* The address of a Pod of the namespace is that Pod. */
	ck_assert_int_eq(ALLOWED(&x, "10.0.0.20", "default/web", 8080), 1);
	ck_assert_int_eq(ALLOWED(&x, "10.1.0.20", "default/web", 8080), 0);
	fx_free(&x);
}
END_TEST

/* One peer with both selectors: AND. */
START_TEST(test_ns_and_pod_selector_and)
{
	struct fx	x;
	char		yaml[1024];

	snprintf(yaml, sizeof(yaml), "%s"
	    "metadata: {name: and, namespace: default}\n"
	    "spec:\n  podSelector: {matchLabels: {app: web}}\n"
	    "  ingress:\n  - from:\n"
	    "    - namespaceSelector: {matchLabels: {env: prod}}\n"
	    "      podSelector: {matchLabels: {role: client}}\n", np_head);
	fx_load(&x, yaml);
	ck_assert_int_eq(ALLOWED(&x, "prod/client", "default/web", 8080), 1);
	ck_assert_int_eq(ALLOWED(&x, "prod/db", "default/web", 8080), 0);
	ck_assert_int_eq(ALLOWED(&x, "default/client", "default/web", 8080),
	    0);
	ck_assert_int_eq(ALLOWED(&x, "dev/client", "default/web", 8080), 0);
	fx_free(&x);
}
END_TEST

/* Two peers: OR; podSelector alone is the policy's namespace. */
START_TEST(test_ns_or_pod_selector)
{
	struct fx		x;
	struct pol_verdict	v;
	char			yaml[1024];

	snprintf(yaml, sizeof(yaml), "%s"
	    "metadata: {name: or, namespace: default}\n"
	    "spec:\n  podSelector: {matchLabels: {app: web}}\n"
	    "  ingress:\n  - from:\n"
	    "    - namespaceSelector: {matchLabels: {env: prod}}\n"
	    "    - podSelector: {matchLabels: {role: client}}\n", np_head);
	fx_load(&x, yaml);
	ck_assert_int_eq(ALLOWED(&x, "prod/client", "default/web", 8080), 1);
	ck_assert_int_eq(ALLOWED(&x, "prod/db", "default/web", 8080), 1);
	ck_assert_int_eq(judge(&x, "default/client", "default/web", 8080,
	    PROTO_TCP, &v), 1);
	ck_assert_str_eq(by(&x, &v, POL_INGRESS), "default/or[0]");
	ck_assert_int_eq(ALLOWED(&x, "default/other", "default/web", 8080),
	    0);
	ck_assert_int_eq(ALLOWED(&x, "dev/client", "default/web", 8080), 0);
	/* Only web Pods are isolated. */
	ck_assert_int_eq(ALLOWED(&x, "dev/client", "default/other", 80), 1);
	fx_free(&x);
}
END_TEST

/*
 * namespaceSelector by the name label the API server sets, on a
 * declared namespace without it (dev) and on one no file declares
 * (staging); namespaceSelector {} is every namespace.
 */
START_TEST(test_namespace_name_label)
{
	struct fx	x;
	char		yaml[1024];

	snprintf(yaml, sizeof(yaml), "%s"
	    "metadata: {name: by-name, namespace: prod}\n"
	    "spec:\n  podSelector: {matchLabels: {app: db}}\n"
	    "  ingress:\n  - from:\n"
	    "    - namespaceSelector:\n        matchLabels:\n"
	    "          kubernetes.io/metadata.name: dev\n"
	    "    - namespaceSelector:\n        matchExpressions:\n"
	    "        - {key: kubernetes.io/metadata.name, operator: In, "
	    "values: [staging]}\n---\n%s"
	    "metadata: {name: all-ns, namespace: prod}\n"
	    "spec:\n  podSelector: {matchLabels: {role: client}}\n"
	    "  ingress:\n  - from: [{namespaceSelector: {}}]\n",
	    np_head, np_head);
	fx_load(&x, yaml);
	ck_assert_int_eq(ALLOWED(&x, "dev/client", "prod/db", 5432), 1);
	ck_assert_int_eq(ALLOWED(&x, "staging/client", "prod/db", 5432), 1);
	ck_assert_int_eq(ALLOWED(&x, "default/client", "prod/db", 5432), 0);
	ck_assert_int_eq(ALLOWED(&x, "prod/client", "prod/db", 5432), 0);
	ck_assert_int_eq(ALLOWED(&x, "default/web", "prod/client", 1), 1);
	ck_assert_int_eq(ALLOWED(&x, "staging/client", "prod/client", 1), 1);
	ck_assert_int_eq(ALLOWED(&x, "192.0.2.7", "prod/client", 1), 0);
	fx_free(&x);
}
END_TEST

/* matchExpressions: In, NotIn, Exists, DoesNotExist. */
START_TEST(test_match_expressions)
{
	struct fx	x;
	char		yaml[2048];

	snprintf(yaml, sizeof(yaml), "%s"
	    "metadata: {name: exprs, namespace: default}\n"
	    "spec:\n  podSelector:\n    matchExpressions:\n"
	    "    - {key: app, operator: In, values: [web, v6]}\n"
	    "  ingress:\n"
	    "  - from:\n    - podSelector:\n        matchExpressions:\n"
	    "        - {key: role, operator: NotIn, values: [client]}\n"
	    "        - {key: role, operator: Exists}\n"
	    "    ports: [{port: 1}]\n"
	    "  - from:\n    - namespaceSelector:\n"
	    "        matchExpressions:\n"
	    "        - {key: env, operator: DoesNotExist}\n"
	    "    ports: [{port: 2}]\n", np_head);
	fx_load(&x, yaml);
	/* In: web and v6 isolated, client is not. */
	ck_assert_int_eq(ALLOWED(&x, "prod/db", "default/client", 9), 1);
	ck_assert_int_eq(ALLOWED(&x, "prod/db", "default/v6", 9), 0);
	/* NotIn + Exists: other (role=other) yes; client no; web (no
	   role) no. */
	ck_assert_int_eq(ALLOWED(&x, "default/other", "default/web", 1), 1);
	ck_assert_int_eq(ALLOWED(&x, "default/client", "default/web", 1), 0);
	ck_assert_int_eq(ALLOWED(&x, "default/web2", "default/web", 1), 0);
	/* DoesNotExist env: default and staging, not prod or dev. */
	ck_assert_int_eq(ALLOWED(&x, "default/client", "default/web", 2), 1);
	ck_assert_int_eq(ALLOWED(&x, "staging/client", "default/web", 2), 1);
	ck_assert_int_eq(ALLOWED(&x, "prod/client", "default/web", 2), 0);
	ck_assert_int_eq(ALLOWED(&x, "dev/client", "default/web", 2), 0);
	fx_free(&x);
}
END_TEST

/* A rule whose peers select nobody matches nobody (not everybody). */
START_TEST(test_empty_selection_matches_nothing)
{
	struct fx	x;
	char		yaml[1024];

	snprintf(yaml, sizeof(yaml), "%s"
	    "metadata: {name: nobody, namespace: default}\n"
	    "spec:\n  podSelector: {matchLabels: {app: web}}\n"
	    "  ingress:\n  - from: [{podSelector: {matchLabels: "
	    "{role: ghost}}}]\n"
	    "  - from: [{namespaceSelector: {matchLabels: {env: qa}}}]\n"
	    "---\n%s"
	    "metadata: {name: empty-from, namespace: default}\n"
	    "spec:\n  podSelector: {matchLabels: {app: v6}}\n"
	    "  ingress:\n  - from: []\n    ports: [{port: 7}]\n",
	    np_head, np_head);
	fx_load(&x, yaml);
	ck_assert_int_eq(ALLOWED(&x, "default/client", "default/web", 8080),
	    0);
	ck_assert_int_eq(ALLOWED(&x, "192.0.2.1", "default/web", 8080), 0);
	ck_assert_uint_eq(x.t.policies[1].rules[POL_INGRESS][0].pods.n, 0);
	/* from: [] is every source. */
	ck_assert_int_eq(ALLOWED(&x, "192.0.2.1", "default/v6", 7), 1);
	ck_assert_int_eq(ALLOWED(&x, "192.0.2.1", "default/v6", 8), 0);
	fx_free(&x);
}
END_TEST

/* Docs' test-network-policy: ipBlock with except. */
START_TEST(test_ipblock_except)
{
	struct fx		x;
	struct pol_verdict	v;
	char			yaml[1024];

	snprintf(yaml, sizeof(yaml), "%s"
	    "metadata: {name: ipb, namespace: default}\n"
	    "spec:\n  podSelector: {matchLabels: {app: web}}\n"
	    "  ingress:\n  - from:\n    - ipBlock:\n"
	    "        cidr: 10.0.0.0/16\n"
	    "        except: [10.0.0.16/28]\n"
	    "    - ipBlock:\n        cidr: fd00::/64\n"
	    "        except: [\"fd00::40/128\"]\n", np_head);
	fx_load(&x, yaml);
	ck_assert_int_eq(ALLOWED(&x, "10.0.5.5", "default/web", 8080), 1);
	ck_assert_int_eq(ALLOWED(&x, "10.0.0.15", "default/web", 8080), 1);
	ck_assert_int_eq(ALLOWED(&x, "10.0.0.16", "default/web", 8080), 0);
	ck_assert_int_eq(ALLOWED(&x, "10.0.0.31", "default/web", 8080), 0);
	ck_assert_int_eq(ALLOWED(&x, "10.0.0.32", "default/web", 8080), 1);
	ck_assert_int_eq(ALLOWED(&x, "10.1.0.1", "default/web", 8080), 0);
	/* A Pod's address inside the block matches; inside except not. */
	ck_assert_int_eq(judge(&x, "default/web2", "default/web", 8080,
	    PROTO_TCP, &v), 1);
	ck_assert_int_eq(v.side[POL_EGRESS].pod,
	    pol_pod_by_name(&x.t, "default", "web2"));
	ck_assert_str_eq(by(&x, &v, POL_INGRESS), "default/ipb[0]");
	ck_assert_int_eq(ALLOWED(&x, "default/client", "default/web", 8080),
	    0);
	/* IPv6. */
	ck_assert_int_eq(ALLOWED(&x, "fd00::41", "default/web", 8080), 1);
	ck_assert_int_eq(ALLOWED(&x, "fd00::40", "default/web", 8080), 0);
	ck_assert_int_eq(ALLOWED(&x, "fd00:0:0:1::1", "default/web", 8080),
	    0);
	/* IPv4 never matches an IPv6 block, nor the reverse. */
	ck_assert_int_eq(ALLOWED(&x, "::ffff:10.0.5.5", "default/web", 8080),
	    0);
	ck_assert_uint_eq(x.t.policies[0].rules[POL_INGRESS][0].nv4, 2);
	ck_assert_uint_eq(x.t.policies[0].rules[POL_INGRESS][0].nv6, 2);
	fx_free(&x);
}
END_TEST

/*
 * Peers are alternatives even for ipBlocks: one peer's except does not
 * remove addresses another peer allows.  Blocks at both ends of the
 * address space exercise the range arithmetic.
 */
START_TEST(test_ipblock_union)
{
	struct fx		 x;
	const struct pol_rule	*r;
	char			 yaml[2048];

	snprintf(yaml, sizeof(yaml), "%s"
	    "metadata: {name: union, namespace: default}\n"
	    "spec:\n  podSelector: {matchLabels: {app: web}}\n"
	    "  ingress:\n  - from:\n"
	    "    - ipBlock: {cidr: 172.16.0.0/12, except: [172.17.0.0/16, "
	    "172.17.128.0/17, 172.31.255.255/32]}\n"
	    "    - ipBlock: {cidr: 172.17.2.0/24}\n"
	    "    - ipBlock: {cidr: 172.17.3.0/24}\n"
	    "  - from:\n"
	    "    - ipBlock: {cidr: 0.0.0.0/0, except: [0.0.0.0/32, "
	    "255.255.255.255/32, 10.0.0.0/8]}\n"
	    "    - ipBlock: {cidr: \"::/0\", except: [\"::/128\", "
	    "\"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128\"]}\n"
	    "    ports: [{port: 9}]\n",
	    np_head);
	fx_load(&x, yaml);
	r = &x.t.policies[0].rules[POL_INGRESS][0];
	/* 172.16/16, 172.17.2.0-172.17.3.255, 172.18.0.0-172.31.255.254 */
	ck_assert_uint_eq(r->nv4, 3);
	ck_assert_int_eq(ALLOWED(&x, "172.17.2.3", "default/web", 1), 1);
	ck_assert_int_eq(ALLOWED(&x, "172.17.3.255", "default/web", 1), 1);
	ck_assert_int_eq(ALLOWED(&x, "172.17.4.0", "default/web", 1), 0);
	ck_assert_int_eq(ALLOWED(&x, "172.17.1.255", "default/web", 1), 0);
	ck_assert_int_eq(ALLOWED(&x, "172.16.255.255", "default/web", 1), 1);
	ck_assert_int_eq(ALLOWED(&x, "172.18.0.0", "default/web", 1), 1);
	ck_assert_int_eq(ALLOWED(&x, "172.31.255.254", "default/web", 1), 1);
	ck_assert_int_eq(ALLOWED(&x, "172.31.255.255", "default/web", 1), 0);
	ck_assert_int_eq(ALLOWED(&x, "172.32.0.0", "default/web", 1), 0);
	r = &x.t.policies[0].rules[POL_INGRESS][1];
	ck_assert_uint_eq(r->nv4, 2);
	ck_assert_uint_eq(r->nv6, 1);
	ck_assert_int_eq(ALLOWED(&x, "0.0.0.1", "default/web", 9), 1);
	ck_assert_int_eq(ALLOWED(&x, "0.0.0.0", "default/web", 9), 0);
	ck_assert_int_eq(ALLOWED(&x, "255.255.255.254", "default/web", 9), 1);
	ck_assert_int_eq(ALLOWED(&x, "255.255.255.255", "default/web", 9), 0);
	ck_assert_int_eq(ALLOWED(&x, "10.9.9.9", "default/web", 9), 0);
	ck_assert_int_eq(ALLOWED(&x, "::1", "default/web", 9), 1);
	ck_assert_int_eq(ALLOWED(&x, "::", "default/web", 9), 0);
	ck_assert_int_eq(ALLOWED(&x,
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", "default/web", 9), 1);
	ck_assert_int_eq(ALLOWED(&x,
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "default/web", 9), 0);
	fx_free(&x);
}
END_TEST

/*
 * Nested ipBlock ranges.  One rule allows 10.0.0.0/8 except 10.1.0.0/16,
 * another allows 10.1.2.0/24 inside that hole: the verdict at each
 * layer, and at the edges of each.  Then excepts that nest in and
 * overlap one another, listed out of order; blocks that contain one
 * another; an IPv6 except across a 64-bit boundary; an except ending
 * one address short of its block.
 */
START_TEST(test_ipblock_nested)
{
	struct fx		 x;
	struct pol_verdict	 v;
	const struct pol_rule	*r;
	char			 yaml[2048];

	snprintf(yaml, sizeof(yaml), "%s"
	    "metadata: {name: nested, namespace: default}\n"
	    "spec:\n  podSelector: {matchLabels: {app: web}}\n"
	    "  ingress:\n"
	    "  - from: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}}]\n"
	    "  - from: [{ipBlock: {cidr: 10.1.2.0/24}}]\n"
	    "  - from:\n    - ipBlock:\n        cidr: 172.16.0.0/12\n"
	    "        except: [172.20.5.0/24, 172.20.0.0/16, 172.28.0.0/14, "
	    "172.16.0.0/16, 172.29.0.0/16, 172.21.0.0/16, 172.30.0.0/15, "
	    "172.20.128.0/17]\n"
	    "  - from: [{ipBlock: {cidr: 192.168.1.0/24}}, "
	    "{ipBlock: {cidr: 192.168.0.0/16}}, "
	    "{ipBlock: {cidr: 192.168.3.0/24}}]\n"
	    "  - from: [{ipBlock: {cidr: \"fd00::/16\", "
	    "except: [\"fd00:0:0:1::/64\"]}}]\n"
	    "  - from: [{ipBlock: {cidr: 198.18.0.0/24, "
	    "except: [198.18.0.254/32]}}]\n", np_head);
	fx_load(&x, yaml);
	/* The outer layer, on both sides of the hole. */
	ck_assert_int_eq(judge(&x, "10.0.0.1", "default/web", 80, PROTO_TCP,
	    &v), 1);
	ck_assert_str_eq(by(&x, &v, POL_INGRESS), "default/nested[0]");
	ck_assert_int_eq(ALLOWED(&x, "10.0.255.255", "default/web", 80), 1);
	ck_assert_int_eq(ALLOWED(&x, "10.2.0.0", "default/web", 80), 1);
	ck_assert_int_eq(ALLOWED(&x, "10.255.255.255", "default/web", 80), 1);
	ck_assert_int_eq(ALLOWED(&x, "9.255.255.255", "default/web", 80), 0);
	ck_assert_int_eq(ALLOWED(&x, "11.0.0.0", "default/web", 80), 0);
	/* The hole, around the inner block. */
	ck_assert_int_eq(judge(&x, "10.1.0.0", "default/web", 80, PROTO_TCP,
	    &v), 0);
	ck_assert_int_eq(ALLOWED(&x, "10.1.1.255", "default/web", 80), 0);
	ck_assert_int_eq(ALLOWED(&x, "10.1.3.0", "default/web", 80), 0);
	ck_assert_int_eq(ALLOWED(&x, "10.1.255.255", "default/web", 80), 0);
	/* The inner block: allowed by the second rule only. */
	ck_assert_int_eq(judge(&x, "10.1.2.0", "default/web", 80, PROTO_TCP,
	    &v), 1);
	ck_assert_str_eq(by(&x, &v, POL_INGRESS), "default/nested[1]");
	ck_assert_int_eq(judge(&x, "10.1.2.255", "default/web", 80, PROTO_TCP,
	    &v), 1);
	ck_assert_str_eq(by(&x, &v, POL_INGRESS), "default/nested[1]");

	/*
	 * Excepts of the third rule, merged: 172.16/16, 172.20.0.0 to
	 * 172.21.255.255 (with 172.20.5/24 and 172.20.128/17 inside), and
	 * 172.28/14 to the end (with 172.29/16 and 172.30/15 inside).
	 */
	r = &x.t.policies[0].rules[POL_INGRESS][2];
	ck_assert_uint_eq(r->nv4, 2);
	ck_assert_int_eq(ALLOWED(&x, "172.16.0.0", "default/web", 80), 0);
	ck_assert_int_eq(ALLOWED(&x, "172.16.255.255", "default/web", 80), 0);
	ck_assert_int_eq(ALLOWED(&x, "172.17.0.0", "default/web", 80), 1);
	ck_assert_int_eq(ALLOWED(&x, "172.19.255.255", "default/web", 80), 1);
	ck_assert_int_eq(ALLOWED(&x, "172.20.0.0", "default/web", 80), 0);
	ck_assert_int_eq(ALLOWED(&x, "172.20.5.5", "default/web", 80), 0);
	ck_assert_int_eq(ALLOWED(&x, "172.20.6.0", "default/web", 80), 0);
	ck_assert_int_eq(ALLOWED(&x, "172.20.200.1", "default/web", 80), 0);
	ck_assert_int_eq(ALLOWED(&x, "172.21.255.255", "default/web", 80), 0);
	ck_assert_int_eq(ALLOWED(&x, "172.22.0.0", "default/web", 80), 1);
	ck_assert_int_eq(ALLOWED(&x, "172.27.255.255", "default/web", 80), 1);
	ck_assert_int_eq(ALLOWED(&x, "172.28.0.0", "default/web", 80), 0);
	ck_assert_int_eq(ALLOWED(&x, "172.29.1.1", "default/web", 80), 0);
	ck_assert_int_eq(ALLOWED(&x, "172.31.255.255", "default/web", 80), 0);
	ck_assert_int_eq(ALLOWED(&x, "172.32.0.0", "default/web", 80), 0);

	/* Blocks inside another block: one range, the outer one. */
	r = &x.t.policies[0].rules[POL_INGRESS][3];
	ck_assert_uint_eq(r->nv4, 1);
	ck_assert_int_eq(ALLOWED(&x, "192.168.0.0", "default/web", 80), 1);
	ck_assert_int_eq(ALLOWED(&x, "192.168.2.0", "default/web", 80), 1);
	ck_assert_int_eq(ALLOWED(&x, "192.168.255.255", "default/web", 80),
	    1);
	ck_assert_int_eq(ALLOWED(&x, "192.169.0.0", "default/web", 80), 0);

	/* IPv6: the range before the except ends at fd00::ffff:..:ffff. */
	ck_assert_int_eq(ALLOWED(&x, "fd00::ffff:ffff:ffff:ffff",
	    "default/web", 80), 1);
	ck_assert_int_eq(ALLOWED(&x, "fd00:0:0:1::", "default/web", 80), 0);
	ck_assert_int_eq(ALLOWED(&x, "fd00:0:0:1::5", "default/web", 80), 0);
	ck_assert_int_eq(ALLOWED(&x, "fd00:0:0:1:ffff:ffff:ffff:ffff",
	    "default/web", 80), 0);
	ck_assert_int_eq(ALLOWED(&x, "fd00:0:0:2::", "default/web", 80), 1);
	ck_assert_int_eq(ALLOWED(&x, "fd01::", "default/web", 80), 0);

	/* The block's last address, after an except one short of it. */
	ck_assert_int_eq(ALLOWED(&x, "198.18.0.253", "default/web", 80), 1);
	ck_assert_int_eq(ALLOWED(&x, "198.18.0.254", "default/web", 80), 0);
	ck_assert_int_eq(ALLOWED(&x, "198.18.0.255", "default/web", 80), 1);
	fx_free(&x);
}
END_TEST

/* ---- ports ---- */

/* Named port: resolved on each destination Pod. */
START_TEST(test_named_ports)
{
	struct fx	x;
	char		yaml[1024];

	snprintf(yaml, sizeof(yaml), "%s"
	    "metadata: {name: named, namespace: default}\n"
	    "spec:\n  podSelector: {matchLabels: {app: web}}\n"
	    "  ingress:\n  - ports:\n    - port: http\n"
	    "    - {port: dns, protocol: UDP}\n", np_head);
	fx_load(&x, yaml);
	ck_assert_int_eq(ALLOWED(&x, "default/client", "default/web", 8080),
	    1);
	ck_assert_int_eq(ALLOWED(&x, "default/client", "default/web", 9090),
	    0);
	ck_assert_int_eq(ALLOWED(&x, "default/client", "default/web2", 9090),
	    1);
	ck_assert_int_eq(ALLOWED(&x, "default/client", "default/web2", 8080),
	    0);
	ck_assert_int_eq(judge(&x, "default/client", "default/web", 53,
	    PROTO_UDP, NULL), 1);
	ck_assert_int_eq(judge(&x, "default/client", "default/web", 53,
	    PROTO_TCP, NULL), 0);
	/* "http" is TCP: the same number over UDP is not it. */
	ck_assert_int_eq(judge(&x, "default/client", "default/web", 8080,
	    PROTO_UDP, NULL), 0);
	ck_assert_uint_eq(x.t.nport_names, 2);
	fx_free(&x);
}
END_TEST

/*
 * Named ports of init containers count only for sidecars (restartPolicy:
 * Always), as for Services; a name matches with its protocol.
 */
START_TEST(test_named_port_sidecar)
{
	struct fx	x;
	char		yaml[2048];

	snprintf(yaml, sizeof(yaml),
	    "apiVersion: v1\nkind: Pod\n"
	    "metadata: {name: init, namespace: default, labels: {app: init}}\n"
	    "spec:\n  initContainers:\n  - name: plain\n    ports:\n"
	    "    - {name: metrics, containerPort: 9100}\n"
	    "  - name: side\n    restartPolicy: Always\n    ports:\n"
	    "    - {name: admin, containerPort: 9200}\n"
	    "  containers: [{name: c}]\n"
	    "status: {podIP: 10.0.0.50}\n---\n%s"
	    "metadata: {name: named-init, namespace: default}\n"
	    "spec:\n  podSelector: {matchLabels: {app: init}}\n"
	    "  ingress:\n  - ports: [{port: metrics}, {port: admin},\n"
	    "      {port: admin, protocol: UDP}]\n",
	    np_head);
	fx_load(&x, yaml);
	ck_assert_int_eq(ALLOWED(&x, "default/client", "default/init", 9200),
	    1);
	ck_assert_int_eq(ALLOWED(&x, "default/client", "default/init", 9100),
	    0);
	/* "admin" over UDP names no port: the Pod's admin is TCP. */
	ck_assert_int_eq(judge(&x, "default/client", "default/init", 9200,
	    PROTO_UDP, NULL), 0);
	fx_free(&x);
}
END_TEST

/* endPort: a range, both ends included. */
START_TEST(test_end_port)
{
	struct fx	x;
	char		yaml[1024];

	snprintf(yaml, sizeof(yaml), "%s"
	    "metadata: {name: range, namespace: default}\n"
	    "spec:\n  podSelector: {matchLabels: {app: web}}\n"
	    "  ingress:\n  - ports:\n"
	    "    - {protocol: TCP, port: 32000, endPort: 32768}\n", np_head);
	fx_load(&x, yaml);
	ck_assert_int_eq(ALLOWED(&x, "default/client", "default/web", 31999),
	    0);
	ck_assert_int_eq(ALLOWED(&x, "default/client", "default/web", 32000),
	    1);
	ck_assert_int_eq(ALLOWED(&x, "default/client", "default/web", 32500),
	    1);
	ck_assert_int_eq(ALLOWED(&x, "default/client", "default/web", 32768),
	    1);
	ck_assert_int_eq(ALLOWED(&x, "default/client", "default/web", 32769),
	    0);
	fx_free(&x);
}
END_TEST

/* Protocol defaults to TCP and must match; protocol alone: all ports. */
START_TEST(test_protocol)
{
	struct fx	x;
	char		yaml[1024];

	snprintf(yaml, sizeof(yaml), "%s"
	    "metadata: {name: proto, namespace: default}\n"
	    "spec:\n  podSelector: {matchLabels: {app: web}}\n"
	    "  ingress:\n  - ports:\n    - {protocol: UDP, port: 53}\n"
	    "    - {port: 80}\n    - {protocol: SCTP}\n", np_head);
	fx_load(&x, yaml);
	ck_assert_int_eq(judge(&x, "default/client", "default/web", 53,
	    PROTO_UDP, NULL), 1);
	ck_assert_int_eq(judge(&x, "default/client", "default/web", 53,
	    PROTO_TCP, NULL), 0);
	ck_assert_int_eq(judge(&x, "default/client", "default/web", 80,
	    PROTO_TCP, NULL), 1);
	ck_assert_int_eq(judge(&x, "default/client", "default/web", 80,
	    PROTO_UDP, NULL), 0);
	ck_assert_int_eq(judge(&x, "default/client", "default/web", 1234,
	    PROTO_SCTP, NULL), 1);
	ck_assert_int_eq(judge(&x, "default/client", "default/web", 65535,
	    PROTO_SCTP, NULL), 1);
	ck_assert_int_eq(judge(&x, "default/client", "default/web", 1,
	    PROTO_SCTP, NULL), 1);
	ck_assert_int_eq(judge(&x, "default/client", "default/web", 1234,
	    PROTO_TCP, NULL), 0);
	fx_free(&x);
}
END_TEST

/* ---- egress and both sides ---- */

/* Egress isolation of a client Pod; named ports on the destination. */
START_TEST(test_egress_client)
{
	struct fx		x;
	struct pol_verdict	v;
	char			yaml[2048];

	snprintf(yaml, sizeof(yaml), "%s"
	    "metadata: {name: client-egress, namespace: default}\n"
	    "spec:\n  podSelector: {matchLabels: {role: client}}\n"
	    "  policyTypes: [Egress]\n"
	    "  egress:\n"
	    "  - to:\n    - namespaceSelector: {matchLabels: {env: prod}}\n"
	    "      podSelector: {matchLabels: {app: db}}\n"
	    "    ports: [{port: 5432}]\n"
	    "  - to: [{podSelector: {matchLabels: {app: web}}}]\n"
	    "    ports: [{port: http}]\n"
	    "  - to: [{ipBlock: {cidr: 198.51.100.0/24}}]\n", np_head);
	fx_load(&x, yaml);
	ck_assert_int_eq(judge(&x, "default/client", "prod/db", 5432,
	    PROTO_TCP, &v), 1);
	ck_assert_str_eq(by(&x, &v, POL_EGRESS),
	    "default/client-egress[0]");
	ck_assert_int_eq(v.side[POL_INGRESS].isolated, 0);
	ck_assert_int_eq(ALLOWED(&x, "default/client", "prod/db", 5433), 0);
	ck_assert_int_eq(judge(&x, "default/client", "default/web", 8080,
	    PROTO_TCP, &v), 1);
	ck_assert_str_eq(by(&x, &v, POL_EGRESS),
	    "default/client-egress[1]");
	ck_assert_int_eq(ALLOWED(&x, "default/client", "default/web2", 9090),
	    1);
	ck_assert_int_eq(ALLOWED(&x, "default/client", "default/web2", 8080),
	    0);
	/* A named port never matches an address that is not a Pod. */
	ck_assert_int_eq(ALLOWED(&x, "default/client", "192.0.2.1", 8080),
	    0);
	ck_assert_int_eq(ALLOWED(&x, "default/client", "198.51.100.7", 443),
	    1);
	ck_assert_int_eq(ALLOWED(&x, "default/client", "prod/client", 80),
	    0);
	/* The same client label in prod is not selected. */
	ck_assert_int_eq(ALLOWED(&x, "prod/client", "default/other", 80), 1);
	/* The client's address stands for the client Pod. */
	ck_assert_int_eq(ALLOWED(&x, "10.0.0.20", "default/other", 80), 0);
	fx_free(&x);
}
END_TEST

/* Both sides must allow. */
START_TEST(test_both_sides)
{
	struct fx		x;
	struct pol_verdict	v;
	char			yaml[2048];

	snprintf(yaml, sizeof(yaml), "%s"
	    "metadata: {name: db-in, namespace: prod}\n"
	    "spec:\n  podSelector: {matchLabels: {app: db}}\n"
	    "  ingress:\n  - from: [{namespaceSelector: {}}]\n"
	    "    ports: [{port: 5432}]\n---\n%s"
	    "metadata: {name: deny-out, namespace: default}\n"
	    "spec:\n  podSelector: {matchLabels: {role: other}}\n"
	    "  policyTypes: [Egress]\n", np_head, np_head);
	fx_load(&x, yaml);
	ck_assert_int_eq(judge(&x, "default/client", "prod/db", 5432,
	    PROTO_TCP, &v), 1);
	ck_assert_int_eq(judge(&x, "default/other", "prod/db", 5432,
	    PROTO_TCP, &v), 0);
	ck_assert_int_eq(v.side[POL_INGRESS].allowed, 1);
	ck_assert_str_eq(by(&x, &v, POL_INGRESS), "prod/db-in[0]");
	ck_assert_int_eq(v.side[POL_EGRESS].isolated, 1);
	ck_assert_int_eq(v.side[POL_EGRESS].allowed, 0);
	ck_assert_int_eq(judge(&x, "default/client", "prod/db", 22,
	    PROTO_TCP, &v), 0);
	ck_assert_int_eq(v.side[POL_INGRESS].allowed, 0);
	ck_assert_int_eq(v.side[POL_EGRESS].allowed, 1);
	fx_free(&x);
}
END_TEST

/*
 * A Pod isolated both ways by different policies: each direction's
 * slice lists its own policies, whatever their order (here the egress
 * one is not the first policy).
 */
START_TEST(test_isolated_both_ways)
{
	struct fx		x;
	struct pol_verdict	v;
	char			yaml[2048];

	snprintf(yaml, sizeof(yaml), "%s"
	    "metadata: {name: a-in, namespace: default}\n"
	    "spec:\n  podSelector: {matchLabels: {app: web}}\n"
	    "  policyTypes: [Ingress]\n"
	    "  ingress:\n  - from: [{podSelector: {matchLabels: "
	    "{role: client}}}]\n---\n%s"
	    "metadata: {name: b-out, namespace: default}\n"
	    "spec:\n  podSelector: {matchLabels: {app: web}}\n"
	    "  policyTypes: [Egress]\n"
	    "  egress:\n  - to: [{namespaceSelector: {matchLabels: "
	    "{env: prod}}}]\n", np_head, np_head);
	fx_load(&x, yaml);
	ck_assert_uint_eq(x.t.nisolated[POL_INGRESS], 2);
	ck_assert_uint_eq(x.t.nisolated[POL_EGRESS], 2);
	ck_assert_int_eq(judge(&x, "default/web", "prod/db", 5432, PROTO_TCP,
	    &v), 1);
	ck_assert_uint_eq(v.side[POL_EGRESS].npolicies, 1);
	ck_assert_str_eq(by(&x, &v, POL_EGRESS), "default/b-out[0]");
	ck_assert_int_eq(judge(&x, "default/web2", "prod/db", 5432, PROTO_TCP,
	    &v), 1);
	ck_assert_str_eq(by(&x, &v, POL_EGRESS), "default/b-out[0]");
	ck_assert_int_eq(ALLOWED(&x, "default/web2", "dev/client", 1), 0);
	ck_assert_int_eq(judge(&x, "default/client", "default/web", 8080,
	    PROTO_TCP, &v), 1);
	ck_assert_uint_eq(v.side[POL_INGRESS].npolicies, 1);
	ck_assert_str_eq(by(&x, &v, POL_INGRESS), "default/a-in[0]");
	ck_assert_int_eq(ALLOWED(&x, "default/other", "default/web2", 9090),
	    0);
	fx_free(&x);
}
END_TEST

/* Allowed sets union over every policy selecting the Pod. */
START_TEST(test_policies_union)
{
	struct fx		x;
	struct pol_verdict	v;
	char			yaml[2048];

	snprintf(yaml, sizeof(yaml), "%s"
	    "metadata: {name: a-clients, namespace: default}\n"
	    "spec:\n  podSelector: {matchLabels: {app: web}}\n"
	    "  ingress:\n  - from: [{podSelector: {matchLabels: "
	    "{role: client}}}]\n---\n%s"
	    "metadata: {name: b-other, namespace: default}\n"
	    "spec:\n  podSelector: {}\n"
	    "  ingress:\n  - from: [{podSelector: {matchLabels: "
	    "{role: ghost}}}]\n"
	    "  - from: [{podSelector: {matchLabels: {role: other}}}]\n"
	    "    ports: [{port: 8080}]\n", np_head, np_head);
	fx_load(&x, yaml);
	ck_assert_int_eq(judge(&x, "default/client", "default/web", 8080,
	    PROTO_TCP, &v), 1);
	ck_assert_uint_eq(v.side[POL_INGRESS].npolicies, 2);
	ck_assert_str_eq(by(&x, &v, POL_INGRESS), "default/a-clients[0]");
	ck_assert_int_eq(judge(&x, "default/other", "default/web", 8080,
	    PROTO_TCP, &v), 1);
	ck_assert_str_eq(by(&x, &v, POL_INGRESS), "default/b-other[1]");
	ck_assert_int_eq(ALLOWED(&x, "default/other", "default/web", 80), 0);
	/* client is selected only by b-other. */
	ck_assert_int_eq(judge(&x, "default/other", "default/client", 8080,
	    PROTO_TCP, &v), 1);
	ck_assert_uint_eq(v.side[POL_INGRESS].npolicies, 1);
	ck_assert_int_eq(ALLOWED(&x, "default/web", "default/client", 8080),
	    0);
	fx_free(&x);
}
END_TEST

/* hostNetwork and finished Pods take no part. */
START_TEST(test_ineligible_pods)
{
	struct fx	x;
	struct ipaddr	a;
	char		yaml[2048];

	snprintf(yaml, sizeof(yaml),
	    "apiVersion: v1\nkind: Pod\n"
	    "metadata: {name: host, namespace: default, "
	    "labels: {role: client}}\n"
	    "spec: {hostNetwork: true, containers: [{name: c}]}\n"
	    "status: {podIP: 192.0.2.50}\n---\n"
	    "apiVersion: v1\nkind: Pod\n"
	    "metadata: {name: done, namespace: default, "
	    "labels: {role: client}}\n"
	    "spec: {containers: [{name: c}]}\n"
	    "status: {phase: Succeeded, podIP: 10.0.0.99}\n---\n%s"
	    "metadata: {name: clients, namespace: default}\n"
	    "spec:\n  podSelector: {}\n"
	    "  ingress:\n  - from: [{podSelector: {matchLabels: "
	    "{role: client}}}]\n", np_head);
	fx_load(&x, yaml);
	ck_assert_int_eq(ALLOWED(&x, "default/client", "default/web", 1), 1);
	ck_assert_int_eq(ipaddr_parse("192.0.2.50", &a), 0);
	ck_assert_int_eq(pol_pod_by_addr(&x.t, &a), POL_NONE);
	ck_assert_int_eq(ipaddr_parse("10.0.0.99", &a), 0);
	ck_assert_int_eq(pol_pod_by_addr(&x.t, &a), POL_NONE);
	ck_assert_int_eq(ALLOWED(&x, "192.0.2.50", "default/web", 1), 0);
	ck_assert_int_eq(ALLOWED(&x, "default/host", "default/web", 1), 0);
	/* Not selected themselves: not isolated. */
	ck_assert_int_eq(ALLOWED(&x, "192.0.2.1", "default/host", 1), 1);
	ck_assert_int_eq(ALLOWED(&x, "192.0.2.1", "default/web", 1), 0);
	fx_free(&x);
}
END_TEST

/* Dual-stack: both addresses find the Pod. */
START_TEST(test_dual_stack_lookup)
{
	struct fx	x;
	struct ipaddr	a;
	int32_t		v6;

	fx_load(&x, "apiVersion: v1\nkind: Namespace\n"
	    "metadata: {name: empty}\n");
	v6 = pol_pod_by_name(&x.t, "default", "v6");
	ck_assert_int_ne(v6, POL_NONE);
	ck_assert_uint_eq(x.t.pods[v6].naddr, 2);
	ck_assert_int_eq(ipaddr_parse("fd00::40", &a), 0);
	ck_assert_int_eq(pol_pod_by_addr(&x.t, &a), v6);
	ck_assert_int_eq(ipaddr_parse("10.0.0.40", &a), 0);
	ck_assert_int_eq(pol_pod_by_addr(&x.t, &a), v6);
	ck_assert_int_eq(pol_pod_by_name(&x.t, "default", "nope"), POL_NONE);
	ck_assert_int_eq(pol_pod_by_name(&x.t, "zzz", "v6"), POL_NONE);
	fx_free(&x);
}
END_TEST

/* Two Pods claiming one address: the lowest index (ns, name) is it. */
START_TEST(test_shared_address)
{
	struct fx	x;
	struct ipaddr	a;

	fx_load(&x,
	    "apiVersion: v1\nkind: Pod\n"
	    "metadata: {name: b, namespace: dup}\n"
	    "spec: {containers: [{name: c}]}\n"
	    "status: {podIP: 10.50.0.1}\n---\n"
	    "apiVersion: v1\nkind: Pod\n"
	    "metadata: {name: a, namespace: dup}\n"
	    "spec: {containers: [{name: c}]}\n"
	    "status: {podIP: 10.50.0.1}\n---\n"
	    "apiVersion: v1\nkind: Pod\n"
	    "metadata: {name: c, namespace: dup}\n"
	    "spec: {containers: [{name: c}]}\n"
	    "status: {podIP: 10.50.0.1}\n");
	ck_assert_int_eq(ipaddr_parse("10.50.0.1", &a), 0);
	ck_assert_int_ne(pol_pod_by_name(&x.t, "dup", "a"), POL_NONE);
	ck_assert_int_eq(pol_pod_by_addr(&x.t, &a),
	    pol_pod_by_name(&x.t, "dup", "a"));
	fx_free(&x);
}
END_TEST

/*
 * Many Pods: a small selection is a sorted array, a large one a bitmap;
 * both answer the same.
 */
START_TEST(test_podset_forms)
{
	struct fx		 x;
	const struct pol_rule	*r;
	char			*yaml, *p;
	size_t			 i, cap = 64 * 1024;

	yaml = p = malloc(cap);
	ck_assert_ptr_nonnull(yaml);
	for (i = 0; i < 100; i++)
		p += snprintf(p, cap - (size_t)(p - yaml),
		    "apiVersion: v1\nkind: Pod\nmetadata: {name: p%03zu, "
		    "namespace: many, labels: {n: \"%zu\", half: \"%s\"}}\n"
		    "spec: {containers: [{name: c}]}\n"
		    "status: {podIP: 10.9.0.%zu}\n---\n", i, i,
		    i % 2 ? "odd" : "even", i + 1);
	snprintf(p, cap - (size_t)(p - yaml), "%s"
	    "metadata: {name: sets, namespace: many}\n"
	    "spec:\n  podSelector: {}\n"
	    "  ingress:\n  - from: [{podSelector: {matchLabels: {n: \"7\"}}},"
	    " {podSelector: {matchLabels: {n: \"70\"}}}]\n"
	    "    ports: [{port: 1}]\n"
	    "  - from: [{podSelector: {matchLabels: {half: odd}}}]\n"
	    "    ports: [{port: 2}]\n", np_head);
	fx_load(&x, yaml);
	free(yaml);
	r = &x.t.policies[0].rules[POL_INGRESS][0];
	ck_assert_uint_eq(r->pods.n, 2);
	ck_assert_ptr_nonnull(r->pods.idx);
	ck_assert_ptr_null(r->pods.bits);
	r = &x.t.policies[0].rules[POL_INGRESS][1];
	ck_assert_uint_eq(r->pods.n, 50);
	ck_assert_ptr_nonnull(r->pods.bits);
	ck_assert_int_eq(ALLOWED(&x, "many/p007", "many/p000", 1), 1);
	ck_assert_int_eq(ALLOWED(&x, "many/p070", "many/p000", 1), 1);
	ck_assert_int_eq(ALLOWED(&x, "many/p071", "many/p000", 1), 0);
	ck_assert_int_eq(ALLOWED(&x, "many/p007", "many/p000", 2), 1);
	ck_assert_int_eq(ALLOWED(&x, "many/p099", "many/p000", 2), 1);
	ck_assert_int_eq(ALLOWED(&x, "many/p070", "many/p000", 2), 0);
	ck_assert_int_eq(ALLOWED(&x, "default/client", "many/p000", 2), 0);
	fx_free(&x);
}
END_TEST

/* An invalid policy is left out: it neither isolates nor allows. */
START_TEST(test_invalid_policy_ignored)
{
	struct fx	x;
	char		yaml[8192];

	snprintf(yaml, sizeof(yaml), "%s---\n%s"
	    "metadata: {name: bad, namespace: default}\n"
	    "spec:\n  podSelector: {}\n"
	    "  ingress:\n  - ports: [{port: 70000}]\n", base_yaml, np_head);
	unit_load(&x.set, &x.dl, yaml);
	ck_assert_uint_gt(val_all(&x.set, &x.pcfg, &x.dl), 0);
	arena_init(&x.a, 0);
	ck_assert_int_eq(pol_build(&x.t, &x.a, &x.set), 0);
	ck_assert_uint_eq(x.t.npolicies, 0);
	ck_assert_int_eq(ALLOWED(&x, "192.0.2.1", "default/web", 1), 1);
	fx_free(&x);
}
END_TEST

static Suite *
policy_suite(void)
{
	Suite	*s = suite_create("policy");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_no_policy_allows_everything);
	tcase_add_test(tc, test_default_deny_ingress);
	tcase_add_test(tc, test_allow_all_ingress);
	tcase_add_test(tc, test_default_deny_egress);
	tcase_add_test(tc, test_egress_only_ignores_ingress_rules);
	tcase_add_test(tc, test_policy_types_defaulted);
	tcase_add_test(tc, test_allow_same_namespace);
	tcase_add_test(tc, test_ns_and_pod_selector_and);
	tcase_add_test(tc, test_ns_or_pod_selector);
	tcase_add_test(tc, test_namespace_name_label);
	tcase_add_test(tc, test_match_expressions);
	tcase_add_test(tc, test_empty_selection_matches_nothing);
	tcase_add_test(tc, test_ipblock_except);
	tcase_add_test(tc, test_ipblock_union);
	tcase_add_test(tc, test_ipblock_nested);
	tcase_add_test(tc, test_named_ports);
	tcase_add_test(tc, test_named_port_sidecar);
	tcase_add_test(tc, test_end_port);
	tcase_add_test(tc, test_protocol);
	tcase_add_test(tc, test_egress_client);
	tcase_add_test(tc, test_both_sides);
	tcase_add_test(tc, test_isolated_both_ways);
	tcase_add_test(tc, test_policies_union);
	tcase_add_test(tc, test_ineligible_pods);
	tcase_add_test(tc, test_dual_stack_lookup);
	tcase_add_test(tc, test_shared_address);
	tcase_add_test(tc, test_podset_forms);
	tcase_add_test(tc, test_invalid_policy_ignored);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(policy_suite());
}
