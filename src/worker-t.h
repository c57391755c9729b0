/*
 * worker-t.h: the per-worker counters, a type of their own so that
 * relay.c, which counts most of them, needs no worker header: the
 * worker calls relay, never the reverse (relay.h).
 */
#ifndef SVCPROXY_WORKER_T_H
#define SVCPROXY_WORKER_T_H

#include <stdatomic.h>
#include <stdint.h>

/* Only the owning worker writes; anyone may read (relaxed). */
struct wrk_stats {
	_Atomic uint32_t	 active;
	_Atomic uint64_t	 accepted;
	_Atomic uint64_t	 closed;
	_Atomic uint64_t	 connect_failures;
	_Atomic uint64_t	 no_endpoint;
	_Atomic uint64_t	 bytes_up;	/* client to backend */
	_Atomic uint64_t	 bytes_down;
	_Atomic uint64_t	 accept_paused;
};

/* Add n to counter f of st (a struct wrk_stats *): its owner only. */
#define WRK_STAT_ADD(st, f, n)	atomic_store_explicit(&(st)->f, \
	atomic_load_explicit(&(st)->f, memory_order_relaxed) + (n), \
	memory_order_relaxed)

/*
 * Take n fds of a budget: the workers' count fds, capped at *cap (0: no
 * cap; a reload may change it).  Counted even without a cap, so that a
 * give always matches its take.  0 when taking would pass the cap, and
 * then *spent counts one more refusal (NULL: not counted): a shared
 * read-modify-write, but only where the refusal already wrote fds
 * twice, never on a take that succeeds.  The TCP accept (2 per
 * connection) and the UDP relay (1 per flow) share one budget
 * (worker.h).
 */
static inline int
fd_budget_take(_Atomic uint64_t *fds, const _Atomic uint64_t *cap,
    uint64_t n, _Atomic uint64_t *spent)
{
	uint64_t c = atomic_load_explicit(cap, memory_order_relaxed);

	if (atomic_fetch_add_explicit(fds, n, memory_order_relaxed) + n > c &&
	    c != 0) {
		atomic_fetch_sub_explicit(fds, n, memory_order_relaxed);
		if (spent != NULL)
			atomic_fetch_add_explicit(spent, 1,
			    memory_order_relaxed);
		return 0;
	}
	return 1;
}

static inline void
fd_budget_give(_Atomic uint64_t *fds, uint64_t n)
{
	atomic_fetch_sub_explicit(fds, n, memory_order_relaxed);
}

#endif
