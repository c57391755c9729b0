/* load + kobj: documents to typed objects; strict fields; bad input. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
	tcase_add_test(tc, test_two_proxyconfigs);
	tcase_add_test(tc, test_directory_order_and_hash);
	tcase_add_test(tc, test_directory_parallel_complete);
	tcase_add_test(tc, test_missing_path);
	tcase_add_test(tc, test_scalar_kinds);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(load_suite());
}
