#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "health_log.h"
#include "snapshot.h"

#define HC_LOG_BURST		20	/* lines of a kind per period */
#define HC_LOG_PERIOD_MS	10000

void
hc_log_init(struct hc_log *l, struct hc_celltab *cells)
{
	memset(l, 0, sizeof(*l));
	l->cells = cells;
	pthread_mutex_init(&l->mu, NULL);
	log_rl_init(&l->rl, HC_LOG_BURST, HC_LOG_PERIOD_MS);
}

static void
names_free(struct hc_log_name *v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		free(v[i].text);
		free(v[i].svc);
	}
	free(v);
}

void
hc_log_free(struct hc_log *l)
{
	names_free(l->names, l->nnames);
	l->names = NULL;
	l->nnames = 0;
	pthread_mutex_destroy(&l->mu);
	log_rl_destroy(&l->rl);
}

static int
name_cmp(const void *pa, const void *pb)
{
	const struct hc_log_name	*a = pa, *b = pb;

	return a->cell < b->cell ? -1 : a->cell > b->cell;
}

/* One entry per cell, the first port's name and how many more. */
static size_t
names_merge(struct hc_log_name *v, size_t n, size_t *more)
{
	size_t	i, k = 0;

	for (i = 0; i < n; i++) {
		if (k > 0 && v[k - 1].cell == v[i].cell) {
			more[k - 1]++;
			free(v[i].text);
			free(v[i].svc);
			continue;
		}
		more[k] = 0;
		v[k++] = v[i];
	}
	return k;
}

/*
 * One line of the log: line as the text format has it; the json format
 * has event, endpoint, service (empty: none named), state and reason
 * (NULL: left out) as keys, and line as msg.
 */
static void
hc_log_line(struct hc_log *l, enum log_level lvl, const char *event,
    const char *ep, const char *svc, const char *state, const char *reason,
    const char *line)
{
	const struct log_kv kv[] = {
		LOG_STR("endpoint", ep),
		LOG_STR("service", svc[0] != '\0' ? svc : NULL),
		LOG_STR("state", state),
		LOG_STR("reason", reason != NULL && reason[0] != '\0' ?
		    reason : NULL),
	};

	log_rl_ev(&l->rl, lvl, event, kv, LOG_NKV(kv), LOG_EV_MSG, "%s",
	    line);
}

/*
 * A cell named before keeps its flap state (both tables are sorted by
 * cell); a cell no longer named says its last summary now.  Under mu.
 */
static void
flaps_carry(struct hc_log *l, struct hc_log_name *v, size_t n,
    const struct hc_log_name *old, size_t nold)
{
	char	 line[HC_FLAP_LINE_MAX], ep[128];
	size_t	 i, j = 0;
	int64_t	 now = clock_mono_ms();

	for (i = 0; i < n; i++) {
		hc_flap_init(&v[i].flap);
		while (j < nold && old[j].cell < v[i].cell)
			j++;
		if (j < nold && old[j].cell == v[i].cell)
			v[i].flap = old[j].flap;
		if (v[i].text != NULL && hc_flap_tick(&v[i].flap, v[i].text,
		    now, line, sizeof(line))) {
			snprintf(ep, sizeof(ep), "%.*s",
			    (int)strcspn(v[i].cell->key, " "), v[i].cell->key);
			hc_log_line(l, LOG_LEVEL_INFO, "health_flap", ep,
			    v[i].svc != NULL ? v[i].svc : "", NULL, NULL, line);
		}
	}
}

int
hc_log_names(struct hc_log *l, const struct snap *s)
{
	struct hc_log_name	*v, *old;
	size_t			*more, i, j, n = 0, k, nold;
	char			 buf[256];

	for (i = 0; i < s->nports; i++)
		for (j = 0; j < s->ports[i].lb.neps; j++)
			n += s->ports[i].lb.eps[j].hc != NULL;
	if ((v = calloc(n + 1, sizeof(*v))) == NULL ||
	    (more = calloc(n + 1, sizeof(*more))) == NULL) {
		free(v);
		return -1;
	}
	for (i = k = 0; i < s->nports; i++) {
		const struct snap_port *sp = &s->ports[i];

		for (j = 0; j < sp->lb.neps; j++) {
			if (sp->lb.eps[j].hc == NULL)
				continue;
			snprintf(buf, sizeof(buf), "%s (%s/%s",
			    sp->lb.eps[j].name, sp->label,
			    proto_name(sp->proto));
			v[k].cell = sp->lb.eps[j].hc;
			if ((v[k].text = strdup(buf)) == NULL ||
			    (v[k].svc = strdup(strrchr(buf, '(') + 1)) ==
			    NULL) {
				names_free(v, k + 1);
				free(more);
				return -1;
			}
			k++;
		}
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), name_cmp);
	n = names_merge(v, n, more);
	/* The closing parenthesis, with the other ports sharing it. */
	for (i = 0; i < n; i++) {
		if (more[i] > 0)
			snprintf(buf, sizeof(buf), "%s and %zu more)",
			    v[i].text, more[i]);
		else
			snprintf(buf, sizeof(buf), "%s)", v[i].text);
		free(v[i].text);
		v[i].text = strdup(buf);	/* NULL: the key is named */
	}
	free(more);
	pthread_mutex_lock(&l->mu);
	old = l->names;
	nold = l->nnames;
	flaps_carry(l, v, n, old, nold);
	l->names = v;
	l->nnames = n;
	pthread_mutex_unlock(&l->mu);
	names_free(old, nold);
	return 0;
}

void
hc_log_notify(void *arg, const struct hc_cell *c, enum hc_health from,
    enum hc_health to, const char *reason)
{
	struct hc_log		*l = arg;
	struct hc_log_name	 key, *n;
	char			 name[256], line[HC_FLAP_LINE_MAX], ep[128];
	char			 svc[256] = "";
	int64_t			 now = clock_mono_ms();
	int			 say = 1, tick = 0;

	(void)from;
	hc_celltab_changed(l->cells);
	if (l->on_change != NULL)
		l->on_change(l->on_change_arg, to);
	key.cell = c;
	snprintf(ep, sizeof(ep), "%.*s", (int)strcspn(c->key, " "), c->key);
	pthread_mutex_lock(&l->mu);
	n = l->nnames == 0 ? NULL : bsearch(&key, l->names, l->nnames,
	    sizeof(*l->names), name_cmp);
	/* A cell no snapshot names any more: its key's address. */
	if (n != NULL && n->text != NULL) {
		snprintf(name, sizeof(name), "%s", n->text);
		snprintf(svc, sizeof(svc), "%s", n->svc);
		/* A summary due from the last window first, then this
		   transition, if it is not one a flapping endpoint only
		   counts. */
		tick = hc_flap_tick(&n->flap, name, now, line, sizeof(line));
		if (tick)
			hc_log_line(l, LOG_LEVEL_INFO, "health_flap", ep, svc,
			    NULL, NULL, line);
		say = hc_flap_note(&n->flap, name, now, to, reason, line,
		    sizeof(line));
	} else {
		snprintf(name, sizeof(name), "%.*s",
		    (int)strcspn(c->key, " "), c->key);
		snprintf(line, sizeof(line), "endpoint %s is %s%s%s", name,
		    hc_health_name(to),
		    reason != NULL && reason[0] != '\0' ? ": " : "",
		    reason != NULL ? reason : "");
	}
	pthread_mutex_unlock(&l->mu);
	if (say)
		hc_log_line(l, to == HC_DOWN ? LOG_LEVEL_WARN : LOG_LEVEL_INFO,
		    "health", ep, svc, hc_health_name(to), reason, line);
}
