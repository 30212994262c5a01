/*
 * Master key files and sealing.  A key file is "master-NNNN.key" holding
 * exactly 32 bytes; the directory and each file must be closed to group
 * and others, or nothing is loaded.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "cellar/file.h"
#include "cellar/keys.h"
#include "cellar/util.h"

_Static_assert(KEYS_SEALED_LEN(0) ==
    crypto_aead_xchacha20poly1305_ietf_NPUBBYTES +
    crypto_aead_xchacha20poly1305_ietf_ABYTES, "KEYS_SEALED_LEN");
_Static_assert(KEY_BYTES == crypto_aead_xchacha20poly1305_ietf_KEYBYTES &&
    KEY_BYTES == crypto_kdf_KEYBYTES, "KEY_BYTES");
_Static_assert(sizeof(KDF_REGISTRY) - 1 == crypto_kdf_CONTEXTBYTES &&
    sizeof(KDF_SEAL) - 1 == crypto_kdf_CONTEXTBYTES, "kdf contexts");

/* One master version: its key and the seal key derived from it. */
struct mkey {
	int		 version;
	unsigned char	*key;		/* sodium_malloc, read-only */
	unsigned char	*seal;		/* derived once, ditto */
};

struct keyring {
	struct mkey	 m[KEYS_MAX_VERSIONS];	/* newest first */
	size_t		 n;
	char		*dir;		/* where they were read */
	struct timespec	 dir_mtime;	/* the directory as it was then */
	ino_t		 dir_ino;
};

static int
dir_private(const char *dir, char *err, size_t errsz)
{
	struct stat	 st;

	if (stat(dir, &st) == -1) {
		snprintf(err, errsz, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errsz, "%s: not a directory", dir);
		return -1;
	}
	if ((st.st_mode & 0077) != 0) {
		snprintf(err, errsz, "%s: key directory is accessible to "
		    "group or others (mode %03o): chmod 700 %s", dir,
		    (unsigned)(st.st_mode & 0777), dir);
		return -1;
	}
	if (st.st_uid != geteuid()) {
		snprintf(err, errsz, "%s: key directory is not owned by this "
		    "user (uid %u): run as its owner", dir,
		    (unsigned)st.st_uid);
		return -1;
	}
	return 0;
}

int
keys_present(const char *dir)
{
	DIR		*d;
	struct dirent	*de;
	int		 any = 0;

	if ((d = opendir(dir)) == NULL)
		return errno != ENOENT;
	while (!any && (de = readdir(d)) != NULL)
		any = strncmp(de->d_name, "master-", 7) == 0;
	closedir(d);
	return any;
}

/*
 * Writes KEY_BYTES of fresh key to a temporary file in dir, syncs it and
 * links it as path: link(2) never replaces an existing file, so a key is
 * never overwritten, and path exists whole or not at all.
 */
static int
key_write(const char *dir, const char *path, char *err, size_t errsz)
{
	unsigned char	*k = NULL;
	char		*tmp = NULL;
	int		 fd = -1, rc = -1;

	if ((tmp = util_path_join(dir, ".master.key.tmp")) == NULL ||
	    (k = sodium_malloc(KEY_BYTES)) == NULL) {
		snprintf(err, errsz, "out of memory");
		goto out;
	}
	(void)unlink(tmp);	/* a leftover of a run that died */
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW, 0600)) == -1) {
		snprintf(err, errsz, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	randombytes_buf(k, KEY_BYTES);
	if (write(fd, k, KEY_BYTES) != KEY_BYTES || fsync(fd) == -1 ||
	    close(fd) == -1) {
		snprintf(err, errsz, "%s: %s", tmp, strerror(errno));
		fd = -1;
		goto out;
	}
	fd = -1;
	if (link(tmp, path) == -1) {
		snprintf(err, errsz, "%s: %s", path, errno == EEXIST ?
		    "a master key exists already; refusing to overwrite it" :
		    strerror(errno));
		goto out;
	}
	if (file_fsync_dir(dir) == -1) {
		snprintf(err, errsz, "%s: %s", dir, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	if (tmp != NULL)
		(void)unlink(tmp);
	sodium_free(k);
	free(tmp);
	return rc;
}

int
keys_init_dir(const char *dir, char *err, size_t errsz)
{
	char	*path;
	int	 rc;

	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		snprintf(err, errsz, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (dir_private(dir, err, errsz) == -1)
		return -1;
	if (keys_present(dir)) {
		snprintf(err, errsz, "%s: master keys exist already; refusing "
		    "to create another version 1", dir);
		return -1;
	}
	if ((path = util_path_join(dir, "master-0001.key")) == NULL) {
		snprintf(err, errsz, "out of memory");
		return -1;
	}
	/* Never overwrite a key: that would shred every tenant. */
	rc = key_write(dir, path, err, errsz);
	free(path);
	return rc;
}

/* Reads one key file into k; -1 with err on any irregularity. */
static int
key_read(const char *path, unsigned char *k, char *err, size_t errsz)
{
	struct stat	 st;
	unsigned char	 extra;
	ssize_t		 n;
	int		 fd, rc = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		if (errno == EACCES && stat(path, &st) == 0 &&
		    st.st_uid != geteuid())
			snprintf(err, errsz, "%s: key file is not owned by this "
			    "user (uid %u): run as its owner", path,
			    (unsigned)st.st_uid);
		else
			snprintf(err, errsz, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(err, errsz, "%s: key file must be a regular file",
		    path);
		goto out;
	}
	if (st.st_uid != geteuid()) {
		snprintf(err, errsz, "%s: key file is not owned by this user "
		    "(uid %u): run as its owner, or chown it", path,
		    (unsigned)st.st_uid);
		goto out;
	}
	if ((st.st_mode & 0077) != 0) {
		snprintf(err, errsz, "%s: key file is accessible to group or "
		    "others (mode %03o): chmod 600 %s", path,
		    (unsigned)(st.st_mode & 0777), path);
		goto out;
	}
	n = read(fd, k, KEY_BYTES);
	if (n != KEY_BYTES || read(fd, &extra, 1) != 0) {
		snprintf(err, errsz, "%s: a key file holds exactly %d bytes",
		    path, KEY_BYTES);
		goto out;
	}
	rc = 0;
out:
	close(fd);
	return rc;
}

static int
mkey_newer_first(const void *a, const void *b)
{
	const struct mkey	*x = a, *y = b;

	return (x->version < y->version) - (x->version > y->version);
}

struct keyring *
keys_load(const char *dir, char *err, size_t errsz)
{
	struct keyring	*kr;
	DIR		*d = NULL;
	struct dirent	*de;
	char		*path;
	long long	 v;
	char		 num[8];
	struct mkey	*mk;
	struct stat	 sb;
	int		 ok = 0;

	if ((kr = calloc(1, sizeof(*kr))) == NULL) {
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	if (dir_private(dir, err, errsz) == -1)
		goto out;
	/* Before the reading: a key added meanwhile shows as a change. */
	if ((kr->dir = strdup(dir)) == NULL || stat(dir, &sb) == -1) {
		snprintf(err, errsz, "%s: %s", dir, strerror(errno));
		goto out;
	}
	kr->dir_mtime = sb.st_mtim;
	kr->dir_ino = sb.st_ino;
	if ((d = opendir(dir)) == NULL) {
		snprintf(err, errsz, "%s: %s", dir, strerror(errno));
		goto out;
	}
	while ((de = readdir(d)) != NULL) {
		/* master-NNNN.key */
		if (strlen(de->d_name) != 15 ||
		    strncmp(de->d_name, "master-", 7) != 0 ||
		    strcmp(de->d_name + 11, ".key") != 0)
			continue;
		memcpy(num, de->d_name + 7, 4);
		num[4] = '\0';
		if (num[0] < '0' || num[0] > '9' ||
		    util_strtonum(num, 1, 9999, &v) == -1)
			continue;
		if (kr->n == KEYS_MAX_VERSIONS) {
			snprintf(err, errsz, "%s: more than %d master keys",
			    dir, KEYS_MAX_VERSIONS);
			goto out;
		}
		mk = &kr->m[kr->n++];
		mk->version = (int)v;
		if ((mk->key = sodium_malloc(KEY_BYTES)) == NULL ||
		    (mk->seal = sodium_malloc(KEY_BYTES)) == NULL ||
		    (path = util_path_join(dir, de->d_name)) == NULL) {
			snprintf(err, errsz, "out of memory");
			goto out;
		}
		if (key_read(path, mk->key, err, errsz) == -1) {
			free(path);
			goto out;
		}
		free(path);
		/* The seal key is used on every request: derive it once. */
		crypto_kdf_derive_from_key(mk->seal, KEY_BYTES, 1, KDF_SEAL,
		    mk->key);
		sodium_mprotect_readonly(mk->key);
		sodium_mprotect_readonly(mk->seal);
	}
	if (kr->n == 0) {
		snprintf(err, errsz, "%s: no master key (run \"cellarctl "
		    "init\")", dir);
		goto out;
	}
	qsort(kr->m, kr->n, sizeof(kr->m[0]), mkey_newer_first);
	ok = 1;
out:
	if (d != NULL)
		closedir(d);
	if (!ok) {
		keys_free(kr);
		return NULL;
	}
	return kr;
}

void
keys_free(struct keyring *kr)
{
	size_t	 i;

	if (kr == NULL)
		return;
	for (i = 0; i < kr->n; i++) {
		sodium_free(kr->m[i].key);
		sodium_free(kr->m[i].seal);
	}
	free(kr->dir);
	free(kr);
}

int
keys_refresh(struct keyring *kr, char *err, size_t errsz)
{
	struct keyring	*fresh;
	struct stat	 sb;
	size_t		 i;

	if (kr == NULL || kr->dir == NULL)
		return 0;
	if (stat(kr->dir, &sb) == 0 && sb.st_ino == kr->dir_ino &&
	    sb.st_mtim.tv_sec == kr->dir_mtime.tv_sec &&
	    sb.st_mtim.tv_nsec == kr->dir_mtime.tv_nsec)
		return 0;
	if ((fresh = keys_load(kr->dir, err, errsz)) == NULL)
		return -1;
	/* The same struct, new contents: whoever holds kr sees them. */
	for (i = 0; i < kr->n; i++) {
		sodium_free(kr->m[i].key);
		sodium_free(kr->m[i].seal);
	}
	memcpy(kr->m, fresh->m, sizeof(kr->m));
	kr->n = fresh->n;
	kr->dir_mtime = fresh->dir_mtime;
	kr->dir_ino = fresh->dir_ino;
	fresh->n = 0;
	keys_free(fresh);
	return 1;
}

int
keys_add_version(struct keyring *kr, int *version, char *err, size_t errsz)
{
	char	 name[32], *path;
	int	 rc;

	/* Whatever another process added first counts. */
	if (keys_refresh(kr, err, errsz) == -1)
		return -1;
	if (kr->m[0].version >= 9999) {
		snprintf(err, errsz, "master key versions exhausted");
		return -1;
	}
	snprintf(name, sizeof(name), "master-%04d.key", kr->m[0].version + 1);
	if ((path = util_path_join(kr->dir, name)) == NULL) {
		snprintf(err, errsz, "out of memory");
		return -1;
	}
	rc = key_write(kr->dir, path, err, errsz);
	free(path);
	if (rc == -1 || keys_refresh(kr, err, errsz) == -1)
		return -1;
	*version = kr->m[0].version;
	return 0;
}

int
keys_destroy_version(struct keyring *kr, int v, char *err, size_t errsz)
{
	char	 name[32], *path;

	if (v == kr->m[0].version) {
		snprintf(err, errsz, "the current master key is never "
		    "destroyed");
		return -1;
	}
	snprintf(name, sizeof(name), "master-%04d.key", v);
	if ((path = util_path_join(kr->dir, name)) == NULL) {
		snprintf(err, errsz, "out of memory");
		return -1;
	}
	if (unlink(path) == -1 && errno != ENOENT) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	free(path);
	if (file_fsync_dir(kr->dir) == -1) {
		snprintf(err, errsz, "%s: %s", kr->dir, strerror(errno));
		return -1;
	}
	return keys_refresh(kr, err, errsz) == -1 ? -1 : 0;
}

int
keys_has(const struct keyring *kr, int v)
{
	size_t	 i;

	for (i = 0; i < kr->n; i++)
		if (kr->m[i].version == v)
			return 1;
	return 0;
}

long long
keys_created(const struct keyring *kr, int v)
{
	struct stat	 sb;
	char		 name[32], *path;
	long long	 t = -1;

	snprintf(name, sizeof(name), "master-%04d.key", v);
	if ((path = util_path_join(kr->dir, name)) == NULL)
		return -1;
	if (stat(path, &sb) == 0)
		t = (long long)sb.st_mtime;
	free(path);
	return t;
}

int
keys_current(const struct keyring *kr)
{
	return kr->m[0].version;
}

size_t
keys_versions(const struct keyring *kr, int *out, size_t max)
{
	size_t	 i;

	for (i = 0; i < kr->n && i < max; i++)
		out[i] = kr->m[i].version;
	return i;
}

/* Master version v, or NULL if the ring does not hold it. */
static const struct mkey *
mkey_find(const struct keyring *kr, int v)
{
	size_t	 i;

	for (i = 0; i < kr->n; i++)
		if (kr->m[i].version == v)
			return &kr->m[i];
	return NULL;
}

int
keys_derive(const struct keyring *kr, int v, const char *ctx,
    unsigned char *out)
{
	const struct mkey	*mk;

	if (strlen(ctx) != crypto_kdf_CONTEXTBYTES ||
	    (mk = mkey_find(kr, v)) == NULL)
		return -1;
	return crypto_kdf_derive_from_key(out, KEY_BYTES, 1, ctx, mk->key);
}

int
keys_seal(const struct keyring *kr, int v, const char *aad,
    const unsigned char *msg, size_t len, unsigned char *out)
{
	const size_t		 nb = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
	const struct mkey	*mk;

	if ((mk = mkey_find(kr, v)) == NULL)
		return -1;
	randombytes_buf(out, nb);
	crypto_aead_xchacha20poly1305_ietf_encrypt(out + nb, NULL, msg, len,
	    (const unsigned char *)aad, strlen(aad), NULL, out, mk->seal);
	return 0;
}

int
keys_open(const struct keyring *kr, int v, const char *aad,
    const unsigned char *in, size_t len, unsigned char *out)
{
	const size_t		 nb = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
	const struct mkey	*mk;

	if (len < KEYS_SEALED_LEN(0) || (mk = mkey_find(kr, v)) == NULL)
		return -1;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(out, NULL, NULL,
	    in + nb, len - nb, (const unsigned char *)aad, strlen(aad), in,
	    mk->seal) != 0)
		return -1;
	return 0;
}

void
keys_aad_dek(char *out, size_t outsz, const char *tenant_id, int dek_version,
    int master_version)
{
	snprintf(out, outsz, "cellar-dek|%s|%d|%d", tenant_id, dek_version,
	    master_version);
}

void
keys_aad_secret(char *out, size_t outsz, const char *tenant_id,
    int master_version)
{
	snprintf(out, outsz, "cellar-secret|%s|%d", tenant_id,
	    master_version);
}
