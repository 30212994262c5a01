"""
The pages Jira frames, as nginx serves them (issue 14), through the real
nginx and workers of tests/stack.

The static files are built from src/ui by src/ui/build-assets into the
module's own www directory (so the test serves the sources as they are,
whatever build/www holds), and the stack serves that directory
(CELLAR_STACK_WWW).  Page tokens are made by atlassian.py, independently
of the C code.

What a user (and Jira) relies on:
- hashed modules and styles come with a year's immutable cache, their
  own MIME type and nosniff; a missing one is a JSON 404 cached nowhere;
- a page opened with a valid page token is the built HTML with the
  all.js URL of the configuration, under a policy framing it only by
  the tenant's own site (its installed base URL, never the xdm_e Jira
  adds to the URL), loading scripts only from us and all.js's origin,
  never stored, sending no Referer;
- every token that is missing, forged, expired, for another URL or of
  another tenant gets the same "open this page from Jira" page, which
  holds nothing of the page;
- the access log holds no query string, so no token;
- the descriptor declares every page, and every page it names exists;
- a change in a module renames it and every page that loads it.
"""
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest

import atlassian as atl
from harness import REPO, internal_errors, leaks, raw_http, read_text

BUILD_ASSETS = REPO / "src" / "ui" / "build-assets"
PAGES = ("picker", "templates", "panoramas", "issue-panoramas", "admin")
HASHED = re.compile(r"^(?P<stem>.+)\.(?P<hash>[0-9a-f]{10})\.(?P<ext>js|css)$")
DENIED_TITLE = "Open this page from Jira"
YEAR = "public, max-age=31536000, immutable"


def build(src, out):
    """Runs build-assets; (returncode, stderr)."""
    p = subprocess.run([sys.executable, str(BUILD_ASSETS), str(src),
                        str(out)], capture_output=True, text=True,
                       timeout=60)
    return p.returncode, p.stderr


def tree(d):
    """{relative path: bytes} of every file below d."""
    d = Path(d)
    return {str(p.relative_to(d)): p.read_bytes()
            for p in sorted(d.rglob("*")) if p.is_file()}


def csp_directives(value):
    """{directive: [sources]} of a Content-Security-Policy value."""
    out = {}
    for part in value.split(";"):
        words = part.split()
        if words:
            out[words[0]] = words[1:]
    return out


class Env:
    def __init__(self, st, fake, www, all_js):
        self.st = st
        self.fake = fake
        self.www = www
        self.all_js = all_js
        self.key, self.kid = fake.new_install_key("ui")
        self.tokens = []
        self.secrets = []

    def install(self, host=None):
        """A tenant whose site is https://<host>; (client key, secret,
        site origin)."""
        host = host or f"site-{secrets.token_hex(5)}.atlassian.net"
        secret = atl.new_secret()
        self.secrets.append(secret)
        origin = f"https://{host}"
        ck = atl.install(self.st, self.key, self.kid, origin, secret)
        return ck, secret, origin

    def page_url(self, page, ck, secret, extra=None, sign_query=None,
                 sign_path=None, **kw):
        """/ui/<page>?<Jira's parameters>&jwt=<page token>; the token
        signs sign_path/sign_query instead when given (a mismatch)."""
        params = {"xdm_e": "https://evil.example.com", "xdm_c": "channel-1",
                  "cp": "", "lic": "none", "cv": "1001.0.0", "ptoken": "",
                  "issueId": "10001", "issueKey": "KEY-1",
                  "projectId": "10000"}
        params.update(extra or {})
        query = urlencode(params)
        tok = atl.page_token(secret, kw.pop("iss", ck), "GET",
                             sign_path or f"/ui/{page}",
                             query if sign_query is None else sign_query,
                             **kw)
        self.tokens.append(tok)
        return f"/ui/{page}?{query}&jwt={tok}"


@pytest.fixture(scope="module")
def env(module_stacks, fake, tmp_path_factory):
    www = tmp_path_factory.mktemp("www")
    rc, err = build(REPO / "src" / "ui", www)
    assert rc == 0, err
    # all.js from a loopback host: http is allowed there.
    all_js = f"{fake.url}/atlassian/all.js"
    drop_in = (f"[auth]\ninstall_keys_url = {fake.keys_url}\n"
               f"fetch_interval = 0\n\n[ui]\nall_js_url = {all_js}\n")
    old = os.environ.get("CELLAR_STACK_WWW")
    os.environ["CELLAR_STACK_WWW"] = str(www)
    try:
        st = module_stacks({"50-ui.conf": drop_in}, workers=2, tag="stack",
                           checks=[internal_errors])
    finally:
        if old is None:
            del os.environ["CELLAR_STACK_WWW"]
        else:
            os.environ["CELLAR_STACK_WWW"] = old
    e = Env(st, fake, www, all_js)
    module_stacks.check(st, lambda st: leaks(
        [st.access_log, st.app_log, st.nginx_error_log],
        [("token", t) for t in e.tokens] +
        [("secret", s) for s in e.secrets] +
        [("query string", re.compile(r"\?[A-Za-z_]+="))]))
    return e


@pytest.fixture(scope="module")
def tenant(env):
    return env.install()


# ------------------------------------------------------------ static files

def test_hashed_assets_are_immutable_with_their_type(env):
    static = env.www / "ui" / "static"
    files = sorted(p for p in static.rglob("*") if p.is_file())
    assert any(p.suffix == ".js" for p in files)
    assert any(p.suffix == ".css" for p in files)
    for p in files:
        rel = p.relative_to(env.www).as_posix()
        assert HASHED.match(p.name), rel
        r = env.st.get(f"/{rel}")
        assert r.status_code == 200, (rel, r.status_code)
        assert r.content == p.read_bytes(), rel
        want = ("application/javascript" if p.suffix == ".js" else
                "text/css")
        assert r.headers["Content-Type"].split(";")[0] == want, rel
        assert r.headers["Cache-Control"] == YEAR, rel
        assert r.headers["X-Content-Type-Options"] == "nosniff", rel
        assert "X-Frame-Options" not in r.headers


def test_missing_asset_is_a_json_404_cached_nowhere(env):
    for path in ("/ui/static/nope.0123456789.js", "/ui/static/",
                 "/ui/static/lib", "/ui/icons/nope.svg", "/ui/nope",
                 "/ui/pages/picker.html", "/_cellar_ui/auth",
                 "/_cellar_ui/denied-401"):
        r = env.st.get(path)
        assert r.status_code == 404, (path, r.status_code)
        assert r.json()["error"] == "not_found", path
        # JSON, whatever type the path's extension (.html) would give.
        assert r.headers["Content-Type"].startswith("application/json"), \
            (path, r.headers["Content-Type"])
        assert r.headers["Cache-Control"] == "no-store", path
        assert "immutable" not in r.headers["Cache-Control"]


def test_icons_are_svg_cached_a_day(env):
    icons = sorted((env.www / "ui" / "icons").glob("*.svg"))
    assert icons
    for p in icons:
        r = env.st.get(f"/ui/icons/{p.name}")
        assert r.status_code == 200, p.name
        assert r.headers["Content-Type"].split(";")[0] == "image/svg+xml"
        assert r.headers["Cache-Control"] == "public, max-age=86400"
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert "script" not in r.text.lower()
        # Accessible: a title names the image.
        assert re.search(r"<title[^>]*>[^<]+</title>", r.text)


# ------------------------------------------------------------------ pages

def test_page_with_a_valid_token_is_served_with_its_policy(env, tenant):
    ck, secret, origin = tenant
    js_origin = "{0.scheme}://{0.netloc}".format(urlsplit(env.all_js))
    for page in PAGES:
        r = env.st.get(env.page_url(page, ck, secret))
        assert r.status_code == 200, (page, r.status_code, r.text[:200])
        assert r.headers["Content-Type"] == "text/html; charset=utf-8"
        built = (env.www / "ui" / "pages" / f"{page}.html").read_text()
        assert "@CELLAR_ALL_JS@" in built
        assert r.text == built.replace("@CELLAR_ALL_JS@", env.all_js), page
        # Every file the page names is served.
        for ref in re.findall(r'(?:src|href)="(static/[^"]+)"', r.text):
            assert env.st.get(f"/ui/{ref}").status_code == 200, ref
        csp = csp_directives(r.headers["Content-Security-Policy"])
        assert csp["frame-ancestors"] == [origin], page
        assert "evil.example.com" not in r.headers["Content-Security-Policy"]
        assert csp["script-src"] == ["'self'", js_origin]
        assert csp["default-src"] == ["'none'"]
        assert csp["style-src"] == ["'self'"]
        assert csp["connect-src"] == ["'self'"]
        assert csp["base-uri"] == ["'none'"]
        assert csp["form-action"] == ["'none'"]
        assert r.headers["Cache-Control"] == "no-store"
        assert r.headers["Referrer-Policy"] == "no-referrer"
        assert r.headers["Cross-Origin-Opener-Policy"] == \
            "same-origin-allow-popups"
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert "X-Frame-Options" not in r.headers
        assert "X-Cellar-All-Js" not in r.headers


def test_frame_ancestors_follow_the_installed_site_not_xdm_e(env):
    """Two tenants, each page framed by its own site only, whatever
    xdm_e the URL carries (here: the other tenant's site)."""
    a = env.install()
    b = env.install()
    for (ck, secret, origin), other in ((a, b[2]), (b, a[2])):
        r = env.st.get(env.page_url("templates", ck, secret,
                                    extra={"xdm_e": other}))
        assert r.status_code == 200
        csp = csp_directives(r.headers["Content-Security-Policy"])
        assert csp["frame-ancestors"] == [origin]
        assert other not in r.headers["Content-Security-Policy"]


def assert_denied(r, status=401):
    assert r.status_code == status, (r.status_code, r.text[:200])
    assert r.headers["Content-Type"].startswith("text/html")
    assert DENIED_TITLE in r.text
    # Nothing of the page: no module, no style, no all.js.
    assert "static/" not in r.text and "<script" not in r.text
    assert "all.js" not in r.text and "@CELLAR" not in r.text
    csp = csp_directives(r.headers["Content-Security-Policy"])
    assert csp["default-src"] == ["'none'"]
    assert "script-src" not in csp
    assert r.headers["Cache-Control"] == "no-store"
    assert "X-Cellar-All-Js" not in r.headers


def test_refused_tokens_get_the_open_from_jira_page(env, tenant):
    ck, secret, origin = tenant
    other_ck, other_secret, _ = env.install()
    now = int(time.time())
    cases = {
        "no token": "/ui/picker?xdm_e=x",
        "garbage": "/ui/picker?jwt=not.a.token",
        "wrong secret": env.page_url("picker", ck, atl.new_secret()),
        "another tenant's secret": env.page_url("picker", ck, other_secret),
        "unknown tenant": env.page_url("picker", str(uuid.uuid4()), secret),
        "expired": env.page_url("picker", ck, secret, now=now - 4000,
                                ttl=180),
        "qsh of another page": env.page_url("picker", ck, secret,
                                            sign_path="/ui/templates"),
        "qsh of another query": env.page_url("picker", ck, secret,
                                             sign_query="issueId=10002"),
        "context qsh": env.page_url("picker", ck, secret,
                                    qsh_value=atl.CONTEXT_QSH),
    }
    for what, url in cases.items():
        r = env.st.get(url)
        assert_denied(r)
        assert secret not in r.text and ck not in r.text, what
    # The other tenant's own token still opens its page.
    assert env.st.get(env.page_url("picker", other_ck,
                                   other_secret)).status_code == 200


def test_requests_the_gate_refuses_get_the_open_from_jira_page(env, tenant):
    """nginx's auth_request knows 2xx, 401 and 403 only (anything else is
    its 500): a page request the app refuses as a request (a path nginx
    normalises but the raw request line keeps, a body on a GET, a raw
    non-ASCII byte) is the "open this page from Jira" page, never a
    500, and never the page."""
    ck, secret, _ = tenant
    url = env.page_url("picker", ck, secret)
    query = url.split("?", 1)[1]
    for path in ("/ui//picker", "//ui/picker", "/ui/./picker",
                 "/ui/../ui/picker", "/ui/%2e%2e/ui/picker",
                 "/x/../ui/picker"):
        status, headers, body = raw_http(env.st.port, (
            f"GET {path}?{query} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Connection: close\r\n\r\n").encode())
        assert status == 401, (path, status, body[:200])
        assert DENIED_TITLE.encode() in body, path
        assert b"static/" not in body, path
    for size in (10, 1000, 100000):
        r = env.st.request("GET", url, data=b"x" * size)
        assert_denied(r)
    # A chunked body: no Content-Length for the app to see.
    r = env.st.request("GET", url, data=iter([b"abc", b"def"]))
    assert_denied(r)
    status, _, body = raw_http(env.st.port, (
        f"GET /ui/admin?a=\xc3\xa9&{query} HTTP/1.1\r\n"
        f"Host: 127.0.0.1\r\nConnection: close\r\n\r\n"
        ).encode("latin-1"))
    assert status == 401, (status, body[:200])
    # The token itself still opens the page.
    assert env.st.get(url).status_code == 200


def test_page_when_the_app_cannot_answer(env, tenant):
    """Workers unreachable: the page says so plainly, in Jira's frame
    (no JSON, nothing to run, not stored), and opens again once they
    are back."""
    ck, secret, origin = tenant
    sock = env.st.dir / "run" / "cellar.sock"
    away = sock.with_name("cellar.sock.away")
    url = env.page_url("templates", ck, secret)
    sock.rename(away)
    try:
        r = env.st.get(url)
    finally:
        away.rename(sock)
    assert r.status_code == 503, (r.status_code, r.text[:200])
    assert r.headers["Content-Type"].startswith("text/html")
    assert "cellar is not available" in r.text
    assert "<script" not in r.text and "static/" not in r.text
    csp = csp_directives(r.headers["Content-Security-Policy"])
    assert csp["default-src"] == ["'none'"]
    assert "https://*.atlassian.net" in csp["frame-ancestors"]
    assert r.headers["Cache-Control"] == "no-store"
    assert env.st.get(env.page_url("templates", ck, secret)
                      ).status_code == 200
    assert any('"GET /ui/templates" 503 ' in ln
               for ln in read_text(env.st.access_log).splitlines())


def test_page_lines_in_the_access_log_name_the_page_and_its_gate(env, tenant):
    """A page's access-log line names the page asked for (not the file
    nginx served or the refusal page it showed) and the request id of
    its gate's answer, so an operator finds the app log's reason for a
    refusal."""
    ck, secret, _ = tenant
    ok = env.st.get(env.page_url("issue-panoramas", ck, secret))
    assert ok.status_code == 200
    bad = env.st.get(env.page_url("panoramas", ck, atl.new_secret()))
    assert bad.status_code == 401
    log = read_text(env.st.access_log).splitlines()
    app = read_text(env.st.app_log)
    for uri, status in (("/ui/issue-panoramas", "200"),
                        ("/ui/panoramas", "401")):
        line = [ln for ln in log if f'"GET {uri}" {status} ' in ln][-1]
        m = re.search(r" rid=([0-9a-f]{16})$", line)
        assert m, line
        assert f"rid={m.group(1)}" in app, line


def test_unknown_page_and_other_methods(env, tenant):
    ck, secret, _ = tenant
    # A valid token for a page that does not exist: 404, no page.
    for page in ("nope", "picker.html", "pages"):
        r = env.st.get(env.page_url(page, ck, secret))
        assert r.status_code == 404, page
        assert r.json()["error"] == "not_found"
    url = env.page_url("picker", ck, secret)
    for method in ("POST", "PUT", "DELETE", "HEAD"):
        r = env.st.request(method, url)
        assert r.status_code == 405, method
    r = env.st.get(env.page_url("Picker", ck, secret))
    assert r.status_code == 404


def test_access_log_holds_no_query_or_token(env, tenant):
    ck, secret, _ = tenant
    url = env.page_url("admin", ck, secret)
    assert env.st.get(url).status_code == 200
    assert env.st.get("/ui/admin?jwt=bad").status_code == 401
    log = read_text(env.st.access_log)
    lines = [ln for ln in log.splitlines() if '"GET /ui/' in ln or
             '"GET /_cellar_ui/' in ln]
    assert lines
    for ln in log.splitlines():
        assert "?" not in ln and "jwt" not in ln, ln
    assert url.split("jwt=")[1] not in read_text(env.st.app_log)


# ------------------------------------------------------------- descriptor

def test_descriptor_declares_every_page(env):
    d = env.st.get("/atlassian-connect.json").json()
    # Jira holds the pages' AP.request calls to the app's scopes: reading
    # issues needs READ, the picker's comment (POST .../comment) WRITE.
    assert {"READ", "WRITE"} <= set(d["scopes"]), d["scopes"]
    m = d["modules"]
    general = {p["key"]: p for p in m["generalPages"]}
    assert set(general) == {"canned-responses-manager", "panoramas"}
    assert general["canned-responses-manager"]["url"] == "/ui/templates"
    assert general["panoramas"]["url"] == "/ui/panoramas"
    (content,) = m["jiraIssueContents"]
    assert content["key"] == "canned-responses"
    assert content["target"]["url"].startswith("/ui/picker?")
    assert content["target"]["type"] == "web_panel"
    assert content["tooltip"]["value"]
    (ctx,) = m["jiraIssueContexts"]
    assert ctx["key"] == "issue-panoramas"
    assert ctx["target"]["url"].startswith("/ui/issue-panoramas?")
    assert ctx["content"]["label"]["value"]
    assert ctx["target"]["type"] == "web_panel"
    (admin,) = m["adminPages"]
    assert admin["key"] == "cellar-admin" and admin["url"] == "/ui/admin"
    assert m["configurePage"]["url"] == "/ui/admin"
    urls = ([p["url"] for p in m["generalPages"]] +
            [content["target"]["url"], ctx["target"]["url"], admin["url"],
             m["configurePage"]["url"]])
    for u in urls:
        path, _, query = u.partition("?")
        assert re.fullmatch(r"/ui/[a-z-]+", path), u
        name = path.removeprefix("/ui/")
        assert name in PAGES, u
        assert (env.www / "ui" / "pages" / f"{name}.html").is_file(), u
        # Jira's context parameters only, no literal data.
        for part in filter(None, query.split("&")):
            assert re.fullmatch(r"[A-Za-z]+=\{[a-z.]+\}", part), u
    icons = [p["icon"]["url"] for p in m["generalPages"]] + \
        [content["icon"]["url"], ctx["icon"]["url"]]
    for u in icons:
        assert u.startswith("/ui/icons/"), u
        r = env.st.get(u)
        assert r.status_code == 200, u
        assert r.headers["Content-Type"].startswith("image/svg+xml")


# ------------------------------------------------------------ the build

def test_a_changed_module_renames_it_and_its_importers(tmp_path):
    src = tmp_path / "src"
    shutil.copytree(REPO / "src" / "ui", src,
                    ignore=shutil.ignore_patterns("build-assets"))
    out1, out2, out3 = tmp_path / "o1", tmp_path / "o2", tmp_path / "o3"
    assert build(src, out1)[0] == 0
    assert build(src, out2)[0] == 0
    before = tree(out1 / "ui")
    assert before == tree(out2 / "ui"), "the same sources, other bytes"
    with open(src / "lib" / "cellar.js", "a") as f:
        f.write("\n// changed\n")
    assert build(src, out3)[0] == 0
    after = tree(out3 / "ui")

    def name_of(files, stem):
        pat = re.compile(rf"^static/{re.escape(stem)}\.[0-9a-f]{{10}}\.js$")
        (n,) = [p for p in files if pat.match(p)]
        return n

    assert name_of(before, "lib/cellar") != name_of(after, "lib/cellar")
    # Every module importing cellar.js (every page's) is renamed, and
    # its page names the new file; the strings modules are not.
    for page in PAGES:
        old, new = name_of(before, page), name_of(after, page)
        assert old != new, page
        html = after[f"pages/{page}.html"].decode()
        assert new in html and old not in html
        strings = f"{page}.strings"
        if any(Path(p).name.startswith(strings + ".") for p in before):
            assert name_of(before, strings) == name_of(after, strings)
    # A rebuild in place replaces the tree whole: no stale file left.
    assert build(src, out1)[0] == 0
    assert tree(out1 / "ui") == after


@pytest.mark.parametrize("files, message", [
    ({"p.html": '<script src="./a.js"></script>',
      "a.js": 'import { x } from "lit";\n'}, "a.js:1: bare"),
    ({"p.html": '<script src="./a.js"></script>',
      "a.js": '\n\nimport "./gone.js";\n'}, "a.js:3: \"./gone.js\" names no"),
    ({"p.html": '<script src="./a.js"></script>',
      "a.js": 'import "./b.js";\n', "b.js": 'export * from "./a.js";\n'},
     "import cycle"),
    ({"p.html": '<script src="./a.js"></script>',
      "a.js": 'const m = "x.js";\nimport(m);\n'}, "a.js:2: import()"),
    ({"p.html": "<html>\n<script>alert(1)</script>\n</html>"},
     "p.html:2: a <script> without src"),
    ({"p.html": '<div>\n<p style="color: red">x</p></div>'},
     "p.html:2: a style= attribute"),
    ({"p.html": "<head>\n<style>p {}</style></head>"}, "p.html:2: <style>"),
    ({"p.html": '<button onclick="go()">x</button>'}, "onclick="),
    ({"p.html": '<script src="./missing.js"></script>'},
     "p.html:1: \"./missing.js\" names no"),
])
def test_build_refuses_what_the_policy_would_block(tmp_path, files,
                                                   message):
    src = tmp_path / "src"
    src.mkdir()
    for name, text in files.items():
        (src / name).write_text(text)
    out = tmp_path / "out"
    rc, err = build(src, out)
    assert rc == 1, err
    assert message in err, err
    assert not (out / "ui").exists()


def test_build_ignores_imports_in_strings_comments_and_regexes(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "p.html").write_text('<script type="module" src="./a.js">'
                                '</script>')
    (src / "a.js").write_text(
        'import { b } from "./b.js";\n'
        'const s = "Import from \\"x\\" import(\\"y\\")";\n'
        "// import \"./nope.js\";\n"
        "/* export * from './nope.js' */\n"
        "const r = /from \"q\"/g, t = `import \"${b}\"`;\n"
        "export { s, r, t };\n")
    (src / "b.js").write_text("export const b = 1;\n")
    out = tmp_path / "out"
    rc, err = build(src, out)
    assert rc == 0, err
    files = tree(out / "ui")
    (a,) = [p for p in files if Path(p).name.startswith("a.")]
    (b,) = [p for p in files if Path(p).name.startswith("b.")]
    text = files[a].decode()
    assert f'from "./{Path(b).name}"' in text
    assert text.count("./nope.js") == 2
    assert f'src="static/{Path(a).name}"' in files["pages/p.html"].decode()
