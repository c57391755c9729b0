/*
 * worker_int: what the worker_*.c files of one worker share and
 * nothing else includes.  Calls go one way, down: worker.c (the
 * thread, its loop and commands) calls worker_lsn.c (listener changes,
 * the reload drain) and worker_accept.c (the way in, from a ready
 * listener to a relay); worker_lsn.c calls worker_accept.c; both call
 * worker_shared.c (the listeners every worker shares).  None calls
 * back up, so callbacks are installed from above (wrk_init;
 * wrk_shared_init's ready).  The public interface is worker.h.
 */
#ifndef SVCPROXY_WORKER_INT_H
#define SVCPROXY_WORKER_INT_H

#include <sys/socket.h>

#include <event2/event.h>

#include "listener.h"
#include "worker.h"

/* worker_lsn.c */

/*
 * Take what the main thread handed over and its latest listener set;
 * reconcile when either is new; record the set's generation and ack.
 */
void	 wrk_lsn_apply(struct wrk *w);

/* worker_accept.c */

/*
 * Move w's reference to the published snapshot if it changed; the new
 * one's NetworkPolicies re-judge w's connections.  Not re-entered.
 */
void	 wrk_snap_update(struct wrk *w);
/* The snapshot listener l serves now, or NULL (w's snapshot moves). */
const struct snap_lsn *wrk_lookup(struct wrk *w, struct lsn *l);
/* l's accepts (or datagrams) on or off w's loop. */
void	 wrk_lsn_on(struct lsn *l, int on);
/* The accepted cfd to a relay under w's snapshot; reset when sl is NULL. */
void	 wrk_serve(struct wrk *w, const struct snap_lsn *sl, int cfd,
	    const struct sockaddr_storage *ss, socklen_t len);
/* l's event (accept, or datagrams), none for a shared one.  0, or -1. */
int	 wrk_lsn_event(struct wrk *w, struct lsn *l);
/* Close w's listeners (keep_udp: a drain keeps UDP sockets open). */
void	 wrk_close_listeners(struct wrk *w, int keep_udp);
/* Has a draining w nothing left to finish? */
int	 wrk_drained(const struct wrk *w);
/* Callbacks wrk_init installs, arg w: the pause timer, w's set of
   shared listeners ready, relay's and relay_udp's closed. */
void	 wrk_pause_cb(evutil_socket_t fd, short what, void *arg);
void	 wrk_shared_cb(evutil_socket_t fd, short what, void *arg);
void	 wrk_conn_closed(void *arg);
void	 wrk_udp_closed(void *arg);

/* worker_shared.c */

/*
 * w's sets for shared listeners: lsn_epfd, lsn_wake_fd and base_epfd
 * (worker.h), and lsn_epev, which runs ready (arg w).  0, or -1
 * (errno).  wrk_free closes them, also after a failure.
 */
int	 wrk_shared_init(struct wrk *w, event_callback_fn ready);
/* Shared listener l (l->sh set) in or out of its worker's sets. */
void	 wrk_lsn_on_shared(struct lsn *l, int on);
/* w lets go of shared listener l: the last worker closes the socket. */
void	 wrk_lsn_unshare(struct wrk *w, struct lsn *l);

#endif
