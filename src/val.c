/* val: the order of the kinds. */
#include "config.h"

#include "val.h"
#include "val_int.h"

/*
 * ProxyConfig first: Services need its NodePort range.  Namespaces
 * before the namespaced kinds, so implicit ones exist for all of them.
 */
size_t
val_all(struct kset *set, struct pcfg *pcfg, struct diag_list *diags)
{
	size_t before = diags->nerr;

	val_proxyconfig(set, pcfg, diags);
	val_namespaces(set, diags);
	val_services(set, pcfg, diags);
	val_pods(set, diags);
	val_endpointslices(set, diags);
	val_netpols(set, diags);
	return diags->nerr - before;
}
