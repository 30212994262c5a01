/*
 * One HTTP request and its reply, independent of the transport: the
 * worker feeds FastCGI (libfcgi) or plain CGI through struct http_io, the
 * unit tests feed memory buffers.
 */
#ifndef CELLAR_HTTP_H
#define CELLAR_HTTP_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "err.h"
#include "jwt_check.h"
#include "registry.h"

/* Longest REQUEST_URI accepted (nginx caps headers at 16 KiB anyway). */
#define HTTP_MAX_URI		16384
/* Longest header value copied (Authorization, Content-Type). */
#define HTTP_MAX_HEADER		16384
/* Most path parameters a route pattern may hold. */
#define HTTP_MAX_PARAMS		4

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

enum http_method {
	METHOD_GET = 0,
	METHOD_POST,
	METHOD_PUT,
	METHOD_DELETE,
	METHOD__MAX
};

struct route;
struct app;

/*
 * Everything the request handlers see.  All strings are copies owned by
 * the request (libfcgi's parameter pointers die at the next accept) and
 * freed by req_free.
 */
struct req {
	char			 rid[17];	/* random request id, hex */
	long long		 start_usec;
	enum http_method	 method;
	char			*uri;		/* raw REQUEST_URI */
	char			*path;		/* path below the base URL path */
	char			*query;		/* raw, without '?'; NULL if none */
	char			*content_type;	/* NULL if absent */
	long long		 content_length; /* -1 if absent */
	char			*authorization;	/* NULL if absent */
	char			*body;		/* NUL-terminated copy */
	size_t			 body_len;
	cJSON			*json;		/* parsed JSON body, if any */
	/* Set by authentication: */
	struct jwt_claims	 claims;	/* verified token */
	struct tenant		 tenant;	/* the caller's tenant */
	int			 has_tenant;
	const struct route	*route;		/* set by the router */
	char			*params[HTTP_MAX_PARAMS]; /* raw path segments */
	size_t			 nparams;
	const struct app	*app;
};

/* A reply under construction; only router.c and its handlers fill it. */
struct reply {
	int		 status;
	char		*body;		/* JSON, malloc'd */
	size_t		 len;
	char		 allow[64];	/* Allow header for 405, or "" */
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

/* Name of a method ("GET"). */
const char	*http_method_name(enum http_method);

/*
 * Reads exactly content_length bytes of body through io into a malloc'd,
 * NUL-terminated buffer.  content_length over limit: ERR_TOO_LARGE
 * without reading; fewer bytes than announced, or a read error:
 * ERR_BAD_REQUEST.  A length of 0 yields an empty buffer.
 */
enum err	 body_read(const struct http_io *, long long content_length,
		    size_t limit, char **buf, size_t *len)
		    __attribute__((warn_unused_result));

/*
 * Media type of a Content-Type value, lowercased, without parameters
 * ("application/json; charset=utf-8" -> "application/json") into out.
 * Returns 0, or -1 if it does not fit or is malformed.
 */
int		 http_media_type(const char *ctype, char *out, size_t outsz);

/*
 * The first query parameter called name, form-decoded into a malloc'd
 * string in *out.  0 found, 1 absent, -1 malformed (bad escape, NUL,
 * invalid UTF-8, repeated, or longer than max bytes).
 */
int		 http_query_param(const char *query, const char *name,
		    size_t max, char **out) __attribute__((warn_unused_result));

/* Replaces the reply body with v serialised; 0 or -1 (no memory). */
int		 reply_json(struct reply *, int status, const cJSON *v);
/* Replaces the reply with the error's fixed JSON body and status. */
void		 reply_error(struct reply *, enum err);
/*
 * Writes status line, security headers, X-Request-Id and body through
 * io as a CGI response.  0, or -1 if the client went away.
 */
int		 reply_send(const struct reply *, const struct http_io *,
		    const char *rid);
void		 reply_free(struct reply *);

#endif
