/*
 * res_svc: a resolved Service from what its spec and annotations say,
 * before allocation: type, addresses, ports, the settings svcproxy
 * reads from annotations over ProxyConfig's defaults, ExternalName
 * proxying.
 */
#include "config.h"

#include <string.h>

#include "pcfg-t.h"
#include "proxyproto.h"
#include "res_int.h"
#include "selector.h"
#include "val.h"
#include "val_lb.h"

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
	/* UDP (validated in val_service_ann.c): */
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

void
res_svc_basics(struct res_builder *b, struct res_service *s,
    const struct ksvc *ks)
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
