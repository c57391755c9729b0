/*
 * Maglev consistent hashing (NSDI 2016): a client's key (its IP, or
 * IP and port: lb_set.hash_key) picks an entry of a prime-sized table
 * built from the endpoints alone (maglev.h: sorted by address and
 * port, weighted), so every instance with the same endpoints sends a
 * client to the same one, and removing one of N endpoints moves about
 * 1/N of the clients.
 *
 * Fallback.  When the entry's endpoint may not be used (down, ejected,
 * refused by policy, or already tried by this connection), the next
 * choice is the next entry of the client's own probe sequence
 * (maglev.h), for up to LB_MAGLEV_PROBES entries, and then the first
 * usable endpoint in sorted order from a position the key picks.  All
 * of it depends only on the key and the table, so two instances agree
 * on the fallback too.
 *
 * No status hooks: the table never changes with health.  Rebuilding it
 * on a health change would make two instances whose health views
 * differ for a moment (checks run apart) disagree on every client the
 * rebuild moves; skipping a down endpoint at pick time moves only that
 * endpoint's clients, the same way everywhere.
 *
 * Weights shape the table (maglev.h); weight 0 gives no entry, so a
 * drained endpoint gets no new client.  Slow start does not apply: a
 * ramp would move clients with time, differently on each instance.
 *
 * Per pick: one FNV-1a over the key's 5 to 19 bytes, two 64-bit
 * mixes and two divisions, then one table load per probe; no atomic
 * but lb_flow_may()'s relaxed loads.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "lb.h"
#include "maglev.h"

#define LB_MAGLEV_PROBES	64	/* probe entries before the scan */

struct lb_maglev {
	uint32_t	 m;		/* table entries, a prime */
	int		 with_port;	/* hash the client's port too */
	uint32_t	 nsorted;	/* endpoints of weight > 0 */
	uint32_t	*sorted;	/* their eps indices, sorted;
					   snapshot arena */
	uint32_t	*table;		/* m eps indices, or MAGLEV_NONE;
					   snapshot arena */
};

/*
 * Fill st's sorted and table from set's endpoints.  The node list and
 * the population's scratch are this function's, freed before it
 * returns (they are not needed by pick).
 */
static int
lb_maglev_fill(struct lb_maglev *st, const struct lb_set *set,
    struct arena *a, char *err, size_t errlen)
{
	struct maglev_node	*nodes;
	uint64_t		*scratch;
	size_t			 i, n = set->neps;

	nodes = calloc(n ? n : 1, sizeof(*nodes));
	scratch = calloc(n ? 3 * n : 1, sizeof(*scratch));
	st->table = arena_calloc(a, st->m, sizeof(*st->table));
	st->sorted = arena_calloc(a, n ? n : 1, sizeof(*st->sorted));
	if (nodes == NULL || scratch == NULL || st->table == NULL ||
	    st->sorted == NULL) {
		free(nodes);
		free(scratch);
		snprintf(err, errlen, "out of memory for a Maglev table of "
		    "%u entries", st->m);
		return -1;
	}
	for (i = 0; i < n; i++) {
		nodes[i].addr = set->eps[i].addr;
		nodes[i].port = set->eps[i].port;
		nodes[i].weight = set->eps[i].weight;
		nodes[i].id = (uint32_t)i;
	}
	maglev_sort(nodes, n);
	for (i = 0, st->nsorted = 0; i < n; i++)
		if (nodes[i].weight != 0)
			st->sorted[st->nsorted++] = nodes[i].id;
	maglev_fill(nodes, n, st->table, st->m, scratch);
	free(nodes);
	free(scratch);
	return 0;
}

static int
lb_maglev_build(struct lb_set *set, struct arena *a, char *err,
    size_t errlen)
{
	struct lb_maglev	*st;
	uint32_t		 m;

	m = set->table_size ? set->table_size : LB_MAGLEV_TABLE_DEFAULT;
	if (m > LB_MAGLEV_TABLE_MAX || !maglev_is_prime(m)) {
		snprintf(err, errlen, "Maglev table size %u: must be a prime "
		    "no larger than %u", m, (unsigned)LB_MAGLEV_TABLE_MAX);
		return -1;
	}
	if (set->neps >= MAGLEV_NONE) {
		snprintf(err, errlen, "too many endpoints for Maglev");
		return -1;
	}
	if ((st = arena_alloc(a, sizeof(*st))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	st->m = m;
	st->with_port = set->hash_key == LB_HASH_CLIENT_IP_PORT;
	if (lb_maglev_fill(st, set, a, err, errlen) == -1)
		return -1;
	set->state = st;
	return 0;
}

static struct lb_ep *
lb_maglev_pick(const struct lb_set *set, const struct lb_flow *f)
{
	const struct lb_maglev	*st = set->state;
	uint64_t		 h;
	uint32_t		 j, step, e, prev = MAGLEV_NONE, k;

	if (st->nsorted == 0)
		return NULL;
	h = maglev_hash_sockaddr(f->client, st->with_port);
	j = maglev_first(h, st->m);
	step = maglev_step(h, st->m);
	for (k = 0; k < LB_MAGLEV_PROBES; k++) {
		/* Runs of one endpoint are common: ask once per run. */
		if ((e = st->table[j]) != prev) {
			if (lb_flow_may(set, f, e))
				return &set->eps[e];
			prev = e;
		}
		if ((j += step) >= st->m)
			j -= st->m;
	}
	for (k = 0, j = (uint32_t)(maglev_h2(h) % st->nsorted);
	    k < st->nsorted; k++) {
		if (lb_flow_may(set, f, st->sorted[j]))
			return &set->eps[st->sorted[j]];
		if (++j == st->nsorted)
			j = 0;
	}
	return NULL;
}

const struct lb_ops lb_maglev_ops = {
	.name = "maglev",
	.build = lb_maglev_build,
	.pick = lb_maglev_pick,
	.release = NULL,
	.set_up = NULL,
	.set_down = NULL,
};
