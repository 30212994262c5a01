"""
Black-box tests of cellar-reaper (purge, backup, prune) and of the
cellarctl commands that go with it (backup list / verify, restore,
audit): what an operator, a customer who left and a security reviewer
rely on.

- backup: a run holds an encrypted copy of the registry and of every
  tenant, matching its manifest; cellarctl verifies it; /api/tenant shows
  the evidence; a second daily run is "not due".
- purge: a departed tenant is kept through its grace period and then
  leaves no trace under the state, backup and offsite directories (no
  file named after it, no byte of its id, clientKey or secret); a
  reinstall within the grace keeps its data, one after the purge starts
  empty under a new id.
- kill -9 at every durable step of purge and backup (the reaper's
  CELLAR_REAPER_KILL_AT hook): the next run finishes the work.
- one run at a time (STATE/reaper.lock), a full backup disk, a damaged
  copy, a restore drill, backups under load, pruning, and cellarctl
  audit turning red for each promise it checks.

The reaper and cellarctl run directly against the configuration of a
stack started by tests/stack (its etc/cellar.conf names [backup] dir =
DIR/backups and the logs).  Time travel: the reaper or cellarctl run
under libfaketime (wall clock offset, e.g. +22d; monotonic clock real);
the workers always run on the real clock.  Stacks whose clock-sensitive
state (jobs "due", run names in the future) must not leak into other
tests are the tests' own (make_stack).
"""
import calendar
import fcntl
import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest

import atlassian as atl
from canned_client import Tenant
from harness import (CELLARCTL, REPO, fill, internal_errors,
                     sanitizer_report, tmpfs, unexpected_worker_exits)

# The reaper under test: CELLAR_REAPER, else beside the build's other
# binaries (CELLAR_BUILD, else cellarctl's directory).
REAPER = Path(os.environ.get("CELLAR_REAPER") or (
    (REPO / os.environ["CELLAR_BUILD"]) if os.environ.get("CELLAR_BUILD")
    else CELLARCTL.parent) / "cellar-reaper")
LIBFAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"
CHECKS = [internal_errors, unexpected_worker_exits]
DAY = 86400

RUN_NAME = re.compile(r"^\d{8}T\d{6}Z$")
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
SQLITE_MAGIC = b"SQLite format 3\0"
PROMISES = ["at_rest", "key_rotation", "departed_deleted", "backup_daily",
            "backup_verified", "backup_offsite", "backup_retention",
            "access_log", "app_log", "accounts_reported"]
# The durable steps (src/reaper/job_*.c); test_backup_... and
# test_purge_... check that a real run passes exactly these.
PURGE_STEPS = ["purge.keys_destroyed", "purge.files_removed",
               "purge.copy_scrubbed", "purge.manifest_rewritten",
               "purge.backups_removed"]
BACKUP_STEPS = ["backup.tidied", "backup.registry_copied",
                "backup.tenant_copied", "backup.verified",
                "backup.manifest_written", "backup.recorded"]
PRUNE_STEPS = ["prune.run_renamed", "prune.run_forgotten"]


# Running the binaries.

def _env(at=None, **extra):
    """The environment of a reaper or cellarctl run; at: a libfaketime
    offset ("+22d", "-35d") for the wall clock, None for the real one."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CELLAR_REAPER_", "FAKETIME"))
           and k != "LD_PRELOAD"}
    if at is not None:
        assert os.path.exists(LIBFAKETIME), \
            f"{LIBFAKETIME} missing (apt-get install faketime)"
        env.update(LD_PRELOAD=LIBFAKETIME, FAKETIME=at,
                   FAKETIME_DONT_FAKE_MONOTONIC="1")
        # ASan wants to come first in the library list; the preload does.
        asan = env.get("ASAN_OPTIONS", "")
        env["ASAN_OPTIONS"] = (asan + ":" if asan else "") + \
            "verify_asan_link_order=0"
    env.update(extra)
    return env


def _run(args, env, timeout=120):
    p = subprocess.run([str(a) for a in args], capture_output=True,
                       text=True, timeout=timeout, env=env,
                       stdin=subprocess.DEVNULL)
    assert not sanitizer_report(p.stderr), p.stderr
    return p


def reaper(etc, *args, at=None, kill_at=None, steps=False, timeout=120):
    """cellar-reaper --config ETC ARGS...; kill_at: the step where it
    SIGKILLs itself (CELLAR_REAPER_KILL_AT), steps: "step: NAME" lines
    on stderr."""
    extra = {}
    if steps or kill_at:
        extra["CELLAR_REAPER_STEPS"] = "1"
    if kill_at:
        extra["CELLAR_REAPER_KILL_AT"] = kill_at
    return _run([REAPER, "--config", etc, *args], _env(at, **extra),
                timeout)


def ctl(etc, *args, at=None):
    return _run([CELLARCTL, "--config", etc, *args], _env(at))


def out_of(p):
    return f"exit {p.returncode}\n--- stdout ---\n{p.stdout}\n" \
           f"--- stderr ---\n{p.stderr}"


def steps_of(p):
    return [ln[len("step: "):] for ln in p.stderr.splitlines()
            if ln.startswith("step: ")]


def ok(p):
    """p exited 0; returns its stdout."""
    assert p.returncode == 0, out_of(p)
    return p.stdout


def killed_at(p, step):
    """p SIGKILLed itself at step (the last step it announced)."""
    assert p.returncode == -9, f"expected SIGKILL at {step}: {out_of(p)}"
    assert steps_of(p) and steps_of(p)[-1] == step, out_of(p)


def run_of(stdout, status="ok"):
    """The run a backup line names ("backup: ok, run RUN: ...")."""
    m = re.search(rf"^backup: {status}, run (\d{{8}}T\d{{6}}Z):", stdout,
                  re.M)
    assert m, f"no 'backup: {status}, run RUN' line in {stdout!r}"
    return m.group(1)


def next_second():
    """Sleeps into the next wall-clock second: runs are named by their
    start second, so two runs in one second would share a name."""
    time.sleep(1.02 - time.time() % 1)


def iso_epoch(s):
    return calendar.timegm(time.strptime(s, "%Y-%m-%dT%H:%M:%SZ"))


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def tree_digest(d):
    """{relative path: sha256} of every file under d."""
    d = Path(d)
    return {str(p.relative_to(d)): sha256(p) for p in sorted(d.rglob("*"))
            if p.is_file()}


def traces(roots, needles):
    """Every file or directory under roots whose name contains a needle,
    and every file whose bytes do: [(path, needle kind)]."""
    found = []
    for root in roots:
        for p in [Path(root)] + sorted(Path(root).rglob("*")):
            for kind, n in needles:
                if n in p.name:
                    found.append((str(p), f"{kind} in its name"))
            if p.is_file():
                data = p.read_bytes()
                for kind, n in needles:
                    if n.encode() in data:
                        found.append((str(p), f"{kind} in its bytes"))
    return found


# Audit.

AUDIT_LINE = re.compile(r"^(ok|BROKEN)\s+([a-z_]+)\s")


def audit(etc, at=None):
    """cellarctl audit and audit --json: (exit status, {promise: (ok,
    evidence)}); both forms must give the same verdicts and status."""
    p = ctl(etc, "audit", at=at)
    assert p.returncode in (0, 1), out_of(p)
    text = {m.group(2): m.group(1) == "ok"
            for m in map(AUDIT_LINE.match, p.stdout.splitlines()) if m}
    assert list(text) == PROMISES, out_of(p)
    j = ctl(etc, "audit", "--json", at=at)
    assert j.returncode == p.returncode, (out_of(p), out_of(j))
    doc = json.loads(j.stdout)
    verdicts = {x["name"]: (x["ok"], x["evidence"]) for x in doc["promises"]}
    assert [x["name"] for x in doc["promises"]] == PROMISES, doc
    assert {k: v[0] for k, v in verdicts.items()} == text, \
        f"text and --json disagree:\n{p.stdout}\n{j.stdout}"
    assert doc["ok"] is (p.returncode == 0) is all(text.values()), \
        (p.returncode, doc)
    return p.returncode, verdicts


def broken(verdicts):
    return sorted(k for k, (good, _) in verdicts.items() if not good)


# The environment: a stack, the fake Atlassian, tenants.

class Env:
    def __init__(self, st, fake):
        self.st = st
        self.fake = fake
        self.key, self.kid = fake.new_install_key("reaper")
        self.etc = st.etc
        self.state = st.dir / "state"
        self.tenants_dir = self.state / "tenants"
        self.backups = st.dir / "backups"
        self.runs = self.backups / "runs"

    def lifecycle(self, t, event):
        tok = atl.install_token(self.key, self.kid, t.client_key,
                                aud=self.st.base_url, path=f"/{event}")
        body = atl.install_payload(t.client_key, t.secret, t.site.base_url,
                                   event=event)
        r = self.st.request("POST", f"/{event}", json=body,
                            headers={"Authorization": f"JWT {tok}"})
        assert r.status_code == 204, (event, r.status_code, r.text)

    def tenant(self, templates=0):
        """A fresh tenant (its Jira a site of the fake) with an account
        (t.acct) holding `templates` personal templates; t.id its id."""
        secret = atl.new_secret()
        t = Tenant(self, str(uuid.uuid4()), secret,
                   self.fake.add_site(secret))
        self.lifecycle(t, "installed")
        t.acct = t.user()
        t.id = self.info(t)["tenant"]["id"]
        assert re.match(r"^[0-9a-f]{32}$", t.id), t.id
        for i in range(templates):
            t.create(t.acct, f"tpl {i} {secrets.token_hex(3)}",
                     f"body {i} {{{{issue.key}}}} " + "x" * 200)
        return t

    def info(self, t):
        """GET /api/tenant as t's account (200)."""
        r = t.req("GET", "/api/tenant", t.acct)
        assert r.status_code == 200, (r.status_code, r.text)
        return r.json()

    def reinstall(self, t):
        """The same clientKey installs again; t.id: the id it now has."""
        self.lifecycle(t, "installed")
        t.id = self.info(t)["tenant"]["id"]
        return t.id

    def complete_runs(self):
        """Complete runs on disk (RUN with a manifest), oldest first."""
        if not self.runs.is_dir():
            return []
        return sorted(p.name for p in self.runs.iterdir()
                      if RUN_NAME.match(p.name) and
                      (p / "manifest.json").is_file())

    def run_entries(self):
        """Everything in runs/ but the verify scratch directory."""
        if not self.runs.is_dir():
            return []
        return sorted(p.name for p in self.runs.iterdir()
                      if p.name != ".scratch")

    def manifest(self, run):
        return json.loads((self.runs / run / "manifest.json").read_text())

    def backup_list(self, etc=None):
        """cellarctl backup list: {run: [started, tenants, bytes,
        recorded, offsite]}."""
        out = ok(ctl(etc or self.etc, "backup", "list"))
        rows = {}
        for ln in out.splitlines():
            if ln.startswith("#") or not ln.strip():
                continue
            f = ln.split("\t")
            rows[f[0]] = f[1:]
        return rows


def snapshot(t):
    """t's account's templates as the API gives them."""
    return sorted((x["id"], x["name"], x["body"], x["version"])
                  for x in t.list_all(t.acct, manage="true"))


def past_503(fn, tries=6):
    """fn() once every worker let go of a restored tenant's old file:
    right after a restore, a worker that had the file open from before
    answers that tenant's next request 503 and exits (README, "A damaged
    file is quarantined"), at most once per worker."""
    for i in range(tries):
        try:
            return fn()
        except AssertionError as e:
            if "503" not in str(e) or i == tries - 1:
                raise
            time.sleep(0.2)


def check_run(env, run, ids):
    """The run is complete and holds exactly the tenants `ids`: every
    copy exists, matches its manifest's size and SHA-256 and is
    encrypted (no plaintext SQLite header).  Returns the manifest."""
    rd = env.runs / run
    m = env.manifest(run)
    assert m["format"] == "cellar-backup" and m["version"] == 1, m
    assert m["run"] == run, m
    assert m["startedAt"] <= m["finishedAt"], m
    assert sorted(x["id"] for x in m["tenants"]) == sorted(ids), \
        (sorted(ids), [x["id"] for x in m["tenants"]])
    for f in [m["registry"]] + m["tenants"]:
        p = rd / f["file"]
        assert p.is_file(), p
        data = p.read_bytes()
        assert len(data) == f["size"], (p, len(data), f["size"])
        assert hashlib.sha256(data).hexdigest() == f["sha256"], p
        assert not data.startswith(SQLITE_MAGIC), \
            f"{p} is a plaintext SQLite file"
    assert m["registry"]["file"] == "registry.db", m["registry"]
    on_disk = sorted(p.name for p in (rd / "tenants").iterdir())
    assert on_disk == sorted(f"{i}.db" for i in ids), on_disk
    return m


def verify(env, run=None, etc=None):
    """cellarctl backup verify [RUN] succeeds; returns its output."""
    args = ["backup", "verify"] + ([run] if run else [])
    p = ctl(etc or env.etc, *args)
    assert p.returncode == 0, out_of(p)
    assert re.match(rf"^{run or RUN_NAME.pattern[1:-1]}: ok", p.stdout), \
        out_of(p)
    return p.stdout


def offsite_script(path, dest):
    """A mirroring offsite command: DEST/RUN replaced by a copy of the
    run.  It reads only "$1", so it works whether the reaper appends the
    run to the command or not."""
    path.write_text("#!/bin/sh\nset -e\n"
                    f'rm -rf "{dest}/$(basename "$1")"\n'
                    f'cp -a "$1" "{dest}/"\n')
    path.chmod(0o755)
    return f'sh {path} "$1"'


def stack_drop_in(fake, extra=""):
    return f"[auth]\ninstall_keys_url = {fake.keys_url}\n" + extra


@pytest.fixture(scope="module", autouse=True)
def _reaper_built():
    if not os.access(REAPER, os.X_OK):
        pytest.fail(f"not built: {REAPER} (run make first)", pytrace=False)


@pytest.fixture(scope="module")
def env(module_stacks, fake):
    """The module's stack: two workers, the default configuration."""
    st = module_stacks({"50-reaper.conf": stack_drop_in(fake)}, workers=2,
                       tag="stack", checks=CHECKS)
    return Env(st, fake)


def own_env(make_stack, fake, extra="", tag="own", workers=1):
    st = make_stack({"50-reaper.conf": stack_drop_in(fake, extra)},
                    workers=workers, tag=tag, checks=CHECKS)
    return Env(st, fake)


def all_ids(env):
    """Every tenant cellarctl tenants lists."""
    out = ok(ctl(env.etc, "tenants"))
    return sorted(ln.split("\t")[0] for ln in out.splitlines()
                  if ln and not ln.startswith("#"))


def registry_copy_ids(env, path, scratch):
    """The tenants a registry copy (a run's registry.db) holds, read
    the way an operator could: cellarctl tenants on a state directory
    holding a copy of it (a copy is keyed as the live registry, so the
    stack's master key opens it)."""
    root = Path(scratch) / f"regcopy-{secrets.token_hex(4)}"
    state, etc = root / "state", root / "etc"
    state.mkdir(parents=True, mode=0o700)
    state.chmod(0o700)
    (etc / "conf.d").mkdir(parents=True)
    shutil.copyfile(path, state / "registry.db")
    (etc / "cellar.conf").write_text(
        "[app]\nkey = cellar-dev\nbase_url = http://127.0.0.1:9\n\n"
        f"[server]\nstate_dir = {state}\n\n[keys]\ndir = {env.st.dir}/keys"
        f"\n\n[auth]\ninstall_key_dir = {state}/install-keys\n")
    try:
        out = ok(ctl(etc, "tenants"))
    finally:
        shutil.rmtree(root)
    return sorted(ln.split("\t")[0] for ln in out.splitlines()
                  if ln and not ln.startswith("#"))


def alt_etc(env, d, text):
    """A configuration directory at d: the stack's, plus a last drop-in
    with text (the same state, keys and backups)."""
    etc = Path(d) / "etc"
    (etc / "conf.d").mkdir(parents=True)
    shutil.copyfile(env.etc / "cellar.conf", etc / "cellar.conf")
    for f in sorted(env.etc.glob("conf.d/*.conf")):
        shutil.copyfile(f, etc / "conf.d" / f.name)
    (etc / "conf.d" / "99-test.conf").write_text(text)
    return etc


# 0. The command line.

def test_reaper_usage_errors_exit_2_and_change_nothing(env):
    entries = env.run_entries()
    for args in ([], ["frobnicate"], ["--bogus", "run"], ["run", "purge"]):
        p = reaper(env.etc, *args)
        assert p.returncode == 2, (args, out_of(p))
        assert "usage:" in p.stderr, (args, out_of(p))
        assert p.stdout == "", (args, out_of(p))
    assert env.run_entries() == entries


# 1. Backup.

def test_backup_writes_a_verified_encrypted_run_that_the_api_reports(env):
    a = env.tenant(templates=3)
    b = env.tenant(templates=2)
    before = {t.id: snapshot(t) for t in (a, b)}
    next_second()
    t0 = int(time.time())
    p = reaper(env.etc, "--now", "backup", steps=True)
    out = ok(p)
    run = run_of(out)
    assert RUN_NAME.match(run) and abs(
        calendar.timegm(time.strptime(run, "%Y%m%dT%H%M%SZ")) - t0) <= 2, \
        run
    # Every durable step was passed (the kill tests below cover these).
    assert sorted(set(steps_of(p))) == sorted(BACKUP_STEPS), steps_of(p)

    ids = all_ids(env)
    assert a.id in ids and b.id in ids
    m = check_run(env, run, ids)
    rows = {x["id"]: x["rows"] for x in m["tenants"]}
    assert rows[a.id]["templates"] == 3, rows[a.id]
    assert rows[b.id]["templates"] == 2, rows[b.id]
    assert m["registry"]["rows"]["tenants"] == len(ids), m["registry"]
    # Nothing of a run is for anyone but the service's user.
    for q in [env.backups] + list(env.backups.rglob("*")):
        mode = q.stat().st_mode & 0o777
        assert mode & 0o077 == 0, f"{q} has mode {mode:o}"
    assert not any(n.endswith(".tmp") for n in env.run_entries())

    assert f"{run}: ok" in verify(env)
    assert f"{len(ids)} tenant copies" in verify(env, run)
    listed = env.backup_list()
    assert listed[run][1] == str(len(ids)) and listed[run][3] == "yes", \
        listed

    t1 = int(time.time())
    for t in (a, b):
        bk = env.info(t)["backups"]
        assert bk["lastRun"] == run, bk
        for k in ("lastBackupAt", "lastVerifiedAt"):
            assert ISO.match(bk[k] or ""), bk
            assert t0 - 1 <= iso_epoch(bk[k]) <= t1, bk
    # Backing up changed nothing a tenant sees.
    assert {t.id: snapshot(t) for t in (a, b)} == before

    # The daily run right after: nothing due but purge and prune.
    runs = env.complete_runs()
    out = ok(reaper(env.etc, "run"))
    assert re.search(r"^backup: not due \(last done "
                     r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\)$", out, re.M), out
    assert re.search(r"^purge: ok", out, re.M), out
    assert re.search(r"^prune: ok", out, re.M), out
    assert env.complete_runs() == runs


# 2. Purge.

def assert_purged(env, t, old_id, extra_roots=()):
    """Nothing of the departed tenant is left: no file or directory
    named after its id under the state, backup (and offsite)
    directories, no byte of its id, clientKey or shared secret in any
    file there, no line in cellarctl tenants, no restore."""
    found = traces([env.state, env.backups, *extra_roots],
                   [("tenant id", old_id), ("clientKey", t.client_key),
                    ("shared secret", t.secret)])
    assert not found, f"traces of purged tenant {old_id}: {found}"
    assert old_id not in ok(ctl(env.etc, "tenants"))
    p = ctl(env.etc, "restore", old_id)
    assert p.returncode == 1 and "no such tenant" in p.stderr, out_of(p)


def test_purge_keeps_a_departed_tenant_through_its_grace_then_leaves_no_trace(  # noqa: E501
        make_stack, fake, tmp_path):
    dest = tmp_path / "offsite"
    dest.mkdir()
    cmd = offsite_script(tmp_path / "offsite.sh", dest)
    env = own_env(make_stack, fake, f"[backup]\noffsite_command = {cmd}\n",
                  tag="purge")
    a = env.tenant(templates=3)        # leaves
    b = env.tenant(templates=2)        # stays
    c = env.tenant(templates=2)        # leaves and comes back in time
    keep = {t.id: snapshot(t) for t in (b, c)}
    r0 = run_of(ok(reaper(env.etc, "--now", "backup")))
    assert a.id in {x["id"] for x in env.manifest(r0)["tenants"]}
    assert (dest / r0 / "tenants" / f"{a.id}.db").is_file(), \
        "the offsite command did not copy the run"

    env.lifecycle(a, "uninstalled")
    env.lifecycle(c, "uninstalled")
    old_c = c.id
    assert env.reinstall(c) == old_c, "a reinstall within the grace " \
        "period got a new tenant id"
    assert snapshot(c) == keep[c.id], "a reinstall lost its templates"

    # Within the grace period (21 days): nothing is deleted.
    out = ok(reaper(env.etc, "run", at="+10d"))
    assert re.search(r"^purge: ok, 0 of 0 due tenants deleted", out,
                     re.M), out
    r10 = run_of(out)
    assert (env.tenants_dir / f"{a.id}.db").is_file()
    assert a.id in ok(ctl(env.etc, "tenants"))
    assert a.id in {x["id"] for x in env.manifest(r10)["tenants"]}

    # What the purge must remove is there to be found.
    assert traces([env.backups], [("tenant id", a.id)])
    assert a.id in registry_copy_ids(env, env.runs / r0 / "registry.db",
                                     tmp_path)

    # Past it.  A dry run first: it names A and changes nothing.
    before = {q: tree_digest(q) for q in (env.state / "tenants",
                                          env.backups, dest)}
    out = ok(reaper(env.etc, "--dry-run", "run", at="+22d"))
    assert re.search(rf"^purge: would delete tenant {a.id} \(uninstalled "
                     r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\)$", out, re.M), out
    assert re.search(r"^purge: ok, dry run", out, re.M), out
    assert {q: tree_digest(q) for q in before} == before, \
        "a dry run changed files"
    assert a.id in ok(ctl(env.etc, "tenants"))

    # A is deleted, from the live files and from both runs.
    p = reaper(env.etc, "run", at="+22d", steps=True)
    out = ok(p)
    assert re.search(r"^purge: ok, 1 of 1 due tenants deleted, \d+ files "
                     r"and 2 backup copies removed, 2 runs rewritten", out,
                     re.M), out
    assert sorted(set(s for s in steps_of(p) if s.startswith("purge."))) \
        == sorted(PURGE_STEPS), steps_of(p)
    r22 = run_of(out)
    assert_purged(env, a, a.id, [dest])
    for run in (r0, r10, r22):
        m = check_run(env, run, [b.id, c.id])
        assert m["registry"]["rows"]["tenants"] == 2, (run, m["registry"])
        assert registry_copy_ids(env, env.runs / run / "registry.db",
                                 tmp_path) == sorted([b.id, c.id]), run
        assert f"{run}: ok" in verify(env, run)
        # The offsite copy mirrors the rewritten run.
        assert tree_digest(dest / run) == tree_digest(env.runs / run), run
    for t in (b, c):
        assert env.info(t)["tenant"]["state"] == "installed"
        assert snapshot(t) == keep[t.id], f"tenant {t.id} changed"
    assert env.info(c)["tenant"]["id"] == old_c

    # Back after the purge: a new, empty tenant.
    old_a = a.id
    assert env.reinstall(a) != old_a, "a reinstall after the purge got " \
        "the deleted tenant's id back"
    assert env.info(a)["records"]["templates"] == 0
    assert snapshot(a) == []
    assert not traces([env.state, env.backups, dest],
                      [("tenant id", old_a)])


def test_purge_removes_the_tenant_from_failed_runs_too(make_stack, fake,
                                                     tmp_path):
    """A run that failed its verification is kept as RUN.failed, to be
    looked at; it holds a copy of the registry with the departed
    tenant's row (its identity, sealed secret and wrapped keys) and a
    copy of its file.  The purge must take the tenant out of it as out of
    complete runs (it removes such a run whole: it can never be
    restored).  Here the failed run is a complete one renamed, as the
    reaper renames a run whose verification failed."""
    env = own_env(make_stack, fake, tag="purge-failed")
    a = env.tenant(templates=2)        # leaves
    env.tenant(templates=1)
    r0 = run_of(ok(reaper(env.etc, "--now", "backup")))
    next_second()
    r1 = run_of(ok(reaper(env.etc, "--now", "backup")))
    failed = f"{r1}.failed"
    (env.runs / r1).rename(env.runs / failed)
    env.lifecycle(a, "uninstalled")
    assert a.id in registry_copy_ids(
        env, env.runs / failed / "registry.db", tmp_path)

    ok(reaper(env.etc, "purge", at="+22d"))
    assert_purged(env, a, a.id)
    held = {run: registry_copy_ids(env, env.runs / run / "registry.db",
                                   tmp_path)
            for run in env.run_entries()
            if (env.runs / run / "registry.db").is_file()}
    assert not (env.runs / failed).exists(), env.run_entries()
    assert sorted(held) == [r0], held
    assert not [run for run, ids in held.items() if a.id in ids], \
        f"the purged tenant {a.id} is still in the registry copy of: " \
        f"{[run for run, ids in held.items() if a.id in ids]}"


# 3. kill -9 at every step; the next run finishes the work.

@pytest.mark.parametrize("step", PURGE_STEPS)
def test_purge_killed_at_any_step_is_finished_by_the_next_run(
        make_stack, fake, step):
    # A tag per step: the factory names directories after the test's
    # name cut to 40 characters, the same for every step.
    env = own_env(make_stack, fake, tag=f"kp{PURGE_STEPS.index(step)}")
    a = env.tenant(templates=2)
    b = env.tenant(templates=2)
    keep = snapshot(b)
    r0 = run_of(ok(reaper(env.etc, "--now", "backup")))
    env.lifecycle(a, "uninstalled")

    killed_at(reaper(env.etc, "run", at="+22d", kill_at=step), step)
    out = ok(reaper(env.etc, "run", at="+22d"))
    assert re.search(r"^purge: ok, 1 of 1 due tenants deleted", out,
                     re.M), out
    assert_purged(env, a, a.id)
    for run in env.complete_runs():
        check_run(env, run, [b.id])
        assert f"{run}: ok" in verify(env, run)
    assert r0 in env.complete_runs()
    assert not [n for n in env.run_entries() if not RUN_NAME.match(n)], \
        env.run_entries()
    assert snapshot(b) == keep
    assert env.info(b)["backups"]["lastRun"] == run_of(out)


@pytest.mark.parametrize("step", BACKUP_STEPS)
def test_backup_killed_at_any_step_is_finished_by_the_next_run(
        make_stack, fake, step):
    env = own_env(make_stack, fake, tag=f"kb{BACKUP_STEPS.index(step)}")
    ts = [env.tenant(templates=2), env.tenant(templates=1)]
    keep = {t.id: snapshot(t) for t in ts}
    ids = [t.id for t in ts]
    r0 = run_of(ok(reaper(env.etc, "--now", "backup")))
    r0_files = tree_digest(env.runs / r0)

    # The next day's run is killed; the one after that completes.
    killed_at(reaper(env.etc, "run", at="+1d", kill_at=step), step)
    assert tree_digest(env.runs / r0) == r0_files, \
        "the killed run changed the previous run"
    left = [n for n in env.complete_runs() if n != r0]
    if step == "backup.recorded":
        # Killed after its run was complete and recorded: that run stays.
        assert len(left) == 1, env.run_entries()
        check_run(env, left[0], ids)
        assert env.backup_list()[left[0]][3] == "yes"
    else:
        assert left == [], f"a run killed at {step} is a complete run: " \
            f"{env.run_entries()}"
    next_second()
    out = ok(reaper(env.etc, "run", at="+1d"))
    new = run_of(out)
    assert [n for n in env.complete_runs() if n not in (r0, *left)] == \
        [new], env.run_entries()
    assert env.run_entries() == sorted([r0, *left, new]), \
        f"leftovers after the next run: {env.run_entries()}"
    for run in env.complete_runs():
        check_run(env, run, ids)
        assert f"{run}: ok" in verify(env, run)
    assert tree_digest(env.runs / r0) == r0_files
    assert env.backup_list()[new][3] == "yes"
    rc, v = audit(env.etc)
    assert v["backup_verified"][0] and new in v["backup_verified"][1], v
    for t in ts:
        assert snapshot(t) == keep[t.id]
        assert env.info(t)["backups"]["lastRun"] == new


# 4. One run at a time.

def test_a_second_run_while_the_lock_is_held_exits_75_at_once(env):
    lock = env.state / "reaper.lock"
    entries = env.run_entries()
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        for args in (["run"], ["--now", "backup"], ["purge"]):
            t0 = time.monotonic()
            p = reaper(env.etc, *args, timeout=30)
            took = time.monotonic() - t0
            assert p.returncode == 75, out_of(p)
            assert "reaper.lock" in p.stderr, out_of(p)
            assert p.stdout == "", "a job ran without the lock: " + p.stdout
            assert took < 5, f"took {took:.1f} s to give up"
        assert env.run_entries() == entries
    finally:
        os.close(fd)
    out = ok(reaper(env.etc, "purge"))
    assert out.startswith("purge: ok"), out


# 5. A full backup disk.



def test_a_full_backup_disk_fails_the_run_and_keeps_the_last_good_one(
        make_stack, fake, tmp_path):
    with tmpfs(tmp_path / "disk", "4m") as disk:
        bdir = disk / "backups"
        env = own_env(make_stack, fake, f"[backup]\ndir = {bdir}\n",
                      tag="full")
        env.backups, env.runs = bdir, bdir / "runs"
        ts = [env.tenant(templates=3), env.tenant(templates=1)]
        ids = [t.id for t in ts]
        r0 = run_of(ok(reaper(env.etc, "--now", "backup")))
        r0_files = tree_digest(env.runs / r0)
        filler = disk / "filler"
        fill(filler)
        next_second()
        p = reaper(env.etc, "--now", "backup")
        assert p.returncode == 1, out_of(p)
        assert "storage_full" in p.stderr, out_of(p)
        assert re.search(r"^backup: FAILED", p.stdout, re.M), out_of(p)
        assert env.run_entries() == [r0], \
            f"a failed run left {env.run_entries()}"
        assert tree_digest(env.runs / r0) == r0_files
        assert list(env.backup_list()) == [r0]
        for t in ts:
            assert env.info(t)["backups"]["lastRun"] == r0

        filler.unlink()
        assert f"{r0}: ok" in verify(env)
        r1 = run_of(ok(reaper(env.etc, "--now", "backup")))
        assert env.complete_runs() == [r0, r1]
        check_run(env, r1, ids)
        assert f"{r1}: ok" in verify(env, r1)
        for t in ts:
            assert env.info(t)["backups"]["lastRun"] == r1


# 6. A damaged copy; restore.

def test_a_flipped_byte_in_a_copy_fails_verify_and_is_never_restored(env):
    a = env.tenant(templates=2)
    b = env.tenant(templates=1)
    next_second()
    run = run_of(ok(reaper(env.etc, "--now", "backup")))
    copy = env.runs / run / "tenants" / f"{a.id}.db"
    live = env.tenants_dir / f"{a.id}.db"
    data = bytearray(copy.read_bytes())
    at = len(data) // 2 + 100
    data[at] ^= 0x01
    copy.write_bytes(bytes(data))
    try:
        p = ctl(env.etc, "backup", "verify", run)
        assert p.returncode == 1, out_of(p)
        assert "FAILED" in p.stdout and f"tenant {a.id}" in p.stdout, \
            out_of(p)
        assert b.id not in p.stdout, out_of(p)

        before = snapshot(a)
        files = {q.name: sha256(q) for q in
                 env.tenants_dir.glob(f"{a.id}.db*") if q.is_file()}
        p = ctl(env.etc, "restore", a.id, "--from", run)
        assert p.returncode == 1, out_of(p)
        assert a.id in p.stderr and run in p.stderr, out_of(p)
        assert {q.name: sha256(q) for q in
                env.tenants_dir.glob(f"{a.id}.db*") if q.is_file()} == \
            files, "a refused restore changed the tenant's files"
        assert live.is_file()
        assert snapshot(a) == before
        assert env.info(a)["tenant"]["state"] == "installed"
        assert "quarantined" not in [
            ln.split("\t")[5] for ln in ok(ctl(env.etc, "tenants"))
            .splitlines() if ln.startswith(a.id)][0]
    finally:
        data[at] ^= 0x01
        copy.write_bytes(bytes(data))
    assert f"{run}: ok" in verify(env, run)


def test_restore_puts_back_exactly_the_backed_up_templates_while_others_serve(  # noqa: E501
        env):
    t = env.tenant(templates=4)
    other = env.tenant(templates=2)
    saved = snapshot(t)
    next_second()
    run = run_of(ok(reaper(env.etc, "--now", "backup")))
    rows = {x["id"]: x["rows"] for x in env.manifest(run)["tenants"]}
    assert rows[t.id]["templates"] == len(saved) == 4

    # Changes after the backup: one deleted, one changed, one added.
    ts = t.list_all(t.acct, manage="true")
    r = t.delete(t.acct, ts[0]["id"])
    assert r.status_code == 204, r.text
    r = t.put(t.acct, ts[1], body="changed after the backup")
    assert r.status_code == 200, r.text
    t.create(t.acct, "added after the backup")
    assert snapshot(t) != saved

    bad, served, stop = [], [0], threading.Event()

    def hammer():
        while not stop.is_set():
            r = other.req("GET", "/api/templates", other.acct)
            served[0] += 1
            if not 200 <= r.status_code < 300:
                bad.append((r.status_code, r.text[:200]))
    th = threading.Thread(target=hammer)
    th.start()
    try:
        time.sleep(0.3)
        p = ctl(env.etc, "restore", t.id)
        time.sleep(0.3)
    finally:
        stop.set()
        th.join()
    assert p.returncode == 0, out_of(p)
    assert f"restored from run {run}" in p.stdout, out_of(p)
    assert not bad, f"another tenant was refused during the restore: {bad}"
    assert served[0] > 0
    info = past_503(lambda: env.info(t))
    assert info["records"]["templates"] == rows[t.id]["templates"]
    assert past_503(lambda: snapshot(t)) == saved, \
        "the restore did not put back exactly what the run holds"
    assert not list(env.tenants_dir.glob(f"{t.id}.db.restore*"))
    # It keeps serving writes.
    past_503(lambda: t.create(t.acct, "after the restore"))

    # A departed tenant, or one never known, is not restored.
    gone = env.tenant(templates=1)
    next_second()
    run2 = run_of(ok(reaper(env.etc, "--now", "backup")))
    env.lifecycle(gone, "uninstalled")
    files = {q.name: sha256(q) for q in
             env.tenants_dir.glob(f"{gone.id}.db*") if q.is_file()}
    p = ctl(env.etc, "restore", gone.id, "--from", run2)
    assert p.returncode == 1 and "departed" in p.stderr, out_of(p)
    assert {q.name: sha256(q) for q in env.tenants_dir.glob(
        f"{gone.id}.db*") if q.is_file()} == files
    p = ctl(env.etc, "restore", secrets.token_hex(16))
    assert p.returncode == 1 and "no such tenant" in p.stderr, out_of(p)


# 7. Workers under load while backups run.

BACKUPS_UNDER_LOAD = 5

def test_workers_answer_every_request_while_backups_run(env):
    ts = [env.tenant(), env.tenant()]
    for t in ts:
        # About 1 MB each, so that a copy takes a while.
        r = t.import_(t.acct, [
            {"name": f"big {i}", "scope": "personal",
             "body": f"{i} " + secrets.token_hex(4000)} for i in range(100)])
        assert r.status_code == 201, (r.status_code, r.text[:300])
    tpl = [t.list_all(t.acct, manage="true")[0]["id"] for t in ts]
    bad, done, stop = [], [], threading.Event()

    def hammer(i):
        t = ts[i]
        k = 0
        while not stop.is_set():
            k += 1
            t0 = time.monotonic()
            if k % 3 == 0:      # a write: one use counted
                r = t.use(t.acct, tpl[i])
            elif k % 3 == 1:
                r = t.req("GET", "/api/templates", t.acct)
            else:
                r = t.req("GET", "/api/tenant", t.acct)
            done.append((t0, time.monotonic()))
            if not 200 <= r.status_code < 300:
                bad.append((t.id, r.request.method, r.request.path_url,
                            r.status_code, r.text[:200]))
    # Two clients per tenant, two workers.
    threads = [threading.Thread(target=hammer, args=(i % 2,))
               for i in range(4)]
    for th in threads:
        th.start()
    runs, windows = [], []
    try:
        time.sleep(0.2)
        for _ in range(BACKUPS_UNDER_LOAD):
            next_second()
            t0 = time.monotonic()
            runs.append(run_of(ok(reaper(env.etc, "--now", "backup"))))
            windows.append((t0, time.monotonic()))
    finally:
        stop.set()
        for th in threads:
            th.join()
    assert not bad, f"{len(bad)} failed requests during backups: {bad[:5]}"
    during = [1 for a, b in done for w0, w1 in windows if a < w1 and b > w0]
    assert len(during) >= 10, \
        f"only {len(during)} requests overlapped a backup: too little load"
    assert len(set(runs)) == BACKUPS_UNDER_LOAD
    for run in runs:
        assert f"{run}: ok" in verify(env, run)
        m = env.manifest(run)
        assert {t.id for t in ts} <= {x["id"] for x in m["tenants"]}


# 8. Prune.

def test_prune_deletes_old_runs_and_leftovers_but_keeps_the_newest_run(
        make_stack, fake):
    env = own_env(make_stack, fake, tag="prune")
    t = env.tenant(templates=1)
    # Three runs made 40, 35 and 33 days ago (the reaper's clock then).
    old = [run_of(ok(reaper(env.etc, "--now", "backup", at=f"-{d}d")))
           for d in (40, 35, 33)]
    assert env.complete_runs() == old
    # A prune killed after renaming the oldest run: the rename is final,
    # the run is no longer a run.
    killed_at(reaper(env.etc, "prune", kill_at="prune.run_renamed"),
              "prune.run_renamed")
    assert env.complete_runs() == old[1:]
    assert f"{old[0]}.deleting" in env.run_entries(), env.run_entries()
    # Leftovers: a run killed while being written, a failed run past
    # keep_days and a recent one (kept to be looked at).
    killed_at(reaper(env.etc, "--now", "backup",
                     kill_at="backup.registry_copied"),
              "backup.registry_copied")
    tmp = [n for n in env.run_entries() if n.endswith(".tmp")]
    assert len(tmp) == 1, env.run_entries()
    now = time.time()
    old_failed = time.strftime("%Y%m%dT%H%M%SZ.failed",
                               time.gmtime(now - 45 * DAY))
    new_failed = time.strftime("%Y%m%dT%H%M%SZ.failed",
                               time.gmtime(now - DAY))
    for n in (old_failed, new_failed):
        shutil.copytree(env.runs / old[1], env.runs / n)
    # Orphan tenant files: one an hour old, one fresh.
    hour_ago = now - 3600
    orphan_old, orphan_new = secrets.token_hex(16), secrets.token_hex(16)
    for name, when in ((orphan_old, hour_ago), (orphan_new, now)):
        q = env.tenants_dir / f"{name}.db"
        q.write_bytes(os.urandom(4096))
        os.utime(q, (when, when))
    live = {q.name: sha256(q) for q in env.tenants_dir.glob(f"{t.id}.db*")}

    p = reaper(env.etc, "prune", steps=True)
    out = ok(p)
    assert set(steps_of(p)) == set(PRUNE_STEPS), steps_of(p)
    assert re.search(r"^prune: ok, deleted 1 runs past keep_days, 3 "
                     r"unfinished runs, 1 orphan tenant files", out, re.M), \
        out
    # The newest run stays, however old.
    assert env.run_entries() == sorted([old[2], new_failed]), \
        env.run_entries()
    assert list(env.backup_list()) == [old[2]]
    assert env.backup_list()[old[2]][3] == "yes"
    assert f"{old[2]}: ok" in verify(env)
    assert not (env.tenants_dir / f"{orphan_old}.db").exists()
    assert (env.tenants_dir / f"{orphan_new}.db").exists()
    assert {q.name: sha256(q) for q in
            env.tenants_dir.glob(f"{t.id}.db*")} == live
    assert env.info(t)["backups"]["lastRun"] == old[2]

    # Today's run: the old one goes at the next prune.
    out = ok(reaper(env.etc, "run"))
    new = run_of(out)
    assert re.search(r"^prune: ok, deleted 1 runs past keep_days", out,
                     re.M), out
    assert env.complete_runs() == [new]
    assert list(env.backup_list()) == [new]
    assert env.info(t)["backups"]["lastRun"] == new
    rc, v = audit(env.etc)
    assert v["backup_retention"][0], v
    (env.tenants_dir / f"{orphan_new}.db").unlink()


# 9. cellarctl audit.

@pytest.fixture(scope="module")
def audit_env(module_stacks, fake, tmp_path_factory):
    """A stack of its own for the audit: offsite copies configured (a
    mirroring script), tenants, and a fresh backup run."""
    d = tmp_path_factory.mktemp("audit-offsite")
    dest = d / "dest"
    dest.mkdir()
    cmd = offsite_script(d / "offsite.sh", dest)
    st = module_stacks({"50-reaper.conf": stack_drop_in(
        fake, f"[backup]\noffsite_command = {cmd}\n")}, workers=1,
        tag="audit", checks=CHECKS)
    env = Env(st, fake)
    env.dest = dest
    env.ts = [env.tenant(templates=2), env.tenant(templates=1)]
    out = ok(reaper(env.etc, "--now", "backup"))
    assert "offsite copied" in out, out
    return env


def test_audit_is_green_on_a_healthy_stack_with_a_fresh_offsite_backup(
        audit_env):
    rc, v = audit(audit_env.etc)
    assert rc == 0 and broken(v) == [], v


def test_audit_without_a_backup_or_offsite_command_is_red(make_stack, fake):
    env = own_env(make_stack, fake, tag="audit-none")
    env.tenant(templates=1)
    rc, v = audit(env.etc)
    assert rc == 1
    assert broken(v) == ["backup_offsite", "backup_verified"], v
    # Two days later, still no backup: the tenant is overdue.
    rc, v = audit(env.etc, at="+2d")
    assert "backup_daily" in broken(v), v
    out = ok(reaper(env.etc, "--now", "backup"))
    assert "offsite not configured" in out, out
    rc, v = audit(env.etc)
    assert rc == 1 and broken(v) == ["backup_offsite"], v
    assert "offsite_command" in v["backup_offsite"][1], v
    # A day and a half after that backup: not daily any more.
    rc, v = audit(env.etc, at="+36h")
    assert "backup_daily" in broken(v), v


def test_the_offsite_command_gets_the_run_directory_as_dollar_1(
        make_stack, fake, tmp_path):
    """[backup] offsite_command "with the run directory as $1"
    (conf/cellar.conf.example): `cp -r "$1" DEST/` copies the run."""
    dest = tmp_path / "offsite"
    dest.mkdir()
    env = own_env(make_stack, fake, f'[backup]\noffsite_command = '
                  f'cp -r "$1" {dest}/\n', tag="offsite")
    env.tenant(templates=1)
    p = reaper(env.etc, "--now", "backup")
    runs = env.complete_runs()
    assert len(runs) == 1, (runs, out_of(p))
    run = runs[0]
    local = tree_digest(env.runs / run)
    assert p.returncode == 0, f"{out_of(p)}\nthe run now holds {sorted(local)}"
    assert "offsite copied" in p.stdout, out_of(p)
    assert sorted(p.name for p in dest.iterdir()) == [run]
    assert tree_digest(dest / run) == local
    assert sorted(local) == sorted(
        ["manifest.json", "registry.db"] +
        [f"tenants/{x['id']}.db" for x in env.manifest(run)["tenants"]]), \
        "the offsite command wrote into the local run"
    rc, v = audit(env.etc)
    assert v["backup_offsite"][0], v
    assert env.backup_list()[run][4] == "copied"


def _procs_with(marker):
    """pids whose command line holds marker."""
    found = []
    for e in os.listdir("/proc"):
        if not e.isdigit():
            continue
        try:
            cmd = Path(f"/proc/{e}/cmdline").read_bytes()
        except OSError:
            continue
        if marker.encode() in cmd:
            found.append(int(e))
    return found


def test_an_offsite_command_that_hangs_is_killed_after_offsite_timeout(
        make_stack, fake, tmp_path):
    marker = f"3{secrets.randbelow(10**6)}.25"     # sleep's argument
    script = tmp_path / "offsite.sh"
    script.write_text(f"#!/bin/sh\nsleep {marker}\n")
    env = own_env(make_stack, fake, f'[backup]\noffsite_command = sh '
                  f'{script} "$1"\noffsite_timeout = 10\n', tag="hang")
    t = env.tenant(templates=1)
    t0 = time.monotonic()
    try:
        p = reaper(env.etc, "--now", "backup", timeout=40)
    except subprocess.TimeoutExpired:
        pytest.fail("the reaper did not return within 40 s with an "
                    "offsite_timeout of 10 s (the minimum)")
    took = time.monotonic() - t0
    stray = _procs_with(marker)
    for pid in stray:
        os.kill(pid, 9)
    assert not stray, "the offsite command's children outlived its timeout"
    assert p.returncode == 1, out_of(p)
    assert 8 <= took < 25, f"{took:.1f} s"   # a whole-second deadline
    assert "offsite_timeout" in p.stderr, out_of(p)
    run = run_of(p.stdout, "FAILED")
    assert "offsite FAILED" in p.stdout, out_of(p)
    # The local run is complete and verified all the same.
    check_run(env, run, [t.id])
    assert f"{run}: ok" in verify(env, run)
    assert env.backup_list()[run][4] == "FAILED"
    rc, v = audit(env.etc)
    assert not v["backup_offsite"][0] and "FAILED" in \
        v["backup_offsite"][1], v


def test_audit_sees_a_departed_tenant_overdue_until_the_purge(audit_env):
    env = audit_env
    t = env.tenant(templates=1)
    next_second()
    ok(reaper(env.etc, "--now", "backup"))
    env.lifecycle(t, "uninstalled")
    rc, v = audit(env.etc)
    assert v["departed_deleted"][0], v
    rc, v = audit(env.etc, at="+31d")
    assert not v["departed_deleted"][0], v
    assert "1 overdue" in v["departed_deleted"][1], v
    out = ok(reaper(env.etc, "purge", at="+31d"))
    assert "1 of 1 due tenants deleted" in out, out
    rc, v = audit(env.etc, at="+31d")
    assert v["departed_deleted"][0], v
    assert_purged(env, t, t.id, [env.dest])
    rc, v = audit(env.etc)
    assert rc == 0, v


def test_audit_sees_data_keys_older_than_90_days(audit_env):
    rc, v = audit(audit_env.etc, at="+89d")
    assert v["key_rotation"][0], v
    rc, v = audit(audit_env.etc, at="+91d")
    assert not v["key_rotation"][0], v
    assert re.search(r"[1-9]\d* data keys older than 90 days",
                     v["key_rotation"][1]), v


def _access_line(when, request):
    ts = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(when))
    return f'{ts} 127.0.0.1 "{request}" 200 12 0.001 up=0.001 ' \
           f'rid=0123456789abcdef\n'


def _app_line(when, extra=""):
    ts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when))
    return f"{ts} cellar.fcgi[4242] info rid=0123456789abcdef " \
           f"route=tenant status=200 us=120{extra}\n"


# A JWT's shape: "eyJ" base64url "." base64url "." ...
JWT_LIKE = "eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJ4In0.c2lnbmF0dXJl"
LOG_CASES = {
    "access_line_9_days_old": ("access_log", lambda now: _access_line(
        now - 9 * DAY, "GET /api/tenant")),
    "access_query_string": ("access_log", lambda now: _access_line(
        now, "GET /api/templates?q=secret")),
    "app_line_9_days_old": ("app_log", lambda now: _app_line(
        now - 9 * DAY)),
    "app_token": ("app_log", lambda now: _app_line(
        now, f" auth={JWT_LIKE}")),
}


@pytest.mark.parametrize("case", list(LOG_CASES))
def test_audit_sees_a_log_kept_too_long_or_holding_what_it_must_not(
        audit_env, case, tmp_path):
    """A bad line in a rotated access log (access.log.1, beside the live
    one), or in the app log (a copy named by [logs] app_log), turns that
    promise, and only that one, red."""
    env = audit_env
    promise, bad = LOG_CASES[case]
    now = time.time()
    if promise == "access_log":
        etc = env.etc
        target = env.st.access_log.with_name("access.log.1")
        good = _access_line(now, "GET /healthz")
    else:
        target = tmp_path / "app.log"
        etc = alt_etc(env, tmp_path, f"[logs]\napp_log = {target}\n")
        good = _app_line(now)
    target.write_text(good)
    try:
        rc, v = audit(etc)
        assert rc == 0 and v[promise][0], v
        target.write_text(good + bad(now))
        rc, v = audit(etc)
        assert rc == 1 and broken(v) == [promise], v
    finally:
        target.unlink()
    rc, v = audit(env.etc)
    assert rc == 0, v
