/* load + kobj: documents to typed objects; strict fields; bad input. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "kobj.h"
#include "load.h"
#include "unit.h"

static const char svc_yaml[] =
    "apiVersion: v1\n"
    "kind: Service\n"
    "metadata:\n"
    "  name: web\n"
    "  namespace: shop\n"
    "  labels: {app: web}\n"
    "spec:\n"
    "  type: NodePort\n"
    "  selector:\n"
    "    app: web\n"
    "  ports:\n"
    "  - name: http\n"
    "    port: 80\n"
    "    targetPort: http\n"
    "    nodePort: 30080\n"
    "  - name: metrics\n"
    "    port: 9090\n"
    "    targetPort: 9091\n";

START_TEST(test_service_decoded)
{
	struct kset		 set;
	struct diag_list	 dl;
	const struct ksvc	*s;

	ck_assert_int_eq(unit_load(&set, &dl, svc_yaml), 0);
	ck_assert_uint_eq(dl.n, 0);
	ck_assert_uint_eq(set.svcs.n, 1);
	s = set.svcs.v[0];
	ck_assert_str_eq(s->meta.name, "web");
	ck_assert_str_eq(s->meta.ns, "shop");
	ck_assert_str_eq(s->spec.type, "NodePort");
	ck_assert_uint_eq(s->spec.selector.n, 1);
	ck_assert_str_eq(s->spec.selector.v[0].key, "app");
	ck_assert_uint_eq(s->spec.ports.n, 2);
	ck_assert_int_eq(s->spec.ports.v[0].port.v, 80);
	ck_assert_int_eq(s->spec.ports.v[0].target_port.is_str, 1);
	ck_assert_str_eq(s->spec.ports.v[0].target_port.str, "http");
	ck_assert_int_eq(s->spec.ports.v[0].node_port.v, 30080);
	ck_assert_int_eq(s->spec.ports.v[1].target_port.is_str, 0);
	ck_assert_int_eq(s->spec.ports.v[1].target_port.num, 9091);
	ck_assert_int_eq(s->spec.ports.v[1].node_port.set, 0);
	ck_assert_uint_eq(s->spec.ports.v[1].y->line, 16);
	unit_free(&set, &dl);
}
END_TEST

START_TEST(test_default_namespace)
{
	struct kset		set;
	struct diag_list	dl;

	ck_assert_int_eq(unit_load(&set, &dl,
	    "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n"), 0);
	ck_assert_str_eq(set.pods.v[0]->meta.ns, "default");
	unit_free(&set, &dl);
}
END_TEST

START_TEST(test_unknown_field_suggests_rule)
{
	struct kset		 set;
	struct diag_list	 dl;
	const struct diag	*d;

	/* `ports` inside a peer would widen access if it were dropped. */
	ck_assert_int_eq(unit_load(&set, &dl,
	    "apiVersion: networking.k8s.io/v1\n"
	    "kind: NetworkPolicy\n"
	    "metadata: {name: np, namespace: shop}\n"
	    "spec:\n"
	    "  podSelector: {}\n"
	    "  ingress:\n"
	    "  - from:\n"
	    "    - podSelector: {matchLabels: {app: a}}\n"
	    "      ports:\n"
	    "      - port: 80\n"), -1);
	ck_assert_uint_eq(set.netpols.n, 0);
	d = unit_find(&dl, "spec.ingress[0].from[0].ports");
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(d->type, DIAG_UNKNOWN_FIELD);
	ck_assert_uint_eq(d->line, 9);
	ck_assert_uint_eq(d->col, 7);
	ck_assert_ptr_nonnull(strstr(d->detail,
	    "did you mean spec.ingress[0].ports?"));
	ck_assert_str_eq(d->kind, "NetworkPolicy");
	ck_assert_str_eq(d->ns, "shop");
	ck_assert_str_eq(d->name, "np");
	unit_free(&set, &dl);
}
END_TEST

START_TEST(test_unknown_field_suggests_spec_and_case)
{
	struct kset		 set;
	struct diag_list	 dl;
	const struct diag	*d;

	ck_assert_int_eq(unit_load(&set, &dl,
	    "apiVersion: v1\nkind: Service\nmetadata: {name: s}\n"
	    "ports: []\n"
	    "spec:\n  ports:\n  - port: 80\n    targetport: 8080\n"), -1);
	d = unit_find(&dl, "ports");
	ck_assert_ptr_nonnull(d);
	ck_assert_ptr_nonnull(strstr(d->detail, "did you mean spec.ports?"));
	d = unit_find(&dl, "spec.ports[0].targetport");
	ck_assert_ptr_nonnull(d);
	ck_assert_ptr_nonnull(strstr(d->detail,
	    "did you mean spec.ports[0].targetPort?"));
	unit_free(&set, &dl);
}
END_TEST

START_TEST(test_wrong_types)
{
	struct kset		 set;
	struct diag_list	 dl;
	const struct diag	*d;

	ck_assert_int_eq(unit_load(&set, &dl,
	    "apiVersion: v1\nkind: Service\nmetadata: {name: s}\n"
	    "spec:\n"
	    "  ports:\n"
	    "  - port: \"80\"\n"
	    "  - port: [1]\n"
	    "  - port: 99999999999\n"
	    "  selector: {app: true}\n"
	    "  clusterIP: 10\n"
	    "  externalIPs: {a: b}\n"), -1);
	d = unit_find(&dl, "spec.ports[0].port");
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(d->type, DIAG_TYPE_INVALID);
	ck_assert_str_eq(d->bad, "80");
	ck_assert_ptr_nonnull(unit_find(&dl, "spec.ports[1].port"));
	ck_assert_ptr_nonnull(unit_find(&dl, "spec.ports[2].port"));
	d = unit_find(&dl, "spec.selector[app]");
	ck_assert_ptr_nonnull(d);
	ck_assert_ptr_nonnull(strstr(d->detail, "got boolean"));
	ck_assert_ptr_nonnull(unit_find(&dl, "spec.clusterIP"));
	ck_assert_ptr_nonnull(unit_find(&dl, "spec.externalIPs"));
	ck_assert_uint_eq(dl.nerr, 6);
	ck_assert_uint_eq(set.svcs.n, 0);
	unit_free(&set, &dl);
}
END_TEST

START_TEST(test_list_and_multidoc)
{
	struct kset		set;
	struct diag_list	dl;

	ck_assert_int_eq(unit_load(&set, &dl,
	    "apiVersion: v1\nkind: List\nmetadata: {resourceVersion: \"\"}\n"
	    "items:\n"
	    "- apiVersion: v1\n  kind: Pod\n  metadata: {name: a}\n"
	    "- apiVersion: v1\n  kind: Pod\n  metadata: {name: b}\n"
	    "---\n"
	    "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n"
	    "---\n"
	    "# only a comment\n"
	    "---\n"
	    "apiVersion: v1\nkind: ServiceList\nitems:\n"
	    "- apiVersion: v1\n  kind: Service\n  metadata: {name: s}\n"
	    "  spec: {ports: [{port: 80}]}\n"), 0);
	ck_assert_uint_eq(set.pods.n, 2);
	ck_assert_str_eq(set.pods.v[0]->meta.name, "a");
	ck_assert_uint_eq(set.nss.n, 1);
	ck_assert_uint_eq(set.svcs.n, 1);
	ck_assert_uint_eq(dl.n, 0);
	unit_free(&set, &dl);
}
END_TEST

START_TEST(test_other_kinds_skipped)
{
	struct kset		 set;
	struct diag_list	 dl;

	ck_assert_int_eq(unit_load(&set, &dl,
	    "apiVersion: apps/v1\nkind: Deployment\n"
	    "metadata: {name: d}\nspec: {replicas: 3}\n---\n"
	    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"), 0);
	ck_assert_uint_eq(dl.nerr, 0);
	ck_assert_uint_eq(dl.nwarn, 2);
	ck_assert_uint_eq(set.nskipped, 2);
	ck_assert_str_eq(dl.v[0].kind, "Deployment");
	ck_assert_ptr_nonnull(strstr(dl.v[0].detail, "skipped"));
	unit_free(&set, &dl);
}
END_TEST

START_TEST(test_wrong_api_version)
{
	struct kset		 set;
	struct diag_list	 dl;
	const struct diag	*d;

	ck_assert_int_eq(unit_load(&set, &dl,
	    "apiVersion: discovery.k8s.io/v1beta1\nkind: EndpointSlice\n"
	    "metadata: {name: e}\naddressType: IPv4\n"), -1);
	d = unit_find(&dl, "apiVersion");
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(d->type, DIAG_NOT_SUPPORTED);
	unit_free(&set, &dl);
}
END_TEST

START_TEST(test_missing_name_and_kind)
{
	struct kset		set;
	struct diag_list	dl;

	ck_assert_int_eq(unit_load(&set, &dl,
	    "apiVersion: v1\nkind: Service\nmetadata: {namespace: x}\n"
	    "---\napiVersion: v1\nmetadata: {name: y}\n"
	    "---\n- just\n- a list\n"), -1);
	ck_assert_ptr_nonnull(unit_find(&dl, "metadata.name"));
	ck_assert_ptr_nonnull(unit_find(&dl, "kind"));
	ck_assert_uint_eq(dl.nerr, 3);
	unit_free(&set, &dl);
}
END_TEST

START_TEST(test_duplicate_objects)
{
	struct kset		 set;
	struct diag_list	 dl;
	const struct diag	*d;

	unit_load(&set, &dl,
	    "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n---\n"
	    "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n---\n"
	    "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: x}\n");
	ck_assert_uint_eq(set.pods.n, 2);
	d = unit_find(&dl, "metadata.name");
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(d->type, DIAG_DUPLICATE);
	ck_assert_uint_eq(d->line, 7);
	unit_free(&set, &dl);
}
END_TEST

START_TEST(test_kubectl_output_loads)
{
	struct kset		set;
	struct diag_list	dl;

	/* kubectl create service clusterip web --tcp=80:8080 -o yaml */
	ck_assert_int_eq(unit_load(&set, &dl,
	    "apiVersion: v1\n"
	    "kind: Service\n"
	    "metadata:\n"
	    "  creationTimestamp: null\n"
	    "  labels:\n"
	    "    app: web\n"
	    "  name: web\n"
	    "  uid: 3f1c0d7e-0000-4000-8000-000000000001\n"
	    "  resourceVersion: \"1234\"\n"
	    "  managedFields:\n"
	    "  - apiVersion: v1\n"
	    "    fieldsType: FieldsV1\n"
	    "    fieldsV1: {f:spec: {f:ports: {}}}\n"
	    "    manager: kubectl-create\n"
	    "spec:\n"
	    "  ports:\n"
	    "  - name: 80-8080\n"
	    "    port: 80\n"
	    "    protocol: TCP\n"
	    "    targetPort: 8080\n"
	    "  selector:\n"
	    "    app: web\n"
	    "  type: ClusterIP\n"
	    "status:\n"
	    "  loadBalancer: {}\n"), 0);
	ck_assert_uint_eq(dl.n, 0);
	ck_assert_uint_eq(set.svcs.n, 1);
	ck_assert_ptr_null(set.svcs.v[0]->spec.cluster_ip);
	unit_free(&set, &dl);
}
END_TEST

START_TEST(test_pod_is_lenient)
{
	struct kset		 set;
	struct diag_list	 dl;
	const struct kpod	*p;

	ck_assert_int_eq(unit_load(&set, &dl,
	    "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: s}\n"
	    "spec:\n"
	    "  restartPolicy: Always\n"
	    "  containers:\n"
	    "  - name: c\n    image: nginx\n"
	    "    ports: [{name: http, containerPort: 8080}]\n"
	    "status:\n"
	    "  podIP: 127.0.0.5\n"
	    "  hostIP: 10.0.0.1\n"
	    "  conditions: [{type: Ready, status: \"True\"}]\n"), 0);
	p = set.pods.v[0];
	ck_assert_str_eq(p->status.pod_ip, "127.0.0.5");
	ck_assert_str_eq(p->spec.containers.v[0].ports.v[0].name, "http");
	ck_assert_int_eq(p->spec.containers.v[0].ports.v[0].container_port.v,
	    8080);
	ck_assert_str_eq(p->status.conditions.v[0].status, "True");
	unit_free(&set, &dl);
}
END_TEST

START_TEST(test_parser_drops_ignored_fields)
{
	struct kset		 set;
	struct diag_list	 dl;
	const struct kpod	*p;
	const struct ynode	*c;

	ck_assert_int_eq(unit_load(&set, &dl,
	    "apiVersion: v1\nkind: Pod\n"
	    "metadata:\n  name: p\n  uid: abc\n"
	    "  managedFields: [{manager: kubectl, fieldsV1: {f:a: {}}}]\n"
	    "spec:\n  containers:\n  - name: c\n    image: nginx\n"
	    "    resources: {requests: {cpu: 1}}\n"
	    "    ports: [{name: http, containerPort: 80}]\n"
	    "---\n"
	    /* kind after metadata: nothing can be dropped before it. */
	    "metadata: {name: q, uid: def}\napiVersion: v1\nkind: Pod\n"),
	    0);
	ck_assert_uint_eq(set.pods.n, 2);
	p = set.pods.v[0];
	ck_assert_ptr_null(ydoc_get(p->meta.y, "uid"));
	ck_assert_ptr_null(ydoc_get(p->meta.y, "managedFields"));
	ck_assert_ptr_nonnull(ydoc_get(p->meta.y, "name"));
	c = p->spec.containers.v[0].y;
	ck_assert_ptr_null(ydoc_get(c, "image"));
	ck_assert_ptr_null(ydoc_get(c, "resources"));
	ck_assert_int_eq(p->spec.containers.v[0].ports.v[0].container_port.v,
	    80);
	ck_assert_ptr_nonnull(ydoc_get(set.pods.v[1]->meta.y, "uid"));
	unit_free(&set, &dl);
}
END_TEST

/*
 * Where the parser drops most of an object (a Pod's status and
 * containers, ObjectMeta's server fields), what svcproxy reads is still
 * checked: a wrong type in a field it reads, and an unknown field of a
 * strict schema next to dropped ones, are reported at their line and
 * column with their field path.
 */
START_TEST(test_errors_beside_dropped_fields)
{
	struct kset		 set;
	struct diag_list	 dl;
	const struct diag	*d;

	ck_assert_int_eq(unit_load(&set, &dl,
	    "apiVersion: v1\nkind: Pod\n"
	    "metadata:\n"
	    "  name: p\n"
	    "  uid: abc\n"
	    "  managedFields: [{manager: kubectl}]\n"
	    "  labelz: {app: web}\n"
	    "spec:\n"
	    "  containers:\n"
	    "  - image: nginx\n"
	    "    resources: {requests: {cpu: 1}}\n"
	    "    ports:\n"
	    "    - containerPort: http\n"
	    "      bogus: 1\n"
	    "status:\n"
	    "  hostIP: 10.0.0.1\n"
	    "  startTime: \"2024-01-01T00:00:00Z\"\n"
	    "  podIP: [127.0.0.5]\n"
	    "  conditions:\n"
	    "  - lastProbeTime: null\n"
	    "    type: Ready\n"
	    "    status: true\n"), -1);
	d = unit_find(&dl, "metadata.labelz");
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(d->type, DIAG_UNKNOWN_FIELD);
	ck_assert_uint_eq(d->line, 7);
	ck_assert_uint_eq(d->col, 3);
	d = unit_find(&dl, "spec.containers[0].ports[0].containerPort");
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(d->type, DIAG_TYPE_INVALID);
	ck_assert_uint_eq(d->line, 13);
	ck_assert_uint_eq(d->col, 22);
	d = unit_find(&dl, "spec.containers[0].ports[0].bogus");
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(d->type, DIAG_UNKNOWN_FIELD);
	ck_assert_uint_eq(d->line, 14);
	d = unit_find(&dl, "status.podIP");
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(d->type, DIAG_TYPE_INVALID);
	ck_assert_uint_eq(d->line, 18);
	ck_assert_uint_eq(d->col, 10);
	d = unit_find(&dl, "status.conditions[0].status");
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(d->type, DIAG_TYPE_INVALID);
	ck_assert_uint_eq(d->line, 22);
	ck_assert_uint_eq(dl.nerr, 5);
	ck_assert_uint_eq(set.pods.n, 0);
	unit_free(&set, &dl);
}
END_TEST

START_TEST(test_two_proxyconfigs)
{
	struct kset		set;
	struct diag_list	dl;

	unit_load(&set, &dl,
	    "apiVersion: svcproxy.io/v1alpha1\nkind: ProxyConfig\n"
	    "metadata: {name: a}\nspec: {workers: 2}\n---\n"
	    "apiVersion: svcproxy.io/v1alpha1\nkind: ProxyConfig\n"
	    "metadata: {name: b}\nspec: {workers: 3}\n");
	ck_assert_ptr_nonnull(set.pcfg);
	ck_assert_int_eq(set.pcfg->spec.workers.v, 2);
	ck_assert_uint_eq(dl.nerr, 1);
	ck_assert_int_eq(dl.v[0].type, DIAG_DUPLICATE);
	unit_free(&set, &dl);
}
END_TEST

START_TEST(test_directory_order_and_hash)
{
	char			 dir[] = "/tmp/svcp-load-XXXXXX";
	char			 path[256];
	struct kset		 set;
	struct diag_list	 dl;
	FILE			*fp;
	uint64_t		 h1;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/b.yaml", dir);
	fp = fopen(path, "w");
	fputs("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n", fp);
	fclose(fp);
	snprintf(path, sizeof(path), "%s/a.yml", dir);
	fp = fopen(path, "w");
	fputs("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n", fp);
	fclose(fp);
	snprintf(path, sizeof(path), "%s/c.txt", dir);
	fp = fopen(path, "w");
	fputs("not: yaml: at: all: [\n", fp);
	fclose(fp);

	kset_init(&set);
	diag_list_init(&dl);
	ck_assert_int_eq(load_path(&set, dir, &dl), 0);
	ck_assert_uint_eq(set.nfiles, 2);
	/* a.yml is read first, so the duplicate is reported in b.yaml. */
	ck_assert_uint_eq(dl.nerr, 1);
	ck_assert_ptr_nonnull(strstr(dl.v[0].file, "b.yaml"));
	h1 = set.hash;
	unit_free(&set, &dl);

	kset_init(&set);
	diag_list_init(&dl);
	load_path(&set, dir, &dl);
	ck_assert(set.hash == h1);
	unit_free(&set, &dl);

	snprintf(path, sizeof(path), "%s/b.yaml", dir);
	fp = fopen(path, "a");
	fputs("# changed\n", fp);
	fclose(fp);
	kset_init(&set);
	diag_list_init(&dl);
	load_path(&set, dir, &dl);
	ck_assert(set.hash != h1);
	unit_free(&set, &dl);

	unlink(path);
	snprintf(path, sizeof(path), "%s/a.yml", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/c.txt", dir);
	unlink(path);
	rmdir(dir);
}
END_TEST

/*
 * A directory is read by several threads: every file's objects and every
 * diagnostic must arrive, whichever thread read it, on every run.
 */
START_TEST(test_directory_parallel_complete)
{
	char			 dir[] = "/tmp/svcp-par-XXXXXX";
	char			 path[256];
	struct kset		 set;
	struct diag_list	 dl;
	uint64_t		 hash = 0;
	FILE			*fp;
	int			 f, run;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	for (f = 0; f < 12; f++) {
		snprintf(path, sizeof(path), "%s/%02d.yaml", dir, f);
		fp = fopen(path, "w");
		fprintf(fp, "apiVersion: v1\nkind: Pod\nmetadata: {name: p%d}\n"
		    "---\napiVersion: v1\nkind: Pod\nmetadata: {name: q%d}\n",
		    f, f);
		if (f == 7)
			fputs("---\napiVersion: v1\nkind: Service\n"
			    "metadata: {name: bad}\nspec: {bogus: 1}\n", fp);
		fclose(fp);
	}
	for (run = 0; run < 20; run++) {
		kset_init(&set);
		diag_list_init(&dl);
		ck_assert_int_eq(load_path(&set, dir, &dl), -1);
		ck_assert_uint_eq(set.nfiles, 12);
		ck_assert_uint_eq(set.pods.n, 24);
		ck_assert_str_eq(set.pods.v[0]->meta.name, "p0");
		ck_assert_uint_eq(dl.nerr, 1);
		ck_assert_ptr_nonnull(strstr(dl.v[0].file, "07.yaml"));
		if (run == 0)
			hash = set.hash;
		ck_assert(set.hash == hash);
		unit_free(&set, &dl);
	}
	for (f = 0; f < 12; f++) {
		snprintf(path, sizeof(path), "%s/%02d.yaml", dir, f);
		unlink(path);
	}
	rmdir(dir);
}
END_TEST

/*
 * Threads read a directory's files in any order: with a ProxyConfig in
 * every file, each later one is an error naming the first file, and
 * the first file's is the one kept, on every run (a thread once
 * reported against the first it happened to see).
 */
START_TEST(test_directory_proxyconfigs_first)
{
	char			 dir[] = "/tmp/svcp-pcfg-XXXXXX";
	char			 path[256];
	struct kset		 set;
	struct diag_list	 dl;
	FILE			*fp;
	size_t			 i;
	int			 f, run;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	for (f = 0; f < 12; f++) {
		snprintf(path, sizeof(path), "%s/%02d.yaml", dir, f);
		fp = fopen(path, "w");
		fprintf(fp, "apiVersion: v1\nkind: Pod\nmetadata: {name: p%d}\n"
		    "---\napiVersion: svcproxy.io/v1alpha1\n"
		    "kind: ProxyConfig\nmetadata: {name: c%d}\n"
		    "spec: {workers: %d}\n", f, f, f + 1);
		fclose(fp);
	}
	for (run = 0; run < 40; run++) {
		kset_init(&set);
		diag_list_init(&dl);
		load_path(&set, dir, &dl);
		ck_assert_ptr_nonnull(set.pcfg);
		ck_assert_str_eq(set.pcfg->meta.name, "c0");
		ck_assert_int_eq(set.pcfg->spec.workers.v, 1);
		ck_assert_uint_eq(dl.nerr, 11);
		for (i = 0; i < dl.n; i++) {
			ck_assert_int_eq(dl.v[i].type, DIAG_DUPLICATE);
			ck_assert_ptr_nonnull(strstr(dl.v[i].detail,
			    "the first is in "));
			ck_assert_ptr_nonnull(strstr(dl.v[i].detail, "/00.yaml"));
		}
		unit_free(&set, &dl);
	}
	for (f = 0; f < 12; f++) {
		snprintf(path, sizeof(path), "%s/%02d.yaml", dir, f);
		unlink(path);
	}
	rmdir(dir);
}
END_TEST

START_TEST(test_missing_path)
{
	struct kset		set;
	struct diag_list	dl;

	kset_init(&set);
	diag_list_init(&dl);
	ck_assert_int_eq(load_path(&set, "/nonexistent/svcproxy", &dl), -1);
	ck_assert_int_eq(dl.v[0].type, DIAG_IO);
	unit_free(&set, &dl);
}
END_TEST

/* The error that refuses a file that is not a regular one. */
static void
assert_refused(const struct diag_list *dl, const char *path,
    const char *what)
{
	size_t i;

	for (i = 0; i < dl->n; i++)
		if (dl->v[i].file != NULL && strcmp(dl->v[i].file, path) == 0)
			break;
	ck_assert_msg(i < dl->n, "no error for %s", path);
	ck_assert_int_eq(dl->v[i].sev, DIAG_ERROR);
	ck_assert_int_eq(dl->v[i].type, DIAG_IO);
	ck_assert_str_eq(diag_reason(dl->v[i].type), "FileUnreadable");
	ck_assert_msg(strstr(dl->v[i].detail, what) != NULL &&
	    strstr(dl->v[i].detail, "not a regular file") != NULL,
	    "%s: %s", path, dl->v[i].detail);
}

/*
 * A FIFO named *.yaml: opening it for reading waited for a writer
 * forever.  It is refused, in a directory (read by several threads) and
 * named directly, and the directory's other files are still read.  The
 * test case's timeout catches a hang.
 */
START_TEST(test_fifo_and_devices_refused)
{
	char			 dir[] = "/tmp/svcp-fifo-XXXXXX";
	char			 path[256], fifo[256], sock[256];
	struct sockaddr_un	 sun;
	struct kset		 set;
	struct diag_list	 dl;
	FILE			*fp;
	int			 f, s;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	for (f = 0; f < 6; f++) {
		snprintf(path, sizeof(path), "%s/%02d.yaml", dir, f);
		ck_assert_ptr_nonnull(fp = fopen(path, "w"));
		fprintf(fp, "apiVersion: v1\nkind: Pod\n"
		    "metadata: {name: p%d}\n", f);
		fclose(fp);
	}
	snprintf(fifo, sizeof(fifo), "%s/03x.yaml", dir);
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	snprintf(sock, sizeof(sock), "%s/04x.yml", dir);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	ck_assert_uint_lt(strlen(sock), sizeof(sun.sun_path));
	memcpy(sun.sun_path, sock, strlen(sock) + 1);
	ck_assert_int_ge(s = socket(AF_UNIX, SOCK_STREAM, 0), 0);
	ck_assert_int_eq(bind(s, (struct sockaddr *)&sun, sizeof(sun)), 0);

	kset_init(&set);
	diag_list_init(&dl);
	ck_assert_int_eq(load_path(&set, dir, &dl), -1);
	ck_assert_uint_eq(set.pods.n, 6);
	ck_assert_uint_eq(dl.nerr, 2);
	assert_refused(&dl, fifo, "is a FIFO");
	assert_refused(&dl, sock, "is a socket");
	unit_free(&set, &dl);

	kset_init(&set);
	diag_list_init(&dl);
	ck_assert_int_eq(load_path(&set, fifo, &dl), -1);
	ck_assert_uint_eq(dl.nerr, 1);
	assert_refused(&dl, fifo, "is a FIFO");
	unit_free(&set, &dl);

	kset_init(&set);
	diag_list_init(&dl);
	ck_assert_int_eq(load_path(&set, "/dev/null", &dl), -1);
	assert_refused(&dl, "/dev/null", "is a character device");
	unit_free(&set, &dl);

	close(s);
	unlink(sock);
	unlink(fifo);
	for (f = 0; f < 6; f++) {
		snprintf(path, sizeof(path), "%s/%02d.yaml", dir, f);
		unlink(path);
	}
	rmdir(dir);
}
END_TEST

#define HOSTILE_CPU_MAX		2.0	/* seconds; ~0.2 when linear */
#define HOSTILE_TIMEOUT		20	/* seconds, wall clock */

static double
cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
load_text(struct kset *set, struct diag_list *dl, const char *text,
    size_t len)
{
	int rc;

	kset_init(set);
	diag_list_init(dl);
	rc = load_buffer(set, "test.yaml", text, len, dl);
	load_finish(set, dl);
	return rc;
}

/*
 * 200,000 levels of `[` in a Pod's spec.affinity, a field the parser
 * drops: only kept fields counted toward the depth limit, and libyaml
 * took seconds for 40,000 levels and never finished a million.
 */
START_TEST(test_deep_nesting_in_dropped_field)
{
	static const char head[] = "apiVersion: v1\nkind: Pod\n"
	    "metadata: {name: p}\nspec:\n  affinity: ";
	size_t		 depth = 200000, hl = sizeof(head) - 1, i;
	char		*buf = malloc(hl + 2 * depth + 2);
	struct kset	 set;
	struct diag_list dl;
	double		 start;

	ck_assert_ptr_nonnull(buf);
	memcpy(buf, head, hl);
	for (i = 0; i < depth; i++) {
		buf[hl + i] = '[';
		buf[hl + depth + i] = ']';
	}
	buf[hl + 2 * depth] = '\n';
	start = cpu_seconds();
	ck_assert_int_eq(load_text(&set, &dl, buf, hl + 2 * depth + 1), -1);
	ck_assert_double_lt(cpu_seconds() - start, HOSTILE_CPU_MAX);
	ck_assert_uint_eq(dl.nerr, 1);
	ck_assert_int_eq(dl.v[0].type, DIAG_SYNTAX);
	ck_assert_ptr_nonnull(strstr(dl.v[0].detail, "nesting deeper than"));
	/* The root and spec are two levels: the 63rd `[` is the 65th. */
	ck_assert_uint_eq(dl.v[0].line, 5);
	ck_assert_uint_eq(dl.v[0].col, 13 + 62);
	unit_free(&set, &dl);
	free(buf);
}
END_TEST

/*
 * 100,000 anchors in a Pod's labels, each aliased by another label, and
 * a Service whose root map has 100,000 keys before its kind: an anchor
 * scan per alias, and a scan for `kind` per key, made these quadratic.
 */
START_TEST(test_many_anchors_and_keys)
{
	size_t		 n = 100000, cap = n * 48, off, i;
	char		*buf = malloc(cap);
	struct kset	 set;
	struct diag_list dl;
	const struct kpod *p;
	double		 start;

	ck_assert_ptr_nonnull(buf);
	off = (size_t)snprintf(buf, cap, "apiVersion: v1\nkind: Pod\n"
	    "metadata:\n  name: p\n  labels:\n");
	for (i = 0; i < n; i++)
		off += (size_t)snprintf(buf + off, cap - off,
		    "    a%zu: &x%zu v%zu\n", i, i, i);
	for (i = 0; i < n; i++)
		off += (size_t)snprintf(buf + off, cap - off,
		    "    b%zu: *x%zu\n", i, n - 1 - i);
	start = cpu_seconds();
	ck_assert_int_eq(load_text(&set, &dl, buf, off), 0);
	ck_assert_double_lt(cpu_seconds() - start, HOSTILE_CPU_MAX);
	ck_assert_uint_eq(set.pods.n, 1);
	p = set.pods.v[0];
	ck_assert_uint_eq(p->meta.labels.n, 2 * n);
	ck_assert_str_eq(ydoc_get(p->meta.labels.y, "b0")->str, "v99999");
	ck_assert_str_eq(ydoc_get(p->meta.labels.y, "b99999")->str, "v0");
	unit_free(&set, &dl);

	off = (size_t)snprintf(buf, cap, "apiVersion: v1\n");
	for (i = 0; i < n; i++)
		off += (size_t)snprintf(buf + off, cap - off, "k%zu: 1\n", i);
	off += (size_t)snprintf(buf + off, cap - off,
	    "kind: Service\nmetadata: {name: s}\n");
	start = cpu_seconds();
	ck_assert_int_eq(load_text(&set, &dl, buf, off), -1);
	ck_assert_double_lt(cpu_seconds() - start, HOSTILE_CPU_MAX);
	/* Every unknown key is an error (the list keeps the first ones). */
	ck_assert_uint_eq(dl.nerr, n);
	ck_assert_int_eq(dl.v[0].type, DIAG_UNKNOWN_FIELD);
	ck_assert_str_eq(dl.v[0].bad, "k0");
	unit_free(&set, &dl);
	free(buf);
}
END_TEST

START_TEST(test_scalar_kinds)
{
	static const struct {
		const char	*text;
		int		 plain;
		enum kscalar	 want;
	} cases[] = {
		{ "80", 1, KS_INT }, { "-3", 1, KS_INT }, { "0x1f", 1, KS_INT },
		{ "1.5", 1, KS_FLOAT }, { "1e3", 1, KS_FLOAT },
		{ "true", 1, KS_BOOL }, { "No", 1, KS_BOOL },
		{ "10.0.0.1", 1, KS_STRING }, { "80", 0, KS_STRING },
		{ "web", 1, KS_STRING }, { "1.2.3", 1, KS_STRING },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ynode n;

		memset(&n, 0, sizeof(n));
		n.kind = YN_SCALAR;
		n.str = cases[i].text;
		n.len = strlen(cases[i].text);
		n.plain = cases[i].plain;
		ck_assert_msg(kobj_scalar_kind(&n) == cases[i].want,
		    "%s", cases[i].text);
	}
}
END_TEST

static Suite *
load_suite(void)
{
	Suite	*s = suite_create("load");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_service_decoded);
	tcase_add_test(tc, test_default_namespace);
	tcase_add_test(tc, test_unknown_field_suggests_rule);
	tcase_add_test(tc, test_unknown_field_suggests_spec_and_case);
	tcase_add_test(tc, test_wrong_types);
	tcase_add_test(tc, test_list_and_multidoc);
	tcase_add_test(tc, test_other_kinds_skipped);
	tcase_add_test(tc, test_wrong_api_version);
	tcase_add_test(tc, test_missing_name_and_kind);
	tcase_add_test(tc, test_duplicate_objects);
	tcase_add_test(tc, test_kubectl_output_loads);
	tcase_add_test(tc, test_pod_is_lenient);
	tcase_add_test(tc, test_parser_drops_ignored_fields);
	tcase_add_test(tc, test_errors_beside_dropped_fields);
	tcase_add_test(tc, test_two_proxyconfigs);
	tcase_add_test(tc, test_directory_order_and_hash);
	tcase_add_test(tc, test_directory_parallel_complete);
	tcase_add_test(tc, test_directory_proxyconfigs_first);
	tcase_add_test(tc, test_missing_path);
	tcase_add_test(tc, test_scalar_kinds);
	suite_add_tcase(s, tc);
	/* Hostile input: each would hang or take minutes when broken. */
	tc = tcase_create("hostile");
	tcase_set_timeout(tc, HOSTILE_TIMEOUT);
	tcase_add_test(tc, test_fifo_and_devices_refused);
	tcase_add_test(tc, test_deep_nesting_in_dropped_field);
	tcase_add_test(tc, test_many_anchors_and_keys);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(load_suite());
}
