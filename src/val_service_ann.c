/*
 * A Service's annotations: the ones ValidateService reads (topology)
 * and svcproxy.io's own, each parsed as resolution will read it, and
 * what a setting does not reach (a port, a kind of Service) as warnings.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "lb.h"
#include "proxyproto.h"
#include "val_lb.h"
#include "val_service_int.h"

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

/*
 * svcproxy.io/proxy-external-name: "true" or "false".  When it cannot
 * be served, say so here (check prints it with its place), not only
 * in resolve's output: an ExternalName Service listens on its
 * externalIPs only (res_svc.c, svc_external_name).
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
	/* res_svc.c's order: the Service's default, then Local's method. */
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
void
val_svc_annotations(struct svc_ctx *c)
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
