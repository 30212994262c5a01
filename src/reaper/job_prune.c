/*
 * prune: backup runs older than [backup] keep_days (the newest complete
 * run is always kept), runs that failed or were killed, scratch files,
 * and tenant files that belong to no tenant (an install killed half-way)
 * once they are 10 minutes old.  A run is deleted by renaming it
 * RUN.deleting first (it stops being a run at once), forgetting it in
 * the registry, then removing the tree; a crash leaves a RUN.deleting
 * the next prune removes (and recorded runs no longer on disk are
 * forgotten).  It also checks log retention for the audit: an access
 * log file older than 7 days (plus logrotate's day) is named in the log
 * and its result line (cellarctl audit shows it BROKEN).
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cellar/backup.h"
#include "cellar/clock.h"
#include "cellar/conf.h"
#include "cellar/file.h"
#include "cellar/log.h"
#include "cellar/registry.h"
#include "reaper.h"

#define ORPHAN_AGE	600	/* seconds; as cellarctl orphans --remove */
#define LOG_DAYS_MAX	8	/* 7 days kept, plus logrotate's day */

struct prune {
	struct reaper	*r;
	int		 runs, leftovers, orphans;
	int		 failed;
};

/* Removes a run: rename to .deleting, forget, remove. */
static int
drop_run(struct prune *p, const char *runs, const char *name, int complete)
{
	char	 from[PATH_MAX], to[PATH_MAX];

	if (p->r->dry_run) {
		printf("prune: would delete %s\n", name);
		return 0;
	}
	file_pathf(from, sizeof(from), "%s/%s", runs, name);
	file_pathf(to, sizeof(to), "%s/%.*s.deleting", runs, BACKUP_RUN_LEN,
	    name);
	if (rename(from, to) == -1 || file_fsync_dir(runs) == -1)
		return -1;
	reaper_step("prune.run_renamed");
	if (complete && registry_backup_forget(p->r->reg, name) != ERR_OK)
		return -1;
	reaper_step("prune.run_forgotten");
	return file_remove_tree(to);
}

/* 1 if a directory entry of runs/ is a run left by a failure or kill. */
static int
leftover(const char *name)
{
	static const char *const sfx[] = { ".tmp", ".deleting", ".failed" };
	size_t	 i;

	if (strlen(name) <= BACKUP_RUN_LEN)
		return 0;
	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++)
		if (strcmp(name + BACKUP_RUN_LEN, sfx[i]) == 0)
			return 1;
	return 0;
}

static int
prune_runs(struct prune *p)
{
	char		(*list)[BACKUP_RUN_LEN + 1] = NULL;
	char		 runs[PATH_MAX], path[PATH_MAX];
	struct dirent	*de;
	long long	 cutoff, t;
	size_t		 n = 0, i;
	DIR		*d;

	cutoff = p->r->now - conf_int(p->r->cfg, C_BACKUP_KEEP_DAYS) *
	    CLOCK_DAY;
	if (reaper_runs_dir(p->r, runs, sizeof(runs)) == -1)
		return -1;
	if ((d = opendir(runs)) == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".scratch") == 0) {
			file_pathf(path, sizeof(path), "%s/%s", runs, de->d_name);
			if (!p->r->dry_run && file_remove_tree(path) == -1)
				p->failed = 1;
			continue;
		}
		/* .failed runs are kept as long as good ones, to look at. */
		if (!leftover(de->d_name) || (strcmp(de->d_name +
		    BACKUP_RUN_LEN, ".failed") == 0 &&
		    (t = backup_run_time(de->d_name)) != -1 && t >= cutoff))
			continue;
		if (drop_run(p, runs, de->d_name, 0) == -1)
			p->failed = 1;
		else
			p->leftovers++;
	}
	closedir(d);
	if (backup_list(p->r->backup_dir, &list, &n) == -1)
		return -1;
	/* The newest complete run stays, however old. */
	for (i = 0; n > 0 && i < n - 1; i++) {
		if ((t = backup_run_time(list[i])) == -1 || t >= cutoff)
			continue;
		if (drop_run(p, runs, list[i], 1) == -1) {
			log_msg(LOGL_ERR, NULL, "job=prune run=%s "
			    "reason=run_not_deleted", list[i]);
			p->failed = 1;
		} else
			p->runs++;
	}
	free(list);
	return 0;
}

/* Forgets recorded runs that are no longer on disk (a prune cut short). */
struct gone {
	struct prune	*p;
	char		(*list)[BACKUP_RUN_LEN + 1];
	size_t		 n;
	char		(*forget)[BACKUP_RUN_LEN + 1];
	size_t		 nforget;
};

static int
gone_one(const struct backup_run *br, void *arg)
{
	struct gone	*g = arg;
	size_t		 i;

	for (i = 0; i < g->n; i++)
		if (strcmp(g->list[i], br->run) == 0)
			return 0;
	if (g->nforget < g->n + 64)
		memcpy(g->forget[g->nforget++], br->run, BACKUP_RUN_LEN + 1);
	return 0;
}

static int
forget_gone(struct prune *p)
{
	struct gone	 g;
	size_t		 i;
	int		 rc = 0;

	memset(&g, 0, sizeof(g));
	g.p = p;
	if (backup_list(p->r->backup_dir, &g.list, &g.n) == -1 ||
	    (g.forget = calloc(g.n + 64, sizeof(*g.forget))) == NULL) {
		free(g.list);
		return -1;
	}
	if (registry_backup_runs(p->r->reg, gone_one, &g) == -1)
		rc = -1;
	for (i = 0; rc == 0 && i < g.nforget && !p->r->dry_run; i++)
		if (registry_backup_forget(p->r->reg, g.forget[i]) != ERR_OK)
			rc = -1;
	free(g.list);
	free(g.forget);
	return rc;
}

static int
orphan(const char *id, const char *path, long long mtime, void *arg)
{
	struct prune	*p = arg;

	if (p->r->now - mtime < ORPHAN_AGE)
		return 0;
	if (p->r->dry_run)
		printf("prune: would remove orphan tenant file %s\n", id);
	else {
		if (registry_remove_files(path) == -1)
			p->failed = 1;
	}
	p->orphans++;
	return 0;
}

/*
 * Log retention, for the audit: nginx's access logs (and their rotated
 * files) must not be older than 7 days, plus logrotate's day.  Counts
 * the files that are; -1 if the directory cannot be read.
 */
static int
old_logs(struct reaper *r)
{
	const char	*dir = conf_str(r->cfg, C_LOGS_ACCESS_LOG_DIR);
	struct dirent	*de;
	struct stat	 sb;
	char		 path[PATH_MAX];
	DIR		*d;
	int		 n = 0;

	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, "access", 6) == 0 &&
		    file_pathf(path, sizeof(path), "%s/%s", dir,
		    de->d_name) == 0 && stat(path, &sb) == 0 &&
		    S_ISREG(sb.st_mode) && r->now - (long long)sb.st_mtime >
		    LOG_DAYS_MAX * CLOCK_DAY)
			n++;
	closedir(d);
	return n;
}

/* Runs the offsite command with the newest complete run; 0 or -1. */
static int
offsite_after_prune(struct reaper *r)
{
	char		(*list)[BACKUP_RUN_LEN + 1] = NULL;
	size_t		 n = 0;
	int		 rc = 0;

	if (backup_list(r->backup_dir, &list, &n) == 0 && n > 0 &&
	    reaper_send_offsite(r, "prune", list[n - 1], 0) > 0)
		rc = -1;
	free(list);
	return rc;
}

int
job_prune(struct reaper *r)
{
	struct prune	 p;
	int		 logs, kfiles = 0, kkeys = 0, kmasters = 0;

	memset(&p, 0, sizeof(p));
	p.r = r;
	if (prune_runs(&p) == -1) {
		log_msg(LOGL_ERR, NULL, "job=prune reason=runs_unreadable");
		p.failed = 1;
	}
	if (forget_gone(&p) == -1) {
		log_msg(LOGL_ERR, NULL, "job=prune reason=registry_runs");
		p.failed = 1;
	}
	if (registry_orphans(r->reg, orphan, &p) == -1) {
		log_msg(LOGL_ERR, NULL, "job=prune reason=orphans_failed");
		p.failed = 1;
	}
	/* Said, for the audit to show; logrotate, not we, deletes logs. */
	if ((logs = old_logs(r)) > 0)
		log_msg(LOGL_WARN, NULL, "job=prune reason=log_retention "
		    "files=%d", logs);
	else if (logs == -1)
		log_msg(LOGL_WARN, NULL, "job=prune reason=log_dir_unreadable");
	/*
	 * The offsite copy must lose the pruned runs too: the command runs
	 * once more with the newest run (a mirror of its parent directory,
	 * as the README advises, deletes the pruned ones there).
	 */
	if (p.runs > 0 && !r->dry_run && offsite_after_prune(r) == -1)
		p.failed = 1;
	/* Keys only the deleted runs needed go now, not at the next run. */
	if (p.runs > 0 && !r->dry_run &&
	    reaper_key_cleanup(r, &kfiles, &kkeys, &kmasters) == -1)
		p.failed = 1;
	snprintf(r->detail, sizeof(r->detail), "%s%d runs past keep_days, "
	    "%d unfinished runs, %d orphan tenant files, %d data keys and "
	    "%d master keys no run needs; access logs %s",
	    r->dry_run ? "would delete " : "deleted ", p.runs, p.leftovers,
	    p.orphans, kkeys, kmasters, logs == -1 ? "unreadable" :
	    logs > 0 ? "KEPT TOO LONG" : "within 7 days");
	return p.failed ? -1 : 0;
}
