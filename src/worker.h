/*
 * worker: one thread, its own event_base (EVENT_BASE_FLAG_NOLOCK), its
 * own listening sockets, connections (relay.h, in their own epoll set,
 * which the base polls: poller.h), free lists and counters.  A worker
 * calls relay; relay calls back only through w->relay.closed.
 *
 * Workers share with the main thread only the snapshot slot, the live
 * counters the snapshot points at, the group's connection count (all
 * atomics) and their own counters, which only the owner writes.  The
 * main thread asks a worker to drain or stop by storing its command and
 * waking it through its eventfd, and states which addresses to listen
 * on the same way (wrk_lsn_want, below); a worker reports its exit
 * through the group's done eventfd.  No other cross-thread call
 * touches a base.
 */
#ifndef SVCPROXY_WORKER_H
#define SVCPROXY_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <event2/event_struct.h>

#include "listener.h"
#include "log.h"
#include "relay.h"
#include "relay_udp.h"
#include "snapshot.h"
#include "worker-t.h"

#define WRK_ACCEPT_BATCH	64	/* accepts per readiness */
#define WRK_PAUSE_MS		100	/* after EMFILE, at a limit */

enum wrk_cmd {
	WRK_RUN,
	WRK_DRAIN,	/* close listeners, finish connections, exit */
	WRK_STOP,	/* close every connection now, exit */
};

struct wrk;

/*
 * Shared by all workers; lives in the run context, which sets it up
 * and tears it down through the wrk_group_* calls (worker_group.c).
 */
struct wrk_group {
	struct snap_slot	*slot;		/* run context's */
	_Atomic uint32_t	 active;	/* every worker's conns */
	_Atomic uint32_t	 max_conns;	/* 0: none; set by
						   wrk_group_max_conns */
	uint64_t		 nofile;	/* open file limit (soft) */
	uint32_t		 conn_cap;	/* connections nofile allows */
	/*
	 * One budget of fds for the data path: a TCP connection takes 2
	 * (client, endpoint), a UDP flow 1 (its upstream socket), taken
	 * before the accept or the flow and given back when it closes,
	 * so neither kind can spend fds the other was promised and the
	 * process meets its limit as a counted pause or drop, never as
	 * EMFILE.  Count first, then compare (relay_reserve's rule).
	 */
	_Atomic uint64_t	 fds;		/* taken now */
	_Atomic uint64_t	 fd_cap;	/* wrk_group_create sets it,
						   wrk_group_budget on reload */
	/*
	 * Times the budget was spent (fd_budget_take refused): a TCP
	 * accept that left its connection waiting in the listen queue
	 * (the listener pauses; those queued behind it are not counted
	 * again), a UDP flow dropped.  /status and /metrics.
	 */
	_Atomic uint64_t	 fd_waited;	/* TCP accepts */
	_Atomic uint64_t	 fd_dropped;	/* UDP flows */
	uint64_t		 reserve;	/* run context's fds */
	uint64_t		 nsock;		/* listener sockets counted */
	uint32_t		 want;		/* maxConnections asked */
	size_t			 max_pipes;	/* per worker, pairs */
	size_t			 pipe_size;	/* F_SETPIPE_SZ target */
	int			 no_splice;	/* copy only (tests) */
	int			 done_fd;	/* eventfd: a worker exited */
	struct wrk		*v;		/* owned array */
	unsigned		 n;
	/* Listener sets (wrk_lsn_want, wrk_lsn_give), run context's: */
	pthread_mutex_t		 lq_mu;		/* guards every wrk's lq_* */
	int			 ack_fd;	/* eventfd: a worker reached
						   a new wrk_want */
	uint64_t		 lq_gen;	/* last wrk_want's; main only */
	_Atomic uint64_t	 health_gen;	/* wrk_group_health_changed
						   bumps it; workers compare */
};

struct wrk {
	unsigned		 id;
	struct wrk_group	*grp;
	pthread_t		 thr;
	int			 started;	/* thr is joinable */
	struct event_base	*base;		/* owned; this thread only */
	struct lsn_group	 lsns;		/* owned */
	int			 lsn_epfd;	/* owned: shared listeners,
						   which are ready; -1 */
	int			 base_epfd;	/* base's epoll fd (not
						   owned); -1: unknown */
	int			 lsn_wake_fd;	/* owned eventfd, never
						   written: the key the base
						   reports shared ones by */
	struct event		 lsn_epev;	/* a shared listener ready */
	_Atomic uint64_t	 lsn_wakeups;	/* lsn_epfd's; w writes */
	_Atomic uint64_t	 lsn_idle;	/* of which accepted none */
	int			 notify_fd;	/* owned eventfd */
	struct event		 notify_ev;
	struct event		 pause_ev;	/* re-check paused accepts */
	_Atomic int		 cmd;		/* enum wrk_cmd */
	_Atomic int		 exited;
	int			 draining;
	int			 emfile_paused;	/* EMFILE: all listeners off */
	size_t			 npaused;	/* listeners at a limit */
	struct snap		*snap;		/* ref: last seen snapshot */
	int			 rechecking;	/* in relay_recheck() */
	struct relay_wrk	 relay;		/* its connections */
	struct relay_udp_wrk	 udp;		/* its UDP flows */
	struct wrk_stats	 stats;		/* relay counts most */
	struct log_rl		 rl;		/* repeated complaints */
	/* From the main thread (under grp->lq_mu): */
	struct lsn_group	 lq_add;	/* given, not taken yet; owned */
	struct wrk_want		*lq_want;	/* ref: the set to listen on;
						   NULL: keep what it has */
	_Atomic uint64_t	 lsn_gen;	/* gen of the wrk_want w holds
						   to; only w writes */
	struct event		 sweep_ev;	/* reload drain (relay_sweep) */
	uint64_t		 health_seen;	/* grp->health_gen last acted
						   on; this thread only */
};

/* worker_group.c: the group's lifecycle and fd budget, main thread. */

/*
 * Set g up for snapshots from slot: its counters, mutex and eventfds,
 * no worker yet.  Raises the soft open file limit to the hard one,
 * which wrk_group_create splits.  0, or -1 (errno).  wrk_group_free
 * undoes it, also after a failure.
 */
int	 wrk_group_init(struct wrk_group *, struct snap_slot *slot,
	    size_t pipe_size, int no_splice);
/*
 * ProxyConfig maxConnections (0: none), within what the fds allow
 * (warns when want is more).  Returns the connections the open file
 * limit allows.  At startup and on reload.
 */
uint32_t wrk_group_max_conns(struct wrk_group *, uint32_t want);
/*
 * Split the open file limit again for nsock listener sockets (a reload
 * opened or closed some, or moved addresses between per-worker and
 * shared sockets), as wrk_group_create did at startup, and apply the
 * last maxConnections within it.  The workers read fd_cap atomically
 * and the pipes' share does not move, so this is safe while they run.
 * Not logged: wrk_group_log_budget.  Returns 1 when fd_cap changed.
 */
int	 wrk_group_budget(struct wrk_group *, uint64_t nsock);
/* Log the budget, each line opened with prefix ("" or "reload: "). */
void	 wrk_group_log_budget(const struct wrk_group *, const char *prefix);
/*
 * Create n workers, worker i on listener group groups[i] (each taken
 * over, also on failure).  First the open file limit is split between
 * the listener sockets the groups hold (a shared one once), fixed fds,
 * the reserve (the caller's), the pipe pools and the connections (two
 * fds each), and logged; then maxConnections want (0: none) applies as
 * wrk_group_max_conns does.  0, or -1 with err.
 */
int	 wrk_group_create(struct wrk_group *, struct lsn_group *groups,
	    unsigned n, uint64_t reserve, uint32_t want, char *err,
	    size_t errlen);
/*
 * Start every worker's thread, with every signal blocked in it so only
 * the main thread gets them.  0, or -1 with err (the ones started run:
 * stop them with wrk_group_command).
 */
int	 wrk_group_start(struct wrk_group *, char *err, size_t errlen);
/* Store cmd in every worker and wake it. */
void	 wrk_group_command(struct wrk_group *, enum wrk_cmd);
/*
 * An active check marked an endpoint down: every worker closes, once
 * woken, the established connections to a down endpoint of a Service
 * port with health-on-down: close (relay_health_close).  Bumps the
 * group's health generation and wakes each worker; a burst of calls
 * collapses into one walk per worker.  Any thread (the health
 * engine's notify callback, on a transition to down), as long as the
 * workers exist: stop the engine before wrk_group_free.
 */
void	 wrk_group_health_changed(struct wrk_group *);
/* g->done_fd is readable: 1 once every worker has exited, else 0. */
int	 wrk_group_exited(struct wrk_group *);
/* Join and free every worker, then the group's own resources. */
void	 wrk_group_free(struct wrk_group *);

/* worker.c: one worker. */

/*
 * Set up worker id of grp: its base, eventfd and listeners (taken over
 * from lsns).  0, or -1 with err.  Main thread, before wrk_start.
 */
int	 wrk_init(struct wrk *, struct wrk_group *, unsigned id,
	    struct lsn_group *lsns, char *err, size_t errlen);
/* Start the thread.  0, or -1 (errno). */
int	 wrk_start(struct wrk *);
/* From the main thread: store cmd and wake the worker. */
void	 wrk_command(struct wrk *, enum wrk_cmd);
/* Join the thread (if started) and free everything the worker owns. */
void	 wrk_free(struct wrk *);

/* worker_lsn.c: the listener set, reconciled. */

/*
 * Listener reconciliation.  The main thread states the whole set of
 * addresses every worker must listen on (wrk_lsn_want) and hands each
 * worker the new sockets it needs (wrk_lsn_give).  A worker, once
 * woken, diffs what it holds, plus what it was given, against the
 * latest set: a socket on an address still wanted is kept as it is
 * (never closed and reopened); one on an address no longer wanted is
 * taken off the loop, what is queued on it is accepted and served
 * under the snapshot then published, and it is closed.  Then the
 * worker records the set's generation and writes 1 to grp->ack_fd.
 * A burst of changes collapses into one pass to the last set, in
 * whatever order they arrived (level-triggered, STYLE.md lesson 7):
 * replaying queued additions and removals out of order once left a
 * socket open that the main thread believed closed.
 */
struct wrk_want;

/*
 * A listener set to publish, from the main thread's record: every
 * address of cur except those marked in skip (NULL: none), plus every
 * address of add (NULL: none).  Returns it (the caller's until
 * wrk_lsn_want or wrk_want_free), or NULL when out of memory.
 */
struct wrk_want	*wrk_want_table(const struct lsn_table *cur,
	    const unsigned char *skip, const struct lsn_table *add);
/* Free a set that was not published; NULL is fine. */
void	 wrk_want_free(struct wrk_want *);
/*
 * From the main thread: make want (consumed) the set of addresses
 * every worker of g listens on, and wake them.  Cannot fail.  Returns
 * the set's generation (1 or more, increasing).
 */
uint64_t wrk_lsn_want(struct wrk_group *, struct wrk_want *want);
/*
 * From the main thread: give w the sockets of add (moved: add is empty
 * afterwards) and wake it.  It listens on those whose address the
 * latest wrk_lsn_want set holds and serves and closes the rest.  0, or
 * -1 when out of memory (add untouched).
 */
int	 wrk_lsn_give(struct wrk *, struct lsn_group *add);
/* How many running workers of g have not yet reached set gen. */
unsigned wrk_lsn_pending(struct wrk_group *, uint64_t gen);

#endif
