/*
 * Jira's answers about users, cached per worker.  A cache entry is keyed
 * by tenant, account and question, and lives [jira] cache_seconds by the
 * monotonic clock: long enough to keep Jira out of the picker's hot
 * path, short enough that a revoked permission stops counting soon, and
 * never stretched by a step of the wall clock.  Questions about many
 * projects or issues go to Jira in batches.  Nothing here is stored on
 * disk.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cellar/buf.h"
#include "cellar/clock.h"
#include "cellar/fit.h"
#include "cellar/jira.h"
#include "cellar/json.h"
#include "cellar/log.h"
#include "cellar/util.h"
#include "fcgi.h"
#include "forgetoken.h"
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
 * Whether a user may browse an issue: a table of its own, as a tree
 * page of 10,000 issues asks about each of them.  Open addressing over
 * ISSUE_SLOTS fixed entries of 16 bytes (1 MiB, touched as it fills);
 * an answer lives in one of ISSUE_PROBE slots from its hash, replacing
 * an empty, expired or else the oldest one.  65,536 slots hold a
 * 10,000-node tree for a few users at once at under half load.  The
 * entries name their user by an index into issue_who (tenant and
 * account spelled out, compared exactly: no hash stands for an
 * identity); a reused index gets a new generation, and the answers of
 * the user it held stop matching.
 */
#define ISSUE_SLOTS	65536		/* a power of two */
#define ISSUE_PROBE	16
#define ISSUE_WHO	128		/* users at once, at most 256 */

static struct issue_who {
	char		 tenant[TENANT_ID_LEN + 1];
	char		 account[PERM_ID_MAX + 1];
	unsigned long	 used;		/* last use, in who_stamp order */
	uint16_t	 gen;		/* +1 each time the index is reused */
} issue_who[ISSUE_WHO];
static unsigned long who_stamp;

static struct issue_entry {
	long long	 issue;		/* 0: empty */
	uint32_t	 until;		/* clock_mono seconds */
	uint8_t		 who;		/* index into issue_who */
	uint8_t		 yes;
	uint16_t	 gen;		/* issue_who[who].gen when answered */
} issue_cache[ISSUE_SLOTS];

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

/*
 * The app system token for a Forge request: the one it came with, else
 * the one kept for its installation (forgetoken.h); NULL when neither.
 */
static const char *
forge_token(const struct req *r)
{
	if (r->fit == NULL)
		return NULL;
	if (r->forge_token != NULL && r->forge_token[0] != '\0')
		return r->forge_token;
	return forgetoken_get(r->fit->installation_id, clock_now());
}

/*
 * A call to the tenant's Jira, failing fast while it is known down.  A
 * Forge request calls with its installation's app system token against
 * app.apiBaseUrl (jira_call_bearer); without a token, a tenant that
 * also has a Connect install (a shared secret) is called as Connect
 * does; a Forge-only tenant without a token cannot ask: 503
 * (forge_token_missing).  A Connect request calls as Connect does.
 */
static enum err
ask(struct req *r, enum http_method m, const char *path, const char *body,
    struct jira_reply *jr)
{
	const char	*token;
	enum err	 e;

	if (perm_jira_known_down(r)) {
		memset(jr, 0, sizeof(*jr));
		/* Every 503 says why, not only the call that failed. */
		log_msg(LOGL_WARN, r->rid, "reason=jira_down_recently "
		    "tenant=%s", r->tenant->id);
		return ERR_UNAVAILABLE;
	}
	if ((token = forge_token(r)) != NULL)
		e = jira_call_bearer(r->app->cfg, r->fit->api_base_url, token,
		    m, path, body, r->rid, jr);
	else if (r->fit != NULL && r->tenant->secret_sealed == NULL) {
		memset(jr, 0, sizeof(*jr));
		log_msg(LOGL_WARN, r->rid, "reason=forge_token_missing "
		    "tenant=%s", r->tenant->id);
		/* Not Jira's fault: no mark_down. */
		return ERR_UNAVAILABLE;
	} else
		e = jira_call(r->app->cfg, r->app->reg, r->tenant, m, path,
		    body, r->rid, jr);
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
	memset(issue_cache, 0, sizeof(issue_cache));
	memset(issue_who, 0, sizeof(issue_who));
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

/*
 * Does the caller hold the global permission name (ADMINISTER, or one
 * of the app's own, "<app key>__<module>")?
 */
static enum err
check_global(struct req *r, const char *name, int *yes)
{
	cJSON		*q, *a, *ans = NULL, *it;
	enum err	 e = ERR_INTERNAL;

	*yes = 0;
	if ((q = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(q, "accountId", r->account) == NULL ||
	    (a = cJSON_AddArrayToObject(q, "globalPermissions")) == NULL ||
	    !cJSON_AddItemToArray(a, cJSON_CreateString(name)))
		goto out;
	if ((e = check_ask(r, q, &ans)) != ERR_OK)
		goto out;
	a = cJSON_GetObjectItemCaseSensitive(ans, "globalPermissions");
	cJSON_ArrayForEach(it, a)
		if (cJSON_IsString(it) && strcmp(it->valuestring, name) == 0)
			*yes = 1;
out:
	cJSON_Delete(q);
	cJSON_Delete(ans);
	return e;
}

static int
ll_cmp(const void *a, const void *b)
{
	long long	 x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

/*
 * Asks Jira whether the caller holds perm on ids[0..n), one question
 * for all: {"accountId": caller, "projectPermissions": [{"permissions":
 * [perm], member: [ids]}]}, member being "projects" or "issues".
 * granted[i] (n bytes, zeroed first) says whether ids[i] came back
 * under perm in the answer's list of that member.  Ids go out as JSON
 * integers written exactly; a granted id is read back as a double and
 * counts only if whole and in [1, JSON_INT_MAX], so an id past 2^53 - 1
 * (which a double cannot tell from its neighbours) never counts as
 * granted.  ids may come in any order; strictly ascending ones are
 * matched by binary search, others by a scan.  Errors are check_ask's,
 * or ERR_INTERNAL when the question cannot be built.
 */
static enum err
check_ids(struct req *r, const char *perm, const char *member,
    const long long *ids, size_t n, unsigned char *granted)
{
	cJSON		*q, *a, *pp, *ans = NULL, *it, *list, *p;
	const char	*got;
	char		 num[24];
	long long	 want;
	const long long	*hit;
	size_t		 i;
	enum err	 e = ERR_INTERNAL;
	int		 sorted = 1;

	memset(granted, 0, n);
	for (i = 1; i < n; i++)
		if (ids[i - 1] >= ids[i])
			sorted = 0;
	if ((q = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(q, "accountId", r->account) == NULL ||
	    (a = cJSON_AddArrayToObject(q, "projectPermissions")) == NULL ||
	    (pp = cJSON_CreateObject()) == NULL)
		goto out;
	cJSON_AddItemToArray(a, pp);
	if ((a = cJSON_AddArrayToObject(pp, "permissions")) == NULL ||
	    !cJSON_AddItemToArray(a, cJSON_CreateString(perm)) ||
	    (a = cJSON_AddArrayToObject(pp, member)) == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		snprintf(num, sizeof(num), "%lld", ids[i]);
		if (!cJSON_AddItemToArray(a, cJSON_CreateRaw(num)))
			goto out;
	}
	if ((e = check_ask(r, q, &ans)) != ERR_OK)
		goto out;
	a = cJSON_GetObjectItemCaseSensitive(ans, "projectPermissions");
	cJSON_ArrayForEach(it, a) {
		if (json_get_str(it, "permission", 1, 64, &got) != JSON_OK ||
		    strcmp(got, perm) != 0)
			continue;
		list = cJSON_GetObjectItemCaseSensitive(it, member);
		cJSON_ArrayForEach(p, list) {
			if (!cJSON_IsNumber(p) || p->valuedouble < 1 ||
			    p->valuedouble > (double)JSON_INT_MAX ||
			    p->valuedouble != (double)(long long)p->valuedouble)
				continue;
			want = (long long)p->valuedouble;
			if (!sorted) {
				for (i = 0; i < n; i++)
					if (ids[i] == want)
						granted[i] = 1;
			} else if ((hit = bsearch(&want, ids, n, sizeof(*ids),
			    ll_cmp)) != NULL)
				granted[hit - ids] = 1;
		}
	}
out:
	cJSON_Delete(q);
	cJSON_Delete(ans);
	return e;
}

/*
 * Asks Jira whether the caller holds perm in projects[0..n) (canonical
 * ids, at most PERM_BATCH), one question for all; each[i] says whether
 * projects[i] came back granted.  Ids are compared as integers; one
 * outside [1, JSON_INT_MAX] is ERR_INTERNAL.
 */
static enum err
check_projects(struct req *r, const char *perm, const char *const *projects,
    size_t n, int *each)
{
	long long	 ids[PERM_BATCH];
	unsigned char	 granted[PERM_BATCH];
	size_t		 i;
	enum err	 e;

	memset(each, 0, n * sizeof(*each));
	if (n > PERM_BATCH)
		return ERR_INTERNAL;
	for (i = 0; i < n; i++)
		if (util_strtonum(projects[i], 1, JSON_INT_MAX, &ids[i]) == -1)
			return ERR_INTERNAL;
	if ((e = check_ids(r, perm, "projects", ids, n, granted)) != ERR_OK)
		return e;
	for (i = 0; i < n; i++)
		each[i] = granted[i];
	return ERR_OK;
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
	else if ((e = check_global(r, "ADMINISTER", yes)) != ERR_OK)
		return e;
	else
		cache_put(r, key, *yes ? "1" : "0");
	r->admin_known = 1;
	r->admin = *yes;
	return ERR_OK;
}

enum err
perm_app_global(struct req *r, const char *module, int *yes)
{
	char		 key[PERM_KEY_MAX], name[160];
	const char	*v;
	enum err	 e;
	int		 n;

	*yes = 0;
	if (r->account == NULL || perm_key(key, r, "app", module) == -1)
		return ERR_FORBIDDEN;
	if ((v = cache_get(key)) != NULL) {
		*yes = v[0] == '1';
		return ERR_OK;
	}
	/* Connect names an app's module "<app key>__<module key>". */
	n = snprintf(name, sizeof(name), "%s__%s",
	    conf_str(r->app->cfg, C_APP_KEY), module);
	if (n < 0 || (size_t)n >= sizeof(name))
		return ERR_INTERNAL;
	if ((e = check_global(r, name, yes)) != ERR_OK)
		return e;
	cache_put(r, key, *yes ? "1" : "0");
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

/*
 * The caller's index in issue_who: found, or given the index used least
 * recently (its generation moves on, so its answers stop counting).
 */
static unsigned int
issue_who_index(const struct req *r)
{
	struct issue_who *w, *pick = NULL;
	size_t		 i;

	for (i = 0; i < ISSUE_WHO; i++) {
		w = &issue_who[i];
		if (strcmp(w->tenant, r->tenant->id) == 0 &&
		    strcmp(w->account, r->account) == 0) {
			w->used = ++who_stamp;
			return (unsigned int)i;
		}
		if (pick == NULL || w->used < pick->used)
			pick = w;
	}
	snprintf(pick->tenant, sizeof(pick->tenant), "%s", r->tenant->id);
	snprintf(pick->account, sizeof(pick->account), "%s", r->account);
	pick->used = ++who_stamp;
	pick->gen++;
	return (unsigned int)(pick - issue_who);
}

/* The first slot of (who, issue): a 64-bit mix (splitmix64's). */
static size_t
issue_slot(unsigned int who, long long issue)
{
	uint64_t	 x = (uint64_t)issue * 31 + who;

	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return (size_t)(x & (ISSUE_SLOTS - 1));
}

/* 1 if entry e answers issue for who now. */
static int
issue_match(const struct issue_entry *e, unsigned int who, long long issue,
    long long now)
{
	return e->issue == issue && e->who == who &&
	    e->gen == issue_who[who].gen && (long long)e->until > now;
}

/* The cached answer at now (clock_mono): 1 or 0, or -1 when none. */
static int
issue_cache_get(unsigned int who, long long issue, long long now)
{
	size_t		 i, slot = issue_slot(who, issue);
	struct issue_entry *e;

	for (i = 0; i < ISSUE_PROBE; i++) {
		e = &issue_cache[(slot + i) & (ISSUE_SLOTS - 1)];
		if (issue_match(e, who, issue, now))
			return e->yes;
	}
	return -1;
}

static void
issue_cache_put(const struct req *r, unsigned int who, long long issue,
    int yes)
{
	long long	 now = clock_mono(), until;
	size_t		 i, slot = issue_slot(who, issue);
	struct issue_entry *e, *pick = NULL;

	until = now + conf_int(r->app->cfg, C_JIRA_CACHE_SECONDS);
	if (until > (long long)UINT32_MAX)
		return;
	for (i = 0; i < ISSUE_PROBE; i++) {
		e = &issue_cache[(slot + i) & (ISSUE_SLOTS - 1)];
		/* Free: empty, expired, of a user no longer held, or ours. */
		if (e->issue == 0 || (long long)e->until <= now ||
		    e->gen != issue_who[e->who].gen ||
		    (e->issue == issue && e->who == who)) {
			pick = e;
			break;
		}
		if (pick == NULL || e->until < pick->until)
			pick = e;
	}
	pick->issue = issue;
	pick->until = (uint32_t)until;
	pick->who = (uint8_t)who;
	pick->yes = yes ? 1 : 0;
	pick->gen = issue_who[who].gen;
}

enum err
perm_issues(struct req *r, const long long *issues, size_t n,
    unsigned char *each)
{
	long long	*miss = NULL, *hit, now, start;
	unsigned char	*granted = NULL;
	unsigned int	 who;
	size_t		 i, k, nmiss = 0, at, cnt;
	enum err	 e = ERR_INTERNAL;
	int		 v;

	if (r->account == NULL)
		return ERR_FORBIDDEN;
	if (n == 0)
		return ERR_OK;
	who = issue_who_index(r);
	if ((miss = calloc(n, sizeof(*miss))) == NULL)
		goto out;
	/* One reading of the clock for the whole tree. */
	now = clock_mono();
	for (i = 0; i < n; i++) {
		if ((v = issue_cache_get(who, issues[i], now)) >= 0)
			each[i] = (unsigned char)v;
		else
			miss[nmiss++] = issues[i];
	}
	e = ERR_OK;
	if (nmiss == 0)
		goto out;
	/* Each id asked once: sorted, repeats dropped. */
	qsort(miss, nmiss, sizeof(*miss), ll_cmp);
	for (i = 1, k = 1; i < nmiss; i++)
		if (miss[i] != miss[k - 1])
			miss[k++] = miss[i];
	nmiss = k;
	e = ERR_INTERNAL;
	if ((granted = calloc(nmiss, 1)) == NULL)
		goto out;
	start = clock_mono_usec();
	for (at = 0; at < nmiss; at += cnt) {
		if (clock_mono_usec() - start > PERM_ISSUE_BUDGET_MS * 1000LL) {
			log_msg(LOGL_WARN, r->rid, "reason=jira_too_slow "
			    "asked=%zu of=%zu", at, nmiss);
			e = ERR_UNAVAILABLE;
			goto out;
		}
		cnt = nmiss - at < PERM_ISSUE_BATCH ? nmiss - at :
		    PERM_ISSUE_BATCH;
		if ((e = check_ids(r, project_perm[PERM_BROWSE], "issues",
		    miss + at, cnt, granted + at)) != ERR_OK)
			goto out;
		for (k = at; k < at + cnt; k++)
			issue_cache_put(r, who, miss[k], granted[k]);
	}
	/* The answers just given, not the cache: it may have moved on. */
	for (i = 0; i < n; i++)
		if ((hit = bsearch(&issues[i], miss, nmiss, sizeof(*miss),
		    ll_cmp)) != NULL)
			each[i] = granted[hit - miss];
	e = ERR_OK;
out:
	free(miss);
	free(granted);
	return e;
}
