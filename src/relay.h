/*
 * relay: one client/backend pair.
 *
 * Connect with a timeout, retrying other endpoints on refusal or
 * timeout; then move bytes both ways with splice(2) through pipes taken
 * from the worker's pool only while bytes are in flight, or with
 * read/write where splice is refused.  Half-close, resets and idle
 * timeouts pass through as a TCP peer would see them.
 */
#ifndef SVCPROXY_RELAY_H
#define SVCPROXY_RELAY_H

#include <sys/socket.h>

#include "snapshot.h"
#include "worker.h"

#define RELAY_PIPE_SIZE	(256 * 1024)	/* F_SETPIPE_SZ wish */
#define RELAY_ROUNDS	16	/* in/out rounds before yielding */

/*
 * Serve the accepted socket cfd (non-blocking) from client on listener
 * l (its Service port) of snapshot s.  Takes over cfd and the caller's
 * reference to s; on any failure the client is reset and counted.  A
 * client outside l's loadBalancerSourceRanges, or one NetworkPolicy
 * lets reach no endpoint, is reset at once and counted on the port
 * (refused_source, refused_policy).
 */
void	 relay_start(struct wrk *, int cfd, const struct sockaddr *client,
	    socklen_t clen, struct snap *s, const struct snap_lsn *l);
/*
 * w has moved to snapshot s: close (reset both sides) every connection
 * of w that s's NetworkPolicies deny, unless s keeps established ones.
 * Connections whose Service port or endpoint s no longer has keep
 * running.  Must not run nested (worker.c guards it).
 */
void	 relay_recheck(struct wrk *, const struct snap *s);
/*
 * Reload drain: close each connection of w whose Service port or
 * endpoint cur (w's current snapshot) lacks, once cur's drainTimeout
 * has passed since that was first seen (now, wrk_now_ms).  Returns how
 * many such connections are still running.
 */
size_t	 relay_sweep(struct wrk *, const struct snap *cur, uint64_t now);
/* Close fd so the peer sees a reset, not a FIN. */
void	 relay_close_rst(int fd);
/* Close every connection of w now (reason "shutdown"). */
void	 relay_close_all(struct wrk *);
/*
 * Create w's epoll set for its connections' sockets and hook it (and
 * the rerun timer) into w->base.  0, or -1 (errno).  relay_poll_free
 * undoes it, before w->base is freed; it may run after a failed or no
 * relay_poll_init when w->rpoll_fd is -1.
 */
int	 relay_poll_init(struct wrk *);
void	 relay_poll_free(struct wrk *);
/* Free w's idle structs, pipes and buffers (w has no connections). */
void	 relay_pool_free(struct wrk *);

#endif
