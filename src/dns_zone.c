/*
 * The cluster DNS zone (dns_zone.h): records gathered from the model,
 * sorted by (name, type) into one array of record sets; a question is a
 * binary search.  Everything lives in one arena freed with the zone.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arena.h"
#include "dns_zone.h"
#include "netaddr.h"
#include "res-t.h"
#include "vec.h"

#define ZONE_ARENA_LIMIT	((size_t)1 << 30)
#define T_ENT			0	/* a name with no records */

/* All the records of one name and type. */
struct dns_rrset {
	const char		*name;		/* arena, lower case */
	uint16_t		 type;		/* T_ENT: parent only */
	uint32_t		 first;		/* into rrs */
	uint32_t		 n;
};

struct dns_zone {
	_Atomic unsigned	 refs;
	struct arena		 arena;		/* owns all below */
	struct dns_rrset	*sets;		/* sorted by name, type */
	size_t			 nsets;
	struct dns_rr		*rrs;
	size_t			 nrrs;
	const char		*domain;
	size_t			 domlen;
	uint32_t		 ttl;
	size_t			 nnames;
	struct dns_rr		 soa;		/* rdata in the arena */
};

/* A record while building: malloc'd vector, sorted once. */
struct zent {
	const char		*name;		/* arena */
	uint16_t		 type;
	struct dns_rr		 rr;
};

struct zbuild {
	struct dns_zone		*z;
	struct zent		*v;		/* owned, freed by build */
	size_t			 n;
	size_t			 cap;
	int			 oom;
};

size_t
dns_name_wire(const char *name, uint8_t *buf, size_t len)
{
	const char	*p = name, *dot;
	size_t		 o = 0, l;

	if (*p == '\0')
		return 0;
	while (*p != '\0') {
		dot = strchr(p, '.');
		l = dot != NULL ? (size_t)(dot - p) : strlen(p);
		if (l == 0 || l > 63 || o + 1 + l + 1 > len ||
		    o + 1 + l + 1 > DNS_NAME_MAX)
			return 0;
		buf[o++] = (uint8_t)l;
		memcpy(buf + o, p, l);
		o += l;
		p += l;
		if (*p == '.')
			p++;
	}
	buf[o++] = 0;
	return o;
}

static void
zadd(struct zbuild *b, const char *name, uint16_t type, const void *rdata,
    size_t rdlen)
{
	struct zent	*e;
	uint8_t		*d = NULL;

	if (b->oom || rdlen > UINT16_MAX)
		return;
	if (rdlen > 0 && (d = arena_alloc(&b->z->arena, rdlen)) == NULL) {
		b->oom = 1;
		return;
	}
	if (b->n == b->cap && VEC_GROW(&b->v, &b->cap, b->n + 1, 256) == -1) {
		b->oom = 1;
		return;
	}
	if (rdlen > 0)
		memcpy(d, rdata, rdlen);
	e = &b->v[b->n];
	e->name = name;
	e->type = type;
	e->rr.type = type;
	e->rr.rdlen = (uint16_t)rdlen;
	e->rr.rdata = d;
	b->n++;
}

/* A record whose data is a name (CNAME, PTR). */
static void
zadd_name(struct zbuild *b, const char *owner, uint16_t type,
    const char *target)
{
	uint8_t	w[DNS_NAME_MAX];
	size_t	n;

	if ((n = dns_name_wire(target, w, sizeof(w))) > 0)
		zadd(b, owner, type, w, n);
}

static void
zadd_srv(struct zbuild *b, const char *owner, uint16_t port,
    const char *target)
{
	uint8_t	w[6 + DNS_NAME_MAX];
	size_t	n;

	/* Priority 0, weight 100: RFC 2782 values the spec leaves open. */
	w[0] = 0;
	w[1] = 0;
	w[2] = 0;
	w[3] = 100;
	w[4] = (uint8_t)(port >> 8);
	w[5] = (uint8_t)port;
	if ((n = dns_name_wire(target, w + 6, sizeof(w) - 6)) > 0)
		zadd(b, owner, DNS_T_SRV, w, 6 + n);
}

static void
zadd_addr(struct zbuild *b, const char *owner, const struct ipaddr *a)
{
	if (a->family == AF_INET)
		zadd(b, owner, DNS_T_A, a->b, 4);
	else if (a->family == AF_INET6)
		zadd(b, owner, DNS_T_AAAA, a->b, 16);
}

/* The reverse name of a: "d.c.b.a.in-addr.arpa" or ip6.arpa's nibbles. */
static char *
reverse_name(struct arena *ar, const struct ipaddr *a)
{
	static const char	 hex[] = "0123456789abcdef";
	char			 buf[80], *p = buf;
	int			 i;

	if (a->family == AF_INET)
		return arena_printf(ar, "%u.%u.%u.%u.in-addr.arpa", a->b[3],
		    a->b[2], a->b[1], a->b[0]);
	if (a->family != AF_INET6)
		return NULL;
	for (i = 15; i >= 0; i--) {
		*p++ = hex[a->b[i] & 0xf];
		*p++ = '.';
		*p++ = hex[a->b[i] >> 4];
		*p++ = '.';
	}
	strcpy(p, "ip6.arpa");
	return arena_strdup(ar, buf);
}

/* s in lower case, in place (NULL stays NULL). */
static char *
lower(char *s)
{
	char	*p;

	for (p = s; p != NULL && *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	return s;
}

/*
 * An endpoint's hostname: the one res_eps.c gave it (EndpointSlice hostname,
 * or a Pod's spec.hostname under its subdomain), else the address with
 * '-' for '.' and ':' (a leading or trailing '-' gets a '0', so the
 * label stays valid).  Into buf.
 */
static const char *
ep_host(const char *host, const struct ipaddr *a, char *buf, size_t len)
{
	char		 txt[NETADDR_STRLEN], *p;
	size_t		 o = 0;

	if (host != NULL) {
		snprintf(buf, len, "%s", host);
		return buf;
	}
	ipaddr_format(a, txt);
	if (txt[0] == ':')
		buf[o++] = '0';
	for (p = txt; *p != '\0' && o + 2 < len; p++)
		buf[o++] = *p == '.' || *p == ':' ? '-' : *p;
	if (o > 0 && buf[o - 1] == '-')
		buf[o++] = '0';
	buf[o] = '\0';
	return buf;
}

/* A headless Service's per-endpoint records. */
static void
zone_headless(struct zbuild *b, const struct res_service *s, const char *n)
{
	struct arena	*ar = &b->z->arena;
	char		 hb[64], *hn, *srv, *rev;
	const char	*h;
	size_t		 i, j, k;

	for (i = 0; i < s->naddresses; i++) {
		zadd_addr(b, n, &s->addresses[i]);
		h = ep_host(s->address_hosts != NULL ?
		    s->address_hosts[i] : NULL, &s->addresses[i], hb,
		    sizeof(hb));
		if ((hn = lower(arena_printf(ar, "%s.%s", h, n))) == NULL) {
			b->oom = 1;
			return;
		}
		zadd_addr(b, hn, &s->addresses[i]);
		if ((rev = reverse_name(ar, &s->addresses[i])) != NULL)
			zadd_name(b, rev, DNS_T_PTR, hn);
	}
	for (j = 0; j < s->nports; j++) {
		const struct res_port *p = &s->ports[j];

		if (p->name == NULL || p->name[0] == '\0')
			continue;
		if ((srv = lower(arena_printf(ar, "_%s._%s.%s", p->name,
		    proto_name(p->proto), n))) == NULL) {
			b->oom = 1;
			return;
		}
		for (k = 0; k < p->nendpoints; k++) {
			const struct res_endpoint *e = &p->endpoints[k];

			if (!e->ready)
				continue;
			h = ep_host(e->hostname, &e->addr, hb, sizeof(hb));
			if ((hn = lower(arena_printf(ar, "%s.%s", h,
			    n))) == NULL) {
				b->oom = 1;
				return;
			}
			zadd_srv(b, srv, e->port, hn);
		}
	}
}

static void
zone_service(struct zbuild *b, const struct res_service *s)
{
	struct arena	*ar = &b->z->arena;
	const struct ipaddr *ip;
	char		*n, *srv, *rev;
	size_t		 j, k;

	if ((n = lower(arena_printf(ar, "%s.%s.svc.%s", s->name, s->ns,
	    b->z->domain))) == NULL) {
		b->oom = 1;
		return;
	}
	if (s->external_name != NULL) {
		zadd_name(b, n, DNS_T_CNAME, s->external_name);
		return;
	}
	if (s->headless) {
		zone_headless(b, s, n);
		return;
	}
	if (s->cluster_ip.family == 0)
		return;
	/* Dual-stack: A from the IPv4 one, AAAA from the IPv6 one. */
	for (k = 0; k < 2; k++) {
		ip = k == 0 ? &s->cluster_ip : &s->cluster_ip2;
		if (ip->family == 0)
			continue;
		zadd_addr(b, n, ip);
		if ((rev = reverse_name(ar, ip)) != NULL)
			zadd_name(b, rev, DNS_T_PTR, n);
	}
	for (j = 0; j < s->nports; j++) {
		const struct res_port *p = &s->ports[j];

		if (p->name == NULL || p->name[0] == '\0')
			continue;
		if ((srv = lower(arena_printf(ar, "_%s._%s.%s", p->name,
		    proto_name(p->proto), n))) == NULL) {
			b->oom = 1;
			return;
		}
		zadd_srv(b, srv, p->port, n);
	}
}

/* Every parent of a name under the domain, up to the domain itself. */
static void
zone_parents(struct zbuild *b)
{
	const struct dns_zone	*z = b->z;
	size_t			 i, n = b->n, l;
	const char		*p;

	for (i = 0; i < n && !b->oom; i++) {
		l = strlen(b->v[i].name);
		if (l <= z->domlen || strcmp(b->v[i].name + l - z->domlen,
		    z->domain) != 0 || b->v[i].name[l - z->domlen - 1] != '.')
			continue;
		for (p = strchr(b->v[i].name, '.'); p != NULL &&
		    strlen(p + 1) >= z->domlen; p = strchr(p + 1, '.'))
			zadd(b, p + 1, T_ENT, NULL, 0);
	}
}

static int
zent_cmp(const void *x, const void *y)
{
	const struct zent	*a = x, *b = y;
	int			 c;

	if ((c = strcmp(a->name, b->name)) != 0)
		return c;
	if (a->type != b->type)
		return a->type < b->type ? -1 : 1;
	/* By data within a set, so that equal records meet and go. */
	if (a->rr.rdlen != b->rr.rdlen)
		return a->rr.rdlen < b->rr.rdlen ? -1 : 1;
	return a->rr.rdlen > 0 ? memcmp(a->rr.rdata, b->rr.rdata,
	    a->rr.rdlen) : 0;
}

/* The sorted records to sets; duplicates (same data) dropped. */
static int
zone_index(struct zbuild *b)
{
	struct dns_zone	*z = b->z;
	struct dns_rrset *st = NULL;
	size_t		 i;

	qsort(b->v, b->n, sizeof(*b->v), zent_cmp);
	z->sets = arena_calloc(&z->arena, b->n + 1, sizeof(*z->sets));
	z->rrs = arena_calloc(&z->arena, b->n + 1, sizeof(*z->rrs));
	if (z->sets == NULL || z->rrs == NULL)
		return -1;
	for (i = 0; i < b->n; i++) {
		const struct zent *e = &b->v[i];

		if (st == NULL || strcmp(st->name, e->name) != 0) {
			z->nnames++;
			st = NULL;
		}
		if (st == NULL || st->type != e->type) {
			st = &z->sets[z->nsets++];
			st->name = e->name;
			st->type = e->type;
			st->first = (uint32_t)z->nrrs;
		}
		if (e->type == T_ENT)
			continue;
		if (st->n > 0 && z->rrs[z->nrrs - 1].rdlen == e->rr.rdlen &&
		    memcmp(z->rrs[z->nrrs - 1].rdata, e->rr.rdata,
		    e->rr.rdlen) == 0)
			continue;	/* an address in two slices, a
					   name with two addresses (SRV) */
		z->rrs[z->nrrs++] = e->rr;
		st->n++;
	}
	return 0;
}

/*
 * The zone's SOA: CoreDNS's names; the serial is the build's time (no
 * zone transfers: it only has to change); refresh, retry and expire are
 * CoreDNS's; the minimum, the TTL of negative answers, is the zone's.
 */
static int
zone_soa(struct dns_zone *z)
{
	uint8_t		 w[2 * DNS_NAME_MAX + 20], *t;
	char		 n[DNS_NAME_MAX + 16];
	size_t		 o, l;
	uint32_t	 v[5];
	int		 i;

	snprintf(n, sizeof(n), "ns.dns.%s", z->domain);
	if ((o = dns_name_wire(n, w, DNS_NAME_MAX)) == 0)
		return -1;
	snprintf(n, sizeof(n), "hostmaster.%s", z->domain);
	if ((l = dns_name_wire(n, w + o, DNS_NAME_MAX)) == 0)
		return -1;
	o += l;
	v[0] = (uint32_t)time(NULL);
	v[1] = 7200;
	v[2] = 1800;
	v[3] = 86400;
	v[4] = z->ttl;
	for (i = 0; i < 5; i++, o += 4) {
		w[o] = (uint8_t)(v[i] >> 24);
		w[o + 1] = (uint8_t)(v[i] >> 16);
		w[o + 2] = (uint8_t)(v[i] >> 8);
		w[o + 3] = (uint8_t)v[i];
	}
	if ((t = arena_alloc(&z->arena, o)) == NULL)
		return -1;
	memcpy(t, w, o);
	z->soa.type = DNS_T_SOA;
	z->soa.rdlen = (uint16_t)o;
	z->soa.rdata = t;
	return 0;
}

struct dns_zone *
dns_zone_build(const struct res_model *m, const char *domain, uint32_t ttl)
{
	struct zbuild	 b;
	struct dns_zone	*z;
	char		*ver;
	uint8_t		 txt[1 + sizeof(DNS_SCHEMA_VERSION)];
	size_t		 i;

	if ((z = calloc(1, sizeof(*z))) == NULL)
		return NULL;
	atomic_init(&z->refs, 1);
	arena_init(&z->arena, ZONE_ARENA_LIMIT);
	memset(&b, 0, sizeof(b));
	b.z = z;
	z->ttl = ttl;
	if ((z->domain = lower(arena_printf(&z->arena, "%s", domain))) == NULL)
		goto fail;
	z->domlen = strlen(z->domain);
	if ((ver = arena_printf(&z->arena, "dns-version.%s", z->domain)) ==
	    NULL)
		goto fail;
	txt[0] = (uint8_t)(sizeof(txt) - 2);
	memcpy(txt + 1, DNS_SCHEMA_VERSION, sizeof(txt) - 2);
	zadd(&b, ver, DNS_T_TXT, txt, sizeof(txt) - 1);
	if (zone_soa(z) == -1)
		goto fail;
	zadd(&b, z->domain, DNS_T_SOA, z->soa.rdata, z->soa.rdlen);
	for (i = 0; m != NULL && i < m->nservices; i++)
		zone_service(&b, &m->services[i]);
	zone_parents(&b);
	if (b.oom || zone_index(&b) == -1)
		goto fail;
	free(b.v);
	return z;
fail:
	free(b.v);
	arena_free(&z->arena);
	free(z);
	return NULL;
}

struct dns_zone *
dns_zone_ref(struct dns_zone *z)
{
	atomic_fetch_add(&z->refs, 1);
	return z;
}

void
dns_zone_unref(struct dns_zone *z)
{
	if (z == NULL || atomic_fetch_sub(&z->refs, 1) != 1)
		return;
	arena_free(&z->arena);
	free(z);
}

size_t
dns_zone_nnames(const struct dns_zone *z)
{
	return z->nnames;
}

size_t
dns_zone_nrecords(const struct dns_zone *z)
{
	return z->nrrs;
}

/* The first set of name (any type), or NULL. */
static const struct dns_rrset *
find_name(const struct dns_zone *z, const char *name)
{
	size_t	lo = 0, hi = z->nsets, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (strcmp(z->sets[mid].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < z->nsets && strcmp(z->sets[lo].name, name) == 0)
		return &z->sets[lo];
	return NULL;
}

/* name (of length l) is the domain or under it. */
static int
in_domain(const struct dns_zone *z, const char *name, size_t l)
{
	if (l == z->domlen)
		return strcmp(name, z->domain) == 0;
	return l > z->domlen && name[l - z->domlen - 1] == '.' &&
	    strcmp(name + l - z->domlen, z->domain) == 0;
}

/* A negative answer's authority: the SOA. */
static void
negative(const struct dns_zone *z, struct dns_answer *out)
{
	out->soa_name = z->domain;
	out->soa = &z->soa;
}

/* "a-b-c-d.NS.pod" (the part before the domain) to an A record. */
static int
pod_record(const char *rel, struct dns_answer *out)
{
	unsigned	 o[4];
	char		 ns[64], tail[8];
	int		 i;

	if (sscanf(rel, "%3u-%3u-%3u-%3u.%63[a-z0-9-].%7s", &o[0], &o[1],
	    &o[2], &o[3], ns, tail) != 6 || strcmp(tail, "pod") != 0)
		return 0;
	for (i = 0; i < 4; i++) {
		if (o[i] > 255)
			return 0;
		out->scratch_data[i] = (uint8_t)o[i];
	}
	out->scratch.type = DNS_T_A;
	out->scratch.rdlen = 4;
	out->scratch.rdata = out->scratch_data;
	return 1;
}

void
dns_zone_lookup(const struct dns_zone *z, const char *qname, uint16_t qtype,
    struct dns_answer *out)
{
	char			 name[DNS_NAME_MAX + 1];
	const struct dns_rrset	*st;
	size_t			 l, i;

	memset(out, 0, sizeof(*out));
	out->ttl = z->ttl;
	for (l = 0; l < DNS_NAME_MAX && qname[l] != '\0'; l++)
		name[l] = (char)tolower((unsigned char)qname[l]);
	if (qname[l] != '\0') {
		out->rcode = DNS_R_REFUSED;	/* longer than a name can be */
		return;
	}
	if (l > 0 && name[l - 1] == '.')
		l--;
	name[l] = '\0';
	if ((st = find_name(z, name)) != NULL) {
		for (i = (size_t)(st - z->sets); i < z->nsets &&
		    strcmp(z->sets[i].name, name) == 0; i++) {
			if (z->sets[i].type == qtype ||
			    z->sets[i].type == DNS_T_CNAME) {
				out->rrs = &z->rrs[z->sets[i].first];
				out->nrrs = z->sets[i].n;
				break;
			}
		}
		out->rcode = DNS_R_NOERROR;
		if (out->nrrs == 0 && in_domain(z, name, l))
			negative(z, out);
		return;
	}
	if (!in_domain(z, name, l)) {
		out->rcode = DNS_R_REFUSED;
		return;
	}
	name[l - z->domlen - 1] = '\0';
	if (pod_record(name, out)) {
		out->rcode = DNS_R_NOERROR;
		if (qtype == DNS_T_A) {
			out->rrs = &out->scratch;
			out->nrrs = 1;
		} else
			negative(z, out);
		return;
	}
	out->rcode = DNS_R_NXDOMAIN;
	negative(z, out);
}
