/*
 * pano: the panorama store's rules the routes and users rely on, against
 * a real SQLCipher tenant file (the fx_tenant fixture).  Versions guard
 * every change; listings show what a viewer may view, page without
 * repeats or gaps; actions place nodes where they say, all of a batch or
 * none of it; the node limit; a deleted issue's children move up in its
 * place; undo reverts one's own latest batch, and only when nothing
 * later touched its nodes; deep and large trees cost no stack and little
 * time; pano_check holds after every change and catches a broken tree.
 * The large-tree tests print their timings ("# ...").
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <sqlite3.h>

#include "cellar/buf.h"
#include "cellar/pano.h"
#include "cellar/tenantdb.h"
#include "fixture.h"

#define NOW	FX_NOW
#define A	"acct-a"
#define B	"acct-b"

static const struct pano_limits lim = { PANO_NODES_DEFAULT,
    PANO_PER_TENANT_DEFAULT, 0 };

/* The fixture, with the file's syncs off: these tests write a lot. */
static int
setup(void **state)
{
	struct fx_tenant *f;

	fx_tenant_state_setup(state);
	f = *state;
	assert_int_equal(sqlite3_exec(tenantdb_sqlite(f->tdb),
	    "PRAGMA synchronous=OFF", NULL, NULL, NULL), SQLITE_OK);
	return 0;
}

#define TEST(fn)	cmocka_unit_test_setup_teardown(fn, setup, \
			    fx_tenant_state_teardown)

static double
secs(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long long
mkpano(struct fx_tenant *f, const char *name, const char *owner)
{
	struct pano	 p;
	long long	 id;

	memset(&p, 0, sizeof(p));
	p.name = strdup(name);
	p.description = strdup("");
	p.owner = strdup(owner);
	assert_int_equal(pano_create(f->tdb, &p, NOW, &lim), ERR_OK);
	assert_int_equal(p.version, 1);
	id = p.id;
	pano_free(&p);
	return id;
}

static long long
version_of(struct fx_tenant *f, long long id)
{
	struct pano	 p;
	long long	 v;

	assert_int_equal(pano_get(f->tdb, id, &p), ERR_OK);
	v = p.version;
	pano_free(&p);
	return v;
}

static long long
nodes_of(struct fx_tenant *f, long long id)
{
	struct pano	 p;
	long long	 v;

	assert_int_equal(pano_get(f->tdb, id, &p), ERR_OK);
	v = p.nodes;
	pano_free(&p);
	return v;
}

static void
checked(struct fx_tenant *f, long long id)
{
	const char	*why = "";

	if (pano_check(f->tdb, id, &why) != 0)
		fail_msg("pano_check: %s", why);
}

/* Applies acts at the current version as actor; checks the tree after. */
static enum err
apply(struct fx_tenant *f, long long id, const char *actor,
    const struct pano_action *acts, size_t n, struct pano_result *r)
{
	enum err	 e;

	e = pano_apply(f->tdb, id, version_of(f, id), actor, acts, n, &lim,
	    NOW, r);
	checked(f, id);
	return e;
}

static long long
add_as(struct fx_tenant *f, long long id, const char *actor,
    long long parent, long long after, long long issue)
{
	struct pano_action a = { PANO_OP_ADD, 0, parent, after, &issue, 1,
	    NULL };
	struct pano_result r;
	long long	 node;

	assert_int_equal(apply(f, id, actor, &a, 1, &r), ERR_OK);
	assert_int_equal(r.nadded, 1);
	node = r.added[0];
	pano_result_free(&r);
	return node;
}

static long long
add_issue(struct fx_tenant *f, long long id, long long parent,
    long long after, long long issue)
{
	return add_as(f, id, A, parent, after, issue);
}

static long long
add_folder(struct fx_tenant *f, long long id, long long parent,
    long long after, const char *title)
{
	struct pano_action a = { PANO_OP_ADD_FOLDER, 0, parent, after, NULL, 0,
	    title };
	struct pano_result r;
	long long	 node;

	assert_int_equal(apply(f, id, A, &a, 1, &r), ERR_OK);
	assert_int_equal(r.nadded, 1);
	node = r.added[0];
	pano_result_free(&r);
	return node;
}

static enum err
move(struct fx_tenant *f, long long id, const char *actor, long long node,
    long long parent, long long after)
{
	struct pano_action a = { PANO_OP_MOVE, node, parent, after, NULL, 0,
	    NULL };
	struct pano_result r;
	enum err	 e;

	e = apply(f, id, actor, &a, 1, &r);
	pano_result_free(&r);
	return e;
}

static enum err
remove_node(struct fx_tenant *f, long long id, const char *actor,
    long long node)
{
	struct pano_action a = { PANO_OP_REMOVE, node, 0, 0, NULL, 0, NULL };
	struct pano_result r;
	enum err	 e;

	e = apply(f, id, actor, &a, 1, &r);
	pano_result_free(&r);
	return e;
}

/*
 * The tree as text, in pre-order: one word per node, its depth as dots,
 * then "i" and the issue id, or the folder's title.
 */
static char *
shape(struct fx_tenant *f, long long id)
{
	struct buf	 b = BUF_INIT(0);
	struct pano_row	*rows;
	size_t		 n, i;
	long long	 v, d;

	assert_int_equal(pano_tree(f->tdb, id, &v, &rows, &n), ERR_OK);
	assert_int_equal(v, version_of(f, id));
	buf_add(&b, "", 0);
	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_add(&b, " ", 1);
		for (d = 0; d < rows[i].depth; d++)
			buf_add(&b, ".", 1);
		if (rows[i].kind == PANO_ISSUE)
			buf_addf(&b, "i%lld", rows[i].issue);
		else
			buf_addf(&b, "%s", rows[i].title);
	}
	pano_rows_free(rows, n);
	return buf_finish(&b, NULL);
}

#define assert_shape(f, id, want) do {					\
	char *s_ = shape((f), (id));					\
	assert_string_equal(s_, (want));				\
	free(s_);							\
} while (0)

/* The newest batch of id, parsed: its kind, actor and what. */
static cJSON *
newest(struct fx_tenant *f, long long id, struct pano_batch *out)
{
	struct pano_batch *h;
	size_t		 n;
	cJSON		*w;

	assert_int_equal(pano_history(f->tdb, id, 0, 1, &h, &n), ERR_OK);
	assert_int_equal(n, 1);
	assert_non_null(w = cJSON_Parse(h[0].what));
	*out = h[0];
	free(h);
	return w;
}

static size_t
history_len(struct fx_tenant *f, long long id)
{
	struct pano_batch *h;
	size_t		 n;

	assert_int_equal(pano_history(f->tdb, id, 0, PANO_HISTORY_KEEP, &h,
	    &n), ERR_OK);
	pano_history_free(h, n);
	return n;
}

static const cJSON *
member(const cJSON *o, const char *k)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, k);

	assert_non_null(v);
	return v;
}

static void
test_versions_guard_changes(void **state)
{
	struct fx_tenant *f = *state;
	const struct pano_limits two = { 100, 2, 0 };
	struct pano	 p, got;
	long long	 id;

	memset(&p, 0, sizeof(p));
	p.name = strdup("Roadmap");
	p.owner = strdup(A);
	assert_int_equal(pano_create(f->tdb, &p, NOW, &two), ERR_OK);
	assert_true(p.id > 0);
	assert_int_equal(p.version, 1);
	assert_int_equal(p.nodes, 0);
	id = p.id;
	assert_int_equal(pano_get(f->tdb, id, &got), ERR_OK);
	assert_string_equal(got.name, "Roadmap");
	assert_string_equal(got.description, "");
	assert_string_equal(got.owner, A);
	assert_int_equal(got.created_at, NOW);
	pano_free(&got);

	/* Stale: a conflict naming the current version, nothing changed. */
	free(p.name);
	p.name = strdup("Renamed");
	p.description = strdup("what we ship");
	assert_int_equal(pano_update(f->tdb, &p, 7, NOW + 5), ERR_CONFLICT);
	assert_int_equal(p.version, 1);
	assert_int_equal(pano_get(f->tdb, id, &got), ERR_OK);
	assert_string_equal(got.name, "Roadmap");
	pano_free(&got);
	assert_int_equal(pano_update(f->tdb, &p, 1, NOW + 5), ERR_OK);
	assert_int_equal(p.version, 2);
	assert_int_equal(p.updated_at, NOW + 5);
	assert_string_equal(p.name, "Renamed");
	assert_string_equal(p.description, "what we ship");
	/* NULL keeps the description. */
	free(p.name);
	p.name = strdup("Again");
	free(p.description);
	p.description = NULL;
	assert_int_equal(pano_update(f->tdb, &p, 2, NOW + 6), ERR_OK);
	assert_string_equal(p.description, "what we ship");
	assert_int_equal(p.version, 3);
	pano_free(&p);

	assert_int_equal(pano_delete(f->tdb, id, 2), ERR_CONFLICT);
	assert_int_equal(pano_delete(f->tdb, id, 3), ERR_OK);
	assert_int_equal(pano_get(f->tdb, id, &got), ERR_NOT_FOUND);
	assert_int_equal(pano_delete(f->tdb, id, 3), ERR_NOT_FOUND);
	p.id = id;
	p.name = strdup("x");
	assert_int_equal(pano_update(f->tdb, &p, 3, NOW), ERR_NOT_FOUND);
	pano_free(&p);

	/* The tenant's limit. */
	mkpano(f, "one", A);
	memset(&p, 0, sizeof(p));
	p.name = strdup("two");
	p.owner = strdup(B);
	assert_int_equal(pano_create(f->tdb, &p, NOW, &two), ERR_OK);
	pano_free(&p);
	p.name = strdup("three");
	p.owner = strdup(B);
	assert_int_equal(pano_create(f->tdb, &p, NOW, &two),
	    ERR_LIMIT_PANORAMAS);
	assert_int_equal(p.id, 0);
	pano_free(&p);
}

/* The ids of what v may list, as ",id,id,". */
static char *
listed(struct fx_tenant *f, const struct pano_viewer *v, const char *q)
{
	struct buf	 b = BUF_INIT(0);
	struct pano	*ps;
	size_t		 n, i;

	assert_int_equal(pano_list(f->tdb, v, q, NULL, 0, PANO_PAGE_MAX, &ps,
	    &n), ERR_OK);
	buf_add(&b, ",", 1);
	for (i = 0; i < n; i++)
		buf_addf(&b, "%s,", ps[i].name);
	pano_list_free(ps, n);
	return buf_finish(&b, NULL);
}

#define assert_listed(f, v, q, want) do {				\
	char *s_ = listed((f), (v), (q));				\
	assert_string_equal(s_, (want));				\
	free(s_);							\
} while (0)

static void
access_one(struct fx_tenant *f, long long id, enum pano_grantee g,
    const char *target, enum pano_level l)
{
	struct pano_access a = { g, (char *)(uintptr_t)target, l };

	assert_int_equal(pano_access_set(f->tdb, id, &a, 1, NOW), ERR_OK);
}

static void
test_list_visibility(void **state)
{
	struct fx_tenant *f = *state;
	struct pano_viewer owner = { A, NULL, 0 }, acct = { B, NULL, 0 },
	    grp = { "acct-c", ",g0,g1,", 0 }, near = { "acct-d", ",g11,", 0 },
	    nobody = { "acct-e", NULL, 0 }, admin = { "acct-f", NULL, 1 };
	struct pano_access set[3] = {
		{ PANO_GRANT_ACCOUNT, (char *)(uintptr_t)B, PANO_LEVEL_VIEW },
		{ PANO_GRANT_GROUP, (char *)(uintptr_t)"g1", PANO_LEVEL_EDIT },
		{ PANO_GRANT_ACCOUNT, (char *)(uintptr_t)B, PANO_LEVEL_EDIT },
	};
	struct pano_access *got;
	size_t		 n;
	long long	 p2, p3, p4;

	mkpano(f, "p1", A);
	p2 = mkpano(f, "p2", A);
	p3 = mkpano(f, "p3", A);
	p4 = mkpano(f, "p4", A);
	access_one(f, p2, PANO_GRANT_ACCOUNT, B, PANO_LEVEL_VIEW);
	access_one(f, p3, PANO_GRANT_GROUP, "g1", PANO_LEVEL_EDIT);
	access_one(f, p4, PANO_GRANT_EVERYONE, "", PANO_LEVEL_VIEW);
	assert_listed(f, &owner, NULL, ",p1,p2,p3,p4,");
	assert_listed(f, &acct, NULL, ",p2,p4,");
	assert_listed(f, &grp, NULL, ",p3,p4,");
	assert_listed(f, &near, NULL, ",p4,");	/* g11 is not g1 */
	assert_listed(f, &nobody, NULL, ",p4,");
	assert_listed(f, &admin, NULL, ",p1,p2,p3,p4,");
	/* Access changes no version. */
	assert_int_equal(version_of(f, p2), 1);

	/* One entry per grantee and target; the old entries stay. */
	assert_int_equal(pano_access_set(f->tdb, p2, set, 3, NOW),
	    ERR_UNPROCESSABLE);
	assert_int_equal(pano_access_set(f->tdb, 999999, set, 2, NOW),
	    ERR_NOT_FOUND);
	assert_int_equal(pano_access_get(f->tdb, p2, &got, &n), ERR_OK);
	assert_int_equal(n, 1);
	pano_access_free(got, n);
	assert_int_equal(pano_access_set(f->tdb, p2, set, 2, NOW), ERR_OK);
	assert_int_equal(pano_access_get(f->tdb, p2, &got, &n), ERR_OK);
	assert_int_equal(n, 2);
	assert_int_equal(got[0].grantee, PANO_GRANT_ACCOUNT);
	assert_string_equal(got[0].target, B);
	assert_int_equal(got[1].grantee, PANO_GRANT_GROUP);
	assert_int_equal(got[1].level, PANO_LEVEL_EDIT);
	/* The highest level of the entries that apply. */
	assert_int_equal(pano_access_level(got, n, B, NULL), PANO_LEVEL_VIEW);
	assert_int_equal(pano_access_level(got, n, B, ",g1,"),
	    PANO_LEVEL_EDIT);
	assert_int_equal(pano_access_level(got, n, "x", ",g11,g,"),
	    PANO_LEVEL_NONE);
	pano_access_free(got, n);
	assert_int_equal(pano_access_get(f->tdb, 999999, &got, &n),
	    ERR_NOT_FOUND);
	assert_int_equal(pano_access_set(f->tdb, p2, NULL, 0, NOW), ERR_OK);
	assert_listed(f, &acct, NULL, ",p4,");
}

static void
test_list_pages_by_name(void **state)
{
	struct fx_tenant *f = *state;
	static const char *const names[] = { "beta", "Alpha", "alpha", "éric",
	    "Eric", "ÉRIC", "zulu", "Mike", "mike", "delta", "Charlie", "eric",
	    "Straße", "strasse", "omega", "Alpha" };
	const size_t	 nn = sizeof(names) / sizeof(names[0]);
	struct pano_viewer v = { A, NULL, 0 };
	struct pano	*all, *pg;
	size_t		 nall, n, i, seen = 0;
	char		*after = NULL;
	long long	 after_id = 0;

	for (i = 0; i < nn; i++)
		mkpano(f, names[i], A);
	assert_int_equal(pano_list(f->tdb, &v, NULL, NULL, 0, PANO_PAGE_MAX,
	    &all, &nall), ERR_OK);
	assert_int_equal(nall, nn);
	assert_string_equal(all[0].name, "Alpha");
	assert_string_equal(all[nall - 1].name, "zulu");
	/* Pages of 3: the same rows in the same order, none twice. */
	for (;;) {
		assert_int_equal(pano_list(f->tdb, &v, NULL, after, after_id, 3,
		    &pg, &n), ERR_OK);
		if (n == 0) {
			free(pg);
			break;
		}
		for (i = 0; i < n; i++) {
			assert_true(seen < nall);
			assert_int_equal(pg[i].id, all[seen].id);
			seen++;
		}
		free(after);
		after = strdup(pg[n - 1].name);
		after_id = pg[n - 1].id;
		pano_list_free(pg, n);
	}
	assert_int_equal(seen, nall);
	free(after);
	pano_list_free(all, nall);
	/* The query is folded: case and ß do not count, accents do. */
	assert_listed(f, &v, "ERIC", ",Eric,eric,");
	assert_listed(f, &v, "Éric", ",éric,ÉRIC,");
	assert_listed(f, &v, "STRASSE", ",strasse,Straße,");
	assert_listed(f, &v, "nothing", ",");
}

static void
test_add_places_in_order(void **state)
{
	struct fx_tenant *f = *state;
	long long	 id, n1, n2, fa, n3;
	long long	 issues[3] = { 7, 8, 9 };
	struct pano_action a = { PANO_OP_ADD, 0, 0, 0, issues, 3, NULL };
	struct pano_result r;
	struct pano_batch b;
	cJSON		*w;
	const cJSON	*act;

	id = mkpano(f, "tree", A);
	n1 = add_issue(f, id, 0, 0, 1);
	assert_int_equal(version_of(f, id), 2);
	/* after 0: the first place. */
	n2 = add_issue(f, id, 0, 0, 2);
	assert_shape(f, id, "i2 i1");
	/* after X: right after it. */
	fa = add_folder(f, id, 0, n2, "F");
	assert_shape(f, id, "i2 F i1");
	n3 = add_issue(f, id, fa, 0, 3);
	add_issue(f, id, fa, n3, 4);
	add_issue(f, id, fa, 0, 5);
	assert_shape(f, id, "i2 F .i5 .i3 .i4 i1");
	/* Several in one action keep their order; an id may repeat. */
	a.parent = fa;
	a.after = n3;
	assert_int_equal(apply(f, id, A, &a, 1, &r), ERR_OK);
	assert_int_equal(r.nadded, 3);
	assert_int_equal(r.version, version_of(f, id));
	pano_result_free(&r);
	issues[0] = 1;
	a.parent = 0;
	a.after = n1;
	assert_int_equal(apply(f, id, A, &a, 1, &r), ERR_OK);
	assert_shape(f, id, "i2 F .i5 .i3 .i7 .i8 .i9 .i4 i1 i1 i8 i9");
	assert_int_equal(nodes_of(f, id), 12);
	/* The history: ids and counts only. */
	w = newest(f, id, &b);
	assert_string_equal(b.kind, "batch");
	assert_string_equal(b.actor, A);
	assert_int_equal(b.version, version_of(f, id));
	assert_int_equal(b.undone, 0);
	act = cJSON_GetArrayItem(member(w, "actions"), 0);
	assert_string_equal(member(act, "op")->valuestring, "add");
	assert_string_equal(member(act, "parent")->valuestring, "0");
	assert_int_equal(cJSON_GetArraySize(member(act, "nodes")), 3);
	assert_string_equal(cJSON_GetArrayItem(member(act, "issueIds"),
	    0)->valuestring, "1");
	assert_int_equal(member(act, "count")->valueint, 3);
	pano_result_free(&r);
	cJSON_Delete(w);
	free(b.actor);
	free(b.kind);
	free(b.what);

	/* Rename: folders only. */
	a.op = PANO_OP_RENAME;
	a.node = fa;
	a.title = "G";
	assert_int_equal(apply(f, id, A, &a, 1, &r), ERR_OK);
	assert_shape(f, id, "i2 G .i5 .i3 .i7 .i8 .i9 .i4 i1 i1 i8 i9");
	a.node = n1;
	assert_int_equal(apply(f, id, A, &a, 1, &r), ERR_UNPROCESSABLE);
	assert_int_equal(r.fault, PANO_FAULT_NOT_FOLDER);
	assert_string_equal(pano_fault_code(r.fault), "not_folder");
}

/* Adding again and again right after one node: gaps run out, renumbered. */
static void
test_add_renumbers_when_gap_is_used_up(void **state)
{
	struct fx_tenant *f = *state;
	long long	 id, x, i;
	char		*s;

	id = mkpano(f, "tight", A);
	x = add_issue(f, id, 0, 0, 1);
	add_issue(f, id, 0, x, 1000);
	/* 38 places in one gap of 2^32: past 32, the level renumbers. */
	for (i = 2; i <= 40; i++)
		add_issue(f, id, 0, x, i);
	s = shape(f, id);
	assert_non_null(strstr(s, "i1 i40 i39 i38"));
	assert_non_null(strstr(s, "i3 i2 i1000"));
	free(s);
}

static void
test_move_places_in_order(void **state)
{
	struct fx_tenant *f = *state;
	long long	 id, n1, n2, n3, fa, fb;

	id = mkpano(f, "moves", A);
	n1 = add_issue(f, id, 0, 0, 1);
	n2 = add_issue(f, id, 0, n1, 2);
	n3 = add_issue(f, id, 0, n2, 3);
	fa = add_folder(f, id, 0, n3, "F");
	fb = add_folder(f, id, fa, 0, "G");
	assert_shape(f, id, "i1 i2 i3 F .G");
	assert_int_equal(move(f, id, A, n1, 0, n3), ERR_OK);
	assert_shape(f, id, "i2 i3 i1 F .G");
	assert_int_equal(move(f, id, A, n1, 0, 0), ERR_OK);
	assert_shape(f, id, "i1 i2 i3 F .G");
	/* Into a folder, with what it holds. */
	assert_int_equal(move(f, id, A, n2, fb, 0), ERR_OK);
	assert_int_equal(move(f, id, A, n3, fb, n2), ERR_OK);
	assert_shape(f, id, "i1 F .G ..i2 ..i3");
	assert_int_equal(move(f, id, A, fb, 0, 0), ERR_OK);
	assert_shape(f, id, "G .i2 .i3 i1 F");
	/* To where it already is, and after itself: the same order. */
	assert_int_equal(move(f, id, A, n1, 0, fb), ERR_OK);
	assert_int_equal(move(f, id, A, n1, 0, n1), ERR_OK);
	assert_shape(f, id, "G .i2 .i3 i1 F");
	assert_int_equal(nodes_of(f, id), 5);
}

static void
test_refused_batch_changes_nothing(void **state)
{
	struct fx_tenant *f = *state;
	long long	 id, other, fa, fb, fc, n1, v;
	long long	 issue = 42;
	struct pano_action acts[3];
	struct pano_result r;
	size_t		 hist;
	char		*before;

	id = mkpano(f, "atomic", A);
	other = mkpano(f, "other", A);
	fa = add_folder(f, id, 0, 0, "A");
	fb = add_folder(f, id, fa, 0, "B");
	fc = add_folder(f, id, fb, 0, "C");
	n1 = add_issue(f, id, 0, fa, 1);
	before = shape(f, id);
	v = version_of(f, id);
	hist = history_len(f, id);

	/* Two good actions, then A under its own grandchild. */
	memset(acts, 0, sizeof(acts));
	acts[0] = (struct pano_action){ PANO_OP_ADD, 0, fc, 0, &issue, 1,
	    NULL };
	acts[1] = (struct pano_action){ PANO_OP_MOVE, n1, fb, 0, NULL, 0,
	    NULL };
	acts[2] = (struct pano_action){ PANO_OP_MOVE, fa, fc, 0, NULL, 0,
	    NULL };
	assert_int_equal(apply(f, id, A, acts, 3, &r), ERR_UNPROCESSABLE);
	assert_int_equal(r.index, 2);
	assert_int_equal(r.fault, PANO_FAULT_CYCLE);
	assert_int_equal(r.nadded, 0);
	assert_int_equal(version_of(f, id), v);
	assert_int_equal(nodes_of(f, id), 4);
	assert_int_equal(history_len(f, id), hist);
	assert_shape(f, id, before);
	/* Under itself. */
	acts[2].parent = fa;
	assert_int_equal(apply(f, id, A, acts, 3, &r), ERR_UNPROCESSABLE);
	assert_int_equal(r.fault, PANO_FAULT_CYCLE);

	/* Unknown node, a parent of another panorama, a stray after. */
	acts[2] = (struct pano_action){ PANO_OP_REMOVE, 999999, 0, 0, NULL, 0,
	    NULL };
	assert_int_equal(apply(f, id, A, acts, 3, &r), ERR_UNPROCESSABLE);
	assert_int_equal(r.index, 2);
	assert_int_equal(r.fault, PANO_FAULT_NODE);
	assert_string_equal(pano_fault_code(r.fault), "node_unknown");
	acts[2] = (struct pano_action){ PANO_OP_RENAME, 999999, 0, 0, NULL, 0,
	    "x" };
	assert_int_equal(apply(f, id, A, acts, 3, &r), ERR_UNPROCESSABLE);
	assert_int_equal(r.fault, PANO_FAULT_NODE);
	acts[1].parent = add_folder(f, other, 0, 0, "elsewhere");
	assert_int_equal(apply(f, id, A, acts, 2, &r), ERR_UNPROCESSABLE);
	assert_int_equal(r.index, 1);
	assert_int_equal(r.fault, PANO_FAULT_PARENT);
	acts[0].parent = acts[1].parent;
	assert_int_equal(apply(f, id, A, acts, 1, &r), ERR_UNPROCESSABLE);
	assert_int_equal(r.index, 0);
	assert_int_equal(r.fault, PANO_FAULT_PARENT);
	/* after must be a child of parent. */
	acts[0] = (struct pano_action){ PANO_OP_ADD, 0, fa, n1, &issue, 1,
	    NULL };
	assert_int_equal(apply(f, id, A, acts, 1, &r), ERR_UNPROCESSABLE);
	assert_int_equal(r.fault, PANO_FAULT_AFTER);
	acts[0] = (struct pano_action){ PANO_OP_MOVE, n1, 0, fb, NULL, 0,
	    NULL };
	assert_int_equal(apply(f, id, A, acts, 1, &r), ERR_UNPROCESSABLE);
	assert_int_equal(r.fault, PANO_FAULT_AFTER);
	/* The node's own id is not a panorama's. */
	acts[0] = (struct pano_action){ PANO_OP_MOVE, n1, 0, 0, NULL, 0,
	    NULL };
	assert_int_equal(pano_apply(f->tdb, other, version_of(f, other), A,
	    acts, 1, &lim, NOW, &r), ERR_UNPROCESSABLE);
	assert_int_equal(r.fault, PANO_FAULT_NODE);
	assert_int_equal(version_of(f, id), v);
	assert_shape(f, id, before);
	free(before);

	/* Stale version, missing panorama, too many actions. */
	assert_int_equal(pano_apply(f->tdb, id, v - 1, A, acts, 1, &lim, NOW,
	    &r), ERR_CONFLICT);
	assert_int_equal(r.version, v);
	assert_int_equal(pano_apply(f->tdb, 999999, 1, A, acts, 1, &lim, NOW,
	    &r), ERR_NOT_FOUND);
	assert_int_equal(pano_apply(f->tdb, id, v, A, acts,
	    PANO_ACTIONS_MAX + 1, &lim, NOW, &r), ERR_LIMIT_ACTIONS);
	/* An empty batch changes nothing. */
	assert_int_equal(pano_apply(f->tdb, id, v, A, acts, 0, &lim, NOW, &r),
	    ERR_OK);
	assert_int_equal(r.version, v);
	assert_int_equal(version_of(f, id), v);
}

static void
test_node_limit(void **state)
{
	struct fx_tenant *f = *state;
	const struct pano_limits five = { 5, 10, 0 };
	long long	 issues[3] = { 1, 2, 3 }, id;
	struct pano_action acts[3] = {
		{ PANO_OP_ADD, 0, 0, 0, issues, 3, NULL },
		{ PANO_OP_ADD, 0, 0, 0, issues, 2, NULL },
		{ PANO_OP_ADD, 0, 0, 0, issues, 1, NULL },
	};
	struct pano_result r;

	id = mkpano(f, "small", A);
	assert_int_equal(pano_apply(f->tdb, id, 1, A, acts, 1, &five, NOW,
	    &r), ERR_OK);
	pano_result_free(&r);
	/* 3 + 2 = 5 fits; one more is past the limit: action 2. */
	assert_int_equal(pano_apply(f->tdb, id, 2, A, acts + 1, 2, &five, NOW,
	    &r), ERR_LIMIT_NODES);
	assert_int_equal(r.index, 1);
	assert_int_equal(r.nadded, 0);
	assert_int_equal(nodes_of(f, id), 3);
	assert_int_equal(version_of(f, id), 2);
	checked(f, id);
	assert_int_equal(pano_apply(f->tdb, id, 2, A, acts + 1, 1, &five, NOW,
	    &r), ERR_OK);
	assert_int_equal(nodes_of(f, id), 5);
	/* At the limit, a remove first makes room. */
	acts[0] = (struct pano_action){ PANO_OP_REMOVE, r.added[0], 0, 0, NULL,
	    0, NULL };
	pano_result_free(&r);
	assert_int_equal(pano_apply(f->tdb, id, 3, A, acts, 2, &five, NOW,
	    &r), ERR_LIMIT_NODES);
	assert_int_equal(r.index, 1);
	acts[1].nissues = 1;
	assert_int_equal(pano_apply(f->tdb, id, 3, A, acts, 2, &five, NOW,
	    &r), ERR_OK);
	assert_int_equal(nodes_of(f, id), 5);
	pano_result_free(&r);
	checked(f, id);
}

/* An sqlite3_exec callback for a query that must return no row. */
static int
fail_row(void *arg, int n, char **v, char **names)
{
	(void)arg;
	(void)n;
	(void)v;
	(void)names;
	fail_msg("a row that must not be there");
	return 1;
}

static void
test_same_issue_in_many_places(void **state)
{
	struct fx_tenant *f = *state;
	struct pano_viewer a = { A, NULL, 0 }, b = { B, NULL, 0 };
	long long	 p1, p2, p3, *ids;
	struct pano	*ps;
	size_t		 n;

	p1 = mkpano(f, "one", A);
	p2 = mkpano(f, "two", A);
	p3 = mkpano(f, "three", B);
	add_issue(f, p1, 0, 0, 10001);
	add_issue(f, p1, 0, 0, 10001);
	add_issue(f, p2, 0, 0, 10001);
	add_issue(f, p3, 0, 0, 10001);
	add_issue(f, p3, 0, 0, 5);
	assert_shape(f, p1, "i10001 i10001");
	assert_int_equal(pano_list_with_issue(f->tdb, &a, 10001, &ps, &n),
	    ERR_OK);
	assert_int_equal(n, 2);
	assert_int_equal(ps[0].id, p1);
	assert_int_equal(ps[1].id, p2);
	pano_list_free(ps, n);
	assert_int_equal(pano_list_with_issue(f->tdb, &b, 10001, &ps, &n),
	    ERR_OK);
	assert_int_equal(n, 1);
	assert_int_equal(ps[0].id, p3);
	pano_list_free(ps, n);
	assert_int_equal(pano_list_with_issue(f->tdb, &a, 5, &ps, &n), ERR_OK);
	assert_int_equal(n, 0);
	free(ps);
	assert_int_equal(pano_issue_ids(f->tdb, &ids, &n), ERR_OK);
	assert_int_equal(n, 2);
	assert_int_equal(ids[0], 5);
	assert_int_equal(ids[1], 10001);
	free(ids);
	/* A deleted panorama takes its nodes and history with it. */
	assert_int_equal(pano_delete(f->tdb, p3, version_of(f, p3)), ERR_OK);
	assert_int_equal(pano_issue_ids(f->tdb, &ids, &n), ERR_OK);
	assert_int_equal(n, 1);
	assert_int_equal(ids[0], 10001);
	free(ids);
	assert_int_equal(history_len(f, p3), 0);
	assert_int_equal(sqlite3_exec(tenantdb_sqlite(f->tdb), "SELECT 1 FROM "
	    "pano_undo u WHERE NOT EXISTS (SELECT 1 FROM pano_history h WHERE "
	    "h.id = u.batch_id)", fail_row, NULL, NULL), SQLITE_OK);
}

static void
test_issue_deleted_lifts_children(void **state)
{
	struct fx_tenant *f = *state;
	long long	 p1, p2, fa, x, x2, n1, i, v2;
	size_t		 removed, h1, h2;
	struct pano_batch b;
	cJSON		*w;
	const cJSON	*act;
	char		*s;

	p1 = mkpano(f, "one", A);
	p2 = mkpano(f, "two", A);
	fa = add_folder(f, p1, 0, 0, "F");
	n1 = add_issue(f, p1, fa, 0, 1);
	x = add_issue(f, p1, fa, n1, 777);
	add_issue(f, p1, fa, x, 2);
	add_issue(f, p1, x, 0, 11);
	add_issue(f, p1, x, 0, 10);
	x2 = add_issue(f, p1, x, 0, 777);
	add_issue(f, p1, x2, 0, 12);
	add_issue(f, p1, x, x2, 13);
	assert_shape(f, p1, "F .i1 .i777 ..i777 ...i12 ..i13 ..i10 ..i11 .i2");
	/*
	 * In the other, at the top, with the gap after it used up (32
	 * halvings of 2^32): lifting its two children renumbers.
	 */
	x = add_issue(f, p2, 0, 0, 777);
	add_issue(f, p2, 0, x, 99);
	for (i = 0; i < 32; i++)
		add_issue(f, p2, 0, x, 50 + i);
	add_issue(f, p2, x, 0, 3);
	add_issue(f, p2, x, 0, 4);
	v2 = version_of(f, p2);
	h1 = history_len(f, p1);
	h2 = history_len(f, p2);

	assert_int_equal(pano_issue_deleted(f->tdb, 777, NOW + 9, &removed),
	    ERR_OK);
	assert_int_equal(removed, 3);
	checked(f, p1);
	checked(f, p2);
	assert_shape(f, p1, "F .i1 .i12 .i13 .i10 .i11 .i2");
	s = shape(f, p2);
	assert_string_equal(s, "i4 i3 i81 i80 i79 i78 i77 i76 i75 i74 i73 i72 "
	    "i71 i70 i69 i68 i67 i66 i65 i64 i63 i62 i61 i60 i59 i58 i57 i56 "
	    "i55 i54 i53 i52 i51 i50 i99");
	free(s);
	assert_int_equal(version_of(f, p2), v2 + 1);
	assert_int_equal(nodes_of(f, p1), 7);
	assert_int_equal(history_len(f, p1), h1 + 1);
	w = newest(f, p1, &b);
	assert_null(b.actor);
	assert_string_equal(b.kind, "system");
	assert_int_equal(b.at, NOW + 9);
	act = cJSON_GetArrayItem(member(w, "actions"), 0);
	assert_string_equal(member(act, "op")->valuestring, "issueDeleted");
	assert_string_equal(member(act, "issueId")->valuestring, "777");
	assert_int_equal(member(act, "count")->valueint, 2);
	cJSON_Delete(w);
	free(b.kind);
	free(b.what);

	/* Again: nothing to do, nothing written. */
	assert_int_equal(pano_issue_deleted(f->tdb, 777, NOW + 10, &removed),
	    ERR_OK);
	assert_int_equal(removed, 0);
	assert_int_equal(version_of(f, p2), v2 + 1);
	assert_int_equal(history_len(f, p2), h2 + 1);
	assert_int_equal(pano_issue_deleted(f->tdb, 12345, NOW, NULL), ERR_OK);
}

/* The ids of the tree's rows in pre-order, as a string. */
static char *
ids_of(struct fx_tenant *f, long long id)
{
	struct buf	 b = BUF_INIT(0);
	struct pano_row	*rows;
	size_t		 n, i;
	long long	 v;

	assert_int_equal(pano_tree(f->tdb, id, &v, &rows, &n), ERR_OK);
	buf_add(&b, "", 0);
	for (i = 0; i < n; i++)
		buf_addf(&b, "%lld/%lld/%lld ", rows[i].node, rows[i].parent,
		    rows[i].depth);
	pano_rows_free(rows, n);
	return buf_finish(&b, NULL);
}

static void
test_undo_own_latest_batch(void **state)
{
	struct fx_tenant *f = *state;
	long long	 id, fa, fb, n1, v, got;
	struct pano_batch *h;
	size_t		 n;
	char		*before, *after;

	id = mkpano(f, "undo", A);
	fa = add_folder(f, id, 0, 0, "F");
	fb = add_folder(f, id, fa, 0, "G");
	add_issue(f, id, fb, 0, 1);
	add_issue(f, id, fb, 0, 2);
	n1 = add_issue(f, id, fa, fb, 3);
	add_issue(f, id, 0, fa, 4);
	before = ids_of(f, id);

	/* A remove of a subtree comes back with its ids and order. */
	assert_int_equal(remove_node(f, id, A, fa), ERR_OK);
	assert_shape(f, id, "i4");
	v = version_of(f, id);
	assert_int_equal(pano_undo(f->tdb, id, A, &lim, NOW + 1, &got), ERR_OK);
	assert_int_equal(got, v + 1);
	checked(f, id);
	after = ids_of(f, id);
	assert_string_equal(after, before);
	free(after);
	assert_int_equal(nodes_of(f, id), 6);
	assert_int_equal(pano_history(f->tdb, id, 0, 2, &h, &n), ERR_OK);
	assert_int_equal(n, 2);
	assert_string_equal(h[0].kind, "undo");
	assert_int_equal(h[0].undo_of, h[1].id);
	assert_int_equal(h[1].undone, 1);
	assert_int_equal(h[0].version, got);
	pano_history_free(h, n);

	/* The next undo takes the batch before: the add of i4. */
	assert_int_equal(pano_undo(f->tdb, id, A, &lim, NOW + 2, &got), ERR_OK);
	checked(f, id);
	assert_shape(f, id, "F .G ..i2 ..i1 .i3");

	/* A move comes back to its place. */
	assert_int_equal(move(f, id, A, n1, 0, 0), ERR_OK);
	assert_shape(f, id, "i3 F .G ..i2 ..i1");
	assert_int_equal(pano_undo(f->tdb, id, A, &lim, NOW + 3, &got), ERR_OK);
	checked(f, id);
	assert_shape(f, id, "F .G ..i2 ..i1 .i3");
	/* Then every add, back to the empty tree, then nothing to undo. */
	while (pano_undo(f->tdb, id, A, &lim, NOW + 4, &got) == ERR_OK)
		checked(f, id);
	assert_shape(f, id, "");
	assert_int_equal(nodes_of(f, id), 0);
	assert_int_equal(pano_undo(f->tdb, id, A, &lim, NOW, &got),
	    ERR_NOT_FOUND);
	assert_int_equal(got, version_of(f, id));
	assert_int_equal(pano_undo(f->tdb, 999999, A, &lim, NOW, &got),
	    ERR_NOT_FOUND);
	free(before);
}

static void
test_undo_blocked_by_later_batch(void **state)
{
	struct fx_tenant *f = *state;
	long long	 id, fa, fb, n1, n2, v, got;
	size_t		 removed;

	id = mkpano(f, "shared", A);
	fa = add_folder(f, id, 0, 0, "F");
	fb = add_folder(f, id, 0, fa, "G");
	n1 = add_issue(f, id, fa, 0, 1);
	/* B moves A's new node: A may not undo its add. */
	assert_int_equal(move(f, id, B, n1, fb, 0), ERR_OK);
	v = version_of(f, id);
	assert_int_equal(pano_undo(f->tdb, id, A, &lim, NOW, &got),
	    ERR_CONFLICT);
	assert_int_equal(got, v);
	assert_int_equal(version_of(f, id), v);
	assert_shape(f, id, "F G .i1");
	/* Once B undid its move, A's undo goes through. */
	assert_int_equal(pano_undo(f->tdb, id, B, &lim, NOW, &got), ERR_OK);
	assert_shape(f, id, "F .i1 G");
	assert_int_equal(pano_undo(f->tdb, id, A, &lim, NOW, &got), ERR_OK);
	assert_shape(f, id, "F G");
	checked(f, id);

	/* A later add under the same parent blocks too. */
	n2 = add_issue(f, id, fb, 0, 2);
	add_issue(f, id, fb, n2, 3);
	add_as(f, id, B, fb, 0, 4);
	assert_int_equal(pano_undo(f->tdb, id, A, &lim, NOW, &got),
	    ERR_CONFLICT);
	/* So does the system's deleting an issue. */
	assert_int_equal(pano_undo(f->tdb, id, B, &lim, NOW, &got), ERR_OK);
	assert_int_equal(pano_issue_deleted(f->tdb, 3, NOW, &removed), ERR_OK);
	assert_int_equal(removed, 1);
	assert_int_equal(pano_undo(f->tdb, id, A, &lim, NOW, &got),
	    ERR_CONFLICT);
	checked(f, id);
}

static void
test_undo_only_ones_own(void **state)
{
	struct fx_tenant *f = *state;
	long long	 id, got, v, fa, fb;

	id = mkpano(f, "mine", A);
	add_issue(f, id, 0, 0, 1);
	v = version_of(f, id);
	/* B has no batch: nothing to undo; A's stays. */
	assert_int_equal(pano_undo(f->tdb, id, B, &lim, NOW, &got),
	    ERR_NOT_FOUND);
	assert_int_equal(pano_undo(f->tdb, id, NULL, &lim, NOW, &got),
	    ERR_NOT_FOUND);
	assert_int_equal(version_of(f, id), v);
	/* B's own older batch is B's to undo, A's newer one is not. */
	fa = add_folder(f, id, 0, 0, "F");
	fb = add_folder(f, id, 0, 0, "G");
	add_as(f, id, B, fb, 0, 3);
	add_issue(f, id, fa, 0, 2);
	assert_shape(f, id, "G .i3 F .i2 i1");
	assert_int_equal(pano_undo(f->tdb, id, B, &lim, NOW, &got), ERR_OK);
	assert_shape(f, id, "G F .i2 i1");
	checked(f, id);
}

/*
 * A chain 20000 deep: imported, read, moved (each cycle check walks the
 * whole chain), removed, and put back by an undo.
 */
static void
test_deep_tree(void **state)
{
	struct fx_tenant *f = *state;
	const struct pano_limits big = { PANO_NODES_HARD, 10, 0 };
	const size_t	 depth = 20000;
	struct pano_row	*in, *rows;
	struct pano	 p;
	size_t		 i, n, bad;
	long long	 id, v, got, root, mid, deepest;
	double		 t;

	assert_non_null(in = calloc(depth, sizeof(*in)));
	for (i = 0; i < depth; i++) {
		in[i].depth = (long long)i;
		in[i].kind = PANO_ISSUE;
		in[i].issue = (long long)i + 1;
	}
	memset(&p, 0, sizeof(p));
	p.name = strdup("deep");
	p.owner = strdup(A);
	t = secs();
	assert_int_equal(pano_import(f->tdb, &p, in, depth, &big, NOW, &bad),
	    ERR_OK);
	printf("# import of a %zu-deep chain: %.1f ms\n", depth,
	    (secs() - t) * 1e3);
	id = p.id;
	pano_free(&p);
	free(in);
	checked(f, id);
	t = secs();
	assert_int_equal(pano_tree(f->tdb, id, &v, &rows, &n), ERR_OK);
	printf("# pano_tree of it: %.1f ms\n", (secs() - t) * 1e3);
	assert_int_equal(n, depth);
	assert_int_equal(rows[depth - 1].depth, depth - 1);
	root = rows[0].node;
	mid = rows[depth / 2].node;
	deepest = rows[depth - 1].node;
	pano_rows_free(rows, n);

	t = secs();
	assert_int_equal(move(f, id, A, root, deepest, 0), ERR_UNPROCESSABLE);
	printf("# a refused move under the deepest node: %.1f ms\n",
	    (secs() - t) * 1e3);
	t = secs();
	assert_int_equal(move(f, id, A, deepest, mid, 0), ERR_OK);
	printf("# a move under the middle node: %.1f ms\n",
	    (secs() - t) * 1e3);
	assert_int_equal(move(f, id, A, mid, 0, root), ERR_OK);
	assert_int_equal(pano_tree(f->tdb, id, &v, &rows, &n), ERR_OK);
	assert_int_equal(n, depth);
	assert_int_equal(rows[depth / 2].depth, 0);
	pano_rows_free(rows, n);
	t = secs();
	assert_int_equal(remove_node(f, id, A, root), ERR_OK);
	printf("# remove of a %zu-deep subtree: %.1f ms\n", depth / 2,
	    (secs() - t) * 1e3);
	assert_int_equal(nodes_of(f, id), (long long)(depth - depth / 2));
	t = secs();
	assert_int_equal(pano_undo(f->tdb, id, A, &big, NOW, &got), ERR_OK);
	printf("# its undo: %.1f ms\n", (secs() - t) * 1e3);
	checked(f, id);
	assert_int_equal(nodes_of(f, id), (long long)depth);
	assert_int_equal(remove_node(f, id, A, mid), ERR_OK);
	assert_int_equal(remove_node(f, id, A, root), ERR_OK);
	assert_int_equal(nodes_of(f, id), 0);
}

/*
 * 10000 nodes of random shape: read back in the order they were
 * imported; a one-move batch costs little.
 */
static void
test_big_tree_preorder(void **state)
{
	struct fx_tenant *f = *state;
	const size_t	 total = 10000;
	struct pano_row	*in, *rows;
	struct pano	 p;
	struct pano_action a = { PANO_OP_MOVE, 0, 0, 0, NULL, 0, NULL };
	struct pano_result r;
	size_t		 i, n, bad, reps = 200;
	long long	 id, v;
	unsigned int	 seed = 7;
	double		 t;

	assert_non_null(in = calloc(total, sizeof(*in)));
	for (i = 0; i < total; i++) {
		seed = seed * 1103515245 + 12345;
		in[i].depth = i == 0 ? 0 : in[i - 1].depth + 1 -
		    (long long)((seed >> 16) % 3);
		if (in[i].depth < 0)
			in[i].depth = 0;
		if (seed & 0x100) {
			in[i].kind = PANO_FOLDER;
			in[i].title = (char *)(uintptr_t)"f";
		} else {
			in[i].kind = PANO_ISSUE;
			in[i].issue = (long long)(seed >> 8) % 100000 + 1;
		}
	}
	memset(&p, 0, sizeof(p));
	p.name = strdup("big");
	p.owner = strdup(A);
	assert_int_equal(pano_import(f->tdb, &p, in, total, &lim, NOW, &bad),
	    ERR_OK);
	id = p.id;
	assert_int_equal(p.nodes, (long long)total);
	pano_free(&p);
	checked(f, id);
	t = secs();
	assert_int_equal(pano_tree(f->tdb, id, &v, &rows, &n), ERR_OK);
	printf("# pano_tree of %zu nodes: %.2f ms\n", total,
	    (secs() - t) * 1e3);
	assert_int_equal(n, total);
	for (i = 0; i < total; i++) {
		assert_int_equal(rows[i].depth, in[i].depth);
		assert_int_equal(rows[i].kind, in[i].kind);
		if (in[i].kind == PANO_ISSUE)
			assert_int_equal(rows[i].issue, in[i].issue);
		else
			assert_string_equal(rows[i].title, "f");
	}
	/* Move the last node to the top and back, reps times. */
	a.node = rows[n - 1].node;
	t = secs();
	for (i = 0; i < reps; i++) {
		a.parent = i % 2 ? rows[n - 1].parent : 0;
		assert_int_equal(pano_apply(f->tdb, id, v + (long long)i, A, &a,
		    1, &lim, NOW, &r), ERR_OK);
	}
	printf("# a one-move batch on %zu nodes: %.3f ms\n", total,
	    (secs() - t) * 1e3 / (double)reps);
	pano_rows_free(rows, n);
	free(in);
	checked(f, id);
}

static void
test_history_pages(void **state)
{
	struct fx_tenant *f = *state;
	struct pano_batch *h;
	size_t		 n, seen = 0, i;
	long long	 id, before = 0, last = 0;

	id = mkpano(f, "hist", A);
	for (i = 0; i < 12; i++)
		add_issue(f, id, 0, 0, (long long)i + 1);
	for (;;) {
		assert_int_equal(pano_history(f->tdb, id, before, 5, &h, &n),
		    ERR_OK);
		if (n == 0) {
			free(h);
			break;
		}
		for (i = 0; i < n; i++) {
			if (last != 0)
				assert_true(h[i].id < last);
			last = h[i].id;
			seen++;
		}
		assert_int_equal(h[0].version, version_of(f, id) -
		    (long long)(seen - n));
		before = h[n - 1].id;
		pano_history_free(h, n);
	}
	assert_int_equal(seen, 12);
}

static void
test_history_keeps_the_newest(void **state)
{
	struct fx_tenant *f = *state;
	struct pano_batch *h;
	size_t		 n, i;
	long long	 id;

	id = mkpano(f, "long", A);
	for (i = 0; i < PANO_HISTORY_KEEP + 5; i++)
		add_issue(f, id, 0, 0, 1);
	assert_int_equal(history_len(f, id), PANO_HISTORY_KEEP);
	assert_int_equal(pano_history(f->tdb, id, 0, 1, &h, &n), ERR_OK);
	assert_int_equal(h[0].version, version_of(f, id));
	pano_history_free(h, n);
}

static void
test_import_rows(void **state)
{
	struct fx_tenant *f = *state;
	const struct pano_limits three = { 3, 10, 0 };
	struct pano_row	 rows[4] = {
		{ 0, 0, 0, PANO_FOLDER, 0, (char *)(uintptr_t)"Top" },
		{ 0, 0, 1, PANO_ISSUE, 10001, NULL },
		{ 0, 0, 2, PANO_ISSUE, 10002, NULL },
		{ 0, 0, 1, PANO_ISSUE, 10003, NULL },
	};
	struct pano	 p;
	struct pano_batch b;
	long long	 got;
	size_t		 bad;
	cJSON		*w;

	memset(&p, 0, sizeof(p));
	p.name = strdup("imported");
	p.owner = strdup(A);
	rows[2].depth = 3;
	assert_int_equal(pano_import(f->tdb, &p, rows, 4, &lim, NOW, &bad),
	    ERR_UNPROCESSABLE);
	assert_int_equal(bad, 2);
	rows[2].depth = 2;
	rows[0].depth = 1;
	assert_int_equal(pano_import(f->tdb, &p, rows, 4, &lim, NOW, &bad),
	    ERR_UNPROCESSABLE);
	assert_int_equal(bad, 0);
	rows[0].depth = 0;
	rows[3].issue = 0;
	assert_int_equal(pano_import(f->tdb, &p, rows, 4, &lim, NOW, &bad),
	    ERR_UNPROCESSABLE);
	assert_int_equal(bad, 3);
	rows[3].issue = 10003;
	assert_int_equal(pano_import(f->tdb, &p, rows, 4, &three, NOW, &bad),
	    ERR_LIMIT_NODES);
	assert_int_equal(pano_import(f->tdb, &p, rows, 4, &lim, NOW, &bad),
	    ERR_OK);
	assert_int_equal(p.version, 1);
	assert_int_equal(p.nodes, 4);
	checked(f, p.id);
	assert_shape(f, p.id, "Top .i10001 ..i10002 .i10003");
	w = newest(f, p.id, &b);
	assert_string_equal(b.actor, A);
	assert_int_equal(b.version, 1);
	assert_string_equal(member(cJSON_GetArrayItem(member(w, "actions"),
	    0), "op")->valuestring, "import");
	cJSON_Delete(w);
	free(b.actor);
	free(b.kind);
	free(b.what);
	/* The owner's undo of an import empties it. */
	assert_int_equal(pano_undo(f->tdb, p.id, A, &lim, NOW, &got), ERR_OK);
	assert_int_equal(got, 2);
	assert_shape(f, p.id, "");
	checked(f, p.id);
	pano_free(&p);
}

/* History lists are capped; counts are true; never a title. */
static void
test_history_caps_lists(void **state)
{
	struct fx_tenant *f = *state;
	long long	 issues[150], id, fa;
	struct pano_action a = { PANO_OP_ADD, 0, 0, 0, issues, 150, NULL };
	struct pano_result r;
	struct pano_batch b;
	size_t		 i;
	cJSON		*w;
	const cJSON	*act;

	for (i = 0; i < 150; i++)
		issues[i] = 20000 + (long long)i;
	id = mkpano(f, "caps", A);
	assert_int_equal(apply(f, id, A, &a, 1, &r), ERR_OK);
	assert_int_equal(r.nadded, 150);
	pano_result_free(&r);
	w = newest(f, id, &b);
	act = cJSON_GetArrayItem(member(w, "actions"), 0);
	assert_int_equal(member(act, "count")->valueint, 150);
	assert_int_equal(cJSON_GetArraySize(member(act, "nodes")), 20);
	assert_int_equal(cJSON_GetArraySize(member(act, "issueIds")), 20);
	cJSON_Delete(w);
	free(b.actor);
	free(b.kind);
	free(b.what);

	fa = add_folder(f, id, 0, 0, "Secret plans");
	a.parent = fa;
	assert_int_equal(apply(f, id, A, &a, 1, &r), ERR_OK);
	pano_result_free(&r);
	assert_int_equal(remove_node(f, id, A, fa), ERR_OK);
	w = newest(f, id, &b);
	act = cJSON_GetArrayItem(member(w, "actions"), 0);
	assert_string_equal(member(act, "op")->valuestring, "remove");
	assert_int_equal(strtoll(member(act, "node")->valuestring, NULL, 10),
	    fa);
	assert_int_equal(member(act, "count")->valueint, 151);
	assert_int_equal(cJSON_GetArraySize(member(act, "issueIds")), 20);
	assert_null(strstr(b.what, "Secret"));
	cJSON_Delete(w);
	free(b.actor);
	free(b.kind);
	free(b.what);
	assert_int_equal(nodes_of(f, id), 150);
}

static void
broken(struct fx_tenant *f, const char *sql, const char *want, long long id)
{
	const char	*why = NULL;

	assert_int_equal(sqlite3_exec(tenantdb_sqlite(f->tdb), sql, NULL, NULL,
	    NULL), SQLITE_OK);
	assert_int_equal(pano_check(f->tdb, id, &why), -1);
	assert_string_equal(why, want);
}

static void
test_check_finds_broken_trees(void **state)
{
	struct fx_tenant *f = *state;
	long long	 id, fa, fb, fc;
	char		 sql[256];
	const char	*why;

	id = mkpano(f, "broken", A);
	fa = add_folder(f, id, 0, 0, "A");
	fb = add_folder(f, id, fa, 0, "B");
	fc = add_folder(f, id, fb, 0, "C");
	add_folder(f, id, fb, fc, "D");
	assert_int_equal(pano_check(f->tdb, id, &why), 0);
	assert_null(why);
	(void)snprintf(sql, sizeof(sql), "UPDATE pano_nodes SET parent_id = "
	    "%lld WHERE id = %lld", fc, fa);
	broken(f, sql, "cycle", id);
	(void)snprintf(sql, sizeof(sql), "UPDATE pano_nodes SET parent_id = "
	    "999999 WHERE id = %lld", fa);
	broken(f, sql, "parent_missing", id);
	(void)snprintf(sql, sizeof(sql), "UPDATE pano_nodes SET parent_id = 0 "
	    "WHERE id = %lld", fa);
	assert_int_equal(sqlite3_exec(tenantdb_sqlite(f->tdb), sql, NULL, NULL,
	    NULL), SQLITE_OK);
	assert_int_equal(pano_check(f->tdb, id, &why), 0);
	(void)snprintf(sql, sizeof(sql), "UPDATE pano_nodes SET pos = (SELECT "
	    "pos FROM pano_nodes WHERE id = %lld) WHERE id = %lld", fc, fc + 1);
	broken(f, sql, "position_shared", id);
	(void)snprintf(sql, sizeof(sql), "UPDATE pano_nodes SET pos = pos + 1 "
	    "WHERE id = %lld", fc + 1);
	assert_int_equal(sqlite3_exec(tenantdb_sqlite(f->tdb), sql, NULL, NULL,
	    NULL), SQLITE_OK);
	assert_int_equal(pano_check(f->tdb, id, &why), 0);
	(void)snprintf(sql, sizeof(sql), "UPDATE panoramas SET nodes = 3 "
	    "WHERE id = %lld", id);
	broken(f, sql, "count_wrong", id);
}

/*
 * A batch still applying when its time is up is refused whole: nginx
 * would have told its client it failed, so nothing of it may land.
 */
static void
test_slow_batch_is_refused_whole(void **state)
{
	struct fx_tenant *f = *state;
	const struct pano_limits quick = { PANO_NODES_DEFAULT,
	    PANO_PER_TENANT_DEFAULT, 1 };
	struct pano_action *acts;
	struct pano_result r;
	long long	 id, v, issues[PANO_ACTIONS_MAX];
	size_t		 i;

	id = mkpano(f, "slow", A);
	add_issue(f, id, 0, 0, 1);
	v = version_of(f, id);
	assert_non_null(acts = calloc(PANO_ACTIONS_MAX, sizeof(*acts)));
	for (i = 0; i < PANO_ACTIONS_MAX; i++) {
		issues[i] = 100 + (long long)i;
		acts[i].op = PANO_OP_ADD;
		acts[i].issues = &issues[i];
		acts[i].nissues = 1;
	}
	assert_int_equal(pano_apply(f->tdb, id, v, A, acts, PANO_ACTIONS_MAX,
	    &quick, NOW, &r), ERR_LIMIT_TIME);
	assert_true(r.index < PANO_ACTIONS_MAX);
	pano_result_free(&r);
	assert_int_equal(version_of(f, id), v);
	assert_int_equal(nodes_of(f, id), 1);
	checked(f, id);
	/* The same batch with the usual time goes through. */
	assert_int_equal(pano_apply(f->tdb, id, v, A, acts, PANO_ACTIONS_MAX,
	    &lim, NOW, &r), ERR_OK);
	pano_result_free(&r);
	assert_int_equal(nodes_of(f, id), 1 + PANO_ACTIONS_MAX);
	free(acts);
}

/*
 * A batch's history lists its first 50 actions and counts the rest: a
 * batch of 1,000 actions must not make a history row of megabytes.
 */
static void
test_history_lists_at_most_50_actions(void **state)
{
	struct fx_tenant *f = *state;
	struct pano_action acts[150];
	struct pano_result r;
	struct pano_batch b;
	long long	 id, issues[150];
	size_t		 i;
	cJSON		*w;

	id = mkpano(f, "many", A);
	memset(acts, 0, sizeof(acts));
	for (i = 0; i < 150; i++) {
		issues[i] = 500 + (long long)i;
		acts[i].op = PANO_OP_ADD;
		acts[i].issues = &issues[i];
		acts[i].nissues = 1;
	}
	assert_int_equal(apply(f, id, A, acts, 150, &r), ERR_OK);
	pano_result_free(&r);
	w = newest(f, id, &b);
	assert_int_equal(cJSON_GetArraySize(member(w, "actions")), 50);
	assert_int_equal(member(w, "more")->valueint, 100);
	cJSON_Delete(w);
	free(b.actor);
	free(b.kind);
	free(b.what);
	/* Fewer than 50 actions: no "more". */
	assert_int_equal(apply(f, id, A, acts, 2, &r), ERR_OK);
	pano_result_free(&r);
	w = newest(f, id, &b);
	assert_int_equal(cJSON_GetArraySize(member(w, "actions")), 2);
	assert_null(cJSON_GetObjectItemCaseSensitive(w, "more"));
	cJSON_Delete(w);
	free(b.actor);
	free(b.kind);
	free(b.what);
}

/*
 * Undo rows are kept up to PANO_UNDO_KEEP per panorama: adding and
 * removing big subtrees over and over keeps them bounded, the latest
 * batches stay undoable and the oldest answer "too old" (conflict),
 * their history kept.
 */
static void
test_undo_rows_are_bounded(void **state)
{
	struct fx_tenant *f = *state;
	long long	*issues, id, fa, v, rows = 0;
	size_t		 i, k, n = PANO_ADD_MAX, before;
	struct pano_action a = { PANO_OP_ADD, 0, 0, 0, NULL, 0, NULL };
	struct pano_result r;
	sqlite3_stmt	*s;

	assert_non_null(issues = calloc(n, sizeof(*issues)));
	for (i = 0; i < n; i++)
		issues[i] = 30000 + (long long)i;
	a.issues = issues;
	a.nissues = n;
	id = mkpano(f, "churn", A);
	/* B's batch, in a folder nothing after it touches: undoable but
	 * for its age. */
	fa = add_folder(f, id, 0, 0, "G");
	add_as(f, id, B, fa, 0, 1);
	/* A folder, 1,000 issues in it, the folder removed: 25 times. */
	for (k = 0; k < 25; k++) {
		fa = add_folder(f, id, 0, 0, "F");
		a.parent = fa;
		assert_int_equal(apply(f, id, A, &a, 1, &r), ERR_OK);
		pano_result_free(&r);
		assert_int_equal(remove_node(f, id, A, fa), ERR_OK);
	}
	assert_int_equal(sqlite3_prepare_v2(tenantdb_sqlite(f->tdb),
	    "SELECT count(*) FROM pano_undo", -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	rows = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	/* 25 rounds wrote about 50,000; at most the budget is kept. */
	assert_true(rows > 0 && rows <= PANO_UNDO_KEEP);
	before = history_len(f, id);
	v = version_of(f, id);
	assert_int_equal(pano_undo(f->tdb, id, B, &lim, NOW, &v),
	    ERR_CONFLICT);
	assert_int_equal(history_len(f, id), before);
	/* A's latest (the last remove) comes back whole. */
	assert_int_equal(pano_undo(f->tdb, id, A, &lim, NOW, &v), ERR_OK);
	checked(f, id);
	assert_int_equal(nodes_of(f, id), 3 + (long long)n);
	free(issues);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_slow_batch_is_refused_whole),
		TEST(test_history_lists_at_most_50_actions),
		TEST(test_undo_rows_are_bounded),
		TEST(test_versions_guard_changes),
		TEST(test_list_visibility),
		TEST(test_list_pages_by_name),
		TEST(test_add_places_in_order),
		TEST(test_add_renumbers_when_gap_is_used_up),
		TEST(test_move_places_in_order),
		TEST(test_refused_batch_changes_nothing),
		TEST(test_node_limit),
		TEST(test_same_issue_in_many_places),
		TEST(test_issue_deleted_lifts_children),
		TEST(test_undo_own_latest_batch),
		TEST(test_undo_blocked_by_later_batch),
		TEST(test_undo_only_ones_own),
		TEST(test_deep_tree),
		TEST(test_big_tree_preorder),
		TEST(test_history_pages),
		TEST(test_history_keeps_the_newest),
		TEST(test_import_rows),
		TEST(test_history_caps_lists),
		TEST(test_check_finds_broken_trees),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
