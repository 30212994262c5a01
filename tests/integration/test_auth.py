"""
Black-box tests of tenants, keys and Jira authentication (issue 3),
through the real nginx and workers of tests/stack.

One stack for the module, with a drop-in pointing install_keys_url at a
fake Atlassian key service (jira_fake.FakeJira) in this process.  Tokens
are made by atlassian.py with PyJWT / hmac, independently of the C code.

Every refusal is checked three ways: the status and the generic body;
the reason code in the app log line of that request id (never in the
reply); and that nothing changed: the tenant's old secret still works,
the new one does not, no tenant file appeared and registry.db (with its
WAL) holds the same bytes.  Tests look at the files at rest; and when
the module is done, whichever of its tests ran, the stack's teardown
checks that every log is free of the secrets, clientKeys, sites and
tokens the tests used and of query strings, that no request ended in an
internal error and that every worker is still the process it was at
the start (see log_leaks and the env fixture).
"""
import base64
import hashlib
import json
import re
import secrets
import socket
import stat
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import requests

import atlassian as atl
from harness import (FCGI, closed_port_url, internal_errors, leaks,
                     read_text, replaced_workers, session,
                     unexpected_worker_exits, wait_until)

# A fetch of an install key gives up after this long (drop-in below).
FETCH_TIMEOUT_MS = 1000
LEEWAY = 30
REASON_LINE = re.compile(r" rid=(?P<rid>[0-9a-f]+) reason=(?P<reason>\S+)"
                         r"(?: (?P<rest>.*))?$")
TENANT_ID = re.compile(r"^[0-9a-f]{32}$")
ISO_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
SQLITE_MAGIC = b"SQLite format 3\x00"
MIB = 1024 * 1024


def now():
    return int(time.time())


# The environment: stack, fake key service, tenants, bookkeeping.

class Tenant:
    """A Jira site as the tests play it: clientKey, shared secret, base
    URL; id once installed (read back through GET /api/tenant)."""

    def __init__(self, client_key, secret, base_url):
        self.client_key = client_key
        self.secret = secret
        self.base_url = base_url
        self.id = None

    def __repr__(self):
        return f"Tenant({self.client_key}, id={self.id})"


class Env:
    def __init__(self, st, fake):
        self.st = st
        self.fake = fake
        self.state = st.dir / "state"
        self.tenants_dir = self.state / "tenants"
        self.key_dir = self.state / "install-keys"
        # Atlassian's current install key, served by the fake.
        self.key, self.kid = fake.new_install_key("cellar-test")
        self.pem = atl.public_pem(self.key)
        # Workers at the start: none may die during the module.
        self.first_workers = st.worker_pids()
        # Everything that must never show up in a log or at rest.
        self.tokens = []
        self.secrets = []
        self.client_keys = []
        self.site_hosts = []

    @property
    def base_url(self):
        return self.st.base_url

    # Tenants and tokens.

    def new_tenant(self):
        host = f"site-{secrets.token_hex(5)}.atlassian.net"
        t = Tenant(str(uuid.uuid4()), self.new_secret(), f"https://{host}")
        self.client_keys.append(t.client_key)
        self.site_hosts.append(host)
        return t

    def new_secret(self):
        s = atl.new_secret()
        self.secrets.append(s)
        return s

    def new_install_key(self, prefix="kid"):
        """A fresh key pair and kid, registered at the fake."""
        return self.fake.new_install_key(prefix)

    def install_token(self, t, path="/installed", key=None, kid=None, **kw):
        kw.setdefault("aud", self.base_url)
        return atl.install_token(key or self.key,
                                 self.kid if kid is None else kid,
                                 kw.pop("iss", t.client_key),
                                 path=path, **kw)

    def context(self, t, secret=None, **kw):
        return atl.context_token(secret or t.secret, kw.pop("iss",
                                                            t.client_key),
                                 **kw)

    def page(self, t, method, path, query="", secret=None, **kw):
        return atl.page_token(secret or t.secret, kw.pop("iss",
                                                         t.client_key),
                              method, path, query, **kw)

    # HTTP.

    def send(self, method, path, token=None, where="header", headers=None,
             **kw):
        """One request; token goes in the Authorization header or the
        ?jwt= parameter.  Every token sent is remembered."""
        headers = dict(headers or {})
        if token is not None:
            self.tokens.append(token)
            if where == "header":
                headers["Authorization"] = f"JWT {token}"
            else:
                path += ("&" if "?" in path else "?") + f"jwt={token}"
        auth = headers.get("Authorization")
        if auth:
            self.tokens.append(auth.split(" ", 1)[-1])
        return self.st.request(method, path, headers=headers, **kw)

    def lifecycle(self, path, body, token=None, **kw):
        return self.send("POST", path, token, json=body, **kw)

    def install(self, t, secret=None, **kw):
        """Installs (or reinstalls) t, signed; expects 204 and records
        the tenant id.  secret: the new shared secret, if any."""
        if secret is not None:
            t.secret = secret
        body = atl.install_payload(t.client_key, t.secret, t.base_url)
        r = self.lifecycle("/installed", body, self.install_token(t, **kw))
        assert r.status_code == 204, (r.status_code, r.text,
                                      self.reasons(r))
        info = self.tenant_info(t)
        assert info.status_code == 200, (info.text, self.reasons(info))
        tid = info.json()["tenant"]["id"]
        assert t.id in (None, tid), "a reinstall changed the tenant id"
        t.id = tid
        return t

    def uninstall(self, t):
        body = atl.install_payload(t.client_key, t.secret, t.base_url,
                                   event="uninstalled")
        r = self.lifecycle("/uninstalled", body,
                           self.install_token(t, path="/uninstalled"))
        assert r.status_code == 204, (r.status_code, r.text,
                                      self.reasons(r))

    def tenant_info(self, t, secret=None, where="header", **kw):
        return self.send("GET", "/api/tenant", self.context(t, secret, **kw),
                         where=where)

    def assert_works(self, t):
        """t's current secret reads t's own record."""
        r = self.tenant_info(t)
        assert r.status_code == 200, (r.status_code, r.text,
                                      self.reasons(r))
        assert r.json()["tenant"]["id"] == t.id
        assert r.json()["tenant"]["state"] == "installed"
        return r.json()

    # The app log.

    def reasons(self, r):
        """[(reason, rest)] the app logged for the request of reply r."""
        rid = r.headers.get("X-Request-Id")
        if not rid:
            return []
        self.st.wait_request_line(rid)
        out = []
        for ln in self.st.log_text().splitlines():
            m = REASON_LINE.search(ln)
            if m and m["rid"] == rid:
                out.append((m["reason"], m["rest"] or ""))
        return out

    def assert_refused(self, r, reasons, route, token=None):
        """401 with the generic body, and exactly one reason line in the
        app log, one of `reasons`, naming the route."""
        if isinstance(reasons, str):
            reasons = {reasons}
        got = self.reasons(r)
        assert r.status_code == 401, (r.status_code, r.text, got)
        assert r.headers.get("Content-Type", "").startswith(
            "application/json")
        body = r.json()
        assert set(body) == {"error", "message"}, body
        assert body["error"] == "unauthorized", body
        assert isinstance(body["message"], str) and body["message"]
        for code in list(reasons) + [c for c, _ in got]:
            assert code not in r.text
        if token:
            assert token not in r.text
        assert len(got) == 1, got
        reason, rest = got[0]
        assert reason in reasons, (reason, reasons)
        assert f"route={route}" in rest.split(), got

    def assert_invalid(self, r, field):
        """422 for a bad install payload, the field named in the log."""
        got = self.reasons(r)
        assert r.status_code == 422, (r.status_code, r.text, got)
        assert r.json()["error"] == "invalid", r.text
        assert ("install_invalid", f"field={field}") in got, got

    # State on disk.

    def tenant_files(self):
        return sorted(p.name for p in self.tenants_dir.glob("*.db"))

    def registry_digest(self):
        h = hashlib.sha256()
        for name in ("registry.db", "registry.db-wal"):
            p = self.state / name
            h.update(name.encode() + b"\0")
            h.update(p.read_bytes() if p.exists() else b"<absent>")
        return h.hexdigest()

    def snapshot(self):
        return (self.tenant_files(), self.registry_digest(),
                sorted(p.name for p in self.key_dir.iterdir()))

    def worker_pids(self):
        return self.st.worker_pids()


def log_leaks(st, tokens, secrets_, client_keys, site_hosts):
    """Problems (harness.leaks) if a log of st holds one of these tokens
    (or a long segment of one), shared secrets, clientKeys or site
    hosts, or a query string ("jwt=").  The app and access logs must not
    be empty: a scan of nothing proves nothing."""
    logs = [st.app_log, st.access_log, st.nginx_error_log,
            st.dir / "log" / "nginx-start.log"]
    problems = [f"{p.name} is empty" for p in (st.app_log, st.access_log)
                if not read_text(p)]
    needles = set()
    for tok in tokens:
        needles.add(("token", tok))
        for seg in tok.split("."):
            if len(seg) >= 16:
                needles.add(("token segment", seg))
    needles.update(("secret", s) for s in secrets_)
    needles.update(("clientKey", c) for c in client_keys)
    needles.update(("site", h) for h in site_hosts)
    needles.add(("query string", "jwt="))
    return problems + leaks(logs, sorted(needles))


@pytest.fixture(scope="module")
def env(module_stacks, fake):
    """The module's stack: two workers, install keys from the fake.
    At its teardown: the workers are those of the start and the logs
    hold no secret, no internal error (log_leaks, harness)."""
    # No fetch throttle here: these tests fetch many kids in a row;
    # test_key_fetches_are_throttled has a stack of its own.
    drop_in = (f"[auth]\ninstall_keys_url = {fake.keys_url}\n"
               f"leeway = {LEEWAY}\nfetch_timeout_ms = {FETCH_TIMEOUT_MS}\n"
               f"fetch_interval = 0\nunknown_kid_seconds = 0\n")
    st = module_stacks({"50-auth.conf": drop_in}, workers=2, tag="stack",
                       checks=[internal_errors, unexpected_worker_exits])
    e = Env(st, fake)
    module_stacks.check(st, lambda st: replaced_workers(st, e.first_workers),
                        live=True)
    module_stacks.check(st, lambda st: log_leaks(
        st, e.tokens, e.secrets, e.client_keys, e.site_hosts))
    return e


@pytest.fixture(scope="module")
def shared(env):
    """One installed tenant for the read-only series of the module."""
    return env.install(env.new_tenant())


@pytest.fixture
def victim(env):
    """A freshly installed tenant, its secret working."""
    return env.install(env.new_tenant())


# The test helpers themselves: qsh as Atlassian computes it.

def _vectors():
    path = Path(__file__).resolve().parents[1] / "data" / "qsh-vectors.tsv"
    rows = []
    for line in path.read_text().splitlines():
        if line.startswith("#") or line.startswith("name\t") or not line:
            continue
        rows.append(dict(zip(("name", "method", "path", "query", "canonical",
                              "qsh", "url"), line.split("\t"))))
    return rows


VECTORS = _vectors()


def test_qsh_helper_matches_the_official_vectors():
    assert len(VECTORS) >= 39
    for v in VECTORS:
        assert atl.canonical_request(v["method"], v["path"], v["query"]) == \
            v["canonical"], v["name"]
        assert atl.qsh(v["method"], v["path"], v["query"]) == v["qsh"]
        # The signed URL's token carries the same qsh, HMAC-SHA256.
        tok = v["url"].split("jwt=", 1)[1]
        _, payload = atl.decode_unverified(tok)
        assert payload["qsh"] == v["qsh"], v["name"]


def test_fake_jira_checks_app_tokens_like_jira(fake):
    """The fake (used by later tests of outbound calls) refuses what
    Jira refuses, so a passing outbound test means something."""
    s = session()
    secret = atl.new_secret()
    site = fake.add_site(secret)
    site.reply("GET", "/rest/api/3/myself", json={"accountId": "x"})
    path, q = "/rest/api/3/myself", "expand=groups&a=b%20c"

    def get(tok, query=q, **kw):
        return s.get(f"{site.base_url}{path}?{query}", timeout=5,
                     headers={"Authorization": f"JWT {tok}"}, **kw)

    ok = atl.app_token(secret, atl.APP_KEY, "GET", path, q)
    r = get(ok)
    assert r.status_code == 200 and r.json() == {"accountId": "x"}
    rec = site.requests_to("GET", path)[-1]
    assert rec.verified and rec.claims["iss"] == atl.APP_KEY, rec
    bad = {
        "qsh of another query": atl.app_token(secret, atl.APP_KEY, "GET",
                                              path, "expand=groups"),
        "iss not the app key": atl.app_token(secret, "other", "GET", path,
                                             q),
        "other secret": atl.app_token(atl.new_secret(), atl.APP_KEY, "GET",
                                      path, q),
        "lifetime over 3 min": atl.app_token(secret, atl.APP_KEY, "GET",
                                             path, q, ttl=600),
        "expired": atl.app_token(secret, atl.APP_KEY, "GET", path, q,
                                 now=now() - 400),
        "HS512": atl.jwt.encode(atl.claims(atl.APP_KEY, atl.qsh(
            "GET", path, q)), secret, algorithm="HS512"),
    }
    for what, tok in bad.items():
        assert get(tok).status_code == 401, what
        assert site.requests_to("GET", path)[-1].jwt_error, what
    assert get(ok, data=b"x").status_code == 401      # a body on GET
    assert s.get(site.base_url + path, timeout=5).status_code == 401
    # The key service: registered kids only, every request counted.
    key = atl.new_rsa_key()
    fake.add_install_key("selftest", atl.public_pem(key))
    assert s.get(fake.keys_url + "/selftest").content == atl.public_pem(key)
    assert s.get(fake.keys_url + "/nope").status_code == 404
    assert fake.key_hits("selftest") == 1 and fake.key_hits("nope") == 1


# Signed installs that work.

def test_install_with_a_fetched_key_then_read_the_tenant(env):
    key, kid = env.new_install_key("fetched")
    cached = env.key_dir / f"{kid}.pem"
    assert env.fake.key_hits(kid) == 0 and not cached.exists()
    files = env.tenant_files()
    digest = env.registry_digest()
    t = env.install(env.new_tenant(), key=key, kid=kid)
    # (The registry's bytes change with an install: comparing them, as
    # the refusal tests do, means something.)
    assert env.registry_digest() != digest
    # Fetched once, cached on disk (0600) after it verified the token.
    assert env.fake.key_hits(kid) == 1
    assert cached.read_bytes() == atl.public_pem(key)
    assert stat.S_IMODE(cached.stat().st_mode) & 0o077 == 0
    assert env.tenant_files() == sorted(files + [f"{t.id}.db"])

    # The same kid again, for another tenant and for a reinstall: no
    # second fetch.
    u = env.install(env.new_tenant(), key=key, kid=kid)
    env.install(t, key=key, kid=kid)
    assert env.fake.key_hits(kid) == 1
    assert u.id != t.id

    tok = env.context(t)
    r = env.send("GET", "/api/tenant", tok)
    assert r.status_code == 200, (r.text, env.reasons(r))
    assert r.headers["Content-Type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"tenant", "records", "keys", "backups",
                         "deletion"}, body
    ten = body["tenant"]
    assert TENANT_ID.match(ten["id"]) and ten["id"] == t.id
    assert ten["state"] == "installed" and ten["enabled"] is False
    for k in ("installedAt", "updatedAt"):
        assert ISO_TIME.match(ten[k]), ten
    assert ten["installedAt"] <= ten["updatedAt"]
    assert isinstance(body["records"], dict)
    assert all(isinstance(v, int) and v >= 0
               for v in body["records"].values()), body["records"]
    keys = body["keys"]
    assert keys["fileEncrypted"] is True
    assert isinstance(keys["dataKeyVersion"], int) and keys[
        "dataKeyVersion"] >= 1
    assert ISO_TIME.match(keys["dataKeyCreatedAt"])
    assert keys["dataKeyAgeDays"] == 0
    # Facts, not promises: nothing has rotated or been backed up yet.
    assert "rotationDays" not in keys and keys["lastRotatedAt"] is None
    assert body["backups"] == {"lastBackupAt": None, "lastVerifiedAt": None,
                               "lastRun": None}
    assert body["deletion"] == {"scheduledAt": None}
    # Never the secret, the token or key material.
    for s in (t.secret, tok, tok.split(".")[2]):
        assert s not in r.text
    assert "secret" not in json.dumps(body).lower()
    # Through ?jwt= too.
    r2 = env.tenant_info(t, where="query")
    assert r2.status_code == 200 and r2.json()["tenant"]["id"] == t.id


def test_install_with_a_key_an_admin_dropped_in(env):
    key = atl.new_rsa_key()
    kid = "dropped-" + secrets.token_hex(6)
    pem = env.key_dir / f"{kid}.pem"
    pem.write_bytes(atl.public_pem(key))
    pem.chmod(0o600)
    t = env.install(env.new_tenant(), key=key, kid=kid)
    env.assert_works(t)
    # The fake never heard of this kid and was never asked.
    assert env.fake.key_hits(kid) == 0


def test_aud_may_carry_a_trailing_slash_or_be_a_list(env):
    t = env.new_tenant()
    env.install(t, aud=env.base_url + "/")
    env.install(t, aud=["https://other.example.com", env.base_url])
    env.assert_works(t)


def test_a_key_that_fails_to_verify_is_kept_in_memory_not_on_disk(env):
    right, kid = env.new_install_key("uncached")
    wrong = atl.new_rsa_key()
    t = env.new_tenant()
    body = atl.install_payload(t.client_key, t.secret, t.base_url)
    workers = len(env.st.worker_pids())
    before = env.snapshot()
    for attempt in (1, 2):
        r = env.lifecycle("/installed", body,
                          env.install_token(t, key=wrong, kid=kid))
        env.assert_refused(r, "bad_signature", "installed")
        # On disk only once it verified a token; in memory at once, so
        # that a bad signature costs one fetch (per worker) and never
        # holds up the genuine install behind it (the kid's
        # fetch_interval).
        assert 1 <= env.fake.key_hits(kid) <= min(attempt, workers)
        assert not (env.key_dir / f"{kid}.pem").exists()
    assert env.snapshot() == before
    env.install(t, key=right, kid=kid)
    assert (env.key_dir / f"{kid}.pem").exists()
    assert env.fake.key_hits(kid) <= workers


# Signed installs that must be refused, changing nothing.
#
# Each case is (make(env, target) -> the token to send, or None; the
# reason codes accepted in the log).  The target is either an installed
# tenant, reinstalled with a new secret (the attack: take over its
# secret), or a new clientKey.

def _body(env, target, **fields):
    return atl.install_payload(target.client_key, target.secret,
                               target.base_url, **fields)


def _tok(env, target, **kw):
    return env.install_token(target, **kw)


def _hs256_public_pem(env, target):
    _, claims = atl.decode_unverified(_tok(env, target))
    return atl.raw_token({"alg": "HS256", "typ": "JWT", "kid": env.kid},
                         claims, secret=env.pem)


def _rs256_header_hmac_sig(env, target):
    _, claims = atl.decode_unverified(_tok(env, target))
    return atl.raw_token({"alg": "RS256", "typ": "JWT", "kid": env.kid},
                         claims, secret=env.pem)


def _alg_none(alg, sig):
    def make(env, target):
        _, claims = atl.decode_unverified(_tok(env, target))
        return atl.raw_token({"alg": alg, "typ": "JWT", "kid": env.kid},
                             claims, signature=sig)
    return make


def _key_reply(status=200, body=b"", delay=0.0, headers=None):
    """A kid the fake answers with this instead of a key."""
    def make(env, target):
        kid = "broken-" + secrets.token_hex(6)
        env.fake.set_key_reply(kid, status, body, delay, headers)
        return _tok(env, target, kid=kid)
    return make


def _redirect(env, target):
    # The fake redirects to a kid it serves; the app must not follow.
    key, good = env.new_install_key("redirect-target")
    kid = "redirect-" + secrets.token_hex(6)
    env.fake.set_key_reply(kid, 302, b"", 0,
                           {"Location": f"{env.fake.keys_url}/{good}"})
    tok = _tok(env, target, key=key, kid=kid)
    return tok


def _empty_dropped_pem(env, target):
    kid = "empty-" + secrets.token_hex(6)
    p = env.key_dir / f"{kid}.pem"
    p.write_bytes(b"")
    p.chmod(0o600)
    return _tok(env, target, kid=kid)


def _junk_dropped_pem(env, target):
    """Something that is no public key in KID.pem: never used as one."""
    kid = "notakey-" + secrets.token_hex(6)
    p = env.key_dir / f"{kid}.pem"
    p.write_bytes(b"-----BEGIN PUBLIC KEY-----\nnot a key at all\n")
    p.chmod(0o600)
    return _tok(env, target, kid=kid)


def _embedded_jwk(env, target):
    """The attacker's own key in the header (jwk), the kid Atlassian's:
    the header never chooses the key."""
    mine = atl.new_rsa_key()
    jwk = json.loads(atl.jwt.algorithms.RSAAlgorithm.to_jwk(
        mine.public_key()))
    return _tok(env, target, key=mine, headers={"jwk": jwk})


def _jku_header(env, target):
    """A jku/x5u pointing at a key server the attacker runs."""
    mine, kid = env.new_install_key("attacker")
    return _tok(env, target, key=mine,
                headers={"kid": env.kid,
                         "jku": f"{env.fake.keys_url}/{kid}",
                         "x5u": f"{env.fake.keys_url}/{kid}"})


INSTALL_CASES = {
    # kid
    "unknown_kid": (lambda e, t: _tok(e, t, kid="unknown-" +
                                      secrets.token_hex(6)),
                    {"install_key_not_found"}),
    "dotdot_kid": (lambda e, t: _tok(e, t, kid="../x"), {"kid_invalid"}),
    "dotdot_slash_kid": (lambda e, t: _tok(e, t, kid="../../keys/" + e.kid),
                         {"kid_invalid"}),
    "slash_kid": (lambda e, t: _tok(e, t, kid="a/b"), {"kid_invalid"}),
    "dot_kid": (lambda e, t: _tok(e, t, kid="." + e.kid), {"kid_invalid"}),
    "percent_kid": (lambda e, t: _tok(e, t, kid="..%2Fx"), {"kid_invalid"}),
    "empty_kid": (lambda e, t: _tok(e, t, kid=""),
                  {"kid_invalid", "kid_type"}),
    "long_kid": (lambda e, t: _tok(e, t, kid="k" * 129), {"kid_invalid"}),
    "no_kid": (lambda e, t: _tok(e, t, headers={"kid": None}),
               {"kid_invalid"}),
    "number_kid": (lambda e, t: atl.raw_token(
        {"alg": "RS256", "typ": "JWT", "kid": 7},
        atl.decode_unverified(_tok(e, t))[1], rsa_key=e.key),
        {"kid_invalid", "kid_type"}),
    # the key service misbehaves
    "key_500": (_key_reply(500, b"oops"), {"install_key_not_found"}),
    "key_redirect": (_redirect, {"install_key_not_found"}),
    "key_garbage": (_key_reply(200, b"<html>hello</html>"),
                    {"install_key_invalid"}),
    "key_empty": (_key_reply(200, b""), {"install_key_invalid"}),
    "key_private_pem": (lambda e, t: _key_reply(200, atl.private_pem(
        atl.new_rsa_key()))(e, t), {"install_key_invalid"}),
    "key_timeout": (_key_reply(200, b"", delay=3 * FETCH_TIMEOUT_MS / 1000),
                    {"install_key_fetch_failed"}),
    "key_dropped_empty": (_empty_dropped_pem, {"install_key_not_found"}),
    "key_dropped_junk": (_junk_dropped_pem, {"install_key_not_found"}),
    # aud
    "wrong_aud": (lambda e, t: _tok(e, t, aud="https://cellar.example.com"),
                  {"aud_mismatch"}),
    "aud_other_port": (lambda e, t: _tok(e, t, aud=e.base_url + "0"),
                       {"aud_mismatch"}),
    "aud_list_without_us": (lambda e, t: _tok(
        e, t, aud=["https://a.example.com", e.base_url + "/x"]),
        {"aud_mismatch"}),
    "no_aud": (lambda e, t: _tok(e, t, omit=("aud",)), {"aud_mismatch"}),
    # iss
    "iss_not_client_key": (lambda e, t: _tok(e, t, iss=str(uuid.uuid4())),
                           {"iss_not_client_key"}),
    # algorithm
    "hs256_with_public_pem": (_hs256_public_pem, {"alg_mismatch"}),
    "rs256_header_hmac_signature": (_rs256_header_hmac_sig,
                                    {"bad_signature"}),
    "alg_none_unsigned": (_alg_none("none", ""),
                          {"alg_mismatch", "token_segments"}),
    "alg_none_signed": (_alg_none("none", "c2ln"), {"alg_mismatch"}),
    "alg_NONE": (_alg_none("NONE", "c2ln"), {"alg_mismatch"}),
    "alg_rs512": (lambda e, t: atl.raw_token(
        {"alg": "RS512", "kid": e.kid}, atl.decode_unverified(
            _tok(e, t))[1], signature=_tok(e, t).split(".")[2]),
        {"alg_mismatch"}),
    "other_private_key": (lambda e, t: _tok(e, t, key=atl.new_rsa_key()),
                          {"bad_signature"}),
    "embedded_jwk": (_embedded_jwk, {"bad_signature"}),
    "jku_header": (_jku_header, {"bad_signature"}),
    # no token
    "unsigned": (lambda e, t: None, {"no_token"}),
    # times
    "expired": (lambda e, t: _tok(e, t, now=now() - 600, ttl=180),
                {"expired"}),
    "iat_in_future": (lambda e, t: _tok(e, t, now=now() + 300),
                      {"iat_in_future"}),
    "nbf_in_future": (lambda e, t: _tok(e, t, nbf=now() + 300),
                      {"not_yet_valid"}),
    "no_exp": (lambda e, t: _tok(e, t, omit=("exp",)),
               {"exp_missing_or_invalid"}),
    # qsh
    "no_qsh": (lambda e, t: _tok(e, t, omit=("qsh",)), {"qsh_missing"}),
    "qsh_of_uninstalled": (lambda e, t: _tok(e, t, qsh_value=atl.qsh(
        "POST", "/uninstalled")), {"qsh_mismatch"}),
    "qsh_of_get": (lambda e, t: _tok(e, t, qsh_value=atl.qsh(
        "GET", "/installed")), {"qsh_mismatch"}),
    "context_qsh": (lambda e, t: _tok(e, t, qsh_value="context-qsh"),
                    {"context_qsh_not_allowed"}),
}

# Valid signature, bad payload: 422.
PAYLOAD_CASES = {
    "short_secret": ({"sharedSecret": "s" * 31}, "sharedSecret"),
    "long_secret": ({"sharedSecret": "s" * 513}, "sharedSecret"),
    "no_secret": ({"sharedSecret": None}, "sharedSecret"),
    "secret_not_string": ({"sharedSecret": 12345678901234567890123456789012},
                          "sharedSecret"),
    "http_base_url": ({"baseUrl": "http://evil.example.com"}, "baseUrl"),
    "js_base_url": ({"baseUrl": "javascript:alert(1)"}, "baseUrl"),
    "base_url_query": ({"baseUrl": "https://x.atlassian.net/?a=b"},
                       "baseUrl"),
    "wrong_app_key": ({"key": "someone-else"}, "key"),
    "wrong_event": ({"eventType": "uninstalled"}, "eventType"),
    "no_product": ({"productType": None}, "productType"),
}


def _check_unchanged(env, victim, target, before, new_secret):
    assert env.snapshot() == before, "the registry or the files changed"
    env.assert_works(victim)
    if target is victim:
        r = env.tenant_info(victim, secret=new_secret)
        env.assert_refused(r, "bad_signature", "tenant")
    else:
        r = env.tenant_info(target)
        env.assert_refused(r, "unknown_tenant", "tenant")


@pytest.mark.parametrize("which", ["reinstall", "new"])
@pytest.mark.parametrize("case", list(INSTALL_CASES))
def test_refused_install_changes_nothing(env, victim, case, which):
    make, reasons = INSTALL_CASES[case]
    if which == "reinstall":
        target, new_secret = victim, env.new_secret()
    else:
        target = env.new_tenant()
        new_secret = target.secret
    hits = env.fake.total_hits()
    # The token speaks for the target, the body brings the new secret.
    tok = make(env, target)
    before = env.snapshot()
    body = atl.install_payload(target.client_key, new_secret,
                               target.base_url)
    r = env.lifecycle("/installed", body, tok)
    env.assert_refused(r, reasons, "installed", tok)
    if case.endswith("_kid"):
        # A bad kid never reaches the key service, an unknown one once.
        assert env.fake.total_hits() == hits + (case == "unknown_kid")
    if case == "key_redirect":
        assert env.fake.total_hits() == hits + 1, env.fake.hits
    _check_unchanged(env, victim, target, before, new_secret)


@pytest.mark.parametrize("which", ["reinstall", "new"])
@pytest.mark.parametrize("case", list(PAYLOAD_CASES))
def test_invalid_install_payload_is_422_and_changes_nothing(env, victim,
                                                             case, which):
    fields, field = PAYLOAD_CASES[case]
    target = victim if which == "reinstall" else env.new_tenant()
    new_secret = env.new_secret()
    before = env.snapshot()
    body = atl.install_payload(target.client_key, new_secret,
                               target.base_url, **fields)
    r = env.lifecycle("/installed", body, env.install_token(target))
    env.assert_invalid(r, field)
    _check_unchanged(env, victim, target, before, new_secret)


def test_install_body_with_a_duplicate_key_is_refused(env, victim):
    """clientKey twice: one JSON parser for all, duplicates refused."""
    attacker = env.new_tenant()
    body = json.dumps(atl.install_payload(victim.client_key, env.new_secret(),
                                          victim.base_url))
    body = body[:-1] + f', "clientKey": "{attacker.client_key}"}}'
    before = env.snapshot()
    for tok in (env.install_token(victim), env.install_token(attacker)):
        r = env.send("POST", "/installed", tok, data=body.encode(),
                     headers={"Content-Type": "application/json"})
        assert r.status_code in (400, 401, 422), (r.status_code, r.text)
        assert env.snapshot() == before
    env.assert_works(victim)


def test_secret_length_bounds(env):
    for n in (32, 512):
        t = env.new_tenant()
        secret = (atl.new_secret(n * 2) * 2)[:n]
        env.secrets.append(secret)
        env.install(t, secret=secret)
        env.assert_works(t)


def test_concurrent_installs_of_one_client_key_make_one_tenant(env):
    from concurrent.futures import ThreadPoolExecutor
    t = env.new_tenant()
    files = env.tenant_files()
    body = atl.install_payload(t.client_key, t.secret, t.base_url)
    toks = [env.install_token(t) for _ in range(8)]
    env.tokens += toks

    def post(tok):
        # A session per thread: requests' sessions are not thread-safe.
        return session().post(env.base_url + "/installed", json=body,
                              headers={"Authorization": f"JWT {tok}",
                                       "Connection": "close"}, timeout=10)

    with ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(post, toks))
    assert [r.status_code for r in replies] == [204] * 8, \
        [(r.status_code, r.text, env.reasons(r)) for r in replies]
    after = env.tenant_files()
    assert len(after) == len(files) + 1, (files, after)
    r = env.tenant_info(t)
    assert r.status_code == 200, r.text
    assert f"{r.json()['tenant']['id']}.db" in after


def test_unsigned_or_wrongly_signed_uninstall_is_refused(env, victim):
    body = atl.install_payload(victim.client_key, victim.secret,
                               victim.base_url, event="uninstalled")
    before = env.snapshot()
    cases = [
        (None, "no_token"),
        # The install token replayed at /uninstalled.
        (env.install_token(victim), "qsh_mismatch"),
        (env.install_token(victim, path="/uninstalled",
                           iss=str(uuid.uuid4())), "iss_not_client_key"),
        (env.install_token(victim, path="/uninstalled",
                           aud="https://evil.example.com"), "aud_mismatch"),
        (env.install_token(victim, path="/uninstalled",
                           key=atl.new_rsa_key()), "bad_signature"),
        # A page token signed with the tenant's own secret: not enough.
        (env.page(victim, "POST", "/uninstalled"), "alg_mismatch"),
    ]
    for tok, reason in cases:
        r = env.lifecycle("/uninstalled", body, tok)
        env.assert_refused(r, reason, "uninstalled", tok)
        assert env.snapshot() == before
        env.assert_works(victim)


# Reinstall, uninstall.

def _both_workers(env, fn, what, tries=40):
    """Calls fn() until requests were served by every worker (fn returns
    its reply); returns the replies."""
    want = env.worker_pids()
    seen, replies = set(), []
    for _ in range(tries):
        r = fn()
        replies.append(r)
        for ln in env.st.wait_request_line(r.headers["X-Request-Id"]):
            seen.add(int(ln["pid"]))
        if want <= seen:
            break
    assert want <= seen, f"{what}: only workers {seen} of {want} answered"
    return replies


def test_verified_reinstall_replaces_the_secret_at_once(env, victim):
    old = victim.secret
    # Both workers have served (and may have cached) the old secret.
    for r in _both_workers(env, lambda: env.tenant_info(victim), "before"):
        assert r.status_code == 200
    files = env.tenant_files()
    new = env.new_secret()
    env.install(victim, secret=new)
    assert env.tenant_files() == files
    # The old secret is refused by every worker, the new one works.
    for r in _both_workers(env, lambda: env.tenant_info(victim, secret=old),
                           "old secret"):
        env.assert_refused(r, "bad_signature", "tenant")
    for r in _both_workers(env, lambda: env.tenant_info(victim), "new"):
        assert r.status_code == 200
        assert r.json()["tenant"]["id"] == victim.id


def test_uninstall_departs_and_reinstall_cancels_the_deletion(env, victim):
    files = env.tenant_files()
    enable = env.page(victim, "POST", "/enabled")
    env.uninstall(victim)
    for r in _both_workers(env, lambda: env.tenant_info(victim),
                           "departed"):
        env.assert_refused(r, "tenant_departed", "tenant")
    r = env.send("POST", "/enabled", enable,
                 json={"clientKey": victim.client_key})
    env.assert_refused(r, "tenant_departed", "enabled")
    # Uninstalling again, or a tenant never seen: 204, nothing created.
    env.uninstall(victim)
    stranger = env.new_tenant()
    env.uninstall(stranger)
    assert env.tenant_files() == files
    # A verified reinstall brings the same tenant back, deletion off.
    env.install(victim, secret=env.new_secret())
    info = env.assert_works(victim)
    assert info["deletion"] == {"scheduledAt": None}
    assert env.tenant_files() == files


# Page tokens: /enabled, /disabled.

def test_enabled_and_disabled_with_page_tokens(env, victim):
    body = {"clientKey": victim.client_key}
    r = env.send("POST", "/enabled", env.page(victim, "POST", "/enabled"),
                 json=body)
    assert r.status_code == 204, (r.text, env.reasons(r))
    assert env.assert_works(victim)["tenant"]["enabled"] is True
    r = env.send("POST", "/disabled", env.page(victim, "POST", "/disabled"),
                 json=body)
    assert r.status_code == 204, (r.text, env.reasons(r))
    assert env.assert_works(victim)["tenant"]["enabled"] is False
    # ?jwt= with other parameters: they are part of the qsh, jwt is not.
    q = "lic=active&cv=1001.0.0&xdm_e=https%3A%2F%2Fx.atlassian.net"
    r = env.send("POST", f"/enabled?{q}",
                 env.page(victim, "POST", "/enabled", q), where="query",
                 json=body)
    assert r.status_code == 204, (r.text, env.reasons(r))
    assert env.assert_works(victim)["tenant"]["enabled"] is True


@pytest.mark.parametrize("v", VECTORS, ids=[v["name"] for v in VECTORS])
def test_page_token_qsh_over_official_vector_queries(env, v, shared):
    """The qsh of /enabled with each official vector's query, computed by
    the helper, is what the app computes from the raw REQUEST_URI."""
    t = shared
    q = v["query"]
    path = f"/enabled?{q}" if q else "/enabled"
    r = env.send("POST", path, env.page(t, "POST", "/enabled", q),
                 where="query", json={"clientKey": t.client_key})
    assert r.status_code == 204, (r.status_code, r.text, env.reasons(r))


@pytest.mark.parametrize("q", [
    "a.=1&a%2F=2",          # names: "a%2F" sorts before "a." once encoded
    "ids=2&ids=1&ids=10",   # values: sorted, not in request order
    "k=%3A1&k=.1",          # values: by decoded form (".1" before ":1")
])
def test_page_token_qsh_orders_like_the_java_reference(env, shared, q):
    """Jira signs with Atlassian's Java canonicaliser: a URL whose order
    differs from a naive sort must still verify."""
    t = shared
    tok = env.page(t, "POST", "/enabled", q)
    r = env.send("POST", f"/enabled?{q}", tok, where="query",
                 json={"clientKey": t.client_key})
    assert r.status_code == 204, (r.status_code, env.reasons(r))


def test_page_token_qsh_is_checked(env, victim):
    body = {"clientKey": victim.client_key}
    before = env.snapshot()
    cases = [
        # context-qsh on a page route.
        (lambda: env.send("POST", "/enabled",
                          env.page(victim, "POST", "/enabled",
                                   qsh_value="context-qsh"), json=body),
         "context_qsh_not_allowed", "enabled"),
        (lambda: env.send("POST", "/disabled", env.context(victim),
                          json=body), "context_qsh_not_allowed", "disabled"),
        # The qsh of another route, method or query.
        (lambda: env.send("POST", "/enabled",
                          env.page(victim, "POST", "/disabled"), json=body),
         "qsh_mismatch", "enabled"),
        (lambda: env.send("POST", "/enabled",
                          env.page(victim, "GET", "/enabled"), json=body),
         "qsh_mismatch", "enabled"),
        (lambda: env.send("POST", "/enabled?lic=active",
                          env.page(victim, "POST", "/enabled"), json=body),
         "qsh_mismatch", "enabled"),
        (lambda: env.send("POST", "/enabled?lic=none",
                          env.page(victim, "POST", "/enabled", "lic=active"),
                          where="query", json=body),
         "qsh_mismatch", "enabled"),
        (lambda: env.send("POST", "/enabled",
                          env.page(victim, "POST", "/enabled",
                                   qsh_value="0" * 64), json=body),
         "qsh_mismatch", "enabled"),
        # A computed qsh on a context route.
        (lambda: env.send("GET", "/api/tenant",
                          env.page(victim, "GET", "/api/tenant")),
         "qsh_not_context", "tenant"),
        # An HS256 page token on a lifecycle route.
        (lambda: env.send("POST", "/installed",
                          env.page(victim, "POST", "/installed"),
                          json=_body(env, victim)),
         "alg_mismatch", "installed"),
    ]
    for send, reason, route in cases:
        env.assert_refused(send(), reason, route)
    # Queries the canonicalisation cannot decode: refused, not guessed.
    for q in ("a=%zz", "a=%4", "a%=1", "a=%00", "%00=1"):
        r = raw_request(env, "POST", f"/enabled?{q}",
                        env.page(victim, "POST", "/enabled", q),
                        json.dumps(body).encode())
        env.assert_refused(r, "query_malformed", "enabled")
    assert env.snapshot() == before
    assert env.assert_works(victim)["tenant"]["enabled"] is False


# Context tokens refused on /api/tenant.

def _ctx_claims(env, t, **kw):
    return atl.claims(t.client_key, "context-qsh", **kw)


def _raw(header, payload_fn, secret_fn=lambda t: t.secret, **kw):
    """A hand-built token: header dict/bytes, payload_fn(env, t) ->
    dict/bytes, HMAC-SHA256 with the tenant's secret by default."""
    def make(env, t):
        sec = secret_fn(t)
        return atl.raw_token(header, payload_fn(env, t), secret=sec, **kw)
    return make


HS = {"alg": "HS256", "typ": "JWT"}


def _dup_iss(env, t):
    c = _ctx_claims(env, t)
    body = json.dumps(c, separators=(",", ":"))
    # iss twice: the second one names a tenant that does not exist.
    return body[:-1] + ',"iss":"' + str(uuid.uuid4()) + '"}'


def _dup_alg_header():
    return b'{"alg":"none","typ":"JWT","alg":"HS256"}'


def _segments(n):
    def make(env, t):
        tok = env.context(t)
        parts = tok.split(".")
        if n <= 3:
            return ".".join(parts[:n])
        return tok + ".c2lnbmF0dXJl"
    return make


def _rs256(env, t):
    return atl.jwt.encode(_ctx_claims(env, t), env.key, algorithm="RS256")


def _hs512(env, t):
    return atl.jwt.encode(_ctx_claims(env, t), t.secret, algorithm="HS512")


def _mangle(fn):
    def make(env, t):
        return fn(env.context(t))
    return make


CONTEXT_CASES = {
    "alg_none_unsigned": (_raw({"alg": "none", "typ": "JWT"},
                               _ctx_claims, signature=""),
                          {"alg_mismatch", "token_segments"}),
    "alg_none_signed": (_raw({"alg": "none", "typ": "JWT"}, _ctx_claims),
                        {"alg_mismatch"}),
    "alg_None": (_raw({"alg": "None"}, _ctx_claims), {"alg_mismatch"}),
    "alg_NONE": (_raw({"alg": "NONE"}, _ctx_claims), {"alg_mismatch"}),
    "alg_nOnE": (_raw({"alg": "nOnE"}, _ctx_claims), {"alg_mismatch"}),
    "alg_none_sig_garbage": (_raw({"alg": "none"}, _ctx_claims,
                                  signature="AAAA"), {"alg_mismatch"}),
    "alg_empty": (_raw({"alg": ""}, _ctx_claims), {"alg_mismatch"}),
    "alg_missing": (_raw({"typ": "JWT"}, _ctx_claims), {"alg_mismatch"}),
    "alg_hs256_lowercase": (_raw({"alg": "hs256"}, _ctx_claims),
                            {"alg_mismatch"}),
    "alg_not_string": (_raw({"alg": ["HS256"]}, _ctx_claims),
                       {"alg_mismatch"}),
    "hs512": (_hs512, {"alg_mismatch"}),
    "hs384": (lambda e, t: atl.jwt.encode(_ctx_claims(e, t), t.secret,
                                          algorithm="HS384"),
              {"alg_mismatch"}),
    "rs256": (_rs256, {"alg_mismatch"}),
    "typ_not_jwt": (_raw({"alg": "HS256", "typ": "JWE"}, _ctx_claims),
                    {"typ_mismatch"}),
    "expired": (lambda e, t: e.context(t, now=now() - 600),
                {"expired"}),
    "expired_beyond_leeway": (lambda e, t: e.context(
        t, now=now() - 200, ttl=200 - LEEWAY - 15), {"expired"}),
    "iat_in_future": (lambda e, t: e.context(t, now=now() + 300),
                      {"iat_in_future"}),
    "nbf_in_future": (lambda e, t: e.context(t, nbf=now() + 300),
                      {"not_yet_valid"}),
    "nbf_string": (lambda e, t: e.context(t, nbf=str(now())),
                   {"nbf_invalid"}),
    "exp_before_iat": (lambda e, t: e.context(t, now=now(), ttl=-5),
                       {"exp_before_iat"}),
    "exp_negative": (_raw(HS, lambda e, t: _ctx_claims(e, t, exp=-1)),
                     {"exp_missing_or_invalid"}),
    "context_not_object": (lambda e, t: e.context(t, context="jira"),
                           {"context_invalid"}),
    "sub_not_string": (lambda e, t: e.context(t, sub=42),
                       {"sub_invalid"}),
    "exp_string": (_raw(HS, lambda e, t: _ctx_claims(
        e, t, exp=str(now() + 180))), {"exp_missing_or_invalid"}),
    "exp_float": (_raw(HS, lambda e, t: _ctx_claims(
        e, t, exp=now() + 180.5)), {"exp_missing_or_invalid"}),
    "exp_null": (_raw(HS, lambda e, t: {**_ctx_claims(e, t), "exp": None}),
                 {"exp_missing_or_invalid"}),
    "exp_huge": (_raw(HS, lambda e, t: _ctx_claims(e, t, exp=10 ** 30)),
                 {"exp_missing_or_invalid"}),
    "no_exp": (_raw(HS, lambda e, t: _ctx_claims(e, t, omit=("exp",))),
               {"exp_missing_or_invalid"}),
    "no_iat": (_raw(HS, lambda e, t: _ctx_claims(e, t, omit=("iat",))),
               {"iat_missing_or_invalid"}),
    "iat_string": (_raw(HS, lambda e, t: _ctx_claims(e, t, iat=str(now()))),
                   {"iat_missing_or_invalid"}),
    "no_iss": (_raw(HS, lambda e, t: _ctx_claims(e, t, omit=("iss",))),
               {"iss_missing"}),
    "no_qsh": (_raw(HS, lambda e, t: _ctx_claims(e, t, omit=("qsh",))),
               {"qsh_missing"}),
    "duplicate_iss": (_raw(HS, _dup_iss), {"token_encoding"}),
    "duplicate_alg": (_raw(_dup_alg_header(), _ctx_claims),
                      {"token_encoding"}),
    "payload_array": (_raw(HS, lambda e, t: [_ctx_claims(e, t)]),
                      {"token_not_object"}),
    "payload_string": (_raw(HS, lambda e, t: '"hello"'),
                       {"token_not_object"}),
    "payload_not_json": (_raw(HS, lambda e, t: b"{iss: nope"),
                         {"token_encoding"}),
    "trailing_garbage": (_raw(HS, lambda e, t: json.dumps(
        _ctx_claims(e, t)) + " x"), {"token_encoding"}),
    "one_segment": (_segments(1), {"token_segments"}),
    "two_segments": (_segments(2), {"token_segments"}),
    "four_segments": (_segments(4), {"token_segments"}),
    "empty_token": (lambda e, t: "", {"token_segments", "no_token",
                                      "auth_scheme"}),
    "bad_base64_length": (_mangle(lambda tok: "A" + tok),
                          {"token_encoding"}),
    "base64_std_alphabet": (_mangle(lambda tok: tok.replace("-", "+")
                                    .replace("_", "/") + "+/"),
                            {"token_charset"}),
    "base64_padding": (_mangle(lambda tok: tok + "=="), {"token_charset"}),
    "unknown_iss": (lambda e, t: atl.context_token(
        t.secret, str(uuid.uuid4())), {"unknown_tenant"}),
    "wrong_secret": (lambda e, t: e.context(t, secret=atl.new_secret()),
                     {"bad_signature"}),
    "signature_flipped": (_mangle(lambda tok: tok[:-2] + (
        "A" if tok[-2] != "A" else "B") + tok[-1]), {"bad_signature"}),
    "empty_secret_signature": (_raw(HS, _ctx_claims,
                                    secret_fn=lambda t: b""),
                               {"bad_signature"}),
    "public_pem_as_secret": (lambda e, t: atl.raw_token(
        HS, _ctx_claims(e, t), secret=e.pem), {"bad_signature"}),
}


@pytest.mark.parametrize("case", list(CONTEXT_CASES))
def test_context_token_is_refused(env, case, shared):
    t = shared
    make, reasons = CONTEXT_CASES[case]
    tok = make(env, t)
    r = env.send("GET", "/api/tenant", tok)
    env.assert_refused(r, reasons, "tenant", tok)
    if tok and case != "empty_token":
        r = env.send("GET", "/api/tenant", tok, where="query")
        env.assert_refused(r, reasons, "tenant", tok)


def test_token_transport_is_strict(env, shared):
    t = shared
    tok = env.context(t)
    cases = [
        ({}, "/api/tenant", "no_token"),
        ({"Authorization": f"JWT {tok}"}, f"/api/tenant?jwt={tok}",
         "token_twice"),
        ({}, f"/api/tenant?jwt={tok}&jwt={tok}", "token_twice"),
        ({"Authorization": f"Bearer {tok}"}, "/api/tenant", "auth_scheme"),
        ({"Authorization": f"Basic {tok}"}, "/api/tenant", "auth_scheme"),
        ({"Authorization": f"JWT  {tok}"}, "/api/tenant", "token_charset"),
        ({"Authorization": f"JWT {tok} x"}, "/api/tenant", "token_charset"),
    ]
    for headers, path, reason in cases:
        env.tokens.append(tok)
        r = env.st.request("GET", path, headers=headers)
        env.assert_refused(r, reason, "tenant", tok)
    # And the same token alone, either way, works.
    assert env.send("GET", "/api/tenant", tok).status_code == 200
    assert env.send("GET", "/api/tenant", tok,
                    where="query").status_code == 200


def test_small_clock_skew_is_within_the_leeway(env, shared):
    t = shared
    for kw in ({"now": now() - 190, "ttl": 180},      # expired 10 s ago
               {"now": now() + 10},                   # issued "in 10 s"
               {"nbf": now() + 10}):
        r = env.send("GET", "/api/tenant", env.context(t, **kw))
        assert r.status_code == 200, (kw, r.text, env.reasons(r))


def _token_of_length(env, t, n):
    """A valid context token of exactly n characters (padded claim)."""
    for hpad in range(4):
        headers = {"x": "y" * hpad} if hpad else None
        base = len(env.context(t, headers=headers, pad=""))
        guess = (n - base) * 3 // 4
        for extra in range(guess - 8, guess + 8):
            if extra < 0:
                continue
            tok = env.context(t, headers=headers, pad="p" * extra)
            if len(tok) == n:
                return tok
    raise AssertionError(f"no token of length {n}")


def test_token_length_limit(env, shared):
    t = shared
    ok = _token_of_length(env, t, 8192)
    r = env.send("GET", "/api/tenant", ok)
    assert r.status_code == 200, (r.text, env.reasons(r))
    for n in (8193, 12000):
        long = _token_of_length(env, t, n)
        for where in ("header", "query"):
            r = env.send("GET", "/api/tenant", long, where=where)
            env.assert_refused(r, "token_too_long", "tenant", long)


def _raw_http(port, head, timeout=10):
    """Sends raw bytes, returns (status, body) of the reply; the server
    may stop reading early (it answers, then closes)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    data = b""
    try:
        try:
            s.sendall(head)
        except OSError:
            pass
        while True:
            try:
                chunk = s.recv(65536)
            except OSError:
                break
            if not chunk:
                break
            data += chunk
    finally:
        s.close()
    m = re.match(rb"HTTP/1\.[01] (\d{3}) ", data)
    assert m, f"no HTTP reply: {data[:200]!r}"
    return int(m.group(1)), data.split(b"\r\n\r\n", 1)[-1]


class RawReply:
    """Enough of a requests.Response for Env.assert_refused."""

    def __init__(self, data):
        head, _, self.content = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.status_code = int(lines[0].split()[1])
        self.headers = requests.structures.CaseInsensitiveDict(
            ln.split(": ", 1) for ln in lines[1:] if ": " in ln)
        self.text = self.content.decode(errors="replace")

    def json(self):
        return json.loads(self.content)


def raw_request(env, method, target, token, body=b""):
    """A request with the target (path and query) sent byte for byte,
    as no HTTP library would (invalid escapes stay invalid)."""
    env.tokens.append(token)
    req = (f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
           f"Connection: close\r\nAuthorization: JWT {token}\r\n"
           f"Content-Type: application/json\r\n"
           f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    with socket.create_connection(("127.0.0.1", env.st.port), 10) as s:
        s.sendall(req)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return RawReply(data)


def test_huge_tokens_are_refused_and_workers_survive(env, shared):
    t = shared
    pids = env.worker_pids()
    # A 9 MB "token" starting like a real one, with a marker to look
    # for in the logs afterwards.
    marker = "HUGE" + secrets.token_hex(16)
    prefix = env.context(t)
    big = prefix + marker + "A" * (9 * MIB)
    env.tokens += [prefix, marker + "A" * 32]
    host = b"Host: 127.0.0.1\r\nConnection: close\r\n"
    status, body = _raw_http(env.st.port, b"GET /api/tenant HTTP/1.1\r\n" +
                             host + b"Authorization: JWT " + big.encode() +
                             b"\r\n\r\n")
    assert status in (400, 431, 494), (status, body)
    assert marker.encode() not in body
    status, body = _raw_http(env.st.port, b"GET /api/tenant?jwt=" +
                             big.encode() + b" HTTP/1.1\r\n" + host +
                             b"\r\n")
    assert status in (400, 414), (status, body)
    assert marker.encode() not in body
    # Just under nginx's header limit: reaches a worker, which refuses it
    # before its JWT library sees it.
    mid = env.context(t) + "A" * 15000
    r = env.send("GET", "/api/tenant", mid)
    env.assert_refused(r, "token_too_long", "tenant", mid)
    assert env.st.get("/healthz").status_code == 200
    assert env.send("GET", "/api/tenant", env.context(t)).status_code == 200
    assert env.worker_pids() == pids, "a worker died"


# Tenant isolation.

def test_tenant_a_never_sees_or_changes_tenant_b(env):
    a = env.install(env.new_tenant())
    b = env.install(env.new_tenant())
    assert a.id != b.id
    for r in _both_workers(env, lambda: env.tenant_info(a), "A"):
        assert r.status_code == 200 and r.json()["tenant"]["id"] == a.id
        assert b.id not in r.text and b.client_key not in r.text
    for r in _both_workers(env, lambda: env.tenant_info(b), "B"):
        assert r.status_code == 200 and r.json()["tenant"]["id"] == b.id
    # Claiming to be B with A's secret, or A with B's.
    r = env.send("GET", "/api/tenant", env.context(a, iss=b.client_key))
    env.assert_refused(r, "bad_signature", "tenant")
    r = env.send("GET", "/api/tenant", env.context(b, secret=a.secret))
    env.assert_refused(r, "bad_signature", "tenant")
    r = env.send("GET", "/api/tenant", env.context(a, secret=b.secret))
    env.assert_refused(r, "bad_signature", "tenant")
    # A's page token, B's clientKey in the body: refused, B unchanged.
    before = env.snapshot()
    for route in ("/enabled", "/disabled"):
        r = env.send("POST", route, env.page(a, "POST", route),
                     json={"clientKey": b.client_key})
        assert r.status_code in (401, 403, 422), (r.status_code, r.text)
    assert env.snapshot() == before
    assert env.assert_works(b)["tenant"]["enabled"] is False
    # A's token with B's id or clientKey in the query still reads A.
    r = env.send("GET", f"/api/tenant?tenant={b.id}&clientKey={b.client_key}",
                 env.context(a))
    assert r.status_code == 200 and r.json()["tenant"]["id"] == a.id
    # A signed uninstall of A leaves B alone.
    env.uninstall(a)
    env.assert_works(b)


# At rest and in the logs.

def _files(root):
    return [p for p in Path(root).rglob("*") if p.is_file()]


def test_nothing_readable_at_rest(env):
    # Some history first: installs, a reinstall, an uninstall.
    a = env.install(env.new_tenant())
    b = env.install(env.new_tenant())
    env.install(a, secret=env.new_secret())
    env.send("POST", "/enabled", env.page(b, "POST", "/enabled"),
             json={"clientKey": b.client_key})
    env.uninstall(b)
    env.assert_works(a)

    state, logs = env.state, env.st.dir / "log"
    files = _files(state)
    names = {p.name for p in files}
    assert any(n.endswith(".db") for n in names)
    for p in files:
        with open(p, "rb") as f:
            head = f.read(16)
        assert not head.startswith(SQLITE_MAGIC[:15]), f"plaintext: {p}"

    # Nothing under state/ or keys/ is open to group or others.
    keys_dir = env.st.dir / "keys"
    for p in [state, keys_dir, *state.rglob("*"), *keys_dir.rglob("*")]:
        assert stat.S_IMODE(p.stat().st_mode) & 0o077 == 0, \
            f"{p} is mode {stat.S_IMODE(p.stat().st_mode):o}"

    masters = sorted(keys_dir.glob("master-*.key"))
    assert masters, "no master key"
    master_forms = []
    for m in masters:
        raw = m.read_bytes()
        assert len(raw) == 32
        master_forms += [raw, raw.hex().encode(), raw.hex().upper().encode(),
                         atl.b64url(raw).encode(),
                         base64.b64encode(raw).rstrip(b"=")]
    secrets_b = [s.encode() for s in env.secrets]
    nginx_tmp = _files(env.st.dir / "nginx" / "tmp")
    for p in files + _files(logs) + nginx_tmp:
        data = p.read_bytes()
        for s in secrets_b:
            assert s not in data, f"a shared secret in {p}"
        for k in master_forms:
            assert k not in data, f"master key material in {p}"

    # No clientKey or site in any name under the state directory.
    every_name = [str(p.relative_to(state)) for p in state.rglob("*")]
    for ck in env.client_keys + env.site_hosts:
        for n in every_name:
            assert ck not in n, f"{ck} in the name {n}"
    for n in every_name:
        if n.startswith("tenants/"):
            assert re.fullmatch(r"tenants/[0-9a-f]{32}\.db(-wal|-shm|"
                                r"-journal)?", n), n


def test_worker_does_not_link_libsqlite3():
    out = subprocess.run(["ldd", str(FCGI)], capture_output=True, text=True,
                         check=True).stdout
    assert "libsqlite3" not in out, out
    assert "libsqlcipher" in out, out


def test_no_token_secret_or_client_key_in_any_log(env):
    """Traffic of every kind (a signed install, a page token in the
    query, a mangled token, a context token in the query) leaves none of
    its tokens, secret, clientKey or site in any log.  (The teardown of
    env checks the same for every test's traffic.)"""
    tokens = len(env.tokens)
    t = env.install(env.new_tenant())
    env.send("POST", "/enabled", env.page(t, "POST", "/enabled"),
             where="query", json={"clientKey": t.client_key})
    env.send("GET", "/api/tenant", "x" + env.context(t))
    env.tenant_info(t, where="query")
    r = env.st.get("/healthz")
    env.st.wait_request_line(r.headers["X-Request-Id"])
    wait_until(lambda: r.headers["X-Request-Id"] in
               read_text(env.st.access_log), what="access log line")
    assert len(env.tokens) - tokens >= 4
    problems = log_leaks(env.st, env.tokens[tokens:], [t.secret],
                         [t.client_key], [t.base_url.split("//")[1]])
    assert not problems, "\n".join(problems)


# The outbound Jira client, driven by "cellarctl tenant ping": a signed
# GET to the tenant's own Jira (the fake), checked there as Jira checks it.

def _ping(env, t):
    from harness import CELLARCTL
    return subprocess.run([str(CELLARCTL), "--config", str(env.st.dir / "etc"),
                           "tenant", "ping", t.id], capture_output=True,
                          text=True, timeout=30)


def _site_tenant(env):
    """A tenant whose Jira is a site of the fake, installed for real."""
    secret = env.new_secret()
    site = env.fake.add_site(secret)
    t = Tenant(str(uuid.uuid4()), secret, site.base_url)
    env.client_keys.append(t.client_key)
    return env.install(t), site


def test_jira_client_signs_as_the_app(env):
    t, site = _site_tenant(env)
    path = "/rest/api/3/serverInfo"
    site.reply("GET", path, json={"version": "1001.0.0"})
    p = _ping(env, t)
    assert p.returncode == 0, (p.stdout, p.stderr)
    assert "Jira answered 200" in p.stdout
    rec = site.wait_request("GET", path)
    assert site.verify(rec), rec.jwt_error
    env.tokens.append(rec.token)
    # iss is the app, the lifetime three minutes, no body on a GET.
    assert rec.claims["iss"] == atl.APP_KEY
    assert rec.claims["exp"] - rec.claims["iat"] == 180
    assert abs(rec.claims["iat"] - now()) <= 5
    assert rec.body == b""
    assert t.secret not in p.stdout + p.stderr
    assert rec.token not in p.stdout + p.stderr


def test_jira_client_token_is_refused_under_another_secret(env):
    """The fake checks the signature: after a reinstall with a new secret
    the site (still holding the old one) refuses the call."""
    t, site = _site_tenant(env)
    path = "/rest/api/3/serverInfo"
    site.reply("GET", path, json={})
    env.install(t, secret=env.new_secret())
    p = _ping(env, t)
    assert p.returncode == 1
    assert "Jira answered 401" in p.stdout
    rec = site.wait_request("GET", path)
    assert not site.verify(rec)


def test_jira_client_follows_no_redirect(env):
    t, site = _site_tenant(env)
    path = "/rest/api/3/serverInfo"
    site.reply("GET", path, status=302,
               headers={"Location": env.fake.url + "/elsewhere"})
    p = _ping(env, t)
    assert p.returncode == 1
    assert "did not answer" in p.stderr
    assert len(site.requests_to("GET", path)) == 1
    assert env.fake.site_for("/elsewhere") is None


def test_jira_client_fails_fast_when_jira_is_down(env):
    # A port nobody listens on: refused at once, reported, exit 1.
    t = Tenant(str(uuid.uuid4()), env.new_secret(), closed_port_url())
    env.client_keys.append(t.client_key)
    env.install(t)
    started = time.monotonic()
    p = _ping(env, t)
    assert p.returncode == 1
    assert "did not answer" in p.stderr
    assert time.monotonic() - started < 10


def test_key_fetches_are_throttled_and_unknown_kids_remembered(make_stack,
                                                               fake):
    """A made-up kid costs one fetch, not one per request: the worker
    remembers kids the key service did not know, fetches a kid at most
    once per fetch_interval, and refuses further fetches to an address
    whose kids turned out unknown more than unknown_kid_budget (3)
    times; a new kid is otherwise fetched at once (defaults here)."""
    st = make_stack({"50-auth.conf": f"[auth]\ninstall_keys_url = "
                     f"{fake.keys_url}\n"}, workers=1, tag="throttle")
    env = Env(st, fake)
    t = env.new_tenant()
    body = atl.install_payload(t.client_key, t.secret, t.base_url)

    def attempt(kid):
        r = env.lifecycle("/installed", body,
                          env.install_token(t, kid=kid))
        assert r.status_code == 401
        return [x for x, _ in env.reasons(r)]

    ghost = "ghost-" + secrets.token_hex(6)
    assert attempt(ghost) == ["install_key_not_found"]
    assert fake.key_hits(ghost) == 1
    assert attempt(ghost) == ["install_key_unknown_recently"]
    assert fake.key_hits(ghost) == 1
    # Another new kid is fetched at once: a genuine second key must not
    # wait behind the first.
    ghosts = ["ghost-" + secrets.token_hex(6) for _ in range(4)]
    for g in ghosts[:2]:
        assert attempt(g) == ["install_key_not_found"]
        assert fake.key_hits(g) == 1
    # Three unknown kids from this address is the budget: one more is
    # fetched (more than three), then none from here.
    assert attempt(ghosts[2]) == ["install_key_not_found"]
    assert fake.key_hits(ghosts[2]) == 1
    assert attempt(ghosts[3]) == ["install_key_fetch_throttled"]
    assert fake.key_hits(ghosts[3]) == 0
    # A key an admin dropped in needs no fetch and still works.
    key = atl.new_rsa_key()
    kid = "dropped-" + secrets.token_hex(6)
    (env.key_dir / f"{kid}.pem").write_bytes(atl.public_pem(key))
    r = env.lifecycle("/installed", body,
                      env.install_token(t, key=key, kid=kid))
    assert r.status_code == 204, env.reasons(r)
