/*
 * clock: the one clock every module asks for "now".  Unit tests fix it
 * with clock_fake, so time-dependent behaviour is tested without
 * sleeping; the app log stamps its lines with it too.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "cellar/clock.h"
#include "cellar/log.h"
#include "fixture.h"

static void
test_fake_and_back(void **state)
{
	long long	 real;

	(void)state;
	clock_fake(FX_NOW);
	assert_int_equal(clock_now(), FX_NOW);
	clock_fake(0);
	real = (long long)time(NULL);
	assert_true(clock_now() >= real - 1 && clock_now() <= real + 1);
}

static void
test_days_are_utc_floor(void **state)
{
	(void)state;
	assert_int_equal(clock_day(0), 0);
	assert_int_equal(clock_day(CLOCK_DAY - 1), 0);
	assert_int_equal(clock_day(CLOCK_DAY), 1);
	assert_int_equal(clock_day(-1), -1);
	assert_int_equal(clock_day(-CLOCK_DAY), -1);
	assert_int_equal(clock_day(-CLOCK_DAY - 1), -2);
	/* 2026-11-18 is day 20775 since 1970-01-01. */
	assert_int_equal(clock_day(FX_NOW), 20775);
}

static void
test_monotonic_never_goes_back(void **state)
{
	long long	 a, b;

	(void)state;
	clock_fake(FX_NOW);
	a = clock_mono_usec();
	b = clock_mono_usec();
	assert_true(a > 0);
	assert_true(b >= a);
	clock_fake(0);
}

static void
test_log_lines_carry_the_clocks_time(void **state)
{
	(void)state;
	fx_log_start();
	log_init("test_clock", LOGL_INFO);
	clock_fake(FX_NOW);
	log_msg(LOGL_INFO, "abc", "event=one");
	clock_fake(FX_NOW + CLOCK_DAY + 61);
	log_msg(LOGL_WARN, NULL, "event=two");
	clock_fake(0);
	assert_non_null(strstr(fx_log_text(), "2026-11-18T11:06:40Z "
	    "test_clock["));
	assert_non_null(strstr(fx_log_text(), " info rid=abc event=one\n"));
	assert_non_null(strstr(fx_log_text(), "2026-11-19T11:07:41Z "
	    "test_clock["));
	assert_non_null(strstr(fx_log_text(), " warn rid=- event=two\n"));
	fx_log_stop();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fake_and_back),
		cmocka_unit_test(test_days_are_utc_floor),
		cmocka_unit_test(test_monotonic_never_goes_back),
		cmocka_unit_test(test_log_lines_carry_the_clocks_time),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
