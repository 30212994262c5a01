/*
 * Request helpers for the /api routes; see api.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cellar/clock.h"
#include "cellar/fit.h"
#include "cellar/json.h"
#include "cellar/log.h"
#include "cellar/token.h"
#include "cellar/util.h"
#include "api.h"
#include "fcgi.h"
#include "perm.h"
#include "pool.h"

long long
api_today(void)
{
	return clock_day(clock_now());
}

void
api_today_ymd(char out[11])
{
	char	 iso[21];

	util_iso8601(iso, clock_now());
	memcpy(out, iso, 10);
	out[10] = '\0';
}

int
api_project_id_ok(const char *s)
{
	size_t	 n = strspn(s, "0123456789");

	return n > 0 && n <= 18 && s[n] == '\0' && s[0] != '0';
}

const char *
api_context_project(const struct req *r, char *buf, size_t bufsz)
{
	const cJSON	*j, *p, *id;

	/* Forge: the extension's project, checked by fit_read. */
	if (r->fit != NULL) {
		if (r->fit->project_id[0] == '\0' ||
		    !api_project_id_ok(r->fit->project_id))
			return NULL;
		snprintf(buf, bufsz, "%s", r->fit->project_id);
		return buf;
	}
	if (r->claims == NULL || r->claims->context == NULL ||
	    (j = cJSON_GetObjectItemCaseSensitive(r->claims->context,
	    "jira")) == NULL ||
	    (p = cJSON_GetObjectItemCaseSensitive(j, "project")) == NULL ||
	    (id = cJSON_GetObjectItemCaseSensitive(p, "id")) == NULL)
		return NULL;
	if (cJSON_IsString(id) && api_project_id_ok(id->valuestring))
		snprintf(buf, bufsz, "%s", id->valuestring);
	else if (cJSON_IsNumber(id) && id->valuedouble >= 0 &&
	    id->valuedouble < 1e15 && id->valuedouble ==
	    (double)(long long)id->valuedouble)
		snprintf(buf, bufsz, "%lld", (long long)id->valuedouble);
	else
		return NULL;
	return buf;
}

int
api_project_param_bad(const struct req *r)
{
	char	*pid = NULL;
	int	 rc, bad;

	rc = req_query_param(r->query, "projectId", API_PROJECT_ID_BUF, &pid);
	bad = rc == -1 || (rc == 0 && !api_project_id_ok(pid));
	free(pid);
	return bad;
}

int
api_path_id(const struct req *r, long long *id)
{
	return r->nparams >= 1 && r->params[0][0] != '0' &&
	    util_strtonum(r->params[0], 1, API_PATH_ID_MAX, id) == 0 ? 0 : -1;
}

enum err
api_tenantdb(struct req *r, struct tenantdb **out)
{
	*out = NULL;
	/* A held tenant's file is not opened, not even to read. */
	if (r->tenant->quarantined_at != 0)
		return ERR_QUARANTINED;
	return pool_tenantdb(r->app->reg, r->tenant, r->rid, out);
}

enum err
api_hidden(struct req *r)
{
	int	 admin;

	if (perm_jira_known_down(r)) {
		log_msg(LOGL_WARN, r->rid, "reason=jira_down_recently "
		    "tenant=%s", r->tenant->id);
		return ERR_UNAVAILABLE;
	}
	if (perm_jira_admin(r, &admin) == ERR_UNAVAILABLE)
		return ERR_UNAVAILABLE;
	return ERR_NOT_FOUND;
}

enum err
api_field_error(struct req *r, enum err e, const char *reason,
    const char *field)
{
	if (e != ERR_INTERNAL)
		log_msg(LOGL_WARN, r->rid, "reason=%s field=%s", reason,
		    field != NULL ? field : "-");
	return e;
}

char *
api_cursor_make(const cJSON *array)
{
	char	*json, *out = NULL;
	size_t	 len, cap;

	if ((json = cJSON_PrintUnformatted(array)) == NULL)
		return NULL;
	len = strlen(json);
	cap = sodium_base64_encoded_len(len,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	if ((out = malloc(cap)) != NULL)
		sodium_bin2base64(out, cap, (unsigned char *)json, len,
		    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	free(json);
	return out;
}

cJSON *
api_cursor_parse(const char *s)
{
	unsigned char	*bin;
	size_t		 len = strlen(s), binlen;
	cJSON		*a = NULL;

	if ((bin = malloc(len + 1)) == NULL)
		return NULL;
	if (sodium_base642bin(bin, len, s, len, NULL, &binlen, NULL,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    json_parse((const char *)bin, binlen, &a) != JSON_OK ||
	    !cJSON_IsArray(a)) {
		cJSON_Delete(a);
		a = NULL;
	}
	free(bin);
	return a;
}
