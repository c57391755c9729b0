/*
 * svcproxy run: serve every proxied Service port.
 *
 * Startup is all or nothing: the configuration must load without an
 * error, every listener and the admin server must open, or nothing is
 * served and the exit code is 1.  Then the main thread's event_base
 * runs signals, reloads and the admin server while the workers serve.
 *
 *   SIGHUP   reload (reload.h): load and check the configuration and
 *            build its snapshot on a reload thread (reload_load.h), so
 *            this loop keeps answering /healthz; on any error keep the
 *            running one untouched.  Otherwise open the new listeners,
 *            have the workers serve what is queued on removed ones and
 *            close them, publish the new snapshot in one atomic store,
 *            and hand the new listeners over.  Listeners in both
 *            configurations keep their sockets.  A configuration with
 *            the running one's hash is not applied again.  The parts a
 *            reload changes are listed in run_reloader.
 *   SIGUSR2  binary upgrade (upgrade.h): fork and exec the binary
 *            again with every listening socket passed in
 *            SVCPROXY_INHERIT_FDS (listener.h); once the new process
 *            serves, it sends SIGWINCH back and this one drains and
 *            exits.
 *   SIGTERM, SIGINT  close the listeners, let open connections finish
 *            for up to drainTimeout, exit 0.  A second signal stops at
 *            once.
 *
 * libevent runs every signal callback from the loop, not in signal
 * context, so they may do anything (relayd's parent_sig_handler).
 *
 * The run context below is the process-wide mutable state of `run`;
 * workers see only its snapshot slot and group (worker.h).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <netinet/in.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "admin.h"
#include "cmd.h"
#include "dns_run.h"
#include "extname.h"
#include "health.h"
#include "health_log.h"
#include "lb.h"
#include "listener.h"
#include "log.h"
#include "metrics.h"
#include "model.h"
#include "relay.h"
#include "reload.h"
#include "reload_load.h"
#include "snapshot.h"
#include "upgrade.h"
#include "worker.h"

#define RUN_MAX_WORKERS		256
#define RUN_FD_RESERVE		64	/* logs, reload files; health checks
					   have their own (hc_inflight) */

const struct cmd_entry cmd_run_entry = {
	.name = "run",
	.usage = "[-c PATH] [--workers N] [--pidfile FILE]",
	.summary = "Serve every proxied Service port.",
	.exec = cmd_run,
};

struct run_opts {
	const char		*config;
	const char		*pidfile;
	int			 workers;	/* 0: from config */
};

struct run_ctx {
	struct event_base	*base;		/* main thread's, owned */
	struct snap_slot	 slot;
	struct lb_livetab	 live;		/* outlives snapshots */
	struct hc_celltab	 cells;		/* outlives snapshots and
						   the engine */
	struct hc_log		 hlog;		/* the engine's notify */
	struct hc_engine	*hce;		/* owned; NULL until startup */
	struct dns_run		 dns;		/* cluster DNS; off unless
						   spec.dns.listen */
	struct xn_run		 xn;		/* ExternalName resolver */
	struct rld		*xrld;		/* owned: builds for xn's
						   answers; NULL until one */
	int			 hup_wait;	/* SIGHUP during that build */
	unsigned		 hc_inflight;	/* its probes at once: fds
						   kept from the workers */
	struct met_tab		 met;		/* outlives snapshots */
	struct met_proc		 proc;
	struct wrk_group	 grp;
	struct lsn_table	 lsns;		/* what is bound */
	struct model		*model;		/* owned: running config */
	struct adm		 adm;
	struct reload		*rel;		/* owned */
	struct reload_env	 renv;		/* rel's view of this */
	struct event		*ev_term;	/* owned, as every ev_ */
	struct event		*ev_int;
	struct event		*ev_hup;
	struct event		*ev_usr2;
	struct event		*ev_winch;
	struct event		*ev_chld;
	struct event		*ev_done;
	struct event		*ev_ack;
	struct event		*ev_drain;
	const char		*config;	/* argv */
	int			 draining;
	uint32_t		 drain_ms;
	struct upg		 upg;
};

/* cmd_parse's handler of run's own options. */
static int
run_opt(int val, const char *arg, void *ctx)
{
	struct run_opts	*o = ctx;
	char		*end;
	long		 n;

	switch (val) {
	case 'w':
		errno = 0;
		n = strtol(arg, &end, 10);
		if (errno || *end != '\0' || end == arg || n < 1 ||
		    n > RUN_MAX_WORKERS) {
			fprintf(stderr, "svcproxy run: --workers takes 1 to "
			    "%d\n", RUN_MAX_WORKERS);
			return 2;
		}
		o->workers = (int)n;
		return 0;
	case 'p':
		o->pidfile = arg;
		return 0;
	}
	return 2;
}

static int
run_parse(int argc, char **argv, struct run_opts *o)
{
	static const struct option extra[] = {
		{ "workers", required_argument, NULL, 'w' },
		{ "pidfile", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	struct cmd_parser	p;
	struct cmd_opts		co;
	int			rc;

	memset(o, 0, sizeof(*o));
	p = (struct cmd_parser){ &cmd_run_entry, 0, extra, run_opt, o };
	rc = cmd_parse(argc, argv, &p, &co);
	o->config = co.config;
	return rc;
}

static void
run_drain_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct run_ctx *c = arg;

	(void)fd;
	(void)what;
	log_warn("drain timeout: closing the remaining connections");
	wrk_group_command(&c->grp, WRK_STOP);
}

/*
 * Stop accepting and let the open connections finish.  The workers
 * close their listeners; the record goes at once, so an upgrade never
 * passes a socket a worker may have closed.
 */
static void
run_drain(struct run_ctx *c)
{
	struct timeval	tv;

	c->draining = 1;
	c->proc.draining = 1;
	upg_notify("STOPPING=1");
	wrk_group_command(&c->grp, WRK_DRAIN);
	lsn_table_free(&c->lsns);
	tv.tv_sec = c->drain_ms / 1000;
	tv.tv_usec = (c->drain_ms % 1000) * 1000;
	event_add(c->ev_drain, &tv);
}

/* SIGTERM, SIGINT. */
static void
run_signal(evutil_socket_t sig, short what, void *arg)
{
	struct run_ctx *c = arg;

	(void)what;
	if (c->draining) {
		log_info("signal %d again: stopping now", (int)sig);
		wrk_group_command(&c->grp, WRK_STOP);
		return;
	}
	log_info("signal %d: closing listeners, draining connections for up "
	    "to %u ms", (int)sig, c->drain_ms);
	run_drain(c);
}

/* A worker exited; when all have, leave the loop. */
static void
run_worker_done(evutil_socket_t fd, short what, void *arg)
{
	struct run_ctx	*c = arg;

	(void)fd;
	(void)what;
	if (wrk_group_exited(&c->grp))
		event_base_loopbreak(c->base);
}

/* ---- the configuration: startup load, reload signals ---- */

static void
run_model_free(struct model *m)
{
	if (m != NULL) {
		model_free(m);
		free(m);
	}
}

/*
 * Build m's snapshot, its live counters added to the process's table.
 * Returns it (one reference), or NULL after logging.
 */
static struct snap *
run_snap(struct run_ctx *c, const struct model *m)
{
	struct snap	*s;
	char		 err[2048];

	if ((s = xn_snap_build(&c->xn, &m->res, &c->live, &c->cells, err,
	    sizeof(err))) == NULL)
		log_error("%s", err);
	return s;
}

/*
 * The startup load: path into a new model and its snapshot, every
 * diagnostic printed as `check` prints them, before any log line.
 * Returns the snapshot (one reference) with *mp the model, or NULL
 * (*mp NULL).  A reload loads on a thread instead (reload.h).
 */
static struct snap *
run_load(struct run_ctx *c, const char *path, struct model **mp)
{
	struct diag_list	 dl;
	struct rld_result	 r;
	struct snap		*s;

	*mp = NULL;
	diag_list_init(&dl);
	rld_load(path, 0, 0, &dl, &r);
	/* spec.logFormat: json from the first line, the warnings too;
	   on the journal, each with its priority. */
	if (r.m != NULL && r.m->pcfg.log_json)
		log_set_format(LOG_FORMAT_JSON);
	if ((r.m != NULL && r.m->pcfg.log_json) || log_on_journal())
		rld_log_diags(&dl);
	else
		diag_print(&dl, stderr);
	diag_list_free(&dl);
	if (r.failed) {
		log_error("out of memory loading %s", path);
		return NULL;
	}
	if (r.nerr != 0) {
		fprintf(stderr, "svcproxy: configuration %s has %zu errors: "
		    "not starting\n", path, r.nerr);
		return NULL;
	}
	if ((s = run_snap(c, r.m)) == NULL) {
		rld_result_clear(&r);
		return NULL;
	}
	*mp = r.m;
	return s;
}

/*
 * A worker reached a listener set (worker.h): the reload under way may
 * go on.
 */
static void
run_ack(evutil_socket_t fd, short what, void *arg)
{
	struct run_ctx	*c = arg;
	uint64_t	 v = 0;

	(void)what;
	if (read(fd, &v, sizeof(v)) == -1 && errno != EAGAIN)
		log_warn("eventfd: %s", strerror(errno));
	reload_ack(c->rel);
}

/*
 * SIGHUP.  A build for an external name's new answer uses the running
 * model on another thread: the reload, which would replace that model,
 * waits until it is done (run_xn_built starts it).
 */
static void
run_hup(evutil_socket_t sig, short what, void *arg)
{
	struct run_ctx	*c = arg;

	(void)sig;
	(void)what;
	if (xn_building(&c->xn)) {
		log_info("reload: after the build for an external name");
		c->hup_wait = 1;
		return;
	}
	reload_start(c->rel);
}

/* ---- binary upgrade (upgrade.h) ---- */

/* SIGCHLD: an upgrade's new process that died before it served. */
static void
run_chld(evutil_socket_t sig, short what, void *arg)
{
	struct run_ctx *c = arg;

	(void)sig;
	(void)what;
	upg_reap(&c->upg, c->draining);
}

/*
 * SIGWINCH from the upgrade's new process: it serves on our sockets, so
 * stop accepting and drain.  The admin socket is shared too: stop
 * answering on it, so /healthz comes from the new process only.
 */
static void
run_winch(evutil_socket_t sig, short what, void *arg)
{
	struct run_ctx *c = arg;

	(void)sig;
	(void)what;
	if (c->upg.child <= 0 || c->draining) {
		log_info("SIGWINCH ignored: no upgrade under way");
		return;
	}
	log_info("upgrade: process %ld serves; draining connections for up "
	    "to %u ms", (long)c->upg.child, c->drain_ms);
	adm_stop(&c->adm);
	run_drain(c);
}

/* SIGUSR2: start the new binary with our listening sockets. */
static void
run_usr2(evutil_socket_t sig, short what, void *arg)
{
	struct run_ctx *c = arg;

	(void)sig;
	(void)what;
	if (c->draining || c->upg.child > 0 || reload_busy(c->rel)) {
		log_warn("upgrade refused: %s", c->draining ? "shutting down" :
		    c->upg.child > 0 ? "an upgrade is under way" :
		    "a reload is under way");
		return;
	}
	upg_start(&c->upg, &c->lsns, c->adm.fd, &c->cells);
}

/* ---- health checks (health.h) ---- */

/*
 * Have the engine check what s (published, or being published) has,
 * and name its cells for the log.  Main thread.
 */
static void
run_hc_want(struct run_ctx *c, const struct snap *s,
    const struct hc_target *t, size_t n)
{
	if (hc_log_names(&c->hlog, s) == -1)
		log_warn("health checks: out of memory naming endpoints");
	if (hc_engine_want(c->hce, t, n) == -1)
		log_error("health checks: out of memory: the previous set "
		    "is checked");
}

/* The health part of a reload: the new snapshot's targets. */
struct run_hc_next {
	struct hc_target	*t;		/* owned; settings in s */
	size_t			 n;
};

static int
run_hc_prepare(void *arg, const struct reload_next *n, void **state,
    char *err, size_t errlen)
{
	struct run_hc_next	*h;

	(void)arg;
	if ((h = calloc(1, sizeof(*h))) == NULL ||
	    (h->t = snap_hc_targets(n->s, &h->n)) == NULL) {
		free(h);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	*state = h;
	return 0;
}

static void
run_hc_abort(void *arg, void *state)
{
	struct run_hc_next	*h = state;

	(void)arg;
	if (h != NULL)
		free(h->t);
	free(h);
}

/* After the publish: the engine diffs; kept checks keep their state. */
static void
run_hc_commit(void *arg, void *state, struct reload_next *n)
{
	struct run_ctx		*c = arg;
	struct run_hc_next	*h = state;
	size_t			 len = strlen(n->summary);

	run_hc_want(c, n->s, h->t, h->n);
	if (h->n > 0)
		snprintf(n->summary + len, sizeof(n->summary) - len, ", %zu "
		    "health checks", h->n);
	run_hc_abort(arg, state);
}

static const struct reload_part run_part_health = {
	"health checks", NULL, run_hc_prepare, NULL, run_hc_commit,
	run_hc_abort
};

/* ---- ExternalName answers (extname.h) ---- */

static int
run_xn_busy(void *arg)
{
	struct run_ctx	*c = arg;

	return c->rel == NULL || reload_busy(c->rel) || c->draining;
}

/* The endpoint gauges of m's ports, ExternalName answers included. */
static void
run_xn_eps(struct run_ctx *c, const struct res_model *m)
{
	struct res_model	ov;
	int			any;

	if (xn_model(&c->xn, m, &ov, &any) == -1)
		return;
	met_eps(&c->met, any ? &ov : m);
	xn_overlay_free(&ov, any);
}

/*
 * A build for new answers is done: publish it as a reload would (the
 * ports and listeners are the running model's, so only the metrics'
 * binding and the health checks follow), then the SIGHUP that waited.
 */
static void
run_xn_built(struct rld_result *r, void *arg)
{
	struct run_ctx		*c = arg;
	struct snap		*s = r->s;
	struct hc_target	*t;
	size_t			 n;

	r->s = NULL;
	if (s != NULL && !c->draining) {
		if (met_bind(&c->met, s) == -1) {
			log_error("external names: out of memory: the "
			    "endpoints stay as they were");
			snap_unref(s);
		} else {
			snap_slot_publish(&c->slot, s);
			run_xn_eps(c, &c->model->res);
			/* s is the slot's: only this thread publishes. */
			if ((t = snap_hc_targets(s, &n)) != NULL) {
				run_hc_want(c, s, t, n);
				free(t);
			}
			log_info("external names: endpoints updated in %u ms "
			    "(no file read)", r->build_ms);
		}
	} else
		snap_unref(s);
	xn_built(&c->xn);
	if (c->hup_wait) {
		c->hup_wait = 0;
		reload_start(c->rel);
	}
}

/* Build the running model's snapshot again, on a thread of its own. */
static int
run_xn_build(void *arg)
{
	struct run_ctx	*c = arg;
	char		 err[256];

	if ((c->xrld == NULL && (c->xrld = rld_new(c->base, &c->live,
	    &c->cells, &c->xn, run_xn_built, c, err, sizeof(err))) == NULL) ||
	    rld_rebuild(c->xrld, c->model, err, sizeof(err)) == -1) {
		log_error("external names: %s", err);
		return -1;
	}
	return 0;
}

/* The reload's part: resolve the names the new model proxies. */
static int
run_xn_prepare(void *arg, const struct reload_next *n, void **state,
    char *err, size_t errlen)
{
	(void)arg;
	(void)n;
	(void)err;
	(void)errlen;
	*state = NULL;
	return 0;
}

/* After the metrics' part: its endpoint gauges get the answers too. */
static void
run_xn_commit(void *arg, void *state, struct reload_next *n)
{
	struct run_ctx	*c = arg;

	(void)state;
	xn_want(&c->xn, &n->m->res);
	run_xn_eps(c, &n->m->res);
}

static void
run_xn_abort(void *arg, void *state)
{
	(void)arg;
	(void)state;
}

static const struct reload_part run_part_xn = {
	"external names", NULL, run_xn_prepare, NULL, run_xn_commit,
	run_xn_abort
};

/* Start the engine (after the workers) on s's targets.  0, or -1. */
static int
run_hc_start(struct run_ctx *c, const struct snap *s)
{
	struct hc_target	*t;
	char			 err[256];
	size_t			 n;

	if (hc_engine_start(c->hce, err, sizeof(err)) == -1) {
		log_error("%s", err);
		return -1;
	}
	if ((t = snap_hc_targets(s, &n)) == NULL) {
		log_error("out of memory");
		return -1;
	}
	run_hc_want(c, s, t, n);
	if (n > 0)
		log_info("health checks: %zu endpoints checked", n);
	free(t);
	return 0;
}

/* ---- startup ---- */

/*
 * Transparent mode (svcproxy.io/source-address: client) binds backend
 * sockets to clients' addresses, which takes IP_TRANSPARENT, which
 * takes CAP_NET_ADMIN.  check cannot know run's privileges; run says
 * once at startup, by trying the option on a scratch socket, when a
 * Service asks for it and it is refused (every such connection would
 * then fail, each logged rate-limited by the relay).
 */
static void
run_transparent_check(const struct snap *s)
{
	const struct snap_svc	*sv = NULL;
	size_t			 i, n = 0;
	int			 fd, one = 1;

	for (i = 0; i < s->nsvcs; i++)
		if (s->svcs[i].transparent && n++ == 0)
			sv = &s->svcs[i];
	if (n == 0 || (fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC,
	    0)) == -1)
		return;
	if (setsockopt(fd, IPPROTO_IP, IP_TRANSPARENT, &one,
	    sizeof(one)) == -1)
		log_warn("transparent mode: %zu Service(s) (%s/%s%s) connect "
		    "from the client's address, but IP_TRANSPARENT is refused: "
		    "%s%s", n, sv->ns, sv->name, n > 1 ? ", ..." : "",
		    strerror(errno), errno == EPERM ? " (run needs CAP_NET_ADMIN)" : "");
	close(fd);
}

static struct event *
run_sig(struct run_ctx *c, int sig, event_callback_fn cb)
{
	struct event *ev;

	if ((ev = evsignal_new(c->base, sig, cb, c)) != NULL &&
	    event_add(ev, NULL) == -1) {
		event_free(ev);
		ev = NULL;
	}
	return ev;
}

/*
 * The reloader, with the parts a reload changes.  A subsystem that a
 * reload must change (health checks, DNS) adds its reload_part here.
 */
static int
run_reloader(struct run_ctx *c)
{
	struct reload_env	*e = &c->renv;
	struct reload_part	 parts[6];
	size_t			 i;

	memset(e, 0, sizeof(*e));
	e->base = c->base;
	e->config = c->config;
	e->slot = &c->slot;
	e->live = &c->live;
	e->cells = &c->cells;
	e->xn = &c->xn;
	e->met = &c->met;
	e->proc = &c->proc;
	e->grp = &c->grp;
	e->lsns = &c->lsns;
	e->adm = &c->adm;
	e->model = &c->model;
	e->draining = &c->draining;
	e->drain_ms = &c->drain_ms;
	parts[0] = reload_part_metrics;
	parts[1] = reload_part_listeners;
	parts[2] = reload_part_pcfg;
	parts[3] = run_part_health;
	parts[4] = dns_reload_part;
	parts[5] = run_part_xn;
	for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		parts[i].arg = e;
	parts[3].arg = c;
	parts[4].arg = &c->dns;
	parts[5].arg = c;
	if ((c->rel = reload_new(e, parts, i)) == NULL) {
		log_error("out of memory");
		return -1;
	}
	return 0;
}

static int
run_events(struct run_ctx *c)
{
	c->ev_term = run_sig(c, SIGTERM, run_signal);
	c->ev_int = run_sig(c, SIGINT, run_signal);
	c->ev_hup = run_sig(c, SIGHUP, run_hup);
	c->ev_usr2 = run_sig(c, SIGUSR2, run_usr2);
	c->ev_winch = run_sig(c, SIGWINCH, run_winch);
	c->ev_chld = run_sig(c, SIGCHLD, run_chld);
	c->ev_done = event_new(c->base, c->grp.done_fd, EV_READ | EV_PERSIST,
	    run_worker_done, c);
	c->ev_ack = event_new(c->base, c->grp.ack_fd, EV_READ | EV_PERSIST,
	    run_ack, c);
	c->ev_drain = evtimer_new(c->base, run_drain_timeout, c);
	if (c->ev_term == NULL || c->ev_int == NULL || c->ev_hup == NULL ||
	    c->ev_usr2 == NULL || c->ev_winch == NULL || c->ev_chld == NULL ||
	    c->ev_done == NULL || c->ev_ack == NULL || c->ev_drain == NULL ||
	    event_add(c->ev_done, NULL) == -1 ||
	    event_add(c->ev_ack, NULL) == -1) {
		log_error("cannot set up the main event loop");
		return -1;
	}
	return 0;
}

/*
 * An endpoint's health changed (health thread, after the cell table's
 * generation moved): on the way down, the workers close what
 * health-on-down: close asks them to (worker.c).
 */
static void
run_health_changed(void *arg, enum hc_health to)
{
	struct run_ctx	*c = arg;

	if (to == HC_DOWN)
		wrk_group_health_changed(&c->grp);
}

static void
run_free(struct run_ctx *c)
{
	struct event	**evs[] = { &c->ev_term, &c->ev_int, &c->ev_hup,
	    &c->ev_usr2, &c->ev_winch, &c->ev_chld, &c->ev_done, &c->ev_ack,
	    &c->ev_drain };
	unsigned	  i;

	adm_stop(&c->adm);
	reload_free(c->rel);	/* before the workers and c->live */
	c->rel = NULL;
	rld_stop(c->xrld);	/* likewise, and before c->model, c->xn */
	c->xrld = NULL;
	c->proc.xn = NULL;
	xn_free(&c->xn);
	for (i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
		if (*evs[i] != NULL) {
			event_free(*evs[i]);
			*evs[i] = NULL;
		}
	/* The engine first: its notify wakes the workers' eventfds. */
	hc_engine_free(c->hce);		/* before the group and the cells */
	c->hce = NULL;
	c->proc.dns = NULL;
	dns_run_stop(&c->dns);
	wrk_group_free(&c->grp);	/* after ev_done, ev_ack: their fds */
	snap_slot_clear(&c->slot);
	lb_livetab_free(&c->live);
	hc_log_free(&c->hlog);
	hc_celltab_free(&c->cells);
	met_tab_free(&c->met);
	lsn_table_free(&c->lsns);
	run_model_free(c->model);
	c->model = NULL;
	if (c->base)
		event_base_free(c->base);
	upg_pidfile_remove(&c->upg);
}

static unsigned
run_nworkers(const struct run_opts *o, int cfg_workers)
{
	unsigned	n;
	long		ncpu;

	n = o->workers ? (unsigned)o->workers : cfg_workers > 0 ?
	    (unsigned)cfg_workers : 0;
	if (n > RUN_MAX_WORKERS)
		n = RUN_MAX_WORKERS;
	if (n == 0) {
		ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		n = ncpu > 0 ? (unsigned)(ncpu > RUN_MAX_WORKERS ?
		    RUN_MAX_WORKERS : ncpu) : 1;
	}
	return n;
}

/* The listeners (adopting inherited ones) and the workers. */
static int
run_open(struct run_ctx *c, struct snap *s, unsigned n,
    struct lsn_inherit *inh)
{
	struct lsn_group	*groups;
	struct lsn_target	*t;
	char			 err[512];
	size_t			 nt, un, extra;

	if ((groups = calloc(n, sizeof(*groups))) == NULL ||
	    (t = lsn_targets(s, LSN_SERVED, &nt)) == NULL) {
		free(groups);
		log_error("out of memory");
		return -1;
	}
	if (lsn_open(t, nt, s->listener_sockets, nt, n, inh, groups, &c->lsns,
	    err, sizeof(err)) == -1) {
		log_error("%s", err);
		free(t);
		free(groups);
		return -1;
	}
	free(t);
	c->proc.listeners = c->lsns.n;
	if ((un = lsn_table_unshared(&c->lsns, &extra)) > 0)
		log_info("listeners: %zu addresses keep the %zu sockets the "
		    "old process passed (%zu more than Shared needs) until a "
		    "restart: closing one would reset the connections queued "
		    "on it", un, un + extra, extra);
	/* Each probe in flight holds a socket: an eighth of the limit at
	   most, so checks never starve the workers of descriptors. */
	c->hc_inflight = (unsigned)(c->grp.nofile / 8 < HC_DEFAULT_INFLIGHT ?
	    c->grp.nofile / 8 : HC_DEFAULT_INFLIGHT);
	if (c->hc_inflight < 8)
		c->hc_inflight = 8;
	if (wrk_group_create(&c->grp, groups, n, RUN_FD_RESERVE +
	    ADM_FD_BUDGET + c->hc_inflight, s->max_connections, err,
	    sizeof(err)) == -1) {
		log_error("%s", err);
		free(groups);
		lsn_table_free(&c->lsns);
		return -1;
	}
	free(groups);
	return 0;
}

static int
run_admin(struct run_ctx *c, int fd)
{
	struct adm_src	src;
	char		err[512];

	src.slot = &c->slot;
	src.grp = &c->grp;
	src.met = &c->met;
	src.proc = &c->proc;
	src.lsns = &c->lsns;
	src.model = &c->model;
	src.xn = &c->xn;
	if (adm_start(&c->adm, c->base, &c->model->pcfg.admin_ip,
	    c->model->pcfg.admin_port, fd, &src, err, sizeof(err)) == -1) {
		log_error("%s", err);
		return -1;
	}
	log_info("admin: listening on %s (/healthz, /metrics, /status)",
	    c->adm.name);
	return 0;
}

static int
run_serve(struct run_ctx *c, const struct run_opts *o)
{
	struct lsn_inherit	 inh;
	struct snap		*s;
	char			 err[512];
	unsigned		 n;
	int			 afd, rc;

	/* An upgrade's health state, before the first build reads it. */
	(void)upg_inherit_health(&c->cells);
	if ((s = run_load(c, o->config, &c->model)) == NULL)
		return 1;
	n = run_nworkers(o, c->model->pcfg.workers);
	met_tab_init(&c->met, n);
	c->proc.workers = n;
	c->proc.config_hash = c->model->set.hash;
	c->proc.started = (int64_t)time(NULL);
	c->proc.last_reload_ok = 1;
	c->drain_ms = c->model->pcfg.drain_timeout_ms;
	if (c->model->pcfg.connection_log == CONN_LOG_DEBUG)
		log_set_level(LOG_LEVEL_DEBUG);
	if (met_bind(&c->met, s) == -1) {
		snap_unref(s);
		log_error("out of memory");
		return 1;
	}
	met_eps(&c->met, &c->model->res);
	snap_slot_publish(&c->slot, s);
	if (upg_inherit(&inh, err, sizeof(err)) == -1) {
		log_error("%s", err);
		return 1;
	}
	rc = run_open(c, s, n, &inh);
	afd = lsn_inherit_admin(&inh);
	upg_adopted(&inh);
	lsn_inherit_free(&inh);
	if (rc == -1 || run_admin(c, afd) == -1)
		return 1;
	log_info("serving %zu Service ports on %zu addresses with %u workers "
	    "(config %016" PRIx64 ")", s->nports, c->lsns.n, n,
	    c->proc.config_hash);
	run_transparent_check(s);
	if (run_reloader(c) == -1 || run_events(c) == -1 ||
	    upg_pidfile(&c->upg) == -1)
		return 1;
	if ((c->hce = hc_engine_new(c->hc_inflight, hc_log_notify,
	    &c->hlog, err, sizeof(err))) == NULL) {
		log_error("%s", err);
		return 1;
	}
	if (wrk_group_start(&c->grp, err, sizeof(err)) == -1) {
		log_error("%s", err);
		wrk_group_command(&c->grp, WRK_STOP);
		return 1;
	}
	/* s is the slot's: only this thread publishes, and not yet. */
	if (run_hc_start(c, s) == -1 || dns_run_start(&c->dns) == -1) {
		wrk_group_command(&c->grp, WRK_STOP);
		return 1;
	}
	c->proc.dns = dns_run_stats(&c->dns);
	c->proc.xn = &c->xn.stats;
	xn_want(&c->xn, &c->model->res);
	upg_notify("READY=1");
	upg_ready(&c->upg);
	event_base_dispatch(c->base);
	log_info("stopped");
	return 0;
}

int
cmd_run(int argc, char **argv)
{
	struct run_opts	 o;
	struct run_ctx	 c;
	struct xn_hooks	 xh = { run_xn_busy, run_xn_build, NULL };
	int		 rc;

	if ((rc = run_parse(argc, argv, &o)) != CMD_GO)
		return rc;
	memset(&c, 0, sizeof(c));
	c.config = o.config;
	c.dns.model = &c.model;
	c.adm.fd = -1;
	upg_init(&c.upg, argc, argv, o.pidfile);
	snap_slot_init(&c.slot);
	lb_livetab_init(&c.live);
	hc_celltab_init(&c.cells);
	hc_log_init(&c.hlog, &c.cells);
	c.hlog.on_change = run_health_changed;
	c.hlog.on_change_arg = &c;
	xh.arg = &c;
	signal(SIGPIPE, SIG_IGN);
	/* Under systemd with stderr on the journal: "<N>" priorities. */
	(void)log_journal_init(getenv("JOURNAL_STREAM"), STDERR_FILENO);
	evthread_use_pthreads();
	if (wrk_group_init(&c.grp, &c.slot, RELAY_PIPE_SIZE,
	    getenv("SVCPROXY_NO_SPLICE") != NULL) == -1 ||
	    (c.base = event_base_new()) == NULL ||
	    xn_init(&c.xn, c.base, &xh) == -1) {
		log_error("cannot set up the main event loop");
		rc = 1;
	} else
		rc = run_serve(&c, &o);
	run_free(&c);
	libevent_global_shutdown();
	return rc;
}
