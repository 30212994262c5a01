/*
 * The public keys that sign Forge Invocation Tokens, found by the
 * token's kid, in this order:
 *
 *   1. key_dir/KID.pem, an operator's key ([forge] key_dir; read as
 *      install keys are, installkey_pem_read);
 *   2. the key set this worker holds (Atlassian's JWKS, jwks.h);
 *   3. the key set's cache file key_dir/jwks.json, shared by the
 *      workers: the set as fetched, with its URL, fetch time and
 *      max-age (a file fetched from another URL than [forge] jwks_url,
 *      after jwks_url changed, is as if absent: its keys never verify,
 *      its fetch time throttles nothing);
 *   4. a fetch of [forge] jwks_url (https, or http to a loopback
 *      address), fetch_timeout_ms, at most JWKS_MAX_BYTES, kept for
 *      its Cache-Control max-age clamped to [FORGEKEY_AGE_MIN,
 *      FORGEKEY_AGE_MAX] (FORGEKEY_AGE_DEFAULT without one).
 *
 * A set past its max-age is fetched again; a kid the set does not hold
 * makes a fetch too; either at most once per FORGEKEY_REFETCH seconds
 * across all workers and their restarts, fetches that failed included:
 * every attempt is recorded in key_dir/FORGEKEY_TRIED (with its URL)
 * under a lock, before it starts; and an unknown kid not while the set
 * held is younger than that (another worker just fetched).  A kid is unauthenticated input: whatever an
 * unknown kid costs, it is that one fetch per FORGEKEY_REFETCH.  A fetch
 * that fails keeps the set held (and its keys keep verifying, stale or
 * not): only a kid outside it fails closed.
 *
 * Time is the wall clock (clock_now): the fetch time is shared through
 * the cache file by processes that share no monotonic clock across a
 * reboot.  A time in the future (the clock stepped back) counts as
 * long ago: stale, fetch allowed.
 */
#ifndef CELLAR_FCGI_FORGEKEY_H
#define CELLAR_FCGI_FORGEKEY_H

#include <stddef.h>

#include "cellar/buf.h"
#include "cellar/conf.h"
#include "cellar/jwks.h"

/* Key set lifetimes (seconds): Atlassian's max-age, clamped. */
#define FORGEKEY_AGE_MIN	300
#define FORGEKEY_AGE_MAX	86400
#define FORGEKEY_AGE_DEFAULT	3600
/* Least time between two fetches for an unknown kid (seconds). */
#define FORGEKEY_REFETCH	30
/* Operators' keys held parsed at once. */
#define FORGEKEY_OPERATOR_KEYS	8
/* The cache file's name in key_dir. */
#define FORGEKEY_CACHE		"jwks.json"
/* The last fetch attempt's record in key_dir. */
#define FORGEKEY_TRIED		"jwks.tried"

/*
 * The public key for kid, parsed (jwks.h): forgekey's own, valid until
 * the next forgekey_get or forgekey_forget (do not free it), or NULL
 * with a log reason in *reason: fit_kid_invalid (not jwks_kid_ok),
 * fit_operator_key_unusable (key_dir/KID.pem is there but not an RSA
 * key jwks_key_from_pem takes), fit_kid_unknown (the set does not
 * hold it, none could be fetched or the set fetched does not either),
 * fit_kid_unknown_recently (the set does not hold it and the last
 * fetch is too recent), fit_jwks_unavailable (no set at all: none
 * could be fetched, or jwks_url is neither https nor loopback http).
 * A fetch or cache failure is logged with rid (never a key).
 *
 * No request parses a key: a set's keys were parsed with the set, and
 * an operator's file, read on every call (an operator who removes or
 * replaces it is obeyed at once), is parsed again only when its bytes
 * differ from those parsed last (FORGEKEY_OPERATOR_KEYS of them held,
 * least recently used replaced).
 */
const struct jwks_key *forgekey_get(const struct conf *, const char *kid,
	    const char *rid, const char **reason);

/*
 * Forgets the set held, the operators' keys and the fetch throttle (at
 * exit, in tests).
 */
void	 forgekey_forget(void);

/*
 * How the key set is fetched: url with a timeout of timeout_ms, the
 * body into body (its max bounds it) and the Cache-Control header value
 * into cc (ccsz bytes, "" when absent).  0 with the HTTP status, -1
 * when nothing came back.  The worker's is an outbound call; tests put
 * theirs with forgekey_fetch_set (NULL: the worker's again).
 */
typedef int	(*forgekey_fetch_fn)(const char *url, long timeout_ms,
		    struct buf *body, char *cc, size_t ccsz, long *status);
void	 forgekey_fetch_set(forgekey_fetch_fn);

#endif
