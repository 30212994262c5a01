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
#include "cellar/collate.h"
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
 * An export page stops below this many bytes of JSON, so that every
 * page imports again under the import route's 16 MiB.
 */
#define EXPORT_PAGE_MAX	(15 * 1024 * 1024)
/* Templates read at a time by listings that filter what they read. */
#define SCAN_CHUNK	100

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
	if (perm_jira_known_down(r)) {
		log_msg(LOGL_WARN, r->rid, "reason=jira_down_recently "
		    "tenant=%s", r->tenant->id);
		return ERR_UNAVAILABLE;
	}
	if (perm_jira_admin(r, &admin) == ERR_UNAVAILABLE)
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

/*
 * Before a page of templates is judged with may_manage: one question
 * about admin rights, and (for a caller who is not a Jira admin) one
 * batched question about the projects of its projects templates, so that
 * judging the rows asks Jira nothing more.  ERR_UNAVAILABLE when Jira
 * cannot answer.
 */
static enum err
manage_prefetch(struct req *r, const struct tpl *ts, size_t n)
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
static int
can_edit(struct req *r, const struct tpl *t)
{
	return may_manage(r, t) == ERR_OK;
}

static enum err
reply_tpl(struct reply *rep, int status, const struct tpl *t, int edit)
{
	struct jw	 w = JW_INIT;

	tpl_json_write(&w, t, TPL_FORM_API, edit);
	return reply_jw(rep, status, &w);
}

/* A refused body field: logged and named in the reply, never its value. */
static enum err
field_error(struct req *r, struct reply *rep, enum err e, const char *field,
    long long index)
{
	reply_detail(rep, field, index, -1);
	return api_field_error(r, e, "template_invalid", field);
}

/* The limits a change must keep, the personal one from the config. */
static void
limits(const struct req *r, struct tpl_limits *lim)
{
	lim->shared_max = TPL_MAX_PER_TENANT;
	lim->personal_max = conf_int(r->app->cfg, C_TEMPLATES_PERSONAL_MAX);
}

/* A limit error names the limit it met. */
static enum err
limit_detail(struct reply *rep, enum err e, const struct tpl_limits *lim)
{
	if (e == ERR_LIMIT_TEMPLATES)
		reply_detail(rep, NULL, -1, lim->shared_max);
	else if (e == ERR_LIMIT_PERSONAL)
		reply_detail(rep, NULL, -1, lim->personal_max);
	return e;
}

/* The list's query parameters. */
struct list_query {
	char		*q;		/* folded (collate_fold), NULL for none */
	long long	 limit;
	int		 active;	/* 1, 0, or -1 for both */
	int		 manage;	/* what the caller manages, not uses */
	struct tpl_cursor cursor;
};

/* The values an on/off parameter takes ("active" adds "all"). */
static const struct {
	const char	*word;
	int		 value;
} flag_words[] = {
	{ "true", 1 }, { "false", 0 }, { "all", -1 },
};

static void
list_query_free(struct list_query *lq)
{
	free(lq->q);
	free(lq->cursor.name);
	memset(lq, 0, sizeof(*lq));
}

/* 0 if word is a flag word (all only where allowed), else -1. */
static int
flag_parse(const char *word, int all_ok, int *value)
{
	size_t	 i;

	for (i = 0; i < sizeof(flag_words) / sizeof(flag_words[0]); i++)
		if (strcmp(word, flag_words[i].word) == 0 &&
		    (all_ok || flag_words[i].value >= 0)) {
			*value = flag_words[i].value;
			return 0;
		}
	return -1;
}

/*
 * Reads q, limit, cursor, active and manage (and refuses a malformed
 * projectId even where no one checks it).  ERR_OK, ERR_BAD_REQUEST
 * (logged), or ERR_INTERNAL.  What the caller manages lists active and
 * inactive ones unless active narrows it.
 */
static enum err
list_query_parse(struct req *r, struct reply *rep, struct list_query *lq)
{
	char		*q = NULL, *lim = NULL, *cur = NULL, *act = NULL;
	char		*man = NULL;
	const struct {
		const char	*name;
		size_t		 max;
		char		**val;
	} params[] = {
		{ "q", QUERY_MAX, &q }, { "limit", 8, &lim },
		{ "cursor", CURSOR_MAX, &cur }, { "active", 8, &act },
		{ "manage", 8, &man },
	};
	const char	*bad = NULL;
	size_t		 i;
	enum err	 e = ERR_BAD_REQUEST;

	memset(lq, 0, sizeof(*lq));
	lq->limit = LIST_DEFAULT;
	for (i = 0; i < sizeof(params) / sizeof(params[0]); i++)
		if (req_query_param(r->query, bad = params[i].name,
		    params[i].max, params[i].val) == -1)
			goto out;
	bad = "limit";
	if (lim != NULL && util_strtonum(lim, 1, TPL_PAGE_MAX, &lq->limit) ==
	    -1)
		goto out;
	bad = "projectId";
	if (api_project_param_bad(r))
		goto out;
	bad = "cursor";
	if (cur != NULL && tpl_json_cursor_parse(cur, &lq->cursor) == -1)
		goto out;
	bad = "manage";
	if (man != NULL && flag_parse(man, 0, &lq->manage) == -1)
		goto out;
	lq->active = lq->manage ? -1 : 1;
	bad = "active";
	if (act != NULL && flag_parse(act, 1, &lq->active) == -1)
		goto out;
	bad = "q";
	if (q != NULL && !util_printable(q))
		goto out;
	e = ERR_INTERNAL;
	if (q != NULL && q[0] != '\0' && (lq->q = collate_fold(q)) == NULL)
		goto out;
	e = ERR_OK;
out:
	if (e == ERR_BAD_REQUEST) {
		/* The parameter at fault, by name: never its value. */
		reply_detail(rep, bad, -1, -1);
		log_msg(LOGL_WARN, r->rid, "reason=list_query_invalid "
		    "field=%s", bad);
	}
	if (e != ERR_OK)
		list_query_free(lq);
	free(q);
	free(lim);
	free(cur);
	free(act);
	free(man);
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

/* Moves c to just after t in the list order. */
static int
cursor_after(struct tpl_cursor *c, const struct tpl *t)
{
	char	*name;

	if ((name = strdup(t->name)) == NULL)
		return -1;
	free(c->name);
	c->name = name;
	c->position = t->position;
	c->used30 = t->used30;
	c->id = t->id;
	c->set = 1;
	return 0;
}

/*
 * The templates the caller manages, in list order after c, at least want
 * of them unless there are no more: their keys read at once (no body:
 * tpl_scan), judged with may_manage a chunk of SCAN_CHUNK at a time (Jira
 * asked once per chunk), then only those kept read whole (tpl_fill).  A
 * chunk is always judged whole, so a next scan from c starts on a fresh
 * chunk and asks Jira about each template once: *n may exceed want by up
 * to SCAN_CHUNK - 1.  c is left after the last one judged.  *out (free
 * with tpl_list_free) holds *n of them.  When Jira cannot answer: with
 * degraded NULL, ERR_UNAVAILABLE (an export is whole or nothing); else
 * the shared templates only Jira could judge are left out and *degraded
 * is set (the manager's listing, as the picker's).
 */
static enum err
managed_scan(struct req *r, struct tenantdb *tdb, const char *q, int active,
    struct tpl_cursor *c, size_t want, int *degraded, struct tpl **out,
    size_t *n)
{
	struct tpl	*keys = NULL;
	size_t		 nkeys = 0, at, end, i, kept = 0;
	enum err	 e, m;

	*out = NULL;
	*n = 0;
	if ((e = tpl_scan(tdb, r->account, q, active, c, TPL_ALL, api_today(),
	    &keys, &nkeys)) != ERR_OK)
		return e;
	for (at = 0; e == ERR_OK && at < nkeys && kept < want; at = end) {
		end = at + SCAN_CHUNK < nkeys ? at + SCAN_CHUNK : nkeys;
		if ((e = manage_prefetch(r, keys + at, end - at)) ==
		    ERR_UNAVAILABLE && degraded != NULL) {
			*degraded = 1;
			e = ERR_OK;
		}
		for (i = at; e == ERR_OK && i < end; i++) {
			if (cursor_after(c, &keys[i]) == -1) {
				e = ERR_INTERNAL;
				break;
			}
			m = may_manage(r, &keys[i]);
			if (m == ERR_UNAVAILABLE && degraded != NULL) {
				*degraded = 1;
				m = ERR_FORBIDDEN;
			}
			if (m == ERR_OK) {
				/* Kept: moved down, in order. */
				if (kept != i) {
					keys[kept] = keys[i];
					memset(&keys[i], 0, sizeof(keys[i]));
				}
				kept++;
			} else if (m == ERR_FORBIDDEN || m == ERR_NOT_FOUND)
				tpl_free(&keys[i]);
			else
				e = m;
		}
	}
	/* Not judged (past the last chunk) or not kept: never read whole. */
	for (i = kept; i < nkeys; i++)
		tpl_free(&keys[i]);
	if (e == ERR_OK)
		e = tpl_fill(tdb, keys, &kept, api_today());
	if (e != ERR_OK) {
		tpl_list_free(keys, kept);
		return e;
	}
	*out = keys;
	*n = kept;
	return ERR_OK;
}

/*
 * The page: up to limit templates with what the caller may change, the
 * next cursor, the degraded flag.  n > limit tells that a next page
 * exists.
 */
static enum err
list_write(struct req *r, struct reply *rep, const struct tpl *ts, size_t n,
    size_t limit, int degraded)
{
	struct jw	 w = JW_INIT;
	char		*next = NULL;
	size_t		 i;
	enum err	 e;

	if (n > limit && (next = tpl_json_cursor(&ts[limit - 1])) == NULL)
		return ERR_INTERNAL;
	jw_begin_object(&w, NULL);
	jw_begin_array(&w, "templates");
	for (i = 0; i < n && i < limit; i++)
		tpl_json_write(&w, &ts[i], TPL_FORM_API, can_edit(r, &ts[i]));
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

/*
 * What the caller may use here (the picker), or with manage=true what
 * they manage (the template manager).  Rows say whether the caller may
 * change them (canEdit); what only Jira could tell and cannot counts as
 * no, and the page says degraded.
 */
enum err
route_templates_list(struct req *r, struct reply *rep)
{
	struct list_query lq;
	struct tpl_viewer v;
	struct tpl	*ts = NULL;
	struct tenantdb	*tdb;
	char		*groups = NULL, pbuf[API_PROJECT_ID_BUF];
	size_t		 n = 0;
	int		 degraded = 0;
	enum err	 e;

	if (r->account == NULL)
		return ERR_FORBIDDEN;
	if ((e = list_query_parse(r, rep, &lq)) != ERR_OK)
		return e;
	if ((e = api_tenantdb(r, &tdb)) != ERR_OK)
		goto out;
	if (lq.manage)
		e = managed_scan(r, tdb, lq.q, lq.active, &lq.cursor,
		    (size_t)lq.limit + 1, &degraded, &ts, &n);
	else if ((e = list_viewer(r, tdb, &v, pbuf, sizeof(pbuf), &groups,
	    &degraded)) == ERR_OK)
		e = tpl_list(tdb, &v, lq.q, lq.active, &lq.cursor,
		    (size_t)lq.limit + 1, api_today(), &ts, &n);
	if (e != ERR_OK)
		goto out;
	/* Whether rows may be changed: asked once, not per row. */
	if (manage_prefetch(r, ts, n) == ERR_UNAVAILABLE)
		degraded = 1;
	if (degraded)
		log_msg(LOGL_WARN, r->rid, "reason=list_degraded_jira_down");
	e = list_write(r, rep, ts, n, (size_t)lq.limit, degraded);
out:
	tpl_list_free(ts, n);
	list_query_free(&lq);
	free(groups);
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
		return field_error(r, rep, e, field, -1);
	if ((t.owner = strdup(r->account)) == NULL) {
		tpl_free(&t);
		return ERR_INTERNAL;
	}
	limits(r, &lim);
	if ((e = may_manage(r, &t)) == ERR_OK &&
	    (e = api_tenantdb(r, &tdb)) == ERR_OK &&
	    (e = limit_detail(rep, tpl_create(tdb, &t, clock_now(), &lim),
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
	e = reply_tpl(rep, 200, &t, can_edit(r, &t));
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
		e = field_error(r, rep, ERR_UNPROCESSABLE, "version", -1);
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
		e = field_error(r, rep, e, field, -1);
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
	limits(r, &lim);
	if ((e = limit_detail(rep, tpl_update(tdb, &t, version, clock_now(),
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
		e = field_error(r, rep, ERR_UNPROCESSABLE, "version", -1);
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
		return field_error(r, rep, ERR_UNPROCESSABLE, "values", -1);
	cJSON_ArrayForEach(it, values)
		if (!cJSON_IsString(it))
			return field_error(r, rep, ERR_UNPROCESSABLE, "values",
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
		return field_error(r, rep, ERR_UNPROCESSABLE, "kind", -1);
	if ((e = load_visible(r, &tdb, &t)) != ERR_OK)
		return e;
	if ((e = count_use(r, tdb, t.id, TPL_USE_POSTED)) == ERR_OK)
		rep->status = 204;
	tpl_free(&t);
	return e;
}

/*
 * Appends t as one export entry when the page has room for it; 1 if it
 * did, 0 if the page is full, -1 on no memory.
 */
static int
export_add(struct jw *w, const struct tpl *t)
{
	struct jw	 one = JW_INIT;
	char		*text;
	size_t		 len;

	tpl_json_write(&one, t, TPL_FORM_EXPORT, 0);
	if ((text = jw_finish(&one, &len)) == NULL)
		return -1;
	if (jw_len(w) + len + 64 > EXPORT_PAGE_MAX) {
		free(text);
		return 0;
	}
	jw_raw(w, NULL, text, len);
	free(text);
	return 1;
}

/*
 * GET /api/templates/export?cursor=: the templates the caller manages,
 * in pages of at most EXPORT_PAGE_MAX bytes, each of which imports
 * again; nextCursor leads to the next page.
 */
enum err
route_templates_export(struct req *r, struct reply *rep)
{
	struct tpl_cursor c, at;
	struct tpl	*ts = NULL;
	struct jw	 w = JW_INIT;
	struct tenantdb	*tdb;
	char		*cur = NULL, *next = NULL;
	size_t		 n = 0, i;
	enum err	 e;
	int		 more = 0, rc = 1;

	memset(&c, 0, sizeof(c));
	memset(&at, 0, sizeof(at));
	if (r->account == NULL)
		return ERR_FORBIDDEN;
	if (req_query_param(r->query, "cursor", CURSOR_MAX, &cur) == -1 ||
	    (cur != NULL && tpl_json_cursor_parse(cur, &c) == -1)) {
		free(cur);
		reply_detail(rep, "cursor", -1, -1);
		log_msg(LOGL_WARN, r->rid, "reason=export_cursor_invalid");
		return ERR_BAD_REQUEST;
	}
	free(cur);
	if ((e = api_tenantdb(r, &tdb)) != ERR_OK)
		goto out;
	jw_begin_object(&w, NULL);
	jw_string(&w, "format", "cellar-templates");
	jw_int(&w, "version", 1);
	jw_begin_array(&w, "templates");
	/* Others' personal templates are never even read. */
	do {
		if ((e = managed_scan(r, tdb, NULL, -1, &c, SCAN_CHUNK, NULL,
		    &ts, &n)) != ERR_OK)
			goto out;
		for (i = 0; i < n && rc == 1; i++)
			if ((rc = export_add(&w, &ts[i])) == 1 &&
			    cursor_after(&at, &ts[i]) == -1)
				rc = -1;
		more = rc == 0 || (n >= SCAN_CHUNK && rc == 1);
		tpl_list_free(ts, n);
		ts = NULL;
		n = 0;
	} while (rc == 1 && more);
	e = ERR_INTERNAL;
	if (rc == -1 || (rc == 0 && (!at.set ||
	    (next = tpl_json_cursor_at(&at)) == NULL)))
		goto out;
	jw_end_array(&w);
	if (next != NULL)
		jw_string(&w, "nextCursor", next);
	else
		jw_null(&w, "nextCursor");
	jw_end_object(&w);
	e = reply_jw(rep, 200, &w);
out:
	free(jw_finish(&w, &i));
	tpl_list_free(ts, n);
	free(next);
	free(c.name);
	free(at.name);
	return e;
}

/*
 * POST /api/templates/import: every template valid and the caller's to
 * create, or nothing happens; names free where each goes (renamed
 * "name (2)" otherwise), chosen inside the transaction.
 */
enum err
route_templates_import(struct req *r, struct reply *rep)
{
	struct tpl_limits lim;
	const cJSON	*list, *it, *fmt;
	struct tpl	*ts = NULL;
	struct tenantdb	*tdb;
	cJSON		*o = NULL, *renamed, *ids, *x;
	const char	*field;
	char		**names = NULL;
	long long	*old_ids = NULL;
	size_t		 n = 0, i, cnt;
	enum err	 e;

	if (r->account == NULL)
		return ERR_FORBIDDEN;
	/*
	 * An export's envelope, when there: only what this version writes
	 * (a later format may mean something else by the same fields).
	 */
	fmt = cJSON_GetObjectItemCaseSensitive(r->json, "format");
	if (fmt != NULL && (!cJSON_IsString(fmt) ||
	    strcmp(fmt->valuestring, "cellar-templates") != 0))
		return field_error(r, rep, ERR_UNPROCESSABLE, "format", -1);
	fmt = cJSON_GetObjectItemCaseSensitive(r->json, "version");
	if (fmt != NULL && (!cJSON_IsNumber(fmt) || fmt->valuedouble != 1))
		return field_error(r, rep, ERR_UNPROCESSABLE, "version", -1);
	list = cJSON_GetObjectItemCaseSensitive(r->json, "templates");
	if (!cJSON_IsArray(list))
		return field_error(r, rep, ERR_UNPROCESSABLE, "templates", -1);
	cnt = (size_t)cJSON_GetArraySize(list);
	if (cnt > IMPORT_MAX) {
		reply_detail(rep, "templates", -1, IMPORT_MAX);
		return ERR_LIMIT_IMPORT;
	}
	if ((ts = calloc(cnt ? cnt : 1, sizeof(*ts))) == NULL ||
	    (names = calloc(cnt ? cnt : 1, sizeof(*names))) == NULL ||
	    (old_ids = calloc(cnt ? cnt : 1, sizeof(*old_ids))) == NULL) {
		e = ERR_INTERNAL;
		goto out;
	}
	cJSON_ArrayForEach(it, list) {
		if ((e = tpl_json_parse(it, &ts[n], &field)) != ERR_OK) {
			log_msg(LOGL_WARN, r->rid, "reason=import_invalid "
			    "index=%zu", n);
			/* A row that is no object: the templates member. */
			e = field_error(r, rep, e, field != NULL ? field :
			    "templates", (long long)n);
			goto out;
		}
		/* An exported id, reported back as "from"; else none. */
		if (json_get_int(it, "id", 1, JSON_INT_MAX, &old_ids[n]) !=
		    JSON_OK)
			old_ids[n] = 0;
		if ((ts[n].owner = strdup(r->account)) == NULL) {
			e = ERR_INTERNAL;
			goto out;
		}
		n++;
	}
	/* Ours to create, every one: Jira asked once for all of them. */
	if ((e = manage_prefetch(r, ts, n)) != ERR_OK)
		goto out;
	for (i = 0; i < n; i++)
		if ((e = may_manage(r, &ts[i])) != ERR_OK) {
			log_msg(LOGL_WARN, r->rid, "reason=import_forbidden "
			    "index=%zu", i);
			reply_detail(rep, NULL, (long long)i, -1);
			goto out;
		}
	if ((e = api_tenantdb(r, &tdb)) != ERR_OK)
		goto out;
	limits(r, &lim);
	if ((e = limit_detail(rep, tpl_import_all(tdb, ts, n, clock_now(),
	    &lim, names), &lim)) != ERR_OK)
		goto out;
	e = ERR_INTERNAL;
	if ((o = cJSON_CreateObject()) == NULL ||
	    (renamed = cJSON_AddArrayToObject(o, "renamed")) == NULL ||
	    (ids = cJSON_AddArrayToObject(o, "ids")) == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		if (strcmp(names[i], ts[i].name) != 0) {
			if ((x = cJSON_CreateObject()) == NULL)
				goto out;
			json_add_int(x, "index", (long long)i);
			cJSON_AddStringToObject(x, "from", ts[i].name);
			cJSON_AddStringToObject(x, "to", names[i]);
			cJSON_AddItemToArray(renamed, x);
		}
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
	for (i = 0; names != NULL && i < cnt; i++)
		free(names[i]);
	free(names);
	if (ts != NULL)
		tpl_list_free(ts, cnt ? cnt : 1);
	free(old_ids);
	return e;
}
