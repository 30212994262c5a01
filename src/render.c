/*
 * Rendering.  A variable is "{{" name [ "|" fallback ] "}}" with optional
 * blanks around the name and the fallback.  A known name takes the
 * caller's value when it is a non-empty string, else the fallback, else
 * nothing; an unknown name, or a "{{" without a closing "}}", is copied
 * as it stands.
 */
#include <stdlib.h>
#include <string.h>

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

struct out {
	char	*s;
	size_t	 len, cap;
	int	 failed;
};

static void
put(struct out *o, const char *s, size_t n)
{
	char	*p;
	size_t	 cap;

	if (o->failed)
		return;
	if (o->len + n > RENDER_MAX) {
		o->failed = 1;
		return;
	}
	if (o->len + n + 1 > o->cap) {
		cap = (o->len + n + 1) * 2;
		if ((p = realloc(o->s, cap)) == NULL) {
			o->failed = 1;
			return;
		}
		o->s = p;
		o->cap = cap;
	}
	memcpy(o->s + o->len, s, n);
	o->len += n;
	o->s[o->len] = '\0';
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

char *
render(const char *body, const cJSON *values, const char *today)
{
	struct out	 o = { NULL, 0, 0, 0 };
	const char	*p = body, *open, *close, *bar, *name, *fb;
	const cJSON	*v;
	char		 key[64];
	size_t		 nlen, flen;

	put(&o, "", 0);
	while (!o.failed && (open = strstr(p, "{{")) != NULL) {
		put(&o, p, (size_t)(open - p));
		if ((close = strstr(open + 2, "}}")) == NULL) {
			p = open;
			break;
		}
		bar = memchr(open + 2, '|', (size_t)(close - open - 2));
		name = trim_span(open + 2, bar != NULL ? bar : close, &nlen);
		fb = bar != NULL ? trim_span(bar + 1, close, &flen) : NULL;
		if (!render_known(name, nlen)) {
			/* Literal: copy "{{" and go on after it. */
			put(&o, open, 2);
			p = open + 2;
			continue;
		}
		memcpy(key, name, nlen);
		key[nlen] = '\0';
		v = values != NULL ?
		    cJSON_GetObjectItemCaseSensitive(values, key) : NULL;
		if (strcmp(key, "today") == 0 && (v == NULL ||
		    !cJSON_IsString(v) || v->valuestring[0] == '\0'))
			put(&o, today, strlen(today));
		else if (cJSON_IsString(v) && v->valuestring[0] != '\0')
			put(&o, v->valuestring, strlen(v->valuestring));
		else if (fb != NULL)
			put(&o, fb, flen);
		p = close + 2;
	}
	if (!o.failed)
		put(&o, p, strlen(p));
	if (o.failed) {
		free(o.s);
		return NULL;
	}
	return o.s;
}
