/*
 * auth: the worker's authentication of context tokens, against a real
 * registry and tenant, with the library clock fixed by the test.  What
 * users rely on: a token works from iat to exp (give or take the
 * leeway) and not a second longer, even when the worker remembers it
 * as verified; a departed tenant's tokens stop at once; a wrong secret
 * never passes; the handlers see the caller's tenant and account only
 * after a success, and nothing after auth_release.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <sodium.h>

#include "cellar/clock.h"
#include "cellar/json.h"
#include "cellar/log.h"
#include "cellar/token.h"
#include "auth.h"
#include "fakeio.h"
#include "fcgi.h"
#include "fixture.h"
#include "forgekey.h"
#include "forgetoken.h"

#define SECRET	"s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t"
#define LEEWAY	30		/* the default [auth] leeway */
#define APP_ID	"ari:cloud:ecosystem::app/11111111-2222-4333-8444-555555555555"
#define INST	"ari:cloud:ecosystem::installation/" \
		"aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
#define KID	"forge/invocation-token/wf-unit"
#define FLEEWAY	10		/* the default [forge] leeway */

struct afx {
	struct fx_tenant f;
	struct app	 app;
};

static const struct route ctx_route = {
	.method = METHOD_GET, .pattern = "/api/tenant", .name = "ctx",
	.auth = AUTH_CONTEXT, .body_max = 0, .ctype = NULL, .handler = NULL,
};

static int
setup(void **state)
{
	struct afx	*a = calloc(1, sizeof(*a));
	char		 etc[128], path[160], err[CONF_ERRLEN];
	FILE		*fp;

	assert_non_null(a);
	fx_tenant_setup(&a->f, NULL);
	snprintf(etc, sizeof(etc), "%s/etc", a->f.dir);
	assert_int_equal(mkdir(etc, 0700), 0);
	snprintf(path, sizeof(path), "%s/cellar.conf", etc);
	assert_non_null(fp = fopen(path, "w"));
	fprintf(fp, "[app]\nkey = com.example.unit\n"
	    "base_url = http://127.0.0.1:1\n[server]\nstate_dir = %s\n"
	    "[keys]\ndir = %s\n[forge]\napp_id = %s\nkey_dir = %s/forge\n"
	    "jwks_url = http://127.0.0.1:1/jwks.json\n", a->f.dir, a->f.keys,
	    APP_ID, a->f.dir);
	fclose(fp);
	assert_non_null(a->app.cfg = conf_load_cellar(etc, err));
	a->app.kr = a->f.kr;
	a->app.reg = a->f.reg;
	a->app.base_path = "";
	log_init("test_auth", LOGL_INFO);
	fx_log_start();
	*state = a;
	return 0;
}

static int
teardown(void **state)
{
	struct afx	*a = *state;

	fx_log_stop();
	clock_fake(0);
	auth_cache_clear();
	forgekey_forget();
	forgetoken_clear();
	conf_free(a->app.cfg);
	fx_tenant_teardown(&a->f);
	free(a);
	return 0;
}

/* A context token of the fixture's tenant, issued at iat. */
static char *
context_token(const char *secret, const char *sub, long long iat,
    long long exp)
{
	cJSON	*c;
	char	*tok;

	assert_non_null(c = cJSON_CreateObject());
	cJSON_AddStringToObject(c, "iss", "client-key-ut");
	cJSON_AddStringToObject(c, "qsh", "context-qsh");
	if (sub != NULL)
		cJSON_AddStringToObject(c, "sub", sub);
	json_add_int(c, "iat", iat);
	json_add_int(c, "exp", exp);
	assert_non_null(tok = token_sign_hs256(c, (const unsigned char *)secret,
	    strlen(secret)));
	cJSON_Delete(c);
	return tok;
}

/*
 * Authenticates a GET /api/tenant carrying tok at the clock's time now;
 * the outcome, with r left for the caller to look at and release.
 */
static enum err
authenticate(struct afx *a, const char *tok, long long now, struct req *r,
    struct auth_state *st)
{
	char		 authz[1024];
	const char	*params[] = { "REQUEST_METHOD", "GET", "REQUEST_URI",
	    "/api/tenant", "HTTP_AUTHORIZATION", authz, NULL };
	struct fake	 f;
	struct http_io	 io;

	snprintf(authz, sizeof(authz), "JWT %s", tok);
	memset(&f, 0, sizeof(f));
	f.params = params;
	io = fake_io(&f);
	assert_int_equal(req_init(r, &io, "", &a->app), ERR_OK);
	memset(st, 0, sizeof(*st));
	r->route = &ctx_route;
	r->auth_level = ctx_route.auth;
	r->auth = st;
	clock_fake(now);
	return auth_request(r, AUTH_PHASE_HEADERS);
}

/* One request's outcome, released at once. */
static enum err
outcome(struct afx *a, const char *tok, long long now)
{
	struct auth_state st;
	struct req	 r;
	enum err	 e;

	e = authenticate(a, tok, now, &r, &st);
	auth_release(&r);
	req_free(&r);
	return e;
}

static void
test_token_works_until_exp_and_not_a_second_longer(void **state)
{
	struct afx	*a = *state;
	struct auth_state st;
	struct req	 r;
	char		*tok;

	tok = context_token(SECRET, "acct-1", FX_NOW, FX_NOW + 180);
	assert_int_equal(authenticate(a, tok, FX_NOW + 10, &r, &st), ERR_OK);
	assert_non_null(r.tenant);
	assert_string_equal(r.tenant->id, a->f.t.id);
	assert_string_equal(r.account, "acct-1");
	assert_string_equal(r.claims->iss, "client-key-ut");
	auth_release(&r);
	assert_null(r.tenant);
	assert_null(r.claims);
	assert_null(r.account);
	req_free(&r);
	/* Verified once and remembered; the clock still decides. */
	assert_int_equal(outcome(a, tok, FX_NOW + 180 + LEEWAY), ERR_OK);
	assert_int_equal(outcome(a, tok, FX_NOW + 180 + LEEWAY + 1),
	    ERR_UNAUTHORIZED);
	assert_non_null(strstr(fx_log_text(), "reason=expired route=ctx"));
	assert_int_equal(outcome(a, tok, FX_NOW - LEEWAY - 1),
	    ERR_UNAUTHORIZED);
	assert_non_null(strstr(fx_log_text(), "reason=iat_in_future"));
	assert_int_equal(outcome(a, tok, FX_NOW - LEEWAY), ERR_OK);
	/* The log never holds the token. */
	assert_null(strstr(fx_log_text(), tok));
	free(tok);
}

static void
test_departed_tenant_refused_at_once(void **state)
{
	struct afx	*a = *state;
	char		*tok;

	tok = context_token(SECRET, "acct-1", FX_NOW, FX_NOW + 180);
	assert_int_equal(outcome(a, tok, FX_NOW + 1), ERR_OK);
	assert_int_equal(registry_uninstall(a->f.reg, a->f.t.id, FX_NOW + 2,
	    21), ERR_OK);
	assert_int_equal(outcome(a, tok, FX_NOW + 3), ERR_UNAUTHORIZED);
	assert_non_null(strstr(fx_log_text(), "reason=tenant_departed"));
	free(tok);
}

static void
test_wrong_secret_never_passes(void **state)
{
	struct afx	*a = *state;
	struct auth_state st;
	struct req	 r;
	char		*tok;

	tok = context_token("another-secret-another-secret-xx", "acct-1",
	    FX_NOW, FX_NOW + 180);
	assert_int_equal(authenticate(a, tok, FX_NOW + 1, &r, &st),
	    ERR_UNAUTHORIZED);
	/* Nothing of the refused request is left for a handler. */
	assert_null(r.tenant);
	assert_null(r.claims);
	assert_null(r.account);
	auth_release(&r);
	req_free(&r);
	assert_non_null(strstr(fx_log_text(), "reason=bad_signature"));
	free(tok);
}

static void
test_sub_that_is_no_account_id_gives_no_account(void **state)
{
	struct afx	*a = *state;
	struct auth_state st;
	struct req	 r;
	char		*tok;

	tok = context_token(SECRET, "not an id!", FX_NOW, FX_NOW + 180);
	assert_int_equal(authenticate(a, tok, FX_NOW + 1, &r, &st), ERR_OK);
	assert_non_null(r.tenant);
	assert_null(r.account);
	auth_release(&r);
	req_free(&r);
	free(tok);
}

/* Reinstalls the fixture's tenant with secret (a verified reinstall). */
static void
reinstall(struct afx *a, const char *secret)
{
	struct install	 in = { .client_key = "client-key-ut",
	    .shared_secret = secret, .base_url = "https://ut.example.net",
	    .product_type = "jira" };
	struct tenant	 t;
	int		 created;

	assert_int_equal(registry_install(a->f.reg, &in, FX_NOW, &t,
	    &created), ERR_OK);
	assert_int_equal(created, 0);
	registry_tenant_free(&t);
}

/*
 * A reinstall gives the tenant a new secret: a token signed with the old
 * one stops at once, even though the worker remembers it as verified;
 * a token of the new secret works.
 */
static void
test_remembered_token_refused_after_new_secret(void **state)
{
	struct afx	*a = *state;
	char		*old, *fresh;

	old = context_token(SECRET, "acct-1", FX_NOW, FX_NOW + 180);
	assert_int_equal(outcome(a, old, FX_NOW + 1), ERR_OK);
	assert_int_equal(outcome(a, old, FX_NOW + 2), ERR_OK);
	reinstall(a, "n3w-s3cr3t-n3w-s3cr3t-n3w-s3cr3t-x");
	assert_int_equal(outcome(a, old, FX_NOW + 3), ERR_UNAUTHORIZED);
	assert_non_null(strstr(fx_log_text(), "reason=bad_signature"));
	/* And again: a refused token is never remembered as good. */
	assert_int_equal(outcome(a, old, FX_NOW + 4), ERR_UNAUTHORIZED);
	fresh = context_token("n3w-s3cr3t-n3w-s3cr3t-n3w-s3cr3t-x", "acct-1",
	    FX_NOW, FX_NOW + 180);
	assert_int_equal(outcome(a, fresh, FX_NOW + 5), ERR_OK);
	/* The same secret sealed anew (a rotation) keeps a token valid. */
	reinstall(a, "n3w-s3cr3t-n3w-s3cr3t-n3w-s3cr3t-x");
	assert_int_equal(outcome(a, fresh, FX_NOW + 6), ERR_OK);
	assert_int_equal(outcome(a, fresh, FX_NOW + 7), ERR_OK);
	free(old);
	free(fresh);
}

/*
 * Many tokens in use at once (more than the cache's probe window, so
 * slots are shared): each keeps working and speaks for its own caller,
 * and a tampered copy of a remembered token never passes.
 */
static void
test_many_tokens_in_use_each_checked(void **state)
{
	struct afx	*a = *state;
	char		 sub[32], *toks[300], *bad;
	size_t		 i, n = sizeof(toks) / sizeof(toks[0]);

	for (i = 0; i < n; i++) {
		snprintf(sub, sizeof(sub), "acct-%zu", i);
		toks[i] = context_token(SECRET, sub, FX_NOW, FX_NOW + 180);
		assert_int_equal(outcome(a, toks[i], FX_NOW + 1), ERR_OK);
	}
	/* Each remembered token speaks for its own caller, no other. */
	for (i = 0; i < n; i++) {
		struct auth_state st;
		struct req	 r;

		snprintf(sub, sizeof(sub), "acct-%zu", i);
		assert_int_equal(authenticate(a, toks[i], FX_NOW + 2, &r, &st),
		    ERR_OK);
		assert_string_equal(r.account, sub);
		auth_release(&r);
		req_free(&r);
	}
	/* A flipped signature byte: a different token, verified anew. */
	assert_non_null(bad = strdup(toks[7]));
	bad[strlen(bad) - 2] = bad[strlen(bad) - 2] == 'A' ? 'B' : 'A';
	assert_int_equal(outcome(a, bad, FX_NOW + 3), ERR_UNAUTHORIZED);
	for (i = 0; i < n; i++)
		free(toks[i]);
	free(bad);
}

/* ------------------------------------------------------------- Forge */

/* Two RSA keys: the set's (its public half in key_dir) and a stranger. */
static char	*forge_priv, *forge_pub, *other_priv;

static void
rsa_pems(char **priv, char **pub)
{
	EVP_PKEY	*k;
	BIO		*b;
	char		*p;
	long		 n;

	assert_non_null(k = EVP_RSA_gen(2048));
	assert_non_null(b = BIO_new(BIO_s_mem()));
	assert_int_equal(PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL,
	    NULL), 1);
	n = BIO_get_mem_data(b, &p);
	assert_non_null(*priv = strndup(p, (size_t)n));
	BIO_free(b);
	if (pub != NULL) {
		assert_non_null(b = BIO_new(BIO_s_mem()));
		assert_int_equal(PEM_write_bio_PUBKEY(b, k), 1);
		n = BIO_get_mem_data(b, &p);
		assert_non_null(*pub = strndup(p, (size_t)n));
		BIO_free(b);
	}
	EVP_PKEY_free(k);
}

static int
forge_group_setup(void **state)
{
	(void)state;
	rsa_pems(&forge_priv, &forge_pub);
	rsa_pems(&other_priv, NULL);
	return 0;
}

static int
forge_group_teardown(void **state)
{
	(void)state;
	free(forge_priv);
	free(forge_pub);
	free(other_priv);
	return 0;
}

/* The operator's copy of the set's key: key_dir/KID.pem. */
static int
forge_setup(void **state)
{
	struct afx	*a;
	char		 path[256];
	FILE		*fp;

	setup(state);
	a = *state;
	snprintf(path, sizeof(path), "%s/forge", a->f.dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/forge/forge", a->f.dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/forge/forge/invocation-token",
	    a->f.dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/forge/%s.pem", a->f.dir, KID);
	assert_non_null(fp = fopen(path, "w"));
	fputs(forge_pub, fp);
	fclose(fp);
	return 0;
}

/* What a FIT says, and how it is signed; fit_defaults fills it in. */
struct fit_spec {
	const char	*alg;		/* "RS256", "HS256", "none" */
	const char	*key;		/* PEM (private, or the HS secret) */
	const char	*kid;
	const char	*iss;
	const char	*aud;
	const char	*installation;
	const char	*principal;	/* NULL: none */
	long long	 iat, exp, nbf;
};

static void
fit_defaults(struct fit_spec *f, long long now)
{
	memset(f, 0, sizeof(*f));
	f->alg = "RS256";
	f->key = forge_priv;
	f->kid = KID;
	f->iss = "forge/invocation-token";
	f->aud = APP_ID;
	f->installation = INST;
	f->principal = "5b10ac8d82e05b22cc7d4ef5";
	f->iat = f->nbf = now;
	f->exp = now + 25;
}

/* A FIT in the official shape (license, contexts, extension). */
static char *
fit_sign(const struct fit_spec *f)
{
	cJSON		*c, *app, *o, *ctx, *ext;
	jwt_t		*jwt = NULL;
	char		*json, *tok;
	jwt_alg_t	 alg;

	assert_non_null(c = cJSON_CreateObject());
	cJSON_AddStringToObject(c, "iss", f->iss);
	cJSON_AddStringToObject(c, "aud", f->aud);
	json_add_int(c, "iat", f->iat);
	json_add_int(c, "nbf", f->nbf);
	json_add_int(c, "exp", f->exp);
	cJSON_AddStringToObject(c, "jti",
	    "b5c3b6a0-2f1e-4f3e-9d4c-0123456789ab");
	app = cJSON_AddObjectToObject(c, "app");
	cJSON_AddStringToObject(app, "id", APP_ID);
	cJSON_AddStringToObject(app, "installationId", f->installation);
	cJSON_AddStringToObject(app, "apiBaseUrl",
	    "https://api.atlassian.com/ex/jira/"
	    "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d");
	cJSON_AddStringToObject(app, "appVersion", "2.1.0");
	o = cJSON_AddObjectToObject(app, "environment");
	cJSON_AddStringToObject(o, "type", "PRODUCTION");
	o = cJSON_AddObjectToObject(app, "module");
	cJSON_AddStringToObject(o, "type", "jira:issuePanel");
	cJSON_AddStringToObject(o, "key", "cellar-panel");
	o = cJSON_AddObjectToObject(app, "license");
	cJSON_AddBoolToObject(o, "isActive", 1);
	if (f->principal != NULL)
		cJSON_AddStringToObject(c, "principal", f->principal);
	ctx = cJSON_AddObjectToObject(c, "context");
	cJSON_AddStringToObject(ctx, "cloudId",
	    "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d");
	cJSON_AddStringToObject(ctx, "moduleKey", "cellar-panel");
	cJSON_AddStringToObject(ctx, "siteUrl", "https://ut.atlassian.net");
	ext = cJSON_AddObjectToObject(ctx, "extension");
	o = cJSON_AddObjectToObject(ext, "project");
	cJSON_AddStringToObject(o, "id", "10000");
	o = cJSON_AddObjectToObject(ext, "issue");
	cJSON_AddStringToObject(o, "id", "10042");
	assert_non_null(json = cJSON_PrintUnformatted(c));
	cJSON_Delete(c);
	alg = strcmp(f->alg, "RS256") == 0 ? JWT_ALG_RS256 :
	    strcmp(f->alg, "HS256") == 0 ? JWT_ALG_HS256 : JWT_ALG_NONE;
	assert_int_equal(jwt_new(&jwt), 0);
	assert_int_equal(jwt_add_grants_json(jwt, json), 0);
	if (f->kid != NULL)
		assert_int_equal(jwt_add_header(jwt, "kid", f->kid), 0);
	assert_int_equal(jwt_set_alg(jwt, alg, alg == JWT_ALG_NONE ? NULL :
	    (const unsigned char *)f->key, alg == JWT_ALG_NONE ? 0 :
	    (int)strlen(f->key)), 0);
	assert_non_null(tok = jwt_encode_str(jwt));
	jwt_free(jwt);
	free(json);
	return tok;
}

/*
 * A Forge request (GET /forge/api/tenant, level AUTH_FORGE) with
 * "Authorization: authz" (NULL: none) and x-forge-oauth-system sys (NULL:
 * none) at now.
 */
static enum err
forge_auth(struct afx *a, const char *authz, const char *sys, long long now,
    struct req *r, struct auth_state *st)
{
	const char	*params[9];
	struct fake	 f;
	struct http_io	 io;
	size_t		 n = 0;

	params[n++] = "REQUEST_METHOD";
	params[n++] = "GET";
	params[n++] = "REQUEST_URI";
	params[n++] = "/forge/api/tenant";
	if (authz != NULL) {
		params[n++] = "HTTP_AUTHORIZATION";
		params[n++] = authz;
	}
	if (sys != NULL) {
		params[n++] = "HTTP_X_FORGE_OAUTH_SYSTEM";
		params[n++] = sys;
	}
	params[n] = NULL;
	memset(&f, 0, sizeof(f));
	f.params = params;
	io = fake_io(&f);
	assert_int_equal(req_init(r, &io, "", &a->app), ERR_OK);
	memset(st, 0, sizeof(*st));
	r->route = &ctx_route;
	r->auth_level = AUTH_FORGE;
	r->forge = 1;
	r->auth = st;
	clock_fake(now);
	return auth_request(r, AUTH_PHASE_HEADERS);
}

/* The outcome of a FIT made from spec, presented at now. */
static enum err
fit_outcome(struct afx *a, const struct fit_spec *spec, long long now)
{
	struct auth_state st;
	struct req	 r;
	char		*tok, authz[16384];
	enum err	 e;

	tok = fit_sign(spec);
	snprintf(authz, sizeof(authz), "Bearer %s", tok);
	e = forge_auth(a, authz, NULL, now, &r, &st);
	if (e != ERR_OK) {
		assert_null(r.tenant);
		assert_null(r.fit);
		assert_null(r.account);
	}
	auth_release(&r);
	req_free(&r);
	free(tok);
	return e;
}

/* A system token (unsigned: cellar reads its exp only) expiring at exp. */
static char *
system_token(long long exp)
{
	char	 payload[128], *b64, *tok;
	size_t	 cap;

	snprintf(payload, sizeof(payload), "{\"sub\":\"app\",\"exp\":%lld}",
	    exp);
	cap = sodium_base64_encoded_len(strlen(payload),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	assert_non_null(b64 = malloc(cap));
	sodium_bin2base64(b64, cap, (const unsigned char *)payload,
	    strlen(payload), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	assert_non_null(tok = malloc(cap + 64));
	snprintf(tok, cap + 64, "eyJhbGciOiJSUzI1NiJ9.%s.c2lnbmF0dXJl", b64);
	free(b64);
	return tok;
}

/*
 * A valid FIT of an installation never seen makes its tenant (not the
 * Connect tenant of the fixture), and the next finds the same one; the
 * handlers see the installation, the principal as the account and the
 * extension's project; the system token is kept for the installation
 * until its exp; nothing of either token reaches the log.
 */
static void
test_forge_token_makes_then_finds_its_tenant(void **state)
{
	struct afx	*a = *state;
	struct fit_spec	 spec;
	struct auth_state st;
	struct req	 r;
	struct tenant	 t;
	char		*tok, *sys, authz[16384], id[TENANT_ID_LEN + 1];

	fit_defaults(&spec, FX_NOW);
	tok = fit_sign(&spec);
	sys = system_token(FX_NOW + 3600);
	snprintf(authz, sizeof(authz), "Bearer %s", tok);
	assert_int_equal(forge_auth(a, authz, sys, FX_NOW + 1, &r, &st),
	    ERR_OK);
	assert_non_null(r.tenant);
	assert_string_not_equal(r.tenant->id, a->f.t.id);
	assert_null(r.tenant->client_key);
	assert_string_equal(r.fit->installation_id, INST);
	assert_string_equal(r.fit->project_id, "10000");
	assert_string_equal(r.account, "5b10ac8d82e05b22cc7d4ef5");
	snprintf(id, sizeof(id), "%s", r.tenant->id);
	auth_release(&r);
	assert_null(r.fit);
	req_free(&r);
	assert_non_null(strstr(fx_log_text(), "event=forge_tenant_created"));
	assert_int_equal(registry_forge_find(a->f.reg, INST, &t), ERR_OK);
	assert_string_equal(t.id, id);
	registry_tenant_free(&t);
	/* Kept: a later request of the installation can call Jira. */
	assert_non_null(forgetoken_get(INST, FX_NOW + 100));
	assert_string_equal(forgetoken_get(INST, FX_NOW + 100), sys);
	assert_null(forgetoken_get(INST, FX_NOW + 3600));
	/* The next FIT: the same tenant, nothing made. */
	assert_int_equal(forge_auth(a, authz, NULL, FX_NOW + 2, &r, &st),
	    ERR_OK);
	assert_string_equal(r.tenant->id, id);
	auth_release(&r);
	req_free(&r);
	assert_null(strstr(fx_log_text(), tok + 7));
	assert_null(strstr(fx_log_text(), sys));
	free(tok);
	free(sys);
}

/*
 * Every way a FIT can be wrong is 401, with a fit_ reason in the log,
 * and makes no tenant.
 */
static void
test_forge_refusals(void **state)
{
	static const struct {
		const char	*what;
		const char	*reason;
	} cases[] = {
		{ "iss", "fit_iss" },
		{ "aud", "fit_aud" },
		/* No key set: only the operator's key, which is another. */
		{ "kid", "fit_jwks_unavailable" },
		{ "expired", "fit_expired" },
		{ "nbf", "fit_not_yet_valid" },
		{ "iat", "fit_iat_in_future" },
		{ "life", "fit_lifetime_too_long" },
		{ "other_key", "fit_bad_signature" },
		{ "hs256", "fit_" },
		{ "none", "fit_" },
		{ "installation", "fit_installation" },
	};
	struct afx	*a = *state;
	struct fit_spec	 spec;
	struct tenant	 t;
	size_t		 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fit_defaults(&spec, FX_NOW);
		if (strcmp(cases[i].what, "iss") == 0)
			spec.iss = "forge/other-token";
		else if (strcmp(cases[i].what, "aud") == 0)
			spec.aud = "ari:cloud:ecosystem::app/"
			    "99999999-2222-4333-8444-555555555555";
		else if (strcmp(cases[i].what, "kid") == 0)
			spec.kid = "forge/invocation-token/wf-unknown";
		else if (strcmp(cases[i].what, "expired") == 0) {
			spec.iat = spec.nbf = FX_NOW - 100;
			spec.exp = FX_NOW - FLEEWAY - 1;
		} else if (strcmp(cases[i].what, "nbf") == 0)
			spec.nbf = FX_NOW + FLEEWAY + 5;
		else if (strcmp(cases[i].what, "iat") == 0) {
			spec.iat = spec.nbf = FX_NOW + FLEEWAY + 5;
			spec.exp = FX_NOW + 40;
		} else if (strcmp(cases[i].what, "life") == 0)
			spec.exp = FX_NOW + 301;
		else if (strcmp(cases[i].what, "other_key") == 0)
			spec.key = other_priv;
		else if (strcmp(cases[i].what, "hs256") == 0) {
			/* The public key as an HMAC secret. */
			spec.alg = "HS256";
			spec.key = forge_pub;
		} else if (strcmp(cases[i].what, "none") == 0)
			spec.alg = "none";
		else if (strcmp(cases[i].what, "installation") == 0)
			spec.installation =
			    "ari:cloud:ecosystem::installation/x";
		fx_log_stop();
		fx_log_start();
		if (fit_outcome(a, &spec, FX_NOW) != ERR_UNAUTHORIZED)
			fail_msg("%s: accepted", cases[i].what);
		if (strstr(fx_log_text(), cases[i].reason) == NULL)
			fail_msg("%s: log says %s", cases[i].what,
			    fx_log_text());
	}
	assert_int_equal(registry_forge_find(a->f.reg, INST, &t),
	    ERR_NOT_FOUND);
}

/* Only "Authorization: Bearer" carries a FIT, within FIT_MAX_LEN. */
static void
test_forge_token_only_as_bearer(void **state)
{
	struct afx	*a = *state;
	struct fit_spec	 spec;
	struct auth_state st;
	struct req	 r;
	char		*tok, *big, authz[16384];

	fit_defaults(&spec, FX_NOW);
	tok = fit_sign(&spec);
	snprintf(authz, sizeof(authz), "JWT %s", tok);
	assert_int_equal(forge_auth(a, authz, NULL, FX_NOW, &r, &st),
	    ERR_UNAUTHORIZED);
	auth_release(&r);
	req_free(&r);
	assert_non_null(strstr(fx_log_text(), "reason=fit_auth_scheme"));
	assert_int_equal(forge_auth(a, NULL, NULL, FX_NOW, &r, &st),
	    ERR_UNAUTHORIZED);
	auth_release(&r);
	req_free(&r);
	assert_non_null(strstr(fx_log_text(), "reason=fit_missing"));
	/* A Connect context token as a Bearer: not a FIT. */
	free(tok);
	tok = context_token(SECRET, "acct-1", FX_NOW, FX_NOW + 180);
	snprintf(authz, sizeof(authz), "Bearer %s", tok);
	assert_int_equal(forge_auth(a, authz, NULL, FX_NOW, &r, &st),
	    ERR_UNAUTHORIZED);
	auth_release(&r);
	req_free(&r);
	/* Oversized: refused before any parser. */
	assert_non_null(big = malloc(FIT_MAX_LEN + 16));
	memcpy(big, "Bearer ", 7);
	memset(big + 7, 'A', FIT_MAX_LEN + 1);
	big[7 + FIT_MAX_LEN + 1] = '\0';
	assert_int_equal(forge_auth(a, big, NULL, FX_NOW, &r, &st),
	    ERR_UNAUTHORIZED);
	auth_release(&r);
	req_free(&r);
	assert_non_null(strstr(fx_log_text(), "reason=fit_too_long"));
	free(big);
	free(tok);
}

/* A pre-uninstalled (departed) tenant is back with its next FIT. */
static void
test_forge_departed_tenant_reinstated(void **state)
{
	struct afx	*a = *state;
	struct fit_spec	 spec;
	struct tenant	 t;
	char		 id[TENANT_ID_LEN + 1];

	fit_defaults(&spec, FX_NOW);
	assert_int_equal(fit_outcome(a, &spec, FX_NOW), ERR_OK);
	assert_int_equal(registry_forge_find(a->f.reg, INST, &t), ERR_OK);
	snprintf(id, sizeof(id), "%s", t.id);
	registry_tenant_free(&t);
	assert_int_equal(registry_forge_preuninstall(a->f.reg, INST,
	    FX_NOW + 5, 21), ERR_OK);
	assert_int_equal(registry_forge_find(a->f.reg, INST, &t), ERR_OK);
	assert_int_not_equal(t.state, TENANT_INSTALLED);
	registry_tenant_free(&t);
	fit_defaults(&spec, FX_NOW + 10);
	assert_int_equal(fit_outcome(a, &spec, FX_NOW + 10), ERR_OK);
	assert_int_equal(registry_forge_find(a->f.reg, INST, &t), ERR_OK);
	assert_int_equal(t.state, TENANT_INSTALLED);
	assert_string_equal(t.id, id);
	registry_tenant_free(&t);
	assert_non_null(strstr(fx_log_text(),
	    "event=forge_tenant_reinstated"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_token_works_until_exp_and_not_a_second_longer, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_departed_tenant_refused_at_once, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_remembered_token_refused_after_new_secret, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_many_tokens_in_use_each_checked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_secret_never_passes,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_sub_that_is_no_account_id_gives_no_account, setup,
		    teardown),
	};
	const struct CMUnitTest forge[] = {
		cmocka_unit_test_setup_teardown(
		    test_forge_token_makes_then_finds_its_tenant, forge_setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_forge_refusals,
		    forge_setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_forge_token_only_as_bearer, forge_setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_forge_departed_tenant_reinstated, forge_setup,
		    teardown),
	};

	return cmocka_run_group_tests_name("auth", tests, NULL, NULL) |
	    cmocka_run_group_tests_name("auth_forge", forge,
	    forge_group_setup, forge_group_teardown);
}
