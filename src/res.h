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

#include "res-t.h"

struct diag_list;
struct kset;
struct pcfg;

/*
 * Resolve set (already validated by val_all) into model.  Returns 0, or
 * -1 on allocation failure; warnings (a LoadBalancer with no address,
 * no free NodePort) go to diags.
 */
int	 res_build(const struct kset *set, const struct pcfg *pcfg,
	    struct res_model *model, struct diag_list *diags);
void	 res_free(struct res_model *);

/* `svcproxy resolve` output: text table or the JSON shape of the docs. */
void	 res_print_text(const struct res_model *, FILE *);
void	 res_print_json(const struct res_model *, FILE *);
void	 res_print_dns(const struct pcfg *, FILE *);
/* Its members without the braces, for an object that adds its own. */
void	 res_print_json_members(const struct res_model *, FILE *);

#endif
