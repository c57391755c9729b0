/*
 * svcproxy check: nginx -t for Kubernetes YAML.  Loads, validates and
 * resolves exactly as `run` and a reload would, and lists every error.
 */
#include "config.h"

#include <stdio.h>

#include "cmd.h"
#include "diag.h"
#include "model.h"

static const char usage[] = "[-c PATH] [-o json]";

static void
print_json(const struct diag_list *dl)
{
	size_t	i;
	int	first;

	printf("{\"errors\":[");
	for (i = 0, first = 1; i < dl->n; i++) {
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

static void
print_summary(const char *path, const struct model *m, size_t nwarn)
{
	size_t i, ports = 0, listeners = 0, endpoints = 0;

	for (i = 0; i < m->res.nservices; i++) {
		const struct res_service *s = &m->res.services[i];
		size_t j;

		ports += s->nports;
		for (j = 0; j < s->nports; j++) {
			listeners += s->ports[j].nlisteners;
			endpoints += s->ports[j].nendpoints;
		}
	}
	printf("svcproxy: configuration %s is ok: %zu services, %zu ports, "
	    "%zu listeners, %zu endpoints, %zu pods, %zu network policies, "
	    "%zu warnings\n", path, m->res.nservices, ports, listeners,
	    endpoints, m->set.pods.n, m->set.netpols.n, nwarn);
}

int
cmd_check(int argc, char **argv)
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
	if (o.json)
		print_json(&dl);
	else {
		diag_print(&dl, stderr);
		if (nerr == 0)
			print_summary(o.config, &m, dl.nwarn);
		else
			fprintf(stderr, "svcproxy: configuration %s test "
			    "failed: %zu errors\n", o.config, nerr);
	}
	model_free(&m);
	diag_list_free(&dl);
	return nerr == 0 ? 0 : 1;
}
