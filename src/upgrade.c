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

#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "health_cell.h"
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

/*
 * environ without our three variables, plus them (the health one only
 * with hfd != -1), for the new process.
 */
static int	 upg_env_ours(const char *);
static void	 upg_env_free(char **);

static char **
upg_env(const char *inherit, int hfd)
{
	char	**env, **p, *v;
	size_t	  n = 0;

	for (p = environ; *p != NULL; p++)
		n++;
	if ((env = calloc(n + 4, sizeof(*env))) == NULL)
		return NULL;
	n = 0;
	for (p = environ; *p != NULL; p++)
		if (strncmp(*p, LSN_INHERIT_ENV "=",
		    sizeof(LSN_INHERIT_ENV)) != 0 &&
		    strncmp(*p, UPG_PARENT_ENV "=",
		    sizeof(UPG_PARENT_ENV)) != 0 &&
		    strncmp(*p, UPG_HEALTH_ENV "=",
		    sizeof(UPG_HEALTH_ENV)) != 0)
			env[n++] = *p;
	/* asprintf leaves its pointer undefined on failure: go through v. */
	if (asprintf(&v, "%s=%s", LSN_INHERIT_ENV, inherit) == -1)
		goto fail;
	env[n++] = v;
	if (asprintf(&v, "%s=%ld", UPG_PARENT_ENV, (long)getpid()) == -1)
		goto fail;
	env[n++] = v;
	if (hfd != -1) {
		if (asprintf(&v, "%s=%d", UPG_HEALTH_ENV, hfd) == -1)
			goto fail;
		env[n++] = v;
	}
	return env;
fail:
	upg_env_free(env);
	return NULL;
}

static int
upg_env_ours(const char *v)
{
	return strncmp(v, LSN_INHERIT_ENV "=", sizeof(LSN_INHERIT_ENV)) == 0 ||
	    strncmp(v, UPG_PARENT_ENV "=", sizeof(UPG_PARENT_ENV)) == 0 ||
	    strncmp(v, UPG_HEALTH_ENV "=", sizeof(UPG_HEALTH_ENV)) == 0;
}

static void
upg_env_free(char **env)
{
	size_t n;

	if (env == NULL)
		return;
	/* upg_env left environ's own copies of ours out: the rest belong
	   to environ. */
	for (n = 0; env[n] != NULL; n++)
		if (upg_env_ours(env[n]))
			free(env[n]);
	free(env);
}

/* ---- health state across the upgrade ---- */

struct upg_hc_out {
	FILE	*f;
	size_t	 n;
};

static void
upg_hc_put(struct hc_cell *c, void *arg)
{
	struct upg_hc_out	*o = arg;
	int			 st = atomic_load(&c->state);

	/* Unknown is where a new cell starts anyway; a key that would
	   break the line format (a newline in a setting) starts over. */
	if (st == HC_UNKNOWN || strchr(c->key, '\n') != NULL ||
	    strlen(c->key) + 6 > UPG_HEALTH_LINE)
		return;
	fprintf(o->f, "%s %s\n", st == HC_UP ? "up" : "down", c->key);
	o->n++;
}

/*
 * Every known cell's state into a memfd (no file on disk), at offset 0,
 * close-on-exec (the child clears it).  Its fd, or -1 after logging.
 */
static int
upg_hc_write(struct hc_celltab *cells)
{
	struct upg_hc_out	 o;
	char			*buf = NULL;
	size_t			 len = 0, off = 0;
	ssize_t			 w;
	int			 fd;

	if ((o.f = open_memstream(&buf, &len)) == NULL) {
		log_error("upgrade: health state: %s", strerror(errno));
		return -1;
	}
	o.n = 0;
	hc_celltab_foreach(cells, upg_hc_put, &o);
	if (fclose(o.f) != 0) {
		log_error("upgrade: health state: %s", strerror(errno));
		free(buf);
		return -1;
	}
	if ((fd = memfd_create("svcproxy-health", MFD_CLOEXEC)) == -1) {
		log_error("upgrade: memfd_create: %s", strerror(errno));
		free(buf);
		return -1;
	}
	while (off < len) {
		if ((w = write(fd, buf + off, len - off)) == -1) {
			if (errno == EINTR)
				continue;
			log_error("upgrade: health state: %s",
			    strerror(errno));
			free(buf);
			close(fd);
			return -1;
		}
		off += (size_t)w;
	}
	free(buf);
	(void)lseek(fd, 0, SEEK_SET);
	log_info("upgrade: passing the health of %zu endpoints", o.n);
	return fd;
}

/* The whole of fd, at most UPG_HEALTH_MAX bytes, NUL-terminated; NULL
   after logging. */
static char *
upg_hc_read(int fd, size_t *lenp)
{
	struct stat	 st;
	char		*buf;
	size_t		 len = 0;
	ssize_t		 r;

	if (fstat(fd, &st) == -1) {
		log_warn("upgrade: inherited health state: %s",
		    strerror(errno));
		return NULL;
	}
	if (st.st_size < 0 || (size_t)st.st_size > UPG_HEALTH_MAX) {
		log_warn("upgrade: inherited health state larger than %zu "
		    "bytes: ignored", UPG_HEALTH_MAX);
		return NULL;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		log_warn("upgrade: inherited health state: out of memory");
		return NULL;
	}
	while (len < (size_t)st.st_size) {
		r = read(fd, buf + len, (size_t)st.st_size - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	buf[len] = '\0';
	*lenp = len;
	return buf;
}

/* One "up KEY" or "down KEY" line into cells: 1 set, 0 malformed, -1
   out of memory. */
static int
upg_hc_line(struct hc_celltab *cells, char *line, size_t len)
{
	struct hc_cell	*c;
	const char	*key;
	int		 st;

	if (len > UPG_HEALTH_LINE)
		return 0;
	if (strncmp(line, "up ", 3) == 0) {
		st = HC_UP;
		key = line + 3;
	} else if (strncmp(line, "down ", 5) == 0) {
		st = HC_DOWN;
		key = line + 5;
	} else
		return 0;
	if (*key == '\0' || strlen(key) >= HC_KEY_MAX)
		return 0;
	if ((c = hc_celltab_get(cells, key)) == NULL)
		return -1;
	atomic_store(&c->state, st);
	return 1;
}

size_t
upg_inherit_health(struct hc_celltab *cells)
{
	const char	*v = getenv(UPG_HEALTH_ENV);
	char		*buf, *p, *nl, *end;
	size_t		 len = 0, n = 0, bad = 0;
	long		 fd;
	int		 rc;

	if (v == NULL)
		return 0;
	errno = 0;
	fd = strtol(v, &end, 10);
	unsetenv(UPG_HEALTH_ENV);
	if (errno != 0 || *end != '\0' || end == v || fd < 3 ||
	    fd > INT_MAX || fcntl((int)fd, F_GETFD) == -1) {
		log_warn("upgrade: %s: not an open descriptor: health "
		    "starts unknown", UPG_HEALTH_ENV);
		return 0;
	}
	buf = upg_hc_read((int)fd, &len);
	close((int)fd);
	if (buf == NULL)
		return 0;
	for (p = buf; p < buf + len; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(buf + len - p))) == NULL)
			nl = buf + len;		/* a last line cut short */
		*nl = '\0';
		if ((rc = upg_hc_line(cells, p, (size_t)(nl - p))) == -1) {
			log_warn("upgrade: inherited health state: out of "
			    "memory: the rest starts unknown");
			break;
		}
		if (rc == 1) {
			n++;
			continue;
		}
		if (bad++ < 3)
			log_warn("upgrade: inherited health state: line "
			    "%zu is malformed: skipped", n + bad);
	}
	free(buf);
	if (bad > 3)
		log_warn("upgrade: inherited health state: %zu malformed "
		    "lines skipped", bad);
	log_info("upgrade: inherited the health of %zu endpoints", n);
	return n;
}

/*
 * Between fork and exec the child only clears close-on-exec and calls
 * execve (async-signal-safe): this process has threads.
 */
void
upg_start(struct upg *u, const struct lsn_table *lsns, int admin_fd,
    struct hc_celltab *cells)
{
	char	 *inherit = NULL, **env = NULL, **argv = NULL;
	int	 *fds = NULL, hfd = -1;
	size_t	  nfds = 0, i, j;
	pid_t	  pid;

	/* Without it the upgrade still works: health starts unknown. */
	if (cells != NULL)
		hfd = upg_hc_write(cells);
	for (i = 0; i < lsns->n; i++)
		nfds += lsns->v[i].nfds;
	if ((fds = calloc(nfds + 2, sizeof(*fds))) == NULL ||
	    (argv = calloc((size_t)u->argc + 2, sizeof(*argv))) == NULL ||
	    (inherit = lsn_inherit_format(lsns, admin_fd)) == NULL ||
	    (env = upg_env(inherit, hfd)) == NULL) {
		log_error("upgrade: out of memory");
		goto out;
	}
	nfds = 0;
	for (i = 0; i < lsns->n; i++)
		for (j = 0; j < lsns->v[i].nfds; j++)
			fds[nfds++] = lsns->v[i].fds[j];
	if (admin_fd != -1)
		fds[nfds++] = admin_fd;
	if (hfd != -1)
		fds[nfds++] = hfd;
	argv[0] = u->exe;
	for (i = 0; i < (size_t)u->argc; i++)
		argv[i + 1] = u->argv[i];
	log_info("upgrade: starting %s with %zu sockets", u->exe,
	    nfds - (hfd != -1));
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
	if (hfd != -1)
		close(hfd);	/* the child has its own */
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

