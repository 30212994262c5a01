/*
 * What the canned-response route files share: route_templates.c (the
 * policy: who may see and change what; single templates, render, uses),
 * route_templates_list.c (the listings) and route_templates_io.c
 * (export, import).
 */
#ifndef CELLAR_FCGI_TEMPLATES_H
#define CELLAR_FCGI_TEMPLATES_H

#include <stddef.h>

#include "cellar/err.h"

struct reply;
struct req;
struct tenantdb;
struct tpl;
struct tpl_cursor;
struct tpl_limits;

/* A cursor carries a name of up to 120 characters (480 bytes). */
#define CURSOR_MAX	2048
/* Templates judged at a time by listings that filter what they read. */
#define SCAN_CHUNK	100

/*
 * May the caller manage t?  ERR_OK, ERR_FORBIDDEN, ERR_NOT_FOUND
 * (another's personal template), or ERR_UNAVAILABLE when only Jira could
 * tell.
 */
enum err	 templates_may_manage(struct req *, const struct tpl *t);

/* Whether the caller may change t; unknown (Jira down) counts as no. */
int		 templates_can_edit(struct req *, const struct tpl *t);

/*
 * Before ts[0..n) are judged with templates_may_manage: one question
 * about admin rights, and (for a caller who is not a Jira admin) one
 * batched question about the projects of the projects templates, so
 * that judging them asks Jira nothing more.  ERR_UNAVAILABLE when Jira
 * cannot answer.
 */
enum err	 templates_prefetch(struct req *, const struct tpl *ts,
		    size_t n);

/*
 * The project the caller works in: the token's context project, else
 * projectId (if given) once Jira confirms the caller may browse it,
 * copied into buf (bufsz bytes); *project NULL when there is none.
 * ERR_BAD_REQUEST for a malformed projectId, ERR_UNAVAILABLE if Jira is
 * down.
 */
enum err	 templates_caller_project(struct req *, char *buf,
		    size_t bufsz, const char **project);

/*
 * A refused request field (a constant name, never its value): logged
 * with reason template_invalid and named in the reply with the import
 * row index (-1: none); returns e.
 */
enum err	 templates_field_error(struct req *, struct reply *,
		    enum err e, const char *field, long long index);

/* The limits a change must keep: 2,000 shared, [templates] personal_max. */
void		 templates_limits(const struct req *, struct tpl_limits *);

/* Names in the reply the limit an ERR_LIMIT_* error met; returns e. */
enum err	 templates_limit_detail(struct reply *, enum err e,
		    const struct tpl_limits *);

/* Moves c to just after t in the list order; 0, or -1 on no memory. */
int		 templates_cursor_after(struct tpl_cursor *c,
		    const struct tpl *t);

/*
 * The templates the caller manages, in list order after c, at least
 * want of them unless there are no more (up to SCAN_CHUNK - 1 more),
 * read whole; c left after the last one judged.  *out (free with
 * tpl_list_free) holds *n.  Jira down: with degraded NULL,
 * ERR_UNAVAILABLE; else what only Jira could judge is left out and
 * *degraded set.  (route_templates_list.c says how.)
 */
enum err	 templates_managed_scan(struct req *, struct tenantdb *,
		    const char *q, int active, struct tpl_cursor *c,
		    size_t want, int *degraded, struct tpl **out, size_t *n);

#endif
