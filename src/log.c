#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hash.h"
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

int
log_rl_msg(struct log_rl *rl, enum log_level l, const char *fmt, ...)
{
	struct log_rl_kind	*k;
	struct timespec		 ts;
	va_list			 ap;
	char			 buf[LOG_LINE_MAX];
	size_t			 n;
	int64_t			 now;
	int			 wrote = 0, saved = errno;

	if (!log_enabled(l))
		return 0;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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
		log_msg(l, "%s", buf);
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
	errno = saved;
	return wrote;
}
