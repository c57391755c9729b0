/*
 * EndpointSlice (discovery.k8s.io/v1): ValidateEndpointSlice from
 * kubernetes pkg/apis/discovery/validation, with the v1 defaults
 * (port protocol TCP).  A slice belongs to the Service its
 * kubernetes.io/service-name label names.
 */
#include "config.h"

#include <string.h>

#include "val_int.h"
#include "val_lb.h"

#define SERVICE_NAME_LABEL	"kubernetes.io/service-name"
#define MAX_ADDRESSES		100
#define MAX_ENDPOINTS		1000
#define MAX_PORTS		20000

struct eps_ctx {
	struct diag_ctx		 dc;
	struct keps		*e;
	size_t			 n;
};

static int
is(const char *v, const char *want)
{
	return v != NULL && strcmp(v, want) == 0;
}

/* IsFullyQualifiedDomainName: a subdomain of at least two labels. */
static void
fqdn(struct eps_ctx *c, const struct ynode *at, const char *f,
    const char *v)
{
	char	 name[256];
	size_t	 len = strlen(v);

	if (len > 0 && v[len - 1] == '.')
		len--;
	if (len == 0) {
		kobj_err(&c->dc, at, DIAG_REQUIRED, f, NULL, NULL);
		c->n++;
		return;
	}
	if (len >= sizeof(name))
		len = sizeof(name) - 1;	/* too long either way */
	memcpy(name, v, len);
	name[len] = '\0';
	if (val_dns1123_subdomain(&c->dc, at, f, name) > 0) {
		c->n++;
		return;
	}
	if (strchr(name, '.') == NULL) {
		kobj_err(&c->dc, at, DIAG_INVALID, f, name, "%s",
		    "should be a domain with at least two segments separated "
		    "by dots");
		c->n++;
	}
}

static void
address(struct eps_ctx *c, const struct ynode *at, const char *f,
    const char *v)
{
	const char	*type = c->e->address_type;
	struct ipaddr	 a;
	int		 want;

	if (is(type, "FQDN")) {
		fqdn(c, at, f, v);
		return;
	}
	if (!is(type, "IPv4") && !is(type, "IPv6"))
		return;		/* reported at addressType */
	want = is(type, "IPv4") ? AF_INET : AF_INET6;
	if (ipaddr_parse(v, &a) == -1 || a.family != want) {
		kobj_err(&c->dc, at, DIAG_INVALID, f, v, "must be a valid %s "
		    "address", type);
		c->n++;
		return;
	}
	c->n += val_ip(&c->dc, at, f, v, 1, NULL);
}

static void
endpoints(struct eps_ctx *c)
{
	struct keps	*e = c->e;
	char		 f[VAL_PATH_MAX], bad[24];
	size_t		 i, j;

	if (e->endpoints.n > MAX_ENDPOINTS) {
		snprintf(bad, sizeof(bad), "%zu", e->endpoints.n);
		kobj_err(&c->dc, val_at(e->y, "endpoints", e->y),
		    DIAG_TOO_MANY, "endpoints", bad,
		    "must have at most %d items", MAX_ENDPOINTS);
		c->n++;
		return;
	}
	for (i = 0; i < e->endpoints.n; i++) {
		const struct keps_endpoint	*ep = &e->endpoints.v[i];
		const struct kstrlist		*l = &ep->addresses;
		const struct ynode		*ay;

		ay = val_at(ep->y, "addresses", ep->y);
		val_path(f, "endpoints[%zu].addresses", i);
		if (l->n == 0) {
			kobj_err(&c->dc, ay, DIAG_REQUIRED, f, NULL, "%s",
			    "must contain at least 1 address");
			c->n++;
		} else if (l->n > MAX_ADDRESSES) {
			snprintf(bad, sizeof(bad), "%zu", l->n);
			kobj_err(&c->dc, ay, DIAG_TOO_MANY, f, bad,
			    "must have at most %d items", MAX_ADDRESSES);
			c->n++;
		}
		for (j = 0; j < l->n && j < MAX_ADDRESSES; j++)
			address(c, l->y->items[j], val_path(f,
			    "endpoints[%zu].addresses[%zu]", i, j), l->v[j]);
		if (ep->node_name != NULL)
			c->n += val_dns1123_subdomain(&c->dc,
			    val_at(ep->y, "nodeName", ep->y),
			    val_path(f, "endpoints[%zu].nodeName", i),
			    ep->node_name);
		if (ep->hostname != NULL)
			c->n += val_dns1123_label(&c->dc,
			    val_at(ep->y, "hostname", ep->y),
			    val_path(f, "endpoints[%zu].hostname", i),
			    ep->hostname);
	}
}

static void
ports(struct eps_ctx *c)
{
	struct keps	*e = c->e;
	char		 f[VAL_PATH_MAX], bad[24];
	size_t		 i, j;

	if (e->ports.n > MAX_PORTS) {
		snprintf(bad, sizeof(bad), "%zu", e->ports.n);
		kobj_err(&c->dc, val_at(e->y, "ports", e->y), DIAG_TOO_MANY,
		    "ports", bad, "must have at most %d items", MAX_PORTS);
		c->n++;
		return;
	}
	for (i = 0; i < e->ports.n; i++) {
		struct keps_port	*p = &e->ports.v[i];
		const struct ynode	*y = p->y;
		const char		*name = p->name ? p->name : "";

		/* v1 default: name "" (a slice may have one unnamed port). */
		val_path(f, "ports[%zu].name", i);
		if (*name != '\0')
			c->n += val_dns1123_label(&c->dc,
			    val_at(y, "name", y), f, name);
		for (j = 0; j < i; j++)
			if (strcmp(e->ports.v[j].name ? e->ports.v[j].name :
			    "", name) == 0) {
				kobj_err(&c->dc, val_at(y, "name", y),
				    DIAG_DUPLICATE, f, name, NULL);
				c->n++;
				break;
			}
		/* No port: all ports.  Else a port number. */
		if (p->port.set)
			c->n += val_port_number(&c->dc, val_at(y, "port", y),
			    val_path(f, "ports[%zu].port", i), p->port.v);
		c->n += val_protocol(&c->dc, val_at(y, "protocol", y),
		    val_path(f, "ports[%zu].protocol", i), &p->protocol);
		if (p->app_protocol != NULL)
			c->n += val_qualified_name(&c->dc,
			    val_at(y, "appProtocol", y),
			    val_path(f, "ports[%zu].appProtocol", i),
			    p->app_protocol, p->app_protocol);
	}
}

static void
address_type(struct eps_ctx *c)
{
	const char		*t = c->e->address_type;
	const struct ynode	*at = val_at(c->e->y, "addressType", c->e->y);

	if (t == NULL || *t == '\0') {
		kobj_err(&c->dc, at, DIAG_REQUIRED, "addressType", NULL, NULL);
		c->n++;
	} else if (!is(t, "IPv4") && !is(t, "IPv6") && !is(t, "FQDN")) {
		kobj_err(&c->dc, at, DIAG_NOT_SUPPORTED, "addressType", t,
		    "supported values: \"FQDN\", \"IPv4\", \"IPv6\"");
		c->n++;
	} else if (is(t, "FQDN"))
		kobj_warn(&c->dc, at, DIAG_INVALID, "addressType", t, "%s",
		    "accepted, but svcproxy proxies only to IPv4 and IPv6 "
		    "endpoints: this slice is not used");
}

static void
service_label(struct eps_ctx *c)
{
	const struct kstrmap	*l = &c->e->meta.labels;
	size_t			 i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i].key, SERVICE_NAME_LABEL) == 0 &&
		    *l->v[i].value != '\0')
			return;
	kobj_warn(&c->dc, val_at(c->e->meta.y, "labels", c->e->y),
	    DIAG_REQUIRED, "metadata.labels", NULL,
	    "no label %s: the slice belongs to no Service and is not used",
	    SERVICE_NAME_LABEL);
}

void
val_endpointslices(struct kset *set, struct diag_list *diags)
{
	size_t i;

	for (i = 0; i < set->epss.n; i++) {
		struct keps	*e = set->epss.v[i];
		struct eps_ctx	 c;

		memset(&c, 0, sizeof(c));
		c.e = e;
		val_ctx(&c.dc, diags, e->file, "EndpointSlice", &e->meta);
		c.n = val_meta(&c.dc, &e->meta, e->y, val_dns1123_subdomain,
		    1);
		c.n += val_lb_weight_annotation(&c.dc, &e->meta);
		address_type(&c);
		endpoints(&c);
		ports(&c);
		service_label(&c);
		if (c.n > 0)
			e->invalid = 1;
	}
}
