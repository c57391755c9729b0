/*
 * relay_bytes: the bytes of one TCP connection (relay_int.h), moved
 * both ways.
 *
 * Direction d moves bytes from side d to side 1 - d.  Each direction
 * is a small state machine: read from its source into a holder (a
 * pipe, or a copy buffer where splice is refused) only when the holder
 * is empty, then write the holder out to its destination.  While bytes
 * wait for the destination the source is not read: that is the
 * back-pressure.  A holder is taken from the worker's pool on the
 * first byte and given back as soon as it is empty, so an idle
 * connection holds two sockets and nothing else.
 *
 * Nothing here closes a connection or calls relay.c: relay_pump and
 * relay_send_proxy say what happened, and relay.c acts on it.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <string.h>

#include <sys/socket.h>

#include "pool.h"
#include "proxyproto.h"
#include "relay.h"
#include "relay_int.h"

/*
 * Fill d's empty holder from src.  >0 bytes, 0 EOF, -1 errno.  *dry is
 * set when the read shows src had no more bytes just then: a recv that
 * returned fewer than asked for (TCP copies until its queue is empty).
 * A short splice shows nothing of the kind: the pipe also fills up by
 * its slots, one per page fragment of the socket's buffers, so that 16
 * small segments (or 64, in a pipe of 256 KiB) fill it with far fewer
 * bytes than asked for while more wait in the socket, and no new edge
 * comes for them unless the peer sends again.
 */
static ssize_t
dir_in(struct relay *r, struct relay_dir *d, int src, int *dry)
{
	struct relay_wrk	*w = r->w;
	ssize_t			 n;

	/*
	 * Small messages are cheaper to copy: recv/send cost the same two
	 * calls as splice in and out, without pipe buffers referencing
	 * socket pages.  Once a read fills the copy buffer the direction
	 * carries bulk data: splice from then on.
	 */
	*dry = 0;
	if (!d->bulk)
		goto copy;
	if (!d->copy && d->pfd[0] == -1 &&
	    pool_pipe_get(&w->pool, d->pfd) == -1)
		goto copy;
	if (!d->copy) {
		n = splice(src, NULL, d->pfd[1], NULL, w->pool.pipe_size,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n >= 0 || errno != EINVAL)
			return n;
		/* This socket cannot splice: copy from now on. */
		d->copy = 1;
		pool_pipe_put(&w->pool, d->pfd, 0);
	}
copy:
	if (d->buf == NULL && (d->buf = pool_buf_get(&w->pool)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	d->off = 0;
	if ((n = recv(src, d->buf, POOL_BUF_SIZE, 0)) == POOL_BUF_SIZE)
		d->bulk = 1;
	else if (n > 0)
		*dry = 1;
	return n;
}

/* Drain d's holder into dst.  >0 bytes, -1 errno. */
static ssize_t
dir_out(struct relay_dir *d, int dst)
{
	ssize_t n;

	if (d->pfd[0] != -1)
		n = splice(d->pfd[0], NULL, dst, NULL, d->inflight,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	else {
		n = send(dst, d->buf + d->off, d->inflight, MSG_NOSIGNAL);
		if (n > 0)
			d->off += (size_t)n;
	}
	if (n == 0) {
		errno = EPIPE;	/* cannot happen; never spin on it */
		return -1;
	}
	return n;
}

/*
 * Direction di waits for room at its destination with its holder full:
 * until then its source's bytes cannot move, and each segment that
 * reaches the source would wake the worker for nothing (about ten per
 * wait on a bulk stream).  So its readable edges go off while it
 * waits (on: 0), and back on when the holder has drained (on: 1),
 * which brings an edge at once if bytes came meanwhile.  Two epoll_ctl
 * calls per wait, and only for a direction that carries bulk data.
 * Turning them off may fail: they stay on, as before.  0; -1 (errno)
 * when they cannot be turned back on: the direction would wait for
 * good.
 */
static int
relay_mute(struct relay *r, int di, int on)
{
	struct relay_dir *d = &r->d[di];

	if (d->muted == !on || (!on && !d->bulk))
		return 0;
	if (poller_reading(&r->w->poll, r->fd[di], &r->pi, di, on) == -1)
		return on ? -1 : 0;
	d->muted = !on;
	return 0;
}

/* The holder is empty: give it back to the pool. */
static void
dir_release(struct relay_wrk *w, struct relay_dir *d)
{
	pool_pipe_put(&w->pool, d->pfd, 0);
	pool_buf_put(&w->pool, &d->buf);
}

/*
 * Move what direction di can move now, as far as rd_ok and wr_ok say
 * its sides can go (without them nothing is tried: no call that can
 * only say EAGAIN).  r stays open whatever it returns: relay_pump
 * never closes a connection, relay_step acts on what it says.
 * RELAY_PUMP_GO: wait for the next edge (or a rerun); RELAY_PUMP_DONE:
 * EOF both ways; RELAY_PUMP_SRC_FAILED, RELAY_PUMP_DST_FAILED: side di,
 * or side 1 - di, failed with *err.
 */
enum relay_pump_rc
relay_pump(struct relay *r, int di, int *err)
{
	struct relay_dir	*d = &r->d[di];
	int			 src = r->fd[di], dst = r->fd[1 - di], k;
	unsigned		 sbit = SIDE_BIT(di), dbit = SIDE_BIT(1 - di);
	ssize_t			 n;
	int			 dry;

	for (k = 0; k < RELAY_ROUNDS; k++) {
		if (d->inflight > 0) {
			if (!(r->wr_ok & dbit))
				return RELAY_PUMP_GO;
			if ((n = dir_out(d, dst)) > 0) {
				d->inflight -= (size_t)n;
				d->bytes += (uint64_t)n;
				r->last_ms = relay_now(r->w);
				continue;
			}
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				/* Room made later brings an EPOLLOUT edge. */
				r->wr_ok &= ~dbit;
				(void)relay_mute(r, di, 0);
				return RELAY_PUMP_GO;
			}
			*err = errno;
			return RELAY_PUMP_DST_FAILED;
		}
		dir_release(r->w, d);
		if (d->muted && relay_mute(r, di, 1) == -1) {
			*err = errno;
			return RELAY_PUMP_SRC_FAILED;
		}
		if (d->eof) {
			if (d->shut)
				return RELAY_PUMP_GO;
			/* Both ways done: close() sends this FIN itself. */
			if (r->d[1 - di].shut)
				return RELAY_PUMP_DONE;
			/* Drained: pass the FIN on, as the peer sent it. */
			(void)shutdown(dst, SHUT_WR);
			d->shut = 1;
			return RELAY_PUMP_GO;
		}
		if (!(r->rd_ok & sbit))
			return RELAY_PUMP_GO;
		if ((n = dir_in(r, d, src, &dry)) > 0) {
			d->inflight = (size_t)n;
			/*
			 * src had no more just then: more will bring another
			 * edge, and a read now could only say EAGAIN.  A FIN
			 * reported before this read is right behind these
			 * bytes (TCP queues it after all the data before it):
			 * the source is done, without a read that returns 0.
			 * An error is read for what it is.
			 */
			if (dry && d->fin && !d->err)
				d->eof = 1;
			else if (dry && !(r->hup & sbit))
				r->rd_ok &= ~sbit;
			r->last_ms = relay_now(r->w);
			continue;
		}
		if (n == 0) {
			d->eof = 1;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN) {
			/* Nothing came: an idle connection holds no buffer. */
			r->rd_ok &= ~sbit;
			dir_release(r->w, d);
			return RELAY_PUMP_GO;
		}
		*err = errno;
		return RELAY_PUMP_SRC_FAILED;
	}
	/* Out of rounds: let the other connections run, then go on. */
	poller_rerun_later(&r->w->poll, &r->pi);
	return RELAY_PUMP_GO;
}

/*
 * The Service's PROXY protocol header to the backend just connected:
 * source the client, destination the address and port it connected
 * to.  Called before any client byte has been relayed, so none can be
 * ahead of it.  Client bytes already waiting follow it in the same
 * send, from the copy holder of the client's direction (what is not
 * sent stays there for relay_pump): one system call and one segment,
 * not two, for the client-speaks-first protocols; a client that waits
 * for the server gets the header alone.  The header is at most
 * PP_HDR_MAX bytes into a fresh socket's buffer, so a short write of
 * it is an error, not a wait.  0; -1 with errno (the backend's); -2
 * with errno, the client's socket failed.
 */
int
relay_send_proxy(struct relay *r)
{
	struct relay_dir	*d = &r->d[SIDE_CLIENT];
	struct sockaddr_storage	 local;
	const struct sockaddr	*dst = (struct sockaddr *)&local;
	socklen_t		 len = sizeof(local);
	size_t			 n, room;
	ssize_t			 m = 0, w;

	/*
	 * What the client's own PROXY header said, if it sent one; else
	 * the listener's address, when it has one (no system call), or
	 * what the kernel says the client reached (a wildcard listener).
	 */
	if (r->dst.sa.sa_family != 0)
		dst = &r->dst.sa;
	else if (r->lsn->addr.family != 0)
		(void)ipaddr_sockaddr(&r->lsn->addr, r->lsn->port, &local);
	else if (getsockname(r->fd[SIDE_CLIENT], (struct sockaddr *)&local,
	    &len) == -1)
		return -2;
	if (d->buf == NULL && (d->buf = pool_buf_get(&r->w->pool)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	if ((n = pp_build(r->sp->svc->proxy_protocol, 0, &r->client.sa, dst,
	    d->buf, POOL_BUF_SIZE)) == 0) {
		errno = EINVAL;
		return -1;
	}
	room = POOL_BUF_SIZE - n;
	while ((m = recv(r->fd[SIDE_CLIENT], d->buf + n, room, 0)) == -1 &&
	    errno == EINTR)
		;
	if (m == -1 && errno != EAGAIN)
		return -2;
	if (m == -1 || ((size_t)m < room && !(r->hup & SIDE_BIT(SIDE_CLIENT))))
		r->rd_ok &= ~SIDE_BIT(SIDE_CLIENT);	/* as relay_pump */
	if (m == 0)
		d->eof = 1;	/* passed on once the header is out */
	if (m < 0)
		m = 0;
	if ((size_t)m == room)
		d->bulk = 1;
	while ((w = send(r->fd[SIDE_BACKEND], d->buf, n + (size_t)m,
	    MSG_NOSIGNAL)) == -1 && errno == EINTR)
		;
	if (w >= 0 && (size_t)w < n)
		errno = EMSGSIZE;
	if (w < 0 || (size_t)w < n)
		return -1;
	d->bytes += (uint64_t)w - n;	/* the client's, not the header */
	d->off = (size_t)w;
	d->inflight = n + (size_t)m - (size_t)w;
	return 0;
}
