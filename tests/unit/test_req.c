/*
 * req and reply: the request boundary (req_init, req_body_read,
 * req_media_type, req_query_param) and
 * the reply (reply_error, reply_send), over an in-memory transport.
 * Every parameter is a CGI/FastCGI variable exactly as nginx would pass
 * it; the body reader hands out data in small chunks, as a socket does.
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

#include "cellar/err.h"
#include "cellar/http.h"
#include "cellar/json.h"
#include "fakeio.h"
#include "reply.h"
#include "req.h"

static int
group_setup(void **state)
{
	(void)state;
	return sodium_init() < 0 ? -1 : 0;
}

/* ---------------------------------------------------------------- body */

static void
body_case(const char *data, size_t data_len, long long cl, size_t limit,
    size_t chunk, size_t fail_at, enum err want, struct fake *f)
{
	struct http_io	 io;
	enum err	 e;
	char		*buf = (char *)(uintptr_t)1;
	size_t		 len = 12345;

	memset(f, 0, sizeof(*f));
	f->body = data;
	f->body_len = data_len;
	f->chunk = chunk;
	f->fail_at = fail_at;
	f->eof_limit = 100;
	io = fake_io(f);
	e = req_body_read(&io, cl, limit, &buf, &len);
	/* Input that has ended is not asked again (or a worker would hang). */
	if (f->eof_reads > 1)
		fail_msg("read called %d times at end of input", f->eof_reads);
	if (e != want) {
		if (e == ERR_OK)
			free(buf);
		fail_msg("req_body_read(cl=%lld, limit=%zu): %s, want %s", cl,
		    limit, err_code(e), err_code(want));
	}
	if (e != ERR_OK) {
		assert_null(buf);
		assert_int_equal(len, 0);
		return;
	}
	assert_non_null(buf);
	assert_int_equal(len, (size_t)cl);
	assert_memory_equal(buf, data, len);
	assert_int_equal(buf[len], '\0');
	free(buf);
}

static void
test_body_exact_in_chunks(void **state)
{
	struct fake	 f;

	(void)state;
	body_case("{\"a\":\"hello\"}", 13, 13, 100, 3, 0, ERR_OK, &f);
	assert_int_equal(f.pos, 13);
	assert_true(f.reads >= 5);
	body_case("{\"a\":\"hello\"}", 13, 13, 13, 1, 0, ERR_OK, &f);
	assert_int_equal(f.reads, 13);
}

static void
test_body_never_reads_past_length(void **state)
{
	struct fake	 f;

	(void)state;
	/* The next request's bytes (or garbage) follow the body. */
	body_case("abcdeXTRA-BYTES", 15, 5, 100, 0, 0, ERR_OK, &f);
	assert_int_equal(f.pos, 5);
	body_case("abcdeXTRA-BYTES", 15, 5, 100, 2, 0, ERR_OK, &f);
	assert_int_equal(f.pos, 5);
}

static void
test_body_short(void **state)
{
	struct fake	 f;

	(void)state;
	body_case("abc", 3, 10, 100, 2, 0, ERR_BAD_REQUEST, &f);
	body_case("", 0, 1, 100, 0, 0, ERR_BAD_REQUEST, &f);
}

static void
test_body_read_error(void **state)
{
	struct fake	 f;

	(void)state;
	body_case("abcdefghij", 10, 10, 100, 4, 4, ERR_BAD_REQUEST, &f);
	body_case("abcdefghij", 10, 10, 100, 0, 0, ERR_OK, &f);
}

static void
test_body_too_large(void **state)
{
	struct fake	 f;

	(void)state;
	body_case("abcdefghij", 10, 10, 9, 0, 0, ERR_TOO_LARGE, &f);
	assert_int_equal(f.reads, 0);
	assert_int_equal(f.pos, 0);
	body_case("", 0, 1LL << 40, 65536, 0, 0, ERR_TOO_LARGE, &f);
	assert_int_equal(f.reads, 0);
	/* At the limit is fine. */
	body_case("abcdefghij", 10, 10, 10, 0, 0, ERR_OK, &f);
}

static void
test_body_zero(void **state)
{
	struct fake	 f;

	(void)state;
	body_case("XTRA", 4, 0, 100, 0, 0, ERR_OK, &f);
	assert_int_equal(f.pos, 0);
	body_case("", 0, 0, 0, 0, 0, ERR_OK, &f);
}

/* ------------------------------------------------------------ req_init */

/* req_init over params; the req must be freed by the caller. */
static enum err
req_with(struct req *r, const char *const *params, const char *base)
{
	struct fake	 f;
	struct http_io	 io;

	memset(&f, 0, sizeof(f));
	f.params = params;
	io = fake_io(&f);
	return req_init(r, &io, base, NULL);
}

static void
expect_req_err(const char *const *params, const char *base, enum err want)
{
	struct req	 r;
	enum err	 e;

	e = req_with(&r, params, base);
	req_free(&r);
	if (e != want)
		fail_msg("req_init: %s, want %s", err_code(e), err_code(want));
}

static void
test_req_basic(void **state)
{
	const char *const p[] = {
		"REQUEST_METHOD", "GET",
		"REQUEST_URI", "/healthz?verbose=1&x=%20",
		"CONTENT_TYPE", "application/json",
		"HTTP_AUTHORIZATION", "JWT abc.def.ghi",
		NULL,
	};
	struct req	 r;
	size_t		 i;

	(void)state;
	assert_int_equal(req_with(&r, p, ""), ERR_OK);
	assert_int_equal(r.method, METHOD_GET);
	assert_string_equal(r.uri, "/healthz?verbose=1&x=%20");
	assert_string_equal(r.path, "/healthz");
	assert_string_equal(r.query, "verbose=1&x=%20");
	assert_string_equal(r.content_type, "application/json");
	assert_string_equal(r.authorization, "JWT abc.def.ghi");
	assert_int_equal(r.content_length, -1);
	assert_null(r.body);
	assert_null(r.route);
	assert_int_equal(r.nparams, 0);
	assert_true(r.start_usec > 0);
	assert_int_equal(strlen(r.rid), 16);
	for (i = 0; i < 16; i++)
		assert_non_null(strchr("0123456789abcdef", r.rid[i]));
	req_free(&r);
	req_free(NULL);
}

static void
test_req_rid_random(void **state)
{
	const char *const p[] = {
		"REQUEST_METHOD", "GET", "REQUEST_URI", "/", NULL,
	};
	struct req	 a, b;

	(void)state;
	assert_int_equal(req_with(&a, p, ""), ERR_OK);
	assert_int_equal(req_with(&b, p, ""), ERR_OK);
	assert_string_not_equal(a.rid, b.rid);
	req_free(&a);
	req_free(&b);
}

static void
test_req_methods(void **state)
{
	static const struct {
		const char		*token;
		enum err		 e;
		enum http_method	 m;
	} cases[] = {
		{ "GET", ERR_OK, METHOD_GET },
		{ "POST", ERR_OK, METHOD_POST },
		{ "PUT", ERR_OK, METHOD_PUT },
		{ "DELETE", ERR_OK, METHOD_DELETE },
		{ "PATCH", ERR_OK, METHOD_PATCH },
		/* Well-formed tokens we do not serve: the router says 405. */
		{ "HEAD", ERR_OK, METHOD__MAX },
		{ "GETX", ERR_OK, METHOD__MAX },
		{ "ABCDEFGHIJKLMNOP", ERR_OK, METHOD__MAX },
		/* Not a method token. */
		{ "get", ERR_BAD_REQUEST, METHOD__MAX },
		{ "Get", ERR_BAD_REQUEST, METHOD__MAX },
		{ "", ERR_BAD_REQUEST, METHOD__MAX },
		{ "GET ", ERR_BAD_REQUEST, METHOD__MAX },
		{ "G-T", ERR_BAD_REQUEST, METHOD__MAX },
		{ "ABCDEFGHIJKLMNOPQ", ERR_BAD_REQUEST, METHOD__MAX },
	};
	const char	*p[] = { "REQUEST_METHOD", NULL, "REQUEST_URI", "/",
			    NULL };
	const char *const none[] = { "REQUEST_URI", "/", NULL };
	struct req	 r;
	enum err	 e;
	enum http_method m;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		p[1] = cases[i].token;
		e = req_with(&r, p, "");
		m = r.method;
		req_free(&r);
		if (e != cases[i].e || m != cases[i].m)
			fail_msg("method \"%s\": %s/%d, want %s/%d",
			    cases[i].token, err_code(e), (int)m,
			    err_code(cases[i].e), (int)cases[i].m);
	}
	expect_req_err(none, "", ERR_BAD_REQUEST);
	assert_string_equal(http_method_name(METHOD_DELETE), "DELETE");
	assert_string_equal(http_method_name(METHOD__MAX), "OTHER");
}

/* REQUEST_URI uri with base: ERR_OK and path/query, or an error. */
static void
expect_path(const char *uri, const char *base, enum err want,
    const char *path, const char *query)
{
	const char *const p[] = {
		"REQUEST_METHOD", "GET", "REQUEST_URI", uri, NULL,
	};
	struct req	 r;
	enum err	 e;
	char		 got_path[256] = "", got_query[256] = "(null)";

	e = req_with(&r, p, base);
	if (e == ERR_OK) {
		snprintf(got_path, sizeof(got_path), "%s", r.path);
		if (r.query != NULL)
			snprintf(got_query, sizeof(got_query), "%s", r.query);
	}
	req_free(&r);
	if (e != want)
		fail_msg("uri \"%s\" base \"%s\": %s, want %s", uri, base,
		    err_code(e), err_code(want));
	if (want != ERR_OK)
		return;
	if (strcmp(got_path, path) != 0)
		fail_msg("uri \"%s\" base \"%s\": path \"%s\", want \"%s\"",
		    uri, base, got_path, path);
	if (strcmp(got_query, query != NULL ? query : "(null)") != 0)
		fail_msg("uri \"%s\": query \"%s\", want \"%s\"", uri,
		    got_query, query != NULL ? query : "(null)");
}

static void
test_req_uri_split(void **state)
{
	(void)state;
	expect_path("/", "", ERR_OK, "/", NULL);
	expect_path("/a/b", "", ERR_OK, "/a/b", NULL);
	expect_path("/a?", "", ERR_OK, "/a", "");
	expect_path("/a?x=1?y=2", "", ERR_OK, "/a", "x=1?y=2");
	expect_path("/a?jwt=x.y.z&lic=none", "", ERR_OK, "/a",
	    "jwt=x.y.z&lic=none");
	/* The path is raw: no decoding, no normalisation. */
	expect_path("/a%2Fb/../c", "", ERR_OK, "/a%2Fb/../c", NULL);
}

static void
test_req_base_path(void **state)
{
	(void)state;
	expect_path("/app/healthz", "/app", ERR_OK, "/healthz", NULL);
	expect_path("/app/healthz?x=1", "/app", ERR_OK, "/healthz", "x=1");
	expect_path("/app", "/app", ERR_OK, "/", NULL);
	expect_path("/app?x=1", "/app", ERR_OK, "/", "x=1");
	expect_path("/app/", "/app", ERR_OK, "/", NULL);
	expect_path("/a/b/c/healthz", "/a/b/c", ERR_OK, "/healthz", NULL);
	/* Segment-wise: a longer first segment is outside the base. */
	expect_path("/apple/x", "/app", ERR_NOT_FOUND, NULL, NULL);
	expect_path("/apple", "/app", ERR_NOT_FOUND, NULL, NULL);
	expect_path("/ap", "/app", ERR_NOT_FOUND, NULL, NULL);
	expect_path("/", "/app", ERR_NOT_FOUND, NULL, NULL);
	expect_path("/healthz", "/app", ERR_NOT_FOUND, NULL, NULL);
	expect_path("/APP/healthz", "/app", ERR_NOT_FOUND, NULL, NULL);
	/* The base is not looked for in the query. */
	expect_path("/x?/app", "/app", ERR_NOT_FOUND, NULL, NULL);
}

static void
test_req_uri_bad(void **state)
{
	const char	*p[] = { "REQUEST_METHOD", "GET", "REQUEST_URI", NULL,
			    NULL };
	struct req	 r;
	enum err	 e, e2;
	size_t		 len;
	char		*big;

	(void)state;
	expect_path("", "", ERR_BAD_REQUEST, NULL, NULL);
	expect_path("healthz", "", ERR_BAD_REQUEST, NULL, NULL);
	expect_path("*", "", ERR_BAD_REQUEST, NULL, NULL);
	expect_path("/a b", "", ERR_BAD_REQUEST, NULL, NULL);
	expect_path("/a?b c", "", ERR_BAD_REQUEST, NULL, NULL);
	expect_path("/a\tb", "", ERR_BAD_REQUEST, NULL, NULL);
	expect_path("/a\r\nX-Injected: 1", "", ERR_BAD_REQUEST, NULL, NULL);
	expect_path("/a\x01", "", ERR_BAD_REQUEST, NULL, NULL);
	expect_path("/a\x7f", "", ERR_BAD_REQUEST, NULL, NULL);
	expect_path("/caf\xc3\xa9", "", ERR_BAD_REQUEST, NULL, NULL);
	expect_path("/x?q=\xff", "", ERR_BAD_REQUEST, NULL, NULL);

	/* HTTP_MAX_URI bytes are accepted, one more is not. */
	big = malloc(HTTP_MAX_URI + 2);
	assert_non_null(big);
	memset(big, 'a', HTTP_MAX_URI + 1);
	big[0] = '/';
	big[HTTP_MAX_URI] = '\0';
	p[3] = big;
	e = req_with(&r, p, "");
	len = e == ERR_OK ? strlen(r.path) : 0;
	req_free(&r);
	big[HTTP_MAX_URI] = 'a';
	big[HTTP_MAX_URI + 1] = '\0';
	e2 = req_with(&r, p, "");
	req_free(&r);
	free(big);
	assert_int_equal(e, ERR_OK);
	assert_int_equal(len, HTTP_MAX_URI);
	assert_int_equal(e2, ERR_BAD_REQUEST);
}

static void
test_req_path_info_fallback(void **state)
{
	const char *const with_qs[] = {
		"REQUEST_METHOD", "GET", "PATH_INFO", "/app/healthz",
		"QUERY_STRING", "a=1&b=2", NULL,
	};
	const char *const empty_qs[] = {
		"REQUEST_METHOD", "GET", "PATH_INFO", "/healthz",
		"QUERY_STRING", "", NULL,
	};
	const char *const nothing[] = { "REQUEST_METHOD", "GET", NULL };
	const char *const bad_qs[] = {
		"REQUEST_METHOD", "GET", "PATH_INFO", "/x",
		"QUERY_STRING", "a=\x01", NULL,
	};
	const char *const prefer_uri[] = {
		"REQUEST_METHOD", "GET", "REQUEST_URI", "/real?r=1",
		"PATH_INFO", "/other", "QUERY_STRING", "o=1", NULL,
	};
	const char	*big[7] = { "REQUEST_METHOD", "GET", "PATH_INFO",
			    NULL, "QUERY_STRING", NULL, NULL };
	char		*pi, *qs;
	struct req	 r;

	(void)state;
	assert_int_equal(req_with(&r, with_qs, "/app"), ERR_OK);
	assert_string_equal(r.uri, "/app/healthz?a=1&b=2");
	assert_string_equal(r.path, "/healthz");
	assert_string_equal(r.query, "a=1&b=2");
	req_free(&r);

	assert_int_equal(req_with(&r, empty_qs, ""), ERR_OK);
	assert_string_equal(r.uri, "/healthz");
	assert_null(r.query);
	req_free(&r);

	assert_int_equal(req_with(&r, nothing, ""), ERR_OK);
	assert_string_equal(r.path, "/");
	assert_null(r.query);
	req_free(&r);

	expect_req_err(bad_qs, "", ERR_BAD_REQUEST);

	assert_int_equal(req_with(&r, prefer_uri, ""), ERR_OK);
	assert_string_equal(r.path, "/real");
	assert_string_equal(r.query, "r=1");
	req_free(&r);

	/* The joined URI obeys HTTP_MAX_URI too. */
	pi = malloc(HTTP_MAX_URI / 2 + 1);
	qs = malloc(HTTP_MAX_URI / 2 + 2);
	assert_non_null(pi);
	assert_non_null(qs);
	memset(pi, 'p', HTTP_MAX_URI / 2);
	pi[0] = '/';
	pi[HTTP_MAX_URI / 2] = '\0';
	memset(qs, 'q', HTTP_MAX_URI / 2 + 1);
	qs[HTTP_MAX_URI / 2 + 1] = '\0';
	big[3] = pi;
	big[5] = qs;
	expect_req_err(big, "", ERR_BAD_REQUEST);
	free(pi);
	free(qs);
}

/*
 * RFC 3875 4.1.5: PATH_INFO may be present and empty (a request for the
 * script itself); that is the root path, as when it is absent.
 */
static void
test_req_path_info_empty(void **state)
{
	const char *const p[] = {
		"REQUEST_METHOD", "GET", "PATH_INFO", "", NULL,
	};
	struct req	 r;
	enum err	 e;

	(void)state;
	e = req_with(&r, p, "");
	if (e != ERR_OK) {
		req_free(&r);
		fail_msg("empty PATH_INFO: %s, want ok", err_code(e));
	}
	assert_string_equal(r.path, "/");
	req_free(&r);
}

static void
expect_cl(const char *cl, enum err want, long long n)
{
	const char *const p[] = {
		"REQUEST_METHOD", "POST", "REQUEST_URI", "/",
		"CONTENT_LENGTH", cl, NULL,
	};
	struct req	 r;
	enum err	 e;
	long long	 got;

	e = req_with(&r, p, "");
	got = r.content_length;
	req_free(&r);
	if (e != want)
		fail_msg("CONTENT_LENGTH \"%s\": %s, want %s", cl, err_code(e),
		    err_code(want));
	if (want == ERR_OK && got != n)
		fail_msg("CONTENT_LENGTH \"%s\": %lld, want %lld", cl, got, n);
}

static void
test_req_content_length(void **state)
{
	const char *const none[] = {
		"REQUEST_METHOD", "POST", "REQUEST_URI", "/", NULL,
	};
	struct req	 r;

	(void)state;
	expect_cl("0", ERR_OK, 0);
	expect_cl("5", ERR_OK, 5);
	expect_cl("65536", ERR_OK, 65536);
	expect_cl("1099511627776", ERR_OK, 1LL << 40);
	expect_cl("", ERR_OK, -1);
	expect_cl("12a", ERR_BAD_REQUEST, 0);
	expect_cl("-1", ERR_BAD_REQUEST, 0);
	expect_cl("-0", ERR_BAD_REQUEST, 0);
	expect_cl("+5", ERR_BAD_REQUEST, 0);
	expect_cl(" 5", ERR_BAD_REQUEST, 0);
	expect_cl("5 ", ERR_BAD_REQUEST, 0);
	expect_cl("0x10", ERR_BAD_REQUEST, 0);
	expect_cl("5,5", ERR_BAD_REQUEST, 0);
	expect_cl("1099511627777", ERR_BAD_REQUEST, 0);
	expect_cl("99999999999999999999999", ERR_BAD_REQUEST, 0);
	assert_int_equal(req_with(&r, none, ""), ERR_OK);
	assert_int_equal(r.content_length, -1);
	req_free(&r);
}

static void
test_req_headers(void **state)
{
	const char	*p[] = {
		"REQUEST_METHOD", "GET", "REQUEST_URI", "/",
		"CONTENT_TYPE", "", "HTTP_AUTHORIZATION", NULL, NULL,
	};
	char		*big;
	struct req	 r;

	(void)state;
	/* An empty Content-Type is no Content-Type. */
	p[7] = "JWT x";
	assert_int_equal(req_with(&r, p, ""), ERR_OK);
	assert_null(r.content_type);
	req_free(&r);

	big = malloc(HTTP_MAX_HEADER + 2);
	assert_non_null(big);
	memset(big, 'a', HTTP_MAX_HEADER + 1);
	big[HTTP_MAX_HEADER] = '\0';
	p[7] = big;
	assert_int_equal(req_with(&r, p, ""), ERR_OK);
	assert_int_equal(strlen(r.authorization), HTTP_MAX_HEADER);
	req_free(&r);
	big[HTTP_MAX_HEADER] = 'a';
	big[HTTP_MAX_HEADER + 1] = '\0';
	expect_req_err(p, "", ERR_BAD_REQUEST);
	p[5] = big;
	p[7] = "JWT x";
	expect_req_err(p, "", ERR_BAD_REQUEST);
	free(big);
}

/* ---------------------------------------------------------- media type */

static void
expect_mt(const char *ctype, size_t outsz, int rc, const char *want)
{
	char	 out[256];

	memset(out, 'Z', sizeof(out));
	if (req_media_type(ctype, out, outsz) != rc)
		fail_msg("media type of \"%s\" (outsz %zu): want %d", ctype,
		    outsz, rc);
	if (rc == 0 && strcmp(out, want) != 0)
		fail_msg("media type of \"%s\": \"%s\", want \"%s\"", ctype,
		    out, want);
	/* Never writes past outsz. */
	if (outsz < sizeof(out))
		assert_int_equal(out[outsz], 'Z');
}

static void
test_media_type(void **state)
{
	(void)state;
	expect_mt("application/json", 128, 0, "application/json");
	expect_mt("application/json; charset=utf-8", 128, 0,
	    "application/json");
	expect_mt("application/json;charset=UTF-8", 128, 0,
	    "application/json");
	expect_mt("Application/JSON", 128, 0, "application/json");
	expect_mt("  text/plain \t; q=1", 128, 0, "text/plain");
	expect_mt("text/plain", 128, 0, "text/plain");
	expect_mt("", 128, -1, NULL);
	expect_mt("   ", 128, -1, NULL);
	expect_mt("; charset=utf-8", 128, -1, NULL);
	expect_mt("application/json x", 128, -1, NULL);
	expect_mt("application/\x01json", 128, -1, NULL);
	expect_mt("application/j\xc3\xa9son", 128, -1, NULL);
	/* Needs room for the NUL. */
	expect_mt("application/json", 16, -1, NULL);
	expect_mt("application/json", 17, 0, "application/json");
	expect_mt("application/json", 0, -1, NULL);
}

/* --------------------------------------------------------------- reply */

static void
test_reply_error_bodies(void **state)
{
	struct reply	 rep;
	cJSON		*v;
	const char	*s;
	int		 e;

	(void)state;
	for (e = ERR_BAD_REQUEST; e < ERR__MAX; e++) {
		reply_init(&rep);
		reply_error(&rep, (enum err)e);
		assert_int_equal(rep.status, err_status((enum err)e));
		assert_non_null(rep.body);
		assert_int_equal(rep.len, strlen(rep.body));
		assert_int_equal(json_parse(rep.body, rep.len, &v), JSON_OK);
		assert_int_equal(json_get_str(v, "error", 1, 64, &s), JSON_OK);
		assert_string_equal(s, err_code((enum err)e));
		assert_int_equal(json_get_str(v, "message", 1, 200, &s),
		    JSON_OK);
		assert_string_equal(s, err_message((enum err)e));
		cJSON_Delete(v);
		reply_free(&rep);
		assert_null(rep.body);
	}
	/* An out-of-range code is an internal error, not a crash. */
	reply_init(&rep);
	reply_error(&rep, ERR__MAX);
	assert_int_equal(rep.status, 500);
	/* reply_error replaces an earlier body. */
	reply_error(&rep, ERR_NOT_FOUND);
	assert_int_equal(rep.status, 404);
	assert_non_null(strstr(rep.body, "not_found"));
	reply_free(&rep);
	reply_free(NULL);
}

/*
 * A refusal names the field at fault, the import row and the limit, as
 * constants of ours: the client learns what to fix, never sees its own
 * input again.  A 503 tells when to come back.
 */
static void
test_reply_error_names_field_index_and_limit(void **state)
{
	struct reply	 rep;
	struct fake	 f;
	struct http_io	 io;

	(void)state;
	reply_init(&rep);
	reply_detail(&rep, "scope", 1, -1);
	reply_error(&rep, ERR_UNPROCESSABLE);
	assert_int_equal(rep.status, 422);
	assert_string_equal(rep.body, "{\"error\":\"invalid\",\"message\":"
	    "\"the request has an invalid field\",\"field\":\"scope\","
	    "\"index\":1}");
	reply_free(&rep);
	reply_detail(&rep, NULL, -1, 100);
	reply_error(&rep, ERR_LIMIT_PERSONAL);
	assert_non_null(strstr(rep.body, "\"error\":\"limit_personal\""));
	assert_non_null(strstr(rep.body, "\"limit\":100}"));
	assert_null(strstr(rep.body, "field"));
	assert_null(strstr(rep.body, "index"));
	reply_free(&rep);
	/* Nothing set: the bare two members. */
	reply_error(&rep, ERR_NOT_FOUND);
	assert_string_equal(rep.body, "{\"error\":\"not_found\",\"message\":"
	    "\"no such resource\"}");
	assert_int_equal(rep.retry_after, 0);
	reply_free(&rep);
	/* 503s carry Retry-After. */
	reply_error(&rep, ERR_STORAGE_FULL);
	assert_int_equal(rep.status, 503);
	assert_int_equal(rep.retry_after, 60);
	memset(&f, 0, sizeof(f));
	io = fake_io(&f);
	assert_int_equal(reply_send(&rep, &io, "0123456789abcdef"), 0);
	assert_non_null(strstr(f.out, "\r\nRetry-After: 60\r\n"));
	fake_free(&f);
	reply_free(&rep);
	reply_error(&rep, ERR_NOT_FOUND);
	memset(&f, 0, sizeof(f));
	io = fake_io(&f);
	assert_int_equal(reply_send(&rep, &io, "0123456789abcdef"), 0);
	assert_null(strstr(f.out, "Retry-After"));
	fake_free(&f);
	reply_free(&rep);
}

static void
test_err_tables(void **state)
{
	static const int	 status[ERR__MAX] = {
		200, 400, 401, 403, 404, 405, 409, 411, 413, 415, 422,
		422, 422, 422, 422, 422, 422, 422, 413,	/* the named limits */
		422, 422, 413, 422,			/* panoramas */
		500, 503, 503, 503, 503,
	};
	int			 e;

	(void)state;
	for (e = 0; e < ERR__MAX; e++) {
		assert_int_equal(err_status((enum err)e), status[e]);
		/* Every status we send has its own reason phrase. */
		if (status[e] != 500)
			assert_string_not_equal(http_reason(status[e]),
			    "Internal Server Error");
	}
	assert_string_equal(http_reason(404), "Not Found");
	assert_string_equal(http_reason(999), "Internal Server Error");
}

/* Value of header name in the CGI head, or NULL. */
static const char *
header(const char *head, const char *name, char *buf, size_t bufsz)
{
	const char	*p = head, *eol;
	size_t		 nl = strlen(name);

	while ((eol = strstr(p, "\r\n")) != NULL && eol != p) {
		if (strncmp(p, name, nl) == 0 && p[nl] == ':' &&
		    p[nl + 1] == ' ') {
			snprintf(buf, bufsz, "%.*s", (int)(eol - p - nl - 2),
			    p + nl + 2);
			return buf;
		}
		p = eol + 2;
	}
	return NULL;
}

/* Sends rep and splits the output into head and body. */
static void
send_and_split(const struct reply *rep, struct fake *f, const char **body)
{
	struct http_io	 io;
	char		*sep;

	memset(f, 0, sizeof(*f));
	io = fake_io(f);
	assert_int_equal(reply_send(rep, &io, "0123456789abcdef"), 0);
	assert_non_null(f->out);
	sep = strstr(f->out, "\r\n\r\n");
	assert_non_null(sep);
	sep[2] = '\0';		/* head keeps its last CRLF */
	*body = sep + 4;
}

static void
test_reply_send_headers(void **state)
{
	struct reply	 rep;
	struct fake	 f;
	const char	*body;
	char		 v[512];
	size_t		 blen;

	(void)state;
	reply_init(&rep);
	reply_error(&rep, ERR_NOT_FOUND);
	send_and_split(&rep, &f, &body);
	blen = f.out_len - (size_t)(body - f.out);
	assert_non_null(header(f.out, "Status", v, sizeof(v)));
	assert_string_equal(v, "404 Not Found");
	assert_non_null(header(f.out, "Content-Type", v, sizeof(v)));
	assert_string_equal(v, "application/json");
	assert_non_null(header(f.out, "X-Content-Type-Options", v,
	    sizeof(v)));
	assert_string_equal(v, "nosniff");
	assert_non_null(header(f.out, "Cache-Control", v, sizeof(v)));
	assert_string_equal(v, "no-store");
	assert_non_null(header(f.out, "Content-Security-Policy", v,
	    sizeof(v)));
	assert_non_null(strstr(v, "frame-ancestors "));
	assert_non_null(strstr(v, "https://*.atlassian.net"));
	assert_non_null(strstr(v, "default-src 'none'"));
	assert_non_null(header(f.out, "X-Request-Id", v, sizeof(v)));
	assert_string_equal(v, "0123456789abcdef");
	assert_null(header(f.out, "Allow", v, sizeof(v)));
	/* Content-Length is exactly the body sent. */
	assert_non_null(header(f.out, "Content-Length", v, sizeof(v)));
	assert_int_equal(strtoull(v, NULL, 10), blen);
	assert_int_equal(blen, rep.len);
	assert_memory_equal(body, rep.body, blen);
	free(f.out);

	/* 405 carries the Allow list. */
	reply_error(&rep, ERR_METHOD);
	snprintf(rep.allow, sizeof(rep.allow), "GET, POST");
	send_and_split(&rep, &f, &body);
	assert_non_null(header(f.out, "Status", v, sizeof(v)));
	assert_string_equal(v, "405 Method Not Allowed");
	assert_non_null(header(f.out, "Allow", v, sizeof(v)));
	assert_string_equal(v, "GET, POST");
	free(f.out);
	reply_free(&rep);
}

static void
test_reply_send_json_and_empty(void **state)
{
	struct reply	 rep;
	struct fake	 f;
	const char	*body;
	char		 v[64];
	cJSON		*o;

	(void)state;
	reply_init(&rep);
	o = cJSON_CreateObject();
	assert_non_null(o);
	assert_non_null(cJSON_AddStringToObject(o, "status",
	    "\xc3\xa9t\xc3\xa9"));
	assert_int_equal(reply_json(&rep, 201, o), 0);
	cJSON_Delete(o);
	assert_int_equal(rep.status, 201);
	assert_string_equal(rep.body, "{\"status\":\"\xc3\xa9t\xc3\xa9\"}");
	send_and_split(&rep, &f, &body);
	assert_non_null(header(f.out, "Status", v, sizeof(v)));
	assert_string_equal(v, "201 Created");
	assert_non_null(header(f.out, "Content-Length", v, sizeof(v)));
	/* Bytes, not characters. */
	assert_string_equal(v, "18");
	assert_string_equal(body, "{\"status\":\"\xc3\xa9t\xc3\xa9\"}");
	free(f.out);
	reply_free(&rep);

	/* 204: no body at all. */
	rep.status = 204;
	send_and_split(&rep, &f, &body);
	assert_non_null(header(f.out, "Content-Length", v, sizeof(v)));
	assert_string_equal(v, "0");
	assert_string_equal(body, "");
	assert_non_null(header(f.out, "Status", v, sizeof(v)));
	assert_string_equal(v, "204 No Content");
	free(f.out);
}

static void
test_reply_send_write_error(void **state)
{
	struct reply	 rep;
	struct fake	 f;
	struct http_io	 io;

	(void)state;
	reply_init(&rep);
	reply_error(&rep, ERR_INTERNAL);
	memset(&f, 0, sizeof(f));
	f.write_fail = 1;
	io = fake_io(&f);
	assert_int_equal(reply_send(&rep, &io, "0123456789abcdef"), -1);
	reply_free(&rep);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_body_exact_in_chunks),
		cmocka_unit_test(test_body_never_reads_past_length),
		cmocka_unit_test(test_body_short),
		cmocka_unit_test(test_body_read_error),
		cmocka_unit_test(test_body_too_large),
		cmocka_unit_test(test_body_zero),
		cmocka_unit_test(test_req_basic),
		cmocka_unit_test(test_req_rid_random),
		cmocka_unit_test(test_req_methods),
		cmocka_unit_test(test_req_uri_split),
		cmocka_unit_test(test_req_base_path),
		cmocka_unit_test(test_req_uri_bad),
		cmocka_unit_test(test_req_path_info_fallback),
		cmocka_unit_test(test_req_path_info_empty),
		cmocka_unit_test(test_req_content_length),
		cmocka_unit_test(test_req_headers),
		cmocka_unit_test(test_media_type),
		cmocka_unit_test(test_reply_error_bodies),
		cmocka_unit_test(test_reply_error_names_field_index_and_limit),
		cmocka_unit_test(test_err_tables),
		cmocka_unit_test(test_reply_send_headers),
		cmocka_unit_test(test_reply_send_json_and_empty),
		cmocka_unit_test(test_reply_send_write_error),
	};

	return cmocka_run_group_tests_name("http", tests, group_setup, NULL);
}
