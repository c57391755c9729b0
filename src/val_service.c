/*
 * Service, in the API server's order (kubernetes pkg/registry/core/
 * service/storage: beginCreate, then the strategy's Validate):
 *
 *  1. SetDefaults_Service (pkg/apis/core/v1/defaults.go), for every
 *     Service first, as decoding does, then normalizeClusterIPs
 *     (storage.go): a clusterIP alone fills clusterIPs;
 *  2. allocation (storage/alloc.go): ValidateServiceClusterIPsRelated-
 *     Fields, then each requested cluster IP and NodePort is reserved
 *     against the Services created before this one (initNodePorts);
 *  3. ValidateService (pkg/apis/core/validation/validation.go).
 *
 * "Created before" is namespace/name order, the order of set->svcs; a
 * Service with an error was never created, so it holds nothing.  The
 * API server stops at the first stage that fails; svcproxy reports
 * every stage, so that `check` lists every error at once, except the
 * validation rules the API server reaches only after allocation
 * succeeded and that would repeat its error (Duplicate nodePort).
 *
 * This file defaults, runs the stages in order and gives the API
 * server's warnings; the rules are in val_service_ips.c,
 * val_service_ports.c, val_service_type.c and val_service_ann.c.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "val_service_int.h"

/* ---- 1. defaults (SetDefaults_Service) ---- */

/*
 * normalizeClusterIPs on create: a clusterIP without clusterIPs becomes
 * clusterIPs [clusterIP], marked where clusterIP is written, so errors
 * about clusterIPs[0] point at it.  Never the other way round: clusterIPs
 * alone is an error, as new clients must set both.
 */
static void
normalize_cluster_ips(struct kset *set, struct ksvc *s)
{
	struct ksvc_spec	*sp = &s->spec;
	const struct ynode	*cy;
	struct ynode		*seq, **items;
	const char		**v;

	if (empty(sp->cluster_ip) || sp->cluster_ips.n > 0)
		return;
	cy = val_at(sp->y, "clusterIP", s->y);
	if ((seq = arena_calloc(&set->arena, 2, sizeof(*seq))) == NULL ||
	    (items = arena_calloc(&set->arena, 1, sizeof(*items))) == NULL ||
	    (v = arena_calloc(&set->arena, 1, sizeof(*v))) == NULL)
		return;		/* validation reports clusterIPs Required */
	seq[1] = *cy;
	items[0] = &seq[1];
	seq[0].kind = YN_SEQ;
	seq[0].n = 1;
	seq[0].items = items;
	seq[0].line = cy->line;
	seq[0].col = cy->col;
	v[0] = sp->cluster_ip;
	sp->cluster_ips.y = &seq[0];
	sp->cluster_ips.n = 1;
	sp->cluster_ips.v = v;
}

static void
defaults(struct kset *set, struct ksvc *s)
{
	struct ksvc_spec	*sp = &s->spec;
	size_t			 i;

	/* sessionAffinity: None, and None has no sessionAffinityConfig. */
	if (empty(sp->session_affinity))
		sp->session_affinity = "None";
	if (is(sp->session_affinity, "None"))
		memset(&sp->session_affinity_config, 0,
		    sizeof(sp->session_affinity_config));
	/* ClientIP affinity without a timeout: 10800 seconds (3 hours). */
	if (is(sp->session_affinity, "ClientIP") &&
	    !sp->session_affinity_config.client_ip.timeout_seconds.set) {
		sp->session_affinity_config.client_ip.timeout_seconds.set = 1;
		sp->session_affinity_config.client_ip.timeout_seconds.v =
		    SVC_DEFAULT_AFFINITY_TIMEOUT;
	}
	/* type: ClusterIP. */
	if (empty(sp->type))
		sp->type = "ClusterIP";
	for (i = 0; i < sp->ports.n; i++) {
		struct ksvc_port *p = &sp->ports.v[i];

		/* protocol: TCP; an absent, 0 or "" targetPort: port. */
		if (empty(p->protocol))
			p->protocol = "TCP";
		if (!p->target_port.set || (!p->target_port.is_str &&
		    p->target_port.num == 0) || (p->target_port.is_str &&
		    *p->target_port.str == '\0')) {
			p->target_port.set = 1;
			p->target_port.is_str = 0;
			p->target_port.str = NULL;
			p->target_port.num = p->port.v;
		}
	}
	/* externalTrafficPolicy: Cluster where ExternallyAccessible. */
	if (empty(sp->external_traffic_policy) && externally_accessible(sp))
		sp->external_traffic_policy = "Cluster";
	/* internalTrafficPolicy: Cluster for the proxied types only. */
	if (sp->internal_traffic_policy == NULL && (is(sp->type, "ClusterIP") ||
	    is(sp->type, "NodePort") || is(sp->type, "LoadBalancer")))
		sp->internal_traffic_policy = "Cluster";
	/* allocateLoadBalancerNodePorts: true for LoadBalancer. */
	if (is(sp->type, "LoadBalancer") &&
	    !sp->allocate_load_balancer_node_ports.set) {
		sp->allocate_load_balancer_node_ports.set = 1;
		sp->allocate_load_balancer_node_ports.v = 1;
	}
	/* publishNotReadyAddresses: false. */
	if (!sp->publish_not_ready_addresses.set) {
		sp->publish_not_ready_addresses.set = 1;
		sp->publish_not_ready_addresses.v = 0;
	}
	normalize_cluster_ips(set, s);
}

/* ---- 2. allocation and 3. ValidateService, in order ---- */

/* Is the Service an ExternalName that asks to be proxied? */
static int
proxies_external_name(const struct ksvc *s)
{
	const struct kstrmap	*m = &s->meta.annotations;
	size_t			 i;

	for (i = 0; i < m->n; i++)
		if (is(m->v[i].key, ANN_PROXY_EXTERNAL_NAME))
			return is(s->spec.type, "ExternalName") &&
			    is(m->v[i].value, "true");
	return 0;
}

/*
 * GetWarningsForService (pkg/api/service/warnings.go): what the API
 * server accepts but tells the client about, in its words (the path
 * it starts with as the field).
 */
static void
api_warnings(struct svc_ctx *c)
{
	const struct ksvc_spec	*sp = &c->s->spec;
	const struct kstrmap	*m = &c->s->meta.annotations;
	char			 f[VAL_PATH_MAX];
	size_t			 i;

	for (i = 0; i < m->n; i++)
		if (is(m->v[i].key, ANN_TOPOLOGY_HINTS))
			kobj_warn(&c->dc, m->v[i].ky, DIAG_NOTE, val_path(f,
			    "metadata.annotations[%s]", ANN_TOPOLOGY_HINTS),
			    NULL, "annotation %s is deprecated, please use %s "
			    "instead", ANN_TOPOLOGY_HINTS, ANN_TOPOLOGY_MODE);
	if (is(sp->type, "ClusterIP") && is(sp->cluster_ip, "None")) {
		if (!empty(sp->load_balancer_ip))
			kobj_warn(&c->dc, at(c, "loadBalancerIP"), DIAG_NOTE,
			    "spec.loadBalancerIP", NULL,
			    "is ignored for headless services");
		if (sp->external_ips.n > 0)
			kobj_warn(&c->dc, at(c, "externalIPs"), DIAG_NOTE,
			    "spec.externalIPs", NULL,
			    "is ignored for headless services");
		if (!is(sp->session_affinity, "None"))
			kobj_warn(&c->dc, at(c, "sessionAffinity"), DIAG_NOTE,
			    "spec.SessionAffinity", NULL,
			    "is ignored for headless services");
	}
	if (is(sp->type, "ExternalName") && sp->external_ips.n > 0 &&
	    !proxies_external_name(c->s))
		kobj_warn(&c->dc, at(c, "externalIPs"), DIAG_NOTE,
		    "spec.externalIPs", NULL, "is ignored when spec.type is "
		    "\"ExternalName\"");
	if (!is(sp->type, "ExternalName") && !empty(sp->external_name))
		kobj_warn(&c->dc, at(c, "externalName"), DIAG_NOTE,
		    "spec.externalName", NULL, "is ignored when spec.type is "
		    "not \"ExternalName\"");
	if (is(sp->traffic_distribution, "PreferClose"))
		kobj_warn(&c->dc, at(c, "trafficDistribution"), DIAG_NOTE,
		    "spec.trafficDistribution", NULL, "\"PreferClose\" is "
		    "deprecated; use \"PreferSameZone\"");
}

static void
validate(struct svc_ctx *c)
{
	struct ksvc_spec *sp = &c->s->spec;

	c->n += val_meta(&c->dc, &c->s->meta, c->s->y, val_dns1035_label, 1);
	val_svc_annotations(c);
	if (sp->ports.n == 0 && !headless(c->s) &&
	    !is(sp->type, "ExternalName"))
		err(c, at(c, "ports"), DIAG_REQUIRED, "spec.ports", NULL,
		    NULL);
	val_svc_by_type(c);
	val_svc_ports(c);
	c->n += val_labels(&c->dc, &sp->selector, "spec.selector");
	val_svc_affinity(c);
	/* ValidateServiceClusterIPsRelatedFields ran in
	   val_svc_cluster_ips(). */
	val_svc_external_ips(c);
	if (!is(sp->type, "ClusterIP") && !is(sp->type, "NodePort") &&
	    !is(sp->type, "LoadBalancer") && !is(sp->type, "ExternalName"))
		err(c, at(c, "type"), DIAG_NOT_SUPPORTED, "spec.type",
		    sp->type, "supported values: \"ClusterIP\", "
		    "\"ExternalName\", \"LoadBalancer\", \"NodePort\"");
	val_svc_port_sets(c);
	val_svc_source_ranges(c);
	val_svc_lb_fields(c);
	val_svc_lb_ip(c);
	val_svc_traffic_policies(c);
	api_warnings(c);
}

static void
one_service(struct kset *set, size_t idx, struct svc_alloc *al,
    const struct pcfg *pcfg, struct diag_list *dl)
{
	struct svc_ctx c;

	memset(&c, 0, sizeof(c));
	c.set = set;
	c.s = set->svcs.v[idx];
	c.idx = idx;
	c.pcfg = pcfg;
	c.al = al;
	val_ctx(&c.dc, dl, c.s->file, "Service", &c.s->meta);
	val_svc_cluster_ips(&c);
	val_svc_alloc_cluster_ips(&c);
	val_svc_alloc_node_ports(&c);
	validate(&c);
	if (c.n > 0) {
		c.s->invalid = 1;
		val_svc_release_node_ports(&c);
	}
}

void
val_services(struct kset *set, const struct pcfg *pcfg,
    struct diag_list *diags)
{
	struct svc_alloc	al;
	size_t			i;

	memset(&al, 0, sizeof(al));
	for (i = 0; i < set->svcs.n; i++)
		defaults(set, set->svcs.v[i]);
	/* Out of memory: no allocation checks, validation still runs. */
	al.port_owner = calloc(NODE_PORTS, sizeof(*al.port_owner));
	val_svc_collect_ips(set, &al);
	for (i = 0; i < set->svcs.n; i++)
		one_service(set, i, &al, pcfg, diags);
	free(al.ips);
	free(al.port_owner);
}
