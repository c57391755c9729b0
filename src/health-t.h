/*
 * health-t: what a Service asks of health checking, as plain types that
 * the config side (res), the snapshot and the health thread share.
 *
 * Settings come from a Service's annotations, each defaulted from
 * ProxyConfig spec.healthCheck (README, "Health checks").  Strings
 * point into whoever holds the struct: the kset arena in res, the
 * snapshot arena in a snapshot, the health thread's own copy there.
 */
#ifndef SVCPROXY_HEALTH_T_H
#define SVCPROXY_HEALTH_T_H

#include <stdatomic.h>
#include <stdint.h>

#include "strtab.h"

/* Defaults (HAProxy's inter 2s, rise 2, fall 3; Envoy's outlier
   detection: 5 consecutive failures, 30 s base, 50%). */
#define HC_DEFAULT_INTERVAL_MS		2000
#define HC_DEFAULT_RISE			2
#define HC_DEFAULT_FALL			3
#define HC_DEFAULT_EXPECT		"200-399"
#define HC_DEFAULT_METHOD		"GET"
#define HC_DEFAULT_PATH			"/"
#define HC_DEFAULT_OUTLIER_FAILURES	5
#define HC_DEFAULT_EJECT_BASE_MS	30000
#define HC_DEFAULT_EJECT_MAX_MS		300000
#define HC_DEFAULT_EJECT_MAX_PERCENT	50
#define HC_REASON_MAX			160
/* Check latency histogram bounds, ms (Prometheus buckets; the last
   bucket counts everything slower). */
#define HC_LAT_BOUNDS_MS	{ 1, 5, 10, 25, 50, 100, 250, 500, 1000, \
				  2500, 5000 }
#define HC_LAT_BUCKETS		12

enum hc_kind {
	HC_NONE,	/* no active check (the default) */
	HC_TCP,		/* a connect */
	HC_HTTP,	/* a request; the status line decides */
	HC_HTTPS,	/* the same over TLS */
};

/* One active check's settings. */
struct hc_settings {
	enum hc_kind		 kind;
	uint32_t		 interval_ms;
	uint32_t		 timeout_ms;	/* 0 in config: the interval */
	uint8_t			 rise;
	uint8_t			 fall;
	uint16_t		 port;		/* 0: the endpoint's port */
	const char		*method;	/* http(s); NULL: GET */
	const char		*path;		/* http(s); NULL: / */
	const char		*host;		/* http(s); NULL: address */
	const char		*expect;	/* "200-399"; NULL: that */
	const char		*sni;		/* https; NULL: none */
	const char		*ca;		/* https; NULL: no verify */
	uint8_t			 proxy;		/* enum pp_version: the
						   Service's PROXY protocol,
						   which its checks speak */
};

/* What a Service port does with health: active check, passive
   ejection, panic, and what happens to connections on the way down. */
struct hc_config {
	struct hc_settings	 check;
	uint32_t		 outlier_failures;	/* 0: no ejection */
	uint32_t		 eject_base_ms;
	uint32_t		 eject_max_ms;
	uint8_t			 eject_max_percent;	/* of a port's
							   endpoints */
	uint8_t			 panic_percent;	/* 0: only when none is
						   healthy */
	uint8_t			 close_on_down;	/* health-on-down: close */
	uint32_t		 slow_start_ms;	/* 0: off */
};

enum hc_health {
	HC_UNKNOWN,	/* no result yet: served as up */
	HC_UP,
	HC_DOWN,
};

/*
 * One checked (address, port, settings): the result, atomics only.
 * Written by the health thread; the reason, times and counters of a
 * result are published under a sequence count (odd while written) so a
 * reader never sees half of it (nor a check counted and its failure
 * not yet: /metrics' pass count only grows).
 */
struct hc_cell {
	_Atomic int		 state;		/* enum hc_health; the data
						   path reads it (relaxed) */
	_Atomic uint64_t	 checks;
	_Atomic uint64_t	 failures;
	_Atomic uint64_t	 transitions;
	_Atomic int64_t		 last_ms;	/* wall clock; 0: none yet */
	_Atomic int64_t		 last_ok_ms;	/* wall clock of the last
						   pass; 0: none */
	_Atomic int64_t		 up_since_ms;	/* wall clock it last went
						   up (slow start); 0 */
	_Atomic uint32_t	 last_latency_us;
	_Atomic uint64_t	 latency[HC_LAT_BUCKETS];	/* counts per
						   HC_LAT_BOUNDS_MS bucket */
	_Atomic uint64_t	 latency_sum_us;	/* of every check: the
						   histogram's _sum */
	_Atomic uint32_t	 seq;		/* the result's seq count */
	_Atomic char		 reason[HC_REASON_MAX];
	struct strtab_node	 node;
	char			 key[];		/* hc_key() */
};

#endif
