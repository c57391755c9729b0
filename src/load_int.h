/*
 * load_int.h: what the loader's files share, and no other module may
 * use.  load.c reads files and directories, load_obj.c turns parsed
 * documents into a kset's objects (and tells the parser what to drop),
 * load_split.c parses the pieces of one large file on threads.
 */
#ifndef SVCPROXY_LOAD_INT_H
#define SVCPROXY_LOAD_INT_H

#include <stddef.h>

#include "diag.h"
#include "load.h"
#include "vec.h"
#include "ydoc.h"

/*
 * Every typed object starts the same way; the loader fills these fields
 * through this view.
 */
struct kobj_head {
	const struct ynode	*y;
	const char		*file;
	int			 invalid;
};

struct kobj_any {
	struct kobj_head	 h;
	struct kmeta		 meta;	/* at the same offset in every kind */
};

static inline int
vec_push(void ***v, size_t *n, size_t *cap, void *item)
{
	if (VEC_GROW(v, cap, *n + 1, 64) == -1)
		return -1;
	(*v)[(*n)++] = item;
	return 0;
}

#define VEC_PUSH(vec, item) \
	vec_push((void ***)&(vec).v, &(vec).n, &(vec).cap, (item))

/* load_obj.c */

/*
 * Append src's objects to dst's arrays; the objects stay where they are
 * (the caller adopts src's arena).  -1 when an array cannot grow.
 */
int	 kset_append(struct kset *dst, const struct kset *src);

/* What the parser may drop: the schemas' ignored and unknown fields. */
extern const struct ydoc_filter load_filter;

/*
 * Decode one document (an object, or a List of them) into set.  Returns
 * 0, or -1 when something in it failed to decode (reported in diags).
 */
int	 load_object(struct kset *set, const char *file,
	    const struct ynode *root, struct diag_list *diags);

/* A List document load_object() reads without a word about the List. */
int	 load_quiet_list(const struct ynode *root);

/* load_split.c */

/*
 * Parse buf on split->nthreads threads.  Returns 1 when it is not cut
 * (the caller parses it serially), else load_buffer()'s 0 or -1.
 */
int	 load_split(struct kset *set, const char *file, const char *buf,
	    size_t len, const struct load_split *split, int release,
	    struct diag_list *diags);

#endif
