/*
 * proxyproto.c: headers built byte for byte as HAProxy's
 * doc/proxy-protocol.txt shows them, parsed back, every malformed form
 * the specification names refused, and every truncation of a valid
 * header read as "incomplete" (0) without a byte read past its end.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxyproto.h"
#include "unit.h"

#define SIG	"\x0D\x0A\x0D\x0A\x00\x0D\x0A\x51\x55\x49\x54\x0A"

static union pp_addr
addr(const char *a, uint16_t port)
{
	union pp_addr u;

	memset(&u, 0, sizeof(u));
	if (strchr(a, ':') != NULL) {
		u.in6.sin6_family = AF_INET6;
		u.in6.sin6_port = htons(port);
		ck_assert_int_eq(inet_pton(AF_INET6, a, &u.in6.sin6_addr), 1);
	} else {
		u.in.sin_family = AF_INET;
		u.in.sin_port = htons(port);
		ck_assert_int_eq(inet_pton(AF_INET, a, &u.in.sin_addr), 1);
	}
	return u;
}

/* pp_parse on an exact-size heap copy: a read past len is a fault
   under the sanitizers and valgrind. */
static ssize_t
parse(const void *b, size_t len, size_t max, struct pp_hdr *h)
{
	void	*c = malloc(len > 0 ? len : 1);
	ssize_t	 n;

	ck_assert_ptr_nonnull(c);
	memcpy(c, b, len);
	n = pp_parse(c, len, max, h);
	free(c);
	return n;
}

static void
build_eq(enum pp_version v, int dgram, const char *s, uint16_t sp,
    const char *d, uint16_t dp, const void *want, size_t wlen)
{
	union pp_addr	 a = addr(s, sp), b = addr(d, dp);
	uint8_t		 buf[PP_HDR_MAX];
	size_t		 n;

	n = pp_build(v, dgram, &a.sa, &b.sa, buf, sizeof(buf));
	ck_assert_uint_eq(n, wlen);
	ck_assert_mem_eq(buf, want, wlen);
	/* One byte short: nothing written, 0. */
	ck_assert_uint_eq(pp_build(v, dgram, &a.sa, &b.sa, buf, wlen - 1), 0);
}

START_TEST(test_v1_build)
{
	/* Section 2.1's example and its maximum lines. */
	build_eq(PP_V1, 0, "192.168.0.1", 56324, "192.168.0.11", 443,
	    "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n", 47);
	build_eq(PP_V1, 0, "255.255.255.255", 65535, "255.255.255.255",
	    65535, "PROXY TCP4 255.255.255.255 255.255.255.255 65535 "
	    "65535\r\n", 56);
	build_eq(PP_V1, 0, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535,
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535,
	    "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n", 104);
	build_eq(PP_V1, 0, "::1", 40000, "::1", 80,
	    "PROXY TCP6 ::1 ::1 40000 80\r\n", 29);
	build_eq(PP_V1, 0, "2001:db8:0:0:1:0:0:1", 1, "1:0:2:0:3:0:4:0", 0,
	    "PROXY TCP6 2001:db8::1:0:0:1 1:0:2:0:3:0:4:0 1 0\r\n", 50);
	build_eq(PP_V1, 0, "fe80::", 7, "0:0:1::", 8,
	    "PROXY TCP6 fe80:: 0:0:1:: 7 8\r\n", 31);
	/* A v4-mapped pair is IPv4, never a dotted IPv6 tail. */
	build_eq(PP_V1, 0, "::ffff:127.0.0.2", 5000, "::ffff:127.0.0.1", 80,
	    "PROXY TCP4 127.0.0.2 127.0.0.1 5000 80\r\n", 40);
	build_eq(PP_V1, 0, "::1", 1, "::ffff:1.2.3.4", 2,
	    "PROXY TCP6 ::1 ::ffff:102:304 1 2\r\n", 35);
	/* UDP and mixed families: UNKNOWN (version 1 is TCP only). */
	build_eq(PP_V1, 1, "10.0.0.1", 53, "10.0.0.2", 53,
	    "PROXY UNKNOWN\r\n", 15);
	build_eq(PP_V1, 0, "10.0.0.1", 1, "::1", 2, "PROXY UNKNOWN\r\n", 15);
}
END_TEST

START_TEST(test_v2_build)
{
	uint8_t	 buf[PP_HDR_MAX];

	build_eq(PP_V2, 0, "192.168.0.1", 56324, "192.168.0.11", 443,
	    SIG "\x21\x11\x00\x0c" "\xc0\xa8\x00\x01" "\xc0\xa8\x00\x0b"
	    "\xdc\x04" "\x01\xbb", 28);
	build_eq(PP_V2, 1, "192.168.0.1", 53, "192.168.0.11", 5353,
	    SIG "\x21\x12\x00\x0c" "\xc0\xa8\x00\x01" "\xc0\xa8\x00\x0b"
	    "\x00\x35" "\x14\xe9", 28);
	build_eq(PP_V2, 0, "2001:db8::1", 1, "::1", 65535,
	    SIG "\x21\x21\x00\x24"
	    "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01"
	    "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x01" "\x00\x01" "\xff\xff", 52);
	build_eq(PP_V2, 1, "2001:db8::1", 1, "::1", 2,
	    SIG "\x21\x22\x00\x24"
	    "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01"
	    "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x01" "\x00\x01" "\x00\x02", 52);
	build_eq(PP_V2, 0, "::ffff:10.1.2.3", 80, "::ffff:10.0.0.1", 8080,
	    SIG "\x21\x11\x00\x0c" "\x0a\x01\x02\x03" "\x0a\x00\x00\x01"
	    "\x00\x50" "\x1f\x90", 28);
	/* Families apart: PROXY over UNSPEC, no address block. */
	build_eq(PP_V2, 0, "10.0.0.1", 1, "::1", 2,
	    SIG "\x21\x00\x00\x00", 16);
	/* LOCAL, as a health check sends it. */
	ck_assert_uint_eq(pp_build_local(buf, sizeof(buf)), 16);
	ck_assert_mem_eq(buf, SIG "\x20\x00\x00\x00", 16);
	ck_assert_uint_eq(pp_build_local(buf, 15), 0);
	ck_assert_uint_eq(pp_build(PP_NONE, 0, NULL, NULL, buf, sizeof(buf)),
	    0);
}
END_TEST

/* s parses whole (with junk after it) into the given endpoints. */
static void
parse_ok(const void *s, size_t len, int version, const char *src,
    uint16_t sp, const char *dst, uint16_t dp)
{
	uint8_t		 buf[512];
	struct pp_hdr	 h;
	union pp_addr	 a, b;

	ck_assert_uint_le(len + 5, sizeof(buf));
	memcpy(buf, s, len);
	memcpy(buf + len, "GET /", 5);
	ck_assert_int_eq(parse(buf, len + 5, 512, &h), (ssize_t)len);
	ck_assert_int_eq(parse(buf, len, 512, &h), (ssize_t)len);
	ck_assert_int_eq(h.version, version);
	if (src == NULL) {
		ck_assert_int_eq(h.local, 1);
		return;
	}
	ck_assert_int_eq(h.local, 0);
	a = addr(src, sp);
	b = addr(dst, dp);
	ck_assert_int_eq(h.src.sa.sa_family, a.sa.sa_family);
	if (a.sa.sa_family == AF_INET) {
		ck_assert_mem_eq(&h.src.in, &a.in, sizeof(a.in));
		ck_assert_mem_eq(&h.dst.in, &b.in, sizeof(b.in));
	} else {
		ck_assert_mem_eq(&h.src.in6, &a.in6, sizeof(a.in6));
		ck_assert_mem_eq(&h.dst.in6, &b.in6, sizeof(b.in6));
	}
}

#define OK1(s, a, ap, b, bp)	parse_ok(s, sizeof(s) - 1, 1, a, ap, b, bp)
#define OK2(s, a, ap, b, bp)	parse_ok(s, sizeof(s) - 1, 2, a, ap, b, bp)

START_TEST(test_parse_valid)
{
	OK1("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n",
	    "192.168.0.1", 56324, "192.168.0.11", 443);
	OK1("PROXY TCP4 0.0.0.0 255.255.255.255 0 65535\r\n", "0.0.0.0", 0,
	    "255.255.255.255", 65535);
	OK1("PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n",
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535,
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535);
	OK1("PROXY TCP6 ::1 2001:DB8::A 1 2\r\n", "::1", 1, "2001:db8::a", 2);
	/* inet_ntop's v4-mapped form, as HAProxy and nginx send it. */
	OK1("PROXY TCP6 ::ffff:10.0.0.1 ::1 1 2\r\n", "::ffff:10.0.0.1", 1,
	    "::1", 2);
	OK1("PROXY UNKNOWN\r\n", NULL, 0, NULL, 0);
	/* The worst case of section 2.1: 107 bytes, rest ignored. */
	OK1("PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n",
	    NULL, 0, NULL, 0);
	OK1("PROXY UNKNOWN whatever  \r\n", NULL, 0, NULL, 0);
	OK2(SIG "\x21\x11\x00\x0c" "\xc0\xa8\x00\x01" "\xc0\xa8\x00\x0b"
	    "\xdc\x04" "\x01\xbb", "192.168.0.1", 56324, "192.168.0.11", 443);
	OK2(SIG "\x21\x21\x00\x24"
	    "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01"
	    "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x01" "\x00\x01" "\xff\xff",
	    "2001:db8::1", 1, "::1", 65535);
	/* TLVs after the addresses: a NOOP of 2 bytes, an empty one. */
	OK2(SIG "\x21\x11\x00\x14" "\x01\x02\x03\x04" "\x05\x06\x07\x08"
	    "\x00\x01" "\x00\x02" "\x04\x00\x02xy" "\x04\x00\x00",
	    "1.2.3.4", 1, "5.6.7.8", 2);
	/* LOCAL: whatever its block holds is skipped (section 2.2). */
	OK2(SIG "\x20\x00\x00\x00", NULL, 0, NULL, 0);
	OK2(SIG "\x20\x11\x00\x05" "abcde", NULL, 0, NULL, 0);
	/* PROXY with UNSPEC, and AF_UNIX: the real endpoints stand. */
	OK2(SIG "\x21\x00\x00\x00", NULL, 0, NULL, 0);
	OK2(SIG "\x21\x10\x00\x00", NULL, 0, NULL, 0);
	{
		uint8_t	 u[16 + 216];
		struct pp_hdr h;

		memcpy(u, SIG "\x21\x31\x00\xd8", 16);
		memset(u + 16, 'u', 216);
		ck_assert_int_eq(parse(u, sizeof(u), 512, &h), 232);
		ck_assert_int_eq(h.local, 1);
		ck_assert_int_eq(parse(u, sizeof(u), 231, &h), -1);
	}
}
END_TEST

/* Malformed: refused, and no prefix of it is taken as a header. */
static void
bad(const void *s, size_t len)
{
	struct pp_hdr	 h;
	size_t		 k;

	ck_assert_msg(parse(s, len, 512, &h) == -1, "accepted: %.*s",
	    (int)len, (const char *)s);
	for (k = 0; k < len; k++)
		ck_assert_int_le(parse(s, k, 512, &h), 0);
}

#define BAD(s)	bad(s, sizeof(s) - 1)

START_TEST(test_parse_malformed)
{
	char	 line[200];
	uint8_t	 v2[64];
	int	 i;

	/* v1: prefix, protocol, separators, line ends. */
	BAD("proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n");
	BAD("PROXYTCP4 1.2.3.4 5.6.7.8 1 2\r\n");
	BAD("PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n");
	BAD("PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n");
	BAD("PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n");
	BAD("PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n");
	BAD("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n");
	BAD("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n");
	BAD("PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n");
	BAD("PROXY TCP4\r\n");
	BAD("PROXY \r\n");
	BAD("PROXY UNKNOWNX\r\n");
	BAD("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n");
	BAD("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rx");
	BAD("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\r\n");
	BAD("PROXY TCP4 1.2.3.4\n5.6.7.8 1 2\r\n");
	BAD("PROXY TCP4 1.2.3.4\t5.6.7.8 1 2\r\n");
	/* v1: IPv4 as four decimal numbers, no leading zeros. */
	BAD("PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n");
	BAD("PROXY TCP4 1.2.3.004 5.6.7.8 1 2\r\n");
	BAD("PROXY TCP4 256.2.3.4 5.6.7.8 1 2\r\n");
	BAD("PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n");
	BAD("PROXY TCP4 1.2.3.4.5 5.6.7.8 1 2\r\n");
	BAD("PROXY TCP4 1..3.4 5.6.7.8 1 2\r\n");
	BAD("PROXY TCP4 1.2.3.4. 5.6.7.8 1 2\r\n");
	BAD("PROXY TCP4 1.2.3.1000 5.6.7.8 1 2\r\n");
	BAD("PROXY TCP4 0x1.2.3.4 5.6.7.8 1 2\r\n");
	/* v1: the family announced. */
	BAD("PROXY TCP4 ::1 ::1 1 2\r\n");
	BAD("PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n");
	BAD("PROXY TCP6 ::1 ::1::1 1 2\r\n");
	BAD("PROXY TCP6 ::1%lo ::1 1 2\r\n");
	BAD("PROXY TCP6 :::1 ::1 1 2\r\n");
	BAD("PROXY TCP6 12345::1 ::1 1 2\r\n");
	/* v1: ports. */
	BAD("PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n");
	BAD("PROXY TCP4 1.2.3.4 5.6.7.8 1 00\r\n");
	BAD("PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n");
	BAD("PROXY TCP4 1.2.3.4 5.6.7.8 1 100000\r\n");
	BAD("PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n");
	BAD("PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n");
	/* v1: no CRLF within 107 bytes; a CRLF at 107-108 is too late. */
	memset(line, 0, sizeof(line));
	memcpy(line, "PROXY UNKNOWN ", 14);
	memset(line + 14, 'x', 150);
	bad(line, 107);
	bad(line, 150);
	memcpy(line + 106, "\r\n", 2);
	bad(line, 108);
	memcpy(line + 105, "\r\n", 2);
	ck_assert_int_eq(pp_parse(line, 107, 512, &(struct pp_hdr){ 0 }),
	    107);
	/* Neither version. */
	BAD("GET / HTTP/1.1\r\n\r\n");
	BAD("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03");
	BAD("\r\n\r\n\r\n");

	/* v2: each signature byte. */
	for (i = 0; i < 12; i++) {
		memcpy(v2, SIG "\x21\x11\x00\x0c" "\1\2\3\4\5\6\7\x8\0\1\0\2",
		    28);
		v2[i] ^= 0x40;
		bad(v2, 28);
	}
	BAD(SIG "\x11\x11\x00\x0c" "\1\2\3\4\5\6\7\x8\0\1\0\2");
	BAD(SIG "\x31\x11\x00\x0c" "\1\2\3\4\5\6\7\x8\0\1\0\2");
	BAD(SIG "\x22\x11\x00\x0c" "\1\2\3\4\5\6\7\x8\0\1\0\2");
	BAD(SIG "\x2f\x11\x00\x0c" "\1\2\3\4\5\6\7\x8\0\1\0\2");
	BAD(SIG "\x21\x41\x00\x0c" "\1\2\3\4\5\6\7\x8\0\1\0\2");
	BAD(SIG "\x21\x13\x00\x0c" "\1\2\3\4\5\6\7\x8\0\1\0\2");
	BAD(SIG "\x20\x13\x00\x00");
	/* v2: address blocks shorter than the family needs. */
	BAD(SIG "\x21\x11\x00\x0b" "\1\2\3\4\5\6\7\x8\0\1\0");
	BAD(SIG "\x21\x12\x00\x00");
	BAD(SIG "\x21\x21\x00\x23" "0123456789abcdef0123456789abcdef012");
	BAD(SIG "\x21\x31\x00\x10" "0123456789abcdef");
	/* v2: TLVs that overrun the header, or bytes that are none. */
	BAD(SIG "\x21\x11\x00\x0e" "\1\2\3\4\5\6\7\x8\0\1\0\2" "\x04\x00");
	BAD(SIG "\x21\x11\x00\x10" "\1\2\3\4\5\6\7\x8\0\1\0\2" "\x04\x00\x02"
	    "x");
	BAD(SIG "\x21\x11\x00\x11" "\1\2\3\4\5\6\7\x8\0\1\0\2" "\x04\x00\x00"
	    "\x04\x00");
}
END_TEST

START_TEST(test_parse_bounds)
{
	uint8_t		 big[16 + 600];
	struct pp_hdr	 h;

	/* A v2 header longer than max is refused from its length field,
	   before its bytes are there. */
	memcpy(big, SIG "\x20\x00\x02\x00", 16);
	memset(big + 16, 0, 600);
	ck_assert_int_eq(parse(big, 16, 512, &h), -1);
	ck_assert_int_eq(parse(big, 16, 528, &h), 0);
	ck_assert_int_eq(parse(big, 16 + 512, 528, &h), 528);
	/* v1's own limit holds whatever max says. */
	ck_assert_int_eq(parse("PROXY ", 6, 4096, &h), 0);
	ck_assert_int_eq(parse("", 0, 512, &h), 0);
	ck_assert_int_eq(parse("P", 1, 512, &h), 0);
	ck_assert_int_eq(parse("X", 1, 512, &h), -1);
	ck_assert_int_eq(parse("\r", 1, 512, &h), 0);
	ck_assert_int_eq(parse("\r\n\r\n\0\r\nQUIT\n\x21", 13, 512, &h), 0);
	ck_assert_int_eq(parse("\r\n\r\n\0\r\nQUIT\n\x12", 13, 512, &h), -1);
}
END_TEST

/* A deterministic generator: the same cases every run. */
static uint32_t
rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static union pp_addr
rnd_addr(uint32_t *s, int v6)
{
	union pp_addr	 u;
	int		 i;

	memset(&u, 0, sizeof(u));
	if (v6) {
		u.in6.sin6_family = AF_INET6;
		for (i = 0; i < 16; i++)
			u.in6.sin6_addr.s6_addr[i] = rnd(s) % 3 == 0 ? 0 :
			    (uint8_t)rnd(s);
		/* Never v4-mapped: that is written as IPv4. */
		u.in6.sin6_addr.s6_addr[0] |= 0x20;
		u.in6.sin6_port = (uint16_t)rnd(s);
	} else {
		u.in.sin_family = AF_INET;
		u.in.sin_addr.s_addr = rnd(s);
		u.in.sin_port = (uint16_t)rnd(s);
	}
	return u;
}

/*
 * Round trips and truncations: each built header parses back to what
 * it was built from; each of its prefixes is incomplete (0); each
 * single-byte change is refused, incomplete or a header within the
 * bytes given, never more.
 */
START_TEST(test_fuzz)
{
	uint32_t	 seed = 0x5eed1234;
	uint8_t		 buf[PP_HDR_MAX], m[PP_HDR_MAX];
	struct pp_hdr	 h;
	union pp_addr	 a, b;
	size_t		 n, k, alen;
	ssize_t		 r;
	int		 it, v6, byte;
	enum pp_version	 v;

	for (it = 0; it < 400; it++) {
		v = it % 2 ? PP_V2 : PP_V1;
		v6 = (it / 2) % 2;
		a = rnd_addr(&seed, v6);
		b = rnd_addr(&seed, v6);
		n = pp_build(v, 0, &a.sa, &b.sa, buf, sizeof(buf));
		ck_assert_uint_gt(n, 0);
		ck_assert_int_eq(parse(buf, n, 512, &h), (ssize_t)n);
		ck_assert_int_eq(h.local, 0);
		alen = v6 ? sizeof(a.in6) : sizeof(a.in);
		ck_assert_mem_eq(&h.src, &a, alen);
		ck_assert_mem_eq(&h.dst, &b, alen);
		for (k = 0; k < n; k++)
			ck_assert_int_eq(parse(buf, k, 512, &h), 0);
		if (it % 8 >= 2)
			continue;
		for (k = 0; k < n; k++)
			for (byte = 0; byte < 256; byte += 7) {
				memcpy(m, buf, n);
				m[k] = (uint8_t)byte;
				r = parse(m, n, 512, &h);
				ck_assert(r >= -1 && r <= (ssize_t)n);
			}
	}
	/* Random bytes after each prefix: never a length past them. */
	for (it = 0; it < 20000; it++) {
		n = rnd(&seed) % 120;
		k = rnd(&seed) % 3;
		memcpy(m, k == 0 ? SIG "\x21" : "PROXY TCP4 ", k == 0 ? 13 :
		    11);
		for (alen = k == 0 ? 13 : 11; alen < n; alen++)
			m[alen] = k == 2 ? (uint8_t)("0123456789. \r\n"
			    [rnd(&seed) % 14]) : (uint8_t)rnd(&seed);
		r = parse(m, n, 512, &h);
		ck_assert(r >= -1 && r <= (ssize_t)n);
	}
}
END_TEST

START_TEST(test_names)
{
	enum pp_version v;

	ck_assert_int_eq(pp_version_parse("v1", &v), 0);
	ck_assert_int_eq(v, PP_V1);
	ck_assert_int_eq(pp_version_parse("v2", &v), 0);
	ck_assert_int_eq(v, PP_V2);
	ck_assert_int_eq(pp_version_parse("none", &v), 0);
	ck_assert_int_eq(v, PP_NONE);
	ck_assert_int_eq(pp_version_parse("V2", &v), -1);
	ck_assert_int_eq(pp_version_parse("2", &v), -1);
	ck_assert_int_eq(pp_version_parse("", &v), -1);
	ck_assert_str_eq(pp_version_name(PP_V2), "v2");
	ck_assert_str_eq(pp_version_name(PP_NONE), "none");
}
END_TEST

static Suite *
proxyproto_suite(void)
{
	Suite	*s = suite_create("proxyproto");
	TCase	*tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_v1_build);
	tcase_add_test(tc, test_v2_build);
	tcase_add_test(tc, test_parse_valid);
	tcase_add_test(tc, test_parse_malformed);
	tcase_add_test(tc, test_parse_bounds);
	tcase_add_test(tc, test_fuzz);
	tcase_add_test(tc, test_names);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(proxyproto_suite());
}
