/*
 * A reply under construction.  Handlers fill it with JSON; only the
 * router turns an error code into an error reply (reply_error), so every
 * refusal looks the same and none can echo the request.
 */
#ifndef CELLAR_FCGI_REPLY_H
#define CELLAR_FCGI_REPLY_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "cellar/err.h"
#include "cellar/json.h"

struct http_io;

struct reply {
	int		 status;	/* HTTP status */
	char		*body;		/* JSON, malloc'd; NULL for none */
	size_t		 len;
	char		 allow[64];	/* Allow header for 405, or "" */
	int		 retry_after;	/* Retry-After seconds; 0: none */
	enum err	 err;		/* the error answered; ERR_OK: none */
	/*
	 * What an error reply names besides its code: the body field at
	 * fault (our constant, never input), the import row, the limit,
	 * why (a constant code such as "cycle"), and for a conflict the
	 * current version.  Set by a handler before it returns the error;
	 * see reply_detail and reply_reason.
	 */
	const char	*field;		/* NULL: none */
	long long	 index;		/* -1: none */
	long long	 limit;		/* -1: none */
	const char	*reason;	/* NULL: none */
	long long	 version;	/* -1: none */
	/*
	 * A page's gate (route_ui.c, reply_page): the Content-Security-
	 * Policy nginx serves the page with, sent instead of the API's
	 * fixed one (malloc'd), and the X-Cellar-All-Js URL (borrowed from
	 * the configuration).  NULL: none.  Built from the tenant's stored
	 * base URL and the configuration only, never from the request.
	 */
	char		*csp;
	const char	*all_js;
};

/* A reply before anything is known: status 200, no details. */
void		 reply_init(struct reply *);

/*
 * Names the body field (a constant), the import row (-1: none) and the
 * limit (-1: none) that the next reply_error reports.
 */
void		 reply_detail(struct reply *, const char *field,
		    long long index, long long limit);

/*
 * Names why (a constant code, NULL: none) and the current version (-1:
 * none) that the next reply_error reports.
 */
void		 reply_reason(struct reply *, const char *reason,
		    long long version);

/* Replaces the reply body with v serialised; 0 or -1 (no memory). */
int		 reply_json(struct reply *, int status, const cJSON *v);

/*
 * Replaces the reply body with the writer's text (the writer is empty
 * afterwards).  ERR_OK, or ERR_INTERNAL if the writer failed.
 */
enum err	 reply_jw(struct reply *, int status, struct jw *);

/*
 * Makes the reply a page gate's answer: 204 without a body, csp
 * (malloc'd; the reply owns it from here, also when it is NULL: then
 * ERR_INTERNAL) as its Content-Security-Policy and all_js (borrowed)
 * as X-Cellar-All-Js.  ERR_OK or ERR_INTERNAL.
 */
enum err	 reply_page(struct reply *, char *csp, const char *all_js);

/*
 * Replaces the reply with the error's JSON body and status: {"error":
 * CODE, "message": TEXT} plus "field", "index", "limit", "reason" and
 * "version" when set (reply_detail, reply_reason), and the error's
 * Retry-After, with the API's fixed headers (a page gate's are
 * dropped).  Nothing in it comes from the request.
 */
void		 reply_error(struct reply *, enum err);

/*
 * Writes status line, security headers, X-Request-Id and body through
 * io as a CGI response.  0, or -1 if the client went away.
 */
int		 reply_send(const struct reply *, const struct http_io *,
		    const char *rid);
void		 reply_free(struct reply *);

#endif
