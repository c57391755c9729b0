/*
 * Least connections, weighted: the endpoint with the fewest active
 * connections (lb_live.active, shared by every Service port and worker
 * that uses the endpoint) per unit of weight, with slow start's ramp
 * (lb_algo.h).  Weight 0 drains: never chosen.
 *
 * A pick scans every endpoint: O(n) relaxed loads and one atomic add,
 * no lock.  The scan starts at a rotating offset (one shared counter)
 * and keeps the first of equals, so endpoints that tie (an idle
 * Service, or short connections that end before the next pick) take
 * turns instead of every worker herding onto the first one.  The start
 * rotates over the endpoints of non-zero weight only (listed at build):
 * a start on a drained endpoint would hand its turn to the next one,
 * which would then take two turns in every round of ties.  Policy's
 * verdict (lb_flow_may, the costly part) is asked only of an endpoint
 * that would beat the best so far.
 */
#include "config.h"

#include <stdatomic.h>
#include <stdio.h>

#include "lb.h"
#include "lb_algo.h"

struct lb_lc {
	_Atomic uint64_t	 next;		/* the scan's next start */
	uint32_t		*starts;	/* arena: eps indices of
						   weight > 0, in order */
	size_t			 nstarts;
};

static int
lb_lc_build(struct lb_set *set, struct arena *a, char *err, size_t errlen)
{
	struct lb_lc	*lc;
	size_t		 i;

	if ((lc = arena_alloc(a, sizeof(*lc))) == NULL ||
	    (lc->starts = arena_alloc(a, (set->neps ? set->neps : 1) *
	    sizeof(*lc->starts))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	atomic_init(&lc->next, 0);
	lc->nstarts = 0;
	for (i = 0; i < set->neps; i++)
		if (set->eps[i].weight != 0)
			lc->starts[lc->nstarts++] = (uint32_t)i;
	set->state = lc;
	return 0;
}

static struct lb_ep *
lb_lc_pick(const struct lb_set *set, const struct lb_flow *f)
{
	struct lb_lc	*lc = set->state;
	size_t		 k, i, best = SIZE_MAX;
	uint64_t	 w, bw = 0;
	uint32_t	 act, bact = 0;

	if (lc->nstarts == 0)
		return NULL;
	i = lc->starts[atomic_fetch_add_explicit(&lc->next, 1,
	    memory_order_relaxed) % lc->nstarts];
	for (k = 0; k < set->neps; k++, i = i + 1 == set->neps ? 0 : i + 1) {
		if (set->eps[i].weight == 0)
			continue;
		act = atomic_load_explicit(&set->eps[i].live->active,
		    memory_order_relaxed);
		w = lb_weight_milli(set, &set->eps[i], f);
		if (best != SIZE_MAX && !lb_load_less(act, w, bact, bw))
			continue;
		if (!lb_flow_may(set, f, i))
			continue;
		best = i;
		bact = act;
		bw = w;
	}
	return best == SIZE_MAX ? NULL : &set->eps[best];
}

const struct lb_ops lb_leastconn_ops = {
	.name = "least-connections",
	.build = lb_lc_build,
	.pick = lb_lc_pick,
	.release = NULL,
	.set_up = NULL,
	.set_down = NULL,
};
