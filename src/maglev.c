/*
 * maglev: the lookup table's population and the hashes two instances
 * must share (maglev.h says which, and why they never change).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "maglev.h"

/* The seeds of the two hashes: "maglev01" and "maglev02" in ASCII. */
#define MAGLEV_SEED1	0x6d61676c65763031ULL
#define MAGLEV_SEED2	0x6d61676c65763032ULL

int
maglev_is_prime(uint32_t n)
{
	uint32_t d;

	if (n < 2)
		return 0;
	if (n % 2 == 0)
		return n == 2;
	for (d = 3; d <= n / d; d += 2)
		if (n % d == 0)
			return 0;
	return 1;
}

/* splitmix64's finalizer (Steele, Lea and Flood, 2014). */
static uint64_t
maglev_mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

uint64_t
maglev_h1(uint64_t h)
{
	return maglev_mix(h ^ MAGLEV_SEED1);
}

uint64_t
maglev_h2(uint64_t h)
{
	return maglev_mix(h ^ MAGLEV_SEED2);
}

uint64_t
maglev_hash_addr(const struct ipaddr *a, uint16_t port, int with_port)
{
	uint64_t	h = FNV1A64_INIT;
	uint8_t		pb[2];

	if (a->family == AF_INET) {
		h = fnv1a64_byte(h, 4);
		h = fnv1a64_buf(h, a->b, 4);
	} else if (a->family == AF_INET6) {
		h = fnv1a64_byte(h, 6);
		h = fnv1a64_buf(h, a->b, 16);
	} else
		h = fnv1a64_byte(h, 0);
	if (with_port) {
		pb[0] = (uint8_t)(port >> 8);
		pb[1] = (uint8_t)port;
		h = fnv1a64_buf(h, pb, 2);
	}
	return h;
}

uint64_t
maglev_hash_sockaddr(const struct sockaddr *sa, int with_port)
{
	struct ipaddr	a;
	uint16_t	port = 0;

	if (sa == NULL) {
		memset(&a, 0, sizeof(a));
		return maglev_hash_addr(&a, 0, with_port);
	}
	ipaddr_from_sockaddr(sa, &a, &port);
	return maglev_hash_addr(&a, port, with_port);
}

/* The family's rank in the order: the same on every system. */
static int
maglev_family_rank(int family)
{
	return family == AF_INET ? 4 : family == AF_INET6 ? 6 : 0;
}

static int
maglev_node_cmp(const void *pa, const void *pb)
{
	const struct maglev_node	*a = pa, *b = pb;
	int				 ra, rb, c;

	ra = maglev_family_rank(a->addr.family);
	rb = maglev_family_rank(b->addr.family);
	if (ra != rb)
		return ra < rb ? -1 : 1;
	if ((c = memcmp(a->addr.b, b->addr.b, ra == 4 ? 4 : 16)) != 0)
		return c;
	if (a->port != b->port)
		return a->port < b->port ? -1 : 1;
	if (a->weight != b->weight)
		return a->weight < b->weight ? -1 : 1;
	/* Equal keys: interchangeable for the table; keep qsort total. */
	return a->id < b->id ? -1 : a->id > b->id;
}

void
maglev_sort(struct maglev_node *nodes, size_t n)
{
	if (n > 1)
		qsort(nodes, n, sizeof(*nodes), maglev_node_cmp);
}

static int
maglev_u64_cmp(const void *pa, const void *pb)
{
	uint64_t a = *(const uint64_t *)pa, b = *(const uint64_t *)pb;

	return a < b ? -1 : a > b;
}

static uint32_t
maglev_gcd(uint32_t a, uint32_t b)
{
	uint32_t t;

	while (b != 0) {
		t = a % b;
		a = b;
		b = t;
	}
	return a;
}

/*
 * Turn order: the nodes that take turns, heaviest first, then in sorted
 * order; each as (~w << 32 | index) in ord, so one integer sort gives
 * it.  Returns how many.
 */
static size_t
maglev_turn_order(const struct maglev_node *nodes, size_t n, uint64_t *ord)
{
	uint32_t	g = 0;
	size_t		i, k = 0;

	for (i = 0; i < n; i++)
		if (nodes[i].weight != 0)
			g = maglev_gcd(nodes[i].weight, g);
	for (i = 0; i < n; i++)
		if (nodes[i].weight != 0)
			ord[k++] = (uint64_t)(uint32_t)~(nodes[i].weight / g) <<
			    32 | (uint64_t)i;
	qsort(ord, k, sizeof(*ord), maglev_u64_cmp);
	return k;
}

#define MAGLEV_ORD_W(o)		((uint32_t)~(uint32_t)((o) >> 32))
#define MAGLEV_ORD_I(o)		((size_t)(uint32_t)(o))

size_t
maglev_fill(const struct maglev_node *nodes, size_t n, uint32_t *table,
    uint32_t m, uint64_t *scratch)
{
	uint64_t	*ord = scratch, *cur = scratch + n, *skip = scratch + 2 * n;
	uint64_t	 h, c;
	size_t		 nact, live, k, i;
	uint32_t	 filled = 0, t;

	for (c = 0; c < m; c++)
		table[c] = MAGLEV_NONE;
	if ((nact = maglev_turn_order(nodes, n, ord)) == 0)
		return n;
	for (k = 0; k < nact; k++) {
		i = MAGLEV_ORD_I(ord[k]);
		h = maglev_hash_addr(&nodes[i].addr, nodes[i].port, 1);
		cur[i] = maglev_first(h, m);
		skip[i] = maglev_step(h, m);
	}
	/* Sub-round t: the first live nodes of ord (those of weight > t). */
	for (t = 0, live = nact;; t++) {
		while (live > 0 && MAGLEV_ORD_W(ord[live - 1]) <= t)
			live--;
		if (live == 0) {
			t = 0;
			live = nact;
		}
		for (k = 0; k < live; k++) {
			i = MAGLEV_ORD_I(ord[k]);
			/* m is prime: the permutation reaches every entry,
			   and one is free while filled < m. */
			for (c = cur[i]; table[c] != MAGLEV_NONE;)
				if ((c += skip[i]) >= m)
					c -= m;
			table[c] = nodes[i].id;
			if ((c += skip[i]) >= m)
				c -= m;
			cur[i] = c;
			if (++filled == m)
				return (n - nact) + (nact > m ? nact - m : 0);
		}
	}
}
