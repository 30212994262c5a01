/*
 * Kept panorama trees; see tree_cache.h.  A few slots, least recently
 * used out first, and a bound on the rows they hold together, so a
 * worker keeps at most about 2 MiB of trees (a row is 48 bytes plus a
 * folder's title).  A tree larger than the bound is read and served
 * but not kept.
 */
#include <stdlib.h>
#include <string.h>

#include "cellar/pano.h"
#include "cellar/registry.h"
#include "cellar/tenantdb.h"
#include "fcgi.h"
#include "tree_cache.h"

static struct tree_slot {
	char		 tenant[TENANT_ID_LEN + 1];
	long long	 holds;
	long long	 pano;
	long long	 version;
	struct pano_row	*rows;
	size_t		 n;
	unsigned long	 used;
	int		 live;
} slots[TREE_CACHE_SLOTS];
static unsigned long tree_clock;

static void
slot_free(struct tree_slot *s)
{
	if (s->live)
		pano_rows_free(s->rows, s->n);
	memset(s, 0, sizeof(*s));
}

void
tree_cache_clear(void)
{
	size_t	 i;

	for (i = 0; i < TREE_CACHE_SLOTS; i++)
		slot_free(&slots[i]);
}

/* Rows the live slots hold. */
static size_t
kept_rows(void)
{
	size_t	 i, n = 0;

	for (i = 0; i < TREE_CACHE_SLOTS; i++)
		if (slots[i].live)
			n += slots[i].n;
	return n;
}

/* The least recently used live slot, or NULL. */
static struct tree_slot *
oldest(void)
{
	struct tree_slot *o = NULL;
	size_t	 i;

	for (i = 0; i < TREE_CACHE_SLOTS; i++)
		if (slots[i].live && (o == NULL || slots[i].used < o->used))
			o = &slots[i];
	return o;
}

enum err
tree_cache_get(struct req *r, struct tenantdb *tdb, const struct pano *p,
    const struct pano_row **rows, size_t *n, long long *version)
{
	static struct pano_row *uncached;
	static size_t	 nuncached;
	struct tree_slot *s = NULL;
	struct pano_row	*got = NULL;
	long long	 holds = tenantdb_holds(tdb), v;
	size_t		 i, cnt = 0;
	enum err	 e;

	/* A tree too big to keep lives until the next call. */
	pano_rows_free(uncached, nuncached);
	uncached = NULL;
	nuncached = 0;
	for (i = 0; i < TREE_CACHE_SLOTS; i++) {
		s = &slots[i];
		if (s->live && s->pano == p->id && s->version == p->version &&
		    s->holds == holds && strcmp(s->tenant, r->tenant->id) == 0)
			break;
	}
	if (i < TREE_CACHE_SLOTS) {
		s->used = ++tree_clock;
		*rows = s->rows;
		*n = s->n;
		*version = s->version;
		return ERR_OK;
	}
	if ((e = pano_tree(tdb, p->id, &v, &got, &cnt)) != ERR_OK)
		return e;
	*rows = got;
	*n = cnt;
	*version = v;
	if (cnt > TREE_CACHE_ROWS) {
		uncached = got;
		nuncached = cnt;
		return ERR_OK;
	}
	/* Room: an empty slot, else the oldest; then within the bound. */
	for (s = NULL, i = 0; i < TREE_CACHE_SLOTS && s == NULL; i++)
		if (!slots[i].live)
			s = &slots[i];
	if (s == NULL)
		slot_free(s = oldest());
	while (kept_rows() + cnt > TREE_CACHE_ROWS)
		slot_free(oldest());
	memcpy(s->tenant, r->tenant->id, sizeof(s->tenant));
	s->holds = holds;
	s->pano = p->id;
	s->version = v;
	s->rows = got;
	s->n = cnt;
	s->used = ++tree_clock;
	s->live = 1;
	return ERR_OK;
}
