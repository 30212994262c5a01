/*
 * tenantdb: a tenant's own file as an explicit handle, usable from the
 * worker, cellarctl, the reaper and tests alike.  What callers rely on:
 * opening checks that the file is the tenant's (its own key, its own
 * name inside), prepares nothing up front, and a statement is prepared
 * once per handle and kept.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "cellar/db.h"
#include "cellar/err.h"
#include "cellar/registry.h"
#include "cellar/tenantdb.h"
#include "cellar/tpl.h"
#include "fixture.h"


static void
test_open_names_tenant_and_prepares_nothing(void **state)
{
	struct fx_tenant *f = *state;
	struct tenantdb	*tdb;

	assert_int_equal(tenantdb_open(f->reg, &f->t, NULL, &tdb), ERR_OK);
	assert_string_equal(tenantdb_id(tdb), f->t.id);
	assert_int_equal(tenantdb_key_version(tdb), 1);
	/* Cheap to open: no statement prepared until one is used. */
	assert_null(sqlite3_next_stmt(tenantdb_sqlite(tdb), NULL));
	tenantdb_close(tdb);
	tenantdb_close(NULL);
}

/* journal_mode of db, as PRAGMA journal_mode answers. */
static void
assert_journal_mode(sqlite3 *db, const char *want)
{
	sqlite3_stmt	*st;

	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1,
	    &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal(sqlite3_column_text(st, 0), want);
	sqlite3_finalize(st);
}

/*
 * Tenant files use a rollback journal: nothing beside the file while no
 * one writes (no -wal, no -shm to open and rebuild at every open), and a
 * file left in WAL mode by an older cellar is switched by the first open
 * that finds it alone, never by one that would have to wait.
 */
static void
test_tenant_files_use_a_rollback_journal(void **state)
{
	struct fx_tenant *f = *state;
	struct tenantdb	*a, *b;
	char		*path, side[512];

	assert_non_null(path = registry_tenant_path(f->reg, f->t.id, 1));
	assert_journal_mode(tenantdb_sqlite(f->tdb), "delete");
	snprintf(side, sizeof(side), "%s-wal", path);
	assert_int_equal(access(side, F_OK), -1);
	snprintf(side, sizeof(side), "%s-shm", path);
	assert_int_equal(access(side, F_OK), -1);
	/* A second handle in this process (the reaper's rotation) too. */
	assert_int_equal(tenantdb_open(f->reg, &f->t, NULL, &b), ERR_OK);
	assert_journal_mode(tenantdb_sqlite(b), "delete");
	assert_journal_mode(tenantdb_sqlite(f->tdb), "delete");
	tenantdb_close(b);

	/* An older cellar's file: in WAL mode, with a second handle open. */
	tenantdb_close(f->tdb);
	f->tdb = NULL;
	assert_int_equal(tenantdb_open(f->reg, &f->t, NULL, &a), ERR_OK);
	assert_int_equal(sqlite3_exec(tenantdb_sqlite(a), "PRAGMA "
	    "journal_mode = WAL", NULL, NULL, NULL), SQLITE_OK);
	assert_journal_mode(tenantdb_sqlite(a), "wal");
	/* Not alone: opens at once, used as it is. */
	assert_int_equal(tenantdb_open(f->reg, &f->t, NULL, &b), ERR_OK);
	assert_journal_mode(tenantdb_sqlite(b), "wal");
	tenantdb_close(a);
	tenantdb_close(b);
	/*
	 * Kept in WAL mode, its -wal stays (emptied) after the last close,
	 * so the next open needs no room to create one on a full disk.
	 */
	snprintf(side, sizeof(side), "%s-wal", path);
	assert_int_equal(access(side, F_OK), 0);
	/* Alone: switched, and the -wal is gone. */
	assert_int_equal(tenantdb_open(f->reg, &f->t, NULL, &f->tdb), ERR_OK);
	assert_journal_mode(tenantdb_sqlite(f->tdb), "delete");
	snprintf(side, sizeof(side), "%s-wal", path);
	assert_int_equal(access(side, F_OK), -1);
	free(path);
}

/* Copies file from to to (a byte image, as a crash would leave it). */
static void
copy_bytes(const char *from, const char *to)
{
	FILE	*in, *out;
	char	 buf[8192];
	size_t	 n;

	assert_non_null(in = fopen(from, "rb"));
	assert_non_null(out = fopen(to, "wb"));
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		assert_int_equal(fwrite(buf, 1, n, out), n);
	fclose(in);
	assert_int_equal(fclose(out), 0);
}

/*
 * An older cellar's WAL file with transactions left in its -wal by a
 * crash: opening it never switches it (that would checkpoint the -wal
 * into the file before anyone read it whole); the transactions are seen.
 */
static void
test_a_wal_left_by_a_crash_is_not_checkpointed_by_opening(void **state)
{
	struct fx_tenant *f = *state;
	struct tenantdb	*a, *b;
	struct stat	 before, after;
	char		*path, wal[512], img[512], imgwal[512];
	long long	 n;

	assert_non_null(path = registry_tenant_path(f->reg, f->t.id, 1));
	snprintf(wal, sizeof(wal), "%s-wal", path);
	snprintf(img, sizeof(img), "%s.img", path);
	snprintf(imgwal, sizeof(imgwal), "%s.img-wal", path);
	tenantdb_close(f->tdb);
	f->tdb = NULL;
	/* A connection writes in WAL mode; its files are copied mid-life. */
	assert_int_equal(tenantdb_open(f->reg, &f->t, NULL, &a), ERR_OK);
	assert_int_equal(sqlite3_exec(tenantdb_sqlite(a), "PRAGMA "
	    "journal_mode = WAL; INSERT INTO templates (name, body, scope, "
	    "owner, created_at, updated_at) VALUES ('in the wal', 'b', "
	    "'global', 'acct-a', 1, 1)", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(stat(wal, &before), 0);
	assert_true(before.st_size > 0);
	copy_bytes(path, img);
	copy_bytes(wal, imgwal);
	tenantdb_abandon(a);
	/* The crash image takes the file's place. */
	assert_int_equal(rename(img, path), 0);
	assert_int_equal(rename(imgwal, wal), 0);
	assert_int_equal(stat(wal, &before), 0);

	assert_int_equal(tenantdb_open(f->reg, &f->t, NULL, &b), ERR_OK);
	assert_journal_mode(tenantdb_sqlite(b), "wal");
	assert_int_equal(stat(wal, &after), 0);
	assert_int_equal(after.st_size, before.st_size);
	assert_int_equal(tpl_count_visible(b, "acct-a", &n), ERR_OK);
	assert_int_equal(n, 1);
	/* This process abandoned a connection to the file: never closed. */
	tenantdb_abandon(b);
	free(path);
}

/*
 * A restore renames another file over the tenant's while a worker still
 * has the old one open: SQLite refuses that worker's write (nothing is
 * written), and it is a 503 to retry, not an internal error.
 */
static void
test_a_write_to_a_replaced_file_is_unavailable_not_internal(void **state)
{
	struct fx_tenant *f = *state;
	char		*path, img[512];

	assert_non_null(path = registry_tenant_path(f->reg, f->t.id, 1));
	snprintf(img, sizeof(img), "%s.img", path);
	copy_bytes(path, img);
	assert_int_equal(rename(img, path), 0);
	assert_int_not_equal(sqlite3_exec(tenantdb_sqlite(f->tdb), "INSERT "
	    "INTO templates (name, body, scope, owner, created_at, "
	    "updated_at) VALUES ('late', 'b', 'personal', 'a', 1, 1)", NULL,
	    NULL, NULL), SQLITE_OK);
	assert_int_equal(db_err(tenantdb_sqlite(f->tdb)), ERR_UNAVAILABLE);
	free(path);
}

/*
 * A handle shrunk while idle (the worker's pool does it to all but the
 * last few) answers as before: statements and pages come back on use.
 */
static void
test_released_handle_still_answers(void **state)
{
	struct fx_tenant *f = *state;
	sqlite3_stmt	*a;
	long long	 before, after;

	assert_non_null(a = tenantdb_stmt(f->tdb, TDB_TPL, 5,
	    "SELECT count(*) FROM templates"));
	assert_int_equal(tpl_count_visible(f->tdb, "acct-a", &before),
	    ERR_OK);
	tenantdb_release_memory(f->tdb);
	assert_null(sqlite3_next_stmt(tenantdb_sqlite(f->tdb), NULL));
	assert_int_equal(tpl_count_visible(f->tdb, "acct-a", &after),
	    ERR_OK);
	assert_int_equal(after, before);
	assert_non_null(tenantdb_stmt(f->tdb, TDB_TPL, 5,
	    "SELECT count(*) FROM templates"));
}

static void
test_statements_prepared_once_per_handle(void **state)
{
	struct fx_tenant *f = *state;
	sqlite3_stmt	*a, *b;

	assert_non_null(a = tenantdb_stmt(f->tdb, TDB_TPL, 5,
	    "SELECT count(*) FROM templates"));
	assert_ptr_equal(tenantdb_stmt(f->tdb, TDB_TPL, 5,
	    "SELECT count(*) FROM templates"), a);
	assert_non_null(b = tenantdb_stmt(f->tdb, TDB_TPL, 6,
	    "SELECT 1"));
	assert_ptr_not_equal(a, b);
	assert_int_equal(sqlite3_step(a), SQLITE_ROW);
	db_stmt_done(a);
	/* Outside the table, or SQL that does not prepare: NULL. */
	assert_null(tenantdb_stmt(f->tdb, TDB_TPL, TENANTDB_STMTS, "SELECT 1"));
	assert_null(tenantdb_stmt(f->tdb, TDB_TPL, -1, "SELECT 1"));
	assert_null(tenantdb_stmt(f->tdb, TDB__MAX, 0, "SELECT 1"));
	assert_null(tenantdb_stmt(f->tdb, TDB_TPL, 7, "SELEKT nothing"));
	assert_non_null(tenantdb_stmt(f->tdb, TDB_TPL, 7, "SELECT 2"));
}

static void
test_two_handles_on_one_file_see_each_other(void **state)
{
	struct fx_tenant *f = *state;
	struct tenantdb	*other;
	struct tpl	 t;
	long long	 n;

	/* The worker's handle and, say, cellarctl's. */
	assert_int_equal(tenantdb_open(f->reg, &f->t, NULL, &other), ERR_OK);
	memset(&t, 0, sizeof(t));
	t.name = strdup("Shared");
	t.body = strdup("hello");
	t.owner = strdup("acct-a");
	t.scope = SCOPE_GLOBAL;
	t.active = 1;
	assert_int_equal(tpl_create(f->tdb, &t, FX_NOW, &fx_limits), ERR_OK);
	assert_int_equal(tpl_count_visible(other, NULL, &n), ERR_OK);
	assert_int_equal(n, 1);
	tpl_free(&t);
	tenantdb_close(other);
}

static void
test_a_file_naming_another_tenant_is_refused(void **state)
{
	struct fx_tenant *f = *state;
	struct tenantdb	*tdb;

	/* Under the right key, but naming someone else inside. */
	assert_int_equal(sqlite3_exec(tenantdb_sqlite(f->tdb), "UPDATE meta "
	    "SET value = 'someone-else' WHERE key = 'tenant_id'", NULL, NULL,
	    NULL), SQLITE_OK);
	fx_log_start();
	assert_int_equal(tenantdb_open(f->reg, &f->t, "rid-1", &tdb), ERR_QUARANTINED);
	assert_null(tdb);
	assert_non_null(strstr(fx_log_text(), "reason=tenant_file_owner"));
	/* The id is logged, never the clientKey. */
	assert_non_null(strstr(fx_log_text(), f->t.id));
	assert_null(strstr(fx_log_text(), "client-key-ut"));
	fx_log_stop();
}

/* Encryption is read from the file, not assumed. */
static void
test_encryption_is_read_from_the_file(void **state)
{
	struct fx_tenant *f = *state;
	const char	*path = sqlite3_db_filename(tenantdb_sqlite(f->tdb),
			    "main");
	FILE		*fp;

	assert_int_equal(tenantdb_encrypted(f->tdb), 1);
	/* A plaintext header where the ciphertext was: said so. */
	assert_non_null(fp = fopen(path, "r+"));
	assert_int_equal(fwrite("SQLite format 3", 1, 16, fp), 16);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(tenantdb_encrypted(f->tdb), 0);
	/*
	 * Read through the descriptor SQLite uses (never an open(2) of our
	 * own, whose close would drop SQLite's locks: db.h): unlinked, the
	 * file in use still says what it is.
	 */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(tenantdb_encrypted(f->tdb), 0);
}

/* A file made before search had its table gets it, filled, on open. */
static void
test_search_table_is_filled_for_older_files(void **state)
{
	struct fx_tenant *f = *state;
	unsigned char	 key[32];
	char		 path[160];
	sqlite3		*db;
	sqlite3_stmt	*st;

	(void)f;
	randombytes_buf(key, sizeof(key));
	snprintf(path, sizeof(path), "%s/old.db", f->dir);
	assert_true(db_tenant_nmigrations >= 3);
	assert_int_equal(db_open(path, key, DB_CREATE | DB_ROLLBACK,
	    db_tenant_migrations, 2, &db), DB_OK);
	assert_int_equal(sqlite3_exec(db, "INSERT INTO templates (name, body, "
	    "scope, owner, created_at, updated_at) VALUES ('Grüße', "
	    "'Zur STRASSE', 'personal', 'a', 1, 1)", NULL, NULL, NULL),
	    SQLITE_OK);
	db_close(db);
	assert_int_equal(db_open(path, key, DB_ROLLBACK, db_tenant_migrations,
	    db_tenant_nmigrations, &db), DB_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT folded FROM "
	    "template_search", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0),
	    "grüsse\nzur strasse");
	sqlite3_finalize(st);
	db_close(db);
}

/*
 * One flipped byte on any page: whatever reads it learns that the
 * tenant's file is damaged (ERR_QUARANTINED: the worker holds the tenant
 * and answers 503), never an internal error, at open or at any read or
 * write of the store.
 */
static enum err
worst(enum err a, enum err b)
{
	if (a == ERR_INTERNAL || b == ERR_INTERNAL)
		return ERR_INTERNAL;
	return a == ERR_QUARANTINED ? a : b;
}

static enum err
use_everything(struct tenantdb *h, const long long *ids, size_t nids)
{
	struct tpl_viewer v = { "acct-a", "100", ",grp," };
	struct tpl_cursor c;
	struct tpl	*ts, t;
	size_t		 n, i;
	long long	 cnt;
	enum err	 e, all = ERR_OK;

	memset(&c, 0, sizeof(c));
	e = tpl_count_visible(h, "acct-a", &cnt);
	all = worst(all, e);
	e = tpl_list(h, &v, NULL, -1, &c, 1000, 20000, &ts, &n);
	if (e == ERR_OK)
		tpl_list_free(ts, n);
	all = worst(all, e);
	e = tpl_scan(h, "acct-a", "body", -1, &c, 1000, 20000, &ts, &n);
	if (e == ERR_OK)
		tpl_list_free(ts, n);
	all = worst(all, e);
	for (i = 0; i < nids; i++) {
		e = tpl_get(h, ids[i], 20000, &t);
		tpl_free(&t);
		all = worst(all, e == ERR_NOT_FOUND ? ERR_OK : e);
	}
	e = tpl_count_use(h, ids[0], 20000, TPL_USE_POSTED);
	all = worst(all, e);
	return all;
}

static void
test_a_damaged_page_anywhere_holds_the_tenant(void **state)
{
	struct fx_tenant *f = *state;
	const struct tpl_limits lim = { 2000, 2000 };
	struct tenantdb	*h;
	struct tpl	 t;
	long long	 ids[30];
	unsigned char	*orig, *copy;
	char		*path, body[2100];
	size_t		 size, page, npages, held = 0;
	FILE		*fp;
	enum err	 e;
	int		 i;

	memset(body, 'b', sizeof(body) - 1);
	body[sizeof(body) - 1] = '\0';
	for (i = 0; i < 30; i++) {
		memset(&t, 0, sizeof(t));
		t.name = malloc(16);
		snprintf(t.name, 16, "tpl %d", i);
		t.body = strdup(body);
		t.scope = i % 3 == 0 ? SCOPE_GLOBAL : SCOPE_PERSONAL;
		t.owner = strdup("acct-a");
		t.active = 1;
		assert_int_equal(tpl_create(f->tdb, &t, FX_NOW, &lim), ERR_OK);
		ids[i] = t.id;
		assert_int_equal(tpl_count_use(f->tdb, t.id, 20000,
		    TPL_USE_INSERTED), ERR_OK);
		tpl_free(&t);
	}
	/* Closed: the log is checkpointed into the file and removed. */
	tenantdb_close(f->tdb);
	f->tdb = NULL;
	assert_non_null(path = registry_tenant_path(f->reg, f->t.id, 1));
	assert_non_null(fp = fopen(path, "rb"));
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	size = (size_t)ftell(fp);
	rewind(fp);
	assert_non_null(orig = malloc(size));
	assert_non_null(copy = malloc(size));
	assert_int_equal(fread(orig, 1, size, fp), size);
	fclose(fp);
	npages = size / 1024;
	assert_true(npages >= 30);
	for (page = 0; page < npages; page++) {
		memcpy(copy, orig, size);
		copy[page * 1024 + 300] ^= 0x5a;
		assert_non_null(fp = fopen(path, "wb"));
		assert_int_equal(fwrite(copy, 1, size, fp), size);
		assert_int_equal(fclose(fp), 0);
		e = tenantdb_open(f->reg, &f->t, NULL, &h);
		if (e == ERR_OK) {
			e = use_everything(h, ids, 30);
			tenantdb_close(h);
		}
		if (e != ERR_OK && e != ERR_QUARANTINED)
			fail_msg("page %zu of %zu: %s", page, npages,
			    err_code(e));
		held += e == ERR_QUARANTINED;
	}
	/* Most pages are read by something above; free pages are not. */
	assert_true(held >= npages / 2);
	assert_non_null(fp = fopen(path, "wb"));
	assert_int_equal(fwrite(orig, 1, size, fp), size);
	assert_int_equal(fclose(fp), 0);
	free(orig);
	free(copy);
	free(path);
}

/*
 * A write through a handle of the old file, after a rotation switched
 * the tenant to a new key (and file), is refused with nothing written:
 * it would be lost.  A handle of the current key writes.
 */
static void
test_a_write_to_the_file_of_a_retired_key_is_refused(void **state)
{
	struct fx_tenant *f = *state;
	unsigned char	*dek = sodium_malloc(KEY_BYTES);
	struct tpl	 t;
	long long	 n = -1;
	char		 name[] = "After", body[] = "x", owner[] = "acct-a";
	int		 v;

	assert_non_null(dek);
	memset(&t, 0, sizeof(t));
	t.name = name;
	t.body = body;
	t.owner = owner;
	t.scope = SCOPE_GLOBAL;
	t.active = 1;
	assert_int_equal(registry_rotate_begin(f->reg, f->t.id, FX_NOW, dek,
	    &v), ERR_OK);
	/* Pending only: the file of key 1 is still the tenant's. */
	assert_int_equal(tpl_create(f->tdb, &t, FX_NOW, &fx_limits), ERR_OK);
	assert_int_equal(registry_rotate_promote(f->reg, f->t.id, v, FX_NOW),
	    ERR_OK);
	t.id = 0;
	assert_int_equal(tpl_create(f->tdb, &t, FX_NOW, &fx_limits),
	    ERR_REKEYED);
	assert_int_equal(tpl_count_visible(f->tdb, "acct-a", &n), ERR_OK);
	assert_int_equal(n, 1);
	sodium_free(dek);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		FX_TENANT_TEST(test_open_names_tenant_and_prepares_nothing),
		FX_TENANT_TEST(test_statements_prepared_once_per_handle),
		FX_TENANT_TEST(test_tenant_files_use_a_rollback_journal),
		FX_TENANT_TEST(test_released_handle_still_answers),
		FX_TENANT_TEST(
		    test_a_write_to_a_replaced_file_is_unavailable_not_internal),
		FX_TENANT_TEST(
		    test_a_wal_left_by_a_crash_is_not_checkpointed_by_opening),
		FX_TENANT_TEST(test_two_handles_on_one_file_see_each_other),
		FX_TENANT_TEST(test_a_file_naming_another_tenant_is_refused),
		FX_TENANT_TEST(test_encryption_is_read_from_the_file),
		FX_TENANT_TEST(test_search_table_is_filled_for_older_files),
		FX_TENANT_TEST(test_a_damaged_page_anywhere_holds_the_tenant),
		FX_TENANT_TEST(test_a_write_to_the_file_of_a_retired_key_is_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
