/*
 * res-t: the resolved model's types (what res_build fills and
 * res_alloc completes; see res.h).  Types only, so that res.c and
 * res_alloc.c share them without either including the other's header.
 */
#ifndef SVCPROXY_RES_T_H
#define SVCPROXY_RES_T_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "health-t.h"
#include "kobj-t.h"
#include "netaddr.h"
#include "proto.h"
#include "proxyproto-t.h"
#include "res_listener-t.h"

struct kset;
struct pcfg;

struct res_endpoint {
	struct ipaddr		 addr;
	uint16_t		 port;
	const char		*pod;		/* kset arena; NULL: none */
	const char		*pod_ns;	/* kset arena */
	const char		*hostname;	/* kset arena; NULL: none.  Its
						   DNS name under a headless
						   Service: the EndpointSlice
						   endpoint's hostname, or the
						   Pod's spec.hostname when its
						   spec.subdomain names the
						   Service */
	unsigned		 ready:1;
	unsigned		 serving:1;
	unsigned		 terminating:1;
	unsigned		 usable:1;	/* new connections may use it */
	uint32_t		 weight;	/* svcproxy.io/weight of its Pod
						   or EndpointSlice; 1 unless
						   given; 0: drained */
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
	struct ipaddr		 cluster_ip2;	/* spec.clusterIPs[1], the
						   other family (dual-stack);
						   family 0: none */
	int			 headless;	/* clusterIP: None */
	const char		*external_name;	/* kset arena or NULL */
	int			 proxied;	/* gets listeners */
	int			 xn_proxy;	/* ExternalName proxied to
						   external_name (its
						   endpoints: the name's
						   A/AAAA, added at run time) */
	const char		*xn_why;	/* static: why an ExternalName
						   Service is not proxied;
						   NULL: it is */
	struct ipaddr		*addresses;	/* headless: DNS answers */
	const char		**address_hosts; /* model arena; one per
						   address: its endpoint's
						   hostname (kset arena) or
						   NULL */
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
	uint32_t		 udp_idle_timeout_ms;	/* 0: global */
	uint32_t		 udp_responses;	/* replies per request; 0:
						   never closes on replies */
	uint32_t		 udp_max_flows;	/* per port; 0: no bound */
	struct hc_config	 hc;		/* annotations over the
						   ProxyConfig's; strings:
						   kset arena or static */
	const char		*lb_algorithm;	/* annotation, else the
						   ProxyConfig's; kset or
						   static */
	int			 hash_key;	/* lb.h's enum lb_hash_key;
						   annotation over pcfg */
	uint32_t		 maglev_table_size;	/* a prime; likewise */
	uint32_t		 affinity_max;	/* ClientIP entries per port */
	enum pp_version		 proxy_protocol;	/* annotation, else
						   the ProxyConfig's */
	int			 accept_proxy;	/* clients send a header */
	int			 transparent;	/* svcproxy.io/source-address:
						   client */
	int			 ca_defaulted;	/* proxy_protocol or
						   transparent came from
						   spec.localTrafficClient-
						   Address (a Local Service) */
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

#endif
