/*
 * memlock: the whole process locked in memory, or, where that is
 * refused (here: a sanitizer build, or RLIMIT_MEMLOCK too low), the
 * libraries' own mlock and munlock calls still lock and unlock.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "cellar/memlock.h"

/* VmLck of this process, KiB. */
static long
locked_kib(void)
{
	FILE	*fp;
	char	 line[256];
	long	 v = -1;

	assert_non_null(fp = fopen("/proc/self/status", "r"));
	while (fgets(line, sizeof(line), fp) != NULL)
		if (sscanf(line, "VmLck: %ld", &v) == 1)
			break;
	fclose(fp);
	return v;
}

static void
test_library_locks_hold_locked_whole_or_not(void **state)
{
	size_t	 len = 16 * 4096;
	long	 before;
	char	*p;

	(void)state;
	if (memlock_all() == 0) {
		/* Locked whole: a library's munlock must not unlock. */
		assert_int_equal(memlock_active(), 1);
		before = locked_kib();
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE |
		    MAP_ANONYMOUS, -1, 0);
		assert_true(p != MAP_FAILED);
		memset(p, 1, len);
		assert_true(locked_kib() >= before + 64);
		assert_int_equal(munlock(p, len), 0);
		assert_true(locked_kib() >= before + 64);
		munmap(p, len);
		return;
	}
	assert_int_equal(memlock_active(), 0);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE |
	    MAP_ANONYMOUS, -1, 0);
	assert_true(p != MAP_FAILED);
	before = locked_kib();
	/* What SQLCipher's and libsodium's calls reach: the system calls. */
	assert_int_equal(mlock(p, len), 0);
	assert_int_equal(locked_kib(), before + 64);
	assert_int_equal(munlock(p, len), 0);
	assert_int_equal(locked_kib(), before);
	munmap(p, len);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_library_locks_hold_locked_whole_or_not),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
