/*
 * yaml_floor: the least `svcproxy check` can cost on a configuration,
 * for bench/scale.sh's "libyaml floor" row.  It reads the same files
 * and has libyaml parse the same bytes into events, cut into the same
 * pieces on the same number of threads, and does nothing else with
 * them: each event is deleted as soon as it is parsed.  svcproxy's
 * nodes, objects, validation and resolution can only add to it.
 *
 *   yaml_floor [-t THREADS] PATH
 *
 * PATH is a file or a directory, whose *.yaml and *.yml files are taken
 * in name order, as svcproxy takes them.  THREADS (default: the online
 * CPUs, at most 4, as svcproxy) take a directory's files in turn, each
 * read and parsed by the thread that takes it, or the pieces of one
 * file of 1 MiB or more; with -t 1 every file is parsed whole on one
 * thread, as SVCPROXY_PARSE_SERIAL=1 does.  A file is cut where
 * ysplit_find() (src/ysplit.c, svcproxy's own) cuts it into pieces of
 * len / (threads * 8) bytes, at least 256 KiB; a piece of a `kind:
 * List` is parsed after the List's head, as svcproxy parses it, but
 * read through libyaml's input handler rather than copied.  The pieces
 * are not scanned for what would make svcproxy refuse to cut a file
 * (ysplit_scan): on files svcproxy refuses to cut, this floor is too
 * low.
 *
 * It prints one line, "yaml_floor: EVENTS events, FILES files, PIECES
 * pieces on THREADS threads", and exits 1 if libyaml reports an error.
 * Time it from outside (/usr/bin/time), as scale.sh times svcproxy.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#include "ysplit.h"

#define FLOOR_MAX_THREADS	4	/* LOAD_MAX_THREADS */
#define FLOOR_SPLIT_MIN		(1024u * 1024)	/* LOAD_SPLIT_MIN */

/* One piece of work: a file to read, or a head and a piece of one. */
struct item {
	const char		*path;		/* read on the thread */
	const unsigned char	*head;		/* NULL: none */
	size_t			 head_len;
	const unsigned char	*text;
	size_t			 len;
};

struct job {
	struct item		*items;		/* malloc */
	size_t			 n, cap;
	_Atomic size_t		 next;
	_Atomic long		 events;
	_Atomic int		 failed;
};

/* libyaml's input: the head, then the text, without a copy. */
struct reader {
	const struct item	*it;
	size_t			 off;	/* into head, then text */
};

static int
read_handler(void *arg, unsigned char *buf, size_t size, size_t *got)
{
	struct reader	*r = arg;
	const struct item *it = r->it;
	size_t		 total = it->head_len + it->len, n = 0, k;

	while (n < size && r->off < total) {
		if (r->off < it->head_len) {
			k = it->head_len - r->off;
			if (k > size - n)
				k = size - n;
			memcpy(buf + n, it->head + r->off, k);
		} else {
			k = total - r->off;
			if (k > size - n)
				k = size - n;
			memcpy(buf + n, it->text + (r->off - it->head_len), k);
		}
		n += k;
		r->off += k;
	}
	*got = n;
	return 1;
}

/* Parse one item to its last event; the count, or -1 on an error. */
static long
parse_item(const struct item *it)
{
	yaml_parser_t	 parser;
	yaml_event_t	 ev;
	struct reader	 r = { it, 0 };
	long		 n = 0;
	int		 type;

	if (!yaml_parser_initialize(&parser))
		return -1;
	if (it->head == NULL)
		yaml_parser_set_input_string(&parser, it->text, it->len);
	else
		yaml_parser_set_input(&parser, read_handler, &r);
	do {
		if (!yaml_parser_parse(&parser, &ev)) {
			fprintf(stderr, "yaml_floor: line %zu: %s\n",
			    parser.problem_mark.line + 1,
			    parser.problem ? parser.problem : "parse error");
			yaml_parser_delete(&parser);
			return -1;
		}
		type = ev.type;
		yaml_event_delete(&ev);
		n++;
	} while (type != YAML_STREAM_END_EVENT);
	yaml_parser_delete(&parser);
	return n;
}

static unsigned char *read_file(const char *, size_t *);

static void *
run(void *arg)
{
	struct job	*job = arg;
	struct item	*it;
	unsigned char	*buf = NULL;
	size_t		 i;
	long		 n;

	while ((i = atomic_fetch_add(&job->next, 1)) < job->n) {
		it = &job->items[i];
		if (it->path != NULL) {
			/* svcproxy, too, frees a file once it is parsed. */
			buf = read_file(it->path, &it->len);
			it->text = buf;
		}
		if ((n = parse_item(it)) < 0)
			atomic_store(&job->failed, 1);
		else
			atomic_fetch_add(&job->events, n);
		if (it->path != NULL) {
			free(buf);
			free((char *)it->path);
			it->path = NULL;
			it->text = NULL;
		}
	}
	return NULL;
}

static void
add(struct job *job, const char *path, const unsigned char *head,
    size_t head_len,
    const unsigned char *text, size_t len)
{
	if (job->n == job->cap) {
		job->cap = job->cap ? job->cap * 2 : 256;
		if ((job->items = realloc(job->items, job->cap *
		    sizeof(*job->items))) == NULL) {
			perror("yaml_floor");
			exit(1);
		}
	}
	job->items[job->n++] = (struct item){ path, head, head_len, text, len };
}

/* Read path whole: malloc'd, kept to the end. */
static unsigned char *
read_file(const char *path, size_t *len)
{
	struct stat	 st;
	unsigned char	*buf;
	size_t		 off = 0;
	ssize_t		 r;
	int		 fd;

	if ((fd = open(path, O_RDONLY)) == -1 || fstat(fd, &st) == -1) {
		fprintf(stderr, "yaml_floor: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		perror("yaml_floor");
		exit(1);
	}
	while (off < (size_t)st.st_size &&
	    (r = read(fd, buf + off, (size_t)st.st_size - off)) > 0)
		off += (size_t)r;
	close(fd);
	buf[off] = '\0';
	*len = off;
	return buf;
}

/* One file read here: its pieces, cut as svcproxy cuts it, go to job. */
static void
add_file(struct job *job, const char *path, size_t nthreads)
{
	struct ysplit	 sp;
	unsigned char	*buf;
	size_t		 len, piece, i;

	buf = read_file(path, &len);
	piece = len / (nthreads * 8);
	if (piece < FLOOR_SPLIT_MIN / 4)
		piece = FLOOR_SPLIT_MIN / 4;
	memset(&sp, 0, sizeof(sp));
	if (nthreads < 2 || len < FLOOR_SPLIT_MIN ||
	    ysplit_find((const char *)buf, len, piece, YSPLIT_MAX_PIECES,
	    &sp) <= 0) {
		add(job, NULL, NULL, 0, buf, len);
		return;
	}
	for (i = 0; i < sp.npieces; i++)
		add(job, NULL, sp.head_len > 0 ? buf : NULL, sp.head_len,
		    buf + sp.pieces[i].off, sp.pieces[i].len);
	ysplit_free(&sp);
}

static int
yaml_name(const char *name)
{
	size_t len = strlen(name);

	return name[0] != '.' && ((len > 5 &&
	    strcmp(name + len - 5, ".yaml") == 0) ||
	    (len > 4 && strcmp(name + len - 4, ".yml") == 0));
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char * const *)a, *(char * const *)b);
}

/*
 * The directory's YAML files in name order, each read and parsed whole
 * by the thread that takes it, as svcproxy's threads take a directory's
 * files (svcproxy would also cut a file of 1 MiB or more: not here).
 * Returns how many.
 */
static size_t
add_dir(struct job *job, const char *path)
{
	DIR		 *dir;
	struct dirent	 *de;
	char		**names = NULL, full[4096], *path_copy;
	size_t		  n = 0, cap = 0, i;

	if ((dir = opendir(path)) == NULL) {
		fprintf(stderr, "yaml_floor: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	while ((de = readdir(dir)) != NULL) {
		if (!yaml_name(de->d_name))
			continue;
		if (n == cap && (names = realloc(names, (cap = cap ? cap * 2 :
		    64) * sizeof(*names))) == NULL) {
			perror("yaml_floor");
			exit(1);
		}
		if ((names[n++] = strdup(de->d_name)) == NULL) {
			perror("yaml_floor");
			exit(1);
		}
	}
	closedir(dir);
	qsort(names, n, sizeof(*names), name_cmp);
	for (i = 0; i < n; i++) {
		snprintf(full, sizeof(full), "%s/%s", path, names[i]);
		if ((path_copy = strdup(full)) == NULL) {
			perror("yaml_floor");
			exit(1);
		}
		add(job, path_copy, NULL, 0, NULL, 0);
		free(names[i]);
	}
	free(names);
	return n;
}

int
main(int argc, char **argv)
{
	struct job	 job;
	struct stat	 st;
	pthread_t	 tids[FLOOR_MAX_THREADS];
	long		 ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	size_t		 nthreads, nfiles = 1, i, started = 0;
	int		 c;

	nthreads = ncpu < 1 ? 1 : ncpu > FLOOR_MAX_THREADS ?
	    FLOOR_MAX_THREADS : (size_t)ncpu;
	while ((c = getopt(argc, argv, "t:")) != -1) {
		if (c != 't' || atoi(optarg) < 1) {
			fprintf(stderr, "usage: yaml_floor [-t THREADS] "
			    "PATH\n");
			return 2;
		}
		nthreads = (size_t)atoi(optarg);
		if (nthreads > FLOOR_MAX_THREADS)
			nthreads = FLOOR_MAX_THREADS;
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "usage: yaml_floor [-t THREADS] PATH\n");
		return 2;
	}
	memset(&job, 0, sizeof(job));
	if (stat(argv[optind], &st) == -1) {
		fprintf(stderr, "yaml_floor: %s: %s\n", argv[optind],
		    strerror(errno));
		return 1;
	}
	if (S_ISDIR(st.st_mode))
		nfiles = add_dir(&job, argv[optind]);
	else
		add_file(&job, argv[optind], nthreads);
	for (i = 1; i < nthreads && i < job.n; i++)
		if (pthread_create(&tids[started], NULL, run, &job) == 0)
			started++;
	run(&job);
	for (i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	printf("yaml_floor: %ld events, %zu files, %zu pieces on %zu "
	    "threads\n", atomic_load(&job.events), nfiles, job.n,
	    started + 1);
	return atomic_load(&job.failed) ? 1 : 0;
}
