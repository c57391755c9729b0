#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "health_state.h"

#define HC_STATUS_MIN	100
#define HC_STATUS_MAX	599

const char *
hc_kind_name(enum hc_kind k)
{
	switch (k) {
	case HC_NONE:	return "none";
	case HC_TCP:		return "tcp";
	case HC_HTTP:	return "http";
	case HC_HTTPS:	return "https";
	}
	return "none";
}

int
hc_kind_parse(const char *s)
{
	static const enum hc_kind	 all[] = { HC_NONE, HC_TCP,
	    HC_HTTP, HC_HTTPS };
	size_t				 i;

	for (i = 0; s != NULL && i < sizeof(all) / sizeof(all[0]); i++)
		if (strcmp(s, hc_kind_name(all[i])) == 0)
			return all[i];
	return -1;
}

const char *
hc_duration(uint32_t ms, char *buf, size_t len)
{
	char		 frac[8] = "";
	unsigned	 h = ms / 3600000, m = ms / 60000 % 60;
	unsigned	 sec = ms / 1000 % 60, rest = ms % 1000;
	size_t		 n;

	if (ms == 0)
		return "0s";
	if (ms < 1000) {
		snprintf(buf, len, "%ums", ms);
		return buf;
	}
	if (rest != 0) {
		snprintf(frac, sizeof(frac), ".%03u", rest);
		for (n = strlen(frac); frac[n - 1] == '0'; n--)
			frac[n - 1] = '\0';
	}
	if (h > 0)
		snprintf(buf, len, "%uh%um%u%ss", h, m, sec, frac);
	else if (m > 0)
		snprintf(buf, len, "%um%u%ss", m, sec, frac);
	else
		snprintf(buf, len, "%u%ss", sec, frac);
	return buf;
}

void
hc_fsm_init(struct hc_fsm *f, unsigned rise, unsigned fall)
{
	if (rise < 1)
		rise = 1;
	if (rise > HC_RISE_MAX)
		rise = HC_RISE_MAX;
	if (fall < 1)
		fall = 1;
	if (fall > HC_RISE_MAX)
		fall = HC_RISE_MAX;
	f->rise = (uint8_t)rise;
	f->fall = (uint8_t)fall;
	f->health = f->rise;
	f->state = HC_UNKNOWN;
}

int
hc_fsm_feed(struct hc_fsm *f, int ok)
{
	unsigned	 top = (unsigned)f->rise + f->fall - 1;
	enum hc_health	 was = f->state;

	if (ok) {
		if (f->health < top && ++f->health >= f->rise)
			f->health = (uint16_t)top;
	} else {
		if (f->health > f->rise)
			f->health--;
		else
			f->health = 0;
	}
	/* The counter sits at rise or above only when up (or unknown,
	   which has not moved yet: a result always moves it). */
	f->state = f->health >= f->rise ? HC_UP : HC_DOWN;
	return f->state != was;
}

const char *
hc_health_name(enum hc_health h)
{
	switch (h) {
	case HC_UNKNOWN:	return "unknown";
	case HC_UP:		return "up";
	case HC_DOWN:		return "down";
	}
	return "unknown";
}

uint32_t
hc_eject_ms(uint32_t ejections, uint32_t base_ms, uint32_t max_ms)
{
	uint64_t	 ms;

	if (ejections == 0)
		ejections = 1;
	ms = (uint64_t)base_ms * ejections;
	return ms > max_ms ? max_ms : (uint32_t)ms;
}

uint32_t
hc_slow_start_weight(uint32_t weight, int64_t since_up_ms,
    uint32_t window_ms)
{
	uint64_t	 w, min;

	if (window_ms == 0 || since_up_ms >= (int64_t)window_ms)
		return weight;
	if (since_up_ms < 0)
		since_up_ms = 0;
	w = (uint64_t)weight * (uint64_t)since_up_ms / window_ms;
	min = weight / 10;
	if (min == 0 && weight > 0)
		min = 1;
	return (uint32_t)(w > min ? w : min);
}

uint32_t
hc_first_delay_ms(uint32_t interval_ms, uint32_t rnd)
{
	return interval_ms == 0 ? 0 : rnd % interval_ms;
}

uint32_t
hc_next_delay_ms(uint32_t interval_ms, uint32_t rnd)
{
	uint32_t	 spread = interval_ms / HC_SPREAD_DIV;
	uint64_t	 d;

	if (spread == 0)
		return interval_ms == 0 ? 1 : interval_ms;
	/* rnd picks one of 2 * spread + 1 offsets around the interval. */
	d = (uint64_t)interval_ms - spread + rnd % (2 * (uint64_t)spread + 1);
	return d == 0 ? 1 : (uint32_t)d;
}

static void
status_add(struct hc_status_set *s, int lo, int hi)
{
	int	 c;

	for (c = lo; c <= hi; c++)
		s->bits[(c - HC_STATUS_MIN) / 64] |=
		    (uint64_t)1 << ((c - HC_STATUS_MIN) % 64);
}

/* One code at *p, skipping blanks around it; -1 when there is none. */
static int
status_code(const char **p)
{
	const char	*s = *p;
	int		 code = 0, n = 0;

	while (*s == ' ' || *s == '\t')
		s++;
	while (isdigit((unsigned char)*s) && n < 4) {
		code = code * 10 + (*s++ - '0');
		n++;
	}
	if (n == 0 || n > 3)
		return -1;
	while (*s == ' ' || *s == '\t')
		s++;
	*p = s;
	return code;
}

int
hc_status_parse(const char *text, struct hc_status_set *set, char *err,
    size_t errlen)
{
	const char	*p = text;
	int		 lo, hi;

	memset(set, 0, sizeof(*set));
	for (;;) {
		if ((lo = status_code(&p)) < 0)
			goto bad;
		hi = lo;
		if (*p == '-') {
			p++;
			if ((hi = status_code(&p)) < 0)
				goto bad;
		}
		if (lo < HC_STATUS_MIN || hi > HC_STATUS_MAX) {
			snprintf(err, errlen, "status codes are %d-%d",
			    HC_STATUS_MIN, HC_STATUS_MAX);
			return -1;
		}
		if (hi < lo) {
			snprintf(err, errlen, "range %d-%d ends below its "
			    "start", lo, hi);
			return -1;
		}
		status_add(set, lo, hi);
		if (*p == '\0')
			return 0;
		if (*p++ != ',')
			goto bad;
	}
bad:
	snprintf(err, errlen, "must be status codes or ranges separated by "
	    "commas, such as \"200-399\" or \"200,204\"");
	return -1;
}

int
hc_status_has(const struct hc_status_set *s, int code)
{
	if (code < HC_STATUS_MIN || code > HC_STATUS_MAX)
		return 0;
	return (s->bits[(code - HC_STATUS_MIN) / 64] >>
	    ((code - HC_STATUS_MIN) % 64)) & 1;
}

int
hc_http_status(const char *buf, size_t len, int *code)
{
	static const char	 prefix[] = "HTTP/1.";
	size_t			 i, np = sizeof(prefix) - 1;

	/* "HTTP/1.x ddd" and one more byte (blank or line end) decide;
	   every prefix of that is checked as it arrives. */
	for (i = 0; i < len && i < 13; i++) {
		char	 c = buf[i];
		int	 good;

		if (i < np)
			good = c == prefix[i];
		else if (i == np)
			good = isdigit((unsigned char)c);
		else if (i == np + 1)
			good = c == ' ';
		else if (i < np + 5)
			good = isdigit((unsigned char)c);
		else
			good = c == ' ' || c == '\r' || c == '\n';
		if (!good)
			return -1;
	}
	if (len < 13)
		return 0;
	*code = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
	return 1;
}
