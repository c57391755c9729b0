/*
 * hash: 64-bit FNV-1a, the string and byte hash of svcproxy, and a
 * faster one for tables whose hashes nobody sees.
 *
 * Some results are observable and must not change: res_alloc.c starts
 * its search for a free clusterIP or nodePort at the hash of a
 * Service's identity (tests/cases pin the addresses), and the config
 * hash of load.c shows on /status.  Chain the steps to hash several
 * parts: h = fnv1a64_str(fnv1a64_str(FNV1A64_INIT, a), b).
 */
#ifndef SVCPROXY_HASH_H
#define SVCPROXY_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define FNV1A64_INIT	0xcbf29ce484222325ULL	/* offset basis */
#define FNV1A64_PRIME	0x100000001b3ULL

static inline uint64_t
fnv1a64_byte(uint64_t h, unsigned char c)
{
	return (h ^ c) * FNV1A64_PRIME;
}

static inline uint64_t
fnv1a64_buf(uint64_t h, const void *p, size_t len)
{
	const unsigned char *b = p;

	while (len-- > 0)
		h = fnv1a64_byte(h, *b++);
	return h;
}

/*
 * A table's own hash, never stored nor shown, for where FNV-1a's byte
 * at a time is the cost (the selector index hashes every label of every
 * Pod; the YAML parser every short scalar).  Eight bytes a step, the
 * length mixed in last, so ("ab","c") and ("a","bc") differ; the final
 * shift brings the high bits down to the low ones a table's mask keeps.
 */
#define HASH_FAST_MUL	0x9e3779b97f4a7c15ULL

static inline uint64_t
hash_fast_buf(uint64_t h, const void *p, size_t len)
{
	const unsigned char	*b = p;
	size_t			 i;
	uint64_t		 w;

	for (i = 0; i + 8 <= len; i += 8) {
		memcpy(&w, b + i, 8);
		h = (h ^ w) * HASH_FAST_MUL;
		h ^= h >> 29;
	}
	w = 0;
	memcpy(&w, b + i, len - i);
	h = (h ^ w ^ ((uint64_t)len << 56)) * HASH_FAST_MUL;
	return h ^ (h >> 32);
}

/* The bytes of s, without its terminator. */
static inline uint64_t
fnv1a64_str(uint64_t h, const char *s)
{
	for (; *s != '\0'; s++)
		h = fnv1a64_byte(h, (unsigned char)*s);
	return h;
}

#endif
