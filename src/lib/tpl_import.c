/*
 * Import naming; see tpl_import.h.  A hash map remembers the names this
 * import claimed and, per base name, the next suffix to try, so that
 * 2,000 templates of one name cost linear time, not quadratic.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cellar/collate.h"
#include "cellar/tpl.h"
#include "cellar/tpl_import.h"

/* A hash map from key to int (open addressing, power-of-two size). */
struct nameset {
	char		**keys;
	int		 *vals;
	size_t		  cap, n;
};

static size_t
ns_slot(const struct nameset *ns, const char *key)
{
	uint64_t	 h = 1469598103934665603ULL;
	const char	*p;
	size_t		 i;

	for (p = key; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	for (i = (size_t)h & (ns->cap - 1); ns->keys[i] != NULL &&
	    strcmp(ns->keys[i], key) != 0; i = (i + 1) & (ns->cap - 1))
		continue;
	return i;
}

/* The value under key, or def. */
static int
ns_get(const struct nameset *ns, const char *key, int def)
{
	size_t	 i;

	if (ns->cap == 0)
		return def;
	i = ns_slot(ns, key);
	return ns->keys[i] != NULL ? ns->vals[i] : def;
}

static int
ns_put(struct nameset *ns, const char *key, int val)
{
	struct nameset	 big;
	size_t		 i;

	if (ns->n + 1 > ns->cap / 2) {
		big.cap = ns->cap ? ns->cap * 2 : 256;
		big.n = ns->n;
		if ((big.keys = calloc(big.cap, sizeof(char *))) == NULL ||
		    (big.vals = calloc(big.cap, sizeof(int))) == NULL) {
			free(big.keys);
			return -1;
		}
		for (i = 0; i < ns->cap; i++)
			if (ns->keys[i] != NULL) {
				size_t	 j = ns_slot(&big, ns->keys[i]);

				big.keys[j] = ns->keys[i];
				big.vals[j] = ns->vals[i];
			}
		free(ns->keys);
		free(ns->vals);
		*ns = big;
	}
	i = ns_slot(ns, key);
	if (ns->keys[i] == NULL) {
		if ((ns->keys[i] = strdup(key)) == NULL)
			return -1;
		ns->n++;
	}
	ns->vals[i] = val;
	return 0;
}

static void
ns_free(struct nameset *ns)
{
	size_t	 i;

	for (i = 0; i < ns->cap; i++)
		free(ns->keys[i]);
	free(ns->keys);
	free(ns->vals);
}

/*
 * The keys under which this import claims a name: "scope||KEY", KEY the
 * name's collation key (equal exactly where the names compare equal, as
 * in SQL), and for a projects template one per project
 * ("projects|id|KEY"), since that is where names clash.  mark prefixes
 * each (the counters of base names use "#").  Returns the number of keys
 * made, or -1.
 */
static int
name_keys(const struct tpl *t, const char *mark, const char *name,
    char **keys, size_t max)
{
	const char	*scope = tpl_scope_name(t->scope);
	size_t		 i, n = t->scope == SCOPE_PROJECTS ? t->ntargets : 1;
	char		*ck;

	if (n > max || (ck = collate_key(name)) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		if (asprintf(&keys[i], "%s%s|%s|%s", mark, scope, t->scope ==
		    SCOPE_PROJECTS ? t->targets[i] : "", ck) == -1) {
			while (i-- > 0)
				free(keys[i]);
			free(ck);
			return -1;
		}
	}
	free(ck);
	return (int)n;
}

static void
strs_free(char **keys, int n)
{
	while (n-- > 0)
		free(keys[n]);
}

/*
 * A free name where t goes: its name, else "name (2)", "name (3)"...,
 * shortened so the result stays within TPL_NAME_MAX characters.  Starts
 * from the next suffix this import has not tried for the same base name.
 */
static char *
name_pick(struct tenantdb *tdb, const struct tpl *t, struct nameset *ns)
{
	char		 suffix[16], *out, *keys[TPL_PROJECTS_MAX];
	char		*base[TPL_PROJECTS_MAX];
	const char	*p;
	size_t		 keep, chars, slen;
	int		 k, i, nkeys, nbase, dup, start = 1;

	if ((nbase = name_keys(t, "#", t->name, base, TPL_PROJECTS_MAX)) == -1)
		return NULL;
	for (i = 0; i < nbase; i++)
		if ((k = ns_get(ns, base[i], 1)) > start)
			start = k;
	for (k = start; k <= 9999; k++) {
		if (k == 1)
			suffix[0] = '\0';
		else
			snprintf(suffix, sizeof(suffix), " (%d)", k);
		slen = strlen(suffix);
		/* Keep whole characters so that name + suffix fits. */
		chars = 0;
		for (p = t->name; *p != '\0'; p++) {
			if (((unsigned char)*p & 0xc0) != 0x80) {
				if (chars == TPL_NAME_MAX - slen)
					break;
				chars++;
			}
		}
		keep = (size_t)(p - t->name);
		if ((out = malloc(keep + slen + 1)) == NULL)
			break;
		memcpy(out, t->name, keep);
		memcpy(out + keep, suffix, slen + 1);
		if ((nkeys = name_keys(t, "", out, keys, TPL_PROJECTS_MAX)) ==
		    -1) {
			free(out);
			break;
		}
		dup = 0;
		for (i = 0; i < nkeys && !dup; i++)
			dup = ns_get(ns, keys[i], -1) != -1;
		if (!dup)
			dup = tpl_name_taken(tdb, t, out);
		for (i = 0; i < nkeys && !dup; i++)
			if (ns_put(ns, keys[i], 0) == -1)
				dup = -1;
		for (i = 0; i < nbase && !dup; i++)
			if (ns_put(ns, base[i], k + 1) == -1)
				dup = -1;
		strs_free(keys, nkeys);
		if (dup == 0) {
			strs_free(base, nbase);
			return out;
		}
		free(out);
		if (dup == -1)
			break;
	}
	strs_free(base, nbase);
	return NULL;
}

struct tpl_import {
	struct nameset	 ns;
};

struct tpl_import *
tpl_import_new(void)
{
	return calloc(1, sizeof(struct tpl_import));
}

void
tpl_import_free(struct tpl_import *ti)
{
	if (ti == NULL)
		return;
	ns_free(&ti->ns);
	free(ti);
}

char *
tpl_import_name(struct tpl_import *ti, struct tenantdb *tdb,
    const struct tpl *t)
{
	return name_pick(tdb, t, &ti->ns);
}
