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

enum err
jira_call(const struct conf *cfg, struct registry *reg,
    const struct tenant *t, enum http_method m, const char *path_query,
    const char *body, const char *rid, struct jira_reply *rep)
{
	struct buf	 b = BUF_INIT(JIRA_MAX_REPLY);
	struct buf	 url = BUF_INIT(0), auth = BUF_INIT(0);
	const char	*headers[4];
	struct outbound	 o;
	char		*tok = NULL;
	int		 curl_code;
	enum err	 e = ERR_INTERNAL;

	memset(rep, 0, sizeof(*rep));
	if (path_query[0] != '/' || (m == METHOD_GET && body != NULL))
		return ERR_INTERNAL;
	if ((tok = jira_token(cfg, reg, t, m, path_query)) == NULL)
		goto out;
	buf_addf(&url, "%s%s", t->base_url, path_query);
	buf_addf(&auth, "Authorization: JWT %s", tok);
	if (url.failed || auth.failed)
		goto out;
	headers[0] = auth.p;
	headers[1] = "Accept: application/json";
	headers[2] = body != NULL ? "Content-Type: application/json" : NULL;
	headers[3] = NULL;
	memset(&o, 0, sizeof(o));
	o.url = url.p;
	o.method = m;
	/* https only, but plain http to a loopback test double. */
	o.protocols = strncmp(t->base_url, "http://", 7) == 0 ? "http" :
	    "https";
	o.connect_ms = (long)conf_int(cfg, C_JIRA_CONNECT_TIMEOUT_MS);
	o.total_ms = (long)conf_int(cfg, C_JIRA_TIMEOUT_MS);
	o.headers = headers;
	o.body = body;
	o.user_agent = "cellar";
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
	if (auth.p != NULL)
		sodium_memzero(auth.p, auth.len);
	buf_free(&auth);
	buf_free(&url);
	buf_free(&b);
	util_free_wiped(tok);
	return e;
}

void
jira_reply_free(struct jira_reply *r)
{
	if (r == NULL)
		return;
	free(r->body);
	memset(r, 0, sizeof(*r));
}
