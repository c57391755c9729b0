/*
 * strtab: a chained hash table of entries keyed by strings (FNV-1a,
 * doubling buckets), for the tables whose entries outlive snapshots:
 * lb.c's per-endpoint state and metrics.c's per-port counters.
 *
 * Intrusive: an entry embeds a struct strtab_node whose key points into
 * the entry itself.  The table owns its bucket array; the entries belong
 * to the table's owner, and strtab_free hands each one to a callback.
 * Not thread-safe: one thread adds, others may only read entries they
 * were given.
 */
#ifndef SVCPROXY_STRTAB_H
#define SVCPROXY_STRTAB_H

#include <stddef.h>

struct strtab_node {
	struct strtab_node	*next;		/* bucket chain */
	const char		*key;		/* in the entry */
};

struct strtab {
	struct strtab_node	**buckets;	/* owned array */
	size_t			  nbuckets;	/* 0 or a power of two */
	size_t			  n;
};

/* The entry holding a node: STRTAB_ENTRY(node, struct lb_live, node). */
#define STRTAB_ENTRY(np, type, member) \
	((type *)(void *)((char *)(np) - offsetof(type, member)))

void		 strtab_init(struct strtab *);
/* The node with key, or NULL. */
struct strtab_node *strtab_find(const struct strtab *, const char *key);
/*
 * Add node (key set, not already in t, no node with its key in t).
 * 0, or -1 when out of memory, with t unchanged.
 */
int		 strtab_add(struct strtab *, struct strtab_node *);
/* Hand every node to free_node (may be NULL), then free the buckets. */
void		 strtab_free(struct strtab *,
		    void (*free_node)(struct strtab_node *));

#endif
