/*
 * Jira's JWTs, checked more strictly than libjwt 1.10.2 does on its own:
 * the token's length and alphabet are capped before libjwt sees it (it
 * alloca()s every segment), the header and the claims are read by our
 * strict JSON parser (duplicates refused, so libjwt's jansson and we can
 * never read different claims), the algorithm is pinned by the caller and
 * never taken from the header, exp and iat are required integers, nbf is
 * honoured, and a key of length 0 is refused before libjwt would verify
 * nothing with it.
 */
#ifndef CELLAR_JWT_CHECK_H
#define CELLAR_JWT_CHECK_H

#include <stddef.h>

#include <cjson/cJSON.h>

/* Longest token accepted, in bytes. */
#define JWT_MAX_LEN	8192

enum jwt_pin {
	JWT_HS256 = 0,
	JWT_RS256,
	JWT_PIN__MAX
};

struct jwt_claims {
	cJSON		*header;	/* owned */
	cJSON		*payload;	/* owned */
	const char	*kid;		/* header; NULL if absent */
	const char	*iss;
	const char	*sub;		/* NULL if absent */
	const char	*qsh;
	long long	 exp;
	long long	 iat;
	long long	 nbf;		/* 0 if absent */
	const cJSON	*aud;		/* NULL if absent */
	const cJSON	*context;	/* NULL if absent */
	int		 borrowed;	/* trees owned elsewhere (a cache) */
};

/*
 * Parses token without verifying its signature: shape, alphabet, length,
 * header (alg must equal pin exactly, typ JWT if present) and claims
 * (iss, qsh, exp, iat required with their types).  0, or -1 with a
 * reason code for the log in *reason.  Free with jwt_claims_free.
 */
int	 jwt_parse(const char *token, enum jwt_pin, struct jwt_claims *,
	    const char **reason) __attribute__((warn_unused_result));
void	 jwt_claims_free(struct jwt_claims *);

/*
 * exp (with leeway), iat not in the future (with leeway), nbf, and a
 * lifetime exp - iat of at most max_life seconds: Jira's tokens live
 * minutes, so a token good for years is not one of them.
 */
int	 jwt_check_time(const struct jwt_claims *, long long now,
	    long long leeway, long long max_life, const char **reason)
	    __attribute__((warn_unused_result));

/*
 * Verifies the signature with libjwt under the pinned algorithm: the
 * HS256 secret or the RS256 public key PEM.  A NULL or empty key fails.
 */
int	 jwt_check_sig(const char *token, enum jwt_pin,
	    const unsigned char *key, size_t keylen, const char **reason)
	    __attribute__((warn_unused_result));

/*
 * Signs claims (a JSON object) with HS256 into a malloc'd token, for
 * outbound calls to Jira.  NULL on failure.
 */
char	*jwt_sign_hs256(const cJSON *claims, const unsigned char *key,
	    size_t keylen);

#endif
