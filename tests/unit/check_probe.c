/*
 * check_probe: active probes (probe.c, probe_http.c, probe_tls.c)
 * against real loopback servers on the same event loop: pass, refusal,
 * HTTP statuses, garbage, early close, timeouts, out of fds, cancel,
 * and TLS with verification off, on, and against the wrong CA.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "probe.h"
#include "unit.h"

/* What one probe reported. */
struct outcome {
	int		 calls;
	int		 ok;
	char		 reason[PROBE_REASON_MAX];
	int		 inline_call;	/* done ran inside probe_start */
	int		*starting;
};

static void
on_done(void *arg, int ok, const char *reason)
{
	struct outcome	*o = arg;

	o->calls++;
	o->ok = ok;
	o->inline_call |= *o->starting;
	snprintf(o->reason, sizeof(o->reason), "%s", reason);
}

/* A server on 127.0.0.1 answering every connection with reply (NULL:
   close at once; "": accept and say nothing). */
struct server {
	struct evconnlistener	*lsn;
	const char		*reply;
	struct sockaddr_in	 sin;
	int			 accepted;
};

static void
srv_read(struct bufferevent *bev, void *arg)
{
	(void)arg;
	evbuffer_drain(bufferevent_get_input(bev),
	    evbuffer_get_length(bufferevent_get_input(bev)));
}

static void
srv_event(struct bufferevent *bev, short what, void *arg)
{
	(void)arg;
	if (what & BEV_EVENT_CONNECTED)	/* TLS handshake done */
		return;
	bufferevent_free(bev);
}

static void
srv_written(struct bufferevent *bev, void *arg)
{
	(void)arg;
	bufferevent_free(bev);
}

static void
srv_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct server		*s = arg;
	struct bufferevent	*bev;

	(void)sa;
	(void)salen;
	s->accepted++;
	if (s->reply == NULL) {
		close(fd);
		return;
	}
	bev = bufferevent_socket_new(evconnlistener_get_base(l), fd,
	    BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(bev, srv_read, *s->reply ? srv_written : NULL,
	    srv_event, s);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	if (*s->reply)
		bufferevent_write(bev, s->reply, strlen(s->reply));
}

static void
server_start(struct server *s, struct event_base *base, const char *reply)
{
	socklen_t	 len = sizeof(s->sin);

	memset(s, 0, sizeof(*s));
	s->reply = reply;
	s->sin.sin_family = AF_INET;
	s->sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->lsn = evconnlistener_new_bind(base, srv_accept, s,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 16,
	    (struct sockaddr *)&s->sin, sizeof(s->sin));
	ck_assert_ptr_nonnull(s->lsn);
	getsockname(evconnlistener_get_fd(s->lsn), (struct sockaddr *)&s->sin,
	    &len);
}

/* A port on 127.0.0.1 that nothing listens on (bound, never listened). */
static int
dead_port(struct sockaddr_in *sin)
{
	socklen_t	 len = sizeof(*sin);
	int		 fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)sin, sizeof(*sin)), 0);
	getsockname(fd, (struct sockaddr *)sin, &len);
	return fd;
}

static int64_t
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Probe sa with p; run the loop until done (at most 5 s). */
static void
probe(struct event_base *base, const struct sockaddr_in *sin,
    const struct probe_params *p, struct outcome *o)
{
	struct probe	 c;
	int		 starting = 1;
	int64_t		 t0 = now_ms();

	memset(&c, 0, sizeof(c));
	memset(o, 0, sizeof(*o));
	o->starting = &starting;
	ck_assert_int_eq(probe_start(&c, base, (const struct sockaddr *)sin,
	    sizeof(*sin), p, on_done, o), 0);
	starting = 0;
	while (o->calls == 0 && now_ms() - t0 < 5000)
		event_base_loop(base, EVLOOP_ONCE);
	ck_assert_int_eq(o->calls, 1);
	ck_assert_int_eq(o->inline_call, 0);
	ck_assert_int_eq(c.running, 0);
	ck_assert_ptr_null(c.bev);
}

/* Let the servers see the probes' closes (and free their side). */
static void
settle(struct event_base *base)
{
	int	 i;

	for (i = 0; i < 20; i++) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		usleep(2000);
	}
}

static void
params(struct probe_params *p, enum hc_kind kind)
{
	char	 err[128];

	memset(p, 0, sizeof(*p));
	p->kind = kind;
	p->timeout_ms = 2000;
	ck_assert_int_eq(hc_status_parse("200-399", &p->expect, err,
	    sizeof(err)), 0);
}

START_TEST(tcp_pass_and_refused)
{
	struct event_base	*base = event_base_new();
	struct probe_params	 p;
	struct server		 s;
	struct outcome		 o;
	struct sockaddr_in	 dead;
	int			 fd;

	params(&p, HC_TCP);
	server_start(&s, base, "");
	probe(base, &s.sin, &p, &o);
	ck_assert_int_eq(o.ok, 1);
	ck_assert_str_eq(o.reason, "connected");

	fd = dead_port(&dead);
	probe(base, &dead, &p, &o);
	ck_assert_int_eq(o.ok, 0);
	ck_assert_str_eq(o.reason, "connection refused");
	close(fd);
	evconnlistener_free(s.lsn);
	event_base_free(base);
}
END_TEST

/*
 * Sockets in /proc/net/tcp whose remote end is 127.0.0.1:port, in any
 * state: the probe's side of its connections to a server on port.
 */
static int
client_sockets(uint16_t port)
{
	FILE		*f = fopen("/proc/net/tcp", "r");
	char		 line[512], rem[64], want[32];
	int		 n = 0;

	ck_assert_ptr_nonnull(f);
	snprintf(want, sizeof(want), "0100007F:%04X", port);
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "%*s %*s %63s", rem) == 1 &&
		    strcmp(rem, want) == 0)
			n++;
	fclose(f);
	return n;
}

/*
 * A tcp check is SYN, SYN-ACK, RST (HAProxy's): the backend's kernel
 * never completes the connection, so nothing waits in its accept queue,
 * and the probe's side closes with a reset, leaving no socket (no
 * TIME_WAIT, no FIN_WAIT).  The listener here is never accepted from
 * by the test's loop: only the raw socket is looked at.
 *
 * That no socket is left on the probe's side is certain.  That the
 * backend saw no handshake rests on the delayed ACK (40 ms or more)
 * outlasting the time from SYN-ACK to the reset: a machine stalled that
 * long sends the ACK first, so one of several probes left unaccepted
 * is what is required.  The old probe completed every handshake and
 * left each connection in the accept queue.
 */
START_TEST(tcp_check_never_accepted)
{
	struct event_base	*base = event_base_new();
	struct probe_params	 p;
	struct sockaddr_in	 sin;
	struct outcome		 o;
	socklen_t		 len = sizeof(sin);
	int			 lfd, c, i, unaccepted = 0;

	params(&p, HC_TCP);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(lfd, 16), 0);
	getsockname(lfd, (struct sockaddr *)&sin, &len);
	for (i = 0; i < 5; i++) {
		probe(base, &sin, &p, &o);
		ck_assert_int_eq(o.ok, 1);
		ck_assert_str_eq(o.reason, "connected");
		settle(base);	/* the bufferevent's close is deferred */
		ck_assert_int_eq(client_sockets(ntohs(sin.sin_port)), 0);
		c = accept(lfd, NULL, NULL);
		if (c == -1) {
			ck_assert_int_eq(errno, EAGAIN);
			unaccepted++;
		} else
			close(c);
	}
	ck_assert_msg(unaccepted > 0, "every tcp check reached accept()");
	close(lfd);
	event_base_free(base);
}
END_TEST

START_TEST(http_statuses)
{
	static const struct {
		const char	*reply;
		int		 ok;
		const char	*reason;
	} cases[] = {
		{ "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 1,
		    "HTTP 200" },
		{ "HTTP/1.0 302 Found\r\n\r\n", 1, "HTTP 302" },
		{ "HTTP/1.1 503 Service Unavailable\r\n\r\n", 0, "HTTP 503" },
		{ "HTTP/1.1 404 Not Found\r\n\r\n", 0, "HTTP 404" },
		{ "SSH-2.0-OpenSSH_9.2\r\n", 0, "not an HTTP/1.x response" },
		{ NULL, 0, "connection closed before the status line" },
	};
	struct event_base	*base = event_base_new();
	struct probe_params	 p;
	struct server		 s;
	struct outcome		 o;
	size_t			 i;

	params(&p, HC_HTTP);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		server_start(&s, base, cases[i].reply);
		probe(base, &s.sin, &p, &o);
		ck_assert_msg(o.ok == cases[i].ok && strcmp(o.reason,
		    cases[i].reason) == 0, "case %zu: %d %s", i, o.ok,
		    o.reason);
		evconnlistener_free(s.lsn);
	}
	/* The expected set is the caller's. */
	hc_status_parse("503", &p.expect, o.reason, sizeof(o.reason));
	server_start(&s, base, cases[2].reply);
	probe(base, &s.sin, &p, &o);
	ck_assert_int_eq(o.ok, 1);
	evconnlistener_free(s.lsn);
	event_base_free(base);
}
END_TEST

START_TEST(silent_server_times_out)
{
	struct event_base	*base = event_base_new();
	struct probe_params	 p;
	struct server		 s;
	struct outcome		 o;
	int64_t			 t0, took;

	params(&p, HC_HTTP);
	p.timeout_ms = 300;
	server_start(&s, base, "");
	t0 = now_ms();
	probe(base, &s.sin, &p, &o);
	took = now_ms() - t0;
	ck_assert_int_eq(o.ok, 0);
	ck_assert_str_eq(o.reason, "timeout after 300ms");
	/* A timed-out check costs its timeout, not more. */
	ck_assert_msg(took >= 290 && took < 1500, "took %lld ms",
	    (long long)took);
	ck_assert_int_eq(s.accepted, 1);
	settle(base);
	evconnlistener_free(s.lsn);
	event_base_free(base);
}
END_TEST

START_TEST(out_of_fds_reports_from_the_loop)
{
	struct event_base	*base = event_base_new();
	struct probe_params	 p;
	struct outcome		 o;
	struct sockaddr_in	 sin;
	struct rlimit		 rl;
	int			 fd, hold[64], n = 0;

	params(&p, HC_TCP);
	fd = dead_port(&sin);
	/* Check runs each test in its own process: lower its limit and
	   use up what is left. */
	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = 64;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	while (n < 64 && (hold[n] = dup(0)) >= 0)
		n++;
	probe(base, &sin, &p, &o);
	ck_assert_int_eq(o.ok, 0);
	ck_assert_str_eq(o.reason, "too many open files");
	while (n > 0)
		close(hold[--n]);
	close(fd);
	event_base_free(base);
}
END_TEST

START_TEST(cancel_never_reports)
{
	struct event_base	*base = event_base_new();
	struct probe_params	 p;
	struct server		 s;
	struct outcome		 o;
	struct probe		 c;
	int			 starting = 0, i;

	params(&p, HC_HTTP);
	server_start(&s, base, "");
	memset(&c, 0, sizeof(c));
	memset(&o, 0, sizeof(o));
	o.starting = &starting;
	probe_start(&c, base, (struct sockaddr *)&s.sin, sizeof(s.sin), &p,
	    on_done, &o);
	for (i = 0; i < 10; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
	probe_cancel(&c);
	probe_cancel(&c);
	p.timeout_ms = 50;
	for (i = 0; i < 20; i++) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		usleep(5000);
	}
	ck_assert_int_eq(o.calls, 0);
	ck_assert_int_eq(c.running, 0);
	settle(base);
	evconnlistener_free(s.lsn);
	event_base_free(base);
}
END_TEST

START_TEST(kind_names)
{
	ck_assert_int_eq(hc_kind_parse("tcp"), HC_TCP);
	ck_assert_int_eq(hc_kind_parse("http"), HC_HTTP);
	ck_assert_int_eq(hc_kind_parse("https"), HC_HTTPS);
	ck_assert_int_eq(hc_kind_parse("none"), HC_NONE);
	ck_assert_int_eq(hc_kind_parse("HTTP"), -1);
	ck_assert_int_eq(hc_kind_parse(NULL), -1);
	ck_assert_str_eq(hc_kind_name(HC_HTTPS), "https");
}
END_TEST

#ifdef HAVE_OPENSSL
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <event2/bufferevent_ssl.h>

/* A self-signed certificate for name, and its key. */
static X509 *
make_cert(const char *name, EVP_PKEY **key)
{
	X509		*x = X509_new();
	X509_NAME	*n;
	X509_EXTENSION	*ext;
	char		 san[128];

	*key = EVP_EC_gen("P-256");
	ck_assert_ptr_nonnull(*key);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, *key);
	n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)name, -1, -1, 0);
	X509_set_issuer_name(x, n);
	snprintf(san, sizeof(san), "DNS:%s", name);
	ext = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, san);
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	ext = X509V3_EXT_conf_nid(NULL, NULL, NID_basic_constraints,
	    "critical,CA:TRUE");
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	ck_assert_int_gt(X509_sign(x, *key, EVP_sha256()), 0);
	return x;
}

static void
write_pem(const char *path, X509 *x)
{
	FILE	*fp = fopen(path, "w");

	ck_assert_ptr_nonnull(fp);
	PEM_write_X509(fp, x);
	fclose(fp);
}

struct tls_server {
	struct evconnlistener	*lsn;
	SSL_CTX			*ctx;
	struct sockaddr_in	 sin;
};

/* Answers once the request has arrived, as a web server does. */
static void
tls_request(struct bufferevent *bev, void *arg)
{
	static const char	 reply[] = "HTTP/1.1 204 No Content\r\n\r\n";

	srv_read(bev, arg);
	bufferevent_setcb(bev, srv_read, srv_written, srv_event, arg);
	bufferevent_write(bev, reply, sizeof(reply) - 1);
}

static void
tls_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct tls_server	*s = arg;
	struct bufferevent	*bev;

	(void)sa;
	(void)salen;
	bev = bufferevent_openssl_socket_new(evconnlistener_get_base(l), fd,
	    SSL_new(s->ctx), BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(bev, tls_request, NULL, srv_event, s);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

START_TEST(tls_verify_off_on_and_wrong_ca)
{
	struct event_base	*base = event_base_new();
	struct tls_server	 s;
	struct probe_params	 p;
	struct outcome		 o;
	EVP_PKEY		*key, *other_key;
	X509			*cert, *other;
	char			 dir[] = "/tmp/check_probe.XXXXXX";
	char			 ca[64], wrong[64], err[256];
	socklen_t		 len = sizeof(s.sin);

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
	snprintf(wrong, sizeof(wrong), "%s/wrong.pem", dir);
	cert = make_cert("backend.test", &key);
	other = make_cert("backend.test", &other_key);
	write_pem(ca, cert);
	write_pem(wrong, other);

	memset(&s, 0, sizeof(s));
	s.ctx = SSL_CTX_new(TLS_server_method());
	ck_assert_int_eq(SSL_CTX_use_certificate(s.ctx, cert), 1);
	ck_assert_int_eq(SSL_CTX_use_PrivateKey(s.ctx, key), 1);
	s.sin.sin_family = AF_INET;
	s.sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s.lsn = evconnlistener_new_bind(base, tls_accept, &s,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 16,
	    (struct sockaddr *)&s.sin, sizeof(s.sin));
	ck_assert_ptr_nonnull(s.lsn);
	getsockname(evconnlistener_get_fd(s.lsn), (struct sockaddr *)&s.sin,
	    &len);

	/* Verification off (the default): any certificate. */
	params(&p, HC_HTTPS);
	p.tls_ctx = probe_tls_ctx_new(NULL, err, sizeof(err));
	ck_assert_ptr_nonnull(p.tls_ctx);
	probe(base, &s.sin, &p, &o);
	ck_assert_msg(o.ok, "%s", o.reason);
	ck_assert_str_eq(o.reason, "HTTP 204");
	probe_tls_ctx_free(p.tls_ctx);

	/* On, with the right CA and the name it certifies. */
	p.tls_ctx = probe_tls_ctx_new(ca, err, sizeof(err));
	ck_assert_msg(p.tls_ctx != NULL, "%s", err);
	p.sni = "backend.test";
	probe(base, &s.sin, &p, &o);
	ck_assert_msg(o.ok, "%s", o.reason);

	/* The right CA, another name. */
	p.sni = "other.test";
	probe(base, &s.sin, &p, &o);
	ck_assert_int_eq(o.ok, 0);
	ck_assert_str_eq(o.reason,
	    "TLS handshake failed: certificate verify failed");
	probe_tls_ctx_free(p.tls_ctx);

	/* The wrong CA. */
	p.tls_ctx = probe_tls_ctx_new(wrong, err, sizeof(err));
	p.sni = "backend.test";
	probe(base, &s.sin, &p, &o);
	ck_assert_int_eq(o.ok, 0);
	ck_assert_str_eq(o.reason,
	    "TLS handshake failed: certificate verify failed");
	probe_tls_ctx_free(p.tls_ctx);

	/* A CA file that is not one. */
	ck_assert_ptr_null(probe_tls_ctx_new("/dev/null", err, sizeof(err)));
	ck_assert_msg(strstr(err, "/dev/null") != NULL, "%s", err);

	/* TLS to a plain-text server fails the handshake. */
	{
		struct server	 plain;

		server_start(&plain, base, "HTTP/1.1 200 OK\r\n\r\n");
		p.tls_ctx = probe_tls_ctx_new(NULL, err, sizeof(err));
		probe(base, &plain.sin, &p, &o);
		ck_assert_int_eq(o.ok, 0);
		ck_assert_msg(strncmp(o.reason, "TLS handshake failed: ",
		    22) == 0, "%s", o.reason);
		probe_tls_ctx_free(p.tls_ctx);
		evconnlistener_free(plain.lsn);
	}

	unlink(ca);
	unlink(wrong);
	rmdir(dir);
	X509_free(cert);
	X509_free(other);
	EVP_PKEY_free(key);
	EVP_PKEY_free(other_key);
	SSL_CTX_free(s.ctx);
	evconnlistener_free(s.lsn);
	event_base_free(base);
}
END_TEST
#endif

static Suite *
probe_suite(void)
{
	Suite	*s = suite_create("probe");
	TCase	*tc = tcase_create("plain");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, tcp_pass_and_refused);
	tcase_add_test(tc, tcp_check_never_accepted);
	tcase_add_test(tc, http_statuses);
	tcase_add_test(tc, silent_server_times_out);
	tcase_add_test(tc, out_of_fds_reports_from_the_loop);
	tcase_add_test(tc, cancel_never_reports);
	tcase_add_test(tc, kind_names);
#ifdef HAVE_OPENSSL
	tcase_add_test(tc, tls_verify_off_on_and_wrong_ca);
#endif
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(probe_suite());
}
