/* snapshot and lb: building, listeners, refcounts, slot, round robin. */
#include "config.h"

#include <check.h>
#include <stdio.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdlib.h>
#include <string.h>

#include "affinity.h"
#include "clock.h"
#include "health_cell.h"
#include "lb.h"
#include "load.h"
#include "res.h"
#include "snapshot.h"
#include "unit.h"
#include "val.h"

static const char yaml[] =
"apiVersion: svcproxy.io/v1alpha1\n"
"kind: ProxyConfig\n"
"metadata: {name: c}\n"
"spec:\n"
"  serviceCIDR: 10.96.0.0/16\n"
"  nodeAddresses: [192.0.2.1]\n"
"  connectTimeout: 2s\n"
"  idleTimeout: 1m\n"
"---\n"
"apiVersion: v1\n"
"kind: Service\n"
"metadata:\n"
"  name: web\n"
"  annotations: {svcproxy.io/idle-timeout: 5s,"
" svcproxy.io/max-connections: \"7\"}\n"
"spec:\n"
"  type: NodePort\n"
"  selector: {app: web}\n"
"  clusterIP: 10.96.0.10\n"
"  ports:\n"
"  - {name: http, port: 80, targetPort: 8080, nodePort: 30080}\n"
"  - {name: dns, port: 53, protocol: UDP}\n"
"---\n"
"apiVersion: v1\n"
"kind: Pod\n"
"metadata: {name: a, labels: {app: web}}\n"
"spec: {containers: [{name: c}]}\n"
"status: {phase: Running, podIP: 10.0.0.1,"
" conditions: [{type: Ready, status: \"True\"}]}\n"
"---\n"
"apiVersion: v1\n"
"kind: Pod\n"
"metadata: {name: b, labels: {app: web}}\n"
"spec: {containers: [{name: c}]}\n"
"status: {phase: Running, podIP: 10.0.0.2,"
" conditions: [{type: Ready, status: \"True\"}]}\n"
"---\n"
"apiVersion: v1\n"
"kind: Pod\n"
"metadata: {name: c, labels: {app: web}}\n"
"spec: {containers: [{name: c}]}\n"
"status: {phase: Running, podIP: 10.0.0.3,"
" conditions: [{type: Ready, status: \"True\"}]}\n";

struct fx {
	struct kset		set;
	struct diag_list	dl;
	struct pcfg		pc;
	struct res_model	m;
	struct lb_livetab	live;
};

static struct snap *
fx_snap(struct fx *f)
{
	struct snap	*s;
	char		 err[256];

	memset(f, 0, sizeof(*f));
	if (unit_load(&f->set, &f->dl, yaml) != 0 ||
	    val_all(&f->set, &f->pc, &f->dl) != 0) {
		unit_dump(&f->dl);
		ck_abort_msg("configuration did not load cleanly");
	}
	ck_assert_int_eq(res_build(&f->set, &f->pc, &f->m, &f->dl), 0);
	lb_livetab_init(&f->live);
	s = snap_build(&f->m, &f->live, NULL, err, sizeof(err));
	ck_assert_msg(s != NULL, "%s", err);
	/* The snapshot borrows nothing from the model. */
	res_free(&f->m);
	unit_free(&f->set, &f->dl);
	return s;
}

static const struct snap_port *
port(const struct snap *s, uint16_t p)
{
	size_t i;

	for (i = 0; i < s->nports; i++)
		if (s->ports[i].port == p)
			return &s->ports[i];
	ck_abort_msg("no port %u", p);
	return NULL;
}

START_TEST(test_build)
{
	struct fx		 f;
	struct snap		*s = fx_snap(&f);
	const struct snap_port	*sp = port(s, 80);
	const struct snap_lsn	*l;
	struct ipaddr		 a;

	ck_assert_uint_eq(s->nsvcs, 1);
	ck_assert_str_eq(sp->label, "default/web:80");
	ck_assert_uint_eq(sp->svc->idle_timeout_ms, 5000);
	ck_assert_uint_eq(sp->svc->connect_timeout_ms, 2000);
	ck_assert_uint_eq(sp->svc->max_connections, 7);
	ck_assert_uint_eq(sp->lb.neps, 3);
	ck_assert_str_eq(sp->lb.eps[0].name, "10.0.0.1:8080");
	ck_assert_str_eq(sp->lb.eps[0].pod, "default/a");
	ck_assert_int_eq(port(s, 53)->proto, PROTO_UDP);
	ipaddr_parse("10.96.0.10", &a);
	l = snap_find_lsn(s, &a, 80, PROTO_TCP);
	ck_assert_ptr_nonnull(l);
	ck_assert_ptr_eq(l->sp, sp);
	ck_assert_int_eq(l->kind, RES_LSN_CLUSTER_IP);
	ck_assert_ptr_null(snap_find_lsn(s, &a, 81, PROTO_TCP));
	ck_assert_ptr_nonnull(snap_find_lsn(s, &a, 53, PROTO_UDP));
	ipaddr_parse("192.0.2.1", &a);
	l = snap_find_lsn(s, &a, 30080, PROTO_TCP);
	ck_assert_ptr_nonnull(l);
	ck_assert_int_eq(l->kind, RES_LSN_NODE_PORT);
	snap_unref(s);
	lb_livetab_free(&f.live);
}
END_TEST

START_TEST(test_rr_and_retry)
{
	struct fx		 f;
	struct snap		*s = fx_snap(&f);
	const struct snap_port	*sp = port(s, 80);
	struct lb_flow		 fl;
	struct lb_ep		*ep;
	int			 i;

	/* Exact rotation. */
	for (i = 0; i < 9; i++) {
		memset(&fl, 0, sizeof(fl));
		ep = lb_pick(&sp->lb, &fl);
		ck_assert_ptr_eq(ep, &sp->lb.eps[i % 3]);
		lb_release(&sp->lb, ep);
	}
	ck_assert_uint_eq(sp->lb.eps[0].live->total, 3);
	ck_assert_uint_eq(sp->lb.eps[0].live->active, 0);
	/* One flow never gets an endpoint twice, and stops at the bound. */
	memset(&fl, 0, sizeof(fl));
	for (i = 0; i < 3; i++) {
		ep = lb_pick(&sp->lb, &fl);
		ck_assert_ptr_nonnull(ep);
		ck_assert_uint_eq(ep->live->active, 1);
		lb_fail(&sp->lb, ep, &sp->hc, &fl);
	}
	ck_assert_ptr_null(lb_pick(&sp->lb, &fl));
	ck_assert_uint_eq(fl.ntried, 3);
	ck_assert(fl.tried[0] != fl.tried[1] && fl.tried[1] != fl.tried[2] &&
	    fl.tried[0] != fl.tried[2]);
	for (i = 0; i < 3; i++) {
		ck_assert_uint_eq(sp->lb.eps[i].live->failures, 1);
		lb_release(&sp->lb, &sp->lb.eps[i]);
	}
	snap_unref(s);
	lb_livetab_free(&f.live);
}
END_TEST

START_TEST(test_live_outlives_snapshots)
{
	struct fx		 f1, f2;
	struct snap		*s1 = fx_snap(&f1), *s2;
	char			 err[256];

	/* Rebuild into the same live table: the same counters. */
	memset(&f2, 0, sizeof(f2));
	ck_assert_int_eq(unit_load(&f2.set, &f2.dl, yaml), 0);
	ck_assert_uint_eq(val_all(&f2.set, &f2.pc, &f2.dl), 0);
	ck_assert_int_eq(res_build(&f2.set, &f2.pc, &f2.m, &f2.dl), 0);
	s2 = snap_build(&f2.m, &f1.live, NULL, err, sizeof(err));
	ck_assert_ptr_nonnull(s2);
	ck_assert_ptr_eq(port(s1, 80)->lb.eps[1].live,
	    port(s2, 80)->lb.eps[1].live);
	ck_assert_ptr_eq(port(s1, 80)->svc->live, port(s2, 80)->svc->live);
	f2.m.services[0].lb_algorithm = "nope";
	ck_assert_ptr_null(snap_build(&f2.m, &f1.live, NULL, err,
	    sizeof(err)));
	ck_assert_str_eq(err, "Service default/web: unknown balancing "
	    "algorithm \"nope\"");
	res_free(&f2.m);
	unit_free(&f2.set, &f2.dl);
	snap_unref(s1);
	snap_unref(s2);
	lb_livetab_free(&f1.live);
}
END_TEST

START_TEST(test_slot)
{
	struct fx		 f;
	struct snap_slot	 slot;
	struct snap		*s1 = fx_snap(&f), *held, *s2;

	snap_slot_init(&slot);
	ck_assert_ptr_null(snap_slot_acquire(&slot));
	snap_slot_publish(&slot, s1);
	ck_assert_uint_eq(s1->gen, 1);
	held = snap_slot_acquire(&slot);		/* a connection's ref */
	ck_assert_ptr_eq(held, s1);
	ck_assert_uint_eq(s1->refs, 2);
	/* Publish another: the old one lives on while a ref holds it. */
	s2 = calloc(1, sizeof(*s2));	/* stand-in for a new build */
	atomic_init(&s2->refs, 1);
	arena_init(&s2->arena, 0);
	snap_slot_publish(&slot, s2);
	ck_assert_uint_eq(s2->gen, 2);
	ck_assert_ptr_eq(snap_slot_peek(&slot), s2);
	ck_assert_uint_eq(held->refs, 1);
	snap_unref(held);			/* frees s1 */
	snap_slot_clear(&slot);			/* frees s2 */
	lb_livetab_free(&f.live);
}
END_TEST

/* Health through the snapshot: every set with the endpoint, and kept
   by the next snapshot built on the same table. */
START_TEST(test_health)
{
	struct fx		 f1, f2;
	struct snap		*s1 = fx_snap(&f1), *s2;
	const struct snap_port	*sp = port(s1, 80);
	struct lb_live		*l = sp->lb.eps[0].live;
	struct lb_flow		 fl;
	struct lb_ep		*ep;
	char			 err[256];
	size_t			 i;

	for (i = 0; i < sp->lb.neps; i++)
		ck_assert_uint_eq(sp->lb.eps[i].weight, 1);
	ck_assert_int_eq(snap_set_up(s1, l, 0), 1);
	ck_assert_int_eq(snap_set_up(s1, l, 0), 0);
	for (i = 0; i < 12; i++) {
		memset(&fl, 0, sizeof(fl));
		ck_assert_ptr_nonnull(ep = lb_pick(&sp->lb, &fl));
		ck_assert_ptr_ne(ep->live, l);
		lb_release(&sp->lb, ep);
	}
	memset(&f2, 0, sizeof(f2));
	ck_assert_int_eq(unit_load(&f2.set, &f2.dl, yaml), 0);
	ck_assert_uint_eq(val_all(&f2.set, &f2.pc, &f2.dl), 0);
	ck_assert_int_eq(res_build(&f2.set, &f2.pc, &f2.m, &f2.dl), 0);
	s2 = snap_build(&f2.m, &f1.live, NULL, err, sizeof(err));
	ck_assert_msg(s2 != NULL, "%s", err);
	sp = port(s2, 80);
	ck_assert_ptr_eq(sp->lb.eps[0].live, l);
	ck_assert(!lb_ep_up(&sp->lb.eps[0], 0));
	memset(&fl, 0, sizeof(fl));
	for (i = 0; i < 2; i++)
		ck_assert_ptr_ne(lb_pick(&sp->lb, &fl), &sp->lb.eps[0]);
	ck_assert_ptr_null(lb_pick(&sp->lb, &fl));
	ck_assert_int_eq(snap_set_up(s2, l, 1), 1);
	ck_assert_ptr_eq(lb_pick(&sp->lb, &fl), &sp->lb.eps[0]);
	for (i = 0; i < fl.ntried; i++)
		lb_release(&sp->lb, &sp->lb.eps[fl.tried[i]]);
	res_free(&f2.m);
	unit_free(&f2.set, &f2.dl);
	snap_unref(s1);
	snap_unref(s2);
	lb_livetab_free(&f1.live);
}
END_TEST

/* The model of yaml, its Service asking for a TCP check (as hcconf's
   annotations will fill res_service.hc). */
static void
fx_model_hc(struct fx *f, uint16_t check_port, uint8_t panic_percent)
{
	memset(f, 0, sizeof(*f));
	ck_assert_int_eq(unit_load(&f->set, &f->dl, yaml), 0);
	ck_assert_uint_eq(val_all(&f->set, &f->pc, &f->dl), 0);
	ck_assert_int_eq(res_build(&f->set, &f->pc, &f->m, &f->dl), 0);
	f->m.services[0].hc.check.kind = HC_TCP;
	f->m.services[0].hc.check.interval_ms = 200;
	/* res set the default interval's; unset, the snapshot defaults it. */
	f->m.services[0].hc.check.timeout_ms = 0;
	f->m.services[0].hc.check.rise = 1;
	f->m.services[0].hc.check.fall = 1;
	f->m.services[0].hc.check.port = check_port;
	f->m.services[0].hc.check.path = "/healthz";
	f->m.services[0].hc.panic_percent = panic_percent;
}

static void
fx_model_free(struct fx *f)
{
	res_free(&f->m);
	unit_free(&f->set, &f->dl);
}

/* Each checked endpoint gets its cell, shared by the next build. */
START_TEST(test_hc_cells)
{
	struct fx		 f;
	struct hc_celltab	 cells;
	struct snap		*s1, *s2, *s3;
	const struct snap_port	*sp;
	struct hc_target	*t;
	char			 err[256];
	size_t			 i, n;

	hc_celltab_init(&cells);
	fx_model_hc(&f, 0, 0);
	lb_livetab_init(&f.live);
	/* No cell table (the tools): settings copied, nothing checked. */
	s1 = snap_build(&f.m, &f.live, NULL, err, sizeof(err));
	ck_assert_msg(s1 != NULL, "%s", err);
	sp = port(s1, 80);
	ck_assert_int_eq(sp->hc.check.kind, HC_TCP);
	ck_assert_ptr_null(sp->lb.eps[0].hc);
	ck_assert_ptr_null(sp->lb.hc_gen);
	snap_unref(s1);

	s1 = snap_build(&f.m, &f.live, &cells, err, sizeof(err));
	ck_assert_msg(s1 != NULL, "%s", err);
	sp = port(s1, 80);
	/* Defaulted: the timeout is the interval.  Strings copied. */
	ck_assert_uint_eq(sp->hc.check.timeout_ms, 200);
	ck_assert_str_eq(sp->hc.check.path, "/healthz");
	ck_assert_ptr_ne(sp->hc.check.path, f.m.services[0].hc.check.path);
	ck_assert_ptr_eq(sp->lb.hc_gen, &cells.gen);
	for (i = 0; i < sp->lb.neps; i++)
		ck_assert_ptr_nonnull(sp->lb.eps[i].hc);
	ck_assert_ptr_ne(sp->lb.eps[0].hc, sp->lb.eps[1].hc);
	/* Checked on the endpoint's own port by default. */
	ck_assert(strncmp(sp->lb.eps[0].hc->key, "10.0.0.1:8080 tcp 200/200",
	    25) == 0);
	/* The TCP port (80 -> 8080) of three endpoints; the UDP port (53)
	   gets no check: checks are TCP. */
	for (i = 0; i < port(s1, 53)->lb.neps; i++)
		ck_assert_ptr_null(port(s1, 53)->lb.eps[i].hc);
	ck_assert_uint_eq(cells.t.n, 3);
	ck_assert_ptr_nonnull(t = snap_hc_targets(s1, &n));
	ck_assert_uint_eq(n, 3);
	for (i = 0; i < n; i++) {
		ck_assert_ptr_nonnull(t[i].set);
		ck_assert_int_eq(t[i].set->kind, HC_TCP);
		if (t[i].cell == sp->lb.eps[0].hc)
			ck_assert_uint_eq(ntohs(((struct sockaddr_in *)
			    &t[i].sa)->sin_port), 8080);
	}
	free(t);

	/* The next build: the same cells, so the state carries over. */
	s2 = snap_build(&f.m, &f.live, &cells, err, sizeof(err));
	ck_assert_msg(s2 != NULL, "%s", err);
	ck_assert_ptr_eq(port(s2, 80)->lb.eps[2].hc, sp->lb.eps[2].hc);
	ck_assert_uint_eq(cells.t.n, 3);

	/* Another check port is another check. */
	f.m.services[0].hc.check.port = 9000;
	s3 = snap_build(&f.m, &f.live, &cells, err, sizeof(err));
	ck_assert_msg(s3 != NULL, "%s", err);
	ck_assert_ptr_ne(port(s3, 80)->lb.eps[0].hc, sp->lb.eps[0].hc);
	ck_assert(strncmp(port(s3, 80)->lb.eps[0].hc->key, "10.0.0.1:9000 ",
	    14) == 0);
	/* Still none for the UDP port, on the check port either. */
	ck_assert_ptr_null(port(s3, 53)->lb.eps[0].hc);
	ck_assert_ptr_nonnull(t = snap_hc_targets(s3, &n));
	ck_assert_uint_eq(n, 3);
	free(t);
	snap_unref(s1);
	snap_unref(s2);
	snap_unref(s3);
	fx_model_free(&f);
	lb_livetab_free(&f.live);
	hc_celltab_free(&cells);
}
END_TEST

/* Down endpoints are skipped; all down is panic; up again ends it. */
START_TEST(test_hc_panic)
{
	struct fx		 f;
	struct hc_celltab	 cells;
	struct snap		*s, *s2;
	const struct snap_port	*sp;
	struct lb_flow		 fl;
	struct lb_ep		*ep;
	char			 err[256];
	size_t			 i;
	int			 seen = 0;

	hc_celltab_init(&cells);
	fx_model_hc(&f, 0, 0);
	lb_livetab_init(&f.live);
	s = snap_build(&f.m, &f.live, &cells, err, sizeof(err));
	ck_assert_msg(s != NULL, "%s", err);
	sp = port(s, 80);
	atomic_store(&((struct hc_cell *)sp->lb.eps[1].hc)->state, HC_DOWN);
	hc_celltab_changed(&cells);
	for (i = 0; i < 12; i++) {
		memset(&fl, 0, sizeof(fl));
		ck_assert_ptr_nonnull(ep = lb_pick(&sp->lb, &fl));
		ck_assert_ptr_ne(ep, &sp->lb.eps[1]);
		lb_release(&sp->lb, ep);
	}
	ck_assert_uint_eq(sp->lb.panic, 0);
	for (i = 0; i < sp->lb.neps; i++)
		atomic_store(&((struct hc_cell *)sp->lb.eps[i].hc)->state,
		    HC_DOWN);
	hc_celltab_changed(&cells);
	for (i = 0; i < 6; i++) {
		memset(&fl, 0, sizeof(fl));
		ck_assert_ptr_nonnull(ep = lb_pick(&sp->lb, &fl));
		seen |= 1 << (ep - sp->lb.eps);
		lb_release(&sp->lb, ep);
	}
	ck_assert_int_eq(seen, 7);
	ck_assert_uint_eq(sp->lb.panic, 1);
	/* A build while in panic starts in panic (told already). */
	s2 = snap_build(&f.m, &f.live, &cells, err, sizeof(err));
	ck_assert_msg(s2 != NULL, "%s", err);
	ck_assert_uint_eq(port(s2, 80)->lb.panic, 1);
	atomic_store(&((struct hc_cell *)sp->lb.eps[2].hc)->state, HC_UP);
	hc_celltab_changed(&cells);
	for (i = 0; i < 6; i++) {
		memset(&fl, 0, sizeof(fl));
		ck_assert_ptr_eq(lb_pick(&sp->lb, &fl), &sp->lb.eps[2]);
		lb_release(&sp->lb, &sp->lb.eps[2]);
	}
	ck_assert_uint_eq(sp->lb.panic, 0);
	memset(&fl, 0, sizeof(fl));
	ck_assert_ptr_eq(ep = lb_pick(&port(s2, 80)->lb, &fl),
	    &port(s2, 80)->lb.eps[2]);
	lb_release(&port(s2, 80)->lb, ep);
	ck_assert_uint_eq(port(s2, 80)->lb.panic, 0);
	snap_unref(s);
	snap_unref(s2);
	fx_model_free(&f);
	lb_livetab_free(&f.live);
	hc_celltab_free(&cells);
}
END_TEST

/* A threshold: panic below it, from the model's hc_config. */
START_TEST(test_hc_panic_threshold)
{
	struct fx		 f;
	struct hc_celltab	 cells;
	struct snap		*s;
	const struct snap_port	*sp;
	char			 err[256];
	int			 i, seen = 0;

	hc_celltab_init(&cells);
	fx_model_hc(&f, 0, 50);
	lb_livetab_init(&f.live);
	s = snap_build(&f.m, &f.live, &cells, err, sizeof(err));
	ck_assert_msg(s != NULL, "%s", err);
	sp = port(s, 80);
	ck_assert_uint_eq(sp->lb.panic_percent, 50);
	/* 1 of 3 healthy is under 50%. */
	atomic_store(&((struct hc_cell *)sp->lb.eps[0].hc)->state, HC_DOWN);
	atomic_store(&((struct hc_cell *)sp->lb.eps[1].hc)->state, HC_DOWN);
	hc_celltab_changed(&cells);
	for (i = 0; i < 6; i++) {
		struct lb_flow	 fl;
		struct lb_ep	*ep;

		memset(&fl, 0, sizeof(fl));
		ck_assert_ptr_nonnull(ep = lb_pick(&sp->lb, &fl));
		seen |= 1 << (ep - sp->lb.eps);
		lb_release(&sp->lb, ep);
	}
	ck_assert_int_eq(seen, 7);
	ck_assert_uint_eq(sp->lb.panic, 1);
	snap_unref(s);
	fx_model_free(&f);
	lb_livetab_free(&f.live);
	hc_celltab_free(&cells);
}
END_TEST

START_TEST(test_livetab)
{
	struct lb_livetab	 t;
	struct lb_live		*first = NULL, *l;
	char			 key[32];
	int			 i;

	lb_livetab_init(&t);
	for (i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "10.0.%d.%d:80", i / 250, i % 250);
		ck_assert_ptr_nonnull(l = lb_live_get(&t, key));
		if (i == 0)
			first = l;
	}
	ck_assert_uint_eq(t.t.n, 1000);
	ck_assert_ptr_eq(lb_live_get(&t, "10.0.0.0:80"), first);
	ck_assert_uint_eq(t.t.n, 1000);
	lb_livetab_free(&t);
}
END_TEST

/* ---- issue 13: weights, parameters, affinity tables ---- */

/*
 * A ClientIP Service over Pods weighted 0 and 3 and a Service over an
 * EndpointSlice weighted 2; the Service's affinity bound is max ("":
 * none), its timeout 30 s.
 */
static struct snap *
aff_snap(struct lb_livetab *live, const char *max, int with_web)
{
	struct kset		 set;
	struct diag_list	 dl;
	struct pcfg		 pc;
	struct res_model	 m;
	struct snap		*s;
	char			 y[4096], err[256];

	snprintf(y, sizeof(y),
	    "apiVersion: svcproxy.io/v1alpha1\nkind: ProxyConfig\n"
	    "metadata: {name: c}\nspec:\n  serviceCIDR: 10.96.0.0/16\n"
	    "  loadBalancing: {hashKey: client-ip-port, "
	    "maglevTableSize: 1021}\n"
	    "  healthCheck: {slowStart: 10s}\n---\n"
	    "%s"
	    "apiVersion: v1\nkind: Service\nmetadata:\n  name: slice\n"
	    "spec:\n  clusterIP: 10.96.0.11\n  ports: [{port: 81}]\n---\n"
	    "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
	    "metadata:\n  name: slice-1\n  labels: "
	    "{kubernetes.io/service-name: slice}\n"
	    "  annotations: {svcproxy.io/weight: \"2\"}\n"
	    "addressType: IPv4\nendpoints:\n- addresses: [10.0.1.1]\n"
	    "ports:\n- {port: 81}\n---\n"
	    "apiVersion: v1\nkind: Pod\nmetadata: {name: a, labels: "
	    "{app: web}, annotations: {svcproxy.io/weight: \"0\"}}\n"
	    "status: {podIP: 10.0.0.1}\n---\n"
	    "apiVersion: v1\nkind: Pod\nmetadata: {name: b, labels: "
	    "{app: web}, annotations: {svcproxy.io/weight: \"3\"}}\n"
	    "status: {podIP: 10.0.0.2}\n---\n"
	    "apiVersion: v1\nkind: Pod\nmetadata: {name: c, labels: "
	    "{app: web}}\nstatus: {podIP: 10.0.0.3}\n",
	    !with_web ? "" : *max == '\0' ?
	    "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n"
	    "spec:\n  selector: {app: web}\n  clusterIP: 10.96.0.10\n"
	    "  sessionAffinity: ClientIP\n  sessionAffinityConfig: "
	    "{clientIP: {timeoutSeconds: 30}}\n  ports: [{port: 80}]\n"
	    "---\n" : max[0] == '1' ?
	    "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n"
	    "  annotations: {svcproxy.io/affinity-max-entries: \"100000\"}\n"
	    "spec:\n  selector: {app: web}\n  clusterIP: 10.96.0.10\n"
	    "  sessionAffinity: ClientIP\n  sessionAffinityConfig: "
	    "{clientIP: {timeoutSeconds: 60}}\n  ports: [{port: 80}]\n"
	    "---\n" : "");
	memset(&pc, 0, sizeof(pc));
	if (unit_load(&set, &dl, y) != 0 || val_all(&set, &pc, &dl) != 0) {
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

START_TEST(test_weights_and_params)
{
	struct lb_livetab	 live;
	struct snap		*s;
	const struct snap_port	*web, *sl;
	struct lb_flow		 fl;
	struct lb_ep		*ep;
	int			 i;

	lb_livetab_init(&live);
	s = aff_snap(&live, "", 1);
	web = port(s, 80);
	sl = port(s, 81);
	ck_assert_uint_eq(web->lb.neps, 3);
	ck_assert_uint_eq(web->lb.eps[0].weight, 0);
	ck_assert_uint_eq(web->lb.eps[1].weight, 3);
	ck_assert_uint_eq(web->lb.eps[2].weight, 1);
	ck_assert_uint_eq(sl->lb.eps[0].weight, 2);
	ck_assert_int_eq(web->lb.hash_key, LB_HASH_CLIENT_IP_PORT);
	ck_assert_uint_eq(web->lb.table_size, 1021);
	ck_assert_uint_eq(web->lb.slow_start_ms, 10000);
	/* Affinity on web only, with its timeout and the default bound. */
	ck_assert_ptr_nonnull(web->lb.aff);
	ck_assert_ptr_null(sl->lb.aff);
	ck_assert_uint_eq(web->lb.aff_timeout_ms, 30000);
	ck_assert_uint_eq(web->lb.aff_max, 65536);
	/* Drained: never picked, whatever the algorithm. */
	for (i = 0; i < 12; i++) {
		memset(&fl, 0, sizeof(fl));
		ck_assert_ptr_nonnull(ep = lb_pick(&web->lb, &fl));
		ck_assert_ptr_ne(ep, &web->lb.eps[0]);
		lb_release(&web->lb, ep);
	}
	snap_unref(s);
	lb_livetab_free(&live);
}
END_TEST

START_TEST(test_affinity_across_builds)
{
	struct lb_livetab	 live;
	struct snap		*s1, *s2, *s3, *s4;
	struct aff_table	*t1;
	struct sockaddr_in	 sin;
	struct lb_flow		 fl;
	struct lb_ep		*ep;
	const struct lb_live	*chosen;

	lb_livetab_init(&live);
	s1 = aff_snap(&live, "", 1);
	t1 = port(s1, 80)->lb.aff;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(0xc0000201);
	memset(&fl, 0, sizeof(fl));
	fl.client = (struct sockaddr *)&sin;
	fl.now_ms = clock_mono_ms();	/* the build's clock */
	ck_assert_ptr_nonnull(ep = lb_pick(&port(s1, 80)->lb, &fl));
	chosen = ep->live;
	lb_release(&port(s1, 80)->lb, ep);
	/* A reload: the same table, its entry kept. */
	s2 = aff_snap(&live, "", 1);
	ck_assert_ptr_eq(port(s2, 80)->lb.aff, t1);
	ck_assert_uint_eq(aff_count(t1), 1);
	/* A new bound: a new table with the entries, and the new
	   timeout. */
	s3 = aff_snap(&live, "100000", 1);
	ck_assert_ptr_ne(port(s3, 80)->lb.aff, t1);
	ck_assert_uint_eq(port(s3, 80)->lb.aff_max, 100000);
	ck_assert_uint_eq(port(s3, 80)->lb.aff_timeout_ms, 60000);
	ck_assert_uint_eq(aff_count(port(s3, 80)->lb.aff), 1);
	memset(&fl, 0, sizeof(fl));
	fl.client = (struct sockaddr *)&sin;
	fl.now_ms = clock_mono_ms();
	ck_assert_ptr_nonnull(ep = lb_pick(&port(s3, 80)->lb, &fl));
	ck_assert_ptr_eq(ep->live, chosen);
	lb_release(&port(s3, 80)->lb, ep);
	/* Service gone; the old snapshots freed: the next build frees
	   every table. */
	snap_unref(s1);
	snap_unref(s2);
	snap_unref(s3);
	s4 = aff_snap(&live, "", 0);
	ck_assert_ptr_null(live.aff.head);
	snap_unref(s4);
	lb_livetab_free(&live);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("snapshot");
	TCase	*tc = tcase_create("snapshot");

	tcase_add_test(tc, test_build);
	tcase_add_test(tc, test_rr_and_retry);
	tcase_add_test(tc, test_live_outlives_snapshots);
	tcase_add_test(tc, test_slot);
	tcase_add_test(tc, test_health);
	tcase_add_test(tc, test_livetab);
	tcase_add_test(tc, test_hc_cells);
	tcase_add_test(tc, test_hc_panic);
	tcase_add_test(tc, test_hc_panic_threshold);
	tcase_add_test(tc, test_weights_and_params);
	tcase_add_test(tc, test_affinity_across_builds);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
