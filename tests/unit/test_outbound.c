/*
 * outbound: reading a reply header line (Retry-After, Cycle-Period,
 * Cache-Control) as libcurl hands it over.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cellar/outbound.h"

static int
value(const char *line, const char *name, char *out, size_t outsz)
{
	return outbound_header_value(line, strlen(line), name, out, outsz);
}

/* The value without blanks and line end, the name in any case. */
static void
test_header_found(void **state)
{
	char	 v[32];

	(void)state;
	assert_int_equal(value("Retry-After: 120\r\n", "Retry-After", v,
	    sizeof(v)), 1);
	assert_string_equal(v, "120");
	assert_int_equal(value("retry-after:\t 7 \r\n", "Retry-After", v,
	    sizeof(v)), 1);
	assert_string_equal(v, "7");
	assert_int_equal(value("CYCLE-PERIOD: 20 Days\r\n", "Cycle-Period", v,
	    sizeof(v)), 1);
	assert_string_equal(v, "20 Days");
	assert_int_equal(value("Cycle-Period:\r\n", "Cycle-Period", v,
	    sizeof(v)), 1);
	assert_string_equal(v, "");
}

/* Another header, a longer name, the status line: not this header. */
static void
test_header_other(void **state)
{
	char	 v[32];

	(void)state;
	assert_int_equal(value("Retry-After-X: 1\r\n", "Retry-After", v,
	    sizeof(v)), 0);
	assert_int_equal(value("HTTP/1.1 429 Too Many Requests\r\n",
	    "Retry-After", v, sizeof(v)), 0);
	assert_int_equal(value("Retry-After\r\n", "Retry-After", v,
	    sizeof(v)), 0);
	assert_int_equal(value("\r\n", "Retry-After", v, sizeof(v)), 0);
}

/* A value that does not fit, or holds a NUL, is refused, not cut. */
static void
test_header_too_long(void **state)
{
	char		 v[4];
	const char	 nul[] = "Retry-After: 1\0 2\r\n";

	(void)state;
	assert_int_equal(value("Retry-After: 1234\r\n", "Retry-After", v,
	    sizeof(v)), -1);
	assert_int_equal(value("Retry-After: 123\r\n", "Retry-After", v,
	    sizeof(v)), 1);
	assert_string_equal(v, "123");
	assert_int_equal(outbound_header_value(nul, sizeof(nul) - 1,
	    "Retry-After", v, sizeof(v)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_found),
		cmocka_unit_test(test_header_other),
		cmocka_unit_test(test_header_too_long),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
