/*
 * listener and metrics: bind targets of a snapshot, the reload diff of
 * what is bound against what the next snapshot wants, the record's
 * merge, the upgrade's SVCPROXY_INHERIT_FDS format, and the per-worker
 * counter table.  Pure apart from one loopback socket bound to a
 * kernel-chosen port (the inherit check needs a real listener).
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "lb.h"
#include "listener.h"
#include "load.h"
#include "metrics.h"
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

static struct snap *
mk_snap(struct lb_livetab *live)
{
	struct kset		 set;
	struct diag_list	 dl;
	struct pcfg		 pc;
	struct res_model	 m;
	struct snap		*s;
	char			 err[256];

	if (unit_load(&set, &dl, yaml) != 0 || val_all(&set, &pc, &dl) != 0) {
		unit_dump(&dl);
		ck_abort_msg("configuration did not load cleanly");
	}
	ck_assert_int_eq(res_build(&set, &pc, &m, &dl), 0);
	s = snap_build(&m, live, err, sizeof(err));
	ck_assert_msg(s != NULL, "%s", err);
	res_free(&m);
	unit_free(&set, &dl);
	return s;
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
	t = lsn_targets(s, &n);
	ck_assert_ptr_nonnull(t);
	/* UDP is not bound; the wildcard NodePort is v4 and v6; sorted by
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
	struct lsn_table	tab, empty = { NULL, 0 };
	unsigned char		gone[3], added[3];

	mk_table(&tab, cur, 3);
	memset(t, 0, sizeof(t));
	t[0].sa = sa("10.0.0.2", 80);
	t[1].sa = sa("10.0.0.3", 80);
	t[2].sa = sa("10.0.0.4", 80);
	/* Same address, other port: a different socket. */
	ck_assert_uint_eq(lsn_diff(&tab, t, 3, gone, added), 2);
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
	ck_assert_uint_eq(lsn_diff(&tab, t, 3, gone, added), 0);
	t[2].sa = sa("10.0.0.3", 81);
	ck_assert_uint_eq(lsn_diff(&tab, t, 3, gone, added), 2);
	ck_assert_int_eq(gone[2], 1);
	ck_assert_int_eq(added[2], 1);
	/* Everything new; everything gone. */
	ck_assert_uint_eq(lsn_diff(&empty, t, 3, gone, added), 3);
	ck_assert_int_eq(added[0] + added[1] + added[2], 3);
	ck_assert_uint_eq(lsn_diff(&tab, t, 0, gone, added), 3);
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
	ck_assert_int_eq(lsn_inherit_parse("7:1.2.3.4:80:udp", &inh, err,
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
	tcase_add_test(tc, test_met);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
