/*
 * Rules every kind shares: names, labels, ports, addresses, durations.
 * The wording is the API server's (apimachinery util/validation and
 * api/validate/content), so a message can be searched for verbatim.
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "val_int.h"

#define DNS1123_LABEL_FMT	"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
#define DNS1123_LABEL_MSG	"a lowercase RFC 1123 label must consist " \
	"of lower case alphanumeric characters or '-', and must start and " \
	"end with an alphanumeric character (e.g. 'my-name',  or " \
	"'123-abc', regex used for validation is '" DNS1123_LABEL_FMT "')"
#define DNS1123_SUB_FMT	\
	DNS1123_LABEL_FMT "(\\." DNS1123_LABEL_FMT ")*"
#define DNS1123_SUB_MSG		"a lowercase RFC 1123 subdomain must " \
	"consist of lower case alphanumeric characters, '-' or '.', and " \
	"must start and end with an alphanumeric character (e.g. " \
	"'example.com', regex used for validation is '" DNS1123_SUB_FMT "')"
#define DNS1035_FMT		"[a-z]([-a-z0-9]*[a-z0-9])?"
#define DNS1035_MSG		"a DNS-1035 label must consist of lower " \
	"case alphanumeric characters or '-', start with an alphabetic " \
	"character, and end with an alphanumeric character (e.g. " \
	"'my-name',  or 'abc-123', regex used for validation is '" \
	DNS1035_FMT "')"
#define LABEL_KEY_FMT		"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
#define LABEL_KEY_MSG	"must consist of alphanumeric characters, " \
	"'-', '_' or '.', and must start and end with an alphanumeric " \
	"character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex " \
	"used for validation is '" LABEL_KEY_FMT "')"
#define LABEL_VALUE_MSG	"a valid label must be an empty string or " \
	"consist of alphanumeric characters, '-', '_' or '.', and must " \
	"start and end with an alphanumeric character (e.g. 'MyValue',  " \
	"or 'my_value',  or '12345', regex used for validation is '(" \
	LABEL_KEY_FMT ")?')"
#define IP_MSG	\
	"must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
#define CIDR_MSG "must be a valid CIDR value, (e.g. 10.9.8.0/24 or " \
	"2001:db8::/64)"
#define PORT_RANGE_MSG	"must be between 1 and 65535, inclusive"

/* TotalAnnotationSizeLimitB */
#define ANNOTATIONS_MAX	(256 * 1024)

char *
val_path(char *buf, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, VAL_PATH_MAX, fmt, ap);
	va_end(ap);
	return buf;
}

const struct ynode *
val_at(const struct ynode *map, const char *field,
    const struct ynode *fallback)
{
	if (map == NULL)
		return fallback;
	return kobj_at(map, field);
}

const struct ynode *
val_map_value(const struct kstrmap *m, size_t i)
{
	const struct ynode *n = ydoc_get(m->y, m->v[i].key);

	return n != NULL && n->kind != YN_NULL ? n : m->v[i].ky;
}

void
val_ctx(struct diag_ctx *dc, struct diag_list *l, const char *file,
    const char *kind, const struct kmeta *m)
{
	dc->list = l;
	dc->file = file;
	dc->kind = kind;
	dc->ns = m->ns;
	dc->name = m->name;
}

void
val_quiet_init(struct val_quiet *q, const struct diag_ctx *real)
{
	diag_list_init(&q->list);
	q->list.max = 0;
	q->dc = *real;
	q->dc.list = &q->list;
	q->real = real;
}

int
val_quiet_again(struct val_quiet *q)
{
	struct diag_list	*l = q->real->list;
	size_t			 said = q->list.nerr + q->list.nwarn;

	if (said > 0 && l->n >= l->max) {
		l->nerr += q->list.nerr;
		l->nwarn += q->list.nwarn;
		l->dropped += said;
		said = 0;
	}
	q->list.nerr = q->list.nwarn = q->list.dropped = 0;
	return said > 0;
}

/* ---- DNS names ---- */

static int
lower_alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* [a-z0-9]([-a-z0-9]*[a-z0-9])? over s[0..len) */
static int
label_match(const char *s, size_t len, int alpha_first)
{
	size_t i;

	if (len == 0 || !lower_alnum(s[0]) || !lower_alnum(s[len - 1]))
		return 0;
	if (alpha_first && !(s[0] >= 'a' && s[0] <= 'z'))
		return 0;
	for (i = 0; i < len; i++)
		if (!lower_alnum(s[i]) && s[i] != '-')
			return 0;
	return 1;
}

static int
subdomain_match(const char *s)
{
	const char *dot;

	for (;;) {
		dot = strchr(s, '.');
		if (!label_match(s, dot ? (size_t)(dot - s) : strlen(s), 0))
			return 0;
		if (dot == NULL)
			return 1;
		s = dot + 1;
	}
}

int
val_is_dns1123_label(const char *s)
{
	return s != NULL && strlen(s) <= 63 && label_match(s, strlen(s), 0);
}

int
val_is_dns1123_subdomain(const char *s)
{
	return s != NULL && strlen(s) <= 253 && subdomain_match(s);
}

static size_t
maxlen_err(const struct diag_ctx *dc, const struct ynode *at,
    const char *field, const char *value, size_t max)
{
	if (strlen(value) <= max)
		return 0;
	kobj_err(dc, at, DIAG_INVALID, field, value,
	    "must be no more than %zu characters", max);
	return 1;
}

size_t
val_dns1123_label(const struct diag_ctx *dc, const struct ynode *at,
    const char *field, const char *value)
{
	size_t n;

	n = maxlen_err(dc, at, field, value, 63);
	if (label_match(value, strlen(value), 0))
		return n;
	if (subdomain_match(value))
		kobj_err(dc, at, DIAG_INVALID, field, value, "%s",
		    "must not contain dots");
	else
		kobj_err(dc, at, DIAG_INVALID, field, value, "%s",
		    DNS1123_LABEL_MSG);
	return n + 1;
}

size_t
val_dns1123_subdomain(const struct diag_ctx *dc, const struct ynode *at,
    const char *field, const char *value)
{
	size_t n;

	n = maxlen_err(dc, at, field, value, 253);
	if (subdomain_match(value))
		return n;
	kobj_err(dc, at, DIAG_INVALID, field, value, "%s", DNS1123_SUB_MSG);
	return n + 1;
}

size_t
val_dns1035_label(const struct diag_ctx *dc, const struct ynode *at,
    const char *field, const char *value)
{
	size_t n;

	n = maxlen_err(dc, at, field, value, 63);
	if (label_match(value, strlen(value), 1))
		return n;
	kobj_err(dc, at, DIAG_INVALID, field, value, "%s", DNS1035_MSG);
	return n + 1;
}

/* IsValidPortName: one error per broken rule, as the API server. */
size_t
val_port_name(const struct diag_ctx *dc, const struct ynode *at,
    const char *field, const char *value)
{
	size_t		 n = 0, i, len = strlen(value);
	int		 charset = len > 0, letter = 0;

	for (i = 0; i < len; i++) {
		if (!lower_alnum(value[i]) && value[i] != '-')
			charset = 0;
		if (value[i] >= 'a' && value[i] <= 'z')
			letter = 1;
	}
	if (len > 15) {
		kobj_err(dc, at, DIAG_INVALID, field, value,
		    "must be no more than 15 characters");
		n++;
	}
	if (!charset) {
		kobj_err(dc, at, DIAG_INVALID, field, value, "%s",
		    "must contain only alpha-numeric characters (a-z, 0-9), "
		    "and hyphens (-)");
		n++;
	}
	if (!letter) {
		kobj_err(dc, at, DIAG_INVALID, field, value, "%s",
		    "must contain at least one letter (a-z)");
		n++;
	}
	if (strstr(value, "--") != NULL) {
		kobj_err(dc, at, DIAG_INVALID, field, value, "%s",
		    "must not contain consecutive hyphens");
		n++;
	}
	if (len > 0 && (value[0] == '-' || value[len - 1] == '-')) {
		kobj_err(dc, at, DIAG_INVALID, field, value, "%s",
		    "must not begin or end with a hyphen");
		n++;
	}
	return n;
}

size_t
val_port_number(const struct diag_ctx *dc, const struct ynode *at,
    const char *field, int64_t value)
{
	char bad[24];

	if (value >= 1 && value <= 65535)
		return 0;
	snprintf(bad, sizeof(bad), "%lld", (long long)value);
	kobj_err(dc, at, DIAG_INVALID, field, bad, "%s", PORT_RANGE_MSG);
	return 1;
}

/* ---- labels ---- */

/* ^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$ */
static int
label_key_match(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || !isalnum((unsigned char)s[0]) ||
	    !isalnum((unsigned char)s[len - 1]))
		return 0;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' &&
		    s[i] != '_' && s[i] != '.')
			return 0;
	return 1;
}

size_t
val_qualified_name(const struct diag_ctx *dc, const struct ynode *at,
    const char *field, const char *bad, const char *value)
{
	const char	*slash = strchr(value, '/'), *name = value;
	size_t		 n = 0;

	if (slash != NULL && strchr(slash + 1, '/') != NULL) {
		kobj_err(dc, at, DIAG_INVALID, field, bad, "%s",
		    "a valid label key " LABEL_KEY_MSG " with an optional DNS "
		    "subdomain prefix and '/' (e.g. 'example.com/MyName')");
		return 1;
	}
	if (slash != NULL) {
		char prefix[256];
		size_t plen = (size_t)(slash - value);

		name = slash + 1;
		if (plen == 0) {
			kobj_err(dc, at, DIAG_INVALID, field, bad, "%s",
			    "prefix part must be non-empty");
			n++;
		} else {
			if (plen > 253) {
				kobj_err(dc, at, DIAG_INVALID, field, bad,
				    "prefix part must be no more than 253 "
				    "characters");
				n++;
				plen = sizeof(prefix) - 1;
			}
			memcpy(prefix, value, plen);
			prefix[plen] = '\0';
			if (!subdomain_match(prefix)) {
				kobj_err(dc, at, DIAG_INVALID, field, bad,
				    "prefix part %s", DNS1123_SUB_MSG);
				n++;
			}
		}
	}
	if (*name == '\0') {
		kobj_err(dc, at, DIAG_INVALID, field, bad, "%s",
		    "name part must be non-empty");
		n++;
	} else if (strlen(name) > 63) {
		kobj_err(dc, at, DIAG_INVALID, field, bad,
		    "name part must be no more than 63 characters");
		n++;
	}
	if (!label_key_match(name, strlen(name))) {
		kobj_err(dc, at, DIAG_INVALID, field, bad, "name part %s",
		    LABEL_KEY_MSG);
		n++;
	}
	return n;
}

static size_t
label_value(const struct diag_ctx *dc, const struct ynode *at,
    const char *field, const char *value)
{
	size_t n;

	n = maxlen_err(dc, at, field, value, 63);
	if (*value == '\0' || label_key_match(value, strlen(value)))
		return n;
	kobj_err(dc, at, DIAG_INVALID, field, value, "%s", LABEL_VALUE_MSG);
	return n + 1;
}

/*
 * ValidateLabels: the path is the map's own (metadata.labels), not the
 * key's, as the API server reports it; the mark is the key or value.
 */
size_t
val_labels(const struct diag_ctx *dc, const struct kstrmap *m,
    const char *field)
{
	struct val_quiet	q;
	size_t			i, e, n = 0;

	val_quiet_init(&q, dc);
	for (i = 0; i < m->n; i++) {
		n += val_qualified_name(dc, m->v[i].ky, field, m->v[i].key,
		    m->v[i].key);
		/* The value's node is a lookup: only for a bad value. */
		e = label_value(&q.dc, NULL, field, m->v[i].value);
		if (val_quiet_again(&q))
			e = label_value(dc, val_map_value(m, i), field,
			    m->v[i].value);
		n += e;
	}
	return n;
}

static size_t
label_req(const struct diag_ctx *dc, const struct klabel_req *r,
    const char *field)
{
	char	 p[VAL_PATH_MAX];
	size_t	 i, n = 0;
	int	 in = 0, exists = 0;

	if (r->op != NULL)
		in = strcmp(r->op, "In") == 0 || strcmp(r->op, "NotIn") == 0;
	if (r->op != NULL)
		exists = strcmp(r->op, "Exists") == 0 ||
		    strcmp(r->op, "DoesNotExist") == 0;
	if (in && r->values.n == 0) {
		kobj_err(dc, val_at(r->y, "values", NULL), DIAG_REQUIRED,
		    val_path(p, "%s.values", field), NULL, "%s",
		    "must be specified when `operator` is 'In' or 'NotIn'");
		n++;
	} else if (exists && r->values.n > 0) {
		kobj_err(dc, val_at(r->y, "values", NULL), DIAG_FORBIDDEN,
		    val_path(p, "%s.values", field), NULL, "%s",
		    "may not be specified when `operator` is 'Exists' or "
		    "'DoesNotExist'");
		n++;
	} else if (!in && !exists) {
		kobj_err(dc, val_at(r->y, "operator", NULL), DIAG_INVALID,
		    val_path(p, "%s.operator", field), r->op ? r->op : "",
		    "%s", "not a valid selector operator");
		n++;
	}
	n += val_qualified_name(dc, val_at(r->y, "key", NULL),
	    val_path(p, "%s.key", field), r->key ? r->key : "",
	    r->key ? r->key : "");
	for (i = 0; i < r->values.n; i++) {
		const struct ynode *at = r->values.y->items[i];

		n += label_value(dc, at,
		    val_path(p, "%s.values[%zu]", field, i), r->values.v[i]);
	}
	return n;
}

size_t
val_label_selector(const struct diag_ctx *dc,
    const struct klabel_selector *sel, const char *field)
{
	char	 p[VAL_PATH_MAX];
	size_t	 i, n = 0;

	if (sel->y == NULL)
		return 0;
	n += val_labels(dc, &sel->match_labels,
	    val_path(p, "%s.matchLabels", field));
	for (i = 0; i < sel->match_expressions.n; i++)
		n += label_req(dc, &sel->match_expressions.v[i],
		    val_path(p, "%s.matchExpressions[%zu]", field, i));
	return n;
}

/* ---- object metadata ---- */

static size_t
annotations(const struct diag_ctx *dc, const struct kstrmap *m)
{
	char	 lower[512];
	size_t	 i, j, n = 0, total = 0;

	for (i = 0; i < m->n; i++) {
		const char *k = m->v[i].key;

		/* QualifiedName, except that case does not matter. */
		for (j = 0; j < sizeof(lower) - 1 && k[j] != '\0'; j++)
			lower[j] = (char)tolower((unsigned char)k[j]);
		lower[j] = '\0';
		n += val_qualified_name(dc, m->v[i].ky, "metadata.annotations",
		    k, strlen(k) < sizeof(lower) ? lower : k);
		total += strlen(k) + strlen(m->v[i].value);
	}
	if (total > ANNOTATIONS_MAX) {
		kobj_err(dc, m->y, DIAG_TOO_LONG, "metadata.annotations", NULL,
		    "must have at most %d bytes", ANNOTATIONS_MAX);
		n++;
	}
	return n;
}

/* fn at (map's key, else fallback) through val_quiet. */
static size_t
lazy_rule(const struct diag_ctx *dc, val_name_fn fn, const struct ynode *map,
    const char *key, const struct ynode *fallback, const char *field,
    const char *value)
{
	struct val_quiet	q;
	size_t			e;

	val_quiet_init(&q, dc);
	e = fn(&q.dc, NULL, field, value);
	if (val_quiet_again(&q))
		e = fn(dc, val_at(map, key, fallback), field, value);
	return e;
}

size_t
val_meta(const struct diag_ctx *dc, const struct kmeta *m,
    const struct ynode *root, val_name_fn name_fn, int namespaced)
{
	size_t n = 0;

	/* The loader has already refused an object without a name. */
	if (m->name != NULL)
		n += lazy_rule(dc, name_fn, m->y, "name", root,
		    "metadata.name", m->name);
	if (namespaced && m->ns != NULL)
		n += lazy_rule(dc, val_dns1123_label, m->y, "namespace", root,
		    "metadata.namespace", m->ns);
	n += val_labels(dc, &m->labels, "metadata.labels");
	n += annotations(dc, &m->annotations);
	return n;
}

/* ---- protocols and addresses ---- */

size_t
val_protocol(const struct diag_ctx *dc, const struct ynode *at,
    const char *field, const char **proto)
{
	/* Default (SetDefaults_*Port): an absent protocol is TCP. */
	if (*proto == NULL || **proto == '\0') {
		*proto = "TCP";
		return 0;
	}
	if (proto_parse(*proto) >= 0)
		return 0;
	kobj_err(dc, at, DIAG_NOT_SUPPORTED, field, *proto,
	    "supported values: %s", VAL_PROTOCOLS);
	return 1;
}

void
val_warn_loopback(const struct diag_ctx *dc, const struct ynode *at,
    const char *field, const char *value)
{
	kobj_warn(dc, at, DIAG_INVALID, field, value, "%s",
	    "in the loopback range (127.0.0.0/8, ::1/128): the API server "
	    "rejects it; svcproxy accepts it for single-machine testing");
}

/* net.IP.IsLinkLocalMulticast: 224.0.0.0/24, ff02::/16. */
static int
link_local_multicast(const struct ipaddr *a)
{
	if (a->family == AF_INET)
		return a->b[0] == 224 && a->b[1] == 0 && a->b[2] == 0;
	return a->family == AF_INET6 && a->b[0] == 0xff &&
	    (a->b[1] & 0x0f) == 0x02;
}

size_t
val_ip(const struct diag_ctx *dc, const struct ynode *at, const char *field,
    const char *value, int nonspecial, struct ipaddr *out)
{
	struct ipaddr	 a;
	size_t		 n = 0;

	if (ipaddr_parse(value, &a) == -1) {
		kobj_err(dc, at, DIAG_INVALID, field, value, "%s", IP_MSG);
		return 1;
	}
	if (out != NULL)
		*out = a;
	if (!nonspecial)
		return 0;
	/* ValidateNonSpecialIP, with loopback let through. */
	if (ipaddr_is_unspecified(&a)) {
		kobj_err(dc, at, DIAG_INVALID, field, value,
		    "may not be unspecified (%s)", value);
		n++;
	}
	if (ipaddr_is_loopback(&a))
		val_warn_loopback(dc, at, field, value);
	if (ipaddr_is_link_local(&a)) {
		kobj_err(dc, at, DIAG_INVALID, field, value, "%s",
		    "may not be in the link-local range (169.254.0.0/16, "
		    "fe80::/10)");
		n++;
	}
	if (link_local_multicast(&a)) {
		kobj_err(dc, at, DIAG_INVALID, field, value, "%s",
		    "may not be in the link-local multicast range "
		    "(224.0.0.0/24, ff02::/10)");
		n++;
	} else if (ipaddr_is_multicast(&a)) {
		/* The API server lets it through; nothing can serve it. */
		kobj_warn(dc, at, DIAG_INVALID, field, value, "%s",
		    "a multicast address: svcproxy cannot serve or reach it");
	}
	return n;
}

size_t
val_cidr(const struct diag_ctx *dc, const struct ynode *at,
    const char *field, const char *value, struct cidr *out)
{
	struct cidr c;

	if (cidr_parse(value, &c, 0) == -1) {
		kobj_err(dc, at, DIAG_INVALID, field, value, "%s", CIDR_MSG);
		return 1;
	}
	if (out != NULL)
		*out = c;
	return 0;
}

/* ---- durations ---- */

/*
 * Go's time.ParseDuration, without signs: one or more <number><unit>,
 * number a decimal with an optional fraction, unit ns, us (or µs), ms,
 * s, m or h; "0" alone is zero.  The sum is truncated to milliseconds,
 * except that a non-zero value under 1ms becomes 1ms.
 */
int
val_parse_duration(const char *s, uint32_t *ms)
{
	static const struct {
		const char	*name;
		uint64_t	 ns;
	} units[] = {
		{ "ns", 1 }, { "us", 1000 }, { "\xc2\xb5s", 1000 },
		{ "\xce\xbcs", 1000 }, { "ms", 1000000 },
		{ "s", 1000000000ULL }, { "m", 60000000000ULL },
		{ "h", 3600000000000ULL },
	};
	const uint64_t	 limit = (uint64_t)UINT32_MAX * 1000000 + 999999;
	uint64_t	 total = 0;

	if (s == NULL || *s == '\0')
		return -1;
	if (strcmp(s, "0") == 0) {
		*ms = 0;
		return 0;
	}
	if (*s == '+')
		s++;
	while (*s != '\0') {
		uint64_t	 whole = 0, frac = 0, scale = 1, unit = 0, v;
		int		 digits = 0;
		size_t		 i, ulen = 0;

		for (; *s >= '0' && *s <= '9'; s++, digits++) {
			if (whole > limit)
				return -1;
			whole = whole * 10 + (uint64_t)(*s - '0');
		}
		if (*s == '.') {
			for (s++; *s >= '0' && *s <= '9'; s++, digits++)
				if (scale < 1000000000000000000ULL) {
					frac = frac * 10 +
					    (uint64_t)(*s - '0');
					scale *= 10;
				}
		}
		if (digits == 0)
			return -1;
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			size_t l = strlen(units[i].name);

			/* Longest match: "ms" before "m". */
			if (strncmp(s, units[i].name, l) == 0 && l > ulen) {
				unit = units[i].ns;
				ulen = l;
			}
		}
		if (unit == 0)
			return -1;
		s += ulen;
		if (whole > limit / unit)
			return -1;
		/* frac < scale <= 1e18, unit <= 3.6e12: split to avoid
		   overflow. */
		v = whole * unit + (uint64_t)((long double)frac * unit /
		    scale);
		total += v;
		if (total > limit)
			return -1;
	}
	*ms = (uint32_t)(total / 1000000);
	if (*ms == 0 && total > 0)
		*ms = 1;
	return 0;
}
