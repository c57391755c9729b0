/*
 * worker_accept: a worker's way in, from a ready listener to a relay:
 * the snapshot it serves under (refreshed on the way), the group's fd
 * budget and the connection limits, a listener paused at a limit (the
 * connection waits in the kernel's queue) or every listener when out
 * of fds, accept and the hand-over to relay_start, a UDP listener's
 * datagrams to relay_udp, and what a closed connection or flow resumes
 * or ends.  It calls nothing in worker.c (the worker's lifecycle),
 * which installs its callbacks.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <sys/epoll.h>
#include <sys/socket.h>

#include "log.h"
#include "metrics.h"
#include "relay.h"
#include "worker.h"
#include "worker_int.h"

/* Ready shared listeners taken per wake-up of the worker's set. */
#define WRK_SHARED_BATCH	32

/*
 * Move w's reference to the published snapshot if it changed, and have
 * the new one's NetworkPolicies re-judge w's connections.  Closing one
 * there can come back here (wrk_conn_closed, wrk_resume): the walk is
 * not re-entered; a snapshot published meanwhile is taken next time.
 */
void
wrk_snap_update(struct wrk *w)
{
	struct snap *s, *old = w->snap;

	if (w->rechecking || snap_slot_peek(w->grp->slot) == old)
		return;
	s = snap_slot_acquire(w->grp->slot);
	w->snap = s;
	if (s != NULL && old != NULL && s != old) {
		w->rechecking = 1;
		relay_recheck(&w->relay, s);
		w->rechecking = 0;
	}
	snap_unref(old);
}

/*
 * The snapshot listener l serves now, or NULL if the current snapshot
 * no longer has it.  Loads the published pointer on every call (cheap
 * when unchanged) and moves the worker's reference when it changed.
 */
const struct snap_lsn *
wrk_lookup(struct wrk *w, struct lsn *l)
{
	wrk_snap_update(w);
	if (w->snap == NULL)
		return NULL;
	if (l->cache_gen != w->snap->gen) {
		l->cache_lsn = snap_find_lsn(w->snap, &l->addr, l->port,
		    l->proto);
		l->cache_gen = w->snap->gen;
	}
	return l->cache_lsn;
}

/* n fds of the group's budget (worker-t.h), or 0 when that would pass it. */
static int
wrk_fd_take(struct wrk_group *g, uint64_t n)
{
	return fd_budget_take(&g->fds, &g->fd_cap, n, &g->fd_waited);
}

static void
wrk_fd_give(struct wrk_group *g, uint64_t n)
{
	fd_budget_give(&g->fds, n);
}

/* Is a new connection for sp over the global or the Service's limit? */
static int
wrk_at_limit(const struct wrk *w, const struct snap_port *sp)
{
	struct wrk_group *g = w->grp;
	uint32_t max = sp->svc->max_connections;
	uint32_t all = atomic_load_explicit(&g->max_conns,
	    memory_order_relaxed);

	if (all != 0 && atomic_load_explicit(&g->active,
	    memory_order_relaxed) >= all)
		return 1;
	if (g->fd_cap != 0 && atomic_load_explicit(&g->fds,
	    memory_order_relaxed) + 2 > g->fd_cap)
		return 1;
	return max != 0 && atomic_load_explicit(&sp->svc->live->active,
	    memory_order_relaxed) >= max;
}

/*
 * A slot for one more connection on sp (relay_reserve) and its two
 * fds, or 0.  wrk_unreserve gives both back when the accept failed.
 */
static int
wrk_reserve(struct wrk *w, const struct snap_port *sp)
{
	if (!wrk_fd_take(w->grp, 2))
		return 0;
	if (relay_reserve(&w->relay, sp, atomic_load_explicit(
	    &w->grp->max_conns, memory_order_relaxed)))
		return 1;
	wrk_fd_give(w->grp, 2);
	return 0;
}

static void
wrk_unreserve(struct wrk *w, const struct snap_port *sp)
{
	relay_unreserve(&w->relay, sp);
	wrk_fd_give(w->grp, 2);
}

void
wrk_lsn_on(struct lsn *l, int on)
{
	if (l->fd != -1 && l->sh != NULL) {
		wrk_lsn_on_shared(l, on);
		return;
	}
	/* A listener lsn_accept_event refused (not TCP) has no event. */
	if (l->fd == -1 || !event_initialized(&l->ev))
		return;
	if (on && !l->on)
		event_add(&l->ev, NULL);
	else if (!on && l->on)
		event_del(&l->ev);
	l->on = on != 0;
}

static void
wrk_pause_timer(struct wrk *w)
{
	struct timeval tv = { 0, WRK_PAUSE_MS * 1000 };

	if (!event_pending(&w->pause_ev, EV_TIMEOUT, NULL))
		event_add(&w->pause_ev, &tv);
}

/*
 * Stop accepting on l until its limit clears: the connection waits in
 * the kernel's queue (back-pressure) instead of being accepted and
 * dropped.  A close of our own resumes it at once; the timer catches
 * closes on other workers.
 */
static void
wrk_pause_lsn(struct wrk *w, struct lsn *l)
{
	wrk_lsn_on(l, 0);
	if (!l->paused) {
		l->paused = 1;
		w->npaused++;
		WRK_STAT_ADD(&w->stats, accept_paused, 1);
		if (l->cache_lsn != NULL)
			MET_PORT_ADD(l->cache_lsn->sp, w->id, limited, 1);
	}
	wrk_pause_timer(w);
}

static void
wrk_resume(struct wrk *w)
{
	const struct snap_lsn	*sl;
	struct lsn		*l;
	size_t			 i;

	for (i = 0; i < w->lsns.n && w->npaused > 0; i++) {
		l = &w->lsns.v[i];
		if (!l->paused)
			continue;
		sl = wrk_lookup(w, l);
		if (sl != NULL && wrk_at_limit(w, sl->sp))
			continue;
		l->paused = 0;
		w->npaused--;
		if (!w->emfile_paused)
			wrk_lsn_on(l, 1);
	}
	if (w->npaused > 0)
		wrk_pause_timer(w);
}

void
wrk_pause_cb(evutil_socket_t fd, short what, void *arg)
{
	struct wrk	*w = arg;
	size_t		 i;

	(void)fd;
	(void)what;
	if (w->draining)
		return;
	if (w->emfile_paused) {
		w->emfile_paused = 0;
		for (i = 0; i < w->lsns.n; i++)
			if (!w->lsns.v[i].paused)
				wrk_lsn_on(&w->lsns.v[i], 1);
	}
	wrk_resume(w);
}

/* Out of fds: stop every accept for a while instead of spinning. */
static void
wrk_pause_all(struct wrk *w, int err)
{
	size_t i;

	/* Every WRK_PAUSE_MS for as long as the fds stay short: limited. */
	log_rl_msg(&w->rl, LOG_LEVEL_WARN, "worker %u: accept: %s; pausing "
	    "accepts for %d ms", w->id, strerror(err), WRK_PAUSE_MS);
	w->emfile_paused = 1;
	for (i = 0; i < w->lsns.n; i++)
		wrk_lsn_on(&w->lsns.v[i], 0);
	WRK_STAT_ADD(&w->stats, accept_paused, 1);
	wrk_pause_timer(w);
}

/*
 * The accepted cfd to a relay under the current snapshot, or reset when
 * a reload dropped its address (sl NULL).
 */
void
wrk_serve(struct wrk *w, const struct snap_lsn *sl, int cfd,
    const struct sockaddr_storage *ss, socklen_t len)
{
	uint64_t started;

	if (sl == NULL) {
		relay_close_rst(cfd);
		return;
	}
	/*
	 * The connection's two fds go back in wrk_conn_closed, which relay
	 * calls once for every connection it started (counted as
	 * accepted); one it could not start (out of memory) gives them
	 * back here.
	 */
	started = atomic_load_explicit(&w->stats.accepted,
	    memory_order_relaxed);
	relay_start(&w->relay, cfd, (const struct sockaddr *)ss, len,
	    snap_ref(w->snap), sl);
	if (atomic_load_explicit(&w->stats.accepted, memory_order_relaxed) ==
	    started)
		wrk_fd_give(w->grp, 2);
}

/* A UDP listener is readable: its datagrams to relay_udp. */
static void
wrk_udp_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lsn		*l = arg;
	struct wrk		*w = l->w;
	const struct snap_lsn	*sl;
	size_t			 max;

	(void)what;
	sl = wrk_lookup(w, l);
	/*
	 * The table's own bound is memory's (w->udp.max_flows); the fds
	 * are the budget's, read per flow, so a reload that raises it
	 * admits more flows at once.  (The bound was the startup budget,
	 * which refused flows below a budget a reload had raised.)
	 * udpMaxFlows is for the whole process: each worker's share.
	 */
	max = w->udp.max_flows;
	if (w->snap != NULL && w->snap->udp_max_flows != 0 &&
	    (w->snap->udp_max_flows + w->grp->n - 1) / w->grp->n < max)
		max = (w->snap->udp_max_flows + w->grp->n - 1) / w->grp->n;
	w->udp.tab.max = max;
	relay_udp_input(&w->udp, fd, &l->sa, w->snap, sl);
}

static void	wrk_accept_cb(evutil_socket_t, short, void *);

/*
 * l's event: accept for TCP, datagrams for UDP.  0, or -1.  A shared
 * listener has none: w's own set watches it (wrk_lsn_on_shared).
 */
int
wrk_lsn_event(struct wrk *w, struct lsn *l)
{
	if (l->sh != NULL) {
		memset(&l->ev, 0, sizeof(l->ev));
		return 0;
	}
	return lsn_accept_event(l, w->base, l->proto == PROTO_UDP ?
	    wrk_udp_cb : wrk_accept_cb);
}

/*
 * w's set of shared listeners is readable: accept on each ready one,
 * as its own event would.  The set holds lsn_shared pointers, which do
 * not move; the worker's struct lsn is its slot there.
 */
void
wrk_shared_cb(evutil_socket_t fd, short what, void *arg)
{
	struct wrk		*w = arg;
	struct epoll_event	 ev[WRK_SHARED_BATCH];
	struct lsn_shared	*sh;
	struct lsn		*l;
	uint64_t		 before;
	int			 i, n;

	(void)fd;
	(void)what;
	if ((n = epoll_wait(w->lsn_epfd, ev, WRK_SHARED_BATCH, 0)) == -1)
		return;
	before = atomic_load_explicit(&w->stats.accepted,
	    memory_order_relaxed);
	for (i = 0; i < n; i++) {
		sh = ev[i].data.ptr;
		if ((l = sh->slot[w->id]) != NULL && l->on)
			wrk_accept_cb(l->fd, EV_READ, l);
	}
	/* How often another worker took what woke this one (/status). */
	WRK_STAT_ADD(w, lsn_wakeups, 1);
	if (atomic_load_explicit(&w->stats.accepted, memory_order_relaxed) ==
	    before)
		WRK_STAT_ADD(w, lsn_idle, 1);
}

static void
wrk_accept_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lsn		*l = arg;
	struct wrk		*w = l->w;
	const struct snap_lsn	*sl;
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	int			 cfd, i;

	(void)what;
	for (i = 0; i < WRK_ACCEPT_BATCH; i++) {
		sl = wrk_lookup(w, l);
		if (sl != NULL && !wrk_reserve(w, sl->sp)) {
			wrk_pause_lsn(w, l);
			return;
		}
		len = sizeof(ss);
		cfd = accept4(fd, (struct sockaddr *)&ss, &len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd == -1 && sl != NULL)
			wrk_unreserve(w, sl->sp);
		if (cfd == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM)
				wrk_pause_all(w, errno);
			else if (errno != EAGAIN)
				log_warn("worker %u: accept on %s: %s", w->id,
				    l->name, strerror(errno));
			return;
		}
		wrk_serve(w, sl, cfd, &ss, len);
	}
}

/*
 * Close the listeners: new connections are refused from now on.  With
 * keep_udp (a drain), a UDP listener only leaves the loop: its socket
 * stays open until the worker exits, because its flows send their
 * replies through it (from the address each client sent to) until they
 * are idle.  After an upgrade the new process reads that same socket
 * (inherited), so nothing sent to the port is left unread meanwhile.
 */
void
wrk_close_listeners(struct wrk *w, int keep_udp)
{
	size_t i;

	for (i = 0; i < w->lsns.n; i++) {
		wrk_lsn_on(&w->lsns.v[i], 0);
		if (keep_udp && w->lsns.v[i].proto == PROTO_UDP)
			continue;
		if (w->lsns.v[i].fd != -1 && w->lsns.v[i].sh != NULL)
			wrk_lsn_unshare(w, &w->lsns.v[i]);
		if (w->lsns.v[i].fd != -1) {
			relay_udp_lsn_closed(&w->udp, w->lsns.v[i].fd);
			close(w->lsns.v[i].fd);
			w->lsns.v[i].fd = -1;
		}
		w->lsns.v[i].paused = 0;
	}
	w->npaused = 0;
	if (event_initialized(&w->pause_ev))
		event_del(&w->pause_ev);
}

/* Has a draining worker nothing left to finish? */
int
wrk_drained(const struct wrk *w)
{
	return w->relay.live == NULL && relay_udp_nflows(&w->udp) == 0;
}

/*
 * relay_udp's closed: a flow of w closed; end the drain.  Nothing
 * else: it runs inside relay_udp_input, whose snapshot must not move.
 */
void
wrk_udp_closed(void *arg)
{
	struct wrk *w = arg;

	if (w->draining && wrk_drained(w))
		event_base_loopbreak(w->base);
}

/*
 * relay's closed: a connection of w closed; its fds back to the
 * budget, resume accepts, end the drain.
 */
void
wrk_conn_closed(void *arg)
{
	struct wrk *w = arg;

	wrk_fd_give(w->grp, 2);
	if (w->draining) {
		if (wrk_drained(w))
			event_base_loopbreak(w->base);
		return;
	}
	if (w->npaused > 0)
		wrk_resume(w);
}
