#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "admin.h"
#include "admin_page.h"
#include "extname.h"
#include "health_state.h"
#include "clock.h"
#include "health_view.h"
#include "log.h"
#include "model.h"

#define ADM_BACKLOG		128
#define ADM_ACCEPT_BATCH	16	/* then the loop turns: reads first */
#define ADM_LINGER_MS		500	/* after the answer, for the FIN */
#define ADM_LOG_BURST		5	/* lines per kind per period */
#define ADM_LOG_PERIOD_MS	10000

/*
 * One client connection, in the list oldest first.  READING until the
 * request is complete, WRITING the answer, then LINGER: our side shut
 * down, reading and dropping what the client still sends until its FIN,
 * so that closing does not reset the connection under the answer.
 */
enum adm_state { ADM_READING, ADM_WRITING, ADM_LINGER };

struct adm_conn {
	struct adm_conn		*prev;		/* older */
	struct adm_conn		*next;		/* newer */
	struct adm		*a;
	struct bufferevent	*bev;		/* owned, as is its fd */
	struct event		 timer;		/* deadline, then linger */
	enum adm_state		 state;
	size_t			 scanned;	/* request bytes searched */
	char			 peer[LSN_NAMELEN];
};

/* What a route answers: it sets code (and type) and fills body, a
 * buffer the caller owns. */
struct adm_answer {
	int			 code;
	const char		*type;
	const char		*allow;		/* Allow header, or NULL */
	struct evbuffer		*body;
	char			 headers[ADM_PAGE_HEADERS_MAX];	/* more,
						   each line ending CRLF */
};

#define ADM_TEXT	"text/plain; charset=utf-8"
#define ADM_STR_(x)	#x
#define ADM_STR(x)	ADM_STR_(x)

/* The answer for the query string (NULL: none). */
typedef void adm_route_fn(struct adm *, const char *query,
    struct adm_answer *);

/* Whether query parameter key of query is 1 or true. */
static int
adm_query_flag(const char *query, const char *key)
{
	struct evkeyvalq	 q;
	const char		*v;
	int			 on = 0;

	if (query == NULL || evhttp_parse_query_str(query, &q) == -1)
		return 0;
	v = evhttp_find_header(&q, key);
	on = v != NULL && (strcmp(v, "1") == 0 || strcmp(v, "true") == 0);
	evhttp_clear_headers(&q);
	return on;
}

/* Also for the tests (admin.h). */
int
adm_port_unhealthy(const struct snap_port *sp, char *buf, size_t len)
{
	if (sp->lb.neps == 0)
		snprintf(buf, len, "Service port %s has no ready endpoint",
		    sp->label);
	else if (atomic_load_explicit(&sp->lb.panic, memory_order_relaxed))
		snprintf(buf, len, "Service port %s is in panic: no healthy "
		    "endpoint, serving unhealthy ones", sp->label);
	else if (hc_view_healthy(&sp->lb, clock_mono_ms()) == 0)
		snprintf(buf, len, "Service port %s has no healthy endpoint",
		    sp->label);
	else
		return 0;
	return 1;
}

/*
 * Why svcproxy is not healthy, into buf; "" when it is.  s is the
 * current snapshot (a reference the caller holds) or NULL.
 */
static void
adm_health(const struct adm *a, const struct snap *s, int need_eps,
    char *buf, size_t len)
{
	const struct lsn_table	*t = a->src.lsns;
	size_t			 i, j;

	buf[0] = '\0';
	if (a->src.proc->draining) {
		snprintf(buf, len, "draining");
		return;
	}
	if (s == NULL) {
		snprintf(buf, len, "no configuration loaded");
		return;
	}
	for (i = 0; i < t->n; i++)
		for (j = 0; j < t->v[i].nfds; j++)
			if (t->v[i].fds[j] == -1) {
				snprintf(buf, len, "listener %s is not bound",
				    t->v[i].name);
				return;
			}
	for (i = 0; need_eps && i < s->nports; i++)
		if (s->ports[i].proto == PROTO_TCP &&
		    adm_port_unhealthy(&s->ports[i], buf, len))
			return;
}

static void
adm_healthz(struct adm *a, const char *query, struct adm_answer *ans)
{
	struct snap	*s;
	char		 why[320];

	s = snap_slot_acquire(a->src.slot);
	adm_health(a, s, adm_query_flag(query, "requireEndpoints"), why,
	    sizeof(why));
	snap_unref(s);
	if (why[0] == '\0') {
		evbuffer_add(ans->body, "ok\n", 3);
		ans->code = 200;
	} else {
		evbuffer_add_printf(ans->body, "unhealthy: %s\n", why);
		ans->code = 503;
	}
}

/* Sum of every worker's totals. */
static void
adm_wrk_sum(const struct wrk_group *g, struct met_wrk *o)
{
	unsigned i;

	memset(o, 0, sizeof(*o));
	for (i = 0; i < g->n; i++) {
		const struct wrk_stats *st = &g->v[i].stats;

		o->active += atomic_load_explicit(&st->active,
		    memory_order_relaxed);
		o->accepted += met_get(&st->accepted);
		o->connect_failures += met_get(&st->connect_failures);
		o->no_endpoint += met_get(&st->no_endpoint);
		o->bytes_up += met_get(&st->bytes_up);
		o->bytes_down += met_get(&st->bytes_down);
		o->accept_paused += met_get(&st->accept_paused);
	}
	o->nofile = g->nofile;
	o->fd_budget = met_get(&g->fd_cap);
	o->fd_taken = met_get(&g->fds);
	o->fd_waited = met_get(&g->fd_waited);
	o->fd_dropped = met_get(&g->fd_dropped);
}

static void
adm_metrics(struct adm *a, const char *query, struct adm_answer *ans)
{
	struct met_wrk	 w;
	struct snap	*s;

	(void)query;
	adm_wrk_sum(a->src.grp, &w);
	s = snap_slot_acquire(a->src.slot);
	met_print_prom(ans->body, a->src.met, s, a->src.proc, &w, &a->met,
	    met_open_fds());
	snap_unref(s);
	ans->code = 200;
	ans->type = "text/plain; version=0.0.4; charset=utf-8";
}

/* ---- /status ---- */

/*
 * The fd budget (worker.h), as wrk_group_create split it and a reload
 * splits it again: the open file limit, the fds the data path may take
 * and has taken, the listener sockets counted, the connections
 * allowed (maxConnections within the budget), and the TCP accepts it
 * left waiting and UDP flows it refused.  Into "process".  The values
 * /metrics shows too come from w (adm_wrk_sum), so the two agree.
 */
static void
adm_json_budget(FILE *f, const struct wrk_group *g, const struct met_wrk *w)
{
	fprintf(f, ",\"fdBudget\":{\"openFileLimit\":%" PRIu64 ",\"fds\":%"
	    PRIu64 ",\"taken\":%" PRIu64 ",\"listenerSockets\":%" PRIu64
	    ",\"connections\":%u,\"maxConnections\":%u,\"acceptsWaited\":%"
	    PRIu64 ",\"flowsDropped\":%" PRIu64 "}", w->nofile, w->fd_budget,
	    w->fd_taken, g->nsock, g->conn_cap, atomic_load_explicit(
	    &g->max_conns, memory_order_relaxed), w->fd_waited, w->fd_dropped);
}

static void
adm_json_process(FILE *f, const struct adm *a, const struct met_wrk *w)
{
	const struct met_proc *p = a->src.proc;

	fprintf(f, ",\n\"process\":{\"pid\":%ld,\"configHash\":\"%016" PRIx64
	    "\",\"started\":%" PRId64 ",\"lastReload\":%" PRId64
	    ",\"lastReloadOk\":%s,\"reloadsOk\":%" PRIu64 ",\"reloadsFailed\":%"
	    PRIu64 ",\"reloadsUnchanged\":%" PRIu64 ",\"workers\":%u,"
	    "\"draining\":%s,\"openFds\":%ld,\"connectionsActive\":%" PRIu64
	    ",\"connectionsTotal\":%" PRIu64, (long)getpid(),
	    p->config_hash, p->started, p->last_reload,
	    p->last_reload_ok ? "true" : "false", p->reloads_ok,
	    p->reloads_failed, p->reloads_noop, p->workers,
	    p->draining ? "true" : "false", met_open_fds(), w->active,
	    w->accepted);
	adm_json_budget(f, a->src.grp, w);
	fputc('}', f);
}

/*
 * The listener sockets: the mode lsn_open chose, the sockets open
 * (shared ones once), and each worker's accepts and shared-set
 * wake-ups (idle: another worker took the connection).
 */
static void
adm_json_lsn_mode(FILE *f, const struct lsn_table *t,
    const struct wrk_group *g)
{
	unsigned	i;
	size_t		un, extra;

	fprintf(f, ",\n\"listenerSockets\":{\"setting\":\"%s\",\"mode\":"
	    "\"%s\",\"addresses\":%zu,\"sockets\":%zu,",
	    lsn_setting_name(t->setting), lsn_mode_name(t->mode), t->n,
	    lsn_table_nsockets(t));
	/* Under Shared, the addresses that keep per-worker sockets until a
	   restart (listener.h: lsn_table_unshared). */
	if ((un = lsn_table_unshared(t, &extra)) > 0)
		fprintf(f, "\"unconsolidated\":{\"addresses\":%zu,"
		    "\"extraSockets\":%zu,\"until\":\"restart\"},", un, extra);
	fputs("\"workers\":[", f);
	for (i = 0; i < g->n; i++)
		fprintf(f, "%s{\"id\":%u,\"accepted\":%" PRIu64 ",\"wakeups\":"
		    "%" PRIu64 ",\"idleWakeups\":%" PRIu64 "}", i ? "," : "", i,
		    met_get(&g->v[i].stats.accepted),
		    met_get(&g->v[i].lsn_wakeups), met_get(&g->v[i].lsn_idle));
	fputs("]}", f);
}

static void
adm_json_listeners(FILE *f, const struct lsn_table *t)
{
	size_t i;

	fputs(",\n\"listeners\":[", f);
	for (i = 0; i < t->n; i++) {
		fputs(i ? ",\n" : "\n", f);
		fputs("{\"address\":", f);
		json_str(f, t->v[i].name);
		fprintf(f, ",\"sockets\":%zu%s%s}", t->v[i].nfds,
		    t->v[i].shared ? ",\"shared\":true" : "",
		    t->v[i].defer ? ",\"deferAccept\":true" : "");
	}
	fputs("\n]", f);
}

/* Also for the tests (admin.h). */
void
adm_json_ep_health(FILE *f, const struct snap_port *sp,
    const struct lb_ep *ep, int64_t now)
{
	struct hc_view	 v;
	char		 at[HC_VIEW_TIME_MAX];

	hc_view_ep(ep, now, &v);
	fprintf(f, ",\"health\":\"%s\"", hc_health_name(v.health));
	if (v.checked) {
		fprintf(f, ",\"check\":{\"type\":\"%s\"",
		    hc_kind_name(sp->hc.check.kind));
		if (v.has_result) {
			fprintf(f, ",\"result\":\"%s\",\"reason\":",
			    v.pass ? "pass" : "fail");
			json_str(f, v.reason);
			fprintf(f, ",\"at\":\"%s\",\"latencyMs\":%.3f",
			    hc_view_time(v.last_ms, at, sizeof(at)),
			    v.latency_us / 1000.0);
		}
		fputc('}', f);
	}
	if (v.ejected)
		fputs(",\"ejected\":true", f);
	if (v.ejections > 0)
		fprintf(f, ",\"ejections\":%u", v.ejections);
}

/* A UDP port's flows (relay_udp.h), as /metrics counts them. */
static void
adm_json_flows(FILE *f, const struct met_ctr *c)
{
	uint64_t opened = met_get(&c->udp_flows);
	uint64_t closed = met_get(&c->udp_flows_closed);

	fprintf(f, ",\"flows\":{\"active\":%" PRIu64 ",\"total\":%" PRIu64
	    ",\"expired\":%" PRIu64 ",\"limited\":%" PRIu64
	    ",\"datagramsUp\":%" PRIu64 ",\"datagramsDown\":%" PRIu64
	    ",\"bytesUp\":%" PRIu64 ",\"bytesDown\":%" PRIu64 "}",
	    opened > closed ? opened - closed : 0, opened,
	    met_get(&c->udp_flows_expired), met_get(&c->udp_flows_limited),
	    met_get(&c->udp_dgrams_up), met_get(&c->udp_dgrams_down),
	    met_get(&c->bytes_up), met_get(&c->bytes_down));
}

static void
adm_json_port(FILE *f, const struct adm *a, const struct snap_port *sp)
{
	struct met_ctr	c;
	uint64_t	acc, cl;
	size_t		j;
	int64_t		now = clock_mono_ms();

	memset(&c, 0, sizeof(c));
	if (sp->met != NULL)
		met_port_sum(a->src.met, sp->met, &c);
	acc = met_get(&c.accepted);
	cl = met_get(&c.closed);
	fputs("{\"service\":", f);
	json_str(f, sp->label);
	fprintf(f, ",\"protocol\":\"%s\",\"active\":%" PRIu64 ",\"total\":%"
	    PRIu64 ",\"bytesUp\":%" PRIu64 ",\"bytesDown\":%" PRIu64
	    ",\"connectFailures\":%" PRIu64 ",\"retries\":%" PRIu64
	    ",\"noEndpoint\":%" PRIu64 ",\"limited\":%" PRIu64
	    ",\"refusedPolicy\":%" PRIu64 ",\"refusedSource\":%" PRIu64,
	    proto_name(sp->proto),
	    acc > cl ? acc - cl : 0, acc, met_get(&c.bytes_up),
	    met_get(&c.bytes_down), met_get(&c.connect_failures),
	    met_get(&c.retries), met_get(&c.no_endpoint), met_get(&c.limited),
	    met_get(&c.refused_policy), met_get(&c.refused_source));
	if (sp->proto == PROTO_UDP)
		adm_json_flows(f, &c);
	fputs(",\"endpoints\":[", f);
	for (j = 0; j < sp->lb.neps; j++) {
		const struct lb_ep *ep = &sp->lb.eps[j];

		fputs(j ? ",{\"address\":" : "{\"address\":", f);
		json_str(f, ep->name);
		fprintf(f, ",\"state\":\"%s\",\"active\":%u,\"total\":%" PRIu64
		    ",\"failures\":%" PRIu64 ",\"failsInRow\":%u"
		    ",\"bytesUp\":%" PRIu64 ",\"bytesDown\":%" PRIu64,
		    atomic_load_explicit(&ep->live->fails_in_row,
		    memory_order_relaxed) > 0 ? "failing" : "usable",
		    atomic_load_explicit(&ep->live->active,
		    memory_order_relaxed), met_get(&ep->live->total),
		    met_get(&ep->live->failures),
		    atomic_load_explicit(&ep->live->fails_in_row,
		    memory_order_relaxed), met_get(&ep->live->bytes_up),
		    met_get(&ep->live->bytes_down));
		adm_json_ep_health(f, sp, ep, now);
		fputc('}', f);
	}
	fprintf(f, "],\"panic\":%s}", atomic_load_explicit(&sp->lb.panic,
	    memory_order_relaxed) ? "true" : "false");
}

/* The resolve JSON's members of the running model: "services":[...]. */
static void
adm_json_resolve(FILE *f, const struct model *m)
{
	if (m == NULL || !m->resolved)
		fputs("\"services\":[]", f);
	else
		res_print_json_members(&m->res, f);
}

static void
adm_status(struct adm *a, const char *query, struct adm_answer *ans)
{
	struct met_wrk	 w;
	struct snap	*s;
	char		*buf = NULL;
	size_t		 len = 0, i, n = 0;
	FILE		*f;

	(void)query;
	if ((f = open_memstream(&buf, &len)) == NULL) {
		ans->code = 500;
		return;
	}
	adm_wrk_sum(a->src.grp, &w);
	s = snap_slot_acquire(a->src.slot);
	fputc('{', f);
	adm_json_resolve(f, *a->src.model);
	adm_json_process(f, a, &w);
	adm_json_lsn_mode(f, a->src.lsns, a->src.grp);
	adm_json_listeners(f, a->src.lsns);
	if (a->src.xn != NULL) {
		fputs(",\n\"externalNames\":", f);
		xn_status_json(a->src.xn, f);
	}
	fputs(",\n\"live\":[", f);
	for (i = 0; s != NULL && i < s->nports; i++) {
		if (s->ports[i].proto != PROTO_TCP)
			continue;
		fputs(n++ ? ",\n" : "\n", f);
		adm_json_port(f, a, &s->ports[i]);
	}
	/* UDP ports apart, each with its "flows": readers of "live" know
	   it as the TCP ports'. */
	fputs("\n],\n\"liveUdp\":[", f);
	for (i = n = 0; s != NULL && i < s->nports; i++) {
		if (s->ports[i].proto != PROTO_UDP)
			continue;
		fputs(n++ ? ",\n" : "\n", f);
		adm_json_port(f, a, &s->ports[i]);
	}
	fputs("\n]}\n", f);
	snap_unref(s);
	fclose(f);
	if (evbuffer_add(ans->body, buf, len) == -1) {
		free(buf);
		ans->code = 500;
		return;
	}
	free(buf);
	ans->code = 200;
	ans->type = "application/json";
}

/* The status page (admin_page.h): HTML, read-only like every route. */
static void
adm_page_route(struct adm *a, const char *query, struct adm_answer *ans)
{
	struct snap	*s;

	(void)query;
	s = snap_slot_acquire(a->src.slot);
	if (adm_page(ans->body, ans->headers, sizeof(ans->headers), s,
	    a->src.met, a->src.proc, clock_mono_ms()) == -1) {
		snap_unref(s);
		evbuffer_drain(ans->body, evbuffer_get_length(ans->body));
		ans->headers[0] = '\0';
		ans->code = 500;
		return;
	}
	snap_unref(s);
	ans->code = 200;
	ans->type = "text/html; charset=utf-8";
}

static const struct {
	const char	*path;
	adm_route_fn	*fn;
} adm_routes[] = {
	{ "/", adm_page_route },
	{ "/healthz", adm_healthz },
	{ "/metrics", adm_metrics },
	{ "/status", adm_status },
};

/* ---- the server: accept, one request per connection, answer ---- */

static const char *
adm_reason(int code)
{
	switch (code) {
	case 200:	return "OK";
	case 400:	return "Bad Request";
	case 404:	return "Not Found";
	case 405:	return "Method Not Allowed";
	case 431:	return "Request Header Fields Too Large";
	case 503:	return "Service Unavailable";
	}
	return "Internal Server Error";
}

static void
adm_conn_close(struct adm_conn *c)
{
	struct adm	*a = c->a;
	int		 fd;

	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		a->oldest = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	else
		a->newest = c->prev;
	a->met.conns--;
	evtimer_del(&c->timer);
	/*
	 * The fd is closed here, not by the bufferevent
	 * (BEV_OPT_CLOSE_ON_FREE), which libevent finalizes only after the
	 * running callback: out of fds, the very next accept(2) needs it.
	 * Freed from one of its own callbacks, the bufferevent drops its
	 * events when that returns; a closed fd is already out of epoll,
	 * and nothing on this loop can reuse the number before then.
	 */
	fd = bufferevent_getfd(c->bev);
	bufferevent_free(c->bev);
	close(fd);
	free(c);
}

/* The answer is written: shut our side, drop what still comes. */
static void
adm_conn_linger(struct adm_conn *c)
{
	struct timeval tv = { 0, ADM_LINGER_MS * 1000 };

	c->state = ADM_LINGER;
	shutdown(bufferevent_getfd(c->bev), SHUT_WR);
	evbuffer_drain(bufferevent_get_input(c->bev),
	    evbuffer_get_length(bufferevent_get_input(c->bev)));
	evtimer_add(&c->timer, &tv);
	bufferevent_setwatermark(c->bev, EV_READ, 0, 0);
	bufferevent_enable(c->bev, EV_READ);
}

/* Status line, headers and (but for HEAD) the body of ans, then linger. */
static void
adm_conn_answer(struct adm_conn *c, int head, struct adm_answer *ans)
{
	struct evbuffer	*out = bufferevent_get_output(c->bev);
	size_t		 len = evbuffer_get_length(ans->body);

	bufferevent_disable(c->bev, EV_READ);
	c->state = ADM_WRITING;
	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\nCache-Control: no-store\r\n%s%s%s%s"
	    "Connection: close\r\n\r\n", ans->code, adm_reason(ans->code),
	    ans->type, len, ans->allow ? "Allow: " : "",
	    ans->allow ? ans->allow : "", ans->allow ? "\r\n" : "",
	    ans->headers);
	if (!head)
		evbuffer_add_buffer(out, ans->body);
	/* adm_conn_write_cb lingers once it is all out. */
	bufferevent_enable(c->bev, EV_WRITE);
}

/*
 * The request line of a complete request in req (NUL-terminated, its
 * headers after it, which no route reads) into ans.  Sets *head for
 * HEAD.
 */
static void
adm_conn_route(struct adm *a, char *req, int *head, struct adm_answer *ans)
{
	char	*sp1, *sp2, *eol, *query;
	size_t	 i;

	*head = 0;
	eol = req + strcspn(req, "\r\n");
	*eol = '\0';
	if ((sp1 = strchr(req, ' ')) == NULL ||
	    (sp2 = strchr(sp1 + 1, ' ')) == NULL || strchr(sp2 + 1, ' ') ||
	    sp1[1] != '/' || (strcmp(sp2 + 1, "HTTP/1.0") != 0 &&
	    strcmp(sp2 + 1, "HTTP/1.1") != 0)) {
		ans->code = 400;
		evbuffer_add_printf(ans->body, "bad request\n");
		return;
	}
	*sp1 = *sp2 = '\0';
	if (strcmp(req, "HEAD") == 0)
		*head = 1;
	else if (strcmp(req, "GET") != 0) {
		ans->code = 405;
		ans->allow = "GET, HEAD";
		evbuffer_add_printf(ans->body, "method not allowed\n");
		return;
	}
	if ((query = strchr(sp1 + 1, '?')) != NULL)
		*query++ = '\0';
	for (i = 0; i < sizeof(adm_routes) / sizeof(adm_routes[0]); i++)
		if (strcmp(sp1 + 1, adm_routes[i].path) == 0) {
			adm_routes[i].fn(a, query, ans);
			return;
		}
	ans->code = 404;
	evbuffer_add_printf(ans->body, "not found: try /, /healthz, "
	    "/metrics, /status\n");
}

/*
 * Where the request p[0..len) ends (after its empty line), or 0 while
 * it is incomplete; *from is where to scan from (what an earlier call
 * saw, less the 2 bytes an end could straddle), so a client sending a
 * byte at a time costs linear time.  Bare LF line ends count too (RFC
 * 9112 section 2.2).
 */
static size_t
adm_request_end(const char *p, size_t len, size_t *from)
{
	size_t i = *from > 2 ? *from - 2 : 0;

	*from = len;
	for (; i + 1 < len; i++)
		if (p[i] == '\n' && (p[i + 1] == '\n' || (p[i + 1] == '\r' &&
		    i + 2 < len && p[i + 2] == '\n')))
			return i + (p[i + 1] == '\n' ? 2 : 3);
	return 0;
}

static void
adm_conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct adm_conn		*c = arg;
	struct evbuffer		*in = bufferevent_get_input(bev);
	struct adm_answer	 ans;
	size_t			 len = evbuffer_get_length(in), end;
	char			*p;
	int			 head = 0;

	if (c->state == ADM_LINGER) {
		evbuffer_drain(in, len);
		return;
	}
	if (c->state != ADM_READING)
		return;
	if ((p = (char *)evbuffer_pullup(in, -1)) == NULL)
		return;
	end = adm_request_end(p, len, &c->scanned);
	if (end == 0 && len < ADM_MAX_REQUEST)
		return;			/* more to come */
	memset(&ans, 0, sizeof(ans));
	ans.code = 500;
	ans.type = ADM_TEXT;
	if ((ans.body = evbuffer_new()) == NULL) {
		adm_conn_close(c);
		return;
	}
	if (end == 0) {
		ans.code = 431;
		evbuffer_add_printf(ans.body, "request longer than %d bytes\n",
		    ADM_MAX_REQUEST);
	} else {
		p[end - 1] = '\0';	/* the last '\n': a C string */
		adm_conn_route(c->a, p, &head, &ans);
	}
	evbuffer_drain(in, len);
	adm_conn_answer(c, head, &ans);
	evbuffer_free(ans.body);
}

static void
adm_conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct adm_conn *c = arg;

	(void)bev;
	if (c->state == ADM_WRITING)
		adm_conn_linger(c);
}

/* EOF or an error: nothing more to do for this client. */
static void
adm_conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)what;
	adm_conn_close(arg);
}

static void
adm_conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct adm_conn	*c = arg;
	struct adm	*a = c->a;

	(void)fd;
	(void)what;
	if (c->state != ADM_LINGER) {
		a->met.closed_deadline++;
		log_rl_msg(&a->rl, LOG_LEVEL_WARN, "admin: closed the "
		    "connection from %s: not answered within %d ms of accept "
		    "(request %s)", c->peer, ADM_DEADLINE_MS,
		    c->state == ADM_READING ? "incomplete" : "not read by the "
		    "client");
	}
	adm_conn_close(c);
}

/* The oldest connection not writing an answer, or NULL. */
static struct adm_conn *
adm_conn_idle(const struct adm *a)
{
	struct adm_conn *c;

	for (c = a->oldest; c != NULL; c = c->next)
		if (c->state != ADM_WRITING)
			return c;
	return NULL;
}

/* Close c to make room for a new connection (why: for the log). */
static void
adm_conn_drop(struct adm *a, struct adm_conn *c, const char *why)
{
	if (c->state != ADM_LINGER) {
		a->met.closed_cap++;
		log_rl_msg(&a->rl, LOG_LEVEL_WARN, "admin: %s: closed the "
		    "oldest idle connection, from %s", why, c->peer);
	}
	adm_conn_close(c);
}

/*
 * A connection for the accepted cfd (closed on failure).  At the cap,
 * the oldest idle one (request incomplete, or answered and lingering)
 * makes room, else the oldest.  The request is read at once: one that
 * waited in the listen queue is usually there whole and is answered
 * before any newer connection can push this one out, so opening
 * connections cannot starve keepalived's /healthz.
 */
static void
adm_conn_new(struct adm *a, int cfd, const struct sockaddr_storage *ss)
{
	struct adm_conn	*c;
	struct evbuffer	*in;
	int		 n;

	if (a->met.conns >= ADM_MAX_CONNS && a->oldest != NULL) {
		c = adm_conn_idle(a);
		adm_conn_drop(a, c != NULL ? c : a->oldest,
		    "at the cap of " ADM_STR(ADM_MAX_CONNS) " connections");
	}
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->bev = bufferevent_socket_new(a->base, cfd, 0)) == NULL) {
		log_rl_msg(&a->rl, LOG_LEVEL_ERROR, "admin: out of memory");
		free(c);
		close(cfd);
		return;
	}
	c->a = a;
	c->state = ADM_READING;
	lsn_sa_name(ss, c->peer);
	/* The request is read whole or not at all: a bounded buffer. */
	bufferevent_setwatermark(c->bev, EV_READ, 0, ADM_MAX_REQUEST);
	bufferevent_setcb(c->bev, adm_conn_read_cb, adm_conn_write_cb,
	    adm_conn_event_cb, c);
	evtimer_assign(&c->timer, a->base, adm_conn_timer_cb, c);
	evtimer_add(&c->timer, a->deadline_tv);
	c->prev = a->newest;
	if (a->newest != NULL)
		a->newest->next = c;
	else
		a->oldest = c;
	a->newest = c;
	a->met.conns++;
	a->met.accepted++;
	bufferevent_enable(c->bev, EV_READ);
	/* The bufferevent keeps its input's end frozen but while it reads. */
	in = bufferevent_get_input(c->bev);
	evbuffer_unfreeze(in, 0);
	n = evbuffer_read(in, cfd, ADM_MAX_REQUEST);
	evbuffer_freeze(in, 0);
	if (n > 0)
		adm_conn_read_cb(c->bev, c);
	else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK &&
	    errno != EINTR))
		adm_conn_close(c);
}

/*
 * accept(2) failed with err, out of fds or memory.  When an idle
 * connection can make room, close it and go on (each such step takes
 * one connection off the listen queue, so it ends).  Else stop
 * accepting for ADM_PAUSE_MS rather than spin on a listener that stays
 * readable.  Returns 1 to go on, 0 when paused.
 */
static int
adm_out_of_fds(struct adm *a, int err)
{
	struct timeval	 tv = { 0, ADM_PAUSE_MS * 1000 };
	struct adm_conn	*c;

	if ((err == EMFILE || err == ENFILE) &&
	    (c = adm_conn_idle(a)) != NULL) {
		adm_conn_drop(a, c, strerror(err));
		return 1;
	}
	event_del(a->accept_ev);
	evtimer_add(a->resume_ev, &tv);
	a->met.accept_paused++;
	log_rl_msg(&a->rl, LOG_LEVEL_WARN, "admin: accept: %s; pausing "
	    "accepts for %d ms", strerror(err), ADM_PAUSE_MS);
	return 0;
}

static void
adm_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct adm *a = arg;

	(void)fd;
	(void)what;
	event_add(a->accept_ev, NULL);
}

static void
adm_accept_cb(evutil_socket_t fd, short what, void *arg)
{
	struct adm		*a = arg;
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	int			 i, cfd;

	(void)what;
	for (i = 0; i < ADM_ACCEPT_BATCH; i++) {
		len = sizeof(ss);
		cfd = accept4(fd, (struct sockaddr *)&ss, &len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd != -1) {
			adm_conn_new(a, cfd, &ss);
			continue;
		}
		switch (errno) {
		case EAGAIN:
#if EWOULDBLOCK != EAGAIN
		case EWOULDBLOCK:
#endif
			return;
		case EINTR:
		case ECONNABORTED:
		case EPROTO:
		case EPERM:		/* a firewall's verdict */
			continue;
		default:		/* EMFILE, ENFILE, ENOBUFS, ENOMEM */
			if (!adm_out_of_fds(a, errno))
				return;
			break;
		}
	}
}

/* A listening socket on ip:port; -1 with err. */
static int
adm_socket(const struct ipaddr *ip, uint16_t port, char *err, size_t len)
{
	struct sockaddr_storage	sa;
	socklen_t		salen;
	char			name[LSN_NAMELEN];
	int			fd, one = 1;

	salen = ipaddr_sockaddr(ip, port, &sa);
	lsn_sa_name(&sa, name);
	fd = socket(sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
	    sizeof(one)) == -1 || (sa.ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
	    sizeof(one)) == -1) || bind(fd, (struct sockaddr *)&sa,
	    salen) == -1 || listen(fd, ADM_BACKLOG) == -1) {
		snprintf(err, len, "admin server: cannot listen on %s "
		    "(ProxyConfig adminAddress): %s", name, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	return fd;
}


int
adm_start(struct adm *a, struct event_base *base, const struct ipaddr *ip,
    uint16_t port, int fd, const struct adm_src *src, char *err, size_t len)
{
	struct sockaddr_storage	sa;
	socklen_t		salen = sizeof(sa);
	struct timeval		tv = { ADM_DEADLINE_MS / 1000,
				    ADM_DEADLINE_MS % 1000 * 1000 };

	memset(a, 0, sizeof(*a));
	a->fd = -1;
	a->src = *src;
	a->asked_ip = *ip;
	a->asked_port = port;
	if (fd == -1 && (fd = adm_socket(ip, port, err, len)) == -1)
		return -1;
	if ((a->accept_ev = event_new(base, fd, EV_READ | EV_PERSIST,
	    adm_accept_cb, a)) == NULL ||
	    (a->resume_ev = evtimer_new(base, adm_resume_cb, a)) == NULL ||
	    (a->deadline_tv = event_base_init_common_timeout(base,
	    &tv)) == NULL || event_add(a->accept_ev, NULL) == -1) {
		snprintf(err, len, "admin server: out of memory");
		if (a->accept_ev != NULL)
			event_free(a->accept_ev);
		if (a->resume_ev != NULL)
			event_free(a->resume_ev);
		a->accept_ev = a->resume_ev = NULL;
		close(fd);
		return -1;
	}
	a->base = base;
	a->fd = fd;
	log_rl_init(&a->rl, ADM_LOG_BURST, ADM_LOG_PERIOD_MS);
	if (getsockname(fd, (struct sockaddr *)&sa, &salen) == 0)
		lsn_sa_name(&sa, a->name);
	return 0;
}

int
adm_move(struct adm *a, struct event_base *base, const struct ipaddr *ip,
    uint16_t port, char *err, size_t len)
{
	struct adm_src	src = a->src;
	struct met_adm	met = a->met;
	int		fd, rc;

	if ((fd = adm_socket(ip, port, err, len)) == -1)
		return -1;
	adm_stop(a);
	rc = adm_start(a, base, ip, port, fd, &src, err, len);
	met.conns = 0;		/* adm_stop closed them */
	a->met = met;
	return rc;
}

void
adm_stop(struct adm *a)
{
	if (a->base == NULL)
		return;
	while (a->oldest != NULL)
		adm_conn_close(a->oldest);
	event_free(a->accept_ev);
	event_free(a->resume_ev);
	a->accept_ev = a->resume_ev = NULL;
	close(a->fd);
	a->fd = -1;
	log_rl_destroy(&a->rl);
	a->base = NULL;
}
