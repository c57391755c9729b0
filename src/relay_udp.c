#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <netinet/in.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "metrics.h"
#include "netaddr.h"
#include "proxyproto.h"
#include "relay_udp.h"
#include "worker-t.h"

/* Control room for one IPv4 or IPv6 packet info message. */
#define RELAY_UDP_CTL	CMSG_SPACE(sizeof(struct in6_pktinfo))

#define RELAY_UDP_LOG_BURST	3
#define RELAY_UDP_LOG_PERIOD_MS	10000
/* A PROXY v2 header for UDP over IPv6, the longest a flow sends:
   16 bytes and two addresses and ports. */
#define RELAY_UDP_PP_MAX	(PP_V2_HDR + 2 * 16 + 2 * 2)

struct relay_udp_flow {
	struct udp_flow		 f;		/* first: the table's */
	struct event		 ev;		/* fd readable; pending
						   while fd != -1 */
	struct relay_udp_wrk	*w;
	struct relay_udp_flow	*next;		/* free list */
	struct snap		*snap;		/* ref held until close */
	const struct snap_port	*sp;		/* in snap */
	struct lb_ep		*ep;		/* in snap; NULL: none */
	struct sockaddr_storage	 client;
	struct sockaddr_storage	 local;		/* sent to: replies' source */
	socklen_t		 clen;
	int			 fd;		/* upstream, owned; -1 */
	int			 lfd;		/* listener's, borrowed */
	int32_t			 cpod;		/* client's Pod in snap */
	unsigned		 cegress:1;
	unsigned		 judge:1;
	uint64_t		 start_ms;
	uint64_t		 dg[2];		/* datagrams up, down */
	uint64_t		 bytes[2];
	uint64_t		 dg_met[2];	/* of dg, in the metrics */
	uint64_t		 bytes_met[2];	/* of bytes, likewise */
	uint64_t		 batch;		/* w->batch it was noted in */
	uint64_t		 requests;	/* datagrams sent up */
	uint64_t		 responses;	/* replies sent back */
	/*
	 * svcproxy.io/proxy-protocol: v2: the header every datagram to
	 * the endpoint starts with (HAProxy's doc/proxy-protocol.txt: a
	 * header in each datagram, never split), built once for the
	 * flow, whose key it is.  pplen 0: none (v1 has no UDP form).
	 */
	uint8_t			 pp[RELAY_UDP_PP_MAX];
	uint8_t			 pplen;
};


/* Milliseconds on the loop's cached monotonic clock. */
static uint64_t
relay_udp_now(struct relay_udp_wrk *w)
{
	struct timeval tv;

	event_base_gettimeofday_cached(w->base, &tv);
	return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

static int64_t
relay_udp_mono(struct relay_udp_wrk *w)
{
	struct timeval tv;

	if (event_gettime_monotonic(w->base, &tv) == -1)
		return 0;
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* ---- the fd budget (worker.h: one fd per flow) ---- */

static int
relay_udp_fd_take(struct relay_udp_wrk *w)
{
	return w->fds == NULL || fd_budget_take(w->fds, w->fd_cap, 1,
	    w->fd_dropped);
}

static void
relay_udp_fd_give(struct relay_udp_wrk *w)
{
	if (w->fds != NULL)
		fd_budget_give(w->fds, 1);
}

/* ---- the per-port bound (svcproxy.io/udp-max-flows) ---- */

/*
 * Count a new flow on sp (every port counts, so that a reload setting
 * a bound sees the flows already open); 0 when sp's Service has a
 * bound and its flows are there already (nothing counted).  Count
 * first, then compare: of workers racing for the last one, one wins.
 */
static int
relay_udp_port_take(const struct snap_port *sp)
{
	uint32_t max = sp->svc->udp_max_flows;

	if (sp->met == NULL)
		return 1;
	if (atomic_fetch_add_explicit(&sp->met->udp_open, 1,
	    memory_order_relaxed) >= max && max != 0) {
		atomic_fetch_sub_explicit(&sp->met->udp_open, 1,
		    memory_order_relaxed);
		return 0;
	}
	return 1;
}

static void
relay_udp_port_give(const struct snap_port *sp)
{
	if (sp->met != NULL)
		atomic_fetch_sub_explicit(&sp->met->udp_open, 1,
		    memory_order_relaxed);
}

/* ---- close ---- */

static void
relay_udp_log(struct relay_udp_flow *fl, const char *reason)
{
	char		cl[NETADDR_HOSTPORTLEN], lo[NETADDR_HOSTPORTLEN];
	enum log_level	lvl;
	const struct snap *s = fl->snap;

	lvl = s->connection_log == CONN_LOG_DEBUG ? LOG_LEVEL_DEBUG :
	    LOG_LEVEL_INFO;
	if (s->connection_log == CONN_LOG_OFF || !log_enabled(lvl))
		return;
	ipaddr_format_sockaddr((struct sockaddr *)&fl->client, cl,
	    sizeof(cl));
	ipaddr_format_sockaddr((struct sockaddr *)&fl->local, lo, sizeof(lo));
	const struct log_kv kv[] = { LOG_STR("client", cl),
	    LOG_STR("local", lo), LOG_STR("service", fl->sp->label),
	    LOG_STR("endpoint", fl->ep ? fl->ep->name : "-"),
	    LOG_BYTES(fl->bytes[0], fl->bytes[1]),
	    LOG_U64("datagrams_up", fl->dg[0]),
	    LOG_U64("datagrams_down", fl->dg[1]),
	    LOG_U64("duration", relay_udp_now(fl->w) - fl->start_ms),
	    LOG_STR("reason", reason) };
	log_ev(lvl, "flow", kv, LOG_NKV(kv), 0, "flow client=%s local=%s "
	    "service=%s endpoint=%s datagrams_up=%" PRIu64 " datagrams_down=%"
	    PRIu64 " up=%" PRIu64 " down=%" PRIu64 " duration=%" PRIu64 "ms "
	    "reason=%s", cl, lo, fl->sp->label, fl->ep ? fl->ep->name : "-",
	    fl->dg[0],
	    fl->dg[1], fl->bytes[0], fl->bytes[1],
	    relay_udp_now(fl->w) - fl->start_ms, reason);
}

/* Drop fl's endpoint and its upstream socket (the flow stays). */
static void
relay_udp_unbind(struct relay_udp_flow *fl)
{
	if (fl->fd != -1) {
		event_del(&fl->ev);
		close(fl->fd);
		fl->fd = -1;
	}
	if (fl->ep != NULL)
		lb_release(&fl->sp->lb, fl->ep);
	fl->ep = NULL;
}

/*
 * Add what fl moved since the last call to its Service port's metrics:
 * after every batch, so an open flow's traffic shows at once; fl keeps
 * its totals for its log line.
 */
static void
relay_udp_count(struct relay_udp_flow *fl)
{
	unsigned	id = fl->w->id;
	int		i;

	MET_PORT_ADD(fl->sp, id, udp_dgrams_up, fl->dg[0] - fl->dg_met[0]);
	MET_PORT_ADD(fl->sp, id, udp_dgrams_down, fl->dg[1] - fl->dg_met[1]);
	MET_PORT_ADD(fl->sp, id, bytes_up, fl->bytes[0] - fl->bytes_met[0]);
	MET_PORT_ADD(fl->sp, id, bytes_down, fl->bytes[1] -
	    fl->bytes_met[1]);
	for (i = 0; i < 2; i++) {
		fl->dg_met[i] = fl->dg[i];
		fl->bytes_met[i] = fl->bytes[i];
	}
}

/* End fl: log, count, back to the free list; fl is gone afterwards. */
static void
relay_udp_close(struct relay_udp_flow *fl, const char *reason)
{
	struct relay_udp_wrk *w = fl->w;

	relay_udp_log(fl, reason);
	relay_udp_unbind(fl);
	relay_udp_count(fl);
	MET_PORT_ADD(fl->sp, w->id, udp_flows_closed, 1);
	if (strcmp(reason, "idle") == 0)
		MET_PORT_ADD(fl->sp, w->id, udp_flows_expired, 1);
	udp_flow_remove(&w->tab, &fl->f);
	relay_udp_fd_give(w);
	relay_udp_port_give(fl->sp);
	snap_unref(fl->snap);
	fl->snap = NULL;
	fl->sp = NULL;
	fl->next = w->free;
	w->free = fl;
	if (w->closed != NULL)
		w->closed(w->arg);
}

void
relay_udp_close_all(struct relay_udp_wrk *w)
{
	struct udp_flow *f;

	while ((f = udp_flow_any(&w->tab)) != NULL)
		relay_udp_close((struct relay_udp_flow *)f, "shutdown");
}

struct relay_udp_lsn_arg {
	int	lfd;
};

static void
relay_udp_lsn_closed_cb(struct udp_flow *f, void *arg)
{
	const struct relay_udp_lsn_arg *a = arg;

	if (((struct relay_udp_flow *)f)->lfd == a->lfd)
		relay_udp_close((struct relay_udp_flow *)f, "listener-closed");
}

void
relay_udp_lsn_closed(struct relay_udp_wrk *w, int lfd)
{
	struct relay_udp_lsn_arg a = { lfd };

	udp_flow_walk(&w->tab, relay_udp_lsn_closed_cb, &a);
}

/* ---- expiry ---- */

static void
relay_udp_expire_cb(struct udp_flow *f, void *arg)
{
	(void)arg;
	relay_udp_close((struct relay_udp_flow *)f, "idle");
}

static void
relay_udp_sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct relay_udp_wrk	*w = arg;
	struct timeval		 tv = { 0, RELAY_UDP_SWEEP_MS * 1000 };

	(void)fd;
	(void)what;
	(void)udp_flow_expire(&w->tab, relay_udp_now(w), relay_udp_expire_cb,
	    w);
	if (w->tab.n > 0)
		evtimer_add(&w->sweep_ev, &tv);
}

/* ---- replies: endpoint to client ---- */

/* Fill msgs' control with fl's local address as the source to send from. */
static socklen_t
relay_udp_pktinfo(const struct relay_udp_flow *fl, char *ctl)
{
	struct msghdr	 mh;
	struct cmsghdr	*cm;

	memset(ctl, 0, RELAY_UDP_CTL);
	memset(&mh, 0, sizeof(mh));
	mh.msg_control = ctl;
	mh.msg_controllen = RELAY_UDP_CTL;
	cm = CMSG_FIRSTHDR(&mh);
	if (fl->local.ss_family == AF_INET) {
		struct in_pktinfo pi;

		memset(&pi, 0, sizeof(pi));
		pi.ipi_spec_dst = ((const struct sockaddr_in *)
		    &fl->local)->sin_addr;
		cm->cmsg_level = IPPROTO_IP;
		cm->cmsg_type = IP_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
		return CMSG_SPACE(sizeof(pi));
	} else {
		struct in6_pktinfo pi;

		memset(&pi, 0, sizeof(pi));
		pi.ipi6_addr = ((const struct sockaddr_in6 *)
		    &fl->local)->sin6_addr;
		cm->cmsg_level = IPPROTO_IPV6;
		cm->cmsg_type = IPV6_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
		return CMSG_SPACE(sizeof(pi));
	}
}

/*
 * How many more replies fl may pass before it is done: with
 * svcproxy.io/udp-responses N, nginx's proxy_responses rule, N per
 * request sent (a client that sent three requests on one flow gets
 * its three answers before the flow ends); INT_MAX without.
 */
static int
relay_udp_room(const struct relay_udp_flow *fl)
{
	uint64_t want, n = fl->sp->svc->udp_responses;

	if (n == 0)
		return INT_MAX;
	want = n * fl->requests;
	if (fl->responses >= want)
		return 0;
	return want - fl->responses > RELAY_UDP_BATCH ? RELAY_UDP_BATCH :
	    (int)(want - fl->responses);
}

/*
 * Move what fl's endpoint sent to its client, a batch at a time.
 * 1: drained (EAGAIN), 0: gave way after RELAY_UDP_ROUNDS, -1: fl got
 * the replies its requests expect (udp-responses) and is closed.
 */
static int
relay_udp_replies(struct relay_udp_flow *fl)
{
	struct relay_udp_wrk	*w = fl->w;
	socklen_t		 clen;
	int			 i, n, sent, round, room;

	clen = relay_udp_pktinfo(fl, w->ctl);
	for (round = 0; round < RELAY_UDP_ROUNDS; round++) {
		if ((room = relay_udp_room(fl)) == 0) {
			relay_udp_close(fl, "responses");
			return -1;
		}
		if (room > RELAY_UDP_BATCH)
			room = RELAY_UDP_BATCH;
		for (i = 0; i < RELAY_UDP_BATCH; i++) {
			w->iov[i].iov_base = w->buf + (size_t)i *
			    RELAY_UDP_DGRAM_MAX;
			w->iov[i].iov_len = RELAY_UDP_DGRAM_MAX;
			memset(&w->msgs[i].msg_hdr, 0,
			    sizeof(w->msgs[i].msg_hdr));
			w->msgs[i].msg_hdr.msg_iov = &w->iov[i];
			w->msgs[i].msg_hdr.msg_iovlen = 1;
		}
		n = recvmmsg(fl->fd, w->msgs, (unsigned)room, MSG_DONTWAIT,
		    NULL);
		if (n <= 0)
			return 1;	/* EAGAIN, or an ICMP error: nothing */
		for (i = 0; i < n; i++) {
			w->iov[i].iov_len = w->msgs[i].msg_len;
			w->msgs[i].msg_hdr.msg_name = &fl->client;
			w->msgs[i].msg_hdr.msg_namelen = fl->clen;
			/* One control block serves the whole batch. */
			w->msgs[i].msg_hdr.msg_control = w->ctl;
			w->msgs[i].msg_hdr.msg_controllen = clen;
			fl->dg[1]++;
			fl->bytes[1] += w->msgs[i].msg_len;
		}
		for (sent = 0; sent < n; ) {
			i = sendmmsg(fl->lfd, w->msgs + sent,
			    (unsigned)(n - sent), MSG_DONTWAIT);
			if (i <= 0)
				break;	/* full: UDP may drop */
			sent += i;
		}
		fl->responses += (uint64_t)n;
		relay_udp_count(fl);
		udp_flow_touch(&w->tab, &fl->f, relay_udp_now(w));
		if (relay_udp_room(fl) == 0) {
			relay_udp_close(fl, "responses");
			return -1;
		}
		if (n < room)
			return 1;
	}
	return 0;
}

/*
 * fl's socket is readable.  Level-triggered: a flow that gave way
 * (RELAY_UDP_ROUNDS) is called again on the loop's next pass, after
 * the other ready events, which is the fairness a rerun list gives.
 */
static void
relay_udp_on_read(evutil_socket_t fd, short what, void *arg)
{
	struct relay_udp_flow *fl = arg;

	(void)fd;
	(void)what;
	if (fl->fd != -1)
		(void)relay_udp_replies(fl);
}

/* ---- choosing an endpoint ---- */

/*
 * Build fl's PROXY header for its Service port's setting: on creation
 * and when a reload moves it to another snapshot (the setting may have
 * changed), never per datagram.
 */
static void
relay_udp_pp(struct relay_udp_flow *fl)
{
	fl->pplen = 0;
	if (fl->sp->svc->proxy_protocol != PP_V2)
		return;
	fl->pplen = (uint8_t)pp_build(PP_V2, 1,
	    (const struct sockaddr *)&fl->client,
	    (const struct sockaddr *)&fl->local, fl->pp, sizeof(fl->pp));
}

/* Who fl's client is under snapshot cur, for NetworkPolicy. */
static void
relay_udp_client(struct relay_udp_flow *fl, struct snap *cur)
{
	struct snap_client	 c;
	struct ipaddr		 addr;
	uint16_t		 port;

	ipaddr_from_sockaddr((struct sockaddr *)&fl->client, &addr, &port);
	snap_client_init(cur, fl->sp, &c, &addr);
	fl->cpod = c.pod;
	fl->cegress = c.egress != 0;
	fl->judge = snap_needs_judging(fl->sp, &c);
}

struct relay_udp_judge {
	struct relay_udp_flow	*fl;
	struct snap_client	 c;
	unsigned		 ndenied;
};

/* lb_flow's allow, as relay.c's relay_allow for TCP. */
static int
relay_udp_allow(const struct lb_ep *ep, void *arg)
{
	struct relay_udp_judge	*j = arg;
	struct pol_verdict	 v;

	if (snap_ep_allowed(j->fl->snap, j->fl->sp, &j->c, ep, &v))
		return 1;
	j->ndenied++;
	return 0;
}

/* Fill j and lf for a choice or a check of fl under its snapshot. */
static void
relay_udp_flow_init(struct relay_udp_flow *fl, struct lb_flow *lf,
    struct relay_udp_judge *j)
{
	uint16_t port;

	memset(lf, 0, sizeof(*lf));
	lf->client = (struct sockaddr *)&fl->client;
	lf->now_ms = relay_udp_mono(fl->w);
	lf->wall_ms = (int64_t)relay_udp_now(fl->w);
	j->fl = fl;
	j->ndenied = 0;
	if (fl->judge) {
		ipaddr_from_sockaddr((struct sockaddr *)&fl->client,
		    &j->c.addr, &port);
		j->c.pod = fl->cpod;
		j->c.egress = fl->cegress;
		lf->allow = relay_udp_allow;
		lf->allow_arg = j;
	}
}

/*
 * Choose fl's endpoint and connect its upstream socket.  NULL, or why
 * nothing is usable (counted; the caller closes the flow with it).
 */
static const char *
relay_udp_bind(struct relay_udp_flow *fl)
{
	struct relay_udp_wrk	*w = fl->w;
	struct relay_udp_judge	 j;
	struct lb_flow		 lf;
	struct lb_ep		*ep;
	int			 fd;

	relay_udp_flow_init(fl, &lf, &j);
	while ((ep = lb_pick(&fl->sp->lb, &lf)) != NULL) {
		fd = socket(ep->sa.ss_family, SOCK_DGRAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
		if (fd == -1) {
			lb_release(&fl->sp->lb, ep);
			log_rl_msg(&w->rl, LOG_LEVEL_WARN, "worker %u: udp "
			    "socket for %s: %s", w->id, fl->sp->label,
			    strerror(errno));
			return "socket-failed";
		}
		if (connect(fd, (struct sockaddr *)&ep->sa, ep->salen) == 0) {
			fl->fd = fd;
			fl->ep = ep;
			event_assign(&fl->ev, w->base, fd, EV_READ |
			    EV_PERSIST, relay_udp_on_read, fl);
			if (event_add(&fl->ev, NULL) == 0)
				return NULL;
			fl->fd = -1;
			fl->ep = NULL;
		}
		close(fd);
		lb_release(&fl->sp->lb, ep);
	}
	if (fl->sp->lb.neps != 0 && j.ndenied > 0) {
		MET_PORT_ADD(fl->sp, w->id, refused_policy, 1);
		return "policy-denied";
	}
	MET_PORT_ADD(fl->sp, w->id, no_endpoint, 1);
	return "no-endpoints";
}

/*
 * Is fl's endpoint still usable under the worker's snapshot cur (sl:
 * the listener's Service port there)?  Moves fl to cur when cur has the
 * endpoint; otherwise unbinds it, so the caller chooses again.
 */
static void
relay_udp_recheck(struct relay_udp_flow *fl, struct snap *cur,
    const struct snap_lsn *sl)
{
	struct relay_udp_judge	 j;
	struct lb_flow		 lf;
	const struct lb_set	*set;
	struct lb_ep		*ep = NULL;
	size_t			 i;

	if (fl->snap != cur) {
		/* The flow's counters belong to its old port's entry. */
		relay_udp_count(fl);
		set = &sl->sp->lb;
		for (i = 0; fl->ep != NULL && i < set->neps; i++)
			if (set->eps[i].salen == fl->ep->salen &&
			    memcmp(&set->eps[i].sa, &fl->ep->sa,
			    fl->ep->salen) == 0)
				break;
		if (fl->ep != NULL && i < set->neps)
			ep = &set->eps[i];
		/* Drop the old accounting, take the new snapshot. */
		if (fl->ep != NULL)
			lb_release(&fl->sp->lb, fl->ep);
		fl->ep = NULL;
		/* A port kept over a reload keeps its metrics entry. */
		if (fl->sp->met != sl->sp->met) {
			MET_PORT_ADD(fl->sp, fl->w->id, udp_flows_closed, 1);
			MET_PORT_ADD(sl->sp, fl->w->id, udp_flows, 1);
			/* An open flow moves past any bound: it keeps
			   working. */
			relay_udp_port_give(fl->sp);
			if (sl->sp->met != NULL)
				atomic_fetch_add_explicit(
				    &sl->sp->met->udp_open, 1,
				    memory_order_relaxed);
		}
		snap_unref(fl->snap);
		fl->snap = snap_ref(cur);
		fl->sp = sl->sp;
		relay_udp_client(fl, cur);
		relay_udp_pp(fl);
		/* Out of memory keeps the old timeout: harmless. */
		(void)udp_flow_set_timeout(&fl->w->tab, &fl->f,
		    fl->sp->svc->udp_idle_timeout_ms);
		if (ep == NULL) {
			relay_udp_unbind(fl);
			return;
		}
		fl->ep = ep;
		atomic_fetch_add_explicit(&ep->live->active, 1,
		    memory_order_relaxed);
	}
	if (fl->ep == NULL)
		return;
	relay_udp_flow_init(fl, &lf, &j);
	lf.any_health = lb_ep_up(fl->ep, lf.now_ms) ? 0 :
	    lb_panic(&fl->sp->lb);
	if (!lb_flow_may(&fl->sp->lb, &lf, (size_t)(fl->ep -
	    fl->sp->lb.eps)))
		relay_udp_unbind(fl);
}

/* ---- requests: client to endpoint ---- */

/*
 * A new flow from a free struct, holding one fd of the budget, or NULL
 * with why: "bound" (the table's), "fds" (the budget), "memory".
 */
static struct relay_udp_flow *
relay_udp_alloc(struct relay_udp_wrk *w, const char **why)
{
	struct relay_udp_flow *fl;

	*why = "bound";
	if (udp_flow_full(&w->tab))
		return NULL;
	*why = "fds";
	if (!relay_udp_fd_take(w))
		return NULL;
	*why = "memory";
	if ((fl = w->free) != NULL)
		w->free = fl->next;
	else if ((fl = malloc(sizeof(*fl))) != NULL)
		w->nalloc++;
	else {
		relay_udp_fd_give(w);
		return NULL;
	}
	memset(fl, 0, sizeof(*fl));
	fl->w = w;
	fl->fd = -1;
	return fl;
}

/*
 * The flow of the client at cl (clen) that sent to local on listener
 * lfd, created under cur/sl for its first datagram; NULL: dropped
 * (counted).
 */
static struct relay_udp_flow *
relay_udp_flow(struct relay_udp_wrk *w, int lfd,
    const struct sockaddr_storage *cl, socklen_t clen,
    const struct sockaddr_storage *local, struct snap *cur,
    const struct snap_lsn *sl)
{
	struct relay_udp_flow	*fl;
	struct udp_key		 k;
	struct ipaddr		 addr;
	struct timeval		 tv = { 0, RELAY_UDP_SWEEP_MS * 1000 };
	const char		*why;
	uint16_t		 port;

	if (udp_key_make(&k, (const struct sockaddr *)cl,
	    (const struct sockaddr *)local) == -1)
		return NULL;
	if ((fl = (struct relay_udp_flow *)udp_flow_find(&w->tab, &k)) !=
	    NULL) {
		if (fl->snap != cur || fl->ep == NULL ||
		    !lb_ep_up(fl->ep, INT64_MAX) || fl->ep->weight == 0)
			relay_udp_recheck(fl, cur, sl);
		if (fl->ep == NULL && (why = relay_udp_bind(fl)) != NULL) {
			relay_udp_close(fl, why);
			return NULL;
		}
		return fl;
	}
	ipaddr_from_sockaddr((const struct sockaddr *)cl, &addr, &port);
	if (!snap_source_allowed(sl, &addr)) {
		MET_PORT_ADD(sl->sp, w->id, refused_source, 1);
		return NULL;
	}
	if (!relay_udp_port_take(sl->sp)) {
		MET_PORT_ADD(sl->sp, w->id, udp_flows_limited, 1);
		log_rl_msg(&w->rl, LOG_LEVEL_WARN, "worker %u: Service port %s "
		    "has %" PRIu32 " UDP flows (its bound, "
		    ANN_UDP_MAX_FLOWS "): new flows dropped", w->id,
		    sl->sp->label, sl->sp->svc->udp_max_flows);
		return NULL;
	}
	if ((fl = relay_udp_alloc(w, &why)) == NULL) {
		relay_udp_port_give(sl->sp);
		MET_PORT_ADD(sl->sp, w->id, udp_flows_limited, 1);
		if (strcmp(why, "bound") == 0)
			log_rl_msg(&w->rl, LOG_LEVEL_WARN, "worker %u: %zu UDP "
			    "flows (the bound): new flows to %s dropped",
			    w->id, w->tab.n, sl->sp->label);
		else if (strcmp(why, "fds") == 0)
			log_rl_msg(&w->rl, LOG_LEVEL_WARN, "worker %u: the "
			    "open file budget (%" PRIu64 " fds for "
			    "connections and UDP flows) is spent: new flows "
			    "to %s dropped", w->id,
			    atomic_load_explicit(w->fd_cap,
			    memory_order_relaxed), sl->sp->label);
		else
			log_rl_msg(&w->rl, LOG_LEVEL_WARN, "worker %u: out of "
			    "memory: new flows to %s dropped", w->id,
			    sl->sp->label);
		return NULL;
	}
	fl->f.key = k;
	fl->snap = snap_ref(cur);
	fl->sp = sl->sp;
	fl->lfd = lfd;
	memcpy(&fl->client, cl, clen);
	fl->clen = clen;
	fl->local = *local;
	fl->start_ms = relay_udp_now(w);
	relay_udp_client(fl, cur);
	relay_udp_pp(fl);
	if (udp_flow_insert(&w->tab, &fl->f, fl->start_ms,
	    sl->sp->svc->udp_idle_timeout_ms) == -1) {
		snap_unref(fl->snap);
		fl->snap = NULL;
		fl->next = w->free;
		w->free = fl;
		relay_udp_fd_give(w);
		relay_udp_port_give(sl->sp);
		MET_PORT_ADD(sl->sp, w->id, udp_flows_limited, 1);
		log_rl_msg(&w->rl, LOG_LEVEL_WARN, "worker %u: out of memory: "
		    "new flows to %s dropped", w->id, sl->sp->label);
		return NULL;
	}
	MET_PORT_ADD(fl->sp, w->id, udp_flows, 1);
	if ((why = relay_udp_bind(fl)) != NULL) {
		relay_udp_close(fl, why);
		return NULL;
	}
	if (!evtimer_pending(&w->sweep_ev, NULL))
		evtimer_add(&w->sweep_ev, &tv);
	return fl;
}

/* The local address a datagram was sent to, from its packet info. */
static void
relay_udp_local(const struct msghdr *mh, const struct sockaddr_storage *lsa,
    struct sockaddr_storage *out)
{
	struct cmsghdr *cm;

	*out = *lsa;
	for (cm = CMSG_FIRSTHDR((struct msghdr *)mh); cm != NULL;
	    cm = CMSG_NXTHDR((struct msghdr *)mh, cm)) {
		if (cm->cmsg_level == IPPROTO_IP &&
		    cm->cmsg_type == IP_PKTINFO && out->ss_family == AF_INET) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			((struct sockaddr_in *)out)->sin_addr = pi.ipi_addr;
		} else if (cm->cmsg_level == IPPROTO_IPV6 &&
		    cm->cmsg_type == IPV6_PKTINFO &&
		    out->ss_family == AF_INET6) {
			struct in6_pktinfo pi;

			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			((struct sockaddr_in6 *)out)->sin6_addr = pi.ipi6_addr;
		}
	}
}

/*
 * Send a run of n datagrams of fl (consecutive in the batch) to its
 * endpoint in one sendmmsg: a client with several requests in flight
 * pays one system call per run, not one per datagram.  A flow closed
 * while its run was gathered (its endpoint gone: sp NULL or no socket)
 * drops the run, as UDP may.  A PROXY header is the first of each
 * datagram's two iovecs (relay_udp_input): it is not the client's, so
 * it is not counted in bytes up; a datagram it makes too large for UDP
 * is dropped alone.
 */
static void
relay_udp_up(struct relay_udp_flow *fl, struct mmsghdr *m, int n)
{
	int i, k, sent = 0;

	if (fl->sp == NULL || fl->fd == -1)
		return;
	while (sent < n) {
		k = sendmmsg(fl->fd, m + sent, (unsigned)(n - sent),
		    MSG_DONTWAIT);
		if (k == -1 && errno == EMSGSIZE) {
			sent++;
			continue;
		}
		if (k <= 0)
			break;	/* full or refused: UDP may drop */
		for (i = sent; i < sent + k; i++) {
			fl->dg[0]++;
			fl->bytes[0] += m[i].msg_len - fl->pplen;
		}
		fl->requests += (uint64_t)k;
		sent += k;
	}
	udp_flow_touch(&fl->w->tab, &fl->f, relay_udp_now(fl->w));
}

/*
 * Count the batch's n touched flows into the metrics.  A flow closed
 * in the batch was counted by its close (its struct stays on the free
 * list, sp NULL, or serves a new flow, whose count is then simply
 * current): nothing is counted twice.
 */
static void
relay_udp_flush(struct relay_udp_wrk *w, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (w->touched[i]->sp != NULL)
			relay_udp_count(w->touched[i]);
}

void
relay_udp_input(struct relay_udp_wrk *w, int lfd,
    const struct sockaddr_storage *lsa, struct snap *cur,
    const struct snap_lsn *sl)
{
	struct relay_udp_flow	*fl;
	struct sockaddr_storage	 local;
	struct relay_udp_flow	*run;
	struct msghdr		*mh;
	int			 i, n, round, ntouched, first = 0;

	for (round = 0; round < RELAY_UDP_ROUNDS; round++) {
		ntouched = 0;
		w->batch++;
		for (i = 0; i < RELAY_UDP_BATCH; i++) {
			mh = &w->msgs[i].msg_hdr;
			/* iov[2i]: room for a PROXY header, iov[2i + 1]:
			   the datagram. */
			w->iov[2 * i + 1].iov_base = w->buf + (size_t)i *
			    RELAY_UDP_DGRAM_MAX;
			w->iov[2 * i + 1].iov_len = RELAY_UDP_DGRAM_MAX;
			memset(mh, 0, sizeof(*mh));
			mh->msg_iov = &w->iov[2 * i + 1];
			mh->msg_iovlen = 1;
			mh->msg_name = &w->names[i];
			mh->msg_namelen = sizeof(w->names[i]);
			mh->msg_control = w->ctl + (size_t)i * RELAY_UDP_CTL;
			mh->msg_controllen = RELAY_UDP_CTL;
		}
		n = recvmmsg(lfd, w->msgs, RELAY_UDP_BATCH, MSG_DONTWAIT,
		    NULL);
		if (n <= 0)
			return;
		run = NULL;
		for (i = 0; i < n && sl != NULL && cur != NULL; i++) {
			mh = &w->msgs[i].msg_hdr;
			relay_udp_local(mh, lsa, &local);
			fl = relay_udp_flow(w, lfd, &w->names[i],
			    mh->msg_namelen, &local, cur, sl);
			if (run != NULL && fl != run) {
				relay_udp_up(run, w->msgs + first, i - first);
				run = NULL;
			}
			if (fl == NULL)
				continue;
			/* Sent on the flow's connected socket: no address,
			   no packet info, the datagram's own length, after
			   the flow's PROXY header if it has one (its own
			   iovec: the payload is not copied). */
			w->iov[2 * i + 1].iov_len = w->msgs[i].msg_len;
			memset(mh, 0, sizeof(*mh));
			mh->msg_iov = &w->iov[2 * i + 1];
			mh->msg_iovlen = 1;
			if (fl->pplen != 0) {
				w->iov[2 * i].iov_base = fl->pp;
				w->iov[2 * i].iov_len = fl->pplen;
				mh->msg_iov = &w->iov[2 * i];
				mh->msg_iovlen = 2;
			}
			if (run == NULL) {
				run = fl;
				first = i;
			}
			if (fl->batch != w->batch) {
				fl->batch = w->batch;
				w->touched[ntouched++] = fl;
			}
		}
		if (run != NULL)
			relay_udp_up(run, w->msgs + first, i - first);
		relay_udp_flush(w, ntouched);
		if (n < RELAY_UDP_BATCH)
			return;
	}
}

/* ---- setup ---- */

/* The table's hash seed: unknown to clients, who choose their ports. */
static uint64_t
relay_udp_seed(const struct relay_udp_wrk *w)
{
	uint64_t seed = 0;

	if (getentropy(&seed, sizeof(seed)) == -1)
		seed = (uint64_t)(uintptr_t)w ^ (uint64_t)time(NULL);
	return seed;
}

int
relay_udp_wrk_init(struct relay_udp_wrk *w)
{
	w->free = NULL;
	w->nalloc = 0;
	log_rl_init(&w->rl, RELAY_UDP_LOG_BURST, RELAY_UDP_LOG_PERIOD_MS);
	evtimer_assign(&w->sweep_ev, w->base, relay_udp_sweep_cb, w);
	if (w->max_flows == 0)
		w->max_flows = RELAY_UDP_FLOWS_DEFAULT;
	w->msgs = calloc(RELAY_UDP_BATCH, sizeof(*w->msgs));
	w->iov = calloc(2 * RELAY_UDP_BATCH, sizeof(*w->iov));
	w->names = calloc(RELAY_UDP_BATCH, sizeof(*w->names));
	w->ctl = calloc(RELAY_UDP_BATCH, RELAY_UDP_CTL);
	w->buf = malloc((size_t)RELAY_UDP_BATCH * RELAY_UDP_DGRAM_MAX);
	w->touched = calloc(RELAY_UDP_BATCH, sizeof(*w->touched));
	if (w->msgs == NULL || w->touched == NULL || w->iov == NULL ||
	    w->names == NULL || w->ctl == NULL || w->buf == NULL ||
	    udp_flow_tab_init(&w->tab, w->max_flows, relay_udp_seed(w)) ==
	    -1) {
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

void
relay_udp_wrk_free(struct relay_udp_wrk *w)
{
	struct relay_udp_flow *fl;

	if (w->base != NULL && event_initialized(&w->sweep_ev))
		event_del(&w->sweep_ev);
	while ((fl = w->free) != NULL) {
		w->free = fl->next;
		free(fl);
	}
	udp_flow_tab_free(&w->tab);
	free(w->msgs);
	free(w->iov);
	free(w->names);
	free(w->ctl);
	free(w->buf);
	free(w->touched);
	w->touched = NULL;
	w->msgs = NULL;
	w->iov = NULL;
	w->names = NULL;
	w->ctl = NULL;
	w->buf = NULL;
	if (w->base != NULL)
		log_rl_destroy(&w->rl);
}
