"""
The issue panel listing the panoramas that hold the issue
(/ui/issue-panoramas, src/ui/issue-panoramas*.js) in headless Chromium,
framed by the fake Jira, against the real stack: it lists exactly the
panoramas the API gives the user for that issue (those holding it that
the user may view; never one they may not, never one without the
issue), by name, each opening the Panoramas page at that panorama
through AP.navigator.go, with the mouse and with the keyboard; an issue
in no panorama says so and offers the Panoramas page; refusals (no
"Use panoramas" permission, an issue the user may not browse) are told
plainly.  The panel asks Jira to fit its frame once it has rendered.

Panoramas are made through the API (panorama_client), each test in its
own tenant (jira_host.new_tenant()).
"""
import secrets

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from panorama_client import add, new_issue_ids

WAIT = 20


def new_issue(t, visible_to=None):
    iid = new_issue_ids(1)[0]
    key = "DEMO-" + str(secrets.randbelow(90000) + 10)
    t.add_issue(iid, key, f"Summary of {key}", project="10000",
                visible_to=visible_to)
    return iid


def panorama(t, owner, name, issues=(), viewers=()):
    """A panorama of owner holding issues, shared (view) with viewers."""
    api = t.panoramas_api
    p = api.create(owner, name)
    if issues:
        api.apply(owner, p["id"], p["version"], [add(list(issues))])
    if viewers:
        api.share(owner, p["id"], [{"grantee": "account", "id": v,
                                    "level": "view"} for v in viewers])
    return p


def listed(b):
    """(id, name) of each panorama the panel lists, in order."""
    return [(li.get_attribute("data-panorama"),
             li.find_element(By.CSS_SELECTOR, "button.open").text)
            for li in b.find_elements(By.CSS_SELECTOR, "ul.panoramas li")]


def gone_to(page, n):
    """The navigator.go calls of the page, once there are n."""
    calls = []

    def have(_):
        calls[:] = [e for e in page.ap_log() if e["fn"] == "navigator.go"]
        return len(calls) >= n
    WebDriverWait(page.browser, WAIT).until(have)
    return calls


def resized(page):
    """The page asked Jira to fit the frame (AP.resize(), explicitly)."""
    return any(e["fn"] == "resize" for e in page.ap_log())


def test_lists_the_panoramas_the_user_may_view_and_opens_one(
        browser, jira_host, open_page, screenshot):
    t = jira_host.new_tenant()
    user = t.user("Sam Agent", browse=["10000"])
    other = t.user("Kim Lead", browse=["10000"])
    issue, elsewhere = new_issue(t), new_issue(t)
    mine = panorama(t, user, "Alpha launch", [issue])
    shared = panorama(t, other, "beta: Q3 roadmap", [elsewhere, issue],
                      viewers=[user])
    hidden = panorama(t, other, "Gamma secret plan", [issue])
    without = panorama(t, user, "Delta without it", [elsewhere])
    r = t.api("GET", f"/api/issues/{issue}/panoramas", user)
    assert r.status_code == 200, (r.status_code, r.text)
    want = [(p["id"], p["name"]) for p in r.json()["panoramas"]]
    assert sorted(want) == sorted([(mine["id"], mine["name"]),
                                   (shared["id"], shared["name"])]), want

    page = open_page(browser, "issue-panoramas", account=user, issue=issue,
                     tenant=t)
    b = browser
    assert listed(b) == want
    text = b.find_element(By.ID, "app").text
    assert hidden["name"] not in text and without["name"] not in text
    nodes = {p["id"]: p["nodes"] for p in r.json()["panoramas"]}
    assert nodes == {mine["id"]: 1, shared["id"]: 2}, nodes
    # All the panel says, in order (its heading is for screen readers).
    assert text.split("\n") == ["Panoramas with this issue",
                                 "In 2 panoramas"] + [
        x for pid, name in want for x in
        (name, "1 item" if nodes[pid] == 1 else f"{nodes[pid]} items")] + [
        "All panoramas"], text
    WebDriverWait(b, WAIT).until(lambda _: resized(page))
    screenshot(b, "issue-panoramas")

    # Keyboard: Tab to the second panorama, Enter opens it.
    body = b.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.TAB)
    b.switch_to.active_element.send_keys(Keys.TAB)
    active = b.switch_to.active_element
    assert active.text == want[1][1], active.text
    active.send_keys(Keys.ENTER)
    go = gone_to(page, 1)
    assert go[0]["target"] == "addonmodule", go
    assert go[0]["context"] == {"moduleKey": "panoramas",
                                "customData": {"panorama": want[1][0]}}, go
    # The mouse: the first one.
    b.find_elements(By.CSS_SELECTOR, "button.open")[0].click()
    go = gone_to(page, 2)
    assert go[1]["context"] == {"moduleKey": "panoramas",
                                "customData": {"panorama": want[0][0]}}, go


def test_an_issue_in_no_panorama_says_so_and_offers_the_panoramas_page(
        browser, jira_host, open_page):
    t = jira_host.new_tenant()
    user = t.user(browse=["10000"])
    issue, elsewhere = new_issue(t), new_issue(t)
    panorama(t, user, "Holds another issue", [elsewhere])
    r = t.api("GET", f"/api/issues/{issue}/panoramas", user)
    assert r.status_code == 200 and r.json()["panoramas"] == [], r.text

    page = open_page(browser, "issue-panoramas", account=user, issue=issue,
                     tenant=t)
    b = browser
    empty = b.find_element(By.ID, "empty")
    assert empty.text.startswith("This issue is in no panorama."), empty.text
    assert b.find_elements(By.CSS_SELECTOR, "ul.panoramas") == []
    WebDriverWait(b, WAIT).until(lambda _: resized(page))
    b.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
    active = b.switch_to.active_element
    assert active.get_attribute("id") == "go-panoramas", active.text
    active.send_keys(Keys.ENTER)
    go = gone_to(page, 1)
    assert go[0]["target"] == "addonmodule"
    assert go[0]["context"] == {"moduleKey": "panoramas"}, go


def test_refusals_are_told_plainly(browser, jira_host, open_page):
    t = jira_host.new_tenant()
    owner = t.user(browse=["10000"])
    issue = new_issue(t)
    private = new_issue(t, visible_to=[owner])
    p = panorama(t, owner, "Holds both", [issue, private])
    # Without the app's "Use panoramas" permission: 403.
    ungated = t.user(browse=["10000"], gate=False)
    assert t.api("GET", f"/api/issues/{issue}/panoramas",
                 ungated).status_code == 403
    open_page(browser, "issue-panoramas", account=ungated, issue=issue,
              tenant=t)
    b = browser
    err = b.find_element(By.ID, "error")
    assert err.get_attribute("role") == "alert"
    assert 'Jira permission "Use panoramas"' in err.text, err.text
    assert p["name"] not in b.find_element(By.ID, "app").text
    # An issue the user may not browse: 404, and nothing listed.
    viewer = t.user(browse=["10000"])
    t.panoramas_api.share(owner, p["id"], [{"grantee": "account",
                                            "id": viewer,
                                            "level": "view"}])
    assert t.api("GET", f"/api/issues/{private}/panoramas",
                 viewer).status_code == 404
    open_page(browser, "issue-panoramas", account=viewer, issue=private,
              tenant=t)
    err = b.find_element(By.ID, "error")
    assert err.text == ("This issue cannot be found, or you may not "
                        "browse it."), err.text
    assert b.find_elements(By.CSS_SELECTOR, "ul.panoramas") == []
