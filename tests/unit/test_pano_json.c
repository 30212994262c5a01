/*
 * pano_json: the panorama bodies as the routes take them.  Ids spelled
 * one way only; every action shape taken whole and every refusal naming
 * our own member, the action, entry or row and a reason, never a
 * value; access entries and import rows likewise; history batches
 * written without the issues the caller may not browse; cursors that
 * read back and refuse anything else.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "cellar/json.h"
#include "cellar/pano.h"
#include "pano_json.h"

static cJSON *
parse(const char *text)
{
	cJSON	*o = NULL;

	assert_int_equal(json_parse(text, strlen(text), &o), JSON_OK);
	return o;
}

static void
test_ids_have_one_spelling(void **state)
{
	static const char *const bad[] = { "", "0", "01", "-1", "+1", " 1",
	    "1 ", "1.0", "1e3", "12a", "0x10", "1000000000000000000",
	    "99999999999999999999" };
	long long	 id;
	size_t		 i;

	(void)state;
	assert_int_equal(pano_json_id_parse("1", &id), 0);
	assert_int_equal(id, 1);
	assert_int_equal(pano_json_id_parse("10001", &id), 0);
	assert_int_equal(id, 10001);
	assert_int_equal(pano_json_id_parse("999999999999999999", &id), 0);
	assert_true(id == PANO_ID_MAX);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (pano_json_id_parse(bad[i], &id) != -1)
			fail_msg("id \"%s\" accepted", bad[i]);
}

static void
test_every_action_shape_is_taken(void **state)
{
	struct pano_json_batch b;
	struct pano_json_fault f;
	cJSON	*o;

	(void)state;
	o = parse("{\"version\": 3, \"actions\": ["
	    "{\"op\": \"add\", \"parent\": null, \"after\": null,"
	    " \"issueIds\": [\"10001\", \"10002\", \"10001\"]},"
	    "{\"op\": \"addFolder\", \"parent\": \"7\", \"after\": \"9\","
	    " \"title\": \"Q3 \\u00e9t\\u00e9\"},"
	    "{\"op\": \"move\", \"node\": \"12\", \"parent\": null,"
	    " \"after\": \"7\"},"
	    "{\"op\": \"remove\", \"node\": \"13\"},"
	    "{\"op\": \"rename\", \"node\": \"7\", \"title\": \"Done\"},"
	    "{\"op\": \"add\", \"after\": null, \"parent\": \"7\","
	    " \"issueIds\": [\"5\"]}]}");
	assert_int_equal(pano_json_actions(o, &b, &f), ERR_OK);
	assert_int_equal(b.version, 3);
	assert_int_equal(b.n, 6);
	assert_int_equal(b.nids, 4);
	assert_int_equal(b.nodes, 5);
	assert_int_equal(b.acts[0].op, PANO_OP_ADD);
	assert_int_equal(b.acts[0].parent, 0);
	assert_int_equal(b.acts[0].after, 0);
	assert_int_equal(b.acts[0].nissues, 3);
	assert_int_equal(b.acts[0].issues[0], 10001);
	assert_int_equal(b.acts[0].issues[2], 10001);
	assert_int_equal(b.acts[1].op, PANO_OP_ADD_FOLDER);
	assert_int_equal(b.acts[1].parent, 7);
	assert_int_equal(b.acts[1].after, 9);
	assert_string_equal(b.acts[1].title, "Q3 \xc3\xa9t\xc3\xa9");
	assert_int_equal(b.acts[2].op, PANO_OP_MOVE);
	assert_int_equal(b.acts[2].node, 12);
	assert_int_equal(b.acts[2].after, 7);
	assert_int_equal(b.acts[3].op, PANO_OP_REMOVE);
	assert_int_equal(b.acts[3].node, 13);
	assert_int_equal(b.acts[4].op, PANO_OP_RENAME);
	assert_string_equal(b.acts[4].title, "Done");
	assert_int_equal(b.acts[5].parent, 7);
	assert_int_equal(b.acts[5].issues[0], 5);
	/* Each id knows its action (issue_not_browsable names it). */
	assert_int_equal(b.owner[2], 0);
	assert_int_equal(b.owner[3], 5);
	pano_json_batch_free(&b);
	cJSON_Delete(o);
}

/* body must be refused with e, naming field, index and reason. */
static void
expect_batch_fault(const char *body, enum err e, const char *field,
    long long index, const char *reason, long long limit)
{
	struct pano_json_batch b;
	struct pano_json_fault f;
	cJSON	*o = parse(body);

	if (pano_json_actions(o, &b, &f) != e)
		fail_msg("%s: not refused as %s", body, err_code(e));
	if ((field == NULL) != (f.field == NULL) ||
	    (field != NULL && strcmp(field, f.field) != 0) ||
	    index != f.index || limit != f.limit ||
	    (reason == NULL) != (f.reason == NULL) ||
	    (reason != NULL && strcmp(reason, f.reason) != 0))
		fail_msg("%s: field %s index %lld reason %s limit %lld", body,
		    f.field ? f.field : "-", f.index,
		    f.reason ? f.reason : "-", f.limit);
	/* Nothing is left to free after a refusal. */
	assert_null(b.acts);
	assert_null(b.ids);
	cJSON_Delete(o);
}

#define OK_ADD	"{\"op\":\"add\",\"parent\":null,\"after\":null," \
		"\"issueIds\":[\"1\"]}"

static void
test_action_refusals_name_member_and_index(void **state)
{
	char	*big, *p, title[600] = "";
	size_t	 i;

	(void)state;
	expect_batch_fault("[]", ERR_UNPROCESSABLE, NULL, -1, "type", -1);
	expect_batch_fault("{\"actions\":[]}", ERR_UNPROCESSABLE, "version",
	    -1, "missing", -1);
	expect_batch_fault("{\"version\":\"1\",\"actions\":[" OK_ADD "]}",
	    ERR_UNPROCESSABLE, "version", -1, "type", -1);
	expect_batch_fault("{\"version\":1,\"actions\":[" OK_ADD "],"
	    "\"Zq7\":1}", ERR_UNPROCESSABLE, NULL, -1, "unknown_member", -1);
	expect_batch_fault("{\"version\":1}", ERR_UNPROCESSABLE, "actions",
	    -1, "missing", -1);
	expect_batch_fault("{\"version\":1,\"actions\":[]}",
	    ERR_UNPROCESSABLE, "actions", -1, "length", PANO_ACTIONS_MAX);
	expect_batch_fault("{\"version\":1,\"actions\":[" OK_ADD ",7]}",
	    ERR_UNPROCESSABLE, "actions", 1, "type", -1);
	expect_batch_fault("{\"version\":1,\"actions\":[{\"parent\":null}]}",
	    ERR_UNPROCESSABLE, "op", 0, "missing", -1);
	expect_batch_fault("{\"version\":1,\"actions\":[{\"op\":\"Add\","
	    "\"parent\":null}]}", ERR_UNPROCESSABLE, "op", 0, "format", -1);
	/* A made-up member is not named; one of ours is. */
	expect_batch_fault("{\"version\":1,\"actions\":[" OK_ADD ","
	    "{\"op\":\"remove\",\"node\":\"4\",\"Zq7\":1}]}",
	    ERR_UNPROCESSABLE, "actions", 1, "unknown_member", -1);
	expect_batch_fault("{\"version\":1,\"actions\":[{\"op\":\"move\","
	    "\"node\":\"4\",\"parent\":null,\"after\":null,\"title\":\"x\"}]}",
	    ERR_UNPROCESSABLE, "title", 0, "unknown_member", -1);
	expect_batch_fault("{\"version\":1,\"actions\":[{\"op\":\"move\","
	    "\"node\":\"4\",\"parent\":null}]}", ERR_UNPROCESSABLE, "after",
	    0, "missing", -1);
	expect_batch_fault("{\"version\":1,\"actions\":[{\"op\":\"remove\","
	    "\"node\":4}]}", ERR_UNPROCESSABLE, "node", 0, "type", -1);
	expect_batch_fault("{\"version\":1,\"actions\":[{\"op\":\"remove\","
	    "\"node\":null}]}", ERR_UNPROCESSABLE, "node", 0, "type", -1);
	expect_batch_fault("{\"version\":1,\"actions\":[{\"op\":\"remove\","
	    "\"node\":\"04\"}]}", ERR_UNPROCESSABLE, "node", 0, "format", -1);
	expect_batch_fault("{\"version\":1,\"actions\":[{\"op\":\"addFolder\","
	    "\"parent\":\"0\",\"after\":null,\"title\":\"t\"}]}",
	    ERR_UNPROCESSABLE, "parent", 0, "format", -1);
	expect_batch_fault("{\"version\":1,\"actions\":[{\"op\":\"add\","
	    "\"parent\":null,\"after\":null,\"issueIds\":[]}]}",
	    ERR_UNPROCESSABLE, "issueIds", 0, "length", PANO_ADD_MAX);
	expect_batch_fault("{\"version\":1,\"actions\":[{\"op\":\"add\","
	    "\"parent\":null,\"after\":null,\"issueIds\":[10001]}]}",
	    ERR_UNPROCESSABLE, "issueIds", 0, "type", -1);
	expect_batch_fault("{\"version\":1,\"actions\":[{\"op\":\"add\","
	    "\"parent\":null,\"after\":null,\"issueIds\":[\"1\",\"1e3\"]}]}",
	    ERR_UNPROCESSABLE, "issueIds", 0, "format", -1);
	expect_batch_fault("{\"version\":1,\"actions\":[{\"op\":\"rename\","
	    "\"node\":\"4\",\"title\":\"\"}]}", ERR_UNPROCESSABLE, "title", 0,
	    "length", PANO_TITLE_MAX);
	expect_batch_fault("{\"version\":1,\"actions\":[{\"op\":\"rename\","
	    "\"node\":\"4\",\"title\":\"a\\u0007b\"}]}", ERR_UNPROCESSABLE,
	    "title", 0, "format", -1);
	/* 255 characters of two bytes each pass; 256 do not. */
	for (i = 0, p = title; i < 256; i++, p += 2)
		memcpy(p, "\xc3\xa9", 2);
	*p = '\0';
	assert_non_null(big = malloc(1024));
	snprintf(big, 1024, "{\"version\":1,\"actions\":[{\"op\":\"rename\","
	    "\"node\":\"4\",\"title\":\"%s\"}]}", title);
	expect_batch_fault(big, ERR_UNPROCESSABLE, "title", 0, "length",
	    PANO_TITLE_MAX);
	free(big);
	/* More than PANO_ACTIONS_MAX: 413 with the limit, nothing parsed. */
	assert_non_null(big = malloc(16 + (PANO_ACTIONS_MAX + 1) * 40));
	p = big + sprintf(big, "{\"version\":1,\"actions\":[");
	for (i = 0; i <= PANO_ACTIONS_MAX; i++)
		p += sprintf(p, "%s{\"op\":\"remove\",\"node\":\"4\"}",
		    i ? "," : "");
	strcpy(p, "]}");
	expect_batch_fault(big, ERR_LIMIT_ACTIONS, "actions", -1, NULL,
	    PANO_ACTIONS_MAX);
	free(big);
}

static void
test_fields_create_and_patch(void **state)
{
	struct pano_json_fault f;
	struct pano	 p;
	long long	 v = 0;
	cJSON		*o;

	(void)state;
	memset(&p, 0, sizeof(p));
	o = parse("{\"name\":\"Roadmap\"}");
	assert_int_equal(pano_json_fields(o, 0, &p, NULL, &f), ERR_OK);
	assert_string_equal(p.name, "Roadmap");
	assert_string_equal(p.description, "");
	pano_free(&p);
	cJSON_Delete(o);
	/* A patch changes what it names only. */
	o = parse("{\"version\":2,\"description\":\"line 1\\nline 2\"}");
	assert_int_equal(pano_json_fields(o, 1, &p, &v, &f), ERR_OK);
	assert_int_equal(v, 2);
	assert_null(p.name);
	assert_string_equal(p.description, "line 1\nline 2");
	pano_free(&p);
	cJSON_Delete(o);
	o = parse("{\"name\":\"x\"}");
	assert_int_equal(pano_json_fields(o, 1, &p, &v, &f),
	    ERR_UNPROCESSABLE);
	assert_string_equal(f.field, "version");
	cJSON_Delete(o);
	o = parse("{\"name\":\"x\",\"owner\":\"me\"}");
	assert_int_equal(pano_json_fields(o, 0, &p, NULL, &f),
	    ERR_UNPROCESSABLE);
	assert_string_equal(f.reason, "unknown_member");
	assert_null(f.field);
	cJSON_Delete(o);
	o = parse("{\"description\":\"d\"}");
	assert_int_equal(pano_json_fields(o, 0, &p, NULL, &f),
	    ERR_UNPROCESSABLE);
	assert_string_equal(f.field, "name");
	assert_string_equal(f.reason, "missing");
	assert_null(p.description);
	cJSON_Delete(o);
	o = parse("{\"name\":\"  \"}");
	assert_int_equal(pano_json_fields(o, 0, &p, NULL, &f),
	    ERR_UNPROCESSABLE);
	assert_string_equal(f.reason, "format");
	cJSON_Delete(o);
}

/* Access body refused at entry index, naming field and reason. */
static void
expect_access_fault(const char *body, const char *field, long long index,
    const char *reason)
{
	struct pano_json_fault f;
	struct pano_access *a;
	size_t		 n;
	cJSON		*o = parse(body);

	if (pano_json_access(o, &a, &n, &f) != ERR_UNPROCESSABLE)
		fail_msg("%s: accepted", body);
	if ((field == NULL) != (f.field == NULL) ||
	    (field != NULL && strcmp(field, f.field) != 0) ||
	    f.index != index || strcmp(f.reason, reason) != 0)
		fail_msg("%s: field %s index %lld reason %s", body,
		    f.field ? f.field : "-", f.index, f.reason);
	assert_null(a);
	cJSON_Delete(o);
}

static void
test_access_entries(void **state)
{
	struct pano_json_fault f;
	struct pano_access *a;
	size_t		 n, i;
	cJSON		*o;
	char		*big, *p;

	(void)state;
	o = parse("{\"entries\":[{\"grantee\":\"account\",\"id\":"
	    "\"5b10ac8d82e05b22cc7d4ef5\",\"level\":\"edit\"},"
	    "{\"grantee\":\"group\",\"id\":\"gid-1\",\"level\":\"view\"},"
	    "{\"grantee\":\"everyone\",\"level\":\"view\"}]}");
	assert_int_equal(pano_json_access(o, &a, &n, &f), ERR_OK);
	assert_int_equal(n, 3);
	assert_int_equal(a[0].grantee, PANO_GRANT_ACCOUNT);
	assert_string_equal(a[0].target, "5b10ac8d82e05b22cc7d4ef5");
	assert_int_equal(a[0].level, PANO_LEVEL_EDIT);
	assert_int_equal(a[1].grantee, PANO_GRANT_GROUP);
	assert_int_equal(a[2].grantee, PANO_GRANT_EVERYONE);
	assert_string_equal(a[2].target, "");
	assert_int_equal(a[2].level, PANO_LEVEL_VIEW);
	pano_access_free(a, n);
	cJSON_Delete(o);
	o = parse("{\"entries\":[]}");
	assert_int_equal(pano_json_access(o, &a, &n, &f), ERR_OK);
	assert_int_equal(n, 0);
	pano_access_free(a, n);
	cJSON_Delete(o);
	expect_access_fault("{\"entries\":[{\"grantee\":\"everyone\","
	    "\"id\":\"x\",\"level\":\"view\"}]}", "id", 0, "unknown_member");
	expect_access_fault("{\"entries\":[{\"grantee\":\"everyone\","
	    "\"level\":\"view\"},{\"grantee\":\"group\",\"level\":\"view\"}]}",
	    "id", 1, "missing");
	expect_access_fault("{\"entries\":[{\"grantee\":\"group\","
	    "\"id\":\"a b\",\"level\":\"view\"}]}", "id", 0, "format");
	expect_access_fault("{\"entries\":[{\"grantee\":\"team\","
	    "\"id\":\"a\",\"level\":\"view\"}]}", "grantee", 0, "format");
	expect_access_fault("{\"entries\":[{\"grantee\":\"group\","
	    "\"id\":\"a\",\"level\":\"none\"}]}", "level", 0, "format");
	expect_access_fault("{\"entries\":[{\"grantee\":\"group\","
	    "\"id\":\"a\",\"level\":\"view\",\"note\":1}]}", "entries", 0,
	    "unknown_member");
	expect_access_fault("{\"entries\":[{\"grantee\":\"group\","
	    "\"id\":\"a\",\"level\":\"view\"},{\"grantee\":\"account\","
	    "\"id\":\"a\",\"level\":\"view\"},{\"grantee\":\"group\","
	    "\"id\":\"a\",\"level\":\"edit\"}]}", "entries", 2, "duplicate");
	expect_access_fault("{\"entries\":{}}", "entries", -1, "type");
	assert_non_null(big = malloc(64 * (PANO_ACCESS_MAX + 2)));
	p = big + sprintf(big, "{\"entries\":[");
	for (i = 0; i <= PANO_ACCESS_MAX; i++)
		p += sprintf(p, "%s{\"grantee\":\"group\",\"id\":\"g%zu\","
		    "\"level\":\"view\"}", i ? "," : "", i);
	strcpy(p, "]}");
	expect_access_fault(big, "entries", -1, "length");
	free(big);
}

/* Import body refused as e at row index with reason. */
static void
expect_import_fault(const char *body, long long nodes_max, enum err e,
    const char *field, long long index, const char *reason)
{
	struct pano_json_fault f;
	struct pano	 p;
	struct pano_row	*rows;
	size_t		 n;
	cJSON		*o = parse(body);

	memset(&p, 0, sizeof(p));
	if (pano_json_import(o, nodes_max, &p, &rows, &n, &f) != e)
		fail_msg("%s: not refused as %s", body, err_code(e));
	if ((field == NULL) != (f.field == NULL) ||
	    (field != NULL && strcmp(field, f.field) != 0) ||
	    f.index != index || (reason == NULL) != (f.reason == NULL) ||
	    (reason != NULL && strcmp(reason, f.reason) != 0))
		fail_msg("%s: field %s index %lld reason %s", body,
		    f.field ? f.field : "-", f.index,
		    f.reason ? f.reason : "-");
	assert_null(rows);
	assert_null(p.name);
	cJSON_Delete(o);
}

#define ENV	"\"format\":\"cellar.panorama\",\"formatVersion\":1," \
		"\"name\":\"n\","

static void
test_import_rows(void **state)
{
	struct pano_json_fault f;
	struct pano	 p;
	struct pano_row	*rows;
	size_t		 n;
	cJSON		*o;
	char		*text;

	(void)state;
	memset(&p, 0, sizeof(p));
	o = parse("{" ENV "\"description\":\"d\",\"rows\":["
	    "{\"depth\":0,\"kind\":\"folder\",\"title\":\"A\"},"
	    "{\"depth\":1,\"kind\":\"issue\",\"issueId\":\"10001\"},"
	    "{\"depth\":2,\"kind\":\"folder\",\"title\":\"B\"},"
	    "{\"depth\":0,\"kind\":\"issue\",\"issueId\":\"10002\"}]}");
	assert_int_equal(pano_json_import(o, 4, &p, &rows, &n, &f), ERR_OK);
	assert_int_equal(n, 4);
	assert_string_equal(p.name, "n");
	assert_string_equal(p.description, "d");
	assert_int_equal(rows[0].kind, PANO_FOLDER);
	assert_string_equal(rows[0].title, "A");
	assert_int_equal(rows[1].kind, PANO_ISSUE);
	assert_int_equal(rows[1].issue, 10001);
	assert_int_equal(rows[1].depth, 1);
	assert_int_equal(rows[3].depth, 0);
	pano_rows_free(rows, n);
	pano_free(&p);
	/* One more row than nodes_max: refused before any is read. */
	assert_non_null(text = cJSON_PrintUnformatted(o));
	expect_import_fault(text, 3, ERR_LIMIT_NODES, "rows", -1, NULL);
	free(text);
	cJSON_Delete(o);
	expect_import_fault("{" ENV "\"rows\":[{\"depth\":0,\"kind\":"
	    "\"issue\",\"restricted\":true}]}", 10, ERR_UNPROCESSABLE, "rows",
	    0, "restricted");
	expect_import_fault("{" ENV "\"rows\":[{\"depth\":1,\"kind\":"
	    "\"issue\",\"issueId\":\"1\"}]}", 10, ERR_UNPROCESSABLE, "rows",
	    0, "depth");
	expect_import_fault("{" ENV "\"rows\":[{\"depth\":0,\"kind\":"
	    "\"folder\",\"title\":\"A\"},{\"depth\":2,\"kind\":\"issue\","
	    "\"issueId\":\"1\"}]}", 10, ERR_UNPROCESSABLE, "rows", 1, "depth");
	expect_import_fault("{" ENV "\"rows\":[{\"depth\":0,\"kind\":"
	    "\"issue\",\"issueId\":\"01\"}]}", 10, ERR_UNPROCESSABLE, "rows",
	    0, "issue_id");
	expect_import_fault("{" ENV "\"rows\":[{\"depth\":0,\"kind\":"
	    "\"issue\",\"issueId\":1}]}", 10, ERR_UNPROCESSABLE, "rows", 0,
	    "issue_id");
	expect_import_fault("{" ENV "\"rows\":[{\"depth\":0,\"kind\":"
	    "\"folder\",\"title\":\"A\",\"issueId\":\"1\"}]}", 10,
	    ERR_UNPROCESSABLE, "rows", 0, "unknown_member");
	expect_import_fault("{" ENV "\"rows\":[{\"depth\":0,\"kind\":"
	    "\"epic\",\"title\":\"A\"}]}", 10, ERR_UNPROCESSABLE, "rows", 0,
	    "kind");
	expect_import_fault("{\"format\":\"cellar-templates\",\"name\":\"n\","
	    "\"rows\":[]}", 10, ERR_UNPROCESSABLE, "format", -1, "format");
	expect_import_fault("{\"formatVersion\":2,\"name\":\"n\","
	    "\"rows\":[]}", 10, ERR_UNPROCESSABLE, "formatVersion", -1,
	    "format");
	expect_import_fault("{\"name\":\"n\"}", 10, ERR_UNPROCESSABLE, "rows",
	    -1, "missing");
}

/* The history's visibility question: odd issue ids are hidden. */
static int
odd_hidden(void *ctx, long long issue)
{
	(void)ctx;
	return issue % 2 == 0;
}

static void
test_history_leaves_out_hidden_issues(void **state)
{
	static char	 actor[] = "acct-1", batch[] = "batch", undo[] = "undo";
	static char	 what[] = "{\"actions\":[{\"op\":\"add\",\"parent\":3,"
	    "\"issueIds\":[10001,10002,\"10004\"],\"nodes\":[5,6,7]},"
	    "{\"op\":\"remove\",\"node\":9,\"issueId\":10003},"
	    "{\"op\":\"remove\",\"node\":8,\"issueId\":10008},"
	    "{\"op\":\"move\",\"node\":\"4\",\"parent\":\"0\"}]}";
	static char	 bad[] = "not json";
	struct pano_batch b;
	struct jw	 w = JW_INIT;
	long long	*ids = NULL;
	size_t		 n = 0, cap = 0;
	char		*out;

	(void)state;
	memset(&b, 0, sizeof(b));
	b.id = 41;
	b.version = 7;
	b.actor = actor;
	b.kind = batch;
	b.at = 0;
	b.what = what;
	assert_int_equal(pano_json_what_issues(b.what, &ids, &n, &cap), 0);
	assert_int_equal(n, 5);
	assert_int_equal(ids[0], 10001);
	assert_int_equal(ids[2], 10004);
	assert_int_equal(ids[3], 10003);
	free(ids);
	pano_json_batch_write(&w, &b, odd_hidden, NULL);
	assert_non_null(out = jw_finish(&w, NULL));
	assert_string_equal(out, "{\"id\":\"41\",\"version\":7,"
	    "\"actor\":\"acct-1\",\"kind\":\"batch\","
	    "\"at\":\"1970-01-01T00:00:00Z\",\"undone\":false,"
	    "\"actions\":[{\"op\":\"add\",\"parent\":3,"
	    "\"issueIds\":[\"10002\",\"10004\"],\"nodes\":[5,6,7]},"
	    "{\"op\":\"remove\",\"node\":9,\"restricted\":true},"
	    "{\"op\":\"remove\",\"node\":8,\"issueId\":\"10008\"},"
	    "{\"op\":\"move\",\"node\":\"4\",\"parent\":null}]}");
	free(out);
	/* A system batch, and a what that does not read: no actions. */
	b.actor = NULL;
	b.kind = undo;
	b.undo_of = 40;
	b.what = bad;
	pano_json_batch_write(&w, &b, odd_hidden, NULL);
	assert_non_null(out = jw_finish(&w, NULL));
	assert_string_equal(out, "{\"id\":\"41\",\"version\":7,"
	    "\"actor\":null,\"kind\":\"undo\","
	    "\"at\":\"1970-01-01T00:00:00Z\",\"undone\":false,"
	    "\"undoOf\":\"40\",\"actions\":[]}");
	free(out);
}

static void
test_cursors_read_back_and_refuse_the_rest(void **state)
{
	long long	 v[2] = { 12, 500 }, got[2], id;
	char		*c, *name;

	(void)state;
	assert_non_null(c = pano_json_cursor(v, 2));
	assert_int_equal(pano_json_cursor_parse(c, got, 2), 0);
	assert_int_equal(got[0], 12);
	assert_int_equal(got[1], 500);
	/* Another count, or another kind of cursor, is refused. */
	assert_int_equal(pano_json_cursor_parse(c, got, 1), -1);
	assert_int_equal(pano_json_list_cursor_parse(c, &name, &id), -1);
	assert_null(name);
	free(c);
	assert_non_null(c = pano_json_list_cursor("Caf\xc3\xa9", 9));
	assert_int_equal(pano_json_list_cursor_parse(c, &name, &id), 0);
	assert_string_equal(name, "Caf\xc3\xa9");
	assert_int_equal(id, 9);
	free(name);
	assert_int_equal(pano_json_cursor_parse(c, got, 2), -1);
	free(c);
	assert_int_equal(pano_json_cursor_parse("", got, 2), -1);
	assert_int_equal(pano_json_cursor_parse("WzEsMl0x", got, 2), -1);
	/* "[1,-2]" and "[1,2.5]": not offsets. */
	assert_int_equal(pano_json_cursor_parse("WzEsLTJd", got, 2), -1);
	assert_int_equal(pano_json_cursor_parse("WzEsMi41XQ", got, 2), -1);
	assert_int_equal(pano_json_cursor_parse("WzEsMl0", got, 2), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ids_have_one_spelling),
		cmocka_unit_test(test_every_action_shape_is_taken),
		cmocka_unit_test(test_action_refusals_name_member_and_index),
		cmocka_unit_test(test_fields_create_and_patch),
		cmocka_unit_test(test_access_entries),
		cmocka_unit_test(test_import_rows),
		cmocka_unit_test(test_history_leaves_out_hidden_issues),
		cmocka_unit_test(test_cursors_read_back_and_refuse_the_rest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
