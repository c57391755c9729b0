/*
 * svcproxy run: serve every proxied Service port.
 *
 * Startup is all or nothing: the configuration must load without an
 * error and every listener must open, or nothing is served and the exit
 * code is 1.  Then the main thread's event_base waits for signals while
 * the workers serve; SIGTERM or SIGINT closes the listeners, lets open
 * connections finish for up to the drain timeout, and exits 0.  A second
 * signal stops at once.
 *
 * The run context below is the process-wide mutable state of `run`;
 * workers see only its snapshot slot and group (worker.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/eventfd.h>
#include <sys/resource.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "cmd.h"
#include "lb.h"
#include "listener.h"
#include "log.h"
#include "model.h"
#include "relay.h"
#include "snapshot.h"
#include "worker.h"

#define RUN_MAX_WORKERS		256
#define RUN_FD_RESERVE		64	/* logs, admin, health checks */

static const char usage[] = "[-c PATH] [--workers N] [--pidfile FILE]";

struct run_opts {
	const char		*config;
	const char		*pidfile;
	int			 workers;	/* 0: from config */
};

struct run_ctx {
	struct event_base	*base;		/* main thread's, owned */
	struct snap_slot	 slot;
	struct lb_livetab	 live;		/* outlives snapshots */
	struct wrk_group	 grp;
	struct event		*ev_term;	/* owned */
	struct event		*ev_int;	/* owned */
	struct event		*ev_done;	/* owned */
	struct event		*ev_drain;	/* owned */
	const char		*pidfile;	/* argv; NULL: none */
	int			 pid_written;
	int			 draining;
	uint32_t		 drain_ms;
	rlim_t			 nofile;
};

static int
run_parse(int argc, char **argv, struct run_opts *o)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "workers", required_argument, NULL, 'w' },
		{ "pidfile", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char	*end;
	long	 n;
	int	 ch;

	memset(o, 0, sizeof(*o));
	o->config = CMD_DEFAULT_CONFIG;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			o->config = optarg;
			break;
		case 'w':
			errno = 0;
			n = strtol(optarg, &end, 10);
			if (errno || *end != '\0' || end == optarg || n < 1 ||
			    n > RUN_MAX_WORKERS) {
				fprintf(stderr, "svcproxy run: --workers takes "
				    "1 to %d\n", RUN_MAX_WORKERS);
				return 2;
			}
			o->workers = (int)n;
			break;
		case 'p':
			o->pidfile = optarg;
			break;
		case 'h':
			cmd_usage(stdout, argv[0], usage);
			return 2;
		default:
			cmd_usage(stderr, argv[0], usage);
			return 2;
		}
	}
	if (optind != argc) {
		cmd_usage(stderr, argv[0], usage);
		return 2;
	}
	return 0;
}

/* Raise the soft fd limit to the hard one; returns the new soft. */
static rlim_t
run_raise_nofile(void)
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
	return rl.rlim_cur;
}

/*
 * Split the fd budget: listeners and fixed fds first, a sixteenth for
 * splice pipes, the rest for connections at two fds each.
 */
static void
run_budget(struct run_ctx *c, const struct snap *s, unsigned nworkers,
    size_t nlsn)
{
	rlim_t		fixed, pipes, conns;
	uint32_t	want = s->max_connections;

	fixed = (rlim_t)nlsn * nworkers + (rlim_t)nworkers * 4 +
	    RUN_FD_RESERVE;
	pipes = c->nofile / 16;
	if (pipes < (rlim_t)nworkers * 8)
		pipes = (rlim_t)nworkers * 8;
	c->grp.max_pipes = (size_t)(pipes / 2 / nworkers);
	conns = c->nofile > fixed + pipes ? (c->nofile - fixed - pipes) / 2 :
	    1;
	log_info("open file limit %llu: up to %llu connections (2 fds each)",
	    (unsigned long long)c->nofile, (unsigned long long)conns);
	if (want != 0 && want > conns)
		log_warn("maxConnections %u is more than the open file limit "
		    "allows: serving at most %llu", want,
		    (unsigned long long)conns);
	if (want == 0 || want > conns)
		want = conns > UINT32_MAX ? UINT32_MAX : (uint32_t)conns;
	c->grp.max_conns = want;
}

static void
run_warn_unserved(const struct snap *s)
{
	const char	*proto;
	size_t		 i;

	for (i = 0; i < s->nports; i++) {
		if (s->ports[i].proto == RES_TCP)
			continue;
		proto = res_proto_name(s->ports[i].proto);
		log_warn("Service %s/%s: %s is not served yet",
		    s->ports[i].label, proto, proto);
	}
}

static int
run_pidfile(struct run_ctx *c)
{
	char	buf[32];
	int	fd, n;

	if (c->pidfile == NULL)
		return 0;
	fd = open(c->pidfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd == -1) {
		log_error("pidfile %s: %s", c->pidfile, strerror(errno));
		return -1;
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (write(fd, buf, (size_t)n) != n) {
		log_error("pidfile %s: %s", c->pidfile, strerror(errno));
		close(fd);
		unlink(c->pidfile);
		return -1;
	}
	close(fd);
	c->pid_written = 1;
	return 0;
}

static void
run_stop_all(struct run_ctx *c)
{
	unsigned i;

	for (i = 0; i < c->grp.n; i++)
		wrk_command(&c->grp.v[i], WRK_STOP);
}

static void
run_drain_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct run_ctx *c = arg;

	(void)fd;
	(void)what;
	log_warn("drain timeout: closing the remaining connections");
	run_stop_all(c);
}

/*
 * SIGTERM, SIGINT.  libevent runs this from the loop, not in signal
 * context, so it may do anything.
 */
static void
run_signal(evutil_socket_t sig, short what, void *arg)
{
	struct run_ctx	*c = arg;
	struct timeval	 tv;
	unsigned	 i;

	(void)what;
	if (c->draining) {
		log_info("signal %d again: stopping now", (int)sig);
		run_stop_all(c);
		return;
	}
	c->draining = 1;
	log_info("signal %d: closing listeners, draining connections for up "
	    "to %u ms", (int)sig, c->drain_ms);
	for (i = 0; i < c->grp.n; i++)
		wrk_command(&c->grp.v[i], WRK_DRAIN);
	tv.tv_sec = c->drain_ms / 1000;
	tv.tv_usec = (c->drain_ms % 1000) * 1000;
	event_add(c->ev_drain, &tv);
}

/* A worker exited; when all have, leave the loop. */
static void
run_worker_done(evutil_socket_t fd, short what, void *arg)
{
	struct run_ctx	*c = arg;
	uint64_t	 v;
	unsigned	 i;

	(void)what;
	if (read(fd, &v, sizeof(v)) == -1 && errno != EAGAIN)
		log_warn("eventfd: %s", strerror(errno));
	for (i = 0; i < c->grp.n; i++)
		if (!atomic_load(&c->grp.v[i].exited))
			return;
	event_base_loopbreak(c->base);
}

/* Start every worker with the signals blocked, so only main gets them. */
static int
run_start_workers(struct run_ctx *c)
{
	sigset_t	all, old;
	unsigned	i;
	int		rc = 0;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (i = 0; i < c->grp.n && rc == 0; i++)
		if (wrk_start(&c->grp.v[i]) == -1) {
			log_error("cannot start worker %u: %s", i,
			    strerror(errno));
			rc = -1;
		}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

/*
 * Create the workers, one listener group each.  groups is consumed.
 * Returns 0, or -1 after logging.
 */
static int
run_init_workers(struct run_ctx *c, struct lsn_group *groups, unsigned n)
{
	char		err[256];
	unsigned	i;

	if ((c->grp.v = calloc(n, sizeof(*c->grp.v))) == NULL) {
		log_error("out of memory");
		return -1;
	}
	for (i = 0; i < n; i++) {
		c->grp.n = i + 1;
		if (wrk_init(&c->grp.v[i], &c->grp, i, &groups[i], err,
		    sizeof(err)) == -1) {
			log_error("%s", err);
			return -1;
		}
	}
	return 0;
}

static int
run_events(struct run_ctx *c)
{
	c->ev_term = evsignal_new(c->base, SIGTERM, run_signal, c);
	c->ev_int = evsignal_new(c->base, SIGINT, run_signal, c);
	c->ev_done = event_new(c->base, c->grp.done_fd, EV_READ | EV_PERSIST,
	    run_worker_done, c);
	c->ev_drain = evtimer_new(c->base, run_drain_timeout, c);
	if (c->ev_term == NULL || c->ev_int == NULL || c->ev_done == NULL ||
	    c->ev_drain == NULL || event_add(c->ev_term, NULL) == -1 ||
	    event_add(c->ev_int, NULL) == -1 ||
	    event_add(c->ev_done, NULL) == -1) {
		log_error("cannot set up the main event loop");
		return -1;
	}
	return 0;
}

static void
run_free(struct run_ctx *c)
{
	unsigned i;

	for (i = 0; i < c->grp.n; i++)
		wrk_free(&c->grp.v[i]);
	free(c->grp.v);
	c->grp.v = NULL;
	if (c->ev_term)
		event_free(c->ev_term);
	if (c->ev_int)
		event_free(c->ev_int);
	if (c->ev_done)
		event_free(c->ev_done);
	if (c->ev_drain)
		event_free(c->ev_drain);
	if (c->grp.done_fd != -1)
		close(c->grp.done_fd);
	snap_slot_clear(&c->slot);
	lb_livetab_free(&c->live);
	if (c->base)
		event_base_free(c->base);
	if (c->pid_written)
		unlink(c->pidfile);
}

/* Load the configuration and build the first snapshot; NULL: exit 1. */
static struct snap *
run_load(struct run_ctx *c, const char *path, int *workers)
{
	struct diag_list	 dl;
	struct model		 m;
	struct snap		*s = NULL;
	char			 err[256];
	size_t			 nerr;

	diag_list_init(&dl);
	nerr = model_load(&m, path, &dl);
	diag_print(&dl, stderr);
	if (nerr != 0)
		fprintf(stderr, "svcproxy: configuration %s has %zu errors: "
		    "not starting\n", path, nerr);
	else if ((s = snap_build(&m.res, &c->live, LB_DEFAULT, err,
	    sizeof(err))) == NULL)
		log_error("%s", err);
	else {
		c->drain_ms = m.pcfg.drain_timeout_ms;
		if (m.pcfg.connection_log == CONN_LOG_DEBUG)
			log_set_level(LOG_LEVEL_DEBUG);
		*workers = m.pcfg.workers;
	}
	model_free(&m);
	diag_list_free(&dl);
	return s;
}

static int
run_serve(struct run_ctx *c, const struct run_opts *o)
{
	struct lsn_group	*groups;
	struct snap		*s;
	char			 err[512];
	unsigned		 n;
	long			 ncpu;
	int			 cfg_workers = 0;

	if ((s = run_load(c, o->config, &cfg_workers)) == NULL)
		return 1;
	snap_slot_publish(&c->slot, s);
	n = o->workers ? (unsigned)o->workers : cfg_workers > 0 ?
	    (unsigned)cfg_workers : 0;
	if (n > RUN_MAX_WORKERS)
		n = RUN_MAX_WORKERS;
	if (n == 0) {
		ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		n = ncpu > 0 ? (unsigned)(ncpu > RUN_MAX_WORKERS ?
		    RUN_MAX_WORKERS : ncpu) : 1;
	}
	run_warn_unserved(s);
	if ((groups = calloc(n, sizeof(*groups))) == NULL)
		return 1;
	if (lsn_open_all(s, n, groups, err, sizeof(err)) == -1) {
		log_error("%s", err);
		free(groups);
		return 1;
	}
	run_budget(c, s, n, groups[0].n);
	if (run_init_workers(c, groups, n) == -1) {
		for (unsigned i = 0; i < n; i++)
			lsn_group_free(&groups[i]);
		free(groups);
		return 1;
	}
	log_info("serving %zu Service ports on %zu addresses with %u workers",
	    s->nports, c->grp.v[0].lsns.n, n);
	free(groups);
	if (run_events(c) == -1 || run_pidfile(c) == -1)
		return 1;
	if (run_start_workers(c) == -1) {
		run_stop_all(c);
		return 1;
	}
	event_base_dispatch(c->base);
	log_info("stopped");
	return 0;
}

int
cmd_run(int argc, char **argv)
{
	struct run_opts	 o;
	struct run_ctx	 c;
	int		 rc;

	if ((rc = run_parse(argc, argv, &o)) != 0)
		return rc;
	memset(&c, 0, sizeof(c));
	c.pidfile = o.pidfile;
	c.grp.done_fd = -1;
	c.grp.slot = &c.slot;
	c.grp.pipe_size = RELAY_PIPE_SIZE;
	c.grp.no_splice = getenv("SVCPROXY_NO_SPLICE") != NULL;
	atomic_init(&c.grp.active, 0);
	snap_slot_init(&c.slot);
	lb_livetab_init(&c.live);
	signal(SIGPIPE, SIG_IGN);
	evthread_use_pthreads();
	c.nofile = run_raise_nofile();
	if ((c.base = event_base_new()) == NULL ||
	    (c.grp.done_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1) {
		log_error("cannot set up the main event loop");
		rc = 1;
	} else
		rc = run_serve(&c, &o);
	run_free(&c);
	libevent_global_shutdown();
	return rc;
}
