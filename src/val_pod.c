/*
 * Pod: read leniently (svcproxy needs only labels, ports, IPs and DNS
 * names), but what it uses is checked as the API server would:
 * container ports (validateContainerPorts), spec.hostname and
 * spec.subdomain (ValidatePodSpec) and the status IPs.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "val_int.h"
#include "val_lb.h"

struct pod_ctx {
	struct diag_ctx		 dc;
	struct val_quiet	 q;	/* rules first, places on need */
	struct kpod		*p;
	size_t			 n;
};

/* Where a port name was first seen in the pod, for duplicates. */
struct seen {
	const char		*name;
	size_t			 ctr;
};

/*
 * The rules run through c->q first (val_int.h): a Pod's nodes and
 * paths are looked up and formatted only for a value that is wrong.
 */
static void
one_port(struct pod_ctx *c, const char *list, size_t ci, size_t pi,
    struct kpod_port *pt)
{
	const struct ynode	*y = pt->y;
	char			 f[VAL_PATH_MAX];
	size_t			 e;

	if (!pt->container_port.set || pt->container_port.v == 0) {
		val_path(f, "spec.%s[%zu].ports[%zu].containerPort", list, ci,
		    pi);
		kobj_err(&c->dc, val_at(y, "containerPort", y), DIAG_REQUIRED,
		    f, NULL, NULL);
		c->n++;
	} else {
		e = val_port_number(&c->q.dc, NULL, NULL,
		    pt->container_port.v);
		if (val_quiet_again(&c->q))
			e = val_port_number(&c->dc, val_at(y, "containerPort",
			    y), val_path(f, "spec.%s[%zu].ports[%zu]."
			    "containerPort", list, ci, pi),
			    pt->container_port.v);
		c->n += e;
	}
	if (pt->host_port.set && pt->host_port.v != 0) {
		e = val_port_number(&c->q.dc, NULL, NULL, pt->host_port.v);
		if (val_quiet_again(&c->q))
			e = val_port_number(&c->dc, val_at(y, "hostPort", y),
			    val_path(f, "spec.%s[%zu].ports[%zu].hostPort",
			    list, ci, pi), pt->host_port.v);
		c->n += e;
	}
	/* The default is written either way; the second call keeps it. */
	e = val_protocol(&c->q.dc, NULL, NULL, &pt->protocol);
	if (val_quiet_again(&c->q))
		e = val_protocol(&c->dc, val_at(y, "protocol", y), val_path(f,
		    "spec.%s[%zu].ports[%zu].protocol", list, ci, pi),
		    &pt->protocol);
	c->n += e;
}

/*
 * Port names: IANA_SVC_NAME, unique within a container (an error, as
 * the API server).  The same name in two containers is legal but makes
 * a named targetPort ambiguous: a warning, and the first one wins.
 * ctr numbers the container across containers and initContainers.
 */
static void
port_name(struct pod_ctx *c, const char *list, size_t ci, size_t ctr,
    size_t pi, const struct kpod_port *pt, struct seen *seen, size_t *nseen)
{
	const struct ynode	*at;
	char			 f[VAL_PATH_MAX];
	size_t			 k, e;

	if (pt->name == NULL || *pt->name == '\0')
		return;
	e = val_port_name(&c->q.dc, NULL, NULL, pt->name);
	if (val_quiet_again(&c->q))
		e = val_port_name(&c->dc, val_at(pt->y, "name", pt->y),
		    val_path(f, "spec.%s[%zu].ports[%zu].name", list, ci, pi),
		    pt->name);
	if (e > 0) {
		c->n += e;
		return;
	}
	for (k = 0; k < *nseen; k++) {
		if (strcmp(seen[k].name, pt->name) != 0)
			continue;
		at = val_at(pt->y, "name", pt->y);
		val_path(f, "spec.%s[%zu].ports[%zu].name", list, ci, pi);
		if (seen[k].ctr == ctr) {
			kobj_err(&c->dc, at, DIAG_DUPLICATE, f, pt->name,
			    NULL);
			c->n++;
		} else
			kobj_warn(&c->dc, at, DIAG_DUPLICATE, f, pt->name,
			    "another container has a port of this name; a "
			    "Service's targetPort \"%s\" uses the first",
			    pt->name);
		return;
	}
	seen[*nseen].name = pt->name;
	seen[*nseen].ctr = ctr;
	(*nseen)++;
}

/* seen has room for every port of the pod. */
static void
containers(struct pod_ctx *c, const char *list, size_t ctr0,
    struct kpod_container *v, size_t nv, struct seen *seen, size_t *nseen)
{
	size_t ci, pi;

	for (ci = 0; ci < nv; ci++)
		for (pi = 0; pi < v[ci].ports.n; pi++) {
			port_name(c, list, ci, ctr0 + ci, pi,
			    &v[ci].ports.v[pi], seen, nseen);
			one_port(c, list, ci, pi, &v[ci].ports.v[pi]);
		}
}

/*
 * Pod IPs as the API server sees them: v1 conversion
 * (Convert_v1_PodStatus_To_core_PodStatus) makes podIPs [podIP] when
 * podIPs is empty or starts elsewhere (podIP is authoritative), then
 * validatePodIPs checks each entry at status.podIPs[i], one per family
 * and no repeats.
 */
/* The node and path of podIPs entry i (see pod_ips), found on need. */
struct ip_place {
	const struct ynode	*at;
	char			 f[VAL_PATH_MAX];
};

static void
ip_place(const struct kpod_status *st, int from_pod_ip, size_t i,
    struct ip_place *pl)
{
	if (pl->at != NULL)
		return;
	if (from_pod_ip)
		pl->at = val_at(st->y, "podIP", st->y);
	else
		pl->at = val_at(st->pod_ips.v[i].y, "ip", st->pod_ips.v[i].y);
	val_path(pl->f, "status.podIPs[%zu]", i);
}

static void
pod_ips(struct pod_ctx *c)
{
	struct kpod_status	*st = &c->p->status;
	const struct ynode	*sy = st->y;
	struct ipaddr		 a[2], x;
	struct ip_place		 pl;
	const char		*ip;
	size_t			 i, j, n, e, bad = 0;
	int			 from_pod_ip;

	memset(a, 0, sizeof(a));
	from_pod_ip = st->pod_ip != NULL && *st->pod_ip != '\0' &&
	    (st->pod_ips.n == 0 || st->pod_ips.v[0].ip == NULL ||
	    strcmp(st->pod_ip, st->pod_ips.v[0].ip) != 0);
	if (from_pod_ip && st->pod_ips.n > 0)
		kobj_warn(&c->dc, val_at(sy, "podIPs", sy), DIAG_INVALID,
		    "status.podIPs[0].ip", st->pod_ips.v[0].ip ?
		    st->pod_ips.v[0].ip : "", "differs from status.podIP; "
		    "status.podIP is used, as the API server does");
	n = from_pod_ip ? 1 : st->pod_ips.n;
	for (i = 0; i < n; i++) {
		pl.at = NULL;
		if (from_pod_ip)
			ip = st->pod_ip;
		else
			ip = st->pod_ips.v[i].ip != NULL ?
			    st->pod_ips.v[i].ip : "";
		e = val_ip(&c->q.dc, NULL, NULL, ip, 0, &x);
		if (val_quiet_again(&c->q)) {
			ip_place(st, from_pod_ip, i, &pl);
			e = val_ip(&c->dc, pl.at, pl.f, ip, 0, &x);
		}
		if (e > 0) {
			c->n++;
			bad++;
			continue;
		}
		if (ipaddr_is_loopback(&x)) {
			val_warn_loopback(&c->q.dc, NULL, NULL, ip);
			if (val_quiet_again(&c->q)) {
				ip_place(st, from_pod_ip, i, &pl);
				val_warn_loopback(&c->dc, pl.at, pl.f, ip);
			}
		}
		if (i < 2)
			a[i] = x;
		for (j = 0; j < i; j++)
			if (st->pod_ips.v[j].ip != NULL &&
			    strcmp(st->pod_ips.v[j].ip, ip) == 0)
				break;
		if (j < i) {
			ip_place(st, from_pod_ip, i, &pl);
			kobj_err(&c->dc, pl.at, DIAG_DUPLICATE, pl.f, ip, NULL);
			c->n++;
		}
	}
	if (n > 2 || (bad == 0 && n == 2 && a[0].family == a[1].family)) {
		kobj_err(&c->dc, val_at(sy, "podIPs", sy), DIAG_INVALID,
		    "status.podIPs", NULL, "%s",
		    "may specify no more than one IP for each IP family");
		c->n++;
	}
}

/*
 * ValidatePodSpec: hostname and subdomain, when set, are DNS-1123
 * labels (they become one label each of the endpoint's DNS name).
 */
static void
dns_names(struct pod_ctx *c)
{
	const struct kpod_spec	*sp = &c->p->spec;

	size_t			 e;

	if (sp->hostname != NULL && *sp->hostname != '\0') {
		e = val_dns1123_label(&c->q.dc, NULL, NULL, sp->hostname);
		if (val_quiet_again(&c->q))
			e = val_dns1123_label(&c->dc, val_at(sp->y,
			    "hostname", sp->y), "spec.hostname",
			    sp->hostname);
		c->n += e;
	}
	if (sp->subdomain != NULL && *sp->subdomain != '\0') {
		e = val_dns1123_label(&c->q.dc, NULL, NULL, sp->subdomain);
		if (val_quiet_again(&c->q))
			e = val_dns1123_label(&c->dc, val_at(sp->y,
			    "subdomain", sp->y), "spec.subdomain",
			    sp->subdomain);
		c->n += e;
	}
}

static size_t
count_ports(const struct kpod_container *v, size_t n)
{
	size_t i, total = 0;

	for (i = 0; i < n; i++)
		total += v[i].ports.n;
	return total;
}

void
val_pods_range(struct kset *set, size_t lo, size_t hi,
    struct diag_list *diags)
{
	size_t i;

	for (i = lo; i < hi && i < set->pods.n; i++) {
		struct kpod		*p = set->pods.v[i];
		struct kpod_spec	*sp = &p->spec;
		struct pod_ctx		 c;
		struct seen		*seen;
		size_t			 nseen = 0, nports;

		memset(&c, 0, sizeof(c));
		c.p = p;
		val_ctx(&c.dc, diags, p->file, "Pod", &p->meta);
		val_quiet_init(&c.q, &c.dc);
		c.n = val_meta(&c.dc, &p->meta, p->y, val_dns1123_subdomain, 1);
		c.n += val_lb_weight_annotation(&c.dc, &p->meta);
		nports = count_ports(sp->containers.v, sp->containers.n) +
		    count_ports(sp->init_containers.v, sp->init_containers.n);
		seen = nports ? calloc(nports, sizeof(*seen)) : NULL;
		if (nports == 0 || seen != NULL) {
			containers(&c, "containers", 0, sp->containers.v,
			    sp->containers.n, seen, &nseen);
			containers(&c, "initContainers", sp->containers.n,
			    sp->init_containers.v, sp->init_containers.n, seen,
			    &nseen);
		}
		free(seen);
		dns_names(&c);
		pod_ips(&c);
		if (c.n > 0)
			p->invalid = 1;
	}
}
