/*
 * Jira's JWTs, checked more strictly than libjwt 1.10.2 does on its own.
 * (The prefix is token_, not jwt_: libjwt's symbols own that namespace.)
 *
 * What libjwt 1.10.2 gets wrong, and what this module does about it:
 * - jwt_decode() with a NULL key or a key length of 0 verifies nothing:
 *   any signature, any algorithm passes.  A NULL or empty key is refused
 *   here before libjwt is called; a secret that failed to unseal is an
 *   authentication failure, never "empty".
 * - The algorithm always comes from the token header: an HS256 token
 *   "signed" with an RSA public key PEM as the HMAC secret verifies, and
 *   HS512 passes where HS256 was meant.  The caller pins the algorithm;
 *   the header's "alg" must equal it exactly and jwt_get_alg() is checked
 *   again after decoding.
 * - exp, iat and nbf are not validated, and jwt_get_grant_int() answers 0
 *   for a string and -1 when missing.  Claims are read here with typed
 *   getters; exp and iat are required integers, nbf is honoured.
 * - Every segment is copied with alloca(): a multi-megabyte token crashes
 *   the process.  Length (TOKEN_MAX_LEN for Connect, a profile's own
 *   limit, never more than TOKEN_LONGEST) and alphabet are capped
 *   before libjwt sees a token.
 * - libjwt parses with jansson (the last of two duplicate keys wins),
 *   cJSON keeps the first: header and claims are read only through our
 *   strict parser (json.h), which refuses duplicates, so the two can
 *   never read different claims.
 */
#ifndef CELLAR_TOKEN_H
#define CELLAR_TOKEN_H

#include <stddef.h>

#include <cjson/cJSON.h>

/* Longest Connect token accepted (token_parse), in bytes. */
#define TOKEN_MAX_LEN	8192
/*
 * Longest token of any profile (a Forge Invocation Token, fit.h's
 * FIT_MAX_LEN, is the longest): token_check_sig refuses anything
 * longer before libjwt copies it onto the stack.
 */
#define TOKEN_LONGEST	12288

enum token_alg {
	TOKEN_HS256 = 0,
	TOKEN_RS256,
	TOKEN_ALG__MAX
};

struct token_claims {
	cJSON		*header;	/* owned */
	cJSON		*payload;	/* owned */
	const char	*kid;		/* header; NULL if absent */
	const char	*iss;
	const char	*sub;		/* NULL if absent */
	const char	*qsh;		/* NULL unless the profile needs it */
	const char	*jti;		/* NULL unless the profile needs it */
	long long	 exp;
	long long	 iat;
	long long	 nbf;		/* 0 if absent */
	const cJSON	*aud;		/* NULL if absent */
	const cJSON	*context;	/* NULL if absent */
};

/*
 * Parses token without verifying its signature: shape, alphabet, length,
 * header (alg must equal pin exactly, typ JWT if present) and claims
 * (iss, qsh, exp, iat required with their types).  0, or -1 with a
 * reason code for the log in *reason.  The claims own both JSON trees
 * and every string points into them; free with token_claims_free (also
 * after a failure: it is then empty).
 */
int	 token_parse(const char *token, enum token_alg, struct token_claims *,
	    const char **reason) __attribute__((warn_unused_result));
void	 token_claims_free(struct token_claims *);

/*
 * The rules of one kind of token for token_parse_profile: its longest
 * length (at most TOKEN_LONGEST), its pinned algorithm and the members
 * it must carry beyond what every token carries (alg equal to the pin,
 * typ "JWT" if present, a kid that is a string if present, iss, and
 * exp and iat integers; nbf and sub read when present).
 */
struct token_profile {
	size_t		 max_len;
	enum token_alg	 alg;
	unsigned int	 need;		/* TOKEN_NEED_* */
};
#define TOKEN_NEED_QSH		0x01	/* qsh, a string (Connect) */
#define TOKEN_NEED_KID		0x02	/* the header's kid */
#define TOKEN_NEED_NBF		0x04	/* nbf, an integer */
#define TOKEN_NEED_JTI		0x08	/* jti, a string */
#define TOKEN_NEED_AUD_STR	0x10	/* aud, one non-empty string */

/*
 * token_parse under the rules of pr: the one parser behind Connect's
 * tokens (token_parse: qsh, TOKEN_MAX_LEN) and Forge's (fit_parse).
 * Reasons beyond token_parse's: kid_missing, nbf_missing_or_invalid,
 * jti_missing_or_invalid, aud_missing_or_invalid.
 */
int	 token_parse_profile(const char *token, const struct token_profile *pr,
	    struct token_claims *, const char **reason)
	    __attribute__((warn_unused_result));

/*
 * exp (with leeway), iat not in the future (with leeway), nbf, and a
 * lifetime exp - iat of at most max_life seconds: Jira's tokens live
 * minutes, so a token good for years is not one of them.  now and every
 * claim are seconds since the epoch (UTC); leeway and max_life seconds.
 */
int	 token_check_time(const struct token_claims *, long long now,
	    long long leeway, long long max_life, const char **reason)
	    __attribute__((warn_unused_result));

/*
 * Verifies the signature with libjwt under the pinned algorithm: the
 * HS256 secret or the RS256 public key PEM.  A NULL or empty key fails,
 * and so does a token longer than TOKEN_LONGEST (parse it first: its
 * profile's own limit is what counts).
 */
int	 token_check_sig(const char *token, enum token_alg,
	    const unsigned char *key, size_t keylen, const char **reason)
	    __attribute__((warn_unused_result));

/*
 * Signs claims (a JSON object) with HS256 into a malloc'd token, for
 * outbound calls to Jira.  NULL on failure.
 */
char	*token_sign_hs256(const cJSON *claims, const unsigned char *key,
	    size_t keylen);

#endif
