/*
 * Requests, independent of the transport; see req.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cellar/clock.h"
#include "cellar/util.h"
#include "req.h"

/* Copies a parameter if present and no longer than max; -1 if too long. */
static int
param_copy(const struct http_io *io, const char *name, size_t max,
    char **out)
{
	const char	*v = io->param(io->ctx, name);

	*out = NULL;
	if (v == NULL)
		return 0;
	if (strnlen(v, max + 1) > max)
		return -1;
	if ((*out = strdup(v)) == NULL)
		return -1;
	return 0;
}

/* 1 if s is a method token: 1-16 uppercase letters. */
static int
method_token(const char *s)
{
	size_t	 n = 0;

	for (; *s != '\0'; s++, n++)
		if (*s < 'A' || *s > 'Z')
			return 0;
	return n > 0 && n <= 16;
}

/* 1 if every byte of the URI is visible ASCII. */
static int
uri_chars_ok(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

/*
 * Request ids correlate log lines with replies; they are not secrets.  A
 * random base per worker plus a counter keeps them unique without a
 * getrandom(2) per request.
 */
static void
rid_next(char out[17])
{
	static unsigned long long rid_base, rid_count;
	unsigned long long	 id;
	unsigned char		 be[8];
	size_t			 i;

	if (rid_count == 0)
		randombytes_buf(&rid_base, sizeof(rid_base));
	id = rid_base + rid_count++;
	for (i = 0; i < sizeof(be); i++)
		be[i] = (unsigned char)(id >> (8 * (7 - i)));
	util_hex(out, be, sizeof(be));
}

/* Plain CGI under a server that does not set REQUEST_URI: rebuilt. */
static enum err
uri_from_cgi(const struct http_io *io, char **uri)
{
	const char	*qs = io->param(io->ctx, "QUERY_STRING");
	char		*pi = NULL;
	long long	 n;

	if (param_copy(io, "PATH_INFO", HTTP_MAX_URI, &pi) == -1)
		return ERR_BAD_REQUEST;
	if (pi != NULL && pi[0] == '\0') {
		free(pi);
		pi = NULL;
	}
	if (pi == NULL && (pi = strdup("/")) == NULL)
		return ERR_INTERNAL;
	n = (long long)strlen(pi) + (qs ? (long long)strlen(qs) : 0);
	if (n > HTTP_MAX_URI || (*uri = malloc((size_t)n + 2)) == NULL) {
		free(pi);
		return ERR_BAD_REQUEST;
	}
	snprintf(*uri, (size_t)n + 2, "%s%s%s", pi, (qs && *qs) ? "?" : "",
	    (qs && *qs) ? qs : "");
	free(pi);
	return ERR_OK;
}

/*
 * Splits r->uri into path and query, then strips base_path from the path
 * segment-wise: ERR_NOT_FOUND when the path is outside it.
 */
static enum err
path_split(struct req *r, const char *base_path)
{
	size_t	 bl = strlen(base_path);
	char	*q;

	if ((r->path = strdup(r->uri)) == NULL)
		return ERR_INTERNAL;
	if ((q = strchr(r->path, '?')) != NULL) {
		*q = '\0';
		if ((r->query = strdup(q + 1)) == NULL)
			return ERR_INTERNAL;
	}
	if (bl == 0)
		return ERR_OK;
	if (strncmp(r->path, base_path, bl) != 0 ||
	    (r->path[bl] != '\0' && r->path[bl] != '/'))
		return ERR_NOT_FOUND;
	memmove(r->path, r->path + bl, strlen(r->path + bl) + 1);
	if (r->path[0] == '\0') {
		r->path[0] = '/';
		r->path[1] = '\0';
	}
	return ERR_OK;
}

enum err
req_init(struct req *r, const struct http_io *io, const char *base_path,
    const struct app *app)
{
	const char	*m, *cl, *ra;
	long long	 n;
	enum err	 e;

	memset(r, 0, sizeof(*r));
	r->start_usec = clock_mono_usec();
	r->content_length = -1;
	r->method = METHOD__MAX;
	r->app = app;
	rid_next(r->rid);

	if ((m = io->param(io->ctx, "REQUEST_METHOD")) == NULL ||
	    !method_token(m))
		return ERR_BAD_REQUEST;
	r->method = http_method_parse(m);

	if (param_copy(io, "REQUEST_URI", HTTP_MAX_URI, &r->uri) == -1)
		return ERR_BAD_REQUEST;
	if (r->uri == NULL && (e = uri_from_cgi(io, &r->uri)) != ERR_OK)
		return e;
	if (r->uri[0] != '/' || !uri_chars_ok(r->uri))
		return ERR_BAD_REQUEST;
	if ((e = path_split(r, base_path)) != ERR_OK)
		return e;

	cl = io->param(io->ctx, "CONTENT_LENGTH");
	if (cl != NULL && *cl != '\0') {
		if (cl[0] < '0' || cl[0] > '9' ||
		    util_strtonum(cl, 0, HTTP_MAX_CONTENT_LENGTH, &n) == -1)
			return ERR_BAD_REQUEST;
		r->content_length = n;
	}
	if ((ra = io->param(io->ctx, "REMOTE_ADDR")) != NULL &&
	    strlen(ra) < sizeof(r->remote_addr) && util_printable(ra))
		memcpy(r->remote_addr, ra, strlen(ra) + 1);
	if (param_copy(io, "CONTENT_TYPE", HTTP_MAX_HEADER,
	    &r->content_type) == -1 ||
	    param_copy(io, "HTTP_AUTHORIZATION", HTTP_MAX_HEADER,
	    &r->authorization) == -1 ||
	    param_copy(io, "HTTP_X_FORGE_OAUTH_SYSTEM", HTTP_MAX_HEADER,
	    &r->forge_token) == -1)
		return ERR_BAD_REQUEST;
	if (r->content_type != NULL && r->content_type[0] == '\0') {
		free(r->content_type);
		r->content_type = NULL;
	}
	return ERR_OK;
}

/* Wipes every string of a JSON tree (a body may hold a shared secret). */
static void
json_wipe(cJSON *v)
{
	for (; v != NULL; v = v->next) {
		if (v->valuestring != NULL)
			sodium_memzero(v->valuestring, strlen(v->valuestring));
		json_wipe(v->child);
	}
}

void
req_free(struct req *r)
{
	size_t	 i;

	if (r == NULL)
		return;
	/* The URI and query may carry ?jwt=, the body an install secret. */
	util_free_wiped(r->uri);
	util_free_wiped(r->path);
	util_free_wiped(r->query);
	free(r->content_type);
	util_free_wiped(r->authorization);
	util_free_wiped(r->forge_token);
	if (r->body != NULL) {
		sodium_memzero(r->body, r->body_len);
		free(r->body);
	}
	json_wipe(r->json);
	cJSON_Delete(r->json);
	for (i = 0; i < r->nparams; i++)
		free(r->params[i]);
	memset(r, 0, sizeof(*r));
}

enum err
req_body_read(const struct http_io *io, long long content_length, size_t limit,
    char **buf, size_t *len)
{
	char	*b;
	size_t	 want, got = 0;
	long	 n;

	*buf = NULL;
	*len = 0;
	if (content_length < 0 || (unsigned long long)content_length > limit)
		return ERR_TOO_LARGE;
	want = (size_t)content_length;
	if ((b = malloc(want + 1)) == NULL)
		return ERR_INTERNAL;
	while (got < want) {
		n = io->read(io->ctx, b + got, want - got);
		if (n <= 0) {
			free(b);
			return ERR_BAD_REQUEST;
		}
		got += (size_t)n;
	}
	b[want] = '\0';
	*buf = b;
	*len = want;
	return ERR_OK;
}

int
req_query_param(const char *query, const char *name, size_t max, char **out)
{
	const char	*p, *end, *v = NULL, *vend = NULL;
	size_t		 nl = strlen(name), n;
	char		*o;

	*out = NULL;
	for (p = query; p != NULL && *p != '\0'; p = *end ? end + 1 : end) {
		end = p + strcspn(p, "&");
		if ((size_t)(end - p) > nl && strncmp(p, name, nl) == 0 &&
		    p[nl] == '=') {
			if (v != NULL)
				return -1;	/* repeated */
			v = p + nl + 1;
			vend = end;
		} else if ((size_t)(end - p) == nl && strncmp(p, name, nl) == 0) {
			if (v != NULL)
				return -1;
			v = vend = end;
		}
	}
	if (v == NULL)
		return 1;
	if ((size_t)(vend - v) > 3 * max ||
	    (o = util_form_decode(v, (size_t)(vend - v), &n)) == NULL)
		return -1;
	if (n > max || memchr(o, '\0', n) != NULL || !util_utf8_valid(o, n)) {
		free(o);
		return -1;
	}
	*out = o;
	return 0;
}

int
req_media_type(const char *ctype, char *out, size_t outsz)
{
	size_t	 i = 0;

	while (*ctype == ' ' || *ctype == '\t')
		ctype++;
	for (; *ctype != '\0' && *ctype != ';' && *ctype != ' ' &&
	    *ctype != '\t'; ctype++) {
		if (i + 1 >= outsz || (unsigned char)*ctype < 0x21 ||
		    (unsigned char)*ctype > 0x7e)
			return -1;
		out[i++] = (*ctype >= 'A' && *ctype <= 'Z') ?
		    (char)(*ctype - 'A' + 'a') : *ctype;
	}
	while (*ctype == ' ' || *ctype == '\t')
		ctype++;
	if (i == 0 || (*ctype != '\0' && *ctype != ';'))
		return -1;
	out[i] = '\0';
	return 0;
}
