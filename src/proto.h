/*
 * proto: the transport protocol of a port, as Kubernetes spells it.
 *
 * One enum for Services, listeners, NetworkPolicy and the data path,
 * so that nothing converts between protocol types.  Pure.
 */
#ifndef SVCPROXY_PROTO_H
#define SVCPROXY_PROTO_H

enum proto {
	PROTO_TCP,
	PROTO_UDP,
	PROTO_SCTP,
};

/* "TCP", "UDP" or "SCTP" (the API server's spelling) to the enum;
   -1 for anything else, including NULL. */
int		 proto_parse(const char *);
/* "TCP", "UDP" or "SCTP". */
const char	*proto_name(enum proto);
/* "tcp", "udp" or "sctp": metric labels and the upgrade hand-over. */
const char	*proto_lower(enum proto);

#endif
