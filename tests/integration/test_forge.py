"""
Forge Remote through the real stack (nginx, workers): Forge Invocation
Tokens (FITs) on /forge/..., the key set, calls back to Jira with the
app system token, Forge's own events, trigger and pre-uninstall, and
the tenant a Connect install shares with its Forge installation.  The
fake Forge (forge_fake.py) signs FITs with PyJWT and serves the key set
and each installation's app.apiBaseUrl, on the module's fake Atlassian.
"""
import hashlib
import json
import secrets
import struct
import subprocess
import time
import uuid

import pytest

import atlassian as atl
import canned_client
import panorama_client
from forge_fake import FakeForge, event_body
from harness import (CELLARCTL, internal_errors, leaks, raw_http,
                     read_text, unexpected_worker_exits)
from jira_fake import PERMISSIONS_CHECK

STACK_CHECKS = (internal_errors, unexpected_worker_exits)
EV_INSTALLED = "avi:forge:installed:app"
EV_UPGRADED = "avi:forge:upgraded:app"
EV_DELETED = "avi:jira:deleted:issue"


# Clients: the API of canned_client and panorama_client, through Forge.

class _ForgeReq:
    """A tenant client whose requests go to /forge/... with a FIT of
    its installation (principal: the account) and, unless told not to,
    the installation's app system token."""

    def __init__(self, env, inst, send_system=True):
        super().__init__(env, None, None, inst.site)
        self.inst = inst
        self.system = inst.system_token() if send_system else None

    def token(self, acct, project=None, **kw):
        return self.env.forge.fit(self.inst, principal=acct, project=project,
                                  **kw)

    def req(self, method, path, acct, project=None, token=None,
            headers=None, **kw):
        """canned_client's request, below /forge/ with Forge's headers."""
        fit = token or self.token(acct, project)
        h = FakeForge.headers(fit, self.system)
        h.update(headers or {})
        return super().req(method, "/forge" + path, acct, project,
                           token=fit, headers=h, **kw)


class ForgeTemplates(_ForgeReq, canned_client.Tenant):
    pass


class ForgePanoramas(_ForgeReq, panorama_client.Tenant):
    pass


class Env:
    def __init__(self, factory, fake, workers=1):
        self.fake = fake
        self.forge = FakeForge(fake)
        self.key, self.kid = fake.new_install_key("cellar-forge")
        drop_in = (f"[auth]\ninstall_keys_url = {fake.keys_url}\n"
                   "[jira]\ncache_seconds = 0\n" + self.forge.drop_in())
        self.st = factory({"50-forge.conf": drop_in}, workers=workers,
                          tag="stack", checks=STACK_CHECKS)
        # Tokens that must never reach a log.
        self.secrets = []
        factory.check(self.st, self.leaks)

    def leaks(self, st):
        logs = (st.app_log, st.access_log, st.nginx_error_log)
        return leaks(logs, [("token", s) for s in self.secrets])

    def templates(self, inst=None, **kw):
        c = ForgeTemplates(self, inst or self.forge.installation(), **kw)
        if c.system:
            self.secrets.append(c.system)
        return c

    def panoramas(self, inst=None, **kw):
        c = ForgePanoramas(self, inst or self.forge.installation(), **kw)
        if c.system:
            self.secrets.append(c.system)
        return c

    def post(self, path, fit, body=None, system=None):
        h = FakeForge.headers(fit, system)
        kw = {}
        if body is not None:
            h["Content-Type"] = "application/json"
            kw["data"] = json.dumps(body).encode()
        return self.st.request("POST", path, headers=h, **kw)

    def ctl(self, *args):
        p = subprocess.run([str(CELLARCTL), "--config", str(self.st.etc),
                            *args], capture_output=True, text=True,
                           timeout=30)
        assert p.returncode == 0, p.stdout + p.stderr
        return p.stdout

    def tenant_row(self, tid):
        rows = [ln.split("\t") for ln in self.ctl("tenants").splitlines()
                if ln and not ln.startswith("#")]
        mine = [r for r in rows if r[0] == tid]
        assert len(mine) == 1, rows
        return mine[0]

    def tenant_state(self, tid):
        return self.tenant_row(tid)[1]

    def audit_events(self, tid):
        """The registry's audit events of tenant tid, in order (read
        with sqlcipher and the registry key of master key 1)."""
        master = (self.st.dir / "keys" / "master-0001.key").read_bytes()
        key = hashlib.blake2b(b"", digest_size=32, key=master,
                              salt=struct.pack("<Q", 1) + bytes(8),
                              person=b"REGISTRY" + bytes(8)).hexdigest()
        script = (f"PRAGMA key = \"x'{key}'\";\n.timeout 10000\n"
                  f"SELECT event FROM audit WHERE tenant_id = '{tid}' "
                  "ORDER BY id;\n")
        p = subprocess.run(["sqlcipher", str(self.st.dir / "state" /
                                             "registry.db")],
                           input=script, capture_output=True, text=True,
                           timeout=60)
        assert p.returncode == 0 and "Error" not in p.stderr, p.stderr
        return p.stdout.split()


@pytest.fixture(scope="module")
def env(module_stacks, fake):
    return Env(module_stacks, fake)


def tenant_id(c, acct):
    r = c.req("GET", "/api/tenant", acct)
    assert r.status_code == 200, (r.status_code, r.text)
    return r.json()["tenant"]["id"]


def check_error(r, status, code):
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["Content-Type"].startswith("application/json"), r.headers
    body = r.json()
    assert body["error"] == code, body
    assert "Location" not in r.headers
    return body


# Forge off.

def test_forge_off_every_forge_path_is_404(stack):
    for method, path in (("GET", "/forge/api/tenant"),
                         ("GET", "/forge/api/templates"),
                         ("POST", "/forge/events"), ("POST", "/forge/cron"),
                         ("POST", "/forge/pre-uninstall")):
        r = stack.request(method, path,
                          headers={"Authorization": "Bearer a.b.c"})
        check_error(r, 404, "not_found")


# Every route.

def test_valid_fit_on_every_forge_route(env):
    t = env.templates()
    admin = t.user(admin=True)
    assert tenant_id(t, admin)
    tpl = t.create(admin, scope="global", name="shared one")
    mine = t.create(admin, name="mine")
    assert {mine["id"], tpl["id"]} <= set(t.ids(admin))
    r = t.get(admin, tpl["id"])
    assert r.status_code == 200, r.text
    r = t.put(admin, r.json(), name="renamed")
    assert r.status_code == 200, r.text
    r = t.render(admin, tpl["id"], {"issue.key": "OPS-1"})
    assert r.status_code == 200 and r.json()["text"] == "text", r.text
    r = t.use(admin, tpl["id"])
    assert r.status_code == 204, r.text
    x = t.export(admin)
    assert {y["name"] for y in x["templates"]} >= {"renamed", "mine"}
    r = t.import_(admin, [{"name": "imported", "body": "b",
                           "scope": "personal"}])
    assert r.status_code == 201, r.text
    r = t.delete(admin, mine["id"])
    assert r.status_code == 204, r.text
    # Jira was asked (admin, for a global template) with the system
    # token, against the installation's apiBaseUrl.
    recs = t.inst.site.requests_to("POST", PERMISSIONS_CHECK)
    assert recs and all(x.verified and x.token == t.system for x in recs), \
        recs

    p = env.panoramas(t.inst)
    issue = 10000 + secrets.randbelow(10 ** 6)
    u = p.user(issues=[issue])
    pano = p.create(u)
    pid = pano["id"]
    assert p.list(u)["panoramas"][0]["id"] == pid
    r = p.patch(u, pid, {"version": pano["version"], "name": "renamed"})
    assert r.status_code == 200, r.text
    p.apply(u, pid, r.json()["version"], [panorama_client.add([issue])])
    assert p.tree(u, pid).status_code == 200
    assert p.history(u, pid).status_code == 200
    assert p.access(u, pid).status_code == 200
    assert p.export(u, pid)
    r = p.issue_panoramas(u, issue)
    assert r.status_code == 200 and pid in [x["id"] for x in
                                            r.json()["panoramas"]], r.text
    r = p.undo(u, pid, raw=b"{}")
    assert r.status_code == 200, r.text
    r = p.import_(u, panorama_client.document("imported", []))
    assert r.status_code == 201, r.text
    r = p.delete(u, pid, version=p.read(u, pid)["version"])
    assert r.status_code == 204, r.text


# Refusals.

def _fit_variants(env, inst):
    """(what, token, reason in the log) for FITs that must be 401."""
    f = env.forge
    now = int(time.time())
    stranger = atl.new_rsa_key()
    claims = f.claims(inst, principal=atl.new_account_id())
    kid = f.keys[0][0]
    pem = f.public_pem().decode()
    # Past FIT_MAX_LEN (12 KiB), within nginx's 16 KiB header line.
    big = f.claims(inst, principal=atl.new_account_id(),
                   padding="x" * 7600)
    return [
        ("wrong iss", f.fit(inst, iss="forge/other"), "fit_iss"),
        ("wrong aud", f.fit(inst, aud="ari:cloud:ecosystem::app/"
                            f"{uuid.uuid4()}"), "fit_aud"),
        ("unknown kid", f.sign(claims, kid="forge/invocation-token/"
                               f"wf-{uuid.uuid4()}", key=stranger),
         "fit_kid_unknown"),
        ("HS256 with the public key", atl.raw_token(
            {"alg": "HS256", "typ": "JWT", "kid": kid}, claims, secret=pem),
         "fit_alg_mismatch"),
        ("alg none", atl.raw_token({"alg": "none", "kid": kid}, claims),
         "fit_"),
        ("expired", f.fit(inst, now=now - 120), "fit_expired"),
        ("not yet valid", f.fit(inst, nbf=now + 120), "fit_not_yet_valid"),
        ("iat in the future", f.fit(inst, now=now + 120),
         "fit_iat_in_future"),
        ("oversized", f.sign(big), "fit_too_long"),
        ("signed by a key not in the set", f.sign(claims, key=stranger),
         "fit_bad_signature"),
        ("no installation", f.fit(inst, app={"apiBaseUrl":
                                             inst.api_base_url}),
         "fit_installation"),
    ]


def test_refused_fits_are_401_with_a_reason(env):
    inst = env.forge.installation()
    for what, tok, reason in _fit_variants(env, inst):
        if what == "oversized":
            assert 12288 < len(tok) < 16000, len(tok)
        before = len(env.st.log_text())
        r = env.st.request("GET", "/forge/api/tenant",
                           headers={"Authorization": f"Bearer {tok}"})
        check_error(r, 401, "unauthorized")
        rid = r.headers["X-Request-Id"]
        new = env.st.log_text()[before:]
        mine = [ln for ln in new.splitlines() if f"rid={rid}" in ln]
        assert any(f"reason={reason}" in ln for ln in mine), (what, mine)
        assert tok not in env.st.log_text(), what
    # None of them made a tenant (cellarctl lists Forge tenants).
    assert inst.id not in env.ctl("tenants")


def test_other_credentials_refused(env):
    inst = env.forge.installation()
    acct = atl.new_account_id()
    fit = env.forge.fit(inst, principal=acct)
    # A Connect JWT on /forge/, a FIT on a Connect route, nothing at all.
    connect = atl.context_token("x" * 48, "some-client-key",
                                context=atl.user_context(), sub=acct)
    for path, h in (("/forge/api/tenant", {"Authorization": f"JWT {connect}"}),
                    ("/forge/api/tenant", {"Authorization": f"Bearer {connect}"}),
                    ("/api/tenant", {"Authorization": f"Bearer {fit}"}),
                    ("/api/tenant", {"Authorization": f"JWT {fit}"}),
                    ("/forge/api/tenant", {}),
                    ("/forge/api/tenant?jwt=" + fit, {})):
        check_error(env.st.request("GET", path, headers=h), 401,
                    "unauthorized")
    # A FIT of the right installation still works.
    r = env.st.request("GET", "/forge/api/tenant",
                       headers=FakeForge.headers(fit))
    assert r.status_code == 200, r.text


def test_permission_failures_are_403_with_json(env):
    t = env.templates()
    nobody = t.user()
    r = t.post(nobody, {"name": "n", "body": "b", "scope": "global"})
    check_error(r, 403, "forbidden")
    assert t.inst.site.count("POST", PERMISSIONS_CHECK) >= 1
    p = env.panoramas(t.inst)
    gated = p.user(gate=False)
    check_error(p.post(gated, {"name": "x"}), 403, "forbidden")


def test_forge_only_tenant_without_a_token_is_503(env):
    t = env.templates(send_system=False)
    nobody = t.user()
    r = t.post(nobody, {"name": "n", "body": "b", "scope": "global"})
    check_error(r, 503, "unavailable")
    assert "reason=forge_token_missing" in env.st.log_text()
    assert t.inst.site.count() == 0


def test_what_nginx_refuses_below_forge_is_json(env):
    """Forge reads every non-2xx as JSON: nginx's own refusals too
    (headers past its buffers, a transfer encoding it does not know;
    test_stack checks a body over its limit), and none of them
    redirects."""
    port = env.st.port
    cases = [
        (b"GET /forge/api/tenant HTTP/1.1\r\nHost: x\r\n"
         b"Authorization: Bearer " + b"A" * 17000 + b"\r\n"
         b"Connection: close\r\n\r\n", 400),
        (b"POST /forge/events HTTP/1.1\r\nHost: x\r\n"
         b"Transfer-Encoding: gzip\r\nConnection: close\r\n\r\n", 501),
    ]
    for raw, want in cases:
        status, headers, body = raw_http(port, raw)
        assert status == want, (status, body[:200])
        assert headers["content-type"].startswith("application/json"), \
            headers
        assert "location" not in headers
        assert json.loads(body)["error"], body


# Tenants: one per installation, shared with a linked Connect install.

def test_linked_tenant_shares_its_data_and_no_one_else_sees_it(env, fake):
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
    tpl = connect.create(acct, name="linked one")
    forge = env.templates(inst)
    assert tpl["id"] in forge.ids(acct)
    r = forge.get(acct, tpl["id"])
    assert r.status_code == 200 and r.json()["name"] == "linked one", r.text
    assert tenant_id(forge, acct) == tenant_id(connect, acct)
    # Another installation, same account: its own tenant, nothing shown.
    other = env.templates()
    assert tpl["id"] not in other.ids(acct)
    check_error(other.get(acct, tpl["id"]), 404, "not_found")
    assert tenant_id(other, acct) != tenant_id(forge, acct)


# Events, trigger, pre-uninstall.

def test_events_install_and_deleted_issues(env):
    inst = env.forge.installation()
    ev = env.forge.fit(inst, event=True)
    for _ in range(2):      # a duplicate delivery changes nothing
        r = env.post("/forge/events", ev, event_body(
            EV_INSTALLED, id=str(uuid.uuid4()),
            installerAccountId=atl.new_account_id()))
        assert r.status_code == 204, r.text
    assert env.ctl("tenants").count("\tforge\t") >= 1
    p = env.panoramas(inst)
    u = p.user()
    tid = tenant_id(p, u)
    assert env.tenant_state(tid) == "installed"
    r = env.post("/forge/events", env.forge.fit(inst, event=True),
                 event_body(EV_UPGRADED))
    assert r.status_code == 204, r.text
    assert tenant_id(p, u) == tid

    gone, kept = (10 ** 6 + secrets.randbelow(10 ** 6) for _ in range(2))
    u = p.user(issues=[gone, kept])
    pano = p.create(u)
    p.apply(u, pano["id"], pano["version"],
            [panorama_client.add([gone, kept])])
    assert len(p.rows(u, pano["id"])[1]) == 2
    for _ in range(2):
        r = env.post("/forge/events", env.forge.fit(inst, event=True),
                     event_body(EV_DELETED, issue={
                         "id": str(gone), "key": "OPS-9",
                         "fields": {"summary": "SENTINEL-summary"}},
                         atlassianId=atl.new_account_id()))
        assert r.status_code == 204, r.text
    _, rows = p.rows(u, pano["id"])
    assert [x.get("issueId") for x in rows] == [str(kept)], rows
    assert "SENTINEL-summary" not in env.st.log_text()
    # Any other event: 204, ignored.
    r = env.post("/forge/events", env.forge.fit(inst, event=True),
                 event_body("avi:jira:created:issue", issue={"id": "1"}))
    assert r.status_code == 204, r.text
    # An event without an issue id: 400, in JSON.
    r = env.post("/forge/events", env.forge.fit(inst, event=True),
                 event_body(EV_DELETED))
    check_error(r, 400, "bad_request")


def test_cron_keeps_the_system_token_and_never_logs_it(env):
    inst = env.forge.installation()
    sys_tok = inst.system_token()
    env.secrets.append(sys_tok)
    r = env.post("/forge/cron", env.forge.fit(inst, event=True),
                 system=sys_tok)
    assert r.status_code == 204, r.text
    # Later, a UI call that came without the header still calls Jira.
    t = env.templates(inst, send_system=False)
    admin = t.user(admin=True)
    t.create(admin, scope="global")
    recs = inst.site.requests_to("POST", PERMISSIONS_CHECK)
    assert recs and recs[-1].verified and recs[-1].token == sys_tok, recs
    # Without a body too (Forge may post none), also when it says
    # Content-Type: application/json over Content-Length: 0.
    r = env.st.request("POST", "/forge/cron", headers=FakeForge.headers(
        env.forge.fit(inst, event=True)))
    assert r.status_code == 204, r.text
    h = FakeForge.headers(env.forge.fit(inst, event=True))
    h["Content-Type"] = "application/json"
    r = env.st.request("POST", "/forge/cron", headers=h, data=b"")
    assert r.status_code == 204, r.text
    for log in (env.st.app_log, env.st.access_log, env.st.nginx_error_log):
        assert sys_tok not in read_text(log), log


def test_preuninstall_departs_and_a_later_fit_reinstates(env):
    inst = env.forge.installation()
    t = env.templates(inst)
    acct = t.user()
    tid = tenant_id(t, acct)
    tpl = t.create(acct, name="kept")
    assert env.tenant_state(tid) == "installed"
    r = env.post("/forge/pre-uninstall", env.forge.fit(inst, event=True))
    assert r.status_code == 204, r.text
    assert env.tenant_state(tid) == "departed"
    # Delivered again: harmless.
    r = env.post("/forge/pre-uninstall", env.forge.fit(inst, event=True),
                 body={})
    assert r.status_code == 204, r.text
    assert tenant_id(t, acct) == tid
    assert env.tenant_state(tid) == "installed"
    assert tpl["id"] in t.ids(acct)


def test_preuninstall_delivered_again_keeps_the_purge_date(env):
    # Forge retries a pre-uninstall it got no answer to in time: the
    # retry must not reinstate the tenant and depart it again with a
    # later purge date.
    inst = env.forge.installation()
    t = env.templates(inst)
    tid = tenant_id(t, t.user())
    r = env.post("/forge/pre-uninstall", env.forge.fit(inst, event=True))
    assert r.status_code == 204, r.text
    row = env.tenant_row(tid)
    assert row[1] == "departed", row
    time.sleep(1.1)         # a new departure would have a later date
    for body in (None, {}):
        r = env.post("/forge/pre-uninstall",
                     env.forge.fit(inst, event=True), body=body)
        assert r.status_code == 204, r.text
    assert env.tenant_row(tid) == row
    events = env.audit_events(tid)
    assert events.count("forge_preuninstall") == 1, events
    assert "forge_reinstated" not in events, events
    # And with Forge's Content-Type on an empty body (Content-Length 0).
    h = FakeForge.headers(env.forge.fit(inst, event=True))
    h["Content-Type"] = "application/json"
    r = env.st.request("POST", "/forge/pre-uninstall", headers=h, data=b"")
    assert r.status_code == 204, r.text
    assert env.tenant_row(tid) == row


# The key set.

def test_key_set_fetched_once_cached_and_refetched(module_stacks, fake):
    e = Env(module_stacks, fake, workers=2)
    inst = e.forge.installation()
    acct = atl.new_account_id()
    hdr = FakeForge.headers(e.forge.fit(inst, principal=acct))
    r = e.st.request("GET", "/forge/api/tenant", headers=hdr)
    assert r.status_code == 200, r.text
    assert e.forge.jwks_hits() == 1
    first = time.monotonic()
    # Both workers, many requests: no other fetch (memory, cache file).
    for _ in range(12):
        r = e.st.request("GET", "/forge/api/tenant",
                         headers=FakeForge.headers(
                             e.forge.fit(inst, principal=acct)))
        assert r.status_code == 200, r.text
    assert e.forge.jwks_hits() == 1
    cache = e.st.dir / "state" / "forge-keys" / "jwks.json"
    assert json.loads(cache.read_text())["maxAge"] == e.forge.max_age
    # An unknown kid within 30 s of the fetch: refused, nothing fetched.
    e.forge.rotate()
    newer = FakeForge.headers(e.forge.fit(inst, principal=acct))
    check_error(e.st.request("GET", "/forge/api/tenant", headers=newer),
                401, "unauthorized")
    assert e.forge.jwks_hits() == 1
    assert "reason=fit_kid_unknown_recently" in e.st.log_text()
    # After 30 s, the rotated key is fetched once and accepted.
    time.sleep(max(0.0, first + 31 - time.monotonic()))
    for _ in range(4):
        r = e.st.request("GET", "/forge/api/tenant",
                         headers=FakeForge.headers(
                             e.forge.fit(inst, principal=acct)))
        assert r.status_code == 200, r.text
    assert e.forge.jwks_hits() == 1 + 1
    # And a kid nobody has, right after: no fetch of its own.
    bad = e.forge.sign(e.forge.claims(inst, principal=acct),
                       kid=f"forge/invocation-token/wf-{uuid.uuid4()}",
                       key=atl.new_rsa_key())
    check_error(e.st.request("GET", "/forge/api/tenant",
                             headers=FakeForge.headers(bad)),
                401, "unauthorized")
    assert e.forge.jwks_hits() == 2
