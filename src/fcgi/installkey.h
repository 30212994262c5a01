/*
 * The public keys that sign Connect lifecycle requests (signed installs,
 * RS256), found by the token's kid: in install_key_dir/KID.pem, dropped
 * there by an admin or cached after a fetch, else fetched from
 * install_keys_url/KID.  A kid is unauthenticated input, so fetches are
 * throttled per kid and per client address, and kids the key service did
 * not know are remembered for a while (installkey.c says how, and why
 * nobody can hold up Atlassian's own installs).
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
 * The PEM public key for kid (checked with installkey_kid_ok first),
 * asked for by a client at addr (nginx's REMOTE_ADDR; NULL: unknown): a
 * malloc'd, NUL-terminated text of *len bytes, and in *fetched whether
 * it came from the key service (keep it with installkey_keep only once
 * it verified a token).  NULL with a log reason in *reason
 * (install_key_fetch_throttled, install_key_unknown_recently,
 * install_key_not_found, install_key_invalid, install_key_fetch_failed).
 */
char	*installkey_get(const struct conf *, const char *kid,
	    const char *addr, size_t *len, int *fetched, const char **reason);

/*
 * An operator's key: dir/KID.pem (kid checked by the caller), a
 * regular file (no FIFO, no symbolic link) holding one PEM public key
 * and nothing else, at most INSTALLKEY_PEM_MAX bytes; malloc'd and
 * NUL-terminated, *len bytes.  NULL if absent or unusable.  The Forge
 * token keys (forgekey.h) are read the same way.
 */
char	*installkey_pem_read(const char *dir, const char *kid, size_t *len);

/*
 * Caches a fetched key that verified a token as install_key_dir/KID.pem
 * (temp file, fsync, rename).  A failure is logged, not fatal.
 */
void	 installkey_keep(const struct conf *, const char *kid,
	    const char *pem, size_t len, const char *rid);

/*
 * The client whose unknown kids are counted together: an IPv4 address,
 * an IPv6 /48 ("2001:db8:1::/48"; IPv4-mapped addresses as IPv4), else
 * addr as it is; into out (outsz >= 64).
 */
void	 installkey_client(const char *addr, char *out, size_t outsz);

/* Forgets the fetch throttle and the kids known to be unknown. */
void	 installkey_forget(void);

#endif
