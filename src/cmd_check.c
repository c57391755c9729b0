/*
 * svcproxy check: nginx -t for Kubernetes YAML.  Loads, validates and
 * resolves exactly as `run` and a reload would, and lists every error.
 */
#include "config.h"

#include <stdio.h>

#include "cmd.h"
#include "diag.h"
#include "model.h"

const struct cmd_entry cmd_check_entry = {
	.name = "check",
	.usage = "[-c PATH] [-o json]",
	.summary = "Load, validate and resolve as run would; list every error.",
	.exec = cmd_check,
};

/*
 * One line per ExternalName Service: proxied to its name (the endpoints
 * come from DNS at run time), or not, and why.
 */
static void
print_external_names(const struct model *m)
{
	size_t i;

	for (i = 0; i < m->res.nservices; i++) {
		const struct res_service *s = &m->res.services[i];

		if (s->external_name == NULL)
			continue;
		if (s->xn_proxy)
			printf("svcproxy: ExternalName %s/%s: proxied to %s "
			    "(%zu ports on %zu externalIPs; endpoints resolved "
			    "at run time)\n", s->ns, s->name, s->external_name,
			    s->nports, s->nexternal_ips);
		else
			printf("svcproxy: ExternalName %s/%s: not proxied: "
			    "%s\n", s->ns, s->name, s->xn_why != NULL ?
			    s->xn_why : "no ports");
	}
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
	print_external_names(m);
}

int
cmd_check(int argc, char **argv)
{
	struct cmd_parser	p = { &cmd_check_entry, 1, NULL, NULL, NULL };
	struct cmd_opts		o;
	struct diag_list	dl;
	struct model		m;
	size_t			nerr;
	int			rc;

	if ((rc = cmd_parse(argc, argv, &p, &o)) != CMD_GO)
		return rc;
	diag_list_init(&dl);
	nerr = model_load(&m, o.config, &dl);
	cmd_print_diags(&dl, o.config, nerr, o.json);
	if (!o.json && nerr == 0)
		print_summary(o.config, &m, dl.nwarn);
	model_free(&m);
	diag_list_free(&dl);
	return nerr == 0 ? 0 : 1;
}
