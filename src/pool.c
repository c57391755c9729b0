#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pool.h"

int
pool_init(struct pool *p, size_t max_pipes, size_t pipe_size)
{
	memset(p, 0, sizeof(*p));
	p->max_pipes = max_pipes;
	p->pipe_size = pipe_size;
	if ((p->pipes = calloc(max_pipes + 1, sizeof(*p->pipes))) == NULL ||
	    (p->bufs = calloc(POOL_BUFS_MAX, sizeof(*p->bufs))) == NULL)
		return -1;
	return 0;
}

void
pool_free(struct pool *p)
{
	while (p->npipes > 0) {
		p->npipes--;
		close(p->pipes[p->npipes][0]);
		close(p->pipes[p->npipes][1]);
		p->pipes_open--;
	}
	while (p->nbufs > 0)
		free(p->bufs[--p->nbufs]);
	free(p->pipes);
	p->pipes = NULL;
	free(p->bufs);
	p->bufs = NULL;
}
