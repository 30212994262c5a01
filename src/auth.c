/*
 * Authentication of every protected request, per route level:
 *
 *   AUTH_LIFECYCLE  RS256 signed install: kid from a safe alphabet, the
 *                   public key from install_key_dir/KID.pem or fetched
 *                   by kid (and cached once it verified), aud = our base
 *                   URL, iss = the body's clientKey, exp/iat, qsh.
 *   AUTH_PAGE       HS256 with the tenant's shared secret, computed qsh.
 *   AUTH_CONTEXT    HS256 with the tenant's shared secret, qsh must be
 *                   the literal "context-qsh".
 *
 * Each refusal logs one reason code; the reply is always the same 401.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sodium.h>

#include "app.h"
#include "auth.h"
#include "json.h"
#include "log.h"
#include "qsh.h"
#include "util.h"

#define PEM_MAX		16384
#define CONTEXT_QSH	"context-qsh"

/*
 * Verified HS256 tokens, per worker.  Jira's front end reuses a context
 * token for many requests; checking its signature again (libjwt parses it
 * once more and HMACs it) costs more than the rest of the request.  An
 * entry holds the parsed claims and is only trusted for the tenant whose
 * sealed secret verified it: a reinstall or a rotation re-seals the
 * secret, so the tag no longer matches and the token is verified anew.
 * Time and qsh checks run on every request regardless, and so does the
 * registry lookup that refuses departed tenants.
 */
#define TOKEN_CACHE	64

static struct token_entry {
	unsigned char	 hash[crypto_generichash_BYTES];
	unsigned char	 secret_tag[crypto_generichash_BYTES];
	char		 tenant_id[TENANT_ID_LEN + 1];
	struct jwt_claims claims;
	unsigned long	 used;
	int		 live;
} token_cache[TOKEN_CACHE];
static unsigned long token_clock;

static void
token_tag(unsigned char *tag, const struct tenant *t)
{
	crypto_generichash(tag, crypto_generichash_BYTES, t->secret_sealed,
	    t->secret_sealed_len, NULL, 0);
}

static struct token_entry *
token_find(const unsigned char *hash)
{
	size_t	 i;

	for (i = 0; i < TOKEN_CACHE; i++)
		if (token_cache[i].live && sodium_memcmp(token_cache[i].hash,
		    hash, crypto_generichash_BYTES) == 0)
			return &token_cache[i];
	return NULL;
}

/* Moves r's claims into the cache; r keeps a borrowed view. */
static void
token_remember(struct req *r, const unsigned char *hash)
{
	struct token_entry *e = &token_cache[0];
	size_t	 i;

	for (i = 0; i < TOKEN_CACHE; i++) {
		if (!token_cache[i].live) {
			e = &token_cache[i];
			break;
		}
		if (token_cache[i].used < e->used)
			e = &token_cache[i];
	}
	if (e->live) {
		e->claims.borrowed = 0;
		jwt_claims_free(&e->claims);
	}
	memcpy(e->hash, hash, crypto_generichash_BYTES);
	token_tag(e->secret_tag, &r->tenant);
	memcpy(e->tenant_id, r->tenant.id, sizeof(e->tenant_id));
	e->claims = r->claims;
	e->used = ++token_clock;
	e->live = 1;
	r->claims.borrowed = 1;
}

void
auth_cache_clear(void)
{
	size_t	 i;

	for (i = 0; i < TOKEN_CACHE; i++) {
		if (token_cache[i].live) {
			token_cache[i].claims.borrowed = 0;
			jwt_claims_free(&token_cache[i].claims);
		}
		memset(&token_cache[i], 0, sizeof(token_cache[i]));
	}
}

static long long
auth_clock(void)
{
	return (long long)time(NULL);
}

long long (*auth_now)(void) = auth_clock;

int
auth_kid_ok(const char *kid)
{
	size_t	 n = 0;

	if (kid == NULL || kid[0] == '.')
		return 0;
	for (; *kid != '\0'; kid++, n++)
		if (!((*kid >= 'A' && *kid <= 'Z') ||
		    (*kid >= 'a' && *kid <= 'z') ||
		    (*kid >= '0' && *kid <= '9') || *kid == '.' ||
		    *kid == '_' || *kid == '-'))
			return 0;
	return n >= 1 && n <= 128;
}

int
auth_token(const struct req *r, const char **token, char **owned,
    const char **reason)
{
	const char	*p, *q = NULL, *end;
	size_t		 n;

	*token = NULL;
	*owned = NULL;
	/* Find a jwt= parameter in the raw query; a second one is refused. */
	for (p = r->query; p != NULL && *p != '\0'; p = end) {
		end = p + strcspn(p, "&");
		if (strncmp(p, "jwt=", 4) == 0) {
			if (q != NULL) {
				*reason = "token_twice";
				return -1;
			}
			q = p + 4;
			n = (size_t)(end - q);
			if (n > JWT_MAX_LEN) {
				*reason = "token_too_long";
				return -1;
			}
		}
		if (*end == '&')
			end++;
	}
	if (r->authorization != NULL) {
		if (q != NULL) {
			*reason = "token_twice";
			return -1;
		}
		if (strncmp(r->authorization, "JWT ", 4) != 0) {
			*reason = "auth_scheme";
			return -1;
		}
		*token = r->authorization + 4;
		return 0;
	}
	if (q == NULL) {
		*reason = "no_token";
		return -1;
	}
	if ((*owned = strndup(q, strcspn(q, "&"))) == NULL) {
		*reason = "no_memory";
		return -1;
	}
	*token = *owned;
	return 0;
}

/* aud (a string or an array of strings) must name our base URL. */
static int
aud_ok(const cJSON *aud, const char *base)
{
	const cJSON	*a;
	size_t		 bl = strlen(base), al;

	if (aud == NULL)
		return 0;
	if (cJSON_IsArray(aud)) {
		cJSON_ArrayForEach(a, aud)
			if (aud_ok(a, base))
				return 1;
		return 0;
	}
	if (!cJSON_IsString(aud) || aud->valuestring == NULL)
		return 0;
	al = strlen(aud->valuestring);
	while (al > 0 && aud->valuestring[al - 1] == '/')
		al--;
	while (bl > 0 && base[bl - 1] == '/')
		bl--;
	return al == bl && strncmp(aud->valuestring, base, al) == 0;
}

struct fetch_buf {
	char	*buf;
	size_t	 len;
};

static size_t
fetch_write(char *data, size_t size, size_t nmemb, void *ctx)
{
	struct fetch_buf *b = ctx;
	size_t		 n = size * nmemb;

	if (n > PEM_MAX - b->len)
		return 0;	/* too large: abort the transfer */
	memcpy(b->buf + b->len, data, n);
	b->len += n;
	return n;
}

/* 1 if buf looks like one PEM public key and nothing else. */
static int
pem_ok(const char *buf, size_t len)
{
	static const char begin[] = "-----BEGIN PUBLIC KEY-----";

	return len > sizeof(begin) && len < PEM_MAX &&
	    strncmp(buf, begin, sizeof(begin) - 1) == 0 &&
	    memchr(buf, '\0', len) == NULL &&
	    strstr(buf, "-----END PUBLIC KEY-----") != NULL;
}

/* Reads dir/KID.pem; NULL if absent or unusable. */
static char *
pem_read(const char *dir, const char *kid, size_t *len)
{
	char		 name[160], *path, *buf = NULL;
	struct stat	 st;
	ssize_t		 n = 0;
	size_t		 got;
	int		 fd;

	snprintf(name, sizeof(name), "%s.pem", kid);
	if ((path = util_path_join(dir, name)) == NULL)
		return NULL;
	/* O_NONBLOCK: a FIFO put there must not hang the worker. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	free(path);
	if (fd == -1)
		return NULL;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size <= 0 || st.st_size > PEM_MAX ||
	    (buf = malloc(PEM_MAX + 1)) == NULL) {
		close(fd);
		return NULL;
	}
	for (got = 0; got < (size_t)st.st_size; got += (size_t)n)
		if ((n = read(fd, buf + got, (size_t)st.st_size - got)) <= 0)
			break;
	close(fd);
	buf[got] = '\0';
	*len = got;
	if (got != (size_t)st.st_size || !pem_ok(buf, *len)) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* Fetches url/KID with a short timeout; only a 200 with a PEM counts. */
static char *
pem_fetch(const struct conf *cfg, const char *kid, size_t *len,
    const char **reason)
{
	struct fetch_buf b = { NULL, 0 };
	CURL		*c = NULL;
	char		 url[512];
	long		 code = 0;
	CURLcode	 rc;

	snprintf(url, sizeof(url), "%s/%s",
	    conf_str(cfg, C_AUTH_INSTALL_KEYS_URL), kid);
	if ((b.buf = malloc(PEM_MAX + 1)) == NULL ||
	    (c = curl_easy_init()) == NULL) {
		*reason = "no_memory";
		goto fail;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https,http");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
	    (long)conf_int(cfg, C_AUTH_FETCH_TIMEOUT_MS));
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)conf_int(cfg, C_AUTH_FETCH_TIMEOUT_MS));
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fetch_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	rc = curl_easy_perform(c);
	if (rc != CURLE_OK) {
		*reason = "install_key_fetch_failed";
		goto fail;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (code != 200) {
		*reason = "install_key_not_found";
		goto fail;
	}
	b.buf[b.len] = '\0';
	if (!pem_ok(b.buf, b.len)) {
		*reason = "install_key_invalid";
		goto fail;
	}
	curl_easy_cleanup(c);
	*len = b.len;
	return b.buf;
fail:
	curl_easy_cleanup(c);
	free(b.buf);
	return NULL;
}

/*
 * Fetching a key costs a worker up to fetch_timeout_ms, and anyone can
 * ask for one with a made-up kid before any signature is checked.  So a
 * worker fetches at most once per [auth] fetch_interval seconds and
 * remembers kids the key service did not give for unknown_kid_seconds.
 */
#define FETCH_FAILED	32

static long long	 last_fetch;
static struct {
	char		 kid[129];
	long long	 until;
} failed_kids[FETCH_FAILED];

static int
fetch_allowed(const struct conf *cfg, const char *kid, const char **reason)
{
	long long	 now = auth_now();
	size_t		 i;

	for (i = 0; i < FETCH_FAILED; i++)
		if (failed_kids[i].until > now &&
		    strcmp(failed_kids[i].kid, kid) == 0) {
			*reason = "install_key_unknown_recently";
			return 0;
		}
	if (last_fetch != 0 &&
	    now - last_fetch < conf_int(cfg, C_AUTH_FETCH_INTERVAL)) {
		*reason = "install_key_fetch_throttled";
		return 0;
	}
	last_fetch = now;
	return 1;
}

static void
fetch_failed(const struct conf *cfg, const char *kid)
{
	static unsigned int next;
	size_t	 i = next++ % FETCH_FAILED;

	snprintf(failed_kids[i].kid, sizeof(failed_kids[i].kid), "%s", kid);
	failed_kids[i].until = auth_now() +
	    conf_int(cfg, C_AUTH_UNKNOWN_KID_SECONDS);
}

/* Caches a verified key as dir/KID.pem: temp file, fsync, rename. */
static void
pem_cache(const char *dir, const char *kid, const char *pem, size_t len,
    const char *rid)
{
	char	 name[160], tmpname[200], *path = NULL, *tmp = NULL;
	int	 fd = -1;

	snprintf(name, sizeof(name), "%s.pem", kid);
	snprintf(tmpname, sizeof(tmpname), ".%s.%ld.tmp", kid, (long)getpid());
	if (mkdir(dir, 0700) == -1 && errno != EEXIST)
		goto fail;
	if ((path = util_path_join(dir, name)) == NULL ||
	    (tmp = util_path_join(dir, tmpname)) == NULL)
		goto fail;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
	    O_NOFOLLOW, 0600)) == -1)
		goto fail;
	if (write(fd, pem, len) != (ssize_t)len || fsync(fd) == -1 ||
	    close(fd) == -1) {
		fd = -1;
		unlink(tmp);
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) == -1) {
		unlink(tmp);
		goto fail;
	}
	free(path);
	free(tmp);
	return;
fail:
	if (fd != -1)
		close(fd);
	log_msg(LOG_WARN, rid, "reason=install_key_cache_failed");
	free(path);
	free(tmp);
}

static int
auth_lifecycle(struct req *r, const char *token, const char **reason)
{
	const struct conf *cfg = r->app->cfg;
	const char	*client_key;
	char		*pem;
	size_t		 len = 0;
	int		 fetched = 0, rc;

	if (!auth_kid_ok(r->claims.kid)) {
		*reason = "kid_invalid";
		return -1;
	}
	if (!aud_ok(r->claims.aud, conf_str(cfg, C_APP_BASE_URL))) {
		*reason = "aud_mismatch";
		return -1;
	}
	if (r->json == NULL || json_get_str(r->json, "clientKey", 1, 255,
	    &client_key) != JSON_OK || strcmp(client_key, r->claims.iss) !=
	    0) {
		*reason = "iss_not_client_key";
		return -1;
	}
	pem = pem_read(conf_str(cfg, C_AUTH_INSTALL_KEY_DIR), r->claims.kid,
	    &len);
	if (pem == NULL) {
		if (!fetch_allowed(cfg, r->claims.kid, reason))
			return -1;
		if ((pem = pem_fetch(cfg, r->claims.kid, &len, reason)) ==
		    NULL) {
			fetch_failed(cfg, r->claims.kid);
			return -1;
		}
		fetched = 1;
	}
	rc = jwt_check_sig(token, JWT_RS256, (const unsigned char *)pem, len,
	    reason);
	/* Only a key that verified a token is worth keeping. */
	if (rc == 0 && fetched)
		pem_cache(conf_str(cfg, C_AUTH_INSTALL_KEY_DIR), r->claims.kid,
		    pem, len, r->rid);
	free(pem);
	return rc;
}

static int
auth_tenant(struct req *r, const char *token, const unsigned char *hash,
    struct token_entry *hit, const char **reason)
{
	const char	*secret;
	unsigned char	 tag[crypto_generichash_BYTES];
	size_t		 len = 0;
	enum err	 e;
	int		 rc;

	e = registry_find(r->app->reg, r->claims.iss, &r->tenant);
	if (e == ERR_NOT_FOUND) {
		*reason = "unknown_tenant";
		return -1;
	}
	if (e != ERR_OK) {
		*reason = "registry_error";
		return -1;
	}
	r->has_tenant = 1;
	if (r->tenant.state != TENANT_INSTALLED) {
		*reason = "tenant_departed";
		return -1;
	}
	if (hit != NULL && strcmp(hit->tenant_id, r->tenant.id) == 0) {
		token_tag(tag, &r->tenant);
		if (sodium_memcmp(tag, hit->secret_tag, sizeof(tag)) == 0) {
			hit->used = ++token_clock;
			return 0;
		}
	}
	/* A secret that does not unseal is a failure, never "empty". */
	if ((secret = registry_secret(r->app->reg, &r->tenant, &len)) ==
	    NULL) {
		*reason = "secret_unseal_failed";
		return -1;
	}
	rc = jwt_check_sig(token, JWT_HS256, (const unsigned char *)secret,
	    len, reason);
	registry_secret_wipe(r->app->reg);
	if (rc == 0 && hit == NULL)
		token_remember(r, hash);
	return rc;
}

enum err
auth_request(struct req *r)
{
	const struct conf *cfg = r->app->cfg;
	const char	*token = NULL, *reason = "unknown";
	char		*owned = NULL, qsh[65];
	unsigned char	 hash[crypto_generichash_BYTES];
	struct token_entry *hit = NULL;
	enum auth_level	 level = r->route->auth;
	int		 ok = 0;

	if (auth_token(r, &token, &owned, &reason) == -1)
		goto out;
	if (strnlen(token, JWT_MAX_LEN + 1) > JWT_MAX_LEN) {
		reason = "token_too_long";
		goto out;
	}
	if (level != AUTH_LIFECYCLE) {
		crypto_generichash(hash, sizeof(hash),
		    (const unsigned char *)token, strlen(token), NULL, 0);
		if ((hit = token_find(hash)) != NULL) {
			r->claims = hit->claims;
			r->claims.borrowed = 1;
		}
	}
	if (hit == NULL && jwt_parse(token, level == AUTH_LIFECYCLE ?
	    JWT_RS256 : JWT_HS256, &r->claims, &reason) == -1)
		goto out;
	if (jwt_check_time(&r->claims, auth_now(),
	    conf_int(cfg, C_AUTH_LEEWAY), conf_int(cfg, C_AUTH_MAX_LIFETIME),
	    &reason) == -1)
		goto out;
	/* context-qsh only where the table allows it, and only there. */
	if (level == AUTH_CONTEXT) {
		if (strcmp(r->claims.qsh, CONTEXT_QSH) != 0) {
			reason = "qsh_not_context";
			goto out;
		}
	} else {
		if (strcmp(r->claims.qsh, CONTEXT_QSH) == 0) {
			reason = "context_qsh_not_allowed";
			goto out;
		}
		if (qsh_compute(http_method_name(r->method), r->path,
		    r->query, qsh) == -1) {
			reason = "query_malformed";
			goto out;
		}
		if (strlen(r->claims.qsh) != 64 ||
		    sodium_memcmp(qsh, r->claims.qsh, 64) != 0) {
			reason = "qsh_mismatch";
			goto out;
		}
	}
	if (level == AUTH_LIFECYCLE) {
		if (auth_lifecycle(r, token, &reason) == -1)
			goto out;
	} else if (auth_tenant(r, token, hash, hit, &reason) == -1)
		goto out;
	ok = 1;
out:
	if (owned != NULL) {
		sodium_memzero(owned, strlen(owned));
		free(owned);
	}
	if (!ok) {
		log_msg(LOG_WARN, r->rid, "reason=%s route=%s", reason,
		    r->route->name);
		return ERR_UNAUTHORIZED;
	}
	return ERR_OK;
}
