"""
The panoramas API (/api/panoramas..., /api/issues/{id}/panoramas and the
/webhooks/issue-deleted webhook) as the integration tests call it: a
tenant installed on a stack with its Jira site of the fake, fresh
accounts with what Jira says about them (admin, groups, the issues they
may browse, the app's global permission), one method per request shape,
the actions of a batch, and the checks every reply must pass (the
panorama's wire shape, the error shape that never echoes input).
"""
import json
import re
import secrets
import time
from urllib.parse import urlencode

import atlassian as atl
from canned_client import Tenant as _Tenant, request_strings

# The app's global permission module (descriptor jiraGlobalPermissions).
APP_PERMISSION = "use-panoramas"
WEBHOOK = "/webhooks/issue-deleted"
EXPORT_FORMAT = "cellar.panorama"
ISO_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
DIGITS = re.compile(r"^[1-9][0-9]*$")
PANO_KEYS = {"id", "name", "description", "owner", "version", "nodes",
             "createdAt", "updatedAt", "canEdit", "canManage"}
BATCH_KEYS = {"id", "version", "actor", "kind", "at", "undone", "actions"}
# What an error reply may carry beside error and message.
ERROR_DETAILS = {"field", "index", "limit", "reason", "version"}
# Words of the API an error message may hold that a request may hold too.
API_WORDS = {"actions", "addFolder", "move", "remove", "rename", "issueIds",
             "title", "parent", "after", "node", "issue", "folder",
             "account", "group", "everyone", "view", "edit", "entries",
             "grantee", "level", "version", "name", "description",
             "rows", "depth", "kind", "issueId", "restricted", "format",
             "formatVersion", EXPORT_FORMAT}


# Actions of a batch.

def add(ids, parent=None, after=None):
    return {"op": "add", "parent": parent, "after": after,
            "issueIds": [str(i) for i in ids]}


def folder(title, parent=None, after=None):
    return {"op": "addFolder", "parent": parent, "after": after,
            "title": title}


def move(node, parent=None, after=None):
    return {"op": "move", "node": node, "parent": parent, "after": after}


def remove(node):
    return {"op": "remove", "node": node}


def rename(node, title):
    return {"op": "rename", "node": node, "title": title}


# Trees.

def shape(rows):
    """A tree as (depth, "issue", issueId) / (depth, "folder", title) /
    (depth, "restricted") tuples, in order."""
    out = []
    for r in rows:
        if r.get("restricted"):
            out.append((r["depth"], "restricted"))
        elif r["kind"] == "issue":
            out.append((r["depth"], "issue", r["issueId"]))
        else:
            out.append((r["depth"], "folder", r["title"]))
    return out


def check_rows(rows, export=False):
    """rows are a tree in pre-order as the wire gives it: each row of
    the contract's shape, depths starting at 0 and growing by at most
    one, node ids (tree rows) unique digit strings."""
    seen = set()
    prev = -1
    for i, r in enumerate(rows):
        assert isinstance(r["depth"], int) and 0 <= r["depth"] <= prev + 1, (
            i, r, prev)
        prev = r["depth"]
        base = {"depth", "kind"} | (set() if export else {"node"})
        if r.get("restricted") is True:
            assert set(r) == base | {"restricted"} and r["kind"] == "issue", r
        elif r["kind"] == "issue":
            assert set(r) == base | {"issueId"}, r
            assert isinstance(r["issueId"], str) and DIGITS.match(
                r["issueId"]), r
        else:
            assert r["kind"] == "folder" and set(r) == base | {"title"}, r
            assert isinstance(r["title"], str) and r["title"], r
        if not export:
            assert isinstance(r["node"], str) and DIGITS.match(r["node"]), r
            assert r["node"] not in seen, ("node twice", r)
            seen.add(r["node"])
    return rows


def check_panorama(p, owner=None, can_edit=None, can_manage=None):
    """p has the panorama's wire shape (and the given owner/levels)."""
    assert set(p) == PANO_KEYS, p
    assert isinstance(p["id"], str) and DIGITS.match(p["id"]), p
    assert isinstance(p["name"], str) and p["name"], p
    assert isinstance(p["description"], str), p
    assert isinstance(p["version"], int) and p["version"] >= 1, p
    assert isinstance(p["nodes"], int) and p["nodes"] >= 0, p
    assert ISO_TIME.match(p["createdAt"]) and ISO_TIME.match(
        p["updatedAt"]), p
    assert p["updatedAt"] >= p["createdAt"], p
    assert isinstance(p["canEdit"], bool) and isinstance(
        p["canManage"], bool), p
    assert p["canEdit"] or not p["canManage"], p
    if owner is not None:
        assert p["owner"] == owner, p
    if can_edit is not None:
        assert p["canEdit"] is can_edit, p
    if can_manage is not None:
        assert p["canManage"] is can_manage, p
    return p


def stored(p):
    """What a panorama holds whoever reads it (not the caller's levels)."""
    return {k: v for k, v in p.items() if k not in ("canEdit", "canManage")}


def check_error(r, status, code=None, echo=(), **details):
    """r is the app's JSON error {"error", "message"} with at most the
    contract's details (field, index, limit, reason, version), the
    given status, code and details, echoing nothing of the request (its
    body's strings, its query values, `echo`) beyond the API's own
    words.  Returns the body."""
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
    for k, want in details.items():
        assert k in ERROR_DETAILS, k
        if want is not None:
            assert body.get(k) == want, (k, want, body)
    if "field" in body:
        assert re.fullmatch(r"[a-z][A-Za-z]*", body["field"]), body
    if "reason" in body:
        assert re.fullmatch(r"[a-z][a-z_]*", body["reason"]), body
    for k in ("index", "limit", "version"):
        if k in body:
            assert isinstance(body[k], int) and body[k] >= 0, body
    if status == 409:
        assert isinstance(body.get("version"), int), body
    for s in list(echo) + request_strings(r):
        # Short strings and ids (digits) are too common to tell.
        if (isinstance(s, str) and len(s) >= 5 and s not in API_WORDS and
                not s.isdigit() and s not in body.values()):
            assert s not in r.text, f"error reply echoes {s!r}: {r.text}"
        if isinstance(s, str) and s.isdigit() and len(s) >= 10:
            assert s not in r.text, f"error reply echoes {s!r}: {r.text}"
    return body


_issue_base = [0]


def new_issue_ids(n):
    """n fresh Jira issue ids (strings) of 12 digits, consecutive: long
    enough that none equals a node id, a version or a count, so that a
    test can look for one anywhere in a reply."""
    if not _issue_base[0]:
        _issue_base[0] = secrets.randbelow(8 * 10 ** 11) + 10 ** 11
    first = _issue_base[0]
    _issue_base[0] += n + 7
    return [str(first + i) for i in range(n)]


def issue_deleted_payload(issue_id, summary, as_int=False):
    """Jira's jira:issue_deleted webhook body (the app reads issue.id)."""
    iid = int(issue_id) if as_int else str(issue_id)
    return {
        "timestamp": int(time.time() * 1000),
        "webhookEvent": "jira:issue_deleted",
        "issue_event_type_name": "issue_deleted",
        "user": {"accountId": atl.new_account_id(),
                 "displayName": summary + " (user)"},
        "issue": {"id": iid, "self": f"https://x.invalid/rest/api/2/issue/"
                                      f"{issue_id}",
                  "key": "PROJ-12",
                  "fields": {"summary": summary,
                             "description": summary + " described",
                             "labels": [summary + "-label"]}},
    }


class Tenant(_Tenant):
    """An installed tenant (see canned_client.Tenant) and the panorama
    routes."""

    def user(self, admin=False, groups=(), issues=(), gate=True):
        """A fresh account id: Jira admin or not, in groups, browsing
        issues, holding the app's global permission (gate) or not."""
        a = atl.new_account_id()
        if admin:
            self.site.set_admin(a)
        self.site.set_groups(a, list(groups))
        if issues:
            self.site.grant_issues(a, *issues)
        if not gate:
            self.site.set_app_permission(a, APP_PERMISSION, False)
        return a

    # Panoramas.

    def post(self, acct, body=None, raw=None):
        return self.req("POST", "/api/panoramas", acct, body=body, raw=raw)

    def create(self, acct, name=None, description=None):
        """Creates a panorama; asserts 201 and the reply's shape."""
        body = {"name": name or f"pano-{secrets.token_hex(4)}"}
        if description is not None:
            body["description"] = description
        r = self.post(acct, body)
        assert r.status_code == 201, (r.status_code, r.text)
        p = check_panorama(r.json(), owner=acct, can_edit=True,
                           can_manage=True)
        assert p["name"] == body["name"], p
        assert p["description"] == (description or ""), p
        assert p["version"] == 1 and p["nodes"] == 0, p
        return p

    def get(self, acct, pid):
        return self.req("GET", f"/api/panoramas/{pid}", acct)

    def read(self, acct, pid):
        """GET, asserting 200 and the shape."""
        r = self.get(acct, pid)
        assert r.status_code == 200, (r.status_code, r.text)
        return check_panorama(r.json())

    def list(self, acct, **params):
        """One page of GET /api/panoramas; asserts 200 and its shape."""
        r = self.req("GET", "/api/panoramas", acct, params=params)
        assert r.status_code == 200, (r.status_code, r.text)
        page = r.json()
        assert set(page) == {"panoramas", "next"}, page
        assert page["next"] is None or (isinstance(page["next"], str) and
                                        page["next"]), page
        for p in page["panoramas"]:
            check_panorama(p)
        return page

    def list_all(self, acct, limit=100, **params):
        """Every panorama over every page, walked with the cursors."""
        out, cursor = [], None
        for _ in range(1000):
            p = dict(params, limit=limit)
            if cursor:
                p["cursor"] = cursor
            page = self.list(acct, **p)
            assert len(page["panoramas"]) <= limit, page
            out += page["panoramas"]
            cursor = page["next"]
            if cursor is None:
                return out
        raise AssertionError("more than 1000 pages")

    def ids(self, acct, **params):
        return [p["id"] for p in self.list_all(acct, **params)]

    def patch(self, acct, pid, body=None, raw=None):
        return self.req("PATCH", f"/api/panoramas/{pid}", acct, body=body,
                        raw=raw)

    def delete(self, acct, pid, version=None, query=None):
        """DELETE ?version=version (query: the raw query instead)."""
        path = f"/api/panoramas/{pid}"
        if query is not None:
            return self.req("DELETE", f"{path}?{query}", acct)
        if version is None:
            return self.req("DELETE", path, acct)
        return self.req("DELETE", path, acct, params={"version": version})

    # Trees.

    def tree(self, acct, pid, **params):
        """One page of GET .../tree (params from=, limit=)."""
        return self.req("GET", f"/api/panoramas/{pid}/tree", acct,
                        params=params)

    def rows(self, acct, pid, limit=30000):
        """(version, rows) of the whole tree, walked page by page; asserts
        the shape of every page and that all pages are of one version."""
        out, cursor, version = [], None, None
        for _ in range(100000):
            params = {"limit": limit}
            if cursor:
                params["from"] = cursor
            r = self.tree(acct, pid, **params)
            assert r.status_code == 200, (r.status_code, r.text[:500])
            page = r.json()
            assert set(page) == {"version", "rows", "next"}, list(page)
            assert isinstance(page["version"], int), page["version"]
            assert version in (None, page["version"]), (version, page)
            version = page["version"]
            assert len(page["rows"]) <= limit
            out += page["rows"]
            cursor = page["next"]
            if cursor is None:
                check_rows(out)
                return version, out
            assert isinstance(cursor, str) and cursor, cursor
        raise AssertionError("endless tree")

    def act(self, acct, pid, version, actions, raw=None):
        """POST .../actions."""
        body = None if raw is not None else {"version": version,
                                             "actions": actions}
        return self.req("POST", f"/api/panoramas/{pid}/actions", acct,
                        body=body, raw=raw)

    def apply(self, acct, pid, version, actions):
        """POST .../actions; asserts 200 and returns the reply with
        version + 1 and one added id per added node."""
        r = self.act(acct, pid, version, actions)
        assert r.status_code == 200, (r.status_code, r.text[:500])
        rep = r.json()
        assert set(rep) == {"version", "added"}, rep
        assert rep["version"] == version + 1, (version, rep)
        want = sum(len(a["issueIds"]) if a["op"] == "add" else
                   1 if a["op"] == "addFolder" else 0 for a in actions)
        assert len(rep["added"]) == want, (want, rep)
        assert all(isinstance(n, str) and DIGITS.match(n)
                   for n in rep["added"]), rep
        assert len(set(rep["added"])) == want, rep
        return rep

    def history(self, acct, pid, **params):
        return self.req("GET", f"/api/panoramas/{pid}/history", acct,
                        params=params)

    def batches(self, acct, pid, limit=100):
        """Every batch of the history, newest first, over every page."""
        out, cursor = [], None
        for _ in range(1000):
            params = {"limit": limit}
            if cursor:
                params["cursor"] = cursor
            r = self.history(acct, pid, **params)
            assert r.status_code == 200, (r.status_code, r.text[:500])
            page = r.json()
            assert set(page) == {"batches", "next"}, page
            for b in page["batches"]:
                assert BATCH_KEYS <= set(b) <= BATCH_KEYS | {"undoOf"}, b
                assert isinstance(b["id"], str) and DIGITS.match(b["id"]), b
                assert b["kind"] in ("batch", "undo", "system"), b
                assert ISO_TIME.match(b["at"]) and isinstance(
                    b["actions"], list) and isinstance(b["undone"], bool), b
                assert (b["actor"] is None) == (b["kind"] == "system"), b
                assert ("undoOf" in b) == (b["kind"] == "undo"), b
            out += page["batches"]
            cursor = page["next"]
            if cursor is None:
                return out
        raise AssertionError("more than 1000 pages")

    def undo(self, acct, pid, raw=None):
        """POST .../undo with the body raw (None: no body at all)."""
        if raw is None:
            h = {"Authorization": "JWT " + self.token(acct)}
            return self.env.st.request(
                "POST", f"/api/panoramas/{pid}/undo", headers=h)
        return self.req("POST", f"/api/panoramas/{pid}/undo", acct, raw=raw)

    # Access, export, import, issues.

    def access(self, acct, pid):
        return self.req("GET", f"/api/panoramas/{pid}/access", acct)

    def set_access(self, acct, pid, entries=None, raw=None):
        body = None if raw is not None else {"entries": entries}
        return self.req("PUT", f"/api/panoramas/{pid}/access", acct,
                        body=body, raw=raw)

    def share(self, acct, pid, entries):
        """PUT access; asserts 200 and that the reply holds the entries."""
        r = self.set_access(acct, pid, entries)
        assert r.status_code == 200, (r.status_code, r.text)
        assert entry_set(r.json()["entries"]) == entry_set(entries), r.json()
        return r.json()

    def export(self, acct, pid):
        r = self.req("GET", f"/api/panoramas/{pid}/export", acct)
        assert r.status_code == 200, (r.status_code, r.text[:500])
        x = r.json()
        assert set(x) == {"format", "formatVersion", "name", "description",
                          "rows"}, list(x)
        assert x["format"] == EXPORT_FORMAT and x["formatVersion"] == 1, x
        check_rows(x["rows"], export=True)
        return x

    def import_(self, acct, doc=None, raw=None, timeout=None):
        return self.req("POST", "/api/panoramas/import", acct, body=doc,
                        raw=raw, timeout=timeout)

    def issue_panoramas(self, acct, issue):
        return self.req("GET", f"/api/issues/{issue}/panoramas", acct)

    # The webhook, signed as Jira signs it (a page token: HS256 with the
    # shared secret, iss the clientKey, qsh of this very request).

    def webhook(self, body=None, raw=None, token=None, signed=True,
                query=""):
        path = WEBHOOK + (f"?{query}" if query else "")
        h = {"Content-Type": "application/json"}
        if signed:
            tok = token or atl.page_token(self.secret, self.client_key,
                                          "POST", WEBHOOK, query)
            h["Authorization"] = f"JWT {tok}"
        data = raw if raw is not None else json.dumps(body).encode()
        return self.env.st.request("POST", path, headers=h, data=data)


def entry_set(entries):
    """Access entries as a comparable set."""
    return {(e["grantee"], e.get("id"), e["level"]) for e in entries}


def document(name, rows, description="", **extra):
    """An import document in the export's shape."""
    d = {"format": EXPORT_FORMAT, "formatVersion": 1, "name": name,
         "description": description, "rows": rows}
    d.update(extra)
    return d


def query(**params):
    return urlencode(params)
