/*
 * The registry.  All of its SQL is in one table below; every value is
 * bound.  Every write runs in db_tx (BEGIN IMMEDIATE, bounded retry when
 * busy; see db.h).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "cellar/clock.h"
#include "cellar/db.h"
#include "cellar/file.h"
#include "cellar/log.h"
#include "cellar/registry.h"
#include "cellar/util.h"

enum stmt {
	STMT_FIND,
	STMT_GET,
	STMT_LIST,
	STMT_INSERT_TENANT,
	STMT_REINSTALL,
	STMT_INSERT_KEY,
	STMT_CURRENT_KEY,
	STMT_UNINSTALL,
	STMT_SET_ENABLED,
	STMT_QUARANTINE,
	STMT_RELEASE,
	STMT_AUDIT,
	STMT_KEY_AT,
	STMT_PURGE_DUE,
	STMT_PURGE_STATE,
	STMT_PURGE_DETACH,
	STMT_PURGE_KEYS,
	STMT_PURGE_DELETE,
	STMT_JOB_GET,
	STMT_JOB_NEW,
	STMT_JOB_SET,
	STMT_RUN_INSERT,
	STMT_RUN_TENANT,
	STMT_RUN_OFFSITE,
	STMT_RUN_FORGET,
	STMT_RUN_LIST,
	STMT_RUN_KNOWN,
	STMT_RUN_DIRTY,
	STMT_KEY_PENDING,
	STMT_KEY_MAXVER,
	STMT_KEY_INSERT_PENDING,
	STMT_KEY_RETIRE,
	STMT_KEY_PROMOTE,
	STMT_KEY_CURRENT_VERSION,
	STMT_KEY_RETIRED_LIST,
	STMT_KEY_DESTROY,
	STMT_KEY_REWRAP_LIST,
	STMT_KEY_REWRAP,
	STMT_SECRET_REWRAP_LIST,
	STMT_SECRET_REWRAP,
	STMT_MASTER_LIST,
	STMT_MASTER_ADD,
	STMT_MASTER_DESTROYED,
	STMT_MASTER_USES,
	STMT_FORGE_FIND,
	STMT_FORGE_ROW,
	STMT_FORGE_INSERT_TENANT,
	STMT_FORGE_INSERT,
	STMT_FORGE_TOUCH,
	STMT_FORGE_REINSTATE,
	STMT_FORGE_CLOUD_SHARED,
	STMT_FORGE_SEEN,
	STMT_FORGE_PREUNINSTALL,
	STMT_FORGE_DEPART,
	STMT_FORGE_MOVE,
	STMT_FORGE_FILL,
	STMT_FORGE_LEFT,
	STMT_FORGE_SILENT,
	STMT_FORGE_SILENT_DEPART,
	STMT_FORGE_COUNT,
	STMT_FORGE_LIST,
	STMT_TENANT_CLOUD,
	STMT_PURGE_INSTALLATIONS,
	STMT__MAX
};

/*
 * How many other tenants of a shared cloud id forge_cloud_shared names
 * (our random ids: enough for an operator to start from).
 */
#define FORGE_SHARED_IDS	3

/* A tenant row with its current data key, as tenant_row reads it. */
#define TENANT_ROW "SELECT t.id, t.client_key, t.base_url, t.state, " \
	"t.enabled, t.installed_at, t.updated_at, t.uninstalled_at, " \
	"t.delete_after, t.secret_master, t.secret_sealed, k.version, " \
	"k.created_at, t.quarantined_at, t.holds, t.backup_at, " \
	"t.backup_run FROM tenants t LEFT JOIN " \
	"tenant_keys k ON " \
	"k.tenant_id = t.id AND k.state = 'current' "

static const char *const stmts[STMT__MAX] = {
	/* A tenant being purged is none: its keys and secret are gone. */
	[STMT_FIND] = TENANT_ROW "WHERE t.client_key = ?1 AND "
	    "t.purge_started_at IS NULL",
	[STMT_GET] = TENANT_ROW "WHERE t.id = ?1 AND t.purge_started_at IS "
	    "NULL",
	/* A tenant being purged is no longer one: see STMT_PURGE_DUE. */
	[STMT_LIST] = TENANT_ROW "WHERE t.purge_started_at IS NULL "
	    "ORDER BY t.installed_at, t.id",
	[STMT_INSERT_TENANT] = "INSERT INTO tenants (id, client_key, "
	    "base_url, display_url, product_type, server_version, "
	    "plugins_version, sen, oauth_client_id, secret_sealed, "
	    "secret_master, state, enabled, installed_at, updated_at, "
	    "cloud_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
	    "'installed', 0, ?12, ?12, ?13)",
	/* Also a Forge tenant's first Connect install (it adopts ?12). */
	[STMT_REINSTALL] = "UPDATE tenants SET base_url = ?2, display_url = "
	    "?3, product_type = ?4, server_version = ?5, plugins_version = ?6, "
	    "sen = ?7, oauth_client_id = ?8, secret_sealed = ?9, "
	    "secret_master = ?10, state = 'installed', updated_at = ?11, "
	    "uninstalled_at = NULL, delete_after = NULL, client_key = ?12 "
	    "WHERE id = ?1",
	[STMT_INSERT_KEY] = "INSERT INTO tenant_keys (tenant_id, version, "
	    "master_version, wrapped, created_at, state) VALUES "
	    "(?1, ?2, ?3, ?4, ?5, 'current')",
	[STMT_CURRENT_KEY] = "SELECT version, master_version, wrapped, "
	    "created_at FROM tenant_keys WHERE tenant_id = ?1 AND state = "
	    "'current'",
	[STMT_UNINSTALL] = "UPDATE tenants SET state = 'departed', "
	    "uninstalled_at = ?2, delete_after = ?3, updated_at = ?2 "
	    "WHERE id = ?1",
	[STMT_SET_ENABLED] = "UPDATE tenants SET enabled = ?2, updated_at = "
	    "?3 WHERE id = ?1",
	/* Only the first to find the damage holds it (and says so). */
	[STMT_QUARANTINE] = "UPDATE tenants SET holds = holds + 1, "
	    "quarantined_at = ?2, "
	    "quarantine_cause = ?3 WHERE id = ?1 AND quarantined_at IS NULL",
	[STMT_RELEASE] = "UPDATE tenants SET quarantined_at = NULL, "
	    "quarantine_cause = NULL WHERE id = ?1 AND quarantined_at IS NOT "
	    "NULL",
	[STMT_AUDIT] = "INSERT INTO audit (at, event, tenant_id, detail) "
	    "VALUES (?1, ?2, ?3, ?4)",
	[STMT_KEY_AT] = "SELECT version, master_version, wrapped, "
	    "created_at FROM tenant_keys WHERE tenant_id = ?1 AND version = ?2",
	/* Started purges, then departures older than the cutoff ?1. */
	[STMT_PURGE_DUE] = "SELECT id, installed_at, uninstalled_at, "
	    "purge_started_at FROM tenants WHERE purge_started_at IS NOT NULL "
	    "OR (state = 'departed' AND uninstalled_at <= ?1) "
	    "ORDER BY uninstalled_at, id",
	[STMT_PURGE_STATE] = "SELECT id, installed_at, uninstalled_at, "
	    "purge_started_at FROM tenants WHERE id = ?1 AND "
	    "(purge_started_at IS NOT NULL OR state = 'departed')",
	/* Forgets who the tenant was; only if still due (not reinstalled). */
	/* (A Forge-only tenant had neither clientKey nor secret: still.) */
	[STMT_PURGE_DETACH] = "UPDATE tenants SET purge_started_at = ?2, "
	    "client_key = CASE WHEN client_key IS NULL THEN NULL ELSE "
	    "'purged:' || id END, base_url = '', display_url = NULL, "
	    "server_version = NULL, plugins_version = NULL, sen = NULL, "
	    "oauth_client_id = NULL, secret_sealed = CASE WHEN secret_sealed "
	    "IS NULL THEN NULL ELSE x'00' END, cloud_id = NULL, updated_at = "
	    "?2 WHERE id = ?1 AND purge_started_at IS NULL AND state = "
	    "'departed' AND uninstalled_at <= ?3",
	[STMT_PURGE_INSTALLATIONS] = "DELETE FROM installations WHERE "
	    "tenant_id = ?1",
	[STMT_PURGE_KEYS] = "DELETE FROM tenant_keys WHERE tenant_id = ?1",
	[STMT_PURGE_DELETE] = "DELETE FROM tenants WHERE id = ?1 AND "
	    "purge_started_at IS NOT NULL",
	[STMT_JOB_GET] = "SELECT last_ok_at, last_run_at FROM jobs WHERE "
	    "name = ?1",
	[STMT_JOB_NEW] = "INSERT OR IGNORE INTO jobs (name) VALUES (?1)",
	[STMT_JOB_SET] = "UPDATE jobs SET last_run_at = ?2, last_ok_at = "
	    "CASE WHEN ?3 THEN ?2 ELSE last_ok_at END, last_status = CASE "
	    "WHEN ?3 THEN 'ok' ELSE 'failed' END, last_detail = ?4 WHERE "
	    "name = ?1",
	[STMT_RUN_INSERT] = "INSERT OR REPLACE INTO backup_runs (run, "
	    "started_at, verified_at, tenants, bytes) VALUES (?1, ?2, ?3, ?4, "
	    "?5)",
	/*
	 * A run never moves a tenant's evidence back in time, unless that
	 * evidence lies in the future (?4: now; a clock that was ahead).
	 */
	[STMT_RUN_TENANT] = "UPDATE tenants SET backup_run = ?2, backup_at = "
	    "?3 WHERE id = ?1 AND (backup_at IS NULL OR backup_at <= ?3 OR "
	    "backup_at > ?4 + 3600)",
	[STMT_RUN_OFFSITE] = "UPDATE backup_runs SET offsite_at = ?2, "
	    "offsite_status = ?3 WHERE run = ?1",
	[STMT_RUN_KNOWN] = "SELECT 1 FROM backup_runs WHERE run = ?1",
	[STMT_RUN_DIRTY] = "SELECT run FROM backup_runs WHERE offsite_status "
	    "= -2 ORDER BY run",
	[STMT_KEY_PENDING] = "SELECT version, master_version, wrapped, "
	    "created_at FROM tenant_keys WHERE tenant_id = ?1 AND state = "
	    "'pending'",
	[STMT_KEY_MAXVER] = "SELECT max(version) FROM tenant_keys WHERE "
	    "tenant_id = ?1",
	[STMT_KEY_INSERT_PENDING] = "INSERT INTO tenant_keys (tenant_id, "
	    "version, master_version, wrapped, created_at, state) VALUES "
	    "(?1, ?2, ?3, ?4, ?5, 'pending')",
	[STMT_KEY_RETIRE] = "UPDATE tenant_keys SET state = 'retired', "
	    "retired_at = ?2 WHERE tenant_id = ?1 AND state = 'current'",
	/* A key's age counts from when it began to encrypt the file. */
	[STMT_KEY_PROMOTE] = "UPDATE tenant_keys SET state = 'current', "
	    "created_at = ?3 WHERE tenant_id = ?1 AND version = ?2 AND state "
	    "= 'pending'",
	[STMT_KEY_CURRENT_VERSION] = "SELECT version FROM tenant_keys WHERE "
	    "tenant_id = ?1 AND state = 'current'",
	[STMT_KEY_RETIRED_LIST] = "SELECT tenant_id, version, retired_at "
	    "FROM tenant_keys WHERE state = 'retired' ORDER BY tenant_id, "
	    "version",
	[STMT_KEY_DESTROY] = "DELETE FROM tenant_keys WHERE tenant_id = ?1 "
	    "AND version = ?2 AND state = 'retired'",
	/* Wrapped keys and sealed secrets under an older master than ?1. */
	[STMT_KEY_REWRAP_LIST] = "SELECT tenant_id, version, master_version, "
	    "wrapped FROM tenant_keys WHERE master_version < ?1 LIMIT 256",
	[STMT_KEY_REWRAP] = "UPDATE tenant_keys SET master_version = ?3, "
	    "wrapped = ?4 WHERE tenant_id = ?1 AND version = ?2 AND "
	    "master_version = ?5",
	/* A Forge-only tenant has no secret to re-seal. */
	[STMT_SECRET_REWRAP_LIST] = "SELECT id, secret_master, "
	    "secret_sealed FROM tenants WHERE secret_sealed IS NOT NULL AND "
	    "secret_master < ?1 AND purge_started_at IS NULL LIMIT 256",
	[STMT_SECRET_REWRAP] = "UPDATE tenants SET secret_master = ?2, "
	    "secret_sealed = ?3 WHERE id = ?1 AND secret_master = ?4",
	[STMT_MASTER_LIST] = "SELECT version, created_at, destroyed_at FROM "
	    "master_keys ORDER BY version",
	[STMT_MASTER_ADD] = "INSERT OR IGNORE INTO master_keys (version, "
	    "created_at) VALUES (?1, ?2)",
	[STMT_MASTER_DESTROYED] = "UPDATE master_keys SET destroyed_at = ?2 "
	    "WHERE version = ?1",
	/* What still needs master ?1: wrapped keys and sealed secrets. */
	[STMT_MASTER_USES] = "SELECT (SELECT count(*) FROM tenant_keys WHERE "
	    "master_version = ?1) + (SELECT count(*) FROM tenants WHERE "
	    "secret_master = ?1 AND purge_started_at IS NULL)",
	[STMT_RUN_FORGET] = "DELETE FROM backup_runs WHERE run = ?1",
	[STMT_RUN_LIST] = "SELECT run, started_at, verified_at, tenants, "
	    "bytes, offsite_at, offsite_status FROM backup_runs ORDER BY run",
	/* Forge installations.  Every request of Forge looks up: by key. */
	[STMT_FORGE_FIND] = TENANT_ROW "WHERE t.id = (SELECT tenant_id FROM "
	    "installations WHERE installation_id = ?1) AND "
	    "t.purge_started_at IS NULL",
	[STMT_FORGE_ROW] = "SELECT tenant_id, last_seen_at, api_base_url "
	    "FROM installations WHERE installation_id = ?1",
	[STMT_FORGE_INSERT_TENANT] = "INSERT INTO tenants (id, state, "
	    "enabled, installed_at, updated_at, cloud_id) VALUES (?1, "
	    "'installed', 1, ?2, ?2, ?3)",
	[STMT_FORGE_INSERT] = "INSERT INTO installations (installation_id, "
	    "tenant_id, cloud_id, api_base_url, linked_by, linked_at, "
	    "last_seen_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	/* Heard from again: alive, whatever a pre-uninstall said. */
	[STMT_FORGE_TOUCH] = "UPDATE installations SET last_seen_at = ?2, "
	    "api_base_url = coalesce(?3, api_base_url), cloud_id = "
	    "coalesce(cloud_id, ?4), preuninstall_at = NULL WHERE "
	    "installation_id = ?1",
	[STMT_FORGE_REINSTATE] = "UPDATE tenants SET state = 'installed', "
	    "uninstalled_at = NULL, delete_after = NULL, updated_at = ?2 "
	    "WHERE id = ?1 AND state = 'departed' AND purge_started_at IS "
	    "NULL",
	/* Other live tenants of cloud id ?2: our ids, oldest first. */
	[STMT_FORGE_CLOUD_SHARED] = "SELECT t.id FROM tenants t WHERE "
	    "t.id <> ?1 AND t.state = 'installed' AND t.purge_started_at IS "
	    "NULL AND (t.cloud_id = ?2 OR EXISTS (SELECT 1 FROM installations "
	    "i WHERE i.tenant_id = t.id AND i.cloud_id = ?2)) ORDER BY "
	    "t.installed_at, t.id",
	/* At most once a minute, or when the api base url moved. */
	[STMT_FORGE_SEEN] = "UPDATE installations SET last_seen_at = ?2, "
	    "api_base_url = coalesce(?3, api_base_url) WHERE installation_id "
	    "= ?1 AND (last_seen_at IS NULL OR last_seen_at <= ?2 - 60 OR "
	    "last_seen_at > ?2 OR (?3 IS NOT NULL AND api_base_url IS NOT "
	    "?3))",
	[STMT_FORGE_PREUNINSTALL] = "UPDATE installations SET "
	    "preuninstall_at = ?2 WHERE installation_id = ?1",
	[STMT_FORGE_DEPART] = "UPDATE tenants SET state = 'departed', "
	    "uninstalled_at = ?2, delete_after = ?3, updated_at = ?2 WHERE "
	    "id = ?1 AND state = 'installed' AND purge_started_at IS NULL",
	[STMT_FORGE_MOVE] = "UPDATE installations SET tenant_id = ?2, "
	    "linked_by = ?3, linked_at = ?4, cloud_id = coalesce(?5, "
	    "cloud_id), api_base_url = coalesce(?6, api_base_url) WHERE "
	    "installation_id = ?1",
	[STMT_FORGE_FILL] = "UPDATE installations SET cloud_id = "
	    "coalesce(cloud_id, ?2), api_base_url = coalesce(?3, "
	    "api_base_url) WHERE installation_id = ?1",
	/* Is tenant ?1 left with nothing: no clientKey, no installation? */
	[STMT_FORGE_LEFT] = "SELECT client_key IS NULL AND NOT EXISTS "
	    "(SELECT 1 FROM installations WHERE tenant_id = ?1) FROM tenants "
	    "WHERE id = ?1",
	/*
	 * Installed Forge-only tenants (no Connect clientKey: Connect has
	 * its own uninstall, and its traffic is not "heard from") with
	 * installations, none heard from since ?1; one never heard from
	 * through Forge (NULL) is not silent.
	 */
	[STMT_FORGE_SILENT] = TENANT_ROW "WHERE t.state = 'installed' AND "
	    "t.purge_started_at IS NULL AND t.client_key IS NULL AND EXISTS "
	    "(SELECT 1 FROM "
	    "installations i WHERE i.tenant_id = t.id) AND NOT EXISTS "
	    "(SELECT 1 FROM installations i WHERE i.tenant_id = t.id AND "
	    "(i.last_seen_at IS NULL OR i.last_seen_at >= ?1)) ORDER BY "
	    "t.installed_at, t.id",
	/*
	 * The same test, then the departure dated from its last word (the
	 * newest last seen; ?3: the grace in seconds), not from now.
	 */
	[STMT_FORGE_SILENT_DEPART] = "UPDATE tenants SET state = 'departed', "
	    "uninstalled_at = (SELECT max(last_seen_at) FROM installations "
	    "WHERE tenant_id = ?1), delete_after = (SELECT max(last_seen_at) "
	    "FROM installations WHERE tenant_id = ?1) + ?3, updated_at = ?2 "
	    "WHERE id = ?1 AND state = 'installed' AND purge_started_at IS "
	    "NULL AND client_key IS NULL AND EXISTS (SELECT 1 FROM installations i WHERE i.tenant_id = ?1) "
	    "AND NOT EXISTS (SELECT 1 FROM installations i WHERE i.tenant_id "
	    "= ?1 AND (i.last_seen_at IS NULL OR i.last_seen_at >= ?4))",
	[STMT_FORGE_COUNT] = "SELECT count(*) FROM installations WHERE "
	    "tenant_id = ?1",
	[STMT_FORGE_LIST] = "SELECT tenant_id, installation_id, cloud_id, "
	    "api_base_url, linked_by, linked_at, last_seen_at, "
	    "preuninstall_at FROM installations WHERE tenant_id = ?1 ORDER BY "
	    "linked_at, installation_id",
	/* A site's cloud id does not change: filled in once. */
	[STMT_TENANT_CLOUD] = "UPDATE tenants SET cloud_id = ?2 WHERE id = "
	    "?1 AND cloud_id IS NULL AND ?2 IS NOT NULL",
};

struct registry {
	sqlite3			*db;
	struct keyring		*kr;		/* the caller's; refreshed in place */
	int			 master;	/* keys the file */
	char			*state_dir;
	sqlite3_stmt		*stmt[STMT__MAX];	/* prepared once */
	char			*scratch;	/* sodium_malloc'd secret */
};

/*
 * Statements are prepared once per connection and reused: preparing
 * (parsing) cost more than running them on the request path.  Give each
 * back with db_stmt_done.
 */
static sqlite3_stmt *
stmt_prepare(struct registry *reg, enum stmt s)
{
	if (reg->db == NULL)
		return NULL;
	if (reg->stmt[s] == NULL && sqlite3_prepare_v2(reg->db, stmts[s], -1,
	    &reg->stmt[s], NULL) != SQLITE_OK) {
		reg->stmt[s] = NULL;
		return NULL;
	}
	return reg->stmt[s];
}

/* Reads the key directory again (a rotation made a master version). */
static void
registry_keys_refresh(struct registry *reg)
{
	char	 err[256];

	if (keys_refresh(reg->kr, err, sizeof(err)) == -1)
		log_msg(LOGL_WARN, NULL, "reason=keys_refresh_failed");
}

/*
 * Opens path with the registry key of the newest master version that
 * opens it (a rotation may have rekeyed it: older ones are tried too);
 * key is scratch (KEY_BYTES, guarded).  Sets reg->db and reg->master.
 */
static enum db_status
registry_connect(struct registry *reg, const char *path, unsigned char *key,
    int create)
{
	int		 vers[KEYS_MAX_VERSIONS];
	size_t		 n, i;
	enum db_status	 st = DB_ERROR;

	n = keys_versions(reg->kr, vers, KEYS_MAX_VERSIONS);
	for (i = 0; i < n; i++) {
		if (keys_derive(reg->kr, vers[i], KDF_REGISTRY, key) == -1)
			continue;
		st = create ? db_open(path, key, DB_CREATE,
		    db_registry_migrations, db_registry_nmigrations,
		    &reg->db) : db_open_probe(path,
		    key, db_registry_migrations, db_registry_nmigrations,
		    &reg->db);
		reg->master = vers[i];
		if (st != DB_WRONG_KEY || create)
			break;
	}
	return st;
}

/* Lets go of the connection and its statements. */
static void
registry_disconnect(struct registry *reg)
{
	size_t	 i;

	for (i = 0; i < STMT__MAX; i++) {
		sqlite3_finalize(reg->stmt[i]);
		reg->stmt[i] = NULL;
	}
	db_close(reg->db);
	reg->db = NULL;
}

/*
 * After a failure: if the registry no longer reads under its key (the
 * reaper rekeyed it), reconnects under the newest key that opens it.
 * 1 if it reconnected (try again), 0 if the key was not the cause.
 */
static int
registry_recover(struct registry *reg)
{
	unsigned char	*key;
	char		*path;
	int		 ok = 0;

	if (reg->db != NULL && db_key_works(reg->db))
		return 0;
	if ((key = sodium_malloc(KEY_BYTES)) == NULL)
		return 0;
	if ((path = util_path_join(reg->state_dir, "registry.db")) == NULL) {
		sodium_free(key);
		return 0;
	}
	registry_disconnect(reg);
	registry_keys_refresh(reg);
	ok = registry_connect(reg, path, key, 0) == DB_OK;
	if (ok)
		log_msg(LOGL_INFO, NULL, "event=registry_reopened master=%d",
		    reg->master);
	sodium_free(key);
	free(path);
	return ok;
}

/* db_tx on the registry, once more after a reconnect if it was rekeyed. */
static enum err
reg_tx(struct registry *reg, enum err (*fn)(sqlite3 *, void *), void *arg)
{
	enum err	 e;

	if (reg->db == NULL && !registry_recover(reg))
		return ERR_INTERNAL;
	if ((e = db_tx(reg->db, fn, arg)) != ERR_OK && registry_recover(reg))
		e = db_tx(reg->db, fn, arg);
	return e;
}

struct registry *
registry_open(const char *state_dir, struct keyring *kr, int create,
    char *err, size_t errsz)
{
	struct registry	*reg;
	unsigned char	*key = NULL;
	char		*path = NULL, *tdir = NULL;
	int		 exists;
	enum db_status	 st = DB_ERROR;

	if ((reg = calloc(1, sizeof(*reg))) == NULL ||
	    (reg->state_dir = strdup(state_dir)) == NULL ||
	    (path = util_path_join(state_dir, "registry.db")) == NULL ||
	    (tdir = util_path_join(state_dir, "tenants")) == NULL ||
	    (key = sodium_malloc(KEY_BYTES)) == NULL) {
		snprintf(err, errsz, "out of memory");
		goto fail;
	}
	reg->kr = kr;
	if (mkdir(tdir, 0700) == -1 && errno != EEXIST) {
		snprintf(err, errsz, "%s: %s", tdir, strerror(errno));
		goto fail;
	}
	exists = access(path, F_OK) == 0;
	if (!exists && !create) {
		snprintf(err, errsz, "%s: no registry", path);
		goto fail;
	}
	st = registry_connect(reg, path, key, !exists);
	if (st != DB_OK) {
		snprintf(err, errsz, "%s: cannot open registry (%s)", path,
		    db_status_code(st));
		goto fail;
	}
	sodium_free(key);
	free(path);
	free(tdir);
	return reg;
fail:
	sodium_free(key);
	free(path);
	free(tdir);
	registry_close(reg);
	return NULL;
}

void
registry_close(struct registry *reg)
{
	if (reg == NULL)
		return;
	registry_disconnect(reg);
	if (reg->scratch != NULL)
		sodium_free(reg->scratch);
	free(reg->state_dir);
	free(reg);
}

char *
registry_tenant_path(const struct registry *reg, const char *id,
    int version)
{
	char	 name[TENANT_ID_LEN + 32];

	if (version <= 1)
		snprintf(name, sizeof(name), "tenants/%s.db", id);
	else
		snprintf(name, sizeof(name), "tenants/%s.v%d.db", id, version);
	return util_path_join(reg->state_dir, name);
}

void
registry_tenant_free(struct tenant *t)
{
	if (t == NULL)
		return;
	free(t->client_key);
	free(t->base_url);
	free(t->secret_sealed);
	memset(t, 0, sizeof(*t));
}

/* Reads the current row of a FIND/GET/LIST statement into t. */
static enum err
tenant_row(sqlite3_stmt *st, struct tenant *t)
{
	const char	*state, *id;
	const void	*blob;

	memset(t, 0, sizeof(*t));
	id = (const char *)sqlite3_column_text(st, 0);
	state = (const char *)sqlite3_column_text(st, 3);
	if (id == NULL || strlen(id) != TENANT_ID_LEN || state == NULL)
		return ERR_INTERNAL;
	memcpy(t->id, id, TENANT_ID_LEN + 1);
	t->state = strcmp(state, "installed") == 0 ? TENANT_INSTALLED :
	    TENANT_DEPARTED;
	t->enabled = sqlite3_column_int(st, 4);
	t->installed_at = sqlite3_column_int64(st, 5);
	t->updated_at = sqlite3_column_int64(st, 6);
	t->uninstalled_at = sqlite3_column_int64(st, 7);
	t->delete_after = sqlite3_column_int64(st, 8);
	t->secret_master = sqlite3_column_int(st, 9);
	t->dek_version = sqlite3_column_int(st, 11);
	t->dek_created = sqlite3_column_int64(st, 12);
	t->quarantined_at = sqlite3_column_int64(st, 13);
	t->holds = sqlite3_column_int64(st, 14);
	t->backup_at = sqlite3_column_int64(st, 15);
	if ((blob = sqlite3_column_text(st, 16)) != NULL)
		snprintf(t->backup_run, sizeof(t->backup_run), "%s",
		    (const char *)blob);
	/* A Forge-only tenant: no clientKey, site URL or secret. */
	if ((sqlite3_column_type(st, 1) != SQLITE_NULL &&
	    (t->client_key = db_col_strdup(st, 1)) == NULL) ||
	    (sqlite3_column_type(st, 2) != SQLITE_NULL &&
	    (t->base_url = db_col_strdup(st, 2)) == NULL)) {
		registry_tenant_free(t);
		return ERR_INTERNAL;
	}
	if (sqlite3_column_type(st, 10) == SQLITE_NULL) {
		t->secret_master = 0;
		return ERR_OK;
	}
	blob = sqlite3_column_blob(st, 10);
	t->secret_sealed_len = (size_t)sqlite3_column_bytes(st, 10);
	if (blob == NULL || t->secret_sealed_len < KEYS_SEALED_LEN(1) ||
	    (t->secret_sealed = malloc(t->secret_sealed_len)) == NULL) {
		registry_tenant_free(t);
		return ERR_INTERNAL;
	}
	memcpy(t->secret_sealed, blob, t->secret_sealed_len);
	return ERR_OK;
}

/* One tenant by clientKey (STMT_FIND) or id (STMT_GET). */
static enum err
tenant_lookup(struct registry *reg, enum stmt s, const char *key,
    struct tenant *t)
{
	sqlite3_stmt	*st;
	enum err	 e = ERR_INTERNAL;
	int		 rc;

	memset(t, 0, sizeof(*t));
	if ((st = stmt_prepare(reg, s)) == NULL)
		return ERR_INTERNAL;
	if (db_bind_text(st, 1, key) == 0) {
		if ((rc = sqlite3_step(st)) == SQLITE_DONE)
			e = ERR_NOT_FOUND;
		else if (rc == SQLITE_ROW)
			e = tenant_row(st, t);
	}
	db_stmt_done(st);
	return e;
}

enum err
registry_find(struct registry *reg, const char *client_key, struct tenant *t)
{
	enum err	 e;

	if ((e = tenant_lookup(reg, STMT_FIND, client_key, t)) ==
	    ERR_INTERNAL && registry_recover(reg))
		e = tenant_lookup(reg, STMT_FIND, client_key, t);
	return e;
}

enum err
registry_get(struct registry *reg, const char *id, struct tenant *t)
{
	enum err	 e;

	if ((e = tenant_lookup(reg, STMT_GET, id, t)) == ERR_INTERNAL &&
	    registry_recover(reg))
		e = tenant_lookup(reg, STMT_GET, id, t);
	return e;
}

/*
 * Steps st (bound, prepared), calling row(st, arg) for each row; row
 * returning -1 stops.  Gives st back.  How many rows, or -1.
 */
static int
each_row(sqlite3_stmt *st, int (*row)(sqlite3_stmt *, void *), void *arg)
{
	int	 rc, n = 0;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		n++;
		if (row(st, arg) == -1) {
			n = -1;
			break;
		}
	}
	if (n >= 0 && rc != SQLITE_DONE)
		n = -1;
	db_stmt_done(st);
	return n;
}

/* registry_each's row: the tenant, handed to the caller's fn. */
struct each_tenant {
	int	(*fn)(const struct tenant *, void *);
	void	*arg;
};

static int
each_tenant_row(sqlite3_stmt *st, void *arg)
{
	struct each_tenant *e = arg;
	struct tenant	 t;
	int		 rc;

	if (tenant_row(st, &t) != ERR_OK)
		return -1;
	rc = e->fn(&t, e->arg);
	registry_tenant_free(&t);
	return rc;
}

int
registry_each(struct registry *reg, int (*fn)(const struct tenant *, void *),
    void *arg)
{
	struct each_tenant e = { fn, arg };
	sqlite3_stmt	*st;

	if ((st = stmt_prepare(reg, STMT_LIST)) == NULL)
		return -1;
	return each_row(st, each_tenant_row, &e);
}

const char *
registry_secret(struct registry *reg, const struct tenant *t, size_t *len)
{
	char	 aad[KEYS_AAD_MAX];
	size_t	 n;

	/* None (a Forge-only tenant): nothing signs or verifies as it. */
	if (t->secret_sealed == NULL ||
	    t->secret_sealed_len <= KEYS_SEALED_LEN(0))
		return NULL;
	n = t->secret_sealed_len - KEYS_SEALED_LEN(0);
	if (n > SECRET_MAX)
		return NULL;
	/* One guarded buffer per worker: sodium_malloc per request costs
	 * more than the rest of the request's crypto. */
	if (reg->scratch == NULL &&
	    (reg->scratch = sodium_malloc(SECRET_MAX + 1)) == NULL)
		return NULL;
	keys_aad_secret(aad, sizeof(aad), t->id, t->secret_master);
	if (!keys_has(reg->kr, t->secret_master))
		registry_keys_refresh(reg);
	if (keys_open(reg->kr, t->secret_master, aad, t->secret_sealed,
	    t->secret_sealed_len, (unsigned char *)reg->scratch) == -1) {
		sodium_memzero(reg->scratch, SECRET_MAX + 1);
		return NULL;
	}
	reg->scratch[n] = '\0';
	*len = n;
	return reg->scratch;
}

void
registry_secret_wipe(struct registry *reg)
{
	if (reg->scratch != NULL)
		sodium_memzero(reg->scratch, SECRET_MAX + 1);
}

/*
 * Steps st (a key row: STMT_CURRENT_KEY, STMT_KEY_AT, STMT_KEY_PENDING)
 * and unwraps the key: 0, 1 if there is no row, -1 on failure.
 */
static int
dek_row(struct registry *reg, sqlite3_stmt *st, const char *id,
    unsigned char *dek, int *version, int *master, long long *created_at)
{
	const void	*blob;
	size_t		 len;
	char		 aad[KEYS_AAD_MAX];
	int		 step;

	if ((step = sqlite3_step(st)) == SQLITE_DONE)
		return 1;
	if (step != SQLITE_ROW)
		return -1;
	*version = sqlite3_column_int(st, 0);
	*master = sqlite3_column_int(st, 1);
	blob = sqlite3_column_blob(st, 2);
	len = (size_t)sqlite3_column_bytes(st, 2);
	*created_at = sqlite3_column_int64(st, 3);
	if (blob == NULL || len != KEYS_SEALED_LEN(KEY_BYTES))
		return -1;
	keys_aad_dek(aad, sizeof(aad), id, *version, *master);
	/* Wrapped under a master version made since we loaded the keys
	 * (a rotation): load it, once. */
	if (!keys_has(reg->kr, *master))
		registry_keys_refresh(reg);
	return keys_open(reg->kr, *master, aad, blob, len, dek);
}

int
registry_dek(struct registry *reg, const char *id, unsigned char *dek,
    int *version, int *master, long long *created_at)
{
	sqlite3_stmt	*st;
	int		 rc = -1;

	if ((st = stmt_prepare(reg, STMT_CURRENT_KEY)) == NULL)
		return -1;
	if (db_bind_text(st, 1, id) == 0)
		rc = dek_row(reg, st, id, dek, version, master, created_at);
	db_stmt_done(st);
	return rc == 0 ? 0 : -1;
}

int
registry_dek_at(struct registry *reg, const char *id, int version,
    unsigned char *dek)
{
	sqlite3_stmt	*st;
	long long	 created;
	int		 rc = -1, v, master;

	if ((st = stmt_prepare(reg, STMT_KEY_AT)) == NULL)
		return -1;
	if (db_bind_text(st, 1, id) == 0 &&
	    sqlite3_bind_int(st, 2, version) == SQLITE_OK)
		rc = dek_row(reg, st, id, dek, &v, &master, &created);
	db_stmt_done(st);
	return rc == 0 ? 0 : -1;
}

static int
audit(struct registry *reg, long long now, const char *event, const char *id,
    const char *detail)
{
	sqlite3_stmt	*st;
	int		 rc = -1;

	if ((st = stmt_prepare(reg, STMT_AUDIT)) == NULL)
		return -1;
	if (sqlite3_bind_int64(st, 1, now) == SQLITE_OK &&
	    db_bind_text(st, 2, event) == 0 && db_bind_text(st, 3, id) == 0 &&
	    db_bind_text(st, 4, detail) == 0 && sqlite3_step(st) == SQLITE_DONE)
		rc = 0;
	db_stmt_done(st);
	return rc;
}

int
registry_remove_files(const char *path)
{
	static const char *const sfx[] = { "", "-wal", "-shm", "-journal" };
	char	 p[4096];
	size_t	 i;
	int	 n = 0, rc = 0;

	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		if (file_pathf(p, sizeof(p), "%s%s", path, sfx[i]) == -1)
			return -1;
		if (unlink(p) == 0)
			n++;
		else if (errno != ENOENT) {
			log_msg(LOGL_WARN, NULL, "reason=unlink_failed");
			rc = -1;
		}
	}
	if (n > 0 && file_fsync_parent(path) == -1)
		rc = -1;
	return rc == -1 ? -1 : n;
}

/* Seals in->shared_secret for tenant id under the current master. */
static unsigned char *
seal_secret(struct registry *reg, const char *id, const char *secret,
    size_t *outlen, int *master)
{
	unsigned char	*out;
	size_t		 n = strlen(secret);
	char		 aad[KEYS_AAD_MAX];

	*master = keys_current(reg->kr);
	if ((out = malloc(KEYS_SEALED_LEN(n))) == NULL)
		return NULL;
	keys_aad_secret(aad, sizeof(aad), id, *master);
	if (keys_seal(reg->kr, *master, aad, (const unsigned char *)secret,
	    n, out) == -1) {
		free(out);
		return NULL;
	}
	*outlen = KEYS_SEALED_LEN(n);
	return out;
}

/*
 * Creates the tenant's encrypted file with a fresh data key and returns
 * the key wrapped for the registry.  The file names its owner (meta).
 */
static int
tenant_file_create(struct registry *reg, const char *id, long long now,
    unsigned char *wrapped, int *master)
{
	unsigned char	*dek = NULL;
	sqlite3		*db = NULL;
	sqlite3_stmt	*st = NULL;
	char		*path = NULL, aad[KEYS_AAD_MAX];
	int		 rc = -1, made = 0;

	*master = keys_current(reg->kr);
	if ((dek = sodium_malloc(KEY_BYTES)) == NULL ||
	    (path = registry_tenant_path(reg, id, 1)) == NULL)
		goto out;
	randombytes_buf(dek, KEY_BYTES);
	keys_aad_dek(aad, sizeof(aad), id, 1, *master);
	if (keys_seal(reg->kr, *master, aad, dek, KEY_BYTES, wrapped) == -1)
		goto out;
	/* A leftover file of this random id cannot be ours: refuse. */
	if (access(path, F_OK) == 0)
		goto out;
	made = 1;
	if (db_open(path, dek, DB_CREATE | DB_ROLLBACK, db_tenant_migrations,
	    db_tenant_nmigrations, &db) != DB_OK)
		goto out;
	if (sqlite3_prepare_v2(db, "INSERT INTO meta (key, value) VALUES "
	    "('tenant_id', ?1), ('created_at', ?2)", -1, &st, NULL) !=
	    SQLITE_OK || db_bind_text(st, 1, id) == -1 ||
	    sqlite3_bind_int64(st, 2, now) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_DONE)
		goto out;
	rc = 0;
out:
	sqlite3_finalize(st);
	db_close(db);
	if (rc == -1 && made)
		registry_remove_files(path);
	sodium_free(dek);
	free(path);
	return rc;
}

static int
bind_install(sqlite3_stmt *st, int first, const struct install *in)
{
	/* display_url .. oauth_client_id bound from index first on */
	return db_bind_text(st, first, in->display_url) | db_bind_text(st,
	    first + 1, in->product_type) | db_bind_text(st, first + 2,
	    in->server_version) | db_bind_text(st, first + 3,
	    in->plugins_version) | db_bind_text(st, first + 4, in->sen) |
	    db_bind_text(st, first + 5, in->oauth_client_id);
}

/*
 * One install, Connect's or a Forge installation's first contact, as
 * db_tx runs it (perhaps more than once).
 */
struct install_tx {
	struct registry		*reg;
	const struct install	*in;		/* Connect */
	const struct forge_seen	*seen;		/* Forge */
	const char		*how;		/* Forge: fit, event */
	long long		 now;
	char			 id[TENANT_ID_LEN + 1];
	int			 created;
	int			 file_made;	/* id's file is ours */
	long long		 cloud_shared;	/* other tenants, same cloud */
	char			 shared_ids[FORGE_SHARED_IDS * (TENANT_ID_LEN +
				    1)];	/* the first, ","-joined */
};

/* 1 if how is one of the words of list (NULL-terminated). */
static int
how_ok(const char *how, const char *const *list)
{
	for (; how != NULL && *list != NULL; list++)
		if (strcmp(how, *list) == 0)
			return 1;
	return 0;
}

/*
 * Runs statement s, bound by the caller (st, prepared with s), to its
 * end: how many rows it changed, or -1.  Gives st back.
 */
static int
stmt_run(struct registry *reg, sqlite3_stmt *st, int ok)
{
	int	 n = -1;

	if (ok && sqlite3_step(st) == SQLITE_DONE)
		n = sqlite3_changes(reg->db);
	db_stmt_done(st);
	return n;
}

/* Records the tenant's cloud id if it had none (cloud may be NULL). */
static int
tenant_cloud(struct registry *reg, const char *id, const char *cloud)
{
	sqlite3_stmt	*st;

	if (cloud == NULL)
		return 0;
	if ((st = stmt_prepare(reg, STMT_TENANT_CLOUD)) == NULL)
		return -1;
	return stmt_run(reg, st, db_bind_text(st, 1, id) == 0 &&
	    db_bind_text(st, 2, cloud) == 0) == -1 ? -1 : 0;
}

/* Tenant id departs at now, due for deletion grace_days later. */
static int
tenant_depart(struct registry *reg, const char *id, long long now,
    long long grace_days)
{
	sqlite3_stmt	*st;

	if ((st = stmt_prepare(reg, STMT_FORGE_DEPART)) == NULL)
		return -1;
	return stmt_run(reg, st, db_bind_text(st, 1, id) == 0 &&
	    sqlite3_bind_int64(st, 2, now) == SQLITE_OK &&
	    sqlite3_bind_int64(st, 3, now + grace_days * CLOCK_DAY) ==
	    SQLITE_OK);
}

/*
 * The tenant installation_id belongs to, into owner: 1, 0 if none, -1.
 * *last_seen and api (an installation's, may be NULL) when asked for.
 */
static int
installation_owner(struct registry *reg, const char *installation_id,
    char owner[TENANT_ID_LEN + 1], long long *last_seen, char *api,
    size_t apisz)
{
	sqlite3_stmt	*st;
	const char	*v;
	int		 rc = -1, step;

	if ((st = stmt_prepare(reg, STMT_FORGE_ROW)) == NULL)
		return -1;
	if (db_bind_text(st, 1, installation_id) == 0) {
		step = sqlite3_step(st);
		if (step == SQLITE_DONE)
			rc = 0;
		else if (step == SQLITE_ROW &&
		    (v = (const char *)sqlite3_column_text(st, 0)) != NULL &&
		    strlen(v) == TENANT_ID_LEN) {
			memcpy(owner, v, TENANT_ID_LEN + 1);
			if (last_seen != NULL)
				*last_seen = sqlite3_column_type(st, 1) ==
				    SQLITE_NULL ? -1 : sqlite3_column_int64(st,
				    1);
			if (api != NULL) {
				v = (const char *)sqlite3_column_text(st, 2);
				snprintf(api, apisz, "%s", v != NULL ? v : "");
			}
			rc = 1;
		}
	}
	db_stmt_done(st);
	return rc;
}

/*
 * registry_forge_link's work inside the caller's transaction: tenant
 * id exists and is not being purged.  from and *departed (either may
 * be NULL) as registry_forge_link's, set once it succeeds.
 */
static enum err
forge_link_in(struct registry *reg, const char *id,
    const struct forge_seen *s, const char *how, long long now,
    long long grace_days, char from[TENANT_ID_LEN + 1], int *departed)
{
	sqlite3_stmt	*st;
	char		 owner[TENANT_ID_LEN + 1], detail[64];
	int		 found, n, left = 0;

	if ((found = installation_owner(reg, s->installation_id, owner, NULL,
	    NULL, 0)) == -1)
		return ERR_INTERNAL;
	if (found && strcmp(owner, id) == 0) {
		/* Linked already: what it says is filled in, no more. */
		if ((st = stmt_prepare(reg, STMT_FORGE_FILL)) == NULL ||
		    stmt_run(reg, st, db_bind_text(st, 1,
		    s->installation_id) == 0 && db_bind_text(st, 2,
		    s->cloud_id) == 0 && db_bind_text(st, 3,
		    s->api_base_url) == 0) == -1)
			return ERR_INTERNAL;
		return tenant_cloud(reg, id, s->cloud_id) == -1 ?
		    ERR_INTERNAL : ERR_OK;
	}
	if (!found) {
		if ((st = stmt_prepare(reg, STMT_FORGE_INSERT)) == NULL)
			return ERR_INTERNAL;
		n = stmt_run(reg, st, db_bind_text(st, 1,
		    s->installation_id) == 0 && db_bind_text(st, 2, id) == 0 &&
		    db_bind_text(st, 3, s->cloud_id) == 0 &&
		    db_bind_text(st, 4, s->api_base_url) == 0 &&
		    db_bind_text(st, 5, how) == 0 &&
		    sqlite3_bind_int64(st, 6, now) == SQLITE_OK &&
		    sqlite3_bind_null(st, 7) == SQLITE_OK);
	} else {
		if ((st = stmt_prepare(reg, STMT_FORGE_MOVE)) == NULL)
			return ERR_INTERNAL;
		n = stmt_run(reg, st, db_bind_text(st, 1,
		    s->installation_id) == 0 && db_bind_text(st, 2, id) == 0 &&
		    db_bind_text(st, 3, how) == 0 &&
		    sqlite3_bind_int64(st, 4, now) == SQLITE_OK &&
		    db_bind_text(st, 5, s->cloud_id) == 0 &&
		    db_bind_text(st, 6, s->api_base_url) == 0);
	}
	if (n != 1 || tenant_cloud(reg, id, s->cloud_id) == -1)
		return ERR_INTERNAL;
	snprintf(detail, sizeof(detail), "how=%s moved=%d", how, found);
	if (audit(reg, now, "forge_link", id, detail) == -1)
		return ERR_INTERNAL;
	if (!found)
		return ERR_OK;
	/* The tenant it left: with nothing left, it departs. */
	if ((st = stmt_prepare(reg, STMT_FORGE_LEFT)) == NULL)
		return ERR_INTERNAL;
	if (db_bind_text(st, 1, owner) == 0 && sqlite3_step(st) == SQLITE_ROW)
		left = sqlite3_column_int(st, 0);
	db_stmt_done(st);
	if (left && (n = tenant_depart(reg, owner, now, grace_days)) == -1)
		return ERR_INTERNAL;
	left = left && n == 1;
	snprintf(detail, sizeof(detail), "how=%s departed=%d", how, left);
	if (audit(reg, now, "forge_link_moved", owner, detail) == -1)
		return ERR_INTERNAL;
	if (from != NULL)
		memcpy(from, owner, TENANT_ID_LEN + 1);
	if (departed != NULL)
		*departed = left;
	return ERR_OK;
}

/*
 * A reinstall (new secret, URLs and license fields; deletion
 * cancelled), or a Forge tenant's first Connect install (adopted).
 */
static enum err
install_again(struct install_tx *tx, const struct tenant *old,
    const unsigned char *sealed, size_t sealed_len, int smaster)
{
	sqlite3_stmt	*st;
	const char	*event;
	enum err	 e = ERR_INTERNAL;

	if ((st = stmt_prepare(tx->reg, STMT_REINSTALL)) == NULL)
		return ERR_INTERNAL;
	if (db_bind_text(st, 1, tx->id) == -1 ||
	    db_bind_text(st, 2, tx->in->base_url) == -1 ||
	    bind_install(st, 3, tx->in) != 0 ||
	    sqlite3_bind_blob(st, 9, sealed, (int)sealed_len,
	    SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int(st, 10, smaster) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 11, tx->now) != SQLITE_OK ||
	    db_bind_text(st, 12, tx->in->client_key) == -1 ||
	    sqlite3_step(st) != SQLITE_DONE)
		goto out;
	if (old->client_key == NULL)
		event = "install";
	else
		event = old->state == TENANT_DEPARTED ?
		    "reinstall_cancelled_deletion" : "reinstall";
	if (audit(tx->reg, tx->now, event, tx->id, old->client_key == NULL ?
	    "adopted=forge" : NULL) == -1)
		goto out;
	e = ERR_OK;
out:
	db_stmt_done(st);
	return e;
}

/* A new tenant's data key, version 1, wrapped under kmaster. */
static int
tenant_key_insert(struct install_tx *tx, const unsigned char *wrapped,
    size_t len, int kmaster)
{
	sqlite3_stmt	*st;

	if ((st = stmt_prepare(tx->reg, STMT_INSERT_KEY)) == NULL)
		return -1;
	return stmt_run(tx->reg, st, db_bind_text(st, 1, tx->id) == 0 &&
	    sqlite3_bind_int(st, 2, 1) == SQLITE_OK &&
	    sqlite3_bind_int(st, 3, kmaster) == SQLITE_OK &&
	    sqlite3_bind_blob(st, 4, wrapped, (int)len, SQLITE_STATIC) ==
	    SQLITE_OK && sqlite3_bind_int64(st, 5, tx->now) == SQLITE_OK) ==
	    1 ? 0 : -1;
}

/*
 * A new tenant's encrypted file under a fresh data key (wrapped into
 * wrapped); ERR_STORAGE_FULL when the tenant file's disk is full.
 */
static enum err
install_file(struct install_tx *tx, unsigned char *wrapped, int *kmaster)
{
	char		*path;
	enum err	 e;

	if (tenant_file_create(tx->reg, tx->id, tx->now, wrapped,
	    kmaster) == 0) {
		tx->file_made = 1;
		return ERR_OK;
	}
	/* The tenant file's disk, not the registry's, may be full. */
	path = registry_tenant_path(tx->reg, tx->id, 1);
	e = path != NULL && db_disk_full(path) ? ERR_STORAGE_FULL :
	    ERR_INTERNAL;
	free(path);
	return e;
}

/* A first install: the encrypted file, the row, the wrapped data key. */
static enum err
install_new(struct install_tx *tx, const unsigned char *sealed,
    size_t sealed_len, int smaster)
{
	unsigned char	 wrapped[KEYS_SEALED_LEN(KEY_BYTES)];
	sqlite3_stmt	*st = NULL;
	enum err	 e;
	int		 kmaster;

	if ((e = install_file(tx, wrapped, &kmaster)) != ERR_OK)
		return e;
	e = ERR_INTERNAL;
	if ((st = stmt_prepare(tx->reg, STMT_INSERT_TENANT)) == NULL ||
	    db_bind_text(st, 1, tx->id) == -1 ||
	    db_bind_text(st, 2, tx->in->client_key) == -1 ||
	    db_bind_text(st, 3, tx->in->base_url) == -1 ||
	    bind_install(st, 4, tx->in) != 0 ||
	    sqlite3_bind_blob(st, 10, sealed, (int)sealed_len,
	    SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int(st, 11, smaster) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 12, tx->now) != SQLITE_OK ||
	    db_bind_text(st, 13, tx->in->cloud_id) == -1 ||
	    sqlite3_step(st) != SQLITE_DONE)
		goto out;
	db_stmt_done(st);
	st = NULL;
	if (tenant_key_insert(tx, wrapped, sizeof(wrapped), kmaster) == -1)
		goto out;
	if (audit(tx->reg, tx->now, "install", tx->id, NULL) == -1)
		goto out;
	tx->created = 1;
	e = ERR_OK;
out:
	db_stmt_done(st);
	return e;
}

/* Removes the file an earlier, rolled back attempt made. */
static void
install_undo_file(struct install_tx *tx)
{
	char	*path;

	if (tx->file_made &&
	    (path = registry_tenant_path(tx->reg, tx->id, 1)) != NULL) {
		registry_remove_files(path);
		free(path);
	}
	tx->file_made = 0;
}

static enum err
install_tx(sqlite3 *db, void *arg)
{
	struct install_tx *tx = arg;
	struct tenant	 old;
	struct forge_seen seen;
	unsigned char	*sealed = NULL, rnd[TENANT_ID_LEN / 2];
	size_t		 sealed_len;
	long long	 grace;
	int		 smaster;
	enum err	 e = ERR_INTERNAL, fe;

	(void)db;
	install_undo_file(tx);
	tx->created = 0;
	if ((fe = registry_find(tx->reg, tx->in->client_key, &old)) ==
	    ERR_INTERNAL)
		return ERR_INTERNAL;
	/* A Forge installation seen first, now installed through Connect. */
	if (fe == ERR_NOT_FOUND && tx->in->installation_id != NULL) {
		if ((fe = tenant_lookup(tx->reg, STMT_FORGE_FIND,
		    tx->in->installation_id, &old)) == ERR_INTERNAL)
			return ERR_INTERNAL;
		if (fe == ERR_OK && old.client_key != NULL) {
			registry_tenant_free(&old);
			fe = ERR_NOT_FOUND;
		}
	}
	if (fe == ERR_OK)
		memcpy(tx->id, old.id, sizeof(tx->id));
	else {
		randombytes_buf(rnd, sizeof(rnd));
		util_hex(tx->id, rnd, sizeof(rnd));
	}
	if ((sealed = seal_secret(tx->reg, tx->id, tx->in->shared_secret,
	    &sealed_len, &smaster)) == NULL)
		goto out;
	if (fe == ERR_OK)
		e = install_again(tx, &old, sealed, sealed_len, smaster);
	else
		e = install_new(tx, sealed, sealed_len, smaster);
	if (e == ERR_OK && tenant_cloud(tx->reg, tx->id,
	    tx->in->cloud_id) == -1)
		e = ERR_INTERNAL;
	if (e == ERR_OK && tx->in->installation_id != NULL) {
		seen.installation_id = tx->in->installation_id;
		seen.cloud_id = tx->in->cloud_id;
		seen.api_base_url = NULL;
		grace = tx->in->grace_days > 0 ? tx->in->grace_days :
		    REGISTRY_GRACE_DAYS;
		e = forge_link_in(tx->reg, tx->id, &seen, "connect", tx->now,
		    grace, NULL, NULL);
	}
out:
	if (e != ERR_OK)
		install_undo_file(tx);
	free(sealed);
	registry_tenant_free(&old);
	return e;
}

enum err
registry_install(struct registry *reg, const struct install *in,
    long long now, struct tenant *out, int *created)
{
	struct install_tx tx;
	enum err	 e;

	memset(&tx, 0, sizeof(tx));
	memset(out, 0, sizeof(*out));
	tx.reg = reg;
	tx.in = in;
	tx.now = now;
	*created = 0;
	if ((e = reg_tx(reg, install_tx, &tx)) != ERR_OK) {
		/* A commit that failed leaves a file nobody owns: remove. */
		install_undo_file(&tx);
		return e;
	}
	*created = tx.created;
	return registry_find(reg, in->client_key, out);
}

enum err
registry_forge_find(struct registry *reg, const char *installation_id,
    struct tenant *t)
{
	enum err	 e;

	if ((e = tenant_lookup(reg, STMT_FORGE_FIND, installation_id, t)) ==
	    ERR_INTERNAL && registry_recover(reg))
		e = tenant_lookup(reg, STMT_FORGE_FIND, installation_id, t);
	return e;
}

/* A known installation heard from: touched, its tenant back if gone. */
static enum err
forge_again(struct install_tx *tx, const struct tenant *t)
{
	const struct forge_seen *s = tx->seen;
	sqlite3_stmt	*st;
	char		 detail[32];
	int		 n;

	memcpy(tx->id, t->id, sizeof(tx->id));
	if ((st = stmt_prepare(tx->reg, STMT_FORGE_TOUCH)) == NULL ||
	    stmt_run(tx->reg, st, db_bind_text(st, 1, s->installation_id) ==
	    0 && sqlite3_bind_int64(st, 2, tx->now) == SQLITE_OK &&
	    db_bind_text(st, 3, s->api_base_url) == 0 &&
	    db_bind_text(st, 4, s->cloud_id) == 0) != 1 ||
	    tenant_cloud(tx->reg, tx->id, s->cloud_id) == -1)
		return ERR_INTERNAL;
	if (t->state != TENANT_DEPARTED)
		return ERR_OK;
	if ((st = stmt_prepare(tx->reg, STMT_FORGE_REINSTATE)) == NULL ||
	    (n = stmt_run(tx->reg, st, db_bind_text(st, 1, tx->id) == 0 &&
	    sqlite3_bind_int64(st, 2, tx->now) == SQLITE_OK)) == -1)
		return ERR_INTERNAL;
	snprintf(detail, sizeof(detail), "how=%s", tx->how);
	return n == 1 && audit(tx->reg, tx->now, "forge_reinstated", tx->id,
	    detail) == -1 ? ERR_INTERNAL : ERR_OK;
}

/* An unknown installation: a new tenant without a Connect identity. */
static enum err
forge_new(struct install_tx *tx)
{
	const struct forge_seen *s = tx->seen;
	unsigned char	 wrapped[KEYS_SEALED_LEN(KEY_BYTES)];
	unsigned char	 rnd[TENANT_ID_LEN / 2];
	sqlite3_stmt	*st;
	const char	*v;
	char		 detail[48 + sizeof(tx->shared_ids)];
	size_t		 n;
	int		 kmaster, step;
	enum err	 e;

	randombytes_buf(rnd, sizeof(rnd));
	util_hex(tx->id, rnd, sizeof(rnd));
	if ((e = install_file(tx, wrapped, &kmaster)) != ERR_OK)
		return e;
	if ((st = stmt_prepare(tx->reg, STMT_FORGE_INSERT_TENANT)) == NULL ||
	    stmt_run(tx->reg, st, db_bind_text(st, 1, tx->id) == 0 &&
	    sqlite3_bind_int64(st, 2, tx->now) == SQLITE_OK &&
	    db_bind_text(st, 3, s->cloud_id) == 0) != 1 ||
	    tenant_key_insert(tx, wrapped, sizeof(wrapped), kmaster) == -1)
		return ERR_INTERNAL;
	if ((st = stmt_prepare(tx->reg, STMT_FORGE_INSERT)) == NULL ||
	    stmt_run(tx->reg, st, db_bind_text(st, 1, s->installation_id) ==
	    0 && db_bind_text(st, 2, tx->id) == 0 &&
	    db_bind_text(st, 3, s->cloud_id) == 0 &&
	    db_bind_text(st, 4, s->api_base_url) == 0 &&
	    db_bind_text(st, 5, tx->how) == 0 &&
	    sqlite3_bind_int64(st, 6, tx->now) == SQLITE_OK &&
	    sqlite3_bind_int64(st, 7, tx->now) == SQLITE_OK) != 1)
		return ERR_INTERNAL;
	snprintf(detail, sizeof(detail), "how=%s", tx->how);
	if (audit(tx->reg, tx->now, "forge_install", tx->id, detail) == -1)
		return ERR_INTERNAL;
	tx->created = 1;
	if (s->cloud_id == NULL)
		return ERR_OK;
	/* The same site as another tenant: said, never linked by guess. */
	if ((st = stmt_prepare(tx->reg, STMT_FORGE_CLOUD_SHARED)) == NULL)
		return ERR_INTERNAL;
	if (db_bind_text(st, 1, tx->id) == -1 ||
	    db_bind_text(st, 2, s->cloud_id) == -1) {
		db_stmt_done(st);
		return ERR_INTERNAL;
	}
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		v = (const char *)sqlite3_column_text(st, 0);
		if (v == NULL || strlen(v) != TENANT_ID_LEN)
			break;
		if (tx->cloud_shared++ < FORGE_SHARED_IDS) {
			n = strlen(tx->shared_ids);
			snprintf(tx->shared_ids + n, sizeof(tx->shared_ids) -
			    n, "%s%s", n > 0 ? "," : "", v);
		}
	}
	db_stmt_done(st);
	if (step != SQLITE_DONE)
		return ERR_INTERNAL;
	snprintf(detail, sizeof(detail), "how=%s tenants=%lld others=%s",
	    tx->how, tx->cloud_shared, tx->shared_ids);
	return tx->cloud_shared > 0 && audit(tx->reg, tx->now,
	    "forge_cloud_shared", tx->id, detail) == -1 ? ERR_INTERNAL :
	    ERR_OK;
}

static enum err
forge_install_tx(sqlite3 *db, void *arg)
{
	struct install_tx *tx = arg;
	struct tenant	 t;
	enum err	 e;

	(void)db;
	install_undo_file(tx);
	tx->created = 0;
	tx->cloud_shared = 0;
	tx->shared_ids[0] = '\0';
	if ((e = tenant_lookup(tx->reg, STMT_FORGE_FIND,
	    tx->seen->installation_id, &t)) == ERR_OK) {
		e = forge_again(tx, &t);
		registry_tenant_free(&t);
	} else if (e == ERR_NOT_FOUND)
		e = forge_new(tx);
	if (e != ERR_OK)
		install_undo_file(tx);
	return e;
}

enum err
registry_forge_install(struct registry *reg, const struct forge_seen *s,
    const char *how, long long now, struct tenant *out, int *created)
{
	static const char *const hows[] = { "fit", "event", NULL };
	struct install_tx tx;
	enum err	 e;

	memset(&tx, 0, sizeof(tx));
	memset(out, 0, sizeof(*out));
	*created = 0;
	if (!how_ok(how, hows) || s->installation_id == NULL)
		return ERR_INTERNAL;
	tx.reg = reg;
	tx.seen = s;
	tx.how = how;
	tx.now = now;
	if ((e = reg_tx(reg, forge_install_tx, &tx)) != ERR_OK) {
		install_undo_file(&tx);
		return e;
	}
	*created = tx.created;
	if (tx.cloud_shared > 0)
		log_msg(LOGL_WARN, NULL, "event=forge_cloud_shared tenant=%s "
		    "others=%lld ids=%s (not linked: cellarctl tenant show, "
		    "cellarctl tenant link)", tx.id, tx.cloud_shared,
		    tx.shared_ids);
	return registry_get(reg, tx.id, out);
}

/* registry_forge_seen's write, once it is due. */
struct seen_tx {
	struct registry	*reg;
	const char	*installation_id, *api_base_url;
	long long	 now;
};

static enum err
seen_tx(sqlite3 *db, void *arg)
{
	struct seen_tx	*s = arg;
	sqlite3_stmt	*st;

	(void)db;
	if ((st = stmt_prepare(s->reg, STMT_FORGE_SEEN)) == NULL)
		return ERR_INTERNAL;
	return stmt_run(s->reg, st, db_bind_text(st, 1, s->installation_id) ==
	    0 && sqlite3_bind_int64(st, 2, s->now) == SQLITE_OK &&
	    db_bind_text(st, 3, s->api_base_url) == 0) == -1 ? ERR_INTERNAL :
	    ERR_OK;
}

enum err
registry_forge_seen(struct registry *reg, const char *installation_id,
    const char *api_base_url, long long now)
{
	struct seen_tx	 s = { reg, installation_id, api_base_url, now };
	char		 owner[TENANT_ID_LEN + 1], api[512];
	long long	 last = -1;
	int		 found;

	/* A read first: most calls write nothing and take no lock. */
	if ((found = installation_owner(reg, installation_id, owner, &last,
	    api, sizeof(api))) == -1 && registry_recover(reg))
		found = installation_owner(reg, installation_id, owner, &last,
		    api, sizeof(api));
	if (found == -1)
		return ERR_INTERNAL;
	if (found == 0)
		return ERR_NOT_FOUND;
	if (last != -1 && last > now - 60 && last <= now &&
	    (api_base_url == NULL || strcmp(api, api_base_url) == 0))
		return ERR_OK;
	return reg_tx(reg, seen_tx, &s);
}

/* Forge's pre-uninstall, or the silence job's departure, of one tenant. */
struct depart_tx {
	struct registry	*reg;
	const char	*key;		/* installation id, or tenant id */
	long long	 now, grace_days, cutoff;
};

static enum err
preuninstall_tx(sqlite3 *db, void *arg)
{
	struct depart_tx *d = arg;
	struct tenant	 t;
	sqlite3_stmt	*st;
	char		 detail[32];
	int		 n;
	enum err	 e;

	(void)db;
	if ((e = tenant_lookup(d->reg, STMT_FORGE_FIND, d->key, &t)) !=
	    ERR_OK)
		return e;
	e = ERR_INTERNAL;
	if ((st = stmt_prepare(d->reg, STMT_FORGE_PREUNINSTALL)) == NULL ||
	    stmt_run(d->reg, st, db_bind_text(st, 1, d->key) == 0 &&
	    sqlite3_bind_int64(st, 2, d->now) == SQLITE_OK) != 1 ||
	    (n = tenant_depart(d->reg, t.id, d->now, d->grace_days)) == -1)
		goto out;
	snprintf(detail, sizeof(detail), "departed=%d", n);
	if (audit(d->reg, d->now, "forge_preuninstall", t.id, detail) == -1)
		goto out;
	e = ERR_OK;
out:
	registry_tenant_free(&t);
	return e;
}

enum err
registry_forge_preuninstall(struct registry *reg, const char *installation_id,
    long long now, long long grace_days)
{
	struct depart_tx d = { reg, installation_id, now, grace_days, 0 };

	return reg_tx(reg, preuninstall_tx, &d);
}

static enum err
silent_tx(sqlite3 *db, void *arg)
{
	struct depart_tx *d = arg;
	sqlite3_stmt	*st;
	char		 detail[64];
	long long	 n = -1;

	(void)db;
	if ((st = stmt_prepare(d->reg, STMT_FORGE_SILENT_DEPART)) == NULL)
		return ERR_INTERNAL;
	switch (stmt_run(d->reg, st, db_bind_text(st, 1, d->key) == 0 &&
	    sqlite3_bind_int64(st, 2, d->now) == SQLITE_OK &&
	    sqlite3_bind_int64(st, 3, d->grace_days * CLOCK_DAY) ==
	    SQLITE_OK && sqlite3_bind_int64(st, 4, d->cutoff) == SQLITE_OK)) {
	case 1:
		break;
	case 0:
		return ERR_NOT_FOUND;
	default:
		return ERR_INTERNAL;
	}
	if ((st = stmt_prepare(d->reg, STMT_FORGE_COUNT)) == NULL)
		return ERR_INTERNAL;
	if (db_bind_text(st, 1, d->key) == 0 && sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	db_stmt_done(st);
	snprintf(detail, sizeof(detail), "installations=%lld silent_days=%lld",
	    n, (d->now - d->cutoff) / CLOCK_DAY);
	return n < 0 || audit(d->reg, d->now, "forge_silent", d->key,
	    detail) == -1 ? ERR_INTERNAL : ERR_OK;
}

enum err
registry_forge_silent_depart(struct registry *reg, const char *id,
    long long cutoff, long long now, long long grace_days)
{
	struct depart_tx d = { reg, id, now, grace_days, cutoff };

	return reg_tx(reg, silent_tx, &d);
}

int
registry_forge_silent(struct registry *reg, long long cutoff,
    int (*fn)(const struct tenant *, void *), void *arg)
{
	struct each_tenant e = { fn, arg };
	sqlite3_stmt	*st;

	if ((st = stmt_prepare(reg, STMT_FORGE_SILENT)) == NULL)
		return -1;
	if (sqlite3_bind_int64(st, 1, cutoff) != SQLITE_OK) {
		db_stmt_done(st);
		return -1;
	}
	return each_row(st, each_tenant_row, &e);
}

struct link_tx {
	struct registry		*reg;
	const char		*id;
	const struct forge_seen	*seen;
	const char		*how;
	long long		 now, grace_days;
	char			*from;
	int			*departed;
};

static enum err
link_tx(sqlite3 *db, void *arg)
{
	struct link_tx	*l = arg;
	struct tenant	 t;
	enum err	 e;

	(void)db;
	if ((e = tenant_lookup(l->reg, STMT_GET, l->id, &t)) != ERR_OK)
		return e;
	registry_tenant_free(&t);
	if (l->from != NULL)
		l->from[0] = '\0';
	if (l->departed != NULL)
		*l->departed = 0;
	return forge_link_in(l->reg, l->id, l->seen, l->how, l->now,
	    l->grace_days, l->from, l->departed);
}

enum err
registry_forge_link(struct registry *reg, const char *tenant_id,
    const struct forge_seen *s, const char *how, long long now,
    long long grace_days, char from[TENANT_ID_LEN + 1], int *departed)
{
	static const char *const hows[] = { "connect", "operator", NULL };
	struct link_tx	 l = { reg, tenant_id, s, how, now, grace_days, from,
			    departed };

	if (from != NULL)
		from[0] = '\0';
	if (departed != NULL)
		*departed = 0;
	if (!how_ok(how, hows) || s->installation_id == NULL)
		return ERR_INTERNAL;
	return reg_tx(reg, link_tx, &l);
}

/* registry_installations's row, handed to the caller's fn. */
struct each_installation {
	int	(*fn)(const struct installation *, void *);
	void	*arg;
};

/* A copy of column i, NULL for NULL; 0, or -1 out of memory. */
static int
col_dup(sqlite3_stmt *st, int i, char **out)
{
	*out = NULL;
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return 0;
	return (*out = db_col_strdup(st, i)) == NULL ? -1 : 0;
}

static int
each_installation_row(sqlite3_stmt *st, void *arg)
{
	struct each_installation *e = arg;
	struct installation in;
	const char	*v;
	int		 rc = -1;

	memset(&in, 0, sizeof(in));
	v = (const char *)sqlite3_column_text(st, 0);
	if (v == NULL || strlen(v) != TENANT_ID_LEN)
		return -1;
	memcpy(in.tenant_id, v, TENANT_ID_LEN + 1);
	v = (const char *)sqlite3_column_text(st, 4);
	snprintf(in.linked_by, sizeof(in.linked_by), "%s", v != NULL ? v : "");
	in.linked_at = sqlite3_column_int64(st, 5);
	in.last_seen_at = sqlite3_column_int64(st, 6);
	in.preuninstall_at = sqlite3_column_int64(st, 7);
	if (col_dup(st, 1, &in.installation_id) == 0 &&
	    in.installation_id != NULL && col_dup(st, 2, &in.cloud_id) == 0 &&
	    col_dup(st, 3, &in.api_base_url) == 0)
		rc = e->fn(&in, e->arg);
	free(in.installation_id);
	free(in.cloud_id);
	free(in.api_base_url);
	return rc;
}

int
registry_installations(struct registry *reg, const char *tenant_id,
    int (*fn)(const struct installation *, void *), void *arg)
{
	struct each_installation e = { fn, arg };
	sqlite3_stmt	*st;

	if ((st = stmt_prepare(reg, STMT_FORGE_LIST)) == NULL)
		return -1;
	if (db_bind_text(st, 1, tenant_id) == -1) {
		db_stmt_done(st);
		return -1;
	}
	return each_row(st, each_installation_row, &e);
}

/* A one-row change of a tenant (statement s with id, a, b) + its audit. */
struct tenant_change {
	struct registry	*reg;
	enum stmt	 s;
	const char	*id;
	long long	 a, b;
	long long	 at;		/* audit time, seconds */
	const char	*event;
};

static enum err
change_tx(sqlite3 *db, void *arg)
{
	struct tenant_change *c = arg;
	sqlite3_stmt	*st;
	enum err	 e = ERR_INTERNAL;

	if ((st = stmt_prepare(c->reg, c->s)) == NULL)
		return ERR_INTERNAL;
	if (db_bind_text(st, 1, c->id) == -1 ||
	    sqlite3_bind_int64(st, 2, c->a) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 3, c->b) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_DONE)
		goto out;
	if (sqlite3_changes(db) != 1) {
		e = ERR_NOT_FOUND;
		goto out;
	}
	if (audit(c->reg, c->at, c->event, c->id, NULL) == -1)
		goto out;
	e = ERR_OK;
out:
	db_stmt_done(st);
	return e;
}

enum err
registry_uninstall(struct registry *reg, const char *id, long long now,
    long long grace_days)
{
	struct tenant_change c = { reg, STMT_UNINSTALL, id, now,
	    now + grace_days * CLOCK_DAY, now, "uninstall" };

	return reg_tx(reg, change_tx, &c);
}

enum err
registry_set_enabled(struct registry *reg, const char *id, int enabled,
    long long now)
{
	struct tenant_change c = { reg, STMT_SET_ENABLED, id, enabled ? 1 : 0,
	    now, now, enabled ? "enabled" : "disabled" };

	return reg_tx(reg, change_tx, &c);
}

/* Holds or releases a tenant: statement s on id, audited as event. */
struct hold {
	struct registry	*reg;
	enum stmt	 s;
	const char	*id;
	long long	 now;
	const char	*cause;		/* quarantine only */
	const char	*event;
	int		 changed;
};

static enum err
hold_tx(sqlite3 *db, void *arg)
{
	struct hold	*h = arg;
	sqlite3_stmt	*st;
	enum err	 e = ERR_INTERNAL;

	h->changed = 0;
	if ((st = stmt_prepare(h->reg, h->s)) == NULL)
		return ERR_INTERNAL;
	if (db_bind_text(st, 1, h->id) == -1 ||
	    (h->s == STMT_QUARANTINE &&
	    (sqlite3_bind_int64(st, 2, h->now) != SQLITE_OK ||
	    db_bind_text(st, 3, h->cause) == -1)) ||
	    sqlite3_step(st) != SQLITE_DONE)
		goto out;
	if ((h->changed = sqlite3_changes(db)) == 1 &&
	    audit(h->reg, h->now, h->event, h->id, h->cause) == -1)
		goto out;
	e = ERR_OK;
out:
	db_stmt_done(st);
	return e;
}

int
registry_quarantine(struct registry *reg, const char *id, long long now,
    const char *cause)
{
	struct hold	 h = { reg, STMT_QUARANTINE, id, now, cause,
	    "quarantine", 0 };

	if (reg_tx(reg, hold_tx, &h) != ERR_OK)
		return -1;
	return h.changed;
}

enum err
registry_release(struct registry *reg, const char *id, long long now)
{
	struct hold	 h = { reg, STMT_RELEASE, id, now, NULL, "release", 0 };
	enum err	 e;

	if ((e = reg_tx(reg, hold_tx, &h)) != ERR_OK)
		return e;
	return h.changed == 1 ? ERR_OK : ERR_NOT_FOUND;
}

/* 1 if name is "<32 hex>.db" or one of its companions; id copied out. */
static int
tenant_file_name(const char *name, char id[TENANT_ID_LEN + 1])
{
	static const char *const sfx[] = { ".db", ".db-wal", ".db-shm",
	    ".db-journal" };
	size_t	 i;

	if (strspn(name, "0123456789abcdef") != TENANT_ID_LEN)
		return 0;
	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++)
		if (strcmp(name + TENANT_ID_LEN, sfx[i]) == 0) {
			memcpy(id, name, TENANT_ID_LEN);
			id[TENANT_ID_LEN] = '\0';
			return 1;
		}
	return 0;
}

static int
id_cmp(const void *a, const void *b)
{
	return memcmp(a, b, TENANT_ID_LEN + 1);
}

/* The ids of tdir's tenant files, sorted, each once; -1 on failure. */
static int
tenant_file_ids(const char *tdir, char (**out)[TENANT_ID_LEN + 1],
    size_t *n)
{
	char		(*ids)[TENANT_ID_LEN + 1] = NULL, (*v)[TENANT_ID_LEN + 1];
	size_t		 cnt = 0, cap = 0, i, k;
	struct dirent	*de;
	DIR		*d;

	if ((d = opendir(tdir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (cnt == cap) {
			cap = cap ? cap * 2 : 64;
			if ((v = reallocarray(ids, cap, sizeof(*ids))) == NULL) {
				closedir(d);
				free(ids);
				return -1;
			}
			ids = v;
		}
		if (tenant_file_name(de->d_name, ids[cnt]))
			cnt++;
	}
	closedir(d);
	if (cnt > 0)
		qsort(ids, cnt, sizeof(*ids), id_cmp);
	for (i = k = 0; i < cnt; i++)
		if (k == 0 || memcmp(ids[i], ids[k - 1], sizeof(*ids)) != 0)
			memcpy(ids[k++], ids[i], sizeof(*ids));
	*out = ids;
	*n = k;
	return 0;
}

int
registry_orphans(struct registry *reg,
    int (*fn)(const char *id, const char *path, long long mtime, void *),
    void *arg)
{
	static const char *const sfx[] = { "", "-wal", "-shm", "-journal" };
	char		(*ids)[TENANT_ID_LEN + 1] = NULL;
	struct tenant	 t;
	struct stat	 st;
	char		*tdir, *path = NULL, name[TENANT_ID_LEN + 16], p[4096];
	long long	 newest;
	size_t		 nids = 0, i, k;
	int		 n = 0, rc = 0;
	enum err	 e;

	if ((tdir = util_path_join(reg->state_dir, "tenants")) == NULL)
		return -1;
	if (tenant_file_ids(tdir, &ids, &nids) == -1) {
		free(tdir);
		return -1;
	}
	for (i = 0; rc == 0 && i < nids; i++) {
		if ((e = registry_get(reg, ids[i], &t)) == ERR_OK) {
			registry_tenant_free(&t);
			continue;
		}
		snprintf(name, sizeof(name), "%s.db", ids[i]);
		if (e != ERR_NOT_FOUND ||
		    (path = util_path_join(tdir, name)) == NULL) {
			rc = -1;
			break;
		}
		/* Something not ours where the .db would be: left alone. */
		if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
			free(path);
			path = NULL;
			continue;
		}
		/* The group is as old as its youngest file. */
		newest = -1;
		for (k = 0; k < sizeof(sfx) / sizeof(sfx[0]); k++)
			if ((size_t)snprintf(p, sizeof(p), "%s%s", path,
			    sfx[k]) < sizeof(p) && lstat(p, &st) == 0 &&
			    S_ISREG(st.st_mode) && st.st_mtime > newest)
				newest = (long long)st.st_mtime;
		if (newest >= 0) {
			rc = fn(ids[i], path, newest, arg);
			n++;
		}
		free(path);
		path = NULL;
	}
	free(ids);
	free(tdir);
	return rc == -1 ? -1 : n;
}

sqlite3 *
registry_sqlite(const struct registry *reg)
{
	return reg->db;
}

int
registry_master(const struct registry *reg)
{
	return reg->master;
}

const char *
registry_state_dir(const struct registry *reg)
{
	return reg->state_dir;
}

struct each_purge {
	int	(*fn)(const struct purge_item *, void *);
	void	*arg;
};

static int
each_purge_row(sqlite3_stmt *st, void *arg)
{
	struct each_purge *e = arg;
	struct purge_item it;
	const char	*id = (const char *)sqlite3_column_text(st, 0);

	if (id == NULL || strlen(id) != TENANT_ID_LEN)
		return -1;
	memcpy(it.id, id, TENANT_ID_LEN + 1);
	it.installed_at = sqlite3_column_int64(st, 1);
	it.uninstalled_at = sqlite3_column_int64(st, 2);
	it.purge_started_at = sqlite3_column_int64(st, 3);
	return e->fn(&it, e->arg);
}

int
registry_purge_due(struct registry *reg, long long cutoff,
    int (*fn)(const struct purge_item *, void *), void *arg)
{
	struct each_purge e = { fn, arg };
	sqlite3_stmt	*st;

	if ((st = stmt_prepare(reg, STMT_PURGE_DUE)) == NULL)
		return -1;
	if (sqlite3_bind_int64(st, 1, cutoff) != SQLITE_OK) {
		db_stmt_done(st);
		return -1;
	}
	return each_row(st, each_purge_row, &e);
}

/* Runs statement s on id (and a, b when given) in the transaction. */
static int
run_id(struct registry *reg, enum stmt s, const char *id, int nargs,
    long long a, long long b)
{
	sqlite3_stmt	*st;
	int		 rc = -1;

	if ((st = stmt_prepare(reg, s)) == NULL)
		return -1;
	if (db_bind_text(st, 1, id) == 0 &&
	    (nargs < 1 || sqlite3_bind_int64(st, 2, a) == SQLITE_OK) &&
	    (nargs < 2 || sqlite3_bind_int64(st, 3, b) == SQLITE_OK) &&
	    sqlite3_step(st) == SQLITE_DONE)
		rc = sqlite3_changes(reg->db);
	db_stmt_done(st);
	return rc;
}

struct purge_tx {
	struct registry	*reg;
	const char	*id;
	long long	 cutoff, now;
	int		 keys;		/* out: wrapped keys destroyed */
	int		 begun;		/* out: this call began the purge */
};

static enum err
purge_begin_tx(sqlite3 *db, void *arg)
{
	struct purge_tx	*p = arg;
	char		 detail[64];
	int		 n, inst;

	(void)db;
	p->keys = p->begun = 0;
	if ((n = run_id(p->reg, STMT_PURGE_DETACH, p->id, 2, p->now,
	    p->cutoff)) == -1)
		return ERR_INTERNAL;
	if (n == 0)
		return ERR_OK;		/* begun before, or reinstalled */
	if ((p->keys = run_id(p->reg, STMT_PURGE_KEYS, p->id, 0, 0, 0)) == -1)
		return ERR_INTERNAL;
	/* Its installations: a later FIT of one makes a new tenant. */
	if ((inst = run_id(p->reg, STMT_PURGE_INSTALLATIONS, p->id, 0, 0,
	    0)) == -1)
		return ERR_INTERNAL;
	snprintf(detail, sizeof(detail), "keys_destroyed=%d installations=%d",
	    p->keys, inst);
	if (audit(p->reg, p->now, "purge_started", p->id, detail) == -1)
		return ERR_INTERNAL;
	p->begun = 1;
	return ERR_OK;
}

enum err
registry_purge_begin(struct registry *reg, const char *id, long long cutoff,
    long long now, int *keys_destroyed)
{
	struct purge_tx	 p = { reg, id, cutoff, now, 0, 0 };
	struct purge_item it;
	enum err	 e;

	if ((e = reg_tx(reg, purge_begin_tx, &p)) != ERR_OK)
		return e;
	*keys_destroyed = p.keys;
	if (p.begun)
		return ERR_OK;
	/* Not begun now: fine if it had been, not if it is no longer due. */
	return registry_purge_state(reg, id, &it) == 1 &&
	    it.purge_started_at != 0 ? ERR_OK : ERR_NOT_FOUND;
}

int
registry_purge_state(struct registry *reg, const char *id,
    struct purge_item *out)
{
	sqlite3_stmt	*st;
	int		 rc = -1, step;

	if ((st = stmt_prepare(reg, STMT_PURGE_STATE)) == NULL)
		return -1;
	if (db_bind_text(st, 1, id) == 0) {
		if ((step = sqlite3_step(st)) == SQLITE_ROW) {
			memcpy(out->id, id, TENANT_ID_LEN);
			out->id[TENANT_ID_LEN] = '\0';
			out->installed_at = sqlite3_column_int64(st, 1);
			out->uninstalled_at = sqlite3_column_int64(st, 2);
			out->purge_started_at = sqlite3_column_int64(st, 3);
			rc = 1;
		} else if (step == SQLITE_DONE)
			rc = 0;
	}
	db_stmt_done(st);
	return rc;
}

struct purge_end_tx {
	struct registry	*reg;
	const char	*id;
	long long	 now;
	const char	*detail;
};

static enum err
purge_end_tx(sqlite3 *db, void *arg)
{
	struct purge_end_tx *p = arg;
	int		 n;

	(void)db;
	if ((n = run_id(p->reg, STMT_PURGE_DELETE, p->id, 0, 0, 0)) == -1)
		return ERR_INTERNAL;
	if (n == 1 && audit(p->reg, p->now, "purged", p->id, p->detail) == -1)
		return ERR_INTERNAL;
	return ERR_OK;
}

enum err
registry_purge_end(struct registry *reg, const char *id, long long now,
    const char *detail)
{
	struct purge_end_tx p = { reg, id, now, detail };

	return reg_tx(reg, purge_end_tx, &p);
}

int
registry_job_last(struct registry *reg, const char *name, long long *ok_at)
{
	sqlite3_stmt	*st;
	int		 rc = -1, step;

	*ok_at = 0;
	if ((st = stmt_prepare(reg, STMT_JOB_GET)) == NULL)
		return -1;
	if (db_bind_text(st, 1, name) == 0) {
		if ((step = sqlite3_step(st)) == SQLITE_ROW) {
			*ok_at = sqlite3_column_int64(st, 0);
			rc = 0;
		} else if (step == SQLITE_DONE)
			rc = 0;
	}
	db_stmt_done(st);
	return rc;
}

struct job_tx {
	struct registry	*reg;
	const char	*name;
	long long	 now;
	int		 ok;
	const char	*detail;
};

static enum err
job_tx(sqlite3 *db, void *arg)
{
	struct job_tx	*j = arg;
	sqlite3_stmt	*st;
	enum err	 e = ERR_INTERNAL;

	(void)db;
	if (run_id(j->reg, STMT_JOB_NEW, j->name, 0, 0, 0) == -1 ||
	    (st = stmt_prepare(j->reg, STMT_JOB_SET)) == NULL)
		return ERR_INTERNAL;
	if (db_bind_text(st, 1, j->name) == 0 &&
	    sqlite3_bind_int64(st, 2, j->now) == SQLITE_OK &&
	    sqlite3_bind_int(st, 3, j->ok) == SQLITE_OK &&
	    db_bind_text(st, 4, j->detail) == 0 &&
	    sqlite3_step(st) == SQLITE_DONE)
		e = ERR_OK;
	db_stmt_done(st);
	return e;
}

enum err
registry_job_done(struct registry *reg, const char *name, long long now,
    int ok, const char *detail)
{
	struct job_tx	 j = { reg, name, now, ok ? 1 : 0, detail };

	return reg_tx(reg, job_tx, &j);
}

struct run_tx {
	struct registry		*reg;
	const struct backup_run	*run;
	const char *const	*ids;
	size_t			 nids;
};

static enum err
run_tx(sqlite3 *db, void *arg)
{
	struct run_tx	*r = arg;
	sqlite3_stmt	*st;
	size_t		 i;
	int		 ok = 0;

	(void)db;
	if ((st = stmt_prepare(r->reg, STMT_RUN_INSERT)) == NULL)
		return ERR_INTERNAL;
	if (db_bind_text(st, 1, r->run->run) == 0 &&
	    sqlite3_bind_int64(st, 2, r->run->started_at) == SQLITE_OK &&
	    sqlite3_bind_int64(st, 3, r->run->verified_at) == SQLITE_OK &&
	    sqlite3_bind_int64(st, 4, r->run->tenants) == SQLITE_OK &&
	    sqlite3_bind_int64(st, 5, r->run->bytes) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_DONE)
		ok = 1;
	db_stmt_done(st);
	if (!ok || (st = stmt_prepare(r->reg, STMT_RUN_TENANT)) == NULL)
		return ERR_INTERNAL;
	for (i = 0; ok && i < r->nids; i++) {
		ok = db_bind_text(st, 1, r->ids[i]) == 0 &&
		    db_bind_text(st, 2, r->run->run) == 0 &&
		    sqlite3_bind_int64(st, 3, r->run->started_at) ==
		    SQLITE_OK && sqlite3_bind_int64(st, 4, clock_now()) ==
		    SQLITE_OK && sqlite3_step(st) == SQLITE_DONE;
		sqlite3_reset(st);
	}
	db_stmt_done(st);
	return ok ? ERR_OK : ERR_INTERNAL;
}

enum err
registry_backup_record(struct registry *reg, const struct backup_run *run,
    const char *const *ids, size_t nids)
{
	struct run_tx	 r = { reg, run, ids, nids };

	return reg_tx(reg, run_tx, &r);
}

struct offsite_tx {
	struct registry	*reg;
	const char	*run;
	long long	 now;
	int		 status;
};

static enum err
offsite_tx(sqlite3 *db, void *arg)
{
	struct offsite_tx *o = arg;

	(void)db;
	return run_id(o->reg, STMT_RUN_OFFSITE, o->run, 2, o->now,
	    o->status) == -1 ? ERR_INTERNAL : ERR_OK;
}

enum err
registry_backup_offsite(struct registry *reg, const char *run,
    long long now, int status)
{
	struct offsite_tx o = { reg, run, now, status };

	return reg_tx(reg, offsite_tx, &o);
}

static enum err
forget_tx(sqlite3 *db, void *arg)
{
	struct offsite_tx *o = arg;

	(void)db;
	return run_id(o->reg, STMT_RUN_FORGET, o->run, 0, 0, 0) == -1 ?
	    ERR_INTERNAL : ERR_OK;
}

enum err
registry_backup_forget(struct registry *reg, const char *run)
{
	struct offsite_tx o = { reg, run, 0, 0 };

	return reg_tx(reg, forget_tx, &o);
}

struct each_run {
	int	(*fn)(const struct backup_run *, void *);
	void	*arg;
};

static int
each_run_row(sqlite3_stmt *st, void *arg)
{
	struct each_run	*e = arg;
	struct backup_run r;
	const char	*run = (const char *)sqlite3_column_text(st, 0);

	memset(&r, 0, sizeof(r));
	if (run == NULL || strlen(run) >= sizeof(r.run))
		return -1;
	memcpy(r.run, run, strlen(run) + 1);
	r.started_at = sqlite3_column_int64(st, 1);
	r.verified_at = sqlite3_column_int64(st, 2);
	r.tenants = sqlite3_column_int64(st, 3);
	r.bytes = sqlite3_column_int64(st, 4);
	r.offsite_at = sqlite3_column_int64(st, 5);
	r.offsite_status = sqlite3_column_type(st, 6) == SQLITE_NULL ? -1 :
	    sqlite3_column_int(st, 6);
	return e->fn(&r, e->arg);
}

int
registry_backup_runs(struct registry *reg,
    int (*fn)(const struct backup_run *, void *), void *arg)
{
	struct each_run	 e = { fn, arg };
	sqlite3_stmt	*st;

	if ((st = stmt_prepare(reg, STMT_RUN_LIST)) == NULL)
		return -1;
	return each_row(st, each_run_row, &e);
}

int
registry_backup_known(struct registry *reg, const char *run)
{
	sqlite3_stmt	*st;
	int		 rc = -1, step;

	if ((st = stmt_prepare(reg, STMT_RUN_KNOWN)) == NULL)
		return -1;
	if (db_bind_text(st, 1, run) == 0) {
		step = sqlite3_step(st);
		rc = step == SQLITE_ROW ? 1 : step == SQLITE_DONE ? 0 : -1;
	}
	db_stmt_done(st);
	return rc;
}

struct audit_tx {
	struct registry	*reg;
	long long	 now;
	const char	*event, *id, *detail;
};

static enum err
audit_tx(sqlite3 *db, void *arg)
{
	struct audit_tx	*a = arg;

	(void)db;
	return audit(a->reg, a->now, a->event, a->id, a->detail) == -1 ?
	    ERR_INTERNAL : ERR_OK;
}

enum err
registry_audit_add(struct registry *reg, long long now, const char *event,
    const char *id, const char *detail)
{
	struct audit_tx	 a = { reg, now, event, id, detail };

	return reg_tx(reg, audit_tx, &a);
}

int
registry_dek_pending(struct registry *reg, const char *id,
    unsigned char *dek, int *version)
{
	sqlite3_stmt	*st;
	long long	 created;
	int		 rc = -1, master;

	if ((st = stmt_prepare(reg, STMT_KEY_PENDING)) == NULL)
		return -1;
	if (db_bind_text(st, 1, id) == 0)
		rc = dek_row(reg, st, id, dek, version, &master, &created);
	db_stmt_done(st);
	return rc;
}

int
registry_key_version(struct registry *reg, const char *id)
{
	sqlite3_stmt	*st;
	int		 v = -1;

	if ((st = stmt_prepare(reg, STMT_KEY_CURRENT_VERSION)) == NULL)
		return -1;
	if (db_bind_text(st, 1, id) == 0 && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	db_stmt_done(st);
	return v;
}

struct pending_tx {
	struct registry	*reg;
	const char	*id;
	long long	 now;
	unsigned char	*dek;
	int		 version;
};

static enum err
pending_tx(sqlite3 *db, void *arg)
{
	struct pending_tx *p = arg;
	unsigned char	 wrapped[KEYS_SEALED_LEN(KEY_BYTES)];
	sqlite3_stmt	*st;
	char		 aad[KEYS_AAD_MAX];
	int		 master, rc, max = 0;

	(void)db;
	/* A rotation cut short: its pending key is used again. */
	if ((rc = registry_dek_pending(p->reg, p->id, p->dek,
	    &p->version)) != 1)
		return rc == 0 ? ERR_OK : ERR_INTERNAL;
	if ((st = stmt_prepare(p->reg, STMT_KEY_MAXVER)) == NULL)
		return ERR_INTERNAL;
	if (db_bind_text(st, 1, p->id) == 0 && sqlite3_step(st) == SQLITE_ROW)
		max = sqlite3_column_int(st, 0);
	db_stmt_done(st);
	if (max < 1)
		return ERR_NOT_FOUND;
	p->version = max + 1;
	master = keys_current(p->reg->kr);
	randombytes_buf(p->dek, KEY_BYTES);
	keys_aad_dek(aad, sizeof(aad), p->id, p->version, master);
	if (keys_seal(p->reg->kr, master, aad, p->dek, KEY_BYTES,
	    wrapped) == -1 ||
	    (st = stmt_prepare(p->reg, STMT_KEY_INSERT_PENDING)) == NULL)
		return ERR_INTERNAL;
	rc = db_bind_text(st, 1, p->id) == 0 &&
	    sqlite3_bind_int(st, 2, p->version) == SQLITE_OK &&
	    sqlite3_bind_int(st, 3, master) == SQLITE_OK &&
	    sqlite3_bind_blob(st, 4, wrapped, (int)sizeof(wrapped),
	    SQLITE_STATIC) == SQLITE_OK &&
	    sqlite3_bind_int64(st, 5, p->now) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_DONE;
	db_stmt_done(st);
	return rc ? ERR_OK : ERR_INTERNAL;
}

enum err
registry_rotate_begin(struct registry *reg, const char *id, long long now,
    unsigned char *dek, int *version)
{
	struct pending_tx p = { reg, id, now, dek, 0 };
	enum err	 e;

	if ((e = reg_tx(reg, pending_tx, &p)) == ERR_OK)
		*version = p.version;
	return e;
}

struct promote_tx {
	struct registry	*reg;
	const char	*id;
	int		 version;
	long long	 now;
	int		 from;
};

static enum err
promote_tx(sqlite3 *db, void *arg)
{
	struct promote_tx *p = arg;
	char		 detail[64];

	(void)db;
	if ((p->from = registry_key_version(p->reg, p->id)) == -1 ||
	    run_id(p->reg, STMT_KEY_RETIRE, p->id, 1, p->now, 0) != 1)
		return ERR_INTERNAL;
	if (run_id(p->reg, STMT_KEY_PROMOTE, p->id, 2, p->version, p->now) !=
	    1)
		return ERR_NOT_FOUND;
	snprintf(detail, sizeof(detail), "data_key=%d->%d", p->from,
	    p->version);
	return audit(p->reg, p->now, "rekeyed", p->id, detail) == -1 ?
	    ERR_INTERNAL : ERR_OK;
}

enum err
registry_rotate_promote(struct registry *reg, const char *id, int version,
    long long now)
{
	struct promote_tx p = { reg, id, version, now, 0 };

	return reg_tx(reg, promote_tx, &p);
}

struct each_retired {
	int	(*fn)(const char *, int, long long, void *);
	void	*arg;
};

static int
each_retired_row(sqlite3_stmt *st, void *arg)
{
	struct each_retired *e = arg;
	const char	*id = (const char *)sqlite3_column_text(st, 0);

	if (id == NULL)
		return -1;
	return e->fn(id, sqlite3_column_int(st, 1),
	    sqlite3_column_int64(st, 2), e->arg);
}

int
registry_retired_keys(struct registry *reg,
    int (*fn)(const char *id, int version, long long retired_at, void *),
    void *arg)
{
	struct each_retired e = { fn, arg };
	sqlite3_stmt	*st;

	if ((st = stmt_prepare(reg, STMT_KEY_RETIRED_LIST)) == NULL)
		return -1;
	return each_row(st, each_retired_row, &e);
}

struct destroy_tx {
	struct registry	*reg;
	const char	*id;
	int		 version;
	long long	 now;
};

static enum err
destroy_tx(sqlite3 *db, void *arg)
{
	struct destroy_tx *d = arg;
	char		 detail[32];
	int		 n;

	(void)db;
	if ((n = run_id(d->reg, STMT_KEY_DESTROY, d->id, 1, d->version,
	    0)) == -1)
		return ERR_INTERNAL;
	snprintf(detail, sizeof(detail), "data_key=%d", d->version);
	return n == 1 && audit(d->reg, d->now, "key_destroyed", d->id,
	    detail) == -1 ? ERR_INTERNAL : ERR_OK;
}

enum err
registry_dek_destroy(struct registry *reg, const char *id, int version,
    long long now)
{
	struct destroy_tx d = { reg, id, version, now };

	return reg_tx(reg, destroy_tx, &d);
}

/* Re-wraps one batch of keys and secrets under master to; *left: more. */
struct rewrap_tx {
	struct registry	*reg;
	int		 to;
	int		 done;		/* rows re-wrapped by this batch */
};

static enum err
rewrap_keys(struct rewrap_tx *w)
{
	unsigned char	*dek, out[KEYS_SEALED_LEN(KEY_BYTES)];
	sqlite3_stmt	*ls = NULL, *up = NULL;
	const char	*id;
	const void	*blob;
	char		 aad[KEYS_AAD_MAX], tid[TENANT_ID_LEN + 1];
	int		 v, from, step;
	enum err	 e = ERR_INTERNAL;

	if ((dek = sodium_malloc(KEY_BYTES)) == NULL)
		return ERR_INTERNAL;
	if ((ls = stmt_prepare(w->reg, STMT_KEY_REWRAP_LIST)) == NULL ||
	    sqlite3_bind_int(ls, 1, w->to) != SQLITE_OK)
		goto out;
	while ((step = sqlite3_step(ls)) == SQLITE_ROW) {
		id = (const char *)sqlite3_column_text(ls, 0);
		v = sqlite3_column_int(ls, 1);
		from = sqlite3_column_int(ls, 2);
		blob = sqlite3_column_blob(ls, 3);
		if (id == NULL || strlen(id) != TENANT_ID_LEN || blob == NULL ||
		    sqlite3_column_bytes(ls, 3) != (int)sizeof(out))
			goto out;
		memcpy(tid, id, sizeof(tid));
		keys_aad_dek(aad, sizeof(aad), tid, v, from);
		if (keys_open(w->reg->kr, from, aad, blob, sizeof(out),
		    dek) == -1)
			goto out;
		keys_aad_dek(aad, sizeof(aad), tid, v, w->to);
		if (keys_seal(w->reg->kr, w->to, aad, dek, KEY_BYTES, out) ==
		    -1 || (up = stmt_prepare(w->reg, STMT_KEY_REWRAP)) == NULL)
			goto out;
		if (db_bind_text(up, 1, tid) != 0 ||
		    sqlite3_bind_int(up, 2, v) != SQLITE_OK ||
		    sqlite3_bind_int(up, 3, w->to) != SQLITE_OK ||
		    sqlite3_bind_blob(up, 4, out, (int)sizeof(out),
		    SQLITE_STATIC) != SQLITE_OK ||
		    sqlite3_bind_int(up, 5, from) != SQLITE_OK ||
		    sqlite3_step(up) != SQLITE_DONE)
			goto out;
		db_stmt_done(up);
		up = NULL;
		w->done++;
	}
	if (step == SQLITE_DONE)
		e = ERR_OK;
out:
	db_stmt_done(up);
	db_stmt_done(ls);
	sodium_free(dek);
	return e;
}

static enum err
rewrap_secrets(struct rewrap_tx *w)
{
	sqlite3_stmt	*ls = NULL, *up = NULL;
	unsigned char	*plain = NULL, *out = NULL;
	const char	*id;
	const void	*blob;
	char		 aad[KEYS_AAD_MAX], tid[TENANT_ID_LEN + 1];
	size_t		 len, n;
	int		 from, step;
	enum err	 e = ERR_INTERNAL;

	if ((plain = sodium_malloc(SECRET_MAX + 1)) == NULL ||
	    (out = malloc(KEYS_SEALED_LEN(SECRET_MAX))) == NULL)
		goto out;
	if ((ls = stmt_prepare(w->reg, STMT_SECRET_REWRAP_LIST)) == NULL ||
	    sqlite3_bind_int(ls, 1, w->to) != SQLITE_OK)
		goto out;
	while ((step = sqlite3_step(ls)) == SQLITE_ROW) {
		id = (const char *)sqlite3_column_text(ls, 0);
		from = sqlite3_column_int(ls, 1);
		blob = sqlite3_column_blob(ls, 2);
		len = (size_t)sqlite3_column_bytes(ls, 2);
		if (id == NULL || strlen(id) != TENANT_ID_LEN || blob == NULL ||
		    len <= KEYS_SEALED_LEN(0) ||
		    (n = len - KEYS_SEALED_LEN(0)) > SECRET_MAX)
			goto out;
		memcpy(tid, id, sizeof(tid));
		keys_aad_secret(aad, sizeof(aad), tid, from);
		if (keys_open(w->reg->kr, from, aad, blob, len, plain) == -1)
			goto out;
		keys_aad_secret(aad, sizeof(aad), tid, w->to);
		if (keys_seal(w->reg->kr, w->to, aad, plain, n, out) == -1 ||
		    (up = stmt_prepare(w->reg, STMT_SECRET_REWRAP)) == NULL)
			goto out;
		if (db_bind_text(up, 1, tid) != 0 ||
		    sqlite3_bind_int(up, 2, w->to) != SQLITE_OK ||
		    sqlite3_bind_blob(up, 3, out, (int)len, SQLITE_STATIC) !=
		    SQLITE_OK || sqlite3_bind_int(up, 4, from) != SQLITE_OK ||
		    sqlite3_step(up) != SQLITE_DONE)
			goto out;
		db_stmt_done(up);
		up = NULL;
		w->done++;
	}
	if (step == SQLITE_DONE)
		e = ERR_OK;
out:
	db_stmt_done(up);
	db_stmt_done(ls);
	if (plain != NULL)
		sodium_free(plain);
	free(out);
	return e;
}

static enum err
rewrap_tx(sqlite3 *db, void *arg)
{
	struct rewrap_tx *w = arg;
	enum err	 e;

	(void)db;
	w->done = 0;
	if ((e = rewrap_keys(w)) != ERR_OK)
		return e;
	return rewrap_secrets(w);
}

int
registry_rewrap(struct registry *reg, int to)
{
	struct rewrap_tx w = { reg, to, 0 };
	int		 total = 0;

	/* Batches of at most 256 + 256 rows, each one transaction. */
	do {
		if (reg_tx(reg, rewrap_tx, &w) != ERR_OK)
			return -1;
		total += w.done;
	} while (w.done > 0);
	return total;
}

struct each_master {
	int	(*fn)(int, long long, long long, void *);
	void	*arg;
};

static int
each_master_row(sqlite3_stmt *st, void *arg)
{
	struct each_master *e = arg;

	return e->fn(sqlite3_column_int(st, 0), sqlite3_column_int64(st, 1),
	    sqlite3_column_int64(st, 2), e->arg);
}

int
registry_masters(struct registry *reg,
    int (*fn)(int version, long long created_at, long long destroyed_at,
    void *), void *arg)
{
	struct each_master e = { fn, arg };
	sqlite3_stmt	*st;

	if ((st = stmt_prepare(reg, STMT_MASTER_LIST)) == NULL)
		return -1;
	return each_row(st, each_master_row, &e);
}

struct master_tx {
	struct registry	*reg;
	int		 version;
	long long	 at;
	enum stmt	 s;
	const char	*event;
};

static enum err
master_tx(sqlite3 *db, void *arg)
{
	struct master_tx *m = arg;
	sqlite3_stmt	*st;
	char		 detail[32];
	int		 ok, n;

	if ((st = stmt_prepare(m->reg, m->s)) == NULL)
		return ERR_INTERNAL;
	ok = sqlite3_bind_int(st, 1, m->version) == SQLITE_OK &&
	    sqlite3_bind_int64(st, 2, m->at) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_DONE;
	db_stmt_done(st);
	n = sqlite3_changes(db);
	if (!ok)
		return ERR_INTERNAL;
	snprintf(detail, sizeof(detail), "master=%d", m->version);
	return n == 1 && m->event != NULL && audit(m->reg, m->at, m->event,
	    NULL, detail) == -1 ? ERR_INTERNAL : ERR_OK;
}

enum err
registry_master_add(struct registry *reg, int version, long long created_at,
    int audited)
{
	struct master_tx m = { reg, version, created_at, STMT_MASTER_ADD,
	    audited ? "master_key_added" : NULL };

	return reg_tx(reg, master_tx, &m);
}

enum err
registry_master_destroyed(struct registry *reg, int version, long long now)
{
	struct master_tx m = { reg, version, now, STMT_MASTER_DESTROYED,
	    "master_key_destroyed" };

	return reg_tx(reg, master_tx, &m);
}

long long
registry_master_uses(struct registry *reg, int version)
{
	sqlite3_stmt	*st;
	long long	 n = -1;

	if ((st = stmt_prepare(reg, STMT_MASTER_USES)) == NULL)
		return -1;
	if (sqlite3_bind_int(st, 1, version) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	db_stmt_done(st);
	return n;
}

int
registry_rekey(struct registry *reg, int to, char *err, size_t errsz)
{
	unsigned char	*key;
	char		*path = NULL;
	int		 rc = -1, from = reg->master;

	err[0] = '\0';
	if ((key = sodium_malloc(KEY_BYTES)) == NULL ||
	    (path = util_path_join(reg->state_dir, "registry.db")) == NULL ||
	    keys_derive(reg->kr, to, KDF_REGISTRY, key) == -1 ||
	    keys_derive(reg->kr, from, KDF_REGISTRY, key) == -1) {
		snprintf(err, errsz, "master key %d or %d is not loaded", from,
		    to);
		goto out;
	}
	/* A connection of its own: no statement of ours holds the file. */
	registry_disconnect(reg);
	if (db_open(path, key, 0, db_registry_migrations,
	    db_registry_nmigrations, &reg->db) != DB_OK) {
		snprintf(err, errsz, "the registry does not open under master "
		    "key %d", from);
		goto reconnect;
	}
	if (keys_derive(reg->kr, to, KDF_REGISTRY, key) == -1 ||
	    db_rekey(reg->db, key) == -1)
		snprintf(err, errsz, "PRAGMA rekey failed");
	/* Believed only once it opens under the new key alone. */
	registry_disconnect(reg);
	if (db_open(path, key, 0, db_registry_migrations,
	    db_registry_nmigrations, &reg->db) == DB_OK &&
	    db_key_works(reg->db)) {
		reg->master = to;
		rc = 0;
		goto out;
	}
	if (err[0] == '\0')
		snprintf(err, errsz, "the registry does not open under master "
		    "key %d after PRAGMA rekey", to);
reconnect:
	registry_disconnect(reg);
	if (registry_connect(reg, path, key, 0) != DB_OK)
		snprintf(err, errsz, "the registry opens under no master key");
out:
	if (key != NULL)
		sodium_free(key);
	free(path);
	return rc;
}

struct each_dirty {
	int	(*fn)(const char *, void *);
	void	*arg;
};

static int
each_dirty_row(sqlite3_stmt *st, void *arg)
{
	struct each_dirty *e = arg;
	const char	*run = (const char *)sqlite3_column_text(st, 0);

	return run == NULL ? -1 : e->fn(run, e->arg);
}

int
registry_backup_dirty(struct registry *reg,
    int (*fn)(const char *run, void *), void *arg)
{
	struct each_dirty e = { fn, arg };
	sqlite3_stmt	*st;

	if ((st = stmt_prepare(reg, STMT_RUN_DIRTY)) == NULL)
		return -1;
	return each_row(st, each_dirty_row, &e);
}
