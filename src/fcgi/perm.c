/*
 * Jira's answers about users, cached per worker.  A cache entry is keyed
 * by tenant, account and question, and lives [jira] cache_seconds by the
 * monotonic clock: long enough to keep Jira out of the picker's hot
 * path, short enough that a revoked permission stops counting soon, and
 * never stretched by a step of the wall clock.  Questions about many
 * projects go to Jira in batches.  Nothing here is stored on disk.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cellar/buf.h"
#include "cellar/clock.h"
#include "cellar/jira.h"
#include "cellar/json.h"
#include "cellar/log.h"
#include "cellar/util.h"
#include "fcgi.h"
#include "perm.h"

/*
 * Cached answers: an open-addressing table of PERM_CACHE slots; a key
 * lives in one of PERM_PROBE slots from its hash, replacing an empty,
 * expired or else the oldest one.  4,096 answers hold a big export's
 * projects for a few users at once.
 */
#define PERM_CACHE	4096
#define PERM_PROBE	8
#define PERM_KEY_MAX	(32 + 2 * PERM_ID_MAX + 16)

static struct perm_entry {
	char		 key[PERM_KEY_MAX];
	char		*value;		/* "1"/"0", or joined group ids */
	long long	 until;		/* clock_mono seconds */
	unsigned long	 stamp;		/* insertion order */
} cache[PERM_CACHE];
static unsigned long cache_stamp;

/*
 * After Jira failed to answer for a tenant, questions for it fail at
 * once for [jira] down_seconds instead of each waiting for a timeout.
 */
static struct perm_down {
	char		 tenant[TENANT_ID_LEN + 1];
	long long	 until;		/* clock_mono seconds */
} down[16];
static unsigned int down_next;

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

int
perm_jira_known_down(const struct req *r)
{
	long long	 now = clock_mono();
	size_t		 i;

	for (i = 0; i < sizeof(down) / sizeof(down[0]); i++)
		if (down[i].until > now &&
		    strcmp(down[i].tenant, r->tenant->id) == 0)
			return 1;
	return 0;
}

static void
mark_down(const struct req *r)
{
	struct perm_down *d = &down[down_next++ % (sizeof(down) /
	    sizeof(down[0]))];

	memcpy(d->tenant, r->tenant->id, sizeof(d->tenant));
	d->until = clock_mono() + conf_int(r->app->cfg, C_JIRA_DOWN_SECONDS);
}

/* jira_call, failing fast while the tenant's Jira is known down. */
static enum err
ask(struct req *r, enum http_method m, const char *path, const char *body,
    struct jira_reply *jr)
{
	enum err	 e;

	if (perm_jira_known_down(r)) {
		memset(jr, 0, sizeof(*jr));
		/* Every 503 says why, not only the call that failed. */
		log_msg(LOGL_WARN, r->rid, "reason=jira_down_recently "
		    "tenant=%s", r->tenant->id);
		return ERR_UNAVAILABLE;
	}
	e = jira_call(r->app->cfg, r->app->reg, r->tenant, m, path, body,
	    r->rid, jr);
	if (e == ERR_UNAVAILABLE || (e == ERR_OK && jr->status >= 500))
		mark_down(r);
	return e;
}

/*
 * The cache key of a question into key: "tenant|account|what[|project]".
 * -1 if it does not fit (it always does for checked ids).
 */
static int
perm_key(char *key, const struct req *r, const char *what,
    const char *project)
{
	int	 n;

	n = snprintf(key, PERM_KEY_MAX, "%s|%s|%s%s%s", r->tenant->id,
	    r->account, what, project != NULL ? "|" : "",
	    project != NULL ? project : "");
	return n < 0 || n >= PERM_KEY_MAX ? -1 : 0;
}

static size_t
key_hash(const char *key)
{
	uint64_t	 h = 1469598103934665603ULL;

	for (; *key != '\0'; key++)
		h = (h ^ (unsigned char)*key) * 1099511628211ULL;
	return (size_t)(h % PERM_CACHE);
}

static const char *
cache_get(const char *key)
{
	long long	 now = clock_mono();
	size_t		 i, slot = key_hash(key);
	struct perm_entry *e;

	for (i = 0; i < PERM_PROBE; i++) {
		e = &cache[(slot + i) % PERM_CACHE];
		if (e->value != NULL && e->until > now &&
		    strcmp(e->key, key) == 0)
			return e->value;
	}
	return NULL;
}

static void
cache_put(const struct req *r, const char *key, const char *value)
{
	long long	 now = clock_mono();
	size_t		 i, slot = key_hash(key);
	struct perm_entry *e, *pick = NULL;
	char		*v;

	for (i = 0; i < PERM_PROBE; i++) {
		e = &cache[(slot + i) % PERM_CACHE];
		if (e->value == NULL || e->until <= now ||
		    strcmp(e->key, key) == 0) {
			pick = e;
			break;
		}
		if (pick == NULL || e->stamp < pick->stamp)
			pick = e;
	}
	if ((v = strdup(value)) == NULL)
		return;
	free(pick->value);
	snprintf(pick->key, sizeof(pick->key), "%s", key);
	pick->value = v;
	pick->until = now + conf_int(r->app->cfg, C_JIRA_CACHE_SECONDS);
	pick->stamp = ++cache_stamp;
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

/* POST /rest/api/3/permissions/check with body q; the parsed answer. */
static enum err
check_ask(struct req *r, const cJSON *q, cJSON **ans)
{
	struct jira_reply jr;
	char		*body;
	enum err	 e;

	*ans = NULL;
	if ((body = cJSON_PrintUnformatted(q)) == NULL)
		return ERR_INTERNAL;
	e = ask(r, METHOD_POST, "/rest/api/3/permissions/check", body, &jr);
	free(body);
	if (e != ERR_OK)
		return e;
	if (jr.status != 200 || json_parse(jr.body, jr.len, ans) != JSON_OK) {
		log_msg(LOGL_WARN, r->rid, "reason=jira_permission_check "
		    "status=%ld", jr.status);
		e = ERR_UNAVAILABLE;
	}
	jira_reply_free(&jr);
	return e;
}

/* Is the caller a Jira admin (the global ADMINISTER permission)? */
static enum err
check_admin(struct req *r, int *yes)
{
	cJSON		*q, *a, *ans = NULL, *it;
	enum err	 e = ERR_INTERNAL;

	*yes = 0;
	if ((q = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(q, "accountId", r->account) == NULL ||
	    (a = cJSON_AddArrayToObject(q, "globalPermissions")) == NULL ||
	    !cJSON_AddItemToArray(a, cJSON_CreateString("ADMINISTER")))
		goto out;
	if ((e = check_ask(r, q, &ans)) != ERR_OK)
		goto out;
	a = cJSON_GetObjectItemCaseSensitive(ans, "globalPermissions");
	cJSON_ArrayForEach(it, a)
		if (cJSON_IsString(it) &&
		    strcmp(it->valuestring, "ADMINISTER") == 0)
			*yes = 1;
out:
	cJSON_Delete(q);
	cJSON_Delete(ans);
	return e;
}

/*
 * Asks Jira whether the caller holds perm in projects[0..n) (canonical
 * ids, at most PERM_BATCH), one question for all; each[i] says whether
 * projects[i] came back granted.  Ids are compared as integers.
 */
static enum err
check_projects(struct req *r, const char *perm, const char *const *projects,
    size_t n, int *each)
{
	cJSON		*q, *a, *pp, *ans = NULL, *it, *ids, *p;
	const char	*got;
	long long	 want;
	size_t		 i;
	enum err	 e = ERR_INTERNAL;

	memset(each, 0, n * sizeof(*each));
	if ((q = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(q, "accountId", r->account) == NULL ||
	    (a = cJSON_AddArrayToObject(q, "projectPermissions")) == NULL ||
	    (pp = cJSON_CreateObject()) == NULL)
		goto out;
	cJSON_AddItemToArray(a, pp);
	if ((a = cJSON_AddArrayToObject(pp, "permissions")) == NULL ||
	    !cJSON_AddItemToArray(a, cJSON_CreateString(perm)) ||
	    (a = cJSON_AddArrayToObject(pp, "projects")) == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		if (util_strtonum(projects[i], 1, JSON_INT_MAX, &want) == -1 ||
		    !cJSON_AddItemToArray(a, cJSON_CreateNumber((double)want)))
			goto out;
	}
	if ((e = check_ask(r, q, &ans)) != ERR_OK)
		goto out;
	a = cJSON_GetObjectItemCaseSensitive(ans, "projectPermissions");
	cJSON_ArrayForEach(it, a) {
		if (json_get_str(it, "permission", 1, 64, &got) != JSON_OK ||
		    strcmp(got, perm) != 0)
			continue;
		ids = cJSON_GetObjectItemCaseSensitive(it, "projects");
		cJSON_ArrayForEach(p, ids) {
			if (!cJSON_IsNumber(p) || p->valuedouble < 1 ||
			    p->valuedouble > (double)JSON_INT_MAX)
				continue;
			for (i = 0; i < n; i++)
				if (util_strtonum(projects[i], 1, JSON_INT_MAX,
				    &want) == 0 &&
				    (double)want == p->valuedouble)
					each[i] = 1;
		}
	}
out:
	cJSON_Delete(q);
	cJSON_Delete(ans);
	return e;
}

enum err
perm_jira_admin(struct req *r, int *yes)
{
	char		 key[PERM_KEY_MAX];
	const char	*v;
	enum err	 e;

	*yes = 0;
	/* Asked once per row of a list: answered once per request. */
	if (r->admin_known) {
		*yes = r->admin;
		return ERR_OK;
	}
	if (r->account == NULL || perm_key(key, r, "admin", NULL) == -1)
		return ERR_FORBIDDEN;
	if ((v = cache_get(key)) != NULL)
		*yes = v[0] == '1';
	else if ((e = check_admin(r, yes)) != ERR_OK)
		return e;
	else
		cache_put(r, key, *yes ? "1" : "0");
	r->admin_known = 1;
	r->admin = *yes;
	return ERR_OK;
}

/*
 * Asks Jira, PERM_BATCH at a time, about perm in those of
 * projects[0..n) whose answer is not cached, caching every answer.
 * *all (when given) is 0 if any project, cached or asked, is refused.
 */
static enum err
projects_ask(struct req *r, enum perm_project perm,
    const char *const *projects, size_t n, int *all)
{
	char		 key[PERM_KEY_MAX];
	const char	*ask_ids[PERM_BATCH], *v;
	int		 each[PERM_BATCH];
	size_t		 i, k, nask = 0;
	enum err	 e;

	if (all != NULL)
		*all = 1;
	if (r->account == NULL)
		return ERR_FORBIDDEN;
	for (i = 0; i <= n; i++) {
		/* Flush a full batch, or the last one. */
		if (nask == PERM_BATCH || (i == n && nask > 0)) {
			if ((e = check_projects(r, project_perm[perm],
			    ask_ids, nask, each)) != ERR_OK)
				return e;
			for (k = 0; k < nask; k++) {
				if (!each[k] && all != NULL)
					*all = 0;
				if (perm_key(key, r, project_perm[perm],
				    ask_ids[k]) == 0)
					cache_put(r, key, each[k] ? "1" : "0");
			}
			nask = 0;
		}
		if (i == n)
			break;
		if (perm_key(key, r, project_perm[perm], projects[i]) == -1)
			return ERR_FORBIDDEN;
		if ((v = cache_get(key)) != NULL) {
			if (v[0] != '1' && all != NULL)
				*all = 0;
			continue;
		}
		/* Each id once per batch. */
		for (k = 0; k < nask && strcmp(ask_ids[k], projects[i]) != 0;
		    k++)
			continue;
		if (k == nask)
			ask_ids[nask++] = projects[i];
	}
	return ERR_OK;
}

enum err
perm_prefetch(struct req *r, enum perm_project perm,
    const char *const *projects, size_t n)
{
	return projects_ask(r, perm, projects, n, NULL);
}

enum err
perm_projects(struct req *r, enum perm_project perm,
    const char *const *projects, size_t n, int *yes)
{
	enum err	 e;
	int		 all;

	*yes = 0;
	if ((e = projects_ask(r, perm, projects, n, &all)) == ERR_OK)
		*yes = all;
	return e;
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
	if (r->account == NULL || perm_key(key, r, "groups", NULL) == -1)
		return ERR_FORBIDDEN;
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
	cJSON_Delete(ans);
	if ((*joined = buf_finish(&b, NULL)) == NULL)
		return ERR_INTERNAL;
	cache_put(r, key, *joined);
	return ERR_OK;
}
