/*
 * Whole-process memory locking; see memlock.h.
 */
#include <errno.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cellar/memlock.h"

#ifndef MCL_ONFAULT
#define MCL_ONFAULT	4
#endif

#if defined(__SANITIZE_ADDRESS__)
#define MEMLOCK_SANITIZED	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MEMLOCK_SANITIZED	1
#endif
#endif

static int	 all_locked;

int
memlock_all(void)
{
#ifdef MEMLOCK_SANITIZED
	errno = ENOTSUP;
	return -1;
#else
	if (all_locked)
		return 0;
	if (mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) == -1)
		return -1;
	all_locked = 1;
	return 0;
#endif
}

int
memlock_active(void)
{
	return all_locked;
}

/*
 * The C library's mlock and munlock, as the libraries' calls reach
 * them: the program's definitions come first in the dynamic linker's
 * search.  Before memlock_all (or without it) they are the system calls.
 */
int
mlock(const void *addr, size_t len)
{
	if (all_locked)
		return 0;
	return (int)syscall(SYS_mlock, addr, len);
}

int
munlock(const void *addr, size_t len)
{
	if (all_locked)
		return 0;
	return (int)syscall(SYS_munlock, addr, len);
}
