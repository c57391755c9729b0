/*
 * lb_registry: every balancing algorithm by name.  A file of its own so
 * that dependencies run one way: the registry knows the algorithms, the
 * algorithms use lb.c's helpers, and lb.c knows no algorithm.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "lb.h"

/*
 * Every algorithm, found by the name ProxyConfig and the Service
 * annotation spell; sorted by name, as validation lists them.
 */
static const struct lb_ops *const lb_algos[] = {
	&lb_leastconn_ops,
	&lb_maglev_ops,
	&lb_random2_ops,
	&lb_rr_ops,
};
#define LB_NALGOS	(sizeof(lb_algos) / sizeof(lb_algos[0]))

const struct lb_ops *
lb_find(const char *name)
{
	size_t i;

	for (i = 0; i < LB_NALGOS; i++)
		if (strcmp(lb_algos[i]->name, name) == 0)
			return lb_algos[i];
	return NULL;
}

char *
lb_names(char *buf, size_t len)
{
	size_t	i, off = 0;
	int	n;

	if (len == 0)
		return buf;
	buf[0] = '\0';
	for (i = 0; i < LB_NALGOS && off < len; i++) {
		n = snprintf(buf + off, len - off, "%s\"%s\"", i ? ", " : "",
		    lb_algos[i]->name);
		off += n < 0 ? 0 : (size_t)n;
	}
	return buf;
}
