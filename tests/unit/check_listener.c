/*
 * listener and metrics: bind targets of a snapshot, the reload diff of
 * what is bound against what the next snapshot wants, the record's
 * merge, the upgrade's SVCPROXY_INHERIT_FDS format, and the per-worker
 * counter table.  Pure apart from loopback sockets on kernel-chosen or
 * free ports (opening UDP targets, and the inherit check needs real
 * sockets).
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <event2/event.h>

#include "lb.h"
#include "listener.h"
#include "load.h"
#include "metrics.h"
#include "proto.h"
#include "res.h"
#include "snapshot.h"
#include "unit.h"
#include "val.h"

/* A NodePort on every address (no nodeAddresses) and two ClusterIPs. */
static const char yaml[] =
"apiVersion: svcproxy.io/v1alpha1\n"
"kind: ProxyConfig\n"
"metadata: {name: c}\n"
"spec: {serviceCIDR: 10.96.0.0/16}\n"
"---\n"
"apiVersion: v1\n"
"kind: Service\n"
"metadata: {name: web}\n"
"spec:\n"
"  type: NodePort\n"
"  clusterIP: 10.96.0.10\n"
"  ports:\n"
"  - {name: http, port: 80, nodePort: 30080}\n"
"  - {name: dns, port: 53, protocol: UDP}\n"
"---\n"
"apiVersion: v1\n"
"kind: Service\n"
"metadata: {name: api}\n"
"spec:\n"
"  clusterIP: 10.96.0.5\n"
"  ports: [{port: 443}]\n";

/* One address and port in both protocols, and an SCTP port. */
static const char yaml_proto[] =
"apiVersion: svcproxy.io/v1alpha1\n"
"kind: ProxyConfig\n"
"metadata: {name: c}\n"
"spec: {serviceCIDR: 10.96.0.0/16}\n"
"---\n"
"apiVersion: v1\n"
"kind: Service\n"
"metadata: {name: dns}\n"
"spec:\n"
"  clusterIP: 10.96.0.53\n"
"  ports:\n"
"  - {name: u, port: 53, protocol: UDP}\n"
"  - {name: t, port: 53, protocol: TCP}\n"
"  - {name: s, port: 9, protocol: SCTP}\n";

static struct snap *
mk_snap_yaml(struct lb_livetab *live, const char *text)
{
	struct kset		 set;
	struct diag_list	 dl;
	struct pcfg		 pc;
	struct res_model	 m;
	struct snap		*s;
	char			 err[256];

	if (unit_load(&set, &dl, text) != 0 ||
	    val_all(&set, &pc, &dl) != 0) {
		unit_dump(&dl);
		ck_abort_msg("configuration did not load cleanly");
	}
	ck_assert_int_eq(res_build(&set, &pc, &m, &dl), 0);
	s = snap_build(&m, live, NULL, err, sizeof(err));
	ck_assert_msg(s != NULL, "%s", err);
	res_free(&m);
	unit_free(&set, &dl);
	return s;
}

static struct snap *
mk_snap(struct lb_livetab *live)
{
	return mk_snap_yaml(live, yaml);
}

static struct sockaddr_storage
sa(const char *ip, uint16_t port)
{
	struct sockaddr_storage	ss;
	struct ipaddr		a;

	ck_assert_int_eq(ipaddr_parse(ip, &a), 0);
	ipaddr_sockaddr(&a, port, &ss);
	return ss;
}

static const char *
name(const struct sockaddr_storage *ss)
{
	static char buf[LSN_NAMELEN];

	lsn_sa_name(ss, buf);
	return buf;
}

/* A record of addresses, as the main thread keeps it (no sockets). */
static void
mk_table(struct lsn_table *t, const char *const *addrs, size_t n)
{
	size_t i;

	t->v = calloc(n + 1, sizeof(*t->v));
	t->n = n;
	for (i = 0; i < n; i++) {
		char ip[64];
		const char *colon = strrchr(addrs[i], ':');

		snprintf(ip, sizeof(ip), "%.*s", (int)(colon - addrs[i]),
		    addrs[i]);
		t->v[i].sa = sa(ip, (uint16_t)atoi(colon + 1));
		lsn_sa_name(&t->v[i].sa, t->v[i].name);
		t->v[i].fds = calloc(2, sizeof(int));
		t->v[i].fds[0] = t->v[i].fds[1] = -1;
		t->v[i].nfds = 2;
	}
}

START_TEST(test_targets)
{
	struct lb_livetab	 live;
	struct lsn_target	*t;
	struct snap		*s;
	size_t			 n;

	lb_livetab_init(&live);
	s = mk_snap(&live);
	t = lsn_targets(s, LSN_PROTO(PROTO_TCP), &n);
	ck_assert_ptr_nonnull(t);
	/* TCP asked for; the wildcard NodePort is v4 and v6; sorted by
	   family, then port, then address. */
	ck_assert_uint_eq(n, 4);
	ck_assert_str_eq(name(&t[0].sa), "10.96.0.10:80");
	ck_assert_str_eq(name(&t[1].sa), "10.96.0.5:443");
	ck_assert_str_eq(name(&t[2].sa), "0.0.0.0:30080");
	ck_assert_int_eq(t[2].kind, RES_LSN_NODE_PORT);
	ck_assert_str_eq(name(&t[3].sa), "[::]:30080");
	ck_assert_str_eq(t[3].label, "default/web:80");
	free(t);
	snap_unref(s);
	lb_livetab_free(&live);
}
END_TEST

START_TEST(test_diff)
{
	static const char *const cur[] = {
		"10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80",
	};
	struct lsn_target	t[3];
	struct lsn_table	tab, empty;
	unsigned char		gone[3], added[3];

	memset(&empty, 0, sizeof(empty));
	mk_table(&tab, cur, 3);
	memset(t, 0, sizeof(t));
	t[0].sa = sa("10.0.0.2", 80);
	t[1].sa = sa("10.0.0.3", 80);
	t[2].sa = sa("10.0.0.4", 80);
	/* Same address, other port: a different socket. */
	ck_assert_uint_eq(lsn_diff(&tab, t, 3, gone, added, NULL), 2);
	ck_assert_int_eq(gone[0], 1);
	ck_assert_int_eq(gone[1], 0);
	ck_assert_int_eq(gone[2], 0);
	ck_assert_int_eq(added[0], 0);
	ck_assert_int_eq(added[1], 0);
	ck_assert_int_eq(added[2], 1);
	/* Unchanged: nothing to do. */
	t[0].sa = sa("10.0.0.1", 80);
	t[1].sa = sa("10.0.0.2", 80);
	t[2].sa = sa("10.0.0.3", 80);
	ck_assert_uint_eq(lsn_diff(&tab, t, 3, gone, added, NULL), 0);
	t[2].sa = sa("10.0.0.3", 81);
	ck_assert_uint_eq(lsn_diff(&tab, t, 3, gone, added, NULL), 2);
	ck_assert_int_eq(gone[2], 1);
	ck_assert_int_eq(added[2], 1);
	/* Everything new; everything gone. */
	ck_assert_uint_eq(lsn_diff(&empty, t, 3, gone, added, NULL), 3);
	ck_assert_int_eq(added[0] + added[1] + added[2], 3);
	ck_assert_uint_eq(lsn_diff(&tab, t, 0, gone, added, NULL), 3);
	ck_assert_int_eq(gone[0] + gone[1] + gone[2], 3);
	lsn_table_free(&tab);
}
END_TEST

START_TEST(test_merge)
{
	static const char *const cur[] = { "10.0.0.1:80", "10.0.0.3:80" };
	static const char *const add[] = { "10.0.0.2:80", "10.0.0.0:80" };
	struct lsn_table	tab, a;
	unsigned char		gone[2] = { 0, 1 };

	mk_table(&tab, cur, 2);
	mk_table(&a, add, 2);
	ck_assert_int_eq(lsn_table_merge(&tab, gone, &a), 0);
	ck_assert_uint_eq(a.n, 0);
	ck_assert_ptr_null(a.v);
	ck_assert_uint_eq(tab.n, 3);
	ck_assert_str_eq(tab.v[0].name, "10.0.0.0:80");
	ck_assert_str_eq(tab.v[1].name, "10.0.0.1:80");
	ck_assert_str_eq(tab.v[2].name, "10.0.0.2:80");
	lsn_table_free(&tab);
	ck_assert_uint_eq(tab.n, 0);
}
END_TEST

START_TEST(test_sa_cmp)
{
	struct sockaddr_storage a = sa("10.0.0.1", 80), b = sa("10.0.0.1", 80);

	ck_assert_int_eq(lsn_sa_cmp(&a, &b), 0);
	b = sa("10.0.0.1", 79);
	ck_assert_int_gt(lsn_sa_cmp(&a, &b), 0);
	b = sa("::1", 1);
	ck_assert_int_lt(lsn_sa_cmp(&a, &b), 0);	/* v4 first */
	ck_assert_str_eq(name(&b), "[::1]:1");
}
END_TEST

START_TEST(test_inherit)
{
	struct lsn_inherit	 inh;
	struct lsn_table	 tab;
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	char			 env[256], err[256], bound[64], *s;
	const char		*names[1];
	int			 fd;

	/* Malformed values are refused as a whole. */
	ck_assert_int_eq(lsn_inherit_parse("5", &inh, err, sizeof(err)), -1);
	ck_assert_int_eq(lsn_inherit_parse("x:1.2.3.4:80:tcp", &inh, err,
	    sizeof(err)), -1);
	ck_assert_int_eq(lsn_inherit_parse("7:1.2.3.4:80:sctp", &inh, err,
	    sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "SVCPROXY_INHERIT_FDS"));
	ck_assert_int_eq(lsn_inherit_parse(NULL, &inh, err, sizeof(err)), 0);
	ck_assert_uint_eq(inh.n, 0);

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	snprintf(bound, sizeof(bound), "127.0.0.1:%u", ntohs(sin.sin_port));
	/* Not listening yet, and fd 1000 is not open: both skipped. */
	snprintf(env, sizeof(env), "%d:%s:tcp;1000:%s:tcp", fd, bound, bound);
	ck_assert_int_eq(lsn_inherit_parse(env, &inh, err, sizeof(err)), 0);
	ck_assert_uint_eq(inh.n, 0);
	lsn_inherit_free(&inh);
	ck_assert_int_eq(listen(fd, 8), 0);
	/* The wrong address: skipped. */
	snprintf(env, sizeof(env), "%d:127.0.0.2:1:tcp", fd);
	ck_assert_int_eq(lsn_inherit_parse(env, &inh, err, sizeof(err)), 0);
	ck_assert_uint_eq(inh.n, 0);
	lsn_inherit_free(&inh);

	/* The record's format parses back to the same socket. */
	names[0] = bound;
	mk_table(&tab, names, 1);
	tab.v[0].fds[0] = fd;
	tab.v[0].nfds = 1;
	s = lsn_inherit_format(&tab, fd);
	snprintf(env, sizeof(env), "%d:%s:tcp;%d:%s:admin", fd, bound, fd,
	    bound);
	ck_assert_str_eq(s, env);
	ck_assert_int_eq(lsn_inherit_parse(s, &inh, err, sizeof(err)), 0);
	ck_assert_uint_eq(inh.n, 2);
	ck_assert_int_eq(inh.v[0].admin, 0);
	ck_assert_int_eq(inh.v[1].admin, 1);
	ck_assert_str_eq(name(&inh.v[0].sa), bound);
	ck_assert_int_eq(lsn_inherit_admin(&inh), fd);
	ck_assert_int_eq(lsn_inherit_admin(&inh), -1);
	inh.v[0].used = 1;	/* adopted: not closed by free */
	lsn_inherit_free(&inh);
	free(s);
	lsn_table_free(&tab);
	close(fd);
}
END_TEST

/* The protocols asked for, and one target per address and protocol. */
START_TEST(test_targets_proto)
{
	struct lb_livetab	 live;
	struct lsn_target	*t;
	struct snap		*s;
	size_t			 n;

	lb_livetab_init(&live);
	s = mk_snap_yaml(&live, yaml_proto);
	/* What run and reload bind: TCP and UDP (issue 14), not SCTP. */
	t = lsn_targets(s, LSN_SERVED, &n);
	ck_assert_ptr_nonnull(t);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(t[0].proto, PROTO_TCP);
	ck_assert_int_eq(t[1].proto, PROTO_UDP);
	free(t);
	/* TCP and UDP on 10.96.0.53:53 are two targets, TCP first; SCTP
	   was not asked for. */
	t = lsn_targets(s, LSN_PROTO(PROTO_TCP) | LSN_PROTO(PROTO_UDP), &n);
	ck_assert_ptr_nonnull(t);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(name(&t[0].sa), "10.96.0.53:53");
	ck_assert_int_eq(t[0].proto, PROTO_TCP);
	ck_assert_str_eq(name(&t[1].sa), "10.96.0.53:53");
	ck_assert_int_eq(t[1].proto, PROTO_UDP);
	ck_assert_str_eq(t[1].label, "default/dns:53");
	free(t);
	t = lsn_targets(s, LSN_PROTO(PROTO_UDP), &n);
	ck_assert_ptr_nonnull(t);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(t[0].proto, PROTO_UDP);
	free(t);
	snap_unref(s);
	lb_livetab_free(&live);
}
END_TEST

/* A TCP and a UDP socket on one address and port: two targets. */
START_TEST(test_diff_proto)
{
	static const char *const one[] = { "10.0.0.1:53" };
	static const char *const two[] = { "10.0.0.1:53", "10.0.0.1:53" };
	struct sockaddr_storage	 a = sa("10.0.0.1", 53), b = sa("10.0.0.2", 53);
	struct lsn_target	 t[2];
	struct lsn_table	 tab, add;
	unsigned char		 gone[2], added[2];

	ck_assert_int_lt(lsn_key_cmp(&a, PROTO_TCP, &a, PROTO_UDP), 0);
	ck_assert_int_gt(lsn_key_cmp(&a, PROTO_UDP, &a, PROTO_TCP), 0);
	ck_assert_int_eq(lsn_key_cmp(&a, PROTO_UDP, &a, PROTO_UDP), 0);
	/* The address comes first: 10.0.0.1:53/UDP < 10.0.0.2:53/TCP. */
	ck_assert_int_lt(lsn_key_cmp(&a, PROTO_UDP, &b, PROTO_TCP), 0);

	/* TCP bound; the next snapshot adds UDP on the same address. */
	mk_table(&tab, one, 1);
	tab.v[0].proto = PROTO_TCP;
	memset(t, 0, sizeof(t));
	t[0].sa = t[1].sa = a;
	t[0].proto = PROTO_TCP;
	t[1].proto = PROTO_UDP;
	ck_assert_uint_eq(lsn_diff(&tab, t, 2, gone, added, NULL), 1);
	ck_assert_int_eq(gone[0], 0);
	ck_assert_int_eq(added[0], 0);
	ck_assert_int_eq(added[1], 1);
	/* UDP bound, TCP wanted: one goes, one comes. */
	tab.v[0].proto = PROTO_UDP;
	ck_assert_uint_eq(lsn_diff(&tab, t, 1, gone, added, NULL), 2);
	ck_assert_int_eq(gone[0], 1);
	ck_assert_int_eq(added[0], 1);
	lsn_table_free(&tab);
	/* Both bound; the next one drops TCP. */
	mk_table(&tab, two, 2);
	tab.v[0].proto = PROTO_TCP;
	tab.v[1].proto = PROTO_UDP;
	ck_assert_uint_eq(lsn_diff(&tab, &t[1], 1, gone, added, NULL), 1);
	ck_assert_int_eq(gone[0], 1);
	ck_assert_int_eq(gone[1], 0);
	ck_assert_int_eq(added[0], 0);
	lsn_table_free(&tab);
	/* The merge keeps the order: UDP after TCP. */
	mk_table(&tab, one, 1);
	tab.v[0].proto = PROTO_UDP;
	mk_table(&add, one, 1);
	add.v[0].proto = PROTO_TCP;
	ck_assert_int_eq(lsn_table_merge(&tab, NULL, &add), 0);
	ck_assert_uint_eq(tab.n, 2);
	ck_assert_int_eq(tab.v[0].proto, PROTO_TCP);
	ck_assert_int_eq(tab.v[1].proto, PROTO_UDP);
	lsn_table_free(&tab);
}
END_TEST

/* A port of 127.0.0.1 free in both TCP and UDP, or 0 (bounded tries). */
static uint16_t
free_port(void)
{
	struct sockaddr_in	sin;
	socklen_t		len;
	int			i, u, t, ok;

	for (i = 0; i < 50; i++) {
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(sin);
		u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		t = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		ok = bind(u, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
		    getsockname(u, (struct sockaddr *)&sin, &len) == 0 &&
		    bind(t, (struct sockaddr *)&sin, sizeof(sin)) == 0;
		close(u);
		close(t);
		if (ok)
			return ntohs(sin.sin_port);
	}
	return 0;
}

static void
mk_target(struct lsn_target *t, const char *ip, uint16_t port,
    enum proto proto)
{
	memset(t, 0, sizeof(*t));
	t->sa = sa(ip, port);
	t->salen = sizeof(struct sockaddr_in);
	ck_assert_int_eq(ipaddr_parse(ip, &t->addr), 0);
	t->port = port;
	t->proto = proto;
	t->kind = RES_LSN_CLUSTER_IP;
	t->label = "default/dns:53";
}

static int
sockopt(int fd, int opt)
{
	int		v = -1;
	socklen_t	len = sizeof(v);

	ck_assert_int_eq(getsockopt(fd, SOL_SOCKET, opt, &v, &len), 0);
	return v;
}

/* Close the sockets of tab's record and free it. */
static void
close_table(struct lsn_table *tab)
{
	lsn_table_close(tab);
	lsn_table_free(tab);
}

/* Free g's array without closing: another record owns the sockets. */
static void
drop_group(struct lsn_group *g)
{
	free(g->v);
	g->v = NULL;
	g->n = 0;
}

/*
 * TCP and UDP targets on one free port of 127.0.0.1, two workers: four
 * sockets, the UDP ones bound and not listening, and a datagram sent
 * to the port arrives on one of them.
 */
START_TEST(test_open_udp)
{
	struct lsn_target	 t[2];
	struct lsn_group	 groups[2];
	struct lsn_table	 tab, again;
	struct sockaddr_storage	 to;
	struct pollfd		 pfd[2];
	char			 err[256], buf[16];
	uint16_t		 port;
	size_t			 k;
	ssize_t			 got = -1;
	int			 c, u;

	ck_assert_uint_ne(port = free_port(), 0);
	mk_target(&t[0], "127.0.0.1", port, PROTO_TCP);
	mk_target(&t[1], "127.0.0.1", port, PROTO_UDP);
	memset(groups, 0, sizeof(groups));
	ck_assert_msg(lsn_open(t, 2, PCFG_LSN_AUTO, 2, 2, NULL, groups, &tab,
	    err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(tab.n, 2);
	ck_assert_int_eq(tab.v[0].proto, PROTO_TCP);
	ck_assert_int_eq(tab.v[1].proto, PROTO_UDP);
	ck_assert_uint_eq(tab.v[1].nfds, 2);
	for (k = 0; k < 2; k++) {
		ck_assert_uint_eq(groups[k].n, 2);
		ck_assert_int_eq(groups[k].v[0].proto, PROTO_TCP);
		ck_assert_int_eq(sockopt(groups[k].v[0].fd, SO_TYPE),
		    SOCK_STREAM);
		ck_assert_int_eq(sockopt(groups[k].v[0].fd, SO_ACCEPTCONN), 1);
		ck_assert_int_eq(groups[k].v[1].proto, PROTO_UDP);
		ck_assert_int_eq(sockopt(groups[k].v[1].fd, SO_TYPE),
		    SOCK_DGRAM);
		ck_assert_int_eq(sockopt(groups[k].v[1].fd, SO_REUSEPORT), 1);
		ck_assert_int_eq(sockopt(groups[k].v[1].fd, SO_REUSEADDR), 0);
		pfd[k].fd = groups[k].v[1].fd;
		pfd[k].events = POLLIN;
	}

	to = sa("127.0.0.1", port);
	u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_eq(sendto(u, "ping", 4, 0, (struct sockaddr *)&to,
	    sizeof(struct sockaddr_in)), 4);
	ck_assert_int_eq(poll(pfd, 2, 10000), 1);
	for (k = 0; k < 2; k++)
		if (pfd[k].revents & POLLIN)
			got = recv(pfd[k].fd, buf, sizeof(buf), 0);
	ck_assert_int_eq(got, 4);
	ck_assert_int_eq(memcmp(buf, "ping", 4), 0);

	/* The probe finds the address held (here by our own sockets). */
	ck_assert_int_eq(lsn_open(&t[1], 1, PCFG_LSN_AUTO, 1, 1, NULL, groups,
	    &again, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "cannot listen on 127.0.0.1:") != NULL &&
	    strstr(err, "/UDP: bind: Address already in use") != NULL,
	    "%s", err);
	ck_assert_uint_eq(groups[0].n, 2);	/* as they were */
	close(u);
	for (k = 0; k < 2; k++)
		drop_group(&groups[k]);
	close_table(&tab);

	/* Another process's UDP socket, even one with SO_REUSEADDR, is
	   found by the probe: lsn_open does not share a UDP port. */
	ck_assert_uint_ne(port = free_port(), 0);
	mk_target(&t[1], "127.0.0.1", port, PROTO_UDP);
	u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	c = 1;
	ck_assert_int_eq(setsockopt(u, SOL_SOCKET, SO_REUSEADDR, &c,
	    sizeof(c)), 0);
	ck_assert_int_eq(bind(u, (struct sockaddr *)&t[1].sa,
	    t[1].salen), 0);
	ck_assert_int_eq(lsn_open(&t[1], 1, PCFG_LSN_AUTO, 1, 1, NULL, groups,
	    &again, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "Address already in use") != NULL, "%s",
	    err);
	ck_assert_uint_eq(groups[0].n, 0);
	close(u);
}
END_TEST

/* TCP_DEFER_ACCEPT as the kernel reports it (rounded to its steps). */
static int
defer_of(int fd)
{
	int		v = -1;
	socklen_t	len = sizeof(v);

	ck_assert_int_eq(getsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &v,
	    &len), 0);
	return v;
}

/*
 * Shared: a TCP target gets one socket, in both workers' groups with
 * one lsn_shared of two references (the second free closes it); UDP
 * stays per worker.  TCP_DEFER_ACCEPT follows the target, also on a
 * kept socket once lsn_table_defer applies what lsn_diff saw change.
 */
START_TEST(test_open_shared)
{
	struct lsn_target	 t[2];
	struct lsn_group	 groups[2];
	struct lsn_table	 tab;
	unsigned char		 gone[2], added[2], defer[2];
	char			 err[256];
	uint16_t		 port;
	int			 fd;

	ck_assert_uint_ne(port = free_port(), 0);
	mk_target(&t[0], "127.0.0.1", port, PROTO_TCP);
	mk_target(&t[1], "127.0.0.1", port, PROTO_UDP);
	t[0].defer = 1;
	memset(groups, 0, sizeof(groups));
	ck_assert_msg(lsn_open(t, 2, PCFG_LSN_SHARED, 2, 2, NULL, groups, &tab,
	    err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(tab.mode, LSN_MODE_SHARED);
	ck_assert_uint_eq(tab.v[0].nfds, 1);
	ck_assert_int_eq(tab.v[0].shared, 1);
	ck_assert_uint_eq(tab.v[1].nfds, 2);	/* UDP: per worker */
	ck_assert_int_eq(tab.v[1].shared, 0);
	ck_assert_uint_eq(lsn_table_nsockets(&tab), 3);
	fd = groups[0].v[0].fd;
	ck_assert_int_eq(groups[1].v[0].fd, fd);
	ck_assert_ptr_nonnull(groups[0].v[0].sh);
	ck_assert_ptr_eq(groups[0].v[0].sh, groups[1].v[0].sh);
	ck_assert_ptr_null(groups[0].v[1].sh);
	ck_assert_int_ne(groups[0].v[1].fd, groups[1].v[1].fd);
	ck_assert_int_eq(sockopt(fd, SO_ACCEPTCONN), 1);
	ck_assert_int_gt(defer_of(fd), 0);
	/* A reload that turns it off: lsn_diff only says so (the reload
	   may still fail), lsn_table_defer reaches the kept socket. */
	t[0].defer = 0;
	ck_assert_uint_eq(lsn_diff(&tab, t, 2, gone, added, defer), 0);
	ck_assert_int_eq(defer[0], 0);
	ck_assert_int_gt(defer_of(fd), 0);
	ck_assert_int_eq(tab.v[0].defer, 1);
	lsn_table_defer(&tab, defer);
	ck_assert_int_eq(defer_of(fd), 0);
	ck_assert_int_eq(tab.v[0].defer, 0);
	lsn_group_free(&groups[0]);
	ck_assert_int_ne(fcntl(fd, F_GETFD), -1);	/* worker 1 holds it */
	lsn_group_free(&groups[1]);
	ck_assert_int_eq(fcntl(fd, F_GETFD), -1);
	lsn_table_free(&tab);
}
END_TEST

/* Auto: Shared past half the open file limit, never for one worker. */
START_TEST(test_mode_pick)
{
	ck_assert_int_eq(lsn_mode_pick(PCFG_LSN_AUTO, 8541, 2, 20000),
	    LSN_MODE_SHARED);
	ck_assert_int_eq(lsn_mode_pick(PCFG_LSN_AUTO, 8541, 2, 40000),
	    LSN_MODE_PER_WORKER);
	ck_assert_int_eq(lsn_mode_pick(PCFG_LSN_AUTO, 8541, 1, 1024),
	    LSN_MODE_PER_WORKER);
	ck_assert_int_eq(lsn_mode_pick(PCFG_LSN_AUTO, 0, 2, 1024),
	    LSN_MODE_NONE);
	ck_assert_int_eq(lsn_mode_pick(PCFG_LSN_PER_WORKER, 8541, 2, 1024),
	    LSN_MODE_PER_WORKER);
	ck_assert_int_eq(lsn_mode_pick(PCFG_LSN_SHARED, 1, 2, 1 << 20),
	    LSN_MODE_SHARED);
}
END_TEST

static void
no_accept(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	ck_abort_msg("no event runs here");
}

/* Only a TCP listener gets an accept event. */
START_TEST(test_accept_event)
{
	struct event_base	*base;
	struct lsn		 l;
	int			 u, t;

	ck_assert_ptr_nonnull(base = event_base_new());
	u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	t = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memset(&l, 0, sizeof(l));
	l.fd = u;
	l.proto = PROTO_UDP;
	snprintf(l.name, sizeof(l.name), "127.0.0.1:53");
	ck_assert_int_eq(lsn_accept_event(&l, base, no_accept), -1);
	ck_assert_int_eq(event_initialized(&l.ev), 0);
	memset(&l, 0, sizeof(l));
	l.fd = t;
	l.proto = PROTO_TCP;
	ck_assert_int_eq(lsn_accept_event(&l, base, no_accept), 0);
	ck_assert_int_ne(event_initialized(&l.ev), 0);
	ck_assert_ptr_eq(event_get_callback_arg(&l.ev), &l);
	close(u);
	close(t);
	event_base_free(base);
}
END_TEST

/*
 * The hand-over with every PROTO, through real sockets: format, parse,
 * and adoption by a new lsn_open, each socket by its own target.  Then
 * the strings a process before UDP wrote, and items whose fd is of the
 * other protocol (skipped).
 */
START_TEST(test_inherit_proto)
{
	struct lsn_target	 t[2];
	struct lsn_group	 groups[1], adopted[1];
	struct lsn_table	 tab, tab2;
	struct lsn_inherit	 inh;
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	char			 err[256], want[512], bound[64], adm[64], *s;
	uint16_t		 port;
	int			 afd, tfd, ufd;

	ck_assert_uint_ne(port = free_port(), 0);
	mk_target(&t[0], "127.0.0.1", port, PROTO_TCP);
	mk_target(&t[1], "127.0.0.1", port, PROTO_UDP);
	memset(groups, 0, sizeof(groups));
	ck_assert_msg(lsn_open(t, 2, PCFG_LSN_AUTO, 2, 1, NULL, groups, &tab,
	    err, sizeof(err)) == 0, "%s", err);
	tfd = tab.v[0].fds[0];
	ufd = tab.v[1].fds[0];
	afd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(afd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(afd, 8), 0);
	ck_assert_int_eq(getsockname(afd, (struct sockaddr *)&sin, &len), 0);
	snprintf(bound, sizeof(bound), "127.0.0.1:%u", port);
	snprintf(adm, sizeof(adm), "127.0.0.1:%u", ntohs(sin.sin_port));

	s = lsn_inherit_format(&tab, afd);
	ck_assert_ptr_nonnull(s);
	snprintf(want, sizeof(want), "%d:%s:tcp;%d:%s:udp;%d:%s:admin", tfd,
	    bound, ufd, bound, afd, adm);
	ck_assert_str_eq(s, want);
	ck_assert_int_eq(lsn_inherit_parse(s, &inh, err, sizeof(err)), 0);
	free(s);
	ck_assert_uint_eq(inh.n, 3);
	ck_assert_int_eq(inh.v[0].proto, PROTO_TCP);
	ck_assert_int_eq(inh.v[0].admin, 0);
	ck_assert_int_eq(inh.v[1].proto, PROTO_UDP);
	ck_assert_int_eq(inh.v[1].admin, 0);
	ck_assert_str_eq(name(&inh.v[1].sa), bound);
	ck_assert_int_eq(inh.v[2].proto, PROTO_TCP);
	ck_assert_int_eq(inh.v[2].admin, 1);
	/* The new process adopts each socket for its own target. */
	memset(adopted, 0, sizeof(adopted));
	ck_assert_msg(lsn_open(t, 2, PCFG_LSN_AUTO, 2, 1, &inh, adopted, &tab2,
	    err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(tab2.n, 2);
	ck_assert_uint_eq(tab2.v[0].nfds, 1);
	ck_assert_int_eq(tab2.v[0].fds[0], tfd);
	ck_assert_int_eq(tab2.v[0].proto, PROTO_TCP);
	ck_assert_uint_eq(tab2.v[1].nfds, 1);
	ck_assert_int_eq(tab2.v[1].fds[0], ufd);
	ck_assert_int_eq(tab2.v[1].proto, PROTO_UDP);
	ck_assert_int_eq(adopted[0].v[1].proto, PROTO_UDP);
	ck_assert_int_eq(lsn_inherit_admin(&inh), afd);
	lsn_inherit_free(&inh);		/* all adopted: nothing closed */
	ck_assert_int_eq(sockopt(ufd, SO_TYPE), SOCK_DGRAM);
	drop_group(&adopted[0]);
	lsn_table_free(&tab2);

	/* An old process's value: tcp and admin only, read as before. */
	snprintf(want, sizeof(want), "%d:%s:tcp;%d:%s:admin", tfd, bound,
	    afd, adm);
	ck_assert_int_eq(lsn_inherit_parse(want, &inh, err, sizeof(err)), 0);
	ck_assert_uint_eq(inh.n, 2);
	ck_assert_int_eq(inh.v[0].proto, PROTO_TCP);
	ck_assert_int_eq(inh.v[0].admin, 0);
	ck_assert_str_eq(name(&inh.v[0].sa), bound);
	ck_assert_int_eq(inh.v[1].admin, 1);
	inh.v[0].used = inh.v[1].used = 1;
	lsn_inherit_free(&inh);

	/* udp naming a TCP socket, tcp and admin naming a UDP one, udp on
	   another port: each skipped, the right one kept. */
	snprintf(want, sizeof(want), "%d:%s:udp;%d:%s:tcp;%d:%s:admin;"
	    "%d:127.0.0.1:%u:udp;%d:%s:udp", tfd, bound, ufd, bound, ufd,
	    bound, ufd, port == 65535 ? 1 : port + 1, ufd, bound);
	ck_assert_int_eq(lsn_inherit_parse(want, &inh, err, sizeof(err)), 0);
	ck_assert_uint_eq(inh.n, 1);
	ck_assert_int_eq(inh.v[0].fd, ufd);
	ck_assert_int_eq(inh.v[0].proto, PROTO_UDP);
	inh.v[0].used = 1;
	lsn_inherit_free(&inh);

	drop_group(&groups[0]);
	close_table(&tab);
	close(afd);
}
END_TEST

START_TEST(test_met)
{
	struct met_tab	 t;
	struct met_port	*a, *b;
	struct met_ctr	 sum;
	char		 key[32];
	int		 i;

	met_tab_init(&t, 3);
	a = met_port_get(&t, "default/web:80/TCP");
	b = met_port_get(&t, "default/web:81/TCP");
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_ne(a, b);
	ck_assert_ptr_eq(met_port_get(&t, "default/web:80/TCP"), a);
	/* Growth keeps every entry. */
	for (i = 0; i < 500; i++) {
		snprintf(key, sizeof(key), "ns/s%d:1/TCP", i);
		ck_assert_ptr_nonnull(met_port_get(&t, key));
	}
	ck_assert_uint_eq(t.t.n, 502);
	ck_assert_ptr_eq(met_port_get(&t, "default/web:80/TCP"), a);
	ck_assert_uint_eq((uintptr_t)&a->w[1] % 64, 0);
	for (i = 0; i < 3; i++) {
		struct snap_port sp;

		memset(&sp, 0, sizeof(sp));
		sp.met = a;
		MET_PORT_ADD(&sp, i, accepted, 10 + i);
		MET_PORT_ADD(&sp, i, closed, 1);
		MET_PORT_ADD(&sp, i, bytes_up, 100);
		sp.met = NULL;
		MET_PORT_ADD(&sp, i, accepted, 1000);	/* no counters */
	}
	met_port_sum(&t, a, &sum);
	ck_assert_uint_eq(met_get(&sum.accepted), 33);
	ck_assert_uint_eq(met_get(&sum.closed), 3);
	ck_assert_uint_eq(met_get(&sum.bytes_up), 300);
	ck_assert_uint_eq(met_get(&sum.retries), 0);
	met_port_sum(&t, b, &sum);
	ck_assert_uint_eq(met_get(&sum.accepted), 0);
	met_tab_free(&t);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("listener");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_targets);
	tcase_add_test(tc, test_diff);
	tcase_add_test(tc, test_merge);
	tcase_add_test(tc, test_sa_cmp);
	tcase_add_test(tc, test_inherit);
	tcase_add_test(tc, test_targets_proto);
	tcase_add_test(tc, test_diff_proto);
	tcase_add_test(tc, test_open_udp);
	tcase_add_test(tc, test_open_shared);
	tcase_add_test(tc, test_mode_pick);
	tcase_add_test(tc, test_accept_event);
	tcase_add_test(tc, test_inherit_proto);
	tcase_add_test(tc, test_met);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
