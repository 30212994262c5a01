/*
 * json: the strict parser and typed getters every request body goes
 * through.  Each test closes one of cJSON 1.7.15's holes (trailing data,
 * \u0000 truncation, invalid UTF-8, first-duplicate-wins, case-insensitive
 * lookup, saturating integers) and checks it stays closed.
 *
 * Every input is copied into a malloc'd buffer of exactly its length, with
 * no NUL after it, so ASan reports any read past the announced length.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cellar/json.h"

/* Parses buf[0..len) from an exact-size copy; returns the status. */
static enum json_status
parse_n(const char *buf, size_t len, cJSON **out)
{
	enum json_status	 st;
	char			*b;

	b = malloc(len > 0 ? len : 1);
	assert_non_null(b);
	if (len > 0)
		memcpy(b, buf, len);
	st = json_parse(b, len, out);
	free(b);
	return st;
}

/* Parses buf[0..len) and expects status want (and no tree unless OK). */
static void
expect_n(const char *buf, size_t len, enum json_status want)
{
	static cJSON		 sentinel;
	enum json_status	 st;
	cJSON			*v = &sentinel;	/* must be reset */

	st = parse_n(buf, len, &v);
	if (st == JSON_OK)
		cJSON_Delete(v);
	else if (v != NULL)
		fail_msg("%.*s: *out not NULL on error", (int)len, buf);
	if (st != want)
		fail_msg("[%.*s] (%zu bytes): %s, want %s", (int)len, buf, len,
		    json_status_code(st), json_status_code(want));
}

#define EXPECT(lit, want)	expect_n(lit, sizeof(lit) - 1, want)

static void
test_parse_ok(void **state)
{
	cJSON	*v;

	(void)state;
	EXPECT("{}", JSON_OK);
	EXPECT("[]", JSON_OK);
	EXPECT("0", JSON_OK);
	EXPECT("\"x\"", JSON_OK);
	EXPECT("null", JSON_OK);
	EXPECT(" \t\r\n{\"a\": [1, 2.5, true, null, \"s\"]} \r\n\t", JSON_OK);
	EXPECT("{\"\\u00e9\":\"\xc3\xa9\",\"k\":\"\\ud83d\\ude00\"}", JSON_OK);

	assert_int_equal(parse_n("{\"a\":{\"b\":[1]}}", 15, &v), JSON_OK);
	assert_non_null(v);
	assert_true(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(v, "a"), "b")));
	cJSON_Delete(v);
}

static void
test_parse_empty(void **state)
{
	(void)state;
	expect_n("", 0, JSON_SYNTAX);
	EXPECT(" ", JSON_SYNTAX);
	EXPECT("\r\n", JSON_SYNTAX);
}

static void
test_parse_syntax(void **state)
{
	(void)state;
	EXPECT("{", JSON_SYNTAX);
	EXPECT("{\"a\":", JSON_SYNTAX);
	EXPECT("{\"a\":1,}", JSON_SYNTAX);
	EXPECT("[1,]", JSON_SYNTAX);
	EXPECT("'a'", JSON_SYNTAX);
	EXPECT("{a:1}", JSON_SYNTAX);
	EXPECT("\"abc", JSON_SYNTAX);
	EXPECT("\"\\x\"", JSON_SYNTAX);
	EXPECT("tru", JSON_SYNTAX);
	EXPECT("NaN", JSON_SYNTAX);
	EXPECT("+1", JSON_SYNTAX);
	EXPECT(".5", JSON_SYNTAX);
}

static void
test_parse_trailing_garbage(void **state)
{
	(void)state;
	EXPECT("{}x", JSON_SYNTAX);
	EXPECT("{} {}", JSON_SYNTAX);
	EXPECT("[1]]", JSON_SYNTAX);
	EXPECT("1 2", JSON_SYNTAX);
	EXPECT("1e", JSON_SYNTAX);
	EXPECT("0x10", JSON_SYNTAX);
	EXPECT("\"a\"\"b\"", JSON_SYNTAX);
	EXPECT("{\"a\":1}\x0b", JSON_SYNTAX);
}

/* The length, not a NUL, ends the input. */
static void
test_parse_exact_length(void **state)
{
	cJSON	*v;

	(void)state;
	/* A prefix of a longer buffer is parsed on its own. */
	assert_int_equal(parse_n("[1]xyz", 3, &v), JSON_OK);
	cJSON_Delete(v);
	assert_int_equal(parse_n("{\"a\":12345}", 9, &v), JSON_SYNTAX);
	assert_null(v);
	/* Values that end exactly at the end of the buffer. */
	expect_n("123", 3, JSON_OK);
	expect_n("12", 1, JSON_OK);
	expect_n("-", 1, JSON_SYNTAX);
	expect_n("\"abc\"", 5, JSON_OK);
	expect_n("\"abc\"", 4, JSON_SYNTAX);
	expect_n("\"\\", 2, JSON_SYNTAX);
	expect_n("\"\\u00", 5, JSON_SYNTAX);
	expect_n("\"\\u0000", 6, JSON_SYNTAX);
	expect_n("true", 4, JSON_OK);
	expect_n("true", 3, JSON_SYNTAX);
	expect_n("[[[", 3, JSON_SYNTAX);
}

static void
test_parse_nul_byte(void **state)
{
	(void)state;
	EXPECT("{\"a\":\"x\0y\"}", JSON_ENCODING);
	EXPECT("{\"a\":1}\0", JSON_ENCODING);
	EXPECT("\0{}", JSON_ENCODING);
}

static void
test_parse_u0000(void **state)
{
	cJSON		*v;
	const char	*s;

	(void)state;
	EXPECT("\"\\u0000\"", JSON_ENCODING);
	EXPECT("{\"a\":\"abc\\u0000def\"}", JSON_ENCODING);
	EXPECT("{\"a\\u0000b\":1}", JSON_ENCODING);
	EXPECT("[\"\\\\\\u0000\"]", JSON_ENCODING);	/* \\ then \u0000 */
	/* An escaped backslash followed by "u0000" is plain text. */
	assert_int_equal(parse_n("{\"a\":\"\\\\u0000\"}", 15, &v), JSON_OK);
	assert_int_equal(json_get_str(v, "a", 0, 100, &s), JSON_OK);
	assert_string_equal(s, "\\u0000");
	cJSON_Delete(v);
	/* Other escapes of small code points are fine. */
	EXPECT("\"\\u0001\"", JSON_OK);
	EXPECT("\"\\u0100\"", JSON_OK);
}

static void
test_parse_invalid_utf8(void **state)
{
	(void)state;
	EXPECT("\"\xc0\xaf\"", JSON_ENCODING);		/* overlong */
	EXPECT("\"\xe0\x80\xaf\"", JSON_ENCODING);	/* overlong */
	EXPECT("\"\xed\xa0\x80\"", JSON_ENCODING);	/* surrogate */
	EXPECT("\"\xf4\x90\x80\x80\"", JSON_ENCODING);	/* > U+10FFFF */
	EXPECT("\"\xc3\"", JSON_ENCODING);		/* truncated */
	EXPECT("\"\xe2\x82\"", JSON_ENCODING);		/* truncated */
	EXPECT("\"\xff\"", JSON_ENCODING);
	EXPECT("{\"k\xc3\":1}", JSON_ENCODING);		/* in a key */
	EXPECT("[1]\xc3", JSON_ENCODING);			/* at the end */
	/* Invalid UTF-8 cut off by the length is not seen at all. */
	expect_n("\"ok\"\xc3", 4, JSON_OK);
}

/*
 * RFC 8259 section 7: control characters U+0000..U+001F must be escaped
 * inside strings, and only space, tab, CR and LF are white space.  cJSON
 * accepts both raw, so a value can carry a raw newline or escape byte
 * into whatever stores or prints it.
 */
static void
test_parse_control_chars(void **state)
{
	(void)state;
	EXPECT("\"a\nb\"", JSON_SYNTAX);
	EXPECT("{\"a\":\"x\x1b[31my\"}", JSON_SYNTAX);
	EXPECT("{\"a\x01\":1}", JSON_SYNTAX);
	EXPECT("[1,\x0c" "2]", JSON_SYNTAX);
	EXPECT("\x0b{}", JSON_SYNTAX);
}

/* RFC 8259 numbers: no leading zeros, digits after a '.'. */
static void
test_parse_number_grammar(void **state)
{
	(void)state;
	EXPECT("[0, -0, 0.5, -1.5e3, 1E+2, 1e-2]", JSON_OK);
	EXPECT("01", JSON_SYNTAX);
	EXPECT("[-01]", JSON_SYNTAX);
	EXPECT("1.", JSON_SYNTAX);
	EXPECT("[1.e5]", JSON_SYNTAX);
}

/* An object of n keys "k0".."k{n-1}", then dup (a key, or NULL). */
static char *
many_keys(size_t n, const char *dup)
{
	char	*buf = malloc(n * 24 + 64), *p = buf;
	size_t	 i;

	assert_non_null(buf);
	*p++ = '{';
	for (i = 0; i < n; i++)
		p += sprintf(p, "%s\"k%zu\":%zu", i ? "," : "", i, i);
	if (dup != NULL)
		p += sprintf(p, ",\"%s\":0", dup);
	strcpy(p, "}");
	return buf;
}

/*
 * Large objects: the check sorts, so 200,000 keys parse in well under a
 * second (pairwise it was minutes), and a repeat anywhere is found.
 */
static void
test_parse_duplicates_many_keys(void **state)
{
	const char	*dups[] = { NULL, "k0", "k199999", "k100000", "k17" };
	char		*s;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(dups) / sizeof(dups[0]); i++) {
		s = many_keys(200000, dups[i]);
		expect_n(s, strlen(s), dups[i] == NULL ? JSON_OK :
		    JSON_DUPLICATE);
		free(s);
	}
	/* Small and large objects nested: the inner repeat counts. */
	s = many_keys(40, NULL);
	expect_n(s, strlen(s), JSON_OK);
	free(s);
	EXPECT("{\"a\":{\"k0\":1,\"k1\":1,\"k2\":1,\"k3\":1,\"k4\":1,"
	    "\"k5\":1,\"k6\":1,\"k7\":1,\"k8\":1,\"k9\":1,\"k10\":1,"
	    "\"k11\":1,\"k12\":1,\"k13\":1,\"k14\":1,\"k15\":1,"
	    "\"k16\":1,\"k3\":2}}", JSON_DUPLICATE);
}

static void
test_parse_duplicates(void **state)
{
	(void)state;
	EXPECT("{\"a\":1,\"a\":2}", JSON_DUPLICATE);
	EXPECT("{\"a\":1,\"b\":2,\"a\":1}", JSON_DUPLICATE);
	EXPECT("{\"x\":{\"a\":1,\"a\":2}}", JSON_DUPLICATE);
	EXPECT("[{\"a\":1},{\"b\":[{\"c\":1,\"c\":1}]}]", JSON_DUPLICATE);
	/* The same key after unescaping is the same key. */
	EXPECT("{\"a\":1,\"\\u0061\":2}", JSON_DUPLICATE);
	/* Keys differ by case: not duplicates. */
	EXPECT("{\"a\":1,\"A\":2}", JSON_OK);
	/* The same key in sibling objects is fine. */
	EXPECT("[{\"a\":1},{\"a\":2}]", JSON_OK);
	EXPECT("{\"a\":{\"a\":{\"a\":1}}}", JSON_OK);
}

/* n nested arrays, or objects when obj, around a 1. */
static char *
nested(int n, int obj, size_t *len)
{
	char	*b, *p;
	int	 i;

	b = malloc((size_t)n * 6 + 2);
	assert_non_null(b);
	p = b;
	for (i = 0; i < n; i++) {
		if (obj) {
			memcpy(p, "{\"k\":", 5);
			p += 5;
		} else
			*p++ = '[';
	}
	*p++ = '1';
	for (i = 0; i < n; i++)
		*p++ = obj ? '}' : ']';
	*len = (size_t)(p - b);
	return b;
}

static void
test_parse_depth(void **state)
{
	char	*b;
	size_t	 len;
	int	 obj;

	(void)state;
	for (obj = 0; obj <= 1; obj++) {
		b = nested(JSON_MAX_DEPTH, obj, &len);
		expect_n(b, len, JSON_OK);
		free(b);
		b = nested(JSON_MAX_DEPTH + 1, obj, &len);
		expect_n(b, len, JSON_DEPTH);
		free(b);
		b = nested(5000, obj, &len);
		expect_n(b, len, JSON_DEPTH);
		free(b);
	}
	/* Brackets inside strings do not nest. */
	EXPECT("[\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"]", JSON_OK);
	/* Depth comes back down between siblings. */
	b = nested(JSON_MAX_DEPTH - 1, 0, &len);
	{
		char	*two = malloc(2 * len + 3);

		assert_non_null(two);
		two[0] = '[';
		memcpy(two + 1, b, len);
		two[1 + len] = ',';
		memcpy(two + 2 + len, b, len);
		two[2 + 2 * len] = ']';
		expect_n(two, 2 * len + 3, JSON_OK);
		free(two);
	}
	free(b);
}

/* Parses a literal object for the getter tests. */
static cJSON *
obj(const char *text)
{
	cJSON	*v = NULL;

	if (parse_n(text, strlen(text), &v) != JSON_OK)
		fail_msg("fixture does not parse: %s", text);
	return v;
}

static void
test_get_str(void **state)
{
	cJSON		*v;
	const char	*s = NULL;

	(void)state;
	v = obj("{\"name\":\"Ann\",\"Name\":\"Bob\",\"n\":1,\"e\":\"\","
	    "\"u\":\"\xc3\xa9t\xc3\xa9\",\"z\":null}");
	assert_int_equal(json_get_str(v, "name", 0, 10, &s), JSON_OK);
	assert_string_equal(s, "Ann");
	/* Case-sensitive: "Name" is another key, "NAME" none. */
	assert_int_equal(json_get_str(v, "Name", 0, 10, &s), JSON_OK);
	assert_string_equal(s, "Bob");
	assert_int_equal(json_get_str(v, "NAME", 0, 10, &s), JSON_MISSING);
	assert_int_equal(json_get_str(v, "missing", 0, 10, &s), JSON_MISSING);
	assert_int_equal(json_get_str(v, "n", 0, 10, &s), JSON_TYPE);
	assert_int_equal(json_get_str(v, "z", 0, 10, &s), JSON_TYPE);
	/* Length bounds are inclusive and in bytes. */
	assert_int_equal(json_get_str(v, "name", 3, 3, &s), JSON_OK);
	assert_int_equal(json_get_str(v, "name", 4, 10, &s), JSON_RANGE);
	assert_int_equal(json_get_str(v, "name", 0, 2, &s), JSON_RANGE);
	assert_int_equal(json_get_str(v, "e", 1, 10, &s), JSON_RANGE);
	assert_int_equal(json_get_str(v, "e", 0, 10, &s), JSON_OK);
	assert_string_equal(s, "");
	assert_int_equal(json_get_str(v, "u", 5, 5, &s), JSON_OK);
	assert_int_equal(json_get_str(v, "u", 0, 4, &s), JSON_RANGE);
	cJSON_Delete(v);
	/* Not an object. */
	v = obj("[\"name\"]");
	assert_int_equal(json_get_str(v, "name", 0, 10, &s), JSON_MISSING);
	cJSON_Delete(v);
	assert_int_equal(json_get_str(NULL, "name", 0, 10, &s),
	    JSON_MISSING);
}

static void
test_get_int(void **state)
{
	cJSON		*v;
	long long	 n = 0;

	(void)state;
	v = obj("{\"i\":42,\"neg\":-7,\"zero\":0,\"f\":1.5,\"big\":1e300,"
	    "\"nbig\":-1e300,\"inf\":1e999,\"s\":\"5\",\"b\":true,\"z\":null,"
	    "\"safe\":9007199254740991,\"nsafe\":-9007199254740991,"
	    "\"e2\":1e2,\"I\":43,\"o\":{},\"a\":[1]}");
	assert_int_equal(json_get_int(v, "i", 0, 100, &n), JSON_OK);
	assert_int_equal(n, 42);
	assert_int_equal(json_get_int(v, "I", 0, 100, &n), JSON_OK);
	assert_int_equal(n, 43);
	assert_int_equal(json_get_int(v, "neg", -10, 0, &n), JSON_OK);
	assert_int_equal(n, -7);
	assert_int_equal(json_get_int(v, "e2", 0, 100, &n), JSON_OK);
	assert_int_equal(n, 100);
	/* Bounds inclusive. */
	assert_int_equal(json_get_int(v, "i", 42, 42, &n), JSON_OK);
	assert_int_equal(json_get_int(v, "i", 43, 100, &n), JSON_RANGE);
	assert_int_equal(json_get_int(v, "i", 0, 41, &n), JSON_RANGE);
	assert_int_equal(json_get_int(v, "neg", 0, 10, &n), JSON_RANGE);
	assert_int_equal(json_get_int(v, "zero", 0, 0, &n), JSON_OK);
	assert_int_equal(n, 0);
	/* Not integers. */
	n = 99;
	assert_int_equal(json_get_int(v, "f", 0, 100, &n), JSON_TYPE);
	assert_int_equal(json_get_int(v, "s", 0, 100, &n), JSON_TYPE);
	assert_int_equal(json_get_int(v, "b", 0, 100, &n), JSON_TYPE);
	assert_int_equal(json_get_int(v, "z", 0, 100, &n), JSON_TYPE);
	assert_int_equal(json_get_int(v, "o", 0, 100, &n), JSON_TYPE);
	assert_int_equal(json_get_int(v, "a", 0, 100, &n), JSON_TYPE);
	assert_int_equal(n, 99);
	/* Huge values are refused, never saturated. */
	assert_int_not_equal(json_get_int(v, "big", LLONG_MIN, LLONG_MAX, &n),
	    JSON_OK);
	assert_int_not_equal(json_get_int(v, "nbig", LLONG_MIN, LLONG_MAX,
	    &n), JSON_OK);
	assert_int_not_equal(json_get_int(v, "inf", LLONG_MIN, LLONG_MAX,
	    &n), JSON_OK);
	assert_int_equal(n, 99);
	assert_int_equal(json_get_int(v, "big", LLONG_MIN, LLONG_MAX, &n),
	    JSON_RANGE);
	/* 2^53 - 1 is the largest integer a double holds unambiguously. */
	assert_int_equal(json_get_int(v, "safe", LLONG_MIN, LLONG_MAX, &n),
	    JSON_OK);
	assert_int_equal(n, 9007199254740991LL);
	assert_int_equal(json_get_int(v, "nsafe", LLONG_MIN, LLONG_MAX, &n),
	    JSON_OK);
	assert_int_equal(n, -9007199254740991LL);
	assert_int_equal(json_get_int(v, "missing", 0, 1, &n), JSON_MISSING);
	assert_int_equal(json_get_int(v, "IX", 0, 1, &n), JSON_MISSING);
	cJSON_Delete(v);
}

/*
 * Beyond 2^53 a double cannot tell neighbours apart: 2^53 + 1 parses as
 * 2^53, so accepting it hands the caller a number the client never sent.
 */
static void
test_get_int_beyond_2_53(void **state)
{
	static const char *const texts[] = {
		"{\"n\":9007199254740993}",	/* 2^53 + 1, reads as 2^53 */
		"{\"n\":-9007199254740993}",
	};
	cJSON		*v;
	long long	 n;
	size_t		 i;
	enum json_status st;

	(void)state;
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		v = obj(texts[i]);
		n = 0;
		st = json_get_int(v, "n", LLONG_MIN, LLONG_MAX, &n);
		cJSON_Delete(v);
		if (st != JSON_RANGE)
			fail_msg("%s: %s (n = %lld), want json_range", texts[i],
			    json_status_code(st), n);
	}
}

/* Far beyond 2^53, within long long: refused, never rounded. */
static void
test_get_int_far_beyond_2_53(void **state)
{
	static const char *const texts[] = {
		"{\"n\":18014398509481984}",	/* 2^54 */
		"{\"n\":-18014398509481984}",
		"{\"n\":9223372036854775807}",	/* LLONG_MAX */
		"{\"n\":-9223372036854775808}",	/* LLONG_MIN */
		"{\"n\":1e19}",
	};
	cJSON		*v;
	long long	 n;
	size_t		 i;
	enum json_status st;

	(void)state;
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		v = obj(texts[i]);
		n = 0;
		st = json_get_int(v, "n", LLONG_MIN, LLONG_MAX, &n);
		cJSON_Delete(v);
		if (st != JSON_RANGE)
			fail_msg("%s: %s (n = %lld), want json_range", texts[i],
			    json_status_code(st), n);
	}
}

static void
test_get_bool(void **state)
{
	cJSON	*v;
	int	 b = 7;

	(void)state;
	v = obj("{\"t\":true,\"f\":false,\"one\":1,\"s\":\"true\",\"z\":null,"
	    "\"T\":false}");
	assert_int_equal(json_get_bool(v, "t", &b), JSON_OK);
	assert_int_equal(b, 1);
	assert_int_equal(json_get_bool(v, "f", &b), JSON_OK);
	assert_int_equal(b, 0);
	assert_int_equal(json_get_bool(v, "T", &b), JSON_OK);
	assert_int_equal(b, 0);
	b = 7;
	assert_int_equal(json_get_bool(v, "one", &b), JSON_TYPE);
	assert_int_equal(json_get_bool(v, "s", &b), JSON_TYPE);
	assert_int_equal(json_get_bool(v, "z", &b), JSON_TYPE);
	assert_int_equal(json_get_bool(v, "x", &b), JSON_MISSING);
	assert_int_equal(b, 7);
	cJSON_Delete(v);
}

static void
test_print(void **state)
{
	static const char	*text = "{\"a\":[1,2.5,true,false,null],"
				    "\"s\":\"\xc3\xa9\\\"\\\\\\n\\u0001\","
				    "\"o\":{}}";
	cJSON			*v;
	char			*s;
	size_t			 len = 0;

	(void)state;
	/* Compact, round-trips, control characters escaped. */
	v = obj("{ \"a\" : [ 1, 2.5, true, false, null ],\n"
	    "  \"s\": \"\\u00e9\\\"\\\\\\n\\u0001\", \"o\": { } }");
	s = json_print(v, &len);
	cJSON_Delete(v);
	assert_non_null(s);
	assert_string_equal(s, text);
	assert_int_equal(len, strlen(text));
	free(s);

	v = cJSON_CreateString("x");
	assert_non_null(v);
	s = json_print(v, &len);
	cJSON_Delete(v);
	assert_non_null(s);
	assert_string_equal(s, "\"x\"");
	assert_int_equal(len, 3);
	free(s);
}

static void
test_status_code(void **state)
{
	(void)state;
	assert_string_equal(json_status_code(JSON_OK), "json_ok");
	assert_string_equal(json_status_code(JSON_SYNTAX), "json_syntax");
	assert_string_equal(json_status_code(JSON_DUPLICATE),
	    "json_duplicate");
	assert_string_equal(json_status_code(JSON_NOMEM), "json_nomem");
	assert_string_equal(json_status_code(JSON__MAX), "json_unknown");
}

/*
 * A body of many tiny values would cost cJSON ~64 bytes each: past
 * JSON_MAX_VALUES it is refused before a node is built.
 */
static void
test_too_many_values_refused_before_parsing(void **state)
{
	size_t	 n, len;
	char	*buf;
	cJSON	*v;

	(void)state;
	for (n = JSON_MAX_VALUES - 1; n <= JSON_MAX_VALUES; n++) {
		len = 2 * n + 1;
		assert_non_null(buf = malloc(len + 1));
		buf[0] = '[';
		memset(buf + 1, '0', len - 1);
		for (size_t i = 2; i < len - 1; i += 2)
			buf[i] = ',';
		buf[len - 1] = ']';
		buf[len] = '\0';
		if (n < JSON_MAX_VALUES) {
			/* The array and its n values: exactly the cap. */
			assert_int_equal(json_parse(buf, len, &v), JSON_OK);
			assert_int_equal(cJSON_GetArraySize(v), (int)n);
			cJSON_Delete(v);
		} else {
			assert_int_equal(json_parse(buf, len, &v),
			    JSON_TOO_MANY);
			assert_null(v);
		}
		free(buf);
	}
	assert_string_equal(json_status_code(JSON_TOO_MANY),
	    "json_too_many_values");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_too_many_values_refused_before_parsing),
		cmocka_unit_test(test_parse_ok),
		cmocka_unit_test(test_parse_empty),
		cmocka_unit_test(test_parse_syntax),
		cmocka_unit_test(test_parse_trailing_garbage),
		cmocka_unit_test(test_parse_exact_length),
		cmocka_unit_test(test_parse_nul_byte),
		cmocka_unit_test(test_parse_u0000),
		cmocka_unit_test(test_parse_invalid_utf8),
		cmocka_unit_test(test_parse_control_chars),
		cmocka_unit_test(test_parse_number_grammar),
		cmocka_unit_test(test_parse_duplicates),
		cmocka_unit_test(test_parse_duplicates_many_keys),
		cmocka_unit_test(test_parse_depth),
		cmocka_unit_test(test_get_str),
		cmocka_unit_test(test_get_int),
		cmocka_unit_test(test_get_int_beyond_2_53),
		cmocka_unit_test(test_get_int_far_beyond_2_53),
		cmocka_unit_test(test_get_bool),
		cmocka_unit_test(test_print),
		cmocka_unit_test(test_status_code),
	};

	return cmocka_run_group_tests_name("json", tests, NULL, NULL);
}
