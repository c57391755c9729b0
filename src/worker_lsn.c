/*
 * worker_lsn: a worker's listeners changed and the reload drain
 * (reload.c): the set the main thread wants (wrk_lsn_want) and the
 * sockets it hands over (wrk_lsn_give), reconciled by the worker in
 * one pass (worker.h); what is queued on a listener that leaves is
 * served first; connections whose Service port or endpoint a reload
 * dropped are swept once their drainTimeout has passed.  It calls
 * worker_accept.c and worker_shared.c, never worker.c.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/socket.h>

#include "log.h"
#include "relay.h"
#include "worker.h"
#include "worker_int.h"

#define WRK_SWEEP_MS		250	/* reload drain check while due */
#define WRK_DRAIN_ACCEPT_MAX	65536	/* queued connections per close */

/*
 * l is about to close (a reload dropped its address): accept and serve
 * what is queued on it under the current snapshot, which the main
 * thread publishes only after every worker has done this, so the
 * connections are served as the configuration they reached had it.
 */
static void
wrk_lsn_drain(struct wrk *w, struct lsn *l)
{
	const struct snap_lsn	*sl;
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	int			 cfd, i;

	for (i = 0; i < WRK_DRAIN_ACCEPT_MAX; i++) {
		len = sizeof(ss);
		cfd = accept4(l->fd, (struct sockaddr *)&ss, &len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return;
		}
		/* Queued before the reload: served past any limit rather
		   than dropped with the listener. */
		if ((sl = wrk_lookup(w, l)) != NULL) {
			relay_count(&w->relay, sl->sp);
			atomic_fetch_add_explicit(&w->grp->fds, 2,
			    memory_order_relaxed);
		}
		wrk_serve(w, sl, cfd, &ss, len);
	}
}

static void
wrk_sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct wrk	*w = arg;
	struct timeval	 tv = { 0, WRK_SWEEP_MS * 1000 };
	size_t		 n;

	(void)fd;
	(void)what;
	if (w->draining || w->snap == NULL || w->rechecking)
		return;
	/*
	 * A close in the walk can resume a listener, which moves to a new
	 * snapshot: its recheck must not close the walk's next connection
	 * under it (wrk_snap_update waits while rechecking).
	 */
	w->rechecking = 1;
	n = relay_sweep(&w->relay, w->snap);
	w->rechecking = 0;
	if (n > 0)
		evtimer_add(&w->sweep_ev, &tv);
}

/* Judge the connections against a new snapshot soon, then while due. */
static void
wrk_sweep_arm(struct wrk *w)
{
	struct timeval tv = { 0, 0 };

	if (w->draining || w->relay.live == NULL)
		return;
	if (!event_initialized(&w->sweep_ev))
		evtimer_assign(&w->sweep_ev, w->base, wrk_sweep_cb, w);
	event_del(&w->sweep_ev);
	evtimer_add(&w->sweep_ev, &tv);
}

/* A desired listener set (worker.h): immutable, shared by refcount. */
struct wrk_want {
	_Atomic unsigned	 refs;
	uint64_t		 gen;
	size_t			 n;
	struct sockaddr_storage	 sa[];		/* sorted (lsn_sa_cmp) */
};

static void
wrk_want_unref(struct wrk_want *want)
{
	if (want != NULL && atomic_fetch_sub(&want->refs, 1) == 1)
		free(want);
}

static int
wrk_sa_cmp(const void *a, const void *b)
{
	return lsn_sa_cmp(a, b);
}

static int
wrk_wanted(const struct wrk_want *want, const struct lsn *l)
{
	return want == NULL || bsearch(&l->sa, want->sa, want->n,
	    sizeof(want->sa[0]), wrk_sa_cmp) != NULL;
}

/* l leaves the loop for good: serve what is queued on it, close it. */
static void
wrk_lsn_retire(struct wrk *w, struct lsn *l, int serve)
{
	wrk_lsn_on(l, 0);
	if (l->paused) {
		l->paused = 0;
		w->npaused--;
	}
	if (serve && l->proto == PROTO_TCP)
		wrk_lsn_drain(w, l);
	if (l->sh != NULL) {
		wrk_lsn_unshare(w, l);
		return;
	}
	relay_udp_lsn_closed(&w->udp, l->fd);
	close(l->fd);
	l->fd = -1;
}

/* Move l into slot nl of a new array; its event follows it. */
static void
wrk_lsn_move(struct wrk *w, struct lsn *l, struct lsn *nl, int on)
{
	if (l->sh != NULL) {
		/* Its registration stays: only the slot moves. */
		*nl = *l;
		l->fd = -1;
		l->sh = NULL;
		nl->w = w;
		nl->sh->slot[w->id] = nl;
		if (on && !nl->on)
			wrk_lsn_on(nl, 1);
		return;
	}
	wrk_lsn_on(l, 0);
	*nl = *l;
	l->fd = -1;
	nl->w = w;
	nl->on = 0;
	if (wrk_lsn_event(w, nl) == -1)
		return;
	if (on)
		wrk_lsn_on(nl, 1);
}

/*
 * Reconcile w's listeners with want (NULL: keep them all), given the
 * new sockets add (consumed).  Retired listeners are served and closed
 * first, while the snapshot that still has them is published (the
 * main thread publishes the next one only once every worker reached
 * want), then the kept and the taken ones go into a new array.
 */
static void
wrk_lsn_reconcile(struct wrk *w, const struct wrk_want *want,
    struct lsn_group *add)
{
	struct lsn	*v, *l;
	size_t		 i, n = 0;

	for (i = 0; i < w->lsns.n; i++) {
		l = &w->lsns.v[i];
		if (l->fd != -1 && !wrk_wanted(want, l))
			wrk_lsn_retire(w, l, !w->draining);
	}
	for (i = 0; i < add->n; i++) {
		l = &add->v[i];
		l->w = w;
		l->on = l->paused = 0;
		if (w->draining || !wrk_wanted(want, l))
			wrk_lsn_retire(w, l, !w->draining);
	}
	if ((v = calloc(w->lsns.n + add->n + 1, sizeof(*v))) == NULL) {
		log_error("worker %u: out of memory: %zu new listeners not "
		    "served", w->id, add->n);
		lsn_group_free(add);
		return;
	}
	for (i = 0; i < w->lsns.n; i++) {
		l = &w->lsns.v[i];
		if (l->fd != -1)
			wrk_lsn_move(w, l, &v[n++], l->on);
	}
	for (i = 0; i < add->n; i++) {
		l = &add->v[i];
		if (l->fd != -1)
			wrk_lsn_move(w, l, &v[n++], !w->emfile_paused);
	}
	free(w->lsns.v);
	w->lsns.v = v;
	w->lsns.n = n;
	lsn_group_free(add);
}

/*
 * Take what the main thread handed over and its latest listener set;
 * reconcile when either is new; record the set's generation and ack.
 */
void
wrk_lsn_apply(struct wrk *w)
{
	struct lsn_group	 add;
	struct wrk_want		*want;
	uint64_t		 gen, one = 1;

	pthread_mutex_lock(&w->grp->lq_mu);
	add = w->lq_add;
	memset(&w->lq_add, 0, sizeof(w->lq_add));
	if ((want = w->lq_want) != NULL)
		atomic_fetch_add(&want->refs, 1);
	pthread_mutex_unlock(&w->grp->lq_mu);
	gen = want != NULL ? want->gen : 0;
	if (add.n == 0 && gen == atomic_load(&w->lsn_gen)) {
		wrk_want_unref(want);
		return;
	}
	wrk_lsn_reconcile(w, want, &add);
	wrk_want_unref(want);
	wrk_sweep_arm(w);
	if (gen == atomic_load(&w->lsn_gen))
		return;
	atomic_store(&w->lsn_gen, gen);
	if (write(w->grp->ack_fd, &one, sizeof(one)) == -1)
		log_warn("worker %u: eventfd: %s", w->id, strerror(errno));
}

/* Room for n addresses, one reference (the caller's), gen 0. */
static struct wrk_want *
wrk_want_alloc(size_t n)
{
	struct wrk_want *want;

	if (n > (SIZE_MAX - sizeof(*want)) / sizeof(want->sa[0]) - 1 ||
	    (want = malloc(sizeof(*want) + (n + 1) *
	    sizeof(want->sa[0]))) == NULL)
		return NULL;
	atomic_init(&want->refs, 1);
	want->gen = 0;
	want->n = 0;
	return want;
}

struct wrk_want *
wrk_want_table(const struct lsn_table *cur, const unsigned char *skip,
    const struct lsn_table *add)
{
	struct wrk_want	*want;
	size_t		 i, nadd = add != NULL ? add->n : 0;

	if ((want = wrk_want_alloc(cur->n + nadd)) == NULL)
		return NULL;
	for (i = 0; i < cur->n; i++)
		if (skip == NULL || !skip[i])
			want->sa[want->n++] = cur->v[i].sa;
	for (i = 0; i < nadd; i++)
		want->sa[want->n++] = add->v[i].sa;
	qsort(want->sa, want->n, sizeof(want->sa[0]), wrk_sa_cmp);
	return want;
}

void
wrk_want_free(struct wrk_want *want)
{
	wrk_want_unref(want);
}

uint64_t
wrk_lsn_want(struct wrk_group *g, struct wrk_want *want)
{
	struct wrk_want	*old;
	uint64_t	 one = 1;
	unsigned	 i;

	want->gen = ++g->lq_gen;
	atomic_fetch_add(&want->refs, g->n);
	pthread_mutex_lock(&g->lq_mu);
	for (i = 0; i < g->n; i++) {
		old = g->v[i].lq_want;
		g->v[i].lq_want = want;
		wrk_want_unref(old);
	}
	pthread_mutex_unlock(&g->lq_mu);
	wrk_want_unref(want);	/* the caller's */
	for (i = 0; i < g->n; i++)
		if (write(g->v[i].notify_fd, &one, sizeof(one)) == -1)
			log_warn("worker %u: eventfd: %s", i, strerror(errno));
	return g->lq_gen;
}

int
wrk_lsn_give(struct wrk *w, struct lsn_group *add)
{
	struct lsn	*na;
	uint64_t	 one = 1;

	if (add->n == 0)
		return 0;
	pthread_mutex_lock(&w->grp->lq_mu);
	if (w->lq_add.n == 0) {
		/* Usual: w took the last ones already; nothing to grow. */
		free(w->lq_add.v);
		w->lq_add = *add;
	} else if ((na = reallocarray(w->lq_add.v, w->lq_add.n + add->n,
	    sizeof(*na))) != NULL) {
		memcpy(na + w->lq_add.n, add->v, add->n * sizeof(*na));
		w->lq_add.v = na;
		w->lq_add.n += add->n;
		free(add->v);
	} else {
		pthread_mutex_unlock(&w->grp->lq_mu);
		return -1;
	}
	pthread_mutex_unlock(&w->grp->lq_mu);
	add->v = NULL;
	add->n = 0;
	if (write(w->notify_fd, &one, sizeof(one)) == -1)
		log_warn("worker %u: eventfd: %s", w->id, strerror(errno));
	return 0;
}

unsigned
wrk_lsn_pending(struct wrk_group *g, uint64_t gen)
{
	unsigned i, n = 0;

	for (i = 0; i < g->n; i++)
		if (g->v[i].started && !atomic_load(&g->v[i].exited) &&
		    atomic_load(&g->v[i].lsn_gen) < gen)
			n++;
	return n;
}
