/*
 * relay_udp: UDP flows between clients and endpoints, for one worker.
 *
 * A flow (udp_flow.h) is a client address and port plus the local
 * address and port it sent to.  Its first datagram chooses an endpoint
 * as a TCP connection does (lb_pick: algorithm, affinity, health,
 * NetworkPolicy; loadBalancerSourceRanges first); the flow then owns
 * one connected upstream socket, a libevent event on the worker's
 * base, and later datagrams follow it.  Not in a private epoll set as
 * TCP's relays (poller.h): that set is itself polled by the base, so
 * each reply would cost two epoll_wait calls; measured with one
 * request in flight, 7.5 system calls per round trip became 5.9.  Replies leave through the
 * listener's socket from the exact address the client sent to
 * (IP_PKTINFO / IPV6_PKTINFO on receive and on send), so a wildcard or
 * FREEBIND listener answers from the Service address, not from
 * whatever the routing table prefers.
 *
 * Datagrams move in batches (recvmmsg on the listener, recvmmsg and
 * sendmmsg on the way back) through buffers allocated once per
 * worker; a flow comes from a free list (malloc'd up to the bound,
 * then reused): nothing is allocated per datagram.
 *
 * A flow holds a reference to the snapshot it chose under.  When the
 * worker's snapshot moves, the flow's next datagram looks for its
 * endpoint (by address) in the listener's current Service port: kept
 * when still usable (lb_flow_may: weight, health, policy), else the
 * flow chooses again.  Health is asked per datagram batch (two loads).
 *
 * It expires after its Service's idle timeout (snap_svc's
 * udp_idle_timeout_ms: svcproxy.io/udp-idle-timeout, else ProxyConfig
 * spec.udpIdleTimeout) and, with svcproxy.io/udp-responses N (nginx's
 * proxy_responses), once it has passed N replies per request it sent.
 *
 * With svcproxy.io/proxy-protocol: v2 each datagram to the endpoint
 * starts with a PROXY v2 header (DGRAM over IPv4 or IPv6: the client,
 * and the local address it sent to), built once per flow and sent as
 * its own iovec before the payload; replies come back without one.
 *
 * Calls go one way: the worker calls relay_udp.
 */
#ifndef SVCPROXY_RELAY_UDP_H
#define SVCPROXY_RELAY_UDP_H

#include <stddef.h>
#include <stdint.h>

#include <sys/socket.h>

#include <event2/event.h>
#include <event2/event_struct.h>

#include "log.h"
#include "snapshot.h"
#include "udp_flow.h"

#define RELAY_UDP_BATCH		32	/* datagrams per recvmmsg */
#define RELAY_UDP_DGRAM_MAX	65536	/* bytes per buffer */
#define RELAY_UDP_ROUNDS	8	/* batches before yielding */
#define RELAY_UDP_SWEEP_MS	250	/* idle expiry granularity */
#define RELAY_UDP_FLOWS_DEFAULT	16384	/* per worker, fds permitting */

struct relay_udp_flow;

/* One worker's UDP side: that worker's thread only. */
struct relay_udp_wrk {
	/* The worker's, set before relay_udp_wrk_init: */
	struct event_base	*base;
	unsigned		 id;		/* column in the metrics */
	size_t			 max_flows;	/* this worker's bound */
	void			(*closed)(void *arg);	/* a flow closed;
						   may be NULL */
	void			*arg;
	_Atomic uint64_t	*fds;		/* the group's fd budget
						   (worker.h); NULL: none */
	const _Atomic uint64_t	*fd_cap;	/* the group's cap, which a
						   reload may change; 0: no
						   budget */
	_Atomic uint64_t	*fd_dropped;	/* the group's: flows the
						   budget refused; NULL */
	/* Its own: */
	struct udp_flow_tab	 tab;		/* live flows, idle order */
	struct relay_udp_flow	*free;		/* idle structs, owned */
	size_t			 nalloc;	/* structs malloc'd */
	const struct snap	*cur;		/* worker's, borrowed per call */
	struct event		 sweep_ev;	/* idle expiry */
	struct log_rl		 rl;		/* limit, policy lines */
	/* One batch's buffers, owned (relay_udp_wrk_init): */
	struct mmsghdr		*msgs;
	struct iovec		*iov;		/* 2 per datagram: PROXY
						   header, payload */
	struct sockaddr_storage	*names;
	char			*ctl;		/* RELAY_UDP_CTL each */
	char			*buf;		/* RELAY_UDP_DGRAM_MAX each */
	struct relay_udp_flow	**touched;	/* a batch's flows, to
						   count; borrowed each */
	uint64_t		 batch;		/* batches read */
};

/*
 * Set up w (base, id, max_flows set): the table, the batch
 * buffers.  0, or -1 (errno).  relay_udp_wrk_free undoes it, also after
 * a failure or on a zeroed struct, once every flow is closed
 * (relay_udp_close_all), before base is freed.
 */
int	 relay_udp_wrk_init(struct relay_udp_wrk *w);
void	 relay_udp_wrk_free(struct relay_udp_wrk *w);

/*
 * The listener lfd (bound to lsa) is readable: read up to a few
 * batches and relay each datagram.  cur is the worker's snapshot and sl
 * the listener's Service port in it (NULL: a reload dropped it, the
 * datagrams are read and dropped).  Flows take their own reference to
 * cur.
 */
void	 relay_udp_input(struct relay_udp_wrk *w, int lfd,
	    const struct sockaddr_storage *lsa, struct snap *cur,
	    const struct snap_lsn *sl);
/* The listener lfd is about to close: close the flows that reply on it. */
void	 relay_udp_lsn_closed(struct relay_udp_wrk *w, int lfd);
/* Close every flow now (reason "shutdown"). */
void	 relay_udp_close_all(struct relay_udp_wrk *w);
/* Flows open now. */
static inline size_t
relay_udp_nflows(const struct relay_udp_wrk *w)
{
	return w->tab.n;
}

#endif
