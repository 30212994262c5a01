/*
 * GET /api/tenant: what cellar stores about the calling tenant, the way
 * a vendor's "what data is stored" page would show it.  Never the
 * shared secret, never a key.
 */
#include <stdio.h>
#include <string.h>

#include "cellar/clock.h"
#include "cellar/json.h"
#include "cellar/tpl.h"
#include "cellar/util.h"
#include "api.h"
#include "fcgi.h"

/* Access logs are kept this many days (conf/logrotate/cellar-nginx). */
#define ACCESS_LOG_DAYS	7

static cJSON *
iso_time(long long t)
{
	char	 buf[21];

	if (t <= 0)
		return cJSON_CreateNull();
	util_iso8601(buf, t);
	return cJSON_CreateString(buf);
}

/*
 * What the tenant's file holds, by kind of record, as the caller may
 * know it: the stores count (others' personal templates are not).
 */
static int
records(struct tenantdb *tdb, const char *account, cJSON *out)
{
	long long	 n;

	if (tpl_count_visible(tdb, account, &n) != ERR_OK ||
	    json_add_int(out, "templates", n) == NULL)
		return -1;
	return 0;
}

enum err
route_tenant(struct req *r, struct reply *rep)
{
	const struct tenant *t = r->tenant;
	const struct conf *cfg = r->app->cfg;
	struct tenantdb	*tdb;
	cJSON		*o = NULL, *x;
	long long	 now = clock_now(), created = t->dek_created;
	int		 dekv = t->dek_version;
	enum err	 e;

	if ((e = api_tenantdb(r, &tdb)) != ERR_OK)
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
	    records(tdb, r->account, x) == -1)
		goto out;
	if ((x = cJSON_AddObjectToObject(o, "keys")) == NULL)
		goto out;
	cJSON_AddBoolToObject(x, "fileEncrypted", 1);
	json_add_int(x, "dataKeyVersion", dekv);
	cJSON_AddItemToObject(x, "dataKeyCreatedAt", iso_time(created));
	json_add_int(x, "dataKeyAgeDays", (now - created) / CLOCK_DAY);
	json_add_int(x, "rotationDays",
	    conf_int(cfg, C_TENANTS_ROTATION_DAYS));
	cJSON_AddBoolToObject(x, "sharedSecretSealed", 1);
	if ((x = cJSON_AddObjectToObject(o, "retention")) == NULL)
		goto out;
	json_add_int(x, "afterUninstallDays",
	    conf_int(cfg, C_TENANTS_GRACE_DAYS));
	json_add_int(x, "backupDays", conf_int(cfg, C_TENANTS_BACKUP_DAYS));
	json_add_int(x, "accessLogDays", ACCESS_LOG_DAYS);
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
