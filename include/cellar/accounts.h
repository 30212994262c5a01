/*
 * Personal-data reporting: the Atlassian account ids a tenant's file
 * stores are reported to Atlassian's report-accounts API on a cycle, and
 * what belongs to an account Atlassian says is closed is erased.  All
 * SQL over the report state (sql/tenant/0005_accounts.sql) and the
 * erase is in accounts.c; the transport is the caller's (a callback),
 * so the same cycle serves the reaper (Connect: jira_call, signed as the
 * app, POST ACCOUNTS_PATH_CONNECT on the tenant's site) and the worker
 * (Forge: jira_call_bearer with the app system token to [forge]
 * report_url).
 *
 * Atlassian's rules (user-privacy guidelines for developers):
 * - POST {"accounts": [{"accountId", "updatedAt"}, ...]}, at most
 *   ACCOUNTS_BATCH_MAX a request; updatedAt (RFC 3339) when the app
 *   stored the data; an app that stores several aspects of an account
 *   gives the oldest time.
 * - 200 {"accounts": [{"accountId", "status": "closed"|"updated"}]}
 *   names the accounts to act on; 204: nothing to do; 429 (and 503):
 *   wait Retry-After seconds; 400, 500 {"errorType", "errorMessage"}.
 * - The cycle: 7 days by default, or what the Cycle-Period header says;
 *   no account reported more often than that; resume where a cycle
 *   stopped rather than poll at fixed times.
 *
 * Where account ids are stored, and the time each counts as stored:
 * templates.owner (created_at), panoramas.owner (created_at),
 * pano_nodes.creator (created_at), pano_history.actor (at),
 * pano_undo.creator (created_at), and pano_access entries of grantee
 * 'account' (their panorama's created_at: the entries carry no time of
 * their own, and the panorama's is never later than theirs).  Only ids
 * of Atlassian's syntax (accounts_id_ok) are reported; the markers
 * below are not ids.
 *
 * The erase of a closed account, in the same transaction as the
 * cursor's move past its batch (so a run killed anywhere erases all of
 * a batch's closed accounts or none, and never reports a batch again
 * once its answer is stored): its personal templates deleted; the owner
 * of its other templates and panoramas becomes ACCOUNTS_TENANT_MARKER
 * (such a panorama is managed by Jira admins only: the marker is never
 * a caller's account id); its history actors and node creators, undo
 * rows included, become ACCOUNTS_FORMER_MARKER (its batches can no
 * longer be undone by anyone); its access entries removed; and every
 * panorama so changed gets version + 1 (workers cache trees by version)
 * and a history batch of the system, {"actions": [{"op":
 * "accountClosed"}]}, as pano.c records a deleted issue.
 *
 * Nothing here logs an account id; nothing here logs at all: the
 * callers log counts.
 */
#ifndef CELLAR_ACCOUNTS_H
#define CELLAR_ACCOUNTS_H

#include <stddef.h>

#include "cellar/err.h"

struct tenantdb;

#define ACCOUNTS_BATCH_MAX	90	/* ids per request (Atlassian's) */
#define ACCOUNTS_ID_MAX		128	/* bytes of an account id */
#define ACCOUNTS_CYCLE_DEFAULT	7	/* days */
#define ACCOUNTS_CYCLE_MIN	1
#define ACCOUNTS_CYCLE_MAX	90
/* A 429 or 503 without a usable Retry-After waits this long (s). */
#define ACCOUNTS_RETRY_DEFAULT	3600
/* Retry-After honoured at most (s): jira.c's own cap. */
#define ACCOUNTS_RETRY_MAX	(7 * 86400LL)
/*
 * How long a run's claim on a tenant's cycle holds (s) unless renewed:
 * each batch renews it, so it only has to outlast one batch (a call
 * bounded by [jira] timeout_ms) and the writes around it.  A run that
 * died leaves the tenant to others this long after its last batch.
 */
#define ACCOUNTS_CLAIM_SECS	120
/* The path a Connect app posts to, on the tenant's site. */
#define ACCOUNTS_PATH_CONNECT	"/rest/atlassian-connect/latest/report-accounts"

/*
 * The owner of what a closed account shared, and the author of what it
 * did: '@' is outside an account id's alphabet (and the worker's
 * perm_id_ok), so no caller's account ever equals either.
 */
#define ACCOUNTS_TENANT_MARKER	"@tenant"
#define ACCOUNTS_FORMER_MARKER	"@former-user"

/* One stored account id and the oldest time it was stored at. */
struct account_seen {
	char		*id;
	long long	 at;
};

void		 accounts_seen_free(struct account_seen *, size_t);

/*
 * 1 if s is an account id as Atlassian writes them: 1..128 of
 * [A-Za-z0-9:-], and not "unknown" (never to be reported).  Else 0.
 */
int		 accounts_id_ok(const char *s);

/*
 * The distinct valid account ids the tenant stores that sort after
 * after ("" or NULL: from the first), ascending (byte order), at most
 * limit, each with its oldest time.  ERR_OK (*out NULL when none), or
 * a storage error.
 */
enum err	 accounts_stored(struct tenantdb *, const char *after,
		    size_t limit, struct account_seen **out, size_t *n)
		    __attribute__((warn_unused_result));

/*
 * The request body for a[0..n) (n <= ACCOUNTS_BATCH_MAX):
 * {"accounts": [{"accountId", "updatedAt": "YYYY-MM-DDTHH:MM:SSZ"}]}.
 * malloc'd; NULL on no memory.
 */
char		*accounts_request_body(const struct account_seen *a, size_t n);

/* What an answer says about one account sent. */
enum account_status {
	ACCOUNT_UNNAMED = 0,	/* not in the answer: nothing to do */
	ACCOUNT_UPDATED,	/* its profile changed: we keep none */
	ACCOUNT_CLOSED,		/* erase it */
	ACCOUNT__MAX
};

/*
 * Reads an answer (HTTP status and body) to a request that sent
 * sent[0..n), strictly ascending ids, into st[0..n).  204: every one
 * ACCOUNT_UNNAMED.  200: the body must be one JSON object whose
 * "accounts" is an array of objects, each with an "accountId" that is
 * one of sent (each at most once) and a "status" of exactly "closed" or
 * "updated" (other members are ignored).  0 when the answer is taken
 * whole; -1 for any other status, or a 200 that breaks any of that (a
 * partial or malformed answer is never acted on): st then all
 * ACCOUNT_UNNAMED.  Pure: no I/O, no allocation kept.
 */
int		 accounts_answer_parse(long status, const char *body,
		    size_t len, const struct account_seen *sent, size_t n,
		    enum account_status *st);

/*
 * The Cycle-Period header's days: a bare number of days ("7") or "N
 * Days" / "N Day" (any case, spaces around), clamped to
 * ACCOUNTS_CYCLE_MIN..ACCOUNTS_CYCLE_MAX; NULL, empty or anything else:
 * ACCOUNTS_CYCLE_DEFAULT.  Pure.
 */
int		 accounts_cycle_parse(const char *s);

/* Where a tenant is in its cycle (the one row of account_report). */
struct accounts_state {
	long long	 cycle_started_at;	/* 0: no cycle open */
	char		 cursor[ACCOUNTS_ID_MAX + 1];	/* "": none yet */
	long long	 next_due_at;
	int		 cycle_days;
	long long	 retry_at;
	long long	 cur_reported, cur_closed, cur_updated;
	long long	 last_completed_at;	/* 0: never */
	long long	 last_reported, last_closed, last_updated;
	long		 last_status;
	long long	 last_attempt_at;
	long long	 erased_total;
};

enum err	 accounts_state_get(struct tenantdb *, struct accounts_state *)
		    __attribute__((warn_unused_result));

/*
 * Whether s has report work at now: not while a 429/503's retry_at is
 * ahead; else a cycle open (resume it) or the next one due.  A next
 * cycle or retry further ahead than a cycle plus a day (made while the
 * clock was ahead) is due.  1 or 0.
 */
int		 accounts_due(const struct accounts_state *s, long long now);

/* What the transport got: status 0 when there was no answer. */
struct accounts_reply {
	long		 status;
	char		*body;		/* malloc'd (may be NULL); freed here */
	size_t		 len;
	long long	 retry_after;	/* seconds; -1 absent */
	char		 cycle_period[64];	/* "" absent */
};

/*
 * Sends body (JSON) to Atlassian for the tenant and fills reply.
 * ERR_OK when an answer came (any status); ERR_UNAVAILABLE when none
 * did (unreachable, timed out, a redirect refused); ERR_INTERNAL.
 */
typedef enum err (*accounts_send_fn)(void *arg, const char *body,
		    struct accounts_reply *reply);

struct jira_reply;
/*
 * Moves a Jira client's answer (jira.h) into reply, for a send
 * function: its body becomes reply's, jr is left empty.
 */
void		 accounts_reply_take(struct accounts_reply *reply,
		    struct jira_reply *jr);

struct accounts_io {
	accounts_send_fn send;
	void		*arg;
	/*
	 * Called (may be NULL) once each step is durable:
	 * "report.batch_answered" (an answer came, not stored yet),
	 * "report.batch_done" (its erase and the cursor committed),
	 * "report.cycle_done": the reaper's kill -9 hook.
	 */
	void		(*step)(const char *name);
	int		 dry_run;	/* send nothing, change nothing */
};

enum accounts_outcome {
	ACC_NOT_DUE = 0,	/* nothing to do now */
	ACC_DONE,		/* every id of the cycle answered: complete */
	ACC_DEFERRED,		/* 429 or 503: retry_at stored */
	ACC_REFUSED,		/* another status: cycle resumes next run */
	ACC_BAD_REPLY,		/* a 200 not taken whole: nothing erased */
	ACC_UNREACHABLE,	/* no answer */
	ACC_DRY_RUN,		/* due; would_report ids would be sent */
	ACC_BUSY,		/* another run holds the cycle: nothing done */
	ACC__MAX
};

/* A short code for the log ("deferred", "bad_reply", ...). */
const char	*accounts_outcome_code(enum accounts_outcome);

struct accounts_result {
	enum accounts_outcome outcome;
	size_t		 batches;	/* answered and stored */
	size_t		 reported;	/* ids in those batches */
	size_t		 closed;	/* of those, erased */
	size_t		 updated;
	size_t		 would_report;	/* dry run */
	long		 status;	/* the last answer's; 0 none */
	long long	 retry_at;	/* ACC_DEFERRED */
	int		 cycle_days;
};

/*
 * The tenant's report work due at now (accounts_due): opens a cycle if
 * none is open (cursor from the start), then sends the stored ids after
 * the cursor in batches of ACCOUNTS_BATCH_MAX, ascending, each answer
 * taken (accounts_answer_parse) and stored in one transaction with the
 * erase of its closed accounts, the counts and the cursor moved past
 * the batch (a Cycle-Period header sets the cycle from then on).  Stops
 * at the first answer not taken: 429/503 stores retry_at (Retry-After,
 * else ACCOUNTS_RETRY_DEFAULT; ACC_DEFERRED); any other status, a 200
 * not taken whole or no answer changes nothing but the last status
 * (ACC_REFUSED, ACC_BAD_REPLY, ACC_UNREACHABLE) and the cycle resumes
 * from the cursor at the next call.  With no id left the cycle is
 * complete: its counts kept as the last cycle's, the next due a cycle
 * after now (ACC_DONE).
 *
 * One run at a time per tenant (two Forge triggers on two workers, a
 * worker and the reaper): before its first send a run claims the
 * tenant's cycle (account_report.claimed_until = now +
 * ACCOUNTS_CLAIM_SECS, with its pid, in a BEGIN IMMEDIATE
 * transaction, when it is free or expired; a claim further ahead than
 * twice that is taken as a clock stepped back, expired; one whose
 * holder process is gone, a run killed, is free at once: the workers
 * and the reaper share a host), reads the state again under it,
 * renews it in each batch's transaction and releases it at the end.  A
 * run that finds it held sends nothing, changes nothing: ACC_BUSY; one
 * that lost it (no batch for ACCOUNTS_CLAIM_SECS and another took it)
 * stores nothing more and stops: ACC_BUSY too.  A dry run claims
 * nothing.  ERR_OK with res filled, whatever Atlassian said; else a
 * storage error (res says how far it got).
 */
enum err	 accounts_report(struct tenantdb *, long long now,
		    const struct accounts_io *io, struct accounts_result *res)
		    __attribute__((warn_unused_result));

/*
 * Erases ids[0..n) (closed accounts) as described above, at now, in one
 * transaction of its own; *panoramas (may be NULL): panoramas changed.
 * For tests and an operator; accounts_report erases within its batch's
 * transaction.
 */
enum err	 accounts_erase(struct tenantdb *, const char *const *ids,
		    size_t n, long long now, size_t *panoramas)
		    __attribute__((warn_unused_result));

#endif
