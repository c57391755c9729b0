/*
 * poller: readable edges turned off and on (poller_reading); the rerun
 * list.  An on_rerun call may end items still waiting
 * their turn on the list being run (closing one connection can close
 * others: relay.c's closed callback resumes a listener, which moves to a
 * new snapshot, whose NetworkPolicy recheck closes connections); the walk
 * must never reach them.  The items are malloc'd and freed when dropped,
 * so ASan sees a use after free, and a plain build a NULL dereference.
 */
#include "config.h"

#include <check.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "poller.h"
#include "unit.h"

#define NITEMS	4

struct item {
	struct poll_item	 pi;
	int			 id;
};

/* What on_rerun sees: the test's state (no globals in src/, tests may). */
static struct poller	*cur_p;
static struct item	*items[NITEMS];
static int		 ran[NITEMS];
static int		 nran;
static int		 kill_from;	/* item that ends the others; -1 */
static int		 requeue;	/* item that gives way again; -1 */

static uint32_t		 ev_seen;	/* edges' events, or'ed */
static int		 nev;

static void
on_event(struct poll_item *pi, int side, uint32_t ev)
{
	(void)pi;
	(void)side;
	ev_seen |= ev;
	nev++;
}

static void
item_end(int i)
{
	poller_rerun_drop(cur_p, &items[i]->pi);
	free(items[i]);
	items[i] = NULL;
}

static void
on_rerun(struct poll_item *pi)
{
	struct item	*it = (struct item *)(void *)((char *)pi -
	    offsetof(struct item, pi));
	int		 i;

	ran[it->id]++;
	nran++;
	if (it->id == kill_from)
		for (i = 0; i < NITEMS; i++)
			if (i != it->id && items[i] != NULL)
				item_end(i);
	if (it->id == requeue && ran[it->id] == 1)
		poller_rerun_later(cur_p, pi);
}

static void
fx_init(struct event_base **base, struct poller *p)
{
	int i;

	ck_assert_ptr_nonnull(*base = event_base_new());
	ck_assert_int_eq(poller_init(p, *base, on_event, on_rerun), 0);
	cur_p = p;
	memset(ran, 0, sizeof(ran));
	nran = 0;
	kill_from = requeue = -1;
	for (i = 0; i < NITEMS; i++) {
		ck_assert_ptr_nonnull(items[i] = calloc(1, sizeof(*items[i])));
		items[i]->id = i;
	}
}

static void
fx_free(struct event_base *base, struct poller *p)
{
	int i;

	for (i = 0; i < NITEMS; i++)
		if (items[i] != NULL)
			item_end(i);
	poller_free(p);
	event_base_free(base);
}

/* Items go to the head: queue 3, 2, 1, 0 so the walk runs 0 first. */
static void
queue_all(struct poller *p)
{
	int i;

	for (i = NITEMS - 1; i >= 0; i--)
		poller_rerun_later(p, &items[i]->pi);
}

START_TEST(test_rerun_runs_each_once)
{
	struct event_base	*base;
	struct poller		 p;
	int			 i;

	fx_init(&base, &p);
	queue_all(&p);
	poller_rerun_later(&p, &items[1]->pi);	/* twice: still once */
	event_base_loop(base, EVLOOP_NONBLOCK);
	for (i = 0; i < NITEMS; i++)
		ck_assert_int_eq(ran[i], 1);
	fx_free(base, &p);
}
END_TEST

/* The bug: item 0's turn ends 1..3, which the walk then reached. */
START_TEST(test_rerun_drop_during_run)
{
	struct event_base	*base;
	struct poller		 p;

	fx_init(&base, &p);
	queue_all(&p);
	kill_from = 0;
	event_base_loop(base, EVLOOP_NONBLOCK);
	ck_assert_int_eq(ran[0], 1);
	ck_assert_int_eq(nran, 1);
	ck_assert_ptr_eq(p.running, &p.rerun_end);
	ck_assert_ptr_eq(p.rerun, &p.rerun_end);
	fx_free(base, &p);
}
END_TEST

/* A middle item ends the rest, both before and after it in the walk. */
START_TEST(test_rerun_drop_middle)
{
	struct event_base	*base;
	struct poller		 p;

	fx_init(&base, &p);
	queue_all(&p);
	kill_from = 2;
	event_base_loop(base, EVLOOP_NONBLOCK);
	ck_assert_int_eq(ran[0], 1);
	ck_assert_int_eq(ran[1], 1);
	ck_assert_int_eq(ran[2], 1);
	ck_assert_int_eq(nran, 3);
	fx_free(base, &p);
}
END_TEST

/*
 * One that gives way again goes on the next turn's list, not back into
 * this walk; ended by a later item of this walk, it leaves that list.
 */
START_TEST(test_rerun_requeue_and_drop)
{
	struct event_base	*base;
	struct poller		 p;
	int			 i;

	fx_init(&base, &p);
	queue_all(&p);
	requeue = 1;
	kill_from = NITEMS - 1;
	event_base_loop(base, EVLOOP_NONBLOCK);
	for (i = 0; i < NITEMS; i++)
		ck_assert_int_eq(ran[i], 1);
	ck_assert_ptr_eq(p.rerun, &p.rerun_end);
	ck_assert_ptr_eq(p.running, &p.rerun_end);
	fx_free(base, &p);
}
END_TEST

/*
 * poller_reading: with readable edges off, bytes that arrive wake no
 * one; turned back on, the bytes already there bring an edge at once.
 */
START_TEST(test_reading_off_on)
{
	struct event_base	*base;
	struct poller		 p;
	int			 sv[2];

	fx_init(&base, &p);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK,
	    0, sv), 0);
	ck_assert_int_eq(poller_add(&p, sv[0], &items[0]->pi, 0), 0);
	ck_assert_int_eq(poller_reading(&p, sv[0], &items[0]->pi, 0, 0), 0);
	event_base_loop(base, EVLOOP_NONBLOCK);	/* writable: an edge */
	ev_seen = 0;
	nev = 0;
	ck_assert_int_eq(write(sv[1], "x", 1), 1);
	event_base_loop(base, EVLOOP_NONBLOCK);
	ck_assert_uint_eq(ev_seen & EPOLLIN, 0);
	ck_assert_int_eq(poller_reading(&p, sv[0], &items[0]->pi, 0, 1), 0);
	event_base_loop(base, EVLOOP_NONBLOCK);
	ck_assert_int_eq(nev, 1);
	ck_assert_uint_ne(ev_seen & EPOLLIN, 0);
	close(sv[0]);
	close(sv[1]);
	fx_free(base, &p);
}
END_TEST

static Suite *
poller_suite(void)
{
	Suite	*s = suite_create("poller");
	TCase	*tc = tcase_create("rerun");

	tcase_add_test(tc, test_rerun_runs_each_once);
	tcase_add_test(tc, test_rerun_drop_during_run);
	tcase_add_test(tc, test_rerun_drop_middle);
	tcase_add_test(tc, test_rerun_requeue_and_drop);
	suite_add_tcase(s, tc);
	tc = tcase_create("reading");
	tcase_add_test(tc, test_reading_off_on);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(poller_suite());
}
