/*
 * The worker's pool of tenant handles; see pool.h.
 */
#include <string.h>

#include "cellar/log.h"
#include "cellar/registry.h"
#include "cellar/tenantdb.h"
#include "pool.h"

static struct pool_slot {
	struct tenantdb	*tdb;
	unsigned long	 used;		/* pool_clock when last handed out */
} slots[POOL_SIZE];
static unsigned long pool_clock;

/* The slot holding t's file under its current key version, or NULL. */
static struct pool_slot *
pool_find(const struct tenant *t)
{
	size_t	 i;

	for (i = 0; i < POOL_SIZE; i++)
		if (slots[i].tdb != NULL &&
		    tenantdb_key_version(slots[i].tdb) == t->dek_version &&
		    strcmp(tenantdb_id(slots[i].tdb), t->id) == 0)
			return &slots[i];
	return NULL;
}

/*
 * Lets go of a handle: closed, unless its tenant is quarantined (by this
 * worker or another), or the registry cannot say: then abandoned, so
 * that closing never checkpoints a -wal into a damaged file.
 */
static void
pool_release(struct registry *reg, struct tenantdb *tdb)
{
	struct tenant	 t;
	int		 held;

	if (tdb == NULL)
		return;
	memset(&t, 0, sizeof(t));
	held = reg == NULL ||
	    registry_get(reg, tenantdb_id(tdb), &t) != ERR_OK ||
	    t.quarantined_at != 0;
	registry_tenant_free(&t);
	if (held)
		tenantdb_abandon(tdb);
	else
		tenantdb_close(tdb);
}

/* A free slot, or the least recently used one after letting it go. */
static struct pool_slot *
pool_take(struct registry *reg, const struct tenant *t)
{
	struct pool_slot *s = &slots[0];
	size_t	 i;

	for (i = 0; i < POOL_SIZE; i++) {
		/* An older key version of the same tenant goes first. */
		if (slots[i].tdb != NULL &&
		    strcmp(tenantdb_id(slots[i].tdb), t->id) == 0) {
			s = &slots[i];
			break;
		}
		if (slots[i].tdb == NULL || slots[i].used < s->used)
			s = &slots[i];
	}
	pool_release(reg, s->tdb);
	memset(s, 0, sizeof(*s));
	return s;
}

enum err
pool_tenantdb(struct registry *reg, const struct tenant *t, const char *rid,
    struct tenantdb **out)
{
	struct pool_slot *s;
	struct tenantdb	*tdb;
	enum err	 e;

	*out = NULL;
	if ((s = pool_find(t)) == NULL) {
		if ((e = tenantdb_open(reg, t, rid, &tdb)) != ERR_OK)
			return e;
		s = pool_take(reg, t);
		s->tdb = tdb;
	}
	s->used = ++pool_clock;
	*out = s->tdb;
	return ERR_OK;
}

void
pool_quarantine(const char *id)
{
	size_t	 i;

	for (i = 0; i < POOL_SIZE; i++)
		if (slots[i].tdb != NULL &&
		    strcmp(tenantdb_id(slots[i].tdb), id) == 0) {
			tenantdb_abandon(slots[i].tdb);
			memset(&slots[i], 0, sizeof(slots[i]));
		}
}

void
pool_clear(struct registry *reg)
{
	size_t	 i;

	for (i = 0; i < POOL_SIZE; i++) {
		pool_release(reg, slots[i].tdb);
		memset(&slots[i], 0, sizeof(slots[i]));
	}
}
