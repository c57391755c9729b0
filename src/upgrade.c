#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "listener.h"
#include "log.h"
#include "upgrade.h"

#define UPG_PARENT_ENV		"SVCPROXY_UPGRADE_PARENT"

extern char **environ;

/* Where this binary is, for an upgrade's exec (the file may be replaced). */
static void
upg_exe(struct upg *u)
{
	ssize_t n;

	n = readlink("/proc/self/exe", u->exe, sizeof(u->exe) - 1);
	if (n <= 0)
		snprintf(u->exe, sizeof(u->exe), "svcproxy");
	else
		u->exe[n] = '\0';
}

void
upg_init(struct upg *u, int argc, char **argv, const char *pidfile)
{
	const char *parent;

	memset(u, 0, sizeof(*u));
	u->pidfile = pidfile;
	u->argc = argc;
	u->argv = argv;
	if ((parent = getenv(UPG_PARENT_ENV)) != NULL) {
		u->parent = (pid_t)strtol(parent, NULL, 10);
		unsetenv(UPG_PARENT_ENV);
	}
	upg_exe(u);
}

int
upg_inherit(struct lsn_inherit *inh, char *err, size_t errlen)
{
	return lsn_inherit_parse(getenv(LSN_INHERIT_ENV), inh, err, errlen);
}

void
upg_adopted(const struct lsn_inherit *inh)
{
	if (inh->n > 0)
		log_info("upgrade: adopted %zu inherited sockets",
		    inh->n);
	unsetenv(LSN_INHERIT_ENV);
}

/* environ without our two variables, plus them, for the new process. */
static char **
upg_env(const char *inherit)
{
	char	**env, **p;
	size_t	  n = 0;

	for (p = environ; *p != NULL; p++)
		n++;
	if ((env = calloc(n + 3, sizeof(*env))) == NULL)
		return NULL;
	n = 0;
	for (p = environ; *p != NULL; p++)
		if (strncmp(*p, LSN_INHERIT_ENV "=",
		    sizeof(LSN_INHERIT_ENV)) != 0 &&
		    strncmp(*p, UPG_PARENT_ENV "=",
		    sizeof(UPG_PARENT_ENV)) != 0)
			env[n++] = *p;
	if (asprintf(&env[n], "%s=%s", LSN_INHERIT_ENV, inherit) == -1) {
		free(env);
		return NULL;
	}
	if (asprintf(&env[n + 1], "%s=%ld", UPG_PARENT_ENV,
	    (long)getpid()) == -1) {
		free(env[n]);
		free(env);
		return NULL;
	}
	return env;
}

static void
upg_env_free(char **env)
{
	size_t n;

	if (env == NULL)
		return;
	for (n = 0; env[n] != NULL; n++)
		;
	/* The last two are ours; the rest belong to environ. */
	if (n >= 2) {
		free(env[n - 1]);
		free(env[n - 2]);
	}
	free(env);
}

/*
 * Between fork and exec the child only clears close-on-exec and calls
 * execve (async-signal-safe): this process has threads.
 */
void
upg_start(struct upg *u, const struct lsn_table *lsns, int admin_fd)
{
	char	 *inherit = NULL, **env = NULL, **argv = NULL;
	int	 *fds = NULL;
	size_t	  nfds = 0, i, j;
	pid_t	  pid;

	for (i = 0; i < lsns->n; i++)
		nfds += lsns->v[i].nfds;
	if ((fds = calloc(nfds + 1, sizeof(*fds))) == NULL ||
	    (argv = calloc((size_t)u->argc + 2, sizeof(*argv))) == NULL ||
	    (inherit = lsn_inherit_format(lsns, admin_fd)) == NULL ||
	    (env = upg_env(inherit)) == NULL) {
		log_error("upgrade: out of memory");
		goto out;
	}
	nfds = 0;
	for (i = 0; i < lsns->n; i++)
		for (j = 0; j < lsns->v[i].nfds; j++)
			fds[nfds++] = lsns->v[i].fds[j];
	if (admin_fd != -1)
		fds[nfds++] = admin_fd;
	argv[0] = u->exe;
	for (i = 0; i < (size_t)u->argc; i++)
		argv[i + 1] = u->argv[i];
	log_info("upgrade: starting %s with %zu sockets", u->exe, nfds);
	if ((pid = fork()) == -1) {
		log_error("upgrade: fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		for (i = 0; i < nfds; i++)
			(void)fcntl(fds[i], F_SETFD, 0);
		execve(u->exe, argv, env);
		_exit(127);
	}
	u->child = pid;
	log_info("upgrade: new process %ld started; draining once it serves",
	    (long)pid);
out:
	upg_env_free(env);
	free(inherit);
	free(argv);
	free(fds);
}

void
upg_reap(struct upg *u, int draining)
{
	pid_t	pid;
	int	st;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		if (pid != u->child)
			continue;
		u->child = 0;
		if (draining)
			continue;
		if (WIFEXITED(st))
			log_error("upgrade failed: new process %ld exited with "
			    "status %d; still serving", (long)pid,
			    WEXITSTATUS(st));
		else
			log_error("upgrade failed: new process %ld killed by "
			    "signal %d; still serving", (long)pid,
			    WTERMSIG(st));
	}
}

void
upg_ready(struct upg *u)
{
	if (u->parent <= 0)
		return;
	upg_notify("MAINPID=%ld", (long)getpid());
	if (getppid() != u->parent) {
		log_warn("upgrade: old process %ld is gone",
		    (long)u->parent);
		return;
	}
	log_info("upgrade: serving; asking old process %ld to drain",
	    (long)u->parent);
	if (kill(u->parent, SIGWINCH) == -1)
		log_warn("upgrade: kill %ld: %s", (long)u->parent,
		    strerror(errno));
}

/*
 * Write the pidfile through a temporary file and rename(2), so that a
 * reader (svcproxy reload, systemd, an upgrade's old process) never sees
 * it empty or half written while an upgrade replaces it.
 */
int
upg_pidfile(struct upg *u)
{
	char	buf[32], tmp[4096];
	int	fd, n, ok;

	if (u->pidfile == NULL)
		return 0;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", u->pidfile,
	    (long)getpid()) >= sizeof(tmp)) {
		log_error("pidfile %s: name too long", u->pidfile);
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd == -1) {
		log_error("pidfile %s: %s", tmp, strerror(errno));
		return -1;
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	ok = write(fd, buf, (size_t)n) == n;
	if (close(fd) == -1)
		ok = 0;
	if (!ok || rename(tmp, u->pidfile) == -1) {
		log_error("pidfile %s: %s", u->pidfile, strerror(errno));
		unlink(tmp);
		return -1;
	}
	u->pid_written = 1;
	return 0;
}

void
upg_pidfile_remove(struct upg *u)
{
	char	buf[32];
	ssize_t	n;
	int	fd;

	if (!u->pid_written)
		return;
	if ((fd = open(u->pidfile, O_RDONLY | O_CLOEXEC | O_NONBLOCK |
	    O_NOCTTY)) == -1)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n > 0) {
		buf[n] = '\0';
		if (strtol(buf, NULL, 10) != (long)getpid())
			return;
	}
	unlink(u->pidfile);
}

void
upg_notify(const char *fmt, ...)
{
	struct sockaddr_un	 sun;
	const char		*path = getenv("NOTIFY_SOCKET");
	char			 msg[128];
	va_list			 ap;
	socklen_t		 len;
	int			 fd, n;

	if (path == NULL || (path[0] != '/' && path[0] != '@') ||
	    strlen(path) >= sizeof(sun.sun_path))
		return;
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(msg))
		return;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	if (path[0] == '@')
		sun.sun_path[0] = '\0';	/* abstract namespace */
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
	    strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return;
	(void)sendto(fd, msg, (size_t)n, MSG_NOSIGNAL,
	    (struct sockaddr *)&sun, len);
	close(fd);
}

