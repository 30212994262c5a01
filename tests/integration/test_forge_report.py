"""
Personal-data reporting of tenants reached through Forge alone
(src/fcgi/route_forge.c): such a tenant has no Connect secret, so the
reaper cannot sign its report (job_report.c skips it); Forge's hourly
trigger, POST /forge/cron, brings the app system token, and the worker
answers 204 at once and then, after the reply, reports the tenant's due
account ids with that token to [forge] report_url (forge_fake.py part 4:
Atlassian's API, answering as scripted), in batches of at most 90, and
erases closed accounts.

What Forge, Atlassian and an account owner rely on:
- the trigger's answer does not wait for the report (Forge gives up
  after 5 s);
- every stored id reported once a cycle, with the trigger's token; a
  closed account's personal template gone, checked through /forge/api;
- a trigger without a token reports nothing and fails nothing; one
  whose tenant's cycle is done sends nothing;
- 429 with Retry-After: the tenant stops, a trigger before the wait
  sends nothing, a later one resumes from the cursor (no batch twice);
- a tenant linked to a Connect install is the reaper's: never reported
  by a trigger;
- two triggers at once on two workers: one run works the cycle, the
  other finds it claimed and sends nothing (each id once a cycle);
- the app log holds counts, never an account id or a token.
"""
import re
import threading
import time
import uuid

import pytest

import atlassian as atl
import canned_client
from forge_fake import FakeForge
from test_forge import Env, tenant_id

BATCH_MAX = 90


class ReportEnv(Env):
    """test_forge's Env with two workers (one may be reporting while the
    other serves) and helpers for the trigger and the log."""

    def cron(self, inst, system=None):
        """POST /forge/cron with a trigger's FIT (and system token):
        (reply, seconds it took)."""
        t0 = time.monotonic()
        r = self.post("/forge/cron", self.forge.fit(inst, event=True),
                      system=system)
        took = time.monotonic() - t0
        assert r.status_code == 204, (r.status_code, r.text)
        return r, took

    def system(self, inst):
        tok = inst.system_token()
        self.secrets.append(tok)
        return tok

    def lines(self, rid, event):
        return [ln for ln in self.st.log_text().splitlines()
                if f"rid={rid} " in ln and f"event={event} " in ln]

    def wait_report(self, r, timeout=15.0):
        """The log line of the report that followed the trigger r."""
        rid = r.headers["X-Request-Id"]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.lines(rid, "forge_report")
            if got:
                return got[0]
            time.sleep(0.05)
        raise AssertionError(f"no report after the trigger {rid}")

    def cron_line(self, r):
        got = self.lines(r.headers["X-Request-Id"], "forge_cron")
        assert len(got) == 1, got
        return got[0]


@pytest.fixture(scope="module")
def env(module_stacks, fake):
    return ReportEnv(module_stacks, fake, workers=2)


def counts(line):
    return {k: int(v) for k, v in re.findall(r" (batches|reported|closed|"
                                              r"updated)=(\d+)", line)}


def no_account_in_log(env, accounts):
    text = env.st.log_text()
    for a in accounts:
        assert a not in text, "an account id is in the app log"
        assert a.rpartition(":")[2] not in text, "an account id's uuid " \
            "is in the app log"
    for tok in env.secrets:
        assert tok not in text, "a system token is in the app log"
        # Its signature alone would do.
        assert tok.rpartition(".")[2] not in text, "a system token's " \
            "signature is in the app log"


def forge_tenant(env, n_accounts):
    """A Forge-only tenant whose n accounts own a personal template
    each (and one a panorama): (inst, templates client, accounts,
    {account: template id})."""
    inst = env.forge.installation()
    t = env.templates(inst)
    accounts, tpls = [], {}
    for _ in range(n_accounts):
        a = t.user()
        tpls[a] = t.create(a, name="mine")["id"]
        accounts.append(a)
    p = env.panoramas(inst)
    owner = p.user()
    p.create(owner)
    accounts.append(owner)
    return inst, t, accounts, tpls


def test_forge_report_after_the_reply_and_closed_account_erased(env):
    inst, t, accounts, tpls = forge_tenant(env, 4)
    tid = tenant_id(t, accounts[0])
    closed, kept = accounts[0], accounts[1]
    env.forge.report.close_accounts(closed)
    # Atlassian is slow: the trigger's answer must not wait for it.
    env.forge.report.set_delay(2.0)
    sys = env.system(inst)
    try:
        r, took = env.cron(inst, system=sys)
        assert took < 1.0, f"the trigger's reply took {took:.2f}s"
        assert "report=after_reply" in env.cron_line(r)
        line = env.wait_report(r)
    finally:
        env.forge.report.set_delay(0)
    assert f"tenant={tid} outcome=cycle_done" in line, line
    assert counts(line) == {"batches": 1, "reported": len(accounts),
                            "closed": 1, "updated": 0}, line
    batches = env.forge.report.batches(inst)
    assert [st for _, st in batches] == [200], batches
    assert sorted(batches[0][0]) == sorted(accounts)
    # With the trigger's own system token, as a Bearer.
    assert env.forge.report.tokens(inst) == [sys]
    # The closed account's personal template is gone; the others stay.
    assert tpls[closed] not in t.ids(closed)
    assert t.get(closed, tpls[closed]).status_code == 404
    assert tpls[kept] in t.ids(kept)
    r = t.get(kept, tpls[kept])
    assert r.status_code == 200 and r.json()["name"] == "mine", r.text

    # The cycle is done: the next trigger sends nothing.
    r, _ = env.cron(inst, system=env.system(inst))
    assert "report=after_reply" in env.cron_line(r)
    time.sleep(1.5)
    assert len(env.forge.report.batches(inst)) == 1
    assert env.forge.report.token_errors() == []
    no_account_in_log(env, accounts)


def test_forge_report_not_without_a_token(env):
    inst, t, accounts, _ = forge_tenant(env, 2)
    r, _ = env.cron(inst)
    assert "report=no_token" in env.cron_line(r)
    # The worker still knows the clients' tokens: only the trigger's is
    # used.  And without a body at all, as Forge may post.
    r = env.st.request("POST", "/forge/cron", headers=FakeForge.headers(
        env.forge.fit(inst, event=True)))
    assert r.status_code == 204, r.text
    assert "report=no_token" in env.cron_line(r)
    time.sleep(1.5)
    assert env.forge.report.batches(inst) == []
    # The next trigger with its token reports.
    r, _ = env.cron(inst, system=env.system(inst))
    assert "outcome=cycle_done" in env.wait_report(r)
    assert sorted(env.forge.report.batches(inst)[0][0]) == sorted(accounts)
    no_account_in_log(env, accounts)


def test_forge_report_429_stops_and_a_later_trigger_resumes(env):
    inst, t, accounts, _ = forge_tenant(env, BATCH_MAX + 4)
    tid = tenant_id(t, accounts[0])
    env.forge.report.script_reports("204", "429:2")
    r, took = env.cron(inst, system=env.system(inst))
    assert took < 1.0, took
    line = env.wait_report(r)
    assert f"tenant={tid} outcome=deferred" in line and \
        "status=429 wait=2 " in line, line
    assert counts(line)["reported"] == BATCH_MAX, line
    batches = env.forge.report.batches(inst)
    assert [(len(ids), st) for ids, st in batches] == \
        [(BATCH_MAX, 204), (len(accounts) - BATCH_MAX, 429)], batches
    # Before Retry-After is over: nothing sent.
    r, _ = env.cron(inst, system=env.system(inst))
    time.sleep(1.0)
    assert len(env.forge.report.batches(inst)) == 2
    time.sleep(1.5)
    # After it: from the cursor, the first batch not sent again.
    r, _ = env.cron(inst, system=env.system(inst))
    line = env.wait_report(r)
    assert "outcome=cycle_done" in line, line
    assert counts(line)["reported"] == len(accounts) - BATCH_MAX, line
    batches = env.forge.report.batches(inst)
    assert [st for _, st in batches] == [204, 429, 204], batches
    assert batches[2][0] == batches[1][0]
    answered = [i for ids, st in batches if st in (200, 204) for i in ids]
    assert sorted(answered) == sorted(accounts), "an id reported twice " \
        "or never"
    assert all(len(ids) <= BATCH_MAX for ids, _ in batches)
    no_account_in_log(env, accounts)


def test_forge_report_not_for_a_connect_linked_tenant(env, fake):
    inst = env.forge.installation()
    secret = atl.new_secret()
    site = fake.add_site(secret)
    client_key = atl.install(env.st, env.key, env.kid, site.base_url,
                             secret, installationId=inst.id,
                             cloudId=inst.cloud_id)

    class Connect(canned_client.Tenant):
        pass
    connect = Connect(env, client_key, secret, site)
    acct = atl.new_account_id()
    connect.create(acct, name="linked one")
    forge = env.templates(inst)
    assert tenant_id(forge, acct) == tenant_id(connect, acct)
    r, _ = env.cron(inst, system=env.system(inst))
    assert "report=reaper" in env.cron_line(r)
    time.sleep(1.5)
    assert env.forge.report.batches(inst) == []
    assert site.report_batches() == []
    no_account_in_log(env, [acct])



def test_forge_report_two_triggers_at_once_report_each_id_once(env):
    # Two deliveries of the trigger land on the two workers together
    # while Atlassian is slow: one run works the cycle, the other finds
    # it claimed (or, later, done) and sends nothing.
    inst, t, accounts, _ = forge_tenant(env, BATCH_MAX + 10)
    tid = tenant_id(t, accounts[0])
    replies = []

    def trigger():
        replies.append(env.cron(inst, system=env.system(inst))[0])

    env.forge.report.set_delay(1.0)
    try:
        threads = [threading.Thread(target=trigger) for _ in range(2)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(30)
        assert len(replies) == 2
        deadline = time.monotonic() + 20
        done = []
        while not done and time.monotonic() < deadline:
            done = [ln for r in replies for ln in env.lines(
                r.headers["X-Request-Id"], "forge_report")
                if "outcome=cycle_done" in ln]
            time.sleep(0.1)
        assert len(done) == 1, done
        assert f"tenant={tid} " in done[0], done
        time.sleep(2.5)
    finally:
        env.forge.report.set_delay(0)
    batches = env.forge.report.batches(inst)
    answered = [i for ids, st in batches if st in (200, 204) for i in ids]
    assert sorted(answered) == sorted(accounts), \
        [len(ids) for ids, _ in batches]
    assert [len(ids) for ids, _ in batches] == \
        [BATCH_MAX, len(accounts) - BATCH_MAX]
    # The other run, if it got as far as the claim, said so.
    lines = [ln for r in replies for ln in env.lines(
        r.headers["X-Request-Id"], "forge_report")]
    assert all("outcome=cycle_done" in ln or "outcome=busy" in ln
               for ln in lines), lines
    no_account_in_log(env, accounts)
