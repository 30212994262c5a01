/*
 * A tenant's own database file (state_dir/tenants/ID.db), opened under
 * the tenant's current data key, as an explicit handle that owns its
 * prepared statements.  Every tenant store (tpl.h, and those to come)
 * works on a handle, so the worker, cellarctl, the reaper and the unit
 * tests use the stores alike; the worker keeps a few handles open
 * between requests (its pool), others open one for a job.
 *
 * Opening is kept cheap, because a worker serving many active tenants
 * opens often: the data key is unwrapped into guarded memory taken once
 * per process and the file keyed with the raw key (no PBKDF2), the file
 * uses a rollback journal (no -wal and -shm to open, rebuild and
 * checkpoint; db.h), the owner check is one read, and statements are
 * prepared when first used, not at open.  An open handle costs one
 * descriptor and about 45 KiB once shrunk (tenantdb_release_memory),
 * plus its page cache (at most 128 KiB) while in use.
 */
#ifndef CELLAR_TENANTDB_H
#define CELLAR_TENANTDB_H

#include <sqlite3.h>

#include "cellar/err.h"

struct registry;
struct tenant;
struct tenantdb;

/*
 * The stores that keep statements in a handle: each numbers its own
 * statements with an enum of at most TENANTDB_STMTS entries.
 */
enum tenantdb_store {
	TDB_TPL = 0,		/* canned responses (tpl.c) */
	TDB_PANO,		/* panoramas (pano.c) */
	TDB__MAX
};

/* Most statements one store may keep in a handle. */
#define TENANTDB_STMTS	32

/*
 * Opens tenant t's file under its current data key and checks that the
 * file names t as its owner (a file copied over another tenant's is
 * refused).  ERR_OK with *out set (close it with tenantdb_close).  Else
 * the reason (dek_unwrap_failed, tenant_open_failed, tenant_file_owner)
 * goes to the app log with rid (may be NULL), the file is never
 * changed, and the answer is ERR_QUARANTINED (the file does not open
 * under its own key, is missing, or names someone else: the tenant must
 * be held), ERR_STORAGE_FULL (no room to open it) or ERR_INTERNAL.
 */
enum err	 tenantdb_open(struct registry *, const struct tenant *t,
		    const char *rid, struct tenantdb **out)
		    __attribute__((warn_unused_result));

/*
 * Finalizes every statement and closes the file; NULL is ignored.  The
 * last connection to a WAL file (one an older cellar left in WAL mode
 * and not yet switched) checkpoints its -wal into it: never close a
 * damaged (quarantined) tenant's handle, abandon it.
 */
void		 tenantdb_close(struct tenantdb *);

/*
 * Finalizes every statement and frees h but leaves its connection open
 * until the process exits, so that nothing is ever written to the file
 * again: SQLite 3.15 checkpoints a -wal into its database when the last
 * connection closes (SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE came in 3.16), and
 * a quarantined file and its -wal must stay as they were found.  NULL is
 * ignored.
 */
void		 tenantdb_abandon(struct tenantdb *);

/*
 * 0 if the whole file reads back intact (PRAGMA integrity_check, every
 * page's HMAC checked on the way), -1 if not.  Costs a full read.
 */
int		 tenantdb_check(struct tenantdb *);

/*
 * Opens tenant t's file and reads it back whole (tenantdb_check), then
 * lets go of it: closed if it passed, abandoned if not (never a close
 * that could checkpoint a -wal into a damaged file).  0 if it opens and
 * passes, -1 if not (the reason in the app log).  For an operator's
 * check before a hold is lifted.
 */
int		 tenantdb_verify(struct registry *, const struct tenant *t);

/*
 * Whether the file on disk is ciphertext: 1 if its first 16 bytes are
 * not SQLite's plaintext header ("SQLite format 3" and a NUL, the
 * database file format's offset 0), 0 if they are, -1 if the file
 * cannot be read.  Reads 16 bytes through the descriptor SQLite holds
 * (db_file_head; never one of our own: db.h): evidence for GET
 * /api/tenant.
 */
int		 tenantdb_encrypted(const struct tenantdb *);

/* The connection (sqlite3_changes, a backup's source). */
sqlite3		*tenantdb_sqlite(const struct tenantdb *);

/*
 * Every write to a tenant's file: db_tx on the handle's connection, but
 * inside the write lock it first checks that the handle's key version is
 * still the tenant's current one.  A key rotation writes the file anew
 * under a new key beside the old one and holds the old file's write
 * lock until the registry names the new file; a write that got the old
 * file's lock after that would be lost, so it is refused, nothing
 * written: ERR_REKEYED (503, Retry-After; the worker's pool opens the
 * new file on the next request).  Otherwise as db_tx.
 */
enum err	 tenantdb_tx(struct tenantdb *, enum err (*fn)(sqlite3 *,
		    void *), void *arg) __attribute__((warn_unused_result));

/* The tenant id (TENANT_ID_LEN hex) and the data key version it holds. */
const char	*tenantdb_id(const struct tenantdb *);
int		 tenantdb_key_version(const struct tenantdb *);

/*
 * The tenant's holds (registry: times quarantined) when h was opened: a
 * handle whose count is behind the registry's predates a hold and must
 * never be used again (the file may have been restored since).
 */
long long	 tenantdb_holds(const struct tenantdb *);

/*
 * Frees what h holds in memory beyond the open connection: its prepared
 * statements (prepared again on next use) and its page cache (SQLite's
 * sqlite3_db_release_memory; pages are read and decrypted again).  An
 * idle handle then costs about 45 KiB (mostly the parsed schema, which
 * every connection keeps) instead of about 170 KiB (most of it the page
 * cache's first bulk allocation).  h stays open and valid.
 */
void		 tenantdb_release_memory(struct tenantdb *);

/*
 * Statement i (< TENANTDB_STMTS) of store s, whose text is sql: prepared
 * on first use and kept for the handle's life.  A store always passes
 * the same text for the same (s, i): its own table indexed by its own
 * enum.  Give it back with db_stmt_done; never finalize it.  NULL on a
 * prepare error.
 */
sqlite3_stmt	*tenantdb_stmt(struct tenantdb *, enum tenantdb_store s,
		    int i, const char *sql);

#endif
