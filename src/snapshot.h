/*
 * snapshot: the immutable runtime view workers serve from.
 *
 * Built from a resolved model into its own arena (it borrows nothing
 * from the model, which may be freed at once), then published in a
 * struct snap_slot.  Workers load the slot's pointer on every accept;
 * each connection holds a reference to the snapshot it was accepted
 * under until it closes, so a reload can publish a new one at any
 * time and the old one is freed by whoever drops the last reference.
 *
 * Immutable once published, except the balancing state an lb_ops keeps
 * in its set (atomics) and the live counters it points at (lb.h).
 *
 * NetworkPolicy: the snapshot holds the compiled policy table (pol_build
 * into its arena, with every name the table borrowed from the kset
 * copied in, so the snapshot still borrows nothing), each endpoint's
 * Pod index in it, and per Service port whether any endpoint is
 * isolated for ingress.  Per connection only the client is looked up,
 * and only when some policy could matter (snap_client_init).
 */
#ifndef SVCPROXY_SNAPSHOT_H
#define SVCPROXY_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "lb.h"
#include "netaddr.h"
#include "policy-t.h"
#include "proto.h"
#include "snapshot-t.h"

struct hc_celltab;
struct hc_target;
struct res_model;

/*
 * Build a snapshot of every proxied Service port of model, each
 * balanced with its Service's algorithm (res_service.lb_algorithm).
 * Live counters come from (and are added to) live, which must outlive
 * the snapshot.  Returns a snapshot with one reference, or NULL with a
 * message in err (out of memory, unknown algorithm, an algorithm's
 * build failing on a Service port, two Service ports on one address).
 *
 * Health: a Service port whose res_service.hc asks for an active check
 * gets the settings in snap_port.hc, and with cells (NULL: no checks,
 * for the tools and tests that run none) each of its endpoints gets
 * the cell of its check (lb_ep.hc: the endpoint's address, the check
 * port or the endpoint's, and the settings: health.h's hc_key), and
 * its set decides panic from those cells (lb.h), starting from their
 * state now.
 *
 * One build at a time per live table and cell table: they are added to
 * by the build only (the main thread's at startup, the reload thread's
 * on reload), never by the workers or the health thread.
 */
struct snap	*snap_build(const struct res_model *model,
		    struct lb_livetab *live, struct hc_celltab *cells,
		    char *err, size_t errlen);
/*
 * What s wants checked: one target per distinct cell, each's settings
 * pointing into s (hc_engine_want copies them).  malloc'd, the caller
 * frees; *n targets (0: none).  NULL when out of memory.
 */
struct hc_target *snap_hc_targets(const struct snap *s, size_t *n);
struct snap	*snap_ref(struct snap *);
/* Drop one reference; the last one frees the snapshot.  NULL is ok. */
void		 snap_unref(struct snap *);
/* The listener on addr/port/proto (addr family 0: wildcard), or NULL. */
const struct snap_lsn *snap_find_lsn(const struct snap *,
		    const struct ipaddr *addr, uint16_t port,
		    enum proto proto);

/* The Service port ns/name port/proto, or NULL. */
const struct snap_port *snap_find_port(const struct snap *, const char *ns,
		    const char *name, uint16_t port, enum proto proto);

/*
 * Mark the endpoint l up or down (lb_live_set_up()) and, when that
 * changed it, tell the algorithm of every Service port of s that has
 * it (lb_set_status()).  Main thread only, s its current snapshot (NULL:
 * only the state changes).  A snapshot built later reads the state as
 * it then is; pick skips down endpoints in every snapshot.  Returns 1
 * when the state changed.
 */
int		 snap_set_up(const struct snap *s, struct lb_live *l, int up);

/* ---- NetworkPolicy and source ranges on the data path ---- */

/*
 * Fill c for the client at addr connecting to sp, against s's policy
 * table.  The Pod is looked up (one binary search) only when it can
 * matter: sp has an ingress-isolated endpoint, or some Pod of s is
 * egress-isolated.  No allocation.
 */
void		 snap_client_init(const struct snap *,
		    const struct snap_port *sp, struct snap_client *c,
		    const struct ipaddr *addr);
/*
 * Must c's connections to sp be judged endpoint by endpoint?  No when
 * no endpoint of sp is isolated for ingress and c is not an
 * egress-isolated Pod: every endpoint is then allowed.
 */
static inline int
snap_needs_judging(const struct snap_port *sp, const struct snap_client *c)
{
	return sp->pol_isolated || c->egress;
}
/*
 * May c reach ep of sp (on ep's target port)?  Fills v (borrowing from
 * s's table) and returns v->allowed.  An allow comes from the merged
 * index when it answers (policy.h), and then v names no policy or rule
 * (by_policy POL_NONE); a denial always has its reason.  No allocation.
 */
int		 snap_ep_allowed(const struct snap *, const struct snap_port *sp,
		    const struct snap_client *c, const struct lb_ep *ep,
		    struct pol_verdict *v);
/*
 * May a client at addr use listener l?  Only a load-balancer listener
 * of a Service with loadBalancerSourceRanges restricts: addr must be in
 * one of them.  Other listeners of the same Service do not (as
 * kube-proxy).
 */
int		 snap_source_allowed(const struct snap_lsn *l,
		    const struct ipaddr *addr);
/* May a client at addr send a PROXY protocol header (ProxyConfig
   spec.proxyProtocolTrustedSources)? */
int		 snap_pp_trusted(const struct snap *s,
		    const struct ipaddr *addr);

/*
 * Judge an established connection from client to ep of sp (both of an
 * older snapshot) against s's policies, finding the same Service port
 * (namespace, name, port, protocol) and endpoint (address and port) in
 * s.  No allocation.  With v non-NULL, fills it on SNAP_KEEP/SNAP_DENY.
 */
enum snap_recheck snap_recheck(const struct snap *s,
		    const struct snap_port *sp, const struct lb_ep *ep,
		    const struct ipaddr *client, struct pol_verdict *v);
/*
 * Why v denied: "ingress of ns/pod (isolated by ns/policy, ...)" or
 * "egress of ...", into buf.  Returns buf.
 */
char		*snap_deny_reason(const struct snap *,
		    const struct pol_verdict *v, char *buf, size_t len);

/*
 * Where the current snapshot is published.  peek is a plain atomic load
 * for a cheap "has it changed" test: its result may only be compared,
 * never dereferenced, unless the caller already holds a reference to
 * that snapshot.  acquire returns the current one with a new reference.
 */
void		 snap_slot_init(struct snap_slot *);
/* Takes over the caller's reference to s; drops the old one. */
void		 snap_slot_publish(struct snap_slot *, struct snap *s);
struct snap	*snap_slot_acquire(struct snap_slot *);
const struct snap *snap_slot_peek(struct snap_slot *);
/* Drop the slot's reference; the slot is empty afterwards. */
void		 snap_slot_clear(struct snap_slot *);

#endif
