/*
 * arena: a bump allocator freed as one block.
 *
 * Config-time data (YAML nodes, typed objects, the resolved model, a
 * snapshot) lives in one arena and is freed with it, as nginx keeps a
 * whole configuration in one pool.  Nothing allocated from an arena is
 * freed on its own.
 */
#ifndef SVCPROXY_ARENA_H
#define SVCPROXY_ARENA_H

#include <stdarg.h>
#include <stddef.h>

struct arena_chunk;

struct arena {
	struct arena_chunk	*head;		/* owned: chunk list */
	size_t			 used;		/* bytes handed out */
	size_t			 limit;		/* 0: none; else fail past it */
};

void	 arena_init(struct arena *, size_t limit);
/* Free every chunk; the arena may be reused after arena_init(). */
void	 arena_free(struct arena *);
/* Move every block of src into dst; src is empty afterwards. */
void	 arena_adopt(struct arena *dst, struct arena *src);
/* Zeroed, aligned memory; NULL when the limit or malloc fails. */
void	*arena_alloc(struct arena *, size_t);
void	*arena_calloc(struct arena *, size_t n, size_t size);
char	*arena_strndup(struct arena *, const char *, size_t);
char	*arena_strdup(struct arena *, const char *);
char	*arena_printf(struct arena *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
char	*arena_vprintf(struct arena *, const char *, va_list)
	    __attribute__((format(printf, 2, 0)));

#endif
