"""
Helpers for the integration tests: start and stop a stack through
tests/stack, talk HTTP to it, read its logs and find its processes.

A stack is what `tests/stack start DIR PORT` builds in DIR: nginx on
127.0.0.1:PORT, spawn-fcgi + multiwatch workers, logs in DIR/log.  Every
process of a stack can be found through DIR: its command line names DIR
(nginx -c/-p, cellar.fcgi --config) or it holds a file under DIR open
(nginx workers hold the access log, cellar workers the app log).
"""
import errno
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
# The stack script under test; the variable lets a reviewer point the
# suite at another implementation of the same contract.
STACK_SCRIPT = Path(os.environ.get("CELLAR_STACK_SCRIPT",
                                   str(REPO / "tests" / "stack")))
# The binaries under test: make test builds its own (CELLAR_FCGI,
# CELLAR_CTL); by default the plain build's.
FCGI = Path(os.environ.get("CELLAR_FCGI") or REPO / "cgi-bin" / "cellar.fcgi")
CELLARCTL = Path(os.environ.get("CELLAR_CTL") or REPO / "build" / "cellarctl")

SANITIZER_MARKERS = ("AddressSanitizer", "LeakSanitizer", "runtime error:",
                     "UndefinedBehaviorSanitizer")

# TS cellar.fcgi[PID] LEVEL rid=RID route=NAME status=NNN us=N
REQUEST_LINE = re.compile(
    r"^(?P<ts>\S+) cellar\.fcgi\[(?P<pid>\d+)\] (?P<level>\w+) "
    r"rid=(?P<rid>\S+) route=(?P<route>\S+) status=(?P<status>\d{3}) "
    r"us=(?P<us>\d+)$")
WORKER_EXIT = re.compile(
    r"cellar\.fcgi\[(?P<pid>\d+)\] \w+ rid=- event=worker_exit "
    r"reason=(?P<reason>\w+) served=(?P<served>\d+)$")
WORKER_START = re.compile(
    r"cellar\.fcgi\[(?P<pid>\d+)\] \w+ rid=- event=worker_start (?P<rest>.*)$")
# An app log line at error level: something went wrong inside the app.
ERROR_LINE = re.compile(r" cellar\.fcgi\[\d+\] error ")
# Why a worker may leave in normal life (WORKER_EXIT's reason); any
# other reason (accept_failed...) is a problem.
NORMAL_EXIT_REASONS = ("max_requests", "idle", "signal", "term", "stop",
                       "quarantine")

HTTP_TIMEOUT = 10       # seconds for one HTTP exchange
SCRIPT_TIMEOUT = 60     # seconds for tests/stack start / stop


def wait_until(fn, timeout=5.0, interval=0.05, what="condition"):
    """Polls fn() until it returns something truthy; returns it.  Raises
    AssertionError naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for "
                                 f"{what}")
        time.sleep(interval)


def free_port():
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def closed_port_url():
    """http://127.0.0.1:PORT with nobody listening on PORT: the base URL
    of a Jira that is down (connection refused)."""
    return f"http://127.0.0.1:{free_port()}"


def port_open(port):
    """True if something accepts connections on 127.0.0.1:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def read_text(path):
    try:
        return Path(path).read_text(errors="replace")
    except FileNotFoundError:
        return ""


def sanitizer_report(text, context=40):
    """The lines of text that carry a sanitizer report (with the lines
    that follow the first one, for its stack trace), or ""."""
    lines = text.splitlines()
    hits = [i for i, ln in enumerate(lines)
            if any(m in ln for m in SANITIZER_MARKERS)]
    if not hits:
        return ""
    out = [lines[i] for i in hits]
    out.append("--- first report in context ---")
    out.extend(lines[hits[0]:hits[0] + context])
    return "\n".join(out)


def _proc_stat(pid):
    """(state, ppid, starttime) of pid, or None if it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name may contain spaces and parentheses.
    fields = raw[raw.rindex(")") + 2:].split()
    return fields[0], int(fields[1]), int(fields[19])


def _cmdline(pid):
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return [a.decode(errors="replace") for a in raw.split(b"\0") if a]


def _under(path, d):
    return path == d or path.startswith(d + "/")


def children(ppid):
    """Live (non-zombie) children of ppid."""
    out = set()
    for e in os.listdir("/proc"):
        if not e.isdigit():
            continue
        st = _proc_stat(int(e))
        if st is not None and st[1] == ppid and st[0] != "Z":
            out.add(int(e))
    return out


def alive(pid, starttime=None):
    """True if pid runs (and, given its start time, is still the same
    process rather than a reused pid)."""
    st = _proc_stat(pid)
    return (st is not None and st[0] != "Z" and
            (starttime is None or st[2] == starttime))


def starttimes(pids):
    """{pid: start time} of the pids still running."""
    out = {}
    for p in pids:
        st = _proc_stat(p)
        if st is not None:
            out[p] = st[2]
    return out


def procs_of(d):
    """{pid: cmdline string} of every live process belonging to the stack
    in directory d (see the module comment), this process excepted."""
    d = str(Path(d).resolve())
    me = os.getpid()
    found = {}
    for e in os.listdir("/proc"):
        if not e.isdigit() or int(e) == me:
            continue
        pid = int(e)
        st = _proc_stat(pid)
        args = _cmdline(pid)
        if st is None or st[0] == "Z" or args is None:
            continue
        mine = any(_under(a, d) or (d + "/") in a for a in args)
        if not mine:
            try:
                mine = _under(os.readlink(f"/proc/{pid}/cwd"), d)
                for fd in os.listdir(f"/proc/{pid}/fd"):
                    if mine:
                        break
                    try:
                        mine = _under(os.readlink(f"/proc/{pid}/fd/{fd}"),
                                      d)
                    except OSError:
                        pass
            except OSError:
                continue
        if mine:
            found[pid] = " ".join(args)
    return found


def kill_pids(pids):
    """SIGKILLs the given pids (processes this suite started through the
    stack script and that the script failed to stop)."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def raw_http(port, data, timeout=HTTP_TIMEOUT):
    """Sends raw bytes to 127.0.0.1:port and reads the reply until the
    server closes.  Returns (status code, {lower-case header: value},
    body bytes)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        reply = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        headers[k.strip().lower()] = v.strip()
    return int(lines[0].split()[1]), headers, body


def session():
    """A requests session that ignores proxy settings from the
    environment: all traffic goes straight to 127.0.0.1."""
    s = requests.Session()
    s.trust_env = False
    return s


def say(request, line):
    """A line on the terminal, even from a fixture's teardown (whose
    output pytest captures)."""
    tr = request.config.pluginmanager.get_plugin("terminalreporter")
    cm = request.config.pluginmanager.get_plugin("capturemanager")
    if tr is None:
        return
    if cm is not None:
        with cm.global_and_fixture_disabled():
            tr.write_line(line)
    else:
        tr.write_line(line)


def scratch_workspace(request, prefix, what):
    """For a session fixture (yield from it): a new directory for the
    session's stacks under $CELLAR_IT_TMP (else the system's), searchable
    by nginx's unprivileged workers (mode 0755).  Afterwards removed when
    every test passed and no process of a stack in it is left; else kept
    and named on the terminal ("<what> kept in <dir>")."""
    base = os.environ.get("CELLAR_IT_TMP") or None
    d = Path(tempfile.mkdtemp(prefix=prefix, dir=base))
    d.chmod(0o755)
    yield d
    if request.session.testsfailed == 0 and not any(
            procs_of(p) for p in d.iterdir() if p.is_dir()):
        shutil.rmtree(d, ignore_errors=True)
    else:
        say(request, f"{what} kept in {d}")


class Stack:
    """One running stack: its directory, port and logs."""

    def __init__(self, d, port, base_url):
        self.dir = Path(d)
        self.port = port
        self.base_url = base_url
        self.etc = self.dir / "etc"
        self.conf_d = self.etc / "conf.d"
        self.app_log = self.dir / "log" / "app.log"
        self.access_log = self.dir / "log" / "access.log"
        self.nginx_error_log = self.dir / "log" / "nginx-error.log"
        self.workers_pid_file = self.dir / "run" / "workers.pid"
        # A session per thread: requests' sessions are not thread-safe,
        # and tests send from thread pools.
        self._local = threading.local()

    def __repr__(self):
        return f"Stack({self.base_url}, {self.dir})"

    def request(self, method, path, **kw):
        kw.setdefault("timeout", HTTP_TIMEOUT)
        kw.setdefault("allow_redirects", False)
        # A fresh connection per request, like a browser behind Jira.
        kw.setdefault("headers", {})
        kw["headers"].setdefault("Connection", "close")
        http = getattr(self._local, "http", None)
        if http is None:
            http = self._local.http = session()
        return http.request(method, self.base_url + path, **kw)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def log_text(self):
        return read_text(self.app_log)

    def request_lines(self):
        """Parsed request lines of the app log, in order."""
        return [m.groupdict() for m in
                map(REQUEST_LINE.match, self.log_text().splitlines()) if m]

    def lines_for(self, rid):
        """App log request lines with this request id."""
        return [r for r in self.request_lines() if r["rid"] == rid]

    def wait_request_line(self, rid, timeout=5.0):
        """The single request line for rid, once it is written."""
        wait_until(lambda: self.lines_for(rid), timeout,
                   what=f"app log line rid={rid}")
        return self.lines_for(rid)

    def worker_exits(self):
        return [m.groupdict() for m in
                map(WORKER_EXIT.search, self.log_text().splitlines()) if m]

    def multiwatch_pid(self):
        return int(self.workers_pid_file.read_text().split()[0])

    def worker_pids(self):
        """Live workers: the children of the supervisor."""
        return children(self.multiwatch_pid())


def run_script(*args, env=None, out_path=None, timeout=SCRIPT_TIMEOUT):
    """Runs the stack script with output to a file (daemons that keep
    stdout open must not hang the caller).  Returns (returncode, output)."""
    # The stack runs the binaries under test unless a caller names others.
    full_env = dict(os.environ, CELLAR_STACK_FCGI=str(FCGI),
                    CELLAR_STACK_CTL=str(CELLARCTL))
    full_env.update(env or {})
    with open(out_path, "w+b") as out:
        try:
            p = subprocess.run([str(STACK_SCRIPT), *map(str, args)],
                               cwd=REPO, env=full_env, stdin=subprocess.DEVNULL,
                               stdout=out, stderr=subprocess.STDOUT,
                               timeout=timeout)
            rc = p.returncode
        except subprocess.TimeoutExpired:
            rc = "timeout"
        out.seek(0)
        return rc, out.read().decode(errors="replace")


def write_drop_ins(d, drop_ins):
    conf_d = Path(d) / "etc" / "conf.d"
    conf_d.mkdir(parents=True, exist_ok=True)
    for name, text in (drop_ins or {}).items():
        (conf_d / name).write_text(text)


def start_stack(d, drop_ins=None, workers=2, attempts=3):
    """Starts a stack in directory d (drop-ins written to
    d/etc/conf.d first) and returns its Stack.  Retries on a new port if
    another process grabbed the chosen one in between.  On failure the
    script's stop is run and AssertionError carries the output and logs."""
    d = Path(d)
    d.mkdir(parents=True, exist_ok=True)
    write_drop_ins(d, drop_ins)
    env = {"CELLAR_STACK_WORKERS": str(workers)}
    report = ""
    for attempt in range(attempts):
        port = free_port()
        rc, out = run_script("start", d, port, env=env,
                             out_path=f"{d}.start{attempt}.out")
        if rc == 0:
            lines = [ln for ln in out.splitlines() if ln.strip()]
            base = lines[-1].strip() if lines else ""
            st = Stack(d, port, base)
            assert base == f"http://127.0.0.1:{port}", (
                f"tests/stack start printed {out!r}, expected the base URL")
            return st
        nginx_err = read_text(d / "log" / "nginx-error.log")
        report = (f"tests/stack start {d} {port} exited {rc}:\n{out}\n"
                  f"--- nginx-error.log ---\n{nginx_err[-3000:]}\n"
                  f"--- app.log ---\n{read_text(d / 'log' / 'app.log')[-3000:]}")
        run_script("stop", d, out_path=f"{d}.stop-after-fail.out")
        if "Address already in use" not in nginx_err + out:
            break
    raise AssertionError(report)


def stop_stack(d):
    """Runs tests/stack stop on d.  Returns a list of problems (script
    failure, processes left behind, which are then killed)."""
    d = Path(d)
    before = procs_of(d)
    born = starttimes(before)
    problems = []
    rc, out = run_script("stop", d, out_path=f"{d}.stop.out")
    if rc != 0:
        problems.append(f"tests/stack stop {d} exited {rc}: {out}")
    try:
        wait_until(lambda: not any(alive(p, t) for p, t in born.items()) and
                   not procs_of(d), timeout=5, what="stack processes to end")
    except AssertionError:
        left = {p: c for p, c in procs_of(d).items()}
        left.update({p: before[p] for p, t in born.items() if alive(p, t)})
        problems.append(f"processes left running after stop: {left}")
        kill_pids(left)
    return problems


# Checks for the teardown of a stack (see conftest.StackFactory.check):
# promises that hold whatever subset of tests ran.  Each returns a list
# of problems (strings), empty when the promise held.

def internal_errors(st):
    """No request of st ended in status 500 and the app logged nothing
    at error level."""
    errors = [ln for ln in st.log_text().splitlines()
              if " status=500 " in ln or ERROR_LINE.search(ln)]
    if not errors:
        return []
    return [f"internal errors in {st.app_log} ({len(errors)} lines):\n" +
            "\n".join(errors[:20])]


def unexpected_worker_exits(st, normal=NORMAL_EXIT_REASONS):
    """No worker of st left for a reason outside `normal` (a crash shows
    up as no exit line at all: see replaced_workers)."""
    exits = [w for w in st.worker_exits() if w["reason"] not in normal]
    return [f"workers of {st.dir} exited for unexpected reasons: "
            f"{exits}"] if exits else []


def replaced_workers(st, first):
    """The workers of the running stack st are still the processes
    `first` (pids, read when the stack started): a worker that crashed
    was replaced silently by multiwatch.  The stack must answer its
    health check too."""
    problems = []
    r = st.get("/healthz")
    if r.status_code != 200:
        problems.append(f"{st.base_url}/healthz answered {r.status_code} "
                        f"at teardown: {r.text[:200]}")
    now = st.worker_pids()
    if now != set(first):
        problems.append(f"workers of {st.dir} changed: {sorted(first)} at "
                        f"the start, {sorted(now)} at teardown (gone: "
                        f"{sorted(set(first) - now)})")
    return problems


def leaks(paths, needles):
    """needles: (kind, needle) pairs, a needle being a string or a
    compiled regex.  One problem per needle found in a file of `paths`,
    naming its kind, the file and no more than the needle's first 24
    characters (a report should not spread what it found)."""
    problems = []
    for p in paths:
        body = read_text(p)
        for kind, n in needles:
            if isinstance(n, re.Pattern):
                m = n.search(body)
                if m:
                    problems.append(f"a {kind} is in {Path(p).name}: "
                                    f"...{m.group(0)[:24]}...")
            elif n and n in body:
                problems.append(f"a {kind} is in {Path(p).name}: "
                                f"...{n[:24]}...")
    return problems


# Full disks (tests of 503 storage_full, the reaper's failed jobs).

@contextmanager
def tmpfs(path, size):
    """A tmpfs of this size mounted on path (created) while the block
    runs; unmounted whatever happens.  Fails when it cannot mount (the
    tests that use it need root and mount(2))."""
    path.mkdir(parents=True, exist_ok=True)
    p = subprocess.run(["mount", "-t", "tmpfs", "-o",
                        f"size={size},mode=0700", "tmpfs", str(path)],
                       capture_output=True, text=True)
    if p.returncode != 0:
        pytest.fail(f"cannot mount a {size} tmpfs on {path} (this test "
                    f"needs root and mount(2)): {p.stderr.strip()}",
                    pytrace=False)
    try:
        yield path
    finally:
        p = subprocess.run(["umount", str(path)], capture_output=True,
                           text=True)
        if p.returncode != 0:
            subprocess.run(["umount", "-l", str(path)])
            raise AssertionError(f"umount {path} failed: {p.stderr}")


def fill(path):
    """Writes path until its file system has not one byte left."""
    with open(path, "ab", buffering=0) as f:
        chunk = 1024 * 1024
        while chunk:
            try:
                f.write(b"\xa5" * chunk)
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
                chunk //= 2
    st = os.statvfs(path)
    assert st.f_bfree == 0, f"{st.f_bfree} blocks still free"
