/*
 * Canned responses: /api/templates...  All are context routes; the
 * caller is the token's sub (an account id, r->account).  Who may see
 * and change what:
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
 *
 * This file holds the policy and the handlers; the data is in the
 * library's store (tpl.h, tpl_import.h), JSON in and out in tpl_json.c,
 * the request helpers every route group shares in api.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cellar/clock.h"
#include "cellar/db.h"
#include "cellar/json.h"
#include "cellar/log.h"
#include "cellar/registry.h"
#include "cellar/tpl.h"
#include "cellar/tpl_import.h"
#include "cellar/util.h"
#include "api.h"
#include "fcgi.h"
#include "perm.h"
#include "render.h"
#include "tpl_json.h"

/* A cursor carries a name of up to 120 characters (480 bytes). */
#define CURSOR_MAX	2048
#define QUERY_MAX	200
#define IMPORT_MAX	TPL_MAX_PER_TENANT
/* The list's page size when the caller names none. */
#define LIST_DEFAULT	50

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
		return strcmp(t->owner, r->account) == 0 ? ERR_OK :
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

	*project = api_context_project(r, buf, bufsz);
	if (*project != NULL)
		return ERR_OK;
	rc = req_query_param(r->query, "projectId", API_PROJECT_ID_BUF,
	    &param);
	if (rc == 1)
		return ERR_OK;
	if (rc == -1 || !api_project_id_ok(param)) {
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
	char		 pbuf[API_PROJECT_ID_BUF], *groups = NULL;
	const char	*project;
	size_t		 i;
	enum err	 e;

	switch (t->scope) {
	case SCOPE_GLOBAL:
		return ERR_OK;
	case SCOPE_PERSONAL:
		return strcmp(t->owner, r->account) == 0 ? ERR_OK :
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
load(struct req *r, struct tenantdb **tdb, struct tpl *t)
{
	long long	 id;
	enum err	 e;

	memset(t, 0, sizeof(*t));
	if (r->account == NULL)
		return ERR_FORBIDDEN;
	if (api_project_param_bad(r)) {
		log_msg(LOGL_WARN, r->rid, "reason=project_id_invalid");
		return ERR_BAD_REQUEST;
	}
	if (api_path_id(r, &id) == -1)
		return ERR_NOT_FOUND;
	if ((e = api_tenantdb(r, tdb)) != ERR_OK)
		return e;
	if ((e = tpl_get(*tdb, id, api_today(), t)) == ERR_NOT_FOUND)
		e = hidden(r);
	return e;
}

/* Loads template {id} if the caller may use it. */
static enum err
load_visible(struct req *r, struct tenantdb **tdb, struct tpl *t)
{
	enum err	 e;

	if ((e = load(r, tdb, t)) == ERR_OK &&
	    (e = may_use(r, t)) != ERR_OK) {
		if (e == ERR_NOT_FOUND)
			e = hidden(r);
		tpl_free(t);
	}
	return e;
}

/*
 * Loads {id} for a change: the caller must see it and manage it; a
 * template they may not see is 404, one they see but may not manage 403.
 */
static enum err
load_managed(struct req *r, struct tenantdb **tdb, struct tpl *t)
{
	enum err	 e;

	if ((e = load(r, tdb, t)) != ERR_OK)
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

static enum err
reply_tpl(struct reply *rep, int status, const struct tpl *t)
{
	struct jw	 w = JW_INIT;

	tpl_json_write(&w, t, 0);
	return reply_jw(rep, status, &w);
}

static enum err
field_error(struct req *r, enum err e, const char *field)
{
	return api_field_error(r, e, "template_invalid", field);
}

/* The list's query parameters. */
struct list_query {
	char		*q;		/* folded (db_fold), NULL for none */
	long long	 limit;
	int		 active;	/* 1, 0, or -1 for both */
	struct tpl_cursor cursor;
};

static const struct {
	const char	*word;
	int		 active;
} active_words[] = {
	{ "true", 1 }, { "false", 0 }, { "all", -1 },
};

static void
list_query_free(struct list_query *lq)
{
	free(lq->q);
	free(lq->cursor.name);
	memset(lq, 0, sizeof(*lq));
}

/* 0 if word names an active filter (stored in *active), else -1. */
static int
active_parse(const char *word, int *active)
{
	size_t	 i;

	for (i = 0; i < sizeof(active_words) / sizeof(active_words[0]); i++)
		if (strcmp(word, active_words[i].word) == 0) {
			*active = active_words[i].active;
			return 0;
		}
	return -1;
}

/*
 * Reads q, limit, cursor and active (and refuses a malformed projectId
 * even where no one checks it).  ERR_OK, ERR_BAD_REQUEST (logged), or
 * ERR_INTERNAL.
 */
static enum err
list_query_parse(struct req *r, struct list_query *lq)
{
	char		*q = NULL, *lim = NULL, *cur = NULL, *act = NULL;
	enum err	 e = ERR_BAD_REQUEST;

	memset(lq, 0, sizeof(*lq));
	lq->limit = LIST_DEFAULT;
	lq->active = 1;
	if (req_query_param(r->query, "q", QUERY_MAX, &q) == -1 ||
	    req_query_param(r->query, "limit", 8, &lim) == -1 ||
	    req_query_param(r->query, "cursor", CURSOR_MAX, &cur) == -1 ||
	    req_query_param(r->query, "active", 8, &act) == -1)
		goto out;
	if (lim != NULL && util_strtonum(lim, 1, TPL_PAGE_MAX, &lq->limit) ==
	    -1)
		goto out;
	if (api_project_param_bad(r))
		goto out;
	if (cur != NULL && tpl_json_cursor_parse(cur, &lq->cursor) == -1)
		goto out;
	if (act != NULL && active_parse(act, &lq->active) == -1)
		goto out;
	if (q != NULL && !util_printable(q))
		goto out;
	e = ERR_INTERNAL;
	if (q != NULL && q[0] != '\0' && (lq->q = db_fold(q)) == NULL)
		goto out;
	e = ERR_OK;
out:
	if (e == ERR_BAD_REQUEST)
		log_msg(LOGL_WARN, r->rid, "reason=list_query_invalid");
	if (e != ERR_OK)
		list_query_free(lq);
	free(q);
	free(lim);
	free(cur);
	free(act);
	return e;
}

/*
 * Who asks, for the list: the account, and the project and groups Jira
 * names, asked only where templates of that scope exist.  What Jira
 * cannot answer sets *degraded instead of failing the list.
 */
static enum err
list_viewer(struct req *r, struct tenantdb *tdb, struct tpl_viewer *v,
    char *pbuf, size_t pbufsz, char **groups, int *degraded)
{
	enum err	 e;
	int		 projects, grouped;

	memset(v, 0, sizeof(*v));
	v->account = r->account;
	*groups = NULL;
	*degraded = 0;
	tpl_scopes(tdb, &projects, &grouped);
	if (projects) {
		e = caller_project(r, pbuf, pbufsz, &v->project);
		if (e == ERR_UNAVAILABLE)
			*degraded = 1;
		else if (e != ERR_OK)
			return e;
	}
	if (grouped) {
		e = perm_groups(r, groups);
		if (e == ERR_UNAVAILABLE)
			*degraded = 1;
		else if (e != ERR_OK)
			return e;
	}
	v->groups = *groups;
	return ERR_OK;
}

/* The page: up to limit templates, the next cursor, the degraded flag. */
static enum err
list_write(struct reply *rep, const struct tpl *ts, size_t n, size_t limit,
    int degraded)
{
	struct jw	 w = JW_INIT;
	char		*next = NULL;
	size_t		 i;
	enum err	 e;

	/* One more row than asked for tells that a next page exists. */
	if (n > limit && (next = tpl_json_cursor(&ts[limit - 1])) == NULL)
		return ERR_INTERNAL;
	jw_begin_object(&w, NULL);
	jw_begin_array(&w, "templates");
	for (i = 0; i < n && i < limit; i++)
		tpl_json_write(&w, &ts[i], 0);
	jw_end_array(&w);
	if (next != NULL)
		jw_string(&w, "nextCursor", next);
	else
		jw_null(&w, "nextCursor");
	jw_bool(&w, "degraded", degraded);
	jw_end_object(&w);
	e = reply_jw(rep, 200, &w);
	free(next);
	return e;
}

enum err
route_templates_list(struct req *r, struct reply *rep)
{
	struct list_query lq;
	struct tpl_viewer v;
	struct tpl	*ts = NULL;
	struct tenantdb	*tdb;
	char		*groups = NULL, pbuf[API_PROJECT_ID_BUF];
	size_t		 n = 0;
	int		 degraded;
	enum err	 e;

	if (r->account == NULL)
		return ERR_FORBIDDEN;
	if ((e = list_query_parse(r, &lq)) != ERR_OK)
		return e;
	if ((e = api_tenantdb(r, &tdb)) != ERR_OK ||
	    (e = list_viewer(r, tdb, &v, pbuf, sizeof(pbuf), &groups,
	    &degraded)) != ERR_OK)
		goto out;
	if ((e = tpl_list(tdb, &v, lq.q, lq.active, &lq.cursor,
	    (size_t)lq.limit + 1, api_today(), &ts, &n)) != ERR_OK)
		goto out;
	if (degraded)
		log_msg(LOGL_WARN, r->rid, "reason=list_degraded_jira_down");
	e = list_write(rep, ts, n, (size_t)lq.limit, degraded);
out:
	tpl_list_free(ts, n);
	list_query_free(&lq);
	free(groups);
	return e;
}

enum err
route_templates_create(struct req *r, struct reply *rep)
{
	struct tpl	 t;
	struct tenantdb	*tdb;
	const char	*field;
	enum err	 e;

	if (r->account == NULL)
		return ERR_FORBIDDEN;
	if ((e = tpl_json_parse(r->json, &t, &field)) != ERR_OK)
		return field_error(r, e, field);
	if ((t.owner = strdup(r->account)) == NULL) {
		tpl_free(&t);
		return ERR_INTERNAL;
	}
	if ((e = may_manage(r, &t)) == ERR_OK &&
	    (e = api_tenantdb(r, &tdb)) == ERR_OK &&
	    (e = tpl_create(tdb, &t, clock_now())) == ERR_OK)
		e = reply_tpl(rep, 201, &t);
	tpl_free(&t);
	return e;
}

enum err
route_templates_get(struct req *r, struct reply *rep)
{
	struct tpl	 t;
	struct tenantdb	*tdb;
	enum err	 e;

	if ((e = load_visible(r, &tdb, &t)) != ERR_OK)
		return e;
	e = reply_tpl(rep, 200, &t);
	tpl_free(&t);
	return e;
}

enum err
route_templates_put(struct req *r, struct reply *rep)
{
	struct tpl	 old, t;
	struct tenantdb	*tdb;
	const char	*field;
	long long	 version;
	enum err	 e;

	memset(&t, 0, sizeof(t));
	if ((e = load_managed(r, &tdb, &old)) != ERR_OK)
		return e;
	if (json_get_int(r->json, "version", 1, JSON_INT_MAX, &version) !=
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
	if ((e = tpl_json_parse(r->json, &t, &field)) != ERR_OK) {
		e = field_error(r, e, field);
		goto out;
	}
	/* The owner never changes; the new shape must be ours to manage. */
	t.id = old.id;
	if ((t.owner = strdup(old.owner)) == NULL) {
		e = ERR_INTERNAL;
		goto out;
	}
	if (t.scope == SCOPE_PERSONAL && strcmp(t.owner, r->account) != 0) {
		e = ERR_FORBIDDEN;
		goto out;
	}
	if ((e = may_manage(r, &t)) != ERR_OK)
		goto out;
	if ((e = tpl_update(tdb, &t, version, clock_now())) != ERR_OK)
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
	struct tenantdb	*tdb;
	enum err	 e;

	if ((e = load_managed(r, &tdb, &t)) != ERR_OK)
		return e;
	/* Only the version the rights were checked against. */
	if ((e = tpl_delete(tdb, t.id, t.version)) == ERR_OK)
		rep->status = 204;
	tpl_free(&t);
	return e;
}

enum err
route_templates_render(struct req *r, struct reply *rep)
{
	struct tpl	 t;
	struct tenantdb	*tdb;
	const cJSON	*values, *it;
	cJSON		*o = NULL;
	char		*text = NULL, day[11];
	enum err	 e;

	values = cJSON_GetObjectItemCaseSensitive(r->json, "values");
	if (values != NULL && !cJSON_IsObject(values))
		return field_error(r, ERR_UNPROCESSABLE, "values");
	cJSON_ArrayForEach(it, values)
		if (!cJSON_IsString(it))
			return field_error(r, ERR_UNPROCESSABLE, "values");
	if ((e = load_visible(r, &tdb, &t)) != ERR_OK)
		return e;
	api_today_ymd(day);
	e = ERR_LIMIT_VALUES;
	if ((text = render(t.body, values, day)) == NULL)
		goto out;
	/* Count the insert; the text itself is never stored or logged. */
	if ((e = tpl_count_use(tdb, t.id, api_today(), TPL_USE_INSERTED)) !=
	    ERR_OK)
		goto out;
	e = ERR_INTERNAL;
	if ((o = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(o, "text", text) == NULL)
		goto out;
	e = reply_json(rep, 200, o) == 0 ? ERR_OK : ERR_INTERNAL;
out:
	util_free_wiped(text);
	cJSON_Delete(o);
	tpl_free(&t);
	return e;
}

enum err
route_templates_uses(struct req *r, struct reply *rep)
{
	struct tpl	 t;
	struct tenantdb	*tdb;
	const char	*kind;
	enum err	 e;

	if (json_get_str(r->json, "kind", 1, 16, &kind) != JSON_OK ||
	    strcmp(kind, "posted") != 0)
		return field_error(r, ERR_UNPROCESSABLE, "kind");
	if ((e = load_visible(r, &tdb, &t)) != ERR_OK)
		return e;
	if ((e = tpl_count_use(tdb, t.id, api_today(), TPL_USE_POSTED)) ==
	    ERR_OK)
		rep->status = 204;
	tpl_free(&t);
	return e;
}

enum err
route_templates_export(struct req *r, struct reply *rep)
{
	struct tpl	*ts = NULL;
	struct jw	 w = JW_INIT;
	struct tenantdb	*tdb;
	size_t		 n = 0, i;
	enum err	 e;

	if (r->account == NULL)
		return ERR_FORBIDDEN;
	if ((e = api_tenantdb(r, &tdb)) != ERR_OK)
		return e;
	/* Others' personal templates are never even read. */
	if ((e = tpl_all(tdb, r->account, api_today(), &ts, &n)) != ERR_OK)
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
		tpl_json_write(&w, &ts[i], 1);
	}
	jw_end_array(&w);
	jw_end_object(&w);
	e = reply_jw(rep, 200, &w);
out:
	free(jw_finish(&w, &i));
	tpl_list_free(ts, n);
	return e;
}

enum err
route_templates_import(struct req *r, struct reply *rep)
{
	const cJSON	*list, *it;
	struct tpl	*ts = NULL;
	struct tenantdb	*tdb;
	cJSON		*o = NULL, *renamed, *ids, *x;
	struct tpl_import *names = NULL;
	const char	*field;
	char		*name;
	long long	*old_ids = NULL;
	size_t		 n = 0, i, cnt;
	enum err	 e;

	if (r->account == NULL)
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
		if ((e = tpl_json_parse(it, &ts[n], &field)) != ERR_OK) {
			log_msg(LOGL_WARN, r->rid, "reason=import_invalid "
			    "index=%zu", n);
			e = field_error(r, e, field);
			goto out;
		}
		/* An exported id, reported back as "from"; else none. */
		if (json_get_int(it, "id", 1, JSON_INT_MAX, &old_ids[n]) !=
		    JSON_OK)
			old_ids[n] = 0;
		n++;
		if ((ts[n - 1].owner = strdup(r->account)) == NULL) {
			e = ERR_INTERNAL;
			goto out;
		}
		if ((e = may_manage(r, &ts[n - 1])) != ERR_OK) {
			log_msg(LOGL_WARN, r->rid, "reason=import_forbidden "
			    "index=%zu", n - 1);
			goto out;
		}
	}
	if ((e = api_tenantdb(r, &tdb)) != ERR_OK)
		goto out;
	e = ERR_INTERNAL;
	if ((names = tpl_import_new()) == NULL ||
	    (o = cJSON_CreateObject()) == NULL ||
	    (renamed = cJSON_AddArrayToObject(o, "renamed")) == NULL ||
	    (ids = cJSON_AddArrayToObject(o, "ids")) == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		if ((name = tpl_import_name(names, tdb, &ts[i])) == NULL)
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
	if ((e = tpl_create_all(tdb, ts, n, clock_now())) != ERR_OK)
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
	tpl_import_free(names);
	if (ts != NULL)
		tpl_list_free(ts, cnt ? cnt : 1);
	free(old_ids);
	return e;
}
