/*
 * The worker (cgi-bin/cellar.fcgi): its long-lived state, the route
 * table and the route handlers.  Private to src/fcgi; the library
 * (include/cellar) never sees it.
 *
 * A request's path through the worker: main.c accepts it (FastCGI or
 * CGI) -> app_serve -> req_init (copy and bound the parameters) ->
 * router_dispatch (match the route, check body headers, read and parse
 * the body, authenticate for the request's level, call the handler) ->
 * reply_send -> log_request -> auth_release and req_free; then main.c
 * finishes the request (the client has its answer) and runs the work
 * the handler left for after it, if any (struct after).
 */
#ifndef CELLAR_FCGI_H
#define CELLAR_FCGI_H

#include <stddef.h>

#include "cellar/conf.h"
#include "cellar/keys.h"
#include "cellar/registry.h"
#include "reply.h"
#include "req.h"
#include "router.h"

struct app {
	struct conf	*cfg;
	struct keyring	*kr;		/* master keys, sodium_malloc'd */
	struct registry	*reg;		/* registry.db, open for the worker */
	const char	*base_path;	/* path of base_url, "" for none */
	char		*base_path_buf;
	char		*descriptor;	/* atlassian-connect.json, built once */
	size_t		 descriptor_len;
	long long	 started;	/* wall clock seconds */
};

/*
 * Builds the app state from a loaded configuration (taking ownership of
 * cfg): loads the master keys, runs the cipher self-test and opens the
 * registry (never creates it).  Returns NULL with a message in err.
 */
struct app	*app_new(struct conf *cfg, char *err, size_t errsz);
void		 app_free(struct app *);

/* Builds the Connect descriptor for cfg into a malloc'd JSON text. */
char		*app_descriptor(const struct conf *cfg, size_t *len);

/*
 * Work a handler leaves for after its reply, for what the caller must
 * not wait for (Forge's hourly trigger reports account ids: Forge gives
 * up on an answer after 5 s).  At most one per request, set through
 * app_defer.  app_serve keeps it only when the reply was a 2xx that
 * went out whole, and its caller (main.c) runs it with app_after once
 * the request is finished: the client has its answer, the connection
 * is released and this worker takes no request meanwhile (the others
 * do), so the work bounds its own time.  The request is freed by then:
 * arg holds copies of what run needs (no pointer into the request or
 * its authentication), and drop frees it, whether run ran or not.
 */
struct after {
	void		(*run)(const struct app *, void *arg);
	void		(*drop)(void *arg);
	void		*arg;
};

/*
 * Serves one request through io: parse, route, reply, log.  after
 * (may be NULL: nothing is deferred, a handler's work is dropped) is
 * emptied first and receives the work the handler deferred, if its
 * reply went out.
 */
void		 app_serve(const struct app *, const struct http_io *,
		    struct after *after);

/*
 * For a handler: run(app, arg) after r's reply (see struct after),
 * replacing (dropping) what r deferred before.  When r cannot defer
 * (no after), arg is dropped at once.
 */
void		 app_defer(struct req *r, void (*run)(const struct app *,
		    void *), void (*drop)(void *), void *arg);

/* Runs the work in *w, if any, then drops it: *w is empty after. */
void		 app_after(const struct app *, struct after *w);

/* Drops the work in *w without running it: *w is empty after. */
void		 app_after_drop(struct after *w);

/*
 * Tenant t's file was found damaged (or not its own), by a request or
 * by work after one: holds the tenant so that no request opens the file
 * again until an operator has checked it, and says so once, whichever
 * worker found it first.  rid may be NULL.
 */
void		 app_quarantine(const struct app *, const struct tenant *t,
		    const char *rid);

/* The route table (routes.c). */
extern const struct route	routes[];
extern const size_t		nroutes;

/*
 * Handlers, one file per route group.  Each returns ERR_OK with the
 * reply filled, or an error the router turns into its fixed reply.
 */

/* route_meta.c: 200 always (the descriptor); 200, or 503 if unhealthy. */
enum err	 route_healthz(struct req *, struct reply *);
enum err	 route_descriptor(struct req *, struct reply *);

/*
 * route_lifecycle.c: 204; 422 for an invalid payload (the field is
 * logged), 503 when the registry stays busy.
 */
enum err	 route_installed(struct req *, struct reply *);
enum err	 route_uninstalled(struct req *, struct reply *);
enum err	 route_enabled(struct req *, struct reply *);
enum err	 route_disabled(struct req *, struct reply *);

/*
 * route_ui.c: the gate nginx asks before it serves a page (auth_request):
 * 204 with the page's Content-Security-Policy (framing by the tenant's
 * base URL's origin) and X-Cellar-All-Js; 404 for a page name not in its
 * table, 403 for a tenant without a usable base URL (Forge only).
 * route_ui_page_known: 1 if name is one of the pages, else 0.
 */
enum err	 route_ui(struct req *, struct reply *);
int		 route_ui_page_known(const char *name);

/* route_tenant.c: 200 with what cellar stores for the caller's tenant. */
enum err	 route_tenant(struct req *, struct reply *);

/*
 * route_templates.c (canned responses).  Common answers: 403 for a
 * token without an account, 400 for a malformed projectId, 404 for a
 * template the caller may not see (or none), 403 for one they see but
 * may not change, 422 naming the first invalid field in the log, 503
 * when Jira must answer and cannot (see the file's head).
 *   list 200, create 201, get 200, put 200 (409 stale version), delete
 *   204 (409 changed since read), render 200 (413 over RENDER_MAX),
 *   uses 204, export 200, import 201 (413 over IMPORT_MAX).
 */
enum err	 route_templates_list(struct req *, struct reply *);
enum err	 route_templates_create(struct req *, struct reply *);
enum err	 route_templates_get(struct req *, struct reply *);
enum err	 route_templates_put(struct req *, struct reply *);
enum err	 route_templates_delete(struct req *, struct reply *);
enum err	 route_templates_render(struct req *, struct reply *);
enum err	 route_templates_uses(struct req *, struct reply *);
enum err	 route_templates_export(struct req *, struct reply *);
enum err	 route_templates_import(struct req *, struct reply *);

/*
 * route_panoramas.c, route_panoramas_tree.c (panoramas).  Common
 * answers: 403 without an account or without the app's global
 * permission use-panoramas, 404 for a panorama the caller may not view
 * (or none, or an id that does not parse), 403 for one they view but
 * may not edit or manage, 400 naming a bad query parameter, 422 naming
 * the first refused member (field, index, reason), 409 with the
 * current version for a stale one, 503 when Jira must answer and
 * cannot.
 *   list 200, create 201 (422 limit_panoramas), get 200, patch 200,
 *   delete 204, access get/put 200, issue panel 200 (404 for an issue
 *   the caller may not browse), export 200, import 201 (422
 *   limit_nodes, issue_not_browsable), tree 200, actions 200 (413
 *   limit_actions, 422 limit_nodes), history 200, undo 200 (404
 *   nothing to undo, 409 blocked).
 */
enum err	 route_panoramas_list(struct req *, struct reply *);
enum err	 route_panoramas_create(struct req *, struct reply *);
enum err	 route_panoramas_get(struct req *, struct reply *);
enum err	 route_panoramas_patch(struct req *, struct reply *);
enum err	 route_panoramas_delete(struct req *, struct reply *);
enum err	 route_panoramas_access_get(struct req *, struct reply *);
enum err	 route_panoramas_access_put(struct req *, struct reply *);
enum err	 route_issue_panoramas(struct req *, struct reply *);
enum err	 route_panoramas_export(struct req *, struct reply *);
enum err	 route_panoramas_import(struct req *, struct reply *);
enum err	 route_panoramas_tree(struct req *, struct reply *);
enum err	 route_panoramas_actions(struct req *, struct reply *);
enum err	 route_panoramas_history(struct req *, struct reply *);
enum err	 route_panoramas_undo(struct req *, struct reply *);

/*
 * route_panoramas_tree.c: the jira:issue_deleted webhook (page JWT):
 * 204, also for an issue no panorama shows; 400 without issue.id.
 */
enum err	 route_webhook_issue_deleted(struct req *, struct reply *);

/*
 * route_forge.c (Forge Remote; the caller is Forge with a verified
 * FIT, r->fit).  Each answers 204 fast (Forge waits 5 s, then retries)
 * and is harmless when delivered twice:
 *   events: avi:forge:installed:app and avi:forge:upgraded:app record
 *   the installation (a new tenant at first); avi:jira:deleted:issue
 *   removes the issue's nodes (400 without issue.id); any other event
 *   is logged and ignored.  503 when the registry stays busy.
 *   cron: the hourly trigger; the installation was heard from (the
 *   system token it brought is kept by authentication).  For a tenant
 *   reached through Forge alone, with the system token, its due
 *   personal-data report runs after the reply (app_defer), bounded.
 *   pre-uninstall: the tenant departs now ([reaper] grace_days).
 */
enum err	 route_forge_events(struct req *, struct reply *);
enum err	 route_forge_cron(struct req *, struct reply *);
enum err	 route_forge_preuninstall(struct req *, struct reply *);

#endif
