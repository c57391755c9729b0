/*
 * Service: SetDefaults_Service, then ValidateService (kubernetes
 * pkg/apis/core/v1/defaults.go, pkg/apis/core/validation), then what
 * the API server's allocators check across Services: one owner per
 * NodePort and per cluster IP.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "val.h"

#define KUBELET_PORT		10250
/* MaxClientIPServiceAffinitySeconds */
#define AFFINITY_MAX		86400
#define HEADLESS(s)		((s)->spec.cluster_ip != NULL && \
	strcmp((s)->spec.cluster_ip, "None") == 0)

struct svc_ctx {
	struct diag_ctx		 dc;
	struct ksvc		*s;
	const struct pcfg	*pcfg;
	size_t			 n;	/* errors so far */
};

static int
is(const char *v, const char *want)
{
	return v != NULL && strcmp(v, want) == 0;
}

static const struct ynode *
at(const struct svc_ctx *c, const char *field)
{
	return val_at(c->s->spec.y, field, c->s->y);
}

static void
err(struct svc_ctx *c, const struct ynode *node, enum diag_type type,
    const char *field, const char *bad, const char *detail)
{
	kobj_err(&c->dc, node, type, field, bad, "%s", detail ? detail : "");
	c->n++;
}

/* ---- defaults (SetDefaults_Service) ---- */

static void
defaults(struct ksvc *s)
{
	struct ksvc_spec	*sp = &s->spec;
	size_t			 i;

	/* sessionAffinity: None. */
	if (sp->session_affinity == NULL || *sp->session_affinity == '\0')
		sp->session_affinity = "None";
	/* ClientIP affinity without a timeout: 10800 seconds (3 hours). */
	if (is(sp->session_affinity, "ClientIP") &&
	    !sp->session_affinity_config.client_ip.timeout_seconds.set) {
		sp->session_affinity_config.client_ip.timeout_seconds.set = 1;
		sp->session_affinity_config.client_ip.timeout_seconds.v =
		    SVC_DEFAULT_AFFINITY_TIMEOUT;
	}
	/* type: ClusterIP. */
	if (sp->type == NULL || *sp->type == '\0')
		sp->type = "ClusterIP";
	/* clusterIPs alone sets clusterIP (the registry's normalizing). */
	if ((sp->cluster_ip == NULL || *sp->cluster_ip == '\0') &&
	    sp->cluster_ips.n > 0)
		sp->cluster_ip = sp->cluster_ips.v[0];
	for (i = 0; i < sp->ports.n; i++) {
		struct ksvc_port *p = &sp->ports.v[i];

		/* protocol: TCP; an absent, 0 or "" targetPort: port. */
		if (p->protocol == NULL || *p->protocol == '\0')
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
	/* externalTrafficPolicy: Cluster where the Service is reachable
	   from outside (NodePort, LoadBalancer, or externalIPs). */
	if ((sp->external_traffic_policy == NULL ||
	    *sp->external_traffic_policy == '\0') &&
	    (is(sp->type, "NodePort") || is(sp->type, "LoadBalancer") ||
	    (is(sp->type, "ClusterIP") && sp->external_ips.n > 0)))
		sp->external_traffic_policy = "Cluster";
	/* internalTrafficPolicy: Cluster, except for ExternalName. */
	if (sp->internal_traffic_policy == NULL && !is(sp->type,
	    "ExternalName"))
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
}

/* ---- ports ---- */

static void
one_port(struct svc_ctx *c, size_t i)
{
	struct ksvc_port	*p = &c->s->spec.ports.v[i];
	const char		*type = c->s->spec.type;
	const struct ynode	*py = p->y;
	char			 f[VAL_PATH_MAX], bad[24];
	size_t			 j;

	if (p->name == NULL || *p->name == '\0') {
		if (c->s->spec.ports.n > 1)
			err(c, py, DIAG_REQUIRED, val_path(f,
			    "spec.ports[%zu].name", i), NULL, NULL);
	} else {
		c->n += val_dns1123_label(&c->dc, val_at(py, "name", py),
		    val_path(f, "spec.ports[%zu].name", i), p->name);
		for (j = 0; j < i; j++)
			if (is(c->s->spec.ports.v[j].name, p->name)) {
				err(c, val_at(py, "name", py), DIAG_DUPLICATE,
				    f, p->name, NULL);
				break;
			}
	}
	c->n += val_port_number(&c->dc, val_at(py, "port", py),
	    val_path(f, "spec.ports[%zu].port", i), p->port.v);
	c->n += val_protocol(&c->dc, val_at(py, "protocol", py),
	    val_path(f, "spec.ports[%zu].protocol", i), &p->protocol);
	val_path(f, "spec.ports[%zu].targetPort", i);
	if (p->target_port.is_str)
		c->n += val_port_name(&c->dc, val_at(py, "targetPort", py), f,
		    p->target_port.str);
	else if (p->target_port.num != p->port.v)
		/* Equal (as when defaulted): the port's error says it. */
		c->n += val_port_number(&c->dc, val_at(py, "targetPort", py),
		    f, p->target_port.num);
	if (p->app_protocol != NULL)
		c->n += val_qualified_name(&c->dc,
		    val_at(py, "appProtocol", py),
		    val_path(f, "spec.ports[%zu].appProtocol", i),
		    p->app_protocol, p->app_protocol);
	if (is(type, "LoadBalancer") && p->port.v == KUBELET_PORT) {
		snprintf(bad, sizeof(bad), "%d", KUBELET_PORT);
		kobj_err(&c->dc, val_at(py, "port", py), DIAG_INVALID,
		    val_path(f, "spec.ports[%zu]", i), bad,
		    "may not expose port %d externally since it is used by "
		    "kubelet", KUBELET_PORT);
		c->n++;
	}
	if (!p->node_port.set || p->node_port.v == 0)
		return;
	val_path(f, "spec.ports[%zu].nodePort", i);
	snprintf(bad, sizeof(bad), "%lld", (long long)p->node_port.v);
	if (is(type, "ClusterIP") || is(type, "ExternalName")) {
		kobj_err(&c->dc, val_at(py, "nodePort", py), DIAG_FORBIDDEN,
		    f, bad, "may not be used when `type` is '%s'", type);
		c->n++;
	} else if (!is(type, "NodePort") && !is(type, "LoadBalancer"))
		return;		/* the type is wrong already */
	else if (p->node_port.v < c->pcfg->node_port_min ||
	    p->node_port.v > c->pcfg->node_port_max) {
		/* The API server's NodePort allocator, word for word. */
		kobj_err(&c->dc, val_at(py, "nodePort", py), DIAG_INVALID, f,
		    bad, "provided port is not in the valid range. The range "
		    "of valid ports is %u-%u", c->pcfg->node_port_min,
		    c->pcfg->node_port_max);
		c->n++;
	}
	for (j = 0; j < i; j++) {
		const struct ksvc_port *q = &c->s->spec.ports.v[j];

		if (q->node_port.v == p->node_port.v &&
		    is(q->protocol, p->protocol)) {
			err(c, val_at(py, "nodePort", py), DIAG_DUPLICATE, f,
			    bad, NULL);
			break;
		}
	}
}

static void
ports(struct svc_ctx *c)
{
	struct ksvc_spec	*sp = &c->s->spec;
	char			 f[VAL_PATH_MAX], bad[48];
	size_t			 i, j;

	if (sp->ports.n == 0 && !HEADLESS(c->s) && !is(sp->type,
	    "ExternalName"))
		err(c, at(c, "ports"), DIAG_REQUIRED, "spec.ports", NULL,
		    NULL);
	for (i = 0; i < sp->ports.n; i++)
		one_port(c, i);
	/* One (port, protocol) pair per Service. */
	for (i = 0; i < sp->ports.n; i++) {
		const struct ksvc_port *p = &sp->ports.v[i];

		for (j = 0; j < i; j++)
			if (sp->ports.v[j].port.v == p->port.v &&
			    is(sp->ports.v[j].protocol, p->protocol))
				break;
		if (j == i)
			continue;
		snprintf(bad, sizeof(bad), "%lld/%s", (long long)p->port.v,
		    p->protocol);
		err(c, p->y, DIAG_DUPLICATE, val_path(f, "spec.ports[%zu]", i),
		    bad, NULL);
	}
}

/* ---- addresses ---- */

static void
cluster_ips(struct svc_ctx *c)
{
	struct ksvc_spec	*sp = &c->s->spec;
	const struct kstrlist	*l = &sp->cluster_ips;
	struct ipaddr		 a[2];
	char			 f[VAL_PATH_MAX];
	size_t			 i, bad = 0;

	memset(a, 0, sizeof(a));

	if (is(sp->type, "ExternalName")) {
		if (sp->cluster_ip != NULL && *sp->cluster_ip != '\0')
			err(c, at(c, "clusterIP"), DIAG_FORBIDDEN,
			    "spec.clusterIP", sp->cluster_ip,
			    "may not be set for ExternalName services");
		else if (l->n > 0)
			err(c, at(c, "clusterIPs"), DIAG_FORBIDDEN,
			    "spec.clusterIPs", NULL,
			    "may not be set for ExternalName services");
		if (sp->ip_families.n > 0)
			err(c, at(c, "ipFamilies"), DIAG_FORBIDDEN,
			    "spec.ipFamilies", NULL,
			    "may not be set for ExternalName services");
		if (sp->ip_family_policy != NULL)
			err(c, at(c, "ipFamilyPolicy"), DIAG_FORBIDDEN,
			    "spec.ipFamilyPolicy", NULL,
			    "may not be set for ExternalName services");
		return;
	}
	if (sp->cluster_ip != NULL && *sp->cluster_ip != '\0' &&
	    !HEADLESS(c->s)) {
		if (val_ip(&c->dc, at(c, "clusterIP"), "spec.clusterIP",
		    sp->cluster_ip, 0, &a[0]) > 0) {
			c->n++;
			bad++;
		} else if (ipaddr_is_unspecified(&a[0])) {
			kobj_err(&c->dc, at(c, "clusterIP"), DIAG_INVALID,
			    "spec.clusterIP", sp->cluster_ip,
			    "may not be unspecified (%s)", sp->cluster_ip);
			c->n++;
			bad++;
		} else if (ipaddr_is_loopback(&a[0]))
			val_warn_loopback(&c->dc, at(c, "clusterIP"),
			    "spec.clusterIP", sp->cluster_ip);
	}
	if (l->n == 0)
		return;
	if (!is(l->v[0], sp->cluster_ip))
		err(c, l->y->items[0], DIAG_INVALID, "spec.clusterIPs",
		    l->v[0], "first value must match `clusterIP`");
	if (l->n > 2) {
		err(c, l->y, DIAG_INVALID, "spec.clusterIPs", NULL,
		    "may only hold up to 2 values");
		return;
	}
	/* clusterIP (== clusterIPs[0]) is checked above. */
	for (i = 1; i < l->n; i++) {
		val_path(f, "spec.clusterIPs[%zu]", i);
		if (is(l->v[0], "None") || is(l->v[i], "None")) {
			err(c, l->y->items[i], DIAG_INVALID, "spec.clusterIPs",
			    l->v[i], "'None' must be the first and only value");
			bad++;
		} else if (val_ip(&c->dc, l->y->items[i], f, l->v[i], 0,
		    &a[1]) > 0) {
			c->n++;
			bad++;
		} else if (ipaddr_is_loopback(&a[1]))
			val_warn_loopback(&c->dc, l->y->items[i], f, l->v[i]);
	}
	if (bad == 0 && l->n == 2 && a[0].family == a[1].family)
		err(c, l->y, DIAG_INVALID, "spec.clusterIPs", l->v[1],
		    "may specify no more than one IP for each IP family");
}

static void
families(struct svc_ctx *c)
{
	struct ksvc_spec	*sp = &c->s->spec;
	char			 f[VAL_PATH_MAX];
	size_t			 i;

	if (is(sp->type, "ExternalName"))
		return;
	for (i = 0; i < sp->ip_families.n; i++) {
		const char *v = sp->ip_families.v[i];

		val_path(f, "spec.ipFamilies[%zu]", i);
		if (!is(v, "IPv4") && !is(v, "IPv6"))
			err(c, sp->ip_families.y->items[i],
			    DIAG_NOT_SUPPORTED, f, v,
			    "supported values: \"IPv4\", \"IPv6\"");
		else if (i == 1 && is(sp->ip_families.v[0], v))
			err(c, sp->ip_families.y->items[i], DIAG_DUPLICATE, f,
			    v, NULL);
	}
	if (sp->ip_family_policy != NULL &&
	    !is(sp->ip_family_policy, "SingleStack") &&
	    !is(sp->ip_family_policy, "PreferDualStack") &&
	    !is(sp->ip_family_policy, "RequireDualStack"))
		err(c, at(c, "ipFamilyPolicy"), DIAG_NOT_SUPPORTED,
		    "spec.ipFamilyPolicy", sp->ip_family_policy,
		    "supported values: \"PreferDualStack\", "
		    "\"RequireDualStack\", \"SingleStack\"");
}

static void
external(struct svc_ctx *c)
{
	struct ksvc_spec	*sp = &c->s->spec;
	const struct kstrlist	*l;
	char			 f[VAL_PATH_MAX];
	const char		*lb_only = "may only be used when `type` is "
				    "'LoadBalancer'";
	size_t			 i;
	int			 lb = is(sp->type, "LoadBalancer");

	for (i = 0, l = &sp->external_ips; i < l->n; i++)
		c->n += val_ip(&c->dc, l->y->items[i],
		    val_path(f, "spec.externalIPs[%zu]", i), l->v[i], 1, NULL);
	if (sp->load_balancer_ip != NULL && *sp->load_balancer_ip != '\0') {
		if (!lb)
			err(c, at(c, "loadBalancerIP"), DIAG_FORBIDDEN,
			    "spec.loadBalancerIP", NULL, lb_only);
		c->n += val_ip(&c->dc, at(c, "loadBalancerIP"),
		    "spec.loadBalancerIP", sp->load_balancer_ip, 1, NULL);
	}
	l = &sp->load_balancer_source_ranges;
	if (l->n > 0 && !lb)
		err(c, at(c, "loadBalancerSourceRanges"), DIAG_FORBIDDEN,
		    "spec.loadBalancerSourceRanges", NULL, lb_only);
	for (i = 0; i < l->n; i++) {
		/* Space-padding is allowed, for historical reasons. */
		const char	*v = l->v[i];
		char		 buf[128];
		size_t		 len;

		while (*v == ' ' || *v == '\t')
			v++;
		len = strlen(v);
		while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
			len--;
		snprintf(buf, sizeof(buf), "%.*s", (int)len, v);
		c->n += val_cidr(&c->dc, l->y->items[i],
		    val_path(f, "spec.loadBalancerSourceRanges[%zu]", i), buf,
		    NULL);
	}
	if (sp->allocate_load_balancer_node_ports.set && !lb)
		err(c, at(c, "allocateLoadBalancerNodePorts"), DIAG_FORBIDDEN,
		    "spec.allocateLoadBalancerNodePorts", NULL, lb_only);
}

/* ---- type-dependent rules ---- */

static void
by_type(struct svc_ctx *c)
{
	struct ksvc_spec	*sp = &c->s->spec;
	const char		*type = sp->type, *ext = sp->external_name;
	char			 cname[256];
	size_t			 len;

	if (!is(type, "ClusterIP") && !is(type, "NodePort") &&
	    !is(type, "LoadBalancer") && !is(type, "ExternalName"))
		err(c, at(c, "type"), DIAG_NOT_SUPPORTED, "spec.type", type,
		    "supported values: \"ClusterIP\", \"ExternalName\", "
		    "\"LoadBalancer\", \"NodePort\"");
	if (HEADLESS(c->s) && is(type, "LoadBalancer"))
		err(c, at(c, "clusterIP"), DIAG_INVALID, "spec.clusterIP",
		    "None", "may not be set to 'None' for LoadBalancer "
		    "services");
	if (HEADLESS(c->s) && is(type, "NodePort"))
		err(c, at(c, "clusterIP"), DIAG_INVALID, "spec.clusterIP",
		    "None", "may not be set to 'None' for NodePort services");
	if (!is(type, "ExternalName"))
		return;
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

static void
affinity(struct svc_ctx *c)
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
	if (is(sp->session_affinity, "None")) {
		if (sp->session_affinity_config.y != NULL)
			err(c, at(c, "sessionAffinityConfig"), DIAG_FORBIDDEN,
			    "spec.sessionAffinityConfig", NULL,
			    "must not be set when session affinity is None");
		return;
	}
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

static void
traffic_policies(struct svc_ctx *c)
{
	struct ksvc_spec	*sp = &c->s->spec;
	const char		*etp = sp->external_traffic_policy;
	const char		*itp = sp->internal_traffic_policy;
	char			 bad[24];
	int			 outside;

	outside = is(sp->type, "NodePort") || is(sp->type, "LoadBalancer") ||
	    (is(sp->type, "ClusterIP") && sp->external_ips.n > 0);
	if (etp != NULL && *etp != '\0') {
		if (!outside)
			err(c, at(c, "externalTrafficPolicy"), DIAG_INVALID,
			    "spec.externalTrafficPolicy", etp, "may only be "
			    "set for externally-accessible services");
		else if (!is(etp, "Cluster") && !is(etp, "Local"))
			err(c, at(c, "externalTrafficPolicy"),
			    DIAG_NOT_SUPPORTED, "spec.externalTrafficPolicy",
			    etp, "supported values: \"Cluster\", \"Local\"");
	}
	if (itp != NULL && !is(itp, "Cluster") && !is(itp, "Local"))
		err(c, at(c, "internalTrafficPolicy"), DIAG_NOT_SUPPORTED,
		    "spec.internalTrafficPolicy", itp,
		    "supported values: \"Cluster\", \"Local\"");
	if (sp->health_check_node_port.set &&
	    sp->health_check_node_port.v != 0 &&
	    !(is(sp->type, "LoadBalancer") && is(etp, "Local"))) {
		snprintf(bad, sizeof(bad), "%lld",
		    (long long)sp->health_check_node_port.v);
		err(c, at(c, "healthCheckNodePort"), DIAG_INVALID,
		    "spec.healthCheckNodePort", bad, "may only be set when "
		    "`type` is 'LoadBalancer' and `externalTrafficPolicy` is "
		    "'Local'");
	}
}

/* ---- svcproxy's annotations ---- */

static void
annotations(struct svc_ctx *c)
{
	const struct kstrmap	*m = &c->s->meta.annotations;
	char			 f[VAL_PATH_MAX];
	size_t			 i;

	for (i = 0; i < m->n; i++) {
		const char		*k = m->v[i].key, *v = m->v[i].value;
		const struct ynode	*vy = val_map_value(m, i);
		uint32_t		 ms;
		int64_t			 num;

		if (strncmp(k, "svcproxy.io/", 12) != 0)
			continue;
		val_path(f, "metadata.annotations[%s]", k);
		if (is(k, ANN_IDLE_TIMEOUT) || is(k, ANN_CONNECT_TIMEOUT)) {
			if (val_parse_duration(v, &ms) == -1 || ms == 0)
				err(c, vy, DIAG_INVALID, f, v, "must be a "
				    "duration greater than 0 (e.g. \"5s\", "
				    "\"1m30s\", \"250ms\")");
		} else if (is(k, ANN_MAX_CONNECTIONS)) {
			if (*v < '0' || *v > '9' ||
			    kobj_parse_int(v, &num) == -1 || num <= 0 ||
			    num > UINT32_MAX)
				err(c, vy, DIAG_INVALID, f, v,
				    "must be a positive integer");
		} else
			kobj_warn(&c->dc, m->v[i].ky, DIAG_NOT_SUPPORTED,
			    "metadata.annotations", k, "svcproxy reads only "
			    "\"%s\", \"%s\", \"%s\"; this one is ignored "
			    "(a typo?)", ANN_CONNECT_TIMEOUT, ANN_IDLE_TIMEOUT,
			    ANN_MAX_CONNECTIONS);
	}
}

static void
one_service(struct ksvc *s, const struct pcfg *pcfg, struct diag_list *dl)
{
	struct svc_ctx c;

	memset(&c, 0, sizeof(c));
	c.s = s;
	c.pcfg = pcfg;
	val_ctx(&c.dc, dl, s->file, "Service", &s->meta);
	c.n = val_meta(&c.dc, &s->meta, s->y, val_dns1035_label, 1);
	defaults(s);
	by_type(&c);
	ports(&c);
	c.n += val_labels(&c.dc, &s->spec.selector, "spec.selector");
	affinity(&c);
	cluster_ips(&c);
	families(&c);
	external(&c);
	traffic_policies(&c);
	annotations(&c);
	if (c.n > 0)
		s->invalid = 1;
}

/* ---- across Services: the allocators' view ---- */

static int
proto_index(const char *p)
{
	return is(p, "UDP") ? 1 : is(p, "SCTP") ? 2 : 0;
}

/*
 * A NodePort has one owner per protocol: the first valid Service in
 * namespace/name order.  A later one is invalid as a whole, since the
 * API server would have refused to create it.
 */
static void
unique_node_ports(struct kset *set, struct diag_list *dl)
{
	uint32_t	*owner;		/* [proto][port]: index + 1 */
	size_t		 i, j;

	if ((owner = calloc(3 * 65536, sizeof(*owner))) == NULL)
		return;
	for (i = 0; i < set->svcs.n; i++) {
		struct ksvc	*s = set->svcs.v[i];
		struct diag_ctx	 dc;
		int		 clash = 0;

		if (s->invalid)
			continue;
		val_ctx(&dc, dl, s->file, "Service", &s->meta);
		for (j = 0; j < s->spec.ports.n; j++) {
			const struct ksvc_port	*p = &s->spec.ports.v[j];
			const struct ksvc	*o;
			uint32_t		 w;
			char			 f[VAL_PATH_MAX], bad[24];

			if (!p->node_port.set || p->node_port.v <= 0)
				continue;
			w = owner[proto_index(p->protocol) * 65536 +
			    p->node_port.v];
			if (w == 0 || w == i + 1)
				continue;
			o = set->svcs.v[w - 1];
			snprintf(bad, sizeof(bad), "%lld",
			    (long long)p->node_port.v);
			kobj_err(&dc, val_at(p->y, "nodePort", p->y),
			    DIAG_DUPLICATE,
			    val_path(f, "spec.ports[%zu].nodePort", j), bad,
			    "provided port is already allocated (%s to "
			    "Service %s/%s)", p->protocol, o->meta.ns,
			    o->meta.name);
			clash = 1;
		}
		if (clash) {
			s->invalid = 1;
			continue;
		}
		for (j = 0; j < s->spec.ports.n; j++) {
			const struct ksvc_port *p = &s->spec.ports.v[j];

			if (p->node_port.set && p->node_port.v > 0)
				owner[proto_index(p->protocol) * 65536 +
				    p->node_port.v] = (uint32_t)i + 1;
		}
	}
	free(owner);
}

struct ip_use {
	struct ipaddr	 ip;
	size_t		 svc;		/* index in set->svcs */
	size_t		 idx;		/* clusterIPs index */
};

static int
ip_use_cmp(const void *a, const void *b)
{
	const struct ip_use	*x = a, *y = b;
	int			 c = ipaddr_cmp(&x->ip, &y->ip);

	if (c != 0)
		return c;
	if (x->svc != y->svc)
		return x->svc < y->svc ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* A cluster IP has one owner: the first valid Service in name order. */
static void
unique_cluster_ips(struct kset *set, struct diag_list *dl)
{
	struct ip_use	*u;
	size_t		 n = 0, i, first = 0;

	if (set->svcs.n == 0 ||
	    (u = calloc(set->svcs.n * 2, sizeof(*u))) == NULL)
		return;
	for (i = 0; i < set->svcs.n; i++) {
		const struct ksvc_spec	*sp = &set->svcs.v[i]->spec;
		size_t			 k;

		if (set->svcs.v[i]->invalid || is(sp->type, "ExternalName"))
			continue;
		if (sp->cluster_ip != NULL && ipaddr_parse(sp->cluster_ip,
		    &u[n].ip) == 0) {
			u[n].svc = i;
			u[n++].idx = 0;
		}
		for (k = 1; k < sp->cluster_ips.n && k < 2; k++)
			if (ipaddr_parse(sp->cluster_ips.v[k], &u[n].ip) == 0) {
				u[n].svc = i;
				u[n++].idx = k;
			}
	}
	qsort(u, n, sizeof(*u), ip_use_cmp);
	for (i = 0; i < n; i++) {
		struct ksvc		*s, *o;
		struct diag_ctx		 dc;
		const struct ynode	*node;
		char			 f[VAL_PATH_MAX];
		const char		*v;

		if (i == 0 || ipaddr_cmp(&u[i].ip, &u[i - 1].ip) != 0)
			first = i;
		if (u[i].svc == u[first].svc)
			continue;
		s = set->svcs.v[u[i].svc];
		o = set->svcs.v[u[first].svc];
		val_ctx(&dc, dl, s->file, "Service", &s->meta);
		if (u[i].idx == 0) {
			node = val_at(s->spec.y, "clusterIP", s->y);
			val_path(f, "spec.clusterIP");
			v = s->spec.cluster_ip;
		} else {
			node = s->spec.cluster_ips.y->items[u[i].idx];
			val_path(f, "spec.clusterIPs[%zu]", u[i].idx);
			v = s->spec.cluster_ips.v[u[i].idx];
		}
		kobj_err(&dc, node, DIAG_DUPLICATE, f, v,
		    "provided IP is already allocated (to Service %s/%s)",
		    o->meta.ns, o->meta.name);
		s->invalid = 1;
	}
	free(u);
}

void
val_services(struct kset *set, const struct pcfg *pcfg,
    struct diag_list *diags)
{
	size_t i;

	for (i = 0; i < set->svcs.n; i++)
		one_service(set->svcs.v[i], pcfg, diags);
	unique_cluster_ips(set, diags);
	unique_node_ports(set, diags);
}
