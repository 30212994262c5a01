"""
Black-box tests of what an operator relies on (issue 9, items 8-14 and
22): cellarctl init, config check, help, tenants and orphans; GET
/api/tenant; make install and the package lists; make test's binaries
and the harness's CELLAR_FCGI / CELLAR_CTL; tests/stack stop; the Jira
client's settings.

cellarctl runs directly (the suite's build, harness.CELLARCTL) against
scratch configuration directories under tmp_path, each with its own
state and key directories, or against the module's stack (installed
tenants, orphan files).  Nothing here touches the repository's build:
make install runs in a copy of the source tree, `make test` only as a
dry run (make -n).
"""
import calendar
import hashlib
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import stat
import subprocess
import time
import uuid
from pathlib import Path

import pytest

import atlassian as atl
from harness import (CELLARCTL, FCGI, REPO, alive, children, free_port,
                     internal_errors, procs_of, sanitizer_report, starttimes,
                     unexpected_worker_exits, wait_until, write_drop_ins)
from jira_fake import USER_GROUPS

CHECKS = [internal_errors, unexpected_worker_exits]
ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
TENANT_ID = re.compile(r"^[0-9a-f]{32}$")
INTEGRATION_DIR = Path(__file__).resolve().parent
# Variables a make running this suite exports; a make started here must
# not inherit them (jobserver descriptors, SANITIZE=... overrides).
MAKE_ENV = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES",
            "SANITIZE", "WERROR", "CFLAGS", "LDFLAGS")


def iso_to_epoch(s):
    return calendar.timegm(time.strptime(s, "%Y-%m-%dT%H:%M:%SZ"))


def run(args, timeout=60, **kw):
    p = subprocess.run([str(a) for a in args], capture_output=True,
                       text=True, timeout=timeout, **kw)
    assert not sanitizer_report(p.stderr), p.stderr
    return p


def ctl(etc, *args, binary=CELLARCTL):
    """cellarctl --config ETC ARGS... (etc None: no --config)."""
    pre = [] if etc is None else ["--config", etc]
    return run([binary, *pre, *args])


def out_of(p):
    return p.stdout + p.stderr


def write_config(root, state, keys, extra=""):
    """ROOT/etc/cellar.conf naming these state and key directories;
    returns ROOT/etc."""
    etc = Path(root) / "etc"
    (etc / "conf.d").mkdir(parents=True, exist_ok=True)
    (etc / "cellar.conf").write_text(
        "[app]\nkey = cellar-dev\nbase_url = http://127.0.0.1:9\n\n"
        f"[server]\nstate_dir = {state}\n\n[keys]\ndir = {keys}\n\n"
        f"[auth]\ninstall_key_dir = {state}/install-keys\n{extra}")
    return etc


def installation(root):
    """A complete installation made the way today's init can: the state
    directory made first (0700), then cellarctl init.  Returns (etc,
    state, keys)."""
    root = Path(root)
    state, keys = root / "state", root / "keys"
    state.mkdir(mode=0o700)
    state.chmod(0o700)
    (state / "install-keys").mkdir(mode=0o700)
    etc = write_config(root, state, keys)
    p = ctl(etc, "init")
    assert p.returncode == 0, out_of(p)
    return etc, state, keys


def digest(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def snapshot(state, keys):
    """Key files and registry bytes."""
    snap = {p.name: digest(p) for p in sorted(Path(keys).iterdir())}
    snap["registry.db"] = digest(Path(state) / "registry.db")
    return snap


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in MAKE_ENV}
    env.update(extra)
    return env


# The module's stack and tenants.

class Tenant:
    def __init__(self, client_key, secret, base_url):
        self.client_key = client_key
        self.secret = secret
        self.base_url = base_url
        self.id = None


class Env:
    def __init__(self, st, fake):
        self.st = st
        self.fake = fake
        self.key, self.kid = fake.new_install_key("ops")
        self.tenants_dir = st.dir / "state" / "tenants"

    def lifecycle(self, t, event):
        tok = atl.install_token(self.key, self.kid, t.client_key,
                                aud=self.st.base_url, path=f"/{event}")
        body = atl.install_payload(t.client_key, t.secret, t.base_url,
                                   event=event)
        r = self.st.request("POST", f"/{event}", json=body,
                            headers={"Authorization": f"JWT {tok}"})
        assert r.status_code == 204, (event, r.status_code, r.text)

    def install(self, base_url=None, secret=None):
        base_url = base_url or \
            f"https://site-{secrets.token_hex(5)}.atlassian.net"
        t = Tenant(str(uuid.uuid4()), secret or atl.new_secret(), base_url)
        self.lifecycle(t, "installed")
        r = self.tenant_info(t)
        assert r.status_code == 200, r.text
        t.id = r.json()["tenant"]["id"]
        assert TENANT_ID.match(t.id), t.id
        return t

    def uninstall(self, t):
        self.lifecycle(t, "uninstalled")

    def tenant_info(self, t, **kw):
        tok = atl.context_token(t.secret, t.client_key, **kw)
        return self.st.get("/api/tenant",
                           headers={"Authorization": f"JWT {tok}"})


@pytest.fixture(scope="module")
def env(module_stacks, fake):
    st = module_stacks({"50-operators.conf": f"[auth]\ninstall_keys_url = "
                        f"{fake.keys_url}\n"}, workers=2, tag="stack",
                       checks=CHECKS)
    return Env(st, fake)


# 8. cellarctl init.

def test_init_creates_missing_state_and_key_directories_then_the_key_and_registry(  # noqa: E501
        tmp_path):
    state, keys = tmp_path / "state", tmp_path / "keys"
    etc = write_config(tmp_path, state, keys)
    p = ctl(etc, "init")
    assert p.returncode == 0, out_of(p)
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    assert stat.S_IMODE(keys.stat().st_mode) == 0o700
    key = keys / "master-0001.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert key.stat().st_size == 32
    assert (state / "registry.db").is_file()
    # The installation works: the registry opens under the key.
    p = ctl(etc, "tenants")
    assert p.returncode == 0, out_of(p)


def test_init_that_failed_before_the_state_directory_completes_on_a_rerun(
        tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the state directory's parent goes")
    state, keys = blocker / "state", tmp_path / "keys"
    etc = write_config(tmp_path, state, keys)
    p = ctl(etc, "init")
    assert p.returncode == 1, out_of(p)
    # The operator fixes the cause (the parent becomes a directory) and
    # runs init again.
    blocker.unlink()
    blocker.mkdir()
    p = ctl(etc, "init")
    assert p.returncode == 0, (
        f"a rerun after a failed init did not complete: {out_of(p)}")
    assert (state / "registry.db").is_file()
    assert len(list(keys.glob("master-*.key"))) == 1
    assert ctl(etc, "tenants").returncode == 0


def test_init_that_failed_at_the_registry_completes_on_a_rerun(tmp_path):
    state, keys = tmp_path / "state", tmp_path / "keys"
    state.mkdir(mode=0o700)
    state.chmod(0o700)
    (state / "registry.db").mkdir()         # cannot be created there
    etc = write_config(tmp_path, state, keys)
    p = ctl(etc, "init")
    assert p.returncode == 1, out_of(p)
    (state / "registry.db").rmdir()
    p = ctl(etc, "init")
    assert p.returncode == 0, (
        f"a rerun after a failed init did not complete: {out_of(p)}")
    assert (state / "registry.db").is_file()
    assert len(list(keys.glob("master-*.key"))) == 1
    p = ctl(etc, "tenants")
    assert p.returncode == 0, out_of(p)


def test_init_rerun_on_a_complete_installation_says_so_and_changes_nothing(
        tmp_path):
    etc, state, keys = installation(tmp_path)
    before = snapshot(state, keys)
    p = ctl(etc, "init")
    assert p.returncode == 0, out_of(p)
    assert re.search(r"already initiali[sz]ed", out_of(p), re.I), out_of(p)
    assert snapshot(state, keys) == before
    assert ctl(etc, "tenants").returncode == 0


# 9. cellarctl config check, help, tenants.

def _break_keys_dir_missing(state, keys):
    keys.rename(keys.with_name("keys.moved"))


def _break_registry_missing(state, keys):
    for name in ("registry.db", "registry.db-wal", "registry.db-shm"):
        (state / name).unlink(missing_ok=True)


def _break_keys_dir_mode(state, keys):
    keys.chmod(0o750)


def _break_state_dir_mode(state, keys):
    state.chmod(0o755)


def _break_owner(state, keys):
    nobody = pwd.getpwnam("nobody")
    for top in (state, keys):
        for d, dirs, files in os.walk(top):
            for n in [d] + [os.path.join(d, f) for f in files]:
                os.chown(n, nobody.pw_uid, nobody.pw_gid)


def _break_fresh_install(state, keys):
    _break_registry_missing(state, keys)
    _break_keys_dir_missing(state, keys)


def _break_wrong_key(state, keys):
    for f in keys.iterdir():
        f.write_bytes(secrets.token_bytes(32))


BROKEN = {
    # Keys gone but the registry there: init would refuse (a new key
    # cannot open it); the keys must come back.
    "keys_dir_missing": (_break_keys_dir_missing, "restore the key files"),
    "wrong_key": (_break_wrong_key, "restore the key files"),
    "nothing_made_yet": (_break_fresh_install, "cellarctl init"),
    "registry_missing": (_break_registry_missing, "cellarctl init"),
    "keys_dir_group_access": (_break_keys_dir_mode, "chmod 700"),
    "state_dir_group_access": (_break_state_dir_mode, "chmod 700"),
    "owned_by_another_user": (_break_owner, "run as user nobody"),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_config_check_opens_what_a_worker_opens_and_says_what_to_do(
        tmp_path, case):
    if case == "owned_by_another_user" and os.geteuid() != 0:
        pytest.skip("needs root to give the files to another user")
    etc, state, keys = installation(tmp_path)
    p = ctl(etc, "config", "check")
    assert p.returncode == 0, out_of(p)
    breaker, hint = BROKEN[case]
    breaker(state, keys)
    p = ctl(etc, "config", "check")
    assert p.returncode == 1, (
        f"config check exited {p.returncode} with {case}: "
        f"{p.stderr[-800:] or p.stdout[:200]}")
    assert hint in out_of(p), (hint, out_of(p))
    if hint == "cellarctl init":
        # The advice works.
        p = ctl(etc, "init")
        assert p.returncode == 0, out_of(p)
        p = ctl(etc, "config", "check")
        assert p.returncode == 0, out_of(p)


def test_cellarctl_names_an_unknown_command_or_wrong_arguments():
    p = ctl(None, "frobnicate")
    assert p.returncode == 2, out_of(p)
    assert "unknown command 'frobnicate'" in p.stderr, p.stderr
    assert "usage:" in p.stderr
    p = ctl(None, "tenant", "release")
    assert p.returncode == 2, out_of(p)
    assert "wrong arguments for 'tenant'" in p.stderr, p.stderr


@pytest.mark.parametrize("arg", ["--help", "help", "-h"])
def test_cellarctl_help_prints_usage_to_stdout_and_exits_0(arg):
    p = ctl(None, arg)
    assert p.returncode == 0, (p.returncode, out_of(p))
    assert "usage" in p.stdout.lower(), (p.stdout, p.stderr)
    for word in ("init", "config check", "tenants"):
        assert word in p.stdout, (word, p.stdout)


def test_cellarctl_tenants_prints_times_as_iso_8601_utc(env):
    a = env.install()
    b = env.install()
    env.uninstall(b)
    p = ctl(env.st.etc, "tenants")
    assert p.returncode == 0, out_of(p)
    now = time.time()
    lines = {t.id: [ln for ln in p.stdout.splitlines() if t.id in ln]
             for t in (a, b)}
    assert all(len(v) == 1 for v in lines.values()), p.stdout
    for t in (a, b):
        line = lines[t.id][0].replace(t.id, "").replace(t.base_url, "")
        # No epoch seconds left anywhere.
        assert not re.search(r"\d{9,}", line), line
        times = [iso_to_epoch(x) for x in ISO.findall(line)]
        assert any(abs(x - now) < 600 for x in times), (line, times)
        values = [v.split("=", 1)[-1] for v in line.split()]
        if t is a:
            # Installed: no deletion scheduled.
            assert "-" in values, line
        else:
            # Departed: deletion after [reaper] grace_days (21).
            assert any(abs(x - (now + 21 * 86400)) < 600 for x in times), \
                (line, times)


# 10. GET /api/tenant: facts only.

def _all_keys(obj):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield k
            yield from _all_keys(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _all_keys(v)


def test_api_tenant_reports_facts_only(env):
    t = env.install()
    r = env.tenant_info(t)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"tenant", "records", "keys", "backups",
                         "deletion"}, body
    keys = body["keys"]
    assert set(keys) == {"fileEncrypted", "dataKeyVersion",
                         "dataKeyCreatedAt", "dataKeyAgeDays",
                         "lastRotatedAt"}, keys
    assert keys["fileEncrypted"] is True
    assert isinstance(keys["dataKeyVersion"], int) and \
        keys["dataKeyVersion"] >= 1
    assert ISO.fullmatch(keys["dataKeyCreatedAt"])
    assert abs(iso_to_epoch(keys["dataKeyCreatedAt"]) - time.time()) < 600
    assert keys["dataKeyAgeDays"] == 0
    assert keys["lastRotatedAt"] is None
    assert body["backups"] == {"lastBackupAt": None, "lastVerifiedAt": None,
                               "lastRun": None}
    assert body["deletion"] == {"scheduledAt": None}
    names = set(_all_keys(body))
    for gone in ("rotationDays", "backupDays", "afterUninstallDays",
                 "accessLogDays", "retention"):
        assert gone not in names, (gone, body)


# 11. make install, package lists.

def _source_copy(dest):
    """The working tree without build products, state or git data."""
    def ignore(d, names):
        rel = Path(d).resolve().relative_to(REPO)
        skip = {"__pycache__", ".pytest_cache"}
        if rel == Path("."):
            skip |= {"build", ".state", ".git"}
        if rel == Path("cgi-bin"):
            skip |= {"cellar.fcgi"}
        return [n for n in names if n in skip]
    shutil.copytree(REPO, dest, ignore=ignore, symlinks=True)
    return dest


def test_make_install_installs_a_worker_that_answers_healthz(tmp_path):
    src = _source_copy(tmp_path / "src")
    dest = tmp_path / "dest"
    env = clean_env()
    p = run(["make", "-j2", "--no-print-directory"], cwd=src, env=env,
            timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    p = run(["make", "--no-print-directory", "install", "PREFIX=/usr",
             f"DESTDIR={dest}"], cwd=src, env=env, timeout=300)
    assert p.returncode == 0, (p.stdout[-2000:], p.stderr[-2000:])
    fcgi = dest / "usr/lib/cellar/cellar.fcgi"
    ctlbin = dest / "usr/lib/cellar/cellarctl"
    reaper = dest / "usr/lib/cellar/cellar-reaper"
    for b in (fcgi, ctlbin, reaper):
        assert b.is_file() and os.access(b, os.X_OK), b
    example = dest / "usr/share/doc/cellar/cellar.conf.example"
    assert example.read_bytes() == (REPO / "conf/cellar.conf.example") \
        .read_bytes()
    for unit in ("cellar.service", "cellar.socket", "cellar-reaper.service",
                 "cellar-reaper.timer"):
        text = (dest / "lib/systemd/system" / unit).read_text()
        # Every program a unit starts is where make install put it.
        for line in text.splitlines():
            if line.startswith(("ExecStart=", "ExecStartPre=")):
                assert "/usr/lib/cellar/" in line, (unit, line)
    nginx = dest / "usr/share/cellar/nginx"
    want = {p.name for p in (REPO / "conf/nginx").iterdir()}
    have = {p.name for p in nginx.iterdir()} if nginx.is_dir() else set()
    assert want <= have, (want, have)
    assert (dest / "etc/logrotate.d/cellar-nginx").stat().st_size > 0

    # The installed programs, against a configuration pointing into dest.
    state = dest / "var/lib/cellar"
    state.mkdir(parents=True, mode=0o700)
    state.chmod(0o700)
    (dest / "etc/cellar").mkdir(parents=True, exist_ok=True)
    etc = write_config(tmp_path / "conf", state, dest / "etc/cellar/keys")
    p = run([ctlbin, "--config", etc, "init"], env=env)
    assert p.returncode == 0, out_of(p)
    assert (dest / "etc/cellar/keys/master-0001.key").is_file()
    cgi_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
               "GATEWAY_INTERFACE": "CGI/1.1",
               "SERVER_PROTOCOL": "HTTP/1.1", "REQUEST_METHOD": "GET",
               "REQUEST_URI": "/healthz"}
    q = subprocess.run([str(fcgi), "--config", str(etc)], env=cgi_env,
                       input=b"", capture_output=True, timeout=30)
    assert q.stdout.startswith(b"Status: 200"), (q.stdout[:300],
                                                 q.stderr[-1000:])
    # The installed reaper: a first run backs up the (empty) registry.
    with open(etc / "conf.d" / "50-backup.conf", "w") as f:
        f.write(f"[backup]\ndir = {dest}/var/lib/cellar/backups\n")
    p = run([reaper, "--config", etc, "run"], env=env)
    assert p.returncode == 0, out_of(p)
    assert "backup: ok" in p.stdout, p.stdout


# The production nginx site (conf/nginx/cellar.conf), as installed.

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def _self_signed(tls, host):
    """A certificate and key for host, as certbot would leave them."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    import datetime
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    (tls / "fullchain.pem").write_bytes(
        cert.public_bytes(serialization.Encoding.PEM))
    (tls / "privkey.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))


def test_production_nginx_site_serves_https_redirects_http_and_answers_acme(
        make_stack, tmp_path):
    """conf/nginx/cellar.conf with its snippets, only the host's paths
    and ports replaced: nginx -t passes; HTTPS reaches the workers with
    HSTS; plain HTTP redirects to the configured name (never the
    client's Host), except ACME challenges, which certbot's webroot
    renewal needs; no query string reaches a log."""
    import requests
    import urllib3
    urllib3.disable_warnings()
    st = make_stack(workers=1, tag="prodsite", checks=CHECKS)
    d = tmp_path / "nginx"
    acme = d / "www" / ".well-known" / "acme-challenge"
    for sub in (d / "snippets", d / "log", d / "tls", d / "tmp", acme):
        sub.mkdir(parents=True)
    for f in ("cellar-http.conf", "cellar-server.conf"):
        shutil.copy(REPO / "conf/nginx" / f, d / "snippets" / f)
    _self_signed(d / "tls", "cellar.example.com")
    http_port, https_port = free_port(), free_port()
    site = (REPO / "conf/nginx/cellar.conf").read_text()
    for old, new in (
            ("/etc/nginx/snippets/", f"{d}/snippets/"),
            ("/var/log/nginx/cellar/", f"{d}/log/"),
            ("/etc/letsencrypt/live/cellar.example.com/", f"{d}/tls/"),
            ("unix:/run/cellar/cellar.sock", f"unix:{st.dir}/run/cellar.sock"),
            ("root /var/www/letsencrypt;", f"root {d}/www;"),
            ("listen 80;", f"listen 127.0.0.1:{http_port};"),
            ("listen 443 ssl http2;",
             f"listen 127.0.0.1:{https_port} ssl http2;")):
        assert old in site, f"conf/nginx/cellar.conf no longer has {old!r}"
        site = site.replace(old, new)
    # No IPv6 on every test host.
    site = "\n".join(ln for ln in site.splitlines()
                     if "listen [::]" not in ln)
    (d / "site.conf").write_text(site)
    user = ""
    if os.geteuid() == 0:
        pw = pwd.getpwuid(os.getuid())
        user = f"user {pw.pw_name} {pw.pw_name};"
    (d / "nginx.conf").write_text(f"""{user}
pid {d}/nginx.pid;
error_log {d}/log/main-error.log alert;
events {{ worker_connections 64; }}
http {{
    client_body_temp_path {d}/tmp/body;
    fastcgi_temp_path {d}/tmp/fastcgi;
    proxy_temp_path {d}/tmp/proxy;
    uwsgi_temp_path {d}/tmp/uwsgi;
    scgi_temp_path {d}/tmp/scgi;
    include {d}/site.conf;
}}
""")
    conf = ["-c", str(d / "nginx.conf"), "-p", str(d), "-e",
            str(d / "log" / "startup.log")]
    p = run([NGINX, "-t", *conf])
    assert p.returncode == 0, p.stderr
    p = run([NGINX, *conf])
    assert p.returncode == 0, p.stderr
    try:
        wait_until(lambda: (d / "nginx.pid").exists(), what="nginx to start")
        (acme / "tok-123").write_text("tok-123.thumbprint")
        s = requests.Session()
        r = s.get(f"http://127.0.0.1:{http_port}/.well-known/acme-challenge/"
                  "tok-123", headers={"Host": "cellar.example.com"},
                  allow_redirects=False, timeout=10)
        assert r.status_code == 200 and r.text == "tok-123.thumbprint", \
            (r.status_code, r.text[:200])
        r = s.get(f"http://127.0.0.1:{http_port}/api/tenant?jwt=secret-ish",
                  headers={"Host": "evil.example"}, allow_redirects=False,
                  timeout=10)
        assert r.status_code == 301, r.status_code
        assert r.headers["Location"] == \
            "https://cellar.example.com/api/tenant?jwt=secret-ish"
        r = s.get(f"https://127.0.0.1:{https_port}/healthz",
                  headers={"Host": "cellar.example.com"}, verify=False,
                  timeout=10)
        assert r.status_code == 200, (r.status_code, r.text[:200])
        assert r.headers["Strict-Transport-Security"].startswith(
            "max-age=31536000")
        assert r.headers["X-Request-Id"]
        # nginx writes the line after the reply is sent: wait for it.
        access = d / "log" / "access.log"
        wait_until(lambda: "/healthz" in access.read_text(), timeout=10,
                   what="the request's access log line")
        assert "secret-ish" not in access.read_text()
    finally:
        subprocess.run([NGINX, *conf, "-s", "quit"], capture_output=True,
                       timeout=30)
        wait_until(lambda: not (d / "nginx.pid").exists(), timeout=15,
                   what="nginx to stop")


def _package_list(path):
    words = []
    for ln in Path(path).read_text().splitlines():
        words += ln.split("#", 1)[0].split()
    return words


def test_setup_deps_reads_separate_runtime_and_build_package_lists(
        tmp_path):
    lists = REPO / "conf/packages"
    runtime, build = lists / "runtime", lists / "build"
    assert runtime.is_file() and build.is_file(), \
        f"{runtime} and {build} must exist"
    rt, bd = _package_list(runtime), _package_list(build)
    assert rt and bd, (rt, bd)
    for tool in ("clang", "valgrind", "wrk", "cppcheck"):
        assert tool not in rt, f"{tool} is no runtime package"
        assert tool in bd, f"{tool} missing from {build}"
    # tests/setup-deps installs what both lists name: a copy of it with
    # a marker package added to each list, dpkg-query saying only the
    # markers are missing, and apt-get recording what it is asked.
    tree = tmp_path / "tree"
    (tree / "tests").mkdir(parents=True)
    (tree / "conf/packages").mkdir(parents=True)
    shutil.copy2(REPO / "tests/setup-deps", tree / "tests/setup-deps")
    for name, marker in (("runtime", "cellar-probe-runtime"),
                         ("build", "cellar-probe-build")):
        text = (lists / name).read_text()
        (tree / "conf/packages" / name).write_text(
            text + ("" if text.endswith("\n") else "\n") + marker + "\n")
    fakebin = tmp_path / "bin"
    fakebin.mkdir()
    log = tmp_path / "apt.log"
    scripts = {
        "dpkg-query": 'for a; do p=$a; done\n'
                      'case $p in cellar-probe-*) exit 1;; esac\n'
                      'printf "install ok installed"\n',
        "apt-get": f'echo "$*" >> {log}\n',
        "sudo": 'exec "$@"\n',
        "systemctl": 'exit 0\n',
    }
    for name, body in scripts.items():
        (fakebin / name).write_text("#!/bin/sh\n" + body)
        (fakebin / name).chmod(0o755)
    p = run(["sh", "tests/setup-deps"], cwd=tree, timeout=60,
            env=clean_env(PATH=f"{fakebin}:{os.environ.get('PATH', '')}"))
    assert p.returncode == 0, out_of(p)
    installs = [ln for ln in Path(log).read_text().splitlines()
                if "install" in ln.split()] if log.exists() else []
    asked = " ".join(installs).split()
    assert "cellar-probe-runtime" in asked and \
        "cellar-probe-build" in asked, (installs, out_of(p))


# 12. make test's binaries; the harness's CELLAR_FCGI / CELLAR_CTL.

def _writes(line, path):
    """line is a command that writes path (-o path, > path, or cp/mv/
    install/ln with path as the destination)."""
    p = re.escape(path)
    return bool(re.search(rf"(?:-o\s*|>\s*)(?:\./)?{p}(?=\s|;|$)", line) or
                re.search(rf"^\s*(?:\S*/)?(?:cp|mv|install|ln)\s.*\s"
                          rf"(?:\./)?{p}\s*(?:;.*)?$", line))


def test_make_test_builds_under_build_test_and_never_replaces_the_plain_binaries(  # noqa: E501
        ):
    if os.environ.get("CELLAR_MAKE_N_PROBE"):
        pytest.fail("`make -n test` ran the integration tests for real")
    # -B: every target out of date, so that the dry run shows every
    # command whatever is built already; recursive makes run with -n too.
    p = subprocess.run(["make", "-n", "-B", "test"], cwd=REPO,
                       env=clean_env(CELLAR_MAKE_N_PROBE="1"),
                       capture_output=True, text=True, timeout=180,
                       start_new_session=True)
    assert p.returncode == 0, p.stderr[-3000:]
    lines = [ln.replace(str(REPO) + "/", "") for ln in
             p.stdout.splitlines()]
    bad = [ln for ln in lines for path in ("cgi-bin/cellar.fcgi",
                                           "build/cellarctl")
           if _writes(ln, path)]
    assert not bad, "make test writes the plain binaries:\n" + \
        "\n".join(ln[:300] for ln in bad)
    for path in ("build/test/cellar.fcgi", "build/test/cellarctl"):
        assert any(_writes(ln, path) for ln in lines), \
            f"make test does not build {path}"


PROBE = r"""
import json, os, sys
sys.path.insert(0, sys.argv[1])
import harness
out = {"fcgi": str(harness.FCGI), "ctl": str(harness.CELLARCTL)}
d = sys.argv[2]
try:
    st = harness.start_stack(d, workers=1)
    out["exes"] = sorted(os.readlink(f"/proc/{p}/exe")
                         for p in st.worker_pids())
    out["healthz"] = st.get("/healthz").status_code
except Exception as e:
    out["error"] = repr(e)[:2000]
finally:
    out["stop"] = harness.stop_stack(d)
print(json.dumps(out))
"""


def test_the_harness_runs_the_binaries_named_by_cellar_fcgi_and_cellar_ctl(
        make_stack, tmp_path):
    alt = tmp_path / "alt"
    alt.mkdir()
    fcgi = alt / "cellar.fcgi"
    shutil.copy2(FCGI, fcgi)
    log = alt / "ctl.log"
    ctlbin = alt / "cellarctl"
    ctlbin.write_text(f'#!/bin/sh\necho "$*" >> {log}\n'
                      f'exec {CELLARCTL} "$@"\n')
    ctlbin.chmod(0o755)
    d = make_stack.new_dir("harness-env")
    env = clean_env(CELLAR_FCGI=str(fcgi), CELLAR_CTL=str(ctlbin))
    for k in ("CELLAR_STACK_FCGI", "CELLAR_STACK_CTL"):
        env.pop(k, None)
    p = subprocess.run(["/usr/bin/python3", "-c", PROBE,
                        str(INTEGRATION_DIR), str(d)], env=env,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr[-3000:]
    out = json.loads(p.stdout.strip().splitlines()[-1])
    assert out["fcgi"] == str(fcgi), out
    assert out["ctl"] == str(ctlbin), out
    assert "error" not in out, out["error"]
    assert out["healthz"] == 200, out
    assert out["exes"] and all(Path(x) == fcgi.resolve()
                               for x in out["exes"]), out
    assert out["stop"] == [], out["stop"]
    ran = log.read_text().splitlines() if log.exists() else []
    assert any("config check" in ln for ln in ran), ran


# 13. tests/stack stop returns only when everything it started is gone.

def _stack_procs(st):
    procs = procs_of(st.dir)
    cmds = list(procs.values())
    assert any(c.startswith("nginx: master") for c in cmds), cmds
    assert any(c.startswith("nginx: worker") for c in cmds), cmds
    assert any("multiwatch" in c.split()[0] for c in cmds if c), cmds
    return procs


def _left_after_stop(make_stack, st, procs):
    """Runs tests/stack stop and, at once, lists what still runs of the
    processes seen before and of the stack; kills those (so that the
    teardown finds nothing) and returns them."""
    born = starttimes(procs)
    rc, out = make_stack.stop_raw(st)
    left = {p: procs[p] for p, t in born.items() if alive(p, t)}
    left.update(procs_of(st.dir))
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    wait_until(lambda: not any(alive(p) for p in left) and
               not procs_of(st.dir), what="leftovers to die")
    assert rc == 0, out
    return left


def test_stop_returns_only_when_every_process_of_the_stack_is_gone(
        make_stack):
    for i in range(6):
        st = make_stack(workers=2, tag=f"stop{i}")
        for _ in range(4):
            assert st.get("/healthz").status_code == 200
        procs = _stack_procs(st)
        assert sum(1 for c in procs.values()
                   if "cellar.fcgi" in c.split()[0]) == 2, procs
        left = _left_after_stop(make_stack, st, procs)
        assert not left, f"round {i}: still running after stop: {left}"
        assert not st.workers_pid_file.exists()


def test_stop_ends_the_workers_of_a_supervisor_that_died(make_stack):
    st = make_stack(workers=2, tag="mw-died")
    procs = _stack_procs(st)
    mw = st.multiwatch_pid()
    workers = st.worker_pids()
    assert len(workers) == 2, workers
    os.kill(mw, signal.SIGKILL)
    wait_until(lambda: not alive(mw), what="multiwatch to die")
    assert all(alive(w) for w in workers), "precondition: workers live on"
    left = _left_after_stop(make_stack, st, procs)
    assert not left, f"still running after stop: {left}"


def test_stop_ends_the_nginx_workers_of_a_master_that_died(make_stack):
    st = make_stack(workers=1, tag="nginx-died")
    procs = _stack_procs(st)
    master = int((st.dir / "run" / "nginx.pid").read_text().split()[0])
    nworkers = children(master)
    assert nworkers, "precondition: nginx has workers"
    os.kill(master, signal.SIGKILL)
    wait_until(lambda: not alive(master), what="the nginx master to die")
    assert all(alive(w) for w in nworkers), "precondition: they live on"
    left = _left_after_stop(make_stack, st, procs)
    assert not left, f"still running after stop: {left}"


# 14. The Jira client's settings.

def _dump(text):
    """{(section, key): (value, source)} of `config check` output."""
    out, section = {}, None
    for ln in text.splitlines():
        m = re.match(r"^\[(\w+)\]$", ln)
        if m:
            section = m.group(1)
            continue
        m = re.match(r"^(\w+) = (.*)\t# (.*)$", ln)
        if m and section:
            out[(section, m.group(1))] = (m.group(2), m.group(3))
    return out


def test_jira_timeouts_and_down_window_are_configurable(tmp_path):
    etc, _, _ = installation(tmp_path)
    p = ctl(etc, "config", "check")
    assert p.returncode == 0, out_of(p)
    d = _dump(p.stdout)
    jira = {k: v for k, v in d.items() if k[0] == "jira"}
    assert d.get(("jira", "connect_timeout_ms")) == ("2000", "(default)"), \
        jira
    assert d.get(("jira", "timeout_ms")) == ("5000", "(default)"), jira
    assert d.get(("jira", "down_seconds")) == ("5", "(default)"), jira
    write_drop_ins(tmp_path, {"50-jira.conf": "[jira]\n"
                              "connect_timeout_ms = 750\n"
                              "timeout_ms = 1500\ndown_seconds = 2\n"})
    p = ctl(etc, "config", "check")
    assert p.returncode == 0, out_of(p)
    d = _dump(p.stdout)
    jira = {k: v for k, v in d.items() if k[0] == "jira"}
    where = f"{etc}/conf.d/50-jira.conf"
    assert d.get(("jira", "connect_timeout_ms")) == ("750", f"{where}:2"), \
        jira
    assert d.get(("jira", "timeout_ms")) == ("1500", f"{where}:3"), jira
    assert d.get(("jira", "down_seconds")) == ("2", f"{where}:4"), jira


def test_jira_that_hangs_times_out_after_timeout_ms_and_is_asked_again_after_down_seconds(  # noqa: E501
        make_stack, fake):
    st = make_stack({"50-jira.conf": f"[auth]\ninstall_keys_url = "
                     f"{fake.keys_url}\n[jira]\ncache_seconds = 0\n"
                     "connect_timeout_ms = 500\ntimeout_ms = 1000\n"
                     "down_seconds = 1\n"}, workers=1, tag="jira",
                    checks=CHECKS)
    e = Env(st, fake)
    secret = atl.new_secret()
    site = fake.add_site(secret)
    t = e.install(site.base_url, secret)
    admin = atl.new_account_id()
    site.set_admin(admin)
    site.set_groups(admin, [])

    def req(method, path, acct, body=None):
        tok = atl.context_token(t.secret, t.client_key, sub=acct,
                                context=atl.user_context())
        return st.request(method, path, json=body,
                          headers={"Authorization": f"JWT {tok}"})

    def listing():
        acct = atl.new_account_id()
        site.set_groups(acct, ["g-1"])
        r = req("GET", "/api/templates", acct)
        assert r.status_code == 200, r.text
        return r.json()

    r = req("POST", "/api/templates", admin,
            {"name": "G", "body": "b", "scope": "groups",
             "groups": ["g-1"]})
    assert r.status_code == 201, r.text
    assert listing()["degraded"] is False
    # Jira hangs: the call gives up after timeout_ms (1 s, not 5 s).
    site.set_down("hang")
    before = site.count()
    started = time.monotonic()
    page = listing()
    failed_at = time.monotonic()
    assert failed_at - started < 2.5, \
        f"the Jira call took {failed_at - started:.1f}s with timeout_ms=1000"
    assert page["degraded"] is True
    assert site.count() - before == 1
    # Within down_seconds no call is made.
    assert listing()["degraded"] is True
    assert site.count() - before == 1
    # Back up: asked again once down_seconds (1 s, not 5 s) are over.
    site.set_down(None)
    wait_until(lambda: listing()["degraded"] is False, timeout=2.5,
               interval=0.1, what="Jira to be asked again after 1 s")
    assert time.monotonic() - failed_at < 3.0
    assert site.count("GET", USER_GROUPS) >= 1


# 22. cellarctl orphans.

def _files(d, tid):
    return sorted(p for p in d.iterdir() if p.name.startswith(tid))


def test_orphans_lists_and_removes_only_old_unregistered_tenant_files(env):
    a = env.install()
    b = env.install()
    env.uninstall(b)            # departed: its registry row stays
    tdir = env.tenants_dir
    hour_ago = time.time() - 3600
    old, fresh = secrets.token_hex(16), secrets.token_hex(16)
    # An old file whose -wal was written a moment ago: in use, all kept.
    mixed = secrets.token_hex(16)
    for suffix in (".db", ".db-wal", ".db-shm"):
        p = tdir / f"{old}{suffix}"
        p.write_bytes(os.urandom(4096))
        os.utime(p, (hour_ago, hour_ago))
    for suffix in (".db", ".db-wal"):
        (tdir / f"{fresh}{suffix}").write_bytes(os.urandom(4096))
    for suffix in (".db", ".db-shm", ".db-wal"):
        p = tdir / f"{mixed}{suffix}"
        p.write_bytes(os.urandom(4096))
        if suffix != ".db-wal":
            os.utime(p, (hour_ago, hour_ago))
    registered = _files(tdir, a.id) + _files(tdir, b.id)
    assert tdir / f"{a.id}.db" in registered
    assert tdir / f"{b.id}.db" in registered
    for p in registered:        # old enough to be removed, were they orphans
        os.utime(p, (hour_ago, hour_ago))
    kept = {p: digest(p) for p in registered}
    try:
        p = ctl(env.st.etc, "orphans")
        assert p.returncode == 0, out_of(p)
        assert old in p.stdout and fresh in p.stdout, p.stdout
        assert a.id not in p.stdout and b.id not in p.stdout, p.stdout
        assert all(q.exists() for q in _files(tdir, old)), \
            "listing removed files"

        p = ctl(env.st.etc, "orphans", "--remove")
        assert p.returncode == 0, out_of(p)
        assert _files(tdir, old) == [], "old orphan files are left"
        assert [q.name for q in _files(tdir, fresh)] == \
            [f"{fresh}.db", f"{fresh}.db-wal"], "a fresh orphan was removed"
        assert len(_files(tdir, mixed)) == 3, \
            "part of an orphan whose -wal is fresh was removed"
        assert {q: digest(q) for q in registered if q.exists()} == kept, \
            "a registered tenant's file was removed or changed"

        p = ctl(env.st.etc, "orphans")
        assert p.returncode == 0, out_of(p)
        assert fresh in p.stdout and old not in p.stdout, p.stdout
        r = env.tenant_info(a)
        assert r.status_code == 200, r.text
    finally:
        for q in (_files(tdir, old) + _files(tdir, fresh) +
                  _files(tdir, mixed)):
            q.unlink()
