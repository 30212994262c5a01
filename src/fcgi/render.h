/*
 * Template variables: {{name}} or {{name | fallback text}}, filled from
 * the caller's values in one pass (a value that itself holds "{{" is
 * never expanded again).  Unknown names stay literal so typos show.
 * Extra braces are text: the innermost "{{" before a "}}" opens the
 * variable, so with issue.key = OPS-42 "{{{issue.key}}}" renders
 * "{OPS-42}" and "{{ {{issue.key}} }}" renders "{{ OPS-42 }}".
 */
#ifndef CELLAR_FCGI_RENDER_H
#define CELLAR_FCGI_RENDER_H

#include <stddef.h>

#include <cjson/cJSON.h>

/* Longest rendered text. */
#define RENDER_MAX	(256 * 1024)

/*
 * Renders body with values (an object of string values keyed by variable
 * name, e.g. "issue.key"; may be NULL) and today ("YYYY-MM-DD").  Returns
 * a malloc'd string, or NULL on no memory or output over RENDER_MAX.
 */
char	*render(const char *body, const cJSON *values, const char *today);

/* 1 if name is a variable templates may use. */
int	 render_known(const char *name, size_t len);

#endif
