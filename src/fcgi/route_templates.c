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
 * This file holds the policy (shared through templates.h), single
 * templates, render and uses; route_templates_list.c the listings,
 * route_templates_io.c export and import.  The data is in the library's
 * store (tpl.h, tpl_import.h), JSON in and out in tpl_json.c, the
 * request helpers every route group shares in api.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cellar/clock.h"
#include "cellar/json.h"
#include "cellar/log.h"
#include "cellar/tpl.h"
#include "cellar/tpl_import.h"
#include "cellar/util.h"
#include "api.h"
#include "fcgi.h"
#include "perm.h"
#include "render.h"
#include "templates.h"
#include "tpl_json.h"

/*
 * May the caller manage t?  ERR_OK, ERR_FORBIDDEN, or ERR_UNAVAILABLE
 * when only Jira could tell.
 */
enum err
templates_may_manage(struct req *r, const struct tpl *t)
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
enum err
templates_caller_project(struct req *r, char *buf, size_t bufsz, const char **project)
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
		if ((e = templates_caller_project(r, pbuf, sizeof(pbuf), &project)) !=
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
		e = api_hidden(r);
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
			e = api_hidden(r);
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
	e = templates_may_manage(r, t);
	if (e == ERR_FORBIDDEN && may_use(r, t) != ERR_OK)
		e = ERR_NOT_FOUND;
	if (e == ERR_NOT_FOUND)
		e = api_hidden(r);
	if (e != ERR_OK)
		tpl_free(t);
	return e;
}

/*
 * Before a page of templates is judged with may_manage: one question
 * about admin rights, and (for a caller who is not a Jira admin) one
 * batched question about the projects of its projects templates, so that
 * judging the rows asks Jira nothing more.  ERR_UNAVAILABLE when Jira
 * cannot answer.
 */
enum err
templates_prefetch(struct req *r, const struct tpl *ts, size_t n)
{
	const char	**ids = NULL;
	size_t		 i, k, nids = 0, cap = 0;
	enum err	 e;
	int		 admin, shared = 0;

	for (i = 0; i < n; i++)
		if (ts[i].scope != SCOPE_PERSONAL) {
			shared = 1;
			if (ts[i].scope == SCOPE_PROJECTS)
				cap += ts[i].ntargets;
		}
	if (!shared)
		return ERR_OK;
	if ((e = perm_jira_admin(r, &admin)) != ERR_OK || admin || cap == 0)
		return e;
	if ((ids = calloc(cap, sizeof(*ids))) == NULL)
		return ERR_INTERNAL;
	for (i = 0; i < n; i++)
		if (ts[i].scope == SCOPE_PROJECTS)
			for (k = 0; k < ts[i].ntargets; k++)
				ids[nids++] = ts[i].targets[k];
	e = perm_prefetch(r, PERM_ADMIN_PROJECT, ids, nids);
	free(ids);
	return e;
}

/* May the caller change t?  Unknown (Jira down) counts as no. */
int
templates_can_edit(struct req *r, const struct tpl *t)
{
	return templates_may_manage(r, t) == ERR_OK;
}

static enum err
reply_tpl(struct reply *rep, int status, const struct tpl *t, int edit)
{
	struct jw	 w = JW_INIT;

	tpl_json_write(&w, t, TPL_FORM_API, edit);
	return reply_jw(rep, status, &w);
}

/* A refused body field: logged and named in the reply, never its value. */
enum err
templates_field_error(struct req *r, struct reply *rep, enum err e, const char *field,
    long long index)
{
	reply_detail(rep, field, index, -1);
	return api_field_error(r, e, "template_invalid", field);
}

/* The limits a change must keep, the personal one from the config. */
void
templates_limits(const struct req *r, struct tpl_limits *lim)
{
	lim->shared_max = TPL_MAX_PER_TENANT;
	lim->personal_max = conf_int(r->app->cfg, C_TEMPLATES_PERSONAL_MAX);
}

/* A limit error names the limit it met. */
enum err
templates_limit_detail(struct reply *rep, enum err e, const struct tpl_limits *lim)
{
	if (e == ERR_LIMIT_TEMPLATES)
		reply_detail(rep, NULL, -1, lim->shared_max);
	else if (e == ERR_LIMIT_PERSONAL)
		reply_detail(rep, NULL, -1, lim->personal_max);
	return e;
}

enum err
route_templates_create(struct req *r, struct reply *rep)
{
	struct tpl_limits lim;
	struct tpl	 t;
	struct tenantdb	*tdb;
	const char	*field;
	enum err	 e;

	if (r->account == NULL)
		return ERR_FORBIDDEN;
	if ((e = tpl_json_parse(r->json, &t, &field)) != ERR_OK)
		return templates_field_error(r, rep, e, field, -1);
	if ((t.owner = strdup(r->account)) == NULL) {
		tpl_free(&t);
		return ERR_INTERNAL;
	}
	templates_limits(r, &lim);
	if ((e = templates_may_manage(r, &t)) == ERR_OK &&
	    (e = api_tenantdb(r, &tdb)) == ERR_OK &&
	    (e = templates_limit_detail(rep, tpl_create(tdb, &t, clock_now(), &lim),
	    &lim)) == ERR_OK)
		e = reply_tpl(rep, 201, &t, 1);
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
	e = reply_tpl(rep, 200, &t, templates_can_edit(r, &t));
	tpl_free(&t);
	return e;
}

enum err
route_templates_put(struct req *r, struct reply *rep)
{
	struct tpl_limits lim;
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
		e = templates_field_error(r, rep, ERR_UNPROCESSABLE, "version", -1);
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
		e = templates_field_error(r, rep, e, field, -1);
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
	if ((e = templates_may_manage(r, &t)) != ERR_OK)
		goto out;
	templates_limits(r, &lim);
	if ((e = templates_limit_detail(rep, tpl_update(tdb, &t, version, clock_now(),
	    &lim), &lim)) != ERR_OK)
		goto out;
	t.created_at = old.created_at;
	t.used30 = old.used30;
	t.posted30 = old.posted30;
	e = reply_tpl(rep, 200, &t, 1);
out:
	tpl_free(&old);
	tpl_free(&t);
	return e;
}

/*
 * DELETE .../{id}?version=N: only the version the caller read (and the
 * rights were checked against) goes; a stale one is 409.
 */
enum err
route_templates_delete(struct req *r, struct reply *rep)
{
	struct tpl	 t;
	struct tenantdb	*tdb;
	char		*v = NULL;
	long long	 version;
	enum err	 e;
	int		 rc;

	/* Who may, first (as PUT): a refusal never depends on the query. */
	if ((e = load_managed(r, &tdb, &t)) != ERR_OK)
		return e;
	rc = req_query_param(r->query, "version", 20, &v);
	if (rc != 0 || util_strtonum(v, 1, JSON_INT_MAX, &version) == -1)
		e = templates_field_error(r, rep, ERR_UNPROCESSABLE, "version", -1);
	else if (version != t.version)
		e = ERR_CONFLICT;
	else if ((e = tpl_delete(tdb, t.id, t.version)) == ERR_OK)
		rep->status = 204;
	free(v);
	tpl_free(&t);
	return e;
}

/*
 * Counts a use.  A render still answers when the count cannot be
 * written (a full disk, a busy file): the text matters more than the
 * number, and the reason is logged.
 */
static enum err
count_use(struct req *r, struct tenantdb *tdb, long long id,
    enum tpl_use use)
{
	enum err	 e;

	e = tpl_count_use(tdb, id, api_today(), use);
	if (use == TPL_USE_INSERTED && (e == ERR_STORAGE_FULL ||
	    e == ERR_UNAVAILABLE)) {
		log_msg(LOGL_WARN, r->rid, "reason=use_not_counted err=%s",
		    err_code(e));
		e = ERR_OK;
	}
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
		return templates_field_error(r, rep, ERR_UNPROCESSABLE, "values", -1);
	cJSON_ArrayForEach(it, values)
		if (!cJSON_IsString(it))
			return templates_field_error(r, rep, ERR_UNPROCESSABLE, "values",
			    -1);
	if ((e = load_visible(r, &tdb, &t)) != ERR_OK)
		return e;
	api_today_ymd(day);
	e = ERR_LIMIT_VALUES;
	if ((text = render(t.body, values, day)) == NULL) {
		reply_detail(rep, "values", -1, RENDER_MAX);
		goto out;
	}
	/* Count the insert; the text itself is never stored or logged. */
	if ((e = count_use(r, tdb, t.id, TPL_USE_INSERTED)) != ERR_OK)
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
		return templates_field_error(r, rep, ERR_UNPROCESSABLE, "kind", -1);
	if ((e = load_visible(r, &tdb, &t)) != ERR_OK)
		return e;
	if ((e = count_use(r, tdb, t.id, TPL_USE_POSTED)) == ERR_OK)
		rep->status = 204;
	tpl_free(&t);
	return e;
}

