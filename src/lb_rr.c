/*
 * Round robin, weighted the smooth way (nginx's ngx_http_upstream_
 * get_peer: every endpoint gains its weight, the richest is chosen and
 * pays the total), so a weight 5 endpoint among two of weight 1 gets
 * a a b a c a a, not a a a a a b c.
 *
 * The sequence is computed once, at build, and a pick reads the entry
 * one shared counter (one atomic add) points at: O(1), no lock, and
 * consecutive connections follow the sequence exactly whatever worker
 * accepts them.  When every endpoint has the same weight, the sequence
 * is the endpoints in order and is not stored: a pick rotates over
 * them as before weights existed.
 *
 * The sequence: weights divided by their gcd; its length is their sum.
 * When that passes max(LB_RR_MAXLEN, endpoints), the weights are scaled
 * down in proportion to about that (none below 1: the length stays
 * under twice it), which rounds small weights' shares.  Weight 0
 * drains: the endpoint takes no turn (established connections are not
 * ours to end).
 *
 * Passing.  An endpoint a flow may not use (down, ejected, refused by
 * NetworkPolicy, tried) passes its turn to the next entry of the
 * sequence, for up to 2 * endpoints + 8 entries; then to the next
 * endpoint in eps order with a weight.  No status hook is needed.
 *
 * Slow start (lb_set.slow_start_ms): an endpoint whose ramp (lb_algo.h)
 * is not full takes its turn only with that probability (a hash of the
 * turn's number: no state), else passes it; when every usable endpoint
 * passed, the first of them is taken anyway.
 */
#include "config.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "lb.h"
#include "lb_algo.h"

#define LB_RR_MAXLEN	65536	/* sequence entries (scaled beyond) */
#define LB_RR_NONE	UINT32_MAX

struct lb_rr {
	_Atomic uint64_t	 next;		/* the next turn */
	int			 rotate;	/* every weight the same, not 0:
						   rotate over eps, no seq */
	uint32_t		*seq;		/* eps indices; snapshot arena;
						   NULL: none (every weight 0) */
	uint32_t		 len;		/* seq's entries */
	uint32_t		 scan;		/* entries a pick walks */
};

/*
 * The endpoints of one weight, in eps order.  Smooth round robin
 * chooses among them in that order (nginx breaks ties by position):
 * the first r have been chosen k + 1 times, the others k.
 */
struct lb_rr_class {
	uint64_t	 w;
	uint64_t	 k;
	uint32_t	 r;
	uint32_t	 n;
	const uint32_t	*ep;		/* n eps indices */
};

static uint64_t
lb_rr_gcd(uint64_t a, uint64_t b)
{
	uint64_t t;

	while (b != 0) {
		t = a % b;
		a = b;
		b = t;
	}
	return a;
}

static int
lb_rr_u64_cmp(const void *pa, const void *pb)
{
	uint64_t a = *(const uint64_t *)pa, b = *(const uint64_t *)pb;

	return a < b ? -1 : a > b;
}

/*
 * w[0..n) (nonzero) divided by their gcd and, when their sum passes
 * cap, scaled down to about cap (each at least 1).  Returns the sum.
 */
static uint64_t
lb_rr_reduce(uint64_t *w, size_t n, uint64_t cap)
{
	uint64_t	g = 0, sum = 0;
	size_t		i;
	int		pass;

	for (pass = 0; pass < 2; pass++) {
		for (i = 0, g = 0; i < n; i++)
			g = lb_rr_gcd(w[i], g);
		for (i = 0, sum = 0; i < n; i++)
			sum += (w[i] /= g);
		if (sum <= cap || pass == 1)
			break;
		for (i = 0; i < n; i++) {
			/* w < 2^32 and cap < 2^32: no overflow. */
			w[i] = w[i] * cap / sum;
			if (w[i] == 0)
				w[i] = 1;
		}
	}
	return sum;
}

/*
 * nginx's sequence over the weighted endpoints, O(len * classes): at
 * step t (from 1) an endpoint of weight w chosen k times so far holds
 * t * w - len * k; the largest is chosen, the first in eps order on a
 * tie.  Within a class the one that holds the most and comes first is
 * its next in order, so a step compares classes, not endpoints.
 * Classes are few: distinct weights summing to at most len number
 * fewer than sqrt(2 * len).
 */
static void
lb_rr_sequence(struct lb_rr_class *cl, size_t ncl, uint32_t *seq,
    uint64_t len)
{
	uint64_t	 t;
	size_t		 c, best;
	int64_t		 v, bv;

	for (t = 1; t <= len; t++) {
		best = 0;
		bv = INT64_MIN;
		for (c = 0; c < ncl; c++) {
			v = (int64_t)(t * cl[c].w) - (int64_t)(len * cl[c].k);
			if (v > bv || (v == bv &&
			    cl[c].ep[cl[c].r] < cl[best].ep[cl[best].r])) {
				bv = v;
				best = c;
			}
		}
		seq[t - 1] = cl[best].ep[cl[best].r];
		if (++cl[best].r == cl[best].n) {
			cl[best].r = 0;
			cl[best].k++;
		}
	}
}

/*
 * Build rr's sequence for set's weights.  keys, w and the classes are
 * this function's, freed before it returns; seq is in the arena.
 */
static int
lb_rr_weighted(struct lb_rr *rr, const struct lb_set *set, struct arena *a,
    char *err, size_t errlen)
{
	uint64_t		*keys = NULL, *w = NULL, len;
	uint32_t		*idx = NULL;
	struct lb_rr_class	*cl = NULL;
	size_t			 i, n = 0, ncl = 0;
	int			 rc = -1;

	keys = calloc(set->neps, sizeof(*keys));
	w = calloc(set->neps, sizeof(*w));
	idx = calloc(set->neps, sizeof(*idx));
	cl = calloc(set->neps, sizeof(*cl));
	if (keys == NULL || w == NULL || idx == NULL || cl == NULL)
		goto oom;
	for (i = 0; i < set->neps; i++)
		if (set->eps[i].weight != 0)
			w[n++] = set->eps[i].weight;
	len = lb_rr_reduce(w, n, n > LB_RR_MAXLEN ? n : LB_RR_MAXLEN);
	/* Sorted by (reduced weight, eps index): classes in a row. */
	for (i = 0, n = 0; i < set->neps; i++)
		if (set->eps[i].weight != 0) {
			keys[n] = w[n] << 32 | i;
			n++;
		}
	qsort(keys, n, sizeof(*keys), lb_rr_u64_cmp);
	for (i = 0; i < n; i++) {
		idx[i] = (uint32_t)keys[i];
		if (i == 0 || keys[i] >> 32 != keys[i - 1] >> 32) {
			cl[ncl].w = keys[i] >> 32;
			cl[ncl++].ep = &idx[i];
		}
		cl[ncl - 1].n++;
	}
	rr->len = (uint32_t)len;
	if (len != 0) {
		if ((rr->seq = arena_calloc(a, len, sizeof(*rr->seq))) == NULL)
			goto oom;
		lb_rr_sequence(cl, ncl, rr->seq, len);
	}
	rc = 0;
	goto out;
oom:
	snprintf(err, errlen, "out of memory");
out:
	free(keys);
	free(w);
	free(idx);
	free(cl);
	return rc;
}

static int
lb_rr_build(struct lb_set *set, struct arena *a, char *err, size_t errlen)
{
	struct lb_rr	*rr;
	size_t		 i;
	int		 same = 1;

	if ((rr = arena_alloc(a, sizeof(*rr))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	atomic_init(&rr->next, 0);
	for (i = 0; i < set->neps; i++)
		if (set->eps[i].weight == 0 ||
		    set->eps[i].weight != set->eps[0].weight)
			same = 0;
	rr->scan = (uint32_t)(2 * set->neps + 8);
	rr->rotate = same;
	if (!same && lb_rr_weighted(rr, set, a, err, errlen) == -1)
		return -1;
	if (rr->scan > rr->len)
		rr->scan = rr->len;
	set->state = rr;
	return 0;
}

/*
 * Does ep take turn number turn under slow start?  Always when its ramp
 * is full (or slow start is off: no load then).
 */
static int
lb_rr_takes(const struct lb_set *set, const struct lb_ep *ep,
    const struct lb_flow *f, uint64_t turn)
{
	uint32_t ramp;

	if (set->slow_start_ms == 0 ||
	    (ramp = lb_ramp(ep, set->slow_start_ms, f->wall_ms)) >=
	    LB_RAMP_FULL)
		return 1;
	return lb_mix64(turn) % LB_RAMP_FULL < ramp;
}

/* Every endpoint of the same weight: rotate over eps. */
static struct lb_ep *
lb_rr_rotate(const struct lb_set *set, const struct lb_flow *f,
    uint64_t start)
{
	size_t	k, i, spare = SIZE_MAX;

	for (k = 0; k < set->neps; k++) {
		i = (size_t)((start + k) % set->neps);
		if (lb_flow_may(set, f, i)) {
			if (lb_rr_takes(set, &set->eps[i], f, start + k))
				return &set->eps[i];
			if (spare == SIZE_MAX)
				spare = i;
		}
	}
	return spare == SIZE_MAX ? NULL : &set->eps[spare];
}

static struct lb_ep *
lb_rr_pick(const struct lb_set *set, const struct lb_flow *f)
{
	struct lb_rr	*rr = set->state;
	uint64_t	 start;
	uint32_t	 j, i, k, prev = LB_RR_NONE, spare = LB_RR_NONE;

	start = atomic_fetch_add_explicit(&rr->next, 1, memory_order_relaxed);
	if (rr->rotate)
		return lb_rr_rotate(set, f, start);
	if (rr->seq == NULL)
		return NULL;
	j = (uint32_t)(start % rr->len);
	for (k = 0; k < rr->scan; k++) {
		/* Runs of one endpoint are common: ask once per run. */
		if ((i = rr->seq[j]) != prev) {
			if (lb_flow_may(set, f, i)) {
				if (lb_rr_takes(set, &set->eps[i], f,
				    start + k))
					return &set->eps[i];
				if (spare == LB_RR_NONE)
					spare = i;
			}
			prev = i;
		}
		if (++j == rr->len)
			j = 0;
	}
	if (spare != LB_RR_NONE)
		return &set->eps[spare];
	/* Past the walk: the endpoints after the turn's owner. */
	i = rr->seq[start % rr->len];
	for (k = 1; k <= set->neps; k++) {
		j = (uint32_t)((i + k) % set->neps);
		if (set->eps[j].weight != 0 && lb_flow_may(set, f, j))
			return &set->eps[j];
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
