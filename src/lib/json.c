/*
 * Strict JSON over cJSON 1.7.15.  cJSON accepts trailing garbage, turns
 * "\u0000" into a silent truncation, passes invalid UTF-8, keeps the
 * first of two duplicate keys (libjwt's jansson keeps the last) and
 * saturates integers; every entry point here closes one of those holes.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cellar/json.h"
#include "cellar/util.h"

static const char *const status_codes[JSON__MAX] = {
	[JSON_OK] = "json_ok",
	[JSON_MISSING] = "json_missing",
	[JSON_TYPE] = "json_type",
	[JSON_RANGE] = "json_range",
	[JSON_SYNTAX] = "json_syntax",
	[JSON_ENCODING] = "json_encoding",
	[JSON_DUPLICATE] = "json_duplicate",
	[JSON_DEPTH] = "json_depth",
	[JSON_NOMEM] = "json_nomem",
	[JSON_TOO_MANY] = "json_too_many_values",
};

const char *
json_status_code(enum json_status s)
{
	return s < JSON__MAX ? status_codes[s] : "json_unknown";
}

/*
 * Length of an RFC 8259 number at s (at most n bytes), or 0 if what is
 * there is not one: cJSON also takes "01", "1." and "-.5".
 */
static size_t
json_number(const char *s, size_t n)
{
	size_t	 i = 0, d;

#define DIGITS() do { d = i; while (i < n && s[i] >= '0' && s[i] <= '9') \
	i++; } while (0)
	if (i < n && s[i] == '-')
		i++;
	if (i < n && s[i] == '0')
		i++;
	else {
		DIGITS();
		if (i == d)
			return 0;
	}
	if (i < n && s[i] == '.') {
		i++;
		DIGITS();
		if (i == d)
			return 0;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		DIGITS();
		if (i == d)
			return 0;
	}
#undef DIGITS
	return i;
}

/*
 * Scans the raw text for what cJSON would let through: a "\u0000"
 * escape or a raw control character inside a string, control characters
 * other than white space between tokens, numbers outside the JSON
 * grammar, nesting deeper than JSON_MAX_DEPTH, and more values than
 * JSON_MAX_VALUES (each value but the first follows a ',' or opens a
 * container, so their count bounds the nodes cJSON would build).
 */
static enum json_status
json_prescan(const char *buf, size_t len)
{
	size_t	 i, k, values = 1;
	int	 depth = 0, in_str = 0;

	for (i = 0; i < len; i++) {
		if (in_str) {
			if ((unsigned char)buf[i] < 0x20)
				return JSON_SYNTAX;
			if (buf[i] == '"')
				in_str = 0;
			else if (buf[i] == '\\' && i + 1 < len) {
				if (buf[i + 1] == 'u' && i + 5 < len &&
				    memcmp(buf + i + 2, "0000", 4) == 0)
					return JSON_ENCODING;
				i++;
			}
			continue;
		}
		if ((unsigned char)buf[i] < 0x20 && buf[i] != '\t' &&
		    buf[i] != '\n' && buf[i] != '\r')
			return JSON_SYNTAX;
		switch (buf[i]) {
		case '"':
			in_str = 1;
			break;
		case '{':
		case '[':
			if (++depth > JSON_MAX_DEPTH)
				return JSON_DEPTH;
			if (++values > JSON_MAX_VALUES)
				return JSON_TOO_MANY;
			break;
		case ',':
			if (++values > JSON_MAX_VALUES)
				return JSON_TOO_MANY;
			break;
		case '}':
		case ']':
			depth--;
			break;
		case '-':
		case '0': case '1': case '2': case '3': case '4':
		case '5': case '6': case '7': case '8': case '9':
			if ((k = json_number(buf + i, len - i)) == 0)
				return JSON_SYNTAX;
			/* Another digit or a dot right after: "01", "1.". */
			if (i + k < len && (buf[i + k] == '.' ||
			    (buf[i + k] >= '0' && buf[i + k] <= '9')))
				return JSON_SYNTAX;
			i += k - 1;
			break;
		}
	}
	return JSON_OK;
}

static int
key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * 1 if object v repeats a key, -1 out of memory.  Small objects compare
 * pairwise; larger ones sort their keys, so that a body of many keys
 * costs n log n and not n^2 (a 16 MiB import body is parsed before
 * anyone knows who sent it).
 */
static int
object_repeats(const cJSON *v)
{
	const cJSON	*a, *b;
	const char	**keys;
	size_t		 n = 0, i;
	int		 dup = 0;

	for (a = v->child; a != NULL; a = a->next)
		n++;
	if (n <= 16) {
		for (a = v->child; a != NULL; a = a->next)
			for (b = a->next; b != NULL; b = b->next)
				if (strcmp(a->string, b->string) == 0)
					return 1;
		return 0;
	}
	if ((keys = malloc(n * sizeof(*keys))) == NULL)
		return -1;
	for (i = 0, a = v->child; a != NULL; a = a->next)
		keys[i++] = a->string;
	qsort(keys, n, sizeof(*keys), key_cmp);
	for (i = 1; i < n && !dup; i++)
		dup = strcmp(keys[i - 1], keys[i]) == 0;
	free(keys);
	return dup;
}

/* Rejects objects with a repeated key, recursively (-1: no memory). */
static int
json_has_duplicates(const cJSON *v)
{
	const cJSON	*a;
	int		 rc;

	if (cJSON_IsObject(v) && (rc = object_repeats(v)) != 0)
		return rc;
	for (a = v->child; a != NULL; a = a->next)
		if ((cJSON_IsObject(a) || cJSON_IsArray(a)) &&
		    (rc = json_has_duplicates(a)) != 0)
			return rc;
	return 0;
}

enum json_status
json_parse(const char *buf, size_t len, cJSON **out)
{
	enum json_status	 st;
	const char		*end = NULL;
	cJSON			*v;

	*out = NULL;
	if (len == 0)
		return JSON_SYNTAX;
	if (memchr(buf, '\0', len) != NULL || !util_utf8_valid(buf, len))
		return JSON_ENCODING;
	if ((st = json_prescan(buf, len)) != JSON_OK)
		return st;
	v = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
	if (v == NULL)
		return JSON_SYNTAX;
	/* Only white space may follow the value. */
	while (end < buf + len && strchr(" \t\r\n", *end) != NULL)
		end++;
	if (end != buf + len) {
		cJSON_Delete(v);
		return JSON_SYNTAX;
	}
	switch (json_has_duplicates(v)) {
	case 0:
		break;
	case 1:
		cJSON_Delete(v);
		return JSON_DUPLICATE;
	default:
		cJSON_Delete(v);
		return JSON_NOMEM;
	}
	*out = v;
	return JSON_OK;
}

static const cJSON *
json_item(const cJSON *obj, const char *key)
{
	if (!cJSON_IsObject(obj))
		return NULL;
	return cJSON_GetObjectItemCaseSensitive(obj, key);
}

enum json_status
json_get_str(const cJSON *obj, const char *key, size_t minlen, size_t maxlen,
    const char **out)
{
	const cJSON	*v = json_item(obj, key);
	size_t		 len;

	if (v == NULL)
		return JSON_MISSING;
	if (!cJSON_IsString(v) || v->valuestring == NULL)
		return JSON_TYPE;
	len = strlen(v->valuestring);
	if (len < minlen || len > maxlen)
		return JSON_RANGE;
	*out = v->valuestring;
	return JSON_OK;
}

enum json_status
json_get_int(const cJSON *obj, const char *key, long long min, long long max,
    long long *out)
{
	const cJSON	*v = json_item(obj, key);
	double		 d;

	if (v == NULL)
		return JSON_MISSING;
	if (!cJSON_IsNumber(v))
		return JSON_TYPE;
	d = v->valuedouble;
	if (!isfinite(d) || d != floor(d))
		return JSON_TYPE;
	/* Beyond 2^53 - 1 a double no longer holds every integer. */
	if (d < -(double)JSON_INT_MAX || d > (double)JSON_INT_MAX ||
	    d < (double)min || d > (double)max)
		return JSON_RANGE;
	*out = (long long)d;
	return JSON_OK;
}

enum json_status
json_get_bool(const cJSON *obj, const char *key, int *out)
{
	const cJSON	*v = json_item(obj, key);

	if (v == NULL)
		return JSON_MISSING;
	if (!cJSON_IsBool(v))
		return JSON_TYPE;
	*out = cJSON_IsTrue(v) ? 1 : 0;
	return JSON_OK;
}

cJSON *
json_add_int(cJSON *obj, const char *key, long long v)
{
	char	 buf[24];

	snprintf(buf, sizeof(buf), "%lld", v);
	return cJSON_AddRawToObject(obj, key, buf);
}

char *
json_print(const cJSON *v, size_t *len)
{
	char	*s;

	if ((s = cJSON_PrintUnformatted(v)) == NULL)
		return NULL;
	*len = strlen(s);
	return s;
}

static void
jw_put(struct jw *w, const char *s, size_t n)
{
	buf_add(&w->b, s, n);
}

/* A JSON string literal: quotes, escapes, UTF-8 passed through. */
static void
jw_quoted(struct jw *w, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const char	*run = s;
	char		 esc[6];

	jw_put(w, "\"", 1);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		jw_put(w, run, (size_t)(s - run));
		run = s + 1;
		switch (c) {
		case '"':  jw_put(w, "\\\"", 2); break;
		case '\\': jw_put(w, "\\\\", 2); break;
		case '\n': jw_put(w, "\\n", 2); break;
		case '\r': jw_put(w, "\\r", 2); break;
		case '\t': jw_put(w, "\\t", 2); break;
		case '\b': jw_put(w, "\\b", 2); break;
		case '\f': jw_put(w, "\\f", 2); break;
		default:
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 0x0f];
			jw_put(w, esc, 6);
		}
	}
	jw_put(w, run, (size_t)(s - run));
	jw_put(w, "\"", 1);
}

/*
 * The comma before a value and its key, if any.  Keys are our own
 * constants (plain ASCII names): written as they are, not escaped.
 */
static void
jw_key(struct jw *w, const char *key)
{
	char	 buf[64];
	size_t	 n = 0, k;

	if (w->need_comma)
		buf[n++] = ',';
	if (key != NULL) {
		/* Ours, and short: a longer one is a bug, not a key to drop. */
		if ((k = strlen(key)) >= sizeof(buf) - 4) {
			w->b.failed = 1;
			return;
		}
		buf[n++] = '"';
		memcpy(buf + n, key, k);
		n += k;
		buf[n++] = '"';
		buf[n++] = ':';
	}
	jw_put(w, buf, n);
	w->need_comma = 1;
}

void
jw_begin_object(struct jw *w, const char *key)
{
	jw_key(w, key);
	jw_put(w, "{", 1);
	w->need_comma = 0;
}

void
jw_end_object(struct jw *w)
{
	jw_put(w, "}", 1);
	w->need_comma = 1;
}

void
jw_begin_array(struct jw *w, const char *key)
{
	jw_key(w, key);
	jw_put(w, "[", 1);
	w->need_comma = 0;
}

void
jw_end_array(struct jw *w)
{
	jw_put(w, "]", 1);
	w->need_comma = 1;
}

void
jw_string(struct jw *w, const char *key, const char *v)
{
	jw_key(w, key);
	jw_quoted(w, v);
}

void
jw_int(struct jw *w, const char *key, long long v)
{
	char			 buf[24];
	char			*p = buf + sizeof(buf);
	unsigned long long	 u = v < 0 ? 0 - (unsigned long long)v :
				    (unsigned long long)v;

	jw_key(w, key);
	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		*--p = '-';
	jw_put(w, p, (size_t)(buf + sizeof(buf) - p));
}

void
jw_bool(struct jw *w, const char *key, int v)
{
	jw_key(w, key);
	jw_put(w, v ? "true" : "false", v ? 4 : 5);
}

void
jw_null(struct jw *w, const char *key)
{
	jw_key(w, key);
	jw_put(w, "null", 4);
}

void
jw_raw(struct jw *w, const char *key, const char *text, size_t len)
{
	jw_key(w, key);
	jw_put(w, text, len);
}

size_t
jw_len(const struct jw *w)
{
	return w->b.len;
}

char *
jw_finish(struct jw *w, size_t *len)
{
	w->need_comma = 0;
	return buf_finish(&w->b, len);
}
