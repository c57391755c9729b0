/*
 * svcproxy check: nginx -t for Kubernetes YAML.  Loads, validates and
 * resolves exactly as `run` and a reload would, and lists every error.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "clock.h"
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

/*
 * With SVCPROXY_TIMINGS set: where the time went, on stderr, for
 * bench/scale.sh and whoever wonders why a large configuration is slow
 * to check (an environment variable, not an option: it is for
 * measuring, not for operators).
 */
static void
print_timings(const struct model *m, int64_t print_us)
{
	static const char *const names[MODEL_NPHASES] = {
		"load", "validate", "resolve"
	};
	const struct model_times	*t = &m->times;
	struct rusage			 ru;
	int				 i;

	getrusage(RUSAGE_SELF, &ru);
	fprintf(stderr, "svcproxy: timings (wall/cpu s):");
	for (i = 0; i < MODEL_NPHASES; i++)
		fprintf(stderr, " %s %.3f/%.3f,", names[i],
		    t->wall_us[i] / 1e6, t->cpu_us[i] / 1e6);
	fprintf(stderr, " print %.3f; %zu files, %zu pieces on threads; "
	    "process user %.3f, sys %.3f, max rss %ld KiB\n", print_us / 1e6,
	    m->set.nfiles, m->set.npieces,
	    ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6,
	    ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6, ru.ru_maxrss);
}

int
cmd_check(int argc, char **argv)
{
	int			timings = getenv("SVCPROXY_TIMINGS") != NULL;
	struct cmd_parser	p = { &cmd_check_entry, 1, NULL, NULL, NULL };
	struct cmd_opts		o;
	int64_t			t0;
	struct diag_list	dl;
	struct model		m;
	size_t			nerr;
	int			rc;

	if ((rc = cmd_parse(argc, argv, &p, &o)) != CMD_GO)
		return rc;
	diag_list_init(&dl);
	nerr = model_load(&m, o.config, &dl);
	t0 = clock_mono_us();
	cmd_print_diags(&dl, o.config, nerr, o.json);
	if (!o.json && nerr == 0)
		print_summary(o.config, &m, dl.nwarn);
	if (timings) {
		fflush(stdout);
		print_timings(&m, clock_mono_us() - t0);
	}
	model_free(&m);
	diag_list_free(&dl);
	return nerr == 0 ? 0 : 1;
}
