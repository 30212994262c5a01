/*
 * The worker's pool of tenant handles; see pool.h.
 */
#include <string.h>

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

/* A free slot, or the least recently used one after closing it. */
static struct pool_slot *
pool_take(const struct tenant *t)
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
	tenantdb_close(s->tdb);
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
		s = pool_take(t);
		s->tdb = tdb;
	}
	s->used = ++pool_clock;
	*out = s->tdb;
	return ERR_OK;
}

void
pool_drop(const char *id)
{
	size_t	 i;

	for (i = 0; i < POOL_SIZE; i++)
		if (slots[i].tdb != NULL &&
		    strcmp(tenantdb_id(slots[i].tdb), id) == 0) {
			tenantdb_close(slots[i].tdb);
			memset(&slots[i], 0, sizeof(slots[i]));
		}
}

void
pool_clear(void)
{
	size_t	 i;

	for (i = 0; i < POOL_SIZE; i++) {
		tenantdb_close(slots[i].tdb);
		memset(&slots[i], 0, sizeof(slots[i]));
	}
}
