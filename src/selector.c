#include "config.h"

#include <string.h>

#include "hash.h"
#include "selector.h"

const char *
sel_label_get(const struct kstrmap *labels, const char *key)
{
	size_t i;

	for (i = 0; i < labels->n; i++)
		if (strcmp(labels->v[i].key, key) == 0)
			return labels->v[i].value != NULL ?
			    labels->v[i].value : "";
	return NULL;
}

/* Labels decoded from `key:` (null) hold NULL; Kubernetes reads "". */
static const char *
pair_value(const struct kpair *p)
{
	return p->value != NULL ? p->value : "";
}

int
sel_match_map(const struct kstrmap *sel, const struct kstrmap *labels)
{
	const char	*v;
	size_t		 i;

	for (i = 0; i < sel->n; i++) {
		v = sel_label_get(labels, sel->v[i].key);
		if (v == NULL || strcmp(v, pair_value(&sel->v[i])) != 0)
			return 0;
	}
	return 1;
}

static int
in_values(const struct kstrlist *values, const char *v)
{
	size_t i;

	for (i = 0; i < values->n; i++)
		if (values->v[i] != NULL && strcmp(values->v[i], v) == 0)
			return 1;
	return 0;
}

int
sel_match_req(const struct klabel_req *r, const struct kstrmap *labels)
{
	const char *v;

	if (r->key == NULL || r->op == NULL)
		return 0;
	v = sel_label_get(labels, r->key);
	if (strcmp(r->op, "In") == 0)
		return v != NULL && in_values(&r->values, v);
	if (strcmp(r->op, "NotIn") == 0)
		return v == NULL || !in_values(&r->values, v);
	if (strcmp(r->op, "Exists") == 0)
		return v != NULL;
	if (strcmp(r->op, "DoesNotExist") == 0)
		return v == NULL;
	return 0;
}

int
sel_match_selector(const struct klabel_selector *ls,
    const struct kstrmap *labels)
{
	size_t i;

	if (ls->y == NULL)
		return 0;
	if (!sel_match_map(&ls->match_labels, labels))
		return 0;
	for (i = 0; i < ls->match_expressions.n; i++)
		if (!sel_match_req(&ls->match_expressions.v[i], labels))
			return 0;
	return 1;
}

/* ---- Pod index ---- */

static uint64_t
fnv_str(uint64_t h, const char *s)
{
	/* The terminator too, so ("ab","c") and ("a","bc") differ. */
	return fnv1a64_byte(fnv1a64_str(h, s), 0);
}

/* hns: fnv_str(FNV1A64_INIT, ns), computed once per Pod. */
static uint64_t
posting_hash_ns(uint64_t hns, const char *key, const char *value)
{
	if (key == NULL)
		return hns ^ 0x9e3779b97f4a7c15ULL;	/* the "all" list */
	return fnv_str(fnv_str(hns, key), value);
}

static uint64_t
posting_hash(const char *ns, const char *key, const char *value)
{
	return posting_hash_ns(fnv_str(FNV1A64_INIT, ns), key, value);
}

static int
posting_is(const struct sel_posting *p, uint64_t h, const char *ns,
    const char *key, const char *value)
{
	if (p->hash != h || strcmp(p->ns, ns) != 0)
		return 0;
	if (key == NULL || p->key == NULL)
		return key == p->key;
	return strcmp(p->key, key) == 0 && strcmp(p->value, value) == 0;
}

/* The slot holding (ns, key, value), or the empty slot where it goes. */
static struct sel_posting *
slot_find(const struct sel_index *idx, uint64_t h, const char *ns,
    const char *key, const char *value)
{
	size_t i, mask = idx->nslots - 1;

	for (i = (size_t)h & mask;; i = (i + 1) & mask) {
		struct sel_posting *p = &idx->slots[i];

		if (p->ns == NULL || posting_is(p, h, ns, key, value))
			return p;
	}
}

/* Double the table; -1 when the arena fails (the old table stays). */
static int
index_grow(struct sel_index *idx, struct arena *a)
{
	struct sel_posting	*old = idx->slots, *p;
	size_t			 i, j, nold = idx->nslots, mask;

	if ((p = arena_calloc(a, nold * 2, sizeof(*p))) == NULL)
		return -1;
	idx->slots = p;
	idx->nslots = nold * 2;
	mask = idx->nslots - 1;
	for (i = 0; i < nold; i++) {
		if (old[i].ns == NULL)
			continue;
		for (j = (size_t)old[i].hash & mask; p[j].ns != NULL;
		    j = (j + 1) & mask)
			;
		p[j] = old[i];
	}
	return 0;
}

/*
 * One pass over every (Pod, list) pair.  With fill 0 it creates slots
 * and counts; with fill 1 it appends Pod indices to arrays sized by the
 * counting pass.
 */
static int
index_pass(struct sel_index *idx, struct arena *a, int fill)
{
	size_t			 i, j;
	struct sel_posting	*p;
	uint64_t		 h, hns;

	for (i = 0; i < idx->npods; i++) {
		const struct kpod *pod = idx->pods[i];

		if (pod->invalid || pod->meta.ns == NULL)
			continue;
		hns = fnv_str(FNV1A64_INIT, pod->meta.ns);
		for (j = 0; j <= pod->meta.labels.n; j++) {
			const char *key = NULL, *value = NULL;

			if (j < pod->meta.labels.n) {
				key = pod->meta.labels.v[j].key;
				value = pair_value(&pod->meta.labels.v[j]);
				if (key == NULL)
					continue;
			}
			h = posting_hash_ns(hns, key, value);
			p = slot_find(idx, h, pod->meta.ns, key, value);
			if (p->ns == NULL && (idx->nused + 1) * 2 >
			    idx->nslots) {
				/* Only the counting pass adds lists. */
				if (index_grow(idx, a) == -1)
					return -1;
				p = slot_find(idx, h, pod->meta.ns, key,
				    value);
			}
			if (p->ns == NULL) {
				idx->nused++;
				p->hash = h;
				p->ns = pod->meta.ns;
				p->key = key;
				p->value = value;
			}
			/* A repeated label key must not list a Pod twice. */
			if (fill) {
				if (p->n > 0 && p->pods[p->n - 1] == i)
					continue;
				p->pods[p->n++] = (uint32_t)i;
			} else
				p->n++;
		}
	}
	return 0;
}

int
sel_index_build(struct sel_index *idx, struct arena *a,
    struct kpod * const *pods, size_t npods)
{
	size_t i;

	memset(idx, 0, sizeof(*idx));
	idx->pods = pods;
	idx->npods = npods;
	if (npods > UINT32_MAX)
		return -1;
	/*
	 * Sized by distinct lists, not by Pods x labels: many Pods share
	 * each label.  At most half full, so probes stay short.
	 */
	idx->nslots = 256;
	idx->slots = arena_calloc(a, idx->nslots, sizeof(*idx->slots));
	if (idx->slots == NULL || index_pass(idx, a, 0) == -1)
		return -1;
	for (i = 0; i < idx->nslots; i++) {
		struct sel_posting *p = &idx->slots[i];

		if (p->ns == NULL)
			continue;
		if ((p->pods = arena_calloc(a, p->n, sizeof(*p->pods))) ==
		    NULL)
			return -1;
		p->n = 0;
	}
	return index_pass(idx, a, 1);
}

const struct sel_posting *
sel_index_get(const struct sel_index *idx, const char *ns, const char *key,
    const char *value)
{
	uint64_t	h;
	size_t		i, mask;

	if (idx->nslots == 0 || ns == NULL)
		return NULL;
	h = posting_hash(ns, key, value != NULL ? value : "");
	mask = idx->nslots - 1;
	for (i = (size_t)h & mask; idx->slots[i].ns != NULL;
	    i = (i + 1) & mask)
		if (posting_is(&idx->slots[i], h, ns, key,
		    value != NULL ? value : ""))
			return &idx->slots[i];
	return NULL;
}

/* Start from the namespace's list; narrow to the smallest label list. */
static void
iter_start(struct sel_iter *it, const struct sel_index *idx, const char *ns,
    const struct kstrmap *pairs)
{
	const struct sel_posting	*p;
	size_t				 i;

	it->idx = idx;
	it->cand = NULL;
	it->ncand = 0;
	it->i = 0;
	if ((p = sel_index_get(idx, ns, NULL, NULL)) == NULL)
		return;
	it->cand = p->pods;
	it->ncand = p->n;
	for (i = 0; pairs != NULL && i < pairs->n; i++) {
		p = sel_index_get(idx, ns, pairs->v[i].key,
		    pair_value(&pairs->v[i]));
		if (p == NULL) {
			it->ncand = 0;	/* nobody carries this label */
			return;
		}
		if (p->n < it->ncand) {
			it->cand = p->pods;
			it->ncand = p->n;
		}
	}
}

void
sel_iter_map(struct sel_iter *it, const struct sel_index *idx,
    const char *ns, const struct kstrmap *sel)
{
	it->eq = sel;
	it->ls = NULL;
	iter_start(it, idx, ns, sel);
}

void
sel_iter_selector(struct sel_iter *it, const struct sel_index *idx,
    const char *ns, const struct klabel_selector *ls)
{
	it->eq = NULL;
	it->ls = ls;
	iter_start(it, idx, ns, &ls->match_labels);
	if (ls->y == NULL)
		it->ncand = 0;
}

const struct kpod *
sel_iter_next(struct sel_iter *it)
{
	const struct kpod *pod;

	while (it->i < it->ncand) {
		pod = it->idx->pods[it->cand[it->i++]];
		if (it->eq != NULL ? sel_match_map(it->eq, &pod->meta.labels) :
		    sel_match_selector(it->ls, &pod->meta.labels))
			return pod;
	}
	return NULL;
}
