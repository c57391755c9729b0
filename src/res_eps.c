/*
 * res_eps: the endpoints of a Service port, the way kube-proxy sees
 * them.
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

#include "pcfg-t.h"
#include "res_int.h"
#include "selector.h"
#include "val_lb.h"

#define LABEL_SERVICE_NAME	"kubernetes.io/service-name"

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
int
res_slices_index(struct res_builder *b)
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
void
res_slices_of(const struct res_builder *b, const char *ns, const char *svc,
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

void
res_pods_select(struct res_builder *b, const struct ksvc *ks)
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

void
res_pod_endpoints(struct res_builder *b, const struct res_service *s,
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
void
res_slice_endpoints(struct res_builder *b, size_t lo, size_t hi,
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
void
res_eps_finish(struct res_builder *b, struct res_port *rp)
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
void
res_headless_addresses(struct res_builder *b, struct res_service *s,
    int pnra, size_t lo, size_t hi, int from_pods)
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
