/*
 * Backup runs: what the reaper writes under [backup] dir, and what
 * cellarctl lists, verifies and restores from.
 *
 *	DIR/runs/RUN/			one run; RUN is its UTC start,
 *					20261130T021500Z (sorts by time)
 *	DIR/runs/RUN/registry.db	the registry, keyed as the live one
 *	DIR/runs/RUN/tenants/ID.db	each tenant, keyed with its data key
 *	DIR/runs/RUN/manifest.json	written last: what the run holds
 *	DIR/runs/RUN.tmp/		a run being written (or killed)
 *
 * A run is complete when its directory has no suffix and holds a
 * manifest; the reaper renames RUN.tmp to RUN only after every copy was
 * verified and the manifest synced, so a run killed at any point leaves
 * a RUN.tmp the next run discards, and the last complete run untouched.
 * Every copy is encrypted under the key the live file had (SQLite's
 * online backup API into a destination keyed first): a purge that
 * destroys a tenant's keys makes its copies unreadable too.
 *
 * manifest.json (format "cellar-backup", version 1):
 *	{"format": "cellar-backup", "version": 1, "run": RUN,
 *	 "startedAt": S, "finishedAt": S,
 *	 "registry": FILE, "tenants": [FILE, ...]}
 *	FILE = {"id": ID or "", "file": "tenants/ID.db", "size": BYTES,
 *	        "sha256": HEX, "keyVersion": N, "schemaVersion": N,
 *	        "rows": {"TABLE": N, ...}}
 * keyVersion is the tenant's data key version, or for the registry the
 * master key version its key is derived from.  Times are seconds since
 * the epoch (UTC).
 */
#ifndef CELLAR_BACKUP_H
#define CELLAR_BACKUP_H

#include <stddef.h>

#include <sqlite3.h>

#include "cellar/db.h"
#include "cellar/registry.h"

#define BACKUP_RUN_LEN		16	/* 20261130T021500Z */
#define BACKUP_TABLES_MAX	32
#define BACKUP_MANIFEST		"manifest.json"

struct backup_table {
	char		 name[64];
	long long	 rows;
};

/* One copy in a run (the registry's, or a tenant's). */
struct backup_file {
	char		 id[TENANT_ID_LEN + 1];	/* "" for the registry */
	char		 file[TENANT_ID_LEN + 16];	/* relative to the run */
	long long	 size;			/* bytes */
	char		 sha256[65];		/* hex */
	int		 key_version;
	long long	 schema;		/* PRAGMA user_version */
	struct backup_table tables[BACKUP_TABLES_MAX];
	size_t		 ntables;
};

struct backup_manifest {
	char		 run[BACKUP_RUN_LEN + 1];
	long long	 started_at;
	long long	 finished_at;
	struct backup_file registry;
	struct backup_file *tenants;		/* malloc'd */
	size_t		 ntenants;
	size_t		 cap;
};

/* RUN for time t (seconds since the epoch) into out. */
void		 backup_run_name(long long t, char out[BACKUP_RUN_LEN + 1]);
/*
 * The time a run name (or a name beginning with one, as RUN.failed)
 * stands for, in seconds since the epoch; -1 if it is none.
 */
long long	 backup_run_time(const char *name);
/* 1 if name is a RUN (16 characters of that shape), else 0. */
int		 backup_run_valid(const char *name);

/*
 * Copies src (its main database) into the new file path under key
 * (KEY_BYTES), consistently, and describes the copy in f (file, size,
 * sha256, schema and row counts taken in the same read transaction as
 * the copy; the caller sets id, file and key_version).  DB_OK, DB_FULL
 * or DB_ERROR (db_backup_to).
 */
enum db_status	 backup_take(sqlite3 *src, const char *path,
		    const unsigned char *key, struct backup_file *f)
		    __attribute__((warn_unused_result));

/*
 * The schema version and row count of every table of db into f (a
 * copy's description; the caller holds a read transaction when it must
 * match a copy being taken).  0 or -1.
 */
int		 backup_count(sqlite3 *db, struct backup_file *f)
		    __attribute__((warn_unused_result));

/*
 * Checks the copy at path against f: size and SHA-256, then a scratch
 * copy in scratch_dir (an existing directory) opened read-only under key
 * must pass PRAGMA integrity_check and hold f's schema version and row
 * counts (and, for a tenant, name f->id as its owner).  With scratch_dir
 * NULL, path itself is opened read-only and the size and hash are not
 * compared (a rotation's new file, checked before it is used).  0, or
 * -1 with the reason (no customer data) in why.
 */
int		 backup_check(const char *path, const unsigned char *key,
		    const struct backup_file *f, const char *scratch_dir,
		    char *why, size_t whysz)
		    __attribute__((warn_unused_result));

/*
 * Checks every copy of the run in rundir against its manifest m, with
 * keys from the registry (a tenant's by the version m names; the
 * registry's derived from the master version m names).  Copies of
 * tenants the registry no longer knows (purged since) are skipped and
 * counted in *gone.  0, or -1 with the first failure in why.
 */
int		 backup_verify(struct registry *, const struct keyring *,
		    const char *rundir, const struct backup_manifest *m,
		    size_t *gone, char *why, size_t whysz)
		    __attribute__((warn_unused_result));

/* Appends a tenant entry to m (copied); 0 or -1 (no memory). */
int		 backup_manifest_add(struct backup_manifest *m,
		    const struct backup_file *f);
/* Removes tenant id's entry from m; 1 if there was one. */
int		 backup_manifest_drop(struct backup_manifest *m,
		    const char *id);

/* Writes m as rundir/manifest.json, whole (file.h). */
int		 backup_manifest_save(const char *rundir,
		    const struct backup_manifest *m)
		    __attribute__((warn_unused_result));

/*
 * Reads rundir/manifest.json into m (free with backup_manifest_free).
 * 0, or -1 with the reason in why (missing, not JSON, a field out of
 * shape).
 */
int		 backup_manifest_load(const char *rundir,
		    struct backup_manifest *m, char *why, size_t whysz)
		    __attribute__((warn_unused_result));
void		 backup_manifest_free(struct backup_manifest *);

/*
 * The complete runs under dir/runs (a RUN directory with a manifest),
 * oldest first, into *out (malloc'd array, free it); *n how many.  A
 * missing dir/runs is no runs.  0 or -1.
 */
int		 backup_list(const char *dir, char (**out)[BACKUP_RUN_LEN + 1],
		    size_t *n) __attribute__((warn_unused_result));

#endif
