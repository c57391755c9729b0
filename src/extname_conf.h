/*
 * extname_conf: the pure rules of ExternalName proxying (README,
 * "ExternalName"), shared by the resolver (extname.h), the reload
 * thread and the tests: a record's TTL clamped, the back-off after a
 * failure, an answer put in order so that two can be compared,
 * resolv.conf's nameservers, and the model a snapshot is built from
 * with the resolved addresses as endpoints.  No sockets, no libevent.
 */
#ifndef SVCPROXY_EXTNAME_CONF_H
#define SVCPROXY_EXTNAME_CONF_H

#include <stddef.h>
#include <stdint.h>

#include "netaddr.h"

struct res_model;

#define XN_RETRY_MIN_MS		1000	/* first retry after a failure */
#define XN_RETRY_MAX_MS		30000	/* HAProxy's "hold other" */
#define XN_MAX_ADDRS		64	/* per name: beyond, ignored */

/*
 * How long an answer with a record TTL of ttl seconds is used before
 * it is asked again: ttl clamped to [min_ms, max_ms].  A TTL of 0 ("do
 * not cache") gets min_ms, so a name is never asked in a loop.
 */
uint32_t	 xn_ttl_clamp(int ttl, uint32_t min_ms, uint32_t max_ms);

/*
 * The wait before asking again after the n-th failure in a row (n >=
 * 1): XN_RETRY_MIN_MS doubling up to XN_RETRY_MAX_MS, and never more
 * than max_ms (maxTTL: a short TTL asks for quick retries too).
 */
uint32_t	 xn_retry_ms(unsigned n, uint32_t max_ms);

/*
 * Sort v and drop repeats; returns the new count.  Two answers in this
 * form are the same endpoints exactly when xn_addrs_equal.
 */
size_t		 xn_addrs_norm(struct ipaddr *v, size_t n);
int		 xn_addrs_equal(const struct ipaddr *a, size_t na,
		    const struct ipaddr *b, size_t nb);

/*
 * The "nameserver" lines of a resolv.conf text, into ns (port 53), at
 * most max.  Returns how many; malformed lines are skipped, as the C
 * library's resolver does.
 */
size_t		 xn_resolv_parse(const char *text, struct ipaddr *ns,
		    uint16_t *ports, size_t max);

/*
 * The addresses of an external name now (sorted, *n of them; NULL or 0:
 * none), as the resolver's table holds them.  Called with whatever lock
 * the table needs held by the caller.
 */
typedef const struct ipaddr *xn_lookup_fn(const char *name, size_t *n,
		    void *arg);

/*
 * A copy of m in which every port of a proxied ExternalName Service
 * (res_service.xn_proxy) has the name's addresses, as lookup gives
 * them, as ready endpoints on its targetPort.  The copy owns its arena
 * (services, ports, endpoints) and borrows everything else from m,
 * which must outlive it; free it with xn_overlay_free (not res_free).
 * 0, or -1 when out of memory.  *any is set when m has such a Service
 * (when not, the copy is m itself, with nothing to free).
 */
int		 xn_overlay(const struct res_model *m, xn_lookup_fn *lookup,
		    void *arg, struct res_model *out, int *any);
void		 xn_overlay_free(struct res_model *out, int any);

#endif
