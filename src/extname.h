/*
 * extname: the resolver of proxied ExternalName Services (README,
 * "ExternalName").
 *
 * Each external name the running model proxies (res_service.xn_proxy)
 * is asked for A and AAAA with libevent's evdns on the main thread's
 * loop: asynchronous, so neither the main thread nor a worker ever
 * waits for DNS.  The nameservers come from the model's ProxyConfig
 * (spec.externalName.nameservers, else /etc/resolv.conf's, read with
 * the configuration): the main thread reads no file.  Every address of
 * an answer is an endpoint.  An answer is used for its TTL, clamped to
 * [minTTL, maxTTL], then asked again.  When asking fails, the last good
 * answer is kept until holdOnFailure after its TTL ran out, retries
 * back off (extname_conf.h), and the failure is logged (rate-limited),
 * counted (/metrics) and shown (/status).
 *
 * The answers form a table that snapshot builds read (xn_snap_build):
 * the reload thread for a reload, so a reload's snapshot has the
 * endpoints resolved so far, and a rebuild when an answer changes.
 * A rebuild is level-triggered: a change marks the table dirty, and the
 * run context builds the running model's snapshot again on a thread
 * (hooks.build) unless a reload or a rebuild is under way, after which
 * it is asked again.  No file is read for it.
 *
 * Threads: everything here runs on the main thread, but xn_snap_build,
 * which any thread may call; mu guards what it reads (the entries and
 * their answers).
 */
#ifndef SVCPROXY_EXTNAME_H
#define SVCPROXY_EXTNAME_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "extname_conf.h"
#include "log.h"
#include "netaddr.h"
#include "pcfg-t.h"

struct event;
struct event_base;
struct evdns_base;
struct hc_celltab;
struct lb_livetab;
struct res_model;
struct snap;

/* Counters for /metrics: main thread only. */
struct xn_stats {
	uint64_t		 queries;	/* A+AAAA rounds asked */
	uint64_t		 failures;	/* rounds that failed */
	uint64_t		 changes;	/* answers that moved
						   endpoints */
	uint64_t		 rebuilds;	/* snapshots built for them */
	uint64_t		 expired;	/* last good answers dropped */
	size_t			 names;		/* resolved now */
	size_t			 failing;	/* whose last round failed */
};

/* One external name. */
struct xn_ent {
	char			 name[256];	/* as in the Service, no
						   final dot */
	struct xn_run		*run;
	struct event		*timer;		/* owned: the next round */
	int			 inflight;	/* queries out: 0 to 2 */
	int			 gone;		/* not wanted: freed when no
						   query is out */
	/* The round under way. */
	struct ipaddr		 got[XN_MAX_ADDRS];
	size_t			 ngot;
	int			 got_ttl;	/* seconds: the least */
	int			 err[2];	/* evdns result: A, AAAA */
	/* The answer in use: written under run->mu. */
	struct ipaddr		 addrs[XN_MAX_ADDRS];
	size_t			 naddrs;
	uint32_t		 ttl_ms;	/* clamped */
	int64_t			 expires_ms;	/* monotonic: TTL ends */
	int64_t			 next_ms;	/* monotonic: next round */
	int64_t			 last_ok;	/* wall ms; 0: never */
	unsigned		 fails;		/* in a row */
	uint64_t		 queries;
	uint64_t		 failures;
	char			 last_err[128];	/* "" : none yet */
	int64_t			 last_err_at;	/* wall ms */
};

/* The run context's part: build the running model's snapshot. */
struct xn_hooks {
	int		(*busy)(void *arg);	/* a reload is under way */
	int		(*build)(void *arg);	/* start a rebuild: 0, -1 */
	void		 *arg;
};

struct xn_run {
	struct event_base	*base;		/* main thread's */
	struct evdns_base	*dns;		/* owned; NULL: no name */
	pthread_mutex_t		 mu;		/* ents and their answers,
						   for other threads */
	struct xn_ent		**ents;		/* owned, and each entry */
	size_t			 nents, cap;
	struct ipaddr		 ns[PCFG_XN_MAX_NS];	/* in dns */
	uint16_t		 ns_port[PCFG_XN_MAX_NS];
	size_t			 nns;
	const char		*ns_from;	/* static */
	uint32_t		 min_ttl_ms, max_ttl_ms, hold_ms;
	struct xn_hooks		 hooks;
	int			 building;	/* a rebuild is under way */
	int			 dirty;		/* a change not yet built */
	struct event		*kick;		/* owned: asks again */
	struct xn_stats		 stats;
	struct log_rl		 rl;		/* failure lines */
};

/* Set up x (no name yet).  0, or -1 when out of memory. */
int		 xn_init(struct xn_run *x, struct event_base *base,
		    const struct xn_hooks *hooks);
/* Cancel every query and free x.  After the threads that build. */
void		 xn_free(struct xn_run *x);

/*
 * Resolve the names m proxies, with its ProxyConfig's resolver settings:
 * names kept keep their answers, new ones are asked at once, those gone
 * are dropped.  At startup and after a reload's publish.  Main thread.
 */
void		 xn_want(struct xn_run *x, const struct res_model *m);

/* A rebuild ended (its snapshot published or not): ask again if dirty. */
void		 xn_built(struct xn_run *x);

/* Is a rebuild under way? */
int		 xn_building(const struct xn_run *x);

/*
 * m with x's answers as endpoints (xn_overlay, extname_conf.h): free
 * out with xn_overlay_free(out, *any).  Any thread.  0, or -1 when out
 * of memory.
 */
int		 xn_model(struct xn_run *x, const struct res_model *m,
		    struct res_model *out, int *any);

/*
 * snap_build of m with each proxied ExternalName port's endpoints from
 * x's answers (NULL x: none).  Any thread.  As snap_build.
 */
struct snap	*xn_snap_build(struct xn_run *x, const struct res_model *m,
		    struct lb_livetab *live, struct hc_celltab *cells,
		    char *err, size_t errlen);

/* /status: the names, their addresses, TTL left and last error. */
void		 xn_status_json(const struct xn_run *x, FILE *out);

#endif
