/*
 * svcproxy reload: check a configuration, then have the running
 * `svcproxy run` load it (SIGHUP to the pid in its pidfile).
 *
 * The running process re-reads its own -c PATH: give reload the same
 * one.  Exit 0 when the configuration is valid and the signal was sent
 * (the process then logs "reload: ... applied", "unchanged" or, if
 * something only it can see fails, such as a port another process
 * holds, "reload failed" and keeps serving); 1 when the configuration
 * has errors (nothing is signalled) or no process could be signalled;
 * 2 on misuse.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "model.h"

const struct cmd_entry cmd_reload_entry = {
	.name = "reload",
	.usage = "[-c PATH] [--pidfile FILE]",
	.summary = "Check the configuration, then make the running process "
	    "reload it (SIGHUP).",
	.exec = cmd_reload,
};

/* The pid in path, or -1 with a message printed. */
static long
reload_read_pid(const char *path)
{
	struct stat	 st;
	char		 buf[32], *end;
	ssize_t		 n;
	long		 pid;
	int		 fd;

	/* O_NONBLOCK: a FIFO in its place must not hang the command. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK |
	    O_NOCTTY)) == -1) {
		fprintf(stderr, "svcproxy reload: pidfile %s: %s (is svcproxy "
		    "running with --pidfile %s?)\n", path, strerror(errno),
		    path);
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		fprintf(stderr, "svcproxy reload: pidfile %s is not a regular "
		    "file\n", path);
		return -1;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0) {
		fprintf(stderr, "svcproxy reload: pidfile %s is empty\n",
		    path);
		return -1;
	}
	buf[n] = '\0';
	errno = 0;
	pid = strtol(buf, &end, 10);
	if (errno || end == buf || (*end != '\0' && *end != '\n') ||
	    pid < 2) {
		fprintf(stderr, "svcproxy reload: pidfile %s does not hold a "
		    "pid\n", path);
		return -1;
	}
	return pid;
}

/* cmd_parse's handler of --pidfile. */
static int
reload_opt(int val, const char *arg, void *ctx)
{
	(void)val;
	*(const char **)ctx = arg;
	return 0;
}

int
cmd_reload(int argc, char **argv)
{
	static const struct option extra[] = {
		{ "pidfile", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	const char		*pidfile = CMD_DEFAULT_PIDFILE;
	struct cmd_parser	 p = { &cmd_reload_entry, 0, extra, reload_opt,
				    &pidfile };
	struct cmd_opts		 o;
	const char		*config;
	struct diag_list	 dl;
	struct model		 m;
	size_t			 nerr;
	long			 pid;
	int			 rc;

	if ((rc = cmd_parse(argc, argv, &p, &o)) != CMD_GO)
		return rc;
	config = o.config;
	diag_list_init(&dl);
	nerr = model_load(&m, config, &dl);
	cmd_print_diags(&dl, config, nerr, 0);
	model_free(&m);
	diag_list_free(&dl);
	if (nerr != 0) {
		fprintf(stderr, "svcproxy reload: not signalled: the running "
		    "configuration stays\n");
		return 1;
	}
	if ((pid = reload_read_pid(pidfile)) == -1)
		return 1;
	if (kill((pid_t)pid, SIGHUP) == -1) {
		fprintf(stderr, "svcproxy reload: cannot signal process %ld "
		    "(pidfile %s): %s\n", pid, pidfile, strerror(errno));
		return 1;
	}
	printf("configuration %s is valid: process %ld reloads it\n", config,
	    pid);
	return 0;
}
