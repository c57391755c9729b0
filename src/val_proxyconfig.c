/*
 * ProxyConfig (svcproxy.io/v1alpha1): svcproxy's own settings.  Not a
 * Kubernetes kind, so the rules are ours, worded in the API server's
 * style.  A bad field keeps its default and counts as an error; the
 * rest of the settings still apply.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb.h"
#include "proxyproto.h"
#include "val_int.h"
#include "val_lb.h"

#define WORKERS_MAX	256
#define DURATION_MSG	"must be a duration greater than 0 (e.g. \"5s\", " \
	"\"1m30s\", \"250ms\")"

/* Fill p with every default (what an absent ProxyConfig means). */
static void
pcfg_defaults(struct pcfg *p)
{
	memset(p, 0, sizeof(*p));
	/* No nodeAddresses: NodePorts listen on every address. */
	p->node_port_min = PCFG_DEFAULT_NODE_PORT_MIN;
	p->node_port_max = PCFG_DEFAULT_NODE_PORT_MAX;
	/* No loadBalancerPool: LoadBalancer Services get no address. */
	(void)cidr_parse(PCFG_DEFAULT_SERVICE_CIDR, &p->service_cidr, 1);
	p->workers = 0;			/* one per CPU */
	(void)netaddr_parse_hostport(PCFG_DEFAULT_ADMIN_ADDRESS, &p->admin_ip,
	    &p->admin_port);
	p->connect_timeout_ms = PCFG_DEFAULT_CONNECT_TIMEOUT_MS;
	p->idle_timeout_ms = PCFG_DEFAULT_IDLE_TIMEOUT_MS;
	p->drain_timeout_ms = PCFG_DEFAULT_DRAIN_TIMEOUT_MS;
	p->max_connections = 0;		/* from the fd limit */
	p->udp_idle_timeout_ms = PCFG_DEFAULT_UDP_IDLE_TIMEOUT_MS;
	p->connection_log = CONN_LOG_INFO;
	p->listener_sockets = PCFG_LSN_AUTO;
	p->lb_algorithm = PCFG_DEFAULT_LB_ALGORITHM;
	p->hash_key = 0;		/* client-ip */
	p->maglev_table_size = PCFG_DEFAULT_MAGLEV_TABLE;
	p->affinity_max = PCFG_DEFAULT_AFFINITY_MAX;
	val_hc_defaults(&p->hc);
	p->dns_domain = PCFG_DEFAULT_DNS_DOMAIN;
	p->dns_ttl = PCFG_DEFAULT_DNS_TTL;
	p->xn_min_ttl_ms = PCFG_DEFAULT_XN_MIN_TTL_MS;
	p->xn_max_ttl_ms = PCFG_DEFAULT_XN_MAX_TTL_MS;
	p->xn_hold_ms = PCFG_DEFAULT_XN_HOLD_MS;
	p->proxy_protocol = PP_NONE;	/* backends see svcproxy */
	p->pp_timeout_ms = PP_DEFAULT_ACCEPT_TIMEOUT_MS;
}

/*
 * spec.localTrafficClientAddress: the method an externalTrafficPolicy:
 * Local Service gets when it names none (README, "Client address").
 */
static size_t
local_ca(const struct diag_ctx *dc, const struct kpcfg_spec *s,
    struct pcfg *out)
{
	static const struct {
		const char		*name;
		enum pcfg_local_ca	 v;
	} names[] = {
		{ "none", PCFG_LOCAL_CA_NONE },
		{ "proxy-protocol-v1", PCFG_LOCAL_CA_PP_V1 },
		{ "proxy-protocol-v2", PCFG_LOCAL_CA_PP_V2 },
		{ "transparent", PCFG_LOCAL_CA_TRANSPARENT },
	};
	size_t	i;

	if (s->local_ca == NULL)
		return 0;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s->local_ca, names[i].name) == 0) {
			out->local_ca = names[i].v;
			return 0;
		}
	kobj_err(dc, val_at(s->y, "localTrafficClientAddress", NULL),
	    DIAG_NOT_SUPPORTED, "spec.localTrafficClientAddress", s->local_ca,
	    "supported values: \"none\", \"proxy-protocol-v1\", "
	    "\"proxy-protocol-v2\", \"transparent\"");
	return 1;
}

static size_t
duration(const struct diag_ctx *dc, const struct kpcfg_spec *s,
    const char *name, const char *value, uint32_t *out)
{
	char		p[VAL_PATH_MAX];
	uint32_t	ms;

	if (value == NULL)
		return 0;
	if (val_parse_duration(value, &ms) == -1 || ms == 0) {
		kobj_err(dc, val_at(s->y, name, NULL), DIAG_INVALID,
		    val_path(p, "spec.%s", name), value, "%s", DURATION_MSG);
		return 1;
	}
	*out = ms;
	return 0;
}

/* "MIN-MAX", 1 <= MIN <= MAX <= 65535. */
static size_t
port_range(const struct diag_ctx *dc, const struct kpcfg_spec *s,
    struct pcfg *out)
{
	const char	*v = s->node_port_range, *dash;
	char		 lo[8];
	int64_t		 min, max;

	if (v == NULL)
		return 0;
	if ((dash = strchr(v, '-')) != NULL && dash > v &&
	    (size_t)(dash - v) < sizeof(lo)) {
		memcpy(lo, v, (size_t)(dash - v));
		lo[dash - v] = '\0';
		if (lo[0] >= '0' && lo[0] <= '9' && dash[1] >= '0' &&
		    dash[1] <= '9' && kobj_parse_int(lo, &min) == 0 &&
		    kobj_parse_int(dash + 1, &max) == 0 && min >= 1 &&
		    min <= max && max <= 65535) {
			out->node_port_min = (uint16_t)min;
			out->node_port_max = (uint16_t)max;
			return 0;
		}
	}
	kobj_err(dc, val_at(s->y, "nodePortRange", NULL), DIAG_INVALID,
	    "spec.nodePortRange", v, "%s",
	    "must be MIN-MAX with 1 <= MIN <= MAX <= 65535 (e.g. "
	    "\"30000-32767\")");
	return 1;
}

static size_t
node_addresses(const struct diag_ctx *dc, struct arena *a,
    const struct kpcfg_spec *s, struct pcfg *out)
{
	const struct kstrlist	*l = &s->node_addresses;
	struct ipaddr		*v;
	char			 p[VAL_PATH_MAX];
	size_t			 i, j, n = 0;

	if (l->n == 0 || (v = arena_calloc(a, l->n, sizeof(*v))) == NULL)
		return 0;
	for (i = 0; i < l->n; i++) {
		const struct ynode *at = l->y->items[i];

		val_path(p, "spec.nodeAddresses[%zu]", i);
		if (val_ip(dc, at, p, l->v[i], 0, &v[i]) > 0) {
			n++;
			continue;
		}
		for (j = 0; j < i; j++)
			if (ipaddr_equal(&v[i], &v[j])) {
				kobj_err(dc, at, DIAG_DUPLICATE, p, l->v[i],
				    NULL);
				n++;
			}
	}
	if (n == 0) {
		out->node_addresses = v;
		out->nnode_addresses = l->n;
	}
	return n;
}

/*
 * A list of CIDRs at spec.FIELD, into *out / *nout (arena) when every
 * one is valid.  The count of errors.
 */
static size_t
cidr_list(const struct diag_ctx *dc, struct arena *a,
    const struct kstrlist *l, const char *field, struct cidr **out,
    size_t *nout)
{
	struct cidr	*v;
	char		 p[VAL_PATH_MAX];
	size_t		 i, n = 0;

	if (l->n == 0 || (v = arena_calloc(a, l->n, sizeof(*v))) == NULL)
		return 0;
	for (i = 0; i < l->n; i++)
		n += val_cidr(dc, l->y->items[i],
		    val_path(p, "spec.%s[%zu]", field, i), l->v[i], &v[i]);
	if (n == 0) {
		*out = v;
		*nout = l->n;
	}
	return n;
}

/* The senders whose PROXY protocol headers are believed. */
static size_t
pp_trusted(const struct diag_ctx *dc, struct arena *a,
    const struct kpcfg_spec *s, struct pcfg *out)
{
	return cidr_list(dc, a, &s->pp_trusted,
	    "proxyProtocolTrustedSources", &out->pp_trusted,
	    &out->npp_trusted);
}

static size_t
lb_pool(const struct diag_ctx *dc, struct arena *a,
    const struct kpcfg_spec *s, struct pcfg *out)
{
	return cidr_list(dc, a, &s->load_balancer_pool, "loadBalancerPool",
	    &out->lb_pool, &out->nlb_pool);
}

/* spec.loadBalancing.algorithm: a name the balancer registry knows. */
static size_t
lb_algorithm(const struct diag_ctx *dc, const struct kpcfg_lb *lb,
    struct pcfg *out)
{
	char names[256];

	if (lb->algorithm == NULL)
		return 0;
	if (lb_find(lb->algorithm) != NULL) {
		out->lb_algorithm = lb->algorithm;
		return 0;
	}
	kobj_err(dc, val_at(lb->y, "algorithm", NULL), DIAG_NOT_SUPPORTED,
	    "spec.loadBalancing.algorithm", lb->algorithm,
	    "supported values: %s", lb_names(names, sizeof(names)));
	return 1;
}

/*
 * spec.loadBalancing's hashKey and maglevTableSize: the defaults of the
 * Services' annotations.  A Service whose algorithm is not maglev
 * ignores them; check says so for an annotation, not for these
 * defaults (they apply to whichever Service asks for maglev).
 */
static size_t
lb_params(const struct diag_ctx *dc, const struct kpcfg_lb *lb,
    struct pcfg *out)
{
	size_t n = 0;

	if (lb->hash_key != NULL)
		n += val_lb_hash_key(dc, val_at(lb->y, "hashKey", NULL),
		    "spec.loadBalancing.hashKey", lb->hash_key,
		    &out->hash_key);
	if (lb->maglev_table_size.set)
		n += val_lb_table_size(dc, val_at(lb->y, "maglevTableSize",
		    NULL), "spec.loadBalancing.maglevTableSize", NULL,
		    lb->maglev_table_size.v, &out->maglev_table_size);
	return n;
}

/* spec.sessionAffinity.maxEntriesPerPort. */
static size_t
session_affinity(const struct diag_ctx *dc, const struct kpcfg_affinity *a,
    struct pcfg *out)
{
	if (!a->max_entries_per_port.set)
		return 0;
	return val_lb_affinity_max(dc, val_at(a->y, "maxEntriesPerPort",
	    NULL), "spec.sessionAffinity.maxEntriesPerPort", NULL,
	    a->max_entries_per_port.v, &out->affinity_max);
}

/*
 * spec.dns: listen (IP:PORT; off unless set), clusterDomain (a DNS-1123
 * subdomain, kept in lower case since DNS names compare so; a final dot
 * is allowed, as in kubelet's --cluster-domain), ttl (seconds, 0 to
 * 3600 as CoreDNS's kubernetes plugin allows; default 5, its default:
 * answers follow reloads and headless endpoints come and go).
 */
static size_t
dns(const struct diag_ctx *dc, struct arena *a, const struct kpcfg_dns *d,
    struct pcfg *out)
{
	char		 bad[24], *dom;
	size_t		 n = 0, len, i;

	if (d->y == NULL)
		return 0;
	if (d->listen != NULL) {
		if (netaddr_parse_hostport(d->listen, &out->dns_ip,
		    &out->dns_port) == -1 || out->dns_port == 0) {
			kobj_err(dc, val_at(d->y, "listen", NULL),
			    DIAG_INVALID, "spec.dns.listen", d->listen, "%s",
			    "must be IP:PORT or [IPv6]:PORT with a port from 1 "
			    "to 65535 (e.g. \"127.0.0.1:53\", \"[::1]:53\")");
			n++;
		} else
			out->dns_on = 1;
	}
	if (d->cluster_domain != NULL) {
		len = strlen(d->cluster_domain);
		if (len > 1 && d->cluster_domain[len - 1] == '.')
			len--;
		if ((dom = arena_alloc(a, len + 1)) == NULL)
			return n + 1;
		for (i = 0; i < len; i++)
			dom[i] = (char)tolower((unsigned char)
			    d->cluster_domain[i]);
		dom[len] = '\0';
		if (val_dns1123_subdomain(dc, val_at(d->y, "clusterDomain",
		    NULL), "spec.dns.clusterDomain", dom) > 0)
			n++;
		else
			out->dns_domain = dom;
	}
	if (d->ttl.set) {
		if (d->ttl.v < 0 || d->ttl.v > PCFG_DNS_TTL_MAX) {
			snprintf(bad, sizeof(bad), "%lld", (long long)d->ttl.v);
			kobj_err(dc, val_at(d->y, "ttl", NULL), DIAG_INVALID,
			    "spec.dns.ttl", bad, "must be between 0 and %d, "
			    "inclusive (seconds)", PCFG_DNS_TTL_MAX);
			n++;
		} else
			out->dns_ttl = (uint32_t)d->ttl.v;
	}
	return n;
}

/* One duration of spec.externalName, greater than 0. */
static size_t
xn_duration(const struct diag_ctx *dc, const struct kpcfg_xn *x,
    const char *name, const char *value, uint32_t *out)
{
	char		p[VAL_PATH_MAX];
	uint32_t	ms;

	if (value == NULL)
		return 0;
	if (val_parse_duration(value, &ms) == -1 || ms == 0) {
		kobj_err(dc, val_at(x->y, name, NULL), DIAG_INVALID,
		    val_path(p, "spec.externalName.%s", name), value, "%s",
		    DURATION_MSG);
		return 1;
	}
	*out = ms;
	return 0;
}

/*
 * spec.externalName: the resolver of proxied ExternalName Services
 * (README, "ExternalName").  nameservers: IP or IP:PORT (53 unless
 * given), at most PCFG_XN_MAX_NS; none given means /etc/resolv.conf's,
 * read where the configuration is read.  minTTL and maxTTL clamp a
 * record's TTL; holdOnFailure is how long the last good answer is kept
 * while resolution fails.
 */
static size_t
external_name(const struct diag_ctx *dc, const struct kpcfg_xn *x,
    struct pcfg *out)
{
	const struct kstrlist	*l = &x->nameservers;
	char			 p[VAL_PATH_MAX];
	size_t			 n = 0, i;

	if (x->y == NULL)
		return 0;
	for (i = 0; i < l->n; i++) {
		struct ipaddr	ip;
		uint16_t	port = 53;

		if (ipaddr_parse(l->v[i], &ip) == -1 &&
		    (netaddr_parse_hostport(l->v[i], &ip, &port) == -1 ||
		    port == 0)) {
			kobj_err(dc, l->y != NULL && l->y->n > i ?
			    l->y->items[i] : x->y, DIAG_INVALID,
			    val_path(p, "spec.externalName.nameservers[%zu]",
			    i), l->v[i], "%s", "must be an IP address, "
			    "IP:PORT or [IPv6]:PORT (e.g. \"127.0.0.53\", "
			    "\"[::1]:5353\")");
			n++;
			continue;
		}
		if (out->xn_nns == PCFG_XN_MAX_NS) {
			kobj_err(dc, l->y, DIAG_TOO_MANY,
			    "spec.externalName.nameservers", NULL,
			    "must have at most %d items", PCFG_XN_MAX_NS);
			n++;
			break;
		}
		out->xn_ns[out->xn_nns] = ip;
		out->xn_ns_port[out->xn_nns++] = port;
	}
	if (out->xn_nns > 0)
		out->xn_ns_from = "spec.externalName.nameservers";
	n += xn_duration(dc, x, "minTTL", x->min_ttl, &out->xn_min_ttl_ms);
	n += xn_duration(dc, x, "maxTTL", x->max_ttl, &out->xn_max_ttl_ms);
	n += xn_duration(dc, x, "holdOnFailure", x->hold_on_failure,
	    &out->xn_hold_ms);
	if (out->xn_min_ttl_ms > out->xn_max_ttl_ms) {
		kobj_err(dc, val_at(x->y, "minTTL", NULL), DIAG_INVALID,
		    "spec.externalName.minTTL", x->min_ttl, "%s",
		    "must not be greater than spec.externalName.maxTTL");
		n++;
	}
	return n;
}

/* One spec.healthCheck setting, given as text (s) or as an integer. */
static size_t
hc_one(const struct diag_ctx *dc, const struct ynode *map, enum val_hc k,
    const char *s, const struct kint *num, struct hc_config *out)
{
	const char	*field = val_hc_field(k), *name;
	char		 p[VAL_PATH_MAX], buf[24];

	if (num != NULL) {
		if (!num->set)
			return 0;
		snprintf(buf, sizeof(buf), "%lld", (long long)num->v);
		s = buf;	/* integers are not kept as strings */
	}
	if (s == NULL)
		return 0;
	name = strrchr(field, '.') != NULL ? strrchr(field, '.') + 1 : field;
	return val_hc_setting(dc, val_at(map, name, NULL),
	    val_path(p, "spec.healthCheck.%s", field), k, s, out);
}

/*
 * spec.healthCheck: the defaults of the Services' health annotations,
 * checked by the same rules (val_health.c).  Whether a setting applies
 * is a Service's question (its kind may differ), but slow start under
 * an algorithm that does not ramp weights (maglev) is already known here.
 */
static size_t
health_check(const struct diag_ctx *dc, const struct kpcfg_hc *h,
    struct pcfg *out)
{
	const struct ynode	*o = h->outlier.y;
	size_t			 n = 0;

	if (h->y == NULL)
		return 0;
	n += hc_one(dc, h->y, VHC_TYPE, h->type, NULL, &out->hc);
	n += hc_one(dc, h->y, VHC_INTERVAL, h->interval, NULL, &out->hc);
	n += hc_one(dc, h->y, VHC_TIMEOUT, h->timeout, NULL, &out->hc);
	n += hc_one(dc, h->y, VHC_RISE, NULL, &h->rise, &out->hc);
	n += hc_one(dc, h->y, VHC_FALL, NULL, &h->fall, &out->hc);
	n += hc_one(dc, h->y, VHC_PATH, h->path, NULL, &out->hc);
	n += hc_one(dc, h->y, VHC_HOST, h->host, NULL, &out->hc);
	n += hc_one(dc, h->y, VHC_METHOD, h->method, NULL, &out->hc);
	n += hc_one(dc, h->y, VHC_EXPECT, h->expect_status, NULL, &out->hc);
	n += hc_one(dc, o, VHC_OUTLIER_FAILURES, NULL,
	    &h->outlier.consecutive_failures, &out->hc);
	n += hc_one(dc, o, VHC_EJECT_BASE, h->outlier.base_ejection_time,
	    NULL, &out->hc);
	n += hc_one(dc, o, VHC_EJECT_PERCENT, NULL,
	    &h->outlier.max_ejection_percent, &out->hc);
	n += hc_one(dc, h->y, VHC_PANIC, NULL, &h->panic_threshold, &out->hc);
	n += hc_one(dc, h->y, VHC_ON_DOWN, h->on_down, NULL, &out->hc);
	n += hc_one(dc, h->y, VHC_SLOW_START, h->slow_start, NULL, &out->hc);
	if (h->slow_start != NULL && out->hc.slow_start_ms > 0 &&
	    !val_lb_uses_weights(out->lb_algorithm))
		kobj_warn(dc, val_at(h->y, "slowStart", NULL), DIAG_INVALID,
		    "spec.healthCheck.slowStart", h->slow_start, "not honoured: "
		    "%s does not ramp weights (its table depends on the "
		    "endpoints alone)", out->lb_algorithm);
	return n;
}

static size_t
spec(const struct diag_ctx *dc, struct arena *a, const struct kpcfg_spec *s,
    struct pcfg *out)
{
	const struct ynode	*at;
	char			 bad[24];
	size_t			 n = 0;

	n += node_addresses(dc, a, s, out);
	n += port_range(dc, s, out);
	n += lb_pool(dc, a, s, out);
	if (s->service_cidr != NULL)
		n += val_cidr(dc, val_at(s->y, "serviceCIDR", NULL),
		    "spec.serviceCIDR", s->service_cidr, &out->service_cidr);
	if (s->workers.set) {
		if (s->workers.v < 0 || s->workers.v > WORKERS_MAX) {
			snprintf(bad, sizeof(bad), "%lld",
			    (long long)s->workers.v);
			kobj_err(dc, val_at(s->y, "workers", NULL),
			    DIAG_INVALID, "spec.workers", bad,
			    "must be between 0 and %d, inclusive "
			    "(0: one per CPU)", WORKERS_MAX);
			n++;
		} else
			out->workers = (int)s->workers.v;
	}
	if (s->admin_address != NULL && netaddr_parse_hostport(s->admin_address,
	    &out->admin_ip, &out->admin_port) == -1) {
		(void)netaddr_parse_hostport(PCFG_DEFAULT_ADMIN_ADDRESS,
		    &out->admin_ip, &out->admin_port);
		kobj_err(dc, val_at(s->y, "adminAddress", NULL), DIAG_INVALID,
		    "spec.adminAddress", s->admin_address, "%s",
		    "must be IP:PORT or [IPv6]:PORT with a port from 0 to "
		    "65535 (e.g. \"127.0.0.1:9180\", \"[::1]:9180\")");
		n++;
	}
	n += duration(dc, s, "connectTimeout", s->connect_timeout,
	    &out->connect_timeout_ms);
	n += duration(dc, s, "idleTimeout", s->idle_timeout,
	    &out->idle_timeout_ms);
	n += duration(dc, s, "drainTimeout", s->drain_timeout,
	    &out->drain_timeout_ms);
	if (s->max_connections.set) {
		if (s->max_connections.v < 0) {
			snprintf(bad, sizeof(bad), "%lld",
			    (long long)s->max_connections.v);
			kobj_err(dc, val_at(s->y, "maxConnections", NULL),
			    DIAG_INVALID, "spec.maxConnections", bad, "%s",
			    "must be greater than or equal to 0 (0: from "
			    "the open-file limit)");
			n++;
		} else
			out->max_connections = (uint32_t)s->max_connections.v;
	}
	n += duration(dc, s, "udpIdleTimeout", s->udp_idle_timeout,
	    &out->udp_idle_timeout_ms);
	if (s->udp_max_flows.set && (s->udp_max_flows.v < 0 ||
	    s->udp_max_flows.v > UINT32_MAX)) {
		snprintf(bad, sizeof(bad), "%lld",
		    (long long)s->udp_max_flows.v);
		kobj_err(dc, val_at(s->y, "udpMaxFlows", NULL), DIAG_INVALID,
		    "spec.udpMaxFlows", bad, "%s", "must be from 0 to "
		    "4294967295 (0: from the open-file limit)");
		n++;
	} else if (s->udp_max_flows.set)
		out->udp_max_flows = (uint32_t)s->udp_max_flows.v;
	if (s->connection_log != NULL) {
		at = val_at(s->y, "connectionLog", NULL);
		if (strcmp(s->connection_log, "off") == 0)
			out->connection_log = CONN_LOG_OFF;
		else if (strcmp(s->connection_log, "info") == 0)
			out->connection_log = CONN_LOG_INFO;
		else if (strcmp(s->connection_log, "debug") == 0)
			out->connection_log = CONN_LOG_DEBUG;
		else {
			kobj_err(dc, at, DIAG_NOT_SUPPORTED,
			    "spec.connectionLog", s->connection_log,
			    "supported values: \"debug\", \"info\", \"off\"");
			n++;
		}
	}
	if (s->listener_sockets != NULL) {
		if (strcmp(s->listener_sockets, "Auto") == 0)
			out->listener_sockets = PCFG_LSN_AUTO;
		else if (strcmp(s->listener_sockets, "PerWorker") == 0)
			out->listener_sockets = PCFG_LSN_PER_WORKER;
		else if (strcmp(s->listener_sockets, "Shared") == 0)
			out->listener_sockets = PCFG_LSN_SHARED;
		else {
			kobj_err(dc, val_at(s->y, "listenerSockets", NULL),
			    DIAG_NOT_SUPPORTED, "spec.listenerSockets",
			    s->listener_sockets, "supported values: \"Auto\", "
			    "\"PerWorker\", \"Shared\"");
			n++;
		}
	}
	if (s->log_format != NULL) {
		if (strcmp(s->log_format, "json") == 0)
			out->log_json = 1;
		else if (strcmp(s->log_format, "text") != 0) {
			kobj_err(dc, val_at(s->y, "logFormat", NULL),
			    DIAG_NOT_SUPPORTED, "spec.logFormat", s->log_format,
			    "supported values: \"json\", \"text\"");
			n++;
		}
	}
	if (s->proxy_protocol != NULL && pp_version_parse(s->proxy_protocol,
	    &out->proxy_protocol) == -1) {
		kobj_err(dc, val_at(s->y, "proxyProtocol", NULL),
		    DIAG_NOT_SUPPORTED, "spec.proxyProtocol",
		    s->proxy_protocol, "supported values: \"none\", \"v1\", "
		    "\"v2\"");
		n++;
	}
	n += pp_trusted(dc, a, s, out);
	n += local_ca(dc, s, out);
	n += duration(dc, s, "proxyProtocolTimeout", s->pp_timeout,
	    &out->pp_timeout_ms);
	/* A bool: the decoder has already refused anything else. */
	if (s->keep_established.set)
		out->keep_established = s->keep_established.v != 0;
	n += lb_algorithm(dc, &s->load_balancing, out);
	n += lb_params(dc, &s->load_balancing, out);
	n += session_affinity(dc, &s->session_affinity, out);
	n += health_check(dc, &s->health_check, out);
	n += dns(dc, a, &s->dns, out);
	n += external_name(dc, &s->external_name, out);
	return n;
}

void
val_proxyconfig(struct kset *set, struct pcfg *pcfg, struct diag_list *diags)
{
	struct kpcfg		*c = set->pcfg;
	struct diag_ctx		 dc;
	size_t			 n;

	pcfg_defaults(pcfg);
	if (c == NULL)
		return;
	val_ctx(&dc, diags, c->file, "ProxyConfig", &c->meta);
	n = val_meta(&dc, &c->meta, c->y, val_dns1123_subdomain, 0);
	n += spec(&dc, &set->arena, &c->spec, pcfg);
	if (n > 0)
		c->invalid = 1;
}
