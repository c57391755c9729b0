/*
 * worker_shared: a worker's part in the listening sockets every worker
 * shares (listener.h's lsn_shared).  The sockets go into the epoll set
 * the worker's event loop sleeps in, with EPOLLEXCLUSIVE, so that one
 * connection wakes one idle worker, not all; that set is found through
 * /proc/self/fdinfo, as libevent does not give it out, and without it
 * a set nested in the base stands in (every idle worker wakes).
 * Accepting on what the sets report is worker.c's (wrk_shared_cb).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sys/epoll.h>
#include <sys/eventfd.h>

#include "listener.h"
#include "log.h"
#include "worker.h"
#include "worker_int.h"

#ifndef EPOLLEXCLUSIVE
#define EPOLLEXCLUSIVE		(1u << 28)	/* Linux 4.5 */
#endif

/* fd into set epfd for EPOLLIN (plus EPOLLEXCLUSIVE if the kernel
   has it, when excl), reported with data.  0, or -1. */
static int
wrk_ep_add(int epfd, int fd, int excl, epoll_data_t data)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | (excl ? EPOLLEXCLUSIVE : 0);
	ev.data = data;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) == 0)
		return 0;
	if (!excl || errno != EINVAL)
		return -1;
	ev.events = EPOLLIN;	/* before Linux 4.5: every worker wakes */
	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

/*
 * A shared listener in or out of w's epoll sets.  EPOLLEXCLUSIVE asks
 * the kernel to wake one waiter of the socket, not all, but only a
 * set a thread sleeps in directly counts as one: through a set nested
 * in the base's, every worker would wake (the kernel's ep_poll_callback
 * sees no direct waiter on the nested set, so looks on).  So the
 * socket goes into the base's own epoll set, exclusive, reported as
 * lsn_wake_fd (libevent runs that fd's event), and into lsn_epfd,
 * plain, which nobody sleeps in: it only says which socket is ready.
 * Level-triggered: a worker that stops after a batch, or a pause that
 * leaves connections queued, finds them again, and taking the socket
 * out (a pause) and back in re-reads its state, so what queued
 * meanwhile wakes the worker at once.  While out, new connections
 * wake the workers that still hold it.  Base set unknown: lsn_epfd is
 * nested in the base, exclusive (every idle worker wakes).
 */
void
wrk_lsn_on_shared(struct lsn *l, int on)
{
	struct wrk	*w = l->w;
	epoll_data_t	 d, k;

	if (on && !l->on) {
		d.ptr = l->sh;
		k.u64 = 0;
		k.fd = w->lsn_wake_fd;	/* what libevent reads */
		l->sh->slot[w->id] = l;
		if (wrk_ep_add(w->lsn_epfd, l->fd, w->base_epfd == -1, d) ==
		    -1 || (w->base_epfd != -1 && wrk_ep_add(w->base_epfd,
		    l->fd, 1, k) == -1)) {
			log_rl_msg(&w->rl, LOG_LEVEL_WARN, "worker %u: "
			    "listener %s: epoll: %s", w->id, l->name,
			    strerror(errno));
			(void)epoll_ctl(w->lsn_epfd, EPOLL_CTL_DEL, l->fd,
			    NULL);
			return;
		}
	} else if (!on && l->on) {
		(void)epoll_ctl(w->lsn_epfd, EPOLL_CTL_DEL, l->fd, NULL);
		if (w->base_epfd != -1)
			(void)epoll_ctl(w->base_epfd, EPOLL_CTL_DEL, l->fd,
			    NULL);
	}
	l->on = on != 0;
}

/* w lets go of shared listener l: the last worker closes the socket. */
void
wrk_lsn_unshare(struct wrk *w, struct lsn *l)
{
	l->sh->slot[w->id] = NULL;
	lsn_shared_unref(l->sh);
	l->sh = NULL;
	l->fd = -1;
}

/*
 * The epoll fd w's base sleeps in, or -1.  libevent 2.1 does not give
 * it out: it is the eventpoll fd, opened just before notify_fd, whose
 * set holds notify_fd once the base has applied its changes (a
 * non-blocking turn of the loop, before the thread starts, runs no
 * callback: nothing is active yet).  Main thread, in wrk_init.
 */
static int
wrk_base_epfd(struct wrk *w)
{
	char	path[64], link[32], line[128];
	FILE	*f;
	ssize_t	 n;
	int	 fd, t, found = -1;

	if (strncmp(event_base_get_method(w->base), "epoll", 5) != 0 ||
	    event_base_loop(w->base, EVLOOP_NONBLOCK | EVLOOP_ONCE) == -1)
		return -1;
	for (fd = w->notify_fd - 1; fd >= 0 && fd >= w->notify_fd - 64 &&
	    found == -1; fd--) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		if ((n = readlink(path, link, sizeof(link) - 1)) <= 0)
			continue;
		link[n] = '\0';
		if (strcmp(link, "anon_inode:[eventpoll]") != 0)
			continue;
		snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
		if ((f = fopen(path, "re")) == NULL)
			continue;
		while (fgets(line, sizeof(line), f) != NULL)
			if (sscanf(line, "tfd: %d", &t) == 1 &&
			    t == w->notify_fd) {
				found = fd;
				break;
			}
		fclose(f);
	}
	return found;
}

/*
 * w's sets for shared listeners (wrk_lsn_on_shared): lsn_epfd, and the
 * key lsn_wake_fd in the base's own set when found, else lsn_epfd
 * nested in the base.  ready (arg w) runs when one of them may be
 * ready: it accepts on those lsn_epfd reports.  0, or -1 (errno).
 */
int
wrk_shared_init(struct wrk *w, event_callback_fn ready)
{
	int fd;

	if ((w->lsn_epfd = epoll_create1(EPOLL_CLOEXEC)) == -1 ||
	    (w->lsn_wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1)
		return -1;
	if ((w->base_epfd = wrk_base_epfd(w)) == -1)
		log_info("worker %u: the event loop's epoll set not found: "
		    "a connection to a shared listener wakes every idle "
		    "worker", w->id);
	fd = w->base_epfd != -1 ? w->lsn_wake_fd : w->lsn_epfd;
	event_assign(&w->lsn_epev, w->base, fd, EV_READ | EV_PERSIST,
	    ready, w);
	event_add(&w->lsn_epev, NULL);
	return 0;
}
