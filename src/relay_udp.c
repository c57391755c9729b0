#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "metrics.h"
#include "netaddr.h"
#include "relay_udp.h"

/* Control room for one IPv4 or IPv6 packet info message. */
#define RELAY_UDP_CTL	CMSG_SPACE(sizeof(struct in6_pktinfo))

#define RELAY_UDP_LOG_BURST	3
#define RELAY_UDP_LOG_PERIOD_MS	10000

struct relay_udp_flow {
	struct udp_flow		 f;		/* first: the table's */
	struct poll_item	 pi;		/* in w->poll */
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
};

#define FLOW_OF(pi)	((struct relay_udp_flow *)((char *)(pi) - \
	offsetof(struct relay_udp_flow, pi)))

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
		poller_forget(&fl->w->poll, &fl->pi, 0);
		close(fl->fd);
		fl->fd = -1;
	}
	if (fl->ep != NULL)
		lb_release(&fl->sp->lb, fl->ep);
	fl->ep = NULL;
}

/* Flush fl's counters into its Service port's metrics. */
static void
relay_udp_count(struct relay_udp_flow *fl)
{
	unsigned id = fl->w->id;

	MET_PORT_ADD(fl->sp, id, udp_dgrams_up, fl->dg[0]);
	MET_PORT_ADD(fl->sp, id, udp_dgrams_down, fl->dg[1]);
	MET_PORT_ADD(fl->sp, id, bytes_up, fl->bytes[0]);
	MET_PORT_ADD(fl->sp, id, bytes_down, fl->bytes[1]);
	fl->dg[0] = fl->dg[1] = fl->bytes[0] = fl->bytes[1] = 0;
}

/* End fl: log, count, back to the free list; fl is gone afterwards. */
static void
relay_udp_close(struct relay_udp_flow *fl, const char *reason)
{
	struct relay_udp_wrk *w = fl->w;

	relay_udp_log(fl, reason);
	poller_rerun_drop(&w->poll, &fl->pi);
	relay_udp_unbind(fl);
	relay_udp_count(fl);
	MET_PORT_ADD(fl->sp, w->id, udp_flows_closed, 1);
	if (strcmp(reason, "idle") == 0)
		MET_PORT_ADD(fl->sp, w->id, udp_flows_expired, 1);
	udp_flow_remove(&w->tab, &fl->f);
	snap_unref(fl->snap);
	fl->snap = NULL;
	fl->sp = NULL;
	fl->next = w->free;
	w->free = fl;
}

void
relay_udp_close_all(struct relay_udp_wrk *w)
{
	while (w->tab.ihead != NULL)
		relay_udp_close((struct relay_udp_flow *)w->tab.ihead,
		    "shutdown");
}

void
relay_udp_lsn_closed(struct relay_udp_wrk *w, int lfd)
{
	struct udp_flow *f, *next;

	for (f = w->tab.ihead; f != NULL; f = next) {
		next = f->inext;
		if (((struct relay_udp_flow *)f)->lfd == lfd)
			relay_udp_close((struct relay_udp_flow *)f,
			    "listener-closed");
	}
}

/* ---- expiry ---- */

static void
relay_udp_sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct relay_udp_wrk	*w = arg;
	struct udp_flow		*f;
	struct timeval		 tv = { 0, RELAY_UDP_SWEEP_MS * 1000 };
	uint64_t		 now = relay_udp_now(w);

	(void)fd;
	(void)what;
	while ((f = udp_flow_expired(&w->tab, now, w->idle_ms)) != NULL)
		relay_udp_close((struct relay_udp_flow *)f, "idle");
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
 * Move what fl's endpoint sent to its client, a batch at a time.
 * 1: drained (EAGAIN), 0: gave way after RELAY_UDP_ROUNDS.
 */
static int
relay_udp_replies(struct relay_udp_flow *fl)
{
	struct relay_udp_wrk	*w = fl->w;
	socklen_t		 clen;
	int			 i, n, sent, round;

	clen = relay_udp_pktinfo(fl, w->ctl);
	for (round = 0; round < RELAY_UDP_ROUNDS; round++) {
		for (i = 0; i < RELAY_UDP_BATCH; i++) {
			w->iov[i].iov_base = w->buf + (size_t)i *
			    RELAY_UDP_DGRAM_MAX;
			w->iov[i].iov_len = RELAY_UDP_DGRAM_MAX;
			memset(&w->msgs[i].msg_hdr, 0,
			    sizeof(w->msgs[i].msg_hdr));
			w->msgs[i].msg_hdr.msg_iov = &w->iov[i];
			w->msgs[i].msg_hdr.msg_iovlen = 1;
		}
		n = recvmmsg(fl->fd, w->msgs, RELAY_UDP_BATCH, MSG_DONTWAIT,
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
		udp_flow_touch(&w->tab, &fl->f, relay_udp_now(w));
		if (n < RELAY_UDP_BATCH)
			return 1;
	}
	return 0;
}

static void
relay_udp_on_event(struct poll_item *pi, int side, uint32_t ev)
{
	struct relay_udp_flow *fl = FLOW_OF(pi);

	(void)side;
	if ((ev & (EPOLLIN | EPOLLERR)) && fl->fd != -1 &&
	    !relay_udp_replies(fl))
		poller_rerun_later(&fl->w->poll, &fl->pi);
}

static void
relay_udp_on_rerun(struct poll_item *pi)
{
	struct relay_udp_flow *fl = FLOW_OF(pi);

	if (fl->fd != -1 && !relay_udp_replies(fl))
		poller_rerun_later(&fl->w->poll, &fl->pi);
}

/* ---- choosing an endpoint ---- */

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

/* lb_flow's allow, as relay.c's relay_allow. */
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
			if (poller_add(&w->poll, fd, &fl->pi, 0) == 0)
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
		}
		snap_unref(fl->snap);
		fl->snap = snap_ref(cur);
		fl->sp = sl->sp;
		relay_udp_client(fl, cur);
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

/* A new flow for k from a free struct, or NULL at the bound. */
static struct relay_udp_flow *
relay_udp_alloc(struct relay_udp_wrk *w)
{
	struct relay_udp_flow *fl;

	if (udp_flow_full(&w->tab))
		return NULL;
	if ((fl = w->free) != NULL)
		w->free = fl->next;
	else if ((fl = malloc(sizeof(*fl))) != NULL)
		w->nalloc++;
	else
		return NULL;
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
	if ((fl = relay_udp_alloc(w)) == NULL) {
		MET_PORT_ADD(sl->sp, w->id, udp_flows_limited, 1);
		log_rl_msg(&w->rl, LOG_LEVEL_WARN, "worker %u: %zu UDP flows "
		    "(the bound): new flows to %s dropped", w->id, w->tab.n,
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
	udp_flow_insert(&w->tab, &fl->f, fl->start_ms);
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

void
relay_udp_input(struct relay_udp_wrk *w, int lfd,
    const struct sockaddr_storage *lsa, struct snap *cur,
    const struct snap_lsn *sl)
{
	struct relay_udp_flow	*fl;
	struct sockaddr_storage	 local;
	struct msghdr		*mh;
	ssize_t			 r;
	int			 i, n, round;

	if (cur != NULL)
		w->idle_ms = cur->udp_idle_timeout_ms;
	for (round = 0; round < RELAY_UDP_ROUNDS; round++) {
		for (i = 0; i < RELAY_UDP_BATCH; i++) {
			mh = &w->msgs[i].msg_hdr;
			w->iov[i].iov_base = w->buf + (size_t)i *
			    RELAY_UDP_DGRAM_MAX;
			w->iov[i].iov_len = RELAY_UDP_DGRAM_MAX;
			memset(mh, 0, sizeof(*mh));
			mh->msg_iov = &w->iov[i];
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
		for (i = 0; i < n && sl != NULL && cur != NULL; i++) {
			mh = &w->msgs[i].msg_hdr;
			relay_udp_local(mh, lsa, &local);
			fl = relay_udp_flow(w, lfd, &w->names[i],
			    mh->msg_namelen, &local, cur, sl);
			if (fl == NULL)
				continue;
			r = send(fl->fd, w->iov[i].iov_base,
			    w->msgs[i].msg_len, MSG_DONTWAIT);
			if (r >= 0) {
				fl->dg[0]++;
				fl->bytes[0] += (uint64_t)r;
			}
			udp_flow_touch(&w->tab, &fl->f, relay_udp_now(w));
		}
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
	w->idle_ms = PCFG_DEFAULT_UDP_IDLE_TIMEOUT_MS;
	log_rl_init(&w->rl, RELAY_UDP_LOG_BURST, RELAY_UDP_LOG_PERIOD_MS);
	evtimer_assign(&w->sweep_ev, w->base, relay_udp_sweep_cb, w);
	if (w->max_flows == 0)
		w->max_flows = RELAY_UDP_FLOWS_DEFAULT;
	w->msgs = calloc(RELAY_UDP_BATCH, sizeof(*w->msgs));
	w->iov = calloc(RELAY_UDP_BATCH, sizeof(*w->iov));
	w->names = calloc(RELAY_UDP_BATCH, sizeof(*w->names));
	w->ctl = calloc(RELAY_UDP_BATCH, RELAY_UDP_CTL);
	w->buf = malloc((size_t)RELAY_UDP_BATCH * RELAY_UDP_DGRAM_MAX);
	if (w->msgs == NULL || w->iov == NULL || w->names == NULL ||
	    w->ctl == NULL || w->buf == NULL ||
	    udp_flow_tab_init(&w->tab, w->max_flows, relay_udp_seed(w)) ==
	    -1) {
		errno = ENOMEM;
		return -1;
	}
	return poller_init(&w->poll, w->base, relay_udp_on_event,
	    relay_udp_on_rerun);
}

void
relay_udp_wrk_free(struct relay_udp_wrk *w)
{
	struct relay_udp_flow *fl;

	if (w->base != NULL && event_initialized(&w->sweep_ev))
		event_del(&w->sweep_ev);
	poller_free(&w->poll);
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
	w->msgs = NULL;
	w->iov = NULL;
	w->names = NULL;
	w->ctl = NULL;
	w->buf = NULL;
	if (w->base != NULL)
		log_rl_destroy(&w->rl);
}
