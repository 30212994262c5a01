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
	pool_clear(a->reg);
	conf_free(a->cfg);
	registry_close(a->reg);
	keys_free(a->kr);
	free(a->base_path_buf);
	free(a->descriptor);
	free(a);
}

/*
 * A request found its tenant's file damaged (or not its own): hold the
 * tenant so that no request opens the file again until an operator has
 * checked it, and say so once, whichever worker found it first.
 */
static void
app_quarantine(const struct app *a, const struct req *r)
{
	if (r->tenant == NULL || r->tenant->quarantined_at != 0)
		return;
	pool_quarantine(r->tenant->id);
	switch (registry_quarantine(a->reg, r->tenant->id, clock_now(),
	    "damaged")) {
	case 1:
		log_msg(LOGL_ERR, r->rid, "reason=tenant_quarantined "
		    "tenant=%s", r->tenant->id);
		break;
	case -1:
		log_msg(LOGL_ERR, r->rid, "reason=quarantine_failed tenant=%s",
		    r->tenant->id);
		break;
	default:
		break;
	}
}

void
app_serve(const struct app *a, const struct http_io *io)
{
	struct auth_state st;
	struct req	 r;
	struct reply	 rep;
	enum err	 e;

	reply_init(&rep);
	memset(&st, 0, sizeof(st));
	if ((e = req_init(&r, io, a->base_path, a)) == ERR_OK) {
		r.auth = &st;
		router_dispatch(routes, nroutes, auth_request, &r, io, &rep);
	} else {
		log_msg(LOGL_WARN, r.rid, "reason=bad_request_line err=%s",
		    err_code(e));
		reply_error(&rep, e);
	}
	if (rep.err == ERR_QUARANTINED)
		app_quarantine(a, &r);
	if (reply_send(&rep, io, r.rid) == -1)
		log_msg(LOGL_WARN, r.rid, "reason=client_gone");
	log_request(r.rid, r.route != NULL ? r.route->name : "-",
	    rep.status, clock_mono_usec() - r.start_usec);
	reply_free(&rep);
	auth_release(&r);
	req_free(&r);
}
