#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot.h"

/* "127.0.0.1:80", "[::1]:80", "*:80" into buf (NETADDR_STRLEN + 8). */
static void
snap_addr_name(const struct ipaddr *a, uint16_t port, char *buf,
    size_t len)
{
	char ip[NETADDR_STRLEN];

	if (a->family == 0)
		snprintf(buf, len, "*:%u", port);
	else if (a->family == AF_INET6)
		snprintf(buf, len, "[%s]:%u", ipaddr_format(a, ip), port);
	else
		snprintf(buf, len, "%s:%u", ipaddr_format(a, ip), port);
}

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

/* Endpoints of rp that take new connections, into sp->lb. */
static int
snap_build_eps(struct snap *s, struct snap_port *sp,
    const struct res_port *rp, struct lb_livetab *live)
{
	size_t i, n = 0;

	if (rp->nendpoints != 0 && (sp->lb.eps = arena_calloc(&s->arena,
	    rp->nendpoints, sizeof(*sp->lb.eps))) == NULL)
		return -1;
	for (i = 0; i < rp->nendpoints; i++) {
		const struct res_endpoint	*re = &rp->endpoints[i];
		struct lb_ep			*ep = &sp->lb.eps[n];

		if (!re->usable || re->addr.family == 0 || re->port == 0)
			continue;
		ep->salen = ipaddr_sockaddr(&re->addr, re->port, &ep->sa);
		snap_addr_name(&re->addr, re->port, ep->name,
		    sizeof(ep->name));
		if (re->pod != NULL && (ep->pod = arena_printf(&s->arena,
		    "%s/%s", re->pod_ns ? re->pod_ns : "", re->pod)) == NULL)
			return -1;
		if ((ep->live = lb_live_get(live, ep->name)) == NULL)
			return -1;
		n++;
	}
	sp->lb.neps = n;
	return sp->lb.ops->build(&sp->lb, &s->arena);
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

static int
snap_build_svc(struct snap *s, const struct res_service *rs,
    const struct pcfg *pc, struct lb_livetab *live, const struct lb_ops *ops)
{
	struct snap_svc	*sv = &s->svcs[s->nsvcs++];
	char		*key;
	size_t		 j, k;

	if ((sv->ns = arena_strdup(&s->arena, rs->ns)) == NULL ||
	    (sv->name = arena_strdup(&s->arena, rs->name)) == NULL ||
	    (key = arena_printf(&s->arena, "svc/%s/%s", rs->ns,
	    rs->name)) == NULL || (sv->live = lb_live_get(live, key)) == NULL)
		return -1;
	sv->connect_timeout_ms = rs->connect_timeout_ms ?
	    rs->connect_timeout_ms : pc->connect_timeout_ms;
	sv->idle_timeout_ms = rs->idle_timeout_ms ?
	    rs->idle_timeout_ms : pc->idle_timeout_ms;
	sv->max_connections = rs->max_connections;
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
		    rs->name, rp->port)) == NULL ||
		    snap_build_eps(s, sp, rp, live) == -1)
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
			snap_addr_name(&l->addr, l->port, l->name,
			    sizeof(l->name));
		}
	}
	return 0;
}

/*
 * Sort the listeners and drop repeats of one Service port (a
 * LoadBalancer IP that is also an external IP); two different Service
 * ports on one address are an error.
 */
static int
snap_dedup_lsns(struct snap *s, char *err, size_t errlen)
{
	size_t i, n = 0;

	if (s->nlsns == 0)
		return 0;
	qsort(s->lsns, s->nlsns, sizeof(*s->lsns), snap_lsn_cmp);
	for (i = 1; i < s->nlsns; i++) {
		if (snap_lsn_cmp(&s->lsns[n], &s->lsns[i]) != 0) {
			s->lsns[++n] = s->lsns[i];
			continue;
		}
		if (s->lsns[n].sp != s->lsns[i].sp) {
			snprintf(err, errlen, "%s/%s is served by both "
			    "Service %s and Service %s", s->lsns[i].name,
			    res_proto_name(s->lsns[i].proto),
			    s->lsns[n].sp->label, s->lsns[i].sp->label);
			return -1;
		}
	}
	s->nlsns = n + 1;
	return 0;
}

struct snap *
snap_build(const struct res_model *m, struct lb_livetab *live,
    const char *lb, char *err, size_t errlen)
{
	const struct lb_ops	*ops;
	struct snap		*s;
	size_t			 nsvcs, nports, nlsns, i;

	if ((ops = lb_find(lb)) == NULL) {
		snprintf(err, errlen, "unknown balancing algorithm \"%s\"", lb);
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	atomic_init(&s->refs, 1);
	arena_init(&s->arena, SNAP_ARENA_LIMIT);
	s->drain_timeout_ms = m->pcfg->drain_timeout_ms;
	s->max_connections = m->pcfg->max_connections;
	s->connection_log = m->pcfg->connection_log;
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
		    &m->services[i], m->pcfg, live, ops) == -1)
			goto oom;
	if (snap_dedup_lsns(s, err, errlen) == -1)
		goto fail;
	return s;
oom:
	snprintf(err, errlen, "out of memory building the snapshot");
fail:
	arena_free(&s->arena);
	free(s);
	return NULL;
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
	arena_free(&s->arena);
	free(s);
}

const struct snap_lsn *
snap_find_lsn(const struct snap *s, const struct ipaddr *addr,
    uint16_t port, enum res_proto proto)
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
