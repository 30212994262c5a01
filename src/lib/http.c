/*
 * HTTP methods and reason phrases; see http.h.
 */
#include <string.h>

#include "cellar/http.h"

static const char *const method_names[METHOD__MAX] = {
	[METHOD_GET] = "GET",
	[METHOD_POST] = "POST",
	[METHOD_PUT] = "PUT",
	[METHOD_DELETE] = "DELETE",
	[METHOD_PATCH] = "PATCH",
};

const char *
http_method_name(enum http_method m)
{
	return m < METHOD__MAX ? method_names[m] : "OTHER";
}

enum http_method
http_method_parse(const char *s)
{
	int	 i;

	for (i = 0; i < METHOD__MAX; i++)
		if (strcmp(s, method_names[i]) == 0)
			return (enum http_method)i;
	return METHOD__MAX;
}

const char *
http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Entity";
	case 503: return "Service Unavailable";
	default: return "Internal Server Error";
	}
}
