/*
 * The one comparison of names a person reads: ICU's root collation
 * (the Unicode Collation Algorithm with CLDR's root order) at secondary
 * strength.  Case never counts; accents count, but only after the base
 * letters, so "Éric" sorts among the E's and "éric" equals "Éric" while
 * "Eric" does not.  Every place that orders, pages, compares or searches
 * template names uses it: SQL through the CELLAR collation and the
 * cellar_fold() function that db_open registers on every connection
 * (worker, cellarctl, reaper alike), C through the functions below.
 *
 * SQLite 3.15 as Debian builds SQLCipher has no ICU extension; ICU 72
 * (libicu72) is a Debian package, so the collation is registered by us
 * rather than written by us.  It is not used by any index: an ICU
 * upgrade that changes the order needs no REINDEX.  The search copies
 * (template_search, folded when written) do depend on ICU's case
 * folding: an upgrade that changes it needs a migration rewriting them.
 */
#ifndef CELLAR_COLLATE_H
#define CELLAR_COLLATE_H

#include <stddef.h>

/*
 * Compares UTF-8 a[0..alen) and b[0..blen): <0, 0 or >0.  Text that is
 * not valid UTF-8 compares after valid text, by bytes.
 */
int	 collate_cmp(const char *a, size_t alen, const char *b, size_t blen);

/*
 * A malloc'd key that is equal for two strings exactly when collate_cmp
 * calls them equal (lowercase hex of ICU's sort key): for hash maps.
 * NULL on no memory.
 */
char	*collate_key(const char *s);

/*
 * Search folding: s with Unicode's NFKC_Casefold applied ("Straße" ->
 * "strasse", "ÉRIC" -> "éric"), a malloc'd UTF-8 string; the same
 * function is cellar_fold() in SQL.  Invalid UTF-8 is copied as it is.
 * NULL on no memory.
 */
char	*collate_fold(const char *s);

#endif
