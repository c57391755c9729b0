/* ydoc: YAML to nodes, marks, limits. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "diag.h"
#include "ydoc.h"
#include "unit.h"

struct fixture {
	struct arena		a;
	struct diag_list	dl;
	struct ydoc		doc;
};

static int
parse(struct fixture *f, const char *text)
{
	arena_init(&f->a, 0);
	diag_list_init(&f->dl);
	return ydoc_parse(&f->a, "t.yaml", text, strlen(text), NULL,
	    &f->doc, &f->dl);
}

static void
done(struct fixture *f)
{
	arena_free(&f->a);
	diag_list_free(&f->dl);
}

START_TEST(test_marks_and_types)
{
	struct fixture		 f;
	const struct ynode	*root, *n;

	ck_assert_int_eq(parse(&f, "a: 1\nb:\n  - x\n  - \"2\"\nc: ~\n"),
	    0);
	ck_assert_uint_eq(f.doc.ndocs, 1);
	root = f.doc.docs[0];
	ck_assert_int_eq(root->kind, YN_MAP);
	ck_assert_uint_eq(root->n, 3);
	n = ydoc_get(root, "a");
	ck_assert_int_eq(n->kind, YN_SCALAR);
	ck_assert_str_eq(n->str, "1");
	ck_assert_int_eq(n->plain, 1);
	ck_assert_uint_eq(n->line, 1);
	ck_assert_uint_eq(n->col, 4);
	n = ydoc_get(root, "b");
	ck_assert_int_eq(n->kind, YN_SEQ);
	ck_assert_uint_eq(n->n, 2);
	ck_assert_uint_eq(n->items[1]->line, 4);
	ck_assert_uint_eq(n->items[1]->col, 5);
	ck_assert_int_eq(n->items[1]->plain, 0);
	ck_assert_int_eq(ydoc_get(root, "c")->kind, YN_NULL);
	ck_assert_ptr_null(ydoc_get(root, "missing"));
	ck_assert_uint_eq(ydoc_key(root, "c")->line, 5);
	done(&f);
}
END_TEST

START_TEST(test_multi_document)
{
	struct fixture f;

	ck_assert_int_eq(parse(&f, "a: 1\n---\nb: 2\n---\n...\n"), 0);
	ck_assert_uint_eq(f.doc.ndocs, 3);
	ck_assert_int_eq(f.doc.docs[2]->kind, YN_NULL);
	done(&f);
}
END_TEST

START_TEST(test_duplicate_key)
{
	struct fixture f;

	ck_assert_int_eq(parse(&f, "a: 1\nb: 2\na: 3\n"), -1);
	ck_assert_uint_eq(f.dl.nerr, 1);
	ck_assert_uint_eq(f.dl.v[0].line, 3);
	ck_assert_uint_eq(f.dl.v[0].col, 1);
	ck_assert_ptr_nonnull(strstr(f.dl.v[0].detail, "duplicate key"));
	done(&f);
}
END_TEST

START_TEST(test_duplicate_key_large_map)
{
	struct fixture	f;
	char		buf[4096];
	size_t		off = 0;
	int		i;

	for (i = 0; i < 40; i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off,
		    "k%d: v\n", i);
	snprintf(buf + off, sizeof(buf) - off, "k17: again\n");
	ck_assert_int_eq(parse(&f, buf), -1);
	ck_assert_uint_eq(f.dl.nerr, 1);
	ck_assert_uint_eq(f.dl.v[0].line, 41);
	done(&f);
}
END_TEST

START_TEST(test_syntax_error_mark)
{
	struct fixture f;

	ck_assert_int_eq(parse(&f, "a: 1\nb: [1, 2\nc: 3\n"), -1);
	ck_assert_uint_eq(f.dl.nerr, 1);
	ck_assert_int_eq(f.dl.v[0].type, DIAG_SYNTAX);
	ck_assert_uint_ge(f.dl.v[0].line, 2);
	done(&f);
}
END_TEST

START_TEST(test_invalid_utf8)
{
	struct fixture f;

	ck_assert_int_eq(parse(&f, "a: \xff\xfe\n"), -1);
	ck_assert_uint_eq(f.dl.nerr, 1);
	ck_assert_int_eq(f.dl.v[0].type, DIAG_SYNTAX);
	done(&f);
}
END_TEST

START_TEST(test_alias_shares_node)
{
	struct fixture		 f;
	const struct ynode	*root;

	ck_assert_int_eq(parse(&f, "a: &x {k: v}\nb: *x\n"), 0);
	root = f.doc.docs[0];
	ck_assert_ptr_eq(ydoc_get(root, "a"), ydoc_get(root, "b"));
	done(&f);
}
END_TEST

START_TEST(test_alias_bomb)
{
	struct fixture	f;
	char		buf[8192];
	size_t		off = 0;
	int		i;

	/* Each level doubles: 2^30 nodes if expanded. */
	off += (size_t)snprintf(buf, sizeof(buf), "l0: &l0 [x, x]\n");
	for (i = 1; i <= 30; i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off,
		    "l%d: &l%d [*l%d, *l%d]\n", i, i, i - 1, i - 1);
	ck_assert_int_eq(parse(&f, buf), -1);
	ck_assert_uint_eq(f.dl.nerr, 1);
	ck_assert_ptr_nonnull(strstr(f.dl.v[0].detail, "aliases expand"));
	ck_assert_uint_lt(f.a.used, 4u * 1024 * 1024);
	done(&f);
}
END_TEST

START_TEST(test_recursive_alias_rejected)
{
	struct fixture f;

	/* The anchor is not usable until its node is complete. */
	ck_assert_int_eq(parse(&f, "a: &x [*x]\n"), -1);
	ck_assert_ptr_nonnull(strstr(f.dl.v[0].detail, "unknown anchor"));
	done(&f);
}
END_TEST

START_TEST(test_depth_limit)
{
	struct fixture	 f;
	char		*buf;
	int		 i, n = YDOC_MAX_DEPTH + 10;

	buf = malloc((size_t)n * 2 + 2);
	for (i = 0; i < n; i++)
		buf[i] = '[';
	for (i = 0; i < n; i++)
		buf[n + i] = ']';
	buf[2 * n] = '\n';
	buf[2 * n + 1] = '\0';
	ck_assert_int_eq(parse(&f, buf), -1);
	ck_assert_ptr_nonnull(strstr(f.dl.v[0].detail, "nesting deeper"));
	free(buf);
	done(&f);
}
END_TEST

START_TEST(test_size_limit)
{
	struct fixture f;

	arena_init(&f.a, 0);
	diag_list_init(&f.dl);
	/* The size is checked before a byte is read. */
	ck_assert_int_eq(ydoc_parse(&f.a, "big.yaml", "", (size_t)
	    YDOC_MAX_FILE + 1, NULL, &f.doc, &f.dl), -1);
	ck_assert_ptr_nonnull(strstr(f.dl.v[0].detail, "over the limit"));
	done(&f);
}
END_TEST

START_TEST(test_null_forms)
{
	struct fixture		 f;
	const struct ynode	*root;

	ck_assert_int_eq(parse(&f,
	    "a: null\nb: Null\nc: ~\nd:\ne: \"null\"\nf: ''\n"), 0);
	root = f.doc.docs[0];
	ck_assert_int_eq(ydoc_get(root, "a")->kind, YN_NULL);
	ck_assert_int_eq(ydoc_get(root, "b")->kind, YN_NULL);
	ck_assert_int_eq(ydoc_get(root, "c")->kind, YN_NULL);
	ck_assert_int_eq(ydoc_get(root, "d")->kind, YN_NULL);
	ck_assert_int_eq(ydoc_get(root, "e")->kind, YN_SCALAR);
	ck_assert_int_eq(ydoc_get(root, "f")->kind, YN_SCALAR);
	done(&f);
}
END_TEST

static Suite *
ydoc_suite(void)
{
	Suite	*s = suite_create("ydoc");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_marks_and_types);
	tcase_add_test(tc, test_multi_document);
	tcase_add_test(tc, test_duplicate_key);
	tcase_add_test(tc, test_duplicate_key_large_map);
	tcase_add_test(tc, test_syntax_error_mark);
	tcase_add_test(tc, test_invalid_utf8);
	tcase_add_test(tc, test_alias_shares_node);
	tcase_add_test(tc, test_alias_bomb);
	tcase_add_test(tc, test_recursive_alias_rejected);
	tcase_add_test(tc, test_depth_limit);
	tcase_add_test(tc, test_size_limit);
	tcase_add_test(tc, test_null_forms);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(ydoc_suite());
}
