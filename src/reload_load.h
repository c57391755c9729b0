/*
 * reload_load: the slow part of a reload, on a thread of its own.
 *
 * Loading, validating and resolving a large configuration, and
 * building its snapshot, take seconds (README: Reload).  Done on the
 * main thread, that would stall its event loop, and with it /healthz
 * and /metrics: a keepalived check with a one second deadline would
 * move the address away from a healthy proxy.  So `run` hands that part
 * to the reload thread.  It reads the files, builds a private model and
 * snapshot, and logs its own diagnostics; the only running state it
 * touches is the live counter table, to which it adds the new
 * endpoints' entries (lb.h: one thread adds at a time, and while a load
 * runs nobody else does).  When it is done it wakes the main loop
 * through an eventfd, and the main thread binds the metrics, opens the
 * listeners and publishes from the callback.  The thread also frees
 * replaced models, which for a large configuration takes a while too.
 *
 * One long-lived thread, not one per reload: its malloc arena and stack
 * are reused, so a thousand reloads leave RSS where it was.
 *
 * The main thread never waits for a load.  At shutdown it asks the
 * thread to quit and joins it only if it is idle; a thread still
 * loading (or stuck reading a file that never ends) is detached and
 * left behind.  The state both threads share is refcounted and freed by
 * whichever lets go last.
 */
#ifndef SVCPROXY_RELOAD_LOAD_H
#define SVCPROXY_RELOAD_LOAD_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "lb.h"
#include "snapshot.h"

struct diag_list;
struct hc_celltab;
struct model;
struct xn_run;

/* What the thread made of the configuration. */
struct rld_result {
	struct model	*m;		/* owned by the result; set only
					   with s */
	struct snap	*s;		/* one reference; NULL unless the
					   configuration loaded without an
					   error, differs from the running
					   one and its snapshot was built */
	size_t		 nerr;		/* errors (already logged) */
	int		 unchanged;	/* same hash as the running config */
	int		 failed;	/* out of memory, or the snapshot
					   could not be built (logged) */
	uint32_t	 load_ms;	/* load, validate, resolve */
	uint32_t	 build_ms;	/* snapshot */
};

struct rld;

/*
 * Called on the main thread, from the loop, when a load is done.  The
 * callee may take r->m and r->s (and must then clear them); whatever is
 * left in r is freed after it returns.  It may start the next load.
 */
typedef void	 rld_done_fn(struct rld_result *r, void *arg);

/*
 * Start the reload thread; done runs from base's loop.  Live counters
 * of new snapshots come from (and are added to) live, their health
 * check cells from cells (NULL: no checks), the endpoints of proxied
 * ExternalName Services from xn's answers (NULL: none; extname.h), all
 * of which must stay until rld_stop.  NULL with a message in err.
 */
struct rld	*rld_new(struct event_base *base, struct lb_livetab *live,
		    struct hc_celltab *cells, struct xn_run *xn,
		    rld_done_fn *done, void *arg, char *err, size_t errlen);

/*
 * Build m's snapshot again on the thread, with xn's answers as they are
 * now, reading no file: when an external name's answer changed.  done
 * gets r->s (r->m NULL: m stays the caller's, and must not be freed
 * before done runs or rld_stop returns).  0, or -1 with err when a load
 * or a build is under way already.
 */
int		 rld_rebuild(struct rld *, const struct model *m, char *err,
		    size_t errlen);

/*
 * Load path (model_load) on the thread; unless its hash is
 * running_hash, build its snapshot.  Diagnostics go to the log as
 * "FILE:LINE:COL: ..." lines, from the thread.  0, or -1 with err when
 * a load is under way already or out of memory.
 */
int		 rld_start(struct rld *, const char *path,
		    uint64_t running_hash, char *err, size_t errlen);

/* Is a load under way (started, its done not yet called)? */
int		 rld_loading(const struct rld *);

/*
 * Free m (malloc'd, as rld_result's) on the thread, off the loop; at
 * once if r is NULL or out of memory.  NULL m is ok.
 */
void		 rld_model_free(struct rld *r, struct model *m);

/*
 * dl's diagnostics to the log, one line each (diag_lines' selection),
 * errors at error level, warnings at warning; in the json format with
 * their file, line, col, kind, namespace, name and field as keys.
 */
void		 rld_log_diags(const struct diag_list *dl);

/*
 * Stop the thread without waiting for a load: done will not run again.
 * Waits only while the thread adds to live (a bounded, CPU-only step),
 * never while it reads files; after this returns the thread no longer
 * touches live, which the caller may free.  Models queued to be freed
 * are freed before the thread ends.  NULL is ok.  Main thread only.
 */
void		 rld_stop(struct rld *);

/*
 * Load path on the calling thread, as the reload thread does (the
 * startup load).  Diagnostics are appended to dl, not logged.  Fills r,
 * without a snapshot: r->m is set when the model has no error (and,
 * with have_running, a hash other than running_hash).  A model that
 * proxies an ExternalName and names no nameserver gets those of
 * /etc/resolv.conf here, with the configuration's files (not part of
 * its hash).
 */
void		 rld_load(const char *path, int have_running,
		    uint64_t running_hash, struct diag_list *dl,
		    struct rld_result *r);

/* Free what r still owns. */
void		 rld_result_clear(struct rld_result *);

#endif
