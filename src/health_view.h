/*
 * health_view: what /status, /metrics and /healthz say of an endpoint's
 * health, decided in one place so that the three agree.
 *
 * An endpoint of a snapshot is
 *   - down while passively ejected (lb_live.ejected_until_ms is still
 *     ahead) or marked down (lb_live.down), whatever its check says:
 *     new connections avoid it;
 *   - else, when actively checked (lb_ep.hc), what its check's cell
 *     says: unknown (no result yet; served as up), up or down;
 *   - else up: an endpoint nobody checks is served while Kubernetes
 *     lists it.
 * It is healthy unless down.  A port in panic (lb_set.panic) serves its
 * down endpoints anyway; that does not make them healthy.
 *
 * Reads atomics (relaxed) from any thread; a check landing meanwhile
 * may show half of the old and half of the new result, never a torn
 * reason.
 */
#ifndef SVCPROXY_HEALTH_VIEW_H
#define SVCPROXY_HEALTH_VIEW_H

#include <stddef.h>
#include <stdint.h>

#include "health-t.h"
#include "lb.h"

/* RFC 3339 UTC, ms: "2026-11-29T23:50:01.123Z". */
#define HC_VIEW_TIME_MAX	32

struct hc_view {
	enum hc_health		 health;	/* the rule above */
	int			 checked;	/* has an active check */
	int			 ejected;	/* passively, now */
	uint32_t		 ejections;	/* times so far */
	/* Checked only: */
	enum hc_health		 check;		/* the cell's state */
	int			 has_result;	/* a check has run */
	int			 pass;		/* the last one passed */
	int64_t			 last_ms;	/* wall clock of the last */
	uint32_t		 latency_us;	/* the last one's */
	char			 reason[HC_REASON_MAX];	/* the last one's */
};

/* A checked endpoint's counters, read as one (health-t.h's seq). */
struct hc_view_counts {
	uint64_t		 checks;
	uint64_t		 failures;	/* of checks */
	uint64_t		 transitions;
	uint64_t		 latency[HC_LAT_BUCKETS];	/* per bucket */
	uint64_t		 latency_sum_us;
};

/* ep's health at now_ms (monotonic, clock_mono_ms()) into v. */
void		 hc_view_ep(const struct lb_ep *, int64_t now_ms,
		    struct hc_view *v);
/* The counters of cell c into out. */
void		 hc_view_counts(const struct hc_cell *c,
		    struct hc_view_counts *out);
/* c's last result (v's check members) and counters, read as one. */
void		 hc_view_cell(const struct hc_cell *c, struct hc_view *v,
		    struct hc_view_counts *out);
/* ep's health (the rule above) without the rest. */
enum hc_health	 hc_view_health(const struct lb_ep *, int64_t now_ms);
/* Endpoints of set that are healthy at now_ms. */
size_t		 hc_view_healthy(const struct lb_set *, int64_t now_ms);
/* Wall-clock ms as RFC 3339 UTC into buf (HC_VIEW_TIME_MAX); buf. */
char		*hc_view_time(int64_t wall_ms, char *buf, size_t len);

#endif
