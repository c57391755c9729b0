#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "admin.h"
#include "log.h"

#define ADM_BACKLOG	128
#define ADM_TIMEOUT_S	10

static void
adm_reply(struct evhttp_request *req, int code, const char *reason,
    const char *type, struct evbuffer *body)
{
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", type);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Cache-Control", "no-store");
	evhttp_send_reply(req, code, reason, body);
}

/* The value of query parameter key of req, or NULL. */
static int
adm_query_flag(struct evhttp_request *req, const char *key)
{
	struct evkeyvalq	 q;
	const char		*query, *v;
	int			 on = 0;

	query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
	if (query == NULL || evhttp_parse_query_str(query, &q) == -1)
		return 0;
	v = evhttp_find_header(&q, key);
	on = v != NULL && (strcmp(v, "1") == 0 || strcmp(v, "true") == 0);
	evhttp_clear_headers(&q);
	return on;
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
		if (s->ports[i].proto == RES_TCP && s->ports[i].lb.neps == 0) {
			snprintf(buf, len, "Service port %s has no ready "
			    "endpoint", s->ports[i].label);
			return;
		}
}

static void
adm_healthz(struct evhttp_request *req, void *arg)
{
	struct adm	*a = arg;
	struct evbuffer	*b = evbuffer_new();
	struct snap	*s;
	char		 why[320];

	if (b == NULL) {
		evhttp_send_error(req, 500, NULL);
		return;
	}
	s = snap_slot_acquire(a->src.slot);
	adm_health(a, s, adm_query_flag(req, "requireEndpoints"), why,
	    sizeof(why));
	snap_unref(s);
	if (why[0] == '\0') {
		evbuffer_add(b, "ok\n", 3);
		adm_reply(req, 200, "OK", "text/plain; charset=utf-8", b);
	} else {
		evbuffer_add_printf(b, "unhealthy: %s\n", why);
		adm_reply(req, 503, "Service Unavailable",
		    "text/plain; charset=utf-8", b);
	}
	evbuffer_free(b);
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
}

static void
adm_metrics(struct evhttp_request *req, void *arg)
{
	struct adm	*a = arg;
	struct evbuffer	*b = evbuffer_new();
	struct met_wrk	 w;
	struct snap	*s;

	if (b == NULL) {
		evhttp_send_error(req, 500, NULL);
		return;
	}
	adm_wrk_sum(a->src.grp, &w);
	s = snap_slot_acquire(a->src.slot);
	met_print_prom(b, a->src.met, s, a->src.proc, &w, met_open_fds());
	snap_unref(s);
	adm_reply(req, 200, "OK", "text/plain; version=0.0.4; charset=utf-8",
	    b);
	evbuffer_free(b);
}

/* ---- /status ---- */

static void
adm_json_process(FILE *f, const struct adm *a, const struct met_wrk *w)
{
	const struct met_proc *p = a->src.proc;

	fprintf(f, ",\n\"process\":{\"pid\":%ld,\"configHash\":\"%016" PRIx64
	    "\",\"started\":%" PRId64 ",\"lastReload\":%" PRId64
	    ",\"lastReloadOk\":%s,\"reloadsOk\":%" PRIu64 ",\"reloadsFailed\":%"
	    PRIu64 ",\"reloadsUnchanged\":%" PRIu64 ",\"workers\":%u,"
	    "\"draining\":%s,\"openFds\":%ld,\"connectionsActive\":%" PRIu64
	    ",\"connectionsTotal\":%" PRIu64 "}", (long)getpid(),
	    p->config_hash, p->started, p->last_reload,
	    p->last_reload_ok ? "true" : "false", p->reloads_ok,
	    p->reloads_failed, p->reloads_noop, p->workers,
	    p->draining ? "true" : "false", met_open_fds(), w->active,
	    w->accepted);
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
		fprintf(f, ",\"sockets\":%zu}", t->v[i].nfds);
	}
	fputs("\n]", f);
}

static void
adm_json_port(FILE *f, const struct adm *a, const struct snap_port *sp)
{
	struct met_ctr	c;
	uint64_t	acc, cl;
	size_t		j;

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
	    ",\"refusedPolicy\":%" PRIu64 ",\"refusedSource\":%" PRIu64
	    ",\"endpoints\":[", res_proto_name(sp->proto),
	    acc > cl ? acc - cl : 0, acc, met_get(&c.bytes_up),
	    met_get(&c.bytes_down), met_get(&c.connect_failures),
	    met_get(&c.retries), met_get(&c.no_endpoint), met_get(&c.limited),
	    sp->live ? met_get(&sp->live->refused_policy) : 0,
	    sp->live ? met_get(&sp->live->refused_source) : 0);
	for (j = 0; j < sp->lb.neps; j++) {
		const struct lb_ep *ep = &sp->lb.eps[j];

		fputs(j ? ",{\"address\":" : "{\"address\":", f);
		json_str(f, ep->name);
		fprintf(f, ",\"state\":\"%s\",\"active\":%u,\"total\":%" PRIu64
		    ",\"failures\":%" PRIu64 ",\"failsInRow\":%u}",
		    atomic_load_explicit(&ep->live->fails_in_row,
		    memory_order_relaxed) > 0 ? "failing" : "usable",
		    atomic_load_explicit(&ep->live->active,
		    memory_order_relaxed), met_get(&ep->live->total),
		    met_get(&ep->live->failures),
		    atomic_load_explicit(&ep->live->fails_in_row,
		    memory_order_relaxed));
	}
	fputs("]}", f);
}

/*
 * The resolve JSON of the running model, its closing brace held back so
 * the live keys join the same object.
 */
static int
adm_json_resolve(FILE *f, const struct model *m)
{
	char	*buf = NULL;
	size_t	 len = 0;
	FILE	*mf;

	if (m == NULL || !m->resolved) {
		fputs("{\"services\":[]", f);
		return 0;
	}
	if ((mf = open_memstream(&buf, &len)) == NULL)
		return -1;
	res_print_json(&m->res, mf);
	fclose(mf);
	/* res_print_json ends with "\n]}\n": drop the "}\n". */
	if (len < 3 || strcmp(buf + len - 3, "]}\n") != 0) {
		free(buf);
		return -1;
	}
	fwrite(buf, 1, len - 2, f);
	free(buf);
	return 0;
}

static void
adm_status(struct evhttp_request *req, void *arg)
{
	struct adm	*a = arg;
	struct evbuffer	*b;
	struct met_wrk	 w;
	struct snap	*s;
	char		*buf = NULL;
	size_t		 len = 0, i, n = 0;
	FILE		*f;
	int		 rc;

	if ((f = open_memstream(&buf, &len)) == NULL) {
		evhttp_send_error(req, 500, NULL);
		return;
	}
	adm_wrk_sum(a->src.grp, &w);
	s = snap_slot_acquire(a->src.slot);
	rc = adm_json_resolve(f, *a->src.model);
	adm_json_process(f, a, &w);
	adm_json_listeners(f, a->src.lsns);
	fputs(",\n\"live\":[", f);
	for (i = 0; s != NULL && i < s->nports; i++) {
		if (s->ports[i].proto != RES_TCP)
			continue;
		fputs(n++ ? ",\n" : "\n", f);
		adm_json_port(f, a, &s->ports[i]);
	}
	fputs("\n]}\n", f);
	snap_unref(s);
	fclose(f);
	if (rc == -1 || (b = evbuffer_new()) == NULL) {
		free(buf);
		evhttp_send_error(req, 500, NULL);
		return;
	}
	evbuffer_add(b, buf, len);
	free(buf);
	adm_reply(req, 200, "OK", "application/json", b);
	evbuffer_free(b);
}

static void
adm_notfound(struct evhttp_request *req, void *arg)
{
	struct evbuffer *b = evbuffer_new();

	(void)arg;
	if (b == NULL) {
		evhttp_send_error(req, 404, NULL);
		return;
	}
	evbuffer_add_printf(b, "not found: try /healthz, /metrics, "
	    "/status\n");
	adm_reply(req, 404, "Not Found", "text/plain; charset=utf-8", b);
	evbuffer_free(b);
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

	memset(a, 0, sizeof(*a));
	a->fd = -1;
	a->src = *src;
	if (fd == -1 && (fd = adm_socket(ip, port, err, len)) == -1)
		return -1;
	if ((a->http = evhttp_new(base)) == NULL) {
		snprintf(err, len, "admin server: out of memory");
		close(fd);
		return -1;
	}
	evhttp_set_allowed_methods(a->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	evhttp_set_timeout(a->http, ADM_TIMEOUT_S);
	evhttp_set_max_headers_size(a->http, 8192);
	evhttp_set_max_body_size(a->http, 0);
	evhttp_set_cb(a->http, "/healthz", adm_healthz, a);
	evhttp_set_cb(a->http, "/metrics", adm_metrics, a);
	evhttp_set_cb(a->http, "/status", adm_status, a);
	evhttp_set_gencb(a->http, adm_notfound, a);
	if (evhttp_accept_socket_with_handle(a->http, fd) == NULL) {
		snprintf(err, len, "admin server: cannot accept: %s",
		    strerror(errno));
		close(fd);
		evhttp_free(a->http);
		a->http = NULL;
		return -1;
	}
	a->fd = fd;
	if (getsockname(fd, (struct sockaddr *)&sa, &salen) == 0)
		lsn_sa_name(&sa, a->name);
	return 0;
}

int
adm_move(struct adm *a, struct event_base *base, const struct ipaddr *ip,
    uint16_t port, char *err, size_t len)
{
	struct adm_src	src = a->src;
	int		fd;

	if ((fd = adm_socket(ip, port, err, len)) == -1)
		return -1;
	adm_stop(a);
	return adm_start(a, base, ip, port, fd, &src, err, len);
}

void
adm_stop(struct adm *a)
{
	if (a->http != NULL)
		evhttp_free(a->http);	/* closes fd */
	a->http = NULL;
	a->fd = -1;
}
