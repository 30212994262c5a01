/*
 * Panorama trees a worker read lately, kept by tenant, panorama and
 * version.  A tree is read whole to serve any page of it (pre-order
 * needs every node: pano_tree, about 5 ms for 10,000 nodes), and a
 * team paging a big tree, or many people opening one, read the same
 * version again and again; every change to a panorama's tree bumps its
 * version (pano.h), so a tree kept under (tenant, holds, panorama,
 * version) is that version's tree for as long as it is kept.  The
 * holds count (registry) is part of the key: an operator's restore
 * holds the tenant first, and may bring back an older file whose
 * versions repeat with other trees.  Nothing here is written to disk.
 */
#ifndef CELLAR_FCGI_TREE_CACHE_H
#define CELLAR_FCGI_TREE_CACHE_H

#include <stddef.h>

#include "cellar/err.h"

struct pano;
struct pano_row;
struct req;
struct tenantdb;

/* Trees kept, and the rows they may hold together. */
#define TREE_CACHE_SLOTS	4
#define TREE_CACHE_ROWS		40000

/*
 * The tree of panorama p (as just read with pano_get, for r's tenant
 * on tdb): kept rows when a tree of p's version is kept, else read
 * (pano_tree) and kept.  *rows (n of them, in pre-order) and *version
 * (the version they are of: p's, or a later one when the tree moved on
 * since p was read) stay valid until the next call or tree_cache_clear;
 * never free them.  Errors as pano_tree.
 */
enum err	 tree_cache_get(struct req *r, struct tenantdb *tdb,
		    const struct pano *p, const struct pano_row **rows,
		    size_t *n, long long *version)
		    __attribute__((warn_unused_result));

/* Frees every kept tree. */
void		 tree_cache_clear(void);

#endif
