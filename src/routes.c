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
};

const size_t nroutes = sizeof(routes) / sizeof(routes[0]);
