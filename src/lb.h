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
 *     hooks (lb_ops.set_up/set_down) are there for an algorithm that
 *     would rebalance a precomputed table; none does (Maglev keeps its
 *     table fixed so that instances agree, and falls back along the
 *     client's probe sequence instead).
 *   - The hooks reach the snapshot given to snap_set_up() only.  One a
 *     reload is building meanwhile reads the state when its build runs;
 *     a change after that read reaches its table only with the next
 *     change (pick still skips the endpoint meanwhile).
 * Ejection (passive outlier detection, Envoy's).  lb_fail counts a
 * failed connect; at the port's hc.outlier_failures in a row (0: off)
 * the endpoint is ejected from new connections for hc_eject_ms() of
 * its back-off (Envoy's multiplier: one more per ejection, one less per
 * base ejection time it has since spent back in), unless that would
 * eject more than
 * eject_max_percent of the set's endpoints (counted then, O(n): only
 * on an ejection, never per pick).  A worker writes it (the one whose
 * failure reaches the threshold: an exchange of fails_in_row picks
 * one when several fail at once); picks read it with a relaxed load
 * of ejected_until_ms, compared with the flow's cached clock, so a
 * pick stays O(1) with no clock call.  It ends by itself at that
 * time, or earlier when the endpoint's active check (lb_ep.hc) passes
 * after the ejection began.  The live state belongs to the address
 * and port, so an ejection applies to every Service port that has the
 * endpoint; the share is counted in the port whose failure ejects.
 * Two workers ejecting two endpoints at the same instant may each
 * count before the other's store: the share may then be passed by one.
 * The weight is configuration, not health: it sits in the snapshot's
 * lb_ep (default 1) and changes only with a new snapshot.  Weight 0
 * drains: lb_flow_may() refuses the endpoint to every new connection,
 * whatever the algorithm, while it stays in the set (its connections,
 * /status).
 */
#ifndef SVCPROXY_LB_H
#define SVCPROXY_LB_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <sys/socket.h>

#include "affinity-t.h"
#include "arena.h"
#include "health-t.h"
#include "health_state.h"
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
	_Atomic uint64_t	 bytes_up;	/* client to endpoint, TCP */
	_Atomic uint64_t	 bytes_down;	/* connections, at close */
	/* Passive outlier detection (issue 12): ejected from new
	   connections until this monotonic ms; times ejected so far;
	   the wall clock ms the ejection began, which an active check's
	   pass must come after to re-admit it early (cells keep wall
	   clock).  lb_fail writes them, see "Ejection" above. */
	_Atomic int64_t		 ejected_until_ms;
	_Atomic uint32_t	 ejections;
	_Atomic int64_t		 ejected_wall_ms;
	/* Envoy's ejection time multiplier: one up per ejection, one
	   down per base ejection time spent back in (lb_fail). */
	_Atomic uint32_t	 eject_backoff;
	struct strtab_node	 node;		/* in the table; key: */
	char			 key[];		/* "127.0.0.2:8080" */
};

/* Owned by the run context; mutated only by the one snapshot build
   running (at startup the main thread's, later the reload thread's):
   entries never move, so workers and the admin server read them through
   the pointers snapshots hold. */
struct lb_livetab {
	struct strtab		 t;		/* of lb_live, owned */
	struct aff_reg		 aff;		/* sessionAffinity tables,
						   owned (affinity.h) */
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

/* What a hashing algorithm (maglev) hashes of the client. */
enum lb_hash_key {
	LB_HASH_CLIENT_IP = 0,		/* the default */
	LB_HASH_CLIENT_IP_PORT,
};
#define LB_MAGLEV_TABLE_DEFAULT	65537	/* a prime (Maglev's paper) */
#define LB_MAGLEV_TABLE_MAX	655373	/* a prime; the largest allowed */

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
	/*
	 * The algorithm's parameters (issue 13), filled by the snapshot
	 * build from the Service's annotations over the ProxyConfig's,
	 * before ops->build runs.  Zero means the default.
	 */
	enum lb_hash_key	 hash_key;	/* maglev's key */
	uint32_t		 table_size;	/* maglev's, a prime; 0:
						   LB_MAGLEV_TABLE_DEFAULT */
	uint32_t		 slow_start_ms;	/* for lb_ep_weight(); 0: off */
	/*
	 * sessionAffinity: ClientIP (affinity.h): the Service port's table,
	 * one reference held by the snapshot, which drops it when freed;
	 * NULL: no affinity.  lb_pick asks it before ops->pick and records
	 * ops->pick's choice in it.
	 */
	struct aff_table	*aff;
	uint32_t		 aff_timeout_ms;	/* after the last use */
	uint32_t		 aff_max;	/* entries; the table's bound */
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
	int64_t			 now_ms;	/* monotonic ms: the worker
						   loop's cached clock, for
						   ejections */
	int64_t			 wall_ms;	/* the same instant, wall
						   clock ms (cells' clock) */
	int			 any_health;	/* set by lb_pick: the set is in
						   panic, health is ignored */
};

/* lb_ep_up's now_ms when ejection does not matter (status hooks). */
#define LB_NOW_ANY	INT64_MAX

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
 * With set->aff, the client's entry comes first, if its endpoint is
 * still in the set and lb_flow_may() lets it through; otherwise the
 * algorithm chooses and the choice is recorded (a retry after a failed
 * connect so replaces the entry).  Two bucket locks at most, O(1);
 * O(neps) once per entry after a reload moved its endpoint.
 */
struct lb_ep	*lb_pick(const struct lb_set *, struct lb_flow *);
/* The connection on ep ended (whether or not it ever connected). */
void		 lb_release(const struct lb_set *, struct lb_ep *);
/*
 * A connect to ep of set failed (refused, timed out, unreachable): count
 * it, and eject ep when that makes hc->outlier_failures in a row (hc
 * may be NULL: no ejection).  f gives the time (now_ms, wall_ms).
 * Returns how many ms ep is now ejected for, or 0 when this failure
 * ejected nothing.  Any worker.
 */
uint32_t	 lb_fail(const struct lb_set *set, struct lb_ep *ep,
		    const struct hc_config *hc, const struct lb_flow *f);
/* A connect to ep succeeded: the failures in a row start over. */
void		 lb_ok(struct lb_ep *);
int		 lb_flow_tried(const struct lb_flow *, size_t idx);

/* May flow use ep (its allow callback, if any, says yes)? */
static inline int
lb_flow_allows(const struct lb_flow *f, const struct lb_ep *ep)
{
	return f->allow == NULL || f->allow(ep, f->allow_arg);
}

/*
 * Is ep ejected at monotonic now_ms (LB_NOW_ANY: never)?  Not once the
 * ejection has run out, nor once ep's active check has passed since it
 * began.  One relaxed load when ep was never ejected or is back.
 */
static inline int
lb_ep_ejected(const struct lb_ep *ep, int64_t now_ms)
{
	if (atomic_load_explicit(&ep->live->ejected_until_ms,
	    memory_order_relaxed) <= now_ms)
		return 0;
	/* Pairs with lb_fail's release: ejected_wall_ms is the new one. */
	atomic_thread_fence(memory_order_acquire);
	return ep->hc == NULL || atomic_load_explicit(&ep->hc->last_ok_ms,
	    memory_order_relaxed) <= atomic_load_explicit(
	    &ep->live->ejected_wall_ms, memory_order_relaxed);
}

/*
 * Is ep up at monotonic now_ms (the flow's)?  Any thread (relaxed: see
 * the top of this file).
 */
static inline int
lb_ep_up(const struct lb_ep *ep, int64_t now_ms)
{
	return atomic_load_explicit(&ep->live->down,
	    memory_order_relaxed) == 0 && (ep->hc == NULL ||
	    atomic_load_explicit(&ep->hc->state, memory_order_relaxed) !=
	    HC_DOWN) && !lb_ep_ejected(ep, now_ms);
}

/*
 * ep's weight for a pick at wall clock wall_ms (the flow's), with slow
 * start over window_ms (the port's hc.slow_start_ms; 0: off): ramped
 * after its active check last brought it up (health_state.h,
 * hc_slow_start_weight).  For the algorithms that use weights.
 */
static inline uint32_t
lb_ep_weight(const struct lb_ep *ep, uint32_t window_ms, int64_t wall_ms)
{
	int64_t since;

	if (window_ms == 0 || ep->hc == NULL || (since = atomic_load_explicit(
	    &ep->hc->up_since_ms, memory_order_relaxed)) == 0)
		return ep->weight;
	return hc_slow_start_weight(ep->weight, wall_ms - since, window_ms);
}

/*
 * May flow be offered set's endpoint idx: not tried yet, not drained
 * (weight 0: it keeps its connections and takes no new one, whatever
 * the algorithm), up, and allowed by NetworkPolicy (asked last: it
 * costs the most)?  Every pick filters through this.
 */
static inline int
lb_flow_may(const struct lb_set *set, const struct lb_flow *f, size_t idx)
{
	return set->eps[idx].weight != 0 && !lb_flow_tried(f, idx) &&
	    (f->any_health ||
	    lb_ep_up(&set->eps[idx], f->now_ms)) &&
	    lb_flow_allows(f, &set->eps[idx]);
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
/* lb_maglev.c */
extern const struct lb_ops lb_maglev_ops;
/* lb_leastconn.c */
extern const struct lb_ops lb_leastconn_ops;
/* lb_random2.c */
extern const struct lb_ops lb_random2_ops;

#endif
