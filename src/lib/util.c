/*
 * Bounded helpers for the boundary: numbers, UTF-8, paths, dates.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <strings.h>

#include <sodium.h>

#include "cellar/clock.h"
#include "cellar/util.h"

int
util_strtonum(const char *s, long long min, long long max, long long *out)
{
	char		*end;
	long long	 v;

	if (s == NULL || *s == '\0' || isspace((unsigned char)*s) ||
	    *s == '+')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int
util_utf8_valid(const char *buf, size_t len)
{
	const unsigned char	*s = (const unsigned char *)buf;
	size_t			 i = 0, n, k;
	unsigned int		 cp, min;

	while (i < len) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((s[i] & 0xe0) == 0xc0) {
			n = 1; cp = s[i] & 0x1f; min = 0x80;
		} else if ((s[i] & 0xf0) == 0xe0) {
			n = 2; cp = s[i] & 0x0f; min = 0x800;
		} else if ((s[i] & 0xf8) == 0xf0) {
			n = 3; cp = s[i] & 0x07; min = 0x10000;
		} else
			return 0;
		if (len - i <= n)
			return 0;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

size_t
util_utf8_chars(const char *s)
{
	size_t	 n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

int
util_printable(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
		/* U+0080..U+009F (C1 controls: NEL breaks lines) in UTF-8. */
		if ((unsigned char)s[0] == 0xc2 && (unsigned char)s[1] >= 0x80 &&
		    (unsigned char)s[1] <= 0x9f)
			return 0;
	}
	return 1;
}

int
util_strcaseeq(const char *a, const char *b)
{
	for (; *a != '\0' && *b != '\0'; a++, b++)
		if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
			return 0;
	return *a == *b;
}

char *
util_path_join(const char *dir, const char *name)
{
	size_t	 dl = strlen(dir), nl = strlen(name);
	char	*p;

	while (dl > 0 && dir[dl - 1] == '/')
		dl--;
	if ((p = malloc(dl + 1 + nl + 1)) == NULL)
		return NULL;
	memcpy(p, dir, dl);
	p[dl] = '/';
	memcpy(p + dl + 1, name, nl + 1);
	return p;
}

void
util_free_wiped(char *s)
{
	if (s != NULL) {
		sodium_memzero(s, strlen(s));
		free(s);
	}
}

void
util_hex(char *out, const unsigned char *in, size_t len)
{
	static const char	 digits[] = "0123456789abcdef";
	size_t			 i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0x0f];
	}
	out[2 * len] = '\0';
}

static int
loopback_host(const char *h, size_t n)
{
	return (n == 9 && strncmp(h, "127.0.0.1", n) == 0) ||
	    (n == 9 && strncasecmp(h, "localhost", n) == 0) ||
	    (n == 5 && strncmp(h, "[::1]", n) == 0);
}

/*
 * Checks an http(s) URL of the shape scheme://host[:port][/path] with no
 * user info, query or fragment, and strips trailing slashes in place.
 */
const char *
util_url_check(char *v)
{
	const char	*host, *p;
	size_t		 hlen, len;
	int		 https;
	long long	 port;
	char		 pbuf[8];

	if (strncmp(v, "https://", 8) == 0)
		https = 1;
	else if (strncmp(v, "http://", 7) == 0)
		https = 0;
	else
		return "must start with https://";
	host = v + (https ? 8 : 7);
	if (*host == '[') {
		/* An IPv6 literal: hex digits and colons up to the ']'. */
		if ((p = strchr(host, ']')) == NULL)
			return "has an invalid host name";
		hlen = (size_t)(p - host) + 1;
		for (p = host + 1; p < host + hlen - 1; p++)
			if (!isxdigit((unsigned char)*p) && *p != ':')
				return "has an invalid host name";
		if (hlen < 4)
			return "has an invalid host name";
	} else {
		hlen = strcspn(host, ":/");
		for (p = host; p < host + hlen; p++)
			if (!isalnum((unsigned char)*p) && *p != '-' &&
			    *p != '.')
				return "has an invalid host name";
	}
	if (hlen == 0)
		return "has no host";
	p = host + hlen;
	if (*p == ':') {
		len = strspn(p + 1, "0123456789");
		if (len == 0 || len >= sizeof(pbuf))
			return "has an invalid port";
		memcpy(pbuf, p + 1, len);
		pbuf[len] = '\0';
		if (util_strtonum(pbuf, 1, 65535, &port) == -1)
			return "has an invalid port";
		p += 1 + len;
	}
	if (*p != '\0' && *p != '/')
		return "has an invalid host or port";
	for (; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) &&
		    strchr("/-._~%!$&'()*+,=:@", *p) == NULL)
			return "may hold only a path after the host "
			    "(no query, fragment or spaces)";
	if (!https && !loopback_host(host, hlen))
		return "must use https (plain http only for 127.0.0.1, "
		    "localhost or [::1])";
	len = strlen(v);
	while (len > 0 && v[len - 1] == '/')
		v[--len] = '\0';
	return NULL;
}


/* v (0 <= v < 10^width) as width decimal digits. */
static void
put_digits(char *out, long long v, int width)
{
	while (width-- > 0) {
		out[width] = (char)('0' + v % 10);
		v /= 10;
	}
}

void
util_iso8601(char out[21], long long t)
{
	long long	 days = t / CLOCK_DAY, secs = t % CLOCK_DAY, z, era, doe, yoe;
	long long	 y, doy, mp, d, m;

	if (secs < 0) {
		secs += CLOCK_DAY;
		days--;
	}
	/* Howard Hinnant's civil_from_days. */
	z = days + 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	y += m <= 2;
	if (y < 0 || y > 9999)
		y = 0;
	put_digits(out, y, 4);
	out[4] = '-';
	put_digits(out + 5, m, 2);
	out[7] = '-';
	put_digits(out + 8, d, 2);
	out[10] = 'T';
	put_digits(out + 11, secs / 3600, 2);
	out[13] = ':';
	put_digits(out + 14, secs / 60 % 60, 2);
	out[16] = ':';
	put_digits(out + 17, secs % 60, 2);
	out[19] = 'Z';
	out[20] = '\0';
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

char *
util_form_decode(const char *s, size_t n, size_t *outlen)
{
	char	*out, *o;
	size_t	 i;
	int	 hi, lo;

	if ((out = malloc(n + 1)) == NULL)
		return NULL;
	for (i = 0, o = out; i < n; i++) {
		if (s[i] == '+')
			*o++ = ' ';
		else if (s[i] == '%') {
			if (i + 2 >= n)
				goto fail;
			if ((hi = hexval(s[i + 1])) < 0 ||
			    (lo = hexval(s[i + 2])) < 0 || (hi | lo) == 0)
				goto fail;
			*o++ = (char)(hi << 4 | lo);
			i += 2;
		} else
			*o++ = s[i];
	}
	*o = '\0';
	if (outlen != NULL)
		*outlen = (size_t)(o - out);
	return out;
fail:
	free(out);
	return NULL;
}
