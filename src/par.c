/* par: independent items on a few threads, diagnostics as if serial. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "par.h"

int
par_serial(void)
{
	return getenv("SVCPROXY_PARSE_SERIAL") != NULL;
}

size_t
par_threads(size_t nitems, size_t min_per_thread)
{
	const char	*force;
	long		 ncpu;
	size_t		 n;

	if (par_serial())
		return 1;
	if ((force = getenv("SVCPROXY_CONFIG_THREADS")) != NULL &&
	    *force >= '1' && *force <= '0' + PAR_MAX_THREADS &&
	    force[1] == '\0')
		return (size_t)(*force - '0');
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	n = ncpu < 1 ? 1 : ncpu > PAR_MAX_THREADS ? PAR_MAX_THREADS :
	    (size_t)ncpu;
	if (min_per_thread > 0 && nitems / min_per_thread < n)
		n = nitems / min_per_thread;
	return n < 1 ? 1 : n;
}

size_t
par_chunk(size_t nitems, size_t nthreads, size_t max)
{
	size_t n = nitems / (nthreads * 8);

	return n < 1 ? 1 : n > max ? max : n;
}

/*
 * The most chunk c's list can usefully keep: what the caller's list had
 * room for, less what the finished chunks before c said (each of them
 * fills the room before c's first diagnostic can).
 */
static size_t
chunk_bound(struct par_job *job)
{
	size_t bound;

	pthread_mutex_lock(&job->mu);
	bound = job->room > job->prefix_said ? job->room - job->prefix_said :
	    0;
	pthread_mutex_unlock(&job->mu);
	return bound;
}

static void
chunk_done(struct par_job *job, size_t c)
{
	const struct diag_list *l;

	pthread_mutex_lock(&job->mu);
	job->done[c] = 1;
	while (job->prefix < job->nchunks && job->done[job->prefix]) {
		l = &job->lists[job->prefix++];
		job->prefix_said += l->nerr + l->nwarn;
	}
	pthread_mutex_unlock(&job->mu);
}

static void *
par_loop(void *arg)
{
	struct par_worker	*w = arg;
	struct par_job		*job = w->job;
	size_t			 c;

	while ((c = atomic_fetch_add(&job->next, 1)) < job->nchunks) {
		job->lists[c].max = chunk_bound(job);
		job->fn(job->arg, c, w->idx, &job->lists[c]);
		chunk_done(job, c);
	}
	return NULL;
}

void
par_start(struct par_job *job, size_t nthreads, size_t nchunks, par_fn fn,
    void *arg, const struct diag_list *diags)
{
	size_t i;

	memset(job, 0, sizeof(*job));
	job->fn = fn;
	job->arg = arg;
	job->nchunks = nchunks;
	job->room = diags->n < diags->max ? diags->max - diags->n : 0;
	atomic_init(&job->next, 0);
	if (nthreads <= 1) {
		job->serial = 1;	/* the plain loop, in par_finish */
		return;
	}
	if (nchunks == 0)
		return;
	job->lists = calloc(nchunks, sizeof(*job->lists));
	job->done = calloc(nchunks, 1);
	if (job->lists == NULL || job->done == NULL) {
		free(job->lists);
		free(job->done);
		job->lists = NULL;
		job->done = NULL;
		job->serial = 1;
		return;
	}
	for (i = 0; i < nchunks; i++)
		diag_list_init(&job->lists[i]);
	pthread_mutex_init(&job->mu, NULL);
	if (nthreads > PAR_MAX_THREADS)
		nthreads = PAR_MAX_THREADS;
	job->workers[0].job = job;
	for (i = 0; i + 1 < nthreads && i + 1 < nchunks; i++) {
		struct par_worker *w = &job->workers[job->nstarted + 1];

		w->job = job;
		w->idx = job->nstarted + 1;
		if (pthread_create(&job->tids[job->nstarted], NULL, par_loop,
		    w) == 0)
			job->nstarted++;
	}
}

void
par_finish(struct par_job *job, struct diag_list *diags)
{
	size_t i;

	if (job->serial) {
		/* Straight into diags, in order: the serial loop. */
		for (i = 0; i < job->nchunks; i++)
			job->fn(job->arg, i, 0, diags);
		return;
	}
	if (job->nchunks == 0)
		return;
	par_loop(&job->workers[0]);
	for (i = 0; i < job->nstarted; i++)
		pthread_join(job->tids[i], NULL);
	for (i = 0; i < job->nchunks; i++)
		diag_list_move(diags, &job->lists[i]);
	pthread_mutex_destroy(&job->mu);
	free(job->lists);
	free(job->done);
	job->lists = NULL;
	job->done = NULL;
}

void
par_run(size_t nthreads, size_t nchunks, par_fn fn, void *arg,
    struct diag_list *diags)
{
	struct par_job job;

	par_start(&job, nthreads, nchunks, fn, arg, diags);
	par_finish(&job, diags);
}
