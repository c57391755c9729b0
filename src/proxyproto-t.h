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

#endif
