/*
 * pool: a worker's idle pipe pairs (for splice) and copy buffers.
 */
#ifndef SVCPROXY_POOL_H
#define SVCPROXY_POOL_H

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "worker.h"

/* A pipe pair for one transfer: 0, or -1 when over budget or no fd. */
static inline int
pool_pipe_get(struct wrk *w, int pfd[2])
{
	if (w->npipes > 0) {
		w->npipes--;
		pfd[0] = w->pipes[w->npipes][0];
		pfd[1] = w->pipes[w->npipes][1];
		return 0;
	}
	if (w->pipes_open >= w->grp->max_pipes)
		return -1;
	if (pipe2(pfd, O_NONBLOCK | O_CLOEXEC) == -1)
		return -1;
	/* Too big for the user's pipe budget: the default size works. */
	(void)fcntl(pfd[1], F_SETPIPE_SZ, (int)w->grp->pipe_size);
	w->pipes_open++;
	return 0;
}

/* Give a pipe back; one still holding bytes can only be closed. */
static inline void
pool_pipe_put(struct wrk *w, int pfd[2], int dirty)
{
	if (pfd[0] == -1)
		return;
	if (dirty || w->npipes >= w->grp->max_pipes) {
		close(pfd[0]);
		close(pfd[1]);
		w->pipes_open--;
	} else {
		w->pipes[w->npipes][0] = pfd[0];
		w->pipes[w->npipes][1] = pfd[1];
		w->npipes++;
	}
	pfd[0] = pfd[1] = -1;
}

static inline char *
pool_buf_get(struct wrk *w)
{
	if (w->nbufs > 0)
		return w->bufs[--w->nbufs];
	return malloc(WRK_BUF_SIZE);
}

static inline void
pool_buf_put(struct wrk *w, char **buf)
{
	if (*buf == NULL)
		return;
	if (w->nbufs < WRK_FREE_BUFS_MAX)
		w->bufs[w->nbufs++] = *buf;
	else
		free(*buf);
	*buf = NULL;
}

#endif
