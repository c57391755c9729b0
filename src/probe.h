/*
 * probe: one active health probe of one endpoint, on an event loop.
 *
 * A probe connects (tcp: SYN, SYN-ACK, then a RST, as HAProxy's check
 * does, so the backend never accepts), also sends a request and reads
 * the status line (http), or does that over TLS through libevent's
 * bufferevent_openssl (https).  It never blocks: every step is an
 * event on the caller's event_base, and one timer bounds the whole
 * probe, so a probe that times out costs no more than its timeout.
 * Whatever happens, done is called exactly once (never from inside
 * probe_start), with a pass or a failure and a short reason fit for
 * /status and the log: "connection refused", "timeout after 2s",
 * "HTTP 503", "TLS handshake failed: certificate verify failed".
 *
 * For a PROXY protocol backend (params' proxy) every kind sends the
 * header first: tcp completes the handshake, sends it and closes with
 * a FIN; http puts it ahead of the request; https connects by itself,
 * sends it, and only then lets TLS take the socket.
 *
 * The caller owns struct probe (the health table embeds one per
 * checked endpoint) and the params, which must outlive the probe; the
 * probe owns its socket (tcp, and https with a PROXY header until TLS
 * starts) or bufferevent (http, https) from probe_start until done or
 * probe_cancel.  One event_base, one thread.
 */
#ifndef SVCPROXY_PROBE_H
#define SVCPROXY_PROBE_H

#include <stddef.h>
#include <stdint.h>

#include <sys/socket.h>

#include <event2/event.h>
#include <event2/event_struct.h>

#include "health-t.h"
#include "health_state.h"
#include "netaddr.h"

#define PROBE_REASON_MAX	HC_REASON_MAX
#define PROBE_HTTP_REQ_MAX	2048	/* method, path and host */

/* How to probe; fixed while any probe uses it. */
struct probe_params {
	enum hc_kind		 kind;
	uint32_t		 timeout_ms;
	const char		*method;	/* http(s); owner: caller */
	const char		*path;		/* http(s); owner: caller */
	const char		*host;		/* http(s); NULL: the address */
	struct hc_status_set	 expect;	/* http(s) */
	const char		*sni;		/* https; NULL: none */
	void			*tls_ctx;	/* https: an SSL_CTX from
						   probe_tls_ctx_new(); caller
						   owns it */
	const char		*tls_err;	/* why tls_ctx is NULL */
	uint8_t			 proxy;		/* enum pp_version: a PROXY
						   header first (tcp, http) */
};

typedef void	 probe_done_fn(void *arg, int ok, const char *reason);

struct probe {
	struct event_base	*base;		/* borrowed */
	const struct probe_params *p;		/* borrowed */
	struct bufferevent	*bev;		/* http(s): owned while
						   running */
	int			 fd;		/* tcp: owned while running,
						   with io; else -1 */
	struct event		 io;		/* tcp: connect's end or the
						   deadline */
	struct event		 timer;		/* whole-probe deadline */
	struct event		 later;		/* reports a failure to start
						   from the loop, not inline */
	probe_done_fn		*done;
	void			*arg;
	char			 target[NETADDR_HOSTPORTLEN]; /* "127.0.0.1:80",
						   for Host */
	char			 reason[PROBE_REASON_MAX];
	struct timeval		 started;	/* https with a PROXY header:
						   the deadline's start */
	unsigned		 running:1;
	unsigned		 connected:1;	/* TCP (and TLS) is up */
	unsigned		 failed:1;	/* reason holds a failure */
};

/*
 * Start probing the endpoint at sa for p, calling done(arg, ...) once
 * from the loop when it ends.  c must not be running.  Returns 0; a
 * probe that cannot even start (no socket: out of fds) still reports
 * through done, as a failure with the reason.
 */
int		 probe_start(struct probe *c, struct event_base *,
		    const struct sockaddr *sa, socklen_t salen,
		    const struct probe_params *p, probe_done_fn *done,
		    void *arg);
/* Stop a running probe without calling done; idle c is fine. */
void		 probe_cancel(struct probe *c);
/* Finish c with a pass or a failure: done is called. */
void		 probe_finish(struct probe *c, int ok, const char *fmt, ...)
		    __attribute__((format(printf, 3, 4)));

/*
 * probe_proxy.c: the PROXY header c's params ask for, for its connected
 * socket fd: v2 LOCAL, or v1 with fd's own addresses (section 2.1 of
 * HAProxy's doc/proxy-protocol.txt), into buf.  Its length; 0: none is
 * asked for (or len is short: PP_HDR_MAX never is).
 */
size_t		 probe_proxy_header(const struct probe *c, int fd, void *buf,
		    size_t len);
/* probe_http.c: the request, into the bufferevent's output. */
int		 probe_http_send(struct probe *c);
/*
 * Read what arrived: 1 with the verdict in *ok and why (the reason),
 * or 0 when the status line is not complete yet.  probe.c finishes;
 * the kinds' files never call back into it.
 */
int		 probe_http_read(struct probe *c, int *ok, char *why,
		    size_t len);

/*
 * probe_tls.c (with OpenSSL): a client context verifying the server
 * against the CA certificates in ca_file (NULL: no verification).
 * Reads the file: call it off the main thread.  NULL with err.
 */
void		*probe_tls_ctx_new(const char *ca_file, char *err,
		    size_t errlen);
void		 probe_tls_ctx_free(void *ctx);
/* A bufferevent doing TLS over a new socket; NULL with errno set. */
struct bufferevent *probe_tls_bev(struct probe *c);
/* Why the TLS layer failed, into c->reason; 0 when it did not. */
int		 probe_tls_error(struct probe *c);

#endif
