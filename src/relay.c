/*
 * relay: one client/backend pair, from connect to close.
 *
 * Sides are 0 (client) and 1 (backend); direction d moves bytes from
 * side d to side 1 - d (relay_bytes.c moves them, relay.c ends the
 * connection on what relay_pump reports).
 *
 * Sockets are not libevent events: each worker has its own epoll set
 * (poller.h), in which each socket is registered once, edge-triggered
 * for both directions, and which close(2) leaves by itself.  What each
 * side can do is kept in rd_ok/wr_ok, cleared only by EAGAIN.
 * libevent still runs the timers.
 *
 * A connection goes RELAY_HEADER (only for a Service that accepts the
 * PROXY protocol: the client's header, peeked until whole by
 * relay_proxyhdr.c), then
 * RELAY_CONNECTING, then RELAY_UP, where a Service that sends the PROXY
 * protocol has its header written first (relay_send_proxy).
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "log.h"
#include "metrics.h"
#include "pcfg-t.h"
#include "pool.h"
#include "proxyproto.h"
#include "relay.h"
#include "relay_int.h"

#define RELAY_OF(pi)	((struct relay *)(void *)((char *)(pi) - \
	offsetof(struct relay, pi)))

static void	relay_tmo(evutil_socket_t, short, void *);
static void	relay_connect_next(struct relay *);

/*
 * Monotonic ms for balancing (lb_flow.now_ms): one clock call per turn
 * of the loop at most, when the loop's cached clock has moved, not one
 * per pick.
 */
static int64_t
relay_mono(struct relay_wrk *w)
{
	struct timeval	 tv;
	uint64_t	 at = relay_now(w);

	if (at != w->mono_at && event_gettime_monotonic(w->base, &tv) == 0) {
		w->mono_ms = (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
		w->mono_at = at;
	}
	return w->mono_ms;
}

/* ---- events ---- */

static int	relay_run(struct relay *);
static void	relay_connected(struct relay *, uint32_t);
static void	relay_header_read(struct relay *);

/* ---- events ---- */

/* Put side's socket into w's epoll set for good: 0, or -1 (errno). */
static int
relay_poll_add(struct relay *r, int side)
{
	return poller_add(&r->w->poll, r->fd[side], &r->pi, side);
}

/*
 * side's socket is about to close: the poller drops what it still
 * holds for it, and what is known of it goes, so a socket that takes
 * its place starts from nothing.
 */
static void
relay_poll_forget(struct relay *r, int side)
{
	poller_forget(&r->w->poll, &r->pi, side);
	r->rd_ok &= ~SIDE_BIT(side);
	r->wr_ok &= ~SIDE_BIT(side);
	r->hup &= ~SIDE_BIT(side);
}

/* What an edge says side can do now. */
static void
relay_on_event(struct poll_item *pi, int side, uint32_t ev)
{
	struct relay *r = RELAY_OF(pi);

	if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		r->rd_ok |= SIDE_BIT(side);
	if (ev & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		r->hup |= SIDE_BIT(side);
	if (ev & (EPOLLOUT | EPOLLHUP | EPOLLERR))
		r->wr_ok |= SIDE_BIT(side);
	/*
	 * What relay_pump needs to end a direction on a short read: a
	 * FIN, and no error.  Not from a failed connect: its bits would
	 * outlive that socket into the next attempt's.
	 */
	if (side == SIDE_CLIENT || r->state == RELAY_UP ||
	    !(ev & (EPOLLERR | EPOLLHUP))) {
		if (ev & EPOLLRDHUP)
			r->d[side].fin = 1;
		if (ev & EPOLLERR)
			r->d[side].err = 1;
	}
	if (r->state == RELAY_HEADER) {
		if (side == SIDE_CLIENT)
			relay_header_read(r);
		return;
	}
	if (r->state == RELAY_CONNECTING) {
		if (side == SIDE_BACKEND)
			relay_connected(r, ev);
		return;
	}
	(void)relay_run(r);
}

/* r gave way on an earlier turn (relay_pump): go on. */
static void
relay_on_rerun(struct poll_item *pi)
{
	(void)relay_run(RELAY_OF(pi));
}

int
relay_wrk_init(struct relay_wrk *w, size_t max_pipes, size_t pipe_size)
{
	w->live = w->free = NULL;
	w->nfree = 0;
	if (pool_init(&w->pool, max_pipes, pipe_size) == -1) {
		errno = ENOMEM;
		return -1;
	}
	return poller_init(&w->poll, w->base, relay_on_event, relay_on_rerun);
}

void
relay_wrk_free(struct relay_wrk *w)
{
	struct relay *r;

	poller_free(&w->poll);
	pool_free(&w->pool);
	while ((r = w->free) != NULL) {
		w->free = r->next;
		free(r);
	}
	w->nfree = 0;
}

static void
relay_timer(struct relay *r, uint64_t ms)
{
	struct timeval tv;

	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)((ms % 1000) * 1000);
	event_add(&r->tmo, &tv);
	r->tmo_on = 1;
}

static void
relay_timer_stop(struct relay *r)
{
	if (r->tmo_on)
		event_del(&r->tmo);
	r->tmo_on = 0;
}

static void
relay_sockopts(int fd)
{
	int one = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	(void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
}

void
relay_close_rst(int fd)
{
	struct linger lg = { 1, 0 };

	(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

/* ---- close ---- */

static void
relay_log(struct relay *r, const char *reason, const char *detail)
{
	char		cl[NETADDR_HOSTPORTLEN], err[64] = "";
	uint64_t	now = relay_now(r->w);
	enum log_level	lvl;
	const char	*ep;

	lvl = r->snap->connection_log == CONN_LOG_DEBUG ? LOG_LEVEL_DEBUG :
	    LOG_LEVEL_INFO;
	if (r->snap->connection_log == CONN_LOG_OFF || !log_enabled(lvl))
		return;
	ipaddr_format_sockaddr((struct sockaddr *)&r->client, cl, sizeof(cl));
	if (r->last_err != 0)
		snprintf(err, sizeof(err), " error=\"%s\"",
		    strerror(r->last_err));
	ep = r->ep ? r->ep->name : r->failed_ep ? r->failed_ep->name : "-";
	const struct log_kv kv[] = { LOG_STR("client", cl),
	    LOG_STR("service", r->sp->label), LOG_STR("endpoint", ep),
	    LOG_BYTES(r->d[0].bytes, r->d[1].bytes),
	    LOG_U64("duration", now - r->start_ms), LOG_STR("reason", reason),
	    LOG_STR("error", r->last_err != 0 ? strerror(r->last_err) : NULL),
	    LOG_STR("detail", detail) };
	log_ev(lvl, "conn", kv, LOG_NKV(kv), 0, "conn client=%s service=%s "
	    "endpoint=%s up=%" PRIu64 " down=%" PRIu64 " duration=%" PRIu64
	    "ms reason=%s%s%s%s%s", cl, r->sp->label, ep, r->d[0].bytes,
	    r->d[1].bytes, now - r->start_ms, reason, err,
	    detail ? " detail=\"" : "", detail ? detail : "",
	    detail ? "\"" : "");
}

/*
 * End the connection: rst has bit (1 << side) for each side to reset;
 * detail (optional) goes into the log line.  Returns the struct to the
 * free list; r is gone afterwards.
 */
void
relay_close_why(struct relay *r, const char *reason, const char *detail,
    unsigned rst)
{
	struct relay_wrk	*w = r->w;
	int			 s;

	relay_timer_stop(r);
	poller_rerun_drop(&w->poll, &r->pi);
	relay_log(r, reason, detail);
	for (s = 0; s < 2; s++) {
		if (r->fd[s] != -1) {
			relay_poll_forget(r, s);
			if (rst & (1u << s))
				relay_close_rst(r->fd[s]);
			else
				close(r->fd[s]);
			r->fd[s] = -1;
		}
		pool_pipe_put(&w->pool, r->d[s].pfd, r->d[s].inflight != 0);
		pool_buf_put(&w->pool, &r->d[s].buf);
	}
	if (r->ep != NULL) {
		/* Per endpoint for /status: beside the release's own
		   atomic on the same live state. */
		atomic_fetch_add_explicit(&r->ep->live->bytes_up,
		    r->d[0].bytes, memory_order_relaxed);
		atomic_fetch_add_explicit(&r->ep->live->bytes_down,
		    r->d[1].bytes, memory_order_relaxed);
		lb_release(&r->sp->lb, r->ep);
	}
	relay_unreserve(w, r->sp);
	WRK_STAT_ADD(w->stats, active, (uint32_t)-1);
	WRK_STAT_ADD(w->stats, closed, 1);
	WRK_STAT_ADD(w->stats, bytes_up, r->d[0].bytes);
	WRK_STAT_ADD(w->stats, bytes_down, r->d[1].bytes);
	MET_PORT_ADD(r->sp, w->id, closed, 1);
	MET_PORT_ADD(r->sp, w->id, bytes_up, r->d[0].bytes);
	MET_PORT_ADD(r->sp, w->id, bytes_down, r->d[1].bytes);
	if (r->flow.ntried > 1)
		MET_PORT_ADD(r->sp, w->id, retries, r->flow.ntried - 1);
	snap_unref(r->snap);
	r->snap = NULL;
	r->sp = NULL;
	r->ep = NULL;
	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		w->live = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	if (w->nfree < RELAY_FREE_MAX) {
		r->next = w->free;
		r->prev = NULL;
		w->free = r;
		w->nfree++;
	} else
		free(r);
	w->closed(w->arg);
}

void
relay_close(struct relay *r, const char *reason, unsigned rst)
{
	relay_close_why(r, reason, NULL, rst);
}

void
relay_close_all(struct relay_wrk *w)
{
	while (w->live != NULL)
		relay_close(w->live, "shutdown", 0);
}

/* side failed with err: reset the other side, as the peer would. */
static void
relay_abort(struct relay *r, int side, int err)
{
	const char *reason;

	if (err == ECONNRESET || err == EPIPE)
		reason = side == SIDE_CLIENT ? "client-reset" :
		    "backend-reset";
	else
		reason = side == SIDE_CLIENT ? "client-error" :
		    "backend-error";
	r->last_err = err;
	relay_close(r, reason, 1u << (1 - side));
}

/*
 * Move what direction di can move, and end r where relay_pump says it
 * is over: "done" after EOF both ways, or the failed side's peer reset
 * (relay_abort).  0, or 1 with r closed (gone).
 */
static int
relay_step(struct relay *r, int di)
{
	int err = 0;

	switch (relay_pump(r, di, &err)) {
	case RELAY_PUMP_GO:
		return 0;
	case RELAY_PUMP_DONE:
		relay_close(r, "done", 0);
		break;
	case RELAY_PUMP_SRC_FAILED:
		relay_abort(r, di, err);
		break;
	case RELAY_PUMP_DST_FAILED:
		relay_abort(r, 1 - di, err);
		break;
	}
	return 1;
}

/* Move what can move each way.  1: r was closed. */
static int
relay_run(struct relay *r)
{
	if (relay_step(r, SIDE_CLIENT))
		return 1;
	return relay_step(r, SIDE_BACKEND);
}

/*
 * An edge on side 1 while connecting.  A failed connect reports EPOLLERR
 * (the error itself is asked for then); EPOLLOUT alone is a connect that
 * worked, with no getsockopt(SO_ERROR).
 */
static void
relay_connected(struct relay *r, uint32_t ev)
{
	socklen_t	 len = sizeof(int);
	int		 err = 0, rc;

	if (ev & (EPOLLERR | EPOLLHUP)) {
		if (getsockopt(r->fd[1], SOL_SOCKET, SO_ERROR, &err,
		    &len) == -1)
			err = errno;
		if (err == 0)
			err = ECONNRESET;
	} else if (!(ev & EPOLLOUT))
		return;
	if (err != 0) {
		r->last_err = err;
		relay_connect_next(r);
		return;
	}
	r->state = RELAY_UP;
	r->last_err = 0;
	lb_ok(r->ep);
	r->last_ms = relay_now(r->w);
	relay_timer_stop(r);
	if (r->sp->svc->idle_timeout_ms != 0)
		relay_timer(r, r->sp->svc->idle_timeout_ms);
	if (!r->cpolled && relay_poll_add(r, SIDE_CLIENT) == -1) {
		relay_abort(r, SIDE_CLIENT, errno);
		return;
	}
	r->cpolled = 1;
	/*
	 * Most clients have sent their first bytes by now: move them at
	 * once rather than after another turn of the loop.  A client that
	 * waits for the server costs one recv that says EAGAIN.
	 */
	r->rd_ok |= SIDE_BIT(SIDE_CLIENT);
	r->wr_ok |= SIDE_BIT(SIDE_CLIENT);
	if (r->sp->svc->proxy_protocol != PP_NONE &&
	    (rc = relay_send_proxy(r)) != 0) {
		r->last_err = errno;
		if (rc == -2)
			relay_abort(r, SIDE_CLIENT, errno);
		else
			relay_close_why(r, "backend-error", "cannot send the "
			    "PROXY protocol header", 1u << SIDE_CLIENT |
			    1u << SIDE_BACKEND);
		return;
	}
	(void)relay_run(r);
}

static void	relay_header_refuse(struct relay *, const char *,
		    const char *);

static void
relay_tmo(evutil_socket_t fd, short what, void *arg)
{
	struct relay	*r = arg;
	uint64_t	 now, idle = r->sp->svc->idle_timeout_ms;

	(void)fd;
	(void)what;
	r->tmo_on = 0;
	if (r->state == RELAY_HEADER) {
		relay_header_refuse(r, "proxy-header-timeout", "no whole "
		    "PROXY protocol header in time");
		return;
	}
	if (r->state == RELAY_CONNECTING) {
		r->last_err = ETIMEDOUT;
		relay_connect_next(r);
		return;
	}
	now = relay_now(r->w);
	if (now - r->last_ms >= idle) {
		relay_close(r, "idle-timeout", 0);
		return;
	}
	relay_timer(r, idle - (now - r->last_ms));
}

/* ---- connect ---- */

#ifndef IP_TRANSPARENT
#define IP_TRANSPARENT		19	/* linux/in.h */
#endif
#ifndef IPV6_TRANSPARENT
#define IPV6_TRANSPARENT	75	/* linux/in6.h */
#endif
#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT	24
#endif

/*
 * Transparent mode (svcproxy.io/source-address: client): bind the
 * backend socket fd, of family af, to the client's own address before
 * the connect, as HAProxy's "usesrc clientip" does.  IP_TRANSPARENT
 * (IPV6_TRANSPARENT) lets a socket bind to an address this host does
 * not have; it needs CAP_NET_ADMIN (EPERM without).  The client's own
 * port is tried first, so the backend sees the very pair the client
 * has; when this host holds that pair already (a client on this host,
 * or an earlier connection's TIME_WAIT: EADDRINUSE), the kernel picks
 * a port at connect time (IP_BIND_ADDRESS_NO_PORT: only the 4-tuple
 * must be unique).  A v4-mapped client (a dual-stack listener) binds
 * as the IPv4 address it is.  No allocation.  0; -1 with errno.
 */
static int
relay_bind_client(const struct relay *r, int fd, int af)
{
	union pp_addr	a = r->client;
	socklen_t	len = sizeof(a.in6);
	int		one = 1, rc;

	if (a.sa.sa_family == AF_INET6 && af == AF_INET &&
	    IN6_IS_ADDR_V4MAPPED(&a.in6.sin6_addr)) {
		uint16_t port = a.in6.sin6_port;

		memset(&a.in, 0, sizeof(a.in));
		a.in.sin_family = AF_INET;
		a.in.sin_port = port;
		memcpy(&a.in.sin_addr, &r->client.in6.sin6_addr.s6_addr[12],
		    4);
	}
	if (a.sa.sa_family != af) {
		errno = EAFNOSUPPORT;	/* an IPv4 client, IPv6 endpoint */
		return -1;
	}
	if (af == AF_INET) {
		len = sizeof(a.in);
		rc = setsockopt(fd, IPPROTO_IP, IP_TRANSPARENT, &one,
		    sizeof(one));
	} else
		rc = setsockopt(fd, IPPROTO_IPV6, IPV6_TRANSPARENT, &one,
		    sizeof(one));
	if (rc == -1)
		return -1;
	if (bind(fd, &a.sa, len) == 0)
		return 0;
	if (errno != EADDRINUSE)
		return -1;
	if (af == AF_INET)
		a.in.sin_port = 0;
	else
		a.in6.sin6_port = 0;
	(void)setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
	    sizeof(one));
	return bind(fd, &a.sa, len);
}

/*
 * relay_bind_client failed (r->last_err): svcproxy's fault, not the
 * endpoint's, so no ejection; but the connection fails over to the
 * next endpoint as after a failed connect, and counts as one.  Logged
 * rate-limited: without the capability every connection says it.
 */
static void
relay_bind_failed(struct relay *r)
{
	char	cl[NETADDR_HOSTPORTLEN];

	ipaddr_format_sockaddr(&r->client.sa, cl, sizeof(cl));
	log_rl_msg(&r->snap->rl, LOG_LEVEL_WARN, "%s: cannot connect to %s "
	    "from the client's address %s (svcproxy.io/source-address: "
	    "client): %s%s", r->sp->label, r->ep->name, cl,
	    strerror(r->last_err), r->last_err == EPERM ? " (transparent "
	    "mode needs CAP_NET_ADMIN)" : "");
	close(r->fd[SIDE_BACKEND]);
	r->fd[SIDE_BACKEND] = -1;
	lb_release(&r->sp->lb, r->ep);
	r->failed_ep = r->ep;
	r->ep = NULL;
	WRK_STAT_ADD(r->w->stats, connect_failures, 1);
	MET_PORT_ADD(r->sp, r->w->id, connect_failures, 1);
}

/* The current attempt failed (r->last_err): count it, drop its socket. */
static void
relay_attempt_failed(struct relay *r)
{
	enum log_level	lvl = r->snap->connection_log == CONN_LOG_DEBUG ?
	    LOG_LEVEL_DEBUG : LOG_LEVEL_INFO;
	uint32_t	ms;

	if (r->snap->connection_log != CONN_LOG_OFF)
		log_msg(lvl, "connect to %s for %s failed: %s (attempt %u "
		    "of %d)", r->ep->name, r->sp->label,
		    r->last_err == ETIMEDOUT ? "connect timeout" :
		    strerror(r->last_err), r->flow.ntried, LB_MAX_TRIES);
	relay_timer_stop(r);
	if (r->fd[1] != -1) {
		relay_poll_forget(r, SIDE_BACKEND);
		close(r->fd[1]);
		r->fd[1] = -1;
	}
	if ((ms = lb_fail(&r->sp->lb, r->ep, &r->sp->hc, &r->flow)) != 0)
		log_warn("endpoint %s of %s ejected for %ums after %u "
		    "connect failures in a row (ejection %u)", r->ep->name,
		    r->sp->label, ms, r->sp->hc.outlier_failures,
		    atomic_load_explicit(&r->ep->live->ejections,
		    memory_order_relaxed));
	lb_release(&r->sp->lb, r->ep);
	r->failed_ep = r->ep;
	r->ep = NULL;
	WRK_STAT_ADD(r->w->stats, connect_failures, 1);
	MET_PORT_ADD(r->sp, r->w->id, connect_failures, 1);
}

/*
 * lb_flow's allow for a judged pick (arg: its struct relay_judge): may
 * the relay's client reach ep?  Notes the first denial.  The policy
 * tables' merged index answers an allow in tens of nanoseconds
 * whatever the number of policies (policy.h), so no verdict is kept
 * here: a per-worker memo of them cost more than the answer.
 */
static int
relay_allow(const struct lb_ep *ep, void *arg)
{
	struct relay_judge	*j = arg;
	struct pol_verdict	 v;

	if (snap_ep_allowed(j->r->snap, j->r->sp, &j->c, ep, &v))
		return 1;
	if (j->ndenied++ == 0)
		j->denied = v;
	return 0;
}

/* The balancer's next endpoint, filtered through j when r is judged. */
static struct lb_ep *
relay_pick(struct relay *r, struct relay_judge *j)
{
	struct lb_ep *ep;

	if (!r->judge)
		return lb_pick(&r->sp->lb, &r->flow);
	r->flow.allow = relay_allow;
	r->flow.allow_arg = j;
	ep = lb_pick(&r->sp->lb, &r->flow);
	r->flow.allow = NULL;		/* j lives on a caller's stack */
	r->flow.allow_arg = NULL;
	return ep;
}

/* NetworkPolicy lets the client reach no endpoint: reset, count, log. */
static void
relay_refuse_policy(struct relay *r, const struct relay_judge *j)
{
	char why[256];

	MET_PORT_ADD(r->sp, r->w->id, refused_policy, 1);
	snap_deny_reason(r->snap, &j->denied, why, sizeof(why));
	relay_close_why(r, "policy-denied", why, 1u << SIDE_CLIENT);
}

/*
 * Connect to the next endpoint the balancer offers; on an immediate
 * failure try the one after.  When none is left the client is reset:
 * it sees what it would see connecting to a Service without endpoints.
 * Where NetworkPolicy applies, the balancer offers only endpoints the
 * client may reach; when it may reach none, the client is reset before
 * any connect.
 */
static void
relay_connect_next(struct relay *r)
{
	struct relay_judge	 j;
	struct lb_ep		*ep;
	int			 fd;
	uint16_t		 port;

	if (r->ep != NULL)
		relay_attempt_failed(r);
	/* The pick's clock: the loop's cached one, refreshed per attempt. */
	r->flow.now_ms = relay_mono(r->w);
	r->flow.wall_ms = (int64_t)relay_now(r->w);
	if (r->judge) {
		j.r = r;
		j.ndenied = 0;
		ipaddr_from_sockaddr((struct sockaddr *)&r->client, &j.c.addr,
		    &port);
		j.c.pod = r->cpod;
		j.c.egress = r->cegress;
	}
	ep = relay_pick(r, &j);
	if (ep == NULL && r->judge && r->flow.ntried == 0 &&
	    r->sp->lb.neps != 0) {
		relay_refuse_policy(r, &j);
		return;
	}
	for (; ep != NULL; ep = relay_pick(r, &j)) {
		r->ep = ep;
		fd = socket(ep->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
		if (fd == -1) {
			/* Out of fds is ours, not the endpoint's fault. */
			r->last_err = errno;
			lb_release(&r->sp->lb, ep);
			r->ep = NULL;
			break;
		}
		relay_sockopts(fd);
		r->fd[1] = fd;
		if (r->sp->svc->transparent &&
		    relay_bind_client(r, fd, ep->sa.ss_family) == -1) {
			r->last_err = errno;
			relay_bind_failed(r);
			continue;
		}
		if ((connect(fd, (struct sockaddr *)&ep->sa, ep->salen) == 0 ||
		    errno == EINPROGRESS) &&
		    relay_poll_add(r, SIDE_BACKEND) == 0) {
			/* Even a finished connect reports as an edge. */
			relay_timer(r, r->sp->svc->connect_timeout_ms ?
			    r->sp->svc->connect_timeout_ms :
			    PCFG_DEFAULT_CONNECT_TIMEOUT_MS);
			return;
		}
		r->last_err = errno;
		relay_attempt_failed(r);
	}
	if (r->sp->lb.neps == 0) {
		WRK_STAT_ADD(r->w->stats, no_endpoint, 1);
		MET_PORT_ADD(r->sp, r->w->id, no_endpoint, 1);
		relay_close(r, "no-endpoints", 1u << SIDE_CLIENT);
	} else
		relay_close(r, "connect-failed", 1u << SIDE_CLIENT);
}

static struct relay *
relay_alloc(struct relay_wrk *w)
{
	struct relay *r;

	if ((r = w->free) != NULL) {
		w->free = r->next;
		w->nfree--;
	} else if ((r = malloc(sizeof(*r))) == NULL)
		return NULL;
	memset(r, 0, offsetof(struct relay, tmo));
	r->state = RELAY_CONNECTING;
	r->d[0].pfd[0] = r->d[0].pfd[1] = -1;
	r->d[1].pfd[0] = r->d[1].pfd[1] = -1;
	r->last_err = 0;
	return r;
}

int
relay_reserve(struct relay_wrk *w, const struct snap_port *sp,
    uint32_t max_all)
{
	uint32_t max = sp->svc->max_connections;

	/*
	 * Count first, then compare what was there before: of several
	 * workers racing for the last slot, exactly one sees room.
	 * Checking and counting apart would let each of them in.
	 */
	if (atomic_fetch_add_explicit(w->active_all, 1,
	    memory_order_relaxed) >= max_all && max_all != 0) {
		atomic_fetch_sub_explicit(w->active_all, 1,
		    memory_order_relaxed);
		return 0;
	}
	if (atomic_fetch_add_explicit(&sp->svc->live->active, 1,
	    memory_order_relaxed) >= max && max != 0) {
		relay_unreserve(w, sp);
		return 0;
	}
	return 1;
}

void
relay_count(struct relay_wrk *w, const struct snap_port *sp)
{
	atomic_fetch_add_explicit(w->active_all, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&sp->svc->live->active, 1,
	    memory_order_relaxed);
}

void
relay_unreserve(struct relay_wrk *w, const struct snap_port *sp)
{
	atomic_fetch_sub_explicit(&sp->svc->live->active, 1,
	    memory_order_relaxed);
	atomic_fetch_sub_explicit(w->active_all, 1, memory_order_relaxed);
}

/*
 * r's client (the peer, or what its PROXY header said) is known: judge
 * it (loadBalancerSourceRanges, NetworkPolicy's view of it) and connect.
 */
static void
relay_admit(struct relay *r)
{
	const struct snap_port	*sp = r->sp;
	struct snap_client	 c;
	struct ipaddr		 addr;
	uint16_t		 port;

	r->state = RELAY_CONNECTING;
	ipaddr_from_sockaddr(&r->client.sa, &addr, &port);
	if (!snap_source_allowed(r->lsn, &addr)) {
		MET_PORT_ADD(sp, r->w->id, refused_source, 1);
		relay_close_why(r, "source-denied", "not in "
		    "loadBalancerSourceRanges", 1u << SIDE_CLIENT);
		return;
	}
	snap_client_init(r->snap, sp, &c, &addr);
	r->cpod = c.pod;
	r->cegress = c.egress != 0;
	r->judge = snap_needs_judging(sp, &c);
	relay_connect_next(r);
}

/* ---- a PROXY protocol header from the client ---- */

/*
 * Refuse a client whose header is missing, malformed, late or from an
 * untrusted sender: reset it, count it (as a refused source: the
 * address it claims cannot be judged), log it rate-limited (a flood of
 * them is one line a period).  Nothing reached a backend.
 */
static void
relay_header_refuse(struct relay *r, const char *reason, const char *why)
{
	char	 cl[NETADDR_HOSTPORTLEN];

	MET_PORT_ADD(r->sp, r->w->id, refused_source, 1);
	ipaddr_format_sockaddr(&r->client.sa, cl, sizeof(cl));
	log_rl_msg(&r->snap->rl, LOG_LEVEL_WARN, "%s: refused %s: %s",
	    r->sp->label, cl, why);
	relay_close_why(r, reason, why, 1u << SIDE_CLIENT);
}

/*
 * The Service reads a PROXY header first (svcproxy.io/accept-proxy-
 * protocol): only from a trusted sender, and within pp_timeout_ms, so
 * that a client sending part of one and stalling holds nothing for
 * long.  The header is read where it is (MSG_PEEK) until it is whole,
 * then exactly its bytes are taken: the client's own bytes stay in the
 * socket for the relay, and nothing is buffered or allocated here.
 */
static void
relay_header_start(struct relay *r)
{
	struct ipaddr	 peer;
	uint16_t	 port;

	ipaddr_from_sockaddr(&r->client.sa, &peer, &port);
	if (!snap_pp_trusted(r->snap, &peer)) {
		relay_header_refuse(r, "proxy-untrusted", "not a trusted "
		    "PROXY protocol sender (spec.proxyProtocolTrustedSources)");
		return;
	}
	r->state = RELAY_HEADER;
	relay_timer(r, r->snap->pp_timeout_ms);
	if (relay_poll_add(r, SIDE_CLIENT) == -1) {
		relay_abort(r, SIDE_CLIENT, errno);
		return;
	}
	r->cpolled = 1;
	/* Most headers come with the connection: read at once. */
	r->rd_ok |= SIDE_BIT(SIDE_CLIENT);
	relay_header_read(r);
}

/*
 * What the client has sent so far (rd_ok says there may be more): read
 * exactly the header once it is whole (relay_header_take), then judge
 * and connect; or refuse, or wait.
 */
static void
relay_header_read(struct relay *r)
{
	int err = 0;

	switch (relay_header_take(r, &err)) {
	case RELAY_HDR_WAIT:
		return;
	case RELAY_HDR_FAILED:
		relay_abort(r, SIDE_CLIENT, err);
		return;
	case RELAY_HDR_INVALID:
		relay_header_refuse(r, "proxy-header-invalid", "not a valid "
		    "PROXY protocol header");
		return;
	case RELAY_HDR_INCOMPLETE:
		relay_header_refuse(r, "proxy-header-incomplete",
		    "closed before a whole PROXY protocol header");
		return;
	case RELAY_HDR_TAKEN:
		break;
	}
	relay_timer_stop(r);
	/* Bytes behind the header are for the relay, after the connect. */
	relay_admit(r);
}

void
relay_start(struct relay_wrk *w, int cfd, const struct sockaddr *client,
    socklen_t clen, struct snap *s, const struct snap_lsn *l)
{
	const struct snap_port	*sp = l->sp;
	struct relay		*r;

	if ((r = relay_alloc(w)) == NULL) {
		relay_close_rst(cfd);
		relay_unreserve(w, sp);
		snap_unref(s);
		return;
	}
	r->w = w;
	r->snap = s;
	r->sp = sp;
	r->fd[0] = cfd;
	r->fd[1] = -1;
	r->d[0].copy = r->d[1].copy = w->no_splice != 0;
	if (clen > sizeof(r->client))
		clen = sizeof(r->client);
	memcpy(&r->client, client, clen);
	r->flow.client = (struct sockaddr *)&r->client;
	r->start_ms = r->last_ms = relay_now(w);
	/* The slot in the active counts: the caller's relay_reserve. */
	WRK_STAT_ADD(w->stats, active, 1);
	WRK_STAT_ADD(w->stats, accepted, 1);
	MET_PORT_ADD(sp, w->id, accepted, 1);
	r->prev = NULL;
	r->next = w->live;
	if (w->live != NULL)
		w->live->prev = r;
	w->live = r;
	r->lsn = l;
	/* TCP_NODELAY, SO_KEEPALIVE: inherited from the listener. */
	event_assign(&r->tmo, w->base, -1, 0, relay_tmo, r);
	if (sp->svc->accept_proxy)
		relay_header_start(r);
	else
		relay_admit(r);
}
