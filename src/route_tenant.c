/*
 * GET /api/tenant: what cellar stores about the calling tenant, the way
 * a vendor's "what data is stored" page would show it.  Never the
 * shared secret, never a key.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "auth.h"
#include "db.h"
#include "log.h"

/*
 * Kinds of record in a tenant file, counted when their table exists (the
 * schema grows with later migrations).  Table names are our constants.
 */
static const struct {
	const char	*kind;
	const char	*table;
	const char	*count_sql;
} kinds[] = {
	{ "templates", "templates", "SELECT count(*) FROM templates" },
	{ "panoramas", "panoramas", "SELECT count(*) FROM panoramas" },
	{ "panoramaNodes", "panorama_nodes",
	    "SELECT count(*) FROM panorama_nodes" },
};

static cJSON *
iso_time(long long t)
{
	char		 buf[32];
	struct tm	 tm;
	time_t		 tt = (time_t)t;

	if (t <= 0)
		return cJSON_CreateNull();
	gmtime_r(&tt, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return cJSON_CreateString(buf);
}

static int
count(sqlite3 *db, const char *sql, long long *n)
{
	sqlite3_stmt	*st;
	int		 rc = -1;

	if ((st = registry_tenant_stmt(db, sql)) == NULL)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW) {
		*n = sqlite3_column_int64(st, 0);
		rc = 0;
	}
	registry_stmt_done(st);
	return rc;
}

static int
records(sqlite3 *db, cJSON *out)
{
	sqlite3_stmt	*st;
	const char	*name;
	long long	 n;
	size_t		 i;
	int		 rc = 0;

	static const char tables[] = "SELECT name FROM sqlite_master WHERE "
	    "type = 'table'";

	if ((st = registry_tenant_stmt(db, tables)) == NULL)
		return -1;
	while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
		name = (const char *)sqlite3_column_text(st, 0);
		for (i = 0; name != NULL && i < sizeof(kinds) /
		    sizeof(kinds[0]); i++) {
			if (strcmp(name, kinds[i].table) != 0)
				continue;
			if (count(db, kinds[i].count_sql, &n) == -1 ||
			    cJSON_AddNumberToObject(out, kinds[i].kind,
			    (double)n) == NULL)
				rc = -1;
		}
	}
	registry_stmt_done(st);
	return rc;
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
	    records(db, x) == -1)
		goto out;
	if ((x = cJSON_AddObjectToObject(o, "keys")) == NULL)
		goto out;
	cJSON_AddBoolToObject(x, "fileEncrypted", 1);
	cJSON_AddNumberToObject(x, "dataKeyVersion", dekv);
	cJSON_AddItemToObject(x, "dataKeyCreatedAt", iso_time(created));
	cJSON_AddNumberToObject(x, "dataKeyAgeDays",
	    (double)((now - created) / 86400));
	cJSON_AddNumberToObject(x, "rotationDays",
	    (double)conf_int(cfg, C_TENANTS_ROTATION_DAYS));
	cJSON_AddBoolToObject(x, "sharedSecretSealed", 1);
	if ((x = cJSON_AddObjectToObject(o, "retention")) == NULL)
		goto out;
	cJSON_AddNumberToObject(x, "afterUninstallDays",
	    (double)conf_int(cfg, C_TENANTS_GRACE_DAYS));
	cJSON_AddNumberToObject(x, "backupDays",
	    (double)conf_int(cfg, C_TENANTS_BACKUP_DAYS));
	cJSON_AddNumberToObject(x, "accessLogDays", 7);
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
