"""
Fixtures for the browser tests (tests/ui, run by tests/run-ui): cellar's
pages in headless Chromium, framed by a fake Jira, against the real test
stack.  The integration tests' helpers (tests/integration: harness,
atlassian, jira_fake, canned_client, panorama_client) are imported from
there.

Fixtures
--------
ui_stack (session)
    A harness.Stack (tests/stack: nginx + 2 workers, ASan build) whose
    nginx serves the built www (CELLAR_STACK_WWW) and whose [ui]
    all_js_url is the fake's all.js (tests/ui/fake-all.js).  Stopped at
    the end; a sanitizer report, a status 500 or an error line in its
    app log fails the run.  ui_stack.base_url is cellar's origin.

jira_host (session)
    The fake Jira (uihost.JiraHost).  It is a tenant installed on
    ui_stack (its site's base URL is the tenant's baseUrl, so Chromium
    checks the page's frame-ancestors for real) and makes more:

    jira_host.new_tenant()  -> another tenant (empty, same API as
                               jira_host); pass it as open_page(tenant=)
    Per tenant (jira_host itself or one from new_tenant()):
    .default_account        an account named "Alex Admin": Jira admin,
                            BROWSE and ADMINISTER_PROJECTS in 10000;
                            open_page's account when none is given
    .user(name=None, admin=False, browse=(), padmin=(), groups=(),
          issues=(), gate=True) -> account id
                            a fresh account with its display name and
                            what Jira tells the worker: global admin,
                            BROWSE_PROJECTS in projects `browse`,
                            ADMINISTER_PROJECTS in `padmin`, groups
                            (ids or (name, id); also in the group
                            picker), BROWSE on `issues`, the app's
                            use-panoramas permission (gate)
    .add_project(id, key, name=None)   (10000 "DEMO" exists already)
    .add_group(group_id, name)
    .add_issue(id, key, summary, project="10000", reporter=None,
               assignee=None, visible_to=None, **more_fields) -> id
                            visible_to None: everyone may browse it
                            (browser and worker alike); else the list
                            of account ids that may (Jira answers 404
                            to the others and leaves it out of
                            searches; the worker's checks deny it)
    .comments(issue_id)     comments posted through AP.request, oldest
                            first: {"id", "author", "body" (ADF as
                            posted), "text" (its plain text), "api"}
    .tokens_minted(account=None)  context tokens getToken() minted
    .browser_requests(method=None, path=None)  Jira REST calls of the
                            pages: {"method", "path", "query" (dict of
                            lists), "body" (bytes), "account", "status"}
    .fail_rest(fn)          fn(method, path) -> status or None: the
                            pages' REST calls it names fail with that
                            status (recorded too); fail_rest(None) ends
    .unanswered(forget=False)  ["METHOD path"] the pages called that
                            the fake has no endpoint for (answered 404;
                            also listed at the end of the run)
    .jql_strict = True      JQL naming an issue the user cannot see (or
                            that does not exist) is a 400, as Jira may
                            answer; default False: such issues are left
                            out
    .ap_log(browser)        the host page's window.apLog: every AP call,
                            {fn, t, ...}; fn is one of init,
                            context.getToken, context.getContext,
                            request (url, type, data, contentType,
                            status, form), resize (explicit calls),
                            resize.auto (all.js following the height),
                            sizeToParent, flag.create (flagId, title,
                            body, type, close), flag.close,
                            navigator.go (target, context),
                            navigator.reload, user.getCurrentUser
    .api(method, path, account, project=None, body=None, params=None)
                            cellar's API as account (requests reply)
    .templates_api          canned_client.Tenant of this tenant
                            (create, list_all, import_, ...)
    .panoramas_api          panorama_client.Tenant (create, apply,
                            rows, ...)
    .site                   its jira_fake.Site (worker-side calls)
    .client_key, .secret, .base_url

    Jira's REST API as the pages see it (AP.request, as the session's
    account): GET /rest/api/3/issue/{idOrKey}[?fields=] (summary,
    reporter, assignee with displayName, project, status, issuetype);
    POST /rest/api/3/issue/{idOrKey}/comment (ADF body; v2: a string)
    -> 201; GET /rest/api/3/myself, /user?accountId=, /user/search?query=;
    GET /rest/api/3/project/search?query=&id=&keys=, /project/{idOrKey};
    GET /rest/api/3/groups/picker?query=, /group/bulk?groupId=;
    GET /rest/api/3/mypermissions?permissions=&projectId=&issueId=
    (from what the site tells the worker: admin, grants); POST|GET
    /rest/api/3/search/jql and /rest/api/3/search with JQL "key in
    (...)", "id in (...)", "key = X" joined by OR (issues the account
    may not browse are left out; results in descending id order, not
    the order asked; /search/jql pages with nextPageToken, 100 issues a
    page at most unless only id/key are asked, fields default to id
    only); POST /rest/api/3/issue/bulkfetch (issueErrors for the
    others); GET
    /rest/api/3/issue/picker?query=.  Anything else: 404 naming it.

browser (function)
    A headless Chromium (selenium WebDriver), viewport 1280x800, fresh
    profile under the test's output directory.  A browser that cannot
    start fails the test.  At teardown, a Content-Security-Policy
    violation in its console fails the test (mark a test that provokes
    one on purpose with @pytest.mark.csp_violation_expected), and so
    does an uncaught exception in cellar's page scripts (console
    "Uncaught" from /ui/static/...; @pytest.mark.page_errors_expected);
    when the test failed, its screenshot, the frame's HTML, the console
    and the apLog are saved in $CELLAR_UI_OUT/<test>/ (and the
    chromedriver log is kept there).

new_browser (function)
    new_browser() -> another browser (a second user or session, e.g.
    for 409 conflicts), same rules.

open_page (function)
    open_page(browser, page, account=None, issue=None, project=None,
              params=None, tenant=None, wait=True, timeout=20)
        -> uihost.OpenedPage
    Loads the tenant's host page, which frames
    <ui_stack>/ui/<page>?<descriptor params>&<Jira's params>&jwt=<page
    token minted now>; switches the driver into the frame and waits
    until #app has aria-busy="false".  issue: an issue id added with
    add_issue (picker, issue-panoramas: issueId, issueKey and projectId
    come from it; project overrides).  params: more query parameters
    (e.g. {"ac.panorama": "12"}).  Context tokens carry sub = account,
    context.jira.issue.{id,key} and project.{id,key}.
    The result: .tenant, .account, .session, .host_url, .frame_url
    (latest, with its jwt), .ap_log(), .wait_ready(), .reload() (loads
    the host page again: fresh page token, apLog kept).
    Less usual: host="localhost" serves the host page from another
    origin; jwt=None frames the page without a token, jwt="x" with that
    one; path="/ui/x" frames another path.

screenshot (function)
    screenshot(browser, name) -> Path: PNG of the whole viewport (the
    host page with the framed page, 1280x800) as $CELLAR_UI_OUT/<name>.png
    (default build/test/ui-out), and with CELLAR_UI_SHOTS=1 also
    tests/ui/shots/<name>.png (what the README shows).

Helpers (import uihost): enter_frame(browser) / leave_frame(browser)
switch between the frame and the host page; host_script(browser, js)
runs js in the host page; wait_ready(browser, timeout); console(browser)
returns the console entries so far.  Selenium's own WebDriverWait, By,
Keys and ActionChains work as usual inside the frame.
"""
import os
import re
import shutil
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "tests" / "integration"))

pytest.register_assert_rewrite("harness", "uihost")

import atlassian as atl  # noqa: E402
from harness import (FCGI, CELLARCTL, STACK_SCRIPT,  # noqa: E402
                     internal_errors, read_text, say, sanitizer_report,
                     scratch_workspace, start_stack, stop_stack,
                     unexpected_worker_exits)
from jira_fake import FakeJira  # noqa: E402
import uibrowser  # noqa: E402
import uihost  # noqa: E402

UI_OUT = Path(os.environ.get("CELLAR_UI_OUT") or
              REPO / "build" / "test" / "ui-out")
SHOTS = HERE / "shots"
SHOT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,80}$")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "csp_violation_expected: the test provokes a "
        "Content-Security-Policy violation on purpose")
    config.addinivalue_line(
        "markers", "page_errors_expected: the test makes cellar's page "
        "throw an uncaught exception on purpose")


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


def _test_dir(node):
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", node.name)[:100]
    return UI_OUT / name


@pytest.fixture(scope="session")
def ui_out():
    UI_OUT.mkdir(parents=True, exist_ok=True)
    return UI_OUT


@pytest.fixture(scope="session")
def _ui_workspace(request):
    yield from scratch_workspace(request, "cellar-ui-",
                                 "ui: stack directory")


@pytest.fixture(scope="session")
def _ui_fake():
    """The fake Atlassian: install keys, the tenants' sites, and /cdn
    (all.js, the host page's script and style)."""
    with FakeJira() as f:
        cdn = f.add_site(atl.new_secret(), base_path=uihost.CDN_PATH)
        cdn.open_handler = uihost.cdn_handler
        f.ui_install_key = f.new_install_key("cellar-ui")
        yield f


def _require():
    missing = [str(p) for p in (FCGI, CELLARCTL) if not os.access(p, os.X_OK)]
    if missing:
        pytest.fail(f"not built: {', '.join(missing)} (run make first)",
                    pytrace=False)
    if not os.access(STACK_SCRIPT, os.X_OK):
        pytest.fail(f"{STACK_SCRIPT} is missing or not executable",
                    pytrace=False)
    www = os.environ.get("CELLAR_STACK_WWW")
    if www and not (Path(www) / "ui" / "pages").is_dir():
        pytest.fail(f"CELLAR_STACK_WWW={www} holds no ui/pages (run make, "
                    f"or src/ui/build-assets src/ui {www})", pytrace=False)


@pytest.fixture(scope="session")
def ui_stack(_ui_workspace, _ui_fake):
    """The stack the pages are served from (see the module comment)."""
    _require()
    d = _ui_workspace / "ui"
    drop_in = (f"[auth]\ninstall_keys_url = {_ui_fake.keys_url}\n"
               f"[jira]\ncache_seconds = 0\n"
               f"[ui]\nall_js_url = {_ui_fake.url}{uihost.CDN_PATH}"
               f"/all.js\n")
    try:
        st = start_stack(d, drop_ins={"50-ui.conf": drop_in}, workers=2)
    except AssertionError as e:
        pytest.fail(f"the UI stack did not start:\n{e}", pytrace=False)
    try:
        yield st
    finally:
        problems = stop_stack(d)
        rep = sanitizer_report(read_text(d / "log" / "app.log"))
        if rep:
            problems.append(f"sanitizer report in {d}/log/app.log:\n{rep}")
        problems += internal_errors(st) + unexpected_worker_exits(st)
        if problems:
            for p in problems:
                print(p)
            pytest.fail("\n\n".join(problems), pytrace=False)


@pytest.fixture(scope="session")
def jira_host(ui_stack, _ui_fake, request):
    """The fake Jira and its default tenant (see the module comment).
    At the end, the Jira REST calls of the pages that the fake had no
    endpoint for are listed (a page relying on them is untested)."""
    key, kid = _ui_fake.ui_install_key
    host = uihost.JiraHost(_ui_fake, ui_stack, key, kid)
    yield host
    missing = sorted({c for t in host.tenants for c in t.unanswered()})
    if missing:
        say(request, "ui: the fake Jira has no endpoint for: " +
             ", ".join(missing))


PAGE_ERROR = re.compile(r"/ui/static/\S+\.js \d+:\d+ Uncaught")


def _page_errors(entries):
    return [e.get("message", "") for e in entries
            if PAGE_ERROR.search(e.get("message", ""))]


def _csp_violations(entries):
    return [e.get("message", "") for e in entries
            if "Content Security Policy" in e.get("message", "") or
            "Content-Security-Policy" in e.get("message", "")]


@pytest.fixture
def new_browser(request):
    """Factory of browsers for this test; see the module comment."""
    out = _test_dir(request.node)
    shutil.rmtree(out, ignore_errors=True)
    made = []

    def make():
        b = uibrowser.launch(out)
        b.test_out = out
        b.index = len(made)
        made.append(b)
        return b

    yield make
    failed = any(getattr(request.node, f"rep_{w}", None) is not None and
                 getattr(request.node, f"rep_{w}").failed
                 for w in ("setup", "call"))
    problems = []
    expected = request.node.get_closest_marker(
        "csp_violation_expected") is not None
    errors_expected = request.node.get_closest_marker(
        "page_errors_expected") is not None
    for b in made:
        try:
            entries = uihost.console(b)
        except Exception as e:      # noqa: BLE001
            entries = []
            problems.append(f"browser {b.index}: console unreadable: {e!r}")
        if failed:
            uihost.save_failure(b, out / f"failure-{b.index}")
        if not expected:
            v = _csp_violations(entries)
            if v:
                problems.append(f"browser {b.index}: Content-Security-"
                                f"Policy violations:\n" + "\n".join(v[:10]))
        if not errors_expected:
            v = _page_errors(entries)
            if v:
                problems.append(f"browser {b.index}: uncaught exceptions "
                                f"in cellar's page:\n" + "\n".join(
                                    uihost.redact(x) for x in v[:10]))
        problems += uibrowser.quit_chromium(b, keep_logs=failed)
    if not failed:
        try:
            out.rmdir()     # empty when the test kept nothing
        except OSError:
            pass
    if problems and not failed:
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.fixture
def browser(new_browser):
    """A headless Chromium; see the module comment."""
    return new_browser()


@pytest.fixture
def open_page(jira_host):
    """open_page(browser, page, ...); see the module comment."""

    def do(browser, page, account=None, issue=None, project=None,
           params=None, tenant=None, wait=True, timeout=20, host=None,
           jwt=True, path=None):
        return uihost.open_page(tenant or jira_host, browser, page,
                                account=account, issue=issue,
                                project=project, params=params, wait=wait,
                                timeout=timeout, host=host, jwt=jwt,
                                path=path)

    return do


@pytest.fixture
def screenshot(ui_out):
    """screenshot(browser, name) -> Path; see the module comment."""

    def shoot(browser, name):
        if not SHOT_NAME.match(name):
            raise ValueError(f"screenshot name {name!r}: letters, digits, "
                             f"_ . - only")
        png = uihost.screenshot_png(browser)
        path = ui_out / f"{name}.png"
        path.write_bytes(png)
        if os.environ.get("CELLAR_UI_SHOTS") == "1":
            SHOTS.mkdir(exist_ok=True)
            (SHOTS / f"{name}.png").write_bytes(png)
        return path

    return shoot
