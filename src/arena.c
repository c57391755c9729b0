#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "arena.h"

/*
 * Chunks come straight from mmap: fresh pages are already zero, so the
 * arena never clears memory itself, and the pages it never touches cost
 * nothing.  Small arenas start with small chunks; each new chunk doubles,
 * up to ARENA_CHUNK_MAX.
 */
#define ARENA_CHUNK_MIN	(16 * 1024)
#define ARENA_CHUNK_MAX	(1024 * 1024)
#define ARENA_ALIGN	8

struct arena_chunk {
	struct arena_chunk	*next;
	size_t			 size;		/* of data[] */
	size_t			 off;
	_Alignas(ARENA_ALIGN) unsigned char data[];
};

void
arena_init(struct arena *a, size_t limit)
{
	a->head = NULL;
	a->used = 0;
	a->limit = limit;
}

void
arena_free(struct arena *a)
{
	struct arena_chunk *c, *next;

	for (c = a->head; c != NULL; c = next) {
		next = c->next;
		munmap(c, sizeof(*c) + c->size);
	}
	a->head = NULL;
	a->used = 0;
}

void
arena_adopt(struct arena *dst, struct arena *src)
{
	struct arena_chunk *last;

	if (src->head == NULL)
		return;
	for (last = src->head; last->next != NULL; last = last->next)
		continue;
	/* Behind dst's head, which keeps serving dst's allocations. */
	if (dst->head == NULL)
		dst->head = src->head;
	else {
		last->next = dst->head->next;
		dst->head->next = src->head;
	}
	dst->used += src->used;
	src->head = NULL;
	src->used = 0;
}

static struct arena_chunk *
chunk_new(size_t size)
{
	struct arena_chunk	*c;
	void			*p;

	p = mmap(NULL, sizeof(*c) + size, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS |
	    (size >= ARENA_CHUNK_MAX ? MAP_POPULATE : 0), -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	c = p;
	c->size = size;
	c->off = 0;
	return c;
}

void *
arena_alloc(struct arena *a, size_t size)
{
	struct arena_chunk	*c = a->head;
	size_t			 need, csize;
	void			*p;

	if (size > SIZE_MAX / 2)
		return NULL;
	need = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	if (need == 0)
		need = ARENA_ALIGN;
	if (a->limit != 0 && a->used + need > a->limit)
		return NULL;
	if (c == NULL || c->size - c->off < need) {
		csize = c == NULL ? ARENA_CHUNK_MIN : c->size * 2;
		if (csize > ARENA_CHUNK_MAX)
			csize = ARENA_CHUNK_MAX;
		if (csize < need)
			csize = need;
		/* Round to whole pages: the tail is free either way. */
		csize = ((sizeof(*c) + csize + 4095) & ~(size_t)4095) -
		    sizeof(*c);
		if ((c = chunk_new(csize)) == NULL)
			return NULL;
		if (need > ARENA_CHUNK_MAX / 4 && a->head != NULL) {
			/* Big block: keep the current chunk's free tail. */
			c->next = a->head->next;
			a->head->next = c;
		} else {
			c->next = a->head;
			a->head = c;
		}
	}
	p = c->data + c->off;
	c->off += need;
	a->used += need;
	return p;
}

void *
arena_calloc(struct arena *a, size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size)
		return NULL;
	return arena_alloc(a, n * size);
}

char *
arena_strndup(struct arena *a, const char *s, size_t len)
{
	char *p;

	if ((p = arena_alloc(a, len + 1)) == NULL)
		return NULL;
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *
arena_strdup(struct arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

char *
arena_vprintf(struct arena *a, const char *fmt, va_list ap)
{
	va_list	 ap2;
	int	 n;
	char	*p;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0 || (p = arena_alloc(a, (size_t)n + 1)) == NULL)
		return NULL;
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	return p;
}

char *
arena_printf(struct arena *a, const char *fmt, ...)
{
	va_list	 ap;
	char	*p;

	va_start(ap, fmt);
	p = arena_vprintf(a, fmt, ap);
	va_end(ap);
	return p;
}
