/* log: the rate limit for repeated messages (log_rl); the text and json
   formats, JSON string escaping, the journal's priority prefixes. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

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


/* A fixed instant: 2024-11-25T04:03:00.123Z. */
static const struct timespec fmt_ts = { 1732507380, 123456789 };

/* s escaped; the string with its quotes. */
static const char *
esc(const char *s)
{
	static char	buf[256];

	log_json_str(buf, sizeof(buf), s);
	return buf;
}

START_TEST(test_json_escape)
{
	char	buf[16];

	ck_assert_str_eq(esc("plain"), "\"plain\"");
	ck_assert_str_eq(esc("a\"b\\c"), "\"a\\\"b\\\\c\"");
	ck_assert_str_eq(esc("\n\r\t\x01\x1f"), "\"\\n\\r\\t\\u0001\\u001f\"");
	/* UTF-8 as is; 0x7f is not a control byte in JSON. */
	ck_assert_str_eq(esc("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\x7f"),
	    "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\x7f\"");
	/* Not UTF-8: a lone continuation, a cut sequence, overlong, a
	   surrogate, past U+10FFFF. */
	ck_assert_str_eq(esc("\x80"), "\"\\ufffd\"");
	ck_assert_str_eq(esc("\xe2\x82z"), "\"\\ufffd\\ufffdz\"");
	ck_assert_str_eq(esc("\xc0\xaf"), "\"\\ufffd\\ufffd\"");
	ck_assert_str_eq(esc("\xed\xa0\x80"), "\"\\ufffd\\ufffd\\ufffd\"");
	ck_assert_str_eq(esc("\xf4\x90\x80\x80"),
	    "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
	/* Cut at a character: never half an escape or a sequence. */
	ck_assert_uint_eq(log_json_str(buf, 8, "ab\"cd"), 7);
	ck_assert_str_eq(buf, "\"ab\\\"c\"");
	ck_assert_uint_eq(log_json_str(buf, 6, "a\xe2\x82\xac"), 3);
	ck_assert_str_eq(buf, "\"a\"");
	ck_assert_uint_eq(log_json_str(buf, 8, "\x01"), 2);
	ck_assert_str_eq(buf, "\"\"");
}
END_TEST

START_TEST(test_format_text)
{
	char	buf[LOG_JSON_MAX], big[3000];
	size_t	n;
	const struct log_kv kv[] = { LOG_STR("service", "ns/a:80") };

	n = log_format_line(buf, sizeof(buf), LOG_FORMAT_TEXT, 0,
	    LOG_LEVEL_WARN, &fmt_ts, "conn", kv, 1, "conn x=1");
	buf[n] = '\0';
	/* The text line ignores the keys: as it always was. */
	ck_assert_str_eq(buf, "2024-11-25T04:03:00.123Z warning: conn x=1\n");
	n = log_format_line(buf, sizeof(buf), LOG_FORMAT_TEXT, 1,
	    LOG_LEVEL_ERROR, &fmt_ts, NULL, NULL, 0, "bad");
	buf[n] = '\0';
	ck_assert_str_eq(buf, "<3>2024-11-25T04:03:00.123Z error: bad\n");
	/* Cut at LOG_LINE_MAX, the prefix aside. */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	n = log_format_line(buf, sizeof(buf), LOG_FORMAT_TEXT, 0,
	    LOG_LEVEL_INFO, &fmt_ts, NULL, NULL, 0, big);
	ck_assert_uint_eq(n, LOG_LINE_MAX);
	ck_assert_int_eq(buf[n - 1], '\n');
	n = log_format_line(buf, sizeof(buf), LOG_FORMAT_TEXT, 1,
	    LOG_LEVEL_DEBUG, &fmt_ts, NULL, NULL, 0, big);
	ck_assert_uint_eq(n, LOG_LINE_MAX + 3);
	ck_assert_int_eq(memcmp(buf, "<7>", 3), 0);
}
END_TEST

START_TEST(test_format_json)
{
	char	buf[LOG_JSON_MAX];
	size_t	n;
	const struct log_kv kv[] = {
		LOG_STR("client", "127.0.0.1:5000"),
		LOG_STR("service", "ns/we\"ird\\:80"),
		LOG_STR("error", NULL),
		LOG_BYTES(10, 20),
		LOG_U64("duration", 7),
	};

	n = log_format_line(buf, sizeof(buf), LOG_FORMAT_JSON, 0,
	    LOG_LEVEL_INFO, &fmt_ts, "conn", kv, LOG_NKV(kv), NULL);
	buf[n] = '\0';
	ck_assert_str_eq(buf, "{\"time\":\"2024-11-25T04:03:00.123Z\","
	    "\"level\":\"info\",\"event\":\"conn\",\"client\":"
	    "\"127.0.0.1:5000\",\"service\":\"ns/we\\\"ird\\\\:80\","
	    "\"bytes\":{\"up\":10,\"down\":20},\"duration\":7}\n");
	n = log_format_line(buf, sizeof(buf), LOG_FORMAT_JSON, 1,
	    LOG_LEVEL_WARN, &fmt_ts, NULL, NULL, 0, "a\tb");
	buf[n] = '\0';
	ck_assert_str_eq(buf, "<4>{\"time\":\"2024-11-25T04:03:00.123Z\","
	    "\"level\":\"warning\",\"event\":\"log\",\"msg\":\"a\\tb\"}\n");
}
END_TEST

/* A value longer than the line: cut, the object still closed. */
START_TEST(test_format_json_cut)
{
	char	buf[LOG_JSON_MAX], big[LOG_JSON_MAX * 2], small[200];
	size_t	n, len;
	const struct log_kv kv[] = { LOG_STR("detail", big),
	    LOG_U64("after", 1) };

	memset(big, '"', sizeof(big) - 1);	/* each escapes to 2 */
	big[sizeof(big) - 1] = '\0';
	n = log_format_line(buf, sizeof(buf), LOG_FORMAT_JSON, 0,
	    LOG_LEVEL_INFO, &fmt_ts, "conn", kv, LOG_NKV(kv), big);
	ck_assert_uint_le(n, sizeof(buf));
	ck_assert_int_eq(buf[n - 1], '\n');
	ck_assert_int_eq(buf[n - 2], '}');
	ck_assert_int_eq(buf[n - 3], '"');
	/* The cut string ends on a whole escape. */
	ck_assert_int_eq(buf[n - 4], '"');
	ck_assert_int_eq(buf[n - 5], '\\');
	/* A small buffer: every length keeps a closed object. */
	for (len = 64; len < sizeof(small); len++) {
		n = log_format_line(small, len, LOG_FORMAT_JSON, 1,
		    LOG_LEVEL_INFO, &fmt_ts, "health", kv, LOG_NKV(kv), "m");
		ck_assert_uint_lt(n, len);
		ck_assert_int_eq(small[n - 1], '\n');
		ck_assert_int_eq(small[n - 2], '}');
	}
}
END_TEST

/* JOURNAL_STREAM must name stderr's own device and inode. */
START_TEST(test_journal_stream)
{
	struct stat	st;
	char		env[64];
	FILE		*f = tmpfile();

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fstat(fileno(f), &st), 0);
	snprintf(env, sizeof(env), "%llu:%llu",
	    (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
	ck_assert_int_eq(log_journal_init(env, fileno(f)), 1);
	ck_assert_int_eq(log_on_journal(), 1);
	snprintf(env, sizeof(env), "%llu:%llu",
	    (unsigned long long)st.st_dev, (unsigned long long)st.st_ino + 1);
	ck_assert_int_eq(log_journal_init(env, fileno(f)), 0);
	ck_assert_int_eq(log_journal_init(NULL, fileno(f)), 0);
	ck_assert_int_eq(log_journal_init("garbage", fileno(f)), 0);
	snprintf(env, sizeof(env), "%llu:%llux",
	    (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
	ck_assert_int_eq(log_journal_init(env, fileno(f)), 0);
	ck_assert_int_eq(log_on_journal(), 0);
	fclose(f);
}
END_TEST

/* log_ev and log_rl_ev: text as before, json with the keys. */
START_TEST(test_ev_formats)
{
	struct log_rl	 rl;
	char		*out;
	const struct log_kv kv[] = { LOG_STR("endpoint", "10.0.0.1:80") };

	log_rl_init(&rl, 5, 60000);
	cap_start();
	log_ev(LOG_LEVEL_INFO, "conn", kv, 1, 0, "conn endpoint=%s", "e");
	log_rl_ev(&rl, LOG_LEVEL_WARN, "health", kv, 1, LOG_EV_MSG,
	    "endpoint %s is down", "e");
	log_set_format(LOG_FORMAT_JSON);
	log_ev(LOG_LEVEL_INFO, "conn", kv, 1, 0, "conn endpoint=%s", "e");
	log_rl_ev(&rl, LOG_LEVEL_WARN, "health", kv, 1, LOG_EV_MSG,
	    "endpoint %s is down", "f");
	log_msg(LOG_LEVEL_INFO, "plain %d", 1);
	log_set_format(LOG_FORMAT_TEXT);
	out = cap_end();
	ck_assert_ptr_nonnull(strstr(out, "Z info: conn endpoint=e\n"));
	ck_assert_ptr_nonnull(strstr(out, "Z warning: endpoint e is down\n"));
	ck_assert_ptr_nonnull(strstr(out, "\"level\":\"info\",\"event\":"
	    "\"conn\",\"endpoint\":\"10.0.0.1:80\"}\n"));
	ck_assert_ptr_nonnull(strstr(out, "\"event\":\"health\",\"endpoint\":"
	    "\"10.0.0.1:80\",\"msg\":\"endpoint f is down\"}\n"));
	ck_assert_ptr_nonnull(strstr(out, "\"event\":\"log\",\"msg\":"
	    "\"plain 1\"}\n"));
	ck_assert_uint_eq(count(out, "\n"), 5);
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
	tc = tcase_create("format");
	tcase_add_test(tc, test_json_escape);
	tcase_add_test(tc, test_format_text);
	tcase_add_test(tc, test_format_json);
	tcase_add_test(tc, test_format_json_cut);
	tcase_add_test(tc, test_journal_stream);
	tcase_add_test(tc, test_ev_formats);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(log_suite());
}
