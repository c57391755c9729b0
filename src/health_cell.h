/*
 * health_cell: the table of result cells (struct hc_cell, health-t.h)
 * that outlive snapshots.  Cells are created by the one snapshot build
 * running (as lb_live), written by the health thread, read by anyone.
 */
#ifndef SVCPROXY_HEALTH_CELL_H
#define SVCPROXY_HEALTH_CELL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <sys/socket.h>

#include "health-t.h"
#include "strtab.h"

#define HC_KEY_MAX		512

/* Owned by the run context; as struct lb_livetab. */
struct hc_celltab {
	struct strtab		 t;		/* of hc_cell, owned */
	/* Bumped (release) after any cell's state changes, by whoever
	   hears the engine's notify (the run context: health_log.c); the
	   balancers decide panic again when it moves (lb.h). */
	_Atomic uint64_t	 gen;
};

void		 hc_celltab_init(struct hc_celltab *);
void		 hc_celltab_free(struct hc_celltab *);
/* The cell for key, created unknown on first use; NULL: no memory. */
struct hc_cell	*hc_celltab_get(struct hc_celltab *, const char *key);
/* A cell of t changed state: panic is decided again. */
void		 hc_celltab_changed(struct hc_celltab *);
/* Call fn on every cell of t.  Not while a build adds cells. */
void		 hc_celltab_foreach(struct hc_celltab *,
		    void (*fn)(struct hc_cell *, void *), void *arg);

/*
 * The key of a target: address, check port and every setting, so that
 * equal keys mean one check.  Returns buf, or NULL when it does not fit.
 */
char		*hc_key(char *buf, size_t len, const struct sockaddr *sa,
		    socklen_t salen, const struct hc_settings *);
/* The cell's last reason, into buf (a consistent copy); returns buf. */
char		*hc_cell_reason(const struct hc_cell *, char *buf, size_t len);

/* What is wanted checked; borrowed for the call only. */
struct hc_target {
	struct hc_cell		*cell;		/* celltab; outlives it */
	struct sockaddr_storage	 sa;		/* address and check port */
	socklen_t		 salen;
	const struct hc_settings *set;		/* borrowed */
};

#endif
