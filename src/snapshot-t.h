/*
 * snapshot-t: the immutable runtime view's types (what snapshot.h's
 * functions build, publish and read).  Plain types only: the data path
 * includes them without the config side; the ProxyConfig values it
 * needs come from pcfg-t.h, the compiled policy from policy-t.h and the
 * listener kind from res_listener-t.h.
 */
#ifndef SVCPROXY_SNAPSHOT_T_H
#define SVCPROXY_SNAPSHOT_T_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "health-t.h"
#include "lb.h"
#include "log.h"
#include "netaddr.h"
#include "pcfg-t.h"
#include "policy-t.h"
#include "proto.h"
#include "res_listener-t.h"

#define SNAP_ARENA_LIMIT	((size_t)512 * 1024 * 1024)

struct snap_port;
struct met_port;

struct snap_svc {
	const char		*ns;		/* snapshot arena */
	const char		*name;		/* snapshot arena */
	struct snap_port	*ports;		/* same snapshot; its own */
	size_t			 nports;
	struct cidr		*lb_src;	/* arena; LB listener only */
	size_t			 nlb_src;	/* 0: any client */
	uint32_t		 connect_timeout_ms;	/* global applied */
	uint32_t		 idle_timeout_ms;	/* global applied */
	uint32_t		 max_connections;	/* 0: no limit */
	enum pp_version		 proxy_protocol;	/* header sent to
						   the backends first */
	int			 accept_proxy;	/* clients send one first */
	uint32_t		 udp_idle_timeout_ms;	/* global applied */
	uint32_t		 udp_responses;	/* 0: never closes on replies */
	uint32_t		 udp_max_flows;	/* per port; 0: no bound */
	int			 transparent;	/* connect from the client's
						   address (IP_TRANSPARENT) */
	struct lb_live		*live;		/* livetab: active count */
};

struct snap_port {
	const struct snap_svc	*svc;		/* same snapshot */
	const char		*name;		/* snapshot arena; "" */
	uint16_t		 port;
	enum proto		 proto;
	const char		*label;		/* "ns/name:port" (arena) */
	struct lb_set		 lb;		/* endpoints, algorithm */
	int			 pol_isolated;	/* an endpoint Pod is isolated
						   for ingress */
	int			 defer_accept;	/* TCP_DEFER_ACCEPT on its
						   listeners (listener.h) */
	struct hc_config	 hc;		/* strings: snapshot arena;
						   timeout, interval, rise
						   and fall defaulted */
	struct met_port		*met;		/* run's met_tab (metrics.h);
						   set before publish; NULL */
};

/* One address a Service port is served on; unique by addr/port/proto. */
struct snap_lsn {
	struct ipaddr		 addr;		/* family 0: every address */
	uint16_t		 port;
	enum proto		 proto;
	enum res_listener_kind	 kind;
	const struct snap_port	*sp;		/* same snapshot */
	char			 name[NETADDR_STRLEN + 8];
};

struct snap {
	_Atomic unsigned	 refs;
	struct arena		 arena;		/* owns everything below */
	uint64_t		 gen;		/* set by the publisher */
	struct snap_svc		*svcs;
	size_t			 nsvcs;
	struct snap_port	*ports;
	size_t			 nports;
	struct snap_lsn		*lsns;		/* sorted: snap_lsn_cmp */
	size_t			 nlsns;
	uint32_t		 drain_timeout_ms;
	uint32_t		 max_connections;	/* 0: from fd limit */
	uint32_t		 udp_idle_timeout_ms;	/* > 0 */
	uint32_t		 udp_max_flows;		/* 0: fd budget's */
	enum conn_log		 connection_log;
	enum pcfg_lsn_sockets	 listener_sockets;	/* listener.h */
	int			 keep_established;	/* on policy change */
	struct cidr		*pp_trusted;	/* arena: who may send a
						   PROXY header */
	size_t			 npp_trusted;
	uint32_t		 pp_timeout_ms;	/* to send it in */
	struct pol_table	 pol;		/* arena; names copied */
	struct log_rl		 rl;		/* panic lines (lb.h), any
						   worker; its own */
};

/* A connecting client as the policy sees it; on the worker's stack. */
struct snap_client {
	struct ipaddr		 addr;
	int32_t			 pod;		/* POL_NONE: not a Pod */
	int			 egress;	/* pod is egress-isolated */
};

enum snap_recheck {
	SNAP_KEEP,	/* s's policies allow it */
	SNAP_DENY,	/* s's policies deny it: close it */
	SNAP_GONE,	/* s has no such Service port or endpoint: keep */
};

/* Where the current snapshot is published (snap_slot_*). */
struct snap_slot {
	pthread_mutex_t		 mu;		/* orders acquire/publish */
	_Atomic(struct snap *)	 cur;		/* slot holds one ref */
	uint64_t		 gen;		/* publisher's counter */
};

#endif
