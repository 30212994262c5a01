/*
 * The worker's pool of tenant handles; see pool.h.
 */
#include <string.h>

#include "cellar/db.h"
#include "cellar/log.h"
#include "cellar/registry.h"
#include "cellar/tenantdb.h"
#include "pool.h"

static struct pool_slot {
	struct tenantdb	*tdb;
	unsigned long	 used;		/* pool_clock when last handed out */
} slots[POOL_SIZE];
static unsigned long pool_clock;
/*
 * The POOL_WARM slots handed out last, most recent first: they keep
 * their page caches and statements; a slot that falls out of this list
 * is made small (tenantdb_release_memory).
 */
static struct pool_slot *warm[POOL_WARM];
static size_t	 nwarm;
/* A handle was abandoned: this process ends after its request. */
static int	 exit_wanted;

/* The slot holding a handle of tenant id, whatever its version. */
static struct pool_slot *
pool_find(const char *id)
{
	size_t	 i;

	for (i = 0; i < POOL_SIZE; i++)
		if (slots[i].tdb != NULL &&
		    strcmp(tenantdb_id(slots[i].tdb), id) == 0)
			return &slots[i];
	return NULL;
}

/* Takes s out of the warm list, if it is there. */
static void
warm_remove(struct pool_slot *s)
{
	size_t	 i;

	for (i = 0; i < nwarm; i++)
		if (warm[i] == s) {
			memmove(&warm[i], &warm[i + 1], (nwarm - i - 1) *
			    sizeof(warm[0]));
			nwarm--;
			return;
		}
}

/* Puts s first in the warm list; the slot that falls out is shrunk. */
static void
warm_touch(struct pool_slot *s)
{
	if (nwarm > 0 && warm[0] == s)
		return;
	warm_remove(s);
	if (nwarm == POOL_WARM) {
		tenantdb_release_memory(warm[POOL_WARM - 1]->tdb);
		nwarm--;
	}
	memmove(&warm[1], &warm[0], nwarm * sizeof(warm[0]));
	warm[0] = s;
	nwarm++;
}

/*
 * Never closed, and the process ends after its request: its connection
 * stays on the file (and SQLite shares a file's -shm between all the
 * connections of a process), so no later open here may trust it.
 */
static void
pool_abandon(struct pool_slot *s)
{
	warm_remove(s);
	tenantdb_abandon(s->tdb);
	memset(s, 0, sizeof(*s));
	exit_wanted = 1;
}

/*
 * Lets go of a slot: closed, unless its tenant is held now, or was held
 * since the handle was opened (its file may have been restored), or the
 * registry cannot say: then abandoned, so that closing never checkpoints
 * a -wal into a damaged or replaced file.
 */
static void
pool_release(struct registry *reg, struct pool_slot *s)
{
	struct tenant	 t;
	int		 keep_open;

	if (s->tdb == NULL)
		return;
	warm_remove(s);
	memset(&t, 0, sizeof(t));
	keep_open = reg == NULL ||
	    registry_get(reg, tenantdb_id(s->tdb), &t) != ERR_OK ||
	    t.quarantined_at != 0 || t.holds != tenantdb_holds(s->tdb);
	registry_tenant_free(&t);
	if (keep_open)
		pool_abandon(s);
	else {
		tenantdb_close(s->tdb);
		memset(s, 0, sizeof(*s));
	}
}

/* A free slot, or the least recently used one after letting it go. */
static struct pool_slot *
pool_take(struct registry *reg)
{
	struct pool_slot *s = &slots[0];
	size_t	 i;

	for (i = 0; i < POOL_SIZE; i++)
		if (slots[i].tdb == NULL || slots[i].used < s->used)
			s = &slots[i];
	pool_release(reg, s);
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
	if ((s = pool_find(t->id)) != NULL) {
		if (tenantdb_holds(s->tdb) != t->holds) {
			/*
			 * Opened before a hold (another worker found the
			 * file damaged; it may have been restored and
			 * released since): never used again, and not
			 * opened anew in this process either.
			 */
			log_msg(LOGL_WARN, rid, "reason=handle_predates_hold "
			    "tenant=%s", t->id);
			pool_abandon(s);
			return ERR_UNAVAILABLE;
		}
		if (tenantdb_key_version(s->tdb) != t->dek_version) {
			/* Rekeyed since: the old handle goes first. */
			pool_release(reg, s);
			s = NULL;
		}
	}
	if (s == NULL) {
		if ((e = tenantdb_open(reg, t, rid, &tdb)) != ERR_OK)
			return e;
		s = pool_take(reg);
		s->tdb = tdb;
	}
	s->used = ++pool_clock;
	warm_touch(s);
	*out = s->tdb;
	return ERR_OK;
}

void
pool_quarantine(const char *id)
{
	struct pool_slot *s;

	while ((s = pool_find(id)) != NULL)
		pool_abandon(s);
}

void
pool_clear(struct registry *reg)
{
	size_t	 i;

	for (i = 0; i < POOL_SIZE; i++)
		pool_release(reg, &slots[i]);
}

int
pool_exit_wanted(void)
{
	/* db_open abandons a damaged file it refuses, with no handle. */
	return exit_wanted || db_abandoned() > 0;
}
