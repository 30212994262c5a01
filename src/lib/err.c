/*
 * The error table.  Only the router turns these into replies; handlers
 * return codes.  Messages are fixed text so that no reply echoes input.
 */
#include <stddef.h>

#include "cellar/err.h"

static const struct err_row {
	const char	*code;
	const char	*message;
	int		 status;
	int		 retry_after;	/* seconds; 0: no Retry-After */
} errs[ERR__MAX] = {
	[ERR_OK] = { "ok", "ok", 200 },
	[ERR_BAD_REQUEST] = { "bad_request", "the request is malformed", 400 },
	[ERR_UNAUTHORIZED] = { "unauthorized",
	    "authentication is missing or invalid", 401 },
	[ERR_FORBIDDEN] = { "forbidden",
	    "you are not allowed to do this", 403 },
	[ERR_NOT_FOUND] = { "not_found", "no such resource", 404 },
	[ERR_METHOD] = { "method_not_allowed",
	    "this method is not allowed here", 405 },
	[ERR_CONFLICT] = { "conflict",
	    "the resource has changed since it was read", 409 },
	[ERR_LENGTH_REQUIRED] = { "length_required",
	    "a Content-Length is required", 411 },
	[ERR_TOO_LARGE] = { "too_large",
	    "the request body is too large", 413 },
	[ERR_MEDIA_TYPE] = { "unsupported_media_type",
	    "the request body must be application/json", 415 },
	[ERR_UNPROCESSABLE] = { "invalid",
	    "the request has an invalid field", 422 },
	[ERR_LIMIT_TEMPLATES] = { "limit_templates",
	    "a site holds at most 2000 shared templates", 422 },
	[ERR_LIMIT_PERSONAL] = { "limit_personal",
	    "you hold as many personal templates as this site allows", 422 },
	[ERR_LIMIT_NAME] = { "limit_name",
	    "a template name holds 1 to 120 characters", 422 },
	[ERR_LIMIT_BODY] = { "limit_body",
	    "a template body holds 1 to 10000 characters", 422 },
	[ERR_LIMIT_PROJECTS] = { "limit_projects",
	    "a projects template names 1 to 50 project ids", 422 },
	[ERR_LIMIT_GROUPS] = { "limit_groups",
	    "a groups template names 1 to 20 group ids", 422 },
	[ERR_LIMIT_VALUES] = { "limit_values",
	    "a rendered text holds at most 256 KiB", 422 },
	[ERR_LIMIT_IMPORT] = { "limit_import",
	    "an import holds at most 2000 templates", 413 },
	[ERR_LIMIT_NODES] = { "limit_nodes",
	    "this would pass the panorama's node limit", 422 },
	[ERR_LIMIT_PANORAMAS] = { "limit_panoramas",
	    "this site holds as many panoramas as it allows", 422 },
	[ERR_LIMIT_ACTIONS] = { "limit_actions",
	    "a batch holds at most 1000 actions", 413 },
	[ERR_LIMIT_TIME] = { "limit_time",
	    "this batch takes too long to apply; send it in smaller ones", 422 },
	[ERR_INTERNAL] = { "internal", "internal error", 500 },
	[ERR_UNAVAILABLE] = { "unavailable",
	    "the service is temporarily unavailable", 503, 5 },
	[ERR_STORAGE_FULL] = { "storage_full",
	    "the service is out of storage; retry later", 503, 60 },
	[ERR_QUARANTINED] = { "tenant_quarantined",
	    "this site's data is held for an operator's check; retry later",
	    503, 600 },
	[ERR_REKEYED] = { "tenant_rekeyed",
	    "this site's data was re-encrypted meanwhile; retry", 503, 1 },
};

const char *
err_code(enum err e)
{
	return (e < ERR__MAX) ? errs[e].code : errs[ERR_INTERNAL].code;
}

const char *
err_message(enum err e)
{
	return (e < ERR__MAX) ? errs[e].message : errs[ERR_INTERNAL].message;
}

int
err_status(enum err e)
{
	return (e < ERR__MAX) ? errs[e].status : errs[ERR_INTERNAL].status;
}

int
err_retry_after(enum err e)
{
	return (e < ERR__MAX) ? errs[e].retry_after : 0;
}
