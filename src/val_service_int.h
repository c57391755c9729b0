/*
 * val_service_int: what the val_service*.c files share and nothing else
 * includes.  val_service.c runs each Service through the API server's
 * stages and calls the others, which call nothing of one another:
 * val_service_ips.c (clusterIPs, ipFamilies, their allocation),
 * val_service_ports.c (ports, nodePorts and their allocation),
 * val_service_type.c (the rules of a type and of its traffic) and
 * val_service_ann.c (the annotations).  The helpers below are inline,
 * as they were when the rules were one file.
 */
#ifndef SVCPROXY_VAL_SERVICE_INT_H
#define SVCPROXY_VAL_SERVICE_INT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "val_int.h"

#define NODE_PORTS		65536

#define ANN_TOPOLOGY_HINTS	"service.kubernetes.io/topology-aware-hints"
#define ANN_TOPOLOGY_MODE	"service.kubernetes.io/topology-mode"

/* A requested cluster IP, sorted by address then Service. */
struct ip_use {
	struct ipaddr	 ip;
	size_t		 svc;		/* index in set->svcs */
};

/* What the Services created so far hold: the allocators' state. */
struct svc_alloc {
	uint32_t	*port_owner;	/* [NODE_PORTS]: svc index + 1 */
	struct ip_use	*ips;		/* sorted */
	size_t		 nips;
};

struct svc_ctx {
	struct diag_ctx		 dc;
	struct kset		*set;
	struct ksvc		*s;
	size_t			 idx;	/* in set->svcs */
	const struct pcfg	*pcfg;
	struct svc_alloc	*al;
	size_t			 n;	/* errors so far */
	int			 alloc_failed;
};

static inline int
is(const char *v, const char *want)
{
	return v != NULL && strcmp(v, want) == 0;
}

static inline int
empty(const char *v)
{
	return v == NULL || *v == '\0';
}

static inline const struct ynode *
at(const struct svc_ctx *c, const char *field)
{
	return val_at(c->s->spec.y, field, c->s->y);
}

static inline void
err(struct svc_ctx *c, const struct ynode *node, enum diag_type type,
    const char *field, const char *bad, const char *detail)
{
	kobj_err(&c->dc, node, type, field, bad, "%s", detail ? detail : "");
	c->n++;
}

/* isHeadlessService: after normalizing, clusterIPs is exactly [None]. */
static inline int
headless(const struct ksvc *s)
{
	return s->spec.cluster_ips.n == 1 &&
	    is(s->spec.cluster_ips.v[0], "None");
}

/* ExternallyAccessible (pkg/api/service/util.go). */
static inline int
externally_accessible(const struct ksvc_spec *sp)
{
	return is(sp->type, "LoadBalancer") || is(sp->type, "NodePort") ||
	    (is(sp->type, "ClusterIP") && sp->external_ips.n > 0);
}

/* NeedsHealthCheck: a LoadBalancer that keeps traffic node-local. */
static inline int
needs_health_check(const struct ksvc_spec *sp)
{
	return is(sp->type, "LoadBalancer") &&
	    is(sp->external_traffic_policy, "Local");
}

/* Name the holder, which the API server does not: files hold many. */
static inline void
note_holder(struct svc_ctx *c, const struct ynode *node, const char *field,
    const struct ksvc *o)
{
	kobj_warn(&c->dc, node, DIAG_NOTE, field, NULL, "held by Service "
	    "%s/%s", o->meta.ns, o->meta.name);
}

/*
 * The stages val_service.c runs, each over one Service (c) unless it
 * says otherwise; every error is counted in c->n, a failed allocation
 * sets c->alloc_failed.
 */

/* val_service_ips.c */
/* Every requested cluster IP of set into al->ips (malloc'd, the
   caller frees), sorted, for the allocation that follows. */
void	 val_svc_collect_ips(struct kset *set, struct svc_alloc *al);
/* ValidateServiceClusterIPsRelatedFields, then initIPFamilyFields. */
void	 val_svc_cluster_ips(struct svc_ctx *);
/* The requested cluster IPs against those created Services hold. */
void	 val_svc_alloc_cluster_ips(struct svc_ctx *);

/* val_service_ports.c */
/* initNodePorts: the requested nodePorts, marked with this Service. */
void	 val_svc_alloc_node_ports(struct svc_ctx *);
/* Undo val_svc_alloc_node_ports() for a Service that was not created. */
void	 val_svc_release_node_ports(struct svc_ctx *);
/* validateServicePort, for each port. */
void	 val_svc_ports(struct svc_ctx *);
/* The rules over all ports: nodePort on ClusterIP, duplicates. */
void	 val_svc_port_sets(struct svc_ctx *);

/* val_service_type.c, in ValidateService's order */
void	 val_svc_by_type(struct svc_ctx *);
void	 val_svc_source_ranges(struct svc_ctx *);
void	 val_svc_external_ips(struct svc_ctx *);
void	 val_svc_lb_ip(struct svc_ctx *);		/* warnings only */
void	 val_svc_lb_fields(struct svc_ctx *);
void	 val_svc_affinity(struct svc_ctx *);
void	 val_svc_traffic_policies(struct svc_ctx *);

/* val_service_ann.c */
/* Every annotation, then the health and balancing settings they make. */
void	 val_svc_annotations(struct svc_ctx *);

#endif
