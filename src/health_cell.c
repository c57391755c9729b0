/*
 * health_cell: the cells health results land in, keyed by (address,
 * check port, settings), and their table.  Apart from the health thread
 * (health.c) so that a snapshot build, which creates cells, needs
 * neither the engine nor its probes.
 */
#include "config.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "health_cell.h"
#include "health_state.h"
#include "netaddr.h"

void
hc_celltab_init(struct hc_celltab *t)
{
	strtab_init(&t->t);
	atomic_init(&t->gen, 0);
}

static void
cell_free(struct strtab_node *n)
{
	free(STRTAB_ENTRY(n, struct hc_cell, node));
}

void
hc_celltab_free(struct hc_celltab *t)
{
	strtab_free(&t->t, cell_free);
}

struct hc_cell *
hc_celltab_get(struct hc_celltab *t, const char *key)
{
	struct strtab_node	*n;
	struct hc_cell		*c;
	size_t			 len = strlen(key) + 1;

	if ((n = strtab_find(&t->t, key)) != NULL)
		return STRTAB_ENTRY(n, struct hc_cell, node);
	if ((c = calloc(1, sizeof(*c) + len)) == NULL)
		return NULL;
	memcpy(c->key, key, len);
	c->node.key = c->key;
	atomic_init(&c->state, HC_UNKNOWN);
	if (strtab_add(&t->t, &c->node) == -1) {
		free(c);
		return NULL;
	}
	return c;
}

void
hc_celltab_changed(struct hc_celltab *t)
{
	atomic_fetch_add_explicit(&t->gen, 1, memory_order_release);
}

void
hc_celltab_foreach(struct hc_celltab *t, void (*fn)(struct hc_cell *,
    void *), void *arg)
{
	struct strtab_node	*n;
	size_t			 i;

	for (i = 0; i < t->t.nbuckets; i++)
		for (n = t->t.buckets[i]; n != NULL; n = n->next)
			fn(STRTAB_ENTRY(n, struct hc_cell, node), arg);
}

static const char *
opt(const char *s)
{
	return s != NULL ? s : "";
}

char *
hc_key(char *buf, size_t len, const struct sockaddr *sa, socklen_t salen,
    const struct hc_settings *s)
{
	char	 where[NETADDR_HOSTPORTLEN];
	int	 n;

	(void)salen;	/* the family says how much of sa there is */
	ipaddr_format_sockaddr(sa, where, sizeof(where));
	/* Every setting, separated by a byte no setting may hold. */
	n = snprintf(buf, len, "%s %s %u/%u %u/%u %s\x1f%s\x1f%s\x1f%s"
	    "\x1f%s\x1f%s%s", where, hc_kind_name(s->kind),
	    s->interval_ms, s->timeout_ms, s->rise, s->fall, opt(s->method),
	    opt(s->path), opt(s->host), opt(s->expect), opt(s->sni),
	    opt(s->ca), s->proxy == 0 ? "" : s->proxy == 1 ? "\x1fpp1" :
	    "\x1fpp2");
	return n < 0 || (size_t)n >= len ? NULL : buf;
}

char *
hc_cell_reason(const struct hc_cell *c, char *buf, size_t len)
{
	uint32_t	 s0, s1;
	size_t		 i, n = len < HC_REASON_MAX ? len : HC_REASON_MAX;
	int		 tries = 0;

	if (len == 0)
		return buf;
	do {
		s0 = atomic_load_explicit(&c->seq, memory_order_acquire);
		for (i = 0; i < n; i++)
			buf[i] = atomic_load_explicit(&c->reason[i],
			    memory_order_relaxed);
		atomic_thread_fence(memory_order_acquire);
		s1 = atomic_load_explicit(&c->seq, memory_order_relaxed);
	} while ((s0 != s1 || (s0 & 1)) && ++tries < 1000);
	buf[n - 1] = '\0';
	return buf;
}
