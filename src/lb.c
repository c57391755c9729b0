#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

struct lb_ep *
lb_pick(const struct lb_set *set, struct lb_flow *f)
{
	struct lb_ep *ep;

	if (set->neps == 0 || f->ntried >= LB_MAX_TRIES ||
	    f->ntried >= set->neps)
		return NULL;
	if ((ep = set->ops->pick(set, f)) == NULL)
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

void
lb_fail(struct lb_ep *ep)
{
	atomic_fetch_add_explicit(&ep->live->failures, 1,
	    memory_order_relaxed);
	atomic_fetch_add_explicit(&ep->live->fails_in_row, 1,
	    memory_order_relaxed);
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
	if (lb_ep_up(ep)) {
		if (set->ops->set_up != NULL)
			set->ops->set_up(set, ep);
	} else if (set->ops->set_down != NULL)
		set->ops->set_down(set, ep);
}

void
lb_livetab_init(struct lb_livetab *t)
{
	strtab_init(&t->t);
}

static void
lb_live_free(struct strtab_node *n)
{
	free(STRTAB_ENTRY(n, struct lb_live, node));
}

void
lb_livetab_free(struct lb_livetab *t)
{
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
