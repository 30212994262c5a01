"""
Black-box tests of the registry side of Forge (issue 13): Connect-to-
Forge links made by a verified Connect install, kept across reinstalls
and site renames; cellarctl tenants and tenant show saying how each
tenant is installed; a shared cloud id named in the audit; cellarctl
tenant link; and the reaper's silence job.  Forge-only tenants are made
as Forge makes them: its installed event (a FIT of the fake Forge,
forge_fake.py) through the stack.  The rest of the FIT-driven tests are
test_forge.py's.

The silence job reads the "last seen" times that Forge requests record;
here they are set in the registry directly (the stack's master key
derives the registry key as cellar does: libsodium's crypto_kdf, which
is BLAKE2b keyed with the master key, salted with the subkey id and
personalised with the context), so that days of silence need no days.
"""
import calendar
import hashlib
import json
import re
import struct
import subprocess
import time
import uuid

import pytest

import atlassian as atl
from forge_fake import FakeForge, event_body
from harness import internal_errors, unexpected_worker_exits
from test_reaper import REAPER, ctl, ok, out_of, reaper, stack_drop_in

CHECKS = [internal_errors, unexpected_worker_exits]
DAY = 86400
TENANT_COLS = ["id", "state", "enabled", "installed", "delete_after",
               "quarantined", "kind", "installations", "last_seen",
               "base_url"]


SHOW_FIELDS = TENANT_COLS
INSTALLATION_COLS = ["installation_id", "cloud_id", "linked_by",
                     "linked_at", "last_seen", "preuninstall_at"]
EV_INSTALLED = "avi:forge:installed:app"
GRACE_DAYS = 21         # [reaper] grace_days, the default


def new_installation_id():
    return f"ari:cloud:ecosystem::installation/{uuid.uuid4()}"


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def parse_iso(v):
    return calendar.timegm(time.strptime(v, "%Y-%m-%dT%H:%M:%SZ"))


def new_fake_forge(fake):
    return FakeForge(fake)


def drop_in(fake, ff):
    return stack_drop_in(fake, ff.drop_in())


class Forge:
    """A stack that trusts a fake Forge (ff), its install key, and the
    registry as an operator sees it (cellarctl tenants, tenant show) or
    as the tests set it (sqlcipher)."""

    def __init__(self, st, fake, ff):
        self.st = st
        self.fake = fake
        self.ff = ff
        self.etc = st.etc
        self.key, self.kid = fake.new_install_key("forge-tenants")

    def install(self, client_key=None, secret=None, base_url=None,
                **fields):
        """A signed /installed with fields added to (or, None, removed
        from) the payload; returns the response."""
        client_key = client_key or str(uuid.uuid4())
        tok = atl.install_token(self.key, self.kid, client_key,
                                aud=self.st.base_url)
        body = atl.install_payload(
            client_key, secret or atl.new_secret(),
            base_url or f"https://site-{uuid.uuid4().hex[:10]}"
            ".atlassian.net", **fields)
        return self.st.request("POST", "/installed", json=body,
                               headers={"Authorization": f"JWT {tok}"})

    def tenants(self, at=None):
        """cellarctl tenants: {id: {column: value}}."""
        out = ok(ctl(self.etc, "tenants", at=at))
        lines = out.splitlines()
        assert lines[0].lstrip("# ").split("\t") == TENANT_COLS, out
        return {f[0]: dict(zip(TENANT_COLS, f))
                for f in (ln.split("\t") for ln in lines[1:] if ln)}

    def new_tenant(self, **fields):
        """Installs a new Connect tenant; returns (its id, clientKey,
        secret)."""
        before = set(self.tenants())
        ck, secret = str(uuid.uuid4()), atl.new_secret()
        r = self.install(ck, secret, **fields)
        assert r.status_code == 204, (r.status_code, r.text)
        new = set(self.tenants()) - before
        assert len(new) == 1, new
        return new.pop(), ck, secret

    def forge_tenant(self, cloud_id=None):
        """A Forge-only tenant, made as Forge makes it: the installed
        event of a new installation, through the stack; returns (its
        id, the fake's Installation)."""
        before = set(self.tenants())
        inst = self.ff.installation(cloud_id)
        r = self.forge_event(inst, EV_INSTALLED, id=str(uuid.uuid4()),
                             installerAccountId=atl.new_account_id())
        assert r.status_code == 204, (r.status_code, r.text)
        new = set(self.tenants()) - before
        assert len(new) == 1, new
        tid = new.pop()
        assert self.tenants()[tid]["kind"] == "forge"
        return tid, inst

    def forge_event(self, inst, event_type, **fields):
        """POST /forge/events: an event of inst, with a FIT."""
        h = FakeForge.headers(self.ff.fit(inst, event=True))
        h["Content-Type"] = "application/json"
        return self.st.request("POST", "/forge/events", headers=h,
                               data=json.dumps(event_body(
                                   event_type, **fields)).encode())

    def show(self, tid):
        """cellarctl tenant show: ({field: value}, [{column: value}])."""
        out = ok(ctl(self.etc, "tenant", "show", tid))
        lines = out.splitlines()
        n = len(SHOW_FIELDS)
        fields = [ln.split("\t") for ln in lines[:n]]
        assert [f[0] for f in fields] == SHOW_FIELDS, out
        assert all(len(f) == 2 for f in fields), out
        assert lines[n].lstrip("# ").split("\t") == INSTALLATION_COLS, out
        rows = [dict(zip(INSTALLATION_COLS, ln.split("\t")))
                for ln in lines[n + 1:]]
        assert all(len(r) == len(INSTALLATION_COLS) for r in rows), out
        return dict(fields), rows

    def registry_sql(self, sql):
        """Runs sql on the live registry (sqlcipher, the registry key
        derived from master key 1); returns its output."""
        master = (self.st.dir / "keys" / "master-0001.key").read_bytes()
        key = hashlib.blake2b(b"", digest_size=32, key=master,
                              salt=struct.pack("<Q", 1) + bytes(8),
                              person=b"REGISTRY" + bytes(8)).hexdigest()
        script = (f"PRAGMA key = \"x'{key}'\";\n.timeout 10000\n"
                  f"{sql}\n")
        p = subprocess.run(["sqlcipher", str(self.st.dir / "state" /
                                             "registry.db")],
                           input=script, capture_output=True, text=True,
                           timeout=60)
        assert p.returncode == 0 and "Error" not in p.stderr, p.stderr
        return p.stdout

    def set_last_seen(self, installation_id, at):
        self.registry_sql(f"UPDATE installations SET last_seen_at = {at} "
                          f"WHERE installation_id = '{installation_id}';")

    def audit_events(self, tenant_id):
        out = self.registry_sql(f"SELECT event || ' ' || coalesce(detail, "
                                f"'') FROM audit WHERE tenant_id = "
                                f"'{tenant_id}' ORDER BY id;")
        return out.splitlines()


@pytest.fixture(scope="module", autouse=True)
def _tools():
    if subprocess.run(["which", "sqlcipher"],
                      capture_output=True).returncode != 0:
        pytest.fail("sqlcipher missing (apt-get install sqlcipher)",
                    pytrace=False)
    if not REAPER.exists():
        pytest.fail(f"not built: {REAPER}", pytrace=False)


@pytest.fixture(scope="module")
def forge(module_stacks, fake):
    ff = new_fake_forge(fake)
    st = module_stacks({"50-forge.conf": drop_in(fake, ff)}, workers=2,
                       tag="forge-tenants", checks=CHECKS)
    return Forge(st, fake, ff)


def own_forge(make_stack, fake, tag):
    ff = new_fake_forge(fake)
    st = make_stack({"50-forge.conf": drop_in(fake, ff)}, workers=1,
                    tag=tag, checks=CHECKS)
    return Forge(st, fake, ff)


# 1. Connect-to-Forge links.

def test_the_registry_key_the_tests_derive_opens_the_registry(forge):
    # What the silence tests rest on: the same key cellar derives.
    assert forge.registry_sql("SELECT count(*) FROM tenants;").strip() \
        .isdigit()


def test_a_connect_install_naming_its_forge_installation_links_it(forge):
    iid, cloud = new_installation_id(), str(uuid.uuid4())
    tid, ck, secret = forge.new_tenant(installationId=iid, cloudId=cloud)
    row = forge.tenants()[tid]
    assert (row["state"], row["kind"], row["installations"],
            row["last_seen"]) == ("installed", "both", "1", "-"), row
    # A plain Connect install is "connect", without installations.
    other, _, _ = forge.new_tenant()
    assert (forge.tenants()[other]["kind"],
            forge.tenants()[other]["installations"]) == ("connect", "0")
    events = forge.audit_events(tid)
    assert "forge_link how=connect moved=0" in events, events
    # Nothing of the customer's in the audit trail but our tenant id.
    assert not any(iid in e or cloud in e or ck in e for e in events)


def test_a_reinstall_and_a_site_rename_keep_the_link(forge):
    iid = new_installation_id()
    tid, ck, secret = forge.new_tenant(installationId=iid,
                                       cloudId=str(uuid.uuid4()))
    # Reinstalled without installationId, under a new site URL.
    renamed = f"https://renamed-{uuid.uuid4().hex[:8]}.atlassian.net"
    r = forge.install(ck, secret, base_url=renamed, installationId=None,
                      cloudId=None)
    assert r.status_code == 204, (r.status_code, r.text)
    row = forge.tenants()[tid]
    assert (row["kind"], row["installations"], row["base_url"]) == \
        ("both", "1", renamed), row
    # Reinstalled naming it again: still one link, no new audit record.
    r = forge.install(ck, secret, base_url=renamed, installationId=iid)
    assert r.status_code == 204, (r.status_code, r.text)
    assert forge.tenants()[tid]["installations"] == "1"
    assert [e for e in forge.audit_events(tid)
            if e.startswith("forge_link")] == \
        ["forge_link how=connect moved=0"]
    out = forge.registry_sql("SELECT tenant_id || ' ' || linked_by FROM "
                             f"installations WHERE installation_id = "
                             f"'{iid}';")
    assert out.strip() == f"{tid} connect", out


@pytest.mark.parametrize("field,value", [
    ("installationId", "ari:cloud:ecosystem::installation/not-a-uuid"),
    ("installationId", "ari:cloud:ecosystem::app/"
                       "0f6a3c51-8b2e-4d4e-9a1b-6c7d8e9f0a1b"),
    ("installationId", "0f6a3c51-8b2e-4d4e-9a1b-6c7d8e9f0a1b"),
    ("installationId", "ari:cloud:ecosystem::installation/"
                       "0F6A3C51-8B2E-4D4E-9A1B-6C7D8E9F0A1B"),
    ("installationId", 12),
    ("installationId", ""),
    ("cloudId", "cloud id with spaces"),
    ("cloudId", "x" * 65),
    ("cloudId", ["a"]),
])
def test_a_malformed_installation_or_cloud_id_is_422_and_changes_nothing(
        forge, field, value):
    tid, ck, secret = forge.new_tenant()
    before = forge.tenants()
    links = forge.registry_sql("SELECT count(*) FROM installations;")
    # A reinstall of a known tenant and a first install: both refused.
    for key, sec in ((ck, atl.new_secret()),
                     (str(uuid.uuid4()), atl.new_secret())):
        r = forge.install(key, sec, **{field: value})
        assert r.status_code == 422, (field, value, r.status_code, r.text)
        assert str(value) not in r.text or str(value) in ("", "12")
        rid = r.headers.get("X-Request-Id")
        forge.st.wait_request_line(rid)
        assert re.search(rf"rid={rid} reason=install_invalid "
                         rf"field={field}\b", forge.st.log_text()), field
    assert forge.tenants() == before
    assert forge.registry_sql("SELECT count(*) FROM installations;") == \
        links


# 2. cellarctl tenant link.

def test_cellarctl_tenant_link_links_moves_and_refuses_bad_input(forge):
    a, _, _ = forge.new_tenant()
    b, _, _ = forge.new_tenant()
    iid = new_installation_id()
    p = ctl(forge.etc, "tenant", "link", a, iid)
    assert p.returncode == 0, out_of(p)
    assert p.stdout == f"{a}: installation linked\n", out_of(p)
    rows = forge.tenants()
    assert (rows[a]["kind"], rows[a]["installations"]) == ("both", "1")
    assert "forge_link how=operator moved=0" in forge.audit_events(a)
    # To another tenant: it moves; a tenant with a clientKey stays.
    p = ctl(forge.etc, "tenant", "link", b, iid)
    assert p.returncode == 0, out_of(p)
    assert p.stdout == f"{b}: installation linked; moved from tenant {a}, " \
        "which stays as it was (a Connect install or other " \
        "installations, or departed already)\n", out_of(p)
    rows = forge.tenants()
    assert (rows[a]["kind"], rows[a]["installations"], rows[a]["state"]) \
        == ("connect", "0", "installed"), rows[a]
    assert (rows[b]["kind"], rows[b]["installations"]) == ("both", "1")
    assert "forge_link_moved how=operator departed=0" in \
        forge.audit_events(a)
    before = forge.tenants()
    cases = [
        ([b, "ari:cloud:ecosystem::installation/nope"], 2,
         "not an installation id"),
        ([b, "0f6a3c51-8b2e-4d4e-9a1b-6c7d8e9f0a1b"], 2,
         "not an installation id"),
        (["not-a-tenant", new_installation_id()], 2, "not a tenant id"),
        (["0123456789abcdef0123456789abcdef", new_installation_id()], 1,
         "no such tenant"),
    ]
    for args, status, msg in cases:
        p = ctl(forge.etc, "tenant", "link", *args)
        assert p.returncode == status, (args, out_of(p))
        assert msg in p.stderr, (args, out_of(p))
        assert p.stdout == "", (args, out_of(p))
    p = ctl(forge.etc, "tenant", "link", b)
    assert p.returncode == 2 and "usage" in p.stderr, out_of(p)
    assert forge.tenants() == before



def test_tenant_link_names_the_forge_tenant_it_left_with_nothing(forge):
    # A site's Forge installation first seen as a tenant of its own,
    # linked by the operator to the site's Connect tenant.
    old, inst = forge.forge_tenant()
    tid, _, _ = forge.new_tenant()
    p = ctl(forge.etc, "tenant", "link", tid, inst.id)
    assert p.returncode == 0, out_of(p)
    rows = forge.tenants()
    assert rows[old]["state"] == "departed", rows[old]
    assert p.stdout == f"{tid}: installation linked; moved from tenant " \
        f"{old}, which had nothing left and departed (deleted after " \
        f"{rows[old]['delete_after']} unless it is installed again)\n", \
        out_of(p)
    due = parse_iso(rows[old]["delete_after"])
    assert abs(due - time.time() - GRACE_DAYS * DAY) < 120, rows[old]
    assert (rows[tid]["kind"], rows[tid]["installations"]) == ("both", "1")
    assert "forge_link_moved how=operator departed=1" in \
        forge.audit_events(old)


# 3. cellarctl tenant show, and a shared cloud id.

def test_tenant_show_lists_the_fields_and_the_installations(forge):
    # A Forge-only tenant: its installation heard from by the event.
    t0 = int(time.time())
    tid, inst = forge.forge_tenant()
    fields, insts = forge.show(tid)
    assert fields == forge.tenants()[tid], fields
    assert (fields["kind"], fields["installations"]) == ("forge", "1")
    assert len(insts) == 1, insts
    row = insts[0]
    assert (row["installation_id"], row["cloud_id"], row["linked_by"],
            row["preuninstall_at"]) == (inst.id, inst.cloud_id, "event", "-")
    assert abs(parse_iso(row["linked_at"]) - t0) < 120, row
    assert row["last_seen"] == fields["last_seen"] != "-", (row, fields)
    # A Connect tenant linked to two installations (a Connect install
    # payload, an operator), never heard from through Forge.
    iid, cloud = new_installation_id(), str(uuid.uuid4())
    ck, secret = str(uuid.uuid4()), atl.new_secret()
    before = set(forge.tenants())
    r = forge.install(ck, secret, installationId=iid, cloudId=cloud)
    assert r.status_code == 204, (r.status_code, r.text)
    (both,) = set(forge.tenants()) - before
    iid2 = new_installation_id()
    ok(ctl(forge.etc, "tenant", "link", both, iid2))
    p = ctl(forge.etc, "tenant", "show", both)
    assert secret not in p.stdout and ck not in p.stdout, out_of(p)
    fields, insts = forge.show(both)
    assert fields == forge.tenants()[both], fields
    assert (fields["kind"], fields["installations"], fields["last_seen"]) \
        == ("both", "2", "-"), fields
    # (Oldest link first; the two may share a second.)
    assert sorted((r["installation_id"], r["cloud_id"], r["linked_by"],
                   r["last_seen"]) for r in insts) == \
        sorted([(iid, cloud, "connect", "-"),
                (iid2, "-", "operator", "-")]), insts
    # A tenant without installations: the header, no rows.
    plain, _, _ = forge.new_tenant()
    fields, insts = forge.show(plain)
    assert (fields["kind"], insts) == ("connect", []), (fields, insts)
    # Refused: not a tenant id (2), no such tenant (1); nothing printed.
    for args, status, msg in (
            (["not-a-tenant"], 2, "not a tenant id"),
            (["0123456789abcdef0123456789abcdef"], 1, "no such tenant")):
        p = ctl(forge.etc, "tenant", "show", *args)
        assert p.returncode == status, (args, out_of(p))
        assert msg in p.stderr and p.stdout == "", (args, out_of(p))


def test_a_shared_cloud_id_names_the_other_tenants(forge):
    cloud = str(uuid.uuid4())
    connect, _, _ = forge.new_tenant(cloudId=cloud)
    first, _ = forge.forge_tenant(cloud_id=cloud)
    second, _ = forge.forge_tenant(cloud_id=cloud)
    assert f"forge_cloud_shared how=event tenants=1 others={connect}" in \
        forge.audit_events(first), forge.audit_events(first)
    # Oldest first (the unit test checks the order; these three may
    # share a second, and then the order is by id).
    shared = [e for e in forge.audit_events(second)
              if e.startswith("forge_cloud_shared ")]
    assert len(shared) == 1, forge.audit_events(second)
    m = re.fullmatch(r"forge_cloud_shared how=event tenants=2 "
                     r"others=(\w+),(\w+)", shared[0])
    assert m and {m[1], m[2]} == {connect, first}, shared
    log = forge.st.log_text()
    assert re.search(rf"warn .*event=forge_cloud_shared tenant={second} "
                     rf"others=2 ids={m[1]},{m[2]} ", log), log[-2000:]
    # Never linked by guess, and no cloud id in the log or audit.
    rows = forge.tenants()
    assert (rows[connect]["kind"], rows[first]["kind"],
            rows[second]["kind"]) == ("connect", "forge", "forge")
    assert cloud not in log
    assert not any(cloud in e for t in (connect, first, second)
                   for e in forge.audit_events(t))


# 4. The reaper's silence job.

def test_silence_departs_a_forge_tenant_as_of_its_last_word(make_stack,
                                                           fake):
    fg = own_forge(make_stack, fake, "silence")
    now = int(time.time())
    a, ia = fg.forge_tenant()
    b, ib = fg.forge_tenant()
    fg.set_last_seen(ia.id, now - 15 * DAY)
    fg.set_last_seen(ib.id, now - 13 * DAY)
    before = fg.tenants()
    assert before[a]["last_seen"] == iso(now - 15 * DAY), before[a]
    # --dry-run says what it would do and changes nothing.
    p = reaper(fg.etc, "--dry-run", "silence")
    assert p.returncode == 0, out_of(p)
    m = re.search(rf"^silence: would depart tenant {a} \(last heard from "
                  rf"(\S+), before the cutoff (\S+); deletion due (\S+)\)$",
                  p.stdout, re.M)
    assert m, out_of(p)
    assert m.group(1) == iso(now - 15 * DAY), out_of(p)
    assert abs(parse_iso(m.group(2)) - (now - 14 * DAY)) < 120, out_of(p)
    assert m.group(3) == iso(now - 15 * DAY + GRACE_DAYS * DAY), out_of(p)
    assert b not in p.stdout, out_of(p)
    assert re.search(r"^silence: ok, dry run, 1 tenants silent for 14 "
                     r"days, 0 departed", p.stdout, re.M), out_of(p)
    assert fg.tenants() == before
    assert "forge_silent" not in " ".join(fg.audit_events(a))
    # The run: a departs as of its last word, b stays.
    p = reaper(fg.etc, "silence")
    assert p.returncode == 0, out_of(p)
    assert re.search(r"^silence: ok, 1 tenants silent for 14 days, 1 "
                     r"departed, 0 failed \(", p.stdout, re.M), out_of(p)
    rows = fg.tenants()
    assert rows[a]["state"] == "departed", rows[a]
    assert rows[a]["delete_after"] == \
        iso(now - 15 * DAY + GRACE_DAYS * DAY), rows[a]
    out = fg.registry_sql(f"SELECT uninstalled_at FROM tenants WHERE id = "
                          f"'{a}';")
    assert out.strip() == str(now - 15 * DAY), out
    assert rows[b]["state"] == "installed"
    assert "forge_silent installations=1 silent_days=14" in \
        fg.audit_events(a)
    # Nothing left to do: a second run departs nobody.
    p = reaper(fg.etc, "silence")
    assert re.search(r"^silence: ok, 0 tenants silent", p.stdout, re.M), \
        out_of(p)


def test_silence_never_departs_a_tenant_that_is_also_a_connect_install(
        make_stack, fake):
    # Connect on Forge: the Connect lifecycle (/uninstalled) is its own,
    # and Connect traffic is not "heard from"; a live Connect site whose
    # Forge trigger stopped a month ago stays.
    fg = own_forge(make_stack, fake, "silence-both")
    now = int(time.time())
    iid = new_installation_id()
    both, _, _ = fg.new_tenant(installationId=iid, cloudId=str(uuid.uuid4()))
    fg.set_last_seen(iid, now - 30 * DAY)
    # A Forge-only tenant as silent: the job does depart that one.
    alone, inst = fg.forge_tenant()
    fg.set_last_seen(inst.id, now - 30 * DAY)
    rows = fg.tenants()
    assert (rows[both]["kind"], rows[both]["last_seen"]) == \
        ("both", iso(now - 30 * DAY)), rows[both]
    p = reaper(fg.etc, "--dry-run", "silence")
    assert p.returncode == 0, out_of(p)
    assert both not in p.stdout and alone in p.stdout, out_of(p)
    p = reaper(fg.etc, "silence")
    assert p.returncode == 0, out_of(p)
    assert re.search(r"^silence: ok, 1 tenants silent for 14 days, 1 "
                     r"departed", p.stdout, re.M), out_of(p)
    rows = fg.tenants()
    assert (rows[both]["state"], rows[both]["delete_after"]) == \
        ("installed", "-"), rows[both]
    assert rows[alone]["state"] == "departed", rows[alone]
    assert not any(e.startswith("forge_silent")
                   for e in fg.audit_events(both))
    # Nor a later purge: it is not due for deletion at all.
    p = reaper(fg.etc, "purge", at="+60d")
    assert p.returncode == 0, out_of(p)
    assert both in fg.tenants(at="+60d")


def test_silence_killed_between_tenants_is_finished_by_the_next_run(
        make_stack, fake):
    fg = own_forge(make_stack, fake, "silence-kill")
    now = int(time.time())
    ids = []
    for _ in range(2):
        tid, inst = fg.forge_tenant()
        ids.append(tid)
        fg.set_last_seen(inst.id, now - 20 * DAY)
    p = reaper(fg.etc, "silence", kill_at="silence.tenant_departed")
    assert p.returncode == -9, out_of(p)
    states = sorted(fg.tenants()[t]["state"] for t in ids)
    assert states == ["departed", "installed"], states
    p = reaper(fg.etc, "silence")
    assert p.returncode == 0, out_of(p)
    assert all(fg.tenants()[t]["state"] == "departed" for t in ids)
    # Each departed once, each audited once.
    for t in ids:
        assert sum(e.startswith("forge_silent") for e in
                   fg.audit_events(t)) == 1


def test_the_next_forge_event_brings_a_silent_tenant_back(make_stack,
                                                          fake):
    fg = own_forge(make_stack, fake, "silence-back")
    tid, inst = fg.forge_tenant()
    fg.set_last_seen(inst.id, int(time.time()) - 20 * DAY)
    assert reaper(fg.etc, "silence").returncode == 0
    assert fg.tenants()[tid]["state"] == "departed"
    r = fg.forge_event(inst, EV_INSTALLED, id=str(uuid.uuid4()))
    assert r.status_code == 204, (r.status_code, r.text)
    row = fg.tenants()[tid]
    assert (row["state"], row["delete_after"], row["installations"]) == \
        ("installed", "-", "1"), row
    assert abs(parse_iso(row["last_seen"]) - time.time()) < 120, row


def test_a_tenant_silent_past_the_grace_is_purged_at_once(make_stack,
                                                          fake):
    # Its last word 25 days ago: departed as of then, deletion due 4
    # days ago, so the next purge deletes it (within 21 days of the
    # last word, not 14 + 21), with its installation.
    fg = own_forge(make_stack, fake, "silence-purge")
    now = int(time.time())
    tid, inst = fg.forge_tenant()
    fg.set_last_seen(inst.id, now - 25 * DAY)
    assert reaper(fg.etc, "silence").returncode == 0
    row = fg.tenants()[tid]
    assert (row["state"], row["delete_after"]) == \
        ("departed", iso(now - 25 * DAY + GRACE_DAYS * DAY)), row
    p = reaper(fg.etc, "purge")
    assert p.returncode == 0, out_of(p)
    assert tid not in fg.tenants()
    assert fg.registry_sql("SELECT count(*) FROM installations WHERE "
                           f"installation_id = '{inst.id}';").strip() == "0"
    assert "purge_started keys_destroyed=1 installations=1" in \
        fg.audit_events(tid)
