/*
 * vec: room in a malloc'd array that grows by doubling, the one way
 * config-time code grows its arrays.  The array belongs to whoever holds
 * the pointer; vec_grow only moves it.
 *
 *	if (VEC_GROW(&s.v, &s.cap, s.n + 1, 16) == -1)
 *		return -1;
 *	s.v[s.n++] = item;
 */
#ifndef SVCPROXY_VEC_H
#define SVCPROXY_VEC_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/*
 * Make *v, holding *cap elements of size bytes, hold at least need:
 * the capacity doubles from first (or from *cap when not 0).  0, or -1
 * on overflow or out of memory with *v and *cap unchanged.
 */
static inline int
vec_grow(void **v, size_t *cap, size_t need, size_t size, size_t first)
{
	size_t	 ncap;
	void	*nv;

	if (need <= *cap)
		return 0;
	for (ncap = *cap ? *cap : first ? first : 1; ncap < need; ncap *= 2)
		if (ncap > SIZE_MAX / 2)
			return -1;
	if (size != 0 && ncap > SIZE_MAX / size)
		return -1;
	if ((nv = realloc(*v, ncap * size)) == NULL)
		return -1;
	*v = nv;
	*cap = ncap;
	return 0;
}

/* vec_grow for a typed pointer p (T **), elements of sizeof(T). */
#define VEC_GROW(p, cap, need, first)					\
	vec_grow((void **)(p), (cap), (need), sizeof(**(p)), (first))

#endif
