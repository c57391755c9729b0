/* selector: equality selectors, LabelSelector, the Pod index. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "load.h"
#include "selector.h"
#include "unit.h"

static const char pods_yaml[] =
    "apiVersion: v1\nkind: Pod\n"
    "metadata: {name: web-1, namespace: shop,"
    " labels: {app: web, tier: front, env: prod}}\n"
    "---\n"
    "apiVersion: v1\nkind: Pod\n"
    "metadata: {name: web-2, namespace: shop,"
    " labels: {app: web, tier: front, env: staging}}\n"
    "---\n"
    "apiVersion: v1\nkind: Pod\n"
    "metadata: {name: db-1, namespace: shop,"
    " labels: {app: db, tier: back}}\n"
    "---\n"
    "apiVersion: v1\nkind: Pod\n"
    "metadata: {name: web-9, namespace: other,"
    " labels: {app: web, tier: front, env: prod}}\n"
    "---\n"
    "apiVersion: v1\nkind: Pod\n"
    "metadata: {name: bare, namespace: shop}\n";

/* A Pod by name from a loaded set. */
static const struct kpod *
pod_named(const struct kset *set, const char *name)
{
	size_t i;

	for (i = 0; i < set->pods.n; i++)
		if (strcmp(set->pods.v[i]->meta.name, name) == 0)
			return set->pods.v[i];
	ck_abort_msg("no pod %s", name);
	return NULL;
}

/* Names of the Pods an iterator yields, comma-separated, into buf. */
static const char *
iter_names(struct sel_iter *it, char *buf, size_t len)
{
	const struct kpod *p;

	buf[0] = '\0';
	while ((p = sel_iter_next(it)) != NULL) {
		if (buf[0] != '\0')
			strncat(buf, ",", len - strlen(buf) - 1);
		strncat(buf, p->meta.name, len - strlen(buf) - 1);
	}
	return buf;
}

START_TEST(test_match_map)
{
	struct kset		 set;
	struct diag_list	 dl;
	const struct kpod	*sel, *web1, *db1, *bare;

	/* The first Pod's labels double as a selector. */
	ck_assert_int_eq(unit_load(&set, &dl, pods_yaml), 0);
	web1 = pod_named(&set, "web-1");
	db1 = pod_named(&set, "db-1");
	bare = pod_named(&set, "bare");
	sel = pod_named(&set, "web-9");	/* app=web,tier=front,env=prod */
	ck_assert_int_eq(sel_match_map(&sel->meta.labels, &web1->meta.labels),
	    1);
	/* env differs */
	ck_assert_int_eq(sel_match_map(&sel->meta.labels,
	    &pod_named(&set, "web-2")->meta.labels), 0);
	ck_assert_int_eq(sel_match_map(&sel->meta.labels, &db1->meta.labels),
	    0);
	ck_assert_int_eq(sel_match_map(&sel->meta.labels, &bare->meta.labels),
	    0);	/* keys missing */
	/* Empty selector matches everything, even no labels. */
	ck_assert_int_eq(sel_match_map(&bare->meta.labels, &db1->meta.labels),
	    1);
	ck_assert_int_eq(sel_match_map(&bare->meta.labels,
	    &bare->meta.labels), 1);
	ck_assert_str_eq(sel_label_get(&web1->meta.labels, "tier"), "front");
	ck_assert_ptr_null(sel_label_get(&web1->meta.labels, "nope"));
	unit_free(&set, &dl);
}
END_TEST

static const char netpol_yaml[] =
    "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
    "metadata: {name: a-in, namespace: shop}\n"
    "spec:\n"
    "  podSelector:\n"
    "    matchLabels: {tier: front}\n"
    "    matchExpressions:\n"
    "    - {key: env, operator: In, values: [prod, canary]}\n"
    "---\n"
    "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
    "metadata: {name: b-notin, namespace: shop}\n"
    "spec:\n"
    "  podSelector:\n"
    "    matchExpressions:\n"
    "    - {key: env, operator: NotIn, values: [prod]}\n"
    "---\n"
    "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
    "metadata: {name: c-exists, namespace: shop}\n"
    "spec:\n"
    "  podSelector:\n"
    "    matchExpressions:\n"
    "    - {key: env, operator: Exists}\n"
    "---\n"
    "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
    "metadata: {name: d-dne, namespace: shop}\n"
    "spec:\n"
    "  podSelector:\n"
    "    matchExpressions:\n"
    "    - {key: env, operator: DoesNotExist}\n"
    "    - {key: app, operator: In, values: [db, cache]}\n"
    "---\n"
    "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
    "metadata: {name: e-all, namespace: shop}\n"
    "spec:\n"
    "  podSelector: {}\n"
    "  ingress:\n"
    "  - from:\n"
    "    - namespaceSelector: {matchLabels: {team: a}}\n";

static const struct knetpol *
np_named(const struct kset *set, const char *name)
{
	size_t i;

	for (i = 0; i < set->netpols.n; i++)
		if (strcmp(set->netpols.v[i]->meta.name, name) == 0)
			return set->netpols.v[i];
	ck_abort_msg("no policy %s", name);
	return NULL;
}

START_TEST(test_label_selector)
{
	struct kset			 set;
	struct diag_list		 dl;
	char				*yaml;
	const struct klabel_selector	*ls;
	const struct kstrmap		*web1, *web2, *db1, *bare;

	yaml = malloc(strlen(pods_yaml) + strlen(netpol_yaml) + 8);
	sprintf(yaml, "%s---\n%s", pods_yaml, netpol_yaml);
	ck_assert_int_eq(unit_load(&set, &dl, yaml), 0);
	free(yaml);
	web1 = &pod_named(&set, "web-1")->meta.labels;
	web2 = &pod_named(&set, "web-2")->meta.labels;
	db1 = &pod_named(&set, "db-1")->meta.labels;
	bare = &pod_named(&set, "bare")->meta.labels;

	ls = &np_named(&set, "a-in")->spec.pod_selector;
	ck_assert_int_eq(sel_match_selector(ls, web1), 1);
	ck_assert_int_eq(sel_match_selector(ls, web2), 0);	/* staging */
	ck_assert_int_eq(sel_match_selector(ls, db1), 0);
	ck_assert_int_eq(sel_match_selector(ls, bare), 0);

	ls = &np_named(&set, "b-notin")->spec.pod_selector;
	ck_assert_int_eq(sel_match_selector(ls, web1), 0);
	ck_assert_int_eq(sel_match_selector(ls, web2), 1);
	ck_assert_int_eq(sel_match_selector(ls, bare), 1);	/* absent */

	ls = &np_named(&set, "c-exists")->spec.pod_selector;
	ck_assert_int_eq(sel_match_selector(ls, web1), 1);
	ck_assert_int_eq(sel_match_selector(ls, web2), 1);
	ck_assert_int_eq(sel_match_selector(ls, db1), 0);

	ls = &np_named(&set, "d-dne")->spec.pod_selector;
	ck_assert_int_eq(sel_match_selector(ls, db1), 1);
	ck_assert_int_eq(sel_match_selector(ls, web1), 0);
	ck_assert_int_eq(sel_match_selector(ls, bare), 0);	/* no app */

	/* {} matches all; an absent selector (no node) matches nothing. */
	ls = &np_named(&set, "e-all")->spec.pod_selector;
	ck_assert_int_eq(sel_match_selector(ls, bare), 1);
	ck_assert_int_eq(sel_match_selector(ls, web1), 1);
	ls = &np_named(&set, "e-all")->spec.ingress.v[0].peers.v[0].
	    pod_selector;
	ck_assert_ptr_null(ls->y);
	ck_assert_int_eq(sel_match_selector(ls, web1), 0);
	unit_free(&set, &dl);
}
END_TEST

START_TEST(test_index)
{
	struct kset			 set;
	struct diag_list		 dl;
	struct arena			 a;
	struct sel_index		 idx;
	struct sel_iter			 it;
	const struct sel_posting	*p;
	char				 buf[256];
	char				*yaml;

	yaml = malloc(strlen(pods_yaml) + strlen(netpol_yaml) + 8);
	sprintf(yaml, "%s---\n%s", pods_yaml, netpol_yaml);
	ck_assert_int_eq(unit_load(&set, &dl, yaml), 0);
	free(yaml);
	arena_init(&a, 0);
	ck_assert_int_eq(sel_index_build(&idx, &a, set.pods.v, set.pods.n),
	    0);
	p = sel_index_get(&idx, "shop", "app", "web");
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(p->n, 2);
	p = sel_index_get(&idx, "shop", NULL, NULL);
	ck_assert_uint_eq(p->n, 4);
	ck_assert_ptr_null(sel_index_get(&idx, "shop", "app", "cache"));
	ck_assert_ptr_null(sel_index_get(&idx, "nowhere", NULL, NULL));

	/* Equality selector: the Pod's own labels as selector. */
	sel_iter_map(&it, &idx, "shop",
	    &pod_named(&set, "web-9")->meta.labels);
	ck_assert_str_eq(iter_names(&it, buf, sizeof(buf)), "web-1");
	sel_iter_map(&it, &idx, "other",
	    &pod_named(&set, "web-9")->meta.labels);
	ck_assert_str_eq(iter_names(&it, buf, sizeof(buf)), "web-9");
	/* Empty selector: every Pod of the namespace, in name order. */
	sel_iter_map(&it, &idx, "shop", &pod_named(&set, "bare")->meta.labels);
	ck_assert_str_eq(iter_names(&it, buf, sizeof(buf)),
	    "bare,db-1,web-1,web-2");
	sel_iter_map(&it, &idx, "empty", &pod_named(&set, "bare")->meta.labels);
	ck_assert_str_eq(iter_names(&it, buf, sizeof(buf)), "");

	sel_iter_selector(&it, &idx, "shop",
	    &np_named(&set, "a-in")->spec.pod_selector);
	ck_assert_str_eq(iter_names(&it, buf, sizeof(buf)), "web-1");
	sel_iter_selector(&it, &idx, "shop",
	    &np_named(&set, "b-notin")->spec.pod_selector);
	ck_assert_str_eq(iter_names(&it, buf, sizeof(buf)),
	    "bare,db-1,web-2");
	sel_iter_selector(&it, &idx, "shop",
	    &np_named(&set, "e-all")->spec.ingress.v[0].peers.v[0].
	    pod_selector);
	ck_assert_str_eq(iter_names(&it, buf, sizeof(buf)), "");
	arena_free(&a);
	unit_free(&set, &dl);
}
END_TEST

/* Many Pods: the index answers exactly what a full scan answers. */
START_TEST(test_index_matches_scan)
{
	struct kset		 set;
	struct diag_list	 dl;
	struct arena		 a;
	struct sel_index	 idx;
	struct sel_iter		 it;
	const struct kpod	*p;
	char			*yaml, *w;
	size_t			 i, j, len = 0, nindex, nscan;
	const char		*nss[] = { "a", "b", "c" };

	yaml = malloc(3000 * 160);
	w = yaml;
	for (i = 0; i < 3000; i++)
		w += sprintf(w, "---\napiVersion: v1\nkind: Pod\nmetadata: "
		    "{name: p%zu, namespace: %s, labels: {app: a%zu, "
		    "shard: s%zu, even: \"%s\"}}\n", i, nss[i % 3], i % 7,
		    i % 5, i % 2 ? "no" : "yes");
	len = (size_t)(w - yaml);
	kset_init(&set);
	diag_list_init(&dl);
	ck_assert_int_eq(load_buffer(&set, "many.yaml", yaml, len, &dl), 0);
	load_finish(&set, &dl);
	free(yaml);
	ck_assert_uint_eq(set.pods.n, 3000);
	arena_init(&a, 0);
	ck_assert_int_eq(sel_index_build(&idx, &a, set.pods.v, set.pods.n),
	    0);
	/* Use every Pod's labels as a selector in every namespace. */
	for (i = 0; i < 60; i++) {
		const struct kstrmap *sel = &set.pods.v[i]->meta.labels;

		for (j = 0; j < 3; j++) {
			size_t k;

			nindex = nscan = 0;
			sel_iter_map(&it, &idx, nss[j], sel);
			while ((p = sel_iter_next(&it)) != NULL) {
				ck_assert_str_eq(p->meta.ns, nss[j]);
				nindex++;
			}
			for (k = 0; k < set.pods.n; k++)
				nscan += strcmp(set.pods.v[k]->meta.ns,
				    nss[j]) == 0 && sel_match_map(sel,
				    &set.pods.v[k]->meta.labels);
			ck_assert_uint_eq(nindex, nscan);
		}
	}
	/* a0 in ns a: i%3==0 and i%7==0 -> i%21==0: 143 Pods. */
	ck_assert_uint_eq(sel_index_get(&idx, "a", "app", "a0")->n, 143);
	arena_free(&a);
	unit_free(&set, &dl);
}
END_TEST

static Suite *
selector_suite(void)
{
	Suite	*s = suite_create("selector");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_match_map);
	tcase_add_test(tc, test_label_selector);
	tcase_add_test(tc, test_index);
	tcase_add_test(tc, test_index_matches_scan);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(selector_suite());
}
