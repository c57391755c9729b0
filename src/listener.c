#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "clock.h"
#include "listener.h"
#include "listener_int.h"
#include "log.h"
#include "proto.h"

#ifndef IP_FREEBIND
#define IP_FREEBIND	15
#endif
#ifndef IPV6_FREEBIND
#define IPV6_FREEBIND	78
#endif

int
lsn_sa_cmp(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	const struct sockaddr_in	*a4, *b4;
	const struct sockaddr_in6	*a6, *b6;
	uint16_t			 pa, pb;

	if (a->ss_family != b->ss_family)
		return a->ss_family < b->ss_family ? -1 : 1;
	if (a->ss_family == AF_INET) {
		a4 = (const struct sockaddr_in *)a;
		b4 = (const struct sockaddr_in *)b;
		pa = ntohs(a4->sin_port);
		pb = ntohs(b4->sin_port);
		if (pa != pb)
			return pa < pb ? -1 : 1;
		return memcmp(&a4->sin_addr, &b4->sin_addr,
		    sizeof(a4->sin_addr));
	}
	if (a->ss_family == AF_INET6) {
		a6 = (const struct sockaddr_in6 *)a;
		b6 = (const struct sockaddr_in6 *)b;
		pa = ntohs(a6->sin6_port);
		pb = ntohs(b6->sin6_port);
		if (pa != pb)
			return pa < pb ? -1 : 1;
		return memcmp(&a6->sin6_addr, &b6->sin6_addr,
		    sizeof(a6->sin6_addr));
	}
	return 0;
}

int
lsn_key_cmp(const struct sockaddr_storage *a, enum proto pa,
    const struct sockaddr_storage *b, enum proto pb)
{
	int c;

	if ((c = lsn_sa_cmp(a, b)) != 0)
		return c;
	if (pa != pb)
		return pa < pb ? -1 : 1;
	return 0;
}

void
lsn_sa_name(const struct sockaddr_storage *sa, char *buf)
{
	ipaddr_format_sockaddr((const struct sockaddr *)sa, buf, LSN_NAMELEN);
}

static int
lsn_target_cmp(const void *pa, const void *pb)
{
	const struct lsn_target *a = pa, *b = pb;

	return lsn_key_cmp(&a->sa, a->proto, &b->sa, b->proto);
}

/* In listener_int.h: used by listener_inherit.c too. */
const char *
lsn_suffix(enum proto p)
{
	switch (p) {
	case PROTO_TCP:		return "";
	case PROTO_UDP:		return "/UDP";
	case PROTO_SCTP:	return "/SCTP";
	}
	return "";
}

static void
lsn_err(char *err, size_t len, const struct lsn_target *t, const char *op)
{
	char name[LSN_NAMELEN];

	lsn_sa_name(&t->sa, name);
	snprintf(err, len, "Service %s (%s): cannot listen on %s%s: %s: %s",
	    t->label ? t->label : "?", res_listener_kind_name(t->kind), name,
	    lsn_suffix(t->proto), op, strerror(errno));
}

/*
 * A socket for t with the options every listener gets; reuseport is
 * off for the probe.  Returns the fd, or -1 with err set.
 *
 * SO_REUSEADDR is TCP's only: it lets a restart bind over connections
 * in TIME_WAIT.  UDP has no TIME_WAIT, and there it would let any other
 * socket that set it share the port, unnoticed by the probe, and take
 * the datagrams.  SCTP is not opened (EPROTONOSUPPORT).
 */
static int
lsn_socket(const struct lsn_target *t, int reuseport, char *err,
    size_t len)
{
	int fd, one = 1, fam = t->sa.ss_family, type;

	switch (t->proto) {
	case PROTO_TCP:
		type = SOCK_STREAM;
		break;
	case PROTO_UDP:
		type = SOCK_DGRAM;
		break;
	default:
		errno = EPROTONOSUPPORT;
		lsn_err(err, len, t, "socket");
		return -1;
	}
	fd = socket(fam, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		lsn_err(err, len, t, "socket");
		return -1;
	}
	if ((t->proto == PROTO_TCP && setsockopt(fd, SOL_SOCKET,
	    SO_REUSEADDR, &one, sizeof(one)) == -1) ||
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
	/* Accepted sockets inherit both (Linux clones the listener's
	   options): relay.c does not set them again per connection. */
	if (t->proto == PROTO_TCP) {
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
		(void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one,
		    sizeof(one));
	}
	if (bind(fd, (struct sockaddr *)&t->sa, t->salen) == -1) {
		lsn_err(err, len, t, "bind");
		close(fd);
		return -1;
	}
	return fd;
}

struct lsn_target *
lsn_targets(const struct snap *s, unsigned protos, size_t *n)
{
	struct lsn_target	*t, *p;
	struct ipaddr		 any;
	size_t			 i, m;
	int			 k, fams[2] = { AF_INET, AF_INET6 };

	*n = 0;
	if ((t = calloc(s->nlsns * 2 + 1, sizeof(*t))) == NULL)
		return NULL;
	for (i = 0; i < s->nlsns; i++) {
		const struct snap_lsn *sl = &s->lsns[i];

		if ((protos & LSN_PROTO(sl->proto)) == 0)
			continue;
		for (k = 0; k < (sl->addr.family == 0 ? 2 : 1); k++) {
			p = &t[(*n)++];
			p->addr = sl->addr;
			p->port = sl->port;
			p->proto = sl->proto;
			p->kind = sl->kind;
			p->label = sl->sp->label;
			p->defer = sl->sp->defer_accept;
			memset(&any, 0, sizeof(any));
			any.family = fams[k];
			p->salen = ipaddr_sockaddr(sl->addr.family == 0 ?
			    &any : &sl->addr, sl->port, &p->sa);
		}
	}
	if (*n == 0)
		return t;
	/* One socket per address and protocol: the first snapshot
	   listener keeps it. */
	qsort(t, *n, sizeof(*t), lsn_target_cmp);
	for (i = 1, m = 0; i < *n; i++)
		if (lsn_target_cmp(&t[m], &t[i]) != 0)
			t[++m] = t[i];
	*n = m + 1;
	return t;
}

/* TCP_DEFER_ACCEPT on (LSN_DEFER_ACCEPT_S) or off on a TCP socket. */
static void
lsn_set_defer(int fd, enum proto proto, int on)
{
	int s = on ? LSN_DEFER_ACCEPT_S : 0;

	if (proto == PROTO_TCP && setsockopt(fd, IPPROTO_TCP,
	    TCP_DEFER_ACCEPT, &s, sizeof(s)) == -1)
		log_warn("listener fd %d: TCP_DEFER_ACCEPT: %s", fd,
		    strerror(errno));
}

/* Bring e's sockets to the target's TCP_DEFER_ACCEPT. */
static void
lsn_bound_defer(struct lsn_bound *e, int on)
{
	size_t k;

	if (e->defer == on)
		return;
	for (k = 0; k < e->nfds; k++)
		if (e->fds[k] != -1)
			lsn_set_defer(e->fds[k], e->proto, on);
	e->defer = on;
}

size_t
lsn_diff(const struct lsn_table *cur, const struct lsn_target *t, size_t n,
    unsigned char *gone, unsigned char *added, unsigned char *defer)
{
	size_t	i = 0, j = 0, changes = 0;
	int	c;

	while (i < cur->n || j < n) {
		if (i == cur->n)
			c = 1;
		else if (j == n)
			c = -1;
		else
			c = lsn_key_cmp(&cur->v[i].sa, cur->v[i].proto,
			    &t[j].sa, t[j].proto);
		if (c == 0) {
			if (defer != NULL)
				defer[i] = t[j].defer != 0;
			gone[i++] = 0;
			added[j++] = 0;
			continue;
		}
		changes++;
		if (c < 0) {
			if (defer != NULL)
				defer[i] = cur->v[i].defer != 0;
			gone[i++] = 1;
		} else
			added[j++] = 1;
	}
	return changes;
}

void
lsn_table_defer(struct lsn_table *cur, const unsigned char *defer)
{
	size_t i;

	for (i = 0; i < cur->n; i++)
		lsn_bound_defer(&cur->v[i], defer[i]);
}

void
lsn_group_free(struct lsn_group *g)
{
	size_t i;

	for (i = 0; i < g->n; i++)
		if (g->v[i].fd != -1) {
			if (g->v[i].sh != NULL)
				lsn_shared_unref(g->v[i].sh);
			else
				close(g->v[i].fd);
			g->v[i].fd = -1;
			g->v[i].sh = NULL;
		}
	free(g->v);
	g->v = NULL;
	g->n = 0;
}

int
lsn_group_push(struct lsn_group *g, const struct lsn *l)
{
	struct lsn *v;

	if ((v = realloc(g->v, (g->n + 1) * sizeof(*v))) == NULL)
		return -1;
	g->v = v;
	g->v[g->n++] = *l;
	return 0;
}

void
lsn_shared_unref(struct lsn_shared *sh)
{
	if (sh == NULL || atomic_fetch_sub(&sh->refs, 1) != 1)
		return;
	if (sh->fd != -1)
		close(sh->fd);
	free(sh);
}

/* One reference per worker, none of them placed yet.  NULL: no memory. */
static struct lsn_shared *
lsn_shared_new(int fd, unsigned nworkers)
{
	struct lsn_shared *sh;

	if ((sh = calloc(1, sizeof(*sh) + nworkers *
	    sizeof(sh->slot[0]))) == NULL)
		return NULL;
	atomic_init(&sh->refs, nworkers);
	sh->fd = fd;
	return sh;
}

const char *
lsn_mode_name(enum lsn_mode m)
{
	switch (m) {
	case LSN_MODE_NONE:		return "None";
	case LSN_MODE_PER_WORKER:	return "PerWorker";
	case LSN_MODE_SHARED:		return "Shared";
	}
	return "?";
}

const char *
lsn_setting_name(enum pcfg_lsn_sockets s)
{
	switch (s) {
	case PCFG_LSN_AUTO:		return "Auto";
	case PCFG_LSN_PER_WORKER:	return "PerWorker";
	case PCFG_LSN_SHARED:		return "Shared";
	}
	return "?";
}

/*
 * Auto's rule: the per-worker sockets must leave at least half of the
 * open file limit to connections, pipes and the rest; past that, one
 * socket per address.  nall counts the snapshot's targets, UDP ones
 * too (they stay per worker, but they are addresses all the same).
 */
enum lsn_mode
lsn_mode_pick(enum pcfg_lsn_sockets sockets, size_t nall, unsigned nworkers,
    uint64_t nofile)
{
	if (nall == 0)
		return LSN_MODE_NONE;
	switch (sockets) {
	case PCFG_LSN_PER_WORKER:
		return LSN_MODE_PER_WORKER;
	case PCFG_LSN_SHARED:
		return LSN_MODE_SHARED;
	case PCFG_LSN_AUTO:
		break;
	}
	return nworkers > 1 && (uint64_t)nall * nworkers > nofile / 2 ?
	    LSN_MODE_SHARED : LSN_MODE_PER_WORKER;
}

size_t
lsn_table_unshared(const struct lsn_table *tab, size_t *extra)
{
	size_t i, n = 0;

	*extra = 0;
	if (tab->mode != LSN_MODE_SHARED)
		return 0;
	for (i = 0; i < tab->n; i++)
		if (tab->v[i].proto == PROTO_TCP && tab->v[i].nfds > 1) {
			n++;
			*extra += tab->v[i].nfds - 1;
		}
	return n;
}

size_t
lsn_table_nsockets(const struct lsn_table *tab)
{
	size_t i, n = 0;

	for (i = 0; i < tab->n; i++)
		n += tab->v[i].nfds;
	return n;
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
	memset(l, 0, sizeof(*l));
	l->fd = fd;
	l->sa = t->sa;
	l->salen = t->salen;
	l->addr = t->addr;
	l->port = t->port;
	l->proto = t->proto;
	lsn_sa_name(&t->sa, l->name);
}

/* An inherited socket for t: its address and protocol, not admin's. */
static int
lsn_inherited_for(const struct lsn_inherit_fd *f, const struct lsn_target *t)
{
	return !f->used && !f->admin &&
	    lsn_key_cmp(&f->sa, f->proto, &t->sa, t->proto) == 0;
}

/* Inherited sockets for t, at most max, into fds. */
static size_t
lsn_adopt(struct lsn_inherit *inh, const struct lsn_target *t, int *fds,
    size_t max)
{
	size_t i, n = 0;

	for (i = 0; inh != NULL && i < inh->n && n < max; i++) {
		struct lsn_inherit_fd *f = &inh->v[i];

		if (!lsn_inherited_for(f, t))
			continue;
		(void)fcntl(f->fd, F_SETFD, FD_CLOEXEC);
		(void)fcntl(f->fd, F_SETFL, fcntl(f->fd, F_GETFL) | O_NONBLOCK);
		f->used = 1;
		fds[n++] = f->fd;
	}
	return n;
}

static size_t
lsn_count_inherited(const struct lsn_inherit *inh, const struct lsn_target *t)
{
	size_t i, n = 0;

	for (i = 0; inh != NULL && i < inh->n; i++)
		if (lsn_inherited_for(&inh->v[i], t))
			n++;
	return n;
}

/* Give an adopted socket back to the inherit list (on failure). */
static void
lsn_unadopt(struct lsn_inherit *inh, int fd)
{
	size_t i;

	for (i = 0; inh != NULL && i < inh->n; i++)
		if (inh->v[i].fd == fd)
			inh->v[i].used = 0;
}

/*
 * fd to every group, each entry holding one reference of a new
 * lsn_shared.  0, or -1 (out of memory) with nothing pushed.
 */
static int
lsn_push_shared(const struct lsn_target *t, int fd, unsigned nworkers,
    struct lsn_group *groups)
{
	struct lsn		 l;
	struct lsn_shared	*sh;
	unsigned		 w;

	if ((sh = lsn_shared_new(fd, nworkers)) == NULL)
		return -1;
	for (w = 0; w < nworkers; w++) {
		lsn_fill(&l, t, fd);
		l.sh = sh;
		if (lsn_group_push(&groups[w], &l) == -1) {
			/* The table closes fd: take it back from sh. */
			while (w-- > 0)
				groups[w].n--;
			free(sh);
			return -1;
		}
	}
	return 0;
}

/* The sockets of one target, into e (fds) and the groups. */
static int
lsn_open_one(const struct lsn_target *t, unsigned nworkers, int shared,
    struct lsn_inherit *inh, struct lsn_group *groups, struct lsn_bound *e,
    char *err, size_t len)
{
	struct lsn	l;
	size_t		k, want, nin;
	int		fd;

	nin = lsn_count_inherited(inh, t);
	/* Shared: one socket, or every inherited one (closing one would
	   reset what is queued on it), each watched by every worker. */
	shared = shared && t->proto == PROTO_TCP;
	want = shared ? (nin > 1 ? nin : 1) : nin > nworkers ? nin : nworkers;
	memset(e, 0, sizeof(*e));
	e->sa = t->sa;
	e->salen = t->salen;
	e->proto = t->proto;
	lsn_sa_name(&t->sa, e->name);
	if ((e->fds = calloc(want, sizeof(*e->fds))) == NULL) {
		snprintf(err, len, "out of memory");
		return -1;
	}
	e->nfds = lsn_adopt(inh, t, e->fds, want);
	for (k = e->nfds; k < want; k++) {
		if ((fd = lsn_socket(t, 1, err, len)) == -1)
			return -1;
		e->fds[e->nfds++] = fd;
		if (t->proto == PROTO_TCP && listen(fd, LSN_BACKLOG) == -1) {
			lsn_err(err, len, t, "listen");
			return -1;
		}
	}
	e->shared = shared;
	/* Adopted ones too: the old process may have set it otherwise. */
	e->defer = nin > 0 ? !t->defer : 0;
	lsn_bound_defer(e, t->defer);
	for (k = 0; k < e->nfds && !shared; k++) {
		lsn_fill(&l, t, e->fds[k]);
		if (lsn_group_push(&groups[k % nworkers], &l) == -1) {
			snprintf(err, len, "out of memory");
			return -1;
		}
	}
	for (k = 0; k < e->nfds && shared; k++)
		if (lsn_push_shared(t, e->fds[k], nworkers, groups) == -1) {
			snprintf(err, len, "out of memory");
			return -1;
		}
	return 0;
}

int
lsn_open(const struct lsn_target *t, size_t n, enum pcfg_lsn_sockets sockets,
    size_t nall, unsigned nworkers, struct lsn_inherit *inh,
    struct lsn_group *groups, struct lsn_table *out, char *err, size_t len)
{
	struct rlimit	 rl;
	int64_t		 t0;
	size_t		*had, i, j;
	unsigned	 w;
	int		 shared;

	memset(out, 0, sizeof(*out));
	t0 = clock_mono_ms();
	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		rl.rlim_cur = 1024;
	/* The pick, also when nothing is opened (a reload that only drops
	   addresses may cross Auto's threshold): /status shows it. */
	out->mode = lsn_mode_pick(sockets, nall, nworkers,
	    (uint64_t)rl.rlim_cur);
	out->setting = sockets;
	shared = out->mode == LSN_MODE_SHARED;
	if ((had = calloc(nworkers, sizeof(*had))) == NULL ||
	    (n && (out->v = calloc(n, sizeof(*out->v))) == NULL)) {
		free(had);
		snprintf(err, len, "out of memory");
		return -1;
	}
	for (w = 0; w < nworkers; w++)
		had[w] = groups[w].n;
	for (i = 0; i < n; i++) {
		/* Drop a v6 wildcard on a host without IPv6; probe the rest. */
		if (lsn_count_inherited(inh, &t[i]) == 0 &&
		    lsn_probe(&t[i], err, len) == -1) {
			if (t[i].addr.family == 0 &&
			    t[i].sa.ss_family == AF_INET6 &&
			    (errno == EAFNOSUPPORT || errno == EADDRNOTAVAIL)) {
				log_warn("%s", err);
				continue;
			}
			goto fail;
		}
		if (lsn_open_one(&t[i], nworkers, shared, inh, groups,
		    &out->v[out->n++], err, len) == -1)
			goto fail;
	}
	free(had);
	if (n > 0)
		log_info("listeners: %zu addresses, %s sockets "
		    "(listenerSockets %s: %zu addresses x %u workers against "
		    "an open file limit of %llu): %zu sockets opened in %lld "
		    "ms", out->n,
		    lsn_mode_name(out->mode), lsn_setting_name(out->setting),
		    nall, nworkers, (unsigned long long)rl.rlim_cur,
		    lsn_table_nsockets(out), (long long)(clock_mono_ms() - t0));
	return 0;
fail:
	/* Sockets of this call only: inherited ones go back to inh. */
	for (w = 0; w < nworkers; w++) {
		for (j = had[w]; j < groups[w].n; j++) {
			/* The table's loop below closes a shared fd: only
			   the last reference frees its lsn_shared. */
			if (groups[w].v[j].sh != NULL) {
				groups[w].v[j].sh->fd = -1;
				lsn_shared_unref(groups[w].v[j].sh);
			}
			groups[w].v[j].fd = -1;
		}
		groups[w].n = had[w];
	}
	for (i = 0; i < out->n; i++) {
		for (j = 0; j < out->v[i].nfds; j++) {
			size_t k, mine = 1;

			for (k = 0; inh != NULL && k < inh->n; k++)
				if (inh->v[k].fd == out->v[i].fds[j])
					mine = 0;
			if (mine)
				close(out->v[i].fds[j]);
			else
				lsn_unadopt(inh, out->v[i].fds[j]);
		}
	}
	lsn_table_free(out);
	free(had);
	return -1;
}

static int
lsn_bound_cmp(const void *pa, const void *pb)
{
	const struct lsn_bound *a = pa, *b = pb;

	return lsn_key_cmp(&a->sa, a->proto, &b->sa, b->proto);
}

int
lsn_table_merge(struct lsn_table *cur, const unsigned char *gone,
    struct lsn_table *add)
{
	struct lsn_bound	*v;
	size_t			 i, n = 0;

	if ((v = calloc(cur->n + add->n + 1, sizeof(*v))) == NULL)
		return -1;
	for (i = 0; i < cur->n; i++) {
		if (gone != NULL && gone[i])
			free(cur->v[i].fds);
		else
			v[n++] = cur->v[i];
	}
	for (i = 0; i < add->n; i++)
		v[n++] = add->v[i];
	qsort(v, n, sizeof(*v), lsn_bound_cmp);
	free(cur->v);
	cur->v = v;
	cur->n = n;
	if (add->mode != LSN_MODE_NONE) {
		cur->mode = add->mode;
		cur->setting = add->setting;
	}
	free(add->v);
	add->v = NULL;
	add->n = 0;
	return 0;
}

void
lsn_table_free(struct lsn_table *tab)
{
	size_t i;

	for (i = 0; i < tab->n; i++)
		free(tab->v[i].fds);
	free(tab->v);
	tab->v = NULL;
	tab->n = 0;
}

void
lsn_table_close(struct lsn_table *tab)
{
	size_t i, j;

	for (i = 0; i < tab->n; i++)
		for (j = 0; j < tab->v[i].nfds; j++)
			if (tab->v[i].fds[j] != -1) {
				close(tab->v[i].fds[j]);
				tab->v[i].fds[j] = -1;
			}
}

int
lsn_accept_event(struct lsn *l, struct event_base *base,
    event_callback_fn cb)
{
	int one = 1;

	if (l->proto == PROTO_UDP && (l->sa.ss_family == AF_INET ?
	    setsockopt(l->fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) :
	    setsockopt(l->fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one,
	    sizeof(one))) == -1) {
		log_error("listener %s%s: packet info: %s: left off the loop",
		    l->name, lsn_suffix(l->proto), strerror(errno));
		memset(&l->ev, 0, sizeof(l->ev));
		return -1;
	}
	if (l->proto != PROTO_TCP && l->proto != PROTO_UDP) {
		log_error("listener %s%s: no accept path for %s (not served "
		    "yet): left off the loop", l->name, lsn_suffix(l->proto),
		    proto_name(l->proto));
		/* A copied event must not look set up (event_initialized). */
		memset(&l->ev, 0, sizeof(l->ev));
		return -1;
	}
	return event_assign(&l->ev, base, l->fd, EV_READ | EV_PERSIST, cb,
	    l);
}
