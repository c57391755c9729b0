#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin.h"
#include "listener.h"
#include "log.h"
#include "metrics.h"
#include "model.h"
#include "reload.h"
#include "reload_load.h"
#include "snapshot.h"
#include "upgrade.h"
#include "worker.h"

#define RELOAD_MAX_PARTS	16

/* A reload between prepare and commit. */
struct reload_flight {
	struct reload_next	 next;		/* next.m owned, next.s one
						   reference until published */
	void			*state[RELOAD_MAX_PARTS]; /* parts' */
	int			 settling;	/* waiting for reload_ack */
};

struct reload {
	struct reload_env	*env;		/* the run context's */
	struct reload_part	 parts[RELOAD_MAX_PARTS];
	size_t			 nparts;
	struct rld		*rld;		/* reload thread, owned; NULL
						   until the first reload */
	struct reload_flight	*fl;		/* owned; NULL: none */
	int			 again;		/* SIGHUP during a reload */
};

static void
reload_model_free(struct model *m)
{
	if (m != NULL) {
		model_free(m);
		free(m);
	}
}

/* Abort parts [0, n) of fl in reverse and free it.  NULL is ok. */
static void
reload_flight_free(struct reload *r, struct reload_flight *fl, size_t n)
{
	if (fl == NULL)
		return;
	while (n-- > 0)
		r->parts[n].abort(r->parts[n].arg, fl->state[n]);
	snap_unref(fl->next.s);
	reload_model_free(fl->next.m);
	free(fl);
}

static void
reload_failed(struct reload *r, const char *why)
{
	char			hash[20];
	const struct log_kv	kv[] = { LOG_STR("result", "failed"),
	    LOG_STR("reason", why), LOG_STR("config", hash) };

	r->env->proc->reloads_failed++;
	r->env->proc->last_reload_ok = 0;
	snprintf(hash, sizeof(hash), "%016" PRIx64, r->env->proc->config_hash);
	log_ev(LOG_LEVEL_ERROR, "reload", kv, LOG_NKV(kv), LOG_EV_MSG,
	    "reload failed: %s: still serving configuration %s", why, hash);
	upg_notify("READY=1");
}

/* A reload ended: start the one asked for meanwhile. */
static void
reload_next(struct reload *r)
{
	if (r->again) {
		r->again = 0;
		reload_start(r);
	}
}

/*
 * Second phase: every part has settled.  Publish, have every part
 * commit, replace the running model.
 */
static void
reload_commit(struct reload *r)
{
	struct reload_flight	*fl = r->fl;
	struct reload_env	*e = r->env;
	struct model		*old = *e->model;
	size_t			 i, nports;
	char			 hash[20];
	const struct log_kv	 kv[] = { LOG_STR("result", "ok"),
	    LOG_STR("config", hash) };

	r->fl = NULL;
	if (*e->draining) {
		log_info("reload abandoned: shutting down");
		reload_flight_free(r, fl, r->nparts);
		return;
	}
	nports = fl->next.s->nports;
	/* The slot takes the reference; s stays valid for the parts, as
	   only this thread publishes. */
	snap_slot_publish(e->slot, fl->next.s);
	for (i = 0; i < r->nparts; i++)
		r->parts[i].commit(r->parts[i].arg, fl->state[i], &fl->next);
	fl->next.s = NULL;
	rld_model_free(r->rld, old);	/* off the loop: may be slow */
	*e->model = fl->next.m;
	fl->next.m = NULL;
	e->proc->config_hash = (*e->model)->set.hash;
	e->proc->reloads_ok++;
	e->proc->last_reload_ok = 1;
	*e->drain_ms = (*e->model)->pcfg.drain_timeout_ms;
	log_set_level((*e->model)->pcfg.connection_log == CONN_LOG_DEBUG ?
	    LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);
	log_set_format((*e->model)->pcfg.log_json ? LOG_FORMAT_JSON :
	    LOG_FORMAT_TEXT);
	snprintf(hash, sizeof(hash), "%016" PRIx64, e->proc->config_hash);
	log_ev(LOG_LEVEL_INFO, "reload", kv, LOG_NKV(kv), LOG_EV_MSG,
	    "reload: configuration %s applied: %zu Service ports%s", hash,
	    nports, fl->next.summary);
	reload_flight_free(r, fl, 0);
	upg_notify("READY=1");
	reload_next(r);
}

/* Ask every settling part whether it is done; 1 while one is not. */
static int
reload_settle(struct reload *r)
{
	size_t	i;
	int	wait = 0;

	for (i = 0; i < r->nparts; i++)
		if (r->parts[i].settle != NULL &&
		    r->parts[i].settle(r->parts[i].arg, r->fl->state[i]))
			wait = 1;
	return wait;
}

void
reload_ack(struct reload *r)
{
	if (r->fl == NULL || !r->fl->settling)
		return;
	if (!reload_settle(r))
		reload_commit(r);
}

/*
 * First phase, from fl (taken): every part prepares.  Everything that
 * can fail happens here, before the workers are told anything, so a
 * failure leaves them untouched.
 */
static void
reload_prepare(struct reload *r, struct reload_flight *fl)
{
	char	err[512], why[128];
	size_t	i;

	for (i = 0; i < r->nparts; i++) {
		snprintf(err, sizeof(err), "out of memory");
		if (r->parts[i].prepare(r->parts[i].arg, &fl->next,
		    &fl->state[i], err, sizeof(err)) == -1) {
			log_error("%s", err);
			/* Name the part: the error may not say which. */
			snprintf(why, sizeof(why), "cannot prepare the %s",
			    r->parts[i].name);
			reload_flight_free(r, fl, i);
			reload_failed(r, why);
			reload_next(r);
			return;
		}
	}
	r->fl = fl;
	if (reload_settle(r))
		fl->settling = 1;
	else
		reload_commit(r);
}

/*
 * The reload thread is done (reload_load.h): the rest of the reload,
 * on the main thread.
 */
static void
reload_loaded(struct rld_result *res, void *arg)
{
	struct reload		*r = arg;
	struct reload_flight	*fl;

	if (*r->env->draining) {
		log_info("reload abandoned: shutting down");
		return;
	}
	if (res->nerr != 0 || res->failed) {
		if (res->nerr != 0)
			log_error("configuration %s has %zu errors",
			    r->env->config, res->nerr);
		reload_failed(r, res->nerr != 0 ? "invalid configuration" :
		    "cannot build the configuration");
		reload_next(r);
		return;
	}
	if (res->unchanged) {
		r->env->proc->reloads_noop++;
		r->env->proc->last_reload_ok = 1;
		log_info("reload: configuration unchanged (hash %016" PRIx64
		    "): nothing to do", r->env->proc->config_hash);
		upg_notify("READY=1");
		reload_next(r);
		return;
	}
	log_info("reload: %s loaded in %u ms, snapshot built in %u ms (on "
	    "the reload thread)", r->env->config, res->load_ms, res->build_ms);
	if ((fl = calloc(1, sizeof(*fl))) == NULL) {
		reload_failed(r, "out of memory");
		reload_next(r);
		return;
	}
	fl->next.m = res->m;
	fl->next.s = res->s;
	res->m = NULL;
	res->s = NULL;
	reload_prepare(r, fl);
}

/*
 * SIGHUP, from the loop.  Start loading on the reload thread; the main
 * loop goes on serving /healthz meanwhile, and reload_loaded takes over
 * when the thread is done.
 */
void
reload_start(struct reload *r)
{
	char	err[512];

	if (*r->env->draining) {
		log_info("reload ignored: shutting down");
		return;
	}
	if (reload_busy(r)) {
		log_info("reload requested during a reload: again after it");
		r->again = 1;
		return;
	}
	upg_notify("RELOADING=1");
	r->env->proc->last_reload = (int64_t)time(NULL);
	log_info("reload: loading %s", r->env->config);
	if ((r->rld == NULL && (r->rld = rld_new(r->env->base, r->env->live,
	    r->env->cells, r->env->xn, reload_loaded, r, err,
	    sizeof(err))) == NULL) ||
	    rld_start(r->rld, r->env->config, r->env->proc->config_hash, err,
	    sizeof(err)) == -1) {
		log_error("reload: %s", err);
		reload_failed(r, "cannot start loading");
	}
}

int
reload_busy(const struct reload *r)
{
	return r->fl != NULL || (r->rld != NULL && rld_loading(r->rld));
}

struct reload *
reload_new(struct reload_env *env, const struct reload_part *parts,
    size_t n)
{
	struct reload	*r;

	if (n > RELOAD_MAX_PARTS || (r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->env = env;
	memcpy(r->parts, parts, n * sizeof(*parts));
	r->nparts = n;
	return r;
}

void
reload_free(struct reload *r)
{
	if (r == NULL)
		return;
	reload_flight_free(r, r->fl, r->nparts);
	r->fl = NULL;
	/* A reload thread may run on, but no longer uses env.live. */
	rld_stop(r->rld);
	free(r);
}

/* ---- metrics: bind the new ports, then count their endpoints ---- */

static int
reload_met_prepare(void *arg, const struct reload_next *n, void **state,
    char *err, size_t errlen)
{
	struct reload_env *e = arg;

	(void)err;
	(void)errlen;
	*state = NULL;
	return met_bind(e->met, n->s);	/* s is not published yet */
}

static void
reload_met_commit(void *arg, void *state, struct reload_next *n)
{
	struct reload_env *e = arg;

	(void)state;
	met_eps(e->met, &n->m->res);
}

static void
reload_nothing(void *arg, void *state)
{
	(void)arg;
	(void)state;
}

const struct reload_part reload_part_metrics = {
	"metrics", NULL, reload_met_prepare, NULL, reload_met_commit,
	reload_nothing
};

/* ---- listeners: open the added, drain the dropped, hand over ---- */

/*
 * The workers listen on keep (the running addresses minus those
 * dropped) and have served and closed the rest; then the snapshot is
 * published and they get want.  Both sets are made in prepare.
 *
 * The fd budget (worker.h) follows the sockets: from prepare, while the
 * added sockets are open beside the running ones, it counts both (so
 * only ever lower), and commit splits it for the sockets that stay.  An
 * abort puts back the running count.
 */
struct reload_lsn {
	struct lsn_group	*groups;	/* owned: new sockets/worker */
	unsigned		 ngroups;
	struct lsn_table	 add;		/* owned record of them */
	unsigned char		*gone;		/* owned: per lsns entry */
	unsigned char		*defer;		/* owned: per lsns entry, its
						   TCP_DEFER_ACCEPT at commit */
	size_t			 ndel;
	struct wrk_want		*keep;		/* owned until published */
	struct wrk_want		*want;		/* owned until published */
	uint64_t		 gen;		/* keep's, once published */
	uint64_t		 nsock0;	/* the budget's count before */
	uint64_t		 cap0;		/* the budget before */
	int			 counted;	/* added sockets in the budget */
};

static void
reload_lsn_free(struct reload_lsn *l)
{
	unsigned i;

	if (l == NULL)
		return;
	if (l->groups != NULL)
		for (i = 0; i < l->ngroups; i++)
			lsn_group_free(&l->groups[i]);	/* closes */
	free(l->groups);
	lsn_table_free(&l->add);
	free(l->gone);
	free(l->defer);
	wrk_want_free(l->keep);
	wrk_want_free(l->want);
	free(l);
}

static void
reload_lsn_abort(void *arg, void *state)
{
	struct reload_env	*e = arg;
	struct reload_lsn	*l = state;

	if (l != NULL && l->counted)
		(void)wrk_group_budget(e->grp, l->nsock0);
	reload_lsn_free(l);
}

/*
 * Open what the new snapshot adds; mark what it drops; make the two
 * listener sets of the reload.  0, or -1 with err (nothing opened is
 * left open once the state is aborted).
 */
static int
reload_lsn_open(struct reload_env *e, struct reload_lsn *l,
    const struct snap *s, char *err, size_t len)
{
	struct lsn_target	*t;
	unsigned char		*added;
	size_t			 n, i, m = 0;
	int			 rc = -1;

	if ((t = lsn_targets(s, LSN_SERVED, &n)) == NULL ||
	    (l->gone = calloc(e->lsns->n + 1, 1)) == NULL ||
	    (l->defer = calloc(e->lsns->n + 1, 1)) == NULL ||
	    (added = calloc(n + 1, 1)) == NULL ||
	    (l->groups = calloc(e->grp->n, sizeof(*l->groups))) == NULL) {
		free(t);
		snprintf(err, len, "out of memory");
		return -1;
	}
	l->ngroups = e->grp->n;
	lsn_diff(e->lsns, t, n, l->gone, added, l->defer);
	for (i = 0; i < n; i++)
		if (added[i])
			t[m++] = t[i];
	for (i = 0; i < e->lsns->n; i++)
		l->ndel += l->gone[i];
	if (lsn_open(t, m, s->listener_sockets, n, e->grp->n, NULL, l->groups,
	    &l->add, err, len) == 0)
		rc = 0;
	if (rc == 0 && ((l->ndel > 0 && (l->keep = wrk_want_table(e->lsns,
	    l->gone, NULL)) == NULL) || (l->want = wrk_want_table(e->lsns,
	    l->gone, &l->add)) == NULL)) {
		snprintf(err, len, "out of memory");
		rc = -1;
	}
	free(added);
	free(t);
	return rc;
}

static int
reload_lsn_prepare(void *arg, const struct reload_next *n, void **state,
    char *err, size_t errlen)
{
	struct reload_env	*e = arg;
	struct reload_lsn	*l;

	if ((*state = l = calloc(1, sizeof(*l))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (reload_lsn_open(arg, l, n->s, err, errlen) == -1) {
		reload_lsn_abort(arg, l);
		*state = NULL;
		return -1;
	}
	/* The added sockets are open now, the dropped ones until settle:
	   no worker may take the fds they hold. */
	l->nsock0 = e->grp->nsock;
	l->cap0 = atomic_load_explicit(&e->grp->fd_cap, memory_order_relaxed);
	if (l->add.n > 0) {
		(void)wrk_group_budget(e->grp, lsn_table_nsockets(e->lsns) +
		    lsn_table_nsockets(&l->add));
		l->counted = 1;
	}
	return 0;
}

/*
 * Have every worker serve and close the listeners the reload drops:
 * publish the set without them, then wait until every running worker
 * holds it.  Level-triggered: whatever the acks counted, ask again.
 */
static int
reload_lsn_settle(void *arg, void *state)
{
	struct reload_env	*e = arg;
	struct reload_lsn	*l = state;

	if (l->ndel == 0)
		return 0;
	if (l->gen == 0) {
		l->gen = wrk_lsn_want(e->grp, l->keep);
		l->keep = NULL;
	}
	return wrk_lsn_pending(e->grp, l->gen) != 0;
}

/*
 * The workers have served and closed the removed listeners and the
 * snapshot is published: hand the new listeners over, update the
 * record.
 */
static void
reload_lsn_commit(void *arg, void *state, struct reload_next *n)
{
	struct reload_env	*e = arg;
	struct reload_lsn	*l = state;
	size_t			 nadd = l->add.n, len, was, extra0, un, extra;
	enum lsn_mode		 mode0 = e->lsns->mode;
	unsigned		 i;

	/* The set first: a worker woken in between must not take the new
	   sockets for strays of the previous set and close them. */
	(void)wrk_lsn_want(e->grp, l->want);
	l->want = NULL;
	/* TCP_DEFER_ACCEPT on the kept sockets: not before, as an abort
	   would have left the running ones as the refused reload wanted. */
	lsn_table_defer(e->lsns, l->defer);
	for (i = 0; i < e->grp->n; i++) {
		if (wrk_lsn_give(&e->grp->v[i], &l->groups[i]) == -1)
			log_error("reload: worker %u: out of memory: new "
			    "listeners not served by it", i);
		wrk_command(&e->grp->v[i], WRK_RUN);
	}
	was = lsn_table_unshared(e->lsns, &extra0);
	if (lsn_table_merge(e->lsns, l->gone, &l->add) == -1)
		log_error("reload: out of memory updating the listener "
		    "record");
	un = lsn_table_unshared(e->lsns, &extra);
	if (un > 0 && (un != was || e->lsns->mode != mode0))
		log_info("reload: listeners: %zu addresses keep their %zu "
		    "per-worker sockets (%zu more than Shared needs) until a "
		    "restart: a reload closes no socket of an address it "
		    "keeps, as that would reset the connections queued on it",
		    un, un + extra, extra);
	e->proc->listeners = e->lsns->n;
	(void)wrk_group_budget(e->grp, lsn_table_nsockets(e->lsns));
	if (atomic_load_explicit(&e->grp->fd_cap, memory_order_relaxed) !=
	    l->cap0)
		wrk_group_log_budget(e->grp, "reload: ");
	len = strlen(n->summary);
	snprintf(n->summary + len, sizeof(n->summary) - len, " on %zu "
	    "addresses (%zu opened, %zu closed)", e->lsns->n, nadd, l->ndel);
	reload_lsn_free(l);
}

const struct reload_part reload_part_listeners = {
	"listeners", NULL, reload_lsn_prepare, reload_lsn_settle,
	reload_lsn_commit, reload_lsn_abort
};

/* ---- ProxyConfig's process-wide settings ---- */

/* Warn about settings a reload cannot change in a running process. */
static int
reload_pcfg_prepare(void *arg, const struct reload_next *n, void **state,
    char *err, size_t errlen)
{
	struct reload_env	*e = arg;

	(void)err;
	(void)errlen;
	*state = NULL;
	if ((*e->model)->pcfg.workers != n->m->pcfg.workers)
		log_warn("reload: spec.workers takes effect on restart or "
		    "upgrade (SIGUSR2)");
	return 0;
}

/*
 * The process-wide settings of ProxyConfig a reload applies: the
 * connection limit, and the admin server's address (bound before the
 * old one closes; on failure it stays where it was).
 */
static void
reload_pcfg_commit(void *arg, void *state, struct reload_next *next)
{
	struct reload_env	*e = arg;
	const struct pcfg	*o = &(*e->model)->pcfg, *n = &next->m->pcfg;
	char			 err[512], was[LSN_NAMELEN];
	uint32_t		 cap;

	(void)state;
	/* The admin server is compared with where it is, not with the
	   running configuration: after a move that failed they differ,
	   and the next reload asking for either must do the right thing. */

	if (o->max_connections != n->max_connections) {
		cap = wrk_group_max_conns(e->grp, n->max_connections);
		log_info("reload: maxConnections %u (0: only the open file "
		    "limit's %u)", n->max_connections, cap);
	}
	if (e->adm->fd == -1 || (ipaddr_equal(&e->adm->asked_ip,
	    &n->admin_ip) && e->adm->asked_port == n->admin_port))
		return;
	snprintf(was, sizeof(was), "%s", e->adm->name);
	if (adm_move(e->adm, e->base, &n->admin_ip, n->admin_port, err,
	    sizeof(err)) == -1) {
		log_error("reload: %s; admin server %s", err,
		    e->adm->fd != -1 ? "stays where it was" : "stopped");
		return;
	}
	log_info("admin: moved from %s to %s", was, e->adm->name);
}

const struct reload_part reload_part_pcfg = {
	"ProxyConfig", NULL, reload_pcfg_prepare, NULL, reload_pcfg_commit,
	reload_nothing
};
