/*
 * affinity-t: sessionAffinity: ClientIP's tables (types only; affinity.h
 * has the functions and the contract).  lb.h includes it for struct
 * lb_livetab, which owns the registry, and struct lb_set, which points
 * at its Service port's table.
 */
#ifndef SVCPROXY_AFFINITY_T_H
#define SVCPROXY_AFFINITY_T_H

#include <stdatomic.h>
#include <stdint.h>

#include "strtab.h"

#define AFF_WAYS		8	/* entries per bucket */
#define AFF_DEFAULT_MAX		65536	/* entries per Service port */
#define AFF_MAX_LIMIT		(1u << 24)	/* the largest maximum */

struct lb_live;

/*
 * One client's endpoint: 40 bytes.  The endpoint is named by its live
 * entry (lb.h: outlives snapshots, one per address and port), so an
 * entry stays right across reloads; idx is where the endpoint was in the
 * set last time, a hint checked against the set (lb_set.eps[idx].live).
 */
struct aff_entry {
	uint8_t			 addr[16];	/* network order */
	uint8_t			 family;	/* 0: free; 4 or 6 */
	uint8_t			 pad[3];
	uint32_t		 idx;		/* hint: eps index */
	struct lb_live		*live;		/* livetab's; not owned */
	int64_t			 last_ms;	/* monotonic: last connection */
};

/* AFF_WAYS entries behind one spinlock: the critical section scans them. */
struct aff_bucket {
	atomic_flag		 lock;
	struct aff_entry	 e[AFF_WAYS];
};

/*
 * One Service port's table (its label and protocol), shared by every
 * worker and every snapshot that has the port.  Owned by the registry
 * (struct aff_reg), freed by it once no snapshot holds a reference.
 */
struct aff_table {
	_Atomic uint32_t	 refs;		/* snapshots using it */
	_Atomic uint32_t	 n;		/* entries held */
	_Atomic uint64_t	 full;		/* adds refused: full */
	_Atomic uint64_t	 expired;	/* entries dropped: timed out */
	uint32_t		 mask;		/* buckets - 1 */
	int			 retired;	/* replaced (new size): out of
						   the index, freed at 0 refs */
	struct aff_bucket	*b;		/* owned, mask + 1 of them */
	struct aff_table	*next;		/* the registry's list */
	struct strtab_node	 node;		/* the registry's index */
	char			 key[];		/* "ns/name:port/TCP" */
};

/*
 * Every table, owned by the run context inside its struct lb_livetab.
 * Mutated by the one snapshot build running (as the live table), read
 * by workers only through the tables snapshots point at.
 */
struct aff_reg {
	struct aff_table	*head;		/* owned list */
	struct strtab		 idx;		/* the tables not retired */
};

#endif
