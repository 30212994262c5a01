/*
 * Personal-data reporting (accounts.h): the report state of
 * sql/tenant/0005_accounts.sql, the account ids the other tables store,
 * and the erase of closed accounts.  Every statement is in the table
 * below and bound.  They are prepared per call, not kept in the handle
 * (tenantdb.h): a tenant reports once a cycle, and the handle's
 * statement slots are the request path's.  Every write runs in
 * tenantdb_tx (BEGIN IMMEDIATE, retried whole when busy), so each
 * transaction function starts from scratch and changes only the
 * database and its own output.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cellar/accounts.h"
#include "cellar/clock.h"
#include "cellar/db.h"
#include "cellar/jira.h"
#include "cellar/json.h"
#include "cellar/tenantdb.h"
#include "cellar/util.h"

/* History batches kept per panorama (pano.h's PANO_HISTORY_KEEP). */
#define HISTORY_KEEP	1000
/* What the erase's history batch says. */
#define ERASED_WHAT	"{\"actions\":[{\"op\":\"accountClosed\"}]}"

enum astmt {
	A_STORED,
	A_STATE_GET,
	A_CYCLE_OPEN,
	A_BATCH_DONE,
	A_CYCLE_DONE,
	A_ANSWER,
	A_TOUCHED,
	A_TPL_PERSONAL,
	A_TPL_OWNER,
	A_PANO_OWNER,
	A_NODE_CREATOR,
	A_HIST_ACTOR,
	A_UNDO_CREATOR,
	A_ACCESS_DELETE,
	A_PANO_BUMP,
	A_HIST_INSERT,
	A_HIST_TRIM,
	A_CLAIM_GET,
	A_CLAIM,
	A_CLAIM_RENEW,
	A_CLAIM_RELEASE,
	A__MAX
};

static const char *const asql[A__MAX] = {
	/*
	 * Every place an account id is stored, with the time it counts as
	 * stored (accounts.h), the oldest per id, after ?1, ascending.
	 * Ids of the wrong syntax ('' for a node made by the system, the
	 * markers) are left out by the caller.
	 */
	[A_STORED] = "SELECT id, min(at) FROM ("
	    "SELECT owner AS id, created_at AS at FROM templates "
	    "UNION ALL SELECT owner, created_at FROM panoramas "
	    "UNION ALL SELECT creator, created_at FROM pano_nodes "
	    "UNION ALL SELECT actor, at FROM pano_history WHERE actor IS NOT "
	    "NULL "
	    "UNION ALL SELECT creator, created_at FROM pano_undo WHERE creator "
	    "IS NOT NULL AND created_at IS NOT NULL "
	    "UNION ALL SELECT a.target, p.created_at FROM pano_access a JOIN "
	    "panoramas p ON p.id = a.panorama_id WHERE a.grantee = 'account'"
	    ") WHERE id > ?1 GROUP BY id ORDER BY id",
	[A_STATE_GET] = "SELECT cycle_started_at, cursor, next_due_at, "
	    "cycle_days, retry_at, cur_reported, cur_closed, cur_updated, "
	    "last_completed_at, last_reported, last_closed, last_updated, "
	    "last_status, last_attempt_at, erased_total FROM account_report "
	    "WHERE id = 1",
	[A_CYCLE_OPEN] = "UPDATE account_report SET cycle_started_at = ?1, "
	    "cursor = '', cur_reported = 0, cur_closed = 0, cur_updated = 0 "
	    "WHERE id = 1",
	/* ?5: the new cycle in days, or NULL. */
	/* ?1: the cursor, NULL to keep it (see batch_fn). */
	[A_BATCH_DONE] = "UPDATE account_report SET cursor = coalesce(?1, "
	    "cursor), "
	    "cur_reported = cur_reported + ?2, cur_closed = cur_closed + ?3, "
	    "cur_updated = cur_updated + ?4, erased_total = erased_total + "
	    "?3, cycle_days = coalesce(?5, cycle_days), last_status = ?6, "
	    "last_attempt_at = ?7, retry_at = 0 WHERE id = 1",
	[A_CYCLE_DONE] = "UPDATE account_report SET last_completed_at = ?1, "
	    "next_due_at = ?1 + cycle_days * 86400, last_reported = "
	    "cur_reported, last_closed = cur_closed, last_updated = "
	    "cur_updated, cur_reported = 0, cur_closed = 0, cur_updated = 0, "
	    "cycle_started_at = 0, cursor = '', retry_at = 0 WHERE id = 1",
	[A_ANSWER] = "UPDATE account_report SET last_status = ?1, "
	    "last_attempt_at = ?2, retry_at = ?3 WHERE id = 1",
	/* The panoramas holding ?1 anywhere. */
	[A_TOUCHED] = "SELECT id FROM panoramas WHERE owner = ?1 "
	    "UNION SELECT panorama_id FROM pano_nodes WHERE creator = ?1 "
	    "UNION SELECT panorama_id FROM pano_history WHERE actor = ?1 "
	    "UNION SELECT h.panorama_id FROM pano_undo u JOIN pano_history h "
	    "ON h.id = u.batch_id WHERE u.creator = ?1 "
	    "UNION SELECT panorama_id FROM pano_access WHERE grantee = "
	    "'account' AND target = ?1",
	/* Targets, uses and search rows go with them (ON DELETE CASCADE). */
	[A_TPL_PERSONAL] = "DELETE FROM templates WHERE scope = 'personal' "
	    "AND owner = ?1",
	[A_TPL_OWNER] = "UPDATE templates SET owner = ?2 WHERE owner = ?1",
	[A_PANO_OWNER] = "UPDATE panoramas SET owner = ?2 WHERE owner = ?1",
	[A_NODE_CREATOR] = "UPDATE pano_nodes SET creator = ?2 WHERE "
	    "creator = ?1",
	[A_HIST_ACTOR] = "UPDATE pano_history SET actor = ?2 WHERE actor = ?1",
	[A_UNDO_CREATOR] = "UPDATE pano_undo SET creator = ?2 WHERE "
	    "creator = ?1",
	[A_ACCESS_DELETE] = "DELETE FROM pano_access WHERE grantee = "
	    "'account' AND target = ?1",
	[A_PANO_BUMP] = "UPDATE panoramas SET version = version + 1, "
	    "updated_at = ?2 WHERE id = ?1",
	/* A batch of the system at the new version, as pano.c writes one. */
	[A_HIST_INSERT] = "INSERT INTO pano_history (panorama_id, version, "
	    "actor, at, kind, what) SELECT id, version, NULL, ?2, 'system', ?3 "
	    "FROM panoramas WHERE id = ?1",
	/* All but the newest ?2 (their undo rows go with them). */
	[A_HIST_TRIM] = "DELETE FROM pano_history WHERE panorama_id = ?1 AND "
	    "id <= (SELECT id FROM pano_history WHERE panorama_id = ?1 ORDER "
	    "BY id DESC LIMIT 1 OFFSET ?2)",
	/*
	 * The run's claim on the cycle (accounts_report): read, then
	 * taken until ?1 by process ?2 (claim_fn decides whether it is
	 * free); renewed from ?1 (the run's own) to ?2; released only
	 * while it is still the run's own (?1).
	 */
	[A_CLAIM_GET] = "SELECT claimed_until, claimed_pid FROM "
	    "account_report WHERE id = 1",
	[A_CLAIM] = "UPDATE account_report SET claimed_until = ?1, "
	    "claimed_pid = ?2 WHERE id = 1",
	[A_CLAIM_RENEW] = "UPDATE account_report SET claimed_until = ?2 "
	    "WHERE id = 1 AND claimed_until = ?1",
	[A_CLAIM_RELEASE] = "UPDATE account_report SET claimed_until = 0, "
	    "claimed_pid = 0 WHERE id = 1 AND claimed_until = ?1",
};

static const char *const outcome_codes[ACC__MAX] = {
	[ACC_NOT_DUE] = "not_due",
	[ACC_DONE] = "done",
	[ACC_DEFERRED] = "deferred",
	[ACC_REFUSED] = "refused",
	[ACC_BAD_REPLY] = "bad_reply",
	[ACC_UNREACHABLE] = "unreachable",
	[ACC_DRY_RUN] = "dry_run",
	[ACC_BUSY] = "busy",
};

const char *
accounts_outcome_code(enum accounts_outcome o)
{
	return o < ACC__MAX ? outcome_codes[o] : "none";
}

/*
 * The statements of one call, prepared on first use and finalized
 * together (stmts_end).
 */
struct stmts {
	sqlite3		*db;
	sqlite3_stmt	*s[A__MAX];
};

static sqlite3_stmt *
st(struct stmts *c, enum astmt i)
{
	if (c->s[i] == NULL && sqlite3_prepare_v2(c->db, asql[i], -1,
	    &c->s[i], NULL) != SQLITE_OK) {
		sqlite3_finalize(c->s[i]);
		c->s[i] = NULL;
	}
	return c->s[i];
}

static void
stmts_end(struct stmts *c)
{
	size_t	 i;

	for (i = 0; i < A__MAX; i++)
		sqlite3_finalize(c->s[i]);
	memset(c->s, 0, sizeof(c->s));
}

/* Steps s to its end and gives it back; 0 or -1. */
static int
exec_done(sqlite3_stmt *s)
{
	int	 rc = sqlite3_step(s);

	db_stmt_done(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

void
accounts_seen_free(struct account_seen *a, size_t n)
{
	size_t	 i;

	if (a == NULL)
		return;
	for (i = 0; i < n; i++)
		free(a[i].id);
	free(a);
}

int
accounts_id_ok(const char *s)
{
	size_t	 n;

	for (n = 0; s[n] != '\0'; n++)
		if (!((s[n] >= 'a' && s[n] <= 'z') ||
		    (s[n] >= 'A' && s[n] <= 'Z') ||
		    (s[n] >= '0' && s[n] <= '9') || s[n] == '-' ||
		    s[n] == ':') || n >= ACCOUNTS_ID_MAX)
			return 0;
	return n > 0 && strcmp(s, "unknown") != 0;
}

enum err
accounts_stored(struct tenantdb *tdb, const char *after, size_t limit,
    struct account_seen **out, size_t *n)
{
	struct stmts	 c;
	struct account_seen *v = NULL, *grown;
	sqlite3_stmt	*s;
	const char	*id;
	size_t		 cap = 0;
	enum err	 e = ERR_INTERNAL;
	int		 rc = SQLITE_DONE;

	*out = NULL;
	*n = 0;
	memset(&c, 0, sizeof(c));
	c.db = tenantdb_sqlite(tdb);
	if ((s = st(&c, A_STORED)) == NULL ||
	    db_bind_text(s, 1, after != NULL ? after : "") == -1)
		goto out;
	while (*n < limit && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		id = (const char *)sqlite3_column_text(s, 0);
		if (id == NULL || !accounts_id_ok(id))
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			if ((grown = reallocarray(v, cap, sizeof(*v))) == NULL)
				goto out;
			v = grown;
		}
		v[*n].at = sqlite3_column_int64(s, 1);
		if ((v[*n].id = strdup(id)) == NULL)
			goto out;
		(*n)++;
	}
	if (*n < limit && rc != SQLITE_DONE) {
		e = db_err(c.db);
		goto out;
	}
	*out = v;
	v = NULL;
	e = ERR_OK;
out:
	stmts_end(&c);
	if (e != ERR_OK) {
		accounts_seen_free(v, *n);
		*n = 0;
	}
	return e;
}

char *
accounts_request_body(const struct account_seen *a, size_t n)
{
	struct jw	 w = JW_INIT;
	char		 when[21];
	size_t		 i;

	jw_begin_object(&w, NULL);
	jw_begin_array(&w, "accounts");
	for (i = 0; i < n; i++) {
		jw_begin_object(&w, NULL);
		jw_string(&w, "accountId", a[i].id);
		util_iso8601(when, a[i].at > 0 ? a[i].at : 0);
		jw_string(&w, "updatedAt", when);
		jw_end_object(&w);
	}
	jw_end_array(&w);
	jw_end_object(&w);
	return jw_finish(&w, NULL);
}

static int
seen_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct account_seen *)elem)->id);
}

int
accounts_answer_parse(long status, const char *body, size_t len,
    const struct account_seen *sent, size_t n, enum account_status *st_out)
{
	const cJSON	*list, *it;
	const struct account_seen *hit;
	const char	*id, *status_s;
	cJSON		*doc = NULL;
	enum account_status want;
	size_t		 i;
	int		 rc = -1;

	for (i = 0; i < n; i++)
		st_out[i] = ACCOUNT_UNNAMED;
	if (status == 204)
		return 0;
	if (status != 200 || body == NULL || len == 0 ||
	    json_parse(body, len, &doc) != JSON_OK || !cJSON_IsObject(doc))
		goto out;
	list = cJSON_GetObjectItemCaseSensitive(doc, "accounts");
	if (!cJSON_IsArray(list))
		goto out;
	cJSON_ArrayForEach(it, list) {
		if (!cJSON_IsObject(it) ||
		    json_get_str(it, "accountId", 1, ACCOUNTS_ID_MAX, &id) !=
		    JSON_OK ||
		    json_get_str(it, "status", 1, 16, &status_s) != JSON_OK)
			goto out;
		if (strcmp(status_s, "closed") == 0)
			want = ACCOUNT_CLOSED;
		else if (strcmp(status_s, "updated") == 0)
			want = ACCOUNT_UPDATED;
		else
			goto out;
		/* One of ours, and named once. */
		if ((hit = bsearch(id, sent, n, sizeof(*sent), seen_cmp)) ==
		    NULL || st_out[hit - sent] != ACCOUNT_UNNAMED)
			goto out;
		st_out[hit - sent] = want;
	}
	rc = 0;
out:
	cJSON_Delete(doc);
	if (rc == -1)
		for (i = 0; i < n; i++)
			st_out[i] = ACCOUNT_UNNAMED;
	return rc;
}

static int
lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

int
accounts_cycle_parse(const char *s)
{
	long long	 days = 0;
	size_t		 digits = 0;

	if (s == NULL)
		return ACCOUNTS_CYCLE_DEFAULT;
	while (*s == ' ' || *s == '\t')
		s++;
	for (; *s >= '0' && *s <= '9'; s++, digits++)
		if ((days = days * 10 + (*s - '0')) > 1000000)
			days = 1000000;
	if (digits == 0)
		return ACCOUNTS_CYCLE_DEFAULT;
	while (*s == ' ' || *s == '\t')
		s++;
	if (lower(s[0]) == 'd' && lower(s[1]) == 'a' && lower(s[2]) == 'y') {
		s += 3;
		if (lower(*s) == 's')
			s++;
		while (*s == ' ' || *s == '\t')
			s++;
	}
	if (*s != '\0')
		return ACCOUNTS_CYCLE_DEFAULT;
	if (days < ACCOUNTS_CYCLE_MIN)
		return ACCOUNTS_CYCLE_MIN;
	if (days > ACCOUNTS_CYCLE_MAX)
		return ACCOUNTS_CYCLE_MAX;
	return (int)days;
}

enum err
accounts_state_get(struct tenantdb *tdb, struct accounts_state *out)
{
	struct stmts	 c;
	sqlite3_stmt	*s;
	const char	*cur;
	enum err	 e = ERR_INTERNAL;
	int		 rc;

	memset(out, 0, sizeof(*out));
	memset(&c, 0, sizeof(c));
	c.db = tenantdb_sqlite(tdb);
	if ((s = st(&c, A_STATE_GET)) == NULL)
		goto out;
	if ((rc = sqlite3_step(s)) != SQLITE_ROW) {
		e = rc == SQLITE_DONE ? ERR_INTERNAL : db_err(c.db);
		goto out;
	}
	out->cycle_started_at = sqlite3_column_int64(s, 0);
	cur = (const char *)sqlite3_column_text(s, 1);
	if (cur != NULL && strlen(cur) <= ACCOUNTS_ID_MAX)
		memcpy(out->cursor, cur, strlen(cur) + 1);
	out->next_due_at = sqlite3_column_int64(s, 2);
	out->cycle_days = sqlite3_column_int(s, 3);
	out->retry_at = sqlite3_column_int64(s, 4);
	out->cur_reported = sqlite3_column_int64(s, 5);
	out->cur_closed = sqlite3_column_int64(s, 6);
	out->cur_updated = sqlite3_column_int64(s, 7);
	out->last_completed_at = sqlite3_column_int64(s, 8);
	out->last_reported = sqlite3_column_int64(s, 9);
	out->last_closed = sqlite3_column_int64(s, 10);
	out->last_updated = sqlite3_column_int64(s, 11);
	out->last_status = (long)sqlite3_column_int64(s, 12);
	out->last_attempt_at = sqlite3_column_int64(s, 13);
	out->erased_total = sqlite3_column_int64(s, 14);
	e = ERR_OK;
out:
	stmts_end(&c);
	return e;
}

int
accounts_due(const struct accounts_state *s, long long now)
{
	/* Further ahead than Atlassian may ask us to wait: a wrong clock. */
	if (s->retry_at > now && s->retry_at <= now + ACCOUNTS_RETRY_MAX +
	    CLOCK_DAY)
		return 0;
	if (s->cycle_started_at != 0 || s->next_due_at <= now)
		return 1;
	return s->next_due_at > now + (long long)s->cycle_days * CLOCK_DAY +
	    CLOCK_DAY;
}

/* Adds v to the set *ids (unsorted, unique); 0 or -1. */
static int
id_add(long long **ids, size_t *n, size_t *cap, long long v)
{
	long long	*grown;
	size_t		 i;

	for (i = 0; i < *n; i++)
		if ((*ids)[i] == v)
			return 0;
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		if ((grown = reallocarray(*ids, *cap, sizeof(**ids))) == NULL)
			return -1;
		*ids = grown;
	}
	(*ids)[(*n)++] = v;
	return 0;
}

/* Runs statement i with ?1 id and ?2 text v (NULL: none); 0 or -1. */
static int
run_id(struct stmts *c, enum astmt i, const char *id, const char *v)
{
	sqlite3_stmt	*s;

	if ((s = st(c, i)) == NULL || db_bind_text(s, 1, id) == -1 ||
	    (v != NULL && db_bind_text(s, 2, v) == -1)) {
		db_stmt_done(s);
		return -1;
	}
	return exec_done(s);
}

/*
 * The erase of ids[0..n) inside the caller's transaction (accounts.h):
 * *npanos panoramas changed.  ERR_OK, or ERR_INTERNAL on a SQLite
 * failure (db_tx maps it) or no memory.
 */
static enum err
erase_in_tx(struct stmts *c, const char *const *ids, size_t n,
    long long now, size_t *npanos)
{
	sqlite3_stmt	*s;
	long long	*panos = NULL;
	size_t		 np = 0, cap = 0, i;
	enum err	 e = ERR_INTERNAL;
	int		 rc;

	*npanos = 0;
	for (i = 0; i < n; i++) {
		/* First which panoramas it is in, then out of them. */
		if ((s = st(c, A_TOUCHED)) == NULL ||
		    db_bind_text(s, 1, ids[i]) == -1)
			goto out;
		while ((rc = sqlite3_step(s)) == SQLITE_ROW)
			if (id_add(&panos, &np, &cap,
			    sqlite3_column_int64(s, 0)) == -1) {
				db_stmt_done(s);
				goto out;
			}
		db_stmt_done(s);
		if (rc != SQLITE_DONE)
			goto out;
		if (run_id(c, A_TPL_PERSONAL, ids[i], NULL) == -1 ||
		    run_id(c, A_TPL_OWNER, ids[i], ACCOUNTS_TENANT_MARKER) ==
		    -1 ||
		    run_id(c, A_PANO_OWNER, ids[i], ACCOUNTS_TENANT_MARKER) ==
		    -1 ||
		    run_id(c, A_NODE_CREATOR, ids[i], ACCOUNTS_FORMER_MARKER) ==
		    -1 ||
		    run_id(c, A_HIST_ACTOR, ids[i], ACCOUNTS_FORMER_MARKER) ==
		    -1 ||
		    run_id(c, A_UNDO_CREATOR, ids[i], ACCOUNTS_FORMER_MARKER) ==
		    -1 ||
		    run_id(c, A_ACCESS_DELETE, ids[i], NULL) == -1)
			goto out;
	}
	for (i = 0; i < np; i++) {
		if ((s = st(c, A_PANO_BUMP)) == NULL)
			goto out;
		sqlite3_bind_int64(s, 1, panos[i]);
		sqlite3_bind_int64(s, 2, now);
		if (exec_done(s) == -1 || (s = st(c, A_HIST_INSERT)) == NULL)
			goto out;
		sqlite3_bind_int64(s, 1, panos[i]);
		sqlite3_bind_int64(s, 2, now);
		if (db_bind_text(s, 3, ERASED_WHAT) == -1 ||
		    exec_done(s) == -1 || (s = st(c, A_HIST_TRIM)) == NULL)
			goto out;
		sqlite3_bind_int64(s, 1, panos[i]);
		sqlite3_bind_int64(s, 2, HISTORY_KEEP);
		if (exec_done(s) == -1)
			goto out;
	}
	*npanos = np;
	e = ERR_OK;
out:
	free(panos);
	return e;
}

/* accounts_erase's transaction. */
struct erase_tx {
	const char *const *ids;
	size_t		 n;
	long long	 now;
	size_t		 panos;
};

static enum err
erase_fn(sqlite3 *db, void *arg)
{
	struct erase_tx	*x = arg;
	struct stmts	 c;
	enum err	 e;

	memset(&c, 0, sizeof(c));
	c.db = db;
	e = erase_in_tx(&c, x->ids, x->n, x->now, &x->panos);
	stmts_end(&c);
	return e;
}

enum err
accounts_erase(struct tenantdb *tdb, const char *const *ids, size_t n,
    long long now, size_t *panoramas)
{
	struct erase_tx	 x;
	enum err	 e;

	memset(&x, 0, sizeof(x));
	x.ids = ids;
	x.n = n;
	x.now = now;
	e = tenantdb_tx(tdb, erase_fn, &x);
	if (panoramas != NULL)
		*panoramas = e == ERR_OK ? x.panos : 0;
	return e;
}

/* One answered batch: its erase, counts and the cursor, together. */
struct batch_tx {
	const struct account_seen *a;
	const enum account_status *st;
	size_t		 n;
	long		 status;
	int		 cycle_days;	/* 0: no Cycle-Period */
	long long	 now;
	long long	 claim, renew;	/* the run's claim, renewed to */
	size_t		 closed, updated;	/* out */
};

static enum err
batch_fn(sqlite3 *db, void *arg)
{
	struct batch_tx	*x = arg;
	struct stmts	 c;
	sqlite3_stmt	*s;
	const char	**closed = NULL, *cursor = NULL;
	size_t		 i, panos;
	enum err	 e = ERR_INTERNAL;

	memset(&c, 0, sizeof(c));
	c.db = db;
	x->closed = x->updated = 0;
	/* Still this run's cycle, held for another batch; else ERR_CONFLICT. */
	if ((s = st(&c, A_CLAIM_RENEW)) == NULL)
		goto out;
	sqlite3_bind_int64(s, 1, x->claim);
	sqlite3_bind_int64(s, 2, x->renew);
	if (exec_done(s) == -1)
		goto out;
	if (sqlite3_changes(db) != 1) {
		e = ERR_CONFLICT;
		goto out;
	}
	if ((closed = calloc(x->n + 1, sizeof(*closed))) == NULL)
		goto out;
	for (i = 0; i < x->n; i++) {
		if (x->st[i] == ACCOUNT_CLOSED) {
			closed[x->closed++] = x->a[i].id;
			continue;
		}
		if (x->st[i] == ACCOUNT_UPDATED)
			x->updated++;
		cursor = x->a[i].id;
	}
	if (x->closed > 0 && (e = erase_in_tx(&c, closed, x->closed, x->now,
	    &panos)) != ERR_OK)
		goto out;
	e = ERR_INTERNAL;
	/*
	 * The cursor: the batch's last id not erased.  An erased id is
	 * stored nowhere any more, the cursor included, and the ids after
	 * the cursor are read again from what is stored: those erased are
	 * no longer among them.  All closed: the cursor stays.
	 */
	if ((s = st(&c, A_BATCH_DONE)) == NULL ||
	    db_bind_text(s, 1, cursor) == -1) {
		db_stmt_done(s);
		goto out;
	}
	sqlite3_bind_int64(s, 2, (long long)x->n);
	sqlite3_bind_int64(s, 3, (long long)x->closed);
	sqlite3_bind_int64(s, 4, (long long)x->updated);
	if (x->cycle_days > 0)
		sqlite3_bind_int(s, 5, x->cycle_days);
	sqlite3_bind_int64(s, 6, x->status);
	sqlite3_bind_int64(s, 7, x->now);
	if (exec_done(s) == -1 || sqlite3_changes(db) != 1)
		goto out;
	e = ERR_OK;
out:
	free(closed);
	stmts_end(&c);
	return e;
}

/* A one-statement change of the state row. */
struct state_tx {
	enum astmt	 which;
	long long	 a, b, c;
	int		 changed;	/* out: the row changed */
	int		 may_miss;	/* no change is no error (claims) */
};

static enum err
state_fn(sqlite3 *db, void *arg)
{
	struct state_tx	*x = arg;
	struct stmts	 c;
	sqlite3_stmt	*s;
	enum err	 e = ERR_INTERNAL;

	memset(&c, 0, sizeof(c));
	c.db = db;
	if ((s = st(&c, x->which)) == NULL)
		goto out;
	sqlite3_bind_int64(s, 1, x->a);
	if (x->which == A_ANSWER) {
		sqlite3_bind_int64(s, 2, x->b);
		sqlite3_bind_int64(s, 3, x->c);
	}
	x->changed = 0;
	if (exec_done(s) == 0) {
		x->changed = sqlite3_changes(db) == 1;
		if (x->changed || x->may_miss)
			e = ERR_OK;
	}
out:
	stmts_end(&c);
	return e;
}

static enum err
state_set(struct tenantdb *tdb, enum astmt which, long long a, long long b,
    long long c)
{
	struct state_tx	 x;

	memset(&x, 0, sizeof(x));
	x.which = which;
	x.a = a;
	x.b = b;
	x.c = c;
	return tenantdb_tx(tdb, state_fn, &x);
}

/* A claim: the run's time, and whether it got it (out). */
struct claim_tx {
	long long	 now;
	int		 got;
};

/*
 * Free: never taken or released, expired, further ahead than a run
 * renews it (a clock stepped back), or its holder is no process any
 * more (a run killed: the next one need not wait for the expiry).
 * This process's own claim is held (a run of it is working).
 */
static int
claim_free(long long until, long long pid, long long now)
{
	if (until <= now || until > now + 2 * ACCOUNTS_CLAIM_SECS)
		return 1;
	return pid > 0 && pid != (long long)getpid() && pid <= INT32_MAX &&
	    kill((pid_t)pid, 0) == -1 && errno == ESRCH;
}

static enum err
claim_fn(sqlite3 *db, void *arg)
{
	struct claim_tx	*x = arg;
	struct stmts	 c;
	sqlite3_stmt	*s;
	long long	 until, pid;
	enum err	 e = ERR_INTERNAL;

	memset(&c, 0, sizeof(c));
	c.db = db;
	x->got = 0;
	if ((s = st(&c, A_CLAIM_GET)) == NULL || sqlite3_step(s) != SQLITE_ROW)
		goto out;
	until = sqlite3_column_int64(s, 0);
	pid = sqlite3_column_int64(s, 1);
	sqlite3_reset(s);
	if (!claim_free(until, pid, x->now)) {
		e = ERR_OK;
		goto out;
	}
	if ((s = st(&c, A_CLAIM)) == NULL)
		goto out;
	sqlite3_bind_int64(s, 1, x->now + ACCOUNTS_CLAIM_SECS);
	sqlite3_bind_int64(s, 2, (long long)getpid());
	if (exec_done(s) == -1 || sqlite3_changes(db) != 1)
		goto out;
	x->got = 1;
	e = ERR_OK;
out:
	stmts_end(&c);
	return e;
}

/*
 * Takes the tenant's cycle for a run at now until now +
 * ACCOUNTS_CLAIM_SECS (accounts.h): ERR_OK with *got 1, or 0 when
 * another run holds it; or a storage error.
 */
static enum err
claim_take(struct tenantdb *tdb, long long now, int *got)
{
	struct claim_tx	 x;
	enum err	 e;

	memset(&x, 0, sizeof(x));
	x.now = now;
	e = tenantdb_tx(tdb, claim_fn, &x);
	*got = e == ERR_OK && x.got;
	return e;
}

/* Releases the run's claim (until claim), if it still is the run's. */
static enum err
claim_release(struct tenantdb *tdb, long long claim)
{
	struct state_tx	 x;

	memset(&x, 0, sizeof(x));
	x.which = A_CLAIM_RELEASE;
	x.a = claim;
	x.may_miss = 1;
	return tenantdb_tx(tdb, state_fn, &x);
}

/* The run's clock: now at its start, plus the time it has run. */
static long long
run_now(long long now, long long mono0)
{
	return now + (clock_mono_usec() - mono0) / 1000000;
}

static void
step(const struct accounts_io *io, const char *name)
{
	if (io->step != NULL)
		io->step(name);
}

/*
 * Sends a[0..n) and reads the answer into st: the outcome of this batch
 * (ACC_DONE: taken, st filled), with res->status, *cycle_days (0: no
 * header) and *retry_at (ACC_DEFERRED) set.
 */
static enum accounts_outcome
send_batch(const struct accounts_io *io, const struct account_seen *a,
    size_t n, long long now, enum account_status *st_out,
    struct accounts_result *res, int *cycle_days, long long *retry_at)
{
	struct accounts_reply rep;
	enum accounts_outcome o;
	char		*body;
	long long	 wait;
	enum err	 e;

	*cycle_days = 0;
	*retry_at = 0;
	res->status = 0;
	if ((body = accounts_request_body(a, n)) == NULL)
		return ACC_UNREACHABLE;
	memset(&rep, 0, sizeof(rep));
	rep.retry_after = -1;
	e = io->send(io->arg, body, &rep);
	free(body);
	if (e != ERR_OK) {
		free(rep.body);
		return ACC_UNREACHABLE;
	}
	res->status = rep.status;
	step(io, "report.batch_answered");
	if (rep.status == 429 || rep.status == 503) {
		wait = rep.retry_after >= 0 ? rep.retry_after :
		    ACCOUNTS_RETRY_DEFAULT;
		if (wait > ACCOUNTS_RETRY_MAX)
			wait = ACCOUNTS_RETRY_MAX;
		*retry_at = now + wait;
		o = ACC_DEFERRED;
	} else if (accounts_answer_parse(rep.status, rep.body, rep.len, a, n,
	    st_out) == 0) {
		rep.cycle_period[sizeof(rep.cycle_period) - 1] = '\0';
		if (rep.cycle_period[0] != '\0')
			*cycle_days = accounts_cycle_parse(rep.cycle_period);
		o = ACC_DONE;
	} else
		o = rep.status == 200 ? ACC_BAD_REPLY : ACC_REFUSED;
	free(rep.body);
	return o;
}

enum err
accounts_report(struct tenantdb *tdb, long long now,
    const struct accounts_io *io, struct accounts_result *res)
{
	struct accounts_state s;
	struct account_seen *a = NULL;
	struct batch_tx	 bx;
	enum account_status *sts = NULL;
	enum accounts_outcome o;
	long long	 retry_at, claim = 0, mono0;
	size_t		 n = 0, i, k;
	int		 days, claimed = 0;
	enum err	 e;

	memset(res, 0, sizeof(*res));
	res->outcome = ACC_NOT_DUE;
	if ((e = accounts_state_get(tdb, &s)) != ERR_OK)
		return e;
	res->cycle_days = s.cycle_days;
	if (!accounts_due(&s, now))
		return ERR_OK;
	if (!io->dry_run) {
		/* One run at a time; what it reads, it reads under its claim. */
		mono0 = clock_mono_usec();
		if ((e = claim_take(tdb, now, &claimed)) != ERR_OK)
			return e;
		if (!claimed) {
			res->outcome = ACC_BUSY;
			return ERR_OK;
		}
		claim = now + ACCOUNTS_CLAIM_SECS;
		if ((e = accounts_state_get(tdb, &s)) != ERR_OK)
			goto out;
		res->cycle_days = s.cycle_days;
		if (!accounts_due(&s, now))
			goto out;	/* another run just completed it */
	} else
		mono0 = 0;
	if (s.cycle_started_at == 0)
		s.cursor[0] = '\0';	/* a new cycle starts from the first */
	if ((e = accounts_stored(tdb, s.cursor, SIZE_MAX, &a, &n)) != ERR_OK)
		goto out;
	if (io->dry_run) {
		res->outcome = ACC_DRY_RUN;
		res->would_report = n;
		goto out;
	}
	if (s.cycle_started_at == 0 && (e = state_set(tdb, A_CYCLE_OPEN, now,
	    0, 0)) != ERR_OK)
		goto out;
	if ((sts = calloc(ACCOUNTS_BATCH_MAX, sizeof(*sts))) == NULL) {
		e = ERR_INTERNAL;
		goto out;
	}
	for (i = 0; i < n; i += k) {
		k = n - i < ACCOUNTS_BATCH_MAX ? n - i : ACCOUNTS_BATCH_MAX;
		o = send_batch(io, a + i, k, now, sts, res, &days, &retry_at);
		if (o != ACC_DONE) {
			res->outcome = o;
			res->retry_at = retry_at;
			/* Only what was answered; the cursor stays. */
			e = state_set(tdb, A_ANSWER, res->status, now, retry_at);
			goto out;
		}
		memset(&bx, 0, sizeof(bx));
		bx.a = a + i;
		bx.st = sts;
		bx.n = k;
		bx.status = res->status;
		bx.cycle_days = days;
		bx.now = now;
		bx.claim = claim;
		bx.renew = run_now(now, mono0) + ACCOUNTS_CLAIM_SECS;
		if ((e = tenantdb_tx(tdb, batch_fn, &bx)) != ERR_OK) {
			if (e == ERR_CONFLICT) {
				/* Expired and taken: that run's now. */
				res->outcome = ACC_BUSY;
				claimed = 0;
				e = ERR_OK;
			}
			goto out;
		}
		claim = bx.renew;
		if (days > 0)
			res->cycle_days = days;
		res->batches++;
		res->reported += k;
		res->closed += bx.closed;
		res->updated += bx.updated;
		step(io, "report.batch_done");
	}
	if ((e = state_set(tdb, A_CYCLE_DONE, now, 0, 0)) != ERR_OK)
		goto out;
	res->outcome = ACC_DONE;
	step(io, "report.cycle_done");
out:
	/*
	 * A release that fails leaves the claim to expire: the next run
	 * waits for it, nothing is lost, so it fails nothing here.
	 */
	if (claimed)
		(void)claim_release(tdb, claim);
	free(sts);
	accounts_seen_free(a, n);
	return e;
}

_Static_assert(sizeof(((struct accounts_reply *)0)->cycle_period) ==
    sizeof(((struct jira_reply *)0)->cycle_period), "one Cycle-Period size");

void
accounts_reply_take(struct accounts_reply *rep, struct jira_reply *jr)
{
	rep->status = jr->status;
	rep->body = jr->body;
	rep->len = jr->len;
	rep->retry_after = jr->retry_after;
	memcpy(rep->cycle_period, jr->cycle_period, sizeof(rep->cycle_period));
	jr->body = NULL;
	jira_reply_free(jr);
}
