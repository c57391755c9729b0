/* diag: the one-line and JSON forms of a diagnostic. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "unit.h"

START_TEST(test_format_invalid)
{
	struct diag_list	dl;
	char			buf[512];

	diag_list_init(&dl);
	diag_add(&dl, DIAG_ERROR, DIAG_INVALID, "web.yaml", 12, 9, "Service",
	    "default", "web", "spec.ports[1].name", "HTTP", "%s",
	    "must be lower case");
	diag_format(&dl.v[0], buf, sizeof(buf));
	ck_assert_str_eq(buf, "web.yaml:12:9: Service default/web: "
	    "spec.ports[1].name: Invalid value: \"HTTP\": must be lower case");
	ck_assert_str_eq(diag_reason(dl.v[0].type), "FieldValueInvalid");
	diag_list_free(&dl);
}
END_TEST

START_TEST(test_format_required_hides_value)
{
	struct diag_list	dl;
	char			buf[512];

	diag_list_init(&dl);
	diag_add(&dl, DIAG_ERROR, DIAG_REQUIRED, "a.yaml", 3, 1, "Namespace",
	    NULL, "prod", "metadata.labels", "x", NULL);
	diag_format(&dl.v[0], buf, sizeof(buf));
	ck_assert_str_eq(buf, "a.yaml:3:1: Namespace prod: metadata.labels: "
	    "Required value");
	diag_list_free(&dl);
}
END_TEST

START_TEST(test_sort_and_counts)
{
	struct diag_list dl;

	diag_list_init(&dl);
	diag_add(&dl, DIAG_ERROR, DIAG_INVALID, "b.yaml", 1, 1, NULL, NULL,
	    NULL, "x", NULL, NULL);
	diag_add(&dl, DIAG_WARNING, DIAG_INVALID, "a.yaml", 9, 1, NULL, NULL,
	    NULL, "y", NULL, NULL);
	diag_add(&dl, DIAG_ERROR, DIAG_INVALID, "a.yaml", 2, 5, NULL, NULL,
	    NULL, "z", NULL, NULL);
	diag_sort(&dl);
	ck_assert_str_eq(dl.v[0].field, "z");
	ck_assert_str_eq(dl.v[1].field, "y");
	ck_assert_str_eq(dl.v[2].field, "x");
	ck_assert_uint_eq(dl.nerr, 2);
	ck_assert_uint_eq(dl.nwarn, 1);
	diag_list_free(&dl);
}
END_TEST

START_TEST(test_json_escapes)
{
	struct diag_list	 dl;
	char			*out = NULL;
	size_t			 len = 0;
	FILE			*fp;

	diag_list_init(&dl);
	diag_add(&dl, DIAG_ERROR, DIAG_INVALID, "q\"x.yaml", 1, 2, "Service",
	    "ns", "n", "spec.x", "a\\b\n", NULL);
	fp = open_memstream(&out, &len);
	diag_print_json(&dl.v[0], fp);
	fclose(fp);
	ck_assert_str_eq(out, "{\"file\":\"q\\\"x.yaml\",\"line\":1,"
	    "\"column\":2,\"object\":\"Service/ns/n\",\"field\":\"spec.x\","
	    "\"reason\":\"FieldValueInvalid\",\"message\":"
	    "\"Invalid value: \\\"a\\\\b\\n\\\"\"}");
	free(out);
	diag_list_free(&dl);
}
END_TEST

START_TEST(test_print_groups_same_warnings)
{
	struct diag_list	 dl;
	char			*out = NULL, *p;
	size_t			 len = 0, i, lines = 0;
	FILE			*fp;
	char			 ip[32];

	diag_list_init(&dl);
	for (i = 0; i < 25; i++) {
		snprintf(ip, sizeof(ip), "127.0.0.%zu", i);
		diag_add(&dl, DIAG_WARNING, DIAG_INVALID, "f", (unsigned)i + 1,
		    1, "Pod", "ns", "p", "status.podIP", ip, "loopback");
	}
	diag_add(&dl, DIAG_WARNING, DIAG_INVALID, "f", 90, 1, "Pod", "ns",
	    "q", "status.podIP", "x", "other");
	diag_add(&dl, DIAG_ERROR, DIAG_INVALID, "f", 99, 1, "Pod", "ns",
	    "r", "status.podIP", "y", "loopback");
	fp = open_memstream(&out, &len);
	diag_print(&dl, fp);
	fclose(fp);
	for (p = out; *p != '\0'; p++)
		lines += *p == '\n';
	/* 10 of the 25, the other warning, the error, one summary. */
	ck_assert_uint_eq(lines, 13);
	ck_assert_ptr_nonnull(strstr(out, "f:10:1: Pod ns/p"));
	ck_assert_ptr_null(strstr(out, "f:11:1: Pod ns/p"));
	ck_assert_ptr_nonnull(strstr(out, "f:90:1: Pod ns/q"));
	ck_assert_ptr_nonnull(strstr(out, "error: f:99:1: Pod ns/r"));
	ck_assert_ptr_nonnull(strstr(out, "warning: 15 more warnings like "
	    "the above not shown (Invalid value: loopback)\n"));
	free(out);
	diag_list_free(&dl);
}
END_TEST

START_TEST(test_bounded)
{
	struct diag_list	dl;
	size_t			i;

	diag_list_init(&dl);
	for (i = 0; i < dl.max + 5; i++)
		diag_add(&dl, DIAG_ERROR, DIAG_INVALID, "f", 1, 1, NULL, NULL,
		    NULL, "x", NULL, NULL);
	ck_assert_uint_eq(dl.n, dl.max);
	ck_assert_uint_eq(dl.dropped, 5);
	ck_assert_uint_eq(dl.nerr, dl.max + 5);
	diag_list_free(&dl);
}
END_TEST

static Suite *
diag_suite(void)
{
	Suite	*s = suite_create("diag");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_format_invalid);
	tcase_add_test(tc, test_format_required_hides_value);
	tcase_add_test(tc, test_sort_and_counts);
	tcase_add_test(tc, test_json_escapes);
	tcase_add_test(tc, test_print_groups_same_warnings);
	tcase_add_test(tc, test_bounded);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(diag_suite());
}
