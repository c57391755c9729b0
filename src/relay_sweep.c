/*
 * relay_sweep: the walks over a worker's live TCP connections that end
 * what a change no longer allows: a newer snapshot's NetworkPolicies
 * (relay_recheck), an endpoint its health check marked down
 * (relay_health_close), a Service port or endpoint a reload dropped,
 * once the drain is over (relay_sweep).  The worker calls them; they
 * close through relay.c, which never calls them.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>

#include "metrics.h"
#include "relay.h"
#include "relay_int.h"

void
relay_recheck(struct relay_wrk *w, const struct snap *s)
{
	struct relay		*r, *next;
	struct pol_verdict	 v;
	struct ipaddr		 a;
	uint16_t		 port;
	char			 why[256];

	/* Nothing isolated: nothing to deny. */
	if (s->keep_established || (s->pol.nisolated[POL_INGRESS] == 0 &&
	    s->pol.nisolated[POL_EGRESS] == 0))
		return;
	for (r = w->live; r != NULL; r = next) {
		next = r->next;		/* r may be closed below */
		if (r->snap == s || r->ep == NULL)
			continue;
		ipaddr_from_sockaddr((struct sockaddr *)&r->client, &a, &port);
		if (snap_recheck(s, r->sp, r->ep, &a, &v) != SNAP_DENY)
			continue;
		MET_PORT_ADD(r->sp, w->id, closed_policy, 1);
		snap_deny_reason(s, &v, why, sizeof(why));
		relay_close_why(r, "policy-revoked", why,
		    1u << SIDE_CLIENT | 1u << SIDE_BACKEND);
	}
}

size_t
relay_health_close(struct relay_wrk *w)
{
	struct relay	*r, *next;
	size_t		 n = 0;

	for (r = w->live; r != NULL; r = next) {
		next = r->next;		/* r may be closed below */
		/*
		 * In panic the port serves down endpoints on purpose: a
		 * later transition must not close what panic let in.
		 */
		if (r->state != RELAY_UP || r->ep == NULL ||
		    r->ep->hc == NULL || !r->sp->hc.close_on_down ||
		    atomic_load_explicit(&r->ep->hc->state,
		    memory_order_relaxed) != HC_DOWN ||
		    atomic_load_explicit(&r->sp->lb.panic,
		    memory_order_relaxed) != 0)
			continue;
		MET_PORT_ADD(r->sp, w->id, closed_health, 1);
		relay_close_why(r, "health-down", "endpoint marked down by "
		    "its health check", 1u << SIDE_CLIENT | 1u << SIDE_BACKEND);
		n++;
	}
	return n;
}

/*
 * A reload's drain: a connection whose Service port or endpoint a newer
 * snapshot no longer has keeps running (no reload cuts one), for up to
 * its snapshot's drainTimeout after the reload that dropped it was
 * first seen here; then it is closed with a FIN both ways.  Each
 * connection is judged once per snapshot; one whose port and endpoint
 * come back is no longer counted as gone.
 */
size_t
relay_sweep(struct relay_wrk *w, const struct snap *cur)
{
	struct relay	*r, *next;
	struct ipaddr	 a;
	uint16_t	 port;
	size_t		 n = 0;
	uint32_t	 drain = cur->drain_timeout_ms;
	uint64_t	 now = relay_now(w);

	for (r = w->live; r != NULL; r = next) {
		next = r->next;		/* r may be closed below */
		if (r->snap == cur)
			continue;
		if (r->swept_gen != cur->gen) {
			r->swept_gen = cur->gen;
			ipaddr_from_sockaddr((struct sockaddr *)&r->client, &a,
			    &port);
			if (r->ep != NULL && snap_recheck(cur, r->sp, r->ep,
			    &a, NULL) != SNAP_GONE)
				r->gone_ms = 0;
			else if (r->ep != NULL && r->gone_ms == 0)
				r->gone_ms = now;
		}
		if (r->gone_ms == 0)
			continue;
		if (now - r->gone_ms >= drain) {
			relay_close(r, "reload-drain", 0);
			continue;
		}
		n++;
	}
	return n;
}
