/*
 * ysplit + load's parallel path: where a file is cut, what is refused,
 * and that a file parsed in pieces on several threads gives the serial
 * parse's objects, diagnostics (in order) and hash, errors included.
 */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "load.h"
#include "unit.h"
#include "ydoc.h"
#include "ysplit.h"

_Static_assert(sizeof(struct ynode) == 24, "ynode grew");

/* ---- the cuts ---- */

/* Find with tiny pieces (a cut at every boundary), then scan all. */
static int
split_all(const char *text, struct ysplit *sp)
{
	size_t	len = strlen(text), i;
	int	form = ysplit_find(text, len, 1, YSPLIT_MAX_PIECES, sp);

	if (form <= 0)
		return form;
	if (form == YSPLIT_LIST && ysplit_scan(sp, SIZE_MAX, text, len) == -1)
		return -2;
	for (i = 0; i < sp->npieces; i++)
		if (ysplit_scan(sp, i, text, len) == -1)
			return -2;
	ysplit_lines(sp);
	return form;
}

static const char *
piece_text(const char *text, const struct ysplit *sp, size_t i, char *buf,
    size_t len)
{
	snprintf(buf, len, "%.*s", (int)sp->pieces[i].len,
	    text + sp->pieces[i].off);
	return buf;
}

START_TEST(test_docs_cut)
{
	/* No leading ---, a comment, a literal block holding "---". */
	static const char text[] =
	    "# head\n"
	    "a: 1\n"
	    "---\n"
	    "b: |\n"
	    "  ---\n"
	    "  x\n"
	    "--- # c\n"
	    "c: 2\n"
	    "...\n"
	    "---\n"
	    "d: 3\n";
	struct ysplit	sp;
	char		buf[128];

	ck_assert_int_eq(split_all(text, &sp), YSPLIT_DOCS);
	ck_assert_uint_eq(sp.npieces, 4);
	ck_assert_str_eq(piece_text(text, &sp, 0, buf, sizeof(buf)),
	    "# head\na: 1\n");
	ck_assert_str_eq(piece_text(text, &sp, 1, buf, sizeof(buf)),
	    "---\nb: |\n  ---\n  x\n");
	ck_assert_str_eq(piece_text(text, &sp, 2, buf, sizeof(buf)),
	    "--- # c\nc: 2\n...\n");
	ck_assert_str_eq(piece_text(text, &sp, 3, buf, sizeof(buf)),
	    "---\nd: 3\n");
	ck_assert_uint_eq(sp.pieces[1].line, 2);
	ck_assert_uint_eq(sp.pieces[2].line, 6);
	ck_assert_uint_eq(sp.pieces[3].line, 9);
	ysplit_free(&sp);

	/* "---x" and " ---" are no document starts. */
	ck_assert_int_eq(split_all("a: 1\n---x: 2\n ---\n", &sp), YSPLIT_NONE);
}
END_TEST

START_TEST(test_docs_crlf)
{
	static const char text[] = "a: 1\r\n---\r\nb: 2\r\n---\r\nc: 3\r\n";
	struct ysplit sp;

	ck_assert_int_eq(split_all(text, &sp), YSPLIT_DOCS);
	ck_assert_uint_eq(sp.npieces, 3);
	ck_assert_uint_eq(sp.pieces[1].off, 6);
	ck_assert_uint_eq(sp.pieces[2].line, 3);
	ysplit_free(&sp);
	/* A lone CR is a line end to libyaml, not counted here: refused. */
	ck_assert_int_eq(split_all("a: 1\n---\nb: 2\rc\n", &sp), -2);
	ysplit_free(&sp);
}
END_TEST

START_TEST(test_refused)
{
	struct ysplit sp;

	/* A directive applies to the next document. */
	ck_assert_int_eq(split_all("a: 1\n---\n%TAG ! x\n---\nb: 2\n", &sp),
	    -2);
	ysplit_free(&sp);
	/* NEL, LS: line ends libyaml counts. */
	ck_assert_int_eq(split_all("a: \"x\xc2\x85y\"\n---\nb: 2\n", &sp), -2);
	ysplit_free(&sp);
	ck_assert_int_eq(split_all("a: x\xe2\x80\xa8y\n---\nb: 2\n", &sp), -2);
	ysplit_free(&sp);
	/* UTF-16 is not cut (bytes are). */
	ck_assert_int_eq(split_all("\xff\xfe" "a\0:\0 \0\n\0-\0-\0-\0\n\0",
	    &sp), YSPLIT_NONE);
}
END_TEST

static const char list_text[] =
    "# from kubectl\n"
    "apiVersion: v1\n"
    "items:\n"
    "- apiVersion: v1\n"
    "  kind: Namespace\n"
    "  metadata:\n"
    "    name: a\n"
    "# between\n"
    "\n"
    "- apiVersion: v1\n"
    "  kind: Namespace\n"
    "  metadata:\n"
    "    name: b\n"
    "    annotations: {x: \"- not an item\"}\n"
    "- apiVersion: v1\n"
    "  kind: Namespace\n"
    "  metadata:\n"
    "    name: c\n"
    "kind: List\n"
    "metadata:\n"
    "  resourceVersion: \"\"\n";

START_TEST(test_list_cut)
{
	struct ysplit	sp;
	char		buf[256];

	ck_assert_int_eq(split_all(list_text, &sp), YSPLIT_LIST);
	ck_assert_uint_eq(sp.head_lines, 3);
	ck_assert_str_eq(piece_text(list_text, &sp, 0, buf, 22),
	    "- apiVersion: v1\n  ki");
	ck_assert_uint_eq(sp.npieces, 3);
	ck_assert_uint_eq(sp.pieces[1].line, 9);
	/* The last item and the List's own keys. */
	ck_assert_uint_eq(sp.pieces[2].line, 14);
	ck_assert_ptr_nonnull(strstr(piece_text(list_text, &sp, 2, buf,
	    sizeof(buf)), "name: c\nkind: List\n"));
	ysplit_free(&sp);
}
END_TEST

START_TEST(test_list_refused)
{
	struct ysplit	 sp;
	char		*t;

	/* An alias may name an anchor of an earlier item. */
	t = strdup(list_text);
	memcpy(strstr(t, "name: c"), "name: *", 7);
	ck_assert_int_eq(split_all(t, &sp), -2);
	ysplit_free(&sp);
	free(t);
	/* A root key between items. */
	t = strdup(list_text);
	memcpy(strstr(t, "# between"), "between:", 8);
	ck_assert_int_eq(split_all(t, &sp), -2);
	ysplit_free(&sp);
	free(t);
	/* items: not followed by an item at column 0. */
	ck_assert_int_eq(split_all("apiVersion: v1\nitems:\n  - a: 1\n"
	    "  - b: 2\nkind: List\n", &sp), YSPLIT_NONE);
}
END_TEST

/* ---- parallel == serial ---- */

struct outcome {
	int	 rc;
	size_t	 nerr;
	uint64_t hash;
	char	*objs;		/* malloc: one line per object */
	char	*diags;		/* malloc: one line per diagnostic */
};

static void
append(char **s, size_t *len, const char *line)
{
	size_t n = strlen(line);

	*s = realloc(*s, *len + n + 2);
	ck_assert_ptr_nonnull(*s);
	memcpy(*s + *len, line, n);
	(*s)[*len + n] = '\n';
	*len += n + 1;
	(*s)[*len] = '\0';
}

#define OBJ_LINES(vec, kind) do {					\
	size_t i_;							\
	for (i_ = 0; i_ < (vec).n; i_++) {				\
		snprintf(line, sizeof(line), "%s %s/%s %s:%u:%u", kind,	\
		    (vec).v[i_]->meta.ns ? (vec).v[i_]->meta.ns : "-",	\
		    (vec).v[i_]->meta.name, (vec).v[i_]->file,		\
		    (vec).v[i_]->y->line, (vec).v[i_]->y->col);		\
		append(&o->objs, &olen, line);				\
	}								\
} while (0)

static void
outcome_load(struct outcome *o, const char *text, size_t nthreads,
    size_t piece_size)
{
	struct load_split	 split = { nthreads, piece_size };
	struct kset		 set;
	struct diag_list	 dl;
	char			 line[1024];
	size_t			 olen = 0, dlen = 0, i;

	memset(o, 0, sizeof(*o));
	kset_init(&set);
	diag_list_init(&dl);
	o->rc = load_buffer_split(&set, "big.yaml", text, strlen(text),
	    &split, &dl);
	load_finish(&set, &dl);
	o->hash = set.hash;
	o->nerr = dl.nerr;
	append(&o->objs, &olen, "objects:");
	OBJ_LINES(set.svcs, "Service");
	OBJ_LINES(set.pods, "Pod");
	OBJ_LINES(set.nss, "Namespace");
	OBJ_LINES(set.netpols, "NetworkPolicy");
	snprintf(line, sizeof(line), "pcfg %s %u skipped %zu",
	    set.pcfg ? set.pcfg->meta.name : "-",
	    set.pcfg ? set.pcfg->y->line : 0, set.nskipped);
	append(&o->objs, &olen, line);
	append(&o->diags, &dlen, "diags:");
	for (i = 0; i < dl.n; i++) {
		diag_format(&dl.v[i], line, sizeof(line));
		append(&o->diags, &dlen, line);
	}
	unit_free(&set, &dl);
}

static void
outcome_free(struct outcome *o)
{
	free(o->objs);
	free(o->diags);
}

/*
 * text parsed serially, and in pieces of every size from one byte (a
 * cut at every boundary) to a third of the file, on 2 and 3 threads:
 * the same outcome each time.  Returns the serial one's error count.
 */
static size_t
same_as_serial_n(const char *text, size_t nsizes)
{
	struct outcome	 serial, par;
	size_t		 len = strlen(text), sizes[] = { len / 3, 1, 2, 40, 97 };
	size_t		 i, t, nerr;

	outcome_load(&serial, text, 1, 0);
	nerr = serial.nerr;
	for (t = 2; t <= 3; t++)
		for (i = 0; i < nsizes && i < sizeof(sizes) / sizeof(sizes[0]);
		    i++) {
			outcome_load(&par, text, t, sizes[i]);
			ck_assert_int_eq(par.rc, serial.rc);
			ck_assert_uint_eq(par.hash, serial.hash);
			ck_assert_str_eq(par.objs, serial.objs);
			ck_assert_str_eq(par.diags, serial.diags);
			outcome_free(&par);
		}
	outcome_free(&serial);
	return nerr;
}

static size_t
same_as_serial(const char *text)
{
	return same_as_serial_n(text, 5);
}

static char	*list_file(size_t, int, const char *);

static char *
docs_file(size_t n, const char *last)
{
	size_t	 cap = n * 256 + strlen(last) + 1, off = 0, i;
	char	*buf = malloc(cap);

	ck_assert_ptr_nonnull(buf);
	for (i = 0; i < n; i++)
		off += (size_t)snprintf(buf + off, cap - off,
		    "%sapiVersion: v1\nkind: Pod\nmetadata:\n  name: p%zu\n"
		    "  namespace: ns%zu\n  labels: {app: a%zu}\nspec:\n"
		    "  containers:\n  - name: c\n    image: x\nstatus:\n"
		    "  podIP: 127.1.0.%zu\n", i ? "---\n" : "", i, i % 3,
		    i % 5, i % 250 + 1);
	snprintf(buf + off, cap - off, "%s", last);
	return buf;
}

START_TEST(test_docs_same)
{
	char *t, *u;

	t = docs_file(40, "");
	ck_assert_uint_eq(same_as_serial(t), 0);
	free(t);
	/* No newline at the end (libyaml counts the last line anyway). */
	t = docs_file(40, "---\napiVersion: v1\nkind: Namespace\n"
	    "metadata: {name: last}");
	ck_assert_uint_eq(same_as_serial(t), 0);
	free(t);
	t = list_file(40, 0, "");
	t[strlen(t) - 1] = '\0';
	ck_assert_uint_eq(same_as_serial(t), 0);
	free(t);
	/* An error in the last document: its own line and column. */
	t = docs_file(40, "---\napiVersion: v1\nkind: Service\nmetadata:\n"
	    "  name: s\nspec:\n  bogus: 1\n");
	ck_assert_uint_gt(same_as_serial(t), 0);
	free(t);
	/*
	 * A ProxyConfig first, a second one far after it followed by a
	 * skipped kind in the same piece (the "at most one" error goes
	 * before its warning), a duplicate Pod.
	 */
	t = docs_file(40, "---\napiVersion: svcproxy.io/v1alpha1\n"
	    "kind: ProxyConfig\nmetadata: {name: b}\n---\n"
	    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: m}\n---\n"
	    "apiVersion: v1\nkind: Pod\nmetadata: {name: p3, namespace: ns0}\n");
	u = malloc(strlen(t) + 128);
	ck_assert_ptr_nonnull(u);
	sprintf(u, "apiVersion: svcproxy.io/v1alpha1\nkind: ProxyConfig\n"
	    "metadata: {name: a}\n---\n%s", t);
	ck_assert_uint_eq(same_as_serial(u), 2);
	free(u);
	free(t);
}
END_TEST

START_TEST(test_docs_errors_same)
{
	char *t;

	/* A syntax error in the middle: no object of the file. */
	t = docs_file(40, "");
	memcpy(strstr(t, "labels: {app: a2}"), "labels: {app: a2 ", 17);
	ck_assert_uint_eq(same_as_serial(t), 1);
	free(t);
	/* Duplicate keys in two documents, then a syntax error. */
	t = docs_file(40, "---\na: [\n");
	memcpy(strstr(t, "name: p5\n  namespace"), "name: p5\n  name:     ", 21);
	memcpy(strstr(t, "name: p9\n  namespace"), "name: p9\n  name:     ", 21);
	ck_assert_uint_eq(same_as_serial(t), 3);
	free(t);
	/* "---" at column 0 inside a quoted string: the cut is wrong. */
	t = docs_file(40, "---\napiVersion: v1\nkind: Namespace\n"
	    "metadata:\n  name: q\n  annotations:\n    a: \"x\n---\n y\"\n");
	ck_assert_uint_gt(same_as_serial(t), 0);
	free(t);
	/* A flow collection open across the "---". */
	t = docs_file(40, "---\nx: [1,\n---\n]\n");
	ck_assert_uint_gt(same_as_serial(t), 0);
	free(t);
}
END_TEST

static char *
list_file(size_t n, int kind_first, const char *last)
{
	size_t	 cap = n * 256 + strlen(last) + 128, off = 0, i;
	char	*buf = malloc(cap);

	ck_assert_ptr_nonnull(buf);
	off += (size_t)snprintf(buf + off, cap - off, "apiVersion: v1\n%s"
	    "items:\n", kind_first ? "kind: List\n" : "");
	for (i = 0; i < n; i++)
		off += (size_t)snprintf(buf + off, cap - off,
		    "- apiVersion: v1\n  kind: Pod\n  metadata:\n"
		    "    name: p%zu\n    namespace: ns%zu\n    labels:\n"
		    "      app: a%zu\n  spec:\n    containers:\n    - name: c\n"
		    "      resources: {requests: {cpu: 1, cpu: 2}}\n"
		    "  status:\n    podIP: 127.1.0.%zu\n", i, i % 3, i % 5,
		    i % 250 + 1);
	off += (size_t)snprintf(buf + off, cap - off, "%s", last);
	if (!kind_first)
		snprintf(buf + off, cap - off,
		    "kind: List\nmetadata:\n  resourceVersion: \"\"\n");
	return buf;
}

START_TEST(test_list_same)
{
	char *t;

	t = list_file(40, 0, "");
	ck_assert_uint_eq(same_as_serial(t), 0);
	free(t);
	t = list_file(40, 1, "");
	ck_assert_uint_eq(same_as_serial(t), 0);
	free(t);
	/* An error in the last item. */
	t = list_file(40, 0, "- apiVersion: v1\n  kind: Service\n"
	    "  metadata: {name: s}\n  spec:\n    bogus: 0\n");
	ck_assert_uint_gt(same_as_serial(t), 0);
	free(t);
	/* A duplicate root key after the items; a syntax error mid-way. */
	t = list_file(40, 0, "apiVersion: v2\n");
	ck_assert_uint_eq(same_as_serial(t), 1);
	free(t);
	t = list_file(40, 0, "");
	memcpy(strstr(t, "app: a2\n"), "app: [a2", 8);
	ck_assert_uint_eq(same_as_serial(t), 1);
	free(t);
	/* Not a List after all: items is an unknown field of a Service. */
	t = list_file(40, 0, "");
	memcpy(strstr(t, "kind: List\nmetadata:\n  "), "kind: Service\nmetadata:"
	    "\n  name: s\n", 33);
	same_as_serial(t);
	free(t);
}
END_TEST

/*
 * A file's limit on what aliases expand to, reached in a later piece:
 * counted across the pieces, reported where the serial parse reports it
 * (as the node limit is; that one takes 16 million nodes to reach).
 */
START_TEST(test_alias_limit_same)
{
	size_t	 ndocs = 14, cap = ndocs * 8192, off = 0, i, j;
	char	*buf = malloc(cap);

	ck_assert_ptr_nonnull(buf);
	/* Each document's aliases expand to 100 x 1001 nodes. */
	for (i = 0; i < ndocs; i++) {
		off += (size_t)snprintf(buf + off, cap - off, "%sa: &x [",
		    i ? "---\n" : "");
		for (j = 0; j < 1000; j++)
			off += (size_t)snprintf(buf + off, cap - off, "1,");
		off += (size_t)snprintf(buf + off, cap - off, "]\nb: [");
		for (j = 0; j < 100; j++)
			off += (size_t)snprintf(buf + off, cap - off, "*x, ");
		off += (size_t)snprintf(buf + off, cap - off, "]\n");
	}
	ck_assert_uint_eq(same_as_serial(buf), 1);
	free(buf);
}
END_TEST

static Suite *
ysplit_suite(void)
{
	Suite	*s = suite_create("ysplit");
	TCase	*tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_docs_cut);
	tcase_add_test(tc, test_docs_crlf);
	tcase_add_test(tc, test_refused);
	tcase_add_test(tc, test_list_cut);
	tcase_add_test(tc, test_list_refused);
	tcase_add_test(tc, test_docs_same);
	tcase_add_test(tc, test_docs_errors_same);
	tcase_add_test(tc, test_list_same);
	tcase_add_test(tc, test_alias_limit_same);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(ysplit_suite());
}
