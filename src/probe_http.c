#include "config.h"

#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "probe.h"
#include "proxyproto.h"

int
probe_http_send(struct probe *c)
{
	const struct probe_params *p = c->p;
	const char		*host = p->host != NULL ? p->host : c->target;
	int			 v6 = strchr(host, ':') != NULL && *host != '[';
	struct evbuffer		*out = bufferevent_get_output(c->bev);
	uint8_t			 hdr[PP_HDR_MAX];
	size_t			 n;

	/*
	 * A PROXY protocol backend reads the header first, or refuses.
	 * Not over TLS: there it would have to precede the handshake.
	 */
	if (p->proxy != 0 && p->kind == HC_HTTP && ((n = probe_proxy_header(c,
	    bufferevent_getfd(c->bev), hdr, sizeof(hdr))) == 0 ||
	    evbuffer_add(out, hdr, n) == -1))
		return -1;

	/* HTTP/1.1 with Connection: close: a status line is all we read,
	   and the server may close as soon as it has answered.  An IPv6
	   literal goes in brackets (RFC 9110, Host = uri-host). */
	return evbuffer_add_printf(out,
	    "%s %s HTTP/1.1\r\nHost: %s%s%s\r\nUser-Agent: svcproxy-check"
	    "\r\nAccept: */*\r\nConnection: close\r\n\r\n",
	    p->method != NULL ? p->method : "GET",
	    p->path != NULL ? p->path : "/", v6 ? "[" : "", host,
	    v6 ? "]" : "") < 0 ? -1 : 0;
}

int
probe_http_read(struct probe *c, int *ok, char *why, size_t whylen)
{
	struct evbuffer	*in = bufferevent_get_input(c->bev);
	size_t		 len = evbuffer_get_length(in);
	unsigned char	*head;
	int		 code, rc;

	if (len > 13)
		len = 13;
	if ((head = evbuffer_pullup(in, (ev_ssize_t)len)) == NULL && len > 0)
		return 0;
	rc = hc_http_status((const char *)head, len, &code);
	if (rc == 0)
		return 0;
	if (rc < 0) {
		*ok = 0;
		snprintf(why, whylen, "not an HTTP/1.x response");
	} else {
		*ok = hc_status_has(&c->p->expect, code);
		snprintf(why, whylen, "HTTP %d", code);
	}
	return 1;
}
