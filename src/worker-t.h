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

#endif
