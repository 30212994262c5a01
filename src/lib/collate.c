/*
 * Name comparison over ICU; see collate.h.
 */
#include <stdlib.h>
#include <string.h>

#include <unicode/ucol.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>

#include "cellar/collate.h"
#include "cellar/util.h"

/* The root collator at secondary strength, opened once per process. */
static UCollator *
collator(void)
{
	static UCollator	*coll;
	static int		 tried;
	UErrorCode		 st = U_ZERO_ERROR;

	if (!tried) {
		tried = 1;
		coll = ucol_open("", &st);
		if (U_FAILURE(st)) {
			ucol_close(coll);
			coll = NULL;
		} else
			ucol_setStrength(coll, UCOL_SECONDARY);
	}
	return coll;
}

static int
bytes_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int	 c = memcmp(a, b, alen < blen ? alen : blen);

	if (c != 0)
		return c;
	return (alen > blen) - (alen < blen);
}

int
collate_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	UCollator	*coll = collator();
	UErrorCode	 st = U_ZERO_ERROR;
	int		 va, vb, r;

	va = util_utf8_valid(a, alen);
	vb = util_utf8_valid(b, blen);
	if (coll == NULL || !va || !vb)
		return va != vb ? (va ? -1 : 1) : bytes_cmp(a, alen, b, blen);
	r = (int)ucol_strcollUTF8(coll, a, (int32_t)alen, b, (int32_t)blen,
	    &st);
	return U_FAILURE(st) ? bytes_cmp(a, alen, b, blen) : r;
}

/* s as UTF-16 (malloc'd, *n units), or NULL. */
static UChar *
to_utf16(const char *s, int32_t *n)
{
	UErrorCode	 st = U_ZERO_ERROR;
	UChar		*u;
	int32_t		 len;

	u_strFromUTF8(NULL, 0, &len, s, -1, &st);
	if (st != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(st))
		return NULL;
	if ((u = malloc(((size_t)len + 1) * sizeof(UChar))) == NULL)
		return NULL;
	st = U_ZERO_ERROR;
	u_strFromUTF8(u, len + 1, n, s, -1, &st);
	if (U_FAILURE(st)) {
		free(u);
		return NULL;
	}
	return u;
}

char *
collate_key(const char *s)
{
	UCollator	*coll = collator();
	UChar		*u = NULL;
	uint8_t		*key = NULL;
	char		*hex = NULL;
	int32_t		 n, klen;

	if (coll == NULL || !util_utf8_valid(s, strlen(s)) ||
	    (u = to_utf16(s, &n)) == NULL) {
		/* No collator, or not text: the bytes are the key. */
		if ((hex = malloc(2 * strlen(s) + 2)) != NULL) {
			hex[0] = '!';
			util_hex(hex + 1, (const unsigned char *)s, strlen(s));
		}
		free(u);
		return hex;
	}
	klen = ucol_getSortKey(coll, u, n, NULL, 0);
	if (klen > 0 && (key = malloc((size_t)klen)) != NULL &&
	    ucol_getSortKey(coll, u, n, key, klen) == klen &&
	    (hex = malloc(2 * (size_t)klen + 1)) != NULL)
		util_hex(hex, key, (size_t)klen);
	free(key);
	free(u);
	return hex;
}

char *
collate_fold(const char *s)
{
	const UNormalizer2 *nf;
	UErrorCode	 st = U_ZERO_ERROR;
	UChar		*u = NULL, *f = NULL;
	char		*out = NULL;
	int32_t		 n, fn, on;

	nf = unorm2_getNFKCCasefoldInstance(&st);
	if (U_FAILURE(st) || !util_utf8_valid(s, strlen(s)) ||
	    (u = to_utf16(s, &n)) == NULL) {
		free(u);
		return strdup(s);
	}
	/* Folding can lengthen text (ß -> ss): ask, then fill. */
	st = U_ZERO_ERROR;
	fn = unorm2_normalize(nf, u, n, NULL, 0, &st);
	if (st != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(st))
		goto out;
	if ((f = malloc(((size_t)fn + 1) * sizeof(UChar))) == NULL)
		goto out;
	st = U_ZERO_ERROR;
	fn = unorm2_normalize(nf, u, n, f, fn + 1, &st);
	if (U_FAILURE(st))
		goto out;
	st = U_ZERO_ERROR;
	u_strToUTF8(NULL, 0, &on, f, fn, &st);
	if (st != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(st))
		goto out;
	if ((out = malloc((size_t)on + 1)) == NULL)
		goto out;
	st = U_ZERO_ERROR;
	u_strToUTF8(out, on + 1, NULL, f, fn, &st);
	if (U_FAILURE(st)) {
		free(out);
		out = NULL;
	}
out:
	free(u);
	free(f);
	return out;
}
