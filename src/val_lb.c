#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "pcfg-t.h"
#include "val_int.h"
#include "val_lb.h"

int
val_lb_parse_count(const char *s, int64_t *n)
{
	/* Digits only: no sign, no space, no "0x" (kobj_parse_int's
	   other forms are YAML's, not an annotation's). */
	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	return kobj_parse_int(s, n);
}

int
val_lb_parse_weight(const char *s, uint32_t *w)
{
	int64_t n;

	if (val_lb_parse_count(s, &n) == -1 || n < 0 || n > VAL_WEIGHT_MAX)
		return -1;
	*w = (uint32_t)n;
	return 0;
}

int
val_lb_parse_hash_key(const char *s, int *k)
{
	if (s == NULL)
		return -1;
	if (strcmp(s, "client-ip") == 0)
		*k = 0;
	else if (strcmp(s, "client-ip-port") == 0)
		*k = 1;
	else
		return -1;
	return 0;
}

int
val_lb_is_prime(uint64_t n)
{
	uint64_t d;

	if (n < 2)
		return 0;
	for (d = 2; d * d <= n; d++)
		if (n % d == 0)
			return 0;
	return 1;
}

size_t
val_lb_weight(const struct diag_ctx *dc, const struct ynode *at,
    const char *field, const char *text, uint32_t *out)
{
	if (val_lb_parse_weight(text, out) == 0)
		return 0;
	kobj_err(dc, at, DIAG_INVALID, field, text, "must be an integer from "
	    "0 to %d (HAProxy's weight range; 0 drains the endpoint: it "
	    "keeps its connections and takes no new one)", VAL_WEIGHT_MAX);
	return 1;
}

size_t
val_lb_hash_key(const struct diag_ctx *dc, const struct ynode *at,
    const char *field, const char *text, int *out)
{
	if (val_lb_parse_hash_key(text, out) == 0)
		return 0;
	kobj_err(dc, at, DIAG_NOT_SUPPORTED, field, text,
	    "supported values: \"client-ip\", \"client-ip-port\"");
	return 1;
}

/* The primes nearest to n, for the message. */
static void
near_primes(int64_t n, int64_t *below, int64_t *above)
{
	*below = n - 1;
	while (*below > 2 && !val_lb_is_prime((uint64_t)*below))
		(*below)--;
	*above = n + 1;
	while (!val_lb_is_prime((uint64_t)*above))
		(*above)++;
}

size_t
val_lb_table_size(const struct diag_ctx *dc, const struct ynode *at,
    const char *field, const char *text, int64_t num, uint32_t *out)
{
	char	bad[24];
	int64_t	lo, hi;

	if (text != NULL && val_lb_parse_count(text, &num) == -1)
		num = -1;
	if (text == NULL) {
		snprintf(bad, sizeof(bad), "%" PRId64, num);
		text = bad;
	}
	if (num < VAL_MAGLEV_TABLE_MIN || num > VAL_MAGLEV_TABLE_MAX) {
		kobj_err(dc, at, DIAG_INVALID, field, text, "must be a prime "
		    "number from %d to %d (Maglev's lookup table size; the "
		    "default is %d)", VAL_MAGLEV_TABLE_MIN,
		    VAL_MAGLEV_TABLE_MAX, PCFG_DEFAULT_MAGLEV_TABLE);
		return 1;
	}
	if (!val_lb_is_prime((uint64_t)num)) {
		near_primes(num, &lo, &hi);
		kobj_err(dc, at, DIAG_INVALID, field, text, "must be a prime "
		    "number (Maglev's permutations need it): %" PRId64 " is "
		    "not; the nearest primes are %" PRId64 " and %" PRId64,
		    num, lo, hi);
		return 1;
	}
	*out = (uint32_t)num;
	return 0;
}

size_t
val_lb_affinity_max(const struct diag_ctx *dc, const struct ynode *at,
    const char *field, const char *text, int64_t num, uint32_t *out)
{
	char bad[24];

	if (text != NULL && val_lb_parse_count(text, &num) == -1)
		num = -1;
	if (text == NULL) {
		snprintf(bad, sizeof(bad), "%" PRId64, num);
		text = bad;
	}
	if (num < 1 || num > VAL_AFFINITY_MAX_LIMIT) {
		kobj_err(dc, at, DIAG_INVALID, field, text, "must be an "
		    "integer from 1 to %d (sessionAffinity: ClientIP entries "
		    "kept per Service port)", VAL_AFFINITY_MAX_LIMIT);
		return 1;
	}
	*out = (uint32_t)num;
	return 0;
}

size_t
val_lb_weight_annotation(const struct diag_ctx *dc, const struct kmeta *meta)
{
	const struct kstrmap	*m = &meta->annotations;
	char			 f[VAL_PATH_MAX];
	uint32_t		 w;
	size_t			 i, n = 0;

	for (i = 0; i < m->n; i++)
		if (strcmp(m->v[i].key, ANN_WEIGHT) == 0)
			n += val_lb_weight(dc, val_map_value(m, i), val_path(f,
			    "metadata.annotations[%s]", ANN_WEIGHT),
			    m->v[i].value, &w);
	return n;
}
