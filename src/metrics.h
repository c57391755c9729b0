/*
 * metrics: counters for /metrics and /status, and their Prometheus text.
 *
 * Per Service port, each worker has its own counters, which only that
 * worker writes (relaxed atomic load and store, no read-modify-write
 * across threads) and the admin thread sums; they sit in their own
 * cache lines so workers never share one (HAProxy's srv_per_thread).
 * The table of ports outlives snapshots, like lb_livetab: a Service
 * port present before and after a reload keeps counting, and one that
 * a reload removes keeps its totals (it is no longer listed).  The main
 * thread alone creates entries (at snapshot build) and writes the
 * endpoint counts; workers reach an entry through snap_port.met.
 */
#ifndef SVCPROXY_METRICS_H
#define SVCPROXY_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/buffer.h>

#include "lb.h"
#include "strtab.h"

struct res_model;

/*
 * One worker's counters for one Service port; only that worker writes.
 * Cache-line aligned: allocate arrays of it with met_ctr_new(), never
 * malloc/calloc, whose 16-byte alignment is undefined behaviour for it
 * (UBSan: "misaligned address").
 */
struct met_ctr {
	_Atomic uint64_t	 accepted;
	_Atomic uint64_t	 closed;
	_Atomic uint64_t	 bytes_up;	/* client to endpoint */
	_Atomic uint64_t	 bytes_down;
	_Atomic uint64_t	 connect_failures;
	_Atomic uint64_t	 retries;	/* attempts after the first */
	_Atomic uint64_t	 no_endpoint;
	_Atomic uint64_t	 limited;	/* accepts held at a limit */
	/*
	 * Clients refused (reset) because NetworkPolicy lets them reach no
	 * endpoint, or because loadBalancerSourceRanges leaves them out;
	 * established connections closed because a new snapshot's
	 * policies deny them.
	 */
	_Atomic uint64_t	 refused_policy;
	_Atomic uint64_t	 refused_source;
	_Atomic uint64_t	 closed_policy;
	/* Closed because their endpoint went down (health-on-down). */
	_Atomic uint64_t	 closed_health;
	/* UDP flows (relay_udp.h): opened and closed (active is their
	   difference), closed idle, dropped at the bound; datagrams each
	   way (bytes go in bytes_up/bytes_down). */
	_Atomic uint64_t	 udp_flows;
	_Atomic uint64_t	 udp_flows_closed;
	_Atomic uint64_t	 udp_flows_expired;
	_Atomic uint64_t	 udp_flows_limited;
	_Atomic uint64_t	 udp_dgrams_up;
	_Atomic uint64_t	 udp_dgrams_down;
} __attribute__((aligned(64)));

/* Endpoints of a Service port by state, from the last loaded model. */
struct met_eps {
	uint32_t		 ready;
	uint32_t		 serving_terminating;	/* used as fallback */
	uint32_t		 terminating;
	uint32_t		 not_ready;
};

struct met_port {
	struct strtab_node	 node;		/* in the table; key: */
	uint64_t		 gen;		/* last snapshot that has it */
	struct met_eps		 eps;		/* main thread only */
	struct met_ctr		*w;		/* owned; one per worker */
	/*
	 * UDP flows open on this port now, in every worker: the one
	 * counter the workers share (read-modify-write per flow opened or
	 * closed, never per datagram), for svcproxy.io/udp-max-flows.
	 */
	_Atomic uint64_t	 udp_open;
	char			 key[];		/* "ns/name:port/TCP" */
};

/* Owned by the run context; entries created by the main thread only. */
struct met_tab {
	struct strtab		 t;		/* of met_port, owned */
	unsigned		 nworkers;
};

/* Add n to counter f of worker wid on Service port sp (met may be NULL). */
#define MET_PORT_ADD(sp, wid, f, n) do {				\
	struct met_port *met_p_ = (sp)->met;				\
	if (met_p_ != NULL) {						\
		_Atomic uint64_t *met_c_ = &met_p_->w[(wid)].f;		\
		atomic_store_explicit(met_c_, atomic_load_explicit(	\
		    met_c_, memory_order_relaxed) + (uint64_t)(n),	\
		    memory_order_relaxed);				\
	}								\
} while (0)

/* n zeroed counters, aligned as their type needs; free(3) them.  NULL:
 * out of memory. */
struct met_ctr *met_ctr_new(size_t n);

void	 met_tab_init(struct met_tab *, unsigned nworkers);
void	 met_tab_free(struct met_tab *);
/* The entry for key, created zeroed; NULL when out of memory. */
struct met_port *met_port_get(struct met_tab *, const char *key);

/* Sum of every worker's counters of p into out. */
void	 met_port_sum(const struct met_tab *, const struct met_port *p,
	    struct met_ctr *out);
/* A relaxed read of one counter. */
uint64_t met_get(const _Atomic uint64_t *);

struct dns_stats;
struct xn_stats;

/* Process-wide values, kept by the run context (main thread). */
struct met_proc {
	uint64_t		 reloads_ok;
	uint64_t		 reloads_failed;
	uint64_t		 reloads_noop;	/* unchanged config */
	int64_t			 last_reload;	/* unix seconds; 0: none */
	int			 last_reload_ok;
	uint64_t		 config_hash;
	int64_t			 started;	/* unix seconds */
	unsigned		 workers;
	int			 draining;
	size_t			 listeners;	/* bound addresses */
	size_t			 sockets;	/* their sockets */
	const struct dns_stats	*dns;		/* the DNS server's; NULL:
						   off */
	const struct xn_stats	*xn;		/* the ExternalName
						   resolver's; NULL: none */
};

/* Per-worker data-path totals (struct wrk_stats), summed by the caller. */
struct met_wrk {
	uint64_t		 active;
	uint64_t		 accepted;
	uint64_t		 connect_failures;
	uint64_t		 no_endpoint;
	uint64_t		 bytes_up;
	uint64_t		 bytes_down;
	uint64_t		 accept_paused;
	/* The fd budget (struct wrk_group), for /status and /metrics: */
	uint64_t		 nofile;	/* open file limit */
	uint64_t		 fd_budget;	/* fds connections and UDP
						   flows may hold */
	uint64_t		 fd_taken;	/* held now */
	uint64_t		 fd_waited;	/* TCP accepts it left waiting */
	uint64_t		 fd_dropped;	/* UDP flows it refused */
};

/* The admin server's own counters (struct adm; main thread). */
struct met_adm {
	uint64_t		 conns;		/* open now */
	uint64_t		 accepted;
	uint64_t		 closed_deadline; /* not answered in time */
	uint64_t		 closed_cap;	/* oldest, at the cap */
	uint64_t		 accept_paused;	/* out of fds */
};

struct snap;

/*
 * Write the Prometheus text exposition (version 0.0.4) of tab, the
 * Service ports of s (the current snapshot) and their endpoints, with
 * their health (health_view.h), and the process and admin server
 * values into out.  Main thread.  Returns
 * 0, or -1 when out of memory.
 */
int	 met_print_prom(struct evbuffer *out, const struct met_tab *tab,
	    const struct snap *s, const struct met_proc *proc,
	    const struct met_wrk *wrk, const struct met_adm *adm,
	    long open_fds);

/*
 * Point every port of s, not yet published, at its entry in tab
 * (created as needed; keyed "ns/name:port/TCP", so a port in both the
 * running and the next snapshot keeps its counters).  Main thread.
 * 0, or -1 when out of memory (s then partly bound: unref it).
 */
int	 met_bind(struct met_tab *tab, struct snap *s);

/*
 * Set the endpoint counts by state of every proxied Service port of m,
 * the model now running.  Main thread.  Ports without an entry (out of
 * memory) are skipped.
 */
void	 met_eps(struct met_tab *tab, const struct res_model *m);

/* Open file descriptors of this process (/proc/self/fd), or -1. */
long	 met_open_fds(void);

#endif
