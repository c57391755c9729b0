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
#include "load.h"
#include "netaddr.h"
#include "proto.h"

#define POL_NONE	(-1)	/* no Pod, no policy, no rule */
#define POL_LABEL_NS_NAME	"kubernetes.io/metadata.name"

enum pol_dir {
	POL_INGRESS,
	POL_EGRESS,
};

/* A 128-bit address as a number; IPv4 uses the low 32 bits of lo. */
struct pol_u128 {
	uint64_t		 hi;
	uint64_t		 lo;
};

/* Addresses lo..hi inclusive. */
struct pol_range {
	struct pol_u128		 lo;
	struct pol_u128		 hi;
};

/* A set of Pod indices: bits when non-NULL, else a sorted array. */
struct pol_podset {
	uint32_t		*idx;		/* arena; ascending */
	uint64_t		*bits;		/* arena; npods bits */
	uint32_t		 n;		/* Pods in the set */
};

/* One NetworkPolicyPort. */
struct pol_port {
	enum proto		 proto;
	int			 named;		/* name_id, not lo..hi */
	uint32_t		 name_id;	/* into pol_table.port_names */
	uint16_t		 lo;		/* 0..65535 when port absent */
	uint16_t		 hi;
};

/* One ingress or egress rule. */
struct pol_rule {
	int			 all_peers;	/* from/to empty or absent */
	int			 all_ports;	/* ports empty or absent */
	struct pol_podset	 pods;		/* pod/namespace selectors */
	struct pol_range	*v4;		/* arena; ipBlocks, sorted */
	uint32_t		 nv4;
	struct pol_range	*v6;		/* arena */
	uint32_t		 nv6;
	struct pol_port		*ports;		/* arena */
	uint32_t		 nports;
};

struct pol_policy {
	const char		*ns;		/* kset arena */
	const char		*name;		/* kset arena */
	int			 isolates[2];	/* by enum pol_dir */
	struct pol_rule		*rules[2];	/* arena; by enum pol_dir */
	uint32_t		 nrules[2];
};

/* A container port whose name some policy uses. */
struct pol_named_port {
	uint32_t		 name_id;
	enum proto		 proto;
	uint16_t		 port;
};

struct pol_pod {
	const char		*ns;		/* kset arena */
	const char		*name;		/* kset arena */
	int			 eligible;	/* takes part; see above */
	struct ipaddr		 addr[2];	/* podIPs; family 0: none */
	uint32_t		 naddr;
	uint32_t		 pol_off[2];	/* into pol_table.pod_pols */
	uint32_t		 npol[2];	/* 0: not isolated */
	uint32_t		 nport_off;	/* into pol_table.named */
	uint32_t		 nnamed;
};

/* Address -> Pod, sorted by address (ipaddr_cmp), then Pod index. */
struct pol_addr_ent {
	struct ipaddr		 addr;
	uint32_t		 pod;
};

struct pol_table {
	struct pol_pod		*pods;		/* arena; kset Pod order */
	uint32_t		 npods;
	struct pol_policy	*policies;	/* arena; kset order, valid */
	uint32_t		 npolicies;
	uint32_t		*pod_pols;	/* arena; slices of pol_pod */
	struct pol_addr_ent	*by_addr;	/* arena */
	uint32_t		 naddr;
	struct pol_named_port	*named;		/* arena; slices of pol_pod */
	const char		**port_names;	/* arena; sorted, unique */
	uint32_t		 nport_names;
	uint32_t		 nisolated[2];	/* Pods isolated, per dir */
};

/*
 * Compile the valid NetworkPolicies of set (validated and defaulted by
 * val_all) into t, allocating from a.  Temporary memory is freed before
 * returning.  Returns 0, or -1 when memory ran out (t is then unusable;
 * free a).
 */
int	 pol_build(struct pol_table *t, struct arena *a,
	    const struct kset *set);

/* ---- queries (policy_eval.c): no allocation, safe on any thread ---- */

/* One connection as the verdict sees it. */
struct pol_flow {
	struct ipaddr		 src;		/* family 0: unknown */
	struct ipaddr		 dst;		/* family 0: unknown */
	int32_t			 src_pod;	/* POL_NONE: not a Pod */
	int32_t			 dst_pod;	/* POL_NONE: not a Pod */
	uint16_t		 port;		/* at dst */
	enum proto		 proto;
};

/* One side of the verdict: dst's ingress or src's egress. */
struct pol_side {
	int32_t			 pod;		/* judged Pod or POL_NONE */
	int			 isolated;
	int			 allowed;	/* not isolated, or a rule */
	const uint32_t		*policies;	/* table; isolating ones */
	uint32_t		 npolicies;
	int32_t			 by_policy;	/* first allowing, or NONE */
	int32_t			 by_rule;	/* its rule index, or NONE */
};

struct pol_verdict {
	int			 allowed;
	struct pol_side		 side[2];	/* by enum pol_dir */
};

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
