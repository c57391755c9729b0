#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/eventfd.h>

#include <arpa/inet.h>

#include <event2/event.h>

#include "clock.h"
#include "health.h"

/* One target being checked; the health thread's alone. */
struct hc_check {
	struct hc_engine	*e;
	struct hc_cell		*cell;		/* celltab */
	struct sockaddr_storage	 sa;
	socklen_t		 salen;
	struct hc_settings	 set;		/* strings in strs */
	char			*strs;		/* owned */
	struct probe_params	 pp;		/* tls_ctx: the engine's */
	struct probe		 probe;
	struct event		 timer;
	struct hc_fsm		 fsm;
	int64_t			 due_ms;	/* monotonic */
	int64_t			 started_us;	/* monotonic */
	struct hc_check		*qnext;		/* wait queue */
	unsigned		 queued:1;
	unsigned		 keep:1;	/* in the new wanted set */
	unsigned		 timer_set:1;
};

/* A wanted target, copied: settings strings in strs (owned). */
struct hc_want {
	struct hc_cell		*cell;
	struct sockaddr_storage	 sa;
	socklen_t		 salen;
	struct hc_settings	 set;
	char			*strs;
};

struct hc_tls {
	char			*ca;		/* owned; NULL: no verify */
	void			*ctx;		/* owned; NULL: failed */
	char			 err[PROBE_REASON_MAX];
};

struct hc_engine {
	pthread_t		 thr;
	int			 started;
	struct event_base	*base;		/* owned */
	int			 wake_fd;	/* eventfd, owned */
	struct event		 wake_ev;

	pthread_mutex_t		 mu;		/* guards the next four */
	struct hc_want		*pending;	/* owned; NULL: none */
	size_t			 npending;
	int			 has_pending;
	int			 stop;

	struct hc_check		**checks;	/* owned; by cell */
	size_t			 nchecks;
	struct hc_check		*qhead, *qtail;	/* waiting for a slot */
	unsigned		 max_inflight;
	struct hc_tls		**tls;		/* owned, each owned */
	size_t			 ntls;
	uint64_t		 rnd;
	hc_notify_fn		*notify;
	void			*notify_arg;

	_Atomic uint64_t	 st_started;
	_Atomic uint64_t	 st_queued;
	_Atomic uint64_t	 st_late_max;
	_Atomic uint64_t	 st_late_over;
	_Atomic uint32_t	 st_targets;
	_Atomic uint32_t	 st_inflight;
};

static void	 hc_run(struct hc_check *);

/* The latency histogram bucket of ms (HC_LAT_BOUNDS_MS). */
static size_t
lat_bucket(int64_t ms)
{
	static const int64_t	 bounds[] = HC_LAT_BOUNDS_MS;
	size_t			 i;

	for (i = 0; i < sizeof(bounds) / sizeof(bounds[0]); i++)
		if (ms <= bounds[i])
			return i;
	return HC_LAT_BUCKETS - 1;
}

static void
cell_publish(struct hc_cell *c, enum hc_health st, int ok,
    const char *reason, int64_t latency_us)
{
	uint32_t	 s = atomic_load_explicit(&c->seq, memory_order_relaxed);
	size_t		 i;
	int64_t		 now = clock_wall_ms();

	atomic_store_explicit(&c->seq, s + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	for (i = 0; i < PROBE_REASON_MAX; i++) {
		atomic_store_explicit(&c->reason[i], reason[i],
		    memory_order_relaxed);
		if (reason[i] == '\0')
			break;
	}
	atomic_store_explicit(&c->last_ms, now, memory_order_relaxed);
	if (ok)
		atomic_store_explicit(&c->last_ok_ms, now,
		    memory_order_relaxed);
	if (st == HC_UP && atomic_load_explicit(&c->state,
	    memory_order_relaxed) != HC_UP)
		atomic_store_explicit(&c->up_since_ms, now,
		    memory_order_relaxed);
	atomic_store_explicit(&c->last_latency_us, latency_us > UINT32_MAX ?
	    UINT32_MAX : (uint32_t)latency_us, memory_order_relaxed);
	/* Rounded up: a bucket counts checks no slower than its bound. */
	atomic_fetch_add_explicit(&c->latency[lat_bucket((latency_us + 999) /
	    1000)], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&c->latency_sum_us, (uint64_t)latency_us,
	    memory_order_relaxed);
	atomic_fetch_add_explicit(&c->checks, 1, memory_order_relaxed);
	if (!ok)
		atomic_fetch_add_explicit(&c->failures, 1,
		    memory_order_relaxed);
	/* Everything above under the count: /metrics reads checks and
	   failures, the histogram's buckets and sum, as one. */
	atomic_store_explicit(&c->seq, s + 2, memory_order_release);
	atomic_store_explicit(&c->state, st, memory_order_release);
}

/* ---- settings copies ---- */

/* Copy s's strings into one block; d's point into *strs. */
static int
settings_copy(struct hc_settings *d, const struct hc_settings *s,
    char **strs)
{
	const char	*src[6] = { s->method, s->path, s->host, s->expect,
	    s->sni, s->ca };
	const char	**dst[6] = { &d->method, &d->path, &d->host,
	    &d->expect, &d->sni, &d->ca };
	size_t		 i, len = 0;
	char		*p;

	*d = *s;
	for (i = 0; i < 6; i++)
		len += src[i] != NULL ? strlen(src[i]) + 1 : 0;
	if ((*strs = p = malloc(len + 1)) == NULL)
		return -1;
	for (i = 0; i < 6; i++) {
		*dst[i] = NULL;
		if (src[i] == NULL)
			continue;
		len = strlen(src[i]) + 1;
		memcpy(p, src[i], len);
		*dst[i] = p;
		p += len;
	}
	return 0;
}

static void
wants_free(struct hc_want *w, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		free(w[i].strs);
	free(w);
}

/* ---- time and randomness ---- */

static uint32_t
rnd32(struct hc_engine *e)
{
	/* xorshift64*: the spread of checks, not secrets. */
	e->rnd ^= e->rnd >> 12;
	e->rnd ^= e->rnd << 25;
	e->rnd ^= e->rnd >> 27;
	return (uint32_t)((e->rnd * 0x2545F4914F6CDD1DULL) >> 32);
}

static void
timer_at(struct hc_check *c, int64_t due)
{
	int64_t		 d = due - clock_mono_ms();
	struct timeval	 tv;

	if (d < 0)
		d = 0;
	c->due_ms = due;
	tv.tv_sec = d / 1000;
	tv.tv_usec = (d % 1000) * 1000;
	evtimer_add(&c->timer, &tv);
	c->timer_set = 1;
}

/* ---- TLS contexts, one per CA file, made on the health thread ---- */

/*
 * The context for ca (NULL: no verification), made on first use; NULL
 * with *why (valid until the next apply) when it cannot be made.
 */
static void *
tls_ctx(struct hc_engine *e, const char *ca, const char **why)
{
	struct hc_tls	*t, **v;
	size_t		 i;

	for (i = 0; i < e->ntls; i++) {
		t = e->tls[i];
		if ((t->ca == NULL) == (ca == NULL) &&
		    (ca == NULL || strcmp(t->ca, ca) == 0)) {
			*why = t->err;
			return t->ctx;
		}
	}
	*why = "out of memory";
	if ((v = reallocarray(e->tls, e->ntls + 1, sizeof(*v))) == NULL)
		return NULL;
	e->tls = v;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	if (ca != NULL && (t->ca = strdup(ca)) == NULL) {
		free(t);
		return NULL;
	}
	e->tls[e->ntls++] = t;
	t->ctx = probe_tls_ctx_new(ca, t->err, sizeof(t->err));
	*why = t->err;
	return t->ctx;
}

/* Forget the contexts that could not be made: a reload reads the CA
   files again.  The ones made stay, in use by running checks. */
static void
tls_forget_failed(struct hc_engine *e)
{
	size_t	 i, k = 0;

	for (i = 0; i < e->ntls; i++) {
		if (e->tls[i]->ctx != NULL) {
			e->tls[k++] = e->tls[i];
			continue;
		}
		free(e->tls[i]->ca);
		free(e->tls[i]);
	}
	e->ntls = k;
}

/* ---- one check's cycle ---- */

static void
hc_done(void *arg, int ok, const char *reason)
{
	struct hc_check		*c = arg;
	struct hc_engine	*e = c->e;
	enum hc_health		 from = c->fsm.state;
	struct hc_check		*next;
	int64_t			 now = clock_mono_ms(), due;
	int64_t			 latency_us = clock_mono_us() - c->started_us;

	atomic_fetch_sub_explicit(&e->st_inflight, 1, memory_order_relaxed);
	if (hc_fsm_feed(&c->fsm, ok)) {
		cell_publish(c->cell, c->fsm.state, ok, reason, latency_us);
		atomic_fetch_add_explicit(&c->cell->transitions, 1,
		    memory_order_relaxed);
		if (e->notify != NULL)
			e->notify(e->notify_arg, c->cell, from, c->fsm.state,
			    reason);
	} else
		cell_publish(c->cell, c->fsm.state, ok, reason, latency_us);

	/* The next check one (jittered) interval after this one was due;
	   a probe that ran longer than that starts the next at once. */
	due = c->due_ms + hc_next_delay_ms(c->set.interval_ms, rnd32(e));
	timer_at(c, due > now ? due : now);

	/* A slot is free: the longest waiting check takes it. */
	if ((next = e->qhead) != NULL) {
		if ((e->qhead = next->qnext) == NULL)
			e->qtail = NULL;
		next->qnext = NULL;
		next->queued = 0;
		hc_run(next);
	}
}

static void
hc_run(struct hc_check *c)
{
	struct hc_engine	*e = c->e;
	int64_t			 now = clock_mono_ms(), late = now - c->due_ms;
	uint64_t		 max;

	if (atomic_load_explicit(&e->st_inflight, memory_order_relaxed) >=
	    e->max_inflight) {
		c->queued = 1;
		if (e->qtail != NULL)
			e->qtail->qnext = c;
		else
			e->qhead = c;
		e->qtail = c;
		atomic_fetch_add_explicit(&e->st_queued, 1,
		    memory_order_relaxed);
		return;
	}
	if (late < 0)
		late = 0;
	max = atomic_load_explicit(&e->st_late_max, memory_order_relaxed);
	if ((uint64_t)late > max)
		atomic_store_explicit(&e->st_late_max, (uint64_t)late,
		    memory_order_relaxed);
	if ((uint64_t)late > c->set.interval_ms)
		atomic_fetch_add_explicit(&e->st_late_over, 1,
		    memory_order_relaxed);
	atomic_fetch_add_explicit(&e->st_started, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&e->st_inflight, 1, memory_order_relaxed);
	c->started_us = clock_mono_us();
	/* A CA file that cannot be read fails the check, saying why
	   (the probe reports it from the loop), rather than checking
	   without verification. */
	if (c->set.kind == HC_HTTPS && c->pp.tls_ctx == NULL)
		c->pp.tls_ctx = tls_ctx(e, c->set.ca, &c->pp.tls_err);
	probe_start(&c->probe, e->base, (struct sockaddr *)&c->sa, c->salen,
	    &c->pp, hc_done, c);
}

static void
hc_due(evutil_socket_t fd, short what, void *arg)
{
	struct hc_check	*c = arg;

	(void)fd;
	(void)what;
	c->timer_set = 0;
	hc_run(c);
}

static void
check_free(struct hc_check *c)
{
	struct hc_engine	*e = c->e;
	struct hc_check		**pp;

	if (c->probe.running) {
		probe_cancel(&c->probe);
		atomic_fetch_sub_explicit(&e->st_inflight, 1,
		    memory_order_relaxed);
	}
	if (c->timer_set)
		evtimer_del(&c->timer);
	if (c->queued) {
		struct hc_check	*prev = NULL;

		for (pp = &e->qhead; *pp != c; pp = &(*pp)->qnext)
			prev = *pp;
		*pp = c->qnext;
		if (e->qtail == c)
			e->qtail = prev;
	}
	free(c->strs);
	free(c);
}

/* A check for w, taking w's strings; NULL when out of memory. */
static struct hc_check *
check_new(struct hc_engine *e, struct hc_want *w)
{
	struct hc_check	*c;
	char		 err[PROBE_REASON_MAX];

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->e = e;
	c->cell = w->cell;
	c->sa = w->sa;
	c->salen = w->salen;
	c->set = w->set;
	c->strs = w->strs;
	w->strs = NULL;
	c->pp.kind = c->set.kind;
	c->pp.timeout_ms = c->set.timeout_ms;
	c->pp.method = c->set.method;
	c->pp.path = c->set.path;
	c->pp.host = c->set.host;
	c->pp.sni = c->set.sni;
	c->pp.proxy = c->set.proxy;
	if (hc_status_parse(c->set.expect != NULL ? c->set.expect :
	    "200-399", &c->pp.expect, err, sizeof(err)) == -1)
		hc_status_parse("200-399", &c->pp.expect, err, sizeof(err));
	hc_fsm_init(&c->fsm, c->set.rise, c->set.fall);
	/* A cell that already has a result (kept across a reload by the
	   snapshot, or shared) resumes from it. */
	if (atomic_load(&c->cell->state) == HC_DOWN) {
		c->fsm.state = HC_DOWN;
		c->fsm.health = 0;
	} else if (atomic_load(&c->cell->state) == HC_UP) {
		c->fsm.state = HC_UP;
		c->fsm.health = (uint16_t)(c->fsm.rise + c->fsm.fall - 1);
	}
	evtimer_assign(&c->timer, e->base, hc_due, c);
	timer_at(c, clock_mono_ms() + hc_first_delay_ms(c->set.interval_ms,
	    rnd32(e)));
	return c;
}

static int
want_cmp(const void *a, const void *b)
{
	const struct hc_want	*x = a, *y = b;

	return x->cell < y->cell ? -1 : x->cell > y->cell;
}

/* Diff the running checks against w (sorted here); w is consumed. */
static void
apply(struct hc_engine *e, struct hc_want *w, size_t n)
{
	struct hc_check	**next, *c;
	size_t		 i, j = 0, k = 0;

	tls_forget_failed(e);
	qsort(w, n, sizeof(*w), want_cmp);
	if ((next = calloc(n + 1, sizeof(*next))) == NULL) {
		wants_free(w, n);	/* keep checking the old set */
		return;
	}
	for (i = 0; i < n; i++) {
		if (i > 0 && w[i].cell == w[i - 1].cell)
			continue;	/* shared: one check */
		while (j < e->nchecks && e->checks[j]->cell < w[i].cell)
			check_free(e->checks[j++]);
		if (j < e->nchecks && e->checks[j]->cell == w[i].cell) {
			next[k++] = e->checks[j++];
			continue;
		}
		if ((c = check_new(e, &w[i])) != NULL)
			next[k++] = c;
	}
	while (j < e->nchecks)
		check_free(e->checks[j++]);
	free(e->checks);
	e->checks = next;
	e->nchecks = k;
	atomic_store_explicit(&e->st_targets, (uint32_t)k,
	    memory_order_relaxed);
	wants_free(w, n);
}

static void
hc_wake(evutil_socket_t fd, short what, void *arg)
{
	struct hc_engine	*e = arg;
	struct hc_want		*w;
	uint64_t		 v;
	size_t			 n;
	int			 has, stop;

	(void)what;
	if (read(fd, &v, sizeof(v)) == -1 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&e->mu);
	w = e->pending;
	n = e->npending;
	has = e->has_pending;
	stop = e->stop;
	e->pending = NULL;
	e->npending = 0;
	e->has_pending = 0;
	pthread_mutex_unlock(&e->mu);
	if (stop) {
		wants_free(w, n);
		event_base_loopbreak(e->base);
		return;
	}
	if (has)
		apply(e, w, n);
}

static void *
hc_thread(void *arg)
{
	struct hc_engine	*e = arg;

	event_base_dispatch(e->base);
	return NULL;
}

/* ---- the engine ---- */

struct hc_engine *
hc_engine_new(unsigned max_inflight, hc_notify_fn *notify, void *arg,
    char *err, size_t errlen)
{
	struct hc_engine	*e;

	if ((e = calloc(1, sizeof(*e))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	e->wake_fd = -1;
	pthread_mutex_init(&e->mu, NULL);
	e->max_inflight = max_inflight > 0 ? max_inflight : 1;
	e->notify = notify;
	e->notify_arg = arg;
	e->rnd = (uint64_t)clock_mono_ms() * 0x9E3779B97F4A7C15ULL ^
	    (uint64_t)getpid() ^ (uint64_t)(uintptr_t)e;
	if (e->rnd == 0)
		e->rnd = 1;
	if ((e->base = event_base_new()) == NULL ||
	    (e->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1) {
		snprintf(err, errlen, "health checks: %s",
		    e->base == NULL ? "cannot create an event loop" :
		    strerror(errno));
		hc_engine_free(e);
		return NULL;
	}
	event_assign(&e->wake_ev, e->base, e->wake_fd, EV_READ | EV_PERSIST,
	    hc_wake, e);
	event_add(&e->wake_ev, NULL);
	return e;
}

int
hc_engine_start(struct hc_engine *e, char *err, size_t errlen)
{
	int	 rc;

	if ((rc = pthread_create(&e->thr, NULL, hc_thread, e)) != 0) {
		snprintf(err, errlen, "health checks: cannot start a thread: "
		    "%s", strerror(rc));
		return -1;
	}
	e->started = 1;
	return 0;
}

static void
wake(struct hc_engine *e)
{
	uint64_t	 one = 1;

	/* Full only after 2^64-1 wakes: the thread reads them all. */
	(void)!write(e->wake_fd, &one, sizeof(one));
}

int
hc_engine_want(struct hc_engine *e, const struct hc_target *t, size_t n)
{
	struct hc_want	*w, *old;
	size_t		 i, nold;

	if ((w = calloc(n + 1, sizeof(*w))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		w[i].cell = t[i].cell;
		w[i].sa = t[i].sa;
		w[i].salen = t[i].salen;
		if (settings_copy(&w[i].set, t[i].set, &w[i].strs) == -1) {
			wants_free(w, i);
			return -1;
		}
	}
	pthread_mutex_lock(&e->mu);
	old = e->pending;
	nold = e->npending;
	e->pending = w;
	e->npending = n;
	e->has_pending = 1;
	pthread_mutex_unlock(&e->mu);
	wants_free(old, nold);
	wake(e);
	return 0;
}

void
hc_engine_free(struct hc_engine *e)
{
	size_t	 i;

	if (e == NULL)
		return;
	if (e->started) {
		pthread_mutex_lock(&e->mu);
		e->stop = 1;
		pthread_mutex_unlock(&e->mu);
		wake(e);
		pthread_join(e->thr, NULL);
	}
	for (i = 0; i < e->nchecks; i++)
		check_free(e->checks[i]);
	free(e->checks);
	wants_free(e->pending, e->npending);
	for (i = 0; i < e->ntls; i++) {
		free(e->tls[i]->ca);
		if (e->tls[i]->ctx != NULL)
			probe_tls_ctx_free(e->tls[i]->ctx);
		free(e->tls[i]);
	}
	free(e->tls);
	if (e->base != NULL) {
		if (e->wake_fd != -1)
			event_del(&e->wake_ev);
		event_base_free(e->base);
	}
	if (e->wake_fd != -1)
		close(e->wake_fd);
	pthread_mutex_destroy(&e->mu);
	free(e);
}

void
hc_engine_stats(struct hc_engine *e, struct hc_engine_stats *s)
{
	s->started = atomic_load(&e->st_started);
	s->queued = atomic_load(&e->st_queued);
	s->late_ms_max = atomic_load(&e->st_late_max);
	s->late_over_interval = atomic_load(&e->st_late_over);
	s->targets = atomic_load(&e->st_targets);
	s->inflight = atomic_load(&e->st_inflight);
}
