/*
 * relay_memo: a TCP pick's NetworkPolicy filter (relay_allow, the
 * balancer's allow callback while relay.c picks for a judged client)
 * and the worker's memo of the verdicts that allowed.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "relay.h"
#include "relay_int.h"

/*
 * A worker's memo of the NetworkPolicy verdicts that allowed a client
 * to reach an endpoint, keyed by (snapshot, endpoint, client address):
 * all a verdict depends on (the client's Pod and its egress isolation
 * come from its address in that snapshot; the port and protocol are
 * the endpoint's).  A snapshot is immutable, so a verdict holds for as
 * long as its snapshot lives; an entry of another snapshot (its
 * pointer and generation both) is a miss, so a reload needs no flush.
 * Judging walks every policy isolating the endpoint's Pod until one
 * allows: with 1,000 of them that is ~25 us per connection, a hit one
 * cache line.  Direct-mapped and fixed in size (RELAY_VC_SLOTS * 48
 * bytes, allocated on the worker's first judged pick, none when that
 * fails): many clients only evict each other.  Denials are not kept:
 * their reason is written from the verdict, and they close the
 * connection anyway.
 */
#define RELAY_VC_SLOTS	1024		/* a power of two */

struct relay_vc {
	const struct snap	*snap;		/* NULL: empty slot */
	uint64_t		 gen;		/* snap's */
	const struct lb_ep	*ep;		/* in snap */
	struct ipaddr		 addr;		/* the client's */
};

static struct relay_vc *
relay_vc_slot(struct relay_wrk *w, const struct lb_ep *ep,
    const struct ipaddr *a)
{
	uint64_t	x, y, h;

	memcpy(&x, a->b, sizeof(x));
	memcpy(&y, a->b + sizeof(x), sizeof(y));
	h = ((uint64_t)(uintptr_t)ep ^ x) * 0x9e3779b97f4a7c15ULL;
	h = (h ^ (h >> 29) ^ y) * 0xbf58476d1ce4e5b9ULL;
	return &w->vc[(h ^ (h >> 32)) & (RELAY_VC_SLOTS - 1)];
}

static int
relay_vc_hit(const struct relay_vc *e, const struct snap *s,
    const struct lb_ep *ep, const struct ipaddr *a)
{
	return e->snap == s && e->gen == s->gen && e->ep == ep &&
	    e->addr.family == a->family && memcmp(e->addr.b, a->b,
	    sizeof(a->b)) == 0;
}

/* lb_flow's allow: may the relay's client reach ep?  Notes denials. */
int
relay_allow(const struct lb_ep *ep, void *arg)
{
	struct relay_judge	*j = arg;
	struct relay_wrk	*w = j->r->w;
	struct relay_vc		*e = NULL;
	struct pol_verdict	 v;

	if (w->vc == NULL && !w->vc_failed &&
	    (w->vc = calloc(RELAY_VC_SLOTS, sizeof(*w->vc))) == NULL)
		w->vc_failed = 1;
	if (w->vc != NULL) {
		e = relay_vc_slot(w, ep, &j->c.addr);
		if (relay_vc_hit(e, j->r->snap, ep, &j->c.addr))
			return 1;
	}
	if (snap_ep_allowed(j->r->snap, j->r->sp, &j->c, ep, &v)) {
		if (e != NULL) {
			e->snap = j->r->snap;
			e->gen = j->r->snap->gen;
			e->ep = ep;
			e->addr = j->c.addr;
		}
		return 1;
	}
	if (j->ndenied++ == 0)
		j->denied = v;
	return 0;
}
