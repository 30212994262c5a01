/*
 * tpl: the storage rules the routes rely on, against a real SQLCipher
 * tenant file made through the registry and opened as a tenantdb
 * handle.  Changes apply only to the version they were checked against,
 * import name clashes are looked for only where the importer can see,
 * and the list's scope probe.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <sodium.h>

#include "cellar/tenantdb.h"
#include "cellar/tpl.h"
#include "cellar/tpl_import.h"
#include "fixture.h"

#define NOW	FX_NOW
/* Ends make()'s target list (a NULL of pointer type, as varargs need). */
#define END	((const char *)NULL)


/* A template of scope with targets (NULL-terminated), owned by owner. */
static void
make(struct tenantdb *db, struct tpl *t, const char *name,
    enum tpl_scope scope, const char *owner, ...)
{
	const char	*s;
	va_list		 ap;

	memset(t, 0, sizeof(*t));
	t->name = strdup(name);
	t->body = strdup("body");
	t->scope = scope;
	t->owner = strdup(owner);
	t->active = 1;
	t->targets = calloc(8, sizeof(char *));
	va_start(ap, owner);
	while ((s = va_arg(ap, const char *)) != NULL)
		t->targets[t->ntargets++] = strdup(s);
	va_end(ap);
	if (db != NULL)
		assert_int_equal(tpl_create(db, t, NOW), ERR_OK);
}

static void
test_delete_only_the_checked_version(void **state)
{
	struct fx_tenant *f = *state;
	struct tpl	 t, got;

	make(f->tdb, &t, "Greeting", SCOPE_PERSONAL, "acct-a", END);
	assert_int_equal(t.version, 1);
	assert_int_equal(tpl_update(f->tdb, &t, 1, NOW + 1), ERR_OK);
	assert_int_equal(t.version, 2);
	/* Checked at version 1, changed since: a conflict, nothing gone. */
	assert_int_equal(tpl_delete(f->tdb, t.id, 1), ERR_CONFLICT);
	assert_int_equal(tpl_get(f->tdb, t.id, 0, &got), ERR_OK);
	assert_int_equal(got.version, 2);
	tpl_free(&got);
	assert_int_equal(tpl_delete(f->tdb, t.id, 2), ERR_OK);
	assert_int_equal(tpl_get(f->tdb, t.id, 0, &got), ERR_NOT_FOUND);
	assert_int_equal(tpl_delete(f->tdb, t.id, 2), ERR_NOT_FOUND);
	tpl_free(&t);
}

static void
test_update_only_the_checked_version(void **state)
{
	struct fx_tenant *f = *state;
	struct tpl	 t, got;

	make(f->tdb, &t, "Scoped", SCOPE_PROJECTS, "acct-a", "100", END);
	free(t.body);
	t.body = strdup("changed");
	assert_int_equal(tpl_update(f->tdb, &t, 7, NOW + 1), ERR_CONFLICT);
	assert_int_equal(tpl_get(f->tdb, t.id, 0, &got), ERR_OK);
	assert_string_equal(got.body, "body");
	assert_int_equal(got.version, 1);
	tpl_free(&got);
	assert_int_equal(tpl_update(f->tdb, &t, 1, NOW + 1), ERR_OK);
	assert_int_equal(tpl_get(f->tdb, t.id, 0, &got), ERR_OK);
	assert_string_equal(got.body, "changed");
	tpl_free(&got);
	tpl_free(&t);
}

static void
test_name_taken_only_where_visible(void **state)
{
	struct fx_tenant *f = *state;
	struct tpl	 a, b, c, d, probe;

	make(f->tdb, &a, "Escalation", SCOPE_PROJECTS, "admin", "100", "200",
	    END);
	make(f->tdb, &b, "Mine", SCOPE_PERSONAL, "acct-a", END);
	make(f->tdb, &c, "Everyone", SCOPE_GLOBAL, "admin", END);
	make(f->tdb, &d, "Team", SCOPE_GROUPS, "admin", "g-1", END);
	/* Projects: only a template sharing a project clashes. */
	make(NULL, &probe, "x", SCOPE_PROJECTS, "acct-b", "300", END);
	assert_false(tpl_name_taken(f->tdb, &probe, "escalation"));
	tpl_free(&probe);
	make(NULL, &probe, "x", SCOPE_PROJECTS, "acct-b", "300", "200", END);
	assert_true(tpl_name_taken(f->tdb, &probe, "ESCALATION"));
	assert_false(tpl_name_taken(f->tdb, &probe, "Escalation 2"));
	tpl_free(&probe);
	/* "10" is not "100": ids match whole. */
	make(NULL, &probe, "x", SCOPE_PROJECTS, "acct-b", "10", "00", END);
	assert_false(tpl_name_taken(f->tdb, &probe, "Escalation"));
	tpl_free(&probe);
	/* Personal: the owner's own only. */
	make(NULL, &probe, "x", SCOPE_PERSONAL, "acct-b", END);
	assert_false(tpl_name_taken(f->tdb, &probe, "mine"));
	tpl_free(&probe);
	make(NULL, &probe, "x", SCOPE_PERSONAL, "acct-a", END);
	assert_true(tpl_name_taken(f->tdb, &probe, "MINE"));
	/* Another scope's name is no clash. */
	assert_false(tpl_name_taken(f->tdb, &probe, "Everyone"));
	tpl_free(&probe);
	make(NULL, &probe, "x", SCOPE_GLOBAL, "acct-b", END);
	assert_true(tpl_name_taken(f->tdb, &probe, "everyone"));
	tpl_free(&probe);
	make(NULL, &probe, "x", SCOPE_GROUPS, "acct-b", "g-9", END);
	assert_true(tpl_name_taken(f->tdb, &probe, "team"));
	tpl_free(&probe);
	tpl_free(&a);
	tpl_free(&b);
	tpl_free(&c);
	tpl_free(&d);
}

static void
test_scopes_probe(void **state)
{
	struct fx_tenant *f = *state;
	struct tpl	 a, b;
	int		 projects, groups;

	tpl_scopes(f->tdb, &projects, &groups);
	assert_false(projects);
	assert_false(groups);
	make(f->tdb, &a, "G", SCOPE_GROUPS, "admin", "g-1", END);
	tpl_scopes(f->tdb, &projects, &groups);
	assert_false(projects);
	assert_true(groups);
	make(f->tdb, &b, "P", SCOPE_PROJECTS, "admin", "100", END);
	tpl_scopes(f->tdb, &projects, &groups);
	assert_true(projects);
	assert_true(groups);
	assert_int_equal(tpl_delete(f->tdb, b.id, b.version), ERR_OK);
	tpl_scopes(f->tdb, &projects, &groups);
	assert_false(projects);
	tpl_free(&a);
	tpl_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		FX_TENANT_TEST(test_delete_only_the_checked_version),
		FX_TENANT_TEST(test_update_only_the_checked_version),
		FX_TENANT_TEST(test_name_taken_only_where_visible),
		FX_TENANT_TEST(test_scopes_probe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
