/*
 * GET /api/templates: the picker's list (what the caller may use here)
 * and, with manage=true, the manager's (what the caller may change),
 * both paged by keyset cursors; the policy is in route_templates.c
 * (templates.h).
 */
#include <stdlib.h>
#include <string.h>

#include "cellar/collate.h"
#include "cellar/json.h"
#include "cellar/log.h"
#include "cellar/tpl.h"
#include "cellar/util.h"
#include "api.h"
#include "fcgi.h"
#include "perm.h"
#include "templates.h"
#include "tpl_json.h"

#define QUERY_MAX	200
/* The list's page size when the caller names none. */
#define LIST_DEFAULT	50

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
		e = templates_caller_project(r, pbuf, pbufsz, &v->project);
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
int
templates_cursor_after(struct tpl_cursor *c, const struct tpl *t)
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
enum err
templates_managed_scan(struct req *r, struct tenantdb *tdb, const char *q, int active,
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
		if ((e = templates_prefetch(r, keys + at, end - at)) ==
		    ERR_UNAVAILABLE && degraded != NULL) {
			*degraded = 1;
			e = ERR_OK;
		}
		for (i = at; e == ERR_OK && i < end; i++) {
			if (templates_cursor_after(c, &keys[i]) == -1) {
				e = ERR_INTERNAL;
				break;
			}
			m = templates_may_manage(r, &keys[i]);
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
	/*
	 * A row read whole may have changed since its keys were judged (a
	 * template made someone's personal one while Jira was asked):
	 * judged again, as read; what is not the caller's any more goes.
	 */
	for (i = 0, at = 0; e == ERR_OK && i < kept; i++) {
		m = templates_may_manage(r, &keys[i]);
		if (m == ERR_UNAVAILABLE && degraded != NULL) {
			*degraded = 1;
			m = ERR_FORBIDDEN;
		}
		if (m == ERR_OK) {
			if (at != i) {
				keys[at] = keys[i];
				memset(&keys[i], 0, sizeof(keys[i]));
			}
			at++;
		} else if (m == ERR_FORBIDDEN || m == ERR_NOT_FOUND)
			tpl_free(&keys[i]);
		else
			e = m;
	}
	if (e != ERR_OK) {
		tpl_list_free(keys, kept);
		return e;
	}
	*out = keys;
	*n = at;
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
		tpl_json_write(&w, &ts[i], TPL_FORM_API, templates_can_edit(r, &ts[i]));
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
		e = templates_managed_scan(r, tdb, lq.q, lq.active, &lq.cursor,
		    (size_t)lq.limit + 1, &degraded, &ts, &n);
	else if ((e = list_viewer(r, tdb, &v, pbuf, sizeof(pbuf), &groups,
	    &degraded)) == ERR_OK)
		e = tpl_list(tdb, &v, lq.q, lq.active, &lq.cursor,
		    (size_t)lq.limit + 1, api_today(), &ts, &n);
	if (e != ERR_OK)
		goto out;
	/* Whether rows may be changed: asked once, not per row. */
	if (templates_prefetch(r, ts, n) == ERR_UNAVAILABLE)
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

