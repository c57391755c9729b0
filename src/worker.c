#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/eventfd.h>
#include <sys/socket.h>

#include "log.h"
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
 * The snapshot listener l serves now, or NULL if the current snapshot
 * no longer has it.  Loads the published pointer on every call (cheap
 * when unchanged) and moves the worker's reference when it changed.
 */
static const struct snap_lsn *
wrk_lookup(struct wrk *w, struct lsn *l)
{
	struct snap *s;

	if (snap_slot_peek(w->grp->slot) != w->snap) {
		s = snap_slot_acquire(w->grp->slot);
		snap_unref(w->snap);
		w->snap = s;
	}
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
	const struct wrk_group *g = w->grp;
	uint32_t max = sp->svc->max_connections;

	if (g->max_conns != 0 && atomic_load_explicit(&g->active,
	    memory_order_relaxed) >= g->max_conns)
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
		if (sl == NULL) {
			/* A reload dropped this address: refuse. */
			struct linger lg = { 1, 0 };

			(void)setsockopt(cfd, SOL_SOCKET, SO_LINGER, &lg,
			    sizeof(lg));
			close(cfd);
			continue;
		}
		relay_start(w, cfd, (struct sockaddr *)&ss, len,
		    snap_ref(w->snap), sl->sp);
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

static void
wrk_notify_cb(evutil_socket_t fd, short what, void *arg)
{
	struct wrk	*w = arg;
	uint64_t	 v;

	(void)what;
	if (read(fd, &v, sizeof(v)) == -1 && errno != EAGAIN)
		log_warn("worker %u: eventfd: %s", w->id, strerror(errno));
	switch (atomic_load(&w->cmd)) {
	case WRK_RUN:
		/* A new snapshot: move our reference now, not on accept. */
		if (snap_slot_peek(w->grp->slot) != w->snap) {
			snap_unref(w->snap);
			w->snap = snap_slot_acquire(w->grp->slot);
		}
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
		event_base_free(w->base);
		w->base = NULL;
	}
	lsn_group_free(&w->lsns);
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
