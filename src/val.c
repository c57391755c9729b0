/* val: the order of the kinds, and which of them run on threads. */
#include "config.h"

#include "par.h"
#include "val.h"
#include "val_int.h"

/*
 * Pods are most of a large configuration and each is checked alone:
 * they run in chunks on a few threads (par.h) while this thread checks
 * the Services, whose allocation checks go in order.  Below a few
 * thousand Pods a thread costs more than it saves.
 */
#define VAL_POD_CHUNK		256
#define VAL_POD_MIN_THREAD	2048

struct pod_job {
	struct kset		*set;
	size_t			 chunk;		/* Pods a chunk */
};

static void
pod_chunk(void *arg, size_t chunk, size_t worker, struct diag_list *diags)
{
	struct pod_job *pj = arg;

	(void)worker;

	val_pods_range(pj->set, chunk * pj->chunk, (chunk + 1) * pj->chunk,
	    diags);
}

/*
 * ProxyConfig first: Services need its NodePort range.  Namespaces
 * before the namespaced kinds, so implicit ones exist for all of them.
 * The diagnostics come in this order whether Pods run on threads or
 * not: the Pods' are appended after the Services'.
 */
size_t
val_all(struct kset *set, struct pcfg *pcfg, struct diag_list *diags)
{
	struct par_job	job;
	struct pod_job	pj;
	size_t		before = diags->nerr, nthreads, nchunks;

	val_proxyconfig(set, pcfg, diags);
	val_namespaces(set, diags);
	nthreads = par_threads(set->pods.n, VAL_POD_MIN_THREAD);
	pj.set = set;
	pj.chunk = par_chunk(set->pods.n, nthreads, VAL_POD_CHUNK);
	nchunks = (set->pods.n + pj.chunk - 1) / pj.chunk;
	par_start(&job, nthreads, nchunks, pod_chunk, &pj, diags);
	val_services(set, pcfg, diags);
	par_finish(&job, diags);
	val_endpointslices(set, diags);
	val_netpols(set, diags);
	return diags->nerr - before;
}
