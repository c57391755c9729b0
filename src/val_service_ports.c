/*
 * Service ports and nodePorts: initNodePorts' allocation (one NodePort
 * per port number, the explicit healthCheckNodePort) and its undoing,
 * then validateServicePort and the rules over the set of ports.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "val_service_int.h"


/* A port number waiting for res_alloc's AllocateNext. */
#define NP_PENDING		(-1)

/*
 * The port allocator's Allocate(np) within this Service's operation:
 * range first, then taken (by a created Service or earlier in this
 * one).  Reports at field and returns -1 when it fails.
 */
static int
np_allocate(struct svc_ctx *c, const struct ynode *node, const char *field,
    int64_t np, int hc)
{
	uint32_t	 w;
	char		 why[128], bad[24];

	snprintf(bad, sizeof(bad), "%lld", (long long)np);
	if (np < c->pcfg->node_port_min || np > c->pcfg->node_port_max) {
		snprintf(why, sizeof(why), "provided port is not in the valid "
		    "range. The range of valid ports is %u-%u",
		    c->pcfg->node_port_min, c->pcfg->node_port_max);
		w = 0;
	} else if ((w = c->al->port_owner[np]) != 0)
		snprintf(why, sizeof(why), "provided port is already "
		    "allocated");
	else {
		c->al->port_owner[np] = (uint32_t)c->idx + 1;
		return 0;
	}
	/* The health-check port's failure is not a field error there. */
	if (hc)
		kobj_err(&c->dc, node, DIAG_NOTE, field, NULL, "Internal error "
		    "occurred: failed to allocate requested HealthCheck "
		    "NodePort %s: %s", bad, why);
	else
		kobj_err(&c->dc, node, DIAG_INVALID, field, bad, "%s", why);
	c->n++;
	if (w != 0 && w != c->idx + 1)
		note_holder(c, node, field, c->set->svcs.v[w - 1]);
	c->alloc_failed = 1;
	return -1;
}

/* findRequestedNodePort: the first nodePort given for port number. */
static int64_t
requested_node_port(const struct ksvc_spec *sp, int64_t port)
{
	size_t i;

	for (i = 0; i < sp->ports.n; i++)
		if (sp->ports.v[i].port.v == port &&
		    sp->ports.v[i].node_port.set &&
		    sp->ports.v[i].node_port.v != 0)
			return sp->ports.v[i].node_port.v;
	return 0;
}

/*
 * initNodePorts: one NodePort per port number, shared by its protocols
 * (DNS on 53/TCP and 53/UDP), and a port with none takes the number's.
 * What is left for AllocateNext res_alloc() assigns.  Then the explicit
 * healthCheckNodePort, from the same allocator.  Ports are marked with
 * this Service; one_service() releases them if the Service fails.
 */
void
val_svc_alloc_node_ports(struct svc_ctx *c)
{
	struct ksvc_spec	*sp = &c->s->spec;
	int64_t			*by_port = NULL, np, want;
	char			 f[VAL_PATH_MAX];
	size_t			 i, j;
	int			 all;

	if (c->alloc_failed || c->al->port_owner == NULL ||
	    (!is(sp->type, "NodePort") &&
	    !is(sp->type, "LoadBalancer")))
		return;
	all = is(sp->type, "NodePort") ||
	    sp->allocate_load_balancer_node_ports.v != 0;
	if (sp->ports.n > 0 &&
	    (by_port = calloc(sp->ports.n, sizeof(*by_port))) == NULL)
		return;
	for (i = 0; i < sp->ports.n; i++) {
		struct ksvc_port *p = &sp->ports.v[i];

		np = p->node_port.set ? p->node_port.v : 0;
		if (np == 0 && !all)
			continue;	/* only explicit requests */
		for (j = 0; j < i; j++)
			if (by_port[j] != 0 &&
			    sp->ports.v[j].port.v == p->port.v)
				break;
		want = j < i ? by_port[j] : 0;
		val_path(f, "spec.ports[%zu].nodePort", i);
		if (want == 0) {
			if ((want = requested_node_port(sp, p->port.v)) == 0) {
				by_port[i] = NP_PENDING;
				continue;
			}
			if (np_allocate(c, val_at(p->y, "nodePort", p->y), f,
			    want, 0) == -1)
				break;
			p->node_port.set = 1;
			p->node_port.v = want;
			by_port[i] = want;
		} else if (np != want) {
			if (np == 0) {
				if (want != NP_PENDING) {
					p->node_port.set = 1;
					p->node_port.v = want;
				}
			} else if (np_allocate(c, val_at(p->y, "nodePort",
			    p->y), f, np, 0) == -1)
				break;
		}
	}
	free(by_port);
	if (!c->alloc_failed && needs_health_check(sp) &&
	    sp->health_check_node_port.set &&
	    sp->health_check_node_port.v != 0)
		(void)np_allocate(c, at(c, "healthCheckNodePort"),
		    "spec.healthCheckNodePort", sp->health_check_node_port.v,
		    1);
}

/* Undo val_svc_alloc_node_ports() for a Service that was not created. */
void
val_svc_release_node_ports(struct svc_ctx *c)
{
	const struct ksvc_spec	*sp = &c->s->spec;
	uint32_t		 me = (uint32_t)c->idx + 1;
	int64_t			 np;
	size_t			 i;

	for (i = 0; c->al->port_owner != NULL && i <= sp->ports.n; i++) {
		np = i < sp->ports.n ? sp->ports.v[i].node_port.v :
		    sp->health_check_node_port.v;
		if (np > 0 && np < NODE_PORTS && c->al->port_owner[np] == me)
			c->al->port_owner[np] = 0;
	}
}

/* validateServicePort */
static void
one_port(struct svc_ctx *c, size_t i)
{
	struct ksvc_port	*p = &c->s->spec.ports.v[i];
	const struct ynode	*py = p->y;
	char			 f[VAL_PATH_MAX];
	enum hc_kind		 hc;
	size_t			 j;

	if (p->name == NULL || *p->name == '\0') {
		if (c->s->spec.ports.n > 1)
			err(c, py, DIAG_REQUIRED, val_path(f,
			    "spec.ports[%zu].name", i), NULL, NULL);
	} else {
		c->n += val_dns1123_label(&c->dc, val_at(py, "name", py),
		    val_path(f, "spec.ports[%zu].name", i), p->name);
		for (j = 0; j < i; j++)
			if (is(c->s->spec.ports.v[j].name, p->name)) {
				err(c, val_at(py, "name", py), DIAG_DUPLICATE,
				    f, p->name, NULL);
				break;
			}
	}
	c->n += val_port_number(&c->dc, val_at(py, "port", py),
	    val_path(f, "spec.ports[%zu].port", i), p->port.v);
	c->n += val_protocol(&c->dc, val_at(py, "protocol", py),
	    val_path(f, "spec.ports[%zu].protocol", i), &p->protocol);
	/* Valid Kubernetes, but svcproxy would open nothing for it: say
	   so where `check` can show it, once per port. */
	hc = val_hc_kind(&c->s->meta.annotations, c->pcfg->hc.check.kind);
	if (is(p->protocol, "SCTP") &&
	    !headless(c->s) && !is(c->s->spec.type, "ExternalName"))
		kobj_warn(&c->dc, val_at(py, "protocol", py), DIAG_NOTE, f,
		    NULL, "%s is not served (svcproxy relays TCP and UDP; "
		    "the kernels it is tested on have no SCTP module)%s",
		    p->protocol, hc == HC_NONE ? "" : ", and its "
		    "health check does not apply to this port (checks are "
		    "TCP)");
	else if (is(p->protocol, "UDP") && hc != HC_NONE &&
	    !headless(c->s) && !is(c->s->spec.type, "ExternalName"))
		kobj_warn(&c->dc, val_at(py, "protocol", py), DIAG_NOTE, f,
		    NULL, "its health check does not apply to this UDP port "
		    "(checks are TCP)");
	/* ValidatePortNumOrName, also on a targetPort defaulted to port. */
	val_path(f, "spec.ports[%zu].targetPort", i);
	if (p->target_port.is_str)
		c->n += val_port_name(&c->dc, val_at(py, "targetPort", py), f,
		    p->target_port.str);
	else
		c->n += val_port_number(&c->dc, val_at(py, "targetPort", py),
		    f, p->target_port.num);
	if (p->app_protocol != NULL)
		c->n += val_qualified_name(&c->dc,
		    val_at(py, "appProtocol", py),
		    val_path(f, "spec.ports[%zu].appProtocol", i),
		    p->app_protocol, p->app_protocol);
}

void
val_svc_ports(struct svc_ctx *c)
{
	size_t i;

	for (i = 0; i < c->s->spec.ports.n; i++)
		one_port(c, i);
}

/* The port rules ValidateService runs after the type check. */
void
val_svc_port_sets(struct svc_ctx *c)
{
	struct ksvc_spec	*sp = &c->s->spec;
	char			 f[VAL_PATH_MAX], bad[48];
	size_t			 i, j;

	for (i = 0; i < sp->ports.n && is(sp->type, "ClusterIP"); i++)
		if (sp->ports.v[i].node_port.set &&
		    sp->ports.v[i].node_port.v != 0)
			err(c, val_at(sp->ports.v[i].y, "nodePort",
			    sp->ports.v[i].y), DIAG_FORBIDDEN,
			    val_path(f, "spec.ports[%zu].nodePort", i), NULL,
			    "may not be used when `type` is 'ClusterIP'");
	/* One (protocol, nodePort); allocation has said it otherwise. */
	for (i = 0; i < sp->ports.n && !c->alloc_failed; i++) {
		const struct ksvc_port *p = &sp->ports.v[i];

		if (!p->node_port.set || p->node_port.v == 0)
			continue;
		for (j = 0; j < i; j++)
			if (sp->ports.v[j].node_port.v == p->node_port.v &&
			    is(sp->ports.v[j].protocol, p->protocol))
				break;
		if (j == i)
			continue;
		snprintf(bad, sizeof(bad), "%lld", (long long)p->node_port.v);
		err(c, val_at(p->y, "nodePort", p->y), DIAG_DUPLICATE,
		    val_path(f, "spec.ports[%zu].nodePort", i), bad, NULL);
	}
	/* One (protocol, port). */
	for (i = 0; i < sp->ports.n; i++) {
		const struct ksvc_port *p = &sp->ports.v[i];

		for (j = 0; j < i; j++)
			if (sp->ports.v[j].port.v == p->port.v &&
			    is(sp->ports.v[j].protocol, p->protocol))
				break;
		if (j == i)
			continue;
		snprintf(bad, sizeof(bad), "%lld/%s", (long long)p->port.v,
		    p->protocol);
		err(c, p->y, DIAG_DUPLICATE, val_path(f, "spec.ports[%zu]", i),
		    bad, NULL);
	}
}
