/*
 * keys: master key files and sealing, which the reaper's rotation will
 * change.  What the promises rest on: a key file is ours alone and never
 * overwritten; a sealed blob opens only under the master version, the
 * additional data (tenant, versions) and the exact bytes it was sealed
 * with; the newest version is the current one.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "cellar/keys.h"
#include "fixture.h"

struct kfx {
	char		 dir[64];
	char		 keys[96];
	struct keyring	*kr;
};

static int
setup(void **state)
{
	struct kfx	*f = calloc(1, sizeof(*f));
	char		 err[256];

	assert_non_null(f);
	assert_int_not_equal(sodium_init(), -1);
	assert_int_equal(fx_tmpdir(f->dir, sizeof(f->dir)), 0);
	snprintf(f->keys, sizeof(f->keys), "%s/keys", f->dir);
	assert_int_equal(keys_init_dir(f->keys, err, sizeof(err)), 0);
	assert_non_null(f->kr = keys_load(f->keys, err, sizeof(err)));
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct kfx	*f = *state;

	keys_free(f->kr);
	assert_int_equal(fx_rmtree(f->dir), 0);
	free(f);
	return 0;
}

/* Writes n bytes of key material as dir/name with mode. */
static void
key_file(const char *dir, const char *name, size_t n, mode_t mode)
{
	unsigned char	 k[64];
	char		 path[160];
	int		 fd;

	randombytes_buf(k, sizeof(k));
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_true((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode)) >= 0);
	assert_int_equal(write(fd, k, n), (ssize_t)n);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void
test_init_makes_one_private_key_and_never_another(void **state)
{
	struct kfx	*f = *state;
	struct stat	 st;
	char		 path[160], err[256];

	assert_int_equal(stat(f->keys, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	snprintf(path, sizeof(path), "%s/master-0001.key", f->keys);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, KEY_BYTES);
	/* A second init would shred every tenant: refused. */
	assert_int_equal(keys_init_dir(f->keys, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "exist"));
	assert_int_equal(keys_current(f->kr), 1);
}

static void
test_load_refuses_what_others_can_read(void **state)
{
	struct kfx	*f = *state;
	char		 dir[160], err[256];

	/* An open directory. */
	assert_int_equal(chmod(f->keys, 0750), 0);
	assert_null(keys_load(f->keys, err, sizeof(err)));
	assert_non_null(strstr(err, "chmod 700"));
	assert_int_equal(chmod(f->keys, 0700), 0);
	/* A readable key file, and one of the wrong size. */
	snprintf(dir, sizeof(dir), "%s/k2", f->dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	key_file(dir, "master-0001.key", KEY_BYTES, 0640);
	assert_null(keys_load(dir, err, sizeof(err)));
	assert_non_null(strstr(err, "chmod 600"));
	snprintf(dir, sizeof(dir), "%s/k3", f->dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	key_file(dir, "master-0001.key", KEY_BYTES + 1, 0600);
	assert_null(keys_load(dir, err, sizeof(err)));
	assert_non_null(strstr(err, "exactly 32 bytes"));
	/* No key at all. */
	snprintf(dir, sizeof(dir), "%s/k4", f->dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_null(keys_load(dir, err, sizeof(err)));
	assert_non_null(strstr(err, "no master key"));
}

static void
test_newest_version_is_current(void **state)
{
	struct kfx	*f = *state;
	struct keyring	*kr;
	char		 err[256];
	int		 v[8];

	key_file(f->keys, "master-0010.key", KEY_BYTES, 0600);
	key_file(f->keys, "master-0002.key", KEY_BYTES, 0600);
	key_file(f->keys, "not-a-key.txt", 3, 0600);
	assert_non_null(kr = keys_load(f->keys, err, sizeof(err)));
	assert_int_equal(keys_current(kr), 10);
	assert_int_equal(keys_versions(kr, v, 8), 3);
	assert_int_equal(v[0], 10);
	assert_int_equal(v[1], 2);
	assert_int_equal(v[2], 1);
	assert_int_equal(keys_versions(kr, v, 2), 2);
	keys_free(kr);
}

static void
test_sealed_opens_only_as_sealed(void **state)
{
	struct kfx	*f = *state;
	struct keyring	*kr;
	const unsigned char msg[] = "a shared secret of the tenant";
	unsigned char	 sealed[KEYS_SEALED_LEN(sizeof(msg))];
	unsigned char	 out[sizeof(msg)], bad[sizeof(sealed)];
	char		 aad[KEYS_AAD_MAX], other[KEYS_AAD_MAX], err[256];

	key_file(f->keys, "master-0002.key", KEY_BYTES, 0600);
	assert_non_null(kr = keys_load(f->keys, err, sizeof(err)));
	keys_aad_secret(aad, sizeof(aad), "tenant-a", 2);
	assert_int_equal(keys_seal(kr, 2, aad, msg, sizeof(msg), sealed), 0);
	assert_int_equal(keys_open(kr, 2, aad, sealed, sizeof(sealed), out),
	    0);
	assert_memory_equal(out, msg, sizeof(msg));
	/* Another tenant's or version's additional data. */
	keys_aad_secret(other, sizeof(other), "tenant-b", 2);
	assert_int_equal(keys_open(kr, 2, other, sealed, sizeof(sealed),
	    out), -1);
	keys_aad_secret(other, sizeof(other), "tenant-a", 1);
	assert_int_equal(keys_open(kr, 2, other, sealed, sizeof(sealed),
	    out), -1);
	/* Another master version, and one the ring does not hold. */
	assert_int_equal(keys_open(kr, 1, aad, sealed, sizeof(sealed), out),
	    -1);
	assert_int_equal(keys_open(kr, 3, aad, sealed, sizeof(sealed), out),
	    -1);
	assert_int_equal(keys_seal(kr, 3, aad, msg, sizeof(msg), bad), -1);
	/* Truncated: by a byte, to the bare overhead, below it. */
	assert_int_equal(keys_open(kr, 2, aad, sealed, sizeof(sealed) - 1,
	    out), -1);
	assert_int_equal(keys_open(kr, 2, aad, sealed, KEYS_SEALED_LEN(0),
	    out), -1);
	assert_int_equal(keys_open(kr, 2, aad, sealed, 10, out), -1);
	/* One flipped bit anywhere: nonce, ciphertext or tag. */
	memcpy(bad, sealed, sizeof(bad));
	bad[0] ^= 1;
	assert_int_equal(keys_open(kr, 2, aad, bad, sizeof(bad), out), -1);
	memcpy(bad, sealed, sizeof(bad));
	bad[30] ^= 0x80;
	assert_int_equal(keys_open(kr, 2, aad, bad, sizeof(bad), out), -1);
	memcpy(bad, sealed, sizeof(bad));
	bad[sizeof(bad) - 1] ^= 1;
	assert_int_equal(keys_open(kr, 2, aad, bad, sizeof(bad), out), -1);
	keys_free(kr);
}

static void
test_seals_differ_each_time(void **state)
{
	struct kfx	*f = *state;
	const unsigned char msg[KEY_BYTES] = { 1, 2, 3 };
	unsigned char	 a[KEYS_SEALED_LEN(KEY_BYTES)];
	unsigned char	 b[KEYS_SEALED_LEN(KEY_BYTES)];
	char		 aad[KEYS_AAD_MAX];

	keys_aad_dek(aad, sizeof(aad), "tenant-a", 1, 1);
	assert_int_equal(keys_seal(f->kr, 1, aad, msg, sizeof(msg), a), 0);
	assert_int_equal(keys_seal(f->kr, 1, aad, msg, sizeof(msg), b), 0);
	/* A fresh random nonce per seal. */
	assert_memory_not_equal(a, b, 24);
	assert_memory_not_equal(a, b, sizeof(a));
}

static void
test_aad_binds_tenant_and_versions(void **state)
{
	char	 a[KEYS_AAD_MAX], b[KEYS_AAD_MAX];

	(void)state;
	keys_aad_dek(a, sizeof(a), "t1", 1, 1);
	keys_aad_dek(b, sizeof(b), "t1", 2, 1);
	assert_string_not_equal(a, b);
	keys_aad_dek(b, sizeof(b), "t1", 1, 2);
	assert_string_not_equal(a, b);
	keys_aad_dek(b, sizeof(b), "t2", 1, 1);
	assert_string_not_equal(a, b);
	/* A data key's binding is never a secret's. */
	keys_aad_secret(b, sizeof(b), "t1", 1);
	assert_string_not_equal(a, b);
}

static void
test_derive_needs_an_8_byte_context(void **state)
{
	struct kfx	*f = *state;
	unsigned char	 a[KEY_BYTES], b[KEY_BYTES];

	assert_int_equal(keys_derive(f->kr, 1, KDF_REGISTRY, a), 0);
	assert_int_equal(keys_derive(f->kr, 1, KDF_SEAL, b), 0);
	assert_memory_not_equal(a, b, KEY_BYTES);
	assert_int_equal(keys_derive(f->kr, 1, KDF_REGISTRY, b), 0);
	assert_memory_equal(a, b, KEY_BYTES);
	assert_int_equal(keys_derive(f->kr, 1, "SHORT", a), -1);
	assert_int_equal(keys_derive(f->kr, 1, "TOO-LONG!", a), -1);
	assert_int_equal(keys_derive(f->kr, 9, KDF_REGISTRY, a), -1);
}

/*
 * A rotation's new master version reaches another holder of the key
 * directory through keys_refresh; a destroyed one leaves every ring.
 */
static void
test_new_versions_reach_other_rings_and_destroyed_ones_leave(void **state)
{
	struct kfx	*f = *state;
	struct keyring	*other;
	unsigned char	 sealed[KEYS_SEALED_LEN(4)], out[4];
	char		 err[256], path[160];
	int		 v;

	assert_non_null(other = keys_load(f->keys, err, sizeof(err)));
	assert_int_equal(keys_refresh(other, err, sizeof(err)), 0);
	assert_int_equal(keys_add_version(f->kr, &v, err, sizeof(err)), 0);
	assert_int_equal(v, 2);
	assert_int_equal(keys_current(f->kr), 2);
	snprintf(path, sizeof(path), "%s/master-0002.key", f->keys);
	assert_int_equal(access(path, F_OK), 0);
	assert_true(keys_created(f->kr, 2) > 0);
	/* Sealed under 2 by one ring, opened by the other once refreshed. */
	assert_int_equal(keys_seal(f->kr, 2, "ad", (const unsigned char *)
	    "abcd", 4, sealed), 0);
	assert_int_equal(keys_open(other, 2, "ad", sealed, sizeof(sealed),
	    out), -1);
	assert_int_equal(keys_refresh(other, err, sizeof(err)), 1);
	assert_true(keys_has(other, 2));
	assert_int_equal(keys_open(other, 2, "ad", sealed, sizeof(sealed),
	    out), 0);
	/* The newest is never destroyed; an older one goes everywhere. */
	assert_int_equal(keys_destroy_version(f->kr, 2, err, sizeof(err)),
	    -1);
	assert_int_equal(keys_destroy_version(f->kr, 1, err, sizeof(err)), 0);
	assert_false(keys_has(f->kr, 1));
	snprintf(path, sizeof(path), "%s/master-0001.key", f->keys);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(keys_refresh(other, err, sizeof(err)), 1);
	assert_false(keys_has(other, 1));
	assert_int_equal(keys_current(other), 2);
	keys_free(other);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_init_makes_one_private_key_and_never_another, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_load_refuses_what_others_can_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_newest_version_is_current,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_sealed_opens_only_as_sealed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_seals_differ_each_time,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_aad_binds_tenant_and_versions, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_derive_needs_an_8_byte_context, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_new_versions_reach_other_rings_and_destroyed_ones_leave,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
