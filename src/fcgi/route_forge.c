/*
 * Forge Remote's own calls: /forge/events (product and lifecycle
 * events), /forge/cron (the hourly scheduled trigger) and
 * /forge/pre-uninstall.  Forge posts them with a Forge Invocation Token
 * (authentication has found or made the installation's tenant and
 * noted that it was heard from: r->tenant, r->fit) and waits 5 s, then
 * retries up to 4 times: each answers 204 at once, and a delivery that
 * comes twice changes nothing more.  Events carry no principal.
 *
 * Nothing of a body is logged but the event's type when it is one we
 * know; an event's issue content is never read, only its id.
 *
 * The trigger also carries the personal-data report of a tenant
 * reached through Forge alone (no Connect clientKey or secret: the
 * reaper has nothing to sign with, see src/reaper/job_report.c): the
 * app system token the trigger brings is the only credential there is
 * for it, and cellar keeps it in memory only.  So the report runs in
 * the worker, after the reply (app_defer), with a copy of that token:
 * accounts_report does the tenant's due work (accounts.h: the cycle,
 * batches of 90 from the cursor, closed accounts erased with the
 * cursor's move), sent with jira_call_bearer to [forge] report_url.
 * The worker takes no request meanwhile, so a run is bounded: a batch
 * is started only within FORGE_REPORT_BUDGET_USEC of the run's start
 * and at most FORGE_REPORT_BATCHES of them (each call bounded by
 * [jira] timeout_ms); the rest waits for the next trigger, an hour
 * later, from the cursor.  The log says counts per tenant, never an
 * account id, never the token.  A Connect-linked tenant is the
 * reaper's: its report is signed as the Connect app.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cellar/accounts.h"
#include "cellar/clock.h"
#include "cellar/fit.h"
#include "cellar/jira.h"
#include "cellar/json.h"
#include "cellar/log.h"
#include "cellar/registry.h"
#include "fcgi.h"
#include "forgetoken.h"
#include "panoramas.h"
#include "pool.h"

#define EV_INSTALLED	"avi:forge:installed:app"
#define EV_UPGRADED	"avi:forge:upgraded:app"
#define EV_ISSUE_DELETED "avi:jira:deleted:issue"

/*
 * The event in a body: the body itself when it names its eventType
 * (what Forge sends a remote), else its "payload" member when that
 * does (the shape of an invocation payload).  NULL when neither.
 */
static const cJSON *
forge_event(const cJSON *body, const char **type)
{
	const cJSON	*p;

	*type = NULL;
	if (body == NULL)
		return NULL;
	if (json_get_str(body, "eventType", 1, 128, type) == JSON_OK)
		return body;
	p = cJSON_GetObjectItemCaseSensitive(body, "payload");
	if (cJSON_IsObject(p) &&
	    json_get_str(p, "eventType", 1, 128, type) == JSON_OK)
		return p;
	return NULL;
}

/* The installation was installed or upgraded: recorded (touched). */
static enum err
forge_installed(struct req *r, const char *event)
{
	struct forge_seen seen;
	struct tenant	 t;
	enum err	 e;
	int		 created = 0;

	memset(&seen, 0, sizeof(seen));
	memset(&t, 0, sizeof(t));
	seen.installation_id = r->fit->installation_id;
	seen.cloud_id = r->fit->cloud_id;
	seen.api_base_url = r->fit->api_base_url;
	e = registry_forge_install(r->app->reg, &seen, "event", clock_now(),
	    &t, &created);
	if (e == ERR_OK)
		log_msg(LOGL_INFO, r->rid, "event=forge_%s tenant=%s "
		    "created=%d", strcmp(event, EV_INSTALLED) == 0 ?
		    "installed" : "upgraded", t.id, created);
	registry_tenant_free(&t);
	return e;
}

enum err
route_forge_events(struct req *r, struct reply *rep)
{
	const cJSON	*ev;
	const char	*type;
	enum err	 e = ERR_OK;

	if ((ev = forge_event(r->json, &type)) == NULL) {
		log_msg(LOGL_INFO, r->rid, "event=forge_event_ignored "
		    "reason=forge_event_untyped tenant=%s", r->tenant->id);
	} else if (strcmp(type, EV_INSTALLED) == 0 ||
	    strcmp(type, EV_UPGRADED) == 0) {
		e = forge_installed(r, type);
	} else if (strcmp(type, EV_ISSUE_DELETED) == 0) {
		e = panoramas_issue_deleted(r, ev);
	} else {
		/* The type is Forge's, but only known ones are logged. */
		log_msg(LOGL_INFO, r->rid, "event=forge_event_ignored "
		    "tenant=%s", r->tenant->id);
	}
	if (e == ERR_OK)
		rep->status = 204;
	return e;
}

/* Starting batches of one report run stops this long after its start. */
#define FORGE_REPORT_BUDGET_USEC	(20 * 1000000LL)
/* Batches one run sends at most (ACCOUNTS_BATCH_MAX ids each). */
#define FORGE_REPORT_BATCHES		50

/* What the report after the reply needs: copies (the request is gone). */
struct forge_report {
	char		 tenant_id[TENANT_ID_LEN + 1];
	char		 rid[17];
	char		*token;		/* sodium_malloc'd: wiped when freed */
};

/* The transport of one run. */
struct forge_send {
	const struct app *a;
	const struct forge_report *fr;
	long long	 deadline;	/* monotonic microseconds */
	size_t		 calls;
	int		 paused;	/* the bound stopped the run */
};

/* A tenant the reaper cannot report for: job_report.c's rule. */
static int
forge_only(const struct tenant *t)
{
	return t->client_key == NULL || t->secret_sealed == NULL;
}

/*
 * accounts_send_fn: POST to [forge] report_url with the system token.
 * Past the run's bound it sends nothing and says there was no answer
 * (accounts_report then stops, the cursor where it is).
 */
static enum err
forge_report_send(void *arg, const char *body, struct accounts_reply *rep)
{
	struct forge_send *x = arg;
	const struct conf *cfg = x->a->cfg;
	struct jira_reply jr;
	enum err	 e;

	if (x->calls > 0 && (x->calls >= FORGE_REPORT_BATCHES ||
	    clock_mono_usec() >= x->deadline)) {
		x->paused = 1;
		return ERR_UNAVAILABLE;
	}
	x->calls++;
	/*
	 * Atlassian's documented URL ends in '/', which the configuration
	 * drops from every URL: put back (a redirect between the two
	 * would be refused, never followed).
	 */
	e = jira_call_bearer(cfg, conf_str(cfg, C_FORGE_REPORT_URL),
	    x->fr->token, METHOD_POST, "/", body, x->fr->rid, &jr);
	if (e != ERR_OK)
		return e;
	accounts_reply_take(rep, &jr);
	return ERR_OK;
}

/* Logs what a run did, in counts (job_report.c's words). */
static void
forge_report_log(const struct forge_report *fr, const struct forge_send *x,
    const struct accounts_result *res, long long now)
{
	switch (res->outcome) {
	case ACC_NOT_DUE:
		log_msg(LOGL_DEBUG, fr->rid, "event=forge_report tenant=%s "
		    "outcome=not_due", fr->tenant_id);
		break;
	case ACC_BUSY:
		/* Another worker's trigger (or the reaper) works it now. */
		log_msg(LOGL_INFO, fr->rid, "event=forge_report tenant=%s "
		    "outcome=busy reason=report_busy", fr->tenant_id);
		break;
	case ACC_DONE:
		log_msg(LOGL_INFO, fr->rid, "event=forge_report tenant=%s "
		    "outcome=cycle_done batches=%zu reported=%zu closed=%zu "
		    "updated=%zu cycle_days=%d", fr->tenant_id, res->batches,
		    res->reported, res->closed, res->updated,
		    res->cycle_days);
		break;
	case ACC_DEFERRED:
		log_msg(LOGL_WARN, fr->rid, "event=forge_report tenant=%s "
		    "outcome=deferred reason=report_deferred status=%ld "
		    "wait=%lld batches=%zu reported=%zu closed=%zu "
		    "updated=%zu", fr->tenant_id, res->status,
		    res->retry_at - now, res->batches, res->reported,
		    res->closed, res->updated);
		break;
	default:
		if (res->outcome == ACC_UNREACHABLE && x->paused) {
			log_msg(LOGL_INFO, fr->rid, "event=forge_report "
			    "tenant=%s outcome=paused reason=report_bound "
			    "batches=%zu reported=%zu closed=%zu updated=%zu",
			    fr->tenant_id, res->batches, res->reported,
			    res->closed, res->updated);
			break;
		}
		/* Atlassian's side (or the way there): the next trigger. */
		log_msg(LOGL_WARN, fr->rid, "event=forge_report tenant=%s "
		    "outcome=failed reason=report_failed cause=%s status=%ld "
		    "batches=%zu reported=%zu closed=%zu updated=%zu",
		    fr->tenant_id, accounts_outcome_code(res->outcome),
		    res->status, res->batches, res->reported, res->closed,
		    res->updated);
		break;
	}
}

/*
 * After the trigger's reply: the tenant's due report (see the file's
 * head).  The tenant is read again, for it may have departed, been held
 * or been linked to a Connect install since.
 */
static void
forge_report_run(const struct app *a, void *arg)
{
	const struct forge_report *fr = arg;
	struct forge_send x;
	struct accounts_io io;
	struct accounts_result res;
	struct tenant	 t;
	struct tenantdb	*tdb = NULL;
	long long	 now;
	enum err	 e;

	memset(&t, 0, sizeof(t));
	memset(&res, 0, sizeof(res));
	if ((e = registry_get(a->reg, fr->tenant_id, &t)) != ERR_OK) {
		if (e != ERR_NOT_FOUND)
			log_msg(LOGL_WARN, fr->rid, "event=forge_report "
			    "tenant=%s reason=registry_read err=%s",
			    fr->tenant_id, err_code(e));
		goto out;
	}
	if (t.state != TENANT_INSTALLED || t.quarantined_at != 0 ||
	    !forge_only(&t))
		goto out;
	/* The worker's pool: the handle a request of the tenant uses. */
	if ((e = pool_tenantdb(a->reg, &t, fr->rid, &tdb)) != ERR_OK)
		goto fail;
	memset(&x, 0, sizeof(x));
	x.a = a;
	x.fr = fr;
	x.deadline = clock_mono_usec() + FORGE_REPORT_BUDGET_USEC;
	memset(&io, 0, sizeof(io));
	io.send = forge_report_send;
	io.arg = &x;
	now = clock_now();
	if ((e = accounts_report(tdb, now, &io, &res)) != ERR_OK)
		goto fail;
	forge_report_log(fr, &x, &res, now);
	goto out;
fail:
	if (e == ERR_QUARANTINED)
		app_quarantine(a, &t, fr->rid);
	else
		log_msg(e == ERR_UNAVAILABLE ? LOGL_WARN : LOGL_ERR, fr->rid,
		    "event=forge_report tenant=%s reason=%s err=%s "
		    "batches=%zu reported=%zu", fr->tenant_id, tdb == NULL ?
		    "tenant_open_failed" : "tenant_write_failed", err_code(e),
		    res.batches, res.reported);
out:
	registry_tenant_free(&t);
}

static void
forge_report_drop(void *arg)
{
	struct forge_report *fr = arg;

	if (fr == NULL)
		return;
	if (fr->token != NULL)
		sodium_free(fr->token);		/* wipes it */
	free(fr);
}

/*
 * Leaves the tenant's report for after the reply when it is Forge's to
 * make; says why not otherwise (for the log): "reaper" (a Connect
 * install signs it), "no_token" (nothing to send it with: the next
 * trigger's), "held", "no_memory".
 */
static const char *
forge_report_defer(struct req *r)
{
	struct forge_report *fr;
	size_t		 len;

	if (!forge_only(r->tenant))
		return "reaper";
	if (r->tenant->quarantined_at != 0)
		return "held";
	if (r->forge_token == NULL || r->forge_token[0] == '\0' ||
	    (len = strnlen(r->forge_token, FORGETOKEN_MAX + 1)) >
	    FORGETOKEN_MAX)
		return "no_token";
	if ((fr = calloc(1, sizeof(*fr))) == NULL ||
	    (fr->token = sodium_malloc(len + 1)) == NULL) {
		free(fr);
		return "no_memory";
	}
	memcpy(fr->token, r->forge_token, len + 1);
	memcpy(fr->tenant_id, r->tenant->id, sizeof(fr->tenant_id));
	memcpy(fr->rid, r->rid, sizeof(fr->rid));
	app_defer(r, forge_report_run, forge_report_drop, fr);
	return "after_reply";
}

enum err
route_forge_cron(struct req *r, struct reply *rep)
{
	const char	*report;

	/* Authentication recorded "last seen" and kept the token. */
	report = forge_report_defer(r);
	log_msg(LOGL_INFO, r->rid, "event=forge_cron tenant=%s token=%s "
	    "report=%s", r->tenant->id, r->forge_token != NULL ? "yes" : "no",
	    report);
	rep->status = 204;
	return ERR_OK;
}

enum err
route_forge_preuninstall(struct req *r, struct reply *rep)
{
	enum err	 e;

	/*
	 * Departed already (a retried delivery, or gone silent first):
	 * left as it is, its purge date and audit trail unchanged
	 * (authentication found it without reinstating it).
	 */
	if (r->tenant->state != TENANT_INSTALLED) {
		log_msg(LOGL_INFO, r->rid, "event=forge_preuninstall "
		    "tenant=%s outcome=already_departed", r->tenant->id);
		rep->status = 204;
		return ERR_OK;
	}
	e = registry_forge_preuninstall(r->app->reg, r->fit->installation_id,
	    clock_now(), conf_int(r->app->cfg, C_REAPER_GRACE_DAYS));
	if (e == ERR_NOT_FOUND)
		e = ERR_OK;	/* gone already: a repeat */
	if (e != ERR_OK)
		return e;
	log_msg(LOGL_INFO, r->rid, "event=forge_preuninstall tenant=%s",
	    r->tenant->id);
	rep->status = 204;
	return ERR_OK;
}
