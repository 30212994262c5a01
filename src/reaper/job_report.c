/*
 * report: each tenant's stored Atlassian account ids reported to
 * Atlassian's personal-data API, and closed accounts erased
 * (accounts.h).  Every run; each tenant keeps its own cycle (7 days, or
 * what Atlassian's Cycle-Period says) in its own file, so a run only
 * sends what is due.  Per tenant (installed, enabled or not, not held,
 * with a Connect secret):
 *
 *  1. accounts_report: if a cycle is open or due and no 429/503 asked
 *     us to wait, the ids after the cursor in batches of 90, POSTed as
 *     the app (jira_call: the tenant's site, JWT signed with its shared
 *     secret) to ACCOUNTS_PATH_CONNECT.  Each answer is stored with the
 *     erase of its closed accounts and the cursor in one transaction
 *     (step report.batch_done), so a run killed anywhere is resumed by
 *     the next from the first batch whose answer was not stored.
 *  2. A 429 or 503 stores when to try again (Retry-After, else an hour)
 *     and stops that tenant: deferred.  Any other status, an answer not
 *     taken whole (nothing erased), or no answer stops it too, logged
 *     (reason=report_failed, cause, status) and counted as refused; its
 *     cycle resumes from the cursor at the next run.  Neither fails the
 *     job: Atlassian's side decides them, the next run retries, and
 *     cellarctl audit turns red once a tenant is a cycle and a day
 *     behind.  The job fails when our side does: the registry, a
 *     tenant file that does not open or take the write.
 *
 * One run per tenant at a time (accounts_report's claim): a tenant
 * whose cycle another run holds is left to it, logged
 * reason=report_busy, counted as due.
 *
 * A tenant without a Connect secret (Forge only) is skipped, counted,
 * logged reason=report_forge_via_cron: its report goes through Forge's
 * app system token, which only a Forge invocation brings and cellar
 * never stores; the worker reports it after answering Forge's hourly
 * trigger (src/fcgi/route_forge.c), with the same accounts_report.
 *
 * Logged: tenant ids, counts and reason codes; never an account id.
 * --dry-run sends nothing and changes nothing: it says, in counts, what
 * each due tenant would report.  --now changes nothing here: Atlassian
 * asks that no account be reported more often than the cycle, so only
 * each tenant's own cycle (and a 429's wait) says what is due.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cellar/accounts.h"
#include "cellar/clock.h"
#include "cellar/jira.h"
#include "cellar/log.h"
#include "cellar/registry.h"
#include "cellar/tenantdb.h"
#include "reaper.h"

struct report {
	struct reaper	*r;
	struct reaper_ids tenants_due;	/* to look at */
	size_t		 tenants;	/* due, and worked on */
	size_t		 failed;		/* our side */
	size_t		 refused;	/* Atlassian's answer not taken */
	size_t		 forge;		/* skipped: no Connect secret */
	size_t		 held;		/* skipped: quarantined */
	size_t		 reported, closed, updated, deferred;
};

/* What the transport needs: the reaper and the tenant. */
struct connect {
	struct reaper		*r;
	const struct tenant	*t;
};

static int
collect(const struct tenant *t, void *arg)
{
	struct report	*c = arg;

	if (t->state != TENANT_INSTALLED)
		return 0;
	return reaper_ids_add(&c->tenants_due, t->id);
}

/* accounts_send_fn for Connect: jira_call as the app. */
static enum err
send_connect(void *arg, const char *body, struct accounts_reply *rep)
{
	struct connect	*x = arg;
	struct jira_reply jr;
	enum err	 e;

	e = jira_call(x->r->cfg, x->r->reg, x->t, METHOD_POST,
	    ACCOUNTS_PATH_CONNECT, body, NULL, &jr);
	if (e != ERR_OK)
		return e;
	accounts_reply_take(rep, &jr);
	return ERR_OK;
}

/* Tenant id's due work: 0 done or nothing due, -1 failed (logged). */
static int
report_tenant(struct report *c, const char *id)
{
	struct reaper	*r = c->r;
	struct tenant	 t;
	struct tenantdb	*tdb = NULL;
	struct connect	 x;
	struct accounts_io io;
	struct accounts_result res;
	long long	 now;
	enum err	 e;
	int		 rc = -1;

	memset(&t, 0, sizeof(t));
	memset(&res, 0, sizeof(res));
	if ((e = registry_get(r->reg, id, &t)) == ERR_NOT_FOUND)
		return 0;
	if (e != ERR_OK) {
		log_msg(LOGL_ERR, NULL, "job=report tenant=%s "
		    "reason=registry_read", id);
		return -1;
	}
	if (t.state != TENANT_INSTALLED) {	/* uninstalled meanwhile */
		rc = 0;
		goto out;
	}
	if (t.quarantined_at != 0) {
		/* The backup job names it too; the audit sees it overdue. */
		log_msg(LOGL_WARN, NULL, "job=report tenant=%s "
		    "reason=report_tenant_held", id);
		c->held++;
		rc = 0;
		goto out;
	}
	if (t.client_key == NULL || t.secret_sealed == NULL) {
		log_msg(LOGL_INFO, NULL, "job=report tenant=%s "
		    "reason=report_forge_via_cron", id);
		c->forge++;
		rc = 0;
		goto out;
	}
	if (tenantdb_open(r->reg, &t, NULL, &tdb) != ERR_OK) {
		log_msg(LOGL_ERR, NULL, "job=report tenant=%s "
		    "reason=tenant_open_failed", id);
		goto out;
	}
	x.r = r;
	x.t = &t;
	memset(&io, 0, sizeof(io));
	io.send = send_connect;
	io.arg = &x;
	io.step = reaper_step;
	io.dry_run = r->dry_run;
	now = clock_now();
	e = accounts_report(tdb, now, &io, &res);
	/*
	 * Whatever got stored before a failure counts, and a tenant whose
	 * write failed was due (or could not be told not to be): the
	 * summary never says "0 tenants due, ... 1 failed".
	 */
	c->reported += res.reported;
	c->closed += res.closed;
	c->updated += res.updated;
	if (res.outcome != ACC_NOT_DUE || e != ERR_OK)
		c->tenants++;
	if (e != ERR_OK) {
		log_msg(LOGL_ERR, NULL, "job=report tenant=%s "
		    "reason=tenant_write_failed err=%s reported=%zu", id,
		    err_code(e), res.reported);
		goto out;
	}
	switch (res.outcome) {
	case ACC_NOT_DUE:
		rc = 0;
		break;
	case ACC_BUSY:
		/* A worker's run after a Forge trigger, or another reaper. */
		log_msg(LOGL_INFO, NULL, "job=report tenant=%s "
		    "reason=report_busy", id);
		rc = 0;
		break;
	case ACC_DRY_RUN:
		printf("report: tenant %s: would report %zu account ids\n", id,
		    res.would_report);
		rc = 0;
		break;
	case ACC_DONE:
		log_msg(LOGL_INFO, NULL, "job=report tenant=%s cycle_done "
		    "reported=%zu closed=%zu updated=%zu cycle_days=%d", id,
		    res.reported, res.closed, res.updated, res.cycle_days);
		rc = 0;
		break;
	case ACC_DEFERRED:
		c->deferred++;
		log_msg(LOGL_WARN, NULL, "job=report tenant=%s "
		    "reason=report_deferred status=%ld wait=%lld "
		    "reported=%zu closed=%zu updated=%zu", id, res.status,
		    res.retry_at - now, res.reported, res.closed,
		    res.updated);
		rc = 0;
		break;
	default:
		c->refused++;
		log_msg(LOGL_ERR, NULL, "job=report tenant=%s "
		    "reason=report_failed cause=%s status=%ld reported=%zu "
		    "closed=%zu updated=%zu", id,
		    accounts_outcome_code(res.outcome), res.status,
		    res.reported, res.closed, res.updated);
		rc = 0;
		break;
	}
out:
	tenantdb_close(tdb);
	registry_tenant_free(&t);
	return rc;
}

int
job_report(struct reaper *r)
{
	struct report	 c;
	size_t		 i;
	int		 rc = 0;

	memset(&c, 0, sizeof(c));
	c.r = r;
	if (registry_each(r->reg, collect, &c) == -1) {
		log_msg(LOGL_ERR, NULL, "job=report reason=registry_read");
		reaper_ids_free(&c.tenants_due);
		return -1;
	}
	for (i = 0; i < c.tenants_due.n; i++)
		if (report_tenant(&c, c.tenants_due.ids[i]) == -1) {
			c.failed++;
			rc = -1;
		}
	snprintf(r->detail, sizeof(r->detail), "%zu tenants due, %zu "
	    "account ids reported, %zu closed erased, %zu updated, %zu "
	    "tenants deferred, %zu refused, %zu failed, %zu Forge-only "
	    "skipped, %zu held%s", c.tenants, c.reported, c.closed,
	    c.updated, c.deferred, c.refused, c.failed, c.forge, c.held,
	    r->dry_run ? " (nothing sent)" : "");
	reaper_ids_free(&c.tenants_due);
	return rc;
}
