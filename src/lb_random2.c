/*
 * Random two choices (Mitzenmacher's power of two choices; Envoy's
 * least_request with choice_count 2): draw two distinct endpoints at
 * random, take the one with fewer active connections per unit of
 * weight (slow start's ramp included, lb_algo.h); on a tie the heavier,
 * else the first drawn.  Weight 0 drains: never chosen.
 *
 * O(1) expected: one atomic add (a per-set counter, hashed with
 * splitmix64 into 64 random bits: no lock, no state shared beyond the
 * set), two relaxed loads of active, and lb_flow_may for the two.  A
 * draw the flow may not use is replaced by a third or fourth draw;
 * when all four fail, a scan from the first draw takes the first
 * endpoint that may, so a pick never fails while one is usable.
 *
 * The draws are uniform: weights act through the comparison, so under
 * load an endpoint's share follows its weight; when idle the heavier of
 * two wins ties, which favours it but not in exact proportion.
 */
#include "config.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include "lb.h"
#include "lb_algo.h"

struct lb_r2 {
	_Atomic uint64_t	 next;		/* hashed into draws */
	uint64_t		 seed;		/* differs per set */
};

static int
lb_r2_build(struct lb_set *set, struct arena *a, char *err, size_t errlen)
{
	struct lb_r2 *r2;

	if ((r2 = arena_alloc(a, sizeof(*r2))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	atomic_init(&r2->next, 0);
	/* Two sets must not draw in step: seed with where this one is. */
	r2->seed = lb_mix64((uint64_t)(uintptr_t)r2);
	set->state = r2;
	return 0;
}

/* May f use endpoint i, which has a weight? */
static int
lb_r2_usable(const struct lb_set *set, const struct lb_flow *f, size_t i)
{
	return set->eps[i].weight != 0 && lb_flow_may(set, f, i);
}

/*
 * Draw d (0..3) of the random bits r, r2 (r2 used from draw 2 on):
 * draw 1 differs from draw 0 (uniform over the n - 1 others).
 */
static size_t
lb_r2_draw(uint64_t r, uint64_t r2, unsigned d, size_t n, size_t first)
{
	size_t x;

	if (d == 0)
		return lb_below((uint32_t)r, (uint32_t)n);
	if (d == 1) {
		x = lb_below((uint32_t)(r >> 32), (uint32_t)n - 1);
		return x >= first ? x + 1 : x;
	}
	return lb_below((uint32_t)(d == 2 ? r2 : r2 >> 32), (uint32_t)n);
}

static struct lb_ep *
lb_r2_pick(const struct lb_set *set, const struct lb_flow *f)
{
	struct lb_r2	*r2 = set->state;
	uint64_t	 r, rr = 0, wa, wb;
	size_t		 c[2], x0 = 0, x, k, n = set->neps;
	uint32_t	 aa, ab;
	unsigned	 d, got = 0;

	if (n == 0)
		return NULL;
	if (n == 1)
		return lb_r2_usable(set, f, 0) ? &set->eps[0] : NULL;
	r = lb_mix64(atomic_fetch_add_explicit(&r2->next, 1,
	    memory_order_relaxed) ^ r2->seed);
	/* Two usable candidates: two draws, two more when one of those
	   may not be used (down, drained, refused, tried). */
	for (d = 0; d < 4 && got < 2; d++) {
		if (d == 2)
			rr = lb_mix64(r);
		x = lb_r2_draw(r, rr, d, n, x0);
		if (d == 0)
			x0 = x;
		if ((got == 1 && x == c[0]) || !lb_r2_usable(set, f, x))
			continue;
		c[got++] = x;
	}
	if (got == 2) {
		aa = atomic_load_explicit(&set->eps[c[0]].live->active,
		    memory_order_relaxed);
		ab = atomic_load_explicit(&set->eps[c[1]].live->active,
		    memory_order_relaxed);
		wa = lb_weight_milli(set, &set->eps[c[0]], f);
		wb = lb_weight_milli(set, &set->eps[c[1]], f);
		if (lb_load_less(ab, wb, aa, wa) ||
		    (!lb_load_less(aa, wa, ab, wb) && wb > wa))
			return &set->eps[c[1]];
		return &set->eps[c[0]];
	}
	if (got == 1)
		return &set->eps[c[0]];
	for (k = 1; k < n; k++)
		if (lb_r2_usable(set, f, (x0 + k) % n))
			return &set->eps[(x0 + k) % n];
	return NULL;
}

const struct lb_ops lb_random2_ops = {
	.name = "random-two",
	.build = lb_r2_build,
	.pick = lb_r2_pick,
	.release = NULL,
	.set_up = NULL,
	.set_down = NULL,
};
