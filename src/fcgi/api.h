/*
 * Helpers every /api route group uses (canned responses, panoramas),
 * so that handlers read as a paragraph: the caller's project, ids in
 * the path, the tenant's database, field errors, dates and opaque
 * paging cursors.
 */
#ifndef CELLAR_FCGI_API_H
#define CELLAR_FCGI_API_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "cellar/err.h"
#include "req.h"

struct tenantdb;

/* Room for a project id and its NUL. */
#define API_PROJECT_ID_BUF	24
/* Largest id accepted in a path ({id}). */
#define API_PATH_ID_MAX		999999999999LL

/* Today: days since the epoch (UTC) by the library clock. */
long long	 api_today(void);

/* Today as "YYYY-MM-DD" (UTC) into out. */
void		 api_today_ymd(char out[11]);

/*
 * 1 if s is a canonical Jira project id: a positive decimal number of
 * at most 18 digits without a leading zero ("0100" never matches 100).
 */
int		 api_project_id_ok(const char *s);

/*
 * The token's context project in canonical form into buf
 * (API_PROJECT_ID_BUF bytes): a Connect token's
 * "context.jira.project.id" (a string or an integer), a Forge token's
 * context.extension project (r->fit); NULL when the token has none.
 */
const char	*api_context_project(const struct req *, char *buf,
		    size_t bufsz);

/* 1 if the query holds a projectId that is malformed. */
int		 api_project_param_bad(const struct req *);

/* The path's first {} as an id in [1, API_PATH_ID_MAX]; 0 or -1. */
int		 api_path_id(const struct req *, long long *id);

/*
 * The caller's tenant database, from the worker's pool (pool.h);
 * ERR_QUARANTINED while the tenant is held.
 */
enum err	 api_tenantdb(struct req *, struct tenantdb **out)
		    __attribute__((warn_unused_result));

/*
 * The answer for what the caller may not see, or that does not exist (a
 * template, a panorama): 404, unless the tenant's Jira is down.  Then it
 * is 503 like everything only Jira could clear, so that while Jira is
 * down a hidden one and a missing id look the same.  Known down: 503
 * whatever the caches hold (logged); else the question one that exists
 * would have asked (is the caller a Jira admin?, from the cache when it
 * can be) finds out.
 */
enum err	 api_hidden(struct req *);

/*
 * Logs "reason=REASON field=FIELD" (field may be NULL) unless e is
 * ERR_INTERNAL, and returns e: for the 4xx a handler gives for a body
 * field.  Never the value.
 */
enum err	 api_field_error(struct req *, enum err e, const char *reason,
		    const char *field);

/*
 * Paging cursors: a JSON array, compact, in base64url without padding,
 * opaque to clients.  api_cursor_make returns a malloc'd string or NULL;
 * api_cursor_parse a strictly parsed array (free with cJSON_Delete) or
 * NULL for anything that is not one.
 */
char		*api_cursor_make(const cJSON *array);
cJSON		*api_cursor_parse(const char *s);

#endif
