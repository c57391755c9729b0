#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "vec.h"

#define DIAG_MAX_DEFAULT	10000

void
diag_list_init(struct diag_list *l)
{
	memset(l, 0, sizeof(*l));
	l->max = DIAG_MAX_DEFAULT;
}

static void
diag_clear(struct diag *d)
{
	free(d->file);
	free(d->kind);
	free(d->ns);
	free(d->name);
	free(d->field);
	free(d->bad);
	free(d->detail);
	memset(d, 0, sizeof(*d));
}

void
diag_list_free(struct diag_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		diag_clear(&l->v[i]);
	free(l->v);
	diag_list_init(l);
}

void
diag_list_move(struct diag_list *dst, struct diag_list *src)
{
	size_t i;

	for (i = 0; i < src->n; i++) {
		if (dst->n >= dst->max) {
			dst->dropped++;
			diag_clear(&src->v[i]);
			continue;
		}
		if (VEC_GROW(&dst->v, &dst->cap, dst->n + 1, 16) == -1)
			abort();
		dst->v[dst->n++] = src->v[i];
	}
	dst->nerr += src->nerr;
	dst->nwarn += src->nwarn;
	dst->dropped += src->dropped;
	free(src->v);
	diag_list_init(src);
}

static char *
dup_or_null(const char *s)
{
	char *p;

	if (s == NULL)
		return NULL;
	if ((p = strdup(s)) == NULL)
		abort();	/* config-time only; nothing sane to do */
	return p;
}

void
diag_vadd(struct diag_list *l, enum diag_severity sev, enum diag_type type,
    const char *file, unsigned line, unsigned col, const char *kind,
    const char *ns, const char *name, const char *field, const char *bad,
    const char *detail, va_list ap)
{
	struct diag	*d;
	char		 buf[4096];	/* a list of names fits */

	if (sev == DIAG_ERROR)
		l->nerr++;
	else
		l->nwarn++;
	if (l->n >= l->max) {
		l->dropped++;
		return;
	}
	if (VEC_GROW(&l->v, &l->cap, l->n + 1, 16) == -1)
		abort();
	d = &l->v[l->n++];
	memset(d, 0, sizeof(*d));
	d->sev = sev;
	d->type = type;
	d->file = dup_or_null(file);
	d->line = line;
	d->col = col;
	d->kind = dup_or_null(kind);
	d->ns = dup_or_null(ns);
	d->name = dup_or_null(name);
	d->field = dup_or_null(field != NULL ? field : "");
	d->bad = dup_or_null(bad);
	buf[0] = '\0';
	if (detail != NULL)
		vsnprintf(buf, sizeof(buf), detail, ap);
	d->detail = dup_or_null(buf);
}

void
diag_add(struct diag_list *l, enum diag_severity sev, enum diag_type type,
    const char *file, unsigned line, unsigned col, const char *kind,
    const char *ns, const char *name, const char *field, const char *bad,
    const char *detail, ...)
{
	va_list ap;

	va_start(ap, detail);
	diag_vadd(l, sev, type, file, line, col, kind, ns, name, field, bad,
	    detail, ap);
	va_end(ap);
}

static int
diag_cmp(const void *a, const void *b)
{
	const struct diag *x = a, *y = b;
	int c;

	c = strcmp(x->file ? x->file : "", y->file ? y->file : "");
	if (c != 0)
		return c;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	/* Keep insertion order for ties: compare addresses. */
	return (uintptr_t)x < (uintptr_t)y ? -1 : (uintptr_t)x > (uintptr_t)y;
}

void
diag_sort(struct diag_list *l)
{
	/* qsort is not stable; ties fall back to address, which is order. */
	if (l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), diag_cmp);
}

const char *
diag_reason(enum diag_type t)
{
	switch (t) {
	case DIAG_REQUIRED:	return "FieldValueRequired";
	case DIAG_INVALID:	return "FieldValueInvalid";
	case DIAG_DUPLICATE:	return "FieldValueDuplicate";
	case DIAG_FORBIDDEN:	return "FieldValueForbidden";
	case DIAG_NOT_SUPPORTED: return "FieldValueNotSupported";
	case DIAG_TYPE_INVALID:	return "FieldValueTypeInvalid";
	case DIAG_UNKNOWN_FIELD: return "FieldValueUnknown";
	case DIAG_TOO_LONG:	return "FieldValueTooLong";
	case DIAG_TOO_MANY:	return "FieldValueTooMany";
	case DIAG_NOT_FOUND:	return "FieldValueNotFound";
	case DIAG_SYNTAX:	return "YAMLSyntaxError";
	case DIAG_IO:		return "FileUnreadable";
	case DIAG_NOTE:		return "Note";
	}
	return "Unknown";
}

/* Kubernetes' ErrorType.String(), the body's first words. */
static const char *
diag_type_words(enum diag_type t)
{
	switch (t) {
	case DIAG_REQUIRED:	return "Required value";
	case DIAG_INVALID:	return "Invalid value";
	case DIAG_DUPLICATE:	return "Duplicate value";
	case DIAG_FORBIDDEN:	return "Forbidden";
	case DIAG_NOT_SUPPORTED: return "Unsupported value";
	case DIAG_TYPE_INVALID:	return "Invalid value";
	case DIAG_UNKNOWN_FIELD: return "unknown field";
	case DIAG_TOO_LONG:	return "Too long";
	case DIAG_TOO_MANY:	return "Too many";
	case DIAG_NOT_FOUND:	return "Not found";
	case DIAG_SYNTAX:	return "invalid YAML";
	case DIAG_IO:		return "cannot read";
	case DIAG_NOTE:		return "";
	}
	return "";
}

void
diag_body(const struct diag *d, char *buf, size_t len)
{
	const char	*words = diag_type_words(d->type);
	const char	*detail = d->detail ? d->detail : "";
	int		 show_bad;

	/* As field.Error.ErrorBody(): some types never print the value. */
	switch (d->type) {
	case DIAG_REQUIRED:
	case DIAG_FORBIDDEN:
	case DIAG_TOO_LONG:
	case DIAG_SYNTAX:
	case DIAG_IO:
	case DIAG_NOTE:
		show_bad = 0;
		break;
	default:
		show_bad = d->bad != NULL;
		break;
	}
	if (d->type == DIAG_NOTE)
		snprintf(buf, len, "%s", detail);
	else if (d->type == DIAG_UNKNOWN_FIELD)
		snprintf(buf, len, "unknown field \"%s\"%s%s",
		    d->bad ? d->bad : "", *detail ? ": " : "", detail);
	else if (show_bad && *detail != '\0')
		snprintf(buf, len, "%s: \"%s\": %s", words, d->bad, detail);
	else if (show_bad)
		snprintf(buf, len, "%s: \"%s\"", words, d->bad);
	else if (*detail != '\0')
		snprintf(buf, len, "%s: %s", words, detail);
	else
		snprintf(buf, len, "%s", words);
}

void
diag_format(const struct diag *d, char *buf, size_t len)
{
	char	 body[1400];
	size_t	 off = 0;
	int	 n;

#define APPEND(...) do {						\
	n = snprintf(buf + off, off < len ? len - off : 0, __VA_ARGS__);\
	if (n > 0)							\
		off += (size_t)n;					\
} while (0)
	buf[0] = '\0';
	if (d->file != NULL) {
		if (d->line != 0)
			APPEND("%s:%u:%u: ", d->file, d->line, d->col);
		else
			APPEND("%s: ", d->file);
	}
	if (d->kind != NULL && d->name != NULL) {
		if (d->ns != NULL)
			APPEND("%s %s/%s: ", d->kind, d->ns, d->name);
		else
			APPEND("%s %s: ", d->kind, d->name);
	} else if (d->kind != NULL)
		APPEND("%s: ", d->kind);
	if (d->field != NULL && *d->field != '\0')
		APPEND("%s: ", d->field);
	diag_body(d, body, sizeof(body));
	APPEND("%s", body);
#undef APPEND
}

/*
 * Warnings of one kind (reason and detail: "in the loopback range" on
 * every Pod of a test cluster) are printed DIAG_SAME_SHOWN times, then
 * counted: one line says how many more there were.
 */
#define DIAG_SAME_SHOWN		10
#define DIAG_SAME_KINDS		64	/* kinds tracked; more: all shown */

struct diag_same {
	enum diag_type	 type;
	const char	*detail;	/* in the list's diag */
	size_t		 n;
};

/* Count d among its kind; 1 when it is past DIAG_SAME_SHOWN. */
static int
diag_same_hide(struct diag_same *same, size_t *nsame, const struct diag *d)
{
	const char	*detail = d->detail != NULL ? d->detail : "";
	size_t		 k;

	for (k = 0; k < *nsame; k++)
		if (same[k].type == d->type &&
		    strcmp(same[k].detail, detail) == 0)
			return ++same[k].n > DIAG_SAME_SHOWN;
	if (*nsame == DIAG_SAME_KINDS)
		return 0;
	same[*nsame].type = d->type;
	same[*nsame].detail = detail;
	same[*nsame].n = 1;
	(*nsame)++;
	return 0;
}

void
diag_lines(const struct diag_list *l,
    void (*fn)(enum diag_severity, const char *, void *), void *arg)
{
	struct diag_same	 same[DIAG_SAME_KINDS];
	char			 buf[2048];
	size_t			 i, nsame = 0, nerr = 0;

	for (i = 0; i < l->n; i++) {
		nerr += l->v[i].sev == DIAG_ERROR;
		if (l->v[i].sev == DIAG_WARNING &&
		    diag_same_hide(same, &nsame, &l->v[i]))
			continue;
		diag_format(&l->v[i], buf, sizeof(buf));
		fn(l->v[i].sev, buf, arg);
	}
	for (i = 0; i < nsame; i++)
		if (same[i].n > DIAG_SAME_SHOWN) {
			snprintf(buf, sizeof(buf), "%zu more warnings like the "
			    "above not shown (%s: %s)",
			    same[i].n - DIAG_SAME_SHOWN,
			    diag_type_words(same[i].type), same[i].detail);
			fn(DIAG_WARNING, buf, arg);
		}
	/* Past l->max only the counts were kept. */
	if (l->nerr > nerr) {
		snprintf(buf, sizeof(buf), "%zu more errors not shown (past "
		    "the first %zu diagnostics)", l->nerr - nerr, l->n);
		fn(DIAG_ERROR, buf, arg);
	}
	if (l->nwarn > l->n - nerr) {
		snprintf(buf, sizeof(buf), "%zu more warnings not shown (past "
		    "the first %zu diagnostics)", l->nwarn - (l->n - nerr),
		    l->n);
		fn(DIAG_WARNING, buf, arg);
	}
}

static void
diag_print_line(enum diag_severity sev, const char *line, void *arg)
{
	fprintf(arg, "%s: %s\n", sev == DIAG_ERROR ? "error" : "warning",
	    line);
}

void
diag_print(const struct diag_list *l, FILE *fp)
{
	diag_lines(l, diag_print_line, fp);
}

void
json_str(FILE *fp, const char *s)
{
	const unsigned char *p;

	if (s == NULL) {
		fputs("null", fp);
		return;
	}
	fputc('"', fp);
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		switch (*p) {
		case '"':	fputs("\\\"", fp); break;
		case '\\':	fputs("\\\\", fp); break;
		case '\n':	fputs("\\n", fp); break;
		case '\r':	fputs("\\r", fp); break;
		case '\t':	fputs("\\t", fp); break;
		default:
			if (*p < 0x20)
				fprintf(fp, "\\u%04x", *p);
			else
				fputc(*p, fp);
		}
	}
	fputc('"', fp);
}

void
diag_print_json(const struct diag *d, FILE *fp)
{
	char	 body[1400], obj[768];

	diag_body(d, body, sizeof(body));
	obj[0] = '\0';
	if (d->kind != NULL && d->name != NULL && d->ns != NULL)
		snprintf(obj, sizeof(obj), "%s/%s/%s", d->kind, d->ns,
		    d->name);
	else if (d->kind != NULL && d->name != NULL)
		snprintf(obj, sizeof(obj), "%s/%s", d->kind, d->name);
	else if (d->kind != NULL)
		snprintf(obj, sizeof(obj), "%s", d->kind);
	fputs("{\"file\":", fp);
	json_str(fp, d->file);
	fprintf(fp, ",\"line\":%u,\"column\":%u,\"object\":", d->line,
	    d->col);
	json_str(fp, obj[0] ? obj : NULL);
	fputs(",\"field\":", fp);
	json_str(fp, d->field);
	fputs(",\"reason\":", fp);
	json_str(fp, diag_reason(d->type));
	fputs(",\"message\":", fp);
	json_str(fp, body);
	fputc('}', fp);
}
