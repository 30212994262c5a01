/*
 * JWKS to keys: a real-shaped set (tests/data/jwks) gives exactly the
 * PEMs another implementation wrote, and parsed keys equal to what
 * those PEMs parse to (jwks_key_from_pem, an operator's file); keys
 * generated here come back as PEMs and parsed keys that verify RS256
 * tokens their private keys signed (libjwt) and only those, libjwt and
 * fit_check_sig agreeing; every malformed, ambiguous, oversized or
 * weak set or key is refused or skipped, and so is an operator's PEM
 * that is not such a key; Cache-Control gives a clamped max-age.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <sodium.h>

#include "cellar/fit.h"
#include "cellar/jwks.h"
#include "cellar/token.h"
#include "fixture.h"

#define KID_A	"forge/invocation-token/wf-0f4c3f1e-0d5e-4f53-9a55-111111111111"
#define KID_B	"forge/invocation-token/wf-0f4c3f1e-0d5e-4f53-9a55-222222222222"
#define KID_C	"forge/invocation-token/wf-0f4c3f1e-0d5e-4f53-9a55-333333333333"

/* An EC signing key as Atlassian might add one: skipped. */
#define EC_JWK	"{\"kty\":\"EC\",\"kid\":\"ec-1\",\"use\":\"sig\"," \
		"\"alg\":\"ES256\",\"crv\":\"P-256\"," \
		"\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\"," \
		"\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}"

/* Keys generated once for the whole run (RSA key generation is slow). */
struct keys {
	EVP_PKEY	*a, *b, *c, *weak;
	char		*n_a, *n_b, *n_c, *n_weak;	/* base64url */
};

static struct keys K;

/* base64url without padding of bin[0..len), malloc'd. */
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

/* The modulus of an RSA key, base64url. */
static char *
modulus(const EVP_PKEY *pk)
{
	BIGNUM		*n = NULL;
	unsigned char	*bin;
	char		*s;
	int		 len;

	assert_int_equal(EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_N, &n),
	    1);
	len = BN_num_bytes(n);
	assert_non_null(bin = malloc((size_t)len));
	assert_int_equal(BN_bn2bin(n, bin), len);
	s = b64u(bin, (size_t)len);
	free(bin);
	BN_free(n);
	return s;
}

/* A malloc'd PEM of pk: its public key, or its private key. */
static char *
pem_of(EVP_PKEY *pk, int private)
{
	BIO	*bio = BIO_new(BIO_s_mem());
	char	*data, *s;
	long	 len;

	assert_non_null(bio);
	if (private)
		assert_int_equal(PEM_write_bio_PrivateKey(bio, pk, NULL, NULL,
		    0, NULL, NULL), 1);
	else
		assert_int_equal(PEM_write_bio_PUBKEY(bio, pk), 1);
	len = BIO_get_mem_data(bio, &data);
	assert_true(len > 0);
	assert_non_null(s = malloc((size_t)len + 1));
	memcpy(s, data, (size_t)len);
	s[len] = '\0';
	BIO_free(bio);
	return s;
}

static int
keys_setup(void **state)
{
	(void)state;
	if ((K.a = EVP_RSA_gen(2048)) == NULL ||
	    (K.b = EVP_RSA_gen(2048)) == NULL ||
	    (K.c = EVP_RSA_gen(3072)) == NULL ||
	    (K.weak = EVP_RSA_gen(1024)) == NULL)
		return -1;
	K.n_a = modulus(K.a);
	K.n_b = modulus(K.b);
	K.n_c = modulus(K.c);
	K.n_weak = modulus(K.weak);
	return 0;
}

static int
keys_teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(K.a);
	EVP_PKEY_free(K.b);
	EVP_PKEY_free(K.c);
	EVP_PKEY_free(K.weak);
	free(K.n_a);
	free(K.n_b);
	free(K.n_c);
	free(K.n_weak);
	return 0;
}

/* {"kty":"RSA","kid":kid,extra"n":n,"e":e}, malloc'd; extra may be "". */
static char *
rsa_jwk(const char *kid, const char *n, const char *e, const char *extra)
{
	size_t	 cap = strlen(kid) + strlen(n) + strlen(e) + strlen(extra) + 64;
	char	*s = malloc(cap);

	assert_non_null(s);
	snprintf(s, cap, "{\"kty\":\"RSA\",\"kid\":\"%s\",%s\"n\":\"%s\","
	    "\"e\":\"%s\"}", kid, extra, n, e);
	return s;
}

/* {"keys":[a,b,...]} of n JWKs, malloc'd. */
static char *
set_of(size_t n, char *const *jwk)
{
	size_t	 cap = 32, i;
	char	*s;

	for (i = 0; i < n; i++)
		cap += strlen(jwk[i]) + 1;
	assert_non_null(s = malloc(cap));
	strcpy(s, "{\"keys\":[");
	for (i = 0; i < n; i++) {
		if (i > 0)
			strcat(s, ",");
		strcat(s, jwk[i]);
	}
	strcat(s, "]}");
	return s;
}

static char *
read_file(const char *path, size_t *len)
{
	FILE	*f;
	char	*s;
	long	 n;

	assert_non_null(f = fopen(path, "rb"));
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	assert_non_null(s = malloc((size_t)n + 1));
	assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
	s[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return s;
}

/* Parses text expecting a refusal with reason why; out must be empty. */
static void
expect_refused(const char *text, size_t len, const char *why)
{
	struct jwks	 set;
	const char	*reason = "none";

	if (jwks_parse(text, len, &set, &reason) != -1)
		fail_msg("accepted (%zu keys): %.200s", set.n, text);
	if (strcmp(reason, why) != 0)
		fail_msg("reason %s, want %s: %.200s", reason, why, text);
	assert_int_equal(set.n, 0);
	jwks_free(&set);
}

/* One RSA key alone in a set: refused as no usable key. */
static void
expect_skipped(const char *kid, const char *n, const char *e,
    const char *extra)
{
	char	*jwk = rsa_jwk(kid, n, e, extra), *text = set_of(1, &jwk);

	expect_refused(text, strlen(text), "jwks_no_keys");
	free(text);
	free(jwk);
}

static void
test_golden_set(void **state)
{
	static const char *const kids[] = {
		"forge/invocation-token/wf-d49b147a-c4be-4f73-9541-b4a31f991d71",
		"forge/invocation-token/wf-6a056326-b3dd-49a8-8f44-77ff2cbaae1d",
		"forge/invocation-token/wf-b3078724-87d4-45fd-95d1-acd90c895259",
	};
	static const int bits[] = { 2048, 3072, 4096 };
	struct jwks	 set;
	struct jwks_key	 op;
	const struct jwks_key *k;
	const char	*reason;
	char		*text, *pem, path[64];
	size_t		 len, pemlen, i;

	(void)state;
	text = read_file("tests/data/jwks/set.json", &len);
	assert_int_equal(jwks_parse(text, len, &set, &reason), 0);
	/* Three RSA signing keys; the EC and the encryption key skipped. */
	assert_int_equal(set.n, 3);
	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "tests/data/jwks/key%zu.pem",
		    i + 1);
		pem = read_file(path, &pemlen);
		assert_non_null(k = jwks_find(&set, kids[i]));
		assert_int_equal(k->pem_len, pemlen);
		assert_string_equal(k->pem, pem);
		assert_int_equal(strlen(k->pem), k->pem_len);
		/* Parsed: the key the PEM is, of the size it says. */
		assert_non_null(k->pkey);
		assert_int_equal(EVP_PKEY_get_bits(k->pkey), bits[i]);
		assert_int_equal(jwks_key_from_pem(kids[i], pem, pemlen, &op,
		    &reason), 0);
		assert_int_equal(EVP_PKEY_eq(op.pkey, k->pkey), 1);
		assert_string_equal(op.kid, kids[i]);
		assert_string_equal(op.pem, pem);
		jwks_key_free(&op);
		assert_null(op.pkey);
		free(pem);
	}
	assert_null(jwks_find(&set, "enc-1"));
	assert_null(jwks_find(&set, "forge/invocation-token/wf-"));
	assert_null(jwks_find(&set, ""));
	jwks_free(&set);
	assert_int_equal(set.n, 0);
	/* One byte of trailing data refuses the whole set. */
	text[len - 1] = 'x';
	expect_refused(text, len, "jwks_malformed");
	free(text);
}

/* A token over claims signed by libjwt with pk's private PEM. */
static char *
sign(EVP_PKEY *pk, const char *kid, const char *claims)
{
	jwt_t	*jwt = NULL;
	char	*priv = pem_of(pk, 1), *tok;

	assert_int_equal(jwt_new(&jwt), 0);
	assert_int_equal(jwt_add_grants_json(jwt, claims), 0);
	assert_int_equal(jwt_add_header(jwt, "kid", kid), 0);
	assert_int_equal(jwt_set_alg(jwt, JWT_ALG_RS256,
	    (const unsigned char *)priv, (int)strlen(priv)), 0);
	assert_non_null(tok = jwt_encode_str(jwt));
	jwt_free(jwt);
	sodium_memzero(priv, strlen(priv));
	free(priv);
	return tok;
}

static void
test_pem_verifies(void **state)
{
	char		*jwk[6], *text, *tok, *want;
	struct jwks	 set;
	const struct jwks_key *a, *b, *c;
	const char	*reason;
	size_t		 i;

	(void)state;
	jwk[0] = rsa_jwk(KID_A, K.n_a, "AQAB", "\"use\":\"sig\","
	    "\"alg\":\"RS256\",");
	jwk[1] = strdup(EC_JWK);
	jwk[2] = rsa_jwk(KID_B, K.n_b, "AQAB", "");
	/* RS512 and encryption keys are not ours: skipped. */
	jwk[3] = rsa_jwk("rs512", K.n_a, "AQAB", "\"alg\":\"RS512\",");
	jwk[4] = rsa_jwk("enc", K.n_b, "AQAB", "\"use\":\"enc\",");
	jwk[5] = rsa_jwk(KID_C, K.n_c, "AQAB", "\"x5c\":[\"MIIB\"],"
	    "\"use\":\"sig\",");
	text = set_of(6, jwk);
	assert_int_equal(jwks_parse(text, strlen(text), &set, &reason), 0);
	assert_int_equal(set.n, 3);
	assert_null(jwks_find(&set, "ec-1"));
	assert_null(jwks_find(&set, "rs512"));
	assert_null(jwks_find(&set, "enc"));
	assert_non_null(a = jwks_find(&set, KID_A));
	assert_non_null(b = jwks_find(&set, KID_B));
	assert_non_null(c = jwks_find(&set, KID_C));
	/* The same SubjectPublicKeyInfo OpenSSL writes for the key. */
	want = pem_of(K.a, 0);
	assert_string_equal(a->pem, want);
	free(want);
	want = pem_of(K.c, 0);
	assert_string_equal(c->pem, want);
	free(want);

	tok = sign(K.a, KID_A, "{\"iss\":\"forge/invocation-token\","
	    "\"exp\":2000,\"iat\":1990}");
	assert_int_equal(token_check_sig(tok, TOKEN_RS256,
	    (const unsigned char *)a->pem, a->pem_len, &reason), 0);
	assert_int_equal(fit_check_sig(tok, a, &reason), 0);
	/* Another key of the set does not verify it. */
	assert_int_equal(token_check_sig(tok, TOKEN_RS256,
	    (const unsigned char *)b->pem, b->pem_len, &reason), -1);
	assert_string_equal(reason, "bad_signature");
	assert_int_equal(fit_check_sig(tok, b, &reason), -1);
	assert_string_equal(reason, "bad_signature");
	/* Nor does HS256 with the PEM as its secret. */
	assert_int_equal(token_check_sig(tok, TOKEN_HS256,
	    (const unsigned char *)a->pem, a->pem_len, &reason), -1);
	free(tok);
	tok = sign(K.c, KID_C, "{\"iss\":\"x\",\"exp\":2,\"iat\":1}");
	assert_int_equal(token_check_sig(tok, TOKEN_RS256,
	    (const unsigned char *)c->pem, c->pem_len, &reason), 0);
	assert_int_equal(fit_check_sig(tok, c, &reason), 0);
	assert_int_equal(token_check_sig(tok, TOKEN_RS256,
	    (const unsigned char *)a->pem, a->pem_len, &reason), -1);
	/* A 3072-bit signature is not even the size of a's. */
	assert_int_equal(fit_check_sig(tok, a, &reason), -1);
	assert_string_equal(reason, "signature_encoding");
	free(tok);

	jwks_free(&set);
	free(text);
	for (i = 0; i < 6; i++)
		free(jwk[i]);
}

/* The shape of a PEM public key around bytes that are none. */
#define JUNK_PEM	"-----BEGIN PUBLIC KEY-----\nAAAA\n" \
			"-----END PUBLIC KEY-----\n"

/* jwks_key_from_pem refuses text with why, leaving out zeroed. */
static void
expect_pem_refused(const char *text, size_t len, const char *why,
    const char *label)
{
	struct jwks_key	 out;
	const char	*reason = "none";

	if (jwks_key_from_pem(KID_A, text, len, &out, &reason) != -1) {
		jwks_key_free(&out);
		fail_msg("%s: accepted", label);
	}
	if (strcmp(reason, why) != 0)
		fail_msg("%s: reason %s, want %s", label, reason, why);
	assert_null(out.pkey);
	assert_null(out.pem);
	assert_int_equal(out.kid[0], '\0');
}

/* A fresh key of type name ("EC", "RSA-PSS") or RSA with exponent e. */
static EVP_PKEY *
keygen(const char *name, unsigned long e)
{
	EVP_PKEY_CTX	*ctx;
	EVP_PKEY	*pk = NULL;
	BIGNUM		*be = NULL;

	assert_non_null(ctx = EVP_PKEY_CTX_new_from_name(NULL, name, NULL));
	assert_int_equal(EVP_PKEY_keygen_init(ctx), 1);
	if (strcmp(name, "EC") == 0)
		assert_int_equal(EVP_PKEY_CTX_set_group_name(ctx, "P-256"), 1);
	else {
		assert_int_equal(EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, 2048),
		    1);
		assert_non_null(be = BN_new());
		assert_int_equal(BN_set_word(be, e), 1);
		assert_int_equal(EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx, be),
		    1);
	}
	assert_int_equal(EVP_PKEY_generate(ctx, &pk), 1);
	BN_free(be);
	EVP_PKEY_CTX_free(ctx);
	return pk;
}

/*
 * An operator's PEM: an RSA key of the sizes a set may hold is taken
 * (and verifies what it signed); anything else is refused.
 */
static void
test_key_from_pem(void **state)
{
	struct jwks_key	 k;
	EVP_PKEY	*pk;
	const char	*reason;
	char		*pem, *tok, kid[JWKS_KID_MAX + 2];

	(void)state;
	pem = pem_of(K.c, 0);
	assert_int_equal(jwks_key_from_pem(KID_C, pem, strlen(pem), &k,
	    &reason), 0);
	assert_int_equal(EVP_PKEY_eq(k.pkey, K.c), 1);
	tok = sign(K.c, KID_C, "{\"iss\":\"x\",\"exp\":2,\"iat\":1}");
	assert_int_equal(fit_check_sig(tok, &k, &reason), 0);
	free(tok);
	tok = sign(K.a, KID_C, "{\"iss\":\"x\",\"exp\":2,\"iat\":1}");
	assert_int_equal(fit_check_sig(tok, &k, &reason), -1);
	free(tok);
	jwks_key_free(&k);
	/* Not the whole PEM, no PEM, a kid too long for one. */
	expect_pem_refused(pem, strlen(pem) / 2, "jwks_pem_invalid", "half");
	expect_pem_refused(pem, 0, "jwks_pem_invalid", "empty");
	expect_pem_refused(JUNK_PEM, strlen(JUNK_PEM), "jwks_pem_invalid",
	    "junk");
	memset(kid, 'k', sizeof(kid) - 1);
	kid[sizeof(kid) - 1] = '\0';
	assert_int_equal(jwks_key_from_pem(kid, pem, strlen(pem), &k,
	    &reason), -1);
	free(pem);
	/* A private key is no public key file. */
	pem = pem_of(K.a, 1);
	expect_pem_refused(pem, strlen(pem), "jwks_pem_invalid", "private");
	sodium_memzero(pem, strlen(pem));
	free(pem);
	/* Too weak; not RSA; RSA-PSS; an exponent past 32 bits. */
	pem = pem_of(K.weak, 0);
	expect_pem_refused(pem, strlen(pem), "jwks_key_unusable", "1024");
	free(pem);
	pk = keygen("EC", 0);
	pem = pem_of(pk, 0);
	expect_pem_refused(pem, strlen(pem), "jwks_key_unusable", "EC");
	free(pem);
	EVP_PKEY_free(pk);
	pk = keygen("RSA-PSS", 65537);
	pem = pem_of(pk, 0);
	expect_pem_refused(pem, strlen(pem), "jwks_key_unusable", "RSA-PSS");
	free(pem);
	EVP_PKEY_free(pk);
	pk = keygen("RSA", (1UL << 33) + 1);
	pem = pem_of(pk, 0);
	expect_pem_refused(pem, strlen(pem), "jwks_key_unusable", "e 2^33+1");
	free(pem);
	EVP_PKEY_free(pk);
	/* A zeroed key frees as nothing. */
	memset(&k, 0, sizeof(k));
	jwks_key_free(&k);
	jwks_key_free(NULL);
}

static void
test_malformed_sets(void **state)
{
	static const char *const bad[] = {
		"", " ", "{", "null", "[]", "\"keys\"", "{}",
		"{\"keys\":null}", "{\"keys\":{}}", "{\"keys\":\"[]\"}",
		"{\"Keys\":[]}",
		/* An entry that is not an object. */
		"{\"keys\":[1]}", "{\"keys\":[[]]}", "{\"keys\":[null]}",
		/* Duplicate member: which "keys" would another reader see? */
		"{\"keys\":[],\"keys\":[]}",
		"{\"keys\":[{\"kty\":\"RSA\",\"kty\":\"EC\"}]}",
		"{\"keys\":[]} x", "{\"keys\":[]}{}",
	};
	char		 buf[64];
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_refused(bad[i], strlen(bad[i]), "jwks_malformed");
	expect_refused(NULL, 0, "jwks_malformed");
	/* A NUL inside the length. */
	memcpy(buf, "{\"keys\":[]}\0", 12);
	expect_refused(buf, 12, "jwks_malformed");
	/* Nothing usable in it. */
	expect_refused("{\"keys\":[]}", 11, "jwks_no_keys");
	expect_refused("{\"keys\":[{}]}", 13, "jwks_no_keys");
	expect_refused("{\"keys\":[" EC_JWK "]}", strlen("{\"keys\":["
	    EC_JWK "]}"), "jwks_no_keys");
}

static void
test_size_limits(void **state)
{
	char		*jwk[JWKS_MAX_KEYS + 1], *text, *big, kid[32];
	struct jwks	 set;
	const char	*reason;
	size_t		 i, len;

	(void)state;
	/* JWKS_MAX_KEYS keys are taken... */
	for (i = 0; i < JWKS_MAX_KEYS + 1; i++) {
		snprintf(kid, sizeof(kid), "k%zu", i);
		jwk[i] = rsa_jwk(kid, K.n_a, "AQAB", "");
	}
	text = set_of(JWKS_MAX_KEYS, jwk);
	assert_int_equal(jwks_parse(text, strlen(text), &set, &reason), 0);
	assert_int_equal(set.n, JWKS_MAX_KEYS);
	assert_non_null(jwks_find(&set, "k31"));
	jwks_free(&set);
	free(text);
	/* ...one more entry is not, even one that would be skipped. */
	text = set_of(JWKS_MAX_KEYS + 1, jwk);
	expect_refused(text, strlen(text), "jwks_too_large");
	free(text);
	free(jwk[JWKS_MAX_KEYS]);
	jwk[JWKS_MAX_KEYS] = strdup(EC_JWK);
	text = set_of(JWKS_MAX_KEYS + 1, jwk);
	expect_refused(text, strlen(text), "jwks_too_large");
	free(text);
	for (i = 0; i < JWKS_MAX_KEYS + 1; i++)
		free(jwk[i]);

	/* A huge key count (within the byte limit) is refused as such. */
	len = 9 + 2 + 3 * 29999 + 2;
	assert_true(len < JWKS_MAX_BYTES);
	assert_non_null(big = malloc(len + 1));
	memcpy(big, "{\"keys\":[{}", 11);
	for (i = 0; i < 29999; i++)
		memcpy(big + 11 + 3 * i, ",{}", 3);
	memcpy(big + len - 2, "]}", 3);
	expect_refused(big, len, "jwks_too_large");
	free(big);

	/* Over JWKS_MAX_BYTES: refused before parsing, even if valid. */
	jwk[0] = rsa_jwk(KID_A, K.n_a, "AQAB", "");
	text = set_of(1, jwk);
	len = strlen(text);
	assert_non_null(big = malloc(JWKS_MAX_BYTES + 1));
	memset(big, ' ', JWKS_MAX_BYTES + 1);
	memcpy(big, text, len);
	assert_int_equal(jwks_parse(big, JWKS_MAX_BYTES, &set, &reason), 0);
	jwks_free(&set);
	expect_refused(big, JWKS_MAX_BYTES + 1, "jwks_too_large");
	free(big);
	free(text);
	free(jwk[0]);
}

static void
test_duplicate_kid(void **state)
{
	char	*jwk[3], *text;
	size_t	 i;

	(void)state;
	jwk[0] = rsa_jwk(KID_A, K.n_a, "AQAB", "");
	jwk[1] = rsa_jwk(KID_B, K.n_b, "AQAB", "");
	jwk[2] = rsa_jwk(KID_A, K.n_c, "AQAB", "");
	text = set_of(3, jwk);
	expect_refused(text, strlen(text), "jwks_duplicate_kid");
	free(text);
	/* The same key twice under one kid is as ambiguous. */
	free(jwk[2]);
	jwk[2] = rsa_jwk(KID_A, K.n_a, "AQAB", "");
	text = set_of(3, jwk);
	expect_refused(text, strlen(text), "jwks_duplicate_kid");
	free(text);
	for (i = 0; i < 3; i++)
		free(jwk[i]);
}

static void
test_bad_keys_skipped(void **state)
{
	char		*n_even, *n_long, *n_zero, *jwk[2], *text, *want;
	unsigned char	 bin[1026];
	struct jwks	 set;
	const char	*reason;
	size_t		 len;

	(void)state;
	/* Bad base64url: the standard alphabet, padding, junk. */
	n_even = strdup(K.n_a);
	n_even[3] = '+';
	expect_skipped(KID_A, n_even, "AQAB", "");
	n_even[3] = '/';
	expect_skipped(KID_A, n_even, "AQAB", "");
	free(n_even);
	expect_skipped(KID_A, K.n_a, "AQAB=", "");
	expect_skipped(KID_A, K.n_a, "AQ AB", "");
	expect_skipped(KID_A, "!!!!", "AQAB", "");
	/* A length no base64 text has (one byte's worth of 6 bits). */
	len = strlen(K.n_a);
	n_even = malloc(len + 2);
	memcpy(n_even, K.n_a, len);
	n_even[len] = 'A';
	n_even[len + 1] = '\0';
	expect_skipped(KID_A, n_even, "AQAB", "");
	free(n_even);

	/* Weak or impossible numbers. */
	expect_skipped(KID_A, K.n_weak, "AQAB", "");	/* 1024 bits */
	expect_skipped(KID_A, K.n_a, "Ag", "");		/* e = 2 */
	expect_skipped(KID_A, K.n_a, "AQAA", "");	/* e = 65536 */
	expect_skipped(KID_A, K.n_a, "AQ", "");		/* e = 1 */
	expect_skipped(KID_A, K.n_a, "AA", "");		/* e = 0 */
	expect_skipped(KID_A, K.n_a, "AQAAAAE", "");	/* 5 bytes */
	expect_skipped(KID_A, K.n_a, "", "");
	/* An even modulus cannot be a product of two odd primes. */
	memset(bin, 0xc5, 256);
	bin[255] = 0x10;
	n_even = b64u(bin, 256);
	expect_skipped(KID_A, n_even, "AQAB", "");
	free(n_even);
	/* 8200 bits is past the bound; 2047 bits short of it. */
	memset(bin, 0xc5, sizeof(bin));
	bin[0] = 0x01;
	n_long = b64u(bin, 1026);
	expect_skipped(KID_A, n_long, "AQAB", "");
	free(n_long);
	bin[0] = 0x7f;
	n_long = b64u(bin, 256);
	expect_skipped(KID_A, n_long, "AQAB", "");
	free(n_long);
	/* A leading zero byte is tolerated, not counted (e too). */
	assert_int_equal(sodium_base642bin(bin + 1, sizeof(bin) - 1, K.n_a,
	    strlen(K.n_a), NULL, &len, NULL,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING), 0);
	bin[0] = 0;
	n_zero = b64u(bin, len + 1);
	jwk[0] = rsa_jwk(KID_A, n_zero, "AAEAAQ", "");
	text = set_of(1, jwk);
	assert_int_equal(jwks_parse(text, strlen(text), &set, &reason), 0);
	assert_int_equal(set.n, 1);
	want = pem_of(K.a, 0);
	assert_string_equal(set.keys[0].pem, want);
	free(want);
	jwks_free(&set);
	free(text);
	free(jwk[0]);
	free(n_zero);

	/* Not RSA, not for signing, not RS256, or carrying a private part. */
	expect_skipped(KID_A, K.n_a, "AQAB", "\"use\":\"enc\",");
	expect_skipped(KID_A, K.n_a, "AQAB", "\"use\":7,");
	expect_skipped(KID_A, K.n_a, "AQAB", "\"alg\":\"PS256\",");
	expect_skipped(KID_A, K.n_a, "AQAB", "\"alg\":\"rs256\",");
	expect_skipped(KID_A, K.n_a, "AQAB", "\"alg\":\"none\",");
	expect_skipped(KID_A, K.n_a, "AQAB", "\"d\":\"AQAB\",");
	text = rsa_jwk(KID_A, K.n_a, "AQAB", "");
	memcpy(strstr(text, "RSA"), "rsa", 3);
	jwk[0] = text;
	text = set_of(1, jwk);
	expect_refused(text, strlen(text), "jwks_no_keys");
	free(text);
	free(jwk[0]);

	/* Unsafe or absent kids. */
	expect_skipped("../keys/x", K.n_a, "AQAB", "");
	expect_skipped("/etc/x", K.n_a, "AQAB", "");
	expect_skipped("a//b", K.n_a, "AQAB", "");
	expect_skipped("a/", K.n_a, "AQAB", "");
	expect_skipped("a/.b", K.n_a, "AQAB", "");
	expect_skipped(".hidden", K.n_a, "AQAB", "");
	expect_skipped("a\\\\b", K.n_a, "AQAB", "");
	expect_skipped("a b", K.n_a, "AQAB", "");
	expect_skipped("", K.n_a, "AQAB", "");

	/* A bad key next to a good one: the good one is kept. */
	jwk[0] = rsa_jwk(KID_A, K.n_weak, "AQAB", "");
	jwk[1] = rsa_jwk(KID_B, K.n_b, "AQAB", "");
	text = set_of(2, jwk);
	assert_int_equal(jwks_parse(text, strlen(text), &set, &reason), 0);
	assert_int_equal(set.n, 1);
	assert_null(jwks_find(&set, KID_A));
	assert_non_null(jwks_find(&set, KID_B));
	jwks_free(&set);
	free(text);
	free(jwk[0]);
	free(jwk[1]);
}

static void
test_kid_ok(void **state)
{
	static const char *const good[] = {
		"a", "k1", "A.b_c-9", "forge/invocation-token/wf-"
		"f641e7a7-d1b6-472a-806b-5e4b03912149", "a/b/c", "a.",
		"a..b",
	};
	static const char *const bad[] = {
		"", ".", "..", ".a", "../a", "a/../b", "a/..", "/a", "a/",
		"a//b", "a/.b", "a b", "a\\b", "a%2fb", "a:b", "a\nb",
		"caf\xc3\xa9",
	};
	char	 kid[JWKS_KID_MAX + 2];
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!jwks_kid_ok(good[i]))
			fail_msg("refused %s", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (jwks_kid_ok(bad[i]))
			fail_msg("accepted %s", bad[i]);
	assert_false(jwks_kid_ok(NULL));
	memset(kid, 'k', JWKS_KID_MAX);
	kid[JWKS_KID_MAX] = '\0';
	assert_true(jwks_kid_ok(kid));
	kid[JWKS_KID_MAX] = 'k';
	kid[JWKS_KID_MAX + 1] = '\0';
	assert_false(jwks_kid_ok(kid));
}

static void
test_max_age(void **state)
{
	static const struct {
		const char	*cc;
		long long	 want;
	} cases[] = {
		{ NULL, 3600 },
		{ "", 3600 },
		{ "max-age=7200", 7200 },
		{ "public, max-age=7200", 7200 },
		{ "MAX-AGE=7200", 7200 },
		{ "Max-Age=7200 , public", 7200 },
		{ "public,max-age=7200,immutable", 7200 },
		/* Clamped to [300, 86400]. */
		{ "max-age=1", 300 },
		{ "max-age=0", 300 },
		{ "max-age=999999", 86400 },
		{ "max-age=99999999999999999999999999999999", 86400 },
		/* Told not to keep it: the least. */
		{ "no-cache", 300 },
		{ "NO-STORE", 300 },
		{ "max-age=7200, no-cache", 300 },
		{ "max-age=7200, max-age=7200", 300 },
		/* Malformed or not max-age: the default. */
		{ "max-age=", 3600 },
		{ "max-age=-5", 3600 },
		{ "max-age=+5", 3600 },
		{ "max-age=\"7200\"", 3600 },
		{ "max-age=7200s", 3600 },
		{ "max-age=72 00", 3600 },
		{ "max-age = 7200", 3600 },
		{ "max-age", 3600 },
		{ "s-maxage=7200", 3600 },
		{ "x-max-age=7200", 3600 },
		{ "no-cache-please", 3600 },
		{ "public", 3600 },
		{ ",,,", 3600 },
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		long long got = jwks_max_age(cases[i].cc, 300, 86400, 3600);

		if (got != cases[i].want)
			fail_msg("%s: %lld, want %lld", cases[i].cc ?
			    cases[i].cc : "NULL", got, cases[i].want);
	}
	/* The default itself is clamped. */
	assert_int_equal(jwks_max_age(NULL, 300, 86400, 10), 300);
	assert_int_equal(jwks_max_age("x", 300, 86400, 999999), 86400);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_set),
		cmocka_unit_test(test_pem_verifies),
		cmocka_unit_test(test_key_from_pem),
		cmocka_unit_test(test_malformed_sets),
		cmocka_unit_test(test_size_limits),
		cmocka_unit_test(test_duplicate_kid),
		cmocka_unit_test(test_bad_keys_skipped),
		cmocka_unit_test(test_kid_ok),
		cmocka_unit_test(test_max_age),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests_name("jwks", tests, keys_setup,
	    keys_teardown);
}
