/*
 * The route table: every route the worker serves, with its method, path,
 * authentication level, body limit and content type.  The router
 * enforces all of it before a handler runs.
 */
#include <stddef.h>

#include "app.h"

const struct route routes[] = {
	{ METHOD_GET, "/healthz", "healthz", AUTH_NONE, 0, NULL,
	    route_healthz },
	{ METHOD_GET, "/atlassian-connect.json", "descriptor", AUTH_NONE, 0,
	    NULL, route_descriptor },
	{ METHOD_POST, "/installed", "installed", AUTH_LIFECYCLE, 16384,
	    "application/json", route_installed },
	{ METHOD_POST, "/uninstalled", "uninstalled", AUTH_LIFECYCLE, 16384,
	    "application/json", route_uninstalled },
	{ METHOD_POST, "/enabled", "enabled", AUTH_PAGE, 16384,
	    "application/json", route_enabled },
	{ METHOD_POST, "/disabled", "disabled", AUTH_PAGE, 16384,
	    "application/json", route_disabled },
	{ METHOD_GET, "/api/tenant", "tenant", AUTH_CONTEXT, 0, NULL,
	    route_tenant },
	/* Canned responses.  export/import before {} : the first match wins. */
	{ METHOD_GET, "/api/templates", "templates_list", AUTH_CONTEXT, 0,
	    NULL, route_templates_list },
	{ METHOD_POST, "/api/templates", "templates_create", AUTH_CONTEXT,
	    65536, "application/json", route_templates_create },
	{ METHOD_GET, "/api/templates/export", "templates_export",
	    AUTH_CONTEXT, 0, NULL, route_templates_export },
	{ METHOD_POST, "/api/templates/import", "templates_import",
	    AUTH_CONTEXT, 16777216, "application/json",
	    route_templates_import },
	{ METHOD_GET, "/api/templates/{}", "templates_get", AUTH_CONTEXT, 0,
	    NULL, route_templates_get },
	{ METHOD_PUT, "/api/templates/{}", "templates_put", AUTH_CONTEXT,
	    65536, "application/json", route_templates_put },
	{ METHOD_DELETE, "/api/templates/{}", "templates_delete",
	    AUTH_CONTEXT, 0, NULL, route_templates_delete },
	{ METHOD_POST, "/api/templates/{}/render", "templates_render",
	    AUTH_CONTEXT, 65536, "application/json", route_templates_render },
	{ METHOD_POST, "/api/templates/{}/uses", "templates_uses",
	    AUTH_CONTEXT, 1024, "application/json", route_templates_uses },
};

const size_t nroutes = sizeof(routes) / sizeof(routes[0]);
