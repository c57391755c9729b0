/*
 * worker_int: what worker.c and worker_shared.c share and nothing else
 * includes.  worker_shared.c calls nothing in worker.c: the callback
 * that accepts on a ready shared listener is worker.c's, handed to
 * wrk_shared_init.  The public interface is worker.h.
 */
#ifndef SVCPROXY_WORKER_INT_H
#define SVCPROXY_WORKER_INT_H

#include <event2/event.h>

#include "listener.h"
#include "worker.h"

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
