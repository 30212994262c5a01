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
};

const size_t nroutes = sizeof(routes) / sizeof(routes[0]);
