/*
 * val: Kubernetes validation and defaulting, with the API server's
 * rules and wording (kubernetes pkg/apis/core/validation,
 * pkg/apis/networking/validation, apimachinery util/validation).
 *
 * Pure: a loaded kset in, defaults written into its objects, every
 * problem reported as a diagnostic.  An object with an error gets its
 * `invalid` flag and is left out of resolution; the rest is still
 * checked, so `svcproxy check` lists every error at once.
 */
#ifndef SVCPROXY_VAL_H
#define SVCPROXY_VAL_H

#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "kobj.h"
#include "load.h"
#include "netaddr.h"

#define PCFG_DEFAULT_NODE_PORT_MIN	30000
#define PCFG_DEFAULT_NODE_PORT_MAX	32767
#define PCFG_DEFAULT_SERVICE_CIDR	"10.96.0.0/12"
#define PCFG_DEFAULT_ADMIN_ADDRESS	"127.0.0.1:9180"
#define PCFG_DEFAULT_CONNECT_TIMEOUT_MS	5000
#define PCFG_DEFAULT_IDLE_TIMEOUT_MS	(10 * 60 * 1000)
#define PCFG_DEFAULT_DRAIN_TIMEOUT_MS	30000
#define PCFG_DEFAULT_LB_ALGORITHM	"round-robin"	/* lb_find()'s */
#define SVC_DEFAULT_AFFINITY_TIMEOUT	10800

/* Annotations svcproxy reads on a Service. */
#define ANN_IDLE_TIMEOUT	"svcproxy.io/idle-timeout"
#define ANN_CONNECT_TIMEOUT	"svcproxy.io/connect-timeout"
#define ANN_MAX_CONNECTIONS	"svcproxy.io/max-connections"
#define ANN_LB_ALGORITHM	"svcproxy.io/lb-algorithm"

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
	enum conn_log		 connection_log;
	int			 keep_established; /* on policy change */
	const char		*lb_algorithm;	/* an lb_find() name: kset
						   arena or static */
};

/* Fill p with every default (what an absent ProxyConfig means). */
void	 pcfg_defaults(struct pcfg *p);

/*
 * Validate and default every object of set, in place; fill pcfg from
 * the ProxyConfig (or defaults).  Returns the number of errors.
 */
size_t	 val_all(struct kset *set, struct pcfg *pcfg, struct diag_list *);

/* Per kind; val_all() calls them in this order. */
void	 val_proxyconfig(struct kset *, struct pcfg *, struct diag_list *);
void	 val_namespaces(struct kset *, struct diag_list *);
void	 val_services(struct kset *, const struct pcfg *,
	    struct diag_list *);
void	 val_pods(struct kset *, struct diag_list *);
void	 val_endpointslices(struct kset *, struct diag_list *);
void	 val_netpols(struct kset *, struct diag_list *);

/*
 * Shared rule helpers (val_common.c).  Each returns the number of
 * errors it reported at field path `field`, node `at`.
 */
size_t	 val_dns1123_label(const struct diag_ctx *, const struct ynode *at,
	    const char *field, const char *value);
size_t	 val_dns1123_subdomain(const struct diag_ctx *,
	    const struct ynode *at, const char *field, const char *value);
size_t	 val_dns1035_label(const struct diag_ctx *, const struct ynode *at,
	    const char *field, const char *value);
size_t	 val_port_name(const struct diag_ctx *, const struct ynode *at,
	    const char *field, const char *value);	/* IANA_SVC_NAME */
size_t	 val_port_number(const struct diag_ctx *, const struct ynode *at,
	    const char *field, int64_t value);
size_t	 val_labels(const struct diag_ctx *, const struct kstrmap *,
	    const char *field);
size_t	 val_label_selector(const struct diag_ctx *,
	    const struct klabel_selector *, const char *field);
/* Go time.Duration text ("1m30s", "250ms") to milliseconds. 0 or -1. */
int	 val_parse_duration(const char *, uint32_t *ms);

/*
 * Internal to val_*.c (val_common.c): shared by the kinds, not used
 * outside validation.
 */
#define VAL_PATH_MAX	320

/* Supported-value lists, sorted as the API server prints them. */
#define VAL_PROTOCOLS	"\"SCTP\", \"TCP\", \"UDP\""

/* snprintf into buf (VAL_PATH_MAX); returns buf. */
char	*val_path(char *buf, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* The node of field in map, else map, else fallback (never NULL if
   fallback is not). */
const struct ynode *val_at(const struct ynode *map, const char *field,
	    const struct ynode *fallback);
/* The value node of key in a decoded string map, else its key node. */
const struct ynode *val_map_value(const struct kstrmap *, size_t i);
/* Context for one object's diagnostics. */
void	 val_ctx(struct diag_ctx *, struct diag_list *, const char *file,
	    const char *kind, const struct kmeta *);
/* Boolean forms of the name rules (no diagnostics). */
int	 val_is_dns1123_label(const char *);
int	 val_is_dns1123_subdomain(const char *);

/* Name rule for metadata.name; as NameIsDNS1035Label and friends. */
typedef size_t (*val_name_fn)(const struct diag_ctx *,
	    const struct ynode *, const char *, const char *);
/*
 * ObjectMeta: name (by name_fn), namespace when namespaced, labels,
 * annotations and their total size.  root is the object's node.
 */
size_t	 val_meta(const struct diag_ctx *, const struct kmeta *,
	    const struct ynode *root, val_name_fn name_fn, int namespaced);
/* Label key rule (IsQualifiedName); bad is shown, value checked. */
size_t	 val_qualified_name(const struct diag_ctx *,
	    const struct ynode *at, const char *field, const char *bad,
	    const char *value);
/*
 * Protocol: default TCP written into *proto (a string literal), else
 * TCP, UDP or SCTP.
 */
size_t	 val_protocol(const struct diag_ctx *, const struct ynode *at,
	    const char *field, const char **proto);
/*
 * An IP address; with nonspecial, also ValidateNonSpecialIP (as for
 * externalIPs and endpoints), except that loopback is only a warning.
 * out may be NULL.
 */
size_t	 val_ip(const struct diag_ctx *, const struct ynode *at,
	    const char *field, const char *value, int nonspecial,
	    struct ipaddr *out);
/* A loopback address only warns: svcproxy runs on one machine too. */
void	 val_warn_loopback(const struct diag_ctx *, const struct ynode *at,
	    const char *field, const char *value);
/* "IP:PORT" or "[IPv6]:PORT", port 0-65535.  0 or -1. */
int	 val_parse_hostport(const char *, struct ipaddr *, uint16_t *port);
/* A CIDR as IsValidCIDR (host bits may be set); out may be NULL. */
size_t	 val_cidr(const struct diag_ctx *, const struct ynode *at,
	    const char *field, const char *value, struct cidr *out);

#endif
