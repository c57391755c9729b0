/*
 * proxyproto: the PROXY protocol header, versions 1 and 2, as HAProxy's
 * doc/proxy-protocol.txt specifies it: built for a connection to a
 * backend, and parsed from a client.  Pure: no sockets, no allocation;
 * every function works in its caller's buffer.
 *
 * Built headers are exactly what the specification's senders emit:
 * v1 "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n" (TCP4, TCP6,
 * or UNKNOWN), at most PP_V1_MAX bytes; v2 the 16-byte block and the
 * address block, PROXY with TCP or UDP over IPv4 or IPv6, or LOCAL.
 * Addresses are written in pure hexadecimal for TCP6 (no dotted tail),
 * and a v4-mapped IPv6 pair is written as IPv4, which is what it is
 * (one mapped address beside a plain IPv6 one stays IPv6).
 *
 * The parser is bounded: it reads only the len bytes it is given,
 * decides as early as the bytes allow, and rejects every form the
 * specification calls invalid (see pp_parse).
 */
#ifndef SVCPROXY_PROXYPROTO_H
#define SVCPROXY_PROXYPROTO_H

#include <stddef.h>
#include <stdint.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "proxyproto-t.h"

#define PP_V1_MAX	107	/* the longest line, CRLF included */
#define PP_V2_HDR	16	/* signature, version/command, family, len */
#define PP_V2_SIG	"\r\n\r\n\0\r\nQUIT\n"
#define PP_V2_SIG_LEN	12
/* The longest header pp_build writes (v2 over AF_UNIX's 216 bytes is
   never built, but a caller's buffer of this size always does). */
#define PP_HDR_MAX	(PP_V2_HDR + 216)

/* A sockaddr of either IP family, without sockaddr_storage's bulk. */
union pp_addr {
	struct sockaddr		 sa;
	struct sockaddr_in	 in;
	struct sockaddr_in6	 in6;
};

/* What a parsed header says. */
struct pp_hdr {
	int			 version;	/* 1 or 2 */
	/*
	 * 1: the header carries no address to use (v2 LOCAL, v1
	 * UNKNOWN, v2 UNSPEC or AF_UNIX): the connection's own endpoints
	 * stand, src and dst are zero.
	 */
	int			 local;
	int			 dgram;		/* v2 DGRAM (UDP) */
	union pp_addr		 src;		/* the client */
	union pp_addr		 dst;		/* where it connected to */
};

/* "v1", "v2" or "none", as the annotation spells it. */
const char	*pp_version_name(enum pp_version);
/* The annotation's value to a version: 0, or -1 for anything else. */
int		 pp_version_parse(const char *, enum pp_version *);

/*
 * The header of version v (PP_V1 or PP_V2) for a connection from src
 * to dst (sockaddr_in or sockaddr_in6 both; ports in the sockaddrs),
 * over TCP, or UDP when dgram (v1 has no UDP: UNKNOWN).  Families that
 * do not match, or are neither, make v1 UNKNOWN and v2 a PROXY header
 * with the UNSPEC family, as the specification asks.  Into buf of len
 * bytes; returns the header's length, or 0 when len is too small
 * (PP_HDR_MAX never is) or v is PP_NONE.
 */
size_t		 pp_build(enum pp_version v, int dgram,
		    const struct sockaddr *src, const struct sockaddr *dst,
		    void *buf, size_t len);
/* v2 LOCAL (a health check: the proxy's own connection), 16 bytes;
   0 when len is too small. */
size_t		 pp_build_local(void *buf, size_t len);

/*
 * Parse the header at the start of the len bytes in buf, of at most
 * max bytes in all (a v2 header announcing more is invalid; v1's limit
 * is PP_V1_MAX whatever max says).  Returns the header's length (the
 * bytes to skip) with *h filled; 0 when every byte so far may start a
 * valid header but it is not complete (read more, up to max); -1 when
 * the bytes can be no valid header: a wrong signature or "PROXY "
 * prefix; v1 without CRLF in PP_V1_MAX bytes, a lone CR or LF, a
 * protocol other than TCP4/TCP6/UNKNOWN, separators other than single
 * spaces, an address not of the announced family or IPv4 not four
 * decimal numbers 0..255 without leading zeros, a port with a leading
 * zero or over 65535, anything after the destination port; v2 with a
 * version other than 2, a command other than LOCAL or PROXY, a family
 * or transport out of range, an address block shorter than its family
 * needs, or TLVs that overrun it.
 */
ssize_t		 pp_parse(const void *buf, size_t len, size_t max,
		    struct pp_hdr *h);

#endif
