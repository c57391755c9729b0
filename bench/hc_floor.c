/*
 * hc_floor: the least a health checker can cost, for bench/health.py's
 * "floor" contender.  No event library, no timers, no per-check
 * allocation: one epoll set, one fixed array of endpoints, and a
 * schedule that starts each endpoint's check at its slot of the
 * interval.  What it spends per check is what the kernel's TCP and the
 * socket calls cost; a real checker (svcproxy's, HAProxy's) can only
 * add to it.
 *
 *   hc_floor -b 127.90.0.1 -n 10000 -p PORT -k tcp|http -i MS -t S
 *
 * A tcp check is the one svcproxy and HAProxy make: connect with the
 * handshake's last ACK held back (TCP_QUICKACK off), and a reset
 * (SO_LINGER {1, 0}) as soon as the SYN-ACK is in, so the server never
 * accepts.  An http check connects, sends "GET / HTTP/1.0", reads the
 * status line and resets.  At the end it prints one line:
 *
 *   checks C ok K cpu_us U us_per_check X
 *
 * (CPU from getrusage, user + system, of the whole process.)
 *
 * Loopback only: the base must be in 127.0.0.0/8.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum kind { K_TCP, K_HTTP };

struct ep {
	struct sockaddr_in	 sin;
	int			 fd;		/* -1: idle */
	int			 sent;		/* http: request written */
	int64_t			 deadline_us;	/* of the check in flight */
};

static int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
ep_reset(int ep_fd, struct ep *e)
{
	struct linger l = { 1, 0 };

	(void)setsockopt(e->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	(void)epoll_ctl(ep_fd, EPOLL_CTL_DEL, e->fd, NULL);
	close(e->fd);
	e->fd = -1;
	e->sent = 0;
}

/* Start e's check: 0, or -1 when it failed at once. */
static int
ep_start(int ep_fd, struct ep *e, uint32_t idx, enum kind k,
    int64_t deadline)
{
	struct epoll_event	ev;
	int			zero = 0;

	e->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (e->fd == -1)
		return -1;
	if (k == K_TCP)
		(void)setsockopt(e->fd, IPPROTO_TCP, TCP_QUICKACK, &zero,
		    sizeof(zero));
	if (connect(e->fd, (struct sockaddr *)&e->sin, sizeof(e->sin)) ==
	    -1 && errno != EINPROGRESS) {
		close(e->fd);
		e->fd = -1;
		return -1;
	}
	ev.events = EPOLLOUT;
	ev.data.u32 = idx;
	if (epoll_ctl(ep_fd, EPOLL_CTL_ADD, e->fd, &ev) == -1) {
		close(e->fd);
		e->fd = -1;
		return -1;
	}
	e->deadline_us = deadline;
	return 0;
}

/* An event on e: 1 when its check ended well, 0 failed, -1 goes on. */
static int
ep_event(struct ep *e, uint32_t events, enum kind k)
{
	static const char	 req[] = "GET / HTTP/1.0\r\n\r\n";
	char			 buf[64];
	socklen_t		 len = sizeof(int);
	int			 err = 0;
	ssize_t			 n;

	if (!e->sent) {
		if (getsockopt(e->fd, SOL_SOCKET, SO_ERROR, &err, &len) ==
		    -1 || err != 0 || (events & (EPOLLERR | EPOLLHUP)))
			return 0;
		if (k == K_TCP)
			return 1;
		if (send(e->fd, req, sizeof(req) - 1, MSG_NOSIGNAL) !=
		    (ssize_t)sizeof(req) - 1)
			return 0;
		e->sent = 1;		/* the caller waits for EPOLLIN */
		return -1;
	}
	n = recv(e->fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return n == -1 && errno == EAGAIN ? -1 : 0;
	buf[n] = '\0';
	return strncmp(buf, "HTTP/1.", 7) == 0 && n >= 12 &&
	    buf[9] >= '2' && buf[9] <= '3';
}

int
main(int argc, char **argv)
{
	struct epoll_event	 evs[256], mod;
	struct in_addr		 base;
	struct rlimit		 rl;
	struct rusage		 ru;
	struct ep		*eps;
	enum kind		 k = K_TCP;
	uint32_t		 n = 0, i, next = 0;
	uint16_t		 port = 0;
	uint64_t		 checks = 0, ok = 0, cpu;
	int64_t			 t0, end, interval_us = 1000000, now, due;
	int			 c, ep_fd, m, j, r, secs = 10;

	base.s_addr = 0;
	while ((c = getopt(argc, argv, "b:n:p:k:i:t:")) != -1) {
		switch (c) {
		case 'b':
			if (inet_pton(AF_INET, optarg, &base) != 1)
				return 2;
			break;
		case 'n':
			n = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'p':
			port = (uint16_t)strtoul(optarg, NULL, 10);
			break;
		case 'k':
			k = strcmp(optarg, "http") == 0 ? K_HTTP : K_TCP;
			break;
		case 'i':
			interval_us = strtoll(optarg, NULL, 10) * 1000;
			break;
		case 't':
			secs = atoi(optarg);
			break;
		default:
			return 2;
		}
	}
	if (n == 0 || port == 0 || interval_us <= 0 ||
	    (ntohl(base.s_addr) >> 24) != 127) {
		fprintf(stderr, "usage: hc_floor -b 127.x.y.z -n N -p PORT "
		    "[-k tcp|http] [-i MS] [-t S]\n");
		return 2;
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	if ((eps = calloc(n, sizeof(*eps))) == NULL ||
	    (ep_fd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		return 1;
	for (i = 0; i < n; i++) {
		eps[i].sin.sin_family = AF_INET;
		eps[i].sin.sin_port = htons(port);
		eps[i].sin.sin_addr.s_addr = htonl(ntohl(base.s_addr) + i);
		eps[i].fd = -1;
	}
	t0 = now_us();
	end = t0 + (int64_t)secs * 1000000;
	/* Endpoint i's checks start at t0 + i * interval / n + k * interval. */
	for (;;) {
		now = now_us();
		if (now >= end)
			break;
		for (;;) {
			due = t0 + (int64_t)(next / n) * interval_us +
			    (int64_t)(next % n) * interval_us / n;
			if (due > now)
				break;
			i = next % n;
			if (eps[i].fd != -1)		/* still in flight */
				ep_reset(ep_fd, &eps[i]);
			checks++;
			(void)ep_start(ep_fd, &eps[i], i, k,
			    now + interval_us);
			next++;
		}
		m = epoll_wait(ep_fd, evs, 256, (int)((due - now + 999) / 1000));
		for (j = 0; j < m; j++) {
			struct ep *e = &eps[evs[j].data.u32];

			if (e->fd == -1)
				continue;
			r = ep_event(e, evs[j].events, k);
			if (r == -1) {
				if (e->sent == 1) {
					mod.events = EPOLLIN;
					mod.data.u32 = evs[j].data.u32;
					(void)epoll_ctl(ep_fd, EPOLL_CTL_MOD,
					    e->fd, &mod);
					e->sent = 2;
				}
				continue;
			}
			ok += (uint64_t)r;
			ep_reset(ep_fd, e);
		}
	}
	getrusage(RUSAGE_SELF, &ru);
	cpu = (uint64_t)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec +
	    (uint64_t)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec;
	printf("checks %llu ok %llu cpu_us %llu us_per_check %.1f\n",
	    (unsigned long long)checks, (unsigned long long)ok,
	    (unsigned long long)cpu, checks ? (double)cpu / checks : 0.0);
	return 0;
}
