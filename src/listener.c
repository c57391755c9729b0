#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <netinet/in.h>
#include <netinet/ip.h>
#include <sys/socket.h>

#include "listener.h"
#include "log.h"

#ifndef IP_FREEBIND
#define IP_FREEBIND	15
#endif
#ifndef IPV6_FREEBIND
#define IPV6_FREEBIND	78
#endif

/* One bind target: a snapshot listener and the family it is opened in. */
struct lsn_target {
	const struct snap_lsn	*sl;
	struct sockaddr_storage	 sa;
	socklen_t		 salen;
};

static const char *
lsn_kind_name(enum res_listener_kind k)
{
	switch (k) {
	case RES_LSN_CLUSTER_IP:	return "ClusterIP";
	case RES_LSN_EXTERNAL_IP:	return "externalIP";
	case RES_LSN_LOAD_BALANCER:	return "LoadBalancer";
	case RES_LSN_NODE_PORT:		return "NodePort";
	}
	return "?";
}

static void
lsn_err(char *err, size_t len, const struct lsn_target *t, const char *op)
{
	char ip[NETADDR_STRLEN];
	struct ipaddr a;
	uint16_t port;

	ipaddr_from_sockaddr((const struct sockaddr *)&t->sa, &a, &port);
	snprintf(err, len, "Service %s (%s): cannot listen on %s%s%s:%u: "
	    "%s: %s", t->sl->sp->label, lsn_kind_name(t->sl->kind),
	    a.family == AF_INET6 ? "[" : "", ipaddr_format(&a, ip),
	    a.family == AF_INET6 ? "]" : "", port, op, strerror(errno));
}

/*
 * A socket for t with the options every listener gets; reuseport is
 * off for the probe.  Returns the fd, or -1 with err set.
 */
static int
lsn_socket(const struct lsn_target *t, int reuseport, char *err,
    size_t len)
{
	int fd, one = 1, fam = t->sa.ss_family;

	fd = socket(fam, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		lsn_err(err, len, t, "socket");
		return -1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
	    sizeof(one)) == -1 ||
	    (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one,
	    sizeof(one)) == -1) ||
	    (fam == AF_INET && setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one,
	    sizeof(one)) == -1) ||
	    (fam == AF_INET6 && (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY,
	    &one, sizeof(one)) == -1 || setsockopt(fd, IPPROTO_IPV6,
	    IPV6_FREEBIND, &one, sizeof(one)) == -1))) {
		lsn_err(err, len, t, "setsockopt");
		close(fd);
		return -1;
	}
	if (bind(fd, (struct sockaddr *)&t->sa, t->salen) == -1) {
		lsn_err(err, len, t, "bind");
		close(fd);
		return -1;
	}
	return fd;
}

/* Expand the TCP listeners of s (a wildcard becomes v4 and v6). */
static struct lsn_target *
lsn_targets(const struct snap *s, size_t *n)
{
	struct lsn_target	*t;
	struct ipaddr		 any;
	size_t			 i;

	*n = 0;
	if ((t = calloc(s->nlsns * 2 + 1, sizeof(*t))) == NULL)
		return NULL;
	for (i = 0; i < s->nlsns; i++) {
		const struct snap_lsn *sl = &s->lsns[i];

		if (sl->proto != RES_TCP)
			continue;
		if (sl->addr.family != 0) {
			t[*n].sl = sl;
			t[*n].salen = ipaddr_sockaddr(&sl->addr, sl->port,
			    &t[*n].sa);
			(*n)++;
			continue;
		}
		memset(&any, 0, sizeof(any));
		any.family = AF_INET;
		t[*n].sl = sl;
		t[*n].salen = ipaddr_sockaddr(&any, sl->port, &t[*n].sa);
		(*n)++;
		any.family = AF_INET6;
		t[*n].sl = sl;
		t[*n].salen = ipaddr_sockaddr(&any, sl->port, &t[*n].sa);
		(*n)++;
	}
	return t;
}

void
lsn_group_free(struct lsn_group *g)
{
	size_t i;

	for (i = 0; i < g->n; i++)
		if (g->v[i].fd != -1) {
			close(g->v[i].fd);
			g->v[i].fd = -1;
		}
	free(g->v);
	g->v = NULL;
	g->n = 0;
}

/* Is the address free (of other processes' sockets)?  0 or -1. */
static int
lsn_probe(const struct lsn_target *t, char *err, size_t len)
{
	int fd;

	if ((fd = lsn_socket(t, 0, err, len)) == -1)
		return -1;
	close(fd);
	return 0;
}

static void
lsn_fill(struct lsn *l, const struct lsn_target *t, int fd)
{
	struct ipaddr	a;
	uint16_t	port;
	char		ip[NETADDR_STRLEN];

	memset(l, 0, sizeof(*l));
	l->fd = fd;
	l->addr = t->sl->addr;
	l->port = t->sl->port;
	l->proto = t->sl->proto;
	ipaddr_from_sockaddr((const struct sockaddr *)&t->sa, &a, &port);
	snprintf(l->name, sizeof(l->name), "%s%s%s:%u",
	    a.family == AF_INET6 ? "[" : "", ipaddr_format(&a, ip),
	    a.family == AF_INET6 ? "]" : "", port);
}

int
lsn_open_all(const struct snap *s, unsigned nworkers,
    struct lsn_group *groups, char *err, size_t len)
{
	struct lsn_target	*t;
	size_t			 n, i, k, m;
	unsigned		 w;
	int			 fd;

	memset(groups, 0, nworkers * sizeof(*groups));
	if ((t = lsn_targets(s, &n)) == NULL) {
		snprintf(err, len, "out of memory");
		return -1;
	}
	/* Drop a v6 wildcard on a host without IPv6; probe the rest. */
	for (i = 0, m = 0; i < n; i++) {
		if (lsn_probe(&t[i], err, len) == -1) {
			if (t[i].sl->addr.family == 0 &&
			    t[i].sa.ss_family == AF_INET6 &&
			    (errno == EAFNOSUPPORT || errno == EADDRNOTAVAIL)) {
				log_warn("%s", err);
				continue;
			}
			goto fail;
		}
		t[m++] = t[i];
	}
	n = m;
	for (w = 0; w < nworkers; w++) {
		if (n && (groups[w].v = calloc(n, sizeof(*groups[w].v))) ==
		    NULL) {
			snprintf(err, len, "out of memory");
			goto fail;
		}
		for (k = 0; k < n; k++) {
			if ((fd = lsn_socket(&t[k], 1, err, len)) == -1)
				goto fail;
			lsn_fill(&groups[w].v[k], &t[k], fd);
			groups[w].n++;
			if (listen(fd, LSN_BACKLOG) == -1) {
				lsn_err(err, len, &t[k], "listen");
				goto fail;
			}
		}
	}
	free(t);
	return 0;
fail:
	for (w = 0; w < nworkers; w++)
		lsn_group_free(&groups[w]);
	free(t);
	return -1;
}
