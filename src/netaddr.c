#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netaddr.h"

static int
v4_strict(const char *s)
{
	/* inet_pton accepts what Go rejects only in leading zeros. */
	const char *p = s;

	while (*p != '\0') {
		if (p[0] == '0' && p[1] >= '0' && p[1] <= '9')
			return 0;
		while (*p >= '0' && *p <= '9')
			p++;
		if (*p == '.')
			p++;
		else if (*p != '\0')
			return 0;
	}
	return 1;
}

int
ipaddr_parse(const char *s, struct ipaddr *out)
{
	memset(out, 0, sizeof(*out));
	if (s == NULL)
		return -1;
	if (strchr(s, ':') == NULL) {
		if (!v4_strict(s) || inet_pton(AF_INET, s, out->b) != 1)
			return -1;
		out->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, out->b) != 1)
		return -1;
	out->family = AF_INET6;
	return 0;
}

static int
addr_bits(const struct ipaddr *a)
{
	return a->family == AF_INET ? 32 : 128;
}

static void
mask_to(struct ipaddr *a, int prefix)
{
	int i, bits = addr_bits(a), nbytes = bits / 8;

	for (i = 0; i < nbytes; i++) {
		int keep = prefix - i * 8;

		if (keep >= 8)
			continue;
		a->b[i] &= keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));
	}
}

int
cidr_parse(const char *s, struct cidr *out, int strict)
{
	char		 buf[64];
	const char	*slash;
	char		*end;
	long		 prefix;
	struct ipaddr	 masked;

	memset(out, 0, sizeof(*out));
	if (s == NULL || (slash = strchr(s, '/')) == NULL ||
	    (size_t)(slash - s) >= sizeof(buf))
		return -1;
	memcpy(buf, s, (size_t)(slash - s));
	buf[slash - s] = '\0';
	if (ipaddr_parse(buf, &out->addr) == -1)
		return -1;
	if (slash[1] < '0' || slash[1] > '9' ||
	    (slash[1] == '0' && slash[2] != '\0'))
		return -1;
	prefix = strtol(slash + 1, &end, 10);
	if (*end != '\0' || prefix < 0 || prefix > addr_bits(&out->addr))
		return -1;
	out->prefix = (int)prefix;
	masked = out->addr;
	mask_to(&masked, out->prefix);
	if (strict && memcmp(masked.b, out->addr.b, 16) != 0)
		return -1;
	out->addr = masked;
	return 0;
}

int
cidr_contains(const struct cidr *c, const struct ipaddr *a)
{
	struct ipaddr m;

	if (c->addr.family != a->family)
		return 0;
	m = *a;
	mask_to(&m, c->prefix);
	return memcmp(m.b, c->addr.b, 16) == 0;
}

int
cidr_within(const struct cidr *a, const struct cidr *b)
{
	return a->addr.family == b->addr.family && a->prefix >= b->prefix &&
	    cidr_contains(b, &a->addr);
}

int
ipaddr_equal(const struct ipaddr *a, const struct ipaddr *b)
{
	return a->family == b->family && memcmp(a->b, b->b, 16) == 0;
}

int
ipaddr_cmp(const struct ipaddr *a, const struct ipaddr *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	return memcmp(a->b, b->b, 16);
}

int
ipaddr_is_unspecified(const struct ipaddr *a)
{
	static const uint8_t zero[16];

	return a->family != 0 && memcmp(a->b, zero, 16) == 0;
}

int
ipaddr_is_loopback(const struct ipaddr *a)
{
	static const uint8_t one[16] = { [15] = 1 };

	if (a->family == AF_INET)
		return a->b[0] == 127;
	return a->family == AF_INET6 && memcmp(a->b, one, 16) == 0;
}

int
ipaddr_is_link_local(const struct ipaddr *a)
{
	if (a->family == AF_INET)
		return a->b[0] == 169 && a->b[1] == 254;
	return a->family == AF_INET6 && a->b[0] == 0xfe &&
	    (a->b[1] & 0xc0) == 0x80;
}

int
ipaddr_is_multicast(const struct ipaddr *a)
{
	if (a->family == AF_INET)
		return (a->b[0] & 0xf0) == 224;
	return a->family == AF_INET6 && a->b[0] == 0xff;
}

char *
ipaddr_format(const struct ipaddr *a, char *buf)
{
	if (a->family == 0 ||
	    inet_ntop(a->family, a->b, buf, NETADDR_STRLEN) == NULL)
		snprintf(buf, NETADDR_STRLEN, "<none>");
	return buf;
}

char *
ipaddr_format_hostport(const struct ipaddr *a, uint16_t port, char *buf,
    size_t len)
{
	char ip[NETADDR_STRLEN];

	if (a->family == 0)
		snprintf(buf, len, "*:%u", (unsigned)port);
	else
		snprintf(buf, len, a->family == AF_INET6 ? "[%s]:%u" :
		    "%s:%u", ipaddr_format(a, ip), (unsigned)port);
	return buf;
}

char *
ipaddr_format_sockaddr(const struct sockaddr *sa, char *buf, size_t len)
{
	struct ipaddr	a;
	uint16_t	port = 0;

	ipaddr_from_sockaddr(sa, &a, &port);
	return ipaddr_format_hostport(&a, port, buf, len);
}

uint64_t
cidr_size(const struct cidr *c)
{
	int host = addr_bits(&c->addr) - c->prefix;

	return host >= 63 ? (uint64_t)1 << 63 : (uint64_t)1 << host;
}

void
cidr_nth(const struct cidr *c, uint64_t offset, struct ipaddr *out)
{
	int		i, nbytes = addr_bits(&c->addr) / 8;
	unsigned	carry = 0;

	*out = c->addr;
	for (i = nbytes - 1; i >= 0; i--) {
		unsigned sum = out->b[i] + (unsigned)(offset & 0xff) + carry;

		out->b[i] = (uint8_t)sum;
		carry = sum >> 8;
		offset >>= 8;
	}
}

socklen_t
ipaddr_sockaddr(const struct ipaddr *a, uint16_t port,
    struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, a->b, 4);
		return sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		memcpy(&sin6->sin6_addr, a->b, 16);
		return sizeof(*sin6);
	}
}

void
ipaddr_from_sockaddr(const struct sockaddr *sa, struct ipaddr *a,
    uint16_t *port)
{
	memset(a, 0, sizeof(*a));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)sa;

		a->family = AF_INET;
		memcpy(a->b, &sin->sin_addr, 4);
		if (port != NULL)
			*port = ntohs(sin->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)sa;

		/* A v4-mapped peer on a v6 socket is an IPv4 client. */
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			a->family = AF_INET;
			memcpy(a->b, (const uint8_t *)&sin6->sin6_addr + 12, 4);
		} else {
			a->family = AF_INET6;
			memcpy(a->b, &sin6->sin6_addr, 16);
		}
		if (port != NULL)
			*port = ntohs(sin6->sin6_port);
	}
}

int
netaddr_parse_hostport(const char *s, struct ipaddr *ip, uint16_t *port)
{
	char		 host[NETADDR_STRLEN + 1];
	const char	*colon, *d, *h = s;
	size_t		 hlen;
	uint32_t	 p = 0;

	if (s == NULL)
		return -1;
	if (*s == '[') {
		const char *close = strchr(s, ']');

		if (close == NULL || close[1] != ':')
			return -1;
		h = s + 1;
		hlen = (size_t)(close - h);
		colon = close + 1;
	} else {
		if ((colon = strrchr(s, ':')) == NULL ||
		    memchr(s, ':', (size_t)(colon - s)) != NULL)
			return -1;	/* bare IPv6 needs brackets */
		hlen = (size_t)(colon - s);
	}
	if (hlen == 0 || hlen >= sizeof(host))
		return -1;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	if (ipaddr_parse(host, ip) == -1)
		return -1;
	if (*s == '[' && ip->family != AF_INET6)
		return -1;
	/* Decimal digits only (leading zeros allowed), at most 65535. */
	if (colon[1] == '\0')
		return -1;
	for (d = colon + 1; *d != '\0'; d++) {
		if (*d < '0' || *d > '9')
			return -1;
		if ((p = p * 10 + (uint32_t)(*d - '0')) > 65535)
			return -1;
	}
	*port = (uint16_t)p;
	return 0;
}
