/* ydoc: YAML to nodes, marks, limits. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

/* The position of an encoding error is the bad byte's, not 1:1. */
static void
assert_encoding_error(const char *text, size_t len, unsigned line,
    unsigned col, const char *detail)
{
	struct fixture f;

	arena_init(&f.a, 0);
	diag_list_init(&f.dl);
	ck_assert_int_eq(ydoc_parse(&f.a, "t.yaml", text, len, NULL, &f.doc,
	    &f.dl), -1);
	ck_assert_uint_eq(f.dl.nerr, 1);
	ck_assert_int_eq(f.dl.v[0].type, DIAG_SYNTAX);
	ck_assert_msg(f.dl.v[0].line == line && f.dl.v[0].col == col,
	    "%s at %u:%u, want %u:%u", f.dl.v[0].detail, f.dl.v[0].line,
	    f.dl.v[0].col, line, col);
	ck_assert_msg(strstr(f.dl.v[0].detail, detail) != NULL, "%s",
	    f.dl.v[0].detail);
	done(&f);
}

#define ENC(lit, line, col, detail) \
	assert_encoding_error(lit, sizeof(lit) - 1, line, col, detail)

START_TEST(test_encoding_error_positions)
{
	/* NUL in a value on line 4; columns count characters. */
	ENC("apiVersion: v1\nkind: Service\nmetadata:\n  name: w\0x\n",
	    4, 10, "control characters are not allowed (U+0000)");
	ENC("a: 1\nb: 2\n  # \xc3\xa9t\xc3\xa9\n\nc: x\0\n", 5, 5,
	    "(U+0000)");
	/* A stray byte on line 42, column 14. */
	{
		char	buf[1024];
		size_t	off = 0;
		int	i;

		for (i = 1; i < 42; i++)
			off += (size_t)snprintf(buf + off, sizeof(buf) - off,
			    "k%d: v\n", i);
		/* "k42: value\xc3\xa9s " is 13 characters, 14 bytes. */
		off += (size_t)snprintf(buf + off, sizeof(buf) - off,
		    "k42: value\xc3\xa9s \xff\n");
		assert_encoding_error(buf, off, 42, 14,
		    "invalid leading UTF-8 octet (byte 0xFF)");
		buf[off - 2] = '\0';
		assert_encoding_error(buf, off, 42, 14,
		    "control characters are not allowed (U+0000)");
	}
	/* A truncated sequence: the character it was to end. */
	ENC("a: 1\nb: \"\xe2\x82\"\n", 2, 5, "invalid trailing UTF-8 octet");
	/* Other line breaks and the byte order mark. */
	ENC("\xef\xbb\xbf" "a: 1\r\nb: 2\rc: \x01\n", 3, 4, "(U+0001)");
	ENC("a: 1\nb: x\xc2\x85y: \x7f\n", 3, 4, "(U+007F)");
	/* UTF-16, by its byte order mark: 16-bit units. */
	ENC("\xff\xfe" "a\0:\0 \0" "1\0\n\0" "b\0\xe9\0:\0 \0\x01\0\n\0", 2,
	    5, "(U+0001)");
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

/* A filter that drops the value of every key named "drop". */
static const char drop_ctx;

static const void *
drop_child(void *arg, const void *parent, enum ynode_kind pkind,
    struct ynode *const *pairs, size_t npairs, const struct ynode *key)
{
	(void)arg;
	(void)parent;
	(void)pairs;
	(void)npairs;
	if (pkind == YN_MAP && key != NULL && key->str != NULL &&
	    strcmp(key->str, "drop") == 0)
		return YDOC_SKIP;
	return &drop_ctx;
}

static const struct ydoc_filter drop_filter = { drop_child, NULL, &drop_ctx };

/* "KEY: " then n flow sequences nested, as text (malloc'd). */
static char *
nested(const char *key, size_t n)
{
	size_t	 klen = strlen(key), i;
	char	*buf = malloc(klen + 2 * n + 4);

	ck_assert_ptr_nonnull(buf);
	memcpy(buf, key, klen);
	memcpy(buf + klen, ": ", 2);
	for (i = 0; i < n; i++) {
		buf[klen + 2 + i] = '[';
		buf[klen + 2 + n + i] = ']';
	}
	strcpy(buf + klen + 2 + 2 * n, "\n");
	return buf;
}

static int
parse_filtered(struct fixture *f, const char *text)
{
	arena_init(&f->a, 0);
	diag_list_init(&f->dl);
	return ydoc_parse(&f->a, "t.yaml", text, strlen(text), &drop_filter,
	    &f->doc, &f->dl);
}

/*
 * A dropped pair's key is never made a node (key_drops): the nodes
 * counted are the root, a, 1, b and 2.  The value after a dropped key
 * is not read as a key, quoted keys are dropped like plain ones, and a
 * dropped key with an anchor stays a node an alias can name.
 */
START_TEST(test_dropped_key_costs_no_node)
{
	struct fixture		 f;
	struct ydoc_piece	 pc;
	const char		*text = "a: 1\ndrop: {x: [1, 2]}\n"
				    "\"drop\": 61002\nb: 2\n";

	memset(&pc, 0, sizeof(pc));
	arena_init(&f.a, 0);
	diag_list_init(&f.dl);
	ck_assert_int_eq(ydoc_parse_piece(&f.a, "t.yaml", text, strlen(text),
	    &drop_filter, &pc, &f.doc, &f.dl), 0);
	ck_assert_uint_eq(f.dl.n, 0);
	ck_assert_uint_eq(f.doc.docs[0]->n, 2);
	ck_assert_str_eq(f.doc.docs[0]->items[0]->str, "a");
	ck_assert_str_eq(f.doc.docs[0]->items[2]->str, "b");
	ck_assert_str_eq(ydoc_get(f.doc.docs[0], "b")->str, "2");
	ck_assert_ptr_null(ydoc_get(f.doc.docs[0], "61002"));
	ck_assert_uint_eq(pc.nodes, 5);
	done(&f);

	ck_assert_int_eq(parse_filtered(&f,
	    "&k drop: v\nuse: *k\n"), 0);
	ck_assert_uint_eq(f.doc.docs[0]->n, 1);
	ck_assert_str_eq(ydoc_get(f.doc.docs[0], "use")->str, "drop");
	done(&f);
}
END_TEST

/*
 * The depth limit holds in a dropped field too: the root map is one
 * level, so 63 sequences fit and 64 do not, kept or dropped.
 */
START_TEST(test_depth_limit_dropped)
{
	struct fixture	 f;
	char		*buf;

	buf = nested("drop", YDOC_MAX_DEPTH - 1);
	ck_assert_int_eq(parse_filtered(&f, buf), 0);
	ck_assert_ptr_null(ydoc_get(f.doc.docs[0], "drop"));
	done(&f);
	free(buf);
	buf = nested("keep", YDOC_MAX_DEPTH - 1);
	ck_assert_int_eq(parse_filtered(&f, buf), 0);
	ck_assert_ptr_nonnull(ydoc_get(f.doc.docs[0], "keep"));
	done(&f);
	free(buf);
	buf = nested("drop", YDOC_MAX_DEPTH);
	ck_assert_int_eq(parse_filtered(&f, buf), -1);
	ck_assert_ptr_nonnull(strstr(f.dl.v[0].detail, "nesting deeper"));
	ck_assert_uint_eq(f.dl.v[0].line, 1);
	ck_assert_uint_eq(f.dl.v[0].col, 6 + YDOC_MAX_DEPTH);
	done(&f);
	free(buf);
	buf = nested("keep", YDOC_MAX_DEPTH);
	ck_assert_int_eq(parse_filtered(&f, buf), -1);
	ck_assert_uint_eq(f.dl.v[0].col, 6 + YDOC_MAX_DEPTH);
	done(&f);
	free(buf);
}
END_TEST

/*
 * Hostile shapes must cost time linear in their size.  Each test below
 * takes a fraction of a second of CPU when it does and a minute or more
 * when it is quadratic: its CPU time is asserted (other processes on
 * the machine do not count), and its test case has a timeout for a
 * shape that would never finish.
 */
#define HOSTILE_CPU_MAX		2.0	/* seconds; ~0.2 when linear */
#define HOSTILE_TIMEOUT		20	/* seconds, wall clock */

static double
cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
assert_cpu_since(double start, const char *what)
{
	double used = cpu_seconds() - start;

	ck_assert_msg(used < HOSTILE_CPU_MAX, "%s took %.2f s of CPU", what,
	    used);
}

/* 200,000 levels of `[` in a dropped field never finished. */
START_TEST(test_deep_nesting_dropped_fast)
{
	struct fixture	 f;
	char		*buf = nested("drop", 200000);
	double		 start = cpu_seconds();

	ck_assert_int_eq(parse_filtered(&f, buf), -1);
	assert_cpu_since(start, "200,000 levels");
	ck_assert_uint_eq(f.dl.nerr, 1);
	ck_assert_ptr_nonnull(strstr(f.dl.v[0].detail, "nesting deeper"));
	done(&f);
	free(buf);
}
END_TEST

/* 100,000 anchors, each aliased: a scan per alias took a minute. */
START_TEST(test_many_anchors_fast)
{
	struct fixture		 f;
	const struct ynode	*seq;
	size_t			 n = 100000, off = 0, cap = n * 40, i;
	char			*buf = malloc(cap);
	double			 start;

	ck_assert_ptr_nonnull(buf);
	for (i = 0; i < n; i++)
		off += (size_t)snprintf(buf + off, cap - off,
		    "- &anchor%zu v%zu\n", i, i);
	/* A shadowing anchor: later ones of a name win. */
	off += (size_t)snprintf(buf + off, cap - off, "- &anchor7 seven\n");
	for (i = 0; i < n; i++)
		off += (size_t)snprintf(buf + off, cap - off,
		    "- *anchor%zu\n", n - 1 - i);
	start = cpu_seconds();
	ck_assert_int_eq(parse(&f, buf), 0);
	assert_cpu_since(start, "100,000 anchors");
	seq = f.doc.docs[0];
	ck_assert_uint_eq(seq->n, 2 * n + 1);
	ck_assert_str_eq(seq->items[2 * n - 7]->str, "seven");
	for (i = 0; i < n; i++)
		if (i != 7 && seq->items[2 * n - i] != seq->items[i])
			break;
	ck_assert_msg(i == n, "alias of anchor%zu is another node", i);
	done(&f);
	free(buf);
}
END_TEST

/* Every key of a 100,000-key map found, by ydoc_get, in its order. */
START_TEST(test_large_map_lookup_fast)
{
	struct fixture		 f;
	const struct ynode	*root, *v;
	size_t			 n = 100000, off = 0, cap = n * 32, i;
	char			*buf = malloc(cap), key[32];
	double			 start;

	ck_assert_ptr_nonnull(buf);
	/* Keys that are prefixes of others, and non-scalar keys. */
	for (i = 0; i < n; i++)
		off += (size_t)snprintf(buf + off, cap - off, "k%zu: %zu\n",
		    n - 1 - i, i);
	off += (size_t)snprintf(buf + off, cap - off,
	    "~: null key\n? [a]\n: seq key\n\"\": empty\n");
	start = cpu_seconds();
	ck_assert_int_eq(parse(&f, buf), 0);
	root = f.doc.docs[0];
	ck_assert_uint_eq(root->n, n + 3);
	/* One assertion at the end: each ck_assert writes to a pipe. */
	for (i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "k%zu", i);
		if ((v = ydoc_get(root, key)) == NULL ||
		    strtoul(v->str, NULL, 10) != n - 1 - i ||
		    strcmp(ydoc_key(root, key)->str, key) != 0)
			break;
	}
	ck_assert_msg(i == n, "key k%zu not found or wrong", i);
	assert_cpu_since(start, "100,000 keys looked up");
	ck_assert_str_eq(ydoc_get(root, "")->str, "empty");
	ck_assert_ptr_null(ydoc_get(root, "k"));
	ck_assert_ptr_null(ydoc_get(root, "k100000"));
	ck_assert_ptr_null(ydoc_get(root, "~"));
	ck_assert_ptr_null(ydoc_get(root, "null"));
	ck_assert_uint_eq(ydoc_key(root, "k0")->line, n);
	done(&f);
	free(buf);
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
	tcase_add_test(tc, test_encoding_error_positions);
	tcase_add_test(tc, test_depth_limit_dropped);
	tcase_add_test(tc, test_dropped_key_costs_no_node);
	suite_add_tcase(s, tc);
	tc = tcase_create("hostile");
	tcase_set_timeout(tc, HOSTILE_TIMEOUT);
	tcase_add_test(tc, test_deep_nesting_dropped_fast);
	tcase_add_test(tc, test_many_anchors_fast);
	tcase_add_test(tc, test_large_map_lookup_fast);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(ydoc_suite());
}
