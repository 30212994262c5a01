/*
 * Panoramas: /api/panoramas... and /api/issues/{id}/panoramas.  All are
 * context routes; the caller is the token's sub (r->account).
 *
 * The gate: every route needs the app's own Jira global permission
 * (descriptor module jiraGlobalPermissions "use-panoramas", granted to
 * everyone by default, so a site admin can narrow who uses panoramas in
 * Jira's own screens).  Then, on one panorama:
 *
 *   manage  its owner, Jira admins: rename, delete, access entries
 *   edit    manage, or an edit entry (the account, one of its groups,
 *           everyone): change the tree, undo one's own batch
 *   view    edit, or a view entry: read the tree, history, export
 *
 * A panorama the caller may not view is 404, exactly as a missing id
 * (503 for both while the tenant's Jira is down); one they view but may
 * not change is 403.  Inside a panorama they view, an issue node whose
 * issue they may not browse in Jira keeps its place in the tree but not
 * its id ("restricted").  Whatever only Jira can tell fails closed
 * (503) when Jira cannot answer and nothing is cached.
 *
 * This file holds the policy (shared through panoramas.h), single
 * panoramas, the listings, access, export and import;
 * route_panoramas_tree.c the tree, its changes, history and undo and
 * the issue-deleted webhook.  The data is in the library's store
 * (pano.h), JSON in and out in pano_json.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cellar/clock.h"
#include "cellar/json.h"
#include "cellar/log.h"
#include "cellar/pano.h"
#include "cellar/util.h"
#include "api.h"
#include "fcgi.h"
#include "pano_json.h"
#include "panoramas.h"
#include "perm.h"
#include "tree_cache.h"

/* q of the listing: characters. */
#define QUERY_MAX	255
/* The listing's page size when the caller names none. */
#define LIST_DEFAULT	50
/* A listing cursor carries a name of up to 255 characters. */
#define CURSOR_MAX	2048

static const char *const right_names[PANO_RIGHT__MAX] = {
	[PANO_RIGHT_NONE] = "none",
	[PANO_RIGHT_VIEW] = "view",
	[PANO_RIGHT_EDIT] = "edit",
	[PANO_RIGHT_MANAGE] = "manage",
};

enum err
panoramas_gate(struct req *r)
{
	enum err	 e;
	int		 yes;

	if (r->account == NULL) {
		log_msg(LOGL_WARN, r->rid, "reason=no_account");
		return ERR_FORBIDDEN;
	}
	if ((e = perm_app_global(r, PANORAMAS_PERMISSION, &yes)) != ERR_OK)
		return e;
	if (!yes) {
		log_msg(LOGL_WARN, r->rid, "reason=panoramas_not_granted");
		return ERR_FORBIDDEN;
	}
	return ERR_OK;
}

enum err
panoramas_right(struct req *r, struct tenantdb *tdb, const struct pano *p,
    enum pano_right *right)
{
	struct pano_access *a = NULL;
	enum pano_level	 level;
	char		*groups = NULL;
	size_t		 n = 0, i;
	enum err	 e;
	int		 admin, grouped = 0;

	*right = PANO_RIGHT_NONE;
	if (strcmp(p->owner, r->account) == 0) {
		*right = PANO_RIGHT_MANAGE;
		return ERR_OK;
	}
	if ((e = perm_jira_admin(r, &admin)) != ERR_OK)
		return e;
	if (admin) {
		*right = PANO_RIGHT_MANAGE;
		return ERR_OK;
	}
	if ((e = pano_access_get(tdb, p->id, &a, &n)) != ERR_OK)
		return e;
	for (i = 0; i < n; i++)
		if (a[i].grantee == PANO_GRANT_GROUP)
			grouped = 1;
	level = pano_access_level(a, n, r->account, NULL);
	/* Groups only when an entry names one and could give more. */
	if (grouped && level != PANO_LEVEL_EDIT) {
		if ((e = perm_groups(r, &groups)) != ERR_OK)
			goto out;
		level = pano_access_level(a, n, r->account, groups);
	}
	if (level == PANO_LEVEL_EDIT)
		*right = PANO_RIGHT_EDIT;
	else if (level == PANO_LEVEL_VIEW)
		*right = PANO_RIGHT_VIEW;
	e = ERR_OK;
out:
	pano_access_free(a, n);
	free(groups);
	return e;
}

enum err
panoramas_load(struct req *r, enum pano_right need, struct tenantdb **tdb,
    struct pano *p, enum pano_right *have)
{
	enum pano_right	 right;
	long long	 id;
	enum err	 e;

	memset(p, 0, sizeof(*p));
	if ((e = panoramas_gate(r)) != ERR_OK)
		return e;
	/* An id no panorama can have says nothing: plain 404. */
	if (r->nparams < 1 || pano_json_id_parse(r->params[0], &id) == -1)
		return ERR_NOT_FOUND;
	if ((e = api_tenantdb(r, tdb)) != ERR_OK)
		return e;
	if ((e = pano_get(*tdb, id, p)) != ERR_OK)
		return e == ERR_NOT_FOUND ? api_hidden(r) : e;
	if ((e = panoramas_right(r, *tdb, p, &right)) == ERR_OK &&
	    right == PANO_RIGHT_NONE)
		e = api_hidden(r);
	else if (e == ERR_OK && right < need) {
		log_msg(LOGL_WARN, r->rid, "reason=panorama_right need=%s "
		    "have=%s", right_names[need], right_names[right]);
		e = ERR_FORBIDDEN;
	}
	if (e != ERR_OK) {
		pano_free(p);
		memset(p, 0, sizeof(*p));
		return e;
	}
	if (have != NULL)
		*have = right;
	return ERR_OK;
}

enum err
panoramas_viewer(struct req *r, struct pano_viewer *v, char **groups)
{
	enum err	 e;
	int		 admin;

	memset(v, 0, sizeof(*v));
	*groups = NULL;
	v->account = r->account;
	if ((e = perm_jira_admin(r, &admin)) != ERR_OK)
		return e;
	v->admin = admin;
	/* An admin sees every panorama: their groups change nothing. */
	if (!admin && (e = perm_groups(r, groups)) != ERR_OK)
		return e;
	v->groups = *groups;
	return ERR_OK;
}

void
panoramas_limits(const struct req *r, struct pano_limits *lim)
{
	lim->nodes_max = conf_int(r->app->cfg, C_PANORAMAS_NODES_MAX);
	lim->per_tenant_max = conf_int(r->app->cfg,
	    C_PANORAMAS_PER_TENANT_MAX);
	lim->apply_ms = PANO_APPLY_MS;
}

enum err
panoramas_fault(struct req *r, struct reply *rep, enum err e,
    const struct pano_json_fault *f)
{
	if (e == ERR_INTERNAL || e == ERR_OK)
		return e;
	reply_detail(rep, f->field, f->index, f->limit);
	reply_reason(rep, f->reason, -1);
	log_msg(LOGL_WARN, r->rid, "reason=panorama_invalid why=%s field=%s "
	    "index=%lld", f->reason != NULL ? f->reason : err_code(e),
	    f->field != NULL ? f->field : "-", f->index);
	return e;
}

enum err
panoramas_hide(struct req *r, const struct pano_row *rows, size_t n,
    unsigned char **hidden_rows)
{
	long long	*ids = NULL;
	unsigned char	*hide, *ok = NULL;
	size_t		 i, k = 0;
	enum err	 e = ERR_INTERNAL;

	if ((*hidden_rows = hide = calloc(n ? n : 1, 1)) == NULL)
		return ERR_INTERNAL;
	if (n == 0)
		return ERR_OK;
	ids = calloc(n, sizeof(*ids));
	ok = calloc(n, 1);
	if (ids == NULL || ok == NULL)
		goto out;
	for (i = 0; i < n; i++)
		if (rows[i].kind == PANO_ISSUE)
			ids[k++] = rows[i].issue;
	if ((e = perm_issues(r, ids, k, ok)) != ERR_OK)
		goto out;
	for (i = 0, k = 0; i < n; i++)
		if (rows[i].kind == PANO_ISSUE)
			hide[i] = !ok[k++];
out:
	free(ids);
	free(ok);
	if (e != ERR_OK) {
		free(hide);
		*hidden_rows = NULL;
	}
	return e;
}

enum err
panoramas_reply(struct reply *rep, int status, const struct pano *p,
    enum pano_right right)
{
	struct jw	 w = JW_INIT;

	pano_json_write(&w, p, right >= PANO_RIGHT_EDIT,
	    right >= PANO_RIGHT_MANAGE);
	return reply_jw(rep, status, &w);
}

int
panoramas_param_int(const struct req *r, const char *name, long long min,
    long long max, long long def, long long *out)
{
	char	*v = NULL;
	int	 rc;

	*out = def;
	if ((rc = req_query_param(r->query, name, 20, &v)) == 1)
		return 0;
	rc = rc == 0 && util_strtonum(v, min, max, out) == 0 ? 0 : -1;
	free(v);
	return rc;
}

enum err
panoramas_param_error(struct req *r, struct reply *rep, const char *name)
{
	reply_detail(rep, name, -1, -1);
	log_msg(LOGL_WARN, r->rid, "reason=query_invalid field=%s", name);
	return ERR_BAD_REQUEST;
}

/*
 * Writes ps[0..n) (at most limit of them) with the caller's rights into
 * an array named key.
 */
static enum err
list_write(struct req *r, struct tenantdb *tdb, struct jw *w,
    const struct pano *ps, size_t n)
{
	enum pano_right	 right;
	size_t		 i;
	enum err	 e;

	jw_begin_array(w, "panoramas");
	for (i = 0; i < n; i++) {
		if ((e = panoramas_right(r, tdb, &ps[i], &right)) != ERR_OK)
			return e;
		pano_json_write(w, &ps[i], right >= PANO_RIGHT_EDIT,
		    right >= PANO_RIGHT_MANAGE);
	}
	jw_end_array(w);
	return ERR_OK;
}

/*
 * GET /api/panoramas?q=&limit=&cursor=: the panoramas the caller may
 * view, by name then id, keyset-paged.
 */
enum err
route_panoramas_list(struct req *r, struct reply *rep)
{
	struct pano_viewer v;
	struct pano	*ps = NULL;
	struct tenantdb	*tdb;
	struct jw	 w = JW_INIT;
	char		*q = NULL, *cur = NULL, *after = NULL;
	char		*groups = NULL, *next = NULL;
	long long	 limit, after_id = 0;
	size_t		 n = 0, want, shown;
	enum err	 e;

	if ((e = panoramas_gate(r)) != ERR_OK)
		return e;
	if (req_query_param(r->query, "q", QUERY_MAX * 4, &q) == -1 ||
	    (q != NULL && (util_utf8_chars(q) > QUERY_MAX ||
	    !util_printable(q)))) {
		e = panoramas_param_error(r, rep, "q");
		goto out;
	}
	if (panoramas_param_int(r, "limit", 1, PANO_PAGE_MAX, LIST_DEFAULT,
	    &limit) == -1) {
		e = panoramas_param_error(r, rep, "limit");
		goto out;
	}
	if (req_query_param(r->query, "cursor", CURSOR_MAX, &cur) == -1 ||
	    (cur != NULL && pano_json_list_cursor_parse(cur, &after,
	    &after_id) == -1)) {
		e = panoramas_param_error(r, rep, "cursor");
		goto out;
	}
	if ((e = api_tenantdb(r, &tdb)) != ERR_OK ||
	    (e = panoramas_viewer(r, &v, &groups)) != ERR_OK)
		goto out;
	/* One more than shown tells whether a next page exists. */
	want = (size_t)limit < PANO_PAGE_MAX ? (size_t)limit + 1 :
	    PANO_PAGE_MAX;
	/* q is folded there (collate_fold); "" finds every one. */
	if ((e = pano_list(tdb, &v, q != NULL && q[0] != '\0' ? q : NULL,
	    after, after_id, want, &ps, &n)) != ERR_OK)
		goto out;
	shown = n < (size_t)limit ? n : (size_t)limit;
	e = ERR_INTERNAL;
	if ((n > (size_t)limit || (n == want && want == (size_t)limit)) &&
	    shown > 0 && (next = pano_json_list_cursor(ps[shown - 1].name,
	    ps[shown - 1].id)) == NULL)
		goto out;
	jw_begin_object(&w, NULL);
	if ((e = list_write(r, tdb, &w, ps, shown)) != ERR_OK)
		goto out;
	pano_json_next(&w, next);
	jw_end_object(&w);
	e = reply_jw(rep, 200, &w);
out:
	free(jw_finish(&w, NULL));
	pano_list_free(ps, n);
	free(q);
	free(cur);
	free(after);
	free(groups);
	free(next);
	return e;
}

/* POST /api/panoramas {"name", "description"?}: 201, the caller owns it. */
enum err
route_panoramas_create(struct req *r, struct reply *rep)
{
	struct pano_json_fault f;
	struct pano_limits lim;
	struct pano	 p;
	struct tenantdb	*tdb;
	enum err	 e;

	memset(&p, 0, sizeof(p));
	if ((e = panoramas_gate(r)) != ERR_OK)
		return e;
	if ((e = pano_json_fields(r->json, 0, &p, NULL, &f)) != ERR_OK)
		return panoramas_fault(r, rep, e, &f);
	e = ERR_INTERNAL;
	if ((p.owner = strdup(r->account)) == NULL)
		goto out;
	panoramas_limits(r, &lim);
	if ((e = api_tenantdb(r, &tdb)) != ERR_OK)
		goto out;
	if ((e = pano_create(tdb, &p, clock_now(), &lim)) ==
	    ERR_LIMIT_PANORAMAS)
		reply_detail(rep, NULL, -1, lim.per_tenant_max);
	if (e == ERR_OK)
		e = panoramas_reply(rep, 201, &p, PANO_RIGHT_MANAGE);
out:
	pano_free(&p);
	return e;
}

/* GET /api/panoramas/{id}. */
enum err
route_panoramas_get(struct req *r, struct reply *rep)
{
	struct pano	 p;
	struct tenantdb	*tdb;
	enum pano_right	 right;
	enum err	 e;

	if ((e = panoramas_load(r, PANO_RIGHT_VIEW, &tdb, &p, &right)) !=
	    ERR_OK)
		return e;
	e = panoramas_reply(rep, 200, &p, right);
	pano_free(&p);
	return e;
}

/*
 * PATCH /api/panoramas/{id} {"version", "name"?, "description"?}: the
 * version read, else 409 with the current one.
 */
enum err
route_panoramas_patch(struct req *r, struct reply *rep)
{
	struct pano_json_fault f;
	struct pano	 p, np;
	struct tenantdb	*tdb;
	long long	 version;
	enum err	 e;

	memset(&np, 0, sizeof(np));
	if ((e = panoramas_load(r, PANO_RIGHT_MANAGE, &tdb, &p, NULL)) !=
	    ERR_OK)
		return e;
	if ((e = pano_json_fields(r->json, 1, &np, &version, &f)) != ERR_OK) {
		e = panoramas_fault(r, rep, e, &f);
		goto out;
	}
	if (version != p.version) {
		reply_reason(rep, NULL, p.version);
		e = ERR_CONFLICT;
		goto out;
	}
	if (np.name != NULL) {
		free(p.name);
		p.name = np.name;
		np.name = NULL;
	}
	if (np.description != NULL) {
		free(p.description);
		p.description = np.description;
		np.description = NULL;
	}
	if ((e = pano_update(tdb, &p, version, clock_now())) == ERR_CONFLICT)
		reply_reason(rep, NULL, p.version);
	else if (e == ERR_NOT_FOUND)
		e = api_hidden(r);
	else if (e == ERR_OK)
		e = panoramas_reply(rep, 200, &p, PANO_RIGHT_MANAGE);
out:
	pano_free(&p);
	pano_free(&np);
	return e;
}

/* DELETE /api/panoramas/{id}?version=N: 204; stale: 409 + version. */
enum err
route_panoramas_delete(struct req *r, struct reply *rep)
{
	struct pano	 p, now;
	struct tenantdb	*tdb;
	long long	 version;
	enum err	 e;

	/* Who may, first: a refusal never depends on the query. */
	if ((e = panoramas_load(r, PANO_RIGHT_MANAGE, &tdb, &p, NULL)) !=
	    ERR_OK)
		return e;
	if (panoramas_param_int(r, "version", 1, JSON_INT_MAX, 0,
	    &version) == -1 || version == 0) {
		reply_detail(rep, "version", -1, -1);
		e = api_field_error(r, ERR_UNPROCESSABLE, "panorama_invalid",
		    "version");
		goto out;
	}
	if (version != p.version) {
		reply_reason(rep, NULL, p.version);
		e = ERR_CONFLICT;
		goto out;
	}
	e = pano_delete(tdb, p.id, version);
	if (e == ERR_CONFLICT && pano_get(tdb, p.id, &now) == ERR_OK) {
		reply_reason(rep, NULL, now.version);
		pano_free(&now);
	} else if (e == ERR_NOT_FOUND)
		e = api_hidden(r);
	else if (e == ERR_OK)
		rep->status = 204;
out:
	pano_free(&p);
	return e;
}

/* The access entries of panorama id as {"entries": [...]}. */
static enum err
access_reply(struct reply *rep, struct tenantdb *tdb, long long id)
{
	struct pano_access *a = NULL;
	struct jw	 w = JW_INIT;
	size_t		 n = 0;
	enum err	 e;

	if ((e = pano_access_get(tdb, id, &a, &n)) != ERR_OK)
		return e;
	jw_begin_object(&w, NULL);
	jw_begin_array(&w, "entries");
	pano_json_access_write(&w, a, n);
	jw_end_array(&w);
	jw_end_object(&w);
	pano_access_free(a, n);
	return reply_jw(rep, 200, &w);
}

/* GET /api/panoramas/{id}/access: who besides its managers. */
enum err
route_panoramas_access_get(struct req *r, struct reply *rep)
{
	struct pano	 p;
	struct tenantdb	*tdb;
	enum err	 e;

	if ((e = panoramas_load(r, PANO_RIGHT_MANAGE, &tdb, &p, NULL)) !=
	    ERR_OK)
		return e;
	e = access_reply(rep, tdb, p.id);
	pano_free(&p);
	return e;
}

/* PUT /api/panoramas/{id}/access {"entries": [...]}: all replaced. */
enum err
route_panoramas_access_put(struct req *r, struct reply *rep)
{
	struct pano_json_fault f;
	struct pano_access *a = NULL;
	struct pano	 p;
	struct tenantdb	*tdb;
	size_t		 n = 0;
	enum err	 e;

	if ((e = panoramas_load(r, PANO_RIGHT_MANAGE, &tdb, &p, NULL)) !=
	    ERR_OK)
		return e;
	if ((e = pano_json_access(r->json, &a, &n, &f)) != ERR_OK) {
		e = panoramas_fault(r, rep, e, &f);
		goto out;
	}
	if ((e = pano_access_set(tdb, p.id, a, n, clock_now())) ==
	    ERR_UNPROCESSABLE)
		e = api_field_error(r, e, "panorama_invalid", "entries");
	else if (e == ERR_NOT_FOUND)
		e = api_hidden(r);
	else if (e == ERR_OK)
		e = access_reply(rep, tdb, p.id);
out:
	pano_access_free(a, n);
	pano_free(&p);
	return e;
}

/*
 * GET /api/issues/{issueId}/panoramas: the panoramas the caller may
 * view that show the issue (the issue panel).  An issue the caller may
 * not browse is 404, as a malformed id.
 */
enum err
route_issue_panoramas(struct req *r, struct reply *rep)
{
	struct pano_viewer v;
	struct pano	*ps = NULL;
	struct tenantdb	*tdb;
	struct jw	 w = JW_INIT;
	char		*groups = NULL;
	long long	 issue;
	unsigned char	 ok = 0;
	size_t		 n = 0;
	enum err	 e;

	if ((e = panoramas_gate(r)) != ERR_OK)
		return e;
	if (r->nparams < 1 || pano_json_id_parse(r->params[0], &issue) == -1)
		return ERR_NOT_FOUND;
	if ((e = perm_issues(r, &issue, 1, &ok)) != ERR_OK)
		return e;
	if (!ok) {
		log_msg(LOGL_WARN, r->rid, "reason=issue_not_browsable");
		return ERR_NOT_FOUND;
	}
	if ((e = api_tenantdb(r, &tdb)) != ERR_OK ||
	    (e = panoramas_viewer(r, &v, &groups)) != ERR_OK ||
	    (e = pano_list_with_issue(tdb, &v, issue, &ps, &n)) != ERR_OK)
		goto out;
	jw_begin_object(&w, NULL);
	if ((e = list_write(r, tdb, &w, ps, n)) != ERR_OK)
		goto out;
	jw_end_object(&w);
	e = reply_jw(rep, 200, &w);
out:
	free(jw_finish(&w, NULL));
	pano_list_free(ps, n);
	free(groups);
	return e;
}

/*
 * GET /api/panoramas/{id}/export: the panorama as import takes it, its
 * issues the caller may not browse as restricted rows (which an import
 * refuses: the caller cannot pass on what they cannot see).
 */
enum err
route_panoramas_export(struct req *r, struct reply *rep)
{
	struct pano	 p;
	const struct pano_row *rows = NULL;
	struct tenantdb	*tdb;
	struct jw	 w = JW_INIT;
	unsigned char	*hide = NULL;
	long long	 version;
	size_t		 n = 0, i;
	enum err	 e;

	if ((e = panoramas_load(r, PANO_RIGHT_VIEW, &tdb, &p, NULL)) !=
	    ERR_OK)
		return e;
	if ((e = tree_cache_get(r, tdb, &p, &rows, &n, &version)) != ERR_OK) {
		if (e == ERR_NOT_FOUND)
			e = api_hidden(r);
		goto out;
	}
	if ((e = panoramas_hide(r, rows, n, &hide)) != ERR_OK)
		goto out;
	jw_begin_object(&w, NULL);
	jw_string(&w, "format", "cellar.panorama");
	jw_int(&w, "formatVersion", 1);
	jw_string(&w, "name", p.name);
	jw_string(&w, "description", p.description);
	jw_begin_array(&w, "rows");
	for (i = 0; i < n; i++)
		pano_json_row(&w, &rows[i], 0, hide[i]);
	jw_end_array(&w);
	jw_end_object(&w);
	e = reply_jw(rep, 200, &w);
out:
	free(jw_finish(&w, NULL));
	free(hide);
	pano_free(&p);
	return e;
}

/*
 * POST /api/panoramas/import: an export (or the like) as a new panorama
 * the caller owns, all or nothing; every issue of it one the caller may
 * browse.
 */
enum err
route_panoramas_import(struct req *r, struct reply *rep)
{
	struct pano_json_fault f;
	struct pano_limits lim;
	struct pano	 p;
	struct pano_row	*rows = NULL;
	struct tenantdb	*tdb;
	unsigned char	*hide = NULL;
	size_t		 n = 0, i, bad = 0;
	enum err	 e;

	memset(&p, 0, sizeof(p));
	if ((e = panoramas_gate(r)) != ERR_OK)
		return e;
	panoramas_limits(r, &lim);
	if ((e = pano_json_import(r->json, lim.nodes_max, &p, &rows, &n,
	    &f)) != ERR_OK)
		return panoramas_fault(r, rep, e, &f);
	e = ERR_INTERNAL;
	if ((p.owner = strdup(r->account)) == NULL)
		goto out;
	/* Jira asked once per 1,000 issues, before anything is written. */
	if ((e = panoramas_hide(r, rows, n, &hide)) != ERR_OK)
		goto out;
	for (i = 0; i < n; i++)
		if (hide[i]) {
			f.field = "rows";
			f.index = (long long)i;
			f.reason = "issue_not_browsable";
			f.limit = -1;
			e = panoramas_fault(r, rep, ERR_UNPROCESSABLE, &f);
			goto out;
		}
	if ((e = api_tenantdb(r, &tdb)) != ERR_OK)
		goto out;
	e = pano_import(tdb, &p, rows, n, &lim, clock_now(), &bad);
	if (e == ERR_UNPROCESSABLE) {
		f.field = "rows";
		f.index = (long long)bad;
		f.reason = "row";
		f.limit = -1;
		e = panoramas_fault(r, rep, e, &f);
	} else if (e == ERR_LIMIT_NODES)
		reply_detail(rep, "rows", -1, lim.nodes_max);
	else if (e == ERR_LIMIT_PANORAMAS)
		reply_detail(rep, NULL, -1, lim.per_tenant_max);
	else if (e == ERR_OK)
		e = panoramas_reply(rep, 201, &p, PANO_RIGHT_MANAGE);
out:
	free(hide);
	pano_rows_free(rows, n);
	pano_free(&p);
	return e;
}
