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
/* The head of a reply: the fixed headers, a page's policy and URL. */
#define HEAD_MAX	4096

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
reply_init(struct reply *rep)
{
	memset(rep, 0, sizeof(*rep));
	rep->status = 200;
	rep->index = rep->limit = rep->version = -1;
}

void
reply_detail(struct reply *rep, const char *field, long long index,
    long long limit)
{
	rep->field = field;
	rep->index = index;
	rep->limit = limit;
}

void
reply_reason(struct reply *rep, const char *reason, long long version)
{
	rep->reason = reason;
	rep->version = version;
}

enum err
reply_page(struct reply *rep, char *csp, const char *all_js)
{
	free(rep->csp);
	rep->csp = csp;
	rep->all_js = all_js;
	if (csp == NULL || all_js == NULL)
		return ERR_INTERNAL;
	free(rep->body);
	rep->body = NULL;
	rep->len = 0;
	rep->status = 204;
	return ERR_OK;
}

void
reply_error(struct reply *rep, enum err e)
{
	struct jw	 w = JW_INIT;

	free(rep->csp);
	rep->csp = NULL;
	rep->all_js = NULL;
	free(rep->body);
	rep->body = NULL;
	rep->len = 0;
	rep->status = err_status(e);
	rep->retry_after = err_retry_after(e);
	rep->err = e;
	jw_begin_object(&w, NULL);
	jw_string(&w, "error", err_code(e));
	jw_string(&w, "message", err_message(e));
	if (rep->field != NULL)
		jw_string(&w, "field", rep->field);
	if (rep->index >= 0)
		jw_int(&w, "index", rep->index);
	if (rep->limit >= 0)
		jw_int(&w, "limit", rep->limit);
	if (rep->reason != NULL)
		jw_string(&w, "reason", rep->reason);
	if (rep->version >= 0)
		jw_int(&w, "version", rep->version);
	jw_end_object(&w);
	rep->body = jw_finish(&w, &rep->len);
}

int
reply_send(const struct reply *rep, const struct http_io *io, const char *rid)
{
	char	 head[HEAD_MAX];
	int	 n;

	n = snprintf(head, sizeof(head),
	    "Status: %d %s\r\n"
	    "Content-Type: application/json\r\n"
	    "Content-Length: %zu\r\n"
	    "Cache-Control: no-store\r\n"
	    "X-Content-Type-Options: nosniff\r\n"
	    "Content-Security-Policy: %s\r\n"
	    "Referrer-Policy: no-referrer\r\n"
	    "X-Request-Id: %s\r\n"
	    "%s%s%s"
	    "%s%.0d%s"
	    "%s%s%s"
	    "\r\n",
	    rep->status, http_reason(rep->status), rep->len,
	    rep->csp != NULL ? rep->csp : CSP, rid,
	    rep->allow[0] ? "Allow: " : "", rep->allow,
	    rep->allow[0] ? "\r\n" : "",
	    rep->retry_after > 0 ? "Retry-After: " : "", rep->retry_after,
	    rep->retry_after > 0 ? "\r\n" : "",
	    rep->all_js != NULL ? "X-Cellar-All-Js: " : "",
	    rep->all_js != NULL ? rep->all_js : "",
	    rep->all_js != NULL ? "\r\n" : "");
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
	free(rep->csp);
	reply_init(rep);
}
