/*
 * JSON Web Key Sets (RFC 7517) as Atlassian publishes them for Forge
 * Invocation Tokens, turned into public keys parsed once (an OpenSSL
 * EVP_PKEY that fit_check_sig verifies with, no parse per token) and
 * their PEM (what libjwt 1.10.2 takes: tests hold the two verifiers
 * to one answer).  Only RSA signing keys are kept: kty "RSA", "use"
 * absent or "sig", "alg" absent or "RS256", a kid from the safe
 * alphabet (jwks_kid_ok), a modulus of 2048 to 8192 bits and a public
 * exponent that is odd, at least 3 and at most 32 bits; any other key
 * in the set is skipped, not an error.  The conversion is OpenSSL's (the
 * modulus and exponent become an EVP_PKEY, also written as a
 * SubjectPublicKeyInfo PEM).  Input is unauthenticated until a token
 * verifies against a key of it: sizes are capped before any parser.

 */
#ifndef CELLAR_JWKS_H
#define CELLAR_JWKS_H

#include <stddef.h>

/* Largest key set read (bytes) and most keys kept from one set. */
#define JWKS_MAX_BYTES	(100 * 1024)
#define JWKS_MAX_KEYS	32
/* Longest kid, bytes. */
#define JWKS_KID_MAX	128

/* OpenSSL's EVP_PKEY, named here so that users need no OpenSSL header. */
struct evp_pkey_st;

struct jwks_key {
	char			 kid[JWKS_KID_MAX + 1];
	char			*pem;	/* "-----BEGIN PUBLIC KEY-----..." */
	size_t			 pem_len;	/* strlen(pem) */
	struct evp_pkey_st	*pkey;	/* the same key, parsed: RSA */
};

/* A parsed key set; owns its keys (free with jwks_free). */
struct jwks {
	struct jwks_key	 keys[JWKS_MAX_KEYS];
	size_t		 n;
};

/*
 * 1 if kid is 1-128 of [A-Za-z0-9._/-] made of '/'-separated parts
 * that are neither empty nor start with '.': Atlassian's kids are paths
 * ("forge/invocation-token/wf-<uuid>"), and a kid that passes is also a
 * safe relative file name under a key directory (no "..", no hidden
 * part, not absolute).
 */
int			 jwks_kid_ok(const char *kid);

/*
 * Parses len bytes of JSON ({"keys": [...]}, strictly: no duplicate
 * member, no trailing bytes, at most JWKS_MAX_BYTES and at most
 * JWKS_MAX_KEYS entries in "keys") into out.  A key that is not a
 * usable RSA signing key (above) is skipped; a set whose entries are
 * not all objects is malformed; two kept keys with one kid make the
 * set ambiguous and refused.  0 with out->n >= 1, or -1 with a log
 * reason in *reason (jwks_too_large, jwks_malformed, jwks_no_keys,
 * jwks_duplicate_kid, no_memory) and out empty.  Free out with
 * jwks_free in both cases (it also takes a zeroed struct).
 */
int			 jwks_parse(const char *json, size_t len,
			    struct jwks *out, const char **reason)
			    __attribute__((warn_unused_result));
void			 jwks_free(struct jwks *);

/*
 * An operator's key: len bytes holding a PEM public key (a
 * SubjectPublicKeyInfo, "-----BEGIN PUBLIC KEY-----") parsed once into
 * out under kid, held to the rules of a set's keys (RSA, a modulus of 2048 to 8192
 * bits, an odd exponent of at least 3 that fits 32 bits).  0, or -1
 * with a log reason (jwks_pem_invalid, jwks_key_unusable, no_memory)
 * and out zeroed.  Free out with jwks_key_free (also a zeroed one).
 */
int			 jwks_key_from_pem(const char *kid, const char *pem,
			    size_t len, struct jwks_key *out,
			    const char **reason)
			    __attribute__((warn_unused_result));
void			 jwks_key_free(struct jwks_key *);

/* The key of the set with that kid, or NULL. */
const struct jwks_key	*jwks_find(const struct jwks *, const char *kid);

/*
 * Seconds a fetched key set may be kept, from its Cache-Control value
 * (may be NULL): max-age clamped to [min, max], dflt (clamped too) when
 * absent or malformed, min for no-cache, no-store, max-age=0 or a
 * repeated max-age.  Directive names are case-insensitive; max-age's
 * value is decimal digits only (no sign, no quotes), saturating.
 */
long long		 jwks_max_age(const char *cache_control, long long min,
			    long long max, long long dflt);

#endif
