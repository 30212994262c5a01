/*
 * GET /api/templates/export and POST /api/templates/import: a person's
 * templates out, in pages that each import again, and in, all or none;
 * the policy is in route_templates.c (templates.h).
 */
#include <stdlib.h>
#include <string.h>

#include "cellar/clock.h"
#include "cellar/json.h"
#include "cellar/log.h"
#include "cellar/tpl.h"
#include "cellar/tpl_import.h"
#include "api.h"
#include "fcgi.h"
#include "templates.h"
#include "tpl_json.h"

#define IMPORT_MAX	TPL_MAX_PER_TENANT
/*
 * An export page stops below this many bytes of JSON, so that every
 * page imports again under the import route's 16 MiB.
 */
#define EXPORT_PAGE_MAX	(15 * 1024 * 1024)

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
		if ((e = templates_managed_scan(r, tdb, NULL, -1, &c, SCAN_CHUNK, NULL,
		    &ts, &n)) != ERR_OK)
			goto out;
		for (i = 0; i < n && rc == 1; i++)
			if ((rc = export_add(&w, &ts[i])) == 1 &&
			    templates_cursor_after(&at, &ts[i]) == -1)
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
		return templates_field_error(r, rep, ERR_UNPROCESSABLE, "format", -1);
	fmt = cJSON_GetObjectItemCaseSensitive(r->json, "version");
	if (fmt != NULL && (!cJSON_IsNumber(fmt) || fmt->valuedouble != 1))
		return templates_field_error(r, rep, ERR_UNPROCESSABLE, "version", -1);
	list = cJSON_GetObjectItemCaseSensitive(r->json, "templates");
	if (!cJSON_IsArray(list))
		return templates_field_error(r, rep, ERR_UNPROCESSABLE, "templates", -1);
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
			e = templates_field_error(r, rep, e, field != NULL ? field :
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
	if ((e = templates_prefetch(r, ts, n)) != ERR_OK)
		goto out;
	for (i = 0; i < n; i++)
		if ((e = templates_may_manage(r, &ts[i])) != ERR_OK) {
			log_msg(LOGL_WARN, r->rid, "reason=import_forbidden "
			    "index=%zu", i);
			reply_detail(rep, NULL, (long long)i, -1);
			goto out;
		}
	if ((e = api_tenantdb(r, &tdb)) != ERR_OK)
		goto out;
	templates_limits(r, &lim);
	if ((e = templates_limit_detail(rep, tpl_import_all(tdb, ts, n, clock_now(),
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
