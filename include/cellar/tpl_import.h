/*
 * Import naming: each imported template gets a name that is free where
 * it goes, its own or "name (2)", "name (3)"...  A name clashes where the
 * importer can see it: among its own personal templates, the group and
 * global ones, and project templates sharing one of its projects (names
 * in other projects are never consulted, so a rename reveals nothing the
 * importer could not see).  Names claimed earlier in the same import
 * count too.  Names compare under the collation of collate.h, the rule
 * tpl_name_taken (tpl.c) uses in SQL.
 */
#ifndef CELLAR_TPL_IMPORT_H
#define CELLAR_TPL_IMPORT_H

struct tenantdb;
struct tpl;
struct tpl_import;

/* Names claimed by one import; NULL on no memory. */
struct tpl_import	*tpl_import_new(void);
void			 tpl_import_free(struct tpl_import *);

/*
 * A free name for t (owner, scope and targets set) in tdb, claimed for
 * this import: a malloc'd string of at most TPL_NAME_MAX characters.
 * NULL on no memory, or when 9,999 suffixes are taken.
 */
char			*tpl_import_name(struct tpl_import *,
			    struct tenantdb *tdb, const struct tpl *t);

#endif
