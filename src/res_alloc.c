/*
 * res_alloc: the addresses and ports an API server would have assigned.
 *
 * svcproxy has no API server and no etcd to remember an allocation, so
 * each one is a function of the objects alone, recomputed on every load:
 *
 *  1. every explicit value is reserved first (spec.clusterIP, each
 *     spec.ports[].nodePort, a LoadBalancer's healthCheckNodePort,
 *     spec.loadBalancerIP and the status's ingress IP), so an allocated
 *     value never takes one somebody wrote;
 *  2. then Services are visited in namespace/name order and each
 *     missing value starts at an FNV-1a hash of the Service's identity
 *     ("namespace/name" for addresses, "namespace/name/port/PROTOCOL"
 *     for NodePorts) modulo the range, probing upward to the first free
 *     value and wrapping at the end of the range.
 *
 * The same objects therefore always give the same answer, whatever the
 * file order.  An allocation changes only when its start value is taken
 * by something new: an explicit value added to some Service, or a new
 * Service that sorts earlier and hashes to the same start (or into the
 * run of taken values being probed).  Hashing rather than counting from
 * the start of the range keeps that rare: with sequential allocation
 * every Service sorting after a new one would move.  A Service that
 * must never move should state its clusterIP / nodePort, as in
 * Kubernetes.
 *
 * Ranges: the service CIDR without its network address (offset 0, as
 * Kubernetes reserves it) and, for IPv4, without the broadcast address;
 * NodePorts over ProxyConfig's nodePortRange (both ends included);
 * load-balancer addresses over every address of the loadBalancerPool
 * blocks in order (a pool lists addresses to hand out, so a /32 is one
 * usable address).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "hash.h"
#include "kobj.h"
#include "pcfg-t.h"
#include "res-t.h"
#include "res_alloc.h"

/* ---- a set of addresses: open addressing, family 0 marks a hole ---- */

struct ipset {
	struct ipaddr	*v;		/* owned */
	size_t		 cap;		/* power of two */
	size_t		 n;
};

static int
ipset_init(struct ipset *s, size_t expect)
{
	s->n = 0;
	for (s->cap = 16; s->cap < expect * 2; s->cap *= 2)
		;
	s->v = calloc(s->cap, sizeof(*s->v));
	return s->v != NULL ? 0 : -1;
}

static size_t
ipset_slot(const struct ipset *s, const struct ipaddr *a)
{
	uint64_t	h;
	size_t		i;

	h = fnv1a64_buf(FNV1A64_INIT, a->b, sizeof(a->b));
	h ^= (uint64_t)a->family;
	for (i = (size_t)h & (s->cap - 1); s->v[i].family != 0 &&
	    !ipaddr_equal(&s->v[i], a); i = (i + 1) & (s->cap - 1))
		;
	return i;
}

static int
ipset_has(const struct ipset *s, const struct ipaddr *a)
{
	return s->v[ipset_slot(s, a)].family != 0;
}

/* Add a (a no-op when present); -1 when out of memory. */
static int
ipset_add(struct ipset *s, const struct ipaddr *a)
{
	size_t i;

	if ((s->n + 1) * 2 > s->cap) {
		struct ipset	ns;
		size_t		j;

		if (ipset_init(&ns, s->cap) == -1)
			return -1;
		for (j = 0; j < s->cap; j++)
			if (s->v[j].family != 0)
				ns.v[ipset_slot(&ns, &s->v[j])] = s->v[j];
		ns.n = s->n;
		free(s->v);
		*s = ns;
	}
	i = ipset_slot(s, a);
	if (s->v[i].family == 0) {
		s->v[i] = *a;
		s->n++;
	}
	return 0;
}

/* ---- warnings ---- */

static void
warn_svc(struct diag_list *dl, const struct res_service *s,
    const char *field, const char *msg)
{
	struct diag_ctx		 dc = { dl, s->src->file, "Service", s->ns,
				    s->name };
	const struct ynode	*at = s->src->spec.y != NULL ?
				    s->src->spec.y : s->src->y;

	kobj_warn(&dc, at, DIAG_NOTE, field, NULL, "%s", msg);
}

static int
is_type(const struct res_service *s, const char *type)
{
	return strcmp(s->type, type) == 0;
}

/* ---- ClusterIPs ---- */

/* "10.96.0.0/12" into buf (at least NETADDR_STRLEN + 4 bytes). */
static const char *
cidr_text(const struct cidr *c, char *buf)
{
	char a[NETADDR_STRLEN];

	snprintf(buf, NETADDR_STRLEN + 4, "%s/%d", ipaddr_format(&c->addr, a),
	    c->prefix);
	return buf;
}

static int
needs_cluster_ip(const struct res_service *s)
{
	return s->proxied && s->cluster_ip.family == 0;
}

static int
alloc_cluster_ips(struct res_model *m, const struct pcfg *pc,
    struct diag_list *dl)
{
	const struct cidr	*c = &pc->service_cidr;
	struct ipset		 used;
	uint64_t		 size, usable = 0, start, k;
	size_t			 i;
	char			 key[512], msg[1024];
	int			 rc = 0;

	if (ipset_init(&used, m->nservices) == -1)
		return -1;
	/* A dual-stack Service's second clusterIP is taken too. */
	for (i = 0; i < m->nservices; i++)
		if ((m->services[i].cluster_ip.family != 0 &&
		    ipset_add(&used, &m->services[i].cluster_ip) == -1) ||
		    (m->services[i].cluster_ip2.family != 0 &&
		    ipset_add(&used, &m->services[i].cluster_ip2) == -1))
			rc = -1;
	if (c->addr.family != 0) {
		size = cidr_size(c);
		/* Offset 0 is the network; IPv4's last is broadcast. */
		usable = c->addr.family == AF_INET ?
		    (size > 2 ? size - 2 : 0) : (size > 1 ? size - 1 : 0);
	}
	for (i = 0; i < m->nservices && rc == 0; i++) {
		struct res_service *s = &m->services[i];

		if (!needs_cluster_ip(s))
			continue;
		snprintf(key, sizeof(key), "%s/%s", s->ns, s->name);
		start = usable > 0 ?
		    fnv1a64_str(FNV1A64_INIT, key) % usable : 0;
		for (k = 0; k < usable; k++) {
			cidr_nth(c, 1 + (start + k) % usable, &s->cluster_ip);
			if (!ipset_has(&used, &s->cluster_ip))
				break;
		}
		if (k == usable) {
			memset(&s->cluster_ip, 0, sizeof(s->cluster_ip));
			snprintf(msg, sizeof(msg), "no ClusterIP: the service "
			    "CIDR %s is full; the Service gets no ClusterIP "
			    "listener", cidr_text(c, key));
			warn_svc(dl, s, "spec.clusterIP", msg);
			continue;
		}
		if (ipset_add(&used, &s->cluster_ip) == -1)
			rc = -1;
	}
	free(used.v);
	return rc;
}

/* ---- NodePorts ---- */

#define PORT_BIT(map, p)	((map)[(p) / 8] & (1u << ((p) % 8)))
#define PORT_SET(map, p)	((map)[(p) / 8] |= (uint8_t)(1u << ((p) % 8)))

static int
wants_node_ports(const struct res_service *s)
{
	return is_type(s, "NodePort") ||
	    (is_type(s, "LoadBalancer") && s->allocate_lb_node_ports);
}

/*
 * A port number a Service exposes over two protocols (DNS on 53/TCP
 * and 53/UDP) shares one NodePort, as the API server's allocator does
 * (registry/core/service/storage/alloc.go, svcPortToNodePort).
 */
static uint16_t
sibling_node_port(const struct res_service *s, size_t i)
{
	size_t j;

	for (j = 0; j < i; j++)
		if (s->ports[j].port == s->ports[i].port &&
		    s->ports[j].node_port != 0)
			return s->ports[j].node_port;
	return 0;
}

/*
 * An explicit healthCheckNodePort comes from the NodePort allocator too
 * (storage/alloc.go, allocHealthCheckNodePort): nothing else gets it.
 */
static void
reserve_health_check_port(const struct res_service *s, uint8_t *used)
{
	const struct ksvc_spec *sp;

	if (s->src == NULL)
		return;
	sp = &s->src->spec;
	if (is_type(s, "LoadBalancer") && sp->external_traffic_policy != NULL &&
	    strcmp(sp->external_traffic_policy, "Local") == 0 &&
	    sp->health_check_node_port.set &&
	    sp->health_check_node_port.v > 0 &&
	    sp->health_check_node_port.v < 65536)
		PORT_SET(used, sp->health_check_node_port.v);
}

static void
alloc_node_ports(struct res_model *m, const struct pcfg *pc,
    struct diag_list *dl)
{
	uint8_t		 used[65536 / 8];
	uint32_t	 lo = pc->node_port_min, range, start, k, p;
	size_t		 i, j;
	char		 key[600], field[64];

	memset(used, 0, sizeof(used));
	range = pc->node_port_max >= lo ? pc->node_port_max - lo + 1 : 0;
	for (i = 0; i < m->nservices; i++) {
		for (j = 0; j < m->services[i].nports; j++)
			PORT_SET(used, m->services[i].ports[j].node_port);
		reserve_health_check_port(&m->services[i], used);
	}
	for (i = 0; i < m->nservices; i++) {
		struct res_service *s = &m->services[i];

		if (!wants_node_ports(s))
			continue;
		for (j = 0; j < s->nports; j++) {
			struct res_port *rp = &s->ports[j];

			if (rp->node_port != 0)
				continue;
			if ((rp->node_port = sibling_node_port(s, j)) != 0)
				continue;
			snprintf(key, sizeof(key), "%s/%s/%s/%s", s->ns,
			    s->name, rp->name, proto_name(rp->proto));
			start = range > 0 ? (uint32_t)(fnv1a64_str(
			    FNV1A64_INIT, key) % range) : 0;
			for (k = 0; k < range; k++) {
				p = lo + (start + k) % range;
				if (p != 0 && !PORT_BIT(used, p))
					break;
			}
			if (k == range) {
				snprintf(field, sizeof(field),
				    "spec.ports[%zu].nodePort", j);
				snprintf(key, sizeof(key), "no free NodePort "
				    "in the node port range %u-%u; this port "
				    "gets no NodePort listener",
				    (unsigned)pc->node_port_min,
				    (unsigned)pc->node_port_max);
				warn_svc(dl, s, field, key);
				continue;
			}
			rp->node_port = (uint16_t)p;
			PORT_SET(used, p);
		}
	}
}

/* ---- load-balancer addresses ---- */

static void
pool_nth(const struct pcfg *pc, uint64_t off, struct ipaddr *out)
{
	size_t		i;
	uint64_t	size;

	for (i = 0; i < pc->nlb_pool; i++) {
		size = cidr_size(&pc->lb_pool[i]);
		if (off < size) {
			cidr_nth(&pc->lb_pool[i], off, out);
			return;
		}
		off -= size;
	}
	memset(out, 0, sizeof(*out));
}

static int
alloc_lb_ips(struct res_model *m, const struct pcfg *pc,
    struct diag_list *dl)
{
	struct ipset	used;
	uint64_t	total = 0, size, start, k;
	size_t		i;
	char		key[512];
	int		rc = 0;

	if (ipset_init(&used, m->nservices) == -1)
		return -1;
	for (i = 0; i < m->nservices; i++)
		if (m->services[i].lb_ip.family != 0 &&
		    ipset_add(&used, &m->services[i].lb_ip) == -1)
			rc = -1;
	for (i = 0; i < pc->nlb_pool; i++) {
		size = cidr_size(&pc->lb_pool[i]);
		total = total + size < total || total + size > (1ULL << 63) ?
		    1ULL << 63 : total + size;
	}
	for (i = 0; i < m->nservices && rc == 0; i++) {
		struct res_service *s = &m->services[i];

		if (!is_type(s, "LoadBalancer") || s->lb_ip.family != 0)
			continue;
		snprintf(key, sizeof(key), "%s/%s", s->ns, s->name);
		start = total > 0 ? fnv1a64_str(FNV1A64_INIT, key) % total : 0;
		for (k = 0; k < total; k++) {
			pool_nth(pc, (start + k) % total, &s->lb_ip);
			if (!ipset_has(&used, &s->lb_ip))
				break;
		}
		if (k == total) {
			memset(&s->lb_ip, 0, sizeof(s->lb_ip));
			snprintf(key, sizeof(key), "no load-balancer address: "
			    "no spec.loadBalancerIP, no "
			    "status.loadBalancer.ingress IP and the "
			    "ProxyConfig loadBalancerPool is %s; the Service "
			    "is pending, as Kubernetes shows <pending>",
			    total == 0 ? "empty" : "used up");
			warn_svc(dl, s, "status.loadBalancer", key);
			continue;
		}
		if (ipset_add(&used, &s->lb_ip) == -1)
			rc = -1;
	}
	free(used.v);
	return rc;
}

int
res_alloc(struct res_model *m, const struct pcfg *pc, struct diag_list *dl)
{
	if (alloc_cluster_ips(m, pc, dl) == -1)
		return -1;
	alloc_node_ports(m, pc, dl);
	return alloc_lb_ips(m, pc, dl);
}
