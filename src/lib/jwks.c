/*
 * JSON Web Key Sets to parsed public keys (and their PEM); see jwks.h
 * for what is kept and why.
 */
#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <sodium.h>

#include "cellar/json.h"
#include "cellar/jwks.h"

/* Bits of the smallest and largest modulus kept. */
#define JWKS_MIN_BITS	2048
#define JWKS_MAX_BITS	8192
/* Bytes of the largest exponent kept (e fits 32 bits). */
#define JWKS_MAX_E	4
/*
 * Longest base64url text read for n and e: an 8192-bit modulus is 1366
 * characters (1368 with a leading zero byte); anything longer is not a
 * key we keep.
 */
#define JWKS_MAX_N_B64	1400
#define JWKS_MAX_E_B64	16

int
jwks_kid_ok(const char *kid)
{
	const char	*p;
	size_t		 len;
	int		 part_start = 1;

	if (kid == NULL || (len = strnlen(kid, JWKS_KID_MAX + 1)) == 0 ||
	    len > JWKS_KID_MAX)
		return 0;
	for (p = kid; *p != '\0'; p++) {
		if (*p == '/') {
			/* No empty part: not absolute, no "//", no trailing. */
			if (part_start)
				return 0;
			part_start = 1;
			continue;
		}
		/* No part starts with '.': no "..", no hidden file. */
		if (part_start && *p == '.')
			return 0;
		part_start = 0;
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' ||
		    *p == '-'))
			return 0;
	}
	return !part_start;
}

void
jwks_key_free(struct jwks_key *k)
{
	if (k == NULL)
		return;
	free(k->pem);
	EVP_PKEY_free(k->pkey);
	memset(k, 0, sizeof(*k));
}

void
jwks_free(struct jwks *set)
{
	size_t	i;

	if (set == NULL)
		return;
	for (i = 0; i < set->n && i < JWKS_MAX_KEYS; i++)
		jwks_key_free(&set->keys[i]);
	memset(set, 0, sizeof(*set));
}

const struct jwks_key *
jwks_find(const struct jwks *set, const char *kid)
{
	size_t	i;

	if (set == NULL || kid == NULL)
		return NULL;
	for (i = 0; i < set->n && i < JWKS_MAX_KEYS; i++)
		if (strcmp(set->keys[i].kid, kid) == 0)
			return &set->keys[i];
	return NULL;
}

/*
 * Decodes the base64url (no padding) text s into a malloc'd big-endian
 * number without its leading zero bytes, at most max bytes.  0 with
 * *out (free it) and *outlen >= 1, or -1.
 */
static int
b64_number(const char *s, size_t max, unsigned char **out, size_t *outlen)
{
	unsigned char	*bin;
	size_t		 len = strlen(s), binlen, skip = 0;

	*out = NULL;
	*outlen = 0;
	if (len == 0 || (bin = malloc(len)) == NULL)
		return -1;
	if (sodium_base642bin(bin, len, s, len, NULL, &binlen, NULL,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
		goto fail;
	while (skip < binlen && bin[skip] == 0)
		skip++;
	if (binlen - skip == 0 || binlen - skip > max)
		goto fail;
	memmove(bin, bin + skip, binlen - skip);
	*out = bin;
	*outlen = binlen - skip;
	return 0;
fail:
	free(bin);
	return -1;
}

/*
 * 1 if (n, e) is an RSA key we keep: a modulus of JWKS_MIN_BITS to
 * JWKS_MAX_BITS, odd (two odd primes), and an exponent that is odd,
 * not 1 and at most JWKS_MAX_E bytes.
 */
static int
rsa_usable(const BIGNUM *n, const BIGNUM *e)
{
	int	bits = BN_num_bits(n);

	return bits >= JWKS_MIN_BITS && bits <= JWKS_MAX_BITS &&
	    BN_is_odd(n) && BN_is_odd(e) && !BN_is_one(e) &&
	    BN_num_bytes(e) <= JWKS_MAX_E;
}

/* k->pkey written as a SubjectPublicKeyInfo PEM into k->pem.  0 or -1. */
static int
key_pem(struct jwks_key *k)
{
	BIO	*bio;
	char	*data;
	long	 dlen;
	int	 rc = -1;

	if ((bio = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_PUBKEY(bio, k->pkey) != 1 ||
	    (dlen = BIO_get_mem_data(bio, &data)) <= 0 ||
	    (k->pem = malloc((size_t)dlen + 1)) == NULL)
		goto out;
	memcpy(k->pem, data, (size_t)dlen);
	k->pem[dlen] = '\0';
	k->pem_len = (size_t)dlen;
	rc = 0;
out:
	BIO_free(bio);
	return rc;
}

/*
 * The RSA key (n, e), both big-endian without leading zeros, into
 * k->pkey and its PEM into k->pem.  0, 1 when the numbers are not a
 * key we keep (rsa_usable), -1 on an OpenSSL or memory failure; k
 * holds nothing unless 0.
 */
static int
rsa_key(const unsigned char *n, size_t nlen, const unsigned char *e,
    size_t elen, struct jwks_key *k)
{
	BIGNUM		*bn = NULL, *be = NULL;
	OSSL_PARAM_BLD	*bld = NULL;
	OSSL_PARAM	*params = NULL;
	EVP_PKEY_CTX	*ctx = NULL;
	int		 rc = -1;

	if ((bn = BN_bin2bn(n, (int)nlen, NULL)) == NULL ||
	    (be = BN_bin2bn(e, (int)elen, NULL)) == NULL)
		goto out;
	if (!rsa_usable(bn, be)) {
		rc = 1;
		goto out;
	}
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &k->pkey, EVP_PKEY_PUBLIC_KEY,
	    params) != 1 || key_pem(k) == -1)
		goto out;
	rc = 0;
out:
	if (rc != 0) {
		EVP_PKEY_free(k->pkey);
		k->pkey = NULL;
	}
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(be);
	BN_free(bn);
	return rc;
}

int
jwks_key_from_pem(const char *kid, const char *pem, size_t len,
    struct jwks_key *out, const char **reason)
{
	BIO		*bio = NULL;
	BIGNUM		*n = NULL, *e = NULL;
	size_t		 kidlen;
	int		 rc = -1;

	memset(out, 0, sizeof(*out));
	*reason = "jwks_pem_invalid";
	if (kid == NULL || pem == NULL || len == 0 || len > INT_MAX ||
	    (kidlen = strnlen(kid, JWKS_KID_MAX + 1)) > JWKS_KID_MAX)
		goto out;
	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL) {
		*reason = "no_memory";
		goto out;
	}
	if ((out->pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL)) == NULL)
		goto out;
	*reason = "jwks_key_unusable";
	/* "RSA" only: not RSA-PSS, whose key restricts its padding. */
	if (!EVP_PKEY_is_a(out->pkey, "RSA") ||
	    EVP_PKEY_get_bn_param(out->pkey, OSSL_PKEY_PARAM_RSA_N, &n) != 1 ||
	    EVP_PKEY_get_bn_param(out->pkey, OSSL_PKEY_PARAM_RSA_E, &e) != 1 ||
	    !rsa_usable(n, e))
		goto out;
	if ((out->pem = malloc(len + 1)) == NULL) {
		*reason = "no_memory";
		goto out;
	}
	memcpy(out->pem, pem, len);
	out->pem[len] = '\0';
	out->pem_len = strlen(out->pem);
	memcpy(out->kid, kid, kidlen + 1);
	rc = 0;
out:
	if (rc == -1)
		jwks_key_free(out);
	BN_free(e);
	BN_free(n);
	BIO_free(bio);
	return rc;
}

/* 1 if member key of k is absent or the string want. */
static int
absent_or(const cJSON *k, const char *key, const char *want)
{
	const char		*v;
	enum json_status	 st;

	st = json_get_str(k, key, 0, 64, &v);
	return st == JSON_MISSING || (st == JSON_OK && strcmp(v, want) == 0);
}

/*
 * Reads one key of the set into *out: 0 kept, 1 skipped (not a usable
 * RSA signing key), -1 no memory or an OpenSSL failure.
 */
static int
key_read(const cJSON *k, struct jwks_key *out)
{
	const char	*kty, *kid, *n64, *e64;
	unsigned char	*n = NULL, *e = NULL;
	size_t		 nlen, elen;
	int		 rc = 1;

	memset(out, 0, sizeof(*out));
	if (json_get_str(k, "kty", 1, 16, &kty) != JSON_OK ||
	    strcmp(kty, "RSA") != 0 || !absent_or(k, "use", "sig") ||
	    !absent_or(k, "alg", "RS256") ||
	    json_get_str(k, "kid", 1, JWKS_KID_MAX, &kid) != JSON_OK ||
	    !jwks_kid_ok(kid) ||
	    json_get_str(k, "n", 1, JWKS_MAX_N_B64, &n64) != JSON_OK ||
	    json_get_str(k, "e", 1, JWKS_MAX_E_B64, &e64) != JSON_OK)
		goto out;
	/* A private key has no place in a published set: skip it. */
	if (cJSON_GetObjectItemCaseSensitive(k, "d") != NULL)
		goto out;
	if (b64_number(n64, JWKS_MAX_BITS / 8, &n, &nlen) == -1 ||
	    b64_number(e64, JWKS_MAX_E, &e, &elen) == -1)
		goto out;
	rc = rsa_key(n, nlen, e, elen, out);
	if (rc == 0)
		memcpy(out->kid, kid, strlen(kid) + 1);
out:
	free(n);
	free(e);
	return rc;
}

int
jwks_parse(const char *json, size_t len, struct jwks *out,
    const char **reason)
{
	cJSON		*root = NULL;
	const cJSON	*keys, *k;
	struct jwks_key	 key;
	size_t		 i;
	int		 rc = -1, r;

	memset(out, 0, sizeof(*out));
	if (len > JWKS_MAX_BYTES) {
		*reason = "jwks_too_large";
		return -1;
	}
	if (json == NULL || json_parse(json, len, &root) != JSON_OK ||
	    !cJSON_IsObject(root) ||
	    (keys = cJSON_GetObjectItemCaseSensitive(root, "keys")) == NULL ||
	    !cJSON_IsArray(keys)) {
		*reason = "jwks_malformed";
		goto out;
	}
	if (cJSON_GetArraySize(keys) > JWKS_MAX_KEYS) {
		*reason = "jwks_too_large";
		goto out;
	}
	cJSON_ArrayForEach(k, keys) {
		if (!cJSON_IsObject(k)) {
			*reason = "jwks_malformed";
			goto out;
		}
		if ((r = key_read(k, &key)) == -1) {
			*reason = "no_memory";
			goto out;
		}
		if (r == 1)
			continue;
		for (i = 0; i < out->n; i++)
			if (strcmp(out->keys[i].kid, key.kid) == 0)
				break;
		if (i < out->n) {
			jwks_key_free(&key);
			*reason = "jwks_duplicate_kid";
			goto out;
		}
		/* At most JWKS_MAX_KEYS entries: there is room. */
		out->keys[out->n++] = key;
	}
	if (out->n == 0) {
		*reason = "jwks_no_keys";
		goto out;
	}
	rc = 0;
out:
	if (rc == -1)
		jwks_free(out);
	cJSON_Delete(root);
	return rc;
}

/* 1 if the directive s[0..n) is name (ASCII, case-insensitive). */
static int
directive_is(const char *s, size_t n, const char *name)
{
	return n == strlen(name) && strncasecmp(s, name, n) == 0;
}

long long
jwks_max_age(const char *cc, long long min, long long max, long long dflt)
{
	const char	*p, *end, *eq;
	size_t		 n;
	long long	 age = -1, v;
	int		 seen = 0, nocache = 0, bad = 0;

	if (max < min)
		max = min;
	if (cc == NULL)
		goto dflt;
	for (p = cc; *p != '\0'; p = *end == ',' ? end + 1 : end) {
		end = p + strcspn(p, ",");
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		n = (size_t)(end - p);
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (n == 0)
			continue;
		if (directive_is(p, n, "no-cache") ||
		    directive_is(p, n, "no-store")) {
			nocache = 1;
			continue;
		}
		if ((eq = memchr(p, '=', n)) == NULL ||
		    !directive_is(p, (size_t)(eq - p), "max-age"))
			continue;
		seen++;
		eq++;
		if (eq == p + n) {
			bad = 1;
			continue;
		}
		for (v = 0; eq < p + n; eq++) {
			if (!isdigit((unsigned char)*eq)) {
				bad = 1;
				break;
			}
			/* Saturate: anything past max is max. */
			if (v > max)
				continue;
			if (v > (LLONG_MAX - 9) / 10)
				v = LLONG_MAX;
			else
				v = v * 10 + (*eq - '0');
		}
		age = v;
	}
	if (nocache || seen > 1)
		return min;
	if (seen == 0 || bad)
		goto dflt;
	if (age < min)
		return min;
	return age > max ? max : age;
dflt:
	if (dflt < min)
		return min;
	return dflt > max ? max : dflt;
}
