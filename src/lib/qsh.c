/*
 * Canonical requests as Atlassian's reference implementation builds them:
 *
 *   METHOD (upper case) & PATH & QUERY
 *
 * PATH is the raw path below the base URL, "/" when empty, with one
 * trailing slash removed and '&' written "%26".  QUERY holds every
 * parameter but "jwt": names and values form-decoded ('+' is a space),
 * then percent-encoded per RFC 3986 (only A-Z a-z 0-9 - . _ ~ stay
 * literal); names sorted by their encoded bytes, the values of a repeated
 * name sorted by their decoded bytes and joined with ','.  That is the
 * Java reference (HttpRequestCanonicalizer, the version that also writes
 * '&' in paths as "%26", as the official vectors do): Jira signs with it,
 * so its order, not another plausible one, is the one to match.  (Java
 * compares UTF-16 units; bytes order the same below U+10000.)
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cellar/buf.h"
#include "cellar/qsh.h"
#include "cellar/util.h"

struct qparam {
	char	*key;		/* decoded, then encoded in its place */
	char	*val;		/* decoded: values sort by it */
	char	*val_enc;
};

static void
qsh_encode(struct buf *b, const char *s)
{
	static const char	 hex[] = "0123456789ABCDEF";
	char			 e[3];

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~') {
			buf_add(b, s, 1);
			continue;
		}
		e[0] = '%';
		e[1] = hex[c >> 4];
		e[2] = hex[c & 0x0f];
		buf_add(b, e, 3);
	}
}

static int
qparam_cmp(const void *a, const void *b)
{
	const struct qparam *x = a, *y = b;
	int	 c;

	if ((c = strcmp(x->key, y->key)) != 0)
		return c;
	return strcmp(x->val, y->val);
}

/* Replaces *s with its RFC 3986 encoding; -1 on no memory. */
static int
encode_in_place(char **s)
{
	struct buf	 b = BUF_INIT(0);
	char		*enc;

	qsh_encode(&b, *s);
	if ((enc = buf_finish(&b, NULL)) == NULL)
		return -1;
	free(*s);
	*s = enc;
	return 0;
}

char *
qsh_canonical(const char *method, const char *path, const char *query)
{
	struct qparam	 ps[QSH_MAX_PARAMS] = { { NULL, NULL, NULL } };
	struct buf	 b = BUF_INIT(0);
	const char	*p, *amp, *eq, *end;
	size_t		 n = 0, i, plen;
	int		 ok = 0;

	for (p = method; *p != '\0'; p++) {
		char c = (*p >= 'a' && *p <= 'z') ? (char)(*p - 32) : *p;
		buf_add(&b, &c, 1);
	}
	buf_add(&b, "&", 1);
	plen = strlen(path);
	if (plen > 1 && path[plen - 1] == '/')
		plen--;
	if (plen == 0 || (plen == 1 && path[0] == '/'))
		buf_add(&b, "/", 1);
	else {
		if (path[0] != '/')
			buf_add(&b, "/", 1);
		for (i = 0; i < plen; i++) {
			if (path[i] == '&')
				buf_add(&b, "%26", 3);
			else
				buf_add(&b, path + i, 1);
		}
	}
	buf_add(&b, "&", 1);

	for (p = query; p != NULL && *p != '\0'; p = amp ? amp + 1 : NULL) {
		amp = strchr(p, '&');
		end = amp ? amp : p + strlen(p);
		if (end == p)
			continue;
		if (n == QSH_MAX_PARAMS)
			goto out;
		eq = memchr(p, '=', (size_t)(end - p));
		ps[n].val_enc = NULL;
		ps[n].key = util_form_decode(p, (size_t)((eq ? eq : end) - p),
		    NULL);
		ps[n].val = eq ? util_form_decode(eq + 1, (size_t)(end - eq - 1),
		    NULL) :
		    strdup("");
		if (ps[n].key == NULL || ps[n].val == NULL) {
			free(ps[n].key);
			free(ps[n].val);
			goto out;
		}
		if (strcmp(ps[n].key, "jwt") == 0) {
			free(ps[n].key);
			free(ps[n].val);
			continue;
		}
		n++;
		if (encode_in_place(&ps[n - 1].key) == -1 ||
		    (ps[n - 1].val_enc = strdup(ps[n - 1].val)) == NULL ||
		    encode_in_place(&ps[n - 1].val_enc) == -1)
			goto out;
	}
	qsort(ps, n, sizeof(ps[0]), qparam_cmp);
	for (i = 0; i < n; i++) {
		if (i > 0 && strcmp(ps[i].key, ps[i - 1].key) == 0) {
			buf_add(&b, ",", 1);
		} else {
			if (i > 0)
				buf_add(&b, "&", 1);
			buf_add(&b, ps[i].key, strlen(ps[i].key));
			buf_add(&b, "=", 1);
		}
		buf_add(&b, ps[i].val_enc, strlen(ps[i].val_enc));
	}
	ok = 1;
out:
	for (i = 0; i < n; i++) {
		free(ps[i].key);
		free(ps[i].val);
		free(ps[i].val_enc);
	}
	if (!ok) {
		buf_free(&b);
		return NULL;
	}
	return buf_finish(&b, NULL);
}

int
qsh_compute(const char *method, const char *path, const char *query,
    char out[65])
{
	unsigned char	 h[crypto_hash_sha256_BYTES];
	char		*c;

	if ((c = qsh_canonical(method, path, query)) == NULL)
		return -1;
	crypto_hash_sha256(h, (const unsigned char *)c, strlen(c));
	free(c);
	util_hex(out, h, sizeof(h));
	return 0;
}
