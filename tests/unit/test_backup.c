/*
 * backup: what a restore relies on.  A copy is encrypted under the key
 * it names and never plaintext; it matches its manifest's counts; one
 * flipped byte, a wrong key or a copy of another tenant fails the check;
 * a manifest round-trips and never names a path outside its run; only
 * complete runs are listed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "cellar/backup.h"
#include "cellar/file.h"
#include "cellar/registry.h"
#include "cellar/tenantdb.h"
#include "cellar/tpl.h"
#include "fixture.h"

static void
add_templates(struct fx_tenant *f, int n)
{
	struct tpl	 t;
	char		 name[32], body[] = "Hello {{issue.key}}";
	char		 owner[] = "acct-a";
	int		 i;

	for (i = 0; i < n; i++) {
		memset(&t, 0, sizeof(t));
		snprintf(name, sizeof(name), "Template %d", i);
		t.name = name;
		t.body = body;
		t.scope = SCOPE_GLOBAL;
		t.owner = owner;
		t.active = 1;
		assert_int_equal(tpl_create(f->tdb, &t, FX_NOW, &fx_limits),
		    ERR_OK);
	}
}

/* The tenant's copy in dir/copy.db, described in out. */
static void
take(struct fx_tenant *f, const char *dir, struct backup_file *out,
    unsigned char *dek)
{
	char		 path[256];
	long long	 created;
	int		 v, m;

	memset(out, 0, sizeof(*out));
	memcpy(out->id, f->t.id, sizeof(out->id));
	snprintf(out->file, sizeof(out->file), "tenants/%s.db", f->t.id);
	assert_int_equal(registry_dek(f->reg, f->t.id, dek, &v, &m,
	    &created), 0);
	out->key_version = v;
	snprintf(path, sizeof(path), "%s/copy.db", dir);
	assert_int_equal(backup_take(tenantdb_sqlite(f->tdb), path, dek, out),
	    DB_OK);
}

static long long
rows_of(const struct backup_file *b, const char *table)
{
	size_t	 i;

	for (i = 0; i < b->ntables; i++)
		if (strcmp(b->tables[i].name, table) == 0)
			return b->tables[i].rows;
	return -1;
}

static void
flip(const char *path, off_t at)
{
	unsigned char	 c;
	int		 fd;

	assert_true((fd = open(path, O_RDWR)) != -1);
	assert_int_equal(pread(fd, &c, 1, at), 1);
	c ^= 0x01;
	assert_int_equal(pwrite(fd, &c, 1, at), 1);
	close(fd);
}

static void
test_copy_is_encrypted_counted_and_checked(void **state)
{
	struct fx_tenant *f = *state;
	struct backup_file b;
	unsigned char	*dek = sodium_malloc(KEY_BYTES);
	char		 dir[64], path[256], why[256];
	unsigned char	 head[16];
	int		 fd;

	assert_non_null(dek);
	add_templates(f, 25);
	assert_int_equal(fx_tmpdir(dir, sizeof(dir)), 0);
	take(f, dir, &b, dek);
	assert_int_equal(rows_of(&b, "templates"), 25);
	assert_int_equal(rows_of(&b, "meta"), 2);
	assert_true(b.schema > 0);
	snprintf(path, sizeof(path), "%s/copy.db", dir);
	assert_true((fd = open(path, O_RDONLY)) != -1);
	assert_int_equal(read(fd, head, 16), 16);
	close(fd);
	assert_memory_not_equal(head, "SQLite format 3", 16);
	/* One file: no -wal or -journal beside it. */
	snprintf(path, sizeof(path), "%s/copy.db-wal", dir);
	assert_int_equal(access(path, F_OK), -1);
	snprintf(path, sizeof(path), "%s/copy.db", dir);
	assert_int_equal(backup_check(path, dek, &b, dir, why, sizeof(why)),
	    0);
	/* The same copy under another key does not open. */
	dek[0] ^= 1;
	assert_int_equal(backup_check(path, dek, &b, dir, why, sizeof(why)),
	    -1);
	assert_non_null(strstr(why, "does not open"));
	dek[0] ^= 1;
	/* A count that differs is caught. */
	b.tables[0].rows++;
	assert_int_equal(backup_check(path, dek, &b, dir, why, sizeof(why)),
	    -1);
	assert_non_null(strstr(why, "row count"));
	b.tables[0].rows--;
	/* Another tenant's name in the manifest: not its owner. */
	b.id[0] = b.id[0] == 'a' ? 'b' : 'a';
	assert_int_equal(backup_check(path, dek, &b, dir, why, sizeof(why)),
	    -1);
	assert_non_null(strstr(why, "owner"));
	memcpy(b.id, f->t.id, sizeof(b.id));
	/* One flipped byte: the hash first, and the page's HMAC behind it. */
	flip(path, 3000);
	assert_int_equal(backup_check(path, dek, &b, dir, why, sizeof(why)),
	    -1);
	assert_non_null(strstr(why, "SHA-256"));
	assert_int_equal(file_sha256(path, b.sha256, &b.size), 0);
	assert_int_equal(backup_check(path, dek, &b, dir, why, sizeof(why)),
	    -1);
	sodium_free(dek);
	fx_rmtree(dir);
}

/*
 * A copy taken while another connection is writing holds every committed
 * write and nothing of the one still open.
 */
static void
test_copy_holds_what_was_committed(void **state)
{
	struct fx_tenant *f = *state;
	struct backup_file b;
	unsigned char	*dek = sodium_malloc(KEY_BYTES);
	char		 dir[64], path[256], why[256];
	struct tenantdb	*writer = NULL;

	assert_non_null(dek);
	add_templates(f, 3);
	assert_int_equal(tenantdb_open(f->reg, &f->t, NULL, &writer), ERR_OK);
	assert_int_equal(sqlite3_exec(tenantdb_sqlite(writer), "BEGIN "
	    "IMMEDIATE; INSERT INTO templates (name, body, scope, owner, "
	    "created_at, updated_at) VALUES ('open', 'b', 'personal', 'a', 1, "
	    "1)", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(fx_tmpdir(dir, sizeof(dir)), 0);
	take(f, dir, &b, dek);
	assert_int_equal(rows_of(&b, "templates"), 3);
	assert_int_equal(sqlite3_exec(tenantdb_sqlite(writer), "ROLLBACK",
	    NULL, NULL, NULL), SQLITE_OK);
	tenantdb_close(writer);
	snprintf(path, sizeof(path), "%s/copy.db", dir);
	assert_int_equal(backup_check(path, dek, &b, dir, why, sizeof(why)),
	    0);
	/* The destination must not exist: never overwritten. */
	assert_int_not_equal(backup_take(tenantdb_sqlite(f->tdb), path, dek,
	    &b), DB_OK);
	sodium_free(dek);
	fx_rmtree(dir);
}

static void
test_manifest_round_trips_and_stays_inside_its_run(void **state)
{
	struct backup_manifest m, got;
	struct backup_file t;
	char		 dir[64], path[256], why[256];
	FILE		*fp;

	(void)state;
	assert_int_equal(fx_tmpdir(dir, sizeof(dir)), 0);
	memset(&m, 0, sizeof(m));
	backup_run_name(FX_NOW, m.run);
	assert_string_equal(m.run, "20261118T110640Z");
	assert_int_equal(backup_run_time(m.run), FX_NOW);
	m.started_at = FX_NOW;
	m.finished_at = FX_NOW + 3;
	snprintf(m.registry.file, sizeof(m.registry.file), "registry.db");
	memset(m.registry.sha256, 'a', 64);
	m.registry.key_version = 2;
	m.registry.size = 4096;
	m.registry.ntables = 1;
	snprintf(m.registry.tables[0].name, 64, "tenants");
	m.registry.tables[0].rows = 7;
	memset(&t, 0, sizeof(t));
	memset(t.id, 'c', TENANT_ID_LEN);
	snprintf(t.file, sizeof(t.file), "tenants/%s.db", t.id);
	memset(t.sha256, 'b', 64);
	t.key_version = 1;
	t.schema = 3;
	assert_int_equal(backup_manifest_add(&m, &t), 0);
	assert_int_equal(backup_manifest_save(dir, &m), 0);
	assert_int_equal(backup_manifest_load(dir, &got, why, sizeof(why)),
	    0);
	assert_string_equal(got.run, m.run);
	assert_int_equal(got.ntenants, 1);
	assert_string_equal(got.tenants[0].file, t.file);
	assert_int_equal(got.registry.key_version, 2);
	assert_int_equal(got.registry.tables[0].rows, 7);
	assert_int_equal(backup_manifest_drop(&got, t.id), 1);
	assert_int_equal(got.ntenants, 0);
	backup_manifest_free(&got);
	/* A manifest naming a path outside the run is refused. */
	snprintf(t.file, sizeof(t.file), "../../etc/passwd");
	m.tenants[0] = t;
	assert_int_equal(backup_manifest_save(dir, &m), 0);
	assert_int_equal(backup_manifest_load(dir, &got, why, sizeof(why)),
	    -1);
	/* So is anything that is not ours. */
	snprintf(path, sizeof(path), "%s/%s", dir, BACKUP_MANIFEST);
	assert_non_null(fp = fopen(path, "w"));
	fputs("{\"format\":\"other\",\"version\":1}", fp);
	fclose(fp);
	assert_int_equal(backup_manifest_load(dir, &got, why, sizeof(why)),
	    -1);
	backup_manifest_free(&m);
	assert_false(backup_run_valid("20261118T110640Z.tmp"));
	assert_false(backup_run_valid("2026111xT110640Z"));
	assert_int_equal(backup_run_time("20261118T110640Z.failed"), FX_NOW);
	fx_rmtree(dir);
}

static void
test_only_complete_runs_are_listed(void **state)
{
	char		(*runs)[BACKUP_RUN_LEN + 1];
	char		 dir[64], path[256];
	size_t		 n;
	static const char *const names[] = { "20261118T110640Z",
	    "20261117T110640Z", "20261119T110640Z.tmp",
	    "20261116T110640Z.failed", "20261115T110640Z" };
	size_t		 i;
	FILE		*fp;

	(void)state;
	assert_int_equal(fx_tmpdir(dir, sizeof(dir)), 0);
	assert_int_equal(backup_list(dir, &runs, &n), 0);	/* no runs/ */
	assert_int_equal(n, 0);
	free(runs);
	snprintf(path, sizeof(path), "%s/runs", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	for (i = 0; i < 5; i++) {
		snprintf(path, sizeof(path), "%s/runs/%s", dir, names[i]);
		assert_int_equal(mkdir(path, 0700), 0);
		/* The last one has no manifest: killed before it. */
		if (i == 4)
			continue;
		snprintf(path, sizeof(path), "%s/runs/%s/%s", dir, names[i],
		    BACKUP_MANIFEST);
		assert_non_null(fp = fopen(path, "w"));
		fclose(fp);
	}
	assert_int_equal(backup_list(dir, &runs, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(runs[0], "20261117T110640Z");
	assert_string_equal(runs[1], "20261118T110640Z");
	free(runs);
	fx_rmtree(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		FX_TENANT_TEST(test_copy_is_encrypted_counted_and_checked),
		FX_TENANT_TEST(test_copy_holds_what_was_committed),
		cmocka_unit_test(test_manifest_round_trips_and_stays_inside_its_run),
		cmocka_unit_test(test_only_complete_runs_are_listed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
