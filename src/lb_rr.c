/*
 * Round robin: one shared counter per Service port, advanced atomically,
 * so consecutive connections rotate exactly over the endpoints whatever
 * worker accepts them.  An endpoint a flow may not use (down, or
 * refused by NetworkPolicy) passes its turn to the next one it may; so
 * no status hook is needed.  Weights are not used yet: every endpoint
 * has weight 1.
 */
#include "config.h"

#include <stdatomic.h>
#include <stdio.h>

#include "lb.h"

struct lb_rr {
	_Atomic uint64_t	 next;
};

static int
lb_rr_build(struct lb_set *set, struct arena *a, char *err, size_t errlen)
{
	struct lb_rr *rr;

	if ((rr = arena_alloc(a, sizeof(*rr))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	atomic_init(&rr->next, 0);
	set->state = rr;
	return 0;
}

static struct lb_ep *
lb_rr_pick(const struct lb_set *set, const struct lb_flow *f)
{
	struct lb_rr	*rr = set->state;
	uint64_t	 start;
	size_t		 k, i;

	start = atomic_fetch_add_explicit(&rr->next, 1, memory_order_relaxed);
	for (k = 0; k < set->neps; k++) {
		i = (size_t)((start + k) % set->neps);
		if (lb_flow_may(set, f, i))
			return &set->eps[i];
	}
	return NULL;
}

const struct lb_ops lb_rr_ops = {
	.name = "round-robin",
	.build = lb_rr_build,
	.pick = lb_rr_pick,
	.release = NULL,
	.set_up = NULL,
	.set_down = NULL,
};
