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

/*
 * A tcp check's socket, as HAProxy makes it: with quick ACKs off, the
 * kernel delays the handshake's last ACK, and probe_event resets the
 * connection (SO_LINGER {1, 0}) as soon as the SYN-ACK is in.  On the
 * wire: SYN, SYN-ACK, RST.  The backend's kernel never completes the
 * connection, so its application never accepts it, and neither side
 * keeps a TIME_WAIT.  Where TCP_QUICKACK is missing, the check still
 * works, with the handshake completed and reset.
 */
static struct bufferevent *
probe_tcp_bev(struct probe *c, int family)
{
	struct bufferevent	*bev;
	int			 fd, save;

	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return NULL;
#ifdef TCP_QUICKACK
	{
		int	 zero = 0;

		/* Failing only costs the ACK we meant to save. */
		(void)setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &zero,
		    sizeof(zero));
	}
#endif
	bev = bufferevent_socket_new(c->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		save = errno;
		close(fd);
		errno = save;
	}
	return bev;
}

/* Close with a RST, not a FIN: no TIME_WAIT, no final ACK. */
static void
probe_nolinger(struct probe *c)
{
	struct linger	 l = { 1, 0 };
	evutil_socket_t	 fd;

	if (c->bev == NULL || (fd = bufferevent_getfd(c->bev)) < 0)
		return;
	(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
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
	target_name(c, sa, salen);
	evtimer_assign(&c->timer, base, probe_timeout, c);
	evtimer_assign(&c->later, base, probe_start_failed, c);
	tv.tv_sec = p->timeout_ms / 1000;
	tv.tv_usec = (p->timeout_ms % 1000) * 1000;
	evtimer_add(&c->timer, &tv);

	if (p->kind == HC_HTTPS)
		c->bev = probe_tls_bev(c);
	else if (p->kind == HC_TCP)
		c->bev = probe_tcp_bev(c, sa->sa_family);
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
		if (c->p->kind == HC_TCP) {
			probe_nolinger(c);
			probe_finish(c, 1, "connected");
		} else if (probe_http_send(c) == -1)
			probe_finish(c, 0, "cannot queue the request");
		return;
	}
	/* Past here only http(s) is connected (a tcp probe has ended).  A
	   response that arrived before the close or reset counts. */
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
