/*
 * cellarctl audit: every data-protection promise of the README with the
 * evidence for it, measured from the registry, the files and the logs
 * (never from the configuration alone), each ok or BROKEN.  Exit 1 if
 * any is broken.  --json prints {"ok": bool, "promises": [{"name",
 * "ok", "evidence"}]}.
 *
 * The thresholds: a daily job may run up to 2 hours late and logrotate
 * runs daily, so "daily" is checked as at most 26 hours and "7 days" as
 * no line or file older than 8 days.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "cellar/accounts.h"
#include "cellar/backup.h"
#include "cellar/buf.h"
#include "cellar/clock.h"
#include "cellar/conf.h"
#include "cellar/db.h"
#include "cellar/file.h"
#include "cellar/json.h"
#include "cellar/keys.h"
#include "cellar/registry.h"
#include "cellar/tenantdb.h"
#include "cellar/util.h"
#include "ctl.h"

#define DAILY_MAX	(26 * 3600LL)
#define LOG_DAYS_MAX	8
#define EVIDENCE	1024

struct audit {
	struct conf	*cfg;
	struct keyring	*kr;
	struct registry	*reg;
	long long	 now;
	/* Live tenants, as the promises need them. */
	struct tenant	*ts;
	size_t		 n, cap;
};

static int
collect(const struct tenant *t, void *arg)
{
	struct audit	*a = arg;
	struct tenant	*v;

	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 64;
		if ((v = reallocarray(a->ts, a->cap, sizeof(*v))) == NULL)
			return -1;
		a->ts = v;
	}
	a->ts[a->n] = *t;
	/* Only scalars are kept: the strings die with the row. */
	a->ts[a->n].client_key = a->ts[a->n].base_url = NULL;
	a->ts[a->n].secret_sealed = NULL;
	a->n++;
	return 0;
}

/* An orphan older than a day: prune, which runs daily, missed it. */
static int
count_orphan(const char *id, const char *path, long long mtime, void *arg)
{
	(void)id;
	(void)path;
	if (clock_now() - mtime > CLOCK_DAY)
		(*(int *)arg)++;
	return 0;
}

static int
hash_cmp(const void *x, const void *y)
{
	return memcmp(x, y, 16);
}

/* Every file encrypted, under a key of its own that opens. */
static int
at_rest(struct audit *a, char *ev)
{
	unsigned char	*dek, (*h)[16] = NULL;
	char		*path, head[16];
	size_t		 i, bad = 0, missing = 0, plain = 0, dup = 0;
	long long	 created;
	int		 v, m, orphans, old_orphans = 0;

	if ((dek = sodium_malloc(KEY_BYTES)) == NULL ||
	    (h = calloc(a->n + 1, sizeof(*h))) == NULL) {
		if (dek != NULL)
			sodium_free(dek);
		free(h);
		snprintf(ev, EVIDENCE, "out of memory");
		return 1;
	}
	/* Open here: read through SQLite's descriptor (db.h). */
	plain += db_file_head(registry_sqlite(a->reg), head, sizeof(head)) ==
	    -1 || memcmp(head, "SQLite format 3", 16) == 0;
	for (i = 0; i < a->n; i++) {
		if (registry_dek(a->reg, a->ts[i].id, dek, &v, &m, &created) ==
		    -1) {
			bad++;
			continue;
		}
		crypto_generichash(h[i], 16, dek, KEY_BYTES, NULL, 0);
		if ((path = registry_tenant_path(a->reg, a->ts[i].id,
		    a->ts[i].dek_version)) ==
		    NULL)
			continue;
		if (access(path, F_OK) == -1)
			missing++;
		else
			plain += db_file_is_plaintext(path);
		free(path);
	}
	qsort(h, a->n, sizeof(*h), hash_cmp);
	for (i = 1; i < a->n; i++)
		dup += memcmp(h[i], h[i - 1], 16) == 0;
	sodium_free(dek);
	free(h);
	/* Files without a key record: an install killed half-way; prune
	 * removes them once they are 10 minutes old. */
	orphans = registry_orphans(a->reg, count_orphan, &old_orphans);
	snprintf(ev, EVIDENCE, "registry and %zu tenant files: %zu "
	    "plaintext, %zu missing, %zu data keys that do not open, %zu "
	    "shared; %d files without a key record (%d older than a day)",
	    a->n, plain, missing, bad, dup, orphans, old_orphans);
	return plain || missing || bad || dup || old_orphans > 0 || orphans < 0;
}

struct master_made {
	int		 version;
	long long	 at;
};

static int
master_made(int version, long long created, long long destroyed, void *arg)
{
	struct master_made *m = arg;

	(void)destroyed;
	if (version == m->version)
		m->at = created;
	return 0;
}

static int
count_retired(const char *id, int version, long long at, void *arg)
{
	(void)id;
	(void)version;
	(void)at;
	(*(int *)arg)++;
	return 0;
}

static int
count_destroyed(int version, long long created, long long destroyed,
    void *arg)
{
	(void)version;
	(void)created;
	*(int *)arg += destroyed != 0;
	return 0;
}

/*
 * Master key age from the registry (recorded when the reaper made it),
 * else from its file; data key ages from the registry.
 */
static int
rotation(struct audit *a, char *ev)
{
	struct master_made made = { keys_current(a->kr), 0 };
	long long	 days = conf_int(a->cfg, C_REAPER_ROTATE_DAYS);
	long long	 master_age = -1, oldest = 0;
	size_t		 i, over = 0;
	int		 cur = made.version, retired = 0, destroyed = 0;

	if (registry_masters(a->reg, master_made, &made) == -1 ||
	    made.at == 0)
		made.at = keys_created(a->kr, cur);
	if (made.at > 0)
		master_age = (a->now - made.at) / CLOCK_DAY;
	for (i = 0; i < a->n; i++) {
		long long age = (a->now - a->ts[i].dek_created) / CLOCK_DAY;

		if (age > oldest)
			oldest = age;
		over += age > days;
	}
	(void)registry_retired_keys(a->reg, count_retired, &retired);
	(void)registry_masters(a->reg, count_destroyed, &destroyed);
	snprintf(ev, EVIDENCE, "master key %d is %lld days old; oldest data "
	    "key %lld days; %zu data keys older than %lld days; %d retired "
	    "data keys kept for old files or backups; %d master versions "
	    "destroyed", cur, master_age, oldest, over, days, retired,
	    destroyed);
	/* A key "from the future" (a wrong clock then or now) is no
	 * evidence of its age. */
	return made.at <= 0 || made.at > a->now + 3600 || master_age > days ||
	    over > 0;
}

struct departed {
	struct audit	*a;
	long long	 grace;
	size_t		 due, overdue;
	long long	 next;
};

static int
departed_one(const struct purge_item *it, void *arg)
{
	struct departed	*d = arg;
	long long	 deadline;

	/* Due at grace_days; overdue once a daily run should have done it,
	 * and never later than 30 days. */
	deadline = it->uninstalled_at + (d->grace + 1) * CLOCK_DAY;
	if (deadline > it->uninstalled_at + 30 * CLOCK_DAY)
		deadline = it->uninstalled_at + 30 * CLOCK_DAY;
	if (d->a->now > deadline)
		d->overdue++;
	d->due++;
	return 0;
}

static int
departed(struct audit *a, char *ev)
{
	struct departed	 d = { a, conf_int(a->cfg, C_REAPER_GRACE_DAYS), 0, 0,
	    0 };
	size_t		 i, waiting = 0;

	if (registry_purge_due(a->reg, a->now - d.grace * CLOCK_DAY,
	    departed_one, &d) == -1) {
		snprintf(ev, EVIDENCE, "cannot read the registry");
		return 1;
	}
	for (i = 0; i < a->n; i++)
		waiting += a->ts[i].state == TENANT_DEPARTED;
	snprintf(ev, EVIDENCE, "%zu departed tenants within their %lld-day "
	    "grace; %zu due for deletion, %zu overdue", waiting - (waiting >=
	    d.due ? d.due : waiting), d.grace, d.due, d.overdue);
	return d.overdue > 0;
}

/* Every live tenant in a verified run of the last 26 hours. */
static int
daily(struct audit *a, char *ev)
{
	size_t		 i, stale = 0, fresh = 0;
	long long	 oldest = 0, age;

	for (i = 0; i < a->n; i++) {
		age = a->ts[i].backup_at ? a->now - a->ts[i].backup_at :
		    a->now - a->ts[i].installed_at;
		/* A tenant installed today is due at the next run. */
		if (a->ts[i].backup_at == 0 && age <= DAILY_MAX) {
			fresh++;
			continue;
		}
		if (age > oldest)
			oldest = age;
		/* A backup "from the future" is no evidence: a wrong clock. */
		stale += age > DAILY_MAX || age < -3600;
	}
	snprintf(ev, EVIDENCE, "%zu of %zu tenants in a verified backup of "
	    "the last 26 h, %zu installed since and due at the next run; "
	    "oldest backup %lld h", a->n - stale - fresh, a->n, fresh,
	    oldest / 3600);
	return stale > 0;
}

/* The newest run's files match its manifest; what the registry says. */
struct newest {
	struct backup_run r;
	int		 any;
};

static int
newest_run(const struct backup_run *r, void *arg)
{
	struct newest	*n = arg;

	n->r = *r;
	n->any = 1;
	return 0;
}

static int
verified(struct audit *a, char *ev)
{
	char		(*runs)[BACKUP_RUN_LEN + 1] = NULL;
	struct backup_manifest m;
	const char	*bdir = conf_str(a->cfg, C_BACKUP_DIR);
	char		 rundir[PATH_MAX], path[PATH_MAX], sha[65], why[256];
	long long	 size;
	size_t		 n = 0, i, bad = 0;

	if (backup_list(bdir, &runs, &n) == -1 || n == 0) {
		free(runs);
		snprintf(ev, EVIDENCE, "no complete backup run in %s/runs",
		    bdir);
		return 1;
	}
	(void)file_pathf(rundir, sizeof(rundir), "%s/runs/%s", bdir,
	    runs[n - 1]);
	if (backup_manifest_load(rundir, &m, why, sizeof(why)) == -1) {
		snprintf(ev, EVIDENCE, "newest run %s: %s", runs[n - 1], why);
		free(runs);
		return 1;
	}
	for (i = 0; i <= m.ntenants; i++) {
		const struct backup_file *f = i < m.ntenants ? &m.tenants[i] :
		    &m.registry;

		if (file_pathf(path, sizeof(path), "%s/%s", rundir,
		    f->file) == -1 || file_sha256(path, sha, &size) == -1 ||
		    size != f->size || strcmp(sha, f->sha256) != 0)
			bad++;
	}
	snprintf(ev, EVIDENCE, "newest run %s: %zu of %zu copies match "
	    "their SHA-256 (cellarctl backup verify reopens them)",
	    runs[n - 1], m.ntenants + 1 - bad, m.ntenants + 1);
	backup_manifest_free(&m);
	free(runs);
	return bad > 0;
}

static int
offsite(struct audit *a, char *ev)
{
	struct newest	 n;

	memset(&n, 0, sizeof(n));
	if (conf_str(a->cfg, C_BACKUP_OFFSITE_COMMAND)[0] == '\0') {
		snprintf(ev, EVIDENCE, "no [backup] offsite_command: one "
		    "copy only");
		return 1;
	}
	if (registry_backup_runs(a->reg, newest_run, &n) == -1 || !n.any) {
		snprintf(ev, EVIDENCE, "no backup run recorded");
		return 1;
	}
	snprintf(ev, EVIDENCE, "newest run %s: offsite command %s", n.r.run,
	    n.r.offsite_status == 0 ? "succeeded" :
	    n.r.offsite_status == -1 ? "never ran" : "FAILED");
	return n.r.offsite_status != 0;
}

/* No run past keep_days (a day's slack) but the newest. */
static int
retention(struct audit *a, char *ev)
{
	char		(*runs)[BACKUP_RUN_LEN + 1] = NULL;
	long long	 keep = conf_int(a->cfg, C_BACKUP_KEEP_DAYS), t;
	size_t		 n = 0, i, old = 0;

	if (backup_list(conf_str(a->cfg, C_BACKUP_DIR), &runs, &n) == -1) {
		snprintf(ev, EVIDENCE, "backup directory unreadable");
		return 1;
	}
	for (i = 0; n > 0 && i < n - 1; i++)
		if ((t = backup_run_time(runs[i])) != -1 &&
		    a->now - t > (keep + 1) * CLOCK_DAY)
			old++;
	snprintf(ev, EVIDENCE, "%zu runs kept, %zu older than %lld days",
	    n, old, keep);
	free(runs);
	return old > 0;
}

/* Seconds since the epoch of a line's leading ISO time, or -1. */
static long long
line_time(const char *line)
{
	struct tm	 tm;

	memset(&tm, 0, sizeof(tm));
	if (strptime(line, "%Y-%m-%dT%H:%M:%S", &tm) == NULL)
		return -1;
	return (long long)timegm(&tm);
}

/* What a log must never hold: tokens, secrets, query strings. */
static int
leaks(const char *line, int is_access)
{
	const char	*q, *p;

	if (strstr(line, "jwt=") != NULL || strstr(line, "sharedSecret") !=
	    NULL)
		return 1;
	/* A JWT: "eyJ" base64url "." base64url. */
	for (p = line; (p = strstr(p, "eyJ")) != NULL; p += 3) {
		q = p + 3;
		while (isalnum((unsigned char)*q) || *q == '-' || *q == '_')
			q++;
		if (*q == '.' && q - p > 10)
			return 1;
	}
	/* The access log's request is "METHOD PATH": no '?' in it. */
	if (is_access && (p = strchr(line, '"')) != NULL &&
	    (q = strchr(p + 1, '"')) != NULL &&
	    memchr(p, '?', (size_t)(q - p)) != NULL)
		return 1;
	return 0;
}

struct logscan {
	size_t		 files, old, leaky;
	long long	 oldest;	/* seconds since the epoch, 0: none */
};

static void
scan_file(struct audit *a, const char *path, int is_access, struct logscan *s)
{
	struct stat	 sb;
	char		 line[8192];
	long long	 t;
	size_t		 len = strlen(path);
	FILE		*f;

	if (stat(path, &sb) == -1 || !S_ISREG(sb.st_mode))
		return;
	s->files++;
	if (a->now - (long long)sb.st_mtime > LOG_DAYS_MAX * CLOCK_DAY)
		s->old++;
	/* Rotated and compressed: its age is its file's. */
	if (len > 3 && strcmp(path + len - 3, ".gz") == 0)
		return;
	if ((f = fopen(path, "re")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		if ((t = line_time(line)) != -1) {
			if (s->oldest == 0 || t < s->oldest)
				s->oldest = t;
			if (a->now - t > LOG_DAYS_MAX * CLOCK_DAY)
				s->old++;
		}
		if (leaks(line, is_access))
			s->leaky++;
	}
	fclose(f);
}

static int
access_logs(struct audit *a, char *ev)
{
	struct logscan	 s;
	struct dirent	*de;
	char		 path[PATH_MAX];
	const char	*dir = conf_str(a->cfg, C_LOGS_ACCESS_LOG_DIR);
	DIR		*d;

	memset(&s, 0, sizeof(s));
	if ((d = opendir(dir)) == NULL) {
		snprintf(ev, EVIDENCE, "%s: %s", dir, strerror(errno));
		return 1;
	}
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, "access", 6) == 0 &&
		    file_pathf(path, sizeof(path), "%s/%s", dir,
		    de->d_name) == 0)
			scan_file(a, path, 1, &s);
	closedir(d);
	snprintf(ev, EVIDENCE, "%zu access log files in %s; oldest line %lld "
	    "days old; %zu lines or files older than %d days; %zu lines with "
	    "a query string or token", s.files, dir, s.oldest ? (a->now -
	    s.oldest) / CLOCK_DAY : 0, s.old, LOG_DAYS_MAX, s.leaky);
	return s.files == 0 || s.old > 0 || s.leaky > 0;
}

/* journald's MaxRetentionSec in seconds from its config files, or -1. */
static long long
journald_retention(void)
{
	static const char *const pats[] = { "/etc/systemd/journald.conf",
	    "/etc/systemd/journald.conf.d/*.conf" };
	glob_t		 g;
	char		 line[512], unit[16];
	long long	 v, best = -1;
	size_t		 i, k;
	FILE		*f;

	for (i = 0; i < 2; i++) {
		if (glob(pats[i], 0, NULL, &g) != 0)
			continue;
		for (k = 0; k < g.gl_pathc; k++) {
			if ((f = fopen(g.gl_pathv[k], "re")) == NULL)
				continue;
			while (fgets(line, sizeof(line), f) != NULL) {
				unit[0] = '\0';
				if (sscanf(line, "MaxRetentionSec=%lld%15s", &v,
				    unit) < 1)
					continue;
				if (unit[0] == 'd')
					v *= CLOCK_DAY;
				else if (unit[0] == 'w')
					v *= 7 * CLOCK_DAY;
				else if (unit[0] == 'h')
					v *= 3600;
				else if (unit[0] == 'm' && unit[1] == 'i')
					v *= 60;
				else if (unit[0] != '\0' && unit[0] != 's')
					continue;
				best = v;	/* later files win */
			}
			fclose(f);
		}
		globfree(&g);
	}
	return best;
}

static int
app_log(struct audit *a, char *ev)
{
	struct logscan	 s;
	const char	*path = conf_str(a->cfg, C_LOGS_APP_LOG);
	long long	 keep;

	memset(&s, 0, sizeof(s));
	if (path[0] == '\0') {
		keep = journald_retention();
		snprintf(ev, EVIDENCE, "the journal: MaxRetentionSec %s%lld "
		    "days (conf/systemd/journald-cellar.conf sets 7)",
		    keep < 0 ? "unset, " : "", keep < 0 ? 0 : keep / CLOCK_DAY);
		return keep <= 0 || keep > 7 * CLOCK_DAY;
	}
	scan_file(a, path, 0, &s);
	snprintf(ev, EVIDENCE, "%s: oldest line %lld days old, %zu lines "
	    "older than %d days, %zu lines with a token or secret", path,
	    s.oldest ? (a->now - s.oldest) / CLOCK_DAY : 0, s.old,
	    LOG_DAYS_MAX, s.leaky);
	return s.files == 0 || s.old > 0 || s.leaky > 0;
}

/*
 * Every installed tenant's account ids reported within its cycle (the
 * reaper's report job, or a Forge tenant's cron), closed ones erased:
 * read from each tenant's own file (sql/tenant/0005).  A tenant is
 * overdue when its last completed cycle (or, never reported, its
 * install) is older than its cycle plus a daily run's slack, or lies in
 * the future (a wrong clock is no evidence).  A tenant that stores no
 * account id and never reported has nothing to report: not overdue.  A
 * held tenant cannot be read: counted apart (backup_daily and the log
 * name it).  Tenants reached through Forge alone are reported after
 * Forge's hourly trigger, not by the reaper: counted apart, and the
 * overdue ones named (the first few), so the operator knows where to
 * look.
 */
static int
accounts_reported(struct audit *a, char *ev)
{
	struct accounts_state s;
	struct account_seen *seen = NULL;
	struct tenantdb	*tdb;
	struct buf	 late = BUF_INIT(0);
	size_t		 i, live = 0, done = 0, waiting = 0, overdue = 0;
	size_t		 held = 0, unreadable = 0, forge = 0, none = 0, nseen;
	long long	 base, age, worst = 0, erased = 0, ids = 0;
	int		 bad;

	for (i = 0; i < a->n; i++) {
		if (a->ts[i].state != TENANT_INSTALLED)
			continue;
		live++;
		if (a->ts[i].quarantined_at != 0) {
			held++;
			continue;
		}
		if (tenantdb_open(a->reg, &a->ts[i], NULL, &tdb) != ERR_OK) {
			unreadable++;
			continue;
		}
		nseen = 0;
		if (accounts_state_get(tdb, &s) != ERR_OK ||
		    accounts_stored(tdb, "", 1, &seen, &nseen) != ERR_OK) {
			unreadable++;
			tenantdb_close(tdb);
			continue;
		}
		accounts_seen_free(seen, nseen);
		seen = NULL;
		tenantdb_close(tdb);
		if (a->ts[i].secret_sealed == NULL)
			forge++;
		if (nseen == 0 && s.last_completed_at == 0) {
			none++;
			continue;
		}
		erased += s.erased_total;
		ids += s.last_reported;
		base = s.last_completed_at ? s.last_completed_at :
		    a->ts[i].installed_at;
		age = a->now - base;
		if (age > (long long)s.cycle_days * CLOCK_DAY + DAILY_MAX ||
		    age < -3600) {
			if (overdue++ < 5)
				buf_addf(&late, "%s%s%s", late.len ? ", " : "",
				    a->ts[i].id, a->ts[i].secret_sealed ==
				    NULL ? " (Forge only)" : "");
			if (age > worst)
				worst = age;
		} else if (s.last_completed_at != 0)
			done++;
		else
			waiting++;
	}
	snprintf(ev, EVIDENCE, "%zu of %zu installed tenants reported within "
	    "their cycle, %zu with no account id to report, %zu installed "
	    "since and due at the next run, %zu overdue (oldest %lld days%s%s)"
	    ", %zu held, %zu unreadable; %zu reached through Forge alone "
	    "(reported after its hourly trigger); %lld ids in the last "
	    "cycles, %lld closed accounts erased", done, live, none, waiting,
	    overdue, worst / CLOCK_DAY, late.len ? ": " : "",
	    late.p != NULL && !late.failed ? late.p : "", held, unreadable,
	    forge, ids, erased);
	bad = overdue > 0 || unreadable > 0;
	buf_free(&late);
	return bad;
}

static const struct promise {
	const char	*name;
	const char	*what;
	int		(*fn)(struct audit *, char *ev);
} promises[] = {
	{ "at_rest", "every tenant file encrypted under its own key", at_rest },
	{ "key_rotation", "keys replaced every rotate_days", rotation },
	{ "departed_deleted", "departed tenants deleted after grace_days, "
	    "within 30 days", departed },
	{ "backup_daily", "every tenant in a verified backup of the last "
	    "day", daily },
	{ "backup_verified", "the newest run matches its manifest",
	    verified },
	{ "backup_offsite", "the newest run copied offsite", offsite },
	{ "backup_retention", "no backup kept past keep_days", retention },
	{ "access_log", "access logs kept 7 days, no query strings",
	    access_logs },
	{ "app_log", "app log kept 7 days, no tokens or secrets", app_log },
	{ "accounts_reported", "account ids reported, closed ones erased",
	    accounts_reported },
};

#define NPROMISES	(sizeof(promises) / sizeof(promises[0]))

int
cmd_audit(const char *dir, char **args)
{
	struct audit	 a;
	struct jw	 w = JW_INIT;
	char		 ev[EVIDENCE], *text;
	size_t		 i, len;
	int		 json, broken = 0, b;

	json = args[0] != NULL && strcmp(args[0], "--json") == 0;
	if (args[0] != NULL && !json) {
		fprintf(stderr, "usage: cellarctl audit [--json]\n");
		return 2;
	}
	memset(&a, 0, sizeof(a));
	if (open_registry(dir, &a.cfg, &a.kr, &a.reg) == -1) {
		close_registry(a.cfg, a.kr, a.reg);
		return 1;
	}
	a.now = clock_now();
	if (registry_each(a.reg, collect, &a) == -1) {
		fprintf(stderr, "cellarctl: cannot read the registry\n");
		free(a.ts);
		close_registry(a.cfg, a.kr, a.reg);
		return 1;
	}
	jw_begin_object(&w, NULL);
	jw_begin_array(&w, "promises");
	for (i = 0; i < NPROMISES; i++) {
		ev[0] = '\0';
		b = promises[i].fn(&a, ev) != 0;
		broken |= b;
		if (json) {
			jw_begin_object(&w, NULL);
			jw_string(&w, "name", promises[i].name);
			jw_string(&w, "promise", promises[i].what);
			jw_bool(&w, "ok", !b);
			jw_string(&w, "evidence", ev);
			jw_end_object(&w);
		} else
			printf("%-6s %-17s %s\n       %s\n", b ? "BROKEN" : "ok",
			    promises[i].name, promises[i].what, ev);
	}
	jw_end_array(&w);
	jw_bool(&w, "ok", !broken);
	jw_end_object(&w);
	if ((text = jw_finish(&w, &len)) != NULL && json)
		printf("%s\n", text);
	free(text);
	free(a.ts);
	close_registry(a.cfg, a.kr, a.reg);
	if (ferror(stdout))
		return 1;
	return broken ? 1 : 0;
}
