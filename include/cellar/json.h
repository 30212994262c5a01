/*
 * JSON at the boundary, over cJSON 1.7.15 and its pitfalls: strict parse
 * (exact length, no trailing data, no NUL bytes or \u0000 escapes, valid
 * UTF-8, no duplicate keys, bounded depth) and typed, case-sensitive
 * getters that fail on a type or range mismatch instead of coercing.
 */
#ifndef CELLAR_JSON_H
#define CELLAR_JSON_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "cellar/buf.h"

/* Deepest nesting json_parse accepts. */
#define JSON_MAX_DEPTH	32
/*
 * Most values (cJSON nodes) json_parse builds: a tree costs about 64
 * bytes a value, so a 16 MiB "[0,0,...]" would otherwise cost 500 MiB.
 */
#define JSON_MAX_VALUES	1000000
/*
 * The largest integer a JSON number (a double) holds exactly, 2^53 - 1:
 * bound every integer read from or written for JavaScript by it.
 */
#define JSON_INT_MAX	9007199254740991LL

enum json_status {
	JSON_OK = 0,
	JSON_MISSING,		/* key absent (getters) */
	JSON_TYPE,		/* wrong type, or not an integer */
	JSON_RANGE,		/* number or length out of bounds */
	JSON_SYNTAX,		/* not JSON, or trailing data */
	JSON_ENCODING,		/* invalid UTF-8, NUL byte or \u0000 */
	JSON_DUPLICATE,		/* an object repeats a key */
	JSON_DEPTH,		/* nested deeper than JSON_MAX_DEPTH */
	JSON_NOMEM,
	JSON_TOO_MANY,		/* more than JSON_MAX_VALUES values */
	JSON__MAX
};

/* A short code naming the status, for the app log ("json_syntax"). */
const char	*json_status_code(enum json_status);

/*
 * Parses exactly buf[0..len).  On JSON_OK *out is the tree (free with
 * cJSON_Delete); otherwise *out is NULL.
 */
enum json_status json_parse(const char *buf, size_t len, cJSON **out)
		    __attribute__((warn_unused_result));

/*
 * Typed getters: key looked up case-sensitively in obj (an object).
 * Strings: length in bytes within [minlen, maxlen]; *out points into the
 * tree.  Integers: a JSON number with no fraction within [min, max].
 */
enum json_status json_get_str(const cJSON *obj, const char *key,
		    size_t minlen, size_t maxlen, const char **out);
enum json_status json_get_int(const cJSON *obj, const char *key,
		    long long min, long long max, long long *out);
enum json_status json_get_bool(const cJSON *obj, const char *key, int *out);

/*
 * Adds an integer member.  cJSON prints every number through "%1.15g"
 * and reads it back with sscanf to check it; an integer needs neither.
 * Returns the item or NULL (no memory).
 */
cJSON		*json_add_int(cJSON *obj, const char *key, long long v);

/*
 * A JSON writer for hot replies: it appends straight into one growing
 * buffer, escaping strings as cJSON does, without building a tree
 * (building and freeing cJSON trees cost the picker's list more than its
 * query).  Callers produce well-formed nesting; commas are automatic.
 * Keys are our own constants: plain ASCII names shorter than 60 bytes,
 * written unescaped (a longer one fails the writer).  Any failure
 * sticks: jw_finish then returns NULL.
 */
struct jw {
	struct buf	 b;
	int		 need_comma;
};

#define JW_INIT		{ BUF_INIT(0), 0 }

void	 jw_begin_object(struct jw *, const char *key);	/* key NULL: value */
void	 jw_end_object(struct jw *);
void	 jw_begin_array(struct jw *, const char *key);
void	 jw_end_array(struct jw *);
void	 jw_string(struct jw *, const char *key, const char *v);
void	 jw_int(struct jw *, const char *key, long long v);
void	 jw_bool(struct jw *, const char *key, int v);
void	 jw_null(struct jw *, const char *key);
/* A ready JSON value (text[0..len), well-formed: the caller's). */
void	 jw_raw(struct jw *, const char *key, const char *text, size_t len);
/* Bytes written so far. */
size_t	 jw_len(const struct jw *);
/*
 * The text (malloc'd, NUL-terminated) and its length; NULL on failure.
 * The writer is empty afterwards either way.
 */
char	*jw_finish(struct jw *, size_t *len);

/*
 * Serialises v compactly into a malloc'd string (length in *len).
 * Returns NULL on allocation failure.
 */
char		*json_print(const cJSON *v, size_t *len);

#endif
