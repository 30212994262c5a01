/*
 * The route table: every route the worker serves, with its method, path,
 * authentication level, body limit and content type.  The router
 * enforces all of it before a handler runs.  Literal paths come before
 * patterns that would also match them: the first match wins (a unit test
 * checks that no route is shadowed).
 *
 * Adding a route: a row here, its handler in route_<group>.c with its
 * prototype and status contract in fcgi.h, SQL only in the library's
 * store for that data (a migration in sql/tenant/ if the schema grows),
 * a unit test for the store and an integration test for the route.
 */
#include <stddef.h>

#include "fcgi.h"

/* Body limits, bytes. */
#define BODY_LIFECYCLE	16384		/* Connect lifecycle payloads */
#define BODY_TEMPLATE	65536		/* one template, a render request */
#define BODY_SMALL	1024		/* a use count */
/* An import; nginx's client_max_body_size says the same. */
#define BODY_IMPORT	(16 * 1024 * 1024)
/* A panorama's fields, its access entries. */
#define BODY_PANORAMA	65536
/* A batch of actions, a panorama import (nginx agrees). */
#define BODY_PANO_BATCH	(4 * 1024 * 1024)
/* A Jira webhook payload (an issue with its fields). */
#define BODY_WEBHOOK	(1024 * 1024)

#define ROUTE(m, path, nm, level, max, type, fn) { .method = (m), \
	.pattern = (path), .name = (nm), .auth = (level), .body_max = (max), \
	.ctype = (type), .handler = (fn) }
/* A route whose body may also be absent (router.h, body_optional). */
#define ROUTE_OPTIONAL(m, path, nm, level, max, type, fn) { .method = (m), \
	.pattern = (path), .name = (nm), .auth = (level), .body_max = (max), \
	.ctype = (type), .handler = (fn), .body_optional = 1 }

const struct route routes[] = {
	ROUTE(METHOD_GET, "/healthz", "healthz", AUTH_NONE, 0, NULL,
	    route_healthz),
	ROUTE(METHOD_GET, "/atlassian-connect.json", "descriptor", AUTH_NONE,
	    0, NULL, route_descriptor),
	ROUTE(METHOD_POST, "/installed", "installed", AUTH_LIFECYCLE,
	    BODY_LIFECYCLE, ROUTE_JSON, route_installed),
	ROUTE(METHOD_POST, "/uninstalled", "uninstalled", AUTH_LIFECYCLE,
	    BODY_LIFECYCLE, ROUTE_JSON, route_uninstalled),
	ROUTE(METHOD_POST, "/enabled", "enabled", AUTH_PAGE, BODY_LIFECYCLE,
	    ROUTE_JSON, route_enabled),
	ROUTE(METHOD_POST, "/disabled", "disabled", AUTH_PAGE, BODY_LIFECYCLE,
	    ROUTE_JSON, route_disabled),
	ROUTE(METHOD_GET, "/api/tenant", "tenant", AUTH_CONTEXT, 0, NULL,
	    route_tenant),
	/* Canned responses: export and import before {}. */
	ROUTE(METHOD_GET, "/api/templates", "templates_list", AUTH_CONTEXT, 0,
	    NULL, route_templates_list),
	ROUTE(METHOD_POST, "/api/templates", "templates_create", AUTH_CONTEXT,
	    BODY_TEMPLATE, ROUTE_JSON, route_templates_create),
	ROUTE(METHOD_GET, "/api/templates/export", "templates_export",
	    AUTH_CONTEXT, 0, NULL, route_templates_export),
	ROUTE(METHOD_POST, "/api/templates/import", "templates_import",
	    AUTH_CONTEXT, BODY_IMPORT, ROUTE_JSON, route_templates_import),
	ROUTE(METHOD_GET, "/api/templates/{}", "templates_get", AUTH_CONTEXT,
	    0, NULL, route_templates_get),
	ROUTE(METHOD_PUT, "/api/templates/{}", "templates_put", AUTH_CONTEXT,
	    BODY_TEMPLATE, ROUTE_JSON, route_templates_put),
	ROUTE(METHOD_DELETE, "/api/templates/{}", "templates_delete",
	    AUTH_CONTEXT, 0, NULL, route_templates_delete),
	ROUTE(METHOD_POST, "/api/templates/{}/render", "templates_render",
	    AUTH_CONTEXT, BODY_TEMPLATE, ROUTE_JSON, route_templates_render),
	ROUTE(METHOD_POST, "/api/templates/{}/uses", "templates_uses",
	    AUTH_CONTEXT, BODY_SMALL, ROUTE_JSON, route_templates_uses),
	/* Panoramas: import before {}. */
	ROUTE(METHOD_GET, "/api/panoramas", "panoramas_list", AUTH_CONTEXT, 0,
	    NULL, route_panoramas_list),
	ROUTE(METHOD_POST, "/api/panoramas", "panoramas_create", AUTH_CONTEXT,
	    BODY_PANORAMA, ROUTE_JSON, route_panoramas_create),
	ROUTE(METHOD_POST, "/api/panoramas/import", "panoramas_import",
	    AUTH_CONTEXT, BODY_PANO_BATCH, ROUTE_JSON, route_panoramas_import),
	ROUTE(METHOD_GET, "/api/panoramas/{}", "panoramas_get", AUTH_CONTEXT,
	    0, NULL, route_panoramas_get),
	ROUTE(METHOD_PATCH, "/api/panoramas/{}", "panoramas_patch",
	    AUTH_CONTEXT, BODY_PANORAMA, ROUTE_JSON, route_panoramas_patch),
	ROUTE(METHOD_DELETE, "/api/panoramas/{}", "panoramas_delete",
	    AUTH_CONTEXT, 0, NULL, route_panoramas_delete),
	ROUTE(METHOD_GET, "/api/panoramas/{}/tree", "panoramas_tree",
	    AUTH_CONTEXT, 0, NULL, route_panoramas_tree),
	ROUTE(METHOD_POST, "/api/panoramas/{}/actions", "panoramas_actions",
	    AUTH_CONTEXT, BODY_PANO_BATCH, ROUTE_JSON,
	    route_panoramas_actions),
	ROUTE(METHOD_GET, "/api/panoramas/{}/history", "panoramas_history",
	    AUTH_CONTEXT, 0, NULL, route_panoramas_history),
	/* Undo takes no body, or "{}": a client's POST may carry either. */
	ROUTE_OPTIONAL(METHOD_POST, "/api/panoramas/{}/undo",
	    "panoramas_undo", AUTH_CONTEXT, BODY_SMALL, ROUTE_JSON,
	    route_panoramas_undo),
	ROUTE(METHOD_GET, "/api/panoramas/{}/access", "panoramas_access_get",
	    AUTH_CONTEXT, 0, NULL, route_panoramas_access_get),
	ROUTE(METHOD_PUT, "/api/panoramas/{}/access", "panoramas_access_put",
	    AUTH_CONTEXT, BODY_PANORAMA, ROUTE_JSON,
	    route_panoramas_access_put),
	ROUTE(METHOD_GET, "/api/panoramas/{}/export", "panoramas_export",
	    AUTH_CONTEXT, 0, NULL, route_panoramas_export),
	ROUTE(METHOD_GET, "/api/issues/{}/panoramas", "issue_panoramas",
	    AUTH_CONTEXT, 0, NULL, route_issue_panoramas),
	/*
	 * Forge Remote's own calls (a Forge Invocation Token): product and
	 * lifecycle events, the hourly scheduled trigger, pre-uninstall.
	 * Every context route above is served below /forge/ as well
	 * (router.h).  What Forge posts to the trigger and pre-uninstall
	 * endpoints is not documented to be JSON or even present: either.
	 */
	ROUTE(METHOD_POST, "/forge/events", "forge_events", AUTH_FORGE,
	    BODY_WEBHOOK, ROUTE_JSON, route_forge_events),
	ROUTE_OPTIONAL(METHOD_POST, "/forge/cron", "forge_cron", AUTH_FORGE,
	    BODY_LIFECYCLE, ROUTE_JSON, route_forge_cron),
	ROUTE_OPTIONAL(METHOD_POST, "/forge/pre-uninstall",
	    "forge_preuninstall", AUTH_FORGE, BODY_LIFECYCLE, ROUTE_JSON,
	    route_forge_preuninstall),
	/*
	 * The pages' gate: nginx serves a page's HTML only after this
	 * route verified its ?jwt= (route_ui.c); the worker serves no file.
	 */
	ROUTE(METHOD_GET, "/ui/{}", "ui_page", AUTH_PAGE, 0, NULL, route_ui),
	/* Jira's webhooks: signed like a page (qsh of the URL). */
	ROUTE(METHOD_POST, "/webhooks/issue-deleted", "webhook_issue_deleted",
	    AUTH_PAGE, BODY_WEBHOOK, ROUTE_JSON, route_webhook_issue_deleted),
};

const size_t nroutes = sizeof(routes) / sizeof(routes[0]);
