/*
 * reload: apply a new configuration to the running process, in two
 * phases, on the main thread.
 *
 * SIGHUP starts a load on the reload thread (reload_load.h), so the
 * main loop keeps answering /healthz.  When it is done, every part of
 * the process that a reload changes (a struct reload_part: listeners,
 * metrics, ProxyConfig settings, later health checks and DNS) prepares
 * its next state aside, the running one untouched.  If any part fails,
 * those already prepared abort, and the running configuration stays
 * whole.  Otherwise each part may settle (the listeners have the
 * workers serve and close what the new configuration drops), the new
 * snapshot is published in one atomic store, and every part commits.
 * A configuration with the running one's hash is not applied again.
 *
 * The core below never names a part: the run context hands reload_new
 * the list, so a new subsystem joins by adding one entry to it (nginx
 * calls its modules' hooks the same way).
 */
#ifndef SVCPROXY_RELOAD_H
#define SVCPROXY_RELOAD_H

#include <stddef.h>
#include <stdint.h>

struct adm;
struct event_base;
struct hc_celltab;
struct lb_livetab;
struct lsn_table;
struct met_proc;
struct met_tab;
struct model;
struct snap;
struct snap_slot;
struct wrk_group;
struct xn_run;

/*
 * What reload reaches of the run context, kept in it.  Every pointer is
 * the run context's and outlives the struct reload made from it.
 */
struct reload_env {
	struct event_base	*base;		/* main thread's */
	const char		*config;	/* path to load */
	struct snap_slot	*slot;		/* reload publishes into it */
	struct lb_livetab	*live;		/* for the reload thread */
	struct hc_celltab	*cells;		/* for the reload thread */
	struct xn_run		*xn;		/* for the reload thread:
						   ExternalName endpoints */
	struct met_tab		*met;
	struct met_proc		*proc;		/* reload counters, hash */
	struct wrk_group	*grp;
	struct lsn_table	*lsns;		/* what is bound */
	struct adm		*adm;
	struct model		**model;	/* the running one: a commit
						   replaces it */
	const int		*draining;	/* set: reloads end */
	uint32_t		*drain_ms;	/* ProxyConfig's, updated */
};

/* The configuration a reload brings; parts see it, never own it. */
struct reload_next {
	struct model		*m;		/* the new model */
	struct snap		*s;		/* its snapshot; published
						   between settle and commit */
	char			 summary[160];	/* commit may append to the
						   "applied" log line */
};

/*
 * A subsystem's share of a reload.  prepare makes the next state aside
 * into *state (the part's, opaque here) and must leave the running
 * state as it is: 0, or -1 with a message in err.  Once every part has
 * prepared, settle (NULL: nothing to wait for) may bring the running
 * state towards the next one without losing anything, and returns 1
 * while the reload must wait; it is asked again after each reload_ack
 * until it returns 0.  Then commit applies state and frees it.  abort
 * frees a prepared state that will not be committed (another part
 * failed, or the process shuts down).
 */
struct reload_part {
	const char	*name;
	void		*arg;		/* the part's context, not owned */
	int		(*prepare)(void *arg, const struct reload_next *,
			    void **state, char *err, size_t errlen);
	int		(*settle)(void *arg, void *state);
	void		(*commit)(void *arg, void *state,
			    struct reload_next *);
	void		(*abort)(void *arg, void *state);
};

/* The parts every run has, in the order they prepare and commit; set
   each one's arg to the struct reload_env. */
extern const struct reload_part	 reload_part_metrics;
extern const struct reload_part	 reload_part_listeners;
extern const struct reload_part	 reload_part_pcfg;

struct reload;

/*
 * The reloader of a run context.  env stays the caller's and must
 * outlive it; the n parts are copied.  Owned by the caller
 * (reload_free).  NULL when out of memory.
 */
struct reload	*reload_new(struct reload_env *env,
		    const struct reload_part *parts, size_t n);

/* SIGHUP: start a reload, or queue one after the reload under way. */
void		 reload_start(struct reload *);

/* A worker reached a listener set: ask the settling parts again. */
void		 reload_ack(struct reload *);

/* Is a reload under way (loading, or between prepare and commit)? */
int		 reload_busy(const struct reload *);

/*
 * Abort a reload under way and stop the reload thread (rld_stop):
 * after this the thread no longer touches env->live.  Before the
 * workers are freed.  NULL is ok.
 */
void		 reload_free(struct reload *);

#endif
