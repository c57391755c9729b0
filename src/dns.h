/*
 * dns: the cluster DNS server, on a thread and event loop of its own
 * (never a worker's, never the main loop), answering from a zone
 * (dns_zone.h) over UDP and TCP on one address and port.
 *
 * UDP goes through libevent's evdns server, which parses the question
 * and encodes the answer.  libevent 2.1 has no TCP DNS server, so TCP
 * (RFC 7766: two-byte length, then the message) has a small parser and
 * encoder of its own here; both ask the same zone the same way.
 *
 * Size: evdns 2.1's server knows no EDNS(0), so a UDP answer is at most
 * 512 bytes (RFC 1035).  Records are added while they fit; when some do
 * not, the answer has the TC bit, and a client asks again over TCP,
 * which carries them all.  The records of a name are rotated by one per
 * question, so that successive UDP clients get different subsets of a
 * large headless Service (and different first addresses of a small one:
 * the round robin cluster DNS servers do).
 *
 * The zone is swapped atomically: dns_srv_set_zone() (any thread)
 * leaves it in a slot the DNS thread adopts before its next answer;
 * the zone a question is being answered from stays alive until then.
 */
#ifndef SVCPROXY_DNS_H
#define SVCPROXY_DNS_H

#include <stddef.h>
#include <stdint.h>

#include "dns-t.h"
#include "netaddr.h"

#define DNS_UDP_MAX		512	/* no EDNS(0): RFC 1035's bound */
#define DNS_TCP_CONNS_MAX	64	/* open at once; more are closed */
#define DNS_TCP_IDLE_SEC	10	/* RFC 7766 suggests seconds */

struct dns_zone;
struct dns_srv;

/*
 * Bind UDP and TCP sockets on ip:port (SO_REUSEPORT, so that an upgrade's
 * new process, or a reload's new server, binds beside this one).  Main
 * thread.  The server counts into st (the caller's, shared by the
 * servers a run has had, and outliving each).  NULL with a message in
 * err.
 */
struct dns_srv	*dns_srv_new(const struct ipaddr *ip, uint16_t port,
		    struct dns_stats *st, char *err, size_t errlen);
/* Start the thread, answering from z (the server takes the reference). */
int		 dns_srv_start(struct dns_srv *, struct dns_zone *z, char *err,
		    size_t errlen);
/* Answer from z from now on (takes the reference).  Any thread. */
void		 dns_srv_set_zone(struct dns_srv *, struct dns_zone *z);
/* Stop the thread, close the sockets, free everything (NULL: nothing). */
void		 dns_srv_free(struct dns_srv *);

#endif
