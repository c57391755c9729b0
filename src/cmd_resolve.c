/*
 * svcproxy resolve: what svcproxy would serve.  Loads, validates and
 * resolves like check, then prints every Service port with its
 * listeners and endpoints (text, or -o json in the shape the
 * tests/cases files pin).  Invalid configurations print their errors as
 * check does and exit 1; warnings go to stderr so stdout stays clean.
 */
#include "config.h"

#include <stdio.h>

#include "cmd.h"
#include "diag.h"
#include "model.h"
#include "res.h"

static const char usage[] = "[-c PATH] [-o json]";

/* The errors in check's -o json shape: {"errors":[...],"warnings":[]}. */
static void
print_errors_json(const struct diag_list *dl)
{
	size_t	i;
	int	first = 1;

	printf("{\"errors\":[");
	for (i = 0; i < dl->n; i++) {
		if (dl->v[i].sev != DIAG_ERROR)
			continue;
		if (!first)
			putchar(',');
		first = 0;
		diag_print_json(&dl->v[i], stdout);
	}
	printf("],\"warnings\":[");
	for (i = 0, first = 1; i < dl->n; i++) {
		if (dl->v[i].sev != DIAG_WARNING)
			continue;
		if (!first)
			putchar(',');
		first = 0;
		diag_print_json(&dl->v[i], stdout);
	}
	printf("]}\n");
}

int
cmd_resolve(int argc, char **argv)
{
	struct cmd_opts		o;
	struct diag_list	dl;
	struct model		m;
	size_t			nerr;
	int			rc;

	if ((rc = cmd_parse_common(argc, argv, usage, &o)) != 0)
		return rc;
	diag_list_init(&dl);
	nerr = model_load(&m, o.config, &dl);
	if (nerr > 0 || !m.resolved) {
		if (o.json)
			print_errors_json(&dl);
		else {
			diag_print(&dl, stderr);
			fprintf(stderr, "svcproxy: configuration %s test "
			    "failed: %zu errors\n", o.config, nerr);
		}
		rc = 1;
	} else {
		diag_print(&dl, stderr);
		if (o.json)
			res_print_json(&m.res, stdout);
		else
			res_print_text(&m.res, stdout);
		rc = 0;
	}
	model_free(&m);
	diag_list_free(&dl);
	return rc;
}
