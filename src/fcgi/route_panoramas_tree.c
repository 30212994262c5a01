/*
 * A panorama's tree: read in pages, changed in versioned batches of
 * actions, its history and the undo of one's own latest batch; and the
 * issue-deleted webhook, by which Jira tells that an issue is gone.
 * The policy (gate, levels, issue visibility) is in route_panoramas.c
 * (panoramas.h).
 *
 * Paging the tree: every page is cut from the whole tree as one read
 * transaction saw it (pano_tree), at the version the cursor names; once
 * the panorama has changed, the next page is 409 with the new version
 * and the client reads again from the top, so no walk ever mixes two
 * versions of the tree.
 */
#include <stdlib.h>
#include <string.h>

#include "cellar/clock.h"
#include "cellar/json.h"
#include "cellar/log.h"
#include "cellar/pano.h"
#include "api.h"
#include "fcgi.h"
#include "pano_json.h"
#include "panoramas.h"
#include "tree_cache.h"
#include "perm.h"

/* Tree rows per page when the caller names no limit. */
#define TREE_DEFAULT	500
/* History batches per page when the caller names no limit. */
#define HISTORY_DEFAULT	50
/* A cursor of a few integers. */
#define CURSOR_NUMS_MAX	256

/*
 * Cursor parameter name as n integers into v; 1 when absent, 0, or -1
 * when malformed.
 */
static int
cursor_param(const struct req *r, const char *name, long long *v, size_t n)
{
	char	*s = NULL;
	int	 rc;

	if ((rc = req_query_param(r->query, name, CURSOR_NUMS_MAX, &s)) == 0)
		rc = pano_json_cursor_parse(s, v, n);
	free(s);
	return rc;
}

/*
 * GET /api/panoramas/{id}/tree?from=&limit=: up to limit rows in
 * pre-order from the cursor's offset, at the cursor's version (409 with
 * the current version once it moved on).
 */
enum err
route_panoramas_tree(struct req *r, struct reply *rep)
{
	struct pano	 p;
	const struct pano_row *rows = NULL;
	struct tenantdb	*tdb;
	struct jw	 w = JW_INIT;
	unsigned char	*hide = NULL;
	char		*next = NULL;
	long long	 limit, version, from[2] = { 0, 0 };
	size_t		 n = 0, off, cnt, i;
	enum err	 e;
	int		 rc;

	if ((e = panoramas_load(r, PANO_RIGHT_VIEW, &tdb, &p, NULL)) !=
	    ERR_OK)
		return e;
	if (panoramas_param_int(r, "limit", 1, PANO_NODES_HARD, TREE_DEFAULT,
	    &limit) == -1) {
		e = panoramas_param_error(r, rep, "limit");
		goto out;
	}
	if ((rc = cursor_param(r, "from", from, 2)) == -1 ||
	    (rc == 0 && from[0] < 1)) {
		e = panoramas_param_error(r, rep, "from");
		goto out;
	}
	/* A page of a version read lately costs no read of the tree. */
	if ((e = tree_cache_get(r, tdb, &p, &rows, &n, &version)) != ERR_OK)
		goto out;
	if (rc == 0 && from[0] != version) {
		log_msg(LOGL_INFO, r->rid, "reason=tree_version_moved");
		reply_reason(rep, NULL, version);
		e = ERR_CONFLICT;
		goto out;
	}
	if ((unsigned long long)from[1] > n) {
		e = panoramas_param_error(r, rep, "from");
		goto out;
	}
	off = (size_t)from[1];
	cnt = n - off < (size_t)limit ? n - off : (size_t)limit;
	/* Jira is asked only about this page's issues not cached. */
	if ((e = panoramas_hide(r, rows + off, cnt, &hide)) != ERR_OK)
		goto out;
	if (off + cnt < n) {
		from[0] = version;
		from[1] = (long long)(off + cnt);
		if ((next = pano_json_cursor(from, 2)) == NULL) {
			e = ERR_INTERNAL;
			goto out;
		}
	}
	jw_begin_object(&w, NULL);
	jw_int(&w, "version", version);
	jw_begin_array(&w, "rows");
	for (i = 0; i < cnt; i++)
		pano_json_row(&w, &rows[off + i], 1, hide[i]);
	jw_end_array(&w);
	pano_json_next(&w, next);
	jw_end_object(&w);
	e = reply_jw(rep, 200, &w);
out:
	free(jw_finish(&w, NULL));
	free(next);
	free(hide);
	pano_free(&p);
	return e;
}

/*
 * The first action that would take the tree past lim: a batch adding
 * more than nodes_max nodes is refused before Jira is asked about its
 * issues (a batch may hold a million ids; a tree never more than
 * nodes_max).  -1 when there is none.
 */
static long long
actions_over(const struct pano_json_batch *b, const struct pano_limits *lim)
{
	long long	 nodes = 0;
	size_t		 i;

	for (i = 0; i < b->n; i++) {
		if (b->acts[i].op == PANO_OP_ADD)
			nodes += (long long)b->acts[i].nissues;
		else if (b->acts[i].op == PANO_OP_ADD_FOLDER)
			nodes++;
		if (nodes > lim->nodes_max)
			return (long long)i;
	}
	return -1;
}

/*
 * Every issue the batch adds must be one the caller may browse: ERR_OK,
 * or 422 naming the first action that adds one they may not.
 */
static enum err
actions_browsable(struct req *r, struct reply *rep,
    const struct pano_json_batch *b)
{
	struct pano_json_fault f;
	unsigned char	*ok;
	size_t		 i;
	enum err	 e;

	if (b->nids == 0)
		return ERR_OK;
	if ((ok = calloc(b->nids, 1)) == NULL)
		return ERR_INTERNAL;
	if ((e = perm_issues(r, b->ids, b->nids, ok)) == ERR_OK)
		for (i = 0; i < b->nids; i++)
			if (!ok[i]) {
				f.field = "actions";
				f.index = (long long)b->owner[i];
				f.reason = "issue_not_browsable";
				f.limit = -1;
				e = panoramas_fault(r, rep,
				    ERR_UNPROCESSABLE, &f);
				break;
			}
	free(ok);
	return e;
}

/*
 * POST /api/panoramas/{id}/actions {"version", "actions": [...]}: the
 * whole batch checked (shape, then the caller's right to browse every
 * issue it adds), then applied all or none at that version.  200
 * {"version", "added": [node ids]}.
 */
enum err
route_panoramas_actions(struct req *r, struct reply *rep)
{
	struct pano_json_batch b;
	struct pano_json_fault f;
	struct pano_limits lim;
	struct pano_result res;
	struct pano	 p;
	struct tenantdb	*tdb;
	struct jw	 w = JW_INIT;
	long long	 over;
	size_t		 i;
	enum err	 e;

	memset(&b, 0, sizeof(b));
	memset(&res, 0, sizeof(res));
	if ((e = panoramas_load(r, PANO_RIGHT_EDIT, &tdb, &p, NULL)) !=
	    ERR_OK)
		return e;
	if ((e = pano_json_actions(r->json, &b, &f)) != ERR_OK) {
		e = panoramas_fault(r, rep, e, &f);
		goto out;
	}
	/* Stale already: Jira need not be asked about anything. */
	if (b.version != p.version) {
		reply_reason(rep, NULL, p.version);
		e = ERR_CONFLICT;
		goto out;
	}
	panoramas_limits(r, &lim);
	if ((over = actions_over(&b, &lim)) >= 0) {
		reply_detail(rep, "actions", over, lim.nodes_max);
		e = ERR_LIMIT_NODES;
		goto out;
	}
	if ((e = actions_browsable(r, rep, &b)) != ERR_OK)
		goto out;
	e = pano_apply(tdb, p.id, b.version, r->account, b.acts, b.n, &lim,
	    clock_now(), &res);
	switch (e) {
	case ERR_OK:
		break;
	case ERR_CONFLICT:
		reply_reason(rep, NULL, res.version);
		goto out;
	case ERR_UNPROCESSABLE:
		f.field = "actions";
		f.index = (long long)res.index;
		f.reason = pano_fault_code(res.fault);
		f.limit = -1;
		e = panoramas_fault(r, rep, e, &f);
		goto out;
	case ERR_LIMIT_NODES:
		reply_detail(rep, "actions", (long long)res.index,
		    lim.nodes_max);
		goto out;
	case ERR_LIMIT_ACTIONS:
		reply_detail(rep, "actions", -1, PANO_ACTIONS_MAX);
		goto out;
	case ERR_LIMIT_TIME:
		/* The limit in milliseconds; the log says how far it got. */
		log_msg(LOGL_WARN, r->rid, "reason=batch_too_slow index=%zu "
		    "actions=%zu", res.index, b.n);
		reply_detail(rep, "actions", (long long)res.index,
		    PANO_APPLY_MS);
		goto out;
	default:
		goto out;
	}
	jw_begin_object(&w, NULL);
	jw_int(&w, "version", res.version);
	jw_begin_array(&w, "added");
	for (i = 0; i < res.nadded; i++)
		pano_json_id(&w, NULL, res.added[i]);
	jw_end_array(&w);
	jw_end_object(&w);
	e = reply_jw(rep, 200, &w);
	log_msg(LOGL_INFO, r->rid, "event=panorama_batch actions=%zu "
	    "added=%zu", b.n, res.nadded);
out:
	free(jw_finish(&w, NULL));
	pano_result_free(&res);
	pano_json_batch_free(&b);
	pano_free(&p);
	return e;
}

/* The issues a history page names, sorted, with the caller's answers. */
struct seen {
	long long	*ids;
	unsigned char	*ok;
	size_t		 n;
};

static int
ll_cmp(const void *a, const void *b)
{
	long long	 x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

/* pano_json_batch_write's question: may the caller browse issue? */
static int
seen_visible(void *ctx, long long issue)
{
	const struct seen *s = ctx;
	const long long	*hit;

	hit = s->n > 0 ? bsearch(&issue, s->ids, s->n, sizeof(*s->ids),
	    ll_cmp) : NULL;
	return hit != NULL && s->ok[hit - s->ids];
}

/* Asks about every issue bs[0..n) name, each once. */
static enum err
seen_ask(struct req *r, const struct pano_batch *bs, size_t n,
    struct seen *s)
{
	size_t	 cap = 0, i, k;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < n; i++)
		if (bs[i].what != NULL &&
		    pano_json_what_issues(bs[i].what, &s->ids, &s->n, &cap) ==
		    -1)
			return ERR_INTERNAL;
	if (s->n == 0)
		return ERR_OK;
	qsort(s->ids, s->n, sizeof(*s->ids), ll_cmp);
	for (i = 1, k = 1; i < s->n; i++)
		if (s->ids[i] != s->ids[k - 1])
			s->ids[k++] = s->ids[i];
	s->n = k;
	if ((s->ok = calloc(s->n, 1)) == NULL)
		return ERR_INTERNAL;
	return perm_issues(r, s->ids, s->n, s->ok);
}

/*
 * GET /api/panoramas/{id}/history?cursor=&limit=: batches newest first;
 * the issue ids the caller may not browse are left out of them.
 */
enum err
route_panoramas_history(struct req *r, struct reply *rep)
{
	struct pano	 p;
	struct pano_batch *bs = NULL;
	struct tenantdb	*tdb;
	struct seen	 s;
	struct jw	 w = JW_INIT;
	char		*next = NULL;
	long long	 limit, before = 0;
	size_t		 n = 0, shown, i;
	enum err	 e;
	int		 rc;

	memset(&s, 0, sizeof(s));
	if ((e = panoramas_load(r, PANO_RIGHT_VIEW, &tdb, &p, NULL)) !=
	    ERR_OK)
		return e;
	if (panoramas_param_int(r, "limit", 1, PANO_PAGE_MAX,
	    HISTORY_DEFAULT, &limit) == -1) {
		e = panoramas_param_error(r, rep, "limit");
		goto out;
	}
	if ((rc = cursor_param(r, "cursor", &before, 1)) == -1 ||
	    (rc == 0 && before < 1)) {
		e = panoramas_param_error(r, rep, "cursor");
		goto out;
	}
	if ((e = pano_history(tdb, p.id, before, (size_t)limit + 1, &bs,
	    &n)) != ERR_OK)
		goto out;
	shown = n < (size_t)limit ? n : (size_t)limit;
	if ((e = seen_ask(r, bs, shown, &s)) != ERR_OK)
		goto out;
	if (n > shown && (next = pano_json_cursor(&bs[shown - 1].id, 1)) ==
	    NULL) {
		e = ERR_INTERNAL;
		goto out;
	}
	jw_begin_object(&w, NULL);
	jw_begin_array(&w, "batches");
	for (i = 0; i < shown; i++)
		pano_json_batch_write(&w, &bs[i], seen_visible, &s);
	jw_end_array(&w);
	pano_json_next(&w, next);
	jw_end_object(&w);
	e = reply_jw(rep, 200, &w);
out:
	free(jw_finish(&w, NULL));
	free(next);
	free(s.ids);
	free(s.ok);
	pano_history_free(bs, n);
	pano_free(&p);
	return e;
}

/*
 * POST /api/panoramas/{id}/undo: reverts the caller's latest batch.
 * 200 {"version"}; nothing to undo 404; blocked by a later change 409
 * with the current version (reason undo_blocked), or by an issue it
 * would bring back that the caller may no longer browse, deleted in
 * Jira say (reason issue_not_browsable).  It takes no body (a body of {} only, where
 * the route lets one through).
 */
enum err
route_panoramas_undo(struct req *r, struct reply *rep)
{
	struct pano_limits lim;
	struct pano	 p;
	struct tenantdb	*tdb;
	struct jw	 w = JW_INIT;
	long long	 version = 0, *ids = NULL;
	unsigned char	*ok = NULL;
	size_t		 nids = 0, i;
	enum err	 e;

	if ((e = panoramas_load(r, PANO_RIGHT_EDIT, &tdb, &p, NULL)) !=
	    ERR_OK)
		return e;
	if (r->json != NULL && (!cJSON_IsObject(r->json) ||
	    r->json->child != NULL)) {
		pano_free(&p);
		return api_field_error(r, ERR_UNPROCESSABLE,
		    "panorama_invalid", NULL);
	}
	/*
	 * What it would put back must be issues the caller may still
	 * browse: one deleted since (the webhook found no node of it then)
	 * or closed to them is never brought back.
	 */
	if ((e = pano_undo_issues(tdb, p.id, r->account, &ids, &nids)) !=
	    ERR_OK || (nids > 0 && (ok = calloc(nids, 1)) == NULL)) {
		e = e != ERR_OK ? e : ERR_INTERNAL;
		goto out;
	}
	if (nids > 0 && (e = perm_issues(r, ids, nids, ok)) != ERR_OK)
		goto out;
	for (i = 0; i < nids; i++)
		if (!ok[i]) {
			log_msg(LOGL_INFO, r->rid, "reason=undo_issue_gone");
			reply_reason(rep, "issue_not_browsable", p.version);
			e = ERR_CONFLICT;
			goto out;
		}
	panoramas_limits(r, &lim);
	e = pano_undo(tdb, p.id, r->account, &lim, clock_now(), &version);
	if (e == ERR_NOT_FOUND)
		log_msg(LOGL_INFO, r->rid, "reason=nothing_to_undo");
	else if (e == ERR_CONFLICT) {
		log_msg(LOGL_INFO, r->rid, "reason=undo_blocked");
		reply_reason(rep, "undo_blocked", version);
	}
	if (e != ERR_OK)
		goto out;
	jw_begin_object(&w, NULL);
	jw_int(&w, "version", version);
	jw_end_object(&w);
	e = reply_jw(rep, 200, &w);
out:
	free(ids);
	free(ok);
	pano_free(&p);
	return e;
}

/*
 * The deleted issue's id in a Jira webhook payload: issue.id, a string
 * of digits or an integer.  0, or -1 when there is none.
 */
static int
webhook_issue_id(const cJSON *body, long long *id)
{
	const cJSON	*issue, *v;

	issue = cJSON_GetObjectItemCaseSensitive(body, "issue");
	if (!cJSON_IsObject(issue) ||
	    (v = cJSON_GetObjectItemCaseSensitive(issue, "id")) == NULL)
		return -1;
	if (cJSON_IsString(v))
		return pano_json_id_parse(v->valuestring, id);
	return json_get_int(issue, "id", 1, JSON_INT_MAX, id) == JSON_OK ?
	    0 : -1;
}

enum err
panoramas_issue_deleted(struct req *r, const cJSON *body)
{
	struct tenantdb	*tdb;
	long long	 issue;
	size_t		 removed = 0;
	enum err	 e;

	if (webhook_issue_id(body, &issue) == -1) {
		log_msg(LOGL_WARN, r->rid, "reason=webhook_no_issue_id");
		return ERR_BAD_REQUEST;
	}
	if ((e = api_tenantdb(r, &tdb)) != ERR_OK ||
	    (e = pano_issue_deleted(tdb, issue, clock_now(), &removed)) !=
	    ERR_OK)
		return e;
	log_msg(LOGL_INFO, r->rid, "event=issue_deleted removed=%zu",
	    removed);
	return ERR_OK;
}

/*
 * POST /webhooks/issue-deleted (Jira, jira:issue_deleted): every node
 * of the issue goes, in every panorama of the tenant.  204, also when
 * none showed it (Jira may send a webhook more than once); 400 without
 * an issue id.  Nothing of the payload is kept or logged: it holds the
 * issue's content, and only its id is read.
 */
enum err
route_webhook_issue_deleted(struct req *r, struct reply *rep)
{
	enum err	 e;

	if ((e = panoramas_issue_deleted(r, r->json)) == ERR_OK)
		rep->status = 204;
	return e;
}
