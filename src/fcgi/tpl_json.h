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
 * ERR_UNPROCESSABLE) with its name in *field (NULL when o is no object
 * at all) and t empty again.
 */
enum err	 tpl_json_parse(const cJSON *o, struct tpl *t,
		    const char **field) __attribute__((warn_unused_result));

/* How a template is written. */
enum tpl_form {
	TPL_FORM_API = 0,	/* everything, with canEdit */
	TPL_FORM_EXPORT,	/* what import takes: no version, times,
				   counters or canEdit */
	TPL_FORM__MAX
};

/*
 * Writes t as the API shows it in form; can_edit says whether the
 * caller may change or delete it (TPL_FORM_API only).
 */
void		 tpl_json_write(struct jw *, const struct tpl *t,
		    enum tpl_form form, int can_edit);

/*
 * The list's cursor after t: its key in the list order (position,
 * 30-day use, name, id).  A malloc'd string, or NULL.
 */
char		*tpl_json_cursor(const struct tpl *t);

/* The same for a cursor position already held in c. */
char		*tpl_json_cursor_at(const struct tpl_cursor *c);

/* Reads a cursor made by tpl_json_cursor into c; 0, or -1 if malformed. */
int		 tpl_json_cursor_parse(const char *s, struct tpl_cursor *c);

#endif
