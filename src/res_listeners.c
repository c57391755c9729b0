/*
 * res_listeners: the sockets kube-proxy would open for a Service port,
 * each once.
 */
#include "config.h"

#include <string.h>

#include "pcfg-t.h"
#include "res_int.h"

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
void
res_port_listeners(struct res_builder *b, const struct res_service *s,
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
