/*
 * One HTTP request as the worker's handlers see it, independent of the
 * transport: main.c feeds FastCGI (libfcgi) or plain CGI through struct
 * http_io, the unit tests feed memory buffers.  Every parameter is
 * copied and bounded here, once (libfcgi's parameter pointers die at the
 * next accept); past req_init the handlers trust the shape (not the
 * content) of what they read.  This layer knows nothing of tenants or
 * tokens: authentication fills the borrowed pointers at the end.
 */
#ifndef CELLAR_FCGI_REQ_H
#define CELLAR_FCGI_REQ_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "cellar/err.h"
#include "cellar/http.h"

/* Longest REQUEST_URI accepted (nginx caps headers at 16 KiB anyway). */
#define HTTP_MAX_URI		16384
/* Longest header value copied (Authorization, Content-Type). */
#define HTTP_MAX_HEADER		16384
/* Most path parameters a route pattern may hold. */
#define HTTP_MAX_PARAMS		4
/* Largest CONTENT_LENGTH parsed at all (1 TiB); routes cap far lower. */
#define HTTP_MAX_CONTENT_LENGTH	(1LL << 40)

/* Transport: where parameters, the body and the reply come from and go. */
struct http_io {
	void		*ctx;
	/* A CGI/FastCGI parameter, or NULL if absent. */
	const char	*(*param)(void *ctx, const char *name);
	/* Up to n body bytes: count read, 0 at end of input, -1 on error. */
	long		 (*read)(void *ctx, char *buf, size_t n);
	/* All n bytes: 0, or -1 on error. */
	int		 (*write)(void *ctx, const char *buf, size_t n);
};

struct after;
struct app;
struct auth_state;
struct fit;
struct route;
struct tenant;
struct token_claims;

/*
 * The authentication levels of the route table (router.h): what a
 * route's caller must present.  Here, not in router.h, because a
 * request carries the level it was matched at (r->auth_level).
 */
enum auth_level {
	AUTH_NONE = 0,		/* public: descriptor, health */
	AUTH_LIFECYCLE,		/* signed install (RS256) */
	AUTH_PAGE,		/* HS256 with computed qsh */
	AUTH_CONTEXT,		/* HS256 with qsh "context-qsh" */
	AUTH_FORGE,		/* Forge Invocation Token (RS256, JWKS) */
	AUTH__MAX
};

/*
 * Everything the request handlers see.  All strings are copies owned by
 * the request and freed (secrets wiped) by req_free.
 */
struct req {
	char			 rid[17];	/* request id, hex */
	long long		 start_usec;	/* monotonic, microseconds */
	enum http_method	 method;
	char			*uri;		/* raw REQUEST_URI */
	char			*path;		/* below the base URL path */
	char			*query;		/* raw, no '?'; NULL if none */
	char			*content_type;	/* NULL if absent */
	long long		 content_length; /* -1 if absent */
	char			*authorization;	/* NULL if absent */
	/*
	 * x-forge-oauth-system (HTTP_X_FORGE_OAUTH_SYSTEM): the app
	 * system token Forge sends with an invocation; NULL if absent.
	 * A secret: wiped by req_free, never logged.
	 */
	char			*forge_token;
	/* Forge Remote is on ([forge] app_id set): app_serve says so. */
	int			 forge;
	char			 remote_addr[64]; /* nginx's; "" if absent */
	char			*body;		/* NUL-terminated copy */
	size_t			 body_len;
	cJSON			*json;		/* parsed JSON body, if any */
	const struct route	*route;		/* set by the router */
	/*
	 * The level the request is authenticated at: its route's, or
	 * AUTH_FORGE for a context route reached below /forge/ (router.c).
	 */
	enum auth_level		 auth_level;
	char			*params[HTTP_MAX_PARAMS]; /* "{}" segments */
	size_t			 nparams;
	const struct app	*app;
	/*
	 * Set by authentication (auth.c), NULL before and on public
	 * routes; borrowed from auth's state, valid until auth_release.
	 */
	const struct token_claims *claims;	/* the verified token */
	const struct tenant	*tenant;	/* the caller's tenant */
	const char		*account;	/* sub, if an account id */
	/* A Forge request's verified token (AUTH_FORGE), else NULL. */
	const struct fit	*fit;
	struct auth_state	*auth;		/* where they live */
	/*
	 * Where app_defer puts work for after the reply (fcgi.h, struct
	 * after): app_serve's caller's; NULL: nothing may be deferred.
	 */
	struct after		*after;
	/* perm.c: the caller's Jira admin right, once known this request. */
	int			 admin_known;
	int			 admin;
};

/*
 * Copies the request parameters from io into req and parses them.
 * base_path is the path of the configured base URL ("" or "/prefix"),
 * stripped segment-wise from the front of the path.  Returns ERR_OK,
 * ERR_BAD_REQUEST (unknown method syntax, bad CONTENT_LENGTH, oversized
 * or malformed URI), ERR_METHOD (method we never serve) or ERR_NOT_FOUND
 * (outside the base path).  req is usable by req_free in every case.
 */
enum err	 req_init(struct req *, const struct http_io *,
		    const char *base_path, const struct app *);
void		 req_free(struct req *);

/*
 * Reads exactly content_length bytes of body through io into a malloc'd,
 * NUL-terminated buffer.  content_length over limit: ERR_TOO_LARGE
 * without reading; fewer bytes than announced, or a read error:
 * ERR_BAD_REQUEST.  A length of 0 yields an empty buffer.
 */
enum err	 req_body_read(const struct http_io *, long long content_length,
		    size_t limit, char **buf, size_t *len)
		    __attribute__((warn_unused_result));

/*
 * Media type of a Content-Type value, lowercased, without parameters
 * ("application/json; charset=utf-8" -> "application/json") into out.
 * Returns 0, or -1 if it does not fit or is malformed.
 */
int		 req_media_type(const char *ctype, char *out, size_t outsz);

/*
 * The first query parameter called name, form-decoded into a malloc'd
 * string in *out.  0 found, 1 absent, -1 malformed (bad escape, NUL,
 * invalid UTF-8, repeated, or longer than max bytes).
 */
int		 req_query_param(const char *query, const char *name,
		    size_t max, char **out) __attribute__((warn_unused_result));

#endif
