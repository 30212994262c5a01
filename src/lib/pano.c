/*
 * The panoramas tables (sql/tenant/0004_panoramas.sql).  Every statement
 * is in the table below, bound, and prepared once per tenant database
 * handle (tenantdb.h).  Every write runs in tenantdb_tx: BEGIN IMMEDIATE,
 * retried whole when busy (db.h), so each transaction function starts
 * from scratch and changes only the database and its own output.
 *
 * The tree is kept as parent pointers and positions among siblings, and
 * changed in place with a few indexed statements per action: a batch
 * costs its actions times the depth of the tree (a move walks up from
 * its new parent to refuse a cycle), never the size of the tree, except
 * where it removes a subtree or has to renumber one parent's children
 * (a gap between two siblings used up).  Nothing recurses in C: walks
 * are loops and the pre-order is built with an explicit stack.
 *
 * Undo: each batch writes the state before it of every node it changes
 * (present 0 for nodes it creates), and of the parents whose children
 * it changes (unchanged, so that a later batch under the same parent
 * blocks the undo: positions stay unique); the top level of panorama P
 * is written as node -P.  The first state written for a node in a batch
 * is kept (INSERT OR IGNORE): always the one before the batch, since a
 * node is written before it is changed.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cellar/clock.h"
#include "cellar/collate.h"
#include "cellar/db.h"
#include "cellar/json.h"
#include "cellar/log.h"
#include "cellar/pano.h"
#include "cellar/tenantdb.h"

/*
 * Gap between siblings when placed at an end or renumbered: 2^32, so
 * that about 32 places can be made in one gap before its parent's
 * children are renumbered (with 1,024 it was 10, and a batch that
 * inserts many nodes into one place of a level 10,000 wide spent
 * seconds renumbering it).  30,000 siblings stay far below POS_FAR.
 */
#define POS_STEP	(1LL << 32)
/* Positions past this (either sign) are renumbered before use. */
#define POS_FAR		(LLONG_MAX / 4)
/* Ids listed in one history action; "count" holds the true number. */
#define WHAT_IDS	20
/*
 * Actions listed in one batch's history; "more" counts the rest.  With
 * WHAT_IDS, a history row lists at most 1,000 ids (about 12 KiB), and
 * PANO_HISTORY_KEEP of them stay bounded.
 */
#define WHAT_ACTS	50

enum pstmt {
	P_PANO_INSERT,
	P_PANO_GET,
	P_PANO_COUNT,
	P_PANO_UPDATE,
	P_PANO_DELETE,
	P_LIST,
	P_LIST_ISSUE,
	P_TREE,
	P_NODE,
	P_NEXT,
	P_CHILDREN,
	P_PLACE,
	P_NODE_INSERT,
	P_NODE_DELETE,
	P_SUBTREE,
	P_UNDO_RECORD,
	P_UNDO_FIND,
	P_UNDO_BLOCKED,
	P_UNDO_ROWS,
	P_UNDONE,
	P_HIST_INSERT,
	P_HIST_WHAT,
	P_HIST_TRIM,
	P_HIST_LIST,
	P_UNDO_SUM,
	P_ISSUE_NODES,
	P_ISSUE_IDS,
	P_ACCESS_GET,
	P_ACCESS_CLEAR,
	P_ACCESS_INSERT,
	P_CHECK_INDEX,
	P__MAX
};

_Static_assert(P__MAX <= TENANTDB_STMTS, "too many panorama statements");

#define PANO_COLS "SELECT p.id, p.name, p.description, p.owner, p.version, " \
	"p.nodes, p.created_at, p.updated_at FROM panoramas p "

/*
 * What viewer ?1 (account), ?2 (",group,ids," or NULL) and ?3 (admin:
 * non-zero) may view.  Group ids hold no commas (the worker checks).
 */
#define VISIBLE "(?3 <> 0 OR p.owner = ?1 OR EXISTS (SELECT 1 FROM " \
	"pano_access a WHERE a.panorama_id = p.id AND (a.grantee = " \
	"'everyone' OR (a.grantee = 'account' AND a.target = ?1) OR " \
	"(a.grantee = 'group' AND ?2 IS NOT NULL AND instr(?2, ',' || " \
	"a.target || ',') > 0)))) "

static const char *const psql[P__MAX] = {
	[P_PANO_INSERT] = "INSERT INTO panoramas (name, description, owner, "
	    "version, nodes, created_at, updated_at) VALUES (?1, ?2, ?3, 1, "
	    "0, ?4, ?4)",
	[P_PANO_GET] = PANO_COLS "WHERE p.id = ?1",
	[P_PANO_COUNT] = "SELECT count(*) FROM panoramas",
	/*
	 * Every change of a panorama's row: name, description and node
	 * count when not NULL, version + ?5, only at version ?7 unless NULL.
	 */
	[P_PANO_UPDATE] = "UPDATE panoramas SET name = coalesce(?2, name), "
	    "description = coalesce(?3, description), nodes = coalesce(?4, "
	    "nodes), version = version + ?5, updated_at = ?6 WHERE id = ?1 "
	    "AND (?7 IS NULL OR version = ?7)",
	[P_PANO_DELETE] = "DELETE FROM panoramas WHERE id = ?1 AND "
	    "version = ?2",
	/*
	 * ?4: the folded query or NULL; after (?5 name, ?6 id) unless ?6 is
	 * 0; at most ?7.  At most per_tenant_max rows to sort: no index
	 * orders by a collation (collate.h).
	 */
	[P_LIST] = PANO_COLS "WHERE " VISIBLE "AND (?4 IS NULL OR "
	    "instr(cellar_fold(p.name), ?4) > 0) AND (?6 = 0 OR p.name > ?5 "
	    "COLLATE CELLAR OR (p.name = ?5 COLLATE CELLAR AND p.id > ?6)) "
	    "ORDER BY p.name COLLATE CELLAR, p.id LIMIT ?7",
	/* The ids through the reverse index first, then the rights. */
	[P_LIST_ISSUE] = PANO_COLS "WHERE p.id IN (SELECT panorama_id FROM "
	    "pano_nodes WHERE issue_id = ?4) AND " VISIBLE
	    "ORDER BY p.name COLLATE CELLAR, p.id LIMIT ?7",
	/*
	 * One statement, so one read transaction: the version and the rows
	 * of that version, in order from the tree index alone (it covers
	 * them).
	 */
	[P_TREE] = "SELECT p.version, n.id, n.parent_id, n.pos, n.kind, "
	    "n.issue_id, n.title FROM panoramas p LEFT JOIN pano_nodes n ON "
	    "n.panorama_id = p.id WHERE p.id = ?1 ORDER BY n.parent_id, n.pos",
	/* The columns in pano_undo's order. */
	[P_NODE] = "SELECT parent_id, pos, kind, issue_id, title, creator, "
	    "created_at FROM pano_nodes WHERE id = ?1 AND panorama_id = ?2",
	/* The first two children of ?2 past position ?3. */
	[P_NEXT] = "SELECT id, pos FROM pano_nodes WHERE panorama_id = ?1 AND "
	    "parent_id = ?2 AND pos > ?3 ORDER BY pos LIMIT 2",
	[P_CHILDREN] = "SELECT id FROM pano_nodes WHERE panorama_id = ?1 AND "
	    "parent_id = ?2 ORDER BY pos",
	[P_PLACE] = "UPDATE pano_nodes SET parent_id = coalesce(?2, "
	    "parent_id), pos = coalesce(?3, pos), title = coalesce(?4, title) "
	    "WHERE id = ?1",
	/*
	 * ?1 NULL: a new id; else a node an undo puts back.  Not INSERT OR
	 * REPLACE: about four times slower here (undo updates a node that
	 * is there: only its parent, position and title ever change).
	 */
	[P_NODE_INSERT] = "INSERT INTO pano_nodes (id, "
	    "panorama_id, parent_id, pos, kind, issue_id, title, creator, "
	    "created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	[P_NODE_DELETE] = "DELETE FROM pano_nodes WHERE id = ?1 AND "
	    "panorama_id = ?2",
	/*
	 * UNION, not UNION ALL: ends even on a damaged (cyclic) tree.  CROSS
	 * JOIN keeps sub the outer loop: the tree index finds each row's
	 * children (SQLite 3.15 otherwise scans the table once per row).
	 */
	[P_SUBTREE] = "WITH RECURSIVE sub(id, issue) AS (SELECT id, issue_id "
	    "FROM pano_nodes WHERE id = ?1 AND panorama_id = ?2 UNION SELECT "
	    "n.id, n.issue_id FROM sub CROSS JOIN pano_nodes n WHERE "
	    "n.panorama_id = ?2 AND n.parent_id = sub.id) SELECT id, issue "
	    "FROM sub",
	/*
	 * VALUES, not INSERT ... SELECT from pano_nodes: the latter costs
	 * about six times as much here (35 against 5 microseconds).
	 */
	[P_UNDO_RECORD] = "INSERT OR IGNORE INTO pano_undo (batch_id, node_id, "
	    "present, parent_id, pos, kind, issue_id, title, creator, "
	    "created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
	[P_UNDO_FIND] = "SELECT id, undo_rows FROM pano_history WHERE "
	    "panorama_id = ?1 AND actor = ?2 AND kind = 'batch' AND undone = 0 "
	    "ORDER BY id DESC LIMIT 1",
	/*
	 * A later batch that wrote one of batch ?1's nodes.  A batch undone
	 * since and the undos are left out: an undo puts back exactly what
	 * its batch wrote (it is refused when anything later wrote one of
	 * those nodes), so the two together changed nothing.
	 */
	[P_UNDO_BLOCKED] = "SELECT 1 FROM pano_undo u JOIN pano_undo l ON "
	    "l.node_id = u.node_id AND l.batch_id > u.batch_id JOIN "
	    "pano_history h ON h.id = l.batch_id WHERE u.batch_id = ?1 AND "
	    "h.kind <> 'undo' AND h.undone = 0 LIMIT 1",
	[P_UNDO_ROWS] = "SELECT node_id, present, parent_id, pos, kind, "
	    "issue_id, title, creator, created_at FROM pano_undo WHERE "
	    "batch_id = ?1 ORDER BY node_id",
	[P_UNDONE] = "UPDATE pano_history SET undone = 1 WHERE id = ?1",
	[P_HIST_INSERT] = "INSERT INTO pano_history (panorama_id, version, "
	    "actor, at, kind, undo_of, what) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
	    "'')",
	[P_HIST_WHAT] = "UPDATE pano_history SET what = ?2, undo_rows = ?3 "
	    "WHERE id = ?1",
	/* Batches holding undo rows, newest first: PANO_UNDO_KEEP's sum. */
	[P_UNDO_SUM] = "SELECT id, undo_rows FROM pano_history WHERE "
	    "panorama_id = ?1 AND undo_rows > 0 ORDER BY id DESC",
	/* All but the newest ?2 (their undo rows go with them). */
	[P_HIST_TRIM] = "DELETE FROM pano_history WHERE panorama_id = ?1 AND "
	    "id <= (SELECT id FROM pano_history WHERE panorama_id = ?1 ORDER "
	    "BY id DESC LIMIT 1 OFFSET ?2)",
	[P_HIST_LIST] = "SELECT id, version, actor, at, kind, undo_of, undone, "
	    "what FROM pano_history WHERE panorama_id = ?1 AND (?2 <= 0 OR "
	    "id < ?2) ORDER BY id DESC LIMIT ?3",
	[P_ISSUE_NODES] = "SELECT id, panorama_id FROM pano_nodes WHERE "
	    "issue_id = ?1 ORDER BY panorama_id, id",
	[P_ISSUE_IDS] = "SELECT DISTINCT issue_id FROM pano_nodes WHERE "
	    "issue_id IS NOT NULL ORDER BY issue_id",
	[P_ACCESS_GET] = "SELECT a.grantee, a.target, a.level FROM panoramas "
	    "p LEFT JOIN pano_access a ON a.panorama_id = p.id WHERE p.id = ?1 "
	    "ORDER BY CASE a.grantee WHEN 'account' THEN 0 WHEN 'group' THEN 1 "
	    "ELSE 2 END, a.target",
	[P_ACCESS_CLEAR] = "DELETE FROM pano_access WHERE panorama_id = ?1",
	[P_ACCESS_INSERT] = "INSERT INTO pano_access (panorama_id, grantee, "
	    "target, level) VALUES (?1, ?2, ?3, ?4)",
	/*
	 * The issue nodes of ?1 read through the reverse index and through
	 * the table: the same count and sums when the index agrees.
	 */
	[P_CHECK_INDEX] = "SELECT count(*), coalesce(sum(id), 0), "
	    "coalesce(sum(issue_id % 1000000007), 0) FROM pano_nodes INDEXED "
	    "BY pano_nodes_issue WHERE issue_id IS NOT NULL AND panorama_id = "
	    "?1 UNION ALL SELECT count(*), coalesce(sum(id), 0), "
	    "coalesce(sum(issue_id % 1000000007), 0) FROM pano_nodes NOT "
	    "INDEXED WHERE kind = 'issue' AND panorama_id = ?1",
};

static const char *const kind_names[PANO_KIND__MAX] = {
	[PANO_ISSUE] = "issue",
	[PANO_FOLDER] = "folder",
};

static const char *const grantee_names[PANO_GRANT__MAX] = {
	[PANO_GRANT_ACCOUNT] = "account",
	[PANO_GRANT_GROUP] = "group",
	[PANO_GRANT_EVERYONE] = "everyone",
};

static const char *const level_names[PANO_LEVEL__MAX] = {
	[PANO_LEVEL_NONE] = "none",
	[PANO_LEVEL_VIEW] = "view",
	[PANO_LEVEL_EDIT] = "edit",
};

static const char *const fault_codes[PANO_FAULT__MAX] = {
	[PANO_FAULT_NONE] = "none",
	[PANO_FAULT_NODE] = "node_unknown",
	[PANO_FAULT_PARENT] = "parent_unknown",
	[PANO_FAULT_AFTER] = "after_unknown",
	[PANO_FAULT_CYCLE] = "cycle",
	[PANO_FAULT_NOT_FOLDER] = "not_folder",
};

const char *
pano_fault_code(enum pano_fault f)
{
	return f < PANO_FAULT__MAX ? fault_codes[f] : "none";
}

const char *
pano_kind_name(enum pano_kind k)
{
	return k < PANO_KIND__MAX ? kind_names[k] : "issue";
}

const char *
pano_grantee_name(enum pano_grantee g)
{
	return g < PANO_GRANT__MAX ? grantee_names[g] : "account";
}

int
pano_grantee_parse(const char *s, enum pano_grantee *out)
{
	int	 i;

	for (i = 0; i < PANO_GRANT__MAX; i++)
		if (strcmp(s, grantee_names[i]) == 0) {
			*out = (enum pano_grantee)i;
			return 0;
		}
	return -1;
}

const char *
pano_level_name(enum pano_level l)
{
	return l < PANO_LEVEL__MAX ? level_names[l] : "none";
}

/* Only the levels an entry may hold: view and edit. */
int
pano_level_parse(const char *s, enum pano_level *out)
{
	if (strcmp(s, "view") == 0)
		*out = PANO_LEVEL_VIEW;
	else if (strcmp(s, "edit") == 0)
		*out = PANO_LEVEL_EDIT;
	else
		return -1;
	return 0;
}

static int
kind_parse(const char *s, enum pano_kind *out)
{
	if (s != NULL && strcmp(s, "issue") == 0)
		*out = PANO_ISSUE;
	else if (s != NULL && strcmp(s, "folder") == 0)
		*out = PANO_FOLDER;
	else
		return -1;
	return 0;
}

/* Statement s of the handle, prepared on first use. */
static sqlite3_stmt *
st(struct tenantdb *tdb, enum pstmt s)
{
	return tenantdb_stmt(tdb, TDB_PANO, (int)s, psql[s]);
}

static void
done(sqlite3_stmt *s)
{
	db_stmt_done(s);
}

static void
bind_text(sqlite3_stmt *s, int i, const char *v)
{
	(void)db_bind_text(s, i, v);
}

/* Steps a statement that returns no rows and gives it back; 0 or -1. */
static int
exec_done(sqlite3_stmt *s)
{
	int	 rc = sqlite3_step(s);

	done(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* Column i as a malloc'd string, or NULL (*bad set on no memory). */
static char *
col_opt(sqlite3_stmt *s, int i, int *bad)
{
	char	*v;

	if (sqlite3_column_type(s, i) == SQLITE_NULL)
		return NULL;
	if ((v = db_col_strdup(s, i)) == NULL)
		*bad = 1;
	return v;
}

/* A growable array of ids. */
struct ids {
	long long	*v;
	size_t		 n, cap;
};

static int
ids_add(struct ids *a, long long id)
{
	long long	*v;
	size_t		 cap;

	if (a->n == a->cap) {
		cap = a->cap != 0 ? a->cap * 2 : 16;
		if ((v = reallocarray(a->v, cap, sizeof(*v))) == NULL)
			return -1;
		a->v = v;
		a->cap = cap;
	}
	a->v[a->n++] = id;
	return 0;
}

static void
ids_free(struct ids *a)
{
	free(a->v);
	memset(a, 0, sizeof(*a));
}

/*
 * A set of node ids with a small state each (an open-addressing hash
 * table): the walks that check a restored tree.  Ids are never 0.
 */
struct idset {
	long long	*keys;
	unsigned char	*vals;
	size_t		 cap, n;
};

static size_t
idset_hash(long long k, size_t cap)
{
	unsigned long long	 x;

	x = (unsigned long long)k * 0x9e3779b97f4a7c15ULL;
	return (size_t)(x >> 20) & (cap - 1);
}

static unsigned char
idset_get(const struct idset *s, long long k)
{
	size_t	 i;

	if (s->cap == 0)
		return 0;
	for (i = idset_hash(k, s->cap); s->keys[i] != 0;
	    i = (i + 1) & (s->cap - 1))
		if (s->keys[i] == k)
			return s->vals[i];
	return 0;
}

static int
idset_put(struct idset *s, long long k, unsigned char v)
{
	struct idset	 g;
	size_t		 i;

	if (2 * (s->n + 1) > s->cap) {
		g.cap = s->cap != 0 ? s->cap * 2 : 64;
		g.n = 0;
		g.keys = calloc(g.cap, sizeof(*g.keys));
		g.vals = calloc(g.cap, sizeof(*g.vals));
		if (g.keys == NULL || g.vals == NULL) {
			free(g.keys);
			free(g.vals);
			return -1;
		}
		for (i = 0; i < s->cap; i++)
			if (s->keys[i] != 0)
				(void)idset_put(&g, s->keys[i], s->vals[i]);
		free(s->keys);
		free(s->vals);
		*s = g;
	}
	for (i = idset_hash(k, s->cap); s->keys[i] != 0 && s->keys[i] != k;
	    i = (i + 1) & (s->cap - 1))
		;
	if (s->keys[i] == 0)
		s->n++;
	s->keys[i] = k;
	s->vals[i] = v;
	return 0;
}

static void
idset_free(struct idset *s)
{
	free(s->keys);
	free(s->vals);
	memset(s, 0, sizeof(*s));
}

void
pano_free(struct pano *p)
{
	if (p == NULL)
		return;
	free(p->name);
	free(p->description);
	free(p->owner);
	memset(p, 0, sizeof(*p));
}

void
pano_list_free(struct pano *ps, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		pano_free(&ps[i]);
	free(ps);
}

void
pano_rows_free(struct pano_row *rows, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		free(rows[i].title);
	free(rows);
}

void
pano_access_free(struct pano_access *a, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		free(a[i].target);
	free(a);
}

void
pano_history_free(struct pano_batch *b, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		free(b[i].actor);
		free(b[i].kind);
		free(b[i].what);
	}
	free(b);
}

void
pano_result_free(struct pano_result *r)
{
	if (r == NULL)
		return;
	free(r->added);
	r->added = NULL;
	r->nadded = 0;
}

/* Reads a PANO_COLS row into elem, a struct pano (db_collect's read_row). */
static int
pano_read(sqlite3_stmt *s, void *elem, void *arg)
{
	struct pano	*p = elem;

	(void)arg;
	p->id = sqlite3_column_int64(s, 0);
	if ((p->name = db_col_strdup(s, 1)) == NULL ||
	    (p->description = db_col_strdup(s, 2)) == NULL ||
	    (p->owner = db_col_strdup(s, 3)) == NULL)
		return -1;
	p->version = sqlite3_column_int64(s, 4);
	p->nodes = sqlite3_column_int64(s, 5);
	p->created_at = sqlite3_column_int64(s, 6);
	p->updated_at = sqlite3_column_int64(s, 7);
	return 0;
}

/* pano_list_free as db_collect calls it. */
static void
list_free(void *ps, size_t n)
{
	pano_list_free(ps, n);
}

/* Steps s to the end, collecting its panoramas. */
static enum err
collect(sqlite3_stmt *s, struct pano **out, size_t *n)
{
	void		*v;
	enum err	 e;

	e = db_collect(s, sizeof(**out), pano_read, NULL, list_free, &v, n);
	*out = v;
	return e;
}

enum err
pano_count(struct tenantdb *tdb, long long *n)
{
	sqlite3_stmt	*s;
	int		 rc;

	*n = 0;
	if ((s = st(tdb, P_PANO_COUNT)) == NULL)
		return ERR_INTERNAL;
	if ((rc = sqlite3_step(s)) == SQLITE_ROW)
		*n = sqlite3_column_int64(s, 0);
	done(s);
	return rc == SQLITE_ROW ? ERR_OK : db_err(tenantdb_sqlite(tdb));
}

enum err
pano_get(struct tenantdb *tdb, long long id, struct pano *p)
{
	struct pano	*ps;
	size_t		 n;
	sqlite3_stmt	*s;
	enum err	 e;

	memset(p, 0, sizeof(*p));
	if ((s = st(tdb, P_PANO_GET)) == NULL)
		return db_err(tenantdb_sqlite(tdb));
	sqlite3_bind_int64(s, 1, id);
	if ((e = collect(s, &ps, &n)) != ERR_OK)
		return e;
	if (n == 0) {
		free(ps);
		return ERR_NOT_FOUND;
	}
	*p = ps[0];
	free(ps);
	return ERR_OK;
}

/*
 * Panorama id's version and node count (inside a transaction): ERR_OK,
 * ERR_NOT_FOUND or ERR_INTERNAL.
 */
static enum err
pano_state(struct tenantdb *tdb, long long id, long long *version,
    long long *nodes)
{
	sqlite3_stmt	*s;
	int		 rc;

	if ((s = st(tdb, P_PANO_GET)) == NULL)
		return ERR_INTERNAL;
	sqlite3_bind_int64(s, 1, id);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		*version = sqlite3_column_int64(s, 4);
		*nodes = sqlite3_column_int64(s, 5);
	}
	done(s);
	if (rc == SQLITE_ROW)
		return ERR_OK;
	return rc == SQLITE_DONE ? ERR_NOT_FOUND : ERR_INTERNAL;
}

/*
 * The one update of a panorama's row (P_PANO_UPDATE): name, description
 * (NULL: kept), nodes (< 0: kept), version + bump, updated_at now, only
 * at version check (< 0: any).  1 if the row changed, 0 if not, -1.
 */
static int
pano_set(struct tenantdb *tdb, long long id, const char *name,
    const char *desc, long long nodes, int bump, long long now,
    long long check)
{
	sqlite3_stmt	*s;

	if ((s = st(tdb, P_PANO_UPDATE)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	bind_text(s, 2, name);
	bind_text(s, 3, desc);
	if (nodes >= 0)
		sqlite3_bind_int64(s, 4, nodes);
	sqlite3_bind_int(s, 5, bump);
	sqlite3_bind_int64(s, 6, now);
	if (check >= 0)
		sqlite3_bind_int64(s, 7, check);
	if (exec_done(s) == -1)
		return -1;
	return sqlite3_changes(tenantdb_sqlite(tdb)) == 1;
}

static long long
nodes_max(const struct pano_limits *lim)
{
	long long	 m = lim != NULL ? lim->nodes_max : PANO_NODES_DEFAULT;

	return m > PANO_NODES_HARD ? PANO_NODES_HARD : m;
}

/*
 * Inserts panorama p (inside the caller's transaction) within the
 * tenant's limit: p's id, version, count and times set.
 */
static enum err
pano_insert(struct tenantdb *tdb, struct pano *p, long long now,
    const struct pano_limits *lim)
{
	sqlite3_stmt	*s;
	long long	 have = -1;

	if ((s = st(tdb, P_PANO_COUNT)) == NULL)
		return ERR_INTERNAL;
	if (sqlite3_step(s) == SQLITE_ROW)
		have = sqlite3_column_int64(s, 0);
	done(s);
	if (have < 0)
		return ERR_INTERNAL;
	if (have >= (lim != NULL ? lim->per_tenant_max :
	    PANO_PER_TENANT_DEFAULT))
		return ERR_LIMIT_PANORAMAS;
	if ((s = st(tdb, P_PANO_INSERT)) == NULL)
		return ERR_INTERNAL;
	bind_text(s, 1, p->name);
	bind_text(s, 2, p->description != NULL ? p->description : "");
	bind_text(s, 3, p->owner);
	sqlite3_bind_int64(s, 4, now);
	if (exec_done(s) == -1)
		return ERR_INTERNAL;
	p->id = sqlite3_last_insert_rowid(tenantdb_sqlite(tdb));
	p->version = 1;
	p->nodes = 0;
	p->created_at = p->updated_at = now;
	return ERR_OK;
}

struct create {
	struct tenantdb	*tdb;
	struct pano	*p;
	long long	 now;
	const struct pano_limits *lim;
};

static enum err
create_tx(sqlite3 *db, void *arg)
{
	struct create	*c = arg;

	(void)db;
	return pano_insert(c->tdb, c->p, c->now, c->lim);
}

enum err
pano_create(struct tenantdb *tdb, struct pano *p, long long now,
    const struct pano_limits *lim)
{
	struct create	 c = { tdb, p, now, lim };
	enum err	 e;

	if (p->name == NULL || p->owner == NULL)
		return ERR_UNPROCESSABLE;
	if ((e = tenantdb_tx(tdb, create_tx, &c)) != ERR_OK)
		p->id = 0;
	return e;
}

/* Why a change guarded by id and version touched no row. */
static enum err
gone_or_changed(struct tenantdb *tdb, long long id, long long *version)
{
	long long	 nodes;
	enum err	 e;

	if ((e = pano_state(tdb, id, version, &nodes)) == ERR_OK)
		return ERR_CONFLICT;
	return e;
}

struct update {
	struct tenantdb	*tdb;
	struct pano	*p;
	struct pano	 now_row;	/* the row after the change */
	long long	 version;
	long long	 current;	/* ERR_CONFLICT: the current version */
	long long	 now;
};

static enum err
update_tx(sqlite3 *db, void *arg)
{
	struct update	*u = arg;
	int		 r;

	(void)db;
	pano_free(&u->now_row);
	if ((r = pano_set(u->tdb, u->p->id, u->p->name, u->p->description,
	    -1, 1, u->now, u->version)) == -1)
		return ERR_INTERNAL;
	if (r == 0)
		return gone_or_changed(u->tdb, u->p->id, &u->current);
	/* The whole row as committed, read in the same transaction. */
	return pano_get(u->tdb, u->p->id, &u->now_row) == ERR_OK ? ERR_OK :
	    ERR_INTERNAL;
}

enum err
pano_update(struct tenantdb *tdb, struct pano *p, long long version,
    long long now)
{
	struct update	 u;
	enum err	 e;

	memset(&u, 0, sizeof(u));
	u.tdb = tdb;
	u.p = p;
	u.version = version;
	u.now = now;
	if ((e = tenantdb_tx(tdb, update_tx, &u)) == ERR_OK) {
		pano_free(p);
		*p = u.now_row;
		return ERR_OK;
	}
	pano_free(&u.now_row);
	if (e == ERR_CONFLICT)
		p->version = u.current;
	return e;
}

struct delete {
	struct tenantdb	*tdb;
	long long	 id;
	long long	 version;
};

static enum err
delete_tx(sqlite3 *db, void *arg)
{
	struct delete	*d = arg;
	sqlite3_stmt	*s;
	long long	 cur;

	if ((s = st(d->tdb, P_PANO_DELETE)) == NULL)
		return ERR_INTERNAL;
	sqlite3_bind_int64(s, 1, d->id);
	sqlite3_bind_int64(s, 2, d->version);
	if (exec_done(s) == -1)
		return ERR_INTERNAL;
	if (sqlite3_changes(db) != 1)
		return gone_or_changed(d->tdb, d->id, &cur);
	return ERR_OK;
}

enum err
pano_delete(struct tenantdb *tdb, long long id, long long version)
{
	struct delete	 d = { tdb, id, version };

	return tenantdb_tx(tdb, delete_tx, &d);
}

static void
viewer_bind(sqlite3_stmt *s, const struct pano_viewer *v)
{
	bind_text(s, 1, v->account);
	bind_text(s, 2, v->groups);
	sqlite3_bind_int(s, 3, v->admin != 0);
}

enum err
pano_list(struct tenantdb *tdb, const struct pano_viewer *v, const char *q,
    const char *after_name, long long after_id, size_t limit,
    struct pano **out, size_t *n)
{
	sqlite3_stmt	*s;
	char		*folded = NULL;
	enum err	 e;

	*out = NULL;
	*n = 0;
	if (limit == 0)
		return ERR_OK;
	if (limit > PANO_PAGE_MAX)
		limit = PANO_PAGE_MAX;
	if (q != NULL && (folded = collate_fold(q)) == NULL)
		return ERR_INTERNAL;
	if ((s = st(tdb, P_LIST)) == NULL) {
		free(folded);
		return db_err(tenantdb_sqlite(tdb));
	}
	viewer_bind(s, v);
	bind_text(s, 4, folded);
	if (after_id > 0) {
		bind_text(s, 5, after_name != NULL ? after_name : "");
		sqlite3_bind_int64(s, 6, after_id);
	} else
		sqlite3_bind_int64(s, 6, 0);
	sqlite3_bind_int64(s, 7, (long long)limit);
	e = collect(s, out, n);
	free(folded);
	return e;
}

enum err
pano_list_with_issue(struct tenantdb *tdb, const struct pano_viewer *v,
    long long issue, struct pano **out, size_t *n)
{
	sqlite3_stmt	*s;

	*out = NULL;
	*n = 0;
	if ((s = st(tdb, P_LIST_ISSUE)) == NULL)
		return db_err(tenantdb_sqlite(tdb));
	viewer_bind(s, v);
	sqlite3_bind_int64(s, 4, issue);
	sqlite3_bind_int64(s, 7, PANO_PAGE_MAX);
	return collect(s, out, n);
}

/* A node as P_TREE reads it. */
struct tnode {
	long long	 id;
	long long	 parent;
	long long	 pos;
	long long	 issue;
	char		*title;
	int		 kind;		/* enum pano_kind, -1: neither */
	int		 has_issue;
	int		 has_title;
};

static void
tnodes_free(void *v, size_t n)
{
	struct tnode	*a = v;
	size_t		 i;

	for (i = 0; i < n; i++)
		free(a[i].title);
	free(a);
}

/* What a tree's rows tell besides its nodes. */
struct thead {
	long long	 version;	/* the panorama's, from the first row */
	int		 found;		/* a row came: the panorama is there */
};

/*
 * Reads a P_TREE row into elem, a struct tnode (db_collect's read_row),
 * and arg, a struct thead; skips the one row of an empty tree.
 */
static int
tnode_read(sqlite3_stmt *s, void *elem, void *arg)
{
	struct tnode	*t = elem;
	struct thead	*h = arg;
	enum pano_kind	 k;
	int		 bad = 0;

	if (!h->found) {
		h->version = sqlite3_column_int64(s, 0);
		h->found = 1;
	}
	if (sqlite3_column_type(s, 1) == SQLITE_NULL)
		return 1;
	t->id = sqlite3_column_int64(s, 1);
	t->parent = sqlite3_column_int64(s, 2);
	t->pos = sqlite3_column_int64(s, 3);
	t->kind = kind_parse((const char *)sqlite3_column_text(s, 4),
	    &k) == 0 ? (int)k : -1;
	if ((t->has_issue = sqlite3_column_type(s, 5) != SQLITE_NULL))
		t->issue = sqlite3_column_int64(s, 5);
	t->title = col_opt(s, 6, &bad);
	t->has_title = t->title != NULL;
	return bad ? -1 : 0;
}

/*
 * Panorama id's version and nodes, ordered by parent then position, from
 * one statement (one read transaction).  ERR_NOT_FOUND.
 */
static enum err
tree_load(struct tenantdb *tdb, long long id, long long *version,
    struct tnode **out, size_t *n)
{
	struct thead	 h = { 0, 0 };
	sqlite3_stmt	*s;
	void		*v;
	enum err	 e;

	*out = NULL;
	*n = 0;
	if ((s = st(tdb, P_TREE)) == NULL)
		return db_err(tenantdb_sqlite(tdb));
	sqlite3_bind_int64(s, 1, id);
	if ((e = db_collect(s, sizeof(**out), tnode_read, &h, tnodes_free,
	    &v, n)) != ERR_OK)
		return e;
	if (!h.found)
		return ERR_NOT_FOUND;
	*version = h.version;
	*out = v;
	return ERR_OK;
}

/* The first index of a[0..n) (sorted by parent) whose parent >= parent. */
static size_t
first_child(const struct tnode *a, size_t n, long long parent)
{
	size_t	 lo = 0, hi = n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (a[mid].parent < parent)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* A run of siblings in the sorted array: [cur, end). */
struct frame {
	size_t	 cur;
	size_t	 end;
};

/* The siblings under parent: a frame, empty when it has no children. */
static struct frame
children_of(const struct tnode *a, size_t n, long long parent)
{
	struct frame	 f;

	f.cur = f.end = first_child(a, n, parent);
	while (f.end < n && a[f.end].parent == parent)
		f.end++;
	return f;
}

/*
 * The nodes of a[0..n) (sorted by parent, then position) reachable from
 * the top level, in pre-order: their indexes into order[] and depths into
 * depth[] (both of n entries), how many into *cnt.  An explicit stack of
 * sibling runs, one per level: no recursion, whatever the depth.  Each
 * node is in one run only (it has one parent), so this ends on any
 * input; nodes on a cycle or under a missing parent are not reached.
 * 0, or -1 on no memory.
 */
static int
preorder(const struct tnode *a, size_t n, size_t *order, long long *depth,
    size_t *cnt)
{
	struct frame	*stk = NULL, *v, f;
	size_t		 sp = 0, cap = 0, k = 0, i;
	int		 rc = -1;

	f = children_of(a, n, 0);
	for (;;) {
		if (f.cur < f.end) {
			if (sp == cap) {
				cap = cap != 0 ? cap * 2 : 64;
				if ((v = reallocarray(stk, cap,
				    sizeof(*stk))) == NULL)
					goto out;
				stk = v;
			}
			stk[sp++] = f;
		}
		if (sp == 0)
			break;
		if (stk[sp - 1].cur == stk[sp - 1].end) {
			sp--;
			f.cur = f.end = 0;
			continue;
		}
		i = stk[sp - 1].cur++;
		if (k == n)
			break;
		order[k] = i;
		depth[k] = (long long)sp - 1;
		k++;
		f = children_of(a, n, a[i].id);
	}
	rc = 0;
out:
	free(stk);
	*cnt = k;
	return rc;
}

enum err
pano_tree(struct tenantdb *tdb, long long id, long long *version,
    struct pano_row **rows, size_t *n)
{
	struct tnode	*a = NULL;
	struct pano_row	*r = NULL;
	size_t		*order = NULL, na = 0, cnt = 0, i;
	long long	*depth = NULL;
	enum err	 e;

	*rows = NULL;
	*n = 0;
	if ((e = tree_load(tdb, id, version, &a, &na)) != ERR_OK)
		return e;
	e = ERR_INTERNAL;
	if (na > 0 && ((order = calloc(na, sizeof(*order))) == NULL ||
	    (depth = calloc(na, sizeof(*depth))) == NULL ||
	    (r = calloc(na, sizeof(*r))) == NULL))
		goto out;
	if (preorder(a, na, order, depth, &cnt) == -1)
		goto out;
	for (i = 0; i < cnt; i++) {
		struct tnode	*t = &a[order[i]];

		r[i].node = t->id;
		r[i].parent = t->parent;
		r[i].depth = depth[i];
		r[i].kind = t->kind == PANO_FOLDER ? PANO_FOLDER : PANO_ISSUE;
		r[i].issue = t->issue;
		r[i].title = t->title;
		t->title = NULL;
	}
	if (cnt != na)
		log_msg(LOGL_WARN, NULL, "reason=pano_tree_unreachable "
		    "panorama=%lld nodes=%zu", id, na - cnt);
	*rows = r;
	*n = cnt;
	r = NULL;
	e = ERR_OK;
out:
	free(r);
	free(order);
	free(depth);
	tnodes_free(a, na);
	return e;
}

/* A node as an action sees it. */
struct nrow {
	long long	 parent;
	long long	 pos;
	int		 folder;
};

/*
 * One batch being written (inside a transaction): the panorama, the
 * history row, the node count as it goes, and what the history will say.
 */
struct batch {
	struct tenantdb	*tdb;
	long long	 pano;
	long long	 hist;		/* this batch's history row */
	long long	 version;	/* the panorama's before the batch */
	long long	 nodes;		/* its node count as the batch goes */
	long long	 max;		/* nodes_max */
	long long	 now;
	const char	*actor;		/* NULL: the system */
	cJSON		*what;		/* {"actions": [...]} */
	cJSON		*acts;
	cJSON		*spare;		/* an action past WHAT_ACTS, not kept */
	long long	 more;		/* actions past WHAT_ACTS */
	long long	 deadline;	/* clock_mono_usec; 0: none */
	struct ids	 added;
	struct idset	 touched;	/* nodes with undo rows in the batch */
	int		 oom;		/* building what failed */
};

static void
batch_reset(struct batch *b)
{
	cJSON_Delete(b->what);
	cJSON_Delete(b->spare);
	b->what = b->acts = b->spare = NULL;
	b->more = 0;
	b->added.n = 0;
	b->oom = 0;
	b->hist = 0;
	idset_free(&b->touched);
}

static void
batch_free(struct batch *b)
{
	batch_reset(b);
	ids_free(&b->added);
}

/* node of this panorama into *r: 1, 0 if it is not one, -1. */
static int
node_get(struct batch *b, long long node, struct nrow *r)
{
	sqlite3_stmt	*s;
	const char	*k;
	int		 rc;

	if (node <= 0)
		return 0;
	if ((s = st(b->tdb, P_NODE)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, node);
	sqlite3_bind_int64(s, 2, b->pano);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		r->parent = sqlite3_column_int64(s, 0);
		r->pos = sqlite3_column_int64(s, 1);
		k = (const char *)sqlite3_column_text(s, 2);
		r->folder = k != NULL && strcmp(k, "folder") == 0;
	}
	done(s);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : -1;
}

/*
 * Up to two children of parent with a position past after, in order,
 * into id[] and pos[]: how many, or -1.
 */
static int
next_children(struct batch *b, long long parent, long long after,
    long long id[2], long long pos[2])
{
	sqlite3_stmt	*s;
	int		 rc, k = 0;

	if ((s = st(b->tdb, P_NEXT)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, b->pano);
	sqlite3_bind_int64(s, 2, parent);
	sqlite3_bind_int64(s, 3, after);
	while (k < 2 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		id[k] = sqlite3_column_int64(s, 0);
		pos[k] = sqlite3_column_int64(s, 1);
		k++;
	}
	if (k < 2 && rc != SQLITE_DONE)
		k = -1;
	done(s);
	return k;
}

/* The children of parent in order into *out; 0 or -1. */
static int
children(struct batch *b, long long parent, struct ids *out)
{
	sqlite3_stmt	*s;
	int		 rc;

	out->n = 0;
	if ((s = st(b->tdb, P_CHILDREN)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, b->pano);
	sqlite3_bind_int64(s, 2, parent);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		if (ids_add(out, sqlite3_column_int64(s, 0)) == -1)
			break;
	done(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

/*
 * Writes node's state before this batch into its undo rows, once per
 * batch (the first state is the one before it): its row, or present 0
 * when it is not there; node 0 (the top level) as -panorama.  Called
 * before node, or the children of node, change.  0 or -1.
 */
static int
touch(struct batch *b, long long node)
{
	sqlite3_stmt	*s, *w;
	long long	 key = node != 0 ? node : -b->pano;
	int		 rc = SQLITE_DONE, i;

	if (idset_get(&b->touched, key) != 0)
		return 0;
	if (idset_put(&b->touched, key, 1) == -1 ||
	    (w = st(b->tdb, P_UNDO_RECORD)) == NULL)
		return -1;
	sqlite3_bind_int64(w, 1, b->hist);
	sqlite3_bind_int64(w, 2, key);
	if (node != 0) {
		if ((s = st(b->tdb, P_NODE)) == NULL) {
			done(w);
			return -1;
		}
		sqlite3_bind_int64(s, 1, node);
		sqlite3_bind_int64(s, 2, b->pano);
		if ((rc = sqlite3_step(s)) == SQLITE_ROW)
			for (i = 0; i < 7; i++)
				(void)sqlite3_bind_value(w, 4 + i,
				    sqlite3_column_value(s, i));
		done(s);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
			done(w);
			return -1;
		}
	}
	sqlite3_bind_int(w, 3, node == 0 || rc == SQLITE_ROW);
	return exec_done(w);
}

/* Writes the undo row of node, just created by this batch: present 0. */
static int
touch_new(struct batch *b, long long node)
{
	sqlite3_stmt	*w;

	if (idset_put(&b->touched, node, 1) == -1 ||
	    (w = st(b->tdb, P_UNDO_RECORD)) == NULL)
		return -1;
	sqlite3_bind_int64(w, 1, b->hist);
	sqlite3_bind_int64(w, 2, node);
	sqlite3_bind_int(w, 3, 0);
	return exec_done(w);
}

/* Sets node's parent and position, or its title (others NULL/kept). */
static int
place(struct batch *b, long long node, long long parent, long long pos)
{
	sqlite3_stmt	*s;

	if ((s = st(b->tdb, P_PLACE)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, node);
	sqlite3_bind_int64(s, 2, parent);
	sqlite3_bind_int64(s, 3, pos);
	return exec_done(s);
}

/* Renumbers parent's children step apart, in their order; 0 or -1. */
static int
renumber(struct batch *b, long long parent, long long step)
{
	struct ids	 c;
	size_t		 i;
	int		 rc = -1;

	memset(&c, 0, sizeof(c));
	if (children(b, parent, &c) == -1)
		goto out;
	for (i = 0; i < c.n; i++)
		if (touch(b, c.v[i]) == -1 ||
		    place(b, c.v[i], parent, (long long)(i + 1) * step) == -1)
			goto out;
	rc = 0;
out:
	ids_free(&c);
	return rc;
}

/*
 * k positions strictly between lo and hi (has: which bounds there are)
 * into pos[], spread out; 0 if the gap is too narrow (or too near the
 * ends of the range), 1 if done.
 */
static int
room(int haslo, long long lo, int hashi, long long hi, size_t k,
    long long *pos)
{
	long long	 base, step;
	size_t		 i;

	if (!haslo && !hashi) {
		base = 0;
		step = POS_STEP;
	} else if (!hashi) {
		if (lo > POS_FAR)
			return 0;
		base = lo;
		step = POS_STEP;
	} else if (!haslo) {
		if (hi < -POS_FAR)
			return 0;
		base = hi - (long long)(k + 1) * POS_STEP;
		step = POS_STEP;
	} else {
		if (lo < -POS_FAR || hi > POS_FAR ||
		    hi - lo - 1 < (long long)k)
			return 0;
		base = lo;
		step = (hi - lo) / (long long)(k + 1);
	}
	for (i = 0; i < k; i++)
		pos[i] = base + step * (long long)(i + 1);
	return 1;
}

enum slot_result {
	SLOT_OK = 0,
	SLOT_STAY,		/* self already sits there */
	SLOT_AFTER,		/* after is not a child of parent */
	SLOT_ERROR
};

/*
 * k free positions (k <= PANO_NODES_HARD) among parent's children right
 * after its child after (0: before the first child) into pos[], the
 * children renumbered first when the gap there is too narrow.  self (0:
 * none) is a node to be moved there: SLOT_STAY when it is already the
 * next child, i.e. in that place.
 */
static enum slot_result
slots(struct batch *b, long long parent, long long after, long long self,
    size_t k, long long *pos)
{
	struct nrow	 x;
	long long	 nid[2], npos[2], lo = 0;
	int		 pass, r, haslo;

	for (pass = 0; pass < 2; pass++) {
		haslo = 0;
		if (after != 0) {
			if ((r = node_get(b, after, &x)) == -1)
				return SLOT_ERROR;
			if (r == 0 || x.parent != parent)
				return SLOT_AFTER;
			lo = x.pos;
			haslo = 1;
		}
		if ((r = next_children(b, parent, haslo ? lo : LLONG_MIN, nid,
		    npos)) == -1)
			return SLOT_ERROR;
		if (self != 0 && r > 0 && nid[0] == self)
			return SLOT_STAY;
		if (room(haslo, lo, r > 0, npos[0], k, pos))
			return SLOT_OK;
		/* Gaps of step - 1 >= k after every child and at both ends. */
		if (pass == 0 && renumber(b, parent, (long long)k + 1 >
		    POS_STEP ? (long long)k + 1 : POS_STEP) == -1)
			return SLOT_ERROR;
	}
	return SLOT_ERROR;
}

/* Inserts a new node: its id into *id (and the undo rows); 0 or -1. */
static int
node_new(struct batch *b, long long parent, long long pos,
    enum pano_kind kind, long long issue, const char *title, long long *id)
{
	sqlite3_stmt	*s;

	if ((s = st(b->tdb, P_NODE_INSERT)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 2, b->pano);
	sqlite3_bind_int64(s, 3, parent);
	sqlite3_bind_int64(s, 4, pos);
	bind_text(s, 5, pano_kind_name(kind));
	if (kind == PANO_ISSUE)
		sqlite3_bind_int64(s, 6, issue);
	else
		bind_text(s, 7, title);
	bind_text(s, 8, b->actor != NULL ? b->actor : "");
	sqlite3_bind_int64(s, 9, b->now);
	if (exec_done(s) == -1)
		return -1;
	*id = sqlite3_last_insert_rowid(tenantdb_sqlite(b->tdb));
	return touch_new(b, *id);
}

static int
node_delete(struct batch *b, long long node)
{
	sqlite3_stmt	*s;

	if ((s = st(b->tdb, P_NODE_DELETE)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, node);
	sqlite3_bind_int64(s, 2, b->pano);
	if (exec_done(s) == -1)
		return -1;
	return sqlite3_changes(tenantdb_sqlite(b->tdb));
}

/* The history's JSON: ids as strings, lists of at most WHAT_IDS. */
static cJSON *
json_id(long long v)
{
	char	 buf[24];

	(void)snprintf(buf, sizeof(buf), "%lld", v);
	return cJSON_CreateString(buf);
}

static void
what_id(struct batch *b, cJSON *o, const char *key, long long v)
{
	cJSON	*s = json_id(v);

	if (s == NULL || o == NULL || !cJSON_AddItemToObject(o, key, s)) {
		cJSON_Delete(s);
		b->oom = 1;
	}
}

/* Appends v to list if it holds fewer than WHAT_IDS (i: its size). */
static void
what_list(struct batch *b, cJSON *list, size_t i, long long v)
{
	cJSON	*s;

	if (i >= WHAT_IDS)
		return;
	if ((s = json_id(v)) == NULL || list == NULL ||
	    !cJSON_AddItemToArray(list, s)) {
		cJSON_Delete(s);
		b->oom = 1;
	}
}

static cJSON *
what_array(struct batch *b, cJSON *o, const char *key)
{
	cJSON	*a;

	if (o == NULL || (a = cJSON_AddArrayToObject(o, key)) == NULL) {
		b->oom = 1;
		return NULL;
	}
	return a;
}

static void
what_count(struct batch *b, cJSON *o, long long n)
{
	if (o == NULL || json_add_int(o, "count", n) == NULL)
		b->oom = 1;
}

/* A new action in the history: {"op": op}. */
static cJSON *
what_action(struct batch *b, const char *op)
{
	cJSON	*o;

	/*
	 * Past WHAT_ACTS actions, an action is written into a spare
	 * object that is dropped: a batch of 1,000 actions would make a
	 * history row of megabytes.
	 */
	if (b->acts != NULL && cJSON_GetArraySize(b->acts) >= WHAT_ACTS) {
		b->more++;
		cJSON_Delete(b->spare);
		if ((b->spare = cJSON_CreateObject()) == NULL)
			b->oom = 1;
		return b->spare;
	}
	if ((o = cJSON_CreateObject()) == NULL || b->acts == NULL ||
	    !cJSON_AddItemToArray(b->acts, o)) {
		cJSON_Delete(o);
		b->oom = 1;
		return NULL;
	}
	if (cJSON_AddStringToObject(o, "op", op) == NULL)
		b->oom = 1;
	return o;
}

/* Runs sql (not cached: rare) with ?1 pano and ?2 v; 0 or -1. */
static int
exec_once(struct batch *b, const char *sql, long long v)
{
	sqlite3_stmt	*s = NULL;
	int		 rc;

	if (sqlite3_prepare_v2(tenantdb_sqlite(b->tdb), sql, -1, &s, NULL) !=
	    SQLITE_OK) {
		sqlite3_finalize(s);
		return -1;
	}
	sqlite3_bind_int64(s, 1, b->pano);
	sqlite3_bind_int64(s, 2, v);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

/*
 * Keeps the panorama's undo rows within PANO_UNDO_KEEP: the oldest
 * batches past it lose theirs (whole batches; their history stays,
 * undo_rows 0, so that undo refuses them).  0 or -1.
 */
static int
undo_trim(struct batch *b)
{
	sqlite3_stmt	*s;
	long long	 sum = 0, cut = 0;
	int		 rc;

	if ((s = st(b->tdb, P_UNDO_SUM)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, b->pano);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		sum += sqlite3_column_int64(s, 1);
		if (sum > PANO_UNDO_KEEP) {
			cut = sqlite3_column_int64(s, 0);
			break;
		}
	}
	done(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return -1;
	if (cut == 0)
		return 0;
	if (exec_once(b, "DELETE FROM pano_undo WHERE batch_id IN (SELECT id "
	    "FROM pano_history WHERE panorama_id = ?1 AND id <= ?2 AND "
	    "undo_rows > 0)", cut) == -1 ||
	    exec_once(b, "UPDATE pano_history SET undo_rows = 0 WHERE "
	    "panorama_id = ?1 AND id <= ?2 AND undo_rows > 0", cut) == -1)
		return -1;
	return 0;
}

/*
 * Starts a batch of kind (undo_of: the batch an undo reverts) as the
 * panorama's version b->version + bump: its history row.  0 or -1.
 */
static int
batch_begin(struct batch *b, const char *kind, long long undo_of, int bump)
{
	sqlite3_stmt	*s;

	if ((b->what = cJSON_CreateObject()) == NULL ||
	    (b->acts = cJSON_AddArrayToObject(b->what, "actions")) == NULL)
		return -1;
	if ((s = st(b->tdb, P_HIST_INSERT)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, b->pano);
	sqlite3_bind_int64(s, 2, b->version + bump);
	bind_text(s, 3, b->actor);
	sqlite3_bind_int64(s, 4, b->now);
	bind_text(s, 5, kind);
	if (undo_of > 0)
		sqlite3_bind_int64(s, 6, undo_of);
	if (exec_done(s) == -1)
		return -1;
	b->hist = sqlite3_last_insert_rowid(tenantdb_sqlite(b->tdb));
	return 0;
}

/*
 * Ends a batch: the panorama's node count, version + bump and time, the
 * history's what, and the oldest batches past PANO_HISTORY_KEEP gone.
 */
static enum err
batch_end(struct batch *b, int bump)
{
	sqlite3_stmt	*s;
	char		*what;
	int		 rc;

	if (b->more > 0 && json_add_int(b->what, "more", b->more) == NULL)
		b->oom = 1;
	if (b->oom)
		return ERR_INTERNAL;
	if (pano_set(b->tdb, b->pano, NULL, NULL, b->nodes, bump, b->now,
	    -1) != 1)
		return ERR_INTERNAL;
	if ((what = cJSON_PrintUnformatted(b->what)) == NULL)
		return ERR_INTERNAL;
	if ((s = st(b->tdb, P_HIST_WHAT)) == NULL) {
		free(what);
		return ERR_INTERNAL;
	}
	sqlite3_bind_int64(s, 1, b->hist);
	bind_text(s, 2, what);
	sqlite3_bind_int64(s, 3, (long long)b->touched.n);
	rc = exec_done(s);
	free(what);
	if (rc == -1 || (s = st(b->tdb, P_HIST_TRIM)) == NULL)
		return ERR_INTERNAL;
	sqlite3_bind_int64(s, 1, b->pano);
	sqlite3_bind_int64(s, 2, PANO_HISTORY_KEEP);
	if (exec_done(s) != 0)
		return ERR_INTERNAL;
	return undo_trim(b) == 0 ? ERR_OK : ERR_INTERNAL;
}

/* add and addFolder. */
static enum err
act_add(struct batch *b, const struct pano_action *a, enum pano_fault *f)
{
	struct nrow	 par;
	cJSON		*o, *nl = NULL, *il = NULL;
	long long	*pos = NULL, id;
	size_t		 k, i;
	int		 r;
	enum err	 e = ERR_INTERNAL;

	k = a->op == PANO_OP_ADD ? a->nissues : 1;
	/* What the worker checks first: not a fault of the tree. */
	if (a->op == PANO_OP_ADD ? k > PANO_ADD_MAX ||
	    (k > 0 && a->issues == NULL) : a->title == NULL)
		return ERR_UNPROCESSABLE;
	if (a->parent != 0) {
		if ((r = node_get(b, a->parent, &par)) == -1)
			return ERR_INTERNAL;
		if (r == 0) {
			*f = PANO_FAULT_PARENT;
			return ERR_UNPROCESSABLE;
		}
	}
	if ((pos = calloc(k + 1, sizeof(*pos))) == NULL)
		return ERR_INTERNAL;
	switch (slots(b, a->parent, a->after, 0, k, pos)) {
	case SLOT_OK:
		break;
	case SLOT_AFTER:
		*f = PANO_FAULT_AFTER;
		e = ERR_UNPROCESSABLE;
		goto out;
	default:
		goto out;
	}
	if ((long long)k > b->max - b->nodes) {
		e = ERR_LIMIT_NODES;
		goto out;
	}
	if (touch(b, a->parent) == -1)
		goto out;
	o = what_action(b, a->op == PANO_OP_ADD ? "add" : "addFolder");
	if (a->op == PANO_OP_ADD) {
		what_id(b, o, "parent", a->parent);
		nl = what_array(b, o, "nodes");
		il = what_array(b, o, "issueIds");
		what_count(b, o, (long long)k);
	}
	for (i = 0; i < k; i++) {
		if (a->op == PANO_OP_ADD) {
			if (node_new(b, a->parent, pos[i], PANO_ISSUE,
			    a->issues[i], NULL, &id) == -1)
				goto out;
			what_list(b, nl, i, id);
			what_list(b, il, i, a->issues[i]);
		} else {
			if (node_new(b, a->parent, pos[i], PANO_FOLDER, 0,
			    a->title, &id) == -1)
				goto out;
			what_id(b, o, "node", id);
			what_id(b, o, "parent", a->parent);
		}
		if (ids_add(&b->added, id) == -1)
			goto out;
	}
	b->nodes += (long long)k;
	e = ERR_OK;
out:
	free(pos);
	return e;
}

/*
 * Walks up from node (of this panorama) to the top level: 1 if it meets
 * stop on the way (node itself included), 0 if not, -1 on an error or a
 * damaged tree (a missing parent, or longer than the tree).
 */
static int
meets(struct batch *b, long long node, long long stop)
{
	struct nrow	 r;
	long long	 steps = 0;

	while (node != 0) {
		if (node == stop)
			return 1;
		if (node_get(b, node, &r) != 1 || ++steps > b->nodes + 1)
			return -1;
		node = r.parent;
	}
	return 0;
}

static enum err
act_move(struct batch *b, const struct pano_action *a, enum pano_fault *f)
{
	struct nrow	 n, par;
	long long	 pos = 0;
	cJSON		*o;
	int		 r;

	if ((r = node_get(b, a->node, &n)) != 1) {
		*f = PANO_FAULT_NODE;
		return r == 0 ? ERR_UNPROCESSABLE : ERR_INTERNAL;
	}
	if (a->parent != 0 && (r = node_get(b, a->parent, &par)) != 1) {
		*f = PANO_FAULT_PARENT;
		return r == 0 ? ERR_UNPROCESSABLE : ERR_INTERNAL;
	}
	if ((r = meets(b, a->parent, a->node)) != 0) {
		*f = PANO_FAULT_CYCLE;
		return r == 1 ? ERR_UNPROCESSABLE : ERR_INTERNAL;
	}
	switch (slots(b, a->parent, a->after, a->node, 1, &pos)) {
	case SLOT_OK:
		if (touch(b, n.parent) == -1 || touch(b, a->parent) == -1 ||
		    touch(b, a->node) == -1 ||
		    place(b, a->node, a->parent, pos) == -1)
			return ERR_INTERNAL;
		break;
	case SLOT_STAY:
		break;
	case SLOT_AFTER:
		*f = PANO_FAULT_AFTER;
		return ERR_UNPROCESSABLE;
	default:
		return ERR_INTERNAL;
	}
	o = what_action(b, "move");
	what_id(b, o, "node", a->node);
	what_id(b, o, "parent", a->parent);
	return ERR_OK;
}

static enum err
act_remove(struct batch *b, const struct pano_action *a, enum pano_fault *f)
{
	struct nrow	 n;
	struct ids	 sub, iss;
	sqlite3_stmt	*s;
	cJSON		*o, *il;
	size_t		 i;
	int		 r, rc;
	enum err	 e = ERR_INTERNAL;

	if ((r = node_get(b, a->node, &n)) != 1) {
		*f = PANO_FAULT_NODE;
		return r == 0 ? ERR_UNPROCESSABLE : ERR_INTERNAL;
	}
	memset(&sub, 0, sizeof(sub));
	memset(&iss, 0, sizeof(iss));
	if ((s = st(b->tdb, P_SUBTREE)) == NULL)
		return ERR_INTERNAL;
	sqlite3_bind_int64(s, 1, a->node);
	sqlite3_bind_int64(s, 2, b->pano);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (ids_add(&sub, sqlite3_column_int64(s, 0)) == -1 ||
		    (sqlite3_column_type(s, 1) != SQLITE_NULL &&
		    ids_add(&iss, sqlite3_column_int64(s, 1)) == -1))
			break;
	}
	done(s);
	if (rc != SQLITE_DONE || touch(b, n.parent) == -1)
		goto out;
	for (i = 0; i < sub.n; i++)
		if (touch(b, sub.v[i]) == -1 || node_delete(b, sub.v[i]) != 1)
			goto out;
	b->nodes -= (long long)sub.n;
	o = what_action(b, "remove");
	what_id(b, o, "node", a->node);
	what_count(b, o, (long long)sub.n);
	il = what_array(b, o, "issueIds");
	for (i = 0; i < iss.n; i++)
		what_list(b, il, i, iss.v[i]);
	e = ERR_OK;
out:
	ids_free(&sub);
	ids_free(&iss);
	return e;
}

static enum err
act_rename(struct batch *b, const struct pano_action *a, enum pano_fault *f)
{
	struct nrow	 n;
	sqlite3_stmt	*s;
	cJSON		*o;
	int		 r;

	if ((r = node_get(b, a->node, &n)) != 1) {
		*f = PANO_FAULT_NODE;
		return r == 0 ? ERR_UNPROCESSABLE : ERR_INTERNAL;
	}
	if (!n.folder) {
		*f = PANO_FAULT_NOT_FOLDER;
		return ERR_UNPROCESSABLE;
	}
	if (a->title == NULL)
		return ERR_UNPROCESSABLE;	/* the worker checks it first */
	if (touch(b, a->node) == -1 || (s = st(b->tdb, P_PLACE)) == NULL)
		return ERR_INTERNAL;
	sqlite3_bind_int64(s, 1, a->node);
	bind_text(s, 4, a->title);
	if (exec_done(s) == -1)
		return ERR_INTERNAL;
	o = what_action(b, "rename");
	what_id(b, o, "node", a->node);
	return ERR_OK;
}

struct apply {
	struct batch	 b;
	long long	 version;
	const struct pano_action *acts;
	size_t		 n;
	struct pano_result *res;
};

static enum err
apply_tx(sqlite3 *db, void *arg)
{
	struct apply	*ap = arg;
	struct batch	*b = &ap->b;
	enum pano_fault	 f;
	size_t		 i;
	enum err	 e;

	(void)db;
	batch_reset(b);
	ap->res->index = 0;
	ap->res->fault = PANO_FAULT_NONE;
	if ((e = pano_state(b->tdb, b->pano, &b->version, &b->nodes)) !=
	    ERR_OK)
		return e;
	ap->res->version = b->version;
	if (b->version != ap->version)
		return ERR_CONFLICT;
	if (ap->n == 0)
		return ERR_OK;
	if (batch_begin(b, b->actor != NULL ? "batch" : "system", 0, 1) == -1)
		return ERR_INTERNAL;
	for (i = 0; i < ap->n; i++) {
		f = PANO_FAULT_NONE;
		if (b->deadline != 0 && clock_mono_usec() > b->deadline) {
			/* Rolled back: never a change the client gave up on. */
			ap->res->index = i;
			return ERR_LIMIT_TIME;
		}
		switch (ap->acts[i].op) {
		case PANO_OP_ADD:
		case PANO_OP_ADD_FOLDER:
			e = act_add(b, &ap->acts[i], &f);
			break;
		case PANO_OP_MOVE:
			e = act_move(b, &ap->acts[i], &f);
			break;
		case PANO_OP_REMOVE:
			e = act_remove(b, &ap->acts[i], &f);
			break;
		case PANO_OP_RENAME:
			e = act_rename(b, &ap->acts[i], &f);
			break;
		default:
			e = ERR_UNPROCESSABLE;
			break;
		}
		if (e != ERR_OK) {
			if (e == ERR_UNPROCESSABLE || e == ERR_LIMIT_NODES) {
				ap->res->index = i;
				ap->res->fault = f;
			}
			return e;
		}
	}
	if ((e = batch_end(b, 1)) != ERR_OK)
		return e;
	ap->res->version = b->version + 1;
	return ERR_OK;
}

enum err
pano_apply(struct tenantdb *tdb, long long id, long long version,
    const char *actor, const struct pano_action *acts, size_t n,
    const struct pano_limits *lim, long long now, struct pano_result *res)
{
	struct apply	 ap;
	enum err	 e;

	memset(res, 0, sizeof(*res));
	if (n > PANO_ACTIONS_MAX)
		return ERR_LIMIT_ACTIONS;
	memset(&ap, 0, sizeof(ap));
	ap.b.tdb = tdb;
	ap.b.pano = id;
	ap.b.max = nodes_max(lim);
	ap.b.now = now;
	ap.b.actor = actor;
	ap.b.deadline = clock_mono_usec() + (lim != NULL && lim->apply_ms >
	    0 ? lim->apply_ms : PANO_APPLY_MS) * 1000LL;
	ap.version = version;
	ap.acts = acts;
	ap.n = n;
	ap.res = res;
	if ((e = tenantdb_tx(tdb, apply_tx, &ap)) == ERR_OK) {
		res->added = ap.b.added.v;
		res->nadded = ap.b.added.n;
		ap.b.added.v = NULL;
		ap.b.added.n = 0;
	}
	batch_free(&ap.b);
	return e;
}

struct import {
	struct batch	 b;
	struct pano	*p;
	const struct pano_row *rows;
	size_t		 n;
	const struct pano_limits *lim;
};

static enum err
import_tx(sqlite3 *db, void *arg)
{
	struct import	*im = arg;
	struct batch	*b = &im->b;
	long long	*last = NULL, *cnt = NULL, id, parent;
	size_t		 i, d;
	cJSON		*o;
	enum err	 e;

	(void)db;
	batch_reset(b);
	if ((e = pano_insert(b->tdb, im->p, b->now, im->lim)) != ERR_OK)
		return e;
	e = ERR_INTERNAL;
	b->pano = im->p->id;
	b->version = 1;
	b->nodes = 0;
	/* Depths are at most the row's index: n + 1 of each is enough. */
	if ((last = calloc(im->n + 1, sizeof(*last))) == NULL ||
	    (cnt = calloc(im->n + 2, sizeof(*cnt))) == NULL)
		goto out;
	if (batch_begin(b, "batch", 0, 0) == -1 || touch(b, 0) == -1)
		goto out;
	for (i = 0; i < im->n; i++) {
		d = (size_t)im->rows[i].depth;
		parent = d == 0 ? 0 : last[d - 1];
		cnt[d]++;
		cnt[d + 1] = 0;
		if (node_new(b, parent, cnt[d] * POS_STEP, im->rows[i].kind,
		    im->rows[i].issue, im->rows[i].title, &id) == -1)
			goto out;
		last[d] = id;
	}
	b->nodes = (long long)im->n;
	o = what_action(b, "import");
	what_count(b, o, (long long)im->n);
	if ((e = batch_end(b, 0)) != ERR_OK)
		goto out;
	im->p->nodes = b->nodes;
	e = ERR_OK;
out:
	free(last);
	free(cnt);
	return e;
}

enum err
pano_import(struct tenantdb *tdb, struct pano *p,
    const struct pano_row *rows, size_t n, const struct pano_limits *lim,
    long long now, size_t *bad)
{
	struct import	 im;
	size_t		 i;
	enum err	 e;

	*bad = 0;
	if (p->name == NULL || p->owner == NULL)
		return ERR_UNPROCESSABLE;
	for (i = 0; i < n; i++) {
		const struct pano_row *r = &rows[i];

		if (r->depth < 0 || (i == 0 && r->depth != 0) ||
		    (i > 0 && r->depth > rows[i - 1].depth + 1) ||
		    (r->kind == PANO_ISSUE && (r->issue <= 0 ||
		    r->issue > PANO_ID_MAX)) ||
		    (r->kind == PANO_FOLDER && (r->title == NULL ||
		    *r->title == '\0')) ||
		    (r->kind != PANO_ISSUE && r->kind != PANO_FOLDER)) {
			*bad = i;
			return ERR_UNPROCESSABLE;
		}
	}
	if ((long long)n > nodes_max(lim))
		return ERR_LIMIT_NODES;
	memset(&im, 0, sizeof(im));
	im.b.tdb = tdb;
	im.b.max = nodes_max(lim);
	im.b.now = now;
	im.b.actor = p->owner;
	im.p = p;
	im.rows = rows;
	im.n = n;
	im.lim = lim;
	if ((e = tenantdb_tx(tdb, import_tx, &im)) != ERR_OK)
		p->id = 0;
	batch_free(&im.b);
	return e;
}

/*
 * Reads a P_ACCESS_GET row into elem, a struct pano_access (db_collect's
 * read_row), and sets *arg, an int: the panorama is there.  Skips the
 * one row of a panorama without entries.
 */
static int
access_read(sqlite3_stmt *s, void *elem, void *arg)
{
	struct pano_access *a = elem;
	const char	*g, *l;

	*(int *)arg = 1;
	if ((g = (const char *)sqlite3_column_text(s, 0)) == NULL)
		return 1;
	l = (const char *)sqlite3_column_text(s, 2);
	if (pano_grantee_parse(g, &a->grantee) == -1 || l == NULL ||
	    pano_level_parse(l, &a->level) == -1 ||
	    (a->target = db_col_strdup(s, 1)) == NULL)
		return -1;
	return 0;
}

/* pano_access_free as db_collect calls it. */
static void
access_free(void *a, size_t n)
{
	pano_access_free(a, n);
}

enum err
pano_access_get(struct tenantdb *tdb, long long id, struct pano_access **out,
    size_t *n)
{
	sqlite3_stmt	*s;
	void		*v;
	int		 found = 0;
	enum err	 e;

	*out = NULL;
	*n = 0;
	if ((s = st(tdb, P_ACCESS_GET)) == NULL)
		return db_err(tenantdb_sqlite(tdb));
	sqlite3_bind_int64(s, 1, id);
	if ((e = db_collect(s, sizeof(**out), access_read, &found,
	    access_free, &v, n)) != ERR_OK)
		return e;
	if (!found)
		return ERR_NOT_FOUND;
	*out = v;
	return ERR_OK;
}

struct access {
	struct tenantdb	*tdb;
	long long	 id;
	const struct pano_access *a;
	size_t		 n;
	long long	 now;
};

static enum err
access_tx(sqlite3 *db, void *arg)
{
	struct access	*c = arg;
	sqlite3_stmt	*s;
	size_t		 i;
	int		 r;

	(void)db;
	/* The time of the change; the version stays: the tree is the same. */
	if ((r = pano_set(c->tdb, c->id, NULL, NULL, -1, 0, c->now, -1)) == -1)
		return ERR_INTERNAL;
	if (r == 0)
		return ERR_NOT_FOUND;
	if ((s = st(c->tdb, P_ACCESS_CLEAR)) == NULL)
		return ERR_INTERNAL;
	sqlite3_bind_int64(s, 1, c->id);
	if (exec_done(s) == -1)
		return ERR_INTERNAL;
	for (i = 0; i < c->n; i++) {
		if ((s = st(c->tdb, P_ACCESS_INSERT)) == NULL)
			return ERR_INTERNAL;
		sqlite3_bind_int64(s, 1, c->id);
		bind_text(s, 2, pano_grantee_name(c->a[i].grantee));
		bind_text(s, 3, c->a[i].grantee == PANO_GRANT_EVERYONE ? "" :
		    c->a[i].target);
		bind_text(s, 4, pano_level_name(c->a[i].level));
		if (exec_done(s) == -1)
			return ERR_INTERNAL;
	}
	return ERR_OK;
}

/* The target an entry is stored under ("" for everyone). */
static const char *
access_target(const struct pano_access *a)
{
	return a->grantee == PANO_GRANT_EVERYONE ? "" : a->target;
}

enum err
pano_access_set(struct tenantdb *tdb, long long id,
    const struct pano_access *a, size_t n, long long now)
{
	struct access	 c = { tdb, id, a, n, now };
	size_t		 i, j;

	if (n > PANO_ACCESS_MAX)
		return ERR_UNPROCESSABLE;
	for (i = 0; i < n; i++) {
		if (a[i].grantee >= PANO_GRANT__MAX ||
		    (a[i].level != PANO_LEVEL_VIEW &&
		    a[i].level != PANO_LEVEL_EDIT) ||
		    (a[i].grantee != PANO_GRANT_EVERYONE &&
		    (a[i].target == NULL || *a[i].target == '\0')))
			return ERR_UNPROCESSABLE;
		for (j = 0; j < i; j++)
			if (a[j].grantee == a[i].grantee &&
			    strcmp(access_target(&a[j]),
			    access_target(&a[i])) == 0)
				return ERR_UNPROCESSABLE;
	}
	return tenantdb_tx(tdb, access_tx, &c);
}

/* Whether groups (",id,id,", may be NULL) holds id. */
static int
in_groups(const char *groups, const char *id)
{
	const char	*p;
	size_t		 len = strlen(id);

	if (groups == NULL || len == 0)
		return 0;
	for (p = groups; (p = strstr(p, id)) != NULL; p++)
		if (p > groups && p[-1] == ',' && p[len] == ',')
			return 1;
	return 0;
}

enum pano_level
pano_access_level(const struct pano_access *a, size_t n,
    const char *account, const char *groups)
{
	enum pano_level	 best = PANO_LEVEL_NONE;
	size_t		 i;
	int		 match;

	for (i = 0; i < n; i++) {
		switch (a[i].grantee) {
		case PANO_GRANT_ACCOUNT:
			match = account != NULL && a[i].target != NULL &&
			    strcmp(a[i].target, account) == 0;
			break;
		case PANO_GRANT_GROUP:
			match = a[i].target != NULL &&
			    in_groups(groups, a[i].target);
			break;
		case PANO_GRANT_EVERYONE:
			match = 1;
			break;
		default:
			match = 0;
			break;
		}
		if (match && a[i].level > best && a[i].level < PANO_LEVEL__MAX)
			best = a[i].level;
	}
	return best;
}

/* Reads a P_HIST_LIST row into elem, a struct pano_batch. */
static int
batch_read(sqlite3_stmt *s, void *elem, void *arg)
{
	struct pano_batch *t = elem;
	int		 bad = 0;

	(void)arg;
	t->id = sqlite3_column_int64(s, 0);
	t->version = sqlite3_column_int64(s, 1);
	t->actor = col_opt(s, 2, &bad);
	t->at = sqlite3_column_int64(s, 3);
	t->kind = db_col_strdup(s, 4);
	t->undo_of = sqlite3_column_int64(s, 5);
	t->undone = sqlite3_column_int(s, 6);
	t->what = db_col_strdup(s, 7);
	return bad || t->kind == NULL || t->what == NULL ? -1 : 0;
}

/* pano_history_free as db_collect calls it. */
static void
history_free(void *h, size_t n)
{
	pano_history_free(h, n);
}

enum err
pano_history(struct tenantdb *tdb, long long id, long long before,
    size_t limit, struct pano_batch **out, size_t *n)
{
	sqlite3_stmt	*s;
	void		*v;
	enum err	 e;

	*out = NULL;
	*n = 0;
	if (limit == 0)
		return ERR_OK;
	if ((s = st(tdb, P_HIST_LIST)) == NULL)
		return db_err(tenantdb_sqlite(tdb));
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, before);
	sqlite3_bind_int64(s, 3, limit > PANO_HISTORY_KEEP ?
	    PANO_HISTORY_KEEP : (long long)limit);
	e = db_collect(s, sizeof(**out), batch_read, NULL, history_free, &v,
	    n);
	*out = v;
	return e;
}

/* A node as a batch's undo rows hold it. */
struct urow {
	long long	 node;
	int		 present;
	long long	 parent;
	long long	 pos;
	char		*kind;
	long long	 issue;
	int		 has_issue;
	char		*title;
	char		*creator;
	long long	 created_at;
};

static void
urows_free(struct urow *u, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		free(u[i].kind);
		free(u[i].title);
		free(u[i].creator);
	}
	free(u);
}

/* Batch hist's undo rows into *out; 0 or -1. */
static int
urows_load(struct batch *b, long long hist, struct urow **out, size_t *n)
{
	struct urow	*u = NULL, *v, *t;
	size_t		 cnt = 0, cap = 0;
	sqlite3_stmt	*s;
	int		 rc, bad = 0;

	*out = NULL;
	*n = 0;
	if ((s = st(b->tdb, P_UNDO_ROWS)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, hist);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (cnt == cap) {
			cap = cap != 0 ? cap * 2 : 16;
			if ((v = reallocarray(u, cap, sizeof(*u))) == NULL) {
				bad = 1;
				break;
			}
			u = v;
		}
		t = &u[cnt++];
		memset(t, 0, sizeof(*t));
		t->node = sqlite3_column_int64(s, 0);
		t->present = sqlite3_column_int(s, 1);
		t->parent = sqlite3_column_int64(s, 2);
		t->pos = sqlite3_column_int64(s, 3);
		t->kind = col_opt(s, 4, &bad);
		if ((t->has_issue = sqlite3_column_type(s, 5) != SQLITE_NULL))
			t->issue = sqlite3_column_int64(s, 5);
		t->title = col_opt(s, 6, &bad);
		t->creator = col_opt(s, 7, &bad);
		t->created_at = sqlite3_column_int64(s, 8);
		if (bad)
			break;
	}
	done(s);
	if (bad || rc != SQLITE_DONE) {
		urows_free(u, cnt);
		return -1;
	}
	*out = u;
	*n = cnt;
	return 0;
}

/*
 * Puts node u back as it was: found, it gets its old parent, position
 * and title (its kind, issue, creator and time never change); else it is
 * inserted again under its id.
 */
static int
urow_restore(struct batch *b, const struct urow *u, int found)
{
	sqlite3_stmt	*s;

	if (found) {
		if ((s = st(b->tdb, P_PLACE)) == NULL)
			return -1;
		sqlite3_bind_int64(s, 1, u->node);
		sqlite3_bind_int64(s, 2, u->parent);
		sqlite3_bind_int64(s, 3, u->pos);
		bind_text(s, 4, u->title);
		return exec_done(s);
	}
	if ((s = st(b->tdb, P_NODE_INSERT)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, u->node);
	sqlite3_bind_int64(s, 2, b->pano);
	sqlite3_bind_int64(s, 3, u->parent);
	sqlite3_bind_int64(s, 4, u->pos);
	bind_text(s, 5, u->kind);
	if (u->has_issue)
		sqlite3_bind_int64(s, 6, u->issue);
	bind_text(s, 7, u->title);
	bind_text(s, 8, u->creator != NULL ? u->creator : "");
	sqlite3_bind_int64(s, 9, u->created_at);
	return exec_done(s);
}

/* States in the walk's set: on the walk now, or known to reach the top. */
#define WALK_ON		1
#define WALK_TOP	2

/*
 * Whether node reaches the top level through its parents: 0 yes, 1 no
 * (a cycle, or a parent that is not there), -1 on an error.  Nodes found
 * to reach it are kept in seen, so that walks from many nodes of one
 * subtree cost the subtree once.
 */
static int
reaches_top(struct batch *b, struct idset *seen, struct ids *path,
    long long node)
{
	struct nrow	 r;
	size_t		 i;
	unsigned char	 v;
	int		 rc;

	path->n = 0;
	while (node != 0 && (v = idset_get(seen, node)) != WALK_TOP) {
		if (v == WALK_ON)
			return 1;
		if ((rc = node_get(b, node, &r)) != 1)
			return rc == 0 ? 1 : -1;
		if (idset_put(seen, node, WALK_ON) == -1 ||
		    ids_add(path, node) == -1)
			return -1;
		node = r.parent;
	}
	for (i = 0; i < path->n; i++)
		if (idset_put(seen, path->v[i], WALK_TOP) == -1)
			return -1;
	return 0;
}

/*
 * After an undo put u[0..n) back: the tree is still a tree where it
 * changed.  Every node put back reaches the top, has a position no
 * sibling shares, and no node is left under one taken away.  0 when all
 * hold, 1 if not, -1 on an error.
 */
static int
undo_verify(struct batch *b, const struct urow *u, size_t n)
{
	struct idset	 seen;
	struct ids	 path;
	long long	 nid[2], npos[2];
	size_t		 i;
	int		 r = 0, k;

	memset(&seen, 0, sizeof(seen));
	memset(&path, 0, sizeof(path));
	for (i = 0; i < n && r == 0; i++) {
		if (u[i].node <= 0)
			continue;
		if (!u[i].present) {
			if ((k = next_children(b, u[i].node, LLONG_MIN, nid,
			    npos)) != 0)
				r = k < 0 ? -1 : 1;
			continue;
		}
		/* The first two at its position or past it: it, alone. */
		if ((k = next_children(b, u[i].parent, u[i].pos > LLONG_MIN ?
		    u[i].pos - 1 : LLONG_MIN, nid, npos)) < 0)
			r = -1;
		else if (k == 2 && npos[1] == u[i].pos)
			r = 1;
		else
			r = reaches_top(b, &seen, &path, u[i].node);
	}
	idset_free(&seen);
	ids_free(&path);
	return r;
}

struct undo {
	struct batch	 b;
	long long	*version;
};

static enum err
undo_tx(sqlite3 *db, void *arg)
{
	struct undo	*un = arg;
	struct batch	*b = &un->b;
	struct urow	*u = NULL;
	struct nrow	 cur;
	sqlite3_stmt	*s;
	long long	 target = 0, kept = 0, before;
	size_t		 n = 0, i;
	cJSON		*o;
	int		 rc, found;
	enum err	 e;

	(void)db;
	batch_reset(b);
	if ((e = pano_state(b->tdb, b->pano, &b->version, &b->nodes)) !=
	    ERR_OK)
		return e;
	*un->version = b->version;
	if (b->actor == NULL)
		return ERR_NOT_FOUND;
	if ((s = st(b->tdb, P_UNDO_FIND)) == NULL)
		return ERR_INTERNAL;
	sqlite3_bind_int64(s, 1, b->pano);
	bind_text(s, 2, b->actor);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		target = sqlite3_column_int64(s, 0);
		kept = sqlite3_column_int64(s, 1);
	}
	done(s);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? ERR_NOT_FOUND : ERR_INTERNAL;
	/* Its undo rows went past PANO_UNDO_KEEP: too old to undo. */
	if (kept == 0)
		return ERR_CONFLICT;
	if ((s = st(b->tdb, P_UNDO_BLOCKED)) == NULL)
		return ERR_INTERNAL;
	sqlite3_bind_int64(s, 1, target);
	rc = sqlite3_step(s);
	done(s);
	if (rc == SQLITE_ROW)
		return ERR_CONFLICT;
	if (rc != SQLITE_DONE)
		return ERR_INTERNAL;
	if (urows_load(b, target, &u, &n) == -1)
		return ERR_INTERNAL;
	e = ERR_INTERNAL;
	if (batch_begin(b, "undo", target, 1) == -1)
		goto out;
	before = b->nodes;
	for (i = 0; i < n; i++) {
		if (u[i].node <= 0) {
			if (u[i].node == -b->pano && touch(b, 0) == -1)
				goto out;
			continue;
		}
		if ((found = node_get(b, u[i].node, &cur)) == -1 ||
		    touch(b, u[i].node) == -1)
			goto out;
		if (!u[i].present) {
			if (found && node_delete(b, u[i].node) != 1)
				goto out;
			b->nodes -= found;
		} else {
			if (u[i].kind == NULL ||
			    urow_restore(b, &u[i], found) == -1)
				goto out;
			b->nodes += !found;
		}
	}
	if (b->nodes > before && b->nodes > b->max) {
		e = ERR_LIMIT_NODES;
		goto out;
	}
	if ((rc = undo_verify(b, u, n)) != 0) {
		e = rc == 1 ? ERR_CONFLICT : ERR_INTERNAL;
		goto out;
	}
	if ((s = st(b->tdb, P_UNDONE)) == NULL)
		goto out;
	sqlite3_bind_int64(s, 1, target);
	if (exec_done(s) == -1)
		goto out;
	o = what_action(b, "undo");
	what_id(b, o, "batch", target);
	if ((e = batch_end(b, 1)) != ERR_OK)
		goto out;
	*un->version = b->version + 1;
	e = ERR_OK;
out:
	urows_free(u, n);
	return e;
}

enum err
pano_undo(struct tenantdb *tdb, long long id, const char *actor,
    const struct pano_limits *lim, long long now, long long *version)
{
	struct undo	 un;
	long long	 v = 0;
	enum err	 e;

	memset(&un, 0, sizeof(un));
	un.b.tdb = tdb;
	un.b.pano = id;
	un.b.max = nodes_max(lim);
	un.b.now = now;
	un.b.actor = actor;
	un.version = version != NULL ? version : &v;
	e = tenantdb_tx(tdb, undo_tx, &un);
	batch_free(&un.b);
	return e;
}

/*
 * Removes node of b's panorama, its children moving up to its parent in
 * its place and order.  0, or -1.
 */
static int
lift_children(struct batch *b, long long node)
{
	struct nrow	 n;
	struct ids	 c;
	long long	*pos = NULL;
	size_t		 i;
	int		 r, rc = -1;

	memset(&c, 0, sizeof(c));
	if ((r = node_get(b, node, &n)) != 1)
		return r;		/* gone already: nothing to do */
	if (children(b, node, &c) == -1 || touch(b, n.parent) == -1 ||
	    touch(b, node) == -1)
		goto out;
	if (c.n > 0) {
		if ((pos = calloc(c.n, sizeof(*pos))) == NULL ||
		    slots(b, n.parent, node, 0, c.n, pos) != SLOT_OK)
			goto out;
		for (i = 0; i < c.n; i++)
			if (touch(b, c.v[i]) == -1 ||
			    place(b, c.v[i], n.parent, pos[i]) == -1)
				goto out;
	}
	if (node_delete(b, node) != 1)
		goto out;
	b->nodes--;
	rc = 0;
out:
	free(pos);
	ids_free(&c);
	return rc;
}

struct deleted {
	struct batch	 b;
	long long	 issue;
	size_t		 removed;
};

static enum err
deleted_tx(sqlite3 *db, void *arg)
{
	struct deleted	*d = arg;
	struct batch	*b = &d->b;
	struct ids	 node, pano;
	sqlite3_stmt	*s;
	size_t		 i, j;
	cJSON		*o, *nl;
	int		 rc;
	enum err	 e = ERR_INTERNAL;

	(void)db;
	d->removed = 0;
	memset(&node, 0, sizeof(node));
	memset(&pano, 0, sizeof(pano));
	if ((s = st(b->tdb, P_ISSUE_NODES)) == NULL)
		return ERR_INTERNAL;
	sqlite3_bind_int64(s, 1, d->issue);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		if (ids_add(&node, sqlite3_column_int64(s, 0)) == -1 ||
		    ids_add(&pano, sqlite3_column_int64(s, 1)) == -1)
			break;
	done(s);
	if (rc != SQLITE_DONE)
		goto out;
	/* One system batch per panorama: its nodes are next to each other. */
	for (i = 0; i < node.n; i = j) {
		batch_reset(b);
		b->pano = pano.v[i];
		if (pano_state(b->tdb, b->pano, &b->version, &b->nodes) !=
		    ERR_OK || batch_begin(b, "system", 0, 1) == -1)
			goto out;
		o = what_action(b, "issueDeleted");
		what_id(b, o, "issueId", d->issue);
		nl = what_array(b, o, "nodes");
		for (j = i; j < node.n && pano.v[j] == b->pano; j++) {
			if (lift_children(b, node.v[j]) == -1)
				goto out;
			what_list(b, nl, j - i, node.v[j]);
		}
		what_count(b, o, (long long)(j - i));
		if (batch_end(b, 1) != ERR_OK)
			goto out;
		d->removed += j - i;
	}
	e = ERR_OK;
out:
	ids_free(&node);
	ids_free(&pano);
	return e;
}

enum err
pano_issue_deleted(struct tenantdb *tdb, long long issue, long long now,
    size_t *removed)
{
	struct deleted	 d;
	enum err	 e;

	memset(&d, 0, sizeof(d));
	d.b.tdb = tdb;
	d.b.max = PANO_NODES_HARD;
	d.b.now = now;
	d.issue = issue;
	if (removed != NULL)
		*removed = 0;
	if ((e = tenantdb_tx(tdb, deleted_tx, &d)) == ERR_OK &&
	    removed != NULL)
		*removed = d.removed;
	batch_free(&d.b);
	return e;
}

/* Steps s to the end, its first column's ids into *ids (n of them). */
static enum err
collect_ids(struct tenantdb *tdb, sqlite3_stmt *s, long long **ids,
    size_t *n)
{
	struct ids	 a;
	int		 rc;

	*ids = NULL;
	*n = 0;
	memset(&a, 0, sizeof(a));
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		if (ids_add(&a, sqlite3_column_int64(s, 0)) == -1) {
			ids_free(&a);
			return ERR_INTERNAL;
		}
	if (rc != SQLITE_DONE) {
		ids_free(&a);
		return db_err(tenantdb_sqlite(tdb));
	}
	*ids = a.v;
	*n = a.n;
	return ERR_OK;
}

enum err
pano_issue_ids(struct tenantdb *tdb, long long **ids, size_t *n)
{
	sqlite3_stmt	*s;
	enum err	 e;

	*ids = NULL;
	*n = 0;
	if ((s = st(tdb, P_ISSUE_IDS)) == NULL)
		return db_err(tenantdb_sqlite(tdb));
	e = collect_ids(tdb, s, ids, n);
	done(s);
	return e;
}

enum err
pano_undo_issues(struct tenantdb *tdb, long long id, const char *actor,
    long long **ids, size_t *n)
{
	sqlite3_stmt	*s = NULL;
	enum err	 e;

	*ids = NULL;
	*n = 0;
	/* Not cached: an undo is rare, and the store's slots are few. */
	if (sqlite3_prepare_v2(tenantdb_sqlite(tdb), "SELECT DISTINCT "
	    "issue_id FROM pano_undo WHERE batch_id = (SELECT id FROM "
	    "pano_history WHERE panorama_id = ?1 AND actor = ?2 AND kind = "
	    "'batch' AND undone = 0 ORDER BY id DESC LIMIT 1) AND present = 1 "
	    "AND issue_id IS NOT NULL ORDER BY issue_id", -1, &s, NULL) !=
	    SQLITE_OK) {
		sqlite3_finalize(s);
		return db_err(tenantdb_sqlite(tdb));
	}
	sqlite3_bind_int64(s, 1, id);
	bind_text(s, 2, actor);
	e = collect_ids(tdb, s, ids, n);
	sqlite3_finalize(s);
	return e;
}

static int
cmp_ll(const void *a, const void *b)
{
	long long	 x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

/* The rules pano_check checks on loaded nodes; NULL when all hold. */
static const char *
check_nodes(const struct tnode *a, size_t n, long long count)
{
	long long	*ids = NULL, *depth = NULL;
	size_t		*order = NULL, i, cnt = 0;
	const char	*why = "no_memory";
	int		 ok;

	if ((long long)n != count)
		return "count_wrong";
	for (i = 0; i < n; i++) {
		switch (a[i].kind) {
		case PANO_ISSUE:
			ok = a[i].has_issue && !a[i].has_title;
			break;
		case PANO_FOLDER:
			ok = !a[i].has_issue && a[i].has_title;
			break;
		default:
			ok = 0;
			break;
		}
		if (!ok)
			return "kind_mismatch";
		if (i > 0 && a[i].parent == a[i - 1].parent &&
		    a[i].pos == a[i - 1].pos)
			return "position_shared";
	}
	if (n == 0)
		return NULL;
	if ((ids = calloc(n, sizeof(*ids))) == NULL ||
	    (order = calloc(n, sizeof(*order))) == NULL ||
	    (depth = calloc(n, sizeof(*depth))) == NULL)
		goto out;
	for (i = 0; i < n; i++)
		ids[i] = a[i].id;
	qsort(ids, n, sizeof(*ids), cmp_ll);
	why = NULL;
	for (i = 0; i < n && why == NULL; i++)
		if (a[i].parent != 0 && bsearch(&a[i].parent, ids, n,
		    sizeof(*ids), cmp_ll) == NULL)
			why = "parent_missing";
	if (why == NULL && preorder(a, n, order, depth, &cnt) == -1)
		why = "no_memory";
	else if (why == NULL && cnt != n)
		why = "cycle";
out:
	free(ids);
	free(order);
	free(depth);
	return why;
}

int
pano_check(struct tenantdb *tdb, long long id, const char **why)
{
	struct tnode	*a = NULL;
	sqlite3_stmt	*s;
	long long	 version, count, v[2][3];
	size_t		 n = 0;
	int		 k = 0, j;

	*why = NULL;
	if (pano_state(tdb, id, &version, &count) != ERR_OK ||
	    tree_load(tdb, id, &version, &a, &n) != ERR_OK) {
		*why = "unreadable";
		return -1;
	}
	*why = check_nodes(a, n, count);
	tnodes_free(a, n);
	if (*why != NULL)
		return -1;
	if ((s = st(tdb, P_CHECK_INDEX)) == NULL) {
		*why = "unreadable";
		return -1;
	}
	sqlite3_bind_int64(s, 1, id);
	while (k < 2 && sqlite3_step(s) == SQLITE_ROW) {
		for (j = 0; j < 3; j++)
			v[k][j] = sqlite3_column_int64(s, j);
		k++;
	}
	done(s);
	if (k != 2)
		*why = "unreadable";
	else if (v[0][0] != v[1][0] || v[0][1] != v[1][1] ||
	    v[0][2] != v[1][2])
		*why = "index_disagrees";
	return *why == NULL ? 0 : -1;
}
