"""
The template manager (/ui/templates, src/ui/templates*.js) in headless
Chromium, framed by the fake Jira, against the real stack: what a user
creates, edits and deletes with the form is what cellar's API then
holds; a conflicting edit from a second browser session is told in
plain words, Reload shows the other's version and the user's text
stays; an import with a bad row names the row and the field and
imports nothing; a good import lands and the exported file is the
API's export; more templates than one page are paged forwards and
back; scopes are set with the project and group pickers (names from
Jira, ids to cellar); API validation errors show next to their field.

Tests that need a clean list of shared templates use a tenant of their
own (jira_host.new_tenant()); the others a fresh account, whose list
holds its personal templates only.
"""
import json

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from uihost import until

WAIT = 20
PAGE = 20       # templates.js PAGE_SIZE


# The page.

def ready(b):
    """Waits until no list load runs (#app aria-busy=false)."""
    WebDriverWait(b, WAIT).until(lambda d: d.execute_script(
        "return document.getElementById('app').getAttribute('aria-busy')"
        " === 'false';"))


def names(b):
    """The names in the list, in order."""
    return b.execute_script(
        "return Array.from(document.querySelectorAll('#app tbody .tp-name'))"
        ".map((e) => e.textContent);")


def wait_names(b, want):
    got = []

    def same():
        got[:] = names(b)
        return got == want
    try:
        until("the list", same)
    except AssertionError:
        raise AssertionError(f"list {got} != {want}") from None


def row(b, name):
    """The row of the template named name (once shown)."""
    xp = f"//tbody/tr[.//div[@class='tp-name' and text()={xq(name)}]]"
    return WebDriverWait(b, WAIT).until(
        lambda d: d.find_element(By.XPATH, xp))


def xq(s):
    """s as an XPath string literal."""
    if "'" not in s:
        return f"'{s}'"
    return "concat('" + "', \"'\", '".join(s.split("'")) + "')"


def page_message(b, kind):
    """The text of the page's message of that kind, once shown."""
    return WebDriverWait(b, WAIT).until(lambda d: d.execute_script(
        "const m = document.querySelector('.tp-page-msg .message.' + "
        "arguments[0]); return m ? m.textContent : null;", kind))


def form_message(b, kind):
    return WebDriverWait(b, WAIT).until(lambda d: d.execute_script(
        "const m = document.querySelector('.tp-form-msg .message.' + "
        "arguments[0]); return m ? m.textContent : null;", kind))


def field_error(b, field):
    """The error text shown under a field (once there) and whether the
    control says aria-invalid."""
    el = {"name": "tp-name", "body": "tp-body", "scope": "tp-scope",
          "projects": "tp-projects", "groups": "tp-groups"}[field]
    text = WebDriverWait(b, WAIT).until(
        lambda d: d.find_element(By.ID, el + "-err").text)
    ctl = {"projects": "tp-projects-input",
           "groups": "tp-groups-input"}.get(field, el)
    return text, b.find_element(By.ID, ctl).get_attribute("aria-invalid")


def focused_id(b):
    return b.execute_script("return document.activeElement.id || "
                            "document.activeElement.className;")


def type_into(b, el_id, text):
    el = b.find_element(By.ID, el_id)
    el.clear()
    el.send_keys(text)
    return el


def click_button(b, text):
    """The visible button with that text (in the frame)."""
    btn = WebDriverWait(b, WAIT).until(lambda d: next(
        (x for x in d.find_elements(By.XPATH,
                                    f"//button[normalize-space()={xq(text)}]")
         if x.is_displayed()), None))
    btn.click()
    return btn


def form_open(b):
    return b.find_element(By.ID, "tp-form").is_displayed()


def save(b):
    b.find_element(By.ID, "tp-save").click()


def api_templates(t, acct):
    return t.templates_api.list_all(acct, manage="true")


def by_name(t, acct, name):
    hits = [x for x in api_templates(t, acct) if x["name"] == name]
    assert len(hits) <= 1, hits
    return hits[0] if hits else None


# The tests.

def test_create_edit_delete(browser, jira_host, open_page, screenshot):
    """A template created, edited and deleted with the form is what the
    API then holds; an error the API names shows next to its field; the
    focus goes to the form on edit and back to the list after a save."""
    t = jira_host.new_tenant()
    admin = t.default_account
    api = t.templates_api
    # A list worth a screenshot: shared and personal, used, inactive.
    w = api.create(admin, "Waiting for customer",
                   "Hi {{reporter.displayName}}, could you send us the "
                   "logs of {{issue.key}}?", scope="projects",
                   projects=["10000"])
    api.create(admin, "Thanks for reporting",
               "Thanks {{reporter.displayName | there}}, we are on it.",
               scope="global")
    api.create(admin, "Known outage", "We know; status page has more.",
               scope="global", active=False, position=5)
    for _ in range(3):
        assert api.render(admin, w["id"], {"issue.key": "DEMO-1"},
                          project="10000").status_code == 200
    assert api.use(admin, w["id"], project="10000").status_code == 204

    b = browser
    open_page(b, "templates", tenant=t)
    # Position first, then uses in 30 days (most first), then name.
    wait_names(b, ["Waiting for customer", "Thanks for reporting",
                   "Known outage"])
    r = row(b, "Waiting for customer")
    assert "Demo project (DEMO)" in r.text
    # Three renders and one of them posted: three uses, one posted.
    uses = r.find_element(By.CSS_SELECTOR, "td.num").text.split("\n")
    assert uses == ["3", "1 posted as a comment"], uses
    assert "Inactive" in row(b, "Known outage").get_attribute("textContent")
    screenshot(b, "templates")

    # Esc closes the form, the focus back where it was.
    b.find_element(By.ID, "tp-create").click()
    until("the form", lambda: form_open(b))
    assert focused_id(b) == "tp-name"
    # "Only me" says what it means, not the same again.
    assert b.find_element(By.ID, "tp-scope-personal-hint").text == \
        "Nobody else sees it."
    # Tabbing reaches the scope radios, and the one focused shows it.
    for _ in range(10):
        b.switch_to.active_element.send_keys(Keys.TAB)
        if focused_id(b).startswith("tp-scope-"):
            break
    assert focused_id(b) == "tp-scope-personal", focused_id(b)
    ring = b.execute_script(
        "const s = getComputedStyle(document.activeElement);"
        "return [s.outlineStyle, s.outlineWidth];")
    assert ring[0] != "none" and ring[1] != "0px", ring
    b.find_element(By.ID, "tp-name").click()
    # The Active box sits on the line of the Position field.
    mid = b.execute_script(
        "return ['tp-position', 'tp-active'].map((id) => {"
        " const r = document.getElementById(id).getBoundingClientRect();"
        " return r.top + r.height / 2; });")
    assert abs(mid[0] - mid[1]) <= 2, mid
    b.switch_to.active_element.send_keys(Keys.ESCAPE)
    until("the form closed", lambda: not form_open(b))
    assert focused_id(b) == "tp-create"

    # Create: an empty name is refused by the API, named next to the
    # field; then a good one.
    b.switch_to.active_element.send_keys(Keys.ENTER)
    until("the form", lambda: form_open(b))
    assert focused_id(b) == "tp-name"
    type_into(b, "tp-body", "Closing this, {{reporter.displayName}}.")
    save(b)
    text, invalid = field_error(b, "name")
    assert text == "Enter a name." and invalid == "true"
    assert focused_id(b) == "tp-name"
    type_into(b, "tp-name", "x" * 121)
    save(b)
    until("the name's limit", lambda: field_error(b, "name")[0] ==
          "A name holds 1 to 120 characters.")
    type_into(b, "tp-name", "Closing – résumé")
    save(b)
    until("the form closed", lambda: not form_open(b))
    row(b, "Closing – résumé")
    assert "created" in page_message(b, "success")
    made = by_name(t, admin, "Closing – résumé")
    assert made["body"] == "Closing this, {{reporter.displayName}}."
    assert made["scope"] == "personal" and made["active"] is True
    assert made["version"] == 1

    # Edit: the form opens with the template, the focus in it.
    row(b, "Closing – résumé").find_element(
        By.CSS_SELECTOR, ".tp-edit").click()
    until("the edit form", lambda: form_open(b))
    assert b.find_element(By.ID, "tp-form-title").text == "Edit template"
    assert focused_id(b) == "tp-name"
    assert b.find_element(By.ID, "tp-body").get_attribute("value") == \
        made["body"]
    type_into(b, "tp-body", "Closed: {{issue.key}} is fixed.")
    screenshot(b, "templates-edit")
    b.find_element(By.ID, "tp-active").click()      # inactive
    save(b)
    until("the form closed", lambda: not form_open(b))
    got = by_name(t, admin, "Closing – résumé")
    assert got["body"] == "Closed: {{issue.key}} is fixed."
    assert got["active"] is False and got["version"] == 2
    # The focus is back on the list: the saved row's edit button.
    until("the focus on the row", lambda: b.execute_script(
        "const e = document.activeElement; return e.classList.contains("
        "'tp-edit') && e.closest('tr').dataset.id === arguments[0];",
        str(got["id"])))

    # Delete: a confirmation first (Cancel keeps it), then gone.
    row(b, "Closing – résumé").find_element(
        By.CSS_SELECTOR, ".tp-delete").click()
    dlg = b.find_element(By.ID, "tp-confirm")
    until("the confirmation", dlg.is_displayed)
    assert "Closing – résumé" in dlg.text
    # A personal template is shared with nobody: not said to be.
    assert "personal template" in dlg.text and "everyone" not in dlg.text
    assert focused_id(b) == "tp-confirm-cancel"
    b.find_element(By.ID, "tp-confirm-cancel").click()
    until("the confirmation closed", lambda: not dlg.is_displayed())
    assert by_name(t, admin, "Closing – résumé") is not None
    row(b, "Closing – résumé").find_element(
        By.CSS_SELECTOR, ".tp-delete").click()
    until("the confirmation", dlg.is_displayed)
    b.find_element(By.ID, "tp-confirm-delete").click()
    until("the row gone", lambda: "Closing – résumé" not in names(b))
    assert "deleted" in page_message(b, "success")
    assert t.templates_api.get(admin, got["id"]).status_code == 404
    assert names(b) == ["Waiting for customer", "Thanks for reporting",
                        "Known outage"]


def test_conflicting_edit_two_sessions(browser, new_browser, jira_host,
                                       open_page):
    """Two admins edit one template at once: the second save is told
    the template changed meanwhile (409), Reload shows the first one's
    version, the second one's text stays and can be put back and saved;
    a delete of a stale version is refused and told the same way."""
    t = jira_host.new_tenant()
    ada, bea = t.default_account, t.user("Bea Admin", admin=True)
    tpl = t.templates_api.create(ada, "Escalation", "Original text.",
                                 scope="global")
    a, b = browser, new_browser()
    open_page(a, "templates", account=ada, tenant=t)
    open_page(b, "templates", account=bea, tenant=t)
    for x in (a, b):
        row(x, "Escalation").find_element(By.CSS_SELECTOR, ".tp-edit").click()
        until("the edit form", lambda: form_open(x))

    type_into(a, "tp-body", "Ada's version.")
    save(a)
    until("Ada's save", lambda: not form_open(a))
    type_into(b, "tp-body", "Bea's careful wording.")
    type_into(b, "tp-name", "Escalation (Bea)")
    save(b)
    msg = form_message(b, "warning")
    assert "changed this template after you opened it" in msg
    assert "not saved" in msg
    # Nothing of Bea's went in; her text is still in the form.
    got = t.templates_api.get(ada, tpl["id"]).json()
    assert got["body"] == "Ada's version." and got["version"] == 2
    assert b.find_element(By.ID, "tp-body").get_attribute("value") == \
        "Bea's careful wording."

    click_button(b, "Reload their version")
    until("Ada's version in the form", lambda: b.find_element(
        By.ID, "tp-body").get_attribute("value") == "Ada's version.")
    assert b.find_element(By.ID, "tp-name").get_attribute("value") == \
        "Escalation"
    assert b.find_element(By.ID, "tp-mine-body").get_attribute(
        "value") == "Bea's careful wording."
    assert b.find_element(By.ID, "tp-mine-name").get_attribute(
        "value") == "Escalation (Bea)"
    assert "Your text is below" in form_message(b, "info")
    b.find_element(By.ID, "tp-use-mine").click()
    assert b.find_element(By.ID, "tp-body").get_attribute("value") == \
        "Bea's careful wording."
    save(b)
    until("Bea's save", lambda: not form_open(b))
    got = t.templates_api.get(ada, tpl["id"]).json()
    assert got["body"] == "Bea's careful wording."
    assert got["name"] == "Escalation (Bea)" and got["version"] == 3

    # Ada's list still holds version 2: her delete is refused (409),
    # told, and after Reload the list's version deletes.
    row(a, "Escalation").find_element(By.CSS_SELECTOR, ".tp-delete").click()
    assert "deleted for everyone it is shared with" in a.find_element(
        By.ID, "tp-confirm").text
    a.find_element(By.ID, "tp-confirm-delete").click()
    msg = page_message(a, "warning")
    assert "was changed after this list was loaded" in msg
    assert t.templates_api.get(ada, tpl["id"]).status_code == 200
    click_button(a, "Reload the list")
    row(a, "Escalation (Bea)").find_element(
        By.CSS_SELECTOR, ".tp-delete").click()
    a.find_element(By.ID, "tp-confirm-delete").click()
    until("the row gone", lambda: names(a) == [])
    assert t.templates_api.get(ada, tpl["id"]).status_code == 404


def import_file(b, tmp_path, name, doc):
    p = tmp_path / name
    p.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    b.find_element(By.ID, "tp-import-file").send_keys(str(p))


def test_import_with_errors_imports_nothing(browser, jira_host, open_page,
                                            tmp_path):
    """A file with a bad row: the row (as the user counts) and the field
    the API names are shown in plain words, and nothing is imported."""
    t = jira_host
    u = t.user("Ivy Importer")
    b = browser
    open_page(b, "templates", account=u)
    assert names(b) == []
    import_file(b, tmp_path, "bad.json", {
        "format": "cellar-templates", "version": 1, "templates": [
            {"name": "First", "body": "one", "scope": "personal"},
            {"name": "Second", "body": "two", "scope": "everywhere"},
            {"name": "Third", "body": "three", "scope": "personal"}]})
    msg = page_message(b, "error")
    assert msg.startswith("Nothing was imported")
    assert "template 2 in the file (“Second”)" in msg
    assert "scope" in msg
    assert api_templates(t, u) == []

    # A row the user may not create (everyone: Jira admins only).
    import_file(b, tmp_path, "forbidden.json", {"templates": [
        {"name": "Mine", "body": "ok", "scope": "personal"},
        {"name": "For all", "body": "no", "scope": "global"}]})
    until("the refused row", lambda: "template 2 in the file (“For all”) "
          "is shared in a way you may not set" in
          page_message(b, "error"))
    # A body too long, in row 1.
    import_file(b, tmp_path, "long.json", {"templates": [
        {"name": "Long", "body": "x" * 10001, "scope": "personal"}]})
    until("the long body", lambda: "template 1 in the file (“Long”) has a "
          "problem with its text" in page_message(b, "error"))
    # Not JSON at all.
    p = tmp_path / "notes.txt"
    p.write_text("hello")
    b.find_element(By.ID, "tp-import-file").send_keys(str(p))
    until("not JSON", lambda: "not JSON" in page_message(b, "error"))
    assert api_templates(t, u) == []
    assert names(b) == []


def allow_downloads(b, where):
    """Lets the browser save downloads into where (the harness has no
    download directory of its own)."""
    where.mkdir(parents=True, exist_ok=True)
    b.execute_cdp_cmd("Browser.setDownloadBehavior", {
        "behavior": "allow", "downloadPath": str(where),
        "eventsEnabled": False})


def downloaded(where):
    """The one finished download in where."""
    def one():
        done = [p for p in where.iterdir()
                if not p.name.endswith(".crdownload")]
        part = [p for p in where.iterdir() if p.name.endswith(".crdownload")]
        return done[0] if len(done) == 1 and not part else None
    return until("the download", one)


def test_import_then_export(browser, jira_host, open_page, tmp_path):
    """A good file is imported whole (a taken name renamed, and said);
    the exported file holds what the API's export holds."""
    t = jira_host
    u = t.user("Otto Exporter")
    t.templates_api.create(u, "Greeting", "Hello!")
    b = browser
    open_page(b, "templates", account=u)
    wait_names(b, ["Greeting"])
    rows = [{"name": "Greeting", "body": "Hello again", "scope": "personal"},
            {"name": "Straße 🚧", "body": "Road works {{today}}",
             "scope": "personal", "active": False},
            {"name": "Émile", "body": "Bonjour", "scope": "personal",
             "position": 2}]
    import_file(b, tmp_path, "good.json", {
        "format": "cellar-templates", "version": 1, "templates": rows})
    msg = page_message(b, "success")
    assert "3 templates imported." in msg
    assert "“Greeting” was imported as “Greeting (2)”" in msg
    wait_names(b, ["Greeting", "Greeting (2)", "Straße 🚧", "Émile"])
    held = {x["name"]: x for x in api_templates(t, u)}
    assert set(held) == {"Greeting", "Greeting (2)", "Straße 🚧", "Émile"}
    assert held["Straße 🚧"]["active"] is False
    assert held["Émile"]["position"] == 2

    where = tmp_path / "downloads"
    allow_downloads(b, where)
    b.find_element(By.ID, "tp-export").click()
    f = downloaded(where)
    assert f.name.startswith("cellar-templates-") and f.suffix == ".json"
    doc = json.loads(f.read_text(encoding="utf-8"))
    api = t.templates_api.export(u)
    assert api["nextCursor"] is None
    assert doc == {"format": "cellar-templates", "version": 1,
                   "templates": api["templates"], "nextCursor": None}
    assert "4 templates exported" in page_message(b, "success")


def test_paging(browser, jira_host, open_page):
    """More templates than a page: Next and Previous walk the pages the
    API gives; a search narrows the list and starts again at page 1."""
    t = jira_host
    u = t.user("Pat Pager")
    want = [f"Paging {i:02d}" for i in range(1, PAGE + 6)]
    for n in reversed(want):
        t.templates_api.create(u, n, f"body of {n}")
    b = browser
    open_page(b, "templates", account=u)
    wait_names(b, want[:PAGE])
    prev, nxt = b.find_element(By.ID, "tp-prev"), b.find_element(By.ID,
                                                                 "tp-next")
    assert not prev.is_enabled() and nxt.is_enabled()
    assert b.find_element(By.ID, "tp-page").text == "Templates 1 to 20"
    nxt.click()
    wait_names(b, want[PAGE:])
    assert b.find_element(By.ID, "tp-page").text == "Templates 21 to 25"
    assert prev.is_enabled() and not nxt.is_enabled()
    # Next went disabled: the focus is on the list, not lost.
    until("the focus on the list", lambda: focused_id(b) ==
          "tp-list-title")
    prev.click()
    wait_names(b, want[:PAGE])
    # Keyboard: Next by Enter.
    nxt.send_keys(Keys.ENTER)
    wait_names(b, want[PAGE:])

    type_into(b, "tp-search", "paging 1")
    wait_names(b, [n for n in want if n.startswith("Paging 1")])
    assert not b.find_element(By.ID, "tp-prev").is_enabled()
    type_into(b, "tp-search", "nothing like this")
    until("the empty message", lambda: b.find_element(
        By.CSS_SELECTOR, ".tp-empty").text == "No template matches your "
        "search.")


def pick(b, which, query, label):
    """Types query into a picker, moves down to label with the arrow
    keys and takes it with Enter."""
    box = type_into(b, f"tp-{which}-input", query)
    opts_js = ("const l = document.getElementById('tp-' + arguments[0] + "
               "'-list'); return l.hidden ? [] : Array.from(l.querySelectorAll("
               "'[role=option]')).map((o) => o.textContent);")
    until(f"the option {label}", lambda: label in b.execute_script(
        opts_js, which))
    opts = b.execute_script(opts_js, which)
    for _ in range(opts.index(label) + 1):
        box.send_keys(Keys.ARROW_DOWN)
    assert b.find_element(By.ID, f"tp-{which}-input").get_attribute(
        "aria-expanded") == "true"
    box.send_keys(Keys.ENTER)
    until(f"{label} chosen", lambda: label in b.find_element(
        By.ID, f"tp-{which}-chosen").text)


def test_scope_pickers(browser, jira_host, open_page):
    """Projects and groups chosen by name with the pickers (Jira's
    answers, through AP.request) reach cellar as ids; the list shows
    their names; a scope the user may not set is refused next to the
    scope field."""
    t = jira_host.new_tenant()
    t.add_project("10001", "ALPHA", "Alpha support")
    t.add_project("10002", "BETA", "Beta operations")
    t.add_group("3f1d2a7c-0000-4000-8000-00000000a001", "Support team")
    t.add_group("3f1d2a7c-0000-4000-8000-00000000a002", "Operations")
    admin = t.default_account
    b = browser
    open_page(b, "templates", account=admin, tenant=t)
    b.find_element(By.ID, "tp-create").click()
    until("the form", lambda: form_open(b))
    type_into(b, "tp-name", "Shared with projects")
    type_into(b, "tp-body", "Hello {{reporter.displayName}}")
    b.find_element(By.ID, "tp-scope-projects").click()
    until("the project picker", lambda: b.find_element(
        By.ID, "tp-projects-input").is_displayed())
    # One answer: counted in the singular; once chosen, the count goes.
    type_into(b, "tp-projects-input", "alp")
    hint = b.find_element(By.ID, "tp-projects-hint")
    until("the count", lambda: hint.text ==
          "1 result. Use the arrow keys to choose.")
    pick(b, "projects", "alp", "Alpha support (ALPHA)")
    assert b.find_element(By.ID, "tp-projects-input").get_attribute(
        "value") == ""
    assert "result" not in hint.text, hint.text
    pick(b, "projects", "beta", "Beta operations (BETA)")
    # A chip removed and chosen again (by its remove button).
    b.find_element(By.CSS_SELECTOR, "#tp-projects-chosen button[aria-label="
                   "'Remove Beta operations (BETA)']").click()
    until("Beta removed", lambda: "Beta" not in b.find_element(
        By.ID, "tp-projects-chosen").text)
    pick(b, "projects", "oper", "Beta operations (BETA)")
    save(b)
    until("the form closed", lambda: not form_open(b))
    got = by_name(t, admin, "Shared with projects")
    assert got["scope"] == "projects"
    assert got["projects"] == ["10001", "10002"]
    assert "Alpha support (ALPHA), Beta operations (BETA)" in row(
        b, "Shared with projects").text
    searched = [r["query"].get("query") for r in t.browser_requests(
        "GET", "/rest/api/3/project/search") if "query" in r["query"]]
    assert ["alp"] in searched and ["beta"] in searched

    # Groups instead.
    row(b, "Shared with projects").find_element(
        By.CSS_SELECTOR, ".tp-edit").click()
    until("the form", lambda: form_open(b))
    assert "Alpha support (ALPHA)" in b.find_element(
        By.ID, "tp-projects-chosen").text
    b.find_element(By.ID, "tp-scope-groups").click()
    assert not b.find_element(By.ID, "tp-projects-input").is_displayed()
    pick(b, "groups", "supp", "Support team")
    save(b)
    until("the form closed", lambda: not form_open(b))
    got = by_name(t, admin, "Shared with projects")
    assert got["scope"] == "groups" and "projects" not in got
    assert got["groups"] == ["3f1d2a7c-0000-4000-8000-00000000a001"]
    assert got["version"] == 2
    assert "Support team" in row(b, "Shared with projects").text

    # No group chosen: the API's error is shown next to the groups.
    b.find_element(By.ID, "tp-create").click()
    until("the form", lambda: form_open(b))
    type_into(b, "tp-name", "No groups")
    type_into(b, "tp-body", "x")
    b.find_element(By.ID, "tp-scope-groups").click()
    save(b)
    text, invalid = field_error(b, "groups")
    assert text == "Choose 1 to 20 groups." and invalid == "true"
    b.find_element(By.ID, "tp-cancel").click()
    until("the form closed", lambda: not form_open(b))

    # A project admin of ALPHA only: BETA is refused, next to the scope.
    pa = t.user("Pia Projectadmin", browse=["10001", "10002"],
                padmin=["10001"])
    open_page(b, "templates", account=pa, tenant=t)
    b.find_element(By.ID, "tp-create").click()
    until("the form", lambda: form_open(b))
    type_into(b, "tp-name", "Beta only")
    type_into(b, "tp-body", "x")
    b.find_element(By.ID, "tp-scope-projects").click()
    pick(b, "projects", "beta", "Beta operations (BETA)")
    save(b)
    text, invalid = field_error(b, "scope")
    assert text.startswith("You may not share a template this way")
    assert by_name(t, pa, "Beta only") is None
    # ALPHA instead: saved.
    b.find_element(By.CSS_SELECTOR, "#tp-projects-chosen button").click()
    pick(b, "projects", "alpha", "Alpha support (ALPHA)")
    save(b)
    until("the form closed", lambda: not form_open(b))
    assert by_name(t, pa, "Beta only")["projects"] == ["10001"]
