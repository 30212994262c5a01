/*
 * The worker's per-process state and the life of one request: parse,
 * route, reply, log.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cellar/clock.h"
#include "cellar/db.h"
#include "cellar/log.h"
#include "auth.h"
#include "fcgi.h"
#include "forgekey.h"
#include "forgetoken.h"
#include "installkey.h"
#include "perm.h"
#include "pool.h"
#include "tree_cache.h"

struct app *
app_new(struct conf *cfg, char *err, size_t errsz)
{
	struct app	*a;
	const char	*url, *p;

	if ((a = calloc(1, sizeof(*a))) == NULL) {
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	a->cfg = cfg;
	/* SQLCipher, not plain SQLite: else files would be plaintext. */
	if (db_selftest() == -1) {
		snprintf(err, errsz, "cipher self-test failed: this SQLite is "
		    "not SQLCipher");
		goto fail;
	}
	if ((a->kr = keys_load(conf_str(cfg, C_KEYS_DIR), err, errsz)) ==
	    NULL)
		goto fail;
	/*
	 * Only "cellarctl init" creates the registry: a worker that found
	 * none (a missing mount, a lost file) must not start an empty one
	 * beside the tenants' files.
	 */
	if ((a->reg = registry_open(conf_str(cfg, C_SERVER_STATE_DIR), a->kr,
	    0, err, errsz)) == NULL)
		goto fail;
	a->started = clock_now();
	/* The path of base_url (validated, no trailing slash) or "". */
	url = conf_str(cfg, C_APP_BASE_URL);
	p = strstr(url, "://");
	p = (p != NULL) ? strchr(p + 3, '/') : NULL;
	if ((a->base_path_buf = strdup(p != NULL ? p : "")) == NULL ||
	    (a->descriptor = app_descriptor(cfg, &a->descriptor_len)) ==
	    NULL) {
		snprintf(err, errsz, "out of memory");
		goto fail;
	}
	a->base_path = a->base_path_buf;
	return a;
fail:
	a->cfg = NULL;		/* the caller still owns cfg */
	app_free(a);
	return NULL;
}

void
app_free(struct app *a)
{
	if (a == NULL)
		return;
	auth_cache_clear();
	perm_cache_clear();
	tree_cache_clear();
	installkey_forget();
	forgekey_forget();
	forgetoken_clear();
	pool_clear(a->reg);
	conf_free(a->cfg);
	registry_close(a->reg);
	keys_free(a->kr);
	free(a->base_path_buf);
	free(a->descriptor);
	free(a);
}

void
app_quarantine(const struct app *a, const struct tenant *t, const char *rid)
{
	if (t == NULL || t->quarantined_at != 0)
		return;
	pool_quarantine(t->id);
	switch (registry_quarantine(a->reg, t->id, clock_now(), "damaged")) {
	case 1:
		log_msg(LOGL_ERR, rid, "reason=tenant_quarantined tenant=%s",
		    t->id);
		break;
	case -1:
		log_msg(LOGL_ERR, rid, "reason=quarantine_failed tenant=%s",
		    t->id);
		break;
	default:
		break;
	}
}

void
app_defer(struct req *r, void (*run)(const struct app *, void *),
    void (*drop)(void *), void *arg)
{
	if (r->after == NULL) {
		if (drop != NULL)
			drop(arg);
		return;
	}
	app_after_drop(r->after);
	r->after->run = run;
	r->after->drop = drop;
	r->after->arg = arg;
}

void
app_after_drop(struct after *w)
{
	if (w == NULL)
		return;
	if (w->drop != NULL)
		w->drop(w->arg);
	memset(w, 0, sizeof(*w));
}

void
app_after(const struct app *a, struct after *w)
{
	if (w == NULL)
		return;
	if (w->run != NULL)
		w->run(a, w->arg);
	app_after_drop(w);
}

/*
 * A page's gate is asked through nginx's auth_request (DOCUMENT_URI
 * /_cellar_ui/auth, conf/nginx/cellar-server.conf), which understands
 * 2xx, 401 and 403 only and turns any other status into its own 500.
 * So a refusal of the request itself (400 for a bad byte, 404 for a path
 * nginx normalised to a page's but the raw REQUEST_URI does not match,
 * 413 for a Content-Length nginx forwards without the body...) becomes
 * 401: the page's link is not valid, and nginx shows its "open this page
 * from Jira" page.  A fault (5xx) stays one.  The reason is already in
 * the app log; this adds the status it stood for.
 */
static void
app_gate_status(const struct http_io *io, struct reply *rep, const char *rid)
{
	const char	*doc = io->param(io->ctx, "DOCUMENT_URI");
	int		 was = rep->status;

	if (doc == NULL || strcmp(doc, "/_cellar_ui/auth") != 0 ||
	    was < 400 || was > 499 || was == 401 || was == 403)
		return;
	log_msg(LOGL_INFO, rid, "reason=page_gate_refused status=%d", was);
	reply_free(rep);
	reply_init(rep);
	reply_error(rep, ERR_UNAUTHORIZED);
}

void
app_serve(const struct app *a, const struct http_io *io, struct after *after)
{
	struct auth_state st;
	struct req	 r;
	struct reply	 rep;
	enum err	 e;
	int		 sent;

	app_after_drop(after);
	reply_init(&rep);
	memset(&st, 0, sizeof(st));
	if ((e = req_init(&r, io, a->base_path, a)) == ERR_OK) {
		r.auth = &st;
		r.after = after;
		r.forge = conf_str(a->cfg, C_FORGE_APP_ID)[0] != '\0';
		router_dispatch(routes, nroutes, auth_request, &r, io, &rep);
	} else {
		log_msg(LOGL_WARN, r.rid, "reason=bad_request_line err=%s",
		    err_code(e));
		reply_error(&rep, e);
	}
	if (rep.err == ERR_QUARANTINED)
		app_quarantine(a, r.tenant, r.rid);
	app_gate_status(io, &rep, r.rid);
	if ((sent = reply_send(&rep, io, r.rid)) == -1)
		log_msg(LOGL_WARN, r.rid, "reason=client_gone");
	/* Deferred work follows a reply that went out, and a success. */
	if (sent == -1 || rep.status < 200 || rep.status > 299)
		app_after_drop(after);
	log_request(r.rid, r.route != NULL ? r.route->name : "-",
	    rep.status, clock_mono_usec() - r.start_usec);
	reply_free(&rep);
	auth_release(&r);
	req_free(&r);
}
