/*
 * metrics: the per-port counter table and the Prometheus text format
 * (https://prometheus.io/docs/instrumenting/exposition_formats/).
 */
#include "config.h"

#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "affinity.h"
#include "clock.h"
#include "dns-t.h"
#include "extname.h"
#include "health_view.h"
#include "metrics.h"
#include "res.h"
#include "snapshot.h"

struct met_ctr *
met_ctr_new(size_t n)
{
	struct met_ctr	*v;
	size_t		 size;

	if (n == 0)
		n = 1;
	if (n > SIZE_MAX / sizeof(*v))
		return NULL;
	/* sizeof is a multiple of the alignment, as aligned_alloc wants. */
	size = n * sizeof(*v);
	if ((v = aligned_alloc(_Alignof(struct met_ctr), size)) == NULL)
		return NULL;
	memset(v, 0, size);
	return v;
}

void
met_tab_init(struct met_tab *t, unsigned nworkers)
{
	strtab_init(&t->t);
	t->nworkers = nworkers;
}

static void
met_port_free(struct strtab_node *n)
{
	struct met_port *p = STRTAB_ENTRY(n, struct met_port, node);

	free(p->w);
	free(p);
}

void
met_tab_free(struct met_tab *t)
{
	strtab_free(&t->t, met_port_free);
}

struct met_port *
met_port_get(struct met_tab *t, const char *key)
{
	struct strtab_node	*n;
	struct met_port		*p;
	size_t			 len = strlen(key);
	unsigned		 nw = t->nworkers ? t->nworkers : 1;

	if ((n = strtab_find(&t->t, key)) != NULL)
		return STRTAB_ENTRY(n, struct met_port, node);
	if ((p = calloc(1, sizeof(*p) + len + 1)) == NULL)
		return NULL;
	if ((p->w = met_ctr_new(nw)) == NULL) {
		free(p);
		return NULL;
	}
	memcpy(p->key, key, len + 1);
	p->node.key = p->key;
	if (strtab_add(&t->t, &p->node) == -1) {
		met_port_free(&p->node);
		return NULL;
	}
	return p;
}

uint64_t
met_get(const _Atomic uint64_t *c)
{
	return atomic_load_explicit((_Atomic uint64_t *)c,
	    memory_order_relaxed);
}

void
met_port_sum(const struct met_tab *t, const struct met_port *p,
    struct met_ctr *o)
{
	uint64_t	v[18] = { 0 };
	unsigned	i;

	for (i = 0; i < t->nworkers; i++) {
		/* closed before accepted: active never reads negative. */
		v[1] += met_get(&p->w[i].closed);
		v[0] += met_get(&p->w[i].accepted);
		v[2] += met_get(&p->w[i].bytes_up);
		v[3] += met_get(&p->w[i].bytes_down);
		v[4] += met_get(&p->w[i].connect_failures);
		v[5] += met_get(&p->w[i].retries);
		v[6] += met_get(&p->w[i].no_endpoint);
		v[7] += met_get(&p->w[i].limited);
		v[8] += met_get(&p->w[i].refused_policy);
		v[9] += met_get(&p->w[i].refused_source);
		v[10] += met_get(&p->w[i].closed_policy);
		v[11] += met_get(&p->w[i].closed_health);
		v[13] += met_get(&p->w[i].udp_flows_closed);
		v[12] += met_get(&p->w[i].udp_flows);
		v[14] += met_get(&p->w[i].udp_flows_expired);
		v[15] += met_get(&p->w[i].udp_flows_limited);
		v[16] += met_get(&p->w[i].udp_dgrams_up);
		v[17] += met_get(&p->w[i].udp_dgrams_down);
	}
	atomic_init(&o->accepted, v[0]);
	atomic_init(&o->closed, v[1]);
	atomic_init(&o->bytes_up, v[2]);
	atomic_init(&o->bytes_down, v[3]);
	atomic_init(&o->connect_failures, v[4]);
	atomic_init(&o->retries, v[5]);
	atomic_init(&o->no_endpoint, v[6]);
	atomic_init(&o->limited, v[7]);
	atomic_init(&o->refused_policy, v[8]);
	atomic_init(&o->refused_source, v[9]);
	atomic_init(&o->closed_policy, v[10]);
	atomic_init(&o->closed_health, v[11]);
	atomic_init(&o->udp_flows, v[12]);
	atomic_init(&o->udp_flows_closed, v[13]);
	atomic_init(&o->udp_flows_expired, v[14]);
	atomic_init(&o->udp_flows_limited, v[15]);
	atomic_init(&o->udp_dgrams_up, v[16]);
	atomic_init(&o->udp_dgrams_down, v[17]);
}

long
met_open_fds(void)
{
	struct dirent	*de;
	DIR		*d;
	long		 n = 0;

	if ((d = opendir("/proc/self/fd")) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;	/* the directory's own fd */
}

/* ---- Prometheus text ---- */

/* Label value escaping: backslash, double quote, newline. */
static void
prom_str(struct evbuffer *b, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\' || *s == '"')
			evbuffer_add_printf(b, "\\%c", *s);
		else if (*s == '\n')
			evbuffer_add(b, "\\n", 2);
		else
			evbuffer_add(b, s, 1);
	}
}

static void
prom_head(struct evbuffer *b, const char *name, const char *type,
    const char *help)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help,
	    name, type);
}

/* name{namespace=..,service=..,port=..,protocol=..[,extra]} v */
static void
prom_port(struct evbuffer *b, const char *name, const struct snap_port *sp,
    const char *extra, uint64_t v)
{
	evbuffer_add_printf(b, "%s{namespace=\"", name);
	prom_str(b, sp->svc->ns);
	evbuffer_add(b, "\",service=\"", 11);
	prom_str(b, sp->svc->name);
	evbuffer_add_printf(b, "\",port=\"%u\",protocol=\"%s\"%s%s} %" PRIu64
	    "\n", sp->port, proto_name(sp->proto), extra ? "," : "",
	    extra ? extra : "", v);
}

/* One port metric over every Service port of s. */
struct prom_col {
	const char	*name;
	const char	*type;
	const char	*help;
	const char	*extra;		/* extra label, or NULL */
	int		 field;		/* prom_value() selector */
};

enum {
	F_ACTIVE, F_TOTAL, F_UP, F_DOWN, F_FAIL, F_RETRY, F_NOEP, F_LIMIT,
	F_POLICY, F_SOURCE, F_REVOKED, F_READY, F_SRVTERM, F_TERM, F_NOTREADY,
	F_USABLE, F_HCLOSED, F_UACTIVE, F_UTOTAL, F_UEXPIRED, F_ULIMITED,
	F_UDGUP, F_UDGDOWN,
};

static const struct prom_col prom_cols[] = {
	{ "svcproxy_port_connections_active", "gauge",
	    "Client connections open now on a Service port.", NULL,
	    F_ACTIVE },
	{ "svcproxy_port_connections_total", "counter",
	    "Client connections accepted on a Service port.", NULL,
	    F_TOTAL },
	{ "svcproxy_port_bytes_total", "counter",
	    "Bytes relayed on a Service port's connections (up: client to "
	    "endpoint).", "direction=\"up\"", F_UP },
	{ "svcproxy_port_bytes_total", NULL, NULL, "direction=\"down\"",
	    F_DOWN },
	{ "svcproxy_port_connect_failures_total", "counter",
	    "Connects to an endpoint that failed (refused, timed out).", NULL,
	    F_FAIL },
	{ "svcproxy_port_connect_retries_total", "counter",
	    "Connect attempts after a connection's first.", NULL, F_RETRY },
	{ "svcproxy_port_no_endpoint_total", "counter",
	    "Connections reset because the Service port had no endpoint.",
	    NULL, F_NOEP },
	{ "svcproxy_port_limited_total", "counter",
	    "Times accepting paused at maxConnections or the Service's "
	    "svcproxy.io/max-connections (the connections wait in the "
	    "listen queue).", NULL, F_LIMIT },
	{ "svcproxy_port_refused_total", "counter",
	    "Connections refused (reset): policy, no endpoint that "
	    "NetworkPolicy allows; source, outside "
	    "loadBalancerSourceRanges.", "reason=\"policy\"", F_POLICY },
	{ "svcproxy_port_refused_total", NULL, NULL, "reason=\"source\"",
	    F_SOURCE },
	{ "svcproxy_port_policy_closed_total", "counter",
	    "Established connections closed because a reload's "
	    "NetworkPolicies deny them.", NULL, F_REVOKED },
	{ "svcproxy_port_health_closed_total", "counter",
	    "Established connections closed because their endpoint's "
	    "health check marked it down (svcproxy.io/health-on-down: "
	    "close).", NULL, F_HCLOSED },
	{ "svcproxy_port_udp_flows", "gauge",
	    "UDP flows open on a Service port.", NULL, F_UACTIVE },
	{ "svcproxy_port_udp_flows_total", "counter",
	    "UDP flows opened on a Service port (a flow's first datagram).",
	    NULL, F_UTOTAL },
	{ "svcproxy_port_udp_flows_expired_total", "counter",
	    "UDP flows closed after the idle timeout.", NULL, F_UEXPIRED },
	{ "svcproxy_port_udp_flows_limited_total", "counter",
	    "Datagrams dropped because they would open a UDP flow past the "
	    "bound (udpMaxFlows).", NULL, F_ULIMITED },
	{ "svcproxy_port_udp_datagrams_total", "counter",
	    "Datagrams relayed on a Service port's UDP flows (up: client to "
	    "endpoint).", "direction=\"up\"", F_UDGUP },
	{ "svcproxy_port_udp_datagrams_total", NULL, NULL,
	    "direction=\"down\"", F_UDGDOWN },
	{ "svcproxy_port_endpoints", "gauge",
	    "Endpoints of a Service port by state in the running "
	    "configuration (usable: taking new connections).",
	    "state=\"ready\"", F_READY },
	{ "svcproxy_port_endpoints", NULL, NULL,
	    "state=\"serving_terminating\"", F_SRVTERM },
	{ "svcproxy_port_endpoints", NULL, NULL, "state=\"terminating\"",
	    F_TERM },
	{ "svcproxy_port_endpoints", NULL, NULL, "state=\"not_ready\"",
	    F_NOTREADY },
	{ "svcproxy_port_endpoints", NULL, NULL, "state=\"usable\"",
	    F_USABLE },
};

static uint64_t
prom_value(const struct snap_port *sp, const struct met_ctr *c, int f)
{
	const struct met_eps *e = sp->met != NULL ? &sp->met->eps : NULL;
	uint64_t acc = met_get(&c->accepted), cl = met_get(&c->closed);

	switch (f) {
	case F_ACTIVE:	return acc > cl ? acc - cl : 0;
	case F_TOTAL:	return acc;
	case F_UP:	return met_get(&c->bytes_up);
	case F_DOWN:	return met_get(&c->bytes_down);
	case F_FAIL:	return met_get(&c->connect_failures);
	case F_RETRY:	return met_get(&c->retries);
	case F_NOEP:	return met_get(&c->no_endpoint);
	case F_LIMIT:	return met_get(&c->limited);
	case F_POLICY:	return met_get(&c->refused_policy);
	case F_SOURCE:	return met_get(&c->refused_source);
	case F_REVOKED:	return met_get(&c->closed_policy);
	case F_HCLOSED:	return met_get(&c->closed_health);
	case F_UACTIVE:	return met_get(&c->udp_flows) >
	    met_get(&c->udp_flows_closed) ? met_get(&c->udp_flows) -
	    met_get(&c->udp_flows_closed) : 0;
	case F_UTOTAL:	return met_get(&c->udp_flows);
	case F_UEXPIRED: return met_get(&c->udp_flows_expired);
	case F_ULIMITED: return met_get(&c->udp_flows_limited);
	case F_UDGUP:	return met_get(&c->udp_dgrams_up);
	case F_UDGDOWN:	return met_get(&c->udp_dgrams_down);
	case F_READY:	return e ? e->ready : 0;
	case F_SRVTERM:	return e ? e->serving_terminating : 0;
	case F_TERM:	return e ? e->terminating : 0;
	case F_NOTREADY: return e ? e->not_ready : 0;
	case F_USABLE:	return sp->lb.neps;
	}
	return 0;
}

/* Does column f apply to a port of protocol p?  Connections are TCP's,
   flows and datagrams UDP's; bytes, refusals and endpoints both's. */
static int
prom_applies(int f, enum proto p)
{
	switch (f) {
	case F_ACTIVE: case F_TOTAL: case F_FAIL: case F_RETRY:
	case F_LIMIT: case F_REVOKED: case F_HCLOSED:
		return p == PROTO_TCP;
	case F_UACTIVE: case F_UTOTAL: case F_UEXPIRED: case F_ULIMITED:
	case F_UDGUP: case F_UDGDOWN:
		return p == PROTO_UDP;
	}
	return p == PROTO_TCP || p == PROTO_UDP;
}

static void
prom_ports(struct evbuffer *b, const struct met_tab *t, const struct snap *s)
{
	struct met_ctr	*sums;
	size_t		 i, k;

	if (s == NULL || s->nports == 0)
		return;
	if ((sums = met_ctr_new(s->nports)) == NULL)
		return;
	for (i = 0; i < s->nports; i++)
		if (s->ports[i].met != NULL)
			met_port_sum(t, s->ports[i].met, &sums[i]);
	for (k = 0; k < sizeof(prom_cols) / sizeof(prom_cols[0]); k++) {
		const struct prom_col *c = &prom_cols[k];

		if (c->type != NULL)
			prom_head(b, c->name, c->type, c->help);
		for (i = 0; i < s->nports; i++)
			if (prom_applies(c->field, s->ports[i].proto))
				prom_port(b, c->name, &s->ports[i], c->extra,
				    prom_value(&s->ports[i], &sums[i],
				    c->field));
	}
	free(sums);
}

/* Per endpoint: the live counters, shared by every Service port. */
static void
prom_endpoints(struct evbuffer *b, const struct snap *s)
{
	static const char *const names[3] = {
		"svcproxy_endpoint_connections_active",
		"svcproxy_endpoint_connections_total",
		"svcproxy_endpoint_connect_failures_total",
	};
	/* Each help text is one string (-Wstring-concatenation). */
	static const char help0[] = "Connections open now to an endpoint "
	    "(its address and port, shared by every Service port that has "
	    "it).";
	static const char *const help[3] = {
		help0,
		"Connections relayed to an endpoint (each attempt counts).",
		"Failed connects to an endpoint.",
	};
	const struct lb_ep	*ep;
	size_t			 i, j;
	int			 k;
	uint64_t		 v;
	char			 extra[NETADDR_STRLEN + 24];

	for (k = 0; k < 3; k++) {
		prom_head(b, names[k], k == 0 ? "gauge" : "counter", help[k]);
		for (i = 0; s != NULL && i < s->nports; i++) {
			if (s->ports[i].proto != PROTO_TCP)
				continue;
			for (j = 0; j < s->ports[i].lb.neps; j++) {
				ep = &s->ports[i].lb.eps[j];
				v = k == 0 ? atomic_load_explicit(
				    &ep->live->active, memory_order_relaxed) :
				    k == 1 ? met_get(&ep->live->total) :
				    met_get(&ep->live->failures);
				snprintf(extra, sizeof(extra),
				    "endpoint=\"%s\"", ep->name);
				prom_port(b, names[k], &s->ports[i], extra, v);
			}
		}
	}
}

/* ---- health (health_view.h) ---- */

/*
 * A check shared by several Service ports (one endpoint address, port
 * and settings) is one check: its series repeat under each port's
 * labels, as the endpoint_connections ones do, so that a port's view
 * is complete on its own.  Across ports, aggregate with max by
 * (endpoint), not sum.
 */
#define PROM_SHARED	" A check shared by several Service ports is " \
			"repeated under each: aggregate across ports with " \
			"max, not sum."

/* s escaped as a label value into buf (cut to fit); buf. */
static char *
prom_esc(char *buf, size_t len, const char *s)
{
	size_t	 n = 0;

	for (; *s != '\0' && n + 3 < len; s++) {
		if (*s == '\\' || *s == '"' || *s == '\n')
			buf[n++] = '\\';
		buf[n++] = *s == '\n' ? 'n' : *s;
	}
	buf[n] = '\0';
	return buf;
}

/*
 * The labels of endpoint ep of sp, escaped, into buf: built once per
 * endpoint, not per series (10,000 checked endpoints make some 200,000
 * lines a scrape, on the main thread).
 */
static void
prom_ep_labels(char *buf, size_t len, const struct snap_port *sp,
    const struct lb_ep *ep)
{
	char	ns[256], name[256], e[sizeof(ep->name) * 2];

	snprintf(buf, len, "namespace=\"%s\",service=\"%s\",port=\"%u\","
	    "protocol=\"%s\",endpoint=\"%s\"", prom_esc(ns, sizeof(ns),
	    sp->svc->ns), prom_esc(name, sizeof(name), sp->svc->name),
	    sp->port, proto_name(sp->proto), prom_esc(e, sizeof(e),
	    ep->name));
}

/* name{lab[,extra]} v */
static void
prom_series(struct evbuffer *b, const char *name, const char *lab,
    const char *extra, uint64_t v)
{
	evbuffer_add_printf(b, "%s{%s%s%s} %" PRIu64 "\n", name, lab,
	    extra ? "," : "", extra ? extra : "", v);
}

enum { H_HEALTH, H_EJECT, H_CHECKS, H_TRANS, H_DUR, H_NKINDS };

#define PROM_LE_MAX	24	/* le="2.5" */

/* Prometheus' le labels: HC_LAT_BOUNDS_MS in seconds, then +Inf. */
static void
prom_le(char le[][PROM_LE_MAX])
{
	static const int	 bounds[] = HC_LAT_BOUNDS_MS;
	size_t			 i;

	for (i = 0; i < HC_LAT_BUCKETS; i++)
		if (i < sizeof(bounds) / sizeof(bounds[0]))
			snprintf(le[i], PROM_LE_MAX, "le=\"%g\"",
			    bounds[i] / 1000.0);
		else
			snprintf(le[i], PROM_LE_MAX, "le=\"+Inf\"");
}

/* One endpoint's series of metric k (checked ones only past H_EJECT). */
static void
prom_ep_health(struct evbuffer *b, int k, const struct lb_ep *ep,
    const char *lab, char le[][PROM_LE_MAX], int64_t now)
{
	struct hc_view_counts	 n;
	uint64_t		 cum = 0;
	size_t			 i;
	enum hc_health		 h;

	switch (k) {
	case H_HEALTH:
		h = hc_view_health(ep, now);
		evbuffer_add_printf(b, "svcproxy_endpoint_health{%s} %d\n",
		    lab, h == HC_UP ? 1 : h == HC_DOWN ? 0 : -1);
		return;
	case H_EJECT:
		prom_series(b, "svcproxy_endpoint_ejections_total", lab, NULL,
		    ep->live == NULL ? 0 : atomic_load_explicit(
		    &ep->live->ejections, memory_order_relaxed));
		return;
	}
	if (ep->hc == NULL)
		return;
	hc_view_counts(ep->hc, &n);
	switch (k) {
	case H_CHECKS:
		prom_series(b, "svcproxy_health_checks_total", lab,
		    "result=\"pass\"", n.checks > n.failures ?
		    n.checks - n.failures : 0);
		prom_series(b, "svcproxy_health_checks_total", lab,
		    "result=\"fail\"", n.failures);
		break;
	case H_TRANS:
		prom_series(b, "svcproxy_health_transitions_total", lab, NULL,
		    n.transitions);
		break;
	case H_DUR:
		/* The cell counts per bucket; Prometheus wants each le
		   bucket to count everything at or below it. */
		for (i = 0; i < HC_LAT_BUCKETS; i++) {
			cum += n.latency[i];
			prom_series(b, "svcproxy_health_check_duration_seconds_"
			    "bucket", lab, le[i], cum);
		}
		evbuffer_add_printf(b, "svcproxy_health_check_duration_seconds_"
		    "sum{%s} %.6f\n", lab, n.latency_sum_us / 1e6);
		prom_series(b, "svcproxy_health_check_duration_seconds_count",
		    lab, NULL, cum);
		break;
	}
}

/*
 * Endpoint health, active checks, ejections and panic, for every TCP
 * Service port of s; each family's series together, as the text format
 * requires.
 */
static void
prom_health(struct evbuffer *b, const struct snap *s)
{
	static const char *const names[H_NKINDS] = {
		"svcproxy_endpoint_health",
		"svcproxy_endpoint_ejections_total",
		"svcproxy_health_checks_total",
		"svcproxy_health_transitions_total",
		"svcproxy_health_check_duration_seconds",
	};
	static const char *const types[H_NKINDS] = {
		"gauge", "counter", "counter", "counter", "histogram",
	};
	/* Each help text is one string (-Wstring-concatenation). */
	static const char help0[] = "Endpoint health as new connections "
	    "see it: 1 up, 0 down (failing its active check, or passively "
	    "ejected), -1 unknown (checked, no result yet; served as up). "
	    "An endpoint without an active check is 1 unless ejected."
	    PROM_SHARED;
	static const char help1[] = "Times passive outlier detection "
	    "ejected an endpoint (its address and port, shared by every "
	    "Service port that has it).";
	static const char help2[] = "Active health checks of an endpoint "
	    "by result." PROM_SHARED;
	static const char help3[] = "Changes of an endpoint's active check "
	    "state (unknown, up, down)." PROM_SHARED;
	static const char help4[] = "Time an active health check took, "
	    "connect to verdict." PROM_SHARED;
	static const char *const help[H_NKINDS] = {
		help0, help1, help2, help3, help4,
	};
	const struct snap_port	*sp;
	const struct lb_ep	*ep;
	char			 lab[1024], le[HC_LAT_BUCKETS][PROM_LE_MAX];
	int64_t			 now = clock_mono_ms();
	size_t			 i, j;
	int			 k;

	prom_le(le);

	for (k = 0; k < H_NKINDS; k++) {
		prom_head(b, names[k], types[k], help[k]);
		for (i = 0; s != NULL && i < s->nports; i++) {
			sp = &s->ports[i];
			if (sp->proto != PROTO_TCP)
				continue;
			for (j = 0; j < sp->lb.neps; j++) {
				ep = &sp->lb.eps[j];
				if (k >= H_CHECKS && ep->hc == NULL)
					continue;
				prom_ep_labels(lab, sizeof(lab), sp, ep);
				prom_ep_health(b, k, ep, lab, le, now);
			}
		}
	}
	prom_head(b, "svcproxy_port_panic", "gauge",
	    "1 while a Service port has no healthy endpoint and serves its "
	    "unhealthy ones (fails open) instead of none.");
	for (i = 0; s != NULL && i < s->nports; i++)
		if (s->ports[i].proto == PROTO_TCP)
			prom_port(b, "svcproxy_port_panic", &s->ports[i], NULL,
			    atomic_load_explicit(&s->ports[i].lb.panic,
			    memory_order_relaxed) ? 1 : 0);
}

/*
 * sessionAffinity: ClientIP tables (affinity.h), of the ports that have
 * one.  The scrape drops the expired entries first, so the gauge counts
 * clients still remembered: O(buckets) per such port.
 */
static void
prom_affinity(struct evbuffer *b, const struct snap *s)
{
	const struct lb_set	*l;
	int64_t			 now = clock_mono_ms();
	size_t			 i;

	prom_head(b, "svcproxy_port_affinity_entries", "gauge",
	    "Clients a Service port with sessionAffinity: ClientIP "
	    "remembers now.");
	for (i = 0; s != NULL && i < s->nports; i++)
		if ((l = &s->ports[i].lb)->aff != NULL)
			prom_port(b, "svcproxy_port_affinity_entries",
			    &s->ports[i], NULL, aff_expire(l->aff, now,
			    l->aff_timeout_ms));
	prom_head(b, "svcproxy_port_affinity_full_total", "counter",
	    "Clients not remembered: the affinity table was full "
	    "(svcproxy.io/affinity-max-entries).");
	for (i = 0; s != NULL && i < s->nports; i++)
		if ((l = &s->ports[i].lb)->aff != NULL)
			prom_port(b, "svcproxy_port_affinity_full_total",
			    &s->ports[i], NULL, atomic_load_explicit(
			    &l->aff->full, memory_order_relaxed));
}

/* The cluster DNS server's counters (dns-t.h), when it runs. */
static void
prom_dns(struct evbuffer *b, const struct dns_stats *d)
{
	static const char *const qt[DNS_QT_N] = { "A", "AAAA", "SRV", "PTR",
	    "TXT", "CNAME", "other" };
	static const char *const rc[DNS_RC_N] = { "NOERROR", "FORMERR",
	    "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED" };
	size_t	 i, j;

	if (d == NULL || !atomic_load(&d->serving))
		return;
	prom_head(b, "svcproxy_dns_queries_total", "counter",
	    "Cluster DNS questions answered, by type and response code.");
	for (i = 0; i < DNS_QT_N; i++)
		for (j = 0; j < DNS_RC_N; j++)
			evbuffer_add_printf(b, "svcproxy_dns_queries_total{"
			    "type=\"%s\",rcode=\"%s\"} %" PRIu64 "\n", qt[i],
			    rc[j], met_get(&d->q[i][j]));
	prom_head(b, "svcproxy_dns_truncated_total", "counter",
	    "Cluster DNS answers over UDP cut to 512 bytes (TC set).");
	evbuffer_add_printf(b, "svcproxy_dns_truncated_total %" PRIu64 "\n",
	    met_get(&d->truncated));
	prom_head(b, "svcproxy_dns_tcp_queries_total", "counter",
	    "Cluster DNS questions answered over TCP.");
	evbuffer_add_printf(b, "svcproxy_dns_tcp_queries_total %" PRIu64
	    "\n", met_get(&d->tcp));
	prom_head(b, "svcproxy_dns_dropped_total", "counter",
	    "Cluster DNS messages not answered (malformed).");
	evbuffer_add_printf(b, "svcproxy_dns_dropped_total %" PRIu64 "\n",
	    met_get(&d->dropped));
}

/* The ExternalName resolver's counters (extname.h), when it runs. */
static void
prom_xn(struct evbuffer *b, const struct xn_stats *x)
{
	if (x == NULL)
		return;
	prom_head(b, "svcproxy_external_name_queries_total", "counter",
	    "ExternalName resolutions asked (A and AAAA together).");
	evbuffer_add_printf(b, "svcproxy_external_name_queries_total %"
	    PRIu64 "\n", x->queries);
	prom_head(b, "svcproxy_external_name_failures_total", "counter",
	    "ExternalName resolutions that failed (timeout, SERVFAIL, "
	    "NXDOMAIN, no address).");
	evbuffer_add_printf(b, "svcproxy_external_name_failures_total %"
	    PRIu64 "\n", x->failures);
	prom_head(b, "svcproxy_external_name_changes_total", "counter",
	    "ExternalName answers that changed the endpoints.");
	evbuffer_add_printf(b, "svcproxy_external_name_changes_total %"
	    PRIu64 "\n", x->changes);
	prom_head(b, "svcproxy_external_name_expired_total", "counter",
	    "Last good ExternalName answers dropped after holdOnFailure.");
	evbuffer_add_printf(b, "svcproxy_external_name_expired_total %"
	    PRIu64 "\n", x->expired);
	prom_head(b, "svcproxy_external_name_rebuilds_total", "counter",
	    "Snapshots built for new ExternalName answers (no file read).");
	evbuffer_add_printf(b, "svcproxy_external_name_rebuilds_total %"
	    PRIu64 "\n", x->rebuilds);
	prom_head(b, "svcproxy_external_names", "gauge",
	    "External names resolved, and those whose last resolution "
	    "failed.");
	evbuffer_add_printf(b, "svcproxy_external_names{state=\"all\"} %zu\n"
	    "svcproxy_external_names{state=\"failing\"} %zu\n", x->names,
	    x->failing);
}

/*
 * The data path's fd budget (worker.h), from the same sums as /status
 * "fdBudget": what an operator alerts on before the process meets its
 * open file limit as paused accepts and dropped flows.
 */
static void
prom_fd_budget(struct evbuffer *b, const struct met_wrk *w)
{
	prom_head(b, "svcproxy_open_fds_limit", "gauge",
	    "The open file limit (soft RLIMIT_NOFILE, raised to the hard "
	    "one at startup).");
	evbuffer_add_printf(b, "svcproxy_open_fds_limit %" PRIu64 "\n",
	    w->nofile);
	prom_head(b, "svcproxy_fd_budget", "gauge",
	    "File descriptors the workers may hold for client connections "
	    "(2 each) and UDP flows (1 each): the open file limit less the "
	    "listener sockets, splice pipes and reserves. A reload that "
	    "opens or closes listener sockets changes it.");
	evbuffer_add_printf(b, "svcproxy_fd_budget %" PRIu64 "\n",
	    w->fd_budget);
	prom_head(b, "svcproxy_fd_budget_used", "gauge",
	    "File descriptors of svcproxy_fd_budget held now by connections "
	    "and UDP flows.");
	evbuffer_add_printf(b, "svcproxy_fd_budget_used %" PRIu64 "\n",
	    w->fd_taken);
	prom_head(b, "svcproxy_fd_budget_exhausted_total", "counter",
	    "Times the fd budget was spent: protocol TCP, an accept left its "
	    "connection waiting in the listen queue (the listener pauses); "
	    "UDP, a new flow was dropped.");
	evbuffer_add_printf(b, "svcproxy_fd_budget_exhausted_total"
	    "{protocol=\"TCP\"} %" PRIu64 "\n"
	    "svcproxy_fd_budget_exhausted_total{protocol=\"UDP\"} %" PRIu64
	    "\n", w->fd_waited, w->fd_dropped);
}

int
met_print_prom(struct evbuffer *b, const struct met_tab *t,
    const struct snap *s, const struct met_proc *p,
    const struct met_wrk *w, const struct met_adm *adm, long open_fds)
{
	prom_ports(b, t, s);
	prom_endpoints(b, s);
	prom_health(b, s);
	prom_affinity(b, s);
	prom_dns(b, p->dns);
	prom_xn(b, p->xn);
	prom_head(b, "svcproxy_reloads_total", "counter",
	    "Configuration reloads (SIGHUP) by result: ok, failed (the "
	    "running configuration was kept) or unchanged (same config "
	    "hash, nothing done).");
	evbuffer_add_printf(b, "svcproxy_reloads_total{result=\"ok\"} %"
	    PRIu64 "\nsvcproxy_reloads_total{result=\"failed\"} %" PRIu64
	    "\nsvcproxy_reloads_total{result=\"unchanged\"} %" PRIu64 "\n",
	    p->reloads_ok, p->reloads_failed, p->reloads_noop);
	prom_head(b, "svcproxy_last_reload_timestamp_seconds", "gauge",
	    "Unix time of the last reload attempt (0: none yet).");
	evbuffer_add_printf(b, "svcproxy_last_reload_timestamp_seconds %"
	    PRId64 "\n", p->last_reload);
	prom_head(b, "svcproxy_last_reload_success", "gauge",
	    "1 when the last reload attempt was applied or unchanged.");
	evbuffer_add_printf(b, "svcproxy_last_reload_success %d\n",
	    p->last_reload_ok);
	prom_head(b, "svcproxy_config_info", "gauge",
	    "The running configuration: hash is its config hash.");
	evbuffer_add_printf(b, "svcproxy_config_info{hash=\"%016" PRIx64
	    "\"} 1\n", p->config_hash);
	prom_head(b, "svcproxy_start_time_seconds", "gauge",
	    "Unix time the process started.");
	evbuffer_add_printf(b, "svcproxy_start_time_seconds %" PRId64 "\n",
	    p->started);
	prom_head(b, "svcproxy_workers", "gauge", "Worker threads.");
	evbuffer_add_printf(b, "svcproxy_workers %u\n", p->workers);
	prom_head(b, "svcproxy_draining", "gauge",
	    "1 while shutting down or handing over to a new binary.");
	evbuffer_add_printf(b, "svcproxy_draining %d\n", p->draining);
	prom_head(b, "svcproxy_listeners", "gauge",
	    "Addresses listened on (each with one socket per worker).");
	evbuffer_add_printf(b, "svcproxy_listeners %zu\n", p->listeners);
	prom_head(b, "svcproxy_open_fds", "gauge",
	    "Open file descriptors of the process.");
	evbuffer_add_printf(b, "svcproxy_open_fds %ld\n", open_fds);
	prom_fd_budget(b, w);
	prom_head(b, "svcproxy_connections_active", "gauge",
	    "Client connections open now, every Service port.");
	evbuffer_add_printf(b, "svcproxy_connections_active %" PRIu64 "\n",
	    w->active);
	prom_head(b, "svcproxy_connections_total", "counter",
	    "Client connections accepted, every Service port.");
	evbuffer_add_printf(b, "svcproxy_connections_total %" PRIu64 "\n",
	    w->accepted);
	prom_head(b, "svcproxy_bytes_total", "counter",
	    "Bytes relayed, every Service port (up: client to endpoint).");
	evbuffer_add_printf(b, "svcproxy_bytes_total{direction=\"up\"} %"
	    PRIu64 "\nsvcproxy_bytes_total{direction=\"down\"} %" PRIu64 "\n",
	    w->bytes_up, w->bytes_down);
	prom_head(b, "svcproxy_admin_connections", "gauge",
	    "Connections open now to this admin server.");
	evbuffer_add_printf(b, "svcproxy_admin_connections %" PRIu64 "\n",
	    adm->conns);
	prom_head(b, "svcproxy_admin_connections_total", "counter",
	    "Connections the admin server accepted.");
	evbuffer_add_printf(b, "svcproxy_admin_connections_total %" PRIu64
	    "\n", adm->accepted);
	prom_head(b, "svcproxy_admin_closed_total", "counter",
	    "Admin connections closed unanswered: deadline, the request was "
	    "not answered in time; cap, the oldest one made room.");
	evbuffer_add_printf(b, "svcproxy_admin_closed_total"
	    "{reason=\"deadline\"} %" PRIu64 "\nsvcproxy_admin_closed_total"
	    "{reason=\"cap\"} %" PRIu64 "\n", adm->closed_deadline,
	    adm->closed_cap);
	prom_head(b, "svcproxy_admin_accept_paused_total", "counter",
	    "Times the admin server paused accepting, out of file "
	    "descriptors.");
	evbuffer_add_printf(b, "svcproxy_admin_accept_paused_total %" PRIu64
	    "\n", adm->accept_paused);
	return 0;
}

/* "ns/name:port/TCP": the metrics key of a Service port. */
static void
met_key(char *buf, size_t len, const char *ns, const char *name,
    uint16_t port, enum proto proto)
{
	snprintf(buf, len, "%s/%s:%u/%s", ns, name, port,
	    proto_name(proto));
}

int
met_bind(struct met_tab *tab, struct snap *s)
{
	char	key[600];
	size_t	i;

	for (i = 0; i < s->nports; i++) {
		struct snap_port *sp = &s->ports[i];

		met_key(key, sizeof(key), sp->svc->ns, sp->svc->name,
		    sp->port, sp->proto);
		if ((sp->met = met_port_get(tab, key)) == NULL)
			return -1;
	}
	return 0;
}

void
met_eps(struct met_tab *tab, const struct res_model *m)
{
	const struct res_service	*rs;
	const struct res_endpoint	*e;
	struct met_port			*p;
	char				 key[600];
	size_t				 i, j, k;

	for (i = 0; i < m->nservices; i++) {
		rs = &m->services[i];
		for (j = 0; rs->proxied && j < rs->nports; j++) {
			met_key(key, sizeof(key), rs->ns, rs->name,
			    rs->ports[j].port, rs->ports[j].proto);
			if ((p = met_port_get(tab, key)) == NULL)
				continue;
			memset(&p->eps, 0, sizeof(p->eps));
			for (k = 0; k < rs->ports[j].nendpoints; k++) {
				e = &rs->ports[j].endpoints[k];
				if (e->ready)
					p->eps.ready++;
				else if (e->terminating && e->serving)
					p->eps.serving_terminating++;
				else if (e->terminating)
					p->eps.terminating++;
				else
					p->eps.not_ready++;
			}
		}
	}
}
