/*
 * Outbound calls over libcurl; see outbound.h.
 */
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "cellar/outbound.h"

/* Builds the header list; NULL with *failed set on no memory. */
static struct curl_slist *
headers_list(const char *const *h, int *failed)
{
	struct curl_slist	*list = NULL, *n;

	*failed = 0;
	for (; h != NULL && *h != NULL; h++) {
		if ((n = curl_slist_append(list, *h)) == NULL) {
			curl_slist_free_all(list);
			*failed = 1;
			return NULL;
		}
		list = n;
	}
	return list;
}

/* The method and body: GET, POST, or a custom method with a body. */
static int
method_set(CURL *c, enum http_method m, const char *body)
{
	switch (m) {
	case METHOD_GET:
		if (body != NULL)
			return -1;
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
		return 0;
	case METHOD_POST:
		curl_easy_setopt(c, CURLOPT_POSTFIELDS,
		    body != NULL ? body : "");
		return 0;
	case METHOD_PUT:
	case METHOD_DELETE:
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, http_method_name(m));
		if (body != NULL)
			curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		return 0;
	default:
		return -1;
	}
}

/* libcurl's header callback: hands each line to the caller's. */
static size_t
header_line(char *p, size_t size, size_t n, void *arg)
{
	const struct outbound	*o = arg;

	o->on_header(o->header_arg, p, size * n);
	return size * n;
}

int
outbound_header_value(const char *line, size_t len, const char *name,
    char *out, size_t outsz)
{
	size_t	 nl = strlen(name), b, e;

	if (len <= nl || line[nl] != ':' || strncasecmp(line, name, nl) != 0)
		return 0;
	for (b = nl + 1; b < len && (line[b] == ' ' || line[b] == '\t'); b++)
		;
	for (e = len; e > b && (line[e - 1] == '\r' || line[e - 1] == '\n' ||
	    line[e - 1] == ' ' || line[e - 1] == '\t'); e--)
		;
	if (e - b >= outsz || memchr(line + b, '\0', e - b) != NULL)
		return -1;
	memcpy(out, line + b, e - b);
	out[e - b] = '\0';
	return 1;
}

int
outbound_call(const struct outbound *o, long *status, struct buf *reply,
    int *curl_code)
{
	struct curl_slist	*hdr = NULL;
	CURL			*c;
	CURLcode		 rc = CURLE_OUT_OF_MEMORY;
	int			 failed, ret = -1;

	*status = 0;
	*curl_code = 0;
	if ((c = curl_easy_init()) == NULL)
		goto out;
	hdr = headers_list(o->headers, &failed);
	if (failed || method_set(c, o->method, o->body) == -1)
		goto out;
	curl_easy_setopt(c, CURLOPT_URL, o->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, o->protocols);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, o->connect_ms);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, o->total_ms);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (hdr != NULL)
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	if (o->user_agent != NULL)
		curl_easy_setopt(c, CURLOPT_USERAGENT, o->user_agent);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, buf_curl_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, reply);
	if (o->on_header != NULL) {
		curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_line);
		curl_easy_setopt(c, CURLOPT_HEADERDATA, o);
	}
	if ((rc = curl_easy_perform(c)) != CURLE_OK)
		goto out;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	ret = 0;
out:
	*curl_code = (int)rc;
	curl_slist_free_all(hdr);
	curl_easy_cleanup(c);
	return ret;
}
