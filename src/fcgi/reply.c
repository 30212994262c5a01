/*
 * Replies; see reply.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cellar/http.h"
#include "reply.h"
#include "req.h"

/* Frames are allowed only inside Jira Cloud. */
#define CSP	"default-src 'none'; frame-ancestors 'self' " \
		"https://*.atlassian.net https://*.jira.com"

int
reply_json(struct reply *rep, int status, const cJSON *v)
{
	char	*s;

	if ((s = cJSON_PrintUnformatted(v)) == NULL)
		return -1;
	free(rep->body);
	rep->body = s;
	rep->len = strlen(s);
	rep->status = status;
	return 0;
}

enum err
reply_jw(struct reply *rep, int status, struct jw *w)
{
	size_t	 len;
	char	*s;

	if ((s = jw_finish(w, &len)) == NULL)
		return ERR_INTERNAL;
	free(rep->body);
	rep->body = s;
	rep->len = len;
	rep->status = status;
	return ERR_OK;
}

void
reply_error(struct reply *rep, enum err e)
{
	cJSON	*o;

	free(rep->body);
	rep->body = NULL;
	rep->len = 0;
	rep->status = err_status(e);
	if ((o = cJSON_CreateObject()) != NULL &&
	    cJSON_AddStringToObject(o, "error", err_code(e)) != NULL &&
	    cJSON_AddStringToObject(o, "message", err_message(e)) != NULL &&
	    (rep->body = cJSON_PrintUnformatted(o)) != NULL)
		rep->len = strlen(rep->body);
	cJSON_Delete(o);
}

int
reply_send(const struct reply *rep, const struct http_io *io, const char *rid)
{
	char	 head[1024];
	int	 n;

	n = snprintf(head, sizeof(head),
	    "Status: %d %s\r\n"
	    "Content-Type: application/json\r\n"
	    "Content-Length: %zu\r\n"
	    "Cache-Control: no-store\r\n"
	    "X-Content-Type-Options: nosniff\r\n"
	    "Content-Security-Policy: " CSP "\r\n"
	    "Referrer-Policy: no-referrer\r\n"
	    "X-Request-Id: %s\r\n"
	    "%s%s%s"
	    "\r\n",
	    rep->status, http_reason(rep->status), rep->len, rid,
	    rep->allow[0] ? "Allow: " : "", rep->allow,
	    rep->allow[0] ? "\r\n" : "");
	if (n < 0 || (size_t)n >= sizeof(head))
		return -1;
	if (io->write(io->ctx, head, (size_t)n) == -1)
		return -1;
	if (rep->len > 0 && io->write(io->ctx, rep->body, rep->len) == -1)
		return -1;
	return 0;
}

void
reply_free(struct reply *rep)
{
	if (rep == NULL)
		return;
	free(rep->body);
	memset(rep, 0, sizeof(*rep));
}
