/*
 * relay: one client/backend TCP pair.
 *
 * Connect with a timeout, retrying other endpoints on refusal or
 * timeout; then move bytes both ways with splice(2) through pipes taken
 * from the worker's pool only while bytes are in flight, or with
 * read/write where splice is refused.  Half-close, resets and idle
 * timeouts pass through as a TCP peer would see them.
 *
 * Calls go one way: the worker calls relay, relay never calls the
 * worker, and relay.c includes no worker header.  What relay keeps per
 * worker (its connections, free list, pool and poller) and what it
 * needs of the worker (base, id, counters, the group's connection
 * count) is a struct relay_wrk, which struct wrk embeds and fills in.
 * The one way back is a function pointer, closed, that relay calls
 * once per closed connection where it called wrk_conn_closed() before:
 * the worker resumes paused accepts and ends a drain there.  The
 * counters are in worker-t.h, a type header both include.  A
 * relay_udp.c would take a struct relay_wrk the same way.
 */
#ifndef SVCPROXY_RELAY_H
#define SVCPROXY_RELAY_H

#include <sys/socket.h>

#include "poller.h"
#include "pool.h"
#include "snapshot.h"
#include "worker-t.h"

#define RELAY_PIPE_SIZE	(1024 * 1024)	/* F_SETPIPE_SZ wish (pool.h:
						   the first few pipes) */
#define RELAY_ROUNDS	16	/* in/out rounds before yielding */
#define RELAY_FREE_MAX	8192	/* idle connection structs kept */

struct relay;

/* Relay's share of one worker: that worker's thread only. */
struct relay_wrk {
	/* The worker's, set before relay_wrk_init: */
	struct event_base	*base;		/* for connection timers */
	unsigned		 id;		/* column in the metrics */
	struct wrk_stats	*stats;		/* counted here */
	_Atomic uint32_t	*active_all;	/* every worker's conns */
	int			 no_splice;	/* copy only (tests) */
	/* A connection closed (the worker's arg): may call back into
	   relay, not into the connection that closed. */
	void			(*closed)(void *arg);
	void			*arg;
	/* Relay's own: */
	struct relay		*live;		/* open connections */
	struct relay		*free;		/* idle structs, owned */
	size_t			 nfree;
	struct pool		 pool;		/* idle pipes and buffers */
	struct poller		 poll;		/* the connections' sockets */
	int64_t			 mono_ms;	/* relay_mono's cache, taken */
	uint64_t		 mono_at;	/* at this loop clock (ms) */
};

/*
 * The pool (max_pipes pairs of pipe_size bytes) and the poller of w,
 * whose fields above are set.  0, or -1 (errno).  relay_wrk_free
 * undoes it, also after a failure or on a zeroed struct, and must run
 * before w->base is freed, once w has no connection (relay_close_all).
 */
int	 relay_wrk_init(struct relay_wrk *w, size_t max_pipes,
	    size_t pipe_size);
void	 relay_wrk_free(struct relay_wrk *w);

/*
 * Take a connection slot for Service port sp before accepting: count
 * it in w's group-wide active count and sp's Service's, unless that
 * passes max_all (the group's; 0: none) or the Service's
 * maxConnections.  1, or 0 (nothing counted) at a limit.  Atomic: any
 * number of workers reserving at once never pass a limit together.
 * relay_start takes the slot over; relay_unreserve gives back one that
 * was not used (the accept failed).
 */
int	 relay_reserve(struct relay_wrk *, const struct snap_port *sp,
	    uint32_t max_all);
void	 relay_unreserve(struct relay_wrk *, const struct snap_port *sp);
/* The same slot taken whatever the limits say (a listener's drain). */
void	 relay_count(struct relay_wrk *, const struct snap_port *sp);
/*
 * Serve the accepted socket cfd (non-blocking) from client on listener
 * l (its Service port) of snapshot s, for which the caller reserved a
 * slot (relay_reserve).  Takes over cfd, the slot and the caller's
 * reference to s; on any failure the client is reset and counted.  A
 * client outside l's loadBalancerSourceRanges, or one NetworkPolicy
 * lets reach no endpoint, is reset at once and counted on the port
 * (refused_source, refused_policy).  When the Service accepts the
 * PROXY protocol, the client's header is read first (a trusted sender,
 * the snapshot's timeout) and its source is the client from then on;
 * a refused header is counted as refused_source.  When the Service
 * sends it, the backend gets its header before any client byte.
 */
void	 relay_start(struct relay_wrk *, int cfd,
	    const struct sockaddr *client, socklen_t clen, struct snap *s,
	    const struct snap_lsn *l);
/*
 * w has moved to snapshot s: close (reset both sides) every connection
 * of w that s's NetworkPolicies deny, unless s keeps established ones.
 * Connections whose Service port or endpoint s no longer has keep
 * running.  Must not run nested (worker.c guards it).
 */
void	 relay_recheck(struct relay_wrk *, const struct snap *s);
/*
 * Active health checks marked endpoints down: close (reset both sides)
 * each established connection of w whose endpoint's check cell is down
 * and whose Service port says health-on-down: close (HAProxy's
 * on-marked-down shutdown-sessions), unless that port is in panic
 * (serving down endpoints on purpose), counted in closed_health.  One
 * walk of w's connections, when the health generation moved (worker.c);
 * nothing per connection otherwise.  Returns how many it closed.  Must
 * not run nested, as relay_recheck.
 */
size_t	 relay_health_close(struct relay_wrk *);
/*
 * Reload drain: close each connection of w whose Service port or
 * endpoint cur (w's current snapshot) lacks, once cur's drainTimeout
 * has passed since that was first seen.  Returns how many such
 * connections are still running.
 */
size_t	 relay_sweep(struct relay_wrk *, const struct snap *cur);
/* Close fd so the peer sees a reset, not a FIN. */
void	 relay_close_rst(int fd);
/* Close every connection of w now (reason "shutdown"). */
void	 relay_close_all(struct relay_wrk *);

#endif
