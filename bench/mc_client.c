/*
 * mc_client: new connections from many client addresses, for
 * bench/policy_rate.py --many-clients.  NPROC processes, each a loop:
 * socket, bind to the next of NCLIENTS sources 127.90.x.y, connect to
 * ADDR:PORT, one HTTP/1.0 request, read to EOF, close; for SECS
 * seconds.  Prints "done N failed M".
 *
 *   mc_client ADDR PORT NCLIENTS SECS NPROC
 *
 * Loopback only; not part of `make check`.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One connection from source i; 1 when a whole answer came back. */
static int
one(const struct sockaddr_in *dst, int i)
{
	static const char	req[] = "GET /small HTTP/1.0\r\n\r\n";
	struct sockaddr_in	src;
	char			buf[4096];
	ssize_t			n;
	size_t			got = 0;
	int			fd, on = 1;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return 0;
	memset(&src, 0, sizeof(src));
	src.sin_family = AF_INET;
	src.sin_addr.s_addr = htonl(0x7f5a0000u | (uint32_t)(i / 250) << 8 |
	    (uint32_t)(i % 250 + 1));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (bind(fd, (struct sockaddr *)&src, sizeof(src)) == -1 ||
	    connect(fd, (const struct sockaddr *)dst, sizeof(*dst)) == -1 ||
	    write(fd, req, sizeof(req) - 1) != (ssize_t)sizeof(req) - 1) {
		close(fd);
		return 0;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		got += (size_t)n;
	close(fd);
	return got > 1024;
}

int
main(int argc, char **argv)
{
	struct sockaddr_in	dst;
	double			end;
	long			done = 0, failed = 0, d, f;
	int			nclients, nproc, k, i, p[2], st;
	FILE			*in;

	if (argc != 6) {
		fprintf(stderr, "usage: mc_client ADDR PORT NCLIENTS SECS "
		    "NPROC\n");
		return 2;
	}
	memset(&dst, 0, sizeof(dst));
	dst.sin_family = AF_INET;
	dst.sin_port = htons((uint16_t)atoi(argv[2]));
	if (inet_pton(AF_INET, argv[1], &dst.sin_addr) != 1)
		return 2;
	nclients = atoi(argv[3]);
	end = now() + atof(argv[4]);
	nproc = atoi(argv[5]);
	if (nclients < 1 || nclients > 250 * 256 || nproc < 1 || pipe(p) == -1)
		return 2;
	for (k = 0; k < nproc; k++) {
		if (fork() != 0)
			continue;
		close(p[0]);
		for (i = k; now() < end; i = (i + nproc) % nclients) {
			if (one(&dst, i))
				done++;
			else
				failed++;
		}
		dprintf(p[1], "%ld %ld\n", done, failed);
		_exit(0);
	}
	close(p[1]);
	if ((in = fdopen(p[0], "r")) == NULL)
		return 1;
	while (fscanf(in, "%ld %ld", &d, &f) == 2) {
		done += d;
		failed += f;
	}
	while (wait(&st) > 0)
		;
	printf("done %ld failed %ld\n", done, failed);
	return 0;
}
