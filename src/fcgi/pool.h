/*
 * The worker's open tenant databases.  Opening a SQLCipher file costs
 * about a millisecond (key setup) and closing one half of that (WAL
 * checkpoint), far more than a request's own work, so each worker keeps
 * a few tenant handles (tenantdb.h) open between requests, least
 * recently used out first.  A handle is only reused for the same tenant
 * and the same data key version: a rotation (new data key) or a
 * departure (checked by authentication before anyone asks) never sees a
 * stale handle.
 */
#ifndef CELLAR_FCGI_POOL_H
#define CELLAR_FCGI_POOL_H

#include "cellar/err.h"

struct registry;
struct tenant;
struct tenantdb;

/* Handles a worker keeps open. */
#define POOL_SIZE	8

/*
 * A handle on t's file, from the pool or opened now (see
 * tenantdb_open).  It stays the pool's: callers never close it, and it
 * is valid until the next pool_tenantdb call.
 */
enum err	 pool_tenantdb(struct registry *, const struct tenant *t,
		    const char *rid, struct tenantdb **out)
		    __attribute__((warn_unused_result));

/*
 * Lets go of tenant id's handle, if the pool holds one, without closing
 * it (tenantdb_abandon): its file was found damaged.
 */
void		 pool_quarantine(const char *id);

/*
 * Lets go of every pooled handle (at worker exit, and in tests): closed,
 * or abandoned where the registry says (or cannot deny) the tenant is
 * quarantined; reg NULL abandons all.
 */
void		 pool_clear(struct registry *reg);

#endif
