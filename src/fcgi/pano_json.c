/*
 * Panoramas in and out of JSON; see pano_json.h.  Every parser here
 * refuses what it does not know: a member no rule names, a type other
 * than the one stated, an id not spelled canonically.  The fault names
 * our own constant for the member (a member name the client made up is
 * never echoed: the fault then names the list it sits in) and a reason
 * code, never a value.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cellar/accounts.h"
#include "cellar/util.h"
#include "api.h"
#include "pano_json.h"
#include "perm.h"

/* Reason codes of a refused member. */
#define R_MISSING	"missing"
#define R_TYPE		"type"
#define R_LENGTH	"length"
#define R_FORMAT	"format"
#define R_UNKNOWN	"unknown_member"
#define R_DUPLICATE	"duplicate"
#define R_DEPTH		"depth"
#define R_RESTRICTED	"restricted"

/* What the import takes in "format" and "formatVersion". */
#define EXPORT_FORMAT	"cellar.panorama"
#define EXPORT_VERSION	1

/* Fills *f and returns e. */
static enum err
fault(struct pano_json_fault *f, enum err e, const char *field,
    long long index, const char *reason, long long limit)
{
	f->field = field;
	f->index = index;
	f->reason = reason;
	f->limit = limit;
	return e;
}

int
pano_json_id_parse(const char *s, long long *id)
{
	size_t	 n = strspn(s, "0123456789");

	if (n == 0 || n > PANO_JSON_ID_LEN || s[n] != '\0' || s[0] == '0')
		return -1;
	return util_strtonum(s, 1, PANO_ID_MAX, id) == 0 ? 0 : -1;
}

void
pano_json_id(struct jw *w, const char *key, long long id)
{
	char			 buf[24];
	char			*p = buf + sizeof(buf) - 1;
	unsigned long long	 u = id < 0 ? 0 : (unsigned long long)id;

	/* By hand: a whole tree writes 20,000 ids, and snprintf showed. */
	*p = '\0';
	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	jw_string(w, key, p);
}

/*
 * The name of o's first member that allowed[] (NULL-terminated) does
 * not hold, or NULL when there is none.  Duplicate keys never get here
 * (json_parse refuses them).
 */
static const char *
member_unknown(const cJSON *o, const char *const *allowed)
{
	const cJSON	*it;
	size_t		 i;

	cJSON_ArrayForEach(it, o) {
		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(it->string, allowed[i]) == 0)
				break;
		if (allowed[i] == NULL)
			return it->string;
	}
	return NULL;
}

/* o is an object with no member but allowed[]'s: NULL, or the reason. */
static const char *
object_check(const cJSON *o, const char *const *allowed)
{
	if (!cJSON_IsObject(o))
		return R_TYPE;
	return member_unknown(o, allowed) != NULL ? R_UNKNOWN : NULL;
}

/* 1 if s holds nothing but ASCII spaces and tabs. */
static int
blank(const char *s)
{
	return s[strspn(s, " \t")] == '\0';
}

/*
 * Text member key of o: a string of minc to maxc characters; a name
 * (printable 1) must hold no control character and show something.
 * *out points into the tree.  NULL, or the reason it is refused
 * (R_MISSING when absent).
 */
static const char *
text_get(const cJSON *o, const char *key, size_t minc, size_t maxc,
    int printable, const char **out)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, key);
	size_t		 n;

	if (v == NULL)
		return R_MISSING;
	if (!cJSON_IsString(v))
		return R_TYPE;
	n = util_utf8_chars(v->valuestring);
	if (n < minc || n > maxc)
		return R_LENGTH;
	if (printable && (!util_printable(v->valuestring) ||
	    blank(v->valuestring)))
		return R_FORMAT;
	*out = v->valuestring;
	return NULL;
}

/* An id member: a canonical id string; null too when nullable. */
static const char *
id_get(const cJSON *o, const char *key, int nullable, long long *id)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, key);

	*id = 0;
	if (v == NULL)
		return R_MISSING;
	if (nullable && cJSON_IsNull(v))
		return NULL;
	if (!cJSON_IsString(v))
		return R_TYPE;
	return pano_json_id_parse(v->valuestring, id) == 0 ? NULL : R_FORMAT;
}

/* The "version" member: an integer from 1; NULL or the reason. */
static const char *
version_get(const cJSON *o, long long *version)
{
	switch (json_get_int(o, "version", 1, JSON_INT_MAX, version)) {
	case JSON_OK:
		return NULL;
	case JSON_MISSING:
		return R_MISSING;
	default:
		return R_TYPE;
	}
}

/* Array member key of o into *out; NULL or the reason. */
static const char *
array_get(const cJSON *o, const char *key, const cJSON **out)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (v == NULL)
		return R_MISSING;
	if (!cJSON_IsArray(v))
		return R_TYPE;
	*out = v;
	return NULL;
}

/*
 * A panorama's "name" (refused when absent unless name_optional) and
 * "description"? into *name and *desc, pointing into the tree (left as
 * they were when absent).  ERR_OK, or ERR_UNPROCESSABLE with *f.
 */
static enum err
names_get(const cJSON *o, int name_optional, const char **name,
    const char **desc, struct pano_json_fault *f)
{
	const char	*why;

	why = text_get(o, "name", 1, PANO_NAME_MAX, 1, name);
	if (why != NULL && (!name_optional || strcmp(why, R_MISSING) != 0))
		return fault(f, ERR_UNPROCESSABLE, "name", -1, why,
		    strcmp(why, R_LENGTH) == 0 ? PANO_NAME_MAX : -1);
	why = text_get(o, "description", 0, PANO_DESC_MAX, 0, desc);
	if (why != NULL && strcmp(why, R_MISSING) != 0)
		return fault(f, ERR_UNPROCESSABLE, "description", -1, why,
		    strcmp(why, R_LENGTH) == 0 ? PANO_DESC_MAX : -1);
	return ERR_OK;
}

enum err
pano_json_fields(const cJSON *body, int patch, struct pano *p,
    long long *version, struct pano_json_fault *f)
{
	static const char *const create_members[] = { "name",
	    "description", NULL };
	static const char *const patch_members[] = { "version", "name",
	    "description", NULL };
	const char	*name = NULL, *desc = NULL, *why;
	enum err	 e = ERR_UNPROCESSABLE;

	p->name = p->description = NULL;
	if ((why = object_check(body, patch ? patch_members :
	    create_members)) != NULL)
		return fault(f, e, NULL, -1, why, -1);
	if (patch && (why = version_get(body, version)) != NULL)
		return fault(f, e, "version", -1, why, -1);
	if (names_get(body, patch, &name, &desc, f) != ERR_OK)
		return e;
	if (!patch && desc == NULL)
		desc = "";
	if ((name != NULL && (p->name = strdup(name)) == NULL) ||
	    (desc != NULL && (p->description = strdup(desc)) == NULL)) {
		free(p->name);
		p->name = NULL;
		return fault(f, ERR_INTERNAL, NULL, -1, NULL, -1);
	}
	return ERR_OK;
}

/* The members an action may hold, as bits. */
#define M_NODE		0x01
#define M_PARENT	0x02
#define M_AFTER		0x04
#define M_ISSUES	0x08
#define M_TITLE		0x10

static const char *const action_members[] = {
	"node", "parent", "after", "issueIds", "title",
};

static const struct op_rule {
	const char	*name;
	enum pano_op	 op;
	unsigned int	 members;	/* each required; parent, after
					   may be null */
} op_rules[PANO_OP__MAX] = {
	{ "add", PANO_OP_ADD, M_PARENT | M_AFTER | M_ISSUES },
	{ "addFolder", PANO_OP_ADD_FOLDER, M_PARENT | M_AFTER | M_TITLE },
	{ "move", PANO_OP_MOVE, M_NODE | M_PARENT | M_AFTER },
	{ "remove", PANO_OP_REMOVE, M_NODE },
	{ "rename", PANO_OP_RENAME, M_NODE | M_TITLE },
};

/* The index of an action member in action_members, or -1. */
static int
action_member(const char *name)
{
	size_t	 i;

	for (i = 0; i < sizeof(action_members) / sizeof(action_members[0]);
	    i++)
		if (strcmp(name, action_members[i]) == 0)
			return (int)i;
	return -1;
}

/*
 * The members of action o beside "op": each one the op's rule names,
 * each of those present.  NULL, or the reason with *field.
 */
static const char *
action_members_check(const cJSON *o, const struct op_rule *rule,
    const char **field)
{
	const cJSON	*it;
	size_t		 i;
	int		 k;

	cJSON_ArrayForEach(it, o) {
		if (strcmp(it->string, "op") == 0)
			continue;
		/* Our own name may be shown; one made up is not. */
		if ((k = action_member(it->string)) == -1) {
			*field = "actions";
			return R_UNKNOWN;
		}
		*field = action_members[k];
		if ((rule->members & (1u << k)) == 0)
			return R_UNKNOWN;
	}
	for (i = 0; i < sizeof(action_members) / sizeof(action_members[0]);
	    i++)
		if ((rule->members & (1u << i)) != 0 &&
		    cJSON_GetObjectItemCaseSensitive(o, action_members[i]) ==
		    NULL) {
			*field = action_members[i];
			return R_MISSING;
		}
	return NULL;
}

/*
 * The issueIds of an add action into ids (room for them all): canonical
 * id strings, 1 to PANO_ADD_MAX of them.
 */
static const char *
issue_ids_get(const cJSON *o, long long *ids, size_t *n, long long *limit)
{
	const cJSON	*a, *it;
	size_t		 cnt;

	*n = 0;
	a = cJSON_GetObjectItemCaseSensitive(o, "issueIds");
	if (!cJSON_IsArray(a))
		return R_TYPE;
	cnt = (size_t)cJSON_GetArraySize(a);
	if (cnt < 1 || cnt > PANO_ADD_MAX) {
		*limit = PANO_ADD_MAX;
		return R_LENGTH;
	}
	cJSON_ArrayForEach(it, a) {
		if (!cJSON_IsString(it))
			return R_TYPE;
		if (pano_json_id_parse(it->valuestring, &ids[*n]) == -1)
			return R_FORMAT;
		(*n)++;
	}
	return NULL;
}

/* Action i (o) into a, its issue ids into ids; NULL or the reason. */
static const char *
action_parse(const cJSON *o, struct pano_action *a, long long *ids,
    const char **field, long long *limit)
{
	const struct op_rule *rule = NULL;
	const char	*op, *why;
	size_t		 i;

	memset(a, 0, sizeof(*a));
	*field = "actions";
	if (!cJSON_IsObject(o))
		return R_TYPE;
	*field = "op";
	switch (json_get_str(o, "op", 1, 16, &op)) {
	case JSON_OK:
		break;
	case JSON_MISSING:
		return R_MISSING;
	case JSON_RANGE:
		return R_FORMAT;
	default:
		return R_TYPE;
	}
	for (i = 0; i < PANO_OP__MAX; i++)
		if (strcmp(op, op_rules[i].name) == 0)
			rule = &op_rules[i];
	if (rule == NULL)
		return R_FORMAT;
	a->op = rule->op;
	if ((why = action_members_check(o, rule, field)) != NULL)
		return why;
	*field = "node";
	if ((rule->members & M_NODE) != 0 &&
	    (why = id_get(o, "node", 0, &a->node)) != NULL)
		return why;
	*field = "parent";
	if ((rule->members & M_PARENT) != 0 &&
	    (why = id_get(o, "parent", 1, &a->parent)) != NULL)
		return why;
	*field = "after";
	if ((rule->members & M_AFTER) != 0 &&
	    (why = id_get(o, "after", 1, &a->after)) != NULL)
		return why;
	*field = "issueIds";
	if ((rule->members & M_ISSUES) != 0) {
		if ((why = issue_ids_get(o, ids, &a->nissues, limit)) != NULL)
			return why;
		a->issues = ids;
	}
	*field = "title";
	if ((rule->members & M_TITLE) != 0 && (why = text_get(o, "title", 1,
	    PANO_TITLE_MAX, 1, &a->title)) != NULL) {
		if (strcmp(why, R_LENGTH) == 0)
			*limit = PANO_TITLE_MAX;
		return why;
	}
	*field = NULL;
	return NULL;
}

void
pano_json_batch_free(struct pano_json_batch *b)
{
	if (b == NULL)
		return;
	free(b->acts);
	free(b->ids);
	free(b->owner);
	memset(b, 0, sizeof(*b));
}

enum err
pano_json_actions(const cJSON *body, struct pano_json_batch *b,
    struct pano_json_fault *f)
{
	static const char *const members[] = { "version", "actions", NULL };
	const cJSON	*list, *it, *ids;
	const char	*why, *field;
	long long	 limit;
	size_t		 cnt, room = 0, i, k;
	enum err	 e = ERR_UNPROCESSABLE;

	memset(b, 0, sizeof(*b));
	if ((why = object_check(body, members)) != NULL)
		return fault(f, e, NULL, -1, why, -1);
	if ((why = version_get(body, &b->version)) != NULL)
		return fault(f, e, "version", -1, why, -1);
	if ((why = array_get(body, "actions", &list)) != NULL)
		return fault(f, e, "actions", -1, why, -1);
	cnt = (size_t)cJSON_GetArraySize(list);
	if (cnt > PANO_ACTIONS_MAX)
		return fault(f, ERR_LIMIT_ACTIONS, "actions", -1, NULL,
		    PANO_ACTIONS_MAX);
	if (cnt == 0)
		return fault(f, e, "actions", -1, R_LENGTH, PANO_ACTIONS_MAX);
	/* Room for every issue id (a longer list is refused below). */
	cJSON_ArrayForEach(it, list)
		if ((ids = cJSON_GetObjectItemCaseSensitive(it, "issueIds")) !=
		    NULL && cJSON_IsArray(ids))
			room += (size_t)cJSON_GetArraySize(ids);
	if ((b->acts = calloc(cnt, sizeof(*b->acts))) == NULL ||
	    (b->ids = calloc(room ? room : 1, sizeof(*b->ids))) == NULL ||
	    (b->owner = calloc(room ? room : 1, sizeof(*b->owner))) == NULL) {
		pano_json_batch_free(b);
		return fault(f, ERR_INTERNAL, NULL, -1, NULL, -1);
	}
	i = 0;
	cJSON_ArrayForEach(it, list) {
		limit = -1;
		if ((why = action_parse(it, &b->acts[i], b->ids + b->nids,
		    &field, &limit)) != NULL) {
			pano_json_batch_free(b);
			return fault(f, e, field, (long long)i, why, limit);
		}
		for (k = 0; k < b->acts[i].nissues; k++)
			b->owner[b->nids + k] = i;
		b->nids += b->acts[i].nissues;
		if (b->acts[i].op == PANO_OP_ADD)
			b->nodes += b->acts[i].nissues;
		else if (b->acts[i].op == PANO_OP_ADD_FOLDER)
			b->nodes++;
		i++;
	}
	b->n = cnt;
	return ERR_OK;
}

/*
 * Access entry o into a (target pointing into the tree); NULL or the
 * reason with *field.
 */
static const char *
access_parse(const cJSON *o, struct pano_access *a, const char **target,
    const char **field)
{
	static const char *const members[] = { "grantee", "id", "level",
	    NULL };
	const cJSON	*v;
	const char	*word, *why;

	*field = "entries";
	if ((why = object_check(o, members)) != NULL)
		return why;
	*field = "grantee";
	if ((v = cJSON_GetObjectItemCaseSensitive(o, "grantee")) == NULL)
		return R_MISSING;
	if (!cJSON_IsString(v))
		return R_TYPE;
	if (pano_grantee_parse(v->valuestring, &a->grantee) == -1)
		return R_FORMAT;
	*field = "id";
	v = cJSON_GetObjectItemCaseSensitive(o, "id");
	*target = "";
	if (a->grantee == PANO_GRANT_EVERYONE) {
		if (v != NULL)
			return R_UNKNOWN;
	} else if (v == NULL)
		return R_MISSING;
	else if (!cJSON_IsString(v))
		return R_TYPE;
	else if (!perm_id_ok(v->valuestring))
		return R_FORMAT;
	else
		*target = v->valuestring;
	*field = "level";
	if ((v = cJSON_GetObjectItemCaseSensitive(o, "level")) == NULL)
		return R_MISSING;
	if (!cJSON_IsString(v))
		return R_TYPE;
	word = v->valuestring;
	if (pano_level_parse(word, &a->level) == -1 ||
	    (a->level != PANO_LEVEL_VIEW && a->level != PANO_LEVEL_EDIT))
		return R_FORMAT;
	return NULL;
}

enum err
pano_json_access(const cJSON *body, struct pano_access **out, size_t *n,
    struct pano_json_fault *f)
{
	static const char *const members[] = { "entries", NULL };
	struct pano_access *all = NULL;
	const cJSON	*list, *it;
	const char	*why, *field, *target;
	size_t		 cnt, i = 0, k;
	enum err	 e = ERR_UNPROCESSABLE;

	*out = NULL;
	*n = 0;
	if ((why = object_check(body, members)) != NULL)
		return fault(f, e, NULL, -1, why, -1);
	if ((why = array_get(body, "entries", &list)) != NULL)
		return fault(f, e, "entries", -1, why, -1);
	cnt = (size_t)cJSON_GetArraySize(list);
	if (cnt > PANO_ACCESS_MAX)
		return fault(f, e, "entries", -1, R_LENGTH, PANO_ACCESS_MAX);
	if ((all = calloc(cnt ? cnt : 1, sizeof(*all))) == NULL)
		return fault(f, ERR_INTERNAL, NULL, -1, NULL, -1);
	cJSON_ArrayForEach(it, list) {
		if ((why = access_parse(it, &all[i], &target, &field)) !=
		    NULL) {
			e = fault(f, e, field, (long long)i, why, -1);
			goto fail;
		}
		for (k = 0; k < i; k++)
			if (all[k].grantee == all[i].grantee &&
			    strcmp(all[k].target, target) == 0) {
				e = fault(f, e, "entries", (long long)i,
				    R_DUPLICATE, -1);
				goto fail;
			}
		if ((all[i].target = strdup(target)) == NULL) {
			e = fault(f, ERR_INTERNAL, NULL, -1, NULL, -1);
			goto fail;
		}
		i++;
	}
	*out = all;
	*n = i;
	return ERR_OK;
fail:
	pano_access_free(all, i);
	return e;
}

/*
 * Import row o (after a row at prev_depth; -1 for the first) into row.
 * NULL, or the reason: the row as a whole is at fault ("rows"), so the
 * reason says which part: restricted (an export's row for an issue
 * hidden from its maker), depth, kind, issue_id, title, unknown_member,
 * type (no object).  *nomem set when a copy failed.
 */
static const char *
row_parse(const cJSON *o, long long prev_depth, struct pano_row *row,
    int *nomem)
{
	static const char *const members[] = { "depth", "kind", "issueId",
	    "title", "restricted", NULL };
	const cJSON	*kind, *issue, *title;
	const char	*text, *why;

	*nomem = 0;
	if ((why = object_check(o, members)) != NULL)
		return why;
	if (cJSON_GetObjectItemCaseSensitive(o, "restricted") != NULL)
		return R_RESTRICTED;
	if (json_get_int(o, "depth", 0, prev_depth + 1, &row->depth) !=
	    JSON_OK)
		return R_DEPTH;
	kind = cJSON_GetObjectItemCaseSensitive(o, "kind");
	issue = cJSON_GetObjectItemCaseSensitive(o, "issueId");
	title = cJSON_GetObjectItemCaseSensitive(o, "title");
	if (!cJSON_IsString(kind))
		return "kind";
	if (strcmp(kind->valuestring, pano_kind_name(PANO_ISSUE)) == 0) {
		row->kind = PANO_ISSUE;
		if (title != NULL)
			return R_UNKNOWN;
		if (!cJSON_IsString(issue) ||
		    pano_json_id_parse(issue->valuestring, &row->issue) == -1)
			return "issue_id";
		return NULL;
	}
	if (strcmp(kind->valuestring, pano_kind_name(PANO_FOLDER)) != 0)
		return "kind";
	row->kind = PANO_FOLDER;
	if (issue != NULL)
		return R_UNKNOWN;
	if (text_get(o, "title", 1, PANO_TITLE_MAX, 1, &text) != NULL)
		return "title";
	if ((row->title = strdup(text)) == NULL)
		*nomem = 1;
	return NULL;
}

enum err
pano_json_import(const cJSON *body, long long nodes_max, struct pano *p,
    struct pano_row **rows, size_t *n, struct pano_json_fault *f)
{
	static const char *const members[] = { "format", "formatVersion",
	    "name", "description", "rows", NULL };
	struct pano_row	*all = NULL;
	const cJSON	*list, *it, *v;
	const char	*why, *name = NULL, *desc = "";
	long long	 prev = -1, ver;
	size_t		 cnt, i = 0;
	enum err	 e = ERR_UNPROCESSABLE;
	int		 nomem;

	*rows = NULL;
	*n = 0;
	p->name = p->description = NULL;
	if ((why = object_check(body, members)) != NULL)
		return fault(f, e, NULL, -1, why, -1);
	/* The envelope, when there: only what this version writes. */
	v = cJSON_GetObjectItemCaseSensitive(body, "format");
	if (v != NULL && (!cJSON_IsString(v) ||
	    strcmp(v->valuestring, EXPORT_FORMAT) != 0))
		return fault(f, e, "format", -1, R_FORMAT, -1);
	if (cJSON_GetObjectItemCaseSensitive(body, "formatVersion") != NULL &&
	    (json_get_int(body, "formatVersion", 1, JSON_INT_MAX, &ver) !=
	    JSON_OK || ver != EXPORT_VERSION))
		return fault(f, e, "formatVersion", -1, R_FORMAT, -1);
	if (names_get(body, 0, &name, &desc, f) != ERR_OK)
		return e;
	if ((why = array_get(body, "rows", &list)) != NULL)
		return fault(f, e, "rows", -1, why, -1);
	cnt = (size_t)cJSON_GetArraySize(list);
	if ((long long)cnt > nodes_max)
		return fault(f, ERR_LIMIT_NODES, "rows", -1, NULL, nodes_max);
	if ((all = calloc(cnt ? cnt : 1, sizeof(*all))) == NULL)
		return fault(f, ERR_INTERNAL, NULL, -1, NULL, -1);
	cJSON_ArrayForEach(it, list) {
		why = row_parse(it, prev, &all[i], &nomem);
		prev = all[i++].depth;
		if (nomem) {
			e = fault(f, ERR_INTERNAL, NULL, -1, NULL, -1);
			goto fail;
		}
		if (why != NULL) {
			e = fault(f, e, "rows", (long long)i - 1, why, -1);
			goto fail;
		}
	}
	if ((p->name = strdup(name)) == NULL ||
	    (p->description = strdup(desc)) == NULL) {
		e = fault(f, ERR_INTERNAL, NULL, -1, NULL, -1);
		goto fail;
	}
	*rows = all;
	*n = cnt;
	return ERR_OK;
fail:
	free(p->name);
	free(p->description);
	p->name = p->description = NULL;
	pano_rows_free(all, i);
	return e;
}

void
pano_json_write(struct jw *w, const struct pano *p, int can_edit,
    int can_manage)
{
	char	 when[21];

	jw_begin_object(w, NULL);
	pano_json_id(w, "id", p->id);
	jw_string(w, "name", p->name);
	jw_string(w, "description", p->description != NULL ?
	    p->description : "");
	/* Owned by the site since its owner's account closed: admins'. */
	if (strcmp(p->owner, ACCOUNTS_TENANT_MARKER) == 0)
		jw_null(w, "owner");
	else
		jw_string(w, "owner", p->owner);
	jw_int(w, "version", p->version);
	jw_int(w, "nodes", p->nodes);
	util_iso8601(when, p->created_at);
	jw_string(w, "createdAt", when);
	util_iso8601(when, p->updated_at);
	jw_string(w, "updatedAt", when);
	jw_bool(w, "canEdit", can_edit);
	jw_bool(w, "canManage", can_manage);
	jw_end_object(w);
}

void
pano_json_row(struct jw *w, const struct pano_row *r, int with_node,
    int restricted)
{
	jw_begin_object(w, NULL);
	if (with_node)
		pano_json_id(w, "node", r->node);
	jw_int(w, "depth", r->depth);
	jw_string(w, "kind", pano_kind_name(r->kind));
	if (r->kind == PANO_FOLDER)
		jw_string(w, "title", r->title != NULL ? r->title : "");
	else if (restricted)
		jw_bool(w, "restricted", 1);
	else
		pano_json_id(w, "issueId", r->issue);
	jw_end_object(w);
}

void
pano_json_access_write(struct jw *w, const struct pano_access *a, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		jw_begin_object(w, NULL);
		jw_string(w, "grantee", pano_grantee_name(a[i].grantee));
		if (a[i].grantee != PANO_GRANT_EVERYONE)
			jw_string(w, "id", a[i].target);
		jw_string(w, "level", pano_level_name(a[i].level));
		jw_end_object(w);
	}
}

void
pano_json_next(struct jw *w, const char *next)
{
	if (next != NULL)
		jw_string(w, "next", next);
	else
		jw_null(w, "next");
}

char *
pano_json_cursor(const long long *v, size_t n)
{
	cJSON	*a;
	char	*out = NULL;
	size_t	 i;

	if ((a = cJSON_CreateArray()) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateNumber((double)v[i]));
	if ((size_t)cJSON_GetArraySize(a) == n)
		out = api_cursor_make(a);
	cJSON_Delete(a);
	return out;
}

/* Element i of cursor array a as an integer in [0, JSON_INT_MAX]. */
static int
cursor_int(const cJSON *a, int i, long long *v)
{
	const cJSON	*x = cJSON_GetArrayItem(a, i);

	if (!cJSON_IsNumber(x) || x->valuedouble < 0 ||
	    x->valuedouble > (double)JSON_INT_MAX ||
	    x->valuedouble != (double)(long long)x->valuedouble)
		return -1;
	*v = (long long)x->valuedouble;
	return 0;
}

int
pano_json_cursor_parse(const char *s, long long *v, size_t n)
{
	cJSON	*a;
	size_t	 i;
	int	 rc = -1;

	if ((a = api_cursor_parse(s)) == NULL)
		return -1;
	if ((size_t)cJSON_GetArraySize(a) != n)
		goto out;
	for (i = 0; i < n; i++)
		if (cursor_int(a, (int)i, &v[i]) == -1)
			goto out;
	rc = 0;
out:
	cJSON_Delete(a);
	return rc;
}

/* The listing's cursor: [name, id]. */
char *
pano_json_list_cursor(const char *name, long long id)
{
	cJSON	*a;
	char	*out = NULL;

	if ((a = cJSON_CreateArray()) == NULL)
		return NULL;
	cJSON_AddItemToArray(a, cJSON_CreateString(name));
	cJSON_AddItemToArray(a, cJSON_CreateNumber((double)id));
	if (cJSON_GetArraySize(a) == 2)
		out = api_cursor_make(a);
	cJSON_Delete(a);
	return out;
}

int
pano_json_list_cursor_parse(const char *s, char **name, long long *id)
{
	cJSON		*a;
	const cJSON	*x;
	int		 rc = -1;

	*name = NULL;
	if ((a = api_cursor_parse(s)) == NULL)
		return -1;
	x = cJSON_GetArrayItem(a, 0);
	if (cJSON_GetArraySize(a) != 2 || !cJSON_IsString(x) ||
	    cursor_int(a, 1, id) == -1 || *id < 1 ||
	    (*name = strdup(x->valuestring)) == NULL)
		goto out;
	rc = 0;
out:
	cJSON_Delete(a);
	return rc;
}

/* A history id: a canonical id string or an integer; 0, or -1. */
static int
what_id(const cJSON *v, long long *id)
{
	if (cJSON_IsString(v))
		return pano_json_id_parse(v->valuestring, id);
	if (cJSON_IsNumber(v) && v->valuedouble >= 1 &&
	    v->valuedouble <= (double)JSON_INT_MAX &&
	    v->valuedouble == (double)(long long)v->valuedouble) {
		*id = (long long)v->valuedouble;
		return 0;
	}
	return -1;
}

/* Appends id to *ids; 0, or -1 on no memory. */
static int
ids_push(long long **ids, size_t *n, size_t *cap, long long id)
{
	long long	*p;
	size_t		 ncap;

	if (*n == *cap) {
		ncap = *cap ? *cap * 2 : 64;
		if ((p = reallocarray(*ids, ncap, sizeof(**ids))) == NULL)
			return -1;
		*ids = p;
		*cap = ncap;
	}
	(*ids)[(*n)++] = id;
	return 0;
}

/*
 * Every issue id under v: the elements of "issueIds" arrays and the
 * values of "issueId" members, at any depth (a parsed tree is at most
 * JSON_MAX_DEPTH deep).
 */
static int
what_walk(const cJSON *v, long long **ids, size_t *n, size_t *cap)
{
	const cJSON	*c, *x;
	long long	 id;

	cJSON_ArrayForEach(c, v) {
		if (c->string != NULL && strcmp(c->string, "issueIds") == 0 &&
		    cJSON_IsArray(c)) {
			cJSON_ArrayForEach(x, c)
				if (what_id(x, &id) == 0 &&
				    ids_push(ids, n, cap, id) == -1)
					return -1;
		} else if (c->string != NULL &&
		    strcmp(c->string, "issueId") == 0) {
			if (what_id(c, &id) == 0 &&
			    ids_push(ids, n, cap, id) == -1)
				return -1;
		} else if ((cJSON_IsObject(c) || cJSON_IsArray(c)) &&
		    what_walk(c, ids, n, cap) == -1)
			return -1;
	}
	return 0;
}

int
pano_json_what_issues(const char *what, long long **ids, size_t *n,
    size_t *cap)
{
	cJSON	*o = NULL;
	int	 rc;

	if (json_parse(what, strlen(what), &o) != JSON_OK)
		return 0;
	rc = what_walk(o, ids, n, cap);
	cJSON_Delete(o);
	return rc;
}

/* Item x of parent (key NULL: an array) as id spelled as a string. */
static int
id_string(cJSON *parent, const char *key, cJSON *x, long long id)
{
	char	 buf[24];
	cJSON	*s;

	if (cJSON_IsString(x))
		return 0;
	snprintf(buf, sizeof(buf), "%lld", id);
	if ((s = cJSON_CreateString(buf)) == NULL)
		return -1;
	if (key != NULL)
		return cJSON_ReplaceItemInObjectCaseSensitive(parent, key, s) ?
		    0 : -1;
	return cJSON_ReplaceItemViaPointer(parent, x, s) ? 0 : -1;
}

/*
 * Takes the issues visible() refuses out of v: from "issueIds" arrays,
 * and an "issueId" member gives way to "restricted": true.  The ids
 * left are written as the wire spells them, strings; a "parent" or
 * "after" of "0" (the library's top level, first place) as null.
 */
static int
what_filter(cJSON *v, int (*visible)(void *, long long), void *ctx)
{
	cJSON		*c, *next, *x, *nx;
	long long	 id;
	int		 restricted = 0;

	for (c = v->child; c != NULL; c = next) {
		next = c->next;
		if (c->string != NULL && strcmp(c->string, "issueIds") == 0 &&
		    cJSON_IsArray(c)) {
			for (x = c->child; x != NULL; x = nx) {
				nx = x->next;
				if (what_id(x, &id) == 0 && visible(ctx, id)) {
					if (id_string(c, NULL, x, id) == -1)
						return -1;
				} else
					cJSON_Delete(cJSON_DetachItemViaPointer(
					    c, x));
			}
		} else if (c->string != NULL &&
		    strcmp(c->string, "issueId") == 0) {
			if (what_id(c, &id) == 0 && visible(ctx, id)) {
				if (id_string(v, "issueId", c, id) == -1)
					return -1;
			} else {
				cJSON_Delete(cJSON_DetachItemViaPointer(v, c));
				restricted = 1;
			}
		} else if (c->string != NULL && (strcmp(c->string,
		    "parent") == 0 || strcmp(c->string, "after") == 0) &&
		    cJSON_IsString(c) && strcmp(c->valuestring, "0") == 0) {
			/* The top level, the first place: null, as sent. */
			if (!cJSON_ReplaceItemInObjectCaseSensitive(v, c->string,
			    cJSON_CreateNull()))
				return -1;
		} else if ((cJSON_IsObject(c) || cJSON_IsArray(c)) &&
		    what_filter(c, visible, ctx) == -1)
			return -1;
	}
	if (restricted && cJSON_AddTrueToObject(v, "restricted") == NULL)
		return -1;
	return 0;
}

void
pano_json_batch_write(struct jw *w, const struct pano_batch *b,
    int (*visible)(void *ctx, long long issue), void *ctx)
{
	cJSON	*o = NULL, *acts;
	char	 when[21], *text = NULL;

	jw_begin_object(w, NULL);
	pano_json_id(w, "id", b->id);
	jw_int(w, "version", b->version);
	if (b->actor != NULL)
		jw_string(w, "actor", b->actor);
	else
		jw_null(w, "actor");
	jw_string(w, "kind", b->kind);
	util_iso8601(when, b->at);
	jw_string(w, "at", when);
	jw_bool(w, "undone", b->undone);
	if (b->undo_of > 0)
		pano_json_id(w, "undoOf", b->undo_of);
	/* What pano.c wrote: ids only; a what that does not read: none. */
	if (b->what != NULL && json_parse(b->what, strlen(b->what), &o) ==
	    JSON_OK && cJSON_IsArray(acts =
	    cJSON_GetObjectItemCaseSensitive(o, "actions")) &&
	    what_filter(acts, visible, ctx) == 0 &&
	    (text = cJSON_PrintUnformatted(acts)) != NULL)
		jw_raw(w, "actions", text, strlen(text));
	else {
		jw_begin_array(w, "actions");
		jw_end_array(w);
	}
	free(text);
	cJSON_Delete(o);
	jw_end_object(w);
}
