"""
Black-box tests of personal-data reporting (`cellar-reaper report`, also
part of `run`; src/reaper/job_report.c, src/lib/accounts.c): every
Atlassian account id a tenant stores (template owners, panorama owners,
node creators, history actors, access entries) is reported to
Atlassian's report-accounts API, as the app, on the tenant's site
(POST /rest/atlassian-connect/latest/report-accounts, JWT-signed; the
fake site of jira_fake.py verifies it and answers as scripted), in
batches of at most 90, once a cycle; what Atlassian says is closed is
erased.

What an account owner, Atlassian and an operator rely on:
- 204: every stored id reported once, with its oldest time; not again
  within the cycle (Cycle-Period followed);
- 200 closed: the account's personal templates gone, its panoramas
  managed by Jira admins only (an admin still manages one, the former
  owner cannot even see it), its history batches by a "former user",
  its access entries gone, the panoramas' versions moved on, checked
  through the API; updated: counted, nothing changes;
- 429 with Retry-After: the tenant stops and a later run, after the
  wait, resumes from the cursor without reporting a batch twice;
- 400: logged (not a failure of the job: the audit watches overdue
  tenants), the next run retries; a malformed 200 or one naming an id
  not sent: nothing erased;
- a run killed (kill -9) after a batch's answer was stored resumes
  with the next batch;
- the reaper's output and log hold counts, never an account id;
- cellarctl audit shows the promise, red once a tenant is overdue.

Panoramas and templates are made through the HTTP API by several
accounts of a tenant.  Tests share one stack; each uninstalls its
tenants when it ends, so that the report job, which looks at every
installed tenant, only finds the current test's.  Time travel (faketime)
is used for the audit only: a reaper running ahead of the fake's clock
would sign tokens the fake refuses as issued in the future; waits are
short Retry-After values instead.
"""
import calendar
import json
import re
import secrets
import time
import uuid

import pytest

import atlassian as atl
from jira_fake import REPORT_ACCOUNTS
from panorama_client import Tenant, add
from test_reaper import (CHECKS, Env, ctl, killed_at, ok, out_of, reaper,
                         stack_drop_in, steps_of)

DROP_IN = "[jira]\ncache_seconds = 0\ntimeout_ms = 3000\n"
DETAIL = re.compile(
    r"^report: (ok|FAILED)(, dry run)?, (\d+) tenants due, (\d+) account "
    r"ids reported, (\d+) closed erased, (\d+) updated, (\d+) tenants "
    r"deferred, (\d+) refused, (\d+) failed, (\d+) Forge-only skipped, "
    r"(\d+) held"
    r"( \(nothing sent\))? \(\d+\.\d\d s\)$", re.M)
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
BASE = 734_500_100      # issue ids of these tests
FORMER = "@former-user"


def detail(out):
    """The report line of a reaper's stdout as a dict."""
    m = DETAIL.search(out)
    assert m, f"no report result line in {out!r}"
    keys = ("tenants", "reported", "closed", "updated", "deferred",
            "refused", "failed", "forge", "held")
    d = {k: int(m.group(i + 3)) for i, k in enumerate(keys)}
    d["status"] = m.group(1)
    return d


def report(env, *args, **kw):
    """cellar-reaper [ARGS] report."""
    return reaper(env.etc, *args, "report", **kw)


def no_account_in(p, accounts):
    """Neither the reaper's stdout nor its log holds an account id."""
    text = p.stdout + p.stderr
    for a in accounts:
        assert a not in text, f"account id {a} in the output:\n" + \
            out_of(p)
        # Nor its distinctive part (the uuid after "557058:").
        assert a.rpartition(":")[2] not in text, out_of(p)


class ReportEnv(Env):
    """test_reaper's Env with panorama-capable tenants, uninstalled when
    the test ends."""

    def __init__(self, st, fake):
        super().__init__(st, fake)
        self.made = []

    def tenant(self, templates=0):
        secret = atl.new_secret()
        site = self.fake.add_site(secret)
        t = Tenant(self, str(uuid.uuid4()), secret, site)
        self.lifecycle(t, "installed")
        site.make_public(*range(BASE, BASE + 100))
        t.admin = t.user(admin=True)
        self.made.append(t)
        return t

    def done(self):
        for t in self.made:
            self.lifecycle(t, "uninstalled")
        self.made = []


@pytest.fixture(scope="module")
def shared(module_stacks, fake):
    st = module_stacks({"50-reaper.conf": stack_drop_in(fake, DROP_IN)},
                       workers=2, tag="stack", checks=CHECKS)
    return ReportEnv(st, fake)


@pytest.fixture
def env(shared):
    yield shared
    shared.done()


# Writing as the accounts do.

def personal_template(t, acct):
    r = t.req("POST", "/api/templates", acct, body={
        "name": f"mine {secrets.token_hex(3)}", "body": "hello",
        "scope": "personal"})
    assert r.status_code == 201, (r.status_code, r.text)
    return r.json()["id"]


def template_of(t, acct, tid):
    return t.req("GET", f"/api/templates/{tid}", acct)


def accounts_with_templates(t, n):
    """n fresh accounts, one personal template each."""
    out = []
    for _ in range(n):
        a = t.user()
        personal_template(t, a)
        out.append(a)
    return out


def nodes(t, acct, pid, version, *issues):
    """Issue nodes added by acct at the top; the new version."""
    return t.apply(acct, pid, version, [add([str(i) for i in issues])]
                   )["version"]


def answered(site):
    """The statuses the fake answered, in order."""
    return [st for _, st in site.report_batches()]


# 1. 204: every id once a cycle.

def test_every_stored_account_is_reported_once_with_its_oldest_time(env):
    t = env.tenant()
    a, b, c = t.user(), t.user(), t.user()
    personal_template(t, a)
    p = t.create(b)
    v = nodes(t, b, p["id"], p["version"], BASE + 1)
    # c only holds an access entry on b's panorama.
    t.share(b, p["id"], [{"grantee": "account", "id": c, "level": "view"},
                         {"grantee": "everyone", "level": "view"}])
    assert v == 2
    before = time.time()

    p1 = report(env)
    d = detail(ok(p1))
    assert d == {"status": "ok", "tenants": 1, "reported": 3, "closed": 0,
                 "updated": 0, "deferred": 0, "refused": 0, "failed": 0,
                 "forge": 0, "held": 0}, p1.stdout
    reqs = t.site.requests_to("POST", REPORT_ACCOUNTS)
    assert len(reqs) == 1 and all(r.verified for r in reqs), reqs
    assert reqs[0].claims["iss"] == atl.APP_KEY
    body = reqs[0].json()
    assert [x["accountId"] for x in body["accounts"]] == sorted([a, b, c])
    for x in body["accounts"]:
        assert RFC3339.match(x["updatedAt"]), x
        at = calendar.timegm(time.strptime(x["updatedAt"],
                                           "%Y-%m-%dT%H:%M:%SZ"))
        assert before - 120 <= at <= before + 1, x
    assert answered(t.site) == [204]
    assert t.site.report_errors() == []
    no_account_in(p1, [a, b, c, t.admin])
    assert "cycle_done reported=3 closed=0 updated=0 cycle_days=7" in \
        p1.stderr, p1.stderr

    # Within the cycle: nothing due, nothing sent, even with more stored.
    personal_template(t, t.user())
    d = detail(ok(report(env)))
    assert d["tenants"] == 0 and d["reported"] == 0, d
    assert len(t.site.requests_to("POST", REPORT_ACCOUNTS)) == 1


def test_cycle_period_is_followed_in_both_forms(env):
    t = env.tenant()
    personal_template(t, t.user())
    t.site.set_cycle_period("14 Days")
    p = report(env)
    ok(p)
    assert "cycle_days=14" in p.stderr, p.stderr
    u = env.tenant()
    personal_template(u, u.user())
    u.site.set_cycle_period("3")
    p = report(env)
    assert detail(ok(p))["tenants"] == 1     # u only: t is in its cycle
    assert "cycle_days=3" in p.stderr, p.stderr


def test_dry_run_sends_nothing(env):
    t = env.tenant()
    accounts_with_templates(t, 3)
    p = report(env, "--dry-run")
    out = ok(p)
    assert re.search(r"^report: tenant [0-9a-f]{32}: would report 3 "
                     r"account ids$", out, re.M), out
    assert detail(out)["status"] == "ok"
    assert t.site.count("POST", REPORT_ACCOUNTS) == 0
    # Nothing changed: a real run then reports them.
    assert detail(ok(report(env)))["reported"] == 3


# 2. Closed and updated accounts.

def test_a_closed_account_is_erased_and_its_panorama_left_to_admins(env):
    t = env.tenant()
    x, y = t.user(), t.user()
    mine = personal_template(t, x)
    yours = personal_template(t, y)
    # X's panorama with nodes by X and by Y (shared for editing).
    px = t.create(x)
    t.share(x, px["id"], [{"grantee": "account", "id": y, "level": "edit"}])
    v = nodes(t, x, px["id"], px["version"], BASE + 1)
    v = nodes(t, y, px["id"], v, BASE + 2)
    # Y's panorama, where X may edit and did.
    py = t.create(y)
    t.share(y, py["id"], [{"grantee": "account", "id": x, "level": "edit"},
                          {"grantee": "everyone", "level": "view"}])
    vy = nodes(t, x, py["id"], py["version"], BASE + 3)
    assert template_of(t, x, mine).status_code == 200
    t.site.close_accounts(x)
    t.site.update_accounts(y)

    p = report(env)
    d = detail(ok(p))
    assert (d["reported"], d["closed"], d["updated"]) == (2, 1, 1), d
    no_account_in(p, [x, y])
    assert answered(t.site) == [200]

    # X's personal template is gone; Y's is untouched ("updated").
    assert template_of(t, x, mine).status_code == 404
    r = template_of(t, y, yours)
    assert r.status_code == 200 and r.json()["version"] == 1, r.text

    # X's panorama: managed by admins only, a version on.
    got = t.read(t.admin, px["id"])
    assert got["owner"] != x and got["canManage"], got
    assert got["version"] == v + 1, (got, v)
    assert t.get(x, px["id"]).status_code == 404
    g = t.read(y, px["id"])            # Y may still edit it, not manage
    assert g["canEdit"] and not g["canManage"], g
    r = t.patch(y, px["id"], {"version": got["version"], "name": "mine"})
    assert r.status_code == 403, (r.status_code, r.text)
    r = t.patch(t.admin, px["id"], {"version": got["version"],
                                    "name": "kept by the site"})
    assert r.status_code == 200, (r.status_code, r.text)

    # Its history: a batch of the system on top, X's own by a former user.
    hist = t.batches(t.admin, px["id"])
    assert hist[0]["kind"] == "system" and hist[0]["actor"] is None, hist
    actors = [h["actor"] for h in hist]
    assert x not in actors and FORMER in actors and y in actors, actors
    assert x not in json.dumps(hist)

    # Y's panorama: X's entry gone, everyone's kept, X's node's history
    # by a former user, a version on.
    r = t.access(y, py["id"])
    assert r.status_code == 200
    assert r.json()["entries"] == [{"grantee": "everyone", "level":
                                    "view"}], r.json()
    assert t.read(y, py["id"])["version"] == vy + 1
    assert [h["actor"] for h in t.batches(y, py["id"])] == [None, FORMER]
    # X, should a token still name it, sees nothing of its old work.
    r = t.req("GET", "/api/panoramas", x)
    assert r.status_code == 200
    assert [q["id"] for q in r.json()["panoramas"]] == [py["id"]], \
        r.json()                       # py: everyone may view it

    # The batch held X and Y only: the admin, who only read and renamed,
    # stores nothing of its own.
    assert sorted(t.site.report_batches()[0][0]) == sorted([x, y])


# 3. Waiting, retrying, resuming.

def test_429_stops_the_tenant_and_a_later_run_resumes_at_the_cursor(env):
    t = env.tenant()
    accts = accounts_with_templates(t, 94)
    ids = sorted(accts)
    t.site.script_reports("204", "429:5")

    p = report(env)
    d = detail(ok(p))                   # deferred is not a failure
    assert (d["reported"], d["deferred"], d["refused"]) == (90, 1, 0), d
    assert "reason=report_deferred status=429 wait=5" in p.stderr, p.stderr
    batches = t.site.report_batches()
    assert [len(b) for b, _ in batches] == [90, 4], batches
    assert [b for b, _ in batches] == [ids[:90], ids[90:]]
    assert answered(t.site) == [204, 429]

    # Before Retry-After: not due.
    d = detail(ok(report(env)))
    assert d["tenants"] == 0, d
    assert len(t.site.report_batches()) == 2

    time.sleep(5.2)
    p = report(env)
    d = detail(ok(p))
    assert (d["tenants"], d["reported"], d["deferred"]) == (1, 4, 0), d
    assert [b for b, _ in t.site.report_batches()][2] == ids[90:]
    # Every id answered once, none twice.
    assert t.site.reported_ids() == ids
    no_account_in(p, accts)


def test_503_without_retry_after_waits_an_hour(env):
    t = env.tenant()
    accounts_with_templates(t, 2)
    t.site.script_reports("503")
    p = report(env)
    assert detail(ok(p))["deferred"] == 1
    assert "reason=report_deferred status=503 wait=3600" in p.stderr, \
        p.stderr
    assert detail(ok(report(env)))["tenants"] == 0


def test_a_refusal_is_logged_and_the_next_run_retries(env):
    t = env.tenant()
    x = t.user()
    mine = personal_template(t, x)
    others = accounts_with_templates(t, 2)
    t.site.close_accounts(x)
    t.site.script_reports("400", "malformed", "unsent")
    sent = sorted([x] + others)
    for cause, status in (("refused", 400), ("bad_reply", 200),
                          ("bad_reply", 200)):
        p = report(env)
        d = detail(ok(p))       # Atlassian's side: the audit watches it
        assert (d["refused"], d["failed"], d["closed"]) == (1, 0, 0), d
        assert f"reason=report_failed cause={cause} status={status}" in \
            p.stderr, p.stderr
        no_account_in(p, sent)
        # Nothing erased on a refusal or an answer not taken whole.
        assert template_of(t, x, mine).status_code == 200
    # Each run sent the same batch again; the fourth is answered.
    p = report(env)
    d = detail(ok(p))
    assert (d["reported"], d["closed"]) == (3, 1), d
    assert [b for b, _ in t.site.report_batches()] == [sent] * 4
    assert answered(t.site) == [400, 200, 200, 200]
    assert template_of(t, x, mine).status_code == 404


def test_a_run_killed_after_a_stored_answer_resumes_with_the_next_batch(
        env):
    t = env.tenant()
    accts = accounts_with_templates(t, 92)
    ids = sorted(accts)
    killed_at(report(env, kill_at="report.batch_done"), "report.batch_done")
    assert [b for b, _ in t.site.report_batches()] == [ids[:90]]
    p = report(env, steps=True)
    d = detail(ok(p))
    assert (d["reported"], d["tenants"]) == (2, 1), d
    assert [b for b, _ in t.site.report_batches()] == [ids[:90], ids[90:]]
    assert t.site.reported_ids() == ids
    assert steps_of(p) == ["report.batch_answered", "report.batch_done",
                           "report.cycle_done"], steps_of(p)


def test_a_run_killed_before_the_answer_is_stored_sends_that_batch_again(
        env):
    """The one window where a batch is reported twice: its answer came
    but the run died before storing it (nothing was erased either)."""
    t = env.tenant()
    x = t.user()
    mine = personal_template(t, x)
    t.site.close_accounts(x)
    killed_at(report(env, kill_at="report.batch_answered"),
              "report.batch_answered")
    assert template_of(t, x, mine).status_code == 200
    d = detail(ok(report(env)))
    assert (d["reported"], d["closed"]) == (1, 1), d
    assert [b for b, _ in t.site.report_batches()] == [[x], [x]]
    assert template_of(t, x, mine).status_code == 404


# 4. The operator's view.

def test_audit_shows_the_promise_and_sees_an_overdue_tenant(env):
    t = env.tenant()
    accounts_with_templates(t, 1)
    ok(report(env))

    def verdict(at=None):
        p = ctl(env.etc, "audit", "--json", at=at)
        assert p.returncode in (0, 1), out_of(p)
        doc = json.loads(p.stdout)
        v = {x["name"]: x for x in doc["promises"]}
        assert "accounts_reported" in v, doc
        x = v["accounts_reported"]
        assert x["promise"] == "account ids reported, closed ones erased"
        return x["ok"], x["evidence"]

    good, ev = verdict()
    assert good, ev
    assert "1 of 1 installed tenants reported within their cycle" in ev, ev
    assert "0 overdue" in ev, ev
    p = ctl(env.etc, "audit")
    assert re.search(r"^(ok|BROKEN)\s+accounts_reported\s+account ids "
                     r"reported, closed ones erased$", p.stdout, re.M), \
        p.stdout
    # Nine days on, no run since: overdue (7 days and a daily run's slack).
    good, ev = verdict(at="+9d")
    assert not good, ev
    assert re.search(r"[1-9]\d* overdue", ev), ev
