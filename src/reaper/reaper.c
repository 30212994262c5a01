/*
 * What the jobs share: where the runs are, and the offsite command.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cellar/clock.h"
#include "cellar/conf.h"
#include "cellar/file.h"
#include "cellar/log.h"
#include "cellar/registry.h"
#include "reaper.h"

int
reaper_runs_dir(const struct reaper *r, char *out, size_t outsz)
{
	return snprintf(out, outsz, "%s/runs", r->backup_dir) >= (int)outsz ?
	    -1 : 0;
}

int
reaper_offsite(struct reaper *r, const char *rundir)
{
	const char	*cmd = conf_str(r->cfg, C_BACKUP_OFFSITE_COMMAND);
	long long	 deadline;
	char		 mf[4096];
	pid_t		 pid, w;
	int		 status, devnull;
	struct timespec	 tick = { 0, 100 * 1000 * 1000 };

	if (cmd == NULL || cmd[0] == '\0')
		return -1;
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == -1)
		return 127;
	if (pid == 0) {
		/* Its own group, so a timeout kills all it started. */
		setpgid(0, 0);
		if ((devnull = open("/dev/null", O_RDONLY)) != -1) {
			dup2(devnull, 0);
			close(devnull);
		}
		/* Its output goes to our stderr, never into our stdout. */
		dup2(2, 1);
		/* The command as the operator wrote it; the run is "$1". */
		execl("/bin/sh", "sh", "-c", cmd, "cellar-offsite", rundir,
		    (char *)NULL);
		_exit(127);
	}
	setpgid(pid, pid);
	deadline = clock_mono() + conf_int(r->cfg, C_BACKUP_OFFSITE_TIMEOUT);
	for (;;) {
		if ((w = waitpid(pid, &status, WNOHANG)) == pid)
			break;
		if (w == -1 && errno != EINTR)
			return 127;
		if (clock_mono() >= deadline) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			(void)waitpid(pid, &status, 0);
			log_msg(LOGL_ERR, NULL, "job=offsite "
			    "reason=offsite_timeout");
			return 124;
		}
		nanosleep(&tick, NULL);
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
	    (file_pathf(mf, sizeof(mf), "%s/manifest.json", rundir) == -1 ||
	    access(mf, F_OK) == -1)) {
		/* It "succeeded" by deleting what it was to copy. */
		log_msg(LOGL_ERR, NULL, "job=offsite reason=offsite_removed_run");
		return 125;
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

void
reaper_step(const char *name)
{
	const char	*kill_at = getenv("CELLAR_REAPER_KILL_AT");

	if (getenv("CELLAR_REAPER_STEPS") != NULL)
		fprintf(stderr, "step: %s\n", name);
	if (kill_at != NULL && strcmp(kill_at, name) == 0) {
		fflush(stdout);
		fflush(stderr);
		raise(SIGKILL);
	}
}

int
reaper_send_offsite(struct reaper *r, const char *job, const char *run,
    int failed_mark)
{
	char	 runs[PATH_MAX], dir[PATH_MAX];
	int	 st;

	if (reaper_runs_dir(r, runs, sizeof(runs)) == -1 ||
	    file_pathf(dir, sizeof(dir), "%s/%s", runs, run) == -1)
		return 127;
	if ((st = reaper_offsite(r, dir)) == -1)
		return -1;
	if (st != 0)
		log_msg(LOGL_ERR, NULL, "job=%s run=%s reason=offsite_failed "
		    "status=%d", job, run, st);
	if (registry_backup_offsite(r->reg, run, clock_now(), st == 0 ? 0 :
	    failed_mark != 0 ? failed_mark : st) != ERR_OK) {
		log_msg(LOGL_ERR, NULL, "job=%s run=%s reason=record_failed",
		    job, run);
		if (st == 0)
			st = 127;
	}
	return st;
}

int
reaper_ids_add(struct reaper_ids *l, const char *id)
{
	void	*v;
	size_t	 cap;

	if (l->n == l->cap) {
		cap = l->cap ? l->cap * 2 : 64;
		if ((v = reallocarray(l->ids, cap, sizeof(*l->ids))) == NULL)
			return -1;
		l->ids = v;
		l->cap = cap;
	}
	memcpy(l->ids[l->n++], id, sizeof(*l->ids));
	return 0;
}

void
reaper_ids_free(struct reaper_ids *l)
{
	free(l->ids);
	memset(l, 0, sizeof(*l));
}
