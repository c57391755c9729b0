/*
 * udp_load: a UDP request/response load generator for bench/udp.py.
 *
 *   udp_load -t ADDR:PORT [-b FIRST_SOURCE] [-f FLOWS] [-w WINDOW]
 *            [-s SIZE] [-d SECONDS] [-W WARMUP] [-n MAX] [-T LOSS_MS]
 *            [-r RATE]
 *
 * FLOWS client sockets (default 1), each bound to its own loopback
 * address (FIRST_SOURCE, the next, ...; addresses ending in .0 or .255
 * are skipped) with a kernel-chosen port and connected to ADDR:PORT, so
 * every flow is a distinct client to the proxy, and a reply from any
 * other address than the one sent to is not received.  Each flow keeps
 * WINDOW requests of SIZE bytes in flight (closed loop: a reply sends
 * the next request); a request carries its flow, its slot in the
 * window, a sequence number and its send time, which the echo server
 * (udp_echo.c) returns.
 *
 * A request with no reply after LOSS_MS (default 200) is counted lost
 * and its slot sends a new one; a late reply to it is ignored.  A
 * datagram a proxy drops (a full socket buffer) so costs its slot
 * LOSS_MS, as it would cost a real client its retry timer.
 *
 * With -r RATE it is an open loop instead: RATE requests per second in
 * all, one flow after the other (a flow whose WINDOW is full is
 * skipped; a request due when all are full is not sent but counted as
 * held), whatever the replies do: the latency at a given load, rather
 * than at the most the path can carry.
 *
 * It runs WARMUP + SECONDS (default 0.5 + 5) and stops sending early
 * after MAX requests (0: no bound).  Replies received in the SECONDS
 * after the warm-up are counted and their latency (send to receive,
 * 100 ns buckets, up to 100 ms) kept.  At the end it prints, one per
 * line, "key value": flows window size seconds sent replies
 * replies_all lost errors rate p50_us p90_us p99_us p999_us max_us
 * beyond_100ms held cpu_pct (the rate is replies per second in the
 * measured window, replies_all counts the warm-up too, cpu_pct is its
 * own user+system CPU over the whole run).
 *
 * Loopback only: the target and the sources must be in 127.0.0.0/8.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH		64		/* datagrams per recvmmsg/sendmmsg */
#define HIST_NS		100		/* histogram bucket */
#define HIST_N		1000000		/* buckets: up to 100 ms */
#define SIZE_MAX_DG	65000

/* What a request carries; the rest of its SIZE bytes is filler. */
struct hdr {
	uint32_t	flow;
	uint16_t	slot;
	uint16_t	pad;
	uint32_t	seq;		/* of the slot's request */
	uint32_t	pad2;
	int64_t		t_ns;		/* sent */
};

/* One request in flight, or a free slot (t_ns 0). */
struct slot {
	uint32_t	seq;
	int64_t		t_ns;
};

struct flow {
	int		 fd;
	int		 inflight;
	struct slot	 slots[64];	/* BATCH */
};

struct load {
	struct flow	*flows;
	int		 nflows;
	int		 window;
	size_t		 size;
	int64_t		 t_meas, t_end;	/* measured window */
	uint64_t	 max;		/* requests, 0: no bound */
	uint64_t	 sent, replies, replies_all, lost, errors;
	uint32_t	 seq;		/* the last request's */
	double		 rate;		/* -r: requests/s, 0: closed loop */
	int64_t		 t0;
	uint64_t	 paced, held;	/* -r: requests due, not sent */
	uint32_t	 next;		/* -r: the flow sent to last */
	uint32_t	*hist;
	uint64_t	 over;		/* beyond the histogram */
	int64_t		 max_ns;
	char		*out;		/* BATCH send buffers */
	char		*in;		/* BATCH receive buffers */
};

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void
usage(void)
{
	fprintf(stderr, "usage: udp_load -t ADDR:PORT [-b FIRST_SOURCE] "
	    "[-f FLOWS] [-w WINDOW] [-s SIZE] [-d SECONDS] [-W WARMUP] "
	    "[-n MAX] [-T LOSS_MS] [-r RATE]\n");
	exit(2);
}

static int
parse_addr(const char *s, struct sockaddr_in *sin)
{
	char		 host[64];
	const char	*colon;
	long		 port;

	if ((colon = strrchr(s, ':')) == NULL ||
	    (size_t)(colon - s) >= sizeof(host))
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	port = strtol(colon + 1, NULL, 10);
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	if (port <= 0 || port > 65535 ||
	    inet_pton(AF_INET, host, &sin->sin_addr) != 1 ||
	    (ntohl(sin->sin_addr.s_addr) >> 24) != 127)
		return -1;
	return 0;
}

/*
 * Send what fl's window lacks, at most limit, in one sendmmsg; the
 * number sent.
 */
static int
send_some(struct load *L, uint32_t idx, int64_t now, int limit)
{
	struct flow	*fl = &L->flows[idx];
	struct mmsghdr	 msgs[BATCH];
	struct iovec	 iov[BATCH];
	struct hdr	 h;
	uint16_t	 used[BATCH];
	int		 i, n, r;

	if (now >= L->t_end || fl->inflight >= L->window)
		return 0;
	memset(&h, 0, sizeof(h));
	memset(msgs, 0, sizeof(msgs));
	for (i = n = 0; i < L->window && n < limit; i++) {
		if (fl->slots[i].t_ns != 0)
			continue;
		if (L->max != 0 && L->sent + (uint64_t)n >= L->max)
			break;
		fl->slots[i].seq = ++L->seq;
		fl->slots[i].t_ns = now;
		h.flow = idx;
		h.slot = (uint16_t)i;
		h.seq = fl->slots[i].seq;
		h.t_ns = now;
		memcpy(L->out + (size_t)n * L->size, &h, sizeof(h));
		iov[n].iov_base = L->out + (size_t)n * L->size;
		iov[n].iov_len = L->size;
		msgs[n].msg_hdr.msg_iov = &iov[n];
		msgs[n].msg_hdr.msg_iovlen = 1;
		used[n++] = (uint16_t)i;
	}
	if (n == 0)
		return 0;
	r = sendmmsg(fl->fd, msgs, (unsigned)n, MSG_DONTWAIT);
	if (r < 0) {
		L->errors++;
		r = 0;
	}
	/* Not sent: free again, tried at the next reply or sweep. */
	for (i = r; i < n; i++)
		fl->slots[used[i]].t_ns = 0;
	fl->inflight += r;
	L->sent += (uint64_t)r;
	return r;
}

/* Closed loop: a reply (or a loss) sends the next request at once. */
static void
refill(struct load *L, uint32_t idx, int64_t now)
{
	if (L->rate == 0)
		(void)send_some(L, idx, now, L->window);
}

/*
 * Open loop (-r): send what the rate asks for by now, one request per
 * flow in turn, to flows with a free slot; a request due while every
 * window is full is not sent, and counted (held).
 */
static void
pace(struct load *L, int64_t now)
{
	uint64_t	due;
	int		tried;

	due = (uint64_t)((double)(now - L->t0) / 1e9 * L->rate);
	while (L->paced < due) {
		for (tried = 0; tried < L->nflows; tried++) {
			L->next = (L->next + 1) % (uint32_t)L->nflows;
			if (send_some(L, L->next, now, 1) == 1)
				break;
		}
		if (tried == L->nflows) {
			/* Every window full: the rest is held, not looped. */
			L->held += due - L->paced;
			L->paced = due;
			break;
		}
		L->paced++;
	}
}

static void
record(struct load *L, int64_t lat)
{
	int64_t b = lat / HIST_NS;

	if (lat > L->max_ns)
		L->max_ns = lat;
	if (b < 0)
		b = 0;
	if (b >= HIST_N)
		L->over++;
	else
		L->hist[b]++;
}

/* Read fl's replies until none is left, then refill its window. */
static void
drain(struct load *L, uint32_t idx)
{
	struct flow	*fl = &L->flows[idx];
	struct mmsghdr	 msgs[BATCH];
	struct iovec	 iov[BATCH];
	struct hdr	 h;
	int64_t		 now;
	int		 i, n;

	for (;;) {
		memset(msgs, 0, sizeof(msgs));
		for (i = 0; i < BATCH; i++) {
			iov[i].iov_base = L->in + (size_t)i * L->size;
			iov[i].iov_len = L->size;
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
		}
		n = recvmmsg(fl->fd, msgs, BATCH, MSG_DONTWAIT, NULL);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR)
				L->errors++;	/* ECONNREFUSED: nobody there */
			break;
		}
		now = now_ns();
		for (i = 0; i < n; i++) {
			if (msgs[i].msg_len < sizeof(h))
				continue;
			memcpy(&h, iov[i].iov_base, sizeof(h));
			if (h.flow != idx || h.slot >= L->window ||
			    fl->slots[h.slot].t_ns == 0 ||
			    fl->slots[h.slot].seq != h.seq)
				continue;	/* counted as lost already */
			fl->slots[h.slot].t_ns = 0;
			fl->inflight--;
			L->replies_all++;
			if (now >= L->t_meas && now < L->t_end) {
				L->replies++;
				record(L, now - h.t_ns);
			}
		}
		if (n < BATCH)
			break;
	}
	refill(L, idx, now_ns());
}

/* Requests unanswered for loss_ns: count them lost, send anew. */
static void
sweep(struct load *L, int64_t now, int64_t loss_ns)
{
	struct flow	*fl;
	int		 i, j, any;

	for (i = 0; i < L->nflows; i++) {
		fl = &L->flows[i];
		for (j = any = 0; j < L->window; j++) {
			if (fl->slots[j].t_ns != 0 &&
			    now - fl->slots[j].t_ns > loss_ns) {
				fl->slots[j].t_ns = 0;
				fl->inflight--;
				L->lost++;
				any = 1;
			}
		}
		if (any)
			refill(L, (uint32_t)i, now);	/* closed loop only */
	}
}

static double
pct_us(const struct load *L, double p)
{
	uint64_t	total = L->replies, want, acc = 0;
	int		i;

	if (total == 0)
		return 0;
	want = (uint64_t)((double)total * p / 100.0);
	if (want < 1)
		want = 1;
	for (i = 0; i < HIST_N; i++) {
		acc += L->hist[i];
		if (acc >= want)
			return (i + 0.5) * HIST_NS / 1000.0;
	}
	return L->max_ns / 1000.0;
}

int
main(int argc, char **argv)
{
	struct load		 L;
	struct sockaddr_in	 target, src;
	struct epoll_event	 ev, evs[256];
	struct rusage		 ru;
	uint32_t		 base, a;
	double			 secs = 5, warm = 0.5, cpu;
	int64_t			 t0, now, last_sweep, loss_ns = 200000000;
	int			 c, i, n, ep, have_target = 0;

	memset(&L, 0, sizeof(L));
	L.nflows = 1;
	L.window = 1;
	L.size = 64;
	inet_pton(AF_INET, "127.93.0.1", &src.sin_addr);
	while ((c = getopt(argc, argv, "t:b:f:w:s:d:W:n:T:r:")) != -1) {
		switch (c) {
		case 't':
			if (parse_addr(optarg, &target) == -1)
				usage();
			have_target = 1;
			break;
		case 'b':
			if (inet_pton(AF_INET, optarg, &src.sin_addr) != 1)
				usage();
			break;
		case 'f':
			L.nflows = atoi(optarg);
			break;
		case 'w':
			L.window = atoi(optarg);
			break;
		case 's':
			L.size = (size_t)atol(optarg);
			break;
		case 'd':
			secs = atof(optarg);
			break;
		case 'W':
			warm = atof(optarg);
			break;
		case 'n':
			L.max = (uint64_t)atoll(optarg);
			break;
		case 'T':
			loss_ns = (int64_t)(atof(optarg) * 1e6);
			break;
		case 'r':
			L.rate = atof(optarg);
			break;
		default:
			usage();
		}
	}
	base = ntohl(src.sin_addr.s_addr);
	if (!have_target || L.nflows < 1 || L.nflows > 60000 ||
	    L.window < 1 || L.window > BATCH || L.size < sizeof(struct hdr) ||
	    L.size > SIZE_MAX_DG || secs <= 0 || warm < 0 || loss_ns <= 0 ||
	    L.rate < 0 ||
	    (base >> 24) != 127)
		usage();
	if ((L.flows = calloc((size_t)L.nflows, sizeof(*L.flows))) == NULL ||
	    (L.hist = calloc(HIST_N, sizeof(*L.hist))) == NULL ||
	    (L.out = calloc(BATCH, L.size)) == NULL ||
	    (L.in = calloc(BATCH, L.size)) == NULL) {
		perror("calloc");
		return 1;
	}
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		perror("epoll_create1");
		return 1;
	}
	a = base;
	for (i = 0; i < L.nflows; i++) {
		while ((a & 255) == 0 || (a & 255) == 255)
			a++;
		if ((a >> 24) != 127) {
			fprintf(stderr, "udp_load: sources leave 127/8\n");
			return 1;
		}
		memset(&src, 0, sizeof(src));
		src.sin_family = AF_INET;
		src.sin_addr.s_addr = htonl(a++);
		L.flows[i].fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
		if (L.flows[i].fd == -1 || bind(L.flows[i].fd,
		    (struct sockaddr *)&src, sizeof(src)) == -1 ||
		    connect(L.flows[i].fd, (struct sockaddr *)&target,
		    sizeof(target)) == -1) {
			perror("udp_load: socket");
			return 1;
		}
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.u32 = (uint32_t)i;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, L.flows[i].fd, &ev) == -1) {
			perror("epoll_ctl");
			return 1;
		}
	}
	t0 = L.t0 = now_ns();
	L.t_meas = t0 + (int64_t)(warm * 1e9);
	L.t_end = L.t_meas + (int64_t)(secs * 1e9);
	for (i = 0; i < L.nflows; i++)
		refill(&L, (uint32_t)i, now_ns());
	last_sweep = t0;
	while ((now = now_ns()) < L.t_end) {
		n = epoll_wait(ep, evs, 256, L.rate > 0 ? 1 : 10);
		for (i = 0; i < n; i++)
			drain(&L, evs[i].data.u32);
		now = now_ns();
		if (L.rate > 0)
			pace(&L, now);
		if (now - last_sweep > 10000000) {
			sweep(&L, now, loss_ns);
			last_sweep = now;
		}
	}
	getrusage(RUSAGE_SELF, &ru);
	cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	printf("flows %d\nwindow %d\nsize %zu\nseconds %.3f\n", L.nflows,
	    L.window, L.size, secs);
	printf("sent %llu\nreplies %llu\nreplies_all %llu\nlost %llu\n"
	    "errors %llu\n", (unsigned long long)L.sent,
	    (unsigned long long)L.replies, (unsigned long long)L.replies_all,
	    (unsigned long long)L.lost, (unsigned long long)L.errors);
	printf("rate %.0f\n", L.replies / secs);
	printf("p50_us %.1f\np90_us %.1f\np99_us %.1f\np999_us %.1f\n"
	    "max_us %.1f\n", pct_us(&L, 50), pct_us(&L, 90), pct_us(&L, 99),
	    pct_us(&L, 99.9), L.max_ns / 1000.0);
	printf("beyond_100ms %llu\nheld %llu\n", (unsigned long long)L.over,
	    (unsigned long long)L.held);
	printf("cpu_pct %.1f\n", 100.0 * cpu /
	    ((now_ns() - t0) / 1e9));
	return 0;
}
