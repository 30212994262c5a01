/*
 * purge: tenants uninstalled more than [reaper] grace_days ago are
 * deleted.  Per tenant, each step durable before the next:
 *
 *  1. registry_purge_begin, one transaction: every wrapped data key
 *     destroyed (crypto-shredding: from here on no copy of the tenant's
 *     file, backups included, opens), the sealed secret, clientKey and
 *     URLs replaced (a reinstall from now on makes a new, empty tenant
 *     with a new key), the row marked purging.  Only if still due: a
 *     reinstall that got in first wins and nothing is done.
 *  2. The tenant's files: ID.db and every companion (-wal, -shm,
 *     -journal, and any temporary ID.db.* a job left), then the
 *     directory synced.
 *  3. Its backup copies: in every run, tenants/ID.db removed, the run's
 *     registry copy scrubbed of the tenant's rows (its wrapped keys
 *     among them; secure_delete and VACUUM leave no trace in the file),
 *     and the manifest rewritten to match.  A run that never completed
 *     (RUN.tmp: we hold the lock, so it is dead; RUN.failed;
 *     RUN.deleting) is removed whole.
 *     Each run rewritten is marked in the registry to be sent offsite
 *     again (BACKUP_OFFSITE_DIRTY); once every tenant is through step 3,
 *     every marked run goes to the offsite command, which must mirror
 *     deletions, and keeps its mark until the command succeeds.
 *  4. registry_purge_end, only once no run is left to send: the row
 *     deleted, leaving an audit record (the random tenant id, its dates,
 *     what was removed; no clientKey, no URL).  Until then the row stays
 *     purging, and cellarctl audit counts the tenant as not yet deleted.
 *
 * A crash between any two steps leaves a purging row the next run
 * picks up at step 2 (steps 2-4 are idempotent; the marks persist).
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
#include "cellar/util.h"
#include "reaper.h"

struct purge {
	struct reaper		*r;
	struct purge_item	*items;
	size_t			 n, cap;
	size_t			 ntouched;	/* runs step 3 rewrote */
	int			 dirty_left;	/* runs not yet offsite */
	int			 files, copies;
};

static int
collect(const struct purge_item *it, void *arg)
{
	struct purge		*p = arg;
	struct purge_item	*v;

	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 16;
		if ((v = reallocarray(p->items, p->cap, sizeof(*v))) == NULL)
			return -1;
		p->items = v;
	}
	p->items[p->n++] = *it;
	return 0;
}

/* Step 2: every "ID.*" in dir; how many removed, or -1. */
static int
remove_tenant_files(const char *dir, const char *id)
{
	struct dirent	*de;
	char		 path[PATH_MAX], prefix[TENANT_ID_LEN + 4];
	DIR		*d;
	int		 n = 0, rc = 0;

	/* Every file of a tenant: ID.db, ID.vN.db and their companions. */
	snprintf(prefix, sizeof(prefix), "%s.", id);
	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, prefix, strlen(prefix)) != 0 ||
		    file_pathf(path, sizeof(path), "%s/%s", dir, de->d_name) >=
		    (int)sizeof(path))
			continue;
		if (unlink(path) == 0)
			n++;
		else if (errno != ENOENT)
			rc = -1;
	}
	closedir(d);
	if (n > 0 && file_fsync_dir(dir) == -1)
		rc = -1;
	return rc == -1 ? -1 : n;
}

/*
 * Deletes the tenant's rows from a run's registry copy (registry.db,
 * keyed from master version master) and describes the copy as it now is
 * in now (schema and row counts).  1 if it had rows of the tenant, 0 if
 * not, -1 if the copy does not open or the delete fails.
 */
static int
scrub_registry_copy(struct reaper *r, const char *path, int master,
    const char *id, struct backup_file *now)
{
	static const char *const sql[] = {
	    "DELETE FROM tenant_keys WHERE tenant_id = ?1",
	    "DELETE FROM tenants WHERE id = ?1",
	};
	unsigned char	*key;
	sqlite3		*db = NULL;
	sqlite3_stmt	*st = NULL;
	size_t		 i;
	int		 rc = -1, changed = 0;

	if ((key = sodium_malloc(KEY_BYTES)) == NULL)
		return -1;
	if (keys_derive(r->kr, master, KDF_REGISTRY, key) == -1 ||
	    db_open_copy(path, key, 1, &db) != DB_OK)
		goto out;
	/*
	 * Foreign keys on: deleting the tenant's row takes every row that
	 * names it with it (its Forge installations since migration 5),
	 * in a copy of any schema version.
	 */
	if (sqlite3_exec(db, "PRAGMA secure_delete = ON; "
	    "PRAGMA foreign_keys = ON; BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	    SQLITE_OK)
		goto out;
	for (i = 0; i < sizeof(sql) / sizeof(sql[0]); i++) {
		if (sqlite3_prepare_v2(db, sql[i], -1, &st, NULL) != SQLITE_OK ||
		    db_bind_text(st, 1, id) == -1 ||
		    sqlite3_step(st) != SQLITE_DONE)
			goto out;
		changed += sqlite3_changes(db);
		sqlite3_finalize(st);
		st = NULL;
	}
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		goto out;
	/* Free pages rewritten away: nothing of the rows stays behind. */
	if (changed > 0 && sqlite3_exec(db, "VACUUM", NULL, NULL, NULL) !=
	    SQLITE_OK)
		goto out;
	if (backup_count(db, now) == -1)
		goto out;
	rc = changed > 0;
out:
	sqlite3_finalize(st);
	if (db != NULL && rc == -1)
		(void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(db);
	sodium_free(key);
	if (rc >= 0 && file_fsync(path) == -1)
		rc = -1;
	return rc;
}

/* 1 if two descriptions of a copy differ in schema or row counts. */
static int
counts_differ(const struct backup_file *a, const struct backup_file *b)
{
	size_t	 i;

	if (a->schema != b->schema || a->ntables != b->ntables)
		return 1;
	for (i = 0; i < a->ntables; i++)
		if (strcmp(a->tables[i].name, b->tables[i].name) != 0 ||
		    a->tables[i].rows != b->tables[i].rows)
			return 1;
	return 0;
}

/* Step 3 in one complete run; 0 or -1. */
static int
purge_from_run(struct purge *p, const char *runs, const char *run,
    const char *id)
{
	struct backup_manifest m;
	struct backup_file now;
	char		 rundir[PATH_MAX], tdir[PATH_MAX], reg[PATH_MAX];
	char		 why[256];
	int		 removed, scrubbed, listed, rc = -1;

	memset(&now, 0, sizeof(now));
	(void)file_pathf(rundir, sizeof(rundir), "%s/%s", runs, run);
	(void)file_pathf(tdir, sizeof(tdir), "%s/tenants", rundir);
	(void)file_pathf(reg, sizeof(reg), "%s/registry.db", rundir);
	if (backup_manifest_load(rundir, &m, why, sizeof(why)) == -1) {
		log_msg(LOGL_ERR, NULL, "job=purge run=%s "
		    "reason=manifest_unreadable", run);
		return -1;
	}
	if ((removed = remove_tenant_files(tdir, id)) == -1 ||
	    (scrubbed = scrub_registry_copy(p->r, reg, m.registry.key_version,
	    id, &now)) == -1) {
		log_msg(LOGL_ERR, NULL, "job=purge run=%s tenant=%s "
		    "reason=backup_copy_not_removed", run, id);
		goto out;
	}
	reaper_step("purge.copy_scrubbed");
	listed = backup_manifest_drop(&m, id);
	p->copies += removed;
	/*
	 * The manifest follows the scrubbed copy, also after a crash
	 * between the scrub and this rewrite (the counts tell).
	 */
	if (listed || scrubbed || removed || counts_differ(&now,
	    &m.registry)) {
		memcpy(now.id, m.registry.id, sizeof(now.id));
		memcpy(now.file, m.registry.file, sizeof(now.file));
		now.key_version = m.registry.key_version;
		if (file_sha256(reg, now.sha256, &now.size) == -1)
			goto out;
		m.registry = now;
		if (backup_manifest_save(rundir, &m) == -1) {
			log_msg(LOGL_ERR, NULL, "job=purge run=%s "
			    "reason=manifest_not_rewritten", run);
			goto out;
		}
		reaper_step("purge.manifest_rewritten");
		/* Remembered in the registry: sent offsite until it works. */
		if (registry_backup_offsite(p->r->reg, run, clock_now(),
		    BACKUP_OFFSITE_DIRTY) != ERR_OK)
			goto out;
		p->ntouched++;
	}
	rc = 0;
out:
	backup_manifest_free(&m);
	return rc;
}

/* Step 3: every run under [backup] dir. */
static int
purge_backups(struct purge *p, const char *id)
{
	struct dirent	*de;
	char		 runs[PATH_MAX], path[PATH_MAX];
	size_t		 len;
	DIR		*d;
	int		 rc = 0;

	if (reaper_runs_dir(p->r, runs, sizeof(runs)) == -1)
		return -1;
	if ((d = opendir(runs)) == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((de = readdir(d)) != NULL) {
		struct stat	 sb;

		if (de->d_name[0] == '.')
			continue;
		/* Only real directories: never into a link's target. */
		if (file_pathf(path, sizeof(path), "%s/%s", runs,
		    de->d_name) == -1 || lstat(path, &sb) == -1 ||
		    !S_ISDIR(sb.st_mode))
			continue;
		len = strlen(de->d_name);
		if (backup_run_valid(de->d_name)) {
			file_pathf(path, sizeof(path), "%s/%s/%s", runs,
			    de->d_name, BACKUP_MANIFEST);
			if (access(path, F_OK) == 0) {
				if (purge_from_run(p, runs, de->d_name,
				    id) == -1)
					rc = -1;
				continue;
			}
		}
		/* Anything else (RUN.tmp, RUN.failed, a run without a
		 * manifest): its copy of the tenant goes. */
		if (len < BACKUP_RUN_LEN ||
		    file_pathf(path, sizeof(path), "%s/%s/tenants", runs,
		    de->d_name) >= (int)sizeof(path))
			continue;
		if (remove_tenant_files(path, id) == -1)
			rc = -1;
		/* Its registry copy holds the tenant's wrapped keys: a run
		 * that never completed (RUN.tmp, RUN.failed, RUN.deleting)
		 * is removed whole; it could never be restored anyway. */
		if (!backup_run_valid(de->d_name) &&
		    (strcmp(de->d_name + BACKUP_RUN_LEN, ".tmp") == 0 ||
		    strcmp(de->d_name + BACKUP_RUN_LEN, ".failed") == 0 ||
		    strcmp(de->d_name + BACKUP_RUN_LEN, ".deleting") == 0)) {
			file_pathf(path, sizeof(path), "%s/%s", runs,
			    de->d_name);
			if (file_remove_tree(path) == -1)
				rc = -1;
		}
	}
	closedir(d);
	return rc;
}

/*
 * Steps 1-3 for one tenant: 1 done (the row's deletion waits for the
 * offsite copy), 0 nothing to do (reinstalled meanwhile), -1 failed.
 */
static int
purge_strip(struct purge *p, const struct purge_item *it, long long cutoff,
    int *keys, int *files)
{
	struct reaper	*r = p->r;
	char		*tdir, gone[21];
	int		 n;
	enum err	 e;

	if (r->dry_run) {
		util_iso8601(gone, it->uninstalled_at);
		printf("purge: would delete tenant %s (uninstalled %s)%s\n",
		    it->id, gone, it->purge_started_at ? ", begun before" : "");
		return 0;
	}
	if ((e = registry_purge_begin(r->reg, it->id, cutoff, r->now,
	    keys)) == ERR_NOT_FOUND)
		return 0;		/* reinstalled meanwhile */
	if (e != ERR_OK) {
		log_msg(LOGL_ERR, NULL, "job=purge tenant=%s "
		    "reason=keys_not_destroyed", it->id);
		return -1;
	}
	reaper_step("purge.keys_destroyed");
	if ((tdir = util_path_join(r->state_dir, "tenants")) == NULL)
		return -1;
	n = remove_tenant_files(tdir, it->id);
	free(tdir);
	if (n == -1) {
		log_msg(LOGL_ERR, NULL, "job=purge tenant=%s "
		    "reason=files_not_removed", it->id);
		return -1;
	}
	*files = n;
	p->files += n;
	reaper_step("purge.files_removed");
	if (purge_backups(p, it->id) == -1)
		return -1;
	reaper_step("purge.backups_removed");
	return 1;
}

/* Step 4: the row goes, leaving the audit record. */
static int
purge_end(struct purge *p, const struct purge_item *it, int keys,
    int files)
{
	char		 detail[160], inst[21], gone[21];

	util_iso8601(inst, it->installed_at);
	util_iso8601(gone, it->uninstalled_at);
	snprintf(detail, sizeof(detail), "installed=%s uninstalled=%s "
	    "keys_destroyed=%d files=%d", inst, gone, keys, files);
	if (registry_purge_end(p->r->reg, it->id, clock_now(), detail) !=
	    ERR_OK) {
		log_msg(LOGL_ERR, NULL, "job=purge tenant=%s "
		    "reason=row_not_deleted", it->id);
		return -1;
	}
	log_msg(LOGL_INFO, NULL, "job=purge tenant=%s purged keys=%d "
	    "files=%d", it->id, keys, files);
	return 0;
}

/* Sends one dirty run offsite again; counts what is left dirty. */
static int
send_dirty(const char *run, void *arg)
{
	struct purge	*p = arg;
	char		 runs[PATH_MAX], rundir[PATH_MAX];

	if (reaper_runs_dir(p->r, runs, sizeof(runs)) == -1 ||
	    file_pathf(rundir, sizeof(rundir), "%s/%s", runs, run) == -1)
		return -1;
	/* A run pruned meanwhile: nothing of it to send. */
	if (access(rundir, F_OK) == -1) {
		if (registry_backup_offsite(p->r->reg, run, clock_now(), 0) !=
		    ERR_OK)
			p->dirty_left++;
		return 0;
	}
	/* A failure keeps the mark: sent again next time. */
	if (reaper_send_offsite(p->r, "purge", run, BACKUP_OFFSITE_DIRTY) != 0)
		p->dirty_left++;
	return 0;
}

int
job_purge(struct reaper *r)
{
	struct purge	 p;
	long long	 cutoff;
	size_t		 i, done = 0;
	int		*keys = NULL, *files = NULL, *stripped = NULL;
	int		 rc = 0, offsite;

	memset(&p, 0, sizeof(p));
	p.r = r;
	cutoff = r->now - conf_int(r->cfg, C_REAPER_GRACE_DAYS) * CLOCK_DAY;
	if (registry_purge_due(r->reg, cutoff, collect, &p) == -1 ||
	    (keys = calloc(p.n + 1, sizeof(int))) == NULL ||
	    (files = calloc(p.n + 1, sizeof(int))) == NULL ||
	    (stripped = calloc(p.n + 1, sizeof(int))) == NULL) {
		log_msg(LOGL_ERR, NULL, "job=purge reason=registry_read");
		rc = -1;
		goto out;
	}
	for (i = 0; i < p.n; i++)
		if ((stripped[i] = purge_strip(&p, &p.items[i], cutoff,
		    &keys[i], &files[i])) == -1)
			rc = -1;
	/*
	 * The offsite copy must lose the tenants too: every run a purge
	 * rewrote (now or in a run cut short) is sent again, and a tenant's
	 * row, the evidence of a purge not finished, stays until it is.
	 */
	offsite = conf_str(r->cfg, C_BACKUP_OFFSITE_COMMAND)[0] != '\0';
	if (!r->dry_run && offsite &&
	    registry_backup_dirty(r->reg, send_dirty, &p) == -1)
		p.dirty_left++;
	for (i = 0; i < p.n; i++) {
		if (stripped[i] != 1)
			continue;
		if (p.dirty_left > 0) {
			log_msg(LOGL_ERR, NULL, "job=purge tenant=%s "
			    "reason=offsite_pending", p.items[i].id);
			rc = -1;
			continue;
		}
		if (purge_end(&p, &p.items[i], keys[i], files[i]) == -1)
			rc = -1;
		else
			done++;
	}
	if (r->dry_run)
		snprintf(r->detail, sizeof(r->detail), "%zu tenants due for "
		    "deletion", p.n);
	else
		snprintf(r->detail, sizeof(r->detail), "%zu of %zu due "
		    "tenants deleted, %d files and %d backup copies removed, "
		    "%zu runs rewritten%s", done, p.n, p.files, p.copies,
		    p.ntouched, p.dirty_left ? ", offsite copy NOT updated" :
		    "");
out:
	free(keys);
	free(files);
	free(stripped);
	free(p.items);
	return rc;
}
