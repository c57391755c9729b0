/*
 * hash: 64-bit FNV-1a, the one string and byte hash of svcproxy.
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

/* The bytes of s, without its terminator. */
static inline uint64_t
fnv1a64_str(uint64_t h, const char *s)
{
	for (; *s != '\0'; s++)
		h = fnv1a64_byte(h, (unsigned char)*s);
	return h;
}

#endif
