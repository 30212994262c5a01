/*
 * registry: tenants, their sealed secrets and wrapped data keys, which
 * the reaper's purge and rotation will change.  What the promises rest
 * on: a tenant is found by its clientKey (what Jira's tokens name) and
 * by its random id (what files and logs name), and by nothing else; its
 * file is encrypted under its own data key and names its owner; a
 * reinstall keeps the tenant and replaces the secret; uninstall
 * schedules the deletion; a sealed secret that was tampered with never
 * opens.  Forge: an installation is a tenant of its own (no clientKey,
 * no secret, never found by a Connect lookup) until a verified Connect
 * payload or an operator links it; links move, never vanish on a
 * reinstall; silence and pre-uninstall depart, a FIT reinstates; a
 * purge forgets the installations.  The registry of an older cellar
 * (schema 4) migrates without losing a tenant, a key or a file.
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
#include "cellar/keys.h"
#include "cellar/registry.h"
#include "cellar/tenantdb.h"
#include "cellar/util.h"
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
	    "jira", NULL, NULL, NULL, NULL, NULL, NULL, 0 };
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

/* Forge. */

#define INST_A	"ari:cloud:ecosystem::installation/" \
		"0f6a3c51-8b2e-4d4e-9a1b-6c7d8e9f0a1b"
#define INST_B	"ari:cloud:ecosystem::installation/" \
		"1a2b3c4d-5e6f-4a8b-9c0d-e1f2a3b4c5d6"
#define INST_C	"ari:cloud:ecosystem::installation/" \
		"9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b"
#define INST_D	"ari:cloud:ecosystem::installation/" \
		"4c3b2a19-0f8e-4d7c-b6a5-948372615f0e"
#define INST_E	"ari:cloud:ecosystem::installation/" \
		"7d6c5b4a-3f2e-4e1d-a0c9-b8a7f6e5d4c3"
#define API_A	"https://api.atlassian.com/ex/jira/cloud-a"

/* A Forge installation's first contact; checks created. */
static void
forge(struct fx_tenant *f, const char *iid, const char *cloud,
    long long now, struct tenant *t, int want_created)
{
	struct forge_seen s = { iid, cloud, API_A };
	int		 created = -1;

	assert_int_equal(registry_forge_install(f->reg, &s, "fit", now, t,
	    &created), ERR_OK);
	assert_int_equal(created, want_created);
}

/* How many audit records of event (for tenant id, unless NULL). */
static int
audits(struct fx_tenant *f, const char *event, const char *id,
    char *detail, size_t detailsz)
{
	sqlite3_stmt	*st;
	const unsigned char *d;
	int		 n = 0;

	assert_int_equal(sqlite3_prepare_v2(registry_sqlite(f->reg),
	    "SELECT detail FROM audit WHERE event = ?1 AND (?2 IS NULL OR "
	    "tenant_id = ?2) ORDER BY id", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, event, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		n++;
		d = sqlite3_column_text(st, 0);
		if (detail != NULL)
			snprintf(detail, detailsz, "%s", d != NULL ?
			    (const char *)d : "");
	}
	sqlite3_finalize(st);
	return n;
}

/* The one installation of a tenant, copied out. */
struct one_inst {
	int		 n;
	char		 id[128], by[16], api[128];
	long long	 linked_at, last_seen, preuninstall;
};

static int
one_inst(const struct installation *in, void *arg)
{
	struct one_inst	*o = arg;

	o->n++;
	snprintf(o->id, sizeof(o->id), "%s", in->installation_id);
	snprintf(o->by, sizeof(o->by), "%s", in->linked_by);
	snprintf(o->api, sizeof(o->api), "%s", in->api_base_url != NULL ?
	    in->api_base_url : "");
	o->linked_at = in->linked_at;
	o->last_seen = in->last_seen_at;
	o->preuninstall = in->preuninstall_at;
	return 0;
}

static struct one_inst
installations_of(struct fx_tenant *f, const char *id)
{
	struct one_inst	 o;
	int		 n;

	memset(&o, 0, sizeof(o));
	n = registry_installations(f->reg, id, one_inst, &o);
	assert_int_equal(n, o.n);
	return o;
}

static int
count_any(const struct tenant *t, void *arg)
{
	(void)t;
	(*(int *)arg)++;
	return 0;
}

/*
 * A Forge-only tenant: its own id, data key and encrypted file, but no
 * clientKey, site URL or secret; nothing Connect finds it by.
 */
static void
test_forge_only_tenant_has_no_secret_and_no_client_key(void **state)
{
	struct fx_tenant *f = *state;
	struct tenantdb	*tdb;
	struct tenant	 t, u;
	char		 detail[128];
	size_t		 len;
	int		 n = 0;

	forge(f, INST_A, "cloud-a", FX_NOW + 1, &t, 1);
	assert_true(all_hex(t.id));
	assert_string_not_equal(t.id, f->t.id);
	assert_null(t.client_key);
	assert_null(t.base_url);
	assert_null(t.secret_sealed);
	assert_int_equal(t.state, TENANT_INSTALLED);
	assert_int_equal(t.dek_version, 1);
	/* No secret: whatever asks for one fails closed. */
	assert_null(registry_secret(f->reg, &t, &len));
	/* Its file opens under its own key. */
	assert_int_equal(tenantdb_open(f->reg, &t, NULL, &tdb), ERR_OK);
	tenantdb_close(tdb);
	/* Found by its installation, never by a Connect lookup. */
	assert_int_equal(registry_forge_find(f->reg, INST_A, &u), ERR_OK);
	assert_string_equal(u.id, t.id);
	registry_tenant_free(&u);
	assert_int_equal(registry_forge_find(f->reg, INST_B, &u),
	    ERR_NOT_FOUND);
	assert_int_equal(registry_find(f->reg, INST_A, &u), ERR_NOT_FOUND);
	assert_int_equal(registry_find(f->reg, "", &u), ERR_NOT_FOUND);
	/* The second FIT: the same tenant, no new file. */
	forge(f, INST_A, "cloud-a", FX_NOW + 2, &u, 0);
	assert_string_equal(u.id, t.id);
	registry_tenant_free(&u);
	/* Listed with the others. */
	assert_int_equal(registry_each(f->reg, count_any, &n), 2);
	assert_int_equal(n, 2);
	/* Audited once, with no customer identifier. */
	assert_int_equal(audits(f, "forge_install", t.id, detail,
	    sizeof(detail)), 1);
	assert_string_equal(detail, "how=fit");
	/* Only "fit" and "event" make tenants. */
	{
		struct forge_seen s = { INST_B, NULL, NULL };
		int		 c;

		assert_int_equal(registry_forge_install(f->reg, &s, "operator",
		    FX_NOW, &u, &c), ERR_INTERNAL);
	}
	registry_tenant_free(&t);
}

/* The hot path's write: at most once a minute, at once for a new URL. */
static void
test_forge_seen_writes_at_most_once_a_minute(void **state)
{
	struct fx_tenant *f = *state;
	struct tenant	 t;
	struct one_inst	 o;
	sqlite3		*db = registry_sqlite(f->reg);
	int		 before;

	forge(f, INST_A, NULL, FX_NOW, &t, 1);
	o = installations_of(f, t.id);
	assert_int_equal(o.n, 1);
	assert_int_equal(o.last_seen, FX_NOW);
	assert_string_equal(o.by, "fit");
	before = sqlite3_total_changes(db);
	assert_int_equal(registry_forge_seen(f->reg, INST_A, API_A,
	    FX_NOW + 30), ERR_OK);
	assert_int_equal(registry_forge_seen(f->reg, INST_A, NULL,
	    FX_NOW + 59), ERR_OK);
	assert_int_equal(sqlite3_total_changes(db), before);
	assert_int_equal(installations_of(f, t.id).last_seen, FX_NOW);
	assert_int_equal(registry_forge_seen(f->reg, INST_A, API_A,
	    FX_NOW + 61), ERR_OK);
	assert_int_equal(installations_of(f, t.id).last_seen, FX_NOW + 61);
	/* A new api base url is recorded at once. */
	assert_int_equal(registry_forge_seen(f->reg, INST_A,
	    "https://api.atlassian.com/ex/jira/moved", FX_NOW + 62), ERR_OK);
	o = installations_of(f, t.id);
	assert_string_equal(o.api, "https://api.atlassian.com/ex/jira/moved");
	assert_int_equal(o.last_seen, FX_NOW + 62);
	assert_int_equal(registry_forge_seen(f->reg, INST_B, NULL, FX_NOW),
	    ERR_NOT_FOUND);
	registry_tenant_free(&t);
}

static void
install_linked(struct fx_tenant *f, const char *ck, const char *base,
    const char *iid, const char *cloud, long long now, struct tenant *t,
    int want_created)
{
	struct install	 in = { ck, "s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t",
	    base, NULL, "jira", NULL, NULL, NULL, NULL, iid, cloud, 21 };
	int		 created;

	assert_int_equal(registry_install(f->reg, &in, now, t, &created),
	    ERR_OK);
	assert_int_equal(created, want_created);
}

/*
 * The Connect payload names the installation: linked; a reinstall
 * without it, or with a new site URL (a rename), keeps the link (the
 * ACSB/97815 bug was exactly that loss).
 */
static void
test_connect_install_links_and_a_reinstall_keeps_the_link(void **state)
{
	struct fx_tenant *f = *state;
	struct tenant	 t, u;
	struct one_inst	 o;
	char		 detail[128];
	size_t		 len;

	install_linked(f, "client-a", "https://b.example.net", INST_A,
	    "cloud-a", FX_NOW + 1, &t, 0);
	assert_string_equal(t.id, f->t.id);
	registry_tenant_free(&t);
	o = installations_of(f, f->t.id);
	assert_int_equal(o.n, 1);
	assert_string_equal(o.id, INST_A);
	assert_string_equal(o.by, "connect");
	assert_int_equal(o.last_seen, 0);
	assert_int_equal(audits(f, "forge_link", f->t.id, detail,
	    sizeof(detail)), 1);
	assert_string_equal(detail, "how=connect moved=0");
	/* A reinstall under a new site URL, without installationId. */
	install_linked(f, "client-a", "https://renamed.example.net", NULL,
	    NULL, FX_NOW + 2, &t, 0);
	assert_string_equal(t.base_url, "https://renamed.example.net");
	registry_tenant_free(&t);
	/* And one naming it again: no second record, no new audit. */
	install_linked(f, "client-a", "https://renamed.example.net", INST_A,
	    "cloud-a", FX_NOW + 3, &t, 0);
	registry_tenant_free(&t);
	assert_int_equal(installations_of(f, f->t.id).n, 1);
	assert_int_equal(audits(f, "forge_link", f->t.id, NULL, 0), 1);
	/* Forge reaches the Connect tenant's data; Connect still works. */
	assert_int_equal(registry_forge_find(f->reg, INST_A, &u), ERR_OK);
	assert_string_equal(u.id, f->t.id);
	assert_non_null(registry_secret(f->reg, &u, &len));
	registry_secret_wipe(f->reg);
	registry_tenant_free(&u);
	forge(f, INST_A, "cloud-a", FX_NOW + 4, &u, 0);
	assert_string_equal(u.id, f->t.id);
	assert_string_equal(u.client_key, "client-a");
	registry_tenant_free(&u);
	assert_int_equal(installations_of(f, f->t.id).last_seen, FX_NOW + 4);
}

/* A Forge installation seen first, then its Connect install: one tenant. */
static void
test_connect_install_adopts_a_forge_tenant_seen_first(void **state)
{
	struct fx_tenant *f = *state;
	struct tenant	 t, u;
	char		 detail[64];
	size_t		 len;

	forge(f, INST_B, "cloud-b", FX_NOW + 1, &t, 1);
	install_linked(f, "client-b", "https://b.example.net", INST_B,
	    "cloud-b", FX_NOW + 2, &u, 0);
	assert_string_equal(u.id, t.id);
	assert_string_equal(u.client_key, "client-b");
	assert_non_null(registry_secret(f->reg, &u, &len));
	registry_secret_wipe(f->reg);
	assert_int_equal(audits(f, "install", t.id, detail, sizeof(detail)),
	    1);
	assert_string_equal(detail, "adopted=forge");
	registry_tenant_free(&u);
	assert_int_equal(registry_find(f->reg, "client-b", &u), ERR_OK);
	assert_string_equal(u.id, t.id);
	registry_tenant_free(&u);
	assert_int_equal(installations_of(f, t.id).n, 1);
	registry_tenant_free(&t);
}

/*
 * A link moves an installation; the tenant it leaves with nothing (no
 * clientKey, no other installation) departs, one with a clientKey
 * stays; the caller is told which tenant it left and whether it
 * departed.
 */
static void
test_link_moves_and_departs_the_tenant_left_with_nothing(void **state)
{
	struct fx_tenant *f = *state;
	struct forge_seen a = { INST_A, NULL, NULL }, c = { INST_C, NULL, NULL };
	struct tenant	 t, u, b;
	char		 detail[64], from[TENANT_ID_LEN + 1];
	int		 departed = -1;

	forge(f, INST_A, "cloud-a", FX_NOW + 1, &t, 1);
	assert_int_equal(registry_forge_link(f->reg, f->t.id, &a, "operator",
	    FX_NOW + 10, 21, from, &departed), ERR_OK);
	assert_string_equal(from, t.id);
	assert_int_equal(departed, 1);
	assert_int_equal(registry_forge_find(f->reg, INST_A, &u), ERR_OK);
	assert_string_equal(u.id, f->t.id);
	registry_tenant_free(&u);
	assert_string_equal(installations_of(f, f->t.id).by, "operator");
	assert_int_equal(installations_of(f, t.id).n, 0);
	assert_int_equal(registry_get(f->reg, t.id, &u), ERR_OK);
	assert_int_equal(u.state, TENANT_DEPARTED);
	assert_int_equal(u.uninstalled_at, FX_NOW + 10);
	assert_int_equal(u.delete_after, FX_NOW + 10 + 21 * CLOCK_DAY);
	registry_tenant_free(&u);
	assert_int_equal(audits(f, "forge_link_moved", t.id, detail,
	    sizeof(detail)), 1);
	assert_string_equal(detail, "how=operator departed=1");
	assert_int_equal(audits(f, "forge_link", f->t.id, detail,
	    sizeof(detail)), 1);
	assert_string_equal(detail, "how=operator moved=1");
	/* Moved away from a Connect tenant: it keeps its clientKey, stays. */
	install(f, "client-b", "another-secret-another-secret-xx", FX_NOW + 11,
	    &b, 1);
	assert_int_equal(registry_forge_link(f->reg, b.id, &a, "connect",
	    FX_NOW + 12, 21, from, &departed), ERR_OK);
	assert_string_equal(from, f->t.id);
	assert_int_equal(departed, 0);
	assert_int_equal(registry_get(f->reg, f->t.id, &u), ERR_OK);
	assert_int_equal(u.state, TENANT_INSTALLED);
	registry_tenant_free(&u);
	/* A first link, and the same one again: moved from nobody. */
	assert_int_equal(registry_forge_link(f->reg, b.id, &c, "operator",
	    FX_NOW + 13, 21, from, &departed), ERR_OK);
	assert_string_equal(from, "");
	assert_int_equal(departed, 0);
	assert_int_equal(registry_forge_link(f->reg, b.id, &c, "operator",
	    FX_NOW + 14, 21, NULL, NULL), ERR_OK);
	/* Refused: no such tenant, a bad how; nothing changed. */
	c.installation_id = INST_D;
	assert_int_equal(registry_forge_link(f->reg,
	    "0123456789abcdef0123456789abcdef", &c, "operator", FX_NOW, 21,
	    from, &departed), ERR_NOT_FOUND);
	assert_string_equal(from, "");
	assert_int_equal(registry_forge_link(f->reg, b.id, &c, "fit", FX_NOW,
	    21, NULL, NULL), ERR_INTERNAL);
	assert_int_equal(registry_forge_find(f->reg, INST_D, &u),
	    ERR_NOT_FOUND);
	registry_tenant_free(&b);
	registry_tenant_free(&t);
}

/*
 * Another tenant of the same site: said in the audit with the other
 * tenants' ids (the first three, oldest first), never linked.
 */
static void
test_a_shared_cloud_id_is_audited_never_linked(void **state)
{
	struct fx_tenant *f = *state;
	struct tenant	 t, t2, t3;
	char		 detail[256], want[256];

	install_linked(f, "client-a", "https://b.example.net", NULL,
	    "cloud-shared", FX_NOW + 1, &t, 0);
	registry_tenant_free(&t);
	forge(f, INST_B, "cloud-shared", FX_NOW + 2, &t, 1);
	assert_string_not_equal(t.id, f->t.id);
	assert_int_equal(installations_of(f, f->t.id).n, 0);
	assert_int_equal(audits(f, "forge_cloud_shared", t.id, detail,
	    sizeof(detail)), 1);
	snprintf(want, sizeof(want), "how=fit tenants=1 others=%s", f->t.id);
	assert_string_equal(detail, want);
	/* More of them: counted all, the first three named. */
	forge(f, INST_C, "cloud-shared", FX_NOW + 3, &t2, 1);
	forge(f, INST_D, "cloud-shared", FX_NOW + 4, &t3, 1);
	registry_tenant_free(&t3);
	forge(f, INST_E, "cloud-shared", FX_NOW + 5, &t3, 1);
	assert_int_equal(audits(f, "forge_cloud_shared", t3.id, detail,
	    sizeof(detail)), 1);
	assert_non_null(strstr(detail, "how=fit tenants=4 others="));
	snprintf(want, sizeof(want), "others=%s,%s,%s", f->t.id, t.id, t2.id);
	assert_non_null(strstr(detail, want));
	assert_int_equal(strlen(strstr(detail, "others=")), strlen(want));
	registry_tenant_free(&t);
	registry_tenant_free(&t2);
	registry_tenant_free(&t3);
	/* Another site: nothing said. */
	forge(f, "ari:cloud:ecosystem::installation/"
	    "00000000-1111-4222-8333-444444444444", "cloud-other", FX_NOW + 6,
	    &t, 1);
	assert_int_equal(audits(f, "forge_cloud_shared", t.id, NULL, 0), 0);
	registry_tenant_free(&t);
}

/* pre-uninstall starts the grace at once; the next FIT cancels it. */
static void
test_preuninstall_departs_and_a_fit_reinstates(void **state)
{
	struct fx_tenant *f = *state;
	struct tenant	 t, u;

	forge(f, INST_A, NULL, FX_NOW, &t, 1);
	assert_int_equal(registry_forge_preuninstall(f->reg, INST_A,
	    FX_NOW + 100, 21), ERR_OK);
	assert_int_equal(registry_forge_find(f->reg, INST_A, &u), ERR_OK);
	assert_int_equal(u.state, TENANT_DEPARTED);
	assert_int_equal(u.delete_after, FX_NOW + 100 + 21 * CLOCK_DAY);
	registry_tenant_free(&u);
	assert_int_equal(installations_of(f, t.id).preuninstall,
	    FX_NOW + 100);
	assert_int_equal(audits(f, "forge_preuninstall", t.id, NULL, 0), 1);
	/* Again (a duplicate delivery): the date stays. */
	assert_int_equal(registry_forge_preuninstall(f->reg, INST_A,
	    FX_NOW + 200, 21), ERR_OK);
	assert_int_equal(registry_get(f->reg, t.id, &u), ERR_OK);
	assert_int_equal(u.uninstalled_at, FX_NOW + 100);
	registry_tenant_free(&u);
	assert_int_equal(registry_forge_preuninstall(f->reg, INST_B, FX_NOW,
	    21), ERR_NOT_FOUND);
	/* Heard from again: back, data and id kept. */
	forge(f, INST_A, NULL, FX_NOW + 300, &u, 0);
	assert_string_equal(u.id, t.id);
	assert_int_equal(u.state, TENANT_INSTALLED);
	assert_int_equal(u.delete_after, 0);
	registry_tenant_free(&u);
	assert_int_equal(installations_of(f, t.id).preuninstall, 0);
	assert_int_equal(audits(f, "forge_reinstated", t.id, NULL, 0), 1);
	registry_tenant_free(&t);
}

/* registry_forge_silent's callback: the ids, comma-separated. */
static int
collect_ids(const struct tenant *t, void *arg)
{
	char	*out = arg;

	strncat(out, t->id, 511 - strlen(out));
	strncat(out, ",", 511 - strlen(out));
	return 0;
}

/*
 * Silent: a Forge-only tenant whose every installation was last seen
 * before the cutoff.  Never heard from through Forge is not silent; a
 * tenant with a Connect clientKey ("both") never is, however long its
 * Forge side was quiet (Connect's /uninstalled departs it); a FIT
 * between the list and the departure wins.  The departure dates from
 * the last word, not from the job's run.
 */
static void
test_silent_tenants_depart_only_while_still_silent(void **state)
{
	struct fx_tenant *f = *state;
	struct tenant	 a, b, u;
	char		 ids[512], want[512], detail[64];
	long long	 cut = FX_NOW + 5 * CLOCK_DAY;

	forge(f, INST_A, NULL, FX_NOW, &a, 1);
	forge(f, INST_B, NULL, FX_NOW + 10 * CLOCK_DAY, &b, 1);
	/* The fixture's Connect tenant, linked, heard from long ago. */
	install_linked(f, "client-a", "https://b.example.net", INST_C, NULL,
	    FX_NOW, &u, 0);
	registry_tenant_free(&u);
	assert_int_equal(registry_forge_seen(f->reg, INST_C, NULL,
	    FX_NOW - 30 * CLOCK_DAY), ERR_OK);
	/* A Connect tenant linked by an operator, never heard from. */
	install_linked(f, "client-d", "https://d.example.net", INST_D, NULL,
	    FX_NOW, &u, 1);
	registry_tenant_free(&u);
	ids[0] = '\0';
	assert_int_equal(registry_forge_silent(f->reg, cut, collect_ids, ids),
	    1);
	snprintf(want, sizeof(want), "%s,", a.id);
	assert_string_equal(ids, want);
	/* Heard from after the list was read: left alone. */
	assert_int_equal(registry_forge_seen(f->reg, INST_A, NULL,
	    FX_NOW + 6 * CLOCK_DAY), ERR_OK);
	assert_int_equal(registry_forge_silent_depart(f->reg, a.id, cut,
	    FX_NOW + 6 * CLOCK_DAY, 21), ERR_NOT_FOUND);
	assert_int_equal(registry_get(f->reg, a.id, &u), ERR_OK);
	assert_int_equal(u.state, TENANT_INSTALLED);
	registry_tenant_free(&u);
	/* Later both are silent; the Connect-linked ones never are. */
	cut = FX_NOW + 20 * CLOCK_DAY;
	ids[0] = '\0';
	assert_int_equal(registry_forge_silent(f->reg, cut, collect_ids, ids),
	    2);
	assert_null(strstr(ids, f->t.id));
	assert_int_equal(registry_forge_silent_depart(f->reg, f->t.id, cut,
	    cut + 15 * CLOCK_DAY, 21), ERR_NOT_FOUND);
	assert_int_equal(registry_get(f->reg, f->t.id, &u), ERR_OK);
	assert_int_equal(u.state, TENANT_INSTALLED);
	registry_tenant_free(&u);
	/* Departed as of its last word (FX_NOW + 10 days), not of now. */
	assert_int_equal(registry_forge_silent_depart(f->reg, b.id, cut,
	    cut + 15 * CLOCK_DAY, 21), ERR_OK);
	assert_int_equal(registry_get(f->reg, b.id, &u), ERR_OK);
	assert_int_equal(u.state, TENANT_DEPARTED);
	assert_int_equal(u.uninstalled_at, FX_NOW + 10 * CLOCK_DAY);
	assert_int_equal(u.delete_after, FX_NOW + 31 * CLOCK_DAY);
	registry_tenant_free(&u);
	assert_int_equal(audits(f, "forge_silent", b.id, detail,
	    sizeof(detail)), 1);
	assert_string_equal(detail, "installations=1 silent_days=15");
	/* Departed: no longer listed, not departed twice. */
	ids[0] = '\0';
	assert_int_equal(registry_forge_silent(f->reg, cut, collect_ids, ids),
	    1);
	assert_int_equal(registry_forge_silent_depart(f->reg, b.id, cut,
	    cut + 2, 21), ERR_NOT_FOUND);
	registry_tenant_free(&a);
	registry_tenant_free(&b);
}

/* A purge forgets the installations: a later FIT is a new tenant. */
static void
test_purge_forgets_the_installations(void **state)
{
	struct fx_tenant *f = *state;
	struct tenant	 t, u;
	int		 keys;
	long long	 cutoff = FX_NOW + 100 + 21 * CLOCK_DAY;

	forge(f, INST_A, NULL, FX_NOW, &t, 1);
	assert_int_equal(registry_forge_preuninstall(f->reg, INST_A,
	    FX_NOW + 100, 21), ERR_OK);
	assert_int_equal(registry_purge_begin(f->reg, t.id, cutoff, cutoff,
	    &keys), ERR_OK);
	assert_int_equal(keys, 1);
	assert_int_equal(installations_of(f, t.id).n, 0);
	assert_int_equal(registry_forge_find(f->reg, INST_A, &u),
	    ERR_NOT_FOUND);
	forge(f, INST_A, NULL, cutoff + 1, &u, 1);
	assert_string_not_equal(u.id, t.id);
	registry_tenant_free(&u);
	assert_int_equal(registry_purge_end(f->reg, t.id, cutoff + 2, "x"),
	    ERR_OK);
	assert_int_equal(registry_get(f->reg, t.id, &u), ERR_NOT_FOUND);
	registry_tenant_free(&t);
}

/* A rotation re-wraps keys and secrets; a tenant without one is fine. */
static void
test_rotation_with_a_forge_only_tenant_present(void **state)
{
	struct fx_tenant *f = *state;
	unsigned char	*k = sodium_malloc(KEY_BYTES);
	struct tenant	 t, u;
	char		 err[256];
	long long	 created;
	size_t		 len;
	int		 nv, v, m;

	assert_non_null(k);
	forge(f, INST_A, NULL, FX_NOW, &t, 1);
	assert_int_equal(keys_add_version(f->kr, &nv, err, sizeof(err)), 0);
	/* Two data keys and one secret (the Forge tenant has none). */
	assert_int_equal(registry_master_uses(f->reg, 1), 3);
	assert_int_equal(registry_rewrap(f->reg, nv), 3);
	assert_int_equal(registry_master_uses(f->reg, 1), 0);
	assert_int_equal(registry_rewrap(f->reg, nv), 0);
	assert_int_equal(registry_rekey(f->reg, nv, err, sizeof(err)), 0);
	assert_int_equal(registry_dek(f->reg, t.id, k, &v, &m, &created), 0);
	assert_int_equal(m, nv);
	assert_int_equal(registry_get(f->reg, t.id, &u), ERR_OK);
	assert_null(u.secret_sealed);
	assert_int_equal(u.secret_master, 0);
	registry_tenant_free(&u);
	assert_int_equal(registry_get(f->reg, f->t.id, &u), ERR_OK);
	assert_int_equal(u.secret_master, nv);
	assert_non_null(registry_secret(f->reg, &u, &len));
	registry_secret_wipe(f->reg);
	registry_tenant_free(&u);
	registry_tenant_free(&t);
	sodium_free(k);
}

/*
 * The migration from schema 4.  A registry as the cellar before Forge
 * left it: tenants installed, departed, quarantined and being purged,
 * data keys current, retired and pending, backup evidence, sealed
 * secrets, files under version 1 and 2 keys.  The new code opens it:
 * every row byte for byte as it was, every key unwraps, every file
 * opens; the keys' table has its foreign key, check and index back.
 */

/* Every row of sql's result, '|'-joined, into out. */
static void
dump(sqlite3 *db, const char *sql, char *out, size_t outsz)
{
	sqlite3_stmt	*st;
	const unsigned char *v;
	int		 i;

	out[0] = '\0';
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL),
	    SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		for (i = 0; i < sqlite3_column_count(st); i++) {
			v = sqlite3_column_text(st, i);
			strncat(out, v != NULL ? (const char *)v : "<null>",
			    outsz - strlen(out) - 1);
			strncat(out, "|", outsz - strlen(out) - 1);
		}
		strncat(out, "\n", outsz - strlen(out) - 1);
	}
	assert_true(strlen(out) < outsz - 1);
	sqlite3_finalize(st);
}

static void
exec_ok(sqlite3 *db, const char *sql)
{
	char	*msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg != NULL ? msg : "?");
}

/* A sealed value of kr's master 1 as an SQL blob literal X'..'. */
static void
blob_sql(char *out, size_t outsz, const unsigned char *b, size_t n)
{
	assert_true(outsz >= 2 * n + 4);
	memcpy(out, "X'", 2);
	util_hex(out + 2, b, n);
	memcpy(out + 2 + 2 * n, "'", 2);
}

/* A data key of tenant id, version v, into the v4 registry and a file. */
static void
v4_key(sqlite3 *db, struct keyring *kr, const char *dir, const char *id,
    int v, const char *state, long long retired, int with_file)
{
	unsigned char	 dek[KEY_BYTES], w[KEYS_SEALED_LEN(KEY_BYTES)];
	char		 aad[KEYS_AAD_MAX], blob[256], sql[640], path[256];
	sqlite3		*tdb;

	randombytes_buf(dek, sizeof(dek));
	keys_aad_dek(aad, sizeof(aad), id, v, 1);
	assert_int_equal(keys_seal(kr, 1, aad, dek, sizeof(dek), w), 0);
	blob_sql(blob, sizeof(blob), w, sizeof(w));
	snprintf(sql, sizeof(sql), "INSERT INTO tenant_keys (tenant_id, "
	    "version, master_version, wrapped, created_at, state, retired_at) "
	    "VALUES ('%s', %d, 1, %s, %lld, '%s', %s%lld)", id, v, blob,
	    FX_NOW - 1000 + v, state, retired ? "" : "NULL + ", retired);
	exec_ok(db, sql);
	if (!with_file)
		return;
	if (v == 1)
		snprintf(path, sizeof(path), "%s/tenants/%s.db", dir, id);
	else
		snprintf(path, sizeof(path), "%s/tenants/%s.v%d.db", dir, id, v);
	assert_int_equal(db_open(path, dek, DB_CREATE | DB_ROLLBACK,
	    db_tenant_migrations, db_tenant_nmigrations, &tdb), DB_OK);
	snprintf(sql, sizeof(sql), "INSERT INTO meta (key, value) VALUES "
	    "('tenant_id', '%s'), ('created_at', '%lld')", id, FX_NOW);
	exec_ok(tdb, sql);
	db_close(tdb);
}

/* A tenant row of the v4 schema; secret NULL: a purging one's x'00'. */
static void
v4_tenant(sqlite3 *db, struct keyring *kr, const char *id, const char *ck,
    const char *secret, const char *rest_cols, const char *rest_vals)
{
	unsigned char	 sealed[KEYS_SEALED_LEN(64)];
	char		 aad[KEYS_AAD_MAX], blob[256], sql[1024];

	if (secret != NULL) {
		keys_aad_secret(aad, sizeof(aad), id, 1);
		assert_int_equal(keys_seal(kr, 1, aad,
		    (const unsigned char *)secret, strlen(secret), sealed), 0);
		blob_sql(blob, sizeof(blob), sealed,
		    KEYS_SEALED_LEN(strlen(secret)));
	} else
		snprintf(blob, sizeof(blob), "x'00'");
	snprintf(sql, sizeof(sql), "INSERT INTO tenants (id, client_key, "
	    "base_url, display_url, product_type, server_version, "
	    "plugins_version, sen, oauth_client_id, secret_sealed, "
	    "secret_master, state, enabled, installed_at, updated_at%s) "
	    "VALUES ('%s', '%s', 'https://%s.example.net', "
	    "'https://%s.example.net', 'jira', '100217', '1.0', 'SEN-1', "
	    "'oauth-1', %s, 1, %s)", rest_cols, id, ck, id, id, blob,
	    rest_vals);
	exec_ok(db, sql);
}

#define V4_TENANTS "SELECT id, client_key, base_url, display_url, " \
	"product_type, server_version, plugins_version, sen, " \
	"oauth_client_id, hex(secret_sealed), secret_master, state, enabled, " \
	"installed_at, updated_at, uninstalled_at, delete_after, " \
	"quarantined_at, quarantine_cause, holds, purge_started_at, " \
	"backup_run, backup_at FROM tenants ORDER BY id"
#define V4_KEYS "SELECT tenant_id, version, master_version, hex(wrapped), " \
	"created_at, state, retired_at FROM tenant_keys ORDER BY tenant_id, " \
	"version"
#define V4_REST "SELECT 'audit', id, at, event, tenant_id, detail FROM audit " \
	"UNION ALL SELECT 'job', name, last_run_at, last_ok_at, last_status, " \
	"last_detail FROM jobs UNION ALL SELECT 'run', run, started_at, " \
	"verified_at, tenants, bytes FROM backup_runs UNION ALL SELECT " \
	"'master', version, created_at, destroyed_at, NULL, NULL FROM " \
	"master_keys ORDER BY 1, 2"

static void
test_migration_from_v4_keeps_every_tenant_key_and_file(void **state)
{
	static const char *const ids[] = {
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1",	/* installed, key v2 */
	    "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb2",	/* departed, v2 pending */
	    "ccccccccccccccccccccccccccccccc3",	/* quarantined */
	    "ddddddddddddddddddddddddddddddd4",	/* being purged */
	};
	static char	 t4[8192], k4[8192], r4[4096], t5[8192], k5[8192],
			 r5[4096], fk[256];
	unsigned char	*key, *dek;
	struct keyring	*kr;
	struct registry	*reg;
	struct tenant	 t;
	struct tenantdb	*tdb;
	sqlite3		*db;
	char		 dir[64], kdir[96], path[160], err[256];
	long long	 v, created;
	size_t		 len;
	int		 ver, m;

	(void)state;
	assert_non_null(key = sodium_malloc(KEY_BYTES));
	assert_non_null(dek = sodium_malloc(KEY_BYTES));
	assert_int_equal(fx_tmpdir(dir, sizeof(dir)), 0);
	snprintf(kdir, sizeof(kdir), "%s/keys", dir);
	assert_int_equal(keys_init_dir(kdir, err, sizeof(err)), 0);
	assert_non_null(kr = keys_load(kdir, err, sizeof(err)));
	snprintf(path, sizeof(path), "%s/tenants", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/registry.db", dir);
	assert_int_equal(keys_derive(kr, 1, KDF_REGISTRY, key), 0);
	/* The registry exactly as schema 4 (the first four migrations). */
	assert_true(db_registry_nmigrations >= 5);
	assert_int_equal(db_open(path, key, DB_CREATE, db_registry_migrations,
	    4, &db), DB_OK);
	assert_int_equal(db_user_version(db, &v), 0);
	assert_int_equal(v, 4);
	exec_ok(db, "BEGIN");
	v4_tenant(db, kr, ids[0], "client-v4-a", "secret-of-a-secret-of-a-xx",
	    ", enabled, backup_run, backup_at", "'installed', 1, "
	    "1794990000, 1794991000, 1, '20261117T110640Z', 1794995000");
	v4_key(db, kr, dir, ids[0], 1, "retired", FX_NOW - 50, 0);
	v4_key(db, kr, dir, ids[0], 2, "current", 0, 1);
	v4_tenant(db, kr, ids[1], "client-v4-b", "secret-of-b-secret-of-b-xx",
	    ", uninstalled_at, delete_after", "'departed', 0, 1794990000, "
	    "1794999000, 1794999000, 1796813400");
	v4_key(db, kr, dir, ids[1], 1, "current", 0, 1);
	v4_key(db, kr, dir, ids[1], 2, "pending", 0, 0);
	v4_tenant(db, kr, ids[2], "client-v4-c", "secret-of-c-secret-of-c-xx",
	    ", quarantined_at, quarantine_cause, holds", "'installed', 1, "
	    "1794990000, 1794999500, 1794999500, 'page_check', 2");
	v4_key(db, kr, dir, ids[2], 1, "current", 0, 1);
	v4_tenant(db, kr, ids[3], "purged:ddddddddddddddddddddddddddddddd4",
	    NULL, ", uninstalled_at, purge_started_at", "'departed', 0, "
	    "1790000000, 1794999900, 1791000000, 1794999900");
	exec_ok(db, "INSERT INTO audit (at, event, tenant_id, detail) VALUES "
	    "(1794990000, 'install', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1', NULL),"
	    " (1794999900, 'purge_started', 'ddddddddddddddddddddddddddddddd4',"
	    " 'keys_destroyed=1')");
	exec_ok(db, "INSERT INTO jobs VALUES ('backup', 1794995000, "
	    "1794995000, 'ok', 'run x')");
	exec_ok(db, "INSERT INTO backup_runs VALUES ('20261117T110640Z', "
	    "1794995000, 1794995100, 3, 123456, 1794995200, 0)");
	exec_ok(db, "INSERT INTO master_keys VALUES (1, 1794900000, NULL)");
	exec_ok(db, "COMMIT");
	dump(db, V4_TENANTS, t4, sizeof(t4));
	dump(db, V4_KEYS, k4, sizeof(k4));
	dump(db, V4_REST, r4, sizeof(r4));
	db_close(db);
	/* What the comparison below compares: all of it. */
	assert_non_null(strstr(t4, "client-v4-c"));
	assert_non_null(strstr(t4, "page_check"));
	assert_non_null(strstr(k4, "|pending|"));
	assert_non_null(strstr(k4, "|retired|"));
	assert_non_null(strstr(r4, "20261117T110640Z"));

	/* Opened by the new code: migrated, nothing lost. */
	assert_non_null(reg = registry_open(dir, kr, 0, err, sizeof(err)));
	db = registry_sqlite(reg);
	assert_int_equal(db_user_version(db, &v), 0);
	assert_int_equal(v, (long long)db_registry_nmigrations);
	dump(db, V4_TENANTS, t5, sizeof(t5));
	dump(db, V4_KEYS, k5, sizeof(k5));
	dump(db, V4_REST, r5, sizeof(r5));
	assert_string_equal(t5, t4);
	assert_string_equal(k5, k4);
	assert_string_equal(r5, r4);
	dump(db, "SELECT count(*) FROM tenant_keys", fk, sizeof(fk));
	assert_string_equal(fk, "5|\n");
	dump(db, "PRAGMA foreign_key_check", fk, sizeof(fk));
	assert_string_equal(fk, "");
	dump(db, "PRAGMA integrity_check", fk, sizeof(fk));
	assert_string_equal(fk, "ok|\n");
	/* No scaffolding left; the keys' table as 0004 made it. */
	dump(db, "SELECT name FROM sqlite_master WHERE name LIKE '%v5%'", fk,
	    sizeof(fk));
	assert_string_equal(fk, "");
	dump(db, "PRAGMA foreign_key_list(tenant_keys)", fk, sizeof(fk));
	assert_string_equal(fk, "0|0|tenants|tenant_id|id|NO ACTION|CASCADE|"
	    "NONE|\n");
	dump(db, "SELECT tbl_name FROM sqlite_master WHERE type = 'index' AND "
	    "name = 'tenant_keys_master'", fk, sizeof(fk));
	assert_string_equal(fk, "tenant_keys|\n");
	assert_int_not_equal(sqlite3_exec(db, "INSERT INTO tenant_keys VALUES "
	    "('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1', 9, 1, x'00', 0, 'bogus', "
	    "NULL)", NULL, NULL, NULL), SQLITE_OK);
	assert_int_not_equal(sqlite3_exec(db, "INSERT INTO tenant_keys VALUES "
	    "('eeeeeeeeeeeeeeeeeeeeeeeeeeeeeee5', 1, 1, x'00', 0, 'current', "
	    "NULL)", NULL, NULL, NULL), SQLITE_OK);
	/* Every key unwraps, every secret opens, every file opens. */
	assert_int_equal(registry_get(reg, ids[0], &t), ERR_OK);
	assert_int_equal(t.dek_version, 2);
	assert_int_equal(t.backup_at, 1794995000);
	assert_string_equal(t.backup_run, "20261117T110640Z");
	assert_non_null(registry_secret(reg, &t, &len));
	assert_int_equal(len, strlen("secret-of-a-secret-of-a-xx"));
	registry_secret_wipe(reg);
	assert_int_equal(registry_dek_at(reg, ids[0], 1, dek), 0);
	assert_int_equal(tenantdb_open(reg, &t, NULL, &tdb), ERR_OK);
	tenantdb_close(tdb);
	registry_tenant_free(&t);
	assert_int_equal(registry_get(reg, ids[1], &t), ERR_OK);
	assert_int_equal(t.state, TENANT_DEPARTED);
	assert_int_equal(registry_dek_pending(reg, ids[1], dek, &ver), 0);
	assert_int_equal(ver, 2);
	assert_int_equal(registry_dek(reg, ids[1], dek, &ver, &m, &created),
	    0);
	assert_int_equal(tenantdb_open(reg, &t, NULL, &tdb), ERR_OK);
	tenantdb_close(tdb);
	registry_tenant_free(&t);
	assert_int_equal(registry_get(reg, ids[2], &t), ERR_OK);
	assert_int_equal(t.quarantined_at, 1794999500);
	assert_int_equal(t.holds, 2);
	assert_int_equal(tenantdb_verify(reg, &t), 0);
	registry_tenant_free(&t);
	/* The purge under way goes on: the row goes, its audit stays. */
	assert_int_equal(registry_get(reg, ids[3], &t), ERR_NOT_FOUND);
	assert_int_equal(registry_purge_end(reg, ids[3], FX_NOW, "x"),
	    ERR_OK);
	assert_int_equal(registry_find(reg, "client-v4-a", &t), ERR_OK);
	registry_tenant_free(&t);
	registry_close(reg);
	keys_free(kr);
	sodium_free(key);
	sodium_free(dek);
	assert_int_equal(fx_rmtree(dir), 0);
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
		cmocka_unit_test(test_migration_from_v4_keeps_every_tenant_key_and_file),
		REGISTRY_TEST(test_forge_only_tenant_has_no_secret_and_no_client_key),
		REGISTRY_TEST(test_forge_seen_writes_at_most_once_a_minute),
		REGISTRY_TEST(test_connect_install_links_and_a_reinstall_keeps_the_link),
		REGISTRY_TEST(test_connect_install_adopts_a_forge_tenant_seen_first),
		REGISTRY_TEST(test_link_moves_and_departs_the_tenant_left_with_nothing),
		REGISTRY_TEST(test_a_shared_cloud_id_is_audited_never_linked),
		REGISTRY_TEST(test_preuninstall_departs_and_a_fit_reinstates),
		REGISTRY_TEST(test_silent_tenants_depart_only_while_still_silent),
		REGISTRY_TEST(test_purge_forgets_the_installations),
		REGISTRY_TEST(test_rotation_with_a_forge_only_tenant_present),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
