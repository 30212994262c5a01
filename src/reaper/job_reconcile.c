/*
 * reconcile: the nodes of Jira issues that no longer exist are removed
 * from the panoramas.  Jira sends a webhook for each deleted issue
 * (POST /webhooks/issue-deleted), but none when a whole project is
 * deleted, and a webhook can be lost; so once a day each installed
 * tenant's Jira is asked, as the app, which of the issue ids its
 * panoramas show still exist.  Per tenant (installed, not held, with at
 * least one issue node; a disabled app's tenant too: its enabled flag
 * hangs on a lifecycle callback that can be lost as a webhook can, and
 * a Jira refusing the call says so in the log):
 *
 *  1. pano_issue_ids: every distinct issue id, from one read.
 *  2. POST /rest/api/3/issue/bulkfetch {"issueIdsOrKeys": [ids as
 *     strings], "fields": ["id"]}, RECONCILE_CHUNK ids a call.  An id
 *     missing from "issues" of a well-formed 200 reply is gone.  Any
 *     other answer (a status but 200, no answer in time, a body that is
 *     not the expected shape, an issue we did not ask about) stops the
 *     tenant at once, nothing changed: one timeout at most per tenant,
 *     never a retry.  The tenant counts as failed.
 *  3. The brake: more than [panoramas] reconcile_max_percent % of the
 *     tenant's ids, and more than RECONCILE_BRAKE_MIN, look gone: nothing
 *     changes and the tenant counts as failed (the app's user losing
 *     Browse rights, or an issue security level, looks the same as a
 *     deleted project; the operator looks, and may raise the percentage
 *     to 100 for a run to let it through).
 *  4. pano_issue_deleted for each gone id: its own small transaction,
 *     idempotent (an id whose nodes are gone already changes nothing),
 *     a batch of the system in each panorama touched.  A run killed
 *     between two of them leaves the others to the next run, which asks
 *     Jira again and finds the same ids gone.
 *
 * Logged: reason codes, tenant ids and counts; never an issue id, key
 * or any issue content.  --dry-run asks Jira and says, in counts, what
 * would be removed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cellar/buf.h"
#include "cellar/clock.h"
#include "cellar/conf.h"
#include "cellar/jira.h"
#include "cellar/json.h"
#include "cellar/log.h"
#include "cellar/pano.h"
#include "cellar/registry.h"
#include "cellar/tenantdb.h"
#include "cellar/util.h"
#include "reaper.h"

/* Ids per bulkfetch call: Jira's maximum. */
#define RECONCILE_CHUNK		100
/* The brake holds only when more ids than this look gone. */
#define RECONCILE_BRAKE_MIN	10
/* Digits of the largest issue id (PANO_ID_MAX). */
#define ISSUE_DIGITS_MAX	18

#define BULKFETCH		"/rest/api/3/issue/bulkfetch"

struct recon {
	struct reaper	*r;
	struct reaper_ids tenants_due;	/* to look at */
	size_t		 checked;	/* Jira answered for every id */
	size_t		 failed;
	size_t		 asked;		/* issue ids asked of Jira */
	size_t		 gone;		/* of those, gone */
	size_t		 removed;	/* nodes removed */
	size_t		 forge;		/* reached through Forge alone */
};

/* Why Jira's answer for a tenant was not taken; for the log. */
enum jira_fault {
	JF_NONE = 0,
	JF_UNREACHABLE,		/* no answer in time, or a redirect */
	JF_STATUS,		/* a status but 200 */
	JF_BODY,		/* not the shape of a bulkfetch reply */
	JF_UNASKED,		/* an issue we did not ask about */
	JF_INTERNAL,		/* our side: memory, signing */
	JF__MAX
};

static const char *const jira_fault_code[JF__MAX] = {
	[JF_NONE] = "none",
	[JF_UNREACHABLE] = "unreachable",
	[JF_STATUS] = "status",
	[JF_BODY] = "bad_reply",
	[JF_UNASKED] = "unasked_issue",
	[JF_INTERNAL] = "internal",
};

/* Installed and not held: a tenant whose Jira we ask. */
static int
askable(const struct tenant *t)
{
	return t->state == TENANT_INSTALLED && t->quarantined_at == 0;
}

static int
collect(const struct tenant *t, void *arg)
{
	struct recon	*c = arg;

	if (!askable(t))
		return 0;
	/*
	 * Reached through Forge alone: no shared secret to sign with, and
	 * Forge's app token lives only in a worker's memory.  Its deleted
	 * issues arrive as avi:jira:deleted:issue events instead.
	 */
	if (t->secret_sealed == NULL) {
		c->forge++;
		return 0;
	}
	return reaper_ids_add(&c->tenants_due, t->id);
}

/*
 * An issue id as Jira writes it: a string of 1..18 digits without a
 * leading zero, at most PANO_ID_MAX.  0 with *out, or -1.
 */
static int
issue_id_parse(const char *s, long long *out)
{
	size_t	 i;

	for (i = 0; s[i] != '\0'; i++)
		if (s[i] < '0' || s[i] > '9' || i >= ISSUE_DIGITS_MAX)
			return -1;
	if (i == 0 || s[0] == '0')
		return -1;
	return util_strtonum(s, 1, PANO_ID_MAX, out);
}

static int
cmp_id(const void *a, const void *b)
{
	long long	 x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

/* The request body for ids[0..n): ids as strings, only the id field. */
static char *
bulkfetch_body(const long long *ids, size_t n)
{
	struct jw	 w = JW_INIT;
	char		 num[24];
	size_t		 i;

	jw_begin_object(&w, NULL);
	jw_begin_array(&w, "issueIdsOrKeys");
	for (i = 0; i < n; i++) {
		snprintf(num, sizeof(num), "%lld", ids[i]);
		jw_string(&w, NULL, num);
	}
	jw_end_array(&w);
	jw_begin_array(&w, "fields");
	jw_string(&w, NULL, "id");
	jw_end_array(&w);
	jw_end_object(&w);
	return jw_finish(&w, NULL);
}

/*
 * Marks in found[0..n) the ids of ids[0..n) (ascending) that a 200
 * reply's body lists in "issues".  JF_NONE, JF_BODY or JF_UNASKED.
 * Other members ("issueErrors", each issue's "key" and "fields") are
 * not read.
 */
static enum jira_fault
bulkfetch_parse(const char *body, size_t len, const long long *ids,
    size_t n, char *found)
{
	const cJSON	*issues, *it;
	const char	*s;
	const long long	*hit;
	cJSON		*doc = NULL;
	long long	 id;
	enum jira_fault	 f = JF_BODY;

	if (json_parse(body, len, &doc) != JSON_OK || !cJSON_IsObject(doc))
		goto out;
	issues = cJSON_GetObjectItemCaseSensitive(doc, "issues");
	if (!cJSON_IsArray(issues))
		goto out;
	cJSON_ArrayForEach(it, issues) {
		if (!cJSON_IsObject(it) || json_get_str(it, "id", 1,
		    ISSUE_DIGITS_MAX, &s) != JSON_OK ||
		    issue_id_parse(s, &id) == -1)
			goto out;
		if ((hit = bsearch(&id, ids, n, sizeof(*ids), cmp_id)) ==
		    NULL) {
			f = JF_UNASKED;
			goto out;
		}
		found[hit - ids] = 1;
	}
	f = JF_NONE;
out:
	cJSON_Delete(doc);
	return f;
}

/*
 * Step 2: asks t's Jira about ids[0..n) (ascending), a chunk at a time,
 * marking in found[] those that exist.  JF_NONE when every chunk was
 * answered; else the fault of the first that was not (*status: its
 * HTTP status, 0 when there was none), and no further call is made.
 */
static enum jira_fault
ask_jira(struct reaper *r, const struct tenant *t, const long long *ids,
    size_t n, char *found, long *status)
{
	struct jira_reply jr;
	char		*body;
	size_t		 at, k;
	enum jira_fault	 f = JF_NONE;
	enum err	 e;

	*status = 0;
	for (at = 0; at < n && f == JF_NONE; at += k) {
		k = n - at < RECONCILE_CHUNK ? n - at : RECONCILE_CHUNK;
		if ((body = bulkfetch_body(ids + at, k)) == NULL)
			return JF_INTERNAL;
		e = jira_call(r->cfg, r->reg, t, METHOD_POST, BULKFETCH, body,
		    NULL, &jr);
		free(body);
		if (e != ERR_OK) {
			f = e == ERR_UNAVAILABLE ? JF_UNREACHABLE : JF_INTERNAL;
			break;
		}
		*status = jr.status;
		if (jr.status != 200)
			f = JF_STATUS;
		else
			f = bulkfetch_parse(jr.body, jr.len, ids + at, k,
			    found + at);
		jira_reply_free(&jr);
	}
	return f;
}

/* Step 4: the nodes of each gone id; 0, or -1 (logged). */
static int
remove_gone(struct recon *c, struct tenantdb *tdb, const char *id,
    const long long *ids, size_t n, const char *found, size_t *removed)
{
	size_t		 i, k;

	*removed = 0;
	for (i = 0; i < n; i++) {
		if (found[i])
			continue;
		if (pano_issue_deleted(tdb, ids[i], clock_now(), &k) !=
		    ERR_OK) {
			log_msg(LOGL_ERR, NULL, "job=reconcile tenant=%s "
			    "reason=reconcile_remove_failed", id);
			return -1;
		}
		*removed += k;
		c->removed += k;
		reaper_step("reconcile.issue_removed");
	}
	return 0;
}

/*
 * Steps 1-4 for tenant id: 1 checked (and, but in a dry run, gone ids
 * removed), 0 nothing to do (no issue node, or no longer askable), -1
 * failed (logged).
 */
static int
reconcile_tenant(struct recon *c, const char *id)
{
	struct reaper	*r = c->r;
	struct tenant	 t;
	struct tenantdb	*tdb = NULL;
	long long	*ids = NULL;
	char		*found = NULL;
	size_t		 n = 0, i, gone = 0, removed = 0;
	long		 status;
	long long	 pct;
	enum jira_fault	 f;
	enum err	 e;
	int		 rc = -1;

	memset(&t, 0, sizeof(t));
	/* Read again: the earlier tenants' calls took time. */
	if ((e = registry_get(r->reg, id, &t)) == ERR_NOT_FOUND)
		return 0;
	if (e != ERR_OK) {
		log_msg(LOGL_ERR, NULL, "job=reconcile tenant=%s "
		    "reason=registry_read", id);
		return -1;
	}
	if (!askable(&t)) {		/* uninstalled or held meanwhile */
		rc = 0;
		goto out;
	}
	if (tenantdb_open(r->reg, &t, NULL, &tdb) != ERR_OK) {
		/* Why is in the log already; backup holds a damaged file. */
		log_msg(LOGL_ERR, NULL, "job=reconcile tenant=%s "
		    "reason=tenant_open_failed", id);
		goto out;
	}
	if (pano_issue_ids(tdb, &ids, &n) != ERR_OK) {
		log_msg(LOGL_ERR, NULL, "job=reconcile tenant=%s "
		    "reason=tenant_read_failed", id);
		goto out;
	}
	if (n == 0) {
		rc = 0;
		goto out;
	}
	/* Ascending already; each chunk is searched (bulkfetch_parse). */
	qsort(ids, n, sizeof(*ids), cmp_id);
	if ((found = calloc(n, 1)) == NULL)
		goto out;
	c->asked += n;
	if ((f = ask_jira(r, &t, ids, n, found, &status)) != JF_NONE) {
		log_msg(LOGL_ERR, NULL, "job=reconcile tenant=%s "
		    "reason=reconcile_jira_failed status=%ld cause=%s", id,
		    status, jira_fault_code[f]);
		goto out;
	}
	for (i = 0; i < n; i++)
		gone += !found[i];
	c->gone += gone;
	/* Step 3: so much gone at once is more likely lost rights. */
	pct = conf_int(r->cfg, C_PANORAMAS_RECONCILE_MAX_PERCENT);
	if (gone > RECONCILE_BRAKE_MIN && (long long)gone * 100 >
	    pct * (long long)n) {
		log_msg(LOGL_ERR, NULL, "job=reconcile tenant=%s "
		    "reason=reconcile_suspicious gone=%zu of=%zu", id, gone, n);
		if (r->dry_run)
			printf("reconcile: tenant %s: %zu of %zu issues look "
			    "deleted, over [panoramas] reconcile_max_percent: "
			    "nothing would be removed\n", id, gone, n);
		goto out;
	}
	if (r->dry_run) {
		if (gone > 0)
			printf("reconcile: tenant %s: would remove the nodes "
			    "of %zu deleted issues (of %zu)\n", id, gone, n);
		rc = 1;
		goto out;
	}
	if (remove_gone(c, tdb, id, ids, n, found, &removed) == -1)
		goto out;
	if (gone > 0)
		log_msg(LOGL_INFO, NULL, "job=reconcile tenant=%s reconciled "
		    "asked=%zu gone=%zu nodes_removed=%zu", id, n, gone,
		    removed);
	rc = 1;
out:
	free(found);
	free(ids);
	tenantdb_close(tdb);
	registry_tenant_free(&t);
	if (n > 0)
		reaper_step("reconcile.tenant_done");
	return rc;
}

int
job_reconcile(struct reaper *r)
{
	struct recon	 c;
	size_t		 i;
	int		 rc = 0, st;

	memset(&c, 0, sizeof(c));
	c.r = r;
	if (registry_each(r->reg, collect, &c) == -1) {
		log_msg(LOGL_ERR, NULL, "job=reconcile reason=registry_read");
		reaper_ids_free(&c.tenants_due);
		return -1;
	}
	for (i = 0; i < c.tenants_due.n; i++) {
		if ((st = reconcile_tenant(&c, c.tenants_due.ids[i])) == -1) {
			c.failed++;
			rc = -1;
		} else if (st == 1)
			c.checked++;
	}
	snprintf(r->detail, sizeof(r->detail), "%zu tenants checked, %zu "
	    "issue ids asked, %zu gone, %zu nodes removed, %zu tenants "
	    "failed, %zu Forge-only tenants left to Forge's events%s",
	    c.checked, c.asked, c.gone, c.removed, c.failed, c.forge,
	    r->dry_run ? " (nothing removed)" : "");
	reaper_ids_free(&c.tenants_due);
	return rc;
}
