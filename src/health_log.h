/*
 * health_log: what active checks tell the operator, one line per
 * transition of an endpoint's health:
 *
 *   endpoint 10.0.0.1:80 (ns/svc:80/TCP) is down: connection refused
 *
 * The engine's notify (health.h) runs on the health thread and knows a
 * cell only; a cell may serve several Service ports (a shared check),
 * so the names are looked up in a table made from each snapshot the
 * run context hands to the engine (hc_log_names, main thread), under a
 * mutex the health thread takes once per transition.  Lines go through
 * a rate limit, so a mass failure cannot flood the log, and through
 * each cell's flap state (health_flap.h): an endpoint that changes
 * state more than HC_FLAP_MAX times a minute gets one summary line a
 * minute instead.  Summaries come with the cell's next transition or
 * the next reload (hc_log_names), whichever is first.
 *
 * The notify also bumps the cell table's generation, after the cell's
 * new state is stored, so the balancers decide panic again (lb.h).
 */
#ifndef SVCPROXY_HEALTH_LOG_H
#define SVCPROXY_HEALTH_LOG_H

#include <pthread.h>
#include <stddef.h>

#include "health.h"
#include "health_flap.h"
#include "log.h"

struct snap;

struct hc_log_name {
	const struct hc_cell	*cell;
	char			*text;		/* owned: "10.0.0.1:80
						   (ns/svc:80/TCP)" */
	char			*svc;		/* owned: "ns/svc:80/TCP",
						   the first port (json) */
	struct hc_flap		 flap;		/* its transitions (health
						   thread, under mu); kept
						   across reloads */
};

/* Owned by the run context; outlives the engine that notifies it. */
struct hc_log {
	struct hc_celltab	*cells;		/* run's: bumped */
	pthread_mutex_t		 mu;		/* guards names */
	struct hc_log_name	*names;		/* owned, sorted by cell */
	size_t			 nnames;
	struct log_rl		 rl;
	/* Told of every transition after the generation moves (health
	   thread): the workers' health-on-down wake-up; may be NULL. */
	void			(*on_change)(void *arg, enum hc_health to);
	void			*on_change_arg;
};

void	 hc_log_init(struct hc_log *, struct hc_celltab *cells);
void	 hc_log_free(struct hc_log *);
/*
 * Name the cells of s (the snapshot whose targets the engine is about
 * to get) for the lines to come.  0, or -1 when out of memory (the
 * previous names stay).
 */
int	 hc_log_names(struct hc_log *, const struct snap *s);
/* hc_notify_fn, arg the struct hc_log.  Health thread. */
void	 hc_log_notify(void *arg, const struct hc_cell *,
	    enum hc_health from, enum hc_health to, const char *reason);

#endif
