/*
 * SQLCipher databases: opened with a raw 32-byte key (no PBKDF2), the key
 * checked right after opening, schema migrations applied in order, each
 * in one transaction.  A file that does not open with the key it should
 * is reported, never recreated, rekeyed or deleted (SQLITE_NOTADB means
 * wrong key or damaged page 1, and we cannot tell which).
 */
#ifndef CELLAR_DB_H
#define CELLAR_DB_H

#include <stddef.h>

#include <sqlite3.h>

enum db_status {
	DB_OK = 0,
	DB_MISSING,	/* no such file and create not asked */
	DB_WRONG_KEY,	/* SQLITE_NOTADB: wrong key or damaged header */
	DB_NEWER,	/* schema newer than this binary knows */
	DB_ERROR,	/* anything else (I/O, locks, no memory) */
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

/*
 * Opens (creating when create is set) path with key, checks the key,
 * sets WAL, busy timeout, foreign keys and secure delete, then applies
 * migrations past PRAGMA user_version.  New files are created 0600.
 */
enum db_status	 db_open(const char *path, const unsigned char *key,
		    int create, const struct db_migration *, size_t nmig,
		    sqlite3 **out) __attribute__((warn_unused_result));
void		 db_close(sqlite3 *);

/*
 * Checks that this SQLite is SQLCipher (PRAGMA cipher_version answers)
 * and that a keyed database round-trips; 0 or -1.
 */
int		 db_selftest(void) __attribute__((warn_unused_result));

/* Runs BEGIN IMMEDIATE; 0 or -1. */
int		 db_begin(sqlite3 *) __attribute__((warn_unused_result));
int		 db_commit(sqlite3 *) __attribute__((warn_unused_result));
void		 db_rollback(sqlite3 *);

/*
 * Case-folds UTF-8 text (lowercase by the C.UTF-8 locale's tables, for
 * every script, not only ASCII as SQLite's lower()) into a malloc'd
 * string; the same function is cellar_fold() in SQL on our connections.
 * NULL on no memory.
 */
char		*db_fold(const char *s);

/* 1 if the first 16 bytes of the file are SQLite's plaintext header. */
int		 db_file_is_plaintext(const char *path);

#endif
