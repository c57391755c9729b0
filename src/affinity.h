/*
 * affinity: sessionAffinity: ClientIP, as kube-proxy keeps it.
 *
 * One table per Service port (its label and protocol: every address
 * the port is served on, ClusterIP, NodePort, load-balancer IP or
 * external IP, shares it, as kube-proxy's nftables mode keys its
 * affinity sets per service port), mapping a client IP (v4 or v6,
 * exact) to the endpoint it was last sent to and when.  lb_pick (lb.c)
 * asks it before the algorithm and records the choice after.
 *
 * Layout.  A fixed array of buckets of AFF_WAYS entries, each bucket
 * behind a spinlock of its own (an atomic_flag); the client's hash
 * picks the bucket.  A lookup or an add locks one bucket and scans its
 * AFF_WAYS entries: O(1), no allocation, no lock shared by the whole
 * table, and the critical section is a few compares and stores.  The
 * bucket count is a power of two with room for twice the maximum on
 * average (at most 4 entries a bucket when the table holds its
 * maximum), so a bucket overflows before the maximum only rarely.
 *
 * Bound.  At most max entries (the Service port's setting).  An add
 * reuses an expired entry of its bucket first; with none, and the
 * table at its maximum or the bucket full, it is refused and counted
 * (aff_table.full): that client is balanced by the algorithm on each
 * connection until room frees.  Expired entries are dropped when a
 * pick meets one, when an add needs its room, and by aff_expire()
 * (the /metrics scrape: O(buckets)).
 *
 * Time is the caller's monotonic ms (the worker loop's cached clock),
 * so tests inject it.  An entry expires timeout_ms after the client's
 * last connection.
 *
 * Ownership.  The registry (struct aff_reg, in the run context's
 * struct lb_livetab) owns every table.  A snapshot build takes a
 * reference per Service port with ClientIP affinity (aff_reg_get) and
 * the snapshot drops it when freed (aff_unref, any thread).  The next
 * build frees the tables no snapshot holds any more (aff_reg_sweep), so
 * a table lives until the first build after the last snapshot that
 * used it is gone: the entries of a port that stays survive reloads,
 * those of a removed port go.  A new bound that needs another bucket
 * count gets a new table, which copies the old one's live entries and
 * retires it (out of the index, freed with its last snapshot; back in
 * the index if the new one's snapshot is dropped unpublished).  Only
 * the build thread touches the registry; workers touch the buckets
 * (locked) and the counters.
 *
 * Memory: 40 bytes an entry, AFF_WAYS to a bucket (328 bytes); 16384
 * buckets (5.4 MB) for the default 65536, backed page by page as
 * clients land in them.
 */
#ifndef SVCPROXY_AFFINITY_H
#define SVCPROXY_AFFINITY_H

#include <stddef.h>
#include <stdint.h>

#include <sys/socket.h>

#include "affinity-t.h"

/* A client as a table key: its address and the address's hash. */
struct aff_key {
	uint8_t			 addr[16];
	uint8_t			 family;	/* 4 or 6 */
	uint64_t		 hash;
};

void		 aff_reg_init(struct aff_reg *);
/* Free every table (no snapshot may use any of them any more). */
void		 aff_reg_free(struct aff_reg *);
/* Free the tables no snapshot holds.  The build thread, before a build. */
void		 aff_reg_sweep(struct aff_reg *);
/*
 * The table for key (a Service port's "label/protocol"), sized for max
 * entries, with one reference for the caller.  When the existing one
 * was sized for another maximum, a new one replaces it in the index
 * and takes over its entries not expired at now_ms (timeout_ms).
 * NULL when out of memory.  The build thread only.
 */
struct aff_table *aff_reg_get(struct aff_reg *, const char *key,
		    uint32_t max, int64_t now_ms, uint32_t timeout_ms);
/* Drop a reference (aff_reg_get's).  Any thread; NULL is ok. */
void		 aff_unref(struct aff_table *);
/* The buckets a table for max entries has. */
size_t		 aff_buckets_for(uint32_t max);

/* k from a client's address: 0, or -1 when sa is not IPv4 or IPv6. */
int		 aff_key_from(struct aff_key *k, const struct sockaddr *sa);

/*
 * k's entry, if it has one not expired at now_ms: 1 with *live and
 * *idx filled and its last use set to now_ms; 0 (an expired one is
 * dropped).  Any worker.
 */
int		 aff_get(struct aff_table *, const struct aff_key *k,
		    int64_t now_ms, uint32_t timeout_ms,
		    struct lb_live **live, uint32_t *idx);
/*
 * Record k -> live (at eps index idx) used at now_ms, replacing k's
 * entry if any.  0, or -1 when refused (the table holds max entries, or
 * k's bucket is full, and none has expired): counted in full.  Any
 * worker.
 */
int		 aff_put(struct aff_table *, const struct aff_key *k,
		    struct lb_live *live, uint32_t idx, int64_t now_ms,
		    uint32_t timeout_ms, uint32_t max);
/* Drop k's entry if it still names live (NULL: whatever it names).
   Any worker. */
void		 aff_drop(struct aff_table *, const struct aff_key *k,
		    const struct lb_live *live);
/*
 * Drop every entry expired at now_ms; the entries left.  O(buckets):
 * for the /metrics scrape, not the data path.  Any thread.
 */
size_t		 aff_expire(struct aff_table *, int64_t now_ms,
		    uint32_t timeout_ms);
/* Entries held now (expired ones not yet dropped included). */
size_t		 aff_count(const struct aff_table *);

#endif
