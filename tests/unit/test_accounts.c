/*
 * accounts: personal-data reporting against a real SQLCipher tenant file
 * (the fx_tenant fixture), with templates and panoramas written through
 * tpl.h and pano.h as the routes write them, and a scripted transport
 * standing in for Atlassian.  What Atlassian and a closed account's
 * owner rely on: every stored account id is reported, with the oldest
 * time it was stored, in batches of at most 90 in id order, no more
 * often than the cycle; an answer is taken whole or not at all (a
 * partial or malformed one erases nothing); 429/503 wait and resume
 * from where they stopped without reporting a batch twice; the cycle
 * follows Cycle-Period; and a closed account's data is gone from every
 * table, its panoramas' versions moved on.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <sqlite3.h>

#include "cellar/accounts.h"
#include "cellar/clock.h"
#include "cellar/pano.h"
#include "cellar/tenantdb.h"
#include "cellar/tpl.h"
#include "fixture.h"

#define NOW	FX_NOW
#define DAY	86400LL
#define X	"557058:aaaa-closed"
#define Y	"557058:bbbb-updated"
#define Z	"557058:cccc-other"

static const struct pano_limits lim = { PANO_NODES_DEFAULT,
    PANO_PER_TENANT_DEFAULT, 0 };

/* One scripted answer of the fake Atlassian. */
struct answer {
	enum err	 e;		/* ERR_OK: an answer came */
	long		 status;
	const char	*body;		/* NULL: none; "@closed": computed */
	long long	 retry_after;
	const char	*cycle;
};

/* The fake: answers in order (the last repeats), requests recorded. */
struct fake {
	const struct answer *answers;
	size_t		 nanswers, calls;
	char		*bodies[64];
	const char	*closed[8];	/* "@closed" names these closed */
	char		 steps[512];
};

static struct fake *the_fake;

static void
fake_free(struct fake *f)
{
	size_t	 i;

	for (i = 0; i < f->calls && i < 64; i++)
		free(f->bodies[i]);
	memset(f, 0, sizeof(*f));
}

/* {"accounts": [closed ones of the request, as closed]}. */
static char *
closed_answer(struct fake *f, const char *req)
{
	cJSON	*q, *it, *out, *list, *o;
	char	*s;
	size_t	 i;

	q = cJSON_Parse(req);
	out = cJSON_CreateObject();
	list = cJSON_AddArrayToObject(out, "accounts");
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(q,
	    "accounts")) {
		const char *id = cJSON_GetObjectItemCaseSensitive(it,
		    "accountId")->valuestring;

		for (i = 0; i < 8 && f->closed[i] != NULL; i++)
			if (strcmp(id, f->closed[i]) == 0) {
				o = cJSON_CreateObject();
				cJSON_AddStringToObject(o, "accountId", id);
				cJSON_AddStringToObject(o, "status", "closed");
				cJSON_AddItemToArray(list, o);
			}
	}
	s = cJSON_PrintUnformatted(out);
	cJSON_Delete(out);
	cJSON_Delete(q);
	return s;
}

static enum err
fake_send(void *arg, const char *body, struct accounts_reply *rep)
{
	struct fake	*f = arg;
	const struct answer *a;

	assert_non_null(f->answers);
	a = &f->answers[f->calls < f->nanswers ? f->calls : f->nanswers - 1];
	if (f->calls < 64)
		f->bodies[f->calls] = strdup(body);
	f->calls++;
	if (a->e != ERR_OK)
		return a->e;
	rep->status = a->status;
	rep->retry_after = a->retry_after;
	if (a->cycle != NULL)
		snprintf(rep->cycle_period, sizeof(rep->cycle_period), "%s",
		    a->cycle);
	if (a->body != NULL && strcmp(a->body, "@closed") == 0)
		rep->body = closed_answer(f, body);
	else if (a->body != NULL)
		rep->body = strdup(a->body);
	rep->len = rep->body != NULL ? strlen(rep->body) : 0;
	return ERR_OK;
}

static void
fake_step(const char *name)
{
	strncat(the_fake->steps, name, sizeof(the_fake->steps) -
	    strlen(the_fake->steps) - 2);
	strcat(the_fake->steps, ",");
}

static struct accounts_result
report(struct fx_tenant *t, struct fake *f, long long now, int dry_run)
{
	struct accounts_io io;
	struct accounts_result res;

	memset(&io, 0, sizeof(io));
	io.send = fake_send;
	io.arg = f;
	io.step = fake_step;
	io.dry_run = dry_run;
	the_fake = f;
	assert_int_equal(accounts_report(t->tdb, now, &io, &res), ERR_OK);
	return res;
}

/* The ids of request i, joined by ','. */
static void
ids_of(const struct fake *f, size_t i, char *out, size_t outsz)
{
	cJSON	*q, *it;

	out[0] = '\0';
	assert_true(i < f->calls);
	assert_non_null(q = cJSON_Parse(f->bodies[i]));
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(q,
	    "accounts")) {
		if (out[0] != '\0')
			strncat(out, ",", outsz - strlen(out) - 1);
		strncat(out, cJSON_GetObjectItemCaseSensitive(it,
		    "accountId")->valuestring, outsz - strlen(out) - 1);
	}
	cJSON_Delete(q);
}

static size_t
ids_in(const struct fake *f, size_t i)
{
	cJSON	*q;
	size_t	 n;

	assert_non_null(q = cJSON_Parse(f->bodies[i]));
	n = (size_t)cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(q,
	    "accounts"));
	cJSON_Delete(q);
	return n;
}

/* Writers, as the routes write. */

static long long
template(struct fx_tenant *t, const char *owner, enum tpl_scope scope,
    long long at)
{
	struct tpl	 x;
	static int	 seq;
	char		 name[32];
	long long	 id;

	memset(&x, 0, sizeof(x));
	snprintf(name, sizeof(name), "tpl %d", seq++);
	x.name = strdup(name);
	x.body = strdup("body");
	x.scope = scope;
	x.owner = strdup(owner);
	x.active = 1;
	if (scope == SCOPE_PROJECTS) {
		x.targets = calloc(1, sizeof(char *));
		x.targets[x.ntargets++] = strdup("10000");
	}
	assert_int_equal(tpl_create(t->tdb, &x, at, &fx_limits), ERR_OK);
	id = x.id;
	tpl_free(&x);
	return id;
}

static long long
panorama(struct fx_tenant *t, const char *owner, long long at)
{
	struct pano	 p;
	long long	 id;

	memset(&p, 0, sizeof(p));
	p.name = strdup("P");
	p.description = strdup("");
	p.owner = strdup(owner);
	assert_int_equal(pano_create(t->tdb, &p, at, &lim), ERR_OK);
	id = p.id;
	pano_free(&p);
	return id;
}

static struct pano
pano_of(struct fx_tenant *t, long long id)
{
	struct pano	 p;

	assert_int_equal(pano_get(t->tdb, id, &p), ERR_OK);
	return p;
}

static long long
version_of(struct fx_tenant *t, long long id)
{
	struct pano	 p = pano_of(t, id);
	long long	 v = p.version;

	pano_free(&p);
	return v;
}

/* Issue nodes by actor at time at; the first new node's id. */
static long long
add(struct fx_tenant *t, long long id, const char *actor, long long issue,
    long long at)
{
	struct pano_action a = { PANO_OP_ADD, 0, 0, 0, &issue, 1, NULL };
	struct pano_result r;
	long long	 node;

	assert_int_equal(pano_apply(t->tdb, id, version_of(t, id), actor, &a,
	    1, &lim, at, &r), ERR_OK);
	node = r.added[0];
	pano_result_free(&r);
	return node;
}

static void
remove_node(struct fx_tenant *t, long long id, const char *actor,
    long long node, long long at)
{
	struct pano_action a = { PANO_OP_REMOVE, node, 0, 0, NULL, 0, NULL };
	struct pano_result r;

	assert_int_equal(pano_apply(t->tdb, id, version_of(t, id), actor, &a,
	    1, &lim, at, &r), ERR_OK);
	pano_result_free(&r);
}

static void
share(struct fx_tenant *t, long long id, const char *account,
    enum pano_level level)
{
	struct pano_access a[2];

	memset(a, 0, sizeof(a));
	a[0].grantee = PANO_GRANT_ACCOUNT;
	a[0].target = (char *)(uintptr_t)account;
	a[0].level = level;
	a[1].grantee = PANO_GRANT_GROUP;
	a[1].target = (char *)(uintptr_t)"team-1";
	a[1].level = PANO_LEVEL_VIEW;
	assert_int_equal(pano_access_set(t->tdb, id, a, 2, NOW), ERR_OK);
}

/* Rows anywhere in the file holding s in one of the account columns. */
static long long
rows_with(struct fx_tenant *t, const char *s)
{
	sqlite3_stmt	*q;
	long long	 n;

	assert_int_equal(sqlite3_prepare_v2(tenantdb_sqlite(t->tdb),
	    "SELECT (SELECT count(*) FROM templates WHERE owner = ?1) + "
	    "(SELECT count(*) FROM panoramas WHERE owner = ?1) + "
	    "(SELECT count(*) FROM pano_nodes WHERE creator = ?1) + "
	    "(SELECT count(*) FROM pano_history WHERE actor = ?1) + "
	    "(SELECT count(*) FROM pano_undo WHERE creator = ?1) + "
	    "(SELECT count(*) FROM pano_access WHERE target = ?1) + "
	    "(SELECT count(*) FROM account_report WHERE cursor = ?1)", -1, &q,
	    NULL), SQLITE_OK);
	sqlite3_bind_text(q, 1, s, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	n = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return n;
}

static long long
undo_rows_of(struct fx_tenant *t, const char *s)
{
	sqlite3_stmt	*q;
	long long	 n;

	assert_int_equal(sqlite3_prepare_v2(tenantdb_sqlite(t->tdb),
	    "SELECT count(*) FROM pano_undo WHERE creator = ?1", -1, &q, NULL),
	    SQLITE_OK);
	sqlite3_bind_text(q, 1, s, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	n = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return n;
}

static struct accounts_state
state_of(struct fx_tenant *t)
{
	struct accounts_state s;

	assert_int_equal(accounts_state_get(t->tdb, &s), ERR_OK);
	return s;
}

/* n accounts "acct-NNN", one personal template each at NOW - 1000 - i. */
static void
many(struct fx_tenant *t, int n)
{
	char	 id[32];
	int	 i;

	for (i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "acct-%03d", i);
		template(t, id, SCOPE_PERSONAL, NOW - 1000 - i);
	}
}

/* 1. The pure parts. */

static void
test_account_id_syntax(void **state)
{
	char	 big[ACCOUNTS_ID_MAX + 2];

	(void)state;
	assert_true(accounts_id_ok("557058:f58131cb-b67d-43c7-b30d-6b58d40bd077"));
	assert_true(accounts_id_ok("5b10ac8d82e05b22cc7d4ef5"));
	assert_true(accounts_id_ok("a"));
	assert_false(accounts_id_ok(""));
	assert_false(accounts_id_ok("unknown"));
	assert_false(accounts_id_ok(ACCOUNTS_TENANT_MARKER));
	assert_false(accounts_id_ok(ACCOUNTS_FORMER_MARKER));
	assert_false(accounts_id_ok("acct_underscore"));
	assert_false(accounts_id_ok("acct id"));
	assert_false(accounts_id_ok("acct\"x"));
	memset(big, 'a', sizeof(big));
	big[ACCOUNTS_ID_MAX] = '\0';
	assert_true(accounts_id_ok(big));
	big[ACCOUNTS_ID_MAX] = 'a';
	big[ACCOUNTS_ID_MAX + 1] = '\0';
	assert_false(accounts_id_ok(big));
}

static void
test_cycle_period_forms(void **state)
{
	static const struct {
		const char	*in;
		int		 days;
	} cases[] = {
		{ "7", 7 }, { "14", 14 }, { "14 Days", 14 }, { "30 days", 30 },
		{ " 3 DAYS ", 3 }, { "1 day", 1 }, { "2Days", 2 },
		{ "0", 1 }, { "0 Days", 1 }, { "91", 90 }, { "365 days", 90 },
		{ "99999999999999999999", 90 }, { "", 7 }, { "  ", 7 },
		{ "Days", 7 }, { "abc", 7 }, { "-3", 7 }, { "+3", 7 },
		{ "7.5", 7 }, { "7 weeks", 7 }, { "P7D", 7 },
		{ "7 Days extra", 7 }, { "7 dayss", 7 },
	};
	size_t	 i;

	(void)state;
	assert_int_equal(accounts_cycle_parse(NULL), ACCOUNTS_CYCLE_DEFAULT);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (accounts_cycle_parse(cases[i].in) != cases[i].days)
			fail_msg("Cycle-Period \"%s\": %d, want %d", cases[i].in,
			    accounts_cycle_parse(cases[i].in), cases[i].days);
}

static void
test_answer_taken_whole_or_not_at_all(void **state)
{
	struct account_seen sent[3] = { { (char *)(uintptr_t)"a-1", 1 },
	    { (char *)(uintptr_t)"b-2", 2 }, { (char *)(uintptr_t)"c-3", 3 } };
	static const char *const refused[] = {
		"",
		"not json",
		"[]",
		"{}",
		"{\"accounts\": {}}",
		"{\"accounts\": [1]}",
		"{\"Accounts\": []}",
		"{\"accounts\": [{\"accountId\": \"a-1\"}]}",
		"{\"accounts\": [{\"status\": \"closed\"}]}",
		"{\"accounts\": [{\"accountId\": \"a-1\", \"status\": \"gone\"}]}",
		"{\"accounts\": [{\"accountId\": \"a-1\", \"status\": \"Closed\"}]}",
		"{\"accounts\": [{\"accountId\": 1, \"status\": \"closed\"}]}",
		/* A partial answer: one of ours, then one we did not send. */
		"{\"accounts\": [{\"accountId\": \"a-1\", \"status\": \"closed\"},"
		    " {\"accountId\": \"zz-9\", \"status\": \"closed\"}]}",
		/* Named twice. */
		"{\"accounts\": [{\"accountId\": \"a-1\", \"status\": \"closed\"},"
		    " {\"accountId\": \"a-1\", \"status\": \"updated\"}]}",
		"{\"accounts\": [{\"accountId\": \"a-1\", \"status\": \"closed\"}]"
		    "} trailing",
		"{\"accounts\": [], \"accounts\": []}",
	};
	enum account_status st[3];
	const char	*ok;
	size_t		 i;

	(void)state;
	/* 204: nothing to do. */
	assert_int_equal(accounts_answer_parse(204, NULL, 0, sent, 3, st), 0);
	assert_int_equal(st[0] + st[1] + st[2], ACCOUNT_UNNAMED);
	ok = "{\"accounts\": [{\"accountId\": \"c-3\", \"status\": "
	    "\"closed\"}, {\"accountId\": \"a-1\", \"status\": \"updated\", "
	    "\"extra\": 1}], \"more\": true}";
	assert_int_equal(accounts_answer_parse(200, ok, strlen(ok), sent, 3,
	    st), 0);
	assert_int_equal(st[0], ACCOUNT_UPDATED);
	assert_int_equal(st[1], ACCOUNT_UNNAMED);
	assert_int_equal(st[2], ACCOUNT_CLOSED);
	ok = "{\"accounts\": []}";
	assert_int_equal(accounts_answer_parse(200, ok, strlen(ok), sent, 3,
	    st), 0);
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		st[0] = st[1] = st[2] = ACCOUNT_CLOSED;
		if (accounts_answer_parse(200, refused[i], strlen(refused[i]),
		    sent, 3, st) != -1)
			fail_msg("taken: %s", refused[i]);
		/* Nothing is left to act on. */
		assert_int_equal(st[0] + st[1] + st[2], ACCOUNT_UNNAMED);
	}
	/* Any other status, whatever its body. */
	ok = "{\"accounts\": [{\"accountId\": \"a-1\", \"status\": "
	    "\"closed\"}]}";
	assert_int_equal(accounts_answer_parse(201, ok, strlen(ok), sent, 3,
	    st), -1);
	assert_int_equal(accounts_answer_parse(400, ok, strlen(ok), sent, 3,
	    st), -1);
	assert_int_equal(accounts_answer_parse(500, NULL, 0, sent, 3, st), -1);
	assert_int_equal(accounts_answer_parse(200, NULL, 0, sent, 3, st), -1);
}

static void
test_request_body_shape(void **state)
{
	struct account_seen a[2] = { { (char *)(uintptr_t)"a-1", NOW },
	    { (char *)(uintptr_t)"b-2", 0 } };
	char	*body;

	(void)state;
	assert_non_null(body = accounts_request_body(a, 2));
	assert_string_equal(body, "{\"accounts\":[{\"accountId\":\"a-1\","
	    "\"updatedAt\":\"2026-11-18T11:06:40Z\"},{\"accountId\":\"b-2\","
	    "\"updatedAt\":\"1970-01-01T00:00:00Z\"}]}");
	free(body);
}

/* 2. What is stored, and when. */

static void
test_every_stored_account_with_its_oldest_time(void **state)
{
	struct fx_tenant *t = *state;
	struct account_seen *a;
	size_t		 n;
	long long	 p, q, node;

	/* X: a personal template (oldest), then a panorama. */
	template(t, X, SCOPE_PERSONAL, NOW - 500);
	p = panorama(t, X, NOW - 100);
	/* Y: a shared template, then nodes in X's panorama (history too). */
	template(t, Y, SCOPE_GLOBAL, NOW - 300);
	node = add(t, p, Y, 10001, NOW - 200);
	/* Z: only an access entry: the panorama's time counts. */
	q = panorama(t, "557058:dddd-owner", NOW - 50);
	share(t, q, Z, PANO_LEVEL_EDIT);
	/* An undo row keeps the node's creator and time: W added, X removed. */
	node = add(t, q, "557058:eeee-undo", 10002, NOW - 700);
	remove_node(t, q, X, node, NOW - 10);
	/* The system's nodes (creator ""), bad ids: never reported. */
	assert_int_equal(pano_issue_deleted(t->tdb, 10001, NOW, NULL), ERR_OK);
	template(t, "unknown", SCOPE_PERSONAL, NOW - 900);
	template(t, "acct_under", SCOPE_PERSONAL, NOW - 900);

	assert_int_equal(accounts_stored(t->tdb, NULL, SIZE_MAX, &a, &n),
	    ERR_OK);
	assert_int_equal(n, 5);
	assert_string_equal(a[0].id, X);
	assert_int_equal(a[0].at, NOW - 500);
	assert_string_equal(a[1].id, Y);
	assert_int_equal(a[1].at, NOW - 300);
	assert_string_equal(a[2].id, Z);
	assert_int_equal(a[2].at, NOW - 50);
	assert_string_equal(a[3].id, "557058:dddd-owner");
	assert_int_equal(a[3].at, NOW - 50);
	/* Only in an undo row and a history row now: the node is gone. */
	assert_string_equal(a[4].id, "557058:eeee-undo");
	assert_int_equal(a[4].at, NOW - 700);
	accounts_seen_free(a, n);

	/* After a cursor, at most a limit. */
	assert_int_equal(accounts_stored(t->tdb, Y, 2, &a, &n), ERR_OK);
	assert_int_equal(n, 2);
	assert_string_equal(a[0].id, Z);
	assert_string_equal(a[1].id, "557058:dddd-owner");
	accounts_seen_free(a, n);
	assert_int_equal(accounts_stored(t->tdb, "557058:eeee-undo", 90, &a,
	    &n), ERR_OK);
	assert_int_equal(n, 0);
	assert_null(a);
}

/* 3. Batches, the cycle, and where it resumes. */

static void
test_batches_of_90_in_order_once_a_cycle(void **state)
{
	struct fx_tenant *t = *state;
	static const struct answer ok204[] = { { ERR_OK, 204, NULL, -1,
	    NULL } };
	struct fake	 f = { ok204, 1, 0, { 0 }, { 0 }, "" };
	struct accounts_result r;
	struct accounts_state s;
	char		 ids[4096];

	many(t, 200);
	r = report(t, &f, NOW, 0);
	assert_int_equal(r.outcome, ACC_DONE);
	assert_int_equal(f.calls, 3);
	assert_int_equal(r.batches, 3);
	assert_int_equal(r.reported, 200);
	assert_int_equal(ids_in(&f, 0), 90);
	assert_int_equal(ids_in(&f, 1), 90);
	assert_int_equal(ids_in(&f, 2), 20);
	ids_of(&f, 0, ids, sizeof(ids));
	assert_int_equal(strncmp(ids, "acct-000,acct-001,", 18), 0);
	ids_of(&f, 1, ids, sizeof(ids));
	assert_int_equal(strncmp(ids, "acct-090,", 9), 0);
	ids_of(&f, 2, ids, sizeof(ids));
	assert_int_equal(strncmp(ids, "acct-180,", 9), 0);
	assert_non_null(strstr(ids, "acct-199"));
	/* The oldest time of each, as RFC 3339. */
	assert_non_null(strstr(f.bodies[0], "{\"accountId\":\"acct-000\","
	    "\"updatedAt\":\"2026-11-18T10:50:00Z\"}"));
	assert_string_equal(f.steps, "report.batch_answered,report.batch_done,"
	    "report.batch_answered,report.batch_done,report.batch_answered,"
	    "report.batch_done,report.cycle_done,");
	s = state_of(t);
	assert_int_equal(s.cycle_started_at, 0);
	assert_string_equal(s.cursor, "");
	assert_int_equal(s.last_completed_at, NOW);
	assert_int_equal(s.last_reported, 200);
	assert_int_equal(s.last_status, 204);
	assert_int_equal(s.next_due_at, NOW + 7 * DAY);
	fake_free(&f);

	/* Not again within the cycle, at any later run. */
	f.answers = ok204;
	f.nanswers = 1;
	r = report(t, &f, NOW + 7 * DAY - 1, 0);
	assert_int_equal(r.outcome, ACC_NOT_DUE);
	assert_int_equal(f.calls, 0);
	/* A cycle later, all of them again. */
	r = report(t, &f, NOW + 7 * DAY, 0);
	assert_int_equal(r.outcome, ACC_DONE);
	assert_int_equal(r.reported, 200);
	assert_int_equal(f.calls, 3);
	fake_free(&f);
	/* A next cycle far ahead (made under a clock that was ahead): due. */
	f.answers = ok204;
	f.nanswers = 1;
	r = report(t, &f, NOW - 30 * DAY, 0);
	assert_int_equal(r.outcome, ACC_DONE);
	fake_free(&f);
}

static void
test_nothing_stored_completes_without_a_request(void **state)
{
	struct fx_tenant *t = *state;
	static const struct answer ok204[] = { { ERR_OK, 204, NULL, -1,
	    NULL } };
	struct fake	 f = { ok204, 1, 0, { 0 }, { 0 }, "" };
	struct accounts_result r;

	r = report(t, &f, NOW, 0);
	assert_int_equal(r.outcome, ACC_DONE);
	assert_int_equal(f.calls, 0);
	assert_int_equal(state_of(t).next_due_at, NOW + 7 * DAY);
}

static void
test_429_waits_retry_after_and_resumes_at_the_cursor(void **state)
{
	struct fx_tenant *t = *state;
	static const struct answer seq[] = {
		{ ERR_OK, 204, NULL, -1, NULL },
		{ ERR_OK, 429, "{\"errorType\":\"RATE_LIMITED\"}", 120, NULL },
	};
	static const struct answer seq2[] = {
		{ ERR_OK, 503, NULL, -1, NULL },
	};
	static const struct answer ok204[] = { { ERR_OK, 204, NULL, -1,
	    NULL } };
	struct fake	 f = { seq, 2, 0, { 0 }, { 0 }, "" };
	struct accounts_result r;
	struct accounts_state s;
	char		 ids[4096];

	many(t, 200);
	r = report(t, &f, NOW, 0);
	assert_int_equal(r.outcome, ACC_DEFERRED);
	assert_int_equal(r.status, 429);
	assert_int_equal(r.retry_at, NOW + 120);
	assert_int_equal(r.reported, 90);
	assert_int_equal(f.calls, 2);
	s = state_of(t);
	assert_string_equal(s.cursor, "acct-089");
	assert_int_equal(s.cycle_started_at, NOW);
	assert_int_equal(s.retry_at, NOW + 120);
	assert_int_equal(s.cur_reported, 90);
	assert_int_equal(s.last_status, 429);
	assert_int_equal(s.last_completed_at, 0);
	fake_free(&f);

	/* Not before Retry-After. */
	f.answers = ok204;
	f.nanswers = 1;
	r = report(t, &f, NOW + 119, 0);
	assert_int_equal(r.outcome, ACC_NOT_DUE);
	assert_int_equal(f.calls, 0);
	/* Then a 503 without Retry-After: an hour. */
	f.answers = seq2;
	r = report(t, &f, NOW + 120, 0);
	assert_int_equal(r.outcome, ACC_DEFERRED);
	assert_int_equal(state_of(t).retry_at, NOW + 120 + 3600);
	ids_of(&f, 0, ids, sizeof(ids));
	assert_int_equal(strncmp(ids, "acct-090,", 9), 0);
	fake_free(&f);
	/* Then the rest, from the cursor: no batch twice. */
	f.answers = ok204;
	f.nanswers = 1;
	r = report(t, &f, NOW + 120 + 3600, 0);
	assert_int_equal(r.outcome, ACC_DONE);
	assert_int_equal(f.calls, 2);
	ids_of(&f, 0, ids, sizeof(ids));
	assert_int_equal(strncmp(ids, "acct-090,", 9), 0);
	s = state_of(t);
	assert_int_equal(s.last_reported, 200);
	assert_int_equal(s.retry_at, 0);
	assert_int_equal(s.next_due_at, NOW + 120 + 3600 + 7 * DAY);
	fake_free(&f);
}

static void
test_refusals_and_malformed_answers_erase_nothing(void **state)
{
	struct fx_tenant *t = *state;
	static const struct answer cases[] = {
		{ ERR_OK, 400, "{\"errorType\":\"INVALID\",\"errorMessage\":"
		    "\"bad\"}", -1, NULL },
		{ ERR_OK, 500, "{\"errorType\":\"X\"}", -1, NULL },
		{ ERR_OK, 200, "{\"accounts\":[{\"accountId\":\"" X "\","
		    "\"status\":\"closed\"},{\"accountId\":\"not-sent\","
		    "\"status\":\"closed\"}]}", -1, NULL },
		{ ERR_OK, 200, "{\"accounts\":[{\"accountId\":\"" X "\","
		    "\"status\":\"closed\"}", -1, NULL },
		{ ERR_OK, 200, NULL, -1, NULL },
		{ ERR_UNAVAILABLE, 0, NULL, -1, NULL },
	};
	static const enum accounts_outcome want[] = { ACC_REFUSED,
	    ACC_REFUSED, ACC_BAD_REPLY, ACC_BAD_REPLY, ACC_BAD_REPLY,
	    ACC_UNREACHABLE };
	struct fake	 f;
	struct accounts_result r;
	struct accounts_state s;
	long long	 p;
	size_t		 i;

	template(t, X, SCOPE_PERSONAL, NOW - 10);
	p = panorama(t, X, NOW - 10);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&f, 0, sizeof(f));
		f.answers = &cases[i];
		f.nanswers = 1;
		r = report(t, &f, NOW + (long long)i, 0);
		assert_int_equal(r.outcome, want[i]);
		assert_int_equal(r.reported, 0);
		assert_int_equal(f.calls, 1);
		/* Nothing erased, the cycle open where it was, retried next. */
		assert_int_equal(rows_with(t, X), 2);
		assert_int_equal(version_of(t, p), 1);
		s = state_of(t);
		assert_int_equal(s.cycle_started_at, NOW);
		assert_string_equal(s.cursor, "");
		assert_int_equal(s.cur_reported, 0);
		assert_int_equal(s.retry_at, 0);
		assert_int_equal(s.last_status, cases[i].status);
		assert_true(accounts_due(&s, NOW + (long long)i));
		fake_free(&f);
	}
}

static void
test_cycle_period_sets_the_next_cycle(void **state)
{
	struct fx_tenant *t = *state;
	static const struct answer days14[] = { { ERR_OK, 204, NULL, -1,
	    "14 Days" } };
	static const struct answer bare3[] = { { ERR_OK, 200,
	    "{\"accounts\":[]}", -1, "3" } };
	static const struct answer none[] = { { ERR_OK, 204, NULL, -1, NULL } };
	struct fake	 f;
	struct accounts_result r;

	template(t, X, SCOPE_PERSONAL, NOW - 10);
	memset(&f, 0, sizeof(f));
	f.answers = days14;
	f.nanswers = 1;
	r = report(t, &f, NOW, 0);
	assert_int_equal(r.outcome, ACC_DONE);
	assert_int_equal(r.cycle_days, 14);
	assert_int_equal(state_of(t).cycle_days, 14);
	assert_int_equal(state_of(t).next_due_at, NOW + 14 * DAY);
	fake_free(&f);
	f.answers = bare3;
	f.nanswers = 1;
	assert_int_equal(report(t, &f, NOW + 7 * DAY, 0).outcome, ACC_NOT_DUE);
	r = report(t, &f, NOW + 14 * DAY, 0);
	assert_int_equal(r.outcome, ACC_DONE);
	assert_int_equal(state_of(t).next_due_at, NOW + 17 * DAY);
	fake_free(&f);
	/* No header: the cycle stays what Atlassian last said. */
	f.answers = none;
	f.nanswers = 1;
	assert_int_equal(report(t, &f, NOW + 17 * DAY, 0).outcome, ACC_DONE);
	assert_int_equal(state_of(t).cycle_days, 3);
	fake_free(&f);
}

static void
test_dry_run_sends_and_changes_nothing(void **state)
{
	struct fx_tenant *t = *state;
	static const struct answer ok204[] = { { ERR_OK, 204, NULL, -1,
	    NULL } };
	struct fake	 f = { ok204, 1, 0, { 0 }, { 0 }, "" };
	struct accounts_state before, after;
	struct accounts_result r;

	many(t, 100);
	before = state_of(t);
	r = report(t, &f, NOW, 1);
	assert_int_equal(r.outcome, ACC_DRY_RUN);
	assert_int_equal(r.would_report, 100);
	assert_int_equal(f.calls, 0);
	after = state_of(t);
	assert_memory_equal(&before, &after, sizeof(before));
}

/* 4. A closed account's data, everywhere. */

static void
test_a_closed_account_is_erased_everywhere(void **state)
{
	struct fx_tenant *t = *state;
	static const struct answer closed[] = { { ERR_OK, 200, "@closed", -1,
	    NULL } };
	struct fake	 f;
	struct accounts_result r;
	struct pano	 p;
	struct pano_access *acc;
	struct pano_batch *h;
	struct tpl	 got;
	struct account_seen *left;
	long long	 mine, shared, px, py, pz, n1, vy, vz, version;
	size_t		 n, i;
	const char	*why;

	/* X's: a personal template, a shared one, a panorama. */
	mine = template(t, X, SCOPE_PERSONAL, NOW - 900);
	shared = template(t, X, SCOPE_PROJECTS, NOW - 900);
	template(t, Y, SCOPE_PERSONAL, NOW - 900);
	px = panorama(t, X, NOW - 800);
	n1 = add(t, px, X, 20001, NOW - 800);
	add(t, px, Y, 20002, NOW - 800);
	/* Y's panorama, shared with X, where X added and removed nodes. */
	py = panorama(t, Y, NOW - 800);
	share(t, py, X, PANO_LEVEL_EDIT);
	add(t, py, X, 20003, NOW - 700);
	remove_node(t, py, X, add(t, py, Y, 20004, NOW - 700), NOW - 600);
	/* Y removed a node X made: the undo row keeps X as its creator. */
	remove_node(t, py, Y, add(t, py, X, 20006, NOW - 600), NOW - 500);
	/* Z's, which X never touched. */
	pz = panorama(t, Z, NOW - 800);
	add(t, pz, Z, 20005, NOW - 800);
	assert_int_equal(undo_rows_of(t, X), 1);
	vy = version_of(t, py);
	vz = version_of(t, pz);
	assert_true(rows_with(t, X) > 8);
	(void)n1;

	memset(&f, 0, sizeof(f));
	f.answers = closed;
	f.nanswers = 1;
	f.closed[0] = X;
	r = report(t, &f, NOW, 0);
	assert_int_equal(r.outcome, ACC_DONE);
	assert_int_equal(r.reported, 3);	/* X, Y, Z and nothing else */
	assert_int_equal(r.closed, 1);
	fake_free(&f);

	/* X is nowhere, not even in the cursor. */
	assert_int_equal(rows_with(t, X), 0);
	assert_int_equal(undo_rows_of(t, ACCOUNTS_FORMER_MARKER), 1);
	assert_int_equal(accounts_stored(t->tdb, NULL, SIZE_MAX, &left, &n),
	    ERR_OK);
	for (i = 0; i < n; i++)
		assert_string_not_equal(left[i].id, X);
	assert_int_equal(n, 2);
	accounts_seen_free(left, n);
	assert_int_equal(state_of(t).erased_total, 1);
	assert_int_equal(state_of(t).last_closed, 1);

	/* Its personal template is gone; the shared one belongs to the site. */
	assert_int_equal(tpl_get(t->tdb, mine, 0, &got), ERR_NOT_FOUND);
	assert_int_equal(tpl_get(t->tdb, shared, 0, &got), ERR_OK);
	assert_string_equal(got.owner, ACCOUNTS_TENANT_MARKER);
	assert_int_equal(got.version, 1);
	tpl_free(&got);

	/* Its panorama: the site's, a version on, a system batch on top. */
	p = pano_of(t, px);
	assert_string_equal(p.owner, ACCOUNTS_TENANT_MARKER);
	version = p.version;
	pano_free(&p);
	assert_int_equal(version, 4);
	assert_int_equal(pano_history(t->tdb, px, 0, 10, &h, &n), ERR_OK);
	assert_int_equal(n, 3);
	assert_string_equal(h[0].kind, "system");
	assert_null(h[0].actor);
	assert_int_equal(h[0].version, version);
	assert_string_equal(h[0].what, "{\"actions\":[{\"op\":"
	    "\"accountClosed\"}]}");
	/* Its own batches: the former user's, no longer anyone's to undo. */
	assert_string_equal(h[1].actor, "557058:bbbb-updated");
	assert_string_equal(h[2].actor, ACCOUNTS_FORMER_MARKER);
	pano_history_free(h, n);
	assert_int_equal(pano_check(t->tdb, px, &why), 0);

	/* Y's panorama: X's entry gone, the group's kept, a version on. */
	assert_int_equal(version_of(t, py), vy + 1);
	assert_int_equal(pano_access_get(t->tdb, py, &acc, &n), ERR_OK);
	assert_int_equal(n, 1);
	assert_int_equal(acc[0].grantee, PANO_GRANT_GROUP);
	pano_access_free(acc, n);
	assert_int_equal(pano_check(t->tdb, py, &why), 0);
	/* X's undoable batch there is no one's now. */
	assert_int_equal(pano_undo(t->tdb, py, X, &lim, NOW, &version),
	    ERR_NOT_FOUND);

	/* Z's panorama: untouched. */
	assert_int_equal(version_of(t, pz), vz);
}

static void
test_erase_is_idempotent_and_leaves_others_alone(void **state)
{
	struct fx_tenant *t = *state;
	const char	*ids[1] = { X };
	size_t		 panos;
	long long	 p, q, ys;

	p = panorama(t, X, NOW);
	q = panorama(t, Y, NOW);
	add(t, q, Y, 30001, NOW);
	template(t, Y, SCOPE_PERSONAL, NOW);
	ys = rows_with(t, Y);
	assert_true(ys >= 4);
	assert_int_equal(accounts_erase(t->tdb, ids, 1, NOW, &panos), ERR_OK);
	assert_int_equal(panos, 1);
	assert_int_equal(version_of(t, p), 2);
	assert_int_equal(version_of(t, q), 2);
	/* Again: nothing of X is left to change. */
	assert_int_equal(accounts_erase(t->tdb, ids, 1, NOW, &panos), ERR_OK);
	assert_int_equal(panos, 0);
	assert_int_equal(version_of(t, p), 2);
	assert_int_equal(rows_with(t, Y), ys);
}

static void
test_a_closed_last_id_never_becomes_the_cursor(void **state)
{
	struct fx_tenant *t = *state;
	static const struct answer seq[] = {
		{ ERR_OK, 200, "@closed", -1, NULL },
		{ ERR_OK, 429, NULL, 60, NULL },
	};
	static const struct answer ok204[] = { { ERR_OK, 204, NULL, -1,
	    NULL } };
	struct fake	 f;
	struct accounts_result r;
	char		 ids[4096];

	many(t, 100);
	memset(&f, 0, sizeof(f));
	f.answers = seq;
	f.nanswers = 2;
	f.closed[0] = "acct-089";	/* the first batch's last */
	f.closed[1] = "acct-088";
	r = report(t, &f, NOW, 0);
	assert_int_equal(r.outcome, ACC_DEFERRED);
	assert_int_equal(r.closed, 2);
	assert_string_equal(state_of(t).cursor, "acct-087");
	assert_int_equal(rows_with(t, "acct-089"), 0);
	fake_free(&f);
	f.answers = ok204;
	f.nanswers = 1;
	r = report(t, &f, NOW + 60, 0);
	assert_int_equal(r.outcome, ACC_DONE);
	assert_int_equal(r.reported, 10);
	ids_of(&f, 0, ids, sizeof(ids));
	assert_int_equal(strncmp(ids, "acct-090,", 9), 0);
	assert_int_equal(state_of(t).last_reported, 100);
	assert_int_equal(state_of(t).last_closed, 2);
	fake_free(&f);
}

/*
 * 4. One run at a time per tenant.  A second run (another worker's
 * trigger, the reaper) that starts while one is sending finds the
 * cycle claimed and does nothing; so every account is reported once a
 * cycle even when two runs start together.
 */

/* What the test makes happen during a run's first send. */
static struct {
	struct fx_tenant *t;
	enum { DURING_NOTHING, DURING_SECOND_RUN, DURING_CLAIM_TAKEN } what;
	struct accounts_result second;
	size_t		 second_calls;
	int		 sends;
} during;

static long long
claimed_until(struct fx_tenant *t)
{
	sqlite3_stmt	*st;
	long long	 v;

	assert_int_equal(sqlite3_prepare_v2(tenantdb_sqlite(t->tdb),
	    "SELECT claimed_until FROM account_report WHERE id = 1", -1, &st,
	    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void
claim_set_by(struct fx_tenant *t, long long until, long long pid)
{
	char	 sql[160];

	snprintf(sql, sizeof(sql), "UPDATE account_report SET claimed_until "
	    "= %lld, claimed_pid = %lld WHERE id = 1", until, pid);
	assert_int_equal(sqlite3_exec(tenantdb_sqlite(t->tdb), sql, NULL,
	    NULL, NULL), SQLITE_OK);
}

static void
claim_set(struct fx_tenant *t, long long until)
{
	claim_set_by(t, until, 0);
}

/* The pid of a process that has exited (and been reaped). */
static long long
dead_pid(void)
{
	pid_t	 p;
	int	 status;

	assert_true((p = fork()) != -1);
	if (p == 0)
		_exit(0);
	assert_int_equal(waitpid(p, &status, 0), p);
	return (long long)p;
}

static enum err
during_send(void *arg, const char *body, struct accounts_reply *rep)
{
	static const struct answer ok204[] = { { ERR_OK, 204, NULL, -1,
	    NULL } };
	struct fake	 g = { ok204, 1, 0, { 0 }, { 0 }, "" };
	struct accounts_io io;

	if (during.sends++ == 0 && during.what == DURING_SECOND_RUN) {
		memset(&io, 0, sizeof(io));
		io.send = fake_send;
		io.arg = &g;
		assert_int_equal(accounts_report(during.t->tdb, NOW + 1, &io,
		    &during.second), ERR_OK);
		during.second_calls = g.calls;
		fake_free(&g);
	}
	if (during.sends == 1 && during.what == DURING_CLAIM_TAKEN)
		claim_set(during.t, NOW + 5000);	/* expired, taken */
	return fake_send(arg, body, rep);
}

static struct accounts_result
report_during(struct fx_tenant *t, struct fake *f, long long now)
{
	struct accounts_io io;
	struct accounts_result res;

	memset(&io, 0, sizeof(io));
	io.send = during_send;
	io.arg = f;
	during.t = t;
	during.sends = 0;
	assert_int_equal(accounts_report(t->tdb, now, &io, &res), ERR_OK);
	return res;
}

static void
test_one_run_at_a_time(void **state)
{
	struct fx_tenant *t = *state;
	static const struct answer ok204[] = { { ERR_OK, 204, NULL, -1,
	    NULL } };
	struct fake	 f = { ok204, 1, 0, { 0 }, { 0 }, "" };
	struct accounts_result r;
	struct accounts_state s;

	many(t, 200);
	/* A second run while the first sends its first batch: nothing. */
	memset(&during, 0, sizeof(during));
	during.what = DURING_SECOND_RUN;
	r = report_during(t, &f, NOW);
	assert_int_equal(during.second.outcome, ACC_BUSY);
	assert_string_equal(accounts_outcome_code(ACC_BUSY), "busy");
	assert_int_equal(during.second_calls, 0);
	assert_int_equal(during.second.reported, 0);
	assert_int_equal(r.outcome, ACC_DONE);
	assert_int_equal(r.reported, 200);
	assert_int_equal(f.calls, 3);
	assert_int_equal(ids_in(&f, 0) + ids_in(&f, 1) + ids_in(&f, 2), 200);
	assert_int_equal(state_of(t).last_reported, 200);
	/* Released at the end. */
	assert_int_equal(claimed_until(t), 0);
	fake_free(&f);

	/* A run that died holding it: the next waits until it expires. */
	claim_set(t, NOW + 7 * DAY + ACCOUNTS_CLAIM_SECS - 20);
	f.answers = ok204;
	f.nanswers = 1;
	r = report(t, &f, NOW + 7 * DAY, 0);
	assert_int_equal(r.outcome, ACC_BUSY);
	assert_int_equal(f.calls, 0);
	s = state_of(t);
	assert_int_equal(s.cycle_started_at, 0);
	assert_int_equal(s.last_completed_at, NOW);
	r = report(t, &f, NOW + 7 * DAY + ACCOUNTS_CLAIM_SECS - 20, 0);
	assert_int_equal(r.outcome, ACC_DONE);
	assert_int_equal(f.calls, 3);
	assert_int_equal(claimed_until(t), 0);
	fake_free(&f);

	/*
	 * A run killed (kill -9) holding it: its process is gone, so the
	 * claim is free at once; a live holder's is not.
	 */
	claim_set_by(t, NOW + 15 * DAY + 60, (long long)getppid());
	f.answers = ok204;
	f.nanswers = 1;
	r = report(t, &f, NOW + 15 * DAY, 0);
	assert_int_equal(r.outcome, ACC_BUSY);
	assert_int_equal(f.calls, 0);
	claim_set_by(t, NOW + 15 * DAY + 60, dead_pid());
	r = report(t, &f, NOW + 15 * DAY, 0);
	assert_int_equal(r.outcome, ACC_DONE);
	assert_int_equal(f.calls, 3);
	fake_free(&f);

	/* A claim far ahead (a clock stepped back) is taken as expired. */
	claim_set(t, NOW + 90 * DAY);
	f.answers = ok204;
	f.nanswers = 1;
	r = report(t, &f, NOW + 22 * DAY, 0);
	assert_int_equal(r.outcome, ACC_DONE);
	assert_int_equal(f.calls, 3);
	fake_free(&f);

	/*
	 * A run whose claim expired and was taken meanwhile stores nothing
	 * more: the batch it was sending is the other run's to report.
	 */
	memset(&during, 0, sizeof(during));
	during.what = DURING_CLAIM_TAKEN;
	f.answers = ok204;
	f.nanswers = 1;
	r = report_during(t, &f, NOW + 40 * DAY);
	assert_int_equal(r.outcome, ACC_BUSY);
	assert_int_equal(r.batches, 0);
	assert_int_equal(f.calls, 1);
	s = state_of(t);
	assert_string_equal(s.cursor, "");
	assert_int_equal(s.cur_reported, 0);
	/* Not released: it is the other run's. */
	assert_int_equal(claimed_until(t), NOW + 5000);
	fake_free(&f);

	/* A dry run claims nothing, and runs while the cycle is held. */
	claim_set(t, NOW + 40 * DAY + 60);
	f.answers = ok204;
	f.nanswers = 1;
	r = report(t, &f, NOW + 40 * DAY, 1);
	assert_int_equal(r.outcome, ACC_DRY_RUN);
	assert_int_equal(claimed_until(t), NOW + 40 * DAY + 60);
	fake_free(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_account_id_syntax),
		cmocka_unit_test(test_cycle_period_forms),
		cmocka_unit_test(test_answer_taken_whole_or_not_at_all),
		cmocka_unit_test(test_request_body_shape),
		FX_TENANT_TEST(test_every_stored_account_with_its_oldest_time),
		FX_TENANT_TEST(test_batches_of_90_in_order_once_a_cycle),
		FX_TENANT_TEST(test_nothing_stored_completes_without_a_request),
		FX_TENANT_TEST(
		    test_429_waits_retry_after_and_resumes_at_the_cursor),
		FX_TENANT_TEST(
		    test_refusals_and_malformed_answers_erase_nothing),
		FX_TENANT_TEST(test_cycle_period_sets_the_next_cycle),
		FX_TENANT_TEST(test_dry_run_sends_and_changes_nothing),
		FX_TENANT_TEST(test_a_closed_account_is_erased_everywhere),
		FX_TENANT_TEST(
		    test_erase_is_idempotent_and_leaves_others_alone),
		FX_TENANT_TEST(test_a_closed_last_id_never_becomes_the_cursor),
		FX_TENANT_TEST(test_one_run_at_a_time),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
