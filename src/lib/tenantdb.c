/*
 * Tenant database handles; see tenantdb.h.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "cellar/db.h"
#include "cellar/keys.h"
#include "cellar/log.h"
#include "cellar/registry.h"
#include "cellar/tenantdb.h"

struct tenantdb {
	sqlite3		*db;
	struct registry	*reg;		/* for tenantdb_tx's check */
	char		 id[TENANT_ID_LEN + 1];
	int		 key_version;
	long long	 holds;		/* the tenant's holds at open */
	sqlite3_stmt	*stmts[TDB__MAX][TENANTDB_STMTS];
	struct tenantdb	*prev, *next;	/* this process's open handles */
};

/*
 * This process's open handles.  SQLite cannot tell a connection that a
 * file is open elsewhere in the same process when it asks for an
 * exclusive lock (POSIX locks are per process), so leaving WAL mode
 * (db_open) is only tried on a file no handle of ours has open.
 */
static struct tenantdb	*open_handles;

static void
list_add(struct tenantdb *h)
{
	h->prev = NULL;
	h->next = open_handles;
	if (open_handles != NULL)
		open_handles->prev = h;
	open_handles = h;
}

static void
list_remove(struct tenantdb *h)
{
	if (h->prev != NULL)
		h->prev->next = h->next;
	else if (open_handles == h)
		open_handles = h->next;
	if (h->next != NULL)
		h->next->prev = h->prev;
	h->prev = h->next = NULL;
}

/* 1 if this process may have tenant id's file of version open. */
static int
open_here(const char *id, int version)
{
	const struct tenantdb *h;

	/* An abandoned connection is still open, and no longer listed. */
	if (db_abandoned() > 0)
		return 1;
	for (h = open_handles; h != NULL; h = h->next)
		if (h->key_version == version && strcmp(h->id, id) == 0)
			return 1;
	return 0;
}

/* The data key being used by tenantdb_open (sodium_malloc'd once). */
static unsigned char	*dek_buf;

/*
 * The file must name its owner: a swapped file is refused.  1 if it
 * names id, 0 if it names another or no one, -1 if the name could not
 * be read (a damaged page).
 */
static int
owner_ok(sqlite3 *db, const char *id)
{
	sqlite3_stmt	*st = NULL;
	const char	*owner;
	int		 rc, ok = -1;

	if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = "
	    "'tenant_id'", -1, &st, NULL) == SQLITE_OK) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			ok = (owner = (const char *)sqlite3_column_text(st,
			    0)) != NULL && strcmp(owner, id) == 0;
		else if (rc == SQLITE_DONE)
			ok = 0;
	}
	sqlite3_finalize(st);
	return ok;
}

/*
 * What a file that does not open means: under the key the registry holds
 * for it, a wrong key (or a damaged first page), a damaged page or a
 * missing file is damage to hold for an operator; a full disk is a 503
 * that passes.
 */
static enum err
open_err(enum db_status ds)
{
	switch (ds) {
	case DB_WRONG_KEY:
	case DB_MISSING:
	case DB_CORRUPT:
		return ERR_QUARANTINED;
	case DB_FULL:
		return ERR_STORAGE_FULL;
	case DB_BUSY:
		return ERR_UNAVAILABLE;
	default:
		return ERR_INTERNAL;
	}
}

enum err
tenantdb_open(struct registry *reg, const struct tenant *t, const char *rid,
    struct tenantdb **out)
{
	struct tenantdb	*h = NULL;
	unsigned char	*dek = NULL;
	sqlite3		*db = NULL;
	char		*path = NULL;
	long long	 created;
	enum db_status	 ds;
	enum err	 e = ERR_INTERNAL;
	int		 version, master, owned;

	*out = NULL;
	/* Guarded memory taken once per process, wiped after each open. */
	if (dek_buf == NULL && (dek_buf = sodium_malloc(KEY_BYTES)) == NULL)
		return ERR_INTERNAL;
	dek = dek_buf;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		goto out;
	if (registry_dek(reg, t->id, dek, &version, &master, &created) ==
	    -1) {
		log_msg(LOGL_ERR, rid, "reason=dek_unwrap_failed tenant=%s",
		    t->id);
		goto out;
	}
	/* The file of the current key: a rotation writes a new one. */
	if ((path = registry_tenant_path(reg, t->id, version)) == NULL)
		goto out;
	if ((ds = db_open(path, dek, DB_ROLLBACK | (open_here(t->id,
	    version) ? DB_KEEP_MODE : 0), db_tenant_migrations,
	    db_tenant_nmigrations, &db)) != DB_OK) {
		log_msg(LOGL_ERR, rid, "reason=tenant_open_failed tenant=%s "
		    "status=%s", t->id, db_status_code(ds));
		e = open_err(ds);
		goto out;
	}
	if ((owned = owner_ok(db, t->id)) != 1) {
		if (owned == 0)
			log_msg(LOGL_ERR, rid, "reason=tenant_file_owner "
			    "tenant=%s", t->id);
		else
			log_msg(LOGL_ERR, rid, "reason=tenant_open_failed "
			    "tenant=%s status=%s", t->id,
			    db_status_code(DB_CORRUPT));
		e = ERR_QUARANTINED;
		/* Another's file: closing would checkpoint into it. */
		db_abandon(db);
		db = NULL;
		goto out;
	}
	memcpy(h->id, t->id, sizeof(h->id));
	h->key_version = version;
	h->reg = reg;
	h->holds = t->holds;
	h->db = db;
	db = NULL;
	list_add(h);
	*out = h;
	h = NULL;
	e = ERR_OK;
out:
	db_close(db);
	free(h);
	sodium_memzero(dek, KEY_BYTES);
	free(path);
	return e;
}

static void
finalize_all(struct tenantdb *h)
{
	size_t	 s, i;

	for (s = 0; s < TDB__MAX; s++)
		for (i = 0; i < TENANTDB_STMTS; i++) {
			sqlite3_finalize(h->stmts[s][i]);
			h->stmts[s][i] = NULL;
		}
}

void
tenantdb_close(struct tenantdb *h)
{
	if (h == NULL)
		return;
	list_remove(h);
	finalize_all(h);
	db_close(h->db);
	free(h);
}

void
tenantdb_abandon(struct tenantdb *h)
{
	if (h == NULL)
		return;
	list_remove(h);
	finalize_all(h);
	db_abandon(h->db);
	free(h);
}

sqlite3 *
tenantdb_sqlite(const struct tenantdb *h)
{
	return h->db;
}

const char *
tenantdb_id(const struct tenantdb *h)
{
	return h->id;
}

int
tenantdb_encrypted(const struct tenantdb *h)
{
	static const char plain[16] = "SQLite format 3";
	char		 head[16];

	if (db_file_head(h->db, head, sizeof(head)) == -1)
		return -1;
	return memcmp(head, plain, sizeof(head)) != 0;
}

long long
tenantdb_holds(const struct tenantdb *h)
{
	return h->holds;
}

int
tenantdb_key_version(const struct tenantdb *h)
{
	return h->key_version;
}

sqlite3_stmt *
tenantdb_stmt(struct tenantdb *h, enum tenantdb_store s, int i,
    const char *sql)
{
	sqlite3_stmt	**slot;

	if (s >= TDB__MAX || i < 0 || i >= TENANTDB_STMTS)
		return NULL;
	slot = &h->stmts[s][i];
	if (*slot == NULL && sqlite3_prepare_v2(h->db, sql, -1, slot, NULL) !=
	    SQLITE_OK) {
		sqlite3_finalize(*slot);
		*slot = NULL;
	}
	return *slot;
}

void
tenantdb_release_memory(struct tenantdb *h)
{
	finalize_all(h);
	(void)sqlite3_db_release_memory(h->db);
}

int
tenantdb_check(struct tenantdb *h)
{
	sqlite3_stmt	*st = NULL;
	const char	*v;
	int		 ok;

	/* Reads every page: SQLCipher checks each one's HMAC as it does. */
	ok = sqlite3_prepare_v2(h->db, "PRAGMA integrity_check", -1, &st,
	    NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW &&
	    (v = (const char *)sqlite3_column_text(st, 0)) != NULL &&
	    strcmp(v, "ok") == 0 && sqlite3_step(st) == SQLITE_DONE;
	sqlite3_finalize(st);
	return ok ? 0 : -1;
}

/* tenantdb_tx's transaction: the check, then the store's work. */
struct tx_check {
	struct tenantdb	*h;
	enum err	(*fn)(sqlite3 *, void *);
	void		*arg;
};

static enum err
tx_check(sqlite3 *db, void *arg)
{
	struct tx_check	*c = arg;

	/*
	 * Inside the write lock: a rotation holds this file's lock until
	 * the registry names the new file, so a key version that moved on
	 * means this file is the old one, and a write here would be lost.
	 */
	if (registry_key_version(c->h->reg, c->h->id) != c->h->key_version)
		return ERR_REKEYED;
	return c->fn(db, c->arg);
}

enum err
tenantdb_tx(struct tenantdb *h, enum err (*fn)(sqlite3 *, void *),
    void *arg)
{
	struct tx_check	 c = { h, fn, arg };

	return db_tx(h->db, tx_check, &c);
}

int
tenantdb_verify(struct registry *reg, const struct tenant *t)
{
	struct tenantdb	*h = NULL;

	if (tenantdb_open(reg, t, NULL, &h) != ERR_OK)
		return -1;
	if (tenantdb_check(h) == -1) {
		tenantdb_abandon(h);	/* a close could checkpoint into it */
		return -1;
	}
	tenantdb_close(h);
	return 0;
}
