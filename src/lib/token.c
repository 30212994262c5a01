/*
 * JWT checks; see token.h for why each one is here.
 */
#include <stdlib.h>
#include <string.h>

#include <jwt.h>
#include <sodium.h>

#include "cellar/json.h"
#include "cellar/token.h"

/* The largest exp, iat or nbf accepted: 2^40 seconds, year 36812. */
#define TOKEN_TIME_MAX	(1LL << 40)

static const char *const pin_alg[TOKEN_ALG__MAX] = {
	[TOKEN_HS256] = "HS256",
	[TOKEN_RS256] = "RS256",
};

/* Decodes one base64url segment (no padding) and parses it as JSON. */
static int
segment_json(const char *s, size_t len, cJSON **out)
{
	unsigned char	*bin;
	size_t		 binlen;
	int		 rc = -1;

	*out = NULL;
	if ((bin = malloc(len)) == NULL)
		return -1;
	if (sodium_base642bin(bin, len, s, len, NULL, &binlen, NULL,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING) == 0 &&
	    json_parse((const char *)bin, binlen, out) == JSON_OK)
		rc = 0;
	free(bin);
	return rc;
}

void
token_claims_free(struct token_claims *c)
{
	if (c == NULL)
		return;
	cJSON_Delete(c->header);
	cJSON_Delete(c->payload);
	memset(c, 0, sizeof(*c));
}

/* Connect's JWTs: the query string hash, exp and iat; nbf if present. */
static const struct token_profile connect_profile[TOKEN_ALG__MAX] = {
	[TOKEN_HS256] = { TOKEN_MAX_LEN, TOKEN_HS256, TOKEN_NEED_QSH },
	[TOKEN_RS256] = { TOKEN_MAX_LEN, TOKEN_RS256, TOKEN_NEED_QSH },
};

int
token_parse(const char *token, enum token_alg pin, struct token_claims *c,
    const char **reason)
{
	return token_parse_profile(token, &connect_profile[pin], c, reason);
}

int
token_parse_profile(const char *token, const struct token_profile *pr,
    struct token_claims *c, const char **reason)
{
	const char	*p, *dot1 = NULL, *dot2 = NULL, *typ, *alg;
	size_t		 len, dots = 0;
	enum json_status st;

	memset(c, 0, sizeof(*c));
	if (pr->max_len > TOKEN_LONGEST || pr->alg >= TOKEN_ALG__MAX) {
		*reason = "token_profile";
		return -1;
	}
	if ((len = strnlen(token, pr->max_len + 1)) > pr->max_len) {
		*reason = "token_too_long";
		return -1;
	}
	for (p = token; *p != '\0'; p++) {
		if (*p == '.') {
			if (++dots == 1)
				dot1 = p;
			else
				dot2 = p;
		} else if (!((*p >= 'A' && *p <= 'Z') ||
		    (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '_')) {
			*reason = "token_charset";
			return -1;
		}
	}
	if (dots != 2 || dot1 == token || dot2 == dot1 + 1 ||
	    dot2[1] == '\0') {
		*reason = "token_segments";
		return -1;
	}
	if (segment_json(token, (size_t)(dot1 - token), &c->header) == -1 ||
	    segment_json(dot1 + 1, (size_t)(dot2 - dot1 - 1), &c->payload) ==
	    -1) {
		*reason = "token_encoding";
		goto fail;
	}
	if (!cJSON_IsObject(c->header) || !cJSON_IsObject(c->payload)) {
		*reason = "token_not_object";
		goto fail;
	}
	/* The algorithm is the caller's, never the token's. */
	if (json_get_str(c->header, "alg", 1, 16, &alg) != JSON_OK ||
	    strcmp(alg, pin_alg[pr->alg]) != 0) {
		*reason = "alg_mismatch";
		goto fail;
	}
	st = json_get_str(c->header, "typ", 1, 16, &typ);
	if (st != JSON_MISSING && (st != JSON_OK || strcmp(typ, "JWT") != 0)) {
		*reason = "typ_mismatch";
		goto fail;
	}
	st = json_get_str(c->header, "kid", 1, 256, &c->kid);
	if (st == JSON_MISSING && (pr->need & TOKEN_NEED_KID)) {
		*reason = "kid_missing";
		goto fail;
	}
	if (st != JSON_OK && st != JSON_MISSING) {
		*reason = "kid_type";
		goto fail;
	}
	if (json_get_str(c->payload, "iss", 1, 255, &c->iss) != JSON_OK) {
		*reason = "iss_missing";
		goto fail;
	}
	if ((pr->need & TOKEN_NEED_QSH) &&
	    json_get_str(c->payload, "qsh", 1, 128, &c->qsh) != JSON_OK) {
		*reason = "qsh_missing";
		goto fail;
	}
	if (json_get_int(c->payload, "exp", 0, TOKEN_TIME_MAX, &c->exp) !=
	    JSON_OK) {
		*reason = "exp_missing_or_invalid";
		goto fail;
	}
	if (json_get_int(c->payload, "iat", 0, TOKEN_TIME_MAX, &c->iat) !=
	    JSON_OK) {
		*reason = "iat_missing_or_invalid";
		goto fail;
	}
	st = json_get_int(c->payload, "nbf", 0, TOKEN_TIME_MAX, &c->nbf);
	if (st == JSON_MISSING && (pr->need & TOKEN_NEED_NBF)) {
		*reason = "nbf_missing_or_invalid";
		goto fail;
	}
	if (st != JSON_OK && st != JSON_MISSING) {
		*reason = (pr->need & TOKEN_NEED_NBF) ?
		    "nbf_missing_or_invalid" : "nbf_invalid";
		goto fail;
	}
	st = json_get_str(c->payload, "sub", 1, 255, &c->sub);
	if (st != JSON_OK && st != JSON_MISSING) {
		*reason = "sub_invalid";
		goto fail;
	}
	if ((pr->need & TOKEN_NEED_JTI) &&
	    json_get_str(c->payload, "jti", 1, 255, &c->jti) != JSON_OK) {
		*reason = "jti_missing_or_invalid";
		goto fail;
	}
	c->aud = cJSON_GetObjectItemCaseSensitive(c->payload, "aud");
	if ((pr->need & TOKEN_NEED_AUD_STR) &&
	    (!cJSON_IsString(c->aud) || c->aud->valuestring == NULL ||
	    c->aud->valuestring[0] == '\0')) {
		*reason = "aud_missing_or_invalid";
		goto fail;
	}
	c->context = cJSON_GetObjectItemCaseSensitive(c->payload, "context");
	if (c->context != NULL && !cJSON_IsObject(c->context)) {
		*reason = "context_invalid";
		goto fail;
	}
	return 0;
fail:
	token_claims_free(c);
	return -1;
}

int
token_check_time(const struct token_claims *c, long long now, long long leeway,
    long long max_life, const char **reason)
{
	if (now > c->exp + leeway) {
		*reason = "expired";
		return -1;
	}
	if (c->iat > now + leeway) {
		*reason = "iat_in_future";
		return -1;
	}
	if (c->exp < c->iat) {
		*reason = "exp_before_iat";
		return -1;
	}
	if (c->exp - c->iat > max_life) {
		*reason = "lifetime_too_long";
		return -1;
	}
	if (c->nbf != 0 && c->nbf > now + leeway) {
		*reason = "not_yet_valid";
		return -1;
	}
	return 0;
}

int
token_check_sig(const char *token, enum token_alg pin, const unsigned char *key,
    size_t keylen, const char **reason)
{
	jwt_t		*jwt = NULL;
	jwt_alg_t	 want = pin == TOKEN_HS256 ? JWT_ALG_HS256 :
			    JWT_ALG_RS256;
	int		 rc = -1;

	/* libjwt verifies nothing without a key (token.h). */
	if (key == NULL || keylen == 0 || keylen > 65536) {
		*reason = "no_key";
		return -1;
	}
	if (strnlen(token, TOKEN_LONGEST + 1) > TOKEN_LONGEST) {
		*reason = "token_too_long";
		return -1;
	}
	if (jwt_decode(&jwt, token, key, (int)keylen) != 0 || jwt == NULL) {
		*reason = "bad_signature";
		goto out;
	}
	if (jwt_get_alg(jwt) != want) {
		*reason = "alg_mismatch";
		goto out;
	}
	rc = 0;
out:
	jwt_free(jwt);
	return rc;
}

char *
token_sign_hs256(const cJSON *claims, const unsigned char *key, size_t keylen)
{
	jwt_t	*jwt = NULL;
	char	*json = NULL, *tok = NULL;

	if (key == NULL || keylen == 0)
		return NULL;
	if ((json = cJSON_PrintUnformatted(claims)) == NULL ||
	    jwt_new(&jwt) != 0 || jwt_add_grants_json(jwt, json) != 0 ||
	    jwt_set_alg(jwt, JWT_ALG_HS256, key, (int)keylen) != 0)
		goto out;
	tok = jwt_encode_str(jwt);
out:
	free(json);
	jwt_free(jwt);
	return tok;
}
