/*
 * snapshot, policy parts: the compiled NetworkPolicy table a snapshot
 * carries (names owned, endpoints' Pods), the per-connection helpers
 * (client, verdict, source ranges), the balancer's filter, and the
 * re-check of established connections against a new snapshot.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb.h"
#include "load.h"
#include "policy.h"
#include "res.h"
#include "snapshot.h"
#include "unit.h"
#include "val.h"

#define HEAD \
"apiVersion: svcproxy.io/v1alpha1\n" \
"kind: ProxyConfig\n" \
"metadata: {name: c}\n" \
"spec: {serviceCIDR: 10.96.0.0/16, loadBalancerPool: [192.0.2.0/24]}\n" \
"---\n" \
"apiVersion: v1\n" \
"kind: Namespace\n" \
"metadata: {name: prod, labels: {team: prod}}\n"

#define POD(ns, name, ip, labels) \
"---\n" \
"apiVersion: v1\n" \
"kind: Pod\n" \
"metadata: {name: " name ", namespace: " ns ", labels: {" labels "}}\n" \
"spec: {containers: [{name: c, ports: [{name: p, containerPort: 8080}]}]}\n" \
"status: {phase: Running, podIP: " ip "," \
" conditions: [{type: Ready, status: \"True\"}]}\n"

#define SVC(name, ip, app) \
"---\n" \
"apiVersion: v1\n" \
"kind: Service\n" \
"metadata: {name: " name ", namespace: prod}\n" \
"spec:\n" \
"  selector: {app: " app "}\n" \
"  clusterIP: " ip "\n" \
"  ports: [{port: 80, targetPort: p}]\n"

/* db: only app=api and 203.0.113.0/24 may reach it; web is open. */
static const char yaml1[] = HEAD
"---\n"
"apiVersion: networking.k8s.io/v1\n"
"kind: NetworkPolicy\n"
"metadata: {name: db-allow, namespace: prod}\n"
"spec:\n"
"  podSelector: {matchLabels: {app: db}}\n"
"  ingress:\n"
"  - from:\n"
"    - podSelector: {matchLabels: {app: api}}\n"
"    - ipBlock: {cidr: 203.0.113.0/24}\n"
"---\n"
"apiVersion: v1\n"
"kind: Service\n"
"metadata: {name: lb, namespace: prod}\n"
"spec:\n"
"  type: LoadBalancer\n"
"  selector: {app: web}\n"
"  clusterIP: 10.96.0.30\n"
"  loadBalancerIP: 192.0.2.7\n"
"  loadBalancerSourceRanges: [198.51.100.0/24]\n"
"  ports: [{port: 443, targetPort: p}]\n"
SVC("db", "10.96.0.10", "db")
SVC("web", "10.96.0.20", "web")
SVC("gone", "10.96.0.40", "gone")
POD("prod", "db-1", "10.0.0.1", "app: db")
POD("prod", "db-2", "10.0.0.2", "app: db, extra: x")
POD("prod", "web-1", "10.0.0.3", "app: web")
POD("prod", "gone-1", "10.0.0.4", "app: gone")
POD("prod", "api-1", "10.0.1.1", "app: api")
POD("prod", "cli-1", "10.0.1.2", "app: cli");

/* The same, plus a deny-all for prod; Service gone removed; db-2 is no
   longer an endpoint. */
static const char yaml2[] = HEAD
"---\n"
"apiVersion: networking.k8s.io/v1\n"
"kind: NetworkPolicy\n"
"metadata: {name: db-allow, namespace: prod}\n"
"spec:\n"
"  podSelector: {matchLabels: {app: db}}\n"
"  ingress:\n"
"  - from:\n"
"    - podSelector: {matchLabels: {app: api}}\n"
"    - ipBlock: {cidr: 203.0.113.0/24}\n"
"---\n"
"apiVersion: networking.k8s.io/v1\n"
"kind: NetworkPolicy\n"
"metadata: {name: deny-all, namespace: prod}\n"
"spec: {podSelector: {}, policyTypes: [Ingress]}\n"
SVC("db", "10.96.0.10", "db")
SVC("web", "10.96.0.20", "web")
POD("prod", "db-1", "10.0.0.1", "app: db")
POD("prod", "db-2", "10.0.0.2", "app: dbx")
POD("prod", "web-1", "10.0.0.3", "app: web")
POD("prod", "gone-1", "10.0.0.4", "app: gone")
POD("prod", "api-1", "10.0.1.1", "app: api")
POD("prod", "cli-1", "10.0.1.2", "app: cli");

/* Build a snapshot of yaml into live, then free everything it came from:
   every later use reads only the snapshot (ASan/valgrind would see a
   dangling name). */
static struct snap *
build(const char *yaml, struct lb_livetab *live, int keep)
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
	pc.keep_established = keep;
	ck_assert_int_eq(res_build(&set, &pc, &m, &dl), 0);
	s = snap_build(&m, live, NULL, err, sizeof(err));
	ck_assert_msg(s != NULL, "%s", err);
	res_free(&m);
	unit_free(&set, &dl);
	return s;
}

static const struct snap_port *
port(const struct snap *s, const char *name)
{
	const struct snap_port *sp;

	sp = snap_find_port(s, "prod", name, strcmp(name, "lb") ? 80 : 443,
	    PROTO_TCP);
	ck_assert_msg(sp != NULL, "no Service port %s", name);
	return sp;
}

static struct ipaddr
ip(const char *s)
{
	struct ipaddr a;

	ck_assert_int_eq(ipaddr_parse(s, &a), 0);
	return a;
}

START_TEST(test_table)
{
	struct lb_livetab	 live;
	struct snap		*s;
	const struct snap_port	*db, *web;
	int32_t			 p;

	lb_livetab_init(&live);
	s = build(yaml1, &live, 0);
	ck_assert_uint_eq(s->pol.npolicies, 1);
	ck_assert_str_eq(s->pol.policies[0].name, "db-allow");
	ck_assert_str_eq(s->pol.policies[0].ns, "prod");
	p = pol_pod_by_name(&s->pol, "prod", "api-1");
	ck_assert_int_ne(p, POL_NONE);
	ck_assert_str_eq(s->pol.pods[p].name, "api-1");
	ck_assert_int_eq(pol_pod_by_addr(&s->pol, &(struct ipaddr){ 0 }),
	    POL_NONE);
	db = port(s, "db");
	web = port(s, "web");
	ck_assert_int_eq(db->pol_isolated, 1);
	ck_assert_int_eq(web->pol_isolated, 0);
	ck_assert_uint_eq(db->lb.neps, 2);
	ck_assert_str_eq(s->pol.pods[db->lb.eps[0].pol_pod].name, "db-1");
	ck_assert_str_eq(s->pol.pods[db->lb.eps[1].pol_pod].name, "db-2");
	ck_assert_uint_eq(db->lb.eps[0].port, 8080);
	ck_assert_ptr_eq(snap_find_port(s, "prod", "db", 81, PROTO_TCP), NULL);
	ck_assert_ptr_eq(snap_find_port(s, "prod", "nope", 80, PROTO_TCP), NULL);
	ck_assert_ptr_eq(snap_find_port(s, "aaa", "db", 80, PROTO_TCP), NULL);
	ck_assert_str_eq(db->label, "prod/db:80");
	snap_unref(s);
	lb_livetab_free(&live);
}
END_TEST

START_TEST(test_verdicts)
{
	struct lb_livetab	 live;
	struct snap		*s;
	const struct snap_port	*db, *web;
	struct snap_client	 c;
	struct pol_verdict	 v;
	struct ipaddr		 a;
	char			 why[256];

	lb_livetab_init(&live);
	s = build(yaml1, &live, 0);
	db = port(s, "db");
	web = port(s, "web");

	/* No egress isolation anywhere: an open port needs no lookup. */
	a = ip("10.0.1.2");
	snap_client_init(s, web, &c, &a);
	ck_assert_int_eq(c.pod, POL_NONE);
	ck_assert_int_eq(snap_needs_judging(web, &c), 0);

	/* An isolated port: the client is looked up and judged. */
	snap_client_init(s, db, &c, &a);
	ck_assert_int_eq(c.pod, pol_pod_by_name(&s->pol, "prod", "cli-1"));
	ck_assert_int_eq(c.egress, 0);
	ck_assert_int_eq(snap_needs_judging(db, &c), 1);
	ck_assert_int_eq(snap_ep_allowed(s, db, &c, &db->lb.eps[0], &v), 0);
	ck_assert_str_eq(snap_deny_reason(s, &v, why, sizeof(why)),
	    "ingress of prod/db-1 not allowed by prod/db-allow");

	a = ip("10.0.1.1");		/* api-1 */
	snap_client_init(s, db, &c, &a);
	ck_assert_int_eq(snap_ep_allowed(s, db, &c, &db->lb.eps[1], &v), 1);
	/* The merged index said yes: no walk, so no rule is named. */
	ck_assert_uint_gt(s->pol.nix, 0);
	ck_assert_int_eq(v.side[POL_INGRESS].by_policy, POL_NONE);

	a = ip("203.0.113.9");		/* outside, in the ipBlock */
	snap_client_init(s, db, &c, &a);
	ck_assert_int_eq(c.pod, POL_NONE);
	ck_assert_int_eq(snap_ep_allowed(s, db, &c, &db->lb.eps[0], &v), 1);
	a = ip("203.0.114.9");
	snap_client_init(s, db, &c, &a);
	ck_assert_int_eq(snap_ep_allowed(s, db, &c, &db->lb.eps[0], &v), 0);
	snap_unref(s);
	lb_livetab_free(&live);
}
END_TEST

START_TEST(test_source_ranges)
{
	struct lb_livetab	 live;
	struct snap		*s;
	const struct snap_lsn	*lb, *cluster;
	struct ipaddr		 a, in, out;

	lb_livetab_init(&live);
	s = build(yaml1, &live, 0);
	a = ip("192.0.2.7");
	lb = snap_find_lsn(s, &a, 443, PROTO_TCP);
	ck_assert_ptr_nonnull(lb);
	ck_assert_int_eq(lb->kind, RES_LSN_LOAD_BALANCER);
	a = ip("10.96.0.30");
	cluster = snap_find_lsn(s, &a, 443, PROTO_TCP);
	ck_assert_ptr_nonnull(cluster);
	in = ip("198.51.100.200");
	out = ip("198.51.101.1");
	ck_assert_int_eq(snap_source_allowed(lb, &in), 1);
	ck_assert_int_eq(snap_source_allowed(lb, &out), 0);
	ck_assert_int_eq(snap_source_allowed(cluster, &out), 1);
	a = ip("10.96.0.10");		/* db: no ranges */
	ck_assert_int_eq(snap_source_allowed(snap_find_lsn(s, &a, 80,
	    PROTO_TCP), &out), 1);
	snap_unref(s);
	lb_livetab_free(&live);
}
END_TEST

static int
deny_second(const struct lb_ep *ep, void *arg)
{
	const struct lb_set *set = arg;

	return ep != &set->eps[1];
}

static int
deny_all(const struct lb_ep *ep, void *arg)
{
	(void)ep;
	(void)arg;
	return 0;
}

START_TEST(test_pick_filter)
{
	struct lb_livetab	 live;
	struct snap		*s;
	const struct snap_port	*db;
	struct lb_flow		 fl;
	struct lb_ep		*ep;
	int			 i;

	lb_livetab_init(&live);
	s = build(yaml1, &live, 0);
	db = port(s, "db");
	/* Endpoint 1 refused: every pick lands on endpoint 0. */
	for (i = 0; i < 4; i++) {
		memset(&fl, 0, sizeof(fl));
		fl.allow = deny_second;
		fl.allow_arg = (void *)&db->lb;
		ep = lb_pick(&db->lb, &fl);
		ck_assert_ptr_eq(ep, &db->lb.eps[0]);
		/* Its retry has nowhere left to go. */
		ck_assert_ptr_null(lb_pick(&db->lb, &fl));
		lb_release(&db->lb, ep);
	}
	ck_assert_uint_eq(db->lb.eps[1].live->total, 0);
	memset(&fl, 0, sizeof(fl));
	fl.allow = deny_all;
	ck_assert_ptr_null(lb_pick(&db->lb, &fl));
	ck_assert_uint_eq(fl.ntried, 0);
	snap_unref(s);
	lb_livetab_free(&live);
}
END_TEST

START_TEST(test_recheck)
{
	struct lb_livetab	 live;
	struct snap		*s1, *s2, *s3;
	const struct snap_port	*db, *web, *gone;
	struct pol_verdict	 v;
	struct ipaddr		 api, cli, out;
	char			 why[256];

	lb_livetab_init(&live);
	s1 = build(yaml1, &live, 0);
	s2 = build(yaml2, &live, 0);
	db = port(s1, "db");
	web = port(s1, "web");
	gone = port(s1, "gone");
	api = ip("10.0.1.1");
	cli = ip("10.0.1.2");
	out = ip("203.0.113.9");
	/* web-1 was open; the deny-all now isolates it. */
	ck_assert_int_eq(snap_recheck(s2, web, &web->lb.eps[0], &cli, &v),
	    SNAP_DENY);
	ck_assert_str_eq(snap_deny_reason(s2, &v, why, sizeof(why)),
	    "ingress of prod/web-1 not allowed by prod/deny-all");
	/* db-allow still allows api and the ipBlock. */
	ck_assert_int_eq(snap_recheck(s2, db, &db->lb.eps[0], &api, &v),
	    SNAP_KEEP);
	ck_assert_int_eq(snap_recheck(s2, db, &db->lb.eps[0], &out, NULL),
	    SNAP_KEEP);
	ck_assert_int_eq(snap_recheck(s2, db, &db->lb.eps[0], &cli, NULL),
	    SNAP_DENY);
	/* Gone: the Service, or the endpoint (db-2 lost its label). */
	ck_assert_int_eq(snap_recheck(s2, gone, &gone->lb.eps[0], &cli, NULL),
	    SNAP_GONE);
	ck_assert_int_eq(snap_recheck(s2, db, &db->lb.eps[1], &cli, NULL),
	    SNAP_GONE);
	/* Against an unchanged configuration nothing is denied that was
	   allowed. */
	s3 = build(yaml1, &live, 1);
	ck_assert_int_eq(s3->keep_established, 1);
	ck_assert_int_eq(snap_recheck(s3, web, &web->lb.eps[0], &cli, NULL),
	    SNAP_KEEP);
	ck_assert_int_eq(snap_recheck(s3, db, &db->lb.eps[0], &api, NULL),
	    SNAP_KEEP);
	snap_unref(s1);
	snap_unref(s2);
	snap_unref(s3);
	lb_livetab_free(&live);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("snap_policy");
	TCase	*tc = tcase_create("snap_policy");

	tcase_add_test(tc, test_table);
	tcase_add_test(tc, test_verdicts);
	tcase_add_test(tc, test_source_ranges);
	tcase_add_test(tc, test_pick_filter);
	tcase_add_test(tc, test_recheck);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
