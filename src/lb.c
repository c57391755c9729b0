#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "lb.h"

/* Every algorithm, found by the name ProxyConfig spells. */
static const struct lb_ops *const lb_algos[] = {
	&lb_rr_ops,
};

const struct lb_ops *
lb_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(lb_algos) / sizeof(lb_algos[0]); i++)
		if (strcmp(lb_algos[i]->name, name) == 0)
			return lb_algos[i];
	return NULL;
}

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

void
lb_livetab_init(struct lb_livetab *t)
{
	memset(t, 0, sizeof(*t));
}

void
lb_livetab_free(struct lb_livetab *t)
{
	struct lb_live	*l, *next;
	size_t		 i;

	for (i = 0; i < t->nbuckets; i++)
		for (l = t->buckets[i]; l != NULL; l = next) {
			next = l->next;
			free(l);
		}
	free(t->buckets);
	memset(t, 0, sizeof(*t));
}

static uint64_t
lb_hash(const char *s)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/* Double the buckets; 0, or -1 (the table is left as it was). */
static int
lb_livetab_grow(struct lb_livetab *t)
{
	struct lb_live	**nb, *l, *next;
	size_t		  n = t->nbuckets ? t->nbuckets * 2 : 64, i, b;

	if ((nb = calloc(n, sizeof(*nb))) == NULL)
		return -1;
	for (i = 0; i < t->nbuckets; i++)
		for (l = t->buckets[i]; l != NULL; l = next) {
			next = l->next;
			b = lb_hash(l->key) & (n - 1);
			l->next = nb[b];
			nb[b] = l;
		}
	free(t->buckets);
	t->buckets = nb;
	t->nbuckets = n;
	return 0;
}

struct lb_live *
lb_live_get(struct lb_livetab *t, const char *key)
{
	struct lb_live	*l;
	size_t		 b, len;

	if (t->nbuckets != 0) {
		b = lb_hash(key) & (t->nbuckets - 1);
		for (l = t->buckets[b]; l != NULL; l = l->next)
			if (strcmp(l->key, key) == 0)
				return l;
	}
	if (t->n >= t->nbuckets && lb_livetab_grow(t) == -1)
		return NULL;
	len = strlen(key);
	if ((l = calloc(1, sizeof(*l) + len + 1)) == NULL)
		return NULL;
	memcpy(l->key, key, len + 1);
	b = lb_hash(key) & (t->nbuckets - 1);
	l->next = t->buckets[b];
	t->buckets[b] = l;
	t->n++;
	return l;
}
