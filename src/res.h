/*
 * res: resolution, from validated objects to what svcproxy serves.
 *
 * For every Service port: the addresses it listens on and the endpoints
 * behind it, as kube-proxy would compute them (selector → Pods, named
 * targetPort per Pod, readiness, terminating fallback; or EndpointSlices
 * for Services without a selector).  Addresses and NodePorts the YAML
 * leaves out are allocated deterministically, so a reload of the same
 * objects gives the same answer.  Pure: no sockets.
 */
#ifndef SVCPROXY_RES_H
#define SVCPROXY_RES_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "arena.h"
#include "diag.h"
#include "load.h"
#include "netaddr.h"
#include "proto.h"
#include "val.h"

enum res_listener_kind {
	RES_LSN_CLUSTER_IP,
	RES_LSN_EXTERNAL_IP,
	RES_LSN_LOAD_BALANCER,
	RES_LSN_NODE_PORT,
};

struct res_listener {
	enum res_listener_kind	 kind;
	struct ipaddr		 addr;		/* may be unspecified: all */
	uint16_t		 port;
	enum proto		 proto;
};

struct res_endpoint {
	struct ipaddr		 addr;
	uint16_t		 port;
	const char		*pod;		/* kset arena; NULL: none */
	const char		*pod_ns;	/* kset arena */
	unsigned		 ready:1;
	unsigned		 serving:1;
	unsigned		 terminating:1;
	unsigned		 usable:1;	/* new connections may use it */
};

struct res_port {
	const char		*name;		/* kset arena; "" if none */
	enum proto		 proto;
	uint16_t		 port;
	struct kintstr		 target_port;	/* after defaulting */
	uint16_t		 node_port;	/* 0: none */
	struct res_listener	*listeners;	/* model arena */
	size_t			 nlisteners;
	struct res_endpoint	*endpoints;	/* model arena; ip, port */
	size_t			 nendpoints;
	size_t			 nusable;
};

struct res_service {
	const char		*ns;		/* kset arena */
	const char		*name;		/* kset arena */
	const char		*type;		/* after defaulting */
	struct ipaddr		 cluster_ip;	/* family 0: none */
	int			 headless;	/* clusterIP: None */
	const char		*external_name;	/* kset arena or NULL */
	int			 proxied;	/* gets listeners */
	struct ipaddr		*addresses;	/* headless: DNS answers */
	size_t			 naddresses;
	const char		*session_affinity;
	int			 affinity_timeout;	/* seconds */
	const char		*external_traffic_policy;
	int			 allocate_lb_node_ports;
	struct ipaddr		*external_ips;	/* model arena */
	size_t			 nexternal_ips;
	struct cidr		*lb_source_ranges;	/* model arena */
	size_t			 nlb_source_ranges;
	struct ipaddr		 lb_ip;		/* family 0: pending/none */
	uint32_t		 connect_timeout_ms;	/* 0: global */
	uint32_t		 idle_timeout_ms;	/* 0: global */
	uint32_t		 max_connections;	/* 0: no limit */
	struct res_port		*ports;		/* model arena */
	size_t			 nports;
	const struct ksvc	*src;		/* kset */
};

/*
 * The resolved model.  Borrows strings from the kset it was built from:
 * free the model first, then the kset.
 */
struct res_model {
	struct arena		 arena;		/* owns everything below */
	struct res_service	*services;	/* sorted by ns/name */
	size_t			 nservices;
	const struct pcfg	*pcfg;		/* borrowed */
	const struct kset	*set;		/* borrowed: built from */
};

/*
 * Resolve set (already validated by val_all) into model.  Returns 0, or
 * -1 on allocation failure; warnings (a LoadBalancer with no address,
 * no free NodePort) go to diags.
 */
int	 res_build(const struct kset *set, const struct pcfg *pcfg,
	    struct res_model *model, struct diag_list *diags);
void	 res_free(struct res_model *);

/*
 * res_alloc.c, for res_build() only: give every Service the ClusterIP,
 * NodePorts and load-balancer address its spec leaves out, once the
 * explicit ones are in model.  Returns 0, or -1 when out of memory;
 * an exhausted range is a warning in diags, not a failure.
 */
int	 res_alloc(struct res_model *model, const struct pcfg *pcfg,
	    struct diag_list *diags);

/* "ExternalIP" etc., as resolve and run's listen errors show it. */
const char *res_listener_kind_name(enum res_listener_kind);

/* `svcproxy resolve` output: text table or the JSON shape of the docs. */
void	 res_print_text(const struct res_model *, FILE *);
void	 res_print_json(const struct res_model *, FILE *);
/* Its members without the braces, for an object that adds its own. */
void	 res_print_json_members(const struct res_model *, FILE *);

#endif
