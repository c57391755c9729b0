#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/eventfd.h>
#include <sys/socket.h>

#include "log.h"
#include "metrics.h"
#include "relay.h"
#include "worker.h"

uint64_t
wrk_now_ms(struct wrk *w)
{
	struct timeval tv;

	event_base_gettimeofday_cached(w->base, &tv);
	return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

/*
 * Move w's reference to the published snapshot if it changed, and have
 * the new one's NetworkPolicies re-judge w's connections.  Closing one
 * there can come back here (wrk_conn_closed, wrk_resume): the walk is
 * not re-entered; a snapshot published meanwhile is taken next time.
 */
static void
wrk_snap_update(struct wrk *w)
{
	struct snap *s, *old = w->snap;

	if (w->rechecking || snap_slot_peek(w->grp->slot) == old)
		return;
	s = snap_slot_acquire(w->grp->slot);
	w->snap = s;
	if (s != NULL && old != NULL && s != old) {
		w->rechecking = 1;
		relay_recheck(w, s);
		w->rechecking = 0;
	}
	snap_unref(old);
}

/*
 * The snapshot listener l serves now, or NULL if the current snapshot
 * no longer has it.  Loads the published pointer on every call (cheap
 * when unchanged) and moves the worker's reference when it changed.
 */
static const struct snap_lsn *
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
	return max != 0 && atomic_load_explicit(&sp->svc->live->active,
	    memory_order_relaxed) >= max;
}

static void
wrk_lsn_on(struct lsn *l, int on)
{
	if (l->fd == -1)
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
		WRK_STAT_ADD(w, accept_paused, 1);
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

static void
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

	log_warn("worker %u: accept: %s; pausing accepts for %d ms", w->id,
	    strerror(err), WRK_PAUSE_MS);
	w->emfile_paused = 1;
	for (i = 0; i < w->lsns.n; i++)
		wrk_lsn_on(&w->lsns.v[i], 0);
	WRK_STAT_ADD(w, accept_paused, 1);
	wrk_pause_timer(w);
}

/*
 * The accepted cfd to a relay under the current snapshot, or reset when
 * a reload dropped its address (sl NULL).
 */
static void
wrk_serve(struct wrk *w, const struct snap_lsn *sl, int cfd,
    const struct sockaddr_storage *ss, socklen_t len)
{
	if (sl == NULL) {
		relay_close_rst(cfd);
		return;
	}
	relay_start(w, cfd, (const struct sockaddr *)ss, len,
	    snap_ref(w->snap), sl);
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
		if (sl != NULL && wrk_at_limit(w, sl->sp)) {
			wrk_pause_lsn(w, l);
			return;
		}
		len = sizeof(ss);
		cfd = accept4(fd, (struct sockaddr *)&ss, &len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
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

/* Close the listeners: new connections are refused from now on. */
static void
wrk_close_listeners(struct wrk *w)
{
	size_t i;

	for (i = 0; i < w->lsns.n; i++) {
		wrk_lsn_on(&w->lsns.v[i], 0);
		if (w->lsns.v[i].fd != -1) {
			close(w->lsns.v[i].fd);
			w->lsns.v[i].fd = -1;
		}
		w->lsns.v[i].paused = 0;
	}
	w->npaused = 0;
	if (event_initialized(&w->pause_ev))
		event_del(&w->pause_ev);
}

void
wrk_conn_closed(struct wrk *w)
{
	if (w->draining) {
		if (w->live == NULL)
			event_base_loopbreak(w->base);
		return;
	}
	if (w->npaused > 0)
		wrk_resume(w);
}

static void	wrk_lsn_apply(struct wrk *);

static void
wrk_notify_cb(evutil_socket_t fd, short what, void *arg)
{
	struct wrk	*w = arg;
	uint64_t	 v;

	(void)what;
	if (read(fd, &v, sizeof(v)) == -1 && errno != EAGAIN)
		log_warn("worker %u: eventfd: %s", w->id, strerror(errno));
	wrk_lsn_apply(w);
	switch (atomic_load(&w->cmd)) {
	case WRK_RUN:
		/* A new snapshot: move our reference now, not on accept. */
		wrk_snap_update(w);
		break;
	case WRK_DRAIN:
		if (!w->draining) {
			w->draining = 1;
			wrk_close_listeners(w);
		}
		if (w->live == NULL)
			event_base_loopbreak(w->base);
		break;
	case WRK_STOP:
		w->draining = 1;
		wrk_close_listeners(w);
		relay_close_all(w);
		event_base_loopbreak(w->base);
		break;
	}
}

static void *
wrk_main(void *arg)
{
	struct wrk	*w = arg;
	uint64_t	 one = 1;
	size_t		 i;
	char		 name[16];

	snprintf(name, sizeof(name), "svcproxy-w%u", w->id);
	(void)pthread_setname_np(pthread_self(), name);
	for (i = 0; i < w->lsns.n; i++)
		wrk_lsn_on(&w->lsns.v[i], 1);
	event_base_dispatch(w->base);
	wrk_close_listeners(w);
	relay_close_all(w);
	event_del(&w->notify_ev);
	snap_unref(w->snap);
	w->snap = NULL;
	atomic_store(&w->exited, 1);
	if (write(w->grp->done_fd, &one, sizeof(one)) == -1)
		log_warn("worker %u: eventfd: %s", w->id, strerror(errno));
	return NULL;
}

int
wrk_init(struct wrk *w, struct wrk_group *g, unsigned id,
    struct lsn_group *lsns, char *err, size_t errlen)
{
	struct event_config	*cfg;
	size_t			 i;

	memset(w, 0, sizeof(*w));
	w->id = id;
	w->grp = g;
	w->notify_fd = -1;
	w->rpoll_fd = -1;
	w->lsns = *lsns;
	memset(lsns, 0, sizeof(*lsns));
	atomic_init(&w->cmd, WRK_RUN);
	atomic_init(&w->exited, 0);
	if ((cfg = event_config_new()) == NULL)
		goto oom;
	/* One thread per base: no locks; batch epoll_ctl changes. */
	event_config_set_flag(cfg, EVENT_BASE_FLAG_NOLOCK |
	    EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	w->base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	if (w->base == NULL) {
		snprintf(err, errlen, "worker %u: cannot create event base",
		    id);
		return -1;
	}
	if ((w->notify_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1) {
		snprintf(err, errlen, "worker %u: eventfd: %s", id,
		    strerror(errno));
		return -1;
	}
	if ((w->pipes = calloc(g->max_pipes + 1, sizeof(*w->pipes))) == NULL ||
	    (w->bufs = calloc(WRK_FREE_BUFS_MAX, sizeof(*w->bufs))) == NULL)
		goto oom;
	if (relay_poll_init(w) == -1) {
		snprintf(err, errlen, "worker %u: epoll: %s", id,
		    strerror(errno));
		return -1;
	}
	event_assign(&w->notify_ev, w->base, w->notify_fd,
	    EV_READ | EV_PERSIST, wrk_notify_cb, w);
	event_add(&w->notify_ev, NULL);
	evtimer_assign(&w->pause_ev, w->base, wrk_pause_cb, w);
	for (i = 0; i < w->lsns.n; i++) {
		w->lsns.v[i].w = w;
		event_assign(&w->lsns.v[i].ev, w->base, w->lsns.v[i].fd,
		    EV_READ | EV_PERSIST, wrk_accept_cb, &w->lsns.v[i]);
	}
	return 0;
oom:
	snprintf(err, errlen, "worker %u: out of memory", id);
	return -1;
}

int
wrk_start(struct wrk *w)
{
	int rc;

	if ((rc = pthread_create(&w->thr, NULL, wrk_main, w)) != 0) {
		errno = rc;
		return -1;
	}
	w->started = 1;
	return 0;
}

void
wrk_command(struct wrk *w, enum wrk_cmd cmd)
{
	uint64_t one = 1;

	atomic_store(&w->cmd, (int)cmd);
	if (write(w->notify_fd, &one, sizeof(one)) == -1)
		log_warn("worker %u: eventfd: %s", w->id, strerror(errno));
}

void
wrk_free(struct wrk *w)
{
	if (w->started)
		pthread_join(w->thr, NULL);
	w->started = 0;
	if (w->base != NULL) {
		if (event_initialized(&w->notify_ev))
			event_del(&w->notify_ev);
		if (event_initialized(&w->pause_ev))
			event_del(&w->pause_ev);
		relay_poll_free(w);
		event_base_free(w->base);
		w->base = NULL;
	}
	lsn_group_free(&w->lsns);
	lsn_group_free(&w->lq_add);
	free(w->lq_del);
	w->lq_del = NULL;
	relay_pool_free(w);
	free(w->pipes);
	w->pipes = NULL;
	free(w->bufs);
	w->bufs = NULL;
	snap_unref(w->snap);
	w->snap = NULL;
	if (w->notify_fd != -1)
		close(w->notify_fd);
	w->notify_fd = -1;
}

/* ---- listener changes and the reload drain (cmd_run.c's reload) ---- */

#define WRK_SWEEP_MS		250	/* reload drain check while due */
#define WRK_DRAIN_ACCEPT_MAX	65536	/* queued connections per close */

/*
 * l is about to close (a reload dropped its address): accept and serve
 * what is queued on it under the current snapshot, which the main
 * thread publishes only after every worker has done this, so the
 * connections are served as the configuration they reached had it.
 */
static void
wrk_lsn_drain(struct wrk *w, struct lsn *l)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	int			 cfd, i;

	for (i = 0; i < WRK_DRAIN_ACCEPT_MAX; i++) {
		len = sizeof(ss);
		cfd = accept4(l->fd, (struct sockaddr *)&ss, &len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return;
		}
		wrk_serve(w, wrk_lookup(w, l), cfd, &ss, len);
	}
}

static int
wrk_lsn_deleted(const struct lsn *l, const struct sockaddr_storage *del,
    size_t ndel)
{
	size_t i;

	for (i = 0; i < ndel; i++)
		if (lsn_sa_cmp(&l->sa, &del[i]) == 0)
			return 1;
	return 0;
}

static void
wrk_sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct wrk	*w = arg;
	struct timeval	 tv = { 0, WRK_SWEEP_MS * 1000 };

	(void)fd;
	(void)what;
	if (w->draining || w->snap == NULL || w->rechecking)
		return;
	if (relay_sweep(w, w->snap, wrk_now_ms(w)) > 0)
		evtimer_add(&w->sweep_ev, &tv);
}

/* Judge the connections against a new snapshot soon, then while due. */
static void
wrk_sweep_arm(struct wrk *w)
{
	struct timeval tv = { 0, 0 };

	if (w->draining || w->live == NULL)
		return;
	if (!event_initialized(&w->sweep_ev))
		evtimer_assign(&w->sweep_ev, w->base, wrk_sweep_cb, w);
	event_del(&w->sweep_ev);
	evtimer_add(&w->sweep_ev, &tv);
}

/* A new array: every open listener of w, then add; events re-assigned. */
static void
wrk_lsn_rebuild(struct wrk *w, struct lsn_group *add)
{
	struct lsn	*v, *nl;
	size_t		 i, n = 0;
	int		 on;

	if ((v = calloc(w->lsns.n + add->n + 1, sizeof(*v))) == NULL) {
		log_error("worker %u: out of memory: %zu new listeners not "
		    "served", w->id, add->n);
		lsn_group_free(add);
		return;
	}
	for (i = 0; i < w->lsns.n; i++) {
		if (w->lsns.v[i].fd == -1)
			continue;
		on = w->lsns.v[i].on;
		wrk_lsn_on(&w->lsns.v[i], 0);
		nl = &v[n++];
		*nl = w->lsns.v[i];
		event_assign(&nl->ev, w->base, nl->fd, EV_READ | EV_PERSIST,
		    wrk_accept_cb, nl);
		if (on)
			wrk_lsn_on(nl, 1);
	}
	for (i = 0; i < add->n; i++) {
		nl = &v[n];
		*nl = add->v[i];
		add->v[i].fd = -1;
		if (w->draining) {
			close(nl->fd);
			continue;
		}
		n++;
		nl->w = w;
		nl->on = 0;
		event_assign(&nl->ev, w->base, nl->fd, EV_READ | EV_PERSIST,
		    wrk_accept_cb, nl);
		if (!w->emfile_paused)
			wrk_lsn_on(nl, 1);
	}
	free(w->lsns.v);
	w->lsns.v = v;
	w->lsns.n = n;
	lsn_group_free(add);
}

/*
 * Apply the listener changes the main thread queued: close the deleted
 * ones once their queues are served (nothing moves while connections
 * start there), then move the rest and the new ones into a new array,
 * and acknowledge.
 */
static void
wrk_lsn_apply(struct wrk *w)
{
	struct lsn_group	 add;
	struct sockaddr_storage	*del;
	struct lsn		*l;
	size_t			 ndel, i;
	unsigned		 acks;
	uint64_t		 v;

	pthread_mutex_lock(&w->grp->lq_mu);
	add = w->lq_add;
	memset(&w->lq_add, 0, sizeof(w->lq_add));
	del = w->lq_del;
	ndel = w->lq_ndel;
	w->lq_del = NULL;
	w->lq_ndel = 0;
	acks = w->lq_acks;
	w->lq_acks = 0;
	pthread_mutex_unlock(&w->grp->lq_mu);
	for (i = 0; i < w->lsns.n && ndel > 0; i++) {
		l = &w->lsns.v[i];
		if (l->fd == -1 || !wrk_lsn_deleted(l, del, ndel))
			continue;
		wrk_lsn_on(l, 0);
		if (l->paused) {
			l->paused = 0;
			w->npaused--;
		}
		wrk_lsn_drain(w, l);
		close(l->fd);
		l->fd = -1;
	}
	if (ndel > 0 || add.n > 0)
		wrk_lsn_rebuild(w, &add);
	free(del);
	if (acks > 0) {
		v = acks;
		if (write(w->grp->ack_fd, &v, sizeof(v)) == -1)
			log_warn("worker %u: eventfd: %s", w->id,
			    strerror(errno));
	}
	wrk_sweep_arm(w);
}

int
wrk_lsn_change(struct wrk *w, struct lsn_group *add,
    const struct sockaddr_storage *del, size_t ndel, int ack)
{
	struct sockaddr_storage	*nd = NULL;
	struct lsn		*na = NULL;
	uint64_t		 one = 1;
	size_t			 nadd = add != NULL ? add->n : 0;

	pthread_mutex_lock(&w->grp->lq_mu);
	if ((ndel > 0 && (nd = reallocarray(w->lq_del, w->lq_ndel + ndel,
	    sizeof(*nd))) == NULL) || (nadd > 0 && (na = reallocarray(
	    w->lq_add.v, w->lq_add.n + nadd, sizeof(*na))) == NULL)) {
		if (nd != NULL)
			w->lq_del = nd;
		pthread_mutex_unlock(&w->grp->lq_mu);
		return -1;
	}
	if (ndel > 0) {
		memcpy(nd + w->lq_ndel, del, ndel * sizeof(*nd));
		w->lq_del = nd;
		w->lq_ndel += ndel;
	}
	if (nadd > 0) {
		memcpy(na + w->lq_add.n, add->v, nadd * sizeof(*na));
		w->lq_add.v = na;
		w->lq_add.n += nadd;
		free(add->v);
		add->v = NULL;
		add->n = 0;
	}
	if (ack)
		w->lq_acks++;
	pthread_mutex_unlock(&w->grp->lq_mu);
	if (write(w->notify_fd, &one, sizeof(one)) == -1)
		log_warn("worker %u: eventfd: %s", w->id, strerror(errno));
	return 0;
}
