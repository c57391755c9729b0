#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kobj.h"
#include "load_int.h"
#include "ysplit.h"

/*
 * A file cut by ysplit is parsed piece by piece on a few threads, each
 * piece into its own partial set and diagnostic list, merged in file
 * order.  Pieces parse to what the file parses to (ysplit.h), with the
 * file's line numbers (ydoc_piece).  Whatever a piece cannot know alone
 * is settled at the merge: the per-file node limits (counted piece
 * after piece) and failure (a second ProxyConfig waits for
 * load_finish, which sees every file and piece): when a piece does not
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
	    (need_list && (doc.ndocs == 0 || !load_quiet_list(doc.docs[0])))) {
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

/* Move part p into set, as load_object() would have added its objects. */
static int
split_merge(struct kset *set, struct split_part *p, struct diag_list *diags)
{
	struct kset *ps = &p->set;

	arena_adopt(&set->arena, &ps->arena);
	if (kset_append(set, ps) == -1)
		return -1;
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
int
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
		if (split_merge(set, &job.parts[i], diags) == -1 ||
		    job.parts[i].rc == -1)
			rc = -1;
		split_part_free(&job.parts[i]);
	}
	set->npieces += n;
	free(job.parts);
	ysplit_free(&job.sp);
	return rc;
}
