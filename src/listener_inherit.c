/*
 * listener_inherit: the list of sockets a binary upgrade hands over
 * (LSN_INHERIT_ENV): written by the old process from its bound table,
 * read by the new one, each item checked against the socket it names;
 * the admin socket taken, the unused ones closed.  listener.c adopts
 * what was read when it opens its listeners.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <netinet/in.h>
#include <sys/socket.h>

#include "listener.h"
#include "listener_int.h"
#include "log.h"
#include "proto.h"

#define LSN_INHERIT_MAX	65536	/* sockets one upgrade may pass */

/* An integer socket option of fd, or -1. */
static int
lsn_sockopt(int fd, int opt)
{
	int		v = 0;
	socklen_t	len = sizeof(v);

	if (getsockopt(fd, SOL_SOCKET, opt, &v, &len) == -1)
		return -1;
	return v;
}

/*
 * Is f's fd a socket of f's protocol, listening if TCP, bound to name?
 * Fills f's address.  The type and protocol are checked too, so that a
 * UDP item naming a TCP socket (or the reverse) is not adopted as one.
 */
static int
lsn_inherit_check(struct lsn_inherit_fd *f, const char *name)
{
	char	got[LSN_NAMELEN];
	int	tcp = f->proto == PROTO_TCP;

	if (lsn_sockopt(f->fd, SO_TYPE) != (tcp ? SOCK_STREAM : SOCK_DGRAM) ||
	    lsn_sockopt(f->fd, SO_PROTOCOL) != (tcp ? IPPROTO_TCP :
	    IPPROTO_UDP) || (tcp && lsn_sockopt(f->fd, SO_ACCEPTCONN) != 1))
		return -1;
	f->salen = sizeof(f->sa);
	if (getsockname(f->fd, (struct sockaddr *)&f->sa, &f->salen) == -1 ||
	    (f->sa.ss_family != AF_INET && f->sa.ss_family != AF_INET6))
		return -1;
	lsn_sa_name(&f->sa, got);
	return strcmp(got, name) == 0 ? 0 : -1;
}

/*
 * PROTO of an item: tcp, udp, or admin (a TCP socket).  0, or -1 for
 * anything else.
 */
static int
lsn_inherit_proto(const char *s, struct lsn_inherit_fd *f)
{
	f->admin = strcmp(s, "admin") == 0;
	if (f->admin || strcmp(s, proto_lower(PROTO_TCP)) == 0)
		f->proto = PROTO_TCP;
	else if (strcmp(s, proto_lower(PROTO_UDP)) == 0)
		f->proto = PROTO_UDP;
	else
		return -1;
	return 0;
}

int
lsn_inherit_parse(const char *env, struct lsn_inherit *inh, char *err,
    size_t len)
{
	struct lsn_inherit_fd	 f, *v;
	const char		*p, *end, *c1, *c2;
	char			 item[LSN_NAMELEN + 32], name[LSN_NAMELEN];
	size_t			 ilen;
	long			 fd;
	char			*e;

	memset(inh, 0, sizeof(*inh));
	if (env == NULL || *env == '\0')
		return 0;
	for (p = env; *p != '\0'; p = *end ? end + 1 : end) {
		if ((end = strchr(p, ';')) == NULL)
			end = p + strlen(p);
		if ((ilen = (size_t)(end - p)) == 0)
			continue;
		if (ilen >= sizeof(item) || inh->n >= LSN_INHERIT_MAX)
			goto bad;
		memcpy(item, p, ilen);
		item[ilen] = '\0';
		/* FD:ADDR:PORT:PROTO; ADDR may hold colons ([::1]). */
		if ((c1 = strchr(item, ':')) == NULL ||
		    (c2 = strrchr(item, ':')) == c1)
			goto bad;
		errno = 0;
		fd = strtol(item, &e, 10);
		if (errno || e != c1 || fd < 3 || fd > 1 << 24 ||
		    (size_t)(c2 - c1 - 1) >= sizeof(name))
			goto bad;
		memcpy(name, c1 + 1, (size_t)(c2 - c1 - 1));
		name[c2 - c1 - 1] = '\0';
		memset(&f, 0, sizeof(f));
		f.fd = (int)fd;
		if (lsn_inherit_proto(c2 + 1, &f) == -1)
			goto bad;
		if (lsn_inherit_check(&f, name) == -1) {
			log_warn("%s: fd %ld is not a %s%s socket on %s: "
			    "ignored", LSN_INHERIT_ENV, fd, f.proto ==
			    PROTO_TCP ? "listening " : "",
			    proto_name(f.proto), name);
			continue;
		}
		if ((v = reallocarray(inh->v, inh->n + 1,
		    sizeof(*inh->v))) == NULL) {
			snprintf(err, len, "out of memory");
			goto fail;
		}
		inh->v = v;
		inh->v[inh->n++] = f;
	}
	return 0;
bad:
	snprintf(err, len, "%s: malformed item \"%.*s\" (want FD:ADDR:PORT:"
	    "tcp|udp|admin;...)", LSN_INHERIT_ENV, (int)(end - p), p);
fail:
	/* Nothing adopted: the fds stay open, as skipped ones do. */
	free(inh->v);
	inh->v = NULL;
	inh->n = 0;
	return -1;
}

int
lsn_inherit_admin(struct lsn_inherit *inh)
{
	size_t i;

	for (i = 0; i < inh->n; i++)
		if (inh->v[i].admin && !inh->v[i].used) {
			inh->v[i].used = 1;
			(void)fcntl(inh->v[i].fd, F_SETFD, FD_CLOEXEC);
			return inh->v[i].fd;
		}
	return -1;
}

void
lsn_inherit_free(struct lsn_inherit *inh)
{
	char	name[LSN_NAMELEN];
	size_t	i;

	for (i = 0; i < inh->n; i++) {
		if (inh->v[i].used)
			continue;
		lsn_sa_name(&inh->v[i].sa, name);
		log_warn("inherited socket %s%s (fd %d) is not in the "
		    "configuration: closed", name, lsn_suffix(inh->v[i].proto),
		    inh->v[i].fd);
		close(inh->v[i].fd);
	}
	free(inh->v);
	inh->v = NULL;
	inh->n = 0;
}

char *
lsn_inherit_format(const struct lsn_table *tab, int admin_fd)
{
	struct sockaddr_storage	 sa;
	socklen_t		 salen = sizeof(sa);
	char			 name[LSN_NAMELEN], *s, *p;
	size_t			 i, j, n = 1, cap;

	for (i = 0; i < tab->n; i++)
		n += tab->v[i].nfds;
	cap = n * (LSN_NAMELEN + 24);
	if ((s = p = malloc(cap)) == NULL)
		return NULL;
	*p = '\0';
	for (i = 0; i < tab->n; i++)
		for (j = 0; j < tab->v[i].nfds; j++)
			p += snprintf(p, cap - (size_t)(p - s), "%s%d:%s:%s",
			    p == s ? "" : ";", tab->v[i].fds[j],
			    tab->v[i].name, proto_lower(tab->v[i].proto));
	if (admin_fd != -1 && getsockname(admin_fd, (struct sockaddr *)&sa,
	    &salen) == 0) {
		lsn_sa_name(&sa, name);
		snprintf(p, cap - (size_t)(p - s), "%s%d:%s:admin",
		    p == s ? "" : ";", admin_fd, name);
	}
	return s;
}
