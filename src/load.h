/*
 * load: files to a set of typed Kubernetes objects.
 *
 * A path is a file or a directory whose *.yaml and *.yml files are read
 * in name order.  Each file may hold several documents (---) and `kind:
 * List` documents with `items`, as `kubectl get -o yaml` prints.  Kinds
 * svcproxy does not read are skipped with a warning; objects of a known
 * kind are decoded strictly (kobj.c).  An object whose decoding failed
 * is kept out of the set: the rest is still loaded and checked.
 */
#ifndef SVCPROXY_LOAD_H
#define SVCPROXY_LOAD_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "diag.h"
#include "hash.h"
#include "kobj-t.h"

#define LOAD_MAX_TOTAL		(256u * 1024 * 1024)	/* all files */
#define LOAD_MAX_FILES		4096
#define LOAD_ARENA_LIMIT	((size_t)2048 * 1024 * 1024)
#define LOAD_READ_TIMEOUT_MS	10000u	/* reading one file */
#define LOAD_READ_CHUNK		(1u * 1024 * 1024)	/* per read() */

/* Growable array of object pointers; the array is malloc'd by kset. */
#define KSET_HASH_SEED		FNV1A64_INIT

#define KSET_VEC(type)	struct { type **v; size_t n, cap; }

struct kset {
	struct arena		 arena;		/* owns every object, node,
						   string below */
	KSET_VEC(struct ksvc)	 svcs;		/* array owned by kset */
	KSET_VEC(struct kpod)	 pods;
	KSET_VEC(struct kns)	 nss;
	KSET_VEC(struct keps)	 epss;
	KSET_VEC(struct knetpol) netpols;
	KSET_VEC(struct kpcfg)	 pcfgs;		/* every one read, in no
						   order until load_finish */
	struct kpcfg		*pcfg;		/* arena: the first read
						   (load_finish); NULL:
						   defaults */
	size_t			 nfiles;
	size_t			 nskipped;	/* objects of other kinds */
	size_t			 npieces;	/* parsed on threads, of files
						   cut by load_split */
	uint64_t		 hash;		/* of file names and contents */
};

void	 kset_init(struct kset *);
void	 kset_free(struct kset *);

/*
 * Read path into set.  Returns 0 when every file was read and every
 * object decoded cleanly, else -1; all problems are in diags either way.
 */
int	 load_path(struct kset *set, const char *path, struct diag_list *);

/*
 * Parse one in-memory file (also the fuzzer's entry point).  A file of
 * LOAD_SPLIT_MIN bytes or more is cut into pieces (ysplit.h) parsed on
 * up to LOAD_MAX_THREADS threads, merged in file order: the objects,
 * the diagnostics and their order are the serial parse's.  Smaller
 * files are parsed serially: below a megabyte, starting threads and a
 * heap per piece costs about what it saves.
 */
int	 load_buffer(struct kset *set, const char *name, const char *buf,
	    size_t len, struct diag_list *);

#define LOAD_SPLIT_MIN		(1024u * 1024)
#define LOAD_MAX_THREADS	4

/*
 * How load_buffer_split() cuts a file: into pieces of about piece_size
 * bytes parsed on nthreads threads (1: serially, as load_buffer() does
 * below LOAD_SPLIT_MIN).  Tests call it to cut small files; the
 * environment variable SVCPROXY_PARSE_SERIAL (any value) makes
 * load_path() parse every file serially, for comparing the two.
 */
struct load_split {
	size_t		 nthreads;
	size_t		 piece_size;
};

int	 load_buffer_split(struct kset *set, const char *name,
	    const char *buf, size_t len, const struct load_split *,
	    struct diag_list *);

/*
 * After every file: sort each kind by namespace/name and report
 * duplicates.  load_path() calls it; load_buffer() users call it once.
 */
void	 load_finish(struct kset *set, struct diag_list *);

/* Namespace of a namespaced object after defaulting ("default"). */
#define KSET_DEFAULT_NS	"default"

#endif
