/*
 * health_flap: which health transitions to log, so that a flapping
 * endpoint writes one line a minute instead of one per flap.  Pure: the
 * caller passes the time and prints the line.
 *
 * Each transition is logged at once ("endpoint X is down: HTTP 503")
 * unless the endpoint has changed state more than HC_FLAP_MAX times in
 * the last HC_FLAP_WINDOW_MS.  The transition that crosses that line is
 * logged as the start of flapping ("endpoint X flapping: 5 transitions
 * in 12s, now down: HTTP 503"); later ones are counted, not logged, and
 * one summary line per window says how many there were and the state
 * and reason now.  A whole window without a transition ends the
 * flapping with a last line ("endpoint X stopped flapping, now up:
 * HTTP 200"); the next transition is logged at once again.
 *
 * Summaries are due at a window's end, whether or not a transition
 * comes: the caller calls hc_flap_tick() at least once per window (on
 * every check result, or from a timer), else a window's summary waits
 * for the next transition.
 *
 * Threads: one struct per checked endpoint (its cell), used by one
 * thread (the health thread's notify callback); no locks.
 */
#ifndef SVCPROXY_HEALTH_FLAP_H
#define SVCPROXY_HEALTH_FLAP_H

#include <stddef.h>
#include <stdint.h>

#include "health-t.h"

#define HC_FLAP_MAX		4	/* transitions a window logs one by
					   one */
#define HC_FLAP_WINDOW_MS	60000
#define HC_FLAP_LINE_MAX	(HC_REASON_MAX + 160)	/* a line fits */

/* Zeroed (or hc_flap_init()) is a quiet endpoint in state unknown. */
struct hc_flap {
	int64_t			 at[HC_FLAP_MAX + 1];	/* ring: the last
						   transitions' times */
	unsigned		 n;		/* in the ring */
	unsigned		 head;		/* next slot */
	int			 flapping;
	int64_t			 since_ms;	/* summary window start */
	uint32_t		 count;		/* transitions unlogged in it */
	enum hc_health		 state;		/* the last one's */
	char			 reason[HC_REASON_MAX];	/* the last one's */
};

void	 hc_flap_init(struct hc_flap *);
/*
 * Endpoint name has changed state to to (reason: the check's, may be
 * NULL) at now_ms (monotonic).  Returns 1 with the line to log in line
 * (no newline; truncated to len), or 0 when the transition is only
 * counted (line untouched).
 */
int	 hc_flap_note(struct hc_flap *, const char *name, int64_t now_ms,
	    enum hc_health to, const char *reason, char *line, size_t len);
/*
 * Time has passed: returns 1 with a summary in line when a flapping
 * window has ended at now_ms (the transitions it counted, or that the
 * flapping stopped), else 0.
 */
int	 hc_flap_tick(struct hc_flap *, const char *name, int64_t now_ms,
	    char *line, size_t len);

#endif
