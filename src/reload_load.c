#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/eventfd.h>

#include "extname.h"
#include "log.h"
#include "model.h"
#include "reload_load.h"

/* A replaced model waiting for the thread to free it. */
struct rld_free {
	struct rld_free		*next;
	struct model		*m;		/* owned */
};

/*
 * Shared by the main thread and the reload thread: mu guards the
 * fields up to fd, live_mu guards live.  The main-thread-only fields
 * at the end are never touched after the main thread's unref.
 */
struct rld {
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;		/* wakes the thread */
	unsigned		 refs;		/* thread + main thread */
	int			 quit;
	int			 in_load;	/* thread is in rld_work */
	char			*path;		/* load asked for; owned */
	const struct model	*rebuild;	/* build asked for; the
						   caller's */
	uint64_t		 running_hash;
	int			 done;		/* result is the thread's last */
	struct rld_result	 result;	/* owned */
	struct rld_free		*frees;		/* owned list */
	int			 fd;		/* eventfd, owned: done set */

	pthread_mutex_t		 live_mu;	/* held while adding to live
						   and cells */
	struct lb_livetab	*live;		/* run's; NULL once stopped */
	struct hc_celltab	*cells;		/* run's; as live */
	struct xn_run		*xn;		/* run's; as live */

	pthread_t		 tid;		/* main thread only below */
	struct event		*ev;		/* owned */
	rld_done_fn		*cb;
	void			*arg;
	int			 loading;	/* started, cb not yet run */
};

void
rld_result_clear(struct rld_result *r)
{
	snap_unref(r->s);
	r->s = NULL;
	if (r->m != NULL) {
		model_free(r->m);
		free(r->m);
		r->m = NULL;
	}
}

static uint32_t
rld_ms_since(const struct timespec *t0)
{
	struct timespec	t1;
	int64_t		ms;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (int64_t)(t1.tv_sec - t0->tv_sec) * 1000 +
	    (t1.tv_nsec - t0->tv_nsec) / 1000000;
	return ms < 0 ? 0 : ms > UINT32_MAX ? UINT32_MAX : (uint32_t)ms;
}

/*
 * The nameservers of /etc/resolv.conf for a model that proxies an
 * ExternalName and names none (README, "ExternalName").  Read here, with
 * the configuration, so that the main thread reads no file.
 */
static void
rld_resolv_conf(struct model *m)
{
	struct pcfg	*pc = &m->pcfg;
	char		 buf[16384];
	size_t		 i, n;
	FILE		*f;
	int		 any = 0;

	for (i = 0; i < m->res.nservices; i++)
		any |= m->res.services[i].xn_proxy;
	if (!any || pc->xn_nns > 0)
		return;
	if ((f = fopen(PCFG_XN_RESOLV_CONF, "re")) == NULL)
		return;		/* the resolver says "no nameserver" */
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	pc->xn_nns = xn_resolv_parse(buf, pc->xn_ns, pc->xn_ns_port,
	    PCFG_XN_MAX_NS);
	if (pc->xn_nns > 0)
		pc->xn_ns_from = PCFG_XN_RESOLV_CONF;
}

void
rld_load(const char *path, int have_running, uint64_t running_hash,
    struct diag_list *dl, struct rld_result *r)
{
	struct timespec	 t0;
	struct model	*m;

	memset(r, 0, sizeof(*r));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((m = calloc(1, sizeof(*m))) == NULL) {
		r->failed = 1;
		return;
	}
	r->nerr = model_load(m, path, dl);
	r->load_ms = rld_ms_since(&t0);
	if (r->nerr == 0 && have_running && m->set.hash == running_hash)
		r->unchanged = 1;
	if (r->nerr != 0 || r->unchanged) {
		model_free(m);
		free(m);
		return;
	}
	rld_resolv_conf(m);
	r->m = m;
}

static void
rld_free_list(struct rld_free *f)
{
	struct rld_free *next;

	for (; f != NULL; f = next) {
		next = f->next;
		model_free(f->m);
		free(f->m);
		free(f);
	}
}

static void
rld_unref(struct rld *r)
{
	int last;

	pthread_mutex_lock(&r->mu);
	last = --r->refs == 0;
	pthread_mutex_unlock(&r->mu);
	if (!last)
		return;
	rld_result_clear(&r->result);
	rld_free_list(r->frees);
	free(r->path);
	close(r->fd);
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
	pthread_mutex_destroy(&r->live_mu);
	free(r);
}

/* Where rld_log_diag is in the list diag_lines walks. */
struct rld_diag_cur {
	const struct diag_list	*dl;
	size_t			 i;
};

/*
 * diag_lines' callback: the diagnostics go to the log.  In json each
 * line has its diagnostic's file, line, col, field and object as keys:
 * diag_lines keeps the list's order (some warnings left out, counts
 * last), so a cursor finds the diagnostic a line was made from.
 */
static void
rld_log_diag(enum diag_severity sev, const char *line, void *arg)
{
	struct rld_diag_cur	*cur = arg;
	const struct diag	*d = NULL;
	struct log_kv		 kv[7];
	size_t			 n = 0;
	char			 buf[2048];

	while (log_get_format() == LOG_FORMAT_JSON && cur->i < cur->dl->n) {
		diag_format(&cur->dl->v[cur->i++], buf, sizeof(buf));
		if (strcmp(buf, line) == 0) {
			d = &cur->dl->v[cur->i - 1];
			break;
		}
	}
	if (d != NULL) {
		kv[n++] = LOG_STR("file", d->file);
		if (d->line != 0)
			kv[n++] = LOG_U64("line", d->line);
		if (d->col != 0)
			kv[n++] = LOG_U64("col", d->col);
		kv[n++] = LOG_STR("kind", d->kind);
		kv[n++] = LOG_STR("namespace", d->ns);
		kv[n++] = LOG_STR("name", d->name);
		kv[n++] = LOG_STR("field", d->field);
	}
	log_ev(sev == DIAG_ERROR ? LOG_LEVEL_ERROR : LOG_LEVEL_WARN, "config",
	    kv, n, LOG_EV_MSG, "%s", line);
}

void
rld_log_diags(const struct diag_list *dl)
{
	struct rld_diag_cur	cur = { dl, 0 };

	diag_lines(dl, rld_log_diag, &cur);
}

/*
 * m's snapshot into res, unless stopped: live may then be freed at any
 * time, and m too when it is a rebuild's.
 */
static void
rld_build(struct rld *r, const struct model *m, struct rld_result *res)
{
	struct timespec	t0;
	char		err[2048];
	int		stopped;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	pthread_mutex_lock(&r->live_mu);
	if (!(stopped = r->live == NULL))
		res->s = xn_snap_build(r->xn, &m->res, r->live, r->cells, err,
		    sizeof(err));
	pthread_mutex_unlock(&r->live_mu);
	res->build_ms = rld_ms_since(&t0);
	if (res->s == NULL) {
		if (!stopped)
			log_error("%s", err);
		res->failed = 1;
		rld_result_clear(res);
	}
}

/* One load, on the thread, with nothing locked. */
static void
rld_work(struct rld *r, const char *path, uint64_t hash,
    struct rld_result *res)
{
	struct diag_list dl;

	diag_list_init(&dl);
	rld_load(path, 1, hash, &dl, res);
	/* Logged here: thousands of lines would stall the main loop. */
	rld_log_diags(&dl);
	diag_list_free(&dl);
	if (res->m != NULL)
		rld_build(r, res->m, res);
}

static void *
rld_main(void *arg)
{
	struct rld		*r = arg;
	struct rld_free		*f;
	struct rld_result	 res;
	const struct model	*m;
	char			*path;
	uint64_t		 hash, one = 1;

	pthread_mutex_lock(&r->mu);
	for (;;) {
		while (!r->quit && r->frees == NULL && r->path == NULL &&
		    r->rebuild == NULL)
			pthread_cond_wait(&r->cv, &r->mu);
		if ((f = r->frees) != NULL) {
			r->frees = NULL;
			pthread_mutex_unlock(&r->mu);
			rld_free_list(f);
			pthread_mutex_lock(&r->mu);
			continue;
		}
		if (r->quit)
			break;
		path = r->path;
		r->path = NULL;
		m = r->rebuild;
		r->rebuild = NULL;
		hash = r->running_hash;
		r->in_load = 1;
		pthread_mutex_unlock(&r->mu);
		if (path != NULL)
			rld_work(r, path, hash, &res);
		else {
			memset(&res, 0, sizeof(res));
			rld_build(r, m, &res);
		}
		free(path);
		pthread_mutex_lock(&r->mu);
		r->in_load = 0;
		if (r->quit) {
			rld_result_clear(&res);
			continue;	/* free what is queued, then end */
		}
		r->result = res;
		r->done = 1;
		if (write(r->fd, &one, sizeof(one)) == -1)
			log_warn("reload: eventfd: %s", strerror(errno));
	}
	pthread_mutex_unlock(&r->mu);
	rld_unref(r);
	return NULL;
}

/* The eventfd is readable: a load is done. */
static void
rld_wake(evutil_socket_t fd, short what, void *arg)
{
	struct rld		*r = arg;
	struct rld_result	 res;
	uint64_t		 v;

	(void)what;
	if (read(fd, &v, sizeof(v)) == -1 && errno != EAGAIN)
		log_warn("reload: eventfd: %s", strerror(errno));
	pthread_mutex_lock(&r->mu);
	if (!r->done) {
		pthread_mutex_unlock(&r->mu);
		return;
	}
	res = r->result;
	memset(&r->result, 0, sizeof(r->result));
	r->done = 0;
	pthread_mutex_unlock(&r->mu);
	r->loading = 0;
	r->cb(&res, r->arg);
	rld_result_clear(&res);
}

struct rld *
rld_new(struct event_base *base, struct lb_livetab *live,
    struct hc_celltab *cells, struct xn_run *xn, rld_done_fn *done,
    void *arg, char *err, size_t errlen)
{
	struct rld	*r;
	sigset_t	 all, old;
	int		 rc;

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&r->mu, NULL);
	pthread_mutex_init(&r->live_mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	r->refs = 2;
	r->live = live;
	r->cells = cells;
	r->xn = xn;
	r->cb = done;
	r->arg = arg;
	if ((r->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1 ||
	    (r->ev = event_new(base, r->fd, EV_READ | EV_PERSIST, rld_wake,
	    r)) == NULL || event_add(r->ev, NULL) == -1) {
		snprintf(err, errlen, "cannot start the reload thread: %s",
		    r->fd == -1 ? strerror(errno) : "event setup failed");
		goto fail;
	}
	/*
	 * Signals stay with the main thread, as for the workers; the
	 * threads load.c starts from this one to parse a directory or a
	 * large file inherit the mask, and are joined before it returns.
	 */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&r->tid, NULL, rld_main, r);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		snprintf(err, errlen, "cannot start the reload thread: %s",
		    strerror(rc));
		goto fail;
	}
	return r;
fail:
	if (r->ev != NULL)
		event_free(r->ev);
	if (r->fd != -1)
		close(r->fd);
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
	pthread_mutex_destroy(&r->live_mu);
	free(r);
	return NULL;
}

int
rld_start(struct rld *r, const char *path, uint64_t running_hash, char *err,
    size_t errlen)
{
	char *p;

	if (r->loading) {
		snprintf(err, errlen, "a load is under way");
		return -1;
	}
	if ((p = strdup(path)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	pthread_mutex_lock(&r->mu);
	r->path = p;
	r->running_hash = running_hash;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
	r->loading = 1;
	return 0;
}

int
rld_rebuild(struct rld *r, const struct model *m, char *err, size_t errlen)
{
	if (r->loading) {
		snprintf(err, errlen, "a load or a build is under way");
		return -1;
	}
	pthread_mutex_lock(&r->mu);
	r->rebuild = m;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
	r->loading = 1;
	return 0;
}

int
rld_loading(const struct rld *r)
{
	return r->loading;
}

void
rld_model_free(struct rld *r, struct model *m)
{
	struct rld_free *f;

	if (m == NULL)
		return;
	if (r == NULL || (f = malloc(sizeof(*f))) == NULL) {
		model_free(m);
		free(m);
		return;
	}
	f->m = m;
	pthread_mutex_lock(&r->mu);
	f->next = r->frees;
	r->frees = f;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

void
rld_stop(struct rld *r)
{
	pthread_t	tid;
	int		idle;

	if (r == NULL)
		return;
	event_free(r->ev);
	r->ev = NULL;
	/* From here on the thread leaves live and cells alone. */
	pthread_mutex_lock(&r->live_mu);
	r->live = NULL;
	r->cells = NULL;
	r->xn = NULL;
	pthread_mutex_unlock(&r->live_mu);
	pthread_mutex_lock(&r->mu);
	r->quit = 1;
	idle = !r->in_load;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
	tid = r->tid;
	/*
	 * An idle thread only frees what is queued and ends: join it.  One
	 * loading may take seconds, or forever on a file that never ends:
	 * leave it behind; it frees everything when it ends, if ever.
	 */
	if (idle)
		pthread_join(tid, NULL);
	else
		pthread_detach(tid);
	rld_unref(r);
}
