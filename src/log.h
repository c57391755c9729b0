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

#include <stdarg.h>

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

#define log_error(...)	log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...)	log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)

#endif
