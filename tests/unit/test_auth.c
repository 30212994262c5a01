/*
 * auth: the worker's authentication of context tokens, against a real
 * registry and tenant, with the library clock fixed by the test.  What
 * users rely on: a token works from iat to exp (give or take the
 * leeway) and not a second longer, even when the worker remembers it
 * as verified; a departed tenant's tokens stop at once; a wrong secret
 * never passes; the handlers see the caller's tenant and account only
 * after a success, and nothing after auth_release.
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

#include "cellar/clock.h"
#include "cellar/json.h"
#include "cellar/log.h"
#include "cellar/token.h"
#include "auth.h"
#include "fakeio.h"
#include "fcgi.h"
#include "fixture.h"

#define SECRET	"s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t"
#define LEEWAY	30		/* the default [auth] leeway */

struct afx {
	struct fx_tenant f;
	struct app	 app;
};

static const struct route ctx_route = {
	.method = METHOD_GET, .pattern = "/api/tenant", .name = "ctx",
	.auth = AUTH_CONTEXT, .body_max = 0, .ctype = NULL, .handler = NULL,
};

static int
setup(void **state)
{
	struct afx	*a = calloc(1, sizeof(*a));
	char		 etc[128], path[160], err[CONF_ERRLEN];
	FILE		*fp;

	assert_non_null(a);
	fx_tenant_setup(&a->f, NULL);
	snprintf(etc, sizeof(etc), "%s/etc", a->f.dir);
	assert_int_equal(mkdir(etc, 0700), 0);
	snprintf(path, sizeof(path), "%s/cellar.conf", etc);
	assert_non_null(fp = fopen(path, "w"));
	fprintf(fp, "[app]\nkey = com.example.unit\n"
	    "base_url = http://127.0.0.1:1\n[server]\nstate_dir = %s\n"
	    "[keys]\ndir = %s\n", a->f.dir, a->f.keys);
	fclose(fp);
	assert_non_null(a->app.cfg = conf_load_cellar(etc, err));
	a->app.kr = a->f.kr;
	a->app.reg = a->f.reg;
	a->app.base_path = "";
	log_init("test_auth", LOGL_INFO);
	fx_log_start();
	*state = a;
	return 0;
}

static int
teardown(void **state)
{
	struct afx	*a = *state;

	fx_log_stop();
	clock_fake(0);
	auth_cache_clear();
	conf_free(a->app.cfg);
	fx_tenant_teardown(&a->f);
	free(a);
	return 0;
}

/* A context token of the fixture's tenant, issued at iat. */
static char *
context_token(const char *secret, const char *sub, long long iat,
    long long exp)
{
	cJSON	*c;
	char	*tok;

	assert_non_null(c = cJSON_CreateObject());
	cJSON_AddStringToObject(c, "iss", "client-key-ut");
	cJSON_AddStringToObject(c, "qsh", "context-qsh");
	if (sub != NULL)
		cJSON_AddStringToObject(c, "sub", sub);
	json_add_int(c, "iat", iat);
	json_add_int(c, "exp", exp);
	assert_non_null(tok = token_sign_hs256(c, (const unsigned char *)secret,
	    strlen(secret)));
	cJSON_Delete(c);
	return tok;
}

/*
 * Authenticates a GET /api/tenant carrying tok at the clock's time now;
 * the outcome, with r left for the caller to look at and release.
 */
static enum err
authenticate(struct afx *a, const char *tok, long long now, struct req *r,
    struct auth_state *st)
{
	char		 authz[1024];
	const char	*params[] = { "REQUEST_METHOD", "GET", "REQUEST_URI",
	    "/api/tenant", "HTTP_AUTHORIZATION", authz, NULL };
	struct fake	 f;
	struct http_io	 io;

	snprintf(authz, sizeof(authz), "JWT %s", tok);
	memset(&f, 0, sizeof(f));
	f.params = params;
	io = fake_io(&f);
	assert_int_equal(req_init(r, &io, "", &a->app), ERR_OK);
	memset(st, 0, sizeof(*st));
	r->route = &ctx_route;
	r->auth = st;
	clock_fake(now);
	return auth_request(r, AUTH_PHASE_HEADERS);
}

/* One request's outcome, released at once. */
static enum err
outcome(struct afx *a, const char *tok, long long now)
{
	struct auth_state st;
	struct req	 r;
	enum err	 e;

	e = authenticate(a, tok, now, &r, &st);
	auth_release(&r);
	req_free(&r);
	return e;
}

static void
test_token_works_until_exp_and_not_a_second_longer(void **state)
{
	struct afx	*a = *state;
	struct auth_state st;
	struct req	 r;
	char		*tok;

	tok = context_token(SECRET, "acct-1", FX_NOW, FX_NOW + 180);
	assert_int_equal(authenticate(a, tok, FX_NOW + 10, &r, &st), ERR_OK);
	assert_non_null(r.tenant);
	assert_string_equal(r.tenant->id, a->f.t.id);
	assert_string_equal(r.account, "acct-1");
	assert_string_equal(r.claims->iss, "client-key-ut");
	auth_release(&r);
	assert_null(r.tenant);
	assert_null(r.claims);
	assert_null(r.account);
	req_free(&r);
	/* Verified once and remembered; the clock still decides. */
	assert_int_equal(outcome(a, tok, FX_NOW + 180 + LEEWAY), ERR_OK);
	assert_int_equal(outcome(a, tok, FX_NOW + 180 + LEEWAY + 1),
	    ERR_UNAUTHORIZED);
	assert_non_null(strstr(fx_log_text(), "reason=expired route=ctx"));
	assert_int_equal(outcome(a, tok, FX_NOW - LEEWAY - 1),
	    ERR_UNAUTHORIZED);
	assert_non_null(strstr(fx_log_text(), "reason=iat_in_future"));
	assert_int_equal(outcome(a, tok, FX_NOW - LEEWAY), ERR_OK);
	/* The log never holds the token. */
	assert_null(strstr(fx_log_text(), tok));
	free(tok);
}

static void
test_departed_tenant_refused_at_once(void **state)
{
	struct afx	*a = *state;
	char		*tok;

	tok = context_token(SECRET, "acct-1", FX_NOW, FX_NOW + 180);
	assert_int_equal(outcome(a, tok, FX_NOW + 1), ERR_OK);
	assert_int_equal(registry_uninstall(a->f.reg, a->f.t.id, FX_NOW + 2,
	    21), ERR_OK);
	assert_int_equal(outcome(a, tok, FX_NOW + 3), ERR_UNAUTHORIZED);
	assert_non_null(strstr(fx_log_text(), "reason=tenant_departed"));
	free(tok);
}

static void
test_wrong_secret_never_passes(void **state)
{
	struct afx	*a = *state;
	struct auth_state st;
	struct req	 r;
	char		*tok;

	tok = context_token("another-secret-another-secret-xx", "acct-1",
	    FX_NOW, FX_NOW + 180);
	assert_int_equal(authenticate(a, tok, FX_NOW + 1, &r, &st),
	    ERR_UNAUTHORIZED);
	/* Nothing of the refused request is left for a handler. */
	assert_null(r.tenant);
	assert_null(r.claims);
	assert_null(r.account);
	auth_release(&r);
	req_free(&r);
	assert_non_null(strstr(fx_log_text(), "reason=bad_signature"));
	free(tok);
}

static void
test_sub_that_is_no_account_id_gives_no_account(void **state)
{
	struct afx	*a = *state;
	struct auth_state st;
	struct req	 r;
	char		*tok;

	tok = context_token(SECRET, "not an id!", FX_NOW, FX_NOW + 180);
	assert_int_equal(authenticate(a, tok, FX_NOW + 1, &r, &st), ERR_OK);
	assert_non_null(r.tenant);
	assert_null(r.account);
	auth_release(&r);
	req_free(&r);
	free(tok);
}

/* Reinstalls the fixture's tenant with secret (a verified reinstall). */
static void
reinstall(struct afx *a, const char *secret)
{
	struct install	 in = { .client_key = "client-key-ut",
	    .shared_secret = secret, .base_url = "https://ut.example.net",
	    .product_type = "jira" };
	struct tenant	 t;
	int		 created;

	assert_int_equal(registry_install(a->f.reg, &in, FX_NOW, &t,
	    &created), ERR_OK);
	assert_int_equal(created, 0);
	registry_tenant_free(&t);
}

/*
 * A reinstall gives the tenant a new secret: a token signed with the old
 * one stops at once, even though the worker remembers it as verified;
 * a token of the new secret works.
 */
static void
test_remembered_token_refused_after_new_secret(void **state)
{
	struct afx	*a = *state;
	char		*old, *fresh;

	old = context_token(SECRET, "acct-1", FX_NOW, FX_NOW + 180);
	assert_int_equal(outcome(a, old, FX_NOW + 1), ERR_OK);
	assert_int_equal(outcome(a, old, FX_NOW + 2), ERR_OK);
	reinstall(a, "n3w-s3cr3t-n3w-s3cr3t-n3w-s3cr3t-x");
	assert_int_equal(outcome(a, old, FX_NOW + 3), ERR_UNAUTHORIZED);
	assert_non_null(strstr(fx_log_text(), "reason=bad_signature"));
	/* And again: a refused token is never remembered as good. */
	assert_int_equal(outcome(a, old, FX_NOW + 4), ERR_UNAUTHORIZED);
	fresh = context_token("n3w-s3cr3t-n3w-s3cr3t-n3w-s3cr3t-x", "acct-1",
	    FX_NOW, FX_NOW + 180);
	assert_int_equal(outcome(a, fresh, FX_NOW + 5), ERR_OK);
	/* The same secret sealed anew (a rotation) keeps a token valid. */
	reinstall(a, "n3w-s3cr3t-n3w-s3cr3t-n3w-s3cr3t-x");
	assert_int_equal(outcome(a, fresh, FX_NOW + 6), ERR_OK);
	assert_int_equal(outcome(a, fresh, FX_NOW + 7), ERR_OK);
	free(old);
	free(fresh);
}

/*
 * Many tokens in use at once (more than the cache's probe window, so
 * slots are shared): each keeps working and speaks for its own caller,
 * and a tampered copy of a remembered token never passes.
 */
static void
test_many_tokens_in_use_each_checked(void **state)
{
	struct afx	*a = *state;
	char		 sub[32], *toks[300], *bad;
	size_t		 i, n = sizeof(toks) / sizeof(toks[0]);

	for (i = 0; i < n; i++) {
		snprintf(sub, sizeof(sub), "acct-%zu", i);
		toks[i] = context_token(SECRET, sub, FX_NOW, FX_NOW + 180);
		assert_int_equal(outcome(a, toks[i], FX_NOW + 1), ERR_OK);
	}
	/* Each remembered token speaks for its own caller, no other. */
	for (i = 0; i < n; i++) {
		struct auth_state st;
		struct req	 r;

		snprintf(sub, sizeof(sub), "acct-%zu", i);
		assert_int_equal(authenticate(a, toks[i], FX_NOW + 2, &r, &st),
		    ERR_OK);
		assert_string_equal(r.account, sub);
		auth_release(&r);
		req_free(&r);
	}
	/* A flipped signature byte: a different token, verified anew. */
	assert_non_null(bad = strdup(toks[7]));
	bad[strlen(bad) - 2] = bad[strlen(bad) - 2] == 'A' ? 'B' : 'A';
	assert_int_equal(outcome(a, bad, FX_NOW + 3), ERR_UNAUTHORIZED);
	for (i = 0; i < n; i++)
		free(toks[i]);
	free(bad);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_token_works_until_exp_and_not_a_second_longer, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_departed_tenant_refused_at_once, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_remembered_token_refused_after_new_secret, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_many_tokens_in_use_each_checked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_secret_never_passes,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_sub_that_is_no_account_id_gives_no_account, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
