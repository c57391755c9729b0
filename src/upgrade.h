/*
 * upgrade: the binary upgrade (SIGUSR2), and what the process tells the
 * world outside it: the pidfile and systemd's notify socket.
 *
 * On SIGUSR2 the old process forks and execs its binary again with
 * every listener's socket, each with its protocol, and the admin
 * server's, named in SVCPROXY_INHERIT_FDS (listener.h has the format;
 * an old process's value reads the same) and its own pid in
 * SVCPROXY_UPGRADE_PARENT.  The new process adopts the sockets
 * (upg_inherit), and once it serves it rewrites the pidfile and sends
 * SIGWINCH to the old one (upg_ready), which drains and exits.  If the
 * new process exits first, the old one logs it and serves on
 * (upg_reap).
 *
 * Health state survives the upgrade: the old process writes every
 * checked cell's key and state ("up KEY" or "down KEY", one a line)
 * into a memfd passed in SVCPROXY_INHERIT_HEALTH=FD, and the new one
 * creates those cells with their state before its first snapshot
 * build (upg_inherit_health), so no endpoint flips back to unknown
 * and no down endpoint gets traffic meanwhile.  Cells not passed
 * (new endpoints) start unknown, served as up.
 */
#ifndef SVCPROXY_UPGRADE_H
#define SVCPROXY_UPGRADE_H

#include <limits.h>

#include <sys/types.h>

struct hc_celltab;
struct lsn_inherit;
struct lsn_table;

/* A run's upgrade state; part of the run context, main thread only. */
struct upg {
	const char	*pidfile;	/* argv; NULL: none */
	int		 pid_written;
	pid_t		 child;		/* the upgrade's new process; 0 */
	pid_t		 parent;	/* we are an upgrade's child; 0 */
	char		 exe[PATH_MAX];	/* this binary, at start */
	int		 argc;		/* run's argv, for the exec */
	char		**argv;
};

/*
 * Fill u from run's argv and the environment: this binary's path (the
 * file may be replaced later) and the parent's pid, whose variable is
 * removed from the environment.
 */
void	 upg_init(struct upg *u, int argc, char **argv, const char *pidfile);

/*
 * The sockets an upgrade's old process passed (SVCPROXY_INHERIT_FDS,
 * none without it) into inh, which the caller frees with
 * lsn_inherit_free after upg_adopted.  0, or -1 with err.
 */
int	 upg_inherit(struct lsn_inherit *inh, char *err, size_t errlen);
/* Log what was adopted and clear the variable, so no child sees it. */
void	 upg_adopted(const struct lsn_inherit *inh);

/*
 * Fork and exec this binary with lsns' sockets and admin_fd (-1: none)
 * passed on, and the state of cells (NULL: none).  The caller checks
 * that no upgrade or reload is under way (no build adds cells).  Logs;
 * u->child is the new process on success.
 */
void	 upg_start(struct upg *u, const struct lsn_table *lsns, int admin_fd,
	    struct hc_celltab *cells);

/*
 * The health state an upgrade's old process passed, if any, into cells
 * (each cell created with its state); the descriptor is closed and the
 * variable cleared.  Bounded: at most UPG_HEALTH_MAX bytes, lines of
 * at most UPG_HEALTH_LINE; a malformed line is skipped with a warning.
 * Returns the cells set.  Before the first snapshot build.
 */
#define UPG_HEALTH_ENV	"SVCPROXY_INHERIT_HEALTH"
#define UPG_HEALTH_MAX	((size_t)64 << 20)
#define UPG_HEALTH_LINE	1024
size_t	 upg_inherit_health(struct hc_celltab *cells);

/*
 * SIGCHLD: reap children; when the upgrade's new process died before it
 * served, log it (unless draining) and clear u->child.
 */
void	 upg_reap(struct upg *u, int draining);

/* We are an upgrade's new process and serve now: tell the old one. */
void	 upg_ready(struct upg *u);

/*
 * Write the pidfile, if any, through a temporary file and rename(2).
 * 0, or -1 after logging.
 */
int	 upg_pidfile(struct upg *u);
/* Remove the pidfile, unless an upgrade's new process rewrote it. */
void	 upg_pidfile_remove(struct upg *u);

/*
 * systemd's notify protocol (sd_notify(3)) without libsystemd: one
 * datagram to $NOTIFY_SOCKET, if set.  Best effort.
 */
void	 upg_notify(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));

#endif
