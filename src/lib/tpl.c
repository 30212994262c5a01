/*
 * The templates tables.  Every statement is in the table below, bound,
 * and prepared once per tenant database handle (tenantdb.h).  Every
 * write runs in db_tx: BEGIN IMMEDIATE, retried when busy (db.h).
 */
#include <stdlib.h>
#include <string.h>

#include "cellar/buf.h"
#include "cellar/db.h"
#include "cellar/tenantdb.h"
#include "cellar/tpl.h"

enum tstmt {
	T_LIST,
	T_GET,
	T_ALL,
	T_COUNT,
	T_INSERT,
	T_INSERT_TARGET,
	T_UPDATE,
	T_DELETE_TARGETS,
	T_DELETE,
	T_USE_ROW,
	T_USE_INSERTED,
	T_USE_POSTED,
	T_NAME_TAKEN,
	T_SCOPES,
	T_COUNT_VISIBLE,
	T__MAX
};

_Static_assert(T__MAX <= TENANTDB_STMTS, "too many template statements");

/*
 * A template row: its columns, its use (inserted + posted) in the 30
 * days up to today (?9, days since the epoch), read through the usage
 * table's primary key, and its targets joined with ',' (project and
 * group ids hold no commas), in the order of the targets' primary key
 * (template, kind, target): sorted.
 */
#define ROW "SELECT t.id, t.name, t.body, t.scope, t.owner, t.position, " \
	"t.active, t.version, t.created_at, t.updated_at, " \
	"(SELECT COALESCE(SUM(inserted + posted), 0) FROM template_usage " \
	"WHERE template_id = t.id AND day > ?9 - 30) AS used, " \
	"(SELECT group_concat(target, ',') FROM template_targets WHERE " \
	"template_id = t.id) AS targets FROM templates t "

static const char *const tsql[T__MAX] = {
	/*
	 * ?1 account, ?2 project or NULL, ?3 ",group,ids," or NULL, ?4 q
	 * folded (cellar_fold) or NULL, ?5 active (-1 any), ?6..?8 and ?10
	 * cursor (position, -used, name, id) or ?11 = 0 for none, ?9 today,
	 * ?12 limit.  The visible
	 * ids come from indexes (scope and owner, target), not from a scan
	 * of every template with a test per row.
	 */
	[T_LIST] = "WITH vis(id) AS ("
	    "SELECT id FROM templates WHERE scope = 'global' "
	    "UNION ALL SELECT id FROM templates WHERE scope = 'personal' AND "
	    "owner = ?1 "
	    "UNION ALL SELECT template_id FROM template_targets WHERE kind = "
	    "'project' AND target = ?2 "
	    "UNION ALL SELECT template_id FROM template_targets WHERE kind = "
	    "'group' AND ?3 IS NOT NULL AND instr(?3, ',' || target || ',') > 0"
	    "), v AS (" ROW "WHERE t.id IN vis LIMIT -1) "
	    "SELECT * FROM v WHERE (?5 < 0 OR active = ?5) "
	    "AND (?4 IS NULL OR instr(cellar_fold(name), ?4) > 0 OR "
	    "instr(cellar_fold(body), ?4) > 0) "
	    "AND (?11 = 0 OR position > ?6 OR (position = ?6 AND "
	    "(-used > ?7 OR (-used = ?7 AND "
	    "(name > ?8 COLLATE NOCASE OR (name = ?8 COLLATE NOCASE AND "
	    "id > ?10)))))) "
	    "ORDER BY position, used DESC, name COLLATE NOCASE, id "
	    "LIMIT ?12",
	[T_GET] = ROW "WHERE t.id = ?1",
	[T_ALL] = ROW "WHERE ?1 IS NULL OR t.scope <> 'personal' OR "
	    "t.owner = ?1 ORDER BY t.position, t.name COLLATE NOCASE, t.id",
	[T_COUNT] = "SELECT count(*) FROM templates",
	[T_INSERT] = "INSERT INTO templates (name, body, scope, owner, "
	    "position, active, version, created_at, updated_at) VALUES "
	    "(?1, ?2, ?3, ?4, ?5, ?6, 1, ?7, ?7)",
	[T_INSERT_TARGET] = "INSERT INTO template_targets (template_id, kind, "
	    "target) VALUES (?1, ?2, ?3)",
	[T_UPDATE] = "UPDATE templates SET name = ?2, body = ?3, scope = ?4, "
	    "position = ?5, active = ?6, version = version + 1, updated_at = "
	    "?7 WHERE id = ?1 AND version = ?8",
	[T_DELETE_TARGETS] = "DELETE FROM template_targets WHERE template_id "
	    "= ?1",
	[T_DELETE] = "DELETE FROM templates WHERE id = ?1 AND version = ?2",
	[T_USE_ROW] = "INSERT OR IGNORE INTO template_usage (template_id, "
	    "day) SELECT ?1, ?2 WHERE EXISTS (SELECT 1 FROM templates WHERE "
	    "id = ?1)",
	[T_USE_INSERTED] = "UPDATE template_usage SET inserted = inserted + 1 "
	    "WHERE template_id = ?1 AND day = ?2",
	[T_USE_POSTED] = "UPDATE template_usage SET posted = posted + 1 "
	    "WHERE template_id = ?1 AND day = ?2",
	/* Two probes of the (kind, target) index. */
	[T_SCOPES] = "SELECT EXISTS (SELECT 1 FROM template_targets WHERE "
	    "kind = 'project'), EXISTS (SELECT 1 FROM template_targets WHERE "
	    "kind = 'group')",
	/* ?4: ",project,ids," of a projects template. */
	[T_NAME_TAKEN] = "SELECT 1 FROM templates t WHERE scope = ?1 AND "
	    "(scope <> 'personal' OR owner = ?2) AND name = ?3 COLLATE NOCASE "
	    "AND (scope <> 'projects' OR EXISTS (SELECT 1 FROM "
	    "template_targets x WHERE x.template_id = t.id AND x.kind = "
	    "'project' AND instr(?4, ',' || x.target || ',') > 0))",
	/* Others' personal templates are no one's business: not counted. */
	[T_COUNT_VISIBLE] = "SELECT count(*) FROM templates WHERE "
	    "scope <> 'personal' OR owner = ?1",
};

static const char *const scope_names[SCOPE__MAX] = {
	[SCOPE_PERSONAL] = "personal",
	[SCOPE_PROJECTS] = "projects",
	[SCOPE_GROUPS] = "groups",
	[SCOPE_GLOBAL] = "global",
};

const char *
tpl_scope_name(enum tpl_scope s)
{
	return s < SCOPE__MAX ? scope_names[s] : "personal";
}

int
tpl_scope_parse(const char *s, enum tpl_scope *out)
{
	int	 i;

	for (i = 0; i < SCOPE__MAX; i++)
		if (strcmp(s, scope_names[i]) == 0) {
			*out = (enum tpl_scope)i;
			return 0;
		}
	return -1;
}

/* Statement s of the handle, prepared on first use. */
static sqlite3_stmt *
st(struct tenantdb *tdb, enum tstmt s)
{
	return tenantdb_stmt(tdb, TDB_TPL, (int)s, tsql[s]);
}

static void
done(sqlite3_stmt *s)
{
	db_stmt_done(s);
}

void
tpl_free(struct tpl *t)
{
	size_t	 i;

	if (t == NULL)
		return;
	free(t->name);
	free(t->body);
	free(t->owner);
	for (i = 0; i < t->ntargets; i++)
		free(t->targets[i]);
	free(t->targets);
	memset(t, 0, sizeof(*t));
}

void
tpl_list_free(struct tpl *ts, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		tpl_free(&ts[i]);
	free(ts);
}

/* Splits "a,b,c" into t->targets. */
static int
targets_split(struct tpl *t, const char *list)
{
	const char	*p, *c;
	size_t		 n = 1;

	for (p = list; *p != '\0'; p++)
		n += *p == ',';
	if ((t->targets = calloc(n, sizeof(char *))) == NULL)
		return -1;
	for (p = list; ; p = c + 1) {
		c = strchr(p, ',');
		if ((t->targets[t->ntargets] = strndup(p, c != NULL ?
		    (size_t)(c - p) : strlen(p))) == NULL)
			return -1;
		t->ntargets++;
		if (c == NULL)
			break;
	}
	return 0;
}

/* Reads a ROW row into t. */
static int
row(sqlite3_stmt *s, struct tpl *t)
{
	const char	*scope = (const char *)sqlite3_column_text(s, 3);
	const char	*targets = (const char *)sqlite3_column_text(s, 11);

	memset(t, 0, sizeof(*t));
	t->id = sqlite3_column_int64(s, 0);
	if ((t->name = db_col_strdup(s, 1)) == NULL ||
	    (t->body = db_col_strdup(s, 2)) == NULL ||
	    (t->owner = db_col_strdup(s, 4)) == NULL || scope == NULL ||
	    tpl_scope_parse(scope, &t->scope) == -1)
		return -1;
	t->position = sqlite3_column_int64(s, 5);
	t->active = sqlite3_column_int(s, 6);
	t->version = sqlite3_column_int64(s, 7);
	t->created_at = sqlite3_column_int64(s, 8);
	t->updated_at = sqlite3_column_int64(s, 9);
	t->used30 = sqlite3_column_int64(s, 10);
	if (targets != NULL && *targets != '\0' &&
	    targets_split(t, targets) == -1)
		return -1;
	return 0;
}

/* Steps s to the end, collecting rows. */
static enum err
collect(sqlite3_stmt *s, struct tpl **out, size_t *n)
{
	struct tpl	*ts = NULL, *v;
	size_t		 cnt = 0, cap = 0;
	int		 rc;
	enum err	 e = ERR_INTERNAL;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (cnt == cap) {
			cap = cap != 0 ? cap * 2 : 16;
			if ((v = reallocarray(ts, cap, sizeof(*ts))) == NULL)
				goto out;
			ts = v;
		}
		if (row(s, &ts[cnt]) == -1) {
			tpl_free(&ts[cnt]);
			goto out;
		}
		cnt++;
	}
	if (rc != SQLITE_DONE)
		goto out;
	*out = ts;
	*n = cnt;
	ts = NULL;
	cnt = 0;
	e = ERR_OK;
out:
	done(s);
	tpl_list_free(ts, cnt);
	return e;
}

static void
bind_text(sqlite3_stmt *s, int i, const char *v)
{
	(void)db_bind_text(s, i, v);
}

enum err
tpl_list(struct tenantdb *tdb, const struct tpl_viewer *v, const char *q,
    int active, const struct tpl_cursor *c, size_t limit, long long today,
    struct tpl **out, size_t *n)
{
	sqlite3_stmt	*s;

	*out = NULL;
	*n = 0;
	if ((s = st(tdb, T_LIST)) == NULL)
		return ERR_INTERNAL;
	bind_text(s, 1, v->account);
	bind_text(s, 2, v->project);
	bind_text(s, 3, v->groups);
	bind_text(s, 4, q);
	sqlite3_bind_int(s, 5, active);
	sqlite3_bind_int(s, 11, c->set);
	if (c->set) {
		sqlite3_bind_int64(s, 6, c->position);
		sqlite3_bind_int64(s, 7, -c->used30);
		bind_text(s, 8, c->name);
		sqlite3_bind_int64(s, 10, c->id);
	}
	sqlite3_bind_int64(s, 9, today);
	sqlite3_bind_int64(s, 12, (long long)limit);
	return collect(s, out, n);
}

enum err
tpl_get(struct tenantdb *tdb, long long id, long long today, struct tpl *t)
{
	struct tpl	*ts;
	size_t		 n;
	sqlite3_stmt	*s;
	enum err	 e;

	memset(t, 0, sizeof(*t));
	if ((s = st(tdb, T_GET)) == NULL)
		return ERR_INTERNAL;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 9, today);
	if ((e = collect(s, &ts, &n)) != ERR_OK)
		return e;
	if (n == 0) {
		free(ts);
		return ERR_NOT_FOUND;
	}
	*t = ts[0];
	free(ts);
	return ERR_OK;
}

enum err
tpl_all(struct tenantdb *tdb, const char *personal_owner, long long today,
    struct tpl **out, size_t *n)
{
	sqlite3_stmt	*s;

	if ((s = st(tdb, T_ALL)) == NULL)
		return ERR_INTERNAL;
	bind_text(s, 1, personal_owner);
	sqlite3_bind_int64(s, 9, today);
	return collect(s, out, n);
}

int
tpl_name_taken(struct tenantdb *tdb, const struct tpl *t, const char *name)
{
	struct buf	 b = BUF_INIT(0);
	sqlite3_stmt	*s;
	char		*list = NULL;
	size_t		 i;
	int		 taken;

	if (t->scope == SCOPE_PROJECTS) {
		buf_add(&b, ",", 1);
		for (i = 0; i < t->ntargets; i++)
			buf_addf(&b, "%s,", t->targets[i]);
		if ((list = buf_finish(&b, NULL)) == NULL)
			return 1;
	}
	if ((s = st(tdb, T_NAME_TAKEN)) == NULL) {
		free(list);
		return 1;
	}
	bind_text(s, 1, tpl_scope_name(t->scope));
	bind_text(s, 2, t->owner);
	bind_text(s, 3, name);
	bind_text(s, 4, list);
	taken = sqlite3_step(s) == SQLITE_ROW;
	done(s);
	free(list);
	return taken;
}

static int
exec_done(sqlite3_stmt *s)
{
	int	 rc = sqlite3_step(s);

	done(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int
targets_store(struct tenantdb *tdb, const struct tpl *t)
{
	sqlite3_stmt	*s;
	size_t		 i;

	if ((s = st(tdb, T_DELETE_TARGETS)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, t->id);
	if (exec_done(s) == -1)
		return -1;
	for (i = 0; i < t->ntargets; i++) {
		if ((s = st(tdb, T_INSERT_TARGET)) == NULL)
			return -1;
		sqlite3_bind_int64(s, 1, t->id);
		bind_text(s, 2, t->scope == SCOPE_PROJECTS ? "project" :
		    "group");
		bind_text(s, 3, t->targets[i]);
		if (exec_done(s) == -1)
			return -1;
	}
	return 0;
}

static long long
count_all(struct tenantdb *tdb)
{
	sqlite3_stmt	*s;
	long long	 n = -1;

	if ((s = st(tdb, T_COUNT)) == NULL)
		return -1;
	if (sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int64(s, 0);
	done(s);
	return n;
}

/* Inserts t inside the caller's transaction. */
static int
insert_one(struct tenantdb *tdb, struct tpl *t, long long now)
{
	sqlite3_stmt	*s;

	if ((s = st(tdb, T_INSERT)) == NULL)
		return -1;
	bind_text(s, 1, t->name);
	bind_text(s, 2, t->body);
	bind_text(s, 3, tpl_scope_name(t->scope));
	bind_text(s, 4, t->owner);
	sqlite3_bind_int64(s, 5, t->position);
	sqlite3_bind_int(s, 6, t->active);
	sqlite3_bind_int64(s, 7, now);
	if (exec_done(s) == -1)
		return -1;
	t->id = sqlite3_last_insert_rowid(tenantdb_sqlite(tdb));
	t->version = 1;
	t->created_at = t->updated_at = now;
	return targets_store(tdb, t);
}

/* A change as db_tx runs it: the handle and the change's arguments. */
struct change {
	struct tenantdb	*tdb;
	struct tpl	*ts;		/* create, update */
	size_t		 n;
	long long	 id;		/* delete, count_use */
	long long	 version;	/* update, delete: version checked */
	long long	 now;		/* seconds; count_use: the day */
	enum tpl_use	 use;
};

static enum err
create_tx(sqlite3 *db, void *arg)
{
	struct change	*c = arg;
	long long	 have;
	size_t		 i;

	(void)db;
	if ((have = count_all(c->tdb)) < 0)
		return ERR_INTERNAL;
	if ((unsigned long long)have + c->n > TPL_MAX_PER_TENANT)
		return ERR_LIMIT_TEMPLATES;
	for (i = 0; i < c->n; i++)
		if (insert_one(c->tdb, &c->ts[i], c->now) == -1)
			return ERR_INTERNAL;
	return ERR_OK;
}

enum err
tpl_create_all(struct tenantdb *tdb, struct tpl *ts, size_t n, long long now)
{
	struct change	 c = { tdb, ts, n, 0, 0, now, TPL_USE_INSERTED };
	size_t		 i;
	enum err	 e;

	if ((e = db_tx(tenantdb_sqlite(tdb), create_tx, &c)) != ERR_OK)
		for (i = 0; i < n; i++)
			ts[i].id = 0;
	return e;
}

enum err
tpl_create(struct tenantdb *tdb, struct tpl *t, long long now)
{
	return tpl_create_all(tdb, t, 1, now);
}

/*
 * Why a change guarded by id and version touched no row: the template is
 * gone (ERR_NOT_FOUND), or another version is there now (ERR_CONFLICT).
 */
static enum err
gone_or_changed(struct tenantdb *tdb, long long id)
{
	struct tpl	 cur;
	enum err	 e;

	e = tpl_get(tdb, id, 0, &cur) == ERR_OK ? ERR_CONFLICT : ERR_NOT_FOUND;
	tpl_free(&cur);
	return e;
}

static enum err
update_tx(sqlite3 *db, void *arg)
{
	struct change	*c = arg;
	struct tpl	*t = c->ts;
	sqlite3_stmt	*s;

	if ((s = st(c->tdb, T_UPDATE)) == NULL)
		return ERR_INTERNAL;
	sqlite3_bind_int64(s, 1, t->id);
	bind_text(s, 2, t->name);
	bind_text(s, 3, t->body);
	bind_text(s, 4, tpl_scope_name(t->scope));
	sqlite3_bind_int64(s, 5, t->position);
	sqlite3_bind_int(s, 6, t->active);
	sqlite3_bind_int64(s, 7, c->now);
	sqlite3_bind_int64(s, 8, c->version);
	if (exec_done(s) == -1)
		return ERR_INTERNAL;
	if (sqlite3_changes(db) != 1)
		return gone_or_changed(c->tdb, t->id);
	return targets_store(c->tdb, t) == -1 ? ERR_INTERNAL : ERR_OK;
}

enum err
tpl_update(struct tenantdb *tdb, struct tpl *t, long long version,
    long long now)
{
	struct change	 c = { tdb, t, 1, 0, version, now, TPL_USE_INSERTED };
	enum err	 e;

	if ((e = db_tx(tenantdb_sqlite(tdb), update_tx, &c)) == ERR_OK) {
		t->version = version + 1;
		t->updated_at = now;
	}
	return e;
}

static enum err
delete_tx(sqlite3 *db, void *arg)
{
	struct change	*c = arg;
	sqlite3_stmt	*s;

	if ((s = st(c->tdb, T_DELETE)) == NULL)
		return ERR_INTERNAL;
	sqlite3_bind_int64(s, 1, c->id);
	sqlite3_bind_int64(s, 2, c->version);
	if (exec_done(s) == -1)
		return ERR_INTERNAL;
	if (sqlite3_changes(db) != 1)
		return gone_or_changed(c->tdb, c->id);
	return ERR_OK;
}

enum err
tpl_delete(struct tenantdb *tdb, long long id, long long version)
{
	struct change	 c = { tdb, NULL, 0, id, version, 0, TPL_USE_INSERTED };

	return db_tx(tenantdb_sqlite(tdb), delete_tx, &c);
}

static enum err
count_use_tx(sqlite3 *db, void *arg)
{
	struct change	*c = arg;
	sqlite3_stmt	*s;

	if ((s = st(c->tdb, T_USE_ROW)) == NULL)
		return ERR_INTERNAL;
	sqlite3_bind_int64(s, 1, c->id);
	sqlite3_bind_int64(s, 2, c->now);
	if (exec_done(s) == -1)
		return ERR_INTERNAL;
	if ((s = st(c->tdb, c->use == TPL_USE_POSTED ? T_USE_POSTED :
	    T_USE_INSERTED)) == NULL)
		return ERR_INTERNAL;
	sqlite3_bind_int64(s, 1, c->id);
	sqlite3_bind_int64(s, 2, c->now);
	if (exec_done(s) == -1)
		return ERR_INTERNAL;
	return sqlite3_changes(db) == 1 ? ERR_OK : ERR_NOT_FOUND;
}

enum err
tpl_count_use(struct tenantdb *tdb, long long id, long long day,
    enum tpl_use use)
{
	struct change	 c = { tdb, NULL, 0, id, 0, day, use };

	return db_tx(tenantdb_sqlite(tdb), count_use_tx, &c);
}

enum err
tpl_count_visible(struct tenantdb *tdb, const char *account, long long *n)
{
	sqlite3_stmt	*s;
	enum err	 e = ERR_INTERNAL;

	if ((s = st(tdb, T_COUNT_VISIBLE)) == NULL)
		return ERR_INTERNAL;
	bind_text(s, 1, account);
	if (sqlite3_step(s) == SQLITE_ROW) {
		*n = sqlite3_column_int64(s, 0);
		e = ERR_OK;
	}
	done(s);
	return e;
}

void
tpl_scopes(struct tenantdb *tdb, int *projects, int *groups)
{
	sqlite3_stmt	*s;

	*projects = *groups = 1;
	if ((s = st(tdb, T_SCOPES)) == NULL)
		return;
	if (sqlite3_step(s) == SQLITE_ROW) {
		*projects = sqlite3_column_int(s, 0) != 0;
		*groups = sqlite3_column_int(s, 1) != 0;
	}
	done(s);
}
