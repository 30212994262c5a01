/*
 * The fake transport; see fakeio.h.
 */
#include <stdlib.h>
#include <string.h>

#include "fakeio.h"

static const char *
fake_param(void *ctx, const char *name)
{
	const struct fake	*f = ctx;
	size_t			 i;

	for (i = 0; f->params != NULL && f->params[i] != NULL; i += 2)
		if (strcmp(f->params[i], name) == 0)
			return f->params[i + 1];
	return NULL;
}

static long
fake_read(void *ctx, char *buf, size_t n)
{
	struct fake	*f = ctx;
	size_t		 k;

	f->reads++;
	if (f->fail_at > 0 && f->pos >= f->fail_at)
		return -1;
	/* A reader that keeps asking at the end of input would hang. */
	if (f->pos == f->body_len && ++f->eof_reads > f->eof_limit &&
	    f->eof_limit > 0)
		return -1;
	k = f->body_len - f->pos;
	if (k > n)
		k = n;
	if (f->chunk > 0 && k > f->chunk)
		k = f->chunk;
	memcpy(buf, f->body + f->pos, k);
	f->pos += k;
	return (long)k;
}

static int
fake_write(void *ctx, const char *buf, size_t n)
{
	struct fake	*f = ctx;
	char		*p;

	if (f->write_fail)
		return -1;
	if ((p = realloc(f->out, f->out_len + n + 1)) == NULL)
		return -1;
	f->out = p;
	memcpy(f->out + f->out_len, buf, n);
	f->out_len += n;
	f->out[f->out_len] = '\0';
	return 0;
}

struct http_io
fake_io(struct fake *f)
{
	struct http_io	 io = { f, fake_param, fake_read, fake_write };

	return io;
}

void
fake_free(struct fake *f)
{
	free(f->out);
	f->out = NULL;
	f->out_len = 0;
}
