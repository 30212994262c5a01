/*
 * GET /api/tenant: what cellar stores about the calling tenant, the way
 * a vendor's "what data is stored" page would show it.  Never the
 * shared secret, never a key.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "json.h"
#include "auth.h"
#include "db.h"
#include "log.h"
#include "util.h"

/*
 * Kinds of record in a tenant file, counted when their table exists (the
 * schema grows with later migrations).  Table names are our constants.
 */
static const struct {
	const char	*kind;
	const char	*table;
	const char	*count_sql;
} kinds[] = {
	/* Others' personal templates are no one's business: not counted. */
	{ "templates", "templates", "SELECT count(*) FROM templates WHERE "
	    "scope <> 'personal' OR owner = ?1" },
	{ "panoramas", "panoramas", "SELECT count(*) FROM panoramas" },
	{ "panoramaNodes", "panorama_nodes",
	    "SELECT count(*) FROM panorama_nodes" },
};

static cJSON *
iso_time(long long t)
{
	char	 buf[21];

	if (t <= 0)
		return cJSON_CreateNull();
	util_iso8601(buf, t);
	return cJSON_CreateString(buf);
}

static int
count(sqlite3 *db, const char *sql, const char *caller, long long *n)
{
	sqlite3_stmt	*st;
	int		 rc = -1;

	if ((st = registry_tenant_stmt(db, sql)) == NULL)
		return -1;
	if (sqlite3_bind_parameter_count(st) > 0) {
		if (caller != NULL)
			sqlite3_bind_text(st, 1, caller, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(st, 1);
	}
	if (sqlite3_step(st) == SQLITE_ROW) {
		*n = sqlite3_column_int64(st, 0);
		rc = 0;
	}
	registry_stmt_done(st);
	return rc;
}

static int
records(sqlite3 *db, const char *caller, cJSON *out)
{
	long long	 n;
	size_t		 i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		/* Answered from the connection's schema, without a query. */
		if (sqlite3_table_column_metadata(db, "main", kinds[i].table,
		    NULL, NULL, NULL, NULL, NULL, NULL) != SQLITE_OK)
			continue;
		if (count(db, kinds[i].count_sql, caller, &n) == -1 ||
		    json_add_int(out, kinds[i].kind, n) == NULL)
			return -1;
	}
	return 0;
}

enum err
route_tenant(struct req *r, struct reply *rep)
{
	const struct tenant *t = &r->tenant;
	const struct conf *cfg = r->app->cfg;
	sqlite3		*db = NULL;
	cJSON		*o = NULL, *x;
	long long	 now = auth_now(), created = t->dek_created;
	int		 dekv = t->dek_version;
	enum err	 e;

	if ((e = registry_tenant_db(r->app->reg, t, &db)) != ERR_OK)
		return e;
	e = ERR_INTERNAL;
	if ((o = cJSON_CreateObject()) == NULL)
		goto out;
	if ((x = cJSON_AddObjectToObject(o, "tenant")) == NULL)
		goto out;
	cJSON_AddStringToObject(x, "id", t->id);
	cJSON_AddStringToObject(x, "state", t->state == TENANT_INSTALLED ?
	    "installed" : "departed");
	cJSON_AddBoolToObject(x, "enabled", t->enabled);
	cJSON_AddItemToObject(x, "installedAt", iso_time(t->installed_at));
	cJSON_AddItemToObject(x, "updatedAt", iso_time(t->updated_at));
	if ((x = cJSON_AddObjectToObject(o, "records")) == NULL ||
	    records(db, r->claims.sub, x) == -1)
		goto out;
	if ((x = cJSON_AddObjectToObject(o, "keys")) == NULL)
		goto out;
	cJSON_AddBoolToObject(x, "fileEncrypted", 1);
	json_add_int(x, "dataKeyVersion", dekv);
	cJSON_AddItemToObject(x, "dataKeyCreatedAt", iso_time(created));
	json_add_int(x, "dataKeyAgeDays", (now - created) / 86400);
	json_add_int(x, "rotationDays",
	    conf_int(cfg, C_TENANTS_ROTATION_DAYS));
	cJSON_AddBoolToObject(x, "sharedSecretSealed", 1);
	if ((x = cJSON_AddObjectToObject(o, "retention")) == NULL)
		goto out;
	json_add_int(x, "afterUninstallDays",
	    conf_int(cfg, C_TENANTS_GRACE_DAYS));
	json_add_int(x, "backupDays", conf_int(cfg, C_TENANTS_BACKUP_DAYS));
	json_add_int(x, "accessLogDays", 7);
	if ((x = cJSON_AddObjectToObject(o, "deletion")) == NULL)
		goto out;
	cJSON_AddItemToObject(x, "scheduledAt", iso_time(t->delete_after));
	if (reply_json(rep, 200, o) == -1)
		goto out;
	e = ERR_OK;
out:
	cJSON_Delete(o);
	return e;
}
