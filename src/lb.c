#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "affinity.h"
#include "lb.h"

int
lb_flow_tried(const struct lb_flow *f, size_t idx)
{
	unsigned i;

	for (i = 0; i < f->ntried; i++)
		if (f->tried[i] == idx)
			return 1;
	return 0;
}

size_t
lb_healthy(const struct lb_set *set)
{
	size_t	i, n = 0;

	for (i = 0; i < set->neps; i++)
		if (set->eps[i].hc == NULL ||
		    atomic_load_explicit(&set->eps[i].hc->state,
		    memory_order_relaxed) != HC_DOWN)
			n++;
	return n;
}

int
lb_panic_due(const struct lb_set *set, size_t healthy)
{
	if (set->neps == 0)
		return 0;
	return healthy == 0 || (set->panic_percent > 0 &&
	    healthy * 100 < (size_t)set->panic_percent * set->neps);
}

/*
 * Decide set's panic again (the caller holds hc_busy).  gen was loaded
 * (acquire) before the states are read, so the decision reflects at
 * least every transition up to gen; a later one has moved hc_gen past
 * it and is decided by the next pick.
 */
static void
lb_panic_decide(struct lb_set *set, uint64_t gen)
{
	size_t		 healthy = lb_healthy(set);
	uint32_t	 on = (uint32_t)lb_panic_due(set, healthy);

	if (atomic_exchange_explicit(&set->panic, on,
	    memory_order_relaxed) != on && set->panic_note != NULL)
		set->panic_note(set, (int)on, healthy, set->panic_arg);
	atomic_store_explicit(&set->hc_seen, gen, memory_order_relaxed);
}

int
lb_panic(const struct lb_set *cset)
{
	/* The set's atomics are the mutable part of an immutable
	   snapshot (lb.h), as an algorithm's state is. */
	struct lb_set	*set = (struct lb_set *)cset;
	uint64_t	 gen;

	if (set->hc_gen == NULL)
		return 0;
	gen = atomic_load_explicit(set->hc_gen, memory_order_acquire);
	if (gen != atomic_load_explicit(&set->hc_seen, memory_order_relaxed) &&
	    !atomic_flag_test_and_set_explicit(&set->hc_busy,
	    memory_order_acquire)) {
		lb_panic_decide(set, gen);
		atomic_flag_clear_explicit(&set->hc_busy,
		    memory_order_release);
	}
	return (int)atomic_load_explicit(&set->panic, memory_order_relaxed);
}

/*
 * The endpoint k's affinity entry names, if it is still in set and f may
 * use it; NULL otherwise (*had: there was an entry, a stale one).
 */
static struct lb_ep *
lb_aff_find(const struct lb_set *set, const struct lb_flow *f,
    const struct aff_key *k, int *had)
{
	struct lb_live	*live;
	uint32_t	 idx;
	size_t		 i;

	if (!aff_get(set->aff, k, f->now_ms, set->aff_timeout_ms, &live,
	    &idx))
		return NULL;
	*had = 1;
	if (idx >= set->neps || set->eps[idx].live != live) {
		/* Another snapshot's index: find the endpoint once, and
		   keep its index here for the next connections. */
		for (i = 0; i < set->neps && set->eps[i].live != live; i++)
			;
		if (i == set->neps)
			return NULL;
		idx = (uint32_t)i;
		if (lb_flow_may(set, f, idx))
			(void)aff_put(set->aff, k, live, idx, f->now_ms,
			    set->aff_timeout_ms, set->aff_max);
	}
	return lb_flow_may(set, f, idx) ? &set->eps[idx] : NULL;
}

/* ops->pick, through set's affinity table when it has one. */
static struct lb_ep *
lb_choose(const struct lb_set *set, struct lb_flow *f)
{
	struct aff_key	 k;
	struct lb_ep	*ep;
	int		 had = 0;

	if (set->aff == NULL || aff_key_from(&k, f->client) == -1)
		return set->ops->pick(set, f);
	if ((ep = lb_aff_find(set, f, &k, &had)) != NULL)
		return ep;
	if ((ep = set->ops->pick(set, f)) != NULL)
		(void)aff_put(set->aff, &k, ep->live,
		    (uint32_t)(ep - set->eps), f->now_ms, set->aff_timeout_ms,
		    set->aff_max);
	else if (had)
		aff_drop(set->aff, &k, NULL);
	return ep;
}

struct lb_ep *
lb_pick(const struct lb_set *set, struct lb_flow *f)
{
	struct lb_ep *ep;

	if (set->neps == 0 || f->ntried >= LB_MAX_TRIES ||
	    f->ntried >= set->neps)
		return NULL;
	f->any_health = lb_panic(set);
	if ((ep = lb_choose(set, f)) == NULL)
		return NULL;
	f->tried[f->ntried++] = (uint32_t)(ep - set->eps);
	atomic_fetch_add_explicit(&ep->live->active, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&ep->live->total, 1, memory_order_relaxed);
	return ep;
}

void
lb_release(const struct lb_set *set, struct lb_ep *ep)
{
	if (set->ops->release != NULL)
		set->ops->release(set, ep);
	atomic_fetch_sub_explicit(&ep->live->active, 1, memory_order_relaxed);
}

/*
 * Is there room in set to eject one more endpoint at now_ms: would the
 * ejected ones then be at most max_percent of them?
 */
static int
lb_eject_room(const struct lb_set *set, unsigned max_percent, int64_t now_ms)
{
	size_t i, n = 1;

	for (i = 0; i < set->neps; i++)
		if (lb_ep_ejected(&set->eps[i], now_ms))
			n++;
	return (uint64_t)n * 100 <= (uint64_t)max_percent * set->neps;
}

uint32_t
lb_fail(const struct lb_set *set, struct lb_ep *ep,
    const struct hc_config *hc, const struct lb_flow *f)
{
	struct lb_live	*l = ep->live;
	uint32_t	 n, k, ms;
	int64_t		 wall, ok, back;

	atomic_fetch_add_explicit(&l->failures, 1, memory_order_relaxed);
	n = atomic_fetch_add_explicit(&l->fails_in_row, 1,
	    memory_order_relaxed) + 1;
	if (hc == NULL || hc->outlier_failures == 0 ||
	    n < hc->outlier_failures)
		return 0;
	/*
	 * A connect started before the ejection may fail after it: that
	 * failure does not eject again.  With no room, fails_in_row stays
	 * at the threshold and the next failure asks again.
	 */
	if (lb_ep_ejected(ep, f->now_ms) ||
	    !lb_eject_room(set, hc->eject_max_percent, f->now_ms))
		return 0;
	/* Several workers may get here at once: one takes the count. */
	if (atomic_exchange_explicit(&l->fails_in_row, 0,
	    memory_order_relaxed) < hc->outlier_failures)
		return 0;
	atomic_fetch_add_explicit(&l->ejections, 1, memory_order_relaxed);
	/*
	 * How long: Envoy's rule (envoyproxy/envoy, source/common/upstream/
	 * outlier_detection_impl.cc).  ejectHost raises the host's
	 * eject_time_backoff_ by one while backoff x base < max + base;
	 * checkHostForUneject lowers it by one (not below 0) at each
	 * detection interval the host is found not ejected; an ejection
	 * lasts min(base x backoff, max).  svcproxy ejects inline and has
	 * no detection interval: the lowering happens here, one per whole
	 * base ejection time since the last ejection ran out.
	 */
	k = atomic_load_explicit(&l->eject_backoff, memory_order_relaxed);
	back = f->now_ms - atomic_load_explicit(&l->ejected_until_ms,
	    memory_order_relaxed);
	if (k > 0 && back > 0 && hc->eject_base_ms > 0)
		k = back / hc->eject_base_ms >= k ? 0 :
		    k - (uint32_t)(back / hc->eject_base_ms);
	if ((uint64_t)k * hc->eject_base_ms <
	    (uint64_t)hc->eject_max_ms + hc->eject_base_ms)
		k++;
	atomic_store_explicit(&l->eject_backoff, k, memory_order_relaxed);
	ms = hc_eject_ms(k, hc->eject_base_ms, hc->eject_max_ms);
	/*
	 * An active pass re-admits it only when it comes after both the
	 * ejection and the last pass already recorded: the worker's cached
	 * clock may lag the health thread's by a loop turn.
	 */
	wall = f->wall_ms;
	if (ep->hc != NULL && (ok = atomic_load_explicit(&ep->hc->last_ok_ms,
	    memory_order_relaxed)) > wall)
		wall = ok;
	atomic_store_explicit(&l->ejected_wall_ms, wall, memory_order_relaxed);
	atomic_store_explicit(&l->ejected_until_ms, f->now_ms + ms,
	    memory_order_release);
	return ms;
}

void
lb_ok(struct lb_ep *ep)
{
	if (atomic_load_explicit(&ep->live->fails_in_row,
	    memory_order_relaxed) != 0)
		atomic_store_explicit(&ep->live->fails_in_row, 0,
		    memory_order_relaxed);
}

int
lb_live_set_up(struct lb_live *l, int up)
{
	uint32_t down = up ? 0 : 1;

	/* One writer (the main thread): load and store need no exchange. */
	if (atomic_load_explicit(&l->down, memory_order_relaxed) == down)
		return 0;
	atomic_store_explicit(&l->down, down, memory_order_relaxed);
	return 1;
}

void
lb_set_status(struct lb_set *set, struct lb_ep *ep)
{
	if (lb_ep_up(ep, LB_NOW_ANY)) {
		if (set->ops->set_up != NULL)
			set->ops->set_up(set, ep);
	} else if (set->ops->set_down != NULL)
		set->ops->set_down(set, ep);
}

void
lb_livetab_init(struct lb_livetab *t)
{
	strtab_init(&t->t);
	aff_reg_init(&t->aff);
}

static void
lb_live_free(struct strtab_node *n)
{
	free(STRTAB_ENTRY(n, struct lb_live, node));
}

void
lb_livetab_free(struct lb_livetab *t)
{
	/* The tables point at the live entries: they go first. */
	aff_reg_free(&t->aff);
	strtab_free(&t->t, lb_live_free);
}

struct lb_live *
lb_live_get(struct lb_livetab *t, const char *key)
{
	struct strtab_node	*n;
	struct lb_live		*l;
	size_t			 len;

	if ((n = strtab_find(&t->t, key)) != NULL)
		return STRTAB_ENTRY(n, struct lb_live, node);
	len = strlen(key);
	if ((l = calloc(1, sizeof(*l) + len + 1)) == NULL)
		return NULL;
	memcpy(l->key, key, len + 1);
	l->node.key = l->key;
	if (strtab_add(&t->t, &l->node) == -1) {
		free(l);
		return NULL;
	}
	return l;
}
