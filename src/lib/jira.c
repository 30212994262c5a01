/*
 * The Jira client.  See jira.h for its promises.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cellar/buf.h"
#include "cellar/clock.h"
#include "cellar/jira.h"
#include "cellar/json.h"
#include "cellar/log.h"
#include "cellar/outbound.h"
#include "cellar/qsh.h"
#include "cellar/token.h"
#include "cellar/util.h"

/* The app's token for this call, or NULL. */
static char *
jira_token(const struct conf *cfg, struct registry *reg,
    const struct tenant *t, enum http_method m, const char *path_query)
{
	cJSON		*claims = NULL;
	const char	*secret = NULL;
	char		*tok = NULL, *path = NULL, *qm, qsh[65];
	const char	*q = NULL;
	long long	 now = clock_now();
	size_t		 slen;

	if ((path = strdup(path_query)) == NULL)
		return NULL;
	if ((qm = strchr(path, '?')) != NULL) {
		*qm = '\0';
		q = qm + 1;
	}
	if (qsh_compute(http_method_name(m), path, q, qsh) == -1)
		goto out;
	if ((secret = registry_secret(reg, t, &slen)) == NULL)
		goto out;
	if ((claims = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(claims, "iss",
	    conf_str(cfg, C_APP_KEY)) == NULL ||
	    cJSON_AddStringToObject(claims, "qsh", qsh) == NULL ||
	    json_add_int(claims, "iat", now) == NULL ||
	    json_add_int(claims, "exp", now + JIRA_TOKEN_TTL) == NULL)
		goto out;
	tok = token_sign_hs256(claims, (const unsigned char *)secret, slen);
out:
	if (secret != NULL)
		registry_secret_wipe(reg);
	cJSON_Delete(claims);
	free(path);
	return tok;
}

/* What jira_send keeps of the reply's headers. */
static void
jira_header(void *arg, const char *line, size_t len)
{
	struct jira_reply *rep = arg;
	char		 v[64];
	long long	 n;

	if (outbound_header_value(line, len, "Retry-After", v,
	    sizeof(v)) == 1) {
		/*
		 * Seconds only; an HTTP date is treated as absent.  More
		 * than JIRA_RETRY_AFTER_MAX (or too many digits to read)
		 * is that maximum: a long wait asked for is a long wait.
		 */
		if (util_strtonum(v, 0, JIRA_RETRY_AFTER_MAX, &n) == 0)
			rep->retry_after = n;
		else if (v[0] != '\0' && strspn(v, "0123456789") ==
		    strlen(v))
			rep->retry_after = JIRA_RETRY_AFTER_MAX;
		else
			rep->retry_after = -1;
	} else if (outbound_header_value(line, len, "Cycle-Period",
	    rep->cycle_period, sizeof(rep->cycle_period)) == -1)
		rep->cycle_period[0] = '\0';
}

/*
 * One call to url with the Authorization header auth ("Authorization:
 * ..."), for jira_call and jira_call_bearer.
 */
static enum err
jira_send(const struct conf *cfg, const char *url, const char *auth,
    enum http_method m, const char *body, const char *rid,
    struct jira_reply *rep)
{
	struct buf	 b = BUF_INIT(JIRA_MAX_REPLY);
	const char	*headers[4];
	struct outbound	 o;
	int		 curl_code;
	enum err	 e = ERR_INTERNAL;

	headers[0] = auth;
	headers[1] = "Accept: application/json";
	headers[2] = body != NULL ? "Content-Type: application/json" : NULL;
	headers[3] = NULL;
	memset(&o, 0, sizeof(o));
	o.url = url;
	o.method = m;
	/* https only, but plain http to a loopback test double. */
	o.protocols = strncmp(url, "http://", 7) == 0 ? "http" : "https";
	o.connect_ms = (long)conf_int(cfg, C_JIRA_CONNECT_TIMEOUT_MS);
	o.total_ms = (long)conf_int(cfg, C_JIRA_TIMEOUT_MS);
	o.headers = headers;
	o.body = body;
	o.user_agent = "cellar";
	o.on_header = jira_header;
	o.header_arg = rep;
	if (outbound_call(&o, &rep->status, &b, &curl_code) == -1) {
		log_msg(LOGL_WARN, rid, "reason=jira_unreachable curl=%d",
		    curl_code);
		e = ERR_UNAVAILABLE;
		goto out;
	}
	if (rep->status >= 300 && rep->status < 400) {
		log_msg(LOGL_WARN, rid, "reason=jira_redirect_refused");
		e = ERR_UNAVAILABLE;
		goto out;
	}
	if ((rep->body = buf_finish(&b, &rep->len)) == NULL)
		goto out;
	e = ERR_OK;
out:
	buf_free(&b);
	return e;
}

/* A reply with nothing in it yet. */
static void
jira_reply_init(struct jira_reply *rep)
{
	memset(rep, 0, sizeof(*rep));
	rep->retry_after = -1;
}

/*
 * url_base + path_query with "Authorization: <scheme> <token>": the
 * common end of jira_call and jira_call_bearer.  The header is wiped.
 */
static enum err
jira_send_token(const struct conf *cfg, const char *url_base,
    const char *path_query, const char *scheme, const char *token,
    enum http_method m, const char *body, const char *rid,
    struct jira_reply *rep)
{
	struct buf	 url = BUF_INIT(0), auth = BUF_INIT(0);
	enum err	 e = ERR_INTERNAL;

	buf_addf(&url, "%s%s", url_base, path_query);
	buf_addf(&auth, "Authorization: %s %s", scheme, token);
	if (!url.failed && !auth.failed)
		e = jira_send(cfg, url.p, auth.p, m, body, rid, rep);
	if (auth.p != NULL)
		sodium_memzero(auth.p, auth.len);
	buf_free(&auth);
	buf_free(&url);
	return e;
}

enum err
jira_call(const struct conf *cfg, struct registry *reg,
    const struct tenant *t, enum http_method m, const char *path_query,
    const char *body, const char *rid, struct jira_reply *rep)
{
	char		*tok;
	enum err	 e;

	jira_reply_init(rep);
	if (path_query[0] != '/' || (m == METHOD_GET && body != NULL) ||
	    t->base_url == NULL)
		return ERR_INTERNAL;
	if ((tok = jira_token(cfg, reg, t, m, path_query)) == NULL)
		return ERR_INTERNAL;
	e = jira_send_token(cfg, t->base_url, path_query, "JWT", tok, m, body,
	    rid, rep);
	util_free_wiped(tok);
	return e;
}

enum err
jira_call_bearer(const struct conf *cfg, const char *base_url,
    const char *token, enum http_method m, const char *path_query,
    const char *body, const char *rid, struct jira_reply *rep)
{
	jira_reply_init(rep);
	if (base_url == NULL || token == NULL || token[0] == '\0' ||
	    (path_query[0] != '/' && path_query[0] != '\0') ||
	    (m == METHOD_GET && body != NULL))
		return ERR_INTERNAL;
	return jira_send_token(cfg, base_url, path_query, "Bearer", token, m,
	    body, rid, rep);
}

void
jira_reply_free(struct jira_reply *r)
{
	if (r == NULL)
		return;
	free(r->body);
	memset(r, 0, sizeof(*r));
}
