"""
Atlassian Connect on the client side, for the integration tests: what
Jira does when it installs an app and calls it.

- RSA key pairs for signed installs (Jira's install keys) and their PEMs;
- the query string hash (qsh) over Atlassian's canonical request;
- token builders: signed-install (RS256, with a kid), page (HS256,
  computed qsh) and context (HS256, qsh "context-qsh") tokens, each with
  every claim overridable or removable;
- a raw builder that assembles a token from hand-made segments (any
  header, any payload bytes, duplicate keys, arrays, any signature), for
  the malformed tokens a server must refuse;
- the lifecycle payload Jira posts to /installed and /uninstalled.

Independent of the C code on purpose: PyJWT and `cryptography` sign,
hashlib/hmac hash, and the canonicalisation follows Atlassian's
reference (Java) implementation, checked against the official vectors
in tests/data/qsh-vectors.tsv (test_auth.py does that first).
"""
import base64
import hashlib
import hmac
import json
import secrets
import time
import uuid
from urllib.parse import unquote_to_bytes, urlsplit

import jwt
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

CONTEXT_QSH = "context-qsh"
DEFAULT_TTL = 180           # seconds: what Jira gives its tokens
APP_KEY = "cellar-dev"      # [app] key of the test stacks

# RFC 3986 unreserved characters: the only ones percent-encoding leaves.
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                        b"0123456789-._~")


# Keys.

def new_rsa_key(bits=2048):
    """A fresh RSA private key (cryptography object)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def public_pem(key):
    """The SubjectPublicKeyInfo PEM ("BEGIN PUBLIC KEY") of a private or
    public key, as bytes: what Atlassian's key server returns."""
    pub = key.public_key() if hasattr(key, "public_key") else key
    return pub.public_bytes(serialization.Encoding.PEM,
                            serialization.PublicFormat.SubjectPublicKeyInfo)


def private_pem(key):
    return key.private_bytes(serialization.Encoding.PEM,
                             serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def new_secret(n=48):
    """A shared secret like Jira's (printable, 32-512 characters)."""
    return secrets.token_urlsafe(n)[:max(32, n)]


# qsh.

def percent_encode(s):
    """RFC 3986 encoding of bytes, or of a str's UTF-8: only A-Za-z0-9-._~
    stay literal."""
    if isinstance(s, str):
        s = s.encode("utf-8")
    return "".join(chr(b) if b in _UNRESERVED else f"%{b:02X}" for b in s)


def form_decode(s):
    """application/x-www-form-urlencoded decoding to bytes ('+' is a
    space); bytes, not str, so that sorting is by byte."""
    return unquote_to_bytes(s.replace("+", " "))


def canonical_query(query):
    """The canonical query of a raw query string (without '?'), as
    Atlassian's Java reference (HttpRequestCanonicalizer) builds it: every
    parameter but jwt, names and values form-decoded ('+' is a space);
    names sorted by their percent-encoded form ("a%2F" before "a.", though
    "a." < "a/"), the values of a repeated name sorted by their decoded
    form (".1" before ":1", though "%3A1" < ".1") and joined with ','."""
    params = {}
    for part in (query or "").split("&"):
        if part == "":
            continue
        name, _, value = part.partition("=")
        name, value = form_decode(name), form_decode(value)
        if name == b"jwt":
            continue
        params.setdefault(name, []).append(value)
    out = []
    for name in sorted(params, key=percent_encode):
        values = ",".join(percent_encode(v) for v in sorted(params[name]))
        out.append(f"{percent_encode(name)}={values}")
    return "&".join(out)


def canonical_path(path):
    """The canonical path: "/" when empty, no trailing slash, '&' as %26."""
    path = path or "/"
    if not path.startswith("/"):
        path = "/" + path
    # The reference removes one trailing slash (StringUtils.removeEnd).
    if len(path) > 1 and path.endswith("/"):
        path = path[:-1]
    return path.replace("&", "%26")


def canonical_request(method, path, query=""):
    """METHOD & canonical path & canonical query.  path may carry the
    query itself ("/x?a=1") when query is not given."""
    if "?" in path and not query:
        path, _, query = path.partition("?")
    return (f"{method.upper()}&{canonical_path(path)}&"
            f"{canonical_query(query)}")


def qsh(method, path, query=""):
    """SHA-256 hex of the canonical request."""
    return hashlib.sha256(canonical_request(method, path, query)
                          .encode("utf-8")).hexdigest()


def qsh_of_url(method, url, base_path=""):
    """qsh of a full URL (or path with query) relative to base_path."""
    parts = urlsplit(url)
    path = parts.path
    if base_path and (path == base_path or path.startswith(base_path + "/")):
        path = path[len(base_path):]
    return qsh(method, path, parts.query)


# Raw tokens.

def b64url(data):
    """base64url without padding, of bytes or of a str's UTF-8."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(seg):
    return base64.urlsafe_b64decode(seg + "=" * (-len(seg) % 4))


def _segment_bytes(part):
    """A header or payload: a dict/list/number (serialised compactly) or
    raw bytes/str taken as they are (duplicate keys, bad JSON...)."""
    if isinstance(part, bytes):
        return part
    if isinstance(part, str):
        return part.encode("utf-8")
    return json.dumps(part, separators=(",", ":")).encode("utf-8")


def hs_sign(signing_input, secret, digest=hashlib.sha256):
    """HMAC of the signing input with any secret (str or bytes): also a
    PEM, which PyJWT refuses to use as an HMAC key."""
    if isinstance(secret, str):
        secret = secret.encode("utf-8")
    if isinstance(signing_input, str):
        signing_input = signing_input.encode("ascii")
    return hmac.new(secret, signing_input, digest).digest()


def rs_sign(signing_input, key):
    """RSASSA-PKCS1-v1_5 with SHA-256 (RS256) by a private key."""
    if isinstance(signing_input, str):
        signing_input = signing_input.encode("ascii")
    return key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())


def raw_token(header, payload, secret=None, signature=None,
              digest=hashlib.sha256, rsa_key=None):
    """header.payload.signature built by hand.  header/payload: see
    _segment_bytes.  The signature is, in order of preference: the
    given str (already base64url) or bytes (encoded here), an RS256
    signature by rsa_key, an HMAC with secret, or "" (unsigned)."""
    signing_input = (f"{b64url(_segment_bytes(header))}."
                     f"{b64url(_segment_bytes(payload))}")
    if signature is not None:
        sig = signature if isinstance(signature, str) else b64url(signature)
    elif rsa_key is not None:
        sig = b64url(rs_sign(signing_input, rsa_key))
    elif secret is not None:
        sig = b64url(hs_sign(signing_input, secret, digest))
    else:
        sig = ""
    return f"{signing_input}.{sig}"


def decode_unverified(token):
    """(header, payload) of a token, without checking anything."""
    h, p, _ = token.split(".")
    return json.loads(b64url_decode(h)), json.loads(b64url_decode(p))


# Claims and tokens.

def claims(iss, qsh_value, now=None, ttl=DEFAULT_TTL, omit=(), **extra):
    """Jira's claims: iss, qsh, iat = now, exp = now + ttl, plus extra
    (a value of None removes that claim, as does naming it in omit)."""
    now = int(time.time()) if now is None else now
    c = {"iss": iss, "qsh": qsh_value, "iat": now, "exp": now + ttl}
    c.update(extra)
    return {k: v for k, v in c.items() if k not in omit and v is not None}


def install_token(key, kid, iss, aud, method="POST", path="/installed",
                  qsh_value=None, headers=None, **kw):
    """A signed-install token as Jira sends to /installed and
    /uninstalled: RS256 with the install key, header kid, aud = the
    app's base URL, iss = the clientKey, qsh of the lifecycle call.
    kw: see claims (now, ttl, omit, extra claims)."""
    c = claims(iss, qsh(method, path) if qsh_value is None else qsh_value,
               aud=aud, **kw)
    h = {"kid": kid}
    h.update(headers or {})
    if h.get("kid") is None:
        del h["kid"]
    return jwt.encode(c, key, algorithm="RS256", headers=h)


def page_token(secret, iss, method, path, query="", qsh_value=None,
               algorithm="HS256", headers=None, **kw):
    """A page/webhook token: HS256 with the tenant's shared secret and
    the qsh of this very request (path relative to the app's base URL,
    query without jwt)."""
    c = claims(iss, qsh(method, path, query) if qsh_value is None
               else qsh_value, **kw)
    return jwt.encode(c, secret, algorithm=algorithm, headers=headers)


def context_token(secret, iss, algorithm="HS256", headers=None, **kw):
    """A context token (AP.context.getToken()): HS256, qsh
    "context-qsh", a context claim."""
    kw.setdefault("context", {"jira": {"project": {"id": "10000"}}})
    kw.setdefault("sub", "557058:f1c3c0a8-0000-4000-8000-00000000a11c")
    c = claims(iss, kw.pop("qsh_value", CONTEXT_QSH), **kw)
    return jwt.encode(c, secret, algorithm=algorithm, headers=headers)


def app_token(secret, app_key, method, path, query="", ttl=DEFAULT_TTL,
              **kw):
    """What the app sends to Jira: iss = app key, qsh of the call."""
    return jwt.encode(claims(app_key, qsh(method, path, query), ttl=ttl,
                             **kw), secret, algorithm="HS256")


def auth_header(token):
    return {"Authorization": f"JWT {token}"}


# Lifecycle payloads.

def install_payload(client_key, shared_secret, base_url, event="installed",
                    key=APP_KEY, **fields):
    """The JSON body of /installed or /uninstalled.  fields override or
    add fields; a value of None removes that field."""
    body = {
        "key": key,
        "clientKey": client_key,
        "sharedSecret": shared_secret,
        "baseUrl": base_url,
        "displayUrl": base_url,
        "productType": "jira",
        "description": "Atlassian JIRA at " + base_url,
        "eventType": event,
        "serverVersion": "100217",
        "pluginsVersion": "1001.0.0-SNAPSHOT",
        "serviceEntitlementNumber": "SEN-" + secrets.token_hex(4),
        "oauthClientId": secrets.token_urlsafe(24),
    }
    body.update(fields)
    return {k: v for k, v in body.items() if v is not None}


def install(st, key, kid, base_url, secret, client_key=None, **fields):
    """A signed install (or, given its client_key, reinstall) through
    stack st, as Jira sends it: key and kid are the install key the
    stack trusts; fields go into the payload (install_payload), e.g.
    installationId and cloudId of a Connect app on Forge.  Asserts 204;
    returns the client key."""
    client_key = client_key or str(uuid.uuid4())
    body = install_payload(client_key, secret, base_url, **fields)
    tok = install_token(key, kid, client_key, aud=st.base_url)
    r = st.request("POST", "/installed", json=body,
                   headers={"Authorization": f"JWT {tok}"})
    assert r.status_code == 204, (r.status_code, r.text)
    return client_key


# Users.

def new_account_id():
    """A fresh Atlassian account id in the usual "557058:<uuid>" shape
    (only [A-Za-z0-9:_-])."""
    return f"557058:{uuid.uuid4()}"


def user_context(project_id=None, issue_key=None):
    """The context claim of a context token: {"jira": {"project": {"id"},
    "issue": {"key"}}} with what is given; {"jira": {}} without either
    (a page outside any project)."""
    jira = {}
    if project_id is not None:
        jira["project"] = {"id": project_id}
    if issue_key is not None:
        jira["issue"] = {"key": issue_key}
    return {"jira": jira}
