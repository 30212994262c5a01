/*
 * tpl_import: the names an import gives.  What users rely on: an
 * imported template never takes a name that is taken where it goes (in
 * the file, or earlier in the same import), the rename is the smallest
 * free "name (N)" that fits 120 characters, and names the importer
 * cannot see (another's personal ones, other projects') are never
 * consulted.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cellar/tenantdb.h"
#include "cellar/tpl.h"
#include "cellar/tpl_import.h"
#include "cellar/util.h"
#include "fixture.h"


/* A template (created in tdb when given); target may be NULL. */
static void
make(struct tenantdb *tdb, struct tpl *t, const char *name,
    enum tpl_scope scope, const char *owner, const char *target)
{
	memset(t, 0, sizeof(*t));
	assert_non_null(t->name = strdup(name));
	assert_non_null(t->body = strdup("body"));
	assert_non_null(t->owner = strdup(owner));
	t->scope = scope;
	t->active = 1;
	if (target != NULL) {
		assert_non_null(t->targets = calloc(1, sizeof(char *)));
		assert_non_null(t->targets[0] = strdup(target));
		t->ntargets = 1;
	}
	if (tdb != NULL)
		assert_int_equal(tpl_create(tdb, t, FX_NOW, &fx_limits), ERR_OK);
}

/* The name the import gives a template like this one. */
static void
expect_name(struct tpl_import *ti, struct tenantdb *tdb, const char *name,
    enum tpl_scope scope, const char *owner, const char *target,
    const char *want)
{
	struct tpl	 t;
	char		*got;

	make(NULL, &t, name, scope, owner, target);
	assert_non_null(got = tpl_import_name(ti, tdb, &t));
	if (strcmp(got, want) != 0)
		fail_msg("\"%s\" became \"%s\", want \"%s\"", name, got, want);
	free(got);
	tpl_free(&t);
}

static void
test_taken_names_get_the_next_free_suffix(void **state)
{
	struct fx_tenant *f = *state;
	struct tpl_import *ti;
	struct tpl	 a, b;

	make(f->tdb, &a, "Greeting", SCOPE_PERSONAL, "acct-a", NULL);
	make(f->tdb, &b, "Greeting (2)", SCOPE_PERSONAL, "acct-a", NULL);
	assert_non_null(ti = tpl_import_new());
	expect_name(ti, f->tdb, "Greeting", SCOPE_PERSONAL, "acct-a", NULL,
	    "Greeting (3)");
	/* Claimed by this import now, case-insensitively (ASCII). */
	expect_name(ti, f->tdb, "GREETING", SCOPE_PERSONAL, "acct-a", NULL,
	    "GREETING (4)");
	expect_name(ti, f->tdb, "Fresh", SCOPE_PERSONAL, "acct-a", NULL,
	    "Fresh");
	expect_name(ti, f->tdb, "fresh", SCOPE_PERSONAL, "acct-a", NULL,
	    "fresh (2)");
	tpl_import_free(ti);
	tpl_free(&a);
	tpl_free(&b);
}

static void
test_only_names_the_importer_can_see_count(void **state)
{
	struct fx_tenant *f = *state;
	struct tpl_import *ti;
	struct tpl	 a, b;

	make(f->tdb, &a, "Mine", SCOPE_PERSONAL, "acct-a", NULL);
	make(f->tdb, &b, "Escalate", SCOPE_PROJECTS, "admin", "100");
	assert_non_null(ti = tpl_import_new());
	/* Another's personal name, another project's name: free. */
	expect_name(ti, f->tdb, "Mine", SCOPE_PERSONAL, "acct-b", NULL,
	    "Mine");
	expect_name(ti, f->tdb, "Escalate", SCOPE_PROJECTS, "acct-b", "200",
	    "Escalate");
	expect_name(ti, f->tdb, "Escalate", SCOPE_PROJECTS, "acct-b", "100",
	    "Escalate (2)");
	/* Another scope's name is no clash either. */
	expect_name(ti, f->tdb, "Mine", SCOPE_GLOBAL, "acct-a", NULL, "Mine");
	tpl_import_free(ti);
	tpl_free(&a);
	tpl_free(&b);
}

static void
test_renames_fit_the_name_limit_in_characters(void **state)
{
	struct fx_tenant *f = *state;
	struct tpl_import *ti;
	struct tpl	 a, t;
	char		 name[TPL_NAME_MAX * 2 + 1], *got;
	size_t		 i;

	/* 120 two-byte characters. */
	for (i = 0; i < TPL_NAME_MAX; i++)
		memcpy(name + 2 * i, "\xc3\xa9", 2);
	name[2 * TPL_NAME_MAX] = '\0';
	make(f->tdb, &a, name, SCOPE_GLOBAL, "admin", NULL);
	assert_non_null(ti = tpl_import_new());
	make(NULL, &t, name, SCOPE_GLOBAL, "admin", NULL);
	assert_non_null(got = tpl_import_name(ti, f->tdb, &t));
	assert_int_equal(util_utf8_chars(got), TPL_NAME_MAX);
	assert_true(util_utf8_valid(got, strlen(got)));
	assert_string_equal(got + strlen(got) - 4, " (2)");
	free(got);
	tpl_free(&t);
	tpl_import_free(ti);
	tpl_free(&a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		FX_TENANT_TEST(test_taken_names_get_the_next_free_suffix),
		FX_TENANT_TEST(test_only_names_the_importer_can_see_count),
		FX_TENANT_TEST(test_renames_fit_the_name_limit_in_characters),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
