/*
 * router: matching, the declared body rules and the whole dispatch
 * pipeline over an in-memory transport.  What a user relies on: no
 * handler runs for a request the route table refuses, protected routes
 * fail closed, and no error reply (or log line) repeats what the client
 * sent.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "cellar/conf.h"
#include "cellar/err.h"
#include "cellar/http.h"
#include "cellar/json.h"
#include "cellar/log.h"
#include "cellar/registry.h"
#include "fakeio.h"
#include "fcgi.h"
#include "fixture.h"
#include "router.h"

/* What the handlers and the verifier saw. */
static int		 handler_calls;
static int		 auth_calls;
static enum err		 auth_result;
static char		 seen_body[256];
static char		 seen_params[128];
static int		 seen_json;	/* the handler got a parsed body */

static enum err
h_ok(struct req *r, struct reply *rep)
{
	cJSON	*o;
	size_t	 i;
	int	 rc;

	handler_calls++;
	seen_params[0] = '\0';
	for (i = 0; i < r->nparams; i++)
		snprintf(seen_params + strlen(seen_params),
		    sizeof(seen_params) - strlen(seen_params), "%s%s",
		    i > 0 ? "|" : "", r->params[i]);
	snprintf(seen_body, sizeof(seen_body), "%s",
	    r->body != NULL ? r->body : "(null)");
	seen_json = r->json != NULL;
	if ((o = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(o, "route", r->route->name) == NULL) {
		cJSON_Delete(o);
		return ERR_INTERNAL;
	}
	rc = reply_json(rep, 200, o);
	cJSON_Delete(o);
	return rc == 0 ? ERR_OK : ERR_INTERNAL;
}

/* Fails after having started a reply: the router must replace it. */
static enum err
h_conflict(struct req *r, struct reply *rep)
{
	cJSON	*o;

	handler_calls++;
	if ((o = cJSON_CreateObject()) != NULL &&
	    cJSON_AddStringToObject(o, "partial", r->uri) != NULL)
		(void)reply_json(rep, 200, o);
	cJSON_Delete(o);
	return ERR_CONFLICT;
}

static enum err
h_nothing(struct req *r, struct reply *rep)
{
	(void)r;
	(void)rep;
	handler_calls++;
	return ERR_OK;
}

static enum err
h_no_content(struct req *r, struct reply *rep)
{
	(void)r;
	handler_calls++;
	rep->status = 204;
	return ERR_OK;
}

static enum err
h_internal(struct req *r, struct reply *rep)
{
	(void)r;
	(void)rep;
	handler_calls++;
	return ERR_INTERNAL;
}

static int		 refresh_calls, rekeyed_left;

/* Rekeyed (nothing written) while rekeyed_left > 0, then a reply. */
static enum err
h_rekeyed(struct req *r, struct reply *rep)
{
	if (rekeyed_left > 0) {
		handler_calls++;
		rekeyed_left--;
		return ERR_REKEYED;
	}
	return h_ok(r, rep);	/* counts the call itself */
}

static enum auth_level	 seen_level;

static enum err
verifier(struct req *r, enum auth_phase phase)
{
	if (phase == AUTH_PHASE_HEADERS) {
		auth_calls++;
		seen_level = r->auth_level;
	}
	if (phase == AUTH_PHASE_REFRESH)
		refresh_calls++;
	return auth_result;
}

#define JSON	"application/json"

static const struct route tab[] = {
	{ METHOD_GET, "/", "root", AUTH_NONE, 0, NULL, h_ok, 0 },
	{ METHOD_GET, "/items", "items_list", AUTH_NONE, 0, NULL, h_ok, 0 },
	{ METHOD_POST, "/items", "items_create", AUTH_NONE, 64, JSON, h_ok, 0 },
	{ METHOD_GET, "/items/{}", "item_get", AUTH_NONE, 0, NULL, h_ok, 0 },
	{ METHOD_PUT, "/items/{}", "item_put", AUTH_NONE, 256, JSON, h_ok, 0 },
	{ METHOD_DELETE, "/items/{}", "item_delete", AUTH_NONE, 0, NULL,
	    h_ok, 0 },
	{ METHOD_GET, "/items/{}/notes/{}", "note_get", AUTH_NONE, 0, NULL,
	    h_ok, 0 },
	{ METHOD_GET, "/items/new", "item_new", AUTH_NONE, 0, NULL, h_ok, 0 },
	{ METHOD_GET, "/{}/{}/{}/{}/{}", "too_many", AUTH_NONE, 0, NULL,
	    h_ok, 0 },
	{ METHOD_GET, "/secure", "secure_get", AUTH_CONTEXT, 0, NULL, h_ok, 0 },
	{ METHOD_POST, "/rekeyed", "rekeyed", AUTH_CONTEXT, 64, JSON,
	    h_rekeyed, 0 },
	{ METHOD_POST, "/secure", "secure_post", AUTH_PAGE, 64, JSON, h_ok, 0 },
	{ METHOD_GET, "/conflict", "conflict", AUTH_NONE, 0, NULL,
	    h_conflict, 0 },
	{ METHOD_GET, "/nothing", "nothing", AUTH_NONE, 0, NULL, h_nothing, 0 },
	{ METHOD_DELETE, "/nocontent", "nocontent", AUTH_NONE, 0, NULL,
	    h_no_content, 0 },
	{ METHOD_GET, "/internal", "internal", AUTH_NONE, 0, NULL,
	    h_internal, 0 },
	{ METHOD_POST, "/optional", "optional", AUTH_PAGE, 64, JSON, h_ok,
	    1 },
	{ METHOD_POST, "/forge/events", "forge_events", AUTH_FORGE, 64, JSON,
	    h_ok, 0 },
	{ METHOD_GET, "/secure/{}", "secure_item", AUTH_CONTEXT, 0, NULL,
	    h_ok, 0 },
};
#define NTAB	(sizeof(tab) / sizeof(tab[0]))

/* ------------------------------------------------------------- match */

/* Whether the requests matched have Forge Remote on (req.h). */
static int	 forge_on;

static enum err
match(enum http_method m, const char *path, struct req *r, char *allow,
    size_t allowsz)
{
	memset(r, 0, sizeof(*r));
	r->forge = forge_on;
	r->method = m;
	r->content_length = -1;
	if ((r->path = strdup(path)) == NULL)
		fail();
	return router_match(tab, NTAB, r, allow, allowsz);
}

static void
expect_route(enum http_method m, const char *path, const char *name,
    const char *params)
{
	struct req	 r;
	enum err	 e;
	char		 allow[64], got[128] = "", rname[32] = "";
	size_t		 i, np;

	e = match(m, path, &r, allow, sizeof(allow));
	np = r.nparams;
	for (i = 0; i < r.nparams; i++)
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s",
		    i > 0 ? "|" : "", r.params[i]);
	if (r.route != NULL)
		snprintf(rname, sizeof(rname), "%s", r.route->name);
	req_free(&r);
	if (e != ERR_OK)
		fail_msg("%s %s: %s, want route %s", http_method_name(m), path,
		    err_code(e), name);
	assert_string_equal(rname, name);
	assert_string_equal(got, params);
	assert_int_equal(np, strlen(params) == 0 ? 0 :
	    1 + (size_t)(strchr(params, '|') != NULL));
}

static void
expect_refusal(enum http_method m, const char *path, enum err want,
    const char *want_allow)
{
	struct req	 r;
	enum err	 e;
	char		 allow[64];
	const struct route *rt;
	size_t		 np;

	memset(allow, 'Z', sizeof(allow));
	e = match(m, path, &r, allow, sizeof(allow));
	rt = r.route;
	np = r.nparams;
	req_free(&r);
	if (e != want)
		fail_msg("%s %s: %s, want %s", http_method_name(m), path,
		    err_code(e), err_code(want));
	assert_null(rt);
	assert_int_equal(np, 0);
	assert_string_equal(allow, want_allow);
}

static void
test_match_literal(void **state)
{
	(void)state;
	expect_route(METHOD_GET, "/", "root", "");
	expect_route(METHOD_GET, "/items", "items_list", "");
	expect_route(METHOD_POST, "/items", "items_create", "");
	expect_route(METHOD_GET, "/conflict", "conflict", "");
	/* Paths are case-sensitive and literal. */
	expect_refusal(METHOD_GET, "/ITEMS", ERR_NOT_FOUND, "");
	expect_refusal(METHOD_GET, "/item", ERR_NOT_FOUND, "");
	expect_refusal(METHOD_GET, "/itemsx", ERR_NOT_FOUND, "");
	expect_refusal(METHOD_GET, "/nope", ERR_NOT_FOUND, "");
	expect_refusal(METHOD_GET, "", ERR_NOT_FOUND, "");
	expect_refusal(METHOD_GET, "items", ERR_NOT_FOUND, "");
}

static void
test_match_params(void **state)
{
	(void)state;
	expect_route(METHOD_GET, "/items/42", "item_get", "42");
	expect_route(METHOD_GET, "/items/a%2Fb", "item_get", "a%2Fb");
	expect_route(METHOD_PUT, "/items/x-y.z", "item_put", "x-y.z");
	expect_route(METHOD_GET, "/items/7/notes/9", "note_get", "7|9");
	/* First match in table order: "new" is taken by item_get. */
	expect_route(METHOD_GET, "/items/new", "item_get", "new");
	/* A parameter is one non-empty segment. */
	expect_refusal(METHOD_GET, "/items/a/b", ERR_NOT_FOUND, "");
	expect_refusal(METHOD_GET, "/items/7/notes/", ERR_NOT_FOUND, "");
	expect_refusal(METHOD_GET, "/items//notes/9", ERR_NOT_FOUND, "");
	/* No more than HTTP_MAX_PARAMS parameters, and nothing leaks. */
	expect_refusal(METHOD_GET, "/a/b/c/d/e", ERR_NOT_FOUND, "");
}

static void
test_match_trailing_slash(void **state)
{
	(void)state;
	expect_refusal(METHOD_GET, "/items/", ERR_NOT_FOUND, "");
	expect_refusal(METHOD_GET, "/items/42/", ERR_NOT_FOUND, "");
	expect_refusal(METHOD_GET, "/conflict/", ERR_NOT_FOUND, "");
	expect_refusal(METHOD_GET, "//", ERR_NOT_FOUND, "");
	expect_refusal(METHOD_GET, "//items", ERR_NOT_FOUND, "");
}

static void
test_match_405(void **state)
{
	(void)state;
	expect_refusal(METHOD_DELETE, "/items", ERR_METHOD, "GET, POST");
	expect_refusal(METHOD_PUT, "/items", ERR_METHOD, "GET, POST");
	/* Parameters captured for the wrong method are freed (ASan). */
	expect_refusal(METHOD_POST, "/items/42", ERR_METHOD,
	    "GET, PUT, DELETE");
	expect_refusal(METHOD_POST, "/items/1/notes/2", ERR_METHOD, "GET");
	expect_refusal(METHOD_POST, "/", ERR_METHOD, "GET");
	expect_refusal(METHOD_DELETE, "/secure", ERR_METHOD, "GET, POST");
	/* A method we do not serve at all (PATCH, HEAD). */
	expect_refusal(METHOD__MAX, "/items", ERR_METHOD, "GET, POST");
	expect_refusal(METHOD__MAX, "/nope", ERR_NOT_FOUND, "");
}

static void
test_match_allow_small_buffer(void **state)
{
	struct req	 r;
	char		 allow[8];

	(void)state;
	memset(allow, 'Z', sizeof(allow));
	assert_int_equal(match(METHOD_POST, "/items/1", &r, allow, 6),
	    ERR_METHOD);
	req_free(&r);
	/* Truncated, terminated, nothing written past allowsz. */
	assert_true(strlen(allow) < 6);
	assert_int_equal(strncmp(allow, "GET", 3), 0);
	assert_int_equal(allow[6], 'Z');
	assert_int_equal(allow[7], 'Z');
	assert_int_equal(match(METHOD_POST, "/items/1", &r, allow, 0),
	    ERR_METHOD);
	req_free(&r);
}

/* The level a path is matched at (the route must match). */
static enum auth_level
level_of(enum http_method m, const char *path)
{
	struct req	 r;
	enum auth_level	 l;
	char		 allow[64];

	if (match(m, path, &r, allow, sizeof(allow)) != ERR_OK)
		fail_msg("%s %s: no route", http_method_name(m), path);
	l = r.auth_level;
	req_free(&r);
	return l;
}

/*
 * Forge Remote: one route table, one more level.  Its own rows below
 * /forge/, the context routes below /forge/ at level AUTH_FORGE, no
 * other route from there; and nothing at all while it is off.
 */
static void
test_match_forge(void **state)
{
	(void)state;
	forge_on = 0;
	expect_refusal(METHOD_POST, "/forge/events", ERR_NOT_FOUND, "");
	expect_refusal(METHOD_GET, "/forge/secure", ERR_NOT_FOUND, "");
	expect_refusal(METHOD_GET, "/forge/secure/7", ERR_NOT_FOUND, "");
	assert_int_equal(level_of(METHOD_GET, "/secure"), AUTH_CONTEXT);

	forge_on = 1;
	expect_route(METHOD_POST, "/forge/events", "forge_events", "");
	assert_int_equal(level_of(METHOD_POST, "/forge/events"), AUTH_FORGE);
	expect_refusal(METHOD_GET, "/forge/events", ERR_METHOD, "POST");
	/* A context route, reached at AUTH_FORGE, with its parameters. */
	expect_route(METHOD_GET, "/forge/secure", "secure_get", "");
	assert_int_equal(level_of(METHOD_GET, "/forge/secure"), AUTH_FORGE);
	expect_route(METHOD_GET, "/forge/secure/7", "secure_item", "7");
	assert_int_equal(level_of(METHOD_GET, "/forge/secure/7"), AUTH_FORGE);
	/* The same route without the prefix keeps its own level. */
	assert_int_equal(level_of(METHOD_GET, "/secure"), AUTH_CONTEXT);
	assert_int_equal(level_of(METHOD_POST, "/secure"), AUTH_PAGE);
	/* No other level from below /forge/: public, page, none. */
	expect_refusal(METHOD_GET, "/forge/items", ERR_NOT_FOUND, "");
	expect_refusal(METHOD_GET, "/forge/", ERR_NOT_FOUND, "");
	expect_refusal(METHOD_GET, "/forge/forge/events", ERR_NOT_FOUND, "");
	expect_refusal(METHOD_POST, "/forge/optional", ERR_NOT_FOUND, "");
	expect_refusal(METHOD_GET, "/forge", ERR_NOT_FOUND, "");
	/* POST /secure is AUTH_PAGE: never reached from Forge. */
	expect_refusal(METHOD_POST, "/forge/secure", ERR_METHOD, "GET");
	/* Forge's rows only below the prefix, and only the whole prefix. */
	expect_refusal(METHOD_POST, "/events", ERR_NOT_FOUND, "");
	expect_refusal(METHOD_GET, "/forgesecure", ERR_NOT_FOUND, "");
	expect_refusal(METHOD_GET, "/forgex/secure", ERR_NOT_FOUND, "");
	forge_on = 0;
}

/* -------------------------------------------------------- check_body */

static enum err
check(const char *pattern, enum http_method m, long long cl,
    const char *ctype)
{
	struct req	 r;
	size_t		 i;

	memset(&r, 0, sizeof(r));
	for (i = 0; i < NTAB; i++)
		if (tab[i].method == m && strcmp(tab[i].pattern, pattern) == 0)
			r.route = &tab[i];
	if (r.route == NULL)
		fail_msg("no route %s", pattern);
	r.content_length = cl;
	r.content_type = (char *)(uintptr_t)ctype;
	return router_check_body(&r);
}

static void
test_check_body_no_body_route(void **state)
{
	(void)state;
	assert_int_equal(check("/items", METHOD_GET, -1, NULL), ERR_OK);
	assert_int_equal(check("/items", METHOD_GET, 0, NULL), ERR_OK);
	assert_int_equal(check("/items", METHOD_GET, 0, JSON), ERR_OK);
	assert_int_equal(check("/items", METHOD_GET, 1, JSON), ERR_TOO_LARGE);
	assert_int_equal(check("/items", METHOD_GET, 1LL << 40, NULL),
	    ERR_TOO_LARGE);
}

static void
test_check_body_length(void **state)
{
	(void)state;
	assert_int_equal(check("/items", METHOD_POST, -1, JSON),
	    ERR_LENGTH_REQUIRED);
	assert_int_equal(check("/items", METHOD_POST, -1, NULL),
	    ERR_LENGTH_REQUIRED);
	assert_int_equal(check("/items", METHOD_POST, 64, JSON), ERR_OK);
	assert_int_equal(check("/items", METHOD_POST, 65, JSON),
	    ERR_TOO_LARGE);
	assert_int_equal(check("/items", METHOD_POST, 1LL << 40, JSON),
	    ERR_TOO_LARGE);
	/* Over the limit wins over a wrong type: the body is never read. */
	assert_int_equal(check("/items", METHOD_POST, 65, "text/plain"),
	    ERR_TOO_LARGE);
}

static void
test_check_body_media_type(void **state)
{
	(void)state;
	assert_int_equal(check("/items", METHOD_POST, 2, JSON), ERR_OK);
	assert_int_equal(check("/items", METHOD_POST, 2,
	    "application/json; charset=utf-8"), ERR_OK);
	assert_int_equal(check("/items", METHOD_POST, 2, "Application/JSON"),
	    ERR_OK);
	assert_int_equal(check("/items", METHOD_POST, 2, "text/plain"),
	    ERR_MEDIA_TYPE);
	assert_int_equal(check("/items", METHOD_POST, 2, NULL),
	    ERR_MEDIA_TYPE);
	assert_int_equal(check("/items", METHOD_POST, 2, ""),
	    ERR_MEDIA_TYPE);
	assert_int_equal(check("/items", METHOD_POST, 2,
	    "application/jsonx"), ERR_MEDIA_TYPE);
	assert_int_equal(check("/items", METHOD_POST, 2,
	    "application/json-patch+json"), ERR_MEDIA_TYPE);
	assert_int_equal(check("/items", METHOD_POST, 2,
	    "application/json garbage"), ERR_MEDIA_TYPE);
	assert_int_equal(check("/items", METHOD_POST, 2,
	    "multipart/form-data; boundary=application/json"),
	    ERR_MEDIA_TYPE);
}

/* ---------------------------------------------------------- dispatch */

/* The app log goes to memory so tests can read what it said. */
#define log_buf	fx_log_text()

static int
setup(void **state)
{
	(void)state;
	handler_calls = 0;
	auth_calls = 0;
	auth_result = ERR_OK;
	seen_body[0] = seen_params[0] = '\0';
	seen_json = -1;
	fx_log_start();
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	fx_log_stop();
	return 0;
}

static int
group_setup(void **state)
{
	(void)state;
	log_init("test_router", LOGL_DEBUG);
	return sodium_init() < 0 ? -1 : 0;
}

struct outcome {
	int		 status;
	char		 body[512];
	char		 allow[64];
	size_t		 body_pos;	/* body bytes the router read */
};

/*
 * One request through req_init and router_dispatch: method, REQUEST_URI,
 * CONTENT_LENGTH (NULL: absent), CONTENT_TYPE, body and Authorization.
 */
static void
dispatch(const char *method, const char *uri, const char *cl,
    const char *ctype, const char *body, const char *authz,
    router_auth_fn auth, struct outcome *o)
{
	const char	*params[13];
	struct fake	 f;
	struct http_io	 io;
	struct req	 r;
	struct reply	 rep;
	size_t		 n = 0;

	params[n++] = "REQUEST_METHOD";
	params[n++] = method;
	params[n++] = "REQUEST_URI";
	params[n++] = uri;
	if (cl != NULL) {
		params[n++] = "CONTENT_LENGTH";
		params[n++] = cl;
	}
	if (ctype != NULL) {
		params[n++] = "CONTENT_TYPE";
		params[n++] = ctype;
	}
	if (authz != NULL) {
		params[n++] = "HTTP_AUTHORIZATION";
		params[n++] = authz;
	}
	params[n] = NULL;
	memset(&f, 0, sizeof(f));
	io = fake_io(&f);
	/* At most 3 bytes per read, like a slow socket. */
	f.chunk = 3;
	f.params = params;
	f.body = body != NULL ? body : "";
	f.body_len = strlen(f.body);
	reply_init(&rep);
	memset(o, 0, sizeof(*o));
	if (req_init(&r, &io, "", NULL) != ERR_OK) {
		req_free(&r);
		fail_msg("req_init refused %s %s", method, uri);
	}
	r.forge = forge_on;
	router_dispatch(tab, NTAB, auth, &r, &io, &rep);
	o->status = rep.status;
	if (rep.body != NULL) {
		assert_int_equal(rep.len, strlen(rep.body));
		snprintf(o->body, sizeof(o->body), "%s", rep.body);
	}
	snprintf(o->allow, sizeof(o->allow), "%s", rep.allow);
	o->body_pos = f.pos;
	reply_free(&rep);
	req_free(&r);
}

/* The reply is the fixed error body of e. */
static void
expect_error_reply(const struct outcome *o, enum err e)
{
	cJSON		*v;
	const char	*s;

	assert_int_equal(o->status, err_status(e));
	assert_int_equal(json_parse(o->body, strlen(o->body), &v), JSON_OK);
	assert_int_equal(json_get_str(v, "error", 1, 64, &s), JSON_OK);
	assert_string_equal(s, err_code(e));
	assert_int_equal(json_get_str(v, "message", 1, 200, &s), JSON_OK);
	assert_string_equal(s, err_message(e));
	assert_int_equal(cJSON_GetArraySize(v), 2);
	cJSON_Delete(v);
}

static void
test_dispatch_ok(void **state)
{
	struct outcome	 o;

	(void)state;
	dispatch("GET", "/items/42/notes/7?x=1", NULL, NULL, NULL, NULL,
	    NULL, &o);
	assert_int_equal(o.status, 200);
	assert_string_equal(o.body, "{\"route\":\"note_get\"}");
	assert_string_equal(o.allow, "");
	assert_string_equal(seen_params, "42|7");
	assert_string_equal(seen_body, "(null)");
	assert_int_equal(seen_json, 0);
	assert_int_equal(handler_calls, 1);

	/*
	 * The handler sees exactly the announced body, parsed; what
	 * follows it on the connection is never read.
	 */
	dispatch("POST", "/items", "12", "application/json; charset=utf-8",
	    "{\"a\":\"bcde\"}XTRA", NULL, NULL, &o);
	assert_int_equal(o.status, 200);
	assert_string_equal(o.body, "{\"route\":\"items_create\"}");
	assert_string_equal(seen_body, "{\"a\":\"bcde\"}");
	assert_int_equal(seen_json, 1);
	assert_int_equal(o.body_pos, 12);
	assert_int_equal(handler_calls, 2);
	assert_int_equal(auth_calls, 0);
}

static void
test_dispatch_404_405(void **state)
{
	struct outcome	 o;

	(void)state;
	dispatch("GET", "/nope", NULL, NULL, NULL, NULL, verifier, &o);
	expect_error_reply(&o, ERR_NOT_FOUND);
	assert_string_equal(o.allow, "");
	dispatch("DELETE", "/items", NULL, NULL, NULL, NULL, verifier, &o);
	expect_error_reply(&o, ERR_METHOD);
	assert_string_equal(o.allow, "GET, POST");
	dispatch("PATCH", "/items/1", "2", JSON, "{}", NULL, verifier, &o);
	expect_error_reply(&o, ERR_METHOD);
	assert_string_equal(o.allow, "GET, PUT, DELETE");
	assert_int_equal(o.body_pos, 0);
	assert_int_equal(handler_calls, 0);
	assert_int_equal(auth_calls, 0);
}

static void
test_dispatch_body_refusals(void **state)
{
	struct outcome	 o;

	(void)state;
	/* 411: a body route without Content-Length. */
	dispatch("POST", "/items", NULL, JSON, "{}", NULL, NULL, &o);
	expect_error_reply(&o, ERR_LENGTH_REQUIRED);
	assert_int_equal(o.body_pos, 0);
	/* 413: over the route's limit, nothing read. */
	dispatch("POST", "/items", "65", JSON, "{}", NULL, NULL, &o);
	expect_error_reply(&o, ERR_TOO_LARGE);
	assert_int_equal(o.body_pos, 0);
	/* 413: a body on a route that takes none. */
	dispatch("GET", "/items", "2", JSON, "{}", NULL, NULL, &o);
	expect_error_reply(&o, ERR_TOO_LARGE);
	assert_int_equal(o.body_pos, 0);
	/* 415: wrong or missing media type, nothing read. */
	dispatch("POST", "/items", "2", "text/plain", "{}", NULL, NULL, &o);
	expect_error_reply(&o, ERR_MEDIA_TYPE);
	assert_int_equal(o.body_pos, 0);
	dispatch("POST", "/items", "2", NULL, "{}", NULL, NULL, &o);
	expect_error_reply(&o, ERR_MEDIA_TYPE);
	/* 400: fewer bytes than announced. */
	dispatch("POST", "/items", "10", JSON, "{\"a\":", NULL, NULL, &o);
	expect_error_reply(&o, ERR_BAD_REQUEST);
	assert_int_equal(o.body_pos, 5);
	assert_int_equal(handler_calls, 0);
	assert_non_null(strstr(log_buf, "reason=body_short"));
}

/* A JSON route's body is parsed strictly before the handler runs. */
/*
 * A route whose body is optional: without one (a zero length whatever
 * the type, or neither header) the handler runs with no JSON; with one, every body rule
 * holds as on any body route.
 */
static void
test_dispatch_optional_body(void **state)
{
	struct outcome	 o;

	(void)state;
	dispatch("POST", "/optional", NULL, NULL, NULL, NULL, verifier, &o);
	assert_int_equal(o.status, 200);
	assert_int_equal(seen_json, 0);
	dispatch("POST", "/optional", "0", NULL, NULL, NULL, verifier, &o);
	assert_int_equal(o.status, 200);
	assert_int_equal(seen_json, 0);
	/*
	 * A zero length is no body whatever the type says (Forge's cron
	 * and pre-uninstall with Content-Type: application/json), also
	 * a type the route would refuse with a body: nothing is read or
	 * parsed.
	 */
	dispatch("POST", "/optional", "0", JSON, NULL, NULL, verifier, &o);
	assert_int_equal(o.status, 200);
	assert_int_equal(seen_json, 0);
	assert_int_equal(o.body_pos, 0);
	dispatch("POST", "/optional", "0", "text/plain", NULL, NULL, verifier,
	    &o);
	assert_int_equal(o.status, 200);
	assert_int_equal(seen_json, 0);
	dispatch("POST", "/optional", "2", JSON, "{}", NULL, verifier, &o);
	assert_int_equal(o.status, 200);
	assert_int_equal(seen_json, 1);
	assert_int_equal(handler_calls, 5);
	/* A typed body with no length is still refused (411). */
	dispatch("POST", "/optional", NULL, JSON, "{}", NULL, verifier, &o);
	expect_error_reply(&o, ERR_LENGTH_REQUIRED);
	/* A zero length on a route whose body is required still is. */
	dispatch("POST", "/items", "0", JSON, NULL, NULL, NULL, &o);
	assert_int_not_equal(o.status, 200);
	/* A body says what it is, is no larger than allowed, and parses. */
	dispatch("POST", "/optional", "2", NULL, "{}", NULL, verifier, &o);
	expect_error_reply(&o, ERR_MEDIA_TYPE);
	dispatch("POST", "/optional", "65", JSON, "{}", NULL, verifier, &o);
	expect_error_reply(&o, ERR_TOO_LARGE);
	dispatch("POST", "/optional", "1", JSON, "{", NULL, verifier, &o);
	expect_error_reply(&o, ERR_BAD_REQUEST);
	assert_int_equal(handler_calls, 5);
}

static void
test_dispatch_bad_json(void **state)
{
	static const char *const bodies[] = {
		"{\"a\":1}x",			/* trailing data */
		"{\"a\":1,\"a\":2}",		/* duplicate key */
		"{\"a\":\"\\u0000\"}",		/* \u0000 */
		"{\"a\":\"\xc0\xaf\"}",		/* invalid UTF-8 */
		"",				/* empty */
		"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1"
		    "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",	/* too deep */
	};
	struct outcome	 o;
	char		 cl[32];
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		snprintf(cl, sizeof(cl), "%zu", strlen(bodies[i]));
		dispatch("PUT", "/items/1", cl, JSON, bodies[i], NULL, NULL,
		    &o);
		if (o.status != 400)
			fail_msg("body %zu: status %d, want 400", i, o.status);
		expect_error_reply(&o, ERR_BAD_REQUEST);
	}
	/*
	 * With a verifier that refuses: 401 from the headers alone, the
	 * body never read (an unauthenticated sender costs no parse).
	 */
	auth_result = ERR_UNAUTHORIZED;
	dispatch("POST", "/secure", "3", JSON, "{x}", "JWT a.b.c", verifier,
	    &o);
	expect_error_reply(&o, ERR_UNAUTHORIZED);
	assert_int_equal(o.body_pos, 0);
	assert_int_equal(handler_calls, 0);
	assert_non_null(strstr(log_buf, "reason=json_duplicate"));
	assert_non_null(strstr(log_buf, "reason=json_syntax"));
}

static void
test_dispatch_auth_fail_closed(void **state)
{
	struct outcome	 o;

	(void)state;
	/* No verifier wired up: every protected route refuses. */
	dispatch("GET", "/secure", NULL, NULL, NULL, "JWT a.b.c", NULL, &o);
	expect_error_reply(&o, ERR_UNAUTHORIZED);
	dispatch("POST", "/secure", "2", JSON, "{}", "JWT a.b.c", NULL, &o);
	expect_error_reply(&o, ERR_UNAUTHORIZED);
	assert_int_equal(handler_calls, 0);
	assert_non_null(strstr(log_buf, "reason=no_verifier"));

	/* A verifier that refuses: 401, handler not called. */
	auth_result = ERR_UNAUTHORIZED;
	dispatch("GET", "/secure", NULL, NULL, NULL, "JWT a.b.c", verifier,
	    &o);
	expect_error_reply(&o, ERR_UNAUTHORIZED);
	assert_int_equal(auth_calls, 1);
	assert_int_equal(handler_calls, 0);

	/* Whatever it refuses with is what the client gets. */
	auth_result = ERR_FORBIDDEN;
	dispatch("GET", "/secure", NULL, NULL, NULL, NULL, verifier, &o);
	expect_error_reply(&o, ERR_FORBIDDEN);
	assert_int_equal(auth_calls, 2);
	assert_int_equal(handler_calls, 0);

	/* A verifier that accepts lets the handler run. */
	auth_result = ERR_OK;
	dispatch("GET", "/secure", NULL, NULL, NULL, "JWT a.b.c", verifier,
	    &o);
	assert_int_equal(o.status, 200);
	assert_int_equal(auth_calls, 3);
	assert_int_equal(handler_calls, 1);

	/* Public routes never consult the verifier. */
	auth_result = ERR_UNAUTHORIZED;
	dispatch("GET", "/items", NULL, NULL, NULL, NULL, verifier, &o);
	assert_int_equal(o.status, 200);
	assert_int_equal(auth_calls, 3);
}

/*
 * A context route below /forge/ is authenticated at AUTH_FORGE (the
 * verifier is told so) and runs the same handler; with Forge off the
 * whole prefix is 404 with the fixed JSON body, no verifier asked.
 */
static void
test_dispatch_forge(void **state)
{
	struct outcome	 o;

	(void)state;
	forge_on = 1;
	dispatch("GET", "/forge/secure/12", NULL, NULL, NULL, "Bearer a.b.c",
	    verifier, &o);
	assert_int_equal(o.status, 200);
	assert_int_equal(seen_level, AUTH_FORGE);
	assert_string_equal(seen_params, "12");
	assert_non_null(strstr(o.body, "\"secure_item\""));
	dispatch("GET", "/secure/12", NULL, NULL, NULL, "JWT a.b.c",
	    verifier, &o);
	assert_int_equal(seen_level, AUTH_CONTEXT);
	dispatch("POST", "/forge/events", "2", JSON, "{}", "Bearer a.b.c",
	    verifier, &o);
	assert_int_equal(o.status, 200);
	assert_int_equal(seen_level, AUTH_FORGE);
	assert_int_equal(auth_calls, 3);
	/* Refused as the verifier says, 401 with the fixed body. */
	auth_result = ERR_UNAUTHORIZED;
	dispatch("GET", "/forge/secure", NULL, NULL, NULL, NULL, verifier,
	    &o);
	expect_error_reply(&o, ERR_UNAUTHORIZED);
	assert_int_equal(handler_calls, 3);
	forge_on = 0;
	auth_result = ERR_OK;
	dispatch("POST", "/forge/events", "2", JSON, "{}", "Bearer a.b.c",
	    verifier, &o);
	expect_error_reply(&o, ERR_NOT_FOUND);
	dispatch("GET", "/forge/secure", NULL, NULL, NULL, "Bearer a.b.c",
	    verifier, &o);
	expect_error_reply(&o, ERR_NOT_FOUND);
	assert_int_equal(auth_calls, 4);
	assert_int_equal(handler_calls, 3);
}

static void
test_dispatch_handler_errors(void **state)
{
	struct outcome	 o;

	(void)state;
	/* The error replaces whatever the handler had started. */
	dispatch("GET", "/conflict", NULL, NULL, NULL, NULL, NULL, &o);
	expect_error_reply(&o, ERR_CONFLICT);
	assert_null(strstr(o.body, "partial"));
	dispatch("GET", "/internal", NULL, NULL, NULL, NULL, NULL, &o);
	expect_error_reply(&o, ERR_INTERNAL);
	assert_non_null(strstr(log_buf, "reason=internal route=internal"));
	/* A handler that says OK but produced nothing is a 500. */
	dispatch("GET", "/nothing", NULL, NULL, NULL, NULL, NULL, &o);
	expect_error_reply(&o, ERR_INTERNAL);
	/* Unless it said 204. */
	dispatch("DELETE", "/nocontent", NULL, NULL, NULL, NULL, NULL, &o);
	assert_int_equal(o.status, 204);
	assert_string_equal(o.body, "");
	assert_int_equal(handler_calls, 4);
}

/*
 * A handler whose tenant file was re-encrypted meanwhile (nothing
 * written) runs again after the tenant is read again, up to
 * ROUTER_REKEY_TRIES runs in all; one more ERR_REKEYED is the client's
 * 503.
 */
static void
test_dispatch_retries_a_rekeyed_handler_a_bounded_number_of_times(
    void **state)
{
	struct outcome	 o;

	(void)state;
	auth_result = ERR_OK;
	refresh_calls = 0;
	rekeyed_left = ROUTER_REKEY_TRIES - 1;
	dispatch("POST", "/rekeyed", "2", JSON, "{}", "JWT a.b.c", verifier,
	    &o);
	assert_int_equal(o.status, 200);
	assert_int_equal(handler_calls, ROUTER_REKEY_TRIES);
	assert_int_equal(refresh_calls, ROUTER_REKEY_TRIES - 1);
	handler_calls = 0;
	refresh_calls = 0;
	rekeyed_left = ROUTER_REKEY_TRIES;
	dispatch("POST", "/rekeyed", "2", JSON, "{}", "JWT a.b.c", verifier,
	    &o);
	expect_error_reply(&o, ERR_REKEYED);
	assert_int_equal(handler_calls, ROUTER_REKEY_TRIES);
	assert_int_equal(refresh_calls, ROUTER_REKEY_TRIES - 1);
}

/*
 * Nothing the client sent may come back in an error reply or go to the
 * log: a marker in the path, query, body, Content-Type and Authorization
 * of every kind of refused request must appear in neither.
 */
static void
test_dispatch_never_echoes(void **state)
{
#define MK	"Zq7MARKERx"
	static const struct {
		const char	*method, *uri, *cl, *ctype, *body, *authz;
		enum err	 e;
		int		 with_verifier;
	} cases[] = {
		{ "GET", "/" MK "?q=" MK, NULL, NULL, NULL, "JWT " MK,
		    ERR_NOT_FOUND, 1 },
		{ "GET", "/items/" MK "/notes?" MK "=1", NULL, NULL, NULL,
		    NULL, ERR_NOT_FOUND, 1 },
		{ "PATCH", "/items/" MK "?" MK, "9", JSON, MK, "JWT " MK,
		    ERR_METHOD, 1 },
		{ "POST", "/items?" MK, NULL, "text/" MK, MK, NULL,
		    ERR_LENGTH_REQUIRED, 1 },
		{ "POST", "/items?" MK, "100", JSON, MK, NULL,
		    ERR_TOO_LARGE, 1 },
		{ "GET", "/items/" MK "?" MK, "10", JSON, MK, NULL,
		    ERR_TOO_LARGE, 1 },
		{ "POST", "/items?" MK, "10", "application/" MK, MK, NULL,
		    ERR_MEDIA_TYPE, 1 },
		{ "POST", "/items?" MK, "20", JSON, "{\"" MK "\":", NULL,
		    ERR_BAD_REQUEST, 1 },
		{ "GET", "/secure?jwt=" MK, NULL, NULL, NULL, "JWT " MK,
		    ERR_UNAUTHORIZED, 0 },
		{ "POST", "/secure?jwt=" MK, "16", JSON, "{\"" MK "\":1}",
		    "JWT " MK, ERR_UNAUTHORIZED, 1 },
		{ "GET", "/conflict?" MK, NULL, NULL, NULL, "JWT " MK,
		    ERR_CONFLICT, 1 },
	};
	struct outcome	 o;
	size_t		 i;

	(void)state;
	auth_result = ERR_UNAUTHORIZED;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		dispatch(cases[i].method, cases[i].uri, cases[i].cl,
		    cases[i].ctype, cases[i].body, cases[i].authz,
		    cases[i].with_verifier ? verifier : NULL, &o);
		if (o.status != err_status(cases[i].e))
			fail_msg("case %zu (%s %s): status %d, want %d", i,
			    cases[i].method, cases[i].uri, o.status,
			    err_status(cases[i].e));
		expect_error_reply(&o, cases[i].e);
		if (strstr(o.body, "Zq7") != NULL)
			fail_msg("case %zu: reply echoes input: %s", i, o.body);
		if (strstr(o.allow, "Zq7") != NULL)
			fail_msg("case %zu: Allow echoes input", i);
		if (log_buf != NULL && strstr(log_buf, "Zq7") != NULL)
			fail_msg("case %zu: log echoes input: %s", i, log_buf);
	}
	/* Only the conflict route's handler ran. */
	assert_int_equal(handler_calls, 1);
#undef MK
}

/*
 * The worker's own table: every route is reachable.  A path made from
 * each pattern ("{}" filled with a value no literal segment has) must
 * reach that very route, so no row shadows a later one, whatever the
 * order rows are added in.
 */
static void
test_real_table_has_no_shadowed_route(void **state)
{
	char		 path[256], allow[64];
	const char	*p;
	struct req	 r;
	size_t		 i, n;

	(void)state;
	assert_true(nroutes > 0);
	for (i = 0; i < nroutes; i++) {
		for (p = routes[i].pattern, n = 0; *p != '\0' &&
		    n + 8 < sizeof(path); p++) {
			if (p[0] == '{' && p[1] == '}') {
				memcpy(path + n, "7x7", 3);
				n += 3;
				p++;
			} else
				path[n++] = *p;
		}
		path[n] = '\0';
		memset(&r, 0, sizeof(r));
		r.method = routes[i].method;
		r.forge = 1;
		assert_non_null(r.path = strdup(path));
		if (router_match(routes, nroutes, &r, allow, sizeof(allow)) !=
		    ERR_OK || r.route != &routes[i])
			fail_msg("%s %s reaches %s, not %s",
			    http_method_name(routes[i].method), path,
			    r.route != NULL ? r.route->name : "nothing",
			    routes[i].name);
		req_free(&r);
	}
}

/*
 * The pages' gate (route_ui.c) in the real table: GET /ui/NAME at
 * AUTH_PAGE, its page name the parameter; nothing else reaches it.
 */
static void
test_real_table_ui_route(void **state)
{
	struct req	 r;
	char		 allow[64];

	(void)state;
	memset(&r, 0, sizeof(r));
	r.method = METHOD_GET;
	assert_non_null(r.path = strdup("/ui/picker"));
	assert_int_equal(router_match(routes, nroutes, &r, allow,
	    sizeof(allow)), ERR_OK);
	assert_string_equal(r.route->name, "ui_page");
	assert_int_equal(r.auth_level, AUTH_PAGE);
	assert_int_equal(r.nparams, 1);
	assert_string_equal(r.params[0], "picker");
	req_free(&r);

	memset(&r, 0, sizeof(r));
	r.method = METHOD_POST;
	assert_non_null(r.path = strdup("/ui/picker"));
	assert_int_equal(router_match(routes, nroutes, &r, allow,
	    sizeof(allow)), ERR_METHOD);
	assert_string_equal(allow, "GET");
	req_free(&r);

	/* Not below /forge/: a page is a Connect page. */
	memset(&r, 0, sizeof(r));
	r.method = METHOD_GET;
	r.forge = 1;
	assert_non_null(r.path = strdup("/forge/ui/picker"));
	assert_int_equal(router_match(routes, nroutes, &r, allow,
	    sizeof(allow)), ERR_NOT_FOUND);
	req_free(&r);
}

/* route_ui run on its own: an app with this configuration, a tenant. */
struct uifx {
	char		 dir[64];
	struct conf	*cfg;
	struct app	 app;
	struct tenant	 t;
	struct req	 r;
	struct reply	 rep;
};

static int
ui_setup(void **state)
{
	struct uifx	*u;
	char		 path[128], err[CONF_ERRLEN];
	FILE		*fp;

	assert_non_null(u = calloc(1, sizeof(*u)));
	assert_int_equal(fx_tmpdir(u->dir, sizeof(u->dir)), 0);
	snprintf(path, sizeof(path), "%s/cellar.conf", u->dir);
	assert_non_null(fp = fopen(path, "w"));
	fprintf(fp, "[app]\nkey = com.example.unit\n"
	    "base_url = https://cellar.example.com\n"
	    "[ui]\nall_js_url = https://cdn.example.net:8443/a/all.js\n");
	fclose(fp);
	if ((u->cfg = conf_load_cellar(u->dir, err)) == NULL)
		fail_msg("%s", err);
	u->app.cfg = u->cfg;
	u->r.app = &u->app;
	u->r.tenant = &u->t;
	u->r.nparams = 1;
	reply_init(&u->rep);
	*state = u;
	return 0;
}

static int
ui_teardown(void **state)
{
	struct uifx	*u = *state;

	reply_free(&u->rep);
	conf_free(u->cfg);
	fx_rmtree(u->dir);
	free(u);
	return 0;
}

/* route_ui for page name with the tenant's base URL base. */
static enum err
ui_run(struct uifx *u, const char *name, const char *base)
{
	char	 pname[32], bbuf[128];

	snprintf(pname, sizeof(pname), "%s", name);
	u->r.params[0] = pname;
	if (base != NULL) {
		snprintf(bbuf, sizeof(bbuf), "%s", base);
		u->t.base_url = bbuf;
	} else
		u->t.base_url = NULL;
	reply_free(&u->rep);
	reply_init(&u->rep);
	return route_ui(&u->r, &u->rep);
}

static void
test_ui_gate_policy(void **state)
{
	struct uifx	*u = *state;
	static const char *pages[] = { "picker", "templates", "panoramas",
	    "issue-panoramas", "admin" };
	size_t		 i;

	for (i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
		assert_int_equal(ui_run(u, pages[i],
		    "https://site.atlassian.net"), ERR_OK);
		assert_int_equal(u->rep.status, 204);
		assert_null(u->rep.body);
		assert_non_null(u->rep.csp);
		assert_string_equal(u->rep.csp, "default-src 'none'; "
		    "script-src 'self' https://cdn.example.net:8443; "
		    "style-src 'self'; img-src 'self' data:; "
		    "connect-src 'self'; font-src 'self'; base-uri 'none'; "
		    "form-action 'none'; "
		    "frame-ancestors https://site.atlassian.net");
		assert_string_equal(u->rep.all_js,
		    "https://cdn.example.net:8443/a/all.js");
	}
	/* The origin only: no path of a base URL, its port kept. */
	assert_int_equal(ui_run(u, "admin",
	    "https://Site.example.com:444/jira/"), ERR_OK);
	assert_non_null(strstr(u->rep.csp,
	    "; frame-ancestors https://Site.example.com:444"));
	assert_null(strstr(u->rep.csp, "/jira"));
}

static void
test_ui_gate_refusals(void **state)
{
	struct uifx	*u = *state;

	/* Only the pages of the table, exactly. */
	assert_int_equal(ui_run(u, "nope", "https://site.atlassian.net"),
	    ERR_NOT_FOUND);
	assert_int_equal(ui_run(u, "Picker", "https://site.atlassian.net"),
	    ERR_NOT_FOUND);
	assert_int_equal(ui_run(u, "picker.html",
	    "https://site.atlassian.net"), ERR_NOT_FOUND);
	assert_null(u->rep.csp);
	/* A tenant reached through Forge alone has no site to frame it. */
	assert_int_equal(ui_run(u, "picker", NULL), ERR_FORBIDDEN);
	assert_int_equal(ui_run(u, "picker", ""), ERR_FORBIDDEN);
	/* Nor does a base URL that is no origin a policy can hold. */
	assert_int_equal(ui_run(u, "picker", "http://site.atlassian.net"),
	    ERR_FORBIDDEN);
	assert_int_equal(ui_run(u, "picker",
	    "https://site.atlassian.net; script-src *"), ERR_FORBIDDEN);
	assert_int_equal(ui_run(u, "picker", "https://a b"), ERR_FORBIDDEN);
	assert_null(u->rep.csp);
}

/*
 * What goes out: the gate's policy and URL instead of the API's fixed
 * policy, once each; an error reply after it carries neither.
 */
static void
test_ui_gate_reply_headers(void **state)
{
	struct uifx	*u = *state;
	struct fake	 f;
	struct http_io	 io;

	assert_int_equal(ui_run(u, "templates",
	    "https://site.atlassian.net"), ERR_OK);
	memset(&f, 0, sizeof(f));
	io = fake_io(&f);
	assert_int_equal(reply_send(&u->rep, &io, "0123456789abcdef"), 0);
	assert_non_null(f.out);
	assert_non_null(strstr(f.out, "Status: 204 "));
	assert_non_null(strstr(f.out, "\r\nContent-Security-Policy: "
	    "default-src 'none'; script-src 'self' "
	    "https://cdn.example.net:8443; "));
	assert_non_null(strstr(f.out, "frame-ancestors "
	    "https://site.atlassian.net\r\n"));
	assert_null(strstr(strstr(f.out, "Content-Security-Policy") + 1,
	    "Content-Security-Policy"));
	assert_non_null(strstr(f.out, "\r\nX-Cellar-All-Js: "
	    "https://cdn.example.net:8443/a/all.js\r\n"));
	assert_null(strstr(f.out, "*.atlassian.net"));
	fake_free(&f);

	reply_error(&u->rep, ERR_UNAUTHORIZED);
	memset(&f, 0, sizeof(f));
	io = fake_io(&f);
	assert_int_equal(reply_send(&u->rep, &io, "0123456789abcdef"), 0);
	assert_non_null(strstr(f.out, "Status: 401 "));
	assert_non_null(strstr(f.out, "Content-Security-Policy: "
	    "default-src 'none'; frame-ancestors 'self' "
	    "https://*.atlassian.net https://*.jira.com\r\n"));
	assert_null(strstr(f.out, "X-Cellar-All-Js"));
	assert_null(strstr(f.out, "cdn.example.net"));
	fake_free(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_table_ui_route),
		cmocka_unit_test_setup_teardown(test_ui_gate_policy, ui_setup,
		    ui_teardown),
		cmocka_unit_test_setup_teardown(test_ui_gate_refusals,
		    ui_setup, ui_teardown),
		cmocka_unit_test_setup_teardown(test_ui_gate_reply_headers,
		    ui_setup, ui_teardown),
		cmocka_unit_test(test_real_table_has_no_shadowed_route),
		cmocka_unit_test(test_match_literal),
		cmocka_unit_test(test_match_params),
		cmocka_unit_test(test_match_trailing_slash),
		cmocka_unit_test(test_match_405),
		cmocka_unit_test(test_match_allow_small_buffer),
		cmocka_unit_test(test_match_forge),
		cmocka_unit_test(test_check_body_no_body_route),
		cmocka_unit_test(test_check_body_length),
		cmocka_unit_test(test_check_body_media_type),
		cmocka_unit_test_setup_teardown(test_dispatch_ok, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_dispatch_404_405, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_dispatch_body_refusals,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_dispatch_optional_body,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_dispatch_bad_json, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_dispatch_auth_fail_closed,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_dispatch_handler_errors,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_dispatch_forge, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_dispatch_never_echoes,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_dispatch_retries_a_rekeyed_handler_a_bounded_number_of_times,
		    setup,
		    teardown),
	};

	return cmocka_run_group_tests_name("router", tests, group_setup,
	    NULL);
}
