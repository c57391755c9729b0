/*
 * hc_scale: the health thread (health.c) at scale, without the rest of
 * svcproxy: N endpoints served by tests/integration/hcserver, checked
 * through hc_engine at one interval for a while.
 *
 *   hc_scale -b BASE -n N -p PORT -S HCSERVER_PID -d DUMP
 *            [-k tcp|http] [-i INTERVAL_MS] [-t SECONDS] [-w WARMUP_S]
 *            [-m MAX_INFLIGHT] [-B]
 *
 * After a warm-up (the jittered first checks spread over the first
 * interval), hcserver's counts are zeroed (SIGUSR2); after SECONDS they
 * are dumped (SIGUSR1) and read.  It prints one "key value" line per
 * figure: checks started, late_over_interval and late_ms_max from
 * hc_engine_stats, the gap between two checks of one endpoint as
 * hcserver saw it (max over endpoints, 99th percentile over all gaps),
 * the endpoints checked too rarely, and the health thread's CPU.
 *
 * Without -B (the test): exits 1 when a check ran late by more than one
 * interval (the engine's count, or a gap over two intervals at the
 * server), when an endpoint was checked less than it should have been,
 * or when a check failed; 77 (skip) instead when the health thread or
 * hcserver waited for a CPU a fifth of the time (other processes had
 * the machine: schedstat says so).  -B (bench mode) only reports.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/resource.h>
#include <sys/syscall.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "health.h"

struct opts {
	uint32_t	 base;		/* host order */
	uint32_t	 n;
	uint16_t	 port;
	pid_t		 server;
	const char	*dump;
	enum hc_kind	 kind;
	uint32_t	 interval_ms;
	unsigned	 seconds;
	unsigned	 warmup;
	unsigned	 inflight;
	int		 bench;
};

/* What hcserver's dump says. */
struct dump {
	uint64_t	 connections;
	uint64_t	 gaps;		/* gaps counted */
	uint64_t	 gap_p99_ms;
	uint64_t	 gap_p50_ms;
	int64_t		 maxgap_us;	/* over endpoints */
	uint64_t	 min_count;
	uint32_t	 addresses;	/* lines read */
	uint32_t	 rare;		/* checked too rarely */
};

static int64_t
mono_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
sleep_ms(int64_t ms)
{
	struct timespec	 ts = { ms / 1000, (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* CPU time (ms) of every thread of this process but the calling one:
   here, the health thread. */
static int64_t
others_cpu_ms(void)
{
	DIR		*d;
	struct dirent	*de;
	char		 path[300], buf[1024], *p;
	unsigned long	 ut, st;
	int64_t		 sum = 0;
	long		 me = (long)syscall(SYS_gettid), hz = sysconf(_SC_CLK_TCK);
	FILE		*f;

	if ((d = opendir("/proc/self/task")) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || atol(de->d_name) == me)
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/stat",
		    de->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		p = fgets(buf, sizeof(buf), f);
		fclose(f);
		/* Fields 14 and 15, counted after the ")" of the name. */
		if (p == NULL || (p = strrchr(buf, ')')) == NULL ||
		    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u "
		    "%*u %lu %lu", &ut, &st) != 2)
			continue;
		sum += (int64_t)(ut + st) * 1000 / hz;
	}
	closedir(d);
	return sum;
}

/* Time (ms) that pid's threads (pid 0: this process's others than the
   caller) spent runnable but waiting for a CPU (schedstat's second
   field): how much the rest of the machine took from them. */
static int64_t
runq_wait_ms(pid_t pid)
{
	DIR			*d;
	struct dirent		*de;
	char			 dir[64], path[400];
	unsigned long long	 run, wait;
	long			 me = (long)syscall(SYS_gettid);
	int64_t			 sum = 0;
	FILE			*f;

	snprintf(dir, sizeof(dir), pid == 0 ? "/proc/self/task" :
	    "/proc/%ld/task", (long)pid);
	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || (pid == 0 &&
		    atol(de->d_name) == me))
			continue;
		snprintf(path, sizeof(path), "%s/%s/schedstat", dir,
		    de->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		if (fscanf(f, "%llu %llu", &run, &wait) == 2)
			sum += (int64_t)(wait / 1000000);
		fclose(f);
	}
	closedir(d);
	return sum;
}

static int
read_dump(const struct opts *o, struct dump *r)
{
	FILE		*f;
	char		 line[256], ip[64];
	unsigned long long cnt, a, b, c, ms;
	uint64_t	*hist = NULL, acc;
	size_t		 hn = 0, i;
	uint64_t	 want;

	memset(r, 0, sizeof(r[0]));
	r->min_count = UINT64_MAX;
	if ((f = fopen(o->dump, "r")) == NULL)
		return -1;
	/* Checked at least once per 1.5 intervals on average. */
	want = (uint64_t)o->seconds * 1000 * 2 / 3 / o->interval_ms;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "connections %llu", &cnt) == 1)
			r->connections = cnt;
		else if (sscanf(line, "gap %llu %llu", &ms, &cnt) == 2) {
			if (ms >= hn) {
				uint64_t *h = realloc(hist, (ms + 1) *
				    sizeof(*h));

				if (h == NULL)
					break;
				memset(h + hn, 0, (ms + 1 - hn) * sizeof(*h));
				hist = h;
				hn = ms + 1;
			}
			hist[ms] += cnt;
			r->gaps += cnt;
		} else if (sscanf(line, "addr %63s %llu %llu %llu %llu", ip,
		    &cnt, &a, &b, &c) == 5) {
			r->addresses++;
			if ((int64_t)c > r->maxgap_us)
				r->maxgap_us = (int64_t)c;
			if (cnt < r->min_count)
				r->min_count = cnt;
			if (cnt < want)
				r->rare++;
		}
	}
	fclose(f);
	for (i = 0, acc = 0; i < hn; i++) {
		if (acc < r->gaps / 2 && acc + hist[i] >= r->gaps / 2)
			r->gap_p50_ms = i;
		if (acc < r->gaps * 99 / 100 &&
		    acc + hist[i] >= r->gaps * 99 / 100)
			r->gap_p99_ms = i;
		acc += hist[i];
	}
	free(hist);
	return 0;
}

/* Ask hcserver for its counts and wait (bounded) for the file. */
static int
fetch_dump(const struct opts *o, struct dump *r)
{
	int64_t	 t0 = mono_ms();

	unlink(o->dump);
	if (kill(o->server, SIGUSR1) == -1)
		return -1;
	while (access(o->dump, R_OK) == -1) {
		if (mono_ms() - t0 > 10000)
			return -1;
		sleep_ms(20);
	}
	return read_dump(o, r);
}

static void
usage(void)
{
	fprintf(stderr, "usage: hc_scale -b BASE -n N -p PORT -S PID -d DUMP "
	    "[-k tcp|http] [-i MS] [-t S] [-w S] [-m INFLIGHT] [-B]\n");
	exit(2);
}

static void
parse(int argc, char **argv, struct opts *o)
{
	struct in_addr	 in;
	int		 ch;

	memset(o, 0, sizeof(*o));
	o->kind = HC_TCP;
	o->interval_ms = 1000;
	o->seconds = 30;
	o->warmup = 2;
	o->inflight = HC_DEFAULT_INFLIGHT;
	while ((ch = getopt(argc, argv, "b:n:p:S:d:k:i:t:w:m:B")) != -1) {
		switch (ch) {
		case 'b':
			if (inet_pton(AF_INET, optarg, &in) != 1)
				usage();
			o->base = ntohl(in.s_addr);
			break;
		case 'n': o->n = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'p': o->port = (uint16_t)strtoul(optarg, NULL, 10); break;
		case 'S': o->server = (pid_t)strtol(optarg, NULL, 10); break;
		case 'd': o->dump = optarg; break;
		case 'k':
			if (strcmp(optarg, "tcp") == 0)
				o->kind = HC_TCP;
			else if (strcmp(optarg, "http") == 0)
				o->kind = HC_HTTP;
			else
				usage();
			break;
		case 'i':
			o->interval_ms = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 't': o->seconds = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'w': o->warmup = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'm': o->inflight = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'B': o->bench = 1; break;
		default: usage();
		}
	}
	if (o->n == 0 || o->port == 0 || o->server <= 0 || o->dump == NULL ||
	    o->interval_ms == 0 || o->seconds == 0 || (o->base >> 24) != 127)
		usage();
}

/* Targets for every address, in a table the caller frees. */
static struct hc_target *
targets(const struct opts *o, struct hc_celltab *tab,
    const struct hc_settings *set)
{
	struct hc_target	*t;
	struct sockaddr_in	*sin;
	char			 key[HC_KEY_MAX];
	uint32_t		 i;

	if ((t = calloc(o->n, sizeof(*t))) == NULL)
		return NULL;
	for (i = 0; i < o->n; i++) {
		sin = (struct sockaddr_in *)&t[i].sa;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(o->port);
		sin->sin_addr.s_addr = htonl(o->base + i);
		t[i].salen = sizeof(*sin);
		t[i].set = set;
		if (hc_key(key, sizeof(key), (struct sockaddr *)sin,
		    sizeof(*sin), set) == NULL ||
		    (t[i].cell = hc_celltab_get(tab, key)) == NULL) {
			free(t);
			return NULL;
		}
	}
	return t;
}

static uint64_t
failures(const struct hc_target *t, uint32_t n)
{
	uint64_t	 f = 0;
	uint32_t	 i;

	for (i = 0; i < n; i++)
		f += atomic_load(&t[i].cell->failures);
	return f;
}

/* Sum of the cells' latency histograms into h[HC_LAT_BUCKETS]. */
static void
latencies(const struct hc_target *t, uint32_t n, uint64_t *h)
{
	uint32_t	 i;
	size_t		 b;

	memset(h, 0, HC_LAT_BUCKETS * sizeof(*h));
	for (i = 0; i < n; i++)
		for (b = 0; b < HC_LAT_BUCKETS; b++)
			h[b] += atomic_load(&t[i].cell->latency[b]);
}

/* The bucket bound (ms) under which share (percent) of h1 - h0 lies;
   -1: over the last bound. */
static long
lat_pct(const uint64_t *h0, const uint64_t *h1, unsigned share)
{
	static const long	 bounds[] = HC_LAT_BOUNDS_MS;
	uint64_t		 tot = 0, acc = 0;
	size_t			 b;

	for (b = 0; b < HC_LAT_BUCKETS; b++)
		tot += h1[b] - h0[b];
	for (b = 0; b < HC_LAT_BUCKETS - 1; b++) {
		acc += h1[b] - h0[b];
		if (acc * 100 >= tot * share)
			return bounds[b];
	}
	return -1;
}

int
main(int argc, char **argv)
{
	struct opts		 o;
	struct hc_settings	 set;
	struct hc_celltab	 tab;
	struct hc_target	*t;
	struct hc_engine	*e;
	struct hc_engine_stats	 s0, s1;
	struct dump		 d;
	struct rlimit		 rl;
	char			 err[256];
	int64_t			 cpu0, cpu1, t0, t1, wt0, wt1, ws0, ws1;
	uint64_t		 fails0, fails1, late_lim;
	uint64_t		 lat0[HC_LAT_BUCKETS], lat1[HC_LAT_BUCKETS];
	int			 bad = 0;

	parse(argc, argv, &o);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	memset(&set, 0, sizeof(set));
	set.kind = o.kind;
	set.interval_ms = o.interval_ms;
	set.timeout_ms = o.interval_ms;
	set.rise = HC_DEFAULT_RISE;
	set.fall = HC_DEFAULT_FALL;
	hc_celltab_init(&tab);
	if ((t = targets(&o, &tab, &set)) == NULL) {
		fprintf(stderr, "hc_scale: out of memory\n");
		return 1;
	}
	if ((e = hc_engine_new(o.inflight, NULL, NULL, err,
	    sizeof(err))) == NULL || hc_engine_start(e, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "hc_scale: %s\n", err);
		return 1;
	}
	if (hc_engine_want(e, t, o.n) == -1) {
		fprintf(stderr, "hc_scale: out of memory\n");
		return 1;
	}
	sleep_ms((int64_t)o.warmup * 1000);

	/* The measured span: from the zeroed counts to the dump. */
	if (kill(o.server, SIGUSR2) == -1) {
		fprintf(stderr, "hc_scale: hcserver %ld: %s\n",
		    (long)o.server, strerror(errno));
		return 1;
	}
	hc_engine_stats(e, &s0);
	fails0 = failures(t, o.n);
	latencies(t, o.n, lat0);
	cpu0 = others_cpu_ms();
	wt0 = runq_wait_ms(0);
	ws0 = runq_wait_ms(o.server);
	t0 = mono_ms();
	sleep_ms((int64_t)o.seconds * 1000);
	t1 = mono_ms();
	cpu1 = others_cpu_ms();
	wt1 = runq_wait_ms(0);
	ws1 = runq_wait_ms(o.server);
	hc_engine_stats(e, &s1);
	fails1 = failures(t, o.n);
	latencies(t, o.n, lat1);
	if (fetch_dump(&o, &d) == -1) {
		fprintf(stderr, "hc_scale: no dump from hcserver\n");
		return 1;
	}
	hc_engine_free(e);

	printf("endpoints %u\nkind %s\ninterval_ms %u\nseconds %.1f\n", o.n,
	    o.kind == HC_TCP ? "tcp" : "http", o.interval_ms,
	    (t1 - t0) / 1000.0);
	printf("started %llu\nrate_per_s %.0f\n",
	    (unsigned long long)(s1.started - s0.started),
	    (s1.started - s0.started) * 1000.0 / (double)(t1 - t0));
	printf("failed %llu\nqueued %llu\n",
	    (unsigned long long)(fails1 - fails0),
	    (unsigned long long)(s1.queued - s0.queued));
	printf("check_latency_p50_le_ms %ld\ncheck_latency_p99_le_ms %ld\n",
	    lat_pct(lat0, lat1, 50), lat_pct(lat0, lat1, 99));
	printf("late_over_interval %llu\nlate_ms_max %llu\n",
	    (unsigned long long)s1.late_over_interval,
	    (unsigned long long)s1.late_ms_max);
	printf("server_connections %llu\nserver_gap_p50_ms %llu\n"
	    "server_gap_p99_ms %llu\nserver_gap_max_ms %lld\n"
	    "server_min_count %llu\nserver_rare %u\n",
	    (unsigned long long)d.connections,
	    (unsigned long long)d.gap_p50_ms,
	    (unsigned long long)d.gap_p99_ms, (long long)d.maxgap_us / 1000,
	    (unsigned long long)d.min_count, d.rare);
	printf("lateness_p99_ms %lld\n", (long long)d.gap_p99_ms -
	    (long long)o.interval_ms);
	printf("thread_cpu_ms %lld\nthread_cpu_percent %.1f\n",
	    (long long)(cpu1 - cpu0), (cpu1 - cpu0) * 100.0 /
	    (double)(t1 - t0));
	printf("thread_runq_wait_percent %.1f\nserver_runq_wait_percent "
	    "%.1f\n", (wt1 - wt0) * 100.0 / (double)(t1 - t0),
	    (ws1 - ws0) * 100.0 / (double)(t1 - t0));
	free(t);
	hc_celltab_free(&tab);
	if (o.bench)
		return 0;

	late_lim = 2 * (uint64_t)o.interval_ms;
	if (s1.late_over_interval != 0) {
		printf("FAIL: %llu checks started over one interval late\n",
		    (unsigned long long)s1.late_over_interval);
		bad = 1;
	}
	if (d.addresses != o.n || (uint64_t)d.maxgap_us / 1000 > late_lim) {
		printf("FAIL: an endpoint went %lld ms between checks "
		    "(limit %llu)\n", (long long)d.maxgap_us / 1000,
		    (unsigned long long)late_lim);
		bad = 1;
	}
	if (d.rare != 0) {
		printf("FAIL: %u endpoints checked too rarely (fewest: %llu "
		    "checks in %u s)\n", d.rare,
		    (unsigned long long)d.min_count, o.seconds);
		bad = 1;
	}
	if (fails1 != fails0) {
		printf("FAIL: %llu checks failed\n",
		    (unsigned long long)(fails1 - fails0));
		bad = 1;
	}
	/* Late because other processes held the CPUs (waiting to run for
	   a fifth of the time), not because the engine was slow: a
	   busy machine, not a failure.  A slow engine runs, it does not
	   wait, so this does not hide one. */
	if (bad && ((wt1 - wt0) * 5 > t1 - t0 || (ws1 - ws0) * 5 >
	    t1 - t0)) {
		printf("SKIP: the machine is too busy: the health thread "
		    "waited %.1f s and hcserver %.1f s of %.1f s for a CPU\n",
		    (wt1 - wt0) / 1000.0, (ws1 - ws0) / 1000.0,
		    (t1 - t0) / 1000.0);
		return 77;
	}
	return bad;
}
