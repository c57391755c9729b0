/*
 * policy: compile NetworkPolicies into the tables policy_eval.c reads
 * (the merged allow index over them is policy_index.c's).  The layout
 * and the reasons for it are in policy.h.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "load.h"
#include "policy.h"
#include "policy_int.h"
#include "selector.h"
#include "vec.h"

/* A namespace as selectors see it: its labels plus the name label. */
struct pol_ns {
	const char		*name;		/* kset arena */
	struct kstrmap		 labels;	/* build's tmp arena */
};

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char * const *)a, *(const char * const *)b);
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* ---- 128-bit address arithmetic ---- */

static int
u128_cmp(struct pol_u128 a, struct pol_u128 b)
{
	if (a.hi != b.hi)
		return a.hi < b.hi ? -1 : 1;
	return a.lo < b.lo ? -1 : a.lo > b.lo;
}

/* a + 1; returns 1 when it wrapped (a was the largest value). */
static int
u128_inc(struct pol_u128 *a)
{
	if (++a->lo != 0)
		return 0;
	return ++a->hi == 0;
}

static void
u128_dec(struct pol_u128 *a)
{
	if (a->lo-- == 0)
		a->hi--;
}

/* The block c as the range of addresses it holds. */
static struct pol_range
cidr_range(const struct cidr *c)
{
	struct pol_range	r;
	int			host;

	pol_addr_u128(&c->addr, &r.lo);
	host = (c->addr.family == AF_INET ? 32 : 128) - c->prefix;
	r.hi = r.lo;
	if (host >= 64) {
		r.hi.lo = UINT64_MAX;
		r.hi.hi |= host == 128 ? UINT64_MAX :
		    (((uint64_t)1 << (host - 64)) - 1);
	} else if (host > 0)
		r.hi.lo |= ((uint64_t)1 << host) - 1;
	return r;
}

static int
cmp_range(const void *a, const void *b)
{
	return u128_cmp(((const struct pol_range *)a)->lo,
	    ((const struct pol_range *)b)->lo);
}

/*
 * Append ipBlock (cidr minus every except) to the rule's ranges of its
 * family.  The excepts are clipped to the cidr (validation already
 * requires them inside it) and may overlap one another.  An unparsable
 * cidr adds nothing.
 */
static int
ipblock_add(struct pol_builder *b, const struct knp_ipblock *ib)
{
	struct cidr		 c, e;
	struct pol_range	 blk, x, *ex, *out;
	struct pol_u128		 cur;
	size_t			 i;
	int			 done = 0;

	if (cidr_parse(ib->cidr, &c, 0) == -1)
		return 0;
	blk = cidr_range(&c);
	b->ex.n = 0;
	for (i = 0; i < ib->except.n; i++) {
		if (cidr_parse(ib->except.v[i], &e, 0) == -1 ||
		    e.addr.family != c.addr.family)
			continue;
		x = cidr_range(&e);
		if (u128_cmp(x.lo, blk.lo) < 0)
			x.lo = blk.lo;
		if (u128_cmp(x.hi, blk.hi) > 0)
			x.hi = blk.hi;
		if (u128_cmp(x.lo, x.hi) > 0)
			continue;
		if ((ex = vec_push(&b->ex)) == NULL)
			return -1;
		*ex = x;
	}
	sort(b->ex.v, b->ex.n, sizeof(struct pol_range), cmp_range);
	cur = blk.lo;
	for (i = 0, ex = b->ex.v; i < b->ex.n && !done; i++) {
		if (u128_cmp(ex[i].lo, cur) > 0) {
			out = vec_push(c.addr.family == AF_INET ? &b->r4 :
			    &b->r6);
			if (out == NULL)
				return -1;
			out->lo = cur;
			out->hi = ex[i].lo;
			u128_dec(&out->hi);
		}
		if (u128_cmp(ex[i].hi, cur) >= 0) {
			cur = ex[i].hi;
			done = u128_inc(&cur) || u128_cmp(cur, blk.hi) > 0;
		}
	}
	if (!done && u128_cmp(cur, blk.hi) <= 0) {
		if ((out = vec_push(c.addr.family == AF_INET ? &b->r4 :
		    &b->r6)) == NULL)
			return -1;
		out->lo = cur;
		out->hi = blk.hi;
	}
	return 0;
}

/*
 * Sort and merge one family's ranges (overlapping or adjacent ones
 * become one) into the table's arena.
 */
int
pol_ranges_finish(struct pol_builder *b, struct vec *v,
    struct pol_range **out, uint32_t *nout)
{
	struct pol_range	*r = v->v;
	struct pol_u128		 next;
	size_t			 i, n = 0;

	sort(r, v->n, sizeof(*r), cmp_range);
	for (i = 0; i < v->n; i++) {
		if (n > 0) {
			next = r[n - 1].hi;
			if (u128_inc(&next) || u128_cmp(r[i].lo, next) <= 0) {
				if (u128_cmp(r[i].hi, r[n - 1].hi) > 0)
					r[n - 1].hi = r[i].hi;
				continue;
			}
		}
		r[n++] = r[i];
	}
	v->n = n;
	*nout = (uint32_t)n;
	return vec_dup(b, v, (void **)out);
}

/* ---- Pods, namespaces, selectors ---- */

static int
pod_eligible(const struct kpod *p)
{
	if (p->invalid || p->meta.ns == NULL || p->meta.name == NULL)
		return 0;
	if (p->spec.host_network.set && p->spec.host_network.v)
		return 0;
	return p->status.phase == NULL ||
	    (strcmp(p->status.phase, "Succeeded") != 0 &&
	    strcmp(p->status.phase, "Failed") != 0);
}

/* status.podIPs, else status.podIP; at most two (one per family). */
static void
pod_addrs(const struct kpod *p, struct pol_pod *pp)
{
	size_t i;

	pp->naddr = 0;
	for (i = 0; i < p->status.pod_ips.n && pp->naddr < 2; i++)
		if (ipaddr_parse(p->status.pod_ips.v[i].ip,
		    &pp->addr[pp->naddr]) == 0)
			pp->naddr++;
	if (p->status.pod_ips.n == 0 && p->status.pod_ip != NULL &&
	    ipaddr_parse(p->status.pod_ip, &pp->addr[0]) == 0)
		pp->naddr = 1;
}

/*
 * Append to b->pods every eligible Pod of ns that ls selects; ls NULL:
 * every eligible Pod of ns.  Starts from the smallest posting list of
 * ls's matchLabels and checks the whole selector on each candidate.
 */
static int
collect(struct pol_builder *b, const char *ns, const struct klabel_selector *ls)
{
	const struct sel_posting	*p;
	const uint32_t			*cand;
	const struct kpair		*kp;
	uint32_t			*out;
	size_t				 i, ncand;

	if ((p = sel_index_get(&b->idx, ns, NULL, NULL)) == NULL)
		return 0;
	cand = p->pods;
	ncand = p->n;
	for (i = 0; ls != NULL && i < ls->match_labels.n; i++) {
		kp = &ls->match_labels.v[i];
		if (kp->key == NULL)
			continue;
		p = sel_index_get(&b->idx, ns, kp->key,
		    kp->value != NULL ? kp->value : "");
		if (p == NULL)
			return 0;
		if (p->n < ncand) {
			cand = p->pods;
			ncand = p->n;
		}
	}
	for (i = 0; i < ncand; i++) {
		if (!b->t->pods[cand[i]].eligible)
			continue;
		if (ls != NULL && !sel_match_selector(ls,
		    &b->set->pods.v[cand[i]]->meta.labels))
			continue;
		if ((out = vec_push(&b->pods)) == NULL)
			return -1;
		*out = cand[i];
	}
	return 0;
}

/* By name: cmp_str reads the first field, name, of a struct pol_ns. */
static struct pol_ns *
ns_find(const struct pol_builder *b, const char *name)
{
	return bsearch(&name, b->nss, b->nns, sizeof(*b->nss), cmp_str);
}

/*
 * Every namespace a Namespace object, a Pod or a policy names, sorted,
 * each with its labels and kubernetes.io/metadata.name (which the API
 * server sets on every namespace, overriding any declared value).
 */
static int
namespaces_build(struct pol_builder *b)
{
	const struct kset	*s = b->set;
	const char		**names;
	const struct kns	*kn;
	struct pol_ns		*ns;
	struct kpair		*kp;
	size_t			 i, j, n = 0, max;

	max = s->nss.n + s->pods.n + s->netpols.n;
	if ((names = calloc(max + 1, sizeof(*names))) == NULL)
		return -1;
	for (i = 0; i < s->nss.n; i++)
		if (s->nss.v[i]->meta.name != NULL)
			names[n++] = s->nss.v[i]->meta.name;
	/* Pods come sorted by namespace: one name per run. */
	for (i = 0; i < s->pods.n; i++)
		if (s->pods.v[i]->meta.ns != NULL && (i == 0 ||
		    s->pods.v[i - 1]->meta.ns == NULL ||
		    strcmp(s->pods.v[i - 1]->meta.ns,
		    s->pods.v[i]->meta.ns) != 0))
			names[n++] = s->pods.v[i]->meta.ns;
	for (i = 0; i < s->netpols.n; i++)
		if (s->netpols.v[i]->meta.ns != NULL)
			names[n++] = s->netpols.v[i]->meta.ns;
	sort(names, n, sizeof(*names), cmp_str);
	b->nss = arena_calloc(&b->tmp, n + 1, sizeof(*b->nss));
	for (i = 0; b->nss != NULL && i < n; i++)
		if (b->nns == 0 || strcmp(b->nss[b->nns - 1].name,
		    names[i]) != 0)
			b->nss[b->nns++].name = names[i];
	free(names);
	if (b->nss == NULL)
		return -1;
	/* Declared labels of valid Namespace objects. */
	for (i = 0; i < s->nss.n; i++) {
		kn = s->nss.v[i];
		if (kn->invalid || kn->meta.name == NULL ||
		    (ns = ns_find(b, kn->meta.name)) == NULL ||
		    ns->labels.v != NULL)
			continue;
		ns->labels.v = arena_calloc(&b->tmp, kn->meta.labels.n + 1,
		    sizeof(*kp));
		if (ns->labels.v == NULL)
			return -1;
		for (j = 0; j < kn->meta.labels.n; j++) {
			if (kn->meta.labels.v[j].key == NULL ||
			    strcmp(kn->meta.labels.v[j].key,
			    POL_LABEL_NS_NAME) == 0)
				continue;
			ns->labels.v[ns->labels.n++] = kn->meta.labels.v[j];
		}
	}
	for (i = 0; i < b->nns; i++) {
		ns = &b->nss[i];
		if (ns->labels.v == NULL && (ns->labels.v =
		    arena_calloc(&b->tmp, 1, sizeof(*kp))) == NULL)
			return -1;
		kp = &ns->labels.v[ns->labels.n++];
		kp->key = POL_LABEL_NS_NAME;
		kp->value = ns->name;
	}
	return 0;
}

/* ---- ports ---- */

/* The id of an interned port name, or -1. */
static int64_t
port_name_id(const struct pol_table *t, const char *name)
{
	const char **p;

	if (name == NULL || t->nport_names == 0)
		return -1;
	p = bsearch(&name, t->port_names, t->nport_names,
	    sizeof(*t->port_names), cmp_str);
	return p == NULL ? -1 : (int64_t)(p - t->port_names);
}

/* Intern every port name a valid policy uses (sorted, unique). */
static int
port_names_build(struct pol_builder *b)
{
	const struct knetpol	*np;
	const struct knp_rule	*kr;
	const char		**slot, **names;
	size_t			 i, j, k, n = 0;
	int			 d;

	for (i = 0; i < b->set->netpols.n; i++) {
		np = b->set->netpols.v[i];
		if (np->invalid)
			continue;
		for (d = 0; d < 2; d++) {
			const struct knp_spec *sp = &np->spec;
			size_t nr = d == POL_INGRESS ? sp->ingress.n :
			    sp->egress.n;

			for (j = 0; j < nr; j++) {
				kr = d == POL_INGRESS ? &sp->ingress.v[j] :
				    &sp->egress.v[j];
				for (k = 0; k < kr->ports.n; k++) {
					if (!kr->ports.v[k].port.is_str ||
					    kr->ports.v[k].port.str == NULL)
						continue;
					if ((slot = vec_push(&b->names)) ==
					    NULL)
						return -1;
					*slot = kr->ports.v[k].port.str;
				}
			}
		}
	}
	names = b->names.v;
	sort(names, b->names.n, sizeof(*names), cmp_str);
	for (i = 0; i < b->names.n; i++)
		if (n == 0 || strcmp(names[n - 1], names[i]) != 0)
			names[n++] = names[i];
	b->names.n = n;
	b->t->nport_names = (uint32_t)n;
	return vec_dup(b, &b->names, (void **)&b->t->port_names);
}

static enum proto
proto_or_tcp(const char *s)
{
	int p = s == NULL ? PROTO_TCP : proto_parse(s);

	return p < 0 ? PROTO_TCP : (enum proto)p;
}

/* Container ports of one container list whose names a policy uses. */
static int
pod_named_add(struct pol_builder *b, const struct kpod_container *c, size_t n,
    int sidecars_only, struct pol_pod *pp)
{
	const struct kpod_port	*kp;
	struct pol_named_port	*np;
	size_t			 i, j;
	int64_t			 id;

	for (i = 0; i < n; i++) {
		if (sidecars_only && (c[i].restart_policy == NULL ||
		    strcmp(c[i].restart_policy, "Always") != 0))
			continue;
		for (j = 0; j < c[i].ports.n; j++) {
			kp = &c[i].ports.v[j];
			if ((id = port_name_id(b->t, kp->name)) < 0 ||
			    !kp->container_port.set ||
			    kp->container_port.v < 1 ||
			    kp->container_port.v > 65535)
				continue;
			if ((np = vec_push(&b->named)) == NULL)
				return -1;
			np->name_id = (uint32_t)id;
			np->proto = proto_or_tcp(kp->protocol);
			np->port = (uint16_t)kp->container_port.v;
			pp->nnamed++;
		}
	}
	return 0;
}

/* Fill the table's Pods: names, eligibility, addresses, named ports. */
static int
pods_build(struct pol_builder *b)
{
	struct pol_table	*t = b->t;
	const struct kpod	*p;
	struct pol_pod		*pp;
	size_t			 i;

	if (b->set->pods.n > UINT32_MAX / 2)
		return -1;
	t->npods = (uint32_t)b->set->pods.n;
	t->pods = arena_calloc(b->a, t->npods + 1, sizeof(*t->pods));
	if (t->pods == NULL)
		return -1;
	for (i = 0; i < t->npods; i++) {
		p = b->set->pods.v[i];
		pp = &t->pods[i];
		pp->ns = p->meta.ns;
		pp->name = p->meta.name;
		pp->ix[0] = pp->ix[1] = POL_NONE;
		if (!(pp->eligible = pod_eligible(p)))
			continue;
		pod_addrs(p, pp);
		pp->nport_off = (uint32_t)b->named.n;
		if (pod_named_add(b, p->spec.containers.v,
		    p->spec.containers.n, 0, pp) == -1 ||
		    pod_named_add(b, p->spec.init_containers.v,
		    p->spec.init_containers.n, 1, pp) == -1)
			return -1;
	}
	return vec_dup(b, &b->named, (void **)&t->named);
}

static int
cmp_addr_ent(const void *a, const void *b)
{
	const struct pol_addr_ent *x = a, *y = b;
	int c = ipaddr_cmp(&x->addr, &y->addr);

	if (c != 0)
		return c;
	return x->pod < y->pod ? -1 : x->pod > y->pod;
}

static int
addrs_build(struct pol_builder *b)
{
	struct pol_table	*t = b->t;
	uint32_t		 i, j, n = 0;

	for (i = 0; i < t->npods; i++)
		n += t->pods[i].naddr;
	if ((t->by_addr = arena_calloc(b->a, n + 1, sizeof(*t->by_addr))) ==
	    NULL)
		return -1;
	for (i = 0; i < t->npods; i++)
		for (j = 0; j < t->pods[i].naddr; j++) {
			t->by_addr[t->naddr].addr = t->pods[i].addr[j];
			t->by_addr[t->naddr++].pod = i;
		}
	sort(t->by_addr, t->naddr, sizeof(*t->by_addr), cmp_addr_ent);
	return 0;
}

/* ---- rules and policies ---- */

/*
 * b->pods (unsorted, maybe repeated) as a set in the table's arena, in
 * the smaller form: 32 bits per member or one bit per Pod.  Large sets
 * (a namespaceSelector over many namespaces) go straight to bits,
 * without sorting.
 */
int
pol_podset_build(struct pol_builder *b, struct pol_podset *s)
{
	uint32_t	*v = b->pods.v;
	size_t		 i, n = 0;

	if (b->pods.n == 0)
		return 0;
	if ((uint64_t)b->pods.n * 32 > b->t->npods) {
		s->bits = arena_calloc(b->a, (b->t->npods + 63) / 64,
		    sizeof(*s->bits));
		if (s->bits == NULL)
			return -1;
		for (i = 0; i < b->pods.n; i++) {
			uint64_t bit = (uint64_t)1 << (v[i] & 63);

			if ((s->bits[v[i] >> 6] & bit) == 0) {
				s->bits[v[i] >> 6] |= bit;
				n++;
			}
		}
		s->n = (uint32_t)n;
		return 0;
	}
	sort(v, b->pods.n, sizeof(*v), cmp_u32);
	for (i = 0; i < b->pods.n; i++)
		if (n == 0 || v[n - 1] != v[i])
			v[n++] = v[i];
	b->pods.n = n;
	s->n = (uint32_t)n;
	return vec_dup(b, &b->pods, (void **)&s->idx);
}

/*
 * One peer's Pods into b->pods: podSelector alone, Pods of the policy's
 * namespace; namespaceSelector alone, every Pod of the namespaces it
 * selects; both, the Pods both select.  ipBlock goes to the ranges.
 */
static int
peer_add(struct pol_builder *b, const struct knetpol *np,
    const struct knp_peer *pe)
{
	const struct klabel_selector	*ps = &pe->pod_selector;
	size_t				 i;

	if (pe->ip_block.y != NULL && ipblock_add(b, &pe->ip_block) == -1)
		return -1;
	if (pe->namespace_selector.y == NULL)
		return ps->y == NULL ? 0 : collect(b, np->meta.ns, ps);
	for (i = 0; i < b->nns; i++)
		if (sel_match_selector(&pe->namespace_selector,
		    &b->nss[i].labels) && collect(b, b->nss[i].name,
		    ps->y != NULL ? ps : NULL) == -1)
			return -1;
	return 0;
}

static int
port_build(const struct pol_builder *b, const struct knp_port *kp,
    struct pol_port *p)
{
	int	 proto;
	int64_t	 id;

	proto = kp->protocol == NULL ? PROTO_TCP : proto_parse(kp->protocol);
	if (proto < 0)
		return -1;
	p->proto = (enum proto)proto;
	if (!kp->port.set) {
		p->lo = 0;
		p->hi = 65535;
		return 0;
	}
	if (kp->port.is_str) {
		if ((id = port_name_id(b->t, kp->port.str)) < 0)
			return -1;
		p->named = 1;
		p->name_id = (uint32_t)id;
		return 0;
	}
	if (kp->port.num < 0 || kp->port.num > 65535)
		return -1;
	p->lo = p->hi = (uint16_t)kp->port.num;
	if (kp->end_port.set) {
		if (kp->end_port.v < kp->port.num || kp->end_port.v > 65535)
			return -1;
		p->hi = (uint16_t)kp->end_port.v;
	}
	return 0;
}

static int
rule_build(struct pol_builder *b, const struct knetpol *np,
    const struct knp_rule *kr, struct pol_rule *r)
{
	size_t i;

	r->all_peers = kr->peers.n == 0;
	r->all_ports = kr->ports.n == 0;
	b->pods.n = b->r4.n = b->r6.n = 0;
	for (i = 0; i < kr->peers.n; i++)
		if (peer_add(b, np, &kr->peers.v[i]) == -1)
			return -1;
	if (pol_podset_build(b, &r->pods) == -1 ||
	    pol_ranges_finish(b, &b->r4, &r->v4, &r->nv4) == -1 ||
	    pol_ranges_finish(b, &b->r6, &r->v6, &r->nv6) == -1)
		return -1;
	if (kr->ports.n == 0)
		return 0;
	if ((r->ports = arena_calloc(b->a, kr->ports.n, sizeof(*r->ports))) ==
	    NULL)
		return -1;
	/* A port validation rejected matches nothing: fail closed. */
	for (i = 0; i < kr->ports.n; i++)
		if (port_build(b, &kr->ports.v[i], &r->ports[r->nports]) == 0)
			r->nports++;
	return 0;
}

/* Record (pod, policy) for every Pod the policy isolates in dir. */
static int
policy_select(struct pol_builder *b, const struct knetpol *np, uint32_t pi)
{
	const struct klabel_selector	*ps = &np->spec.pod_selector;
	uint32_t			*pods;
	uint64_t			*pair;
	size_t				 i;
	int				 d;

	b->pods.n = 0;
	/* An absent podSelector decodes as the empty one: every Pod. */
	if (collect(b, np->meta.ns, ps->y != NULL ? ps : NULL) == -1)
		return -1;
	pods = b->pods.v;
	for (d = 0; d < 2; d++) {
		if (!b->t->policies[pi].isolates[d])
			continue;
		for (i = 0; i < b->pods.n; i++) {
			if ((pair = vec_push(&b->pairs[d])) == NULL)
				return -1;
			*pair = (uint64_t)pods[i] << 32 | pi;
		}
	}
	return 0;
}

static int
policy_build(struct pol_builder *b, const struct knetpol *np, uint32_t pi)
{
	struct pol_policy	*p = &b->t->policies[pi];
	size_t			 i, n;
	int			 d;

	p->ns = np->meta.ns;
	p->name = np->meta.name;
	p->isolates[POL_INGRESS] = np->isolates_ingress != 0;
	p->isolates[POL_EGRESS] = np->isolates_egress != 0;
	for (d = 0; d < 2; d++) {
		/* Rules of a type the policy does not isolate are moot. */
		if (!p->isolates[d])
			continue;
		n = d == POL_INGRESS ? np->spec.ingress.n : np->spec.egress.n;
		if (n == 0)
			continue;
		p->rules[d] = arena_calloc(b->a, n, sizeof(*p->rules[d]));
		if (p->rules[d] == NULL)
			return -1;
		p->nrules[d] = (uint32_t)n;
		for (i = 0; i < n; i++)
			if (rule_build(b, np, d == POL_INGRESS ?
			    &np->spec.ingress.v[i] : &np->spec.egress.v[i],
			    &p->rules[d][i]) == -1)
				return -1;
	}
	return policy_select(b, np, pi);
}

/*
 * Turn the (pod, policy) pairs of both directions into per-Pod slices
 * of one array.  Policies were visited in order, so a stable counting
 * sort by Pod keeps each slice in policy order.
 */
static int
pod_lists_build(struct pol_builder *b)
{
	struct pol_table	*t = b->t;
	const uint64_t		*pairs;
	uint32_t		*fill, off = 0, pod, i;
	size_t			 k;
	int			 d;

	if ((t->pod_pols = arena_calloc(b->a, b->pairs[0].n + b->pairs[1].n
	    + 1, sizeof(*t->pod_pols))) == NULL)
		return -1;
	if ((fill = calloc((size_t)t->npods + 1, sizeof(*fill))) == NULL)
		return -1;
	for (d = 0; d < 2; d++) {
		pairs = b->pairs[d].v;
		for (k = 0; k < b->pairs[d].n; k++)
			t->pods[pairs[k] >> 32].npol[d]++;
		for (i = 0; i < t->npods; i++) {
			t->pods[i].pol_off[d] = off;
			off += t->pods[i].npol[d];
			fill[i] = 0;
			if (t->pods[i].npol[d] > 0)
				t->nisolated[d]++;
		}
		for (k = 0; k < b->pairs[d].n; k++) {
			pod = (uint32_t)(pairs[k] >> 32);
			t->pod_pols[t->pods[pod].pol_off[d] + fill[pod]++] =
			    (uint32_t)pairs[k];
		}
	}
	free(fill);
	return 0;
}

void
pol_builder_free(struct pol_builder *b)
{
	int d;

	vec_free(&b->pods);
	vec_free(&b->r4);
	vec_free(&b->r6);
	vec_free(&b->ex);
	for (d = 0; d < 2; d++)
		vec_free(&b->pairs[d]);
	vec_free(&b->named);
	vec_free(&b->names);
	arena_free(&b->tmp);
}

static int
build_run(struct pol_builder *b)
{
	const struct kset	*s = b->set;
	size_t			 i;
	uint32_t		 n = 0;

	if (sel_index_build(&b->idx, &b->tmp, s->pods.v, s->pods.n) == -1 ||
	    namespaces_build(b) == -1 || port_names_build(b) == -1 ||
	    pods_build(b) == -1 || addrs_build(b) == -1)
		return -1;
	if ((b->t->policies = arena_calloc(b->a, s->netpols.n + 1,
	    sizeof(*b->t->policies))) == NULL)
		return -1;
	for (i = 0; i < s->netpols.n; i++) {
		if (s->netpols.v[i]->invalid)
			continue;
		if (policy_build(b, s->netpols.v[i], n) == -1)
			return -1;
		b->t->npolicies = ++n;
	}
	return pod_lists_build(b);
}

int
pol_build(struct pol_table *t, struct arena *a, const struct kset *set)
{
	struct pol_builder	b;
	int			rc;

	memset(t, 0, sizeof(*t));
	memset(&b, 0, sizeof(b));
	b.t = t;
	b.a = a;
	b.set = set;
	arena_init(&b.tmp, 0);
	vec_init(&b.pods, sizeof(uint32_t));
	vec_init(&b.r4, sizeof(struct pol_range));
	vec_init(&b.r6, sizeof(struct pol_range));
	vec_init(&b.ex, sizeof(struct pol_range));
	vec_init(&b.pairs[0], sizeof(uint64_t));
	vec_init(&b.pairs[1], sizeof(uint64_t));
	vec_init(&b.named, sizeof(struct pol_named_port));
	vec_init(&b.names, sizeof(const char *));
	rc = build_run(&b);
	pol_builder_free(&b);
	return rc;
}

/* ---- names ---- */

static int
cmp_pod_name(const char *ns, const char *name, const struct pol_pod *p)
{
	int c = strcmp(ns, p->ns != NULL ? p->ns : "");

	return c != 0 ? c : strcmp(name, p->name != NULL ? p->name : "");
}

int32_t
pol_pod_by_name(const struct pol_table *t, const char *ns, const char *name)
{
	uint32_t	lo = 0, hi = t->npods, mid;
	int		c;

	/* The kset sorts Pods by namespace, then name. */
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((c = cmp_pod_name(ns, name, &t->pods[mid])) == 0)
			return (int32_t)mid;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return POL_NONE;
}

const char *
pol_dir_name(enum pol_dir d)
{
	return d == POL_EGRESS ? "egress" : "ingress";
}
