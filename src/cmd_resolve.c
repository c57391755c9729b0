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

const struct cmd_entry cmd_resolve_entry = {
	.name = "resolve",
	.usage = "[-c PATH] [-o json]",
	.summary = "Print each Service port's listeners and endpoints.",
	.exec = cmd_resolve,
};

int
cmd_resolve(int argc, char **argv)
{
	struct cmd_parser	p = { &cmd_resolve_entry, 1, NULL, NULL, NULL };
	struct cmd_opts		o;
	struct diag_list	dl;
	struct model		m;
	size_t			nerr;
	int			rc;

	if ((rc = cmd_parse(argc, argv, &p, &o)) != CMD_GO)
		return rc;
	diag_list_init(&dl);
	nerr = model_load(&m, o.config, &dl);
	if (nerr > 0 || !m.resolved) {
		cmd_print_diags(&dl, o.config, nerr, o.json);
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
