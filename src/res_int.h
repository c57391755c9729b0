/*
 * res_int: what the res*.c files of resolution share and nothing else
 * includes: the builder each thread resolves Services with, its
 * scratch arrays, and small helpers (inline, as they were when
 * resolution was one file).  res.c drives: it sets the Services up
 * (res_svc.c), has res_alloc.c allocate, then resolves each one with
 * res_eps.c (endpoints, headless addresses) and res_listeners.c;
 * those call nothing of res.c or of one another.
 */
#ifndef SVCPROXY_RES_INT_H
#define SVCPROXY_RES_INT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "arena.h"
#include "kobj.h"
#include "load.h"
#include "proto.h"
#include "res-t.h"
#include "selector.h"
#include "vec.h"

struct pcfg;

/* An EndpointSlice with the Service it belongs to, for lookup. */
struct slice_ref {
	const char		*ns;		/* kset arena */
	const char		*svc;		/* kset arena */
	const struct keps	*eps;		/* kset arena */
};

/* Growable scratch arrays, malloc'd, reused for every Service. */
#define SCRATCH(type)	struct { type *v; size_t n, cap; }

/* A headless Service's DNS answer with its endpoint's hostname. */
struct addr_host {
	struct ipaddr		 addr;
	const char		*host;		/* kset arena or NULL */
};

/* A selected Pod with its addresses, parsed once per Service. */
struct sel_pod {
	const struct kpod	*p;		/* kset arena */
	struct ipaddr		 ips[2];
	size_t			 nips;
};

/*
 * Everything res_build() works with; lives on its stack.  Services are
 * resolved on a few threads, each with a builder of its own: the
 * shared part (set, pcfg, the indexes) is read only, the scratch
 * arrays and the arena results go to (out) are the thread's.
 */
struct res_builder {
	const struct kset	*set;		/* borrowed */
	const struct pcfg	*pcfg;		/* borrowed */
	struct res_model	*m;		/* borrowed */
	struct arena		*out;		/* m's arena, or the thread's,
						   adopted by m's afterwards */
	struct arena		 own;		/* a thread's out */
	struct arena		 tmp;		/* owns the Pod index */
	struct sel_index	 pods;		/* borrows set's Pods */
	struct slice_ref	*slices;	/* owned; by ns, svc, name */
	size_t			 nslices;
	SCRATCH(struct sel_pod) sel;		/* owned: selected Pods */
	SCRATCH(struct res_endpoint) eps;	/* owned */
	SCRATCH(struct res_listener) lsn;	/* owned */
	SCRATCH(struct addr_host) addrs;	/* owned */
	int			 oom;
};

/* Append one element to a SCRATCH; sets b->oom and drops it on failure. */
#define PUSH(b, s, item) do {						\
	if (VEC_GROW(&(s).v, &(s).cap, (s).n + 1, 16) == -1)		\
		(b)->oom = 1;						\
	else								\
		(s).v[(s).n++] = (item);				\
} while (0)

/* n elements of src into the model's arena; NULL for none, or b->oom. */
static inline void *
res_copy(struct res_builder *b, const void *src, size_t n, size_t size)
{
	void *p;

	if (n == 0)
		return NULL;
	if ((p = arena_calloc(b->out, n, size)) == NULL) {
		b->oom = 1;
		return NULL;
	}
	memcpy(p, src, n * size);
	return p;
}

/* Validation defaulted every protocol; an absent one is TCP still. */
static inline enum proto
proto_of(const char *s)
{
	int	 p = proto_parse(s);

	return p < 0 ? PROTO_TCP : (enum proto)p;
}

static inline int
str_empty(const char *s)
{
	return s == NULL || *s == '\0';
}

static inline int
is_type(const struct res_service *s, const char *type)
{
	return strcmp(s->type, type) == 0;
}

/*
 * What res.c calls for each Service (s) or Service port (rp), in this
 * order.  Results go to b->out; scratch stays b's; an allocation that
 * fails sets b->oom and drops what it was for.
 */

/* res_svc.c: s from ks's spec and annotations, before allocation. */
void	 res_svc_basics(struct res_builder *b, struct res_service *s,
	    const struct ksvc *ks);

/* res_eps.c */
/* b->slices: the proxiable EndpointSlices by namespace, Service, name;
   -1 when out of memory.  Runs beside the Pod index (thread safe). */
int	 res_slices_index(struct res_builder *b);
/* The run [*lo, *hi) of b->slices that belong to ns/svc. */
void	 res_slices_of(const struct res_builder *b, const char *ns,
	    const char *svc, size_t *lo, size_t *hi);
/* b->sel: the Pods ks selects that are not finished. */
void	 res_pods_select(struct res_builder *b, const struct ksvc *ks);
/* Append rp's endpoints to b->eps: from b->sel, or slices [lo, hi). */
void	 res_pod_endpoints(struct res_builder *b,
	    const struct res_service *s, const struct res_port *rp,
	    int pnra);
void	 res_slice_endpoints(struct res_builder *b, size_t lo, size_t hi,
	    const struct res_port *rp, int pnra);
/* b->eps sorted, de-duplicated, marked usable, copied into rp. */
void	 res_eps_finish(struct res_builder *b, struct res_port *rp);
/* A headless s's DNS answers, from b->sel or slices [lo, hi). */
void	 res_headless_addresses(struct res_builder *b,
	    struct res_service *s, int pnra, size_t lo, size_t hi,
	    int from_pods);

/* res_listeners.c: rp's listeners, each socket once, into rp. */
void	 res_port_listeners(struct res_builder *b,
	    const struct res_service *s, struct res_port *rp);

#endif
