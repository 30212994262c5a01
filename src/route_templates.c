/*
 * Canned responses: /api/templates...  All are context routes; the
 * caller is the token's sub (an account id).  Who may see and change
 * what:
 *
 *   personal  seen and managed by its owner only (admins included: no
 *             one else sees it in any listing, export or count)
 *   projects  seen by users working on an issue in one of its projects;
 *             managed by Jira admins and admins of every listed project
 *   groups    seen by members of one of its groups; managed by admins
 *   global    seen by everyone; managed by Jira admins
 *
 * The project is the token's context project when Jira gives one, else
 * the projectId parameter, checked against the caller's permission in
 * Jira.  When Jira cannot be reached, personal and global templates still
 * read; whatever needs Jira's answer fails closed (503).  A template the
 * caller may not see is answered 404, never 403, so ids reveal nothing.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "app.h"
#include "auth.h"
#include "db.h"
#include "json.h"
#include "log.h"
#include "perm.h"
#include "render.h"
#include "templates.h"
#include "util.h"

/* A cursor carries a name of up to 120 characters (480 bytes). */
#define CURSOR_MAX	2048
#define QUERY_MAX	200
#define IMPORT_MAX	TPL_MAX_PER_TENANT

static long long
today(void)
{
	return auth_now() / 86400;
}

/* The caller's account id, or NULL when the token names none. */
static const char *
account(const struct req *r)
{
	return r->claims.sub != NULL && perm_id_ok(r->claims.sub) ?
	    r->claims.sub : NULL;
}

/*
 * Project ids are positive decimal numbers of at most 18 digits, in
 * canonical form: "0100" would never match project 100.
 */
static int
project_id_ok(const char *s)
{
	size_t	 n = strspn(s, "0123456789");

	return n > 0 && n <= 18 && s[n] == '\0' && s[0] != '0';
}

/* The token's context project ("context.jira.project.id"), or NULL. */
static const char *
context_project(const struct req *r, char *buf, size_t bufsz)
{
	const cJSON	*j, *p, *id;

	if (r->claims.context == NULL ||
	    (j = cJSON_GetObjectItemCaseSensitive(r->claims.context,
	    "jira")) == NULL ||
	    (p = cJSON_GetObjectItemCaseSensitive(j, "project")) == NULL ||
	    (id = cJSON_GetObjectItemCaseSensitive(p, "id")) == NULL)
		return NULL;
	if (cJSON_IsString(id) && project_id_ok(id->valuestring))
		snprintf(buf, bufsz, "%s", id->valuestring);
	else if (cJSON_IsNumber(id) && id->valuedouble >= 0 &&
	    id->valuedouble < 1e15 && id->valuedouble ==
	    (double)(long long)id->valuedouble)
		snprintf(buf, bufsz, "%lld", (long long)id->valuedouble);
	else
		return NULL;
	return buf;
}

/* The tenant's file, from the worker's cache. */
static enum err
tenant_db(struct req *r, sqlite3 **db)
{
	return registry_tenant_db(r->app->reg, &r->tenant, db);
}

static int
path_id(const struct req *r, long long *id)
{
	return r->nparams >= 1 && r->params[0][0] != '0' &&
	    util_strtonum(r->params[0], 1, 999999999999LL, id) == 0 ? 0 : -1;
}

/*
 * Writes t as the API shows it; export leaves out what import does not
 * take (version, times, counters).
 */
static void
tpl_write(struct jw *w, const struct tpl *t, int export)
{
	char	 when[21];
	size_t	 i;

	jw_begin_object(w, NULL);
	jw_int(w, "id", t->id);
	jw_string(w, "name", t->name);
	jw_string(w, "body", t->body);
	jw_string(w, "scope", tpl_scope_name(t->scope));
	if (t->scope == SCOPE_PROJECTS || t->scope == SCOPE_GROUPS) {
		jw_begin_array(w, t->scope == SCOPE_PROJECTS ? "projects" :
		    "groups");
		for (i = 0; i < t->ntargets; i++)
			jw_string(w, NULL, t->targets[i]);
		jw_end_array(w);
	}
	jw_int(w, "position", t->position);
	jw_bool(w, "active", t->active);
	if (!export) {
		jw_int(w, "version", t->version);
		util_iso8601(when, t->created_at);
		jw_string(w, "createdAt", when);
		util_iso8601(when, t->updated_at);
		jw_string(w, "updatedAt", when);
		jw_begin_object(w, "usage");
		jw_int(w, "last30Days", t->used30);
		jw_end_object(w);
	}
	jw_end_object(w);
}

/* Hands the writer's text to the reply. */
static enum err
reply_jw(struct reply *rep, int status, struct jw *w)
{
	size_t	 len;
	char	*s;

	if ((s = jw_finish(w, &len)) == NULL)
		return ERR_INTERNAL;
	free(rep->body);
	rep->body = s;
	rep->len = len;
	rep->status = status;
	return ERR_OK;
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Validates a template object into t (owner left to the caller).  Field
 * errors map to the limit they break.  Unknown fields are ignored.
 */
static enum err
tpl_parse(const struct req *r, const cJSON *o, struct tpl *t,
    const char **field)
{
	const cJSON	*a, *it;
	const char	*s;
	enum json_status st;
	size_t		 j, max;
	long long	 n;
	int		 b;
	char		 num[24];

	memset(t, 0, sizeof(*t));
	*field = "body";
	if (!cJSON_IsObject(o))
		return ERR_UNPROCESSABLE;
	*field = "name";
	if ((st = json_get_str(o, "name", 1, TPL_NAME_MAX * 4, &s)) ==
	    JSON_RANGE)
		return ERR_LIMIT_NAME;
	if (st != JSON_OK)
		return ERR_UNPROCESSABLE;
	if (util_utf8_chars(s) > TPL_NAME_MAX)
		return ERR_LIMIT_NAME;
	if (!util_printable(s))
		return ERR_UNPROCESSABLE;
	if ((t->name = strdup(s)) == NULL)
		return ERR_INTERNAL;
	*field = "body";
	if ((st = json_get_str(o, "body", 1, TPL_BODY_MAX * 4, &s)) ==
	    JSON_RANGE)
		return ERR_LIMIT_BODY;
	if (st != JSON_OK)
		return ERR_UNPROCESSABLE;
	if (util_utf8_chars(s) > TPL_BODY_MAX)
		return ERR_LIMIT_BODY;
	if ((t->body = strdup(s)) == NULL)
		return ERR_INTERNAL;
	*field = "scope";
	if (json_get_str(o, "scope", 1, 16, &s) != JSON_OK ||
	    tpl_scope_parse(s, &t->scope) == -1)
		return ERR_UNPROCESSABLE;
	*field = "position";
	st = json_get_int(o, "position", -1000000, 1000000, &t->position);
	if (st != JSON_OK && st != JSON_MISSING)
		return ERR_UNPROCESSABLE;
	*field = "active";
	t->active = 1;
	st = json_get_bool(o, "active", &b);
	if (st == JSON_OK)
		t->active = b;
	else if (st != JSON_MISSING)
		return ERR_UNPROCESSABLE;
	/* Targets: exactly the list the scope needs, and no other. */
	*field = t->scope == SCOPE_GROUPS ? "groups" : "projects";
	a = cJSON_GetObjectItemCaseSensitive(o, "projects");
	it = cJSON_GetObjectItemCaseSensitive(o, "groups");
	if ((t->scope != SCOPE_PROJECTS && a != NULL) ||
	    (t->scope != SCOPE_GROUPS && it != NULL))
		return ERR_UNPROCESSABLE;
	if (t->scope == SCOPE_PROJECTS || t->scope == SCOPE_GROUPS) {
		if (t->scope == SCOPE_GROUPS)
			a = it;
		max = t->scope == SCOPE_PROJECTS ? TPL_PROJECTS_MAX :
		    TPL_GROUPS_MAX;
		if (!cJSON_IsArray(a))
			return ERR_UNPROCESSABLE;
		n = cJSON_GetArraySize(a);
		if (n < 1 || (size_t)n > max)
			return t->scope == SCOPE_PROJECTS ?
			    ERR_LIMIT_PROJECTS : ERR_LIMIT_GROUPS;
		if ((t->targets = calloc((size_t)n, sizeof(char *))) == NULL)
			return ERR_INTERNAL;
		cJSON_ArrayForEach(it, a) {
			if (cJSON_IsString(it))
				s = it->valuestring;
			else if (t->scope == SCOPE_PROJECTS &&
			    cJSON_IsNumber(it) && it->valuedouble >= 1 &&
			    it->valuedouble < 1e15 && it->valuedouble ==
			    (double)(long long)it->valuedouble) {
				snprintf(num, sizeof(num), "%lld",
				    (long long)it->valuedouble);
				s = num;
			} else
				return ERR_UNPROCESSABLE;
			if (t->scope == SCOPE_PROJECTS ? !project_id_ok(s) :
			    !perm_id_ok(s))
				return ERR_UNPROCESSABLE;
			for (j = 0; j < t->ntargets; j++)
				if (strcmp(t->targets[j], s) == 0)
					return ERR_UNPROCESSABLE;
			if ((t->targets[t->ntargets] = strdup(s)) == NULL)
				return ERR_INTERNAL;
			t->ntargets++;
		}
	}
	/* Stored (and shown) in their primary key's order. */
	if (t->ntargets > 1)
		qsort(t->targets, t->ntargets, sizeof(char *), str_cmp);
	*field = NULL;
	(void)r;
	return ERR_OK;
}

/*
 * May the caller manage t?  ERR_OK, ERR_FORBIDDEN, or ERR_UNAVAILABLE
 * when only Jira could tell.
 */
static enum err
may_manage(struct req *r, const struct tpl *t)
{
	enum err	 e;
	int		 admin, all;

	if (t->scope == SCOPE_PERSONAL)
		return strcmp(t->owner, account(r)) == 0 ? ERR_OK :
		    ERR_NOT_FOUND;
	if ((e = perm_jira_admin(r, &admin)) != ERR_OK)
		return e;
	if (admin)
		return ERR_OK;
	if (t->scope != SCOPE_PROJECTS)
		return ERR_FORBIDDEN;
	if ((e = perm_projects(r, PERM_ADMIN_PROJECT,
	    (const char *const *)t->targets, t->ntargets, &all)) != ERR_OK)
		return e;
	return all ? ERR_OK : ERR_FORBIDDEN;
}

/*
 * The project the caller works in: the token's context project, else
 * projectId (if given) once Jira confirms the caller may browse it.
 * *project NULL when there is none.  ERR_UNAVAILABLE if Jira is down.
 */
static enum err
caller_project(struct req *r, char *buf, size_t bufsz, const char **project)
{
	char		*param = NULL;
	const char	*one[1];
	enum err	 e;
	int		 rc, ok;

	*project = context_project(r, buf, bufsz);
	if (*project != NULL)
		return ERR_OK;
	rc = http_query_param(r->query, "projectId", 24, &param);
	if (rc == 1)
		return ERR_OK;
	if (rc == -1 || !project_id_ok(param)) {
		free(param);
		return ERR_BAD_REQUEST;
	}
	snprintf(buf, bufsz, "%s", param);
	free(param);
	one[0] = buf;
	if ((e = perm_projects(r, PERM_BROWSE, one, 1, &ok)) != ERR_OK)
		return e;
	*project = ok ? buf : NULL;
	return ERR_OK;
}

/*
 * May the caller use t here?  ERR_OK, ERR_NOT_FOUND (hidden), or
 * ERR_UNAVAILABLE when only Jira could tell.
 */
static enum err
may_use(struct req *r, const struct tpl *t)
{
	char		 pbuf[24], *groups = NULL;
	const char	*project;
	size_t		 i;
	enum err	 e;

	switch (t->scope) {
	case SCOPE_GLOBAL:
		return ERR_OK;
	case SCOPE_PERSONAL:
		return strcmp(t->owner, account(r)) == 0 ? ERR_OK :
		    ERR_NOT_FOUND;
	case SCOPE_PROJECTS:
		if ((e = caller_project(r, pbuf, sizeof(pbuf), &project)) !=
		    ERR_OK)
			return e;
		for (i = 0; project != NULL && i < t->ntargets; i++)
			if (strcmp(t->targets[i], project) == 0)
				return ERR_OK;
		return ERR_NOT_FOUND;
	case SCOPE_GROUPS:
		if ((e = perm_groups(r, &groups)) != ERR_OK)
			return e;
		for (i = 0; i < t->ntargets; i++) {
			char	 needle[PERM_ID_MAX + 3];

			snprintf(needle, sizeof(needle), ",%s,", t->targets[i]);
			if (strstr(groups, needle) != NULL) {
				free(groups);
				return ERR_OK;
			}
		}
		free(groups);
		return ERR_NOT_FOUND;
	default:
		return ERR_NOT_FOUND;
	}
}

/* A malformed projectId: refused whatever template it comes with. */
static int
project_param_bad(const struct req *r)
{
	char	*pid = NULL;
	int	 rc, bad;

	rc = http_query_param(r->query, "projectId", 24, &pid);
	bad = rc == -1 || (rc == 0 && !project_id_ok(pid));
	free(pid);
	return bad;
}

/*
 * The answer for a template the caller may not see (or that does not
 * exist): 404, unless the tenant's Jira is down.  Then it is 503 like
 * every template only Jira could clear, so that while Jira is down a
 * hidden shared template, another's personal one and a missing id all
 * look the same.
 */
static enum err
hidden(struct req *r)
{
	int	 admin;

	/*
	 * Known down: 503 whatever the caches hold.  Else one question
	 * (answered from the cache when it can be) finds out.
	 */
	if (perm_jira_known_down(r) ||
	    perm_jira_admin(r, &admin) == ERR_UNAVAILABLE)
		return ERR_UNAVAILABLE;
	return ERR_NOT_FOUND;
}

/* Loads template {id} of the path, for a caller with an account id. */
static enum err
load(struct req *r, sqlite3 **db, struct tpl *t)
{
	long long	 id;
	enum err	 e;

	memset(t, 0, sizeof(*t));
	if (account(r) == NULL)
		return ERR_FORBIDDEN;
	if (project_param_bad(r)) {
		log_msg(LOG_WARN, r->rid, "reason=project_id_invalid");
		return ERR_BAD_REQUEST;
	}
	if (path_id(r, &id) == -1)
		return ERR_NOT_FOUND;
	if ((e = tenant_db(r, db)) != ERR_OK)
		return e;
	if ((e = tpl_get(*db, id, today(), t)) == ERR_NOT_FOUND)
		e = hidden(r);
	return e;
}

/* Loads template {id} if the caller may use it. */
static enum err
load_visible(struct req *r, sqlite3 **db, struct tpl *t)
{
	enum err	 e;

	if ((e = load(r, db, t)) == ERR_OK && (e = may_use(r, t)) != ERR_OK) {
		if (e == ERR_NOT_FOUND)
			e = hidden(r);
		tpl_free(t);
	}
	return e;
}

static enum err
reply_tpl(struct reply *rep, int status, const struct tpl *t)
{
	struct jw	 w = { NULL, 0, 0, 0, 0 };

	tpl_write(&w, t, 0);
	return reply_jw(rep, status, &w);
}

/* Cursors: base64url of [position, used30, id, name]. */
static char *
cursor_make(const struct tpl *t)
{
	cJSON	*a;
	char	*json, *out = NULL;
	size_t	 len, cap;

	if ((a = cJSON_CreateArray()) == NULL)
		return NULL;
	cJSON_AddItemToArray(a, cJSON_CreateNumber((double)t->position));
	cJSON_AddItemToArray(a, cJSON_CreateNumber((double)t->used30));
	cJSON_AddItemToArray(a, cJSON_CreateNumber((double)t->id));
	cJSON_AddItemToArray(a, cJSON_CreateString(t->name));
	if ((json = cJSON_PrintUnformatted(a)) != NULL) {
		len = strlen(json);
		cap = sodium_base64_encoded_len(len,
		    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
		if ((out = malloc(cap)) != NULL)
			sodium_bin2base64(out, cap, (unsigned char *)json, len,
			    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
		free(json);
	}
	cJSON_Delete(a);
	return out;
}

static int
cursor_parse(const char *s, struct tpl_cursor *c)
{
	unsigned char	*bin;
	size_t		 len = strlen(s), binlen;
	cJSON		*a = NULL;
	const cJSON	*x;
	double		 v[3];
	int		 i, rc = -1;

	memset(c, 0, sizeof(*c));
	if ((bin = malloc(len + 1)) == NULL)
		return -1;
	if (sodium_base642bin(bin, len, s, len, NULL, &binlen, NULL,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    json_parse((const char *)bin, binlen, &a) != JSON_OK ||
	    !cJSON_IsArray(a) || cJSON_GetArraySize(a) != 4)
		goto out;
	for (i = 0; i < 3; i++) {
		x = cJSON_GetArrayItem(a, i);
		if (!cJSON_IsNumber(x) || x->valuedouble < -1e15 ||
		    x->valuedouble > 1e15)
			goto out;
		v[i] = x->valuedouble;
	}
	x = cJSON_GetArrayItem(a, 3);
	if (!cJSON_IsString(x) || (c->name = strdup(x->valuestring)) == NULL)
		goto out;
	c->position = (long long)v[0];
	c->used30 = (long long)v[1];
	c->id = (long long)v[2];
	c->set = 1;
	rc = 0;
out:
	cJSON_Delete(a);
	free(bin);
	return rc;
}

enum err
route_templates_list(struct req *r, struct reply *rep)
{
	struct tpl_viewer v = { NULL, NULL, NULL };
	struct tpl_cursor c = { 0, 0, NULL, 0, 0 };
	struct tpl	*ts = NULL;
	struct jw	 w = { NULL, 0, 0, 0, 0 };
	sqlite3		*db;
	char		*q = NULL, *lim = NULL, *cur = NULL, *act = NULL;
	char		*groups = NULL, *next = NULL, pbuf[24];
	long long	 limit = 50;
	size_t		 n = 0, i;
	int		 active = 1, degraded = 0, projects, grouped;
	const char	*log_reason = "";
	enum err	 e;

	if ((v.account = account(r)) == NULL)
		return ERR_FORBIDDEN;
	e = ERR_BAD_REQUEST;
	log_reason = "list_query_invalid";
	if (http_query_param(r->query, "q", QUERY_MAX, &q) == -1 ||
	    http_query_param(r->query, "limit", 8, &lim) == -1 ||
	    http_query_param(r->query, "cursor", CURSOR_MAX, &cur) == -1 ||
	    http_query_param(r->query, "active", 8, &act) == -1)
		goto out;
	if (lim != NULL && util_strtonum(lim, 1, TPL_PAGE_MAX, &limit) == -1)
		goto out;
	/* A malformed projectId is refused even where no one checks it. */
	if (project_param_bad(r))
		goto out;
	if (cur != NULL && cursor_parse(cur, &c) == -1)
		goto out;
	if (act != NULL) {
		if (strcmp(act, "true") == 0)
			active = 1;
		else if (strcmp(act, "false") == 0)
			active = 0;
		else if (strcmp(act, "all") == 0)
			active = -1;
		else
			goto out;
	}
	if (q != NULL && !util_printable(q))
		goto out;
	if (q != NULL && q[0] == '\0') {
		free(q);
		q = NULL;
	}
	if (q != NULL) {
		char	*f = db_fold(q);

		free(q);
		if ((q = f) == NULL) {
			e = ERR_INTERNAL;
			goto out;
		}
	}
	if ((e = tenant_db(r, &db)) != ERR_OK)
		goto out;
	/*
	 * Jira is asked only where templates of that scope exist; what it
	 * cannot answer degrades the list instead of failing it.
	 */
	tpl_scopes(db, &projects, &grouped);
	if (projects) {
		e = caller_project(r, pbuf, sizeof(pbuf), &v.project);
		if (e == ERR_UNAVAILABLE)
			degraded = 1;
		else if (e != ERR_OK)
			goto out;
	}
	if (grouped) {
		e = perm_groups(r, &groups);
		if (e == ERR_UNAVAILABLE)
			degraded = 1;
		else if (e != ERR_OK)
			goto out;
	}
	v.groups = groups;
	/* One more than asked tells whether a next page exists. */
	if ((e = tpl_list(db, &v, q, active, &c, (size_t)limit + 1, today(),
	    &ts, &n)) != ERR_OK)
		goto out;
	e = ERR_INTERNAL;
	if (n > (size_t)limit &&
	    (next = cursor_make(&ts[(size_t)limit - 1])) == NULL)
		goto out;
	jw_begin_object(&w, NULL);
	jw_begin_array(&w, "templates");
	for (i = 0; i < n && i < (size_t)limit; i++)
		tpl_write(&w, &ts[i], 0);
	jw_end_array(&w);
	if (next != NULL)
		jw_string(&w, "nextCursor", next);
	else
		jw_null(&w, "nextCursor");
	jw_bool(&w, "degraded", degraded);
	jw_end_object(&w);
	if (degraded)
		log_msg(LOG_WARN, r->rid, "reason=list_degraded_jira_down");
	e = reply_jw(rep, 200, &w);
out:
	if (e == ERR_BAD_REQUEST)
		log_msg(LOG_WARN, r->rid, "reason=%s", log_reason);
	free(jw_finish(&w, &i));
	tpl_list_free(ts, n);
	free(c.name);
	free(q);
	free(lim);
	free(cur);
	free(act);
	free(groups);
	free(next);
	return e;
}

static enum err
field_error(struct req *r, enum err e, const char *field)
{
	if (e != ERR_INTERNAL)
		log_msg(LOG_WARN, r->rid, "reason=template_invalid field=%s",
		    field != NULL ? field : "-");
	return e;
}

enum err
route_templates_create(struct req *r, struct reply *rep)
{
	struct tpl	 t;
	sqlite3		*db;
	const char	*field;
	enum err	 e;

	if (account(r) == NULL)
		return ERR_FORBIDDEN;
	if ((e = tpl_parse(r, r->json, &t, &field)) != ERR_OK) {
		tpl_free(&t);
		return field_error(r, e, field);
	}
	if ((t.owner = strdup(account(r))) == NULL) {
		tpl_free(&t);
		return ERR_INTERNAL;
	}
	if ((e = may_manage(r, &t)) == ERR_OK && (e = tenant_db(r, &db)) ==
	    ERR_OK && (e = tpl_create(db, &t, auth_now())) == ERR_OK)
		e = reply_tpl(rep, 201, &t);
	tpl_free(&t);
	return e;
}

enum err
route_templates_get(struct req *r, struct reply *rep)
{
	struct tpl	 t;
	sqlite3		*db;
	enum err	 e;

	if ((e = load_visible(r, &db, &t)) != ERR_OK)
		return e;
	e = reply_tpl(rep, 200, &t);
	tpl_free(&t);
	return e;
}

/*
 * Loads {id} for a change: the caller must see it and manage it; a
 * template they may not see is 404, one they see but may not manage 403.
 */
static enum err
load_managed(struct req *r, sqlite3 **db, struct tpl *t)
{
	enum err	 e;

	if ((e = load(r, db, t)) != ERR_OK)
		return e;
	e = may_manage(r, t);
	if (e == ERR_FORBIDDEN && may_use(r, t) != ERR_OK)
		e = ERR_NOT_FOUND;
	if (e == ERR_NOT_FOUND)
		e = hidden(r);
	if (e != ERR_OK)
		tpl_free(t);
	return e;
}

enum err
route_templates_put(struct req *r, struct reply *rep)
{
	struct tpl	 old, t;
	sqlite3		*db;
	const char	*field;
	long long	 version;
	enum err	 e;

	memset(&t, 0, sizeof(t));
	if ((e = load_managed(r, &db, &old)) != ERR_OK)
		return e;
	if (json_get_int(r->json, "version", 1, 1LL << 53, &version) !=
	    JSON_OK) {
		e = field_error(r, ERR_UNPROCESSABLE, "version");
		goto out;
	}
	/*
	 * The rights were checked against the version loaded; only that
	 * version is replaced (the update matches it), so a change landing
	 * in between is a conflict, never a write the checks did not see.
	 */
	if (version != old.version) {
		e = ERR_CONFLICT;
		goto out;
	}
	if ((e = tpl_parse(r, r->json, &t, &field)) != ERR_OK) {
		e = field_error(r, e, field);
		goto out;
	}
	/* The owner never changes; the new shape must be ours to manage. */
	t.id = old.id;
	if ((t.owner = strdup(old.owner)) == NULL) {
		e = ERR_INTERNAL;
		goto out;
	}
	if (t.scope == SCOPE_PERSONAL && strcmp(t.owner, account(r)) != 0) {
		e = ERR_FORBIDDEN;
		goto out;
	}
	if ((e = may_manage(r, &t)) != ERR_OK)
		goto out;
	if ((e = tpl_update(db, &t, version, auth_now())) != ERR_OK)
		goto out;
	t.created_at = old.created_at;
	t.used30 = old.used30;
	e = reply_tpl(rep, 200, &t);
out:
	tpl_free(&old);
	tpl_free(&t);
	return e;
}

enum err
route_templates_delete(struct req *r, struct reply *rep)
{
	struct tpl	 t;
	sqlite3		*db;
	enum err	 e;

	if ((e = load_managed(r, &db, &t)) != ERR_OK)
		return e;
	/* Only the version the rights were checked against. */
	if ((e = tpl_delete(db, t.id, t.version)) == ERR_OK)
		rep->status = 204;
	tpl_free(&t);
	return e;
}

enum err
route_templates_render(struct req *r, struct reply *rep)
{
	struct tpl	 t;
	sqlite3		*db;
	const cJSON	*values, *it;
	cJSON		*o = NULL;
	char		*text = NULL, day[16];
	time_t		 now = (time_t)auth_now();
	struct tm	 tm;
	enum err	 e;

	values = cJSON_GetObjectItemCaseSensitive(r->json, "values");
	if (values != NULL && !cJSON_IsObject(values))
		return field_error(r, ERR_UNPROCESSABLE, "values");
	cJSON_ArrayForEach(it, values)
		if (!cJSON_IsString(it))
			return field_error(r, ERR_UNPROCESSABLE, "values");
	if ((e = load_visible(r, &db, &t)) != ERR_OK)
		return e;
	gmtime_r(&now, &tm);
	strftime(day, sizeof(day), "%Y-%m-%d", &tm);
	e = ERR_LIMIT_VALUES;
	if ((text = render(t.body, values, day)) == NULL)
		goto out;
	/* Count the insert; the text itself is never stored or logged. */
	if ((e = tpl_count_use(db, t.id, today(), 0)) != ERR_OK)
		goto out;
	e = ERR_INTERNAL;
	if ((o = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(o, "text", text) == NULL)
		goto out;
	e = reply_json(rep, 200, o) == 0 ? ERR_OK : ERR_INTERNAL;
out:
	if (text != NULL) {
		sodium_memzero(text, strlen(text));
		free(text);
	}
	cJSON_Delete(o);
	tpl_free(&t);
	return e;
}

enum err
route_templates_uses(struct req *r, struct reply *rep)
{
	struct tpl	 t;
	sqlite3		*db;
	const char	*kind;
	enum err	 e;

	if (json_get_str(r->json, "kind", 1, 16, &kind) != JSON_OK ||
	    strcmp(kind, "posted") != 0)
		return field_error(r, ERR_UNPROCESSABLE, "kind");
	if ((e = load_visible(r, &db, &t)) != ERR_OK)
		return e;
	if ((e = tpl_count_use(db, t.id, today(), 1)) == ERR_OK)
		rep->status = 204;
	tpl_free(&t);
	return e;
}

enum err
route_templates_export(struct req *r, struct reply *rep)
{
	struct tpl	*ts = NULL;
	struct jw	 w = { NULL, 0, 0, 0, 0 };
	sqlite3		*db;
	size_t		 n = 0, i;
	enum err	 e;

	if (account(r) == NULL)
		return ERR_FORBIDDEN;
	if ((e = tenant_db(r, &db)) != ERR_OK)
		return e;
	/* Others' personal templates are never even read. */
	if ((e = tpl_all(db, account(r), today(), &ts, &n)) != ERR_OK)
		return e;
	jw_begin_object(&w, NULL);
	jw_string(&w, "format", "cellar-templates");
	jw_int(&w, "version", 1);
	jw_begin_array(&w, "templates");
	for (i = 0; i < n; i++) {
		e = may_manage(r, &ts[i]);
		if (e == ERR_FORBIDDEN || e == ERR_NOT_FOUND)
			continue;
		if (e != ERR_OK)
			goto out;
		tpl_write(&w, &ts[i], 1);
	}
	jw_end_array(&w);
	jw_end_object(&w);
	e = reply_jw(rep, 200, &w);
out:
	free(jw_finish(&w, &i));
	tpl_list_free(ts, n);
	return e;
}

/*
 * The names an import claimed so far, and per base name the next suffix
 * to try: a hash map from key to int, so that 2,000 templates of one name
 * cost linear time and not quadratic.
 */
struct nameset {
	char		**keys;
	int		 *vals;
	size_t		  cap, n;
};

static size_t
ns_slot(const struct nameset *ns, const char *key)
{
	uint64_t	 h = 1469598103934665603ULL;
	const char	*p;
	size_t		 i;

	for (p = key; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	for (i = (size_t)h & (ns->cap - 1); ns->keys[i] != NULL &&
	    strcmp(ns->keys[i], key) != 0; i = (i + 1) & (ns->cap - 1))
		continue;
	return i;
}

/* The value under key, or def. */
static int
ns_get(const struct nameset *ns, const char *key, int def)
{
	size_t	 i;

	if (ns->cap == 0)
		return def;
	i = ns_slot(ns, key);
	return ns->keys[i] != NULL ? ns->vals[i] : def;
}

static int
ns_put(struct nameset *ns, const char *key, int val)
{
	struct nameset	 big;
	size_t		 i;

	if (ns->n + 1 > ns->cap / 2) {
		big.cap = ns->cap ? ns->cap * 2 : 256;
		big.n = ns->n;
		if ((big.keys = calloc(big.cap, sizeof(char *))) == NULL ||
		    (big.vals = calloc(big.cap, sizeof(int))) == NULL) {
			free(big.keys);
			return -1;
		}
		for (i = 0; i < ns->cap; i++)
			if (ns->keys[i] != NULL) {
				size_t	 j = ns_slot(&big, ns->keys[i]);

				big.keys[j] = ns->keys[i];
				big.vals[j] = ns->vals[i];
			}
		free(ns->keys);
		free(ns->vals);
		*ns = big;
	}
	i = ns_slot(ns, key);
	if (ns->keys[i] == NULL) {
		if ((ns->keys[i] = strdup(key)) == NULL)
			return -1;
		ns->n++;
	}
	ns->vals[i] = val;
	return 0;
}

static void
ns_free(struct nameset *ns)
{
	size_t	 i;

	for (i = 0; i < ns->cap; i++)
		free(ns->keys[i]);
	free(ns->keys);
	free(ns->vals);
}

/*
 * The keys under which this import claims a name: "scope||name" folded
 * to ASCII lower case (as COLLATE NOCASE), and for a projects template
 * one per project ("projects|id|name"), since that is where names clash.
 * mark prefixes each (the counters of base names use "#").  Returns the
 * number of keys made, or -1.
 */
static int
name_keys(const struct tpl *t, const char *mark, const char *name,
    char **keys, size_t max)
{
	const char	*scope = tpl_scope_name(t->scope);
	size_t		 i, n = t->scope == SCOPE_PROJECTS ? t->ntargets : 1;
	char		*c;

	if (n > max)
		return -1;
	for (i = 0; i < n; i++) {
		if (asprintf(&keys[i], "%s%s|%s|%s", mark, scope, t->scope ==
		    SCOPE_PROJECTS ? t->targets[i] : "", name) == -1) {
			while (i-- > 0)
				free(keys[i]);
			return -1;
		}
		for (c = keys[i]; *c != '\0'; c++)
			if (*c >= 'A' && *c <= 'Z')
				*c = (char)(*c - 'A' + 'a');
	}
	return (int)n;
}

static void
strs_free(char **keys, int n)
{
	while (n-- > 0)
		free(keys[n]);
}

/*
 * A free name where t goes: its name, else "name (2)", "name (3)"...,
 * shortened so the result stays within TPL_NAME_MAX characters.  Starts
 * from the next suffix this import has not tried for the same base name.
 */
static char *
free_name(sqlite3 *db, const struct tpl *t, struct nameset *ns)
{
	char		 suffix[16], *out, *keys[TPL_PROJECTS_MAX];
	char		*base[TPL_PROJECTS_MAX];
	const char	*p;
	size_t		 keep, chars, slen;
	int		 k, i, nkeys, nbase, dup, start = 1;

	if ((nbase = name_keys(t, "#", t->name, base, TPL_PROJECTS_MAX)) == -1)
		return NULL;
	for (i = 0; i < nbase; i++)
		if ((k = ns_get(ns, base[i], 1)) > start)
			start = k;
	for (k = start; k <= 9999; k++) {
		if (k == 1)
			suffix[0] = '\0';
		else
			snprintf(suffix, sizeof(suffix), " (%d)", k);
		slen = strlen(suffix);
		/* Keep whole characters so that name + suffix fits. */
		chars = 0;
		for (p = t->name; *p != '\0'; p++) {
			if (((unsigned char)*p & 0xc0) != 0x80) {
				if (chars == TPL_NAME_MAX - slen)
					break;
				chars++;
			}
		}
		keep = (size_t)(p - t->name);
		if ((out = malloc(keep + slen + 1)) == NULL)
			break;
		memcpy(out, t->name, keep);
		memcpy(out + keep, suffix, slen + 1);
		if ((nkeys = name_keys(t, "", out, keys, TPL_PROJECTS_MAX)) ==
		    -1) {
			free(out);
			break;
		}
		dup = 0;
		for (i = 0; i < nkeys && !dup; i++)
			dup = ns_get(ns, keys[i], -1) != -1;
		if (!dup)
			dup = tpl_name_taken(db, t, out);
		for (i = 0; i < nkeys && !dup; i++)
			if (ns_put(ns, keys[i], 0) == -1)
				dup = -1;
		for (i = 0; i < nbase && !dup; i++)
			if (ns_put(ns, base[i], k + 1) == -1)
				dup = -1;
		strs_free(keys, nkeys);
		if (dup == 0) {
			strs_free(base, nbase);
			return out;
		}
		free(out);
		if (dup == -1)
			break;
	}
	strs_free(base, nbase);
	return NULL;
}

enum err
route_templates_import(struct req *r, struct reply *rep)
{
	const cJSON	*list, *it;
	struct tpl	*ts = NULL;
	sqlite3		*db;
	cJSON		*o = NULL, *renamed, *ids, *x;
	struct nameset	 taken = { NULL, NULL, 0, 0 };
	const char	*field;
	char		*name;
	long long	*old_ids = NULL;
	size_t		 n = 0, i, cnt;
	enum err	 e;

	if (account(r) == NULL)
		return ERR_FORBIDDEN;
	list = cJSON_GetObjectItemCaseSensitive(r->json, "templates");
	if (!cJSON_IsArray(list))
		return field_error(r, ERR_UNPROCESSABLE, "templates");
	cnt = (size_t)cJSON_GetArraySize(list);
	if (cnt > IMPORT_MAX)
		return ERR_LIMIT_IMPORT;
	if ((ts = calloc(cnt ? cnt : 1, sizeof(*ts))) == NULL ||
	    (old_ids = calloc(cnt ? cnt : 1, sizeof(*old_ids))) == NULL) {
		e = ERR_INTERNAL;
		goto out;
	}
	/* Every template valid and ours to create, or nothing happens. */
	cJSON_ArrayForEach(it, list) {
		if ((e = tpl_parse(r, it, &ts[n], &field)) != ERR_OK) {
			n++;
			log_msg(LOG_WARN, r->rid, "reason=import_invalid "
			    "index=%zu", n - 1);
			e = field_error(r, e, field);
			goto out;
		}
		/* An exported id, reported back as "from"; else none. */
		if (json_get_int(it, "id", 1, 9007199254740991LL,
		    &old_ids[n]) != JSON_OK)
			old_ids[n] = 0;
		n++;
		if ((ts[n - 1].owner = strdup(account(r))) == NULL) {
			e = ERR_INTERNAL;
			goto out;
		}
		if ((e = may_manage(r, &ts[n - 1])) != ERR_OK) {
			log_msg(LOG_WARN, r->rid, "reason=import_forbidden "
			    "index=%zu", n - 1);
			goto out;
		}
	}
	if ((e = tenant_db(r, &db)) != ERR_OK)
		goto out;
	e = ERR_INTERNAL;
	if ((o = cJSON_CreateObject()) == NULL ||
	    (renamed = cJSON_AddArrayToObject(o, "renamed")) == NULL ||
	    (ids = cJSON_AddArrayToObject(o, "ids")) == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		if ((name = free_name(db, &ts[i], &taken)) == NULL)
			goto out;
		if (strcmp(name, ts[i].name) != 0) {
			if ((x = cJSON_CreateObject()) == NULL) {
				free(name);
				goto out;
			}
			json_add_int(x, "index", (long long)i);
			cJSON_AddStringToObject(x, "from", ts[i].name);
			cJSON_AddStringToObject(x, "to", name);
			cJSON_AddItemToArray(renamed, x);
		}
		free(ts[i].name);
		ts[i].name = name;
	}
	if ((e = tpl_create_all(db, ts, n, auth_now())) != ERR_OK)
		goto out;
	e = ERR_INTERNAL;
	for (i = 0; i < n; i++) {
		if ((x = cJSON_CreateObject()) == NULL)
			goto out;
		if (old_ids[i] > 0)
			json_add_int(x, "from", old_ids[i]);
		else
			cJSON_AddNullToObject(x, "from");
		json_add_int(x, "to", ts[i].id);
		cJSON_AddItemToArray(ids, x);
	}
	json_add_int(o, "created", (long long)n);
	e = reply_json(rep, 201, o) == 0 ? ERR_OK : ERR_INTERNAL;
out:
	cJSON_Delete(o);
	ns_free(&taken);
	if (ts != NULL)
		tpl_list_free(ts, cnt ? cnt : 1);
	free(old_ids);
	return e;
}
