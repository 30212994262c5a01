/*
 * The Connect query string hash: SHA-256 over Atlassian's canonical
 * request "METHOD&PATH&QUERY", following the reference (Java)
 * implementation and checked against its official vectors.
 */
#ifndef CELLAR_QSH_H
#define CELLAR_QSH_H

#include <stddef.h>

/* Most query parameters a canonical request may hold. */
#define QSH_MAX_PARAMS	128

/*
 * Builds the canonical request for method, path (raw, relative to the
 * app's base URL path) and raw query (without '?', NULL for none; the
 * "jwt" parameter is left out).  Returns a malloc'd string, or NULL on a
 * malformed query (bad percent escape, too many parameters) or no
 * memory.
 */
char	*qsh_canonical(const char *method, const char *path,
	    const char *query) __attribute__((warn_unused_result));

/*
 * The lowercase hex SHA-256 of the canonical request into out.
 * Returns 0, or -1 as qsh_canonical.
 */
int	 qsh_compute(const char *method, const char *path, const char *query,
	    char out[65]) __attribute__((warn_unused_result));

#endif
