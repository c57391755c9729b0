/* val: the order of the kinds, and what an absent ProxyConfig means. */
#include "config.h"

#include <string.h>

#include "val.h"

void
pcfg_defaults(struct pcfg *p)
{
	memset(p, 0, sizeof(*p));
	/* No nodeAddresses: NodePorts listen on every address. */
	p->node_port_min = PCFG_DEFAULT_NODE_PORT_MIN;
	p->node_port_max = PCFG_DEFAULT_NODE_PORT_MAX;
	/* No loadBalancerPool: LoadBalancer Services get no address. */
	(void)cidr_parse(PCFG_DEFAULT_SERVICE_CIDR, &p->service_cidr, 1);
	p->workers = 0;			/* one per CPU */
	(void)val_parse_hostport(PCFG_DEFAULT_ADMIN_ADDRESS, &p->admin_ip,
	    &p->admin_port);
	p->connect_timeout_ms = PCFG_DEFAULT_CONNECT_TIMEOUT_MS;
	p->idle_timeout_ms = PCFG_DEFAULT_IDLE_TIMEOUT_MS;
	p->drain_timeout_ms = PCFG_DEFAULT_DRAIN_TIMEOUT_MS;
	p->max_connections = 0;		/* from the fd limit */
	p->connection_log = CONN_LOG_INFO;
	p->lb_algorithm = PCFG_DEFAULT_LB_ALGORITHM;
}

/*
 * ProxyConfig first: Services need its NodePort range.  Namespaces
 * before the namespaced kinds, so implicit ones exist for all of them.
 */
size_t
val_all(struct kset *set, struct pcfg *pcfg, struct diag_list *diags)
{
	size_t before = diags->nerr;

	val_proxyconfig(set, pcfg, diags);
	val_namespaces(set, diags);
	val_services(set, pcfg, diags);
	val_pods(set, diags);
	val_endpointslices(set, diags);
	val_netpols(set, diags);
	return diags->nerr - before;
}
