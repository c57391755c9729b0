/*
 * health: active checks of endpoints, on a thread and event loop of
 * their own, never on a worker's and never in a reload's way.
 *
 * What is checked is a set of targets: an endpoint address and check
 * port with the check's settings.  A target's result lands in its
 * cell, a small struct of atomics the data path and the admin server
 * read; the cell is keyed by (address, port, settings), so twenty
 * Service ports that select the same Pod port with the same settings
 * share one cell and one check, and a cell outlives every snapshot,
 * so health survives reload.
 *
 * Threads: cells are created by the one snapshot build running (as
 * lb_live: hc_celltab_get), written only by the health thread, read by
 * anyone.  hc_engine_want() may be called from any thread; it copies
 * the targets, wakes the health thread, and returns at once.  The
 * health thread diffs the wanted set against what it runs: a target
 * kept keeps its schedule and state, a new one starts with its first
 * check anywhere in its first interval (jitter: a reload or restart
 * does not fire every check at once), a dropped one is cancelled.
 * At most max_inflight probes run at once; the rest wait in order.
 */
#ifndef SVCPROXY_HEALTH_H
#define SVCPROXY_HEALTH_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <sys/socket.h>

#include "health_cell.h"
#include "health_state.h"
#include "probe.h"
#include "strtab.h"

#define HC_DEFAULT_INFLIGHT	1024	/* probes at once */

/* Transitions, for logging: called on the health thread. */
typedef void	 hc_notify_fn(void *arg, const struct hc_cell *,
		    enum hc_health from, enum hc_health to,
		    const char *reason);

struct hc_engine;

/*
 * A stopped engine; notify (may be NULL) hears every transition.
 * NULL with err when out of memory or descriptors.
 */
struct hc_engine *hc_engine_new(unsigned max_inflight, hc_notify_fn *notify,
		    void *arg, char *err, size_t errlen);
/* Start its thread.  0, or -1 with err. */
int		 hc_engine_start(struct hc_engine *, char *err, size_t errlen);
/*
 * Replace what is checked by t[0..n) (copied).  Any thread.  0, or -1
 * when out of memory (the engine goes on with the previous set).
 */
int		 hc_engine_want(struct hc_engine *, const struct hc_target *t,
		    size_t n);
/* Stop the thread, cancel every probe, free everything. */
void		 hc_engine_free(struct hc_engine *);

/* Counters of the engine, for /metrics and the tests. */
struct hc_engine_stats {
	uint64_t		 started;	/* probes started */
	uint64_t		 queued;	/* waited for an in-flight slot */
	uint64_t		 late_ms_max;	/* worst start delay */
	uint64_t		 late_over_interval; /* started later than one
						   interval after due */
	uint32_t		 targets;	/* being checked */
	uint32_t		 inflight;
};
void		 hc_engine_stats(struct hc_engine *, struct hc_engine_stats *);

#endif
