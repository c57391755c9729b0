/*
 * clock: the two clocks svcproxy reads, in the units it keeps.  Monotonic
 * for intervals, deadlines and ejections; wall clock for times shown to
 * people (/status, cells' last check).  Header-only: one call each.
 */
#ifndef SVCPROXY_CLOCK_H
#define SVCPROXY_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t
clock_mono_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static inline int64_t
clock_mono_ms(void)
{
	return clock_mono_us() / 1000;
}

static inline int64_t
clock_wall_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
