/*
 * policy_int: what the files that compile NetworkPolicy tables share and
 * nothing else includes: the builder (the table being written, its
 * arena, scratch vectors) and the vector helpers.  policy.c compiles the
 * per-rule tables; policy_index.c merges them into the allow index and
 * calls policy.c, never the other way.  The public interface is
 * policy.h.
 */
#ifndef SVCPROXY_POLICY_INT_H
#define SVCPROXY_POLICY_INT_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "policy.h"
#include "selector.h"
#include "vec.h"

struct kset;
struct pol_ns;

/* A growable malloc'd array; the build frees it. */
struct vec {
	void			*v;
	size_t			 n;
	size_t			 cap;
	size_t			 size;		/* of one element */
};

struct pol_builder {
	struct pol_table	*t;
	struct arena		*a;		/* the table's */
	const struct kset	*set;
	struct arena		 tmp;		/* index, namespace labels */
	struct sel_index	 idx;
	struct pol_ns		*nss;		/* tmp; sorted by name */
	size_t			 nns;
	struct vec		 pods;		/* uint32_t: one rule's Pods */
	struct vec		 r4;		/* pol_range: one rule's v4 */
	struct vec		 r6;
	struct vec		 ex;		/* pol_range: one ipBlock's */
	struct vec		 pairs[2];	/* uint64_t: pod << 32 | pol */
	struct vec		 named;		/* pol_named_port */
	struct vec		 names;		/* const char *: port names */
};

static inline void
vec_init(struct vec *v, size_t size)
{
	memset(v, 0, sizeof(*v));
	v->size = size;
}

/* Room for one more element; NULL when out of memory. */
static inline void *
vec_push(struct vec *v)
{
	if (vec_grow(&v->v, &v->cap, v->n + 1, v->size, 64) == -1)
		return NULL;
	return (char *)v->v + v->size * v->n++;
}

static inline void
vec_free(struct vec *v)
{
	free(v->v);
	v->v = NULL;
	v->n = v->cap = 0;
}

/* Copy a vector's elements into the table's arena (NULL when empty). */
static inline int
vec_dup(struct pol_builder *b, const struct vec *v, void **out)
{
	*out = NULL;
	if (v->n == 0)
		return 0;
	if ((*out = arena_calloc(b->a, v->n, v->size)) == NULL)
		return -1;
	memcpy(*out, v->v, v->n * v->size);
	return 0;
}

/* qsort, which must not see a NULL array even when it is empty. */
static inline void
sort(void *v, size_t n, size_t size, int (*cmp)(const void *,
    const void *))
{
	if (n > 1)
		qsort(v, n, size, cmp);
}

/* policy.c */

/*
 * b->pods (unsorted, maybe repeated) as a set in the table's arena:
 * 0, or -1 when memory ran out.
 */
int	 pol_podset_build(struct pol_builder *, struct pol_podset *);
/*
 * Sort and merge one family's ranges in v into the table's arena: 0,
 * or -1 when memory ran out.  v is left holding the merged ranges.
 */
int	 pol_ranges_finish(struct pol_builder *, struct vec *,
	    struct pol_range **, uint32_t *);
/* Free the builder's scratch (vectors, tmp arena), not the table. */
void	 pol_builder_free(struct pol_builder *);

#endif
