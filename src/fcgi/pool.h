/*
 * The worker's open tenant databases.  Opening a tenant file costs about
 * 170 microseconds (key setup, schema read, the owner check; db.h has
 * the measurements), more than a request's own work, so each worker
 * keeps up to POOL_SIZE tenant handles (tenantdb.h) open between
 * requests, least recently used out first.  The POOL_WARM handed out
 * last keep their page caches and statements; the others are shrunk to
 * about 45 KiB (most of it the connection's parsed schema, which grew
 * with the panorama tables) and one descriptor each, so a worker stays
 * under 8 MB of private memory and about 110 descriptors however many
 * tenants are active (make bench-scale prints both).  With more active tenants than
 * POOL_SIZE per worker, most requests open a file: the throughput then
 * is what an open costs (about a fifth of the one-tenant figure at
 * 1,000 active tenants on the bench machine).
 *
 * A handle is only reused for the same tenant, the same data key
 * version and the same count of holds: a rotation (new data key), a
 * departure (checked by authentication before anyone asks) or a
 * quarantine, released or not, never sees a stale handle.  A handle of
 * a tenant held, now or since it was opened, is abandoned instead of
 * closed (closing could checkpoint a -wal into the file), and the
 * worker then exits after its request.
 */
#ifndef CELLAR_FCGI_POOL_H
#define CELLAR_FCGI_POOL_H

#include "cellar/err.h"

struct registry;
struct tenant;
struct tenantdb;

/*
 * Handles a worker keeps open, and how many of them (the last handed
 * out) keep their page cache and statements; the others are shrunk to
 * about 45 KiB and one descriptor each (tenantdb_release_memory).  With
 * the schema of sql/tenant/0004, a worker at 1,000 active tenants was
 * 9.3 MiB private with 160 handles and 8.1 MiB with 120; 100 keep it
 * under 8 MB (make bench-scale prints it).
 */
#define POOL_SIZE	100
#define POOL_WARM	32

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
 * 1 once this process abandoned a handle (a hold found here or by
 * another worker): it is to exit after the request in hand, for its
 * connection stays on the file and SQLite shares a file's -shm between
 * the connections of a process.
 */
int		 pool_exit_wanted(void);

/*
 * Lets go of every pooled handle (at worker exit, and in tests): closed,
 * or abandoned where the registry says (or cannot deny) the tenant is
 * quarantined; reg NULL abandons all.
 */
void		 pool_clear(struct registry *reg);

#endif
