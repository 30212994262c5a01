/*
 * Panoramas as the API shows and takes them: ids on the wire, the
 * bodies of create, patch, actions, access and import (parsed strictly:
 * unknown members, wrong types and malformed ids are refused, naming
 * the member and the action, entry or row, never the value), and
 * panoramas, tree rows, access entries and history batches out.
 */
#ifndef CELLAR_FCGI_PANO_JSON_H
#define CELLAR_FCGI_PANO_JSON_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "cellar/err.h"
#include "cellar/json.h"
#include "cellar/pano.h"

/* Longest id on the wire: 18 digits. */
#define PANO_JSON_ID_LEN	18

/*
 * Why a body was refused: the member at fault (a constant; NULL: the
 * body as a whole), the action, entry or row (-1: none), a constant
 * reason code and the limit broken (-1: none).  Never a value.
 */
struct pano_json_fault {
	const char	*field;
	long long	 index;
	const char	*reason;
	long long	 limit;
};

/*
 * 0 if s is an id as the wire spells them (panorama, node, batch and
 * Jira issue ids alike): 1 to 18 decimal digits, no leading zero, at
 * most PANO_ID_MAX; the value in *id.  Else -1.
 */
int		 pano_json_id_parse(const char *s, long long *id);

/* Writes id as a JSON string (key NULL: as an array element). */
void		 pano_json_id(struct jw *, const char *key, long long id);

/*
 * A create body {"name", "description"?} (patch 0) or a patch body
 * {"version", "name"?, "description"?} (patch 1; *version set) into
 * p->name and p->description (malloc'd; on a patch, left NULL when the
 * body has none).  ERR_OK, or ERR_UNPROCESSABLE with *f filled and p's
 * fields freed.
 */
enum err	 pano_json_fields(const cJSON *body, int patch, struct pano *p,
		    long long *version, struct pano_json_fault *f)
		    __attribute__((warn_unused_result));

/*
 * An actions body {"version", "actions": [...]}, parsed whole: acts
 * point into ids (every issue id of the add actions, in order) and into
 * the JSON tree (titles), which must outlive them.  Free with
 * pano_json_batch_free.
 */
struct pano_json_batch {
	long long		 version;
	struct pano_action	*acts;
	size_t			 n;
	long long		*ids;
	size_t			 nids;
	size_t			*owner;		/* ids[i]'s action */
	size_t			 nodes;		/* nodes the batch adds */
};

/*
 * ERR_OK, or: ERR_LIMIT_ACTIONS (more than PANO_ACTIONS_MAX actions),
 * ERR_UNPROCESSABLE (the first refused member, with the action's
 * index), ERR_INTERNAL; *f says what.
 */
enum err	 pano_json_actions(const cJSON *body, struct pano_json_batch *b,
		    struct pano_json_fault *f)
		    __attribute__((warn_unused_result));
void		 pano_json_batch_free(struct pano_json_batch *);

/*
 * An access body {"entries": [{"grantee", "id"?, "level"}]}: at most
 * PANO_ACCESS_MAX entries, "id" (perm_id_ok) for account and group
 * entries and none for everyone, each grantee and id once.  *out (free
 * with pano_access_free) holds *n.  ERR_OK, ERR_UNPROCESSABLE (*f),
 * ERR_INTERNAL.
 */
enum err	 pano_json_access(const cJSON *body, struct pano_access **out,
		    size_t *n, struct pano_json_fault *f)
		    __attribute__((warn_unused_result));

/*
 * An import body, the export's shape: "format" and "formatVersion"
 * (when present) exactly as export writes them, "name",
 * "description"?, "rows": [{"depth", "kind", "issueId" | "title"}],
 * depth 0 first and at most one more than the row before, at most
 * nodes_max rows.  p->name, p->description and *rows (free with
 * pano_rows_free) holding *n.  ERR_OK, ERR_UNPROCESSABLE (*f, a
 * restricted row included), ERR_LIMIT_NODES (*f), ERR_INTERNAL.
 */
enum err	 pano_json_import(const cJSON *body, long long nodes_max,
		    struct pano *p, struct pano_row **rows, size_t *n,
		    struct pano_json_fault *f)
		    __attribute__((warn_unused_result));

/* Writes p as the API shows it, with the caller's rights. */
void		 pano_json_write(struct jw *, const struct pano *p,
		    int can_edit, int can_manage);

/*
 * Writes a tree row: with_node 1 for the tree ({"node", "depth",
 * ...}), 0 for an export ({"depth", ...}); restricted 1 for an issue
 * the caller may not browse (no issueId, "restricted": true).
 */
void		 pano_json_row(struct jw *, const struct pano_row *r,
		    int with_node, int restricted);

/* Writes access entries a[0..n) as {"grantee", "id"?, "level"}. */
void		 pano_json_access_write(struct jw *,
		    const struct pano_access *a, size_t n);

/*
 * Every issue id a history batch's actions name (its "what"), appended
 * to *ids (grown with realloc; *n, *cap).  0, or -1 (no memory; a
 * "what" that does not parse names none).
 */
int		 pano_json_what_issues(const char *what, long long **ids,
		    size_t *n, size_t *cap);

/*
 * Writes batch b, its actions without the issue ids visible() says the
 * caller may not browse (ctx passed through).
 */
void		 pano_json_batch_write(struct jw *, const struct pano_batch *b,
		    int (*visible)(void *ctx, long long issue), void *ctx);

/* A page's "next": cursor next, or null on the last page (next NULL). */
void		 pano_json_next(struct jw *, const char *next);

/*
 * Paging cursors (api_cursor_make): n integers in [0, JSON_INT_MAX], or
 * the listing's (name, id).  Make: a malloc'd string or NULL; parse: 0,
 * or -1 for anything else.
 */
char		*pano_json_cursor(const long long *v, size_t n);
int		 pano_json_cursor_parse(const char *s, long long *v, size_t n);
char		*pano_json_list_cursor(const char *name, long long id);
int		 pano_json_list_cursor_parse(const char *s, char **name,
		    long long *id);

#endif
