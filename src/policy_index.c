/*
 * policy_index: the merged allow index (pol_index_build), built from
 * the tables policy.c compiled: one index per distinct list of
 * isolating policies and direction, its rules grouped by port spec with
 * their peers' union.  Why, and its bounds, are in policy.h;
 * policy_eval.c reads it (pol_allowed).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "policy.h"
#include "policy_int.h"

/* One (port spec, rule) pair of the list being merged. */
struct ix_ent {
	int			 all_ports;
	struct pol_port		 port;		/* unless all_ports */
	const struct pol_rule	*rule;		/* the table's */
};

/* Work beyond this many steps per byte of the bound stops the index. */
#define IX_WORK_PER_BYTE	16

struct ix_builder {
	struct pol_builder	 b;		/* vectors, the table's arena */
	struct vec		 ents;		/* struct ix_ent */
	struct vec		 ixs;		/* struct pol_ix, malloc'd */
	struct vec		 keys;		/* uint64_t: off << 32 | n */
	int32_t			*slots;		/* hash of lists -> ixs */
	size_t			 nslots;	/* a power of two */
	uint64_t		 work;		/* steps spent */
	uint64_t		 max_work;
};

/* Same spec, compared by value (padding may differ). */
static int
cmp_ix_ent(const void *a, const void *b)
{
	const struct ix_ent	*x = a, *y = b;

	if (x->all_ports != y->all_ports)
		return x->all_ports > y->all_ports ? -1 : 1;
	if (x->all_ports)
		return 0;
	if (x->port.proto != y->port.proto)
		return x->port.proto < y->port.proto ? -1 : 1;
	if (x->port.named != y->port.named)
		return x->port.named < y->port.named ? -1 : 1;
	if (x->port.named)
		return x->port.name_id < y->port.name_id ? -1 :
		    x->port.name_id > y->port.name_id;
	if (x->port.lo != y->port.lo)
		return x->port.lo < y->port.lo ? -1 : 1;
	return x->port.hi < y->port.hi ? -1 : x->port.hi > y->port.hi;
}

/* Rules that can match no peer add nothing to a union. */
static int
rule_empty(const struct pol_rule *r)
{
	return !r->all_peers && r->pods.n == 0 && r->nv4 == 0 &&
	    r->nv6 == 0;
}

/* Every (port spec, rule) pair of the policies pols[0..n) in dir. */
static int
ix_collect(struct ix_builder *x, enum pol_dir d, const uint32_t *pols,
    uint32_t n)
{
	const struct pol_table	*t = x->b.t;
	const struct pol_policy	*p;
	const struct pol_rule	*r;
	struct ix_ent		*e;
	uint32_t		 i, j, k;

	x->ents.n = 0;
	for (i = 0; i < n; i++) {
		p = &t->policies[pols[i]];
		for (j = 0; j < p->nrules[d]; j++) {
			r = &p->rules[d][j];
			x->work += 1 + r->nports;
			if (rule_empty(r))
				continue;
			for (k = 0; k < (r->all_ports ? 1 : r->nports); k++) {
				if ((e = vec_push(&x->ents)) == NULL)
					return -1;
				memset(e, 0, sizeof(*e));
				e->all_ports = r->all_ports;
				if (!r->all_ports)
					e->port = r->ports[k];
				e->rule = r;
			}
		}
	}
	sort(x->ents.v, x->ents.n, sizeof(struct ix_ent), cmp_ix_ent);
	return 0;
}

/*
 * The union of the Pod sets of the rules of e[0..n) into s: one bit per
 * Pod when any of them is bits or the members would outweigh the bits
 * (as pol_podset_build decides), else a sorted array.
 */
static int
ix_podset(struct ix_builder *x, const struct ix_ent *e, size_t n,
    struct pol_podset *s)
{
	const struct pol_podset	*ps;
	uint64_t		 total = 0, *bits;
	uint32_t		*v, words = (x->b.t->npods + 63) / 64, pod;
	size_t			 i, j, m = 0;
	int			 anybits = 0;

	for (i = 0; i < n; i++) {
		total += e[i].rule->pods.n;
		anybits |= e[i].rule->pods.bits != NULL;
	}
	if (total == 0)
		return 0;
	if (!anybits && total * 32 <= x->b.t->npods) {
		x->b.pods.n = 0;
		for (i = 0; i < n; i++)
			for (j = 0; j < e[i].rule->pods.n; j++) {
				if ((v = vec_push(&x->b.pods)) == NULL)
					return -1;
				*v = e[i].rule->pods.idx[j];
			}
		x->work += total * 8;
		return pol_podset_build(&x->b, s);
	}
	if ((bits = arena_calloc(x->b.a, words, sizeof(*bits))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		ps = &e[i].rule->pods;
		if (ps->bits != NULL) {
			for (j = 0; j < words; j++)
				bits[j] |= ps->bits[j];
			x->work += words;
			continue;
		}
		for (j = 0; j < ps->n; j++) {
			pod = ps->idx[j];
			if (pod < x->b.t->npods)
				bits[pod >> 6] |= (uint64_t)1 << (pod & 63);
		}
		x->work += ps->n;
	}
	for (j = 0; j < words; j++)
		m += (size_t)__builtin_popcountll(bits[j]);
	s->bits = bits;
	s->n = (uint32_t)m;
	return 0;
}

/* The union of the address ranges of the rules of e[0..n), one family. */
static int
ix_ranges(struct ix_builder *x, const struct ix_ent *e, size_t n, int v6,
    struct pol_range **out, uint32_t *nout)
{
	struct vec		*v = v6 ? &x->b.r6 : &x->b.r4;
	const struct pol_range	*r;
	struct pol_range	*slot;
	uint32_t		 nr;
	size_t			 i, j;

	v->n = 0;
	for (i = 0; i < n; i++) {
		r = v6 ? e[i].rule->v6 : e[i].rule->v4;
		nr = v6 ? e[i].rule->nv6 : e[i].rule->nv4;
		for (j = 0; j < nr; j++) {
			if ((slot = vec_push(v)) == NULL)
				return -1;
			*slot = r[j];
		}
		x->work += (uint64_t)nr * 8;
	}
	return pol_ranges_finish(&x->b, v, out, nout);
}

/* One group from the run e[0..n) of pairs sharing a port spec. */
static int
ix_group(struct ix_builder *x, const struct ix_ent *e, size_t n,
    struct pol_rule *g)
{
	size_t i;

	memset(g, 0, sizeof(*g));
	g->all_ports = e[0].all_ports;
	if (!g->all_ports) {
		if ((g->ports = arena_calloc(x->b.a, 1, sizeof(*g->ports))) ==
		    NULL)
			return -1;
		*g->ports = e[0].port;
		g->nports = 1;
	}
	for (i = 0; i < n; i++)
		if (e[i].rule->all_peers) {
			/* Every peer: the other sets would add nothing. */
			g->all_peers = 1;
			return 0;
		}
	if (ix_podset(x, e, n, &g->pods) == -1 ||
	    ix_ranges(x, e, n, 0, &g->v4, &g->nv4) == -1 ||
	    ix_ranges(x, e, n, 1, &g->v6, &g->nv6) == -1)
		return -1;
	return 0;
}

/* One port number: searched, not scanned. */
static int
ix_single(const struct ix_ent *e)
{
	return !e->all_ports && !e->port.named && e->port.lo == e->port.hi;
}

/* The merged index of the policies pols[0..n) in dir, into ix. */
static int
ix_merge(struct ix_builder *x, enum pol_dir d, const uint32_t *pols,
    uint32_t n, struct pol_ix *ix)
{
	const struct ix_ent	*e;
	size_t			 i, j, ngroups = 0;
	int			 pass;

	memset(ix, 0, sizeof(*ix));
	if (ix_collect(x, d, pols, n) == -1)
		return -1;
	e = x->ents.v;
	for (i = 0; i < x->ents.n; i++)
		if (i == 0 || cmp_ix_ent(&e[i - 1], &e[i]) != 0)
			ngroups++;
	if (ngroups == 0)
		return 0;
	if ((ix->groups = arena_calloc(x->b.a, ngroups,
	    sizeof(*ix->groups))) == NULL)
		return -1;
	/* The scanned groups first, then the single ports, which the sort
	   left in (protocol, port) order. */
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < x->ents.n; i = j) {
			for (j = i + 1; j < x->ents.n &&
			    cmp_ix_ent(&e[i], &e[j]) == 0; j++)
				;
			if (ix_single(&e[i]) != pass)
				continue;
			if (ix_group(x, &e[i], j - i,
			    &ix->groups[ix->ngroups++]) == -1)
				return -1;
		}
		if (pass == 0)
			ix->nscan = ix->ngroups;
	}
	return 0;
}

/*
 * The index of the list of Pod pod's isolating policies in dir: an
 * earlier one for the same list, or a new one.  Returns its number, or
 * -1 when memory ran out, -2 when the bound was reached.
 */
static int64_t
ix_for_pod(struct ix_builder *x, enum pol_dir d, uint32_t pod,
    size_t start, size_t max_bytes)
{
	const struct pol_table	*t = x->b.t;
	const struct pol_pod	*p = &t->pods[pod];
	const uint32_t		*pols = &t->pod_pols[p->pol_off[d]];
	const uint64_t		*keys = x->keys.v;
	uint64_t		 h, *key;
	size_t			 s;
	int32_t			 k;

	h = fnv1a64_buf(FNV1A64_INIT, pols, p->npol[d] * sizeof(*pols));
	x->work += p->npol[d];
	for (s = h & (x->nslots - 1); (k = x->slots[s]) >= 0;
	    s = (s + 1) & (x->nslots - 1)) {
		if ((uint32_t)keys[k] == p->npol[d] && memcmp(pols,
		    &t->pod_pols[keys[k] >> 32], p->npol[d] *
		    sizeof(*pols)) == 0)
			return k;
	}
	if (x->b.a->used - start > max_bytes || x->work > x->max_work)
		return -2;
	if (vec_push(&x->ixs) == NULL || (key = vec_push(&x->keys)) == NULL)
		return -1;
	*key = (uint64_t)p->pol_off[d] << 32 | p->npol[d];
	k = (int32_t)(x->ixs.n - 1);
	x->slots[s] = k;
	if (ix_merge(x, d, pols, p->npol[d],
	    &((struct pol_ix *)x->ixs.v)[k]) == -1)
		return -1;
	return k;
}

static int
ix_run(struct ix_builder *x, size_t max_bytes)
{
	struct pol_table	*t = x->b.t;
	size_t			 start = x->b.a->used, i;
	const uint32_t		*pols, *prev;
	uint64_t		*key;
	uint32_t		 pod, nprev;
	int64_t			 k;
	int			 d;

	for (x->nslots = 16; x->nslots < (size_t)t->npods * 2 + 2;
	    x->nslots *= 2)
		;
	if ((x->slots = malloc(x->nslots * sizeof(*x->slots))) == NULL)
		return -1;
	for (d = 0; d < 2; d++) {
		/* The lists of one direction only: the rules differ. */
		memset(x->slots, 0xff, x->nslots * sizeof(*x->slots));
		x->keys.n = 0;
		for (i = 0; i < x->ixs.n; i++) {
			/* The other direction's: in no slot of this one. */
			if ((key = vec_push(&x->keys)) == NULL)
				return -1;
			*key = 0;
		}
		prev = NULL;
		nprev = 0;
		k = -2;
		for (pod = 0; pod < t->npods; pod++) {
			if (t->pods[pod].npol[d] == 0)
				continue;
			/* Neighbours (one Deployment) mostly share a list:
			   skip the hash. */
			pols = &t->pod_pols[t->pods[pod].pol_off[d]];
			if (prev == NULL || nprev != t->pods[pod].npol[d] ||
			    memcmp(prev, pols, nprev * sizeof(*pols)) != 0)
				k = ix_for_pod(x, d, pod, start, max_bytes);
			x->work += t->pods[pod].npol[d] / 8 + 1;
			prev = pols;
			nprev = t->pods[pod].npol[d];
			if (k == -1)
				return -1;
			if (k == -2)
				t->ix_missed[d]++;
			else
				t->pods[pod].ix[d] = (int32_t)k;
		}
	}
	if (vec_dup(&x->b, &x->ixs, (void **)&t->ix) == -1)
		return -1;
	t->nix = (uint32_t)x->ixs.n;
	t->ix_bytes = x->b.a->used - start;
	return 0;
}

int
pol_index_build(struct pol_table *t, struct arena *a, size_t max_bytes)
{
	struct ix_builder	x;
	uint32_t		i;
	int			rc;

	for (i = 0; i < t->npods; i++)
		t->pods[i].ix[0] = t->pods[i].ix[1] = POL_NONE;
	t->ix = NULL;
	t->nix = 0;
	t->ix_bytes = 0;
	t->ix_missed[0] = t->ix_missed[1] = 0;
	memset(&x, 0, sizeof(x));
	x.b.t = t;
	x.b.a = a;
	arena_init(&x.b.tmp, 0);
	vec_init(&x.b.pods, sizeof(uint32_t));
	vec_init(&x.b.r4, sizeof(struct pol_range));
	vec_init(&x.b.r6, sizeof(struct pol_range));
	vec_init(&x.ents, sizeof(struct ix_ent));
	vec_init(&x.ixs, sizeof(struct pol_ix));
	vec_init(&x.keys, sizeof(uint64_t));
	x.max_work = (uint64_t)max_bytes * IX_WORK_PER_BYTE;
	rc = ix_run(&x, max_bytes);
	if (rc == -1)
		for (i = 0; i < t->npods; i++)
			t->pods[i].ix[0] = t->pods[i].ix[1] = POL_NONE;
	free(x.slots);
	vec_free(&x.ents);
	vec_free(&x.ixs);
	vec_free(&x.keys);
	pol_builder_free(&x.b);
	return rc;
}
