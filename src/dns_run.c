/* The cluster DNS server's life in `svcproxy run` (dns_run.h). */
#include "config.h"

#include <stdio.h>

#include "dns.h"
#include "dns_run.h"
#include "dns_zone.h"
#include "log.h"
#include "model.h"

/*
 * The DNS part of a reload: the new model's zone, built aside and
 * swapped in at commit.  The listen address is the startup one: a
 * change waits for a restart (or an upgrade), and says so.
 */
static int
dns_prepare(void *arg, const struct reload_next *n, void **state,
    char *err, size_t errlen)
{
	struct dns_run		*r = arg;
	const struct pcfg	*pc = &n->m->pcfg, *was = &(*r->model)->pcfg;

	*state = NULL;
	if (r->srv == NULL) {
		if (pc->dns_on)
			log_warn("dns: spec.dns.listen is applied at the next "
			    "restart");
		return 0;
	}
	if (!pc->dns_on || !ipaddr_equal(&pc->dns_ip, &was->dns_ip) ||
	    pc->dns_port != was->dns_port)
		log_warn("dns: a changed spec.dns.listen is applied at the "
		    "next restart");
	if ((*state = dns_zone_build(&n->m->res, pc->dns_domain,
	    pc->dns_ttl)) == NULL) {
		snprintf(err, errlen, "dns: out of memory");
		return -1;
	}
	return 0;
}

static void
dns_abort(void *arg, void *state)
{
	(void)arg;
	dns_zone_unref(state);
}

static void
dns_commit(void *arg, void *state, struct reload_next *n)
{
	struct dns_run	*r = arg;

	(void)n;
	if (state != NULL)
		dns_srv_set_zone(r->srv, state);
}

const struct reload_part dns_reload_part = {
	"dns", NULL, dns_prepare, NULL, dns_commit, dns_abort
};

int
dns_run_start(struct dns_run *r)
{
	const struct model	*m = *r->model;
	const struct pcfg	*pc = &m->pcfg;
	struct dns_zone		*z;
	char			 err[256], hp[NETADDR_HOSTPORTLEN];

	if (!pc->dns_on)
		return 0;
	if ((z = dns_zone_build(&m->res, pc->dns_domain, pc->dns_ttl)) ==
	    NULL) {
		log_error("dns: out of memory");
		return -1;
	}
	/* Once created, the server owns z, started or not. */
	if ((r->srv = dns_srv_new(&pc->dns_ip, pc->dns_port, err,
	    sizeof(err))) == NULL || dns_srv_start(r->srv, z, err,
	    sizeof(err)) == -1) {
		if (r->srv == NULL)
			dns_zone_unref(z);
		log_error("%s", err);
		return -1;
	}
	log_info("dns: listening on %s (udp, tcp) for %s: %zu names, %zu "
	    "records", ipaddr_format_hostport(&pc->dns_ip, pc->dns_port, hp,
	    sizeof(hp)), pc->dns_domain, dns_zone_nnames(z),
	    dns_zone_nrecords(z));
	return 0;
}

const struct dns_stats *
dns_run_stats(const struct dns_run *r)
{
	return r->srv != NULL ? dns_srv_stats(r->srv) : NULL;
}

void
dns_run_stop(struct dns_run *r)
{
	dns_srv_free(r->srv);
	r->srv = NULL;
}
