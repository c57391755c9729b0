/*
 * maglev: the Maglev lookup table (Eisenbud et al., "Maglev: A Fast and
 * Reliable Software Network Load Balancer", NSDI 2016, section 3.4),
 * as pure functions: no allocation, no threads, no clock.
 *
 * What two instances must agree on is fixed here, and must never
 * change between versions (a client would move to another backend when
 * two versions run side by side behind ECMP):
 *   - Hashed bytes.  An address is a family tag (4 or 6), then its 4
 *     or 16 bytes in network order, then, when a port is hashed, the
 *     port in network order.  A v4-mapped IPv6 client (a dual-stack
 *     socket) counts as IPv4.  h = hash.h's FNV-1a 64 over them.
 *   - Two hashes of one h: maglev_h1 and maglev_h2 run h through the
 *     splitmix64 finalizer with two fixed seeds (FNV-1a alone mixes its
 *     last byte poorly into the low bits a modulo keeps).
 *   - An endpoint's permutation: offset = h1 % M, skip = h2 % (M - 1)
 *     + 1, the j-th choice (offset + j * skip) % M, h over its address
 *     and port.
 *   - Population order: endpoints sorted by (family, address bytes,
 *     port, weight); weights divided by their gcd.  The paper's rounds
 *     give each endpoint one turn; here a round is cut into sub-rounds
 *     t = 0, 1, ... and an endpoint of weight w takes a turn in the
 *     sub-rounds t < w, so it takes w turns per round and ends with w
 *     times the entries of a weight 1 endpoint (exactly, but for the
 *     last, partial round).  Within a sub-round the turns go by weight,
 *     heaviest first, then in sorted order.  Weight 0 takes no turn.
 *   - A client's key hash h gives its own probe sequence: entry
 *     (h1 + k * h2') % M for k = 0, 1, ..., with h2' = h2 % (M - 1) + 1.
 */
#ifndef SVCPROXY_MAGLEV_H
#define SVCPROXY_MAGLEV_H

#include <stddef.h>
#include <stdint.h>

#include <sys/socket.h>

#include "netaddr.h"

#define MAGLEV_NONE	UINT32_MAX	/* a table entry nobody holds */

/* One endpoint as the table sees it. */
struct maglev_node {
	struct ipaddr	 addr;
	uint16_t	 port;
	uint32_t	 weight;	/* 0: takes no entry */
	uint32_t	 id;		/* the caller's; table entries hold it */
};

/* Is n prime?  Trial division: table sizes only. */
int		 maglev_is_prime(uint32_t n);
/*
 * The key hash of address a, with port when with_port (see above).
 */
uint64_t	 maglev_hash_addr(const struct ipaddr *a, uint16_t port,
		    int with_port);
/* The same for a socket address; sa NULL hashes as no address. */
uint64_t	 maglev_hash_sockaddr(const struct sockaddr *sa, int with_port);
uint64_t	 maglev_h1(uint64_t h);
uint64_t	 maglev_h2(uint64_t h);
/* Where key hash h's probe sequence starts in a table of m, and its
   step (in [1, m - 1]). */
static inline uint32_t
maglev_first(uint64_t h, uint32_t m)
{
	return (uint32_t)(maglev_h1(h) % m);
}
static inline uint32_t
maglev_step(uint64_t h, uint32_t m)
{
	return (uint32_t)(maglev_h2(h) % (m - 1)) + 1;
}

/* Sort nodes into the population order's key (address, port, weight). */
void		 maglev_sort(struct maglev_node *nodes, size_t n);
/*
 * Fill table (m entries, m prime and > 1) from nodes, which maglev_sort
 * has sorted: every entry gets the id of a node, or MAGLEV_NONE for all
 * of them when no node has a weight.  scratch holds 3 * n uint64_t
 * (the caller's, free after).  Returns how many nodes took no entry
 * (weight 0, or more nodes than entries).  O(m log m + n log n).
 */
size_t		 maglev_fill(const struct maglev_node *nodes, size_t n,
		    uint32_t *table, uint32_t m, uint64_t *scratch);

#endif
