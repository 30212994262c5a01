/*
 * registry: tenants, their sealed secrets and wrapped data keys, which
 * the reaper's purge and rotation will change.  What the promises rest
 * on: a tenant is found by its clientKey (what Jira's tokens name) and
 * by its random id (what files and logs name), and by nothing else; its
 * file is encrypted under its own data key and names its owner; a
 * reinstall keeps the tenant and replaces the secret; uninstall
 * schedules the deletion; a sealed secret that was tampered with never
 * opens.
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

#include "cellar/clock.h"
#include "cellar/db.h"
#include "cellar/registry.h"
#include "cellar/tenantdb.h"
#include "fixture.h"

/* The fixture, with a client key of our own. */
static int
setup(void **state)
{
	struct fx_tenant *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	fx_tenant_setup(f, "client-a");
	*state = f;
	return 0;
}


static void
install(struct fx_tenant *f, const char *ck, const char *secret,
    long long now, struct tenant *t, int want_created)
{
	struct install	 in = { ck, secret, "https://b.example.net", NULL,
	    "jira", NULL, NULL, NULL, NULL };
	int		 created;

	assert_int_equal(registry_install(f->reg, &in, now, t, &created),
	    ERR_OK);
	assert_int_equal(created, want_created);
}

static int
all_hex(const char *s)
{
	return strspn(s, "0123456789abcdef") == TENANT_ID_LEN &&
	    s[TENANT_ID_LEN] == '\0';
}

static void
test_found_by_client_key_and_by_id_only(void **state)
{
	struct fx_tenant *f = *state;
	struct tenant	 a, b;
	char		*path;

	assert_true(all_hex(f->t.id));
	assert_int_equal(registry_find(f->reg, "client-a", &a), ERR_OK);
	assert_string_equal(a.id, f->t.id);
	assert_string_equal(a.client_key, "client-a");
	assert_int_equal(a.state, TENANT_INSTALLED);
	assert_int_equal(a.installed_at, FX_NOW);
	assert_int_equal(a.dek_version, 1);
	assert_int_equal(registry_get(f->reg, f->t.id, &b), ERR_OK);
	assert_string_equal(b.client_key, "client-a");
	registry_tenant_free(&a);
	registry_tenant_free(&b);
	/* Neither key stands for the other. */
	assert_int_equal(registry_find(f->reg, f->t.id, &a), ERR_NOT_FOUND);
	assert_int_equal(registry_get(f->reg, "client-a", &a), ERR_NOT_FOUND);
	assert_int_equal(registry_find(f->reg, "client-A", &a),
	    ERR_NOT_FOUND);
	assert_int_equal(registry_find(f->reg, "client-a' OR 1=1 --", &a),
	    ERR_NOT_FOUND);
	/* The file is named by the random id and is not plaintext. */
	assert_non_null(path = registry_tenant_path(f->reg, f->t.id, 1));
	assert_non_null(strstr(path, f->t.id));
	assert_null(strstr(path, "client"));
	assert_int_equal(access(path, F_OK), 0);
	assert_false(db_file_is_plaintext(path));
	free(path);
}

static void
test_tenants_get_their_own_ids_and_keys(void **state)
{
	struct fx_tenant *f = *state;
	struct tenant	 b;
	unsigned char	 ka[KEY_BYTES], kb[KEY_BYTES];
	long long	 created;
	int		 v, m;

	install(f, "client-b", "another-secret-another-secret-xx", FX_NOW + 1,
	    &b, 1);
	assert_true(all_hex(b.id));
	assert_string_not_equal(b.id, f->t.id);
	assert_int_equal(registry_dek(f->reg, f->t.id, ka, &v, &m, &created),
	    0);
	assert_int_equal(v, 1);
	assert_int_equal(m, 1);
	assert_int_equal(created, FX_NOW);
	assert_int_equal(registry_dek(f->reg, b.id, kb, &v, &m, &created), 0);
	assert_memory_not_equal(ka, kb, KEY_BYTES);
	assert_int_equal(registry_dek(f->reg,
	    "0123456789abcdef0123456789abcdef", kb, &v, &m, &created), -1);
	registry_tenant_free(&b);
}

static void
test_reinstall_keeps_tenant_and_replaces_secret(void **state)
{
	struct fx_tenant *f = *state;
	struct tenant	 t;
	const char	*s;
	size_t		 len;

	assert_non_null(s = registry_secret(f->reg, &f->t, &len));
	assert_string_equal(s, "s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t");
	registry_secret_wipe(f->reg);
	install(f, "client-a", "new-secret-new-secret-new-secret", FX_NOW + 5,
	    &t, 0);
	assert_string_equal(t.id, f->t.id);
	assert_int_equal(t.updated_at, FX_NOW + 5);
	assert_non_null(s = registry_secret(f->reg, &t, &len));
	assert_string_equal(s, "new-secret-new-secret-new-secret");
	assert_int_equal(len, strlen("new-secret-new-secret-new-secret"));
	registry_secret_wipe(f->reg);
	registry_tenant_free(&t);
}

static void
test_tampered_secret_never_opens(void **state)
{
	struct fx_tenant *f = *state;
	size_t		 len;

	f->t.secret_sealed[f->t.secret_sealed_len / 2] ^= 1;
	assert_null(registry_secret(f->reg, &f->t, &len));
	f->t.secret_sealed[f->t.secret_sealed_len / 2] ^= 1;
	/* Bound to its tenant: another id's additional data fails. */
	f->t.id[0] = f->t.id[0] == 'a' ? 'b' : 'a';
	assert_null(registry_secret(f->reg, &f->t, &len));
}

static void
test_uninstall_schedules_deletion_and_reinstall_cancels(void **state)
{
	struct fx_tenant *f = *state;
	struct tenant	 t;

	assert_int_equal(registry_uninstall(f->reg, f->t.id, FX_NOW + 100,
	    21), ERR_OK);
	assert_int_equal(registry_get(f->reg, f->t.id, &t), ERR_OK);
	assert_int_equal(t.state, TENANT_DEPARTED);
	assert_int_equal(t.uninstalled_at, FX_NOW + 100);
	assert_int_equal(t.delete_after, FX_NOW + 100 + 21 * CLOCK_DAY);
	registry_tenant_free(&t);
	assert_int_equal(registry_uninstall(f->reg,
	    "0123456789abcdef0123456789abcdef", FX_NOW, 21), ERR_NOT_FOUND);
	install(f, "client-a", "s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t",
	    FX_NOW + 200, &t, 0);
	assert_int_equal(t.state, TENANT_INSTALLED);
	assert_int_equal(t.delete_after, 0);
	assert_int_equal(t.uninstalled_at, 0);
	registry_tenant_free(&t);
}

/* Appends each tenant's clientKey to the text in arg. */
static int
collect_keys(const struct tenant *t, void *arg)
{
	char	*out = arg;

	strncat(out, t->client_key, 255 - strlen(out));
	strncat(out, ",", 255 - strlen(out));
	return 0;
}

static void
test_enabled_flag_and_listing(void **state)
{
	struct fx_tenant *f = *state;
	struct tenant	 t, b;
	char		 keys[256];

	assert_int_equal(f->t.enabled, 0);
	assert_int_equal(registry_set_enabled(f->reg, f->t.id, 1, FX_NOW + 1),
	    ERR_OK);
	assert_int_equal(registry_get(f->reg, f->t.id, &t), ERR_OK);
	assert_int_equal(t.enabled, 1);
	registry_tenant_free(&t);
	install(f, "client-b", "another-secret-another-secret-xx", FX_NOW + 2,
	    &b, 1);
	registry_tenant_free(&b);
	keys[0] = '\0';
	assert_int_equal(registry_each(f->reg, collect_keys, keys), 2);
	/* In install order. */
	assert_string_equal(keys, "client-a,client-b,");
}

static void
test_file_opens_under_its_own_key_only(void **state)
{
	struct fx_tenant *f = *state;
	struct tenant	 b;
	unsigned char	 ka[KEY_BYTES];
	long long	 created;
	sqlite3		*db;
	char		*path;
	int		 v, m;

	install(f, "client-b", "another-secret-another-secret-xx", FX_NOW + 1,
	    &b, 1);
	assert_int_equal(registry_dek(f->reg, f->t.id, ka, &v, &m, &created),
	    0);
	assert_non_null(path = registry_tenant_path(f->reg, b.id, 1));
	assert_int_equal(db_open(path, ka, DB_ROLLBACK, db_tenant_migrations,
	    db_tenant_nmigrations, &db), DB_WRONG_KEY);
	free(path);
	assert_non_null(path = registry_tenant_path(f->reg, f->t.id, 1));
	assert_int_equal(db_open(path, ka, DB_ROLLBACK, db_tenant_migrations,
	    db_tenant_nmigrations, &db), DB_OK);
	db_close(db);
	free(path);
	/* An id with no key record has no key to open anything with. */
	memcpy(b.id, "0123456789abcdef0123456789abcdef", sizeof(b.id));
	assert_int_equal(registry_dek(f->reg, b.id, ka, &v, &m, &created), -1);
	registry_tenant_free(&b);
}

static void
test_registry_is_never_created_behind_the_operator(void **state)
{
	struct fx_tenant *f = *state;
	struct registry	*reg;
	char		 dir[128], err[256];

	snprintf(dir, sizeof(dir), "%s/elsewhere", f->dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_null(registry_open(dir, f->kr, 0, err, sizeof(err)));
	assert_non_null(strstr(err, "no registry"));
	/* The existing one opens again. */
	assert_non_null(reg = registry_open(f->dir, f->kr, 0, err,
	    sizeof(err)));
	registry_close(reg);
}

static int
count_purge(const struct purge_item *it, void *arg)
{
	(void)it;
	(*(int *)arg)++;
	return 0;
}

/*
 * Purge step 1 destroys the keys and forgets who the tenant was, but
 * only when the departure is still due; the row goes at the end with
 * an audit record.
 */
static void
test_purge_destroys_keys_then_the_row_only_when_still_due(void **state)
{
	struct fx_tenant *f = *state;
	struct purge_item it;
	struct tenant	 t;
	unsigned char	 dek[KEY_BYTES];
	long long	 gone = FX_NOW + 100, cutoff;
	int		 keys = -1, n = 0, v, m;
	long long	 created;

	tenantdb_close(f->tdb);
	f->tdb = NULL;
	assert_int_equal(registry_uninstall(f->reg, f->t.id, gone, 21),
	    ERR_OK);
	/* Not due before the grace ends: nothing listed, nothing done. */
	assert_int_equal(registry_purge_due(f->reg, gone - 1, count_purge,
	    &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(registry_purge_begin(f->reg, f->t.id, gone - 1,
	    gone + 5, &keys), ERR_NOT_FOUND);
	assert_int_equal(registry_dek(f->reg, f->t.id, dek, &v, &m,
	    &created), 0);
	cutoff = gone + 21 * CLOCK_DAY;
	assert_int_equal(registry_purge_due(f->reg, cutoff, count_purge, &n),
	    1);
	assert_int_equal(registry_purge_begin(f->reg, f->t.id, cutoff,
	    cutoff + 1, &keys), ERR_OK);
	assert_int_equal(keys, 1);
	/* Crypto-shredded: no key opens, the clientKey finds nothing. */
	assert_int_equal(registry_dek(f->reg, f->t.id, dek, &v, &m,
	    &created), -1);
	assert_int_equal(registry_dek_at(f->reg, f->t.id, 1, dek), -1);
	assert_int_equal(registry_find(f->reg, "client-a", &t),
	    ERR_NOT_FOUND);
	assert_int_equal(registry_purge_state(f->reg, f->t.id, &it), 1);
	assert_int_equal(it.purge_started_at, cutoff + 1);
	/* Again (a crash after step 1): fine, nothing more destroyed. */
	assert_int_equal(registry_purge_begin(f->reg, f->t.id, cutoff,
	    cutoff + 2, &keys), ERR_OK);
	assert_int_equal(keys, 0);
	/* A reinstall now is a new tenant with a new id. */
	install(f, "client-a", "s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t",
	    cutoff + 3, &t, 1);
	assert_string_not_equal(t.id, f->t.id);
	registry_tenant_free(&t);
	assert_int_equal(registry_purge_end(f->reg, f->t.id, cutoff + 4,
	    "installed=x"), ERR_OK);
	assert_int_equal(registry_purge_state(f->reg, f->t.id, &it), 0);
	assert_int_equal(registry_get(f->reg, f->t.id, &t), ERR_NOT_FOUND);
	/* Idempotent. */
	assert_int_equal(registry_purge_end(f->reg, f->t.id, cutoff + 5,
	    "installed=x"), ERR_OK);
}

/* A reinstall before the purge began keeps the tenant: purge refuses. */
static void
test_reinstall_before_the_purge_wins(void **state)
{
	struct fx_tenant *f = *state;
	struct tenant	 t;
	int		 keys = -1;
	long long	 cutoff = FX_NOW + 100 + 22 * CLOCK_DAY;

	assert_int_equal(registry_uninstall(f->reg, f->t.id, FX_NOW + 100,
	    21), ERR_OK);
	install(f, "client-a", "s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t",
	    FX_NOW + 200, &t, 0);
	registry_tenant_free(&t);
	assert_int_equal(registry_purge_begin(f->reg, f->t.id, cutoff,
	    cutoff, &keys), ERR_NOT_FOUND);
	assert_int_equal(registry_find(f->reg, "client-a", &t), ERR_OK);
	assert_string_equal(t.id, f->t.id);
	registry_tenant_free(&t);
}

static int
count_runs(const struct backup_run *r, void *arg)
{
	(void)r;
	(*(int *)arg)++;
	return 0;
}

/* A recorded run is each tenant's evidence, never moved back in time. */
static void
test_backup_runs_are_recorded_per_tenant(void **state)
{
	struct fx_tenant *f = *state;
	struct backup_run r = { "20261118T110640Z", FX_NOW, FX_NOW + 5, 1,
	    4096, 0, -1 };
	struct backup_run old = { "20261117T110640Z", FX_NOW - CLOCK_DAY,
	    FX_NOW - CLOCK_DAY + 5, 1, 4096, 0, -1 };
	const char	*ids[] = { f->t.id };
	struct tenant	 t;
	int		 n = 0;

	assert_int_equal(registry_backup_known(f->reg, r.run), 0);
	assert_int_equal(registry_backup_record(f->reg, &r, ids, 1), ERR_OK);
	assert_int_equal(registry_backup_record(f->reg, &old, ids, 1),
	    ERR_OK);
	assert_int_equal(registry_backup_known(f->reg, r.run), 1);
	assert_int_equal(registry_get(f->reg, f->t.id, &t), ERR_OK);
	assert_int_equal(t.backup_at, FX_NOW);
	assert_string_equal(t.backup_run, r.run);
	registry_tenant_free(&t);
	assert_int_equal(registry_backup_offsite(f->reg, r.run, FX_NOW + 9,
	    0), ERR_OK);
	assert_int_equal(registry_backup_runs(f->reg, count_runs, &n), 2);
	assert_int_equal(registry_backup_forget(f->reg, old.run), ERR_OK);
	n = 0;
	assert_int_equal(registry_backup_runs(f->reg, count_runs, &n), 1);
}

/*
 * Rotation in the registry: a pending key survives a run cut short and
 * is used again; the switch retires the old key; a new master re-wraps
 * every key and secret, and the registry rekeyed opens under the new
 * master only, also for a second holder (a worker) that reconnects.
 */
static void
test_rotation_keeps_a_working_key_at_every_step(void **state)
{
	struct fx_tenant *f = *state;
	unsigned char	*a = sodium_malloc(KEY_BYTES), *b;
	struct registry	*other;
	struct tenant	 t;
	char		 err[256];
	size_t		 len;
	int		 v, v2, nv;

	assert_non_null(a);
	assert_non_null(b = sodium_malloc(KEY_BYTES));
	assert_int_equal(registry_dek_pending(f->reg, f->t.id, a, &v), 1);
	assert_int_equal(registry_rotate_begin(f->reg, f->t.id, FX_NOW, a,
	    &v), ERR_OK);
	assert_int_equal(v, 2);
	/* Cut short and begun again: the same pending key. */
	assert_int_equal(registry_rotate_begin(f->reg, f->t.id, FX_NOW + 1, b,
	    &v2), ERR_OK);
	assert_int_equal(v2, 2);
	assert_memory_equal(a, b, KEY_BYTES);
	/* Until the switch, version 1 is current and opens. */
	assert_int_equal(registry_key_version(f->reg, f->t.id), 1);
	assert_int_equal(registry_dek_at(f->reg, f->t.id, 1, b), 0);
	assert_int_equal(registry_rotate_promote(f->reg, f->t.id, 2,
	    FX_NOW + 5), ERR_OK);
	assert_int_equal(registry_key_version(f->reg, f->t.id), 2);
	assert_int_equal(registry_dek_pending(f->reg, f->t.id, b, &v2), 1);
	/* The retired key stays until destroyed. */
	assert_int_equal(registry_dek_at(f->reg, f->t.id, 1, b), 0);
	assert_int_equal(registry_dek_destroy(f->reg, f->t.id, 1, FX_NOW + 9),
	    ERR_OK);
	assert_int_equal(registry_dek_at(f->reg, f->t.id, 1, b), -1);
	/* A second holder, opened before the master rotation. */
	assert_non_null(other = registry_open(f->dir, f->kr, 0, err,
	    sizeof(err)));
	assert_int_equal(keys_add_version(f->kr, &nv, err, sizeof(err)), 0);
	assert_int_equal(registry_master_uses(f->reg, 1), 2);
	assert_int_equal(registry_rewrap(f->reg, nv), 2);
	assert_int_equal(registry_master_uses(f->reg, 1), 0);
	assert_int_equal(registry_master_uses(f->reg, nv), 2);
	assert_int_equal(registry_rekey(f->reg, nv, err, sizeof(err)), 0);
	assert_int_equal(registry_master(f->reg), nv);
	/* The other holder reconnects and still reads keys and secrets. */
	assert_int_equal(registry_get(other, f->t.id, &t), ERR_OK);
	assert_int_equal(registry_master(other), nv);
	assert_non_null(registry_secret(other, &t, &len));
	registry_tenant_free(&t);
	assert_int_equal(registry_dek_at(other, f->t.id, 2, b), 0);
	assert_memory_equal(a, b, KEY_BYTES);
	registry_close(other);
	/* Without master 1 the registry still opens (it is under nv). */
	assert_int_equal(keys_destroy_version(f->kr, 1, err, sizeof(err)), 0);
	assert_non_null(other = registry_open(f->dir, f->kr, 0, err,
	    sizeof(err)));
	registry_close(other);
	sodium_free(a);
	sodium_free(b);
}

/* A test on the fixture with clientKey "client-a". */
#define REGISTRY_TEST(fn)	cmocka_unit_test_setup_teardown(fn, setup, \
				    fx_tenant_state_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		REGISTRY_TEST(test_found_by_client_key_and_by_id_only),
		REGISTRY_TEST(test_tenants_get_their_own_ids_and_keys),
		REGISTRY_TEST(test_reinstall_keeps_tenant_and_replaces_secret),
		REGISTRY_TEST(test_tampered_secret_never_opens),
		REGISTRY_TEST(test_uninstall_schedules_deletion_and_reinstall_cancels),
		REGISTRY_TEST(test_enabled_flag_and_listing),
		REGISTRY_TEST(test_file_opens_under_its_own_key_only),
		REGISTRY_TEST(test_registry_is_never_created_behind_the_operator),
		REGISTRY_TEST(test_purge_destroys_keys_then_the_row_only_when_still_due),
		REGISTRY_TEST(test_reinstall_before_the_purge_wins),
		REGISTRY_TEST(test_backup_runs_are_recorded_per_tenant),
		REGISTRY_TEST(test_rotation_keeps_a_working_key_at_every_step),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
