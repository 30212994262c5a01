/*
 * Request authentication, one entry point for the router.  Per route
 * level (router.h):
 *
 *   AUTH_LIFECYCLE  RS256 signed install: kid from a safe alphabet, the
 *                   public key by kid (installkey.h), aud = our base
 *                   URL, iss = the body's clientKey, exp/iat, qsh.
 *   AUTH_PAGE       HS256 with the tenant's shared secret, qsh computed
 *                   from the raw REQUEST_URI (qsh.h).
 *   AUTH_CONTEXT    HS256 with the tenant's shared secret, qsh must be
 *                   the literal "context-qsh".
 *   AUTH_FORGE      "Authorization: Bearer <FIT>" only (no ?jwt=): a
 *                   Forge Invocation Token of at most FIT_MAX_LEN
 *                   bytes (fit.h), RS256 under a key of Atlassian's
 *                   set found by kid (forgekey.h), exp/iat/nbf with
 *                   [forge] leeway and a life of at most 300 s, iss
 *                   "forge/invocation-token", aud = [forge] app_id.
 *                   The tenant is app.installationId's (a new one on
 *                   first contact, a departed one reinstated); the
 *                   caller is principal; an x-forge-oauth-system token
 *                   is kept (forgetoken.h).  After the token verified,
 *                   nothing answers 401: a registry that cannot answer
 *                   is 503.
 *
 * The algorithm is pinned by the route, never taken from the token.
 * Every failure is ERR_UNAUTHORIZED with a generic body and the reason
 * (e.g. qsh_mismatch, expired, unknown_tenant) in the app log with the
 * request id, never the token.
 */
#ifndef CELLAR_FCGI_AUTH_H
#define CELLAR_FCGI_AUTH_H

#include "cellar/fit.h"
#include "cellar/registry.h"
#include "cellar/token.h"
#include "req.h"
#include "router.h"

/*
 * What authentication found for one request.  The request borrows from
 * it (r->claims, r->tenant, r->account); app_serve owns it, on its
 * stack, and ends it with auth_release.
 */
struct auth_state {
	struct token_claims	 claims;	/* unless cached */
	struct tenant		 tenant;
	struct fit		 fit;		/* AUTH_FORGE: into claims */
};

/*
 * The router_auth_fn: authenticates r for r->auth_level in phase (the
 * headers, then what the body must agree with), using r->auth (which
 * must be set) for what it finds.  ERR_OK or ERR_UNAUTHORIZED; for a
 * Forge token that verified, ERR_UNAVAILABLE when its tenant cannot be
 * looked up or made.
 */
enum err	 auth_request(struct req *r, enum auth_phase phase);

/* Ends what r borrowed from r->auth and frees it; r->auth may be NULL. */
void		 auth_release(struct req *r);

/*
 * The token of a request: "Authorization: JWT <t>" or "?jwt=<t>", not
 * both.  Points into r (header copy) or a malloc'd copy in *owned.
 * 0, or -1 with a reason.
 */
int		 auth_token(const struct req *r, const char **token,
		    char **owned, const char **reason);

/* Forgets every cached verified token (at worker exit, and in tests). */
void		 auth_cache_clear(void);

#endif
