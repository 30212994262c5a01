/*
 * HTTP vocabulary shared by the worker (requests it serves) and the
 * outbound clients (calls it makes to Jira): methods and the reason
 * phrases of the statuses cellar uses.  No transport lives here.
 */
#ifndef CELLAR_HTTP_H
#define CELLAR_HTTP_H

enum http_method {
	METHOD_GET = 0,
	METHOD_POST,
	METHOD_PUT,
	METHOD_DELETE,
	METHOD_PATCH,
	METHOD__MAX
};

/* Name of a method ("GET"); "OTHER" for METHOD__MAX. */
const char	*http_method_name(enum http_method);

/*
 * The method named exactly s ("GET"), or METHOD__MAX for any other
 * method.
 */
enum http_method http_method_parse(const char *s);

/* Reason phrase of an HTTP status ("Not Found"); 500's for unknown. */
const char	*http_reason(int status);

#endif
