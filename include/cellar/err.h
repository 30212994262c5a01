/*
 * One error enum for the whole service, with parallel tables giving the
 * machine-readable code, the fixed human message and the HTTP status.
 * Messages are constants: a reply built from this table can never echo
 * anything the client sent.  (The header lives in include/cellar/ so that
 * it never shadows the system's <err.h>.)
 */
#ifndef CELLAR_ERR_H
#define CELLAR_ERR_H

enum err {
	ERR_OK = 0,
	ERR_BAD_REQUEST,	/* 400 malformed request or body */
	ERR_UNAUTHORIZED,	/* 401 missing or invalid credentials */
	ERR_FORBIDDEN,		/* 403 authenticated but not allowed */
	ERR_NOT_FOUND,		/* 404 no such route or resource */
	ERR_METHOD,		/* 405 route exists, method does not */
	ERR_CONFLICT,		/* 409 stale version */
	ERR_LENGTH_REQUIRED,	/* 411 body without Content-Length */
	ERR_TOO_LARGE,		/* 413 body over the route's limit */
	ERR_MEDIA_TYPE,		/* 415 wrong Content-Type */
	ERR_UNPROCESSABLE,	/* 422 well-formed but invalid fields */
	ERR_LIMIT_TEMPLATES,	/* 422 the tenant's shared template limit */
	ERR_LIMIT_PERSONAL,	/* 422 a person's personal template limit */
	ERR_LIMIT_NAME,		/* 422 template name length */
	ERR_LIMIT_BODY,		/* 422 template body length */
	ERR_LIMIT_PROJECTS,	/* 422 project list length */
	ERR_LIMIT_GROUPS,	/* 422 group list length */
	ERR_LIMIT_VALUES,	/* 422 rendered text too large */
	ERR_LIMIT_IMPORT,	/* 413 import holds too many templates */
	ERR_LIMIT_NODES,	/* 422 a panorama's node limit */
	ERR_LIMIT_PANORAMAS,	/* 422 the tenant's panorama limit */
	ERR_LIMIT_ACTIONS,	/* 413 a batch holds too many actions */
	ERR_LIMIT_TIME,		/* 422 a batch takes too long to apply */
	ERR_INTERNAL,		/* 500 our fault */
	ERR_UNAVAILABLE,	/* 503 a dependency is down, or busy */
	ERR_STORAGE_FULL,	/* 503 no room left to write */
	ERR_QUARANTINED,	/* 503 the tenant's file is held: damaged */
	ERR_REKEYED,		/* 503 the file was re-encrypted meanwhile */
	ERR__MAX
};

/* Machine-readable code, e.g. "not_found". Never NULL. */
const char	*err_code(enum err);
/* Fixed English message. Never NULL, never contains request data. */
const char	*err_message(enum err);
/* HTTP status, e.g. 404. */
int		 err_status(enum err);
/* Seconds a client should wait before retrying (Retry-After), or 0. */
int		 err_retry_after(enum err);

#endif
