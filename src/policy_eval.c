/*
 * policy_eval: the per-connection NetworkPolicy verdict.  Reads only
 * the compiled table (policy.h); no allocation, no locks, no strings,
 * so any worker may call it for every accepted connection.
 */
#include "config.h"

#include <string.h>

#include "policy.h"

static int
podset_has(const struct pol_table *t, const struct pol_podset *s,
    uint32_t pod)
{
	uint32_t lo = 0, hi = s->n, mid;

	if (s->bits != NULL)
		return pod < t->npods && (s->bits[pod >> 6] >> (pod & 63) & 1);
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (s->idx[mid] == pod)
			return 1;
		if (s->idx[mid] < pod)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

static int
u128_le(struct pol_u128 a, struct pol_u128 b)
{
	return a.hi < b.hi || (a.hi == b.hi && a.lo <= b.lo);
}

/* x lies in one of the sorted, disjoint ranges r[0..n). */
static int
ranges_have(const struct pol_range *r, uint32_t n, struct pol_u128 x)
{
	uint32_t lo = 0, hi = n, mid;

	/* The first range starting after x; x can only be in the one
	   before it. */
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (u128_le(r[mid].lo, x))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 && u128_le(x, r[lo - 1].hi);
}

/* The rule's peers (from or to) include the Pod pod / address addr. */
static int
peer_match(const struct pol_table *t, const struct pol_rule *r,
    int32_t pod, const struct ipaddr *addr)
{
	struct pol_u128 x;

	if (r->all_peers)
		return 1;
	if (pod >= 0 && r->pods.n > 0 && podset_has(t, &r->pods,
	    (uint32_t)pod))
		return 1;
	if (addr->family == AF_INET && r->nv4 > 0) {
		pol_addr_u128(addr, &x);
		return ranges_have(r->v4, r->nv4, x);
	}
	if (addr->family == AF_INET6 && r->nv6 > 0) {
		pol_addr_u128(addr, &x);
		return ranges_have(r->v6, r->nv6, x);
	}
	return 0;
}

/* The destination Pod has a port called name_id on proto numbered port. */
static int
named_match(const struct pol_table *t, int32_t pod, uint32_t name_id,
    enum proto proto, uint16_t port)
{
	const struct pol_pod		*p;
	const struct pol_named_port	*np;
	uint32_t			 i;

	if (pod < 0)
		return 0;
	p = &t->pods[pod];
	for (i = 0; i < p->nnamed; i++) {
		np = &t->named[p->nport_off + i];
		if (np->name_id == name_id && np->proto == proto &&
		    np->port == port)
			return 1;
	}
	return 0;
}

/* The rule's ports include the flow's destination port and protocol. */
static int
port_match(const struct pol_table *t, const struct pol_rule *r,
    const struct pol_flow *f)
{
	const struct pol_port	*p;
	uint32_t		 i;

	if (r->all_ports)
		return 1;
	for (i = 0; i < r->nports; i++) {
		p = &r->ports[i];
		if (p->proto != f->proto)
			continue;
		if (p->named ? named_match(t, f->dst_pod, p->name_id, f->proto,
		    f->port) : (f->port >= p->lo && f->port <= p->hi))
			return 1;
	}
	return 0;
}

/*
 * One side: the isolating policies of the judged Pod (dst for ingress,
 * src for egress) and the first of their rules in dir that matches the
 * other end and the destination port.
 */
static void
judge_side(const struct pol_table *t, const struct pol_flow *f,
    enum pol_dir dir, struct pol_side *s)
{
	const struct pol_pod	*p;
	const struct pol_policy	*pol;
	const struct ipaddr	*peer_addr;
	int32_t			 peer;
	uint32_t		 i, j;

	s->pod = dir == POL_INGRESS ? f->dst_pod : f->src_pod;
	peer = dir == POL_INGRESS ? f->src_pod : f->dst_pod;
	peer_addr = dir == POL_INGRESS ? &f->src : &f->dst;
	s->policies = NULL;
	s->npolicies = 0;
	s->by_policy = s->by_rule = POL_NONE;
	s->isolated = 0;
	s->allowed = 1;
	if (s->pod < 0 || (uint32_t)s->pod >= t->npods)
		return;
	p = &t->pods[s->pod];
	if (p->npol[dir] == 0)
		return;
	s->isolated = 1;
	s->allowed = 0;
	s->policies = &t->pod_pols[p->pol_off[dir]];
	s->npolicies = p->npol[dir];
	for (i = 0; i < s->npolicies; i++) {
		pol = &t->policies[s->policies[i]];
		for (j = 0; j < pol->nrules[dir]; j++) {
			if (!peer_match(t, &pol->rules[dir][j], peer,
			    peer_addr) ||
			    !port_match(t, &pol->rules[dir][j], f))
				continue;
			s->allowed = 1;
			s->by_policy = (int32_t)s->policies[i];
			s->by_rule = (int32_t)j;
			return;
		}
	}
}

int
pol_judge(const struct pol_table *t, const struct pol_flow *f,
    struct pol_verdict *v)
{
	judge_side(t, f, POL_INGRESS, &v->side[POL_INGRESS]);
	judge_side(t, f, POL_EGRESS, &v->side[POL_EGRESS]);
	v->allowed = v->side[POL_INGRESS].allowed &&
	    v->side[POL_EGRESS].allowed;
	return v->allowed;
}

int32_t
pol_pod_by_addr(const struct pol_table *t, const struct ipaddr *a)
{
	uint32_t	lo = 0, hi = t->naddr, mid;

	if (a->family == 0)
		return POL_NONE;
	/* Lower bound: the first entry not below a, the lowest Pod. */
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (ipaddr_cmp(&t->by_addr[mid].addr, a) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < t->naddr && ipaddr_cmp(&t->by_addr[lo].addr, a) == 0)
		return (int32_t)t->by_addr[lo].pod;
	return POL_NONE;
}

void
pol_flow_init(const struct pol_table *t, struct pol_flow *f,
    const struct ipaddr *src, const struct ipaddr *dst, uint16_t port,
    enum proto proto)
{
	memset(f, 0, sizeof(*f));
	f->src = *src;
	f->dst = *dst;
	f->src_pod = pol_pod_by_addr(t, src);
	f->dst_pod = pol_pod_by_addr(t, dst);
	f->port = port;
	f->proto = proto;
}

/*
 * One side from the merged index: 1 when not isolated or some group
 * matches the port and the other end; 0 when none does or the judged
 * Pod has no index.
 */
static int
allowed_side(const struct pol_table *t, const struct pol_flow *f,
    enum pol_dir dir)
{
	const struct pol_pod	*p;
	const struct pol_ix	*x;
	const struct pol_rule	*g;
	const struct ipaddr	*peer_addr;
	int32_t			 pod, peer;
	uint32_t		 i, lo, hi, mid;

	pod = dir == POL_INGRESS ? f->dst_pod : f->src_pod;
	peer = dir == POL_INGRESS ? f->src_pod : f->dst_pod;
	peer_addr = dir == POL_INGRESS ? &f->src : &f->dst;
	if (pod < 0 || (uint32_t)pod >= t->npods)
		return 1;
	p = &t->pods[pod];
	if (p->npol[dir] == 0)
		return 1;
	if (p->ix[dir] < 0 || (uint32_t)p->ix[dir] >= t->nix)
		return 0;
	x = &t->ix[p->ix[dir]];
	for (i = 0; i < x->nscan; i++) {
		g = &x->groups[i];
		if (port_match(t, g, f) && peer_match(t, g, peer, peer_addr))
			return 1;
	}
	/* The one group of this port number, if any. */
	lo = x->nscan;
	hi = x->ngroups;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		g = &x->groups[mid];
		if (g->ports[0].proto < f->proto || (g->ports[0].proto ==
		    f->proto && g->ports[0].lo < f->port))
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == x->ngroups)
		return 0;
	g = &x->groups[lo];
	return g->ports[0].proto == f->proto && g->ports[0].lo == f->port &&
	    peer_match(t, g, peer, peer_addr);
}

int
pol_allowed(const struct pol_table *t, const struct pol_flow *f)
{
	return allowed_side(t, f, POL_INGRESS) &&
	    allowed_side(t, f, POL_EGRESS);
}
