/* libFuzzer: a whole request (parameters and body) through req_init and
 * the router with a route table of our shapes; error bodies never carry
 * the input. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fakeio.h"
#include "router.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static enum err
ok_handler(struct req *r, struct reply *rep)
{
	cJSON	*o = cJSON_CreateObject();
	int	 rc;

	(void)r;
	rc = o != NULL ? reply_json(rep, 200, o) : -1;
	cJSON_Delete(o);
	return rc == 0 ? ERR_OK : ERR_INTERNAL;
}

static const struct route table[] = {
	{ METHOD_GET, "/a", "a", AUTH_NONE, 0, NULL, ok_handler, 0 },
	{ METHOD_POST, "/a/{}", "b", AUTH_NONE, 4096, "application/json",
	    ok_handler, 0 },
	{ METHOD_PUT, "/a/{}/c/{}", "c", AUTH_CONTEXT, 4096,
	    "application/json", ok_handler, 0 },
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int	 inited;
	static const char *const names[5] = {
		"REQUEST_METHOD", "REQUEST_URI", "CONTENT_LENGTH",
		"CONTENT_TYPE", "HTTP_AUTHORIZATION",
	};
	const char	*params[11];
	struct fake	 f;
	struct http_io	 io;
	struct req	 r;
	struct reply	 rep;
	char		*copy, *p, *fields[5];
	size_t		 i, n;

	if (!inited && sodium_init() >= 0)
		inited = 1;
	/* Five NUL-separated parameters, then the body. */
	if ((copy = malloc(size + 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	memset(&f, 0, sizeof(f));
	io = fake_io(&f);
	for (i = 0, p = copy; i < 5; i++) {
		fields[i] = p;
		p += strlen(p);
		if (p < copy + size)
			p++;
	}
	for (i = 0, n = 0; i < 5; i++)
		if (fields[i][0] != '\0') {
			params[n++] = names[i];
			params[n++] = fields[i];
		}
	params[n] = NULL;
	f.params = params;
	f.body = p;
	f.body_len = size - (size_t)(p - copy);
	reply_init(&rep);
	if (req_init(&r, &io, "", NULL) == ERR_OK)
		router_dispatch(table, 3, NULL, &r, &io, &rep);
	else
		reply_error(&rep, ERR_BAD_REQUEST);
	(void)reply_send(&rep, &io, r.rid);
	fake_free(&f);
	reply_free(&rep);
	req_free(&r);
	free(copy);
	return 0;
}
