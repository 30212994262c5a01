/*
 * Forge Invocation Tokens: a token shaped like Atlassian's example,
 * signed here with an RSA key published in a key set, is verified the
 * way the worker does it (fit_parse, the set's parsed key for its kid,
 * fit_check_sig, token_check_time, fit_read) and read fully; every
 * header, claim and field the contract names is refused when wrong.
 * Every signature check is also made by libjwt (token_check_sig with
 * the key's PEM, what the worker used before) and the two must agree;
 * fit_check_sig's own refusals of what libjwt never sees in the worker
 * (fit_parse refuses it first) are checked apart.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <sodium.h>

#include "cellar/fit.h"
#include "cellar/json.h"
#include "cellar/jwks.h"
#include "cellar/token.h"
#include "fixture.h"

#define APP_ID	"ari:cloud:ecosystem::app/8db3f0b2-2b5b-4d8a-9c8f-0f1a2b3c4d5e"
#define INST	"ari:cloud:ecosystem::installation/" \
		"0a3a1b2c-3d4e-4f50-8a6b-7c8d9e0f1a2b"
#define CLOUD	"d0d52b1c-0f7e-4c4a-9a31-2f5e6d7c8b9a"
#define API	"https://api.atlassian.com/ex/jira/" CLOUD
#define KID	"forge/invocation-token/wf-f641e7a7-d1b6-472a-806b-5e4b03912149"
#define KID2	"forge/invocation-token/wf-0b0e3c1a-5d4f-4e2b-8a1c-9f8e7d6c5b4a"
#define PRINCIPAL "655362:312d3308-8954-42b0-aa38-771a10c88656"
#define NOW	FX_NOW

/* The official example's shape; times are filled in at NOW. */
static const char BASE[] =
    "{\"app\":{\"id\":\"" APP_ID "\",\"appVersion\":\"16.0.1\","
    "\"installationId\":\"" INST "\",\"apiBaseUrl\":\"" API "\","
    "\"installation\":{\"id\":\"" INST "\",\"contexts\":[{\"name\":"
    "\"jira\",\"apiBaseUrl\":\"" API "\",\"cloudId\":\"" CLOUD "\"}]},"
    "\"environment\":{\"type\":\"PRODUCTION\",\"id\":"
    "\"ari:cloud:ecosystem::environment/8db3f0b2-2b5b-4d8a-9c8f-"
    "0f1a2b3c4d5e/1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f\"},"
    "\"module\":{\"type\":\"core:endpoint\",\"key\":\"cellar-ui\"},"
    "\"license\":{\"active\":true,\"billingPeriod\":\"MONTHLY\","
    "\"isEvaluation\":false,\"type\":\"commercial\",\"modes\":"
    "[\"USER_ACCESS\"]}},"
    "\"context\":{\"localId\":\"ari:cloud:ecosystem::extension/x\","
    "\"cloudId\":\"" CLOUD "\",\"moduleKey\":\"cellar-panel\","
    "\"siteUrl\":\"https://example.atlassian.net\",\"extension\":"
    "{\"type\":\"jira:issuePanel\",\"issue\":{\"id\":\"10001\","
    "\"key\":\"A-1\"},\"project\":{\"id\":\"10000\",\"key\":\"A\"}}},"
    "\"principal\":\"" PRINCIPAL "\",\"icLabel\":\"orange\","
    "\"aud\":\"" APP_ID "\",\"iss\":\"forge/invocation-token\","
    "\"jti\":\"d8a4b2f1c0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5\"}";

/* Ends payload()'s list, or deletes a member: a typed null pointer. */
#define NIL	((const char *)0)

static const char HEADER[] = "{\"alg\":\"RS256\",\"kid\":\"" KID "\","
    "\"typ\":\"JWT\"}";

static EVP_PKEY	*key, *other;
static struct jwks set;

/* base64url without padding, malloc'd. */
static char *
b64u(const unsigned char *bin, size_t len)
{
	size_t	 cap = sodium_base64_encoded_len(len,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	char	*out = malloc(cap);

	assert_non_null(out);
	sodium_bin2base64(out, cap, bin, len,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return out;
}

static char *
b64s(const char *s)
{
	return b64u((const unsigned char *)s, strlen(s));
}

/* The JWK of pk under kid, into buf. */
static void
jwk_of(EVP_PKEY *pk, const char *kid, char *buf, size_t sz)
{
	BIGNUM		*n = NULL;
	unsigned char	 bin[512];
	char		*s;
	int		 len;

	assert_int_equal(EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_N, &n),
	    1);
	len = BN_bn2bin(n, bin);
	s = b64u(bin, (size_t)len);
	snprintf(buf, sz, "{\"kty\":\"RSA\",\"kid\":\"%s\",\"use\":\"sig\","
	    "\"alg\":\"RS256\",\"n\":\"%s\",\"e\":\"AQAB\"}", kid, s);
	free(s);
	BN_free(n);
}

static int
setup(void **state)
{
	char		 a[1024], text[1100];
	const char	*reason;

	(void)state;
	if ((key = EVP_RSA_gen(2048)) == NULL ||
	    (other = EVP_RSA_gen(2048)) == NULL)
		return -1;
	/* The set publishes key (as KID) and no other. */
	jwk_of(key, KID, a, sizeof(a));
	snprintf(text, sizeof(text), "{\"keys\":[%s]}", a);
	return jwks_parse(text, strlen(text), &set, &reason);
}

static int
teardown(void **state)
{
	(void)state;
	jwks_free(&set);
	EVP_PKEY_free(key);
	EVP_PKEY_free(other);
	return 0;
}

/* header.payload signed RS256 by pk, malloc'd. */
static char *
sign_rs256(const char *header, const char *payload, EVP_PKEY *pk)
{
	EVP_MD_CTX	*md = EVP_MD_CTX_new();
	unsigned char	 sig[1024];
	size_t		 siglen = sizeof(sig), n;
	char		*h = b64s(header), *p = b64s(payload), *s, *tok;

	n = strlen(h) + strlen(p) + 2 + 2 * sizeof(sig);
	assert_non_null(tok = malloc(n));
	snprintf(tok, n, "%s.%s", h, p);
	assert_non_null(md);
	assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, pk),
	    1);
	assert_int_equal(EVP_DigestSign(md, sig, &siglen,
	    (const unsigned char *)tok, strlen(tok)), 1);
	s = b64u(sig, siglen);
	strcat(tok, ".");
	strcat(tok, s);
	free(s);
	free(h);
	free(p);
	EVP_MD_CTX_free(md);
	return tok;
}

/*
 * BASE with edits: pairs of a dotted path and a JSON value (NULL:
 * delete it; "~text": text verbatim, for numbers cJSON would print
 * rounded; one such a payload), ended by a NULL path; iat, nbf and exp
 * are NOW, NOW and NOW + 25 unless edited.  Malloc'd text.
 */
static char *
payload_v(va_list ap)
{
	cJSON		*root, *parent, *v;
	const char	*path, *val, *raw = NULL;
	char		 part[64], *out, *at, *res;
	size_t		 n;

	assert_int_equal(json_parse(BASE, strlen(BASE), &root), JSON_OK);
	assert_non_null(json_add_int(root, "iat", NOW));
	assert_non_null(json_add_int(root, "nbf", NOW));
	assert_non_null(json_add_int(root, "exp", NOW + 25));
	while ((path = va_arg(ap, const char *)) != NULL) {
		val = va_arg(ap, const char *);
		parent = root;
		while ((n = strcspn(path, ".")) < strlen(path)) {
			assert_true(n < sizeof(part));
			memcpy(part, path, n);
			part[n] = '\0';
			parent = cJSON_GetObjectItemCaseSensitive(parent, part);
			assert_non_null(parent);
			path += n + 1;
		}
		cJSON_DeleteItemFromObjectCaseSensitive(parent, path);
		if (val != NULL && val[0] == '~') {
			raw = val + 1;
			val = "\"@RAW@\"";
		}
		if (val != NULL) {
			assert_int_equal(json_parse(val, strlen(val), &v),
			    JSON_OK);
			cJSON_AddItemToObject(parent, path, v);
		}
	}
	assert_non_null(out = cJSON_PrintUnformatted(root));
	cJSON_Delete(root);
	if (raw == NULL)
		return out;
	assert_non_null(at = strstr(out, "\"@RAW@\""));
	n = strlen(out) + strlen(raw) + 1;
	assert_non_null(res = malloc(n));
	snprintf(res, n, "%.*s%s%s", (int)(at - out), out, raw, at + 7);
	free(out);
	return res;
}

/* The payload of BASE with edits (path, value, ..., NULL). */
static char *
payload(int dummy, ...)
{
	va_list	 ap;
	char	*p;

	va_start(ap, dummy);
	p = payload_v(ap);
	va_end(ap);
	return p;
}

/* A FIT of HEADER over BASE, signed by key. */
static char *
fit_base(void)
{
	char	*p = payload(0, NIL), *tok;

	tok = sign_rs256(HEADER, p, key);
	free(p);
	return tok;
}

/*
 * fit_check_sig's answer on tok with k (0 or -1, its reason in *why),
 * held to libjwt's under RS256 with k's PEM: the two must agree.
 */
static int
check_both(const char *tok, const struct jwks_key *k, const char **why)
{
	const char	*theirs_why = "ok";
	int		 ours, theirs;

	*why = "ok";
	ours = fit_check_sig(tok, k, why);
	theirs = token_check_sig(tok, TOKEN_RS256,
	    (const unsigned char *)k->pem, k->pem_len, &theirs_why);
	if (ours != theirs)
		fail_msg("fit_check_sig %d (%s), libjwt %d (%s)", ours, *why,
		    theirs, theirs_why);
	return ours;
}

/*
 * Verifies tok as the worker does, at now, against set and APP_ID:
 * 0 with *c and *f filled (free c), or -1 with a reason.
 */
static int
verify(const char *tok, long long now, struct token_claims *c, struct fit *f,
    const char **reason)
{
	const struct jwks_key *k;

	*reason = "ok";
	if (fit_parse(tok, c, reason) == -1)
		return -1;
	if ((k = jwks_find(&set, c->kid)) == NULL) {
		*reason = "kid_unknown";
		goto fail;
	}
	if (check_both(tok, k, reason) == -1 ||
	    token_check_time(c, now, 10, 300, reason) == -1 ||
	    fit_read(c, APP_ID, f, reason) == -1)
		goto fail;
	return 0;
fail:
	token_claims_free(c);
	return -1;
}

static void
expect_tok_as(const char *tok, long long now, const char *why,
    const char *label)
{
	struct token_claims c;
	struct fit	 f;
	const char	*reason;

	if (verify(tok, now, &c, &f, &reason) == 0) {
		token_claims_free(&c);
		fail_msg("%s: accepted, want %s", label, why);
	}
	if (strcmp(reason, why) != 0)
		fail_msg("%s: reason %s, want %s", label, reason, why);
}

static void
expect_tok(const char *tok, long long now, const char *why)
{
	expect_tok_as(tok, now, why, "token");
}

/* The payload edited by one (path, value) refused with why. */
static void
expect_edit(const char *path, const char *val, const char *why)
{
	char	*p = payload(0, path, val, NIL), *tok;

	tok = sign_rs256(HEADER, p, key);
	expect_tok_as(tok, NOW + 1, why, val != NULL ? val : path);
	free(tok);
	free(p);
}

/* The payload edited by one (path, value) accepted: fit_read's out. */
static void
accept_edit(const char *path, const char *val, struct token_claims *c,
    struct fit *f)
{
	char		*p = payload(0, path, val, NIL), *tok;
	const char	*reason;

	tok = sign_rs256(HEADER, p, key);
	if (verify(tok, NOW + 1, c, f, &reason) != 0)
		fail_msg("%s=%s refused: %s", path, val ? val : "(deleted)",
		    reason);
	free(tok);
	free(p);
}

static void
test_valid_fit(void **state)
{
	struct token_claims c;
	struct fit	 f;
	const char	*reason;
	char		*tok = fit_base();

	(void)state;
	if (verify(tok, NOW + 1, &c, &f, &reason) != 0)
		fail_msg("refused: %s", reason);
	assert_string_equal(f.installation_id, INST);
	assert_string_equal(f.api_base_url, API);
	assert_string_equal(f.app_version, "16.0.1");
	assert_string_equal(f.principal, PRINCIPAL);
	assert_string_equal(f.cloud_id, CLOUD);
	assert_string_equal(f.site_url, "https://example.atlassian.net");
	assert_string_equal(f.module_key, "cellar-ui");
	assert_string_equal(f.jti, "d8a4b2f1c0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5");
	assert_string_equal(f.project_id, "10000");
	assert_string_equal(f.issue_id, "10001");
	assert_string_equal(c.kid, KID);
	assert_null(c.qsh);
	assert_int_equal(c.nbf, NOW);
	token_claims_free(&c);
	/* Within the leeway at both ends, refused past it. */
	assert_int_equal(verify(tok, NOW - 10, &c, &f, &reason), 0);
	token_claims_free(&c);
	assert_int_equal(verify(tok, NOW + 35, &c, &f, &reason), 0);
	token_claims_free(&c);
	expect_tok(tok, NOW + 36, "expired");
	expect_tok(tok, NOW - 11, "iat_in_future");
	/* Tampered: one bit of the payload. */
	tok[strchr(tok, '.') - tok + 5] ^= 1;
	assert_int_equal(verify(tok, NOW + 1, &c, &f, &reason), -1);
	free(tok);
}

static void
test_header(void **state)
{
	char		*p = payload(0, NIL), *tok, *h, *b, buf[16384];
	const struct jwks_key *k = jwks_find(&set, KID);
	unsigned char	 mac[crypto_auth_hmacsha256_BYTES];
	struct token_claims c;
	const char	*reason;

	(void)state;
	/* HS256 "signed" with the published PEM as the HMAC secret. */
	h = b64s("{\"alg\":\"HS256\",\"kid\":\"" KID "\",\"typ\":\"JWT\"}");
	b = b64s(p);
	snprintf(buf, sizeof(buf), "%s.%s", h, b);
	{
		crypto_auth_hmacsha256_state st;
		char	*s;

		crypto_auth_hmacsha256_init(&st,
		    (const unsigned char *)k->pem, k->pem_len);
		crypto_auth_hmacsha256_update(&st, (unsigned char *)buf,
		    strlen(buf));
		crypto_auth_hmacsha256_final(&st, mac);
		s = b64u(mac, sizeof(mac));
		strcat(buf, ".");
		strcat(buf, s);
		free(s);
	}
	expect_tok(buf, NOW + 1, "alg_mismatch");
	/*
	 * Past the header check, both verifiers under RS256 must refuse it
	 * too: fit_check_sig never reads alg, and 32 bytes of HMAC are no
	 * RSA signature.
	 */
	assert_int_equal(token_check_sig(buf, TOKEN_RS256,
	    (const unsigned char *)k->pem, k->pem_len, &reason), -1);
	assert_int_equal(fit_check_sig(buf, k, &reason), -1);
	assert_string_equal(reason, "signature_encoding");
	free(h);
	/* alg none: with and without a signature. */
	h = b64s("{\"alg\":\"none\",\"kid\":\"" KID "\"}");
	snprintf(buf, sizeof(buf), "%s.%s.", h, b);
	expect_tok(buf, NOW + 1, "token_segments");
	snprintf(buf, sizeof(buf), "%s.%s.AAAA", h, b);
	expect_tok(buf, NOW + 1, "alg_mismatch");
	free(h);
	free(b);

	tok = sign_rs256("{\"alg\":\"RS512\",\"kid\":\"" KID "\"}", p, key);
	expect_tok(tok, NOW + 1, "alg_mismatch");
	free(tok);
	tok = sign_rs256("{\"alg\":\"RS256\"}", p, key);
	expect_tok(tok, NOW + 1, "kid_missing");
	free(tok);
	tok = sign_rs256("{\"alg\":\"RS256\",\"kid\":7}", p, key);
	expect_tok(tok, NOW + 1, "kid_type");
	free(tok);
	tok = sign_rs256("{\"alg\":\"RS256\",\"kid\":\"../../etc/k\"}", p,
	    key);
	expect_tok(tok, NOW + 1, "kid_invalid");
	free(tok);
	tok = sign_rs256("{\"alg\":\"RS256\",\"kid\":\"/" KID "\"}", p, key);
	expect_tok(tok, NOW + 1, "kid_invalid");
	free(tok);
	tok = sign_rs256("{\"alg\":\"RS256\",\"kid\":\"" KID "\","
	    "\"typ\":\"JWS\"}", p, key);
	expect_tok(tok, NOW + 1, "typ_mismatch");
	free(tok);
	tok = sign_rs256("{\"alg\":\"RS256\",\"kid\":\"" KID "\","
	    "\"kid\":\"" KID2 "\"}", p, key);
	expect_tok(tok, NOW + 1, "token_encoding");
	free(tok);
	/* typ may be absent. */
	tok = sign_rs256("{\"alg\":\"RS256\",\"kid\":\"" KID "\"}", p, key);
	assert_int_equal(fit_parse(tok, &c, &reason), 0);
	token_claims_free(&c);
	free(tok);
	/* A kid the set does not have; a key the set does not have. */
	tok = sign_rs256("{\"alg\":\"RS256\",\"kid\":\"" KID2 "\"}", p, key);
	expect_tok(tok, NOW + 1, "kid_unknown");
	free(tok);
	tok = sign_rs256(HEADER, p, other);
	expect_tok(tok, NOW + 1, "bad_signature");
	free(tok);
	free(p);
}

static void
test_required_claims(void **state)
{
	(void)state;
	expect_edit("jti", NULL, "jti_missing_or_invalid");
	expect_edit("jti", "7", "jti_missing_or_invalid");
	expect_edit("jti", "\"\"", "jti_missing_or_invalid");
	expect_edit("nbf", NULL, "nbf_missing_or_invalid");
	expect_edit("nbf", "\"1795000000\"", "nbf_missing_or_invalid");
	expect_edit("exp", NULL, "exp_missing_or_invalid");
	expect_edit("exp", "\"1795000025\"", "exp_missing_or_invalid");
	expect_edit("exp", "1795000025.5", "exp_missing_or_invalid");
	expect_edit("iat", NULL, "iat_missing_or_invalid");
	expect_edit("iat", "null", "iat_missing_or_invalid");
	expect_edit("iss", NULL, "iss_missing");
	expect_edit("aud", NULL, "aud_missing_or_invalid");
	expect_edit("aud", "[\"" APP_ID "\"]", "aud_missing_or_invalid");
	expect_edit("aud", "\"\"", "aud_missing_or_invalid");
	expect_edit("aud", "{}", "aud_missing_or_invalid");
	expect_edit("context", "[]", "context_invalid");
	/* Forge's tokens live seconds: 300 s is the most taken. */
	expect_edit("exp", "1795000301", "lifetime_too_long");
	expect_edit("nbf", "1795000012", "not_yet_valid");
}

static void
test_read_refusals(void **state)
{
	static const char *const bad_inst[] = {
		"\"ari:cloud:ecosystem::installation/0A3A1B2C-3D4E-4F50-8A6B-"
		"7C8D9E0F1A2B\"",
		"\"ari:cloud:ecosystem::installation/0a3a1b2c-3d4e-4f50-8a6b-"
		"7c8d9e0f1a2b/x\"",
		"\"ari:cloud:ecosystem::installation/0a3a1b2c3d4e4f508a6b"
		"7c8d9e0f1a2b\"",
		"\"ari:cloud:ecosystem::installation/\"",
		"\"" APP_ID "\"", "\"0a3a1b2c-3d4e-4f50-8a6b-7c8d9e0f1a2b\"",
		"\"\"", "7", "null", "[\"" INST "\"]",
	};
	static const char *const bad_url[] = {
		"\"http://api.atlassian.com/ex/jira/x\"",
		"\"http://10.0.0.1/ex/jira/x\"",
		"\"https://api.atlassian.com/ex/jira/x?a=b\"",
		"\"https://api.atlassian.com/ex/jira/x#f\"",
		"\"https://user@api.atlassian.com/ex\"",
		"\"https://api.atlassian.com/ex/jira/x/\"",
		"\"ftp://api.atlassian.com\"", "\"//api.atlassian.com\"",
		"\"https://\"", "\"https://a b\"", "\"\"", "null", "1",
	};
	static const char *const bad_principal[] = {
		"\"a b\"", "\"a/b\"", "\"\"", "7", "[]", "\"a\\nb\"",
		"\"0123456789012345678901234567890123456789012345678901234567890"
		"12345678901234567890123456789012345678901234567890123456789012"
		"345678\"",
	};
	size_t	i;
	char	*p, *tok;

	(void)state;
	expect_edit("iss", "\"forge/invocation-token \"", "fit_iss");
	expect_edit("iss", "\"jira:" CLOUD "\"", "fit_iss");
	expect_edit("aud", "\"ari:cloud:ecosystem::app/8db3f0b2-2b5b-4d8a-"
	    "9c8f-0f1a2b3c4d5f\"", "fit_aud");
	for (i = 0; i < sizeof(bad_inst) / sizeof(bad_inst[0]); i++)
		expect_edit("app.installationId", bad_inst[i],
		    "fit_installation");
	expect_edit("app.installationId", NULL, "fit_installation");
	expect_edit("app", NULL, "fit_installation");
	expect_edit("app", "[]", "fit_installation");
	for (i = 0; i < sizeof(bad_url) / sizeof(bad_url[0]); i++)
		expect_edit("app.apiBaseUrl", bad_url[i], "fit_api_base_url");
	expect_edit("app.apiBaseUrl", NULL, "fit_api_base_url");
	for (i = 0; i < sizeof(bad_principal) / sizeof(bad_principal[0]); i++)
		expect_edit("principal", bad_principal[i], "fit_principal");
	expect_edit("context.cloudId", "\"d0d5/..\"", "fit_cloud_id");
	expect_edit("context.cloudId", "\"\"", "fit_cloud_id");
	expect_edit("context.cloudId", "5", "fit_cloud_id");
	/* The installation's contexts are read when context has no cloudId. */
	p = payload(0, "context", NIL, "app.installation.contexts", "{}",
	    NIL);
	tok = sign_rs256(HEADER, p, key);
	expect_tok(tok, NOW + 1, "fit_context");
	free(tok);
	free(p);
	p = payload(0, "context.cloudId", NIL, "app.installation", "\"x\"",
	    NIL);
	tok = sign_rs256(HEADER, p, key);
	expect_tok(tok, NOW + 1, "fit_context");
	free(tok);
	free(p);
	p = payload(0, "context.cloudId", "null", "app.installation.contexts",
	    "[7]", NIL);
	tok = sign_rs256(HEADER, p, key);
	expect_tok(tok, NOW + 1, "fit_context");
	free(tok);
	free(p);
	expect_edit("context.siteUrl", "\"http://example.atlassian.net\"",
	    "fit_context");
	expect_edit("context.siteUrl", "7", "fit_context");
	expect_edit("app.appVersion", "16", "fit_context");
	expect_edit("app.module", "\"cellar-ui\"", "fit_context");
	expect_edit("app.module.key", "[]", "fit_context");
	expect_edit("context.extension", "[]", "fit_context");
}

static void
test_read_optional(void **state)
{
	struct token_claims c;
	struct fit	 f;
	char		*p, *tok;
	const char	*reason;

	(void)state;
	/* A backend invocation (event, trigger): no context, no principal. */
	p = payload(0, "context", NIL, "principal", NIL, NIL);
	tok = sign_rs256(HEADER, p, key);
	if (verify(tok, NOW + 1, &c, &f, &reason) != 0)
		fail_msg("refused: %s", reason);
	assert_null(f.principal);
	assert_null(f.site_url);
	/* The cloud id then comes from the installation's first context. */
	assert_string_equal(f.cloud_id, CLOUD);
	assert_string_equal(f.project_id, "");
	assert_string_equal(f.issue_id, "");
	token_claims_free(&c);
	free(tok);
	free(p);
	/* ...and a bad one there is refused as well. */
	p = payload(0, "context", NIL, "app.installation.contexts",
	    "[{\"cloudId\":\"a b\"}]", NIL);
	tok = sign_rs256(HEADER, p, key);
	expect_tok(tok, NOW + 1, "fit_cloud_id");
	free(tok);
	free(p);
	/* Nowhere: no cloud id. */
	p = payload(0, "context", NIL, "app.installation", NIL, NIL);
	tok = sign_rs256(HEADER, p, key);
	assert_int_equal(verify(tok, NOW + 1, &c, &f, &reason), 0);
	assert_null(f.cloud_id);
	token_claims_free(&c);
	free(tok);
	free(p);
	p = payload(0, "context", NIL, "app.installation.contexts", "[]",
	    NIL);
	tok = sign_rs256(HEADER, p, key);
	assert_int_equal(verify(tok, NOW + 1, &c, &f, &reason), 0);
	assert_null(f.cloud_id);
	token_claims_free(&c);
	free(tok);
	free(p);
	/* context.cloudId wins over the installation's. */
	p = payload(0, "context.cloudId", "\"abc-1\"", NIL);
	tok = sign_rs256(HEADER, p, key);
	assert_int_equal(verify(tok, NOW + 1, &c, &f, &reason), 0);
	assert_string_equal(f.cloud_id, "abc-1");
	token_claims_free(&c);
	free(tok);
	free(p);

	/* The token's own app.id is neither the audience nor checked. */
	accept_edit("app.id", "\"ari:cloud:ecosystem::app/00000000-0000-"
	    "0000-0000-000000000000\"", &c, &f);
	token_claims_free(&c);
	/* null is absent. */
	accept_edit("principal", "null", &c, &f);
	assert_null(f.principal);
	token_claims_free(&c);
	accept_edit("app.appVersion", NULL, &c, &f);
	assert_null(f.app_version);
	assert_string_equal(f.module_key, "cellar-ui");
	token_claims_free(&c);
	accept_edit("app.module", NULL, &c, &f);
	assert_null(f.module_key);
	token_claims_free(&c);
	/* Plain http to a loopback test double. */
	accept_edit("app.apiBaseUrl", "\"http://127.0.0.1:8089/ex/jira/x\"",
	    &c, &f);
	assert_string_equal(f.api_base_url, "http://127.0.0.1:8089/ex/jira/x");
	token_claims_free(&c);
	/* An old-style 24-hex account id. */
	accept_edit("principal", "\"5b10a2844c20165700ede21g\"", &c, &f);
	assert_string_equal(f.principal, "5b10a2844c20165700ede21g");
	token_claims_free(&c);
}

static void
test_extension_ids(void **state)
{
	static const struct {
		const char	*v;
		const char	*want;		/* NULL: refused */
	} ids[] = {
		{ "\"10001\"", "10001" },
		{ "10001", "10001" },
		{ "0", "0" },
		{ "\"0\"", "0" },
		{ "~9007199254740991", "9007199254740991" },
		{ "\"9999999999999999999\"", "9999999999999999999" },
		{ "null", "" },
		{ "~9007199254740992", NULL },
		{ "~-0", "0" },
		{ "\"99999999999999999999\"", NULL },
		{ "\"010001\"", NULL },
		{ "\"-1\"", NULL },
		{ "-1", NULL },
		{ "1.5", NULL },
		{ "~1e3", "1000" },
		{ "~10001.0", "10001" },
		{ "\"1e3\"", NULL },
		{ "\" 1\"", NULL },
		{ "\"\"", NULL },
		{ "true", NULL },
		{ "[]", NULL },
		{ "{}", NULL },
	};
	struct token_claims c;
	struct fit	 f;
	const char	*reason;
	char		*p, *tok;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		if (ids[i].want == NULL) {
			expect_edit("context.extension.issue.id", ids[i].v,
			    "fit_context");
			expect_edit("context.extension.project.id", ids[i].v,
			    "fit_context");
			continue;
		}
		accept_edit("context.extension.issue.id", ids[i].v, &c, &f);
		assert_string_equal(f.issue_id, ids[i].want);
		assert_string_equal(f.project_id, "10000");
		token_claims_free(&c);
		accept_edit("context.extension.project.id", ids[i].v, &c, &f);
		assert_string_equal(f.project_id, ids[i].want);
		token_claims_free(&c);
	}
	/* A project page: no issue. */
	accept_edit("context.extension.issue", NULL, &c, &f);
	assert_string_equal(f.issue_id, "");
	assert_string_equal(f.project_id, "10000");
	token_claims_free(&c);
	accept_edit("context.extension.issue.id", NULL, &c, &f);
	assert_string_equal(f.issue_id, "");
	token_claims_free(&c);
	accept_edit("context.extension", NULL, &c, &f);
	assert_string_equal(f.issue_id, "");
	assert_string_equal(f.project_id, "");
	token_claims_free(&c);
	expect_edit("context.extension.issue", "\"10001\"", "fit_context");
	/*
	 * An infinite id: libjwt's parser refuses the payload, ours reads
	 * it as a number; fit_read must refuse it on its own.
	 */
	p = payload(0, "context.extension.issue.id", "~1e400", NIL);
	tok = sign_rs256(HEADER, p, key);
	assert_int_equal(fit_parse(tok, &c, &reason), 0);
	assert_int_equal(fit_read(&c, APP_ID, &f, &reason), -1);
	assert_string_equal(reason, "fit_context");
	token_claims_free(&c);
	free(tok);
	free(p);
}

static void
test_size(void **state)
{
	struct token_claims c;
	struct fit	 f;
	const char	*reason;
	char		*big, *p, *tok;
	size_t		 n;

	(void)state;
	/* Past Connect's 8 KiB, within FIT_MAX_LEN: verified whole. */
	n = 7000;
	assert_non_null(big = malloc(n + 3));
	big[0] = '"';
	memset(big + 1, 'x', n);
	memcpy(big + 1 + n, "\"", 2);
	p = payload(0, "context.localId", big, NIL);
	tok = sign_rs256(HEADER, p, key);
	assert_true(strlen(tok) > TOKEN_MAX_LEN);
	assert_true(strlen(tok) <= FIT_MAX_LEN);
	if (verify(tok, NOW + 1, &c, &f, &reason) != 0)
		fail_msg("refused: %s", reason);
	token_claims_free(&c);
	/* Connect's parser keeps its own limit. */
	assert_int_equal(token_parse(tok, TOKEN_RS256, &c, &reason), -1);
	assert_string_equal(reason, "token_too_long");
	free(tok);
	free(p);
	free(big);
	/* Past FIT_MAX_LEN: refused before any parser. */
	n = FIT_MAX_LEN;
	assert_non_null(big = malloc(n + 3));
	big[0] = '"';
	memset(big + 1, 'x', n);
	memcpy(big + 1 + n, "\"", 2);
	p = payload(0, "context.localId", big, NIL);
	tok = sign_rs256(HEADER, p, key);
	assert_true(strlen(tok) > FIT_MAX_LEN);
	expect_tok(tok, NOW + 1, "token_too_long");
	assert_int_equal(token_check_sig(tok, TOKEN_RS256,
	    (const unsigned char *)set.keys[0].pem, set.keys[0].pem_len,
	    &reason), -1);
	assert_string_equal(reason, "token_too_long");
	free(tok);
	free(p);
	free(big);
	/* Shape and alphabet. */
	expect_tok("a.b", NOW, "token_segments");
	expect_tok("a.b.c d", NOW, "token_charset");
	expect_tok("", NOW, "token_segments");
}

/* tok's signature, decoded, into sig (sz bytes at most): its length. */
static size_t
sig_of(const char *tok, unsigned char *sig, size_t sz)
{
	const char	*s = strrchr(tok, '.') + 1;
	size_t		 len;

	assert_int_equal(sodium_base642bin(sig, sz, s, strlen(s), NULL, &len,
	    NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING), 0);
	return len;
}

/* tok's "header.payload." and then text, malloc'd. */
static char *
with_sig_text(const char *tok, const char *text)
{
	size_t	 n = (size_t)(strrchr(tok, '.') + 1 - tok);
	char	*out;

	assert_non_null(out = malloc(n + strlen(text) + 1));
	memcpy(out, tok, n);
	strcpy(out + n, text);
	return out;
}

/* tok with the signature sig (len bytes) encoded, malloc'd. */
static char *
with_sig(const char *tok, const unsigned char *sig, size_t len)
{
	char	*s = b64u(sig, len), *out;

	out = with_sig_text(tok, s);
	free(s);
	return out;
}

/* The answer on tok, which both verifiers must refuse with our why. */
static void
refused_by_both(const char *tok, const struct jwks_key *k, const char *why,
    const char *label)
{
	const char	*reason;

	if (check_both(tok, k, &reason) == 0)
		fail_msg("%s: accepted", label);
	if (strcmp(reason, why) != 0)
		fail_msg("%s: reason %s, want %s", label, reason, why);
}

/* fit_check_sig alone refuses tok with why. */
static void
refused(const char *tok, const struct jwks_key *k, const char *why,
    const char *label)
{
	const char	*reason = "ok";

	if (fit_check_sig(tok, k, &reason) == 0)
		fail_msg("%s: accepted", label);
	if (strcmp(reason, why) != 0)
		fail_msg("%s: reason %s, want %s", label, reason, why);
}

/*
 * The signature check on its own: what verifies with one key verifies
 * with it alone, and any change to what was signed, to the signature
 * or to its spelling is refused, by libjwt as by fit_check_sig.
 */
static void
test_check_sig(void **state)
{
	const struct jwks_key *k = jwks_find(&set, KID);
	struct jwks_key	 big;
	EVP_PKEY	*k3072;
	unsigned char	 sig[1024], flip[1024];
	size_t		 len, i;
	const char	*reason;
	char		*tok = fit_base(), *t, *p, *h, *b, *s, label[64],
			 text[16384], *pem;
	BIO		*bio;
	long		 n;
	static const size_t at[] = { 0, 1, 127, 128, 254, 255 };

	(void)state;
	assert_non_null(k);
	assert_int_equal(check_both(tok, k, &reason), 0);
	/* Any one bit of the signature. */
	len = sig_of(tok, sig, sizeof(sig));
	assert_int_equal(len, 256);
	for (i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		memcpy(flip, sig, len);
		flip[at[i]] ^= (unsigned char)(1 << (i % 8));
		t = with_sig(tok, flip, len);
		snprintf(label, sizeof(label), "signature byte %zu", at[i]);
		refused_by_both(t, k, "bad_signature", label);
		free(t);
	}
	/* One bit of the payload (jti's first 'd' made 'e'), then header. */
	p = payload(0, "jti", "\"e8a4b2f1c0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5\"",
	    NIL);
	h = b64s(HEADER);
	b = b64s(p);
	s = strrchr(tok, '.');
	snprintf(text, sizeof(text), "%s.%s%s", h, b, s);
	refused_by_both(text, k, "bad_signature", "payload bit");
	free(h);
	free(b);
	free(p);
	p = payload(0, NIL);
	h = b64s("{\"alg\":\"RS256\",\"kid\":\"" KID "\",\"typ\":\"JWT\"} ");
	b = b64s(p);
	snprintf(text, sizeof(text), "%s.%s%s", h, b, s);
	refused_by_both(text, k, "bad_signature", "header byte");
	free(h);
	free(b);
	free(p);
	/* Too short, too long (by a byte, by a block), empty. */
	t = with_sig(tok, sig, len - 1);
	refused_by_both(t, k, "signature_encoding", "255 bytes");
	free(t);
	sig[len] = 0;
	t = with_sig(tok, sig, len + 1);
	refused_by_both(t, k, "signature_encoding", "257 bytes");
	free(t);
	s = b64u(sig, len);
	snprintf(text, sizeof(text), "%sAAAA", s);
	t = with_sig_text(tok, text);
	refused_by_both(t, k, "signature_encoding", "259 bytes");
	free(t);
	t = with_sig_text(tok, "");
	refused(t, k, "signature_encoding", "empty");
	free(t);
	/*
	 * The right bytes misspelled: padded, base64 (not url), non-zero
	 * spare bits.  libjwt takes the padded and the spare bits; in the
	 * worker fit_parse refuses the first two (alphabet), and the third
	 * is one spelling too many of one signature.
	 */
	snprintf(text, sizeof(text), "%s==", s);
	t = with_sig_text(tok, text);
	refused(t, k, "signature_encoding", "padded");
	free(t);
	snprintf(text, sizeof(text), "%s=", s);
	t = with_sig_text(tok, text);
	refused(t, k, "signature_encoding", "padded once");
	free(t);
	snprintf(text, sizeof(text), "%s", s);
	for (i = 0; text[i] != '\0'; i++)
		if (text[i] == '-')
			text[i] = '+';
		else if (text[i] == '_')
			text[i] = '/';
	if (strcmp(text, s) != 0) {
		t = with_sig_text(tok, text);
		refused(t, k, "signature_encoding", "base64");
		free(t);
	}
	/*
	 * 256 bytes are 342 characters and 4 spare bits, all zero: the
	 * last is one of A, Q, g, w; the next letter sets a spare bit.
	 */
	snprintf(text, sizeof(text), "%s", s);
	assert_int_equal(strlen(text), 342);
	assert_non_null(strchr("AQgw", text[341]));
	text[341]++;
	t = with_sig_text(tok, text);
	refused(t, k, "signature_encoding", "trailing bits");
	free(t);
	free(s);
	/* Signed by another key; or made for a key of another size. */
	free(tok);
	p = payload(0, NIL);
	tok = sign_rs256(HEADER, p, other);
	refused_by_both(tok, k, "bad_signature", "other key");
	free(tok);
	assert_non_null(k3072 = EVP_RSA_gen(3072));
	tok = sign_rs256(HEADER, p, k3072);
	refused_by_both(tok, k, "signature_encoding", "3072-bit signature");
	/* A key of that size verifies it (and only the right modulus). */
	assert_non_null(bio = BIO_new(BIO_s_mem()));
	assert_int_equal(PEM_write_bio_PUBKEY(bio, k3072), 1);
	n = BIO_get_mem_data(bio, &pem);
	assert_int_equal(jwks_key_from_pem(KID, pem, (size_t)n, &big,
	    &reason), 0);
	BIO_free(bio);
	assert_int_equal(check_both(tok, &big, &reason), 0);
	free(tok);
	tok = fit_base();
	refused_by_both(tok, &big, "signature_encoding", "2048 on 3072");
	jwks_key_free(&big);
	EVP_PKEY_free(k3072);
	/* Not a token of three segments; no key. */
	refused("a.b", k, "token_segments", "two segments");
	refused("a.b.c.d", k, "token_segments", "four segments");
	refused(tok, NULL, "no_key", "no key");
	memset(&big, 0, sizeof(big));
	refused(tok, &big, "no_key", "empty key");
	free(tok);
	free(p);
}

static void
test_connect_token_refused(void **state)
{
	char		*p = payload(0, "qsh", "\"abc\"", NIL), *tok;
	struct token_claims c;
	const char	*reason;

	(void)state;
	/* A Connect-shaped RS256 token (qsh, no kid) is no FIT. */
	tok = sign_rs256("{\"alg\":\"RS256\",\"typ\":\"JWT\"}", p, key);
	assert_int_equal(fit_parse(tok, &c, &reason), -1);
	assert_string_equal(reason, "kid_missing");
	free(tok);
	/* And a FIT is no Connect token: it has no qsh. */
	free(p);
	p = payload(0, NIL);
	tok = sign_rs256(HEADER, p, key);
	assert_int_equal(token_parse(tok, TOKEN_RS256, &c, &reason), -1);
	assert_string_equal(reason, "qsh_missing");
	free(tok);
	free(p);
}

static void
test_ari(void **state)
{
	(void)state;
	assert_true(fit_installation_ok(INST));
	assert_true(fit_app_id_ok(APP_ID));
	assert_false(fit_installation_ok(APP_ID));
	assert_false(fit_app_id_ok(INST));
	assert_false(fit_app_id_ok(NULL));
	assert_false(fit_app_id_ok(""));
	assert_false(fit_app_id_ok("ari:cloud:ecosystem::app/"));
	assert_false(fit_app_id_ok(APP_ID "0"));
	assert_false(fit_app_id_ok("ari:cloud:ecosystem::app/8db3f0b2-2b5b-"
	    "4d8a-9c8f-0f1a2b3c4d5"));
	assert_false(fit_app_id_ok("ari:cloud:ecosystem::app/8db3f0b2-2b5b-"
	    "4d8a-9c8f_0f1a2b3c4d5e"));
	assert_false(fit_app_id_ok("ari:cloud:ecosystem::app/8DB3F0B2-2B5B-"
	    "4D8A-9C8F-0F1A2B3C4D5E"));
	assert_false(fit_app_id_ok("ari:cloud:ecosystem::app/8db3f0b2-2b5b-"
	    "4d8a-9c8f-0f1a2b3c4d5g"));
	assert_false(fit_app_id_ok("ARI:cloud:ecosystem::app/8db3f0b2-2b5b-"
	    "4d8a-9c8f-0f1a2b3c4d5e"));
	assert_false(fit_installation_ok(" " INST));
}

static void
test_read_app_id(void **state)
{
	char		*tok = fit_base();
	struct token_claims c;
	struct fit	 f;
	const char	*reason;

	(void)state;
	assert_int_equal(fit_parse(tok, &c, &reason), 0);
	assert_int_equal(fit_read(&c, APP_ID, &f, &reason), 0);
	/* No app id configured matches nothing. */
	assert_int_equal(fit_read(&c, "", &f, &reason), -1);
	assert_string_equal(reason, "fit_aud");
	assert_null(f.installation_id);
	assert_int_equal(fit_read(&c, NULL, &f, &reason), -1);
	assert_int_equal(fit_read(&c, APP_ID " ", &f, &reason), -1);
	assert_int_equal(fit_read(&c, "ari:cloud:ecosystem::app/8db3f0b2",
	    &f, &reason), -1);
	token_claims_free(&c);
	free(tok);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_fit),
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_required_claims),
		cmocka_unit_test(test_read_refusals),
		cmocka_unit_test(test_read_optional),
		cmocka_unit_test(test_extension_ids),
		cmocka_unit_test(test_size),
		cmocka_unit_test(test_check_sig),
		cmocka_unit_test(test_connect_token_refused),
		cmocka_unit_test(test_ari),
		cmocka_unit_test(test_read_app_id),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests_name("fit", tests, setup, teardown);
}
