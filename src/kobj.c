#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kobj.h"

#define KPATH_MAX	512
#define KDEPTH_MAX	(YDOC_MAX_DEPTH + 2)

/* One level of the walk: the schema and the path that reached it. */
struct klevel {
	const struct kschema	*schema;
	size_t			 pathlen;
};

struct kdec {
	struct arena		*a;
	const struct diag_ctx	*dc;
	char			 path[KPATH_MAX];
	size_t			 pathlen;
	struct klevel		 levels[KDEPTH_MAX];
	int			 depth;
	size_t			 nerr;
};

static void
kobj_vreport(const struct diag_ctx *dc, enum diag_severity sev,
    const struct ynode *at, enum diag_type type, const char *field,
    const char *bad, const char *fmt, va_list ap)
    __attribute__((format(printf, 7, 0)));

static void
kobj_vreport(const struct diag_ctx *dc, enum diag_severity sev,
    const struct ynode *at, enum diag_type type, const char *field,
    const char *bad, const char *fmt, va_list ap)
{
	diag_vadd(dc->list, sev, type, dc->file, at ? at->line : 0,
	    at ? at->col : 0, dc->kind, dc->ns, dc->name, field, bad, fmt, ap);
}

void
kobj_err(const struct diag_ctx *dc, const struct ynode *at,
    enum diag_type type, const char *field, const char *bad,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	kobj_vreport(dc, DIAG_ERROR, at, type, field, bad, fmt, ap);
	va_end(ap);
}

void
kobj_warn(const struct diag_ctx *dc, const struct ynode *at,
    enum diag_type type, const char *field, const char *bad,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	kobj_vreport(dc, DIAG_WARNING, at, type, field, bad, fmt, ap);
	va_end(ap);
}

const struct ynode *
kobj_at(const struct ynode *map, const char *field)
{
	const struct ynode *n;

	if ((n = ydoc_get(map, field)) != NULL && n->kind != YN_NULL)
		return n;
	if ((n = ydoc_key(map, field)) != NULL)
		return n;
	return map;
}

int
kobj_parse_int(const char *s, int64_t *out)
{
	char		*end;
	long long	 v;

	if (s == NULL || *s == '\0')
		return -1;
	if (!(*s == '-' || *s == '+' || (*s >= '0' && *s <= '9')))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

static int
one_of(const char *s, const char *const *words)
{
	for (; *words != NULL; words++)
		if (strcmp(s, *words) == 0)
			return 1;
	return 0;
}

static int
looks_float(const char *s)
{
	static const char *const special[] = { ".inf", ".Inf", ".INF",
	    "-.inf", "-.Inf", "-.INF", "+.inf", ".nan", ".NaN", ".NAN", NULL };
	const char	*p = s;
	int		 digits = 0, dot = 0;

	if ((*s == '.' || *s == '-' || *s == '+') && one_of(s, special))
		return 1;
	if (*p == '-' || *p == '+')
		p++;
	for (; *p >= '0' && *p <= '9'; p++)
		digits++;
	if (*p == '.') {
		dot = 1;
		for (p++; *p >= '0' && *p <= '9'; p++)
			digits++;
	}
	if (digits == 0)
		return 0;
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '-' || *p == '+')
			p++;
		if (!(*p >= '0' && *p <= '9'))
			return 0;
		while (*p >= '0' && *p <= '9')
			p++;
		return *p == '\0';
	}
	return *p == '\0' && dot;
}

enum kscalar
kobj_scalar_kind(const struct ynode *n)
{
	/* go-yaml v2, under sigs.k8s.io/yaml, reads YAML 1.1 booleans. */
	static const char *const bools[] = { "true", "True", "TRUE",
	    "false", "False", "FALSE", "yes", "Yes", "YES", "no", "No", "NO",
	    "on", "On", "ON", "off", "Off", "OFF", NULL };
	int64_t v;

	if (n->kind == YN_NULL)
		return KS_NULL;
	if (n->kind != YN_SCALAR || !n->plain || strlen(n->str) != n->len)
		return KS_STRING;
	/*
	 * Every boolean, integer and number starts with one of these: the
	 * names and labels most strings are (decode_str asks for each) are
	 * told apart by their first byte.
	 */
	switch (n->str[0]) {
	case 't': case 'T': case 'f': case 'F': case 'y': case 'Y':
	case 'n': case 'N': case 'o': case 'O': case '+': case '-': case '.':
	case '0': case '1': case '2': case '3': case '4':
	case '5': case '6': case '7': case '8': case '9':
		break;
	default:
		return KS_STRING;
	}
	/* The longest of them has 5 letters; most scalars are longer. */
	if (n->len <= 5 && one_of(n->str, bools))
		return KS_BOOL;
	if (kobj_parse_int(n->str, &v) == 0)
		return KS_INT;
	if (n->len > 2 && n->str[0] == '0' && (n->str[1] == 'x' ||
	    n->str[1] == 'o'))
		return KS_INT;
	if (looks_float(n->str))
		return KS_FLOAT;
	return KS_STRING;
}

static const char *
scalar_kind_name(enum kscalar k)
{
	switch (k) {
	case KS_STRING:	return "string";
	case KS_INT:	return "integer";
	case KS_FLOAT:	return "number";
	case KS_BOOL:	return "boolean";
	case KS_NULL:	return "null";
	}
	return "value";
}

static const char *
node_kind_name(const struct ynode *n)
{
	if (n->kind == YN_MAP)
		return "map";
	if (n->kind == YN_SEQ)
		return "list";
	return scalar_kind_name(kobj_scalar_kind(n));
}

/* ---- path handling ---- */

static size_t
path_push(struct kdec *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static size_t
path_push(struct kdec *d, const char *fmt, ...)
{
	size_t	 saved = d->pathlen;
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(d->path + d->pathlen, sizeof(d->path) - d->pathlen,
	    fmt, ap);
	va_end(ap);
	if (n > 0) {
		d->pathlen += (size_t)n;
		if (d->pathlen >= sizeof(d->path))
			d->pathlen = sizeof(d->path) - 1;
	}
	return saved;
}

static void
path_pop(struct kdec *d, size_t saved)
{
	d->pathlen = saved;
	d->path[saved] = '\0';
}

/* Append raw bytes; the hot path (every field of every object). */
static void
path_append(struct kdec *d, const char *s, size_t len)
{
	if (len > sizeof(d->path) - 1 - d->pathlen)
		len = sizeof(d->path) - 1 - d->pathlen;
	memcpy(d->path + d->pathlen, s, len);
	d->pathlen += len;
	d->path[d->pathlen] = '\0';
}

static size_t
path_child(struct kdec *d, const char *name)
{
	size_t saved = d->pathlen;

	if (d->pathlen > 0)
		path_append(d, ".", 1);
	path_append(d, name, strlen(name));
	return saved;
}

static size_t
path_index(struct kdec *d, size_t i)
{
	char	buf[24], *p = buf + sizeof(buf);
	size_t	saved = d->pathlen;

	*--p = ']';
	do
		*--p = (char)('0' + i % 10);
	while ((i /= 10) > 0);
	*--p = '[';
	path_append(d, p, (size_t)(buf + sizeof(buf) - p));
	return saved;
}

static void
err(struct kdec *d, const struct ynode *at, enum diag_type type,
    const char *bad, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void
err(struct kdec *d, const struct ynode *at, enum diag_type type,
    const char *bad, const char *fmt, ...)
{
	va_list ap;

	d->nerr++;
	va_start(ap, fmt);
	kobj_vreport(d->dc, DIAG_ERROR, at, type, d->path, bad, fmt, ap);
	va_end(ap);
}

static void
type_err(struct kdec *d, const struct ynode *n, const char *want)
{
	const char *bad = n->kind == YN_SCALAR ? n->str : NULL;

	if (bad != NULL && n->len > 64)
		bad = NULL;
	err(d, n, DIAG_TYPE_INVALID, bad, "expected %s, got %s", want,
	    node_kind_name(n));
}

/* ---- unknown fields ---- */

const struct kfield *
kobj_field(const struct kschema *s, const char *name)
{
	const struct kfield *f;

	for (f = s->fields; f->name != NULL; f++)
		if (f->name[0] == name[0] && strcmp(f->name, name) == 0)
			return f;
	return NULL;
}

/*
 * Where else could `key` have been meant?  The nearest enclosing level
 * that has the field (a NetworkPolicy peer's `ports` belongs to the
 * rule), else a child level of this one (`ports` at an object's root
 * belongs to `spec`).  Writes the suggested path into buf.
 */
static int
suggest(struct kdec *d, const struct kschema *s, const char *key, char *buf,
    size_t len)
{
	const struct kfield	*f;
	size_t			 cur = d->levels[d->depth - 1].pathlen;
	int			 i;

	for (f = s->fields; f->name != NULL; f++)
		if (strcasecmp(f->name, key) == 0) {
			snprintf(buf, len, "%.*s%s%s", (int)cur, d->path,
			    cur ? "." : "", f->name);
			return 1;
		}
	for (i = d->depth - 2; i >= 0; i--) {
		const struct klevel *l = &d->levels[i];

		if (l->schema != NULL && kobj_field(l->schema, key)) {
			snprintf(buf, len, "%.*s%s%s", (int)l->pathlen,
			    d->path, l->pathlen ? "." : "", key);
			return 1;
		}
	}
	for (f = s->fields; f->name != NULL; f++) {
		if ((f->type != KF_OBJ && f->type != KF_LIST) ||
		    f->sub == NULL || kobj_field(f->sub, key) == NULL)
			continue;
		snprintf(buf, len, "%.*s%s%s%s.%s", (int)cur, d->path,
		    cur ? "." : "", f->name,
		    f->type == KF_LIST ? "[*]" : "", key);
		return 1;
	}
	return 0;
}

static void
unknown_field(struct kdec *d, const struct kschema *s, const struct ynode *k)
{
	char	 where[KPATH_MAX + 64], shown[96];
	size_t	 saved;

	if (k->kind == YN_SCALAR || k->kind == YN_NULL)
		snprintf(shown, sizeof(shown), "%.*s", k->len > 64 ? 64 :
		    (int)k->len, k->str);
	else
		shown[0] = '\0';	/* a map or list as a key */
	saved = path_child(d, shown);
	if (suggest(d, s, shown, where, sizeof(where)))
		err(d, k, DIAG_UNKNOWN_FIELD, shown,
		    "%s has no such field; did you mean %s?", s->type_name,
		    where);
	else
		err(d, k, DIAG_UNKNOWN_FIELD, shown, "%s has no such field",
		    s->type_name);
	path_pop(d, saved);
}

/* ---- value decoders ---- */

static int decode_struct(struct kdec *, const struct kschema *,
    const struct ynode *, void *);

static const char *
decode_str(struct kdec *d, const struct ynode *n)
{
	enum kscalar k;

	if (n->kind == YN_NULL)
		return NULL;
	if (n->kind != YN_SCALAR) {
		type_err(d, n, "string");
		return NULL;
	}
	if (strlen(n->str) != n->len) {
		err(d, n, DIAG_INVALID, NULL, "string contains a NUL byte");
		return NULL;
	}
	k = kobj_scalar_kind(n);
	if (k != KS_STRING) {
		d->nerr++;
		kobj_err(d->dc, n, DIAG_TYPE_INVALID, d->path, n->str,
		    "expected string, got %s (quote it: \"%s\")",
		    scalar_kind_name(k), n->str);
		return NULL;
	}
	return n->str;
}

static void
decode_int(struct kdec *d, const struct ynode *n, struct kint *out)
{
	if (n->kind == YN_NULL)
		return;
	if (n->kind != YN_SCALAR || kobj_scalar_kind(n) != KS_INT ||
	    kobj_parse_int(n->str, &out->v) == -1 ||
	    out->v < INT32_MIN || out->v > INT32_MAX) {
		type_err(d, n, "integer");
		out->v = 0;
		return;
	}
	out->set = 1;
}

static void
decode_bool(struct kdec *d, const struct ynode *n, struct kbool *out)
{
	if (n->kind == YN_NULL)
		return;
	if (n->kind != YN_SCALAR || kobj_scalar_kind(n) != KS_BOOL) {
		type_err(d, n, "boolean");
		return;
	}
	out->set = 1;
	out->v = n->str[0] == 't' || n->str[0] == 'T' || n->str[0] == 'y' ||
	    n->str[0] == 'Y' || strcasecmp(n->str, "on") == 0;
}

static void
decode_intstr(struct kdec *d, const struct ynode *n, struct kintstr *out)
{
	if (n->kind == YN_NULL)
		return;
	if (n->kind != YN_SCALAR) {
		type_err(d, n, "integer or string");
		return;
	}
	if (kobj_scalar_kind(n) == KS_INT) {
		if (kobj_parse_int(n->str, &out->num) == -1 ||
		    out->num < INT32_MIN || out->num > INT32_MAX) {
			type_err(d, n, "32-bit integer or string");
			return;
		}
		out->set = 1;
		return;
	}
	if ((out->str = decode_str(d, n)) != NULL) {
		out->set = 1;
		out->is_str = 1;
	}
}

static void
decode_strmap(struct kdec *d, const struct ynode *n, struct kstrmap *out)
{
	size_t i, saved;

	if (n->kind == YN_NULL)
		return;
	if (n->kind != YN_MAP) {
		type_err(d, n, "map of strings");
		return;
	}
	out->y = n;
	if (n->n == 0)
		return;
	if ((out->v = arena_calloc(d->a, n->n, sizeof(*out->v))) == NULL) {
		err(d, n, DIAG_INVALID, NULL, "out of memory");
		return;
	}
	for (i = 0; i < n->n; i++) {
		const struct ynode *k = n->items[2 * i];
		const struct ynode *v = n->items[2 * i + 1];
		const char *key, *val;

		if (k->kind != YN_SCALAR) {
			type_err(d, k, "string key");
			continue;
		}
		/* path_push(d, "[%.*s]", ...) without a printf per label. */
		saved = d->pathlen;
		path_append(d, "[", 1);
		path_append(d, k->str, strnlen(k->str, k->len > 64 ? 64 :
		    k->len));
		path_append(d, "]", 1);
		key = k->str;
		if (strlen(key) != k->len) {
			err(d, k, DIAG_INVALID, NULL, "key contains a NUL byte");
			key = NULL;
		}
		/* A null value is "" in Go's map[string]string. */
		val = v->kind == YN_NULL ? "" : decode_str(d, v);
		path_pop(d, saved);
		if (key == NULL || val == NULL)
			continue;
		out->v[out->n].key = key;
		out->v[out->n].value = val;
		out->v[out->n].ky = k;
		out->n++;
	}
}

static void
decode_strlist(struct kdec *d, const struct ynode *n, struct kstrlist *out)
{
	size_t i, saved;

	if (n->kind == YN_NULL)
		return;
	if (n->kind != YN_SEQ) {
		type_err(d, n, "list of strings");
		return;
	}
	out->y = n;
	if (n->n == 0)
		return;
	if ((out->v = arena_calloc(d->a, n->n, sizeof(*out->v))) == NULL) {
		err(d, n, DIAG_INVALID, NULL, "out of memory");
		return;
	}
	for (i = 0; i < n->n; i++) {
		const char *s;

		saved = path_index(d, i);
		s = decode_str(d, n->items[i]);
		path_pop(d, saved);
		if (s != NULL)
			out->v[out->n++] = s;
	}
}

static void
decode_list(struct kdec *d, const struct kfield *f, const struct ynode *n,
    void *slot)
{
	KLIST(unsigned char)	*list = slot;
	size_t			 i, saved;
	unsigned char		*elems;

	if (n->kind == YN_NULL)
		return;
	if (n->kind != YN_SEQ) {
		type_err(d, n, "list");
		return;
	}
	if (n->n == 0)
		return;
	if ((elems = arena_calloc(d->a, n->n, f->elem_size)) == NULL) {
		err(d, n, DIAG_INVALID, NULL, "out of memory");
		return;
	}
	for (i = 0; i < n->n; i++) {
		saved = path_index(d, i);
		decode_struct(d, f->sub, n->items[i], elems + i * f->elem_size);
		path_pop(d, saved);
	}
	list->v = elems;
	list->n = n->n;
}

static void
decode_field(struct kdec *d, const struct kfield *f, const struct ynode *n,
    unsigned char *base)
{
	void *slot = base + f->off;

	switch (f->type) {
	case KF_STR:
		*(const char **)slot = decode_str(d, n);
		break;
	case KF_INT:
		decode_int(d, n, slot);
		break;
	case KF_BOOL:
		decode_bool(d, n, slot);
		break;
	case KF_INTSTR:
		decode_intstr(d, n, slot);
		break;
	case KF_STRMAP:
		decode_strmap(d, n, slot);
		break;
	case KF_STRLIST:
		decode_strlist(d, n, slot);
		break;
	case KF_OBJ:
		if (n->kind != YN_NULL)
			decode_struct(d, f->sub, n, slot);
		break;
	case KF_LIST:
		decode_list(d, f, n, slot);
		break;
	case KF_ANY:
		break;
	}
}

/*
 * Decode map node n into out by schema s.  out begins with its node
 * pointer, set here so that presence is visible (`podSelector: {}`).
 */
static int
decode_struct(struct kdec *d, const struct kschema *s, const struct ynode *n,
    void *out)
{
	size_t	i;

	if (n->kind != YN_MAP) {
		type_err(d, n, "map");
		return -1;
	}
	if (d->depth >= KDEPTH_MAX) {
		err(d, n, DIAG_INVALID, NULL, "nested too deeply");
		return -1;
	}
	d->levels[d->depth].schema = s;
	d->levels[d->depth].pathlen = d->pathlen;
	d->depth++;
	*(const struct ynode **)out = n;
	for (i = 0; i < n->n; i++) {
		const struct ynode	*k = n->items[2 * i];
		const struct kfield	*f = NULL;
		size_t			 saved;

		if (k->kind == YN_SCALAR && strlen(k->str) == k->len)
			f = kobj_field(s, k->str);
		if (f == NULL) {
			if (!s->lenient)
				unknown_field(d, s, k);
			continue;
		}
		saved = path_child(d, f->name);
		decode_field(d, f, n->items[2 * i + 1], out);
		path_pop(d, saved);
	}
	d->depth--;
	return 0;
}

size_t
kobj_decode(struct arena *a, const struct diag_ctx *dc,
    const struct kschema *schema, const struct ynode *node, const char *path,
    void *out)
{
	struct kdec d;

	memset(&d, 0, sizeof(d));
	d.a = a;
	d.dc = dc;
	path_push(&d, "%s", path);
	decode_struct(&d, schema, node, out);
	return d.nerr;
}

/* ---- schemas shared by every kind ---- */

static const struct kfield meta_fields[] = {
	KF("name", KF_STR, struct kmeta, name),
	KF("namespace", KF_STR, struct kmeta, ns),
	KF("generateName", KF_STR, struct kmeta, generate_name),
	KF("creationTimestamp", KF_STR, struct kmeta, creation_timestamp),
	KF("deletionTimestamp", KF_STR, struct kmeta, deletion_timestamp),
	KF("labels", KF_STRMAP, struct kmeta, labels),
	KF("annotations", KF_STRMAP, struct kmeta, annotations),
	/* Set by the API server; accepted so kubectl output loads. */
	KF_IGNORE("uid"),
	KF_IGNORE("resourceVersion"),
	KF_IGNORE("generation"),
	KF_IGNORE("selfLink"),
	KF_IGNORE("deletionGracePeriodSeconds"),
	KF_IGNORE("ownerReferences"),
	KF_IGNORE("finalizers"),
	KF_IGNORE("managedFields"),
	KF_END
};

const struct kschema kobj_meta_schema = { "ObjectMeta", 0, meta_fields };

static const struct kfield label_req_fields[] = {
	KF("key", KF_STR, struct klabel_req, key),
	KF("operator", KF_STR, struct klabel_req, op),
	KF("values", KF_STRLIST, struct klabel_req, values),
	KF_END
};

static const struct kschema label_req_schema = {
	"LabelSelectorRequirement", 0, label_req_fields
};

static const struct kfield label_selector_fields[] = {
	KF("matchLabels", KF_STRMAP, struct klabel_selector, match_labels),
	KF_L("matchExpressions", struct klabel_selector, match_expressions,
	    label_req_schema, struct klabel_req),
	KF_END
};

const struct kschema kobj_label_selector_schema = {
	"LabelSelector", 0, label_selector_fields
};
