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
 * Idle order: a list from least to most recently used (udp_flow_touch
 * moves a flow to its end); with one idle timeout per table, its head
 * is always the next to expire, so expiry is O(expired), not a walk.
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

struct udp_flow {
	struct udp_key		 key;
	struct udp_flow		*hnext;		/* bucket chain */
	struct udp_flow		*iprev;		/* idle order */
	struct udp_flow		*inext;
	uint64_t		 last_ms;	/* last datagram either way */
};

struct udp_flow_tab {
	struct udp_flow		**b;		/* owned; nb buckets */
	size_t			 nb;		/* power of two */
	size_t			 n;		/* flows in the table */
	size_t			 max;		/* the bound (udp_flow_full) */
	uint64_t		 seed;
	struct udp_flow		*ihead;		/* least recently used */
	struct udp_flow		*itail;
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
 * the most recently used at now_ms.  The caller checked udp_flow_full.
 */
void	 udp_flow_insert(struct udp_flow_tab *, struct udp_flow *f,
	    uint64_t now_ms);
/* Take f out of the table (its memory stays the caller's). */
void	 udp_flow_remove(struct udp_flow_tab *, struct udp_flow *f);
/* f was used at now_ms: it becomes the most recently used. */
void	 udp_flow_touch(struct udp_flow_tab *, struct udp_flow *f,
	    uint64_t now_ms);
/*
 * The least recently used flow if it has been idle idle_ms or more at
 * now_ms, else NULL.  The caller removes it and asks again.
 */
struct udp_flow *udp_flow_expired(const struct udp_flow_tab *,
	    uint64_t now_ms, uint64_t idle_ms);

#endif
