/*
 * Envelope encryption.  Master keys (32 random bytes per version, one
 * file each, mode 0600) never leave this module's sodium_malloc memory;
 * purpose keys are derived from them with crypto_kdf, and tenant data
 * keys and shared secrets are sealed with XChaCha20-Poly1305 under a
 * purpose key, bound to their owner by additional data.
 *
 * libsodium 1.0.18 rules followed here: sodium_init() runs first (every
 * program's main); crypto_kdf contexts are exactly 8 bytes
 * (crypto_kdf_CONTEXTBYTES, checked); every seal draws a fresh random
 * 24-byte nonce (XChaCha20's nonce is large enough for random ones);
 * additional data binds each ciphertext to its owner and version, so a
 * sealed blob copied to another tenant or version does not open.
 */
#ifndef CELLAR_KEYS_H
#define CELLAR_KEYS_H

#include <stddef.h>

#define KEY_BYTES		32
#define KEYS_MAX_VERSIONS	64
/*
 * Sealed size of n bytes: nonce + ciphertext + tag
 * (crypto_aead_xchacha20poly1305_ietf_NPUBBYTES and _ABYTES; keys.c
 * asserts both).
 */
#define KEYS_SEALED_LEN(n)	(24 + (n) + 16)
/* Room for any additional data keys_aad_* write. */
#define KEYS_AAD_MAX		128

/* crypto_kdf contexts: exactly 8 bytes each. */
#define KDF_REGISTRY	"REGISTRY"	/* opens registry.db */
#define KDF_SEAL	"SEALKEYS"	/* seals DEKs and shared secrets */

struct keyring;

/*
 * Creates master key version 1 in dir (created 0700 if missing), written
 * whole (temporary file, fsync, link, directory fsync).  Refuses a
 * directory others can read or enter, and any existing key file.
 * Returns 0, or -1 with a message in err.
 */
int	 keys_init_dir(const char *dir, char *err, size_t errsz)
	    __attribute__((warn_unused_result));

/* 1 if dir holds a master key file (or cannot be read: be safe). */
int	 keys_present(const char *dir);

/*
 * Loads every master version in dir.  Refuses a directory or key file
 * others can access, a key of the wrong size, and an empty directory.
 */
struct keyring *keys_load(const char *dir, char *err, size_t errsz);
void	 keys_free(struct keyring *);

/*
 * Reads the key directory again if it changed since (its mtime or inode;
 * one stat when it did not): versions made by another process are added,
 * destroyed ones dropped and wiped.  The same keyring, new contents, so
 * every holder of kr (the registry) sees them.  1 if it changed, 0 if
 * not, -1 with err (kr unchanged).  The registry calls it when a
 * wrapped key or secret names a master version the ring lacks, and
 * before it reconnects: a rotation's new master key reaches a running
 * worker without a restart, and costs nothing per request.
 */
int	 keys_refresh(struct keyring *, char *err, size_t errsz);

/*
 * Makes master version newest + 1 in the key directory, written whole
 * and never over an existing file (as keys_init_dir), and loads it:
 * *version.  0, or -1 with err.
 */
int	 keys_add_version(struct keyring *, int *version, char *err,
	    size_t errsz) __attribute__((warn_unused_result));

/*
 * Destroys master version v: its file unlinked and the directory synced,
 * its memory wiped.  Never the newest.  The caller checked that nothing
 * needs it.  0, or -1 with err.
 */
int	 keys_destroy_version(struct keyring *, int v, char *err,
	    size_t errsz) __attribute__((warn_unused_result));

/* 1 if kr holds master version v. */
int	 keys_has(const struct keyring *, int v);

/*
 * When master version v's file was written (its mtime: key files are
 * written once), in seconds since the epoch; -1 if it is not there.
 */
long long keys_created(const struct keyring *, int v);

/* The newest master version. */
int	 keys_current(const struct keyring *);
/* Master versions, newest first, into out; returns how many. */
size_t	 keys_versions(const struct keyring *, int *out, size_t max);

/*
 * Derives the purpose key ctx (8 bytes) of master version v into out
 * (KEY_BYTES, caller's sodium_malloc memory).  -1 if v is unknown.
 */
int	 keys_derive(const struct keyring *, int v, const char *ctx,
	    unsigned char *out) __attribute__((warn_unused_result));

/*
 * Seals msg[0..len) under master v's seal key, bound to aad; out must
 * hold KEYS_SEALED_LEN(len) bytes.  Returns 0 or -1.
 */
int	 keys_seal(const struct keyring *, int v, const char *aad,
	    const unsigned char *msg, size_t len, unsigned char *out)
	    __attribute__((warn_unused_result));

/*
 * Opens what keys_seal made; out must hold len - KEYS_SEALED_LEN(0)
 * bytes.  -1 if v is unknown, the data was altered or the aad differs.
 */
int	 keys_open(const struct keyring *, int v, const char *aad,
	    const unsigned char *in, size_t len, unsigned char *out)
	    __attribute__((warn_unused_result));

/*
 * Additional data binding a tenant's DEK (to tenant, DEK version and
 * master version) or shared secret (to tenant and master version).  out
 * holds KEYS_AAD_MAX bytes.
 */
void	 keys_aad_dek(char *out, size_t outsz, const char *tenant_id,
	    int dek_version, int master_version);
void	 keys_aad_secret(char *out, size_t outsz, const char *tenant_id,
	    int master_version);

#endif
