/*
 * Backup runs (backup.h): consistent encrypted copies, their manifest,
 * and the check that reopens each copy.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "cellar/backup.h"
#include "cellar/file.h"
#include "cellar/json.h"
#include "cellar/keys.h"

#define MANIFEST_FORMAT		"cellar-backup"
#define MANIFEST_VERSION	1
#define MANIFEST_MAX		(64LL * 1024 * 1024)

void
backup_run_name(long long t, char out[BACKUP_RUN_LEN + 1])
{
	time_t		 tt = (time_t)t;
	struct tm	 tm;

	gmtime_r(&tt, &tm);
	strftime(out, BACKUP_RUN_LEN + 1, "%Y%m%dT%H%M%SZ", &tm);
}

long long
backup_run_time(const char *name)
{
	struct tm	 tm;
	char		 run[BACKUP_RUN_LEN + 1];
	const char	*end;

	if (strlen(name) < BACKUP_RUN_LEN)
		return -1;
	memcpy(run, name, BACKUP_RUN_LEN);
	run[BACKUP_RUN_LEN] = '\0';
	if (!backup_run_valid(run))
		return -1;
	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(run, "%Y%m%dT%H%M%SZ", &tm)) == NULL ||
	    *end != '\0')
		return -1;
	return (long long)timegm(&tm);
}

int
backup_run_valid(const char *name)
{
	static const char shape[] = "ddddddddTddddddZ";	/* d: digit */
	size_t	 i;

	if (strlen(name) != BACKUP_RUN_LEN)
		return 0;
	for (i = 0; i < BACKUP_RUN_LEN; i++)
		if (shape[i] == 'd' ? (name[i] < '0' || name[i] > '9') :
		    name[i] != shape[i])
			return 0;
	return 1;
}

int
backup_count(sqlite3 *db, struct backup_file *f)
{
	sqlite3_stmt	*st = NULL, *cnt = NULL;
	const char	*name;
	char		 sql[128];
	int		 rc = -1, step;

	f->ntables = 0;
	if (db_user_version(db, &f->schema) == -1)
		return -1;
	if (sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master WHERE "
	    "type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' "
	    "ORDER BY name", -1, &st, NULL) != SQLITE_OK)
		goto out;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		name = (const char *)sqlite3_column_text(st, 0);
		/* Our own schema's names: plain words, never quoted. */
		if (name == NULL || f->ntables == BACKUP_TABLES_MAX ||
		    strlen(name) >= sizeof(f->tables[0].name) ||
		    strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") !=
		    strlen(name))
			goto out;
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM \"%s\"", name);
		if (sqlite3_prepare_v2(db, sql, -1, &cnt, NULL) != SQLITE_OK ||
		    sqlite3_step(cnt) != SQLITE_ROW)
			goto out;
		snprintf(f->tables[f->ntables].name,
		    sizeof(f->tables[0].name), "%s", name);
		f->tables[f->ntables++].rows = sqlite3_column_int64(cnt, 0);
		sqlite3_finalize(cnt);
		cnt = NULL;
	}
	rc = step == SQLITE_DONE ? 0 : -1;
out:
	sqlite3_finalize(cnt);
	sqlite3_finalize(st);
	return rc;
}

enum db_status
backup_take(sqlite3 *src, const char *path, const unsigned char *key,
    struct backup_file *f)
{
	enum db_status	 st = DB_ERROR;
	int		 in_tx = 0;

	/* One read transaction: the counts describe exactly the copy. */
	if (sqlite3_exec(src, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return DB_ERROR;
	in_tx = 1;
	if (backup_count(src, f) == -1)
		goto out;
	st = db_backup_to(src, path, key);
out:
	if (in_tx)
		(void)sqlite3_exec(src, "COMMIT", NULL, NULL, NULL);
	if (st == DB_OK && file_sha256(path, f->sha256, &f->size) == -1) {
		unlink(path);
		st = DB_ERROR;
	}
	return st;
}

/* Opens the scratch copy and compares it with f; 0 or -1 with why. */
static int
check_open(const char *scratch, const unsigned char *key,
    const struct backup_file *f, char *why, size_t whysz)
{
	struct backup_file now;
	sqlite3		*db = NULL;
	sqlite3_stmt	*st = NULL;
	const char	*v;
	size_t		 i;
	int		 rc = -1;
	enum db_status	 s;

	memset(&now, 0, sizeof(now));
	if ((s = db_open_copy(scratch, key, 0, &db)) != DB_OK) {
		snprintf(why, whysz, "does not open under its key (%s)",
		    db_status_code(s));
		return -1;
	}
	if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) !=
	    SQLITE_OK || sqlite3_step(st) != SQLITE_ROW ||
	    (v = (const char *)sqlite3_column_text(st, 0)) == NULL ||
	    strcmp(v, "ok") != 0) {
		snprintf(why, whysz, "fails PRAGMA integrity_check");
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (backup_count(db, &now) == -1 || now.schema != f->schema ||
	    now.ntables != f->ntables) {
		snprintf(why, whysz, "schema differs from the manifest");
		goto out;
	}
	for (i = 0; i < f->ntables; i++)
		if (strcmp(now.tables[i].name, f->tables[i].name) != 0 ||
		    now.tables[i].rows != f->tables[i].rows) {
			snprintf(why, whysz, "row count of table %s differs "
			    "from the manifest", f->tables[i].name);
			goto out;
		}
	if (f->id[0] != '\0' && (sqlite3_prepare_v2(db, "SELECT value FROM "
	    "meta WHERE key = 'tenant_id'", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW ||
	    (v = (const char *)sqlite3_column_text(st, 0)) == NULL ||
	    strcmp(v, f->id) != 0)) {
		snprintf(why, whysz, "names another tenant as its owner");
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rc;
}

int
backup_check(const char *path, const unsigned char *key,
    const struct backup_file *f, const char *scratch_dir, char *why,
    size_t whysz)
{
	char		 sha[65], scratch[PATH_MAX];
	long long	 size;
	int		 rc;

	struct stat	 sb;

	/* In place: a file of our own making, opened read-only. */
	if (scratch_dir == NULL)
		return check_open(path, key, f, why, whysz);
	/* The size first: a wrong one costs no read of the file. */
	if (lstat(path, &sb) == 0 && (!S_ISREG(sb.st_mode) ||
	    (long long)sb.st_size != f->size)) {
		snprintf(why, whysz, "size or SHA-256 differs from the manifest");
		return -1;
	}
	if (file_sha256(path, sha, &size) == -1) {
		snprintf(why, whysz, "cannot be read (%s)", strerror(errno));
		return -1;
	}
	if (size != f->size || strcmp(sha, f->sha256) != 0) {
		snprintf(why, whysz, "size or SHA-256 differs from the manifest");
		return -1;
	}
	if (snprintf(scratch, sizeof(scratch), "%s/verify-%d.db",
	    scratch_dir, (int)getpid()) >= (int)sizeof(scratch)) {
		snprintf(why, whysz, "scratch path too long");
		return -1;
	}
	unlink(scratch);
	if (file_copy(path, scratch) == -1) {
		snprintf(why, whysz, "cannot be copied to the scratch "
		    "directory (%s)", strerror(errno));
		return -1;
	}
	rc = check_open(scratch, key, f, why, whysz);
	unlink(scratch);
	return rc;
}

int
backup_verify(struct registry *reg, const struct keyring *kr,
    const char *rundir, const struct backup_manifest *m, size_t *gone,
    char *why, size_t whysz)
{
	unsigned char	*key;
	char		 path[PATH_MAX], scratch[PATH_MAX], one[256];
	struct tenant	 t;
	size_t		 i;
	int		 rc = -1;

	*gone = 0;
	if ((key = sodium_malloc(KEY_BYTES)) == NULL) {
		snprintf(why, whysz, "out of memory");
		return -1;
	}
	/* Scratch beside the runs: same file system, never in a run. */
	if (snprintf(scratch, sizeof(scratch), "%s/../.scratch", rundir) >=
	    (int)sizeof(scratch) || (mkdir(scratch, 0700) == -1 &&
	    errno != EEXIST)) {
		snprintf(why, whysz, "cannot make the scratch directory");
		goto out;
	}
	snprintf(path, sizeof(path), "%s/%s", rundir, m->registry.file);
	if (keys_derive(kr, m->registry.key_version, KDF_REGISTRY, key) ==
	    -1) {
		snprintf(why, whysz, "registry: master key %d is gone",
		    m->registry.key_version);
		goto out;
	}
	if (backup_check(path, key, &m->registry, scratch, one,
	    sizeof(one)) == -1) {
		snprintf(why, whysz, "registry: %s", one);
		goto out;
	}
	for (i = 0; i < m->ntenants; i++) {
		const struct backup_file *f = &m->tenants[i];

		if (registry_get(reg, f->id, &t) != ERR_OK) {
			(*gone)++;		/* purged since */
			continue;
		}
		registry_tenant_free(&t);
		snprintf(path, sizeof(path), "%s/%s", rundir, f->file);
		if (registry_dek_at(reg, f->id, f->key_version, key) == -1) {
			snprintf(why, whysz, "tenant %s: data key %d is gone",
			    f->id, f->key_version);
			goto out;
		}
		if (backup_check(path, key, f, scratch, one,
		    sizeof(one)) == -1) {
			snprintf(why, whysz, "tenant %s: %s", f->id, one);
			goto out;
		}
	}
	rc = 0;
out:
	sodium_free(key);
	return rc;
}

int
backup_manifest_add(struct backup_manifest *m, const struct backup_file *f)
{
	struct backup_file *v;
	size_t		 cap;

	if (m->ntenants == m->cap) {
		cap = m->cap ? m->cap * 2 : 64;
		if ((v = reallocarray(m->tenants, cap, sizeof(*v))) == NULL)
			return -1;
		m->tenants = v;
		m->cap = cap;
	}
	m->tenants[m->ntenants++] = *f;
	return 0;
}

int
backup_manifest_drop(struct backup_manifest *m, const char *id)
{
	size_t	 i;

	for (i = 0; i < m->ntenants; i++)
		if (strcmp(m->tenants[i].id, id) == 0) {
			memmove(&m->tenants[i], &m->tenants[i + 1],
			    (m->ntenants - i - 1) * sizeof(m->tenants[0]));
			m->ntenants--;
			return 1;
		}
	return 0;
}

void
backup_manifest_free(struct backup_manifest *m)
{
	if (m == NULL)
		return;
	free(m->tenants);
	memset(m, 0, sizeof(*m));
}

static void
file_json(struct jw *w, const char *key, const struct backup_file *f)
{
	size_t	 i;

	jw_begin_object(w, key);
	jw_string(w, "id", f->id);
	jw_string(w, "file", f->file);
	jw_int(w, "size", f->size);
	jw_string(w, "sha256", f->sha256);
	jw_int(w, "keyVersion", f->key_version);
	jw_int(w, "schemaVersion", f->schema);
	jw_begin_object(w, "rows");
	/* Table names are our schema's: plain words (backup_count). */
	for (i = 0; i < f->ntables; i++)
		jw_int(w, f->tables[i].name, f->tables[i].rows);
	jw_end_object(w);
	jw_end_object(w);
}

int
backup_manifest_save(const char *rundir, const struct backup_manifest *m)
{
	struct jw	 w = JW_INIT;
	char		 path[PATH_MAX], *text;
	size_t		 len, i;
	int		 rc;

	jw_begin_object(&w, NULL);
	jw_string(&w, "format", MANIFEST_FORMAT);
	jw_int(&w, "version", MANIFEST_VERSION);
	jw_string(&w, "run", m->run);
	jw_int(&w, "startedAt", m->started_at);
	jw_int(&w, "finishedAt", m->finished_at);
	file_json(&w, "registry", &m->registry);
	jw_begin_array(&w, "tenants");
	for (i = 0; i < m->ntenants; i++)
		file_json(&w, NULL, &m->tenants[i]);
	jw_end_array(&w);
	jw_end_object(&w);
	if ((text = jw_finish(&w, &len)) == NULL)
		return -1;
	if (snprintf(path, sizeof(path), "%s/%s", rundir, BACKUP_MANIFEST) >=
	    (int)sizeof(path)) {
		free(text);
		return -1;
	}
	rc = file_write_whole(path, text, len);
	free(text);
	return rc;
}

/* A FILE object of the manifest into f; 0 or -1. */
static int
file_parse(const cJSON *o, struct backup_file *f, int tenant)
{
	const cJSON	*rows, *r;
	const char	*s;
	char		 want[sizeof(f->file)];
	long long	 n;

	memset(f, 0, sizeof(*f));
	if (!cJSON_IsObject(o) || json_get_str(o, "id", 0, TENANT_ID_LEN,
	    &s) != JSON_OK)
		return -1;
	if (tenant ? strlen(s) != TENANT_ID_LEN ||
	    strspn(s, "0123456789abcdef") != TENANT_ID_LEN : s[0] != '\0')
		return -1;
	memcpy(f->id, s, strlen(s) + 1);
	if (json_get_str(o, "file", 1, sizeof(f->file) - 1, &s) != JSON_OK)
		return -1;
	/* Only the names a run holds: never a path out of the run. */
	if (tenant)
		snprintf(want, sizeof(want), "tenants/%s.db", f->id);
	else
		snprintf(want, sizeof(want), "registry.db");
	if (strcmp(s, want) != 0)
		return -1;
	memcpy(f->file, s, strlen(s) + 1);
	if (json_get_int(o, "size", 0, LLONG_MAX, &f->size) != JSON_OK ||
	    json_get_str(o, "sha256", 64, 64, &s) != JSON_OK ||
	    strspn(s, "0123456789abcdef") != 64)
		return -1;
	memcpy(f->sha256, s, 65);
	if (json_get_int(o, "keyVersion", 1, INT_MAX, &n) != JSON_OK ||
	    json_get_int(o, "schemaVersion", 0, INT_MAX, &f->schema) !=
	    JSON_OK)
		return -1;
	f->key_version = (int)n;
	rows = cJSON_GetObjectItemCaseSensitive(o, "rows");
	if (!cJSON_IsObject(rows))
		return -1;
	cJSON_ArrayForEach(r, rows) {
		if (f->ntables == BACKUP_TABLES_MAX || r->string == NULL ||
		    strlen(r->string) >= sizeof(f->tables[0].name) ||
		    json_get_int(rows, r->string, 0, LLONG_MAX, &n) != JSON_OK)
			return -1;
		snprintf(f->tables[f->ntables].name, sizeof(f->tables[0].name),
		    "%s", r->string);
		f->tables[f->ntables++].rows = n;
	}
	return 0;
}

/* Reads a whole small file (at most max bytes) into a malloc'd buffer. */
static char *
slurp(const char *path, long long max, size_t *len)
{
	struct stat	 sb;
	char		*buf;
	ssize_t		 n;
	size_t		 got = 0;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return NULL;
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode) || sb.st_size > max ||
	    (buf = malloc((size_t)sb.st_size + 1)) == NULL) {
		close(fd);
		return NULL;
	}
	while (got < (size_t)sb.st_size) {
		if ((n = read(fd, buf + got, (size_t)sb.st_size - got)) <= 0) {
			if (n == -1 && errno == EINTR)
				continue;
			break;
		}
		got += (size_t)n;
	}
	close(fd);
	if (got != (size_t)sb.st_size) {
		free(buf);
		return NULL;
	}
	buf[got] = '\0';
	*len = got;
	return buf;
}

int
backup_manifest_load(const char *rundir, struct backup_manifest *m,
    char *why, size_t whysz)
{
	struct backup_file f;
	const cJSON	*arr, *it;
	cJSON		*root = NULL;
	const char	*s, *base;
	char		 path[PATH_MAX], *text = NULL;
	long long	 v;
	size_t		 len;
	int		 rc = -1;

	memset(m, 0, sizeof(*m));
	if (snprintf(path, sizeof(path), "%s/%s", rundir, BACKUP_MANIFEST) >=
	    (int)sizeof(path) || (text = slurp(path, MANIFEST_MAX,
	    &len)) == NULL) {
		snprintf(why, whysz, "no readable %s", BACKUP_MANIFEST);
		return -1;
	}
	if (json_parse(text, len, &root) != JSON_OK || !cJSON_IsObject(root) ||
	    json_get_str(root, "format", 1, 32, &s) != JSON_OK ||
	    strcmp(s, MANIFEST_FORMAT) != 0 ||
	    json_get_int(root, "version", 1, MANIFEST_VERSION, &v) !=
	    JSON_OK ||
	    json_get_str(root, "run", BACKUP_RUN_LEN, BACKUP_RUN_LEN, &s) !=
	    JSON_OK || !backup_run_valid(s)) {
		snprintf(why, whysz, "%s is not a cellar backup manifest",
		    BACKUP_MANIFEST);
		goto out;
	}
	memcpy(m->run, s, BACKUP_RUN_LEN + 1);
	/* A complete run's directory is named after it. */
	base = strrchr(rundir, '/');
	base = base != NULL ? base + 1 : rundir;
	if (backup_run_valid(base) && strcmp(base, m->run) != 0) {
		snprintf(why, whysz, "%s names another run", BACKUP_MANIFEST);
		goto out;
	}
	if (json_get_int(root, "startedAt", 0, LLONG_MAX, &m->started_at) !=
	    JSON_OK || json_get_int(root, "finishedAt", 0, LLONG_MAX,
	    &m->finished_at) != JSON_OK ||
	    file_parse(cJSON_GetObjectItemCaseSensitive(root, "registry"),
	    &m->registry, 0) == -1 ||
	    !cJSON_IsArray(arr = cJSON_GetObjectItemCaseSensitive(root,
	    "tenants"))) {
		snprintf(why, whysz, "%s: a field is missing or out of shape",
		    BACKUP_MANIFEST);
		goto out;
	}
	cJSON_ArrayForEach(it, arr) {
		if (file_parse(it, &f, 1) == -1) {
			snprintf(why, whysz, "%s: a tenant entry is out of "
			    "shape", BACKUP_MANIFEST);
			goto out;
		}
		if (backup_manifest_add(m, &f) == -1) {
			snprintf(why, whysz, "out of memory");
			goto out;
		}
	}
	rc = 0;
out:
	if (rc == -1)
		backup_manifest_free(m);
	cJSON_Delete(root);
	free(text);
	return rc;
}

static int
run_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

int
backup_list(const char *dir, char (**out)[BACKUP_RUN_LEN + 1], size_t *n)
{
	char		(*v)[BACKUP_RUN_LEN + 1] = NULL, (*nv)[BACKUP_RUN_LEN + 1];
	char		 runs[PATH_MAX], mf[PATH_MAX];
	struct dirent	*de;
	struct stat	 sb;
	size_t		 cnt = 0, cap = 0;
	DIR		*d;

	*out = NULL;
	*n = 0;
	if (snprintf(runs, sizeof(runs), "%s/runs", dir) >= (int)sizeof(runs))
		return -1;
	if ((d = opendir(runs)) == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((de = readdir(d)) != NULL) {
		/* A run is a real directory (never a link to elsewhere). */
		if (!backup_run_valid(de->d_name) ||
		    snprintf(mf, sizeof(mf), "%s/%s", runs, de->d_name) >=
		    (int)sizeof(mf) || lstat(mf, &sb) == -1 ||
		    !S_ISDIR(sb.st_mode) ||
		    snprintf(mf, sizeof(mf), "%s/%s/%s", runs, de->d_name,
		    BACKUP_MANIFEST) >= (int)sizeof(mf) ||
		    lstat(mf, &sb) == -1 || !S_ISREG(sb.st_mode))
			continue;
		if (cnt == cap) {
			cap = cap ? cap * 2 : 32;
			if ((nv = reallocarray(v, cap, sizeof(*v))) == NULL) {
				closedir(d);
				free(v);
				return -1;
			}
			v = nv;
		}
		memcpy(v[cnt++], de->d_name, BACKUP_RUN_LEN + 1);
	}
	closedir(d);
	if (cnt > 0)
		qsort(v, cnt, sizeof(*v), run_cmp);
	*out = v;
	*n = cnt;
	return 0;
}
