/*
 * res_alloc: the addresses and ports an API server would have assigned
 * (the rules are at the top of res_alloc.c).
 */
#ifndef SVCPROXY_RES_ALLOC_H
#define SVCPROXY_RES_ALLOC_H

struct diag_list;
struct pcfg;
struct res_model;

/*
 * For res_build() only: give every Service the ClusterIP, NodePorts
 * and load-balancer address its spec leaves out, once the explicit
 * ones are in model.  Returns 0, or -1 when out of memory; an
 * exhausted range is a warning in diags, not a failure.
 */
int	 res_alloc(struct res_model *model, const struct pcfg *pcfg,
	    struct diag_list *diags);

#endif
