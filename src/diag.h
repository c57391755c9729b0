/*
 * diag: configuration errors and warnings as data.
 *
 * After Kubernetes' field.Error (apimachinery pkg/util/validation/field):
 * a type, a field path, the bad value and a detail, plus where in which
 * file.  Validation collects every diagnostic, like field.ErrorList; the
 * caller decides whether to print them as text or JSON.
 */
#ifndef SVCPROXY_DIAG_H
#define SVCPROXY_DIAG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

enum diag_type {
	DIAG_REQUIRED,		/* FieldValueRequired */
	DIAG_INVALID,		/* FieldValueInvalid */
	DIAG_DUPLICATE,		/* FieldValueDuplicate */
	DIAG_FORBIDDEN,		/* FieldValueForbidden */
	DIAG_NOT_SUPPORTED,	/* FieldValueNotSupported */
	DIAG_TYPE_INVALID,	/* FieldValueTypeInvalid: wrong YAML type */
	DIAG_UNKNOWN_FIELD,	/* FieldValueUnknown: not in the schema */
	DIAG_TOO_LONG,		/* FieldValueTooLong */
	DIAG_TOO_MANY,		/* FieldValueTooMany */
	DIAG_NOT_FOUND,		/* FieldValueNotFound */
	DIAG_SYNTAX,		/* YAMLSyntax: the file is not valid YAML */
	DIAG_IO,		/* FileUnreadable */
	DIAG_NOTE,		/* no field error; a plain message */
};

enum diag_severity {
	DIAG_ERROR,
	DIAG_WARNING,
};

struct diag {
	enum diag_severity	 sev;
	enum diag_type		 type;
	char			*file;		/* owned; may be NULL */
	unsigned		 line;		/* 1-based; 0: unknown */
	unsigned		 col;		/* 1-based; 0: unknown */
	char			*kind;		/* owned; may be NULL */
	char			*ns;		/* owned; NULL: cluster-scoped */
	char			*name;		/* owned; may be NULL */
	char			*field;		/* owned; "spec.ports[1].name" */
	char			*bad;		/* owned; bad value or NULL */
	char			*detail;	/* owned; may be empty */
};

struct diag_list {
	struct diag		*v;		/* owned array */
	size_t			 n;
	size_t			 cap;
	size_t			 nerr;
	size_t			 nwarn;
	size_t			 max;		/* stop recording past this */
	size_t			 dropped;	/* over max, counted only */
};

/*
 * Where a diagnostic is: the file and object being read.  Borrowed
 * strings; the context lives on the caller's stack.
 */
struct diag_ctx {
	struct diag_list	*list;
	const char		*file;
	const char		*kind;
	const char		*ns;
	const char		*name;
};

void	 diag_list_init(struct diag_list *);
void	 diag_list_free(struct diag_list *);

/*
 * Record one diagnostic.  bad may be NULL (no value to show); detail is
 * a printf format and may be NULL.  Strings are copied.
 */
void	 diag_add(struct diag_list *, enum diag_severity, enum diag_type,
	    const char *file, unsigned line, unsigned col, const char *kind,
	    const char *ns, const char *name, const char *field,
	    const char *bad, const char *detail, ...)
	    __attribute__((format(printf, 12, 13)));
void	 diag_vadd(struct diag_list *, enum diag_severity, enum diag_type,
	    const char *file, unsigned line, unsigned col, const char *kind,
	    const char *ns, const char *name, const char *field,
	    const char *bad, const char *detail, va_list)
	    __attribute__((format(printf, 12, 0)));

/* Append every diagnostic of src to dst (src is emptied). */
void	 diag_list_move(struct diag_list *dst, struct diag_list *src);

/* Sort by file, line, column: the order a reader fixes them in. */
void	 diag_sort(struct diag_list *);

/* The API server's cause name for a type ("FieldValueInvalid"). */
const char *diag_reason(enum diag_type);
/* "Invalid value: \"HTTP\": detail", as field.Error.ErrorBody(). */
void	 diag_body(const struct diag *, char *buf, size_t len);
/* FILE:LINE:COL: KIND NS/NAME: FIELD: body  (one line, no newline) */
void	 diag_format(const struct diag *, char *buf, size_t len);
/*
 * Every diagnostic, one per line, "error: " or "warning: " first; of
 * warnings with the same reason and detail, the first 10 and a count.
 */
void	 diag_print(const struct diag_list *, FILE *);
/* The same lines, without the prefix, each to fn (for a log). */
void	 diag_lines(const struct diag_list *,
	    void (*fn)(enum diag_severity, const char *line, void *arg),
	    void *arg);
/* {"file","line","column","object","field","reason","message"} */
void	 diag_print_json(const struct diag *, FILE *);

/* JSON string escaping, shared by every -o json printer. */
void	 json_str(FILE *, const char *);

#endif
