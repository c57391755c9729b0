/*
 * dns_run: the cluster DNS server in `svcproxy run`: started from the
 * startup model when spec.dns.listen is set, its zone rebuilt by a
 * reload part, which also moves it when spec.dns.listen changes (or
 * starts or stops it), stopped at exit.  Kept out of cmd_run.c, which
 * only holds a struct dns_run and lists dns_reload_part.
 */
#ifndef SVCPROXY_DNS_RUN_H
#define SVCPROXY_DNS_RUN_H

#include <stdint.h>

#include "dns-t.h"
#include "netaddr.h"
#include "reload.h"

struct model;

struct dns_run {
	struct dns_srv		*srv;		/* owned; NULL: DNS off */
	struct ipaddr		 ip;		/* where srv listens */
	uint16_t		 port;
	struct model		**model;	/* the run context's running
						   model (a commit replaces
						   it), not owned */
	struct dns_stats	 st;		/* every server's counters,
						   across reloads */
};

/*
 * Start the server when (*r->model)'s spec.dns.listen is set.  0 (off,
 * or serving), or -1 after logging why.  Main thread.
 */
int		 dns_run_start(struct dns_run *r);
/*
 * Its counters for /metrics: r's own, kept across servers (a reload
 * that moves, starts or stops the server), valid while r is; their
 * `serving` says whether a server runs now.
 */
const struct dns_stats *dns_run_stats(const struct dns_run *r);
/* Stop and free the server (nothing when off). */
void		 dns_run_stop(struct dns_run *r);

/*
 * The reload part; its arg is the struct dns_run.  A new listen address
 * is bound in prepare, beside the running server, which answers until
 * commit: a bind that fails fails the reload, and the running
 * configuration (and server) stays.
 */
extern const struct reload_part	 dns_reload_part;

#endif
