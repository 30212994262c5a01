/*
 * backup: a daily copy of the registry and of every tenant, verified,
 * then handed to the offsite command.  Steps, each durable before the
 * next:
 *
 *  1. Leftovers of a killed run (runs/RUN.tmp) are removed: we hold the
 *     lock, so nobody is writing them.  A complete run on disk that the
 *     registry has not recorded (killed between steps 5 and 6) is
 *     recorded now.
 *  2. runs/RUN.tmp/registry.db: the registry, copied with SQLite's online
 *     backup API into a destination keyed first with the registry's own
 *     key; then runs/RUN.tmp/tenants/ID.db for every tenant (not being
 *     purged, not held), each keyed with the tenant's current data key,
 *     so that a purge's crypto-shredding reaches the copy too.  Each copy
 *     is consistent (one read transaction) while workers write, and its
 *     row counts are taken in that same transaction.
 *  3. Every copy verified: size and SHA-256, then a scratch copy reopened
 *     with the key the manifest names, PRAGMA integrity_check and the
 *     row counts compared.  A run that fails is renamed RUN.failed and
 *     never replaces the last good one.
 *  4. manifest.json written whole (last), the run directory synced.
 *  5. RUN.tmp renamed to RUN, runs/ synced: the run exists.
 *  6. The registry records the run and, per tenant, its newest backup
 *     (the evidence of GET /api/tenant and cellarctl audit).
 *  7. The offsite command runs with the run's directory; its exit status
 *     is recorded.  A failure fails the job; the local run stays.
 *
 * A held (quarantined) tenant cannot be copied, nor one whose file
 * fails while it is copied (that one is held then, as a worker would
 * hold it): each is named in the log, the run completes for everyone
 * else, and the job fails, so the operator sees it every day until the
 * tenant is restored or released.  A run that fails verification is
 * kept as RUN.failed to be looked at (only the newest); one that fails
 * for want of space is removed.
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
#include "cellar/db.h"
#include "cellar/file.h"
#include "cellar/keys.h"
#include "cellar/log.h"
#include "cellar/registry.h"
#include "cellar/tenantdb.h"
#include "reaper.h"

struct snap {
	struct reaper		*r;
	struct tenant		*ts;
	size_t			 n, cap;
};

static int
collect(const struct tenant *t, void *arg)
{
	struct snap	*s = arg;
	struct tenant	*v;

	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 64;
		if ((v = reallocarray(s->ts, s->cap, sizeof(*v))) == NULL)
			return -1;
		s->ts = v;
	}
	/* Only what a copy needs: id, and whether it is held. */
	memset(&s->ts[s->n], 0, sizeof(*v));
	memcpy(s->ts[s->n].id, t->id, sizeof(t->id));
	s->ts[s->n].quarantined_at = t->quarantined_at;
	s->n++;
	return 0;
}

/*
 * Records the verified run m describes: the run, and for each tenant in
 * it its newest backup (registry_backup_record).  0 or -1.
 */
static int
record_run(struct reaper *r, const struct backup_manifest *m)
{
	struct backup_run br;
	const char	**ids;
	size_t		 k;
	int		 rc = -1;

	memset(&br, 0, sizeof(br));
	memcpy(br.run, m->run, sizeof(m->run));
	br.started_at = m->started_at;
	br.verified_at = m->finished_at;
	br.tenants = (long long)m->ntenants;
	br.bytes = m->registry.size;
	if ((ids = calloc(m->ntenants + 1, sizeof(*ids))) == NULL)
		return -1;
	for (k = 0; k < m->ntenants; k++) {
		ids[k] = m->tenants[k].id;
		br.bytes += m->tenants[k].size;
	}
	if (registry_backup_record(r->reg, &br, ids, m->ntenants) == ERR_OK)
		rc = 0;
	free(ids);
	return rc;
}

/* Records a complete run found on disk that the registry lacks. */
static int
record_found(struct reaper *r, const char *rundir)
{
	struct backup_manifest m;
	char		 why[256];
	int		 rc = 0;

	if (backup_manifest_load(rundir, &m, why, sizeof(why)) == -1)
		return 0;		/* prune deals with it */
	if (registry_backup_known(r->reg, m.run) == 0)
		rc = record_run(r, &m);
	backup_manifest_free(&m);
	return rc;
}

/* Step 1: RUN.tmp leftovers; complete runs the registry lacks. */
static int
tidy(struct reaper *r, const char *runs)
{
	char		(*list)[BACKUP_RUN_LEN + 1] = NULL;
	char		 path[PATH_MAX];
	struct dirent	*de;
	size_t		 n = 0, i, len;
	DIR		*d;
	int		 rc = 0;

	if ((d = opendir(runs)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			len = strlen(de->d_name);
			if (len < 5 || strcmp(de->d_name + len - 4, ".tmp") != 0)
				continue;
			file_pathf(path, sizeof(path), "%s/%s", runs, de->d_name);
			if (file_remove_tree(path) == -1)
				rc = -1;
		}
		closedir(d);
	}
	if (backup_list(r->backup_dir, &list, &n) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		file_pathf(path, sizeof(path), "%s/%s", runs, list[i]);
		if (record_found(r, path) == -1)
			rc = -1;
	}
	free(list);
	return rc;
}

/* Step 2 for one tenant; DB_OK, DB_FULL, or DB_ERROR (logged). */
static enum db_status
copy_tenant(struct reaper *r, struct tenant *t, const char *tmpdir,
    struct backup_manifest *m)
{
	struct backup_file f;
	struct tenantdb	*tdb = NULL;
	unsigned char	*dek = NULL;
	long long	 created;
	int		 version, master;
	enum db_status	 st = DB_ERROR;
	enum err	 e;
	char		 path[PATH_MAX];

	memset(&f, 0, sizeof(f));
	if ((e = tenantdb_open(r->reg, t, NULL, &tdb)) != ERR_OK) {
		log_msg(LOGL_ERR, NULL, "job=backup tenant=%s "
		    "reason=tenant_open_failed", t->id);
		/* Damaged or not its own: held, as a worker would. */
		if (e == ERR_QUARANTINED && registry_quarantine(r->reg, t->id,
		    clock_now(), "backup_open_failed") == 1)
			log_msg(LOGL_ERR, NULL, "job=backup tenant=%s "
			    "reason=tenant_quarantined", t->id);
		return DB_ERROR;
	}
	if ((dek = sodium_malloc(KEY_BYTES)) == NULL ||
	    registry_dek(r->reg, t->id, dek, &version, &master,
	    &created) == -1)
		goto out;
	memcpy(f.id, t->id, sizeof(t->id));
	snprintf(f.file, sizeof(f.file), "tenants/%s.db", t->id);
	f.key_version = version;
	file_pathf(path, sizeof(path), "%s/%s", tmpdir, f.file);
	if ((st = backup_take(tenantdb_sqlite(tdb), path, dek, &f)) != DB_OK)
		goto out;
	if (backup_manifest_add(m, &f) == -1)
		st = DB_ERROR;
out:
	if (st != DB_OK)
		log_msg(LOGL_ERR, NULL, "job=backup tenant=%s reason=%s",
		    t->id, st == DB_FULL ? "storage_full" : "copy_failed");
	if (dek != NULL)
		sodium_free(dek);
	/*
	 * A copy that failed on a file that does not read back whole (every
	 * page checked, SQLCipher's HMACs included): the file is damaged.
	 * Held, as a worker would hold it, and let go of without a close
	 * (which could checkpoint its -wal into it).
	 */
	if (st == DB_ERROR && tdb != NULL && tenantdb_check(tdb) == -1) {
		if (registry_quarantine(r->reg, t->id, clock_now(),
		    "backup_found_damage") == 1)
			log_msg(LOGL_ERR, NULL, "job=backup tenant=%s "
			    "reason=tenant_quarantined", t->id);
		tenantdb_abandon(tdb);
		return st;
	}
	tenantdb_close(tdb);
	return st;
}

/* Step 2 for the registry. */
static enum db_status
copy_registry(struct reaper *r, const char *tmpdir,
    struct backup_manifest *m)
{
	unsigned char	*key;
	char		 path[PATH_MAX];
	enum db_status	 st = DB_ERROR;

	if ((key = sodium_malloc(KEY_BYTES)) == NULL)
		return DB_ERROR;
	snprintf(m->registry.file, sizeof(m->registry.file), "registry.db");
	m->registry.key_version = registry_master(r->reg);
	file_pathf(path, sizeof(path), "%s/registry.db", tmpdir);
	if (keys_derive(r->kr, m->registry.key_version, KDF_REGISTRY,
	    key) == 0)
		st = backup_take(registry_sqlite(r->reg), path, key,
		    &m->registry);
	sodium_free(key);
	if (st != DB_OK)
		log_msg(LOGL_ERR, NULL, "job=backup reason=%s",
		    st == DB_FULL ? "storage_full" : "registry_copy_failed");
	return st;
}

/* Removes every RUN.failed: a new one replaces them. */
static void
drop_failed(const char *runs)
{
	struct dirent	*de;
	char		 path[PATH_MAX];
	size_t		 len;
	DIR		*d;

	if ((d = opendir(runs)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len > 7 && strcmp(de->d_name + len - 7, ".failed") == 0 &&
		    file_pathf(path, sizeof(path), "%s/%s", runs,
		    de->d_name) == 0)
			(void)file_remove_tree(path);
	}
	closedir(d);
}

/* [backup] dir, its runs/ and RUN.tmp/tenants, each 0700. */
static int
make_dirs(struct reaper *r, const char *runs, const char *tmpdir)
{
	char	 t[PATH_MAX];

	if ((mkdir(r->backup_dir, 0700) == -1 && errno != EEXIST) ||
	    (mkdir(runs, 0700) == -1 && errno != EEXIST) ||
	    mkdir(tmpdir, 0700) == -1)
		return -1;
	file_pathf(t, sizeof(t), "%s/tenants", tmpdir);
	return mkdir(t, 0700);
}

/* Steps 2-6; 0, or -1 (logged) with what is left removed or renamed. */
static int
take_run(struct reaper *r, struct snap *s, const char *runs,
    struct backup_manifest *m, size_t *held)
{
	char		 tmpdir[PATH_MAX], final[PATH_MAX], failed[PATH_MAX];
	char		 t[PATH_MAX], why[300];
	size_t		 i, gone;
	enum db_status	 st;

	file_pathf(tmpdir, sizeof(tmpdir), "%s/%s.tmp", runs, m->run);
	file_pathf(final, sizeof(final), "%s/%s", runs, m->run);
	if (access(final, F_OK) == 0) {
		log_msg(LOGL_ERR, NULL, "job=backup reason=run_exists");
		return -1;
	}
	if (make_dirs(r, runs, tmpdir) == -1) {
		log_msg(LOGL_ERR, NULL, "job=backup reason=mkdir_failed "
		    "errno=%d", errno);
		goto fail;
	}
	if ((st = copy_registry(r, tmpdir, m)) != DB_OK)
		goto fail;
	reaper_step("backup.registry_copied");
	for (i = 0; i < s->n; i++) {
		if (s->ts[i].quarantined_at != 0) {
			log_msg(LOGL_ERR, NULL, "job=backup tenant=%s "
			    "reason=tenant_quarantined", s->ts[i].id);
			(*held)++;
			continue;
		}
		if ((st = copy_tenant(r, &s->ts[i], tmpdir, m)) == DB_FULL)
			goto fail;
		/* One tenant's trouble never costs the others their run. */
		if (st != DB_OK)
			(*held)++;
		else
			reaper_step("backup.tenant_copied");
	}
	file_pathf(t, sizeof(t), "%s/tenants", tmpdir);
	if (file_fsync_dir(t) == -1 || file_fsync_dir(tmpdir) == -1)
		goto fail;
	/* Step 3. */
	if (backup_verify(r->reg, r->kr, tmpdir, m, &gone, why,
	    sizeof(why)) == -1) {
		/* No room even to check: nothing worth keeping to look at. */
		if (db_disk_full(runs)) {
			log_msg(LOGL_ERR, NULL, "job=backup run=%s "
			    "reason=storage_full", m->run);
			goto fail;
		}
		log_msg(LOGL_ERR, NULL, "job=backup run=%s "
		    "reason=verify_failed", m->run);
		fprintf(stderr, "cellar-reaper: backup %s: %s\n", m->run, why);
		/* Kept to be looked at: the newest failed run only. */
		drop_failed(runs);
		file_pathf(failed, sizeof(failed), "%s/%s.failed", runs, m->run);
		if (rename(tmpdir, failed) == 0)
			(void)file_fsync_dir(runs);
		return -1;
	}
	/* Steps 4 and 5. */
	reaper_step("backup.verified");
	m->finished_at = clock_now();
	if (backup_manifest_save(tmpdir, m) == -1 ||
	    file_fsync_dir(tmpdir) == -1 ||
	    (reaper_step("backup.manifest_written"), 0) ||
	    rename(tmpdir, final) == -1 || file_fsync_dir(runs) == -1) {
		log_msg(LOGL_ERR, NULL, "job=backup reason=%s",
		    db_disk_full(runs) ? "storage_full" : "manifest_failed");
		goto fail;
	}
	/* Step 6. */
	if (record_run(r, m) == -1) {
		log_msg(LOGL_ERR, NULL, "job=backup reason=record_failed");
		return -1;
	}
	reaper_step("backup.recorded");
	return 0;
fail:
	(void)file_remove_tree(tmpdir);
	return -1;
}

int
job_backup(struct reaper *r)
{
	struct backup_manifest m;
	struct snap	 s;
	char		 runs[PATH_MAX], rundir[PATH_MAX];
	long long	 bytes = 0;
	size_t		 held = 0, i;
	int		 rc = -1, st = -1;

	memset(&s, 0, sizeof(s));
	memset(&m, 0, sizeof(m));
	s.r = r;
	if (reaper_runs_dir(r, runs, sizeof(runs)) == -1 ||
	    registry_each(r->reg, collect, &s) == -1) {
		log_msg(LOGL_ERR, NULL, "job=backup reason=registry_read");
		goto out;
	}
	if (r->dry_run) {
		snprintf(r->detail, sizeof(r->detail), "would copy the "
		    "registry and %zu tenants into a new run", s.n);
		rc = 0;
		goto out;
	}
	if (tidy(r, runs) == -1)
		log_msg(LOGL_WARN, NULL, "job=backup reason=tidy_failed");
	reaper_step("backup.tidied");
	m.started_at = r->now;
	backup_run_name(r->now, m.run);
	/* Runs are named by their second: a second run that second waits. */
	if (file_pathf(rundir, sizeof(rundir), "%s/%s", runs, m.run) == 0 &&
	    access(rundir, F_OK) == 0) {
		sleep(1);
		m.started_at = r->now = clock_now();
		backup_run_name(r->now, m.run);
	}
	if (take_run(r, &s, runs, &m, &held) == -1) {
		snprintf(r->detail, sizeof(r->detail), "run %s failed, the "
		    "last good run is kept", m.run);
		goto out;
	}
	for (i = 0; i < m.ntenants; i++)
		bytes += m.tenants[i].size;
	/* Step 7. */
	st = reaper_send_offsite(r, "backup", m.run, 0);
	snprintf(r->detail, sizeof(r->detail), "run %s: registry and %zu "
	    "tenants, %lld bytes, verified; offsite %s%s", m.run, m.ntenants,
	    bytes + m.registry.size, st == -1 ? "not configured" : st == 0 ?
	    "copied" : "FAILED", held ? "; held or damaged tenants not "
	    "copied (named above)" : "");
	rc = st > 0 || held > 0 ? -1 : 0;
out:
	backup_manifest_free(&m);
	free(s.ts);
	return rc;
}
