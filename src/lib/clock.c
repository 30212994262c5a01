/*
 * The clock; see clock.h.
 */
#include <time.h>

#include "cellar/clock.h"

static long long	 fake_now;

long long
clock_now(void)
{
	return fake_now != 0 ? fake_now : (long long)time(NULL);
}

long long
clock_day(long long t)
{
	/* Floor division: a time before the epoch is in day -1, not 0. */
	return t >= 0 ? t / CLOCK_DAY : -((-t + CLOCK_DAY - 1) / CLOCK_DAY);
}

long long
clock_mono_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

long long
clock_mono(void)
{
	return clock_mono_usec() / 1000000;
}

void
clock_fake(long long t)
{
	fake_now = t;
}
