"""
The canned-responses API (/api/templates...) as the integration tests
call it: a tenant installed on a stack, its Jira site of the fake (or
None), fresh accounts with what Jira says about them, and one method per
request shape.  Shared by test_templates.py and test_canned.py.
"""
import json
import secrets
from urllib.parse import urlencode

import atlassian as atl

BROWSE = "BROWSE_PROJECTS"
PADMIN = "ADMINISTER_PROJECTS"
# delete(): send the version the caller reads.
READ = object()


def _leaves(obj):
    """Every string value in a JSON value (keys are the API's words)."""
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _leaves(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _leaves(v)


def request_strings(r):
    """Every string the request of reply r carried: its JSON body's
    string values and its query values (what a reply must not echo)."""
    sent = []
    raw = r.request.body
    if raw:
        try:
            sent += list(_leaves(json.loads(raw)))
        except (ValueError, UnicodeDecodeError):
            pass
    query = r.request.path_url.partition("?")[2]
    sent += [v for kv in query.split("&") for v in kv.split("=")[1:]]
    return sent


class Tenant:
    """An installed tenant, its Jira site (or None) and its users."""

    def __init__(self, env, client_key, secret, site):
        self.env = env
        self.client_key = client_key
        self.secret = secret
        self.site = site

    def user(self, admin=False, browse=(), padmin=(), groups=()):
        """A fresh account id, with what Jira says about it."""
        a = atl.new_account_id()
        if self.site is not None:
            if admin:
                self.site.set_admin(a)
            if browse:
                self.site.grant(a, BROWSE, *browse)
            if padmin:
                self.site.grant(a, PADMIN, *padmin)
            self.site.set_groups(a, list(groups))
        return a

    def token(self, acct, project=None, **kw):
        kw.setdefault("context", atl.user_context(project))
        kw.setdefault("sub", acct)
        return atl.context_token(self.secret, self.client_key, **kw)

    def req(self, method, path, acct, project=None, params=None, body=None,
            raw=None, token=None, headers=None, timeout=None):
        """One API call as acct (in project's context when given)."""
        if params:
            path += "?" + urlencode(params)
        h = {"Authorization": "JWT " + (token or self.token(acct, project))}
        kw = {}
        if body is not None:
            raw = json.dumps(body, ensure_ascii=False).encode()
        if raw is not None:
            h["Content-Type"] = "application/json"
            kw["data"] = raw
        if timeout is not None:
            kw["timeout"] = timeout
        h.update(headers or {})
        return self.env.st.request(method, path, headers=h, **kw)

    def create(self, acct, name=None, body=None, scope="personal",
               project=None, **extra):
        """Creates a template; asserts 201 and returns it."""
        d = {"name": name or f"tpl-{secrets.token_hex(4)}",
             "body": "text" if body is None else body, "scope": scope}
        d.update(extra)
        r = self.req("POST", "/api/templates", acct, project, body=d)
        assert r.status_code == 201, (r.status_code, r.text)
        t = r.json()
        assert t["name"] == d["name"] and t["body"] == d["body"], t
        return t

    def post(self, acct, fields, project=None):
        return self.req("POST", "/api/templates", acct, project,
                        body=fields)

    def get(self, acct, tid, project=None, params=None):
        return self.req("GET", f"/api/templates/{tid}", acct, project,
                        params=params)

    def put(self, acct, t, project=None, **changes):
        """PUT of t (a template as read) with changes; version from t
        unless given."""
        d = {k: t[k] for k in ("name", "body", "scope", "position",
                               "active", "version")}
        for k in ("projects", "groups"):
            if k in t:
                d[k] = t[k]
        d.update(changes)
        d = {k: v for k, v in d.items() if v is not None}
        return self.req("PUT", f"/api/templates/{t['id']}", acct, project,
                        body=d)

    def delete(self, acct, tid, project=None, version=READ):
        """DELETE ?version=: by default the version acct reads (1 if acct
        cannot read it: the refusal must not depend on it); None sends
        no version."""
        if version is None:
            return self.req("DELETE", f"/api/templates/{tid}", acct,
                            project)
        if version is READ:
            version = 1
            r = self.get(acct, tid, project)
            if r.status_code == 200:
                version = r.json()["version"]
            else:
                for x in self.list_all(acct, project, manage="true"):
                    if x["id"] == tid:
                        version = x["version"]
        return self.req("DELETE", f"/api/templates/{tid}", acct, project,
                        params={"version": version})

    def render(self, acct, tid, values=None, project=None, raw=None):
        body = None if raw is not None else (
            {} if values is None else {"values": values})
        return self.req("POST", f"/api/templates/{tid}/render", acct,
                        project, body=body, raw=raw)

    def use(self, acct, tid, kind="posted", project=None):
        return self.req("POST", f"/api/templates/{tid}/uses", acct,
                        project, body={"kind": kind})

    def list(self, acct, project=None, **params):
        """One page; asserts 200 and the reply's shape."""
        r = self.req("GET", "/api/templates", acct, project, params=params)
        assert r.status_code == 200, (r.status_code, r.text)
        page = r.json()
        assert set(page) == {"templates", "nextCursor", "degraded"}, page
        assert isinstance(page["degraded"], bool)
        return page

    def pages(self, acct, project=None, limit=100, **params):
        """Every page of the list, walked with its cursors."""
        out, cursor = [], None
        for _ in range(200):
            p = dict(params, limit=limit)
            if cursor:
                p["cursor"] = cursor
            page = self.list(acct, project, **p)
            assert len(page["templates"]) <= limit, page
            out.append(page["templates"])
            cursor = page["nextCursor"]
            if cursor is None:
                return out
        raise AssertionError("more than 200 pages")

    def list_all(self, acct, project=None, limit=100, **params):
        """Every template over every page."""
        return [x for p in self.pages(acct, project, limit, **params)
                for x in p]

    def ids(self, acct, project=None, **params):
        return [t["id"] for t in self.list_all(acct, project, **params)]

    def names(self, acct, project=None, **params):
        return [t["name"] for t in self.list_all(acct, project, **params)]

    def export(self, acct, project=None):
        r = self.req("GET", "/api/templates/export", acct, project)
        assert r.status_code == 200, (r.status_code, r.text)
        x = r.json()
        assert x["format"] == "cellar-templates" and x["version"] == 1, x
        return x

    def export_page(self, acct, cursor=None, timeout=None):
        params = {"cursor": cursor} if cursor else None
        return self.req("GET", "/api/templates/export", acct,
                        params=params, timeout=timeout)

    def import_(self, acct, templates, project=None, timeout=60, **extra):
        # An import names up to 2,000 templates: the default of 10 s
        # failed under a loaded 2-core machine (seen twice).
        body = {"format": "cellar-templates", "version": 1,
                "templates": templates}
        body.update(extra)
        return self.req("POST", "/api/templates/import", acct, project,
                        body=body, timeout=timeout)

    def count(self, acct):
        """records.templates of GET /api/tenant for acct."""
        r = self.req("GET", "/api/tenant", acct)
        assert r.status_code == 200, (r.status_code, r.text)
        return r.json()["records"]["templates"]
