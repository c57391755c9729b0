#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>
#include <sys/socket.h>

#include <event2/dns.h>
#include <event2/event.h>

#include "clock.h"
#include "extname.h"
#include "res.h"
#include "snapshot.h"
#include "vec.h"

#define XN_KICK_MS	100	/* asked again while a reload runs */
#define XN_QUERY_TIMEOUT "2"	/* seconds per try (evdns "timeout:") */
#define XN_QUERY_TRIES	"2"	/* evdns "attempts:" */

static void	xn_round(struct xn_run *, struct xn_ent *);

static void
xn_timer_ms(struct event *ev, int64_t ms)
{
	struct timeval tv;

	if (ms < 0)
		ms = 0;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	event_add(ev, &tv);
}

/* ---- the table, for snapshot builds ---- */

/* The entry of name ("a.b." is "a.b", in any case), or NULL. */
static struct xn_ent *
xn_find(const struct xn_run *x, const char *name)
{
	size_t i, len = strlen(name);

	if (len > 0 && name[len - 1] == '.')
		len--;
	for (i = 0; i < x->nents; i++)
		if (!x->ents[i]->gone && strlen(x->ents[i]->name) == len &&
		    strncasecmp(x->ents[i]->name, name, len) == 0)
			return x->ents[i];
	return NULL;
}

/* xn_lookup_fn over x's entries; x->mu held by the caller. */
static const struct ipaddr *
xn_lookup(const char *name, size_t *n, void *arg)
{
	struct xn_ent *e;

	if ((e = xn_find(arg, name)) == NULL) {
		*n = 0;
		return NULL;
	}
	*n = e->naddrs;
	return e->addrs;
}

int
xn_model(struct xn_run *x, const struct res_model *m, struct res_model *out,
    int *any)
{
	int rc;

	pthread_mutex_lock(&x->mu);
	rc = xn_overlay(m, xn_lookup, x, out, any);
	pthread_mutex_unlock(&x->mu);
	return rc;
}

struct snap *
xn_snap_build(struct xn_run *x, const struct res_model *m,
    struct lb_livetab *live, struct hc_celltab *cells, char *err,
    size_t errlen)
{
	struct res_model	 ov;
	struct snap		*s;
	int			 any = 0;

	if (x == NULL)
		return snap_build(m, live, cells, err, errlen);
	/* The copy holds the addresses: the lock is not held while the
	   snapshot is built. */
	if (xn_model(x, m, &ov, &any) == -1) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s = snap_build(any ? &ov : m, live, cells, err, errlen);
	xn_overlay_free(&ov, any);
	return s;
}

/* ---- rebuilds: level-triggered ---- */

/*
 * The table changed: have the running model's snapshot built again,
 * unless a reload (whose build reads the table itself, and after which
 * this asks again) or a rebuild is under way.
 */
static void
xn_kick(struct xn_run *x)
{
	x->dirty = 1;
	if (x->building)
		return;		/* xn_built asks again */
	if (x->hooks.busy(x->hooks.arg)) {
		xn_timer_ms(x->kick, XN_KICK_MS);
		return;
	}
	x->dirty = 0;
	if (x->hooks.build(x->hooks.arg) == -1) {
		x->dirty = 1;
		xn_timer_ms(x->kick, 1000);
		return;
	}
	x->building = 1;
	x->stats.rebuilds++;
}

static void
xn_kick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct xn_run *x = arg;

	(void)fd;
	(void)what;
	if (x->dirty)
		xn_kick(x);
}

void
xn_built(struct xn_run *x)
{
	x->building = 0;
	if (x->dirty)
		xn_kick(x);
}

int
xn_building(const struct xn_run *x)
{
	return x->building;
}

/* ---- one name's rounds ---- */

static void
xn_ent_free(struct xn_ent *e)
{
	if (e->timer != NULL)
		event_free(e->timer);
	free(e);
}

/* Replace e's answer (sorted) under the lock; 1 when it changed. */
static int
xn_set_answer(struct xn_run *x, struct xn_ent *e, const struct ipaddr *a,
    size_t n)
{
	if (xn_addrs_equal(e->addrs, e->naddrs, a, n))
		return 0;
	pthread_mutex_lock(&x->mu);
	if (n > 0)	/* a is NULL when the answer is dropped */
		memcpy(e->addrs, a, n * sizeof(*a));
	e->naddrs = n;
	pthread_mutex_unlock(&x->mu);
	return 1;
}

static void
xn_addrs_text(const struct ipaddr *a, size_t n, char *buf, size_t len)
{
	char	ip[NETADDR_STRLEN];
	size_t	i, off = 0;

	buf[0] = '\0';
	for (i = 0; i < n && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s",
		    i > 0 ? " " : "", ipaddr_format(&a[i], ip));
	if (n == 0)
		snprintf(buf, len, "none");
}

static void
xn_round_ok(struct xn_run *x, struct xn_ent *e, int64_t now)
{
	char	was[512], is[512];

	e->ngot = xn_addrs_norm(e->got, e->ngot);
	e->ttl_ms = xn_ttl_clamp(e->got_ttl, x->min_ttl_ms, x->max_ttl_ms);
	e->expires_ms = now + e->ttl_ms;
	e->next_ms = e->expires_ms;
	e->last_ok = clock_wall_ms();
	if (e->fails > 0)
		log_info("external name %s: resolved again after %u failures",
		    e->name, e->fails);
	e->fails = 0;
	xn_addrs_text(e->addrs, e->naddrs, was, sizeof(was));
	if (xn_set_answer(x, e, e->got, e->ngot)) {
		xn_addrs_text(e->addrs, e->naddrs, is, sizeof(is));
		log_info("external name %s: %s (was %s; TTL %u ms)", e->name,
		    is, was, e->ttl_ms);
		x->stats.changes++;
		xn_kick(x);
	}
}

static const char *
xn_err_text(int err)
{
	switch (err) {
	case DNS_ERR_NOTEXIST:
		return "no such name (NXDOMAIN)";
	case DNS_ERR_NODATA:
		return "no A or AAAA record";
	default:
		return evdns_err_to_string(err);
	}
}

/*
 * The round failed: keep the last good answer until holdOnFailure after
 * its TTL ran out, then drop it; ask again after a back-off.
 */
static void
xn_round_failed(struct xn_run *x, struct xn_ent *e, int64_t now,
    const char *why)
{
	e->fails++;
	e->failures++;
	x->stats.failures++;
	snprintf(e->last_err, sizeof(e->last_err), "%s", why);
	e->last_err_at = clock_wall_ms();
	e->next_ms = now + xn_retry_ms(e->fails, x->max_ttl_ms);
	if (e->naddrs > 0 && now >= e->expires_ms + (int64_t)x->hold_ms) {
		log_warn("external name %s: %s for %u ms after the TTL: its "
		    "addresses are dropped", e->name, why, x->hold_ms);
		(void)xn_set_answer(x, e, NULL, 0);
		x->stats.expired++;
		xn_kick(x);
		return;
	}
	(void)log_rl_msg(&x->rl, LOG_LEVEL_WARN, "external name %s: %s "
	    "(%u in a row; %s)", e->name, why, e->fails, e->naddrs > 0 ?
	    "the last good answer is kept" : "no address yet");
}

/* Both queries are back. */
static void
xn_round_done(struct xn_run *x, struct xn_ent *e)
{
	int64_t	now = clock_mono_ms();
	int	i, answered = 1, nodata = 1;
	char	why[128];

	why[0] = '\0';
	for (i = 0; i < 2; i++) {
		int r = e->err[i];

		if (r != DNS_ERR_NONE && r != DNS_ERR_NODATA &&
		    r != DNS_ERR_NOTEXIST) {
			answered = 0;
			snprintf(why, sizeof(why), "%s query: %s", i == 0 ?
			    "A" : "AAAA", xn_err_text(r));
		}
		if (r == DNS_ERR_NOTEXIST && why[0] == '\0')
			snprintf(why, sizeof(why), "%s", xn_err_text(r));
		if (r == DNS_ERR_NONE)
			nodata = 0;
	}
	if (answered && e->ngot > 0)
		xn_round_ok(x, e, now);
	else
		xn_round_failed(x, e, now, why[0] != '\0' ? why :
		    nodata ? xn_err_text(DNS_ERR_NODATA) : "empty answer");
	x->stats.failing = 0;
	for (i = 0; i < (int)x->nents; i++)
		x->stats.failing += x->ents[i]->fails > 0 &&
		    !x->ents[i]->gone;
	xn_timer_ms(e->timer, e->next_ms - now);
}

/* Take e, no longer wanted and with no query out, out of x; free it. */
static void
xn_unlist(struct xn_run *x, struct xn_ent *e)
{
	size_t i, n = 0;

	pthread_mutex_lock(&x->mu);
	for (i = 0; i < x->nents; i++)
		if (x->ents[i] != e)
			x->ents[n++] = x->ents[i];
	x->nents = n;
	pthread_mutex_unlock(&x->mu);
	xn_ent_free(e);
}

/* evdns_callback_type of both queries. */
static void
xn_answer(int result, char type, int count, int ttl, void *addresses,
    void *arg)
{
	struct xn_ent	*e = arg;
	int		 fam = type == DNS_IPv6_AAAA ? 1 : 0, i;

	e->inflight--;
	if (e->gone) {
		if (e->inflight == 0)
			xn_unlist(e->run, e);
		return;
	}
	if (result == DNS_ERR_SHUTDOWN || result == DNS_ERR_CANCEL)
		return;
	if (type != DNS_IPv4_A && type != DNS_IPv6_AAAA)
		fam = e->err[0] == INT_MIN ? 0 : 1;
	e->err[fam] = result;
	if (result == DNS_ERR_NONE && count > 0) {
		if (ttl < e->got_ttl)
			e->got_ttl = ttl;
		for (i = 0; i < count && e->ngot < XN_MAX_ADDRS; i++) {
			struct ipaddr *a = &e->got[e->ngot++];

			memset(a, 0, sizeof(*a));
			if (type == DNS_IPv4_A) {
				a->family = AF_INET;
				memcpy(a->b, (const uint8_t *)addresses + 4 * i,
				    4);
			} else {
				a->family = AF_INET6;
				memcpy(a->b, (const uint8_t *)addresses +
				    16 * i, 16);
			}
		}
	} else if (result == DNS_ERR_NONE)
		e->err[fam] = DNS_ERR_NODATA;
	if (e->inflight == 0)
		xn_round_done(e->run, e);
}

/* Ask for A and AAAA. */
static void
xn_round(struct xn_run *x, struct xn_ent *e)
{
	int64_t now = clock_mono_ms();

	e->ngot = 0;
	e->got_ttl = INT_MAX;
	e->err[0] = e->err[1] = INT_MIN;
	x->stats.queries++;
	e->queries++;
	if (x->dns == NULL || x->nns == 0) {
		xn_round_failed(x, e, now, "no nameserver (none in "
		    "spec.externalName.nameservers or /etc/resolv.conf)");
		xn_timer_ms(e->timer, e->next_ms - now);
		return;
	}
	/* Counted before either is sent: evdns may answer a failed
	   submission at once. */
	e->inflight = 2;
	if (evdns_base_resolve_ipv4(x->dns, e->name, DNS_QUERY_NO_SEARCH,
	    xn_answer, e) == NULL) {
		e->inflight--;
		e->err[0] = DNS_ERR_UNKNOWN;
	}
	if (evdns_base_resolve_ipv6(x->dns, e->name, DNS_QUERY_NO_SEARCH,
	    xn_answer, e) == NULL) {
		e->inflight--;
		e->err[1] = DNS_ERR_UNKNOWN;
	}
	if (e->inflight == 0)
		xn_round_done(x, e);
}

static void
xn_tick(evutil_socket_t fd, short what, void *arg)
{
	struct xn_ent *e = arg;

	(void)fd;
	(void)what;
	if (e->inflight == 0 && !e->gone)
		xn_round(e->run, e);
}

/* ---- the wanted set ---- */

/* The resolver's nameservers from pc, the evdns base made if need be. */
static int
xn_servers(struct xn_run *x, const struct pcfg *pc)
{
	struct sockaddr_storage	ss;
	socklen_t		len;
	size_t			i;
	char			hp[NETADDR_HOSTPORTLEN];

	if (x->dns == NULL) {
		if ((x->dns = evdns_base_new(x->base, 0)) == NULL)
			return -1;
		evdns_base_set_option(x->dns, "timeout:", XN_QUERY_TIMEOUT);
		evdns_base_set_option(x->dns, "attempts:", XN_QUERY_TRIES);
		/* Answers are compared with what was asked as is. */
		evdns_base_set_option(x->dns, "randomize-case:", "0");
	} else if (x->nns == pc->xn_nns && memcmp(x->ns, pc->xn_ns,
	    sizeof(x->ns)) == 0 && memcmp(x->ns_port, pc->xn_ns_port,
	    sizeof(x->ns_port)) == 0)
		return 0;
	evdns_base_clear_nameservers_and_suspend(x->dns);
	memcpy(x->ns, pc->xn_ns, sizeof(x->ns));
	memcpy(x->ns_port, pc->xn_ns_port, sizeof(x->ns_port));
	x->nns = 0;
	for (i = 0; i < pc->xn_nns; i++) {
		len = ipaddr_sockaddr(&pc->xn_ns[i], pc->xn_ns_port[i], &ss);
		if (evdns_base_nameserver_sockaddr_add(x->dns,
		    (struct sockaddr *)&ss, len, 0) != 0) {
			log_warn("external names: cannot use nameserver %s",
			    ipaddr_format_hostport(&pc->xn_ns[i],
			    pc->xn_ns_port[i], hp, sizeof(hp)));
			continue;
		}
		x->nns++;
	}
	x->ns_from = pc->xn_ns_from;
	evdns_base_resume(x->dns);
	log_info("external names: %zu nameservers (%s)", x->nns,
	    x->ns_from != NULL ? x->ns_from : "none");
	return 0;
}

static struct xn_ent *
xn_add(struct xn_run *x, const char *name)
{
	struct xn_ent	*e;
	size_t		 len = strlen(name);

	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len >= sizeof(e->name) || (e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	memcpy(e->name, name, len);
	e->run = x;
	if ((e->timer = evtimer_new(x->base, xn_tick, e)) == NULL ||
	    VEC_GROW(&x->ents, &x->cap, x->nents + 1, 8) == -1) {
		xn_ent_free(e);
		return NULL;
	}
	pthread_mutex_lock(&x->mu);
	x->ents[x->nents++] = e;
	pthread_mutex_unlock(&x->mu);
	xn_timer_ms(e->timer, 0);	/* asked from the loop */
	return e;
}

/*
 * Drop the entries not marked in keep (one flag per entry).  One with
 * a query out stays listed, marked gone (no lookup finds it), until
 * its last answer frees it (xn_answer), or xn_free does.
 */
static void
xn_drop(struct xn_run *x, const unsigned char *keep)
{
	struct xn_ent	*e;
	size_t		 i, n = 0;

	pthread_mutex_lock(&x->mu);
	for (i = 0; i < x->nents; i++) {
		e = x->ents[i];
		if (!keep[i] && !e->gone) {
			log_info("external name %s: no longer proxied",
			    e->name);
			e->gone = 1;
			evtimer_del(e->timer);
		}
		if (e->gone && e->inflight == 0)
			xn_ent_free(e);
		else
			x->ents[n++] = e;
	}
	x->nents = n;
	pthread_mutex_unlock(&x->mu);
}

void
xn_want(struct xn_run *x, const struct res_model *m)
{
	unsigned char	*keep, *more;
	struct xn_ent	*e;
	size_t		 i, k, n0 = x->nents;

	x->min_ttl_ms = m->pcfg->xn_min_ttl_ms;
	x->max_ttl_ms = m->pcfg->xn_max_ttl_ms;
	x->hold_ms = m->pcfg->xn_hold_ms;
	if ((keep = calloc(n0 + 1, 1)) == NULL) {
		log_error("external names: out of memory");
		return;
	}
	for (i = 0; i < m->nservices && !m->services[i].xn_proxy; i++)
		;
	if (i < m->nservices && xn_servers(x, m->pcfg) == -1)
		log_error("external names: cannot set up the resolver");
	for (i = 0; i < m->nservices; i++) {
		const struct res_service *s = &m->services[i];

		if (!s->xn_proxy)
			continue;
		if ((e = xn_find(x, s->external_name)) == NULL) {
			if (xn_add(x, s->external_name) == NULL)
				log_error("external name %s: out of memory",
				    s->external_name);
			continue;
		}
		for (k = 0; k < n0; k++)
			if (x->ents[k] == e)
				keep[k] = 1;
	}
	/* Entries added above lie past n0: keep them. */
	if ((more = realloc(keep, x->nents + 1)) == NULL) {
		log_error("external names: out of memory");
		free(keep);
		return;
	}
	keep = more;
	memset(keep + n0, 1, x->nents - n0 + 1);
	xn_drop(x, keep);
	free(keep);
	x->stats.names = 0;
	for (i = 0; i < x->nents; i++)
		x->stats.names += !x->ents[i]->gone;
}

int
xn_init(struct xn_run *x, struct event_base *base,
    const struct xn_hooks *hooks)
{
	memset(x, 0, sizeof(*x));
	x->base = base;
	x->hooks = *hooks;
	pthread_mutex_init(&x->mu, NULL);
	log_rl_init(&x->rl, 3, 60000);
	if ((x->kick = evtimer_new(base, xn_kick_cb, x)) == NULL)
		return -1;
	return 0;
}

void
xn_free(struct xn_run *x)
{
	size_t i;

	if (x->base == NULL)
		return;
	/* No callback after this: requests are freed unanswered. */
	if (x->dns != NULL)
		evdns_base_free(x->dns, 0);
	x->dns = NULL;
	for (i = 0; i < x->nents; i++)
		xn_ent_free(x->ents[i]);
	free(x->ents);
	x->ents = NULL;
	x->nents = 0;
	if (x->kick != NULL)
		event_free(x->kick);
	x->kick = NULL;
	log_rl_destroy(&x->rl);
	pthread_mutex_destroy(&x->mu);
	x->base = NULL;
}

/* ---- /status ---- */

static void
xn_json_str(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(out, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(out, "\\u%04x", *s);
		else
			fputc(*s, out);
	}
	fputc('"', out);
}

void
xn_status_json(const struct xn_run *x, FILE *out)
{
	int64_t	now = clock_mono_ms();
	char	ip[NETADDR_STRLEN];
	size_t	i, k, shown;

	fprintf(out, "{\"nameservers\":[");
	for (i = 0; x->base != NULL && i < x->nns; i++) {
		char hp[NETADDR_HOSTPORTLEN];

		fprintf(out, "%s\"%s\"", i > 0 ? "," : "",
		    ipaddr_format_hostport(&x->ns[i], x->ns_port[i], hp,
		    sizeof(hp)));
	}
	fprintf(out, "],\"names\":[");
	for (i = 0, shown = 0; x->base != NULL && i < x->nents; i++) {
		const struct xn_ent *e = x->ents[i];

		if (e->gone)
			continue;
		fprintf(out, "%s{\"name\":", shown++ > 0 ? "," : "");
		xn_json_str(out, e->name);
		fprintf(out, ",\"addresses\":[");
		for (k = 0; k < e->naddrs; k++)
			fprintf(out, "%s\"%s\"", k > 0 ? "," : "",
			    ipaddr_format(&e->addrs[k], ip));
		fprintf(out, "],\"ttlMs\":%" PRIu32
		    ",\"ttlLeftMs\":%" PRId64 ",\"nextQueryInMs\":%" PRId64
		    ",\"queries\":%" PRIu64 ",\"failures\":%" PRIu64
		    ",\"failingInARow\":%u,\"lastOk\":%" PRId64
		    ",\"lastError\":", e->ttl_ms, e->naddrs == 0 ? 0 :
		    e->expires_ms > now ? e->expires_ms - now : 0,
		    e->inflight > 0 ? 0 : e->next_ms > now ? e->next_ms - now :
		    0, e->queries, e->failures, e->fails, e->last_ok / 1000);
		if (e->last_err[0] != '\0') {
			xn_json_str(out, e->last_err);
			fprintf(out, ",\"lastErrorAt\":%" PRId64,
			    e->last_err_at / 1000);
		} else
			fprintf(out, "null,\"lastErrorAt\":null");
		fprintf(out, "}");
	}
	fprintf(out, "]}");
}
