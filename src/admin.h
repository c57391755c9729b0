/*
 * admin: the HTTP server on ProxyConfig adminAddress (libevent evhttp on
 * the main thread's event_base, so it reads the run context without
 * locks; worker counters it reads are relaxed atomics).
 *
 *   GET /healthz   200 "ok" when a configuration is loaded, every
 *                  listener is bound and svcproxy is not draining; else
 *                  503 with the reason.  ?requireEndpoints=1 also needs
 *                  every served Service port to have a usable endpoint
 *                  (what keepalived's vrrp_script asks).
 *   GET /metrics   Prometheus text (metrics.c).
 *   GET /status    JSON: `svcproxy resolve -o json` of the running
 *                  configuration plus "process", "listeners" and
 *                  "live" (per Service port and endpoint counters).
 */
#ifndef SVCPROXY_ADMIN_H
#define SVCPROXY_ADMIN_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "listener.h"
#include "metrics.h"
#include "model.h"
#include "netaddr.h"
#include "snapshot.h"
#include "worker.h"

/* What the server reads; all owned by the run context, which outlives it. */
struct adm_src {
	struct snap_slot	*slot;
	struct wrk_group	*grp;
	const struct met_tab	*met;
	const struct met_proc	*proc;
	const struct lsn_table	*lsns;
	struct model		**model;	/* running config's model */
};

struct evhttp;

struct adm {
	struct evhttp		*http;		/* owned; NULL: stopped */
	int			 fd;		/* http's; -1: none */
	char			 name[LSN_NAMELEN];	/* bound to */
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
/* Close the socket and every admin connection.  Idempotent. */
void	 adm_stop(struct adm *);

#endif
