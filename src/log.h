/*
 * log: timestamped, leveled lines on stderr.
 *
 * Every line is formatted into one buffer and written with a single
 * write(2), so lines from several threads never interleave.  The level
 * is set once at startup, before any thread starts; it is the one
 * piece of process-wide state here, kept as an atomic so a later
 * reload may change it.
 */
#ifndef SVCPROXY_LOG_H
#define SVCPROXY_LOG_H

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>

enum log_level {
	LOG_LEVEL_ERROR,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

#define LOG_LINE_MAX	1024	/* longer lines are cut */

void	 log_set_level(enum log_level);
int	 log_enabled(enum log_level);
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

#define log_error(...)	log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...)	log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)

#endif
