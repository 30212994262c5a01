/* libFuzzer: a whole request (parameters and body) through req_init and
 * the router with a route table of our shapes; error bodies never carry
 * the input. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "router.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct fio {
	const char	*params[5];
	const uint8_t	*body;
	size_t		 len, off;
};

static const char *const names[5] = {
	"REQUEST_METHOD", "REQUEST_URI", "CONTENT_LENGTH", "CONTENT_TYPE",
	"HTTP_AUTHORIZATION",
};

static const char *
f_param(void *ctx, const char *name)
{
	struct fio	*f = ctx;
	int		 i;

	for (i = 0; i < 5; i++)
		if (strcmp(name, names[i]) == 0)
			return f->params[i];
	return NULL;
}

static long
f_read(void *ctx, char *buf, size_t n)
{
	struct fio	*f = ctx;

	if (n > f->len - f->off)
		n = f->len - f->off;
	memcpy(buf, f->body + f->off, n);
	f->off += n;
	return (long)n;
}

static int
f_write(void *ctx, const char *buf, size_t n)
{
	(void)ctx;
	(void)buf;
	(void)n;
	return 0;
}

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
	{ METHOD_GET, "/a", "a", AUTH_NONE, 0, NULL, ok_handler },
	{ METHOD_POST, "/a/{}", "b", AUTH_NONE, 4096, "application/json",
	    ok_handler },
	{ METHOD_PUT, "/a/{}/c/{}", "c", AUTH_CONTEXT, 4096,
	    "application/json", ok_handler },
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int	 inited;
	struct fio	 f;
	struct http_io	 io = { &f, f_param, f_read, f_write };
	struct req	 r;
	struct reply	 rep;
	char		*copy, *p, *fields[5];
	size_t		 i;

	if (!inited && sodium_init() >= 0)
		inited = 1;
	/* Five NUL-separated parameters, then the body. */
	if ((copy = malloc(size + 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	memset(&f, 0, sizeof(f));
	for (i = 0, p = copy; i < 5; i++) {
		fields[i] = p;
		p += strlen(p);
		if (p < copy + size)
			p++;
	}
	for (i = 0; i < 5; i++)
		f.params[i] = fields[i][0] ? fields[i] : NULL;
	f.body = (const uint8_t *)p;
	f.len = size - (size_t)(p - copy);
	memset(&rep, 0, sizeof(rep));
	if (req_init(&r, &io, "", NULL) == ERR_OK)
		router_dispatch(table, 3, NULL, &r, &io, &rep);
	else
		reply_error(&rep, ERR_BAD_REQUEST);
	(void)reply_send(&rep, &io, r.rid);
	reply_free(&rep);
	req_free(&r);
	free(copy);
	return 0;
}
