/*
 * SQLCipher 3.4.1 (SQLite 3.15.2); db.h lists the library's pitfalls and
 * where each is handled.
 */
#include <fcntl.h>
#include <sys/statvfs.h>
#include <time.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "cellar/collate.h"
#include "cellar/db.h"
#include "cellar/file.h"
#include "cellar/keys.h"
#include "cellar/util.h"

static const char *const status_codes[DB__MAX] = {
	[DB_OK] = "db_ok",
	[DB_MISSING] = "db_missing",
	[DB_WRONG_KEY] = "db_wrong_key",
	[DB_NEWER] = "db_newer",
	[DB_ERROR] = "db_error",
	[DB_FULL] = "db_full",
	[DB_CORRUPT] = "db_corrupt",
	[DB_BUSY] = "db_busy",
};

const char *
db_status_code(enum db_status s)
{
	return s < DB__MAX ? status_codes[s] : "db_unknown";
}

/*
 * Keys db with the raw key (rekey: re-encrypts it under key); the hex
 * form, "x'" + 64 hex + "'" (67 bytes), lives in guarded memory.
 */
static int
db_key_as(sqlite3 *db, const unsigned char *key, int rekey)
{
	/*
	 * Guarded memory (sodium_malloc) taken once per process and wiped
	 * after each use: a sodium_malloc per open costs 11 system calls.
	 */
	static char	*hex;
	int		 rc;

	if (hex == NULL && (hex = sodium_malloc(68)) == NULL)
		return -1;
	hex[0] = 'x';
	hex[1] = '\'';
	util_hex(hex + 2, key, KEY_BYTES);
	hex[66] = '\'';
	hex[67] = '\0';
	rc = rekey ? sqlite3_rekey(db, hex, 67) : sqlite3_key(db, hex, 67);
	sodium_memzero(hex, 68);
	return rc == SQLITE_OK ? 0 : -1;
}

static int
db_key(sqlite3 *db, const unsigned char *key)
{
	return db_key_as(db, key, 0);
}

static void
fold_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const unsigned char *s;
	char		*r;

	(void)argc;
	if ((s = sqlite3_value_text(argv[0])) == NULL) {
		sqlite3_result_null(ctx);
		return;
	}
	if ((r = collate_fold((const char *)s)) == NULL) {
		sqlite3_result_error_nomem(ctx);
		return;
	}
	sqlite3_result_text(ctx, r, -1, free);
}

/* The CELLAR collation: collate_cmp. */
static int
collation_fn(void *arg, int alen, const void *a, int blen, const void *b)
{
	(void)arg;
	return collate_cmp(a, (size_t)alen, b, (size_t)blen);
}

static int
db_exec(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

int
db_user_version(sqlite3 *db, long long *v)
{
	sqlite3_stmt	*st;
	int		 rc = -1;

	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) !=
	    SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW) {
		*v = sqlite3_column_int64(st, 0);
		rc = 0;
	}
	sqlite3_finalize(st);
	return rc;
}

static void
db_rollback(sqlite3 *db)
{
	if (!sqlite3_get_autocommit(db))
		(void)db_exec(db, "ROLLBACK");
}

/*
 * The wait for another connection's lock, as SQLite's own busy timeout
 * but in short steps: sqlite3_busy_timeout sleeps 1, 2, 5, 10, 15, 20,
 * 25, 25, 25, 50, 50 and then 100 ms between tries, so that a writer
 * that just missed the lock sleeps while others take it again and
 * again (seen: one of eight editors of a site waited 4.3 s for its turn
 * while its writes each took 2 ms).  Here the first 20 tries are 0.1 ms
 * apart, the next 40 0.5 ms, then 2 ms, until DB_BUSY_MS in all: each
 * try is one fcntl(2), cheap next to the wait it shortens.
 */
static int
db_busy_step(void *arg, int count)
{
	long long	 waited;
	struct timespec	 ts = { 0, 0 };

	(void)arg;
	if (count < 20) {
		waited = count * 100LL;
		ts.tv_nsec = 100 * 1000;
	} else if (count < 60) {
		waited = 2000LL + (count - 20) * 500LL;
		ts.tv_nsec = 500 * 1000;
	} else {
		waited = 22000LL + (count - 60) * 2000LL;
		ts.tv_nsec = 2000 * 1000;
	}
	if (waited >= DB_BUSY_MS * 1000LL)
		return 0;
	nanosleep(&ts, NULL);
	return 1;
}

/* Sets db's wait for other connections' locks (db_busy_step). */
static void
db_busy_wait(sqlite3 *db)
{
	sqlite3_busy_handler(db, db_busy_step, NULL);
}

/* 1 if the last failure on db was another connection's lock. */
static int
db_busy(sqlite3 *db)
{
	int	 rc = sqlite3_errcode(db);

	return rc == SQLITE_BUSY || rc == SQLITE_LOCKED;
}

/*
 * A pause of 1 to 10 ms times the attempt: random, so that the workers
 * that collided do not collide again in step.
 */
static void
db_backoff(int attempt)
{
	struct timespec	 ts;
	long		 ms = (long)(1 + randombytes_uniform(10)) * attempt;

	ts.tv_sec = 0;
	ts.tv_nsec = ms * 1000000L;
	while (nanosleep(&ts, &ts) == -1)
		continue;
}

enum err
db_tx(sqlite3 *db, enum err (*fn)(sqlite3 *, void *), void *arg)
{
	enum err	 e = ERR_UNAVAILABLE;
	int		 attempt, busy;

	for (attempt = 0; attempt < DB_TX_TRIES; attempt++) {
		if (attempt > 0)
			db_backoff(attempt);
		if (db_exec(db, "BEGIN IMMEDIATE") == -1) {
			if (db_busy(db))
				continue;
			return (e = db_err(db)) == ERR_INTERNAL ?
			    ERR_UNAVAILABLE : e;
		}
		if ((e = fn(db, arg)) == ERR_OK) {
			if (db_exec(db, "COMMIT") == 0)
				return ERR_OK;
			e = ERR_INTERNAL;
		}
		/* A SQLite failure inside: what it means for the client. */
		if (e == ERR_INTERNAL)
			e = db_err(db);
		/* Only a failure SQLite blamed on a lock is worth a retry. */
		busy = e == ERR_UNAVAILABLE && db_busy(db);
		db_rollback(db);
		if (!busy)
			return e;
		e = ERR_UNAVAILABLE;
	}
	return e;
}

int
db_disk_full(const char *path)
{
	struct statvfs	 vfs;
	char		*dir, *slash;
	int		 full = 0;

	if ((dir = strdup(path)) == NULL)
		return 0;
	if ((slash = strrchr(dir, '/')) != NULL)
		*(slash == dir ? slash + 1 : slash) = '\0';
	if (statvfs(slash != NULL ? dir : ".", &vfs) == 0)
		full = (unsigned long long)vfs.f_bavail * vfs.f_frsize <
		    DB_ROOM_MIN;
	free(dir);
	return full;
}

/*
 * Whether db's file is damaged: PRAGMA quick_check(1) reads every page
 * (each through SQLCipher's HMAC check) and does not say "ok".  Busy:
 * cannot tell, 0.  Costs a full read; only error paths call it.
 */
static int
db_damaged(sqlite3 *db)
{
	sqlite3_stmt	*st = NULL;
	const char	*txt;
	int		 rc, bad = 0;

	if ((rc = sqlite3_prepare_v2(db, "PRAGMA quick_check(1)", -1, &st,
	    NULL)) != SQLITE_OK)
		bad = rc != SQLITE_BUSY && rc != SQLITE_LOCKED &&
		    rc != SQLITE_NOMEM;
	else if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		bad = (txt = (const char *)sqlite3_column_text(st, 0)) ==
		    NULL || strcmp(txt, "ok") != 0;
	else
		bad = rc != SQLITE_BUSY && rc != SQLITE_LOCKED &&
		    rc != SQLITE_NOMEM;
	sqlite3_finalize(st);
	return bad;
}

enum err
db_err(sqlite3 *db)
{
	const char	*path;

	switch (sqlite3_errcode(db)) {
	case SQLITE_ERROR:
		/*
		 * SQLCipher 3.4 reports some pages that fail their HMAC as a
		 * bare SQLITE_ERROR, not SQLITE_CORRUPT: tell damage from a
		 * fault of ours by reading the whole file.
		 */
		return db_damaged(db) ? ERR_QUARANTINED : ERR_INTERNAL;
	case SQLITE_FULL:
		return ERR_STORAGE_FULL;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return ERR_QUARANTINED;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return ERR_UNAVAILABLE;
	case SQLITE_READONLY:
		/*
		 * The file was renamed or replaced under this connection (a
		 * restore put another in its place): SQLite refuses to write
		 * a journal for it, and nothing was written.  The client's
		 * retry reaches the new file.
		 */
		return sqlite3_extended_errcode(db) == SQLITE_READONLY_DBMOVED ?
		    ERR_UNAVAILABLE : ERR_INTERNAL;
	case SQLITE_IOERR:
	case SQLITE_CANTOPEN:
		path = sqlite3_db_filename(db, "main");
		return path != NULL && db_disk_full(path) ? ERR_STORAGE_FULL :
		    ERR_INTERNAL;
	default:
		return ERR_INTERNAL;
	}
}

int
db_bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v == NULL)
		return sqlite3_bind_null(st, i) == SQLITE_OK ? 0 : -1;
	return sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC) == SQLITE_OK ?
	    0 : -1;
}

char *
db_col_strdup(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return strdup(t != NULL ? (const char *)t : "");
}

void
db_stmt_done(sqlite3_stmt *st)
{
	if (st != NULL) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	}
}

enum err
db_collect(sqlite3_stmt *s, size_t size,
    int (*read_row)(sqlite3_stmt *, void *, void *), void *arg,
    void (*free_list)(void *, size_t), void **out, size_t *n)
{
	char		*a = NULL, *v;
	size_t		 cnt = 0, cap = 0;
	int		 rc, r;
	enum err	 e = ERR_INTERNAL;

	*out = NULL;
	*n = 0;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (cnt == cap) {
			cap = cap != 0 ? cap * 2 : 16;
			if ((v = reallocarray(a, cap, size)) == NULL)
				goto out;
			a = v;
		}
		memset(a + cnt * size, 0, size);
		if ((r = read_row(s, a + cnt * size, arg)) == -1) {
			cnt++;
			goto out;
		}
		if (r == 0)
			cnt++;
	}
	if (rc != SQLITE_DONE) {
		e = db_err(sqlite3_db_handle(s));
		goto out;
	}
	if (cnt > 0) {
		*out = a;
		*n = cnt;
		a = NULL;
	}
	e = ERR_OK;
out:
	db_stmt_done(s);
	if (a != NULL)
		free_list(a, cnt);
	return e;
}

/* The migrations to apply and where the schema stands. */
struct migrate {
	const struct db_migration	*m;
	size_t				 n;
	long long			 version;	/* after the step */
};

/*
 * One step inside a transaction: re-reads the version (another worker
 * may have migrated meanwhile) and applies the next migration, if any.
 */
static enum err
migrate_step(sqlite3 *db, void *arg)
{
	struct migrate	*mg = arg;
	char		 set[64];
	long long	 v;

	if (db_user_version(db, &v) == -1)
		return ERR_INTERNAL;
	if (v >= (long long)mg->n) {
		mg->version = v;
		return ERR_OK;
	}
	snprintf(set, sizeof(set), "PRAGMA user_version = %lld", v + 1);
	if (db_exec(db, mg->m[v].sql) == -1 || db_exec(db, set) == -1)
		return ERR_INTERNAL;
	mg->version = v + 1;
	return ERR_OK;
}

/* Applies migrations past user_version, each in its own transaction. */
static enum db_status
db_migrate(sqlite3 *db, const struct db_migration *m, size_t n)
{
	struct migrate	 mg = { m, n, 0 };

	if (db_user_version(db, &mg.version) == -1)
		return DB_ERROR;
	if (mg.version > (long long)n)
		return DB_NEWER;
	while (mg.version < (long long)n)
		switch (db_tx(db, migrate_step, &mg)) {
		case ERR_OK:
			break;
		case ERR_QUARANTINED:
			return DB_CORRUPT;
		case ERR_STORAGE_FULL:
			return DB_FULL;
		default:
			return DB_ERROR;
		}
	return DB_OK;
}

/*
 * Abandoned connections: reachable (so that leak checkers do not count
 * them), never closed.  A process abandons few (one per damaged file it
 * had open); past ABANDONED_MAX the oldest leaves the list, still open.
 */
#define ABANDONED_MAX	64
static sqlite3	*abandoned[ABANDONED_MAX];
static size_t	 nabandoned;

void
db_abandon(sqlite3 *db)
{
	if (db == NULL)
		return;
	/* Whatever a statement left open: no commit, no write. */
	if (!sqlite3_get_autocommit(db))
		(void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	abandoned[nabandoned++ % ABANDONED_MAX] = db;
}

size_t
db_abandoned(void)
{
	return nabandoned;
}

/* 1 if path has a -wal beside it (closing may then checkpoint it). */
static int
wal_beside(const char *path)
{
	char	 wal[4096];

	if (snprintf(wal, sizeof(wal), "%s-wal", path) >= (int)sizeof(wal))
		return 1;
	return access(wal, F_OK) == 0;
}

/* db's journal mode as PRAGMA journal_mode answers sql, into mode. */
static int
db_journal_mode(sqlite3 *db, const char *sql, char *mode, size_t len)
{
	sqlite3_stmt	*st = NULL;
	const char	*m;
	int		 rc;

	rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && (m = (const char *)sqlite3_column_text(st,
	    0)) != NULL)
		rc = snprintf(mode, len, "%s", m) < (int)len ? SQLITE_OK :
		    SQLITE_ERROR;
	else if (rc == SQLITE_ROW)
		rc = SQLITE_ERROR;
	sqlite3_finalize(st);
	return rc;
}

/* 1 if db is in WAL mode. */
static int
db_is_wal(sqlite3 *db)
{
	char	 mode[16];

	return db_journal_mode(db, "PRAGMA journal_mode", mode,
	    sizeof(mode)) == SQLITE_OK && strcmp(mode, "wal") == 0;
}

/*
 * A connection to a file staying in WAL mode: its -wal and -shm stay
 * when the last connection closes (the -wal emptied), so that a file
 * once opened opens again, and reads, on a full disk, where creating
 * them would fail.  0 or -1.
 */
static int
db_wal_keep(sqlite3 *db)
{
	int	 persist = 1;

	if (sqlite3_file_control(db, "main", SQLITE_FCNTL_PERSIST_WAL,
	    &persist) != SQLITE_OK)
		return -1;
	return db_exec(db, "PRAGMA journal_size_limit = 0");
}

/*
 * Puts db (key checked, no transaction open) in rollback-journal mode
 * (DELETE).  A file found in WAL mode (made before tenant files left
 * it) is switched only when its -wal holds nothing (switching
 * checkpoints the -wal into the file, and a -wal a crash left may sit
 * beside a file damaged since: such a file must stay as it was found
 * until it has been read whole) and no other connection has it open,
 * which SQLite tells at once (the busy timeout is off meanwhile, so no
 * open waits for it); otherwise it is used in WAL mode and a later open
 * switches it.  0, or -1 on any other failure.
 */
static int
db_rollback_mode(sqlite3 *db)
{
	struct stat	 sb;
	const char	*path;
	char		 mode[16], wal[4096];
	int		 rc;

	if (db_journal_mode(db, "PRAGMA journal_mode", mode,
	    sizeof(mode)) != SQLITE_OK)
		return -1;
	if (strcmp(mode, "delete") == 0)
		return 0;
	if ((path = sqlite3_db_filename(db, "main")) == NULL ||
	    snprintf(wal, sizeof(wal), "%s-wal", path) >= (int)sizeof(wal))
		return -1;
	if (stat(wal, &sb) == -1 || sb.st_size == 0) {
		sqlite3_busy_timeout(db, 0);
		rc = db_journal_mode(db, "PRAGMA journal_mode = DELETE", mode,
		    sizeof(mode));
		db_busy_wait(db);
		if (rc == SQLITE_OK && strcmp(mode, "delete") == 0)
			return 0;
		if (rc != SQLITE_OK && (rc & 0xff) != SQLITE_BUSY &&
		    (rc & 0xff) != SQLITE_LOCKED)
			return -1;
	}
	return db_wal_keep(db);
}

/* A tenant connection's page cache bound (PRAGMA cache_size: KiB). */
#define DB_TENANT_CACHE		"-128"
/* Dirty pages a tenant write keeps before spilling (PRAGMA cache_spill). */
#define DB_TENANT_SPILL		"8192"

static enum db_status
db_open_impl(const char *path, const unsigned char *key, int flags,
    const struct db_migration *m, size_t nmig, int probe, sqlite3 **out)
{
	sqlite3		*db = NULL;
	enum db_status	 st = DB_ERROR;
	int		 oflags, rc, persist;

	*out = NULL;
	if (!(flags & DB_CREATE) && access(path, F_OK) == -1)
		return DB_MISSING;
	oflags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
	    (flags & DB_CREATE ? SQLITE_OPEN_CREATE : 0);
	if (sqlite3_open_v2(path, &db, oflags, NULL) != SQLITE_OK)
		goto out;
	/*
	 * Before the first statement: the key check and the schema read
	 * take locks too, and without a timeout they fail at once while
	 * another connection sets up the WAL (seen: 500s when workers
	 * opened an idle tenant file together).
	 */
	db_busy_wait(db);
	/*
	 * A WAL file's -wal and -shm stay when the last connection closes,
	 * set before anything is read (db_wal_keep says why); a tenant
	 * file left in WAL mode gets the same below.
	 */
	persist = 1;
	if (!(flags & DB_ROLLBACK))
		(void)sqlite3_file_control(db, "main",
		    SQLITE_FCNTL_PERSIST_WAL, &persist);
	if (db_key(db, key) == -1)
		goto out;
	/* The key is only checked when a page is read. */
	rc = sqlite3_exec(db, "SELECT count(*) FROM sqlite_master", NULL,
	    NULL, NULL);
	if (rc == SQLITE_NOTADB) {
		st = DB_WRONG_KEY;
		goto out;
	}
	if (rc != SQLITE_OK)
		goto out;
	if (flags & DB_ROLLBACK) {
		/* Left as it is when this process may have it open. */
		if (!(flags & DB_KEEP_MODE) && db_rollback_mode(db) == -1)
			goto out;
		if ((flags & DB_KEEP_MODE) && db_is_wal(db) &&
		    db_wal_keep(db) == -1)
			goto out;
	} else if (db_exec(db, "PRAGMA journal_mode = WAL") == -1 ||
	    db_exec(db, "PRAGMA journal_size_limit = 0") == -1)
		goto out;
	if (db_exec(db, "PRAGMA foreign_keys = ON") == -1 ||
	    db_exec(db, "PRAGMA secure_delete = ON") == -1)
		goto out;
	/*
	 * A tenant's page cache: bounded, a worker keeps many (pool.h).  A
	 * write keeps up to DB_TENANT_SPILL dirty pages in memory before it
	 * spills them to the file, which takes the file's exclusive lock
	 * and makes every reader of that tenant wait until the commit: a
	 * large import then locks readers out only for its commit.
	 */
	if ((flags & DB_ROLLBACK) && (db_exec(db, "PRAGMA cache_size = "
	    DB_TENANT_CACHE) == -1 || db_exec(db, "PRAGMA cache_spill = "
	    DB_TENANT_SPILL) == -1))
		goto out;
	/* Before the migrations, which may use them too. */
	if (sqlite3_create_function(db, "cellar_fold", 1, SQLITE_UTF8 |
	    SQLITE_DETERMINISTIC, NULL, fold_fn, NULL, NULL) != SQLITE_OK ||
	    sqlite3_create_collation(db, "CELLAR", SQLITE_UTF8, NULL,
	    collation_fn) != SQLITE_OK)
		goto out;
	if ((st = db_migrate(db, m, nmig)) != DB_OK)
		goto out;
	*out = db;
	db = NULL;
	st = DB_OK;
out:
	/*
	 * A page that fails its check past the first (the schema's, read
	 * above) is damage, not an error: the caller holds the file.
	 */
	if (st == DB_ERROR && db != NULL &&
	    ((sqlite3_errcode(db) & 0xff) == SQLITE_CORRUPT ||
	    (sqlite3_errcode(db) & 0xff) == SQLITE_NOTADB ||
	    ((sqlite3_errcode(db) & 0xff) == SQLITE_ERROR && db_damaged(db))))
		st = DB_CORRUPT;
	/* Opening writes too (the -wal and -shm files): no room, say so. */
	if (st == DB_ERROR && db_disk_full(path))
		st = DB_FULL;
	/* Busy all along (another connection migrating it, say). */
	if (st == DB_ERROR && db != NULL &&
	    ((sqlite3_errcode(db) & 0xff) == SQLITE_BUSY ||
	    (sqlite3_errcode(db) & 0xff) == SQLITE_LOCKED))
		st = DB_BUSY;
	/*
	 * A damaged or foreign file with a -wal beside it: closing could
	 * checkpoint the -wal into it, and such a file is to stay as it
	 * was.  Any other refusal (newer schema, busy, full) closes.
	 */
	if (db != NULL && (st == DB_CORRUPT || (st == DB_WRONG_KEY &&
	    !probe)) && wal_beside(path))
		db_abandon(db);
	else if (db != NULL)
		sqlite3_close(db);
	return st;
}

enum db_status
db_open(const char *path, const unsigned char *key, int flags,
    const struct db_migration *m, size_t nmig, sqlite3 **out)
{
	return db_open_impl(path, key, flags, m, nmig, 0, out);
}

enum db_status
db_open_probe(const char *path, const unsigned char *key,
    const struct db_migration *m, size_t nmig, sqlite3 **out)
{
	return db_open_impl(path, key, 0, m, nmig, 1, out);
}

void
db_close(sqlite3 *db)
{
	if (db != NULL)
		sqlite3_close_v2(db);
}

int
db_selftest(void)
{
	sqlite3		*db = NULL;
	sqlite3_stmt	*st = NULL;
	unsigned char	 key[KEY_BYTES];
	int		 ok = 0;

	/*
	 * No bulk allocation of 100 pages (125 KB) per connection's page
	 * cache: pages are allocated as they are read, so a connection
	 * costs what it uses (a worker keeps many open; pool.h).  Only
	 * before SQLite initializes: the first call of a process.
	 */
	(void)sqlite3_config(SQLITE_CONFIG_PAGECACHE, NULL, 0, 0);
	randombytes_buf(key, sizeof(key));
	if (sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE, NULL) !=
	    SQLITE_OK || db_key(db, key) == -1)
		goto out;
	if (sqlite3_prepare_v2(db, "PRAGMA cipher_version", -1, &st, NULL) !=
	    SQLITE_OK)
		goto out;
	ok = sqlite3_step(st) == SQLITE_ROW &&
	    sqlite3_column_text(st, 0) != NULL;
out:
	sodium_memzero(key, sizeof(key));
	sqlite3_finalize(st);
	sqlite3_close(db);
	return ok ? 0 : -1;
}

int
db_file_is_plaintext(const char *path)
{
	char	 head[16];
	int	 fd, plain = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	if (read(fd, head, sizeof(head)) == (ssize_t)sizeof(head) &&
	    memcmp(head, "SQLite format 3", 16) == 0)
		plain = 1;
	close(fd);
	return plain;
}

enum db_status
db_backup_to(sqlite3 *src, const char *dst, const unsigned char *key)
{
	sqlite3_backup	*b;
	sqlite3		*d = NULL;
	enum db_status	 st = DB_ERROR;
	int		 rc;

	if (access(dst, F_OK) == 0)
		return DB_ERROR;
	if (sqlite3_open_v2(dst, &d, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
		goto out;
	db_busy_wait(d);
	/* Keyed before the first page is written: never plaintext. */
	if (db_key(d, key) == -1)
		goto out;
	if ((b = sqlite3_backup_init(d, "main", src, "main")) == NULL)
		goto out;
	/* One step: one read lock, so it never restarts on a write. */
	rc = sqlite3_backup_step(b, -1);
	if (sqlite3_backup_finish(b) != SQLITE_OK || rc != SQLITE_DONE)
		goto out;
	/* One self-contained file: no -wal beside it. */
	if (db_exec(d, "PRAGMA journal_mode = DELETE") == -1)
		goto out;
	st = DB_OK;
out:
	if (st != DB_OK && d != NULL && (sqlite3_errcode(d) & 0xff) ==
	    SQLITE_FULL)
		st = DB_FULL;
	if (st != DB_OK && db_disk_full(dst))
		st = DB_FULL;
	if (d != NULL && sqlite3_close(d) != SQLITE_OK)
		st = DB_ERROR;
	if (st == DB_OK && (db_file_is_plaintext(dst) ||
	    file_fsync(dst) == -1))
		st = DB_ERROR;
	if (st != DB_OK) {
		char	 j[4096];

		unlink(dst);
		if (snprintf(j, sizeof(j), "%s-journal", dst) < (int)sizeof(j))
			unlink(j);
	}
	return st;
}

enum db_status
db_open_copy(const char *path, const unsigned char *key, int writable,
    sqlite3 **out)
{
	sqlite3		*db = NULL;
	int		 rc;

	*out = NULL;
	if (access(path, F_OK) == -1)
		return DB_MISSING;
	if (sqlite3_open_v2(path, &db, (writable ? SQLITE_OPEN_READWRITE :
	    SQLITE_OPEN_READONLY) | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
		goto fail;
	db_busy_wait(db);
	if (db_key(db, key) == -1)
		goto fail;
	rc = sqlite3_exec(db, "SELECT count(*) FROM sqlite_master", NULL,
	    NULL, NULL);
	if (rc != SQLITE_OK) {
		sqlite3_close(db);
		return rc == SQLITE_NOTADB ? DB_WRONG_KEY : DB_CORRUPT;
	}
	if (sqlite3_create_function(db, "cellar_fold", 1, SQLITE_UTF8 |
	    SQLITE_DETERMINISTIC, NULL, fold_fn, NULL, NULL) != SQLITE_OK ||
	    sqlite3_create_collation(db, "CELLAR", SQLITE_UTF8, NULL,
	    collation_fn) != SQLITE_OK)
		goto fail;
	*out = db;
	return DB_OK;
fail:
	sqlite3_close(db);
	return DB_ERROR;
}

int
db_rekey(sqlite3 *db, const unsigned char *key)
{
	return db_key_as(db, key, 1);
}

int
db_key_works(sqlite3 *db)
{
	return sqlite3_exec(db, "SELECT count(*) FROM sqlite_master", NULL,
	    NULL, NULL) == SQLITE_OK;
}

int
db_file_head(sqlite3 *db, void *buf, int n)
{
	sqlite3_file	*f = NULL;

	/* Through SQLite's own descriptor: never an open(2) of our own. */
	if (sqlite3_file_control(db, "main", SQLITE_FCNTL_FILE_POINTER, &f) !=
	    SQLITE_OK || f == NULL || f->pMethods == NULL)
		return -1;
	return f->pMethods->xRead(f, buf, n, 0) == SQLITE_OK ? 0 : -1;
}
