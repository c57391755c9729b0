/*
 * pool: one worker's idle pipe pairs (for splice) and copy buffers.
 *
 * A connection takes a holder on its first byte and gives it back as
 * soon as it is empty (relay.c), so the pool holds what the worker
 * moves at once, not what it has open.  Pipes count against a budget
 * (max_pipes, from the fd budget: worker.h); buffers are malloc'ed and
 * kept up to POOL_BUFS_MAX.  One thread only: no locks.  The get and
 * put calls are inline, as they were when relay.c held them: they run
 * per transfer.
 */
#ifndef SVCPROXY_POOL_H
#define SVCPROXY_POOL_H

#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <unistd.h>

#define POOL_BUF_SIZE	(16 * 1024)	/* copy fallback */
#define POOL_BUFS_MAX	256		/* idle buffers kept */
/*
 * Pipes of a worker made at the full pipe_size; the ones made beyond
 * them get a quarter of it.  An unprivileged user's pipes share one
 * budget (fs.pipe-user-pages-soft: 64 MiB by default): past it, every
 * new pipe of the user gets 2 slots (8 KiB) and cannot grow.  So many
 * busy transfers at once must not take it all with big pipes, while a
 * few get the most out of them (half the splice calls per GB): with 16
 * of 1 MiB per worker and the rest at 256 KiB, the default budget
 * lasts 208 pipes with one worker, 160 with two, against 256 when all
 * were 256 KiB.
 */
#define POOL_BIG_PIPES	16

struct pool {
	int		(*pipes)[2];	/* idle pipe pairs, owned */
	size_t		 npipes;	/* idle */
	size_t		 pipes_open;	/* idle + in use */
	size_t		 max_pipes;	/* pairs open at most */
	size_t		 pipe_size;	/* F_SETPIPE_SZ target of the
					   first POOL_BIG_PIPES; the
					   most one splice asks for */
	char		**bufs;		/* idle copy buffers, owned */
	size_t		 nbufs;
};

/*
 * Room for max_pipes idle pairs of pipe_size bytes and POOL_BUFS_MAX
 * buffers.  0, or -1 (ENOMEM); pool_free undoes it, also after a
 * failure or on a zeroed pool.
 */
int	pool_init(struct pool *, size_t max_pipes, size_t pipe_size);
/* Close and free what is idle (nothing may be in use). */
void	pool_free(struct pool *);

/* A pipe pair for one transfer: 0, or -1 when over budget or no fd. */
static inline int
pool_pipe_get(struct pool *p, int pfd[2])
{
	if (p->npipes > 0) {
		p->npipes--;
		pfd[0] = p->pipes[p->npipes][0];
		pfd[1] = p->pipes[p->npipes][1];
		return 0;
	}
	if (p->pipes_open >= p->max_pipes)
		return -1;
	if (pipe2(pfd, O_NONBLOCK | O_CLOEXEC) == -1)
		return -1;
	/*
	 * Refused (over fs.pipe-max-size or the user's pipe budget): a
	 * quarter of it, else the default size works.
	 */
	if (p->pipes_open >= POOL_BIG_PIPES ||
	    fcntl(pfd[1], F_SETPIPE_SZ, (int)p->pipe_size) == -1)
		(void)fcntl(pfd[1], F_SETPIPE_SZ, (int)(p->pipe_size / 4));
	p->pipes_open++;
	return 0;
}

/* Give a pipe back; one still holding bytes can only be closed. */
static inline void
pool_pipe_put(struct pool *p, int pfd[2], int dirty)
{
	if (pfd[0] == -1)
		return;
	if (dirty || p->npipes >= p->max_pipes) {
		close(pfd[0]);
		close(pfd[1]);
		p->pipes_open--;
	} else {
		p->pipes[p->npipes][0] = pfd[0];
		p->pipes[p->npipes][1] = pfd[1];
		p->npipes++;
	}
	pfd[0] = pfd[1] = -1;
}

/* A POOL_BUF_SIZE buffer, or NULL (out of memory). */
static inline char *
pool_buf_get(struct pool *p)
{
	if (p->nbufs > 0)
		return p->bufs[--p->nbufs];
	return malloc(POOL_BUF_SIZE);
}

/* Give *buf back (NULL: none) and clear it. */
static inline void
pool_buf_put(struct pool *p, char **buf)
{
	if (*buf == NULL)
		return;
	if (p->nbufs < POOL_BUFS_MAX)
		p->bufs[p->nbufs++] = *buf;
	else
		free(*buf);
	*buf = NULL;
}

#endif
