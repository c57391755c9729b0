/*
 * listener: the sockets workers accept on, and the main thread's record
 * of them.
 *
 * Every listener of a snapshot is opened once per worker with
 * SO_REUSEPORT, so the kernel spreads new connections (and, for UDP,
 * datagrams by flow) over the workers without a shared queue or lock.
 * IP_FREEBIND (IPV6_FREEBIND) lets a keepalived backup bind a VIP it
 * does not hold yet; v6 sockets are IPV6_V6ONLY so a v4 wildcard and a
 * v6 wildcard never collide.
 *
 * A listener carries its protocol (enum proto): a TCP socket listens,
 * a UDP socket is only bound (SOCK_DGRAM, no listen(2)).  TCP and UDP
 * have separate port spaces, so 10.0.0.1:53/TCP and 10.0.0.1:53/UDP are
 * two targets, two sockets and two entries of every table here.  The
 * workers serve TCP and UDP (LSN_SERVED): lsn_targets yields the
 * protocols it is asked for; a TCP listener's event accepts, a UDP
 * one's reads datagrams (relay_udp.h), the packet info of each saying
 * which local address it was sent to (lsn_accept_event turns that on).
 *
 * A snapshot's listeners expand to bind targets (a wildcard becomes
 * 0.0.0.0 and ::), sorted by socket address, then protocol.  The main
 * thread keeps a struct lsn_table of what is bound, by target; a reload
 * diffs it with the next snapshot's targets (lsn_diff): a target in
 * both keeps its sockets, so no connection is ever refused on it.
 *
 * A binary upgrade (SIGUSR2) hands every socket to the new process in
 * the environment (nginx passes NGINX the same way):
 *
 *	SVCPROXY_INHERIT_FDS="FD:ADDR:PORT:PROTO;..."
 *
 * ADDR:PORT is the bound address as lsn_sa_name spells it ("[::1]:80"
 * for v6), PROTO is "tcp" (a listening TCP socket), "udp" (a bound UDP
 * socket) or "admin" (the admin server's listening TCP socket).  "tcp"
 * and "admin" are all a process before UDP ever wrote, so an upgrade
 * from it reads the same; a process that serves TCP only writes no
 * "udp", so a downgrade reads too.  The new process checks each fd's
 * type, protocol and address against its item, skips (with a warning)
 * one that does not match, and adopts the sockets whose target it still
 * serves instead of binding: all of them, one per worker, the surplus
 * (the old process had more workers) spread over the workers as extra
 * listeners, never closed, since closing a socket of a SO_REUSEPORT
 * group resets the connections queued on it; with more workers than
 * sockets it opens the rest with SO_REUSEPORT into the same group.
 *
 * Shared sockets (ProxyConfig spec.listenerSockets: Shared, or Auto
 * with many addresses): a TCP target gets one socket that every worker
 * watches, instead of one per worker, so many addresses do not take
 * addresses x workers descriptors.  Each worker holds a struct lsn for
 * it pointing at one struct lsn_shared, which counts the workers
 * holding it: the last to let go closes the socket, so no worker can
 * ever accept on a number another one closed and the kernel reused.
 * A worker watches its shared sockets in an epoll set of its own with
 * EPOLLEXCLUSIVE, level-triggered (worker_shared.c).  The socket still has
 * SO_REUSEPORT, so a later reload or upgrade in per-worker mode joins
 * it.  UDP stays per worker in both modes: SO_REUSEPORT keeps a flow's
 * datagrams on one socket, so on one worker and its flow table; a
 * socket read by several workers would split a flow between tables.
 * A mode applies to the addresses opened under it: a reload that flips
 * Auto keeps the sockets of the addresses it keeps (closing one would
 * reset what is queued on it) and opens the new ones in the new mode.
 * So a per-worker address is consolidated into one shared socket only
 * by a restart (an upgrade adopts every socket passed); until then
 * lsn_table_unshared counts it, for /status and the reload's log.
 */
#ifndef SVCPROXY_LISTENER_H
#define SVCPROXY_LISTENER_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <sys/socket.h>

#include <event2/event.h>
#include <event2/event_struct.h>

#include "netaddr.h"
#include "pcfg-t.h"
#include "proto.h"
#include "res_listener-t.h"
#include "snapshot.h"

#define LSN_BACKLOG	4096	/* the kernel caps it at somaxconn */
#define LSN_NAMELEN	(NETADDR_STRLEN + 8)
#define LSN_INHERIT_ENV	"SVCPROXY_INHERIT_FDS"
/*
 * TCP_DEFER_ACCEPT's timeout, seconds (HAProxy's defer-accept uses 1):
 * how long a connection that sends nothing waits before the accept,
 * which the kernel then does anyway.  On a listener whose Service port
 * says its clients speak first (snapshot-t.h: defer_accept), the
 * worker wakes once for a connection and its first bytes.
 */
#define LSN_DEFER_ACCEPT_S	1

/* A set of protocols, for lsn_targets: LSN_PROTO(PROTO_TCP) | ... */
#define LSN_PROTO(p)	(1u << (p))
/* What the workers serve (TCP through accept, UDP through
   relay_udp.h): the set run and reload bind.  SCTP is not. */
#define LSN_SERVED	(LSN_PROTO(PROTO_TCP) | LSN_PROTO(PROTO_UDP))

struct wrk;

/* Sockets one address gets (lsn_open's choice, for /status). */
enum lsn_mode {
	LSN_MODE_NONE,		/* nothing opened yet */
	LSN_MODE_PER_WORKER,
	LSN_MODE_SHARED,
};

/*
 * A TCP socket every worker watches: malloc'd by lsn_open with refs
 * set to the number of workers; each worker's struct lsn holds one
 * reference, and lsn_shared_unref's last call closes fd and frees it.
 * slot[id] is worker id's struct lsn for it (written only by that
 * worker): its epoll set carries the lsn_shared, which does not move
 * when the worker's array does.
 */
struct lsn_shared {
	_Atomic unsigned	 refs;
	int			 fd;
	struct lsn		*slot[];	/* per worker id */
};

struct lsn {
	int			 fd;		/* owned; -1: closed */
	struct sockaddr_storage	 sa;		/* bound to */
	socklen_t		 salen;
	struct ipaddr		 addr;		/* snapshot key; family 0 */
	uint16_t		 port;		/* snapshot key */
	enum proto		 proto;		/* snapshot key */
	char			 name[LSN_NAMELEN]; /* bound to */
	struct event		 ev;		/* worker's accept event */
	struct wrk		*w;		/* owning worker */
	struct lsn_shared	*sh;		/* ref; NULL: w's own socket */
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

/* What a snapshot wants bound: one socket address, one snapshot key. */
struct lsn_target {
	struct sockaddr_storage	 sa;
	socklen_t		 salen;
	struct ipaddr		 addr;		/* snapshot key; family 0 */
	uint16_t		 port;
	enum proto		 proto;
	enum res_listener_kind	 kind;
	const char		*label;		/* snapshot arena; errors */
	int			 defer;		/* TCP_DEFER_ACCEPT */
};

/*
 * The main thread's record of one bound target.  The sockets belong to
 * the workers once handed over; fds are their numbers, valid until the
 * main thread tells the workers to close them (and drops the entry).
 */
struct lsn_bound {
	struct sockaddr_storage	 sa;
	socklen_t		 salen;
	enum proto		 proto;
	char			 name[LSN_NAMELEN]; /* address, no proto */
	int			*fds;		/* owned array */
	size_t			 nfds;
	int			 shared;	/* fds are lsn_shared's */
	int			 defer;		/* TCP_DEFER_ACCEPT is set */
};

/* Sorted by lsn_key_cmp; v is owned. */
struct lsn_table {
	struct lsn_bound	*v;
	size_t			 n;
	enum lsn_mode		 mode;		/* the last lsn_open's choice */
	enum pcfg_lsn_sockets	 setting;	/* what it was asked */
};

/* Sockets passed by the old process of a binary upgrade. */
struct lsn_inherit_fd {
	int			 fd;		/* owned until adopted */
	struct sockaddr_storage	 sa;
	socklen_t		 salen;
	enum proto		 proto;		/* TCP for admin */
	int			 admin;		/* the admin HTTP socket */
	int			 used;
};

struct lsn_inherit {
	struct lsn_inherit_fd	*v;		/* owned array */
	size_t			 n;
};

/* Order of socket addresses: family, port, address.  Pure. */
int	 lsn_sa_cmp(const struct sockaddr_storage *,
	    const struct sockaddr_storage *);
/* Order of bind targets: socket address (as above), then protocol. */
int	 lsn_key_cmp(const struct sockaddr_storage *, enum proto,
	    const struct sockaddr_storage *, enum proto);
/* "127.0.0.1:80" or "[::1]:80" into buf (LSN_NAMELEN). */
void	 lsn_sa_name(const struct sockaddr_storage *, char *buf);

/*
 * The bind targets of s whose protocol is in the set protos
 * (LSN_PROTO bits; run and reload pass LSN_SERVED), sorted by
 * lsn_key_cmp, without repeats (a wildcard listener becomes 0.0.0.0
 * and ::).  Returns a malloc'd array (free it; labels point into s),
 * or NULL when out of memory.
 */
struct lsn_target *lsn_targets(const struct snap *s, unsigned protos,
	    size_t *n);

/*
 * Compare what is bound with what the next snapshot wants, by address
 * and protocol (lsn_key_cmp): gone[i] is set for each entry of cur that
 * t no longer has, added[j] for each target of t that cur lacks.  Both
 * sorted.  defer (NULL: not wanted) gets, per entry of cur, the
 * TCP_DEFER_ACCEPT it should have: the target's for a kept one, its
 * own for one gone.  Returns the number of changes.  Pure: no socket
 * is touched, so a reload that fails later leaves the running sockets
 * as they were; lsn_table_defer applies defer once it commits.
 */
size_t	 lsn_diff(const struct lsn_table *cur, const struct lsn_target *t,
	    size_t n, unsigned char *gone, unsigned char *added,
	    unsigned char *defer);
/*
 * Bring each entry i of cur to TCP_DEFER_ACCEPT defer[i] (lsn_diff's),
 * with a setsockopt on its sockets only where it differs, so an entry
 * whose sockets were closed meanwhile (gone: defer[i] is its own) is
 * not touched.
 */
void	 lsn_table_defer(struct lsn_table *cur, const unsigned char *defer);

/*
 * Open targets t[0..n) of a snapshot with nall targets in all (a
 * reload opens only those it adds) and the listenerSockets setting
 * sockets, for nworkers workers: inherited sockets that
 * match first (inh may be NULL), then new SO_REUSEPORT sockets for the
 * workers left over.  Socket k of a target goes to groups[k % nworkers]
 * (added to what the group holds) and every socket is recorded in a new
 * sorted table out.  A TCP target's sockets listen; a UDP target's are
 * bound only (SO_REUSEADDR is off for UDP: see lsn_socket).  A new
 * address is first probed without SO_REUSEPORT, which fails when
 * another process holds it (in that protocol's port space).  A v6
 * wildcard on a host without IPv6 is skipped with a warning.  Returns
 * 0, or -1 with err naming the Service and address; on failure nothing
 * opened here is left open and the groups are as they were.
 *
 * Shared or per worker (lsn_mode_pick of sockets and nall): a shared
 * TCP target gets one socket (or every inherited one), each pushed to
 * every group with a struct lsn_shared; the table's entry is marked
 * shared.  out->mode says which (NONE when n is 0) and the choice is
 * logged.
 */
int	 lsn_open(const struct lsn_target *t, size_t n,
	    enum pcfg_lsn_sockets sockets, size_t nall, unsigned nworkers,
	    struct lsn_inherit *inh, struct lsn_group *groups,
	    struct lsn_table *out, char *err, size_t errlen);

/*
 * The mode of a snapshot's nall targets under the setting sockets, for
 * nworkers workers under the open file limit nofile: the setting, or
 * for Auto, Shared when nall x nworkers > nofile / 2; NONE when nall is
 * 0.  Pure.
 */
enum lsn_mode lsn_mode_pick(enum pcfg_lsn_sockets sockets, size_t nall,
	    unsigned nworkers, uint64_t nofile);
const char *lsn_mode_name(enum lsn_mode);
const char *lsn_setting_name(enum pcfg_lsn_sockets);
/* Sockets the table names (shared ones once). */
size_t	 lsn_table_nsockets(const struct lsn_table *);
/*
 * Under Shared, the TCP addresses that still hold more than one socket
 * (opened per worker before a reload crossed to Shared, or adopted from
 * a per-worker process in an upgrade), and in extra the sockets they
 * hold beyond one each.  They stay so until a restart: closing a socket
 * of a SO_REUSEPORT group resets what is queued on it.  0 otherwise.
 */
size_t	 lsn_table_unshared(const struct lsn_table *, size_t *extra);
/* Drop one reference; the last closes the socket and frees sh. */
void	 lsn_shared_unref(struct lsn_shared *sh);

/* Close every socket of g and free its array (events must be gone). */
void	 lsn_group_free(struct lsn_group *g);
/* Append l (moved) to g; 0, or -1 when out of memory. */
int	 lsn_group_push(struct lsn_group *g, const struct lsn *l);

/*
 * cur minus the entries marked gone, plus every entry of add (moved:
 * add is empty afterwards), sorted.  0, or -1 when out of memory (cur
 * unchanged).  Frees the dropped entries' arrays, not their sockets.
 */
int	 lsn_table_merge(struct lsn_table *cur, const unsigned char *gone,
	    struct lsn_table *add);
/* Free the record (not the sockets, which the workers own). */
void	 lsn_table_free(struct lsn_table *);
/* Close every socket the table names (only before workers own them). */
void	 lsn_table_close(struct lsn_table *);

/*
 * Set up l's read event on base, calling cb with l: for a worker, whose
 * cb accepts (TCP) or reads datagrams (UDP).  A UDP socket gets
 * IP_PKTINFO / IPV6_RECVPKTINFO here (also one inherited from a process
 * that did not set it).  Other protocols are refused with a log line
 * and their event left unset.  0, or -1.
 */
int	 lsn_accept_event(struct lsn *l, struct event_base *base,
	    event_callback_fn cb);

/*
 * Parse SVCPROXY_INHERIT_FDS (env may be NULL: nothing inherited).
 * Each fd must be a socket of the item's protocol (tcp and admin: a
 * listening TCP socket; udp: a UDP socket) bound to the address given;
 * one that is not is skipped with a warning.  0, or -1 with err on a
 * malformed value (PROTO other than tcp, udp or admin), with inh
 * empty.
 */
int	 lsn_inherit_parse(const char *env, struct lsn_inherit *,
	    char *err, size_t errlen);
/* The adopted admin socket, or -1. */
int	 lsn_inherit_admin(struct lsn_inherit *);
/* Close what was not adopted (logged) and free the array. */
void	 lsn_inherit_free(struct lsn_inherit *);
/*
 * The environment value handing tab's sockets, each with its protocol,
 * and admin_fd (-1: none) to a new process.  Returns a malloc'd
 * string, or NULL.
 */
char	*lsn_inherit_format(const struct lsn_table *tab, int admin_fd);

#endif
