/*
 * cmd: one subcommand per file (cmd_<name>.c), each defining one
 * struct cmd_entry, found from cmd_table in main.c (tmux's cmd_entry and
 * cmd_table).  The entry is the only place a command's name, usage and
 * summary are written: dispatch, `svcproxy help` and the command's own
 * usage errors all print them from there.  The handler gets argv after
 * the subcommand's name (argv[0] is the name) and returns the process
 * exit code: 0 success, 1 the configuration or the verdict says no,
 * 2 usage error.  What they share (parsing, usage lines, diagnostics)
 * is in cmd.c.
 */
#ifndef SVCPROXY_CMD_H
#define SVCPROXY_CMD_H

#include <stdio.h>

#define CMD_DEFAULT_CONFIG	"/etc/svcproxy"
#define CMD_DEFAULT_PIDFILE	"/run/svcproxy/svcproxy.pid"	/* reload */

struct cmd_entry {
	const char	*name;
	const char	*usage;		/* options, after "svcproxy NAME" */
	const char	*summary;	/* one line, for help */
	int		(*exec)(int argc, char **argv);
};

/* cmd_<name>.c: the entry and the handler it names. */
extern const struct cmd_entry cmd_check_entry;
extern const struct cmd_entry cmd_policy_entry;
extern const struct cmd_entry cmd_reload_entry;
extern const struct cmd_entry cmd_resolve_entry;
extern const struct cmd_entry cmd_run_entry;
extern const struct cmd_entry cmd_version_entry;
int	 cmd_check(int, char **);
int	 cmd_policy(int, char **);
int	 cmd_reload(int, char **);
int	 cmd_resolve(int, char **);
int	 cmd_run(int, char **);
int	 cmd_version(int, char **);

struct option;

/* Options every command shares: -c PATH, and -o json|text where taken. */
struct cmd_opts {
	const char	*config;	/* default CMD_DEFAULT_CONFIG */
	int		 json;
};

/*
 * How a command parses argv: -c/--config and -h/--help always,
 * -o/--output when output is set, and its own long options (extra:
 * getopt_long's table, NULL-terminated, at most CMD_EXTRA_MAX, values
 * other than 'c', 'o', 'h'), each handed to opt(val, optarg, ctx),
 * which returns 0, or 2 after saying what is wrong.
 */
#define CMD_EXTRA_MAX	8
struct cmd_parser {
	const struct cmd_entry	*entry;		/* for its usage */
	int			 output;
	const struct option	*extra;		/* may be NULL */
	int			(*opt)(int val, const char *arg, void *ctx);
	void			*ctx;
};

#define CMD_GO		(-1)	/* cmd_parse: carry on */
/*
 * Parse argv into o.  CMD_GO, or the exit code: 0 after --help (usage
 * on stdout), 2 on misuse (usage on stderr).
 */
int	 cmd_parse(int argc, char **argv, const struct cmd_parser *,
	    struct cmd_opts *);
/* "svcproxy NAME USAGE", the line usage errors and help print. */
void	 cmd_usage_line(FILE *, const struct cmd_entry *);
/* "usage: " and the usage line. */
void	 cmd_usage(FILE *, const struct cmd_entry *);

struct diag_list;
/*
 * Diagnostics as `check` prints them: JSON {"errors":[...],"warnings":
 * [...]} on stdout, or text on stderr ending, when nerr > 0, with
 * "configuration PATH test failed: N errors".
 */
void	 cmd_print_diags(const struct diag_list *, const char *config,
	    size_t nerr, int json);

#endif
