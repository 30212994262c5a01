"""
A fake Forge for the integration tests: what Atlassian's platform does
when it calls a Forge Remote (cellar) and when cellar calls back.  It
lives on a jira_fake.FakeJira server (the module's `fake`), as sites of
that server, reusing its request recording and Jira answers:

1. The key set that signs Forge Invocation Tokens (FITs), served as
   Atlassian does at <base>/.well-known/jwks.json with a Cache-Control
   max-age; every GET is counted, keys can be rotated in and out.

       forge = FakeForge(fake)
       # drop-in: forge.drop_in() ([forge] app_id, jwks_url, report_url)
       forge.jwks_hits()           # GETs of the key set so far
       kid = forge.rotate()        # a new key, served first from now on
       forge.rotate(drop_old=True) # ... and the others gone

2. Installations: an installation id, its site's cloud id and its
   app.apiBaseUrl, a site of the fake under /ex/jira/<cloudId> (what
   api.atlassian.com serves).  That site is a jira_fake Site (the same
   permissions/check, user/groups... and canned replies) whose requests
   must carry "Authorization: Bearer <an app system token this fake
   issued for the installation, not expired>" instead of a Connect JWT.

       inst = forge.installation()
       inst.site.set_admin(acct)       # what Jira says, as jira_fake
       sys = inst.system_token()       # x-forge-oauth-system (~2 KiB)
       rec = inst.site.wait_request("POST", PERMISSIONS_CHECK)
       rec.token == sys

3. FITs in the official shape ("Forge remote essentials": app with
   installationId, apiBaseUrl, appVersion, environment, module, license
   and installation contexts; context with cloudId, siteUrl, moduleKey,
   localId and the extension; principal), signed RS256 by the current
   key with its kid; any claim overridable (None removes it), any other
   key or algorithm.

       tok = forge.fit(inst, principal=acct, project="10000")
       tok = forge.fit(inst, event=True)          # a trigger's: no user
       tok = forge.fit(inst, aud="...", exp=...)  # a wrong one

4. Atlassian's personal-data API as a Forge app reaches it ([forge]
   report_url, Atlassian's https://api.atlassian.com/app/report-accounts/;
   drop_in() points cellar here): POST with "Authorization: Bearer <an
   app system token this fake issued, not expired>" (else 401, the
   reason in forge.report.token_errors()).  The body and the answers are
   jira_fake's part 6 for Connect: the same checks, close_accounts /
   update_accounts, script_reports("204", "429:2", ...), "auto" when the
   script is used up; each request is recorded with the installation
   whose token it carried.  set_delay(s) holds every answer s seconds.

       forge.report.close_accounts(acct)
       forge.report.script_reports("auto", "429:2")
       forge.report.batches(inst)    # [(ids sent, status)] of inst's
       forge.report.tokens(inst)     # the Bearer token of each request

Nothing here talks to the network beyond 127.0.0.1, and nothing here
is shared with the C code: PyJWT and `cryptography` sign.
"""
import json
import secrets
import time
import uuid

import jwt

from atlassian import b64url, new_rsa_key, public_pem
from jira_fake import Site

FIT_ISSUER = "forge/invocation-token"
FIT_TTL = 25                # seconds: what Forge gives its tokens
SYSTEM_TOKEN_TTL = 3600
MAX_AGE = 600               # the key set's Cache-Control max-age
# Below the report site, as Atlassian documents it: with the trailing
# slash.  cellar's config drops a URL's trailing slash and cellar posts
# to report_url + "/" (a redirect from one form to the other would be
# refused: cellar never follows one).
REPORT_PATH = "/app/report-accounts/"


def jwk(key, kid):
    """The public JWK of an RSA key, as in Atlassian's set."""
    nums = key.public_key().public_numbers()

    def b(v):
        return b64url(v.to_bytes((v.bit_length() + 7) // 8, "big"))
    return {"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
            "n": b(nums.n), "e": b(nums.e)}


def new_kid():
    """A kid shaped like Atlassian's."""
    return f"forge/invocation-token/wf-{uuid.uuid4()}"


class _KeySetSite(Site):
    """The key service: no token asked for, replies canned."""

    def verify(self, rec):
        rec.claims = {}
        return True


class _ApiSite(Site):
    """An installation's app.apiBaseUrl: Jira's answers (jira_fake),
    but authenticated with an app system token as a Bearer."""

    def __init__(self, *a, installation, **kw):
        super().__init__(*a, **kw)
        self.installation = installation

    def verify(self, rec):
        auth = rec.headers.get("authorization", "")
        if not auth.startswith("Bearer "):
            rec.jwt_error = "no Bearer Authorization header"
            return False
        rec.token = auth[len("Bearer "):]
        exp = self.installation.tokens.get(rec.token)
        if exp is None:
            rec.jwt_error = "not a system token of this installation"
            return False
        if exp <= time.time():
            rec.jwt_error = "system token expired"
            return False
        if rec.method in ("GET", "HEAD", "DELETE") and rec.body:
            rec.jwt_error = f"body on {rec.method}"
            return False
        rec.claims = {"system_token": True}
        return True


class _ReportSite(Site):
    """The personal-data API of Forge apps (module comment, part 4):
    jira_fake's part 6 answers, behind an app system token."""

    def __init__(self, *a, forge, **kw):
        super().__init__(*a, **kw)
        self.forge = forge
        self.delay = 0.0
        self.log = []               # (installation id, ids, status, token)
        self.bad_tokens = []
        self.handlers = {("POST", REPORT_PATH): self._forge_report}

    def verify(self, rec):
        auth = rec.headers.get("authorization", "")
        rec.installation = None
        if not auth.startswith("Bearer "):
            rec.jwt_error = "no Bearer Authorization header"
        else:
            rec.token = auth[len("Bearer "):]
            with self.fake.lock:
                insts = list(self.forge.installations.values())
            for inst in insts:
                exp = inst.tokens.get(rec.token)
                if exp is not None:
                    rec.installation = inst
                    if exp <= time.time():
                        rec.jwt_error = "system token expired"
                    break
            else:
                rec.jwt_error = "not a system token of this app"
        if rec.installation is None or rec.jwt_error:
            with self.fake.lock:
                self.bad_tokens.append(rec.jwt_error)
            return False
        rec.claims = {"system_token": True}
        return True

    def set_delay(self, seconds):
        """Every answer waits this long (0: none)."""
        with self.fake.lock:
            self.delay = seconds

    def _forge_report(self, rec):
        with self.fake.lock:
            delay = self.delay
        if delay:
            self.fake.stopping.wait(delay)
        try:
            ids = self._report_check(rec.body)
        except ValueError:
            ids = None
        out = self._report_accounts(rec)
        if ids is not None:
            with self.fake.lock:
                self.log.append((rec.installation.id, ids, out[0],
                                 rec.token))
        return out

    def batches(self, inst):
        """[(ids sent, status answered)] of inst's well-formed
        requests, in order."""
        with self.fake.lock:
            return [(list(ids), st) for i, ids, st, _ in self.log
                    if i == inst.id]

    def tokens(self, inst):
        """The Bearer token of each of inst's well-formed requests."""
        with self.fake.lock:
            return [tok for i, _, _, tok in self.log if i == inst.id]

    def token_errors(self):
        """Why each request refused with 401 was refused."""
        with self.fake.lock:
            return list(self.bad_tokens)


class Installation:
    """A Forge installation of the app on one site."""

    def __init__(self, forge, cloud_id=None):
        self.forge = forge
        self.id = f"ari:cloud:ecosystem::installation/{uuid.uuid4()}"
        self.cloud_id = cloud_id or str(uuid.uuid4())
        self.tokens = {}            # system token -> exp
        with forge.fake.lock:
            forge.installations[self.id] = self
        base = f"/ex/jira/{self.cloud_id}"
        fake = forge.fake
        self.site = _ApiSite(fake, base, None, fake.app_key, fake.leeway,
                             fake.max_ttl, installation=self)
        with fake.lock:
            fake.sites[base] = self.site

    @property
    def api_base_url(self):
        return self.site.base_url

    def system_token(self, ttl=SYSTEM_TOKEN_TTL):
        """A fresh app system token (x-forge-oauth-system) good for ttl
        seconds: a JWT of about 2 KiB like Atlassian's (its exp is what
        cellar reads; its signature is nobody's business but ours)."""
        now = int(time.time())
        claims = {
            "iss": "https://auth.atlassian.com",
            "sub": f"{uuid.uuid4()}@connect.atlassian.com",
            "aud": "api.atlassian.com",
            "iat": now, "nbf": now, "exp": now + ttl,
            "jti": secrets.token_hex(16),
            "https://atlassian.com/systemAccountId": str(uuid.uuid4()),
            "https://atlassian.com/appId": self.forge.app_id,
            "https://atlassian.com/installationId": self.id,
            "https://atlassian.com/firstParty": False,
            "https://atlassian.com/verified": True,
            "https://atlassian.com/3lo": False,
            "https://atlassian.com/oauthClientId": secrets.token_hex(16),
            "https://id.atlassian.com/processRegion": "us-east-1",
            "https://atlassian.com/emailDomain": "connect.atlassian.com",
            "https://atlassian.com/systemAccountEmailDomain":
                "connect.atlassian.com",
            "client_auth_type": "POST",
            "https://id.atlassian.com/session_id": str(uuid.uuid4()),
            "https://id.atlassian.com/atlassianAccountId":
                f"557058:{uuid.uuid4()}",
            "scope": " ".join([
                "read:app-system-token", "read:jira-work",
                "read:jira-user", "write:jira-work", "manage:jira-project",
                "read:me", "read:account", "report:personal-data",
                "storage:app"]),
            "https://id.atlassian.com/ujt": str(uuid.uuid4()),
            "https://atlassian.com/org_id": str(uuid.uuid4()),
            "context": [f"ari:cloud:jira::site/{self.cloud_id}",
                        f"ari:cloud:ecosystem::installation/"
                        f"{self.id.rpartition('/')[2]}"],
        }
        tok = jwt.encode(claims, self.forge.system_key, algorithm="RS256",
                         headers={"kid": "auth.atlassian.com/system"})
        self.tokens[tok] = now + ttl
        return tok


class FakeForge:
    """See the module comment."""

    def __init__(self, fake, app_id=None, max_age=MAX_AGE):
        self.fake = fake
        self.app_id = app_id or f"ari:cloud:ecosystem::app/{uuid.uuid4()}"
        self.max_age = max_age
        self.system_key = new_rsa_key()
        self.keys = []              # [(kid, private key)], newest first
        base = f"/forge-{secrets.token_hex(4)}/.well-known"
        self.key_site = _KeySetSite(fake, base, None, fake.app_key,
                                    fake.leeway, fake.max_ttl)
        with fake.lock:
            fake.sites[base] = self.key_site
        self.installations = {}     # id -> Installation
        base = f"/forge-{secrets.token_hex(4)}-api"
        self.report = _ReportSite(fake, base, None, fake.app_key,
                                  fake.leeway, fake.max_ttl, forge=self)
        with fake.lock:
            fake.sites[base] = self.report
        self.rotate()

    @property
    def jwks_url(self):
        return self.key_site.base_url + "/jwks.json"

    @property
    def report_url(self):
        return self.report.base_url + REPORT_PATH.rstrip("/")

    def drop_in(self):
        """The [forge] lines of a stack that trusts this fake."""
        return (f"[forge]\napp_id = {self.app_id}\n"
                f"jwks_url = {self.jwks_url}\n"
                f"report_url = {self.report_url}\n")

    def jwks(self):
        """The key set as served: every key, and an EC key to skip."""
        return {"keys": [jwk(k, kid) for kid, k in self.keys] + [
            {"kty": "EC", "kid": "forge/invocation-token/ec-skip",
             "use": "sig", "alg": "ES256", "crv": "P-256",
             "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
             "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}

    def _serve(self):
        self.key_site.reply("GET", "/jwks.json", json=self.jwks(),
                            headers={"Cache-Control":
                                     f"public, max-age={self.max_age}"})

    def rotate(self, drop_old=False):
        """A new signing key, first in the set from now on; returns its
        kid."""
        kid = new_kid()
        self.keys = [(kid, new_rsa_key())] + ([] if drop_old else
                                               self.keys)
        self._serve()
        return kid

    def jwks_hits(self):
        return self.key_site.count("GET", "/jwks.json")

    def public_pem(self, kid=None):
        kid = kid or self.keys[0][0]
        return public_pem(dict(self.keys)[kid])

    def installation(self, cloud_id=None):
        return Installation(self, cloud_id)

    def claims(self, inst, principal=None, project=None, issue=None,
               event=False, now=None, ttl=FIT_TTL, **override):
        """A FIT's claims in the official shape; override replaces a
        claim (None removes it)."""
        now = int(time.time()) if now is None else now
        env_id = str(uuid.uuid4())
        app_uuid = self.app_id.rpartition("/")[2]
        c = {
            "app": {
                "installationId": inst.id,
                "apiBaseUrl": inst.api_base_url,
                "id": self.app_id,
                "appVersion": "2.14.0",
                "environment": {
                    "type": "PRODUCTION",
                    "id": f"ari:cloud:ecosystem::environment/{app_uuid}/"
                          f"{env_id}"},
                "module": {"type": "core:endpoint" if event else
                           "jira:issuePanel",
                           "key": "cellar-events" if event else
                           "cellar-panel"},
                "license": {
                    "isActive": True, "billingPeriod": "MONTHLY",
                    "ccpEntitlementId": str(uuid.uuid4()),
                    "ccpEntitlementSlug": "E-3SY-ABC-DEF-GHI",
                    "isEvaluation": False, "subscriptionEndDate": None,
                    "supportEntitlementNumber": "SEN-L12345678",
                    "trialEndDate": None, "type": "commercial",
                    "capabilitySet": "capabilityStandard"},
                "installation": {
                    "ari": {"installationId": inst.id.rpartition("/")[2]},
                    "contexts": [{
                        "ari": f"ari:cloud:jira::site/{inst.cloud_id}",
                        "cloudId": inst.cloud_id,
                        "workspaceId": inst.cloud_id,
                        "apiBaseUrl": inst.api_base_url}]},
            },
            "iss": FIT_ISSUER,
            "aud": self.app_id,
            "iat": now, "nbf": now, "exp": now + ttl,
            "jti": str(uuid.uuid4()),
        }
        if not event:
            ext = {"type": "jira:issuePanel", "isNewToIssue": False}
            if project is not None:
                ext["project"] = {"id": str(project), "key": "OPS",
                                  "type": "software"}
            if issue is not None:
                ext["issue"] = {"id": str(issue), "key": "OPS-42",
                                "type": "Task", "typeId": "10001"}
                ext["location"] = ("https://example.atlassian.net/browse/"
                                   "OPS-42")
            c["context"] = {
                "localId": f"ari:cloud:ecosystem::extension/{app_uuid}/"
                           f"{env_id}/static/cellar-panel",
                "cloudId": inst.cloud_id,
                "moduleKey": "cellar-panel",
                "siteUrl": "https://example.atlassian.net",
                "environmentId": env_id,
                "environmentType": "PRODUCTION",
                "product": "jira",
                "extension": ext,
                "accountType": "licensed",
                "locale": "en-US",
                "timezone": "Europe/Berlin",
                "userAccess": {"enabled": False},
            }
            if principal is not None:
                c["principal"] = principal
        for k, v in override.items():
            if v is None:
                c.pop(k, None)
            else:
                c[k] = v
        return c

    def sign(self, claims, kid=None, key=None, algorithm="RS256",
             headers=None):
        """claims signed: by default RS256 with the current key and its
        kid; key may be any private key (or an HMAC secret)."""
        kid = kid if kid is not None else self.keys[0][0]
        if key is None:
            key = dict(self.keys).get(kid, self.keys[0][1])
        h = {"kid": kid, **(headers or {})}
        return jwt.encode(claims, key, algorithm=algorithm, headers=h)

    def fit(self, inst, kid=None, key=None, algorithm="RS256", **kw):
        return self.sign(self.claims(inst, **kw), kid=kid, key=key,
                         algorithm=algorithm)

    @staticmethod
    def headers(fit, system_token=None):
        h = {"Authorization": f"Bearer {fit}"}
        if system_token is not None:
            h["x-forge-oauth-system"] = system_token
        return h


def event_body(event_type, **fields):
    """What Forge posts to a remote's trigger endpoint: the event."""
    body = {"eventType": event_type, **fields}
    return json.loads(json.dumps(body))
