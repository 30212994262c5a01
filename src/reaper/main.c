/*
 * cellar-reaper: purge, reconcile, rotate, backup and prune, run daily by a
 * systemd timer (conf/systemd/cellar-reaper.timer) or cron.
 *
 *	cellar-reaper [--config DIR] [--now] [--dry-run] run|JOB
 *
 * "run" does every job that is due, in the table's order; "JOB" one
 * job.  --now ignores "is it due"; --dry-run prints what would be done
 * and changes nothing.  One run at a time: a second one finds the lock
 * (STATE/reaper.lock, flock) held and exits at once.  Workers keep
 * serving throughout: the reaper uses the same registry and files
 * through SQLite's locks.
 *
 * Output: one line per job on stdout ("purge: ok, ... (0.12 s)");
 * failures on stderr in the app log's format (job, reason code; never
 * customer data or key material).  Exit status: 0 all due work done,
 * 1 a job failed, 2 usage, 75 another run holds the lock.
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

#include "cellar/clock.h"
#include "cellar/conf.h"
#include "cellar/db.h"
#include "cellar/keys.h"
#include "cellar/log.h"
#include "cellar/memlock.h"
#include "cellar/registry.h"
#include "cellar/util.h"
#include "cellar/version.h"
#include "reaper.h"

#define EXIT_LOCKED	75	/* EX_TEMPFAIL */

/*
 * The jobs, in the order "run" does them: purge first (nothing of a
 * departed tenant gets into tonight's backup), reconcile before backup
 * (tonight's copies hold the panoramas without the issues Jira no
 * longer has), rotate before backup (tonight's copies are under the new
 * keys), prune last (it never deletes the run just made).  every:
 * seconds between runs that succeeded (0: every run).  Backups and
 * reconciles are daily (a reconcile asks every tenant's Jira about every
 * issue of its panoramas); 20 h rather than 24 so that a timer firing a
 * little early does not skip a day.
 */
static const struct job {
	const char	*name;
	long long	 every;
	int		(*fn)(struct reaper *);
} jobs[] = {
	{ "silence", 0, job_silence },	/* Forge: no uninstall event */
	{ "purge", 0, job_purge },
	{ "reconcile", 20 * 3600, job_reconcile },
	{ "report", 0, job_report },	/* each tenant's own cycle */
	{ "rotate", 0, job_rotate },	/* its keys' ages say what is due */
	{ "backup", 20 * 3600, job_backup },
	{ "prune", 0, job_prune },
};

#define NJOBS	(sizeof(jobs) / sizeof(jobs[0]))

static int
usage(void)
{
	fprintf(stderr, "usage: cellar-reaper [--config DIR] [--now] "
	    "[--dry-run] run|silence|purge|reconcile|report|rotate|backup|prune\n"
	    "       cellar-reaper --version\n");
	return 2;
}

/* Takes STATE/reaper.lock; the descriptor stays open until exit. */
static int
lock_state(const char *state_dir)
{
	char	*path;
	int	 fd;

	if ((path = util_path_join(state_dir, "reaper.lock")) == NULL)
		return -1;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd == -1) {
		fprintf(stderr, "cellar-reaper: %s: %s\n", path,
		    strerror(errno));
		free(path);
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		fprintf(stderr, "cellar-reaper: another run holds %s; "
		    "exiting\n", path);
		free(path);
		close(fd);
		return -2;
	}
	free(path);
	return fd;
}

/* Whether job j is due; says why not on stdout. */
static int
job_due(struct reaper *r, const struct job *j)
{
	long long	 ok_at;
	char		 when[21];

	if (r->force || j->every == 0)
		return 1;
	if (registry_job_last(r->reg, j->name, &ok_at) == -1)
		return 1;
	if (ok_at == 0 || r->now - ok_at >= j->every)
		return 1;
	/* Done "in the future": the clock was ahead then, or is behind now. */
	if (ok_at > r->now + 300) {
		log_msg(LOGL_WARN, NULL, "job=%s reason=last_run_in_future",
		    j->name);
		return 1;
	}
	util_iso8601(when, ok_at);
	printf("%s: not due (last done %s)\n", j->name, when);
	return 0;
}

static int
run_job(struct reaper *r, const struct job *j)
{
	long long	 t0;
	int		 rc;

	r->now = clock_now();
	if (!job_due(r, j))
		return 0;
	r->detail[0] = '\0';
	t0 = clock_mono_usec();
	rc = j->fn(r);
	printf("%s: %s%s%s%s (%.2f s)\n", j->name, rc == 0 ? "ok" : "FAILED",
	    r->dry_run ? ", dry run" : "", r->detail[0] ? ", " : "",
	    r->detail, (double)(clock_mono_usec() - t0) / 1e6);
	fflush(stdout);
	if (rc == -1)
		log_msg(LOGL_ERR, NULL, "job=%s reason=job_failed", j->name);
	if (!r->dry_run && registry_job_done(r->reg, j->name, clock_now(),
	    rc == 0, r->detail) != ERR_OK) {
		log_msg(LOGL_ERR, NULL, "job=%s reason=job_record_failed",
		    j->name);
		rc = -1;
	}
	return rc;
}

int
main(int argc, char *argv[])
{
	struct reaper	 r;
	const char	*dir, *what = NULL;
	char		 err[CONF_ERRLEN];
	size_t		 i;
	int		 ch, lock = -1, status = 1, found = 0;

	umask(077);
	memset(&r, 0, sizeof(r));
	if ((dir = conf_dir_from_args(&argc, argv)) == NULL)
		return usage();
	for (ch = 1; ch < argc; ch++) {
		if (strcmp(argv[ch], "--now") == 0)
			r.force = 1;
		else if (strcmp(argv[ch], "--dry-run") == 0)
			r.dry_run = 1;
		else if (strcmp(argv[ch], "--help") == 0 ||
		    strcmp(argv[ch], "-h") == 0) {
			printf("usage: cellar-reaper [--config DIR] [--now] "
			    "[--dry-run] run|silence|purge|reconcile|report|"
			    "rotate|backup|prune\n\n"
			    "  run      every job that is due: silence, purge, "
			    "reconcile, report, rotate, backup, prune\n"
			    "  silence  depart Forge-only tenants silent for "
			    "[forge] silent_days\n"
			    "  purge    delete tenants departed more than "
			    "[reaper] grace_days ago\n"
			    "  reconcile  remove panorama nodes of issues "
			    "Jira no longer has (daily)\n"
			    "  report   report stored account ids to "
			    "Atlassian, erase closed ones (each tenant's "
			    "cycle)\n"
			    "  rotate   replace keys older than [reaper] "
			    "rotate_days\n"
			    "  backup   a verified run in [backup] dir, then "
			    "the offsite command (daily)\n"
			    "  prune    old runs, leftovers, orphan tenant "
			    "files\n"
			    "  --now    ignore \"is it due\"\n"
			    "  --dry-run  say what would be done, change "
			    "nothing\n\n"
			    "Exit: 0 done, 1 a job failed, 2 usage, 75 another "
			    "run holds the lock.  README: \"The reaper\".\n");
			return 0;
		} else if (strcmp(argv[ch], "--version") == 0) {
			printf("cellar-reaper %s\n", CELLAR_VERSION);
			return 0;
		} else if (argv[ch][0] == '-' || what != NULL)
			return usage();
		else
			what = argv[ch];
	}
	if (what == NULL)
		return usage();
	for (i = 0; i < NJOBS; i++)
		found |= strcmp(what, jobs[i].name) == 0;
	if (!found && strcmp(what, "run") != 0) {
		fprintf(stderr, "cellar-reaper: unknown job '%s'\n", what);
		return usage();
	}
	/* Before any key is in memory; refused: the libraries lock theirs. */
	(void)memlock_all();
	if (sodium_init() < 0 || db_selftest() == -1) {
		fprintf(stderr, "cellar-reaper: libsodium or SQLCipher failed "
		    "its self-test\n");
		return 1;
	}
	if ((r.cfg = conf_load_cellar(dir, err)) == NULL) {
		fprintf(stderr, "cellar-reaper: %s\n", err);
		return 1;
	}
	log_init("cellar-reaper", (enum log_level)log_level_parse(
	    conf_str(r.cfg, C_SERVER_LOG_LEVEL)));
	r.state_dir = conf_str(r.cfg, C_SERVER_STATE_DIR);
	r.backup_dir = conf_str(r.cfg, C_BACKUP_DIR);
	if ((lock = lock_state(r.state_dir)) < 0) {
		status = lock == -2 ? EXIT_LOCKED : 1;
		goto out;
	}
	if ((r.kr = keys_load(conf_str(r.cfg, C_KEYS_DIR), err,
	    sizeof(err))) == NULL ||
	    (r.reg = registry_open(r.state_dir, r.kr, 0, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "cellar-reaper: %s (cellarctl config check "
		    "says what to do)\n", err);
		goto out;
	}
	status = 0;
	for (i = 0; i < NJOBS; i++)
		if ((strcmp(what, "run") == 0 ||
		    strcmp(what, jobs[i].name) == 0) &&
		    run_job(&r, &jobs[i]) == -1)
			status = 1;
out:
	registry_close(r.reg);
	keys_free(r.kr);
	conf_free(r.cfg);
	if (lock >= 0)
		close(lock);
	return status;
}
