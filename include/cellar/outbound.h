/*
 * Outbound HTTP(S) calls, one libcurl setup for every caller (the Jira
 * client, the install-key fetch): TLS peer and host verified, redirects
 * never followed, only the protocols the caller names, bounded connect
 * and total times, no signals (workers are single-threaded but curl's
 * alarm-based DNS timeout would still fire into them), and the reply
 * read into a buffer with a maximum that aborts the transfer.
 */
#ifndef CELLAR_OUTBOUND_H
#define CELLAR_OUTBOUND_H

#include "cellar/buf.h"
#include "cellar/http.h"

/*
 * One call.  protocols: "https", "http" or "https,http".  headers:
 * "Name: value" strings ending in NULL, or NULL.  body: NULL for none
 * (never with GET).  user_agent: NULL sends none.
 */
struct outbound {
	const char		*url;
	enum http_method	 method;
	const char		*protocols;
	long			 connect_ms;	/* connect timeout */
	long			 total_ms;	/* whole-call timeout */
	const char *const	*headers;
	const char		*body;
	const char		*user_agent;
	/*
	 * Called, when set, with each header line of the reply as libcurl
	 * hands it over ("Name: value\r\n", not NUL-terminated; also
	 * the status line), with header_arg.
	 */
	void			(*on_header)(void *arg, const char *line,
				    size_t len);
	void			*header_arg;
};

/*
 * The value of header name (case-insensitive) if line is that header:
 * copied into out without surrounding blanks and the line end, NUL-
 * terminated.  1 found (and it fit), 0 another line, -1 too long.
 */
int	 outbound_header_value(const char *line, size_t len, const char *name,
	    char *out, size_t outsz);

/*
 * Makes the call and appends the reply body to reply (its max bounds
 * it).  0 with the HTTP status in *status, whatever it is; -1 when no
 * HTTP answer arrived (refused, timed out, TLS failure, reply over the
 * maximum, no memory) with libcurl's code in *curl_code for the log.
 */
int	 outbound_call(const struct outbound *, long *status,
	    struct buf *reply, int *curl_code)
	    __attribute__((warn_unused_result));

#endif
