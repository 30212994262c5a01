/*
 * Backups, as an operator handles them: the runs, their verification,
 * and restoring one tenant from a run (the reaper takes them; backup.h
 * describes a run).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "cellar/backup.h"
#include "cellar/clock.h"
#include "cellar/db.h"
#include "cellar/conf.h"
#include "cellar/file.h"
#include "cellar/keys.h"
#include "cellar/registry.h"
#include "cellar/tenantdb.h"
#include "cellar/util.h"
#include "ctl.h"

/* One recorded run's offsite status, looked up by name. */
struct find_run {
	const char		*run;
	struct backup_run	 found;
	int			 ok;
};

static int
find_run(const struct backup_run *r, void *arg)
{
	struct find_run	*f = arg;

	if (strcmp(r->run, f->run) == 0) {
		f->found = *r;
		f->ok = 1;
	}
	return 0;
}

int
cmd_backup_list(const char *dir, char **args)
{
	char		(*runs)[BACKUP_RUN_LEN + 1] = NULL;
	struct backup_manifest m;
	struct find_run	 f;
	struct conf	*cfg = NULL;
	struct keyring	*kr;
	struct registry	*reg;
	const char	*bdir;
	char		 rundir[PATH_MAX], why[256], when[21];
	long long	 bytes;
	size_t		 n = 0, i, k;
	int		 rc = 1;

	(void)args;
	if (open_registry(dir, &cfg, &kr, &reg) == -1)
		goto out;
	bdir = conf_str(cfg, C_BACKUP_DIR);
	if (backup_list(bdir, &runs, &n) == -1) {
		fprintf(stderr, "cellarctl: %s/runs: %s\n", bdir,
		    strerror(errno));
		goto out;
	}
	printf("# run\tstarted\ttenants\tbytes\trecorded\toffsite\n");
	for (i = 0; i < n; i++) {
		(void)file_pathf(rundir, sizeof(rundir), "%s/runs/%s", bdir,
		    runs[i]);
		if (backup_manifest_load(rundir, &m, why, sizeof(why)) == -1) {
			printf("%s\t-\t-\t-\t-\t-\t# %s\n", runs[i], why);
			continue;
		}
		bytes = m.registry.size;
		for (k = 0; k < m.ntenants; k++)
			bytes += m.tenants[k].size;
		memset(&f, 0, sizeof(f));
		f.run = runs[i];
		(void)registry_backup_runs(reg, find_run, &f);
		util_iso8601(when, m.started_at);
		printf("%s\t%s\t%zu\t%lld\t%s\t%s\n", runs[i], when,
		    m.ntenants, bytes, f.ok ? "yes" : "no", !f.ok ||
		    f.found.offsite_status == -1 ? "-" :
		    f.found.offsite_status == 0 ? "copied" : "FAILED");
		backup_manifest_free(&m);
	}
	rc = 0;
out:
	free(runs);
	close_registry(cfg, kr, reg);
	return ferror(stdout) ? 1 : rc;
}

/* The newest complete run, or the one named; 0 or -1 (said why). */
static int
pick_run(const char *bdir, const char *want, char out[BACKUP_RUN_LEN + 1])
{
	char		(*runs)[BACKUP_RUN_LEN + 1] = NULL;
	size_t		 n = 0, i;
	int		 rc = -1;

	if (backup_list(bdir, &runs, &n) == -1) {
		fprintf(stderr, "cellarctl: %s/runs: %s\n", bdir,
		    strerror(errno));
		return -1;
	}
	if (want == NULL && n > 0) {
		memcpy(out, runs[n - 1], BACKUP_RUN_LEN + 1);
		rc = 0;
	}
	for (i = 0; want != NULL && i < n; i++)
		if (strcmp(runs[i], want) == 0) {
			memcpy(out, runs[i], BACKUP_RUN_LEN + 1);
			rc = 0;
		}
	if (rc == -1)
		fprintf(stderr, "cellarctl: %s\n", want == NULL ? "no complete "
		    "backup run (cellar-reaper backup makes one)" :
		    "no such complete run (cellarctl backup list shows them)");
	free(runs);
	return rc;
}

int
cmd_backup_verify(const char *dir, char **args)
{
	struct backup_manifest m;
	struct conf	*cfg = NULL;
	struct keyring	*kr;
	struct registry	*reg;
	char		 run[BACKUP_RUN_LEN + 1], rundir[PATH_MAX], why[300];
	size_t		 gone = 0;
	int		 rc = 1;

	memset(&m, 0, sizeof(m));
	if (open_registry(dir, &cfg, &kr, &reg) == -1 ||
	    pick_run(conf_str(cfg, C_BACKUP_DIR), args[0], run) == -1)
		goto out;
	(void)file_pathf(rundir, sizeof(rundir), "%s/runs/%s",
	    conf_str(cfg, C_BACKUP_DIR), run);
	if (backup_manifest_load(rundir, &m, why, sizeof(why)) == -1 ||
	    backup_verify(reg, kr, rundir, &m, &gone, why, sizeof(why)) == -1) {
		printf("%s: FAILED: %s\n", run, why);
		goto out;
	}
	printf("%s: ok: the registry and %zu tenant copies reopen under "
	    "their keys and match the manifest", run, m.ntenants - gone);
	if (gone > 0)
		printf(" (%zu copies of tenants deleted since skipped)", gone);
	printf("\n");
	rc = 0;
out:
	backup_manifest_free(&m);
	close_registry(cfg, kr, reg);
	return ferror(stdout) ? 1 : rc;
}

/* The manifest entry of tenant id in m, or NULL. */
static const struct backup_file *
entry(const struct backup_manifest *m, const char *id)
{
	size_t	 i;

	for (i = 0; i < m->ntenants; i++)
		if (strcmp(m->tenants[i].id, id) == 0)
			return &m->tenants[i];
	return NULL;
}

/*
 * Puts the copy staged at stage in place of the tenant's file: the old
 * -wal, -shm and -journal go first (left beside the restored file, a
 * -wal would be replayed over it and a hot -journal rolled back into
 * it), then the rename.  The tenant is held meanwhile.
 */
static int
swap_in(const char *live, const char *stage)
{
	char	 p[PATH_MAX];

	if (file_pathf(p, sizeof(p), "%s-wal", live) == -1 ||
	    (unlink(p) == -1 && errno != ENOENT) ||
	    file_pathf(p, sizeof(p), "%s-shm", live) == -1 ||
	    (unlink(p) == -1 && errno != ENOENT) ||
	    file_pathf(p, sizeof(p), "%s-journal", live) == -1 ||
	    (unlink(p) == -1 && errno != ENOENT))
		return -1;
	if (rename(stage, live) == -1)
		return -1;
	return file_fsync_parent(live);
}

/*
 * Takes STATE/reaper.lock as a reaper run does (flock): a restore and a
 * reaper run never overlap.  The descriptor, or -1 (said why).
 */
static int
lock_reaper(const char *state_dir)
{
	char	 path[PATH_MAX];
	int	 fd;

	if (file_pathf(path, sizeof(path), "%s/reaper.lock", state_dir) ==
	    -1 || (fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600)) == -1) {
		fprintf(stderr, "cellarctl: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		fprintf(stderr, "cellarctl: a reaper run holds %s; restore "
		    "when it is done\n", path);
		close(fd);
		return -1;
	}
	return fd;
}

int
cmd_restore(const char *dir, char **args)
{
	const struct backup_file *f;
	struct backup_manifest m;
	struct conf	*cfg = NULL;
	struct keyring	*kr;
	struct registry	*reg;
	struct tenant	 t;
	unsigned char	*key = NULL, *cur = NULL;
	sqlite3		*copy = NULL;
	int		 lock = -1;
	long long	 created;
	int		 cv, cm;
	const char	*id = args[0], *from = NULL;
	char		 run[BACKUP_RUN_LEN + 1], rundir[PATH_MAX], why[300];
	char		 src[PATH_MAX], stage[PATH_MAX], scratch[PATH_MAX];
	char		*live = NULL, detail[64];
	int		 rc = 1, held;

	memset(&m, 0, sizeof(m));
	memset(&t, 0, sizeof(t));
	if (args[1] != NULL) {
		if (strcmp(args[1], "--from") != 0 || args[2] == NULL) {
			fprintf(stderr, "usage: cellarctl restore TENANT-ID "
			    "[--from RUN]\n");
			return 2;
		}
		from = args[2];
	}
	if (open_registry(dir, &cfg, &kr, &reg) == -1)
		goto out;
	/* Never beside a reaper run: a rotation could retire the file. */
	if ((lock = lock_reaper(conf_str(cfg, C_SERVER_STATE_DIR))) == -1)
		goto out;
	if (registry_get(reg, id, &t) != ERR_OK) {
		fprintf(stderr, "cellarctl: %s: no such tenant (a deleted "
		    "tenant cannot be restored: its keys are destroyed)\n", id);
		goto out;
	}
	if (t.state != TENANT_INSTALLED) {
		fprintf(stderr, "cellarctl: %s has departed: it is not "
		    "restored (a reinstall within the grace period keeps its "
		    "data)\n", id);
		goto out;
	}
	if (pick_run(conf_str(cfg, C_BACKUP_DIR), from, run) == -1)
		goto out;
	(void)file_pathf(rundir, sizeof(rundir), "%s/runs/%s",
	    conf_str(cfg, C_BACKUP_DIR), run);
	if (backup_manifest_load(rundir, &m, why, sizeof(why)) == -1) {
		fprintf(stderr, "cellarctl: %s: %s\n", run, why);
		goto out;
	}
	if ((f = entry(&m, id)) == NULL) {
		fprintf(stderr, "cellarctl: run %s holds no copy of %s\n", run,
		    id);
		goto out;
	}
	if ((key = sodium_malloc(KEY_BYTES)) == NULL ||
	    (cur = sodium_malloc(KEY_BYTES)) == NULL ||
	    registry_dek(reg, id, cur, &cv, &cm, &created) == -1 ||
	    cv != t.dek_version ||
	    (live = registry_tenant_path(reg, id, t.dek_version)) == NULL ||
	    registry_dek_at(reg, id, f->key_version, key) == -1 ||
	    file_pathf(src, sizeof(src), "%s/%s", rundir, f->file) == -1 ||
	    file_pathf(stage, sizeof(stage), "%s.restore", live) == -1 ||
	    file_pathf(scratch, sizeof(scratch), "%s/runs/.scratch",
	    conf_str(cfg, C_BACKUP_DIR)) == -1) {
		fprintf(stderr, "cellarctl: %s: its data key does not open\n",
		    id);
		goto out;
	}
	/* The copy first: a bad one never replaces anything. */
	(void)mkdir(scratch, 0700);
	if (backup_check(src, key, f, scratch, why, sizeof(why)) == -1) {
		fprintf(stderr, "cellarctl: run %s, tenant %s: %s; try another "
		    "run (--from)\n", run, id, why);
		goto out;
	}
	unlink(stage);
	/*
	 * Staged under the tenant's current data key: a run made before a
	 * rotation is re-encrypted (its old key is kept while the run is).
	 */
	if (db_open_copy(src, key, 0, &copy) != DB_OK ||
	    db_backup_to(copy, stage, cur) != DB_OK) {
		fprintf(stderr, "cellarctl: %s: the copy could not be staged "
		    "under the current key\n", stage);
		goto out;
	}
	sqlite3_close(copy);
	copy = NULL;
	/* Held: every worker drops its handle and answers 503 meanwhile. */
	if ((held = registry_quarantine(reg, id, clock_now(), "restore")) ==
	    -1 || swap_in(live, stage) == -1) {
		fprintf(stderr, "cellarctl: %s: the swap failed (%s); the "
		    "tenant stays held, run the restore again\n", id,
		    strerror(errno));
		unlink(stage);
		goto out;
	}
	registry_tenant_free(&t);
	if (registry_get(reg, id, &t) != ERR_OK ||
	    tenantdb_verify(reg, &t) == -1) {
		fprintf(stderr, "cellarctl: %s: the restored file does not "
		    "read back; the tenant stays held\n", id);
		goto out;
	}
	snprintf(detail, sizeof(detail), "run=%s", run);
	if (registry_audit_add(reg, clock_now(), "restore", id, detail) !=
	    ERR_OK || registry_release(reg, id, clock_now()) != ERR_OK) {
		fprintf(stderr, "cellarctl: %s: restored, but the registry "
		    "could not be updated; cellarctl tenant release %s\n", id,
		    id);
		goto out;
	}
	printf("%s: restored from run %s (%lld bytes); serving again\n", id,
	    run, f->size);
	rc = 0;
out:
	if (lock != -1)
		close(lock);
	sqlite3_close(copy);
	if (key != NULL)
		sodium_free(key);
	if (cur != NULL)
		sodium_free(cur);
	free(live);
	backup_manifest_free(&m);
	registry_tenant_free(&t);
	close_registry(cfg, kr, reg);
	return rc;
}
