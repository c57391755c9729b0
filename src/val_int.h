/*
 * val_int: what the val_*.c files share and nothing else includes (the
 * unit tests of the rules aside): each kind's entry point, called by
 * val_all() in val.c, and the rule helpers of val_common.c.  The public
 * entry point is val.h.
 */
#ifndef SVCPROXY_VAL_INT_H
#define SVCPROXY_VAL_INT_H

#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "kobj.h"
#include "load.h"
#include "netaddr.h"
#include "pcfg-t.h"
#include "val.h"

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

/* Shared by the kinds (val_common.c). */
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
/* A CIDR as IsValidCIDR (host bits may be set); out may be NULL. */
size_t	 val_cidr(const struct diag_ctx *, const struct ynode *at,
	    const char *field, const char *value, struct cidr *out);

#endif
