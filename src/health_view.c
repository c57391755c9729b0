/*
 * health_view: one endpoint's health as the admin server reports it
 * (health_view.h says the rule).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "health_view.h"

/* The data path's own rule (lb_ep_ejected: an active pass since the
   ejection re-admits), so that what is shown is what new connections
   follow. */
static int
view_ejected(const struct lb_ep *ep, int64_t now)
{
	return ep->live != NULL && lb_ep_ejected(ep, now);
}

enum hc_health
hc_view_health(const struct lb_ep *ep, int64_t now)
{
	const struct lb_live *l = ep->live;

	if (view_ejected(ep, now) || (l != NULL && atomic_load_explicit(
	    &l->down, memory_order_relaxed) != 0))
		return HC_DOWN;
	if (ep->hc != NULL)
		return atomic_load_explicit(&ep->hc->state,
		    memory_order_acquire);
	return HC_UP;
}

#define VIEW_TRIES	1000	/* reads of a cell being written */

/*
 * A consistent copy of c's result (the reader's half of cell_publish's
 * sequence count): when the health thread writes meanwhile, read again,
 * at most VIEW_TRIES times (a writer is never slow: it copies a few
 * hundred bytes).
 */
static void
view_read(const struct hc_cell *c, struct hc_view *v,
    struct hc_view_counts *n)
{
	uint32_t	 s0, s1;
	int64_t		 ok;
	size_t		 i;
	int		 tries = 0;

	do {
		s0 = atomic_load_explicit(&c->seq, memory_order_acquire);
		v->last_ms = atomic_load_explicit(&c->last_ms,
		    memory_order_relaxed);
		ok = atomic_load_explicit(&c->last_ok_ms, memory_order_relaxed);
		v->latency_us = atomic_load_explicit(&c->last_latency_us,
		    memory_order_relaxed);
		for (i = 0; i < sizeof(v->reason); i++)
			v->reason[i] = atomic_load_explicit(&c->reason[i],
			    memory_order_relaxed);
		n->checks = atomic_load_explicit(&c->checks,
		    memory_order_relaxed);
		n->failures = atomic_load_explicit(&c->failures,
		    memory_order_relaxed);
		for (i = 0; i < HC_LAT_BUCKETS; i++)
			n->latency[i] = atomic_load_explicit(&c->latency[i],
			    memory_order_relaxed);
		n->latency_sum_us = atomic_load_explicit(&c->latency_sum_us,
		    memory_order_relaxed);
		atomic_thread_fence(memory_order_acquire);
		s1 = atomic_load_explicit(&c->seq, memory_order_relaxed);
	} while ((s0 != s1 || (s0 & 1)) && ++tries < VIEW_TRIES);
	v->reason[sizeof(v->reason) - 1] = '\0';
	v->has_result = v->last_ms != 0;
	v->pass = v->has_result && ok == v->last_ms;
	/* Not under the count: a counter of its own. */
	n->transitions = atomic_load_explicit(&c->transitions,
	    memory_order_relaxed);
}

void
hc_view_counts(const struct hc_cell *c, struct hc_view_counts *n)
{
	struct hc_view	v;

	view_read(c, &v, n);
}

void
hc_view_cell(const struct hc_cell *c, struct hc_view *v,
    struct hc_view_counts *n)
{
	memset(v, 0, sizeof(*v));
	v->checked = 1;
	v->check = atomic_load_explicit(&c->state, memory_order_acquire);
	view_read(c, v, n);
}

void
hc_view_ep(const struct lb_ep *ep, int64_t now, struct hc_view *v)
{
	const struct hc_cell	*c = ep->hc;
	struct hc_view_counts	 n;

	memset(v, 0, sizeof(*v));
	v->health = hc_view_health(ep, now);
	v->ejected = view_ejected(ep, now);
	if (ep->live != NULL)
		v->ejections = atomic_load_explicit(&ep->live->ejections,
		    memory_order_relaxed);
	if (c == NULL)
		return;
	v->checked = 1;
	v->check = atomic_load_explicit(&c->state, memory_order_acquire);
	view_read(c, v, &n);
}

size_t
hc_view_healthy(const struct lb_set *set, int64_t now)
{
	size_t	i, n = 0;

	for (i = 0; i < set->neps; i++)
		if (hc_view_health(&set->eps[i], now) != HC_DOWN)
			n++;
	return n;
}

char *
hc_view_time(int64_t ms, char *buf, size_t len)
{
	struct tm	 tm;
	time_t		 t = (time_t)(ms / 1000);
	char		 day[24];

	if (ms < 0 || gmtime_r(&t, &tm) == NULL ||
	    strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		snprintf(buf, len, "1970-01-01T00:00:00.000Z");
	else
		snprintf(buf, len, "%s.%03dZ", day, (int)(ms % 1000));
	return buf;
}
