"""
Black-box tests of the reaper's nightly reconcile of panoramas
(`cellar-reaper reconcile`, also part of `run`; src/reaper/
job_reconcile.c): Jira sends no webhook per issue when a project is
deleted, and a webhook can be lost, so once a day each installed
tenant's Jira is asked, as the app (POST /rest/api/3/issue/bulkfetch),
which issues its panoramas show still exist, and the nodes of the others
are removed, their children moving up.

What a customer and an operator rely on:
- the nodes of deleted issues go, children moved up in their place,
  every other node, panorama and version untouched, and each panorama
  changed shows a batch of the system in its history; a second run
  changes nothing;
- Jira failing for a tenant (an error status, no answer, a reply that
  is not a bulkfetch answer, one naming an issue not asked about) changes
  nothing for that tenant, costs one timeout at most, fails the job
  (exit 1) and leaves the other tenants reconciled;
- the brake: when most of a tenant's issues (and more than 10) look
  deleted at once (an app user who lost Browse rights looks the same),
  nothing changes and reason=reconcile_suspicious is logged, until the
  operator raises [panoramas] reconcile_max_percent;
- --dry-run asks Jira and says what would go, changing nothing;
- a run killed (kill -9) between two tenants or two issues is finished by
  the next one;
- departed tenants are not asked; no issue id or key is ever in the
  reaper's output.

Panoramas are made through the HTTP API as a user of the tenant (every
issue public on the fake's site, so the user may add and read them).
Tests share one stack (test_reaper's Env); each uninstalls its tenants
when it ends, so that a departed tenant, which the reconcile skips, never
shows up in another test's counts.
"""
import re
import time

import pytest

import atlassian as atl
from harness import closed_port_url
from jira_fake import BULKFETCH
from test_reaper import (CHECKS, Env, alt_etc, killed_at, ok, out_of,
                         reaper, stack_drop_in, steps_of)

# Issue ids unlike any pid, port or time in a log line: the output
# checks look for them.
BASE = 734_000_100
TIMEOUT_MS = 1500           # [jira] timeout_ms of the stacks here
STEPS = ["reconcile.issue_removed", "reconcile.tenant_done"]
DETAIL = re.compile(
    r"^reconcile: (ok|FAILED)(, dry run)?, (\d+) tenants checked, (\d+) "
    r"issue ids asked, (\d+) gone, (\d+) nodes removed, (\d+) tenants "
    r"failed, \d+ Forge-only tenants left to Forge's events"
    r"( \(nothing removed\))? \(\d+\.\d\d s\)$", re.M)
DROP_IN = f"[jira]\ncache_seconds = 0\ntimeout_ms = {TIMEOUT_MS}\n"


def detail(out):
    """The reconcile line of a reaper's stdout: {"status", "checked",
    "asked", "gone", "removed", "failed"}."""
    m = DETAIL.search(out)
    assert m, f"no reconcile result line in {out!r}"
    return {"status": m.group(1), "checked": int(m.group(3)),
            "asked": int(m.group(4)), "gone": int(m.group(5)),
            "removed": int(m.group(6)), "failed": int(m.group(7))}


def reconcile(env, *args, **kw):
    """cellar-reaper --now [ARGS] reconcile."""
    return reaper(env.etc, "--now", *args, "reconcile", **kw)


def no_issue_in(p, ids):
    """Neither the reaper's stdout nor its log (stderr) holds an issue id
    or key."""
    text = p.stdout + p.stderr
    for i in ids:
        assert str(i) not in text, f"issue id {i} in the output:\n" + \
            out_of(p)
    assert "FAKE-" not in text, out_of(p)


class Pano:
    """A panorama made and read through the API by t's account."""

    def __init__(self, t, name):
        self.t = t
        r = t.req("POST", "/api/panoramas", t.acct, body={"name": name})
        assert r.status_code == 201, (r.status_code, r.text)
        p = r.json()
        self.id, self.version = p["id"], p["version"]

    def act(self, *actions):
        r = self.t.req("POST", f"/api/panoramas/{self.id}/actions",
                       self.t.acct, body={"version": self.version,
                                          "actions": list(actions)})
        assert r.status_code == 200, (r.status_code, r.text)
        self.version = r.json()["version"]
        return r.json()["added"]

    def add(self, parent, after, *issues):
        """Issue nodes under parent after after; their node ids."""
        return self.act({"op": "add", "parent": parent, "after": after,
                         "issueIds": [str(i) for i in issues]})

    def folder(self, parent, after, title):
        return self.act({"op": "addFolder", "parent": parent,
                         "after": after, "title": title})[0]

    def get(self):
        r = self.t.req("GET", f"/api/panoramas/{self.id}", self.t.acct)
        assert r.status_code == 200, (r.status_code, r.text)
        return r.json()

    def tree(self):
        """(version, [(node, depth, issue id or folder title)]) in
        pre-order, every page read."""
        rows, cursor, version = [], None, None
        for _ in range(100):
            params = {"limit": 500}
            if cursor:
                params["from"] = cursor
            r = self.t.req("GET", f"/api/panoramas/{self.id}/tree",
                           self.t.acct, params=params)
            assert r.status_code == 200, (r.status_code, r.text)
            page = r.json()
            assert version in (None, page["version"]), page
            version = page["version"]
            for x in page["rows"]:
                assert not x.get("restricted"), x
                rows.append((x["node"], x["depth"], x["issueId"]
                             if x["kind"] == "issue" else x["title"]))
            cursor = page["next"]
            if cursor is None:
                return version, rows
        raise AssertionError("more than 100 pages")

    def shape(self):
        """The tree without node ids: [(depth, issue id or title)]."""
        return [(d, what) for _, d, what in self.tree()[1]]

    def history(self):
        r = self.t.req("GET", f"/api/panoramas/{self.id}/history",
                       self.t.acct, params={"limit": 100})
        assert r.status_code == 200, (r.status_code, r.text)
        return r.json()["batches"]


class ReconcileEnv(Env):
    """test_reaper's Env with the tenants a test made, uninstalled when
    it ends."""

    def __init__(self, st, fake):
        super().__init__(st, fake)
        self.made = []

    def tenant(self, templates=0):
        t = super().tenant(templates)
        # Everyone may browse every issue; the app's global permission
        # (the panoramas' gate) is granted by default.
        t.site.make_public(*range(BASE, BASE + 1000))
        self.made.append(t)
        return t

    def reinstall_at(self, t, base_url):
        """t installed again with another Jira base URL (its data kept)."""
        tok = atl.install_token(self.key, self.kid, t.client_key,
                                aud=self.st.base_url, path="/installed")
        body = atl.install_payload(t.client_key, t.secret, base_url)
        r = self.st.request("POST", "/installed", json=body,
                            headers={"Authorization": f"JWT {tok}"})
        assert r.status_code == 204, (r.status_code, r.text)

    def done(self):
        """Every tenant made departed (reconcile skips them), its site
        answering again."""
        for t in self.made:
            t.site.set_bulkfetch_failure(None)
            t.site.replies.clear()
            self.lifecycle(t, "uninstalled")
        self.made = []


@pytest.fixture(scope="module")
def shared(module_stacks, fake):
    st = module_stacks({"50-reaper.conf": stack_drop_in(fake, DROP_IN)},
                       workers=2, tag="stack", checks=CHECKS)
    return ReconcileEnv(st, fake)


@pytest.fixture
def env(shared):
    yield shared
    shared.done()


def own_env(make_stack, fake, tag):
    st = make_stack({"50-reaper.conf": stack_drop_in(fake, DROP_IN)},
                    workers=1, tag=tag, checks=CHECKS)
    return ReconcileEnv(st, fake)


def scenario(t):
    """Two panoramas of t; issues G1 and G2 are deleted in Jira.

    P:  F                    Q:  K
          G1                     K + 1 ... K + 119
            K                    (120 kept issues)
            Sub
          K + 1
        G1
        G2

    Returns (P, Q, node ids of P by name, [every issue id], [gone]).
    """
    g1, g2, k = BASE + 1, BASE + 2, BASE + 10
    p = Pano(t, "P")
    n = {"F": p.folder(None, None, "F")}
    n["G1"], = p.add(n["F"], None, g1)
    n["K"], = p.add(n["G1"], None, k)
    n["Sub"] = p.folder(n["G1"], n["K"], "Sub")
    n["K1"], = p.add(n["F"], n["G1"], k + 1)
    n["G1b"], n["G2"] = p.add(None, n["F"], g1, g2)
    q = Pano(t, "Q")
    q.add(None, None, *range(k, k + 120))
    t.site.delete_issues(g1, g2)
    return p, q, n, [g1, g2] + list(range(k, k + 120)), [g1, g2]


def expect_reconciled(p, n):
    """P's tree once G1 and G2 are gone: G1's children in its place."""
    k = BASE + 10
    assert p.tree()[1] == [(n["F"], 0, "F"), (n["K"], 1, str(k)),
                           (n["Sub"], 1, "Sub"), (n["K1"], 1, str(k + 1))]


def bulkfetch_asked(site):
    """Every bulkfetch call to site was the app's, well formed: [[ids]]."""
    calls = site.requests_to("POST", BULKFETCH)
    for rec in calls:
        assert rec.verified, rec.jwt_error
        q = rec.json()
        assert set(q) == {"issueIdsOrKeys", "fields"}, q
        assert q["fields"] == ["id"], q
        ids = q["issueIdsOrKeys"]
        assert 1 <= len(ids) <= 100, len(ids)
        assert all(isinstance(i, str) and i.isdigit() for i in ids), ids
    return site.bulkfetch_calls()


# 1. The nodes of deleted issues go; the rest stays.

def test_reconcile_removes_the_nodes_of_deleted_issues_and_nothing_else(
        make_stack, fake):
    env = own_env(make_stack, fake, "removes")
    a = env.tenant()
    p, q, n, ids, gone = scenario(a)
    q_before, q_history = q.tree(), q.history()
    p_history = p.history()
    # Not asked: a departed tenant with a panorama of deleted issues.
    gone_away = env.tenant()
    Pano(gone_away, "O").add(None, None, BASE + 1, BASE + 2)
    gone_away.site.delete_issues(BASE + 1)
    env.lifecycle(gone_away, "uninstalled")

    # The daily run: reconcile after purge, before rotate and backup.
    p1 = reaper(env.etc, "run", steps=True)
    out = ok(p1)
    jobs = [ln.split(":")[0] for ln in out.splitlines()
            if re.match(r"^[a-z]+: ", ln)]
    assert jobs == ["silence", "purge", "reconcile", "report", "rotate",
                    "backup", "prune"], out
    assert detail(out) == {"status": "ok", "checked": 1, "asked": 122,
                           "gone": 2, "removed": 3, "failed": 0}, out
    assert set(steps_of(p1)) >= set(STEPS), steps_of(p1)
    no_issue_in(p1, ids)

    expect_reconciled(p, n)
    assert p.get()["nodes"] == 4
    assert q.tree() == q_before, "a panorama without deleted issues changed"
    assert q.history() == q_history
    # One batch of the system per deleted issue P showed.
    new = p.history()[:len(p.history()) - len(p_history)]
    assert [b["kind"] for b in new] == ["system", "system"], new
    assert all(b["actor"] is None for b in new), new
    assert p.history()[len(new):] == p_history
    assert p.tree()[0] == p.get()["version"] == p_history[0]["version"] + 2

    # Asked as the app, in calls of at most 100, each id once.
    calls = bulkfetch_asked(a.site)
    assert len(calls) == 2, calls
    assert sorted(int(i) for c in calls for i in c) == sorted(ids)
    assert gone_away.site.count("POST", BULKFETCH) == 0, \
        "a departed tenant's Jira was asked"

    # Daily: the next run does not ask again; a forced one finds nothing.
    out = ok(reaper(env.etc, "run"))
    assert re.search(r"^reconcile: not due \(last done ", out, re.M), out
    assert a.site.count("POST", BULKFETCH) == 2
    version = p.get()["version"]
    p2 = reconcile(env)
    assert detail(ok(p2)) == {"status": "ok", "checked": 1, "asked": 120,
                              "gone": 0, "removed": 0, "failed": 0}
    no_issue_in(p2, ids)
    expect_reconciled(p, n)
    assert p.get()["version"] == version
    assert q.tree() == q_before


# 2. Jira failing for a tenant.

def fail_jira(env, t, how):
    if how == "500":
        t.site.set_bulkfetch_failure("500")
    elif how == "garbage":
        t.site.set_bulkfetch_failure("garbage")
    elif how == "timeout":
        t.site.set_bulkfetch_failure("timeout")
    elif how == "refused":
        env.reinstall_at(t, closed_port_url())
    elif how == "unasked":
        t.site.reply("POST", BULKFETCH, json={
            "issues": [{"id": str(BASE + 999), "key": "FAKE-1"}],
            "issueErrors": []})
    elif how == "no_issues":
        t.site.reply("POST", BULKFETCH, json={"issueErrors": []})


def heal_jira(env, t, how):
    t.site.set_bulkfetch_failure(None)
    t.site.replies.clear()
    if how == "refused":
        env.reinstall_at(t, t.site.base_url)


# How Jira fails -> the status and cause the log gives.
FAILURES = {"500": ("500", "status"), "garbage": ("200", "bad_reply"),
            "timeout": ("0", "unreachable"), "refused": ("0", "unreachable"),
            "unasked": ("200", "unasked_issue"),
            "no_issues": ("200", "bad_reply")}


@pytest.mark.parametrize("how", list(FAILURES))
def test_a_jira_failing_for_a_tenant_changes_nothing_there_and_fails_the_job(
        env, how):
    a = env.tenant()           # Jira fails
    pa, qa, na, ids, gone = scenario(a)
    b = env.tenant()           # Jira answers
    pb = Pano(b, "B")
    pb.add(None, None, BASE + 1, BASE + 2, BASE + 3)
    b.site.delete_issues(BASE + 2)
    before = pa.tree(), qa.tree(), pa.history()

    fail_jira(env, a, how)
    t0 = time.monotonic()
    p = reconcile(env)
    took = time.monotonic() - t0
    if how == "refused":
        # The workers need Jira to show the trees.
        env.reinstall_at(a, a.site.base_url)
    assert p.returncode == 1, out_of(p)
    assert detail(p.stdout) == {"status": "FAILED", "checked": 1,
                                "asked": 125, "gone": 1, "removed": 1,
                                "failed": 1}, out_of(p)
    status, cause = FAILURES[how]
    assert re.search(rf" error .*tenant={a.id} reason=reconcile_jira_failed "
                     rf"status={status} cause={cause}$", p.stderr, re.M), \
        out_of(p)
    assert not re.search(rf" error .*tenant={b.id}", p.stderr), out_of(p)
    no_issue_in(p, ids)
    assert (pa.tree(), qa.tree(), pa.history()) == before, \
        f"Jira failing ({how}) changed the tenant's panoramas"
    # One call and no retry: the tenant's first failure ends its turn.
    if how != "refused":
        assert a.site.count("POST", BULKFETCH) == 1
    if how == "timeout":
        assert took < 2 * TIMEOUT_MS / 1000 + 5, took
    # The other tenant was reconciled all the same.
    assert pb.shape() == [(0, str(BASE + 1)), (0, str(BASE + 3))]

    # Once Jira answers, the next run does the work.
    heal_jira(env, a, how)
    p = reconcile(env)
    assert detail(ok(p))["removed"] == 3, out_of(p)
    expect_reconciled(pa, na)


# 3. The brake.

def test_most_issues_looking_deleted_at_once_change_nothing_until_allowed(
        env, tmp_path):
    s = env.tenant()           # 15 of 20 gone: suspicious
    ps = Pano(s, "S")
    ps.add(None, None, *range(BASE, BASE + 20))
    s.site.delete_issues(*range(BASE, BASE + 15))
    m = env.tenant()           # 12 of 30 gone (40 %): removed
    pm = Pano(m, "M")
    pm.add(None, None, *range(BASE, BASE + 30))
    m.site.delete_issues(*range(BASE, BASE + 12))
    f = env.tenant()           # 10 of 10 gone: too few to brake
    pf = Pano(f, "F")
    pf.add(None, None, *range(BASE, BASE + 10))
    f.site.delete_issues(*range(BASE, BASE + 10))
    before = ps.tree(), ps.history()

    p = reconcile(env)
    assert p.returncode == 1, out_of(p)
    assert detail(p.stdout) == {"status": "FAILED", "checked": 2,
                                "asked": 60, "gone": 37, "removed": 22,
                                "failed": 1}, out_of(p)
    assert re.search(rf"tenant={s.id} reason=reconcile_suspicious "
                     r"gone=15 of=20$", p.stderr, re.M), out_of(p)
    assert (ps.tree(), ps.history()) == before
    assert pm.shape() == [(0, str(i)) for i in range(BASE + 12, BASE + 30)]
    assert pf.shape() == []

    # The operator, having looked: a higher limit lets it through.
    etc = alt_etc(env, tmp_path, "[panoramas]\nreconcile_max_percent = "
                  "100\n")
    p = reaper(etc, "--now", "reconcile")
    assert detail(ok(p))["removed"] == 15, out_of(p)
    assert ps.shape() == [(0, str(i)) for i in range(BASE + 15, BASE + 20)]


# 4. --dry-run.

def test_a_dry_run_asks_jira_and_says_what_would_go_changing_nothing(env):
    a = env.tenant()
    p, q, n, ids, gone = scenario(a)
    before = p.tree(), q.tree(), p.history(), q.history()

    d = reaper(env.etc, "--dry-run", "--now", "reconcile")
    out = ok(d)
    assert re.search(rf"^reconcile: tenant {a.id}: would remove the nodes "
                     r"of 2 deleted issues \(of 122\)$", out, re.M), out
    assert detail(out) == {"status": "ok", "checked": 1, "asked": 122,
                           "gone": 2, "removed": 0, "failed": 0}, out
    assert re.search(r"^reconcile: ok, dry run, .* \(nothing removed\) ",
                     out, re.M), out
    no_issue_in(d, ids)
    assert a.site.count("POST", BULKFETCH) == 2
    assert (p.tree(), q.tree(), p.history(), q.history()) == before

    assert detail(ok(reconcile(env)))["removed"] == 3
    expect_reconciled(p, n)


# 5. kill -9 in the middle; the next run finishes.

@pytest.mark.parametrize("step", STEPS)
def test_a_reconcile_killed_midway_is_finished_by_the_next_run(env, step):
    a = env.tenant()
    pa, qa, na, ids, gone = scenario(a)
    b = env.tenant()
    pb, qb, nb, _, _ = scenario(b)
    qb_before = qb.tree()

    untouched = pb.shape()
    assert pa.shape() == untouched and len(untouched) == 7

    killed_at(reconcile(env, kill_at=step), step)
    # The tenants' order is the registry's (install time, then id): the
    # one done first is either.
    first, second = sorted([(pa, na), (pb, nb)],
                           key=lambda x: x[0].shape() == untouched)
    assert second[0].shape() == untouched, "the second tenant was changed"
    if step == "reconcile.tenant_done":
        # Between tenants: the first is done, the second not begun.
        expect_reconciled(*first)
    else:
        # Between two issues of the first tenant: G1's nodes went (every
        # node of it), G2's not yet.
        assert first[0].shape() == [(0, "F"), (1, str(BASE + 10)),
                                    (1, "Sub"), (1, str(BASE + 11)),
                                    (0, str(BASE + 2))]

    p = reconcile(env)
    d = detail(ok(p))
    assert d["failed"] == 0 and d["checked"] == 2, out_of(p)
    expect_reconciled(pa, na)
    expect_reconciled(pb, nb)
    assert qb.tree() == qb_before
    # And nothing is left to do.
    assert detail(ok(reconcile(env)))["gone"] == 0
