/*
 * The cluster DNS server (dns.h): evdns over UDP, a small TCP server of
 * its own, both answering through answer_records() from the zone.
 */
#include "config.h"

#include <sys/eventfd.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <event2/dns_struct.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "dns.h"
#include "dns_zone.h"

#define DNS_CLASS_IN		1
#define DNS_FLAG_QR		0x8000
#define DNS_FLAG_AA		0x0400
#define DNS_FLAG_TC		0x0200
#define DNS_FLAG_RD		0x0100
#define DNS_R_FORMERR		1
#define DNS_TCP_MSG_MAX		512	/* a question; longer is closed */

struct dns_tcp {
	struct dns_srv		*srv;
	struct bufferevent	*bev;		/* owned */
	TAILQ_ENTRY(dns_tcp)	 entry;
};

struct dns_srv {
	pthread_t		 thr;
	int			 started;
	struct event_base	*base;		/* owned; the DNS thread's */
	int			 udp_fd;	/* owned by port once started */
	int			 tcp_fd;	/* owned by lsn once started */
	int			 stop_fd;	/* eventfd, owned */
	struct event		*stop_ev;	/* owned */
	struct evdns_server_port *port;		/* owned */
	struct evconnlistener	*lsn;		/* owned */
	_Atomic(struct dns_zone *) next;	/* a reference, or NULL */
	struct dns_zone		*cur;		/* DNS thread's reference */
	uint32_t		 rot;		/* rotation of answers */
	TAILQ_HEAD(, dns_tcp)	 conns;		/* owned */
	size_t			 nconns;
	struct dns_stats	*st;		/* the caller's */
};

/* ---- shared by UDP and TCP ---- */

/* The zone to answer from: a newer one adopted first.  DNS thread. */
static const struct dns_zone *
zone(struct dns_srv *d)
{
	struct dns_zone	*z;

	if (atomic_load_explicit(&d->next, memory_order_relaxed) != NULL &&
	    (z = atomic_exchange(&d->next, NULL)) != NULL) {
		dns_zone_unref(d->cur);
		d->cur = z;
	}
	return d->cur;
}

static void
count(struct dns_srv *d, uint16_t qtype, int rcode)
{
	enum dns_qt	 t;

	switch (qtype) {
	case DNS_T_A:		t = DNS_QT_A; break;
	case DNS_T_AAAA:	t = DNS_QT_AAAA; break;
	case DNS_T_SRV:		t = DNS_QT_SRV; break;
	case DNS_T_PTR:		t = DNS_QT_PTR; break;
	case DNS_T_TXT:		t = DNS_QT_TXT; break;
	case DNS_T_CNAME:	t = DNS_QT_CNAME; break;
	default:		t = DNS_QT_OTHER; break;
	}
	if (rcode < 0 || rcode >= DNS_RC_N)
		rcode = DNS_R_SERVFAIL;
	atomic_fetch_add_explicit(&d->st->q[t][rcode], 1, memory_order_relaxed);
}

/*
 * Look the question up; a non-IN class is REFUSED (the zone is IN only).
 * The first record to send is rotated per question (*start).
 */
static void
lookup(struct dns_srv *d, const char *name, uint16_t qtype, uint16_t qclass,
    struct dns_answer *a, size_t *start)
{
	if (qclass != DNS_CLASS_IN) {
		memset(a, 0, sizeof(*a));
		a->rcode = DNS_R_REFUSED;
	} else
		dns_zone_lookup(zone(d), name, qtype, a);
	*start = a->nrrs > 1 ? d->rot++ % a->nrrs : 0;
}

/* ---- UDP: evdns ---- */

/*
 * One evdns question.  Records are added while the message stays
 * within 512 bytes, counted as evdns writes it: each record's owner is
 * the question's name, which evdns compresses to a two-byte pointer
 * (its label table holds the question), and rdata goes as given.
 * Counting here matters: evdns 2.1 itself would cut an overlong message
 * at 512 bytes with record counts that no longer match it.
 */
static void
udp_question(struct evdns_server_request *req, void *arg)
{
	struct dns_srv			*d = arg;
	const struct evdns_server_question *q;
	struct dns_answer		 a;
	size_t				 start, i, size, one;
	int				 flags;

	if (req->nquestions != 1) {
		atomic_fetch_add_explicit(&d->st->dropped, 1,
		    memory_order_relaxed);
		evdns_server_request_respond(req, DNS_R_FORMERR);
		return;
	}
	q = req->questions[0];
	lookup(d, q->name, (uint16_t)q->type, (uint16_t)q->dns_question_class,
	    &a, &start);
	flags = DNS_FLAG_AA | (req->flags & DNS_FLAG_RD);
	size = 12 + strlen(q->name) + 2 + 4;
	for (i = 0; i < a.nrrs; i++) {
		const struct dns_rr *r = &a.rrs[(start + i) % a.nrrs];

		one = 2 + 10 + r->rdlen;
		if (size + one > DNS_UDP_MAX) {
			flags |= DNS_FLAG_TC;
			atomic_fetch_add_explicit(&d->st->truncated, 1,
			    memory_order_relaxed);
			break;
		}
		size += one;
		if (evdns_server_request_add_reply(req, EVDNS_ANSWER_SECTION,
		    q->name, r->type, DNS_CLASS_IN, (int)a.ttl, r->rdlen, 0,
		    (const char *)r->rdata) == -1)
			break;
	}
	if (a.soa != NULL && (flags & DNS_FLAG_TC) == 0 && size +
	    strlen(a.soa_name) + 2 + 10 + a.soa->rdlen <= DNS_UDP_MAX)
		(void)evdns_server_request_add_reply(req,
		    EVDNS_AUTHORITY_SECTION, a.soa_name, DNS_T_SOA,
		    DNS_CLASS_IN, (int)a.ttl, a.soa->rdlen, 0,
		    (const char *)a.soa->rdata);
	evdns_server_request_set_flags(req, flags);
	count(d, (uint16_t)q->type, a.rcode);
	evdns_server_request_respond(req, a.rcode);
}

/* ---- TCP: RFC 7766 framing, our own parser and encoder ---- */

static void
tcp_close(struct dns_tcp *t)
{
	TAILQ_REMOVE(&t->srv->conns, t, entry);
	t->srv->nconns--;
	bufferevent_free(t->bev);
	free(t);
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/*
 * One query message m[0..len) to its answer, appended to out with its
 * length prefix.  The question is copied as sent; each answer's owner
 * is a pointer to it (offset 12).  0, or -1 when m is not a query one
 * can answer (the connection is then closed).
 */
static int
tcp_answer(struct dns_srv *d, const uint8_t *m, size_t len,
    struct evbuffer *out)
{
	uint8_t			 msg[65535 + 2], *p;
	char			 name[DNS_NAME_MAX + 1];
	struct dns_answer	 a;
	size_t			 o = 12, n = 0, start, i, qend, nans = 0;
	uint16_t		 nsoa = 0;
	uint16_t		 qtype, qclass, flags;
	int			 rcode;

	if (len < 12 + 5 || (m[2] & 0x80) != 0 || m[4] != 0 || m[5] != 1)
		return -1;
	while (o < len && m[o] != 0) {
		if ((m[o] & 0xc0) != 0 || o + 1 + m[o] >= len ||
		    n + m[o] + 1 > DNS_NAME_MAX)
			return -1;	/* compression in a question */
		if (n > 0)
			name[n++] = '.';
		memcpy(name + n, m + o + 1, m[o]);
		n += m[o];
		o += 1 + m[o];
	}
	name[n] = '\0';
	if (o + 5 > len)
		return -1;
	qtype = (uint16_t)(m[o + 1] << 8 | m[o + 2]);
	qclass = (uint16_t)(m[o + 3] << 8 | m[o + 4]);
	qend = o + 5;
	if (((m[2] >> 3) & 0xf) != 0) {		/* not QUERY */
		memset(&a, 0, sizeof(a));
		a.rcode = DNS_R_NOTIMP;
		start = 0;
	} else if (n == 0) {
		memset(&a, 0, sizeof(a));
		a.rcode = DNS_R_REFUSED;	/* the root */
		start = 0;
	} else
		lookup(d, name, qtype, qclass, &a, &start);
	p = msg + 2;
	memcpy(p, m, qend);
	flags = DNS_FLAG_QR | DNS_FLAG_AA | (uint16_t)((m[2] << 8) &
	    DNS_FLAG_RD) | (uint16_t)a.rcode;
	o = qend;
	for (i = 0; i < a.nrrs; i++) {
		const struct dns_rr *r = &a.rrs[(start + i) % a.nrrs];

		if (o + 12 + r->rdlen > sizeof(msg) - 2) {
			flags |= DNS_FLAG_TC;
			break;
		}
		put16(p + o, 0xc000 | 12);
		put16(p + o + 2, r->type);
		put16(p + o + 4, DNS_CLASS_IN);
		put16(p + o + 6, (uint16_t)(a.ttl >> 16));
		put16(p + o + 8, (uint16_t)a.ttl);
		put16(p + o + 10, r->rdlen);
		memcpy(p + o + 12, r->rdata, r->rdlen);
		o += 12 + r->rdlen;
		nans++;
	}
	if (a.soa != NULL && (n = dns_name_wire(a.soa_name, p + o,
	    sizeof(msg) - 2 - o)) > 0 && o + n + 10 + a.soa->rdlen <=
	    sizeof(msg) - 2) {
		o += n;
		put16(p + o, DNS_T_SOA);
		put16(p + o + 2, DNS_CLASS_IN);
		put16(p + o + 4, (uint16_t)(a.ttl >> 16));
		put16(p + o + 6, (uint16_t)a.ttl);
		put16(p + o + 8, a.soa->rdlen);
		memcpy(p + o + 10, a.soa->rdata, a.soa->rdlen);
		o += 10 + a.soa->rdlen;
		nsoa = 1;
	}
	put16(p + 2, flags);
	put16(p + 6, (uint16_t)nans);
	put16(p + 8, nsoa);
	put16(p + 10, 0);
	put16(msg, (uint16_t)o);
	rcode = a.rcode;
	count(d, qtype, rcode);
	atomic_fetch_add_explicit(&d->st->tcp, 1, memory_order_relaxed);
	return evbuffer_add(out, msg, o + 2);
}

static void
tcp_read(struct bufferevent *bev, void *arg)
{
	struct dns_tcp	*t = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);
	uint8_t		 hdr[2], m[DNS_TCP_MSG_MAX];
	size_t		 len;

	for (;;) {
		if (evbuffer_copyout(in, hdr, 2) != 2)
			return;
		len = (size_t)hdr[0] << 8 | hdr[1];
		if (len > sizeof(m)) {
			atomic_fetch_add_explicit(&t->srv->st->dropped, 1,
			    memory_order_relaxed);
			tcp_close(t);
			return;
		}
		if (evbuffer_get_length(in) < 2 + len)
			return;
		evbuffer_drain(in, 2);
		evbuffer_remove(in, m, len);
		if (tcp_answer(t->srv, m, len,
		    bufferevent_get_output(bev)) == -1) {
			atomic_fetch_add_explicit(&t->srv->st->dropped, 1,
			    memory_order_relaxed);
			tcp_close(t);
			return;
		}
	}
}

/* The output written after the client's EOF: done. */
static void
tcp_written(struct bufferevent *bev, void *arg)
{
	(void)bev;
	tcp_close(arg);
}

/*
 * EOF, an error or the idle timeout.  A client may send its question
 * and shut its side at once: on EOF, answers still queued are written
 * first (within the same idle timeout).
 */
static void
tcp_event(struct bufferevent *bev, short what, void *arg)
{
	if ((what & BEV_EVENT_EOF) != 0 &&
	    evbuffer_get_length(bufferevent_get_output(bev)) > 0) {
		bufferevent_disable(bev, EV_READ);
		bufferevent_setcb(bev, NULL, tcp_written, tcp_event, arg);
		return;
	}
	tcp_close(arg);
}

static void
tcp_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct dns_srv		*d = arg;
	struct dns_tcp		*t;
	struct timeval		 tv = { DNS_TCP_IDLE_SEC, 0 };

	(void)l;
	(void)sa;
	(void)salen;
	if (d->nconns >= DNS_TCP_CONNS_MAX) {
		/* The oldest goes: a client that idles loses its turn. */
		tcp_close(TAILQ_FIRST(&d->conns));
	}
	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    (t->bev = bufferevent_socket_new(d->base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		free(t);
		close(fd);
		return;
	}
	t->srv = d;
	TAILQ_INSERT_TAIL(&d->conns, t, entry);
	d->nconns++;
	bufferevent_setcb(t->bev, tcp_read, NULL, tcp_event, t);
	bufferevent_set_timeouts(t->bev, &tv, &tv);
	bufferevent_enable(t->bev, EV_READ | EV_WRITE);
}

/* ---- the thread ---- */

static void
stop_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns_srv	*d = arg;

	(void)fd;
	(void)what;
	event_base_loopbreak(d->base);
}

static void *
dns_thread(void *arg)
{
	struct dns_srv	*d = arg;

	event_base_dispatch(d->base);
	return NULL;
}

static int
sock_open(const struct ipaddr *ip, uint16_t port, int type, char *err,
    size_t errlen)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sl;
	int			 fd, one = 1;

	sl = ipaddr_sockaddr(ip, port, &ss);
	if ((fd = socket(ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		goto fail;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
		    sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) == -1 ||
	    (type == SOCK_STREAM && listen(fd, 128) == -1))
		goto fail;
	return fd;
fail:
	snprintf(err, errlen, "dns: cannot listen on %s (%s): %s",
	    ipaddr_format_hostport(ip, port, (char[NETADDR_HOSTPORTLEN]){ 0 },
	    NETADDR_HOSTPORTLEN), type == SOCK_STREAM ? "tcp" : "udp",
	    strerror(errno));
	if (fd != -1)
		close(fd);
	return -1;
}

struct dns_srv *
dns_srv_new(const struct ipaddr *ip, uint16_t port, struct dns_stats *st,
    char *err, size_t errlen)
{
	struct dns_srv	*d;

	if ((d = calloc(1, sizeof(*d))) == NULL) {
		snprintf(err, errlen, "dns: out of memory");
		return NULL;
	}
	d->udp_fd = d->tcp_fd = d->stop_fd = -1;
	d->st = st;
	TAILQ_INIT(&d->conns);
	atomic_init(&d->next, NULL);
	if ((d->udp_fd = sock_open(ip, port, SOCK_DGRAM, err, errlen)) ==
	    -1 || (d->tcp_fd = sock_open(ip, port, SOCK_STREAM, err,
	    errlen)) == -1) {
		dns_srv_free(d);
		return NULL;
	}
	if ((d->base = event_base_new()) == NULL ||
	    (d->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1 ||
	    (d->stop_ev = event_new(d->base, d->stop_fd, EV_READ, stop_cb,
	    d)) == NULL || event_add(d->stop_ev, NULL) == -1 ||
	    (d->port = evdns_add_server_port_with_base(d->base, d->udp_fd, 0,
	    udp_question, d)) == NULL) {
		snprintf(err, errlen, "dns: cannot set up its event loop");
		dns_srv_free(d);
		return NULL;
	}
	d->udp_fd = -1;		/* the port's now */
	if ((d->lsn = evconnlistener_new(d->base, tcp_accept, d,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0,
	    d->tcp_fd)) == NULL) {
		snprintf(err, errlen, "dns: cannot set up its TCP listener");
		dns_srv_free(d);
		return NULL;
	}
	d->tcp_fd = -1;
	return d;
}

int
dns_srv_start(struct dns_srv *d, struct dns_zone *z, char *err,
    size_t errlen)
{
	int	 rc;

	d->cur = z;
	if ((rc = pthread_create(&d->thr, NULL, dns_thread, d)) != 0) {
		snprintf(err, errlen, "dns: cannot start a thread: %s",
		    strerror(rc));
		return -1;
	}
	d->started = 1;
	return 0;
}

void
dns_srv_set_zone(struct dns_srv *d, struct dns_zone *z)
{
	dns_zone_unref(atomic_exchange(&d->next, z));	/* never adopted */
}

void
dns_srv_free(struct dns_srv *d)
{
	uint64_t	 one = 1;

	if (d == NULL)
		return;
	if (d->started) {
		(void)!write(d->stop_fd, &one, sizeof(one));
		pthread_join(d->thr, NULL);
	}
	while (!TAILQ_EMPTY(&d->conns))
		tcp_close(TAILQ_FIRST(&d->conns));
	if (d->lsn != NULL)
		evconnlistener_free(d->lsn);
	if (d->port != NULL)
		evdns_close_server_port(d->port);
	if (d->stop_ev != NULL)
		event_free(d->stop_ev);
	if (d->base != NULL)
		event_base_free(d->base);
	if (d->stop_fd != -1)
		close(d->stop_fd);
	if (d->udp_fd != -1)
		close(d->udp_fd);
	if (d->tcp_fd != -1)
		close(d->tcp_fd);
	dns_zone_unref(atomic_exchange(&d->next, NULL));
	dns_zone_unref(d->cur);
	free(d);
}
