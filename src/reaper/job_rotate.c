/*
 * rotate: keys older than [reaper] rotate_days are replaced (--now: all
 * of them).  Three layers, each step durable before the next, each safe
 * to repeat:
 *
 *  1. Master key.  A new version's file is written whole (never over an
 *     existing one) and recorded; every wrapped data key and sealed
 *     shared secret still under an older version is re-wrapped under it,
 *     a few hundred rows per registry transaction (the rows left under
 *     an older version are the cursor); then the registry file itself is
 *     rekeyed (PRAGMA rekey, then reopened and checked under the new
 *     key: rekey can report success having done nothing).  Workers pick
 *     up the new key file by themselves (keys_refresh) and reopen the
 *     registry when it no longer opens under the old key.
 *  2. Data keys, per tenant: a new key recorded as pending first; then,
 *     holding the old file's write lock (readers go on), a consistent
 *     copy written under the new key beside the old file
 *     (tenants/ID.vN.db), synced and checked (integrity, row counts,
 *     owner); then the registry makes it current and the old key retired,
 *     in one transaction; then the lock is let go.  A write that waited
 *     for the lock finds the key moved on and is refused unwritten
 *     (tenantdb_tx): nothing is lost.  A worker still holding the old
 *     file reads it, unchanged, until its next request opens the new one.
 *     Cut short before the registry switch, the next run discards the new
 *     file and starts again under the same pending key; the old file is
 *     never touched.
 *  3. What nothing needs any more: a retired key's old file, ten minutes
 *     after the switch (no worker has read the registry from before it
 *     by then); the retired key itself once no kept backup run was made
 *     under it; a master version once no key, secret, registry file or
 *     kept backup run needs it (its file deleted).  The audit trail
 *     records each.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "cellar/backup.h"
#include "cellar/clock.h"
#include "cellar/conf.h"
#include "cellar/db.h"
#include "cellar/file.h"
#include "cellar/keys.h"
#include "cellar/log.h"
#include "cellar/registry.h"
#include "cellar/tenantdb.h"
#include "reaper.h"

/* Seconds after a switch before the old file goes. */
#define OLD_FILE_GRACE	600

struct rot {
	struct reaper	*r;
	long long	 max_age;	/* seconds */
	/* Tenants: id, key age, held. */
	struct tenant	*ts;
	size_t		 n, cap;
	/* What kept backup runs need: (tenant, key version), masters. */
	struct need {
		char	 id[TENANT_ID_LEN + 1];
		int	 version;
	}		*needs;
	size_t		 nneeds, capneeds;
	int		 masters_needed[KEYS_MAX_VERSIONS];
	size_t		 nmasters_needed;
	int		 rekeyed, held, failed, files, keys, masters;
};

static int
collect(const struct tenant *t, void *arg)
{
	struct rot	*o = arg;
	struct tenant	*v;

	if (o->n == o->cap) {
		o->cap = o->cap ? o->cap * 2 : 64;
		if ((v = reallocarray(o->ts, o->cap, sizeof(*v))) == NULL)
			return -1;
		o->ts = v;
	}
	memset(&o->ts[o->n], 0, sizeof(*v));
	memcpy(o->ts[o->n].id, t->id, sizeof(t->id));
	o->ts[o->n].dek_created = t->dek_created;
	o->ts[o->n].quarantined_at = t->quarantined_at;
	o->n++;
	return 0;
}

/* Masters the registry knows of; each version in the keyring recorded. */
static int
record_masters(struct rot *o)
{
	int	 v[KEYS_MAX_VERSIONS];
	size_t	 n, i;
	long long t;

	n = keys_versions(o->r->kr, v, KEYS_MAX_VERSIONS);
	for (i = 0; i < n; i++) {
		if ((t = keys_created(o->r->kr, v[i])) < 0)
			t = o->r->now;
		if (registry_master_add(o->r->reg, v[i], t, 0) != ERR_OK)
			return -1;
	}
	return 0;
}

struct master_age {
	int		 version;
	long long	 created;
};

static int
find_master(int version, long long created, long long destroyed, void *arg)
{
	struct master_age *m = arg;

	(void)destroyed;
	if (version == m->version)
		m->created = created;
	return 0;
}

/* Layer 1. */
static int
rotate_master(struct rot *o)
{
	struct reaper	*r = o->r;
	struct master_age m = { keys_current(r->kr), 0 };
	char		 err[256];
	int		 nv, n;

	if (record_masters(o) == -1 ||
	    registry_masters(r->reg, find_master, &m) == -1) {
		log_msg(LOGL_ERR, NULL, "job=rotate reason=registry_read");
		return -1;
	}
	if (r->force || m.created == 0 || r->now - m.created >= o->max_age) {
		if (r->dry_run) {
			printf("rotate: would make master key %d\n",
			    m.version + 1);
			return 0;
		}
		if (keys_add_version(r->kr, &nv, err, sizeof(err)) == -1) {
			log_msg(LOGL_ERR, NULL, "job=rotate "
			    "reason=master_key_not_written");
			fprintf(stderr, "cellar-reaper: rotate: %s\n", err);
			return -1;
		}
		if (registry_master_add(r->reg, nv, clock_now(), 1) != ERR_OK)
			return -1;
		reaper_step("rotate.master_added");
	}
	if (r->dry_run)
		return 0;
	/* Also finishes what a run cut short left under an older master. */
	if ((n = registry_rewrap(r->reg, keys_current(r->kr))) == -1) {
		log_msg(LOGL_ERR, NULL, "job=rotate reason=rewrap_failed");
		return -1;
	}
	reaper_step("rotate.rewrapped");
	if (registry_master(r->reg) != keys_current(r->kr)) {
		if (registry_rekey(r->reg, keys_current(r->kr), err,
		    sizeof(err)) == -1) {
			log_msg(LOGL_ERR, NULL, "job=rotate "
			    "reason=registry_not_rekeyed");
			fprintf(stderr, "cellar-reaper: rotate: %s\n", err);
			return -1;
		}
		reaper_step("rotate.registry_rekeyed");
	}
	return 0;
}

/* Layer 2 for one tenant; 0 or -1 (logged). */
static int
rotate_tenant(struct rot *o, const char *id)
{
	struct reaper	*r = o->r;
	struct backup_file f;
	struct tenant	 t;
	struct tenantdb	*old = NULL, *lock = NULL;
	unsigned char	*dek = NULL;
	char		*newp = NULL, why[256];
	sqlite3		*fresh = NULL;
	int		 v, locked = 0, rc = -1;
	enum db_status	 st;

	memset(&t, 0, sizeof(t));
	memset(&f, 0, sizeof(f));
	if ((dek = sodium_malloc(KEY_BYTES)) == NULL ||
	    registry_get(r->reg, id, &t) != ERR_OK)
		goto out;
	if (registry_rotate_begin(r->reg, id, r->now, dek, &v) != ERR_OK) {
		log_msg(LOGL_ERR, NULL, "job=rotate tenant=%s "
		    "reason=pending_key_not_recorded", id);
		goto out;
	}
	reaper_step("rotate.pending_recorded");
	/* A new file a run cut short left: never trusted, made again. */
	if ((newp = registry_tenant_path(r->reg, id, v)) == NULL ||
	    registry_remove_files(newp) == -1)
		goto out;
	/* Two connections: one holds the write lock, one copies (a
	 * connection in a write transaction cannot be a backup's source). */
	if (tenantdb_open(r->reg, &t, NULL, &old) != ERR_OK ||
	    tenantdb_open(r->reg, &t, NULL, &lock) != ERR_OK) {
		log_msg(LOGL_ERR, NULL, "job=rotate tenant=%s "
		    "reason=tenant_open_failed", id);
		goto out;
	}
	/* Writers wait (and then find the key moved on); readers go on. */
	if (sqlite3_exec(tenantdb_sqlite(lock), "BEGIN IMMEDIATE", NULL, NULL,
	    NULL) != SQLITE_OK) {
		log_msg(LOGL_ERR, NULL, "job=rotate tenant=%s reason=busy", id);
		goto out;
	}
	locked = 1;
	memcpy(f.id, id, sizeof(f.id));
	if ((st = backup_take(tenantdb_sqlite(old), newp, dek, &f)) !=
	    DB_OK) {
		log_msg(LOGL_ERR, NULL, "job=rotate tenant=%s reason=%s", id,
		    st == DB_FULL ? "storage_full" : "copy_failed");
		goto out;
	}
	reaper_step("rotate.file_written");
	if (backup_check(newp, dek, &f, NULL, why, sizeof(why)) == -1 ||
	    file_fsync_parent(newp) == -1) {
		log_msg(LOGL_ERR, NULL, "job=rotate tenant=%s "
		    "reason=new_file_check_failed", id);
		fprintf(stderr, "cellar-reaper: rotate %s: the new file %s\n",
		    id, why);
		goto out;
	}
	/*
	 * Opened once as a worker will open it (key, journal mode, schema
	 * version) before any worker sees it.
	 */
	if (db_open(newp, dek, DB_ROLLBACK, db_tenant_migrations,
	    db_tenant_nmigrations, &fresh) != DB_OK) {
		log_msg(LOGL_ERR, NULL, "job=rotate tenant=%s "
		    "reason=new_file_open_failed", id);
		goto out;
	}
	db_close(fresh);
	fresh = NULL;
	reaper_step("rotate.verified");
	if (registry_rotate_promote(r->reg, id, v, clock_now()) != ERR_OK) {
		log_msg(LOGL_ERR, NULL, "job=rotate tenant=%s "
		    "reason=switch_failed", id);
		goto out;
	}
	reaper_step("rotate.promoted");
	o->rekeyed++;
	rc = 0;
out:
	if (locked)
		(void)sqlite3_exec(tenantdb_sqlite(lock), "ROLLBACK", NULL,
		    NULL, NULL);
	tenantdb_close(lock);
	tenantdb_close(old);
	/* A new file that never became current goes at once. */
	if (rc == -1 && newp != NULL && registry_key_version(r->reg, id) !=
	    v)
		(void)registry_remove_files(newp);
	free(newp);
	if (dek != NULL)
		sodium_free(dek);
	registry_tenant_free(&t);
	return rc;
}

/* Kept backup runs: which (tenant, key) and masters they were made under. */
static int
backup_needs(struct rot *o)
{
	char		(*runs)[BACKUP_RUN_LEN + 1] = NULL;
	struct backup_manifest m;
	struct need	*v;
	char		 dir[PATH_MAX], why[256];
	size_t		 n = 0, i, k;

	if (backup_list(o->r->backup_dir, &runs, &n) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		if (file_pathf(dir, sizeof(dir), "%s/runs/%s",
		    o->r->backup_dir, runs[i]) == -1 ||
		    backup_manifest_load(dir, &m, why, sizeof(why)) == -1) {
			free(runs);
			return -1;	/* unsure: destroy nothing */
		}
		/* Each version once: there are far more runs than versions. */
		for (k = 0; k < o->nmasters_needed; k++)
			if (o->masters_needed[k] == m.registry.key_version)
				break;
		if (k == o->nmasters_needed) {
			if (k == KEYS_MAX_VERSIONS) {
				backup_manifest_free(&m);
				free(runs);
				return -1;	/* unsure: destroy nothing */
			}
			o->masters_needed[o->nmasters_needed++] =
			    m.registry.key_version;
		}
		for (k = 0; k < m.ntenants; k++) {
			if (o->nneeds == o->capneeds) {
				o->capneeds = o->capneeds ? o->capneeds * 2 :
				    256;
				if ((v = reallocarray(o->needs, o->capneeds,
				    sizeof(*v))) == NULL) {
					backup_manifest_free(&m);
					free(runs);
					return -1;
				}
				o->needs = v;
			}
			memcpy(o->needs[o->nneeds].id, m.tenants[k].id,
			    TENANT_ID_LEN + 1);
			o->needs[o->nneeds++].version = m.tenants[k].key_version;
		}
		backup_manifest_free(&m);
	}
	free(runs);
	return 0;
}

static int
needed(const struct rot *o, const char *id, int version)
{
	size_t	 i;

	for (i = 0; i < o->nneeds; i++)
		if (o->needs[i].version == version &&
		    strcmp(o->needs[i].id, id) == 0)
			return 1;
	return 0;
}

static int
retired_one(const char *id, int version, long long retired_at, void *arg)
{
	struct rot	*o = arg;
	char		*path;
	int		 n;

	if (o->r->now - retired_at < OLD_FILE_GRACE)
		return 0;
	if (o->r->dry_run) {
		printf("rotate: would remove tenant %s's file under key %d%s\n",
		    id, version, needed(o, id, version) ? "" :
		    " and destroy that key");
		return 0;
	}
	if ((path = registry_tenant_path(o->r->reg, id, version)) == NULL)
		return -1;
	n = registry_remove_files(path);
	free(path);
	if (n == -1) {
		log_msg(LOGL_ERR, NULL, "job=rotate tenant=%s "
		    "reason=old_file_not_removed", id);
		o->failed = 1;
		return 0;
	}
	o->files += n;
	if (needed(o, id, version))
		return 0;
	if (registry_dek_destroy(o->r->reg, id, version, clock_now()) !=
	    ERR_OK) {
		o->failed = 1;
		return 0;
	}
	o->keys++;
	return 0;
}

static int
master_one(int version, long long created, long long destroyed, void *arg)
{
	struct rot	*o = arg;
	char		 err[256];
	size_t		 i;

	(void)created;
	if (destroyed != 0 || version >= keys_current(o->r->kr) ||
	    version == registry_master(o->r->reg) ||
	    registry_master_uses(o->r->reg, version) != 0)
		return 0;
	for (i = 0; i < o->nmasters_needed; i++)
		if (o->masters_needed[i] == version)
			return 0;
	if (o->r->dry_run) {
		printf("rotate: would destroy master key %d\n", version);
		return 0;
	}
	if (keys_has(o->r->kr, version) && keys_destroy_version(o->r->kr,
	    version, err, sizeof(err)) == -1) {
		fprintf(stderr, "cellar-reaper: rotate: %s\n", err);
		o->failed = 1;
		return 0;
	}
	if (registry_master_destroyed(o->r->reg, version, clock_now()) !=
	    ERR_OK)
		o->failed = 1;
	else
		o->masters++;
	return 0;
}

int
reaper_key_cleanup(struct reaper *r, int *files, int *keys, int *masters)
{
	struct rot	 o;
	int		 rc = 0;

	memset(&o, 0, sizeof(o));
	o.r = r;
	if (backup_needs(&o) == -1) {
		log_msg(LOGL_ERR, NULL, "job=rotate reason=backups_unreadable");
		rc = -1;
	} else if (registry_retired_keys(r->reg, retired_one, &o) == -1 ||
	    registry_masters(r->reg, master_one, &o) == -1 || o.failed)
		rc = -1;
	*files += o.files;
	*keys += o.keys;
	*masters += o.masters;
	free(o.needs);
	return rc;
}

int
job_rotate(struct reaper *r)
{
	struct rot	 o;
	size_t		 i;
	int		 rc = 0;

	memset(&o, 0, sizeof(o));
	o.r = r;
	o.max_age = conf_int(r->cfg, C_REAPER_ROTATE_DAYS) * CLOCK_DAY;
	if (rotate_master(&o) == -1)
		rc = -1;
	if (registry_each(r->reg, collect, &o) == -1) {
		log_msg(LOGL_ERR, NULL, "job=rotate reason=registry_read");
		rc = -1;
		goto out;
	}
	for (i = 0; i < o.n; i++) {
		unsigned char	 probe[KEY_BYTES];
		int		 pv, pending;

		pending = registry_dek_pending(r->reg, o.ts[i].id, probe,
		    &pv) == 0;
		sodium_memzero(probe, sizeof(probe));
		if (!pending && !r->force &&
		    r->now - o.ts[i].dek_created < o.max_age)
			continue;
		if (o.ts[i].quarantined_at != 0) {
			log_msg(LOGL_ERR, NULL, "job=rotate tenant=%s "
			    "reason=tenant_quarantined", o.ts[i].id);
			o.held++;
			continue;
		}
		if (r->dry_run) {
			printf("rotate: would re-encrypt tenant %s\n",
			    o.ts[i].id);
			continue;
		}
		if (rotate_tenant(&o, o.ts[i].id) == -1)
			o.failed = 1;
	}
	if (reaper_key_cleanup(r, &o.files, &o.keys, &o.masters) == -1)
		rc = -1;
out:
	if (o.failed || o.held)
		rc = -1;
	snprintf(r->detail, sizeof(r->detail), "master key %d, registry "
	    "under master %d; %d tenant files re-encrypted%s; %d old files "
	    "removed, %d data keys and %d master keys destroyed",
	    keys_current(r->kr), registry_master(r->reg), o.rekeyed,
	    o.held ? ", held tenants skipped" : "", o.files, o.keys,
	    o.masters);
	free(o.ts);
	free(o.needs);
	return rc;
}
