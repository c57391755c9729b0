/*
 * health_flap: transitions logged one by one, flapping summarised
 * (health_flap.h says the rule).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "health_flap.h"
#include "health_state.h"

void
hc_flap_init(struct hc_flap *f)
{
	memset(f, 0, sizeof(*f));
	f->state = HC_UNKNOWN;
}

/* More than HC_FLAP_MAX transitions in the window ending at now? */
static int
flap_rate_high(const struct hc_flap *f, int64_t now)
{
	/* Full, head is the oldest of the last HC_FLAP_MAX + 1. */
	return f->n == HC_FLAP_MAX + 1 &&
	    f->at[f->head] > now - HC_FLAP_WINDOW_MS;
}

static void
flap_push(struct hc_flap *f, int64_t now)
{
	f->at[f->head] = now;
	f->head = (f->head + 1) % (HC_FLAP_MAX + 1);
	if (f->n < HC_FLAP_MAX + 1)
		f->n++;
}

/* ": reason", or "" without one. */
static void
flap_why(const struct hc_flap *f, char *buf, size_t len)
{
	if (f->reason[0] == '\0')
		buf[0] = '\0';
	else
		snprintf(buf, len, ": %s", f->reason);
}

/* "N transitions in Ts, now STATE: reason". */
static void
flap_summary(const struct hc_flap *f, const char *name, uint32_t n,
    int64_t ms, char *line, size_t len)
{
	char	why[HC_REASON_MAX + 2];

	if (ms < 0)
		ms = 0;
	flap_why(f, why, sizeof(why));
	snprintf(line, len, "endpoint %s flapping: %u transitions in "
	    "%lld.%llds, now %s%s", name, n, (long long)(ms / 1000),
	    (long long)(ms % 1000 / 100), hc_health_name(f->state), why);
}

int
hc_flap_note(struct hc_flap *f, const char *name, int64_t now,
    enum hc_health to, const char *reason, char *line, size_t len)
{
	char		why[HC_REASON_MAX + 2];
	uint32_t	n;

	f->state = to;
	snprintf(f->reason, sizeof(f->reason), "%s", reason ? reason : "");
	flap_push(f, now);
	if (f->flapping && now - f->since_ms >= HC_FLAP_WINDOW_MS) {
		/* A whole window without a transition: calm again, so this
		   one is judged afresh below. */
		if (f->count == 0)
			f->flapping = 0;
		else {
			n = f->count + 1;
			flap_summary(f, name, n, now - f->since_ms, line, len);
			f->since_ms = now;
			f->count = 0;
			return 1;
		}
	}
	if (f->flapping) {
		f->count++;
		return 0;
	}
	if (flap_rate_high(f, now)) {
		f->flapping = 1;
		f->since_ms = now;
		f->count = 0;
		flap_summary(f, name, HC_FLAP_MAX + 1, now - f->at[f->head],
		    line, len);
		return 1;
	}
	flap_why(f, why, sizeof(why));
	snprintf(line, len, "endpoint %s is %s%s", name, hc_health_name(to),
	    why);
	return 1;
}

int
hc_flap_tick(struct hc_flap *f, const char *name, int64_t now, char *line,
    size_t len)
{
	char	why[HC_REASON_MAX + 2];

	if (!f->flapping || now - f->since_ms < HC_FLAP_WINDOW_MS)
		return 0;
	if (f->count == 0) {
		f->flapping = 0;
		flap_why(f, why, sizeof(why));
		snprintf(line, len, "endpoint %s stopped flapping, now %s%s",
		    name, hc_health_name(f->state), why);
		return 1;
	}
	flap_summary(f, name, f->count, now - f->since_ms, line, len);
	f->since_ms = now;
	f->count = 0;
	return 1;
}
