/*
 * upgrade: the health state an upgrade's old process passes to the new
 * one (a memfd named in SVCPROXY_INHERIT_HEALTH): read back into cells,
 * malformed and overlong lines skipped, the descriptor closed and the
 * variable cleared.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/mman.h>

#include "health_cell.h"
#include "unit.h"
#include "upgrade.h"

/* A memfd holding text, named in the variable; its fd. */
static int
passed(const char *text, size_t len)
{
	char	 v[16];
	int	 fd;

	ck_assert_int_ge(fd = memfd_create("t", MFD_CLOEXEC), 0);
	ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
	ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
	snprintf(v, sizeof(v), "%d", fd);
	setenv(UPG_HEALTH_ENV, v, 1);
	return fd;
}

static int
state(struct hc_celltab *t, const char *key)
{
	struct strtab_node *n = strtab_find(&t->t, key);

	if (n == NULL)
		return -1;
	return atomic_load(&STRTAB_ENTRY(n, struct hc_cell, node)->state);
}

START_TEST(test_inherit)
{
	struct hc_celltab	 t;
	char			 text[4096], longkey[UPG_HEALTH_LINE + 8];
	int			 fd;

	memset(longkey, 'k', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = '\0';
	snprintf(text, sizeof(text), "up 10.0.0.1:80 tcp 200/200 1/1 \x1f\n"
	    "down 10.0.0.2:80 tcp 200/200 1/1 \x1f\n"
	    "sideways 10.0.0.3:80 tcp\n"
	    "up \n"
	    "\n"
	    "down %s\n"
	    "down 10.0.0.4:80 tcp", longkey);
	hc_celltab_init(&t);
	fd = passed(text, strlen(text));
	ck_assert_uint_eq(upg_inherit_health(&t), 3);
	ck_assert_int_eq(state(&t, "10.0.0.1:80 tcp 200/200 1/1 \x1f"), HC_UP);
	ck_assert_int_eq(state(&t, "10.0.0.2:80 tcp 200/200 1/1 \x1f"),
	    HC_DOWN);
	/* The last line, cut short of its newline, still counts. */
	ck_assert_int_eq(state(&t, "10.0.0.4:80 tcp"), HC_DOWN);
	ck_assert_int_eq(state(&t, "10.0.0.3:80 tcp"), -1);
	ck_assert_int_eq(state(&t, longkey), -1);
	ck_assert_uint_eq(t.t.n, 3);
	/* Closed, and the variable gone: a second call reads nothing. */
	ck_assert_int_eq(fcntl(fd, F_GETFD), -1);
	ck_assert_ptr_null(getenv(UPG_HEALTH_ENV));
	ck_assert_uint_eq(upg_inherit_health(&t), 0);
	hc_celltab_free(&t);
}
END_TEST

START_TEST(test_inherit_refused)
{
	struct hc_celltab	 t;

	hc_celltab_init(&t);
	setenv(UPG_HEALTH_ENV, "not-a-number", 1);
	ck_assert_uint_eq(upg_inherit_health(&t), 0);
	setenv(UPG_HEALTH_ENV, "999", 1);	/* not open */
	ck_assert_uint_eq(upg_inherit_health(&t), 0);
	ck_assert_ptr_null(getenv(UPG_HEALTH_ENV));
	ck_assert_uint_eq(t.t.n, 0);
	hc_celltab_free(&t);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("upgrade");
	TCase	*tc = tcase_create("upgrade");

	tcase_add_test(tc, test_inherit);
	tcase_add_test(tc, test_inherit_refused);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
