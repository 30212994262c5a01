/*
 * The one clock.  Wall time (seconds since the epoch, UTC) is what token
 * claims (exp, iat, nbf) and stored dates are measured in; monotonic
 * time is for durations.  Everything in cellar that needs "now" asks
 * here, so a unit test can fix the wall clock with clock_fake() and walk
 * a time-dependent case (a token expiring, a day passing) without
 * sleeping.
 */
#ifndef CELLAR_CLOCK_H
#define CELLAR_CLOCK_H

/* Seconds in a day: dates are stored as days since the epoch (UTC). */
#define CLOCK_DAY	86400LL

/* Wall clock: seconds since the epoch, UTC (or the fake time). */
long long	 clock_now(void);

/* Days since the epoch (UTC) of t, a wall-clock time in seconds. */
long long	 clock_day(long long t);

/* Monotonic clock in microseconds (never faked): durations. */
long long	 clock_mono_usec(void);

/*
 * Monotonic clock in seconds: cache lifetimes and throttles, which a
 * step of the wall clock (back or forth) must not stretch or cut.
 */
long long	 clock_mono(void);

/*
 * Unit tests only: clock_now() answers t from now on; t = 0 brings the
 * real clock back.  The programs never call it.
 */
void		 clock_fake(long long t);

#endif
