/*
 * res: validated objects to Services, listeners and endpoints, the way
 * kube-proxy sees them.
 *
 * res.c sets every Service up (res_svc.c), allocates (res_alloc.c), then
 * resolves each one (res_eps.c, res_listeners.c) on a few threads.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "kobj.h"
#include "load.h"
#include "par.h"
#include "res.h"
#include "res_alloc.h"
#include "res_int.h"

/*
 * An ExternalName port's target: targetPort when it is a number, else
 * the port (a named port needs Pods, and there are none).
 */
static void
xn_target_ports(struct res_service *s)
{
	size_t i;

	for (i = 0; i < s->nports; i++) {
		struct res_port *rp = &s->ports[i];

		if (rp->target_port.is_str || rp->target_port.num <= 0 ||
		    rp->target_port.num > 65535) {
			rp->target_port.is_str = 0;
			rp->target_port.str = NULL;
			rp->target_port.num = rp->port;
		}
	}
}

/* Endpoints, listeners and DNS answers of one Service after allocation. */
static void
svc_resolve(struct res_builder *b, struct res_service *s)
{
	const struct ksvc	*ks = s->src;
	int			 pnra, from_pods;
	size_t			 i, lo = 0, hi = 0;

	if (s->xn_proxy) {
		s->proxied = 1;
		xn_target_ports(s);
		for (i = 0; i < s->nports; i++)
			res_port_listeners(b, s, &s->ports[i]);
	}
	if (is_type(s, "ExternalName"))
		return;
	pnra = ks->spec.publish_not_ready_addresses.set &&
	    ks->spec.publish_not_ready_addresses.v;
	from_pods = ks->spec.selector.n > 0;
	if (from_pods)
		res_pods_select(b, ks);
	else
		res_slices_of(b, s->ns, s->name, &lo, &hi);
	for (i = 0; i < s->nports; i++) {
		struct res_port *rp = &s->ports[i];

		b->eps.n = 0;
		if (from_pods)
			res_pod_endpoints(b, s, rp, pnra);
		else
			res_slice_endpoints(b, lo, hi, rp, pnra);
		res_eps_finish(b, rp);
		if (s->proxied)
			res_port_listeners(b, s, rp);
	}
	if (s->headless)
		res_headless_addresses(b, s, pnra, lo, hi, from_pods);
}

static int
svc_cmp(const void *a, const void *b)
{
	const struct res_service	*x = a, *y = b;
	int				 c;

	if ((c = strcmp(x->ns, y->ns)) != 0)
		return c;
	return strcmp(x->name, y->name);
}

static void
build_free(struct res_builder *b)
{
	free(b->slices);
	free(b->sel.v);
	free(b->eps.v);
	free(b->lsn.v);
	free(b->addrs.v);
	arena_free(&b->tmp);
}

/* ---- on threads ---- */

/*
 * The indexes (chunk 0: Pods, 1: slices) are built on a thread while
 * this one sets the Services up and allocates; then the Services are
 * resolved in chunks on a few threads.  Below these counts a thread
 * costs more than it saves.
 */
#define RES_INDEX_MIN_THREAD	8192	/* Pods and slices */
#define RES_SVC_CHUNK		32
#define RES_SVC_MIN_THREAD	512

struct index_job {
	struct res_builder	*b;
	int			 rc[2];
};

static void
index_chunk(void *arg, size_t chunk, size_t worker, struct diag_list *diags)
{
	struct index_job	*ij = arg;
	struct res_builder	*b = ij->b;

	(void)worker;
	(void)diags;
	if (chunk == 0)
		ij->rc[0] = sel_index_build(&b->pods, &b->tmp, b->set->pods.v,
		    b->set->pods.n);
	else
		ij->rc[1] = res_slices_index(b);
}

/* Worker i's builder: builders[0] is res_build()'s own. */
struct svc_job {
	struct res_builder	*builders;
	struct res_model	*m;
	size_t			 chunk;		/* Services a chunk */
};

static void
svc_chunk(void *arg, size_t chunk, size_t worker, struct diag_list *diags)
{
	struct svc_job		*sj = arg;
	struct res_builder	*b = &sj->builders[worker];
	size_t			 i;

	(void)diags;
	for (i = chunk * sj->chunk; i < (chunk + 1) * sj->chunk &&
	    i < sj->m->nservices && !b->oom; i++)
		svc_resolve(b, &sj->m->services[i]);
}

/*
 * Resolve every Service: workers 1.. get builders that share b's
 * indexes, with scratch and an arena of their own, which m's arena
 * adopts afterwards.  Returns -1 when any of them ran out of memory.
 */
static int
resolve_all(struct res_builder *b, struct diag_list *diags)
{
	struct res_builder	wb[PAR_MAX_THREADS];
	struct svc_job		sj;
	size_t			i, nthreads, nchunks;
	int			oom = 0;

	nthreads = par_threads(b->m->nservices, RES_SVC_MIN_THREAD);
	sj.chunk = par_chunk(b->m->nservices, nthreads, RES_SVC_CHUNK);
	nchunks = (b->m->nservices + sj.chunk - 1) / sj.chunk;
	wb[0] = *b;
	for (i = 1; i < nthreads; i++) {
		memset(&wb[i], 0, sizeof(wb[i]));
		wb[i].set = b->set;
		wb[i].pcfg = b->pcfg;
		wb[i].m = b->m;
		wb[i].pods = b->pods;
		wb[i].slices = b->slices;
		wb[i].nslices = b->nslices;
		arena_init(&wb[i].own, 0);
		wb[i].out = &wb[i].own;
	}
	sj.builders = wb;
	sj.m = b->m;
	par_run(nthreads, nchunks, svc_chunk, &sj, diags);
	*b = wb[0];	/* its scratch may have grown */
	oom = b->oom;
	for (i = 1; i < nthreads; i++) {
		oom |= wb[i].oom;
		arena_adopt(&b->m->arena, &wb[i].own);
		free(wb[i].sel.v);
		free(wb[i].eps.v);
		free(wb[i].lsn.v);
		free(wb[i].addrs.v);
	}
	return oom ? -1 : 0;
}

int
res_build(const struct kset *set, const struct pcfg *pcfg,
    struct res_model *m, struct diag_list *diags)
{
	struct res_builder	b;
	struct index_job	ij;
	struct par_job		job;
	size_t			i, n = 0;
	int			rc;

	memset(m, 0, sizeof(*m));
	arena_init(&m->arena, 0);
	m->pcfg = pcfg;
	m->set = set;
	memset(&b, 0, sizeof(b));
	b.set = set;
	b.pcfg = pcfg;
	b.m = m;
	b.out = &m->arena;
	arena_init(&b.tmp, 0);
	ij.b = &b;
	ij.rc[0] = ij.rc[1] = 0;
	par_start(&job, par_threads(set->pods.n + set->epss.n,
	    RES_INDEX_MIN_THREAD), 2, index_chunk, &ij, diags);
	for (i = 0; i < set->svcs.n; i++)
		n += !set->svcs.v[i]->invalid;
	if (n > 0 && (m->services = arena_calloc(&m->arena, n,
	    sizeof(*m->services))) == NULL)
		b.oom = 1;
	for (i = 0; i < set->svcs.n && !b.oom; i++)
		if (!set->svcs.v[i]->invalid)
			res_svc_basics(&b, &m->services[m->nservices++],
			    set->svcs.v[i]);
	/* Allocation walks them in this order: keep it ns/name. */
	if (m->nservices > 1)
		qsort(m->services, m->nservices, sizeof(*m->services),
		    svc_cmp);
	rc = b.oom ? -1 : res_alloc(m, pcfg, diags);
	par_finish(&job, diags);
	if (rc == -1 || ij.rc[0] == -1 || ij.rc[1] == -1 ||
	    resolve_all(&b, diags) == -1)
		goto fail;
	build_free(&b);
	return 0;
fail:
	build_free(&b);
	res_free(m);
	return -1;
}

void
res_free(struct res_model *m)
{
	arena_free(&m->arena);
	memset(m, 0, sizeof(*m));
}
