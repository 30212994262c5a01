/*
 * Canned responses in a tenant's file: the data, without permissions
 * (the worker's route_templates.c decides who may see and change what).
 * All SQL of the templates tables is in tpl.c; every function works on a
 * tenant database handle (tenantdb.h), so the worker, cellarctl and the
 * reaper share it.  Days ("today", "day") are days since the epoch, UTC
 * (clock_day); times are seconds since the epoch.
 *
 * Names compare case-insensitively with SQLite's NOCASE (ASCII letters
 * only) wherever order and uniqueness are decided, in SQL and in
 * tpl_import.c alike; search folds every script with cellar_fold (db.h).
 */
#ifndef CELLAR_TPL_H
#define CELLAR_TPL_H

#include <stddef.h>

#include "cellar/err.h"

struct tenantdb;

#define TPL_MAX_PER_TENANT	2000
#define TPL_NAME_MAX		120	/* characters */
#define TPL_BODY_MAX		10000	/* characters */
#define TPL_PROJECTS_MAX	50
#define TPL_GROUPS_MAX		20
#define TPL_PAGE_MAX		100

enum tpl_scope {
	SCOPE_PERSONAL = 0,
	SCOPE_PROJECTS,
	SCOPE_GROUPS,
	SCOPE_GLOBAL,
	SCOPE__MAX
};

/* What counting a use means: rendered into the editor, or posted. */
enum tpl_use {
	TPL_USE_INSERTED = 0,
	TPL_USE_POSTED,
	TPL_USE__MAX
};

struct tpl {
	long long	 id;
	char		*name;
	char		*body;
	enum tpl_scope	 scope;
	char		*owner;
	long long	 position;
	int		 active;
	long long	 version;
	long long	 created_at;	/* seconds since the epoch */
	long long	 updated_at;
	char		**targets;	/* project or group ids, sorted */
	size_t		 ntargets;
	long long	 used30;	/* inserted + posted, last 30 days */
};

/* Who asks, for visibility: scopes they may use here. */
struct tpl_viewer {
	const char	*account;	/* personal: owner */
	const char	*project;	/* projects: this one, or NULL */
	const char	*groups;	/* groups: ",id,id," or NULL */
};

/* Where a page starts: after this key of the order. */
struct tpl_cursor {
	long long	 position;
	long long	 used30;
	char		*name;
	long long	 id;
	int		 set;
};

const char	*tpl_scope_name(enum tpl_scope);
int		 tpl_scope_parse(const char *, enum tpl_scope *);
void		 tpl_free(struct tpl *);
void		 tpl_list_free(struct tpl *, size_t);

/*
 * Templates v may use, ordered by position, then 30-day use (most first),
 * then name (case-insensitively), then id; after cursor c when set; q
 * (may be NULL; folded with db_fold) found in name or body
 * case-insensitively; active: 1 active only, 0 inactive only, -1 both.
 * At most limit.  A use counted while someone pages can move that one
 * template across their pages; inserts never make a page repeat or skip.
 */
enum err	 tpl_list(struct tenantdb *, const struct tpl_viewer *,
		    const char *q, int active, const struct tpl_cursor *,
		    size_t limit,
		    long long today, struct tpl **out, size_t *n)
		    __attribute__((warn_unused_result));

/* One template by id (with targets and 30-day use); ERR_NOT_FOUND. */
enum err	 tpl_get(struct tenantdb *, long long id, long long today,
		    struct tpl *) __attribute__((warn_unused_result));

/*
 * Every template, or only owner's personal ones plus all non-personal
 * ones when owner is given: for exports, filtered by the caller.
 */
enum err	 tpl_all(struct tenantdb *, const char *personal_owner,
		    long long today, struct tpl **out, size_t *n)
		    __attribute__((warn_unused_result));

/*
 * Creates t at now (id, version, times set on success):
 * ERR_LIMIT_TEMPLATES past the tenant's limit, ERR_UNAVAILABLE when the
 * file stayed busy.
 */
enum err	 tpl_create(struct tenantdb *, struct tpl *, long long now)
		    __attribute__((warn_unused_result));

/*
 * Replaces template t->id if its version is still version: ERR_CONFLICT
 * if not, ERR_NOT_FOUND if gone.  On success t->version is the new one.
 */
enum err	 tpl_update(struct tenantdb *, struct tpl *, long long version,
		    long long now) __attribute__((warn_unused_result));

/* Deletes template id if its version is still version; as tpl_update. */
enum err	 tpl_delete(struct tenantdb *, long long id, long long version)
		    __attribute__((warn_unused_result));

/*
 * Counts one use of template id on day.  ERR_NOT_FOUND if it is gone.
 */
enum err	 tpl_count_use(struct tenantdb *, long long id, long long day,
		    enum tpl_use) __attribute__((warn_unused_result));

/*
 * How many templates account may know of: every shared one and its own
 * personal ones (account NULL: shared only), into *n.
 */
enum err	 tpl_count_visible(struct tenantdb *, const char *account,
		    long long *n) __attribute__((warn_unused_result));

/*
 * Creates every template of ts in one transaction, or none: the
 * tenant's limit applies to the total.  ids set on success.
 */
enum err	 tpl_create_all(struct tenantdb *, struct tpl *ts, size_t n,
		    long long now) __attribute__((warn_unused_result));

/*
 * Whether any template is scoped to projects, and any to groups (both 1
 * on error): lists ask Jira only when it matters.
 */
void		 tpl_scopes(struct tenantdb *, int *projects, int *groups);

/*
 * 1 if name (case-insensitively) is taken where t would go: by t's owner
 * among personal templates, by a template scoped to one of t's projects,
 * or among group or global templates.  Names of project templates in
 * other projects never count: they are not the importer's to know.
 */
int		 tpl_name_taken(struct tenantdb *, const struct tpl *t,
		    const char *name);

#endif
