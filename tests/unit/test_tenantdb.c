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
#include <unistd.h>

#include <cmocka.h>

#include "cellar/db.h"
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
	/* Gone: unknown, never "encrypted". */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(tenantdb_encrypted(f->tdb), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		FX_TENANT_TEST(test_open_names_tenant_and_prepares_nothing),
		FX_TENANT_TEST(test_statements_prepared_once_per_handle),
		FX_TENANT_TEST(test_two_handles_on_one_file_see_each_other),
		FX_TENANT_TEST(test_a_file_naming_another_tenant_is_refused),
		FX_TENANT_TEST(test_encryption_is_read_from_the_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
