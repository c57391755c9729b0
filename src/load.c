#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
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

	/* kubectl prints apiVersion and kind first; else keep it all. */
	if ((kind = pair_scalar(pairs, npairs, "kind")) == NULL)
		return NULL;
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
	if (strcmp(kind, "List") == 0 || (strlen(kind) > 4 &&
	    strcmp(kind + strlen(kind) - 4, "List") == 0 &&
	    ydoc_get(root, "items") != NULL)) {
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

int
load_buffer(struct kset *set, const char *name, const char *buf, size_t len,
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
	if (ydoc_parse(&set->arena, file, buf, len, &load_filter, &doc,
	    diags) == -1)
		return -1;
	for (i = 0; i < doc.ndocs; i++)
		if (load_object(set, file, doc.docs[i], diags) == -1)
			rc = -1;
	return rc;
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
 * Read the regular file at path into a malloc'd, NUL-terminated buffer
 * (*out, owned by the caller).  Returns 0, or -1 with a diagnostic.
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
read_file(const char *path, char **out, size_t *outlen,
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
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
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
			free(buf);
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
			free(buf);
			close(fd);
			return read_error(path, errno, diags);
		}
		off += (size_t)n;
	}
	close(fd);
	buf[off] = '\0';
	*out = buf;
	*outlen = off;
	return 0;
}

static int
load_file(struct kset *set, const char *path, _Atomic size_t *total,
    struct diag_list *diags)
{
	char	*buf;
	size_t	 len;
	int	 rc;

	if (read_file(path, &buf, &len, total, diags) == -1)
		return -1;
	rc = load_buffer(set, path, buf, len, diags);
	free(buf);
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
#define LOAD_MAX_THREADS	4

struct load_job {
	char			**paths;	/* borrowed; name order */
	size_t			  n;
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
		    &part->diags) == -1)
			part->rc = -1;
		job->hashes[i] = part->set.hash;
	}
	return NULL;
}

#define VEC_APPEND(dst, src) do {					\
	size_t i_;							\
	for (i_ = 0; i_ < (src).n; i_++)				\
		if (VEC_PUSH(dst, (src).v[i_]) == -1)			\
			return -1;					\
} while (0)

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
	diag_list_move(diags, &part->diags);
	return 0;
}

static int
load_dir(struct kset *set, const char *path, struct diag_list *diags)
{
	struct load_job		 job;
	struct load_part	 parts[LOAD_MAX_THREADS];
	size_t			 nparts, i;
	long			 ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int			 rc;

	memset(&job, 0, sizeof(job));
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
	int		rc;

	if (stat(path, &st) == -1) {
		diag_add(diags, DIAG_ERROR, DIAG_IO, path, 0, 0, NULL, NULL,
		    NULL, NULL, NULL, "%s", strerror(errno));
		return -1;
	}
	if (S_ISDIR(st.st_mode))
		rc = load_dir(set, path, diags);
	else
		rc = load_file(set, path, &total, diags);
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
