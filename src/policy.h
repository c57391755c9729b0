/*
 * policy: Kubernetes NetworkPolicy (networking.k8s.io/v1), compiled
 * once per snapshot and judged per connection.
 *
 * pol_build() turns the validated NetworkPolicies of a kset into flat
 * tables; pol_judge() answers "may this client reach this Pod on this
 * port" from those tables alone, without allocating, locking or
 * touching a string, so the data path can call it for every accepted
 * connection.
 *
 * What is precomputed, and why:
 *
 *   - For every Pod, the policies that isolate it for ingress and for
 *     egress (policy indices, in policy order), as two slices of one
 *     shared array.  A Pod with an empty slice is not isolated.
 *
 *   - For every rule, the union of its peers' Pod and namespace
 *     selectors as ONE set of Pod indices: a sorted array when small
 *     (binary search), a bitmap over all Pods when the array would be
 *     larger than the bitmap (n * 32 > npods), so a set costs at most
 *     min(4n, npods / 8) bytes and a lookup is O(log n) or O(1).
 *     Selectors are resolved with the selector module's Pod index, so
 *     compiling costs about the number of Pods really selected.
 *
 *   - For every rule, the union of its peers' ipBlocks (cidr minus
 *     every except) as sorted, disjoint, non-adjacent address ranges,
 *     one array per family; a lookup is one binary search.  A prefix
 *     trie with allow/deny marks answers longest-prefix questions, but
 *     a rule is a UNION of blocks with holes: 10.0.0.0/8 except
 *     10.1.0.0/16 in one peer and 10.0.0.0/8 in another must still
 *     allow 10.1.2.3, which "the longest match is an except" gets wrong.
 *     Ranges make the union exact, and their count is bounded by the
 *     number of cidrs and excepts in the rule.
 *
 *   - Port names used by any policy are interned; every Pod keeps only
 *     its container ports whose names some policy uses, as (name id,
 *     protocol, number).  A named port is resolved on the destination
 *     Pod at query time by a scan of that short list.
 *
 *   - The merged allow index (pol_index_build), for the yes/no question
 *     of the data path: a connection to a Pod isolated by 1,000
 *     policies would otherwise walk every one of them.  Pods isolated
 *     by the same list of policies (most Pods share one) share one
 *     index per direction: the rules of every listed policy, split by
 *     port spec ("all ports", or one protocol with a number, a range or
 *     a name), the rules sharing a spec merged into one group whose
 *     peers are the union of theirs (Pod sets and address ranges,
 *     unions being what the ranges are for).  "Some rule matches peer
 *     and port" is then "some group matches port and peer": the same
 *     answer in O(groups x log n), whatever the number of policies.
 *     Named ports stay names: they resolve on the destination Pod (the
 *     peer, for egress) at query time, as the walk does, so Pods with
 *     different container ports still share an index.  The index is
 *     bounded in memory and work; isolated Pods past the bound have
 *     none, and their connections take the walk.
 *
 * Which Pods take part: valid Pods that are not hostNetwork (their
 * address is the node's: NetworkPolicy does not apply to them) and not
 * finished (Succeeded/Failed: they have no network, and their address
 * may already belong to another Pod).  Only those are selected by
 * policies, matched by selectors and found by address.
 *
 * Namespaces carry the kubernetes.io/metadata.name label the API
 * server gives every namespace, whether declared or only referenced.
 *
 * Ownership: every array of a struct pol_table is allocated from the
 * arena passed to pol_build(); names are borrowed from the kset.  Free
 * the arena (and drop the table) before the kset.
 */
#ifndef SVCPROXY_POLICY_H
#define SVCPROXY_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "netaddr.h"
#include "policy-t.h"

#define POL_LABEL_NS_NAME	"kubernetes.io/metadata.name"

struct kset;

/*
 * Compile the valid NetworkPolicies of set (validated and defaulted by
 * val_all) into t, allocating from a.  Temporary memory is freed before
 * returning.  Returns 0, or -1 when memory ran out (t is then unusable;
 * free a).
 */
int	 pol_build(struct pol_table *t, struct arena *a,
	    const struct kset *set);

/*
 * Build t's merged allow index (see above) into a, after pol_build(t).
 * At most max_bytes of a (and work in proportion) go to it; isolated
 * Pods left without an index are counted in t->ix_missed and judged by
 * the walk.  Returns 0, or -1 when a ran out (t is then unusable; free
 * a).  Calling it again replaces the index (the old one stays in a).
 */
int	 pol_index_build(struct pol_table *t, struct arena *a,
	    size_t max_bytes);

/* ---- queries (policy_eval.c): no allocation, safe on any thread ---- */

/*
 * Judge f: allowed when dst's ingress allows src (or dst is not an
 * isolated Pod) and src's egress allows dst on f->port (or src is not
 * an isolated Pod).  Pod and namespace selectors match a peer only
 * through its Pod index; ipBlocks match its address.  The first
 * allowing rule in policy order, then rule order, is reported.  Fills
 * v (borrowing from t) and returns v->allowed.
 */
int	 pol_judge(const struct pol_table *t, const struct pol_flow *f,
	    struct pol_verdict *v);

/*
 * Is f allowed, as pol_judge() would say?  1: allowed for certain, from
 * the merged index in O(groups x log n).  0: denied, or an isolated
 * side has no index; either way ask pol_judge() (which also says why).
 * Never 1 where pol_judge() says no: tests/unit/check_policy_index.c
 * compares the two on random policies.
 */
int	 pol_allowed(const struct pol_table *t, const struct pol_flow *f);

/*
 * The Pod whose address addr is (lowest index when several claim it),
 * or POL_NONE.
 */
int32_t	 pol_pod_by_addr(const struct pol_table *, const struct ipaddr *);
/* The Pod ns/name (eligible or not), or POL_NONE. */
int32_t	 pol_pod_by_name(const struct pol_table *, const char *ns,
	    const char *name);
/*
 * Fill f for src -> dst:port/proto, finding each side's Pod by address.
 */
void	 pol_flow_init(const struct pol_table *, struct pol_flow *f,
	    const struct ipaddr *src, const struct ipaddr *dst,
	    uint16_t port, enum proto proto);

/* An address as a number (IPv4 in the low 32 bits), for the ranges. */
static inline void
pol_addr_u128(const struct ipaddr *a, struct pol_u128 *out)
{
	int i;

	out->hi = out->lo = 0;
	if (a->family == AF_INET) {
		for (i = 0; i < 4; i++)
			out->lo = out->lo << 8 | a->b[i];
		return;
	}
	for (i = 0; i < 8; i++) {
		out->hi = out->hi << 8 | a->b[i];
		out->lo = out->lo << 8 | a->b[i + 8];
	}
}

/* "ingress" or "egress". */
const char *pol_dir_name(enum pol_dir);

#endif
