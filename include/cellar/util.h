/*
 * Small bounded helpers used at the boundary: number parsing with ranges,
 * UTF-8 validation, path joining.
 */
#ifndef CELLAR_UTIL_H
#define CELLAR_UTIL_H

#include <stddef.h>

/*
 * Parses a whole decimal string (optional leading '-') into *out within
 * [min, max].  Returns 0, or -1 on empty input, trailing characters,
 * overflow or range.  Like OpenBSD's strtonum, without the errstr.
 */
int	util_strtonum(const char *, long long min, long long max,
	    long long *out) __attribute__((warn_unused_result));

/* 1 if buf[0..len) is valid UTF-8 (no overlongs, surrogates or > U+10FFFF). */
int	util_utf8_valid(const char *buf, size_t len);

/* Code points in a valid UTF-8 string. */
size_t	util_utf8_chars(const char *s);

/*
 * 1 if s (UTF-8) holds no control character: no byte < 0x20, no 0x7f,
 * no C1 control (U+0080..U+009F).
 */
int	util_printable(const char *s);

/* Case-insensitive ASCII equality. */
int	util_strcaseeq(const char *, const char *);

/*
 * Joins dir and name with one '/'.  Returns a malloc'd string or NULL on
 * allocation failure.
 */
char	*util_path_join(const char *dir, const char *name);

/*
 * t (seconds since the epoch, UTC) as "YYYY-MM-DDTHH:MM:SSZ" into out,
 * without the locale and time-zone machinery of strftime.  The first 10
 * characters are the date.
 */
void	util_iso8601(char out[21], long long t);

/*
 * Form-decodes s[0..n) ('+' is a space, %XX a byte) into a malloc'd
 * string of *outlen bytes.  NULL on a bad escape, an escaped NUL or no
 * memory.
 */
char	*util_form_decode(const char *s, size_t n, size_t *outlen);

/*
 * Frees a string that may hold a token or a secret, wiping it first.
 * NULL is ignored.
 */
void	util_free_wiped(char *s);

/* Lowercase hex of len bytes into out (2*len+1 bytes). */
void	util_hex(char *out, const unsigned char *in, size_t len);

/*
 * Checks an http(s) URL of the shape scheme://host[:port][/path] with no
 * user info, query or fragment; https unless the host is loopback.
 * Strips trailing slashes in place.  NULL, or what is wrong.
 */
const char *util_url_check(char *url);

#endif
