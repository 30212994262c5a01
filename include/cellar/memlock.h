/*
 * Keeping key material out of swap, at a cost paid once per process.
 *
 * SQLCipher 3.4.1 (Debian 12) mlock(2)s every buffer it allocates for a
 * connection's keys and ciphers and munlock(2)s it when freed: about 20
 * of each per tenant file opened, each splitting and merging the heap's
 * memory mappings.  Measured on the bench machine (a loop of
 * tenantdb_open, a count query and tenantdb_close over 1,000 files),
 * that is about 300 of the 475 microseconds an open and close cost in
 * rollback-journal mode, the largest part of a request for a tenant
 * whose file is not already open (make bench-scale).  libsodium's sodium_malloc does the same
 * for its guarded pages.  Neither can be turned off in those versions
 * (SQLCipher's cipher_memory_security pragma came in 4.0).
 *
 * memlock_all() locks the whole process instead, as HashiCorp Vault
 * does: mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT), so every page
 * the process touches, now or later, stays in memory, which covers what
 * SQLCipher and libsodium lock and the key schedules they do not (the
 * OpenSSL contexts).  This module also defines mlock and munlock, which
 * the dynamic linker binds SQLCipher's and libsodium's calls to: once
 * the whole process is locked they do nothing (an munlock would unlock
 * pages the process keeps locked, and other secrets may share them);
 * before that, or when mlockall was refused, they are the system calls,
 * so the libraries' own locking stands exactly as before.
 *
 * mlockall needs RLIMIT_MEMLOCK above the process's virtual size, or
 * CAP_IPC_LOCK: the units set LimitMEMLOCK (conf/systemd); a developer's
 * shell (8 MiB by default) falls back to the per-buffer locks, which
 * only makes opening a tenant file slower.  Sanitizer builds never lock
 * everything (their shadow memory is terabytes of reserved space).
 */
#ifndef CELLAR_MEMLOCK_H
#define CELLAR_MEMLOCK_H

/*
 * Locks every page this process has and will have.  0 if done, -1 if
 * refused (errno from mlockall, or ENOTSUP in a sanitizer build): the
 * libraries then keep locking their own buffers.  Call once, early.
 */
int		 memlock_all(void);

/* 1 once memlock_all succeeded, else 0. */
int		 memlock_active(void);

#endif
