/*
 * dns-t: the cluster DNS server's counters, types only, so that
 * metrics.c prints them without knowing the server.  Written by the
 * DNS thread only (relaxed atomics), read by anyone.
 */
#ifndef SVCPROXY_DNS_T_H
#define SVCPROXY_DNS_T_H

#include <stdint.h>

/* Question types counted apart; the rest is "other". */
enum dns_qt {
	DNS_QT_A,
	DNS_QT_AAAA,
	DNS_QT_SRV,
	DNS_QT_PTR,
	DNS_QT_TXT,
	DNS_QT_CNAME,
	DNS_QT_OTHER,
	DNS_QT_N
};

/* Response codes counted apart (RFC 1035 numbering up to 5). */
#define DNS_RC_N	6

struct dns_stats {
	_Atomic uint64_t	 q[DNS_QT_N][DNS_RC_N]; /* answered, by
						   type and rcode */
	_Atomic uint64_t	 truncated;	/* UDP answers with TC */
	_Atomic uint64_t	 tcp;		/* questions over TCP */
	_Atomic uint64_t	 dropped;	/* unparsable, not answered */
	_Atomic int		 serving;	/* a server runs: /metrics
						   shows the counters */
};

#endif
