#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "probe.h"
#include "proxyproto.h"

static void	 probe_event(struct bufferevent *, short, void *);
static void	 probe_readable(struct bufferevent *, void *);

/* strerror, starting lower case as the reasons in /status do. */
static char *
errno_text(char *buf, size_t len, int err)
{
	snprintf(buf, len, "%s", strerror(err));
	buf[0] = (char)tolower((unsigned char)buf[0]);
	return buf;
}

static void
errno_reason(struct probe *c, int err)
{
	char	 why[PROBE_REASON_MAX];

	probe_finish(c, 0, "%s", errno_text(why, sizeof(why), err));
}

void
probe_finish(struct probe *c, int ok, const char *fmt, ...)
{
	va_list	 ap;

	if (!c->running)
		return;
	va_start(ap, fmt);
	vsnprintf(c->reason, sizeof(c->reason), fmt, ap);
	va_end(ap);
	c->failed = !ok;
	probe_cancel(c);
	/* Last: done may start the next probe on c. */
	c->done(c->arg, ok, c->reason);
}

void
probe_cancel(struct probe *c)
{
	if (!c->running)
		return;
	c->running = 0;
	if (c->fd != -1) {
		event_del(&c->io);
		close(c->fd);
		c->fd = -1;
		return;
	}
	evtimer_del(&c->timer);
	event_del(&c->later);
	if (c->bev != NULL) {
		bufferevent_free(c->bev);
		c->bev = NULL;
	}
}

static void
probe_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct probe	*c = arg;
	char		 d[HC_DURATION_LEN];

	(void)fd;
	(void)what;
	probe_finish(c, 0, "timeout after %s", hc_duration(c->p->timeout_ms,
	    d, sizeof(d)));
}

/* A probe that could not start reports from the loop, as any other. */
static void
probe_start_failed(evutil_socket_t fd, short what, void *arg)
{
	struct probe	*c = arg;

	char		 why[PROBE_REASON_MAX];

	(void)fd;
	(void)what;
	memcpy(why, c->reason, sizeof(why));
	probe_finish(c, 0, "%s", why);
}

static void	 probe_tcp_event(evutil_socket_t, short, void *);

/*
 * A connected tcp probe of a PROXY protocol backend: the header, then
 * a FIN (a reset could overtake the header), as HAProxy's tcp check
 * with check-send-proxy does.  0, or -1 with errno.
 */
static int
probe_tcp_proxy(struct probe *c, int fd)
{
	uint8_t	 hdr[PP_HDR_MAX];
	size_t	 n = probe_proxy_header(c, fd, hdr, sizeof(hdr));
	ssize_t	 w;

	if (n == 0) {
		errno = EINVAL;
		return -1;
	}
	while ((w = send(fd, hdr, n, MSG_NOSIGNAL)) == -1 && errno == EINTR)
		;
	if (w == -1)
		return -1;
	if ((size_t)w != n) {
		errno = EMSGSIZE;	/* never on a fresh socket */
		return -1;
	}
	return 0;
}

/*
 * A tcp check's socket, as HAProxy makes it: with quick ACKs off, the
 * kernel delays the handshake's last ACK, and probe_event resets the
 * connection (SO_LINGER {1, 0}) as soon as the SYN-ACK is in.  On the
 * wire: SYN, SYN-ACK, RST.  The backend's kernel never completes the
 * connection, so its application never accepts it, and neither side
 * keeps a TIME_WAIT.  Where TCP_QUICKACK is missing, the check still
 * works, with the handshake completed and reset.
 */
static int
probe_tcp_socket(int family)
{
	int fd;

	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
#ifdef TCP_QUICKACK
	{
		int	 zero = 0;

		/* Failing only costs the ACK we meant to save. */
		(void)setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &zero,
		    sizeof(zero));
	}
#endif
	return fd;
}

/*
 * A tcp probe: the socket and one event, for the connect's end and the
 * deadline at once.  No bufferevent, buffers or second timer: a tcp
 * check is most of the checks, and what it costs beyond the kernel's
 * handshake is this.  0, or -1 with errno.
 */
static int
probe_tcp_start(struct probe *c, const struct sockaddr *sa, socklen_t salen,
    const struct timeval *tv)
{
	int save;

	if ((c->fd = probe_tcp_socket(sa->sa_family)) == -1)
		return -1;
	if (connect(c->fd, sa, salen) == -1 && errno != EINPROGRESS) {
		save = errno;
		close(c->fd);
		c->fd = -1;
		errno = save;
		return -1;
	}
	/* Even a connect done at once reports through the loop. */
	event_assign(&c->io, c->base, c->fd, EV_WRITE, probe_tcp_event, c);
	event_add(&c->io, tv);
	return 0;
}

static void
probe_tcp_event(evutil_socket_t fd, short what, void *arg)
{
	struct probe	*c = arg;
	struct linger	 l = { 1, 0 };
	socklen_t	 len = sizeof(int);
	int		 err = 0;

	if (what & EV_TIMEOUT) {
		probe_timeout(fd, what, c);
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err != 0) {
		errno_reason(c, err);
		return;
	}
	c->connected = 1;
	if (c->p->proxy != 0) {
		if (probe_tcp_proxy(c, fd) == -1) {
			errno_reason(c, errno);
			return;
		}
		probe_finish(c, 1, "connected");
		return;
	}
	/* Close with a RST, not a FIN: no TIME_WAIT, no final ACK. */
	(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	probe_finish(c, 1, "connected");
}

static void	 probe_tls_proxy_event(evutil_socket_t, short, void *);

/*
 * An https check of a PROXY protocol backend: the header must come
 * before TLS, so the TCP connect is ours (as a tcp probe's, without its
 * reset), the header goes out when it completes, and only then does
 * the TLS bufferevent take the socket and start its handshake.
 * 0, or -1 with errno.
 */
static int
probe_tls_proxy_start(struct probe *c, const struct sockaddr *sa,
    socklen_t salen, const struct timeval *tv)
{
	int save;

	c->fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (c->fd == -1)
		return -1;
	if (connect(c->fd, sa, salen) == -1 && errno != EINPROGRESS) {
		save = errno;
		close(c->fd);
		c->fd = -1;
		errno = save;
		return -1;
	}
	evutil_gettimeofday(&c->started, NULL);
	event_assign(&c->io, c->base, c->fd, EV_WRITE, probe_tls_proxy_event,
	    c);
	event_add(&c->io, tv);
	return 0;
}

/* The TCP connect of probe_tls_proxy_start ended. */
static void
probe_tls_proxy_event(evutil_socket_t fd, short what, void *arg)
{
	struct probe	*c = arg;
	struct timeval	 now, used, left, all;
	socklen_t	 len = sizeof(int);
	int		 err = 0;

	if (what & EV_TIMEOUT) {
		probe_timeout(fd, what, c);
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err != 0 || probe_tcp_proxy(c, fd) == -1) {
		errno_reason(c, err != 0 ? err : errno);
		return;
	}
	/* What is left of the whole probe's time, for TLS and HTTP. */
	evutil_gettimeofday(&now, NULL);
	evutil_timersub(&now, &c->started, &used);
	all.tv_sec = c->p->timeout_ms / 1000;
	all.tv_usec = (c->p->timeout_ms % 1000) * 1000;
	if (evutil_timercmp(&used, &all, >=))
		evutil_timerclear(&left);
	else
		evutil_timersub(&all, &used, &left);
	evtimer_assign(&c->timer, c->base, probe_timeout, c);
	evtimer_assign(&c->later, c->base, probe_start_failed, c);
	if ((c->bev = probe_tls_bev(c)) == NULL) {
		char why[PROBE_REASON_MAX];

		memcpy(why, c->reason, sizeof(why));
		probe_finish(c, 0, "%s", why[0] != '\0' ? why :
		    "cannot create a TLS session");
		return;
	}
	bufferevent_setcb(c->bev, probe_readable, NULL, probe_event, c);
	if (bufferevent_setfd(c->bev, fd) == -1) {
		bufferevent_free(c->bev);
		c->bev = NULL;
		probe_finish(c, 0, "cannot start TLS");	/* closes fd */
		return;
	}
	/* The socket is the bufferevent's from here (close on free). */
	c->fd = -1;
	evtimer_add(&c->timer, &left);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

static void
target_name(struct probe *c, const struct sockaddr *sa, socklen_t salen)
{
	(void)salen;
	ipaddr_format_sockaddr(sa, c->target, sizeof(c->target));
}

int
probe_start(struct probe *c, struct event_base *base,
    const struct sockaddr *sa, socklen_t salen,
    const struct probe_params *p, probe_done_fn *done, void *arg)
{
	struct timeval	 tv;

	c->base = base;
	c->p = p;
	c->done = done;
	c->arg = arg;
	c->bev = NULL;
	c->reason[0] = '\0';
	c->connected = 0;
	c->failed = 0;
	c->running = 1;
	c->fd = -1;
	tv.tv_sec = p->timeout_ms / 1000;
	tv.tv_usec = (p->timeout_ms % 1000) * 1000;
	if (p->kind == HC_TCP && probe_tcp_start(c, sa, salen, &tv) == 0)
		return 0;
	if (p->kind == HC_HTTPS && p->proxy != 0) {
		target_name(c, sa, salen);
		if (probe_tls_proxy_start(c, sa, salen, &tv) == 0)
			return 0;
	}
	/* http(s), and a tcp probe that failed to start. */
	evtimer_assign(&c->timer, base, probe_timeout, c);
	evtimer_assign(&c->later, base, probe_start_failed, c);
	if (p->kind == HC_TCP || (p->kind == HC_HTTPS && p->proxy != 0))
		goto fail;
	target_name(c, sa, salen);
	evtimer_add(&c->timer, &tv);

	if (p->kind == HC_HTTPS)
		c->bev = probe_tls_bev(c);
	else
		c->bev = bufferevent_socket_new(base, -1,
		    BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL)
		goto fail;
	bufferevent_setcb(c->bev, probe_readable, NULL, probe_event, c);
	if (bufferevent_socket_connect(c->bev, sa, (int)salen) == -1)
		goto fail;
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	return 0;
fail:
	if (c->reason[0] == '\0')
		errno_text(c->reason, sizeof(c->reason), errno != 0 ? errno :
		    EIO);
	c->failed = 1;
	if (c->bev != NULL) {
		bufferevent_free(c->bev);
		c->bev = NULL;
	}
	event_active(&c->later, EV_TIMEOUT, 1);
	return 0;
}

/* The status line, if it is all here: finish; 1 when finished. */
static int
probe_http_verdict(struct probe *c)
{
	char	 why[PROBE_REASON_MAX];
	int	 ok;

	if (!probe_http_read(c, &ok, why, sizeof(why)))
		return 0;
	probe_finish(c, ok, "%s", why);
	return 1;
}

static void
probe_readable(struct bufferevent *bev, void *arg)
{
	struct probe	*c = arg;

	(void)bev;
	/* Only http(s) reads: a tcp probe ends as soon as it connects. */
	probe_http_verdict(c);
}

static void
probe_event(struct bufferevent *bev, short what, void *arg)
{
	struct probe	*c = arg;
	int		 err = EVUTIL_SOCKET_ERROR();

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		c->connected = 1;
		if (probe_http_send(c) == -1)
			probe_finish(c, 0, "cannot queue the request");
		return;
	}
	/* A response that arrived before the close or reset counts. */
	if (c->connected && probe_http_verdict(c))
		return;
	if (what & BEV_EVENT_EOF) {
		probe_finish(c, 0, "connection closed before the status line");
		return;
	}
	if (c->p->kind == HC_HTTPS && probe_tls_error(c)) {
		char	 why[PROBE_REASON_MAX];

		memcpy(why, c->reason, sizeof(why));
		probe_finish(c, 0, "%s", why);
		return;
	}
	errno_reason(c, err != 0 ? err : EIO);
}
