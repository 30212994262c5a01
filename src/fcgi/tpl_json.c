/*
 * Templates in and out of JSON; see tpl_json.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cellar/util.h"
#include "api.h"
#include "perm.h"
#include "tpl_json.h"

/* Bounds of the optional position field. */
#define POSITION_MAX	1000000LL

/* What each scope takes as its targets. */
static const struct scope_rule {
	const char	*list;		/* JSON member; NULL: none */
	size_t		 max;		/* most entries */
	enum err	 limit;		/* the error for 0 or too many */
	int		(*id_ok)(const char *);
	int		 numbers;	/* integers accepted too */
} scope_rules[SCOPE__MAX] = {
	[SCOPE_PERSONAL] = { NULL, 0, ERR_UNPROCESSABLE, NULL, 0 },
	[SCOPE_PROJECTS] = { "projects", TPL_PROJECTS_MAX, ERR_LIMIT_PROJECTS,
	    api_project_id_ok, 1 },
	[SCOPE_GROUPS] = { "groups", TPL_GROUPS_MAX, ERR_LIMIT_GROUPS,
	    perm_id_ok, 0 },
	[SCOPE_GLOBAL] = { NULL, 0, ERR_UNPROCESSABLE, NULL, 0 },
};

/* Every member that holds targets, whatever the scope. */
static const char *const target_lists[] = { "projects", "groups" };

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * One target as text: a string, or (where the scope takes them) an
 * integer written in num.  NULL if it is neither.
 */
static const char *
target_text(const cJSON *it, const struct scope_rule *rule, char *num,
    size_t numsz)
{
	if (cJSON_IsString(it))
		return it->valuestring;
	if (rule->numbers && cJSON_IsNumber(it) && it->valuedouble >= 1 &&
	    it->valuedouble < 1e15 && it->valuedouble ==
	    (double)(long long)it->valuedouble) {
		snprintf(num, numsz, "%lld", (long long)it->valuedouble);
		return num;
	}
	return NULL;
}

/* Exactly the target list t's scope needs, and no other. */
static enum err
targets_parse(const cJSON *o, struct tpl *t, const char **field)
{
	const struct scope_rule *rule = &scope_rules[t->scope];
	const cJSON	*a, *it;
	const char	*s;
	char		 num[24];
	size_t		 i, j, n;

	for (i = 0; i < sizeof(target_lists) / sizeof(target_lists[0]); i++)
		if ((rule->list == NULL ||
		    strcmp(rule->list, target_lists[i]) != 0) &&
		    cJSON_GetObjectItemCaseSensitive(o, target_lists[i]) !=
		    NULL) {
			*field = target_lists[i];
			return ERR_UNPROCESSABLE;
		}
	if (rule->list == NULL)
		return ERR_OK;
	*field = rule->list;
	a = cJSON_GetObjectItemCaseSensitive(o, rule->list);
	if (!cJSON_IsArray(a))
		return ERR_UNPROCESSABLE;
	n = (size_t)cJSON_GetArraySize(a);
	if (n < 1 || n > rule->max)
		return rule->limit;
	if ((t->targets = calloc(n, sizeof(char *))) == NULL)
		return ERR_INTERNAL;
	cJSON_ArrayForEach(it, a) {
		if ((s = target_text(it, rule, num, sizeof(num))) == NULL ||
		    !rule->id_ok(s))
			return ERR_UNPROCESSABLE;
		for (j = 0; j < t->ntargets; j++)
			if (strcmp(t->targets[j], s) == 0)
				return ERR_UNPROCESSABLE;
		if ((t->targets[t->ntargets] = strdup(s)) == NULL)
			return ERR_INTERNAL;
		t->ntargets++;
	}
	/* Stored (and shown) in their primary key's order. */
	if (t->ntargets > 1)
		qsort(t->targets, t->ntargets, sizeof(char *), str_cmp);
	return ERR_OK;
}

/* 1 if s holds nothing but ASCII spaces and tabs. */
static int
blank(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s != ' ' && *s != '\t')
			return 0;
	return 1;
}

/*
 * A text field of 1 to max characters (UTF-8, at most 4 bytes each):
 * limit when too long, ERR_UNPROCESSABLE otherwise wrong (a printable
 * field, a name, must also show something: not only spaces).
 */
static enum err
text_parse(const cJSON *o, const char *key, size_t max, int printable,
    enum err limit, char **out)
{
	const char		*s;
	enum json_status	 st;

	if ((st = json_get_str(o, key, 1, max * 4, &s)) == JSON_RANGE)
		return limit;
	if (st != JSON_OK)
		return ERR_UNPROCESSABLE;
	if (util_utf8_chars(s) > max)
		return limit;
	if (printable && (!util_printable(s) || blank(s)))
		return ERR_UNPROCESSABLE;
	if ((*out = strdup(s)) == NULL)
		return ERR_INTERNAL;
	return ERR_OK;
}

/* The fields after name and body, in order; ERR_OK or the first bad. */
static enum err
fields_parse(const cJSON *o, struct tpl *t, const char **field)
{
	const char		*s;
	enum json_status	 st;
	int			 b;

	*field = "scope";
	if (json_get_str(o, "scope", 1, 16, &s) != JSON_OK ||
	    tpl_scope_parse(s, &t->scope) == -1)
		return ERR_UNPROCESSABLE;
	*field = "position";
	st = json_get_int(o, "position", -POSITION_MAX, POSITION_MAX,
	    &t->position);
	if (st != JSON_OK && st != JSON_MISSING)
		return ERR_UNPROCESSABLE;
	*field = "active";
	t->active = 1;
	if ((st = json_get_bool(o, "active", &b)) == JSON_OK)
		t->active = b;
	else if (st != JSON_MISSING)
		return ERR_UNPROCESSABLE;
	return targets_parse(o, t, field);
}

enum err
tpl_json_parse(const cJSON *o, struct tpl *t, const char **field)
{
	enum err	 e;

	memset(t, 0, sizeof(*t));
	/* Not an object: no field of it is at fault, the whole is. */
	*field = NULL;
	if (!cJSON_IsObject(o))
		return ERR_UNPROCESSABLE;
	*field = "name";
	if ((e = text_parse(o, "name", TPL_NAME_MAX, 1, ERR_LIMIT_NAME,
	    &t->name)) != ERR_OK)
		goto out;
	*field = "body";
	if ((e = text_parse(o, "body", TPL_BODY_MAX, 0, ERR_LIMIT_BODY,
	    &t->body)) != ERR_OK)
		goto out;
	if ((e = fields_parse(o, t, field)) != ERR_OK)
		goto out;
	*field = NULL;
out:
	if (e != ERR_OK)
		tpl_free(t);
	return e;
}

void
tpl_json_write(struct jw *w, const struct tpl *t, enum tpl_form form,
    int can_edit)
{
	const struct scope_rule *rule = &scope_rules[t->scope];
	char	 when[21];
	size_t	 i;

	jw_begin_object(w, NULL);
	jw_int(w, "id", t->id);
	jw_string(w, "name", t->name);
	jw_string(w, "body", t->body);
	jw_string(w, "scope", tpl_scope_name(t->scope));
	if (rule->list != NULL) {
		jw_begin_array(w, rule->list);
		for (i = 0; i < t->ntargets; i++)
			jw_string(w, NULL, t->targets[i]);
		jw_end_array(w);
	}
	jw_int(w, "position", t->position);
	jw_bool(w, "active", t->active);
	if (form == TPL_FORM_API) {
		jw_int(w, "version", t->version);
		util_iso8601(when, t->created_at);
		jw_string(w, "createdAt", when);
		util_iso8601(when, t->updated_at);
		jw_string(w, "updatedAt", when);
		jw_begin_object(w, "usage");
		jw_int(w, "last30Days", t->used30);
		jw_int(w, "postedLast30Days", t->posted30);
		jw_end_object(w);
		jw_bool(w, "canEdit", can_edit);
	}
	jw_end_object(w);
}

/* Cursors: [position, used30, id, name]. */
char *
tpl_json_cursor_at(const struct tpl_cursor *c)
{
	cJSON	*a;
	char	*out = NULL;

	if ((a = cJSON_CreateArray()) == NULL)
		return NULL;
	cJSON_AddItemToArray(a, cJSON_CreateNumber((double)c->position));
	cJSON_AddItemToArray(a, cJSON_CreateNumber((double)c->used30));
	cJSON_AddItemToArray(a, cJSON_CreateNumber((double)c->id));
	cJSON_AddItemToArray(a, cJSON_CreateString(c->name));
	if (cJSON_GetArraySize(a) == 4)
		out = api_cursor_make(a);
	cJSON_Delete(a);
	return out;
}

char *
tpl_json_cursor(const struct tpl *t)
{
	struct tpl_cursor c = { t->position, t->used30, t->name, t->id, 1 };

	return tpl_json_cursor_at(&c);
}

int
tpl_json_cursor_parse(const char *s, struct tpl_cursor *c)
{
	cJSON		*a;
	const cJSON	*x;
	double		 v[3];
	int		 i, rc = -1;

	memset(c, 0, sizeof(*c));
	if ((a = api_cursor_parse(s)) == NULL)
		return -1;
	if (cJSON_GetArraySize(a) != 4)
		goto out;
	for (i = 0; i < 3; i++) {
		x = cJSON_GetArrayItem(a, i);
		if (!cJSON_IsNumber(x) || x->valuedouble < -1e15 ||
		    x->valuedouble > 1e15)
			goto out;
		v[i] = x->valuedouble;
	}
	x = cJSON_GetArrayItem(a, 3);
	if (!cJSON_IsString(x) || (c->name = strdup(x->valuestring)) == NULL)
		goto out;
	c->position = (long long)v[0];
	c->used30 = (long long)v[1];
	c->id = (long long)v[2];
	c->set = 1;
	rc = 0;
out:
	cJSON_Delete(a);
	return rc;
}
