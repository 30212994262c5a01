/*
 * Forge Invocation Tokens: token.c's parser under Forge's rules, and
 * the claims cellar uses; see fit.h.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <sodium.h>

#include "cellar/fit.h"
#include "cellar/json.h"
#include "cellar/jwks.h"
#include "cellar/util.h"

_Static_assert(FIT_MAX_LEN <= TOKEN_LONGEST,
    "token_check_sig must take the longest FIT");

#define FIT_APP_PREFIX		"ari:cloud:ecosystem::app/"
#define FIT_INSTALL_PREFIX	"ari:cloud:ecosystem::installation/"
/* Longest URL read (apiBaseUrl, siteUrl), bytes. */
#define FIT_URL_MAX		2048
/* Longest signature: an 8192-bit modulus (jwks.h's largest), bytes. */
#define FIT_SIG_MAX		1024

/* Forge's rules: RS256, a kid, nbf, jti and one aud; no qsh. */
static const struct token_profile fit_profile = {
	FIT_MAX_LEN, TOKEN_RS256,
	TOKEN_NEED_KID | TOKEN_NEED_NBF | TOKEN_NEED_JTI | TOKEN_NEED_AUD_STR
};

int
fit_parse(const char *token, struct token_claims *c, const char **reason)
{
	if (token_parse_profile(token, &fit_profile, c, reason) == -1)
		return -1;
	/* The kid names a key (and maybe a file): its alphabet first. */
	if (!jwks_kid_ok(c->kid)) {
		*reason = "kid_invalid";
		token_claims_free(c);
		return -1;
	}
	return 0;
}

/*
 * SHA-256 as OpenSSL's default provider implements it, fetched on first
 * use and kept for the life of the process: a fetch looks the method
 * up under OpenSSL's locks.  NULL until then, or when the fetch failed
 * (tried again next time).
 */
static EVP_MD	*fit_sha256;

int
fit_check_sig(const char *token, const struct jwks_key *key,
    const char **reason)
{
	EVP_MD_CTX	*md = NULL;
	unsigned char	 sig[FIT_SIG_MAX];
	const char	*dot1, *dot2;
	size_t		 len, siglen = 0;
	int		 keylen, rc = -1;

	if (key == NULL || key->pkey == NULL) {
		*reason = "no_key";
		return -1;
	}
	if ((len = strnlen(token, FIT_MAX_LEN + 1)) > FIT_MAX_LEN) {
		*reason = "token_too_long";
		return -1;
	}
	/* fit_parse checked the shape; what is signed is checked here. */
	if ((dot1 = strchr(token, '.')) == NULL ||
	    (dot2 = strchr(dot1 + 1, '.')) == NULL ||
	    strchr(dot2 + 1, '.') != NULL) {
		*reason = "token_segments";
		return -1;
	}
	/*
	 * Exactly the modulus size: libsodium refuses padding, other bytes
	 * and non-zero trailing bits, so the text is its one spelling.
	 */
	keylen = EVP_PKEY_get_size(key->pkey);
	if (keylen <= 0 || (size_t)keylen > sizeof(sig) ||
	    sodium_base642bin(sig, sizeof(sig), dot2 + 1,
	    len - (size_t)(dot2 + 1 - token), NULL, &siglen, NULL,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    siglen != (size_t)keylen) {
		*reason = "signature_encoding";
		return -1;
	}
	if ((fit_sha256 == NULL &&
	    (fit_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL) ||
	    (md = EVP_MD_CTX_new()) == NULL) {
		*reason = "no_memory";
		goto out;
	}
	/* RSASSA-PKCS1-v1_5 is the RSA default: nothing else to set. */
	if (EVP_DigestVerifyInit(md, NULL, fit_sha256, NULL,
	    key->pkey) != 1 ||
	    EVP_DigestVerify(md, sig, siglen, (const unsigned char *)token,
	    (size_t)(dot2 - token)) != 1) {
		*reason = "bad_signature";
		goto out;
	}
	rc = 0;
out:
	/* Nothing of a refusal stays in OpenSSL's error queue. */
	if (rc == -1)
		ERR_clear_error();
	EVP_MD_CTX_free(md);
	return rc;
}

/* 1 if s is exactly a lowercase UUID (8-4-4-4-12 hex digits). */
static int
uuid_ok(const char *s)
{
	size_t	i;

	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	}
	return s[36] == '\0';
}

/* 1 if s is prefix and a lowercase UUID. */
static int
ari_ok(const char *s, const char *prefix)
{
	size_t	n = strlen(prefix);

	return s != NULL && strncmp(s, prefix, n) == 0 && uuid_ok(s + n);
}

int
fit_installation_ok(const char *s)
{
	return ari_ok(s, FIT_INSTALL_PREFIX);
}

int
fit_app_id_ok(const char *s)
{
	return ari_ok(s, FIT_APP_PREFIX);
}

/* 1 if s is 1-max bytes, each a letter, a digit or one of extra. */
static int
charset_ok(const char *s, size_t max, const char *extra)
{
	size_t	n = strnlen(s, max + 1);

	if (n == 0 || n > max)
		return 0;
	for (; *s != '\0'; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		    (*s >= '0' && *s <= '9')) && strchr(extra, *s) == NULL)
			return 0;
	return 1;
}

/*
 * Member key of obj (an object, or NULL: absent) into *out: NULL when
 * absent or JSON null, else a string of 1-max bytes.  0, or -1 on
 * another type or length.
 */
static int
opt_str(const cJSON *obj, const char *key, size_t max, const char **out)
{
	const cJSON	*v;

	*out = NULL;
	if (obj == NULL ||
	    (v = cJSON_GetObjectItemCaseSensitive(obj, key)) == NULL ||
	    cJSON_IsNull(v))
		return 0;
	return json_get_str(obj, key, 1, max, out) == JSON_OK ? 0 : -1;
}

/*
 * Member key of obj (may be NULL) into *out: NULL when absent or JSON
 * null, else an object.  0, or -1 on another type.
 */
static int
opt_obj(const cJSON *obj, const char *key, const cJSON **out)
{
	const cJSON	*v;

	*out = NULL;
	if (obj == NULL ||
	    (v = cJSON_GetObjectItemCaseSensitive(obj, key)) == NULL ||
	    cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsObject(v))
		return -1;
	*out = v;
	return 0;
}

/*
 * An https URL (http only to loopback) of at most FIT_URL_MAX bytes,
 * checked on a copy: 0 if util_url_check takes it unchanged, else -1
 * (a trailing slash is refused rather than stripped, so what the
 * caller gets is exactly what was checked).
 */
static int
url_ok(const char *s)
{
	char	copy[FIT_URL_MAX + 1];
	size_t	n = strnlen(s, FIT_URL_MAX + 1);

	if (n == 0 || n > FIT_URL_MAX)
		return -1;
	memcpy(copy, s, n + 1);
	if (util_url_check(copy) != NULL || strcmp(copy, s) != 0)
		return -1;
	return 0;
}

/*
 * The id member of obj.key (obj may be NULL; the member, absent or null,
 * leaves out "") as canonical decimal text into out: a string of 1-19
 * digits without a leading zero (but "0"), or a non-negative integer.
 * 0, or -1 on anything else.
 */
static int
ext_id(const cJSON *obj, const char *key, char out[20])
{
	const cJSON	*o, *v;
	long long	 n;
	size_t		 len;

	out[0] = '\0';
	if (opt_obj(obj, key, &o) == -1)
		return -1;
	if (o == NULL ||
	    (v = cJSON_GetObjectItemCaseSensitive(o, "id")) == NULL ||
	    cJSON_IsNull(v))
		return 0;
	if (cJSON_IsNumber(v)) {
		if (json_get_int(o, "id", 0, JSON_INT_MAX, &n) != JSON_OK)
			return -1;
		snprintf(out, 20, "%lld", n);
		return 0;
	}
	if (!cJSON_IsString(v) || v->valuestring == NULL)
		return -1;
	len = strnlen(v->valuestring, 20);
	if (len == 0 || len > 19 || strspn(v->valuestring, "0123456789") !=
	    len || (len > 1 && v->valuestring[0] == '0'))
		return -1;
	memcpy(out, v->valuestring, len + 1);
	return 0;
}

/*
 * app.installation.contexts[0].cloudId, if every step is present: 0
 * with *out (NULL when a step is absent), -1 on a step of the wrong
 * type.
 */
static int
installation_cloud_id(const cJSON *app, const char **out)
{
	const cJSON	*inst, *ctxs, *first;

	*out = NULL;
	if (opt_obj(app, "installation", &inst) == -1)
		return -1;
	if (inst == NULL ||
	    (ctxs = cJSON_GetObjectItemCaseSensitive(inst, "contexts")) ==
	    NULL || cJSON_IsNull(ctxs))
		return 0;
	if (!cJSON_IsArray(ctxs))
		return -1;
	if ((first = cJSON_GetArrayItem(ctxs, 0)) == NULL)
		return 0;
	if (!cJSON_IsObject(first))
		return -1;
	return opt_str(first, "cloudId", 64, out);
}

int
fit_read(const struct token_claims *c, const char *app_id, struct fit *out,
    const char **reason)
{
	const cJSON	*app, *module, *ext;
	const char	*cloud_id;
	int		 rc = -1;

	memset(out, 0, sizeof(*out));
	if (c->iss == NULL || strcmp(c->iss, FIT_ISSUER) != 0) {
		*reason = "fit_iss";
		goto out;
	}
	/* Ours alone: never the token's own app.id. */
	if (app_id == NULL || app_id[0] == '\0' || !cJSON_IsString(c->aud) ||
	    c->aud->valuestring == NULL ||
	    strcmp(c->aud->valuestring, app_id) != 0) {
		*reason = "fit_aud";
		goto out;
	}
	if (opt_obj(c->payload, "app", &app) == -1 || app == NULL ||
	    json_get_str(app, "installationId", 1, FIT_INSTALLATION_MAX,
	    &out->installation_id) != JSON_OK ||
	    !fit_installation_ok(out->installation_id)) {
		*reason = "fit_installation";
		goto out;
	}
	if (json_get_str(app, "apiBaseUrl", 1, FIT_URL_MAX,
	    &out->api_base_url) != JSON_OK || url_ok(out->api_base_url) == -1) {
		*reason = "fit_api_base_url";
		goto out;
	}
	if (opt_str(c->payload, "principal", 128, &out->principal) == -1 ||
	    (out->principal != NULL &&
	    !charset_ok(out->principal, 128, ":-"))) {
		*reason = "fit_principal";
		goto out;
	}
	if (opt_str(c->context, "cloudId", 64, &out->cloud_id) == -1) {
		*reason = "fit_cloud_id";
		goto out;
	}
	if (out->cloud_id == NULL) {
		if (installation_cloud_id(app, &cloud_id) == -1) {
			*reason = "fit_context";
			goto out;
		}
		out->cloud_id = cloud_id;
	}
	if (out->cloud_id != NULL && !charset_ok(out->cloud_id, 64, "-")) {
		*reason = "fit_cloud_id";
		goto out;
	}
	if (opt_str(app, "appVersion", 64, &out->app_version) == -1 ||
	    opt_obj(app, "module", &module) == -1 ||
	    opt_str(module, "key", 255, &out->module_key) == -1 ||
	    opt_str(c->context, "siteUrl", FIT_URL_MAX, &out->site_url) ==
	    -1 || (out->site_url != NULL && url_ok(out->site_url) == -1) ||
	    opt_obj(c->context, "extension", &ext) == -1 ||
	    ext_id(ext, "project", out->project_id) == -1 ||
	    ext_id(ext, "issue", out->issue_id) == -1) {
		*reason = "fit_context";
		goto out;
	}
	out->jti = c->jti;
	rc = 0;
out:
	if (rc == -1)
		memset(out, 0, sizeof(*out));
	return rc;
}
