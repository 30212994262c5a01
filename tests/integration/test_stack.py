"""
Integration tests: the real binaries behind the real nginx, started by
tests/stack (nginx + spawn-fcgi + multiwatch), plus the worker in plain
CGI mode and cellarctl's config check.

Each test asserts something a user or an operator relies on: the
descriptor Jira reads, the health check a load balancer reads, error
replies that never echo input, logs that never hold a token or a query
string, workers that are recycled and replaced, and a stack script that
leaves nothing behind.
"""
import json
import os
import re
import signal
import subprocess
import uuid

import pytest

from harness import (CELLARCTL, FCGI, WORKER_START, alive, free_port,
                     port_open, procs_of, raw_http, read_text, run_script,
                     sanitizer_report, starttimes, wait_until, write_drop_ins)

MIB = 1024 * 1024
HEALTH_CHECKS = ("process", "config", "state_dir", "disk")
RID = re.compile(r"^[0-9A-Za-z_-]{8,64}$")


def marker(prefix="MARKER"):
    """A string no reply or log could contain by chance."""
    return f"{prefix}{uuid.uuid4().hex}"


def json_of(r):
    assert r.headers.get("Content-Type", "").split(";")[0].strip() == \
        "application/json", r.headers
    return json.loads(r.text)


def assert_error(r, status, code):
    """An app error reply: the status, and exactly {error, message}."""
    assert r.status_code == status, (r.status_code, r.text)
    body = json_of(r)
    assert set(body) == {"error", "message"}, body
    assert body["error"] == code
    assert isinstance(body["message"], str) and body["message"]


# Health check and descriptor.

def test_healthz_reports_ok(stack):
    r = stack.get("/healthz")
    assert r.status_code == 200
    body = json_of(r)
    assert body["status"] == "ok"
    assert isinstance(body["version"], str) and body["version"]
    assert isinstance(body["checks"], dict)
    for check in HEALTH_CHECKS:
        assert body["checks"].get(check) == "ok", body["checks"]
    assert all(v == "ok" for v in body["checks"].values()), body["checks"]


def test_descriptor_is_built_from_the_config(stack):
    r = stack.get("/atlassian-connect.json")
    assert r.status_code == 200
    d = json_of(r)
    assert d["key"] == "cellar-dev"
    assert isinstance(d["name"], str) and d["name"]
    assert d["baseUrl"] == stack.base_url
    assert d["authentication"] == {"type": "jwt"}
    for hook in ("installed", "uninstalled", "enabled", "disabled"):
        assert d["lifecycle"][hook] == f"/{hook}", d["lifecycle"]
    assert d["apiMigrations"]["signed-install"] is True
    assert d["apiMigrations"]["context-qsh"] is True
    assert isinstance(d["scopes"], list) and d["scopes"]
    assert all(isinstance(s, str) and re.fullmatch(r"[A-Z_]+", s)
               for s in d["scopes"]), d["scopes"]
    assert isinstance(d["enableLicensing"], bool)
    assert d["links"]["self"] == stack.base_url + "/atlassian-connect.json"
    assert isinstance(d["modules"], dict)


def test_descriptor_is_identical_from_every_worker(stack):
    bodies, rids = set(), []
    for _ in range(16):
        r = stack.get("/atlassian-connect.json")
        assert r.status_code == 200
        bodies.add(r.content)
        rids.append(r.headers["X-Request-Id"])
    assert len(bodies) == 1
    pids = {stack.wait_request_line(rid)[0]["pid"] for rid in rids}
    assert len(pids) >= 2, f"all 16 requests served by worker(s) {pids}"


def barrier(stack):
    """A sync point: one request, and its app log line written.  (A
    worker logs a request before it finishes the reply, so the lines of
    all earlier, sequential requests are there too.)"""
    r = stack.get("/healthz")
    assert r.status_code == 200
    stack.wait_request_line(r.headers["X-Request-Id"])


# The router's refusals.

@pytest.mark.parametrize("path", [
    "/", "/nope", "/healthz/", "/healthz/extra", "/atlassian-connect.json/",
    "/atlassian-connect.json.bak", "/HEALTHZ",
])
def test_unknown_path_is_404_json(stack, path):
    assert_error(stack.get(path), 404, "not_found")


@pytest.mark.parametrize("method,path", [
    ("POST", "/healthz"), ("PUT", "/healthz"), ("DELETE", "/healthz"),
    ("PATCH", "/healthz"), ("POST", "/atlassian-connect.json"),
])
def test_wrong_method_is_405_with_allow(stack, method, path):
    r = stack.request(method, path)
    assert_error(r, 405, "method_not_allowed")
    assert r.headers.get("Allow") == "GET"


@pytest.mark.parametrize("size", [1, 100, MIB])
def test_body_on_a_get_route_is_413_from_the_router(stack, size):
    r = stack.get("/healthz", data=b"x" * size)
    assert_error(r, 413, "too_large")
    # The app answered (not nginx): its request id and its log line.
    line = stack.wait_request_line(r.headers["X-Request-Id"])
    assert [(x["route"], x["status"]) for x in line] == [("healthz", "413")]


@pytest.mark.parametrize("size", [MIB + 1, 2 * MIB])
def test_body_over_1mib_is_refused_by_nginx_with_json(stack, size):
    barrier(stack)
    before = len(stack.request_lines())
    r = stack.request("POST", "/healthz", data=b"x" * size)
    assert r.status_code == 413
    body = json_of(r)
    assert isinstance(body.get("error"), str) and body["error"]
    # No worker saw it: only the barrier's line is new.
    barrier(stack)
    assert len(stack.request_lines()) == before + 1


NGINX_CASES = {
    "trace": b"TRACE /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
    "uri_too_long": b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    "header_too_large": (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " +
                         b"a" * 20000 + b"\r\n\r\n"),
    "garbage_request_line": b"GARBAGE\r\n\r\n",
    "no_host": b"GET /healthz HTTP/1.1\r\n\r\n",
    "two_content_lengths": (b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
                            b"Content-Length: 1\r\nContent-Length: 1\r\n"
                            b"\r\nab"),
}


@pytest.mark.parametrize("name", list(NGINX_CASES))
def test_nginx_own_error_replies_are_json(stack, name):
    """What nginx refuses itself gets the app's error shape and headers,
    never an HTML page."""
    data = NGINX_CASES[name].replace(b"\r\n\r\n",
                                     b"\r\nConnection: close\r\n\r\n", 1)
    if name == "garbage_request_line":
        data = NGINX_CASES[name]
    status, h, body = raw_http(stack.port, data)
    assert 400 <= status < 500, status
    assert h.get("content-type", "").split(";")[0] == "application/json", \
        (status, h, body[:200])
    doc = json.loads(body)
    assert isinstance(doc.get("error"), str) and doc["error"], doc
    assert h.get("x-content-type-options") == "nosniff", h
    assert h.get("cache-control") == "no-store", h
    assert not re.search(rb"nginx/\d", body), body
    assert not re.search(r"nginx/\d", h.get("server", "")), h


# Headers and replies that never echo input.

HEADER_CASES = [
    ("GET", "/healthz", {}),
    ("GET", "/atlassian-connect.json", {}),
    ("GET", "/nope", {}),
    ("POST", "/healthz", {}),
    ("GET", "/healthz", {"data": b"abc"}),
]


@pytest.mark.parametrize("method,path,kw", HEADER_CASES,
                         ids=[f"{m} {p} {'body' if k else ''}".strip()
                              for m, p, k in HEADER_CASES])
def test_security_headers_on_every_app_reply(stack, method, path, kw):
    r = stack.request(method, path, **kw)
    h = r.headers
    assert h.get("X-Content-Type-Options") == "nosniff", h
    assert h.get("Cache-Control") == "no-store", h
    csp = h.get("Content-Security-Policy", "")
    directives = {d.split()[0]: d.split()[1:]
                  for d in csp.split(";") if d.strip()}
    assert "https://*.atlassian.net" in directives.get("frame-ancestors", []), csp
    assert "*" not in directives["frame-ancestors"], csp
    assert RID.match(h.get("X-Request-Id", "")), h
    assert h.get("Content-Type", "").startswith("application/json"), h


def test_request_ids_are_unique(stack):
    rids = [stack.get("/healthz").headers["X-Request-Id"] for _ in range(10)]
    assert len(set(rids)) == len(rids)


def _echo_cases(m):
    return [
        ("GET", f"/nope-{m}", {}),
        ("GET", f"/nope?q={m}&jwt={m}", {}),
        ("GET", f"/healthz/{m}", {}),
        ("GET", f"/{m}%0d%0aX-Injected:%20{m}", {}),
        ("GET", f"/nope?q=%ff%00{m}", {}),
        ("POST", f"/healthz?{m}=1", {"data": m}),
        ("GET", f"/healthz?x={m}", {"data": m}),
        ("PUT", "/atlassian-connect.json",
         {"headers": {"X-Marker": m, "Authorization": f"JWT {m}",
                      "Content-Type": f"application/{m}"}}),
        ("POST", f"/healthz?jwt={m}", {"data": m.encode() * (MIB // 30)}),
    ]


def test_error_replies_never_echo_input(stack):
    m = marker("ECHOMARKER")
    for method, path, kw in _echo_cases(m):
        r = stack.request(method, path, **kw)
        where = f"{method} {path[:60]}"
        assert 400 <= r.status_code < 500, (where, r.status_code)
        assert m.lower() not in r.text.lower(), where
        for k, v in r.headers.items():
            assert m.lower() not in f"{k}: {v}".lower(), (where, k, v)
        assert "x-injected" not in {k.lower() for k in r.headers}, where
        json_of(r)


# Logs: no tokens, no query strings; one app log line per request.

def _wait_access_lines(stack, n):
    wait_until(lambda: len(read_text(stack.access_log).splitlines()) >= n,
               what=f"{n} access log lines")


def test_logs_hold_no_token_query_string_or_referer(stack):
    jwt_q, jwt_h, ref = (marker("SECRETMARKER"), marker("SECRETMARKERH"),
                         marker("SECRETMARKERR"))
    before = len(read_text(stack.access_log).splitlines())
    replies = [
        stack.get(f"/healthz?jwt={jwt_q}&x=1"),
        stack.get("/healthz", headers={
            "Authorization": f"JWT {jwt_h}",
            "Referer": f"https://example.atlassian.net/browse/X-1?jwt={ref}"}),
        stack.get(f"/nope?jwt={jwt_q}", headers={"Referer": ref}),
        stack.request("POST", f"/healthz?jwt={jwt_q}",
                      headers={"Authorization": f"JWT {jwt_h}"}),
    ]
    assert [r.status_code for r in replies] == [200, 200, 404, 405]
    _wait_access_lines(stack, before + len(replies))
    for r in replies:
        stack.wait_request_line(r.headers["X-Request-Id"])
    access = read_text(stack.access_log)
    new = access.splitlines()[before:]
    assert any("/healthz" in ln for ln in new), new
    assert not any("jwt=" in ln or "x=1" in ln for ln in new), new
    for log in (stack.access_log, stack.nginx_error_log, stack.app_log):
        text = read_text(log)
        for m in (jwt_q, jwt_h, ref):
            assert m not in text, f"{m[:14]}... in {log}"


def test_nginx_error_log_holds_no_query_string(stack):
    """Requests nginx itself refuses are logged in its error log with the
    request line; a token in the query string must not end up there."""
    m = marker("SECRETMARKERE")
    r = stack.request("POST", f"/healthz?jwt={m}", data=b"x" * (2 * MIB))
    assert r.status_code == 413
    r = stack.get(f"/healthz?jwt={m}")
    assert r.status_code == 200
    stack.wait_request_line(r.headers["X-Request-Id"])
    for log in (stack.nginx_error_log, stack.access_log, stack.app_log):
        assert m not in read_text(log), f"token from the query in {log}"


APP_LOG_CASES = [
    ("GET", "/healthz", {}, 200, "healthz"),
    ("GET", "/atlassian-connect.json", {}, 200, "descriptor"),
    ("GET", "/nope", {}, 404, "-"),
    ("GET", "/healthz", {"data": b"abc"}, 413, "healthz"),
    ("POST", "/healthz", {}, 405, None),
]


def test_app_log_has_one_line_per_request(stack):
    for method, path, kw, status, route in APP_LOG_CASES:
        r = stack.request(method, path, **kw)
        assert r.status_code == status
        rid = r.headers["X-Request-Id"]
        lines = stack.wait_request_line(rid)
        assert len(lines) == 1, lines
        assert lines[0]["status"] == str(status)
        if route is not None:
            assert lines[0]["route"] == route, (method, path, lines[0])
    rids = [x["rid"] for x in stack.request_lines()]
    assert len(rids) == len(set(rids)), "a request id logged twice"


def test_app_log_lines_are_well_formed(stack):
    stack.get("/healthz")
    bad = [ln for ln in stack.log_text().splitlines()
           if "cellar.fcgi[" in ln and
           not re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ cellar\.fcgi\[\d+\] "
                        r"(debug|info|warn|error) rid=\S+ \S", ln)]
    assert not bad, bad


# Supervision: killed, recycled and idle workers.

def test_killed_worker_is_replaced(stack):
    before = wait_until(lambda: (lambda p: p if len(p) == 2 else None)(
        stack.worker_pids()), what="2 workers under multiwatch")
    victim = min(before)
    os.kill(victim, signal.SIGKILL)
    after = wait_until(
        lambda: (lambda p: p if len(p) == 2 and victim not in p else None)(
            stack.worker_pids()),
        timeout=5, what="a replacement worker")
    new = after - before
    assert len(new) == 1, (before, after)
    # The survivor, stopped, cannot take the request (a stopped process
    # leaves accept()): only the replacement can serve it.  Sequential
    # requests alone may all go to the survivor.
    survivors = after - new
    for pid in survivors:
        os.kill(pid, signal.SIGSTOP)
    try:
        r = stack.get("/healthz", timeout=10)
    finally:
        for pid in survivors:
            os.kill(pid, signal.SIGCONT)
    assert r.status_code == 200
    served = int(stack.wait_request_line(r.headers["X-Request-Id"])[0]["pid"])
    assert {served} == new, f"replacement {new}, served by {served}"


def test_max_requests_recycles_workers(make_stack):
    st = make_stack({"50-recycle.conf": "[server]\nmax_requests = 5\n"},
                    workers=1, tag="maxreq")
    rids = []
    for i in range(30):
        r = st.get("/healthz", timeout=5)
        assert r.status_code == 200, f"request {i + 1}: {r.status_code}"
        rids.append(r.headers["X-Request-Id"])

    def recycled():
        e = [x for x in st.worker_exits() if x["reason"] == "max_requests"]
        return e if len(e) >= 6 else None
    exits = wait_until(recycled, what="6 worker_exit reason=max_requests")
    assert all(e["served"] == "5" for e in exits), exits
    starts = [m.group("rest") for m in
              map(WORKER_START.search, st.log_text().splitlines()) if m]
    assert starts and all("max_requests=5" in s for s in starts), starts
    per_pid = {}
    for rid in rids:
        pid = st.wait_request_line(rid)[0]["pid"]
        per_pid[pid] = per_pid.get(pid, 0) + 1
    assert len(per_pid) >= 6, per_pid
    assert max(per_pid.values()) <= 5, per_pid


def test_idle_worker_exits_and_is_replaced(make_stack):
    st = make_stack({"50-idle.conf": "[server]\nidle_exit = 1\n"},
                    workers=1, tag="idle")

    def idle_exits():
        e = [x for x in st.worker_exits() if x["reason"] == "idle"]
        return e if len(e) >= 3 else None
    exits = wait_until(idle_exits, timeout=10, what="3 idle worker exits")
    r = st.get("/healthz", timeout=5)
    assert r.status_code == 200
    pid = st.wait_request_line(r.headers["X-Request-Id"])[0]["pid"]
    assert pid not in {e["pid"] for e in exits}


# The worker as plain CGI, and the configuration check.

def run_cgi(etc, env, stdin=b""):
    """Runs cellar.fcgi as CGI (stdin a pipe, not a socket)."""
    full = {k: v for k, v in os.environ.items()
            if k in ("PATH", "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS")}
    full.update({"GATEWAY_INTERFACE": "CGI/1.1",
                 "SERVER_PROTOCOL": "HTTP/1.1"})
    full.update(env)
    return subprocess.run([str(FCGI), "--config", str(etc)], env=full,
                          input=stdin, capture_output=True, timeout=30)


def parse_cgi(out):
    head, sep, body = out.partition(b"\r\n\r\n")
    assert sep, out[:500]
    lines = head.decode().split("\r\n")
    headers = dict(ln.split(": ", 1) for ln in lines)
    return lines[0], headers, body


CGI_CASES = [
    ({"REQUEST_METHOD": "GET", "REQUEST_URI": "/healthz"}, b"", 200,
     "healthz"),
    ({"REQUEST_METHOD": "GET", "PATH_INFO": "/healthz"}, b"", 200,
     "healthz"),
    ({"REQUEST_METHOD": "GET", "REQUEST_URI": "/atlassian-connect.json"},
     b"", 200, "descriptor"),
    ({"REQUEST_METHOD": "GET", "REQUEST_URI": "/nope"}, b"", 404, "-"),
    ({"REQUEST_METHOD": "POST", "REQUEST_URI": "/healthz",
      "CONTENT_LENGTH": "2", "CONTENT_TYPE": "application/json"}, b"{}",
     405, "-"),
]


@pytest.mark.parametrize("env,stdin,status,route", CGI_CASES,
                         ids=["healthz", "path_info", "descriptor", "404",
                              "405"])
def test_cgi_mode(stack, config_dir, env, stdin, status, route):
    p = run_cgi(config_dir, env, stdin)
    err = p.stderr.decode(errors="replace")
    assert p.returncode == 0, err
    assert not sanitizer_report(err), err
    first, headers, body = parse_cgi(p.stdout)
    assert first.startswith(f"Status: {status} "), first
    assert headers["Content-Type"] == "application/json"
    assert int(headers["Content-Length"]) == len(body)
    assert headers["X-Content-Type-Options"] == "nosniff"
    doc = json.loads(body)
    if route == "healthz":
        assert doc["status"] == "ok"
        assert all(doc["checks"][c] == "ok" for c in HEALTH_CHECKS)
    elif route == "descriptor":
        assert doc["baseUrl"] == stack.base_url
    else:
        assert set(doc) == {"error", "message"}
    logged = [ln for ln in err.splitlines() if " route=" in ln]
    assert len(logged) == 1, err
    assert f"rid={headers['X-Request-Id']} " in logged[0]
    assert f" status={status} " in logged[0]


def cellarctl(etc, *args):
    p = subprocess.run([str(CELLARCTL), "--config", str(etc), *args],
                       capture_output=True, text=True, timeout=30)
    assert not sanitizer_report(p.stderr), p.stderr
    return p


def test_config_check_shows_where_each_value_comes_from(config_dir):
    write_drop_ins(config_dir.parent, {
        "10-a.conf": "[server]\nmax_requests = 7\n",
        "20-b.conf": "# later wins\n[server]\nmax_requests = 9\n"})
    p = cellarctl(config_dir, "config", "check")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert f"max_requests = 9\t# {config_dir}/conf.d/20-b.conf:3" in lines
    key_line = 1 + [ln.split("=")[0].strip() for ln in
                    (config_dir / "cellar.conf").read_text().splitlines()
                    ].index("key")
    assert f"key = cellar-dev\t# {config_dir}/cellar.conf:{key_line}" in lines
    assert any(ln.endswith("\t# (default)") for ln in lines), lines


BAD_DROP_INS = [
    ("[server]\n# a comment\nbogus_key = 1\n", 3, r'unknown key "bogus_key"'),
    ("[server]\nmax_requests = lots\n", 2, r"max_requests"),
    ("[server]\nidle_exit = -1\n", 2, r"idle_exit"),
    ("[nosuchsection]\n", 1, r"section"),
]


@pytest.mark.parametrize("text,line,what", BAD_DROP_INS,
                         ids=["unknown_key", "bad_int", "out_of_range",
                              "unknown_section"])
def test_bad_drop_in_stops_cellarctl_and_worker(config_dir, text, line, what):
    write_drop_ins(config_dir.parent, {"50-bad.conf": text})
    where = f"{config_dir}/conf.d/50-bad.conf:{line}: "

    p = cellarctl(config_dir, "config", "check")
    assert p.returncode == 1, p
    err = p.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("cellarctl: " + where), err
    message = err[0][len("cellarctl: "):]
    assert re.search(what, message), message

    q = run_cgi(config_dir, {"REQUEST_METHOD": "GET",
                             "REQUEST_URI": "/healthz"})
    qerr = q.stderr.decode(errors="replace")
    assert q.returncode == 78, qerr
    assert f"cellar.fcgi: {message}" in qerr.splitlines(), qerr
    assert not sanitizer_report(qerr), qerr


# The stack script itself.

def test_start_with_broken_drop_in_fails_and_leaves_nothing(make_stack):
    d = make_stack.new_dir("broken")
    write_drop_ins(d, {"50-bad.conf": "[server]\nbogus_key = 1\n"})
    port = free_port()
    rc, out = run_script("start", d, port, env={"CELLAR_STACK_WORKERS": "1"},
                         out_path=f"{d}.start.out")
    assert rc != 0 and rc != "timeout", (rc, out)
    assert "50-bad.conf:2" in out, f"start does not say what is wrong: {out}"
    assert not procs_of(d), procs_of(d)
    assert not port_open(port)


def test_stop_leaves_no_process_and_spares_other_stacks(stack, make_stack):
    st = make_stack(workers=2, tag="stop")
    procs = procs_of(st.dir)
    cmds = list(procs.values())
    progs = [os.path.basename(c.split()[0]) if c else "" for c in cmds]
    assert any(c.startswith("nginx: master") for c in cmds), cmds
    assert "multiwatch" in progs, cmds
    assert progs.count("cellar.fcgi") == 2, cmds
    born = starttimes(procs)
    workers = st.worker_pids()

    rc, out = make_stack.stop_raw(st)
    assert rc == 0, out
    left = {p: procs[p] for p, t in born.items() if alive(p, t)}
    assert not left, f"still running after stop: {left}"
    assert not procs_of(st.dir)
    assert not port_open(st.port)
    # Workers were asked to finish, not killed: they logged their exit
    # (and, under ASan, ran the leak check).
    exits = {int(e["pid"]): e["reason"] for e in st.worker_exits()}
    assert all(exits.get(w) == "signal" for w in workers), (workers, exits)
    # Only that stack stopped.
    assert stack.get("/healthz").status_code == 200
