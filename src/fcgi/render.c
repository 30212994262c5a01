/*
 * Rendering.  A variable is "{{" name [ "|" fallback ] "}}" with optional
 * blanks around the name and the fallback.  A known name takes the
 * caller's value when it is a non-empty string, else the fallback, else
 * nothing; an unknown name, or a "{{" without a closing "}}", is copied
 * as it stands.
 */
#include <stdlib.h>
#include <string.h>

#include "cellar/buf.h"
#include "render.h"

static const char *const known[] = {
	"issue.key", "issue.summary", "reporter.displayName",
	"assignee.displayName", "currentUser.displayName", "today",
};

int
render_known(const char *name, size_t len)
{
	size_t	 i;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strlen(known[i]) == len && memcmp(known[i], name, len) == 0)
			return 1;
	return 0;
}

static const char *
trim_span(const char *s, const char *e, size_t *len)
{
	while (s < e && (*s == ' ' || *s == '\t'))
		s++;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	*len = (size_t)(e - s);
	return s;
}

/* The last "{{" that starts at or after open and before close. */
static const char *
innermost_open(const char *open, const char *close)
{
	const char	*s;

	for (s = close - 2; s > open; s--)
		if (s[0] == '{' && s[1] == '{')
			return s;
	return open;
}

char *
render(const char *body, const cJSON *values, const char *today)
{
	struct buf	 o = BUF_INIT(RENDER_MAX);
	const char	*p = body, *open, *close, *bar, *name, *fb;
	const cJSON	*v;
	char		 key[64];
	size_t		 nlen, flen;

	while (!o.failed && (open = strstr(p, "{{")) != NULL) {
		if ((close = strstr(open + 2, "}}")) == NULL)
			break;
		/*
		 * The innermost "{{" before the "}}" starts the candidate:
		 * in "{{{x}}}" or "{{ {{x}} }}" the braces before it are
		 * literal text, and the scan resumes at the right place.
		 */
		open = innermost_open(open, close);
		buf_add(&o, p, (size_t)(open - p));
		bar = memchr(open + 2, '|', (size_t)(close - open - 2));
		name = trim_span(open + 2, bar != NULL ? bar : close, &nlen);
		fb = bar != NULL ? trim_span(bar + 1, close, &flen) : NULL;
		if (!render_known(name, nlen)) {
			/* Literal: copy "{{" and go on after it. */
			buf_add(&o, open, 2);
			p = open + 2;
			continue;
		}
		memcpy(key, name, nlen);
		key[nlen] = '\0';
		v = values != NULL ?
		    cJSON_GetObjectItemCaseSensitive(values, key) : NULL;
		if (strcmp(key, "today") == 0 && (v == NULL ||
		    !cJSON_IsString(v) || v->valuestring[0] == '\0'))
			buf_add(&o, today, strlen(today));
		else if (cJSON_IsString(v) && v->valuestring[0] != '\0')
			buf_add(&o, v->valuestring, strlen(v->valuestring));
		else if (fb != NULL)
			buf_add(&o, fb, flen);
		p = close + 2;
	}
	buf_add(&o, p, strlen(p));
	return buf_finish(&o, NULL);
}
