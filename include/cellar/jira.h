/*
 * Outbound calls to a tenant's Jira, signed as the app: an HS256 JWT with
 * iss = our app key, qsh for the tenant-relative path, a 3-minute expiry,
 * under the tenant's shared secret.  TLS is verified, timeouts are short,
 * redirects are not followed (a 3xx is an error), GET never carries a
 * body, and replies are capped.
 */
#ifndef CELLAR_JIRA_H
#define CELLAR_JIRA_H

#include <stddef.h>

#include "cellar/conf.h"
#include "cellar/err.h"
#include "cellar/http.h"
#include "cellar/registry.h"

/* Largest reply body read from Jira. */
#define JIRA_MAX_REPLY	(1024 * 1024)
/* Longest Retry-After kept, seconds (a week). */
#define JIRA_RETRY_AFTER_MAX	(7 * 86400LL)
/* Token lifetime for outbound calls, seconds. */
#define JIRA_TOKEN_TTL	180

struct jira_reply {
	long		 status;	/* HTTP status of Jira's answer */
	char		*body;		/* NUL-terminated, malloc'd */
	size_t		 len;
	/*
	 * Retry-After in seconds (a 429 or 503), at most
	 * JIRA_RETRY_AFTER_MAX; -1 absent or a date.
	 */
	long long	 retry_after;
	/* Cycle-Period, as sent (personal-data reporting); "" absent. */
	char		 cycle_period[64];
};

/*
 * Calls method path_query (e.g. "/rest/api/3/myself?x=1", relative to
 * the tenant's base URL) with an optional JSON body (not for GET),
 * within [jira] connect_timeout_ms and timeout_ms.  rid
 * (may be NULL) ties the log lines to the request that asked.
 * ERR_OK with the reply filled, whatever its HTTP status;
 * ERR_UNAVAILABLE if Jira could not be reached in time or redirected;
 * ERR_INTERNAL on our side.
 */
enum err	 jira_call(const struct conf *, struct registry *,
		    const struct tenant *, enum http_method,
		    const char *path_query, const char *body, const char *rid,
		    struct jira_reply *) __attribute__((warn_unused_result));

/*
 * The same call for a Forge Remote: "Authorization: Bearer <token>"
 * (the app system token Forge sent with an invocation, never logged)
 * to base_url + path_query, where base_url is the installation's
 * app.apiBaseUrl ("https://api.atlassian.com/ex/jira/<cloudId>", not
 * the site URL: Atlassian, "Calling product APIs from a Forge remote")
 * or a whole URL with path_query "" ([forge] report_url).  Same
 * timeouts, caps, redirect refusal and errors as jira_call.
 */
enum err	 jira_call_bearer(const struct conf *, const char *base_url,
		    const char *token, enum http_method,
		    const char *path_query, const char *body, const char *rid,
		    struct jira_reply *) __attribute__((warn_unused_result));
void		 jira_reply_free(struct jira_reply *);

#endif
