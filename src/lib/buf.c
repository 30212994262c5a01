/*
 * Growable buffers; see buf.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cellar/buf.h"

/* The first allocation: most replies fit, few waste much. */
#define BUF_FIRST	1024

void
buf_add_grow(struct buf *b, const void *s, size_t n)
{
	size_t	 need, cap;
	char	*p;

	if (b->failed)
		return;
	if (n > (size_t)-1 / 2 - b->len ||
	    (b->max != 0 && b->len + n > b->max)) {
		b->failed = 1;
		return;
	}
	need = b->len + n + 1;
	if (need > b->cap) {
		cap = b->cap != 0 ? b->cap : BUF_FIRST;
		while (cap < need)
			cap *= 2;
		/* Never allocate far past what the maximum allows. */
		if (b->max != 0 && cap > b->max + 1)
			cap = b->max + 1;
		if ((p = realloc(b->p, cap)) == NULL) {
			b->failed = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	if (n > 0)
		memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void
buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void
buf_addf(struct buf *b, const char *fmt, ...)
{
	char	 small[256], *big = NULL;
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = 1;
		return;
	}
	if ((size_t)n < sizeof(small)) {
		buf_add(b, small, (size_t)n);
		return;
	}
	if ((big = malloc((size_t)n + 1)) == NULL) {
		b->failed = 1;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	buf_add(b, big, (size_t)n);
	free(big);
}

char *
buf_finish(struct buf *b, size_t *len)
{
	char	*out = NULL;

	if (!b->failed && b->p == NULL)
		buf_add_grow(b, "", 0);
	if (!b->failed) {
		out = b->p;
		if (len != NULL)
			*len = b->len;
		b->p = NULL;
	}
	buf_free(b);
	return out;
}

void
buf_free(struct buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
	b->failed = 0;
}

size_t
buf_curl_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct buf	*b = arg;
	size_t		 n = size * nmemb;

	if (nmemb != 0 && n / nmemb != size)
		return 0;
	buf_add(b, data, n);
	return b->failed ? 0 : n;
}
