#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hash.h"
#include "clock.h"
#include "kobj.h"
#include "kobj_kinds.h"
#include "load.h"
#include "vec.h"
#include "ydoc.h"
#include "ysplit.h"

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

/*
 * Every typed object starts the same way; the loader fills these fields
 * through this view.
 */
struct kobj_head {
	const struct ynode	*y;
	const char		*file;
	int			 invalid;
};

struct kobj_any {
	struct kobj_head	 h;
	struct kmeta		 meta;	/* at the same offset in every kind */
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
	arena_free(&set->arena);
	memset(set, 0, sizeof(*set));
}

/*
 * The config hash only has to tell "same bytes" from "changed" across
 * reloads: FNV-1a over 64-bit words, so hashing a large config costs
 * little next to parsing it.
 */
static void
hash_bytes(struct kset *set, const void *p, size_t len)
{
	const unsigned char	*b = p;
	uint64_t		 h = set->hash, w;

	for (; len >= 8; b += 8, len -= 8) {
		memcpy(&w, b, 8);
		h ^= w;
		h *= FNV1A64_PRIME;
		h ^= h >> 29;
	}
	set->hash = fnv1a64_buf(h, b, len);
}

static int
vec_push(void ***v, size_t *n, size_t *cap, void *item)
{
	if (VEC_GROW(v, cap, *n + 1, 64) == -1)
		return -1;
	(*v)[(*n)++] = item;
	return 0;
}

#define VEC_PUSH(vec, item) \
	vec_push((void ***)&(vec).v, &(vec).n, &(vec).cap, (item))

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

static const struct ydoc_filter load_filter = {
	filter_child, NULL, &root_ctx
};

static int
add_object(struct kset *set, const struct kind_desc *k, void *obj,
    const struct diag_ctx *dc, const struct ynode *root)
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
		if (set->pcfg != NULL) {
			kobj_err(dc, kobj_at(root, "kind"), DIAG_DUPLICATE,
			    "kind", "ProxyConfig",
			    "at most one ProxyConfig; the first is in %s",
			    set->pcfg->file);
			return 0;
		}
		set->pcfg = obj;
		/* Where a later merge puts "at most one" (load_split). */
		set->pcfg_diag = dc->list->n;
		return 0;
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
static int
quiet_list(const struct ynode *root)
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
static int
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
	if (add_object(set, k, o, &dc, root) == -1) {
		kobj_err(&dc, root, DIAG_INVALID, NULL, NULL, "out of memory");
		return -1;
	}
	return 0;
}

#define VEC_APPEND(dst, src) do {					\
	size_t i_;							\
	for (i_ = 0; i_ < (src).n; i_++)				\
		if (VEC_PUSH(dst, (src).v[i_]) == -1)			\
			return -1;					\
} while (0)

/* ---- one large file on several threads ---- */

/*
 * A file cut by ysplit is parsed piece by piece on a few threads, each
 * piece into its own partial set and diagnostic list, merged in file
 * order.  Pieces parse to what the file parses to (ysplit.h), with the
 * file's line numbers (ydoc_piece).  Whatever a piece cannot know alone
 * is settled at the merge: the per-file node limits (counted piece
 * after piece), a second ProxyConfig, and failure: when a piece does not
 * parse cleanly, the file is parsed serially from that piece on, with
 * the counts the pieces before it reached, and the result is the serial
 * parse's to the byte.  While pieces succeed in order, the pages of the
 * file they were read from are given back (release).
 */
struct split_part {
	struct kset		 set;		/* moved into the set */
	struct diag_list	 diags;		/* moved into diags */
	struct ydoc_piece	 yp;
	int			 used;		/* set and diags initialised */
	int			 failed;	/* ydoc said no: serially */
	int			 rc;		/* an object failed to decode */
	int			 done;
};

struct split_job {
	struct ysplit		 sp;
	const char		*buf;		/* borrowed */
	size_t			 len;
	const char		*file;		/* the set's arena */
	struct kpcfg		*pcfg;		/* the set's before this file */
	size_t			 head_nodes;	/* List: counted by each piece */
	int			 release;	/* buf's pages may be dropped */
	struct split_part	*parts;		/* calloc; one per piece */
	size_t			 nitems;	/* pieces the threads parse */
	_Atomic size_t		 next;
	_Atomic int		 refused;	/* a scan said no */
	pthread_mutex_t		 mu;		/* guards what follows */
	size_t			 good;		/* [0, good) parsed cleanly */
	size_t			 nodes;		/* the serial counts at good */
	size_t			 alias_nodes;
	int			 stuck;		/* from good on: serially */
};

static void
split_part_free(struct split_part *p)
{
	if (!p->used)
		return;
	kset_free(&p->set);
	diag_list_free(&p->diags);
	p->used = 0;
}

/*
 * The lines libyaml counts in piece i: its LFs, and one more for a last
 * line without one (libyaml ends it at the end of the stream).
 */
static size_t
split_lines(const struct split_job *job, size_t i)
{
	const struct ysplit_piece *pc = &job->sp.pieces[i];

	return pc->nlines + (pc->off + pc->len == job->len && pc->len > 0 &&
	    job->buf[job->len - 1] != '\n');
}

/*
 * Parse [off, end) of the file (after the List's head, if any) into p,
 * starting at 0-based line `line` with the counts given in p->yp, and
 * decode its objects: each document's, or with items_only the items of
 * a List piece that holds no root key of its own.  It fails (p->failed)
 * when ydoc does, when libyaml did not count nlines lines past the head
 * (SIZE_MAX: do not check), or with need_list when its first document
 * is not a List load_object() reads quietly.
 */
static void
split_parse(struct split_job *job, size_t off, size_t end, size_t line,
    size_t nlines, int items_only, int need_list, struct split_part *p)
{
	const struct ysplit	*sp = &job->sp;
	const char		*text = job->buf + off;
	char			*cat = NULL;
	size_t			 tlen = end - off, i, j;
	struct ydoc		 doc;

	kset_init(&p->set);
	diag_list_init(&p->diags);
	p->used = 1;
	p->set.pcfg = job->pcfg;
	if (sp->head_len > 0) {
		if ((cat = malloc(sp->head_len + tlen)) == NULL) {
			diag_add(&p->diags, DIAG_ERROR, DIAG_SYNTAX, job->file,
			    0, 0, NULL, NULL, NULL, NULL, NULL, "%s",
			    "out of memory");
			p->failed = 1;
			return;
		}
		memcpy(cat, job->buf, sp->head_len);
		memcpy(cat + sp->head_len, text, tlen);
		text = cat;
		tlen += sp->head_len;
	}
	p->yp.head_lines = (uint32_t)sp->head_lines;
	p->yp.line_delta = (uint32_t)(line - sp->head_lines);
	if (ydoc_parse_piece(&p->set.arena, job->file, text, tlen,
	    &load_filter, &p->yp, &doc, &p->diags) == -1 ||
	    (nlines != SIZE_MAX && p->yp.lines != sp->head_lines + nlines) ||
	    (items_only && (doc.ndocs != 1 || doc.docs[0]->kind != YN_MAP ||
	    ydoc_get(doc.docs[0], "items") == NULL ||
	    ydoc_get(doc.docs[0], "items")->kind != YN_SEQ)) ||
	    (need_list && (doc.ndocs == 0 || !quiet_list(doc.docs[0])))) {
		p->failed = 1;
		free(cat);
		return;
	}
	free(cat);
	for (i = 0; i < doc.ndocs; i++) {
		const struct ynode *items;

		if (!items_only) {
			if (load_object(&p->set, job->file, doc.docs[i],
			    &p->diags) == -1)
				p->rc = -1;
			continue;
		}
		items = ydoc_get(doc.docs[i], "items");
		for (j = 0; j < items->n; j++)
			if (load_object(&p->set, job->file, items->items[j],
			    &p->diags) == -1)
				p->rc = -1;
	}
}

/* Give back the pages only piece i was read from. */
static void
split_release(struct split_job *job, size_t i)
{
	const struct ysplit_piece	*pc = &job->sp.pieces[i];
	uintptr_t			 pg = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t			 a = (uintptr_t)(job->buf + pc->off);
	uintptr_t			 b = a + pc->len;

	a = (a + pg - 1) & ~(pg - 1);
	b &= ~(pg - 1);
	if (job->release && b > a)
		(void)madvise((void *)a, b - a, MADV_DONTNEED);
}

/*
 * With job->mu held: move good past the pieces parsed cleanly in order,
 * adding up the counts the file's limits are on.
 */
static void
split_advance(struct split_job *job)
{
	while (!job->stuck && job->good < job->nitems &&
	    job->parts[job->good].done) {
		const struct split_part *p = &job->parts[job->good];
		size_t nodes = job->nodes + p->yp.nodes - job->head_nodes;
		size_t alias = job->alias_nodes + p->yp.alias_nodes;

		if (p->failed || nodes > YDOC_MAX_NODES ||
		    alias > YDOC_MAX_ALIAS_NODES) {
			job->stuck = 1;
			break;
		}
		job->nodes = nodes;
		job->alias_nodes = alias;
		split_release(job, job->good);
		job->good++;
	}
}

static void *
split_run(void *arg)
{
	struct split_job	*job = arg;
	size_t			 i;
	int			 stuck;

	while ((i = atomic_fetch_add(&job->next, 1)) < job->nitems) {
		const struct ysplit_piece *pc = &job->sp.pieces[i];

		pthread_mutex_lock(&job->mu);
		stuck = job->stuck;
		pthread_mutex_unlock(&job->mu);
		if (!stuck)
			split_parse(job, pc->off, pc->off + pc->len, pc->line,
			    split_lines(job, i), job->sp.form == YSPLIT_LIST,
			    0, &job->parts[i]);
		pthread_mutex_lock(&job->mu);
		job->parts[i].done = 1;
		split_advance(job);
		pthread_mutex_unlock(&job->mu);
	}
	return NULL;
}

static void *
split_scan_run(void *arg)
{
	struct split_job	*job = arg;
	size_t			 i;

	while ((i = atomic_fetch_add(&job->next, 1)) < job->sp.npieces)
		if (ysplit_scan(&job->sp, i, job->buf, job->len) == -1)
			atomic_store(&job->refused, 1);
	return NULL;
}

/* Run fn on n threads, this one among them; all joined on return. */
static void
split_threads(size_t n, void *(*fn)(void *), struct split_job *job)
{
	pthread_t	tids[LOAD_MAX_THREADS];
	size_t		i, started = 0;

	atomic_store(&job->next, 0);
	for (i = 1; i < n && i < LOAD_MAX_THREADS; i++)
		if (pthread_create(&tids[started], NULL, fn, job) == 0)
			started++;
	fn(job);
	for (i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
}

/*
 * A List's head alone: a map whose last key is `items` on the head's
 * last line, with nothing after it.  Sets job->head_nodes.
 */
static int
split_head_ok(struct split_job *job)
{
	struct arena		 a;
	struct diag_list	 dl;
	struct ydoc		 doc;
	struct ydoc_piece	 yp;
	const struct ynode	*root, *key;
	int			 ok;

	arena_init(&a, 0);
	diag_list_init(&dl);
	memset(&yp, 0, sizeof(yp));
	ok = ydoc_parse_piece(&a, job->file, job->buf, job->sp.head_len,
	    &load_filter, &yp, &doc, &dl) == 0 && dl.n == 0 &&
	    doc.ndocs == 1 && (root = doc.docs[0])->kind == YN_MAP &&
	    root->n > 0 && (key = root->items[2 * (root->n - 1)]) != NULL &&
	    key->kind == YN_SCALAR && strcmp(key->str, "items") == 0 &&
	    key->col == 1 && key->line == job->sp.head_lines &&
	    root->items[2 * root->n - 1]->kind == YN_NULL;
	job->head_nodes = yp.nodes;
	arena_free(&a);
	diag_list_free(&dl);
	return ok;
}

/* Put the last diagnostic of l at index at, moving the later ones on. */
static void
diag_move_back(struct diag_list *l, size_t at)
{
	struct diag d;

	if (l->n == 0 || at >= l->n - 1)
		return;
	d = l->v[l->n - 1];
	memmove(&l->v[at + 1], &l->v[at], (l->n - 1 - at) * sizeof(d));
	l->v[at] = d;
}

/* Move part p into set, as load_object() would have added its objects. */
static int
split_merge(struct kset *set, struct split_job *job, struct split_part *p,
    struct diag_list *diags)
{
	struct kset *ps = &p->set;

	arena_adopt(&set->arena, &ps->arena);
	VEC_APPEND(set->svcs, ps->svcs);
	VEC_APPEND(set->pods, ps->pods);
	VEC_APPEND(set->nss, ps->nss);
	VEC_APPEND(set->epss, ps->epss);
	VEC_APPEND(set->netpols, ps->netpols);
	if (ps->pcfg != NULL && ps->pcfg != job->pcfg) {
		/* The piece's own first ProxyConfig. */
		if (set->pcfg != NULL) {
			const struct kpcfg *o = ps->pcfg;
			const struct ynode *at = kobj_at(o->y, "kind");

			diag_add(&p->diags, DIAG_ERROR, DIAG_DUPLICATE,
			    o->file, at ? at->line : 0, at ? at->col : 0,
			    "ProxyConfig", o->meta.ns, o->meta.name, "kind",
			    "ProxyConfig", "at most one ProxyConfig; the "
			    "first is in %s", set->pcfg->file);
			diag_move_back(&p->diags, ps->pcfg_diag);
		} else
			set->pcfg = ps->pcfg;
	}
	set->nskipped += ps->nskipped;
	diag_list_move(diags, &p->diags);
	return 0;
}

/* Scan every piece, count lines; for a List, check its head and tail. */
static int
split_prepare(struct split_job *job, size_t nthreads)
{
	struct ysplit		*sp = &job->sp;
	struct split_part	*last;
	size_t			 n = sp->npieces;

	if (sp->form == YSPLIT_LIST &&
	    ysplit_scan(sp, SIZE_MAX, job->buf, job->len) == -1)
		return -1;
	split_threads(nthreads, split_scan_run, job);
	if (atomic_load(&job->refused))
		return -1;
	ysplit_lines(sp);
	job->nitems = n;
	if (sp->form != YSPLIT_LIST)
		return 0;
	/*
	 * The last piece holds the List's own keys after its items: parse
	 * it first, so that the file is parsed serially, whole, unless it
	 * is a List whose items are all load_object() reads of it.
	 */
	if (!split_head_ok(job))
		return -1;
	job->nitems = n - 1;
	last = &job->parts[n - 1];
	last->yp.nodes = 0;
	split_parse(job, sp->pieces[n - 1].off, job->len,
	    sp->pieces[n - 1].line, split_lines(job, n - 1), 0, 1, last);
	if (last->failed)
		return -1;
	return 0;
}

/*
 * Parse buf on split->nthreads threads.  Returns 1 when it is not cut
 * (the caller parses it serially), else load_buffer()'s 0 or -1.
 */
static int
load_split(struct kset *set, const char *file, const char *buf, size_t len,
    const struct load_split *split, int release, struct diag_list *diags)
{
	struct split_job	 job;
	struct split_part	*tail = NULL;
	size_t			 i, n, k;
	int			 rc = 0;

	memset(&job, 0, sizeof(job));
	if (ysplit_find(buf, len, split->piece_size, YSPLIT_MAX_PIECES,
	    &job.sp) <= 0)
		return 1;
	n = job.sp.npieces;
	job.buf = buf;
	job.len = len;
	job.file = file;
	job.pcfg = set->pcfg;
	job.release = release;
	if ((job.parts = calloc(n, sizeof(*job.parts))) == NULL ||
	    split_prepare(&job, split->nthreads) == -1) {
		for (i = 0; job.parts != NULL && i < n; i++)
			split_part_free(&job.parts[i]);
		free(job.parts);
		ysplit_free(&job.sp);
		return 1;
	}
	pthread_mutex_init(&job.mu, NULL);
	job.nodes = job.head_nodes;
	split_threads(split->nthreads, split_run, &job);
	pthread_mutex_destroy(&job.mu);
	/* A List's last piece, parsed first, is counted last. */
	if (!job.stuck && job.nitems < n) {
		job.parts[n - 1].done = 1;
		job.nitems = n;
		split_advance(&job);
	}
	k = job.stuck ? job.good : n;
	if (job.stuck) {
		/* Serially from piece k on: what the file's parse says. */
		for (i = k; i < n; i++)
			split_part_free(&job.parts[i]);
		tail = &job.parts[k];
		memset(tail, 0, sizeof(*tail));
		tail->yp.nodes = job.nodes - job.head_nodes;
		tail->yp.alias_nodes = job.alias_nodes;
		split_parse(&job, job.sp.pieces[k].off, len,
		    job.sp.pieces[k].line, SIZE_MAX, 0, 0, tail);
		if (tail->failed) {
			/* No object of a file that does not parse. */
			for (i = 0; i < k; i++)
				split_part_free(&job.parts[i]);
			diag_list_move(diags, &tail->diags);
			split_part_free(tail);
			free(job.parts);
			ysplit_free(&job.sp);
			return -1;
		}
		k++;
	}
	for (i = 0; i < k; i++) {
		if (split_merge(set, &job, &job.parts[i], diags) == -1 ||
		    job.parts[i].rc == -1)
			rc = -1;
		split_part_free(&job.parts[i]);
	}
	set->npieces += n;
	free(job.parts);
	ysplit_free(&job.sp);
	return rc;
}


/*
 * Parse buf into set.  release: buf is a file buffer of ours
 * (file_buf_alloc) whose parsed pages may be given back early.
 */
static int
load_buffer_opts(struct kset *set, const char *name, const char *buf,
    size_t len, const struct load_split *split, int release,
    struct diag_list *diags)
{
	struct ydoc	 doc;
	const char	*file;
	size_t		 i;
	int		 rc = 0;

	set->nfiles++;
	hash_bytes(set, name, strlen(name) + 1);
	hash_bytes(set, buf, len);
	if ((file = arena_strdup(&set->arena, name)) == NULL)
		return -1;
	if (split != NULL && split->nthreads > 1 &&
	    (rc = load_split(set, file, buf, len, split, release, diags)) != 1)
		return rc;
	rc = 0;
	if (ydoc_parse(&set->arena, file, buf, len, &load_filter, &doc,
	    diags) == -1)
		return -1;
	for (i = 0; i < doc.ndocs; i++)
		if (load_object(set, file, doc.docs[i], diags) == -1)
			rc = -1;
	return rc;
}

/* How files are cut by default: N online CPUs, up to LOAD_MAX_THREADS. */
static void
split_default(struct load_split *split, size_t len, int serial)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	split->nthreads = serial || len < LOAD_SPLIT_MIN || ncpu < 2 ? 1 :
	    ncpu > LOAD_MAX_THREADS ? LOAD_MAX_THREADS : (size_t)ncpu;
	/* Several pieces a thread: they take turns, so none idles long. */
	split->piece_size = len / (split->nthreads * 8);
	if (split->piece_size < LOAD_SPLIT_MIN / 4)
		split->piece_size = LOAD_SPLIT_MIN / 4;
}

int
load_buffer(struct kset *set, const char *name, const char *buf, size_t len,
    struct diag_list *diags)
{
	struct load_split split;

	split_default(&split, len, 0);
	return load_buffer_opts(set, name, buf, len, &split, 0, diags);
}

int
load_buffer_split(struct kset *set, const char *name, const char *buf,
    size_t len, const struct load_split *split, struct diag_list *diags)
{
	return load_buffer_opts(set, name, buf, len, split, 0, diags);
}

/*
 * A file's buffer comes straight from mmap, not malloc: load_split()
 * gives the pages of what it has parsed back while it parses the rest
 * (madvise), so a large file and the nodes made from it are not both
 * resident in full at the end.
 */
static char *
file_buf_alloc(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void
file_buf_free(char *buf, size_t size)
{
	munmap(buf, size);
}

/* What a file that is not a regular one is, for the error refusing it. */
static const char *
file_type(mode_t mode)
{
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISFIFO(mode))
		return "a FIFO (named pipe)";
	if (S_ISCHR(mode))
		return "a character device";
	if (S_ISBLK(mode))
		return "a block device";
	if (S_ISSOCK(mode))
		return "a socket";
	return "a special file";
}

static void
not_regular(const char *path, mode_t mode, struct diag_list *diags)
{
	diag_add(diags, DIAG_ERROR, DIAG_IO, path, 0, 0, NULL, NULL, NULL,
	    NULL, NULL, "is %s, not a regular file; only regular files "
	    "are read", file_type(mode));
}

static int
read_error(const char *path, int err, struct diag_list *diags)
{
	diag_add(diags, DIAG_ERROR, DIAG_IO, path, 0, 0, NULL, NULL, NULL,
	    NULL, NULL, "%s", strerror(err));
	return -1;
}

/*
 * Read the regular file at path into a NUL-terminated buffer (*out, of
 * *size bytes, owned by the caller: file_buf_free).  Returns 0, or -1 with a diagnostic.
 *
 * Nothing here may wait on another process: opening a FIFO for reading
 * blocks until a writer comes, so a FIFO named x.yaml in the directory
 * hung `check` and a reload forever.  The type is checked with stat()
 * before the file is opened at all (opening a device can have effects),
 * the open is non-blocking in case the name was replaced by a FIFO in
 * between, and fstat() of what was opened decides.  Reading stops at
 * LOAD_READ_TIMEOUT_MS: a file on a file system that trickles data in
 * fails instead of stalling the load (a read() stuck in the kernel
 * cannot be interrupted from here).
 */
static int
read_file(const char *path, char **out, size_t *outlen, size_t *size,
    _Atomic size_t *total, struct diag_list *diags)
{
	struct stat	 st;
	char		*buf;
	size_t		 off = 0, want;
	ssize_t		 n;
	uint64_t	 start = (uint64_t)clock_mono_ms();
	int		 fd;

	if (stat(path, &st) == -1)
		return read_error(path, errno, diags);
	if (!S_ISREG(st.st_mode)) {
		not_regular(path, st.st_mode, diags);
		return -1;
	}
	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY |
	    O_CLOEXEC)) == -1)
		return read_error(path, errno, diags);
	if (fstat(fd, &st) == -1) {
		close(fd);
		return read_error(path, errno, diags);
	}
	if (!S_ISREG(st.st_mode)) {
		not_regular(path, st.st_mode, diags);
		close(fd);
		return -1;
	}
	if ((uint64_t)st.st_size > YDOC_MAX_FILE) {
		diag_add(diags, DIAG_ERROR, DIAG_IO, path, 0, 0, NULL, NULL,
		    NULL, NULL, NULL,
		    "file is %lld bytes, over the limit of %u", (long long)
		    st.st_size, YDOC_MAX_FILE);
		close(fd);
		return -1;
	}
	if (atomic_fetch_add(total, (size_t)st.st_size) + (size_t)st.st_size >
	    LOAD_MAX_TOTAL) {
		diag_add(diags, DIAG_ERROR, DIAG_IO, path, 0, 0, NULL, NULL,
		    NULL, NULL, NULL,
		    "the configuration is over %u bytes in all",
		    LOAD_MAX_TOTAL);
		close(fd);
		return -1;
	}
	if ((buf = file_buf_alloc((size_t)st.st_size + 1)) == NULL) {
		close(fd);
		return read_error(path, ENOMEM, diags);
	}
	/* Read what is there now; a file growing under us is cut. */
	while (off < (size_t)st.st_size) {
		if ((uint64_t)clock_mono_ms() - start > LOAD_READ_TIMEOUT_MS) {
			diag_add(diags, DIAG_ERROR, DIAG_IO, path, 0, 0, NULL,
			    NULL, NULL, NULL, NULL, "read %zu of %lld bytes "
			    "in %u ms, the limit; is its file system slow?",
			    off, (long long)st.st_size, LOAD_READ_TIMEOUT_MS);
			file_buf_free(buf, (size_t)st.st_size + 1);
			close(fd);
			return -1;
		}
		want = (size_t)st.st_size - off;
		if (want > LOAD_READ_CHUNK)
			want = LOAD_READ_CHUNK;
		if ((n = read(fd, buf + off, want)) == 0)
			break;
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n == -1) {
			file_buf_free(buf, (size_t)st.st_size + 1);
			close(fd);
			return read_error(path, errno, diags);
		}
		off += (size_t)n;
	}
	close(fd);
	buf[off] = '\0';
	*out = buf;
	*outlen = off;
	*size = (size_t)st.st_size + 1;
	return 0;
}

static int
load_file(struct kset *set, const char *path, _Atomic size_t *total,
    int serial, struct diag_list *diags)
{
	struct load_split	 split;
	char			*buf;
	size_t			 len, size;
	int			 rc;

	if (read_file(path, &buf, &len, &size, total, diags) == -1)
		return -1;
	split_default(&split, len, serial);
	rc = load_buffer_opts(set, path, buf, len, &split, 1, diags);
	file_buf_free(buf, size);
	return rc;
}

static int
yaml_name(const char *name)
{
	size_t len = strlen(name);

	if (name[0] == '.')
		return 0;	/* editor and dotfiles */
	return (len > 5 && strcmp(name + len - 5, ".yaml") == 0) ||
	    (len > 4 && strcmp(name + len - 4, ".yml") == 0);
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char * const *)a, *(char * const *)b);
}

/*
 * The files of a directory, sorted, as "dir/name" paths (malloc'd, as is
 * the array).  Returns -1 with a diagnostic when it cannot be listed.
 */
static int
list_dir(const char *path, char ***out, size_t *nout, struct diag_list *diags)
{
	DIR		*dir;
	struct dirent	*de;
	char		**paths = NULL, *full;
	size_t		 n = 0, cap = 0, plen = strlen(path);
	int		 rc = 0;

	if ((dir = opendir(path)) == NULL) {
		diag_add(diags, DIAG_ERROR, DIAG_IO, path, 0, 0, NULL, NULL,
		    NULL, NULL, NULL, "%s", strerror(errno));
		return -1;
	}
	while ((de = readdir(dir)) != NULL) {
		if (!yaml_name(de->d_name))
			continue;
		if (n >= LOAD_MAX_FILES) {
			diag_add(diags, DIAG_ERROR, DIAG_IO, path, 0, 0, NULL,
			    NULL, NULL, NULL, NULL,
			    "more than %d YAML files", LOAD_MAX_FILES);
			rc = -1;
			break;
		}
		if ((full = malloc(plen + strlen(de->d_name) + 2)) == NULL ||
		    vec_push((void ***)&paths, &n, &cap, full) == -1) {
			free(full);
			rc = -1;
			break;
		}
		sprintf(full, "%s%s%s", path,
		    plen > 0 && path[plen - 1] == '/' ? "" : "/", de->d_name);
	}
	closedir(dir);
	if (n > 1)
		qsort(paths, n, sizeof(*paths), name_cmp);
	*out = paths;
	*nout = n;
	return rc;
}

/*
 * Files are independent until load_finish(), so a directory is read by
 * a few threads at once, each into its own partial set; the parts are
 * then moved into the set.  Nothing depends on which thread read what:
 * load_finish() sorts every kind and the file hashes combine in name
 * order.
 */
struct load_job {
	char			**paths;	/* borrowed; name order */
	size_t			  n;
	int			  serial;	/* SVCPROXY_PARSE_SERIAL */
	_Atomic size_t		  next;		/* next file to take */
	_Atomic size_t		  total;	/* bytes read, all threads */
	uint64_t		 *hashes;	/* malloc; per file */
};

struct load_part {
	struct load_job		*job;
	pthread_t		 tid;
	struct kset		 set;		/* moved into the set */
	struct diag_list	 diags;		/* moved into diags */
	int			 rc;
};

static void *
load_part_run(void *arg)
{
	struct load_part	*part = arg;
	struct load_job		*job = part->job;
	size_t			 i;

	while ((i = atomic_fetch_add(&job->next, 1)) < job->n) {
		part->set.hash = KSET_HASH_SEED;
		if (load_file(&part->set, job->paths[i], &job->total,
		    job->serial, &part->diags) == -1)
			part->rc = -1;
		job->hashes[i] = part->set.hash;
	}
	return NULL;
}


/* Move part into set; objects stay where they are, in part's arena. */
static int
load_part_merge(struct kset *set, struct load_part *part,
    struct diag_list *diags)
{
	struct kset *p = &part->set;

	arena_adopt(&set->arena, &p->arena);
	VEC_APPEND(set->svcs, p->svcs);
	VEC_APPEND(set->pods, p->pods);
	VEC_APPEND(set->nss, p->nss);
	VEC_APPEND(set->epss, p->epss);
	VEC_APPEND(set->netpols, p->netpols);
	if (p->pcfg != NULL && set->pcfg != NULL) {
		const struct kpcfg *later = strcmp(p->pcfg->file,
		    set->pcfg->file) > 0 ? p->pcfg : set->pcfg;
		const struct kpcfg *first = later == p->pcfg ? set->pcfg :
		    p->pcfg;
		const struct ynode *at = kobj_at(later->y, "kind");

		diag_add(&part->diags, DIAG_ERROR, DIAG_DUPLICATE, later->file,
		    at->line, at->col, "ProxyConfig", NULL,
		    later->meta.name, "kind", "ProxyConfig",
		    "at most one ProxyConfig; the first is in %s", first->file);
		set->pcfg = (struct kpcfg *)first;
	} else if (p->pcfg != NULL)
		set->pcfg = p->pcfg;
	set->nfiles += p->nfiles;
	set->nskipped += p->nskipped;
	set->npieces += p->npieces;
	diag_list_move(diags, &part->diags);
	return 0;
}

static int
load_dir(struct kset *set, const char *path, int serial,
    struct diag_list *diags)
{
	struct load_job		 job;
	struct load_part	 parts[LOAD_MAX_THREADS];
	size_t			 nparts, i;
	long			 ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int			 rc;

	memset(&job, 0, sizeof(job));
	job.serial = serial;
	rc = list_dir(path, &job.paths, &job.n, diags);
	if ((job.hashes = calloc(job.n + 1, sizeof(*job.hashes))) == NULL)
		rc = -1;
	nparts = ncpu < 1 ? 1 : ncpu > LOAD_MAX_THREADS ? LOAD_MAX_THREADS :
	    (size_t)ncpu;
	if (nparts > job.n)
		nparts = job.n > 0 ? job.n : 1;
	for (i = 0; i < nparts && job.hashes != NULL; i++) {
		parts[i].job = &job;
		parts[i].rc = 0;
		kset_init(&parts[i].set);
		diag_list_init(&parts[i].diags);
		/* Part 0 runs on this thread; a failed spawn runs inline. */
		if (i == 0 || pthread_create(&parts[i].tid, NULL,
		    load_part_run, &parts[i]) != 0)
			parts[i].tid = 0;
	}
	if (job.hashes != NULL) {
		load_part_run(&parts[0]);
		for (i = 0; i < nparts; i++) {
			if (parts[i].tid != 0)
				pthread_join(parts[i].tid, NULL);
			/* Always merge: a failed part still has diagnostics. */
			if (load_part_merge(set, &parts[i], diags) == -1 ||
			    parts[i].rc == -1)
				rc = -1;
			kset_free(&parts[i].set);
			diag_list_free(&parts[i].diags);
		}
		for (i = 0; i < job.n; i++)
			hash_bytes(set, &job.hashes[i], sizeof(job.hashes[i]));
	}
	for (i = 0; i < job.n; i++)
		free(job.paths[i]);
	free(job.paths);
	free(job.hashes);
	return rc;
}

int
load_path(struct kset *set, const char *path, struct diag_list *diags)
{
	struct stat	st;
	_Atomic size_t	total = 0;
	int		rc, serial = getenv("SVCPROXY_PARSE_SERIAL") != NULL;

	if (stat(path, &st) == -1) {
		diag_add(diags, DIAG_ERROR, DIAG_IO, path, 0, 0, NULL, NULL,
		    NULL, NULL, NULL, "%s", strerror(errno));
		return -1;
	}
	if (S_ISDIR(st.st_mode))
		rc = load_dir(set, path, serial, diags);
	else
		rc = load_file(set, path, &total, serial, diags);
	load_finish(set, diags);
	return rc;
}

/* ---- sorting and duplicates ---- */

static int
obj_cmp(const void *a, const void *b)
{
	const struct kobj_any *x = *(struct kobj_any * const *)a;
	const struct kobj_any *y = *(struct kobj_any * const *)b;
	int c;

	c = strcmp(x->meta.ns ? x->meta.ns : "", y->meta.ns ? y->meta.ns : "");
	return c != 0 ? c : strcmp(x->meta.name, y->meta.name);
}

/* Name order, then the order read (file, line): first read sorts first. */
static int
obj_order(const void *a, const void *b)
{
	const struct kobj_any *x = *(struct kobj_any * const *)a;
	const struct kobj_any *y = *(struct kobj_any * const *)b;
	int c;

	if ((c = obj_cmp(a, b)) != 0)
		return c;
	if ((c = strcmp(x->h.file, y->h.file)) != 0)
		return c;
	if (x->h.y->line != y->h.y->line)
		return x->h.y->line < y->h.y->line ? -1 : 1;
	return x->h.y->col < y->h.y->col ? -1 : x->h.y->col > y->h.y->col;
}

/*
 * Sort a kind's objects and drop the later of two with one name; the
 * first one read is kept, so an error points at the newcomer.
 */
static void
sort_unique(void **v, size_t *n, const char *kind, struct diag_list *diags)
{
	size_t i, out = 0;

	if (*n < 2)
		return;
	qsort(v, *n, sizeof(*v), obj_order);
	for (i = 0; i < *n; i++) {
		struct kobj_any *o = v[i];

		if (out > 0 && obj_cmp(&v[out - 1], &v[i]) == 0) {
			struct kobj_any *first = v[out - 1];
			const struct ynode *at = kobj_at(o->meta.y, "name");

			diag_add(diags, DIAG_ERROR, DIAG_DUPLICATE, o->h.file,
			    at ? at->line : 0, at ? at->col : 0, kind,
			    o->meta.ns, o->meta.name, "metadata.name",
			    o->meta.name, "already defined at %s:%u",
			    first->h.file, first->h.y ? first->h.y->line : 0);
			continue;
		}
		v[out++] = o;
	}
	*n = out;
}

void
load_finish(struct kset *set, struct diag_list *diags)
{
	sort_unique((void **)set->svcs.v, &set->svcs.n, "Service", diags);
	sort_unique((void **)set->pods.v, &set->pods.n, "Pod", diags);
	sort_unique((void **)set->nss.v, &set->nss.n, "Namespace", diags);
	sort_unique((void **)set->epss.v, &set->epss.n, "EndpointSlice",
	    diags);
	sort_unique((void **)set->netpols.v, &set->netpols.n,
	    "NetworkPolicy", diags);
}
