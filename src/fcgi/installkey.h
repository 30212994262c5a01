/*
 * The public keys that sign Connect lifecycle requests (signed installs,
 * RS256), found by the token's kid: in install_key_dir/KID.pem, dropped
 * there by an admin or cached after a fetch, else fetched from
 * install_keys_url/KID.  A kid is unauthenticated input, so fetches are
 * throttled per worker and kids the key service did not know are
 * remembered for a while.
 */
#ifndef CELLAR_FCGI_INSTALLKEY_H
#define CELLAR_FCGI_INSTALLKEY_H

#include <stddef.h>

#include "cellar/conf.h"

/* Largest PEM file read or fetched, bytes. */
#define INSTALLKEY_PEM_MAX	16384

/* 1 if kid is 1-128 of [A-Za-z0-9._-], not starting with '.'. */
int	 installkey_kid_ok(const char *kid);

/*
 * The PEM public key for kid (checked with installkey_kid_ok first): a
 * malloc'd, NUL-terminated text of *len bytes, and in *fetched whether
 * it came from the key service (keep it with installkey_keep only once
 * it verified a token).  NULL with a log reason in *reason.
 */
char	*installkey_get(const struct conf *, const char *kid, size_t *len,
	    int *fetched, const char **reason);

/*
 * Caches a fetched key that verified a token as install_key_dir/KID.pem
 * (temp file, fsync, rename).  A failure is logged, not fatal.
 */
void	 installkey_keep(const struct conf *, const char *kid,
	    const char *pem, size_t len, const char *rid);

/* Forgets the fetch throttle and the kids known to be unknown. */
void	 installkey_forget(void);

#endif
