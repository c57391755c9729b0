/* res: endpoints, readiness, EndpointSlices, allocation, listeners. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "load.h"
#include "res.h"
#include "unit.h"
#include "val.h"

/* One resolved configuration. */
struct fx {
	struct kset		set;
	struct diag_list	dl;
	struct pcfg		pc;
	struct res_model	m;
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
}

static void
fx_free(struct fx *f)
{
	res_free(&f->m);
	unit_free(&f->set, &f->dl);
}

static const struct res_service *
svc(const struct fx *f, const char *ns, const char *name)
{
	size_t i;

	for (i = 0; i < f->m.nservices; i++)
		if (strcmp(f->m.services[i].ns, ns) == 0 &&
		    strcmp(f->m.services[i].name, name) == 0)
			return &f->m.services[i];
	ck_abort_msg("no service %s/%s", ns, name);
	return NULL;
}

static const char *
ip(const struct ipaddr *a, char *buf)
{
	return ipaddr_format(a, buf);
}

/*
 * Endpoints as "ip:port:RSTU" separated by spaces, with a letter for
 * each of ready, serving, terminating, usable that is set, "-" else.
 */
static const char *
eps_str(const struct res_port *p, char *buf, size_t len)
{
	char	a[NETADDR_STRLEN], one[96];
	size_t	i;

	buf[0] = '\0';
	for (i = 0; i < p->nendpoints; i++) {
		const struct res_endpoint *e = &p->endpoints[i];

		snprintf(one, sizeof(one), "%s%s:%u:%c%c%c%c", i ? " " : "",
		    ip(&e->addr, a), (unsigned)e->port, e->ready ? 'R' : '-',
		    e->serving ? 'S' : '-', e->terminating ? 'T' : '-',
		    e->usable ? 'U' : '-');
		strncat(buf, one, len - strlen(buf) - 1);
	}
	return buf;
}

/* Listeners as "kind addr:port/PROTO" separated by ", ". */
static const char *
lsn_str(const struct res_port *p, char *buf, size_t len)
{
	char	a[NETADDR_STRLEN], one[128];
	size_t	i;

	buf[0] = '\0';
	for (i = 0; i < p->nlisteners; i++) {
		const struct res_listener *l = &p->listeners[i];

		snprintf(one, sizeof(one), "%s%s %s:%u/%s", i ? ", " : "",
		    res_listener_kind_name(l->kind), ip(&l->addr, a),
		    (unsigned)l->port, proto_name(l->proto));
		strncat(buf, one, len - strlen(buf) - 1);
	}
	return buf;
}

#define POD(name, labels, extra) \
	"---\napiVersion: v1\nkind: Pod\n" \
	"metadata: {name: " name ", namespace: default, labels: " labels \
	"}\n" extra

#define WEB_SVC(extra) \
	"---\napiVersion: v1\nkind: Service\n" \
	"metadata: {name: web, namespace: default}\n" \
	"spec:\n  selector: {app: web}\n" extra

START_TEST(test_named_target_port)
{
	struct fx		 f;
	const struct res_service *s;
	char			 buf[512];

	fx_load(&f,
	    WEB_SVC("  ports:\n  - {name: http, port: 80, targetPort: http}\n"
	    "  - {name: raw, port: 81, targetPort: 9000}\n")
	    POD("a", "{app: web}",
	    "spec:\n  containers:\n  - name: c\n    ports:\n"
	    "    - {name: http, containerPort: 8080}\n"
	    "status: {podIP: 10.0.0.1}\n")
	    POD("b", "{app: web}",
	    "spec:\n  containers:\n  - name: x\n"
	    "  - name: c\n    ports:\n"
	    "    - {name: dns, containerPort: 8081, protocol: UDP}\n"
	    "    - {name: http, containerPort: 9090}\n"
	    "status: {podIP: 10.0.0.2}\n")
	    POD("e", "{app: web}",
	    "spec:\n  containers:\n  - name: c\n    ports:\n"
	    "    - {name: http, containerPort: 8082, protocol: UDP}\n"
	    "status: {podIP: 10.0.0.5}\n")
	    POD("c", "{app: web}",
	    "spec:\n  containers:\n  - name: c\n    ports:\n"
	    "    - {name: metrics, containerPort: 7000}\n"
	    "status: {podIP: 10.0.0.3}\n")
	    POD("d", "{app: web}",
	    "spec:\n  initContainers:\n  - name: side\n"
	    "    restartPolicy: Always\n    ports:\n"
	    "    - {name: http, containerPort: 7070}\n"
	    "  - name: plain-init\n    ports:\n"
	    "    - {name: http, containerPort: 6060}\n"
	    "  containers:\n  - name: c\n"
	    "status: {podIP: 10.0.0.4}\n")
	    POD("other", "{app: db}",
	    "spec:\n  containers:\n  - name: c\n    ports:\n"
	    "    - {name: http, containerPort: 5432}\n"
	    "status: {podIP: 10.0.0.9}\n"));
	s = svc(&f, "default", "web");
	ck_assert_uint_eq(s->nports, 2);
	ck_assert_str_eq(s->ports[0].name, "http");
	ck_assert_int_eq(s->ports[0].target_port.is_str, 1);
	/* Two numbers from one name; c lacks the name; UDP is skipped. */
	ck_assert_str_eq(eps_str(&s->ports[0], buf, sizeof(buf)),
	    "10.0.0.1:8080:RS-U 10.0.0.2:9090:RS-U 10.0.0.4:7070:RS-U");
	ck_assert_uint_eq(s->ports[0].nusable, 3);
	ck_assert_str_eq(s->ports[0].endpoints[1].pod, "b");
	ck_assert_str_eq(s->ports[0].endpoints[1].pod_ns, "default");
	/* A numeric targetPort applies to every selected Pod. */
	ck_assert_str_eq(eps_str(&s->ports[1], buf, sizeof(buf)),
	    "10.0.0.1:9000:RS-U 10.0.0.2:9000:RS-U 10.0.0.3:9000:RS-U "
	    "10.0.0.4:9000:RS-U 10.0.0.5:9000:RS-U");
	fx_free(&f);
}
END_TEST

static const char readiness_yaml[] =
    WEB_SVC("  ports:\n  - {port: 80, targetPort: 8080}\n")
    POD("a-ready", "{app: web}",
    "status:\n  podIP: 10.0.0.1\n"
    "  conditions: [{type: Ready, status: \"True\"}]\n")
    POD("b-notready", "{app: web}",
    "status:\n  podIP: 10.0.0.2\n"
    "  conditions: [{type: Ready, status: \"False\"}]\n")
    POD("c-noconds", "{app: web}", "status: {podIP: 10.0.0.3}\n")
    POD("d-otherconds", "{app: web}",
    "status:\n  podIP: 10.0.0.4\n"
    "  conditions: [{type: PodScheduled, status: \"True\"}]\n")
    "---\napiVersion: v1\nkind: Pod\n"
    "metadata: {name: e-term, namespace: default, labels: {app: web},\n"
    "  deletionTimestamp: \"2024-01-01T00:00:00Z\"}\n"
    "status:\n  podIP: 10.0.0.5\n"
    "  conditions: [{type: Ready, status: \"True\"}]\n"
    "---\napiVersion: v1\nkind: Pod\n"
    "metadata: {name: f-term-notready, namespace: default,\n"
    "  labels: {app: web}, deletionTimestamp: \"2024-01-01T00:00:00Z\"}\n"
    "status:\n  podIP: 10.0.0.6\n"
    "  conditions: [{type: Ready, status: \"False\"}]\n"
    POD("g-failed", "{app: web}",
    "status: {podIP: 10.0.0.7, phase: Failed}\n")
    POD("h-succeeded", "{app: web}",
    "status: {podIP: 10.0.0.8, phase: Succeeded}\n")
    POD("i-noip", "{app: web}", "status: {phase: Pending}\n")
    POD("j-running", "{app: web}",
    "status: {podIP: 10.0.0.10, phase: Running}\n");

START_TEST(test_pod_readiness)
{
	struct fx		 f;
	const struct res_service *s;
	char			 buf[512];

	fx_load(&f, readiness_yaml);
	s = svc(&f, "default", "web");
	ck_assert_str_eq(eps_str(&s->ports[0], buf, sizeof(buf)),
	    "10.0.0.1:8080:RS-U 10.0.0.2:8080:---- 10.0.0.3:8080:RS-U "
	    "10.0.0.4:8080:---- 10.0.0.5:8080:-ST- 10.0.0.6:8080:--T- "
	    "10.0.0.10:8080:RS-U");
	ck_assert_uint_eq(s->ports[0].nusable, 3);
	fx_free(&f);
}
END_TEST

START_TEST(test_publish_not_ready)
{
	struct fx		 f;
	const struct res_service *s;
	char			 buf[512];

	/* Not ready and terminating Pods: published, ready and usable. */
	fx_load(&f,
	    WEB_SVC("  publishNotReadyAddresses: true\n"
	    "  ports:\n  - {port: 80, targetPort: 8080}\n")
	    POD("a", "{app: web}",
	    "status:\n  podIP: 10.0.0.1\n"
	    "  conditions: [{type: Ready, status: \"False\"}]\n")
	    "---\napiVersion: v1\nkind: Pod\n"
	    "metadata: {name: b, namespace: default, labels: {app: web},\n"
	    "  deletionTimestamp: \"2024-01-01T00:00:00Z\"}\n"
	    "status:\n  podIP: 10.0.0.2\n"
	    "  conditions: [{type: Ready, status: \"False\"}]\n"
	    POD("c", "{app: web}", "status: {phase: Pending}\n"));
	s = svc(&f, "default", "web");
	ck_assert_str_eq(eps_str(&s->ports[0], buf, sizeof(buf)),
	    "10.0.0.1:8080:R--U 10.0.0.2:8080:R-TU");
	ck_assert_uint_eq(s->ports[0].nusable, 2);
	fx_free(&f);
}
END_TEST

START_TEST(test_terminating_fallback)
{
	struct fx		 f;
	const struct res_service *s;
	char			 buf[512];

	/* Nothing ready: the serving terminating Pods take traffic. */
	fx_load(&f,
	    WEB_SVC("  ports:\n  - {port: 80, targetPort: 8080}\n")
	    "---\napiVersion: v1\nkind: Pod\n"
	    "metadata: {name: a, namespace: default, labels: {app: web},\n"
	    "  deletionTimestamp: \"2024-01-01T00:00:00Z\"}\n"
	    "status:\n  podIP: 10.0.0.1\n"
	    "  conditions: [{type: Ready, status: \"True\"}]\n"
	    "---\napiVersion: v1\nkind: Pod\n"
	    "metadata: {name: b, namespace: default, labels: {app: web},\n"
	    "  deletionTimestamp: \"2024-01-01T00:00:00Z\"}\n"
	    "status:\n  podIP: 10.0.0.2\n"
	    "  conditions: [{type: Ready, status: \"False\"}]\n"
	    POD("c", "{app: web}",
	    "status:\n  podIP: 10.0.0.3\n"
	    "  conditions: [{type: Ready, status: \"False\"}]\n"));
	s = svc(&f, "default", "web");
	ck_assert_str_eq(eps_str(&s->ports[0], buf, sizeof(buf)),
	    "10.0.0.1:8080:-STU 10.0.0.2:8080:--T- 10.0.0.3:8080:----");
	ck_assert_uint_eq(s->ports[0].nusable, 1);
	fx_free(&f);
}
END_TEST

START_TEST(test_dual_stack_pod)
{
	struct fx		 f;
	const struct res_service *s;
	char			 buf[512];

	fx_load(&f,
	    WEB_SVC("  ports:\n  - {port: 80, targetPort: 8080}\n")
	    POD("a", "{app: web}",
	    "status:\n  podIP: 10.0.0.1\n"
	    "  podIPs: [{ip: 10.0.0.1}, {ip: \"fd00::1\"}]\n")
	    /* Same IP twice (hostNetwork Pods on one node): one endpoint. */
	    POD("b", "{app: web}", "status: {podIP: 10.0.0.1}\n"));
	s = svc(&f, "default", "web");
	ck_assert_str_eq(eps_str(&s->ports[0], buf, sizeof(buf)),
	    "10.0.0.1:8080:RS-U fd00::1:8080:RS-U");
	ck_assert_str_eq(s->ports[0].endpoints[0].pod, "a");
	fx_free(&f);
}
END_TEST

#define SLICE(name, svcname, body) \
	"---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n" \
	"metadata:\n  name: " name "\n  namespace: default\n" \
	"  labels: {kubernetes.io/service-name: " svcname "}\n" body

START_TEST(test_endpointslices)
{
	struct fx		 f;
	const struct res_service *s;
	char			 buf[512];

	fx_load(&f,
	    "---\napiVersion: v1\nkind: Service\n"
	    "metadata: {name: ext, namespace: default}\n"
	    "spec:\n  ports:\n  - {name: http, port: 80}\n"
	    "  - {name: dns, port: 53, protocol: UDP}\n"
	    SLICE("ext-1", "ext",
	    "addressType: IPv4\n"
	    "ports:\n- {name: http, port: 8080, protocol: TCP}\n"
	    "- {name: dns, port: 5353, protocol: UDP}\n"
	    "endpoints:\n"
	    "- addresses: [10.1.0.1]\n"
	    "  targetRef: {kind: Pod, name: p1}\n"
	    "- addresses: [10.1.0.2]\n"
	    "  conditions: {ready: false}\n"
	    "- addresses: [10.1.0.3]\n"
	    "  conditions: {ready: false, serving: true, terminating: true}\n"
	    "- addresses: [10.1.0.4]\n"
	    "  conditions: {ready: true, serving: false}\n"
	    "- addresses: [10.1.0.5, 10.1.0.99]\n"
	    "  conditions: {terminating: true}\n")
	    SLICE("ext-2", "ext",
	    "addressType: IPv4\n"
	    "ports:\n- {name: web, port: 9999}\n"
	    "endpoints:\n- addresses: [10.2.0.1]\n")
	    SLICE("ext-3", "ext",
	    "addressType: IPv4\n"
	    "ports:\n- {name: dns, port: 5354, protocol: TCP}\n"
	    "endpoints:\n- addresses: [10.5.0.1]\n")
	    SLICE("ext-fqdn", "ext",
	    "addressType: FQDN\n"
	    "ports:\n- {name: http, port: 8080}\n"
	    "endpoints:\n- addresses: [example.com]\n")
	    SLICE("other-1", "other",
	    "addressType: IPv4\n"
	    "ports:\n- {name: http, port: 8080}\n"
	    "endpoints:\n- addresses: [10.3.0.1]\n")
	    "---\napiVersion: v1\nkind: Service\n"
	    "metadata: {name: unnamed, namespace: default}\n"
	    "spec:\n  ports:\n  - {port: 80}\n"
	    SLICE("unnamed-a", "unnamed",
	    "addressType: IPv4\n"
	    "ports:\n- {port: 8000}\n"
	    "endpoints:\n- addresses: [10.4.0.1]\n"
	    "  conditions: {ready: false, serving: true, terminating: true}\n"
	    "- addresses: [10.4.0.2]\n"
	    "  conditions: {ready: false, serving: false, terminating: true}\n")
	    SLICE("unnamed-b", "unnamed",
	    "addressType: IPv4\n"
	    "ports:\n- {name: named, port: 8001}\n"
	    "endpoints:\n- addresses: [10.4.0.3]\n"));

	s = svc(&f, "default", "ext");
	/* nil ready = ready; nil serving = ready; nil terminating = no. */
	ck_assert_str_eq(eps_str(&s->ports[0], buf, sizeof(buf)),
	    "10.1.0.1:8080:RS-U 10.1.0.2:8080:---- 10.1.0.3:8080:-ST- "
	    "10.1.0.4:8080:R--U 10.1.0.5:8080:RSTU");
	ck_assert_uint_eq(s->ports[0].nusable, 3);
	ck_assert_str_eq(s->ports[0].endpoints[0].pod, "p1");
	ck_assert_str_eq(s->ports[0].endpoints[0].pod_ns, "default");
	ck_assert_ptr_null(s->ports[0].endpoints[1].pod);
	/* By name and protocol: the UDP dns port, not the TCP one. */
	ck_assert_uint_eq(s->ports[1].nendpoints, 5);
	ck_assert_uint_eq(s->ports[1].endpoints[0].port, 5353);
	/* An unnamed Service port takes the unnamed slice port only. */
	s = svc(&f, "default", "unnamed");
	ck_assert_str_eq(eps_str(&s->ports[0], buf, sizeof(buf)),
	    "10.4.0.1:8000:-STU 10.4.0.2:8000:--T-");
	ck_assert_uint_eq(s->ports[0].nusable, 1);
	fx_free(&f);
}
END_TEST

#define NOSEL_SVC(name, ports) \
	"---\napiVersion: v1\nkind: Service\n" \
	"metadata: {name: " name ", namespace: default}\n" \
	"spec:\n  ports:\n" ports

/*
 * kube-proxy's terminating fallback (CategorizeEndpoints in
 * pkg/proxy/topology.go): the ready endpoints when any is ready, else
 * those both serving and terminating.  Serving without terminating is
 * never enough, ready or not: such an endpoint is neither ready nor on
 * its way out, and the fallback exists only for graceful termination.
 */
START_TEST(test_fallback_serving_not_terminating)
{
	struct fx		 f;
	const struct res_service *s;
	char			 buf[512];

	fx_load(&f,
	    NOSEL_SVC("fb", "  - {port: 80}\n")
	    SLICE("fb-1", "fb",
	    "addressType: IPv4\nports:\n- {port: 8000}\nendpoints:\n"
	    "- addresses: [10.6.0.1]\n"
	    "  conditions: {ready: false, serving: true, terminating: false}\n"
	    "- addresses: [10.6.0.2]\n"
	    "  conditions: {ready: false, serving: true, terminating: true}\n"
	    "- addresses: [10.6.0.3]\n"
	    "  conditions: {ready: false, serving: false, terminating: true}\n"
	    "- addresses: [10.6.0.4]\n"
	    "  conditions: {ready: false, serving: true}\n")
	    NOSEL_SVC("only-serving", "  - {port: 80}\n")
	    SLICE("only-serving-1", "only-serving",
	    "addressType: IPv4\nports:\n- {port: 8000}\nendpoints:\n"
	    "- addresses: [10.7.0.1]\n"
	    "  conditions: {ready: false, serving: true, terminating: false}\n"
	    "- addresses: [10.7.0.2]\n"
	    "  conditions: {ready: false, serving: true}\n")
	    NOSEL_SVC("mixed", "  - {port: 80}\n")
	    SLICE("mixed-1", "mixed",
	    "addressType: IPv4\nports:\n- {port: 8000}\nendpoints:\n"
	    "- addresses: [10.8.0.1]\n  conditions: {ready: true}\n"
	    "- addresses: [10.8.0.2]\n"
	    "  conditions: {ready: false, serving: true, terminating: true}\n"
	    "- addresses: [10.8.0.3]\n"
	    "  conditions: {ready: false, serving: true, terminating: false}\n"));
	/* Nothing ready: only 10.6.0.2, serving and terminating. */
	s = svc(&f, "default", "fb");
	ck_assert_str_eq(eps_str(&s->ports[0], buf, sizeof(buf)),
	    "10.6.0.1:8000:-S-- 10.6.0.2:8000:-STU 10.6.0.3:8000:--T- "
	    "10.6.0.4:8000:-S--");
	ck_assert_uint_eq(s->ports[0].nusable, 1);
	/* Serving, none terminating, none ready: no endpoint at all. */
	s = svc(&f, "default", "only-serving");
	ck_assert_str_eq(eps_str(&s->ports[0], buf, sizeof(buf)),
	    "10.7.0.1:8000:-S-- 10.7.0.2:8000:-S--");
	ck_assert_uint_eq(s->ports[0].nusable, 0);
	/* One ready: the fallback is off, the ready one alone is used. */
	s = svc(&f, "default", "mixed");
	ck_assert_str_eq(eps_str(&s->ports[0], buf, sizeof(buf)),
	    "10.8.0.1:8000:RS-U 10.8.0.2:8000:-ST- 10.8.0.3:8000:-S--");
	ck_assert_uint_eq(s->ports[0].nusable, 1);
	fx_free(&f);
}
END_TEST

/*
 * One endpoint per address and port, as kube-proxy keys them: the same
 * address in two slices is one endpoint, with the better conditions;
 * the same address on another port number is another endpoint.
 */
START_TEST(test_duplicate_endpoints)
{
	struct fx		 f;
	const struct res_service *s;
	char			 buf[512];

	fx_load(&f,
	    NOSEL_SVC("dup", "  - {name: http, port: 80}\n")
	    SLICE("dup-a", "dup",
	    "addressType: IPv4\nports:\n- {name: http, port: 8080}\n"
	    "endpoints:\n"
	    "- addresses: [10.9.0.1]\n  conditions: {ready: false}\n"
	    "- addresses: [10.9.0.2]\n")
	    SLICE("dup-b", "dup",
	    "addressType: IPv4\nports:\n- {name: http, port: 8080}\n"
	    "endpoints:\n"
	    "- addresses: [10.9.0.1]\n"
	    "  targetRef: {kind: Pod, name: p1b}\n"
	    "- addresses: [10.9.0.2]\n  conditions: {ready: false}\n"
	    "  targetRef: {kind: Pod, name: p2b}\n")
	    SLICE("dup-c", "dup",
	    "addressType: IPv4\nports:\n- {name: http, port: 9090}\n"
	    "endpoints:\n- addresses: [10.9.0.1]\n")
	    NOSEL_SVC("reuse", "  - {port: 80}\n")
	    SLICE("reuse-a", "reuse",
	    "addressType: IPv4\nports:\n- {port: 8080}\nendpoints:\n"
	    "- addresses: [10.9.0.5]\n"
	    "  conditions: {ready: false, serving: true, terminating: true}\n"
	    "  targetRef: {kind: Pod, name: old}\n")
	    SLICE("reuse-b", "reuse",
	    "addressType: IPv4\nports:\n- {port: 8080}\nendpoints:\n"
	    "- addresses: [10.9.0.5]\n  conditions: {ready: false}\n"
	    "  targetRef: {kind: Pod, name: new}\n")
	    "---\napiVersion: v1\nkind: Service\n"
	    "metadata: {name: reuse-pods, namespace: default}\n"
	    "spec:\n  selector: {app: reuse}\n"
	    "  ports:\n  - {port: 80, targetPort: 8080}\n"
	    "---\napiVersion: v1\nkind: Pod\n"
	    "metadata: {name: z-old, namespace: default, labels: {app: reuse},\n"
	    "  deletionTimestamp: \"2024-01-01T00:00:00Z\"}\n"
	    "status:\n  podIP: 10.9.0.6\n"
	    "  conditions: [{type: Ready, status: \"True\"}]\n"
	    POD("a-new", "{app: reuse}",
	    "status:\n  podIP: 10.9.0.6\n"
	    "  conditions: [{type: Ready, status: \"False\"}]\n"));
	s = svc(&f, "default", "dup");
	ck_assert_str_eq(eps_str(&s->ports[0], buf, sizeof(buf)),
	    "10.9.0.1:8080:RS-U 10.9.0.1:9090:RS-U 10.9.0.2:8080:RS-U");
	ck_assert_uint_eq(s->ports[0].nusable, 3);
	/* The ready copy is kept, with its own targetRef (or none). */
	ck_assert_str_eq(s->ports[0].endpoints[0].pod, "p1b");
	ck_assert_ptr_null(s->ports[0].endpoints[2].pod);

	/*
	 * A Pod that took the address of one still terminating: the
	 * running Pod's endpoint wins even before it is ready (kube-proxy
	 * prefers the non-terminating one), so the terminating fallback
	 * does not send its traffic to an address that is no longer the
	 * old Pod's.
	 */
	s = svc(&f, "default", "reuse");
	ck_assert_str_eq(eps_str(&s->ports[0], buf, sizeof(buf)),
	    "10.9.0.5:8080:----");
	ck_assert_str_eq(s->ports[0].endpoints[0].pod, "new");
	ck_assert_uint_eq(s->ports[0].nusable, 0);
	s = svc(&f, "default", "reuse-pods");
	ck_assert_str_eq(eps_str(&s->ports[0], buf, sizeof(buf)),
	    "10.9.0.6:8080:----");
	ck_assert_str_eq(s->ports[0].endpoints[0].pod, "a-new");
	ck_assert_uint_eq(s->ports[0].nusable, 0);
	fx_free(&f);
}
END_TEST

/*
 * Slices kube-proxy does not proxy, even when their addresses look like
 * IPs: an FQDN slice ("10.9.9.9" is a valid DNS name).  A targetRef of
 * another kind names no Pod.
 */
START_TEST(test_slices_skipped)
{
	struct fx		 f;
	const struct res_service *s;
	char			 buf[512];

	fx_load(&f,
	    NOSEL_SVC("f", "  - {port: 80}\n")
	    SLICE("f-fqdn", "f",
	    "addressType: FQDN\nports:\n- {port: 80}\n"
	    "endpoints:\n- addresses: [10.9.9.9]\n")
	    SLICE("f-ipv4", "f",
	    "addressType: IPv4\nports:\n- {port: 80}\n"
	    "endpoints:\n- addresses: [10.9.9.8]\n"
	    "  targetRef: {kind: Node, name: n1}\n"));
	s = svc(&f, "default", "f");
	ck_assert_str_eq(eps_str(&s->ports[0], buf, sizeof(buf)),
	    "10.9.9.8:80:RS-U");
	ck_assert_ptr_null(s->ports[0].endpoints[0].pod);
	fx_free(&f);
}
END_TEST

/*
 * A named targetPort in init containers counts only for sidecars
 * (restartPolicy: Always), even when a plain init container names the
 * same port first.
 */
START_TEST(test_named_port_sidecar_only)
{
	struct fx		 f;
	const struct res_service *s;
	char			 buf[512];

	fx_load(&f,
	    WEB_SVC("  ports:\n  - {name: http, port: 80, targetPort: http}\n")
	    POD("x", "{app: web}",
	    "spec:\n  initContainers:\n  - name: plain-init\n    ports:\n"
	    "    - {name: http, containerPort: 6060}\n"
	    "  - name: side\n    restartPolicy: Always\n    ports:\n"
	    "    - {name: http, containerPort: 7070}\n"
	    "  containers:\n  - name: c\n"
	    "status: {podIP: 10.0.0.1}\n")
	    POD("y", "{app: web}",
	    "spec:\n  initContainers:\n  - name: plain-init\n    ports:\n"
	    "    - {name: http, containerPort: 6061}\n"
	    "  containers:\n  - name: c\n"
	    "status: {podIP: 10.0.0.2}\n"));
	s = svc(&f, "default", "web");
	ck_assert_str_eq(eps_str(&s->ports[0], buf, sizeof(buf)),
	    "10.0.0.1:7070:RS-U");
	fx_free(&f);
}
END_TEST

START_TEST(test_headless)
{
	struct fx		 f;
	const struct res_service *s;
	char			 a[NETADDR_STRLEN], buf[512];

	fx_load(&f,
	    "---\napiVersion: v1\nkind: Service\n"
	    "metadata: {name: db, namespace: default}\n"
	    "spec:\n  clusterIP: None\n  selector: {app: db}\n"
	    "  ports:\n  - {port: 5432, targetPort: pg}\n"
	    POD("db-0", "{app: db}",
	    "spec:\n  containers:\n  - name: c\n    ports:\n"
	    "    - {name: pg, containerPort: 5432}\n"
	    "status: {podIP: 10.0.0.20}\n")
	    POD("db-1", "{app: db}", "status: {podIP: 10.0.0.10}\n")
	    POD("db-2", "{app: db}",
	    "status:\n  podIP: 10.0.0.30\n"
	    "  conditions: [{type: Ready, status: \"False\"}]\n")
	    "---\napiVersion: v1\nkind: Service\n"
	    "metadata: {name: pub, namespace: default}\n"
	    "spec:\n  clusterIP: None\n  publishNotReadyAddresses: true\n"
	    "  selector: {app: db}\n");
	s = svc(&f, "default", "db");
	ck_assert_int_eq(s->headless, 1);
	ck_assert_int_eq(s->proxied, 0);
	ck_assert_int_eq(s->cluster_ip.family, 0);
	/* Ready Pods, sorted; db-1 lacks the named port but is in DNS. */
	ck_assert_uint_eq(s->naddresses, 2);
	ck_assert_str_eq(ip(&s->addresses[0], a), "10.0.0.10");
	ck_assert_str_eq(ip(&s->addresses[1], a), "10.0.0.20");
	ck_assert_uint_eq(s->ports[0].nlisteners, 0);
	ck_assert_str_eq(eps_str(&s->ports[0], buf, sizeof(buf)),
	    "10.0.0.20:5432:RS-U");
	s = svc(&f, "default", "pub");
	ck_assert_uint_eq(s->naddresses, 3);
	ck_assert_str_eq(ip(&s->addresses[2], a), "10.0.0.30");
	fx_free(&f);
}
END_TEST

/*
 * A headless Service without a selector answers DNS with the ready
 * endpoints of its slices (every address of each; all of them with
 * publishNotReadyAddresses).
 */
START_TEST(test_headless_slices)
{
	struct fx		 f;
	const struct res_service *s;
	char			 a[NETADDR_STRLEN];

	fx_load(&f,
	    "---\napiVersion: v1\nkind: Service\n"
	    "metadata: {name: hl, namespace: default}\n"
	    "spec:\n  clusterIP: None\n  ports:\n  - {port: 80}\n"
	    SLICE("hl-1", "hl",
	    "addressType: IPv4\nports:\n- {port: 80}\nendpoints:\n"
	    "- addresses: [10.7.1.2, 10.7.1.1]\n"
	    "- addresses: [10.7.1.3]\n  conditions: {ready: false}\n"
	    "- addresses: [10.7.1.4]\n"
	    "  conditions: {ready: false, serving: true, terminating: true}\n"
	    "- addresses: [10.7.1.1]\n"));
	s = svc(&f, "default", "hl");
	ck_assert_int_eq(s->headless, 1);
	ck_assert_uint_eq(s->naddresses, 2);
	ck_assert_str_eq(ip(&s->addresses[0], a), "10.7.1.1");
	ck_assert_str_eq(ip(&s->addresses[1], a), "10.7.1.2");
	fx_free(&f);
}
END_TEST

START_TEST(test_external_name)
{
	struct fx		 f;
	const struct res_service *s;

	fx_load(&f,
	    "---\napiVersion: v1\nkind: Service\n"
	    "metadata: {name: ext, namespace: default}\n"
	    "spec:\n  type: ExternalName\n  externalName: db.example.com\n"
	    "  ports:\n  - {port: 5432}\n");
	s = svc(&f, "default", "ext");
	ck_assert_str_eq(s->type, "ExternalName");
	ck_assert_str_eq(s->external_name, "db.example.com");
	ck_assert_int_eq(s->proxied, 0);
	ck_assert_int_eq(s->headless, 0);
	ck_assert_int_eq(s->cluster_ip.family, 0);
	ck_assert_uint_eq(s->ports[0].nlisteners, 0);
	ck_assert_uint_eq(s->ports[0].nendpoints, 0);
	fx_free(&f);
}
END_TEST

/* ---- allocation ---- */

#define SVC_N(name, extra) \
	"---\napiVersion: v1\nkind: Service\n" \
	"metadata: {name: " name ", namespace: alloc}\n" \
	"spec:\n" extra "  ports:\n  - {name: p, port: 80}\n"

#define CIDR_CFG \
	"---\napiVersion: svcproxy.io/v1alpha1\nkind: ProxyConfig\n" \
	"metadata: {name: cfg}\nspec:\n  serviceCIDR: 10.100.0.0/24\n"

START_TEST(test_cluster_ip_alloc)
{
	struct fx	f1, f2, f3;
	char		a[NETADDR_STRLEN], b[NETADDR_STRLEN];
	char		yaml[1024];
	struct cidr	c;
	struct ipaddr	x, y, z;
	size_t		i;

	cidr_parse("10.100.0.0/24", &c, 1);
	fx_load(&f1, CIDR_CFG SVC_N("x", "") SVC_N("y", "")
	    SVC_N("z", "") SVC_N("fixed", "  clusterIP: 10.100.0.7\n"));
	fx_load(&f2, CIDR_CFG SVC_N("x", "") SVC_N("y", "")
	    SVC_N("z", "") SVC_N("fixed", "  clusterIP: 10.100.0.7\n"));
	for (i = 0; i < f1.m.nservices; i++) {
		const struct res_service *s1 = &f1.m.services[i];
		const struct res_service *s2 = &f2.m.services[i];

		ck_assert_int_eq(s1->cluster_ip.family, AF_INET);
		ck_assert(cidr_contains(&c, &s1->cluster_ip));
		/* Never the network (.0) or broadcast (.255) address. */
		ck_assert_int_ne(s1->cluster_ip.b[3], 0);
		ck_assert_int_ne(s1->cluster_ip.b[3], 255);
		ck_assert_str_eq(ip(&s1->cluster_ip, a),
		    ip(&s2->cluster_ip, b));
	}
	ck_assert_str_eq(ip(&svc(&f1, "alloc", "fixed")->cluster_ip, a),
	    "10.100.0.7");
	x = svc(&f1, "alloc", "x")->cluster_ip;
	y = svc(&f1, "alloc", "y")->cluster_ip;
	z = svc(&f1, "alloc", "z")->cluster_ip;
	ck_assert(!ipaddr_equal(&x, &y) && !ipaddr_equal(&y, &z) &&
	    !ipaddr_equal(&x, &z));

	/* An unrelated Service sorting first does not move the others. */
	fx_load(&f3, CIDR_CFG SVC_N("a-new", "") SVC_N("x", "")
	    SVC_N("y", "") SVC_N("z", "")
	    SVC_N("fixed", "  clusterIP: 10.100.0.7\n"));
	ck_assert(!ipaddr_equal(&svc(&f3, "alloc", "a-new")->cluster_ip, &x));
	ck_assert(ipaddr_equal(&svc(&f3, "alloc", "x")->cluster_ip, &x));
	ck_assert(ipaddr_equal(&svc(&f3, "alloc", "y")->cluster_ip, &y));
	ck_assert(ipaddr_equal(&svc(&f3, "alloc", "z")->cluster_ip, &z));
	fx_free(&f3);

	/* Someone states y's address explicitly: y probes to the next. */
	snprintf(yaml, sizeof(yaml), "%s%s%s%s---\napiVersion: v1\n"
	    "kind: Service\nmetadata: {name: zz-taker, namespace: alloc}\n"
	    "spec:\n  clusterIP: %s\n  ports:\n  - {port: 80}\n",
	    CIDR_CFG, SVC_N("x", ""), SVC_N("y", ""), SVC_N("z", ""),
	    ip(&y, a));
	fx_load(&f3, yaml);
	ck_assert(ipaddr_equal(&svc(&f3, "alloc", "zz-taker")->cluster_ip,
	    &y));
	ck_assert(!ipaddr_equal(&svc(&f3, "alloc", "y")->cluster_ip, &y));
	ck_assert(ipaddr_equal(&svc(&f3, "alloc", "x")->cluster_ip, &x));
	/* Linear probing: the next address in the range (wrapping). */
	cidr_nth(&c, y.b[3] == 254 ? 1 : (uint64_t)y.b[3] + 1, &y);
	if (ipaddr_equal(&y, &x) || ipaddr_equal(&y, &z))
		ck_abort_msg("test collision: rename the services");
	ck_assert_str_eq(ip(&svc(&f3, "alloc", "y")->cluster_ip, a),
	    ip(&y, b));
	fx_free(&f3);
	fx_free(&f1);
	fx_free(&f2);
}
END_TEST

START_TEST(test_cluster_ip_explicit_never_taken)
{
	struct fx	f;
	char		*yaml, *w;
	size_t		i, j;

	/* A /28 (14 usable) with 8 explicit and 6 allocated: all distinct. */
	yaml = malloc(8192);
	w = yaml + sprintf(yaml, "---\napiVersion: svcproxy.io/v1alpha1\n"
	    "kind: ProxyConfig\nmetadata: {name: cfg}\n"
	    "spec:\n  serviceCIDR: 10.9.0.0/28\n");
	for (i = 0; i < 14; i++) {
		w += sprintf(w, "---\napiVersion: v1\nkind: Service\n"
		    "metadata: {name: s%zu, namespace: alloc}\nspec:\n", i);
		if (i % 2 == 0 || i == 13)
			w += sprintf(w, "  clusterIP: 10.9.0.%zu\n", i + 1);
		w += sprintf(w, "  ports:\n  - {port: 80}\n");
	}
	fx_load(&f, yaml);
	free(yaml);
	ck_assert_uint_eq(f.m.nservices, 14);
	for (i = 0; i < 14; i++) {
		ck_assert_int_eq(f.m.services[i].cluster_ip.family, AF_INET);
		for (j = 0; j < i; j++)
			ck_assert(!ipaddr_equal(&f.m.services[i].cluster_ip,
			    &f.m.services[j].cluster_ip));
	}
	ck_assert_ptr_null(unit_find(&f.dl, "spec.clusterIP"));
	fx_free(&f);
}
END_TEST

/* A dual-stack Service's second clusterIP is never handed out again. */
START_TEST(test_cluster_ip_second_never_taken)
{
	struct fx	 f;
	char		 a[NETADDR_STRLEN];
	size_t		 i;

	fx_load(&f, "---\napiVersion: svcproxy.io/v1alpha1\n"
	    "kind: ProxyConfig\nmetadata: {name: cfg}\n"
	    "spec:\n  serviceCIDR: 10.9.0.0/30\n"
	    SVC_N("a", "") SVC_N("b", "")
	    SVC_N("dual", "  ipFamilyPolicy: RequireDualStack\n"
	    "  ipFamilies: [IPv6, IPv4]\n"
	    "  clusterIP: fd00::1\n  clusterIPs: [fd00::1, 10.9.0.1]\n"));
	ck_assert_str_eq(ip(&svc(&f, "alloc", "dual")->cluster_ip2, a),
	    "10.9.0.1");
	for (i = 0; i < f.m.nservices; i++)
		if (strcmp(f.m.services[i].name, "dual") != 0 &&
		    f.m.services[i].cluster_ip.family != 0)
			ck_assert_str_eq(ip(&f.m.services[i].cluster_ip, a),
			    "10.9.0.2");
	fx_free(&f);
}
END_TEST

/*
 * A /30 has two usable ClusterIPs (.1, .2): never the network (.0) or
 * the broadcast (.3) address; the third Service gets a warning and no
 * ClusterIP.
 */
START_TEST(test_cluster_ip_small_cidr)
{
	struct fx	 f;
	char		 a[NETADDR_STRLEN];
	size_t		 i, j, nnone = 0;

	fx_load(&f, "---\napiVersion: svcproxy.io/v1alpha1\n"
	    "kind: ProxyConfig\nmetadata: {name: cfg}\n"
	    "spec:\n  serviceCIDR: 10.9.0.0/30\n"
	    SVC_N("a", "") SVC_N("b", "") SVC_N("c", ""));
	for (i = 0; i < f.m.nservices; i++) {
		const struct ipaddr *c = &f.m.services[i].cluster_ip;

		if (c->family == 0) {
			nnone++;
			continue;
		}
		ip(c, a);
		ck_assert_msg(strcmp(a, "10.9.0.1") == 0 ||
		    strcmp(a, "10.9.0.2") == 0, "ClusterIP %s", a);
	}
	ck_assert_uint_eq(nnone, 1);
	/* The two that got one got different ones. */
	for (i = 0; i < f.m.nservices; i++)
		for (j = 0; j < i; j++)
			ck_assert(f.m.services[i].cluster_ip.family == 0 ||
			    !ipaddr_equal(&f.m.services[i].cluster_ip,
			    &f.m.services[j].cluster_ip));
	ck_assert_ptr_nonnull(unit_find(&f.dl, "spec.clusterIP"));
	fx_free(&f);
}
END_TEST

/*
 * A pool of several blocks is one list of addresses: five Services
 * take the five addresses of a /32 and a /30, each once; a sixth is
 * pending.
 */
START_TEST(test_lb_pool_blocks)
{
	struct fx	 f;
	char		 a[NETADDR_STRLEN], seen[6][NETADDR_STRLEN];
	size_t		 i, j, n = 0, npending = 0;

	fx_load(&f, "---\napiVersion: svcproxy.io/v1alpha1\n"
	    "kind: ProxyConfig\nmetadata: {name: cfg}\nspec:\n"
	    "  loadBalancerPool: [198.51.100.7/32, 203.0.113.0/30]\n"
	    SVC_N("l1", "  type: LoadBalancer\n")
	    SVC_N("l2", "  type: LoadBalancer\n")
	    SVC_N("l3", "  type: LoadBalancer\n")
	    SVC_N("l4", "  type: LoadBalancer\n")
	    SVC_N("l5", "  type: LoadBalancer\n")
	    SVC_N("l6", "  type: LoadBalancer\n"));
	for (i = 0; i < f.m.nservices; i++) {
		if (f.m.services[i].lb_ip.family == 0) {
			npending++;
			continue;
		}
		ip(&f.m.services[i].lb_ip, a);
		ck_assert_msg(strcmp(a, "198.51.100.7") == 0 ||
		    strncmp(a, "203.0.113.", 10) == 0, "address %s", a);
		ck_assert_msg(strcmp(a, "203.0.113.4") < 0 ||
		    strncmp(a, "203.0.113.", 10) != 0, "address %s", a);
		for (j = 0; j < n; j++)
			ck_assert_str_ne(seen[j], a);
		snprintf(seen[n++], sizeof(seen[0]), "%s", a);
	}
	ck_assert_uint_eq(n, 5);
	ck_assert_uint_eq(npending, 1);
	fx_free(&f);
}
END_TEST

#define NP_CFG \
	"---\napiVersion: svcproxy.io/v1alpha1\nkind: ProxyConfig\n" \
	"metadata: {name: cfg}\nspec:\n  nodePortRange: 30000-30009\n" \
	"  nodeAddresses: [192.0.2.10, \"2001:db8::10\"]\n"

START_TEST(test_node_port_alloc)
{
	struct fx			 f1, f2;
	const struct res_service	*s1, *s2;
	char				 yaml[2048], buf[512];
	uint16_t			 np;
	size_t				 i;

	fx_load(&f1, NP_CFG SVC_N("a", "  type: NodePort\n")
	    SVC_N("b", "  type: NodePort\n"));
	fx_load(&f2, NP_CFG SVC_N("a", "  type: NodePort\n")
	    SVC_N("b", "  type: NodePort\n"));
	for (i = 0; i < 2; i++) {
		s1 = &f1.m.services[i];
		s2 = &f2.m.services[i];
		ck_assert_uint_ge(s1->ports[0].node_port, 30000);
		ck_assert_uint_le(s1->ports[0].node_port, 30009);
		ck_assert_uint_eq(s1->ports[0].node_port,
		    s2->ports[0].node_port);
	}
	np = svc(&f1, "alloc", "b")->ports[0].node_port;
	ck_assert_uint_ne(np, svc(&f1, "alloc", "a")->ports[0].node_port);
	/* Listeners on each node address plus the ClusterIP. */
	s1 = svc(&f1, "alloc", "b");
	snprintf(yaml, sizeof(yaml), "NodePort 192.0.2.10:%u/TCP, "
	    "NodePort 2001:db8::10:%u/TCP", np, np);
	ck_assert_str_eq(strstr(lsn_str(&s1->ports[0], buf, sizeof(buf)),
	    "NodePort"), yaml);
	ck_assert_int_eq(s1->ports[0].listeners[0].kind, RES_LSN_CLUSTER_IP);
	ck_assert_uint_eq(s1->ports[0].nlisteners, 3);

	/* b's port taken explicitly by a Service sorting first: b moves. */
	snprintf(yaml, sizeof(yaml), "%s%s%s---\napiVersion: v1\n"
	    "kind: Service\nmetadata: {name: taker, namespace: alloc}\n"
	    "spec:\n  type: NodePort\n  ports:\n"
	    "  - {port: 80, nodePort: %u}\n", NP_CFG,
	    SVC_N("a", "  type: NodePort\n"),
	    SVC_N("b", "  type: NodePort\n"), np);
	fx_free(&f2);
	fx_load(&f2, yaml);
	ck_assert_uint_eq(svc(&f2, "alloc", "taker")->ports[0].node_port, np);
	ck_assert_uint_ne(svc(&f2, "alloc", "b")->ports[0].node_port, np);
	ck_assert_uint_eq(svc(&f2, "alloc", "a")->ports[0].node_port,
	    svc(&f1, "alloc", "a")->ports[0].node_port);
	fx_free(&f1);
	fx_free(&f2);
}
END_TEST

START_TEST(test_node_port_exhausted)
{
	struct fx	f;
	char		*yaml, *w;
	size_t		i, j, nzero = 0;

	/* Ten ports, eleven Services (one a TCP+UDP pair sharing). */
	yaml = malloc(8192);
	w = yaml + sprintf(yaml, "%s", NP_CFG);
	for (i = 0; i < 11; i++)
		w += sprintf(w, "---\napiVersion: v1\nkind: Service\n"
		    "metadata: {name: s%02zu, namespace: alloc}\n"
		    "spec:\n  type: NodePort\n  ports:\n"
		    "  - {name: tcp, port: 53, protocol: TCP}\n"
		    "%s", i, i == 3 ? "  - {name: udp, port: 53, "
		    "protocol: UDP}\n" : "");
	fx_load(&f, yaml);
	free(yaml);
	ck_assert_uint_eq(svc(&f, "alloc", "s03")->ports[0].node_port,
	    svc(&f, "alloc", "s03")->ports[1].node_port);
	for (i = 0; i < f.m.nservices; i++) {
		uint16_t np = f.m.services[i].ports[0].node_port;

		if (np == 0) {
			nzero++;
			ck_assert_uint_eq(f.m.services[i].ports[0].nlisteners,
			    1);	/* the ClusterIP only */
			continue;
		}
		for (j = 0; j < i; j++)
			ck_assert_uint_ne(np,
			    f.m.services[j].ports[0].node_port);
	}
	ck_assert_uint_eq(nzero, 1);
	ck_assert_ptr_nonnull(unit_find(&f.dl, "spec.ports[0].nodePort"));
	ck_assert_int_eq(unit_find(&f.dl, "spec.ports[0].nodePort")->sev,
	    DIAG_WARNING);
	fx_free(&f);
}
END_TEST

#define LB_CFG \
	"---\napiVersion: svcproxy.io/v1alpha1\nkind: ProxyConfig\n" \
	"metadata: {name: cfg}\nspec:\n" \
	"  loadBalancerPool: [198.51.100.7/32, 198.51.100.8/32]\n"

START_TEST(test_lb_address)
{
	struct fx			 f;
	const struct res_service	*s;
	char				 a[NETADDR_STRLEN], got[512];

	fx_load(&f, LB_CFG
	    SVC_N("spec", "  type: LoadBalancer\n"
	    "  loadBalancerIP: 198.51.100.8\n")
	    "---\napiVersion: v1\nkind: Service\n"
	    "metadata: {name: status, namespace: alloc}\n"
	    "spec:\n  type: LoadBalancer\n  ports:\n  - {port: 443}\n"
	    "status:\n  loadBalancer:\n    ingress:\n"
	    "    - {hostname: lb.example.com}\n    - {ip: 203.0.113.5}\n"
	    SVC_N("pool", "  type: LoadBalancer\n")
	    SVC_N("zz-pending", "  type: LoadBalancer\n"
	    "  allocateLoadBalancerNodePorts: false\n"));
	s = svc(&f, "alloc", "spec");
	ck_assert_str_eq(ip(&s->lb_ip, a), "198.51.100.8");
	ck_assert_int_eq(s->allocate_lb_node_ports, 1);
	ck_assert_uint_ne(s->ports[0].node_port, 0);
	/* Sorted by address: 0.0.0.0, the ClusterIP, 198.51.100.8, ::. */
	lsn_str(&s->ports[0], got, sizeof(got));
	ck_assert_ptr_eq(strstr(got, "NodePort 0.0.0.0:"), got);
	ck_assert_ptr_nonnull(strstr(got, ", LoadBalancer 198.51.100.8:80/TCP, "
	    "NodePort :::"));
	ck_assert_uint_eq(s->ports[0].nlisteners, 4);
	ck_assert_int_eq(s->ports[0].listeners[1].kind, RES_LSN_CLUSTER_IP);
	ck_assert_uint_eq(s->ports[0].listeners[0].port,
	    s->ports[0].node_port);
	s = svc(&f, "alloc", "status");
	ck_assert_str_eq(ip(&s->lb_ip, a), "203.0.113.5");
	/* The pool's other address: .8 is spec's. */
	s = svc(&f, "alloc", "pool");
	ck_assert_str_eq(ip(&s->lb_ip, a), "198.51.100.7");
	/* Pool used up: pending, a warning, no LB listener or NodePort. */
	s = svc(&f, "alloc", "zz-pending");
	ck_assert_int_eq(s->lb_ip.family, 0);
	ck_assert_int_eq(s->allocate_lb_node_ports, 0);
	ck_assert_uint_eq(s->ports[0].node_port, 0);
	ck_assert_uint_eq(s->ports[0].nlisteners, 1);
	ck_assert_int_eq(s->ports[0].listeners[0].kind, RES_LSN_CLUSTER_IP);
	ck_assert_ptr_nonnull(unit_find(&f.dl, "status.loadBalancer"));
	ck_assert_ptr_nonnull(strstr(unit_find(&f.dl,
	    "status.loadBalancer")->detail, "<pending>"));
	ck_assert_str_eq(unit_find(&f.dl, "status.loadBalancer")->name,
	    "zz-pending");
	fx_free(&f);
}
END_TEST

START_TEST(test_listeners)
{
	struct fx			 f;
	const struct res_service	*s;
	char				 buf[512];

	fx_load(&f,
	    "---\napiVersion: svcproxy.io/v1alpha1\nkind: ProxyConfig\n"
	    "metadata: {name: cfg}\nspec:\n  nodeAddresses: [127.0.0.2]\n"
	    "---\napiVersion: v1\nkind: Service\n"
	    "metadata: {name: web, namespace: default}\n"
	    "spec:\n  clusterIP: 10.96.0.10\n"
	    "  externalIPs: [192.0.2.1, \"2001:db8::1\", 10.96.0.10]\n"
	    "  ports:\n  - {name: a, port: 80}\n"
	    "  - {name: b, port: 80, protocol: UDP}\n"
	    "---\napiVersion: v1\nkind: Service\n"
	    "metadata: {name: np, namespace: default}\n"
	    "spec:\n  type: NodePort\n  clusterIP: 10.96.0.11\n"
	    "  sessionAffinity: ClientIP\n"
	    "  ports:\n  - {port: 8080, nodePort: 30080}\n");
	s = svc(&f, "default", "web");
	ck_assert_int_eq(s->proxied, 1);
	/* externalIPs make it externally accessible: defaulted. */
	ck_assert_str_eq(s->external_traffic_policy, "Cluster");
	/* An externalIP equal to the ClusterIP is one listener. */
	ck_assert_str_eq(lsn_str(&s->ports[0], buf, sizeof(buf)),
	    "ClusterIP 10.96.0.10:80/TCP, ExternalIP 192.0.2.1:80/TCP, "
	    "ExternalIP 2001:db8::1:80/TCP");
	ck_assert_str_eq(lsn_str(&s->ports[1], buf, sizeof(buf)),
	    "ClusterIP 10.96.0.10:80/UDP, ExternalIP 192.0.2.1:80/UDP, "
	    "ExternalIP 2001:db8::1:80/UDP");
	s = svc(&f, "default", "np");
	ck_assert_str_eq(lsn_str(&s->ports[0], buf, sizeof(buf)),
	    "ClusterIP 10.96.0.11:8080/TCP, NodePort 127.0.0.2:30080/TCP");
	ck_assert_str_eq(s->external_traffic_policy, "Cluster");
	ck_assert_str_eq(s->session_affinity, "ClientIP");
	ck_assert_int_eq(s->affinity_timeout, 10800);
	fx_free(&f);
}
END_TEST

START_TEST(test_annotations)
{
	struct fx			 f;
	const struct res_service	*s;

	fx_load(&f,
	    "---\napiVersion: v1\nkind: Service\n"
	    "metadata:\n  name: web\n  namespace: default\n"
	    "  annotations:\n    svcproxy.io/idle-timeout: 1m30s\n"
	    "    svcproxy.io/connect-timeout: 250ms\n"
	    "    svcproxy.io/max-connections: \"100\"\n"
	    "spec:\n  ports:\n  - {port: 80}\n");
	s = svc(&f, "default", "web");
	ck_assert_uint_eq(s->idle_timeout_ms, 90000);
	ck_assert_uint_eq(s->connect_timeout_ms, 250);
	ck_assert_uint_eq(s->max_connections, 100);
	fx_free(&f);
}
END_TEST

/*
 * ProxyConfig spec.localTrafficClientAddress: the method of an
 * externalTrafficPolicy: Local Service that names none; not of one that
 * opted out, has its own, or is not Local.
 */
#define LCA_SVC(name, etp, ann)						\
	"---\napiVersion: v1\nkind: Service\n"				\
	"metadata:\n  name: " name "\n  annotations: {" ann "}\n"		\
	"spec:\n  type: LoadBalancer\n  externalTrafficPolicy: " etp "\n"	\
	"  ports:\n  - {port: 80}\n"

START_TEST(test_local_client_address_default)
{
	struct fx			 f;
	const struct res_service	*s;

	fx_load(&f,
	    "---\napiVersion: svcproxy.io/v1alpha1\nkind: ProxyConfig\n"
	    "metadata: {name: c}\nspec:\n"
	    "  localTrafficClientAddress: proxy-protocol-v2\n"
	    LCA_SVC("local", "Local", "")
	    LCA_SVC("optout", "Local", "svcproxy.io/proxy-protocol: none")
	    LCA_SVC("own", "Local", "svcproxy.io/source-address: client")
	    LCA_SVC("cluster", "Cluster", ""));
	s = svc(&f, "default", "local");
	ck_assert_int_eq(s->proxy_protocol, PP_V2);
	ck_assert_int_eq(s->transparent, 0);
	ck_assert_int_eq(s->ca_defaulted, 1);
	ck_assert_int_eq(s->hc.check.proxy, PP_V2);	/* checks send it */
	s = svc(&f, "default", "optout");
	ck_assert_int_eq(s->proxy_protocol, PP_NONE);
	ck_assert_int_eq(s->ca_defaulted, 0);
	s = svc(&f, "default", "own");
	ck_assert_int_eq(s->proxy_protocol, PP_NONE);
	ck_assert_int_eq(s->transparent, 1);
	ck_assert_int_eq(s->ca_defaulted, 0);
	s = svc(&f, "default", "cluster");
	ck_assert_int_eq(s->proxy_protocol, PP_NONE);
	ck_assert_int_eq(s->ca_defaulted, 0);
	fx_free(&f);

	fx_load(&f,
	    "---\napiVersion: svcproxy.io/v1alpha1\nkind: ProxyConfig\n"
	    "metadata: {name: c}\nspec:\n"
	    "  localTrafficClientAddress: transparent\n"
	    LCA_SVC("local", "Local", ""));
	s = svc(&f, "default", "local");
	ck_assert_int_eq(s->proxy_protocol, PP_NONE);
	ck_assert_int_eq(s->transparent, 1);
	ck_assert_int_eq(s->ca_defaulted, 1);
	fx_free(&f);
}
END_TEST

/*
 * Health settings: the ProxyConfig's, each overridden by the Service's
 * annotation; a timeout given nowhere is the interval in force.
 */
START_TEST(test_health)
{
	struct fx			 f;
	const struct hc_config		*hc;
	char				*out = NULL;
	size_t				 len = 0;
	FILE				*fp;

	fx_load(&f,
	    "---\napiVersion: svcproxy.io/v1alpha1\nkind: ProxyConfig\n"
	    "metadata: {name: c}\nspec:\n"
	    "  healthCheck:\n    type: http\n    interval: 5s\n"
	    "    path: /ready\n    outlierDetection: {consecutiveFailures: 7}\n"
	    "    panicThreshold: 20\n"
	    "---\napiVersion: v1\nkind: Service\n"
	    "metadata:\n  name: inherit\n"
	    "spec:\n  ports:\n  - {port: 80}\n"
	    "---\napiVersion: v1\nkind: Service\n"
	    "metadata:\n  name: own\n  annotations:\n"
	    "    svcproxy.io/health-check: tcp\n"
	    "    svcproxy.io/health-check-interval: 1s\n"
	    "    svcproxy.io/health-check-rise: \"4\"\n"
	    "    svcproxy.io/health-check-port: \"8081\"\n"
	    "    svcproxy.io/outlier-base-ejection-time: 10s\n"
	    "    svcproxy.io/outlier-max-ejection-percent: \"20\"\n"
	    "    svcproxy.io/health-on-down: close\n"
	    "spec:\n  ports:\n  - {port: 80}\n"
	    "---\napiVersion: v1\nkind: Service\n"
	    "metadata:\n  name: timeout\n  annotations:\n"
	    "    svcproxy.io/health-check-timeout: 300ms\n"
	    "    svcproxy.io/health-check-path: /x\n"
	    "    svcproxy.io/health-check-method: HEAD\n"
	    "    svcproxy.io/health-check-host: a.example\n"
	    "    svcproxy.io/health-check-expect-status: \"204\"\n"
	    "spec:\n  ports:\n  - {port: 80}\n");
	hc = &svc(&f, "default", "inherit")->hc;
	ck_assert_int_eq(hc->check.kind, HC_HTTP);
	ck_assert_uint_eq(hc->check.interval_ms, 5000);
	ck_assert_uint_eq(hc->check.timeout_ms, 5000);
	ck_assert_uint_eq(hc->check.rise, HC_DEFAULT_RISE);
	ck_assert_uint_eq(hc->check.fall, HC_DEFAULT_FALL);
	ck_assert_str_eq(hc->check.path, "/ready");
	ck_assert_str_eq(hc->check.method, "GET");
	ck_assert_str_eq(hc->check.expect, "200-399");
	ck_assert_ptr_null(hc->check.host);
	ck_assert_uint_eq(hc->outlier_failures, 7);
	ck_assert_uint_eq(hc->eject_base_ms, HC_DEFAULT_EJECT_BASE_MS);
	ck_assert_uint_eq(hc->eject_max_ms, HC_DEFAULT_EJECT_MAX_MS);
	ck_assert_uint_eq(hc->panic_percent, 20);
	ck_assert_uint_eq(hc->close_on_down, 0);

	hc = &svc(&f, "default", "own")->hc;
	ck_assert_int_eq(hc->check.kind, HC_TCP);
	ck_assert_uint_eq(hc->check.interval_ms, 1000);
	ck_assert_uint_eq(hc->check.timeout_ms, 1000);	/* its interval */
	ck_assert_uint_eq(hc->check.rise, 4);
	ck_assert_uint_eq(hc->check.port, 8081);
	ck_assert_uint_eq(hc->outlier_failures, 7);
	ck_assert_uint_eq(hc->eject_base_ms, 10000);
	ck_assert_uint_eq(hc->eject_max_percent, 20);
	ck_assert_uint_eq(hc->close_on_down, 1);

	hc = &svc(&f, "default", "timeout")->hc;
	ck_assert_uint_eq(hc->check.interval_ms, 5000);
	ck_assert_uint_eq(hc->check.timeout_ms, 300);
	ck_assert_str_eq(hc->check.path, "/x");
	ck_assert_str_eq(hc->check.method, "HEAD");
	ck_assert_str_eq(hc->check.host, "a.example");
	ck_assert_str_eq(hc->check.expect, "204");

	ck_assert_ptr_nonnull(fp = open_memstream(&out, &len));
	res_print_json(&f.m, fp);
	fclose(fp);
	ck_assert_msg(strstr(out, "\"healthCheck\":{\"type\":\"tcp\","
	    "\"interval\":\"1s\",\"timeout\":\"1s\",\"rise\":4,\"fall\":3,"
	    "\"port\":8081,\"path\":\"/ready\",\"host\":null,"
	    "\"method\":\"GET\",\"expectStatus\":\"200-399\",\"sni\":null,"
	    "\"ca\":null,\"outlierDetection\":{\"consecutiveFailures\":7,"
	    "\"baseEjectionTime\":\"10s\",\"maxEjectionTime\":\"5m0s\","
	    "\"maxEjectionPercent\":20},\"panicThreshold\":20,"
	    "\"onDown\":\"close\",\"slowStart\":\"0s\"}") != NULL, "%s", out);
	free(out);
	ck_assert_ptr_nonnull(fp = open_memstream(&out, &len));
	res_print_text(&f.m, fp);
	fclose(fp);
	ck_assert_msg(strstr(out, "\n  health http GET /ready expect 200-399 "
	    "every 5s timeout 5s rise 2 fall 3  eject after 7 failures for "
	    "30s (max 50%)\n") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "\n  health tcp port 8081 every 1s timeout "
	    "1s rise 4 fall 3  eject after 7 failures for 10s (max 20%)\n") !=
	    NULL, "%s", out);
	free(out);
	fx_free(&f);
}
END_TEST

/* No ProxyConfig, no annotation: no active check; "none" prints only
   passive detection, which applies without one. */
START_TEST(test_health_defaults)
{
	struct fx			 f;
	const struct hc_config		*hc;
	char				*out = NULL;
	size_t				 len = 0;
	FILE				*fp;

	fx_load(&f, "---\napiVersion: v1\nkind: Service\n"
	    "metadata:\n  name: web\n"
	    "  annotations: {svcproxy.io/outlier-consecutive-failures: \"0\"}\n"
	    "spec:\n  ports:\n  - {port: 80}\n");
	hc = &svc(&f, "default", "web")->hc;
	ck_assert_int_eq(hc->check.kind, HC_NONE);
	ck_assert_uint_eq(hc->check.interval_ms, HC_DEFAULT_INTERVAL_MS);
	ck_assert_uint_eq(hc->check.timeout_ms, HC_DEFAULT_INTERVAL_MS);
	ck_assert_uint_eq(hc->outlier_failures, 0);
	ck_assert_uint_eq(hc->eject_max_percent,
	    HC_DEFAULT_EJECT_MAX_PERCENT);
	ck_assert_ptr_nonnull(fp = open_memstream(&out, &len));
	res_print_json(&f.m, fp);
	fclose(fp);
	ck_assert_msg(strstr(out, "\"healthCheck\":{\"type\":\"none\","
	    "\"outlierDetection\":{\"consecutiveFailures\":0,"
	    "\"baseEjectionTime\":\"30s\",\"maxEjectionTime\":\"5m0s\","
	    "\"maxEjectionPercent\":50}},\"ports\"") != NULL, "%s", out);
	free(out);
	ck_assert_ptr_nonnull(fp = open_memstream(&out, &len));
	res_print_text(&f.m, fp);
	fclose(fp);
	ck_assert_msg(strstr(out, "\n  health none  no ejection\n") != NULL,
	    "%s", out);
	free(out);
	fx_free(&f);
}
END_TEST

/*
 * The balancing algorithm: the Service's annotation, else ProxyConfig's
 * spec.loadBalancing.algorithm; printed by resolve for proxied Services.
 */
START_TEST(test_lb_algorithm)
{
	struct fx	 f;
	char		*out = NULL;
	size_t		 len = 0;
	FILE		*fp;

	fx_load(&f,
	    "---\napiVersion: svcproxy.io/v1alpha1\nkind: ProxyConfig\n"
	    "metadata: {name: c}\nspec:\n"
	    "  loadBalancing: {algorithm: round-robin}\n"
	    "---\napiVersion: v1\nkind: Service\n"
	    "metadata:\n  name: a\n"
	    "  annotations: {svcproxy.io/lb-algorithm: round-robin}\n"
	    "spec:\n  ports:\n  - {port: 80}\n"
	    "---\napiVersion: v1\nkind: Service\n"
	    "metadata:\n  name: b\n"
	    "spec:\n  ports:\n  - {port: 80}\n"
	    "---\napiVersion: v1\nkind: Service\n"
	    "metadata:\n  name: h\n"
	    "spec:\n  clusterIP: None\n  ports:\n  - {port: 80}\n");
	ck_assert_str_eq(svc(&f, "default", "a")->lb_algorithm, "round-robin");
	ck_assert_str_eq(svc(&f, "default", "b")->lb_algorithm, "round-robin");

	ck_assert_ptr_nonnull(fp = open_memstream(&out, &len));
	res_print_json(&f.m, fp);
	fclose(fp);
	ck_assert_msg(strstr(out, "\"name\":\"b\",") != NULL &&
	    strstr(strstr(out, "\"name\":\"b\","), "\"loadBalancing\":"
	    "{\"algorithm\":\"round-robin\"},\"healthCheck\"") != NULL, "%s",
	    out);
	/* Headless: nothing to balance. */
	ck_assert_msg(strstr(strstr(out, "\"name\":\"h\","),
	    "\"loadBalancing\":null,") != NULL, "%s", out);
	free(out);
	ck_assert_ptr_nonnull(fp = open_memstream(&out, &len));
	res_print_text(&f.m, fp);
	fclose(fp);
	ck_assert_msg(strstr(out, "default/b  ClusterIP  clusterIP ") != NULL,
	    "%s", out);
	ck_assert_msg(strstr(out, "  lb round-robin\n  health none  eject "
	    "after 5 failures for 30s (max 50%)\n  port - 80/TCP") != NULL,
	    "%s", out);
	ck_assert_msg(strstr(out, "(headless)\n") != NULL, "%s", out);
	free(out);

	/* Another ProxyConfig default (what validation will let through
	   once there are more): the annotation still wins. */
	res_free(&f.m);
	f.pc.lb_algorithm = "test-default";
	ck_assert_int_eq(res_build(&f.set, &f.pc, &f.m, &f.dl), 0);
	ck_assert_str_eq(svc(&f, "default", "a")->lb_algorithm, "round-robin");
	ck_assert_str_eq(svc(&f, "default", "b")->lb_algorithm,
	    "test-default");
	fx_free(&f);
}
END_TEST

/*
 * Issue 13: weights from Pods and EndpointSlices, the hash key, table
 * size and affinity bound from annotations over the ProxyConfig, and
 * resolve's output of a weight.
 */
START_TEST(test_lb_params_and_weights)
{
	const struct res_service	*w, *s;
	struct fx			 f;
	char				*out = NULL;
	size_t				 len = 0;
	FILE				*fp;

	fx_load(&f,
	    "---\napiVersion: svcproxy.io/v1alpha1\nkind: ProxyConfig\n"
	    "metadata: {name: c}\nspec:\n"
	    "  loadBalancing: {hashKey: client-ip-port, maglevTableSize: 1021}\n"
	    "  sessionAffinity: {maxEntriesPerPort: 500}\n"
	    WEB_SVC("  ports: [{port: 80}]\n")
	    POD("a", "{app: web}, annotations: {svcproxy.io/weight: \"0\"}",
	    "status: {podIP: 10.0.0.1}\n")
	    POD("b", "{app: web}, annotations: {svcproxy.io/weight: \"256\"}",
	    "status: {podIP: 10.0.0.2}\n")
	    POD("c", "{app: web}", "status: {podIP: 10.0.0.3}\n")
	    "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: s\n"
	    "  annotations: {svcproxy.io/hash-key: client-ip, "
	    "svcproxy.io/maglev-table-size: \"655373\", "
	    "svcproxy.io/affinity-max-entries: \"7\"}\n"
	    "spec:\n  sessionAffinity: ClientIP\n  ports: [{port: 81}]\n"
	    "---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
	    "metadata:\n  name: s-1\n  labels: {kubernetes.io/service-name: s}\n"
	    "  annotations: {svcproxy.io/weight: \"5\"}\n"
	    "addressType: IPv4\nendpoints:\n- addresses: [10.0.1.1]\n"
	    "- addresses: [10.0.1.2]\nports:\n- {port: 81}\n");
	w = svc(&f, "default", "web");
	s = svc(&f, "default", "s");
	ck_assert_uint_eq(w->ports[0].nendpoints, 3);
	ck_assert_uint_eq(w->ports[0].endpoints[0].weight, 0);
	ck_assert_uint_eq(w->ports[0].endpoints[1].weight, 256);
	ck_assert_uint_eq(w->ports[0].endpoints[2].weight, 1);
	ck_assert_uint_eq(s->ports[0].endpoints[0].weight, 5);
	ck_assert_uint_eq(s->ports[0].endpoints[1].weight, 5);
	ck_assert_int_eq(w->hash_key, 1);
	ck_assert_uint_eq(w->maglev_table_size, 1021);
	ck_assert_uint_eq(w->affinity_max, 500);
	ck_assert_int_eq(s->hash_key, 0);
	ck_assert_uint_eq(s->maglev_table_size, 655373);
	ck_assert_uint_eq(s->affinity_max, 7);

	ck_assert_ptr_nonnull(fp = open_memstream(&out, &len));
	res_print_text(&f.m, fp);
	fclose(fp);
	ck_assert_msg(strstr(out, "10.0.0.1:80 ") != NULL && strstr(strstr(
	    out, "10.0.0.1:80 "), "ready, weight 0 (drained)\n") != NULL,
	    "%s", out);
	ck_assert_msg(strstr(out, "ready, weight 256\n") != NULL, "%s", out);
	/* The default weight is not printed. */
	ck_assert_msg(strstr(strstr(out, "default/c "), "ready\n") != NULL,
	    "%s", out);
	free(out);
	ck_assert_ptr_nonnull(fp = open_memstream(&out, &len));
	res_print_json(&f.m, fp);
	fclose(fp);
	ck_assert_msg(strstr(out, "\"usable\":true,\"weight\":0}") != NULL,
	    "%s", out);
	ck_assert_msg(strstr(out, "\"usable\":true,\"weight\":256}") != NULL,
	    "%s", out);
	free(out);
	fx_free(&f);
}
END_TEST

/* Scale: 5,000 Services over 50,000 Pods resolve through the index. */
START_TEST(test_scale)
{
	struct fx	 f;
	char		*yaml, *w;
	size_t		 i, total = 0;

	yaml = malloc((size_t)60 * 1024 * 1024);
	w = yaml;
	for (i = 0; i < 5000; i++)
		w += sprintf(w, "---\napiVersion: v1\nkind: Service\n"
		    "metadata: {name: s%zu, namespace: ns%zu}\n"
		    "spec:\n  selector: {app: a%zu}\n"
		    "  ports:\n  - {name: http, port: 80, targetPort: http}\n",
		    i, i % 50, i);
	for (i = 0; i < 50000; i++)
		w += sprintf(w, "---\napiVersion: v1\nkind: Pod\n"
		    "metadata: {name: p%zu, namespace: ns%zu, labels: "
		    "{app: a%zu, tier: t}}\n"
		    "spec:\n  containers:\n  - name: c\n    ports:\n"
		    "    - {name: http, containerPort: 8080}\n"
		    "status: {podIP: 10.%zu.%zu.%zu}\n",
		    i, (i % 5000) % 50, i % 5000, 1 + i / 65536,
		    (i / 256) % 256, i % 256);
	fx_load(&f, yaml);
	free(yaml);
	ck_assert_uint_eq(f.m.nservices, 5000);
	for (i = 0; i < f.m.nservices; i++)
		total += f.m.services[i].ports[0].nusable;
	ck_assert_uint_eq(total, 50000);
	fx_free(&f);
}
END_TEST

/* ---- fidelity: what the API server's defaults and allocator do ---- */

/* `resolve -o json` of f's model, in a buffer the caller frees. */
static char *
fid_json(const struct fx *f)
{
	char	*buf = NULL;
	size_t	 len = 0;
	FILE	*fp;

	ck_assert_ptr_nonnull(fp = open_memstream(&buf, &len));
	res_print_json(&f->m, fp);
	fclose(fp);
	return buf;
}

/* A ClusterIP Service with externalIPs is ExternallyAccessible. */
static const char *
fid_policy_of(const char *json, const char *name)
{
	char		 key[64];
	const char	*p;

	snprintf(key, sizeof(key), "\"name\":\"%s\"", name);
	p = strstr(json, key);
	ck_assert_msg(p != NULL, "no Service %s", name);
	p = strstr(p, "\"externalTrafficPolicy\":");
	ck_assert_msg(p != NULL, "no externalTrafficPolicy after %s", name);
	return p + strlen("\"externalTrafficPolicy\":");
}

START_TEST(test_fid_external_ips_traffic_policy)
{
	struct fx	 f;
	char		*json;

	fx_load(&f, SVC_N("plain", "") SVC_N("ext",
	    "  externalIPs: [192.0.2.50]\n"));
	json = fid_json(&f);
	ck_assert_msg(strncmp(fid_policy_of(json, "ext"), "\"Cluster\"", 9) ==
	    0, "ext: %.20s", fid_policy_of(json, "ext"));
	ck_assert_msg(strncmp(fid_policy_of(json, "plain"), "null", 4) == 0,
	    "plain: %.20s", fid_policy_of(json, "plain"));
	free(json);
	fx_free(&f);
}
END_TEST

/*
 * initNodePorts: a port number's protocols share one NodePort, and the
 * first one asked for, wherever it is in the list, is the one.
 */
START_TEST(test_fid_node_port_requested_later)
{
	struct fx			 f;
	const struct res_service	*s;

	fx_load(&f, NP_CFG "---\napiVersion: v1\nkind: Service\n"
	    "metadata: {name: dns, namespace: alloc}\n"
	    "spec:\n  type: NodePort\n  ports:\n"
	    "  - {name: t, port: 53}\n"
	    "  - {name: u, port: 53, protocol: UDP, nodePort: 30005}\n");
	s = svc(&f, "alloc", "dns");
	ck_assert_uint_eq(s->ports[0].node_port, 30005);
	ck_assert_uint_eq(s->ports[1].node_port, 30005);
	fx_free(&f);
}
END_TEST

/* An explicit healthCheckNodePort is never handed out again. */
START_TEST(test_fid_health_check_port_reserved)
{
	struct fx	f;
	uint16_t	a, b;

	fx_load(&f, "---\napiVersion: svcproxy.io/v1alpha1\n"
	    "kind: ProxyConfig\nmetadata: {name: cfg}\nspec:\n"
	    "  nodePortRange: 30000-30001\n"
	    SVC_N("lb", "  type: LoadBalancer\n"
	    "  allocateLoadBalancerNodePorts: false\n"
	    "  externalTrafficPolicy: Local\n"
	    "  healthCheckNodePort: 30000\n")
	    SVC_N("n1", "  type: NodePort\n")
	    SVC_N("n2", "  type: NodePort\n"));
	a = svc(&f, "alloc", "n1")->ports[0].node_port;
	b = svc(&f, "alloc", "n2")->ports[0].node_port;
	ck_assert_uint_eq(svc(&f, "alloc", "lb")->ports[0].node_port, 0);
	/* Only 30001 is free: one of them gets it, the other none. */
	ck_assert_uint_eq(a + b, 30001);
	fx_free(&f);
}
END_TEST

static Suite *
res_suite(void)
{
	Suite	*s = suite_create("res");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_named_target_port);
	tcase_add_test(tc, test_pod_readiness);
	tcase_add_test(tc, test_publish_not_ready);
	tcase_add_test(tc, test_terminating_fallback);
	tcase_add_test(tc, test_dual_stack_pod);
	tcase_add_test(tc, test_endpointslices);
	tcase_add_test(tc, test_fallback_serving_not_terminating);
	tcase_add_test(tc, test_duplicate_endpoints);
	tcase_add_test(tc, test_slices_skipped);
	tcase_add_test(tc, test_named_port_sidecar_only);
	tcase_add_test(tc, test_headless);
	tcase_add_test(tc, test_headless_slices);
	tcase_add_test(tc, test_external_name);
	tcase_add_test(tc, test_cluster_ip_alloc);
	tcase_add_test(tc, test_cluster_ip_explicit_never_taken);
	tcase_add_test(tc, test_cluster_ip_second_never_taken);
	tcase_add_test(tc, test_cluster_ip_small_cidr);
	tcase_add_test(tc, test_lb_pool_blocks);
	tcase_add_test(tc, test_node_port_alloc);
	tcase_add_test(tc, test_node_port_exhausted);
	tcase_add_test(tc, test_lb_address);
	tcase_add_test(tc, test_listeners);
	tcase_add_test(tc, test_annotations);
	tcase_add_test(tc, test_lb_algorithm);
	tcase_add_test(tc, test_lb_params_and_weights);
	tcase_add_test(tc, test_health);
	tcase_add_test(tc, test_health_defaults);
	tcase_add_test(tc, test_scale);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	tc = tcase_create("fidelity");
	tcase_add_test(tc, test_fid_external_ips_traffic_policy);
	tcase_add_test(tc, test_fid_node_port_requested_later);
	tcase_add_test(tc, test_fid_health_check_port_reserved);
	tcase_add_test(tc, test_local_client_address_default);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(res_suite());
}
