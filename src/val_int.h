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
/*
 * Pods [lo, hi) of the set: each Pod's rules read and write that Pod
 * only, so ranges may run on threads at once (val.c), beside
 * val_services().
 */
void	 val_pods_range(struct kset *, size_t lo, size_t hi,
	    struct diag_list *);
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
/*
 * A rule costs less than the place of its diagnostic: finding the node
 * walks the object's YAML (cold memory after loading 50,000 Pods) and
 * the field path is formatted.  So a hot rule runs first through a
 * quiet context, with no node and no path, whose list keeps nothing;
 * only when it spoke and the real list still keeps diagnostics is it
 * run again, with its place, so the real list gets what the plain call
 * would have given it.  When the real list is full, what the rule said
 * is counted there as dropped, which is all the plain call would do.
 * Rules run this way must not read their node or field path except to
 * report, and must give the same result twice.
 */
struct val_quiet {
	struct diag_ctx		 dc;	/* pass to the rule, at NULL */
	struct diag_list	 list;	/* keeps nothing */
	const struct diag_ctx	*real;	/* borrowed */
};

void	 val_quiet_init(struct val_quiet *, const struct diag_ctx *real);
/*
 * After the quiet call: 1 when it must be made again through real (with
 * the node and path), else 0.  Resets q for the next rule.
 */
int	 val_quiet_again(struct val_quiet *);

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

/*
 * Health-check settings (val_health.c), each both a Service annotation
 * and, but port, sni and ca, a field of ProxyConfig spec.healthCheck.
 */
enum val_hc {
	VHC_TYPE,
	VHC_INTERVAL,
	VHC_TIMEOUT,
	VHC_RISE,
	VHC_FALL,
	VHC_PORT,
	VHC_PATH,	/* path .. expect: http and https only */
	VHC_HOST,
	VHC_METHOD,
	VHC_EXPECT,
	VHC_SNI,	/* sni, ca: https only */
	VHC_CA,
	VHC_OUTLIER_FAILURES,
	VHC_EJECT_BASE,
	VHC_EJECT_PERCENT,
	VHC_PANIC,
	VHC_ON_DOWN,
	VHC_SLOW_START,
	VHC_NSETTINGS
};
/* The setting an annotation names, or -1. */
int	 val_hc_find(const char *annotation);
const char *val_hc_annotation(enum val_hc);
/* Under spec.healthCheck ("outlierDetection.baseEjectionTime"); NULL:
   a Service's own. */
const char *val_hc_field(enum val_hc);
/*
 * Parse v as setting k into hc (strings point at v).  0, or -1 with
 * the diagnostic's type and detail in why; hc is then unchanged.
 */
int	 val_hc_parse(enum val_hc k, const char *v, struct hc_config *hc,
	    enum diag_type *type, char *why, size_t len);
/* val_hc_parse reported at (at, field) through dc; returns errors. */
size_t	 val_hc_setting(const struct diag_ctx *, const struct ynode *at,
	    const char *field, enum val_hc k, const char *v,
	    struct hc_config *hc);
/*
 * An https check's CA file must be a readable regular file when
 * `check` runs, not only at the first probe (I/O: validation runs on
 * the reload thread or in a command, never on the main loop).
 */
size_t	 val_hc_ca_file(const struct diag_ctx *, const struct ynode *at,
	    const char *field, const char *path);
/* The check kind a Service's annotations ask for, else dflt (also
   when the annotation is invalid: that error is reported elsewhere). */
enum hc_kind val_hc_kind(const struct kstrmap *ann, enum hc_kind dflt);
/* What an absent ProxyConfig spec.healthCheck means. */
void	 val_hc_defaults(struct hc_config *);
/*
 * A Service's settings that do not apply to its check kind, and a slow
 * start its algorithm cannot honour, as warnings; at[k] and val[k] are
 * the node and value of annotation k, NULL when the Service does not
 * set it.
 */
void	 val_hc_warnings(const struct diag_ctx *, const struct hc_config *,
	    const struct ynode *const at[VHC_NSETTINGS],
	    const char *const val[VHC_NSETTINGS], const char *algorithm);
/* Does the balancing algorithm read endpoint weights (slow start)? */
int	 val_lb_uses_weights(const char *algorithm);

#endif
