/*
 * cmd: one subcommand per file (cmd_<name>.c), found from the table in
 * main.c.  Each gets argv after the subcommand's name (argv[0] is the
 * name) and returns the process exit code: 0 success, 1 the
 * configuration or the verdict says no, 2 usage error.
 */
#ifndef SVCPROXY_CMD_H
#define SVCPROXY_CMD_H

#include <stdio.h>

#define CMD_DEFAULT_CONFIG	"/etc/svcproxy"
#define CMD_DEFAULT_PIDFILE	"/run/svcproxy/svcproxy.pid"	/* reload */

struct cmd_entry {
	const char	*name;
	const char	*usage;
	int		(*exec)(int argc, char **argv);
};

int	 cmd_check(int, char **);
int	 cmd_resolve(int, char **);
int	 cmd_policy(int, char **);
int	 cmd_version(int, char **);
int	 cmd_run(int, char **);
int	 cmd_reload(int, char **);

/* Common options: -c PATH, -o json|text.  Returns 0, or 2 on misuse. */
struct cmd_opts {
	const char	*config;
	int		 json;
};
int	 cmd_parse_common(int argc, char **argv, const char *usage,
	    struct cmd_opts *);
void	 cmd_usage(FILE *, const char *name, const char *usage);

struct diag_list;
/*
 * Diagnostics as `check` prints them: JSON {"errors":[...],"warnings":
 * [...]} on stdout, or text on stderr ending, when nerr > 0, with
 * "configuration PATH test failed: N errors".  cmd_check.c.
 */
void	 cmd_print_diags(const struct diag_list *, const char *config,
	    size_t nerr, int json);

#endif
