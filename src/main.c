/*
 * svcproxy: Kubernetes Service semantics on machines outside any cloud.
 *
 * main() finds the subcommand; each lives in its own cmd_<name>.c.
 * Process-wide mutable state (signals, the running configuration) lives
 * in cmd_run.c's run context, owned by the `run` command.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

static const struct cmd_entry cmd_table[] = {
	{ "check", "[-c PATH] [-o json]", cmd_check },
	{ "policy", "[-c PATH] --from SRC (--to DST | --service NS/NAME) "
	    "--port N [--protocol P] [-o json]", cmd_policy },
	{ "reload", "[-c PATH] [--pidfile FILE]", cmd_reload },
	{ "resolve", "[-c PATH] [-o json]", cmd_resolve },
	{ "run", "[-c PATH] [--workers N] [--pidfile FILE]", cmd_run },
	{ "version", "", cmd_version },
};

void
cmd_usage(FILE *fp, const char *name, const char *usage)
{
	fprintf(fp, "usage: svcproxy %s %s\n", name, usage);
}

static void
usage_all(FILE *fp)
{
	size_t i;

	fprintf(fp, "usage: svcproxy COMMAND [options]\n\ncommands:\n");
	for (i = 0; i < sizeof(cmd_table) / sizeof(cmd_table[0]); i++)
		fprintf(fp, "  %-8s %s\n", cmd_table[i].name,
		    cmd_table[i].usage);
	fprintf(fp, "\nPATH is a YAML file or a directory of them "
	    "(default %s).\n", CMD_DEFAULT_CONFIG);
}

int
cmd_parse(int argc, char **argv, const struct cmd_parser *p,
    struct cmd_opts *o)
{
	struct option	 longopts[3 + CMD_EXTRA_MAX + 1];
	size_t		 n = 0, i;
	int		 ch, rc;

	longopts[n++] = (struct option){ "config", required_argument, NULL,
	    'c' };
	longopts[n++] = (struct option){ "help", no_argument, NULL, 'h' };
	if (p->output)
		longopts[n++] = (struct option){ "output", required_argument,
		    NULL, 'o' };
	for (i = 0; p->extra != NULL && i < CMD_EXTRA_MAX &&
	    p->extra[i].name != NULL; i++)
		longopts[n++] = p->extra[i];
	longopts[n] = (struct option){ NULL, 0, NULL, 0 };
	o->config = CMD_DEFAULT_CONFIG;
	o->json = 0;
	optind = 1;
	while ((ch = getopt_long(argc, argv, p->output ? "c:o:h" : "c:h",
	    longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			o->config = optarg;
			break;
		case 'o':
			if (strcmp(optarg, "json") == 0)
				o->json = 1;
			else if (strcmp(optarg, "text") != 0) {
				fprintf(stderr, "svcproxy %s: -o takes json "
				    "or text\n", argv[0]);
				return 2;
			}
			break;
		case 'h':
			cmd_usage(stdout, argv[0], p->usage);
			return 0;
		case '?':
			cmd_usage(stderr, argv[0], p->usage);
			return 2;
		default:
			if ((rc = p->opt(ch, optarg, p->ctx)) != 0)
				return rc;
			break;
		}
	}
	if (optind != argc) {
		cmd_usage(stderr, argv[0], p->usage);
		return 2;
	}
	return CMD_GO;
}

int
main(int argc, char **argv)
{
	size_t i;

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
		return cmd_version(argc - 1, argv + 1);
	for (i = 0; i < sizeof(cmd_table) / sizeof(cmd_table[0]); i++)
		if (strcmp(argv[1], cmd_table[i].name) == 0)
			return cmd_table[i].exec(argc - 1, argv + 1);
	fprintf(stderr, "svcproxy: unknown command \"%s\"\n", argv[1]);
	usage_all(stderr);
	return 2;
}
