"""
The Jira that frames cellar's pages in the browser tests: a host page,
Atlassian's all.js (a fake: tests/ui/fake-all.js) and Jira's REST API as
the signed-in user sees it, all served by a fake Atlassian
(tests/integration/jira_fake.py) on 127.0.0.1.

Each tenant is one site of the fake (its base URL is the tenant's
baseUrl, so the site's origin is the only one the page's CSP lets frame
it).  A site serves, without a JWT (jira_fake part 7):

  GET  <site>/__host/page/<sid>   the host page of one open_page() call:
                                  a thin Jira header and an iframe of
                                  <stack>/ui/<page>?<descriptor params>
                                  &xdm_e=...&jwt=<page token minted now>
  POST <site>/__host/token        a fresh context token for the session
                                  (X-Test-Session: <sid>), counted
  *    <site>/rest/...            with X-Test-Session: Jira's REST API as
                                  the session's account (the host page's
                                  fetch for AP.request), answered from the
                                  tenant's fixtures (issues, projects,
                                  groups, users) and recorded

Requests without X-Test-Session go on to the fake's usual JWT-checked
handlers: the worker's callbacks (permission checks, groups, bulkfetch)
reach the same site.  all.js and the host page's script and style are
served by one more site of the fake, /cdn, which [ui] all_js_url names.

Everything here runs in the pytest process; handlers run in the fake's
threads, so the fixtures' data is guarded by a lock.
"""
import json
import re
import secrets
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

import atlassian as atl
import canned_client
import panorama_client

HERE = Path(__file__).resolve().parent
CDN_PATH = "/cdn"
CDN_FILES = {
    "/all.js": ("fake-all.js", "application/javascript; charset=utf-8"),
    "/host.js": ("host.js", "application/javascript; charset=utf-8"),
    "/host.css": ("host.css", "text/css; charset=utf-8"),
}
SESSION_HEADER = "x-test-session"

# Page name -> (kind, descriptor parameters).  "panel": an issue view
# module (the frame is as high as the page asks, AP.resize); "general":
# a page of its own (the frame fills the window under Jira's header).
ISSUE_PARAMS = ("issueId", "issueKey", "projectId")
PAGES = {
    "picker": ("panel", ISSUE_PARAMS),
    "issue-panoramas": ("panel", ISSUE_PARAMS),
    "templates": ("general", ()),
    "panoramas": ("general", ()),
    "admin": ("general", ()),
}
MODULE_KEYS = {
    "picker": "canned-responses",
    "issue-panoramas": "issue-panoramas",
    "templates": "canned-responses-manager",
    "panoramas": "panoramas",
    "admin": "cellar-admin",
}
NOT_FOUND_ISSUE = {"errorMessages": ["Issue does not exist or you do not "
                                     "have permission to see it."],
                   "errors": {}}
JSON_TYPE = {"Content-Type": "application/json;charset=UTF-8"}


def _json(status, obj, headers=None):
    return (status, json.dumps(obj).encode(), {**JSON_TYPE,
                                                **(headers or {})})


# Connect holds an app's AP.request calls to the scopes its descriptor
# asks for (developer.atlassian.com, "Scopes for Connect apps"): a GET or
# one of the searches below needs READ; another POST or a PUT, WRITE; a
# DELETE, DELETE.  The fake refuses a call the descriptor's scopes do not
# cover, as Jira does, so a page that needs a scope the descriptor lacks
# fails its test.
READ_POSTS = frozenset(("/rest/api/3/search/jql", "/rest/api/3/search",
                        "/rest/api/2/search", "/rest/api/3/issue/bulkfetch"))


def scope_needed(method, path):
    if method in ("GET", "HEAD") or path in READ_POSTS:
        return "READ"
    return "DELETE" if method == "DELETE" else "WRITE"


def _err(status, *messages, errors=None):
    return _json(status, {"errorMessages": list(messages),
                          "errors": errors or {}})


def adf_text(doc):
    """The plain text of an Atlassian Document Format value: text nodes
    concatenated, hardBreak as a newline, block nodes separated by a
    newline."""
    out = []

    def walk(n, top):
        if isinstance(n, dict):
            t = n.get("type")
            if t == "text" and isinstance(n.get("text"), str):
                out.append(n["text"])
            elif t == "hardBreak":
                out.append("\n")
            for c in n.get("content") or []:
                walk(c, False)
            if t in ("paragraph", "heading", "codeBlock", "blockquote",
                     "listItem") and not top:
                out.append("\n")
        elif isinstance(n, list):
            for c in n:
                walk(c, top)

    walk(doc, True)
    return "".join(out).rstrip("\n")


def adf_ok(doc):
    """Jira's first check of a v3 rich-text body: an ADF document."""
    return (isinstance(doc, dict) and doc.get("type") == "doc" and
            doc.get("version") == 1 and isinstance(doc.get("content"),
                                                   list))


class Account:
    def __init__(self, account_id, name, email):
        self.id = account_id
        self.name = name
        self.email = email

    def json(self, base_url):
        return {"self": f"{base_url}/rest/api/3/user?accountId={self.id}",
                "accountId": self.id, "accountType": "atlassian",
                "emailAddress": self.email, "displayName": self.name,
                "active": True, "timeZone": "Europe/Berlin",
                "locale": "en_US",
                "avatarUrls": {s: "" for s in ("48x48", "24x24", "16x16",
                                                "32x32")}}


class Issue:
    def __init__(self, issue_id, key, summary, project, reporter, assignee,
                 visible_to, fields):
        self.id = issue_id
        self.key = key
        self.summary = summary
        self.project = project          # project id
        self.reporter = reporter        # account id or None
        self.assignee = assignee
        self.visible_to = visible_to    # None (everyone) or {account ids}
        self.fields = fields            # extra fields as given


class Session:
    """One open_page() call: what the host page shows and as whom."""

    def __init__(self, sid, page, account, issue, project, params, jwt,
                 path):
        self.sid = sid
        self.page = page
        self.account = account          # account id
        self.issue = issue              # Issue or None
        self.project = project          # project id or None
        self.params = params            # extra query parameters
        self.jwt = jwt                  # True: mint; None: none; str
        self.path = path                # the frame's path
        self.tokens = 0                 # context tokens minted
        self.frame_urls = []            # each one the host page framed


class HostTenant:
    """A tenant installed on the UI stack, its Jira site of the fake and
    the fixtures its REST API answers from.  See conftest.py for the
    API the tests use."""

    def __init__(self, host, client_key, secret, site):
        self.host = host
        self.stack = host.stack
        self.client_key = client_key
        self.secret = secret
        self.site = site
        self.base_url = site.base_url
        self.lock = threading.Lock()
        self.accounts = {}          # id -> Account
        self.issues = {}            # id -> Issue
        self.keys = {}              # key -> id
        self.projects = {}          # id -> {"id", "key", "name"}
        self.groups = {}            # groupId -> name
        self.sessions = {}          # sid -> Session
        self._comments = {}         # issue id -> [comment]
        self._requests = []         # browser REST calls
        self._minted = 0
        self._comment_seq = 10000
        # Jira refuses (400) a JQL naming an issue key that does not
        # exist or that the user may not see; by default the fake
        # leaves such issues out instead.
        self.jql_strict = False
        self.rest_failure = None
        env = _Env(host.stack)
        self.templates_api = canned_client.Tenant(env, client_key, secret,
                                                  site)
        self.panoramas_api = panorama_client.Tenant(env, client_key,
                                                    secret, site)
        site.open_handler = self._open

    def __repr__(self):
        return f"HostTenant({self.base_url})"

    # Fixtures.

    def user(self, name=None, admin=False, browse=(), padmin=(),
             groups=(), issues=(), gate=True, email=None):
        """A fresh account: its display name (default "User N"), and
        what Jira tells the worker about it: global admin, BROWSE_PROJECTS
        in the projects `browse`, ADMINISTER_PROJECTS in `padmin`, its
        groups (group ids or (name, id) pairs, registered for the group
        picker too), BROWSE on `issues`, the app's use-panoramas
        permission (gate).  Returns the account id."""
        a = atl.new_account_id()
        with self.lock:
            n = len(self.accounts) + 1
            name = name or f"User {n}"
            self.accounts[a] = Account(a, name, email or
                                       f"user{n}@example.invalid")
        if admin:
            self.site.set_admin(a)
        if browse:
            self.site.grant(a, canned_client.BROWSE, *browse)
        if padmin:
            self.site.grant(a, canned_client.PADMIN, *padmin)
        gl = []
        for g in groups:
            gname, gid = g if isinstance(g, tuple) else (f"group {g}", g)
            self.add_group(gid, gname)
            gl.append((gname, gid))
        self.site.set_groups(a, gl)
        if issues:
            self.site.grant_issues(a, *issues)
        if not gate:
            self.site.set_app_permission(a, panorama_client.APP_PERMISSION,
                                         False)
        return a

    def name_of(self, account):
        with self.lock:
            return self.accounts[account].name

    def add_project(self, project_id, key, name=None):
        """A project the REST API knows (project/search, issue fields)."""
        with self.lock:
            self.projects[str(project_id)] = {
                "id": str(project_id), "key": key,
                "name": name or f"Project {key}"}

    def add_group(self, group_id, name):
        """A group the group picker finds."""
        with self.lock:
            self.groups[group_id] = name

    def add_issue(self, issue_id, key, summary, project=None,
                  reporter=None, assignee=None, visible_to=None,
                  **fields):
        """An issue of the site.  project: its project id (registered
        with the key's prefix when unknown; default "10000").
        visible_to: None, every account may browse it (Jira and the
        worker's permission checks alike); or the account ids that may
        (others get 404 from GET issue and never see it in a search).
        fields: more issue fields, returned as given.  Adding an id
        again replaces the issue (and its visibility).  Returns the
        issue id (str)."""
        iid = str(int(issue_id))
        project = str(project or "10000")
        with self.lock:
            known = project in self.projects
        if not known:
            self.add_project(project, key.rpartition("-")[0] or "PROJ")
        vis = None if visible_to is None else set(visible_to)
        with self.lock:
            old = self.issues.get(iid)
        if old is not None and old.visible_to:
            # Added again: whoever lost sight of it loses it here too.
            for a in old.visible_to - (vis or set()):
                self.site.revoke_issues(a, iid)
        with self.lock:
            if old is not None:
                self.keys.pop(old.key, None)
            self.issues[iid] = Issue(iid, key, summary, project, reporter,
                                     assignee, vis, fields)
            self.keys[key.upper()] = iid
        if vis is None:
            self.site.make_public(iid)
        else:
            self.site.make_private(iid)
            for a in vis:
                self.site.grant_issues(a, iid)
        return iid

    def issue(self, id_or_key):
        with self.lock:
            return self._find_issue(str(id_or_key))

    def comments(self, issue_id):
        """Comments posted to the issue through AP.request, oldest
        first: {"id", "author" (account id), "body" (as posted: ADF for
        v3), "text" (its plain text), "api" (2 or 3)}."""
        with self.lock:
            return [dict(c) for c in self._comments.get(str(issue_id), [])]

    def tokens_minted(self, account=None):
        """Context tokens getToken() minted for this tenant's pages so
        far (only for the account's sessions, when given)."""
        with self.lock:
            if account is None:
                return self._minted
            return sum(s.tokens for s in self.sessions.values()
                       if s.account == account)

    def browser_requests(self, method=None, path=None):
        """Jira REST calls the pages made (AP.request), oldest first:
        dicts {"method", "path", "query" (dict of lists), "body" (bytes),
        "account", "status"}, optionally only those of METHOD / path."""
        with self.lock:
            return [dict(r) for r in self._requests
                    if (method is None or r["method"] == method.upper())
                    and (path is None or r["path"] == path)]

    def fail_rest(self, fn):
        """fn(method, path) -> an HTTP status or None: the pages' REST
        calls for which it gives a status are answered with it (and a
        Jira error body), recorded like the others.  None: no failures.
        Returns the previous fn."""
        old, self.rest_failure = self.rest_failure, fn
        return old

    def unanswered(self, forget=False):
        """Browser REST calls the fake has no endpoint for (404 naming
        it): "METHOD path" strings, in order; forget: not listed again
        (here or at the end of the run)."""
        with self.lock:
            out = [f"{r['method']} {r['path']}" for r in self._requests
                   if r.get("unknown")]
            if forget:
                for r in self._requests:
                    r["unknown"] = False
            return out

    def api(self, method, path, account, project=None, body=None,
            params=None):
        """cellar's API as account (a context token of this tenant):
        the requests reply."""
        return self.templates_api.req(method, path, account, project,
                                      params=params, body=body)

    def context_token(self, account, issue=None, project=None):
        """A context token like getToken() mints for this account."""
        return atl.context_token(self.secret, self.client_key, sub=account,
                                 context=self._context(issue, project))

    def ap_log(self, browser):
        return self.host.ap_log(browser)

    # Sessions.

    def new_session(self, page, account, issue=None, project=None,
                    params=None, jwt=True, path=None):
        iss = None
        if issue is not None:
            iss = self.issue(issue)
            if iss is None:
                raise ValueError(f"no issue {issue!r}: add_issue() first")
        if project is None and iss is not None:
            project = iss.project
        sid = secrets.token_urlsafe(18)
        s = Session(sid, page, account, iss,
                    None if project is None else str(project),
                    dict(params or {}), jwt, path or f"/ui/{page}")
        with self.lock:
            self.sessions[sid] = s
        return s

    def host_url(self, session, host=None):
        """The host page of a session; host replaces the site's host
        name (e.g. "localhost": another origin on the same server)."""
        u = urlsplit(self.base_url)
        netloc = u.netloc if host is None else f"{host}:{u.port}"
        return f"{u.scheme}://{netloc}{u.path}/__host/page/{session.sid}"

    def _context(self, issue, project):
        jira = {}
        if issue is not None:
            jira["issue"] = {"id": issue.id, "key": issue.key}
        if project is not None:
            jira["project"] = {"id": str(project)}
            with self.lock:
                p = self.projects.get(str(project))
            if p is not None:
                jira["project"]["key"] = p["key"]
        return {"jira": jira}

    def frame_url(self, s, site_url):
        """The URL the host page frames: the page's descriptor URL with
        Jira's own parameters and a page token minted now (qsh over
        every parameter but jwt)."""
        kind, wanted = PAGES.get(s.page, ("general", ()))
        q = []
        if "issueId" in wanted and s.issue is not None:
            q.append(("issueId", s.issue.id))
        if "issueKey" in wanted and s.issue is not None:
            q.append(("issueKey", s.issue.key))
        if "projectId" in wanted and s.project is not None:
            q.append(("projectId", s.project))
        q += list(s.params.items())
        q += [("xdm_e", site_url),
              ("xdm_c", f"channel-{atl.APP_KEY}__"
                        f"{MODULE_KEYS.get(s.page, s.page)}"),
              ("cp", ""), ("xdm_deprecated_addon_key_do_not_use",
                           atl.APP_KEY),
              ("lic", "none"), ("cv", "1001.0.0-SNAPSHOT")]
        query = urlencode(q, quote_via=quote, safe="")
        url = f"{self.stack.base_url}{s.path}?{query}"
        if s.jwt is True:
            tok = atl.page_token(self.secret, self.client_key, "GET",
                                 s.path, query, sub=s.account, context={})
            url += "&jwt=" + tok
        elif isinstance(s.jwt, str):
            url += "&jwt=" + quote(s.jwt, safe="")
        return url

    # The site's unauthenticated side (jira_fake part 7).

    def _open(self, method, path, query, headers, body):
        if path.startswith("/__host/"):
            return self._host(method, path, headers)
        sid = headers.get(SESSION_HEADER)
        if sid is None:
            return None         # the worker: JWT checked by the fake
        with self.lock:
            s = self.sessions.get(sid)
        rec = {"method": method, "path": path,
               "query": parse_qs(query, keep_blank_values=True),
               "body": body, "account": s.account if s else None,
               "status": None}
        failure = self.rest_failure
        status = failure(method, path) if failure and s else None
        if s is None:
            out = _err(401, "You are not authenticated.")
        elif scope_needed(method, path) not in self.host.scopes:
            out = _err(403, "The app is not allowed to do this: its "
                       f"descriptor lacks the {scope_needed(method, path)} "
                       "scope.")
        elif status:
            out = _err(int(status), "fake failure (fail_rest)")
        else:
            try:
                out = self._rest(s, method, path, rec["query"], body)
            except Exception as e:      # noqa: BLE001
                out = _err(500, f"fake Jira failed: {e!r}")
        rec["status"] = out[0]
        rec["unknown"] = len(out) > 3
        with self.lock:
            self._requests.append(rec)
        return out[:3]

    def _host(self, method, path, headers):
        if method == "GET" and path.startswith("/__host/page/"):
            with self.lock:
                s = self.sessions.get(path[len("/__host/page/"):])
            if s is None:
                return (404, b"no such session",
                        {"Content-Type": "text/plain"})
            return self._host_page(s, headers.get("host", ""))
        if method == "POST" and path == "/__host/token":
            with self.lock:
                s = self.sessions.get(headers.get(SESSION_HEADER, ""))
                if s is not None:
                    s.tokens += 1
                    self._minted += 1
            if s is None:
                return _err(401, "no such session")
            tok = atl.context_token(self.secret, self.client_key,
                                    sub=s.account,
                                    context=self._context(s.issue,
                                                          s.project))
            return _json(200, {"token": tok},
                         {"Cache-Control": "no-store"})
        return (404, b"not found", {"Content-Type": "text/plain"})

    def _host_page(self, s, host_header):
        u = urlsplit(self.base_url)
        site_url = f"{u.scheme}://{host_header or u.netloc}{u.path}"
        frame = self.frame_url(s, site_url)
        with self.lock:
            s.frame_urls.append(frame)
            acct = self.accounts.get(s.account)
            proj = self.projects.get(s.project) if s.project else None
        kind = PAGES.get(s.page, ("general", ()))[0]
        cfg = {
            "sid": s.sid,
            "page": s.page,
            "kind": kind,
            "channel": f"channel-{atl.APP_KEY}__"
                       f"{MODULE_KEYS.get(s.page, s.page)}",
            "frameUrl": frame,
            "appOrigin": self.stack.base_url,
            "siteBase": u.path,
            "tokenPath": f"{u.path}/__host/token",
            "user": {"accountId": s.account,
                     "displayName": acct.name if acct else ""},
            "issue": None if s.issue is None else {
                "id": s.issue.id, "key": s.issue.key,
                "summary": s.issue.summary},
            "project": None if s.project is None else {
                "id": s.project, "key": proj["key"] if proj else ""},
        }
        text = (HERE / "host.html").read_text()
        cfg_json = (json.dumps(cfg).replace("<", "\\u003c")
                    .replace(">", "\\u003e").replace("&", "\\u0026"))
        html = (text.replace("@CONFIG@", cfg_json)
                .replace("@CDN@", CDN_PATH))
        return (200, html.encode(), {"Content-Type":
                                     "text/html; charset=utf-8",
                                     "Cache-Control": "no-store"})

    # Jira's REST API as the signed-in user.

    def _visible(self, issue, account):
        return issue.visible_to is None or account in issue.visible_to

    def _find_issue(self, id_or_key):
        if id_or_key.isdigit():
            return self.issues.get(str(int(id_or_key)))
        iid = self.keys.get(id_or_key.upper())
        return None if iid is None else self.issues.get(iid)

    def _user_json(self, account):
        a = self.accounts.get(account) if account else None
        return None if a is None else a.json(self.base_url)

    def _issue_json(self, i, fields=None):
        p = self.projects.get(i.project, {"id": i.project, "key": "",
                                          "name": ""})
        all_fields = {
            "summary": i.summary,
            "reporter": self._user_json(i.reporter),
            "assignee": self._user_json(i.assignee),
            "project": {"self": f"{self.base_url}/rest/api/3/project/"
                                f"{p['id']}", **p,
                        "projectTypeKey": "software"},
            "status": {"name": "To Do", "id": "10000",
                       "statusCategory": {"key": "new", "name": "To Do"}},
            "issuetype": {"id": "10001", "name": "Task", "subtask": False},
            **i.fields,
        }
        if fields:
            want = [f for f in fields if f not in ("*all", "*navigable")]
            if len(want) == len(fields):
                all_fields = {k: v for k, v in all_fields.items()
                              if k in want}
        return {"expand": "", "id": i.id, "key": i.key,
                "self": f"{self.base_url}/rest/api/3/issue/{i.id}",
                "fields": all_fields}

    @staticmethod
    def _fields_param(q):
        raw = ",".join(q.get("fields", []))
        return [f.strip() for f in raw.split(",") if f.strip()] or None

    def _rest(self, s, method, path, q, body):
        acct = s.account
        m = re.fullmatch(r"/rest/api/([23])/issue/([^/]+)/comment", path)
        if m and method == "POST":
            return self._post_comment(acct, m.group(1),
                                      unquote(m.group(2)), body)
        m = re.fullmatch(r"/rest/api/[23]/issue/([^/]+)", path)
        if m and method == "GET" and m.group(1) not in ("picker",
                                                        "bulkfetch"):
            with self.lock:
                i = self._find_issue(unquote(m.group(1)))
                if i is None or not self._visible(i, acct):
                    return _json(404, NOT_FOUND_ISSUE)
                return _json(200, self._issue_json(
                    i, self._fields_param(q)))
        if method == "GET" and path in ("/rest/api/3/myself",
                                        "/rest/api/2/myself"):
            with self.lock:
                return _json(200, self._user_json(acct))
        if method == "GET" and path == "/rest/api/3/user":
            with self.lock:
                u = self._user_json((q.get("accountId") or [""])[0])
            return _json(200, u) if u else _err(404, "User not found.")
        if method == "GET" and path == "/rest/api/3/user/search":
            return self._user_search(q)
        if method == "GET" and path == "/rest/api/3/project/search":
            return self._project_search(q)
        m = re.fullmatch(r"/rest/api/3/project/([^/]+)", path)
        if m and method == "GET":
            with self.lock:
                k = unquote(m.group(1))
                for p in self.projects.values():
                    if k in (p["id"], p["key"]):
                        return _json(200, p)
            return _err(404, "No project could be found.")
        if method == "GET" and path == "/rest/api/3/groups/picker":
            return self._groups_picker(q)
        if method == "GET" and path == "/rest/api/3/group/bulk":
            return self._group_bulk(q)
        if method == "GET" and path in ("/rest/api/3/mypermissions",
                                        "/rest/api/2/mypermissions"):
            return self._mypermissions(acct, q)
        if path == "/rest/api/3/search/jql" and method in ("GET", "POST"):
            return self._search(acct, method, q, body, new=True)
        if path in ("/rest/api/3/search", "/rest/api/2/search") and \
                method in ("GET", "POST"):
            return self._search(acct, method, q, body, new=False)
        if method == "POST" and path == "/rest/api/3/issue/bulkfetch":
            return self._bulkfetch(acct, body)
        if method == "GET" and path == "/rest/api/3/issue/picker":
            return self._issue_picker(acct, q)
        return _err(404, f"fake Jira has no {method} {path}") + (True,)

    def _post_comment(self, acct, version, id_or_key, body):
        try:
            d = json.loads(body or b"null")
        except ValueError:
            return _err(400, "Unexpected character in the request body.")
        if not isinstance(d, dict) or "body" not in d:
            return _err(400, errors={"comment": "Comment body can not be "
                                                "empty!"})
        b = d["body"]
        if version == "3":
            if not adf_ok(b):
                return _err(400, errors={"comment": "Comment body is not "
                                                    "valid!"})
            text = adf_text(b)
        else:
            if not isinstance(b, str):
                return _err(400, errors={"comment": "Comment body is not "
                                                    "valid!"})
            text = b
        if not text.strip():
            return _err(400, errors={"comment": "Comment body can not be "
                                                "empty!"})
        with self.lock:
            i = self._find_issue(id_or_key)
            if i is None or not self._visible(i, acct):
                return _json(404, NOT_FOUND_ISSUE)
            self._comment_seq += 1
            cid = str(self._comment_seq)
            now = time.strftime("%Y-%m-%dT%H:%M:%S.000+0000", time.gmtime())
            c = {"id": cid, "author": acct, "body": b, "text": text,
                 "api": int(version), "issue": i.id}
            self._comments.setdefault(i.id, []).append(c)
            out = {"self": f"{self.base_url}/rest/api/{version}/issue/"
                           f"{i.id}/comment/{cid}",
                   "id": cid, "author": self._user_json(acct), "body": b,
                   "updateAuthor": self._user_json(acct), "created": now,
                   "updated": now, "jsdPublic": True}
        return _json(201, out)

    def _user_search(self, q):
        term = (q.get("query") or [""])[0].lower()
        with self.lock:
            return _json(200, [a.json(self.base_url)
                               for a in self.accounts.values()
                               if term in a.name.lower() or
                               term in a.email.lower()])

    @staticmethod
    def _int(q, name, default, lo=0, hi=None):
        try:
            v = int((q.get(name) or [str(default)])[0] or default)
        except ValueError:
            v = default
        v = max(lo, v)
        return v if hi is None else min(v, hi)

    def _project_search(self, q):
        """Jira's project search: query (name or key contains), id=
        and keys= (repeatable, comma lists too), startAt, maxResults
        (at most 100), ordered by name."""
        term = (q.get("query") or [""])[0].lower()
        ids = {x for v in q.get("id", []) for x in v.split(",") if x}
        keys = {x.upper() for v in q.get("keys", []) for x in v.split(",")
                if x}
        start = self._int(q, "startAt", 0)
        size = self._int(q, "maxResults", 50, 1, 100)
        with self.lock:
            found = [dict(p, self=f"{self.base_url}/rest/api/3/project/"
                                  f"{p['id']}")
                     for p in sorted(self.projects.values(),
                                     key=lambda p: p["name"].lower())
                     if (term in p["name"].lower() or
                         term in p["key"].lower()) and
                     (not ids or p["id"] in ids) and
                     (not keys or p["key"].upper() in keys)]
        page = found[start:start + size]
        return _json(200, {"self": f"{self.base_url}/rest/api/3/project/"
                                   f"search", "startAt": start,
                           "maxResults": size, "total": len(found),
                           "isLast": start + size >= len(found),
                           "values": page})

    def _group_bulk(self, q):
        """Jira's group bulk get: groupId= / groupName= (repeatable),
        startAt, maxResults (at most 50)."""
        ids = set(q.get("groupId", []))
        names = set(q.get("groupName", []))
        start = self._int(q, "startAt", 0)
        size = self._int(q, "maxResults", 50, 1, 50)
        with self.lock:
            found = sorted(((n, g) for g, n in self.groups.items()
                            if (not ids and not names) or g in ids or
                            n in names), key=lambda x: x[0].lower())
        page = found[start:start + size]
        return _json(200, {"maxResults": size, "startAt": start,
                           "total": len(found),
                           "isLast": start + size >= len(found),
                           "values": [{"name": n, "groupId": g}
                                      for n, g in page]})

    GLOBAL_PERMISSIONS = ("ADMINISTER", "SYSTEM_ADMIN", "USER_PICKER",
                          "CREATE_SHARED_OBJECTS", "MANAGE_GROUP_FILTER_"
                          "SUBSCRIPTIONS", "BULK_CHANGE")

    def _mypermissions(self, acct, q):
        """Jira's "my permissions" from what the site tells the worker
        (site.set_admin, grant, grant_issues, make_public): permissions=
        (required, comma list); projectId/projectKey or issueId/issueKey
        narrow a project permission to that project (or issue);
        without them it is held when held in any project."""
        wanted = [p for v in q.get("permissions", []) for p in v.split(",")
                  if p]
        if not wanted:
            return _err(400, "The permissions query parameter is "
                             "required.")
        pid = (q.get("projectId") or [None])[0]
        pkey = (q.get("projectKey") or [None])[0]
        iref = ((q.get("issueId") or q.get("issueKey") or [None])[0])
        issue = None
        with self.lock:
            if pkey is not None:
                pid = next((p["id"] for p in self.projects.values()
                            if p["key"] == pkey.upper()), "none")
            if iref is not None:
                issue = self._find_issue(iref)
                if issue is None or not self._visible(issue, acct):
                    return _json(404, NOT_FOUND_ISSUE)
                pid = issue.project
        site = self.site
        out = {}
        with site.fake.lock:
            for perm in wanted:
                if perm in self.GLOBAL_PERMISSIONS:
                    have = perm == "ADMINISTER" and acct in site.admins
                    kind = "GLOBAL"
                else:
                    projects = site.project_perms.get((acct, perm), set())
                    have = bool(projects) if pid is None else \
                        str(pid) in projects
                    if issue is not None and perm == canned_client.BROWSE:
                        have = have or issue.id in site.public_issues or \
                            issue.id in site.issue_perms.get(
                                (acct, perm), set())
                    kind = "PROJECT"
                out[perm] = {"id": str(abs(hash(perm)) % 100000),
                             "key": perm, "name": perm.replace("_", " ")
                             .title(), "type": kind,
                             "description": "", "havePermission": have}
        return _json(200, {"permissions": out})

    def _groups_picker(self, q):
        term = (q.get("query") or [""])[0].lower()
        size = int((q.get("maxResults") or ["20"])[0] or 20)
        with self.lock:
            found = sorted(((n, g) for g, n in self.groups.items()
                            if term in n.lower()), key=lambda x: x[0])
        shown = found[:size]
        return _json(200, {
            "header": f"Showing {len(shown)} of {len(found)} matching "
                      f"groups",
            "total": len(found),
            "groups": [{"name": n, "html": n, "groupId": g, "labels": []}
                       for n, g in shown]})

    JQL_CLAUSE = re.compile(
        r"\s*(key|id|issue|issuekey)\s*(=|in)\s*(\(([^)]*)\)|[^\s()]+)\s*",
        re.I)

    def _jql(self, jql):
        """The issue ids or keys a JQL of the forms pages use names:
        clauses `key|id|issue in (a, b)` or `key|id = a` joined by OR,
        with an optional ORDER BY.  None for anything else."""
        jql = re.split(r"\border\s+by\b", jql, flags=re.I)[0]
        out = []
        for part in re.split(r"\s+or\s+", jql.strip(), flags=re.I):
            m = self.JQL_CLAUSE.fullmatch(part)
            if not m:
                return None
            items = (m.group(4) if m.group(4) is not None else m.group(3))
            for x in items.split(","):
                x = x.strip().strip('"').strip("'")
                if x:
                    out.append(x)
        return out

    def _search(self, acct, method, q, body, new):
        """JQL search.  new (/search/jql): maxResults default 50, at
        most 5000 when only id/key are asked, else 100; nextPageToken
        pages; fields default to id only.  Old (/search): startAt,
        maxResults at most 100, total; fields default to all."""
        if method == "POST":
            try:
                d = json.loads(body or b"{}")
            except ValueError:
                return _err(400, "Unexpected character in the request "
                                 "body.")
            if not isinstance(d, dict):
                return _err(400, "Unexpected request body.")
            jql = d.get("jql", "")
            fields = d.get("fields")
            size = d.get("maxResults", 50)
            start = d.get("startAt", 0)
            token = d.get("nextPageToken")
        else:
            jql = (q.get("jql") or [""])[0]
            fields = self._fields_param(q)
            size = self._int(q, "maxResults", 50)
            start = self._int(q, "startAt", 0)
            token = (q.get("nextPageToken") or [None])[0]
        if not isinstance(jql, str) or (fields is not None and not (
                isinstance(fields, list) and
                all(isinstance(f, str) for f in fields))) or \
                not isinstance(size, int) or not isinstance(start, int):
            return _err(400, "Invalid request payload.")
        names = self._jql(jql)
        if names is None:
            return _err(400, f"fake Jira: unsupported JQL {jql!r} (use "
                             f"key/id in (...) joined by OR)")
        if new:
            only_ids = fields is not None and set(fields) <= {"id", "key"}
            size = max(1, min(size, 5000 if only_ids else 100))
            try:
                start = int(token) if token else 0
            except ValueError:
                return _err(400, "Invalid nextPageToken.")
            fields = fields or ["id"]
        else:
            size = max(1, min(size, 100))
        with self.lock:
            seen, found, missing = set(), [], []
            for n in names:
                i = self._find_issue(n)
                if i is None or not self._visible(i, acct):
                    missing.append(n)
                elif i.id not in seen:
                    seen.add(i.id)
                    found.append(i)
            if missing and self.jql_strict:
                return _err(400, f"An issue with key '{missing[0]}' does "
                                 f"not exist for field 'key'.")
            found.sort(key=lambda i: int(i.id), reverse=True)
            page = [self._issue_json(i, fields)
                    for i in found[start:start + size]]
        if new:
            out = {"issues": page, "isLast": start + size >= len(found)}
            if not out["isLast"]:
                out["nextPageToken"] = str(start + size)
            return _json(200, out)
        return _json(200, {"expand": "", "startAt": start,
                           "maxResults": size, "total": len(found),
                           "issues": page})

    def _bulkfetch(self, acct, body):
        try:
            d = json.loads(body or b"{}")
            ids = d["issueIdsOrKeys"]
            assert isinstance(ids, list) and 1 <= len(ids) <= 100
        except (ValueError, KeyError, AssertionError, TypeError):
            return _err(400, "issueIdsOrKeys: 1 to 100 ids or keys")
        with self.lock:
            out, errs = [], []
            for n in ids:
                i = self._find_issue(str(n))
                if i is None or not self._visible(i, acct):
                    errs.append({"issueIdOrKey": str(n), "status": 404,
                                 "errorMessages": NOT_FOUND_ISSUE[
                                     "errorMessages"]})
                else:
                    out.append(self._issue_json(i, d.get("fields") or
                                                ["summary"]))
        return _json(200, {"expand": "", "issues": out,
                           "issueErrors": errs})

    def _issue_picker(self, acct, q):
        term = (q.get("query") or [""])[0].lower()
        with self.lock:
            found = [i for i in self.issues.values()
                     if self._visible(i, acct) and term and
                     (i.key.lower().startswith(term) or
                      term in i.summary.lower())][:20]
            found = [{"key": i.key, "keyHtml": i.key, "id": int(i.id),
                      "img": "", "summary": i.summary,
                      "summaryText": i.summary} for i in found]
        return _json(200, {"sections": [{
            "label": "Current Search", "sub": f"Showing {len(found)}",
            "id": "cs", "issues": found}]})


class _Env:
    """What canned_client / panorama_client expect of an environment."""

    def __init__(self, st):
        self.st = st


class JiraHost(HostTenant):
    """The session's fake Jira: its default tenant (this object) and a
    factory of more (new_tenant), the fake Atlassian and the UI stack."""

    def __init__(self, fake, stack, install_key, kid):
        self.fake = fake
        self.stack = stack
        self._key, self._kid = install_key, kid
        self.tenants = []
        # The scopes cellar's descriptor asks for (see scope_needed).
        r = stack.get("/atlassian-connect.json")
        assert r.status_code == 200, r.status_code
        self.scopes = frozenset(r.json()["scopes"])
        t = self._install()
        super().__init__(self, t[0], t[1], t[2])
        self.tenants.append(self)
        self.default_account = self.user("Alex Admin", admin=True,
                                         browse=["10000"],
                                         padmin=["10000"])
        self.add_project("10000", "DEMO", "Demo project")

    def _install(self):
        secret = atl.new_secret()
        site = self.fake.add_site(secret)
        client_key = atl.install(self.stack, self._key, self._kid,
                                 site.base_url, secret)
        return client_key, secret, site

    def lifecycle(self, t, event):
        """Jira's lifecycle call `event` ("enabled", "disabled" with a
        page token; "uninstalled" signed as an install) for tenant t."""
        body = atl.install_payload(t.client_key, t.secret, t.base_url,
                                   event=event)
        path = "/" + event
        if event == "uninstalled":
            tok = atl.install_token(self._key, self._kid, t.client_key,
                                    aud=self.stack.base_url, path=path)
        else:
            tok = atl.page_token(t.secret, t.client_key, "POST", path)
        r = self.stack.request("POST", path, json=body,
                               headers={"Authorization": f"JWT {tok}"})
        assert r.status_code == 204, (event, r.status_code, r.text)

    def new_tenant(self):
        """Another tenant (a new site of the same fake, same origin):
        empty, with its own default_account (an admin, "Alex Admin")
        and project 10000 "DEMO"."""
        ck, secret, site = self._install()
        t = HostTenant(self, ck, secret, site)
        t.default_account = t.user("Alex Admin", admin=True,
                                   browse=["10000"], padmin=["10000"])
        t.add_project("10000", "DEMO", "Demo project")
        self.tenants.append(t)
        return t

    def ap_log(self, browser):
        """window.apLog of the host page the browser shows (its AP calls,
        oldest first); the driver stays in (or goes back to) the frame it
        was in."""
        return host_script(browser, "return window.apLog || null;")


def until(what, fn, timeout=20):
    """Polls fn (every 50 ms, for at most timeout seconds) until it
    returns a true value, which it returns; an exception fn raises (a
    stale element) counts as not yet.  Fails naming what and fn's last
    answer."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = fn()
            if last:
                return last
        except Exception as e:      # noqa: BLE001
            last = repr(e)
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


def cdn_handler(method, path, query, headers, body):
    """The /cdn site: all.js and the host page's script and style, read
    from tests/ui at each request."""
    f = CDN_FILES.get(path)
    if f is None or method not in ("GET", "HEAD"):
        return (404, b"not found", {"Content-Type": "text/plain"})
    return (200, (HERE / f[0]).read_bytes(),
            {"Content-Type": f[1], "Cache-Control": "no-store",
             "X-Content-Type-Options": "nosniff"})


# The driver's two documents: the host page (top) and the frame.

def host_script(browser, script, *args):
    """Runs script in the host page (top document) and returns its
    value; the driver then goes back into the app frame if it was
    there."""
    in_frame = getattr(browser, "in_app_frame", False)
    browser.switch_to.default_content()
    try:
        return browser.execute_script(script, *args)
    finally:
        if in_frame:
            enter_frame(browser)


def enter_frame(browser):
    """Switches the driver into the app frame of the host page."""
    browser.switch_to.default_content()
    browser.switch_to.frame(browser.find_element("id", "app-frame"))
    browser.in_app_frame = True


def leave_frame(browser):
    """Switches the driver to the host page (top document)."""
    browser.switch_to.default_content()
    browser.in_app_frame = False


# Opening a page.

READY_JS = """
const app = document.getElementById("app");
return app ? app.getAttribute("aria-busy") : null;
"""
JWT_IN_URL = re.compile(r"(jwt=)[^&\s\"']+")


def redact(text):
    """text without page tokens (?jwt=...)."""
    return JWT_IN_URL.sub(r"\1...", str(text))


def console(browser):
    """Every console entry of the browser so far ({"level", "message",
    "source", "timestamp"}), kept on the driver (chromedriver hands each
    entry out once)."""
    kept = getattr(browser, "console_entries", None)
    if kept is None:
        kept = browser.console_entries = []
    try:
        kept += browser.get_log("browser")
    except Exception:       # noqa: BLE001
        pass
    return list(kept)


def frame_state(browser):
    """What the driver sees of the app frame (for error messages)."""
    try:
        enter_frame(browser)
        st = browser.execute_script(
            "return {url: document.URL, ready: document.readyState, "
            "busy: (document.getElementById('app') || {getAttribute: "
            "() => 'no #app'}).getAttribute('aria-busy'), text: "
            "(document.body ? document.body.innerText : '').slice(0, 600)}")
    except Exception as e:      # noqa: BLE001
        return f"(frame unreadable: {e.__class__.__name__}: {e})"
    return redact(st)


def diagnose(browser):
    """Frame state, AP calls and console errors, for a failure."""
    out = [f"frame: {frame_state(browser)}"]
    try:
        log = host_script(browser, "return window.apLog || null;")
        out.append("apLog: " + redact([{k: v for k, v in e.items()
                                        if k in ("fn", "url", "status",
                                                 "type", "title")}
                                       for e in (log or [])][-30:]))
    except Exception as e:      # noqa: BLE001
        out.append(f"apLog unreadable: {e!r}")
    errs = [f"{e.get('level')}: {e.get('message')}" for e in console(browser)
            if e.get("level") in ("SEVERE", "WARNING")]
    out.append("console:\n  " + "\n  ".join(redact(x)[:500]
                                             for x in errs[-20:]))
    return "\n".join(out)


def wait_ready(browser, timeout=20):
    """Waits until the app frame's #app has aria-busy="false"; the driver
    is then in the frame.  Fails with what the frame shows."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            enter_frame(browser)
            last = browser.execute_script(READY_JS)
            if last == "false":
                return
        except Exception as e:      # noqa: BLE001
            last = f"{e.__class__.__name__}"
        if time.monotonic() >= deadline:
            raise AssertionError(
                f"the page did not become ready (#app aria-busy=false) in "
                f"{timeout}s (last: {last!r})\n{diagnose(browser)}")
        time.sleep(0.05)


class OpenedPage:
    """A page open_page() opened: see conftest.py."""

    def __init__(self, tenant, browser, session, host_url):
        self.tenant = tenant
        self.browser = browser
        self.session = session
        self.account = session.account
        self.host_url = host_url

    @property
    def frame_url(self):
        with self.tenant.lock:
            return self.session.frame_urls[-1] if \
                self.session.frame_urls else None

    def ap_log(self):
        return host_script(self.browser, "return window.apLog || [];")

    def wait_ready(self, timeout=20):
        wait_ready(self.browser, timeout)

    def reload(self, wait=True, timeout=20):
        """Loads the host page again (a fresh page token, as Jira does
        on a reload); the apLog is kept."""
        self.browser.get(self.host_url)
        enter_frame(self.browser)
        if wait:
            wait_ready(self.browser, timeout)
        return self


def _grant_clipboard(browser, origin):
    done = getattr(browser, "clipboard_origins", None)
    if done is None:
        done = browser.clipboard_origins = set()
    if origin in done:
        return
    try:
        browser.execute_cdp_cmd("Browser.grantPermissions", {
            "origin": origin,
            "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]})
        done.add(origin)
    except Exception:       # noqa: BLE001
        pass


def open_page(tenant, browser, page, account=None, issue=None, project=None,
              params=None, wait=True, timeout=20, host=None, jwt=True,
              path=None):
    """See conftest.py (open_page)."""
    acct = account or tenant.default_account
    s = tenant.new_session(page, acct, issue, project, params, jwt, path)
    url = tenant.host_url(s, host)
    _grant_clipboard(browser, tenant.stack.base_url)
    browser.get(url)
    enter_frame(browser)
    if wait:
        wait_ready(browser, timeout)
    return OpenedPage(tenant, browser, s, url)


def screenshot_png(browser):
    """PNG of the browser's viewport (the top document, whatever frame
    the driver is in), once the frame has painted."""
    in_frame = getattr(browser, "in_app_frame", False)
    try:
        browser.switch_to.default_content()
        browser.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "requestAnimationFrame(() => requestAnimationFrame("
            "() => done(true)));")
    except Exception:       # noqa: BLE001
        pass
    try:
        return browser.get_screenshot_as_png()
    finally:
        if in_frame:
            enter_frame(browser)


def save_failure(browser, prefix):
    """Screenshot, frame HTML, console and apLog of a failed test."""
    prefix = Path(prefix)
    prefix.parent.mkdir(parents=True, exist_ok=True)
    try:
        prefix.with_suffix(".png").write_bytes(
            browser.get_screenshot_as_png())
    except Exception:       # noqa: BLE001
        pass
    parts = []
    try:
        enter_frame(browser)
        parts.append("--- frame HTML ---\n" + redact(browser.execute_script(
            "return document.documentElement.outerHTML")))
    except Exception as e:      # noqa: BLE001
        parts.append(f"--- frame HTML unreadable: {e!r}")
    try:
        log = host_script(browser, "return window.apLog || null;")
        parts.append("--- apLog ---\n" + redact(json.dumps(log, indent=1)))
    except Exception as e:      # noqa: BLE001
        parts.append(f"--- apLog unreadable: {e!r}")
    parts.append("--- console ---\n" + "\n".join(
        redact(f"{e.get('level')} {e.get('message')}")
        for e in console(browser)))
    prefix.with_suffix(".txt").write_text("\n".join(parts))
