/*
 * The registry (registry.db): tenants, their sealed shared secrets and
 * wrapped data keys, and the audit trail.  Tenant ids are random and
 * name the tenant files; a clientKey or site URL never becomes a path or
 * a log line.
 */
#ifndef CELLAR_REGISTRY_H
#define CELLAR_REGISTRY_H

#include <stddef.h>

#include <sqlite3.h>

#include "cellar/err.h"
#include "cellar/keys.h"

#define TENANT_ID_LEN	32	/* hex characters */
#define SECRET_MAX	512	/* longest shared secret accepted */

enum tenant_state {
	TENANT_INSTALLED = 0,
	TENANT_DEPARTED,
	TENANT__MAX
};

/* The open registry: its connection, statements and scratch memory. */
struct registry;

/*
 * A tenant as the request path needs it; strings owned by the struct
 * (free with registry_tenant_free).  Times are seconds since the epoch
 * (UTC).  A tenant made by a Forge installation alone has no Connect
 * identity: client_key, base_url and secret_sealed are NULL (and
 * secret_master 0) until a Connect install adopts it.
 */
struct tenant {
	char			 id[TENANT_ID_LEN + 1];
	char			*client_key;		/* NULL: Forge only */
	char			*base_url;		/* NULL: Forge only */
	enum tenant_state	 state;
	int			 enabled;
	long long		 installed_at;
	long long		 updated_at;
	long long		 uninstalled_at;	/* 0: never */
	long long		 delete_after;		/* 0: none */
	long long		 quarantined_at;	/* 0: not held */
	long long		 holds;		/* times held so far */
	long long		 backup_at;	/* 0: never backed up */
	char			 backup_run[24];	/* "": none */
	int			 secret_master;		/* seals the secret */
	int			 dek_version;		/* current data key */
	long long		 dek_created;
	unsigned char		*secret_sealed;		/* NULL: none */
	size_t			 secret_sealed_len;
};

/*
 * What a verified install tells us; validated by the caller.  A Connect
 * app that is also a Forge app (Connect on Forge) names its Forge
 * installation and the site's cloud id: registry_install links that
 * installation to the tenant in the same transaction (how "connect",
 * registry_forge_link's rule).  A reinstall without them keeps every
 * link the tenant had.
 */
struct install {
	const char	*client_key;
	const char	*shared_secret;
	const char	*base_url;
	const char	*display_url;		/* may be NULL */
	const char	*product_type;
	const char	*server_version;	/* may be NULL */
	const char	*plugins_version;	/* may be NULL */
	const char	*sen;			/* may be NULL */
	const char	*oauth_client_id;	/* may be NULL */
	const char	*installation_id;	/* installationId, or NULL */
	const char	*cloud_id;		/* cloudId, or NULL */
	/*
	 * [reaper] grace_days, for a tenant the link leaves with nothing
	 * (registry_forge_link); 0: REGISTRY_GRACE_DAYS.
	 */
	long long	 grace_days;
};

/* [reaper] grace_days's default, where a caller gives none. */
#define REGISTRY_GRACE_DAYS	21

/* A Forge installation of a tenant (cellarctl, audit). */
struct installation {
	char		 tenant_id[TENANT_ID_LEN + 1];
	char		*installation_id;	/* ari:cloud:ecosystem::installation/UUID */
	char		*cloud_id;		/* may be NULL */
	char		*api_base_url;		/* may be NULL */
	char		 linked_by[16];		/* fit, event, connect, operator */
	long long	 linked_at, last_seen_at, preuninstall_at; /* 0: never */
};

/* What a verified FIT or Forge event says (validated by the caller). */
struct forge_seen {
	const char	*installation_id;
	const char	*cloud_id;	/* may be NULL */
	const char	*api_base_url;	/* may be NULL */
};

/*
 * Opens state_dir/registry.db with the registry key of the newest master
 * version that opens it (older ones are tried so that a rotation cut
 * short never locks us out), creating it under the current version when
 * create is set and no file exists.  Creates state_dir/tenants.
 */
struct registry	*registry_open(const char *state_dir,
		    struct keyring *, int create, char *err,
		    size_t errsz);
void		 registry_close(struct registry *);

/*
 * Path of a tenant's file under data key version (malloc'd):
 * "state_dir/tenants/ID.db" for version 1, "ID.vN.db" for version N > 1.
 * A rotation writes the file re-encrypted under a new key beside the
 * old one, so a worker still holding the old file keeps reading a whole
 * file of its own (with its own -wal and -shm) until it notices the new
 * version; every name of a tenant's files begins with "ID.".
 */
char		*registry_tenant_path(const struct registry *, const char *id,
		    int version);

/*
 * Looks a tenant up by clientKey (iss).  ERR_OK, ERR_NOT_FOUND or
 * ERR_INTERNAL.  Free with registry_tenant_free.
 */
enum err	 registry_find(struct registry *, const char *client_key,
		    struct tenant *) __attribute__((warn_unused_result));
void		 registry_tenant_free(struct tenant *);
/* The same by tenant id. */
enum err	 registry_get(struct registry *, const char *id,
		    struct tenant *) __attribute__((warn_unused_result));
/*
 * Calls fn for every tenant in install order; fn returning -1 stops.
 * Returns the number visited, or -1 on error.
 */
int		 registry_each(struct registry *,
		    int (*fn)(const struct tenant *, void *), void *arg);

/*
 * Unseals the tenant's shared secret into the registry's guarded scratch
 * buffer (sodium_malloc'd once); valid until the next call.  Wipe it
 * with registry_secret_wipe as soon as it has been used.  NULL if it
 * does not open, or the tenant has none (Forge only): the caller fails
 * closed.
 */
const char	*registry_secret(struct registry *, const struct tenant *,
		    size_t *len);
void		 registry_secret_wipe(struct registry *);

/*
 * Unwraps the tenant's current data key into dek (KEY_BYTES, caller's
 * sodium_malloc memory) with its version, the master version that wraps
 * it and its creation time (seconds since the epoch).  -1 on any
 * failure.
 */
int		 registry_dek(struct registry *, const char *id,
		    unsigned char *dek, int *version, int *master,
		    long long *created_at) __attribute__((warn_unused_result));

/*
 * A verified install at now (seconds since the epoch): the first
 * creates the tenant (random id, data key, encrypted file, registry
 * row); a reinstall replaces the secret, URLs and license fields and
 * cancels a pending deletion.  A first install naming an installation
 * whose tenant has no Connect identity yet (a Forge installation seen
 * first) gives that tenant this clientKey instead (audited "install",
 * detail "adopted=forge"; no new file).  in->installation_id is linked
 * as registry_forge_link(how "connect") in the same transaction.
 * *created tells which.  All or nothing: a
 * failed install leaves no row and no file.  ERR_OK with out filled
 * (free with registry_tenant_free), ERR_UNAVAILABLE when the registry
 * stayed busy, ERR_INTERNAL.
 */
enum err	 registry_install(struct registry *, const struct install *,
		    long long now, struct tenant *out, int *created)
		    __attribute__((warn_unused_result));

/*
 * Forge installations (README, "Forge Remote").  A tenant is a Connect
 * install (clientKey), one or more Forge installations (installation
 * ids), or both once linked.  A new installation id is linked to an
 * existing tenant only by a verified Connect install payload naming it
 * or by an operator (cellarctl tenant link), never guessed from a
 * shared cloud id.  Audit events: forge_install, forge_reinstated,
 * forge_cloud_shared, forge_link, forge_link_moved, forge_preuninstall
 * and forge_silent (details: codes, counts and our own tenant ids only).
 */

/*
 * The tenant of installation_id (a purging tenant is none; a departed
 * one is found, as by registry_find).  ERR_OK, ERR_NOT_FOUND or
 * ERR_INTERNAL.  Free with registry_tenant_free.  The request path's
 * lookup: one prepared statement.
 */
enum err	 registry_forge_find(struct registry *,
		    const char *installation_id, struct tenant *)
		    __attribute__((warn_unused_result));

/*
 * First contact of an installation (a verified FIT, or its installed
 * event: how "fit" or "event") at now: a known installation is touched
 * (last seen, api base url, cloud id when it had none) and, if its
 * tenant had departed (silence, pre-uninstall, uninstall), reinstated
 * (pending deletion cancelled, audited "forge_reinstated"); an unknown
 * one becomes a new tenant (random id, data key, encrypted file, no
 * Connect clientKey, no secret), audited "forge_install"; if another
 * live tenant has the same cloud id, audited "forge_cloud_shared" too
 * (detail: how many, and the ids of the first three, oldest first:
 * our random ids, never customer data; also logged as a WARN line),
 * never linked by guess: cellarctl tenant link does that.  All or
 * nothing, as registry_install.  *created: 1 new.  ERR_OK with out
 * (free with registry_tenant_free), ERR_UNAVAILABLE busy,
 * ERR_STORAGE_FULL, ERR_INTERNAL (also for a bad how).
 */
enum err	 registry_forge_install(struct registry *,
		    const struct forge_seen *, const char *how, long long now,
		    struct tenant *out, int *created)
		    __attribute__((warn_unused_result));

/*
 * Records that installation_id was heard from at now (and its api base
 * url, when given): cheap, one read, and a write at most once a minute
 * per installation (or when the api base url changed).  ERR_OK,
 * ERR_NOT_FOUND (unknown installation), ERR_UNAVAILABLE, ERR_INTERNAL.
 */
enum err	 registry_forge_seen(struct registry *,
		    const char *installation_id, const char *api_base_url,
		    long long now) __attribute__((warn_unused_result));

/*
 * Forge's pre-uninstall: installation_id is recorded as leaving at now
 * and its tenant departs at now (deletion due grace_days later; a
 * tenant already departed keeps its date), audited
 * "forge_preuninstall".  ERR_NOT_FOUND for an unknown installation.
 */
enum err	 registry_forge_preuninstall(struct registry *,
		    const char *installation_id, long long now,
		    long long grace_days) __attribute__((warn_unused_result));

/*
 * Links installation_id to tenant id (how "connect": a verified Connect
 * install payload named it; "operator": cellarctl tenant link), with
 * its cloud id and api base url when given; audited "forge_link".  If
 * it was another tenant's, it moves; that tenant, left with no
 * installation and no Connect clientKey, departs at now (grace_days),
 * audited "forge_link_moved".  Already this tenant's: its cloud id and
 * api base url are filled in, nothing else (no audit).  The tenant's
 * state is not changed (its installation's next FIT reinstates a
 * departed tenant).  What the operator is told (cellarctl tenant
 * link): from (may be NULL) receives the id of the tenant the
 * installation moved from ("" if it did not move), *departed (may be
 * NULL) 1 if that tenant departed by it.  ERR_NOT_FOUND: no such
 * tenant (or it is being purged); ERR_INTERNAL also for a bad how.
 */
enum err	 registry_forge_link(struct registry *, const char *tenant_id,
		    const struct forge_seen *, const char *how, long long now,
		    long long grace_days, char from[TENANT_ID_LEN + 1],
		    int *departed) __attribute__((warn_unused_result));

/*
 * Calls fn for every tenant still installed, reached through Forge
 * alone (no Connect clientKey), that has at least one installation and
 * whose every installation was last seen before cutoff.  A tenant that
 * is also a Connect install ("both") is never silent: Connect on Forge
 * keeps Connect's lifecycle (its /uninstalled departs it) and Connect
 * traffic is not recorded as heard from, so a live site whose Forge
 * trigger stopped must not be deleted.  An installation never heard
 * from through Forge (linked by an operator, not seen since) is not
 * silent either: its silence proves nothing.  fn returning -1 stops; fn
 * must not write the registry (collect, then act).  How many, or -1.
 */
int		 registry_forge_silent(struct registry *, long long cutoff,
		    int (*fn)(const struct tenant *, void *), void *arg);

/*
 * The silence job's step for one tenant registry_forge_silent listed,
 * in one transaction and only if it is still silent since cutoff (a
 * FIT may have come meanwhile) and still Forge-only: it departs as of
 * its last word, not of now: uninstalled_at is the newest last seen of
 * its installations and deletion is due grace_days after that (at the
 * next purge, if that is past already), so that data is deleted within
 * grace_days of the site's last word; audited "forge_silent" at now.
 * ERR_OK, ERR_NOT_FOUND (no longer silent, a Connect tenant, or no
 * such installed tenant: nothing done).
 */
enum err	 registry_forge_silent_depart(struct registry *,
		    const char *id, long long cutoff, long long now,
		    long long grace_days) __attribute__((warn_unused_result));

/*
 * Calls fn for each installation of tenant id, oldest link first; fn
 * returning -1 stops.  How many, or -1.
 */
int		 registry_installations(struct registry *,
		    const char *tenant_id,
		    int (*fn)(const struct installation *, void *), void *arg);

/*
 * Marks tenant id departed at now (seconds since the epoch); its data
 * is due for deletion grace_days later.  ERR_NOT_FOUND for an unknown id.
 */
enum err	 registry_uninstall(struct registry *, const char *id,
		    long long now, long long grace_days)
		    __attribute__((warn_unused_result));

/* Sets the enabled flag of tenant id at now; as registry_uninstall. */
enum err	 registry_set_enabled(struct registry *, const char *id,
		    int enabled, long long now)
		    __attribute__((warn_unused_result));

/*
 * Holds tenant id at now (seconds since the epoch): its file was found
 * damaged or not its own (cause: a reason code for the audit); counts
 * the hold in tenant.holds.  1 if this call held it, 0 if it was held
 * already, -1 on error.
 */
int		 registry_quarantine(struct registry *, const char *id,
		    long long now, const char *cause);

/*
 * Lifts the hold of tenant id (the caller checked the file first).
 * ERR_NOT_FOUND if it was not held.
 */
enum err	 registry_release(struct registry *, const char *id,
		    long long now) __attribute__((warn_unused_result));

/*
 * Calls fn once for every id in state_dir/tenants that belongs to no
 * tenant of the registry: "<32 hex>.db" and its -wal, -shm and -journal
 * files (an install killed half-way leaves them; their key was never
 * stored, so nobody can read them).  An id whose .db is there but no
 * regular file (a directory, a symlink) is not reported.  path is the
 * .db's (it may be gone and only companions left: registry_remove_files
 * removes them all);
 * mtime, in seconds since the epoch, the youngest of them.  fn
 * returning -1 stops.  Returns how many ids, or -1.
 */
int		 registry_orphans(struct registry *,
		    int (*fn)(const char *id, const char *path,
		    long long mtime, void *), void *arg);

/*
 * Removes a database file with its -wal, -shm and -journal files, then
 * syncs their directory if any went.  How many went, or -1 (one would
 * not go, or the sync failed).
 */
int		 registry_remove_files(const char *path);

/*
 * The reaper's side of the registry (cellar-reaper, cellarctl audit).
 */

/* The connection (for sqlite3_backup), the master version keying the
 * file, and the state directory. */
sqlite3		*registry_sqlite(const struct registry *);
int		 registry_master(const struct registry *);
const char	*registry_state_dir(const struct registry *);

/*
 * Unwraps data key version (current or retired) of tenant id into dek
 * (KEY_BYTES, caller's sodium_malloc memory): backups name the version
 * they were made under.  -1 if it is gone or does not open.
 */
int		 registry_dek_at(struct registry *, const char *id,
		    int version, unsigned char *dek)
		    __attribute__((warn_unused_result));

/* A tenant that is due for deletion or being deleted. */
struct purge_item {
	char		 id[TENANT_ID_LEN + 1];
	long long	 installed_at;
	long long	 uninstalled_at;
	long long	 purge_started_at;	/* 0: not begun */
};

/*
 * Calls fn for every tenant whose purge has begun and every departed
 * tenant uninstalled at or before cutoff (seconds since the epoch), the
 * oldest departure first; fn returning -1 stops.  Returns how many, -1
 * on error.
 */
int		 registry_purge_due(struct registry *, long long cutoff,
		    int (*fn)(const struct purge_item *, void *), void *arg);

/*
 * 1 with *out filled if tenant id is being purged or departed (with
 * its dates), 0 if not, -1 on error.
 */
int		 registry_purge_state(struct registry *, const char *id,
		    struct purge_item *out);

/*
 * Purge step 1, in one transaction, only if tenant id is still departed
 * since cutoff or already begun: destroys every wrapped data key
 * (crypto-shredding: no copy of its file opens any more), replaces the
 * sealed secret, clientKey and URLs and deletes its Forge installations
 * (a reinstall or a FIT from now on makes a new tenant), marks it
 * purging at now and audits "purge_started".
 * *keys_destroyed: how many keys this call destroyed.  ERR_OK (begun, now
 * or before), ERR_NOT_FOUND (reinstalled meanwhile: nothing done), or
 * db_tx's errors.
 */
enum err	 registry_purge_begin(struct registry *, const char *id,
		    long long cutoff, long long now, int *keys_destroyed)
		    __attribute__((warn_unused_result));

/*
 * Purge's last step, once every file is gone: deletes the row of a
 * purging tenant and audits "purged" with detail (dates and counts,
 * never customer data).  Idempotent: ERR_OK when the row is gone.
 */
enum err	 registry_purge_end(struct registry *, const char *id,
		    long long now, const char *detail)
		    __attribute__((warn_unused_result));

/*
 * Adds an audit record at now: event (a code), tenant id (may be NULL),
 * detail (codes and counts, never customer data; may be NULL).
 */
enum err	 registry_audit_add(struct registry *, long long now,
		    const char *event, const char *id, const char *detail)
		    __attribute__((warn_unused_result));

/* When job name last succeeded (*ok_at, 0: never); 0 or -1. */
int		 registry_job_last(struct registry *, const char *name,
		    long long *ok_at);
/* Records a run of job name at now: ok or failed, detail (counts). */
enum err	 registry_job_done(struct registry *, const char *name,
		    long long now, int ok, const char *detail)
		    __attribute__((warn_unused_result));

/* A verified backup run, as recorded (times in seconds since the epoch). */
struct backup_run {
	char		 run[24];	/* 20261130T021500Z */
	long long	 started_at;
	long long	 verified_at;
	long long	 tenants;
	long long	 bytes;
	long long	 offsite_at;	/* 0: never run */
	int		 offsite_status;	/* exit status, -1: none */
};

/*
 * Records verified run r and, for each of ids[0..nids), that run as its
 * newest backup (unless a newer one is recorded already); one
 * transaction.
 */
enum err	 registry_backup_record(struct registry *,
		    const struct backup_run *r, const char *const *ids,
		    size_t nids) __attribute__((warn_unused_result));
/*
 * A run a purge rewrote, to be sent offsite again: its offsite status
 * (registry_backup_offsite) set to this until the command succeeds.
 */
#define BACKUP_OFFSITE_DIRTY	(-2)

/* Calls fn for every run marked BACKUP_OFFSITE_DIRTY; how many, or -1. */
int		 registry_backup_dirty(struct registry *,
		    int (*fn)(const char *run, void *), void *arg);

/* The offsite command's exit status for run at now. */
enum err	 registry_backup_offsite(struct registry *, const char *run,
		    long long now, int status)
		    __attribute__((warn_unused_result));
/* 1 if run is recorded, 0 if not, -1 on error. */
int		 registry_backup_known(struct registry *, const char *run);
/* Forgets a run prune deleted. */
enum err	 registry_backup_forget(struct registry *, const char *run)
		    __attribute__((warn_unused_result));
/* Calls fn for every recorded run, oldest first; how many, or -1. */
int		 registry_backup_runs(struct registry *,
		    int (*fn)(const struct backup_run *, void *), void *arg);

/*
 * Key rotation (cellar-reaper rotate).
 */

/* The current data key version of tenant id, or -1. */
int		 registry_key_version(struct registry *, const char *id);

/*
 * Unwraps tenant id's pending data key (a rotation under way) into dek
 * with its version: 0, 1 if there is none, -1 on failure.
 */
int		 registry_dek_pending(struct registry *, const char *id,
		    unsigned char *dek, int *version)
		    __attribute__((warn_unused_result));

/*
 * Rotation step 1: records a new data key for tenant id as pending
 * (wrapped under the current master), or returns the pending one a run
 * cut short left; dek (KEY_BYTES, sodium_malloc'd) and *version receive
 * it.  ERR_OK, ERR_NOT_FOUND (no such tenant key), db_tx's errors.
 */
enum err	 registry_rotate_begin(struct registry *, const char *id,
		    long long now, unsigned char *dek, int *version)
		    __attribute__((warn_unused_result));

/*
 * Rotation's last step, once the file under the pending key is written
 * and verified: the current key becomes retired (at now), the pending
 * version current, audited "rekeyed".  One transaction.
 */
enum err	 registry_rotate_promote(struct registry *, const char *id,
		    int version, long long now)
		    __attribute__((warn_unused_result));

/* Calls fn for every retired data key; how many, or -1. */
int		 registry_retired_keys(struct registry *,
		    int (*fn)(const char *id, int version, long long retired_at,
		    void *), void *arg);

/* Destroys retired data key version of tenant id (audited). */
enum err	 registry_dek_destroy(struct registry *, const char *id,
		    int version, long long now)
		    __attribute__((warn_unused_result));

/*
 * Re-wraps every data key and re-seals every shared secret still under
 * a master version older than to, in transactions of a few hundred rows
 * (a run cut short resumes where it stopped).  Returns how many, or -1.
 */
int		 registry_rewrap(struct registry *, int to);

/* Calls fn for every master version recorded; how many, or -1. */
int		 registry_masters(struct registry *,
		    int (*fn)(int version, long long created_at,
		    long long destroyed_at, void *), void *arg);
/* Records master version (made at created_at) once; audited if asked. */
enum err	 registry_master_add(struct registry *, int version,
		    long long created_at, int audited)
		    __attribute__((warn_unused_result));
/* Records that master version's file was destroyed at now (audited). */
enum err	 registry_master_destroyed(struct registry *, int version,
		    long long now) __attribute__((warn_unused_result));
/*
 * Re-encrypts registry.db in place under master version to's registry
 * key (db_rekey), then reopens it under that key alone before it says
 * so: 0.  -1 with err, the registry open again under a key that works
 * (rekey can report success having done nothing).  Other processes'
 * connections find their key no longer works and reconnect by
 * themselves (every lookup and transaction here does, once).
 */
int		 registry_rekey(struct registry *, int to, char *err,
		    size_t errsz) __attribute__((warn_unused_result));

/* How many wrapped keys and sealed secrets need master version; -1. */
long long	 registry_master_uses(struct registry *, int version);

#endif
