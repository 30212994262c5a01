/* libFuzzer: Atlassian's answers to a personal-data report and its
 * Cycle-Period header.  The first byte picks:
 *  - 0: the rest as a Cycle-Period value: always 1..90 days, the same
 *    twice;
 *  - 1: the rest as a 200 answer to a request that sent four ids: taken
 *    (0) only if every id it names is one sent, named once, as closed
 *    or updated; refused (-1) leaves every id unnamed;
 *  - 2: the same answer through accounts_report on a real tenant file
 *    (the unit tests' fixture) holding those four accounts: an answer
 *    not taken changes nothing (the rows, the cursor), one taken erases
 *    exactly the ids it names closed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "cellar/accounts.h"
#include "cellar/tenantdb.h"
#include "cellar/tpl.h"
#include "fixture.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define NSENT	4

static struct account_seen sent[NSENT] = {
	{ (char *)(uintptr_t)"557058:a", 1 },
	{ (char *)(uintptr_t)"557058:b", 2 },
	{ (char *)(uintptr_t)"c-3", 3 },
	{ (char *)(uintptr_t)"d-4", 4 },
};

static struct fx_tenant	 fx;
static int		 ready;

/* The reply the transport gives: the input. */
static const char	*answer;
static size_t		 answer_len;

static void
cleanup(void)
{
	fx_tenant_teardown(&fx);
}

static long long
count(const char *sql, const char *id)
{
	sqlite3_stmt	*s;
	long long	 n = -1;

	if (sqlite3_prepare_v2(tenantdb_sqlite(fx.tdb), sql, -1, &s, NULL) !=
	    SQLITE_OK)
		abort();
	if (id != NULL)
		sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return n;
}

static void
exec(const char *sql)
{
	if (sqlite3_exec(tenantdb_sqlite(fx.tdb), sql, NULL, NULL, NULL) !=
	    SQLITE_OK)
		abort();
}

/* Each of the four accounts owns one shared template (made again). */
static void
restock(void)
{
	struct tpl	 t;
	size_t		 i;

	for (i = 0; i < NSENT; i++) {
		if (count("SELECT count(*) FROM templates WHERE owner = ?1",
		    sent[i].id) > 0)
			continue;
		memset(&t, 0, sizeof(t));
		t.name = strdup("n");
		t.body = strdup("b");
		t.owner = strdup(sent[i].id);
		t.scope = SCOPE_GLOBAL;
		t.active = 1;
		if (tpl_create(fx.tdb, &t, sent[i].at, &fx_limits) != ERR_OK)
			abort();
		tpl_free(&t);
	}
	/* A cycle due, from the first id. */
	exec("UPDATE account_report SET cycle_started_at = 0, cursor = '', "
	    "next_due_at = 0, retry_at = 0");
}

static enum err
send_answer(void *arg, const char *body, struct accounts_reply *rep)
{
	(void)arg;
	(void)body;
	rep->status = 200;
	if ((rep->body = malloc(answer_len + 1)) == NULL)
		return ERR_INTERNAL;
	memcpy(rep->body, answer, answer_len);
	rep->body[answer_len] = '\0';
	rep->len = answer_len;
	return ERR_OK;
}

static void
through_report(void)
{
	enum account_status st[NSENT];
	struct accounts_io io;
	struct accounts_result res;
	long long	 owned[NSENT], before;
	size_t		 i, closed = 0;
	int		 taken;

	if (!ready) {
		fx_tenant_setup(&fx, NULL);
		exec("PRAGMA synchronous=OFF");
		atexit(cleanup);
		ready = 1;
	}
	restock();
	for (i = 0; i < NSENT; i++)
		owned[i] = count("SELECT count(*) FROM templates WHERE owner = "
		    "?1", sent[i].id);
	before = count("SELECT count(*) FROM templates", NULL);
	taken = accounts_answer_parse(200, answer, answer_len, sent, NSENT,
	    st) == 0;
	memset(&io, 0, sizeof(io));
	io.send = send_answer;
	if (accounts_report(fx.tdb, FX_NOW, &io, &res) != ERR_OK)
		abort();
	if (taken != (res.outcome == ACC_DONE))
		abort();
	for (i = 0; i < NSENT; i++) {
		long long now = count("SELECT count(*) FROM templates WHERE "
		    "owner = ?1", sent[i].id);

		if (taken && st[i] == ACCOUNT_CLOSED) {
			closed++;
			if (now != 0)
				abort();
		} else if (now != owned[i])
			abort();
	}
	if (closed != res.closed ||
	    count("SELECT count(*) FROM templates WHERE owner = ?1",
	    ACCOUNTS_TENANT_MARKER) != (long long)closed)
		abort();
	if (!taken && (count("SELECT count(*) FROM templates", NULL) !=
	    before || count("SELECT count(*) FROM account_report WHERE "
	    "cursor = '' AND cur_reported = 0", NULL) != 1))
		abort();
	/* Shared templates moved to the site: give them back their owners. */
	exec("DELETE FROM templates WHERE owner = '" ACCOUNTS_TENANT_MARKER
	    "'");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum account_status st[NSENT], again[NSENT];
	char		*buf;
	size_t		 i;
	int		 rc, days;

	if (size < 1)
		return 0;
	if ((buf = malloc(size)) == NULL)
		return 0;
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = '\0';
	switch (data[0] % 3) {
	case 0:
		days = accounts_cycle_parse(buf);
		if (days < ACCOUNTS_CYCLE_MIN || days > ACCOUNTS_CYCLE_MAX ||
		    days != accounts_cycle_parse(buf))
			abort();
		break;
	case 1:
		rc = accounts_answer_parse(200, buf, size - 1, sent, NSENT, st);
		if (accounts_answer_parse(200, buf, size - 1, sent, NSENT,
		    again) != rc || memcmp(st, again, sizeof(st)) != 0)
			abort();
		for (i = 0; i < NSENT; i++)
			if (st[i] >= ACCOUNT__MAX ||
			    (rc == -1 && st[i] != ACCOUNT_UNNAMED))
				abort();
		/* Any other status refuses the same body. */
		if (accounts_answer_parse(201, buf, size - 1, sent, NSENT,
		    st) != -1)
			abort();
		break;
	default:
		answer = buf;
		answer_len = size - 1;
		through_report();
		break;
	}
	free(buf);
	return 0;
}
