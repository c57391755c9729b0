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
udp_flow_unlink_idle(struct udp_flow_tab *t, struct udp_flow *f)
{
	if (f->iprev != NULL)
		f->iprev->inext = f->inext;
	else
		t->ihead = f->inext;
	if (f->inext != NULL)
		f->inext->iprev = f->iprev;
	else
		t->itail = f->iprev;
	f->iprev = f->inext = NULL;
}

static void
udp_flow_append_idle(struct udp_flow_tab *t, struct udp_flow *f)
{
	f->inext = NULL;
	f->iprev = t->itail;
	if (t->itail != NULL)
		t->itail->inext = f;
	else
		t->ihead = f;
	t->itail = f;
}

void
udp_flow_insert(struct udp_flow_tab *t, struct udp_flow *f, uint64_t now_ms)
{
	size_t i = udp_flow_bucket(t, &f->key);

	f->hnext = t->b[i];
	t->b[i] = f;
	f->last_ms = now_ms;
	udp_flow_append_idle(t, f);
	t->n++;
}

void
udp_flow_remove(struct udp_flow_tab *t, struct udp_flow *f)
{
	struct udp_flow **pp = &t->b[udp_flow_bucket(t, &f->key)];

	for (; *pp != NULL; pp = &(*pp)->hnext)
		if (*pp == f) {
			*pp = f->hnext;
			f->hnext = NULL;
			udp_flow_unlink_idle(t, f);
			t->n--;
			return;
		}
}

void
udp_flow_touch(struct udp_flow_tab *t, struct udp_flow *f, uint64_t now_ms)
{
	f->last_ms = now_ms;
	if (t->itail == f)
		return;
	udp_flow_unlink_idle(t, f);
	udp_flow_append_idle(t, f);
}

struct udp_flow *
udp_flow_expired(const struct udp_flow_tab *t, uint64_t now_ms,
    uint64_t idle_ms)
{
	struct udp_flow *f = t->ihead;

	if (f == NULL || now_ms < f->last_ms || now_ms - f->last_ms < idle_ms)
		return NULL;
	return f;
}
