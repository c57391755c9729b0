/*
 * udp_flow: one worker's table of UDP flows, a pure data structure (no
 * sockets, no libevent): relay_udp.c does the I/O.
 *
 * A flow is keyed by the client's address and port and by the local
 * address and port the client sent to (a wildcard or FREEBIND listener
 * receives for many local addresses: each is a flow of its own, and
 * its replies must leave from it).  The table is intrusive: the owner
 * embeds a struct udp_flow in its own flow struct and allocates it
 * (relay_udp.c keeps a bounded free list); the table never allocates
 * after udp_flow_tab_init.
 *
 * Buckets: a fixed power of two chosen at init from the bound, chained.
 * The hash is FNV-1a over the key from a per-table seed, so a client
 * choosing its ports cannot aim at one chain without knowing the seed.
 *
 * Idle order: each flow has an idle timeout of its own (its Service's
 * svcproxy.io/udp-idle-timeout), so one least-recently-used list no
 * longer puts the next to expire at its head.  The table keeps one
 * such list per distinct timeout instead: within a list every flow has
 * the same timeout, so its head is that list's next to expire, and a
 * sweep pops expired heads list by list: O(lists + expired), never a
 * walk of live flows.  Why not a timer wheel: timeouts range from
 * milliseconds to hours, which a single-level wheel only covers with
 * re-queuing (not O(expired)) and a hierarchical one with cascading;
 * the number of distinct timeouts is small (one per Service setting,
 * usually one or two), and a touch stays an O(1) move to a list's
 * tail.  A list is malloc'd the first time a table meets its timeout
 * (not per flow or datagram) and freed by the sweep once empty.
 */
#ifndef SVCPROXY_UDP_FLOW_H
#define SVCPROXY_UDP_FLOW_H

#include <stddef.h>
#include <stdint.h>

#include <sys/socket.h>

/* Client and local address, zero-padded so that memcmp compares. */
struct udp_key {
	uint8_t			 caddr[16];	/* v4: first 4 bytes */
	uint8_t			 laddr[16];
	uint16_t		 cport;		/* network order */
	uint16_t		 lport;		/* network order */
	uint8_t			 family;	/* AF_INET or AF_INET6 */
	uint8_t			 pad[3];	/* zero */
};

struct udp_idle;

struct udp_flow {
	struct udp_key		 key;
	struct udp_flow		*hnext;		/* bucket chain */
	struct udp_flow		*iprev;		/* idle order in its list */
	struct udp_flow		*inext;
	struct udp_idle		*idle;		/* its list, the table's */
	uint64_t		 last_ms;	/* last datagram either way */
};

/* The flows of one idle timeout, least recently used first. */
struct udp_idle {
	struct udp_idle		*next;		/* the table's lists */
	uint32_t		 timeout_ms;
	size_t			 n;
	struct udp_flow		*head;
	struct udp_flow		*tail;
};

struct udp_flow_tab {
	struct udp_flow		**b;		/* owned; nb buckets */
	size_t			 nb;		/* power of two */
	size_t			 n;		/* flows in the table */
	size_t			 max;		/* the bound (udp_flow_full) */
	uint64_t		 seed;
	struct udp_idle		*lists;		/* owned, each malloc'd */
};

/*
 * Fill k from a client and a local socket address (both AF_INET or
 * both AF_INET6).  0, or -1 for another family or a mismatch.
 */
int	 udp_key_make(struct udp_key *k, const struct sockaddr *client,
	    const struct sockaddr *local);

/*
 * A table for at most max flows (max > 0), hashing from seed.  0, or -1
 * when out of memory.  udp_flow_tab_free frees the buckets, not the
 * flows (their owner's), also on a zeroed table.
 */
int	 udp_flow_tab_init(struct udp_flow_tab *, size_t max, uint64_t seed);
void	 udp_flow_tab_free(struct udp_flow_tab *);

/* The flow of k, or NULL. */
struct udp_flow *udp_flow_find(const struct udp_flow_tab *,
	    const struct udp_key *k);
/* Is the table at its bound? */
static inline int
udp_flow_full(const struct udp_flow_tab *t)
{
	return t->n >= t->max;
}
/*
 * Add f (its key set, not in the table, no flow of that key there) as
 * the most recently used at now_ms, to expire after timeout_ms idle.
 * The caller checked udp_flow_full.  0, or -1 when a list for a new
 * timeout cannot be allocated (f is not added).
 */
int	 udp_flow_insert(struct udp_flow_tab *, struct udp_flow *f,
	    uint64_t now_ms, uint32_t timeout_ms);
/* Take f out of the table (its memory stays the caller's). */
void	 udp_flow_remove(struct udp_flow_tab *, struct udp_flow *f);
/* f was used at now_ms: it becomes the most recently used. */
void	 udp_flow_touch(struct udp_flow_tab *, struct udp_flow *f,
	    uint64_t now_ms);
/*
 * f's idle timeout becomes timeout_ms (a reload changed it), its idle
 * time kept.  0, or -1 when out of memory (f keeps its old timeout).
 */
int	 udp_flow_set_timeout(struct udp_flow_tab *, struct udp_flow *f,
	    uint32_t timeout_ms);
/* f's idle timeout. */
static inline uint32_t
udp_flow_timeout(const struct udp_flow *f)
{
	return f->idle->timeout_ms;
}
/*
 * Hand every flow idle for its timeout or more at now_ms to expire,
 * which must take it out of the table (udp_flow_remove); then free the
 * lists left empty.  Returns how many expired.
 */
size_t	 udp_flow_expire(struct udp_flow_tab *, uint64_t now_ms,
	    void (*expire)(struct udp_flow *, void *), void *arg);
/*
 * Call fn for every flow; fn may remove the flow it is given, and no
 * other.
 */
void	 udp_flow_walk(struct udp_flow_tab *,
	    void (*fn)(struct udp_flow *, void *), void *arg);
/* Some flow of the table, or NULL when it is empty. */
struct udp_flow *udp_flow_any(const struct udp_flow_tab *);

#endif
