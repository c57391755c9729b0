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
#include "load.h"
#include "load_int.h"
#include "par.h"
#include "vec.h"
#include "ydoc.h"

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

/*
 * A thread's file buffer, reused for each file it reads: a directory's
 * files mapped and unmapped one by one cost a page fault per 4 KiB of
 * each, a sixth of all of `check`'s on a large directory.
 */
struct file_buf {
	char		*p;		/* mmap; NULL: none yet */
	size_t		 size;
};

static void
file_buf_free(struct file_buf *fb)
{
	if (fb->p != NULL)
		munmap(fb->p, fb->size);
	fb->p = NULL;
	fb->size = 0;
}

/* Room for size bytes in fb; -1 when it cannot be had. */
static int
file_buf_reserve(struct file_buf *fb, size_t size)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);

	if (fb->p != NULL && fb->size >= size)
		return 0;
	file_buf_free(fb);
	size = (size + pg - 1) / pg * pg;
	if ((fb->p = file_buf_alloc(size)) == NULL)
		return -1;
	fb->size = size;
	return 0;
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
 * Read the regular file at path into fb (grown as needed, owned by the
 * caller), NUL-terminated, *outlen bytes.  Returns 0, or -1 with a
 * diagnostic.
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
read_file(const char *path, struct file_buf *fb, size_t *outlen,
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
	if (file_buf_reserve(fb, (size_t)st.st_size + 1) == -1) {
		close(fd);
		return read_error(path, ENOMEM, diags);
	}
	buf = fb->p;
	/* Read what is there now; a file growing under us is cut. */
	while (off < (size_t)st.st_size) {
		if ((uint64_t)clock_mono_ms() - start > LOAD_READ_TIMEOUT_MS) {
			diag_add(diags, DIAG_ERROR, DIAG_IO, path, 0, 0, NULL,
			    NULL, NULL, NULL, NULL, "read %zu of %lld bytes "
			    "in %u ms, the limit; is its file system slow?",
			    off, (long long)st.st_size, LOAD_READ_TIMEOUT_MS);
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
			close(fd);
			return read_error(path, errno, diags);
		}
		off += (size_t)n;
	}
	close(fd);
	buf[off] = '\0';
	*outlen = off;
	return 0;
}

static int
load_file(struct kset *set, const char *path, struct file_buf *fb,
    _Atomic size_t *total, int serial, struct diag_list *diags)
{
	struct load_split	 split;
	size_t			 len;

	if (read_file(path, fb, &len, total, diags) == -1)
		return -1;
	split_default(&split, len, serial);
	return load_buffer_opts(set, path, fb->p, len, &split, 1, diags);
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
	struct file_buf		 fb;		/* this thread's */
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
		if (load_file(&part->set, job->paths[i], &part->fb,
		    &job->total, job->serial, &part->diags) == -1)
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
	if (kset_append(set, p) == -1)
		return -1;
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
		parts[i].fb.p = NULL;
		parts[i].fb.size = 0;
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
			file_buf_free(&parts[i].fb);
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
	struct stat	 st;
	struct file_buf	 fb = { NULL, 0 };
	_Atomic size_t	 total = 0;
	int		 rc, serial = par_serial();

	if (stat(path, &st) == -1) {
		diag_add(diags, DIAG_ERROR, DIAG_IO, path, 0, 0, NULL, NULL,
		    NULL, NULL, NULL, "%s", strerror(errno));
		return -1;
	}
	if (S_ISDIR(st.st_mode))
		rc = load_dir(set, path, serial, diags);
	else {
		rc = load_file(set, path, &fb, &total, serial, diags);
		file_buf_free(&fb);
	}
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

/* The order read: file, then line and column. */
static int
read_order(const void *a, const void *b)
{
	const struct kpcfg *x = *(struct kpcfg * const *)a;
	const struct kpcfg *y = *(struct kpcfg * const *)b;
	int c;

	if ((c = strcmp(x->file, y->file)) != 0)
		return c;
	if (x->y->line != y->y->line)
		return x->y->line < y->y->line ? -1 : 1;
	return x->y->col < y->y->col ? -1 : x->y->col > y->y->col;
}

/*
 * The first ProxyConfig read is the one; every later one is an error
 * naming it.  Decided here, once every file and piece is in: threads
 * read files and pieces in any order, and a duplicate reported as it
 * came would name whichever its thread happened to see first.
 */
static void
pcfg_first(struct kset *set, struct diag_list *diags)
{
	size_t i;

	set->pcfg = NULL;
	if (set->pcfgs.n == 0)
		return;
	qsort(set->pcfgs.v, set->pcfgs.n, sizeof(*set->pcfgs.v), read_order);
	set->pcfg = set->pcfgs.v[0];
	for (i = 1; i < set->pcfgs.n; i++) {
		const struct kpcfg *o = set->pcfgs.v[i];
		const struct ynode *at = kobj_at(o->y, "kind");

		diag_add(diags, DIAG_ERROR, DIAG_DUPLICATE, o->file,
		    at ? at->line : 0, at ? at->col : 0, "ProxyConfig",
		    o->meta.ns, o->meta.name, "kind", "ProxyConfig",
		    "at most one ProxyConfig; the first is in %s",
		    set->pcfg->file);
	}
}

void
load_finish(struct kset *set, struct diag_list *diags)
{
	pcfg_first(set, diags);
	sort_unique((void **)set->svcs.v, &set->svcs.n, "Service", diags);
	sort_unique((void **)set->pods.v, &set->pods.n, "Pod", diags);
	sort_unique((void **)set->nss.v, &set->nss.n, "Namespace", diags);
	sort_unique((void **)set->epss.v, &set->epss.n, "EndpointSlice",
	    diags);
	sort_unique((void **)set->netpols.v, &set->netpols.n,
	    "NetworkPolicy", diags);
}
