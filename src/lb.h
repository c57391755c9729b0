/*
 * lb: endpoint choice behind one small interface.
 *
 * An algorithm is a struct lb_ops found by name (lb_find).  build runs
 * once per snapshot, where the snapshot is built, and may allocate its state in
 * the snapshot's arena; pick runs per connection attempt on a worker
 * and never allocates or blocks; release runs when a connection that
 * pick chose ends.  Several workers call pick on the same set at once:
 * whatever state an algorithm changes there must be atomic.
 *
 * Live state (active connections, failures, health) belongs to an
 * endpoint's address and port, not to a snapshot: it lives in a struct
 * lb_livetab that outlives every snapshot, so a reload keeps the counts
 * and the health, and later algorithms (least connections) and health
 * checks read the same ones.
 *
 * Health, threads and atomics.  An endpoint is up (the default, so an
 * endpoint nobody checks is always up) or down, in lb_live.down.
 *   - Writer: the main thread only (a health checker reporting there),
 *     through lb_live_set_up(), or snap_set_up() which also tells the
 *     algorithm of every Service port that has the endpoint.
 *   - Readers: pick on the workers (lb_ep_up(), a relaxed load: the flag
 *     guards no other data, and a pick that sees a change a little late
 *     costs one connect at worst, which the retry covers), a snapshot
 *     build (an algorithm's build may read it to lay out its table) and
 *     the admin server.
 *   - Active checks (issue 12): an endpoint whose check cell (lb_ep.hc,
 *     written by the health thread) says down is down too.  When a
 *     Service port has no healthy endpoint left (or fewer than its
 *     panic threshold), picks ignore health altogether (panic, below)
 *     rather than take the whole Service down for a wrong check.
 *   - Every pick skips a down endpoint (lb_flow_may()), whatever its
 *     algorithm, so correctness never depends on a status hook; the
 *     hooks (lb_ops.set_up/set_down) exist for algorithms with a
 *     precomputed table (Maglev) to rebalance it.
 *   - The hooks reach the snapshot given to snap_set_up() only.  One a
 *     reload is building meanwhile reads the state when its build runs;
 *     a change after that read reaches its table only with the next
 *     change (pick still skips the endpoint meanwhile).
 * The weight is configuration, not health: it sits in the snapshot's
 * lb_ep (default 1) and changes only with a new snapshot.
 */
#ifndef SVCPROXY_LB_H
#define SVCPROXY_LB_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <sys/socket.h>

#include "arena.h"
#include "health-t.h"
#include "netaddr.h"
#include "strtab.h"

#define LB_MAX_TRIES	3	/* endpoints one connection may try */

/*
 * Shared, atomics only.  Created by lb_live_get() during a snapshot build,
 * freed with the table; workers only touch the counters.
 */
struct lb_live {
	_Atomic uint32_t	 active;	/* open connections */
	_Atomic uint32_t	 down;		/* 0: up (default); main thread
						   writes, see above */
	_Atomic uint64_t	 total;		/* connections picked */
	_Atomic uint64_t	 failures;	/* failed connects */
	_Atomic uint32_t	 fails_in_row;	/* since the last success */
	/* Passive outlier detection (issue 12): ejected from new
	   connections until this monotonic ms; times ejected so far. */
	_Atomic int64_t		 ejected_until_ms;
	_Atomic uint32_t	 ejections;
	struct strtab_node	 node;		/* in the table; key: */
	char			 key[];		/* "127.0.0.2:8080" */
};

/* Owned by the run context; mutated only by the one snapshot build
   running (at startup the main thread's, later the reload thread's):
   entries never move, so workers and the admin server read them through
   the pointers snapshots hold. */
struct lb_livetab {
	struct strtab		 t;		/* of lb_live, owned */
};

struct lb_ep {
	struct sockaddr_storage	 sa;
	socklen_t		 salen;
	struct ipaddr		 addr;		/* sa's, for policy */
	uint16_t		 port;		/* sa's: the target port */
	int32_t			 pol_pod;	/* snapshot's pol_table; -1 */
	char			 name[NETADDR_STRLEN + 8]; /* "[::1]:80" */
	const char		*pod;		/* snapshot arena; or NULL */
	uint32_t		 weight;	/* 1 unless configured */
	struct lb_live		*live;		/* livetab; outlives snaps */
	const struct hc_cell	*hc;		/* its active check's cell
						   (health-t.h: outlives
						   snaps); NULL: unchecked */
};

struct lb_ops;

/* The endpoints of one Service port, in a snapshot's arena. */
struct lb_set {
	const struct lb_ops	*ops;
	struct lb_ep		*eps;		/* snapshot arena */
	size_t			 neps;
	void			*state;		/* ops's; snapshot arena */
	_Atomic uint32_t	 panic;		/* no endpoint is healthy: picks
						   ignore health (issue 12) */
	/*
	 * Panic (Envoy's panic threshold), for a set with an active check
	 * only (hc_gen NULL: never in panic).  Whether the set is in
	 * panic is decided again only when hc_gen has moved since the
	 * last decision (hc_seen): the health side bumps it after every
	 * cell transition.  So a pick costs two loads and a compare in
	 * the normal case, and the O(neps) count runs once per
	 * transition per set, not on every pick that meets a down
	 * endpoint (which, during a long outage of one endpoint, would
	 * be every pick).  One worker decides at a time (hc_busy, a
	 * try-lock: the others go on with the flag as it is), and the
	 * one whose exchange flips panic tells panic_note, so each
	 * entry and exit is told once.
	 */
	const _Atomic uint64_t	*hc_gen;	/* celltab's; NULL: no check */
	_Atomic uint64_t	 hc_seen;	/* *hc_gen when last decided */
	atomic_flag		 hc_busy;	/* held by the one deciding */
	uint8_t			 panic_percent;	/* hc_config's */
	/* Told of a panic entry (on 1) or exit, with the healthy count,
	   on the worker that saw it; NULL: nobody. */
	void			(*panic_note)(const struct lb_set *, int on,
				    size_t healthy, void *arg);
	void			*panic_arg;	/* panic_note's */
};

/*
 * One connection's view while it picks: who asks, what was tried, and
 * which endpoints it may use at all.  allow (optional: NULL lets every
 * endpoint through) is NetworkPolicy's say; pick must skip an endpoint
 * it refuses.  It runs on the worker, never allocates, and may be
 * called more than once for one endpoint.
 */
struct lb_flow {
	const struct sockaddr	*client;	/* borrowed */
	uint32_t		 tried[LB_MAX_TRIES];	/* eps indices */
	unsigned		 ntried;
	int			(*allow)(const struct lb_ep *, void *arg);
	void			*allow_arg;	/* allow's; borrowed */
	int			 any_health;	/* set by lb_pick: the set is in
						   panic, health is ignored */
};

struct lb_ops {
	const char	*name;		/* as ProxyConfig and the Service
					   annotation spell it */
	/*
	 * Set up set (its eps, neps and ops filled in), allocating from
	 * the snapshot's arena only.  0, or -1 with a message in err
	 * (the arena is exhausted, a table would be too large...): the
	 * snapshot build then fails, naming the Service port.
	 */
	int		(*build)(struct lb_set *, struct arena *, char *err,
			    size_t errlen);
	/*
	 * An endpoint for which lb_flow_may() says yes, or NULL when none
	 * is left.
	 */
	struct lb_ep	*(*pick)(const struct lb_set *, const struct lb_flow *);
	/* Optional: the connection pick chose has ended. */
	void		(*release)(const struct lb_set *, struct lb_ep *);
	/*
	 * Optional (HAProxy's set_server_status_up/down): ep of set has
	 * just gone up / down.  Main thread, while workers pick on set:
	 * whatever it changes must be published atomically, and nothing a
	 * pick may still read can be freed (the arena lives as long as
	 * the snapshot).  pick already skips down endpoints.
	 */
	void		(*set_up)(struct lb_set *, struct lb_ep *);
	void		(*set_down)(struct lb_set *, struct lb_ep *);
};

/* lb_registry.c */
/* The algorithm called name, or NULL. */
const struct lb_ops *lb_find(const char *name);
/*
 * Every algorithm's name, quoted, in sorted order, as the API server
 * lists supported values ("\"round-robin\""), into buf.  Returns buf.
 */
char		*lb_names(char *buf, size_t len);

/*
 * Pick for flow and account for it: the endpoint's active and total
 * counts go up and flow->tried remembers it.  NULL when every endpoint
 * was tried or the set is empty, or flow has used LB_MAX_TRIES.
 */
struct lb_ep	*lb_pick(const struct lb_set *, struct lb_flow *);
/* The connection on ep ended (whether or not it ever connected). */
void		 lb_release(const struct lb_set *, struct lb_ep *);
/* A connect to ep failed / succeeded. */
void		 lb_fail(struct lb_ep *);
void		 lb_ok(struct lb_ep *);
int		 lb_flow_tried(const struct lb_flow *, size_t idx);

/* May flow use ep (its allow callback, if any, says yes)? */
static inline int
lb_flow_allows(const struct lb_flow *f, const struct lb_ep *ep)
{
	return f->allow == NULL || f->allow(ep, f->allow_arg);
}

/*
 * Is ep up: not marked down, and its active check (if any) not down
 * (unknown counts as up)?  Any thread (relaxed: see the top of this
 * file; the cell's state guards no other data either).
 */
static inline int
lb_ep_up(const struct lb_ep *ep)
{
	return atomic_load_explicit(&ep->live->down,
	    memory_order_relaxed) == 0 && (ep->hc == NULL ||
	    atomic_load_explicit(&ep->hc->state, memory_order_relaxed) !=
	    HC_DOWN);
}

/*
 * May flow be offered set's endpoint idx: not tried yet, up, and
 * allowed by NetworkPolicy (asked last: it costs the most)?  Every
 * pick filters through this.
 */
static inline int
lb_flow_may(const struct lb_set *set, const struct lb_flow *f, size_t idx)
{
	return !lb_flow_tried(f, idx) && (f->any_health ||
	    lb_ep_up(&set->eps[idx])) && lb_flow_allows(f, &set->eps[idx]);
}

/*
 * The endpoints of set whose active check is not down, and whether that
 * many puts set in panic: none healthy, or fewer than panic_percent of
 * neps.  O(neps); any thread.
 */
size_t		 lb_healthy(const struct lb_set *);
int		 lb_panic_due(const struct lb_set *, size_t healthy);
/*
 * Is set in panic?  Decides again when the health generation moved
 * (see struct lb_set); lb_pick asks it on every pick.  Any thread.
 */
int		 lb_panic(const struct lb_set *);

void		 lb_livetab_init(struct lb_livetab *);
void		 lb_livetab_free(struct lb_livetab *);
/* The entry for key, created zeroed (up) on first use; NULL: out of
   memory. */
struct lb_live	*lb_live_get(struct lb_livetab *, const char *key);
/*
 * Mark l up (up != 0) or down.  Main thread only.  Returns 1 when the
 * state changed, 0 when it already was so; on 1 the caller tells the
 * algorithms (lb_set_status(), or snap_set_up() for a whole snapshot).
 */
int		 lb_live_set_up(struct lb_live *l, int up);
/*
 * ep of set has changed state (lb_live_set_up() returned 1): call the
 * algorithm's set_up or set_down hook, if it has one.  Main thread.
 */
void		 lb_set_status(struct lb_set *set, struct lb_ep *ep);

/* lb_rr.c */
extern const struct lb_ops lb_rr_ops;

#endif
