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
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb.h"
#include "proxyproto.h"
#include "val_int.h"
#include "val_lb.h"

/* MaxClientIPServiceAffinitySeconds */
#define AFFINITY_MAX		86400
#define NODE_PORTS		65536
/* A port number waiting for res_alloc's AllocateNext. */
#define NP_PENDING		(-1)

#define ANN_LB_SOURCE_RANGES	"service.beta.kubernetes.io/" \
	"load-balancer-source-ranges"
#define ANN_TOPOLOGY_HINTS	"service.kubernetes.io/topology-aware-hints"
#define ANN_TOPOLOGY_MODE	"service.kubernetes.io/topology-mode"

/* A requested cluster IP, sorted by address then Service. */
struct ip_use {
	struct ipaddr	 ip;
	size_t		 svc;		/* index in set->svcs */
};

/* What the Services created so far hold: the allocators' state. */
struct svc_alloc {
	uint32_t	*port_owner;	/* [NODE_PORTS]: svc index + 1 */
	struct ip_use	*ips;		/* sorted */
	size_t		 nips;
};

struct svc_ctx {
	struct diag_ctx		 dc;
	struct kset		*set;
	struct ksvc		*s;
	size_t			 idx;	/* in set->svcs */
	const struct pcfg	*pcfg;
	struct svc_alloc	*al;
	size_t			 n;	/* errors so far */
	int			 alloc_failed;
};

static int
is(const char *v, const char *want)
{
	return v != NULL && strcmp(v, want) == 0;
}

static int
empty(const char *v)
{
	return v == NULL || *v == '\0';
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

/* isHeadlessService: after normalizing, clusterIPs is exactly [None]. */
static int
headless(const struct ksvc *s)
{
	return s->spec.cluster_ips.n == 1 &&
	    is(s->spec.cluster_ips.v[0], "None");
}

/* ExternallyAccessible (pkg/api/service/util.go). */
static int
externally_accessible(const struct ksvc_spec *sp)
{
	return is(sp->type, "LoadBalancer") || is(sp->type, "NodePort") ||
	    (is(sp->type, "ClusterIP") && sp->external_ips.n > 0);
}

/* NeedsHealthCheck: a LoadBalancer that keeps traffic node-local. */
static int
needs_health_check(const struct ksvc_spec *sp)
{
	return is(sp->type, "LoadBalancer") &&
	    is(sp->external_traffic_policy, "Local");
}

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

/* ---- 2. allocation ---- */

/*
 * initIPFamilyFields, the part that needs no cluster configuration: an
 * absent ipFamilyPolicy is SingleStack (RequireDualStack for a headless
 * Service without selector), and SingleStack has one address and one
 * family.
 */
static void
family_policy(struct svc_ctx *c)
{
	const struct ksvc_spec	*sp = &c->s->spec;
	const char		*policy = sp->ip_family_policy;

	if (policy == NULL)
		policy = headless(c->s) && sp->selector.n == 0 ?
		    "RequireDualStack" : "SingleStack";
	if (!is(policy, "SingleStack"))
		return;
	if (sp->cluster_ips.n == 2)
		err(c, at(c, "ipFamilyPolicy"), DIAG_INVALID,
		    "spec.ipFamilyPolicy", policy, "must be 'RequireDualStack' "
		    "or 'PreferDualStack' when multiple cluster IPs are "
		    "specified");
	if (sp->ip_families.n == 2)
		err(c, at(c, "ipFamilyPolicy"), DIAG_INVALID,
		    "spec.ipFamilyPolicy", policy, "must be 'RequireDualStack' "
		    "or 'PreferDualStack' when multiple IP families are "
		    "specified");
}

/*
 * ValidateServiceClusterIPsRelatedFields: clusterIP against clusterIPs,
 * ipFamilies, ipFamilyPolicy, each clusterIPs entry, dual-stack pairs,
 * and each IP against its family.  The API server runs it before it
 * allocates (initIPFamilyFields), and not again.
 */
static void
cluster_ips(struct svc_ctx *c)
{
	struct ksvc_spec	*sp = &c->s->spec;
	const struct kstrlist	*l = &sp->cluster_ips, *fam = &sp->ip_families;
	struct ipaddr		 a[2];
	char			 f[VAL_PATH_MAX];
	size_t			 i, j, n0 = c->n;
	int			 invalid_ips = 0;

	if (is(sp->type, "ExternalName"))
		return;
	memset(a, 0, sizeof(a));
	if (!empty(sp->cluster_ip)) {
		if (l->n == 0)
			err(c, at(c, "clusterIP"), DIAG_REQUIRED,
			    "spec.clusterIPs", NULL, NULL);
		else if (!is(l->v[0], sp->cluster_ip))
			err(c, l->y->items[0], DIAG_INVALID, "spec.clusterIPs",
			    l->v[0], "first value must match `clusterIP`");
	} else if (l->n != 0)
		err(c, l->y, DIAG_INVALID, "spec.clusterIPs", l->v[0],
		    "must be empty when `clusterIP` is not specified");
	for (i = 0; i < fam->n; i++) {
		val_path(f, "spec.ipFamilies[%zu]", i);
		if (!is(fam->v[i], "IPv4") && !is(fam->v[i], "IPv6"))
			err(c, fam->y->items[i], DIAG_NOT_SUPPORTED, f,
			    fam->v[i], "supported values: \"IPv4\", \"IPv6\"");
		for (j = 0; j < i; j++)
			if (is(fam->v[j], fam->v[i]))
				break;
		if (j < i)
			err(c, fam->y->items[i], DIAG_DUPLICATE, f, fam->v[i],
			    NULL);
	}
	if (sp->ip_family_policy != NULL &&
	    !is(sp->ip_family_policy, "SingleStack") &&
	    !is(sp->ip_family_policy, "PreferDualStack") &&
	    !is(sp->ip_family_policy, "RequireDualStack"))
		err(c, at(c, "ipFamilyPolicy"), DIAG_NOT_SUPPORTED,
		    "spec.ipFamilyPolicy", sp->ip_family_policy,
		    "supported values: \"PreferDualStack\", "
		    "\"RequireDualStack\", \"SingleStack\"");
	for (i = 0; i < l->n; i++) {
		struct ipaddr	 tmp = { 0 }, *ip = i < 2 ? &a[i] : &tmp;

		val_path(f, "spec.clusterIPs[%zu]", i);
		if (i == 0 && is(l->v[0], "None")) {
			if (l->n > 1) {
				invalid_ips = 1;
				err(c, l->y, DIAG_INVALID, "spec.clusterIPs",
				    "None", "'None' must be the first and "
				    "only value");
			}
			continue;
		}
		if (val_ip(&c->dc, l->y->items[i], f, l->v[i], 0, ip) > 0) {
			c->n++;
			invalid_ips = 1;
		} else if (ipaddr_is_unspecified(ip)) {
			/* svcproxy's: nothing could be served there. */
			kobj_err(&c->dc, l->y->items[i], DIAG_INVALID, f,
			    l->v[i], "may not be unspecified (%s)", l->v[i]);
			c->n++;
			invalid_ips = 1;
		} else if (ipaddr_is_loopback(ip))
			val_warn_loopback(&c->dc, l->y->items[i], f, l->v[i]);
	}
	if (l->n > 2)
		err(c, l->y, DIAG_INVALID, "spec.clusterIPs", NULL,
		    "may only hold up to 2 values");
	if (invalid_ips)
		goto out;
	if (l->n == 2 && a[0].family == a[1].family)
		err(c, l->y, DIAG_INVALID, "spec.clusterIPs", l->v[1],
		    "may specify no more than one IP for each IP family");
	if (headless(c->s))
		goto out;
	for (i = 0; i < l->n && i < 2 && i < fam->n; i++) {
		int v6 = a[i].family == AF_INET6;

		if ((is(fam->v[i], "IPv4") && v6) ||
		    (is(fam->v[i], "IPv6") && !v6)) {
			kobj_err(&c->dc, l->y->items[i], DIAG_INVALID,
			    val_path(f, "spec.clusterIPs[%zu]", i), l->v[i],
			    "expected an %s value as indicated by "
			    "`ipFamilies[%zu]`", fam->v[i], i);
			c->n++;
		}
	}
out:
	if (c->n == n0)
		family_policy(c);
	if (c->n > n0)
		c->alloc_failed = 1;
}

static int
ip_use_cmp(const void *a, const void *b)
{
	const struct ip_use	*x = a, *y = b;
	int			 r = ipaddr_cmp(&x->ip, &y->ip);

	if (r != 0)
		return r;
	return x->svc < y->svc ? -1 : x->svc > y->svc;
}

/* The created Service (earlier, without errors) holding ip, or NULL. */
static const struct ksvc *
ip_owner(const struct svc_ctx *c, const struct ipaddr *ip)
{
	struct ip_use	 key;
	size_t		 lo = 0, hi = c->al->nips, mid;

	memset(&key, 0, sizeof(key));
	key.ip = *ip;
	while (lo < hi) {		/* the first entry >= (ip, 0) */
		mid = lo + (hi - lo) / 2;
		if (ip_use_cmp(&c->al->ips[mid], &key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < c->al->nips && c->al->ips[lo].svc < c->idx &&
	    ipaddr_equal(&c->al->ips[lo].ip, ip); lo++)
		if (!c->set->svcs.v[c->al->ips[lo].svc]->invalid)
			return c->set->svcs.v[c->al->ips[lo].svc];
	return NULL;
}

/* Name the holder, which the API server does not: files hold many. */
static void
note_holder(struct svc_ctx *c, const struct ynode *node, const char *field,
    const struct ksvc *o)
{
	kobj_warn(&c->dc, node, DIAG_NOTE, field, NULL, "held by Service "
	    "%s/%s", o->meta.ns, o->meta.name);
}

/* allocClusterIPs for the requested addresses. */
static void
alloc_cluster_ips(struct svc_ctx *c)
{
	const struct ksvc_spec	*sp = &c->s->spec;
	const struct kstrlist	*l = &sp->cluster_ips;
	const struct ksvc	*o;
	struct ipaddr		 ip;
	size_t			 i;

	if (c->alloc_failed || is(sp->type, "ExternalName") || headless(c->s))
		return;
	for (i = 0; i < l->n && i < 2; i++) {
		if (ipaddr_parse(l->v[i], &ip) == -1 ||
		    (o = ip_owner(c, &ip)) == NULL)
			continue;
		kobj_err(&c->dc, l->y->items[i], DIAG_INVALID,
		    "spec.clusterIPs", l->v[i], "failed to allocate IP %s: "
		    "provided IP is already allocated", l->v[i]);
		c->n++;
		note_holder(c, l->y->items[i], "spec.clusterIPs", o);
		c->alloc_failed = 1;
		return;
	}
}

/*
 * The port allocator's Allocate(np) within this Service's operation:
 * range first, then taken (by a created Service or earlier in this
 * one).  Reports at field and returns -1 when it fails.
 */
static int
np_allocate(struct svc_ctx *c, const struct ynode *node, const char *field,
    int64_t np, int hc)
{
	uint32_t	 w;
	char		 why[128], bad[24];

	snprintf(bad, sizeof(bad), "%lld", (long long)np);
	if (np < c->pcfg->node_port_min || np > c->pcfg->node_port_max) {
		snprintf(why, sizeof(why), "provided port is not in the valid "
		    "range. The range of valid ports is %u-%u",
		    c->pcfg->node_port_min, c->pcfg->node_port_max);
		w = 0;
	} else if ((w = c->al->port_owner[np]) != 0)
		snprintf(why, sizeof(why), "provided port is already "
		    "allocated");
	else {
		c->al->port_owner[np] = (uint32_t)c->idx + 1;
		return 0;
	}
	/* The health-check port's failure is not a field error there. */
	if (hc)
		kobj_err(&c->dc, node, DIAG_NOTE, field, NULL, "Internal error "
		    "occurred: failed to allocate requested HealthCheck "
		    "NodePort %s: %s", bad, why);
	else
		kobj_err(&c->dc, node, DIAG_INVALID, field, bad, "%s", why);
	c->n++;
	if (w != 0 && w != c->idx + 1)
		note_holder(c, node, field, c->set->svcs.v[w - 1]);
	c->alloc_failed = 1;
	return -1;
}

/* findRequestedNodePort: the first nodePort given for port number. */
static int64_t
requested_node_port(const struct ksvc_spec *sp, int64_t port)
{
	size_t i;

	for (i = 0; i < sp->ports.n; i++)
		if (sp->ports.v[i].port.v == port &&
		    sp->ports.v[i].node_port.set &&
		    sp->ports.v[i].node_port.v != 0)
			return sp->ports.v[i].node_port.v;
	return 0;
}

/*
 * initNodePorts: one NodePort per port number, shared by its protocols
 * (DNS on 53/TCP and 53/UDP), and a port with none takes the number's.
 * What is left for AllocateNext res_alloc() assigns.  Then the explicit
 * healthCheckNodePort, from the same allocator.  Ports are marked with
 * this Service; one_service() releases them if the Service fails.
 */
static void
alloc_node_ports(struct svc_ctx *c)
{
	struct ksvc_spec	*sp = &c->s->spec;
	int64_t			*by_port = NULL, np, want;
	char			 f[VAL_PATH_MAX];
	size_t			 i, j;
	int			 all;

	if (c->alloc_failed || c->al->port_owner == NULL ||
	    (!is(sp->type, "NodePort") &&
	    !is(sp->type, "LoadBalancer")))
		return;
	all = is(sp->type, "NodePort") ||
	    sp->allocate_load_balancer_node_ports.v != 0;
	if (sp->ports.n > 0 &&
	    (by_port = calloc(sp->ports.n, sizeof(*by_port))) == NULL)
		return;
	for (i = 0; i < sp->ports.n; i++) {
		struct ksvc_port *p = &sp->ports.v[i];

		np = p->node_port.set ? p->node_port.v : 0;
		if (np == 0 && !all)
			continue;	/* only explicit requests */
		for (j = 0; j < i; j++)
			if (by_port[j] != 0 &&
			    sp->ports.v[j].port.v == p->port.v)
				break;
		want = j < i ? by_port[j] : 0;
		val_path(f, "spec.ports[%zu].nodePort", i);
		if (want == 0) {
			if ((want = requested_node_port(sp, p->port.v)) == 0) {
				by_port[i] = NP_PENDING;
				continue;
			}
			if (np_allocate(c, val_at(p->y, "nodePort", p->y), f,
			    want, 0) == -1)
				break;
			p->node_port.set = 1;
			p->node_port.v = want;
			by_port[i] = want;
		} else if (np != want) {
			if (np == 0) {
				if (want != NP_PENDING) {
					p->node_port.set = 1;
					p->node_port.v = want;
				}
			} else if (np_allocate(c, val_at(p->y, "nodePort",
			    p->y), f, np, 0) == -1)
				break;
		}
	}
	free(by_port);
	if (!c->alloc_failed && needs_health_check(sp) &&
	    sp->health_check_node_port.set &&
	    sp->health_check_node_port.v != 0)
		(void)np_allocate(c, at(c, "healthCheckNodePort"),
		    "spec.healthCheckNodePort", sp->health_check_node_port.v,
		    1);
}

/* Undo alloc_node_ports() for a Service that was not created. */
static void
release_node_ports(struct svc_ctx *c)
{
	const struct ksvc_spec	*sp = &c->s->spec;
	uint32_t		 me = (uint32_t)c->idx + 1;
	int64_t			 np;
	size_t			 i;

	for (i = 0; c->al->port_owner != NULL && i <= sp->ports.n; i++) {
		np = i < sp->ports.n ? sp->ports.v[i].node_port.v :
		    sp->health_check_node_port.v;
		if (np > 0 && np < NODE_PORTS && c->al->port_owner[np] == me)
			c->al->port_owner[np] = 0;
	}
}

/* ---- 3. ValidateService ---- */

static void
by_type(struct svc_ctx *c)
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

/* validateServicePort */
static void
one_port(struct svc_ctx *c, size_t i)
{
	struct ksvc_port	*p = &c->s->spec.ports.v[i];
	const struct ynode	*py = p->y;
	char			 f[VAL_PATH_MAX];
	enum hc_kind		 hc;
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
	/* Valid Kubernetes, but svcproxy would open nothing for it: say
	   so where `check` can show it, once per port. */
	hc = val_hc_kind(&c->s->meta.annotations, c->pcfg->hc.check.kind);
	if (is(p->protocol, "SCTP") &&
	    !headless(c->s) && !is(c->s->spec.type, "ExternalName"))
		kobj_warn(&c->dc, val_at(py, "protocol", py), DIAG_NOTE, f,
		    NULL, "%s is not served (svcproxy relays TCP and UDP; "
		    "the kernels it is tested on have no SCTP module)%s",
		    p->protocol, hc == HC_NONE ? "" : ", and its "
		    "health check does not apply to this port (checks are "
		    "TCP)");
	else if (is(p->protocol, "UDP") && hc != HC_NONE &&
	    !headless(c->s) && !is(c->s->spec.type, "ExternalName"))
		kobj_warn(&c->dc, val_at(py, "protocol", py), DIAG_NOTE, f,
		    NULL, "its health check does not apply to this UDP port "
		    "(checks are TCP)");
	/* ValidatePortNumOrName, also on a targetPort defaulted to port. */
	val_path(f, "spec.ports[%zu].targetPort", i);
	if (p->target_port.is_str)
		c->n += val_port_name(&c->dc, val_at(py, "targetPort", py), f,
		    p->target_port.str);
	else
		c->n += val_port_number(&c->dc, val_at(py, "targetPort", py),
		    f, p->target_port.num);
	if (p->app_protocol != NULL)
		c->n += val_qualified_name(&c->dc,
		    val_at(py, "appProtocol", py),
		    val_path(f, "spec.ports[%zu].appProtocol", i),
		    p->app_protocol, p->app_protocol);
}

static void
ports(struct svc_ctx *c)
{
	size_t i;

	for (i = 0; i < c->s->spec.ports.n; i++)
		one_port(c, i);
}

/* The port rules ValidateService runs after the type check. */
static void
port_sets(struct svc_ctx *c)
{
	struct ksvc_spec	*sp = &c->s->spec;
	char			 f[VAL_PATH_MAX], bad[48];
	size_t			 i, j;

	for (i = 0; i < sp->ports.n && is(sp->type, "ClusterIP"); i++)
		if (sp->ports.v[i].node_port.set &&
		    sp->ports.v[i].node_port.v != 0)
			err(c, val_at(sp->ports.v[i].y, "nodePort",
			    sp->ports.v[i].y), DIAG_FORBIDDEN,
			    val_path(f, "spec.ports[%zu].nodePort", i), NULL,
			    "may not be used when `type` is 'ClusterIP'");
	/* One (protocol, nodePort); allocation has said it otherwise. */
	for (i = 0; i < sp->ports.n && !c->alloc_failed; i++) {
		const struct ksvc_port *p = &sp->ports.v[i];

		if (!p->node_port.set || p->node_port.v == 0)
			continue;
		for (j = 0; j < i; j++)
			if (sp->ports.v[j].node_port.v == p->node_port.v &&
			    is(sp->ports.v[j].protocol, p->protocol))
				break;
		if (j == i)
			continue;
		snprintf(bad, sizeof(bad), "%lld", (long long)p->node_port.v);
		err(c, val_at(p->y, "nodePort", p->y), DIAG_DUPLICATE,
		    val_path(f, "spec.ports[%zu].nodePort", i), bad, NULL);
	}
	/* One (protocol, port). */
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
static void
source_ranges(struct svc_ctx *c)
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

static void
external(struct svc_ctx *c)
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
static void
lb_ip(struct svc_ctx *c)
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

static void
lb_fields(struct svc_ctx *c)
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

static void
traffic_policies(struct svc_ctx *c)
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

/* Every svcproxy.io annotation svcproxy reads, sorted, for a typo. */
static const char *const known_annotations[] = {
	ANN_ACCEPT_PROXY_PROTOCOL, ANN_AFFINITY_MAX, ANN_CONNECT_TIMEOUT,
	ANN_DEFER_ACCEPT,
	ANN_HASH_KEY, ANN_HC, ANN_HC_CA, ANN_HC_EXPECT, ANN_HC_FALL,
	ANN_HC_HOST, ANN_HC_INTERVAL, ANN_HC_METHOD, ANN_HC_PATH,
	ANN_HC_PORT, ANN_HC_RISE, ANN_HC_SNI, ANN_HC_TIMEOUT, ANN_HC_ON_DOWN,
	ANN_HC_PANIC, ANN_IDLE_TIMEOUT, ANN_LB_ALGORITHM, ANN_MAGLEV_TABLE,
	ANN_MAX_CONNECTIONS, ANN_OUTLIER_BASE, ANN_OUTLIER_FAILURES,
	ANN_OUTLIER_PERCENT, ANN_PROXY_EXTERNAL_NAME, ANN_PROXY_PROTOCOL,
	ANN_SLOW_START, ANN_SOURCE_ADDRESS, ANN_UDP_IDLE_TIMEOUT,
	ANN_UDP_MAX_FLOWS, ANN_UDP_RESPONSES,
};

static void
unknown_annotation(struct svc_ctx *c, const struct kpair *kv)
{
	char	 list[4096];
	size_t	 i, len = 0;

	list[0] = '\0';
	for (i = 0; i < sizeof(known_annotations) /
	    sizeof(known_annotations[0]) && len < sizeof(list); i++)
		len += (size_t)snprintf(list + len, sizeof(list) - len,
		    "%s\"%s\"", i > 0 ? ", " : "", known_annotations[i]);
	kobj_warn(&c->dc, kv->ky, DIAG_NOT_SUPPORTED, "metadata.annotations",
	    kv->key, "svcproxy reads only %s; this one is ignored (a typo?)",
	    list);
}

/*
 * The health annotations, each over the ProxyConfig's default, then
 * what does not apply to the resulting check as warnings.
 */
static void
health(struct svc_ctx *c)
{
	const struct kstrmap	*m = &c->s->meta.annotations;
	const struct ynode	*at[VHC_NSETTINGS];
	const char		*val[VHC_NSETTINGS];
	struct hc_config	 hc = c->pcfg->hc;
	const char		*algo = c->pcfg->lb_algorithm;
	char			 f[VAL_PATH_MAX];
	size_t			 i, n0 = c->n;
	int			 k;

	memset(at, 0, sizeof(at));
	memset(val, 0, sizeof(val));
	for (i = 0; i < m->n; i++) {
		if (is(m->v[i].key, ANN_LB_ALGORITHM) &&
		    lb_find(m->v[i].value) != NULL)
			algo = m->v[i].value;
		if ((k = val_hc_find(m->v[i].key)) == -1)
			continue;
		at[k] = val_map_value(m, i);
		val[k] = m->v[i].value;
		c->n += val_hc_setting(&c->dc, at[k], val_path(f,
		    "metadata.annotations[%s]", m->v[i].key), (enum val_hc)k,
		    m->v[i].value, &hc);
	}
	/* Only a CA an https check will load must be there (an ignored
	   one is warned about below). */
	if (at[VHC_CA] != NULL && hc.check.ca != NULL &&
	    hc.check.kind == HC_HTTPS)
		c->n += val_hc_ca_file(&c->dc, at[VHC_CA], val_path(f,
		    "metadata.annotations[%s]", ANN_HC_CA), hc.check.ca);
	if (c->n == n0)
		val_hc_warnings(&c->dc, &hc, at, val, algo);
}

/*
 * The balancing annotations (val_lb.h), and what they do not apply to
 * as warnings: a field accepted is honoured, or check says it is not.
 */
static void
balancing(struct svc_ctx *c)
{
	const struct kstrmap	*m = &c->s->meta.annotations;
	const char		*algo = c->pcfg->lb_algorithm, *k, *v;
	const struct ynode	*vy;
	char			 f[VAL_PATH_MAX];
	uint32_t		 u;
	size_t			 i, bad;
	int			 key;

	for (i = 0; i < m->n; i++)
		if (is(m->v[i].key, ANN_LB_ALGORITHM) &&
		    lb_find(m->v[i].value) != NULL)
			algo = m->v[i].value;
	for (i = 0; i < m->n; i++) {
		k = m->v[i].key;
		v = m->v[i].value;
		vy = val_map_value(m, i);
		val_path(f, "metadata.annotations[%s]", k);
		if (is(k, ANN_HASH_KEY))
			bad = val_lb_hash_key(&c->dc, vy, f, v, &key);
		else if (is(k, ANN_MAGLEV_TABLE))
			bad = val_lb_table_size(&c->dc, vy, f, v, 0, &u);
		else if (is(k, ANN_AFFINITY_MAX)) {
			if ((bad = val_lb_affinity_max(&c->dc, vy, f, v, 0,
			    &u)) == 0 && !is(c->s->spec.session_affinity,
			    "ClientIP"))
				kobj_warn(&c->dc, vy, DIAG_INVALID, f, v, "not "
				    "honoured: spec.sessionAffinity is not "
				    "\"ClientIP\", so no affinity table is "
				    "kept");
			c->n += bad;
			continue;
		} else if (is(k, ANN_WEIGHT)) {
			kobj_warn(&c->dc, m->v[i].ky, DIAG_INVALID, f, v,
			    "not honoured on a Service: set it on the Pods "
			    "or EndpointSlices whose endpoints it weighs");
			continue;
		} else
			continue;
		c->n += bad;
		if (bad == 0 && !is(algo, "maglev"))
			kobj_warn(&c->dc, vy, DIAG_INVALID, f, v, "not "
			    "honoured: only the maglev algorithm hashes, and "
			    "this Service is balanced with %s", algo);
	}
}

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
 * svcproxy.io/proxy-external-name: "true" or "false".  When it cannot
 * be served, say so here (check prints it with its place), not only
 * in resolve's output: an ExternalName Service listens on its
 * externalIPs only (res.c, svc_external_name).
 */
static void
proxy_external_name(struct svc_ctx *c, const struct ynode *vy,
    const char *f, const char *v)
{
	const struct ksvc_spec *sp = &c->s->spec;

	if (!is(v, "true") && !is(v, "false")) {
		err(c, vy, DIAG_NOT_SUPPORTED, f, v, "supported values: "
		    "\"false\", \"true\"");
		return;
	}
	if (!is(sp->type, "ExternalName")) {
		kobj_warn(&c->dc, vy, DIAG_NOTE, f, NULL, "is ignored when "
		    "spec.type is not \"ExternalName\"");
		return;
	}
	if (!is(v, "true"))
		return;
	if (sp->ports.n == 0)
		kobj_warn(&c->dc, vy, DIAG_NOTE, f, NULL, "not proxied: the "
		    "Service has no spec.ports");
	else if (sp->external_ips.n == 0)
		kobj_warn(&c->dc, vy, DIAG_NOTE, f, NULL, "not proxied: the "
		    "Service has no spec.externalIPs to listen on (an "
		    "ExternalName Service has no clusterIP)");
}

/*
 * A client-address setting on a Service svcproxy does not proxy: say
 * so at the annotation (1), or 0.
 */
static int
not_proxied(struct svc_ctx *c, const struct ynode *vy, const char *f,
    const char *v)
{
	if (!headless(c->s) && !is(c->s->spec.type, "ExternalName"))
		return 0;
	kobj_warn(&c->dc, vy, DIAG_INVALID, f, v, "not honoured: svcproxy "
	    "does not proxy %s Services", headless(c->s) ? "headless" :
	    "ExternalName");
	return 1;
}

/* A TCP-only setting: a warning at each UDP or SCTP port it misses. */
static void
tcp_only(struct svc_ctx *c, const struct ynode *vy, const char *f,
    const char *v, const char *what)
{
	const struct ksvc_spec	*sp = &c->s->spec;
	size_t			 i;

	for (i = 0; i < sp->ports.n; i++)
		if (is(sp->ports.v[i].protocol, "UDP") ||
		    is(sp->ports.v[i].protocol, "SCTP"))
			kobj_warn(&c->dc, vy, DIAG_INVALID, f, v, "not "
			    "honoured on spec.ports[%zu] (%s): only TCP "
			    "connections %s", i, sp->ports.v[i].protocol,
			    what);
}

/*
 * svcproxy.io/proxy-protocol: the header its backends get first, and
 * what it does not reach as warnings: a Service svcproxy does not
 * proxy, v1 on UDP ports (a text line has no UDP form; v2 heads each
 * datagram), SCTP ports.
 */
static void
proxy_protocol(struct svc_ctx *c, const struct ynode *vy, const char *f,
    const char *v)
{
	const struct ksvc_spec	*sp = &c->s->spec;
	enum pp_version		 pv;
	size_t			 i;

	if (pp_version_parse(v, &pv) == -1) {
		err(c, vy, DIAG_NOT_SUPPORTED, f, v, "supported values: "
		    "\"none\", \"v1\", \"v2\"");
		return;
	}
	if (pv == PP_NONE)
		return;
	if (not_proxied(c, vy, f, v))
		return;
	for (i = 0; i < sp->ports.n; i++)
		if ((pv == PP_V1 && is(sp->ports.v[i].protocol, "UDP")) ||
		    is(sp->ports.v[i].protocol, "SCTP"))
			kobj_warn(&c->dc, vy, DIAG_INVALID, f, v, "not "
			    "honoured on spec.ports[%zu] (%s): %s", i,
			    sp->ports.v[i].protocol, pv == PP_V1 &&
			    is(sp->ports.v[i].protocol, "UDP") ? "v1 has "
			    "no UDP form, v2 has" : "only TCP connections "
			    "and UDP datagrams get the header");
}

/*
 * svcproxy.io/accept-proxy-protocol: clients send a PROXY header first.
 * Only senders ProxyConfig trusts may: without any, every connection
 * would be refused, so that is an error, not a surprise at run time.
 */
static void
accept_proxy(struct svc_ctx *c, const struct ynode *vy, const char *f,
    const char *v)
{
	if (!is(v, "true") && !is(v, "false")) {
		err(c, vy, DIAG_NOT_SUPPORTED, f, v, "supported values: "
		    "\"false\", \"true\"");
		return;
	}
	if (is(v, "false"))
		return;
	if (c->pcfg->npp_trusted == 0) {
		err(c, vy, DIAG_INVALID, f, v, "ProxyConfig "
		    "spec.proxyProtocolTrustedSources is empty: no sender "
		    "is trusted, so every connection would be refused");
		return;
	}
	if (not_proxied(c, vy, f, v))
		return;
	tcp_only(c, vy, f, v, "read a header");
}

/*
 * svcproxy.io/source-address: "client" connects to the backends from the
 * client's own address (transparent mode), "proxy" from svcproxy's.
 * Whether run may bind to foreign addresses (CAP_NET_ADMIN) check cannot
 * know: run says so at startup.  What it does not reach is a warning.
 */
static void
source_address(struct svc_ctx *c, const struct ynode *vy, const char *f,
    const char *v)
{
	if (!is(v, "client") && !is(v, "proxy")) {
		err(c, vy, DIAG_NOT_SUPPORTED, f, v, "supported values: "
		    "\"client\", \"proxy\"");
		return;
	}
	if (is(v, "proxy"))
		return;
	if (not_proxied(c, vy, f, v))
		return;
	tcp_only(c, vy, f, v, "come from the client's address");
}

/*
 * externalTrafficPolicy: Local means "keep the client's address".  At
 * the edge there are no node-local endpoints; what svcproxy can keep is
 * the address, when the Service says how (README, "Client address").
 * One that has no method, from an annotation or a ProxyConfig default,
 * and opted out of none explicitly, gets a warning naming the ways.
 */
static void
local_client_address(struct svc_ctx *c)
{
	const struct ksvc_spec	*sp = &c->s->spec;
	const struct kstrmap	*m = &c->s->meta.annotations;
	size_t			 i, tcp = 0;

	if (!externally_accessible(sp) ||
	    !is(sp->external_traffic_policy, "Local") || headless(c->s) ||
	    is(sp->type, "ExternalName") ||
	    c->pcfg->proxy_protocol != PP_NONE ||
	    c->pcfg->local_ca != PCFG_LOCAL_CA_NONE)
		return;
	for (i = 0; i < m->n; i++)
		if (is(m->v[i].key, ANN_PROXY_PROTOCOL) ||
		    is(m->v[i].key, ANN_SOURCE_ADDRESS))
			return;
	for (i = 0; i < sp->ports.n; i++)
		if (sp->ports.v[i].protocol == NULL ||
		    is(sp->ports.v[i].protocol, "TCP"))
			tcp++;
	if (tcp == 0)
		return;
	kobj_warn(&c->dc, at(c, "externalTrafficPolicy"), DIAG_INVALID,
	    "spec.externalTrafficPolicy", "Local", "the client's address "
	    "does not reach the backends: svcproxy connects to them from "
	    "its own; add the annotation " ANN_PROXY_PROTOCOL ": v2 (or v1: "
	    "backends that read a PROXY header) or " ANN_SOURCE_ADDRESS
	    ": client (transparent mode), or set ProxyConfig "
	    "spec.localTrafficClientAddress");
}

/*
 * A v1 PROXY header that comes from a ProxyConfig default, not from the
 * Service's own annotation (proxy_protocol() warns for that one): v1
 * has no datagram form, so say at each UDP port that it gets none.
 */
static void
default_v1_on_udp(struct svc_ctx *c)
{
	const struct ksvc_spec	*sp = &c->s->spec;
	const struct kstrmap	*m = &c->s->meta.annotations;
	const char		*from = "spec.proxyProtocol";
	char			 f[VAL_PATH_MAX];
	enum pp_version		 pv = c->pcfg->proxy_protocol;
	size_t			 i;

	if (headless(c->s) || is(sp->type, "ExternalName"))
		return;
	for (i = 0; i < m->n; i++)
		if (is(m->v[i].key, ANN_PROXY_PROTOCOL))
			return;
	/* res.c's order: the Service's default, then Local's method. */
	if (pv == PP_NONE && is(sp->external_traffic_policy, "Local") &&
	    c->pcfg->local_ca == PCFG_LOCAL_CA_PP_V1) {
		for (i = 0; i < m->n; i++)
			if (is(m->v[i].key, ANN_SOURCE_ADDRESS))
				return;
		pv = PP_V1;
		from = "spec.localTrafficClientAddress";
	}
	if (pv != PP_V1)
		return;
	for (i = 0; i < sp->ports.n; i++)
		if (is(sp->ports.v[i].protocol, "UDP"))
			kobj_warn(&c->dc, val_at(sp->ports.v[i].y, "protocol",
			    sp->ports.v[i].y), DIAG_INVALID, val_path(f,
			    "spec.ports[%zu].protocol", i), "UDP", "gets no "
			    "PROXY header: ProxyConfig %s asks for v1, which "
			    "has no UDP form; set " ANN_PROXY_PROTOCOL ": v2 "
			    "(or none) on the Service", from);
}

/* The annotations ValidateService reads, and svcproxy's own. */
static void
annotations(struct svc_ctx *c)
{
	const struct kstrmap	*m = &c->s->meta.annotations;
	const char		*hints = NULL, *mode = NULL;
	const struct ynode	*mode_y = NULL;
	char			 f[VAL_PATH_MAX], names[256];
	size_t			 i;

	for (i = 0; i < m->n; i++) {
		const char		*k = m->v[i].key, *v = m->v[i].value;
		const struct ynode	*vy = val_map_value(m, i);
		uint32_t		 ms;
		int64_t			 num;

		if (is(k, ANN_TOPOLOGY_HINTS))
			hints = v;
		if (is(k, ANN_TOPOLOGY_MODE)) {
			mode = v;
			mode_y = vy;
		}
		if (strncmp(k, "svcproxy.io/", 12) != 0)
			continue;
		val_path(f, "metadata.annotations[%s]", k);
		if (is(k, ANN_IDLE_TIMEOUT) || is(k, ANN_CONNECT_TIMEOUT) ||
		    is(k, ANN_UDP_IDLE_TIMEOUT)) {
			if (val_parse_duration(v, &ms) == -1 || ms == 0)
				err(c, vy, DIAG_INVALID, f, v, "must be a "
				    "duration greater than 0 (e.g. \"5s\", "
				    "\"1m30s\", \"250ms\")");
		} else if (is(k, ANN_UDP_RESPONSES)) {
			if (*v < '0' || *v > '9' ||
			    kobj_parse_int(v, &num) == -1 || num < 0 ||
			    num > UINT32_MAX)
				err(c, vy, DIAG_INVALID, f, v, "must be an "
				    "integer greater than or equal to 0");
		} else if (is(k, ANN_MAX_CONNECTIONS) ||
		    is(k, ANN_UDP_MAX_FLOWS)) {
			if (*v < '0' || *v > '9' ||
			    kobj_parse_int(v, &num) == -1 || num <= 0 ||
			    num > UINT32_MAX)
				err(c, vy, DIAG_INVALID, f, v,
				    "must be a positive integer");
		} else if (is(k, ANN_LB_ALGORITHM)) {
			if (lb_find(v) == NULL) {
				snprintf(names, sizeof(names), "supported "
				    "values: ");
				lb_names(names + strlen(names),
				    sizeof(names) - strlen(names));
				err(c, vy, DIAG_NOT_SUPPORTED, f, v, names);
			}
		} else if (is(k, ANN_PROXY_PROTOCOL)) {
			proxy_protocol(c, vy, f, v);
		} else if (is(k, ANN_ACCEPT_PROXY_PROTOCOL)) {
			accept_proxy(c, vy, f, v);
		} else if (is(k, ANN_SOURCE_ADDRESS)) {
			source_address(c, vy, f, v);
		} else if (is(k, ANN_DEFER_ACCEPT)) {
			if (!is(v, "true") && !is(v, "false"))
				err(c, vy, DIAG_NOT_SUPPORTED, f, v,
				    "supported values: \"false\", \"true\"");
		} else if (is(k, ANN_HASH_KEY) || is(k, ANN_MAGLEV_TABLE) ||
		    is(k, ANN_AFFINITY_MAX) || is(k, ANN_WEIGHT))
			continue;	/* balancing(), below */
		else if (is(k, ANN_PROXY_EXTERNAL_NAME))
			proxy_external_name(c, vy, f, v);
		else if (val_hc_find(k) == -1)
			unknown_annotation(c, &m->v[i]);
	}
	health(c);
	balancing(c);
	local_client_address(c);
	default_v1_on_udp(c);
	if (hints != NULL && mode != NULL && !is(hints, mode))
		err(c, mode_y, DIAG_INVALID, val_path(f,
		    "metadata.annotations[%s]", ANN_TOPOLOGY_MODE), mode,
		    "must match annotations[" ANN_TOPOLOGY_HINTS "] when both "
		    "are specified");
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
	annotations(c);
	if (sp->ports.n == 0 && !headless(c->s) &&
	    !is(sp->type, "ExternalName"))
		err(c, at(c, "ports"), DIAG_REQUIRED, "spec.ports", NULL,
		    NULL);
	by_type(c);
	ports(c);
	c->n += val_labels(&c->dc, &sp->selector, "spec.selector");
	affinity(c);
	/* ValidateServiceClusterIPsRelatedFields ran in cluster_ips(). */
	external(c);
	if (!is(sp->type, "ClusterIP") && !is(sp->type, "NodePort") &&
	    !is(sp->type, "LoadBalancer") && !is(sp->type, "ExternalName"))
		err(c, at(c, "type"), DIAG_NOT_SUPPORTED, "spec.type",
		    sp->type, "supported values: \"ClusterIP\", "
		    "\"ExternalName\", \"LoadBalancer\", \"NodePort\"");
	port_sets(c);
	source_ranges(c);
	lb_fields(c);
	lb_ip(c);
	traffic_policies(c);
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
	cluster_ips(&c);
	alloc_cluster_ips(&c);
	alloc_node_ports(&c);
	validate(&c);
	if (c.n > 0) {
		c.s->invalid = 1;
		release_node_ports(&c);
	}
}

/* Every requested cluster IP, for ip_owner(). */
static void
collect_ips(struct kset *set, struct svc_alloc *al)
{
	size_t i, k;

	if (set->svcs.n == 0 ||
	    (al->ips = calloc(set->svcs.n * 2, sizeof(*al->ips))) == NULL)
		return;
	for (i = 0; i < set->svcs.n; i++) {
		const struct ksvc_spec *sp = &set->svcs.v[i]->spec;

		if (is(sp->type, "ExternalName"))
			continue;
		for (k = 0; k < sp->cluster_ips.n && k < 2; k++)
			if (ipaddr_parse(sp->cluster_ips.v[k],
			    &al->ips[al->nips].ip) == 0)
				al->ips[al->nips++].svc = i;
	}
	qsort(al->ips, al->nips, sizeof(*al->ips), ip_use_cmp);
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
	collect_ips(set, &al);
	for (i = 0; i < set->svcs.n; i++)
		one_service(set, i, &al, pcfg, diags);
	free(al.ips);
	free(al.port_owner);
}
