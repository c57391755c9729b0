/*
 * pcfg: ProxyConfig after validation and defaulting, as the runtime
 * reads it, with the defaults and the Service annotations svcproxy
 * reads.  Plain types only (HAProxy's -t.h): the data path includes
 * it without the config side.  val_proxyconfig.c fills it.
 */
#ifndef SVCPROXY_PCFG_T_H
#define SVCPROXY_PCFG_T_H

#include <stddef.h>
#include <stdint.h>

#include "health-t.h"
#include "netaddr.h"
#include "proxyproto-t.h"

#define PCFG_DEFAULT_NODE_PORT_MIN	30000
#define PCFG_DEFAULT_NODE_PORT_MAX	32767
#define PCFG_DEFAULT_SERVICE_CIDR	"10.96.0.0/12"
#define PCFG_DEFAULT_ADMIN_ADDRESS	"127.0.0.1:9180"
#define PCFG_DEFAULT_CONNECT_TIMEOUT_MS	5000
#define PCFG_DEFAULT_IDLE_TIMEOUT_MS	(10 * 60 * 1000)
#define PCFG_DEFAULT_DRAIN_TIMEOUT_MS	30000
#define PCFG_DEFAULT_UDP_IDLE_TIMEOUT_MS	30000
#define PCFG_DEFAULT_LB_ALGORITHM	"round-robin"	/* lb_find()'s */
#define SVC_DEFAULT_AFFINITY_TIMEOUT	10800
#define PCFG_DEFAULT_AFFINITY_MAX	65536	/* entries per Service port */
#define PCFG_DEFAULT_MAGLEV_TABLE	65537	/* lb.h's default */
/* Cluster DNS (spec.dns): off unless spec.dns.listen is set. */
#define PCFG_DEFAULT_DNS_DOMAIN		"cluster.local"
#define PCFG_DEFAULT_DNS_TTL		5	/* seconds: CoreDNS's */
#define PCFG_DNS_TTL_MAX		3600	/* CoreDNS's bound too */
/* ExternalName proxying (spec.externalName): the resolver's settings. */
#define PCFG_XN_MAX_NS			8	/* nameservers used */
#define PCFG_DEFAULT_XN_MIN_TTL_MS	1000	/* HAProxy's timeout resolve */
#define PCFG_DEFAULT_XN_MAX_TTL_MS	300000
#define PCFG_DEFAULT_XN_HOLD_MS		300000	/* last good answer kept */
#define PCFG_XN_RESOLV_CONF		"/etc/resolv.conf"

/* Annotations svcproxy reads on a Service. */
#define ANN_IDLE_TIMEOUT	"svcproxy.io/idle-timeout"
#define ANN_CONNECT_TIMEOUT	"svcproxy.io/connect-timeout"
#define ANN_MAX_CONNECTIONS	"svcproxy.io/max-connections"
#define ANN_LB_ALGORITHM	"svcproxy.io/lb-algorithm"
/* Health checking (README, "Health checks"); each defaults from
   ProxyConfig spec.healthCheck, but port, sni and ca. */
#define ANN_HC			"svcproxy.io/health-check"
#define ANN_HC_INTERVAL		"svcproxy.io/health-check-interval"
#define ANN_HC_TIMEOUT		"svcproxy.io/health-check-timeout"
#define ANN_HC_RISE		"svcproxy.io/health-check-rise"
#define ANN_HC_FALL		"svcproxy.io/health-check-fall"
#define ANN_HC_PORT		"svcproxy.io/health-check-port"
#define ANN_HC_PATH		"svcproxy.io/health-check-path"
#define ANN_HC_HOST		"svcproxy.io/health-check-host"
#define ANN_HC_METHOD		"svcproxy.io/health-check-method"
#define ANN_HC_EXPECT		"svcproxy.io/health-check-expect-status"
#define ANN_HC_SNI		"svcproxy.io/health-check-sni"
#define ANN_HC_CA		"svcproxy.io/health-check-ca"
#define ANN_OUTLIER_FAILURES	"svcproxy.io/outlier-consecutive-failures"
#define ANN_OUTLIER_BASE	"svcproxy.io/outlier-base-ejection-time"
#define ANN_OUTLIER_PERCENT	"svcproxy.io/outlier-max-ejection-percent"
#define ANN_HC_PANIC		"svcproxy.io/health-panic-threshold"
#define ANN_HC_ON_DOWN		"svcproxy.io/health-on-down"
#define ANN_SLOW_START		"svcproxy.io/slow-start"
/* Balancing (README, "Balancing"): hash key and Maglev table size
   default from ProxyConfig spec.loadBalancing, the affinity bound from
   spec.sessionAffinity.  The weight is read on a Pod or an
   EndpointSlice, not on the Service. */
#define ANN_HASH_KEY		"svcproxy.io/hash-key"
#define ANN_MAGLEV_TABLE	"svcproxy.io/maglev-table-size"
#define ANN_AFFINITY_MAX	"svcproxy.io/affinity-max-entries"
#define ANN_WEIGHT		"svcproxy.io/weight"
/* UDP flows (README, "UDP Services"): the idle timeout and the bound
   default from ProxyConfig spec.udpIdleTimeout / spec.udpMaxFlows;
   udp-responses (nginx's proxy_responses) closes a flow after that
   many replies, 0 meaning never. */
#define ANN_UDP_IDLE_TIMEOUT	"svcproxy.io/udp-idle-timeout"
#define ANN_UDP_RESPONSES	"svcproxy.io/udp-responses"
#define ANN_UDP_MAX_FLOWS	"svcproxy.io/udp-max-flows"
/* ExternalName proxying (README, "ExternalName"). */
#define ANN_PROXY_EXTERNAL_NAME	"svcproxy.io/proxy-external-name"
/* The client's address at the backend (README, "Client address"). */
#define ANN_PROXY_PROTOCOL	"svcproxy.io/proxy-protocol"
#define ANN_ACCEPT_PROXY_PROTOCOL	"svcproxy.io/accept-proxy-protocol"
/* "client": connect to the backends from the client's own address
   (transparent mode, IP_TRANSPARENT); "proxy", the default: from
   svcproxy's. */
#define ANN_SOURCE_ADDRESS	"svcproxy.io/source-address"
/* TCP_DEFER_ACCEPT on the Service's TCP listeners, "true" or "false";
   absent: on where the client speaks first (README, "Deferred
   accept"). */
#define ANN_DEFER_ACCEPT	"svcproxy.io/defer-accept"

/*
 * ProxyConfig spec.localTrafficClientAddress: how the client's address
 * reaches the backends of an externalTrafficPolicy: Local Service that
 * chose no method itself (README, "Client address").
 */
enum pcfg_local_ca {
	PCFG_LOCAL_CA_NONE,
	PCFG_LOCAL_CA_PP_V1,		/* "proxy-protocol-v1" */
	PCFG_LOCAL_CA_PP_V2,		/* "proxy-protocol-v2" */
	PCFG_LOCAL_CA_TRANSPARENT,	/* "transparent" */
};

/*
 * ProxyConfig spec.listenerSockets: a socket per worker for every
 * listening address (SO_REUSEPORT), or one per address that every
 * worker watches (README, "Many Services"); Auto, the default, picks
 * Shared when the per-worker sockets would take more than half of the
 * open file limit (listener.h: lsn_open).
 */
enum pcfg_lsn_sockets {
	PCFG_LSN_AUTO,			/* "Auto" */
	PCFG_LSN_PER_WORKER,		/* "PerWorker" */
	PCFG_LSN_SHARED,		/* "Shared" */
};

enum conn_log {
	CONN_LOG_OFF,
	CONN_LOG_INFO,
	CONN_LOG_DEBUG,
};

/* ProxyConfig after validation and defaulting. */
struct pcfg {
	struct ipaddr		*node_addresses;  /* kset arena; none: all */
	size_t			 nnode_addresses;
	uint16_t		 node_port_min;
	uint16_t		 node_port_max;
	struct cidr		*lb_pool;	/* kset arena */
	size_t			 nlb_pool;
	struct cidr		 service_cidr;
	int			 workers;	/* 0: one per CPU */
	struct ipaddr		 admin_ip;
	uint16_t		 admin_port;
	uint32_t		 connect_timeout_ms;
	uint32_t		 idle_timeout_ms;
	uint32_t		 drain_timeout_ms;
	uint32_t		 max_connections;  /* 0: from the fd limit */
	uint32_t		 udp_idle_timeout_ms;
	uint32_t		 udp_max_flows;	/* 0: from the fd limit */
	enum conn_log		 connection_log;
	enum pcfg_lsn_sockets	 listener_sockets;
	int			 log_json;	/* spec.logFormat: json */
	int			 keep_established; /* on policy change */
	struct hc_config	 hc;		/* spec.healthCheck, defaults
						   applied; strings: kset
						   arena or static */
	const char		*lb_algorithm;	/* an lb_find() name: kset
						   arena or static */
	int			 hash_key;	/* lb.h's enum lb_hash_key */
	uint32_t		 maglev_table_size;	/* a prime */
	uint32_t		 affinity_max;	/* ClientIP entries per
						   Service port */
	/* spec.dns: the cluster DNS responder. */
	int			 dns_on;	/* spec.dns.listen is set */
	struct ipaddr		 dns_ip;
	uint16_t		 dns_port;
	const char		*dns_domain;	/* lower case, no final dot:
						   kset arena or static */
	uint32_t		 dns_ttl;	/* seconds */
	/* spec.externalName: the resolver of proxied ExternalName
	   Services.  No nameserver given: /etc/resolv.conf's, read where
	   the configuration is read (reload_load.c), xn_ns_from set. */
	struct ipaddr		 xn_ns[PCFG_XN_MAX_NS];
	uint16_t		 xn_ns_port[PCFG_XN_MAX_NS];
	size_t			 xn_nns;
	const char		*xn_ns_from;	/* static: where they came from */
	uint32_t		 xn_min_ttl_ms;	/* floor of a record's TTL */
	uint32_t		 xn_max_ttl_ms;	/* its cap */
	uint32_t		 xn_hold_ms;	/* last good answer kept after
						   failures this long */
	enum pp_version		 proxy_protocol;	/* spec.proxyProtocol:
						   Services' default */
	struct cidr		*pp_trusted;	/* spec.proxyProtocol-
						   TrustedSources: kset arena */
	size_t			 npp_trusted;
	uint32_t		 pp_timeout_ms;	/* spec.proxyProtocolTimeout */
	enum pcfg_local_ca	 local_ca;	/* spec.localTraffic-
						   ClientAddress */
};

#endif
