#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "extname_conf.h"
#include "res.h"

uint32_t
xn_ttl_clamp(int ttl, uint32_t min_ms, uint32_t max_ms)
{
	uint64_t ms;

	ms = ttl <= 0 ? 0 : (uint64_t)ttl * 1000;
	if (ms < min_ms)
		ms = min_ms;
	if (ms > max_ms)
		ms = max_ms;
	return (uint32_t)ms;
}

uint32_t
xn_retry_ms(unsigned n, uint32_t max_ms)
{
	uint32_t ms = XN_RETRY_MIN_MS;

	while (n-- > 1 && ms < XN_RETRY_MAX_MS)
		ms *= 2;
	if (ms > XN_RETRY_MAX_MS)
		ms = XN_RETRY_MAX_MS;
	if (max_ms != 0 && ms > max_ms)
		ms = max_ms;
	return ms;
}

static int
xn_addr_cmp(const void *a, const void *b)
{
	return ipaddr_cmp(a, b);
}

size_t
xn_addrs_norm(struct ipaddr *v, size_t n)
{
	size_t i, k;

	if (n > 1)
		qsort(v, n, sizeof(*v), xn_addr_cmp);
	for (i = 0, k = 0; i < n; i++)
		if (k == 0 || ipaddr_cmp(&v[k - 1], &v[i]) != 0)
			v[k++] = v[i];
	return k;
}

int
xn_addrs_equal(const struct ipaddr *a, size_t na, const struct ipaddr *b,
    size_t nb)
{
	size_t i;

	if (na != nb)
		return 0;
	for (i = 0; i < na; i++)
		if (ipaddr_cmp(&a[i], &b[i]) != 0)
			return 0;
	return 1;
}

size_t
xn_resolv_parse(const char *text, struct ipaddr *ns, uint16_t *ports,
    size_t max)
{
	const char	*p = text, *eol, *w;
	char		 addr[64];
	size_t		 n = 0, len;

	while (p != NULL && *p != '\0' && n < max) {
		if ((eol = strchr(p, '\n')) == NULL)
			eol = p + strlen(p);
		while (p < eol && isspace((unsigned char)*p))
			p++;
		if ((size_t)(eol - p) > 10 &&
		    strncmp(p, "nameserver", 10) == 0 &&
		    isspace((unsigned char)p[10])) {
			for (w = p + 10; w < eol && isspace((unsigned char)*w);
			    w++)
				;
			for (len = 0; w + len < eol &&
			    !isspace((unsigned char)w[len]) && w[len] != '#' &&
			    w[len] != ';'; len++)
				;
			/* fe80::1%eth0: a zone the resolver cannot use here. */
			if (len > 0 && len < sizeof(addr)) {
				memcpy(addr, w, len);
				addr[len] = '\0';
				if (ipaddr_parse(addr, &ns[n]) == 0)
					ports[n++] = 53;
			}
		}
		p = *eol != '\0' ? eol + 1 : NULL;
	}
	return n;
}

/* The ports of s, copied into out's arena, with lookup's endpoints. */
static int
xn_overlay_svc(struct res_model *out, struct res_service *s,
    xn_lookup_fn *lookup, void *arg)
{
	const struct res_port	*src = s->ports;
	const struct ipaddr	*a;
	size_t			 i, k, n;

	if ((s->ports = arena_calloc(&out->arena, s->nports,
	    sizeof(*s->ports))) == NULL)
		return -1;
	memcpy(s->ports, src, s->nports * sizeof(*s->ports));
	a = lookup(s->external_name, &n, arg);
	if (a == NULL || n == 0)
		return 0;
	for (i = 0; i < s->nports; i++) {
		struct res_port *rp = &s->ports[i];

		if ((rp->endpoints = arena_calloc(&out->arena, n,
		    sizeof(*rp->endpoints))) == NULL)
			return -1;
		for (k = 0; k < n; k++) {
			struct res_endpoint *e = &rp->endpoints[k];

			e->addr = a[k];
			e->port = (uint16_t)rp->target_port.num;
			e->ready = e->serving = e->usable = 1;
			e->weight = 1;
		}
		rp->nendpoints = rp->nusable = n;
	}
	return 0;
}

int
xn_overlay(const struct res_model *m, xn_lookup_fn *lookup, void *arg,
    struct res_model *out, int *any)
{
	size_t i;

	*any = 0;
	*out = *m;
	for (i = 0; i < m->nservices && !*any; i++)
		*any = m->services[i].xn_proxy;
	if (!*any)
		return 0;
	arena_init(&out->arena, 0);
	if ((out->services = arena_calloc(&out->arena, m->nservices,
	    sizeof(*out->services))) == NULL)
		goto fail;
	memcpy(out->services, m->services, m->nservices *
	    sizeof(*out->services));
	for (i = 0; i < m->nservices; i++)
		if (out->services[i].xn_proxy && out->services[i].nports > 0 &&
		    xn_overlay_svc(out, &out->services[i], lookup, arg) == -1)
			goto fail;
	return 0;
fail:
	arena_free(&out->arena);
	*any = 0;
	return -1;
}

void
xn_overlay_free(struct res_model *out, int any)
{
	if (any)
		arena_free(&out->arena);
}
