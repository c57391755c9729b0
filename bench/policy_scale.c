/*
 * policy_scale: how long NetworkPolicy compilation (pol_build) and the
 * per-connection verdict (pol_judge) take on a real configuration.
 * Loads and validates PATH once, then reports the median of RUNS
 * compilations and the mean cost of one verdict over many flows
 * between random Pods (and random outside addresses).
 *
 *   policy_scale PATH [RUNS]
 *
 * Built and run by bench/policy_scale.sh; not part of `make check`.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "diag.h"
#include "load.h"
#include "policy.h"
#include "val.h"
#include "bench_time.h"

#define JUDGE_FLOWS	2000000

/* xorshift64: deterministic flows. */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

int
main(int argc, char **argv)
{
	struct kset		 set;
	struct diag_list	 dl;
	struct pcfg		 pcfg;
	struct arena		 a;
	struct pol_table	 t;
	struct pol_flow		 f;
	struct pol_verdict	 v;
	double			*ms, t0, judge_ms;
	uint64_t		 seed = 0x9e3779b97f4a7c15ULL, allowed = 0;
	size_t			 i, nerr, rules = 0, runs;
	uint32_t		 j, k;

	if (argc < 2) {
		fprintf(stderr, "usage: policy_scale PATH [RUNS]\n");
		return 2;
	}
	runs = argc > 2 ? (size_t)atoi(argv[2]) : 5;
	if (runs == 0)
		runs = 1;
	kset_init(&set);
	diag_list_init(&dl);
	t0 = now_ms();
	load_path(&set, argv[1], &dl);
	nerr = val_all(&set, &pcfg, &dl);
	printf("load+validate: %.1f ms (%zu errors)\n", now_ms() - t0, nerr);
	if ((ms = calloc(runs, sizeof(*ms))) == NULL)
		return 1;
	for (i = 0; i < runs; i++) {
		arena_init(&a, 0);
		t0 = now_ms();
		if (pol_build(&t, &a, &set) == -1) {
			fprintf(stderr, "pol_build failed\n");
			return 1;
		}
		ms[i] = now_ms() - t0;
		if (i + 1 < runs)
			arena_free(&a);
	}
	qsort(ms, runs, sizeof(*ms), cmp_double);
	for (j = 0; j < t.npolicies; j++)
		rules += t.policies[j].nrules[0] + t.policies[j].nrules[1];
	printf("pods %u, policies %u, rules %zu, isolated ingress %u, "
	    "egress %u\n", t.npods, t.npolicies, rules,
	    t.nisolated[POL_INGRESS], t.nisolated[POL_EGRESS]);
	printf("pol_build: median %.1f ms of %zu runs (min %.1f, max %.1f), "
	    "arena %zu KiB\n", ms[runs / 2], runs, ms[0], ms[runs - 1],
	    a.used / 1024);
	t0 = now_ms();
	for (i = 0; i < JUDGE_FLOWS && t.npods > 0; i++) {
		memset(&f, 0, sizeof(f));
		j = (uint32_t)(rnd(&seed) % t.npods);
		k = (uint32_t)(rnd(&seed) % t.npods);
		f.src_pod = j;
		f.dst_pod = k;
		if (t.pods[j].naddr > 0)
			f.src = t.pods[j].addr[0];
		if (i % 4 == 0) {	/* an outside client */
			f.src.family = AF_INET;
			f.src.b[0] = 192;
			f.src.b[3] = (uint8_t)rnd(&seed);
			f.src_pod = pol_pod_by_addr(&t, &f.src);
		}
		if (t.pods[k].naddr > 0)
			f.dst = t.pods[k].addr[0];
		f.port = (uint16_t)(rnd(&seed) % 2 ? 8080 : 443);
		f.proto = PROTO_TCP;
		allowed += (uint64_t)pol_judge(&t, &f, &v);
	}
	judge_ms = now_ms() - t0;
	printf("pol_judge: %d flows in %.1f ms, %.0f ns each, %.1f%% "
	    "allowed\n", JUDGE_FLOWS, judge_ms, judge_ms * 1e6 / JUDGE_FLOWS,
	    100.0 * (double)allowed / JUDGE_FLOWS);
	arena_free(&a);
	free(ms);
	kset_free(&set);
	diag_list_free(&dl);
	return 0;
}
