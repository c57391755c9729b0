/*
 * listener: the sockets a worker accepts on.
 *
 * Every TCP listener of a snapshot is opened once per worker with
 * SO_REUSEPORT, so the kernel spreads new connections over the workers
 * without a shared accept queue or lock.  IP_FREEBIND (IPV6_FREEBIND)
 * lets a keepalived backup bind a VIP it does not hold yet; v6 sockets
 * are IPV6_V6ONLY so a v4 wildcard and a v6 wildcard never collide.
 */
#ifndef SVCPROXY_LISTENER_H
#define SVCPROXY_LISTENER_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <event2/event_struct.h>

#include "netaddr.h"
#include "res.h"
#include "snapshot.h"

#define LSN_BACKLOG	4096	/* the kernel caps it at somaxconn */

struct wrk;

struct lsn {
	int			 fd;		/* owned; -1: closed */
	struct ipaddr		 addr;		/* snapshot key; family 0 */
	uint16_t		 port;		/* snapshot key */
	enum res_proto		 proto;		/* snapshot key */
	char			 name[NETADDR_STRLEN + 8]; /* bound to */
	struct event		 ev;		/* worker's accept event */
	struct wrk		*w;		/* owning worker */
	uint64_t		 cache_gen;	/* snapshot gen of cache_lsn */
	const struct snap_lsn	*cache_lsn;	/* in worker's snapshot */
	unsigned		 on:1;		/* ev is added */
	unsigned		 paused:1;	/* at a connection limit */
};

/* One worker's listeners; v is malloc'd and owned by the group. */
struct lsn_group {
	struct lsn		*v;
	size_t			 n;
};

/*
 * Open every TCP listener of s once for each of nworkers, into
 * groups[0..nworkers-1] (same order in each).  First checks that no
 * other socket holds an address, since SO_REUSEPORT alone would share
 * it silently with another process of the same user.  Returns 0, or -1
 * with err naming the Service and address (nothing is left open).
 */
int	 lsn_open_all(const struct snap *s, unsigned nworkers,
	    struct lsn_group *groups, char *err, size_t errlen);
/* Close every socket of g and free its array (events must be gone). */
void	 lsn_group_free(struct lsn_group *g);

#endif
