/*
 * A growable byte buffer: the one place cellar appends text or bytes of
 * unknown length (JSON replies, canonical requests, rendered templates,
 * replies read from Jira and the key service).  Any failure sticks: once
 * an allocation failed or the buffer would pass its maximum, every later
 * add is ignored and buf_finish returns NULL, so a caller checks once at
 * the end instead of after every add (Kore's kore_buf, Redis's sds).
 *
 * The contents stay NUL-terminated after every add, so the text can be
 * read while it grows.  A buffer owns its memory; buf_finish hands it to
 * the caller, buf_free drops it.
 */
#ifndef CELLAR_BUF_H
#define CELLAR_BUF_H

#include <stddef.h>
#include <string.h>

struct buf {
	char	*p;		/* NULL until the first add */
	size_t	 len;		/* bytes held, without the NUL */
	size_t	 cap;		/* bytes allocated */
	size_t	 max;		/* most bytes it may hold; 0: no limit */
	int	 failed;	/* no memory, or max passed: sticky */
};

/* An empty buffer holding at most max bytes (0: no limit). */
#define BUF_INIT(max)	{ NULL, 0, 0, (max), 0 }

/* The slow path of buf_add: grows the buffer, then appends. */
void	 buf_add_grow(struct buf *, const void *, size_t);

/* Appends n bytes of s. */
static inline void
buf_add(struct buf *b, const void *s, size_t n)
{
	if (!b->failed && b->len + n < b->cap) {
		memcpy(b->p + b->len, s, n);
		b->len += n;
		b->p[b->len] = '\0';
	} else
		buf_add_grow(b, s, n);
}

/* Appends the string s. */
void	 buf_adds(struct buf *, const char *s);

/* Appends printf-style formatted text. */
void	 buf_addf(struct buf *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/*
 * Hands the contents to the caller: a malloc'd NUL-terminated string
 * ("" when nothing was added) and its length in *len (may be NULL).
 * NULL if the buffer failed.  Either way the buffer is empty afterwards.
 */
char	*buf_finish(struct buf *, size_t *len)
	    __attribute__((warn_unused_result));

/* Frees the contents; the buffer is empty and usable again. */
void	 buf_free(struct buf *);

/*
 * A libcurl CURLOPT_WRITEFUNCTION appending to the struct buf given as
 * CURLOPT_WRITEDATA.  Returns 0 (which aborts the transfer) when the
 * reply would pass the buffer's maximum or memory runs out.
 */
size_t	 buf_curl_write(char *data, size_t size, size_t nmemb, void *b);

#endif
