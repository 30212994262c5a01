"""
Black-box tests of canned responses, issue 9 (notes/issue9-spec.md,
items 1-5 and 21): rendering with extra braces, Unicode-aware names,
the personal template limit, validation errors naming their field,
canEdit and the manage listing, versioned DELETE, usage counts, paged
exports, concurrent imports, render output limits, and batched
permission checks.

One stack for the module (two workers, [jira] cache_seconds = 60: no
test changes what Jira says about an account once it was asked), and a
fake Atlassian in this process (jira_fake.FakeJira) serving the install
keys and one Jira site per tenant.  Tests that need another
configuration ([templates] personal_max; one worker, so that a repeat
meets the same cache) start a stack of their own with make_stack.  Every test installs its own tenant with fresh account
ids, so the tests do not depend on each other's data or order.

Error replies are checked for their exact members ({"error", "message"}
plus the extra members the contract names: field, index, limit) and for
echoing nothing of the request (error_reply).
"""
import json
import secrets
import subprocess
import threading
import time

import pytest

import atlassian as atl
from harness import (CELLARCTL, internal_errors, sanitizer_report,
                     unexpected_worker_exits, write_drop_ins)
from canned_client import Tenant, request_strings
from jira_fake import PERMISSIONS_CHECK

P1, P2, P3 = "10100", "10200", "10300"
MIB = 1024 * 1024
# Words of the API an error reply may hold whatever the request said
# (field names and scope words).
API_WORDS = {"personal", "projects", "groups", "global", "posted",
             "inserted", "scope", "name", "body", "position", "active",
             "version", "values", "kind", "templates", "field", "index",
             "limit", "error", "message", "invalid"}
STACK_CHECKS = (internal_errors, unexpected_worker_exits)


# Error replies.

def error_reply(r, status, code=None, extra=(), echo=()):
    """r is the app's JSON error: the given status and code, members
    exactly error, message and those named in `extra`, echoing none of
    the request body's strings, its query values, or `echo`.  Returns
    the body."""
    assert r.status_code == status, (r.status_code, r.text[:500])
    assert r.headers.get("Content-Type", "").startswith(
        "application/json"), r.headers
    body = r.json()
    assert set(body) == {"error", "message", *extra}, body
    assert isinstance(body["message"], str) and body["message"], body
    if code is not None:
        assert body["error"] == code, body
    sent = list(echo) + request_strings(r)
    for s in sent:
        if isinstance(s, str) and len(s) >= 5 and s not in API_WORDS:
            assert s not in r.text, f"error reply echoes {s!r}: {r.text}"
    return body


def field_error(r, field, code="invalid", status=422, index=None,
                echo=(), limit=None):
    """A validation error naming `field` (and, for an import row,
    `index`; for a count limit, the `limit`), nothing else."""
    extra = ("field",) + (() if index is None else ("index",)) + (
        () if limit is None else ("limit",))
    body = error_reply(r, status, code, extra, echo)
    assert body["field"] == field, body
    if index is not None:
        assert body["index"] == index and type(body["index"]) is int, body
    if limit is not None:
        assert body["limit"] == limit, body
    return body


# The environment: stack, fake Atlassian, tenants.

class Env:
    def __init__(self, st, fake):
        self.st = st
        self.fake = fake
        self.key, self.kid = fake.new_install_key("cellar-canned")

    def tenant(self):
        """A fresh tenant whose Jira is a new site of the fake."""
        secret = atl.new_secret()
        site = self.fake.add_site(secret)
        client_key = atl.install(self.st, self.key, self.kid, site.base_url,
                                 secret)
        return Tenant(self, client_key, secret, site)


def stack_drop_in(fake, cache_seconds=0, extra=""):
    return (f"[auth]\ninstall_keys_url = {fake.keys_url}\n"
            f"[jira]\ncache_seconds = {cache_seconds}\n" + extra)


@pytest.fixture(scope="module")
def env(module_stacks, fake):
    """The module's stack: two workers, Jira's answers cached for 60 s
    (no test here changes what Jira says about an account once asked,
    and the accounts are fresh for every test)."""
    st = module_stacks({"50-canned.conf": stack_drop_in(fake, 60)},
                       workers=2,
                       tag="stack", checks=STACK_CHECKS)
    return Env(st, fake)


@pytest.fixture
def t(env):
    return env.tenant()


def own_stack(make_stack, fake, workers=1, cache_seconds=0, extra="",
              tag="own"):
    """An Env on a stack of the test's own (stopped when it ends)."""
    st = make_stack({"50-canned.conf": stack_drop_in(fake, cache_seconds,
                                                     extra)},
                    workers=workers, tag=tag, checks=STACK_CHECKS)
    return Env(st, fake)


# 1. Render: the innermost well-formed {{...}} renders.

def test_render_fills_the_innermost_variable_and_keeps_extra_braces(t):
    a = t.user()
    cases = {
        "{{{issue.key}}}": "{OPS-42}",
        "{{{ issue.key }}}": "{OPS-42}",
        "{{{issue.key}}": "{OPS-42",
        "{ {{issue.key}} }": "{ OPS-42 }",
        "{{ {{issue.key}} }}": "{{ OPS-42 }}",
        "{{unknown}} {{issue.key}}": "{{unknown}} OPS-42",
        "{{{{issue.key}}}}": "{{OPS-42}}",
    }
    got = {}
    for body in cases:
        tpl = t.create(a, body=body)
        r = t.render(a, tpl["id"], {"issue.key": "OPS-42"})
        assert r.status_code == 200, (body, r.status_code, r.text)
        got[body] = r.json()["text"]
    assert got == cases


# 2. One Unicode-aware comparison for names.

NAMES = ["Zoe", "Éric", "Alice", "émile", "Bob"]
ORDERED = ["Alice", "Bob", "émile", "Éric", "Zoe"]


def test_list_orders_names_by_unicode_collation_and_pages_in_that_order(t):
    a = t.user()
    for n in NAMES:
        t.create(a, n)
    assert t.names(a) == ORDERED
    pages = t.pages(a, limit=2)
    assert [[x["name"] for x in p] for p in pages] == [
        ORDERED[0:2], ORDERED[2:4], ORDERED[4:5]]


def test_import_name_clash_ignores_case_but_not_accents(t):
    a = t.user()
    t.create(a, "Éric")
    t.create(a, "Alice")
    r = t.import_(a, [{"name": n, "body": "b", "scope": "personal"}
                      for n in ("éric", "Eric", "ALICE")])
    assert r.status_code == 201, r.text
    assert r.json()["renamed"] == [
        {"index": 0, "from": "éric", "to": "éric (2)"},
        {"index": 2, "from": "ALICE", "to": "ALICE (2)"}]
    assert sorted(t.names(a)) == sorted(["Éric", "Alice", "éric (2)",
                                         "Eric", "ALICE (2)"])


def test_search_folds_case_fully_but_keeps_accents(t):
    a = t.user()
    for n in ("éric", "Éric", "Straße", "Zoe"):
        t.create(a, n, body="nothing to see")
    found = {q: sorted(t.names(a, q=q))
             for q in ("ÉRIC", "strasse", "STRASSE", "straße", "eric")}
    assert found == {"ÉRIC": ["Éric", "éric"], "strasse": ["Straße"],
                     "STRASSE": ["Straße"], "straße": ["Straße"],
                     "eric": []}


# 3. Personal template limit per user; the tenant limit counts shared
# templates only.

def test_personal_max_is_read_from_the_templates_section(config_dir):
    """[templates] personal_max: 1..2000 (default 100)."""
    def check(text):
        write_drop_ins(config_dir.parent, {"50-templates.conf": text})
        p = subprocess.run([str(CELLARCTL), "--config", str(config_dir),
                            "config", "check"], capture_output=True,
                           text=True, timeout=30)
        assert not sanitizer_report(p.stderr), p.stderr
        return p

    def lines(p):
        return [ln for ln in p.stdout.splitlines()
                if ln.startswith(("[templates]", "personal"))]

    p = check("")
    assert p.returncode == 0, p.stderr
    assert "personal_max = 100\t# (default)" in lines(p), lines(p)
    for ok in (1, 2000):
        p = check(f"[templates]\npersonal_max = {ok}\n")
        assert p.returncode == 0, p.stderr
        assert any(ln.startswith(f"personal_max = {ok}\t")
                   for ln in lines(p)), lines(p)
    for bad in (0, 2001):
        p = check(f"[templates]\npersonal_max = {bad}\n")
        assert p.returncode == 1, (bad, p)
        assert "personal_max" in p.stderr, p.stderr


def test_personal_limit_stops_one_user_and_no_one_else(make_stack, fake):
    env = own_stack(make_stack, fake, workers=1, tag="pmax",
                    extra="[templates]\npersonal_max = 3\n")
    t = env.tenant()
    a, b = t.user(), t.user()
    admin = t.user(admin=True)
    mine = [t.create(a, f"mine {i}") for i in range(3)]
    body = error_reply(t.post(a, {"name": "one more", "body": "b",
                                  "scope": "personal"}), 422,
                       "limit_personal", extra=("limit",))
    assert body["limit"] == 3, body
    # An import past the limit is refused as well, and adds nothing.
    r = t.import_(a, [{"name": "imported", "body": "b",
                       "scope": "personal"}])
    assert error_reply(r, 422, "limit_personal",
                       extra=("limit",))["limit"] == 3
    assert sorted(t.names(a)) == ["mine 0", "mine 1", "mine 2"]
    # Others are not held back by a's limit: another user's personal
    # templates, an admin's personal and global ones.
    for i in range(3):
        t.create(b, f"b {i}")
        t.create(admin, f"admin's own {i}")
    t.create(admin, "global one", scope="global")
    # An admin at their own personal limit still makes shared ones.
    error_reply(t.post(admin, {"name": "admin's 4th", "body": "b",
                               "scope": "personal"}), 422,
                "limit_personal", extra=("limit",))
    t.create(admin, "global two", scope="global")
    # Room again after a delete.
    assert t.delete(a, mine[0]["id"], version=1).status_code == 204
    t.create(a, "mine again")


def test_tenant_limit_of_2000_counts_shared_templates_only(t):
    a = t.user()
    admin = t.user(admin=True)
    for i in range(5):
        t.create(a, f"personal {i}")
    for start in (0, 1000):
        r = t.import_(admin, [{"name": f"shared {start + i}", "body": "b",
                               "scope": "global"} for i in range(1000)])
        assert r.status_code == 201, r.text[:300]
    # 2000 shared ones: the next shared one is refused, naming the limit.
    body = error_reply(t.post(admin, {"name": "shared 2000", "body": "b",
                                      "scope": "global"}), 422,
                       "limit_templates", extra=("limit",))
    assert body["limit"] == 2000, body
    r = t.import_(admin, [{"name": "shared x", "body": "b",
                           "scope": "global"}])
    assert error_reply(r, 422, "limit_templates",
                       extra=("limit",))["limit"] == 2000
    # Personal ones still fit.
    t.create(a, "personal 5")
    t.create(admin, "admin's personal")


# 4. Validation errors name the field (and the import row), never the
# value.

def test_create_errors_name_the_field(t):
    a = t.user()
    r = t.post(a, {"name": "n", "body": "b", "scope": "nope"})
    assert r.status_code == 422, r.text
    assert r.json() == {"error": "invalid",
                        "message": "the request has an invalid field",
                        "field": "scope"}
    mark = "MARK" + secrets.token_hex(4)
    cases = [
        ({"name": "n" * 121}, "name", "limit_name"),
        ({"name": 5}, "name", "invalid"),
        ({"name": f"bad\n{mark}"}, "name", "invalid"),
        ({"name": "   \t "}, "name", "invalid"),
        ({"body": mark * 1000}, "body", "limit_body"),
        ({"body": ""}, "body", "limit_body"),
        ({"scope": mark}, "scope", "invalid"),
        ({"scope": "projects", "projects": [f"PROJ{mark}"]}, "projects",
         "invalid"),
        ({"scope": "projects", "projects": []}, "projects",
         "limit_projects"),
        ({"scope": "groups", "groups": [f"a b {mark}"]}, "groups",
         "invalid"),
        ({"scope": "personal", "groups": ["g"]}, "groups", "invalid"),
        ({"position": 1.5}, "position", "invalid"),
        ({"active": mark}, "active", "invalid"),
    ]
    for fields, field, code in cases:
        d = {"name": "n", "body": "b", "scope": "personal", **fields}
        field_error(t.post(a, d), field, code, echo=(mark,))
    assert t.names(a, active="all") == []


def test_put_errors_name_the_field(t):
    a = t.user()
    tpl = t.create(a, "Mine")
    mark = "MARK" + secrets.token_hex(4)
    cases = [
        ({"version": None}, "version", "invalid"),
        ({"version": "1"}, "version", "invalid"),
        ({"name": "n" * 121}, "name", "limit_name"),
        ({"body": "b" * 10001}, "body", "limit_body"),
        ({"scope": mark}, "scope", "invalid"),
        ({"position": mark}, "position", "invalid"),
        ({"active": mark}, "active", "invalid"),
    ]
    for changes, field, code in cases:
        field_error(t.put(a, tpl, **changes), field, code, echo=(mark,))
    assert t.get(a, tpl["id"]).json()["version"] == 1


def test_import_errors_name_the_field_and_the_row(t):
    a = t.user()
    mark = "MARK" + secrets.token_hex(4)
    good = {"name": "ok", "body": "b", "scope": "personal"}
    r = t.import_(a, [good, dict(good, name="ok 2", scope=mark), good])
    field_error(r, "scope", index=1, echo=(mark,))
    r = t.import_(a, [dict(good, name="n" * 121)])
    field_error(r, "name", "limit_name", index=0)
    r = t.import_(a, [good, good, good,
                      dict(good, body=mark * 1000)])
    field_error(r, "body", "limit_body", index=3, echo=(mark,))
    r = t.import_(a, [good, dict(good, scope="projects",
                                 projects=[str(20000 + i)
                                           for i in range(51)])])
    field_error(r, "projects", "limit_projects", index=1)
    r = t.req("POST", "/api/templates/import", a,
              body={"format": "cellar-templates", "version": 1,
                    "templates": mark})
    field_error(r, "templates", echo=(mark,))
    # An envelope of another format or version is not guessed at.
    for env_, field in (({"format": "other", "version": 1}, "format"),
                        ({"format": "cellar-templates", "version": 7},
                         "version"),
                        ({"version": "1"}, "version")):
        r = t.req("POST", "/api/templates/import", a,
                  body=dict(env_, templates=[good]))
        field_error(r, field)
    # Too many rows for one import (413): the templates member.
    r = t.import_(a, [dict(good, name=f"n{i}") for i in range(2001)])
    field_error(r, "templates", "limit_import", status=413, limit=2000)
    assert t.names(a) == []


def test_render_and_uses_errors_name_the_field(t):
    a = t.user()
    tpl = t.create(a, body="{{issue.key}}")
    mark = "MARK" + secrets.token_hex(4)
    field_error(t.render(a, tpl["id"], raw=json.dumps(
        {"values": mark}).encode()), "values", echo=(mark,))
    field_error(t.render(a, tpl["id"], {"issue.key": 5}), "values")
    field_error(t.render(a, tpl["id"], {"issue.key": [mark]}), "values",
                echo=(mark,))
    field_error(t.use(a, tpl["id"], kind=mark), "kind", echo=(mark,))
    field_error(t.use(a, tpl["id"], kind=None), "kind")
    field_error(t.delete(a, tpl["id"], version=None), "version")


def test_query_errors_name_the_parameter(t):
    a = t.user()
    t.create(a, "Mine")
    for params, field in (({"limit": 0}, "limit"), ({"limit": 101}, "limit"),
                          ({"limit": "ten"}, "limit"),
                          ({"cursor": "not-a-cursor"}, "cursor"),
                          ({"active": "maybe"}, "active"),
                          ({"manage": "yes"}, "manage"),
                          ({"projectId": "PROJ-1"}, "projectId")):
        r = t.req("GET", "/api/templates", a, params=params)
        field_error(r, field, "bad_request", status=400)
    r = t.export_page(a, cursor="not-a-cursor")
    field_error(r, "cursor", "bad_request", status=400)


# 5. canEdit, the manage listing, versioned DELETE, usage.

def can_edit(templates):
    """{name: canEdit} of template objects (None where it is missing)."""
    out = {}
    for x in templates:
        v = x.get("canEdit")
        assert v is None or isinstance(v, bool), x
        out[x["name"]] = v
    return out


def test_every_template_object_says_whether_the_caller_may_edit_it(t):
    jadmin = t.user(admin=True)
    padmin = t.user(padmin=[P1], browse=[P1])
    worker = t.user(browse=[P1], groups=["g-1"])
    owner = t.user()
    made = [t.create(jadmin, "Global", scope="global"),
            t.create(jadmin, "Groups", scope="groups", groups=["g-1"]),
            t.create(jadmin, "P1", scope="projects", projects=[P1]),
            t.create(jadmin, "P1 and P2", scope="projects",
                     projects=[P1, P2])]
    mine = t.create(owner, "Mine")
    # Create replies: the creator may edit what they made.
    assert can_edit(made + [mine]) == {"Global": True, "Groups": True,
                                       "P1": True, "P1 and P2": True,
                                       "Mine": True}
    byname = {x["name"]: x for x in made}
    # Lists, in project P1's context (the owner's outside any project).
    seen = {who: can_edit(t.list_all(acct, project)) for who, acct, project
            in (("jadmin", jadmin, P1), ("padmin", padmin, P1),
                ("worker", worker, P1), ("owner", owner, None))}
    assert seen == {
        "jadmin": {"Global": True, "P1": True, "P1 and P2": True},
        "padmin": {"Global": False, "P1": True, "P1 and P2": False},
        "worker": {"Global": False, "Groups": False, "P1": False,
                   "P1 and P2": False},
        "owner": {"Global": False, "Mine": True},
    }
    # Single reads say the same.
    for who, acct in (("jadmin", jadmin), ("padmin", padmin),
                      ("worker", worker)):
        got = {}
        for name in seen[who]:
            r = t.get(acct, byname[name]["id"], P1)
            assert r.status_code == 200, (who, name, r.text)
            got.update(can_edit([r.json()]))
        assert got == seen[who], who
    r = t.get(owner, mine["id"])
    assert can_edit([r.json()]) == {"Mine": True}
    # PUT replies.
    r = t.put(padmin, byname["P1"], P1, body="edited by a project admin")
    assert r.status_code == 200, r.text
    assert can_edit([r.json()]) == {"P1": True}
    r = t.put(owner, mine, body="edited by its owner")
    assert r.status_code == 200, r.text
    assert can_edit([r.json()]) == {"Mine": True}


def test_manage_list_shows_what_the_caller_may_manage(t):
    jadmin = t.user(admin=True)                 # in no group
    padmin = t.user(padmin=[P1, P2], browse=[P1, P2])
    other = t.user()
    t.create(other, "Other's own")
    t.create(padmin, "Padmin's own")
    t.create(jadmin, "Admin's own")
    t.create(jadmin, "Global on", scope="global")
    t.create(jadmin, "Global off", scope="global", active=False)
    t.create(jadmin, "Groups of others", scope="groups", groups=["g-9"])
    t.create(jadmin, "Only P1", scope="projects", projects=[P1])
    t.create(jadmin, "P1 and P3", scope="projects", projects=[P1, P3])
    t.create(jadmin, "Only P3", scope="projects", projects=[P3])
    t.create(padmin, "P2 off", scope="projects", projects=[P2],
             active=False)
    want = {
        jadmin: {"Admin's own", "Global on", "Global off",
                 "Groups of others", "Only P1", "P1 and P3", "Only P3",
                 "P2 off"},
        padmin: {"Padmin's own", "Only P1", "P2 off"},
        other: {"Other's own"},
    }
    for acct, names in want.items():
        for limit in (100, 2, 1):
            got = t.list_all(acct, limit=limit, manage="true")
            assert len(got) == len({x["id"] for x in got}), got
            assert {x["name"] for x in got} == names, (acct, limit)
            assert all(x.get("canEdit") is True for x in got), got
    # active= narrows it; q searches it.
    assert set(t.names(jadmin, manage="true", active="false")) == {
        "Global off", "P2 off"}
    assert set(t.names(padmin, manage="true", active="true")) == {
        "Padmin's own", "Only P1"}
    assert set(t.names(jadmin, manage="true", q="ONLY")) == {
        "Only P1", "Only P3"}
    assert set(t.names(padmin, manage="true", q="only")) == {"Only P1"}


def test_delete_needs_the_version_it_read(t):
    a = t.user()
    jadmin = t.user(admin=True)
    for acct, tpl in ((a, t.create(a, "Mine")),
                      (jadmin, t.create(jadmin, "Shared", scope="global"))):
        field_error(t.delete(acct, tpl["id"], version=None), "version")
        r = t.put(acct, tpl, body="second version")
        assert r.status_code == 200, r.text
        v2 = r.json()
        assert v2["version"] == 2
        error_reply(t.delete(acct, tpl["id"], version=1), 409, "conflict")
        assert t.get(acct, tpl["id"]).status_code == 200
        assert t.delete(acct, tpl["id"], version=2).status_code == 204
        error_reply(t.get(acct, tpl["id"]), 404, "not_found")


def test_usage_counts_uses_and_posted_comments(t):
    a = t.user()

    def made(renders, posts):
        tpl = t.create(a, f"r{renders} p{posts}", body="{{issue.key}}")
        assert tpl["usage"] == {"last30Days": 0, "postedLast30Days": 0}
        for _ in range(renders):
            assert t.render(a, tpl["id"], {"issue.key": "K-1"}) \
                .status_code == 200
        for _ in range(posts):
            assert t.use(a, tpl["id"]).status_code == 204
        return tpl

    cases = {(1, 1): (1, 1), (2, 1): (2, 1), (1, 3): (3, 3),
             (0, 2): (2, 2), (3, 0): (3, 0), (0, 0): (0, 0)}
    ids = {made(*k)["id"]: v for k, v in cases.items()}
    want = {tid: {"last30Days": u, "postedLast30Days": p}
            for tid, (u, p) in ids.items()}
    assert {tid: t.get(a, tid).json()["usage"] for tid in ids} == want
    assert {x["id"]: x["usage"] for x in t.list_all(a)} == want


# 5. Export pages and import.

def test_small_export_is_one_page_with_a_null_next_cursor(t):
    a = t.user()
    t.create(a, "Only one")
    r = t.export_page(a)
    assert r.status_code == 200, r.text
    x = r.json()
    assert set(x) == {"format", "version", "templates", "nextCursor"}, x
    assert (x["format"], x["version"], x["nextCursor"]) == (
        "cellar-templates", 1, None)
    assert [e["name"] for e in x["templates"]] == ["Only one"]


def test_export_pages_of_at_most_15_mib_each_import_again(env):
    """420 global templates of 10,000 four-byte characters (about
    40 KB each, 16.8 MB in all): the export comes in pages of at most
    15 MiB, and each page, as it is, imports into a fresh tenant."""
    t = env.tenant()
    admin = t.user(admin=True)
    n = 420
    made = [{"name": f"big {i:03d}",
             "body": f"{i:03d}" + "😀" * 9997, "scope": "global"}
            for i in range(n)]
    for k in range(0, n, 210):
        r = t.import_(admin, made[k:k + 210], timeout=60)
        assert r.status_code == 201, r.text[:300]
    pages, cursor = [], None
    for _ in range(10):
        r = t.export_page(admin, cursor, timeout=60)
        assert r.status_code == 200, r.text[:300]
        assert len(r.content) <= 15 * MIB, \
            f"an export page of {len(r.content)} bytes"
        x = r.json()
        assert set(x) == {"format", "version", "templates",
                          "nextCursor"}, set(x)
        assert (x["format"], x["version"]) == ("cellar-templates", 1)
        pages.append(r.content)
        cursor = x["nextCursor"]
        if cursor is None:
            break
    assert 2 <= len(pages) < 10
    exported = [e for p in pages for e in json.loads(p)["templates"]]
    assert len({e["id"] for e in exported}) == len(exported) == n
    assert sorted((e["name"], e["body"]) for e in exported) == sorted(
        (m["name"], m["body"]) for m in made)
    # Each page imports again, as it is, into a fresh tenant.
    u = env.tenant()
    admin_u = u.user(admin=True)
    for p in pages:
        r = u.req("POST", "/api/templates/import", admin_u, raw=p,
                  timeout=60)
        assert r.status_code == 201, r.text[:300]
        assert r.json()["renamed"] == []
        assert r.json()["created"] == len(json.loads(p)["templates"])
    assert sorted(u.names(admin_u)) == sorted(m["name"] for m in made)


def test_concurrent_imports_of_the_same_names_leave_names_unique(t):
    """Two imports of the same 45 names by one user at once: the second
    to land renames every one of them; no name is there twice.  A few
    rounds, each with a fresh user, so that the imports do overlap."""
    names = [f"Reply {i:02d}" for i in range(45)]
    rows = [{"name": n, "body": f"b {n}", "scope": "personal"}
            for n in names]
    for _ in range(4):
        a = t.user()
        barrier = threading.Barrier(2)
        replies = [None, None]

        def run(i):
            barrier.wait()
            replies[i] = t.import_(a, rows)

        threads = [threading.Thread(target=run, args=(i,))
                   for i in range(2)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(30)
        assert [r.status_code for r in replies] == [201, 201], [
            r.text[:200] for r in replies]
        got = t.names(a)
        dups = sorted({n for n in got if got.count(n) > 1})
        assert dups == [], f"names twice: {dups}"
        assert sorted(got) == sorted(names + [f"{n} (2)" for n in names])
        assert sorted(len(r.json()["renamed"]) for r in replies) == [0, 45]


def test_render_output_over_256_kib_is_422_limit_values(t):
    a = t.user()
    big = t.create(a, body="{{issue.key}}" * 769)
    # 769 * 341 bytes = 262,229 > 256 KiB; the request is small.
    r = t.render(a, big["id"], {"issue.key": "v" * 341})
    assert r.status_code == 422, (r.status_code, r.text[:300])
    # It may name the values as its field and the limit; nothing else.
    extra = set(r.json()) - {"error", "message"}
    assert extra <= {"field", "limit"}, r.json()
    body = error_reply(r, 422, "limit_values", extra=extra)
    assert body.get("field", "values") == "values", body
    assert body.get("limit", 256 * 1024) == 256 * 1024, body
    # Just within the limit: 769 * 340 = 261,460 bytes.
    r = t.render(a, big["id"], {"issue.key": "v" * 340})
    assert r.status_code == 200, r.text[:300]
    assert len(r.json()["text"]) == 769 * 340


def test_a_template_made_personal_while_a_manager_lists_is_not_shown(
        make_stack, fake):
    """Admin B's manager list and export wait on Jira (slow for B) after
    reading which templates there are; meanwhile admin A makes her global
    template her personal one with a private body.  What B gets is
    judged as read: never A's personal template."""
    env = own_stack(make_stack, fake, workers=3, tag="mrace")
    t = env.tenant()
    a, b = t.user(admin=True), t.user(admin=True)
    g = t.create(a, "A's", body="public", scope="global")
    t.site.set_slow(b, 2.0)
    got = {}

    def manage():
        got["list"] = t.req("GET", "/api/templates", b,
                            params={"manage": "true"}, timeout=30)

    def export():
        got["export"] = t.export_page(b, timeout=30)

    threads = [threading.Thread(target=manage),
               threading.Thread(target=export)]
    for th in threads:
        th.start()
    time.sleep(0.8)
    r = t.put(a, g, scope="personal", body="SECRET of A")
    assert r.status_code == 200, r.text
    for th in threads:
        th.join(30)
    for what in ("list", "export"):
        r = got[what]
        assert r.status_code == 200, (what, r.status_code, r.text[:200])
        assert "SECRET" not in r.text, (what, r.text[:300])
        assert all(x["id"] != g["id"] for x in r.json()["templates"]), what


# 21. Permission checks are batched (and cached).

def test_non_admin_export_over_400_project_templates_asks_jira_little(
        make_stack, fake):
    """400 templates, each scoped to its own project, made by a Jira
    admin; a project admin of every other one exports.  One worker, so
    that the repeat meets the same cache."""
    env = own_stack(make_stack, fake, workers=1, cache_seconds=60,
                    tag="batch")
    t = env.tenant()
    admin = t.user(admin=True)
    projects = [str(30000 + i) for i in range(400)]
    padmin = t.user(padmin=projects[::2])
    r = t.import_(admin, [{"name": f"project {p}", "body": "b",
                           "scope": "projects", "projects": [p]}
                          for p in projects], timeout=60)
    assert r.status_code == 201, r.text[:300]
    want = sorted(f"project {p}" for p in projects[::2])

    def export():
        """(permission calls made, names exported) of one export."""
        before = t.site.count("POST", PERMISSIONS_CHECK)
        r = t.export_page(padmin, timeout=60)
        calls = t.site.count("POST", PERMISSIONS_CHECK) - before
        assert r.status_code == 200, r.text[:300]
        x = r.json()
        return calls, sorted(e["name"] for e in x["templates"]), x

    calls, names, x = export()
    assert calls <= 5, f"{calls} permission calls for one export"
    assert names == want
    assert x["nextCursor"] is None
    calls, names, x = export()
    assert calls == 0, f"{calls} permission calls for the repeat"
    assert names == want
