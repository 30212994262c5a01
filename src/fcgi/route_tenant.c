/*
 * GET /api/tenant: what cellar stores about the calling tenant, the way
 * a vendor's "what data is stored" page would show it, and only facts
 * the service can show (its key version and age, the deletion it has
 * scheduled): evidence of jobs that do not run yet is null, never a
 * promise read from the configuration.  Never the shared secret, never
 * a key.
 */
#include <stdio.h>
#include <string.h>

#include "cellar/clock.h"
#include "cellar/json.h"
#include "cellar/pano.h"
#include "cellar/tenantdb.h"
#include "cellar/tpl.h"
#include "cellar/util.h"
#include "api.h"
#include "fcgi.h"

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
 * know it: the stores count (others' personal templates are not; every
 * panorama of the site is, as a number only).
 */
static enum err
records(struct tenantdb *tdb, const char *account, cJSON *out)
{
	long long	 n, np;
	enum err	 e;

	if ((e = tpl_count_visible(tdb, account, &n)) != ERR_OK ||
	    (e = pano_count(tdb, &np)) != ERR_OK)
		return e;
	return json_add_int(out, "templates", n) == NULL ||
	    json_add_int(out, "panoramas", np) == NULL ? ERR_INTERNAL :
	    ERR_OK;
}

enum err
route_tenant(struct req *r, struct reply *rep)
{
	const struct tenant *t = r->tenant;
	struct tenantdb	*tdb;
	cJSON		*o = NULL, *x;
	long long	 now = clock_now(), created = t->dek_created;
	int		 dekv = t->dek_version, enc;
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
	if ((x = cJSON_AddObjectToObject(o, "records")) == NULL)
		goto out;
	/* A damaged file's error (quarantine) or a busy one's passes on. */
	if ((e = records(tdb, r->account, x)) != ERR_OK)
		goto out;
	e = ERR_INTERNAL;
	if ((x = cJSON_AddObjectToObject(o, "keys")) == NULL)
		goto out;
	/* Read from the file's first bytes, not assumed. */
	if ((enc = tenantdb_encrypted(tdb)) == -1)
		goto out;
	cJSON_AddBoolToObject(x, "fileEncrypted", enc);
	json_add_int(x, "dataKeyVersion", dekv);
	cJSON_AddItemToObject(x, "dataKeyCreatedAt", iso_time(created));
	json_add_int(x, "dataKeyAgeDays", (now - created) / CLOCK_DAY);
	/* Facts only: a key of version 2 or more came from a rotation. */
	cJSON_AddItemToObject(x, "lastRotatedAt", iso_time(dekv > 1 ?
	    created : 0));
	if ((x = cJSON_AddObjectToObject(o, "backups")) == NULL)
		goto out;
	/* The reaper records a run only once every copy in it verified. */
	cJSON_AddItemToObject(x, "lastBackupAt", iso_time(t->backup_at));
	cJSON_AddItemToObject(x, "lastVerifiedAt", iso_time(t->backup_at));
	if (t->backup_run[0] != '\0')
		cJSON_AddStringToObject(x, "lastRun", t->backup_run);
	else
		cJSON_AddNullToObject(x, "lastRun");
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
