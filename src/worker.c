/*
 * worker: one worker's thread and event loop (worker.h): set up,
 * started, told to drain or stop through its eventfd, torn down.  What
 * the loop runs is below it (worker_int.h): the way in
 * (worker_accept.c), listener changes and the reload drain
 * (worker_lsn.c), the listeners every worker shares (worker_shared.c).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <sys/eventfd.h>

#include "log.h"
#include "relay.h"
#include "worker.h"
#include "worker_int.h"

/* The pause warning (wrk_pause_all), per worker: lines per period. */
#define WRK_LOG_BURST		3
#define WRK_LOG_PERIOD_MS	10000

/*
 * The health generation moved (wrk_group_health_changed): one walk of
 * w's connections closes those whose endpoint went down where their
 * port says close.  Held off while a walk runs, as wrk_snap_update
 * (a close resumes listeners, which may recheck under it).
 */
static void
wrk_health_update(struct wrk *w)
{
	uint64_t gen = atomic_load_explicit(&w->grp->health_gen,
	    memory_order_acquire);

	if (gen == w->health_seen || w->rechecking)
		return;
	w->health_seen = gen;
	w->rechecking = 1;
	(void)relay_health_close(&w->relay);
	w->rechecking = 0;
}

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
		wrk_health_update(w);
		break;
	case WRK_DRAIN:
		if (!w->draining) {
			w->draining = 1;
			wrk_close_listeners(w, 1);
		}
		if (wrk_drained(w))
			event_base_loopbreak(w->base);
		break;
	case WRK_STOP:
		w->draining = 1;
		relay_udp_close_all(&w->udp);
		wrk_close_listeners(w, 0);
		relay_close_all(&w->relay);
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
	relay_udp_close_all(&w->udp);
	wrk_close_listeners(w, 0);
	relay_close_all(&w->relay);
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
	w->lsn_epfd = w->lsn_wake_fd = w->base_epfd = -1;
	log_rl_init(&w->rl, WRK_LOG_BURST, WRK_LOG_PERIOD_MS);
	w->lsns = *lsns;
	memset(lsns, 0, sizeof(*lsns));
	atomic_init(&w->cmd, WRK_RUN);
	atomic_init(&w->exited, 0);
	atomic_init(&w->lsn_gen, 0);
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
	w->relay.base = w->base;
	w->relay.id = id;
	w->relay.stats = &w->stats;
	w->relay.active_all = &g->active;
	w->relay.no_splice = g->no_splice;
	w->relay.closed = wrk_conn_closed;
	w->relay.arg = w;
	if (relay_wrk_init(&w->relay, g->max_pipes, g->pipe_size) == -1) {
		snprintf(err, errlen, "worker %u: relay: %s", id,
		    strerror(errno));
		return -1;
	}
	w->udp.base = w->base;
	w->udp.id = id;
	/* The table's memory bound; the fds are the budget's (fd_cap). */
	w->udp.max_flows = RELAY_UDP_FLOWS_DEFAULT;
	w->udp.closed = wrk_udp_closed;
	w->udp.arg = w;
	w->udp.fds = &g->fds;
	w->udp.fd_cap = &g->fd_cap;
	w->udp.fd_dropped = &g->fd_dropped;
	if (relay_udp_wrk_init(&w->udp) == -1) {
		snprintf(err, errlen, "worker %u: udp relay: %s", id,
		    strerror(errno));
		return -1;
	}
	event_assign(&w->notify_ev, w->base, w->notify_fd,
	    EV_READ | EV_PERSIST, wrk_notify_cb, w);
	event_add(&w->notify_ev, NULL);
	if (wrk_shared_init(w, wrk_shared_cb) == -1) {
		snprintf(err, errlen, "worker %u: epoll: %s", id,
		    strerror(errno));
		return -1;
	}
	evtimer_assign(&w->pause_ev, w->base, wrk_pause_cb, w);
	for (i = 0; i < w->lsns.n; i++) {
		w->lsns.v[i].w = w;
		(void)wrk_lsn_event(w, &w->lsns.v[i]);
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
		if (event_initialized(&w->lsn_epev))
			event_del(&w->lsn_epev);
		relay_wrk_free(&w->relay);
		w->udp.closed = NULL;
		relay_udp_close_all(&w->udp);
		relay_udp_wrk_free(&w->udp);
		event_base_free(w->base);
		w->base = NULL;
	}
	lsn_group_free(&w->lsns);
	lsn_group_free(&w->lq_add);
	wrk_want_free(w->lq_want);
	w->lq_want = NULL;
	snap_unref(w->snap);
	w->snap = NULL;
	if (w->notify_fd != -1)
		close(w->notify_fd);
	w->notify_fd = -1;
	if (w->lsn_epfd != -1)
		close(w->lsn_epfd);
	if (w->lsn_wake_fd != -1)
		close(w->lsn_wake_fd);
	w->lsn_epfd = w->lsn_wake_fd = w->base_epfd = -1;
	log_rl_destroy(&w->rl);
}
