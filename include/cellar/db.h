/*
 * SQLCipher databases: opened with a raw 32-byte key (no PBKDF2), the key
 * checked right after opening, schema migrations applied in order, each
 * in one transaction; and the helpers every store uses for statements
 * and write transactions.
 *
 * SQLCipher 3.4.1 (SQLite 3.15.2) as Debian 12 ships it, and how it
 * fails, each checked on this stack:
 * - Build with -DSQLITE_HAS_CODEC and link -lsqlcipher only.  If plain
 *   libsqlite3 gets into the process first, databases are created in
 *   plaintext without an error: db_selftest() (PRAGMA cipher_version
 *   answers) runs before any program opens a file.
 * - A raw key must be exactly "x'<64 hex>'" (67 bytes): any other length,
 *   or binary bytes, silently becomes a passphrase run through PBKDF2
 *   (64 ms instead of 0.3 ms per open).
 * - A wrong key shows only at the first read: db_open reads sqlite_master
 *   at once.  SQLITE_NOTADB means wrong key or damaged page 1, and the
 *   two cannot be told apart: such a file is reported (DB_WRONG_KEY),
 *   never recreated, rekeyed or deleted.
 * - A read-then-write in a deferred transaction fails under concurrency
 *   even with a busy timeout: every writer goes through db_tx, which
 *   starts with BEGIN IMMEDIATE and retries SQLITE_BUSY a bounded number
 *   of times.
 * - PRAGMA rekey can return OK having done nothing; sqlite3_backup into
 *   an unkeyed destination, or ATTACH without KEY, writes plaintext;
 *   sqlcipher_export drops user_version.  (Rules for the reaper's jobs.)
 * - The busy timeout must be set before the first statement on a new
 *   connection: the key check and the schema read take locks too, and
 *   without it they fail at once while another connection sets up the
 *   WAL.  db_open sets it right after sqlite3_open_v2.
 * - A page that fails its HMAC is usually SQLITE_CORRUPT, but some reads
 *   (seen on index and overflow pages) report a bare SQLITE_ERROR "SQL
 *   logic error or missing database": db_err and db_open tell damage
 *   from a fault by reading every page (PRAGMA quick_check) on that
 *   error only.  tests/unit/test_tenantdb.c flips a byte in every page.
 * - The -wal, -shm and -journal files are part of a database: back them
 *   up, and delete them with it; a -wal left beside a restored file is
 *   replayed over it, and so is a hot -journal (a writer killed in its
 *   commit) rolled back into it.
 * - The connections of one process share a file's -shm (SQLite keys it
 *   by inode): a process that abandoned a connection (db_abandon) must
 *   not open that file again; the worker exits after the request.
 *   db_open makes a WAL file's -wal persistent (SQLITE_FCNTL_PERSIST_WAL,
 *   emptied on close by journal_size_limit 0): opening a WAL database
 *   creates both files, which fails on a full disk, so a file once
 *   opened keeps them and opens, and reads, there.  A rollback-journal
 *   file (DB_ROLLBACK: tenant files) creates its -journal only to
 *   write, and reads on a full disk anyway.
 * - Opening costs: SQLCipher 3.4.1 mlock(2)s and munlock(2)s each of its
 *   buffers (memlock.h), OpenSSL 3 fetches its algorithms per cipher
 *   context, and a WAL file nobody else has open has its -shm rebuilt
 *   (9 writes) and its -wal checkpointed at close.  Measured per open
 *   and close of a small tenant file on the bench machine: about 830
 *   microseconds in WAL mode with per-buffer locks, 170 in rollback mode
 *   with the process locked whole.
 * - One flipped byte in a -wal loses every transaction from that frame
 *   on, silently: recovery stops at the first bad checksum.  Only a
 *   -wal left by a crash holds transactions (a clean close empties it);
 *   backups bound the loss.
 * - Never open(2) and close(2) a database file that this process also
 *   has open in SQLite: closing any descriptor of a file drops every
 *   POSIX lock the process holds on it, SQLite's included.  Another
 *   process closing its connection then takes itself for the last one,
 *   checkpoints and truncates the -wal and -shm under our feet (seen:
 *   SQLITE_IOERR_SHORT_READ, 500s, while the reaper backed a tenant up
 *   and a worker answered GET /api/tenant).  db_file_head reads through
 *   SQLite's own descriptor.
 * - SQLite 3.15.2 has no UPSERT, RETURNING, JSON1, window functions or
 *   VACUUM INTO.  Bind every value; never open a file we did not make.
 */
#ifndef CELLAR_DB_H
#define CELLAR_DB_H

#include <stddef.h>

#include <sqlite3.h>

#include "cellar/err.h"

/* How long one attempt waits for another connection's lock (ms). */
#define DB_BUSY_MS	5000
/* Attempts db_tx makes at a transaction that finds the database busy. */
#define DB_TX_TRIES	3
/* Less free space than this (bytes) counts as a full disk. */
#define DB_ROOM_MIN	(256 * 1024)

enum db_status {
	DB_OK = 0,
	DB_MISSING,	/* no such file and create not asked */
	DB_WRONG_KEY,	/* SQLITE_NOTADB: wrong key or damaged header */
	DB_NEWER,	/* schema newer than this binary knows */
	DB_ERROR,	/* anything else (I/O, locks, no memory) */
	DB_FULL,	/* no room on the disk for what opening needs */
	DB_CORRUPT,	/* a page failed its check (SQLCipher's HMAC) */
	DB_BUSY,	/* locked past the busy timeout (a long migration) */
	DB__MAX
};

/* A migration: its file name and SQL, embedded at build time. */
struct db_migration {
	const char	*name;
	const char	*sql;
};

extern const struct db_migration	db_registry_migrations[];
extern const size_t			db_registry_nmigrations;
extern const struct db_migration	db_tenant_migrations[];
extern const size_t			db_tenant_nmigrations;

const char	*db_status_code(enum db_status);

/* db_open's flags. */
#define DB_CREATE	0x1	/* create the file if it is missing */
#define DB_ROLLBACK	0x2	/* rollback journal (DELETE), not WAL */
#define DB_KEEP_MODE	0x4	/* with DB_ROLLBACK: a WAL file stays WAL */

/*
 * Opens (creating with DB_CREATE) path with key (KEY_BYTES raw bytes),
 * checks the key, sets the journal mode, busy timeout, foreign keys and
 * secure delete, registers the CELLAR collation and cellar_fold()
 * (collate.h), then applies migrations m[0..nmig) past PRAGMA
 * user_version (migration i brings the schema to version i + 1).  New
 * files are created 0600 (the programs' umask).
 *
 * Journal mode: WAL by default (the registry: one file every worker
 * keeps open, where readers must never wait for a writer); with
 * DB_ROLLBACK a rollback journal (tenant files: many small files,
 * opened and closed as tenants come and go, read far more than
 * written).  Opening and closing a WAL file nobody else has open costs
 * about 0.5 ms more than a rollback-journal file (the -wal and -shm are
 * opened, the -shm rebuilt with 9 writes and mapped, the -wal
 * checkpointed at close); a rollback-journal read is one shared lock
 * and a missing -journal, and a write waits for the readers of that one
 * tenant for the length of its commit.  A file in WAL mode opened with
 * DB_ROLLBACK is switched when its -wal is empty and no other process
 * has it open; the caller adds DB_KEEP_MODE when this process may
 * have it open (SQLite cannot see its own process's locks; tenantdb.c
 * keeps the list).
 *
 * DB_NEWER: the file's schema is past nmig, made by a newer cellar.
 */
enum db_status	 db_open(const char *path, const unsigned char *key,
		    int flags, const struct db_migration *m, size_t nmig,
		    sqlite3 **out) __attribute__((warn_unused_result));
/*
 * db_open of an existing file when the key is a guess among several (the
 * registry during a key rotation: the newest master's key first): a
 * wrong key closes the connection instead of abandoning it, since the
 * file is not suspect, only the guess.  DB_CORRUPT still abandons.
 */
enum db_status	 db_open_probe(const char *path, const unsigned char *key,
		    const struct db_migration *m, size_t nmig, sqlite3 **out)
		    __attribute__((warn_unused_result));
void		 db_close(sqlite3 *);

/*
 * The first n bytes of db's main file, read through SQLite's own file
 * descriptor (see above: never a second descriptor of our own).  0, -1.
 */
int		 db_file_head(sqlite3 *, void *buf, int n)
		    __attribute__((warn_unused_result));

/*
 * Re-encrypts db's file under key (KEY_BYTES raw) in place: SQLCipher's
 * PRAGMA rekey, one write transaction over every page (in WAL mode the
 * pages go through the -wal).  0 or -1.  It can report success having
 * done nothing (another connection held a lock; a full disk): the caller
 * reopens the file under the new key before it believes it.
 */
int		 db_rekey(sqlite3 *, const unsigned char *key)
		    __attribute__((warn_unused_result));

/* 1 if db still reads under its key (page 1 and the schema), else 0. */
int		 db_key_works(sqlite3 *);

/*
 * A consistent copy of src's main database, as of one read transaction
 * (the caller may hold one open to count rows in the same snapshot),
 * into the new file dst keyed with key (KEY_BYTES) before its first page
 * is written: SQLite's online backup API in one step, so writers never
 * restart it.  dst ends as one self-contained file (rollback journal
 * mode), not plaintext (checked) and synced; its directory is not.
 * DB_OK; DB_FULL (no room: nothing left behind); DB_ERROR (dst existed,
 * or any other failure; a dst this call made is removed).
 */
enum db_status	 db_backup_to(sqlite3 *src, const char *dst,
		    const unsigned char *key)
		    __attribute__((warn_unused_result));

/*
 * Opens a backup copy (or a scratch copy of one) at path under key:
 * read-only, or read-write when writable is set (a purge scrubbing a
 * run's registry copy), in the file's own journal mode (no switch to
 * WAL: a copy stays one self-contained file), without migrations, with
 * the key checked and the CELLAR collation registered.  DB_MISSING,
 * DB_WRONG_KEY (or a damaged first page), DB_CORRUPT, DB_ERROR.
 */
enum db_status	 db_open_copy(const char *path, const unsigned char *key,
		    int writable, sqlite3 **out)
		    __attribute__((warn_unused_result));

/*
 * Leaves db open until the process exits, never to be used again: the
 * last connection to close checkpoints a -wal into its database (SQLite
 * 3.15 has no SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE), and a damaged or
 * refused file must stay as it was.  An open transaction is rolled back.
 * db_open does this itself for a file it refuses as damaged or under a
 * wrong key (DB_CORRUPT, DB_WRONG_KEY) with a -wal beside it.  The
 * connection keeps its descriptors: a process that abandons one should
 * end soon (the worker exits after the request).
 */
void		 db_abandon(sqlite3 *);

/* How many connections this process abandoned so far. */
size_t		 db_abandoned(void);

/* PRAGMA user_version of db into *v; 0 or -1. */
int		 db_user_version(sqlite3 *, long long *v)
		    __attribute__((warn_unused_result));

/*
 * Checks that this SQLite is SQLCipher (PRAGMA cipher_version answers)
 * and that a keyed database round-trips; 0 or -1.
 */
int		 db_selftest(void) __attribute__((warn_unused_result));

/*
 * Runs fn(db, arg) inside BEGIN IMMEDIATE ... COMMIT: ERR_OK from fn
 * commits, anything else rolls back and is returned.  When the database
 * is busy (SQLITE_BUSY or SQLITE_LOCKED at BEGIN, inside fn, or at
 * COMMIT) the whole transaction, fn included, is tried again, at most
 * DB_TX_TRIES times, after a short random pause (each attempt also waits
 * up to DB_BUSY_MS in SQLite's busy handler).  Still busy:
 * ERR_UNAVAILABLE.  A SQLite failure that fn reports as ERR_INTERNAL, or
 * one at COMMIT, comes back as db_err says (full disk, damaged file).
 * fn must be safe to run again: it may only change the database and its
 * own output.
 */
enum err	 db_tx(sqlite3 *, enum err (*fn)(sqlite3 *, void *), void *arg)
		    __attribute__((warn_unused_result));

/*
 * What the last failure on db means for a client: ERR_STORAGE_FULL (the
 * disk is full: SQLITE_FULL, or an I/O error with no room left),
 * ERR_QUARANTINED (SQLITE_CORRUPT or SQLITE_NOTADB, or SQLITE_ERROR
 * where PRAGMA quick_check then finds damage: the file is damaged, or
 * under a wrong key, and must not be written again), ERR_UNAVAILABLE
 * (busy), else ERR_INTERNAL.  Stores return it where a SQLite call
 * failed, so a worker can answer 503 and quarantine a damaged tenant.
 */
enum err	 db_err(sqlite3 *);

/* 1 if the file system holding path has (almost) no room left. */
int		 db_disk_full(const char *path);

/* Binds v (NULL binds SQL NULL) as parameter i, static; 0 or -1. */
int		 db_bind_text(sqlite3_stmt *, int i, const char *v);

/* Column i as a malloc'd string ("" for NULL); NULL on no memory. */
char		*db_col_strdup(sqlite3_stmt *, int i);

/*
 * Gives back a cached statement: resets it and clears its bindings.
 * NULL is ignored.
 */
void		 db_stmt_done(sqlite3_stmt *);

/*
 * Reads s's rows into a growing array of elements of size bytes and
 * gives s back (db_stmt_done).  read_row(s, elem, arg) fills elem,
 * zeroed, from the current row and returns 0 (kept), 1 (skipped: elem
 * must hold nothing) or -1 (no memory, a bad value: elem may hold part
 * of the row).  ERR_OK: *out holds the *n elements kept, the caller's
 * (NULL when none).  Else *out is NULL, *n 0, and free_list(array,
 * count) got every element read, a failed one included (it frees the
 * array too); ERR_INTERNAL, or db_err of a failed step.
 */
enum err	 db_collect(sqlite3_stmt *s, size_t size,
		    int (*read_row)(sqlite3_stmt *, void *elem, void *arg),
		    void *arg, void (*free_list)(void *, size_t), void **out,
		    size_t *n) __attribute__((warn_unused_result));

/*
 * 1 if the first 16 bytes of the file are SQLite's plaintext header.
 * Only for a file this process has not open in SQLite (else
 * db_file_head).
 */
int		 db_file_is_plaintext(const char *path);

#endif
