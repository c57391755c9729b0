/* The cluster DNS server's life in `svcproxy run` (dns_run.h). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "dns.h"
#include "dns_run.h"
#include "dns_zone.h"
#include "log.h"
#include "model.h"

/* A reload's DNS state, made in prepare. */
struct dns_next {
	struct dns_zone		*z;	/* a reference; NULL: DNS off */
	struct dns_srv		*srv;	/* bound, not started: the server
					   at a new address; NULL: keep
					   the running one (if any) */
};

static void
log_listening(const struct pcfg *pc, const struct dns_zone *z,
    const char *how)
{
	char	hp[NETADDR_HOSTPORTLEN];

	log_info("dns: listening on %s (udp, tcp) for %s: %zu names, %zu "
	    "records%s", ipaddr_format_hostport(&pc->dns_ip, pc->dns_port, hp,
	    sizeof(hp)), pc->dns_domain, dns_zone_nnames(z),
	    dns_zone_nrecords(z), how);
}

static void
dns_next_free(struct dns_next *nx)
{
	if (nx == NULL)
		return;
	dns_srv_free(nx->srv);	/* never started: only closes */
	dns_zone_unref(nx->z);
	free(nx);
}

/*
 * The DNS part of a reload: the new model's zone, built aside; and when
 * spec.dns.listen names another address than the running server's (or
 * DNS was off), a new server bound there now, beside the running one,
 * so that a bind failure fails the reload before anything changed.
 */
static int
dns_prepare(void *arg, const struct reload_next *n, void **state,
    char *err, size_t errlen)
{
	struct dns_run		*r = arg;
	const struct pcfg	*pc = &n->m->pcfg;
	struct dns_next		*nx;

	*state = NULL;
	if (r->srv == NULL && !pc->dns_on)
		return 0;
	if ((nx = calloc(1, sizeof(*nx))) == NULL) {
		snprintf(err, errlen, "dns: out of memory");
		return -1;
	}
	*state = nx;
	if (!pc->dns_on)
		return 0;		/* commit stops the server */
	if ((nx->z = dns_zone_build(&n->m->res, pc->dns_domain,
	    pc->dns_ttl)) == NULL) {
		snprintf(err, errlen, "dns: out of memory");
		goto fail;
	}
	if (r->srv != NULL && ipaddr_equal(&pc->dns_ip, &r->ip) &&
	    pc->dns_port == r->port)
		return 0;
	if ((nx->srv = dns_srv_new(&pc->dns_ip, pc->dns_port, &r->st, err,
	    errlen)) == NULL)
		goto fail;
	return 0;
fail:
	dns_next_free(nx);
	*state = NULL;
	return -1;
}

static void
dns_abort(void *arg, void *state)
{
	(void)arg;
	dns_next_free(state);
}

/*
 * Swap the zone in, or start the new server and only then stop the old
 * one, so that one of them answers throughout.
 */
static void
dns_commit(void *arg, void *state, struct reload_next *n)
{
	struct dns_run		*r = arg;
	struct dns_next		*nx = state;
	const struct pcfg	*pc = &n->m->pcfg;
	char			 err[256];

	if (nx == NULL)
		return;
	if (nx->z == NULL) {
		dns_run_stop(r);
		log_info("dns: stopped (spec.dns.listen is no longer set)");
	} else if (nx->srv == NULL) {
		dns_srv_set_zone(r->srv, nx->z);
		nx->z = NULL;
	} else if (dns_srv_start(nx->srv, dns_zone_ref(nx->z), err,
	    sizeof(err)) == -1) {
		/* Rare (no thread): the running server, if any, stays
		   where it is and answers from the new zone. */
		log_error("%s; the DNS server keeps its address", err);
		if (r->srv != NULL) {
			dns_srv_set_zone(r->srv, nx->z);
			nx->z = NULL;
		}
	} else {
		log_listening(pc, nx->z, r->srv != NULL ? " (moved)" : "");
		dns_run_stop(r);
		r->srv = nx->srv;
		r->ip = pc->dns_ip;
		r->port = pc->dns_port;
		nx->srv = NULL;
		atomic_store(&r->st.serving, 1);
	}
	dns_next_free(nx);
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
	char			 err[256];

	if (!pc->dns_on)
		return 0;
	if ((z = dns_zone_build(&m->res, pc->dns_domain, pc->dns_ttl)) ==
	    NULL) {
		log_error("dns: out of memory");
		return -1;
	}
	/* Once created, the server owns z, started or not. */
	if ((r->srv = dns_srv_new(&pc->dns_ip, pc->dns_port, &r->st, err,
	    sizeof(err))) == NULL || dns_srv_start(r->srv, z, err,
	    sizeof(err)) == -1) {
		if (r->srv == NULL)
			dns_zone_unref(z);
		log_error("%s", err);
		return -1;
	}
	r->ip = pc->dns_ip;
	r->port = pc->dns_port;
	atomic_store(&r->st.serving, 1);
	log_listening(pc, z, "");
	return 0;
}

const struct dns_stats *
dns_run_stats(const struct dns_run *r)
{
	return &r->st;
}

void
dns_run_stop(struct dns_run *r)
{
	dns_srv_free(r->srv);
	r->srv = NULL;
	atomic_store(&r->st.serving, 0);
}
