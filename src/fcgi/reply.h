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
};

/* Replaces the reply body with v serialised; 0 or -1 (no memory). */
int		 reply_json(struct reply *, int status, const cJSON *v);

/*
 * Replaces the reply body with the writer's text (the writer is empty
 * afterwards).  ERR_OK, or ERR_INTERNAL if the writer failed.
 */
enum err	 reply_jw(struct reply *, int status, struct jw *);

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
