/*
 * netaddr: IP addresses and CIDR blocks as values, IPv4 and IPv6.
 *
 * Pure functions on small structs; no allocation.  IPv4 is kept as
 * four bytes (family AF_INET), never as a v4-mapped IPv6 address, so a
 * 10.0.0.0/8 block never matches ::ffff:10.0.0.1 by accident.
 */
#ifndef SVCPROXY_NETADDR_H
#define SVCPROXY_NETADDR_H

#include <stddef.h>
#include <stdint.h>

#include <netinet/in.h>
#include <sys/socket.h>

#define NETADDR_STRLEN	46	/* INET6_ADDRSTRLEN */
/* "[" NETADDR_STRLEN "]:65535": room for ipaddr_format_hostport. */
#define NETADDR_HOSTPORTLEN	(NETADDR_STRLEN + 8)

struct ipaddr {
	int		family;		/* 0 (none), AF_INET, AF_INET6 */
	uint8_t		b[16];		/* network order; 4 used for v4 */
};

struct cidr {
	struct ipaddr	addr;		/* masked to prefix */
	int		prefix;
};

/* Strict parse, as Go's netip: no leading zeros, no zone. 0 or -1. */
int	 ipaddr_parse(const char *, struct ipaddr *);
/* "10.0.0.0/8"; with strict, host bits must be zero (-1 otherwise). */
int	 cidr_parse(const char *, struct cidr *, int strict);
int	 cidr_contains(const struct cidr *, const struct ipaddr *);
/* a lies wholly inside b. */
int	 cidr_within(const struct cidr *a, const struct cidr *b);
int	 ipaddr_equal(const struct ipaddr *, const struct ipaddr *);
int	 ipaddr_cmp(const struct ipaddr *, const struct ipaddr *);
int	 ipaddr_is_unspecified(const struct ipaddr *);
int	 ipaddr_is_loopback(const struct ipaddr *);
/* Link-local unicast or multicast: never a valid endpoint or VIP. */
int	 ipaddr_is_link_local(const struct ipaddr *);
int	 ipaddr_is_multicast(const struct ipaddr *);
/* Text form into buf (NETADDR_STRLEN bytes); returns buf. */
char	*ipaddr_format(const struct ipaddr *, char *buf);
/*
 * "10.0.0.1:80", "[::1]:80", or "*:80" for no address (family 0), into
 * buf of len bytes (NETADDR_HOSTPORTLEN is enough); returns buf.
 */
char	*ipaddr_format_hostport(const struct ipaddr *, uint16_t port,
	    char *buf, size_t len);
/* The same for a sockaddr (a v4-mapped address as IPv4); returns buf. */
char	*ipaddr_format_sockaddr(const struct sockaddr *, char *buf,
	    size_t len);
/* Addresses in the block: 2^(bits - prefix), saturating at 2^63. */
uint64_t cidr_size(const struct cidr *);
/* The offset-th address of the block (offset < cidr_size()). */
void	 cidr_nth(const struct cidr *, uint64_t offset, struct ipaddr *);
/* Into a sockaddr for bind/connect; returns its length. */
socklen_t ipaddr_sockaddr(const struct ipaddr *, uint16_t port,
	    struct sockaddr_storage *);
void	 ipaddr_from_sockaddr(const struct sockaddr *, struct ipaddr *,
	    uint16_t *port);
/* "IP:PORT" or "[IPv6]:PORT", port 0-65535.  0 or -1. */
int	 netaddr_parse_hostport(const char *, struct ipaddr *, uint16_t *port);

#endif
