/*
 * val_lb: the balancing settings' rules (issue 13), shared by the
 * Service annotations (val_service_ann.c), the Pod and EndpointSlice weight
 * (val_pod.c, val_endpointslice.c), ProxyConfig spec.loadBalancing and
 * spec.sessionAffinity (val_proxyconfig.c), and the parsers resolution
 * (res_svc.c, res_eps.c) applies validated values with.
 *
 *   svcproxy.io/weight			0..256 (HAProxy's range), 1
 *   svcproxy.io/hash-key		client-ip | client-ip-port
 *   svcproxy.io/maglev-table-size	a prime, 1021..655373, 65537
 *   svcproxy.io/affinity-max-entries	1..16777216, 65536
 */
#ifndef SVCPROXY_VAL_LB_H
#define SVCPROXY_VAL_LB_H

#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "kobj.h"

#define VAL_WEIGHT_MAX		256	/* HAProxy's server weight range */
#define VAL_MAGLEV_TABLE_MIN	1021	/* a prime: smaller tables balance
					   poorly (Maglev's M >> N) */
#define VAL_MAGLEV_TABLE_MAX	655373	/* lb.h's LB_MAGLEV_TABLE_MAX */
#define VAL_AFFINITY_MAX_LIMIT	16777216	/* affinity-t.h's */

/* Parsers without diagnostics: 0, or -1 when s is not valid. */
int	 val_lb_parse_weight(const char *s, uint32_t *w);
/* 0 client-ip, 1 client-ip-port (lb.h's enum lb_hash_key). */
int	 val_lb_parse_hash_key(const char *s, int *k);
int	 val_lb_parse_count(const char *s, int64_t *n);
int	 val_lb_is_prime(uint64_t n);

/*
 * The rules, reporting at node at, field path field; each returns the
 * errors it reported (0 or 1), and on 0 stores the value in *out.  A
 * number comes as text (an annotation) or, with text NULL, as num (a
 * ProxyConfig integer).
 */
size_t	 val_lb_weight(const struct diag_ctx *, const struct ynode *at,
	    const char *field, const char *text, uint32_t *out);
size_t	 val_lb_hash_key(const struct diag_ctx *, const struct ynode *at,
	    const char *field, const char *text, int *out);
size_t	 val_lb_table_size(const struct diag_ctx *, const struct ynode *at,
	    const char *field, const char *text, int64_t num, uint32_t *out);
size_t	 val_lb_affinity_max(const struct diag_ctx *, const struct ynode *at,
	    const char *field, const char *text, int64_t num, uint32_t *out);
/*
 * svcproxy.io/weight among meta's annotations (a Pod's or an
 * EndpointSlice's), checked; the errors reported.
 */
size_t	 val_lb_weight_annotation(const struct diag_ctx *,
	    const struct kmeta *meta);

#endif
