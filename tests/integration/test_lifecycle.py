"""
Black-box tests of the Jira lifecycle (issue 9, items 6, 7/20 and 19)
through the real nginx and workers of tests/stack, with a fake Atlassian
(jira_fake.FakeJira) serving install keys and Jira sites.

- 6: `[app] former_base_urls`: signed installs and uninstalls whose aud is
  a former base URL are accepted, any other aud is 401 aud_mismatch, and
  the descriptor names the current base URL only.
- 7/20: install-key fetches are limited per kid and per client address:
  two new kids in quick succession are both fetched, and an attacker
  sending made-up kids from 127.0.0.2 is throttled without ever
  throttling genuine installs from 127.0.0.1.
- 19: caches and throttles run on the monotonic clock: the workers run
  under libfaketime (wall clock from a file, monotonic clock real) and
  the wall clock steps back a day; an expired cached Jira answer is not
  honoured again, install-key fetches still work.  Tokens are minted
  with the workers' (faked) wall time.

Every stack here is a stack of its own (1 worker unless said otherwise,
so that the per-worker state under test is the one that answers).
"""
import calendar
import json
import os
import re
import secrets
import threading
import time
import uuid
from http.client import HTTPConnection

import atlassian as atl
from harness import (FCGI, Stack, free_port, internal_errors, run_script,
                     unexpected_worker_exits, write_drop_ins)
from jira_fake import PERMISSIONS_CHECK, FakeJira

REASON_LINE = re.compile(r" rid=(?P<rid>[0-9a-f]+) reason=(?P<reason>\S+)"
                         r"(?: (?P<rest>.*))?$")
CHECKS = [internal_errors, unexpected_worker_exits]
LIBFAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"
DAY = 86400


# Helpers.

def reasons_for(st, rid):
    """The reason codes the app logged for request id rid."""
    if not rid:
        return []
    st.wait_request_line(rid)
    out = []
    for ln in st.log_text().splitlines():
        m = REASON_LINE.search(ln)
        if m and m["rid"] == rid:
            out.append(m["reason"])
    return out


def reasons(st, r):
    return reasons_for(st, r.headers.get("X-Request-Id"))


class Site:
    """A Jira site as the tests play it (no Jira behind it unless a
    fake site's base URL is given)."""

    def __init__(self, base_url=None, secret=None):
        self.client_key = str(uuid.uuid4())
        self.secret = secret or atl.new_secret()
        self.base_url = base_url or \
            f"https://site-{secrets.token_hex(5)}.atlassian.net"


def lifecycle(st, site, key, kid, aud=None, event="installed", now=None):
    """POST /installed (or /uninstalled) for site, signed with (key,
    kid), aud defaulting to the stack's base URL."""
    path = f"/{event}"
    tok = atl.install_token(key, kid, site.client_key,
                            aud=st.base_url if aud is None else aud,
                            path=path, now=now)
    body = atl.install_payload(site.client_key, site.secret, site.base_url,
                               event=event)
    return st.request("POST", path, json=body,
                      headers={"Authorization": f"JWT {tok}"})


def tenant_info(st, site, now=None, account=None):
    kw = {"now": now}
    if account is not None:
        kw["sub"] = account
    tok = atl.context_token(site.secret, site.client_key, **kw)
    return st.get("/api/tenant", headers={"Authorization": f"JWT {tok}"})


def assert_installed(st, r, what):
    assert r.status_code == 204, (what, r.status_code, r.text,
                                  reasons(st, r))


# 6. Former base URLs.

FORMER = ("https://cellar-old.example.com",
          "https://old.example.net/cellar")


def _former_stack(make_stack, fake):
    drop_in = (f"[app]\nformer_base_urls = {','.join(FORMER)}\n"
               f"[auth]\ninstall_keys_url = {fake.keys_url}\n")
    return make_stack({"50-former.conf": drop_in}, workers=2,
                      tag="former", checks=CHECKS)


def test_install_and_uninstall_signed_for_a_former_base_url_are_accepted(
        make_stack, fake):
    st = _former_stack(make_stack, fake)
    key, kid = fake.new_install_key("former")
    site = Site()
    assert_installed(st, lifecycle(st, site, key, kid, aud=FORMER[0]),
                     "install with aud = first former base URL")
    r = tenant_info(st, site)
    assert r.status_code == 200, (r.text, reasons(st, r))
    assert r.json()["tenant"]["state"] == "installed"
    # Reinstall under the current URL, then uninstall under the second
    # former one (which has a path).
    assert_installed(st, lifecycle(st, site, key, kid), "reinstall")
    r = lifecycle(st, site, key, kid, aud=FORMER[1], event="uninstalled")
    assert r.status_code == 204, (r.status_code, r.text, reasons(st, r))
    # Departed: its tokens are refused from now on.
    assert tenant_info(st, site).status_code == 401


def test_an_aud_that_is_no_current_or_former_base_url_is_aud_mismatch(
        make_stack, fake):
    st = _former_stack(make_stack, fake)
    key, kid = fake.new_install_key("former")
    site = Site()
    assert_installed(st, lifecycle(st, site, key, kid), "install")
    unlisted = [
        "https://cellar-old.example.com.evil.example.org",
        "https://cellar-old.example.com:8443",
        "https://old.example.net",              # a former URL without its path
        "https://old.example.net/cellar/x",
        "https://other.example.com",
    ]
    old_secret = site.secret
    for aud in unlisted:
        for event in ("installed", "uninstalled"):
            site.secret = atl.new_secret()
            r = lifecycle(st, site, key, kid, aud=aud, event=event)
            got = reasons(st, r)
            assert r.status_code == 401, (aud, event, r.status_code, got)
            assert set(r.json()) == {"error", "message"}, r.text
            assert got == ["aud_mismatch"], (aud, event, got)
    # Nothing changed: the old secret still works, the tenant is there.
    site.secret = old_secret
    r = tenant_info(st, site)
    assert r.status_code == 200 and \
        r.json()["tenant"]["state"] == "installed", (r.text, reasons(st, r))


def test_the_descriptor_names_only_the_current_base_url(make_stack, fake):
    st = _former_stack(make_stack, fake)
    r = st.get("/atlassian-connect.json")
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["baseUrl"] == st.base_url
    assert d["links"]["self"] == st.base_url + "/atlassian-connect.json"
    for url in FORMER:
        host = url.split("//", 1)[1].split("/", 1)[0]
        assert host not in r.text, (url, r.text)


# 7/20. Install-key fetches: per kid, and per client address.

def _default_fetch_stack(make_stack, fake, tag):
    """[auth] fetch_interval, unknown_kid_budget, unknown_kid_seconds at
    their defaults; one worker."""
    return make_stack({"50-keys.conf": f"[auth]\ninstall_keys_url = "
                       f"{fake.keys_url}\n"}, workers=1, tag=tag,
                      checks=CHECKS)


def test_two_installs_signed_with_two_new_keys_within_a_second_both_succeed(
        make_stack, fake):
    st = _default_fetch_stack(make_stack, fake, "twokids")
    (k1, kid1), (k2, kid2) = (fake.new_install_key("new1"),
                              fake.new_install_key("new2"))
    s1, s2 = Site(), Site()
    started = time.monotonic()
    r1 = lifecycle(st, s1, k1, kid1)
    r2 = lifecycle(st, s2, k2, kid2)
    elapsed = time.monotonic() - started
    assert elapsed < 1.0, f"the two installs took {elapsed:.2f}s"
    assert_installed(st, r1, "first install, first new kid")
    assert_installed(st, r2, "second install, second new kid, at once")
    assert fake.key_hits(kid1) == 1 and fake.key_hits(kid2) == 1
    # Both kids cached now: a third install with each needs no fetch.
    assert_installed(st, lifecycle(st, Site(), k1, kid1), "kid1 again")
    assert_installed(st, lifecycle(st, Site(), k2, kid2), "kid2 again")
    assert fake.key_hits(kid1) == 1 and fake.key_hits(kid2) == 1


def _post_from(source_ip, port, path, body, token):
    """One POST to 127.0.0.1:port from a socket bound to source_ip.
    Returns (status, request id, body text)."""
    conn = HTTPConnection("127.0.0.1", port, timeout=10,
                          source_address=(source_ip, 0))
    try:
        data = json.dumps(body).encode()
        conn.request("POST", path, body=data, headers={
            "Authorization": f"JWT {token}",
            "Content-Type": "application/json",
            "Connection": "close"})
        resp = conn.getresponse()
        return (resp.status, resp.getheader("X-Request-Id"),
                resp.read().decode(errors="replace"))
    finally:
        conn.close()


def test_an_attacker_sending_unknown_kids_cannot_make_genuine_installs_fail(
        make_stack, fake):
    """Made-up kids from 127.0.0.2 every 0.5 s: once its budget of
    unknown kids (3) is spent, its fetches are refused
    (install_key_fetch_throttled); six genuine installs with new keys
    from 127.0.0.1 meanwhile all succeed."""
    st = _default_fetch_stack(make_stack, fake, "attacker")
    attacker_key = atl.new_rsa_key()
    genuine = [fake.new_install_key("genuine") for _ in range(6)]
    stop = threading.Event()
    sent = []           # (kid, status, rid, body)
    errors = []

    def attacker():
        try:
            while not stop.is_set():
                kid = "made-up-" + secrets.token_hex(8)
                victim = Site()
                tok = atl.install_token(attacker_key, kid,
                                        victim.client_key, aud=st.base_url)
                body = atl.install_payload(victim.client_key, victim.secret,
                                           victim.base_url)
                status, rid, text = _post_from("127.0.0.2", st.port,
                                               "/installed", body, tok)
                sent.append((kid, status, rid, text))
                stop.wait(0.5)
        except Exception as e:      # noqa: BLE001
            errors.append(repr(e))

    th = threading.Thread(target=attacker, name="attacker", daemon=True)
    th.start()
    try:
        # Let the attacker spend its budget first, then install for real
        # while it keeps going.
        time.sleep(1.8)
        results = []
        for key, kid in genuine:
            r = lifecycle(st, Site(), key, kid)
            results.append((kid, r.status_code, reasons(st, r)))
            time.sleep(0.6)
    finally:
        stop.set()
        th.join(15)
    assert not errors, errors
    failed = [x for x in results if x[1] != 204]
    assert not failed, f"genuine installs failed while attacked: {failed}"
    assert all(fake.key_hits(kid) == 1 for _, kid in genuine)

    assert len(sent) >= 8, f"the attacker sent only {len(sent)} requests"
    got = []
    for kid, status, rid, text in sent:
        assert status == 401, (kid, status, text)
        assert set(json.loads(text)) == {"error", "message"}, text
        got.append(reasons_for(st, rid))
    assert all(len(g) == 1 for g in got), got
    codes = [g[0] for g in got]
    # The first three unknown kids are fetched (and unknown); the fourth
    # may be ("more than 3"); from the fifth on the address is throttled.
    assert codes[:3] == ["install_key_not_found"] * 3, codes
    assert codes[3] in ("install_key_not_found",
                        "install_key_fetch_throttled"), codes
    assert codes[4:] == ["install_key_fetch_throttled"] * len(codes[4:]), \
        codes
    fetched = sum(fake.key_hits(kid) for kid, *_ in sent)
    assert fetched <= 4, f"{fetched} made-up kids reached the key service"


def test_bad_signatures_naming_a_real_kid_cannot_hold_up_its_genuine_install(
        make_stack, fake):
    """Anyone can name a real kid (Atlassian's are public) and sign with
    another key.  From 127.0.0.3, a stream of such installs naming the
    kid of the genuine install to come: the genuine install right after
    one of them still succeeds (its key was fetched once and kept), and
    the key service is asked once."""
    st = _default_fetch_stack(make_stack, fake, "badsig")
    key, kid = fake.new_install_key("real")
    wrong = atl.new_rsa_key()
    for i in range(6):
        victim = Site()
        tok = atl.install_token(wrong, kid, victim.client_key,
                                aud=st.base_url)
        status, rid, text = _post_from(
            "127.0.0.3", st.port, "/installed",
            atl.install_payload(victim.client_key, victim.secret,
                                victim.base_url), tok)
        assert status == 401, text
        assert reasons_for(st, rid) == ["bad_signature"], rid
        # The genuine install right behind the forged one.
        assert_installed(st, lifecycle(st, Site(), key, kid),
                         f"genuine install {i} after a forged one")
    assert fake.key_hits(kid) == 1


# 19. Monotonic clock: the workers' wall clock steps back a day.

class FakedClock:
    """The offset file libfaketime reads (FAKETIME_NO_CACHE=1: at every
    call) and the wall time the workers see."""

    def __init__(self, path):
        self.path = path
        self.offset = 0
        self.set(0)

    def set(self, offset):
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(f"{offset:+d}\n")
        tmp.replace(self.path)
        self.offset = offset

    def now(self):
        return int(time.time()) + self.offset


def faketime_stack(factory, drop_ins, tag, checks=CHECKS):
    """A one-worker stack whose workers run under libfaketime: wall clock
    offset from a file, monotonic clock untouched.  tests/stack runs
    CELLAR_STACK_FCGI, here a wrapper that sets the preload and execs
    the worker binary the suite tests (harness.FCGI); nothing else of
    the stack (nginx, cellarctl) runs under it.  Registered with the
    factory, which stops and checks it at teardown.  Returns (Stack,
    FakedClock)."""
    d = factory.new_dir(tag)
    ft = d / "faketime"
    ft.mkdir(parents=True, exist_ok=True)
    clock = FakedClock(ft / "offset")
    wrapper = ft / "cellar.fcgi"
    wrapper.write_text(f"""#!/bin/sh
LD_PRELOAD={LIBFAKETIME}
FAKETIME_TIMESTAMP_FILE={clock.path}
FAKETIME_NO_CACHE=1
FAKETIME_DONT_FAKE_MONOTONIC=1
# ASan wants to be first in the library list; the preload comes first.
ASAN_OPTIONS="${{ASAN_OPTIONS:+$ASAN_OPTIONS:}}verify_asan_link_order=0"
export LD_PRELOAD FAKETIME_TIMESTAMP_FILE FAKETIME_NO_CACHE
export FAKETIME_DONT_FAKE_MONOTONIC ASAN_OPTIONS
exec {FCGI} "$@"
""")
    wrapper.chmod(0o755)
    assert os.access(FCGI, os.X_OK), f"{FCGI} not built"
    assert os.path.exists(LIBFAKETIME), \
        f"{LIBFAKETIME} missing (apt-get install faketime)"
    write_drop_ins(d, drop_ins)
    factory.running.add(d)
    factory.workers[d] = 1
    port = free_port()
    rc, out = run_script("start", d, port,
                         env={"CELLAR_STACK_WORKERS": "1",
                              "CELLAR_STACK_FCGI": str(wrapper)},
                         out_path=f"{d}.start.out")
    assert rc == 0, f"tests/stack start {d} {port}: {rc}\n{out}"
    st = Stack(d, port, f"http://127.0.0.1:{port}")
    factory.stacks[d] = st
    for fn in checks:
        factory.check(st, fn)
    return st, clock


def worker_wall_offset(st):
    """Seconds between the wall clock the worker logs and ours (the
    timestamp of a /healthz line; whole seconds)."""
    r = st.get("/healthz")
    assert r.status_code == 200, r.text
    line = st.wait_request_line(r.headers["X-Request-Id"])[0]
    logged = calendar.timegm(time.strptime(line["ts"],
                                           "%Y-%m-%dT%H:%M:%SZ"))
    return logged - time.time(), int(line["pid"])


def step_back_a_day(st, clock):
    """Steps the workers' wall clock back one day and checks that the
    worker sees it (a precondition, not the behaviour under test)."""
    clock.set(-DAY)
    off, _ = worker_wall_offset(st)
    assert -DAY - 5 < off < -DAY + 5, \
        f"precondition: the worker's clock is off by {off:.0f}s, not -1 day"


def test_a_cached_jira_answer_that_expired_is_not_honoured_again_after_the_wall_clock_steps_back_a_day(  # noqa: E501
        make_stack):
    # Jira (the fake) must accept the app's tokens, which the worker
    # signs with its wall time, a day behind once the clock steps back.
    with FakeJira(leeway=3 * DAY) as jira:
        st, clock = faketime_stack(
            make_stack, {"50-clock.conf":
                         f"[auth]\ninstall_keys_url = {jira.keys_url}\n"
                         "[jira]\ncache_seconds = 2\n"}, "clock-cache")
        off, pid = worker_wall_offset(st)
        assert abs(off) < 5, f"precondition: worker clock off by {off:.0f}s"
        key, kid = jira.new_install_key("clock")
        secret = atl.new_secret()
        jsite = jira.add_site(secret)
        site = Site(jsite.base_url, secret)
        assert_installed(st, lifecycle(st, site, key, kid, now=clock.now()),
                         "install")
        admin = atl.new_account_id()
        jsite.set_admin(admin)
        jsite.set_groups(admin, [])

        def create_global(name):
            tok = atl.context_token(site.secret, site.client_key, sub=admin,
                                    context=atl.user_context(),
                                    now=clock.now())
            return st.request("POST", "/api/templates", json={
                "name": name, "body": "b", "scope": "global"},
                headers={"Authorization": f"JWT {tok}"})

        r = create_global("first")
        assert r.status_code == 201, (r.status_code, r.text, reasons(st, r))
        asked = jsite.count("POST", PERMISSIONS_CHECK)
        assert asked >= 1
        # Within cache_seconds the answer is reused (sanity).
        r = create_global("second")
        assert r.status_code == 201, (r.status_code, r.text)
        assert jsite.count("POST", PERMISSIONS_CHECK) == asked
        # Jira revokes admin; 3 s later the entry (2 s) has expired.
        jsite.set_admin(admin, False)
        time.sleep(3.0)
        step_back_a_day(st, clock)
        r = create_global("after the step back")
        assert r.status_code == 403, (
            f"an expired cached admin answer was honoured again after the "
            f"wall clock stepped back a day: {r.status_code} {r.text}")
        assert jsite.count("POST", PERMISSIONS_CHECK) > asked, \
            "Jira was not asked again"
        rec = jsite.requests_to("POST", PERMISSIONS_CHECK)[-1]
        assert rec.verified, rec.jwt_error
        # One worker served it all.
        assert worker_wall_offset(st)[1] == pid, "the worker was replaced"


def test_install_key_fetches_still_work_after_the_wall_clock_steps_back_a_day(
        make_stack, fake):
    st, clock = faketime_stack(
        make_stack, {"50-clock.conf":
                     f"[auth]\ninstall_keys_url = {fake.keys_url}\n"
                     "fetch_interval = 1\nunknown_kid_seconds = 2\n"},
        "clock-keys")
    off, pid = worker_wall_offset(st)
    assert abs(off) < 5, f"precondition: worker clock off by {off:.0f}s"
    key_a, kid_a = fake.new_install_key("before")
    assert_installed(st, lifecycle(st, Site(), key_a, kid_a,
                                   now=clock.now()), "install, kid A")
    assert fake.key_hits(kid_a) == 1
    # A kid the key service does not know yet: fetched once, then
    # remembered as unknown (unknown_kid_seconds = 2).  (After
    # fetch_interval, so that even a worker limiting every fetch, not
    # each kid's, fetches it.)
    time.sleep(1.2)
    key_k = atl.new_rsa_key()
    kid_k = "later-" + secrets.token_hex(6)
    site_k = Site()
    r = lifecycle(st, site_k, key_k, kid_k, now=clock.now())
    assert r.status_code == 401
    assert reasons(st, r) == ["install_key_not_found"]
    fake.add_install_key(kid_k, atl.public_pem(key_k))
    r = lifecycle(st, site_k, key_k, kid_k, now=clock.now())
    assert r.status_code == 401
    assert reasons(st, r)[0] in ("install_key_unknown_recently",
                                 "install_key_fetch_throttled")
    assert fake.key_hits(kid_k) == 1
    # 3 s later (real time) both windows are over; the wall clock steps
    # back a day meanwhile.
    time.sleep(3.0)
    step_back_a_day(st, clock)
    key_b, kid_b = fake.new_install_key("after")
    r = lifecycle(st, Site(), key_b, kid_b, now=clock.now())
    assert r.status_code == 204, (
        "a new kid was not fetched after the wall clock stepped back a "
        f"day: {r.status_code} {reasons(st, r)}")
    assert fake.key_hits(kid_b) == 1
    r = lifecycle(st, site_k, key_k, kid_k, now=clock.now())
    assert r.status_code == 204, (
        "a kid remembered as unknown for 2 s was still refused 3 s later "
        f"once the wall clock stepped back: {r.status_code} "
        f"{reasons(st, r)}")
    assert fake.key_hits(kid_k) == 2
    r = tenant_info(st, site_k, now=clock.now())
    assert r.status_code == 200, (r.text, reasons(st, r))
    assert worker_wall_offset(st)[1] == pid, "the worker was replaced"

