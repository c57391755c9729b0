/*
 * kobj: YAML nodes to typed Kubernetes objects, driven by schema tables.
 *
 * Each kind describes its fields in a table (kobj_<kind>.c).  The one
 * decoder here walks node and table together: it checks YAML types the
 * way the API server's JSON decoding would, fills the C structs of
 * kobj-t.h, and reports every field the schema does not know, naming
 * the level where that field does exist when a neighbour has it (a
 * `ports` list inside a NetworkPolicy peer belongs to its rule).
 */
#ifndef SVCPROXY_KOBJ_H
#define SVCPROXY_KOBJ_H

#include <stddef.h>

#include "arena.h"
#include "diag.h"
#include "kobj-t.h"
#include "ydoc.h"

enum kf_type {
	KF_STR,		/* const char *; a plain 1 or true is a type error */
	KF_INT,		/* struct kint */
	KF_BOOL,	/* struct kbool */
	KF_INTSTR,	/* struct kintstr */
	KF_STRMAP,	/* struct kstrmap */
	KF_STRLIST,	/* struct kstrlist */
	KF_OBJ,		/* a struct in place, decoded by sub */
	KF_LIST,	/* KLIST(elem) of structs decoded by sub */
	KF_ANY,		/* accepted and ignored (status, managedFields) */
};

struct kschema;

struct kfield {
	const char		*name;
	enum kf_type		 type;
	size_t			 off;
	const struct kschema	*sub;		/* KF_OBJ, KF_LIST */
	size_t			 elem_size;	/* KF_LIST */
};

struct kschema {
	const char		*type_name;	/* Go type: "ServicePort" */
	int			 lenient;	/* unknown fields ignored */
	const struct kfield	*fields;	/* ends with a NULL name */
};

#define KF(n, t, st, m)		{ n, t, offsetof(st, m), NULL, 0 }
#define KF_O(n, st, m, s)	{ n, KF_OBJ, offsetof(st, m), &(s), 0 }
#define KF_L(n, st, m, s, et)	{ n, KF_LIST, offsetof(st, m), &(s), sizeof(et) }
#define KF_IGNORE(n)		{ n, KF_ANY, 0, NULL, 0 }
#define KF_END			{ NULL, KF_ANY, 0, NULL, 0 }

/* Shared schemas: ObjectMeta and LabelSelector. */
extern const struct kschema kobj_meta_schema;
extern const struct kschema kobj_label_selector_schema;

/*
 * Decode node into out (a struct described by schema, zeroed by the
 * caller), allocating from a.  path is the field path of node ("" for an
 * object's root).  Every problem is reported through dc; returns the
 * number of errors reported (0: clean).
 */
size_t	 kobj_decode(struct arena *a, const struct diag_ctx *dc,
	    const struct kschema *schema, const struct ynode *node,
	    const char *path, void *out);

/* The field called name (NUL-terminated) of schema s, or NULL. */
const struct kfield *kobj_field(const struct kschema *s, const char *name);

/* The node of field in a decoded map, else the map itself (for marks). */
const struct ynode *kobj_at(const struct ynode *map, const char *field);

/* Report at node's line and column; the object comes from dc. */
void	 kobj_err(const struct diag_ctx *dc, const struct ynode *at,
	    enum diag_type, const char *field, const char *bad,
	    const char *fmt, ...) __attribute__((format(printf, 6, 7)));
void	 kobj_warn(const struct diag_ctx *dc, const struct ynode *at,
	    enum diag_type, const char *field, const char *bad,
	    const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* YAML 1.1 plain-scalar resolution, as sigs.k8s.io/yaml does it. */
enum kscalar {
	KS_STRING,
	KS_INT,
	KS_FLOAT,
	KS_BOOL,
	KS_NULL,
};
enum kscalar kobj_scalar_kind(const struct ynode *);
/* Parse a decimal integer (optional sign); -1 when not one. */
int	 kobj_parse_int(const char *, int64_t *);

#endif
