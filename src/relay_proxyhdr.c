/*
 * relay_proxyhdr: a client's PROXY protocol header, read off its socket
 * for a Service that accepts one (svcproxy.io/accept-proxy-protocol):
 * peeked until whole, then exactly its bytes taken.  pp_parse
 * (proxyproto.c) reads the format; relay.c decides what a result means
 * for the connection (admit, refuse, wait, its timer).
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>

#include <sys/socket.h>

#include "proxyproto.h"
#include "relay_int.h"

/*
 * Peek at what the client sent; once it holds a whole PROXY header,
 * take exactly the header's bytes (the client's own stay in the socket)
 * and set r->client and r->dst from it.  Calls nothing in relay.c: what
 * to do is the caller's, from the result.
 */
enum relay_hdr_rc
relay_header_take(struct relay *r, int *err)
{
	uint8_t		 buf[PP_ACCEPT_MAX];
	struct pp_hdr	 h;
	ssize_t		 n, len;

	if (!(r->rd_ok & SIDE_BIT(SIDE_CLIENT)))
		return RELAY_HDR_WAIT;
	while ((n = recv(r->fd[SIDE_CLIENT], buf, sizeof(buf), MSG_PEEK)) ==
	    -1 && errno == EINTR)
		;
	if (n == -1 && errno == EAGAIN) {
		r->rd_ok &= ~SIDE_BIT(SIDE_CLIENT);
		return RELAY_HDR_WAIT;
	}
	if (n == -1) {
		*err = errno;
		return RELAY_HDR_FAILED;
	}
	if ((len = pp_parse(buf, (size_t)n, sizeof(buf), &h)) == -1)
		return RELAY_HDR_INVALID;
	if (len == 0) {
		/* A FIN behind a partial header: no more will come. */
		if (n == 0 || (r->hup & SIDE_BIT(SIDE_CLIENT)))
			return RELAY_HDR_INCOMPLETE;
		r->rd_ok &= ~SIDE_BIT(SIDE_CLIENT);
		return RELAY_HDR_WAIT;
	}
	/* Take exactly the header: it is all there (peeked). */
	if (recv(r->fd[SIDE_CLIENT], buf, (size_t)len, 0) != len) {
		*err = errno != 0 ? errno : EIO;
		return RELAY_HDR_FAILED;
	}
	/* LOCAL or UNKNOWN: the sender's own connection, as it is. */
	if (!h.local) {
		r->client = h.src;
		r->dst = h.dst;
	}
	return RELAY_HDR_TAKEN;
}
