#include "config.h"

#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <sys/epoll.h>

#include "poller.h"

#define POLL_EVENTS	(EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET)
#define POLL_BATCH	64	/* epoll events per wait */

/* epoll_event.data: the item, with the side in the low bit. */
static uint64_t
poller_tag(const struct poll_item *pi, int side)
{
	return (uint64_t)(uintptr_t)pi | (uint64_t)side;
}

int
poller_add(struct poller *p, int fd, struct poll_item *pi, int side)
{
	struct epoll_event ev;

	ev.events = POLL_EVENTS;
	ev.data.u64 = poller_tag(pi, side);
	if (epoll_ctl(p->fd, EPOLL_CTL_ADD, fd, &ev) == -1)
		return -1;
	return 0;
}

int
poller_reading(struct poller *p, int fd, struct poll_item *pi, int side,
    int on)
{
	struct epoll_event ev;

	ev.events = on ? POLL_EVENTS : POLL_EVENTS & ~EPOLLIN;
	ev.data.u64 = poller_tag(pi, side);
	return epoll_ctl(p->fd, EPOLL_CTL_MOD, fd, &ev);
}

void
poller_forget(struct poller *p, const struct poll_item *pi, int side)
{
	uint64_t	 tag = poller_tag(pi, side);
	int		 i;

	for (i = p->batch_i + 1; i < p->batch_n; i++)
		if (p->batch[i].data.u64 == tag)
			p->batch[i].data.u64 = 0;
}

/* p's epoll set is readable: dispatch one batch of edges. */
static void
poller_cb(evutil_socket_t fd, short what, void *arg)
{
	struct poller		*p = arg;
	struct epoll_event	 ev[POLL_BATCH];
	uint64_t		 tag;
	int			 n, i;

	(void)what;
	if ((n = epoll_wait(fd, ev, POLL_BATCH, 0)) <= 0)
		return;
	p->batch = ev;
	p->batch_n = n;
	for (i = 0; i < n; i++) {
		if ((tag = ev[i].data.u64) == 0)
			continue;	/* its socket closed meanwhile */
		p->batch_i = i;
		p->on_event((struct poll_item *)(uintptr_t)(tag &
		    ~(uint64_t)1), (int)(tag & 1), ev[i].events);
	}
	p->batch = NULL;
	p->batch_n = p->batch_i = 0;
}

void
poller_rerun_later(struct poller *p, struct poll_item *pi)
{
	static const struct timeval	 now = { 0, 0 };

	if (pi->rerun_next != NULL)
		return;
	pi->rerun_next = p->rerun;
	p->rerun = pi;
	if (!evtimer_pending(&p->rerun_ev, NULL))
		evtimer_add(&p->rerun_ev, &now);
}

/* Unlink pi from the list at *head: 1 if it was there. */
static int
poller_unlink(struct poller *p, struct poll_item **head,
    struct poll_item *pi)
{
	struct poll_item **pp;

	for (pp = head; *pp != &p->rerun_end; pp = &(*pp)->rerun_next)
		if (*pp == pi) {
			*pp = pi->rerun_next;
			return 1;
		}
	return 0;
}

void
poller_rerun_drop(struct poller *p, struct poll_item *pi)
{
	if (pi->rerun_next == NULL)
		return;
	/* Either list: the next turn's, or the one being run now. */
	if (!poller_unlink(p, &p->rerun, pi))
		(void)poller_unlink(p, &p->running, pi);
	pi->rerun_next = NULL;
}

static void
poller_rerun_cb(evutil_socket_t fd, short what, void *arg)
{
	struct poller		*p = arg;
	struct poll_item	*pi;

	(void)fd;
	(void)what;
	/*
	 * Take the list: one that gives way again goes on a new one, for
	 * the next turn.  The list being walked stays in p, not in a
	 * local: closing one connection can close others still waiting
	 * here (a resumed listener moves to a new snapshot, whose
	 * NetworkPolicy recheck closes them), and poller_rerun_drop then
	 * unlinks them from it, so the walk never reaches a closed one.
	 */
	p->running = p->rerun;
	p->rerun = &p->rerun_end;
	while ((pi = p->running) != &p->rerun_end) {
		p->running = pi->rerun_next;
		pi->rerun_next = NULL;
		p->on_rerun(pi);
	}
}

int
poller_init(struct poller *p, struct event_base *base,
    void (*on_event)(struct poll_item *, int, uint32_t),
    void (*on_rerun)(struct poll_item *))
{
	memset(p, 0, sizeof(*p));
	p->on_event = on_event;
	p->on_rerun = on_rerun;
	p->rerun = p->running = &p->rerun_end;
	if ((p->fd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		return -1;
	event_assign(&p->ev, base, p->fd, EV_READ | EV_PERSIST, poller_cb, p);
	evtimer_assign(&p->rerun_ev, base, poller_rerun_cb, p);
	return event_add(&p->ev, NULL);
}

void
poller_free(struct poller *p)
{
	if (event_initialized(&p->rerun_ev))
		event_del(&p->rerun_ev);
	if (event_initialized(&p->ev)) {
		event_del(&p->ev);
		close(p->fd);
	}
	memset(p, 0, sizeof(*p));
}
