/*
 * Request authentication (DESIGN.md section 4).  One entry point for the
 * router; every failure is ERR_UNAUTHORIZED with a generic body and the
 * reason (e.g. qsh_mismatch, expired, unknown_tenant) in the app log with
 * the request id, never the token.
 */
#ifndef CELLAR_AUTH_H
#define CELLAR_AUTH_H

#include "http.h"

/* The router_auth_fn: authenticates r for r->route->auth. */
enum err	 auth_request(struct req *r);

/*
 * The token of a request: "Authorization: JWT <t>" or "?jwt=<t>", not
 * both.  Points into r (header copy) or a malloc'd copy in *owned.
 * 0, or -1 with a reason.
 */
int		 auth_token(const struct req *r, const char **token,
		    char **owned, const char **reason);

/* 1 if kid is 1-128 of [A-Za-z0-9._-], not starting with '.'. */
int		 auth_kid_ok(const char *kid);

/* Forgets every cached verified token (tests, and at worker exit). */
void		 auth_cache_clear(void);

/* The clock, replaceable by tests. */
extern long long (*auth_now)(void);

#endif
