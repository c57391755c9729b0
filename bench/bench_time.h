/* Timing helpers shared by the C benchmarks in bench/ (header only). */
#ifndef SVCPROXY_BENCH_TIME_H
#define SVCPROXY_BENCH_TIME_H

#include <time.h>

/* Milliseconds on the monotonic clock. */
static inline double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* qsort comparator for doubles (medians). */
static inline int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

#endif
