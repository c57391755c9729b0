#include "config.h"

#include <netinet/in.h>

#include <stdlib.h>
#include <string.h>

#include "affinity.h"
#include "hash.h"

/*
 * Spin on a bucket.  The holder only scans AFF_WAYS entries and stores
 * a few words, never blocks or calls out, so waiting is short.
 */
static inline void
aff_lock(struct aff_bucket *b)
{
	while (atomic_flag_test_and_set_explicit(&b->lock,
	    memory_order_acquire))
		;
}

static inline void
aff_unlock(struct aff_bucket *b)
{
	atomic_flag_clear_explicit(&b->lock, memory_order_release);
}

static inline int
aff_expired(const struct aff_entry *e, int64_t now_ms, uint32_t timeout_ms)
{
	return now_ms - e->last_ms >= (int64_t)timeout_ms;
}

static inline int
aff_match(const struct aff_entry *e, const struct aff_key *k)
{
	return e->family == k->family && memcmp(e->addr, k->addr,
	    k->family == 4 ? 4 : 16) == 0;
}

static inline struct aff_bucket *
aff_bucket(struct aff_table *t, const struct aff_key *k)
{
	/* The high bits: FNV-1a's low bits mix the last bytes least. */
	return &t->b[(k->hash ^ (k->hash >> 32)) & t->mask];
}

/* Free e (its bucket locked), counting it out of t. */
static void
aff_clear(struct aff_table *t, struct aff_entry *e)
{
	memset(e, 0, sizeof(*e));
	atomic_fetch_sub_explicit(&t->n, 1, memory_order_relaxed);
}

int
aff_key_from(struct aff_key *k, const struct sockaddr *sa)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };

	memset(k, 0, sizeof(*k));
	if (sa == NULL)
		return -1;
	if (sa->sa_family == AF_INET) {
		k->family = 4;
		memcpy(k->addr, &((const struct sockaddr_in *)(const void *)
		    sa)->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		const uint8_t *a = ((const struct sockaddr_in6 *)(const void *)
		    sa)->sin6_addr.s6_addr;

		/* A v4 client on a dual-stack socket is that v4 client. */
		if (memcmp(a, mapped, sizeof(mapped)) == 0) {
			k->family = 4;
			memcpy(k->addr, a + 12, 4);
		} else {
			k->family = 6;
			memcpy(k->addr, a, 16);
		}
	} else
		return -1;
	k->hash = fnv1a64_buf(fnv1a64_byte(FNV1A64_INIT, k->family), k->addr,
	    k->family == 4 ? 4 : 16);
	return 0;
}

int
aff_get(struct aff_table *t, const struct aff_key *k, int64_t now_ms,
    uint32_t timeout_ms, struct lb_live **live, uint32_t *idx)
{
	struct aff_bucket	*b = aff_bucket(t, k);
	int			 i, found = 0;

	aff_lock(b);
	for (i = 0; i < AFF_WAYS; i++) {
		struct aff_entry *e = &b->e[i];

		if (!aff_match(e, k))
			continue;
		if (aff_expired(e, now_ms, timeout_ms)) {
			aff_clear(t, e);
			atomic_fetch_add_explicit(&t->expired, 1,
			    memory_order_relaxed);
		} else {
			e->last_ms = now_ms;
			*live = e->live;
			*idx = e->idx;
			found = 1;
		}
		break;
	}
	aff_unlock(b);
	return found;
}

int
aff_put(struct aff_table *t, const struct aff_key *k, struct lb_live *live,
    uint32_t idx, int64_t now_ms, uint32_t timeout_ms, uint32_t max)
{
	struct aff_bucket	*b = aff_bucket(t, k);
	struct aff_entry	*e = NULL, *fr = NULL, *old = NULL;
	int			 i, rc = 0;

	aff_lock(b);
	for (i = 0; i < AFF_WAYS && e == NULL; i++) {
		struct aff_entry *x = &b->e[i];

		if (x->family == 0) {
			if (fr == NULL)
				fr = x;
		} else if (aff_match(x, k))
			e = x;
		else if (old == NULL && aff_expired(x, now_ms, timeout_ms))
			old = x;
	}
	if (e == NULL && old != NULL) {
		/* Reuse an expired entry: the count does not change. */
		atomic_fetch_add_explicit(&t->expired, 1,
		    memory_order_relaxed);
		e = old;
	}
	if (e == NULL && fr != NULL) {
		if (atomic_fetch_add_explicit(&t->n, 1,
		    memory_order_relaxed) < max)
			e = fr;
		else
			atomic_fetch_sub_explicit(&t->n, 1,
			    memory_order_relaxed);
	}
	if (e != NULL) {
		memcpy(e->addr, k->addr, sizeof(e->addr));
		e->family = k->family;
		e->live = live;
		e->idx = idx;
		e->last_ms = now_ms;
	} else {
		atomic_fetch_add_explicit(&t->full, 1, memory_order_relaxed);
		rc = -1;
	}
	aff_unlock(b);
	return rc;
}

void
aff_drop(struct aff_table *t, const struct aff_key *k,
    const struct lb_live *live)
{
	struct aff_bucket	*b = aff_bucket(t, k);
	int			 i;

	aff_lock(b);
	for (i = 0; i < AFF_WAYS; i++)
		if (aff_match(&b->e[i], k)) {
			if (live == NULL || b->e[i].live == live)
				aff_clear(t, &b->e[i]);
			break;
		}
	aff_unlock(b);
}

size_t
aff_expire(struct aff_table *t, int64_t now_ms, uint32_t timeout_ms)
{
	size_t	i;
	int	j;

	for (i = 0; i <= t->mask; i++) {
		struct aff_bucket *b = &t->b[i];

		aff_lock(b);
		for (j = 0; j < AFF_WAYS; j++)
			if (b->e[j].family != 0 &&
			    aff_expired(&b->e[j], now_ms, timeout_ms)) {
				aff_clear(t, &b->e[j]);
				atomic_fetch_add_explicit(&t->expired, 1,
				    memory_order_relaxed);
			}
		aff_unlock(b);
	}
	return aff_count(t);
}

size_t
aff_count(const struct aff_table *t)
{
	return atomic_load_explicit(&t->n, memory_order_relaxed);
}

/* ---- the registry: the build thread only ---- */

size_t
aff_buckets_for(uint32_t max)
{
	size_t n = 1;

	/* Room for twice max: at most AFF_WAYS / 2 a bucket on average. */
	while (n * (AFF_WAYS / 2) < max && n < (size_t)AFF_MAX_LIMIT)
		n <<= 1;
	return n;
}

static struct aff_table *
aff_table_new(const char *key, uint32_t max)
{
	struct aff_table	*t;
	size_t			 len = strlen(key), n = aff_buckets_for(max);

	if ((t = calloc(1, sizeof(*t) + len + 1)) == NULL)
		return NULL;
	/*
	 * Zeroed pages the kernel backs only once a bucket is written: so
	 * no loop clears the locks, a zeroed atomic_flag is clear (as
	 * ATOMIC_FLAG_INIT is, with gcc and clang on every target).
	 */
	if ((t->b = calloc(n, sizeof(*t->b))) == NULL) {
		free(t);
		return NULL;
	}
	t->mask = (uint32_t)(n - 1);
	memcpy(t->key, key, len + 1);
	t->node.key = t->key;
	return t;
}

static void
aff_table_free(struct aff_table *t)
{
	free(t->b);
	free(t);
}

/* src's entries not expired, into dst (not yet shared). */
static void
aff_copy(struct aff_table *dst, struct aff_table *src, int64_t now_ms,
    uint32_t timeout_ms, uint32_t max)
{
	struct aff_key	k;
	size_t		i;
	int		j;

	for (i = 0; i <= src->mask; i++) {
		struct aff_bucket *b = &src->b[i];

		aff_lock(b);
		for (j = 0; j < AFF_WAYS; j++) {
			const struct aff_entry *e = &b->e[j];

			if (e->family == 0 || aff_expired(e, now_ms,
			    timeout_ms))
				continue;
			memset(&k, 0, sizeof(k));
			memcpy(k.addr, e->addr, sizeof(k.addr));
			k.family = e->family;
			k.hash = fnv1a64_buf(fnv1a64_byte(FNV1A64_INIT,
			    k.family), k.addr, k.family == 4 ? 4 : 16);
			(void)aff_put(dst, &k, e->live, e->idx, e->last_ms,
			    timeout_ms, max);
		}
		aff_unlock(b);
	}
	atomic_store_explicit(&dst->full, atomic_load_explicit(&src->full,
	    memory_order_relaxed), memory_order_relaxed);
}

void
aff_reg_init(struct aff_reg *r)
{
	r->head = NULL;
	strtab_init(&r->idx);
}

void
aff_reg_free(struct aff_reg *r)
{
	struct aff_table *t, *next;

	/* The index first: strtab_free walks the nodes, in the tables. */
	strtab_free(&r->idx, NULL);
	for (t = r->head; t != NULL; t = next) {
		next = t->next;
		aff_table_free(t);
	}
	r->head = NULL;
}

void
aff_reg_sweep(struct aff_reg *r)
{
	struct aff_table	**tp, *t;

	/* strtab has no removal: index the tables that stay afresh. */
	strtab_free(&r->idx, NULL);
	strtab_init(&r->idx);
	for (tp = &r->head; (t = *tp) != NULL;) {
		/* 0 stays 0: only a build (this thread) adds references. */
		if (atomic_load_explicit(&t->refs, memory_order_acquire) == 0) {
			*tp = t->next;
			aff_table_free(t);
			continue;
		}
		/* Out of memory: the table is only not found again (its
		   entries start over in a new one). */
		if (!t->retired && strtab_add(&r->idx, &t->node) == -1)
			t->retired = 1;
		tp = &t->next;
	}
	/*
	 * A retired table whose successor is gone (the snapshot that made
	 * it was never published) is its port's table again, so the next
	 * build copies from it rather than starting over.
	 */
	for (t = r->head; t != NULL; t = t->next)
		if (t->retired && strtab_find(&r->idx, t->key) == NULL &&
		    strtab_add(&r->idx, &t->node) == 0)
			t->retired = 0;
}

struct aff_table *
aff_reg_get(struct aff_reg *r, const char *key, uint32_t max, int64_t now_ms,
    uint32_t timeout_ms)
{
	struct strtab_node	*n;
	struct aff_table	*t, *old = NULL;

	if ((n = strtab_find(&r->idx, key)) != NULL) {
		old = STRTAB_ENTRY(n, struct aff_table, node);
		if ((size_t)old->mask + 1 == aff_buckets_for(max)) {
			atomic_fetch_add_explicit(&old->refs, 1,
			    memory_order_relaxed);
			return old;
		}
	}
	if ((t = aff_table_new(key, max)) == NULL)
		return NULL;
	if (old != NULL) {
		/* Workers may still add to old; what they add after this
		   copy starts over in t. */
		aff_copy(t, old, now_ms, timeout_ms, max);
		old->retired = 1;
		aff_reg_sweep(r);	/* drops old from the index */
	}
	if (strtab_add(&r->idx, &t->node) == -1) {
		aff_table_free(t);
		return NULL;
	}
	atomic_init(&t->refs, 1);
	t->next = r->head;
	r->head = t;
	return t;
}

void
aff_unref(struct aff_table *t)
{
	if (t != NULL)
		atomic_fetch_sub_explicit(&t->refs, 1, memory_order_release);
}
