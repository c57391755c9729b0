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
 * Serve the accepted socket cfd (non-blocking) from client on Service
 * port sp of snapshot s.  Takes over cfd and the caller's reference to
 * s; on any failure the client is reset and counted.
 */
void	 relay_start(struct wrk *, int cfd, const struct sockaddr *client,
	    socklen_t clen, struct snap *s, const struct snap_port *sp);
/* Close every connection of w now (reason "shutdown"). */
void	 relay_close_all(struct wrk *);
/* Free w's idle structs, pipes and buffers (w has no connections). */
void	 relay_pool_free(struct wrk *);

#endif
