/*
 * What Jira says about a user: Jira admin, permissions in projects, group
 * membership.  Asked through the app-signed Jira client (for a Forge
 * request: with the installation's app system token against
 * app.apiBaseUrl, perm.c's ask) and cached per worker for [jira]
 * cache_seconds (monotonic time).  Every question that Jira cannot
 * answer is ERR_UNAVAILABLE: callers fail closed.
 */
#ifndef CELLAR_FCGI_PERM_H
#define CELLAR_FCGI_PERM_H

#include <stddef.h>

#include "cellar/err.h"
#include "req.h"

/* Longest id accepted for an account, project or group. */
#define PERM_ID_MAX	128
/* Most projects asked about in one call to Jira. */
#define PERM_BATCH	100
/* Most issues asked about in one call to Jira. */
#define PERM_ISSUE_BATCH	1000
/*
 * How long one request may spend asking Jira about issues (30 calls for
 * a tree of 30,000): past it, perm_issues stops before its next call
 * with ERR_UNAVAILABLE.  With the last call's own timeout ([jira]
 * timeout_ms, 5 s) and a batch's PANO_APPLY_MS (10 s) this keeps a
 * request under nginx's 30 s fastcgi_read_timeout: a client is never
 * told 504 for a change that is made after all.
 */
#define PERM_ISSUE_BUDGET_MS	10000

enum perm_project {
	PERM_BROWSE = 0,	/* BROWSE_PROJECTS: works on its issues */
	PERM_ADMIN_PROJECT,	/* ADMINISTER_PROJECTS */
	PERM_PROJECT__MAX
};

/* 1 if s is a plausible Atlassian account id, project id or group id. */
int		 perm_id_ok(const char *s);

/*
 * 1 while a call to the tenant's Jira failed in the last few seconds
 * (calls then fail fast with ERR_UNAVAILABLE).
 */
int		 perm_jira_known_down(const struct req *);

/*
 * Is the caller (r->account) a Jira admin?  *yes set on ERR_OK;
 * ERR_FORBIDDEN for a caller without an account id.
 */
enum err	 perm_jira_admin(struct req *r, int *yes)
		    __attribute__((warn_unused_result));

/*
 * Does the caller hold the app's own global permission module (the key
 * of a jiraGlobalPermissions module of our descriptor, "use-panoramas")?
 * Asked as Jira knows it, "<app key>__<module>"; cached like
 * perm_jira_admin.  *yes set on ERR_OK; ERR_FORBIDDEN for a caller
 * without an account id.
 */
enum err	 perm_app_global(struct req *r, const char *module, int *yes)
		    __attribute__((warn_unused_result));

/*
 * May the caller browse each of issues[0..n) (Jira issue ids, any
 * order, repeats allowed)?  each[i] set to 1 or 0 on ERR_OK.  Answers
 * come from a cache of their own (per tenant, account and issue, for
 * [jira] cache_seconds); only the ids not cached are asked, once each,
 * PERM_ISSUE_BATCH to a call.  ERR_UNAVAILABLE when an id is not cached
 * and Jira cannot answer (fail closed: no partial answer);
 * ERR_FORBIDDEN for a caller without an account id.
 */
enum err	 perm_issues(struct req *r, const long long *issues,
		    size_t n, unsigned char *each)
		    __attribute__((warn_unused_result));

/*
 * Asks Jira about perm in every project of projects[0..n) (canonical
 * ids) whose answer is not cached, PERM_BATCH at a time, and caches the
 * answers: a listing that will ask about many projects asks once.
 */
enum err	 perm_prefetch(struct req *r, enum perm_project,
		    const char *const *projects, size_t n)
		    __attribute__((warn_unused_result));

/*
 * Does the caller hold perm in every one of projects[0..n)?  *yes set on
 * ERR_OK.
 */
enum err	 perm_projects(struct req *r, enum perm_project,
		    const char *const *projects, size_t n, int *yes)
		    __attribute__((warn_unused_result));

/*
 * The caller's group ids as ",id1,id2,...," (empty groups: ","), a
 * malloc'd string for SQL membership tests.
 */
enum err	 perm_groups(struct req *r, char **joined)
		    __attribute__((warn_unused_result));

/* Forgets every cached answer, the issue answers included. */
void		 perm_cache_clear(void);

#endif
