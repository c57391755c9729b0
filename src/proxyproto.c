/*
 * proxyproto: PROXY protocol headers, built and parsed (proxyproto.h).
 * Section numbers refer to HAProxy's doc/proxy-protocol.txt.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>

#include "proxyproto.h"

#define V1_PREFIX	"PROXY "
#define V1_PREFIX_LEN	6
/* The 13th byte: version 2 in the high nibble (section 2.2). */
#define V2_VERSION	0x20
#define V2_CMD_LOCAL	0x0
#define V2_CMD_PROXY	0x1
#define V2_FAM_UNSPEC	0x0
#define V2_FAM_INET	0x1
#define V2_FAM_INET6	0x2
#define V2_FAM_UNIX	0x3
#define V2_TP_UNSPEC	0x0
#define V2_TP_STREAM	0x1
#define V2_TP_DGRAM	0x2
#define V2_LEN_INET	12	/* 2 * 4 + 2 * 2 */
#define V2_LEN_INET6	36	/* 2 * 16 + 2 * 2 */
#define V2_LEN_UNIX	216	/* 2 * 108 */
#define V6_TEXT_MAX	45	/* INET6_ADDRSTRLEN - 1 */

const char *
pp_version_name(enum pp_version v)
{
	switch (v) {
	case PP_V1:	return "v1";
	case PP_V2:	return "v2";
	case PP_NONE:	break;
	}
	return "none";
}

int
pp_version_parse(const char *s, enum pp_version *v)
{
	if (strcmp(s, "v1") == 0)
		*v = PP_V1;
	else if (strcmp(s, "v2") == 0)
		*v = PP_V2;
	else if (strcmp(s, "none") == 0)
		*v = PP_NONE;
	else
		return -1;
	return 0;
}

/* ---- building ---- */

/*
 * sa as the header shows it: a v4-mapped IPv6 address as IPv4.  The
 * family (AF_INET, AF_INET6), or 0 for anything else.
 */
static int
norm(const struct sockaddr *sa, union pp_addr *out)
{
	static const uint8_t	 mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
				    0xff, 0xff };
	const struct sockaddr_in6 *in6;

	memset(out, 0, sizeof(*out));
	if (sa == NULL)
		return 0;
	if (sa->sa_family == AF_INET) {
		memcpy(&out->in, sa, sizeof(out->in));
		return AF_INET;
	}
	if (sa->sa_family != AF_INET6)
		return 0;
	in6 = (const struct sockaddr_in6 *)(const void *)sa;
	if (memcmp(in6->sin6_addr.s6_addr, mapped, sizeof(mapped)) == 0) {
		out->in.sin_family = AF_INET;
		out->in.sin_port = in6->sin6_port;
		memcpy(&out->in.sin_addr, in6->sin6_addr.s6_addr + 12, 4);
		return AF_INET;
	}
	memcpy(&out->in6, in6, sizeof(out->in6));
	return AF_INET6;
}

/*
 * An IPv6 address in the form section 2.1 names: groups of hex digits
 * with the longest run of two or more zero groups as "::" (RFC 5952's
 * choice), never a dotted IPv4 tail.  buf has 40 bytes.
 */
static void
v6_text(const uint8_t *a, char *buf)
{
	unsigned	 g[8];
	int		 i, best = -1, bestlen = 0, run, n = 0;

	for (i = 0; i < 8; i++)
		g[i] = (unsigned)a[2 * i] << 8 | a[2 * i + 1];
	for (i = 0; i < 8; i += run > 0 ? run : 1) {
		for (run = 0; i + run < 8 && g[i + run] == 0; run++)
			;
		if (run > bestlen && run >= 2) {
			best = i;
			bestlen = run;
		}
	}
	for (i = 0; i < 8; i++) {
		if (i == best) {
			n += snprintf(buf + n, 40 - (size_t)n, "::");
			i += bestlen - 1;
			continue;
		}
		n += snprintf(buf + n, 40 - (size_t)n, "%s%x",
		    i > 0 && i != best + bestlen ? ":" : "", g[i]);
	}
	buf[n] = '\0';
}

static size_t
put(void *buf, size_t len, const void *hdr, size_t n)
{
	if (n > len)
		return 0;
	memcpy(buf, hdr, n);
	return n;
}

static size_t
build_v1(int fam, int dgram, const union pp_addr *s, const union pp_addr *d,
    void *buf, size_t len)
{
	char	 line[PP_V1_MAX + 1], sa[40], da[40];
	int	 n;

	/* Version 1 knows only TCP (section 2.1). */
	if (fam == 0 || dgram)
		return put(buf, len, "PROXY UNKNOWN\r\n", 15);
	if (fam == AF_INET) {
		inet_ntop(AF_INET, &s->in.sin_addr, sa, sizeof(sa));
		inet_ntop(AF_INET, &d->in.sin_addr, da, sizeof(da));
		n = snprintf(line, sizeof(line), "PROXY TCP4 %s %s %u %u\r\n",
		    sa, da, (unsigned)ntohs(s->in.sin_port),
		    (unsigned)ntohs(d->in.sin_port));
	} else {
		v6_text(s->in6.sin6_addr.s6_addr, sa);
		v6_text(d->in6.sin6_addr.s6_addr, da);
		n = snprintf(line, sizeof(line), "PROXY TCP6 %s %s %u %u\r\n",
		    sa, da, (unsigned)ntohs(s->in6.sin6_port),
		    (unsigned)ntohs(d->in6.sin6_port));
	}
	if (n < 0 || n > PP_V1_MAX)
		return 0;
	return put(buf, len, line, (size_t)n);
}

static size_t
build_v2(int fam, int dgram, const union pp_addr *s, const union pp_addr *d,
    void *buf, size_t len)
{
	uint8_t	 h[PP_V2_HDR + V2_LEN_INET6], *p = h + PP_V2_HDR;
	size_t	 alen;

	memcpy(h, PP_V2_SIG, PP_V2_SIG_LEN);
	h[12] = V2_VERSION | V2_CMD_PROXY;
	if (fam == AF_INET) {
		h[13] = V2_FAM_INET << 4;
		memcpy(p, &s->in.sin_addr, 4);
		memcpy(p + 4, &d->in.sin_addr, 4);
		memcpy(p + 8, &s->in.sin_port, 2);
		memcpy(p + 10, &d->in.sin_port, 2);
		alen = V2_LEN_INET;
	} else if (fam == AF_INET6) {
		h[13] = V2_FAM_INET6 << 4;
		memcpy(p, &s->in6.sin6_addr, 16);
		memcpy(p + 16, &d->in6.sin6_addr, 16);
		memcpy(p + 32, &s->in6.sin6_port, 2);
		memcpy(p + 34, &d->in6.sin6_port, 2);
		alen = V2_LEN_INET6;
	} else {
		/* "when dealing with unsupported protocol families" */
		h[13] = V2_FAM_UNSPEC << 4 | V2_TP_UNSPEC;
		alen = 0;
	}
	if (alen != 0)
		h[13] |= dgram ? V2_TP_DGRAM : V2_TP_STREAM;
	h[14] = (uint8_t)(alen >> 8);
	h[15] = (uint8_t)alen;
	return put(buf, len, h, PP_V2_HDR + alen);
}

size_t
pp_build(enum pp_version v, int dgram, const struct sockaddr *src,
    const struct sockaddr *dst, void *buf, size_t len)
{
	union pp_addr	 s, d;
	int		 fs = norm(src, &s), fd = norm(dst, &d);

	/* One v4-mapped, the other not: a pair of IPv6 addresses still. */
	if (fs != fd && src != NULL && dst != NULL &&
	    src->sa_family == AF_INET6 && dst->sa_family == AF_INET6) {
		memcpy(&s.in6, src, sizeof(s.in6));
		memcpy(&d.in6, dst, sizeof(d.in6));
		fs = fd = AF_INET6;
	}
	if (fs != fd)
		fs = 0;
	switch (v) {
	case PP_V1:
		return build_v1(fs, dgram, &s, &d, buf, len);
	case PP_V2:
		return build_v2(fs, dgram, &s, &d, buf, len);
	case PP_NONE:
		break;
	}
	return 0;
}

size_t
pp_build_local(void *buf, size_t len)
{
	uint8_t h[PP_V2_HDR];

	memcpy(h, PP_V2_SIG, PP_V2_SIG_LEN);
	h[12] = V2_VERSION | V2_CMD_LOCAL;
	h[13] = V2_FAM_UNSPEC << 4 | V2_TP_UNSPEC;
	h[14] = h[15] = 0;
	return put(buf, len, h, sizeof(h));
}

/* ---- parsing ---- */

static int
digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Four decimal numbers 0..255, single dots, no leading zeros: 0/-1. */
static int
v4_parse(const char *s, size_t n, uint8_t *out)
{
	size_t		 i = 0, k;
	unsigned	 v;
	int		 part;

	for (part = 0; part < 4; part++) {
		if (part > 0 && (i >= n || s[i++] != '.'))
			return -1;
		if (i >= n || !digit(s[i]))
			return -1;
		if (s[i] == '0' && i + 1 < n && digit(s[i + 1]))
			return -1;
		for (v = 0, k = 0; i < n && digit(s[i]) && k < 4; i++, k++)
			v = v * 10 + (unsigned)(s[i] - '0');
		if (k > 3 || v > 255)
			return -1;
		out[part] = (uint8_t)v;
	}
	return i == n ? 0 : -1;
}

/*
 * IPv6 as section 2.1 writes it (hex groups, one "::"); a dotted IPv4
 * tail is accepted too, because senders that print with inet_ntop(3),
 * HAProxy and nginx among them, write v4-mapped addresses that way.
 */
static int
v6_parse(const char *s, size_t n, uint8_t *out)
{
	char	 buf[V6_TEXT_MAX + 1];
	size_t	 i;

	if (n == 0 || n > V6_TEXT_MAX)
		return -1;
	for (i = 0; i < n; i++)
		if (!digit(s[i]) && s[i] != ':' && s[i] != '.' &&
		    !(s[i] >= 'a' && s[i] <= 'f') &&
		    !(s[i] >= 'A' && s[i] <= 'F'))
			return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return inet_pton(AF_INET6, buf, out) == 1 ? 0 : -1;
}

/* 0..65535 in decimal, no leading zero: 0/-1. */
static int
port_parse(const char *s, size_t n, uint16_t *out)
{
	unsigned	 v = 0;
	size_t		 i;

	if (n == 0 || n > 5 || (s[0] == '0' && n > 1))
		return -1;
	for (i = 0; i < n; i++) {
		if (!digit(s[i]))
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > 65535)
		return -1;
	*out = htons((uint16_t)v);
	return 0;
}

/*
 * The next token of line[*at..end): a run of bytes other than space,
 * ended by exactly one space or the end.  Its length, or 0 for an
 * empty token (two spaces, or a space first or last).
 */
static size_t
token(const char *line, size_t end, size_t *at, const char **tok)
{
	size_t	 start = *at, i = start;

	while (i < end && line[i] != ' ')
		i++;
	if (i == start || (i < end && i + 1 == end))
		return 0;
	*at = i < end ? i + 1 : i;
	*tok = line + start;
	return i - start;
}

/*
 * Where the v1 line's CR is, once "PROXY " has matched the bytes there
 * are: its offset, 0 when more bytes may still complete the line, -1
 * when no valid line can (a lone CR or LF, or no CRLF in PP_V1_MAX).
 */
static ssize_t
v1_end(const uint8_t *b, size_t len)
{
	size_t	 i;

	for (i = V1_PREFIX_LEN; i < len && i < PP_V1_MAX; i++) {
		if (b[i] == '\n')
			return -1;
		if (b[i] != '\r')
			continue;
		if (i + 2 > PP_V1_MAX)
			return -1;
		if (i + 1 == len)
			return 0;
		return b[i + 1] == '\n' ? (ssize_t)i : -1;
	}
	return len >= PP_V1_MAX ? -1 : 0;
}

static ssize_t
parse_v1(const uint8_t *b, size_t len, struct pp_hdr *h)
{
	const char	*line = (const char *)b, *t[5];
	size_t		 n[5], at = V1_PREFIX_LEN, end;
	ssize_t		 cr;
	int		 i, v6;

	if ((cr = v1_end(b, len)) <= 0)
		return cr;
	end = (size_t)cr;
	memset(h, 0, sizeof(*h));
	h->version = 1;
	/* UNKNOWN: the rest of the line is to be ignored (section 2.1). */
	if (end - at >= 7 && memcmp(line + at, "UNKNOWN", 7) == 0 &&
	    (end - at == 7 || line[at + 7] == ' ')) {
		h->local = 1;
		return (ssize_t)end + 2;
	}
	if ((n[0] = token(line, end, &at, &t[0])) == 0)
		return -1;
	if (n[0] != 4 || (memcmp(t[0], "TCP4", 4) != 0 &&
	    memcmp(t[0], "TCP6", 4) != 0))
		return -1;
	v6 = t[0][3] == '6';
	for (i = 1; i < 5; i++)
		if ((n[i] = token(line, end, &at, &t[i])) == 0)
			return -1;
	if (at != end)
		return -1;
	if (v6) {
		h->src.in6.sin6_family = h->dst.in6.sin6_family = AF_INET6;
		if (v6_parse(t[1], n[1], h->src.in6.sin6_addr.s6_addr) ||
		    v6_parse(t[2], n[2], h->dst.in6.sin6_addr.s6_addr) ||
		    port_parse(t[3], n[3], &h->src.in6.sin6_port) ||
		    port_parse(t[4], n[4], &h->dst.in6.sin6_port))
			return -1;
	} else {
		h->src.in.sin_family = h->dst.in.sin_family = AF_INET;
		if (v4_parse(t[1], n[1], (uint8_t *)&h->src.in.sin_addr) ||
		    v4_parse(t[2], n[2], (uint8_t *)&h->dst.in.sin_addr) ||
		    port_parse(t[3], n[3], &h->src.in.sin_port) ||
		    port_parse(t[4], n[4], &h->dst.in.sin_port))
			return -1;
	}
	return (ssize_t)end + 2;
}

/* The TLVs in b[0..n) each fit, and nothing else is there: 0/-1. */
static int
v2_tlvs(const uint8_t *b, size_t n)
{
	size_t	 off = 0, tl;

	while (off < n) {
		if (n - off < 3)
			return -1;
		tl = (size_t)b[off + 1] << 8 | b[off + 2];
		if (tl > n - off - 3)
			return -1;
		off += 3 + tl;
	}
	return 0;
}

static ssize_t
parse_v2(const uint8_t *b, size_t len, size_t max, struct pp_hdr *h)
{
	const uint8_t	*p = b + PP_V2_HDR;
	size_t		 alen, need = 0;
	unsigned	 fam, tp;

	/* Each byte is judged as soon as it is there. */
	if (len > 12 && ((b[12] & 0xf0) != V2_VERSION ||
	    (b[12] & 0x0f) > V2_CMD_PROXY))
		return -1;
	if (len > 13 && ((b[13] >> 4) > V2_FAM_UNIX ||
	    (b[13] & 0x0f) > V2_TP_DGRAM))
		return -1;
	if (len < PP_V2_HDR)
		return 0;
	alen = (size_t)b[14] << 8 | b[15];
	if (PP_V2_HDR + alen > max)
		return -1;
	fam = b[13] >> 4;
	tp = b[13] & 0x0f;
	if ((b[12] & 0x0f) == V2_CMD_PROXY && tp != V2_TP_UNSPEC) {
		if (fam == V2_FAM_INET)
			need = V2_LEN_INET;
		else if (fam == V2_FAM_INET6)
			need = V2_LEN_INET6;
		else if (fam == V2_FAM_UNIX)
			need = V2_LEN_UNIX;
		if (alen < need)
			return -1;
	}
	if (len < PP_V2_HDR + alen)
		return 0;
	memset(h, 0, sizeof(*h));
	h->version = 2;
	h->dgram = tp == V2_TP_DGRAM;
	/*
	 * LOCAL, UNSPEC and AF_UNIX carry no address to use: the
	 * connection's own endpoints stand (section 2.2: the other
	 * combinations fall back to UNSPEC).  Their block is opaque.
	 */
	if (need == 0 || fam == V2_FAM_UNIX) {
		h->local = 1;
		return (ssize_t)(PP_V2_HDR + alen);
	}
	if (v2_tlvs(p + need, alen - need) == -1)
		return -1;
	if (fam == V2_FAM_INET) {
		h->src.in.sin_family = h->dst.in.sin_family = AF_INET;
		memcpy(&h->src.in.sin_addr, p, 4);
		memcpy(&h->dst.in.sin_addr, p + 4, 4);
		memcpy(&h->src.in.sin_port, p + 8, 2);
		memcpy(&h->dst.in.sin_port, p + 10, 2);
	} else {
		h->src.in6.sin6_family = h->dst.in6.sin6_family = AF_INET6;
		memcpy(&h->src.in6.sin6_addr, p, 16);
		memcpy(&h->dst.in6.sin6_addr, p + 16, 16);
		memcpy(&h->src.in6.sin6_port, p + 32, 2);
		memcpy(&h->dst.in6.sin6_port, p + 34, 2);
	}
	return (ssize_t)(PP_V2_HDR + alen);
}

ssize_t
pp_parse(const void *buf, size_t len, size_t max, struct pp_hdr *h)
{
	const uint8_t	*b = buf;
	size_t		 n;

	if (len == 0)
		return 0;
	/* Which version: the first bytes (section 2.2's last list). */
	if (b[0] == '\r') {
		n = len < PP_V2_SIG_LEN ? len : PP_V2_SIG_LEN;
		if (memcmp(b, PP_V2_SIG, n) != 0)
			return -1;
		return len < PP_V2_SIG_LEN ? 0 : parse_v2(b, len, max, h);
	}
	n = len < V1_PREFIX_LEN ? len : V1_PREFIX_LEN;
	if (memcmp(b, V1_PREFIX, n) != 0)
		return -1;
	return len < V1_PREFIX_LEN ? 0 : parse_v1(b, len, h);
}
