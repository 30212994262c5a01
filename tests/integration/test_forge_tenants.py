"""
Black-box tests of the registry side of Forge (issue 13): Connect-to-
Forge links made by a verified Connect install, kept across reinstalls
and site renames; cellarctl tenants showing how each tenant is installed;
cellarctl tenant link; and the reaper's silence job.  FIT-driven tests
(a Forge installation becoming a tenant, reinstated by its next FIT) are
test_forge.py's.

The silence job reads the "last seen" times that Forge requests record;
here they are set in the registry directly (the stack's master key
derives the registry key as cellar does: libsodium's crypto_kdf, which
is BLAKE2b keyed with the master key, salted with the subkey id and
personalised with the context), so that the job is tested apart from
the Forge routes.
"""
import calendar
import hashlib
import re
import struct
import subprocess
import time
import uuid

import pytest

import atlassian as atl
from harness import internal_errors, unexpected_worker_exits
from test_reaper import REAPER, ctl, ok, out_of, reaper, stack_drop_in

CHECKS = [internal_errors, unexpected_worker_exits]
DAY = 86400
TENANT_COLS = ["id", "state", "enabled", "installed", "delete_after",
               "quarantined", "kind", "installations", "last_seen",
               "base_url"]


def new_installation_id():
    return f"ari:cloud:ecosystem::installation/{uuid.uuid4()}"


class Forge:
    """A stack, its install key, and the registry as an operator sees
    it (cellarctl tenants) or as the tests set it (sqlcipher)."""

    def __init__(self, st, fake):
        self.st = st
        self.fake = fake
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
    st = module_stacks({"50-forge.conf": stack_drop_in(fake)}, workers=2,
                       tag="forge-tenants", checks=CHECKS)
    return Forge(st, fake)


def own_forge(make_stack, fake, tag):
    st = make_stack({"50-forge.conf": stack_drop_in(fake)}, workers=1,
                    tag=tag, checks=CHECKS)
    return Forge(st, fake)


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
    assert a in p.stdout
    rows = forge.tenants()
    assert (rows[a]["kind"], rows[a]["installations"]) == ("both", "1")
    assert "forge_link how=operator moved=0" in forge.audit_events(a)
    # To another tenant: it moves; a tenant with a clientKey stays.
    p = ctl(forge.etc, "tenant", "link", b, iid)
    assert p.returncode == 0, out_of(p)
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


# 3. The reaper's silence job.

def test_silence_departs_a_tenant_whose_installations_fell_silent(
        make_stack, fake):
    fg = own_forge(make_stack, fake, "silence")
    now = int(time.time())
    silent, recent, never = new_installation_id(), new_installation_id(), \
        new_installation_id()
    a, _, _ = fg.new_tenant(installationId=silent)
    b, _, _ = fg.new_tenant(installationId=recent)
    c, _, _ = fg.new_tenant(installationId=never)     # never heard from
    fg.set_last_seen(silent, now - 15 * DAY)
    fg.set_last_seen(recent, now - 13 * DAY)
    before = fg.tenants()
    assert before[a]["last_seen"] != "-"
    # --dry-run says what it would do and changes nothing.
    p = reaper(fg.etc, "--dry-run", "silence")
    assert p.returncode == 0, out_of(p)
    assert re.search(rf"^silence: would depart tenant {a} ", p.stdout,
                     re.M), out_of(p)
    assert b not in p.stdout and c not in p.stdout, out_of(p)
    assert re.search(r"^silence: ok, dry run, 1 tenants silent for 14 "
                     r"days, 0 departed", p.stdout, re.M), out_of(p)
    assert fg.tenants() == before
    assert "forge_silent" not in " ".join(fg.audit_events(a))
    # The run: a departs with the usual grace, b and c stay.
    p = reaper(fg.etc, "silence")
    assert p.returncode == 0, out_of(p)
    assert re.search(r"^silence: ok, 1 tenants silent for 14 days, 1 "
                     r"departed, 0 failed \(", p.stdout, re.M), out_of(p)
    rows = fg.tenants()
    assert rows[a]["state"] == "departed", rows[a]
    due = calendar.timegm(time.strptime(rows[a]["delete_after"],
                                        "%Y-%m-%dT%H:%M:%SZ"))
    assert abs(due - now - 21 * DAY) < 120, rows[a]
    assert rows[b]["state"] == rows[c]["state"] == "installed"
    assert "forge_silent installations=1 silent_days=14" in \
        fg.audit_events(a)
    # Nothing left to do: a second run departs nobody.
    p = reaper(fg.etc, "silence")
    assert re.search(r"^silence: ok, 0 tenants silent", p.stdout, re.M), \
        out_of(p)


def test_silence_killed_between_tenants_is_finished_by_the_next_run(
        make_stack, fake):
    fg = own_forge(make_stack, fake, "silence-kill")
    now = int(time.time())
    ids = []
    for _ in range(2):
        iid = new_installation_id()
        ids.append(fg.new_tenant(installationId=iid)[0])
        fg.set_last_seen(iid, now - 30 * DAY)
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


def test_a_connect_reinstall_brings_a_silent_tenant_back(make_stack, fake):
    fg = own_forge(make_stack, fake, "silence-back")
    iid = new_installation_id()
    tid, ck, secret = fg.new_tenant(installationId=iid)
    fg.set_last_seen(iid, int(time.time()) - 20 * DAY)
    assert reaper(fg.etc, "silence").returncode == 0
    assert fg.tenants()[tid]["state"] == "departed"
    r = fg.install(ck, secret)
    assert r.status_code == 204, (r.status_code, r.text)
    row = fg.tenants()[tid]
    assert (row["state"], row["delete_after"], row["installations"]) == \
        ("installed", "-", "1"), row


def test_the_purge_after_silence_forgets_the_installations(make_stack,
                                                            fake):
    fg = own_forge(make_stack, fake, "silence-purge")
    iid = new_installation_id()
    tid, _, _ = fg.new_tenant(installationId=iid)
    fg.set_last_seen(iid, int(time.time()) - 20 * DAY)
    assert reaper(fg.etc, "silence").returncode == 0
    # Past the grace: the usual purge, the installation with it.
    p = reaper(fg.etc, "purge", at="+22d")
    assert p.returncode == 0, out_of(p)
    assert tid not in fg.tenants(at="+22d")
    assert fg.registry_sql("SELECT count(*) FROM installations WHERE "
                           f"installation_id = '{iid}';").strip() == "0"
    assert "purge_started keys_destroyed=1 installations=1" in \
        fg.audit_events(tid)
