/*
 * svcproxy: Kubernetes Service semantics on machines outside any cloud.
 *
 * main() finds the subcommand; each lives in its own cmd_<name>.c.
 * Process-wide mutable state (signals, the running configuration) lives
 * in cmd_run.c's run context, owned by the `run` command; libevent's log
 * callback, which takes no argument, keeps its rate limit here.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "cmd.h"
#include "log.h"

/*
 * libevent's own messages (any thread's base) go through log.c, rate
 * limited: out of file descriptors, it complains on every failed
 * accept(2), which was hundreds of MB of log in seconds.
 */
#define MAIN_EVLOG_BURST	5
#define MAIN_EVLOG_PERIOD_MS	10000

static struct log_rl main_evlog;

static void
main_event_log(int severity, const char *msg)
{
	enum log_level l;

	switch (severity) {
	case EVENT_LOG_DEBUG:
		l = LOG_LEVEL_DEBUG;
		break;
	case EVENT_LOG_MSG:
		l = LOG_LEVEL_INFO;
		break;
	case EVENT_LOG_WARN:
		l = LOG_LEVEL_WARN;
		break;
	default:
		l = LOG_LEVEL_ERROR;
		break;
	}
	log_rl_msg(&main_evlog, l, "libevent: %s", msg);
}

/* Every command, in help's order; a new one adds its entry here. */
static const struct cmd_entry *const cmd_table[] = {
	&cmd_check_entry,
	&cmd_policy_entry,
	&cmd_reload_entry,
	&cmd_resolve_entry,
	&cmd_run_entry,
	&cmd_version_entry,
};

static void
usage_all(FILE *fp)
{
	size_t i;

	fprintf(fp, "usage: svcproxy COMMAND [options]\n\ncommands:\n");
	for (i = 0; i < sizeof(cmd_table) / sizeof(cmd_table[0]); i++) {
		fputs("  ", fp);
		cmd_usage_line(fp, cmd_table[i]);
		fprintf(fp, "      %s\n", cmd_table[i]->summary);
	}
	fprintf(fp, "\nPATH is a YAML file or a directory of them "
	    "(default %s).\n", CMD_DEFAULT_CONFIG);
}

int
main(int argc, char **argv)
{
	size_t i;

	log_rl_init(&main_evlog, MAIN_EVLOG_BURST, MAIN_EVLOG_PERIOD_MS);
	event_set_log_callback(main_event_log);
	if (argc < 2) {
		usage_all(stderr);
		return 2;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage_all(stdout);
		return 0;
	}
	if (strcmp(argv[1], "-v") == 0 || strcmp(argv[1], "--version") == 0)
		return cmd_version_entry.exec(argc - 1, argv + 1);
	for (i = 0; i < sizeof(cmd_table) / sizeof(cmd_table[0]); i++)
		if (strcmp(argv[1], cmd_table[i]->name) == 0)
			return cmd_table[i]->exec(argc - 1, argv + 1);
	fprintf(stderr, "svcproxy: unknown command \"%s\"\n", argv[1]);
	usage_all(stderr);
	return 2;
}
