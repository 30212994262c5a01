/*
 * buf: the one growable buffer.  What callers rely on: the text stays
 * NUL-terminated while it grows, a maximum is never passed (a reply from
 * Jira or a rendered template cannot grow without bound), and any
 * failure sticks until the end, so one check at buf_finish is enough.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cellar/buf.h"

static void
test_grows_and_stays_terminated(void **state)
{
	struct buf	 b = BUF_INIT(0);
	char		*s, chunk[100];
	size_t		 i, len;

	(void)state;
	memset(chunk, 'x', sizeof(chunk));
	for (i = 0; i < 100; i++) {
		buf_add(&b, chunk, sizeof(chunk));
		assert_int_equal(b.len, (i + 1) * sizeof(chunk));
		assert_int_equal(b.p[b.len], '\0');
	}
	buf_adds(&b, "end");
	assert_non_null(s = buf_finish(&b, &len));
	assert_int_equal(len, 100 * sizeof(chunk) + 3);
	assert_int_equal(strlen(s), len);
	assert_string_equal(s + len - 3, "end");
	/* Handed over: the buffer is empty and usable again. */
	assert_null(b.p);
	assert_int_equal(b.len, 0);
	free(s);
	buf_adds(&b, "again");
	assert_non_null(s = buf_finish(&b, NULL));
	assert_string_equal(s, "again");
	free(s);
}

static void
test_empty_finish_is_an_empty_string(void **state)
{
	struct buf	 b = BUF_INIT(0);
	char		*s;
	size_t		 len = 99;

	(void)state;
	assert_non_null(s = buf_finish(&b, &len));
	assert_string_equal(s, "");
	assert_int_equal(len, 0);
	free(s);
}

static void
test_max_is_never_passed_and_failure_sticks(void **state)
{
	struct buf	 b = BUF_INIT(10);
	char		*s;

	(void)state;
	buf_adds(&b, "0123456789");
	assert_false(b.failed);
	assert_true(b.cap <= 11);
	/* One byte more fails, and nothing added after counts. */
	buf_adds(&b, "x");
	assert_true(b.failed);
	buf_free(&b);
	b.max = 10;
	buf_adds(&b, "01234");
	buf_adds(&b, "567890");
	assert_true(b.failed);
	buf_adds(&b, "");
	buf_addf(&b, "%d", 1);
	assert_true(b.failed);
	assert_null(buf_finish(&b, NULL));
	/* buf_finish emptied it: usable again. */
	assert_false(b.failed);
	buf_adds(&b, "ok");
	assert_non_null(s = buf_finish(&b, NULL));
	assert_string_equal(s, "ok");
	free(s);
}

static void
test_addf_long_text(void **state)
{
	struct buf	 b = BUF_INIT(0);
	char		 big[1000], *s;

	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	buf_addf(&b, "[%s|%d]", big, 42);
	assert_non_null(s = buf_finish(&b, NULL));
	assert_int_equal(strlen(s), sizeof(big) - 1 + 5);
	assert_memory_equal(s + sizeof(big), "|42]", 4);
	free(s);
}

static void
test_curl_write_aborts_past_max(void **state)
{
	struct buf	 b = BUF_INIT(8);
	char		 data[] = "abcdefgh";

	(void)state;
	assert_int_equal(buf_curl_write(data, 1, 4, &b), 4);
	assert_int_equal(buf_curl_write(data, 2, 2, &b), 4);
	assert_int_equal(b.len, 8);
	/* Past the maximum: 0 tells libcurl to abort the transfer. */
	assert_int_equal(buf_curl_write(data, 1, 1, &b), 0);
	assert_true(b.failed);
	buf_free(&b);
	/* A size * nmemb that overflows is refused, not wrapped. */
	b.max = 0;
	assert_int_equal(buf_curl_write(data, (size_t)-1, 2, &b), 0);
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grows_and_stays_terminated),
		cmocka_unit_test(test_empty_finish_is_an_empty_string),
		cmocka_unit_test(test_max_is_never_passed_and_failure_sticks),
		cmocka_unit_test(test_addf_long_text),
		cmocka_unit_test(test_curl_write_aborts_past_max),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
