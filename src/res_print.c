/*
 * res_print: `svcproxy resolve` output.  JSON has one fixed shape (the
 * JSON files of tests/cases pin it); text is for people.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "diag.h"
#include "health_state.h"
#include "pcfg-t.h"
#include "proxyproto.h"
#include "res.h"

static void
json_ip(FILE *fp, const struct ipaddr *a)
{
	char buf[NETADDR_STRLEN];

	if (a->family == 0)
		fputs("null", fp);
	else
		json_str(fp, ipaddr_format(a, buf));
}

static void
json_bool(FILE *fp, int v)
{
	fputs(v ? "true" : "false", fp);
}

static void
json_ips(FILE *fp, const struct ipaddr *v, size_t n)
{
	size_t i;

	fputc('[', fp);
	for (i = 0; i < n; i++) {
		if (i > 0)
			fputc(',', fp);
		json_ip(fp, &v[i]);
	}
	fputc(']', fp);
}

static void
json_cidrs(FILE *fp, const struct cidr *v, size_t n)
{
	char	ip[NETADDR_STRLEN], buf[NETADDR_STRLEN + 8];
	size_t	i;

	fputc('[', fp);
	for (i = 0; i < n; i++) {
		if (i > 0)
			fputc(',', fp);
		snprintf(buf, sizeof(buf), "%s/%d",
		    ipaddr_format(&v[i].addr, ip), v[i].prefix);
		json_str(fp, buf);
	}
	fputc(']', fp);
}

static void
json_listener(FILE *fp, const struct res_listener *l)
{
	char hp[NETADDR_HOSTPORTLEN], buf[NETADDR_HOSTPORTLEN + 8];

	snprintf(buf, sizeof(buf), "%s/%s",
	    ipaddr_format_hostport(&l->addr, l->port, hp, sizeof(hp)),
	    proto_name(l->proto));
	json_str(fp, buf);
}

static void
json_endpoint(FILE *fp, const struct res_endpoint *e)
{
	fputs("{\"ip\":", fp);
	json_ip(fp, &e->addr);
	fprintf(fp, ",\"port\":%u,\"pod\":", (unsigned)e->port);
	if (e->pod != NULL) {
		char buf[600];

		snprintf(buf, sizeof(buf), "%s/%s",
		    e->pod_ns != NULL ? e->pod_ns : "", e->pod);
		json_str(fp, buf);
	} else
		fputs("null", fp);
	fputs(",\"ready\":", fp);
	json_bool(fp, e->ready);
	fputs(",\"serving\":", fp);
	json_bool(fp, e->serving);
	fputs(",\"terminating\":", fp);
	json_bool(fp, e->terminating);
	fputs(",\"usable\":", fp);
	json_bool(fp, e->usable);
	/* Only when configured: the default leaves the output as it was. */
	if (e->weight != 1)
		fprintf(fp, ",\"weight\":%u", (unsigned)e->weight);
	fputc('}', fp);
}

/*
 * How the client's address reaches s's backends on port p (README,
 * "Client address"): "proxy-protocol-v1", "-v2", "transparent" (the
 * connection comes from it), both joined by "+", or NULL when it does
 * not (the backend sees svcproxy's address).  TCP ports only.
 */
static const char *
client_address(const struct res_service *s, const struct res_port *p)
{
	if (!s->proxied || p->proto == PROTO_SCTP)
		return NULL;
	/* UDP: only v2 has a datagram form, and no transparent mode. */
	if (p->proto == PROTO_UDP)
		return s->proxy_protocol == PP_V2 ? "proxy-protocol-v2" : NULL;
	switch (s->proxy_protocol) {
	case PP_V1:
		return s->transparent ? "transparent+proxy-protocol-v1" :
		    "proxy-protocol-v1";
	case PP_V2:
		return s->transparent ? "transparent+proxy-protocol-v2" :
		    "proxy-protocol-v2";
	case PP_NONE:
		break;
	}
	return s->transparent ? "transparent" : NULL;
}

static void
json_port(FILE *fp, const struct res_service *s, const struct res_port *p)
{
	const char *ca = client_address(s, p);

	size_t i;

	fputs("{\"name\":", fp);
	json_str(fp, p->name);
	fputs(",\"protocol\":", fp);
	json_str(fp, proto_name(p->proto));
	fprintf(fp, ",\"port\":%u,\"targetPort\":", (unsigned)p->port);
	if (p->target_port.is_str)
		json_str(fp, p->target_port.str);
	else
		fprintf(fp, "%lld", (long long)p->target_port.num);
	fputs(",\"nodePort\":", fp);
	if (p->node_port != 0)
		fprintf(fp, "%u", (unsigned)p->node_port);
	else
		fputs("null", fp);
	/* Only when configured: the default leaves the output as it was. */
	if (ca != NULL) {
		fputs(",\"clientAddress\":", fp);
		json_str(fp, ca);
		if (s->ca_defaulted)
			fputs(",\"clientAddressFrom\":"
			    "\"localTrafficClientAddress\"", fp);
	}
	if (s->proxied && s->accept_proxy && p->proto == PROTO_TCP)
		fputs(",\"acceptProxyProtocol\":true", fp);
	fputs(",\"listeners\":[", fp);
	for (i = 0; i < p->nlisteners; i++) {
		if (i > 0)
			fputc(',', fp);
		json_listener(fp, &p->listeners[i]);
	}
	fputs("],\"endpoints\":[", fp);
	for (i = 0; i < p->nendpoints; i++) {
		if (i > 0)
			fputc(',', fp);
		json_endpoint(fp, &p->endpoints[i]);
	}
	fputs("]}", fp);
}

/* Passive detection applies with or without an active check. */
static void
json_outlier(FILE *fp, const struct hc_config *hc)
{
	char d[HC_DURATION_LEN];

	fprintf(fp, "\"outlierDetection\":{\"consecutiveFailures\":%u,"
	    "\"baseEjectionTime\":", hc->outlier_failures);
	json_str(fp, hc_duration(hc->eject_base_ms, d, sizeof(d)));
	fputs(",\"maxEjectionTime\":", fp);
	json_str(fp, hc_duration(hc->eject_max_ms, d, sizeof(d)));
	fprintf(fp, ",\"maxEjectionPercent\":%u}",
	    (unsigned)hc->eject_max_percent);
}

static void
json_health(FILE *fp, const struct hc_config *hc)
{
	const struct hc_settings	*c = &hc->check;
	char				 d[HC_DURATION_LEN];

	fputs("{\"type\":", fp);
	json_str(fp, hc_kind_name(c->kind));
	fputc(',', fp);
	if (c->kind == HC_NONE) {
		json_outlier(fp, hc);
		fputc('}', fp);
		return;
	}
	fputs("\"interval\":", fp);
	json_str(fp, hc_duration(c->interval_ms, d, sizeof(d)));
	fputs(",\"timeout\":", fp);
	json_str(fp, hc_duration(c->timeout_ms, d, sizeof(d)));
	fprintf(fp, ",\"rise\":%u,\"fall\":%u,\"port\":", (unsigned)c->rise,
	    (unsigned)c->fall);
	if (c->port != 0)
		fprintf(fp, "%u", (unsigned)c->port);
	else
		fputs("null", fp);
	fputs(",\"path\":", fp);
	json_str(fp, c->path);
	fputs(",\"host\":", fp);
	json_str(fp, c->host);
	fputs(",\"method\":", fp);
	json_str(fp, c->method);
	fputs(",\"expectStatus\":", fp);
	json_str(fp, c->expect);
	fputs(",\"sni\":", fp);
	json_str(fp, c->sni);
	fputs(",\"ca\":", fp);
	json_str(fp, c->ca);
	fputc(',', fp);
	json_outlier(fp, hc);
	fprintf(fp, ",\"panicThreshold\":%u,\"onDown\":",
	    (unsigned)hc->panic_percent);
	json_str(fp, hc->close_on_down ? "close" : "keep");
	fputs(",\"slowStart\":", fp);
	json_str(fp, hc_duration(hc->slow_start_ms, d, sizeof(d)));
	fputc('}', fp);
}

static void
json_service(FILE *fp, const struct res_service *s)
{
	size_t i;

	fputs("{\"namespace\":", fp);
	json_str(fp, s->ns);
	fputs(",\"name\":", fp);
	json_str(fp, s->name);
	fputs(",\"type\":", fp);
	json_str(fp, s->type);
	fputs(",\"clusterIP\":", fp);
	if (s->headless)
		json_str(fp, "None");
	else
		json_ip(fp, &s->cluster_ip);
	fputs(",\"externalName\":", fp);
	json_str(fp, s->external_name);
	fputs(",\"proxied\":", fp);
	json_bool(fp, s->proxied);
	/* Only an ExternalName has it: other shapes stay as they were. */
	if (strcmp(s->type, "ExternalName") == 0) {
		fputs(",\"externalNameProxy\":{\"to\":", fp);
		json_str(fp, s->xn_proxy ? s->external_name : NULL);
		fputs(",\"notProxiedBecause\":", fp);
		json_str(fp, s->xn_proxy ? NULL : s->xn_why);
		fputc('}', fp);
	}
	fputs(",\"addresses\":", fp);
	json_ips(fp, s->addresses, s->naddresses);
	fputs(",\"sessionAffinity\":", fp);
	json_str(fp, s->session_affinity);
	fputs(",\"sessionAffinityTimeoutSeconds\":", fp);
	if (strcmp(s->session_affinity, "ClientIP") == 0)
		fprintf(fp, "%d", s->affinity_timeout);
	else
		fputs("null", fp);
	fputs(",\"externalTrafficPolicy\":", fp);
	json_str(fp, s->external_traffic_policy);
	fputs(",\"allocateLoadBalancerNodePorts\":", fp);
	if (strcmp(s->type, "LoadBalancer") == 0)
		json_bool(fp, s->allocate_lb_node_ports);
	else
		fputs("null", fp);
	fputs(",\"externalIPs\":", fp);
	json_ips(fp, s->external_ips, s->nexternal_ips);
	fputs(",\"loadBalancerSourceRanges\":", fp);
	json_cidrs(fp, s->lb_source_ranges, s->nlb_source_ranges);
	fputs(",\"loadBalancerIP\":", fp);
	json_ip(fp, &s->lb_ip);
	fputs(",\"loadBalancing\":", fp);
	if (s->proxied) {
		fputs("{\"algorithm\":", fp);
		json_str(fp, s->lb_algorithm);
		fputc('}', fp);
	} else
		fputs("null", fp);
	fputs(",\"healthCheck\":", fp);
	if (s->proxied)
		json_health(fp, &s->hc);
	else
		fputs("null", fp);
	fputs(",\"ports\":[", fp);
	for (i = 0; i < s->nports; i++) {
		if (i > 0)
			fputc(',', fp);
		json_port(fp, s, &s->ports[i]);
	}
	fputs("]}", fp);
}

void
res_print_json_members(const struct res_model *m, FILE *fp)
{
	size_t i;

	fputs("\"services\":[", fp);
	for (i = 0; i < m->nservices; i++) {
		fputs(i > 0 ? ",\n" : "\n", fp);
		json_service(fp, &m->services[i]);
	}
	fputs("\n]", fp);
}

void
res_print_json(const struct res_model *m, FILE *fp)
{
	fputc('{', fp);
	res_print_json_members(m, fp);
	fputs("}\n", fp);
}

/* ---- text ---- */

static const char *
ep_state(const struct res_endpoint *e)
{
	if (e->ready)
		return "ready";
	if (e->terminating)
		return e->serving ? "terminating, serving" :
		    "terminating";
	return e->serving ? "serving, not ready" : "not ready";
}

static void
text_port(FILE *fp, const struct res_service *s, const struct res_port *p)
{
	const char	*ca = client_address(s, p);
	char		 hp[NETADDR_HOSTPORTLEN], pod[600];
	size_t		 i;

	fprintf(fp, "  port %s %u/%s -> ", *p->name ? p->name : "-",
	    (unsigned)p->port, proto_name(p->proto));
	if (p->target_port.is_str)
		fprintf(fp, "%s", p->target_port.str);
	else
		fprintf(fp, "%lld", (long long)p->target_port.num);
	if (p->node_port != 0)
		fprintf(fp, "  nodePort %u", (unsigned)p->node_port);
	fprintf(fp, "  (%zu of %zu endpoints usable)", p->nusable,
	    p->nendpoints);
	if (ca != NULL)
		fprintf(fp, "  client address by %s%s", ca, s->ca_defaulted ?
		    " (localTrafficClientAddress)" : "");
	if (s->proxied && s->accept_proxy && p->proto == PROTO_TCP)
		fputs("  accepts proxy-protocol", fp);
	fputc('\n', fp);
	for (i = 0; i < p->nlisteners; i++)
		fprintf(fp, "    listen    %-47s %-4s %s\n",
		    ipaddr_format_hostport(&p->listeners[i].addr,
		    p->listeners[i].port, hp, sizeof(hp)),
		    proto_name(p->listeners[i].proto),
		    res_listener_kind_name(p->listeners[i].kind));
	for (i = 0; i < p->nendpoints; i++) {
		const struct res_endpoint *e = &p->endpoints[i];

		if (e->pod != NULL)
			snprintf(pod, sizeof(pod), "%s/%s",
			    e->pod_ns ? e->pod_ns : "", e->pod);
		else
			snprintf(pod, sizeof(pod), "-");
		fprintf(fp, "    %s %-47s %-30s %s",
		    e->usable ? "endpoint " : "unusable ",
		    ipaddr_format_hostport(&e->addr, e->port, hp, sizeof(hp)),
		    pod, ep_state(e));
		if (e->weight == 0)
			fputs(", weight 0 (drained)", fp);
		else if (e->weight != 1)
			fprintf(fp, ", weight %u", (unsigned)e->weight);
		fputc('\n', fp);
	}
}

/* One line: the check, then passive ejection. */
static void
text_health(FILE *fp, const struct hc_config *hc)
{
	const struct hc_settings	*c = &hc->check;
	char				 d1[HC_DURATION_LEN], d2[HC_DURATION_LEN];

	fprintf(fp, "  health %s", hc_kind_name(c->kind));
	if (c->kind == HC_HTTP || c->kind == HC_HTTPS)
		fprintf(fp, " %s %s expect %s", c->method, c->path, c->expect);
	if (c->kind != HC_NONE) {
		if (c->port != 0)
			fprintf(fp, " port %u", (unsigned)c->port);
		fprintf(fp, " every %s timeout %s rise %u fall %u",
		    hc_duration(c->interval_ms, d1, sizeof(d1)),
		    hc_duration(c->timeout_ms, d2, sizeof(d2)),
		    (unsigned)c->rise, (unsigned)c->fall);
	}
	if (hc->outlier_failures > 0)
		fprintf(fp, "  eject after %u failures for %s (max %u%%)",
		    hc->outlier_failures, hc_duration(hc->eject_base_ms, d1, sizeof(d1)),
		    (unsigned)hc->eject_max_percent);
	else
		fputs("  no ejection", fp);
	fputc('\n', fp);
}

static void
text_service(FILE *fp, const struct res_service *s)
{
	char	ip[NETADDR_STRLEN];
	size_t	i;

	fprintf(fp, "%s/%s  %s", s->ns, s->name, s->type);
	if (s->headless)
		fprintf(fp, "  clusterIP None (headless)");
	else if (s->cluster_ip.family != 0)
		fprintf(fp, "  clusterIP %s", ipaddr_format(&s->cluster_ip,
		    ip));
	if (s->external_name != NULL)
		fprintf(fp, "  externalName %s", s->external_name);
	if (strcmp(s->type, "LoadBalancer") == 0)
		fprintf(fp, "  loadBalancer %s", s->lb_ip.family != 0 ?
		    ipaddr_format(&s->lb_ip, ip) : "<pending>");
	if (strcmp(s->session_affinity, "ClientIP") == 0)
		fprintf(fp, "  affinity ClientIP %ds", s->affinity_timeout);
	if (s->external_traffic_policy != NULL)
		fprintf(fp, "  externalTrafficPolicy %s", s->external_traffic_policy);
	if (s->proxied)
		fprintf(fp, "  lb %s", s->lb_algorithm);
	/* Only maglev reads them (check warns elsewhere). */
	if (s->proxied && strcmp(s->lb_algorithm, "maglev") == 0)
		fprintf(fp, " (hash %s, table %u)", s->hash_key == 1 ?
		    "client-ip-port" : "client-ip", s->maglev_table_size);
	fputc('\n', fp);
	if (s->headless) {
		fprintf(fp, "  addresses");
		for (i = 0; i < s->naddresses; i++)
			fprintf(fp, " %s", ipaddr_format(&s->addresses[i], ip));
		fprintf(fp, "%s\n", s->naddresses == 0 ? " (none)" : "");
	}
	if (s->xn_proxy)
		fprintf(fp, "  proxied to %s: its A and AAAA records, resolved "
		    "at run time, are the endpoints\n", s->external_name);
	else if (s->xn_why != NULL)
		fprintf(fp, "  not proxied: %s\n", s->xn_why);
	if (s->proxied)
		text_health(fp, &s->hc);
	for (i = 0; i < s->nports; i++)
		text_port(fp, s, &s->ports[i]);
}

void
res_print_text(const struct res_model *m, FILE *fp)
{
	size_t i;

	for (i = 0; i < m->nservices; i++) {
		if (i > 0)
			fputc('\n', fp);
		text_service(fp, &m->services[i]);
	}
	if (m->nservices == 0)
		fprintf(fp, "no services\n");
	res_print_dns(m->pcfg, fp);
}

/* The cluster DNS settings (spec.dns), one line; nothing when it is off. */
void
res_print_dns(const struct pcfg *pc, FILE *fp)
{
	char	hp[64];

	if (pc == NULL || !pc->dns_on)
		return;
	ipaddr_format_hostport(&pc->dns_ip, pc->dns_port, hp, sizeof(hp));
	fprintf(fp, "\ndns: listen %s (udp, tcp), domain %s, ttl %us\n", hp,
	    pc->dns_domain, (unsigned)pc->dns_ttl);
}
