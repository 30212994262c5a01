"""
The canned-responses picker (/ui/picker, src/ui/picker*.js), the panel
in Jira's issue view, in headless Chromium framed by the fake Jira,
against the real stack.

What a user relies on: the list in the API's order with each scope
shown; a preview filled with the issue's values (fallbacks where the
issue has none), identical to what the server's render gives and
counting nothing; posting it as a comment (the ADF Jira received) and
the use counted through the API; search with the API's semantics
(case folded, accents kept, emoji found); the keyboard alone (arrows,
Enter, Esc); copying (the Clipboard API, and the selection fallback
when the API is refused); and what is said when Jira refuses the
comment (nothing counted), when Jira or cellar cannot be reached, and
when there is nothing to list.

Every test has its own tenant (jira_host.new_tenant()), so the lists
and counts are the test's own.  Jira failures are made with the
tenant's fail_rest (the fake answers the matching REST calls with an
error).
"""
import time

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from uihost import until

WAIT = 20
PROJECT = "10000"       # the new tenant's project (DEMO)


# Helpers.

def js(b, script, *args):
    return b.execute_script(script, *args)


def shown(b):
    """The page as a user sees it: option names, their scope lozenges,
    the active option's id, the preview's title and text, the visible
    message, the search box's value and whether #app is busy."""
    return js(b, """
        const q = document.getElementById("q");
        const opts = [...document.querySelectorAll('[role=option]')];
        const msg = document.getElementById("message");
        const box = document.getElementById("preview-box");
        return {
            names: opts.map(o => o.querySelector(".option-name").textContent),
            scopes: opts.map(o => o.querySelector(".lozenge").textContent),
            selected: opts.filter(o => o.getAttribute("aria-selected") ===
                "true").map(o => o.id),
            active: q.getAttribute("aria-activedescendant"),
            title: box.hidden ? null :
                document.getElementById("preview-title").textContent,
            preview: box.hidden ? null :
                document.getElementById("preview").textContent,
            message: msg.hidden ? null : msg.textContent,
            messageKind: msg.hidden ? null : msg.className,
            query: q.value,
            busy: document.getElementById("app").getAttribute("aria-busy"),
            focus: document.activeElement ? document.activeElement.id : null,
        };""")


def settled(b):
    """shown(b) once the list of the typed text is in (not busy)."""
    return until("the picker to settle",
                 lambda: (lambda s: s if s["busy"] == "false" else None)(
                     shown(b)))


def type_query(b, text):
    """Replaces the search box's text as typing would.  Chromedriver
    types BMP characters only, so text with an emoji is set and an input
    event dispatched, as the browser does after typing."""
    q = b.find_element(By.ID, "q")
    if all(ord(c) < 0x10000 for c in text):
        q.send_keys(Keys.CONTROL, "a")
        q.send_keys(Keys.DELETE)
        q.send_keys(text)
    else:
        js(b, """const q = arguments[0]; q.focus(); q.value = arguments[1];
                 q.dispatchEvent(new InputEvent("input", {bubbles: true,
                     inputType: "insertText", data: arguments[1]}));""",
           q, text)


def search_for(b, text, want):
    """Types text and waits until the list shows the names want."""
    type_query(b, text)
    return until(f"the list for {text!r} to be {want}",
                 lambda: (lambda s: s if s["busy"] == "false" and
                          s["names"] == want and s["query"] == text
                          else None)(shown(b)))


def usage(t, acct):
    """name -> (last30Days, postedLast30Days) as the API counts them."""
    return {x["name"]: (x["usage"]["last30Days"],
                        x["usage"]["postedLast30Days"])
            for x in t.templates_api.list_all(acct, PROJECT)}


def api_names(t, acct, **params):
    return t.templates_api.names(acct, PROJECT, **params)


def para(*parts):
    """An ADF paragraph: strings are text nodes, None a hard break."""
    return {"type": "paragraph", "content": [
        {"type": "hardBreak"} if p is None else {"type": "text", "text": p}
        for p in parts]}


def wrap_rest(t, fail):
    """Makes the fake Jira answer the browser's REST calls for which
    fail(method, path) returns a status with that status (an error
    body, through the tenant's fail_rest); returns (a function restoring
    it, the list of the (method, path) so answered)."""
    failed = []

    def fn(method, path):
        status = fail(method, path)
        if status:
            failed.append((method, path))
        return status

    old = t.fail_rest(fn)
    return (lambda: t.fail_rest(old)), failed


BODY = ("Hi {{reporter.displayName}},\n\n"
        "we are looking at {{issue.key}} ({{issue.summary}}).\n"
        "Assigned to: {{ assignee.displayName | nobody yet }}\n\n"
        "-- {{currentUser.displayName}}")


def fixture(jira_host):
    """A tenant with an unassigned issue reported by Ada, and three
    templates of three scopes; returns (tenant, issue id, templates by
    name)."""
    t = jira_host.new_tenant()
    ada = t.user("Ada Lovelace")
    issue = t.add_issue(20001, "DEMO-7", "Printer on fire", reporter=ada)
    me = t.default_account
    api = t.templates_api
    made = {
        "Acknowledge": api.create(me, "Acknowledge", BODY, scope="global"),
        "Need logs": api.create(
            me, "Need logs", "Could you attach the logs of "
            "{{issue.key}}, {{reporter.displayName | please}}?",
            scope="projects", projects=[PROJECT]),
        "My note": api.create(me, "My note", "Noted on {{today}}.",
                              scope="personal"),
    }
    return t, issue, made


ACK_TEXT = ("Hi Ada Lovelace,\n\n"
            "we are looking at DEMO-7 (Printer on fire).\n"
            "Assigned to: nobody yet\n\n"
            "-- Alex Admin")
ACK_ADF = {"type": "doc", "version": 1, "content": [
    para("Hi Ada Lovelace,"),
    para("we are looking at DEMO-7 (Printer on fire).", None,
         "Assigned to: nobody yet"),
    para("-- Alex Admin")]}


# Tests.

def test_pick_and_insert(jira_host, browser, open_page, screenshot):
    """Picked with the mouse, previewed with the issue's values and a
    fallback (no assignee), posted: Jira received the ADF of the
    rendered text, and the API counts one posted use of that template
    and none of the others; looking at previews counted nothing."""
    t, issue, made = fixture(jira_host)
    me = t.default_account
    b = browser
    open_page(b, "picker", tenant=t, issue=issue)
    s = settled(b)
    # The API's order, each scope shown, focus in the search box.
    want = api_names(t, me)
    assert s["names"] == want and sorted(want) == sorted(made), s
    scope_of = {n: made[n]["scope"] for n in want}
    words = {"global": "Everyone", "projects": "Projects",
             "personal": "Personal"}
    assert s["scopes"] == [words[scope_of[n]] for n in want], s
    assert s["focus"] == "q", s
    # The issue's values came from Jira in the browser.
    assert t.browser_requests("GET", f"/rest/api/3/issue/{issue}")
    assert t.browser_requests("GET", "/rest/api/3/myself")

    b.find_element(By.ID, f"tpl-{made['Acknowledge']['id']}").click()
    s = until("the preview of Acknowledge",
              lambda: (lambda s: s if s["title"] == "Acknowledge"
                       else None)(shown(b)))
    assert s["preview"] == ACK_TEXT, s
    assert s["active"] == f"tpl-{made['Acknowledge']['id']}", s
    assert s["selected"] == [s["active"]], s
    assert s["focus"] == "q", s
    screenshot(b, "picker")
    # Previews count nothing.
    assert set(usage(t, me).values()) == {(0, 0)}

    b.find_element(By.ID, "insert").click()
    s = until("the posted message", lambda: (lambda s: s if s["message"]
              and "success" in s["messageKind"] else None)(shown(b)))
    assert "Acknowledge" in s["message"] and "DEMO-7" in s["message"], s
    comments = t.comments(issue)
    assert len(comments) == 1, comments
    assert comments[0]["api"] == 3 and comments[0]["author"] == me
    assert comments[0]["body"] == ACK_ADF, comments[0]["body"]
    # The use, counted through the API once the comment was posted.
    u = until("the use to be counted",
              lambda: (lambda u: u if u["Acknowledge"] == (1, 1)
                       else None)(usage(t, me)))
    assert u["Need logs"] == (0, 0) and u["My note"] == (0, 0), u
    # What went to cellar: the list and the use, no render, nothing of
    # the issue (its values stay in the browser).
    urls = js(b, "return performance.getEntriesByType('resource')"
                 ".map(e => e.name).filter(u => u.includes('/api/'))")
    paths = {u.split("/api/", 1)[1] for u in urls}
    assert paths == {f"templates?limit=100&projectId={PROJECT}",
                     f"templates/{made['Acknowledge']['id']}/uses"}, urls
    # The panel asked Jira to fit it to its content.
    assert any(e["fn"] == "resize" for e in t.ap_log(b))


def test_preview_is_the_servers_render(jira_host, browser, open_page):
    """The preview (rendered in the browser, so that looking counts no
    use) is what POST /render returns for the same values: extra
    braces, unknown names, blanks, a value holding "{{", non-ASCII, and
    today."""
    t = jira_host.new_tenant()
    me = t.default_account
    rep = t.user("Zoë {{today}} Ünal")
    issue = t.add_issue(20002, "DEMO-9", "Ça {{issue.key}} brûle 🔥",
                        reporter=rep, assignee=rep)
    bodies = [
        "{{{issue.key}}} {{ {{issue.key}} }} {{issue.key",
        "{{unknown}} {{ foo | bar }} {{|x}} {{issue.summary|none}}",
        "{{ reporter.displayName }} / {{assignee.displayName|x}} / "
        "{{currentUser.displayName | y}}",
        "{{today}} {{ today | never }} é 🎉 {{issue.key | a | b}}",
    ]
    tpls = [t.templates_api.create(me, f"T{i}", body, scope="personal")
            for i, body in enumerate(bodies)]
    b = browser
    open_page(b, "picker", tenant=t, issue=issue)
    s = settled(b)
    assert s["names"] == api_names(t, me), s
    values = {"issue.key": "DEMO-9",
              "issue.summary": "Ça {{issue.key}} brûle 🔥",
              "reporter.displayName": "Zoë {{today}} Ünal",
              "assignee.displayName": "Zoë {{today}} Ünal",
              "currentUser.displayName": "Alex Admin"}
    by_name = {x["name"]: x for x in tpls}
    q = b.find_element(By.ID, "q")
    for i in range(len(tpls)):
        if i:
            q.send_keys(Keys.ARROW_DOWN)
        s = until(f"option {i} active", lambda: (
            lambda s: s if s["title"] == s["names"][i] else None)(shown(b)))
        r = t.templates_api.render(me, by_name[s["title"]]["id"], values,
                                   PROJECT)
        assert r.status_code == 200, r.text
        assert s["preview"] == r.json()["text"], (s["title"], s["preview"],
                                                  r.json())


def test_search_accents_and_emoji(jira_host, browser, open_page):
    """Search as you type has the API's semantics, shown as the API
    lists: case folded (CAFÉ finds Café, RÉSUMÉ finds résumé), accents
    kept (cafe does not find Café; resume finds nothing, and says so),
    emoji found in a body; the shown list is the API's for that q."""
    t = jira_host.new_tenant()
    me = t.default_account
    api = t.templates_api
    issue = t.add_issue(20003, "DEMO-3", "Lunch")
    for name, body in (("Café au lait", "Milk first."),
                       ("Résumé request", "Please send your résumé."),
                       ("Release party", "Congrats 🎉 on the release!"),
                       ("Cafeteria menu", "Soup of the day.")):
        api.create(me, name, body, scope="global")
    b = browser
    open_page(b, "picker", tenant=t, issue=issue)
    s = settled(b)
    assert len(s["names"]) == 4, s
    for q, want in (("CAFÉ", ["Café au lait"]),
                    ("café", ["Café au lait"]),
                    ("cafe", ["Cafeteria menu"]),
                    ("RÉSUMÉ", ["Résumé request"]),
                    ("resume", []),
                    ("🎉", ["Release party"]),
                    ("  party ", ["Release party"])):
        assert api_names(t, me, q=q.strip()) == want, q
        s = search_for(b, q, want)
        if want:
            assert s["title"] == want[0], s
        else:
            assert s["title"] is None, s
            assert js(b, "return document.getElementById('no-match')"
                         ".textContent").find(q) != -1
    # Cleared (Esc): the whole list again, in the API's order.
    b.find_element(By.ID, "q").send_keys(Keys.ESCAPE)
    s = until("the whole list", lambda: (lambda s: s if s["busy"] == "false"
              and s["query"] == "" and len(s["names"]) == 4 else None)(
                  shown(b)))
    assert s["names"] == api_names(t, me), s


def test_keyboard_only(jira_host, browser, open_page):
    """Without the mouse: focus starts in the search box, Down/Up move
    the active option (aria-activedescendant, aria-selected), Enter
    posts it; a search typed and entered at once posts its first match;
    Esc clears the search, and on an empty box says the panel stays."""
    t, issue, made = fixture(jira_host)
    me = t.default_account
    today = time.strftime("%Y-%m-%d", time.gmtime())
    texts = {"Acknowledge": ACK_TEXT, "My note": f"Noted on {today}.",
             "Need logs": "Could you attach the logs of DEMO-7, "
                          "Ada Lovelace?"}
    b = browser
    open_page(b, "picker", tenant=t, issue=issue)
    s = settled(b)
    names = s["names"]
    assert s["focus"] == "q" and s["title"] == names[0], s
    q = b.switch_to.active_element
    # Down past the end stays on the last; Up goes back one.
    q.send_keys(Keys.ARROW_DOWN, Keys.ARROW_DOWN, Keys.ARROW_DOWN,
                Keys.ARROW_UP)
    s = shown(b)
    second = names[1]
    assert s["active"] == f"tpl-{made[second]['id']}", s
    assert s["selected"] == [s["active"]] and s["title"] == second, s
    assert s["preview"] == texts[second], s
    q.send_keys(Keys.ENTER)
    until("the first comment", lambda: len(t.comments(issue)) == 1)
    assert t.comments(issue)[0]["text"] == texts[second]
    s = until("the posted message", lambda: (lambda s: s if s["message"]
              and "success" in s["messageKind"] else None)(shown(b)))
    assert s["focus"] == "q" and second in s["message"], s
    until("the live region to tell", lambda: second in js(
        b, "return [...document.querySelectorAll('[role=status]')]"
           ".map(e => e.textContent).join(' ')"))
    # Typed and entered at once (before the debounce): its first match.
    third = "Acknowledge" if second == "Need logs" else "Need logs"
    q.send_keys(third[-4:].lower(), Keys.ENTER)
    until("the second comment", lambda: len(t.comments(issue)) == 2)
    assert t.comments(issue)[1]["text"] == texts[third]
    want = {n: (0, 0) for n in names}
    want[second] = want[third] = (1, 1)
    until(f"uses counted as {want}", lambda: usage(t, me) == want)
    # Esc clears the search (the whole list, in the API's order now);
    # on an empty box it says the panel stays open.
    q.send_keys(Keys.ESCAPE)
    s = until("the search cleared", lambda: (lambda s: s if s["query"] ==
              "" and s["busy"] == "false" and len(s["names"]) == 3
              else None)(shown(b)))
    assert s["names"] == api_names(t, me), s
    assert s["focus"] == "q", s
    q.send_keys(Keys.ESCAPE)
    until("the live region to say the panel stays", lambda: "stays open"
          in js(b, "return [...document.querySelectorAll('[role=status]"
                   "')].map(e => e.textContent).join(' ')"))
    assert len(t.comments(issue)) == 2


def grant_clipboard(b, t):
    """Lets the test read the clipboard from the frame: Chromium asks the
    top-level origin (the Jira host's) for a framed document."""
    from urllib.parse import urlsplit
    u = urlsplit(t.base_url)
    b.execute_cdp_cmd("Browser.grantPermissions", {
        "origin": f"{u.scheme}://{u.netloc}",
        "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]})


def read_clipboard(b):
    return b.execute_async_script("""
        const done = arguments[arguments.length - 1];
        navigator.clipboard.readText().then(done,
            (e) => done("ERROR " + e));""")


def test_copy(jira_host, browser, open_page):
    """Copy puts the previewed text on the clipboard with the Clipboard
    API, and, when the frame refuses that API, through a selection and
    the copy command; copying posts nothing and counts nothing."""
    t, issue, made = fixture(jira_host)
    me = t.default_account
    b = browser
    grant_clipboard(b, t)
    open_page(b, "picker", tenant=t, issue=issue)
    settled(b)
    b.find_element(By.ID, f"tpl-{made['Acknowledge']['id']}").click()
    b.find_element(By.ID, "copy").click()
    until("the copied message", lambda: (lambda s: s if s["message"] and
          "success" in s["messageKind"] else None)(shown(b)))
    assert read_clipboard(b) == ACK_TEXT
    # The Clipboard API refused (as in a frame without clipboard-write).
    js(b, """Object.defineProperty(navigator.clipboard, "writeText",
             {configurable: true, value: () => Promise.reject(
                 new DOMException("refused", "NotAllowedError"))});""")
    b.find_element(By.ID, f"tpl-{made['Need logs']['id']}").click()
    b.find_element(By.ID, "copy").click()
    want = "Could you attach the logs of DEMO-7, Ada Lovelace?"
    until("the fallback copy", lambda: read_clipboard(b) == want)
    s = shown(b)
    assert "success" in s["messageKind"] and "Need logs" in s["message"], s
    assert s["focus"] == "copy", s
    assert t.comments(issue) == []
    assert set(usage(t, me).values()) == {(0, 0)}


def test_comment_refused_counts_nothing(jira_host, browser, open_page):
    """Jira refuses the comment: the user is told plainly, nothing is
    posted and no use counted; once Jira accepts again, posting works."""
    t, issue, made = fixture(jira_host)
    me = t.default_account
    restore, failed = wrap_rest(t, lambda m, p: 500 if m == "POST" and
                        p.endswith("/comment") else None)
    b = browser
    try:
        open_page(b, "picker", tenant=t, issue=issue)
        settled(b)
        b.find_element(By.ID, f"tpl-{made['Acknowledge']['id']}").click()
        b.find_element(By.ID, "insert").click()
        s = until("the error", lambda: (lambda s: s if s["message"] and
                  "error" in s["messageKind"] else None)(shown(b)))
        assert "500" in s["message"] and "Nothing was posted" in \
            s["message"], s
        assert js(b, "return document.getElementById('message')"
                     ".getAttribute('role')") == "alert"
        assert failed == [("POST", f"/rest/api/3/issue/{issue}/comment")]
    finally:
        restore()
    assert t.comments(issue) == []
    assert set(usage(t, me).values()) == {(0, 0)}
    # Buttons usable again; the next try posts and counts.
    b.find_element(By.ID, "insert").click()
    until("the comment", lambda: len(t.comments(issue)) == 1)
    until("one use", lambda: usage(t, me)["Acknowledge"] == (1, 1))


def test_empty_and_unreachable(jira_host, browser, open_page):
    """Nothing to list says so; Jira unreachable: the templates still
    list and the preview shows the fallbacks, with a note; cellar
    unreachable: a plain error and a retry that works."""
    t = jira_host.new_tenant()
    me = t.default_account
    issue = t.add_issue(20004, "DEMO-4", "Nothing here",
                        assignee=t.user("Kim"))
    b = browser
    open_page(b, "picker", tenant=t, issue=issue)
    s = settled(b)
    assert s["names"] == [] and s["title"] is None, s
    assert "no canned responses" in js(
        b, "return document.getElementById('empty').textContent")
    # Jira down for the browser: fallbacks, and a note saying why.
    t.templates_api.create(me, "Assignee", "With {{assignee.displayName "
                           "| the team}} on {{issue.key|this issue}}.",
                           scope="personal")
    restore, failed = wrap_rest(t, lambda m, p: 503)
    try:
        open_page(b, "picker", tenant=t, issue=issue)
        s = settled(b)
    finally:
        restore()
    assert sorted(failed) == [("GET", "/rest/api/3/issue/" + issue),
                              ("GET", "/rest/api/3/myself")], failed
    assert s["names"] == ["Assignee"], s
    # The key comes from the page's own parameters, the rest falls back.
    assert s["preview"] == "With the team on DEMO-4.", s
    assert js(b, "return !document.getElementById('jira-note').hidden")
    # cellar unreachable (the network refuses): an error, then Retry.
    js(b, """window.realFetch = window.fetch;
             window.fetch = () => Promise.reject(new TypeError("offline"));""")
    search_for(b, "nothing", [])
    err = until("the error", lambda: js(
        b, "const r = document.getElementById('retry');"
           "return r ? r.closest('.message').textContent : null"))
    assert "could not be reached" in err, err
    js(b, "window.fetch = window.realFetch;")
    b.find_element(By.ID, "retry").click()
    s = until("the no-match message", lambda: js(
        b, "const m = document.getElementById('no-match');"
           "return m ? m.textContent : null"))
    assert "nothing" in s
