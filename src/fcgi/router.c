/*
 * The router: finds the route, enforces its declared limits, reads the
 * body, authenticates and calls the handler.  It is the only place that
 * turns an error code into an error reply, so every refusal looks the
 * same and none of them can echo the request.
 */
#include <stdlib.h>
#include <string.h>

#include "cellar/json.h"
#include "cellar/log.h"
#include "router.h"

/*
 * Matches path against pattern segment by segment.  Returns 1 and the
 * raw "{}" segments in params (malloc'd), or 0.
 */
static int
route_path_match(const char *pattern, const char *path, char **params,
    size_t *nparams)
{
	const char	*p = pattern, *s = path, *pe, *se;
	size_t		 n = 0, i;

	if (*p != '/' || *s != '/')
		return 0;
	while (*p != '\0' && *s != '\0') {
		p++;
		s++;
		pe = p + strcspn(p, "/");
		se = s + strcspn(s, "/");
		if ((size_t)(pe - p) == 2 && p[0] == '{' && p[1] == '}') {
			if (se == s || n == HTTP_MAX_PARAMS)
				goto fail;
			if ((params[n] = strndup(s, (size_t)(se - s))) == NULL)
				goto fail;
			n++;
		} else if (pe - p != se - s ||
		    strncmp(p, s, (size_t)(pe - p)) != 0)
			goto fail;
		p = pe;
		s = se;
	}
	if (*p != '\0' || *s != '\0')
		goto fail;
	*nparams = n;
	return 1;
fail:
	for (i = 0; i < n; i++) {
		free(params[i]);
		params[i] = NULL;
	}
	return 0;
}

/*
 * The first row of tab at one of the levels in want (a bit per level)
 * whose pattern matches path, for r->method: ERR_OK with r->route and
 * r->params; else ERR_METHOD (adding the methods that would do to
 * allow) or ERR_NOT_FOUND.
 */
static enum err
table_match(const struct route *tab, size_t n, struct req *r,
    const char *path, unsigned int want, char *allow, size_t allowsz)
{
	char		*params[HTTP_MAX_PARAMS];
	size_t		 i, np, k;
	int		 path_seen = 0;

	for (i = 0; i < n; i++) {
		np = 0;
		if ((want & (1U << tab[i].auth)) == 0 ||
		    !route_path_match(tab[i].pattern, path, params, &np))
			continue;
		if (tab[i].method == r->method) {
			for (k = 0; k < np; k++)
				r->params[k] = params[k];
			r->nparams = np;
			r->route = &tab[i];
			return ERR_OK;
		}
		for (k = 0; k < np; k++)
			free(params[k]);
		if (allowsz > 0 && strstr(allow,
		    http_method_name(tab[i].method)) == NULL) {
			if (allow[0] != '\0')
				strncat(allow, ", ", allowsz - strlen(allow) -
				    1);
			strncat(allow, http_method_name(tab[i].method),
			    allowsz - strlen(allow) - 1);
		}
		path_seen = 1;
	}
	return path_seen ? ERR_METHOD : ERR_NOT_FOUND;
}

#define LEVEL(l)	(1U << (l))
#define LEVELS_ALL	(LEVEL(AUTH__MAX) - 1)

enum err
router_match(const struct route *tab, size_t n, struct req *r, char *allow,
    size_t allowsz)
{
	size_t		 pl = strlen(ROUTER_FORGE_PREFIX);
	enum err	 e;

	if (allowsz > 0)
		allow[0] = '\0';
	if (strncmp(r->path, ROUTER_FORGE_PREFIX, pl) != 0 ||
	    (r->path[pl] != '/' && r->path[pl] != '\0')) {
		e = table_match(tab, n, r, r->path, LEVELS_ALL &
		    ~LEVEL(AUTH_FORGE), allow, allowsz);
		if (e == ERR_OK)
			r->auth_level = r->route->auth;
		return e;
	}
	if (!r->forge)
		return ERR_NOT_FOUND;
	e = table_match(tab, n, r, r->path, LEVEL(AUTH_FORGE), allow,
	    allowsz);
	if (e == ERR_NOT_FOUND && r->path[pl] == '/')
		e = table_match(tab, n, r, r->path + pl, LEVEL(AUTH_CONTEXT),
		    allow, allowsz);
	if (e == ERR_OK)
		r->auth_level = AUTH_FORGE;
	return e;
}

/*
 * Whether r comes with a body to read (its route may take none).  On a
 * route whose body is optional, a zero Content-Length is no body
 * whatever the Content-Type says (a client that sets the type on every
 * call), and so is a request with neither header.
 */
static int
router_has_body(const struct req *r)
{
	return r->route->body_max > 0 && !(r->route->body_optional &&
	    (r->content_length == 0 ||
	    (r->content_length < 0 && r->content_type == NULL)));
}

enum err
router_check_body(const struct req *r)
{
	const struct route	*rt = r->route;
	char			 mt[128];

	if (rt->body_max == 0)
		return r->content_length > 0 ? ERR_TOO_LARGE : ERR_OK;
	if (!router_has_body(r))
		return ERR_OK;
	if (r->content_length < 0)
		return ERR_LENGTH_REQUIRED;
	if ((unsigned long long)r->content_length > rt->body_max)
		return ERR_TOO_LARGE;
	if (r->content_type == NULL ||
	    req_media_type(r->content_type, mt, sizeof(mt)) == -1 ||
	    strcmp(mt, rt->ctype) != 0)
		return ERR_MEDIA_TYPE;
	return ERR_OK;
}

/*
 * Refusals no handler or check logs a reason of its own for: the router
 * logs the error code, so that every 4xx has a reason in the app log.
 */
static int
quiet_refusal(enum err e)
{
	switch (e) {
	case ERR_FORBIDDEN:
	case ERR_NOT_FOUND:
	case ERR_METHOD:
	case ERR_CONFLICT:
	case ERR_LENGTH_REQUIRED:
	case ERR_TOO_LARGE:
	case ERR_MEDIA_TYPE:
	case ERR_LIMIT_TEMPLATES:
	case ERR_LIMIT_PERSONAL:
	case ERR_LIMIT_NAME:
	case ERR_LIMIT_BODY:
	case ERR_LIMIT_PROJECTS:
	case ERR_LIMIT_GROUPS:
	case ERR_LIMIT_VALUES:
	case ERR_LIMIT_IMPORT:
	case ERR_LIMIT_NODES:
	case ERR_LIMIT_PANORAMAS:
	case ERR_LIMIT_ACTIONS:
	case ERR_LIMIT_TIME:
		return 1;
	default:
		return 0;
	}
}

/* Runs phase of auth for a protected route; none: fail closed. */
static enum err
router_auth(router_auth_fn auth, struct req *r, enum auth_phase phase)
{
	if (r->auth_level == AUTH_NONE)
		return ERR_OK;
	if (auth == NULL) {
		log_msg(LOGL_WARN, r->rid, "reason=no_verifier");
		return ERR_UNAUTHORIZED;
	}
	return auth(r, phase);
}

void
router_dispatch(const struct route *tab, size_t n, router_auth_fn auth,
    struct req *r, const struct http_io *io, struct reply *rep)
{
	enum err	 e;
	int		 tries;

	rep->status = 200;
	if ((e = router_match(tab, n, r, rep->allow, sizeof(rep->allow))) !=
	    ERR_OK)
		goto out;
	rep->allow[0] = '\0';
	if ((e = router_check_body(r)) != ERR_OK)
		goto out;
	if ((e = router_auth(auth, r, AUTH_PHASE_HEADERS)) != ERR_OK)
		goto out;
	if (router_has_body(r) && (e = req_body_read(io,
	    r->content_length, r->route->body_max, &r->body, &r->body_len)) !=
	    ERR_OK) {
		if (e == ERR_BAD_REQUEST)
			log_msg(LOGL_WARN, r->rid, "reason=body_short");
		goto out;
	}
	/* JSON bodies are parsed once, strictly, before anyone reads them. */
	if (router_has_body(r) && strcmp(r->route->ctype, ROUTE_JSON) == 0) {
		enum json_status js = json_parse(r->body, r->body_len,
		    &r->json);

		if (js != JSON_OK) {
			log_msg(LOGL_WARN, r->rid, "reason=%s",
			    json_status_code(js));
			e = ERR_BAD_REQUEST;
			goto out;
		}
	}
	if (router_has_body(r) &&
	    (e = router_auth(auth, r, AUTH_PHASE_BODY)) != ERR_OK)
		goto out;
	e = r->route->handler(r, rep);
	/*
	 * Its tenant's file was re-encrypted meanwhile and nothing was
	 * written (tenantdb_tx): again, on the new file, a bounded number
	 * of times (a write that waited out one rotation's lock can meet
	 * the next one's).  A handler writes at most once, so running it
	 * again repeats no write.
	 */
	for (tries = 1; e == ERR_REKEYED && tries < ROUTER_REKEY_TRIES &&
	    router_auth(auth, r, AUTH_PHASE_REFRESH) == ERR_OK; tries++) {
		log_msg(LOGL_INFO, r->rid, "event=retry reason=tenant_rekeyed");
		reply_free(rep);
		reply_init(rep);
		rep->status = 200;
		e = r->route->handler(r, rep);
	}
out:
	if (e != ERR_OK) {
		if (e == ERR_INTERNAL || e == ERR_STORAGE_FULL)
			log_msg(LOGL_ERR, r->rid, "reason=%s route=%s",
			    err_code(e), r->route != NULL ? r->route->name :
			    "-");
		else if (quiet_refusal(e))
			/* The request line, same rid, names the route. */
			log_msg(LOGL_INFO, r->rid, "reason=%s", err_code(e));
		reply_error(rep, e);
	} else if (rep->body == NULL && rep->status != 204) {
		/* A handler that produced nothing is our bug. */
		log_msg(LOGL_ERR, r->rid, "reason=empty_reply");
		reply_error(rep, ERR_INTERNAL);
	}
}
