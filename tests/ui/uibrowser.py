"""
Headless Chromium for the browser tests: Debian's chromium driven by
Debian's chromedriver through python3-selenium, nothing downloaded.

start_chromium(out_dir) returns a selenium WebDriver whose window is
1280x800 CSS pixels, with a fresh profile in out_dir/profile-N; it
raises BrowserStartError, whose message says why, when the browser
cannot start.  The fixture turns that into a test failure (never a
skip: a test run without a browser has tested nothing).

Selenium must never fetch a driver or a browser: both paths are given
explicitly and checked before selenium sees them, and Selenium Manager
(which selenium runs when it cannot find a driver, and which would go to
the network) is replaced by a stub that refuses.
"""
import os
import shutil
import time
from pathlib import Path

CHROMIUM = os.environ.get("CELLAR_UI_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CELLAR_UI_CHROMEDRIVER",
                              "/usr/bin/chromedriver")
WIDTH, HEIGHT = 1280, 800
START_TIMEOUT = 60          # seconds for chromedriver + chromium to start
PAGE_LOAD_TIMEOUT = 30      # seconds for one navigation
QUIT_GRACE = 10            # seconds for its processes to exit after quit()

# Newer selenium releases read these; 4.8 (Debian 12) never runs the
# manager when the driver path exists, and the stub below covers the rest.
os.environ["SE_OFFLINE"] = "true"
os.environ.pop("SE_MANAGER_PATH", None)


class BrowserStartError(Exception):
    """Chromium (or chromedriver) could not start; str() says why."""


def _no_manager():
    """Replaces selenium's Selenium Manager with a stub that refuses:
    selenium runs it when the driver is not found and it would download
    one."""
    try:
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.common import selenium_manager, service
    except ImportError:
        return

    class NoSeleniumManager:
        def driver_location(self, *args, **kw):
            raise WebDriverException("Selenium Manager is disabled in "
                                     "these tests (no downloads)")

        def binary_paths(self, *args, **kw):
            return self.driver_location()

    selenium_manager.SeleniumManager = NoSeleniumManager
    if hasattr(service, "SeleniumManager"):
        service.SeleniumManager = NoSeleniumManager


_no_manager()


def _executable(path, what, package):
    p = Path(path)
    if not p.is_file() or not os.access(p, os.X_OK):
        raise BrowserStartError(
            f"{what} {path} is missing or not executable (Debian package "
            f"{package}; tests/setup-deps installs it)")


def chromium_args(profile):
    """Chromium's command line for a test browser."""
    args = [
        "--headless=new",
        f"--window-size={WIDTH},{HEIGHT}",
        f"--user-data-dir={profile}",
        "--force-device-scale-factor=1",
        "--lang=en-US",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-extensions",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        "--disable-domain-reliability",
        "--disable-client-side-phishing-detection",
        "--disable-search-engine-choice-screen",
        "--disable-features=Translate,OptimizationHints,MediaRouter,"
        "AutofillServerCommunication,InterestFeedContentSuggestions",
        "--metrics-recording-only",
        "--password-store=basic",
        "--use-mock-keychain",
        # Nothing goes through a proxy from the environment: every
        # address the tests use is on 127.0.0.1.
        "--no-proxy-server",
        # /dev/shm is small in containers.
        "--disable-dev-shm-usage",
        "--disable-gpu",
    ]
    if os.geteuid() == 0:
        # Chromium's sandbox refuses to run as root.
        args.append("--no-sandbox")
    return args


def _new_profile(out_dir):
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    n = 0
    while (out_dir / f"profile-{n}").exists():
        n += 1
    profile = out_dir / f"profile-{n}"
    profile.mkdir()
    return profile


def start_chromium(out_dir, chromium=None, chromedriver=None):
    """A started headless Chromium (selenium WebDriver) with a fresh
    profile under out_dir.  The driver carries .profile_dir (removed by
    quit_chromium) and .driver_log.  Raises BrowserStartError."""
    chromium = chromium or CHROMIUM
    chromedriver = chromedriver or CHROMEDRIVER
    try:
        from selenium import webdriver
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.chrome.service import Service
    except ImportError as e:
        raise BrowserStartError(f"python3-selenium is not installed: {e}")
    _executable(chromedriver, "chromedriver", "chromium-driver")
    _executable(chromium, "Chromium", "chromium")
    profile = _new_profile(out_dir)
    log = Path(out_dir) / f"chromedriver-{profile.name}.log"
    opts = webdriver.ChromeOptions()
    opts.binary_location = str(chromium)
    for a in chromium_args(profile):
        opts.add_argument(a)
    # Console messages (CSP violations among them) for the tests.
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    opts.set_capability("pageLoadStrategy", "normal")
    svc = Service(executable_path=str(chromedriver), log_path=str(log))
    t0 = time.monotonic()
    try:
        driver = webdriver.Chrome(service=svc, options=opts)
    except WebDriverException as e:
        shutil.rmtree(profile, ignore_errors=True)
        msg = (e.msg or str(e)).strip()
        raise BrowserStartError(
            f"Chromium did not start ({chromium} via {chromedriver}): "
            f"{msg[:2000]}\n(chromedriver log: {log})") from None
    except OSError as e:
        shutil.rmtree(profile, ignore_errors=True)
        raise BrowserStartError(f"chromedriver did not start: {e}") from None
    driver.profile_dir = profile
    driver.driver_log = log
    driver.start_seconds = time.monotonic() - t0
    try:
        driver.set_page_load_timeout(PAGE_LOAD_TIMEOUT)
        driver.set_script_timeout(30)
        size = driver.execute_script(
            "return [window.innerWidth, window.innerHeight]")
        if size != [WIDTH, HEIGHT]:
            # Headless windows have no browser chrome, but make sure: the
            # screenshots are of a 1280x800 viewport.
            driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
                "width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1,
                "mobile": False})
    except WebDriverException as e:
        quit_chromium(driver)
        raise BrowserStartError(f"Chromium started but does not answer: "
                                f"{(e.msg or str(e))[:1000]}") from None
    return driver


def quit_chromium(driver, keep_logs=False):
    """Quits the browser and chromedriver; removes the profile, and the
    chromedriver log unless keep_logs.  Returns a list of problems."""
    problems = []
    try:
        driver.quit()
    except Exception as e:      # noqa: BLE001
        problems.append(f"driver.quit() failed: {e!r}")
    svc = getattr(driver, "service", None)
    proc = getattr(svc, "process", None)
    if proc is not None and proc.poll() is None:
        proc.kill()
        proc.wait(5)
    profile = getattr(driver, "profile_dir", None)
    if profile is not None:
        # Chromium processes still holding the profile are this
        # browser's (the profile directory is new and ours).  quit()
        # returns before the last of them has exited: on a busy machine
        # that takes a moment, so they get QUIT_GRACE seconds.
        from harness import kill_pids, procs_of
        left = procs_of(profile)
        deadline = time.monotonic() + QUIT_GRACE
        while left and time.monotonic() < deadline:
            time.sleep(0.1)
            left = procs_of(profile)
        if left:
            kill_pids(left)
            problems.append(f"Chromium processes left after quit: "
                            f"{sorted(left)}")
        shutil.rmtree(profile, ignore_errors=True)
    log = getattr(driver, "driver_log", None)
    if log is not None and not keep_logs:
        try:
            os.unlink(log)
        except FileNotFoundError:
            pass
    return problems


def launch(out_dir, **kw):
    """start_chromium, or the test fails (never skips) saying why."""
    import pytest
    try:
        return start_chromium(out_dir, **kw)
    except BrowserStartError as e:
        pytest.fail(f"the browser could not start: {e}", pytrace=False)
