/*
 * What the panorama route files share: route_panoramas.c (the policy:
 * the gate, who may view, edit and manage a panorama, which issues a
 * caller may see; single panoramas, listings, access, export, import)
 * and route_panoramas_tree.c (tree, actions, history, undo, the
 * issue-deleted webhook).
 */
#ifndef CELLAR_FCGI_PANORAMAS_H
#define CELLAR_FCGI_PANORAMAS_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "cellar/err.h"

struct pano;
struct pano_json_fault;
struct pano_limits;
struct pano_row;
struct pano_viewer;
struct reply;
struct req;
struct tenantdb;

/* The module key of the app's global permission (the descriptor's). */
#define PANORAMAS_PERMISSION	"use-panoramas"

/* What a caller may do with one panorama, each level holding the last. */
enum pano_right {
	PANO_RIGHT_NONE = 0,
	PANO_RIGHT_VIEW,	/* a view entry */
	PANO_RIGHT_EDIT,	/* an edit entry */
	PANO_RIGHT_MANAGE,	/* owner, Jira admin */
	PANO_RIGHT__MAX
};

/*
 * The gate of every panorama route: a caller with an account id who
 * holds the app's global permission.  ERR_OK, ERR_FORBIDDEN (logged),
 * or ERR_UNAVAILABLE when Jira cannot tell and nothing is cached.
 */
enum err	 panoramas_gate(struct req *);

/*
 * Through the gate, panorama {id} of the path into *p (free with
 * pano_free) if the caller holds need on it, their right in *have
 * (may be NULL).  One they may not view, or none: 404 (503 while
 * the tenant's Jira is down, so that the two cannot be told apart);
 * one they view but may not use so: 403.
 */
enum err	 panoramas_load(struct req *, enum pano_right need,
		    struct tenantdb **, struct pano *p, enum pano_right *have);

/*
 * The caller's right on p: owner or Jira admin manage; else the access
 * entries (groups asked of Jira only when an entry names a group).
 * ERR_UNAVAILABLE when only Jira could tell.
 */
enum err	 panoramas_right(struct req *, struct tenantdb *,
		    const struct pano *p, enum pano_right *right);

/*
 * Who the caller is for a listing (account, groups, admin); *groups
 * (free it) holds the group list v points to.
 */
enum err	 panoramas_viewer(struct req *, struct pano_viewer *v,
		    char **groups);

/* The limits of a change: [panoramas] nodes_max, per_tenant_max. */
void		 panoramas_limits(const struct req *, struct pano_limits *);

/*
 * A refused body (what pano_json found) into the reply and the log;
 * returns e.
 */
enum err	 panoramas_fault(struct req *, struct reply *, enum err e,
		    const struct pano_json_fault *f);

/*
 * Which of rows[0..n)'s issues the caller may not browse: *hidden
 * (malloc'd, n bytes and at least 1: free it) holds 1 for such an issue
 * row, 0 for the others and for folders.  ERR_UNAVAILABLE when Jira
 * must answer and cannot; on any error *hidden is NULL.
 */
enum err	 panoramas_hide(struct req *, const struct pano_row *rows,
		    size_t n, unsigned char **hidden);

/*
 * Replies status with p as the API shows it, with the caller's right
 * (canEdit, canManage).
 */
enum err	 panoramas_reply(struct reply *, int status,
		    const struct pano *p, enum pano_right right);

/* A query parameter that is no positive integer up to max: -1. */
int		 panoramas_param_int(const struct req *, const char *name,
		    long long min, long long max, long long def,
		    long long *out);

/*
 * An issue is gone (Jira's jira:issue_deleted webhook, Forge's
 * avi:jira:deleted:issue event): its nodes go from every panorama of
 * the tenant, the children of each moved up (pano_issue_deleted).
 * body holds the issue's id as issue.id (a string of digits or an
 * integer); nothing else of it is read, kept or logged.  ERR_OK, also
 * when no panorama showed it (deliveries repeat); ERR_BAD_REQUEST
 * without an id; the store's errors.
 */
enum err	 panoramas_issue_deleted(struct req *, const cJSON *body);

/* A bad query parameter: named in the reply and the log; 400. */
enum err	 panoramas_param_error(struct req *, struct reply *,
		    const char *name);

#endif
