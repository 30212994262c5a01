/*
 * The registry.  All of its SQL is in one table below; every value is
 * bound.  Writers use BEGIN IMMEDIATE (PITFALLS: a deferred read-then-
 * write fails under concurrency even with a busy timeout).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "db.h"
#include "log.h"
#include "registry.h"
#include "util.h"

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
	STMT_AUDIT,
	STMT__MAX
};

static const char *const stmts[STMT__MAX] = {
	[STMT_FIND] = "SELECT t.id, t.client_key, t.base_url, t.state, t.enabled, "
	    "t.installed_at, t.updated_at, t.uninstalled_at, t.delete_after, "
	    "t.secret_master, t.secret_sealed, k.version, k.created_at FROM "
	    "tenants t LEFT JOIN tenant_keys k ON k.tenant_id = t.id AND "
	    "k.state = 'current' "
	    "WHERE t.client_key = ?1",
	[STMT_GET] = "SELECT t.id, t.client_key, t.base_url, t.state, t.enabled, "
	    "t.installed_at, t.updated_at, t.uninstalled_at, t.delete_after, "
	    "t.secret_master, t.secret_sealed, k.version, k.created_at FROM "
	    "tenants t LEFT JOIN tenant_keys k ON k.tenant_id = t.id AND "
	    "k.state = 'current' "
	    "WHERE t.id = ?1",
	[STMT_LIST] = "SELECT t.id, t.client_key, t.base_url, t.state, t.enabled, "
	    "t.installed_at, t.updated_at, t.uninstalled_at, t.delete_after, "
	    "t.secret_master, t.secret_sealed, k.version, k.created_at FROM "
	    "tenants t LEFT JOIN tenant_keys k ON k.tenant_id = t.id AND "
	    "k.state = 'current' "
	    "ORDER BY t.installed_at, t.id",
	[STMT_INSERT_TENANT] = "INSERT INTO tenants (id, client_key, "
	    "base_url, display_url, product_type, server_version, "
	    "plugins_version, sen, oauth_client_id, secret_sealed, "
	    "secret_master, state, enabled, installed_at, updated_at) VALUES "
	    "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 'installed', 0, "
	    "?12, ?12)",
	[STMT_REINSTALL] = "UPDATE tenants SET base_url = ?2, display_url = "
	    "?3, product_type = ?4, server_version = ?5, plugins_version = ?6, "
	    "sen = ?7, oauth_client_id = ?8, secret_sealed = ?9, "
	    "secret_master = ?10, state = 'installed', updated_at = ?11, "
	    "uninstalled_at = NULL, delete_after = NULL WHERE id = ?1",
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
	[STMT_AUDIT] = "INSERT INTO audit (at, event, tenant_id, detail) "
	    "VALUES (?1, ?2, ?3, ?4)",
};

_Static_assert(STMT__MAX <= REGISTRY_NSTMT, "REGISTRY_NSTMT too small");

/*
 * Statements are prepared once per connection and reused: preparing
 * (parsing) cost more than running them on the request path.  Give each
 * back with stmt_done.
 */
static sqlite3_stmt *
stmt_prepare(struct registry *reg, enum stmt s)
{
	if (reg->stmt[s] == NULL && sqlite3_prepare_v2(reg->db, stmts[s], -1,
	    &reg->stmt[s], NULL) != SQLITE_OK) {
		reg->stmt[s] = NULL;
		return NULL;
	}
	return reg->stmt[s];
}

static void
stmt_done(sqlite3_stmt *st)
{
	if (st != NULL) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	}
}

static int
bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v == NULL)
		return sqlite3_bind_null(st, i) == SQLITE_OK ? 0 : -1;
	return sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC) == SQLITE_OK ?
	    0 : -1;
}

static char *
col_strdup(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return strdup(t != NULL ? (const char *)t : "");
}

struct registry *
registry_open(const char *state_dir, const struct keyring *kr, int create,
    char *err, size_t errsz)
{
	struct registry	*reg;
	unsigned char	*key = NULL;
	char		*path = NULL, *tdir = NULL;
	int		 vers[KEYS_MAX_VERSIONS], exists;
	size_t		 n, i;
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
	n = keys_versions(kr, vers, KEYS_MAX_VERSIONS);
	for (i = 0; i < n; i++) {
		if (keys_derive(kr, vers[i], KDF_REGISTRY, key) == -1)
			continue;
		st = db_open(path, key, !exists, db_registry_migrations,
		    db_registry_nmigrations, &reg->db);
		if (st != DB_WRONG_KEY || !exists)
			break;
	}
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
	size_t	 i;

	if (reg == NULL)
		return;
	registry_cache_clear();
	for (i = 0; i < REGISTRY_NSTMT; i++)
		sqlite3_finalize(reg->stmt[i]);
	if (reg->scratch != NULL)
		sodium_free(reg->scratch);
	db_close(reg->db);
	free(reg->state_dir);
	free(reg);
}

char *
registry_tenant_path(const struct registry *reg, const char *id)
{
	char	 name[TENANT_ID_LEN + 16];

	snprintf(name, sizeof(name), "tenants/%s.db", id);
	return util_path_join(reg->state_dir, name);
}

void
tenant_free(struct tenant *t)
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
	blob = sqlite3_column_blob(st, 10);
	t->secret_sealed_len = (size_t)sqlite3_column_bytes(st, 10);
	if (blob == NULL || t->secret_sealed_len < KEYS_SEALED_LEN(1) ||
	    (t->secret_sealed = malloc(t->secret_sealed_len)) == NULL ||
	    (t->client_key = col_strdup(st, 1)) == NULL ||
	    (t->base_url = col_strdup(st, 2)) == NULL) {
		tenant_free(t);
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
	if (bind_text(st, 1, key) == 0) {
		if ((rc = sqlite3_step(st)) == SQLITE_DONE)
			e = ERR_NOT_FOUND;
		else if (rc == SQLITE_ROW)
			e = tenant_row(st, t);
	}
	stmt_done(st);
	return e;
}

enum err
registry_find(struct registry *reg, const char *client_key, struct tenant *t)
{
	return tenant_lookup(reg, STMT_FIND, client_key, t);
}

enum err
registry_get(struct registry *reg, const char *id, struct tenant *t)
{
	return tenant_lookup(reg, STMT_GET, id, t);
}

int
registry_each(struct registry *reg, int (*fn)(const struct tenant *, void *),
    void *arg)
{
	sqlite3_stmt	*st;
	struct tenant	 t;
	int		 rc, n = 0;

	if ((st = stmt_prepare(reg, STMT_LIST)) == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (tenant_row(st, &t) != ERR_OK) {
			n = -1;
			break;
		}
		rc = fn(&t, arg);
		tenant_free(&t);
		if (rc == -1) {
			n = -1;
			break;
		}
		n++;
	}
	if (n >= 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
		n = -1;
	stmt_done(st);
	return n;
}

const char *
registry_secret(struct registry *reg, const struct tenant *t, size_t *len)
{
	char	 aad[128];
	size_t	 n;

	if (t->secret_sealed_len <= KEYS_SEALED_LEN(0))
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

int
registry_dek(struct registry *reg, const char *id, unsigned char *dek,
    int *version, int *master, long long *created_at)
{
	sqlite3_stmt	*st;
	const void	*blob;
	size_t		 len;
	char		 aad[128];
	int		 rc = -1;

	if ((st = stmt_prepare(reg, STMT_CURRENT_KEY)) == NULL)
		return -1;
	if (bind_text(st, 1, id) == -1 || sqlite3_step(st) != SQLITE_ROW)
		goto out;
	*version = sqlite3_column_int(st, 0);
	*master = sqlite3_column_int(st, 1);
	blob = sqlite3_column_blob(st, 2);
	len = (size_t)sqlite3_column_bytes(st, 2);
	*created_at = sqlite3_column_int64(st, 3);
	if (blob == NULL || len != KEYS_SEALED_LEN(KEY_BYTES))
		goto out;
	keys_aad_dek(aad, sizeof(aad), id, *version, *master);
	if (keys_open(reg->kr, *master, aad, blob, len, dek) == -1)
		goto out;
	rc = 0;
out:
	stmt_done(st);
	return rc;
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
	    bind_text(st, 2, event) == 0 && bind_text(st, 3, id) == 0 &&
	    bind_text(st, 4, detail) == 0 && sqlite3_step(st) == SQLITE_DONE)
		rc = 0;
	stmt_done(st);
	return rc;
}

void
registry_remove_files(const char *path)
{
	static const char *const sfx[] = { "", "-wal", "-shm", "-journal" };
	char	 p[4096];
	size_t	 i;

	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		if ((size_t)snprintf(p, sizeof(p), "%s%s", path, sfx[i]) >=
		    sizeof(p))
			continue;
		if (unlink(p) == -1 && errno != ENOENT)
			log_msg(LOG_WARN, NULL, "reason=unlink_failed");
	}
}

/* Seals in->shared_secret for tenant id under the current master. */
static unsigned char *
seal_secret(struct registry *reg, const char *id, const char *secret,
    size_t *outlen, int *master)
{
	unsigned char	*out;
	size_t		 n = strlen(secret);
	char		 aad[128];

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
	char		*path = NULL, aad[128];
	int		 rc = -1, made = 0;

	*master = keys_current(reg->kr);
	if ((dek = sodium_malloc(KEY_BYTES)) == NULL ||
	    (path = registry_tenant_path(reg, id)) == NULL)
		goto out;
	randombytes_buf(dek, KEY_BYTES);
	keys_aad_dek(aad, sizeof(aad), id, 1, *master);
	if (keys_seal(reg->kr, *master, aad, dek, KEY_BYTES, wrapped) == -1)
		goto out;
	/* A leftover file of this random id cannot be ours: refuse. */
	if (access(path, F_OK) == 0)
		goto out;
	made = 1;
	if (db_open(path, dek, 1, db_tenant_migrations,
	    db_tenant_nmigrations, &db) != DB_OK)
		goto out;
	if (sqlite3_prepare_v2(db, "INSERT INTO meta (key, value) VALUES "
	    "('tenant_id', ?1), ('created_at', ?2)", -1, &st, NULL) !=
	    SQLITE_OK || bind_text(st, 1, id) == -1 ||
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
	return bind_text(st, first, in->display_url) | bind_text(st,
	    first + 1, in->product_type) | bind_text(st, first + 2,
	    in->server_version) | bind_text(st, first + 3,
	    in->plugins_version) | bind_text(st, first + 4, in->sen) |
	    bind_text(st, first + 5, in->oauth_client_id);
}

enum err
registry_install(struct registry *reg, const struct install *in,
    long long now, struct tenant *out, int *created)
{
	sqlite3_stmt	*st = NULL;
	struct tenant	 old;
	unsigned char	*sealed = NULL, wrapped[KEYS_SEALED_LEN(KEY_BYTES)];
	unsigned char	 rnd[TENANT_ID_LEN / 2];
	char		 id[TENANT_ID_LEN + 1], *path = NULL;
	size_t		 sealed_len;
	int		 smaster, kmaster, file_made = 0;
	enum err	 e = ERR_INTERNAL, fe;

	*created = 0;
	memset(&old, 0, sizeof(old));
	if (db_begin(reg->db) == -1)
		return ERR_UNAVAILABLE;
	fe = registry_find(reg, in->client_key, &old);
	if (fe == ERR_INTERNAL)
		goto out;
	if (fe == ERR_OK)
		memcpy(id, old.id, sizeof(id));
	else {
		randombytes_buf(rnd, sizeof(rnd));
		util_hex(id, rnd, sizeof(rnd));
	}
	if ((sealed = seal_secret(reg, id, in->shared_secret, &sealed_len,
	    &smaster)) == NULL)
		goto out;
	if (fe == ERR_OK) {
		if ((st = stmt_prepare(reg, STMT_REINSTALL)) == NULL ||
		    bind_text(st, 1, id) == -1 ||
		    bind_text(st, 2, in->base_url) == -1 ||
		    bind_install(st, 3, in) != 0 ||
		    sqlite3_bind_blob(st, 9, sealed, (int)sealed_len,
		    SQLITE_STATIC) != SQLITE_OK ||
		    sqlite3_bind_int(st, 10, smaster) != SQLITE_OK ||
		    sqlite3_bind_int64(st, 11, now) != SQLITE_OK ||
		    sqlite3_step(st) != SQLITE_DONE)
			goto out;
		if (audit(reg, now, old.state == TENANT_DEPARTED ?
		    "reinstall_cancelled_deletion" : "reinstall", id, NULL) ==
		    -1)
			goto out;
	} else {
		if (tenant_file_create(reg, id, now, wrapped, &kmaster) == -1)
			goto out;
		file_made = 1;
		if ((st = stmt_prepare(reg, STMT_INSERT_TENANT)) == NULL ||
		    bind_text(st, 1, id) == -1 ||
		    bind_text(st, 2, in->client_key) == -1 ||
		    bind_text(st, 3, in->base_url) == -1 ||
		    bind_install(st, 4, in) != 0 ||
		    sqlite3_bind_blob(st, 10, sealed, (int)sealed_len,
		    SQLITE_STATIC) != SQLITE_OK ||
		    sqlite3_bind_int(st, 11, smaster) != SQLITE_OK ||
		    sqlite3_bind_int64(st, 12, now) != SQLITE_OK ||
		    sqlite3_step(st) != SQLITE_DONE)
			goto out;
		stmt_done(st);
		if ((st = stmt_prepare(reg, STMT_INSERT_KEY)) == NULL ||
		    bind_text(st, 1, id) == -1 ||
		    sqlite3_bind_int(st, 2, 1) != SQLITE_OK ||
		    sqlite3_bind_int(st, 3, kmaster) != SQLITE_OK ||
		    sqlite3_bind_blob(st, 4, wrapped, (int)sizeof(wrapped),
		    SQLITE_STATIC) != SQLITE_OK ||
		    sqlite3_bind_int64(st, 5, now) != SQLITE_OK ||
		    sqlite3_step(st) != SQLITE_DONE)
			goto out;
		if (audit(reg, now, "install", id, NULL) == -1)
			goto out;
		*created = 1;
	}
	if (db_commit(reg->db) == -1)
		goto out;
	e = registry_find(reg, in->client_key, out);
	file_made = 0;
out:
	stmt_done(st);
	if (e != ERR_OK) {
		db_rollback(reg->db);
		*created = 0;
		if (file_made && (path = registry_tenant_path(reg, id)) != NULL)
			registry_remove_files(path);
	}
	free(path);
	free(sealed);
	tenant_free(&old);
	return e;
}

static enum err
registry_update(struct registry *reg, enum stmt s, const char *id,
    long long a, long long b, const char *event)
{
	sqlite3_stmt	*st = NULL;
	enum err	 e = ERR_INTERNAL;

	if (db_begin(reg->db) == -1)
		return ERR_UNAVAILABLE;
	if ((st = stmt_prepare(reg, s)) == NULL || bind_text(st, 1, id) ||
	    sqlite3_bind_int64(st, 2, a) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 3, b) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_DONE)
		goto out;
	if (sqlite3_changes(reg->db) != 1) {
		e = ERR_NOT_FOUND;
		goto out;
	}
	if (event != NULL && audit(reg, s == STMT_UNINSTALL ? a : b, event,
	    id, NULL) == -1)
		goto out;
	if (db_commit(reg->db) == -1)
		goto out;
	e = ERR_OK;
out:
	stmt_done(st);
	if (e != ERR_OK)
		db_rollback(reg->db);
	return e;
}

enum err
registry_uninstall(struct registry *reg, const char *id, long long now,
    long long grace_days)
{
	return registry_update(reg, STMT_UNINSTALL, id, now,
	    now + grace_days * 86400, "uninstall");
}

enum err
registry_set_enabled(struct registry *reg, const char *id, int enabled,
    long long now)
{
	return registry_update(reg, STMT_SET_ENABLED, id, enabled ? 1 : 0,
	    now, enabled ? "enabled" : "disabled");
}

/*
 * Opening a SQLCipher file costs about a millisecond (key setup) and
 * closing one half of that (WAL checkpoint), far more than a request's
 * own work, so each worker keeps a few tenant connections open.  An entry
 * is only reused for the same tenant and the same data key version: a
 * rotation (new DEK) or a departure (checked by the caller before it
 * asks) never sees a stale handle.
 */
#define TENANT_CACHE	8
#define TENANT_STMTS	32

static struct tenant_conn {
	char		 id[TENANT_ID_LEN + 1];
	int		 dek_version;
	long long	 dek_created;
	sqlite3		*db;
	unsigned long	 used;
	struct {
		const char	*sql;	/* the caller's constant, by address */
		sqlite3_stmt	*st;
	} stmts[TENANT_STMTS];
} cache[TENANT_CACHE];
static unsigned long cache_clock;

static void
conn_close(struct tenant_conn *c)
{
	size_t	 i;

	for (i = 0; i < TENANT_STMTS; i++)
		sqlite3_finalize(c->stmts[i].st);
	db_close(c->db);
	memset(c, 0, sizeof(*c));
}

sqlite3_stmt *
registry_tenant_stmt(sqlite3 *db, const char *sql)
{
	struct tenant_conn *c = NULL;
	sqlite3_stmt	*st;
	size_t		 i;

	for (i = 0; i < TENANT_CACHE && c == NULL; i++)
		if (cache[i].db == db)
			c = &cache[i];
	if (c == NULL)
		return NULL;
	for (i = 0; i < TENANT_STMTS && c->stmts[i].sql != NULL; i++)
		if (c->stmts[i].sql == sql)
			return c->stmts[i].st;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return NULL;
	if (i == TENANT_STMTS) {
		/* Full: replace one that no caller is stepping. */
		for (i = 0; i < TENANT_STMTS; i++)
			if (!sqlite3_stmt_busy(c->stmts[i].st))
				break;
		if (i == TENANT_STMTS) {
			sqlite3_finalize(st);
			return NULL;
		}
		sqlite3_finalize(c->stmts[i].st);
	}
	c->stmts[i].sql = sql;
	c->stmts[i].st = st;
	return st;
}

void
registry_stmt_done(sqlite3_stmt *st)
{
	if (st != NULL) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	}
}

static struct tenant_conn *
cache_find(const char *id, int version)
{
	size_t	 i;

	for (i = 0; i < TENANT_CACHE; i++)
		if (cache[i].db != NULL && cache[i].dek_version == version &&
		    strcmp(cache[i].id, id) == 0)
			return &cache[i];
	return NULL;
}

/* A free slot, or the least recently used one after closing it. */
static struct tenant_conn *
cache_slot(const char *id)
{
	struct tenant_conn *c = &cache[0];
	size_t	 i;

	for (i = 0; i < TENANT_CACHE; i++) {
		/* An older key version of the same tenant goes first. */
		if (cache[i].db != NULL && strcmp(cache[i].id, id) == 0) {
			c = &cache[i];
			break;
		}
		if (cache[i].db == NULL || cache[i].used < c->used)
			c = &cache[i];
	}
	conn_close(c);
	return c;
}

void
registry_cache_clear(void)
{
	size_t	 i;

	for (i = 0; i < TENANT_CACHE; i++)
		conn_close(&cache[i]);
}

enum err
registry_tenant_db(struct registry *reg, const struct tenant *t,
    sqlite3 **out)
{
	const char	*id = t->id;
	int		 dek_ver;
	long long	 dek_created;
	struct tenant_conn *c;
	unsigned char	*dek = NULL;
	sqlite3_stmt	*st = NULL;
	sqlite3		*db = NULL;
	char		*path = NULL;
	const char	*owner;
	enum db_status	 ds;
	enum err	 e = ERR_INTERNAL;
	int		 master;

	*out = NULL;
	if ((c = cache_find(id, t->dek_version)) != NULL) {
		c->used = ++cache_clock;
		*out = c->db;
		return ERR_OK;
	}
	if ((dek = sodium_malloc(KEY_BYTES)) == NULL)
		return ERR_INTERNAL;
	if (registry_dek(reg, id, dek, &dek_ver, &master, &dek_created) ==
	    -1) {
		log_msg(LOG_ERR, NULL, "reason=dek_unwrap_failed tenant=%s",
		    id);
		goto out;
	}
	if ((path = registry_tenant_path(reg, id)) == NULL)
		goto out;
	if ((ds = db_open(path, dek, 0, db_tenant_migrations,
	    db_tenant_nmigrations, &db)) != DB_OK) {
		log_msg(LOG_ERR, NULL, "reason=tenant_open_failed tenant=%s "
		    "status=%s", id, db_status_code(ds));
		goto out;
	}
	/* The file must name its owner: a swapped file is refused. */
	if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = "
	    "'tenant_id'", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW ||
	    (owner = (const char *)sqlite3_column_text(st, 0)) == NULL ||
	    strcmp(owner, id) != 0) {
		log_msg(LOG_ERR, NULL, "reason=tenant_file_owner tenant=%s",
		    id);
		goto out;
	}
	c = cache_slot(id);
	memcpy(c->id, id, TENANT_ID_LEN + 1);
	c->dek_version = dek_ver;
	c->dek_created = dek_created;
	c->db = db;
	c->used = ++cache_clock;
	*out = db;
	db = NULL;
	e = ERR_OK;
out:
	sqlite3_finalize(st);
	db_close(db);
	sodium_free(dek);
	free(path);
	return e;
}
