"""
Black-box tests of panoramas (issue 12): /api/panoramas...,
/api/issues/{id}/panoramas and /webhooks/issue-deleted through the real
nginx and workers of tests/stack, real SQLCipher files, and a fake
Atlassian in this process (jira_fake.FakeJira) that answers the app's
permission checks (admin, groups, the issues each account may browse,
the app's global permission "use-panoramas") and verifies every call's
JWT as Jira does.

Two stacks for the module:
- `env`: two workers, [jira] cache_seconds = 0 and down_seconds = 0, so
  that a test may change what Jira answers and see it at once; the
  default limits (10,000 nodes a panorama).
- `cenv`: one worker (one cache), cache_seconds = 60, and small limits
  ([panoramas] nodes_max = 400, per_tenant_max = 3): caching and limits.
Every test installs its own tenant (its own Jira site of the fake and
its own file); accounts and issue ids are fresh random ones.

Every error reply is checked for the contract's shape and for echoing
nothing of the request (panorama_client.check_error).  When the module
ends, whichever of its tests ran, each stack's logs must hold none of
the markers the tests put in names, descriptions, titles, q strings and
webhook summaries, no token, no internal error and no crash.
"""
import json
import math
import os
import re
import signal
import threading
import time
import uuid

import pytest
import requests

import atlassian as atl
from harness import (alive, internal_errors, leaks, session,
                     unexpected_worker_exits, wait_until)
from jira_fake import BULKFETCH, PERMISSIONS_CHECK
from panorama_client import (APP_PERMISSION, Tenant, add,
                             check_error, check_panorama, document,
                             entry_set, folder, issue_deleted_payload,
                             move, new_issue_ids, remove, rename, shape,
                             stored)

BROWSE = "BROWSE_PROJECTS"
APP_PERM_KEY = f"{atl.APP_KEY}__{APP_PERMISSION}"
MIB = 1024 * 1024
NODES_DEFAULT = 10000
MISSING = "999999999999"        # a panorama id nobody has


# The environment: stacks, fake Atlassian, tenants.

class Env:
    def __init__(self, factory, st, fake):
        self.factory = factory
        self.st = st
        self.fake = fake
        self.key, self.kid = fake.new_install_key("cellar-pano")
        self.never_logged = []

    def secret_text(self, what="x"):
        """A unique marker for a name, title, description, q or issue
        summary: the teardown looks for every one in the logs."""
        s = f"SENTINEL{what}{uuid.uuid4().hex[:12]}"
        self.never_logged.append(s)
        return s

    def install(self, base_url, secret, client_key=None):
        return atl.install(self.st, self.key, self.kid, base_url, secret,
                           client_key)

    def tenant(self):
        """A fresh tenant whose Jira is a new site of the fake."""
        secret = atl.new_secret()
        site = self.fake.add_site(secret)
        return Tenant(self, self.install(site.base_url, secret), secret,
                      site)

    def restart(self):
        """tests/stack stop, then start in the same directory."""
        self.st = self.factory.restart(self.st)


STACK_CHECKS = (internal_errors, unexpected_worker_exits)


def log_leaks(st, never_logged):
    """Problems if a marker (in any case) or a token is in the app or
    access log of st."""
    logs = (st.app_log, st.access_log)
    marks = [n for s in never_logged
             for n in (("marker", s), ("marker (lower case)", s.lower()))]
    return (leaks(logs, marks) +
            leaks(logs, [("token", re.compile(
                r"eyJ[A-Za-z0-9_-]{10,}\."))]))


def module_env(module_stacks, fake, workers, tag, extra=""):
    drop_in = (f"[auth]\ninstall_keys_url = {fake.keys_url}\n"
               "[jira]\ndown_seconds = 0\n" + extra)
    st = module_stacks({"50-panoramas.conf": drop_in}, workers=workers,
                       tag=tag, checks=STACK_CHECKS)
    e = Env(module_stacks, st, fake)
    module_stacks.check(st, lambda st: log_leaks(st, e.never_logged))
    return e


@pytest.fixture(scope="module")
def env(module_stacks, fake):
    return module_env(module_stacks, fake, 2, "stack",
                      "cache_seconds = 0\n")


@pytest.fixture(scope="module")
def cenv(module_stacks, fake):
    return module_env(module_stacks, fake, 1, "cached",
                      "cache_seconds = 60\n[panoramas]\nnodes_max = 400\n"
                      "per_tenant_max = 3\n")


@pytest.fixture
def t(env):
    return env.tenant()


def signed(site, method, path, query="", body=None, timeout=5):
    """A request to the fake site signed as the app (its self-test)."""
    tok = atl.app_token(site.shared_secret, atl.APP_KEY, method, path, query)
    url = site.base_url + path + (f"?{query}" if query else "")
    return session().request(method, url, timeout=timeout, json=body,
                             headers={"Authorization": f"JWT {tok}"})


def reasons(st, r):
    """The reason= codes the app logged for reply r."""
    rid = r.headers["X-Request-Id"]
    st.wait_request_line(rid)
    out = []
    for ln in st.log_text().splitlines():
        if f" rid={rid} " in ln:
            m = re.search(r" reason=(\S+)", ln)
            if m:
                out.append(m.group(1))
    return out


def tree_of(t, acct, pid):
    """(version, shape) of the whole tree."""
    v, rows = t.rows(acct, pid)
    return v, shape(rows)


def unchanged(t, acct, pid, before):
    """The panorama reads as before (a (panorama, rows, batches)
    snapshot): nothing was written."""
    assert snapshot(t, acct, pid) == before


def snapshot(t, acct, pid):
    return (stored(t.read(acct, pid)), t.rows(acct, pid),
            t.batches(acct, pid))


def I(issue):                                      # noqa: E743
    return ("issue", issue)


def F(title):
    return ("folder", title)


def at(depth, what):
    return (depth,) + what


# The fake's new answers, without the app.

def test_fake_answers_issue_and_app_permissions_and_bulkfetch(fake):
    site = fake.add_site(atl.new_secret())
    a, b = atl.new_account_id(), atl.new_account_id()
    site.grant_issues(a, 10001, "10002")
    site.make_public(10003)
    ask = {"accountId": a, "projectPermissions": [
        {"permissions": [BROWSE], "issues": [10001, 10002, 10003, 10004]}]}
    r = signed(site, "POST", PERMISSIONS_CHECK, body=ask)
    assert r.json() == {"globalPermissions": [], "projectPermissions": [
        {"permission": BROWSE, "issues": [10001, 10002, 10003],
         "projects": []}]}
    r = signed(site, "POST", PERMISSIONS_CHECK, body=dict(ask, accountId=b))
    assert r.json()["projectPermissions"] == [
        {"permission": BROWSE, "issues": [10003], "projects": []}]
    site.revoke_issues(a, 10002)
    site.make_private(10003)
    r = signed(site, "POST", PERMISSIONS_CHECK, body=ask)
    assert r.json()["projectPermissions"][0]["issues"] == [10001]
    r = signed(site, "POST", PERMISSIONS_CHECK, body=dict(ask, accountId=b))
    assert r.json()["projectPermissions"] == []
    # Issue ids are numbers, at most 1000 of them.
    for bad in (["10001"], list(range(1, 1002))):
        r = signed(site, "POST", PERMISSIONS_CHECK, body={
            "accountId": a, "projectPermissions": [
                {"permissions": [BROWSE], "issues": bad}]})
        assert r.status_code == 400, r.text
    # The app's global permission: granted by default, per account.
    g = {"accountId": a, "globalPermissions": [APP_PERM_KEY, "ADMINISTER"]}
    r = signed(site, "POST", PERMISSIONS_CHECK, body=g)
    assert r.json()["globalPermissions"] == [APP_PERM_KEY]
    site.set_app_permission(a, APP_PERMISSION, False)
    assert signed(site, "POST", PERMISSIONS_CHECK,
                  body=g).json()["globalPermissions"] == []
    site.set_app_permission(a, APP_PERMISSION, None)
    site.set_app_permission_default(APP_PERMISSION, False)
    assert signed(site, "POST", PERMISSIONS_CHECK,
                  body=g).json()["globalPermissions"] == []
    site.set_app_permission(a, APP_PERMISSION, True)
    assert signed(site, "POST", PERMISSIONS_CHECK,
                  body=g).json()["globalPermissions"] == [APP_PERM_KEY]
    for unknown in ("other-app__use-panoramas", f"{atl.APP_KEY}__nope"):
        r = signed(site, "POST", PERMISSIONS_CHECK,
                   body={"accountId": a, "globalPermissions": [unknown]})
        assert r.status_code == 400, r.text
    assert site.global_checks()[0] == (a, [APP_PERM_KEY, "ADMINISTER"])
    assert [ids for _, ids in site.issue_checks()][:2] == [
        [10001, 10002, 10003, 10004]] * 2
    # bulkfetch: the ids that exist, in the order asked.
    fetch = {"issueIdsOrKeys": ["10002", "10001", "PROJ-1"],
             "fields": ["id"]}
    r = signed(site, "POST", BULKFETCH, body=fetch)
    assert r.status_code == 200
    assert [x["id"] for x in r.json()["issues"]] == ["10002", "10001"]
    assert r.json()["issueErrors"] == []
    site.delete_issues(10002)
    assert [x["id"] for x in signed(site, "POST", BULKFETCH, body=fetch)
            .json()["issues"]] == ["10001"]
    site.set_existing_issues([10002])
    assert signed(site, "POST", BULKFETCH, body=fetch).json()["issues"] == []
    site.restore_issues(10002)
    site.set_existing_issues(None)
    assert len(signed(site, "POST", BULKFETCH,
                      body=fetch).json()["issues"]) == 2
    for bad in ({"issueIdsOrKeys": []},
                {"issueIdsOrKeys": [str(i) for i in range(1, 102)]},
                {"issueIdsOrKeys": [10001]}, {"fields": ["id"]}):
        assert signed(site, "POST", BULKFETCH, body=bad).status_code == 400
    site.set_bulkfetch_failure("500")
    assert signed(site, "POST", BULKFETCH, body=fetch).status_code == 500
    site.set_bulkfetch_failure("garbage")
    r = signed(site, "POST", BULKFETCH, body=fetch)
    assert r.status_code == 200
    with pytest.raises(ValueError):
        r.json()
    site.set_bulkfetch_failure("close")
    with pytest.raises(requests.ConnectionError):
        signed(site, "POST", BULKFETCH, body=fetch)
    site.set_bulkfetch_failure("timeout")
    with pytest.raises(requests.Timeout):
        signed(site, "POST", BULKFETCH, body=fetch, timeout=0.3)
    site.set_bulkfetch_failure(None)
    assert signed(site, "POST", BULKFETCH, body=fetch).status_code == 200
    assert site.bulkfetch_calls()[0] == ["10002", "10001", "PROJ-1"]
    assert site.counts()[("POST", BULKFETCH)] == site.count("POST",
                                                            BULKFETCH)


# The gate: the app's global permission.

def every_route(pid, version, issue, doc):
    """(method, path, body) of every panorama route."""
    p = f"/api/panoramas/{pid}"
    return [("GET", "/api/panoramas", None),
            ("GET", "/api/panoramas?q=x&limit=5", None),
            ("POST", "/api/panoramas", {"name": "gate"}),
            ("GET", p, None),
            ("PATCH", p, {"version": version, "name": "gate"}),
            ("DELETE", f"{p}?version={version}", None),
            ("GET", f"{p}/tree", None),
            ("POST", f"{p}/actions", {"version": version,
                                      "actions": [add([issue])]}),
            ("GET", f"{p}/history", None),
            ("POST", f"{p}/undo", None),
            ("GET", f"{p}/access", None),
            ("PUT", f"{p}/access", {"entries": []}),
            ("GET", f"{p}/export", None),
            ("POST", "/api/panoramas/import", doc),
            ("GET", f"/api/issues/{issue}/panoramas", None)]


def refusals(t, acct, routes, status, code):
    """Sends every (method, path, body) of routes as acct; returns the
    replies and a list of problems (replies other than the error
    expected), so that one route's failure hides no other's."""
    replies, problems = [], []
    for method, path, body in routes:
        r = t.req(method, path, acct, body=body)
        replies.append(r)
        try:
            check_error(r, status, code)
        except AssertionError as e:
            problems.append(f"{method} {path}: {e}")
    return replies, problems


def test_gate_without_the_app_permission_every_route_is_403(t):
    iss = new_issue_ids(2)
    owner = t.user(issues=iss)
    # Even a Jira admin who may browse everything, shared to as editor.
    denied = t.user(admin=True, issues=iss, gate=False)
    p = t.create(owner)
    pid = p["id"]
    v = t.apply(owner, pid, 1, [add(iss)])["version"]
    t.share(owner, pid, [{"grantee": "everyone", "level": "edit"}])
    doc = t.export(owner, pid)
    before = snapshot(t, owner, pid)
    count = len(t.ids(owner))
    problems = []
    seen = {}
    for target in (pid, MISSING):
        routes = every_route(target, v, iss[0], doc)
        replies, bad = refusals(t, denied, routes, 403, "forbidden")
        problems += bad
        for (method, path, _), r in zip(routes, replies):
            seen.setdefault((method, path.replace(target, "ID")),
                            set()).add(r.content)
    # An existing panorama is refused exactly like a missing one.
    assert all(len(c) == 1 for c in seen.values()), seen
    assert reasons(t.env.st, replies[0])
    # The app asked Jira about the caller and its app's own permission.
    asked = [keys for acct, keys in t.site.global_checks() if acct == denied]
    assert asked and all(APP_PERM_KEY in keys for keys in asked), asked
    unchanged(t, owner, pid, before)
    assert len(t.ids(owner)) == count
    # No account in the token: 403 too.
    tok = t.token(None, sub=None)
    check_error(t.req("GET", "/api/panoramas", None, token=tok), 403,
                "forbidden")
    # Granted (the module's default), the same caller works at once.
    t.site.set_app_permission(denied, APP_PERMISSION, None)
    got = t.read(denied, pid)
    assert got["canManage"] is True and pid in t.ids(denied)
    assert t.apply(denied, pid, v, [add(iss[:1])])["version"] == v + 1
    # The owner loses it: their own panorama is 403 too.
    t.site.set_app_permission(owner, APP_PERMISSION, False)
    problems += refusals(t, owner, every_route(pid, v + 1, iss[0], doc),
                         403, "forbidden")[1]
    # Taken from everyone (a Jira admin changed the default grant).
    t.site.set_app_permission(owner, APP_PERMISSION, None)
    t.site.set_app_permission_default(APP_PERMISSION, False)
    check_error(t.get(owner, pid), 403, "forbidden")
    check_error(t.req("GET", "/api/panoramas", t.user()), 403, "forbidden")
    t.site.set_app_permission_default(APP_PERMISSION, True)
    assert t.read(owner, pid)["version"] == v + 1
    assert not problems, "\n".join(problems)


def test_gate_jira_down_and_nothing_cached_is_503(t):
    iss = new_issue_ids(1)
    a = t.user(issues=iss)
    p = t.create(a)
    t.apply(a, p["id"], 1, [add(iss)])
    before = snapshot(t, a, p["id"])
    problems = []
    for mode in ("503", "close"):
        t.site.set_down(mode)
        problems += refusals(t, a, every_route(p["id"], 2, iss[0],
                                               document("x", [])),
                             503, "unavailable")[1]
        check_error(t.req("GET", "/api/panoramas", t.user()), 503,
                    "unavailable")
    t.site.set_down(None)
    unchanged(t, a, p["id"], before)
    assert t.ids(a) == [p["id"]]
    assert not problems, "\n".join(problems)


# Create, read, list, change, delete.

def test_create_and_read_show_the_wire_shape(t, env):
    a = t.user()
    name = env.secret_text("name")
    desc = env.secret_text("desc") + " \u00e9\u5168\u666f\U0001f304"
    p = t.create(a, name, desc)
    assert p["owner"] == a and p["createdAt"] == p["updatedAt"]
    assert t.read(a, p["id"]) == p
    assert t.list(a)["panoramas"] == [p]
    # No description: "".
    q = t.create(a, "\u00dcberblick \u2014 \u5168\u666f \U0001f304")
    assert t.read(a, q["id"]) == q and q["description"] == ""
    assert int(q["id"]) != int(p["id"])
    tree = t.tree(a, q["id"]).json()
    assert tree == {"version": 1, "rows": [], "next": None}


def test_names_and_descriptions_have_bounds_in_characters(t):
    a = t.user()
    for name in ("x", "\u00e9" * 255, "\U0001f304" * 255, "n" * 255):
        assert t.create(a, name)["name"] == name
    for desc in ("", "d" * 2000, "\u00e9" * 2000, "\U0001f304" * 2000):
        r = t.post(a, {"name": "described", "description": desc})
        assert r.status_code == 201, r.text[:300]
        assert r.json()["description"] == desc
    made = t.ids(a)
    for body, field in (({"name": ""}, "name"),
                        ({"name": "n" * 256}, "name"),
                        ({"name": "\u00e9" * 256}, "name"),
                        ({"name": "\U0001f304" * 256}, "name"),
                        ({}, "name"),
                        ({"name": None}, "name"),
                        ({"name": 5}, "name"),
                        ({"name": "ok", "description": "d" * 2001},
                         "description"),
                        ({"name": "ok", "description": 5}, "description")):
        check_error(t.post(a, body), 422, field=field)
    # The same bounds for an import (the export's shape).
    for name in ("", "n" * 256):
        check_error(t.import_(a, document(name, [])), 422, field="name")
    assert sorted(t.ids(a)) == sorted(made)
    p = t.create(a, "to rename")
    for body, field in (({"version": 1, "name": "n" * 256}, "name"),
                        ({"version": 1, "name": ""}, "name"),
                        ({"version": 1, "description": "d" * 2001},
                         "description")):
        check_error(t.patch(a, p["id"], body), 422, field=field)
    assert t.read(a, p["id"]) == p
    r = t.patch(a, p["id"], {"version": 1, "name": "\u00e9" * 255,
                             "description": ""})
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "\u00e9" * 255


def test_bad_bodies_are_refused_naming_the_field_never_the_value(t, env):
    iss = new_issue_ids(2)
    a = t.user(issues=iss)
    mark = env.secret_text("echo")
    p = t.create(a)
    pid = p["id"]
    t.apply(a, pid, 1, [add(iss)])
    before = snapshot(t, a, pid)
    count = len(t.ids(a))
    replies = []
    # Creates.
    for body in ({"name": "fine", mark: 1}, {"name": mark, "colour": mark},
                 {"name": [mark]}, {"name": {"x": mark}},
                 {"name": "ok", "description": [mark]}):
        replies.append(check_error(t.post(a, body), 422, echo=[mark]))
    assert replies[2].get("field") == "name"
    assert replies[4].get("field") == "description"
    for raw in (f'{{"name":"{mark}","name":"{mark}2"}}'.encode(),
                f'["{mark}"]'.encode(), f'"{mark}"'.encode(),
                f'{{"name":"{mark}"'.encode()):
        r = t.post(a, raw=raw)
        assert r.status_code in (400, 422), (r.status_code, r.text)
        check_error(r, r.status_code, echo=[mark])
    # Actions: the refused one is named by index, its member by field.
    good = add([iss[0]])
    for actions, index, field in (
            ([good, {"op": "add", "parent": None, "after": None,
                     "issueIds": [iss[0]], mark: mark}], 1, None),
            ([good, good, {"op": mark, "node": "1"}], 2, None),
            ([{"op": "add", "parent": None, "after": None,
               "issueIds": iss[0]}], 0, "issueIds"),
            ([{"op": "add", "parent": None, "after": None,
               "issueIds": [int(iss[0])]}], 0, "issueIds"),
            ([{"op": "add", "parent": None, "issueIds": [iss[0]]}], 0,
             "after"),
            ([{"op": "add", "after": None, "issueIds": [iss[0]]}], 0,
             "parent"),
            ([{"op": "add", "parent": 5, "after": None,
               "issueIds": [iss[0]]}], 0, "parent"),
            ([good, {"op": "addFolder", "parent": None, "after": None,
                     "title": [mark]}], 1, "title"),
            ([{"op": "addFolder", "parent": None, "after": None,
               "title": ""}], 0, "title"),
            ([{"op": "addFolder", "parent": None, "after": None,
               "title": "t" * 256}], 0, "title"),
            ([{"op": 5}], 0, "op"),
            ([{"op": "remove"}], 0, "node"),
            ([mark], 0, None),
            ([good, 5], 1, None)):
        r = t.act(a, pid, 2, actions)
        body = check_error(r, 422, index=index, field=field, echo=[mark])
        assert "index" in body, body
    # The issue ids: positive decimals without a leading zero, 18 digits
    # at most, 1 to 1000 in an action.
    for ids in (["0"], ["01"], ["-1"], ["1e3"], ["1" * 19], ["abc"], [""],
                [" 1"], ["1.0"], [], [str(i) for i in range(1, 1002)]):
        r = t.act(a, pid, 2, [good, {"op": "add", "parent": None,
                                     "after": None, "issueIds": ids}])
        check_error(r, 422, index=1, field="issueIds")
    for bad in ({"version": 2, "actions": [good], mark: 1},
                {"version": 2, "actions": good},
                {"version": "2", "actions": [good]},
                {"actions": [good]}):
        check_error(t.act(a, pid, None, None, raw=json.dumps(bad).encode()),
                    422, echo=[mark])
    r = t.act(a, pid, None, None, raw=(
        '{"version":2,"actions":[{"op":"addFolder","parent":null,'
        f'"after":null,"title":"{mark}","title":"x"}}]}}').encode())
    assert r.status_code in (400, 422), r.text
    check_error(r, r.status_code, echo=[mark])
    # Access entries.
    for entries in ([{"grantee": "account", "id": mark + " x",
                      "level": "view"}],
                    [{"grantee": "account", "id": "a", "level": "view",
                      mark: 1}],
                    [{"grantee": mark, "id": "a", "level": "view"}],
                    [{"grantee": "group", "id": "g", "level": mark}]):
        check_error(t.set_access(a, pid, entries), 422, echo=[mark])
    unchanged(t, a, pid, before)
    assert len(t.ids(a)) == count
    # Changes: the version is required and a number.
    for body, field in (({"version": "1", "name": mark}, "version"),
                        ({"name": mark}, "version"),
                        ({"version": 1.5, "name": mark}, "version"),
                        ({"version": 2, "name": mark, mark: 1}, None),
                        ({"version": 2, "owner": "557058:x"}, None)):
        check_error(t.patch(a, pid, body), 422, field=field, echo=[mark])
    r = t.patch(a, pid, raw=f'{{"version":2,"name":"{mark}","name":"x"}}'
                .encode())
    check_error(r, r.status_code, echo=[mark])
    assert r.status_code in (400, 422)
    unchanged(t, a, pid, before)
    assert mark not in env.st.log_text()


def test_list_pages_with_q_never_repeat_or_skip(t, env):
    a, other = t.user(), t.user()
    made = [t.create(a, f"Board {i:02d}") for i in range(12)]
    made += [t.create(a, "Same") for _ in range(3)]
    made += [t.create(a, "Alpha plan"), t.create(a, "Project ALPHAbet")]
    theirs = t.create(other, "Alpha of another")
    want = [p["id"] for p in sorted(made, key=lambda p: (p["name"],
                                                         int(p["id"])))]
    for limit in (1, 3, 5, 100):
        assert t.ids(a, limit=limit) == want, limit
    assert t.ids(other) == [theirs["id"]]
    # q: a folded substring of the name; the caller's panoramas only.
    for q in ("alpha", "ALPHA", "Alpha"):
        assert [p["name"] for p in t.list_all(a, q=q)] == [
            "Alpha plan", "Project ALPHAbet"]
    assert [p["name"] for p in t.list_all(a, q="oard 1")] == [
        "Board 10", "Board 11"]
    assert t.list_all(a, q=env.secret_text("q")) == []
    # q is text, not a pattern: % and _ match themselves only.
    pct, und = t.create(a, "50% done"), t.create(a, "Plan_A")
    t.create(a, "PlanXA")
    assert t.ids(a, q="%") == [pct["id"]]
    assert t.ids(a, q="_") == [und["id"]]
    assert t.ids(a, q="n_a") == [und["id"]]
    for x in (pct, und):
        assert t.delete(a, x["id"], 1).status_code == 204
    assert t.delete(a, t.ids(a, q="planxa")[0], 1).status_code == 204
    assert t.list(a, q="q" * 255)["panoramas"] == []
    # A panorama deleted between pages: the next page goes on after it.
    page = t.list(a, limit=5)
    last = page["panoramas"][-1]
    assert t.delete(a, last["id"], 1).status_code == 204
    t.create(a, "Aardvark")             # sorts before the cursor
    z = t.create(a, "Zulu")
    rest = t.list_all(a, limit=5, cursor=page["next"])
    assert [p["id"] for p in rest] == want[5:] + [z["id"]]
    # Bad parameters: 400, whatever the caller holds.
    for params in ({"limit": "0"}, {"limit": "101"}, {"limit": "x"},
                   {"limit": "-1"}, {"limit": "1.5"}, {"q": "q" * 256},
                   {"cursor": "not-a-cursor"}):
        check_error(t.req("GET", "/api/panoramas", a, params=params), 400)
    check_error(t.req("GET", "/api/panoramas?limit=1&limit=2", a), 400)


def test_list_default_page_is_50(t):
    a = t.user()
    for i in range(51):
        t.create(a, f"p{i:03d}")
    page = t.list(a)
    assert len(page["panoramas"]) == 50 and page["next"] is not None
    rest = t.list(a, cursor=page["next"])
    assert [p["name"] for p in rest["panoramas"]] == ["p050"]
    assert rest["next"] is None


def test_patch_and_delete_name_the_version_they_read(t):
    iss = new_issue_ids(1)
    a = t.user(issues=iss)
    p = t.create(a, "Versioned", "first")
    pid = p["id"]
    time.sleep(1.1)
    r = t.patch(a, pid, {"version": 1, "name": "Versioned 2"})
    assert r.status_code == 200, r.text
    v2 = check_panorama(r.json(), owner=a, can_edit=True, can_manage=True)
    assert v2["version"] == 2 and v2["name"] == "Versioned 2"
    assert v2["description"] == "first" and v2["createdAt"] == p["createdAt"]
    assert v2["updatedAt"] > p["updatedAt"]
    assert t.read(a, pid) == v2
    r = t.patch(a, pid, {"version": 2, "description": ""})
    assert r.status_code == 200 and r.json()["name"] == "Versioned 2"
    v3 = r.json()
    assert v3["version"] == 3 and v3["description"] == ""
    # Stale: 409 with the current version, nothing changed.
    for version in (1, 2, 4, 99):
        r = t.patch(a, pid, {"version": version, "name": "lost"})
        check_error(r, 409, "conflict", version=3)
        check_error(t.delete(a, pid, version), 409, "conflict", version=3)
    assert reasons(t.env.st, r)
    # A tree change is a new version too.
    t.apply(a, pid, 3, [add(iss)])
    check_error(t.patch(a, pid, {"version": 3, "name": "lost"}), 409,
                version=4)
    assert t.read(a, pid)["name"] == "Versioned 2"
    # Two writers of one version: exactly one wins.
    results = []

    def writer(i):
        results.append(t.patch(a, pid, {"version": 4, "name": f"Race {i}"}))
    threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(r.status_code for r in results) == [200, 409, 409, 409], [
        (r.status_code, r.text) for r in results]
    won = next(r.json() for r in results if r.status_code == 200)
    for r in results:
        if r.status_code == 409:
            assert r.json()["version"] == 5
    assert t.read(a, pid)["name"] == won["name"] and won["version"] == 5
    # Delete: the version is required.
    for q in ("", "version=", "version=abc", "version=1.0", "version=-1"):
        r = t.delete(a, pid, query=q)
        assert r.status_code in (400, 422), (q, r.status_code, r.text)
        check_error(r, r.status_code)
    assert t.read(a, pid)["version"] == 5
    assert t.delete(a, pid, 5).status_code == 204
    missing = t.get(a, MISSING)
    r = t.get(a, pid)
    check_error(r, 404, "not_found")
    assert r.content == missing.content
    check_error(t.delete(a, pid, 5), 404, "not_found")
    check_error(t.tree(a, pid), 404, "not_found")
    check_error(t.act(a, pid, 5, [add(iss)]), 404, "not_found")
    assert pid not in t.ids(a)
    assert t.issue_panoramas(a, iss[0]).json() == {"panoramas": []}


# Levels.

def per_panorama_routes(pid, version, issue):
    p = f"/api/panoramas/{pid}"
    return {
        "get": ("GET", p, None),
        "tree": ("GET", f"{p}/tree", None),
        "history": ("GET", f"{p}/history", None),
        "export": ("GET", f"{p}/export", None),
        "actions": ("POST", f"{p}/actions",
                    {"version": version, "actions": [add([issue])]}),
        "undo": ("POST", f"{p}/undo", None),
        "patch": ("PATCH", p, {"version": version, "name": "taken"}),
        "delete": ("DELETE", f"{p}?version={version}", None),
        "access": ("GET", f"{p}/access", None),
        "share": ("PUT", f"{p}/access", {"entries": [
            {"grantee": "everyone", "level": "edit"}]}),
    }


VIEW_ROUTES = ("get", "tree", "history", "export")
EDIT_ROUTES = ("actions", "undo")
MANAGE_ROUTES = ("patch", "delete", "access", "share")


def test_levels_from_both_sides(t):
    iss = new_issue_ids(3)
    t.site.make_public(*iss)
    owner, admin = t.user(), t.user(admin=True)
    viewer, editor = t.user(), t.user()
    gviewer = t.user(groups=["g-view"])
    geditor = t.user(groups=[("Editors", "g-edit"), "g-x"])
    lookalike = t.user(groups=[("g-view", "g-other")])
    nobody = t.user()
    p = t.create(owner, "Levels")
    pid = p["id"]
    v = t.apply(owner, pid, 1, [add(iss[:2])])["version"]
    entries = [{"grantee": "account", "id": viewer, "level": "view"},
               {"grantee": "account", "id": editor, "level": "edit"},
               {"grantee": "group", "id": "g-view", "level": "view"},
               {"grantee": "group", "id": "g-edit", "level": "edit"}]
    t.share(owner, pid, entries)
    # Sharing is no tree change.
    assert t.read(owner, pid)["version"] == v
    routes = per_panorama_routes(pid, v, iss[2])
    missing = t.get(nobody, MISSING)
    problems = []
    # Not a viewer: 404 on every route, exactly like a missing id.
    for who in (nobody, lookalike):
        replies, bad = refusals(t, who, routes.values(), 404, "not_found")
        problems += bad
        assert replies[0].content == missing.content
        assert pid not in t.ids(who)
    # Viewers read it, and may not change or manage it: 403.
    for who in (viewer, gviewer):
        got = t.read(who, pid)
        assert got["canEdit"] is False and got["canManage"] is False
        assert stored(got) == stored(t.read(owner, pid))
        assert [x["canEdit"] for x in t.list_all(who)
                if x["id"] == pid] == [False]
        for name in VIEW_ROUTES:
            method, path, body = routes[name]
            r = t.req(method, path, who, body=body)
            assert r.status_code == 200, (name, r.status_code, r.text)
        problems += refusals(t, who, [routes[n] for n in EDIT_ROUTES +
                                      MANAGE_ROUTES], 403, "forbidden")[1]
    # Editors change the tree, and may not manage it.
    for who in (editor, geditor):
        got = t.read(who, pid)
        assert got["canEdit"] is True and got["canManage"] is False
        v = t.apply(who, pid, v, [folder("by an editor")])["version"]
        r = t.undo(who, pid)
        assert r.status_code == 200 and r.json() == {"version": v + 1}, \
            r.text
        v += 1
        now = per_panorama_routes(pid, v, iss[2])
        problems += refusals(t, who, [now[n] for n in MANAGE_ROUTES], 403,
                             "forbidden")[1]
    # A Jira admin manages every panorama, listed or not shared.
    got = t.read(admin, pid)
    assert got["canEdit"] is True and got["canManage"] is True
    assert pid in t.ids(admin)
    r = t.access(admin, pid)
    assert r.status_code == 200 and entry_set(r.json()["entries"]) == \
        entry_set(entries)
    # Everyone: every account of the site (with the app's permission).
    t.share(admin, pid, [{"grantee": "everyone", "level": "view"}])
    got = t.read(nobody, pid)
    assert got["canEdit"] is False and pid in t.ids(nobody)
    check_error(t.act(nobody, pid, v, [add(iss[2:])]), 403, "forbidden")
    # Entries replaced: the former editor is a viewer like anyone.
    check_error(t.act(editor, pid, v, [add(iss[2:])]), 403, "forbidden")
    t.share(owner, pid, [{"grantee": "everyone", "level": "edit"}])
    v = t.apply(nobody, pid, v, [add(iss[2:])])["version"]
    check_error(t.patch(nobody, pid, {"version": v, "name": "x"}), 403)
    # Group membership is Jira's current answer.
    t.share(owner, pid, [{"grantee": "group", "id": "g-view",
                          "level": "view"}])
    assert t.read(gviewer, pid)["canEdit"] is False
    t.site.set_groups(gviewer, [])
    check_error(t.get(gviewer, pid), 404, "not_found")
    assert pid not in t.ids(gviewer)
    # No entries: back to owner and admins.
    t.share(owner, pid, [])
    assert t.access(owner, pid).json() == {"entries": []}
    for who in (viewer, editor, geditor, nobody):
        check_error(t.get(who, pid), 404, "not_found")
    assert not problems, "\n".join(problems)
    v = t.read(owner, pid)["version"]
    r = t.patch(admin, pid, {"version": v, "name": "Levels 2"})
    assert r.status_code == 200, r.text
    assert r.json()["owner"] == owner and r.json()["canManage"] is True
    t.site.set_admin(admin, False)
    check_error(t.get(admin, pid), 404, "not_found")
    assert t.read(owner, pid)["canManage"] is True


def test_access_entries_are_checked(t):
    a = t.user()
    pid = t.create(a)["id"]
    ok = [{"grantee": "account", "id": "557058:abc-DEF_1", "level": "edit"},
          {"grantee": "group", "id": "g-1", "level": "view"},
          {"grantee": "everyone", "level": "view"}]
    t.share(a, pid, ok)
    for entries in (
            [{"grantee": "account", "level": "view"}],
            [{"grantee": "group", "level": "view"}],
            [{"grantee": "everyone", "id": "x", "level": "view"}],
            [{"grantee": "account", "id": "", "level": "view"}],
            [{"grantee": "account", "id": "a b", "level": "view"}],
            [{"grantee": "account", "id": "a" * 129, "level": "view"}],
            [{"grantee": "account", "id": "a", "level": "manage"}],
            [{"grantee": "account", "id": "a"}],
            [{"grantee": "account", "id": "a", "level": "view"},
             {"grantee": "account", "id": "a", "level": "edit"}],
            [{"grantee": "account", "id": f"a{i}", "level": "view"}
             for i in range(101)],
            "everyone", [5]):
        check_error(t.set_access(a, pid, entries), 422)
    for raw in (b'{}', b'{"entries": null}', b'[]'):
        r = t.set_access(a, pid, raw=raw)
        assert r.status_code in (400, 422), r.text
    assert entry_set(t.access(a, pid).json()["entries"]) == entry_set(ok)
    many = [{"grantee": "account", "id": f"a{i}", "level": "view"}
            for i in range(100)]
    t.share(a, pid, many)
    assert len(t.access(a, pid).json()["entries"]) == 100


# The tree and its actions.

def test_actions_build_the_tree_in_order(t):
    i1, i2, i3, i4, i5, i6, i7, i8 = new_issue_ids(8)
    a = t.user(issues=[i1, i2, i3, i4, i5, i6, i7, i8])
    pid = t.create(a)["id"]

    def step(version, actions, want, nodes=None):
        rep = t.apply(a, pid, version, actions)
        v, got = tree_of(t, a, pid)
        assert v == rep["version"] and got == want, (actions, got)
        p = t.read(a, pid)
        assert p["version"] == v and p["nodes"] == len(want), p
        return rep["added"]

    n1, n2, n3 = step(1, [add([i1, i2, i3])],
                      [at(0, I(i1)), at(0, I(i2)), at(0, I(i3))])
    # after null: the first place; after X: right after X.
    n4, n5 = step(2, [add([i4]), add([i5], after=n2)],
                  [at(0, I(i4)), at(0, I(i1)), at(0, I(i2)), at(0, I(i5)),
                   at(0, I(i3))])
    fa, fb = step(3, [folder("Folder A", after=n3), folder("Folder B")],
                  [at(0, F("Folder B")), at(0, I(i4)), at(0, I(i1)),
                   at(0, I(i2)), at(0, I(i5)), at(0, I(i3)),
                   at(0, F("Folder A"))])
    # Children of a folder and of an issue.
    n6, n7, n8 = step(4, [add([i6, i7], parent=fa), add([i8], parent=n1)],
                      [at(0, F("Folder B")), at(0, I(i4)), at(0, I(i1)),
                       at(1, I(i8)), at(0, I(i2)), at(0, I(i5)),
                       at(0, I(i3)), at(0, F("Folder A")), at(1, I(i6)),
                       at(1, I(i7))])
    _, rows = t.rows(a, pid)
    assert [r["node"] for r in rows] == [fb, n4, n1, n8, n2, n5, n3, fa, n6,
                                         n7]
    # Moves take the subtree along.
    step(5, [move(fa, parent=fb)],
         [at(0, F("Folder B")), at(1, F("Folder A")), at(2, I(i6)),
          at(2, I(i7)), at(0, I(i4)), at(0, I(i1)), at(1, I(i8)),
          at(0, I(i2)), at(0, I(i5)), at(0, I(i3))])
    step(6, [move(n1, parent=fa, after=n6)],
         [at(0, F("Folder B")), at(1, F("Folder A")), at(2, I(i6)),
          at(2, I(i1)), at(3, I(i8)), at(2, I(i7)), at(0, I(i4)),
          at(0, I(i2)), at(0, I(i5)), at(0, I(i3))])
    # Within one parent, first and later; and a folder renamed.
    step(7, [rename(fa, "Folder A2"), move(n3), move(n4, after=n5)],
         [at(0, I(i3)), at(0, F("Folder B")), at(1, F("Folder A2")),
          at(2, I(i6)), at(2, I(i1)), at(3, I(i8)), at(2, I(i7)),
          at(0, I(i2)), at(0, I(i5)), at(0, I(i4))])
    # Remove takes the subtree.
    step(8, [remove(fb)],
         [at(0, I(i3)), at(0, I(i2)), at(0, I(i5)), at(0, I(i4))])
    # An issue may show more than once.
    step(9, [add([i2, i2])],
         [at(0, I(i2)), at(0, I(i2)), at(0, I(i3)), at(0, I(i2)),
          at(0, I(i5)), at(0, I(i4))])
    # Removed nodes are gone for good; issues are not folders.
    for act in (move(n1), remove(n6), rename(fa, "x")):
        check_error(t.act(a, pid, 10, [act]), 422, field="actions", index=0,
                    reason="node_unknown")
    body = check_error(t.act(a, pid, 10, [add([i1], parent=n8)]), 422,
                       field="actions", index=0)
    assert body.get("reason"), body
    body = check_error(t.act(a, pid, 10, [rename(n2, "not a folder")]), 422,
                       index=0, field="actions")
    assert body["reason"] not in ("node_unknown", "cycle"), body
    assert t.read(a, pid)["version"] == 10


def test_long_issue_ids_keep_every_digit(t):
    """Issue ids are strings on the wire: long ids come back exactly,
    from the tree, the export and an import of it, and reach Jira
    exactly.  (Up to 2^53 - 1: the worker reads Jira's granted ids as
    doubles and never counts a larger one as granted, so larger ids,
    which Jira does not hand out, cannot be added; see the report.)"""
    big = ["9007199254740991", "1234567890123456", "1"]
    a = t.user(issues=big)
    pid = t.create(a)["id"]
    t.apply(a, pid, 1, [add(big)])
    assert shape(t.rows(a, pid)[1]) == [at(0, I(i)) for i in big]
    x = t.export(a, pid)
    assert [r["issueId"] for r in x["rows"]] == big
    r = t.import_(a, x)
    assert r.status_code == 201, r.text
    assert shape(t.rows(a, r.json()["id"])[1]) == [at(0, I(i)) for i in big]
    asked = {i for acct, ids in t.site.issue_checks() if acct == a
             for i in ids}
    assert asked == {int(i) for i in big}
    assert sorted(t.ids(a)) == sorted([pid, r.json()["id"]])
    assert [p["id"] for p in t.issue_panoramas(a, big[1]).json()[
        "panoramas"]] == sorted([pid, r.json()["id"]], key=int)


def test_a_batch_is_all_or_nothing(t):
    iss = new_issue_ids(4)
    a = t.user(issues=iss)
    pid = t.create(a)["id"]
    n1, n2 = t.apply(a, pid, 1, [add(iss[:2])])["added"]
    fa = t.apply(a, pid, 2, [folder("A")])["added"][0]
    before = snapshot(t, a, pid)
    for last, reason in ((remove(MISSING), "node_unknown"),
                         (move(fa, parent=fa), "cycle"),
                         (move(n2, parent=n2), "cycle"),
                         (remove(n1), "node_unknown"),   # removed above
                         (rename(n2, "issue"), None),
                         ({"op": "add", "parent": None, "after": None,
                           "issueIds": ["0"]}, None)):
        acts = [add(iss[2:]), folder("new", parent=fa), move(n2, parent=fa),
                remove(n1), last]
        r = t.act(a, pid, 3, acts)
        check_error(r, 422, index=4, reason=reason)
        assert reasons(t.env.st, r)
        unchanged(t, a, pid, before)


def test_cycles_and_nodes_of_other_panoramas_are_refused(t):
    iss = new_issue_ids(2)
    a = t.user(issues=iss)
    pid = t.create(a)["id"]
    f1 = t.apply(a, pid, 1, [folder("F1")])["added"][0]
    f2 = t.apply(a, pid, 2, [folder("F2", parent=f1)])["added"][0]
    f3 = t.apply(a, pid, 3, [folder("F3", parent=f2)])["added"][0]
    qid = t.create(a, "other")["id"]
    qn = t.apply(a, qid, 1, [add(iss[:1])])["added"][0]
    before, qbefore = snapshot(t, a, pid), snapshot(t, a, qid)
    for acts, index in (([move(f1, parent=f3)], 0),
                        ([move(f1, parent=f1)], 0),
                        ([move(f2, parent=f3)], 0),
                        ([folder("ok"), move(f1, parent=f2)], 1)):
        r = t.act(a, pid, 4, acts)
        check_error(r, 422, "invalid", field="actions", index=index,
                    reason="cycle")
        assert reasons(t.env.st, r)
    # Another panorama's node is no node here, as parent, after or node.
    for act in (move(f1, parent=qn), add(iss[1:], parent=qn),
                folder("x", parent=qn), move(f1, after=qn),
                remove(qn), move(qn), rename(qn, "x")):
        body = check_error(t.act(a, pid, 4, [act]), 422, field="actions",
                           index=0)
        assert body.get("reason"), body
    check_error(t.act(a, pid, 4, [remove(qn)]), 422, reason="node_unknown")
    # after must be a child of parent.
    check_error(t.act(a, pid, 4, [folder("x", parent=f1, after=f3)]), 422,
                index=0)
    unchanged(t, a, pid, before)
    unchanged(t, a, qid, qbefore)
    # Actions apply in order: F3 out first, then F1 under it is fine.
    t.apply(a, pid, 4, [move(f3), move(f1, parent=f3)])
    assert tree_of(t, a, pid)[1] == [at(0, F("F3")), at(1, F("F1")),
                                     at(2, F("F2"))]


def test_racing_editors_one_wins_none_is_lost(t):
    """Two editors send a batch on the same version at once (two: nginx
    lets one client address have two batches in flight, see the
    report): exactly one lands, the other is 409 and lands on retry."""
    iss = new_issue_ids(12)
    t.site.make_public(*iss)
    owner = t.user()
    eds = [owner] + [t.user() for _ in range(3)]
    pid = t.create(owner)["id"]
    t.share(owner, pid, [{"grantee": "account", "id": e, "level": "edit"}
                         for e in eds[1:]])
    fa, fb = t.apply(owner, pid, 1, [folder("A"), folder("B")])["added"]
    results = {}

    def run_all(fn, calls):
        results.clear()
        threads = [threading.Thread(target=fn, args=c) for c in calls]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        return [results[c[0]] for c in calls]

    def race(i, version, actions):
        results[i] = t.act(eds[i], pid, version, actions)

    v, won = 2, []
    for k in range(5):
        got = run_all(race, [(0, v, [add([iss[2 * k]])]),
                             (1, v, [add([iss[2 * k + 1]])])])
        assert sorted(r.status_code for r in got) == [200, 409], [
            (r.status_code, r.text) for r in got]
        for i, r in enumerate(got):
            if r.status_code == 409:
                check_error(r, 409, "conflict", version=v + 1)
            else:
                won.append(iss[2 * k + i])
        v += 1
    _, rows = t.rows(owner, pid)
    assert sorted(r["issueId"] for r in rows if r["kind"] == "issue") == \
        sorted(won)
    # Two editors who retry (read the version again) both land.

    def retry(i, issue):
        for _ in range(40):
            cur = t.read(eds[i], pid)["version"]
            r = t.act(eds[i], pid, cur, [add([issue])])
            if r.status_code != 409:
                break
        results[i] = r
    got = run_all(retry, [(2, iss[10]), (3, iss[11])])
    assert [r.status_code for r in got] == [200, 200], [
        (r.status_code, r.text) for r in got]
    v, rows = t.rows(owner, pid)
    assert v == 9
    assert sorted(r["issueId"] for r in rows if r["kind"] == "issue") == \
        sorted(won + iss[10:])
    assert len(t.batches(owner, pid)) == 8
    # Crossed moves on one version cannot make a cycle.
    got = run_all(race, [(0, v, [move(fa, parent=fb)]),
                         (1, v, [move(fb, parent=fa)])])
    assert sorted(r.status_code for r in got) == [200, 409], [
        (r.status_code, r.text) for r in got]
    v2, rows = t.rows(owner, pid)
    assert v2 == v + 1 and len(rows) == 9
    loser = next(i for i, r in enumerate(got) if r.status_code == 409)
    again = [move(fa, parent=fb)] if loser == 0 else [move(fb, parent=fa)]
    check_error(t.act(eds[loser], pid, v2, again), 422, reason="cycle")


def test_batch_of_more_than_1000_actions_is_413(t):
    a = t.user()
    pid = t.create(a)["id"]
    r = t.act(a, pid, 1, [folder(f"f{i}") for i in range(1001)])
    check_error(r, 413, "limit_actions", limit=1000)
    assert t.read(a, pid)["version"] == 1
    rep = t.apply(a, pid, 1, [folder(f"f{i}") for i in range(1000)])
    assert len(rep["added"]) == 1000
    _, rows = t.rows(a, pid)
    assert [r["title"] for r in rows] == [f"f{i}" for i in range(999, -1,
                                                                  -1)]


# Issues a viewer may not browse.

def test_restricted_issues_show_as_restricted_and_nothing_more(t):
    open_ = new_issue_ids(3)
    secret = new_issue_ids(1)[0]
    owner = t.user(issues=open_ + [secret])
    seer = t.user(issues=open_ + [secret])
    blind = t.user(issues=open_)
    blind_editor = t.user(issues=open_)
    jadmin = t.user(admin=True, issues=open_)
    pid = t.create(owner)["id"]
    n0, ns, n1 = t.apply(owner, pid, 1, [add([open_[0], secret, open_[1]]),
                                         folder("F")])["added"][:3]
    t.apply(owner, pid, 2, [add(open_[2:], parent=ns)])
    t.share(owner, pid, [
        {"grantee": "account", "id": seer, "level": "view"},
        {"grantee": "account", "id": blind, "level": "view"},
        {"grantee": "account", "id": blind_editor, "level": "edit"}])
    full = [at(0, F("F")), at(0, I(open_[0])), at(0, I(secret)),
            at(1, I(open_[2])), at(0, I(open_[1]))]
    hidden = [at(0, F("F")), at(0, I(open_[0])), (0, "restricted"),
              at(1, I(open_[2])), at(0, I(open_[1]))]
    assert tree_of(t, seer, pid)[1] == full
    for who in (blind, blind_editor, jadmin):
        v, rows = t.rows(who, pid)
        assert shape(rows) == hidden
        assert rows[2] == {"node": ns, "depth": 0, "kind": "issue",
                           "restricted": True}
        # Nowhere in any reply: tree pages, history, export, panorama.
        texts = [t.tree(who, pid).text,
                 t.tree(who, pid, limit=1).text,
                 t.tree(who, pid, limit=2, **{"from": t.tree(
                     who, pid, limit=2).json()["next"]}).text,
                 t.history(who, pid).text,
                 t.req("GET", f"/api/panoramas/{pid}/export", who).text,
                 t.get(who, pid).text,
                 t.req("GET", "/api/panoramas", who).text]
        for x in texts:
            assert secret not in x, x[:300]
        x = t.export(who, pid)
        assert x["rows"][2] == {"depth": 0, "kind": "issue",
                                "restricted": True}
        check_error(t.issue_panoramas(who, secret), 404, "not_found")
    # Those who may browse it see it in the history too.
    assert secret in json.dumps(t.batches(seer, pid))
    first = t.batches(blind, pid)[-1]
    assert open_[0] in json.dumps(first["actions"])
    assert open_[1] in json.dumps(first["actions"])
    # An editor cannot add an issue they may not browse, nor learn of it.
    before = snapshot(t, owner, pid)
    r = t.act(blind_editor, pid, 3, [add(open_[:1]), add([secret])])
    check_error(r, 422, field="actions", index=1,
                reason="issue_not_browsable")
    assert secret not in r.text
    unchanged(t, owner, pid, before)
    t.apply(blind_editor, pid, 3, [add(open_[:1], parent=ns)])
    # The app asked Jira about the readers' issues as numbers.
    asked = t.site.issue_checks()
    mine = [ids for acct, ids in asked if acct == blind]
    assert mine and all(0 < len(ids) <= 1000 and
                        all(type(i) is int for i in ids) for ids in mine)
    assert int(secret) in {i for ids in mine for i in ids}
    assert not [rec for rec in t.site.requests_to("POST", PERMISSIONS_CHECK)
                if rec.status != 200]
    # Rights taken away count at once (cache_seconds = 0 here).
    t.site.revoke_issues(owner, secret)
    assert shape(t.rows(owner, pid)[1])[2] == (0, "restricted")
    t.site.grant_issues(blind, secret)
    assert shape(t.rows(blind, pid)[1])[2] == at(0, I(secret))


# A big tree.

def test_a_ten_thousand_node_tree_pages_and_its_node_limit(t):
    ids = new_issue_ids(NODES_DEFAULT)
    t.site.make_public(*ids)
    owner, viewer = t.user(), t.user()
    pid = t.create(owner)["id"]
    folders = t.apply(owner, pid, 1,
                      [folder(f"F{i}") for i in range(10)][::-1])["added"]
    folders = folders[::-1]
    t.apply(owner, pid, 2, [add(ids[i * 999:(i + 1) * 999],
                                parent=folders[i]) for i in range(10)])
    assert t.read(owner, pid)["nodes"] == NODES_DEFAULT
    t.share(owner, pid, [{"grantee": "account", "id": viewer,
                          "level": "view"}])
    # The whole tree in one page, Jira asked at most 1000 ids a call.
    before = len(t.site.issue_checks())
    v, whole = t.rows(viewer, pid)
    calls = [c for acct, c in t.site.issue_checks()[before:]
             if acct == viewer]
    assert calls and all(len(c) <= 1000 for c in calls), [len(c)
                                                          for c in calls]
    assert len(calls) <= math.ceil(9990 / 1000), len(calls)
    assert {str(i) for c in calls for i in c} >= set(ids[:9990])
    want = []
    for i in range(10):
        want.append(at(0, F(f"F{i}")))
        want += [at(1, I(x)) for x in ids[i * 999:(i + 1) * 999]]
    assert v == 3 and shape(whole) == want
    # Pages of 500 (the default) hold every row once, in pre-order.
    pages, cursor = [], None
    while True:
        r = t.tree(viewer, pid, **({"from": cursor} if cursor else {}))
        assert r.status_code == 200, r.text[:300]
        page = r.json()
        assert page["version"] == 3
        pages.append(page["rows"])
        cursor = page["next"]
        if cursor is None:
            break
        assert len(pages) < 30
    assert [len(p) for p in pages] == [500] * 20
    assert [row for p in pages for row in p] == whole
    # A change between pages: the next page is 409 with the version.
    first = t.tree(viewer, pid).json()
    t.apply(owner, pid, 3, [remove(whole[1]["node"])])
    r = t.tree(viewer, pid, **{"from": first["next"]})
    check_error(r, 409, "conflict", version=4)
    v, rows = t.rows(viewer, pid, limit=500)
    assert v == 4 and rows == whole[:1] + whole[2:]
    # The node limit: 10,000 by default.
    t.apply(owner, pid, 4, [add(ids[9990:9991])])
    for acts, index in (([add(ids[9991:9992])], 0),
                        ([folder("one more")], 0),
                        ([remove(whole[2]["node"]), add(ids[9991:9993])],
                         1)):
        r = t.act(owner, pid, 5, acts)
        body = check_error(r, 422, "limit_nodes", limit=NODES_DEFAULT)
        assert body.get("index", index) == index, body
    t.apply(owner, pid, 5, [remove(whole[2]["node"]), add(ids[9991:9992])])
    assert t.read(owner, pid)["nodes"] == NODES_DEFAULT
    for params in ({"limit": "0"}, {"limit": "30001"}, {"limit": "x"},
                   {"from": "junk"}):
        check_error(t.tree(viewer, pid, **params), 400)


# History and undo.

def test_history_says_who_did_what_when_and_undo_reverts_ones_own(t):
    iss = new_issue_ids(4)
    t.site.make_public(*iss)
    e1, e2, e3, viewer = t.user(), t.user(), t.user(), t.user()
    pid = t.create(e1)["id"]
    t.share(e1, pid, [{"grantee": "account", "id": e2, "level": "edit"},
                      {"grantee": "account", "id": e3, "level": "edit"},
                      {"grantee": "account", "id": viewer, "level": "view"}])
    t0 = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 2))
    n0, n1 = t.apply(e1, pid, 1, [add(iss[:2])])["added"]          # v2
    ff = t.apply(e2, pid, 2, [folder("F")])["added"][0]             # v3
    n2 = t.apply(e1, pid, 3, [add(iss[2:3], parent=ff)])["added"][0]  # v4
    t1 = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 2))
    h = t.batches(viewer, pid)
    assert [(b["actor"], b["kind"], b["version"], b["undone"])
            for b in h] == [(e1, "batch", 4, False), (e2, "batch", 3, False),
                            (e1, "batch", 2, False)]
    assert all(t0 <= b["at"] <= t1 for b in h), h
    assert iss[0] in json.dumps(h[2]["actions"])
    assert iss[2] in json.dumps(h[0]["actions"])
    assert len({b["id"] for b in h}) == 3
    # Undo reverts the caller's latest batch only.
    r = t.undo(e1, pid)
    assert r.status_code == 200 and r.json() == {"version": 5}, r.text
    assert tree_of(t, e1, pid)[1] == [at(0, F("F")), at(0, I(iss[0])),
                                      at(0, I(iss[1]))]
    h = t.batches(viewer, pid)
    assert (h[0]["actor"], h[0]["kind"], h[0]["version"]) == (e1, "undo", 5)
    assert h[0]["undoOf"] == h[1]["id"] and h[1]["undone"] is True
    # A later batch touched e1's previous one: blocked, nothing changes.
    t.apply(e2, pid, 5, [move(n1)])                                # v6
    before = snapshot(t, e1, pid)
    r = t.undo(e1, pid)
    check_error(r, 409, "conflict", version=6)
    assert reasons(t.env.st, r)
    unchanged(t, e1, pid, before)
    # Nothing of one's own to undo: 404; a viewer: 403.
    check_error(t.undo(e3, pid), 404, "not_found")
    check_error(t.undo(viewer, pid), 403, "forbidden")
    # e2 reverts the move.
    r = t.undo(e2, pid)
    assert r.status_code == 200 and r.json() == {"version": 7}, r.text
    assert tree_of(t, e1, pid)[1] == [at(0, F("F")), at(0, I(iss[0])),
                                      at(0, I(iss[1]))]
    t.apply(e3, pid, 7, [folder("G")])                              # v8
    r = t.undo(e3, pid)
    assert r.status_code == 200 and r.json() == {"version": 9}, r.text
    check_error(t.undo(e3, pid), 404, "not_found")
    h = t.batches(viewer, pid)
    assert [(b["actor"], b["kind"], b["version"], b["undone"])
            for b in h] == [(e3, "undo", 9, False), (e3, "batch", 8, True),
                            (e2, "undo", 7, False), (e2, "batch", 6, True),
                            (e1, "undo", 5, False), (e1, "batch", 4, True),
                            (e2, "batch", 3, False), (e1, "batch", 2, False)]
    byid = {b["id"]: b for b in h}
    for b in h:
        if b["kind"] == "undo":
            assert byid[b["undoOf"]]["undone"] is True
    # Pages of the history: every batch once.
    for limit in (1, 3):
        assert t.batches(viewer, pid, limit=limit) == h
    for params in ({"limit": "0"}, {"limit": "101"}, {"cursor": "x"}):
        check_error(t.history(viewer, pid, **params), 400)
    assert n0 and n2
    # The body of an undo may be {} too (the contract: "none, or {}").
    t.apply(e3, pid, 9, [folder("H")])                              # v10
    r = t.undo(e3, pid, raw=b"{}")
    assert r.status_code == 200 and r.json() == {"version": 11}, (
        r.status_code, r.text)


def test_undo_of_a_remove_brings_the_same_nodes_back(t):
    """Node ids stay what a client holds: an undo puts removed nodes back
    under their own ids, in their places."""
    iss = new_issue_ids(4)
    a = t.user(issues=iss)
    pid = t.create(a)["id"]
    ff = t.apply(a, pid, 1, [folder("F"), add(iss[:2])])["added"][0]
    t.apply(a, pid, 2, [add(iss[2:], parent=ff)])
    v, before = t.rows(a, pid)
    t.apply(a, pid, v, [remove(ff)])
    assert len(t.rows(a, pid)[1]) == 2
    r = t.undo(a, pid)
    assert r.status_code == 200 and r.json() == {"version": v + 2}, r.text
    assert t.rows(a, pid) == (v + 2, before)
    assert t.read(a, pid)["nodes"] == len(before)
    # And an undo of a move puts the subtree back where it was.
    assert before[0]["depth"] == 0 and before[2]["node"] == ff
    t.apply(a, pid, v + 2, [move(ff, after=before[0]["node"])])
    assert shape(t.rows(a, pid)[1])[1] == at(0, F("F"))
    assert t.undo(a, pid).status_code == 200
    assert t.rows(a, pid) == (v + 4, before)


# The issue-deleted webhook.

def test_issue_deleted_webhook_removes_the_issue_everywhere(t, env):
    d, keep, c1, c2, last, other = new_issue_ids(6)
    t.site.make_public(d, keep, c1, c2, last, other)
    a, b = t.user(), t.user()
    p1 = t.create(a)["id"]
    ff = t.apply(a, p1, 1, [folder("F")])["added"][0]
    nd = t.apply(a, p1, 2, [add([keep, d, last], parent=ff)])["added"][1]
    t.apply(a, p1, 3, [add([c1, c2], parent=nd), add([d], after=ff)])
    p2 = t.create(b)["id"]
    t.apply(b, p2, 1, [add([d, other, d])])
    p3 = t.create(b)["id"]
    t.apply(b, p3, 1, [add([other])])
    # Another tenant's panorama with the same issue id.
    t2 = env.tenant()
    t2.site.make_public(d)
    x = t2.user()
    px = t2.create(x)["id"]
    t2.apply(x, px, 1, [add([d])])
    summary = env.secret_text("summary")
    payload = issue_deleted_payload(d, summary)
    # Not signed by the tenant: 401, nothing changes.
    for r in (t.webhook(payload, signed=False),
              t.webhook(payload, token=atl.page_token(
                  atl.new_secret(), t.client_key, "POST",
                  "/webhooks/issue-deleted")),
              t.webhook(payload, token=atl.page_token(
                  t.secret, t.client_key, "POST", "/webhooks/other")),
              t.webhook(payload, token=atl.context_token(
                  t.secret, t.client_key))):
        check_error(r, 401, "unauthorized")
    assert t.read(a, p1)["version"] == 4
    r = t.webhook(payload)
    assert r.status_code == 204, (r.status_code, r.text)
    # Children move up in place; every node of the issue goes.
    v, got = tree_of(t, a, p1)
    assert got == [at(0, F("F")), at(1, I(keep)), at(1, I(c1)),
                   at(1, I(c2)), at(1, I(last))]
    assert v == 5 and t.read(a, p1)["nodes"] == 5
    assert tree_of(t, b, p2) == (3, [at(0, I(other))])
    assert tree_of(t, b, p3)[0] == 2
    assert tree_of(t2, x, px) == (2, [at(0, I(d))])
    h = t.batches(a, p1)
    assert (h[0]["actor"], h[0]["kind"], h[0]["version"]) == (None,
                                                              "system", 5)
    # The system's batch touched a's latest one: its undo is blocked.
    check_error(t.undo(a, p1), 409, "conflict", version=5)
    # Twice: harmless.
    r = t.webhook(payload)
    assert r.status_code == 204, r.text
    assert tree_of(t, a, p1)[0] == 5 and len(t.batches(a, p1)) == len(h)
    assert t.issue_panoramas(a, d).json() == {"panoramas": []}
    # issue.id as a number works too.
    r = t.webhook(issue_deleted_payload(other, summary, as_int=True))
    assert r.status_code == 204, r.text
    assert tree_of(t, b, p2) == (4, [])
    # Jira's payload holds the issue's fields: a long description is
    # no reason to refuse it (up to the route's 1 MiB).
    big = issue_deleted_payload(c1, summary)
    big["issue"]["fields"]["description"] = "d" * (900 * 1024)
    r = t.webhook(big)
    assert r.status_code == 204, (r.status_code, r.text)
    assert c1 not in json.dumps(t.rows(a, p1)[1])
    big["issue"]["fields"]["description"] = "d" * (1100 * 1024)
    check_error(t.webhook(big), 413)
    # No issue id: 400.
    for body in ({}, {"issue": {}}, {"issue": {"id": "abc"}},
                 {"issue": {"id": "0"}}, {"issue": {"id": None}},
                 {"issue": "10001"}, {"issue": {"id": -5}}):
        check_error(t.webhook(body), 400)
    # Nothing of the issue was kept: not in the tree, history, export,
    # nor in any log (the module's teardown checks the logs again).
    for text in (json.dumps(t.batches(a, p1)), json.dumps(t.export(a, p1)),
                 t.tree(a, p1).text, env.st.log_text()):
        assert summary not in text and "PROJ-12" not in text


def test_panoramas_of_an_issue_are_those_the_caller_may_view(t):
    i, j, k = new_issue_ids(3)
    a = t.user(issues=[i, j, k])
    b = t.user(issues=[i, k])
    c = t.user()
    admin = t.user(admin=True)
    pa = t.create(a, "A")["id"]
    t.apply(a, pa, 1, [add([i, j])])
    pb = t.create(b, "B")["id"]
    t.apply(b, pb, 1, [add([i])])
    shared = t.create(a, "Shared")["id"]
    t.apply(a, shared, 1, [add([j, i])])
    t.share(a, shared, [{"grantee": "everyone", "level": "view"}])
    t.create(b, "Without")

    def ids_of(who, issue):
        r = t.issue_panoramas(who, issue)
        assert r.status_code == 200, (r.status_code, r.text)
        assert set(r.json()) == {"panoramas"}
        for p in r.json()["panoramas"]:
            check_panorama(p)
        return sorted(p["id"] for p in r.json()["panoramas"])
    assert ids_of(a, i) == sorted([pa, shared])
    assert ids_of(b, i) == sorted([pb, shared])
    assert ids_of(a, j) == sorted([pa, shared])
    assert ids_of(a, k) == [] and ids_of(b, k) == []
    # Who may not browse the issue learns nothing, panoramas or not.
    missing = t.issue_panoramas(c, "123456789012345")
    for who, issue in ((c, i), (b, j), (admin, i)):
        r = t.issue_panoramas(who, issue)
        check_error(r, 404, "not_found")
    t.site.grant_issues(c, i)
    assert ids_of(c, i) == [shared]
    for bad in ("abc", "0", "01", "1" * 19, "-1"):
        r = t.issue_panoramas(a, bad)
        assert r.status_code in (400, 404), (bad, r.status_code)
        check_error(r, r.status_code)
    assert missing.status_code == 404


# Export and import.

def build_sample(t, a, iss, name="Sample \u5168\u666f",
                 description="described"):
    """A panorama with depth, folders under issues, a repeated issue and
    titles in several scripts; returns its id."""
    pid = t.create(a, name, description)["id"]
    fa, n0 = t.apply(a, pid, 1, [folder("Caf\u00e9 \U0001f304"),
                                 add(iss[:1])])["added"][:2]
    ff = t.apply(a, pid, 2, [add(iss[1:3], parent=fa),
                             folder("under an issue", parent=n0)])["added"]
    t.apply(a, pid, 3, [add(iss[3:5], parent=ff[2]),
                        add(iss[:1], parent=ff[0])])
    return pid


def test_export_then_import_gives_the_same_tree(t, env):
    iss = new_issue_ids(5)
    a = t.user(issues=iss)
    b = t.user(issues=iss)
    name, desc = env.secret_text("xname"), env.secret_text("xdesc")
    pid = build_sample(t, a, iss, name, desc)
    x = t.export(a, pid)
    assert x["name"] == name and x["description"] == desc
    _, rows = t.rows(a, pid)
    assert [{k: v for k, v in r.items() if k != "node"} for r in rows] == \
        x["rows"]
    assert max(r["depth"] for r in x["rows"]) == 2
    for who in (a, b):
        r = t.import_(who, x)
        assert r.status_code == 201, (r.status_code, r.text[:300])
        p = check_panorama(r.json(), owner=who, can_edit=True,
                           can_manage=True)
        assert (p["name"], p["description"], p["version"], p["nodes"]) == (
            name, desc, 1, len(rows))
        assert t.read(who, p["id"]) == p
        assert shape(t.rows(who, p["id"])[1]) == shape(rows)
        assert t.export(who, p["id"]) == x
        h = t.batches(who, p["id"])
        assert [(b_["actor"], b_["kind"]) for b_ in h] == [(who, "batch")]
    # An empty one too.
    r = t.import_(a, document("empty", []))
    assert r.status_code == 201 and r.json()["nodes"] == 0, r.text


def test_a_bad_import_creates_nothing(t, env):
    iss = new_issue_ids(3)
    hidden = new_issue_ids(1)[0]
    a = t.user(issues=iss)
    mark = env.secret_text("imp")
    ok = [{"depth": 0, "kind": "folder", "title": "F"},
          {"depth": 1, "kind": "issue", "issueId": iss[0]}]
    count = len(t.ids(a))
    for bad_row, index in (
            ({"depth": 1, "kind": "folder", "title": "x"}, 0),
            ({"depth": 3, "kind": "folder", "title": "x"}, 2),
            ({"depth": -1, "kind": "folder", "title": "x"}, 2),
            ({"depth": "0", "kind": "folder", "title": "x"}, 2),
            ({"kind": "folder", "title": "x"}, 2),
            ({"depth": 0, "kind": "epic", "title": "x"}, 2),
            ({"depth": 0, "kind": "issue", "issueId": "0"}, 2),
            ({"depth": 0, "kind": "issue", "issueId": "01"}, 2),
            ({"depth": 0, "kind": "issue", "issueId": "1" * 19}, 2),
            ({"depth": 0, "kind": "issue", "issueId": mark}, 2),
            ({"depth": 0, "kind": "issue", "issueId": int(iss[1])}, 2),
            ({"depth": 0, "kind": "issue"}, 2),
            ({"depth": 0, "kind": "issue", "issueId": iss[1],
              "title": mark}, 2),
            ({"depth": 0, "kind": "issue", "restricted": True}, 2),
            ({"depth": 0, "kind": "folder", "title": ""}, 2),
            ({"depth": 0, "kind": "folder", "title": "t" * 256}, 2),
            ({"depth": 0, "kind": "folder"}, 2),
            ({"depth": 0, "kind": "folder", "title": "x", mark: 1}, 2),
            ("row", 2)):
        rows = [bad_row] if index == 0 else ok + [bad_row]
        r = t.import_(a, document("bad", rows + ok))
        check_error(r, 422, field="rows", index=index, echo=[mark])
    r = t.import_(a, document("bad", ok + ok + [
        {"depth": 0, "kind": "issue", "issueId": hidden}]))
    check_error(r, 422, index=4, reason="issue_not_browsable")
    assert hidden not in r.text
    for doc in (document("n" * 256, ok), document("", ok),
                document("x", ok, description="d" * 2001),
                document("x", ok, format="cellar-templates"),
                document("x", ok, formatVersion=2),
                {k: v for k, v in document("x", ok).items() if k != "rows"},
                document("x", "rows"), document(mark, ok, extra=mark)):
        r = t.import_(a, doc)
        assert r.status_code in (400, 422), (r.status_code, r.text)
        check_error(r, r.status_code, echo=[mark])
    assert len(t.ids(a)) == count
    assert mark not in env.st.log_text()


def test_an_import_of_almost_4_mib_goes_through_nginx(t):
    a = t.user()
    title = "\u00e9" * 255
    row = {"depth": 0, "kind": "folder", "title": title}
    size = len(json.dumps(row, ensure_ascii=False).encode()) + 2
    n = (4 * MIB - 4000) // size
    assert n <= NODES_DEFAULT
    doc = document("big", [row] * n)
    assert len(json.dumps(doc, ensure_ascii=False).encode()) < 4 * MIB
    r = t.import_(a, doc, timeout=60)
    assert r.status_code == 201, (r.status_code, r.text[:300])
    assert r.json()["nodes"] == n
    x = t.export(a, r.json()["id"])
    assert x["rows"] == [row] * n
    r = t.import_(a, document("too big", [row] * (n + 400)), timeout=60)
    check_error(r, 413)
    assert len(t.ids(a)) == 1


# Restarts.

def test_nothing_is_lost_across_restarts_and_killed_workers(env):
    t = env.tenant()
    iss = new_issue_ids(5)
    a, b = t.user(issues=iss), t.user(issues=iss)
    pid = build_sample(t, a, iss)
    t.share(a, pid, [{"grantee": "account", "id": b, "level": "edit"}])
    t.apply(b, pid, 4, [add(iss[2:3])])
    assert t.undo(b, pid).status_code == 200
    t.apply(b, pid, 6, [folder("after the undo")])

    def state():
        return (snapshot(t, a, pid), t.access(a, pid).json(),
                t.export(a, pid), t.list_all(b))
    before = state()
    env.restart()
    assert state() == before
    rep = t.apply(a, pid, 7, [add(iss[:1])])
    before = state()
    # kill -9 every worker right after a write; the supervisor starts
    # fresh ones.
    st = env.st
    old = st.worker_pids()
    for w in old:
        os.kill(w, signal.SIGKILL)
    wait_until(lambda: not any(alive(w) for w in old) and
               len(st.worker_pids()) == 2 and
               st.get("/healthz").status_code == 200, timeout=15,
               what="fresh workers")
    assert state() == before
    assert rep["version"] == 8


def test_every_worker_shows_a_change_at_once(t):
    """Workers keep trees they read (by panorama and version): after a
    batch, a rename, a deleted issue or an undo, every read on every
    worker shows the new tree, whatever an earlier read kept."""
    iss = new_issue_ids(4)
    t.site.make_public(*iss)
    a, b = t.user(), t.user()
    pid = t.create(a)["id"]
    t.share(a, pid, [{"grantee": "account", "id": b, "level": "edit"}])
    t.apply(a, pid, 1, [add(iss[:3])])

    def reads(want_version, want_shape):
        # Enough reads, through both workers, for each to keep a tree.
        for who in (a, b) * 6:
            v, shp = tree_of(t, who, pid)
            assert (v, shp) == (want_version, want_shape)
            assert shape(t.export(who, pid)["rows"]) == want_shape

    reads(2, [at(0, I(iss[0])), at(0, I(iss[1])), at(0, I(iss[2]))])
    n3 = t.rows(a, pid)[1][2]["node"]
    t.apply(b, pid, 2, [folder("F"), move(n3, parent=None)])
    f = t.rows(a, pid)[1][1]
    assert f["kind"] == "folder"
    reads(3, [at(0, I(iss[2])), at(0, F("F")), at(0, I(iss[0])),
              at(0, I(iss[1]))])
    t.apply(a, pid, 3, [rename(f["node"], "G")])
    reads(4, [at(0, I(iss[2])), at(0, F("G")), at(0, I(iss[0])),
              at(0, I(iss[1]))])
    r = t.webhook(issue_deleted_payload(iss[0], "s"))
    assert r.status_code == 204
    reads(5, [at(0, I(iss[2])), at(0, F("G")), at(0, I(iss[1]))])
    # a's latest batch, the rename, touched nothing the webhook did.
    assert t.undo(a, pid).status_code == 200
    reads(6, [at(0, I(iss[2])), at(0, F("F")), at(0, I(iss[1]))])


def test_undo_never_brings_back_an_issue_gone_since(t):
    """A batch removed issue X; Jira then deleted X (its webhook found
    no node to remove). Undoing the batch would bring X back: refused,
    409 issue_not_browsable, nothing changed."""
    x, y = new_issue_ids(2)
    t.site.make_public(x, y)
    a = t.user()
    pid = t.create(a)["id"]
    nx, ny = t.apply(a, pid, 1, [add([x, y])])["added"]
    t.apply(a, pid, 2, [remove(nx)])
    t.site.make_private(x)              # deleted: nobody may browse it
    assert t.webhook(issue_deleted_payload(x, "s")).status_code == 204
    before = snapshot(t, a, pid)
    r = t.undo(a, pid)
    check_error(r, 409, "conflict", version=3, reason="issue_not_browsable")
    unchanged(t, a, pid, before)
    # Browsable again (restored in Jira): the undo goes through.
    t.site.make_public(x)
    assert t.undo(a, pid).status_code == 200
    assert shape(t.rows(a, pid)[1]) == [at(0, I(x)), at(0, I(y))]


# The cached stack: one worker, cache_seconds = 60, small limits.

def test_answers_are_cached_per_worker_and_used_while_jira_is_down(cenv):
    t = cenv.tenant()
    iss = new_issue_ids(300)
    t.site.make_public(*iss)
    owner, viewer, late = t.user(), t.user(), t.user()
    pid = t.create(owner)["id"]
    t.apply(owner, pid, 1, [add(iss[:150]), folder("F")])
    t.apply(owner, pid, 2, [add(iss[150:])])
    t.share(owner, pid, [{"grantee": "everyone", "level": "view"}])

    def asked(acct):
        return (len([1 for x, _ in t.site.global_checks() if x == acct]),
                [ids for x, ids in t.site.issue_checks() if x == acct])

    def read_all(acct):
        got = t.rows(acct, pid)
        t.read(acct, pid)
        t.batches(acct, pid)
        t.list_all(acct)
        return got
    v, rows = read_all(viewer)
    g1, i1 = asked(viewer)
    assert g1 >= 1 and i1 and all(len(c) <= 1000 for c in i1)
    assert {str(i) for c in i1 for i in c} == set(iss)
    # Read again: Jira is not asked again.
    assert read_all(viewer) == (v, rows)
    assert asked(viewer) == (g1, i1)
    # A reader who saw the first page only has those answers cached.
    pager = t.user()
    first = t.tree(pager, pid, limit=100).json()
    assert first["rows"] == rows[:100]
    # Jira down: cached answers still serve; others are 503.
    t.site.set_down("503")
    assert t.tree(pager, pid, limit=100).json() == first
    check_error(t.tree(pager, pid, limit=100, **{"from": first["next"]}),
                503, "unavailable")
    assert t.rows(viewer, pid) == (v, rows)
    assert t.export(viewer, pid)["rows"] == [
        {k: x for k, x in r.items() if k != "node"} for r in rows]
    check_error(t.tree(late, pid), 503, "unavailable")
    check_error(t.req("GET", "/api/panoramas", late), 503, "unavailable")
    t.site.set_down(None)
    assert t.rows(late, pid) == (v, rows)


def test_cached_answers_are_the_tenants_own(cenv):
    """An account id is the same person on every site, and an issue id
    may exist on two sites: what one site's Jira said is never used for
    another tenant (same worker, answers cached)."""
    t1, t2 = cenv.tenant(), cenv.tenant()
    issue = new_issue_ids(1)[0]
    x = t1.user(issues=[issue])
    t2.site.set_groups(x, [])
    t2.site.set_app_permission(x, APP_PERMISSION, False)
    owner = t2.user(issues=[issue])
    p1 = t1.create(x)["id"]
    t1.apply(x, p1, 1, [add([issue])])
    assert shape(t1.rows(x, p1)[1]) == [at(0, I(issue))]
    assert t1.issue_panoramas(x, issue).status_code == 200
    # On the other site x lacks the app's permission.
    check_error(t2.req("GET", "/api/panoramas", x), 403, "forbidden")
    assert t1.read(x, p1)["canManage"] is True
    # y may browse the issue on t1 only.
    p2 = t2.create(owner)["id"]
    t2.apply(owner, p2, 1, [add([issue])])
    t2.share(owner, p2, [{"grantee": "everyone", "level": "edit"}])
    y = atl.new_account_id()
    t1.site.grant_issues(y, issue)
    t1.site.set_groups(y, [])
    t2.site.set_groups(y, [])
    assert t1.issue_panoramas(y, issue).status_code == 200
    assert shape(t2.rows(y, p2)[1]) == [(0, "restricted")]
    check_error(t2.issue_panoramas(y, issue), 404, "not_found")
    check_error(t2.act(y, p2, 2, [add([issue])]), 422,
                reason="issue_not_browsable")
    # And the other way round: allowed on t2, not on t1.
    z = t2.user(issues=[issue])
    t1.site.set_groups(z, [])
    assert shape(t2.rows(z, p2)[1]) == [at(0, I(issue))]
    t1.share(x, p1, [{"grantee": "everyone", "level": "view"}])
    assert shape(t1.rows(z, p1)[1]) == [(0, "restricted")]


def test_configured_limits_of_nodes_and_panoramas(cenv):
    t = cenv.tenant()
    iss = new_issue_ids(401)
    t.site.make_public(*iss)
    a, b = t.user(), t.user()
    pid = t.create(a)["id"]
    check_error(t.act(a, pid, 1, [add(iss)]), 422, "limit_nodes",
                limit=400)
    added = t.apply(a, pid, 1, [add(iss[:400])])["added"]
    for acts in ([add(iss[400:])], [folder("one more")],
                 [remove(added[0]), add(iss[:2])]):
        body = check_error(t.act(a, pid, 2, acts), 422, "limit_nodes",
                           limit=400)
        assert body.get("index", len(acts) - 1) == len(acts) - 1
    t.apply(a, pid, 2, [remove(added[0]), folder("fits")])
    rows = [{"depth": 0, "kind": "issue", "issueId": i} for i in iss]
    r = t.import_(a, document("too many", rows))
    check_error(r, 422, "limit_nodes", limit=400)
    # Three panoramas a site, whoever makes them.
    t.create(a)
    third = t.create(b)
    for r in (t.post(a, {"name": "fourth"}), t.post(b, {"name": "fourth"}),
              t.import_(b, document("fourth", rows[:1]))):
        check_error(r, 422, "limit_panoramas", limit=3)
    assert len(t.ids(a)) == 2 and len(t.ids(b)) == 1
    assert t.delete(b, third["id"], 1).status_code == 204
    r = t.import_(b, document("fits", rows[:400]))
    assert r.status_code == 201, r.text
