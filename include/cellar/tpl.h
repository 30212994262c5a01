/*
 * Canned responses in a tenant's file: the data, without permissions
 * (the worker's route_templates.c decides who may see and change what).
 * All SQL of the templates tables is in tpl.c; every function works on a
 * tenant database handle (tenantdb.h), so the worker, cellarctl and the
 * reaper share it.  Days ("today", "day") are days since the epoch, UTC
 * (clock_day); times are seconds since the epoch.
 *
 * Names compare under one Unicode collation (collate.h) wherever order,
 * paging, an import's name clashes and search are decided, in SQL and
 * in tpl_import.c alike.  Names need not be unique: create and update
 * accept a name in use; only an import renames.
 */
#ifndef CELLAR_TPL_H
#define CELLAR_TPL_H

#include <stddef.h>

#include "cellar/err.h"

struct tenantdb;

/* Shared (non-personal) templates a tenant holds at most. */
#define TPL_MAX_PER_TENANT	2000
#define TPL_NAME_MAX		120	/* characters */
#define TPL_BODY_MAX		10000	/* characters */
#define TPL_PROJECTS_MAX	50
#define TPL_GROUPS_MAX		20
#define TPL_PAGE_MAX		100
/* A limit of tpl_scan: every template after the cursor. */
#define TPL_ALL			((size_t)-1)

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
	/*
	 * Uses in the last 30 days: per day the larger of renders and
	 * posted comments (a render and its post are one use); and the
	 * posted comments alone.
	 */
	long long	 used30;
	long long	 posted30;
};

/* The limits a change must keep. */
struct tpl_limits {
	long long	 shared_max;	/* per tenant: TPL_MAX_PER_TENANT */
	long long	 personal_max;	/* per person: [templates] personal_max */
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
 * (may be NULL; folded with collate_fold) found in name or body as
 * folded when written (template_search); active: 1 active only, 0
 * inactive only, -1 both.
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
 * The keys of every shared template and account's personal ones,
 * whoever may use them, in list order and filtered as tpl_list (limit
 * TPL_ALL: every one after the cursor): id, name, scope, owner,
 * position, active, 30-day uses and targets, never the body (ordering a
 * tenant's templates reads no body).  For listings the caller filters
 * (management, export), then completes with tpl_fill.
 */
enum err	 tpl_scan(struct tenantdb *, const char *account,
		    const char *q, int active, const struct tpl_cursor *,
		    size_t limit, long long today, struct tpl **out, size_t *n)
		    __attribute__((warn_unused_result));

/*
 * Replaces each of ts[0..*n) (keys from tpl_scan) by the whole template
 * (tpl_get), dropping those deleted since; *n is then how many are left.
 * On an error ts[0..*n) are whole and the rest freed.
 */
enum err	 tpl_fill(struct tenantdb *, struct tpl *ts, size_t *n,
		    long long today) __attribute__((warn_unused_result));

/*
 * Creates t at now (id, version, times set on success):
 * ERR_LIMIT_TEMPLATES past the tenant's shared limit, ERR_LIMIT_PERSONAL
 * past the owner's personal one, ERR_UNAVAILABLE when the file stayed
 * busy.
 */
enum err	 tpl_create(struct tenantdb *, struct tpl *, long long now,
		    const struct tpl_limits *)
		    __attribute__((warn_unused_result));

/*
 * Replaces template t->id if its version is still version: ERR_CONFLICT
 * if not, ERR_NOT_FOUND if gone; a move between personal and shared
 * must fit the other limit.  On success t->version is the new one.
 */
enum err	 tpl_update(struct tenantdb *, struct tpl *, long long version,
		    long long now, const struct tpl_limits *)
		    __attribute__((warn_unused_result));

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
 * An import: every template of ts (all of one owner) in one transaction,
 * or none, each under a free name (tpl_import.h) chosen inside the
 * transaction, so concurrent imports never pick the same one.  names[i]
 * (an array of n NULLs from the caller) gets the name given to ts[i],
 * malloc'd, to be freed by the caller whatever the outcome; ids set on
 * success.  The limits apply to the totals.
 */
enum err	 tpl_import_all(struct tenantdb *, struct tpl *ts, size_t n,
		    long long now, const struct tpl_limits *, char **names)
		    __attribute__((warn_unused_result));

/*
 * Whether any template is scoped to projects, and any to groups (both 1
 * on error): lists ask Jira only when it matters.
 */
void		 tpl_scopes(struct tenantdb *, int *projects, int *groups);

/*
 * 1 if name (under the collation) is taken where t would go: by t's owner
 * among personal templates, by a template scoped to one of t's projects,
 * or among group or global templates.  Names of project templates in
 * other projects never count: they are not the importer's to know.
 */
int		 tpl_name_taken(struct tenantdb *, const struct tpl *t,
		    const char *name);

#endif
