/*
 * Health-check settings: one rule per setting, shared by a Service's
 * svcproxy.io/health-* and outlier annotations and by ProxyConfig
 * spec.healthCheck, so both say the same thing about the same value.
 * Not Kubernetes fields, so the rules are svcproxy's, worded as the
 * API server words its own (Invalid value, Unsupported value with the
 * supported values sorted and quoted).
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "health_state.h"
#include "val_int.h"

#define DURATION_MSG	"must be a duration greater than 0 (e.g. \"5s\", " \
	"\"1m30s\", \"250ms\")"
#define PATH_MAX_LEN	1024
#define METHOD_MAX_LEN	20
#define OUTLIER_MAX	1000
#ifdef HAVE_OPENSSL
#define KINDS		"\"http\", \"https\", \"none\", \"tcp\""
#else
#define KINDS		"\"http\", \"none\", \"tcp\""
#endif

static const struct {
	const char	*ann;
	const char	*field;		/* under spec.healthCheck; NULL:
					   a Service's own */
} settings[VHC_NSETTINGS] = {
	[VHC_TYPE] =		{ ANN_HC, "type" },
	[VHC_INTERVAL] =	{ ANN_HC_INTERVAL, "interval" },
	[VHC_TIMEOUT] =		{ ANN_HC_TIMEOUT, "timeout" },
	[VHC_RISE] =		{ ANN_HC_RISE, "rise" },
	[VHC_FALL] =		{ ANN_HC_FALL, "fall" },
	[VHC_PORT] =		{ ANN_HC_PORT, NULL },
	[VHC_PATH] =		{ ANN_HC_PATH, "path" },
	[VHC_HOST] =		{ ANN_HC_HOST, "host" },
	[VHC_METHOD] =		{ ANN_HC_METHOD, "method" },
	[VHC_EXPECT] =		{ ANN_HC_EXPECT, "expectStatus" },
	[VHC_SNI] =		{ ANN_HC_SNI, NULL },
	[VHC_CA] =		{ ANN_HC_CA, NULL },
	[VHC_OUTLIER_FAILURES] = { ANN_OUTLIER_FAILURES,
				    "outlierDetection.consecutiveFailures" },
	[VHC_EJECT_BASE] =	{ ANN_OUTLIER_BASE,
				    "outlierDetection.baseEjectionTime" },
	[VHC_EJECT_PERCENT] =	{ ANN_OUTLIER_PERCENT,
				    "outlierDetection.maxEjectionPercent" },
	[VHC_PANIC] =		{ ANN_HC_PANIC, "panicThreshold" },
	[VHC_ON_DOWN] =		{ ANN_HC_ON_DOWN, "onDown" },
	[VHC_SLOW_START] =	{ ANN_SLOW_START, "slowStart" },
};

int
val_hc_find(const char *annotation)
{
	int i;

	for (i = 0; i < VHC_NSETTINGS; i++)
		if (strcmp(settings[i].ann, annotation) == 0)
			return i;
	return -1;
}

const char *
val_hc_annotation(enum val_hc k)
{
	return settings[k].ann;
}

const char *
val_hc_field(enum val_hc k)
{
	return settings[k].field;
}

/* A plain decimal in [lo, hi]: no sign, no blanks, no exponent. */
static int
uint_in(const char *v, int64_t lo, int64_t hi, int64_t *out)
{
	return (*v >= '0' && *v <= '9' && kobj_parse_int(v, out) == 0 &&
	    *out >= lo && *out <= hi) ? 0 : -1;
}

/* What goes on a request line: printable ASCII, no space. */
static int
request_token(const char *v)
{
	for (; *v != '\0'; v++)
		if (*v <= ' ' || *v >= 0x7f)
			return 0;
	return 1;
}

static int
method_ok(const char *v)
{
	size_t n = strlen(v);

	if (n == 0 || n > METHOD_MAX_LEN)
		return 0;
	for (; *v != '\0'; v++)
		if (*v < 'A' || *v > 'Z')
			return 0;
	return 1;
}

/* A rule that fails fills why and returns -1 with its type. */
static int
bad(enum diag_type *type, enum diag_type t, char *why, size_t len,
    const char *msg)
{
	*type = t;
	snprintf(why, len, "%s", msg);
	return -1;
}

static int
range(enum diag_type *type, char *why, size_t len, const char *v,
    int64_t lo, int64_t hi, int64_t *out, const char *note)
{
	if (uint_in(v, lo, hi, out) == 0)
		return 0;
	*type = DIAG_INVALID;
	snprintf(why, len, "must be between %lld and %lld, inclusive%s",
	    (long long)lo, (long long)hi, note);
	return -1;
}

int
val_hc_parse(enum val_hc k, const char *v, struct hc_config *hc,
    enum diag_type *type, char *why, size_t len)
{
	struct hc_settings	*s = &hc->check;
	struct hc_status_set	 set;
	struct ipaddr		 ip;
	uint32_t		 ms;
	int64_t			 n;
	int			 kind;

	switch (k) {
	case VHC_TYPE:
		if ((kind = hc_kind_parse(v)) == -1)
			return bad(type, DIAG_NOT_SUPPORTED, why, len,
			    "supported values: " KINDS);
#ifndef HAVE_OPENSSL
		if (kind == HC_HTTPS)
			return bad(type, DIAG_INVALID, why, len, "svcproxy "
			    "was built without OpenSSL (supported values: "
			    KINDS ")");
#endif
		s->kind = (enum hc_kind)kind;
		return 0;
	case VHC_INTERVAL:
	case VHC_TIMEOUT:
	case VHC_EJECT_BASE:
		if (val_parse_duration(v, &ms) == -1 || ms == 0)
			return bad(type, DIAG_INVALID, why, len, DURATION_MSG);
		if (k == VHC_INTERVAL)
			s->interval_ms = ms;
		else if (k == VHC_TIMEOUT)
			s->timeout_ms = ms;
		else
			hc->eject_base_ms = ms;
		return 0;
	case VHC_SLOW_START:
		if (val_parse_duration(v, &ms) == -1)
			return bad(type, DIAG_INVALID, why, len, "must be a "
			    "duration (e.g. \"30s\", \"1m\"; \"0s\": off)");
		hc->slow_start_ms = ms;
		return 0;
	case VHC_RISE:
	case VHC_FALL:
		if (range(type, why, len, v, 1, HC_RISE_MAX, &n, "") == -1)
			return -1;
		if (k == VHC_RISE)
			s->rise = (uint8_t)n;
		else
			s->fall = (uint8_t)n;
		return 0;
	case VHC_PORT:
		if (range(type, why, len, v, 1, 65535, &n, "") == -1)
			return -1;
		s->port = (uint16_t)n;
		return 0;
	case VHC_PATH:
		if (*v != '/')
			return bad(type, DIAG_INVALID, why, len,
			    "must start with \"/\"");
		if (!request_token(v))
			return bad(type, DIAG_INVALID, why, len, "must be "
			    "printable ASCII without spaces (it goes on the "
			    "request line)");
		if (strlen(v) > PATH_MAX_LEN)
			return bad(type, DIAG_INVALID, why, len, "must be no "
			    "more than 1024 characters");
		s->path = v;
		return 0;
	case VHC_HOST:
		if (!val_is_dns1123_subdomain(v) && ipaddr_parse(v, &ip) == -1)
			return bad(type, DIAG_INVALID, why, len, "must be a "
			    "lowercase RFC 1123 subdomain (e.g. 'example.com') "
			    "or an IP address");
		s->host = v;
		return 0;
	case VHC_METHOD:
		if (!method_ok(v))
			return bad(type, DIAG_INVALID, why, len, "must be an "
			    "HTTP method of 1 to 20 upper-case letters (e.g. "
			    "\"GET\", \"HEAD\")");
		s->method = v;
		return 0;
	case VHC_EXPECT:
		if (hc_status_parse(v, &set, why, len) == -1) {
			*type = DIAG_INVALID;
			return -1;
		}
		s->expect = v;
		return 0;
	case VHC_SNI:
		if (!val_is_dns1123_subdomain(v))
			return bad(type, DIAG_INVALID, why, len, "must be a "
			    "lowercase RFC 1123 subdomain (e.g. "
			    "'example.com')");
		s->sni = v;
		return 0;
	case VHC_CA:
		if (*v != '/')
			return bad(type, DIAG_INVALID, why, len,
			    "must be an absolute path");
		s->ca = v;
		return 0;
	case VHC_OUTLIER_FAILURES:
		if (range(type, why, len, v, 0, OUTLIER_MAX, &n,
		    " (0: no ejection)") == -1)
			return -1;
		hc->outlier_failures = (uint32_t)n;
		return 0;
	case VHC_EJECT_PERCENT:
	case VHC_PANIC:
		if (range(type, why, len, v, 0, 100, &n, "") == -1)
			return -1;
		if (k == VHC_PANIC)
			hc->panic_percent = (uint8_t)n;
		else
			hc->eject_max_percent = (uint8_t)n;
		return 0;
	case VHC_ON_DOWN:
		if (strcmp(v, "keep") == 0)
			hc->close_on_down = 0;
		else if (strcmp(v, "close") == 0)
			hc->close_on_down = 1;
		else
			return bad(type, DIAG_NOT_SUPPORTED, why, len,
			    "supported values: \"close\", \"keep\"");
		return 0;
	case VHC_NSETTINGS:
		break;
	}
	return bad(type, DIAG_INVALID, why, len, "unknown setting");
}

/*
 * The CA file must be there and readable when `check` runs, not at
 * the first probe.  Validation runs on the reload thread (or a
 * command), never the main loop, so this I/O blocks nothing.
 */
size_t
val_hc_ca_file(const struct diag_ctx *dc, const struct ynode *at,
    const char *field, const char *path)
{
	struct stat	 st;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY |
	    O_CLOEXEC)) == -1) {
		kobj_err(dc, at, DIAG_INVALID, field, path, "cannot read "
		    "it: %s", strerror(errno));
		return 1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		kobj_err(dc, at, DIAG_INVALID, field, path, "%s",
		    "must be a regular file (PEM CA certificates)");
		return 1;
	}
	close(fd);
	return 0;
}

size_t
val_hc_setting(const struct diag_ctx *dc, const struct ynode *at,
    const char *field, enum val_hc k, const char *v, struct hc_config *hc)
{
	enum diag_type	 type;
	char		 why[256];

	if (val_hc_parse(k, v, hc, &type, why, sizeof(why)) == -1) {
		kobj_err(dc, at, type, field, v, "%s", why);
		return 1;
	}
	return 0;
}

void
val_hc_apply(struct hc_config *hc, const char *annotation, const char *v)
{
	enum diag_type	 type;
	char		 why[256];
	int		 k;

	if ((k = val_hc_find(annotation)) != -1)
		(void)val_hc_parse((enum val_hc)k, v, hc, &type, why,
		    sizeof(why));
}

enum hc_kind
val_hc_kind(const struct kstrmap *ann, enum hc_kind dflt)
{
	int	 kind;
	size_t	 i;

	for (i = 0; i < ann->n; i++)
		if (strcmp(ann->v[i].key, ANN_HC) == 0 &&
		    (kind = hc_kind_parse(ann->v[i].value)) != -1)
			return (enum hc_kind)kind;
	return dflt;
}

void
val_hc_defaults(struct hc_config *hc)
{
	memset(hc, 0, sizeof(*hc));
	hc->check.kind = HC_NONE;
	hc->check.interval_ms = HC_DEFAULT_INTERVAL_MS;
	hc->check.timeout_ms = 0;		/* the interval */
	hc->check.rise = HC_DEFAULT_RISE;
	hc->check.fall = HC_DEFAULT_FALL;
	hc->check.method = HC_DEFAULT_METHOD;
	hc->check.path = HC_DEFAULT_PATH;
	hc->check.expect = HC_DEFAULT_EXPECT;
	hc->outlier_failures = HC_DEFAULT_OUTLIER_FAILURES;
	hc->eject_base_ms = HC_DEFAULT_EJECT_BASE_MS;
	hc->eject_max_ms = HC_DEFAULT_EJECT_MAX_MS;
	hc->eject_max_percent = HC_DEFAULT_EJECT_MAX_PERCENT;
}

int
val_lb_uses_weights(const char *algorithm)
{
	/* Every algorithm ramps weights but maglev: its table is fixed by
	   the endpoint set, so that instances agree, and a ramp would move
	   clients differently on each. */
	return algorithm == NULL || strcmp(algorithm, "maglev") != 0;
}

/* Which settings only an active check of some kinds reads. */
static int
applies(enum val_hc k, enum hc_kind kind)
{
	switch (k) {
	case VHC_INTERVAL:
	case VHC_TIMEOUT:
	case VHC_RISE:
	case VHC_FALL:
	case VHC_PORT:
		return kind != HC_NONE;
	case VHC_PATH:
	case VHC_HOST:
	case VHC_METHOD:
	case VHC_EXPECT:
		return kind == HC_HTTP || kind == HC_HTTPS;
	case VHC_SNI:
	case VHC_CA:
		return kind == HC_HTTPS;
	default:
		return 1;
	}
}

/*
 * A timeout longer than the interval is valid: HAProxy accepts a
 * `timeout check` over `inter` (it bounds only the connect part by
 * inter), and Kubernetes' validateProbe asks only that timeoutSeconds
 * and periodSeconds be non-negative.  But checks of one endpoint never
 * overlap (the next starts when the last ends), so an endpoint that
 * does not answer is checked once per timeout, not per interval, and
 * goes down after fall x timeout.  Say so, at the annotation the
 * Service set (the timeout, else the interval, else the check type
 * when both come from ProxyConfig spec.healthCheck).
 */
static void
timeout_over_interval(const struct diag_ctx *dc, const struct hc_config *hc,
    const struct ynode *const at[VHC_NSETTINGS],
    const char *const val[VHC_NSETTINGS])
{
	const struct hc_settings	*s = &hc->check;
	char				 f[VAL_PATH_MAX];
	char				 iv[HC_DURATION_LEN];
	char				 to[HC_DURATION_LEN];
	char				 down[HC_DURATION_LEN];
	uint64_t			 total;
	enum val_hc			 k;

	if (s->kind == HC_NONE || s->timeout_ms <= s->interval_ms)
		return;
	k = at[VHC_TIMEOUT] != NULL ? VHC_TIMEOUT :
	    at[VHC_INTERVAL] != NULL ? VHC_INTERVAL : VHC_TYPE;
	if (at[k] == NULL)
		return;		/* all from ProxyConfig: not the Service's */
	total = (uint64_t)s->fall * s->timeout_ms;
	kobj_warn(dc, at[k], DIAG_INVALID, val_path(f,
	    "metadata.annotations[%s]", settings[k].ann), val[k],
	    "the timeout (%s) is longer than the interval (%s): checks of "
	    "an endpoint never overlap, so one that does not answer is "
	    "checked every %s, not every %s, and goes down after about "
	    "%u x %s = %s",
	    hc_duration(s->timeout_ms, to, sizeof(to)),
	    hc_duration(s->interval_ms, iv, sizeof(iv)), to, iv, s->fall, to,
	    hc_duration(total > UINT32_MAX ? UINT32_MAX : (uint32_t)total,
	    down, sizeof(down)));
}

void
val_hc_warnings(const struct diag_ctx *dc, const struct hc_config *hc,
    const struct ynode *const at[VHC_NSETTINGS],
    const char *const val[VHC_NSETTINGS], const char *algorithm)
{
	char	 f[VAL_PATH_MAX];
	int	 k;

	for (k = 0; k < VHC_NSETTINGS; k++) {
		if (at[k] == NULL)
			continue;
		val_path(f, "metadata.annotations[%s]", settings[k].ann);
		if (applies((enum val_hc)k, hc->check.kind))
			continue;
		if (hc->check.kind == HC_NONE && k < VHC_PATH)
			kobj_warn(dc, at[k], DIAG_INVALID, f, val[k],
			    "ignored: %s is \"none\" (no active check)",
			    ANN_HC);
		else
			kobj_warn(dc, at[k], DIAG_INVALID, f, val[k],
			    "ignored: only %s check %s (this one is \"%s\")",
			    k >= VHC_SNI ? "an https" : "an http or https",
			    k >= VHC_SNI ? "uses TLS" : "sends a request",
			    hc_kind_name(hc->check.kind));
	}
	timeout_over_interval(dc, hc, at, val);
	if (at[VHC_SLOW_START] != NULL && hc->slow_start_ms > 0 &&
	    !val_lb_uses_weights(algorithm))
		kobj_warn(dc, at[VHC_SLOW_START], DIAG_INVALID, val_path(f,
		    "metadata.annotations[%s]", ANN_SLOW_START),
		    val[VHC_SLOW_START], "not honoured: %s does not ramp weights "
		    "(its table depends on the endpoints alone)", algorithm);
}
