/* log: the rate limit for repeated messages (log_rl). */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "unit.h"

/*
 * stderr goes to a temporary file for the test, which reads back what
 * was written; -1 when it cannot.
 */
static FILE	*cap_file;
static int	 cap_saved = -1;

static void
cap_start(void)
{
	cap_file = tmpfile();
	ck_assert_ptr_nonnull(cap_file);
	cap_saved = dup(STDERR_FILENO);
	ck_assert_int_ne(dup2(fileno(cap_file), STDERR_FILENO), -1);
}

/* What was logged since cap_start (malloc'd, the caller frees). */
static char *
cap_end(void)
{
	char	*buf;
	long	 n;

	dup2(cap_saved, STDERR_FILENO);
	close(cap_saved);
	fseek(cap_file, 0, SEEK_END);
	n = ftell(cap_file);
	rewind(cap_file);
	buf = calloc(1, (size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, cap_file), (size_t)n);
	fclose(cap_file);
	return buf;
}

static size_t
count(const char *s, const char *needle)
{
	size_t n = 0;

	while ((s = strstr(s, needle)) != NULL) {
		n++;
		s += strlen(needle);
	}
	return n;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, ms % 1000 * 1000000 };

	nanosleep(&ts, NULL);
}

/* 1,000 of one kind (numbers differ): 5 written, the rest counted. */
START_TEST(test_burst_then_count)
{
	struct log_rl	 rl;
	char		*out;
	int		 i, wrote = 0;

	log_rl_init(&rl, 5, 200);
	cap_start();
	for (i = 0; i < 1000; i++)
		wrote += log_rl_msg(&rl, LOG_LEVEL_WARN, "accept on fd %d: "
		    "Too many open files", i);
	sleep_ms(250);
	wrote += log_rl_msg(&rl, LOG_LEVEL_WARN, "accept on fd %d: Too many "
	    "open files", 7);
	out = cap_end();
	ck_assert_int_eq(wrote, 6);
	ck_assert_uint_eq(count(out, "\n"), 7);
	ck_assert_uint_eq(count(out, "Too many open files\n"), 6);
	/* The count line names the last dropped one. */
	ck_assert_ptr_nonnull(strstr(out, "accept on fd 999: Too many open "
	    "files [995 more like this within 1 s]\n"));
	free(out);
	log_rl_destroy(&rl);
}
END_TEST

/* Kinds are limited apart; more kinds than slots report what they drop. */
START_TEST(test_kinds_apart)
{
	struct log_rl	 rl;
	char		*out, msg[32];
	int		 i, k, wrote = 0;

	log_rl_init(&rl, 2, 60000);
	cap_start();
	for (i = 0; i < 10; i++) {
		wrote += log_rl_msg(&rl, LOG_LEVEL_WARN, "alpha %d", i);
		wrote += log_rl_msg(&rl, LOG_LEVEL_WARN, "beta %d", i);
	}
	ck_assert_int_eq(wrote, 4);
	/* LOG_RL_KINDS new kinds push alpha and beta out: counts. */
	for (k = 0; k < LOG_RL_KINDS; k++) {
		snprintf(msg, sizeof(msg), "kind %c", 'a' + k);
		log_rl_msg(&rl, LOG_LEVEL_WARN, "%s", msg);
	}
	out = cap_end();
	ck_assert_ptr_nonnull(strstr(out, "alpha 9 [8 more like this"));
	ck_assert_ptr_nonnull(strstr(out, "beta 9 [8 more like this"));
	ck_assert_uint_eq(count(out, "kind "), LOG_RL_KINDS);
	free(out);
	log_rl_destroy(&rl);
}
END_TEST

/* Below the level: neither written nor counted. */
START_TEST(test_level)
{
	struct log_rl	 rl;
	char		*out;

	log_rl_init(&rl, 1, 60000);
	cap_start();
	ck_assert_int_eq(log_rl_msg(&rl, LOG_LEVEL_DEBUG, "quiet"), 0);
	ck_assert_int_eq(log_rl_msg(&rl, LOG_LEVEL_ERROR, "loud"), 1);
	out = cap_end();
	ck_assert_ptr_null(strstr(out, "quiet"));
	ck_assert_ptr_nonnull(strstr(out, "error: loud\n"));
	free(out);
	log_rl_destroy(&rl);
}
END_TEST

static Suite *
log_suite(void)
{
	Suite	*s = suite_create("log");
	TCase	*tc = tcase_create("ratelimit");

	tcase_add_test(tc, test_burst_then_count);
	tcase_add_test(tc, test_kinds_apart);
	tcase_add_test(tc, test_level);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(log_suite());
}
