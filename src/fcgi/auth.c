/*
 * Authentication of every protected request; see auth.h for the checks
 * per route level.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cellar/clock.h"
#include "cellar/conf.h"
#include "cellar/json.h"
#include "cellar/log.h"
#include "cellar/qsh.h"
#include "cellar/util.h"
#include "auth.h"
#include "fcgi.h"
#include "forgekey.h"
#include "forgetoken.h"
#include "installkey.h"
#include "perm.h"

#define CONTEXT_QSH	"context-qsh"
/*
 * Longest life (exp - iat) of a Forge Invocation Token: Forge's live
 * about 25 s; anything past minutes is not one of them.
 */
#define FIT_MAX_LIFE	300

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
#define TOKEN_CACHE	256
/*
 * Four times the 64 it was: past that many tokens in use at once, every
 * request verifies its signature again.  An entry holds its token's
 * parsed header and claims (about 1 KiB), so the size is a trade with
 * the worker's 8 MiB of private memory at 1,000 active tenants (1,024
 * entries took 1 MiB there; the pool's handles need the rest).  A
 * token lives in one of TOKEN_PROBE slots from its hash (open
 * addressing; the hash is a BLAKE2b digest of the whole token, so its
 * first bytes are uniform), replacing the same token, an empty slot or
 * else the least recently used of those.
 */
#define TOKEN_PROBE	8

static struct token_entry {
	unsigned char	 hash[crypto_generichash_BYTES];
	unsigned char	 secret_tag[crypto_generichash_BYTES];
	char		 tenant_id[TENANT_ID_LEN + 1];
	struct token_claims claims;
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

/* The first slot token hash may live in. */
static size_t
token_slot(const unsigned char *hash)
{
	size_t	 v = 0;
	int	 i;

	for (i = 0; i < 4; i++)
		v = (v << 8) | hash[i];
	return v % TOKEN_CACHE;
}

static struct token_entry *
token_find(const unsigned char *hash)
{
	struct token_entry *e;
	size_t	 i, slot = token_slot(hash);

	for (i = 0; i < TOKEN_PROBE; i++) {
		e = &token_cache[(slot + i) % TOKEN_CACHE];
		if (e->live && sodium_memcmp(e->hash, hash,
		    crypto_generichash_BYTES) == 0)
			return e;
	}
	return NULL;
}

/*
 * Moves the verified claims of r (in r->auth) into the cache; r borrows
 * them from there on.  An entry of the same token (one verified under a
 * secret since re-sealed) is replaced, never kept beside it.
 */
static void
token_remember(struct req *r, const unsigned char *hash)
{
	struct token_entry *e, *pick = NULL;
	size_t	 i, slot = token_slot(hash);

	for (i = 0; i < TOKEN_PROBE; i++) {
		e = &token_cache[(slot + i) % TOKEN_CACHE];
		if (!e->live || sodium_memcmp(e->hash, hash,
		    crypto_generichash_BYTES) == 0) {
			pick = e;
			break;
		}
		if (pick == NULL || e->used < pick->used)
			pick = e;
	}
	e = pick;
	if (e->live)
		token_claims_free(&e->claims);
	memcpy(e->hash, hash, crypto_generichash_BYTES);
	token_tag(e->secret_tag, r->tenant);
	memcpy(e->tenant_id, r->tenant->id, sizeof(e->tenant_id));
	e->claims = r->auth->claims;
	memset(&r->auth->claims, 0, sizeof(r->auth->claims));
	e->used = ++token_clock;
	e->live = 1;
	r->claims = &e->claims;
}

void
auth_cache_clear(void)
{
	size_t	 i;

	for (i = 0; i < TOKEN_CACHE; i++) {
		if (token_cache[i].live)
			token_claims_free(&token_cache[i].claims);
		memset(&token_cache[i], 0, sizeof(token_cache[i]));
	}
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
			if (n > TOKEN_MAX_LEN) {
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

/*
 * aud names one of the base URLs the app had before ("u1,u2"): while a
 * move of base_url rolls out, Jira still signs lifecycle events for the
 * old one, and a departure must not be lost to that.
 */
static int
aud_former(const cJSON *aud, const char *urls)
{
	char	 one[256];
	size_t	 n;

	while (*urls != '\0') {
		n = strcspn(urls, ",");
		if (n < sizeof(one)) {
			memcpy(one, urls, n);
			one[n] = '\0';
			if (aud_ok(aud, one))
				return 1;
		}
		urls += n;
		if (*urls == ',')
			urls++;
	}
	return 0;
}

static int
auth_lifecycle(struct req *r, const char *token, const char **reason)
{
	const struct conf *cfg = r->app->cfg;
	const struct token_claims *c = r->claims;
	char		*pem;
	size_t		 len = 0;
	int		 fetched, rc;

	if (!installkey_kid_ok(c->kid)) {
		*reason = "kid_invalid";
		return -1;
	}
	if (!aud_ok(c->aud, conf_str(cfg, C_APP_BASE_URL)) &&
	    !aud_former(c->aud, conf_str(cfg, C_APP_FORMER_BASE_URLS))) {
		*reason = "aud_mismatch";
		return -1;
	}
	if ((pem = installkey_get(cfg, c->kid, r->remote_addr, &len, &fetched,
	    reason)) == NULL)
		return -1;
	rc = token_check_sig(token, TOKEN_RS256, (const unsigned char *)pem,
	    len, reason);
	/* Only a key that verified a token is worth keeping. */
	if (rc == 0 && fetched)
		installkey_keep(cfg, c->kid, pem, len, r->rid);
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

	e = registry_find(r->app->reg, r->claims->iss, &r->auth->tenant);
	if (e == ERR_NOT_FOUND) {
		*reason = "unknown_tenant";
		return -1;
	}
	if (e != ERR_OK) {
		*reason = "registry_error";
		return -1;
	}
	r->tenant = &r->auth->tenant;
	if (r->tenant->state != TENANT_INSTALLED) {
		*reason = "tenant_departed";
		return -1;
	}
	if (hit != NULL && strcmp(hit->tenant_id, r->tenant->id) == 0) {
		token_tag(tag, r->tenant);
		if (sodium_memcmp(tag, hit->secret_tag, sizeof(tag)) == 0) {
			hit->used = ++token_clock;
			return 0;
		}
	}
	/* A secret that does not unseal is a failure, never "empty". */
	if ((secret = registry_secret(r->app->reg, r->tenant, &len)) ==
	    NULL) {
		*reason = "secret_unseal_failed";
		return -1;
	}
	rc = token_check_sig(token, TOKEN_HS256,
	    (const unsigned char *)secret, len, reason);
	registry_secret_wipe(r->app->reg);
	if (rc == 0 && hit == NULL)
		token_remember(r, hash);
	else if (rc == 0) {
		/*
		 * The same token (same bytes, same claims) verified under
		 * the tenant's secret as it is sealed now: trust the entry
		 * for that from here on.
		 */
		token_tag(hit->secret_tag, r->tenant);
		memcpy(hit->tenant_id, r->tenant->id, sizeof(hit->tenant_id));
		hit->used = ++token_clock;
	}
	return rc;
}

/*
 * A Forge request's token, checked before its tenant is looked up:
 * cheap checks first (size, shape, time, iss and aud), so that a token
 * that could never verify costs no key lookup and no fetch of the key
 * set; then the key by kid and the signature.  0 with r->claims and
 * r->fit set, or -1 with a reason.
 */
static int
forge_token_check(struct req *r, const char **reason)
{
	const struct conf *cfg = r->app->cfg;
	const struct jwks_key *key;
	const char	*token;

	if (r->authorization == NULL) {
		*reason = "fit_missing";
		return -1;
	}
	if (strncmp(r->authorization, "Bearer ", 7) != 0) {
		*reason = "fit_auth_scheme";
		return -1;
	}
	token = r->authorization + 7;
	if (strnlen(token, FIT_MAX_LEN + 1) > FIT_MAX_LEN) {
		*reason = "fit_too_long";
		return -1;
	}
	if (fit_parse(token, &r->auth->claims, reason) == -1)
		return -1;
	r->claims = &r->auth->claims;
	if (token_check_time(r->claims, clock_now(), conf_int(cfg,
	    C_FORGE_LEEWAY), FIT_MAX_LIFE, reason) == -1 ||
	    fit_read(r->claims, conf_str(cfg, C_FORGE_APP_ID), &r->auth->fit,
	    reason) == -1)
		return -1;
	/* A key parsed once per worker: no key parsing per request. */
	if ((key = forgekey_get(cfg, r->claims->kid, r->rid, reason)) ==
	    NULL)
		return -1;
	return fit_check_sig(token, key, reason);
}

/*
 * The tenant of a verified FIT's installation into r->auth->tenant:
 * found and installed (then touched: last seen), or made or reinstated
 * by registry_forge_install (first contact, or back after a silence or
 * a pre-uninstall).  On /forge/pre-uninstall a departed tenant is only
 * found, never reinstated: a retried pre-uninstall must not cancel the
 * departure the first one recorded and start it again with a later
 * purge date (the handler leaves a departed tenant as it is).
 * "forge_tenant_reinstated" is logged only for a tenant found departed
 * (an unknown installation another request made meanwhile is just
 * found).  ERR_OK, or ERR_UNAVAILABLE (logged).
 */
static enum err
forge_tenant(struct req *r)
{
	const struct fit *f = &r->auth->fit;
	struct forge_seen seen;
	long long	 now = clock_now();
	enum err	 e;
	int		 created = 0, departed = 0;

	e = registry_forge_find(r->app->reg, f->installation_id,
	    &r->auth->tenant);
	if (e == ERR_OK && (r->auth->tenant.state == TENANT_INSTALLED ||
	    r->route->handler == route_forge_preuninstall)) {
		if (r->auth->tenant.state == TENANT_INSTALLED &&
		    registry_forge_seen(r->app->reg, f->installation_id,
		    f->api_base_url, now) != ERR_OK)
			log_msg(LOGL_WARN, r->rid, "reason=forge_seen_failed "
			    "tenant=%s", r->auth->tenant.id);
		return ERR_OK;
	}
	if (e == ERR_OK) {
		departed = 1;
		registry_tenant_free(&r->auth->tenant);
	} else if (e != ERR_NOT_FOUND)
		goto fail;
	memset(&seen, 0, sizeof(seen));
	seen.installation_id = f->installation_id;
	seen.cloud_id = f->cloud_id;
	seen.api_base_url = f->api_base_url;
	/* First heard of by its installed event, or by a token elsewhere. */
	if ((e = registry_forge_install(r->app->reg, &seen,
	    r->route->handler == route_forge_events ? "event" : "fit", now,
	    &r->auth->tenant, &created)) != ERR_OK)
		goto fail;
	if (created || departed)
		log_msg(LOGL_INFO, r->rid, "event=%s tenant=%s", created ?
		    "forge_tenant_created" : "forge_tenant_reinstated",
		    r->auth->tenant.id);
	return ERR_OK;
fail:
	log_msg(LOGL_WARN, r->rid, "reason=forge_tenant_%s route=%s",
	    e == ERR_UNAVAILABLE ? "busy" : "error", r->route->name);
	return ERR_UNAVAILABLE;
}

/*
 * AUTH_FORGE (auth.h).  Every refusal of the token is 401 with its
 * reason in the log, prefixed "fit_" when the check that refused is
 * shared with Connect's ("fit_expired"); after it verified, 503 at
 * worst.
 */
static enum err
auth_forge(struct req *r)
{
	const char	*reason = "fit_unknown";
	enum err	 e;

	if (forge_token_check(r, &reason) == -1) {
		log_msg(LOGL_WARN, r->rid, "reason=%s%s route=%s",
		    strncmp(reason, "fit_", 4) == 0 ? "" : "fit_", reason,
		    r->route->name);
		auth_release(r);
		return ERR_UNAUTHORIZED;
	}
	r->fit = &r->auth->fit;
	if ((e = forge_tenant(r)) != ERR_OK) {
		auth_release(r);
		return e;
	}
	r->tenant = &r->auth->tenant;
	if (r->forge_token != NULL)
		(void)forgetoken_keep(r->fit->installation_id, r->forge_token,
		    clock_now());
	r->account = r->fit->principal != NULL &&
	    perm_id_ok(r->fit->principal) ? r->fit->principal : NULL;
	return ERR_OK;
}

/*
 * What a verified token must agree with in the body: a signed install
 * speaks for the clientKey it was issued by (iss).
 */
static enum err
auth_body(struct req *r)
{
	const char	*client_key;

	if (r->auth_level != AUTH_LIFECYCLE)
		return ERR_OK;
	if (r->claims == NULL || r->json == NULL ||
	    json_get_str(r->json, "clientKey", 1, 255, &client_key) !=
	    JSON_OK || strcmp(client_key, r->claims->iss) != 0) {
		log_msg(LOGL_WARN, r->rid, "reason=iss_not_client_key route=%s",
		    r->route->name);
		auth_release(r);
		return ERR_UNAUTHORIZED;
	}
	return ERR_OK;
}

/*
 * The tenant read again (its current data key moved on since the
 * request began): ERR_OK with r->tenant fresh, else ERR_UNAVAILABLE.
 */
static enum err
auth_refresh(struct req *r)
{
	struct tenant	 fresh;

	if (r->auth == NULL || r->tenant == NULL ||
	    registry_get(r->app->reg, r->tenant->id, &fresh) != ERR_OK)
		return ERR_UNAVAILABLE;
	registry_tenant_free(&r->auth->tenant);
	r->auth->tenant = fresh;
	r->tenant = &r->auth->tenant;
	return ERR_OK;
}

enum err
auth_request(struct req *r, enum auth_phase phase)
{
	const struct conf *cfg = r->app->cfg;
	const char	*token = NULL, *reason = "unknown";
	char		*owned = NULL, qsh[65];
	unsigned char	 hash[crypto_generichash_BYTES];
	struct token_entry *hit = NULL;
	enum auth_level	 level = r->auth_level;
	int		 ok = 0;

	if (phase == AUTH_PHASE_BODY)
		return auth_body(r);
	if (phase == AUTH_PHASE_REFRESH)
		return auth_refresh(r);
	if (r->auth == NULL) {
		reason = "no_auth_state";
		goto out;
	}
	if (level == AUTH_FORGE)
		return auth_forge(r);
	if (auth_token(r, &token, &owned, &reason) == -1)
		goto out;
	if (strnlen(token, TOKEN_MAX_LEN + 1) > TOKEN_MAX_LEN) {
		reason = "token_too_long";
		goto out;
	}
	if (level != AUTH_LIFECYCLE) {
		crypto_generichash(hash, sizeof(hash),
		    (const unsigned char *)token, strlen(token), NULL, 0);
		if ((hit = token_find(hash)) != NULL)
			r->claims = &hit->claims;
	}
	if (hit == NULL) {
		if (token_parse(token, level == AUTH_LIFECYCLE ? TOKEN_RS256 :
		    TOKEN_HS256, &r->auth->claims, &reason) == -1)
			goto out;
		r->claims = &r->auth->claims;
	}
	if (token_check_time(r->claims, clock_now(),
	    conf_int(cfg, C_AUTH_LEEWAY), conf_int(cfg, C_AUTH_MAX_LIFETIME),
	    &reason) == -1)
		goto out;
	/* context-qsh only where the table allows it, and only there. */
	if (level == AUTH_CONTEXT) {
		if (strcmp(r->claims->qsh, CONTEXT_QSH) != 0) {
			reason = "qsh_not_context";
			goto out;
		}
	} else {
		if (strcmp(r->claims->qsh, CONTEXT_QSH) == 0) {
			reason = "context_qsh_not_allowed";
			goto out;
		}
		if (qsh_compute(http_method_name(r->method), r->path,
		    r->query, qsh) == -1) {
			reason = "query_malformed";
			goto out;
		}
		if (strlen(r->claims->qsh) != 64 ||
		    sodium_memcmp(qsh, r->claims->qsh, 64) != 0) {
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
	util_free_wiped(owned);
	if (!ok) {
		log_msg(LOGL_WARN, r->rid, "reason=%s route=%s", reason,
		    r->route->name);
		auth_release(r);
		return ERR_UNAUTHORIZED;
	}
	/* The caller's account id, checked once for every handler. */
	r->account = r->claims->sub != NULL && perm_id_ok(r->claims->sub) ?
	    r->claims->sub : NULL;
	return ERR_OK;
}

void
auth_release(struct req *r)
{
	r->claims = NULL;
	r->tenant = NULL;
	r->account = NULL;
	r->fit = NULL;
	if (r->auth != NULL) {
		token_claims_free(&r->auth->claims);
		registry_tenant_free(&r->auth->tenant);
	}
}
