/*
 * admin: the HTTP server on ProxyConfig adminAddress, on the main
 * thread's event_base, so it reads the run context without locks;
 * worker counters it reads are relaxed atomics.
 *
 *   GET /healthz   200 "ok" when a configuration is loaded, every
 *                  listener is bound and svcproxy is not draining; else
 *                  503 with the reason.  ?requireEndpoints=1 also needs
 *                  every served Service port to have a healthy endpoint
 *                  and not to be in panic (what keepalived's
 *                  vrrp_script asks; health_view.h says "healthy").
 *   GET /metrics   Prometheus text (metrics.c).
 *   GET /status    JSON: `svcproxy resolve -o json` of the running
 *                  configuration plus "process", "listeners" and
 *                  "live" (per Service port and endpoint counters,
 *                  endpoint health, port panic).
 *
 * It is a small HTTP/1.x server of its own, one request per connection
 * (every answer says "Connection: close"), rather than evhttp, because
 * it must bound what a client can hold, which evhttp 2.1 cannot:
 *   - a deadline: ADM_DEADLINE_MS from accept to the answer written,
 *     whatever the client trickles in (evhttp's timeout restarts on
 *     every byte);
 *   - a cap: at most ADM_MAX_CONNS connections; one past it closes the
 *     oldest still sending its request, so a new one (keepalived's
 *     /healthz) is always read, and the fds stay within ADM_FD_BUDGET,
 *     which run_budget() keeps out of the connections' share;
 *   - back-pressure: out of fds (EMFILE), accepting pauses for
 *     ADM_PAUSE_MS instead of spinning on a listener that stays
 *     readable.
 */
#ifndef SVCPROXY_ADMIN_H
#define SVCPROXY_ADMIN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <event2/event.h>

#include "listener.h"
#include "log.h"
#include "metrics.h"
#include "netaddr.h"
#include "snapshot.h"
#include "worker.h"

struct model;
struct xn_run;

/* What the server reads; all owned by the run context, which outlives it. */
struct adm_src {
	struct snap_slot	*slot;
	struct wrk_group	*grp;
	const struct met_tab	*met;
	const struct met_proc	*proc;
	const struct lsn_table	*lsns;
	struct model		**model;	/* running config's model */
	const struct xn_run	*xn;		/* ExternalName resolver;
						   NULL: none */
};

#define ADM_MAX_CONNS		64	/* admin connections open at once */
#define ADM_DEADLINE_MS		10000	/* accept to answer written */
#define ADM_PAUSE_MS		100	/* accepting paused, out of fds */
#define ADM_MAX_REQUEST		8192	/* request line and headers */
/* Fds the admin server may hold: the listener, the connections, and
 * one accepted before the oldest is closed. */
#define ADM_FD_BUDGET		(ADM_MAX_CONNS + 2)

struct adm_conn;				/* admin.c */

struct adm {
	struct event_base	*base;		/* the main thread's */
	int			 fd;		/* listening, owned; -1: none */
	struct event		*accept_ev;	/* owned; on fd */
	struct event		*resume_ev;	/* owned; after a pause */
	const struct timeval	*deadline_tv;	/* base's common timeout */
	struct adm_conn		*oldest;	/* owned, as the list: */
	struct adm_conn		*newest;	/* by accept, via next */
	struct met_adm		 met;
	struct log_rl		 rl;		/* repeated complaints */
	char			 name[LSN_NAMELEN];	/* bound to */
	struct ipaddr		 asked_ip;	/* as configured (port 0 */
	uint16_t		 asked_port;	/* stays 0): what a reload */
						/* compares with */
	struct adm_src		 src;
};

/*
 * Serve on ip:port (port 0: the kernel picks; name says which), or on
 * the inherited listening socket fd when it is not -1.  Returns 0, or
 * -1 with err.
 */
int	 adm_start(struct adm *, struct event_base *, const struct ipaddr *ip,
	    uint16_t port, int fd, const struct adm_src *, char *err,
	    size_t errlen);
/*
 * Move a to ip:port: bind the new socket first and close the old one
 * only then, so a failure (address in use, permission) leaves a serving
 * where it was.  0, or -1 with err.
 */
int	 adm_move(struct adm *, struct event_base *, const struct ipaddr *ip,
	    uint16_t port, char *err, size_t errlen);
/* Close the socket and every admin connection.  Idempotent; a stays
 * initialised (fd -1) and may be started again. */
void	 adm_stop(struct adm *);

/*
 * Why Service port sp fails /healthz?requireEndpoints=1, into buf: it
 * has no ready endpoint, none of them is healthy (health_view.h: not
 * down by its check, not ejected), or it is in panic (serving unhealthy
 * ones).  Returns 1 then, else 0.
 */
int	 adm_port_unhealthy(const struct snap_port *sp, char *buf,
	    size_t len);
/*
 * The /status members of endpoint ep of sp at now_ms (monotonic),
 * after a comma (health_view.h): "health"; "check" when it is actively
 * checked (its type, and its last result, reason, time and latency
 * once one has run); "ejected" while passively ejected; "ejections"
 * once it has been.
 */
void	 adm_json_ep_health(FILE *f, const struct snap_port *sp,
	    const struct lb_ep *ep, int64_t now_ms);

#endif
