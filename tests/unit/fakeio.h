/*
 * The fake transport of the worker's unit tests and fuzz targets: CGI
 * parameters from a table, a body handed out in chunks (as a socket
 * does), reads that can fail from a given offset, and a reply sink.
 */
#ifndef CELLAR_TEST_FAKEIO_H
#define CELLAR_TEST_FAKEIO_H

#include <stddef.h>

#include "req.h"

struct fake {
	const char *const	*params;	/* name, value, ..., NULL */
	const char		*body;
	size_t			 body_len;
	size_t			 pos;		/* body bytes read so far */
	size_t			 chunk;		/* most per read; 0: all */
	size_t			 fail_at;	/* reads fail here; 0: never */
	int			 reads;
	int			 eof_reads;	/* calls after the end */
	int			 eof_limit;	/* 0: read at end forever */
	char			*out;		/* what was written, malloc'd */
	size_t			 out_len;
	int			 write_fail;	/* writes fail */
};

/* The transport over f. */
struct http_io	 fake_io(struct fake *f);

/* Frees what f collected. */
void		 fake_free(struct fake *f);

#endif
