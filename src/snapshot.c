#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "affinity.h"
#include "clock.h"
#include "health_cell.h"
#include "lb.h"
#include "log.h"
#include "pcfg-t.h"
#include "policy.h"
#include "kobj-t.h"
#include "res.h"
#include "selector.h"
#include "snapshot.h"

static int
snap_lsn_cmp(const void *pa, const void *pb)
{
	const struct snap_lsn *a = pa, *b = pb;
	int c;

	if (a->addr.family != b->addr.family)
		return a->addr.family < b->addr.family ? -1 : 1;
	if (a->addr.family != 0 && (c = ipaddr_cmp(&a->addr, &b->addr)) != 0)
		return c;
	if (a->port != b->port)
		return a->port < b->port ? -1 : 1;
	if (a->proto != b->proto)
		return a->proto < b->proto ? -1 : 1;
	return 0;
}

/*
 * The endpoint's Pod in the policy table: by the name resolution found,
 * else by address (EndpointSlice endpoints naming no Pod); and whether
 * that makes its Service port one to judge.
 */
static void
snap_ep_pod(const struct snap *s, struct snap_port *sp, struct lb_ep *ep,
    const struct res_endpoint *re)
{
	const struct pol_table *t = &s->pol;

	ep->pol_pod = POL_NONE;
	if (re->pod != NULL && re->pod_ns != NULL)
		ep->pol_pod = pol_pod_by_name(t, re->pod_ns, re->pod);
	if (ep->pol_pod == POL_NONE)
		ep->pol_pod = pol_pod_by_addr(t, &re->addr);
	if (ep->pol_pod != POL_NONE &&
	    t->pods[ep->pol_pod].npol[POL_INGRESS] != 0)
		sp->pol_isolated = 1;
}

#define SNAP_OOM	"out of memory building the snapshot"

/*
 * d = src, its strings copied into s's arena and, with a check, its
 * timings defaulted (a model made without validation may leave them
 * 0).  Every port's is copied: the passive settings apply without an
 * active check too.  0, or -1 when the arena is exhausted.
 */
static int
snap_hc_copy(struct snap *s, struct hc_config *d, const struct hc_config *src)
{
	struct hc_settings	*c = &d->check;
	const char		**str[] = { &c->method, &c->path, &c->host,
	    &c->expect, &c->sni, &c->ca };
	size_t			 i;

	*d = *src;
	if (c->kind != HC_NONE && c->interval_ms == 0)
		c->interval_ms = HC_DEFAULT_INTERVAL_MS;
	if (c->kind != HC_NONE && c->timeout_ms == 0)
		c->timeout_ms = c->interval_ms;
	if (c->kind != HC_NONE && c->rise == 0)
		c->rise = HC_DEFAULT_RISE;
	if (c->kind != HC_NONE && c->fall == 0)
		c->fall = HC_DEFAULT_FALL;
	for (i = 0; i < sizeof(str) / sizeof(str[0]); i++)
		if (*str[i] != NULL &&
		    (*str[i] = arena_strdup(&s->arena, *str[i])) == NULL)
			return -1;
	return 0;
}

/* Where ep of sp is checked: its address, on the check port or its own. */
static socklen_t
snap_hc_addr(const struct snap_port *sp, const struct lb_ep *ep,
    struct sockaddr_storage *sa)
{
	return ipaddr_sockaddr(&ep->addr, sp->hc.check.port != 0 ?
	    sp->hc.check.port : ep->port, sa);
}

/* A worker noticed sp's set entering or leaving panic (lb.h). */
static void
snap_panic_note(const struct lb_set *set, int on, size_t healthy, void *arg)
{
	struct snap		*s = arg;
	const struct snap_port	*sp = (const struct snap_port *)(const void *)
	    ((const char *)set - offsetof(struct snap_port, lb));

	if (on)
		log_rl_msg(&s->rl, LOG_LEVEL_WARN, "Service port %s/%s: %zu "
		    "of %zu endpoints healthy: panic, new connections go to "
		    "every endpoint whatever its health", sp->label,
		    proto_name(sp->proto), healthy, set->neps);
	else
		log_rl_msg(&s->rl, LOG_LEVEL_INFO, "Service port %s/%s: %zu "
		    "of %zu endpoints healthy: panic over", sp->label,
		    proto_name(sp->proto), healthy, set->neps);
}

/*
 * The cells of sp's endpoints, and its set's panic decided from them
 * as they are now (silently: a reload or upgrade keeps a panic that was
 * told already).  0, or -1 with err.
 */
static int
snap_hc_cells(struct snap *s, struct snap_port *sp, struct hc_celltab *cells,
    char *err, size_t errlen)
{
	struct sockaddr_storage	 sa;
	socklen_t		 salen;
	char			 key[HC_KEY_MAX];
	uint64_t		 gen;
	size_t			 i;

	for (i = 0; i < sp->lb.neps; i++) {
		struct lb_ep *ep = &sp->lb.eps[i];

		salen = snap_hc_addr(sp, ep, &sa);
		if (hc_key(key, sizeof(key), (struct sockaddr *)&sa, salen,
		    &sp->hc.check) == NULL) {
			snprintf(err, errlen, "Service port %s/%s: health "
			    "check settings too long", sp->label,
			    proto_name(sp->proto));
			return -1;
		}
		if ((ep->hc = hc_celltab_get(cells, key)) == NULL) {
			snprintf(err, errlen, SNAP_OOM);
			return -1;
		}
	}
	gen = atomic_load_explicit(&cells->gen, memory_order_acquire);
	sp->lb.hc_gen = &cells->gen;
	sp->lb.panic_percent = sp->hc.panic_percent;
	sp->lb.panic_note = snap_panic_note;
	sp->lb.panic_arg = s;
	atomic_store(&sp->lb.panic, (uint32_t)lb_panic_due(&sp->lb,
	    lb_healthy(&sp->lb)));
	atomic_store(&sp->lb.hc_seen, gen);
	return 0;
}

/*
 * Endpoints of rp that take new connections, into sp->lb, and the
 * algorithm's build.  0, or -1 with a message in err.
 */
static int
snap_build_eps(struct snap *s, struct snap_port *sp,
    const struct res_port *rp, struct lb_livetab *live,
    struct hc_celltab *cells, char *err, size_t errlen)
{
	char	why[200];
	size_t	i, n = 0;

	if (rp->nendpoints != 0 && (sp->lb.eps = arena_calloc(&s->arena,
	    rp->nendpoints, sizeof(*sp->lb.eps))) == NULL)
		goto oom;
	for (i = 0; i < rp->nendpoints; i++) {
		const struct res_endpoint	*re = &rp->endpoints[i];
		struct lb_ep			*ep = &sp->lb.eps[n];

		if (!re->usable || re->addr.family == 0 || re->port == 0)
			continue;
		ep->salen = ipaddr_sockaddr(&re->addr, re->port, &ep->sa);
		ep->addr = re->addr;
		ep->port = re->port;
		ep->weight = re->weight;
		snap_ep_pod(s, sp, ep, re);
		ipaddr_format_hostport(&re->addr, re->port, ep->name,
		    sizeof(ep->name));
		if (re->pod != NULL && (ep->pod = arena_printf(&s->arena,
		    "%s/%s", re->pod_ns ? re->pod_ns : "", re->pod)) == NULL)
			goto oom;
		if ((ep->live = lb_live_get(live, ep->name)) == NULL)
			goto oom;
		n++;
	}
	sp->lb.neps = n;
	/* Checks are TCP: a UDP or SCTP port's endpoints get none (a
	   connect there says nothing of the service). */
	if (cells != NULL && sp->hc.check.kind != HC_NONE &&
	    sp->proto == PROTO_TCP &&
	    snap_hc_cells(s, sp, cells, err, errlen) == -1)
		return -1;
	why[0] = '\0';
	if (sp->lb.ops->build(&sp->lb, &s->arena, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "Service port %s/%s: %s balancing: %s",
		    sp->label, proto_name(sp->proto), sp->lb.ops->name,
		    why[0] != '\0' ? why : "failed");
		return -1;
	}
	return 0;
oom:
	snprintf(err, errlen, SNAP_OOM);
	return -1;
}

/* Count what the snapshot will hold, so each array is one allocation. */
static void
snap_count(const struct res_model *m, size_t *nsvcs, size_t *nports,
    size_t *nlsns)
{
	size_t i, j;

	*nsvcs = *nports = *nlsns = 0;
	for (i = 0; i < m->nservices; i++) {
		if (!m->services[i].proxied)
			continue;
		(*nsvcs)++;
		*nports += m->services[i].nports;
		for (j = 0; j < m->services[i].nports; j++)
			*nlsns += m->services[i].ports[j].nlisteners;
	}
}

/*
 * The algorithm's parameters of sp (its hc copied already) and, with
 * sessionAffinity: ClientIP, its table from live's registry (affinity.h:
 * shared with the snapshots before and after, keyed by the port's label
 * and protocol).
 * 0, or -1 when out of memory.
 */
static int
snap_lb_params(struct snap *s, struct snap_port *sp,
    const struct res_service *rs, struct lb_livetab *live)
{
	char *key;

	sp->lb.hash_key = rs->hash_key == 1 ? LB_HASH_CLIENT_IP_PORT :
	    LB_HASH_CLIENT_IP;
	sp->lb.table_size = rs->maglev_table_size;
	sp->lb.slow_start_ms = sp->hc.slow_start_ms;	/* copied already */
	if (rs->session_affinity == NULL ||
	    strcmp(rs->session_affinity, "ClientIP") != 0)
		return 0;
	sp->lb.aff_timeout_ms = (uint32_t)(rs->affinity_timeout > 0 ?
	    rs->affinity_timeout : SVC_DEFAULT_AFFINITY_TIMEOUT) * 1000;
	sp->lb.aff_max = rs->affinity_max != 0 ? rs->affinity_max :
	    PCFG_DEFAULT_AFFINITY_MAX;
	if (sp->lb.aff_max > AFF_MAX_LIMIT)
		sp->lb.aff_max = AFF_MAX_LIMIT;
	if ((key = arena_printf(&s->arena, "%s/%s", sp->label,
	    proto_name(sp->proto))) == NULL ||
	    (sp->lb.aff = aff_reg_get(&live->aff, key, sp->lb.aff_max,
	    clock_mono_ms(), sp->lb.aff_timeout_ms)) == NULL)
		return -1;
	return 0;
}

/*
 * TCP_DEFER_ACCEPT for port j of rs: svcproxy.io/defer-accept when set;
 * else on only where the client provably speaks first, as the kernel
 * then holds a connection until its first bytes: a port whose
 * appProtocol names a client-first protocol (the IANA names http and
 * https, and Kubernetes' kubernetes.io/h2c, ws and wss), or one whose
 * clients send a PROXY header.  A server-first protocol (SMTP, MySQL,
 * SSH) would wait out the timeout before its banner.
 */
static int
snap_defer_accept(const struct res_service *rs, size_t j)
{
	static const char *const first[] = { "http", "https",
	    "kubernetes.io/h2c", "kubernetes.io/ws", "kubernetes.io/wss" };
	const char	*v, *ap;
	size_t		 i;

	if (rs->src == NULL)
		return rs->accept_proxy;
	if ((v = sel_label_get(&rs->src->meta.annotations,
	    ANN_DEFER_ACCEPT)) != NULL)
		return strcmp(v, "true") == 0;
	if (rs->accept_proxy)
		return 1;
	if (j >= rs->src->spec.ports.n ||
	    (ap = rs->src->spec.ports.v[j].app_protocol) == NULL)
		return 0;
	for (i = 0; i < sizeof(first) / sizeof(first[0]); i++)
		if (strcmp(ap, first[i]) == 0)
			return 1;
	return 0;
}

/*
 * One proxied Service into s, every port balanced with the algorithm
 * resolution chose for it.  0, or -1 with a message in err.
 */
static int
snap_build_svc(struct snap *s, const struct res_service *rs,
    const struct pcfg *pc, struct lb_livetab *live,
    struct hc_celltab *cells, char *err, size_t errlen)
{
	struct snap_svc		*sv = &s->svcs[s->nsvcs++];
	const struct lb_ops	*ops;
	char			*key;
	size_t			 j, k;

	/* Validation let only known names through; a model made some
	   other way may still name none. */
	if (rs->lb_algorithm == NULL ||
	    (ops = lb_find(rs->lb_algorithm)) == NULL) {
		snprintf(err, errlen, "Service %s/%s: unknown balancing "
		    "algorithm \"%s\"", rs->ns, rs->name,
		    rs->lb_algorithm ? rs->lb_algorithm : "");
		return -1;
	}

	if ((sv->ns = arena_strdup(&s->arena, rs->ns)) == NULL ||
	    (sv->name = arena_strdup(&s->arena, rs->name)) == NULL ||
	    (key = arena_printf(&s->arena, "svc/%s/%s", rs->ns,
	    rs->name)) == NULL || (sv->live = lb_live_get(live, key)) == NULL)
		goto oom;
	sv->connect_timeout_ms = rs->connect_timeout_ms ?
	    rs->connect_timeout_ms : pc->connect_timeout_ms;
	sv->idle_timeout_ms = rs->idle_timeout_ms ?
	    rs->idle_timeout_ms : pc->idle_timeout_ms;
	sv->max_connections = rs->max_connections;
	sv->proxy_protocol = rs->proxy_protocol;
	sv->accept_proxy = rs->accept_proxy;
	sv->udp_idle_timeout_ms = rs->udp_idle_timeout_ms ?
	    rs->udp_idle_timeout_ms : pc->udp_idle_timeout_ms;
	sv->udp_responses = rs->udp_responses;
	sv->udp_max_flows = rs->udp_max_flows;
	sv->transparent = rs->transparent;
	if (rs->nlb_source_ranges != 0) {
		if ((sv->lb_src = arena_calloc(&s->arena,
		    rs->nlb_source_ranges, sizeof(*sv->lb_src))) == NULL)
			goto oom;
		memcpy(sv->lb_src, rs->lb_source_ranges,
		    rs->nlb_source_ranges * sizeof(*sv->lb_src));
		sv->nlb_src = rs->nlb_source_ranges;
	}
	sv->ports = &s->ports[s->nports];
	sv->nports = rs->nports;
	for (j = 0; j < rs->nports; j++) {
		const struct res_port	*rp = &rs->ports[j];
		struct snap_port	*sp = &s->ports[s->nports++];

		sp->svc = sv;
		sp->port = rp->port;
		sp->proto = rp->proto;
		sp->lb.ops = ops;
		if ((sp->name = arena_strdup(&s->arena,
		    rp->name ? rp->name : "")) == NULL ||
		    (sp->label = arena_printf(&s->arena, "%s/%s:%u", rs->ns,
		    rs->name, rp->port)) == NULL)
			goto oom;
		sp->defer_accept = rp->proto == PROTO_TCP &&
		    snap_defer_accept(rs, j);
		if (snap_hc_copy(s, &sp->hc, &rs->hc) == -1 ||
		    snap_lb_params(s, sp, rs, live) == -1)
			goto oom;
		if (snap_build_eps(s, sp, rp, live, cells, err, errlen) == -1)
			return -1;
		for (k = 0; k < rp->nlisteners; k++) {
			const struct res_listener	*rl = &rp->listeners[k];
			struct snap_lsn			*l;

			l = &s->lsns[s->nlsns++];
			l->addr = rl->addr;
			l->port = rl->port;
			l->proto = rl->proto;
			l->kind = rl->kind;
			l->sp = sp;
			ipaddr_format_hostport(&l->addr, l->port, l->name,
			    sizeof(l->name));
		}
	}
	return 0;
oom:
	snprintf(err, errlen, SNAP_OOM);
	return -1;
}

/*
 * Sort the listeners and drop repeats of one Service port (a
 * LoadBalancer IP that is also an external IP: the load-balancer kind
 * is kept, so loadBalancerSourceRanges still apply to it); two
 * different Service ports on one address are an error.
 */
static int
snap_dedup_lsns(struct snap *s, char *err, size_t errlen)
{
	size_t i, n = 0;

	if (s->nlsns == 0)
		return 0;
	if (s->nlsns > 1)
		qsort(s->lsns, s->nlsns, sizeof(*s->lsns), snap_lsn_cmp);
	for (i = 1; i < s->nlsns; i++) {
		if (snap_lsn_cmp(&s->lsns[n], &s->lsns[i]) != 0) {
			s->lsns[++n] = s->lsns[i];
			continue;
		}
		if (s->lsns[i].kind == RES_LSN_LOAD_BALANCER)
			s->lsns[n].kind = RES_LSN_LOAD_BALANCER;
		if (s->lsns[n].sp != s->lsns[i].sp) {
			snprintf(err, errlen, "%s/%s is served by both "
			    "Service %s and Service %s", s->lsns[i].name,
			    proto_name(s->lsns[i].proto),
			    s->lsns[n].sp->label, s->lsns[i].sp->label);
			return -1;
		}
	}
	s->nlsns = n + 1;
	return 0;
}

/*
 * Point *str at a copy in s's arena, reusing the last copy when the
 * string repeats.  0, or -1 when the arena is exhausted.
 */
static int
snap_own_str(struct snap *s, const char **str, const char **last_in,
    const char **last_out)
{
	if (*str == NULL)
		return 0;
	if (*last_in == NULL || strcmp(*str, *last_in) != 0) {
		*last_in = *str;
		if ((*last_out = arena_strdup(&s->arena, *str)) == NULL)
			return -1;
	}
	*str = *last_out;
	return 0;
}

/*
 * pol_build() borrows the kset's names (Pods, policies, port names);
 * the snapshot outlives the kset, so copy them into its arena.  Pods
 * and policies come sorted by namespace: one copy per namespace run.
 * The verdict itself reads no string; the names serve pol_pod_by_name()
 * and the log lines.  0, or -1 when the arena is exhausted.
 */
static int
snap_own_pol(struct snap *s)
{
	struct pol_table	*t = &s->pol;
	const char		*li = NULL, *lo = NULL, *ni = NULL, *no = NULL;
	uint32_t		 i;

	for (i = 0; i < t->npods; i++) {
		ni = no = NULL;
		if (snap_own_str(s, &t->pods[i].ns, &li, &lo) == -1 ||
		    snap_own_str(s, &t->pods[i].name, &ni, &no) == -1)
			return -1;
	}
	li = lo = NULL;
	for (i = 0; i < t->npolicies; i++) {
		ni = no = NULL;
		if (snap_own_str(s, &t->policies[i].ns, &li, &lo) == -1 ||
		    snap_own_str(s, &t->policies[i].name, &ni, &no) == -1)
			return -1;
	}
	for (i = 0; i < t->nport_names; i++) {
		ni = no = NULL;
		if (snap_own_str(s, &t->port_names[i], &ni, &no) == -1)
			return -1;
	}
	return 0;
}

/*
 * The policy tables and their merged allow index.  The index may take
 * up to twice the tables (at least SNAP_POL_IX_MIN), and never more
 * than a quarter of what the arena has left: past that, isolated Pods
 * keep the walk, and one line says how many.  0, or -1 when the arena
 * is exhausted.
 */
#define SNAP_POL_IX_MIN		((size_t)16 * 1024 * 1024)

static int
snap_build_pol(struct snap *s, const struct res_model *m)
{
	struct pol_table	*t = &s->pol;
	size_t			 used = s->arena.used, max, left;

	if (pol_build(t, &s->arena, m->set) == -1)
		return -1;
	max = 2 * (s->arena.used - used);
	if (max < SNAP_POL_IX_MIN)
		max = SNAP_POL_IX_MIN;
	left = s->arena.limit == 0 ? SIZE_MAX :
	    s->arena.limit > s->arena.used ? s->arena.limit - s->arena.used :
	    0;
	if (max > left / 4)
		max = left / 4;
	if (pol_index_build(t, &s->arena, max) == -1)
		return -1;
	if (t->ix_missed[POL_INGRESS] != 0 || t->ix_missed[POL_EGRESS] != 0)
		log_warn("NetworkPolicy: %u ingress and %u egress isolated "
		    "Pods have no merged index (over %zu bytes): their "
		    "connections walk every policy", t->ix_missed[POL_INGRESS],
		    t->ix_missed[POL_EGRESS], max);
	return 0;
}

/* Free s: its arena, and the affinity tables' references it holds. */
static void
snap_free(struct snap *s)
{
	size_t i;

	for (i = 0; i < s->nports; i++)
		aff_unref(s->ports[i].lb.aff);
	log_rl_destroy(&s->rl);
	arena_free(&s->arena);
	free(s);
}

struct snap *
snap_build(const struct res_model *m, struct lb_livetab *live,
    struct hc_celltab *cells, char *err, size_t errlen)
{
	struct snap		*s;
	size_t			 nsvcs, nports, nlsns, i;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	atomic_init(&s->refs, 1);
	arena_init(&s->arena, SNAP_ARENA_LIMIT);
	/* The tables of ports no snapshot has any more (affinity.h). */
	aff_reg_sweep(&live->aff);
	log_rl_init(&s->rl, 10, 60000);
	s->drain_timeout_ms = m->pcfg->drain_timeout_ms;
	s->max_connections = m->pcfg->max_connections;
	s->udp_idle_timeout_ms = m->pcfg->udp_idle_timeout_ms;
	s->udp_max_flows = m->pcfg->udp_max_flows;
	s->connection_log = m->pcfg->connection_log;
	s->listener_sockets = m->pcfg->listener_sockets;
	s->keep_established = m->pcfg->keep_established;
	s->pp_timeout_ms = m->pcfg->pp_timeout_ms;
	if (m->pcfg->npp_trusted != 0) {
		if ((s->pp_trusted = arena_calloc(&s->arena,
		    m->pcfg->npp_trusted, sizeof(*s->pp_trusted))) == NULL)
			goto oom;
		memcpy(s->pp_trusted, m->pcfg->pp_trusted,
		    m->pcfg->npp_trusted * sizeof(*s->pp_trusted));
		s->npp_trusted = m->pcfg->npp_trusted;
	}
	if (m->set != NULL && (snap_build_pol(s, m) == -1 ||
	    snap_own_pol(s) == -1))
		goto oom;
	snap_count(m, &nsvcs, &nports, &nlsns);
	if ((nsvcs && (s->svcs = arena_calloc(&s->arena, nsvcs,
	    sizeof(*s->svcs))) == NULL) ||
	    (nports && (s->ports = arena_calloc(&s->arena, nports,
	    sizeof(*s->ports))) == NULL) ||
	    (nlsns && (s->lsns = arena_calloc(&s->arena, nlsns,
	    sizeof(*s->lsns))) == NULL))
		goto oom;
	for (i = 0; i < m->nservices; i++)
		if (m->services[i].proxied && snap_build_svc(s,
		    &m->services[i], m->pcfg, live, cells, err, errlen) == -1)
			goto fail;
	if (snap_dedup_lsns(s, err, errlen) == -1)
		goto fail;
	return s;
oom:
	snprintf(err, errlen, SNAP_OOM);
fail:
	snap_free(s);
	return NULL;
}

static int
snap_target_cmp(const void *pa, const void *pb)
{
	const struct hc_target	*a = pa, *b = pb;

	return a->cell < b->cell ? -1 : a->cell > b->cell;
}

struct hc_target *
snap_hc_targets(const struct snap *s, size_t *np)
{
	struct hc_target	*t;
	size_t			 i, j, n = 0, k;

	for (i = 0; i < s->nports; i++)
		for (j = 0; j < s->ports[i].lb.neps; j++)
			n += s->ports[i].lb.eps[j].hc != NULL;
	if ((t = calloc(n + 1, sizeof(*t))) == NULL)
		return NULL;
	n = 0;
	for (i = 0; i < s->nports; i++) {
		const struct snap_port *sp = &s->ports[i];

		for (j = 0; j < sp->lb.neps; j++) {
			const struct lb_ep *ep = &sp->lb.eps[j];

			if (ep->hc == NULL)
				continue;
			/* The engine writes the cell; the snapshot only
			   reads it. */
			t[n].cell = (struct hc_cell *)ep->hc;
			t[n].salen = snap_hc_addr(sp, ep, &t[n].sa);
			t[n].set = &sp->hc.check;
			n++;
		}
	}
	/* Equal cells mean equal settings and address: keep one. */
	if (n > 1)
		qsort(t, n, sizeof(*t), snap_target_cmp);
	for (i = k = 0; i < n; i++)
		if (k == 0 || t[k - 1].cell != t[i].cell)
			t[k++] = t[i];
	*np = k;
	return t;
}

struct snap *
snap_ref(struct snap *s)
{
	atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
	return s;
}

void
snap_unref(struct snap *s)
{
	if (s == NULL)
		return;
	/* acq_rel: the freeing thread sees every other user's writes. */
	if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
		return;
	snap_free(s);
}

const struct snap_lsn *
snap_find_lsn(const struct snap *s, const struct ipaddr *addr,
    uint16_t port, enum proto proto)
{
	struct snap_lsn key;

	memset(&key, 0, sizeof(key));
	key.addr = *addr;
	key.port = port;
	key.proto = proto;
	if (s->nlsns == 0)
		return NULL;
	return bsearch(&key, s->lsns, s->nlsns, sizeof(*s->lsns),
	    snap_lsn_cmp);
}

static int
snap_svc_cmp(const char *ns, const char *name, const struct snap_svc *sv)
{
	int c;

	if ((c = strcmp(ns, sv->ns)) != 0)
		return c;
	return strcmp(name, sv->name);
}

const struct snap_port *
snap_find_port(const struct snap *s, const char *ns, const char *name,
    uint16_t port, enum proto proto)
{
	const struct snap_svc	*sv;
	size_t			 lo = 0, hi = s->nsvcs, mid, i;
	int			 c;

	/* Services are in model order: sorted by namespace/name. */
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		sv = &s->svcs[mid];
		if ((c = snap_svc_cmp(ns, name, sv)) == 0) {
			for (i = 0; i < sv->nports; i++)
				if (sv->ports[i].port == port &&
				    sv->ports[i].proto == proto)
					return &sv->ports[i];
			return NULL;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

int
snap_set_up(const struct snap *s, struct lb_live *l, int up)
{
	size_t i, j;

	if (!lb_live_set_up(l, up))
		return 0;
	/* Workers may pick on these sets meanwhile: the hooks know. */
	for (i = 0; s != NULL && i < s->nports; i++)
		for (j = 0; j < s->ports[i].lb.neps; j++)
			if (s->ports[i].lb.eps[j].live == l)
				lb_set_status(&s->ports[i].lb,
				    &s->ports[i].lb.eps[j]);
	return 1;
}

/* ---- NetworkPolicy and source ranges ---- */

void
snap_client_init(const struct snap *s, const struct snap_port *sp,
    struct snap_client *c, const struct ipaddr *addr)
{
	const struct pol_table *t = &s->pol;

	c->addr = *addr;
	c->pod = POL_NONE;
	c->egress = 0;
	if (!sp->pol_isolated && t->nisolated[POL_EGRESS] == 0)
		return;
	c->pod = pol_pod_by_addr(t, addr);
	c->egress = c->pod != POL_NONE &&
	    t->pods[c->pod].npol[POL_EGRESS] != 0;
}

int
snap_ep_allowed(const struct snap *s, const struct snap_port *sp,
    const struct snap_client *c, const struct lb_ep *ep,
    struct pol_verdict *v)
{
	struct pol_flow	f;
	int		d;

	f.src = c->addr;
	f.src_pod = c->pod;
	f.dst = ep->addr;
	f.dst_pod = ep->pol_pod;
	f.port = ep->port;
	f.proto = sp->proto;
	/* The merged index answers yes in a few lookups; only a no (which
	   needs its reason) or a Pod without index walks the policies. */
	if (pol_allowed(&s->pol, &f)) {
		v->allowed = 1;
		for (d = 0; d < 2; d++) {
			v->side[d].pod = POL_NONE;
			v->side[d].isolated = 0;
			v->side[d].allowed = 1;
			v->side[d].policies = NULL;
			v->side[d].npolicies = 0;
			v->side[d].by_policy = v->side[d].by_rule = POL_NONE;
		}
		return 1;
	}
	return pol_judge(&s->pol, &f, v);
}

int
snap_source_allowed(const struct snap_lsn *l, const struct ipaddr *addr)
{
	const struct snap_svc	*sv = l->sp->svc;
	size_t			 i;

	if (l->kind != RES_LSN_LOAD_BALANCER || sv->nlb_src == 0)
		return 1;
	for (i = 0; i < sv->nlb_src; i++)
		if (cidr_contains(&sv->lb_src[i], addr))
			return 1;
	return 0;
}

int
snap_pp_trusted(const struct snap *s, const struct ipaddr *addr)
{
	size_t i;

	for (i = 0; i < s->npp_trusted; i++)
		if (cidr_contains(&s->pp_trusted[i], addr))
			return 1;
	return 0;
}

enum snap_recheck
snap_recheck(const struct snap *s, const struct snap_port *osp,
    const struct lb_ep *oep, const struct ipaddr *client,
    struct pol_verdict *v)
{
	const struct snap_port	*sp;
	const struct lb_ep	*ep = NULL;
	struct snap_client	 c;
	struct pol_verdict	 tmp;
	size_t			 i;

	sp = snap_find_port(s, osp->svc->ns, osp->svc->name, osp->port,
	    osp->proto);
	if (sp == NULL)
		return SNAP_GONE;
	/* The live entry is the endpoint's address and port, shared by
	   every snapshot built from one table. */
	for (i = 0; i < sp->lb.neps && ep == NULL; i++)
		if (sp->lb.eps[i].live == oep->live)
			ep = &sp->lb.eps[i];
	if (ep == NULL)
		return SNAP_GONE;
	if (v == NULL)
		v = &tmp;
	snap_client_init(s, sp, &c, client);
	if (!snap_needs_judging(sp, &c)) {
		memset(v, 0, sizeof(*v));
		v->allowed = 1;
		return SNAP_KEEP;
	}
	return snap_ep_allowed(s, sp, &c, ep, v) ? SNAP_KEEP : SNAP_DENY;
}

/* "ingress of ns/pod (isolated by ns/a, ns/b)" for the denying side. */
char *
snap_deny_reason(const struct snap *s, const struct pol_verdict *v,
    char *buf, size_t len)
{
	const struct pol_table	*t = &s->pol;
	const struct pol_side	*sd;
	const struct pol_policy	*p;
	size_t			 off;
	uint32_t		 i;
	int			 d, n;

	d = !v->side[POL_INGRESS].allowed ? POL_INGRESS : POL_EGRESS;
	sd = &v->side[d];
	if (sd->allowed || sd->pod < 0) {
		snprintf(buf, len, "allowed");
		return buf;
	}
	n = snprintf(buf, len, "%s of %s/%s not allowed by", pol_dir_name(d),
	    t->pods[sd->pod].ns, t->pods[sd->pod].name);
	off = n < 0 ? 0 : (size_t)n;
	for (i = 0; i < sd->npolicies && i < 3 && off < len; i++) {
		p = &t->policies[sd->policies[i]];
		n = snprintf(buf + off, len - off, "%s %s/%s", i ? "," : "",
		    p->ns, p->name);
		off += n < 0 ? 0 : (size_t)n;
	}
	if (sd->npolicies > 3 && off < len)
		snprintf(buf + off, len - off, " and %u more",
		    sd->npolicies - 3);
	return buf;
}

void
snap_slot_init(struct snap_slot *sl)
{
	pthread_mutex_init(&sl->mu, NULL);
	atomic_init(&sl->cur, NULL);
	sl->gen = 0;
}

void
snap_slot_publish(struct snap_slot *sl, struct snap *s)
{
	struct snap *old;

	pthread_mutex_lock(&sl->mu);
	s->gen = ++sl->gen;
	old = atomic_exchange_explicit(&sl->cur, s, memory_order_acq_rel);
	pthread_mutex_unlock(&sl->mu);
	snap_unref(old);
}

/*
 * The lock closes the window between loading the pointer and taking a
 * reference, in which a publish could drop the slot's reference and
 * free the snapshot.
 */
struct snap *
snap_slot_acquire(struct snap_slot *sl)
{
	struct snap *s;

	pthread_mutex_lock(&sl->mu);
	s = atomic_load_explicit(&sl->cur, memory_order_acquire);
	if (s != NULL)
		snap_ref(s);
	pthread_mutex_unlock(&sl->mu);
	return s;
}

const struct snap *
snap_slot_peek(struct snap_slot *sl)
{
	return atomic_load_explicit(&sl->cur, memory_order_acquire);
}

void
snap_slot_clear(struct snap_slot *sl)
{
	struct snap *old;

	pthread_mutex_lock(&sl->mu);
	old = atomic_exchange_explicit(&sl->cur, NULL, memory_order_acq_rel);
	pthread_mutex_unlock(&sl->mu);
	snap_unref(old);
	pthread_mutex_destroy(&sl->mu);
}
