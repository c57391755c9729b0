/*
 * udp_echo: the backend of bench/udp.py.  Every datagram to ADDR:PORT
 * goes back, unchanged, to where it came from.
 *
 *   udp_echo -l ADDR:PORT [-r RCVBUF_BYTES]
 *
 * One socket, one thread, blocking recvmmsg (MSG_WAITFORONE) and one
 * sendmmsg per batch: the cheapest echo there is, so that the backend
 * is not what a proxy's figures measure.  Its receive buffer is raised
 * (SO_RCVBUFFORCE when root, default 8 MB) because every client's
 * window can arrive at once: a drop here would be charged to the
 * proxy in front.  Runs until killed.  Loopback only.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH		64
#define DGRAM_MAX	65536

static char	buf[BATCH][DGRAM_MAX];

static void
usage(void)
{
	fprintf(stderr, "usage: udp_echo -l ADDR:PORT [-r RCVBUF]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct sockaddr_in	 sin, names[BATCH];
	struct mmsghdr		 msgs[BATCH];
	struct iovec		 iov[BATCH];
	char			 host[64], *colon = NULL;
	int			 c, i, n, s, fd, rcvbuf = 8 << 20;
	long			 port = 0;

	while ((c = getopt(argc, argv, "l:r:")) != -1) {
		switch (c) {
		case 'l':
			if ((colon = strrchr(optarg, ':')) == NULL ||
			    (size_t)(colon - optarg) >= sizeof(host))
				usage();
			memcpy(host, optarg, (size_t)(colon - optarg));
			host[colon - optarg] = '\0';
			port = strtol(colon + 1, NULL, 10);
			break;
		case 'r':
			rcvbuf = atoi(optarg);
			break;
		default:
			usage();
		}
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	if (colon == NULL || port <= 0 || port > 65535 ||
	    inet_pton(AF_INET, host, &sin.sin_addr) != 1 ||
	    (ntohl(sin.sin_addr.s_addr) >> 24) != 127)
		usage();
	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1) {
		perror("socket");
		return 1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf,
	    sizeof(rcvbuf)) == -1)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
		    sizeof(rcvbuf));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		perror("bind");
		return 1;
	}
	for (;;) {
		memset(msgs, 0, sizeof(msgs));
		for (i = 0; i < BATCH; i++) {
			iov[i].iov_base = buf[i];
			iov[i].iov_len = DGRAM_MAX;
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
			msgs[i].msg_hdr.msg_name = &names[i];
			msgs[i].msg_hdr.msg_namelen = sizeof(names[i]);
		}
		n = recvmmsg(fd, msgs, BATCH, MSG_WAITFORONE, NULL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("recvmmsg");
			return 1;
		}
		for (i = 0; i < n; i++)
			iov[i].iov_len = msgs[i].msg_len;
		/* A full buffer toward a client drops the rest, as UDP may. */
		for (s = 0; s < n; ) {
			if ((c = sendmmsg(fd, msgs + s, (unsigned)(n - s),
			    0)) <= 0) {
				s++;	/* skip the one that failed */
				continue;
			}
			s += c;
		}
	}
}
