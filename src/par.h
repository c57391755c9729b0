/*
 * par: a loop over independent items on a few threads, for the config
 * side (validation, resolution), with the serial loop's diagnostics.
 *
 * The items are cut into chunks, numbered in the serial order; threads
 * take chunks in that order, each chunk reporting into a list of its
 * own, and the lists are appended to the caller's list in chunk order:
 * the diagnostics, their order, and which of them fit under the list's
 * bound (diag_list.max) are those of the serial loop.  A chunk's list
 * is bounded by what the finished chunks before it left of the room,
 * so a flood of warnings past the bound is counted, not copied, as the
 * serial loop does.
 *
 * When to use threads (par_threads): never with SVCPROXY_PARSE_SERIAL
 * set (the loader's switch, so that one variable makes the whole
 * config side serial, for comparing the two), on one CPU, or for fewer
 * items than make a thread worth starting.  SVCPROXY_CONFIG_THREADS=N
 * (1 to PAR_MAX_THREADS) asks for N threads whatever the size and the
 * CPUs, so that tests run small configurations through the threads.
 */
#ifndef SVCPROXY_PAR_H
#define SVCPROXY_PAR_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#include "diag.h"

#define PAR_MAX_THREADS	4

/*
 * Whether SVCPROXY_PARSE_SERIAL asks for one thread throughout: parsing
 * (load.c) and the config side (par_threads) read it here, so that the
 * two cannot disagree on what it means.
 */
int	 par_serial(void);

/*
 * Threads for nitems items (this one included): 1 when serial, else
 * up to min(CPUs, PAR_MAX_THREADS), at least min_per_thread items each.
 */
size_t	 par_threads(size_t nitems, size_t min_per_thread);
/*
 * Items per chunk: about 8 chunks a thread, so that they take turns and
 * none idles long at the end, at most max (the room a chunk's
 * diagnostics are bounded by shrinks as chunks finish in order).
 */
size_t	 par_chunk(size_t nitems, size_t nthreads, size_t max);

/*
 * Run fn(arg, chunk, worker, list) for every chunk in [0, nchunks); fn
 * reports into list, which is the chunk's own.  worker, in [0,
 * nthreads), names the thread running it (0: the caller's), for
 * scratch space kept per thread; nothing else may depend on it.  fn
 * must touch only what its chunk owns (and read what no chunk writes),
 * and must not allocate from a shared arena.
 */
typedef void (*par_fn)(void *arg, size_t chunk, size_t worker,
	    struct diag_list *);

struct par_job;

struct par_worker {
	struct par_job		*job;
	size_t			 idx;
};

struct par_job {
	par_fn			 fn;
	void			*arg;
	size_t			 nchunks;
	struct diag_list	*lists;		/* owned; per chunk */
	unsigned char		*done;		/* owned; per chunk, under mu */
	size_t			 room;		/* of the caller's list */
	size_t			 prefix;	/* chunks [0, prefix) done */
	size_t			 prefix_said;	/* their diagnostics */
	_Atomic size_t		 next;		/* next chunk to take */
	pthread_mutex_t		 mu;
	pthread_t		 tids[PAR_MAX_THREADS];
	struct par_worker	 workers[PAR_MAX_THREADS];
	size_t			 nstarted;
	int			 serial;	/* allocation failed: inline */
};

/*
 * Start job on nthreads - 1 threads; this thread joins in at
 * par_finish().  Between the two, the caller may do other work, but
 * must add no diagnostic to diags that should come after the job's.
 * diags is only read here (its free room).  A thread that cannot be
 * started leaves its share to the others; out of memory, the job runs
 * serially in par_finish().
 */
void	 par_start(struct par_job *, size_t nthreads, size_t nchunks,
	    par_fn fn, void *arg, const struct diag_list *diags);
/* Take chunks until none is left, join, append every list to diags. */
void	 par_finish(struct par_job *, struct diag_list *diags);

/* par_start() and par_finish() at once. */
void	 par_run(size_t nthreads, size_t nchunks, par_fn fn, void *arg,
	    struct diag_list *diags);

#endif
