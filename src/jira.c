/*
 * The Jira client.  See jira.h for its promises.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <sodium.h>

#include "auth.h"
#include "jira.h"
#include "json.h"
#include "jwt_check.h"
#include "log.h"
#include "qsh.h"

struct rbuf {
	char	*buf;
	size_t	 len, cap;
};

static size_t
jira_write(char *data, size_t size, size_t nmemb, void *ctx)
{
	struct rbuf	*b = ctx;
	size_t		 n = size * nmemb, cap;
	char		*p;

	if (n > JIRA_MAX_REPLY - b->len)
		return 0;	/* aborts the transfer */
	if (b->len + n + 1 > b->cap) {
		cap = (b->len + n + 1) * 2;
		if (cap > JIRA_MAX_REPLY + 1)
			cap = JIRA_MAX_REPLY + 1;
		if ((p = realloc(b->buf, cap)) == NULL)
			return 0;
		b->buf = p;
		b->cap = cap;
	}
	memcpy(b->buf + b->len, data, n);
	b->len += n;
	b->buf[b->len] = '\0';
	return n;
}

/* The app's token for this call, or NULL. */
static char *
jira_token(const struct conf *cfg, struct registry *reg,
    const struct tenant *t, enum http_method m, const char *path_query)
{
	cJSON		*claims = NULL;
	const char	*secret = NULL;
	char		*tok = NULL, *path = NULL, *qm, qsh[65];
	const char	*q = NULL;
	long long	 now = auth_now();
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
	tok = jwt_sign_hs256(claims, (const unsigned char *)secret, slen);
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
	struct rbuf	 b = { NULL, 0, 0 };
	struct curl_slist *hdr = NULL, *h;
	CURL		*c = NULL;
	char		*tok = NULL, *url = NULL, *auth = NULL;
	size_t		 n;
	CURLcode	 rc;
	enum err	 e = ERR_INTERNAL;

	memset(rep, 0, sizeof(*rep));
	if (path_query[0] != '/' || (m == METHOD_GET && body != NULL))
		return ERR_INTERNAL;
	if ((tok = jira_token(cfg, reg, t, m, path_query)) == NULL)
		goto out;
	n = strlen(t->base_url) + strlen(path_query) + 1;
	if ((url = malloc(n)) == NULL)
		goto out;
	snprintf(url, n, "%s%s", t->base_url, path_query);
	n = strlen(tok) + 32;
	if ((auth = malloc(n)) == NULL)
		goto out;
	snprintf(auth, n, "Authorization: JWT %s", tok);
	if ((c = curl_easy_init()) == NULL ||
	    (h = curl_slist_append(hdr, auth)) == NULL)
		goto out;
	hdr = h;
	if ((h = curl_slist_append(hdr, "Accept: application/json")) == NULL)
		goto out;
	hdr = h;
	if (body != NULL) {
		if ((h = curl_slist_append(hdr,
		    "Content-Type: application/json")) == NULL)
			goto out;
		hdr = h;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	/* https only, but plain http to a loopback test double. */
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR,
	    strncmp(t->base_url, "http://", 7) == 0 ? "http" : "https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, jira_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "cellar");
	switch (m) {
	case METHOD_GET:
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
		break;
	case METHOD_POST:
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
		break;
	case METHOD_PUT:
	case METHOD_DELETE:
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST,
		    http_method_name(m));
		if (body != NULL)
			curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		break;
	default:
		goto out;
	}
	if ((rc = curl_easy_perform(c)) != CURLE_OK) {
		log_msg(LOG_WARN, rid, "reason=jira_unreachable curl=%d",
		    (int)rc);
		e = ERR_UNAVAILABLE;
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &rep->status);
	if (rep->status >= 300 && rep->status < 400) {
		log_msg(LOG_WARN, rid, "reason=jira_redirect_refused");
		e = ERR_UNAVAILABLE;
		goto out;
	}
	if (b.buf == NULL && (b.buf = calloc(1, 1)) == NULL)
		goto out;
	rep->body = b.buf;
	rep->len = b.len;
	b.buf = NULL;
	e = ERR_OK;
out:
	curl_slist_free_all(hdr);
	curl_easy_cleanup(c);
	if (auth != NULL) {
		sodium_memzero(auth, strlen(auth));
		free(auth);
	}
	if (tok != NULL) {
		sodium_memzero(tok, strlen(tok));
		free(tok);
	}
	free(url);
	free(b.buf);
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
