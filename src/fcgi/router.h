/*
 * The route table and the router.  Every route declares its method, path
 * pattern, authentication level, body limit and content type; the router
 * answers 404, 405, 411, 413 and 415 before any handler runs, and it
 * alone turns an error code into an error reply.
 */
#ifndef CELLAR_FCGI_ROUTER_H
#define CELLAR_FCGI_ROUTER_H

#include <stddef.h>

#include "cellar/err.h"
#include "reply.h"
#include "req.h"

/*
 * A handler fills the reply (reply_json) and returns ERR_OK, or returns
 * an error code and leaves the reply to the router.
 */
typedef enum err (*route_fn)(struct req *, struct reply *);

struct route {
	enum http_method method;
	/* "/a/b/{}": literal segments, "{}" matches one non-empty segment */
	const char	*pattern;
	const char	*name;		/* for the log */
	enum auth_level	 auth;
	size_t		 body_max;	/* bytes; 0: the route takes no body */
	const char	*ctype;		/* media type required with a body */
	route_fn	 handler;
	/*
	 * A route with a body that may also go without one (a zero
	 * Content-Length, whatever the Content-Type; or neither header):
	 * r->json NULL then.
	 */
	int		 body_optional;
};

/* The media type of every body the worker takes. */
#define ROUTE_JSON	"application/json"
/* Runs of a handler whose tenant file was re-encrypted under it. */
#define ROUTER_REKEY_TRIES	3

/* Where Forge Remote calls: its own rows, and the context routes below. */
#define ROUTER_FORGE_PREFIX	"/forge"

/*
 * Finds the route for req->method and req->path, filling req->route,
 * req->params and req->auth_level.  ERR_NOT_FOUND if no pattern matches
 * the path; ERR_METHOD if one does but not for this method (allow then
 * lists the methods that would, "GET, POST").
 *
 * Below ROUTER_FORGE_PREFIX (Forge Remote: one route table, one more
 * level): nothing while req->forge is 0 ([forge] app_id empty); else a
 * row of level AUTH_FORGE that matches the whole path ("/forge/events"),
 * else the AUTH_CONTEXT row that matches the rest ("/forge/api/tenant"
 * is "/api/tenant"), authenticated at AUTH_FORGE instead; any other
 * row is never reached from there (404).  Outside it, AUTH_FORGE rows
 * are not matched and every other row is reached at its own level.
 */
enum err	 router_match(const struct route *, size_t n, struct req *,
		    char *allow, size_t allowsz);

/*
 * Checks the request's body headers against req->route: a body on a
 * route without one, or over its limit, ERR_TOO_LARGE; a body route
 * without Content-Length, ERR_LENGTH_REQUIRED; a body route with another
 * media type, ERR_MEDIA_TYPE.
 */
enum err	 router_check_body(const struct req *);

/*
 * Authentication runs in two phases.  From the headers alone (the token,
 * the tenant, the signature), before a byte of body is read: a request
 * that is not authenticated costs no body read and no JSON parse.  Then,
 * for routes with a body, once the body is parsed: what the token must
 * agree with in the body (a signed install's clientKey).  A handler that
 * answers ERR_REKEYED (its tenant's file was re-encrypted under a new
 * key between the lookup and its write, and nothing was written) is run
 * once more after a refresh phase reads what the headers phase looked
 * up (the tenant) again.
 */
enum auth_phase {
	AUTH_PHASE_HEADERS = 0,
	AUTH_PHASE_BODY,
	AUTH_PHASE_REFRESH,	/* what was looked up, read again */
	AUTH_PHASE__MAX
};

/*
 * Authenticates req for req->auth_level in phase.  Provided by the auth
 * module; ERR_OK or ERR_UNAUTHORIZED (the reason goes to the log).
 */
typedef enum err (*router_auth_fn)(struct req *, enum auth_phase);

/*
 * The whole pipeline for one parsed request: match, body header checks
 * (length, type), authentication from the headers, body read through io
 * and parsed, authentication against the body, handler.  Always leaves a
 * complete reply (the handler's, or the error's) in *rep.
 */
void		 router_dispatch(const struct route *, size_t n,
		    router_auth_fn, struct req *, const struct http_io *,
		    struct reply *);

#endif
