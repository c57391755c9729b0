#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hash.h"
#include "log.h"

/* Set at startup (and by a later reload); read by every thread. */
static _Atomic int log_level = LOG_LEVEL_INFO;
static _Atomic int log_format = LOG_FORMAT_TEXT;
static _Atomic int log_journal;		/* set once, at startup */

static const char *const log_names[] = {
	"error", "warning", "info", "debug",
};

/* syslog(3) priorities of the levels: LOG_ERR, LOG_WARNING, ... */
static const char log_prio[] = { '3', '4', '6', '7' };

void
log_set_level(enum log_level l)
{
	atomic_store_explicit(&log_level, (int)l, memory_order_relaxed);
}

int
log_enabled(enum log_level l)
{
	return (int)l <= atomic_load_explicit(&log_level,
	    memory_order_relaxed);
}

void
log_set_format(enum log_format f)
{
	atomic_store_explicit(&log_format, (int)f, memory_order_relaxed);
}

enum log_format
log_get_format(void)
{
	return (enum log_format)atomic_load_explicit(&log_format,
	    memory_order_relaxed);
}

/*
 * systemd sets JOURNAL_STREAM to "DEV:INODE" of the stream it gave the
 * unit's stdout and stderr (systemd.exec(5)); a process whose stderr
 * was redirected since, or a child that inherited the variable, does
 * not match, and keeps plain lines.
 */
int
log_journal_init(const char *env, int fd)
{
	struct stat		 st;
	unsigned long long	 dev, ino;
	char			 tail;
	int			 on;

	on = env != NULL && sscanf(env, "%llu:%llu%c", &dev, &ino,
	    &tail) == 2 && fstat(fd, &st) == 0 &&
	    (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
	atomic_store_explicit(&log_journal, on, memory_order_relaxed);
	return on;
}

int
log_on_journal(void)
{
	return atomic_load_explicit(&log_journal, memory_order_relaxed);
}

/* The length of a valid UTF-8 sequence at p, 0 when it is not one. */
static size_t
log_utf8_len(const unsigned char *p)
{
	unsigned char	lo = 0x80, hi = 0xbf;
	size_t		n, i;

	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		if (p[0] == 0xe0)
			lo = 0xa0;	/* overlong */
		else if (p[0] == 0xed)
			hi = 0x9f;	/* surrogates */
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		if (p[0] == 0xf0)
			lo = 0x90;	/* overlong */
		else if (p[0] == 0xf4)
			hi = 0x8f;	/* past U+10FFFF */
	} else
		return 0;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

size_t
log_json_str(char *buf, size_t len, const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	char			 esc[8];
	const char		*out;
	size_t			 n = 1, k;

	buf[0] = '"';
	while (*p != '\0') {
		out = esc;
		k = 2;
		esc[0] = '\\';
		switch (*p) {
		case '"':	esc[1] = '"'; break;
		case '\\':	esc[1] = '\\'; break;
		case '\n':	esc[1] = 'n'; break;
		case '\r':	esc[1] = 'r'; break;
		case '\t':	esc[1] = 't'; break;
		default:
			if (*p < 0x20)
				k = (size_t)snprintf(esc, sizeof(esc),
				    "\\u%04x", *p);
			else if (*p < 0x80) {
				out = (const char *)p;
				k = 1;
			} else if ((k = log_utf8_len(p)) != 0)
				out = (const char *)p;
			else {
				out = "\\ufffd";	/* not UTF-8 */
				k = 6;
			}
		}
		/* Room for it, the closing quote and the NUL. */
		if (n + k + 2 > len)
			break;
		memcpy(buf + n, out, k);
		n += k;
		p += out == (const char *)p ? k : 1;
	}
	buf[n++] = '"';
	buf[n] = '\0';
	return n;
}

/* A JSON object being written into a buffer that keeps room to close. */
struct log_jw {
	char	*b;
	size_t	 n;
	size_t	 cap;		/* for the members: "}\n" and NUL kept */
	int	 full;		/* a member did not fit: no more */
};

static void
log_jw_raw(struct log_jw *w, const char *s, size_t k)
{
	if (w->full || w->n + k > w->cap) {
		w->full = 1;
		return;
	}
	memcpy(w->b + w->n, s, k);
	w->n += k;
}

/* ,"key":"value" (cut to fit, still one valid string). */
static void
log_jw_str(struct log_jw *w, const char *key, const char *v)
{
	size_t	k = strlen(key);

	/* The key and at least an empty string. */
	if (w->full || w->n + k + 6 > w->cap) {
		w->full = 1;
		return;
	}
	w->b[w->n++] = ',';
	w->b[w->n++] = '"';
	memcpy(w->b + w->n, key, k);
	w->n += k;
	w->b[w->n++] = '"';
	w->b[w->n++] = ':';
	w->n += log_json_str(w->b + w->n, w->cap - w->n + 1, v);
}

static void
log_jw_kv(struct log_jw *w, const struct log_kv *kv)
{
	char	tmp[128];
	int	k;

	switch (kv->type) {
	case LOG_KV_STR:
		if (kv->s != NULL)
			log_jw_str(w, kv->key, kv->s);
		return;
	case LOG_KV_U64:
		k = snprintf(tmp, sizeof(tmp), ",\"%s\":%" PRIu64, kv->key,
		    kv->u);
		break;
	case LOG_KV_BYTES:
		k = snprintf(tmp, sizeof(tmp), ",\"%s\":{\"up\":%" PRIu64
		    ",\"down\":%" PRIu64 "}", kv->key, kv->u, kv->u2);
		break;
	default:
		return;
	}
	if (k > 0 && (size_t)k < sizeof(tmp))
		log_jw_raw(w, tmp, (size_t)k);
}

size_t
log_format_line(char *buf, size_t len, enum log_format f, int journal,
    enum log_level l, const struct timespec *ts, const char *event,
    const struct log_kv *kv, size_t nkv, const char *msg)
{
	struct log_jw	 w;
	struct tm	 tm;
	char		 when[40];
	size_t		 n = 0, i, t;
	int		 k;

	gmtime_r(&ts->tv_sec, &tm);
	t = strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(when + t, sizeof(when) - t, ".%03ldZ",
	    ts->tv_nsec / 1000000);
	if (journal) {
		buf[n++] = '<';
		buf[n++] = log_prio[l];
		buf[n++] = '>';
	}
	if (f == LOG_FORMAT_TEXT) {
		/* The text line is cut at LOG_LINE_MAX, prefix aside. */
		if (len - n > LOG_LINE_MAX)
			len = n + LOG_LINE_MAX;
		k = snprintf(buf + n, len - n, "%s %s: %s", when, log_names[l],
		    msg != NULL ? msg : "");
		if (k > 0)
			n += (size_t)k;
		if (n > len - 1)
			n = len - 1;
		buf[n++] = '\n';
		return n;
	}
	k = snprintf(buf + n, len - n, "{\"time\":\"%s\",\"level\":\"%s\"",
	    when, log_names[l]);
	w.b = buf;
	w.n = n + (k > 0 ? (size_t)k : 0);
	w.cap = len - 3;
	w.full = w.n > w.cap;
	if (w.full)
		w.n = w.cap;
	log_jw_str(&w, "event", event != NULL ? event : "log");
	for (i = 0; i < nkv; i++)
		log_jw_kv(&w, &kv[i]);
	if (msg != NULL)
		log_jw_str(&w, "msg", msg);
	buf[w.n++] = '}';
	buf[w.n++] = '\n';
	return w.n;
}

/* One line to stderr, in the current format, with one write(2). */
static void
log_emit(enum log_level l, const char *event, const struct log_kv *kv,
    size_t nkv, const char *msg)
{
	char		 buf[LOG_JSON_MAX];
	struct timespec	 ts;
	size_t		 n;

	clock_gettime(CLOCK_REALTIME, &ts);
	n = log_format_line(buf, sizeof(buf), log_get_format(),
	    atomic_load_explicit(&log_journal, memory_order_relaxed), l, &ts,
	    event, kv, nkv, msg);
	/* One write: a line is never split between threads. */
	if (write(STDERR_FILENO, buf, n) < 0) {
		/* Nowhere left to report it. */
	}
}

void
log_vmsg(enum log_level l, const char *fmt, va_list ap)
{
	char	msg[LOG_LINE_MAX];
	int	saved = errno;

	if (!log_enabled(l))
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	log_emit(l, NULL, NULL, 0, msg);
	errno = saved;
}

void
log_msg(enum log_level l, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(l, fmt, ap);
	va_end(ap);
}

void
log_ev(enum log_level l, const char *event, const struct log_kv *kv,
    size_t nkv, unsigned flags, const char *fmt, ...)
{
	char	msg[LOG_LINE_MAX];
	va_list	ap;
	int	saved = errno, json;

	if (!log_enabled(l))
		return;
	json = log_get_format() == LOG_FORMAT_JSON;
	/* json without msg: the message is not even formatted. */
	if (!json || (flags & LOG_EV_MSG)) {
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
	}
	if (json)
		log_emit(l, event, kv, nkv, (flags & LOG_EV_MSG) ? msg : NULL);
	else
		log_emit(l, NULL, NULL, 0, msg);
	errno = saved;
}

void
log_rl_init(struct log_rl *rl, unsigned burst, unsigned period_ms)
{
	memset(rl, 0, sizeof(*rl));
	pthread_mutex_init(&rl->mu, NULL);
	rl->burst = burst;
	rl->period_ms = period_ms;
}

void
log_rl_destroy(struct log_rl *rl)
{
	pthread_mutex_destroy(&rl->mu);
}

/* FNV-1a of s without its digits; never 0 (0 marks a free slot). */
static uint64_t
log_rl_hash(const char *s)
{
	uint64_t h = FNV1A64_INIT;

	for (; *s != '\0'; s++)
		if (!isdigit((unsigned char)*s))
			h = fnv1a64_byte(h, (unsigned char)*s);
	return h != 0 ? h : 1;
}

/* What a kind dropped in its period, as one line; the kind stays. */
static void
log_rl_report(const struct log_rl *rl, enum log_level l,
    const struct log_rl_kind *k)
{
	if (k->dropped > 0)
		log_msg(l, "%s [%" PRIu64 " more like this within %u s]",
		    k->last, k->dropped, (rl->period_ms + 999) / 1000);
}

/*
 * The slot of hash h: its own, else a free one, else the least recently
 * seen one, whose count is reported first.
 */
static struct log_rl_kind *
log_rl_slot(struct log_rl *rl, enum log_level l, uint64_t h, int64_t now)
{
	struct log_rl_kind	*k, *old = &rl->v[0];
	size_t			 i;

	rl->seq++;
	for (i = 0; i < LOG_RL_KINDS; i++) {
		k = &rl->v[i];
		if (k->hash == h) {
			k->used = rl->seq;
			return k;
		}
		if (old->hash != 0 && (k->hash == 0 || k->used < old->used))
			old = k;
	}
	log_rl_report(rl, l, old);
	memset(old, 0, sizeof(*old));
	old->hash = h;
	old->since_ms = now;
	old->used = rl->seq;
	return old;
}

/*
 * buf (a formatted message) under rl's limit, written as event with kv
 * (NULL: a plain line).
 */
static int
log_rl_put(struct log_rl *rl, enum log_level l, const char *event,
    const struct log_kv *kv, size_t nkv, unsigned flags, const char *buf)
{
	struct log_rl_kind	*k;
	struct timespec		 ts;
	size_t			 n;
	int64_t			 now;
	int			 wrote = 0, json;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	json = log_get_format() == LOG_FORMAT_JSON;
	pthread_mutex_lock(&rl->mu);
	k = log_rl_slot(rl, l, log_rl_hash(buf), now);
	if (now - k->since_ms >= (int64_t)rl->period_ms) {
		log_rl_report(rl, l, k);
		k->since_ms = now;
		k->n = 0;
		k->dropped = 0;
	}
	if (k->n < rl->burst) {
		k->n++;
		if (event != NULL && json)
			log_emit(l, event, kv, nkv,
			    (flags & LOG_EV_MSG) ? buf : NULL);
		else
			log_emit(l, NULL, NULL, 0, buf);
		wrote = 1;
	} else {
		k->dropped++;
		n = strlen(buf);	/* cut to fit */
		if (n >= sizeof(k->last))
			n = sizeof(k->last) - 1;
		memcpy(k->last, buf, n);
		k->last[n] = '\0';
	}
	pthread_mutex_unlock(&rl->mu);
	return wrote;
}

int
log_rl_msg(struct log_rl *rl, enum log_level l, const char *fmt, ...)
{
	va_list	ap;
	char	buf[LOG_LINE_MAX];
	int	wrote, saved = errno;

	if (!log_enabled(l))
		return 0;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	wrote = log_rl_put(rl, l, NULL, NULL, 0, 0, buf);
	errno = saved;
	return wrote;
}

int
log_rl_ev(struct log_rl *rl, enum log_level l, const char *event,
    const struct log_kv *kv, size_t nkv, unsigned flags, const char *fmt,
    ...)
{
	va_list	ap;
	char	buf[LOG_LINE_MAX];
	int	wrote, saved = errno;

	if (!log_enabled(l))
		return 0;
	/* Formatted in both formats: the kind is the message's. */
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	wrote = log_rl_put(rl, l, event, kv, nkv, flags, buf);
	errno = saved;
	return wrote;
}
