/*
 * res: validated objects to Services, listeners and endpoints, the way
 * kube-proxy sees them.
 *
 * Endpoints come from one of two places, as in Kubernetes:
 *  - a Service with a selector takes the Pods of its namespace whose
 *    labels match it (the EndpointSlice controller's job, done here
 *    through the Pod index of selector.c);
 *  - a Service without one takes the EndpointSlices of its namespace
 *    labelled kubernetes.io/service-name=<name>, as kube-proxy does for
 *    hand-written slices.
 * Conditions follow the EndpointSlice controller (ready, serving,
 * terminating) and kube-proxy's use of them (usable = ready, or when
 * nothing is ready the serving terminating endpoints).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "kobj.h"
#include "load.h"
#include "par.h"
#include "pcfg-t.h"
#include "proxyproto.h"
#include "res.h"
#include "res_alloc.h"
#include "selector.h"
#include "val.h"
#include "val_lb.h"
#include "vec.h"

#define LABEL_SERVICE_NAME	"kubernetes.io/service-name"

/* An EndpointSlice with the Service it belongs to, for lookup. */
struct slice_ref {
	const char		*ns;		/* kset arena */
	const char		*svc;		/* kset arena */
	const struct keps	*eps;		/* kset arena */
};

/* Growable scratch arrays, malloc'd, reused for every Service. */
#define SCRATCH(type)	struct { type *v; size_t n, cap; }

/* A headless Service's DNS answer with its endpoint's hostname. */
struct addr_host {
	struct ipaddr		 addr;
	const char		*host;		/* kset arena or NULL */
};

/* A selected Pod with its addresses, parsed once per Service. */
struct sel_pod {
	const struct kpod	*p;		/* kset arena */
	struct ipaddr		 ips[2];
	size_t			 nips;
};

/*
 * Everything res_build() works with; lives on its stack.  Services are
 * resolved on a few threads, each with a builder of its own: the
 * shared part (set, pcfg, the indexes) is read only, the scratch
 * arrays and the arena results go to (out) are the thread's.
 */
struct res_builder {
	const struct kset	*set;		/* borrowed */
	const struct pcfg	*pcfg;		/* borrowed */
	struct res_model	*m;		/* borrowed */
	struct arena		*out;		/* m's arena, or the thread's,
						   adopted by m's afterwards */
	struct arena		 own;		/* a thread's out */
	struct arena		 tmp;		/* owns the Pod index */
	struct sel_index	 pods;		/* borrows set's Pods */
	struct slice_ref	*slices;	/* owned; by ns, svc, name */
	size_t			 nslices;
	SCRATCH(struct sel_pod) sel;		/* owned: selected Pods */
	SCRATCH(struct res_endpoint) eps;	/* owned */
	SCRATCH(struct res_listener) lsn;	/* owned */
	SCRATCH(struct addr_host) addrs;	/* owned */
	int			 oom;
};

/* Append one element to a SCRATCH; sets b->oom and drops it on failure. */
#define PUSH(b, s, item) do {						\
	if (VEC_GROW(&(s).v, &(s).cap, (s).n + 1, 16) == -1)		\
		(b)->oom = 1;						\
	else								\
		(s).v[(s).n++] = (item);				\
} while (0)

/* n elements of src into the model's arena; NULL for none, or b->oom. */
static void *
res_copy(struct res_builder *b, const void *src, size_t n, size_t size)
{
	void *p;

	if (n == 0)
		return NULL;
	if ((p = arena_calloc(b->out, n, size)) == NULL) {
		b->oom = 1;
		return NULL;
	}
	memcpy(p, src, n * size);
	return p;
}

/* Validation defaulted every protocol; an absent one is TCP still. */
static enum proto
proto_of(const char *s)
{
	int	 p = proto_parse(s);

	return p < 0 ? PROTO_TCP : (enum proto)p;
}

static int
str_empty(const char *s)
{
	return s == NULL || *s == '\0';
}

static int
is_type(const struct res_service *s, const char *type)
{
	return strcmp(s->type, type) == 0;
}

/* ---- EndpointSlice lookup ---- */

static int
slice_cmp(const void *a, const void *b)
{
	const struct slice_ref	*x = a, *y = b;
	int			 c;

	if ((c = strcmp(x->ns, y->ns)) != 0)
		return c;
	if ((c = strcmp(x->svc, y->svc)) != 0)
		return c;
	return strcmp(x->eps->meta.name, y->eps->meta.name);
}

/* Valid, proxiable slices sorted by namespace, Service, slice name. */
static int
slices_index(struct res_builder *b)
{
	size_t		i, n = 0;
	const char	*svc;

	if (b->set->epss.n == 0)
		return 0;
	b->slices = calloc(b->set->epss.n, sizeof(*b->slices));
	if (b->slices == NULL)
		return -1;
	for (i = 0; i < b->set->epss.n; i++) {
		const struct keps *e = b->set->epss.v[i];

		if (e->invalid || e->meta.ns == NULL)
			continue;
		/* FQDN slices name hosts; kube-proxy does not proxy them. */
		if (e->address_type != NULL &&
		    strcmp(e->address_type, "FQDN") == 0)
			continue;
		svc = sel_label_get(&e->meta.labels, LABEL_SERVICE_NAME);
		if (str_empty(svc))
			continue;
		b->slices[n].ns = e->meta.ns;
		b->slices[n].svc = svc;
		b->slices[n].eps = e;
		n++;
	}
	if (n > 1)
		qsort(b->slices, n, sizeof(*b->slices), slice_cmp);
	b->nslices = n;
	return 0;
}

/* The run [*lo, *hi) of slices belonging to ns/svc. */
static void
slices_of(const struct res_builder *b, const char *ns, const char *svc,
    size_t *lo, size_t *hi)
{
	size_t l = 0, h = b->nslices, mid;

	while (l < h) {
		const struct slice_ref *r;
		int c;

		mid = l + (h - l) / 2;
		r = &b->slices[mid];
		if ((c = strcmp(r->ns, ns)) == 0)
			c = strcmp(r->svc, svc);
		if (c < 0)
			l = mid + 1;
		else
			h = mid;
	}
	*lo = l;
	for (h = l; h < b->nslices && strcmp(b->slices[h].ns, ns) == 0 &&
	    strcmp(b->slices[h].svc, svc) == 0; h++)
		;
	*hi = h;
}

/* ---- Pods ---- */

/*
 * Pod readiness as the EndpointSlice controller computes it (
 * pkg/controller/util/endpoint: ready = publishNotReadyAddresses ||
 * (podReady && !terminating), serving = podReady, terminating =
 * deletionTimestamp set).
 *
 * podReady is the Ready condition's status "True".  One difference on
 * purpose: a Pod with no conditions at all counts as ready.  Objects
 * written by hand (the usual input here) rarely carry a status, and a
 * Pod nobody reports on is taken to be running; a Pod that lists any
 * conditions but no Ready one is not ready, as in Kubernetes.
 */
static void
pod_state(const struct kpod *p, int pnra, struct res_endpoint *ep)
{
	int	ready = p->status.conditions.n == 0;
	size_t	i;

	for (i = 0; i < p->status.conditions.n; i++) {
		const struct kpod_condition *c = &p->status.conditions.v[i];

		if (c->type != NULL && strcmp(c->type, "Ready") == 0)
			ready = c->status != NULL &&
			    strcmp(c->status, "True") == 0;
	}
	ep->serving = ready;
	ep->terminating = p->meta.deletion_timestamp != NULL;
	ep->ready = pnra || (ready && !ep->terminating);
}

/* Succeeded and Failed Pods are done: never endpoints. */
static int
pod_finished(const struct kpod *p)
{
	return p->status.phase != NULL &&
	    (strcmp(p->status.phase, "Succeeded") == 0 ||
	    strcmp(p->status.phase, "Failed") == 0);
}

static int
find_port(const struct kpod_container *c, size_t n, int sidecars_only,
    const char *name, enum proto proto)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		if (sidecars_only && (c[i].restart_policy == NULL ||
		    strcmp(c[i].restart_policy, "Always") != 0))
			continue;
		for (j = 0; j < c[i].ports.n; j++) {
			const struct kpod_port *pp = &c[i].ports.v[j];

			if (pp->name != NULL && strcmp(pp->name, name) == 0 &&
			    proto_of(pp->protocol) == proto &&
			    pp->container_port.set &&
			    pp->container_port.v > 0 &&
			    pp->container_port.v <= 65535)
				return (int)pp->container_port.v;
		}
	}
	return 0;
}

/*
 * The port a Pod serves a Service port on (podutil.FindPort): a number
 * as is, a name looked up in the Pod's containers, then in its sidecar
 * (restartPolicy: Always) init containers.  0: the Pod has no such
 * port and gives no endpoint for this Service port.
 */
static int
pod_target_port(const struct kpod *p, const struct res_port *rp)
{
	int port;

	if (!rp->target_port.is_str)
		return rp->target_port.num > 0 && rp->target_port.num <= 65535 ?
		    (int)rp->target_port.num : 0;
	if (rp->target_port.str == NULL)
		return 0;
	port = find_port(p->spec.containers.v, p->spec.containers.n, 0,
	    rp->target_port.str, rp->proto);
	if (port == 0)
		port = find_port(p->spec.init_containers.v,
		    p->spec.init_containers.n, 1, rp->target_port.str,
		    rp->proto);
	return port;
}

/* Every address of a Pod (status.podIPs, else status.podIP). */
static size_t
pod_ips(const struct kpod *p, struct ipaddr out[2])
{
	size_t i, n = 0;

	for (i = 0; i < p->status.pod_ips.n && n < 2; i++)
		if (ipaddr_parse(p->status.pod_ips.v[i].ip, &out[n]) == 0)
			n++;
	if (p->status.pod_ips.n == 0 && p->status.pod_ip != NULL &&
	    ipaddr_parse(p->status.pod_ip, &out[0]) == 0)
		n = 1;
	return n;
}

static void
pods_select(struct res_builder *b, const struct ksvc *ks)
{
	struct sel_iter		 it;
	struct sel_pod		 sp;
	const struct kpod	*p;

	b->sel.n = 0;
	sel_iter_map(&it, &b->pods, ks->meta.ns, &ks->spec.selector);
	while ((p = sel_iter_next(&it)) != NULL)
		if (!pod_finished(p)) {
			sp.p = p;
			sp.nips = pod_ips(p, sp.ips);
			PUSH(b, b->sel, sp);
		}
}

/*
 * svcproxy.io/weight of a Pod or an EndpointSlice: 1 when absent (or
 * invalid: validation has reported it and marked the object, which is
 * then not used).
 */
static uint32_t
meta_weight(const struct kmeta *meta)
{
	const char	*v;
	uint32_t	 w;

	if ((v = sel_label_get(&meta->annotations, ANN_WEIGHT)) == NULL ||
	    val_lb_parse_weight(v, &w) == -1)
		return 1;
	return w;
}

/*
 * A Pod's endpoint is named by its spec.hostname when its spec.subdomain
 * is the Service's name in the same namespace (ShouldSetHostname in
 * pkg/controller/util/endpoint): the DNS name HOSTNAME.SERVICE.NS.svc.
 */
static const char *
pod_hostname(const struct kpod *p, const struct res_service *s)
{
	const struct kpod_spec *sp = &p->spec;

	if (str_empty(sp->hostname) || sp->subdomain == NULL ||
	    strcmp(sp->subdomain, s->name) != 0 || p->meta.ns == NULL ||
	    strcmp(p->meta.ns, s->ns) != 0)
		return NULL;
	return sp->hostname;
}

static void
pod_endpoints(struct res_builder *b, const struct res_service *s,
    const struct res_port *rp, int pnra)
{
	struct res_endpoint	ep;
	const struct ipaddr	*ips;
	size_t			i, j, n;
	int			port;

	for (i = 0; i < b->sel.n; i++) {
		const struct kpod *p = b->sel.v[i].p;

		ips = b->sel.v[i].ips;
		if ((n = b->sel.v[i].nips) == 0 ||
		    (port = pod_target_port(p, rp)) == 0)
			continue;
		memset(&ep, 0, sizeof(ep));
		pod_state(p, pnra, &ep);
		ep.port = (uint16_t)port;
		ep.pod = p->meta.name;
		ep.pod_ns = p->meta.ns;
		ep.hostname = pod_hostname(p, s);
		ep.weight = meta_weight(&p->meta);
		for (j = 0; j < n; j++) {
			ep.addr = ips[j];
			PUSH(b, b->eps, ep);
		}
	}
}

/* ---- EndpointSlices ---- */

static int
slice_port_matches(const struct keps_port *sp, const struct res_port *rp)
{
	const char *name = sp->name != NULL ? sp->name : "";

	return strcmp(name, rp->name) == 0 &&
	    proto_of(sp->protocol) == rp->proto;
}

/*
 * Conditions as the EndpointSlice API documents them: ready nil means
 * ready, serving nil means "same as ready", terminating nil means not
 * terminating.  kube-proxy itself reads a nil serving as true
 * (endpointslicecache.go); the two differ only for a hand-written
 * endpoint that is not ready, terminating and silent on serving, which
 * kube-proxy would use in the terminating fallback and this does not.
 */
static void
slice_state(const struct keps_endpoint *e, int pnra, struct res_endpoint *ep)
{
	const struct keps_conditions *c = &e->conditions;

	ep->ready = c->ready.set ? c->ready.v != 0 : 1;
	ep->serving = c->serving.set ? c->serving.v != 0 : ep->ready;
	ep->terminating = c->terminating.set ? c->terminating.v != 0 : 0;
	if (pnra)
		ep->ready = 1;
}

static void
slice_target(const struct keps *s, const struct keps_endpoint *e,
    struct res_endpoint *ep)
{
	const struct keps_ref *r = &e->target_ref;

	if (r->kind == NULL || strcmp(r->kind, "Pod") != 0 ||
	    str_empty(r->name))
		return;
	ep->pod = r->name;
	ep->pod_ns = !str_empty(r->ns) ? r->ns : s->meta.ns;
}

/*
 * Endpoints of one Service port from its slices.  kube-proxy uses only
 * an endpoint's first address (the others are "for future use" in the
 * EndpointSlice API) and skips ports without a number.
 */
static void
slice_endpoints(struct res_builder *b, size_t lo, size_t hi,
    const struct res_port *rp, int pnra)
{
	struct res_endpoint	ep;
	size_t			i, j, k;

	for (i = lo; i < hi; i++) {
		const struct keps *s = b->slices[i].eps;

		for (j = 0; j < s->ports.n; j++)
			if (slice_port_matches(&s->ports.v[j], rp))
				break;
		if (j == s->ports.n || !s->ports.v[j].port.set ||
		    s->ports.v[j].port.v <= 0 || s->ports.v[j].port.v > 65535)
			continue;
		for (k = 0; k < s->endpoints.n; k++) {
			const struct keps_endpoint *e = &s->endpoints.v[k];

			memset(&ep, 0, sizeof(ep));
			if (e->addresses.n == 0 ||
			    ipaddr_parse(e->addresses.v[0], &ep.addr) == -1)
				continue;
			ep.port = (uint16_t)s->ports.v[j].port.v;
			ep.hostname = e->hostname;
			ep.weight = meta_weight(&s->meta);
			slice_state(e, pnra, &ep);
			slice_target(s, e, &ep);
			PUSH(b, b->eps, ep);
		}
	}
}

/* ---- endpoints: order, duplicates, usable ---- */

static int
str_cmp_null(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return (a != NULL) - (b != NULL);
	return strcmp(a, b);
}

/*
 * ip, port; among duplicates (one address in two slices, or a new Pod
 * given the address of one still terminating) the one kube-proxy keeps
 * first: a non-terminating endpoint over a terminating one, whatever
 * their readiness (addEndpoints in pkg/proxy/endpointslicecache.go:
 * the address now belongs to the running Pod), then the best
 * conditions, then the Pod.
 */
static int
ep_cmp(const void *a, const void *b)
{
	const struct res_endpoint	*x = a, *y = b;
	int				 c;

	if ((c = ipaddr_cmp(&x->addr, &y->addr)) != 0)
		return c;
	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	if (x->terminating != y->terminating)
		return x->terminating ? 1 : -1;
	if (x->ready != y->ready)
		return x->ready ? -1 : 1;
	if (x->serving != y->serving)
		return x->serving ? -1 : 1;
	if ((c = str_cmp_null(x->pod_ns, y->pod_ns)) != 0)
		return c;
	return str_cmp_null(x->pod, y->pod);
}

/*
 * Sort and de-duplicate b->eps, then mark usable ones as kube-proxy's
 * CategorizeEndpoints does: the ready endpoints; when none is ready,
 * the ones both serving and terminating (graceful termination), so a
 * rollout's last Pods keep taking traffic until they are gone.
 */
static void
eps_finish(struct res_builder *b, struct res_port *rp)
{
	size_t	i, n = 0, nready = 0;

	if (b->eps.n > 1)
		qsort(b->eps.v, b->eps.n, sizeof(*b->eps.v), ep_cmp);
	for (i = 0; i < b->eps.n; i++) {
		if (n > 0 && ipaddr_equal(&b->eps.v[n - 1].addr,
		    &b->eps.v[i].addr) && b->eps.v[n - 1].port ==
		    b->eps.v[i].port)
			continue;
		b->eps.v[n++] = b->eps.v[i];
	}
	b->eps.n = n;
	for (i = 0; i < n; i++)
		nready += b->eps.v[i].ready;
	rp->nusable = 0;
	for (i = 0; i < n; i++) {
		struct res_endpoint *ep = &b->eps.v[i];

		ep->usable = nready > 0 ? ep->ready :
		    (ep->serving && ep->terminating);
		rp->nusable += ep->usable;
	}
	rp->endpoints = res_copy(b, b->eps.v, n, sizeof(*b->eps.v));
	rp->nendpoints = rp->endpoints != NULL ? n : 0;
}

/* ---- listeners ---- */

static void
res_lsn_add(struct res_builder *b, enum res_listener_kind kind,
    const struct ipaddr *addr, uint16_t port, enum proto proto)
{
	struct res_listener l;

	memset(&l, 0, sizeof(l));
	l.kind = kind;
	l.addr = *addr;
	l.port = port;
	l.proto = proto;
	PUSH(b, b->lsn, l);
}

/* Address, port, protocol; for duplicates the lowest kind first. */
static int
res_lsn_cmp(const void *a, const void *b)
{
	const struct res_listener	*x = a, *y = b;
	int				 c;

	if ((c = ipaddr_cmp(&x->addr, &y->addr)) != 0)
		return c;
	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	return (int)x->kind - (int)y->kind;
}

static int
same_socket(const struct res_listener *x, const struct res_listener *y)
{
	return ipaddr_equal(&x->addr, &y->addr) && x->port == y->port &&
	    x->proto == y->proto;
}

/*
 * What kube-proxy opens for one Service port: the ClusterIP, each
 * externalIP, the load-balancer address, and the NodePort on every node
 * address (or on the unspecified address of both families when
 * ProxyConfig names none: "all node addresses").  A NodePort the spec
 * names explicitly is served even with allocateLoadBalancerNodePorts
 * false, as kube-proxy serves any non-zero nodePort.
 */
static void
port_listeners(struct res_builder *b, const struct res_service *s,
    struct res_port *rp)
{
	const struct pcfg	*pc = b->pcfg;
	struct ipaddr		 any;
	size_t			 i, n;

	b->lsn.n = 0;
	if (s->cluster_ip.family != 0)
		res_lsn_add(b, RES_LSN_CLUSTER_IP, &s->cluster_ip, rp->port,
		    rp->proto);
	if (s->cluster_ip2.family != 0)
		res_lsn_add(b, RES_LSN_CLUSTER_IP, &s->cluster_ip2, rp->port,
		    rp->proto);
	for (i = 0; i < s->nexternal_ips; i++)
		res_lsn_add(b, RES_LSN_EXTERNAL_IP, &s->external_ips[i],
		    rp->port, rp->proto);
	if (is_type(s, "LoadBalancer") && s->lb_ip.family != 0)
		res_lsn_add(b, RES_LSN_LOAD_BALANCER, &s->lb_ip, rp->port,
		    rp->proto);
	if (rp->node_port != 0 && (is_type(s, "NodePort") ||
	    is_type(s, "LoadBalancer"))) {
		for (i = 0; i < pc->nnode_addresses; i++)
			res_lsn_add(b, RES_LSN_NODE_PORT,
			    &pc->node_addresses[i], rp->node_port, rp->proto);
		if (pc->nnode_addresses == 0) {
			memset(&any, 0, sizeof(any));
			any.family = AF_INET;
			res_lsn_add(b, RES_LSN_NODE_PORT, &any, rp->node_port,
			    rp->proto);
			any.family = AF_INET6;
			res_lsn_add(b, RES_LSN_NODE_PORT, &any, rp->node_port,
			    rp->proto);
		}
	}
	if (b->lsn.n > 1)
		qsort(b->lsn.v, b->lsn.n, sizeof(*b->lsn.v), res_lsn_cmp);
	/* One socket once, under the first kind that asked for it. */
	for (i = 0, n = 0; i < b->lsn.n; i++) {
		if (n > 0 && same_socket(&b->lsn.v[n - 1], &b->lsn.v[i]))
			continue;
		b->lsn.v[n++] = b->lsn.v[i];
	}
	rp->listeners = res_copy(b, b->lsn.v, n, sizeof(*b->lsn.v));
	rp->nlisteners = rp->listeners != NULL ? n : 0;
}

/* ---- headless addresses ---- */

/* By address; of one address's entries, a named one first. */
static int
addr_host_cmp(const void *a, const void *b)
{
	const struct addr_host	*x = a, *y = b;
	int			 c;

	if ((c = ipaddr_cmp(&x->addr, &y->addr)) != 0)
		return c;
	if ((x->host == NULL) != (y->host == NULL))
		return x->host == NULL ? 1 : -1;
	return str_cmp_null(x->host, y->host);
}

static void
addr_push(struct res_builder *b, const struct ipaddr *ip, const char *host)
{
	struct addr_host ah;

	ah.addr = *ip;
	ah.host = host;
	PUSH(b, b->addrs, ah);
}

/*
 * A headless Service's DNS answers: the addresses of its ready
 * endpoints (all of them with publishNotReadyAddresses), whatever its
 * ports; a selected Pod counts even when it lacks a named port.  Each
 * with its endpoint's hostname (an address named twice keeps the
 * first name in byte order).
 */
static void
headless_addresses(struct res_builder *b, struct res_service *s, int pnra,
    size_t lo, size_t hi, int from_pods)
{
	struct res_endpoint	ep;
	struct ipaddr		ips[2];
	const char		*host;
	size_t			i, j, k, n;

	b->addrs.n = 0;
	for (i = 0; from_pods && i < b->sel.n; i++) {
		const struct sel_pod *sp = &b->sel.v[i];

		memset(&ep, 0, sizeof(ep));
		pod_state(sp->p, pnra, &ep);
		host = pod_hostname(sp->p, s);
		for (j = 0; ep.ready && j < sp->nips; j++)
			addr_push(b, &sp->ips[j], host);
	}
	for (i = lo; !from_pods && i < hi; i++) {
		const struct keps *sl = b->slices[i].eps;

		for (j = 0; j < sl->endpoints.n; j++) {
			const struct keps_endpoint *e = &sl->endpoints.v[j];

			slice_state(e, pnra, &ep);
			for (k = 0; ep.ready && k < e->addresses.n; k++)
				if (ipaddr_parse(e->addresses.v[k],
				    &ips[0]) == 0)
					addr_push(b, &ips[0], e->hostname);
		}
	}
	if (b->addrs.n > 1)
		qsort(b->addrs.v, b->addrs.n, sizeof(*b->addrs.v),
		    addr_host_cmp);
	for (i = 0, n = 0; i < b->addrs.n; i++)
		if (n == 0 || !ipaddr_equal(&b->addrs.v[n - 1].addr,
		    &b->addrs.v[i].addr))
			b->addrs.v[n++] = b->addrs.v[i];
	s->naddresses = 0;
	if (n == 0)
		return;
	s->addresses = arena_calloc(b->out, n, sizeof(*s->addresses));
	s->address_hosts = arena_calloc(b->out, n,
	    sizeof(*s->address_hosts));
	if (s->addresses == NULL || s->address_hosts == NULL) {
		b->oom = 1;
		return;
	}
	for (i = 0; i < n; i++) {
		s->addresses[i] = b->addrs.v[i].addr;
		s->address_hosts[i] = b->addrs.v[i].host;
	}
	s->naddresses = n;
}

/* ---- Service basics: what the spec says, before allocation ---- */

static void
svc_ports(struct res_builder *b, struct res_service *s, const struct ksvc *ks)
{
	size_t i;

	s->nports = ks->spec.ports.n;
	if (s->nports == 0)
		return;
	s->ports = arena_calloc(b->out, s->nports, sizeof(*s->ports));
	if (s->ports == NULL) {
		b->oom = 1;
		s->nports = 0;
		return;
	}
	for (i = 0; i < s->nports; i++) {
		const struct ksvc_port	*kp = &ks->spec.ports.v[i];
		struct res_port		*rp = &s->ports[i];

		rp->name = kp->name != NULL ? kp->name : "";
		rp->proto = proto_of(kp->protocol);
		rp->port = (uint16_t)kp->port.v;
		rp->target_port = kp->target_port;
		if (!rp->target_port.set) {
			/* val defaults it; keep the rule if it did not. */
			rp->target_port.set = 1;
			rp->target_port.num = kp->port.v;
		}
		if (kp->node_port.set && kp->node_port.v > 0 &&
		    kp->node_port.v <= 65535)
			rp->node_port = (uint16_t)kp->node_port.v;
	}
}

static void
svc_ips(struct res_builder *b, struct res_service *s, const struct ksvc *ks)
{
	const struct kstrlist	*l;
	size_t			 i, n;

	l = &ks->spec.external_ips;
	if (l->n > 0 && (s->external_ips = arena_calloc(b->out, l->n,
	    sizeof(*s->external_ips))) == NULL)
		b->oom = 1;
	for (i = 0, n = 0; s->external_ips != NULL && i < l->n; i++)
		if (ipaddr_parse(l->v[i], &s->external_ips[n]) == 0)
			n++;
	s->nexternal_ips = n;
	l = &ks->spec.load_balancer_source_ranges;
	if (l->n > 0 && (s->lb_source_ranges = arena_calloc(b->out,
	    l->n, sizeof(*s->lb_source_ranges))) == NULL)
		b->oom = 1;
	for (i = 0, n = 0; s->lb_source_ranges != NULL && i < l->n; i++)
		if (cidr_parse(l->v[i], &s->lb_source_ranges[n], 0) == 0)
			n++;
	s->nlb_source_ranges = n;
}

/*
 * The address a LoadBalancer Service already has: spec.loadBalancerIP,
 * else the first status.loadBalancer.ingress[].ip.  res_alloc() picks
 * one from the pool otherwise.
 */
static void
svc_lb_ip(struct res_service *s, const struct ksvc *ks)
{
	size_t i;

	if (!is_type(s, "LoadBalancer"))
		return;
	if (ipaddr_parse(ks->spec.load_balancer_ip, &s->lb_ip) == 0)
		return;
	for (i = 0; i < ks->status.load_balancer.ingress.n; i++)
		if (ipaddr_parse(ks->status.load_balancer.ingress.v[i].ip,
		    &s->lb_ip) == 0)
			return;
	memset(&s->lb_ip, 0, sizeof(s->lb_ip));
}

/*
 * Health settings: the ProxyConfig's, each overridden by its annotation
 * (validated already; strings stay in the kset arena).  A timeout given
 * nowhere is the interval in force.
 */
static void
svc_health(struct res_service *s, const struct kstrmap *ann,
    const struct pcfg *pc)
{
	size_t i;

	s->hc = pc->hc;
	for (i = 0; i < ann->n; i++)
		val_hc_apply(&s->hc, ann->v[i].key, ann->v[i].value);
	if (s->hc.check.timeout_ms == 0)
		s->hc.check.timeout_ms = s->hc.check.interval_ms;
}

/*
 * externalTrafficPolicy: Local asks that the client's address reach the
 * backends (at the edge there are no node-local endpoints to keep it):
 * ProxyConfig's spec.localTrafficClientAddress is the method of a Local
 * Service that has none and names none (an explicit
 * svcproxy.io/proxy-protocol: none or source-address: proxy stands).
 */
static void
svc_local_ca(struct res_service *s, const struct kstrmap *ann,
    const struct pcfg *pc)
{
	if (!s->proxied || s->external_traffic_policy == NULL ||
	    strcmp(s->external_traffic_policy, "Local") != 0 ||
	    pc->local_ca == PCFG_LOCAL_CA_NONE ||
	    s->proxy_protocol != PP_NONE || s->transparent ||
	    sel_label_get(ann, ANN_PROXY_PROTOCOL) != NULL ||
	    sel_label_get(ann, ANN_SOURCE_ADDRESS) != NULL)
		return;
	switch (pc->local_ca) {
	case PCFG_LOCAL_CA_PP_V1:
		s->proxy_protocol = PP_V1;
		break;
	case PCFG_LOCAL_CA_PP_V2:
		s->proxy_protocol = PP_V2;
		break;
	case PCFG_LOCAL_CA_TRANSPARENT:
		s->transparent = 1;
		break;
	case PCFG_LOCAL_CA_NONE:
		return;
	}
	s->ca_defaulted = 1;
}

static void
svc_annotations(struct res_service *s, const struct ksvc *ks,
    const struct pcfg *pc)
{
	const struct kstrmap	*ann = &ks->meta.annotations;
	const char		*v;
	uint32_t		 ms;
	int64_t			 n;

	if ((v = sel_label_get(ann, ANN_IDLE_TIMEOUT)) != NULL &&
	    val_parse_duration(v, &ms) == 0)
		s->idle_timeout_ms = ms;
	if ((v = sel_label_get(ann, ANN_CONNECT_TIMEOUT)) != NULL &&
	    val_parse_duration(v, &ms) == 0)
		s->connect_timeout_ms = ms;
	if ((v = sel_label_get(ann, ANN_MAX_CONNECTIONS)) != NULL &&
	    kobj_parse_int(v, &n) == 0 && n > 0 && n <= UINT32_MAX)
		s->max_connections = (uint32_t)n;
	/* UDP (validated in val_service.c): */
	if ((v = sel_label_get(ann, ANN_UDP_IDLE_TIMEOUT)) != NULL &&
	    val_parse_duration(v, &ms) == 0)
		s->udp_idle_timeout_ms = ms;
	if ((v = sel_label_get(ann, ANN_UDP_RESPONSES)) != NULL &&
	    kobj_parse_int(v, &n) == 0 && n >= 0 && n <= UINT32_MAX)
		s->udp_responses = (uint32_t)n;
	if ((v = sel_label_get(ann, ANN_UDP_MAX_FLOWS)) != NULL &&
	    kobj_parse_int(v, &n) == 0 && n > 0 && n <= UINT32_MAX)
		s->udp_max_flows = (uint32_t)n;
	/* Validated: a name lb_find() knows. */
	if ((s->lb_algorithm = sel_label_get(ann, ANN_LB_ALGORITHM)) == NULL)
		s->lb_algorithm = pc->lb_algorithm;
	s->hash_key = pc->hash_key;
	if ((v = sel_label_get(ann, ANN_HASH_KEY)) != NULL)
		(void)val_lb_parse_hash_key(v, &s->hash_key);
	s->maglev_table_size = pc->maglev_table_size;
	if ((v = sel_label_get(ann, ANN_MAGLEV_TABLE)) != NULL &&
	    val_lb_parse_count(v, &n) == 0 && n > 0 && n <= UINT32_MAX &&
	    val_lb_is_prime((uint64_t)n))
		s->maglev_table_size = (uint32_t)n;
	s->affinity_max = pc->affinity_max;
	if ((v = sel_label_get(ann, ANN_AFFINITY_MAX)) != NULL &&
	    val_lb_parse_count(v, &n) == 0 && n > 0 && n <= UINT32_MAX)
		s->affinity_max = (uint32_t)n;
	s->proxy_protocol = pc->proxy_protocol;
	if ((v = sel_label_get(ann, ANN_PROXY_PROTOCOL)) != NULL)
		(void)pp_version_parse(v, &s->proxy_protocol);	/* validated */
	s->accept_proxy = (v = sel_label_get(ann,
	    ANN_ACCEPT_PROXY_PROTOCOL)) != NULL && strcmp(v, "true") == 0;
	s->transparent = (v = sel_label_get(ann, ANN_SOURCE_ADDRESS)) !=
	    NULL && strcmp(v, "client") == 0;
	svc_local_ca(s, ann, pc);
	svc_health(s, ann, pc);
	/*
	 * Checks speak the Service's PROXY protocol, as HAProxy's do by
	 * default, unless they go to a port of their own: that is
	 * likely another listener, which may not expect the header.
	 */
	if (s->hc.check.port == 0)
		s->hc.check.proxy = (uint8_t)s->proxy_protocol;
}

/*
 * ExternalName with svcproxy.io/proxy-external-name: "true" (README,
 * "ExternalName").  Such a Service has no clusterIP (validation forbids
 * one), and no nodePort, so the addresses it is served on are its
 * spec.externalIPs; without them, or without ports, there is nothing
 * to listen on, and xn_why says so (check and resolve print it).  The
 * endpoints are the name's A and AAAA records, resolved at run time
 * (extname.h), on each port's targetPort.
 */
static void
svc_external_name(struct res_service *s, const struct ksvc *ks)
{
	const char	*v;

	if (!is_type(s, "ExternalName"))
		return;
	v = sel_label_get(&ks->meta.annotations, ANN_PROXY_EXTERNAL_NAME);
	if (v == NULL || strcmp(v, "true") != 0) {
		s->xn_why = "no annotation " ANN_PROXY_EXTERNAL_NAME
		    ": \"true\" (a DNS alias only)";
		return;
	}
	if (s->nports == 0)
		s->xn_why = "it has no spec.ports";
	else if (s->nexternal_ips == 0)
		s->xn_why = "it has no spec.externalIPs to listen on (an "
		    "ExternalName Service has no clusterIP)";
	else if (s->external_name == NULL || *s->external_name == '\0')
		s->xn_why = "it has no spec.externalName";
	else
		s->xn_proxy = 1;	/* proxied once allocation has run:
					   it must get no clusterIP */
}

/*
 * An ExternalName port's target: targetPort when it is a number, else
 * the port (a named port needs Pods, and there are none).
 */
static void
xn_target_ports(struct res_service *s)
{
	size_t i;

	for (i = 0; i < s->nports; i++) {
		struct res_port *rp = &s->ports[i];

		if (rp->target_port.is_str || rp->target_port.num <= 0 ||
		    rp->target_port.num > 65535) {
			rp->target_port.is_str = 0;
			rp->target_port.str = NULL;
			rp->target_port.num = rp->port;
		}
	}
}

static void
svc_basics(struct res_builder *b, struct res_service *s, const struct ksvc *ks)
{
	const struct ksvc_spec	*sp = &ks->spec;
	const char		*cip = sp->cluster_ip;

	s->src = ks;
	s->ns = ks->meta.ns;
	s->name = ks->meta.name;
	s->type = sp->type != NULL ? sp->type : "ClusterIP";
	if (str_empty(cip) && sp->cluster_ips.n > 0)
		cip = sp->cluster_ips.v[0];
	if (is_type(s, "ExternalName"))
		s->external_name = sp->external_name;
	else if (cip != NULL && strcmp(cip, "None") == 0)
		s->headless = 1;
	else if (!str_empty(cip))
		ipaddr_parse(cip, &s->cluster_ip);
	/* Validated: [0] is clusterIP, [1] the other family's. */
	if (s->cluster_ip.family != 0 && sp->cluster_ips.n > 1)
		ipaddr_parse(sp->cluster_ips.v[1], &s->cluster_ip2);
	s->proxied = !s->headless && s->external_name == NULL &&
	    !is_type(s, "ExternalName");
	s->session_affinity = sp->session_affinity != NULL ?
	    sp->session_affinity : "None";
	if (strcmp(s->session_affinity, "ClientIP") == 0)
		s->affinity_timeout =
		    sp->session_affinity_config.client_ip.timeout_seconds.set ?
		    (int)sp->session_affinity_config.client_ip.
		    timeout_seconds.v : SVC_DEFAULT_AFFINITY_TIMEOUT;
	/* Validation defaulted it wherever the Service is externally
	   accessible (SetDefaults_Service), ClusterIP with externalIPs
	   included; NULL elsewhere. */
	s->external_traffic_policy = sp->external_traffic_policy;
	if (is_type(s, "LoadBalancer"))
		s->allocate_lb_node_ports =
		    sp->allocate_load_balancer_node_ports.set ?
		    sp->allocate_load_balancer_node_ports.v != 0 : 1;
	svc_ips(b, s, ks);
	svc_lb_ip(s, ks);
	svc_annotations(s, ks, b->pcfg);
	svc_ports(b, s, ks);
	svc_external_name(s, ks);
}

/* Endpoints, listeners and DNS answers of one Service after allocation. */
static void
svc_resolve(struct res_builder *b, struct res_service *s)
{
	const struct ksvc	*ks = s->src;
	int			 pnra, from_pods;
	size_t			 i, lo = 0, hi = 0;

	if (s->xn_proxy) {
		s->proxied = 1;
		xn_target_ports(s);
		for (i = 0; i < s->nports; i++)
			port_listeners(b, s, &s->ports[i]);
	}
	if (is_type(s, "ExternalName"))
		return;
	pnra = ks->spec.publish_not_ready_addresses.set &&
	    ks->spec.publish_not_ready_addresses.v;
	from_pods = ks->spec.selector.n > 0;
	if (from_pods)
		pods_select(b, ks);
	else
		slices_of(b, s->ns, s->name, &lo, &hi);
	for (i = 0; i < s->nports; i++) {
		struct res_port *rp = &s->ports[i];

		b->eps.n = 0;
		if (from_pods)
			pod_endpoints(b, s, rp, pnra);
		else
			slice_endpoints(b, lo, hi, rp, pnra);
		eps_finish(b, rp);
		if (s->proxied)
			port_listeners(b, s, rp);
	}
	if (s->headless)
		headless_addresses(b, s, pnra, lo, hi, from_pods);
}

static int
svc_cmp(const void *a, const void *b)
{
	const struct res_service	*x = a, *y = b;
	int				 c;

	if ((c = strcmp(x->ns, y->ns)) != 0)
		return c;
	return strcmp(x->name, y->name);
}

static void
build_free(struct res_builder *b)
{
	free(b->slices);
	free(b->sel.v);
	free(b->eps.v);
	free(b->lsn.v);
	free(b->addrs.v);
	arena_free(&b->tmp);
}

/* ---- on threads ---- */

/*
 * The indexes (chunk 0: Pods, 1: slices) are built on a thread while
 * this one sets the Services up and allocates; then the Services are
 * resolved in chunks on a few threads.  Below these counts a thread
 * costs more than it saves.
 */
#define RES_INDEX_MIN_THREAD	8192	/* Pods and slices */
#define RES_SVC_CHUNK		32
#define RES_SVC_MIN_THREAD	512

struct index_job {
	struct res_builder	*b;
	int			 rc[2];
};

static void
index_chunk(void *arg, size_t chunk, size_t worker, struct diag_list *diags)
{
	struct index_job	*ij = arg;
	struct res_builder	*b = ij->b;

	(void)worker;
	(void)diags;
	if (chunk == 0)
		ij->rc[0] = sel_index_build(&b->pods, &b->tmp, b->set->pods.v,
		    b->set->pods.n);
	else
		ij->rc[1] = slices_index(b);
}

/* Worker i's builder: builders[0] is res_build()'s own. */
struct svc_job {
	struct res_builder	*builders;
	struct res_model	*m;
	size_t			 chunk;		/* Services a chunk */
};

static void
svc_chunk(void *arg, size_t chunk, size_t worker, struct diag_list *diags)
{
	struct svc_job		*sj = arg;
	struct res_builder	*b = &sj->builders[worker];
	size_t			 i;

	(void)diags;
	for (i = chunk * sj->chunk; i < (chunk + 1) * sj->chunk &&
	    i < sj->m->nservices && !b->oom; i++)
		svc_resolve(b, &sj->m->services[i]);
}

/*
 * Resolve every Service: workers 1.. get builders that share b's
 * indexes, with scratch and an arena of their own, which m's arena
 * adopts afterwards.  Returns -1 when any of them ran out of memory.
 */
static int
resolve_all(struct res_builder *b, struct diag_list *diags)
{
	struct res_builder	wb[PAR_MAX_THREADS];
	struct svc_job		sj;
	size_t			i, nthreads, nchunks;
	int			oom = 0;

	nthreads = par_threads(b->m->nservices, RES_SVC_MIN_THREAD);
	sj.chunk = par_chunk(b->m->nservices, nthreads, RES_SVC_CHUNK);
	nchunks = (b->m->nservices + sj.chunk - 1) / sj.chunk;
	wb[0] = *b;
	for (i = 1; i < nthreads; i++) {
		memset(&wb[i], 0, sizeof(wb[i]));
		wb[i].set = b->set;
		wb[i].pcfg = b->pcfg;
		wb[i].m = b->m;
		wb[i].pods = b->pods;
		wb[i].slices = b->slices;
		wb[i].nslices = b->nslices;
		arena_init(&wb[i].own, 0);
		wb[i].out = &wb[i].own;
	}
	sj.builders = wb;
	sj.m = b->m;
	par_run(nthreads, nchunks, svc_chunk, &sj, diags);
	*b = wb[0];	/* its scratch may have grown */
	oom = b->oom;
	for (i = 1; i < nthreads; i++) {
		oom |= wb[i].oom;
		arena_adopt(&b->m->arena, &wb[i].own);
		free(wb[i].sel.v);
		free(wb[i].eps.v);
		free(wb[i].lsn.v);
		free(wb[i].addrs.v);
	}
	return oom ? -1 : 0;
}

int
res_build(const struct kset *set, const struct pcfg *pcfg,
    struct res_model *m, struct diag_list *diags)
{
	struct res_builder	b;
	struct index_job	ij;
	struct par_job		job;
	size_t			i, n = 0;
	int			rc;

	memset(m, 0, sizeof(*m));
	arena_init(&m->arena, 0);
	m->pcfg = pcfg;
	m->set = set;
	memset(&b, 0, sizeof(b));
	b.set = set;
	b.pcfg = pcfg;
	b.m = m;
	b.out = &m->arena;
	arena_init(&b.tmp, 0);
	ij.b = &b;
	ij.rc[0] = ij.rc[1] = 0;
	par_start(&job, par_threads(set->pods.n + set->epss.n,
	    RES_INDEX_MIN_THREAD), 2, index_chunk, &ij, diags);
	for (i = 0; i < set->svcs.n; i++)
		n += !set->svcs.v[i]->invalid;
	if (n > 0 && (m->services = arena_calloc(&m->arena, n,
	    sizeof(*m->services))) == NULL)
		b.oom = 1;
	for (i = 0; i < set->svcs.n && !b.oom; i++)
		if (!set->svcs.v[i]->invalid)
			svc_basics(&b, &m->services[m->nservices++],
			    set->svcs.v[i]);
	/* Allocation walks them in this order: keep it ns/name. */
	if (m->nservices > 1)
		qsort(m->services, m->nservices, sizeof(*m->services),
		    svc_cmp);
	rc = b.oom ? -1 : res_alloc(m, pcfg, diags);
	par_finish(&job, diags);
	if (rc == -1 || ij.rc[0] == -1 || ij.rc[1] == -1 ||
	    resolve_all(&b, diags) == -1)
		goto fail;
	build_free(&b);
	return 0;
fail:
	build_free(&b);
	res_free(m);
	return -1;
}

void
res_free(struct res_model *m)
{
	arena_free(&m->arena);
	memset(m, 0, sizeof(*m));
}
