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
#include "cellar/tpl_import.h"

enum tstmt {
	T_LIST,
	T_SCAN,
	T_GET,
	T_COUNT_SHARED,
	T_COUNT_PERSONAL,
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
	T_SCOPE_OF,
	T_SEARCH_SET,
	T__MAX
};

_Static_assert(T__MAX <= TENANTDB_STMTS, "too many template statements");

/*
 * A template row: its columns; its uses in the 30 days up to today (?9,
 * days since the epoch): per day the larger of renders and posted
 * comments (a render followed by its post is one use), and its posted
 * comments; both read through the usage table's primary key; and its
 * targets joined with ',' (project and group ids hold no commas), in the
 * order of the targets' primary key (template, kind, target): sorted.
 */
#define ROW "SELECT t.id, t.name, t.body, t.scope, t.owner, t.position, " \
	"t.active, t.version, t.created_at, t.updated_at, " \
	"(SELECT COALESCE(SUM(MAX(inserted, posted)), 0) FROM " \
	"template_usage WHERE template_id = t.id AND day > ?9 - 30) AS used, " \
	"(SELECT COALESCE(SUM(posted), 0) FROM template_usage WHERE " \
	"template_id = t.id AND day > ?9 - 30) AS posted, " \
	"(SELECT group_concat(target, ',') FROM template_targets WHERE " \
	"template_id = t.id) AS targets FROM templates t "

/*
 * A template's keys: what orders, pages and judges it (id, name, scope,
 * owner, position, active, 30-day uses, targets), never its body, so
 * that ordering a whole tenant's templates reads and sorts no body.
 */
#define KEYS "SELECT t.id, t.name, t.scope, t.owner, t.position, " \
	"t.active, (SELECT COALESCE(SUM(MAX(inserted, posted)), 0) FROM " \
	"template_usage WHERE template_id = t.id AND day > ?9 - 30) AS used, " \
	"(SELECT group_concat(target, ',') FROM template_targets WHERE " \
	"template_id = t.id) AS targets FROM templates t "

/*
 * The list order and its filters over the keys in v: ?5 active (-1
 * any), ?4 q folded (cellar_fold) or NULL, found in template_search
 * (folded when written), after the cursor ?6..?8 and ?10 (position,
 * -used, name, id) unless ?11 = 0, at most ?12 (-1: all).  Names
 * compare under the CELLAR collation (collate.h) everywhere.
 */
#define LIST_WHERE "WHERE (?5 < 0 OR active = ?5) " \
	"AND (?4 IS NULL OR EXISTS (SELECT 1 FROM template_search s WHERE " \
	"s.template_id = v.id AND instr(s.folded, ?4) > 0)) " \
	"AND (?11 = 0 OR position > ?6 OR (position = ?6 AND " \
	"(-used > ?7 OR (-used = ?7 AND " \
	"(name > ?8 COLLATE CELLAR OR (name = ?8 COLLATE CELLAR AND " \
	"id > ?10)))))) " \
	"ORDER BY position, used DESC, name COLLATE CELLAR, id LIMIT ?12"
#define LIST_TAIL "SELECT * FROM v " LIST_WHERE

static const char *const tsql[T__MAX] = {
	/*
	 * What ?1 (account) may use where ?2 (project or NULL) and ?3
	 * (",group,ids," or NULL) say.  The visible ids come from indexes
	 * (scope and owner, target), not from a scan of every template
	 * with a test per row.
	 */
	[T_LIST] = "WITH vis(id) AS ("
	    "SELECT id FROM templates WHERE scope = 'global' "
	    "UNION ALL SELECT id FROM templates WHERE scope = 'personal' AND "
	    "owner = ?1 "
	    "UNION ALL SELECT template_id FROM template_targets WHERE kind = "
	    "'project' AND target = ?2 "
	    "UNION ALL SELECT template_id FROM template_targets WHERE kind = "
	    "'group' AND ?3 IS NOT NULL AND instr(?3, ',' || target || ',') > 0"
	    "), v AS (" KEYS "WHERE t.id IN vis LIMIT -1), "
	    /* The page's ids by keys alone; only they are read whole. */
	    "page(id) AS (SELECT id FROM v " LIST_WHERE ") "
	    ROW "WHERE t.id IN page "
	    "ORDER BY position, used DESC, name COLLATE CELLAR, t.id",
	/* Every shared template and ?1's personal ones, in list order. */
	[T_SCAN] = "WITH v AS (" KEYS "WHERE t.scope <> 'personal' OR "
	    "t.owner = ?1 LIMIT -1) " LIST_TAIL,
	[T_GET] = ROW "WHERE t.id = ?1",
	[T_COUNT_SHARED] = "SELECT count(*) FROM templates WHERE scope <> "
	    "'personal'",
	[T_COUNT_PERSONAL] = "SELECT count(*) FROM templates WHERE scope = "
	    "'personal' AND owner = ?1",
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
	    "(scope <> 'personal' OR owner = ?2) AND name = ?3 COLLATE CELLAR "
	    "AND (scope <> 'projects' OR EXISTS (SELECT 1 FROM "
	    "template_targets x WHERE x.template_id = t.id AND x.kind = "
	    "'project' AND instr(?4, ',' || x.target || ',') > 0))",
	/* Others' personal templates are no one's business: not counted. */
	[T_COUNT_VISIBLE] = "SELECT count(*) FROM templates WHERE "
	    "scope <> 'personal' OR owner = ?1",
	[T_SCOPE_OF] = "SELECT scope, owner FROM templates WHERE id = ?1",
	/* What search reads, written with the template (0003_search.sql). */
	[T_SEARCH_SET] = "INSERT OR REPLACE INTO template_search (template_id, "
	    "folded) VALUES (?1, cellar_fold(?2) || char(10) || "
	    "cellar_fold(?3))",
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

/* Reads a ROW row into elem, a struct tpl (db_collect's read_row). */
static int
row(sqlite3_stmt *s, void *elem, void *arg)
{
	struct tpl	*t = elem;
	const char	*scope = (const char *)sqlite3_column_text(s, 3);
	const char	*targets = (const char *)sqlite3_column_text(s, 12);

	(void)arg;
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
	t->posted30 = sqlite3_column_int64(s, 11);
	if (targets != NULL && *targets != '\0' &&
	    targets_split(t, targets) == -1)
		return -1;
	return 0;
}

/* Reads a KEYS row like row: no body, version or times. */
static int
key_row(sqlite3_stmt *s, void *elem, void *arg)
{
	struct tpl	*t = elem;
	const char	*scope = (const char *)sqlite3_column_text(s, 2);
	const char	*targets = (const char *)sqlite3_column_text(s, 7);

	(void)arg;
	t->id = sqlite3_column_int64(s, 0);
	if ((t->name = db_col_strdup(s, 1)) == NULL ||
	    (t->owner = db_col_strdup(s, 3)) == NULL || scope == NULL ||
	    tpl_scope_parse(scope, &t->scope) == -1)
		return -1;
	t->position = sqlite3_column_int64(s, 4);
	t->active = sqlite3_column_int(s, 5);
	t->used30 = sqlite3_column_int64(s, 6);
	if (targets != NULL && *targets != '\0' &&
	    targets_split(t, targets) == -1)
		return -1;
	return 0;
}

/* tpl_list_free as db_collect calls it. */
static void
list_free(void *ts, size_t n)
{
	tpl_list_free(ts, n);
}

/* Steps s to the end, collecting rows read with fn (row or key_row). */
static enum err
collect_with(sqlite3_stmt *s, int (*fn)(sqlite3_stmt *, void *, void *),
    struct tpl **out, size_t *n)
{
	void		*v;
	enum err	 e;

	e = db_collect(s, sizeof(**out), fn, NULL, list_free, &v, n);
	*out = v;
	return e;
}

static enum err
collect(sqlite3_stmt *s, struct tpl **out, size_t *n)
{
	return collect_with(s, row, out, n);
}

static void
bind_text(sqlite3_stmt *s, int i, const char *v)
{
	(void)db_bind_text(s, i, v);
}

/* Binds the list's filters, cursor, day and limit. */
static void
list_bind(sqlite3_stmt *s, const char *q, int active,
    const struct tpl_cursor *c, size_t limit, long long today)
{
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
	sqlite3_bind_int64(s, 12, limit == TPL_ALL ? -1 : (long long)limit);
}

enum err
tpl_fill(struct tenantdb *tdb, struct tpl *ts, size_t *n, long long today)
{
	struct tpl	 full;
	size_t		 i, k = 0;
	enum err	 e;

	for (i = 0; i < *n; i++) {
		e = tpl_get(tdb, ts[i].id, today, &full);
		tpl_free(&ts[i]);
		if (e == ERR_NOT_FOUND)		/* deleted since: skipped */
			continue;
		if (e != ERR_OK) {
			while (++i < *n)
				tpl_free(&ts[i]);
			*n = k;
			return e;
		}
		ts[k++] = full;
	}
	*n = k;
	return ERR_OK;
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
		return db_err(tenantdb_sqlite(tdb));
	bind_text(s, 1, v->account);
	bind_text(s, 2, v->project);
	bind_text(s, 3, v->groups);
	list_bind(s, q, active, c, limit, today);
	return collect(s, out, n);
}

enum err
tpl_scan(struct tenantdb *tdb, const char *account, const char *q,
    int active, const struct tpl_cursor *c, size_t limit, long long today,
    struct tpl **out, size_t *n)
{
	sqlite3_stmt	*s;

	*out = NULL;
	*n = 0;
	if ((s = st(tdb, T_SCAN)) == NULL)
		return db_err(tenantdb_sqlite(tdb));
	bind_text(s, 1, account);
	list_bind(s, q, active, c, limit, today);
	return collect_with(s, key_row, out, n);
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
		return db_err(tenantdb_sqlite(tdb));
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

/* count(*) of statement s bound to account (may be NULL); -1 on error. */
static long long
count_of(struct tenantdb *tdb, enum tstmt which, const char *account)
{
	sqlite3_stmt	*s;
	long long	 n = -1;

	if ((s = st(tdb, which)) == NULL)
		return -1;
	if (account != NULL)
		bind_text(s, 1, account);
	if (sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int64(s, 0);
	done(s);
	return n;
}

/*
 * Whether adding shared more shared templates and personal more personal
 * ones of owner keeps within the limits: ERR_OK, ERR_LIMIT_TEMPLATES,
 * ERR_LIMIT_PERSONAL or ERR_INTERNAL.
 */
static enum err
limits_check(struct tenantdb *tdb, const struct tpl_limits *lim,
    const char *owner, long long shared, long long personal)
{
	long long	 have;

	if (shared > 0) {
		if ((have = count_of(tdb, T_COUNT_SHARED, NULL)) < 0)
			return ERR_INTERNAL;
		if (have + shared > lim->shared_max)
			return ERR_LIMIT_TEMPLATES;
	}
	if (personal > 0) {
		if ((have = count_of(tdb, T_COUNT_PERSONAL, owner)) < 0)
			return ERR_INTERNAL;
		if (have + personal > lim->personal_max)
			return ERR_LIMIT_PERSONAL;
	}
	return ERR_OK;
}

/* Writes what search reads of template id (inside the transaction). */
static int
search_store(struct tenantdb *tdb, long long id, const char *name,
    const char *body)
{
	sqlite3_stmt	*s;

	if ((s = st(tdb, T_SEARCH_SET)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	bind_text(s, 2, name);
	bind_text(s, 3, body);
	return exec_done(s);
}

/* Inserts t under name inside the caller's transaction. */
static int
insert_one(struct tenantdb *tdb, struct tpl *t, const char *name,
    long long now)
{
	sqlite3_stmt	*s;

	if ((s = st(tdb, T_INSERT)) == NULL)
		return -1;
	bind_text(s, 1, name);
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
	if (search_store(tdb, t->id, name, t->body) == -1)
		return -1;
	return targets_store(tdb, t);
}

/* A change as db_tx runs it: the handle and the change's arguments. */
struct change {
	struct tenantdb	*tdb;
	struct tpl	*ts;		/* create, update */
	size_t		 n;
	char		**names;	/* import: the names chosen */
	const struct tpl_limits *lim;
	long long	 id;		/* delete, count_use */
	long long	 version;	/* update, delete: version checked */
	long long	 now;		/* seconds; count_use: the day */
	enum tpl_use	 use;
};

/*
 * Creates c->ts; an import (c->names set) first gives each a free name,
 * inside the transaction, so that two imports never pick the same one.
 */
static enum err
create_tx(sqlite3 *db, void *arg)
{
	struct change	 *c = arg;
	struct tpl_import *ti = NULL;
	long long	  shared = 0, personal = 0;
	size_t		  i;
	enum err	  e;

	(void)db;
	for (i = 0; i < c->n; i++) {
		if (c->ts[i].scope == SCOPE_PERSONAL)
			personal++;
		else
			shared++;
	}
	/* One import is one person's: every template is the importer's. */
	if ((e = limits_check(c->tdb, c->lim, c->n > 0 ? c->ts[0].owner :
	    NULL, shared, personal)) != ERR_OK)
		return e;
	if (c->names != NULL && (ti = tpl_import_new()) == NULL)
		return ERR_INTERNAL;
	e = ERR_INTERNAL;
	for (i = 0; i < c->n; i++) {
		if (c->names != NULL) {
			free(c->names[i]);
			if ((c->names[i] = tpl_import_name(ti, c->tdb,
			    &c->ts[i])) == NULL)
				goto out;
		}
		if (insert_one(c->tdb, &c->ts[i], c->names != NULL ?
		    c->names[i] : c->ts[i].name, c->now) == -1)
			goto out;
	}
	e = ERR_OK;
out:
	tpl_import_free(ti);
	return e;
}

static enum err
create_run(struct change *c)
{
	size_t		 i;
	enum err	 e;

	if ((e = tenantdb_tx(c->tdb, create_tx, c)) != ERR_OK)
		for (i = 0; i < c->n; i++)
			c->ts[i].id = 0;
	return e;
}

enum err
tpl_create(struct tenantdb *tdb, struct tpl *t, long long now,
    const struct tpl_limits *lim)
{
	struct change	 c = { tdb, t, 1, NULL, lim, 0, 0, now,
	    TPL_USE_INSERTED };

	return create_run(&c);
}

enum err
tpl_import_all(struct tenantdb *tdb, struct tpl *ts, size_t n,
    long long now, const struct tpl_limits *lim, char **names)
{
	struct change	 c = { tdb, ts, n, names, lim, 0, 0, now,
	    TPL_USE_INSERTED };

	return create_run(&c);
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

/*
 * A change of scope between personal and shared moves the template to
 * the other limit: it must have room there.  The stored owner is the one
 * whose allowance counts (an update never changes the owner).
 */
static enum err
update_limits(struct change *c, const struct tpl *t)
{
	sqlite3_stmt	*s;
	enum tpl_scope	 was = SCOPE_PERSONAL;
	const char	*txt;
	char		*owner = NULL;
	enum err	 e = ERR_OK;
	int		 found = 0;

	if ((s = st(c->tdb, T_SCOPE_OF)) == NULL)
		return ERR_INTERNAL;
	sqlite3_bind_int64(s, 1, t->id);
	if (sqlite3_step(s) == SQLITE_ROW &&
	    (txt = (const char *)sqlite3_column_text(s, 0)) != NULL &&
	    tpl_scope_parse(txt, &was) == 0 &&
	    (txt = (const char *)sqlite3_column_text(s, 1)) != NULL) {
		if ((owner = strdup(txt)) == NULL)
			e = ERR_INTERNAL;
		found = 1;
	}
	done(s);
	if (e != ERR_OK || !found ||
	    (was == SCOPE_PERSONAL) == (t->scope == SCOPE_PERSONAL)) {
		free(owner);
		return e;
	}
	e = limits_check(c->tdb, c->lim, owner,
	    t->scope != SCOPE_PERSONAL, t->scope == SCOPE_PERSONAL);
	free(owner);
	return e;
}

static enum err
update_tx(sqlite3 *db, void *arg)
{
	struct change	*c = arg;
	struct tpl	*t = c->ts;
	sqlite3_stmt	*s;
	enum err	 e;

	if ((e = update_limits(c, t)) != ERR_OK)
		return e;
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
	if (search_store(c->tdb, t->id, t->name, t->body) == -1)
		return ERR_INTERNAL;
	return targets_store(c->tdb, t) == -1 ? ERR_INTERNAL : ERR_OK;
}

enum err
tpl_update(struct tenantdb *tdb, struct tpl *t, long long version,
    long long now, const struct tpl_limits *lim)
{
	struct change	 c = { tdb, t, 1, NULL, lim, 0, version, now,
	    TPL_USE_INSERTED };
	enum err	 e;

	if ((e = tenantdb_tx(tdb, update_tx, &c)) == ERR_OK) {
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
	struct change	 c = { tdb, NULL, 0, NULL, NULL, id, version, 0,
	    TPL_USE_INSERTED };

	return tenantdb_tx(tdb, delete_tx, &c);
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
	struct change	 c = { tdb, NULL, 0, NULL, NULL, id, 0, day, use };

	return tenantdb_tx(tdb, count_use_tx, &c);
}

enum err
tpl_count_visible(struct tenantdb *tdb, const char *account, long long *n)
{
	if ((*n = count_of(tdb, T_COUNT_VISIBLE, account)) < 0)
		return db_err(tenantdb_sqlite(tdb));
	return ERR_OK;
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
