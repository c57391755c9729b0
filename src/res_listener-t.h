/*
 * res_listener-t: how and where a Service port is exposed (ClusterIP,
 * externalIP, LoadBalancer, NodePort on an address and port).  Plain
 * types shared by resolution (res-t.h) and the data path (snapshot,
 * listeners), which must not see the config side's object types.
 */
#ifndef SVCPROXY_RES_LISTENER_T_H
#define SVCPROXY_RES_LISTENER_T_H

#include <stdint.h>

#include "netaddr.h"
#include "proto.h"

enum res_listener_kind {
	RES_LSN_CLUSTER_IP,
	RES_LSN_EXTERNAL_IP,
	RES_LSN_LOAD_BALANCER,
	RES_LSN_NODE_PORT,
};

struct res_listener {
	enum res_listener_kind	 kind;
	struct ipaddr		 addr;		/* may be unspecified: all */
	uint16_t		 port;
	enum proto		 proto;
};

/* "ExternalIP" etc., as resolve prints it and run's listen errors say;
   inline so that the data path needs nothing of res.c. */
static inline const char *
res_listener_kind_name(enum res_listener_kind k)
{
	switch (k) {
	case RES_LSN_CLUSTER_IP:	return "ClusterIP";
	case RES_LSN_EXTERNAL_IP:	return "ExternalIP";
	case RES_LSN_LOAD_BALANCER:	return "LoadBalancer";
	case RES_LSN_NODE_PORT:		return "NodePort";
	}
	return "ClusterIP";
}

#endif
