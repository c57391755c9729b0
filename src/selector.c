#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "selector.h"
#include "vec.h"

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

/* The index's own hash, never stored nor shown (hash.h). */
static uint64_t
str_hash(uint64_t h, const char *s)
{
	return hash_fast_buf(h, s, strlen(s));
}

/* hns: str_hash(FNV1A64_INIT, ns), computed once per Pod. */
static uint64_t
posting_hash_ns(uint64_t hns, const char *key, const char *value)
{
	if (key == NULL)
		return hns ^ 0x9e3779b97f4a7c15ULL;	/* the "all" list */
	return str_hash(str_hash(hns, key), value);
}

static uint64_t
posting_hash(const char *ns, const char *key, const char *value)
{
	return posting_hash_ns(str_hash(FNV1A64_INIT, ns), key, value);
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

/* The Pods index_count() and index_fill() walk: valid, namespaced. */
static int
indexed(const struct kpod *pod)
{
	return !pod->invalid && pod->meta.ns != NULL;
}

/*
 * Pair j of a Pod: label j, or with j == labels.n the "all Pods" list
 * (key NULL).  0 for a label without a key, which lists nothing.
 */
static int
pod_pair(const struct kpod *pod, size_t j, const char **key,
    const char **value)
{
	*key = NULL;
	*value = NULL;
	if (j == pod->meta.labels.n)
		return 1;
	*key = pod->meta.labels.v[j].key;
	*value = pair_value(&pod->meta.labels.v[j]);
	return *key != NULL;
}

/* Pair numbers, in the order index_count() met the pairs. */
struct pair_ids {
	uint32_t		*v;		/* owned */
	size_t			 n, cap;
};

/*
 * The one hashing pass over every (Pod, list) pair: create the lists,
 * count their Pods, and note each pair's list number in ids, so that
 * index_fill() need not hash again.
 */
static int
index_count(struct sel_index *idx, struct arena *a, struct pair_ids *ids)
{
	const char		*key, *value;
	struct sel_posting	*p;
	size_t			 i, j;
	uint64_t		 h, hns;

	for (i = 0; i < idx->npods; i++) {
		const struct kpod *pod = idx->pods[i];

		if (!indexed(pod))
			continue;
		hns = str_hash(FNV1A64_INIT, pod->meta.ns);
		for (j = 0; j <= pod->meta.labels.n; j++) {
			if (!pod_pair(pod, j, &key, &value))
				continue;
			h = posting_hash_ns(hns, key, value);
			p = slot_find(idx, h, pod->meta.ns, key, value);
			if (p->ns == NULL && (idx->nused + 1) * 2 >
			    idx->nslots) {
				if (index_grow(idx, a) == -1)
					return -1;
				p = slot_find(idx, h, pod->meta.ns, key,
				    value);
			}
			if (p->ns == NULL) {
				p->id = (uint32_t)idx->nused++;
				p->hash = h;
				p->ns = pod->meta.ns;
				p->key = key;
				p->value = value;
			}
			if (VEC_GROW(&ids->v, &ids->cap, ids->n + 1,
			    1024) == -1)
				return -1;
			p->n++;
			ids->v[ids->n++] = p->id;
		}
	}
	return 0;
}

/* Append each Pod to its lists, in the order index_count() saw them. */
static void
index_fill(struct sel_index *idx, const uint32_t *ids,
    struct sel_posting **byid)
{
	const char		*key, *value;
	struct sel_posting	*p;
	size_t			 i, j, k = 0;

	for (i = 0; i < idx->npods; i++) {
		const struct kpod *pod = idx->pods[i];

		if (!indexed(pod))
			continue;
		for (j = 0; j <= pod->meta.labels.n; j++) {
			if (!pod_pair(pod, j, &key, &value))
				continue;
			p = byid[ids[k++]];
			/* A repeated label key must not list a Pod twice. */
			if (p->n > 0 && p->pods[p->n - 1] == i)
				continue;
			p->pods[p->n++] = (uint32_t)i;
		}
	}
}

int
sel_index_build(struct sel_index *idx, struct arena *a,
    struct kpod * const *pods, size_t npods)
{
	struct sel_posting	**byid = NULL;
	struct pair_ids		  ids;
	size_t			  i;
	int			  rc = -1;

	memset(idx, 0, sizeof(*idx));
	memset(&ids, 0, sizeof(ids));
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
	if (idx->slots == NULL || index_count(idx, a, &ids) == -1)
		goto out;
	if (idx->nused > 0 &&
	    (byid = malloc(idx->nused * sizeof(*byid))) == NULL)
		goto out;
	for (i = 0; i < idx->nslots; i++) {
		struct sel_posting *p = &idx->slots[i];

		if (p->ns == NULL)
			continue;
		if ((p->pods = arena_calloc(a, p->n, sizeof(*p->pods))) ==
		    NULL)
			goto out;
		p->n = 0;
		byid[p->id] = p;
	}
	index_fill(idx, ids.v, byid);
	rc = 0;
out:
	free(ids.v);
	free(byid);
	return rc;
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
