#include "config.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

/* Set at startup (and by a later reload); read by every thread. */
static _Atomic int log_level = LOG_LEVEL_INFO;

static const char *const log_names[] = {
	"error", "warning", "info", "debug",
};

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
log_vmsg(enum log_level l, const char *fmt, va_list ap)
{
	char		 buf[LOG_LINE_MAX];
	struct timespec	 ts;
	struct tm	 tm;
	size_t		 n;
	int		 k, saved = errno;

	if (!log_enabled(l))
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	k = snprintf(buf + n, sizeof(buf) - n, ".%03ldZ %s: ",
	    ts.tv_nsec / 1000000, log_names[l]);
	if (k > 0)
		n += (size_t)k;
	k = vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
	if (k > 0)
		n += (size_t)k;
	if (n > sizeof(buf) - 1)
		n = sizeof(buf) - 1;
	buf[n++] = '\n';
	/* One write: a line is never split between threads. */
	if (write(STDERR_FILENO, buf, n) < 0) {
		/* Nowhere left to report it. */
	}
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
