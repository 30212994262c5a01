/*
 * Jira's answers about users, cached per worker.  A cache entry is keyed
 * by tenant, account and question, and lives [jira] cache_seconds: long
 * enough to keep Jira out of the picker's hot path, short enough that a
 * revoked permission stops counting soon.  Nothing here is stored on disk.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cellar/buf.h"
#include "cellar/clock.h"
#include "cellar/jira.h"
#include "cellar/json.h"
#include "cellar/log.h"
#include "fcgi.h"
#include "perm.h"

#define PERM_CACHE	256
#define PERM_KEY_MAX	(32 + 2 * PERM_ID_MAX + 16)

/*
 * After Jira failed to answer for a tenant, questions for it fail at
 * once for a few seconds instead of each waiting for a timeout.
 */
#define PERM_DOWN_SECONDS	5

static struct perm_down {
	char		 tenant[TENANT_ID_LEN + 1];
	long long	 until;
} down[16];

static int
jira_down(const struct req *r)
{
	size_t	 i;

	for (i = 0; i < sizeof(down) / sizeof(down[0]); i++)
		if (down[i].until > clock_now() &&
		    strcmp(down[i].tenant, r->tenant->id) == 0)
			return 1;
	return 0;
}

static void
mark_down(const struct req *r)
{
	static unsigned int next;
	struct perm_down *d = &down[next++ % (sizeof(down) /
	    sizeof(down[0]))];

	memcpy(d->tenant, r->tenant->id, sizeof(d->tenant));
	d->until = clock_now() + PERM_DOWN_SECONDS;
}

int
perm_jira_known_down(const struct req *r)
{
	return jira_down(r);
}

/* jira_call, failing fast while the tenant's Jira is known down. */
static enum err
ask(struct req *r, enum http_method m, const char *path, const char *body,
    struct jira_reply *jr)
{
	enum err	 e;

	if (jira_down(r)) {
		memset(jr, 0, sizeof(*jr));
		return ERR_UNAVAILABLE;
	}
	e = jira_call(r->app->cfg, r->app->reg, r->tenant, m, path, body,
	    r->rid, jr);
	if (e == ERR_UNAVAILABLE || (e == ERR_OK && jr->status >= 500))
		mark_down(r);
	return e;
}

static struct perm_entry {
	char		 key[PERM_KEY_MAX];
	char		*value;		/* "1"/"0", or joined group ids */
	long long	 until;
} cache[PERM_CACHE];
static unsigned int cache_next;

static const char *const project_perm[PERM_PROJECT__MAX] = {
	[PERM_BROWSE] = "BROWSE_PROJECTS",
	[PERM_ADMIN_PROJECT] = "ADMINISTER_PROJECTS",
};

int
perm_id_ok(const char *s)
{
	size_t	 n = 0;

	for (; *s != '\0'; s++, n++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' ||
		    *s == ':'))
			return 0;
	return n > 0 && n <= PERM_ID_MAX;
}

static const char *
cache_get(const char *key)
{
	size_t	 i;
	long long now = clock_now();

	for (i = 0; i < PERM_CACHE; i++)
		if (cache[i].value != NULL && cache[i].until > now &&
		    strcmp(cache[i].key, key) == 0)
			return cache[i].value;
	return NULL;
}

static void
cache_put(const struct req *r, const char *key, const char *value)
{
	struct perm_entry *e = &cache[cache_next++ % PERM_CACHE];
	char		*v;

	if ((v = strdup(value)) == NULL)
		return;
	free(e->value);
	snprintf(e->key, sizeof(e->key), "%s", key);
	e->value = v;
	e->until = clock_now() +
	    conf_int(r->app->cfg, C_JIRA_CACHE_SECONDS);
}

void
perm_cache_clear(void)
{
	size_t	 i;

	for (i = 0; i < PERM_CACHE; i++) {
		free(cache[i].value);
		memset(&cache[i], 0, sizeof(cache[i]));
	}
	memset(down, 0, sizeof(down));
}

/*
 * POST /rest/api/3/permissions/check for the caller: the global
 * ADMINISTER permission (projects NULL), or perm in each of projects,
 * one question for all of them.  On ERR_OK *yes says whether all were
 * granted and each[i] (when given) whether projects[i] was.
 */
static enum err
check(struct req *r, const char *perm, const char *const *projects,
    size_t n, int *yes, int *each)
{
	struct jira_reply jr;
	cJSON		*q = NULL, *a, *pp, *ans = NULL, *it, *ids;
	char		*body = NULL;
	const char	*got;
	size_t		 i, found;
	enum err	 e = ERR_INTERNAL;

	*yes = 0;
	if ((q = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(q, "accountId", r->account) == NULL)
		goto out;
	if (projects == NULL) {
		if ((a = cJSON_AddArrayToObject(q, "globalPermissions")) ==
		    NULL || !cJSON_AddItemToArray(a,
		    cJSON_CreateString("ADMINISTER")))
			goto out;
	} else {
		if ((a = cJSON_AddArrayToObject(q, "projectPermissions")) ==
		    NULL || (pp = cJSON_CreateObject()) == NULL)
			goto out;
		cJSON_AddItemToArray(a, pp);
		if ((a = cJSON_AddArrayToObject(pp, "permissions")) == NULL ||
		    !cJSON_AddItemToArray(a, cJSON_CreateString(perm)) ||
		    (a = cJSON_AddArrayToObject(pp, "projects")) == NULL)
			goto out;
		for (i = 0; i < n; i++)
			if (cJSON_AddItemToArray(a,
			    cJSON_CreateRaw(projects[i])) == 0)
				goto out;
	}
	if ((body = cJSON_PrintUnformatted(q)) == NULL)
		goto out;
	if ((e = ask(r, METHOD_POST, "/rest/api/3/permissions/check", body,
	    &jr)) != ERR_OK)
		goto out;
	e = ERR_UNAVAILABLE;
	if (jr.status != 200 || json_parse(jr.body, jr.len, &ans) !=
	    JSON_OK) {
		log_msg(LOGL_WARN, r->rid, "reason=jira_permission_check "
		    "status=%ld", jr.status);
		jira_reply_free(&jr);
		goto out;
	}
	jira_reply_free(&jr);
	if (projects == NULL) {
		a = cJSON_GetObjectItemCaseSensitive(ans, "globalPermissions");
		cJSON_ArrayForEach(it, a)
			if (cJSON_IsString(it) &&
			    strcmp(it->valuestring, "ADMINISTER") == 0)
				*yes = 1;
		e = ERR_OK;
		goto out;
	}
	/* Every asked project must come back under the permission. */
	found = 0;
	a = cJSON_GetObjectItemCaseSensitive(ans, "projectPermissions");
	cJSON_ArrayForEach(it, a) {
		if (json_get_str(it, "permission", 1, 64, &got) != JSON_OK ||
		    strcmp(got, perm) != 0)
			continue;
		ids = cJSON_GetObjectItemCaseSensitive(it, "projects");
		for (i = 0; i < n; i++) {
			cJSON	*p;

			cJSON_ArrayForEach(p, ids)
				if (cJSON_IsNumber(p) && p->valuedouble ==
				    strtod(projects[i], NULL)) {
					if (each != NULL && !each[i])
						each[i] = 1;
					found++;
					break;
				}
		}
	}
	*yes = found >= n;
	if (each != NULL) {
		*yes = 1;
		for (i = 0; i < n; i++)
			*yes &= each[i];
	}
	e = ERR_OK;
out:
	cJSON_Delete(q);
	cJSON_Delete(ans);
	free(body);
	return e;
}

enum err
perm_jira_admin(struct req *r, int *yes)
{
	char		 key[PERM_KEY_MAX];
	const char	*v;
	enum err	 e;

	*yes = 0;
	if (r->account == NULL)
		return ERR_FORBIDDEN;
	snprintf(key, sizeof(key), "%s|%s|admin", r->tenant->id, r->account);
	if ((v = cache_get(key)) != NULL) {
		*yes = v[0] == '1';
		return ERR_OK;
	}
	if ((e = check(r, NULL, NULL, 0, yes, NULL)) != ERR_OK)
		return e;
	cache_put(r, key, *yes ? "1" : "0");
	return ERR_OK;
}

enum err
perm_projects(struct req *r, enum perm_project perm,
    const char *const *projects, size_t n, int *yes)
{
	char		 key[PERM_KEY_MAX];
	const char	*v, *ask[PERM_PROJECTS_MAX];
	int		 each[PERM_PROJECTS_MAX], all;
	size_t		 i, nask = 0;
	enum err	 e;

	*yes = 0;
	if (r->account == NULL)
		return ERR_FORBIDDEN;
	if (n > PERM_PROJECTS_MAX)
		return ERR_FORBIDDEN;
	/* Cached answers first; one question to Jira for all the rest. */
	for (i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "%s|%s|%s|%s", r->tenant->id,
		    r->account, project_perm[perm], projects[i]);
		if ((v = cache_get(key)) == NULL)
			ask[nask++] = projects[i];
		else if (v[0] != '1')
			return ERR_OK;
	}
	if (nask > 0) {
		memset(each, 0, sizeof(each));
		if ((e = check(r, project_perm[perm], ask, nask, &all,
		    each)) != ERR_OK)
			return e;
		for (i = 0; i < nask; i++) {
			snprintf(key, sizeof(key), "%s|%s|%s|%s", r->tenant->id,
			    r->account, project_perm[perm], ask[i]);
			cache_put(r, key, each[i] ? "1" : "0");
		}
		if (!all)
			return ERR_OK;
	}
	*yes = 1;
	return ERR_OK;
}

enum err
perm_groups(struct req *r, char **joined)
{
	struct jira_reply jr;
	struct buf	 b = BUF_INIT(0);
	cJSON		*ans = NULL, *it;
	char		 key[PERM_KEY_MAX], path[256];
	const char	*v, *gid;
	enum err	 e;

	*joined = NULL;
	if (r->account == NULL)
		return ERR_FORBIDDEN;
	snprintf(key, sizeof(key), "%s|%s|groups", r->tenant->id, r->account);
	if ((v = cache_get(key)) != NULL)
		return (*joined = strdup(v)) != NULL ? ERR_OK : ERR_INTERNAL;
	/* Account ids hold [A-Za-z0-9:_-] only: ':' is fine in a query. */
	snprintf(path, sizeof(path), "/rest/api/3/user/groups?accountId=%s",
	    r->account);
	if ((e = ask(r, METHOD_GET, path, NULL, &jr)) != ERR_OK)
		return e;
	if (jr.status != 200 || json_parse(jr.body, jr.len, &ans) !=
	    JSON_OK || !cJSON_IsArray(ans)) {
		log_msg(LOGL_WARN, r->rid, "reason=jira_groups status=%ld",
		    jr.status);
		jira_reply_free(&jr);
		cJSON_Delete(ans);
		return ERR_UNAVAILABLE;
	}
	jira_reply_free(&jr);
	buf_add(&b, ",", 1);
	cJSON_ArrayForEach(it, ans)
		if (json_get_str(it, "groupId", 1, PERM_ID_MAX, &gid) ==
		    JSON_OK && perm_id_ok(gid))
			buf_addf(&b, "%s,", gid);
	if ((*joined = buf_finish(&b, NULL)) == NULL) {
		cJSON_Delete(ans);
		return ERR_INTERNAL;
	}
	cJSON_Delete(ans);
	cache_put(r, key, *joined);
	return ERR_OK;
}
