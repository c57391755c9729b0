/*
 * health_state: the pure rules of health checking, with no sockets,
 * clock or threads, so that each is unit-tested on its own.
 *
 * - The rise/fall counter, HAProxy's (src/check.c): an endpoint is up
 *   while its counter is at least rise.  A success adds one, and at
 *   rise jumps to rise + fall - 1; a failure takes one away while the
 *   counter is above rise, else drops it to 0.  So an up endpoint goes
 *   down after fall failures in a row and a down one comes up after
 *   rise successes in a row.  A new endpoint starts unknown with the
 *   counter at rise: served as up, and its first result decides
 *   (a reload never flips a healthy endpoint down).
 * - The ejection back-off of passive outlier detection, Envoy's: the
 *   base time times the number of ejections so far, capped.
 * - Slow start's weight ramp, Envoy's (hc_slow_start_weight).
 * - Jitter (HAProxy's spread-checks): the first check of an endpoint
 *   falls anywhere in its first interval and every later interval is
 *   stretched or shrunk by up to a quarter, so that checks started
 *   together (a restart, a reload) drift apart instead of firing in
 *   step.
 * - The HTTP status codes a check accepts ("200-399", "200,204"), and
 *   the status line of a response.
 */
#ifndef SVCPROXY_HEALTH_STATE_H
#define SVCPROXY_HEALTH_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "health-t.h"

#define HC_RISE_MAX	100	/* rise and fall: 1..HC_RISE_MAX */
#define HC_SPREAD_DIV	4	/* intervals vary by interval / 4 */

/* One check's rise/fall state; written only by the checking thread. */
struct hc_fsm {
	uint16_t		 health;	/* 0 .. rise + fall - 1 */
	uint8_t			 rise;
	uint8_t			 fall;
	enum hc_health		 state;
};

/* A new endpoint: unknown, counter at rise.  rise, fall: 1..HC_RISE_MAX. */
void		 hc_fsm_init(struct hc_fsm *, unsigned rise, unsigned fall);
/*
 * Feed one result (ok: nonzero for a pass).  Returns 1 when the state
 * changed between up and down or left unknown, else 0.
 */
int		 hc_fsm_feed(struct hc_fsm *, int ok);
#define HC_DURATION_LEN	32	/* hc_duration's longest, with room */

/*
 * ms as Go's time.Duration.String() spells it ("0s", "300ms", "1.5s",
 * "1m30s", "1h0m0s"): how resolve prints the settings and a check's
 * reason its timeout.  Returns buf, or a literal.
 */
const char	*hc_duration(uint32_t ms, char *buf, size_t len);
/* "tcp", "http", "https" or "none". */
const char	*hc_kind_name(enum hc_kind);
/* The kind called s, or -1. */
int		 hc_kind_parse(const char *s);
/* "up", "down" or "unknown". */
const char	*hc_health_name(enum hc_health);

/*
 * How long the ejections-th ejection lasts (ejections >= 1; 0 is
 * treated as 1): base_ms * ejections, at most max_ms.
 */
uint32_t	 hc_eject_ms(uint32_t ejections, uint32_t base_ms,
		    uint32_t max_ms);

/*
 * Slow start (Envoy's, aggression 1.0, minimum weight 10%): the weight
 * an endpoint up for since_up_ms of a window_ms ramp gets, weight
 * times since_up_ms / window_ms, but at least a tenth of weight and at
 * least 1 (0 only for weight 0); weight itself from window_ms on, or
 * when window_ms is 0 (off).  A negative since_up_ms (clocks) counts
 * as 0.  Weights of 1 ramp only in steps of whole units: algorithms
 * wanting a smooth ramp scale weights first.
 */
uint32_t	 hc_slow_start_weight(uint32_t weight, int64_t since_up_ms,
		    uint32_t window_ms);

/*
 * When an endpoint's first check runs, in ms from now, for a random
 * rnd: in [0, interval_ms).  interval_ms 0 gives 0.
 */
uint32_t	 hc_first_delay_ms(uint32_t interval_ms, uint32_t rnd);
/*
 * The gap before the next check, for a random rnd: interval_ms
 * plus or minus up to interval_ms / HC_SPREAD_DIV, never 0.
 */
uint32_t	 hc_next_delay_ms(uint32_t interval_ms, uint32_t rnd);

/* The accepted HTTP status codes, 100..599. */
struct hc_status_set {
	uint64_t		 bits[8];	/* bit (code - 100) */
};

/*
 * Parse "200-399", "200,204" or "200-299, 404" (ranges and single
 * codes, comma-separated, blanks ignored) into set.  Returns 0, or -1
 * with why in err (a code outside 100-599, a range whose end is below
 * its start, an empty list or item, anything else).
 */
int		 hc_status_parse(const char *, struct hc_status_set *,
		    char *err, size_t errlen);
int		 hc_status_has(const struct hc_status_set *, int code);

/*
 * The status code of an HTTP/1.x response whose first len bytes are
 * buf: 1 with *code set when the status line is complete and well
 * formed ("HTTP/1.1 503 Service Unavailable\r\n"), 0 when more bytes
 * are needed, -1 as soon as the bytes cannot begin an HTTP/1.x status
 * line.  Only the first 13 bytes are read.
 */
int		 hc_http_status(const char *buf, size_t len, int *code);

#endif
