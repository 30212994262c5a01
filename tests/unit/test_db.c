/*
 * db: SQLCipher files and write transactions, which every store and the
 * reaper's jobs build on.  What the promises rest on: a file is never
 * plaintext and never opens (or changes) under a wrong key; migrations
 * apply in order, each whole or not at all, and a file from a newer
 * cellar is refused; a write transaction commits only what its function
 * approved, and a busy database is retried a bounded number of times.
 */
#include <dirent.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "cellar/clock.h"
#include "cellar/db.h"
#include "cellar/keys.h"
#include "fixture.h"

struct dfx {
	char		 dir[64];
	char		 path[128];
	unsigned char	 key[KEY_BYTES];
};

static int
setup(void **state)
{
	struct dfx	*f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_not_equal(sodium_init(), -1);
	assert_int_equal(fx_tmpdir(f->dir, sizeof(f->dir)), 0);
	snprintf(f->path, sizeof(f->path), "%s/t.db", f->dir);
	randombytes_buf(f->key, sizeof(f->key));
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct dfx	*f = *state;

	assert_int_equal(fx_rmtree(f->dir), 0);
	free(f);
	return 0;
}

/* Migrations that record the order they ran in. */
static const struct db_migration migs[] = {
	{ "0001", "CREATE TABLE steps (n INTEGER); "
	    "INSERT INTO steps VALUES (1);" },
	{ "0002", "INSERT INTO steps VALUES (2);" },
	{ "0003", "INSERT INTO steps VALUES (3); CREATE TABLE three (x);" },
	/* Fails half-way: the table must not survive it. */
	{ "0004", "CREATE TABLE half (x); INSERT INTO nowhere VALUES (1);" },
};

/* The steps table as "1,2,3". */
static void
steps(sqlite3 *db, char *out, size_t outsz)
{
	sqlite3_stmt	*st;
	size_t		 n = 0;

	out[0] = '\0';
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT n FROM steps ORDER BY "
	    "rowid", -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW)
		n += (size_t)snprintf(out + n, outsz - n, "%s%d", n ? "," : "",
		    sqlite3_column_int(st, 0));
	sqlite3_finalize(st);
}

static int
table_exists(sqlite3 *db, const char *name)
{
	return sqlite3_table_column_metadata(db, "main", name, NULL, NULL,
	    NULL, NULL, NULL, NULL) == SQLITE_OK;
}

static void
test_created_encrypted_and_keyed(void **state)
{
	struct dfx	*f = *state;
	sqlite3		*db;

	assert_int_equal(db_selftest(), 0);
	assert_int_equal(db_open(f->path, f->key, 0, migs, 1, &db),
	    DB_MISSING);
	assert_int_equal(access(f->path, F_OK), -1);
	assert_int_equal(db_open(f->path, f->key, 1, migs, 1, &db), DB_OK);
	db_close(db);
	assert_false(db_file_is_plaintext(f->path));
	assert_int_equal(db_open(f->path, f->key, 0, migs, 1, &db), DB_OK);
	db_close(db);
}

static void
test_wrong_key_opens_nothing_and_changes_nothing(void **state)
{
	struct dfx	*f = *state;
	unsigned char	 other[KEY_BYTES], h1[32], h2[32];
	sqlite3		*db;
	FILE		*fp;
	char		 buf[65536];
	size_t		 n;

	assert_int_equal(db_open(f->path, f->key, 1, migs, 3, &db), DB_OK);
	db_close(db);
	assert_non_null(fp = fopen(f->path, "rb"));
	n = fread(buf, 1, sizeof(buf), fp);
	fclose(fp);
	crypto_hash_sha256(h1, (unsigned char *)buf, n);
	memcpy(other, f->key, sizeof(other));
	other[0] ^= 1;
	assert_int_equal(db_open(f->path, other, 0, migs, 3, &db),
	    DB_WRONG_KEY);
	assert_null(db);
	/* Even "create" never recreates a file it cannot open. */
	assert_int_equal(db_open(f->path, other, 1, migs, 3, &db),
	    DB_WRONG_KEY);
	assert_non_null(fp = fopen(f->path, "rb"));
	assert_int_equal(fread(buf, 1, sizeof(buf), fp), n);
	fclose(fp);
	crypto_hash_sha256(h2, (unsigned char *)buf, n);
	assert_memory_equal(h1, h2, sizeof(h1));
}

static void
test_migrations_apply_in_order_once(void **state)
{
	struct dfx	*f = *state;
	sqlite3		*db;
	long long	 v;
	char		 s[64];

	assert_int_equal(db_open(f->path, f->key, 1, migs, 2, &db), DB_OK);
	assert_int_equal(db_user_version(db, &v), 0);
	assert_int_equal(v, 2);
	steps(db, s, sizeof(s));
	assert_string_equal(s, "1,2");
	db_close(db);
	/* Reopened with one more: only the new one runs. */
	assert_int_equal(db_open(f->path, f->key, 0, migs, 3, &db), DB_OK);
	assert_int_equal(db_user_version(db, &v), 0);
	assert_int_equal(v, 3);
	steps(db, s, sizeof(s));
	assert_string_equal(s, "1,2,3");
	db_close(db);
	assert_int_equal(db_open(f->path, f->key, 0, migs, 3, &db), DB_OK);
	steps(db, s, sizeof(s));
	assert_string_equal(s, "1,2,3");
	db_close(db);
}

static void
test_newer_schema_is_refused(void **state)
{
	struct dfx	*f = *state;
	sqlite3		*db;

	assert_int_equal(db_open(f->path, f->key, 1, migs, 3, &db), DB_OK);
	db_close(db);
	/* An older cellar does not touch what a newer one wrote. */
	assert_int_equal(db_open(f->path, f->key, 0, migs, 2, &db), DB_NEWER);
	assert_null(db);
}

/* Descriptors this process has open. */
static int
open_fds(void)
{
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	assert_non_null(d = opendir("/proc/self/fd"));
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

/*
 * A healthy file refused (a newer schema, say, after a rolled-back
 * deploy) is closed, -wal and all: only a damaged one is abandoned.  A
 * worker asked for it on every request must not run out of descriptors.
 */
static void
test_a_refused_healthy_file_is_closed(void **state)
{
	struct dfx	*f = *state;
	sqlite3		*db;
	int		 before, i;
	char		 wal[300];

	assert_int_equal(db_open(f->path, f->key, 1, migs, 3, &db), DB_OK);
	db_close(db);
	snprintf(wal, sizeof(wal), "%s-wal", f->path);
	assert_int_equal(access(wal, F_OK), 0);	/* kept, emptied */
	before = open_fds();
	for (i = 0; i < 50; i++) {
		assert_int_equal(db_open(f->path, f->key, 0, migs, 2, &db),
		    DB_NEWER);
		assert_null(db);
	}
	assert_int_equal(open_fds(), before);
}

static void
test_failed_migration_leaves_nothing_half_done(void **state)
{
	struct dfx	*f = *state;
	sqlite3		*db;
	long long	 v;
	char		 s[64];

	assert_int_equal(db_open(f->path, f->key, 1, migs, 4, &db), DB_ERROR);
	assert_int_equal(db_open(f->path, f->key, 0, migs, 3, &db), DB_OK);
	assert_int_equal(db_user_version(db, &v), 0);
	assert_int_equal(v, 3);
	assert_false(table_exists(db, "half"));
	assert_true(table_exists(db, "three"));
	steps(db, s, sizeof(s));
	assert_string_equal(s, "1,2,3");
	db_close(db);
}

/* A transaction body: inserts one step, then answers *(enum err *). */
struct txarg {
	enum err	 answer;
	int		 calls;
};

static enum err
insert_step(sqlite3 *db, void *arg)
{
	struct txarg	*a = arg;

	a->calls++;
	if (sqlite3_exec(db, "INSERT INTO steps VALUES (9)", NULL, NULL,
	    NULL) != SQLITE_OK)
		return ERR_INTERNAL;
	return a->answer;
}

static void
test_tx_commits_only_what_fn_approves(void **state)
{
	struct dfx	*f = *state;
	struct txarg	 a = { ERR_CONFLICT, 0 };
	sqlite3		*db;
	char		 s[64];

	assert_int_equal(db_open(f->path, f->key, 1, migs, 1, &db), DB_OK);
	assert_int_equal(db_tx(db, insert_step, &a), ERR_CONFLICT);
	assert_int_equal(a.calls, 1);
	steps(db, s, sizeof(s));
	assert_string_equal(s, "1");
	assert_true(sqlite3_get_autocommit(db));
	a.answer = ERR_OK;
	assert_int_equal(db_tx(db, insert_step, &a), ERR_OK);
	steps(db, s, sizeof(s));
	assert_string_equal(s, "1,9");
	db_close(db);
}

/*
 * Another connection holds the write lock.  SQLite asks the busy handler
 * what to do; this one gives up at once (as a timeout would), and
 * releases the other connection's lock after `release_after` calls.
 */
struct busy {
	sqlite3		*holder;
	int		 calls;
	int		 release_after;	/* 0: never */
};

static int
busy_give_up(void *arg, int count)
{
	struct busy	*b = arg;

	(void)count;
	if (++b->calls == b->release_after)
		assert_int_equal(sqlite3_exec(b->holder, "COMMIT", NULL, NULL,
		    NULL), SQLITE_OK);
	return 0;
}

static void
test_tx_retries_a_busy_database_a_bounded_number_of_times(void **state)
{
	struct dfx	*f = *state;
	struct txarg	 a = { ERR_OK, 0 };
	struct busy	 b = { NULL, 0, 0 };
	sqlite3		*db;
	char		 s[64];

	assert_int_equal(db_open(f->path, f->key, 1, migs, 1, &db), DB_OK);
	assert_int_equal(db_open(f->path, f->key, 0, migs, 1, &b.holder),
	    DB_OK);
	sqlite3_busy_handler(db, busy_give_up, &b);
	/* Held for good: DB_TX_TRIES attempts, then 503, fn never ran. */
	assert_int_equal(sqlite3_exec(b.holder, "BEGIN IMMEDIATE", NULL, NULL,
	    NULL), SQLITE_OK);
	assert_int_equal(db_tx(db, insert_step, &a), ERR_UNAVAILABLE);
	assert_int_equal(b.calls, DB_TX_TRIES);
	assert_int_equal(a.calls, 0);
	/* Released after the first refusal: the retry commits. */
	b.calls = 0;
	b.release_after = 1;
	assert_int_equal(db_tx(db, insert_step, &a), ERR_OK);
	assert_int_equal(b.calls, 1);
	assert_int_equal(a.calls, 1);
	steps(db, s, sizeof(s));
	assert_string_equal(s, "1,9");
	db_close(b.holder);
	db_close(db);
}

/*
 * Cold start: another connection holds the file (a worker running WAL
 * recovery, say) when a new one opens it.  The new one's first read
 * (the key check) must wait under the busy timeout, not fail: the 500s
 * of 16 concurrent first requests after a restart were this.
 */
static void *
release_later(void *arg)
{
	sqlite3		*holder = arg;

	usleep(300 * 1000);
	assert_int_equal(sqlite3_exec(holder, "COMMIT; PRAGMA locking_mode = "
	    "NORMAL; SELECT count(*) FROM sqlite_master", NULL, NULL, NULL),
	    SQLITE_OK);
	return NULL;
}

static void
test_open_waits_for_a_connection_that_holds_the_file(void **state)
{
	struct dfx	*f = *state;
	sqlite3		*holder, *db = NULL;
	pthread_t	 th;
	long long	 t0;

	assert_int_equal(db_open(f->path, f->key, 1, migs, 1, &holder), DB_OK);
	assert_int_equal(sqlite3_exec(holder, "PRAGMA locking_mode = "
	    "EXCLUSIVE; BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(pthread_create(&th, NULL, release_later, holder), 0);
	t0 = clock_mono_usec();
	assert_int_equal(db_open(f->path, f->key, 0, migs, 1, &db), DB_OK);
	assert_true(clock_mono_usec() - t0 >= 250 * 1000);
	assert_int_equal(pthread_join(th, NULL), 0);
	db_close(db);
	db_close(holder);
}

/* Every connection compares names the one way (collate.h). */
static void
test_connections_carry_the_collation_and_fold(void **state)
{
	struct dfx	*f = *state;
	sqlite3		*db;
	sqlite3_stmt	*st;

	assert_int_equal(db_open(f->path, f->key, 1, migs, 1, &db), DB_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT 'éric' = 'Éric' "
	    "COLLATE CELLAR, 'Eric' = 'Éric' COLLATE CELLAR, "
	    "cellar_fold('Straße')", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 1);
	assert_int_equal(sqlite3_column_int(st, 1), 0);
	assert_string_equal((const char *)sqlite3_column_text(st, 2),
	    "strasse");
	sqlite3_finalize(st);
	db_close(db);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_created_encrypted_and_keyed, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_wrong_key_opens_nothing_and_changes_nothing, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_migrations_apply_in_order_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_newer_schema_is_refused,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_refused_healthy_file_is_closed, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_failed_migration_leaves_nothing_half_done, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_tx_commits_only_what_fn_approves, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_tx_retries_a_busy_database_a_bounded_number_of_times,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_open_waits_for_a_connection_that_holds_the_file,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_connections_carry_the_collation_and_fold, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
