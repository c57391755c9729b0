/*
 * policy-t: the compiled NetworkPolicy tables and the verdict, plain
 * types only, so that the snapshot can hold a table by value without
 * the config side.  What each table means, and who owns its arrays:
 * policy.h.
 */
#ifndef SVCPROXY_POLICY_T_H
#define SVCPROXY_POLICY_T_H

#include <stdint.h>

#include "netaddr.h"
#include "proto.h"

#define POL_NONE	(-1)	/* no Pod, no policy, no rule */

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
	int32_t			 ix[2];		/* into pol_table.ix, by dir;
						   POL_NONE: not indexed */
};

/*
 * The merged allow index of one distinct list of isolating policies in
 * one direction (policy.h): each group is a rule with all_ports or
 * exactly one port, its peers the union of every rule allowing that
 * port spec.  Groups [0, nscan) (all ports, names, ranges) are scanned;
 * the rest, one port number each, are sorted by (protocol, port) and
 * searched, so 1,000 policies on 1,000 ports cost a binary search.
 */
struct pol_ix {
	struct pol_rule		*groups;	/* arena */
	uint32_t		 ngroups;
	uint32_t		 nscan;
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
	struct pol_ix		*ix;		/* arena; pol_index_build */
	uint32_t		 nix;
	size_t			 ix_bytes;	/* arena bytes of the index */
	uint32_t		 ix_missed[2];	/* isolated Pods left to the
						   walk (over the bound) */
};

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

#endif
