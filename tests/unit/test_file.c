/*
 * file: files written whole.  A write leaves the new content or the old
 * one and no temporary file; a copy never overwrites; the SHA-256 is the
 * standard one; a tree goes without following links; a path too long
 * becomes no path at all.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cellar/file.h"
#include "fixture.h"

static void
slurp(const char *path, char *out, size_t outsz)
{
	FILE	*f = fopen(path, "r");
	size_t	 n;

	assert_non_null(f);
	n = fread(out, 1, outsz - 1, f);
	out[n] = '\0';
	fclose(f);
}

static void
test_write_whole_replaces_and_leaves_no_temporary(void **state)
{
	char		 dir[64], path[128], tmp[160], got[64];
	struct stat	 sb;

	(void)state;
	assert_int_equal(fx_tmpdir(dir, sizeof(dir)), 0);
	snprintf(path, sizeof(path), "%s/m.json", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	assert_int_equal(file_write_whole(path, "first", 5), 0);
	assert_int_equal(file_write_whole(path, "second", 6), 0);
	slurp(path, got, sizeof(got));
	assert_string_equal(got, "second");
	assert_int_equal(access(tmp, F_OK), -1);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	fx_rmtree(dir);
}

static void
test_copy_never_overwrites(void **state)
{
	char	 dir[64], a[128], b[128], got[64];

	(void)state;
	assert_int_equal(fx_tmpdir(dir, sizeof(dir)), 0);
	snprintf(a, sizeof(a), "%s/a", dir);
	snprintf(b, sizeof(b), "%s/b", dir);
	assert_int_equal(file_write_whole(a, "data", 4), 0);
	assert_int_equal(file_copy(a, b), 0);
	slurp(b, got, sizeof(got));
	assert_string_equal(got, "data");
	assert_int_equal(file_write_whole(a, "other", 5), 0);
	assert_int_equal(file_copy(a, b), -1);
	slurp(b, got, sizeof(got));
	assert_string_equal(got, "data");
	fx_rmtree(dir);
}

static void
test_sha256_is_the_standard_one(void **state)
{
	char		 dir[64], a[128], hex[65];
	long long	 size;

	(void)state;
	assert_int_equal(fx_tmpdir(dir, sizeof(dir)), 0);
	snprintf(a, sizeof(a), "%s/abc", dir);
	assert_int_equal(file_write_whole(a, "abc", 3), 0);
	assert_int_equal(file_sha256(a, hex, &size), 0);
	/* FIPS 180-2, appendix B.1. */
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad");
	assert_int_equal(size, 3);
	fx_rmtree(dir);
}

static void
test_remove_tree_does_not_follow_links(void **state)
{
	char	 dir[64], keep[64], p[192], k[160];

	(void)state;
	assert_int_equal(fx_tmpdir(dir, sizeof(dir)), 0);
	assert_int_equal(fx_tmpdir(keep, sizeof(keep)), 0);
	snprintf(k, sizeof(k), "%s/precious", keep);
	assert_int_equal(file_write_whole(k, "x", 1), 0);
	snprintf(p, sizeof(p), "%s/run", dir);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/run/tenants", dir);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/run/tenants/a.db", dir);
	assert_int_equal(file_write_whole(p, "x", 1), 0);
	snprintf(p, sizeof(p), "%s/run/link", dir);
	assert_int_equal(symlink(keep, p), 0);
	snprintf(p, sizeof(p), "%s/run", dir);
	assert_int_equal(file_remove_tree(p), 0);
	assert_int_equal(access(p, F_OK), -1);
	assert_int_equal(access(k, F_OK), 0);
	assert_int_equal(file_remove_tree(p), 0);	/* gone: fine */
	fx_rmtree(dir);
	fx_rmtree(keep);
}

static void
test_a_path_too_long_is_no_path(void **state)
{
	char	 out[16];

	(void)state;
	assert_int_equal(file_pathf(out, sizeof(out), "%s/%s", "/var",
	    "lib"), 0);
	assert_string_equal(out, "/var/lib");
	assert_int_equal(file_pathf(out, sizeof(out), "%s/%s", "/var/lib",
	    "cellar/tenants"), -1);
	assert_string_equal(out, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_write_whole_replaces_and_leaves_no_temporary),
		cmocka_unit_test(test_copy_never_overwrites),
		cmocka_unit_test(test_sha256_is_the_standard_one),
		cmocka_unit_test(test_remove_tree_does_not_follow_links),
		cmocka_unit_test(test_a_path_too_long_is_no_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
