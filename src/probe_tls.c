#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <event2/bufferevent.h>

#include "probe.h"

#ifdef HAVE_OPENSSL
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <event2/bufferevent_ssl.h>

void *
probe_tls_ctx_new(const char *ca_file, char *err, size_t errlen)
{
	SSL_CTX		*ctx;

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		snprintf(err, errlen, "cannot create a TLS context");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	if (ca_file == NULL) {
		/* Off by default, as HAProxy's "verify none": a check asks
		   whether the server answers, not who it is. */
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
		return ctx;
	}
	if (SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
		snprintf(err, errlen, "cannot load CA certificates from %s: "
		    "%s", ca_file, ERR_reason_error_string(ERR_get_error()));
		ERR_clear_error();
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	return ctx;
}

void
probe_tls_ctx_free(void *ctx)
{
	SSL_CTX_free(ctx);
}

struct bufferevent *
probe_tls_bev(struct probe *c)
{
	SSL_CTX			*ctx = c->p->tls_ctx;
	SSL			*ssl;
	struct bufferevent	*bev;

	if (ctx == NULL || (ssl = SSL_new(ctx)) == NULL) {
		snprintf(c->reason, sizeof(c->reason), "%s",
		    c->p->tls_err != NULL && ctx == NULL ? c->p->tls_err :
		    "cannot create a TLS session");
		return NULL;
	}
	if (c->p->sni != NULL) {
		SSL_set_tlsext_host_name(ssl, c->p->sni);
		/* With verification on, the certificate must also name
		   the server asked for. */
		if (SSL_CTX_get_verify_mode(ctx) & SSL_VERIFY_PEER)
			SSL_set1_host(ssl, c->p->sni);
	}
	bev = bufferevent_openssl_socket_new(c->base, -1, ssl,
	    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		SSL_free(ssl);
		return NULL;
	}
	/* The status line is all a check reads; a server that then closes
	   without close_notify has still answered. */
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

int
probe_tls_error(struct probe *c)
{
	unsigned long	 e;
	const char	*why;

	if (c->bev == NULL || (e = bufferevent_get_openssl_error(c->bev)) == 0)
		return 0;
	if ((why = ERR_reason_error_string(e)) == NULL)
		why = "unknown error";
	snprintf(c->reason, sizeof(c->reason), "TLS %s: %s",
	    c->connected ? "error" : "handshake failed", why);
	while (bufferevent_get_openssl_error(c->bev) != 0)
		;
	return 1;
}

#else	/* !HAVE_OPENSSL: `svcproxy check` refuses https checks. */

void *
probe_tls_ctx_new(const char *ca_file, char *err, size_t errlen)
{
	(void)ca_file;
	snprintf(err, errlen, "svcproxy was built without OpenSSL");
	return NULL;
}

void
probe_tls_ctx_free(void *ctx)
{
	(void)ctx;
}

struct bufferevent *
probe_tls_bev(struct probe *c)
{
	snprintf(c->reason, sizeof(c->reason),
	    "svcproxy was built without OpenSSL");
	errno = ENOTSUP;
	return NULL;
}

int
probe_tls_error(struct probe *c)
{
	(void)c;
	return 0;
}

#endif
