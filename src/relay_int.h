/*
 * relay_int: what the relay_*.c files of one TCP connection share and
 * nothing else includes: the connection (struct relay) and its two
 * directions, the sides, what relay_pump reports, the NetworkPolicy
 * filter of one pick, and the loop clock.  relay.c runs a connection
 * from accept to close and judges its picks; relay_bytes.c moves its
 * bytes and relay_proxyhdr.c reads a client's PROXY header, and neither
 * calls relay.c: what they come to is returned to relay.c, which acts
 * on it.  relay_sweep.c walks the live connections and closes through
 * relay.c (relay_close_why), which never calls it.  The public
 * interface is relay.h.
 */
#ifndef SVCPROXY_RELAY_INT_H
#define SVCPROXY_RELAY_INT_H

#include <stdint.h>

#include <event2/event.h>
#include <event2/event_struct.h>

#include "lb.h"
#include "poller.h"
#include "proxyproto.h"
#include "relay.h"
#include "snapshot.h"

#define SIDE_CLIENT	0
#define SIDE_BACKEND	1

#define SIDE_BIT(side)	(1u << (side))

enum relay_state {
	RELAY_HEADER,		/* reading the client's PROXY header */
	RELAY_CONNECTING,
	RELAY_UP,
};

struct relay_dir {
	int			 pfd[2];	/* pool's pipe; -1: none */
	char			*buf;		/* pool's buffer; or NULL */
	size_t			 off;		/* into buf */
	size_t			 inflight;	/* bytes in the holder */
	uint64_t		 bytes;		/* delivered */
	unsigned		 eof:1;		/* source said FIN */
	unsigned		 shut:1;	/* FIN passed on */
	unsigned		 copy:1;	/* splice refused: copy */
	unsigned		 bulk:1;	/* a read filled a buffer */
	unsigned		 fin:1;		/* source's FIN reported
						   (EPOLLRDHUP) */
	unsigned		 err:1;		/* source's error reported
						   (EPOLLERR) */
	unsigned		 muted:1;	/* source's readable edges
						   off (relay_mute) */
};

struct relay {
	struct relay		*next;		/* worker's live or free */
	struct relay		*prev;		/* live list only */
	struct poll_item	 pi;		/* in w->poll */
	struct relay_wrk	*w;		/* the worker's */
	struct snap		*snap;		/* ref held until close */
	const struct snap_port	*sp;		/* in snap */
	struct lb_ep		*ep;		/* in snap; NULL: none */
	const struct lb_ep	*failed_ep;	/* in snap: last failure */
	struct lb_flow		 flow;
	uint64_t		 swept_gen;	/* relay_sweep: judged against */
	uint64_t		 gone_ms;	/* its port or endpoint left */
	int			 fd[2];		/* owned; -1: closed */
	enum relay_state	 state;
	struct relay_dir	 d[2];
	union pp_addr		 client;	/* not sockaddr_storage:
						   100 bytes less per conn;
						   a PROXY header's source */
	union pp_addr		 dst;		/* a PROXY header's
						   destination; family 0:
						   the client socket's own */
	const struct snap_lsn	*lsn;		/* in snap: accepted on */
	uint64_t		 start_ms;
	uint64_t		 last_ms;	/* last byte moved */
	int			 last_err;	/* last connect error */
	int32_t			 cpod;		/* client's Pod in snap */
	unsigned		 rd_ok:2;	/* SIDE_BIT: may have bytes */
	unsigned		 wr_ok:2;	/* SIDE_BIT: may take bytes */
	unsigned		 hup:2;		/* SIDE_BIT: FIN or error seen */
	unsigned		 tmo_on:1;	/* tmo is added */
	unsigned		 cegress:1;	/* cpod is egress-isolated */
	unsigned		 judge:1;	/* endpoints need a verdict */
	unsigned		 cpolled:1;	/* fd[0] is in w->poll */
	struct event		 tmo;		/* connect, then idle; last:
						   relay_alloc zeroes the rest */
};

/*
 * What relay_pump made of one direction.  It closes nothing: relay_step
 * ends the connection on DONE and on either failure.
 */
enum relay_pump_rc {
	RELAY_PUMP_GO,		/* moved what it could: wait */
	RELAY_PUMP_DONE,	/* EOF both ways, every byte delivered */
	RELAY_PUMP_SRC_FAILED,	/* the direction's source failed */
	RELAY_PUMP_DST_FAILED,	/* its destination failed */
};

/* One pick's NetworkPolicy filter: lives on relay_connect_next's stack. */
struct relay_judge {
	struct relay		*r;
	struct snap_client	 c;
	unsigned		 ndenied;
	struct pol_verdict	 denied;	/* the first denial */
};

/* Milliseconds on the worker's cached loop clock. */
static inline uint64_t
relay_now(struct relay_wrk *w)
{
	struct timeval tv;

	event_base_gettimeofday_cached(w->base, &tv);
	return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

/* relay.c */

/*
 * End r: rst has bit (1 << side) for each side to reset; detail
 * (optional) goes into the log line.  r is gone afterwards.
 */
void	 relay_close_why(struct relay *r, const char *reason,
	    const char *detail, unsigned rst);
/* relay_close_why without a detail. */
void	 relay_close(struct relay *r, const char *reason, unsigned rst);

/* relay_bytes.c */

/* Move what direction di of r can move now; r stays open. */
enum relay_pump_rc relay_pump(struct relay *r, int di, int *err);
/* The Service's PROXY header to r's backend, and the client's first
   bytes behind it.  0; -1 (the backend's errno); -2 (the client's). */
int	 relay_send_proxy(struct relay *r);

/* relay_proxyhdr.c */

/* What relay_header_take made of a client's bytes so far. */
enum relay_hdr_rc {
	RELAY_HDR_WAIT,		/* no whole header yet: wait for more */
	RELAY_HDR_TAKEN,	/* taken: r->client, r->dst say who */
	RELAY_HDR_FAILED,	/* the client's socket failed: *err */
	RELAY_HDR_INVALID,	/* not a PROXY protocol header */
	RELAY_HDR_INCOMPLETE,	/* a FIN before a whole header */
};

/* The client's PROXY header taken from its socket, if whole. */
enum relay_hdr_rc relay_header_take(struct relay *r, int *err);

#endif
