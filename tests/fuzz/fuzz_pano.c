/* libFuzzer: random batches of actions (valid and invalid node ids,
 * parents, afters and issue ids from a small set), undos by two actors
 * and deleted issues against one panorama in a real tenant file.  After
 * every call the tree's invariants hold (pano_check), a refused call
 * changed neither the version nor the node count, and an undo right
 * after one's own batch gives back exactly the tree before it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "cellar/buf.h"
#include "cellar/pano.h"
#include "cellar/tenantdb.h"
#include "fixture.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define OPS_MAX		64	/* calls per input */
#define NODES_KEEP	400	/* the panorama is made anew past this */
#define ACTS_MAX	16	/* actions per batch */

static struct fx_tenant	 fx;
static long long	 pano_id, other_id, other_node;
static const char *const actors[2] = { "acct-a", "acct-b" };
static const long long	 issue_set[6] = { 10001, 10002, 10003, 10004,
    10005, PANO_ID_MAX };
static const char *const titles[4] = { "A", "Bee", "Zürich", "x y" };

/* The input, read a byte at a time (zeros once it runs out). */
struct in {
	const uint8_t	*p;
	size_t		 n;
};

/* The tree as last read: its version, shape (as text) and nodes. */
struct view {
	long long	 version;
	char		*shape;
	long long	*node;
	long long	*parent;
	size_t		 n;
};

static unsigned int
byte(struct in *in)
{
	if (in->n == 0)
		return 0;
	in->n--;
	return *in->p++;
}

static void
cleanup(void)
{
	fx_tenant_teardown(&fx);
}

static long long
make(const char *name)
{
	const struct pano_limits lim = { PANO_NODES_HARD, 1000, 0 };
	struct pano	 p;
	long long	 id;

	memset(&p, 0, sizeof(p));
	p.name = strdup(name);
	p.owner = strdup(actors[0]);
	if (p.name == NULL || p.owner == NULL ||
	    pano_create(fx.tdb, &p, 1, &lim) != ERR_OK)
		abort();
	id = p.id;
	pano_free(&p);
	return id;
}

static void
state(long long id, long long *version, long long *nodes)
{
	struct pano	 p;

	if (pano_get(fx.tdb, id, &p) != ERR_OK)
		abort();
	*version = p.version;
	*nodes = p.nodes;
	pano_free(&p);
}

static void
checked(long long id)
{
	const char	*why;

	if (pano_check(fx.tdb, id, &why) != 0) {
		fprintf(stderr, "pano_check: %s\n", why);
		abort();
	}
}

static void
view_free(struct view *w)
{
	free(w->shape);
	free(w->node);
	free(w->parent);
	memset(w, 0, sizeof(*w));
}

/* Reads the tree into w: each row's node, depth and issue or title. */
static void
view_read(struct view *w)
{
	struct buf	 b = BUF_INIT(0);
	struct pano_row	*rows;
	size_t		 i;

	view_free(w);
	if (pano_tree(fx.tdb, pano_id, &w->version, &rows, &w->n) != ERR_OK ||
	    (w->node = calloc(w->n + 1, sizeof(*w->node))) == NULL ||
	    (w->parent = calloc(w->n + 1, sizeof(*w->parent))) == NULL)
		abort();
	buf_add(&b, "", 0);
	for (i = 0; i < w->n; i++) {
		w->node[i] = rows[i].node;
		w->parent[i] = rows[i].parent;
		if (rows[i].kind == PANO_ISSUE)
			buf_addf(&b, "%lld/%lld/i%lld ", rows[i].node,
			    rows[i].depth, rows[i].issue);
		else
			buf_addf(&b, "%lld/%lld/%s ", rows[i].node,
			    rows[i].depth, rows[i].title);
	}
	pano_rows_free(rows, w->n);
	if ((w->shape = buf_finish(&b, NULL)) == NULL)
		abort();
}

/* A node id: mostly one of the tree's, sometimes 0 or one that is not. */
static long long
pick(struct in *in, const struct view *w)
{
	unsigned int	 c = byte(in);

	if (c < 224 && w->n > 0)
		return w->node[(c * 7 + byte(in)) % w->n];
	switch (c % 5) {
	case 0:
		return 0;
	case 1:
		return other_node;		/* another panorama's */
	case 2:
		return -(long long)c;
	case 3:
		return w->n > 0 ? w->node[w->n - 1] + 1 + c % 3 : 1;
	default:
		return PANO_ID_MAX;
	}
}

/* An after for parent: mostly 0 or one of its children. */
static long long
pick_after(struct in *in, const struct view *w, long long parent)
{
	unsigned int	 c = byte(in), k = 0;
	size_t		 i;

	if (c % 4 == 0)
		return 0;
	if (c % 4 == 1)
		return pick(in, w);
	for (i = 0; i < w->n; i++)
		k += w->parent[i] == parent;
	if (k == 0)
		return 0;
	k = byte(in) % k;
	for (i = 0; i < w->n; i++)
		if (w->parent[i] == parent && k-- == 0)
			return w->node[i];
	return 0;
}

/*
 * The first call sets up one tenant file with two panoramas: the one
 * fuzzed and another holding one folder (a parent of another panorama).
 */
static void
setup(void)
{
	const struct pano_limits lim = { PANO_NODES_HARD, 1000, 0 };
	struct pano_action a = { PANO_OP_ADD_FOLDER, 0, 0, 0, NULL, 0,
	    "elsewhere" };
	struct pano_result res;

	fx_tenant_setup(&fx, NULL);
	if (sqlite3_exec(tenantdb_sqlite(fx.tdb), "PRAGMA synchronous=OFF",
	    NULL, NULL, NULL) != SQLITE_OK)
		abort();
	atexit(cleanup);
	other_id = make("other");
	if (pano_apply(fx.tdb, other_id, 1, actors[0], &a, 1, &lim, 1,
	    &res) != ERR_OK)
		abort();
	other_node = res.added[0];
	pano_result_free(&res);
	pano_id = make("fuzzed");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static long long issues[ACTS_MAX][4];
	struct pano_action acts[ACTS_MAX];
	struct pano_limits lim = { PANO_NODES_HARD, 1000, 0 };
	struct pano_result res;
	struct in	 in = { data, size };
	struct view	 w, after;
	char		*undoable = NULL;
	const char	*undo_actor = NULL;
	long long	 v0, n0, v1, n1, got;
	size_t		 k, j, nact, removed;
	unsigned int	 op, c;
	enum err	 e;
	int		 ops, stale;

	if (fx.tdb == NULL)
		setup();
	memset(&w, 0, sizeof(w));
	memset(&after, 0, sizeof(after));
	for (ops = 0; ops < OPS_MAX && in.n > 0; ops++) {
		state(pano_id, &v0, &n0);
		if (n0 > NODES_KEEP) {
			if (pano_delete(fx.tdb, pano_id, v0) != ERR_OK)
				abort();
			pano_id = make("fuzzed");
			free(undoable);
			undoable = NULL;
			view_free(&w);
			continue;
		}
		if (w.shape == NULL || w.version != v0)
			view_read(&w);
		op = byte(&in);
		stale = (op >> 3) % 8 == 7;
		lim.nodes_max = op >> 6 == 3 ? n0 + 3 : PANO_NODES_HARD;
		switch (op % 8) {
		case 5:
		case 6:
			/* An undo by one of the two. */
			c = byte(&in) & 1;
			if (undoable != NULL && undo_actor == actors[c])
				lim.nodes_max = PANO_NODES_HARD;
			e = pano_undo(fx.tdb, pano_id, actors[c], &lim, 2,
			    &got);
			checked(pano_id);
			state(pano_id, &v1, &n1);
			if (e == ERR_OK) {
				if (got != v0 + 1 || v1 != v0 + 1)
					abort();
			} else if (v1 != v0 || n1 != n0 || got != v0)
				abort();
			if (undoable != NULL && undo_actor == actors[c]) {
				/* Right after its own batch: exactly back. */
				if (e != ERR_OK)
					abort();
				view_read(&after);
				if (strcmp(after.shape, undoable) != 0)
					abort();
				view_free(&after);
			}
			break;
		case 7:
			/* Jira deleted an issue (none in the other one). */
			e = pano_issue_deleted(fx.tdb,
			    issue_set[byte(&in) % 6], 3, &removed);
			checked(pano_id);
			checked(other_id);
			state(pano_id, &v1, &n1);
			if (e != ERR_OK || n1 > n0 ||
			    (n1 == n0) != (v1 == v0) ||
			    (v1 != v0 && v1 != v0 + 1) ||
			    removed != (size_t)(n0 - n1))
				abort();
			break;
		default:
			/* A batch of actions by one of the two. */
			c = byte(&in) & 1;
			nact = byte(&in) % ACTS_MAX;
			memset(acts, 0, sizeof(acts));
			for (k = 0; k < nact; k++) {
				struct pano_action *a = &acts[k];

				a->op = (enum pano_op)(byte(&in) %
				    PANO_OP__MAX);
				a->node = pick(&in, &w);
				a->parent = byte(&in) % 3 == 0 ? 0 :
				    pick(&in, &w);
				a->after = pick_after(&in, &w, a->parent);
				a->title = titles[byte(&in) % 4];
				a->nissues = 1 + byte(&in) % 4;
				for (j = 0; j < a->nissues; j++)
					issues[k][j] = issue_set[byte(&in) % 6];
				a->issues = issues[k];
			}
			e = pano_apply(fx.tdb, pano_id, stale ? v0 - 1 : v0,
			    actors[c], acts, nact, &lim, 4, &res);
			checked(pano_id);
			state(pano_id, &v1, &n1);
			if (e == ERR_OK) {
				if (v1 != (nact > 0 ? v0 + 1 : v0) ||
				    res.version != v1 || stale)
					abort();
				for (k = j = 0; k < nact; k++)
					j += acts[k].op == PANO_OP_ADD ?
					    acts[k].nissues :
					    acts[k].op == PANO_OP_ADD_FOLDER;
				if (res.nadded != j)
					abort();
			} else if (v1 != v0 || n1 != n0 || res.nadded != 0 ||
			    ((e == ERR_UNPROCESSABLE || e == ERR_LIMIT_NODES) &&
			    res.index >= nact) || (stale && e != ERR_CONFLICT))
				abort();
			pano_result_free(&res);
			free(undoable);
			undoable = NULL;
			if (e == ERR_OK && nact > 0) {
				/* The tree before it, for an undo next. */
				undoable = w.shape;
				w.shape = NULL;
				undo_actor = actors[c];
			}
			continue;
		}
		free(undoable);
		undoable = NULL;
	}
	free(undoable);
	view_free(&w);
	return 0;
}
