/*
 * lb_algo: what the weighted algorithms (lb_rr.c, lb_leastconn.c,
 * lb_random2.c) share, inline so that no algorithm file uses another's
 * symbols.  Pure, no state: safe on any worker.
 */
#ifndef SVCPROXY_LB_ALGO_H
#define SVCPROXY_LB_ALGO_H

#include <stdatomic.h>
#include <stdint.h>

#include "health_state.h"
#include "lb.h"

#define LB_RAMP_FULL	1000	/* lb_ramp(): no slow start */

/* splitmix64 (Steele, Lea and Flood, 2014): x's well mixed hash. */
static inline uint64_t
lb_mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* A uniform number in [0, n) from 32 random bits r (Lemire's). */
static inline uint32_t
lb_below(uint32_t r, uint32_t n)
{
	return (uint32_t)(((uint64_t)r * n) >> 32);
}

/*
 * Slow start's share of ep's weight for a pick at wall_ms, in
 * thousandths (LB_RAMP_FULL: none): lb_ep_weight()'s curve (health's
 * hc_slow_start_weight) at a finer grain, so that an endpoint of
 * weight 1, the default, ramps too (in whole weights it cannot: the
 * ramp's floor is one weight).  No load at all when window_ms is 0.
 */
static inline uint32_t
lb_ramp(const struct lb_ep *ep, uint32_t window_ms, int64_t wall_ms)
{
	int64_t since;

	if (window_ms == 0 || ep->hc == NULL || (since = atomic_load_explicit(
	    &ep->hc->up_since_ms, memory_order_relaxed)) == 0 ||
	    wall_ms - since >= (int64_t)window_ms)
		return LB_RAMP_FULL;
	return hc_slow_start_weight(LB_RAMP_FULL, wall_ms - since, window_ms);
}

/* ep's weight with slow start, in thousandths of a weight. */
static inline uint64_t
lb_weight_milli(const struct lb_set *set, const struct lb_ep *ep,
    const struct lb_flow *f)
{
	return (uint64_t)ep->weight * lb_ramp(ep, set->slow_start_ms,
	    f->wall_ms);
}

/*
 * Is load a / wa below b / wb?  Weights in thousandths (up to 2^42),
 * counts up to 2^32: the products need more than 64 bits.
 */
static inline int
lb_load_less(uint32_t a, uint64_t wa, uint32_t b, uint64_t wb)
{
#ifdef __SIZEOF_INT128__
	__extension__ typedef unsigned __int128 lb_u128;

	return (lb_u128)a * wb < (lb_u128)b * wa;
#else
	return (long double)a * wb < (long double)b * wa;
#endif
}

#endif
