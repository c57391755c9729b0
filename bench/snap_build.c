/*
 * snap_build: how long building a snapshot takes on a real
 * configuration, and how much of it is NetworkPolicy compilation.
 * Loads PATH once (model_load), then reports the median of RUNS
 * snap_build() calls (policy table, endpoints' Pods, listeners, all in
 * one arena) and of RUNS pol_build() calls alone, and the arena size.
 *
 *   snap_build PATH [RUNS]
 *
 * Built and run by bench/policy_rate.py; not part of `make check`.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "diag.h"
#include "lb.h"
#include "model.h"
#include "policy.h"
#include "snapshot.h"
#include "bench_time.h"

int
main(int argc, char **argv)
{
	struct model		 m;
	struct diag_list	 dl;
	struct lb_livetab	 live;
	struct snap		*s;
	struct arena		 a;
	struct pol_table	 t;
	double			*snap_ms, *pol_ms, t0;
	size_t			 i, runs, nerr, used = 0, neps = 0, nisol = 0;
	char			 err[256];

	if (argc < 2) {
		fprintf(stderr, "usage: snap_build PATH [RUNS]\n");
		return 2;
	}
	runs = argc > 2 ? (size_t)atoi(argv[2]) : 5;
	if (runs == 0)
		runs = 1;
	diag_list_init(&dl);
	t0 = now_ms();
	nerr = model_load(&m, argv[1], &dl);
	printf("model_load: %.1f ms (%zu errors)\n", now_ms() - t0, nerr);
	if (nerr != 0) {
		diag_print(&dl, stderr);
		return 1;
	}
	snap_ms = calloc(runs, sizeof(*snap_ms));
	pol_ms = calloc(runs, sizeof(*pol_ms));
	if (snap_ms == NULL || pol_ms == NULL)
		return 1;
	lb_livetab_init(&live);
	for (i = 0; i < runs; i++) {
		t0 = now_ms();
		s = snap_build(&m.res, &live, NULL, err, sizeof(err));
		snap_ms[i] = now_ms() - t0;
		if (s == NULL) {
			fprintf(stderr, "snap_build: %s\n", err);
			return 1;
		}
		if (i == 0) {
			size_t j;

			used = s->arena.used;
			for (j = 0; j < s->nports; j++) {
				neps += s->ports[j].lb.neps;
				nisol += s->ports[j].pol_isolated != 0;
			}
			printf("snapshot: %zu Service ports, %zu endpoints, "
			    "%zu listeners, %u Pods, %u policies, %zu ports "
			    "with isolated endpoints\n", s->nports, neps,
			    s->nlsns, s->pol.npods, s->pol.npolicies, nisol);
		}
		snap_unref(s);
		arena_init(&a, 0);
		t0 = now_ms();
		if (pol_build(&t, &a, &m.set) == -1) {
			fprintf(stderr, "pol_build failed\n");
			return 1;
		}
		pol_ms[i] = now_ms() - t0;
		arena_free(&a);
	}
	qsort(snap_ms, runs, sizeof(*snap_ms), cmp_double);
	qsort(pol_ms, runs, sizeof(*pol_ms), cmp_double);
	printf("snap_build: median %.1f ms of %zu runs (min %.1f, max %.1f), "
	    "arena %zu KiB\n", snap_ms[runs / 2], runs, snap_ms[0],
	    snap_ms[runs - 1], used / 1024);
	printf("pol_build alone: median %.1f ms (min %.1f, max %.1f)\n",
	    pol_ms[runs / 2], pol_ms[0], pol_ms[runs - 1]);
	lb_livetab_free(&live);
	model_free(&m);
	diag_list_free(&dl);
	free(snap_ms);
	free(pol_ms);
	return 0;
}
