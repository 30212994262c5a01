"""
Black-box tests of canned responses (issue 4): /api/templates... through
the real nginx and workers of tests/stack.

One stack for the module (two workers, [jira] cache_seconds = 0 so that a
test may change what Jira answers), with a fake Atlassian in this process
(jira_fake.FakeJira): it serves the install keys and one Jira site per
tenant, which answers the app's permission checks and group look-ups
from what each test configures, and verifies every call's JWT as Jira
does.  Every test installs its own tenant (its own site and data), so the
tests do not depend on each other's data or order; the accounts are
fresh random account ids.

Every error reply is checked for the app's JSON shape {"error",
"message"} and for echoing nothing of the request (check_error).  When
the module is done, whichever of its tests ran, the teardown of each of
its stacks looks through the logs for template text, render values, q
strings and tokens, and for crashes or internal errors (log_leaks and
STACK_CHECKS).

The concurrency tests at the end run many clients at once against one
tenant of a stack with four workers (busy_env): every write is a
transaction on the same tenant file, and none may be lost or fail.
"""
import json
import re
import secrets
import socket
import threading
import time

import pytest
import requests

import atlassian as atl
from harness import (closed_port_url, internal_errors, leaks,
                     replaced_workers, session, unexpected_worker_exits,
                     wait_until)
from canned_client import BROWSE, PADMIN, Tenant, request_strings
from jira_fake import PERMISSIONS_CHECK, USER_GROUPS

P1, P2, P3 = "10100", "10200", "10300"
MIB = 1024 * 1024
ISO_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
TEMPLATE_KEYS = {"id", "name", "body", "scope", "position", "active",
                 "version", "createdAt", "updatedAt", "usage", "canEdit"}
# What an error reply may carry beside error and message.
ERROR_DETAILS = {"field", "index", "limit"}
# Words an error message may hold that a request may also hold.
MESSAGE_WORDS = {"personal", "projects", "groups", "global", "posted",
                 "inserted"}


def stored(t):
    """What a template holds, whoever reads it: without its use counts
    and without canEdit (which depends on the reader)."""
    return {k: v for k, v in t.items() if k not in ("usage", "canEdit")}


def today_utc():
    return time.strftime("%Y-%m-%d", time.gmtime())


def check_error(r, status, code=None, echo=(), field=None, index=None,
                limit=None):
    """r is the app's (or nginx's) JSON error: {"error", "message"} and
    at most the details field (the API's name of the field at fault),
    index (an import row) and limit (the number passed); the given
    status, code and details, echoing nothing of the request body's
    strings, of its query values or of `echo`."""
    assert r.status_code == status, (r.status_code, r.text[:500])
    assert r.headers.get("Content-Type", "").startswith(
        "application/json"), r.headers
    body = r.json()
    assert {"error", "message"} <= set(body), body
    assert set(body) - {"error", "message"} <= ERROR_DETAILS, body
    assert isinstance(body["error"], str) and body["error"], body
    assert isinstance(body["message"], str) and body["message"], body
    if code is not None:
        assert body["error"] == code, body
    for k, want in (("field", field), ("index", index), ("limit", limit)):
        if want is not None:
            assert body.get(k) == want, body
    if "field" in body:
        assert re.fullmatch(r"[a-z][A-Za-z]*", body["field"]), body
    for k in ("index", "limit"):
        if k in body:
            assert isinstance(body[k], int) and body[k] >= 0, body
    sent = list(echo) + request_strings(r)
    for s in sent:
        if (isinstance(s, str) and len(s) >= 5 and s not in MESSAGE_WORDS
                and s != body.get("field")):
            assert s not in r.text, f"error reply echoes {s!r}: {r.text}"
    return body


# The environment: stack, fake Atlassian, tenants.

class Env:
    def __init__(self, factory, st, fake):
        self.factory = factory
        self.st = st
        self.fake = fake
        self.key, self.kid = fake.new_install_key("cellar-tpl")
        # What must never show up in a log.
        self.never_logged = []
        # The Jira sites of the tenants.
        self.sites = []

    def secret_text(self, what="x"):
        """A unique marker to put in template text, values, q; the log
        test looks for every one of them."""
        s = f"SENTINEL{what}{secrets.token_hex(6)}"
        self.never_logged.append(s)
        return s

    def install(self, base_url, secret, client_key=None):
        """Installs (or, given its client_key, reinstalls) a tenant."""
        return atl.install(self.st, self.key, self.kid, base_url, secret,
                           client_key)

    def tenant(self):
        """A fresh tenant whose Jira is a new site of the fake."""
        secret = atl.new_secret()
        site = self.fake.add_site(secret)
        self.sites.append(site)
        return Tenant(self, self.install(site.base_url, secret), secret,
                      site)

    def tenant_without_jira(self):
        """A fresh tenant whose Jira is a port nobody listens on."""
        secret = atl.new_secret()
        return Tenant(self, self.install(closed_port_url(), secret), secret,
                      None)

    def restart(self):
        """tests/stack stop, then start in the same directory."""
        self.st = self.factory.restart(self.st)


# What the teardown of every stack of this module checks (harness).
STACK_CHECKS = (internal_errors, unexpected_worker_exits)


def log_leaks(st, never_logged):
    """Problems (harness.leaks) if the app or access log of st holds one
    of the markers in never_logged (Env.secret_text: template text,
    render values, q) in any case, the text of a known template or
    value, a token, or (access log) a query string of the list."""
    logs = (st.app_log, st.access_log)
    marks = [n for s in never_logged
             for n in (("marker", s), ("marker (lower case)", s.lower()))]
    return (leaks(logs, marks) +
            leaks([st.app_log], [("template text", w) for w in (
                "Printer on fire", "Ada Lovelace", "Owner's note",
                "Password reset")]) +
            leaks([st.access_log], [("list query string",
                                     "/api/templates?")]) +
            leaks(logs, [("token", re.compile(
                r"eyJ[A-Za-z0-9_-]{10,}\."))]))


def module_env(module_stacks, fake, workers, tag):
    """An Env on a new stack of the module (install keys from the fake,
    cache_seconds = 0, personal_max = 2000: tests here make hundreds of
    personal templates per person; test_canned tests the default limit),
    checked at its teardown: STACK_CHECKS and log_leaks of the Env's
    markers."""
    drop_in = (f"[auth]\ninstall_keys_url = {fake.keys_url}\n"
               "[jira]\ncache_seconds = 0\n"
               "[templates]\npersonal_max = 2000\n")
    st = module_stacks({"50-templates.conf": drop_in}, workers=workers,
                       tag=tag, checks=STACK_CHECKS)
    e = Env(module_stacks, st, fake)
    module_stacks.check(st, lambda st: log_leaks(st, e.never_logged))
    return e


@pytest.fixture(scope="module")
def env(module_stacks, fake):
    """The module's stack: two workers."""
    return module_env(module_stacks, fake, workers=2, tag="stack")


@pytest.fixture
def t(env):
    """A fresh tenant with its own Jira site."""
    return env.tenant()


def signed(site, method, path, query="", body=None, timeout=5):
    """A request to the fake site signed as the app (for its self-test)."""
    tok = atl.app_token(site.shared_secret, atl.APP_KEY, method, path, query)
    url = site.base_url + path + (f"?{query}" if query else "")
    return session().request(method, url, timeout=timeout, json=body,
                             headers={"Authorization": f"JWT {tok}"})


# The fake's Jira answers themselves.

def test_fake_jira_answers_permission_and_group_questions(fake):
    site = fake.add_site(atl.new_secret())
    a, b = atl.new_account_id(), atl.new_account_id()
    site.set_admin(a)
    site.grant(b, BROWSE, P1, 10200)
    site.grant(b, PADMIN, P1)
    site.set_groups(b, ["g-1", ("Team", "g-2")])
    r = signed(site, "POST", PERMISSIONS_CHECK, body={
        "accountId": a, "globalPermissions": ["ADMINISTER"]})
    assert r.json() == {"globalPermissions": ["ADMINISTER"],
                        "projectPermissions": []}
    r = signed(site, "POST", PERMISSIONS_CHECK, body={
        "accountId": b, "globalPermissions": ["ADMINISTER"],
        "projectPermissions": [{"permissions": [BROWSE, PADMIN],
                                "projects": [10100, 10200, 10300]}]})
    assert r.json() == {"globalPermissions": [], "projectPermissions": [
        {"permission": BROWSE, "issues": [], "projects": [10100, 10200]},
        {"permission": PADMIN, "issues": [], "projects": [10100]}]}
    # Shaped as Jira wants it, or 400: project ids are numbers.
    r = signed(site, "POST", PERMISSIONS_CHECK, body={
        "accountId": b, "projectPermissions": [{"permissions": [BROWSE],
                                                "projects": ["10100"]}]})
    assert r.status_code == 400
    r = signed(site, "GET", USER_GROUPS, f"accountId={b}")
    assert [(g["name"], g["groupId"]) for g in r.json()] == [
        ("group g-1", "g-1"), ("Team", "g-2")]
    assert signed(site, "GET", USER_GROUPS, f"accountId={a}").json() == []
    site.unknown_accounts.add(a)
    assert signed(site, "GET", USER_GROUPS,
                  f"accountId={a}").status_code == 404
    site.revoke(b, BROWSE)
    r = signed(site, "POST", PERMISSIONS_CHECK, body={
        "accountId": b, "projectPermissions": [{"permissions": [BROWSE],
                                                "projects": [10100]}]})
    assert r.json()["projectPermissions"] == []
    # Unsigned: 401 as before.  Down: 503, or a closed connection.
    assert session().get(site.base_url + USER_GROUPS,
                         timeout=5).status_code == 401
    site.set_down("503")
    assert signed(site, "GET", USER_GROUPS,
                  f"accountId={b}").status_code == 503
    site.set_down("close")
    with pytest.raises(requests.ConnectionError):
        signed(site, "GET", USER_GROUPS, f"accountId={b}")
    site.set_down("hang")
    with pytest.raises(requests.Timeout):
        signed(site, "GET", USER_GROUPS, f"accountId={b}", timeout=0.3)
    site.set_down(None)
    assert signed(site, "GET", USER_GROUPS,
                  f"accountId={b}").status_code == 200
    assert site.count("GET", USER_GROUPS) == 8
    assert site.count("POST", PERMISSIONS_CHECK) == 4
    assert all(rec.verified for rec in site.requests[:3])


# Who calls.

def test_caller_must_be_an_account_id(t):
    a = t.user()
    mine = t.create(a)
    for sub in ("not an id!", "x" * 129, "a/b", "é"):
        tok = t.token(None, sub=sub)
        for method, path, body in (
                ("GET", "/api/templates", None),
                ("POST", "/api/templates", {"name": "n", "body": "b",
                                            "scope": "personal"}),
                ("GET", f"/api/templates/{mine['id']}", None),
                ("DELETE", f"/api/templates/{mine['id']}", None),
                ("POST", f"/api/templates/{mine['id']}/render",
                 {"values": {}}),
                ("GET", "/api/templates/export", None),
                ("POST", "/api/templates/import", {"templates": []})):
            r = t.req(method, path, None, body=body, token=tok)
            check_error(r, 403, "forbidden")
    # No sub at all.
    tok = t.token(None, sub=None)
    check_error(t.req("GET", "/api/templates", None, token=tok), 403,
                "forbidden")
    # The longest account id works.
    long_id = "a" * 128
    t.site.set_groups(long_id, [])
    got = t.create(long_id)
    assert t.get(long_id, got["id"]).status_code == 200
    assert t.get(a, mine["id"]).json() == mine


def test_unknown_ids_and_malformed_requests(t):
    a = t.user()
    mine = t.create(a)
    for tid in ("0", "-1", "01", "abc", "1e3", "999999999999",
                "9999999999999", str(mine["id"] + 1000)):
        check_error(t.req("GET", f"/api/templates/{tid}", a), 404,
                    "not_found")
    for params in ({"limit": "0"}, {"limit": "101"}, {"limit": "x"},
                   {"active": "yes"}, {"cursor": "not-a-cursor"},
                   {"cursor": atl.b64url("[1,2]")},
                   {"projectId": "PROJ"}, {"projectId": "1" * 19},
                   {"q": "q" * 201}):
        check_error(t.req("GET", "/api/templates", a, params=params), 400,
                    "bad_request")
    # Repeated parameters are refused, not guessed at.
    check_error(t.req("GET", "/api/templates?limit=1&limit=2", a), 400)
    # Bodies: not JSON, not an object, wrong types, unknown scope.
    check_error(t.req("POST", "/api/templates", a, raw=b"{"), 400)
    check_error(t.req("POST", "/api/templates", a, raw=b"[]"), 422)
    for bad in ({"name": "n", "body": "b"},
                {"name": "n", "body": "b", "scope": "team"},
                {"name": 5, "body": "b", "scope": "personal"},
                {"name": "n", "body": ["b"], "scope": "personal"},
                {"name": "n", "body": "b", "scope": "personal",
                 "position": 1.5},
                {"name": "n", "body": "b", "scope": "personal",
                 "position": 10 ** 7},
                {"name": "n", "body": "b", "scope": "personal",
                 "active": "yes"},
                {"name": "bad\nname", "body": "b", "scope": "personal"},
                {"name": "n", "body": "b", "scope": "personal",
                 "projects": [P1]},
                {"name": "n", "body": "b", "scope": "global",
                 "groups": ["g"]},
                {"name": "n", "body": "b", "scope": "projects",
                 "projects": ["PROJ"]},
                {"name": "n", "body": "b", "scope": "projects",
                 "projects": [P1, P1]},
                {"name": "n", "body": "b", "scope": "projects",
                 "projects": [0]},
                {"name": "n", "body": "b", "scope": "groups",
                 "groups": ["a b"]},
                {"name": "n", "body": "b", "scope": "projects",
                 "projects": P1}):
        check_error(t.post(a, bad), 422, "invalid")
    # Route-level refusals, JSON too.
    check_error(t.req("POST", "/api/templates", a, raw=b"{}",
                      headers={"Content-Type": "text/plain"}), 415)
    check_error(t.req("DELETE", f"/api/templates/{mine['id']}", a,
                      raw=b"{}"), 413)
    check_error(t.req("PATCH", f"/api/templates/{mine['id']}", a), 405)
    assert t.names(a) == [mine["name"]]


# The scope table, each row from both sides.

def test_personal_templates_are_their_owners_alone(t):
    owner = t.user()
    admin = t.user(admin=True, browse=[P1], padmin=[P1], groups=["g1"])
    other = t.user(browse=[P1])
    checks = t.site.count("POST", PERMISSIONS_CHECK)
    mine = t.create(owner, name="Owner's note", body="private text",
                    position=-1)
    # Made without asking Jira anything.
    assert t.site.count("POST", PERMISSIONS_CHECK) == checks
    assert mine["scope"] == "personal" and "projects" not in mine
    assert set(mine) == TEMPLATE_KEYS, mine
    assert ISO_TIME.match(mine["createdAt"]) and mine["version"] == 1
    assert mine["usage"] == {"last30Days": 0, "postedLast30Days": 0} and mine["active"] is True
    assert t.get(owner, mine["id"]).json() == mine
    assert t.names(owner) == ["Owner's note"]
    missing = t.get(other, mine["id"] + 1000)
    for who in (admin, other):
        for project in (None, P1):
            # 404 exactly like an id that does not exist.
            r = t.get(who, mine["id"], project)
            check_error(r, 404, "not_found")
            assert r.content == missing.content
            assert t.names(who, project, active="all") == []
            assert t.names(who, project, q="note") == []
        check_error(t.put(who, mine, name="taken"), 404, "not_found")
        check_error(t.put(who, mine, scope="global"), 404, "not_found")
        check_error(t.delete(who, mine["id"]), 404, "not_found")
        check_error(t.render(who, mine["id"]), 404, "not_found")
        check_error(t.use(who, mine["id"]), 404, "not_found")
    assert t.get(owner, mine["id"]).json() == mine
    # Others' personal templates of the same name do not collide.
    theirs = t.create(other, name="Owner's note")
    assert t.names(other) == ["Owner's note"]
    assert [x["id"] for x in t.list_all(owner)] == [mine["id"]]
    # The owner manages it.
    r = t.put(owner, mine, body="still private")
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 2 and r.json()["body"] == "still private"
    assert t.render(owner, mine["id"]).json() == {"text": "still private"}
    assert t.use(owner, mine["id"]).status_code == 204
    assert t.delete(owner, mine["id"]).status_code == 204
    check_error(t.get(owner, mine["id"]), 404, "not_found")
    check_error(t.delete(owner, mine["id"]), 404, "not_found")
    assert t.get(other, theirs["id"]).status_code == 200


def test_projects_templates(t):
    jadmin = t.user(admin=True)
    padmin = t.user(padmin=[P1, P2])          # admin of both projects
    padmin1 = t.user(padmin=[P1])             # of one only
    worker = t.user(browse=[P1, P2])          # works in both
    outsider = t.user(browse=[P3])
    # Who may create one: Jira admins, admins of every listed project.
    a = t.create(jadmin, "Projects A", scope="projects",
                 projects=[10100, P2])
    assert a["projects"] == [P1, P2]          # ids as strings, sorted
    b = t.create(padmin, "Projects B", scope="projects", projects=[P1, P2])
    c = t.create(padmin1, "Projects C", scope="projects", projects=[P1])
    for who, projects in ((padmin1, [P1, P2]), (worker, [P1]),
                          (outsider, [P3]), (padmin, [P1, P3])):
        check_error(t.post(who, {"name": "no", "body": "b",
                                 "scope": "projects",
                                 "projects": projects}), 403, "forbidden")
    # Who sees them: the token's project, numeric or string...
    for project in (P1, int(P1)):
        assert t.names(worker, project) == ["Projects A", "Projects B",
                                            "Projects C"]
    assert t.names(worker, P2) == ["Projects A", "Projects B"]
    assert t.get(worker, c["id"], P1).status_code == 200
    check_error(t.get(worker, c["id"], P2), 404, "not_found")
    # ...else ?projectId=, once Jira says the caller may browse it.
    assert t.names(worker, projectId=P2) == ["Projects A", "Projects B"]
    assert t.get(worker, a["id"], params={"projectId": P2}).status_code \
        == 200
    for who, kw in ((outsider, {"projectId": P1}),     # may not browse
                    (outsider, {}), (worker, {}),      # no project at all
                    (jadmin, {"projectId": P1})):      # admin, not member
        assert t.names(who, **kw) == [], (who, kw)
        check_error(t.get(who, a["id"], params=kw), 404, "not_found")
    assert t.names(outsider, P3) == []
    # The token's project wins over the parameter.
    assert t.names(worker, P2, projectId=P1) == ["Projects A",
                                                 "Projects B"]
    # Who manages them: seen but not manageable 403, unseen 404.
    check_error(t.put(worker, a, P1, name="mine now"), 403, "forbidden")
    check_error(t.delete(worker, a["id"], P1), 403, "forbidden")
    check_error(t.put(outsider, a, P3, name="mine now"), 404, "not_found")
    check_error(t.delete(outsider, a["id"]), 404, "not_found")
    check_error(t.put(padmin1, a, P1, name="half admin"), 403, "forbidden")
    check_error(t.delete(padmin1, b["id"], P1), 403, "forbidden")
    # Admins of every project: edit without seeing it in a project.
    r = t.put(padmin, a, name="Projects A2")
    assert r.status_code == 200, r.text
    a = r.json()
    # ...but not into a shape they may not manage.
    check_error(t.put(padmin, a, scope="global", projects=None), 403,
                "forbidden")
    check_error(t.put(padmin, a, projects=[P1, P3]), 403, "forbidden")
    check_error(t.put(padmin1, c, projects=[P1, P2]), 403, "forbidden")
    assert t.get(padmin, a["id"], P1).json() == a
    r = t.put(jadmin, a, projects=[P3])
    assert r.status_code == 200 and r.json()["projects"] == [P3]
    assert t.names(worker, P1) == ["Projects B", "Projects C"]
    assert t.names(outsider, P3) == ["Projects A2"]
    assert t.delete(padmin, b["id"]).status_code == 204
    assert t.delete(padmin1, c["id"], P1).status_code == 204
    assert t.delete(jadmin, a["id"]).status_code == 204
    assert t.names(worker, P1) == [] and t.names(outsider, P3) == []


def test_groups_templates(t):
    jadmin = t.user(admin=True)
    member = t.user(groups=["g-1"])
    member2 = t.user(groups=[("Support", "g-2"), "g-9"])
    in_both = t.user(groups=["g-2", "g-1"])
    # A group *named* g-1 but with another id is another group.
    lookalike = t.user(groups=[("g-1", "g-other")])
    nobody = t.user()
    g = t.create(jadmin, "Groups", scope="groups", groups=["g-1", "g-2"])
    assert g["groups"] == ["g-1", "g-2"]
    for who in (member, member2, in_both):
        assert t.names(who) == ["Groups"]
        got = t.get(who, g["id"]).json()
        assert stored(got) == stored(g)
        # Members use it; only an admin changes it.
        assert got["canEdit"] is False and g["canEdit"] is True
        assert t.render(who, g["id"]).status_code == 200
        # Seen, not managed: 403.
        check_error(t.put(who, g, name="x"), 403, "forbidden")
        check_error(t.delete(who, g["id"]), 403, "forbidden")
        check_error(t.post(who, {"name": "n", "body": "b",
                                 "scope": "groups", "groups": ["g-1"]}),
                    403, "forbidden")
    for who in (lookalike, nobody, jadmin):
        assert t.names(who) == []
        check_error(t.get(who, g["id"]), 404, "not_found")
        check_error(t.render(who, g["id"]), 404, "not_found")
    for who in (lookalike, nobody):
        check_error(t.put(who, g, name="x"), 404, "not_found")
        check_error(t.delete(who, g["id"]), 404, "not_found")
    # Membership is Jira's current answer (cache_seconds = 0 here).
    t.site.set_groups(member, [])
    assert t.names(member) == []
    check_error(t.get(member, g["id"]), 404, "not_found")
    # Jira admins manage it without being members.
    r = t.put(jadmin, g, groups=["g-9"])
    assert r.status_code == 200 and r.json()["groups"] == ["g-9"]
    assert t.names(member2) == ["Groups"]
    assert t.delete(jadmin, g["id"]).status_code == 204
    assert t.names(member2) == []


def test_global_templates(t):
    jadmin, jadmin2 = t.user(admin=True), t.user(admin=True)
    user = t.user()
    g = t.create(jadmin, "Global", scope="global")
    check_error(t.post(user, {"name": "n", "body": "b", "scope": "global"}),
                403, "forbidden")
    for who, edits in ((user, False), (jadmin2, True)):
        assert t.names(who) == ["Global"]
        got = t.get(who, g["id"]).json()
        assert stored(got) == stored(g) and got["canEdit"] is edits
        # The list says the same as the single read.
        assert [x["canEdit"] for x in t.list(who)["templates"]] == [edits]
    check_error(t.put(user, g, name="x"), 403, "forbidden")
    check_error(t.delete(user, g["id"]), 403, "forbidden")
    # Any Jira admin, not only its author.
    r = t.put(jadmin2, g, body="edited")
    assert r.status_code == 200, r.text
    g = r.json()
    # An admin may not turn another's template into their own personal
    # one ... (the owner never changes)
    check_error(t.put(jadmin2, g, scope="personal"), 403, "forbidden")
    # ... its author may, and then it is theirs alone.
    r = t.put(jadmin, g, scope="personal")
    assert r.status_code == 200, r.text
    assert t.names(user) == [] and t.names(jadmin2) == []
    check_error(t.get(jadmin2, g["id"]), 404, "not_found")
    # Revoked admin rights count at once (cache_seconds = 0).
    g2 = t.create(jadmin2, "Global 2", scope="global")
    t.site.set_admin(jadmin2, False)
    check_error(t.put(jadmin2, g2, name="x"), 403, "forbidden")
    assert t.delete(jadmin, g2["id"]).status_code == 204


def test_replies_show_the_template_as_stored(t):
    """The 201 of a create and the 200 of a PUT are what a GET reads
    afterwards (a client keeps them as its copy)."""
    jadmin = t.user(admin=True, groups=["g-b", "g-a"])
    g = t.create(jadmin, "Groups", scope="groups", groups=["g-b", "g-a"])
    assert t.get(jadmin, g["id"]).json() == g
    p = t.create(jadmin, "Projects", scope="projects",
                 projects=[P2, int(P1)])
    assert t.get(jadmin, p["id"], P1).json() == p
    r = t.put(jadmin, p, projects=[P3, P1])
    assert r.status_code == 200, r.text
    assert t.get(jadmin, p["id"], P1).json() == r.json()


def test_project_ids_are_canonical(t):
    """A project id is Jira's number: "0100" is no other project than
    100, and never reaches Jira as the invalid JSON number 0100."""
    jadmin = t.user(admin=True)
    padmin = t.user(padmin=["100"], browse=["100"])
    for who in (jadmin, padmin):
        r = t.post(who, {"name": "zero", "body": "b", "scope": "projects",
                         "projects": ["0100"]})
        assert r.status_code in (201, 422), (r.status_code, r.text)
        if r.status_code == 201:
            assert r.json()["projects"] == ["100"], r.json()
            assert t.names(padmin, "100") == ["zero"]
            assert t.delete(who, r.json()["id"]).status_code == 204
        else:
            check_error(r, 422)
    t.create(jadmin, "hundred", scope="projects", projects=[100])
    r = t.req("GET", "/api/templates", padmin, params={"projectId": "0100"})
    assert r.status_code in (200, 400), r.text
    if r.status_code == 200:
        assert r.json()["degraded"] is False
        assert [x["name"] for x in r.json()["templates"]] == ["hundred"]
    bad = [rec for rec in t.site.requests_to("POST", PERMISSIONS_CHECK)
           if rec.status == 400]
    assert not bad, [rec.body for rec in bad]


# Privacy of personal templates in counts, export and import.

def test_personal_templates_stay_out_of_counts_export_and_import(t):
    a, b = t.user(), t.user()
    jadmin = t.user(admin=True)
    padmin = t.user(padmin=[P1])
    a1 = t.create(a, "A one", body=t.env.secret_text("abody"))
    t.create(a, "A two")
    t.create(b, "B one")
    t.create(jadmin, "Shared global", scope="global")
    t.create(jadmin, "Shared groups", scope="groups", groups=["g"])
    t.create(padmin, "Shared projects", scope="projects", projects=[P1])
    assert t.count(a) == 5 and t.count(b) == 4 and t.count(jadmin) == 3
    # Exports: what the caller manages, never another's personal ones.
    x = t.export(jadmin)["templates"]
    assert sorted(e["name"] for e in x) == ["Shared global",
                                            "Shared groups",
                                            "Shared projects"]
    for e in x:
        assert set(e) == {"id", "name", "body", "scope", "position",
                          "active"} | ({"projects"} if e["scope"] ==
                                       "projects" else {"groups"} if
                                       e["scope"] == "groups" else set())
    assert sorted(e["name"] for e in t.export(a)["templates"]) == [
        "A one", "A two"]
    assert [e["name"] for e in t.export(b)["templates"]] == ["B one"]
    assert [e["name"] for e in t.export(padmin)["templates"]] == [
        "Shared projects"]
    assert a1["body"] not in json.dumps(t.export(jadmin))
    # Import: another's personal name is no collision (a rename would
    # tell that it exists); one's own is.
    r = t.import_(b, [{"name": "A one", "body": "b", "scope": "personal"}])
    assert r.status_code == 201, r.text
    rep = r.json()
    assert rep["renamed"] == [] and rep["created"] == 1
    r = t.import_(a, [{"name": "a ONE", "body": "b", "scope": "personal"}])
    assert r.status_code == 201, r.text
    assert r.json()["renamed"] == [{"index": 0, "from": "a ONE",
                                    "to": "a ONE (2)"}]
    assert sorted(t.names(b)) == ["A one", "B one", "Shared global"]
    assert t.count(a) == 6 and t.count(b) == 5 and t.count(jadmin) == 3


def test_import_renames_only_where_the_importer_can_see(t):
    """A name taken by a project template of a project the importer does
    not administer is no collision: renaming would tell that it exists."""
    jadmin = t.user(admin=True)
    padmin2 = t.user(padmin=[P2])
    t.create(jadmin, "Escalation", scope="projects", projects=[P1])
    r = t.import_(padmin2, [{"name": "escalation", "body": "b",
                             "scope": "projects", "projects": [P2]}])
    assert r.status_code == 201, r.text
    assert r.json()["renamed"] == []
    # In a project it shares, the clash is real and renamed.
    r = t.import_(jadmin, [{"name": "ESCALATION", "body": "b",
                            "scope": "projects", "projects": [P3, P2]}])
    assert r.status_code == 201, r.text
    assert r.json()["renamed"] == [{"index": 0, "from": "ESCALATION",
                                    "to": "ESCALATION (2)"}]
    # And within one import, per project.
    r = t.import_(jadmin, [
        {"name": "Triage", "body": "b", "scope": "projects",
         "projects": [P1]},
        {"name": "triage", "body": "b", "scope": "projects",
         "projects": [P2]},
        {"name": "TRIAGE", "body": "b", "scope": "projects",
         "projects": [P2, P3]}])
    assert r.status_code == 201, r.text
    assert r.json()["renamed"] == [{"index": 2, "from": "TRIAGE",
                                    "to": "TRIAGE (2)"}]


def test_import_of_many_equal_names(t):
    """Every template of one name gets the next free suffix, in order,
    skipping names already taken ("Same (3)" exists)."""
    a = t.user()
    t.create(a, "same (3)")
    r = t.import_(a, [{"name": "Same", "body": f"b{i}", "scope": "personal"}
                      for i in range(600)])
    assert r.status_code == 201, r.text
    want = ["Same"] + [f"Same ({k})" for k in range(2, 602) if k != 3]
    assert [x["to"] for x in r.json()["renamed"]] == want[1:]
    assert sorted(t.names(a)) == sorted(want + ["same (3)"])


def test_concurrent_imports_per_address_are_capped(t):
    """A body nginx must buffer whole is 16 MiB here: one address may
    have two imports in flight, a third is 429 at once."""
    host, port = t.env.st.base_url.split("//")[1].split(":")
    port = int(port.rstrip("/"))
    slow = []
    try:
        for _ in range(2):
            c = socket.create_connection((host, port), timeout=5)
            c.sendall(b"POST /api/templates/import HTTP/1.1\r\n"
                      b"Host: x\r\nContent-Type: application/json\r\n"
                      b"Content-Length: 1000\r\n\r\n{")
            slow.append(c)
        time.sleep(0.3)
        r = t.import_(t.user(), [])
        check_error(r, 429)
    finally:
        for c in slow:
            c.close()
    # Once they are gone, imports go through again.
    wait_until(lambda: t.import_(t.user(), []).status_code == 201,
               timeout=5)


def test_export_over_a_mebibyte_imports_again(t):
    """The largest exports are megabytes: the import route takes what
    export gives (16 MiB), through nginx and the app."""
    a = t.user()
    made = [{"name": f"long {i}", "body": f"{i} " + "é" * 9000,
             "scope": "personal"} for i in range(150)]
    r = t.import_(a, made)
    assert r.status_code == 201, r.text
    x = t.export(a)
    assert len(json.dumps(x).encode()) > 2 * 1024 * 1024
    r = t.import_(a, x["templates"])
    assert r.status_code == 201, r.text
    assert r.json()["created"] == 150
    assert len(r.json()["renamed"]) == 150
    bodies = sorted(e["body"] for e in t.export(a)["templates"])
    assert bodies == sorted([m["body"] for m in made] * 2)


def test_malformed_project_id_is_400_whatever_the_template(t):
    """A bad ?projectId= is a bad request for any id: a 404 for hidden
    templates only would tell them apart."""
    jadmin = t.user(admin=True)
    member = t.user(browse=[P1])
    hidden = t.create(jadmin, "Hidden", scope="projects", projects=[P2])
    seen = t.create(jadmin, "Seen", scope="global")
    for tid in (hidden["id"], seen["id"], 999999999):
        for bad in ("0100", "abc", "-1", "1" * 19):
            check_error(t.get(member, tid, params={"projectId": bad}), 400,
                        "bad_request", echo=(bad,))


# Optimistic concurrency.

def test_stale_version_is_409_and_changes_nothing(t):
    jadmin = t.user(admin=True)
    v1 = t.create(jadmin, "Versioned", scope="projects", projects=[P1])
    r = t.put(jadmin, v1, name="Versioned 2", projects=[P2])
    assert r.status_code == 200, r.text
    v2 = r.json()
    assert v2["version"] == 2 and v2["id"] == v1["id"]
    assert v2["createdAt"] == v1["createdAt"]
    assert v2["updatedAt"] >= v1["updatedAt"]
    assert t.get(jadmin, v1["id"], P2).json() == v2
    for version in (1, 3, 99):
        r = t.put(jadmin, v1, version=version, name="Lost update",
                  body="lost", scope="global", projects=None, active=False)
        check_error(r, 409, "conflict")
    for version in (None, "2", 0, -1, 2.5):
        check_error(t.put(jadmin, v2, version=version, name="nope"), 422,
                    "invalid")
    assert t.get(jadmin, v1["id"], P2).json() == v2
    assert t.names(jadmin, P2) == ["Versioned 2"]
    # Two writers with the same version: exactly one wins.
    results = []

    def writer(name):
        results.append(t.put(jadmin, v2, name=name))
    threads = [threading.Thread(target=writer, args=(f"Race {i}",))
               for i in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    codes = sorted(r.status_code for r in results)
    assert codes == [200, 409, 409, 409], [(r.status_code, r.text)
                                           for r in results]
    won = next(r.json() for r in results if r.status_code == 200)
    assert won["version"] == 3
    assert t.get(jadmin, v1["id"], P2).json()["name"] == won["name"]
    # A deleted template: 404, not 409.
    assert t.delete(jadmin, v1["id"]).status_code == 204
    check_error(t.put(jadmin, won, name="gone"), 404, "not_found")


# Render.

ALL_VARS = ("Hi {{reporter.displayName}}, {{issue.key}} "
            "({{issue.summary}}) is with {{assignee.displayName}}. "
            "-- {{currentUser.displayName}}, {{today}}")


def test_render_fills_every_variable(t):
    a = t.user()
    tpl = t.create(a, body=ALL_VARS)
    values = {"issue.key": "SUP-42", "issue.summary": "Printer on fire",
              "reporter.displayName": "Ada Lovelace",
              "assignee.displayName": "Grace Hopper",
              "currentUser.displayName": "Émile Zoë"}
    before = today_utc()
    r = t.render(a, tpl["id"], values)
    after = today_utc()
    assert r.status_code == 200, r.text
    assert set(r.json()) == {"text"}
    text = r.json()["text"]
    assert text in (
        f"Hi Ada Lovelace, SUP-42 (Printer on fire) is with Grace Hopper. "
        f"-- Émile Zoë, {d}" for d in {before, after}), text
    # Without values: known variables vanish, today stays.
    r = t.render(a, tpl["id"])
    assert r.json()["text"] in (f"Hi ,  () is with . -- , {d}"
                                for d in {before, after})
    # Extra values are ignored.
    r = t.render(a, tpl["id"], dict(values, **{"issue.unknown": "x"}))
    assert r.status_code == 200 and "SUP-42" in r.json()["text"]
    # Each render counts one "inserted".
    assert t.get(a, tpl["id"]).json()["usage"] == {
        "last30Days": 3, "postedLast30Days": 0}


def test_render_fallbacks_and_unknown_variables(t):
    a = t.user()
    cases = [
        ("{{assignee.displayName | nobody yet}}", {}, "nobody yet"),
        ("{{ assignee.displayName|nobody }}", {}, "nobody"),
        ("{{\tissue.key\t|\t  not  set \t}}", {}, "not  set"),
        ("{{assignee.displayName | nobody}}",
         {"assignee.displayName": ""}, "nobody"),
        ("{{assignee.displayName | nobody}}",
         {"assignee.displayName": "Kim"}, "Kim"),
        ("{{issue.key|}}", {}, ""),
        ("[{{issue.summary}}]", {}, "[]"),
        ("{{ today | never }}", {}, today_utc()),
        # Unknown names stay literal, fallback and all, so typos show.
        ("{{issue.keyy}} {{ foo | bar }} {{Issue.Key}}",
         {"issue.keyy": "no", "Issue.Key": "no"},
         "{{issue.keyy}} {{ foo | bar }} {{Issue.Key}}"),
        ("{{}} {{ }} {{|x}}", {}, "{{}} {{ }} {{|x}}"),
        # Unterminated, nested and partial braces.
        ("{{issue.key", {"issue.key": "K-1"}, "{{issue.key"),
        ("{{issue.key}", {"issue.key": "K-1"}, "{{issue.key}"),
        ("a }} b {{issue.key}}", {"issue.key": "K-1"}, "a }} b K-1"),
        ("{{issue.key}}{{issue.key}}", {"issue.key": "K"}, "KK"),
    ]
    for body, values, want in cases:
        tpl = t.create(a, body=body)
        r = t.render(a, tpl["id"], values)
        assert r.status_code == 200, (body, r.text)
        assert r.json()["text"] == want, (body, values, r.json())


def test_render_hostile_values(t, env):
    a = t.user()
    tpl = t.create(a, body="key={{issue.key}} sum={{issue.summary | fb}}")
    secret = env.secret_text("value")
    # Values are never expanded again, whatever they hold.
    values = {"issue.key": "}} {{issue.summary}} {{today}}",
              "issue.summary": "{{issue.key}} " + secret}
    r = t.render(a, tpl["id"], values)
    assert r.json()["text"] == ("key=}} {{issue.summary}} {{today}} "
                                "sum={{issue.key}} " + secret)
    # Non-string values: 422.
    for bad in ({"issue.key": 5}, {"issue.key": None},
                {"issue.key": ["a"]}, {"issue.key": {"a": "b"}},
                {"issue.key": True}):
        check_error(t.render(a, tpl["id"], bad), 422, "invalid")
    for bad in (b'{"values": "x"}', b'{"values": ["x"]}'):
        check_error(t.render(a, tpl["id"], raw=bad), 422, "invalid")
    # NUL, escaped or raw, and invalid UTF-8: 400.
    for raw in (b'{"values": {"issue.key": "a\\u0000b"}}',
                b'{"values": {"issue.key": "a\x00b"}}',
                b'{"values": {"issue.key": "\xff\xfe"}}',
                b'{"values": {"issue.key": "\xc0\xaf"}}',
                b'{"values": {"issue.key": "\xed\xa0\x80"}}',
                b'{"values": {"issue.key": "caf\xe9"}}'):
        check_error(t.render(a, tpl["id"], raw=raw), 400, "bad_request")
    # Big values: over the route's 64 KiB the app refuses (413), over
    # 1 MiB nginx does (413, the same JSON shape).
    for size in (70 * 1024, MIB, 2 * MIB):
        r = t.render(a, tpl["id"], {"issue.key": "k" * size})
        check_error(r, 413, "too_large")
    # Within the route limit but rendering past the 256 KiB output
    # limit: 422 naming the field and the limit (the request was not too
    # large; its values are, for this template).
    big = t.create(a, body="{{issue.key}}" * 769)
    r = t.render(a, big["id"], {"issue.key": "v" * 60000})
    check_error(r, 422, "limit_values", field="values", limit=256 * 1024)
    # None of those counted a use; the one good render did.
    assert t.get(a, tpl["id"]).json()["usage"] == {
        "last30Days": 1, "postedLast30Days": 0}
    assert t.get(a, big["id"]).json()["usage"] == {
        "last30Days": 0, "postedLast30Days": 0}
    # A big but fitting render works.
    r = t.render(a, big["id"], {"issue.key": "v" * 300})
    assert r.status_code == 200 and len(r.json()["text"]) == 769 * 300


def test_usage_counts_order_the_list(t):
    a = t.user()
    made = {n: t.create(a, n, position=p) for n, p in (
        ("alpha", 0), ("Bravo", 0), ("charlie", 0), ("delta", 0),
        ("zulu", -1), ("aardvark", 5))}
    assert t.names(a) == ["zulu", "alpha", "Bravo", "charlie", "delta",
                          "aardvark"]
    for _ in range(2):
        assert t.render(a, made["charlie"]["id"]).status_code == 200
    for _ in range(3):
        assert t.use(a, made["delta"]["id"]).status_code == 204
    assert t.render(a, made["Bravo"]["id"]).status_code == 200
    got = t.list_all(a)
    assert [x["name"] for x in got] == ["zulu", "delta", "charlie",
                                        "Bravo", "alpha", "aardvark"]
    assert [x["usage"]["last30Days"] for x in got] == [0, 3, 2, 1, 0, 0]
    # Position first, whatever the use.
    for _ in range(4):
        assert t.use(a, made["aardvark"]["id"]).status_code == 204
    assert t.names(a)[-1] == "aardvark"
    # Equal names: by id.
    twin = t.create(a, "ALPHA")
    names = t.names(a)
    assert names.index("alpha") + 1 == names.index("ALPHA")
    assert twin["id"] > made["alpha"]["id"]
    # Only "posted" is a kind of use one reports.
    for kind in ("inserted", "POSTED", "", None):
        check_error(t.use(a, made["alpha"]["id"], kind=kind), 422,
                    "invalid")
    check_error(t.use(a, 999999), 404, "not_found")


# Search and the active filter.

def test_search_and_active_filter(t, env):
    a = t.user()
    marker = env.secret_text("q")
    for name, body, active in (
            ("Password reset", "Use the link.", True),
            ("Welcome", "We RESET nothing. " + marker, True),
            ("Old reset", "gone", False),
            ("Outage", "We are investigating.", True),
            ("100% done", "finished", True),
            ("under_score", "x", True),
            ("Ünïcode", "naïve café", True)):
        t.create(a, name, body, active=active)
    assert t.names(a, q="reset") == ["Password reset", "Welcome"]
    assert t.names(a, q="RESET") == ["Password reset", "Welcome"]
    assert t.names(a, q="ReSeT", active="all") == [
        "Old reset", "Password reset", "Welcome"]
    assert t.names(a, q="reset", active="false") == ["Old reset"]
    assert t.names(a, q="reset", active="true") == ["Password reset",
                                                    "Welcome"]
    assert t.names(a, q=marker.lower()) == ["Welcome"]
    # Literal, not LIKE patterns.
    assert t.names(a, q="%") == ["100% done"]
    assert t.names(a, q="_") == ["under_score"]
    assert t.names(a, q="café") == ["Ünïcode"]
    assert t.names(a, q="nothing here") == []
    assert t.names(a, q="a" * 200) == []
    assert len(t.names(a)) == 6 and len(t.names(a, active="all")) == 7
    assert t.names(a, active="false") == ["Old reset"]
    # Deactivating and reactivating moves it between the lists.
    out = t.list_all(a, q="Outage")[0]
    assert t.put(a, out, active=False).status_code == 200
    assert t.names(a, q="outage") == []
    assert t.names(a, q="outage", active="false") == ["Outage"]
    # An inactive template can still be read by id.
    assert t.get(a, out["id"]).json()["active"] is False


def test_search_is_case_insensitive_beyond_ascii(t):
    """Jira sites write in every language: "été" finds "Été"."""
    a = t.user()
    t.create(a, "Été", "Réponse pour Ünïcode et ÇA")
    t.create(a, "other", "nothing")
    for q in ("été", "ÉTÉ", "réponse", "ünïcode", "ça"):
        assert t.names(a, q=q) == ["Été"], q


def test_tenants_never_see_each_other(env):
    t1, t2 = env.tenant(), env.tenant()
    a1, a2 = t1.user(admin=True), t2.user(admin=True)
    g = t1.create(a1, "Tenant one's", scope="global")
    mine = t2.create(a2, "Tenant two's")
    assert t1.names(a2) == ["Tenant one's"]     # an account in both
    assert t2.names(a2) == ["Tenant two's"]
    assert t2.names(a1) == []
    # The same id in the other tenant is the other tenant's template.
    assert g["id"] == mine["id"]
    assert t2.get(a2, g["id"]).json()["name"] == "Tenant two's"
    check_error(t2.get(a1, g["id"]), 404, "not_found")
    assert t2.count(a1) == 0 and t1.count(a1) == 1
    assert [e["name"] for e in t2.export(a1)["templates"]] == []
    # A token signed with the other tenant's secret: refused.
    tok = atl.context_token(t1.secret, t2.client_key, sub=a1,
                            context=atl.user_context())
    check_error(t2.req("GET", "/api/templates", a1, token=tok), 401,
                "unauthorized")


# Limits.

def test_field_limits_are_422_naming_the_limit(t):
    jadmin = t.user(admin=True)

    def refused(fields, code, number):
        d = {"name": "n", "body": "b", "scope": "personal"}
        d.update(fields)
        body = check_error(t.post(jadmin, d), 422, code)
        assert number in body["message"], body

    # Names: 1-120 characters, counted as characters, not bytes.
    for name in ("n" * 120, "é" * 120, "😀" * 120, "x"):
        assert t.post(jadmin, {"name": name, "body": "b",
                               "scope": "personal"}).status_code == 201
    for name in ("n" * 121, "é" * 121, "😀" * 121, ""):
        refused({"name": name}, "limit_name", "120")
    # Bodies: 1-10000 characters.
    for body in ("b" * 10000, "€" * 10000):
        assert t.post(jadmin, {"name": secrets.token_hex(4), "body": body,
                               "scope": "personal"}).status_code == 201
    for body in ("b" * 10001, "€" * 10001, ""):
        refused({"body": body}, "limit_body", "10000")
    # Project lists: 1-50.
    projects = [str(20000 + i) for i in range(51)]
    ok = t.create(jadmin, scope="projects", projects=projects[:50])
    assert len(ok["projects"]) == 50
    refused({"scope": "projects", "projects": projects}, "limit_projects",
            "50")
    refused({"scope": "projects", "projects": []}, "limit_projects", "50")
    # Group lists: 1-20.
    groups = [f"group-{i}" for i in range(21)]
    ok = t.create(jadmin, scope="groups", groups=groups[:20])
    assert len(ok["groups"]) == 20
    refused({"scope": "groups", "groups": groups}, "limit_groups", "20")
    refused({"scope": "groups", "groups": []}, "limit_groups", "20")
    # The same limits on PUT, and nothing changes.
    r = t.put(jadmin, ok, name="n" * 121)
    check_error(r, 422, "limit_name")
    check_error(t.put(jadmin, ok, groups=groups), 422, "limit_groups")
    check_error(t.put(jadmin, ok, body=""), 422, "limit_body")
    stored = [e for e in t.export(jadmin)["templates"]
              if e["id"] == ok["id"]]
    assert stored == [{k: ok[k] for k in ("id", "name", "body", "scope",
                                          "position", "active")} |
                      {"groups": sorted(groups[:20])}]
    # Bodies over the route's 64 KiB: 413 before anything is parsed.
    r = t.post(jadmin, {"name": "n", "body": "b" * (65 * 1024),
                        "scope": "personal"})
    check_error(r, 413, "too_large")
    r = t.put(jadmin, ok, body="b" * (65 * 1024))
    check_error(r, 413, "too_large")


def test_site_limit_of_2000_shared_templates(t):
    """A site holds at most 2,000 shared (project, group, global)
    templates; personal ones count per person, not here."""
    admin, b = t.user(admin=True), t.user()

    def batch(n, start, scope="global"):
        return [{"name": f"bulk {start + i}", "body": f"body {start + i}",
                 "scope": scope} for i in range(n)]

    for start, n in ((0, 1000), (1000, 999)):
        r = t.import_(admin, batch(n, start))
        assert r.status_code == 201, r.text
        assert r.json()["created"] == n and r.json()["renamed"] == []
    last = t.create(admin, "number 2000", scope="global")
    assert t.count(admin) == 2000
    # The 2001st shared one, in any way: 422 naming the limit.
    body = check_error(t.post(admin, {"name": "one too many", "body": "b",
                                      "scope": "global"}), 422,
                       "limit_templates", limit=2000)
    assert "2000" in body["message"] or "2,000" in body["message"]
    check_error(t.import_(admin, batch(1, 5000)), 422, "limit_templates",
                limit=2000)
    # Personal templates are not shared ones: still made.
    t.create(b, "mine")
    assert t.count(b) == 2001
    # An import over 2000 rows is refused as such (413), whatever the
    # room.
    check_error(t.import_(b, batch(2001, 6000, "personal")), 413,
                "limit_import")
    # An import body over 16 MiB: 413 too (nginx's limit for the route).
    r = t.import_(b, [{"name": "n", "body": "b" * 9000,
                       "scope": "personal"}] * 1900)
    check_error(r, 413, "too_large")
    assert t.count(admin) == 2000 and t.count(b) == 2001
    # A personal template made global needs shared room.
    own = t.create(admin, "admin's own")
    check_error(t.put(admin, own, scope="global"), 422, "limit_templates",
                limit=2000)
    assert t.get(admin, own["id"]).json()["scope"] == "personal"
    # Room again after a delete.
    assert t.delete(admin, last["id"]).status_code == 204
    t.create(admin, "number 2000 again", scope="global")
    check_error(t.post(admin, {"name": "n", "body": "b", "scope": "groups",
                               "groups": ["g-1"]}), 422, "limit_templates")
    # Paging through 2001 neither repeats nor skips.
    got = t.list_all(admin, limit=100)
    assert len(got) == 2001 and len({x["id"] for x in got}) == 2001


# Jira down: fail closed.

def _assert_down_behaviour(t, admin, member, seen_shared):
    """With t's Jira unreachable: personal and global reads work, the
    list is degraded, whatever needs Jira is 503."""
    glob, groups, projects, personal = seen_shared
    page = t.list(member)
    assert page["degraded"] is True
    assert [x["id"] for x in page["templates"]] == [personal["id"],
                                                    glob["id"]]
    # The token's project needs no Jira: its templates still show.
    page = t.list(member, P1)
    assert page["degraded"] is True
    assert {x["id"] for x in page["templates"]} == {
        personal["id"], glob["id"], projects["id"]}
    # ?projectId= needs Jira: not shown, degraded.
    page = t.list(member, projectId=P1)
    assert page["degraded"] is True
    assert {x["id"] for x in page["templates"]} == {personal["id"],
                                                    glob["id"]}
    assert t.get(member, glob["id"]).status_code == 200
    assert t.get(member, personal["id"]).status_code == 200
    assert t.get(member, projects["id"], P1).status_code == 200
    assert t.render(member, glob["id"]).status_code == 200
    check_error(t.get(member, groups["id"]), 503, "unavailable")
    check_error(t.render(member, groups["id"]), 503, "unavailable")
    check_error(t.get(member, projects["id"], params={"projectId": P1}),
                503, "unavailable")
    # While Jira is down, what the caller may not see looks the same
    # whatever it is: a shared template of another project, another's
    # personal one, an id that never existed.
    for tid, project in ((projects["id"], P2), (t.other_personal, None),
                         (999999999, None)):
        for r in (t.get(member, tid, project), t.render(member, tid),
                  t.use(member, tid),
                  t.put(member, {"id": tid, "name": "n", "body": "b",
                                 "scope": "personal", "position": 0,
                                 "active": True, "version": 1}),
                  t.delete(member, tid, project)):
            check_error(r, 503, "unavailable")
    # Personal templates are still made and changed.
    mine = t.create(member, "made while down")
    assert t.put(member, mine, body="x").status_code == 200
    r = t.import_(member, [{"name": "imported while down", "body": "b",
                            "scope": "personal"}])
    assert r.status_code == 201, r.text
    # Shared ones are not, not even by a Jira admin: 503, not 403.
    count = t.count(admin)
    check_error(t.post(admin, {"name": "n", "body": "b",
                               "scope": "global"}), 503, "unavailable")
    check_error(t.post(admin, {"name": "n", "body": "b",
                               "scope": "projects", "projects": [P1]}),
                503, "unavailable")
    check_error(t.put(admin, glob, name="x"), 503, "unavailable")
    check_error(t.delete(admin, glob["id"]), 503, "unavailable")
    check_error(t.delete(admin, groups["id"]), 503, "unavailable")
    check_error(t.delete(member, projects["id"], P1), 503, "unavailable")
    check_error(t.import_(admin, [{"name": "p", "body": "b",
                                   "scope": "personal"},
                                  {"name": "g", "body": "b",
                                   "scope": "global"}]), 503,
                "unavailable")
    check_error(t.req("GET", "/api/templates/export", admin), 503,
                "unavailable")
    assert t.count(admin) == count
    assert stored(t.get(admin, glob["id"]).json()) == \
        stored(glob)


@pytest.mark.parametrize("mode", ["503", "close"])
def test_jira_down_fails_closed(t, mode):
    admin = t.user(admin=True)
    member = t.user(browse=[P1], groups=["g-1"])
    shared = (t.create(admin, "Global", scope="global"),
              t.create(admin, "Groups", scope="groups", groups=["g-1"]),
              t.create(admin, "Projects", scope="projects", projects=[P1]),
              t.create(member, "Personal", position=-1))
    assert len(t.list_all(member, projectId=P1)) == 4
    t.other_personal = t.create(t.user(), "Another's")["id"]
    t.site.set_down(mode)
    started = time.monotonic()
    before = t.site.count()
    _assert_down_behaviour(t, admin, member, shared)
    # After a failure a worker stops asking for 5 s: with two workers at
    # most two calls per 5 s reached Jira.
    windows = 1 + int((time.monotonic() - started) // 5)
    assert t.site.count() - before <= 2 * windows, t.site.requests[before:]


def test_jira_unreachable_tenant(env):
    """A tenant whose baseUrl (after a signed reinstall) is a port nobody
    listens on: connection refused, the same fail-closed behaviour."""
    t = env.tenant()
    admin = t.user(admin=True)
    member = t.user(browse=[P1], groups=["g-1"])
    shared = (t.create(admin, "Global", scope="global"),
              t.create(admin, "Groups", scope="groups", groups=["g-1"]),
              t.create(admin, "Projects", scope="projects", projects=[P1]),
              t.create(member, "Personal", position=-1))
    t.other_personal = t.create(t.user(), "Another's")["id"]
    env.install(closed_port_url(), t.secret, t.client_key)
    site_calls = t.site.count()
    _assert_down_behaviour(t, admin, member, shared)
    assert t.site.count() == site_calls


def test_tenant_without_shared_templates_needs_no_jira(env):
    """Only personal and global templates: the list asks Jira nothing,
    so an unreachable Jira does not even degrade it."""
    t = env.tenant_without_jira()
    a, admin = t.user(), t.user()
    mine = t.create(a, "Personal")
    for kw in ({}, {"projectId": P1}):
        page = t.list(a, **kw)
        assert page["degraded"] is False
        assert [x["id"] for x in page["templates"]] == [mine["id"]]
    check_error(t.post(admin, {"name": "n", "body": "b",
                               "scope": "global"}), 503, "unavailable")
    check_error(t.post(admin, {"name": "n", "body": "b",
                               "scope": "groups", "groups": ["g"]}), 503,
                "unavailable")
    check_error(t.import_(admin, [{"name": "g", "body": "b",
                                   "scope": "global"}]), 503,
                "unavailable")
    assert [e["name"] for e in t.export(a)["templates"]] == ["Personal"]
    assert t.render(a, mine["id"]).status_code == 200
    assert t.count(a) == 1


# Paging.

def test_paging_neither_repeats_nor_skips_under_concurrent_inserts(t):
    a = t.user()
    # 60 templates over three positions, some names equal but for case.
    originals = []
    for i in range(60):
        name = ("Same", "same", "SAME")[i % 3] if i % 10 == 0 else \
            f"m-{(i * 37) % 60:02d}"
        originals.append({"name": name, "body": "b", "scope": "personal",
                          "position": i % 3})
    r = t.import_(a, originals)
    assert r.status_code == 201, r.text
    original_ids = {x["to"] for x in r.json()["ids"]}
    inserted, errors = [], []
    stop = threading.Event()
    grew = threading.Condition()
    http = session()

    def inserter():
        names = ("a-new-{}", "z-new-{}", "Same", "m-30", "n-{}")
        n = 0
        while not stop.is_set():
            name = names[n % len(names)].format(n)
            pos = (-1, 0, 1, 2, 3)[(n // len(names)) % 5]
            body = json.dumps({"name": name, "body": "b",
                               "scope": "personal", "position": pos})
            try:
                rr = http.post(t.env.st.base_url + "/api/templates",
                               data=body, timeout=10, headers={
                                   "Authorization": "JWT " + t.token(a),
                                   "Content-Type": "application/json",
                                   "Connection": "close"})
            except Exception as e:      # noqa: BLE001
                errors.append(repr(e))
                return
            if rr.status_code != 201:
                errors.append((rr.status_code, rr.text))
                return
            with grew:
                inserted.append(rr.json()["id"])
                grew.notify_all()
            n += 1

    th = threading.Thread(target=inserter, daemon=True)
    th.start()
    seen, cursor, pages = [], None, 0
    try:
        while True:
            # Let some inserts land between every two pages.
            with grew:
                have = len(inserted)
                grew.wait_for(lambda: len(inserted) >= have + 2 or errors,
                              timeout=5)
            params = {"limit": 7}
            if cursor:
                params["cursor"] = cursor
            page = t.list(a, **params)
            pages += 1
            seen += page["templates"]
            cursor = page["nextCursor"]
            if cursor is None:
                break
            assert pages < 200
    finally:
        stop.set()
        th.join(10)
    assert not errors, errors
    ids = [x["id"] for x in seen]
    assert len(ids) == len(set(ids)), "a template came twice"
    assert original_ids <= set(ids), \
        f"skipped: {sorted(original_ids - set(ids))}"
    assert len(inserted) >= 2 * (pages - 1)
    # And what came is in the list's order.
    keys = [(x["position"], -x["usage"]["last30Days"], x["name"].lower(),
             x["id"]) for x in seen]
    assert keys == sorted(keys)
    assert set(t.ids(a)) == original_ids | set(inserted)


def test_paging_past_long_non_ascii_names(t):
    """A name of 120 characters is a valid name in any script; the
    cursor after it must be accepted back."""
    a = t.user()
    for i, name in enumerate(("😀" * 120, "한" * 120, "é" * 120,
                              '"\\' * 60)):
        t.create(a, name, position=-1000000 + i)
        t.create(a, f"after {i}", position=1000000)
    cursor, seen = None, []
    for _ in range(20):
        params = {"limit": 1}
        if cursor:
            params["cursor"] = cursor
        r = t.req("GET", "/api/templates", a, params=params)
        assert r.status_code == 200, (len(seen), seen[-1:], r.text)
        seen += [x["name"] for x in r.json()["templates"]]
        cursor = r.json()["nextCursor"]
        if cursor is None:
            break
    assert len(seen) == 8


# Export and import.

def test_export_import_roundtrip(t, env):
    jadmin = t.user(admin=True)
    made = [t.create(jadmin, "Global", "g {{issue.key}}", scope="global",
                     position=3, active=False),
            t.create(jadmin, "Groups", "gr", scope="groups",
                     groups=["g-2", "g-1"]),
            t.create(jadmin, "Projects", "pr", scope="projects",
                     projects=[P2, P1]),
            t.create(jadmin, "Mine", "mine", position=-2)]
    x = t.export(jadmin)
    assert sorted(e["id"] for e in x["templates"]) == sorted(
        m["id"] for m in made)
    fields = ("name", "body", "scope", "position", "active", "projects",
              "groups")

    def shape(e):
        return tuple(e.get(k) for k in fields)

    # Into the same tenant: every name taken in its scope, so renamed;
    # new ids, mapped from the old ones.
    r = t.import_(jadmin, x["templates"])
    assert r.status_code == 201, r.text
    rep = r.json()
    assert set(rep) == {"renamed", "ids", "created"}
    assert rep["created"] == 4
    assert sorted((e["index"], e["from"], e["to"]) for e in
                  rep["renamed"]) == [
        (i, e["name"], e["name"] + " (2)") for i, e in
        enumerate(x["templates"])]
    old = [e["id"] for e in x["templates"]]
    assert [m["from"] for m in rep["ids"]] == old
    new = [m["to"] for m in rep["ids"]]
    assert len(set(new)) == 4 and not set(new) & set(old)
    now = {e["id"]: e for e in t.export(jadmin)["templates"]}
    for e, nid in zip(x["templates"], new):
        assert shape(now[nid]) == shape(dict(e, name=e["name"] + " (2)"))
    got = t.get(jadmin, new[0]).json()
    assert got["version"] == 1 and got["usage"]["last30Days"] == 0
    # Again: " (3)".
    r = t.import_(jadmin, [e for e in x["templates"]
                           if e["name"] == "Global"])
    assert r.json()["renamed"][0]["to"] == "Global (3)"
    # Into another tenant: nothing to rename, same content.
    u = env.tenant()
    admin_u = u.user(admin=True)
    r = u.import_(admin_u, x["templates"])
    assert r.status_code == 201, r.text
    assert r.json()["renamed"] == []
    assert sorted(map(shape, u.export(admin_u)["templates"])) == sorted(
        map(shape, x["templates"]))
    # Duplicates inside one import, and names at the 120 limit.
    long = "L" * 120
    r = u.import_(admin_u, [
        {"name": "Dup", "body": "1", "scope": "personal"},
        {"name": "dup", "body": "2", "scope": "personal"},
        {"name": "Dup", "body": "3", "scope": "global"},
        {"name": long, "body": "4", "scope": "personal"},
        {"name": long, "body": "5", "scope": "personal"},
        {"name": "no id", "body": "6", "scope": "personal", "id": "x"}])
    assert r.status_code == 201, r.text
    rep = r.json()
    assert [(e["index"], e["to"]) for e in rep["renamed"]] == [
        (1, "dup (2)"), (4, "L" * 116 + " (2)")]
    assert [m["from"] for m in rep["ids"]] == [None] * 6


def test_import_is_all_or_nothing(t):
    jadmin, user = t.user(admin=True), t.user()
    t.create(jadmin, "Existing", scope="global")
    good = [{"name": f"ok {i}", "body": "b", "scope": "personal"}
            for i in range(5)]
    before = (t.count(jadmin), t.count(user))
    bad_entries = [
        ({"name": "x", "body": "b" * 10001, "scope": "personal"}, 422,
         "limit_body"),
        ({"name": "x" * 121, "body": "b", "scope": "personal"}, 422,
         "limit_name"),
        ({"name": "x", "body": "b", "scope": "weird"}, 422, "invalid"),
        ({"name": "x", "body": "b", "scope": "projects",
          "projects": [str(i + 1) for i in range(51)]}, 422,
         "limit_projects"),
        ("not an object", 422, "invalid"),
    ]
    for who in (jadmin, user):
        for entry, status, code in bad_entries:
            for at in (0, 5):
                lst = list(good)
                lst.insert(at, entry)
                check_error(t.import_(who, lst), status, code)
    # Valid but not the caller's to create: 403, and nothing created.
    check_error(t.import_(user, good + [{"name": "g", "body": "b",
                                         "scope": "global"}]), 403,
                "forbidden")
    check_error(t.import_(user, [{"name": "p", "body": "b",
                                  "scope": "projects", "projects": [P1]}] +
                          good), 403, "forbidden")
    for bad in ({}, {"templates": "x"}, {"templates": {"a": 1}}):
        r = t.req("POST", "/api/templates/import", user, body=bad)
        check_error(r, 422, "invalid")
    assert (t.count(jadmin), t.count(user)) == before
    assert t.names(user) == ["Existing"]
    # An empty import is fine and does nothing.
    r = t.import_(user, [])
    assert r.status_code == 201 and r.json() == {"renamed": [], "ids": [],
                                                 "created": 0}


# A restart loses nothing.

def test_restart_of_the_stack_loses_nothing(env):
    t = env.tenant()
    admin = t.user(admin=True)
    member = t.user(browse=[P1], groups=["g-1"])
    made = [t.create(admin, "Global", "{{issue.key}} g", scope="global"),
            t.create(admin, "Groups", scope="groups", groups=["g-1"]),
            t.create(admin, "Projects", scope="projects", projects=[P1]),
            t.create(member, "Personal", position=-1),
            t.create(member, "Inactive", active=False)]
    r = t.put(admin, made[0], body="{{issue.key}} edited")
    assert r.status_code == 200
    made[0] = r.json()
    for _ in range(3):
        assert t.render(member, made[1]["id"]).status_code == 200
    assert t.use(member, made[2]["id"], project=P1).status_code == 204

    def snapshot():
        return (t.list_all(member, P1, active="all"),
                [t.get(member, m["id"], P1).json() for m in made],
                t.export(admin), t.export(member),
                t.count(member), t.count(admin))

    before = snapshot()
    assert len(before[0]) == 5
    env.restart()
    assert snapshot() == before
    # And it goes on working: edit, render, create.
    r = t.put(admin, made[0], name="Global after restart")
    assert r.status_code == 200 and r.json()["version"] == 3
    assert t.render(member, made[0]["id"], {"issue.key": "K-9"}).json() \
        == {"text": "K-9 edited"}
    t.create(member, "After restart")
    assert len(t.list_all(member, P1, active="all")) == 6


# The per-worker cache of Jira's answers, and the fail-fast after an
# outage, on a stack of its own: one worker, cache_seconds = 60.

def test_jira_answers_are_cached_per_worker(env, make_stack):
    st = make_stack({"50-templates.conf":
                     f"[auth]\ninstall_keys_url = {env.fake.keys_url}\n"
                     "[jira]\ncache_seconds = 60\n"}, workers=1,
                    tag="cache", checks=STACK_CHECKS)
    main, env.st = env.st, st
    try:
        t = env.tenant()
        site = t.site
        admin, member = t.user(admin=True), t.user(groups=["g-1"])
        g = t.create(admin, "G", scope="groups", groups=["g-1"])
        checks = site.count("POST", PERMISSIONS_CHECK)
        for i in range(3):
            t.create(admin, f"global {i}", scope="global")
        assert site.count("POST", PERMISSIONS_CHECK) == checks
        lookups = site.count("GET", USER_GROUPS)
        for _ in range(3):
            assert t.names(member) == ["G", "global 0", "global 1",
                                       "global 2"]
        assert site.count("GET", USER_GROUPS) - lookups <= 1
        # The cache is per account: another admin is asked about, once.
        checks = site.count("POST", PERMISSIONS_CHECK)
        other = t.user(admin=True)
        t.create(other, "other's", scope="global")
        assert t.names(other)[-1] == "other's"
        assert site.count("POST", PERMISSIONS_CHECK) == checks + 1
        # A revoked right lasts until the entry expires (60 s here).
        site.set_admin(admin, False)
        assert t.put(admin, g, name="G2").status_code == 200
        # An outage where Jira hangs: the first call gives up after the
        # client's timeout (5 s), then none is made for 5 s.
        site.set_down("hang")
        fresh = t.user()
        before = site.count()
        started = time.monotonic()
        page = t.list(fresh)
        assert time.monotonic() - started < 7
        assert page["degraded"] is True
        assert site.count() - before == 1
        site.set_down("503")
        for _ in range(5):
            assert t.list(t.user())["degraded"] is True
            check_error(t.post(t.user(), {"name": "n", "body": "b",
                                          "scope": "global"}), 503,
                        "unavailable")
        assert site.count() - before == 1
        # Cached answers still serve while it is down.
        assert t.names(member) == ["G2", "global 0", "global 1",
                                   "global 2", "other's"]
        # Back up: 5 s after the failure Jira is asked again.
        site.set_down(None)
        wait_until(lambda: t.list(t.user())["degraded"] is False,
                   timeout=8, interval=0.25, what="Jira to count again")
        assert time.monotonic() - started <= 13
    finally:
        env.st = main


# What Jira saw.

def test_every_jira_call_was_signed_as_jira_expects(env):
    """Each call the app made to a Jira site that was up carried a valid
    app JWT (HS256, iss, exp/iat, qsh of the call) and a body shaped as
    Jira wants it; only the known-bad project id test got a 400."""
    calls = [rec for site in env.sites for rec in site.requests
             if rec.status not in (503, "closed")]
    assert len(calls) > 100
    assert [rec for rec in calls if not rec.verified] == []
    assert {(rec.method, rec.path) for rec in calls} == {
        ("POST", PERMISSIONS_CHECK), ("GET", USER_GROUPS)}
    for rec in calls:
        assert rec.claims["iss"] == atl.APP_KEY
        assert rec.headers.get("accept") == "application/json"
        if rec.method == "POST":
            assert rec.headers.get("content-type") == "application/json"
            assert rec.json()["accountId"]


# Many writers at once on one tenant: a stack of four workers and a pool
# of clients, every request of a test for the same tenant file.  Each
# write is a transaction of its own; none may be lost, none may fail
# (SQLITE_BUSY must never reach a client as a 5xx), and the teardown
# checks of the stack (STACK_CHECKS, log_leaks, and no worker replaced)
# hold for these stacks too.

BUSY_WORKERS = 4
CLIENTS = 24


@pytest.fixture(scope="module")
def busy_env(module_stacks, fake):
    """An Env on a stack of BUSY_WORKERS workers, its workers at the
    start still the same processes at its teardown."""
    e = module_env(module_stacks, fake, workers=BUSY_WORKERS, tag="busy")
    first = e.st.worker_pids()
    assert len(first) == BUSY_WORKERS, first
    module_stacks.check(e.st, lambda st: replaced_workers(st, first),
                        live=True)
    return e


def concurrently(fn, items, clients=CLIENTS):
    """fn(item) for every item, from `clients` threads that start
    together (a barrier) and then each take the next item; returns the
    results in the order of items.  Raises if any call raised."""
    items = list(enumerate(items))
    results = [None] * len(items)
    errors = []
    lock = threading.Lock()
    barrier = threading.Barrier(clients)

    def client():
        barrier.wait()
        while True:
            with lock:
                if not items:
                    return
                i, x = items.pop(0)
            try:
                results[i] = fn(x)
            except Exception as e:      # noqa: BLE001
                errors.append((i, repr(e)))

    threads = [threading.Thread(target=client, daemon=True)
               for _ in range(clients)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(120)
    assert not any(th.is_alive() for th in threads), "a client hangs"
    assert not errors, errors[:10]
    return results


def replies_of(replies):
    """(status, request id, body) of each reply, for an assertion
    message."""
    return [(r.status_code, r.headers.get("X-Request-Id"), r.text[:200])
            for r in replies]


def served_by(st, replies):
    """The pids of the workers that logged these replies (replies of
    the app: nginx's own, such as its 429, have no request id)."""
    pids = set()
    for r in replies:
        for ln in st.wait_request_line(r.headers["X-Request-Id"]):
            pids.add(int(ln["pid"]))
    return pids


def test_concurrent_creates_on_one_tenant_all_land(busy_env):
    t = busy_env.tenant()
    a = t.user()
    n = 64
    made = [{"name": f"parallel {i:02d}",
             "body": f"{i} " + busy_env.secret_text("create"),
             "scope": "personal"} for i in range(n)]
    replies = concurrently(lambda d: t.post(a, d), made)
    assert [r.status_code for r in replies] == [201] * n, \
        replies_of(r for r in replies if r.status_code != 201)
    got = [r.json() for r in replies]
    assert [(x["name"], x["body"]) for x in got] == [
        (d["name"], d["body"]) for d in made]
    assert all(x["version"] == 1 for x in got)
    ids = {x["id"] for x in got}
    assert len(ids) == n
    # Several workers wrote the same tenant file at once.
    assert len(served_by(busy_env.st, replies)) >= 2
    # Exactly those, in the list, the export and the count.
    assert sorted(t.ids(a)) == sorted(ids)
    x = t.export(a)["templates"]
    assert sorted((e["id"], e["name"], e["body"]) for e in x) == sorted(
        (g["id"], g["name"], g["body"]) for g in got)
    assert t.count(a) == n


def test_concurrent_uses_and_renders_of_one_template_are_all_counted(
        busy_env):
    t = busy_env.tenant()
    a = t.user()
    tpl = t.create(a, body="Re: {{issue.key}}")
    # Unequal counts, so a lost render and a lost post both show.
    calls = [("use", i) if i % 3 == 0 else ("render", i) for i in range(96)]

    def call(c):
        kind, i = c
        if kind == "use":
            return t.use(a, tpl["id"], kind="posted")
        return t.render(a, tpl["id"], {"issue.key": f"K-{i}"})

    replies = concurrently(call, calls)
    bad = [(c, r) for c, r in zip(calls, replies)
           if r.status_code != (204 if c[0] == "use" else 200)]
    assert not bad, [(c, r.status_code, r.text[:200]) for c, r in bad]
    for (kind, i), r in zip(calls, replies):
        if kind == "render":
            assert r.json() == {"text": f"Re: K-{i}"}
    assert len(served_by(busy_env.st, replies)) >= 2
    # Every call counted once: no lost update.  A day's uses are the
    # larger of its renders and its posts (a render and its post are one
    # use); posts count apart too.
    renders = sum(1 for c in calls if c[0] == "render")
    posts = len(calls) - renders
    got = t.get(a, tpl["id"]).json()
    assert got["usage"] == {"last30Days": max(renders, posts),
                            "postedLast30Days": posts}, got
    assert stored(got) == stored(tpl)
    assert [x["usage"] for x in t.list_all(a)] == [got["usage"]]


def test_concurrent_puts_with_one_version_let_exactly_one_win(busy_env):
    t = busy_env.tenant()
    a = t.user()
    tpl = t.create(a, "Contested", body="v1")
    n = 32
    replies = concurrently(
        lambda i: t.put(a, tpl, name=f"Contested {i}",
                        body=f"written by {i}"), range(n))
    codes = sorted(r.status_code for r in replies)
    assert codes == [200] + [409] * (n - 1), replies_of(replies)
    for r in replies:
        if r.status_code == 409:
            check_error(r, 409, "conflict")
    won = next(r.json() for r in replies if r.status_code == 200)
    assert won["version"] == tpl["version"] + 1
    i = int(won["name"].split()[-1])
    assert won["body"] == f"written by {i}"
    # What is stored is the winner's write, whole.
    assert t.get(a, tpl["id"]).json() == won
    assert t.names(a) == [won["name"]]
    # And the next write goes on from there.
    r = t.put(a, won, body="after the race")
    assert r.status_code == 200 and r.json()["version"] == won["version"] + 1


def test_concurrent_deletes_of_one_template_let_exactly_one_succeed(
        busy_env):
    t = busy_env.tenant()
    a = t.user()
    doomed = t.create(a, "Doomed")
    kept = t.create(a, "Kept")
    n = 32
    replies = concurrently(lambda i: t.delete(a, doomed["id"]), range(n))
    codes = sorted(r.status_code for r in replies)
    assert codes == [204] + [404] * (n - 1), replies_of(replies)
    for r in replies:
        if r.status_code == 404:
            check_error(r, 404, "not_found")
    check_error(t.get(a, doomed["id"]), 404, "not_found")
    assert t.ids(a) == [kept["id"]] and t.count(a) == 1


def test_concurrent_imports_and_creates_lose_nothing(busy_env):
    """Imports (ten templates each) and single creates at once: a create
    is 201, an import 201 or, beyond the two imports per address nginx
    lets through at a time, 429; never 5xx.  Whatever was acknowledged
    is there, and nothing else."""
    t = busy_env.tenant()
    a = t.user()
    jobs = []
    for j in range(8):
        jobs.append(("import", [{"name": f"imported {j}-{i}",
                                 "body": f"i{j}.{i}", "scope": "personal"}
                                for i in range(10)]))
        jobs += [("create", {"name": f"created {j}-{k}",
                             "body": f"c{j}.{k}", "scope": "personal"})
                 for k in range(5)]

    def call(job):
        kind, what = job
        if kind == "import":
            return t.import_(a, what)
        return t.post(a, what)

    replies = concurrently(call, jobs)
    expected = []
    imported = 0
    for (kind, what), r in zip(jobs, replies):
        if kind == "create":
            assert r.status_code == 201, (r.status_code, r.text)
            expected.append(what["name"])
        elif r.status_code == 201:
            rep = r.json()
            assert rep["created"] == len(what) and rep["renamed"] == [], rep
            assert len(rep["ids"]) == len(what)
            expected += [e["name"] for e in what]
            imported += 1
        else:
            check_error(r, 429)
    assert imported >= 1, replies_of(replies)
    assert len(served_by(busy_env.st, [r for r in replies
                                       if r.status_code != 429])) >= 2
    assert sorted(t.names(a)) == sorted(expected)
    assert sorted(e["name"] for e in t.export(a)["templates"]) == sorted(
        expected)
    assert t.count(a) == len(expected)
