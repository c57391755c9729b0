/*
 * poller: one worker's epoll set for its connections' sockets, and the
 * rerun list of those that gave way with bytes still to move.
 *
 * Sockets are not libevent events: each socket is registered once,
 * edge-triggered for both directions, and close(2) takes it out by
 * itself, so a connection costs two epoll_ctl calls in all.  libevent
 * polls the set's fd and runs the rerun timer on the worker's base.
 * An owner (a relay) embeds a struct poll_item and registers up to two
 * sockets under it, told apart by side (0 or 1); each edge comes back
 * as one on_event call (the only indirect call per event) with the
 * item, the side and the epoll events.  The owner finds itself from
 * the item (container_of): the poller never knows its type.  One
 * thread only; a poller must not move once initialised.
 */
#ifndef SVCPROXY_POLLER_H
#define SVCPROXY_POLLER_H

#include <stdint.h>

#include <event2/event.h>
#include <event2/event_struct.h>

struct epoll_event;

/* Embedded in its owner, zeroed before first use. */
struct poll_item {
	struct poll_item	*rerun_next;	/* NULL: not on the rerun
						   list */
};

struct poller {
	int			 fd;		/* epoll set, owned once ev
						   is initialised */
	struct event		 ev;		/* fd readable */
	struct event		 rerun_ev;	/* zero timer: rerun list */
	struct poll_item	*rerun;		/* ends at &rerun_end */
	struct poll_item	*running;	/* the list on_rerun is
						   walking; ends at
						   &rerun_end */
	struct poll_item	 rerun_end;
	struct epoll_event	*batch;		/* being dispatched, or NULL */
	int			 batch_n;
	int			 batch_i;	/* index being handled */
	void			(*on_event)(struct poll_item *, int side,
				    uint32_t events);
	void			(*on_rerun)(struct poll_item *);
};

/*
 * Create p's epoll set and hook it and the rerun timer into base.  0,
 * or -1 (errno).  poller_free undoes it, also after a failure or on a
 * zeroed poller, and before base is freed.
 */
int	poller_init(struct poller *, struct event_base *base,
	    void (*on_event)(struct poll_item *, int side, uint32_t events),
	    void (*on_rerun)(struct poll_item *));
void	poller_free(struct poller *);
/* Put fd into p's set for good, as side of pi: 0, or -1 (errno). */
int	poller_add(struct poller *, int fd, struct poll_item *pi, int side);
/*
 * Whether fd (side of pi, in p's set) reports readable edges: on (as
 * poller_add registers it) or off, when its owner cannot take the
 * bytes anyway.  Other edges (writable, the peer's FIN, errors) still
 * come.  Turned back on, an edge comes at once if fd is readable.  0,
 * or -1 (errno).
 */
int	poller_reading(struct poller *, int fd, struct poll_item *pi,
	    int side, int on);
/*
 * side's socket of pi is about to close, which takes it out of the set:
 * drop what the batch being dispatched still holds for it, so a socket
 * that takes its place starts from nothing.
 */
void	poller_forget(struct poller *, const struct poll_item *pi, int side);
/*
 * pi gave way to the others with bytes still to move; no edge will say
 * so again, so on_rerun runs for it on the next turn of the loop (a
 * zero timer: after the next epoll_wait, so it cannot starve the
 * others).  Once: a second call before that does nothing.
 */
void	poller_rerun_later(struct poller *, struct poll_item *pi);
/*
 * pi ends: take it off the rerun list (if on it), also the one being
 * run: an on_rerun call may end items still waiting their turn.
 */
void	poller_rerun_drop(struct poller *, struct poll_item *pi);

#endif
