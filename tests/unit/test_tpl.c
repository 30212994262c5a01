/*
 * tpl: the storage rules the routes rely on, against a real SQLCipher
 * tenant file made through the registry and opened as a tenantdb
 * handle.  Changes apply only to the version they were checked against,
 * import name clashes are looked for only where the importer can see,
 * the list's scope probe, the per-person and per-tenant limits, what a
 * use is, and imports landing whole or not at all.
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
		assert_int_equal(tpl_create(db, t, NOW, &fx_limits), ERR_OK);
}

static void
test_delete_only_the_checked_version(void **state)
{
	struct fx_tenant *f = *state;
	struct tpl	 t, got;

	make(f->tdb, &t, "Greeting", SCOPE_PERSONAL, "acct-a", END);
	assert_int_equal(t.version, 1);
	assert_int_equal(tpl_update(f->tdb, &t, 1, NOW + 1, &fx_limits), ERR_OK);
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
	assert_int_equal(tpl_update(f->tdb, &t, 7, NOW + 1, &fx_limits), ERR_CONFLICT);
	assert_int_equal(tpl_get(f->tdb, t.id, 0, &got), ERR_OK);
	assert_string_equal(got.body, "body");
	assert_int_equal(got.version, 1);
	tpl_free(&got);
	assert_int_equal(tpl_update(f->tdb, &t, 1, NOW + 1, &fx_limits), ERR_OK);
	assert_int_equal(tpl_get(f->tdb, t.id, 0, &got), ERR_OK);
	assert_string_equal(got.body, "changed");
	tpl_free(&got);
	tpl_free(&t);
}

/* Personal templates count per owner, shared ones per tenant. */
static void
test_limits_per_owner_and_per_tenant(void **state)
{
	struct fx_tenant *f = *state;
	const struct tpl_limits lim = { .shared_max = 2, .personal_max = 2 };
	struct tpl	 t[8], got;
	size_t		 i;
	long long	 n;

	for (i = 0; i < 2; i++) {
		make(NULL, &t[i], i ? "a2" : "a1", SCOPE_PERSONAL, "acct-a", END);
		assert_int_equal(tpl_create(f->tdb, &t[i], NOW, &lim), ERR_OK);
	}
	make(NULL, &t[2], "a3", SCOPE_PERSONAL, "acct-a", END);
	assert_int_equal(tpl_create(f->tdb, &t[2], NOW, &lim),
	    ERR_LIMIT_PERSONAL);
	/* Another person's allowance is their own. */
	make(NULL, &t[3], "b1", SCOPE_PERSONAL, "acct-b", END);
	assert_int_equal(tpl_create(f->tdb, &t[3], NOW, &lim), ERR_OK);
	/* Personal templates never use up the shared allowance. */
	make(NULL, &t[4], "g1", SCOPE_GLOBAL, "acct-a", END);
	assert_int_equal(tpl_create(f->tdb, &t[4], NOW, &lim), ERR_OK);
	make(NULL, &t[5], "g2", SCOPE_GROUPS, "acct-a", "grp", END);
	assert_int_equal(tpl_create(f->tdb, &t[5], NOW, &lim), ERR_OK);
	make(NULL, &t[6], "g3", SCOPE_GLOBAL, "acct-b", END);
	assert_int_equal(tpl_create(f->tdb, &t[6], NOW, &lim),
	    ERR_LIMIT_TEMPLATES);
	/* A move from personal to shared must fit the shared allowance. */
	t[0].scope = SCOPE_GLOBAL;
	assert_int_equal(tpl_update(f->tdb, &t[0], 1, NOW + 1, &lim),
	    ERR_LIMIT_TEMPLATES);
	assert_int_equal(tpl_get(f->tdb, t[0].id, 0, &got), ERR_OK);
	assert_int_equal(got.scope, SCOPE_PERSONAL);
	assert_int_equal(got.version, 1);
	tpl_free(&got);
	/*
	 * ... and one from shared to personal the stored owner's, whatever
	 * owner the caller's copy names.
	 */
	t[4].scope = SCOPE_PERSONAL;
	free(t[4].owner);
	t[4].owner = strdup("acct-c");
	assert_int_equal(tpl_update(f->tdb, &t[4], 1, NOW + 1, &lim),
	    ERR_LIMIT_PERSONAL);
	assert_int_equal(tpl_count_visible(f->tdb, NULL, &n), ERR_OK);
	assert_int_equal(n, 2);
	/* Room made, the move fits. */
	assert_int_equal(tpl_delete(f->tdb, t[1].id, 1), ERR_OK);
	assert_int_equal(tpl_update(f->tdb, &t[4], 1, NOW + 1, &lim), ERR_OK);
	assert_int_equal(tpl_count_visible(f->tdb, NULL, &n), ERR_OK);
	assert_int_equal(n, 1);
	assert_int_equal(tpl_count_visible(f->tdb, "acct-a", &n), ERR_OK);
	assert_int_equal(n, 3);
	assert_int_equal(tpl_count_visible(f->tdb, "acct-c", &n), ERR_OK);
	assert_int_equal(n, 1);
	for (i = 0; i < 7; i++)
		tpl_free(&t[i]);
}

/* A render and the comment it became are one use; posts count apart. */
static void
test_usage_over_thirty_days(void **state)
{
	struct fx_tenant *f = *state;
	struct tpl	 t, got;
	const long long	 today = 20000;

	make(f->tdb, &t, "Used", SCOPE_GLOBAL, "acct-a", END);
	assert_int_equal(tpl_count_use(f->tdb, t.id, today, TPL_USE_INSERTED),
	    ERR_OK);
	assert_int_equal(tpl_count_use(f->tdb, t.id, today, TPL_USE_INSERTED),
	    ERR_OK);
	assert_int_equal(tpl_count_use(f->tdb, t.id, today, TPL_USE_POSTED),
	    ERR_OK);
	/* A post with no render (typed by hand from the panel). */
	assert_int_equal(tpl_count_use(f->tdb, t.id, today - 1,
	    TPL_USE_POSTED), ERR_OK);
	/* Day 30 back is outside the window; day 29 back inside. */
	assert_int_equal(tpl_count_use(f->tdb, t.id, today - 30,
	    TPL_USE_INSERTED), ERR_OK);
	assert_int_equal(tpl_count_use(f->tdb, t.id, today - 29,
	    TPL_USE_INSERTED), ERR_OK);
	assert_int_equal(tpl_get(f->tdb, t.id, today, &got), ERR_OK);
	assert_int_equal(got.used30, 2 + 1 + 1);
	assert_int_equal(got.posted30, 2);
	tpl_free(&got);
	assert_int_equal(tpl_count_use(f->tdb, t.id + 100, today,
	    TPL_USE_INSERTED), ERR_NOT_FOUND);
	tpl_free(&t);
}

/* An import lands whole or not at all, under names chosen inside it. */
static void
test_import_all_or_nothing(void **state)
{
	struct fx_tenant *f = *state;
	const struct tpl_limits lim = { .shared_max = 10, .personal_max = 3 };
	struct tpl	 have, ts[3];
	char		*names[3];
	size_t		 i;
	long long	 n;

	make(NULL, &have, "Hello", SCOPE_PERSONAL, "acct-a", END);
	assert_int_equal(tpl_create(f->tdb, &have, NOW, &lim), ERR_OK);
	/* Three more would make four: none lands. */
	for (i = 0; i < 3; i++) {
		make(NULL, &ts[i], "Hello", SCOPE_PERSONAL, "acct-a", END);
		names[i] = NULL;
	}
	assert_int_equal(tpl_import_all(f->tdb, ts, 3, NOW, &lim, names),
	    ERR_LIMIT_PERSONAL);
	for (i = 0; i < 3; i++)
		free(names[i]), names[i] = NULL;
	assert_int_equal(tpl_count_visible(f->tdb, "acct-a", &n), ERR_OK);
	assert_int_equal(n, 1);
	/* Two fit: each gets a free name, the same name never twice. */
	assert_int_equal(tpl_import_all(f->tdb, ts, 2, NOW, &lim, names),
	    ERR_OK);
	assert_string_equal(names[0], "Hello (2)");
	assert_string_equal(names[1], "Hello (3)");
	assert_true(ts[0].id > 0 && ts[1].id > ts[0].id);
	assert_int_equal(tpl_count_visible(f->tdb, "acct-a", &n), ERR_OK);
	assert_int_equal(n, 3);
	for (i = 0; i < 3; i++) {
		free(names[i]);
		tpl_free(&ts[i]);
	}
	tpl_free(&have);
}

/* Search reads what was folded when written, and follows every change. */
static void
test_search_follows_writes(void **state)
{
	struct fx_tenant *f = *state;
	const struct tpl_viewer v = { "acct-a", NULL, NULL };
	struct tpl_cursor c;
	struct tpl	 t, *ts;
	size_t		 n;

	memset(&c, 0, sizeof(c));
	make(f->tdb, &t, "Grüße", SCOPE_PERSONAL, "acct-a", END);
	free(t.body);
	t.body = strdup("Zur Straße hin");
	assert_int_equal(tpl_update(f->tdb, &t, 1, NOW + 1, &fx_limits), ERR_OK);
	assert_int_equal(tpl_list(f->tdb, &v, "strasse", -1, &c, 10, 0, &ts,
	    &n), ERR_OK);
	assert_int_equal(n, 1);
	/* Whole rows come back, body included. */
	assert_string_equal(ts[0].body, "Zur Straße hin");
	tpl_list_free(ts, n);
	/* The name is searched too; the old body no longer. */
	assert_int_equal(tpl_list(f->tdb, &v, "grüsse", -1, &c, 10, 0, &ts,
	    &n), ERR_OK);
	assert_int_equal(n, 1);
	tpl_list_free(ts, n);
	assert_int_equal(tpl_list(f->tdb, &v, "body", -1, &c, 10, 0, &ts, &n),
	    ERR_OK);
	assert_int_equal(n, 0);
	free(ts);
	/* Keys only from the scan: no body read. */
	assert_int_equal(tpl_scan(f->tdb, "acct-a", "strasse", -1, &c, TPL_ALL,
	    0, &ts, &n), ERR_OK);
	assert_int_equal(n, 1);
	assert_null(ts[0].body);
	assert_int_equal(tpl_fill(f->tdb, ts, &n, 0), ERR_OK);
	assert_int_equal(n, 1);
	assert_string_equal(ts[0].body, "Zur Straße hin");
	tpl_list_free(ts, n);
	/* Gone with the template. */
	assert_int_equal(tpl_delete(f->tdb, t.id, 2), ERR_OK);
	assert_int_equal(tpl_list(f->tdb, &v, "strasse", -1, &c, 10, 0, &ts,
	    &n), ERR_OK);
	assert_int_equal(n, 0);
	free(ts);
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
		FX_TENANT_TEST(test_limits_per_owner_and_per_tenant),
		FX_TENANT_TEST(test_usage_over_thirty_days),
		FX_TENANT_TEST(test_import_all_or_nothing),
		FX_TENANT_TEST(test_search_follows_writes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
