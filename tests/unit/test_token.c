/*
 * JWT checks: the official Atlassian vectors verify (signature, qsh and
 * time, with the clock set to their iat), and every malformed or hostile
 * token token.h names (libjwt's pitfalls) is refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "cellar/qsh.h"
#include "cellar/token.h"
#include "fixture.h"

#define SECRET	"7512836e-9137-48ac-baaf-a1935b96e17a"
#define IAT	1466731075LL

static const unsigned char *secret = (const unsigned char *)SECRET;

/* base64url without padding of s. */
static char *
b64(const char *s)
{
	size_t	 n = strlen(s);
	size_t	 cap = sodium_base64_encoded_len(n,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	char	*out = malloc(cap);

	assert_non_null(out);
	sodium_bin2base64(out, cap, (const unsigned char *)s, n,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return out;
}

/* header.payload.HMAC-SHA256(secret) built by hand, not by libjwt. */
static char *
make_token(const char *header, const char *payload, const char *key)
{
	unsigned char	 mac[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_state st;
	char		*h = b64(header), *p = b64(payload), *tok, sig[64];
	size_t		 n;

	n = strlen(h) + strlen(p) + 2 + sizeof(sig);
	tok = malloc(n);
	assert_non_null(tok);
	snprintf(tok, n, "%s.%s", h, p);
	crypto_auth_hmacsha256_init(&st, (const unsigned char *)key,
	    strlen(key));
	crypto_auth_hmacsha256_update(&st, (unsigned char *)tok, strlen(tok));
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_bin2base64(sig, sizeof(sig), mac, sizeof(mac),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	strcat(tok, ".");
	strcat(tok, sig);
	free(h);
	free(p);
	return tok;
}

static const char *HS = "{\"typ\":\"JWT\",\"alg\":\"HS256\"}";
static const char *GOOD = "{\"iss\":\"jira:1\",\"qsh\":\"abc\",\"exp\":2000,"
    "\"iat\":1000}";

/* Fully checks token as the auth module would, at time now. */
static int
check(const char *token, long long now, const unsigned char *key,
    size_t keylen, const char **reason)
{
	struct token_claims c;
	int		 rc;

	*reason = "ok";
	if (token_parse(token, TOKEN_HS256, &c, reason) == -1)
		return -1;
	rc = token_check_time(&c, now, 30, 3600, reason);
	if (rc == 0)
		rc = token_check_sig(token, TOKEN_HS256, key, keylen, reason);
	token_claims_free(&c);
	return rc;
}

static void
vector_check(const struct fx_vector *v, void *arg)
{
	char		*url, *tok, qsh[65];
	const char	*reason;
	struct token_claims c;

	(void)arg;
	assert_non_null(url = strdup(v->url));
	assert_non_null(tok = strstr(url, "jwt="));
	tok += 4;
	tok[strcspn(tok, "&")] = '\0';
	if (check(tok, IAT + 10, secret, strlen(SECRET), &reason) != 0)
		fail_msg("%s: %s", v->name, reason);
	assert_int_equal(token_parse(tok, TOKEN_HS256, &c, &reason), 0);
	assert_int_equal(qsh_compute(v->method, v->path, v->query, qsh), 0);
	assert_string_equal(c.qsh, qsh);
	assert_string_equal(c.iss, "jira:1234-5678-9000");
	token_claims_free(&c);
	/* The same token is expired three minutes later. */
	assert_int_equal(check(tok, IAT + 180 + 31, secret, strlen(SECRET),
	    &reason), -1);
	assert_string_equal(reason, "expired");
	/* And fails under another secret. */
	assert_int_equal(check(tok, IAT + 10,
	    (const unsigned char *)"another-secret-another-secret-xx", 32,
	    &reason), -1);
	free(url);
}

static void
test_official_vectors(void **state)
{
	(void)state;
	/* The file holds 39 unique official cases: none may be skipped. */
	assert_int_equal(fx_qsh_vectors(vector_check, NULL), 39);
}

static void
expect_refused(const char *header, const char *payload, long long now,
    const char *why)
{
	char		*tok = make_token(header, payload, SECRET);
	const char	*reason;

	assert_int_equal(check(tok, now, secret, strlen(SECRET), &reason), -1);
	if (why != NULL && strcmp(reason, why) != 0)
		fail_msg("%s: reason %s, want %s", payload, reason, why);
	free(tok);
}

static void
test_good_token(void **state)
{
	char		*tok = make_token(HS, GOOD, SECRET);
	const char	*reason;

	(void)state;
	assert_int_equal(check(tok, 1500, secret, strlen(SECRET), &reason), 0);
	free(tok);
}

static void
test_alg_pinned(void **state)
{
	(void)state;
	expect_refused("{\"alg\":\"none\"}", GOOD, 1500, "alg_mismatch");
	expect_refused("{\"alg\":\"None\"}", GOOD, 1500, "alg_mismatch");
	expect_refused("{\"alg\":\"NONE\"}", GOOD, 1500, "alg_mismatch");
	expect_refused("{\"alg\":\"HS512\"}", GOOD, 1500, "alg_mismatch");
	expect_refused("{\"alg\":\"RS256\"}", GOOD, 1500, "alg_mismatch");
	expect_refused("{\"alg\":\"hs256\"}", GOOD, 1500, "alg_mismatch");
	expect_refused("{\"typ\":\"JWT\"}", GOOD, 1500, "alg_mismatch");
	expect_refused("{\"alg\":\"HS256\",\"alg\":\"none\"}", GOOD, 1500,
	    "token_encoding");
}

static void
test_alg_none_unsigned(void **state)
{
	/* "header.payload." with an empty signature never parses. */
	char		*h = b64("{\"alg\":\"none\"}"), *p = b64(GOOD);
	char		 tok[512];
	const char	*reason;
	struct token_claims c;

	(void)state;
	snprintf(tok, sizeof(tok), "%s.%s.", h, p);
	assert_int_equal(token_parse(tok, TOKEN_HS256, &c, &reason), -1);
	assert_string_equal(reason, "token_segments");
	free(h);
	free(p);
}

static void
test_rs256_pinned_for_lifecycle(void **state)
{
	/* An HS256 token "signed" with a public key PEM as secret. */
	static const char pem[] = "-----BEGIN PUBLIC KEY-----\nMIIBIjAN\n"
	    "-----END PUBLIC KEY-----\n";
	char		*tok = make_token(HS, GOOD, pem);
	const char	*reason;
	struct token_claims c;

	(void)state;
	assert_int_equal(token_parse(tok, TOKEN_RS256, &c, &reason), -1);
	assert_string_equal(reason, "alg_mismatch");
	/* Even past the header check, libjwt must not accept it. */
	assert_int_equal(token_check_sig(tok, TOKEN_RS256,
	    (const unsigned char *)pem, sizeof(pem) - 1, &reason), -1);
	free(tok);
}

static void
test_empty_key(void **state)
{
	char		*tok = make_token(HS, GOOD, SECRET);
	const char	*reason;

	(void)state;
	assert_int_equal(token_check_sig(tok, TOKEN_HS256,
	    (const unsigned char *)"", 0, &reason), -1);
	assert_string_equal(reason, "no_key");
	assert_int_equal(token_check_sig(tok, TOKEN_HS256, NULL, 0, &reason),
	    -1);
	free(tok);
}

static void
test_time_claims(void **state)
{
	(void)state;
	/* exp 2000: accepted up to 2030 with 30 s leeway. */
	expect_refused(HS, GOOD, 2031, "expired");
	expect_refused(HS, "{\"iss\":\"a\",\"qsh\":\"q\",\"exp\":4000,"
	    "\"iat\":1600}", 1500, "iat_in_future");
	expect_refused(HS, "{\"iss\":\"a\",\"qsh\":\"q\",\"exp\":4000,"
	    "\"iat\":1000,\"nbf\":1600}", 1500, "not_yet_valid");
	/* A token good for more than max_life (3600 s here). */
	expect_refused(HS, "{\"iss\":\"a\",\"qsh\":\"q\",\"exp\":5000,"
	    "\"iat\":1000}", 1500, "lifetime_too_long");
	expect_refused(HS, "{\"iss\":\"a\",\"qsh\":\"q\",\"exp\":\"2000\","
	    "\"iat\":1000}", 1500, "exp_missing_or_invalid");
	expect_refused(HS, "{\"iss\":\"a\",\"qsh\":\"q\",\"exp\":2000.5,"
	    "\"iat\":1000}", 1500, "exp_missing_or_invalid");
	expect_refused(HS, "{\"iss\":\"a\",\"qsh\":\"q\",\"iat\":1000}",
	    1500, "exp_missing_or_invalid");
	expect_refused(HS, "{\"iss\":\"a\",\"qsh\":\"q\",\"exp\":2000}",
	    1500, "iat_missing_or_invalid");
	expect_refused(HS, "{\"iss\":\"a\",\"qsh\":\"q\",\"exp\":2000,"
	    "\"iat\":true}", 1500, "iat_missing_or_invalid");
	expect_refused(HS, "{\"iss\":\"a\",\"qsh\":\"q\",\"exp\":2000,"
	    "\"iat\":1000,\"nbf\":\"x\"}", 1500, "nbf_invalid");
}

static void
test_claims_shape(void **state)
{
	(void)state;
	expect_refused(HS, "{\"qsh\":\"q\",\"exp\":2000,\"iat\":1000}", 1500,
	    "iss_missing");
	expect_refused(HS, "{\"iss\":7,\"qsh\":\"q\",\"exp\":2000,"
	    "\"iat\":1000}", 1500, "iss_missing");
	expect_refused(HS, "{\"iss\":\"a\",\"exp\":2000,\"iat\":1000}", 1500,
	    "qsh_missing");
	/* Duplicate claims: libjwt's parser keeps the last, cJSON the first. */
	expect_refused(HS, "{\"iss\":\"a\",\"iss\":\"b\",\"qsh\":\"q\","
	    "\"exp\":2000,\"iat\":1000}", 1500, "token_encoding");
	expect_refused(HS, "[1,2,3]", 1500, "token_not_object");
	expect_refused(HS, "\"str\"", 1500, "token_not_object");
	expect_refused(HS, "{\"iss\":\"a\",\"qsh\":\"q\",\"exp\":2000,"
	    "\"iat\":1000,\"context\":[]}", 1500, "context_invalid");
}

static void
test_token_shape(void **state)
{
	const char	*reason;
	struct token_claims c;
	char		*big, *tok = make_token(HS, GOOD, SECRET), *bad;
	size_t		 i;

	(void)state;
	assert_int_equal(token_parse("abc", TOKEN_HS256, &c, &reason), -1);
	assert_string_equal(reason, "token_segments");
	assert_int_equal(token_parse("abc.def", TOKEN_HS256, &c, &reason), -1);
	assert_string_equal(reason, "token_segments");
	assert_int_equal(token_parse("a.b.c.d", TOKEN_HS256, &c, &reason), -1);
	assert_string_equal(reason, "token_segments");
	assert_int_equal(token_parse("a!.b.c", TOKEN_HS256, &c, &reason), -1);
	assert_string_equal(reason, "token_charset");
	assert_int_equal(token_parse("a=.b.c", TOKEN_HS256, &c, &reason), -1);
	assert_string_equal(reason, "token_charset");
	/* Bad base64: a single trailing character cannot be a byte. */
	assert_int_equal(token_parse("eyJhbGciOiJIUzI1NiJ9x.e.c", TOKEN_HS256,
	    &c, &reason), -1);
	assert_string_equal(reason, "token_encoding");
	/* Tampered payload: signature fails. */
	bad = strdup(tok);
	bad[strchr(bad, '.') - bad + 3] ^= 1;
	assert_int_not_equal(check(bad, 1500, secret, strlen(SECRET),
	    &reason), 0);
	free(bad);
	/* 9 MB never reaches libjwt (it would alloca it). */
	big = malloc(9 * 1024 * 1024 + 1);
	assert_non_null(big);
	memset(big, 'A', 9 * 1024 * 1024);
	big[9 * 1024 * 1024] = '\0';
	for (i = 1000; i < 9 * 1024 * 1024; i += 3 * 1024 * 1024)
		big[i] = '.';
	assert_int_equal(token_parse(big, TOKEN_HS256, &c, &reason), -1);
	assert_string_equal(reason, "token_too_long");
	assert_int_equal(token_check_sig(big, TOKEN_HS256, secret,
	    strlen(SECRET), &reason), -1);
	assert_string_equal(reason, "token_too_long");
	free(big);
	free(tok);
}

static void
test_sign_roundtrip(void **state)
{
	cJSON		*claims = cJSON_CreateObject();
	char		*tok;
	const char	*reason;

	(void)state;
	cJSON_AddStringToObject(claims, "iss", "cellar-dev");
	cJSON_AddStringToObject(claims, "qsh", "q");
	cJSON_AddNumberToObject(claims, "iat", 1000);
	cJSON_AddNumberToObject(claims, "exp", 1180);
	tok = token_sign_hs256(claims, secret, strlen(SECRET));
	assert_non_null(tok);
	assert_int_equal(check(tok, 1100, secret, strlen(SECRET), &reason), 0);
	assert_null(token_sign_hs256(claims, secret, 0));
	free(tok);
	cJSON_Delete(claims);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_official_vectors),
		cmocka_unit_test(test_good_token),
		cmocka_unit_test(test_alg_pinned),
		cmocka_unit_test(test_alg_none_unsigned),
		cmocka_unit_test(test_rs256_pinned_for_lifecycle),
		cmocka_unit_test(test_empty_key),
		cmocka_unit_test(test_time_claims),
		cmocka_unit_test(test_claims_shape),
		cmocka_unit_test(test_token_shape),
		cmocka_unit_test(test_sign_roundtrip),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests_name("jwt", tests, NULL, NULL);
}
