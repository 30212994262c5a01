/*
 * cellar-reaper: the jobs that keep cellar's data-protection promises,
 * one file each: job_purge.c (departed tenants deleted), job_reconcile.c
 * (panorama nodes of issues Jira no longer has removed), job_rotate.c
 * (master keys, the registry and data keys replaced), job_backup.c
 * (daily verified backups, copied offsite), job_prune.c (old runs,
 * leftovers, log retention).  main.c holds the job table, the lock and
 * the output.  Private to src/reaper.
 *
 * Every job is a sequence of steps, each durable before the next and
 * each safe to do again, so that a run killed at any instant (kill -9,
 * power loss) is finished by the next run; the steps are listed in each
 * job's file.
 */
#ifndef CELLAR_REAPER_H
#define CELLAR_REAPER_H

#include <stddef.h>

#include "cellar/registry.h"

struct conf;
struct keyring;
struct registry;

struct reaper {
	struct conf	*cfg;
	struct keyring	*kr;
	struct registry	*reg;
	const char	*state_dir;
	const char	*backup_dir;
	long long	 now;		/* wall clock when the job began */
	int		 dry_run;	/* say what would be done, change nothing */
	int		 force;		/* --now: ignore "is it due" */
	char		 detail[256];	/* the job's one-line result */
};

/*
 * Tenants a job visits one by one: ids only, each read again from the
 * registry when its turn comes (the earlier tenants' work took time).
 */
struct reaper_ids {
	char		(*ids)[TENANT_ID_LEN + 1];
	size_t		 n, cap;
};

/* Appends id (TENANT_ID_LEN hex); 0, or -1 out of memory. */
int	 reaper_ids_add(struct reaper_ids *, const char *id);
void	 reaper_ids_free(struct reaper_ids *);

/*
 * Each job returns 0 when all its work is done, -1 when any part failed
 * (each failure already written to the log on stderr: job, reason code,
 * tenant id at most).  r->detail says what was done, in counts.
 */
int	 job_silence(struct reaper *r);
int	 job_purge(struct reaper *r);
int	 job_report(struct reaper *r);
int	 job_reconcile(struct reaper *r);
int	 job_rotate(struct reaper *r);
int	 job_backup(struct reaper *r);
int	 job_prune(struct reaper *r);

/*
 * Runs [backup] offsite_command (sh -c) with rundir as $1, in
 * its own process group, killed after [backup] offsite_timeout seconds.
 * Returns its exit status (0 copied), 124 on a timeout, 127 if it could
 * not be started, or -1 if no command is configured.
 */
int	 reaper_offsite(struct reaper *r, const char *rundir);

/*
 * A step of a job is durable: the tests' hook.  With
 * CELLAR_REAPER_STEPS set, "step: NAME" goes to stderr; with
 * CELLAR_REAPER_KILL_AT=NAME the process kills itself (SIGKILL) there,
 * so that tests/integration/test_reaper.py can stop a run between any
 * two steps and check that the next run finishes the work.
 */
void	 reaper_step(const char *name);

/*
 * Rotation's layer 3 (job_rotate.c), also run by prune once it deleted
 * runs: old files of retired keys (10 minutes after their switch), then
 * retired data keys and master versions no kept run needs.  Adds what
 * it removed to the counts; 0, or -1 (logged).
 */
int	 reaper_key_cleanup(struct reaper *r, int *files, int *keys,
	    int *masters);

/*
 * reaper_offsite with runs/RUN, its result logged (job names the job)
 * and recorded in the registry: 0 on success; on a failure the exit
 * status, or failed_mark when it is not 0 (a purge keeps the run marked
 * BACKUP_OFFSITE_DIRTY).  Returns as reaper_offsite, or 127 when the
 * result could not be recorded.
 */
int	 reaper_send_offsite(struct reaper *r, const char *job,
	    const char *run, int failed_mark);

/* "DIR/runs" into out (PATH_MAX); 0 or -1. */
int	 reaper_runs_dir(const struct reaper *r, char *out, size_t outsz);

#endif
