#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "strtab.h"

#define STRTAB_BUCKETS_MIN	64

static uint64_t
strtab_hash(const char *s)
{
	return fnv1a64_str(FNV1A64_INIT, s);
}

void
strtab_init(struct strtab *t)
{
	memset(t, 0, sizeof(*t));
}

struct strtab_node *
strtab_find(const struct strtab *t, const char *key)
{
	struct strtab_node *n;

	if (t->nbuckets == 0)
		return NULL;
	for (n = t->buckets[strtab_hash(key) & (t->nbuckets - 1)]; n != NULL;
	    n = n->next)
		if (strcmp(n->key, key) == 0)
			return n;
	return NULL;
}

/* Double the buckets; 0, or -1 (the table is left as it was). */
static int
strtab_grow(struct strtab *t)
{
	struct strtab_node	**nb, *n, *next;
	size_t			  nn, i, b;

	nn = t->nbuckets ? t->nbuckets * 2 : STRTAB_BUCKETS_MIN;
	if ((nb = calloc(nn, sizeof(*nb))) == NULL)
		return -1;
	for (i = 0; i < t->nbuckets; i++)
		for (n = t->buckets[i]; n != NULL; n = next) {
			next = n->next;
			b = strtab_hash(n->key) & (nn - 1);
			n->next = nb[b];
			nb[b] = n;
		}
	free(t->buckets);
	t->buckets = nb;
	t->nbuckets = nn;
	return 0;
}

int
strtab_add(struct strtab *t, struct strtab_node *n)
{
	size_t b;

	if (t->n >= t->nbuckets && strtab_grow(t) == -1)
		return -1;
	b = strtab_hash(n->key) & (t->nbuckets - 1);
	n->next = t->buckets[b];
	t->buckets[b] = n;
	t->n++;
	return 0;
}

void
strtab_free(struct strtab *t, void (*free_node)(struct strtab_node *))
{
	struct strtab_node	*n, *next;
	size_t			 i;

	for (i = 0; i < t->nbuckets; i++)
		for (n = t->buckets[i]; n != NULL; n = next) {
			next = n->next;
			if (free_node != NULL)
				free_node(n);
		}
	free(t->buckets);
	memset(t, 0, sizeof(*t));
}
