"""
The browser harness's own promises, against the real stack: every page
loads framed by the tenant's site and becomes ready; the page's CSP lets
no other origin frame it; a page without a valid token is the 401 page;
the pages' shared module asks the host for a token before every API call
and reaches Jira through AP.request as the user; the fake all.js and the
host page answer each other only (postMessage origin checks both ways);
screenshots are of the 1280x800 viewport; a browser that cannot start
fails the test.
"""
import struct
import time

import pytest
from selenium.webdriver.support.ui import WebDriverWait

import uibrowser
import uihost

GENERAL = [p for p, (kind, _) in uihost.PAGES.items() if kind == "general"]
PANELS = [p for p, (kind, _) in uihost.PAGES.items() if kind == "panel"]

# What the frame fetched: cellar's API calls and anything with a token in
# its URL.
RESOURCES_JS = """
return performance.getEntriesByType("resource").map((e) => e.name);
"""
NAV_STATUS_JS = """
const n = performance.getEntriesByType("navigation")[0];
return n ? n.responseStatus : null;
"""


def frame_resources(browser):
    return browser.execute_script(RESOURCES_JS)


def cellar_module(browser, origin):
    """The hashed URL of the shared module the page loaded."""
    mods = [u for u in frame_resources(browser)
            if u.startswith(origin + "/ui/static/lib/cellar.")
            and u.endswith(".js")]
    assert len(mods) == 1, mods
    return mods[0]


def run_async(browser, body, *args):
    """Runs an async function body in the current document; it returns
    a JSON-able value or throws (the error's text comes back as
    {"error"})."""
    return browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "(async (...args) => {" + body + "})(...Array.from(arguments)"
        ".slice(0, -1)).then(done, (e) => done({error: String(e && "
        "(e.stack || e.message) || e), status: e && e.status, xhr: e && "
        "e.xhr ? e.xhr.status : undefined}));", *args)


@pytest.fixture
def issue(jira_host):
    return jira_host.add_issue("10001", "DEMO-1", "Printer on fire",
                               reporter=jira_host.default_account)


@pytest.mark.parametrize("page", list(uihost.PAGES))
def test_page_loads_framed(browser, jira_host, open_page, ui_stack, page,
                           issue):
    """Each page, framed by the tenant's site, becomes ready; all.js
    reached the host with the page's data-options; the page token left
    the address bar; no request of the frame carried a token in its
    URL; every call to cellar's API came after a token of its own."""
    before = jira_host.tokens_minted()
    t0 = time.monotonic()
    p = open_page(browser, page, issue=issue if page in PANELS else None)
    ready = time.monotonic() - t0
    assert ready < 20
    assert browser.execute_script("return window.parent !== window")
    url = browser.execute_script("return document.URL")
    assert url.startswith(f"{ui_stack.base_url}/ui/{page}?"), url
    assert "jwt=" not in url
    assert "jwt=" in p.frame_url
    log = p.ap_log()
    inits = [e for e in log if e["fn"] == "init"]
    assert len(inits) == 1, log
    opts = inits[0]["options"]
    if page in PANELS:
        assert opts.get("resize") is True, opts
        assert "issueId=10001" in url and "issueKey=DEMO-1" in url, url
    else:
        assert opts.get("sizeToParent") is True, opts
    res = frame_resources(browser)
    assert not [u for u in res if "jwt=" in u], res
    api_calls = [u for u in res if u.startswith(ui_stack.base_url + "/api/")]
    minted = jira_host.tokens_minted() - before
    assert minted >= len(api_calls) > 0, (minted, api_calls)

    def settled(b):
        # Every getToken the host heard was answered with a token.
        getters = [e for e in p.ap_log() if e["fn"] == "context.getToken"]
        return len(getters) == jira_host.tokens_minted() - before and \
            all(e.get("ok") for e in getters)

    WebDriverWait(browser, 5).until(settled)


@pytest.mark.csp_violation_expected
def test_frame_ancestors_blocks_another_origin(browser, jira_host,
                                               open_page, ui_stack):
    """The same page, framed by a host page of another origin
    (localhost instead of the site's 127.0.0.1), does not load: Chromium
    applies the CSP's frame-ancestors, the site's origin only.  The
    control: the site's own origin frames it."""
    p = open_page(browser, "templates", host="localhost", wait=False)
    assert p.host_url.startswith("http://localhost:")
    violations = []

    def refused():
        violations[:] = [e["message"] for e in uihost.console(browser)
                         if "frame-ancestors" in e["message"]]
        return violations

    WebDriverWait(browser, 10).until(lambda b: refused())
    assert ui_stack.base_url in violations[0], violations
    uihost.enter_frame(browser)
    assert browser.execute_script(
        "return document.getElementById('app')") is None
    time.sleep(0.5)     # all.js would have said init by now
    assert not [e for e in p.ap_log() if e["fn"] == "init"], p.ap_log()
    # The control.
    q = open_page(browser, "templates")
    assert [e for e in q.ap_log() if e["fn"] == "init"], q.ap_log()


@pytest.mark.csp_violation_expected
@pytest.mark.parametrize("jwt", [None, "not.a.token"])
def test_page_without_valid_token_is_401(browser, open_page, ui_stack, jwt):
    """No page token, or a bad one: the frame's answer is the 401 page,
    which runs nothing (no all.js: the host hears nothing).  Its own
    CSP lets only Atlassian's https sites frame it, so here (the host on
    http://127.0.0.1) Chromium shows its error page instead; opened on
    its own, the 401 page says to open it from Jira and has no script."""
    p = open_page(browser, "templates", jwt=jwt, wait=False)
    uihost.enter_frame(browser)
    WebDriverWait(browser, 10).until(
        lambda b: b.execute_script(NAV_STATUS_JS) is not None)
    assert browser.execute_script(NAV_STATUS_JS) == 401
    assert browser.execute_script(
        "return document.getElementById('app')") is None
    time.sleep(0.3)
    assert not [e for e in p.ap_log() if e["fn"] == "init"]
    url = f"{ui_stack.base_url}/ui/templates"
    if jwt is not None:
        url += f"?jwt={jwt}"
    browser.get(url)
    uihost.leave_frame(browser)
    assert browser.execute_script(NAV_STATUS_JS) == 401
    assert "open this page from jira" in browser.find_element(
        "tag name", "h1").text.lower()
    assert browser.execute_script("return document.scripts.length") == 0


def test_token_before_every_api_call(browser, jira_host, open_page,
                                     ui_stack):
    """cellar.js's api() asks AP.context.getToken() for each call (a
    fresh token each time, from the host, for the page's account), in
    both of all.js's forms; three calls, three tokens."""
    acct = jira_host.user("Grace Hopper", admin=True)
    open_page(browser, "admin", account=acct)
    mod = cellar_module(browser, ui_stack.base_url)
    before = jira_host.tokens_minted(acct)
    n_log = len(jira_host.ap_log(browser))
    out = run_async(browser, """
        const m = await import(args[0]);
        const a = await m.api("GET", "/api/tenant");
        const b = await m.api("GET", "/api/tenant");
        let status = 0;
        try { await m.api("GET", "/api/templates/999999999"); }
        catch (e) { status = e.status; }
        return {a: typeof a, b: typeof b, status};
    """, mod)
    assert out == {"a": "object", "b": "object", "status": 404}, out
    assert jira_host.tokens_minted(acct) - before == 3
    calls = [e for e in jira_host.ap_log(browser)[n_log:]
             if e["fn"] == "context.getToken"]
    assert len(calls) == 3, calls
    # Both forms of getToken answer the same kind of token.
    forms = run_async(browser, """
        const p = await window.AP.context.getToken();
        const c = await new Promise((r) => window.AP.context.getToken(r));
        return [p.split(".").length, c.split(".").length];
    """)
    assert forms == [3, 3], forms
    assert jira_host.tokens_minted(acct) - before == 5


def test_ap_request_is_jira_as_the_user(browser, jira_host, open_page,
                                        ui_stack):
    """jira() (AP.request) reaches the site's REST API as the page's
    account: an issue it may see, a 404 for one it may not, a comment
    recorded with its author; Atlassian's promise and callback shapes."""
    ada = jira_host.user("Ada Lovelace")
    bob = jira_host.user("Bob Builder")
    jira_host.add_issue("10002", "DEMO-2", "Only Ada sees this",
                        reporter=ada, assignee=bob, visible_to=[ada])
    jira_host.add_issue("10003", "DEMO-3", "Everyone sees this")
    open_page(browser, "templates", account=bob)
    mod = cellar_module(browser, ui_stack.base_url)
    out = run_async(browser, """
        const m = await import(args[0]);
        const me = await m.jira("GET", "/rest/api/3/myself");
        const open = await m.jira("GET", "/rest/api/3/issue/DEMO-3");
        let hidden = 0;
        try { await m.jira("GET", "/rest/api/3/issue/10002"); }
        catch (e) { hidden = e.status; }
        const found = await m.jira("POST", "/rest/api/3/search/jql",
            {jql: "id in (10002, 10003)", fields: ["summary"]});
        const c = await m.jira("POST", "/rest/api/3/issue/10003/comment",
            {body: {type: "doc", version: 1, content: [{type: "paragraph",
             content: [{type: "text", text: "Hello from a test"}]}]}});
        const cb = await new Promise((resolve) => window.AP.request({
            url: "/rest/api/3/issue/10002", type: "GET",
            success: () => resolve("success"),
            error: (xhr, st, err) => resolve(xhr.status)}));
        const shape = await window.AP.request("/rest/api/3/myself");
        return {me: me.displayName, open: open.fields.summary, hidden,
                found: found.issues.map((i) => i.key), comment: c.id,
                cb, shape: [typeof shape.body, shape.xhr.status]};
    """, mod)
    assert out["me"] == "Bob Builder", out
    assert out["open"] == "Everyone sees this", out
    assert out["hidden"] == 404, out
    assert out["found"] == ["DEMO-3"], out
    assert out["cb"] == 404, out
    assert out["shape"] == ["string", 200], out
    cs = jira_host.comments("10003")
    assert [(c["author"], c["text"]) for c in cs] == [
        (bob, "Hello from a test")], cs
    reqs = jira_host.browser_requests("GET", "/rest/api/3/issue/10002")
    assert reqs and all(r["account"] == bob and r["status"] == 404
                        for r in reqs), reqs
    log = [e for e in jira_host.ap_log(browser) if e["fn"] == "request"]
    assert {e["form"] for e in log} == {"promise", "callback"}, log


def test_postmessage_origin_checks(browser, jira_host, open_page):
    """The host answers only its frame (a message from elsewhere mints
    no token), and all.js reads only the host's answers (forged replies
    from the page's own window resolve nothing)."""
    open_page(browser, "templates")
    before = jira_host.tokens_minted()
    ignored = uihost.host_script(browser, """
        const before = window.apIgnored;
        const cfg = window.hostConfig;
        window.postMessage({cellarTestHost: 1, channel: cfg.channel,
                            id: 1, type: "getToken", payload: {}}, "*");
        return before;
    """)
    WebDriverWait(browser, 5).until(lambda b: uihost.host_script(
        b, "return window.apIgnored") > ignored)
    assert jira_host.tokens_minted() == before
    tok = run_async(browser, """
        const channel = new URLSearchParams(location.search).get("xdm_c");
        const p = window.AP.context.getToken();
        for (let id = 1; id < 200; id++)
            window.postMessage({cellarTestHost: 1, channel, id, ok: true,
                                payload: "forged"}, "*");
        return await p;
    """)
    assert tok != "forged" and len(tok.split(".")) == 3, tok
    assert jira_host.tokens_minted() == before + 1


def test_panel_resize_and_flags(browser, jira_host, open_page, issue,
                                screenshot):
    """An issue panel's frame follows AP.resize; AP.flag.create shows a
    flag in the host page and is recorded; the screenshot is of the
    1280x800 viewport."""
    open_page(browser, "picker", issue=issue)
    browser.execute_script("window.AP.resize('100%', '321px');"
                           "window.AP.flag.create({title: 'Saved', "
                           "body: 'All good', type: 'success'});")
    WebDriverWait(browser, 5).until(lambda b: uihost.host_script(
        b, "return document.getElementById('app-frame')"
           ".getBoundingClientRect().height") == 321)
    flag = uihost.host_script(
        browser, "const f = document.querySelector('#flags .flag');"
                 "return f ? f.innerText : null;")
    assert flag and "Saved" in flag and "All good" in flag, flag
    log = jira_host.ap_log(browser)
    assert [e for e in log if e["fn"] == "flag.create" and
            e["title"] == "Saved" and e["type"] == "success"], log
    assert [e for e in log if e["fn"] == "resize" and
            e["height"] == "321"], log
    path = screenshot(browser, "harness-panel")
    png = path.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", png[16:24]) == (1280, 800)


def test_browser_start_failure_is_a_failure(tmp_path):
    """A Chromium that is missing, or that exits at once, fails the
    test with the reason; it never skips it."""
    for binary in ("/nonexistent/chromium", "/bin/false"):
        with pytest.raises(pytest.fail.Exception) as e:
            uibrowser.launch(tmp_path, chromium=binary)
        assert "the browser could not start" in str(e.value), e.value
        assert binary in str(e.value), e.value
    with pytest.raises(pytest.fail.Exception) as e:
        uibrowser.launch(tmp_path, chromedriver="/nonexistent/driver")
    assert "chromedriver" in str(e.value), e.value


def test_jira_rest_fixtures(browser, jira_host, open_page, ui_stack):
    """The REST answers pages build on, through jira() as a non-admin:
    permissions from the site's grants, project and group pickers, JQL
    pages with nextPageToken (restricted issues left out), bulkfetch's
    issueErrors, an injected failure, and unknown endpoints listed."""
    t = jira_host.new_tenant()
    t.add_project("10100", "OPS", "Operations")
    t.add_group("g-support", "Support team")
    cy = t.user("Cy Young", browse=["10100"], groups=[("QA", "g-qa")])
    for n in range(1, 121):
        t.add_issue(str(20000 + n), f"OPS-{n}", f"Issue {n}",
                    project="10100",
                    visible_to=[t.default_account] if n == 7 else None)
    open_page(browser, "templates", tenant=t, account=cy)
    mod = cellar_module(browser, ui_stack.base_url)
    ids = ",".join(str(20000 + n) for n in range(1, 121))
    out = run_async(browser, """
        const m = await import(args[0]);
        const perms = await m.jira("GET", "/rest/api/3/mypermissions?" +
            "permissions=ADMINISTER,BROWSE_PROJECTS&projectId=10100");
        const projects = await m.jira("GET",
            "/rest/api/3/project/search?query=oper");
        const groups = await m.jira("GET",
            "/rest/api/3/groups/picker?query=q");
        const seen = [];
        let token = undefined, pages = 0;
        do {
            const r = await m.jira("POST", "/rest/api/3/search/jql",
                {jql: "id in (" + args[1] + ")", fields: ["summary"],
                 maxResults: 1000, nextPageToken: token});
            r.issues.forEach((i) => seen.push(i.key));
            token = r.nextPageToken;
            pages++;
        } while (token);
        const bulk = await m.jira("POST", "/rest/api/3/issue/bulkfetch",
            {issueIdsOrKeys: ["OPS-6", "OPS-7"], fields: ["summary"]});
        let missing = 0;
        try { await m.jira("GET", "/rest/api/3/nothing/here"); }
        catch (e) { missing = e.status; }
        return {admin: perms.permissions.ADMINISTER.havePermission,
                browse: perms.permissions.BROWSE_PROJECTS.havePermission,
                projects: projects.values.map((p) => p.key),
                groups: groups.groups.map((g) => g.name),
                seen: seen.length, hidden: seen.includes("OPS-7"), pages,
                bulk: bulk.issues.map((i) => i.fields.summary),
                errors: bulk.issueErrors.length, missing};
    """, mod, ids)
    assert out == {"admin": False, "browse": True, "projects": ["OPS"],
                   "groups": ["QA"], "seen": 119, "hidden": False,
                   "pages": 2, "bulk": ["Issue 6"], "errors": 1,
                   "missing": 404}, out
    assert "GET /rest/api/3/nothing/here" in t.unanswered(forget=True)
    before = len(t.browser_requests("GET", "/rest/api/3/myself"))
    t.fail_rest(lambda m, p: 503 if p.startswith("/rest/api/3/myself")
                else None)
    status = run_async(browser, """
        const m = await import(args[0]);
        try { await m.jira("GET", "/rest/api/3/myself"); return 200; }
        catch (e) { return e.status; }
    """, mod)
    t.fail_rest(None)
    assert status == 503
    assert [r["status"] for r in t.browser_requests(
        "GET", "/rest/api/3/myself")][before:] == [503]


def test_reload_mints_a_new_page_and_keeps_the_log(browser, open_page):
    """OpenedPage.reload() loads the host page again, which frames the
    page with a page token minted then (as Jira does); the apLog spans
    both loads."""
    p = open_page(browser, "templates")
    p.reload()
    assert len(p.session.frame_urls) == 2
    assert [e["fn"] for e in p.ap_log()].count("init") == 2
    assert browser.execute_script(
        "return document.getElementById('app').getAttribute('aria-busy')"
    ) == "false"
