/*
 * The Forge Invocation Token (FIT): what Forge sends a Forge Remote as
 * "Authorization: Bearer <FIT>", and what cellar takes from it once its
 * signature verified (fit_check_sig, RS256, a key of Atlassian's set).
 * Atlassian's contract ("Forge remote essentials", the invocation
 * contract): iss "forge/invocation-token", aud the app id
 * "ari:cloud:ecosystem::app/<uuid>", exp/iat/nbf/jti, tokens living
 * about 25 s; app.installationId names the installation (the tenant),
 * app.apiBaseUrl is where calls back go (not the site URL), principal
 * is the invoking user (UI modules only), context (frontend only)
 * carries cloudId, siteUrl and the extension (the issue or project).
 *
 * fit_read trusts nothing it is not told: aud is compared with the
 * configured app id, never with the token's own app.id.
 */
#ifndef CELLAR_FIT_H
#define CELLAR_FIT_H

#include "cellar/token.h"

struct jwks_key;

/*
 * Longest FIT accepted, bytes (nginx takes 16 KiB per header line); at
 * most token.h's TOKEN_LONGEST, which token_check_sig takes.
 */
#define FIT_MAX_LEN	12288
#define FIT_ISSUER	"forge/invocation-token"
/* "ari:cloud:ecosystem::installation/" + a UUID. */
#define FIT_INSTALLATION_MAX	80

/*
 * What cellar uses of a verified FIT.  Strings point into the claims
 * (valid while they are); optional ones are NULL when absent.
 */
struct fit {
	const char	*installation_id;	/* app.installationId, checked */
	const char	*api_base_url;		/* app.apiBaseUrl, no trailing / */
	const char	*app_version;		/* app.appVersion, or NULL */
	const char	*principal;		/* account id, or NULL */
	const char	*cloud_id;		/* context or installation, or NULL */
	const char	*site_url;		/* context.siteUrl, or NULL */
	const char	*module_key;		/* app.module.key, or NULL */
	const char	*jti;
	char		 project_id[20];	/* decimal, or "" */
	char		 issue_id[20];		/* decimal, or "" */
};

/*
 * Parses a FIT without verifying its signature: token_parse_profile
 * with Forge's rules (length at most FIT_MAX_LEN, alphabet, strict
 * JSON, alg exactly RS256, typ JWT if present), requiring a kid in the
 * header that jwks_kid_ok takes, and exp, iat, nbf (integers), iss, aud
 * (one string) and jti in the claims; qsh is neither needed nor read.
 * 0, or -1 with a reason (token.h's, and kid_missing, kid_invalid,
 * nbf_missing_or_invalid, aud_missing_or_invalid,
 * jti_missing_or_invalid); free claims with token_claims_free in both
 * cases.
 */
int	 fit_parse(const char *token, struct token_claims *,
	    const char **reason) __attribute__((warn_unused_result));

/*
 * Verifies the signature of a token fit_parse took (do not call it on
 * anything else) with key, a parsed public key (jwks.h): RSASSA-PKCS1-
 * v1_5 with SHA-256 over "header.payload", whatever the header says
 * (fit_parse pinned alg RS256; this never reads it).  The signature
 * segment must be base64url without padding of exactly the modulus
 * size.  No PEM or JWK is parsed here: the key was, once; the SHA-256
 * implementation is fetched once per process (OpenSSL's fetches take
 * locks) and kept in a static without a lock of its own: for
 * single-threaded processes, as cellar's are.  0, or -1 with a log
 * reason: no_key, token_too_long, token_segments, signature_encoding
 * (not base64url, padded, or not the modulus size), bad_signature,
 * no_memory.
 */
int	 fit_check_sig(const char *token, const struct jwks_key *key,
	    const char **reason) __attribute__((warn_unused_result));

/*
 * Checks the claims of a FIT whose signature verified: iss equals
 * FIT_ISSUER, aud equals app_id exactly (an empty or NULL app_id
 * matches nothing), app.installationId is an installation ARI,
 * app.apiBaseUrl an https URL (http only on loopback; no query,
 * fragment, user info or trailing slash), principal (if present) an
 * account id (1-128 of [A-Za-z0-9:-]), the cloud id (context.cloudId,
 * else app.installation.contexts[0].cloudId, if present) 1-64 of
 * [A-Za-z0-9-], context.siteUrl (if present) a URL as apiBaseUrl,
 * app.appVersion and app.module.key (if present) strings, and
 * context.extension's project.id and issue.id (if present) decimal
 * strings or non-negative integers, stored as canonical decimal text.
 * An optional member that is JSON null counts as absent.  Time is
 * checked apart (token_check_time).  0 with out filled, or -1 with a
 * reason (fit_iss, fit_aud, fit_installation, fit_api_base_url,
 * fit_principal, fit_cloud_id, fit_context) and out zeroed.
 */
int	 fit_read(const struct token_claims *, const char *app_id,
	    struct fit *out, const char **reason)
	    __attribute__((warn_unused_result));

/* 1 if s is "ari:cloud:ecosystem::installation/" and a UUID (lowercase
   hex, as Atlassian writes them: one installation, one spelling). */
int	 fit_installation_ok(const char *s);
/* 1 if s is "ari:cloud:ecosystem::app/" and a lowercase UUID. */
int	 fit_app_id_ok(const char *s);

#endif
