/*
 * maglev_build: how long the "maglev" algorithm's build takes (sorting
 * the endpoints, hashing them, populating the table, all in a fresh
 * arena as a snapshot build does it) for 100, 1,000 and 10,000
 * endpoints at the default table of 65,537 entries and for 10,000 at
 * 655,373; round robin's weighted sequence at its worst; then, for
 * scale, what one pick costs with each algorithm on 100 idle endpoints
 * (one thread, no policy, no health checks).
 *
 *   make bench/maglev_build && bench/maglev_build [RUNS]
 *
 * Prints the median, min and max of RUNS builds (default 11) per size.
 * Not part of `make check`; timings are for bench/RESULTS.md only.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb.h"
#include "bench_time.h"

/* n endpoints 10.x.y.z:8080 (weight 1) over live, into eps. */
static void
make_eps(struct lb_ep *eps, size_t n, struct lb_livetab *live)
{
	size_t i;

	for (i = 0; i < n; i++) {
		memset(&eps[i], 0, sizeof(eps[i]));
		eps[i].addr.family = AF_INET;
		eps[i].addr.b[0] = 10;
		eps[i].addr.b[1] = (uint8_t)(i >> 16);
		eps[i].addr.b[2] = (uint8_t)(i >> 8);
		eps[i].addr.b[3] = (uint8_t)i;
		eps[i].port = 8080;
		eps[i].salen = ipaddr_sockaddr(&eps[i].addr, 8080, &eps[i].sa);
		eps[i].weight = 1;
		ipaddr_format_hostport(&eps[i].addr, 8080, eps[i].name,
		    sizeof(eps[i].name));
		if ((eps[i].live = lb_live_get(live, eps[i].name)) == NULL) {
			fprintf(stderr, "out of memory\n");
			exit(1);
		}
	}
}

/* The median, min and max of RUNS builds by ops (table m) over eps. */
static void
bench_build(const struct lb_ops *ops, struct lb_ep *eps, size_t n,
    uint32_t m, size_t runs)
{
	struct lb_set	 set;
	struct arena	 a;
	double		*ms, t0;
	size_t		 i;
	char		 err[256];

	if ((ms = calloc(runs, sizeof(*ms))) == NULL)
		exit(1);
	for (i = 0; i < runs; i++) {
		memset(&set, 0, sizeof(set));
		set.ops = ops;
		set.eps = eps;
		set.neps = n;
		set.table_size = m;
		arena_init(&a, 0);
		t0 = now_ms();
		if (set.ops->build(&set, &a, err, sizeof(err)) == -1) {
			fprintf(stderr, "build: %s\n", err);
			exit(1);
		}
		ms[i] = now_ms() - t0;
		arena_free(&a);
	}
	qsort(ms, runs, sizeof(*ms), cmp_double);
	printf("| %zu | %u | %.2f | %.2f - %.2f |\n", n, m, ms[runs / 2],
	    ms[0], ms[runs - 1]);
	free(ms);
}

/* ns per lb_pick + lb_release with ops over eps[0..n), one thread. */
static void
bench_pick(const struct lb_ops *ops, struct lb_ep *eps, size_t n)
{
	struct lb_set		 set;
	struct lb_flow		 fl;
	struct arena		 a;
	struct sockaddr_storage	 ss;
	struct ipaddr		 ca;
	struct lb_ep		*ep;
	double			 t0, el;
	size_t			 i, picks = 2000000;
	char			 err[256];

	memset(&set, 0, sizeof(set));
	set.ops = ops;
	set.eps = eps;
	set.neps = n;
	arena_init(&a, 0);
	if (ops->build(&set, &a, err, sizeof(err)) == -1) {
		fprintf(stderr, "build: %s\n", err);
		exit(1);
	}
	memset(&ca, 0, sizeof(ca));
	ca.family = AF_INET;
	ca.b[0] = 192;
	t0 = now_ms();
	for (i = 0; i < picks; i++) {
		ca.b[2] = (uint8_t)(i >> 8);
		ca.b[3] = (uint8_t)i;
		ipaddr_sockaddr(&ca, (uint16_t)(1024 + i), &ss);
		memset(&fl, 0, sizeof(fl));
		fl.client = (const struct sockaddr *)&ss;
		if ((ep = lb_pick(&set, &fl)) == NULL)
			exit(1);
		lb_release(&set, ep);
	}
	el = now_ms() - t0;
	printf("| %s | %zu | %.1f |\n", ops->name, n, el * 1e6 / picks);
	arena_free(&a);
}

int
main(int argc, char **argv)
{
	struct lb_livetab	 live;
	struct lb_ep		*eps;
	size_t			 runs, i;

	runs = argc > 1 ? (size_t)atoi(argv[1]) : 11;
	if (runs == 0)
		runs = 1;
	if ((eps = calloc(10000, sizeof(*eps))) == NULL)
		return 1;
	lb_livetab_init(&live);
	make_eps(eps, 10000, &live);
	printf("Maglev build, %zu runs (ms)\n\n", runs);
	printf("| endpoints | table | median | min - max |\n");
	printf("|---|---|---|---|\n");
	bench_build(&lb_maglev_ops, eps, 100, LB_MAGLEV_TABLE_DEFAULT, runs);
	bench_build(&lb_maglev_ops, eps, 1000, LB_MAGLEV_TABLE_DEFAULT, runs);
	bench_build(&lb_maglev_ops, eps, 10000, LB_MAGLEV_TABLE_DEFAULT,
	    runs);
	bench_build(&lb_maglev_ops, eps, 10000, LB_MAGLEV_TABLE_MAX, runs);
	/*
	 * Smooth weighted round robin's sequence, the worst case of its
	 * O(length * distinct weights): weights 1..1000 (after scaling to
	 * 65,536 entries, about 360 distinct ones).
	 */
	for (i = 0; i < 10000; i++)
		eps[i].weight = 1 + (uint32_t)(i % 1000);
	printf("\nRound robin's weighted sequence (weights 1 to 1000), %zu "
	    "runs (ms)\n\n", runs);
	printf("| endpoints | length cap | median | min - max |\n");
	printf("|---|---|---|---|\n");
	bench_build(&lb_rr_ops, eps, 1000, 65536, runs);
	bench_build(&lb_rr_ops, eps, 10000, 65536, runs);
	for (i = 0; i < 10000; i++)
		eps[i].weight = 1;
	printf("\nOne pick and release, one thread, 100 idle endpoints "
	    "(ns)\n\n");
	printf("| algorithm | endpoints | ns per pick |\n");
	printf("|---|---|---|\n");
	bench_pick(&lb_rr_ops, eps, 100);
	bench_pick(&lb_leastconn_ops, eps, 100);
	bench_pick(&lb_random2_ops, eps, 100);
	bench_pick(&lb_maglev_ops, eps, 100);
	lb_livetab_free(&live);
	free(eps);
	return 0;
}
