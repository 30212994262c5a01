/*
 * util: the bounded helpers every boundary check stands on.  A number
 * parser that accepts " 1" or "+1", or a UTF-8 validator that lets an
 * overlong or a surrogate through, would open every caller at once.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "cellar/util.h"

/* util_strtonum(s, min, max): 0 and *out, or -1 with *out untouched. */
static void
expect_num(const char *s, long long min, long long max, long long want)
{
	long long	 v = 0x5a5a;

	if (util_strtonum(s, min, max, &v) != 0)
		fail_msg("\"%s\" in [%lld, %lld] refused", s, min, max);
	if (v != want)
		fail_msg("\"%s\" gave %lld, want %lld", s, v, want);
}

static void
expect_no_num(const char *s, long long min, long long max)
{
	long long	 v = 0x5a5a;

	if (util_strtonum(s, min, max, &v) != -1)
		fail_msg("\"%s\" in [%lld, %lld] accepted as %lld",
		    s != NULL ? s : "(null)", min, max, v);
	if (v != 0x5a5a)
		fail_msg("\"%s\": *out written on failure", s);
}

static void
test_strtonum_ok(void **state)
{
	(void)state;
	expect_num("0", 0, 10, 0);
	expect_num("10", 0, 10, 10);
	expect_num("-5", -5, 5, -5);
	expect_num("-0", 0, 0, 0);
	expect_num("007", 0, 10, 7);
	expect_num("9223372036854775807", LLONG_MIN, LLONG_MAX, LLONG_MAX);
	expect_num("-9223372036854775808", LLONG_MIN, LLONG_MAX, LLONG_MIN);
}

static void
test_strtonum_bounds(void **state)
{
	(void)state;
	/* Both ends inclusive, one past either end refused. */
	expect_num("1", 1, 65535, 1);
	expect_num("65535", 1, 65535, 65535);
	expect_no_num("0", 1, 65535);
	expect_no_num("65536", 1, 65535);
	expect_no_num("-1", 0, 10);
	expect_no_num("11", 0, 10);
}

static void
test_strtonum_syntax(void **state)
{
	(void)state;
	expect_no_num(NULL, 0, 10);
	expect_no_num("", 0, 10);
	expect_no_num("+1", 0, 10);
	expect_no_num(" 1", 0, 10);
	expect_no_num("\t1", 0, 10);
	expect_no_num("1 ", 0, 10);
	expect_no_num("1\n", 0, 10);
	expect_no_num("1a", 0, 10);
	expect_no_num("a1", 0, 10);
	expect_no_num("-", -10, 10);
	expect_no_num("--1", -10, 10);
	expect_no_num("1.0", 0, 10);
	expect_no_num("1e1", 0, 100);
	expect_no_num("0x10", 0, 100);
}

static void
test_strtonum_overflow(void **state)
{
	(void)state;
	expect_no_num("9223372036854775808", LLONG_MIN, LLONG_MAX);
	expect_no_num("-9223372036854775809", LLONG_MIN, LLONG_MAX);
	expect_no_num("99999999999999999999999", LLONG_MIN, LLONG_MAX);
}

/* Valid or not, given as bytes with an explicit length. */
#define UTF8_OK(s)	check_utf8(s, sizeof(s) - 1, 1)
#define UTF8_BAD(s)	check_utf8(s, sizeof(s) - 1, 0)

static void
check_utf8(const char *s, size_t len, int want)
{
	char	 hex[64];
	size_t	 i;

	if (util_utf8_valid(s, len) == want)
		return;
	hex[0] = '\0';
	for (i = 0; i < len && i < 16; i++)
		snprintf(hex + 3 * i, sizeof(hex) - 3 * i, "%02x ",
		    (unsigned char)s[i]);
	fail_msg("utf8 [%s] (%zu bytes): want %s", hex, len,
	    want ? "valid" : "invalid");
}

static void
test_utf8_valid(void **state)
{
	(void)state;
	UTF8_OK("");
	UTF8_OK("plain ascii ~");
	UTF8_OK("\x7f");
	UTF8_OK("\xc2\x80");			/* U+0080, first 2-byte */
	UTF8_OK("\xc3\xa9t\xc3\xa9");		/* été */
	UTF8_OK("\xdf\xbf");			/* U+07FF */
	UTF8_OK("\xe0\xa0\x80");		/* U+0800, first 3-byte */
	UTF8_OK("\xe2\x82\xac");		/* euro sign */
	UTF8_OK("\xed\x9f\xbf");		/* U+D7FF, below surrogates */
	UTF8_OK("\xee\x80\x80");		/* U+E000, above surrogates */
	UTF8_OK("\xef\xbf\xbf");		/* U+FFFF */
	UTF8_OK("\xf0\x90\x80\x80");		/* U+10000, first 4-byte */
	UTF8_OK("\xf0\x9f\x98\x80");		/* emoji */
	UTF8_OK("\xf4\x8f\xbf\xbf");		/* U+10FFFF, the last */
	/* The length is honoured: an embedded NUL is a valid code point. */
	check_utf8("a\0b", 3, 1);
}

static void
test_utf8_overlong(void **state)
{
	(void)state;
	UTF8_BAD("\xc0\x80");			/* NUL in two bytes */
	UTF8_BAD("\xc0\xaf");			/* '/' in two bytes */
	UTF8_BAD("\xc1\xbf");
	UTF8_BAD("\xe0\x80\x80");
	UTF8_BAD("\xe0\x80\xaf");
	UTF8_BAD("\xe0\x9f\xbf");		/* U+07FF in three bytes */
	UTF8_BAD("\xf0\x80\x80\x80");
	UTF8_BAD("\xf0\x8f\xbf\xbf");		/* U+FFFF in four bytes */
}

static void
test_utf8_surrogates_and_range(void **state)
{
	(void)state;
	UTF8_BAD("\xed\xa0\x80");		/* U+D800 */
	UTF8_BAD("\xed\xad\xbf");		/* U+DB7F */
	UTF8_BAD("\xed\xb0\x80");		/* U+DC00 */
	UTF8_BAD("\xed\xbf\xbf");		/* U+DFFF */
	UTF8_BAD("\xed\xa0\xbd\xed\xb8\x80");	/* CESU-8 pair */
	UTF8_BAD("\xf4\x90\x80\x80");		/* U+110000 */
	UTF8_BAD("\xf5\x80\x80\x80");
	UTF8_BAD("\xf7\xbf\xbf\xbf");
	UTF8_BAD("\xf8\x88\x80\x80\x80");	/* 5-byte form */
	UTF8_BAD("\xfc\x84\x80\x80\x80\x80");	/* 6-byte form */
	UTF8_BAD("\xfe");
	UTF8_BAD("\xff");
}

static void
test_utf8_truncated_and_stray(void **state)
{
	(void)state;
	UTF8_BAD("\xc3");
	UTF8_BAD("abc\xc3");
	UTF8_BAD("\xe2\x82");
	UTF8_BAD("\xf0\x9f\x98");
	UTF8_BAD("\xc3" "A");			/* lead byte, then ASCII */
	UTF8_BAD("\xe2\x82" "A");
	UTF8_BAD("\x80");			/* lone continuation */
	UTF8_BAD("a\xbf" "b");
	UTF8_BAD("\xc3\xa9\xa9");		/* one continuation too many */
	/* A valid sequence cut by the length is invalid. */
	check_utf8("\xc3\xa9", 1, 0);
	check_utf8("\xf0\x9f\x98\x80", 3, 0);
}

static void
test_printable(void **state)
{
	(void)state;
	assert_true(util_printable(""));
	assert_true(util_printable("a b ~ \xc3\xa9"));
	assert_false(util_printable("a\tb"));
	assert_false(util_printable("a\nb"));
	assert_false(util_printable("\x01"));
	assert_false(util_printable("\x1f"));
	assert_false(util_printable("a\x7f"));
	/* C1 controls (NEL, CSI), not their neighbours U+00A0, U+00BF. */
	assert_false(util_printable("a\xc2\x85" "b"));
	assert_false(util_printable("\xc2\x9b"));
	assert_true(util_printable("\xc2\xa0\xc2\xbf"));
}

static void
test_strcaseeq(void **state)
{
	(void)state;
	assert_true(util_strcaseeq("", ""));
	assert_true(util_strcaseeq("Application/JSON", "application/json"));
	assert_false(util_strcaseeq("abc", "abcd"));
	assert_false(util_strcaseeq("abcd", "abc"));
	assert_false(util_strcaseeq("abc", "abd"));
}

static void
expect_join(const char *dir, const char *name, const char *want)
{
	char	*p, got[256];

	p = util_path_join(dir, name);
	assert_non_null(p);
	snprintf(got, sizeof(got), "%s", p);
	free(p);
	if (strcmp(got, want) != 0)
		fail_msg("join(\"%s\", \"%s\") = \"%s\", want \"%s\"", dir,
		    name, got, want);
}

static void
test_path_join(void **state)
{
	(void)state;
	expect_join("a", "b", "a/b");
	expect_join("/etc/cellar", "cellar.conf", "/etc/cellar/cellar.conf");
	expect_join("/etc/cellar/", "cellar.conf", "/etc/cellar/cellar.conf");
	expect_join("/etc/cellar///", "conf.d", "/etc/cellar/conf.d");
	expect_join("tests/unit/conf/x", "conf.d",
	    "tests/unit/conf/x/conf.d");
	expect_join(".", "x", "./x");
}

/*
 * "Joins dir and name with one '/'": the root directory must not give
 * "//cellar.conf" (which then shows in conf errors and conf_dump).
 */
static void
test_path_join_root(void **state)
{
	(void)state;
	expect_join("/", "cellar.conf", "/cellar.conf");
}

static void
test_hex(void **state)
{
	static const unsigned char	 in[] = { 0x00, 0x01, 0x7f, 0x80,
					    0xab, 0xff, 0x0a };
	char				 out[2 * sizeof(in) + 1];
	char				 empty[1] = { 'x' };

	(void)state;
	memset(out, 'Z', sizeof(out));
	util_hex(out, in, sizeof(in));
	assert_string_equal(out, "00017f80abff0a");
	util_hex(empty, in, 0);
	assert_string_equal(empty, "");
}

/* util_url_check on a copy: NULL and the normalised URL, or a reason. */
static void
expect_url(const char *url, const char *want)
{
	char		 buf[512];
	const char	*why;

	snprintf(buf, sizeof(buf), "%s", url);
	why = util_url_check(buf);
	if (want != NULL && why != NULL)
		fail_msg("\"%s\" refused: %s", url, why);
	if (want == NULL && why == NULL)
		fail_msg("\"%s\" accepted as \"%s\"", url, buf);
	if (want != NULL && strcmp(buf, want) != 0)
		fail_msg("\"%s\" normalised to \"%s\", want \"%s\"", url, buf,
		    want);
}

static void
test_url_check(void **state)
{
	(void)state;
	expect_url("https://cellar.example.com", "https://cellar.example.com");
	expect_url("https://cellar.example.com/", "https://cellar.example.com");
	expect_url("https://cellar.example.com/jira//",
	    "https://cellar.example.com/jira");
	expect_url("https://h.example.com:8443/a",
	    "https://h.example.com:8443/a");
	expect_url("https://h:1", "https://h:1");
	expect_url("https://h:65535", "https://h:65535");
	/* Plain http only on loopback. */
	expect_url("http://127.0.0.1:8080/", "http://127.0.0.1:8080");
	expect_url("http://localhost", "http://localhost");
	expect_url("http://LOCALHOST/x", "http://LOCALHOST/x");
	expect_url("http://example.com", NULL);
	expect_url("http://127.0.0.2", NULL);
	expect_url("http://127.0.0.1.example.com", NULL);
	expect_url("http://localhost.example.com", NULL);
	expect_url("http://localhostx", NULL);
	/* Shape. */
	expect_url("", NULL);
	expect_url("example.com", NULL);
	expect_url("ftp://example.com", NULL);
	expect_url("https://", NULL);
	expect_url("https:///x", NULL);
	expect_url("https://:443", NULL);
	expect_url("https://h:0", NULL);
	expect_url("https://h:65536", NULL);
	expect_url("https://h:99999999", NULL);
	expect_url("https://h:", NULL);
	expect_url("https://h:80x", NULL);
	expect_url("https://user@h", NULL);
	expect_url("https://user:pw@h", NULL);
	expect_url("https://h/a?b=c", NULL);
	expect_url("https://h?b=c", NULL);
	expect_url("https://h/#f", NULL);
	expect_url("https://h/a b", NULL);
	expect_url("https://h/a\"b", NULL);
	expect_url("https://h/a<b", NULL);
	expect_url("https://h/a\\b", NULL);
	expect_url("https://h_x", NULL);
}

/*
 * The error message promises plain http on [::1]; an IPv6 literal's
 * colons must not be taken for the port separator.
 */
static void
test_url_check_ipv6_loopback(void **state)
{
	(void)state;
	expect_url("http://[::1]:8080/", "http://[::1]:8080");
	expect_url("https://[::1]/jira", "https://[::1]/jira");
}

/* The fast ISO 8601 formatter agrees with gmtime/strftime everywhere. */
static void
test_iso8601(void **state)
{
	char		 a[21], b[32];
	struct tm	 tm;
	time_t		 tt;
	long long	 t;

	(void)state;
	util_iso8601(a, 0);
	assert_string_equal(a, "1970-01-01T00:00:00Z");
	util_iso8601(a, 951782400);		/* a leap day */
	assert_string_equal(a, "2000-02-29T00:00:00Z");
	for (t = 0; t < 4102444800LL; t += 86400LL * 29 + 3671) {
		util_iso8601(a, t);
		tt = (time_t)t;
		gmtime_r(&tt, &tm);
		strftime(b, sizeof(b), "%Y-%m-%dT%H:%M:%SZ", &tm);
		assert_string_equal(a, b);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strtonum_ok),
		cmocka_unit_test(test_strtonum_bounds),
		cmocka_unit_test(test_strtonum_syntax),
		cmocka_unit_test(test_strtonum_overflow),
		cmocka_unit_test(test_utf8_valid),
		cmocka_unit_test(test_utf8_overlong),
		cmocka_unit_test(test_utf8_surrogates_and_range),
		cmocka_unit_test(test_utf8_truncated_and_stray),
		cmocka_unit_test(test_printable),
		cmocka_unit_test(test_strcaseeq),
		cmocka_unit_test(test_path_join),
		cmocka_unit_test(test_path_join_root),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_url_check),
		cmocka_unit_test(test_url_check_ipv6_loopback),
		cmocka_unit_test(test_iso8601),
	};

	return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
