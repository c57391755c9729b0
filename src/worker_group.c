/*
 * worker_group: the workers as one, seen from the main thread: the
 * group's counters, mutex and eventfds, creating, starting, commanding
 * and freeing its workers, and the open file budget they share.  The
 * run context (cmd_run.c) calls these and owns the struct; a worker
 * itself is worker.c's.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/eventfd.h>
#include <sys/resource.h>

#include "log.h"
#include "worker.h"

/* Raise the soft fd limit to the hard one; returns the new soft. */
static uint64_t
wrk_group_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return 1024;
	if (rl.rlim_cur != rl.rlim_max) {
		rlim_t want = rl.rlim_max;

		if (want == RLIM_INFINITY)
			want = 1 << 20;
		rl.rlim_cur = want;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			log_warn("cannot raise the open file limit to %llu: "
			    "%s", (unsigned long long)want, strerror(errno));
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	return (uint64_t)rl.rlim_cur;
}

int
wrk_group_init(struct wrk_group *g, struct snap_slot *slot, size_t pipe_size,
    int no_splice)
{
	memset(g, 0, sizeof(*g));
	g->done_fd = g->ack_fd = -1;
	g->slot = slot;
	g->pipe_size = pipe_size;
	g->no_splice = no_splice;
	atomic_init(&g->active, 0);
	atomic_init(&g->max_conns, 0);
	atomic_init(&g->fds, 0);
	atomic_init(&g->fd_cap, 0);
	atomic_init(&g->fd_waited, 0);
	atomic_init(&g->fd_dropped, 0);
	atomic_init(&g->health_gen, 0);
	pthread_mutex_init(&g->lq_mu, NULL);
	g->nofile = wrk_group_raise_nofile();
	if ((g->done_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1 ||
	    (g->ack_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1)
		return -1;
	return 0;
}

uint32_t
wrk_group_max_conns(struct wrk_group *g, uint32_t want)
{
	g->want = want;
	if (want != 0 && want > g->conn_cap)
		log_warn("maxConnections %u is more than the open file limit "
		    "allows: serving at most %u", want, g->conn_cap);
	if (want == 0 || want > g->conn_cap)
		want = g->conn_cap;
	atomic_store_explicit(&g->max_conns, want, memory_order_relaxed);
	return g->conn_cap;
}

/*
 * The splice pipes' share of the open file limit, for n workers.  It
 * depends on the limit and the workers only, which a reload changes
 * neither of, so the share wrk_group_split gives each worker's pool
 * (max_pipes) at startup is the share a reload would compute: nothing
 * to follow.  The connections' budget is what is left after it
 * (wrk_group_conns), so more listener sockets shrink the budget, never
 * the pipes, and the pipes never take fds the budget promised.  (With
 * more listener sockets than the limit leaves room for, the budget is
 * one connection and a pipe2() that fails just means copying: pool.h.)
 */
static uint64_t
wrk_group_pipes(const struct wrk_group *g, unsigned n)
{
	uint64_t pipes = g->nofile / 16;

	return pipes < (uint64_t)n * 8 ? (uint64_t)n * 8 : pipes;
}

/*
 * The connections (two fds each) left of the open file limit once the
 * listener sockets (g->nsock: a shared one once, not once per worker),
 * fixed fds, the reserve and the pipes of n workers are counted.
 */
static uint64_t
wrk_group_conns(const struct wrk_group *g, unsigned n)
{
	uint64_t fixed, pipes;

	/* Per worker: its base's epoll, eventfd, poller, and the shared
	   listeners' set and eventfd. */
	fixed = g->nsock + (uint64_t)n * 6 + g->reserve;
	pipes = wrk_group_pipes(g, n);
	return g->nofile > fixed + pipes ? (g->nofile - fixed - pipes) / 2 :
	    1;
}

/* conns into fd_cap and conn_cap, and maxConnections within them. */
static void
wrk_group_set_conns(struct wrk_group *g, uint64_t conns)
{
	uint32_t want = g->want;

	atomic_store_explicit(&g->fd_cap, conns * 2, memory_order_relaxed);
	g->conn_cap = conns > UINT32_MAX ? UINT32_MAX : (uint32_t)conns;
	if (want == 0 || want > g->conn_cap)
		want = g->conn_cap;
	atomic_store_explicit(&g->max_conns, want, memory_order_relaxed);
}

void
wrk_group_log_budget(const struct wrk_group *g, const char *prefix)
{
	uint64_t cap = atomic_load_explicit(&g->fd_cap, memory_order_relaxed);

	log_info("%sopen file limit %llu: up to %llu connections (2 fds "
	    "each), or UDP flows (1 fd each), from one budget of %llu fds "
	    "(%llu listener sockets open)", prefix,
	    (unsigned long long)g->nofile, (unsigned long long)(cap / 2),
	    (unsigned long long)cap, (unsigned long long)g->nsock);
}

int
wrk_group_budget(struct wrk_group *g, uint64_t nsock)
{
	uint64_t was = atomic_load_explicit(&g->fd_cap, memory_order_relaxed);

	g->nsock = nsock;
	wrk_group_set_conns(g, wrk_group_conns(g, g->n));
	return atomic_load_explicit(&g->fd_cap, memory_order_relaxed) != was;
}

/*
 * Listener fds, fixed fds and the reserve (the caller's: logs, reload
 * files, the admin server's connections) first, a sixteenth for splice
 * pipes, the rest for connections at two fds each and UDP flows at one,
 * from one budget (g->fd_cap).  nsock counts the listener sockets open:
 * a shared one once, not once per worker.  A reload splits again
 * (wrk_group_budget); the pipes' share does not move (wrk_group_pipes).
 * The UDP flow tables are not sized from the budget: the budget bounds
 * the flows (fd_budget_take, one fd each) whatever it becomes, and a
 * table sized from the startup budget refused flows once a reload had
 * raised it (wrk_udp_cb).
 */
static void
wrk_group_split(struct wrk_group *g, unsigned n, uint64_t nsock,
    uint64_t reserve, uint32_t want)
{
	g->nsock = nsock;
	g->reserve = reserve;
	g->max_pipes = (size_t)(wrk_group_pipes(g, n) / 2 / n);
	wrk_group_set_conns(g, wrk_group_conns(g, n));
	wrk_group_log_budget(g, "");
	(void)wrk_group_max_conns(g, want);
}

/* Listener fds in groups[0..n): a shared socket counts once. */
static uint64_t
wrk_group_nsock(const struct lsn_group *groups, unsigned n)
{
	uint64_t	c = 0;
	unsigned	i;
	size_t		j;

	for (i = 0; i < n; i++)
		for (j = 0; j < groups[i].n; j++)
			if (groups[i].v[j].sh == NULL || i == 0)
				c++;
	return c;
}

int
wrk_group_create(struct wrk_group *g, struct lsn_group *groups, unsigned n,
    uint64_t reserve, uint32_t want, char *err, size_t errlen)
{
	unsigned i;

	wrk_group_split(g, n, wrk_group_nsock(groups, n), reserve, want);
	if ((g->v = calloc(n, sizeof(*g->v))) == NULL) {
		snprintf(err, errlen, "out of memory");
		for (i = 0; i < n; i++)
			lsn_group_free(&groups[i]);
		return -1;
	}
	for (i = 0; i < n; i++) {
		g->n = i + 1;
		if (wrk_init(&g->v[i], g, i, &groups[i], err, errlen) == -1) {
			for (i++; i < n; i++)
				lsn_group_free(&groups[i]);
			return -1;
		}
	}
	return 0;
}

int
wrk_group_start(struct wrk_group *g, char *err, size_t errlen)
{
	sigset_t	all, old;
	unsigned	i;
	int		rc = 0;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (i = 0; i < g->n && rc == 0; i++)
		if (wrk_start(&g->v[i]) == -1) {
			snprintf(err, errlen, "cannot start worker %u: %s", i,
			    strerror(errno));
			rc = -1;
		}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

void
wrk_group_command(struct wrk_group *g, enum wrk_cmd cmd)
{
	unsigned i;

	for (i = 0; i < g->n; i++)
		wrk_command(&g->v[i], cmd);
}

void
wrk_group_health_changed(struct wrk_group *g)
{
	uint64_t	one = 1;
	unsigned	i;

	atomic_fetch_add_explicit(&g->health_gen, 1, memory_order_release);
	/* The eventfd adds up: several wakes before a worker reads are
	   one read and one walk. */
	for (i = 0; i < g->n; i++)
		if (write(g->v[i].notify_fd, &one, sizeof(one)) == -1)
			log_warn("worker %u: eventfd: %s", i, strerror(errno));
}

int
wrk_group_exited(struct wrk_group *g)
{
	uint64_t	v;
	unsigned	i;

	if (read(g->done_fd, &v, sizeof(v)) == -1 && errno != EAGAIN)
		log_warn("eventfd: %s", strerror(errno));
	for (i = 0; i < g->n; i++)
		if (!atomic_load(&g->v[i].exited))
			return 0;
	return 1;
}

void
wrk_group_free(struct wrk_group *g)
{
	unsigned i;

	for (i = 0; i < g->n; i++)
		wrk_free(&g->v[i]);
	free(g->v);
	g->v = NULL;
	g->n = 0;
	if (g->done_fd != -1)
		close(g->done_fd);
	g->done_fd = -1;
	if (g->ack_fd != -1)
		close(g->ack_fd);
	g->ack_fd = -1;
	pthread_mutex_destroy(&g->lq_mu);
}
