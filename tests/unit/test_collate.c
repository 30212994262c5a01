/*
 * collate: the one comparison of names.  What users rely on: names list
 * in the order a reader expects in any script (accents after the base
 * letter, case ignored), a name clashes with its other-case spelling but
 * not with a differently accented one, and search finds text whatever
 * its case, "Straße" included.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cellar/collate.h"

static int
cmp(const void *a, const void *b)
{
	const char	*x = *(const char *const *)a, *y = *(const char *const *)b;

	return collate_cmp(x, strlen(x), y, strlen(y));
}

static int
same(const char *a, const char *b)
{
	return collate_cmp(a, strlen(a), b, strlen(b)) == 0;
}

static void
test_names_sort_as_readers_expect(void **state)
{
	const char	*names[] = { "Zoe", "Éric", "Alice", "émile", "Bob",
	    "zoé", "Ängel", "ångström" };
	const char	*want[] = { "Alice", "Ängel", "ångström", "Bob",
	    "émile", "Éric", "Zoe", "zoé" };
	size_t		 i;

	(void)state;
	qsort(names, 8, sizeof(names[0]), cmp);
	for (i = 0; i < 8; i++)
		if (strcmp(names[i], want[i]) != 0)
			fail_msg("position %zu: %s, want %s", i, names[i],
			    want[i]);
}

static void
test_case_never_counts_accents_do(void **state)
{
	char	*a, *b;

	(void)state;
	assert_true(same("éric", "Éric"));
	assert_true(same("alice", "ALICE"));
	assert_true(same("ÅNGSTRÖM", "ångström"));
	assert_false(same("Eric", "Éric"));
	assert_false(same("Alice", "Alicé"));
	/* Keys agree with the comparison, for hash maps. */
	assert_non_null(a = collate_key("éric"));
	assert_non_null(b = collate_key("ÉRIC"));
	assert_string_equal(a, b);
	free(b);
	assert_non_null(b = collate_key("eric"));
	assert_string_not_equal(a, b);
	free(a);
	free(b);
}

static void
test_fold_for_search(void **state)
{
	char	*s;

	(void)state;
	assert_non_null(s = collate_fold("Straße ÉRIC Ωmega ABC"));
	assert_string_equal(s, "strasse éric ωmega abc");
	free(s);
	/* Bytes that are not UTF-8 are copied, not judged. */
	assert_non_null(s = collate_fold("A\xff" "B"));
	assert_string_equal(s, "A\xff" "B");
	free(s);
	assert_non_null(s = collate_fold(""));
	assert_string_equal(s, "");
	free(s);
}

static void
test_invalid_text_still_orders(void **state)
{
	(void)state;
	/* Valid text first, then bytes in order: a total order still. */
	assert_true(collate_cmp("b", 1, "\xff", 1) < 0);
	assert_true(collate_cmp("\xfe", 1, "\xff", 1) < 0);
	assert_true(collate_cmp("\xff", 1, "\xff", 1) == 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_sort_as_readers_expect),
		cmocka_unit_test(test_case_never_counts_accents_do),
		cmocka_unit_test(test_fold_for_search),
		cmocka_unit_test(test_invalid_text_still_orders),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
