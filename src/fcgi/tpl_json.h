/*
 * Canned responses as the API shows and takes them: template objects
 * in and out, and the list's paging cursors.
 */
#ifndef CELLAR_FCGI_TPL_JSON_H
#define CELLAR_FCGI_TPL_JSON_H

#include <cjson/cJSON.h>

#include "cellar/err.h"
#include "cellar/json.h"
#include "cellar/tpl.h"

/*
 * Validates a template object o into t (owner left to the caller):
 * name, body, scope, position, active, and exactly the target list the
 * scope needs ("projects": canonical project ids, strings or integers;
 * "groups": group ids).  Unknown fields are ignored.  ERR_OK, or the
 * error for the first bad field (ERR_LIMIT_* for a broken limit, else
 * ERR_UNPROCESSABLE) with its name in *field and t empty again.
 */
enum err	 tpl_json_parse(const cJSON *o, struct tpl *t,
		    const char **field) __attribute__((warn_unused_result));

/*
 * Writes t as the API shows it; export leaves out what import does not
 * take (version, times, counters).
 */
void		 tpl_json_write(struct jw *, const struct tpl *t, int export);

/*
 * The list's cursor after t: its key in the list order (position,
 * 30-day use, name, id).  A malloc'd string, or NULL.
 */
char		*tpl_json_cursor(const struct tpl *t);

/* Reads a cursor made by tpl_json_cursor into c; 0, or -1 if malformed. */
int		 tpl_json_cursor_parse(const char *s, struct tpl_cursor *c);

#endif
