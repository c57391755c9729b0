/*
 * log: timestamped, leveled lines on stderr.
 *
 * Every line is formatted into one buffer and written with a single
 * write(2), so lines from several threads never interleave.  The level
 * and the format (ProxyConfig spec.logFormat) are set at startup,
 * before any thread starts, and again by each reload; they and the
 * journal flag (set once at startup) are the process-wide state here,
 * kept as atomics.
 *
 * Two formats.  text: "2024-11-25T04:03:00.123Z info: msg".  json: one
 * object per line, its keys stable: time (RFC 3339, milliseconds, UTC),
 * level, event, then the event's own keys (log_ev), and msg, the text
 * line's message.  A line from log_msg is event "log" with msg only.
 * Under systemd with stderr on the journal (JOURNAL_STREAM names
 * stderr's device and inode), each line starts with its syslog
 * priority, "<3>" to "<7>" (sd-daemon(3)), so the journal files it at
 * the right priority; the rest of the line is unchanged.
 */
#ifndef SVCPROXY_LOG_H
#define SVCPROXY_LOG_H

#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

enum log_level {
	LOG_LEVEL_ERROR,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

#define LOG_LINE_MAX	1024	/* longer lines are cut */
#define LOG_JSON_MAX	4096	/* a JSON line, escapes included: cut
				   values keep it valid JSON */

enum log_format {
	LOG_FORMAT_TEXT,
	LOG_FORMAT_JSON,
};

void	 log_set_level(enum log_level);
int	 log_enabled(enum log_level);
void	 log_set_format(enum log_format);
enum log_format log_get_format(void);
/*
 * Startup, before threads: prefix lines with "<N>" when env (the value
 * of JOURNAL_STREAM, may be NULL) is "DEV:INODE" of fd, as systemd sets
 * it for a unit whose stderr is the journal.  Returns the flag set.
 */
int	 log_journal_init(const char *env, int fd);
int	 log_on_journal(void);

/*
 * A structured event's keys, for the json format (text ignores them).
 * A LOG_KV_STR whose s is NULL is left out; LOG_KV_BYTES writes
 * "bytes":{"up":u,"down":u2}.
 */
enum log_kv_type {
	LOG_KV_STR,
	LOG_KV_U64,
	LOG_KV_BYTES,
};

struct log_kv {
	const char		*key;	/* static */
	enum log_kv_type	 type;
	const char		*s;	/* the caller's, for the call */
	uint64_t		 u;
	uint64_t		 u2;
};

#define LOG_STR(k, v)	((struct log_kv){ (k), LOG_KV_STR, (v), 0, 0 })
#define LOG_U64(k, v)	((struct log_kv){ (k), LOG_KV_U64, NULL, (v), 0 })
#define LOG_BYTES(up, down) \
	((struct log_kv){ "bytes", LOG_KV_BYTES, NULL, (up), (down) })

#define LOG_NKV(a)	(sizeof(a) / sizeof((a)[0]))

/* log_ev's flags: also write the message as "msg" in json. */
#define LOG_EV_MSG	0x1

/*
 * One event: text writes fmt's message exactly as log_msg does; json
 * writes time, level, event, kv in order, and msg when flags has
 * LOG_EV_MSG.  errno is preserved.
 */
void	 log_ev(enum log_level, const char *event, const struct log_kv *,
	    size_t nkv, unsigned flags, const char *fmt, ...)
	    __attribute__((format(printf, 6, 7)));

/*
 * The formatting, pure (for the tests): one whole line into buf (len
 * at least 64), newline included; returns its length.  ts is the
 * wall-clock time, msg the message (NULL in json: none), journal 1 for
 * the "<N>" prefix.
 */
size_t	 log_format_line(char *buf, size_t len, enum log_format,
	    int journal, enum log_level, const struct timespec *ts,
	    const char *event, const struct log_kv *, size_t nkv,
	    const char *msg);
/*
 * s as a JSON string, quotes included, into buf at most len bytes with
 * its NUL (len >= 3): control bytes escaped, invalid UTF-8 as U+FFFD,
 * cut at a character when it does not fit.  Returns the length.
 */
size_t	 log_json_str(char *buf, size_t len, const char *s);
/* "2024-11-25T04:03:00.123Z info: msg\n"; errno is preserved. */
void	 log_msg(enum log_level, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	 log_vmsg(enum log_level, const char *fmt, va_list)
	    __attribute__((format(printf, 2, 0)));

/*
 * A rate limit for messages that can repeat without bound (a library's
 * complaint on every failed accept(2), one line per evicted client): of
 * each kind, the first `burst` lines of a period are written, the rest
 * only counted, and the first line of a kind after its period ends
 * reports that count.  A kind is a message with its digits left out, so
 * "fd 12" and "fd 13" are one kind.  Any thread; the mutex orders them.
 * Owned by whoever logs through it (struct adm has one; main.c has
 * libevent's).
 */
#define LOG_RL_KINDS	8	/* kinds followed at once; the least
				   recently seen makes room */
#define LOG_RL_TEXT	160	/* of a kind's last dropped line, kept */

struct log_rl_kind {
	uint64_t		 hash;		/* 0: free slot */
	int64_t			 since_ms;	/* period start, monotonic */
	uint64_t		 used;		/* rl->seq when last seen */
	uint32_t		 n;		/* lines written this period */
	uint64_t		 dropped;	/* lines only counted */
	char			 last[LOG_RL_TEXT];	/* a dropped one */
};

struct log_rl {
	pthread_mutex_t		 mu;
	unsigned		 burst;
	unsigned		 period_ms;
	uint64_t		 seq;		/* messages seen */
	struct log_rl_kind	 v[LOG_RL_KINDS];
};

void	 log_rl_init(struct log_rl *, unsigned burst, unsigned period_ms);
void	 log_rl_destroy(struct log_rl *);
/* log_msg under rl's limit; returns 1 when written, 0 when counted. */
int	 log_rl_msg(struct log_rl *, enum log_level, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* log_ev under rl's limit (the kind is the message's); as log_rl_msg. */
int	 log_rl_ev(struct log_rl *, enum log_level, const char *event,
	    const struct log_kv *, size_t nkv, unsigned flags,
	    const char *fmt, ...)
	    __attribute__((format(printf, 7, 8)));

#define log_error(...)	log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...)	log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)

#endif
