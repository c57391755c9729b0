/*
 * proxyproto-t: which PROXY protocol header a Service's backends get
 * (README, "Client address").  A plain type: the config side (pcfg,
 * res), the snapshot and the health checks share it without the
 * encoder.
 */
#ifndef SVCPROXY_PROXYPROTO_T_H
#define SVCPROXY_PROXYPROTO_T_H

enum pp_version {
	PP_NONE,	/* no header: the backend sees svcproxy (default) */
	PP_V1,		/* the text line */
	PP_V2,		/* the binary header */
};

/*
 * Accepting a header from a client (svcproxy.io/accept-proxy-protocol):
 * the most a header may be (v2 with room for TLVs such as a cloud load
 * balancer's endpoint id; v1 is at most 107 whatever this says), and
 * how long a client has to send it: the specification asks for at
 * least 3 s, to cover a TCP retransmit.
 */
#define PP_ACCEPT_MAX		512
#define PP_DEFAULT_ACCEPT_TIMEOUT_MS	3000

#endif
