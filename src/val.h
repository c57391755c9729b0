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

#include "pcfg-t.h"

struct diag_list;
struct kset;

/*
 * Validate and default every object of set, in place; fill pcfg from
 * the ProxyConfig (or defaults).  Returns the number of errors.
 */
size_t	 val_all(struct kset *set, struct pcfg *pcfg, struct diag_list *);

/*
 * Go time.Duration text ("1m30s", "250ms") to milliseconds.  0 or -1.
 * Also for resolution, which reads the timeout annotations.
 */
int	 val_parse_duration(const char *, uint32_t *ms);

/*
 * Set hc's setting that annotation names (svcproxy.io/health-check...)
 * from v, for resolution: nothing when the name is not a health
 * setting or v is invalid (validation has said so).  Strings point at
 * v.
 */
void	 val_hc_apply(struct hc_config *hc, const char *annotation,
	    const char *v);

#endif
