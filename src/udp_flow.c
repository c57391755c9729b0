#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>

#include "hash.h"
#include "udp_flow.h"

int
udp_key_make(struct udp_key *k, const struct sockaddr *client,
    const struct sockaddr *local)
{
	const struct sockaddr_in	*c4, *l4;
	const struct sockaddr_in6	*c6, *l6;

	memset(k, 0, sizeof(*k));
	if (client->sa_family != local->sa_family)
		return -1;
	switch (client->sa_family) {
	case AF_INET:
		c4 = (const struct sockaddr_in *)client;
		l4 = (const struct sockaddr_in *)local;
		memcpy(k->caddr, &c4->sin_addr, 4);
		memcpy(k->laddr, &l4->sin_addr, 4);
		k->cport = c4->sin_port;
		k->lport = l4->sin_port;
		break;
	case AF_INET6:
		c6 = (const struct sockaddr_in6 *)client;
		l6 = (const struct sockaddr_in6 *)local;
		memcpy(k->caddr, &c6->sin6_addr, 16);
		memcpy(k->laddr, &l6->sin6_addr, 16);
		k->cport = c6->sin6_port;
		k->lport = l6->sin6_port;
		break;
	default:
		return -1;
	}
	k->family = (uint8_t)client->sa_family;
	return 0;
}

int
udp_flow_tab_init(struct udp_flow_tab *t, size_t max, uint64_t seed)
{
	size_t nb = 16;

	memset(t, 0, sizeof(*t));
	/* About one flow per bucket at the bound. */
	while (nb < max && nb < ((size_t)1 << 24))
		nb <<= 1;
	if ((t->b = calloc(nb, sizeof(*t->b))) == NULL)
		return -1;
	t->nb = nb;
	t->max = max;
	t->seed = FNV1A64_INIT ^ seed;
	return 0;
}

void
udp_flow_tab_free(struct udp_flow_tab *t)
{
	struct udp_idle *l;

	while ((l = t->lists) != NULL) {
		t->lists = l->next;
		free(l);
	}
	free(t->b);
	memset(t, 0, sizeof(*t));
}

static size_t
udp_flow_bucket(const struct udp_flow_tab *t, const struct udp_key *k)
{
	uint64_t h = fnv1a64_buf(t->seed, k, sizeof(*k));

	return (size_t)(h ^ (h >> 32)) & (t->nb - 1);
}

struct udp_flow *
udp_flow_find(const struct udp_flow_tab *t, const struct udp_key *k)
{
	struct udp_flow *f;

	for (f = t->b[udp_flow_bucket(t, k)]; f != NULL; f = f->hnext)
		if (memcmp(&f->key, k, sizeof(*k)) == 0)
			return f;
	return NULL;
}

static void
udp_flow_unlink_idle(struct udp_flow *f)
{
	struct udp_idle *l = f->idle;

	if (f->iprev != NULL)
		f->iprev->inext = f->inext;
	else
		l->head = f->inext;
	if (f->inext != NULL)
		f->inext->iprev = f->iprev;
	else
		l->tail = f->iprev;
	f->iprev = f->inext = NULL;
	l->n--;
}

static void
udp_flow_append_idle(struct udp_idle *l, struct udp_flow *f)
{
	f->idle = l;
	f->inext = NULL;
	f->iprev = l->tail;
	if (l->tail != NULL)
		l->tail->inext = f;
	else
		l->head = f;
	l->tail = f;
	l->n++;
}

/* The list of timeout_ms, created when new; NULL when out of memory. */
static struct udp_idle *
udp_flow_list(struct udp_flow_tab *t, uint32_t timeout_ms)
{
	struct udp_idle *l;

	for (l = t->lists; l != NULL; l = l->next)
		if (l->timeout_ms == timeout_ms)
			return l;
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	l->timeout_ms = timeout_ms;
	l->next = t->lists;
	t->lists = l;
	return l;
}

int
udp_flow_insert(struct udp_flow_tab *t, struct udp_flow *f, uint64_t now_ms,
    uint32_t timeout_ms)
{
	struct udp_idle	*l;
	size_t		 i;

	if ((l = udp_flow_list(t, timeout_ms)) == NULL)
		return -1;
	i = udp_flow_bucket(t, &f->key);
	f->hnext = t->b[i];
	t->b[i] = f;
	f->last_ms = now_ms;
	udp_flow_append_idle(l, f);
	t->n++;
	return 0;
}

void
udp_flow_remove(struct udp_flow_tab *t, struct udp_flow *f)
{
	struct udp_flow **pp = &t->b[udp_flow_bucket(t, &f->key)];

	for (; *pp != NULL; pp = &(*pp)->hnext)
		if (*pp == f) {
			*pp = f->hnext;
			f->hnext = NULL;
			udp_flow_unlink_idle(f);
			f->idle = NULL;
			t->n--;
			return;
		}
}

void
udp_flow_touch(struct udp_flow_tab *t, struct udp_flow *f, uint64_t now_ms)
{
	struct udp_idle *l = f->idle;

	(void)t;
	f->last_ms = now_ms;
	if (l->tail == f)
		return;
	udp_flow_unlink_idle(f);
	udp_flow_append_idle(l, f);
}

int
udp_flow_set_timeout(struct udp_flow_tab *t, struct udp_flow *f,
    uint32_t timeout_ms)
{
	struct udp_flow	*p;
	struct udp_idle	*l;

	if (f->idle->timeout_ms == timeout_ms)
		return 0;
	if ((l = udp_flow_list(t, timeout_ms)) == NULL)
		return -1;
	udp_flow_unlink_idle(f);
	/* Its place in the new list is by last use, so that the head
	   stays the least recently used: walk back from the tail (a
	   reload moves many flows, most of them recently used). */
	for (p = l->tail; p != NULL && p->last_ms > f->last_ms; p = p->iprev)
		;
	f->idle = l;
	f->iprev = p;
	f->inext = p != NULL ? p->inext : l->head;
	if (f->inext != NULL)
		f->inext->iprev = f;
	else
		l->tail = f;
	if (p != NULL)
		p->inext = f;
	else
		l->head = f;
	l->n++;
	return 0;
}

static int
udp_flow_is_expired(const struct udp_flow *f, uint64_t now_ms)
{
	return now_ms >= f->last_ms &&
	    now_ms - f->last_ms >= f->idle->timeout_ms;
}

size_t
udp_flow_expire(struct udp_flow_tab *t, uint64_t now_ms,
    void (*expire)(struct udp_flow *, void *), void *arg)
{
	struct udp_idle	*l, **pp;
	struct udp_flow	*f;
	size_t		 n = 0;

	for (l = t->lists; l != NULL; l = l->next)
		while ((f = l->head) != NULL && udp_flow_is_expired(f,
		    now_ms)) {
			expire(f, arg);
			if (l->head == f)	/* the contract: never loop */
				udp_flow_remove(t, f);
			n++;
		}
	for (pp = &t->lists; (l = *pp) != NULL; )
		if (l->n == 0) {
			*pp = l->next;
			free(l);
		} else
			pp = &l->next;
	return n;
}

void
udp_flow_walk(struct udp_flow_tab *t, void (*fn)(struct udp_flow *, void *),
    void *arg)
{
	struct udp_idle	*l;
	struct udp_flow	*f, *next;

	for (l = t->lists; l != NULL; l = l->next)
		for (f = l->head; f != NULL; f = next) {
			next = f->inext;
			fn(f, arg);
		}
}

struct udp_flow *
udp_flow_any(const struct udp_flow_tab *t)
{
	const struct udp_idle *l;

	for (l = t->lists; l != NULL; l = l->next)
		if (l->head != NULL)
			return l->head;
	return NULL;
}
