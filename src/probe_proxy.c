/*
 * probe_proxy: the PROXY protocol header a probe sends first when its
 * Service's backends expect one (probe.h).  A file of its own because
 * both the tcp probe (probe.c) and the http one (probe_http.c) use it.
 */
#include "config.h"

#include <sys/socket.h>

#include "probe.h"
#include "proxyproto.h"

size_t
probe_proxy_header(const struct probe *c, int fd, void *buf, size_t len)
{
	union pp_addr	 me, peer;
	socklen_t	 ml = sizeof(me), pl = sizeof(peer);

	if (c->p->proxy == PP_V2)
		return pp_build_local(buf, len);
	if (c->p->proxy != PP_V1)
		return 0;
	/* Section 2.1: "a getsockname()/getpeername() pair". */
	if (getsockname(fd, &me.sa, &ml) == -1 ||
	    getpeername(fd, &peer.sa, &pl) == -1)
		return pp_build(PP_V1, 0, NULL, NULL, buf, len);
	return pp_build(PP_V1, 0, &me.sa, &peer.sa, buf, len);
}
