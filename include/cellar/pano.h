/*
 * Panoramas in a tenant's file: named trees of Jira issues and folders
 * across projects, changed in versioned batches of actions, with a
 * history of who changed what and an undo of one's own latest batch.
 * The data only: who may see and change what is decided by the worker
 * (route_panoramas*.c), which also hides the issue ids a viewer may not
 * browse.  All SQL of the panorama tables (sql/tenant/0004) is in
 * pano.c; every function works on a tenant database handle
 * (tenantdb.h), so the worker, the reaper (the nightly reconcile) and
 * the tests share it.  Times are seconds since the epoch.
 *
 * Stored: ids (node, Jira issue, account), panorama names and
 * descriptions and folder titles (ours), times.  Never an issue key (it
 * changes when an issue moves), summary or any other issue content.
 *
 * The tree: each node has a parent (0: the top level) and a place among
 * its siblings.  There is no depth limit, and nothing here recurses: a
 * deep tree costs no stack.  Node ids are never reused.
 *
 * Concurrency: every panorama has a version, +1 for each committed
 * change (a batch, an undo, a rename of the panorama, a deleted issue).
 * A change names the version it was made against; a stale one is
 * ERR_CONFLICT, never a merge.  Writes go through tenantdb_tx
 * (BEGIN IMMEDIATE, retried whole when busy).
 */
#ifndef CELLAR_PANO_H
#define CELLAR_PANO_H

#include <stddef.h>

#include "cellar/err.h"

struct tenantdb;

#define PANO_NAME_MAX		255	/* characters, at least 1 */
#define PANO_DESC_MAX		2000	/* characters, may be 0 */
#define PANO_TITLE_MAX		255	/* a folder's title, at least 1 */
#define PANO_NODES_DEFAULT	10000	/* [panoramas] nodes_max */
#define PANO_NODES_HARD		30000	/* nodes_max at most */
#define PANO_PER_TENANT_DEFAULT	200	/* [panoramas] per_tenant_max */
#define PANO_ACTIONS_MAX	1000	/* actions in one batch */
#define PANO_ADD_MAX		1000	/* issue ids in one add action */
#define PANO_ACCESS_MAX		100	/* access entries per panorama */
#define PANO_PAGE_MAX		100	/* panoramas per listing page */
#define PANO_HISTORY_KEEP	1000	/* batches kept per panorama */
/*
 * Undo rows (a node as it was before a batch) kept per panorama, about
 * 100 bytes each: past it, the oldest batches lose them (their history
 * stays) and can no longer be undone.  Without it, one editor adding
 * and removing 10,000 nodes over and over grew a site's file by 220 MB
 * per panorama.
 */
#define PANO_UNDO_KEEP		40000
/*
 * A batch still applying after this long is rolled back and refused
 * (ERR_LIMIT_TIME): nginx gives up on a request after 30 s, and a
 * change must never be made after its client was told it failed; the
 * tenant's write lock is held meanwhile, so other writers of the site
 * wait.  The worker leaves room for Jira's questions before it.
 */
#define PANO_APPLY_MS		10000
/* Largest Jira issue id, node id or panorama id accepted. */
#define PANO_ID_MAX		999999999999999999LL

struct pano {
	long long	 id;
	char		*name;
	char		*description;	/* "" when none */
	char		*owner;		/* account id */
	long long	 version;
	long long	 nodes;		/* how many the tree holds */
	long long	 created_at;
	long long	 updated_at;
};

struct pano_limits {
	long long	 nodes_max;	/* per panorama, <= PANO_NODES_HARD */
	long long	 per_tenant_max;	/* panoramas per tenant */
	long long	 apply_ms;	/* a batch's time; 0: PANO_APPLY_MS */
};

enum pano_kind {
	PANO_ISSUE = 0,
	PANO_FOLDER,
	PANO_KIND__MAX
};

/* One row of a tree in pre-order. */
struct pano_row {
	long long	 node;
	long long	 parent;	/* 0: top level */
	long long	 depth;		/* 0: top level */
	enum pano_kind	 kind;
	long long	 issue;		/* PANO_ISSUE: the Jira issue id */
	char		*title;		/* PANO_FOLDER: its title; else NULL */
};

enum pano_op {
	PANO_OP_ADD = 0,	/* issues[0..nissues) under parent, after */
	PANO_OP_ADD_FOLDER,	/* a folder titled title under parent, after */
	PANO_OP_MOVE,		/* node and its subtree under parent, after */
	PANO_OP_REMOVE,		/* node and its subtree */
	PANO_OP_RENAME,		/* folder node gets title */
	PANO_OP__MAX
};

/*
 * One action.  parent 0: the top level; after 0: the first place, else
 * a child of parent that the new or moved nodes follow.  Fields an op
 * does not use are 0 or NULL.  Added issue nodes keep the order of
 * issues[] (an id may repeat, and may already be in the panorama).
 */
struct pano_action {
	enum pano_op	 op;
	long long	 node;
	long long	 parent;
	long long	 after;
	const long long	*issues;
	size_t		 nissues;
	const char	*title;		/* valid UTF-8, 1..PANO_TITLE_MAX */
};

/* Why an action was refused (pano_apply's ERR_UNPROCESSABLE). */
enum pano_fault {
	PANO_FAULT_NONE = 0,
	PANO_FAULT_NODE,	/* node is not in this panorama */
	PANO_FAULT_PARENT,	/* parent is not in this panorama */
	PANO_FAULT_AFTER,	/* after is not a child of parent */
	PANO_FAULT_CYCLE,	/* parent is node or one of its descendants */
	PANO_FAULT_NOT_FOLDER,	/* rename of an issue node */
	PANO_FAULT__MAX
};

/* A short code for the reply ("node_unknown", "cycle", ...). */
const char	*pano_fault_code(enum pano_fault);

/* What pano_apply did, or why not. */
struct pano_result {
	long long	 version;	/* the new one; on ERR_CONFLICT the current */
	long long	*added;		/* ids of added nodes, in action order */
	size_t		 nadded;
	size_t		 index;		/* the refused action (ERR_UNPROCESSABLE) */
	enum pano_fault	 fault;
};

/* Frees what a result holds (not r itself); NULL is ignored. */
void		 pano_result_free(struct pano_result *);

/* Who asks, for listings: what makes a panorama visible to them. */
struct pano_viewer {
	const char	*account;	/* owner, account entries */
	const char	*groups;	/* ",id,id," group entries; NULL: none */
	int		 admin;		/* a Jira admin sees every panorama */
};

enum pano_grantee {
	PANO_GRANT_ACCOUNT = 0,
	PANO_GRANT_GROUP,
	PANO_GRANT_EVERYONE,
	PANO_GRANT__MAX
};

enum pano_level {
	PANO_LEVEL_NONE = 0,
	PANO_LEVEL_VIEW,
	PANO_LEVEL_EDIT,
	PANO_LEVEL__MAX
};

struct pano_access {
	enum pano_grantee grantee;
	char		*target;	/* account or group id; "" for everyone */
	enum pano_level	 level;		/* VIEW or EDIT */
};

/* One committed batch, newest first in pano_history. */
struct pano_batch {
	long long	 id;		/* also the history cursor */
	long long	 version;	/* the panorama's after it */
	char		*actor;		/* account id; NULL: the system */
	long long	 at;
	char		*kind;		/* "batch", "undo" or "system" */
	long long	 undo_of;	/* kind undo: the batch reverted */
	int		 undone;	/* 1 once an undo reverted it */
	char		*what;		/* JSON: {"actions": [...]}, ids only */
};

/* Names for the wire; parse returns 0 or -1. */
const char	*pano_kind_name(enum pano_kind);
const char	*pano_grantee_name(enum pano_grantee);
int		 pano_grantee_parse(const char *, enum pano_grantee *);
const char	*pano_level_name(enum pano_level);
int		 pano_level_parse(const char *, enum pano_level *);

void		 pano_free(struct pano *);		/* fields; NULL ok */
void		 pano_list_free(struct pano *, size_t);
void		 pano_rows_free(struct pano_row *, size_t);
void		 pano_access_free(struct pano_access *, size_t);
void		 pano_history_free(struct pano_batch *, size_t);

/*
 * Creates p (name, description, owner set by the caller) at now, with an
 * empty tree: id, version 1 and times set on success.
 * ERR_LIMIT_PANORAMAS when the tenant holds lim->per_tenant_max.
 */
enum err	 pano_create(struct tenantdb *, struct pano *p, long long now,
		    const struct pano_limits *lim)
		    __attribute__((warn_unused_result));

/* How many panoramas the tenant holds, into *n. */
enum err	 pano_count(struct tenantdb *, long long *n)
		    __attribute__((warn_unused_result));

/* Panorama id into *p (free with pano_free); ERR_NOT_FOUND. */
enum err	 pano_get(struct tenantdb *, long long id, struct pano *p)
		    __attribute__((warn_unused_result));

/*
 * Sets p->id's name and description if its version is still version:
 * ERR_CONFLICT (p->version set to the current one) or ERR_NOT_FOUND.
 * On success p is the whole new row (version + 1, updated_at now).
 */
enum err	 pano_update(struct tenantdb *, struct pano *p,
		    long long version, long long now)
		    __attribute__((warn_unused_result));

/*
 * Deletes panorama id with its nodes, access entries and history if its
 * version is still version: ERR_CONFLICT or ERR_NOT_FOUND.
 */
enum err	 pano_delete(struct tenantdb *, long long id,
		    long long version) __attribute__((warn_unused_result));

/*
 * Panoramas v may view (owner, an access entry for the account, one of
 * its groups or everyone; all of them for an admin), ordered by name
 * (the CELLAR collation) then id, after (after_name, after_id) when
 * after_id > 0; q (may be NULL) folded (collate_fold) and found in the
 * folded name.  At most limit (<= PANO_PAGE_MAX).
 */
enum err	 pano_list(struct tenantdb *, const struct pano_viewer *v,
		    const char *q, const char *after_name, long long after_id,
		    size_t limit, struct pano **out, size_t *n)
		    __attribute__((warn_unused_result));

/*
 * The panoramas v may view (as pano_list) holding a node of issue, by
 * name then id, at most PANO_PAGE_MAX.
 */
enum err	 pano_list_with_issue(struct tenantdb *,
		    const struct pano_viewer *v, long long issue,
		    struct pano **out, size_t *n)
		    __attribute__((warn_unused_result));

/*
 * The whole tree of panorama id in pre-order (siblings in order), with
 * the version it was read at, from one read transaction: rows of one
 * version only.  ERR_NOT_FOUND.  Iterative: no recursion.
 */
enum err	 pano_tree(struct tenantdb *, long long id, long long *version,
		    struct pano_row **rows, size_t *n)
		    __attribute__((warn_unused_result));

/*
 * Applies acts[0..n) (n <= PANO_ACTIONS_MAX) to panorama id, in order,
 * as actor (an account id; NULL: the system) at now, all or none, if the
 * panorama's version is still version.  On ERR_OK res holds the new
 * version and the added node ids, and the batch is in the history.
 * Else nothing changed and the error says why:
 *   ERR_NOT_FOUND        no such panorama;
 *   ERR_CONFLICT         stale version (res->version: the current one);
 *   ERR_UNPROCESSABLE    action res->index refused (res->fault);
 *   ERR_LIMIT_NODES      the tree would pass lim->nodes_max
 *                        (res->index: the action that would);
 *   ERR_LIMIT_ACTIONS    n > PANO_ACTIONS_MAX;
 *   ERR_LIMIT_TIME       still applying after lim->apply_ms (res->index:
 *                        the action it had reached; rolled back);
 * or a storage error (tenantdb_tx).  Free res with pano_result_free.
 */
enum err	 pano_apply(struct tenantdb *, long long id, long long version,
		    const char *actor, const struct pano_action *acts,
		    size_t n, const struct pano_limits *lim, long long now,
		    struct pano_result *res)
		    __attribute__((warn_unused_result));

/*
 * Creates a panorama from p (name, description, owner) and rows[0..n)
 * in pre-order: depth of the first 0, each at most one more than the
 * row before; kind, issue or title as in struct pano_row (node and
 * parent ignored).  All or nothing: ERR_UNPROCESSABLE with *bad the
 * refused row, ERR_LIMIT_NODES, ERR_LIMIT_PANORAMAS.  On success p is
 * the new panorama (version 1); its history holds one batch by owner.
 */
enum err	 pano_import(struct tenantdb *, struct pano *p,
		    const struct pano_row *rows, size_t n,
		    const struct pano_limits *lim, long long now, size_t *bad)
		    __attribute__((warn_unused_result));

/* Panorama id's access entries, by grantee then target. */
enum err	 pano_access_get(struct tenantdb *, long long id,
		    struct pano_access **out, size_t *n)
		    __attribute__((warn_unused_result));

/*
 * Replaces panorama id's access entries with a[0..n) (n <=
 * PANO_ACCESS_MAX; one entry per grantee and target, else
 * ERR_UNPROCESSABLE).  ERR_NOT_FOUND.  The version is not changed: the
 * tree is the same.
 */
enum err	 pano_access_set(struct tenantdb *, long long id,
		    const struct pano_access *a, size_t n, long long now)
		    __attribute__((warn_unused_result));

/*
 * The level entries a[0..n) give account (in groups ",id,...,", may be
 * NULL): the highest of its account entry, its groups' entries and
 * everyone's.  Owner and admin rights are the caller's to add.
 */
enum pano_level	 pano_access_level(const struct pano_access *a, size_t n,
		    const char *account, const char *groups);

/*
 * Panorama id's batches, newest first, with id < before (before 0: from
 * the newest), at most limit.
 */
enum err	 pano_history(struct tenantdb *, long long id, long long before,
		    size_t limit, struct pano_batch **out, size_t *n)
		    __attribute__((warn_unused_result));

/*
 * Reverts actor's latest batch of panorama id that is neither an undo
 * nor already undone, as a new batch of kind "undo" (itself never
 * undone), at now.  ERR_NOT_FOUND: no such panorama or no such batch;
 * ERR_CONFLICT: a later batch still in effect (anyone's, the system's
 * included; one undone since no longer counts) touched one of its
 * nodes, or the top level where it added or moved there, or reverting
 * would break the tree, or the batch is too old to undo (its undo rows
 * went past PANO_UNDO_KEEP) (*version: the current version);
 * ERR_LIMIT_NODES: putting back what it removed would pass
 * lim->nodes_max.  On ERR_OK *version is the new one.
 */
enum err	 pano_undo(struct tenantdb *, long long id, const char *actor,
		    const struct pano_limits *lim, long long now,
		    long long *version) __attribute__((warn_unused_result));

/*
 * Jira deleted issue: every node of it, in every panorama, is removed,
 * its children moving up to its parent in its place (in order); one
 * batch of the system per panorama touched.  Idempotent: an issue no
 * node shows changes nothing.  *removed (may be NULL): nodes removed.
 */
enum err	 pano_issue_deleted(struct tenantdb *, long long issue,
		    long long now, size_t *removed)
		    __attribute__((warn_unused_result));

/*
 * The Jira issue ids pano_undo by actor would put back or keep in
 * panorama id (the issue nodes its latest undoable batch changed, as
 * they were), ascending: the worker checks with Jira that the caller
 * may still browse them (an issue deleted or closed to them since) before
 * it undoes.  None (*n 0) when there is nothing to undo.
 */
enum err	 pano_undo_issues(struct tenantdb *, long long id,
		    const char *actor, long long **ids, size_t *n)
		    __attribute__((warn_unused_result));

/* Every distinct issue id of the tenant's panoramas, ascending. */
enum err	 pano_issue_ids(struct tenantdb *, long long **ids, size_t *n)
		    __attribute__((warn_unused_result));

/*
 * Checks panorama id's invariants: every node reachable from the top
 * level exactly once (no cycle, no orphan, no node of another panorama
 * as parent), positions unique among siblings, kind and issue or title
 * consistent, the stored node count right, and the reverse index
 * (pano_nodes_issue) agreeing with the table.  0 when all hold; -1 with
 * the first broken rule in why (a constant).  For tests and the fuzzer.
 */
int		 pano_check(struct tenantdb *, long long id, const char **why);

#endif
