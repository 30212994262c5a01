"""
A fake Atlassian for the integration tests, on 127.0.0.1 (ephemeral
port), in a thread of the test process.  It plays two parts:

1. Atlassian's install-key service (connect-install-keys.atlassian.com):
   GET /keys/<kid> answers the PEM registered for kid, 404 for any other
   kid.  A kid can also be given a canned misbehaviour (status, body,
   delay, headers) to test how the app treats a broken key server.

       fake = FakeJira().start()
       fake.add_install_key("kid-1", public_pem(key))
       # [auth] install_keys_url = fake.keys_url
       fake.key_hits("kid-1")          # GETs of /keys/kid-1 so far
       fake.hits["/keys/other"]        # any path, counted

2. Jira sites the app calls back (REST API, personal-data reports...).
   add_site() registers a site with its shared secret under a base path
   of this server; its base_url goes into the tenant's install payload.
   Every request under a site is recorded and its JWT verified with
   PyJWT, independently of the app's C code, the way Jira does:
   "Authorization: JWT <token>", alg exactly HS256, signed with the
   site's shared secret, iss = the app key, exp and iat present (exp at
   most 3 minutes after iat, not expired, iat not in the future, with
   leeway), qsh = the canonical request relative to the site's base
   path.  A GET with a body is refused too.  A request whose token fails
   gets 401 (the failure is recorded); otherwise the canned reply set
   with site.reply(), or 404.

       site = fake.add_site(shared_secret)
       site.reply("GET", "/rest/api/3/mypermissions", json={...})
       ... the app calls site.base_url + "/rest/api/3/mypermissions" ...
       rec = site.wait_request("GET", "/rest/api/3/mypermissions")
       assert rec.verified, rec.jwt_error
       rec.claims, rec.query, rec.headers, rec.body

3. What Jira says about users, per site, for the app's permission
   questions (canned replies set with site.reply() for the same path
   win over these):

   POST /rest/api/3/permissions/check answers like Jira from the site's
   configuration: {"globalPermissions": [granted ones asked for],
   "projectPermissions": [{"permission": P, "projects": [ids as numbers],
   "issues": []}]} (a permission with no granted project is left out).
   The request must be shaped as Jira expects (400 otherwise): accountId
   a string, globalPermissions a list of strings, projectPermissions a
   list of {"permissions": [str], "projects": [int]}.

   GET /rest/api/3/user/groups?accountId=ID answers [{"name", "groupId",
   "self"}], [] for an account with no groups, 404 for an account marked
   unknown.

       site.set_admin(acct)                     # global ADMINISTER
       site.grant(acct, "BROWSE_PROJECTS", "10000", 10001)
       site.grant(acct, "ADMINISTER_PROJECTS", "10000")
       site.set_groups(acct, ["gid-1", ("Team", "gid-2")])
       site.set_down("503")      # every call: 503 ("close": the
                                 # connection closes without a reply;
                                 # "hang": no reply until set_down(None)
                                 # or HANG_MAX seconds)
       site.set_down(None)       # back up
       site.count("POST", "/rest/api/3/permissions/check")  # calls so far

4. Per-issue permissions and the app's global permissions, in the same
   POST /rest/api/3/permissions/check:

   - projectPermissions entries may carry "issues": [ids as numbers]
     (Jira refuses strings: 400 here too; more than ISSUES_MAX issue
     ids in one call: 400).  An account holds a permission on an issue
     when it was granted that issue (grant_issues) or the issue is
     public (make_public: every account may browse it).  Nothing is
     browsable by default: a test says who sees which issue.  The reply
     has one entry per permission asked, {"permission", "issues":
     [granted ids as numbers], "projects": [granted project ids]},
     left out when nothing was granted (like Jira's bulk answer).
   - globalPermissions may name an app's global permission by its full
     Connect key "<app key>__<module key>" (APP_KEY__use-panoramas).
     Only the keys of site.app_permissions (default: "use-panoramas" of
     the fake's app key) exist; any other "x__y" key is 400, as Jira
     refuses an unknown permission.  Granted by default (the module's
     defaultGrants ["all"]); set_app_permission takes it from (or gives
     it back to) one account, set_app_permission_default from everyone.

       site.grant_issues(acct, 10001, "10002")      # BROWSE_PROJECTS
       site.revoke_issues(acct, 10002)              # none given: all
       site.make_public(10003, 10004)               # anyone browses
       site.make_private(10003)
       site.set_app_permission(acct, "use-panoramas", False)   # denied
       site.set_app_permission(acct, "use-panoramas", None)    # default
       site.set_app_permission_default("use-panoramas", False)
       site.issue_checks()       # [(accountId, [issue ids]) per call]
       site.global_checks()      # [(accountId, [keys]) per call]

5. POST /rest/api/3/issue/bulkfetch {"issueIdsOrKeys": [1..100
   strings], "fields": [...]} (what the reaper's reconcile asks as the
   app): {"issues": [{"id", "key", "self", "fields": {}}] for the ids
   that exist, in the order asked, "issueErrors": []}; an id that does
   not exist is simply absent, as in Jira.  Every issue id exists
   unless the test says otherwise.  A malformed request (not a list of
   1..100 strings, fields not a list of strings) is 400.

       site.delete_issues(10001, 10002)   # gone from now on
       site.restore_issues(10001)
       site.set_existing_issues([10003])  # only these exist (None: all)
       site.set_bulkfetch_failure("500")  # 500 with a JSON error body;
                                          # "garbage": 200, not JSON;
                                          # "timeout": no reply until
                                          # set back (or HANG_MAX s);
                                          # "close": connection closed;
       site.set_bulkfetch_failure(None)   # answers again
       site.bulkfetch_calls()             # [[ids asked] per call]
       site.count("POST", BULKFETCH)      # calls (answered or not)

   set_down() (part 3) applies to this endpoint as to every other.

6. Atlassian's personal-data API as a Connect app reaches it: POST
   /rest/atlassian-connect/latest/report-accounts on the site (JWT
   verified like every site call) with {"accounts": [{"accountId",
   "updatedAt"}]}: 1..90 entries, each accountId 1..128 of
   [A-Za-z0-9:-] and never "unknown", updatedAt RFC 3339 ("...Z"), no
   id twice, nothing else in an entry; anything else is 400
   {"errorType": "INVALID_REQUEST", ...} and counts as a protocol error
   (site.report_errors()).  A well-formed request is recorded as a batch
   and answered by the next scripted answer, else "auto":

   - "auto": 200 {"accounts": [{"accountId", "status"}]} naming the ids
     sent that close_accounts / update_accounts marked ("closed" wins),
     in the order sent; 204 with no body when none is;
   - "204": 204 whatever was sent;
   - "429" / "429:S", "503" / "503:S": that status, with Retry-After: S
     when S is given ({"errorType": "RATE_LIMITED"} / unavailable);
   - "400", "500": that status with {"errorType", "errorMessage"};
   - "malformed": a 200 whose JSON is cut short (the auto answer's);
   - "unsent": the auto answer plus a closed account not in the request.

   set_cycle_period(v) adds "Cycle-Period: v" to every 200 and 204 (None:
   no header).

       site.close_accounts(acct1, acct2)
       site.update_accounts(acct3)
       site.script_reports("429:2", "auto")   # the next two answers
       site.set_cycle_period("14 Days")
       site.report_batches()   # [(ids sent, status answered)] per request
       site.reported_ids()     # every id in a request answered 200/204
       site.report_errors()    # [why] of each malformed request

   Other sites keep their replies: a test's own site.reply() for this
   path wins, as for every handler.

7. What a site serves without a JWT: the browser tests (tests/ui) put
   the pages of a Jira host and its REST API as a signed-in user sees
   it on a site.  site.open_handler = fn(method, path, query, headers,
   body) with the site-relative path, the raw query and lower-case
   header names; fn returns None to let the request go on as above
   (JWT checked, recorded), or (status, body bytes, {header: value}) to
   answer it at once, unrecorded and unchecked.  Unset (None) by
   default: every request is checked.

Every request under a site is counted: site.count(method, path), and
site.counts() gives {(method, path): n} at once (to assert caching and
batching: take it before and after).

Nothing here talks to the network beyond 127.0.0.1.
"""
import json as jsonlib
import re
import secrets
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import jwt

from atlassian import APP_KEY, new_rsa_key, public_pem, qsh

MAX_BODY = 1 << 20
HANG_MAX = 30           # seconds a "hang" site holds a request at most
PERMISSIONS_CHECK = "/rest/api/3/permissions/check"
USER_GROUPS = "/rest/api/3/user/groups"
BULKFETCH = "/rest/api/3/issue/bulkfetch"
ISSUES_MAX = 1000       # issue ids in one permissions/check call
BULKFETCH_MAX = 100     # issue ids or keys in one bulkfetch call
BROWSE = "BROWSE_PROJECTS"
REPORT_ACCOUNTS = "/rest/atlassian-connect/latest/report-accounts"
REPORT_BATCH_MAX = 90   # accounts in one report-accounts request
ACCOUNT_ID = re.compile(r"^[A-Za-z0-9:-]{1,128}$")
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?"
                     r"(Z|[+-]\d\d:\d\d)$")
REPORT_ANSWERS = re.compile(r"^(auto|204|(429|503)(:\d+)?|400|500|"
                            r"malformed|unsent)$")


class KeyReply:
    """A canned answer of the key service for one kid."""

    def __init__(self, status=200, body=b"", delay=0.0, headers=None):
        self.status = status
        self.body = body if isinstance(body, bytes) else body.encode()
        self.delay = delay
        self.headers = dict(headers or {})


class Recorded:
    """One request the fake received under a site."""

    def __init__(self, method, path, query, headers, body):
        self.method = method
        self.path = path            # relative to the site's base path
        self.query = query          # raw, without '?'
        self.headers = headers      # {lower-case name: value}
        self.body = body            # bytes
        self.token = None
        self.claims = None          # verified claims, or None
        self.jwt_error = None       # why verification failed, or None
        self.status = None          # what the fake answered

    @property
    def verified(self):
        return self.claims is not None and self.jwt_error is None

    def json(self):
        return jsonlib.loads(self.body)

    def __repr__(self):
        return (f"Recorded({self.method} {self.path}?{self.query} "
                f"status={self.status} jwt_error={self.jwt_error})")


class Site:
    """A Jira site the app may call: base path, shared secret, canned
    replies and the requests it got."""

    def __init__(self, fake, base_path, shared_secret, app_key, leeway,
                 max_ttl):
        self.fake = fake
        self.base_path = base_path
        self.shared_secret = shared_secret
        self.app_key = app_key
        self.leeway = leeway
        self.max_ttl = max_ttl
        self.replies = {}
        self.requests = []
        # What Jira knows about users (see the module comment, part 3).
        self.admins = set()         # account ids holding ADMINISTER
        self.project_perms = {}     # (account, permission) -> {project id}
        self.groups = {}            # account -> [(name, groupId)]
        self.unknown_accounts = set()
        self.slow = {}              # account -> seconds its checks take
        self.down = None            # None, "503", "close" or "hang"
        self.up = threading.Event()   # set while not hanging
        self.up.set()
        # Part 4: per-issue permissions, the app's global permissions.
        self.issue_perms = {}       # (account, permission) -> {issue id}
        self.public_issues = set()  # issue ids anyone may browse
        self.app_permissions = {"use-panoramas": True}  # key -> default
        self.app_perm_of = {}       # (account, full key) -> bool
        # Part 5: bulkfetch.
        self.existing_issues = None   # None: every id; else {issue id}
        self.deleted_issues = set()
        self.bulkfetch_failure = None   # None, "500", "garbage",
        self.bulkfetch_up = threading.Event()   # "timeout" or "close"
        self.bulkfetch_up.set()
        # Part 6: report-accounts.
        self.closed_accounts = set()
        self.updated_accounts = set()
        self.report_script = []     # answers still to give, in order
        self.cycle_period = None    # Cycle-Period on 200 and 204
        self.report_log = []        # (ids sent, status answered)
        self.report_protocol_errors = []
        # Part 7: what the site answers without a JWT (None: nothing).
        self.open_handler = None
        self.handlers = {
            ("POST", PERMISSIONS_CHECK): self._permissions_check,
            ("GET", USER_GROUPS): self._user_groups,
            ("POST", BULKFETCH): self._bulkfetch,
            ("POST", REPORT_ACCOUNTS): self._report_accounts,
        }

    @property
    def base_url(self):
        return self.fake.url + self.base_path

    def reply(self, method, path, status=200, json=None, body=None,
              headers=None):
        """Canned reply for METHOD path (site-relative, no query)."""
        if body is None and json is not None:
            body = jsonlib.dumps(json).encode()
            headers = {"Content-Type": "application/json", **(headers or {})}
        self.replies[(method.upper(), path)] = (status, body or b"",
                                                dict(headers or {}))

    def requests_to(self, method, path):
        with self.fake.lock:
            return [r for r in self.requests
                    if r.method == method.upper() and r.path == path]

    def wait_request(self, method, path, timeout=5.0):
        """The first request to METHOD path, waiting for it."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.requests_to(method, path)
            if got:
                return got[0]
            if time.monotonic() >= deadline:
                raise AssertionError(f"no {method} {path} reached the fake "
                                     f"site {self.base_path} in {timeout}s")
            time.sleep(0.02)

    def count(self, method=None, path=None):
        """Requests received so far (verified or not), optionally only
        those of METHOD and/or path."""
        with self.fake.lock:
            return sum(1 for r in self.requests
                       if (method is None or r.method == method.upper()) and
                       (path is None or r.path == path))

    def counts(self):
        """{(METHOD, path): requests received so far}."""
        out = Counter()
        with self.fake.lock:
            for r in self.requests:
                out[(r.method, r.path)] += 1
        return out

    def _bodies(self, path):
        """(accountId, body) of each JSON object request to POST path."""
        out = []
        for rec in self.requests_to("POST", path):
            try:
                q = jsonlib.loads(rec.body)
            except ValueError:
                continue
            if isinstance(q, dict):
                out.append((q.get("accountId"), q))
        return out

    def issue_checks(self):
        """[(accountId, [issue ids asked, in order])] of every
        permissions/check call that asked about issues."""
        out = []
        for acct, q in self._bodies(PERMISSIONS_CHECK):
            ids = [i for pp in q.get("projectPermissions") or []
                   if isinstance(pp, dict)
                   for i in (pp.get("issues") or [])]
            if ids:
                out.append((acct, ids))
        return out

    def global_checks(self):
        """[(accountId, [global permission keys asked])] of every
        permissions/check call that asked a global permission."""
        return [(acct, list(q["globalPermissions"]))
                for acct, q in self._bodies(PERMISSIONS_CHECK)
                if q.get("globalPermissions")]

    def bulkfetch_calls(self):
        """[[issue ids or keys asked]] of every bulkfetch call."""
        return [list(q.get("issueIdsOrKeys") or [])
                for _, q in self._bodies(BULKFETCH)]

    # What Jira says about users.

    def set_admin(self, account, yes=True):
        """account holds (or loses) the global ADMINISTER permission."""
        with self.fake.lock:
            (self.admins.add if yes else self.admins.discard)(account)

    def grant(self, account, permission, *projects):
        """account holds permission (e.g. BROWSE_PROJECTS,
        ADMINISTER_PROJECTS) in these projects (ids, str or int)."""
        with self.fake.lock:
            self.project_perms.setdefault((account, permission), set()) \
                .update(str(int(p)) for p in projects)

    def revoke(self, account, permission, *projects):
        """Takes permission in these projects (all when none given)."""
        with self.fake.lock:
            have = self.project_perms.setdefault((account, permission),
                                                 set())
            if projects:
                have.difference_update(str(int(p)) for p in projects)
            else:
                have.clear()

    def set_groups(self, account, groups):
        """account's groups: group ids, or (name, groupId) pairs."""
        out = []
        for g in groups:
            name, gid = g if isinstance(g, tuple) else (f"group {g}", g)
            out.append((name, gid))
        with self.fake.lock:
            self.groups[account] = out

    def grant_issues(self, account, *issues, permission=BROWSE):
        """account holds permission (BROWSE_PROJECTS) on these issues
        (ids, str or int)."""
        with self.fake.lock:
            self.issue_perms.setdefault((account, permission), set()) \
                .update(str(int(i)) for i in issues)

    def revoke_issues(self, account, *issues, permission=BROWSE):
        """Takes permission on these issues (all when none given; an
        issue made public stays browsable)."""
        with self.fake.lock:
            have = self.issue_perms.setdefault((account, permission), set())
            if issues:
                have.difference_update(str(int(i)) for i in issues)
            else:
                have.clear()

    def make_public(self, *issues):
        """Every account may browse these issues."""
        with self.fake.lock:
            self.public_issues.update(str(int(i)) for i in issues)

    def make_private(self, *issues):
        with self.fake.lock:
            self.public_issues.difference_update(str(int(i))
                                                 for i in issues)

    def app_key_of(self, module):
        """The full Connect key of an app global permission module."""
        return module if "__" in module else f"{self.app_key}__{module}"

    def set_app_permission(self, account, module, granted):
        """account holds (True), lacks (False) or has the default (None)
        of the app's global permission module ("use-panoramas")."""
        key = self.app_key_of(module)
        with self.fake.lock:
            if granted is None:
                self.app_perm_of.pop((account, key), None)
            else:
                self.app_perm_of[(account, key)] = bool(granted)

    def set_app_permission_default(self, module, granted):
        """Whether accounts not named by set_app_permission hold it;
        also declares a module key the fake did not know."""
        with self.fake.lock:
            self.app_permissions[module] = bool(granted)

    def delete_issues(self, *issues):
        """These issues are gone: bulkfetch leaves them out."""
        with self.fake.lock:
            self.deleted_issues.update(str(int(i)) for i in issues)

    def restore_issues(self, *issues):
        with self.fake.lock:
            self.deleted_issues.difference_update(str(int(i))
                                                  for i in issues)

    def set_existing_issues(self, issues):
        """Only these issue ids exist (None: every id, the default);
        delete_issues still applies."""
        with self.fake.lock:
            self.existing_issues = (None if issues is None else
                                    {str(int(i)) for i in issues})

    def set_bulkfetch_failure(self, mode):
        """None: bulkfetch answers.  "500": a 500.  "garbage": a 200
        that is not JSON.  "timeout": no reply until set back (then a
        503), HANG_MAX seconds at most.  "close": the connection closes
        without a reply."""
        assert mode in (None, "500", "garbage", "timeout", "close"), mode
        with self.fake.lock:
            self.bulkfetch_failure = mode
            if mode == "timeout":
                self.bulkfetch_up.clear()
            else:
                self.bulkfetch_up.set()

    # Part 6: report-accounts.

    def close_accounts(self, *accounts):
        """Atlassian says these accounts are closed from now on."""
        with self.fake.lock:
            self.closed_accounts.update(accounts)

    def update_accounts(self, *accounts):
        """Atlassian says these accounts' profiles were updated."""
        with self.fake.lock:
            self.updated_accounts.update(accounts)

    def script_reports(self, *answers):
        """The next report-accounts answers, in order (the module
        comment, part 6, lists them); "auto" once they are used up."""
        for a in answers:
            assert REPORT_ANSWERS.match(a), a
        with self.fake.lock:
            self.report_script = list(answers)

    def set_cycle_period(self, value):
        """Cycle-Period header on every 200 and 204 (None: none)."""
        with self.fake.lock:
            self.cycle_period = value

    def report_batches(self):
        """[(ids sent, status answered)] of every well-formed request."""
        with self.fake.lock:
            return [(list(ids), st) for ids, st in self.report_log]

    def reported_ids(self):
        """Every id of a request answered 200 or 204, in order sent."""
        return [i for ids, st in self.report_batches() if st in (200, 204)
                for i in ids]

    def report_errors(self):
        """Why each malformed report-accounts request was refused."""
        with self.fake.lock:
            return list(self.report_protocol_errors)

    def _report_check(self, body):
        """The ids of a well-formed request body; ValueError if not."""
        q = jsonlib.loads(body)
        if not isinstance(q, dict) or set(q) != {"accounts"}:
            raise ValueError("not {\"accounts\": [...]}")
        accts = q["accounts"]
        if not isinstance(accts, list) or not \
                1 <= len(accts) <= REPORT_BATCH_MAX:
            raise ValueError(f"1 to {REPORT_BATCH_MAX} accounts")
        ids = []
        for a in accts:
            if not isinstance(a, dict) or set(a) != {"accountId",
                                                     "updatedAt"}:
                raise ValueError("entry not {accountId, updatedAt}")
            i, at = a["accountId"], a["updatedAt"]
            if not isinstance(i, str) or not ACCOUNT_ID.match(i) or \
                    i == "unknown":
                raise ValueError("accountId")
            if not isinstance(at, str) or not RFC3339.match(at):
                raise ValueError("updatedAt")
            ids.append(i)
        if len(set(ids)) != len(ids):
            raise ValueError("an accountId twice")
        return ids

    def _report_accounts(self, rec):
        try:
            ids = self._report_check(rec.body)
        except ValueError as e:
            with self.fake.lock:
                self.report_protocol_errors.append(str(e))
            return 400, {"errorType": "INVALID_REQUEST",
                         "errorMessage": f"bad request: {e}"}
        with self.fake.lock:
            kind = self.report_script.pop(0) if self.report_script \
                else "auto"
            named = [{"accountId": i, "status": "closed"
                      if i in self.closed_accounts else "updated"}
                     for i in ids if i in self.closed_accounts or
                     i in self.updated_accounts]
            cycle = self.cycle_period
        code, _, wait = kind.partition(":")
        headers = {"Cycle-Period": cycle} if cycle is not None else {}
        if code in ("429", "503"):
            out = (int(code), {"errorType": "RATE_LIMITED" if code == "429"
                               else "SERVICE_UNAVAILABLE",
                               "errorMessage": "try later"},
                   {"Retry-After": wait} if wait else {})
        elif code in ("400", "500"):
            out = (int(code), {"errorType": "INVALID_REQUEST" if code ==
                               "400" else "INTERNAL_ERROR",
                               "errorMessage": "refused"}, {})
        elif code == "204" or (code == "auto" and not named):
            out = (204, None, headers)
        elif code == "malformed":
            text = jsonlib.dumps({"accounts": named or [
                {"accountId": ids[0], "status": "closed"}]})
            out = (200, text[:len(text) // 2].encode(), headers)
        elif code == "unsent":
            out = (200, {"accounts": named + [
                {"accountId": "557058:never-sent", "status": "closed"}]},
                   headers)
        else:
            out = (200, {"accounts": named}, headers)
        with self.fake.lock:
            self.report_log.append((ids, out[0]))
        return out

    def set_slow(self, account, seconds):
        """Permission checks about account answer after seconds (0: at
        once): a Jira slow for one caller, to open a race window."""
        with self.fake.lock:
            self.slow[account] = seconds

    def set_down(self, mode="503"):
        """None: up.  "503": every call answered 503.  "close": every
        connection closed without a reply (a dead proxy).  "hang": no
        reply until the site is set up again (then a 503), HANG_MAX
        seconds at most."""
        assert mode in (None, "503", "close", "hang"), mode
        with self.fake.lock:
            self.down = mode
            if mode == "hang":
                self.up.clear()
            else:
                self.up.set()

    def _global_granted(self, acct, key):
        """Whether acct holds global permission key; None: Jira does not
        know the key (400).  Called with the lock held."""
        if key == "ADMINISTER":
            return acct in self.admins
        if "__" not in key:
            return False
        app, _, module = key.partition("__")
        if app != self.app_key or module not in self.app_permissions:
            return None
        return self.app_perm_of.get((acct, key), self.app_permissions[module])

    def _permissions_check(self, rec):
        try:
            q = jsonlib.loads(rec.body)
            if not isinstance(q, dict):
                raise ValueError("not an object")
            acct = q.get("accountId")
            if acct is not None and not isinstance(acct, str):
                raise ValueError("accountId")
            glob = q.get("globalPermissions", [])
            if not isinstance(glob, list) or not all(
                    isinstance(x, str) for x in glob):
                raise ValueError("globalPermissions")
            pps = q.get("projectPermissions", [])
            if not isinstance(pps, list):
                raise ValueError("projectPermissions")
            nissues = 0
            for pp in pps:
                if not isinstance(pp, dict) or not isinstance(
                        pp.get("permissions"), list) or not all(
                        isinstance(x, str) for x in pp["permissions"]):
                    raise ValueError("permissions")
                for what in ("projects", "issues"):
                    ids = pp.get(what, [])
                    if not isinstance(ids, list) or not all(
                            type(x) is int for x in ids):
                        raise ValueError(what)
                nissues += len(pp.get("issues", []))
            if nissues > ISSUES_MAX:
                raise ValueError(f"more than {ISSUES_MAX} issues")
        except ValueError as e:
            return 400, {"errorMessages": [f"bad request: {e}"]}
        with self.fake.lock:
            slow = self.slow.get(acct, 0)
        if slow:
            self.fake.stopping.wait(slow)
        with self.fake.lock:
            granted = {p: self._global_granted(acct, p) for p in glob}
            unknown = [p for p, g in granted.items() if g is None]
            if unknown:
                return 400, {"errorMessages": ["unrecognized global "
                                               "permission"]}
            out = {"globalPermissions": [p for p in glob if granted[p]],
                   "projectPermissions": []}
            merged = {}         # permission -> {"issues", "projects"}
            for pp in pps:
                for perm in pp["permissions"]:
                    have = self.project_perms.get((acct, perm), set())
                    ok = [p for p in pp.get("projects", [])
                          if str(p) in have]
                    mine = self.issue_perms.get((acct, perm), set())
                    pub = self.public_issues if perm == BROWSE else set()
                    iok = [i for i in pp.get("issues", [])
                           if str(i) in mine or str(i) in pub]
                    m = merged.setdefault(perm, {"issues": [],
                                                 "projects": []})
                    m["issues"] += [i for i in iok if i not in m["issues"]]
                    m["projects"] += [p for p in ok
                                      if p not in m["projects"]]
            for perm, m in merged.items():
                if m["issues"] or m["projects"]:
                    out["projectPermissions"].append(
                        {"permission": perm, "issues": m["issues"],
                         "projects": m["projects"]})
        return 200, out

    def _bulkfetch(self, rec):
        try:
            q = jsonlib.loads(rec.body)
            if not isinstance(q, dict):
                raise ValueError("not an object")
            ids = q.get("issueIdsOrKeys")
            if not isinstance(ids, list) or not all(
                    isinstance(x, str) for x in ids):
                raise ValueError("issueIdsOrKeys")
            if not 1 <= len(ids) <= BULKFETCH_MAX:
                raise ValueError(f"1 to {BULKFETCH_MAX} issueIdsOrKeys")
            fields = q.get("fields", [])
            if not isinstance(fields, list) or not all(
                    isinstance(x, str) for x in fields):
                raise ValueError("fields")
        except ValueError as e:
            return 400, {"errorMessages": [f"bad request: {e}"]}
        with self.fake.lock:
            failure = self.bulkfetch_failure
        if failure == "timeout":
            self.bulkfetch_up.wait(HANG_MAX)
            return 503, {"message": "down"}
        if failure == "500":
            return 500, {"errorMessages": ["internal server error"]}
        if failure in ("garbage", "close"):
            return failure, None
        with self.fake.lock:
            found = [i for i in ids if i.isdigit() and
                     (self.existing_issues is None or
                      str(int(i)) in self.existing_issues) and
                     str(int(i)) not in self.deleted_issues]
        return 200, {"expand": "", "issueErrors": [], "issues": [
            {"id": str(int(i)), "key": f"FAKE-{int(i)}",
             "self": f"{self.base_url}/rest/api/3/issue/{int(i)}",
             "fields": {}} for i in found]}

    def _user_groups(self, rec):
        acct = parse_qs(rec.query).get("accountId", [None])
        if len(acct) != 1 or not acct[0]:
            return 400, {"errorMessages": ["accountId is required"]}
        with self.fake.lock:
            if acct[0] in self.unknown_accounts:
                return 404, {"errorMessages": ["no such user"]}
            groups = list(self.groups.get(acct[0], []))
        return 200, [{"name": n, "groupId": g,
                      "self": f"{self.base_url}/rest/api/3/group?groupId={g}"}
                     for n, g in groups]

    def verify(self, rec):
        """Checks rec's JWT as Jira would; sets rec.claims or
        rec.jwt_error.  Returns True when it passes."""
        auth = rec.headers.get("authorization", "")
        if not auth.startswith("JWT "):
            rec.jwt_error = "no JWT Authorization header"
            return False
        token = rec.token = auth[4:]
        try:
            header = jwt.get_unverified_header(token)
            if header.get("alg") != "HS256":
                raise jwt.InvalidTokenError(f"alg {header.get('alg')!r}")
            c = jwt.decode(token, self.shared_secret, algorithms=["HS256"],
                           leeway=self.leeway,
                           options={"require": ["iss", "iat", "exp", "qsh"],
                                    "verify_aud": False})
            if c["iss"] != self.app_key:
                raise jwt.InvalidTokenError(f"iss {c['iss']!r}")
            if not isinstance(c["iat"], int) or not isinstance(c["exp"],
                                                                 int):
                raise jwt.InvalidTokenError("iat/exp not integers")
            if c["iat"] > time.time() + self.leeway:
                raise jwt.InvalidTokenError("iat in the future")
            if c["exp"] - c["iat"] > self.max_ttl:
                raise jwt.InvalidTokenError(
                    f"lifetime {c['exp'] - c['iat']}s > {self.max_ttl}s")
            want = qsh(rec.method, rec.path, rec.query)
            if c["qsh"] != want:
                raise jwt.InvalidTokenError("qsh mismatch")
            if rec.method in ("GET", "HEAD", "DELETE") and rec.body:
                raise jwt.InvalidTokenError(f"body on {rec.method}")
        except jwt.PyJWTError as e:
            rec.jwt_error = f"{type(e).__name__}: {e}"
            return False
        rec.claims = c
        return True


class _Handler(BaseHTTPRequestHandler):
    server_version = "FakeJira"
    sys_version = ""

    def log_message(self, fmt, *args):   # quiet
        pass

    def _send(self, status, body=b"", headers=None):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if body and self.command != "HEAD":
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                # The client gave up (cellar's timeout in "hang" tests).
                pass

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(min(n, MAX_BODY)) if n > 0 else b""

    def _handle(self):
        fake = self.server.fake
        parts = urlsplit(self.path)
        path, query = parts.path, parts.query
        with fake.lock:
            fake.hits[path] += 1
        body = self._body()
        if path.startswith("/keys/"):
            return self._key(fake, path[len("/keys/"):])
        site = fake.site_for(path)
        if site is None:
            return self._send(404, b'{"error":"no such site"}',
                              {"Content-Type": "application/json"})
        rel = path[len(site.base_path):] or "/"
        headers = {k.lower(): v for k, v in self.headers.items()}
        opened = site.open_handler
        if opened is not None:
            # Part 7: the site's own pages and the browser's calls,
            # neither recorded with the app's nor checked for a JWT.
            out = opened(self.command, rel, query, headers, body)
            if out is not None:
                return self._send(*out)
        rec = Recorded(self.command, rel, query, headers, body)
        with fake.lock:
            site.requests.append(rec)
            down = site.down
        if down == "hang":
            site.up.wait(HANG_MAX)
            down = "503"
        if down == "close":
            rec.status = "closed"
            self.close_connection = True
            return None
        if down == "503":
            rec.status = 503
            return self._send(503, b'{"message":"down"}',
                              {"Content-Type": "application/json"})
        if not site.verify(rec):
            rec.status = 401
            return self._send(401, b'{"message":"unauthorized"}',
                              {"Content-Type": "application/json"})
        handler = site.handlers.get((self.command, rel))
        if (self.command, rel) not in site.replies and handler is not None:
            # (status, JSON object) or (status, object or raw bytes or
            # None for no body, extra headers).
            status, obj, *more = handler(rec)
            extra = more[0] if more else {}
            rec.status = status
            if status == "close":
                self.close_connection = True
                return None
            if status == "garbage":
                rec.status = 200
                return self._send(200, b"<html>not json",
                                  {"Content-Type": "application/json"})
            if obj is None and more:
                return self._send(status, b"", extra)
            body = obj if isinstance(obj, bytes) else \
                jsonlib.dumps(obj).encode()
            return self._send(status, body, {
                "Content-Type": "application/json", **extra})
        status, rbody, rheaders = site.replies.get(
            (self.command, rel), (404, b'{"message":"not found"}',
                                  {"Content-Type": "application/json"}))
        rec.status = status
        self._send(status, rbody, rheaders)

    def _key(self, fake, kid):
        with fake.lock:
            reply = fake.key_replies.get(kid)
            pem = fake.install_keys.get(kid)
        if reply is not None:
            if reply.delay:
                fake.stopping.wait(reply.delay)
            return self._send(reply.status, reply.body, reply.headers)
        if pem is None or self.command not in ("GET", "HEAD"):
            return self._send(404, b"Not Found", {"Content-Type":
                                                  "text/plain"})
        return self._send(200, pem, {"Content-Type":
                                     "application/x-pem-file"})

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _handle


class FakeJira:
    """The fake's server; see the module comment.  Use as a context
    manager or call start() and stop()."""

    def __init__(self, app_key=APP_KEY, leeway=30, max_ttl=180):
        self.app_key = app_key
        self.leeway = leeway
        self.max_ttl = max_ttl
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.install_keys = {}      # kid -> PEM bytes
        self.key_replies = {}       # kid -> KeyReply
        self.hits = Counter()       # path -> requests received
        self.sites = {}             # base path -> Site
        self._server = None
        self._thread = None

    # Life.

    def start(self):
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.fake = self
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name="fake-jira", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self.stopping.set()
        with self.lock:
            for site in self.sites.values():
                site.up.set()
                site.bulkfetch_up.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(5)
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def port(self):
        return self._server.server_address[1]

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def keys_url(self):
        """The value for [auth] install_keys_url."""
        return self.url + "/keys"

    # Install keys.

    def add_install_key(self, kid, pem):
        with self.lock:
            self.install_keys[kid] = pem
            self.key_replies.pop(kid, None)

    def new_install_key(self, prefix="kid"):
        """A fresh RSA key pair under a fresh kid (PREFIX-<hex>), its
        public key served from now on.  Returns (private key, kid)."""
        key = new_rsa_key()
        kid = f"{prefix}-{secrets.token_hex(6)}"
        self.add_install_key(kid, public_pem(key))
        return key, kid

    def remove_install_key(self, kid):
        with self.lock:
            self.install_keys.pop(kid, None)

    def set_key_reply(self, kid, status=200, body=b"", delay=0.0,
                      headers=None):
        """Answer GET /keys/<kid> with this instead of the PEM."""
        with self.lock:
            self.key_replies[kid] = KeyReply(status, body, delay, headers)

    def key_hits(self, kid):
        with self.lock:
            return self.hits[f"/keys/{kid}"]

    def total_hits(self):
        with self.lock:
            return sum(self.hits.values())

    # Sites.

    def add_site(self, shared_secret, base_path=None):
        """Registers a Jira site under base_path (default: a random
        /jira-<hex>) verifying tokens signed with shared_secret."""
        base_path = base_path or f"/jira-{secrets.token_hex(6)}"
        site = Site(self, base_path.rstrip("/"), shared_secret, self.app_key,
                    self.leeway, self.max_ttl)
        with self.lock:
            self.sites[site.base_path] = site
        return site

    def site_for(self, path):
        with self.lock:
            for bp, site in self.sites.items():
                if path == bp or path.startswith(bp + "/"):
                    return site
        return None
