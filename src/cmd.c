/*
 * cmd: what every command shares (argv parsing, usage lines, printing
 * diagnostics), so that main.c only finds the command and the commands
 * depend on this file, never on main.c or on each other.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "diag.h"

void
cmd_usage_line(FILE *fp, const struct cmd_entry *e)
{
	fprintf(fp, "svcproxy %s%s%s\n", e->name, *e->usage ? " " : "",
	    e->usage);
}

void
cmd_usage(FILE *fp, const struct cmd_entry *e)
{
	fputs("usage: ", fp);
	cmd_usage_line(fp, e);
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
			cmd_usage(stdout, p->entry);
			return 0;
		case '?':
			cmd_usage(stderr, p->entry);
			return 2;
		default:
			if ((rc = p->opt(ch, optarg, p->ctx)) != 0)
				return rc;
			break;
		}
	}
	if (optind != argc) {
		cmd_usage(stderr, p->entry);
		return 2;
	}
	return CMD_GO;
}

static void
print_json_sev(const struct diag_list *dl, enum diag_severity sev)
{
	size_t	i;
	int	first = 1;

	for (i = 0; i < dl->n; i++) {
		if (dl->v[i].sev != sev)
			continue;
		if (!first)
			putchar(',');
		first = 0;
		diag_print_json(&dl->v[i], stdout);
	}
}

void
cmd_print_diags(const struct diag_list *dl, const char *config, size_t nerr,
    int json)
{
	if (json) {
		printf("{\"errors\":[");
		print_json_sev(dl, DIAG_ERROR);
		printf("],\"warnings\":[");
		print_json_sev(dl, DIAG_WARNING);
		printf("]}\n");
		return;
	}
	diag_print(dl, stderr);
	if (nerr > 0)
		fprintf(stderr, "svcproxy: configuration %s test failed: %zu "
		    "errors\n", config, nerr);
}
