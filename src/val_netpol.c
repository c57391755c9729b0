/*
 * NetworkPolicy (networking.k8s.io/v1): ValidateNetworkPolicy from
 * kubernetes pkg/apis/networking/validation, with the v1 defaults:
 * port protocol TCP, and policyTypes (kept as isolates_ingress and
 * isolates_egress).
 */
#include "config.h"

#include <string.h>

#include "proto.h"
#include "val_int.h"

struct np_ctx {
	struct diag_ctx		 dc;
	struct knetpol		*np;
	size_t			 n;
};

static void
np_port(struct np_ctx *c, struct knp_port *p, const char *path)
{
	const struct ynode	*y = p->y;
	char			 f[VAL_PATH_MAX], bad[24];

	/* Defaulted to TCP; the supported values in the API server's
	   order, which is not sorted here (ValidateNetworkPolicyPort). */
	if (p->protocol == NULL || *p->protocol == '\0')
		p->protocol = "TCP";
	else if (proto_parse(p->protocol) < 0) {
		kobj_err(&c->dc, val_at(y, "protocol", y), DIAG_NOT_SUPPORTED,
		    val_path(f, "%s.protocol", path), p->protocol, "%s",
		    "supported values: \"TCP\", \"UDP\", \"SCTP\"");
		c->n++;
	}
	snprintf(bad, sizeof(bad), "%lld", (long long)p->end_port.v);
	val_path(f, "%s.endPort", path);
	if (!p->port.set) {
		if (p->end_port.set) {
			kobj_err(&c->dc, val_at(y, "endPort", y), DIAG_INVALID,
			    f, bad, "%s", "may not be specified when `port` "
			    "is not specified");
			c->n++;
		}
		return;
	}
	if (p->port.is_str) {
		if (p->end_port.set) {
			kobj_err(&c->dc, val_at(y, "endPort", y), DIAG_INVALID,
			    f, bad, "%s", "may not be specified when `port` "
			    "is non-numeric");
			c->n++;
		}
		c->n += val_port_name(&c->dc, val_at(y, "port", y),
		    val_path(f, "%s.port", path), p->port.str);
		return;
	}
	c->n += val_port_number(&c->dc, val_at(y, "port", y),
	    val_path(f, "%s.port", path), p->port.num);
	if (!p->end_port.set)
		return;
	val_path(f, "%s.endPort", path);
	if (p->end_port.v < p->port.num) {
		/* The API server shows `port` as the bad value here. */
		snprintf(bad, sizeof(bad), "%lld", (long long)p->port.num);
		kobj_err(&c->dc, val_at(y, "endPort", y), DIAG_INVALID, f,
		    bad, "%s", "must be greater than or equal to `port`");
		c->n++;
	}
	c->n += val_port_number(&c->dc, val_at(y, "endPort", y), f,
	    p->end_port.v);
}

static void
ipblock(struct np_ctx *c, const struct knp_ipblock *b, const char *path)
{
	const struct ynode	*y = b->y;
	char			 f[VAL_PATH_MAX];
	struct cidr		 cidr, ex;
	size_t			 i;

	if (b->cidr == NULL || *b->cidr == '\0') {
		kobj_err(&c->dc, val_at(y, "cidr", y), DIAG_REQUIRED,
		    val_path(f, "%s.cidr", path), NULL, NULL);
		c->n++;
		return;
	}
	if (val_cidr(&c->dc, val_at(y, "cidr", y),
	    val_path(f, "%s.cidr", path), b->cidr, &cidr) > 0) {
		c->n++;
		return;
	}
	for (i = 0; i < b->except.n; i++) {
		const struct ynode *at = b->except.y->items[i];

		val_path(f, "%s.except[%zu]", path, i);
		if (val_cidr(&c->dc, at, f, b->except.v[i], &ex) > 0) {
			c->n++;
			continue;
		}
		if (!cidr_within(&ex, &cidr) || ex.prefix <= cidr.prefix) {
			kobj_err(&c->dc, at, DIAG_INVALID, f, b->except.v[i],
			    "%s", "must be a strict subset of `cidr`");
			c->n++;
		}
	}
}

static void
peer(struct np_ctx *c, const struct knp_peer *p, const char *path)
{
	char	f[VAL_PATH_MAX];
	int	npeers = 0;

	if (p->pod_selector.y != NULL) {
		npeers++;
		c->n += val_label_selector(&c->dc, &p->pod_selector,
		    val_path(f, "%s.podSelector", path));
	}
	if (p->namespace_selector.y != NULL) {
		npeers++;
		c->n += val_label_selector(&c->dc, &p->namespace_selector,
		    val_path(f, "%s.namespaceSelector", path));
	}
	if (p->ip_block.y != NULL) {
		npeers++;
		ipblock(c, &p->ip_block, val_path(f, "%s.ipBlock", path));
	}
	if (npeers == 0) {
		kobj_err(&c->dc, p->y, DIAG_REQUIRED, path, NULL, "%s",
		    "must specify a peer");
		c->n++;
	} else if (npeers > 1 && p->ip_block.y != NULL) {
		kobj_err(&c->dc, p->y, DIAG_FORBIDDEN, path, NULL, "%s",
		    "may not specify both ipBlock and another peer");
		c->n++;
	}
}

static void
rules(struct np_ctx *c, struct knp_rule *v, size_t n, const char *dir,
    const char *peers)
{
	char	path[VAL_PATH_MAX];
	size_t	i, j;

	for (i = 0; i < n; i++) {
		for (j = 0; j < v[i].ports.n; j++)
			np_port(c, &v[i].ports.v[j], val_path(path,
			    "spec.%s[%zu].ports[%zu]", dir, i, j));
		for (j = 0; j < v[i].peers.n; j++)
			peer(c, &v[i].peers.v[j], val_path(path,
			    "spec.%s[%zu].%s[%zu]", dir, i, peers, j));
	}
}

/*
 * policyTypes: Ingress and Egress, at most two.  Defaulting (v1
 * SetDefaults_NetworkPolicy): none given means Ingress, plus Egress
 * when there are egress rules.
 */
static void
policy_types(struct np_ctx *c)
{
	struct knetpol		*np = c->np;
	const struct kstrlist	*l = &np->spec.policy_types;
	char			 f[VAL_PATH_MAX];
	size_t			 i, j;

	if (l->n == 0) {
		np->isolates_ingress = 1;
		np->isolates_egress = np->spec.egress.n > 0;
		return;
	}
	if (l->n > 2) {
		kobj_err(&c->dc, l->y, DIAG_INVALID, "spec.policyTypes", NULL,
		    "%s", "may not specify more than two policyTypes");
		c->n++;
		return;
	}
	for (i = 0; i < l->n; i++) {
		const struct ynode *at = l->y->items[i];

		val_path(f, "spec.policyTypes[%zu]", i);
		if (strcmp(l->v[i], "Ingress") == 0)
			np->isolates_ingress = 1;
		else if (strcmp(l->v[i], "Egress") == 0)
			np->isolates_egress = 1;
		else {
			kobj_err(&c->dc, at, DIAG_NOT_SUPPORTED, f, l->v[i],
			    "supported values: \"Ingress\", \"Egress\"");
			c->n++;
			continue;
		}
		/* The API server lets a repeat through; it is harmless. */
		for (j = 0; j < i; j++)
			if (strcmp(l->v[j], l->v[i]) == 0)
				kobj_warn(&c->dc, at, DIAG_DUPLICATE, f,
				    l->v[i], NULL);
	}
}

void
val_netpols(struct kset *set, struct diag_list *diags)
{
	size_t i;

	for (i = 0; i < set->netpols.n; i++) {
		struct knetpol	*np = set->netpols.v[i];
		struct knp_spec	*sp = &np->spec;
		struct np_ctx	 c;

		memset(&c, 0, sizeof(c));
		c.np = np;
		val_ctx(&c.dc, diags, np->file, "NetworkPolicy", &np->meta);
		c.n = val_meta(&c.dc, &np->meta, np->y, val_dns1123_subdomain,
		    1);
		np->isolates_ingress = np->isolates_egress = 0;
		if (sp->pod_selector.y == NULL) {
			/* {} selects every pod of the namespace. */
			kobj_err(&c.dc, val_at(sp->y, "podSelector", np->y),
			    DIAG_REQUIRED, "spec.podSelector", NULL, "%s",
			    "select pods with a label selector, or every pod "
			    "of the namespace with {}");
			c.n++;
		} else
			c.n += val_label_selector(&c.dc, &sp->pod_selector,
			    "spec.podSelector");
		rules(&c, sp->ingress.v, sp->ingress.n, "ingress", "from");
		rules(&c, sp->egress.v, sp->egress.n, "egress", "to");
		policy_types(&c);
		if (c.n > 0)
			np->invalid = 1;
	}
}
