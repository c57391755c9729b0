/*
 * hcserver: one small, fast backend standing for many endpoints, for
 * the health checking tests and bench/health.py.
 *
 *   hcserver -b 127.90.0.1 -n 10000 -p PORT [-s STATUS] [-c CONTROL]
 *            [-d DUMP] [-r READY] [-P]
 *
 * It listens on N consecutive loopback addresses from the base, one
 * socket each, on one port, and answers every connection that sends
 * something (an HTTP request) with "HTTP/1.1 STATUS" and a close;
 * a connection that sends nothing (a TCP check) is closed when its
 * client closes.  An address may instead be "silent": it accepts and
 * never answers, as a hung backend does.
 *
 * What is counted: each accepted connection, or with -P each SYN to an
 * address (seen on lo through a packet socket: needs CAP_NET_RAW).  -P
 * counts checks that end before the handshake does, as HAProxy's plain
 * TCP check (SYN, SYN-ACK, RST, with the last ACK held back) never
 * reaches accept().
 *
 * Signals, handled in the loop through a signalfd:
 *   SIGUSR1  write the counts to DUMP (through DUMP.tmp and a rename,
 *            so a reader that waits for DUMP sees all of it)
 *   SIGUSR2  zero the counts (a bench's warm-up ends)
 *   SIGHUP   read CONTROL: lines "ADDRESS|all STATUS|silent", applied
 *            in order
 *   SIGTERM, SIGINT  exit
 *
 * The dump: "now_us T", "addresses N", "connections C", "gap MS K"
 * lines (a histogram of the gaps between two connections to the same
 * address, in whole milliseconds, over all addresses), then one line
 * per address: "addr IP COUNT FIRST_US LAST_US MAXGAP_US" (monotonic
 * clock, microseconds), and "end".
 *
 * Loopback only: the base must be in 127.0.0.0/8.  The open-file soft
 * limit is raised to the hard one; N listeners need N descriptors.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* accept4; built alone by bench/health.py too */
#endif

#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>

#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define GAP_MAX_MS	60000		/* longer gaps land in the last */
#define CONN_TAG	(1ULL << 62)
#define SIG_TAG		(1ULL << 61)
#define PKT_TAG		(1ULL << 60)

struct addr {
	int		 fd;
	int		 status;	/* 0: silent */
	uint64_t	 count;
	int64_t		 first_us;
	int64_t		 last_us;
	int64_t		 maxgap_us;
};

struct srv {
	struct addr	*a;		/* owned, n of them */
	uint32_t	 n;
	uint32_t	 base;		/* host order */
	uint64_t	 total;
	uint64_t	*gaps;		/* owned, GAP_MAX_MS + 1 */
	const char	*dump;
	const char	*control;
	int		 ep;
	int		 syns;		/* -P: count SYNs, not accepts */
};

static int64_t
mono_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
fatal(const char *what)
{
	fprintf(stderr, "hcserver: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void
usage(void)
{
	fprintf(stderr, "usage: hcserver -b BASE -n N -p PORT [-s STATUS] "
	    "[-c CONTROL] [-d DUMP] [-r READY] [-P]\n");
	exit(2);
}

static void
raise_nofile(void)
{
	struct rlimit	 rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void
listen_all(struct srv *s, uint16_t port)
{
	struct sockaddr_in	 sin;
	struct epoll_event	 ev;
	uint32_t		 i;
	int			 fd, one = 1;

	for (i = 0; i < s->n; i++) {
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons(port);
		sin.sin_addr.s_addr = htonl(s->base + i);
		fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
		if (fd == -1)
			fatal("socket (is the open-file limit high enough?)");
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
			char	 ip[INET_ADDRSTRLEN];

			inet_ntop(AF_INET, &sin.sin_addr, ip, sizeof(ip));
			fprintf(stderr, "hcserver: bind %s:%u: %s\n", ip,
			    port, strerror(errno));
			exit(1);
		}
		if (listen(fd, 4096) == -1)
			fatal("listen");
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.u64 = i;
		if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev) == -1)
			fatal("epoll_ctl");
		s->a[i].fd = fd;
	}
}

static void
count(struct srv *s, struct addr *a, int64_t now)
{
	int64_t	 gap, ms;

	s->total++;
	if (a->count++ == 0) {
		a->first_us = a->last_us = now;
		return;
	}
	gap = now - a->last_us;
	a->last_us = now;
	if (gap > a->maxgap_us)
		a->maxgap_us = gap;
	ms = gap / 1000;
	s->gaps[ms > GAP_MAX_MS ? GAP_MAX_MS : ms]++;
}

static void
accept_all(struct srv *s, uint32_t i)
{
	struct epoll_event	 ev;
	int			 fd;

	while ((fd = accept4(s->a[i].fd, NULL, NULL,
	    SOCK_NONBLOCK | SOCK_CLOEXEC)) != -1) {
		if (!s->syns)
			count(s, &s->a[i], mono_us());
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN | EPOLLRDHUP;
		ev.data.u64 = CONN_TAG | (uint64_t)fd << 32 | i;
		if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev) == -1)
			close(fd);
	}
	/* Out of descriptors: the connection stays queued and the
	   listener readable; the next round tries again. */
}

/*
 * A packet socket on lo that gets only the SYNs to port (a classic BPF
 * filter: TCP, first fragment, destination port, SYN without ACK).
 */
static int
syn_socket(struct srv *s, uint16_t port)
{
	struct sock_filter	 f[] = {
		BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 9),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_TCP, 0, 8),
		BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 6),
		BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x1fff, 6, 0),
		BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0),
		BPF_STMT(BPF_LD | BPF_H | BPF_IND, 2),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, port, 0, 3),
		BPF_STMT(BPF_LD | BPF_B | BPF_IND, 13),
		BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0x12),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x02, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, 0),
		BPF_STMT(BPF_RET | BPF_K, 64),
	};
	struct sock_fprog	 prog = { sizeof(f) / sizeof(f[0]), f };
	struct sockaddr_ll	 sll;
	struct epoll_event	 ev;
	int			 fd;

	fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    htons(ETH_P_IP));
	if (fd == -1)
		fatal("packet socket (-P needs CAP_NET_RAW)");
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog,
	    sizeof(prog)) == -1)
		fatal("SO_ATTACH_FILTER");
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_IP);
	sll.sll_ifindex = (int)if_nametoindex("lo");
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) == -1)
		fatal("bind lo");
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.u64 = PKT_TAG;
	if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev) == -1)
		fatal("epoll_ctl");
	return fd;
}

/* SYNs that arrived (each is seen leaving too: counted once). */
static void
syn_read(struct srv *s, int fd)
{
	unsigned char		 pkt[64];
	struct sockaddr_ll	 sll;
	socklen_t		 len;
	uint32_t		 dst;
	ssize_t			 n;

	for (;;) {
		len = sizeof(sll);
		n = recvfrom(fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&sll,
		    &len);
		if (n == -1)
			return;
		if (n < 20 || sll.sll_pkttype == PACKET_OUTGOING)
			continue;
		dst = (uint32_t)pkt[16] << 24 | (uint32_t)pkt[17] << 16 |
		    (uint32_t)pkt[18] << 8 | pkt[19];
		if (dst >= s->base && dst - s->base < s->n)
			count(s, &s->a[dst - s->base], mono_us());
	}
}

static void
conn_event(struct srv *s, uint64_t d, uint32_t events)
{
	char		 buf[2048], rsp[128];
	int		 fd = (int)(uint32_t)(d >> 32 & 0x3fffffff);
	struct addr	*a = &s->a[(uint32_t)d];
	ssize_t		 n;
	int		 len;

	n = read(fd, buf, sizeof(buf));
	if (n > 0 && a->status != 0) {
		len = snprintf(rsp, sizeof(rsp), "HTTP/1.1 %d %s\r\n"
		    "Content-Length: 0\r\nConnection: close\r\n\r\n",
		    a->status, a->status < 400 ? "OK" : "Unavailable");
		(void)!write(fd, rsp, (size_t)len);
		close(fd);	/* also leaves the epoll set */
		return;
	}
	if (n > 0 || (n == -1 && errno == EAGAIN && !(events &
	    (EPOLLRDHUP | EPOLLHUP | EPOLLERR))))
		return;		/* silent, or more to come */
	close(fd);
}

static int
parse_mode(const char *m)
{
	char	*end;
	long	 v;

	if (strcmp(m, "silent") == 0)
		return 0;
	v = strtol(m, &end, 10);
	return *end == '\0' && v >= 100 && v <= 999 ? (int)v : -1;
}

static void
control(struct srv *s)
{
	FILE		*f;
	char		 line[256], who[64], mode[32];
	struct in_addr	 in;
	uint32_t	 i, h;
	int		 st;

	if (s->control == NULL || (f = fopen(s->control, "r")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "%63s %31s", who, mode) != 2 ||
		    (st = parse_mode(mode)) == -1)
			continue;
		if (strcmp(who, "all") == 0) {
			for (i = 0; i < s->n; i++)
				s->a[i].status = st;
			continue;
		}
		if (inet_pton(AF_INET, who, &in) != 1)
			continue;
		h = ntohl(in.s_addr);
		if (h >= s->base && h - s->base < s->n)
			s->a[h - s->base].status = st;
	}
	fclose(f);
}

static void
reset(struct srv *s)
{
	uint32_t	 i;

	for (i = 0; i < s->n; i++) {
		s->a[i].count = 0;
		s->a[i].first_us = s->a[i].last_us = s->a[i].maxgap_us = 0;
	}
	memset(s->gaps, 0, (GAP_MAX_MS + 1) * sizeof(*s->gaps));
	s->total = 0;
}

static void
dump(struct srv *s)
{
	char		 tmp[4096], ip[INET_ADDRSTRLEN];
	struct in_addr	 in;
	FILE		*f;
	uint32_t	 i;

	if (s->dump == NULL)
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", s->dump);
	if ((f = fopen(tmp, "w")) == NULL) {
		fprintf(stderr, "hcserver: %s: %s\n", tmp, strerror(errno));
		return;
	}
	fprintf(f, "now_us %lld\naddresses %u\nconnections %llu\n",
	    (long long)mono_us(), s->n, (unsigned long long)s->total);
	for (i = 0; i <= GAP_MAX_MS; i++)
		if (s->gaps[i] != 0)
			fprintf(f, "gap %u %llu\n", i,
			    (unsigned long long)s->gaps[i]);
	for (i = 0; i < s->n; i++) {
		in.s_addr = htonl(s->base + i);
		inet_ntop(AF_INET, &in, ip, sizeof(ip));
		fprintf(f, "addr %s %llu %lld %lld %lld\n", ip,
		    (unsigned long long)s->a[i].count,
		    (long long)s->a[i].first_us, (long long)s->a[i].last_us,
		    (long long)s->a[i].maxgap_us);
	}
	fprintf(f, "end\n");
	if (fclose(f) != 0 || rename(tmp, s->dump) == -1)
		fprintf(stderr, "hcserver: %s: %s\n", s->dump,
		    strerror(errno));
}

/* A signal from the signalfd; 1 when it is time to exit. */
static int
on_signal(struct srv *s, int sfd)
{
	struct signalfd_siginfo	 si;

	while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGUSR1:
			dump(s);
			break;
		case SIGUSR2:
			reset(s);
			break;
		case SIGHUP:
			control(s);
			break;
		default:
			return 1;
		}
	}
	return 0;
}

/*
 * Everything main made, at a clean exit (SIGTERM, SIGINT).  Under
 * LeakSanitizer with abort_on_error=1 (CI's setting), a block left at
 * exit aborts the process, and a test's stop of hcserver would read as
 * a crash ("Aborted").
 */
static void
srv_free(struct srv *s, int sfd, int pfd)
{
	uint32_t	 i;

	for (i = 0; i < s->n; i++)
		if (s->a[i].fd > 0)
			close(s->a[i].fd);
	if (pfd != -1)
		close(pfd);
	close(sfd);
	close(s->ep);
	free(s->a);
	free(s->gaps);
	s->a = NULL;
	s->gaps = NULL;
}

static int
setup_signals(struct srv *s)
{
	struct epoll_event	 ev;
	sigset_t		 set;
	int			 sfd;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	if ((sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) == -1)
		fatal("signalfd");
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.u64 = SIG_TAG;
	if (epoll_ctl(s->ep, EPOLL_CTL_ADD, sfd, &ev) == -1)
		fatal("epoll_ctl");
	return sfd;
}

int
main(int argc, char **argv)
{
	struct srv		 s;
	struct epoll_event	 evs[256];
	struct in_addr		 in;
	const char		*ready = NULL, *base = NULL;
	long			 port = 0, n = 0;
	int			 ch, i, k, sfd, pfd = -1, status = 200;
	FILE			*f;

	memset(&s, 0, sizeof(s));
	while ((ch = getopt(argc, argv, "b:c:d:n:p:Pr:s:")) != -1) {
		switch (ch) {
		case 'b': base = optarg; break;
		case 'c': s.control = optarg; break;
		case 'd': s.dump = optarg; break;
		case 'n': n = strtol(optarg, NULL, 10); break;
		case 'p': port = strtol(optarg, NULL, 10); break;
		case 'P': s.syns = 1; break;
		case 'r': ready = optarg; break;
		case 's':
			if ((status = parse_mode(optarg)) == -1)
				usage();
			break;
		default: usage();
		}
	}
	if (base == NULL || inet_pton(AF_INET, base, &in) != 1 ||
	    n < 1 || n > 1000000 || port < 1 || port > 65535)
		usage();
	s.base = ntohl(in.s_addr);
	if ((s.base >> 24) != 127 || ((s.base + (uint32_t)n - 1) >> 24) != 127) {
		fprintf(stderr, "hcserver: loopback (127.0.0.0/8) only\n");
		return 2;
	}
	s.n = (uint32_t)n;
	raise_nofile();
	if ((s.a = calloc(s.n, sizeof(*s.a))) == NULL ||
	    (s.gaps = calloc(GAP_MAX_MS + 1, sizeof(*s.gaps))) == NULL)
		fatal("calloc");
	for (i = 0; i < n; i++)
		s.a[i].status = status;
	if ((s.ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		fatal("epoll_create1");
	sfd = setup_signals(&s);
	listen_all(&s, (uint16_t)port);
	if (s.syns)
		pfd = syn_socket(&s, (uint16_t)port);
	control(&s);
	if (ready != NULL) {
		if ((f = fopen(ready, "w")) == NULL)
			fatal(ready);
		fprintf(f, "%ld\n", (long)getpid());
		fclose(f);
	}
	for (;;) {
		if ((k = epoll_wait(s.ep, evs, 256, -1)) == -1) {
			if (errno == EINTR)
				continue;
			fatal("epoll_wait");
		}
		for (i = 0; i < k; i++) {
			uint64_t	 d = evs[i].data.u64;

			if (d & SIG_TAG) {
				if (on_signal(&s, sfd)) {
					srv_free(&s, sfd, pfd);
					return 0;
				}
			} else if (d & PKT_TAG)
				syn_read(&s, pfd);
			else if (d & CONN_TAG)
				conn_event(&s, d, evs[i].events);
			else
				accept_all(&s, (uint32_t)d);
		}
	}
}
