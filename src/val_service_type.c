/*
 * The rules of a Service's type and of its traffic: what headless and
 * ExternalName Services may not set, LoadBalancer's fields and source
 * ranges, externalIPs, sessionAffinity, the traffic policies.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "val_service_int.h"


/* MaxClientIPServiceAffinitySeconds */
#define AFFINITY_MAX		86400

#define ANN_LB_SOURCE_RANGES	"service.beta.kubernetes.io/" \
	"load-balancer-source-ranges"

void
val_svc_by_type(struct svc_ctx *c)
{
	struct ksvc_spec	*sp = &c->s->spec;
	const char		*type = sp->type, *ext = sp->external_name;
	char			 cname[256];
	size_t			 len;

	if ((is(type, "LoadBalancer") || is(type, "NodePort")) &&
	    headless(c->s)) {
		char detail[64];

		snprintf(detail, sizeof(detail), "may not be set to 'None' for "
		    "%s services", type);
		err(c, sp->cluster_ips.y->items[0], DIAG_INVALID,
		    "spec.clusterIPs[0]", "None", detail);
	}
	if (!is(type, "ExternalName"))
		return;
	/* The strategy has copied clusterIP into clusterIPs. */
	if (sp->cluster_ips.n > 0)
		err(c, sp->cluster_ips.y, DIAG_FORBIDDEN, "spec.clusterIPs",
		    NULL, "may not be set for ExternalName services");
	if (sp->ip_families.n > 0)
		err(c, at(c, "ipFamilies"), DIAG_FORBIDDEN, "spec.ipFamilies",
		    NULL, "may not be set for ExternalName services");
	if (sp->ip_family_policy != NULL)
		err(c, at(c, "ipFamilyPolicy"), DIAG_FORBIDDEN,
		    "spec.ipFamilyPolicy", NULL,
		    "may not be set for ExternalName services");
	/* The CNAME may end in a dot, to mark it fully qualified. */
	len = ext != NULL ? strlen(ext) : 0;
	if (len > 0 && ext[len - 1] == '.')
		len--;
	if (len == 0) {
		err(c, at(c, "externalName"), DIAG_REQUIRED,
		    "spec.externalName", NULL, NULL);
		return;
	}
	snprintf(cname, sizeof(cname), "%.*s", (int)len, ext);
	c->n += val_dns1123_subdomain(&c->dc, at(c, "externalName"),
	    "spec.externalName", len < sizeof(cname) ? cname : ext);
}

/* A space-padded CIDR (allowed, for historical reasons). */
static void
padded_cidr(struct svc_ctx *c, const struct ynode *node, const char *field,
    const char *v, size_t len)
{
	char buf[128];

	while (len > 0 && (*v == ' ' || *v == '\t' || *v == '\n')) {
		v++;
		len--;
	}
	while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t' ||
	    v[len - 1] == '\n'))
		len--;
	snprintf(buf, sizeof(buf), "%.*s", (int)len, v);
	c->n += val_cidr(&c->dc, node, field, buf, NULL);
}

/*
 * loadBalancerSourceRanges, else its older annotation.  The field path
 * is spec.LoadBalancerSourceRanges, capital L, as the API server has
 * always spelled it.
 */
void
val_svc_source_ranges(struct svc_ctx *c)
{
	const struct kstrlist	*l = &c->s->spec.load_balancer_source_ranges;
	const struct kstrmap	*m = &c->s->meta.annotations;
	const char		*lb_only = "may only be used when `type` is "
				    "'LoadBalancer'";
	char			 f[VAL_PATH_MAX];
	const char		*v, *comma;
	size_t			 i;
	int			 lb = is(c->s->spec.type, "LoadBalancer");

	if (l->n > 0) {
		if (!lb)
			err(c, at(c, "loadBalancerSourceRanges"),
			    DIAG_FORBIDDEN, "spec.LoadBalancerSourceRanges",
			    NULL, lb_only);
		for (i = 0; i < l->n; i++)
			padded_cidr(c, l->y->items[i], val_path(f,
			    "spec.LoadBalancerSourceRanges[%zu]", i), l->v[i],
			    strlen(l->v[i]));
		return;
	}
	for (i = 0; i < m->n; i++)
		if (is(m->v[i].key, ANN_LB_SOURCE_RANGES))
			break;
	if (i == m->n)
		return;
	val_path(f, "metadata.annotations[%s]", ANN_LB_SOURCE_RANGES);
	if (!lb)
		err(c, val_map_value(m, i), DIAG_FORBIDDEN, f, NULL, lb_only);
	for (v = m->v[i].value; v != NULL; v = comma != NULL ? comma + 1 :
	    NULL) {
		comma = strchr(v, ',');
		/* An empty (all-space) annotation lists nothing. */
		if (comma == NULL && v == m->v[i].value &&
		    strspn(v, " \t\n") == strlen(v))
			break;
		padded_cidr(c, val_map_value(m, i), f, v,
		    comma != NULL ? (size_t)(comma - v) : strlen(v));
	}
}

void
val_svc_external_ips(struct svc_ctx *c)
{
	struct ksvc_spec	*sp = &c->s->spec;
	const struct kstrlist	*l = &sp->external_ips;
	char			 f[VAL_PATH_MAX];
	size_t			 i;

	for (i = 0; i < l->n; i++)
		c->n += val_ip(&c->dc, l->y->items[i],
		    val_path(f, "spec.externalIPs[%zu]", i), l->v[i], 1, NULL);
}

/*
 * loadBalancerIP: the API server only warns about it (GetWarningsFor-
 * Service), so it never makes a Service invalid here either.
 */
void
val_svc_lb_ip(struct svc_ctx *c)
{
	const struct ksvc_spec	*sp = &c->s->spec;
	const struct ynode	*node = at(c, "loadBalancerIP");
	struct ipaddr		 a;

	if (empty(sp->load_balancer_ip))
		return;
	if (is(sp->type, "ClusterIP") && is(sp->cluster_ip, "None"))
		return;		/* api_warnings() says it */
	if (!is(sp->type, "LoadBalancer"))
		kobj_warn(&c->dc, node, DIAG_INVALID, "spec.loadBalancerIP",
		    sp->load_balancer_ip, "ignored: only a Service of `type` "
		    "'LoadBalancer' uses it");
	else if (ipaddr_parse(sp->load_balancer_ip, &a) == -1)
		kobj_warn(&c->dc, node, DIAG_INVALID, "spec.loadBalancerIP",
		    sp->load_balancer_ip, "must be a valid IP address, (e.g. "
		    "10.9.8.7 or 2001:db8::ffff); ignored");
	else if (ipaddr_is_loopback(&a))
		val_warn_loopback(&c->dc, node, "spec.loadBalancerIP",
		    sp->load_balancer_ip);
}

void
val_svc_lb_fields(struct svc_ctx *c)
{
	const struct ksvc_spec	*sp = &c->s->spec;
	const char		*lb_only = "may only be used when `type` is "
				    "'LoadBalancer'";
	int			 lb = is(sp->type, "LoadBalancer");

	if (sp->allocate_load_balancer_node_ports.set && !lb)
		err(c, at(c, "allocateLoadBalancerNodePorts"), DIAG_FORBIDDEN,
		    "spec.allocateLoadBalancerNodePorts", NULL, lb_only);
	/* validateLoadBalancerClassField */
	if (sp->load_balancer_class == NULL)
		return;
	if (lb)
		c->n += val_qualified_name(&c->dc, at(c, "loadBalancerClass"),
		    "spec.loadBalancerClass", sp->load_balancer_class,
		    sp->load_balancer_class);
	else
		err(c, at(c, "loadBalancerClass"), DIAG_FORBIDDEN,
		    "spec.loadBalancerClass", NULL, lb_only);
}

void
val_svc_affinity(struct svc_ctx *c)
{
	struct ksvc_spec	*sp = &c->s->spec;
	const struct kint	*t = &sp->session_affinity_config.client_ip.
				    timeout_seconds;
	char			 bad[24];

	if (!is(sp->session_affinity, "ClientIP") &&
	    !is(sp->session_affinity, "None")) {
		err(c, at(c, "sessionAffinity"), DIAG_NOT_SUPPORTED,
		    "spec.sessionAffinity", sp->session_affinity,
		    "supported values: \"ClientIP\", \"None\"");
		return;
	}
	/* None: defaulting has cleared sessionAffinityConfig. */
	if (!is(sp->session_affinity, "ClientIP"))
		return;
	if (t->v <= 0 || t->v > AFFINITY_MAX) {
		snprintf(bad, sizeof(bad), "%lld", (long long)t->v);
		kobj_err(&c->dc, val_at(sp->session_affinity_config.client_ip.y,
		    "timeoutSeconds", at(c, "sessionAffinityConfig")),
		    DIAG_INVALID,
		    "spec.sessionAffinityConfig.clientIP.timeoutSeconds", bad,
		    "must be greater than 0 and less than %d", AFFINITY_MAX);
		c->n++;
	}
}

void
val_svc_traffic_policies(struct svc_ctx *c)
{
	struct ksvc_spec	*sp = &c->s->spec;
	const char		*etp = sp->external_traffic_policy;
	const char		*itp = sp->internal_traffic_policy;
	const char		*td = sp->traffic_distribution;
	char			 bad[24];

	/* validateServiceExternalTrafficPolicy */
	if (!externally_accessible(sp)) {
		if (!empty(etp))
			err(c, at(c, "externalTrafficPolicy"), DIAG_INVALID,
			    "spec.externalTrafficPolicy", etp, "may only be "
			    "set for externally-accessible services");
	} else if (!is(etp, "Cluster") && !is(etp, "Local"))
		err(c, at(c, "externalTrafficPolicy"), DIAG_NOT_SUPPORTED,
		    "spec.externalTrafficPolicy", etp,
		    "supported values: \"Cluster\", \"Local\"");
	/* A missing port is allocated (svcproxy serves no health checks). */
	if (!needs_health_check(sp) && sp->health_check_node_port.set &&
	    sp->health_check_node_port.v != 0) {
		snprintf(bad, sizeof(bad), "%lld",
		    (long long)sp->health_check_node_port.v);
		err(c, at(c, "healthCheckNodePort"), DIAG_INVALID,
		    "spec.healthCheckNodePort", bad, "may only be set when "
		    "`type` is 'LoadBalancer' and `externalTrafficPolicy` is "
		    "'Local'");
	}
	/* validateServiceInternalTrafficFieldsValue */
	if (itp != NULL && !is(itp, "Cluster") && !is(itp, "Local"))
		err(c, at(c, "internalTrafficPolicy"), DIAG_NOT_SUPPORTED,
		    "spec.internalTrafficPolicy", itp,
		    "supported values: \"Cluster\", \"Local\"");
	/* validateServiceTrafficDistribution */
	if (td != NULL && !is(td, "PreferClose") &&
	    !is(td, "PreferSameNode") && !is(td, "PreferSameZone"))
		err(c, at(c, "trafficDistribution"), DIAG_NOT_SUPPORTED,
		    "spec.trafficDistribution", td, "supported values: "
		    "\"PreferClose\", \"PreferSameNode\", \"PreferSameZone\"");
}
