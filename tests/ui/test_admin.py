"""
The configuration page for Jira admins (/ui/admin, src/ui/admin*.js) in
headless Chromium, framed by the fake Jira, against the real stack: it
shows the facts GET /api/tenant reports for the very tenant and caller
(ids, counts, the file's encryption, key version and dates, backups,
the scheduled deletion), each date in a <time> holding the API's value
and written in the user's locale; "Check again" reads them again; a
request cellar refuses (here: the site uninstalled meanwhile) is told
in plain words, with no stale facts left on the page.

Every test has its own tenant (jira_host.new_tenant()), so the counts
are exactly those the test made.
"""
import re

from selenium.common.exceptions import (NoSuchElementException,
                                        StaleElementReferenceException)
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait


WAIT = 20
ISO = re.compile(r"^(\d{4})-(\d\d)-(\d\d)T\d\d:\d\d:\d\dZ$")
SECTIONS = ["This site", "What cellar stores", "Encryption", "Backups",
            "If you uninstall cellar", "Personal data", "Analytics"]


def fact(b, name):
    """The <dd> of one fact (data-fact=name)."""
    return b.find_element(By.CSS_SELECTOR, f'dd[data-fact="{name}"]')


def value(b, name):
    return fact(b, name).find_element(By.CSS_SELECTOR, ".value").text


def times(el):
    return el.find_elements(By.TAG_NAME, "time")


def local_date(b, iso):
    """iso as the page must write it: the browser's locale (the fake
    all.js tells no Jira locale or time zone), long date, short time."""
    return b.execute_script(
        "return new Intl.DateTimeFormat(undefined, {dateStyle: 'long', "
        "timeStyle: 'short'}).format(new Date(arguments[0]));", iso)


def check_date(b, name, iso):
    """The fact shows iso as one <time datetime=iso>, written in the
    user's locale (the year and the day of the API's value in it)."""
    ts = times(fact(b, name))
    assert len(ts) == 1, (name, fact(b, name).text)
    assert ts[0].get_attribute("datetime") == iso, (name, iso)
    text = ts[0].text
    assert text == local_date(b, iso), (name, text, iso)
    year, _, day = ISO.match(iso).groups()
    assert year in text and str(int(day)) in text, (name, text, iso)


def number(b, n):
    return b.execute_script(
        "return new Intl.NumberFormat().format(arguments[0]);", n)


def tenant_facts(t, acct):
    r = t.api("GET", "/api/tenant", acct)
    assert r.status_code == 200, (r.status_code, r.text)
    return r.json()


def lifecycle(host, t, event):
    """Jira's /enabled (page token) or /uninstalled (signed install) for
    tenant t."""
    host.lifecycle(t, event)


def enable(host, t):
    lifecycle(host, t, "enabled")


def wait_fresh(b):
    """Waits for the page to have read /api/tenant again."""
    WebDriverWait(b, WAIT).until(lambda d: d.execute_script(
        "return document.getElementById('app').getAttribute('aria-busy')")
        == "false")


def test_admin_page_shows_the_tenants_facts_for_the_caller(
        browser, jira_host, open_page, screenshot):
    t = jira_host.new_tenant()
    admin = t.default_account
    other = t.user("Sam Agent", browse=["10000"])
    tpl = t.templates_api
    for i in range(2):
        tpl.create(admin, f"Shared answer {i}", "Hello {{reporter}}",
                   scope="global")
    tpl.create(admin, "Admin's own", "mine")
    for i in range(3):
        tpl.create(other, f"Sam's own {i}", "theirs")
    for i in range(2):
        t.panoramas_api.create(admin, f"Roadmap {i}")
    f = tenant_facts(t, admin)
    # Admins count the shared templates and their own personal one.
    assert f["records"] == {"templates": 3, "panoramas": 2}, f

    open_page(browser, "admin", tenant=t)
    b = browser
    assert [e.text for e in b.find_elements(By.TAG_NAME, "h2")] == \
        SECTIONS
    assert b.find_element(By.TAG_NAME, "h1").text == b.execute_script(
        "return document.title;")
    # This site.
    assert value(b, "site-id") == f["tenant"]["id"]
    # Jira has not called /enabled yet: the page says what the API says.
    assert f["tenant"]["state"] == "installed", f
    assert f["tenant"]["enabled"] is False, f
    assert value(b, "status") == "INSTALLED, BUT DISABLED IN JIRA"
    check_date(b, "installed", f["tenant"]["installedAt"])
    check_date(b, "updated", f["tenant"]["updatedAt"])
    # What is stored: the caller's counts.
    assert value(b, "templates") == number(b, 3)
    assert value(b, "panoramas") == number(b, 2)
    stored = b.find_element(By.ID, "s-stored").text
    assert "Never stored" in stored and "e-mail addresses" in stored
    # Encryption, read from the file.
    k = f["keys"]
    assert k["fileEncrypted"] is True and k["lastRotatedAt"] is None, k
    assert value(b, "encrypted") == "ENCRYPTED"
    check_date(b, "key", k["dataKeyCreatedAt"])
    age = k["dataKeyAgeDays"]
    want_age = ("today" if age == 0 else "1 day ago" if age == 1 else
                f"{number(b, age)} days ago")
    assert value(b, "key").startswith(
        f"Version {number(b, k['dataKeyVersion'])}, made "), value(b, "key")
    assert value(b, "key").endswith(f"({want_age})"), value(b, "key")
    assert value(b, "rotated") == \
        "Not replaced yet: the key in use is this site's first."
    # No backup recorded for a new site; no deletion while installed.
    assert f["backups"]["lastVerifiedAt"] is None, f
    assert value(b, "backup") == "None recorded yet."
    assert b.find_elements(By.CSS_SELECTOR, 'dd[data-fact="backup-run"]') \
        == []
    assert f["deletion"]["scheduledAt"] is None, f
    assert value(b, "deletion") == "None: cellar is installed on this site."
    un = b.find_element(By.ID, "s-uninstall").text
    assert "Within 30 days" in un and "backups included" in un, un
    assert "account ids" in b.find_element(By.ID, "s-personal").text
    pd = f.get("personalData")
    if pd is None:
        # This cellar does not report its reporting state: the page
        # states the promise only, and no fact it does not have.
        assert b.find_elements(By.CSS_SELECTOR, "#s-personal dl") == []
    elif pd["lastReportedAt"] is None:
        assert value(b, "last-report") == "None completed yet."
    else:
        check_date(b, "last-report", pd["lastReportedAt"])
    assert b.find_element(By.ID, "s-analytics").text.endswith(
        "to list the most used templates first.")

    # Keyboard: the first Tab reaches "Check again"; Enter reads the
    # facts again: Jira enabled the app meanwhile and a template was
    # made.
    enable(jira_host, t)
    tpl.create(admin, "Made meanwhile", "new")
    assert tenant_facts(t, admin)["tenant"]["enabled"] is True
    b.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
    active = b.switch_to.active_element
    assert active.get_attribute("id") == "refresh", active.text
    active.send_keys(Keys.ENTER)
    # The page is rebuilt: an element read in between goes stale.
    WebDriverWait(b, WAIT, ignored_exceptions=[
        StaleElementReferenceException, NoSuchElementException]).until(
        lambda d: value(d, "templates") == number(d, 4))
    wait_fresh(b)
    assert value(b, "status") == "INSTALLED AND ENABLED"
    assert b.switch_to.active_element.get_attribute("id") == "refresh"
    screenshot(b, "admin")

    # Another user (no Jira admin): the API answers with that caller's
    # counts (the shared templates and their own), and so does the page.
    g = tenant_facts(t, other)
    assert g["records"] == {"templates": 5, "panoramas": 2}, g
    open_page(browser, "admin", tenant=t, account=other)
    assert value(b, "templates") == number(b, 5)
    assert value(b, "panoramas") == number(b, 2)
    assert value(b, "site-id") == g["tenant"]["id"]


def test_a_refusal_is_told_plainly_and_no_stale_fact_stays(
        browser, jira_host, open_page):
    t = jira_host.new_tenant()
    open_page(browser, "admin", tenant=t)
    b = browser
    assert value(b, "templates") == number(b, 0)
    # The site uninstalls the app meanwhile: cellar refuses its tokens.
    lifecycle(jira_host, t, "uninstalled")
    assert t.api("GET", "/api/tenant", t.default_account).status_code == 401

    b.find_element(By.ID, "refresh").click()
    err = WebDriverWait(b, WAIT).until(
        lambda d: d.find_elements(By.ID, "error"))[0]
    wait_fresh(b)
    assert err.get_attribute("role") == "alert"
    assert "could not confirm who you are" in err.text, err.text
    assert "Reload the page" in err.text, err.text
    # Nothing of the former facts is left to be taken as current.
    assert b.find_elements(By.CSS_SELECTOR, "dl.facts") == []
    assert b.find_elements(By.ID, "refresh") == []
    # The focus is on the way out: "Try again".
    assert b.switch_to.active_element.get_attribute("id") == "retry"
