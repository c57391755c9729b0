#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "kobj.h"
#include "kobj_kinds.h"
#include "load_int.h"


enum kind_id {
	K_SERVICE,
	K_POD,
	K_NAMESPACE,
	K_ENDPOINTSLICE,
	K_NETPOL,
	K_PROXYCONFIG,
};

struct kind_desc {
	const char		*api_version;
	const char		*kind;
	enum kind_id		 id;
	const struct kschema	*schema;
	size_t			 size;
	int			 namespaced;
};

static const struct kind_desc kinds[] = {
	{ "v1", "Service", K_SERVICE, &kobj_service_schema,
	    sizeof(struct ksvc), 1 },
	{ "v1", "Pod", K_POD, &kobj_pod_schema, sizeof(struct kpod), 1 },
	{ "v1", "Namespace", K_NAMESPACE, &kobj_namespace_schema,
	    sizeof(struct kns), 0 },
	{ "discovery.k8s.io/v1", "EndpointSlice", K_ENDPOINTSLICE,
	    &kobj_endpointslice_schema, sizeof(struct keps), 1 },
	{ "networking.k8s.io/v1", "NetworkPolicy", K_NETPOL,
	    &kobj_netpol_schema, sizeof(struct knetpol), 1 },
	{ "svcproxy.io/v1alpha1", "ProxyConfig", K_PROXYCONFIG,
	    &kobj_proxyconfig_schema, sizeof(struct kpcfg), 0 },
};

void
kset_init(struct kset *set)
{
	memset(set, 0, sizeof(*set));
	arena_init(&set->arena, LOAD_ARENA_LIMIT);
	set->hash = KSET_HASH_SEED;
}

void
kset_free(struct kset *set)
{
	free(set->svcs.v);
	free(set->pods.v);
	free(set->nss.v);
	free(set->epss.v);
	free(set->netpols.v);
	free(set->pcfgs.v);
	arena_free(&set->arena);
	memset(set, 0, sizeof(*set));
}

/* Append src's n items to vec; -1 when it cannot grow (vec unchanged). */
static int
vec_append(void ***v, size_t *n, size_t *cap, void *const *src, size_t nsrc)
{
	if (nsrc == 0)
		return 0;
	if (VEC_GROW(v, cap, *n + nsrc, 64) == -1)
		return -1;
	memcpy(*v + *n, src, nsrc * sizeof(*src));
	*n += nsrc;
	return 0;
}

#define VEC_APPEND(dst, src) vec_append((void ***)&(dst).v, &(dst).n,	\
	&(dst).cap, (void *const *)(src).v, (src).n)

int
kset_append(struct kset *dst, const struct kset *src)
{
	if (VEC_APPEND(dst->svcs, src->svcs) == -1 ||
	    VEC_APPEND(dst->pods, src->pods) == -1 ||
	    VEC_APPEND(dst->nss, src->nss) == -1 ||
	    VEC_APPEND(dst->epss, src->epss) == -1 ||
	    VEC_APPEND(dst->netpols, src->netpols) == -1 ||
	    VEC_APPEND(dst->pcfgs, src->pcfgs) == -1)
		return -1;
	return 0;
}

static const char *
scalar_or_null(const struct ynode *n)
{
	return n != NULL && n->kind == YN_SCALAR ? n->str : NULL;
}

static const struct kind_desc *
kind_find(const char *kind)
{
	size_t i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(kinds[i].kind, kind) == 0)
			return &kinds[i];
	return NULL;
}

/* ---- what the parser may drop ---- */

/*
 * The filter's contexts are schema fields: a collection's context is the
 * field it is the value of (for a list, also each element's).  Two more
 * stand for an object's root, whose schema depends on its `kind`, and
 * for the items of a List.
 */
static const struct kfield root_ctx = { "<object>", KF_OBJ, 0, NULL, 0 };
static const struct kfield items_ctx = { "items", KF_LIST, 0, NULL, 0 };

/*
 * The filter looks for `kind` among an object's first pairs only: it
 * runs for every key, and a scan of all pairs read so far made a root
 * map of 100,000 keys quadratic.  kubectl prints apiVersion and kind
 * first; when kind comes later, the object is kept whole, which only
 * costs memory (the decoder still reports what is wrong in it).
 */
#define LOAD_KIND_LOOKAHEAD	8

static const char *
pair_scalar(struct ynode *const *pairs, size_t npairs, const char *key)
{
	size_t i;

	if (npairs > LOAD_KIND_LOOKAHEAD)
		npairs = LOAD_KIND_LOOKAHEAD;
	for (i = 0; i < npairs; i++) {
		const struct ynode *k = pairs[2 * i], *v = pairs[2 * i + 1];

		if (k->kind == YN_SCALAR && strcmp(k->str, key) == 0)
			return v->kind == YN_SCALAR ? v->str : NULL;
	}
	return NULL;
}

/* A field of a known schema: follow it, keep it whole, or drop it. */
static const void *
field_ctx(const struct kschema *s, const struct ynode *key)
{
	const struct kfield *f;

	if (key->kind != YN_SCALAR || strlen(key->str) != key->len ||
	    (f = kobj_field(s, key->str)) == NULL)
		return s->lenient ? YDOC_SKIP : NULL;	/* NULL: report it */
	if (f->type == KF_ANY)
		return YDOC_SKIP;
	if (f->type == KF_OBJ || f->type == KF_LIST)
		return f;
	return NULL;
}

static const void *
object_child(struct ynode *const *pairs, size_t npairs,
    const struct ynode *key)
{
	const struct kind_desc	*k;
	const char		*kind;
	size_t			 klen;

	/*
	 * kubectl prints apiVersion and kind first; else keep it all, but
	 * for `items`: `kubectl get -o yaml` prints a List's kind after its
	 * items, and keeping every item whole cost a third more memory and
	 * time.  Its elements are read as objects, as a List's are; if the
	 * kind turns out not to be a List, `items` is an unknown field,
	 * reported at its key either way.
	 */
	if ((kind = pair_scalar(pairs, npairs, "kind")) == NULL)
		return key->kind == YN_SCALAR &&
		    strcmp(key->str, "items") == 0 ? &items_ctx : NULL;
	klen = strlen(kind);
	if (key->kind == YN_SCALAR && strcmp(key->str, "items") == 0 &&
	    klen >= 4 && strcmp(kind + klen - 4, "List") == 0)
		return &items_ctx;
	if ((k = kind_find(kind)) == NULL) {
		/* Skipped kinds: only their name is shown. */
		return key->kind == YN_SCALAR &&
		    (strcmp(key->str, "metadata") == 0 ||
		    strcmp(key->str, "apiVersion") == 0) ? NULL : YDOC_SKIP;
	}
	return field_ctx(k->schema, key);
}

static const void *
filter_child(void *arg, const void *parent, enum ynode_kind pkind,
    struct ynode *const *pairs, size_t npairs, const struct ynode *key)
{
	const struct kfield *f = parent;

	(void)arg;
	if (f == &items_ctx)
		return pkind == YN_SEQ ? &root_ctx : NULL;
	if (f == &root_ctx)
		return pkind == YN_MAP ? object_child(pairs, npairs, key) :
		    NULL;
	if (f->type == KF_LIST && pkind == YN_SEQ)
		return f;		/* an element */
	if (pkind != YN_MAP || f->sub == NULL)
		return NULL;		/* a type error: keep it to report */
	return field_ctx(f->sub, key);
}

const struct ydoc_filter load_filter = {
	filter_child, NULL, &root_ctx
};

static int
add_object(struct kset *set, const struct kind_desc *k, void *obj)
{
	void *pv = obj;

	switch (k->id) {
	case K_SERVICE:
		return VEC_PUSH(set->svcs, pv);
	case K_POD:
		return VEC_PUSH(set->pods, pv);
	case K_NAMESPACE:
		return VEC_PUSH(set->nss, pv);
	case K_ENDPOINTSLICE:
		return VEC_PUSH(set->epss, pv);
	case K_NETPOL:
		return VEC_PUSH(set->netpols, pv);
	case K_PROXYCONFIG:
		/*
		 * All are kept: on threads, which is first is known only
		 * once every file and piece is in (load_finish).
		 */
		return VEC_PUSH(set->pcfgs, pv);
	}
	return 0;
}

/* Name and namespace after defaulting, and the checks every kind shares. */
static int
object_identity(struct kset *set, const struct kind_desc *k,
    struct kobj_any *o, struct diag_ctx *dc)
{
	struct kmeta *m = &o->meta;

	if (k->namespaced && (m->ns == NULL || *m->ns == '\0'))
		m->ns = KSET_DEFAULT_NS;
	if (!k->namespaced && m->ns != NULL && *m->ns != '\0') {
		kobj_warn(dc, kobj_at(m->y, "namespace"), DIAG_INVALID,
		    "metadata.namespace", m->ns,
		    "%s is cluster-scoped; the namespace is ignored", k->kind);
		m->ns = NULL;
	}
	dc->ns = m->ns;
	dc->name = m->name;
	if (m->name == NULL || *m->name == '\0') {
		kobj_err(dc, m->y ? m->y : o->h.y, DIAG_REQUIRED,
		    "metadata.name", NULL, "%s",
		    m->generate_name ? "generateName needs an API server to "
		    "pick a name; give metadata.name" :
		    "name or generateName is required");
		return -1;
	}
	(void)set;
	return 0;
}

/* A List whose items load_object() reads (kind: List, or *List). */
static int
is_list(const struct ynode *root, const char *kind)
{
	size_t klen = strlen(kind);

	return strcmp(kind, "List") == 0 || (klen > 4 &&
	    strcmp(kind + klen - 4, "List") == 0 &&
	    ydoc_get(root, "items") != NULL);
}

/*
 * A document that load_object() reads as a List of items without a
 * word about the List itself: a map with apiVersion, a List kind and
 * its items a sequence.
 */
int
load_quiet_list(const struct ynode *root)
{
	const char		*api, *kind;
	const struct ynode	*items;

	if (root->kind != YN_MAP)
		return 0;
	api = scalar_or_null(ydoc_get(root, "apiVersion"));
	kind = scalar_or_null(ydoc_get(root, "kind"));
	items = ydoc_get(root, "items");
	return api != NULL && *api != '\0' && kind != NULL &&
	    *kind != '\0' && is_list(root, kind) && items != NULL &&
	    items->kind == YN_SEQ;
}

/* Decode one object document (a map with apiVersion and kind). */
int
load_object(struct kset *set, const char *file, const struct ynode *root,
    struct diag_list *diags)
{
	const struct kind_desc	*k;
	const char		*api, *kind;
	struct kobj_any		*o;
	struct diag_ctx		 dc = { diags, file, NULL, NULL, NULL };
	size_t			 nerr;

	if (root->kind == YN_NULL)
		return 0;	/* an empty document */
	if (root->kind != YN_MAP) {
		kobj_err(&dc, root, DIAG_TYPE_INVALID, NULL, NULL,
		    "expected an object (a map with apiVersion and kind), "
		    "got %s", ydoc_type_name(root));
		return -1;
	}
	api = scalar_or_null(ydoc_get(root, "apiVersion"));
	kind = scalar_or_null(ydoc_get(root, "kind"));
	if (kind == NULL || *kind == '\0') {
		kobj_err(&dc, root, DIAG_REQUIRED, "kind", NULL, NULL);
		return -1;
	}
	dc.kind = kind;
	if (api == NULL || *api == '\0') {
		kobj_err(&dc, root, DIAG_REQUIRED, "apiVersion", NULL, NULL);
		return -1;
	}
	if (is_list(root, kind)) {
		const struct ynode *items = ydoc_get(root, "items");
		size_t i;
		int rc = 0;

		if (items == NULL || items->kind == YN_NULL)
			return 0;
		if (items->kind != YN_SEQ) {
			kobj_err(&dc, items, DIAG_TYPE_INVALID, "items", NULL,
			    "expected list, got %s", ydoc_type_name(items));
			return -1;
		}
		for (i = 0; i < items->n; i++)
			if (load_object(set, file, items->items[i], diags))
				rc = -1;
		return rc;
	}
	if ((k = kind_find(kind)) == NULL) {
		const struct ynode *md = ydoc_get(root, "metadata");

		dc.ns = scalar_or_null(ydoc_get(md, "namespace"));
		dc.name = scalar_or_null(ydoc_get(md, "name"));
		set->nskipped++;
		kobj_warn(&dc, root, DIAG_NOTE, NULL, NULL,
		    "skipped: svcproxy does not read %s objects (%s)", kind,
		    api);
		return 0;
	}
	if (strcmp(api, k->api_version) != 0) {
		kobj_err(&dc, kobj_at(root, "apiVersion"), DIAG_NOT_SUPPORTED,
		    "apiVersion", api, "supported values: \"%s\"",
		    k->api_version);
		return -1;
	}
	if ((o = arena_alloc(&set->arena, k->size)) == NULL) {
		kobj_err(&dc, root, DIAG_INVALID, NULL, NULL,
		    "out of memory (configuration too large)");
		return -1;
	}
	o->h.file = file;
	/* Name the object in its own decoding errors, if it has one. */
	dc.name = scalar_or_null(ydoc_get(ydoc_get(root, "metadata"), "name"));
	dc.ns = scalar_or_null(ydoc_get(ydoc_get(root, "metadata"),
	    "namespace"));
	if (k->namespaced && dc.ns == NULL)
		dc.ns = KSET_DEFAULT_NS;
	nerr = kobj_decode(&set->arena, &dc, k->schema, root, "", o);
	if (object_identity(set, k, o, &dc) == -1 || nerr > 0)
		return -1;
	if (add_object(set, k, o) == -1) {
		kobj_err(&dc, root, DIAG_INVALID, NULL, NULL, "out of memory");
		return -1;
	}
	return 0;
}
