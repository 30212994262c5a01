"""
Fixtures for the integration tests.

- `stack`: one stack (nginx + spawn-fcgi + multiwatch, 2 workers) for the
  whole session, started through tests/stack in a scratch directory on a
  free port of 127.0.0.1.
- `make_stack`: a factory for extra, separately configured stacks
  (drop-ins, worker count); each is stopped when its test ends.
- `module_stacks`: the same factory for a test module's own stacks
  (e.g. the one its module-scoped `env` fixture starts); they are
  stopped when the module's last test ends.
- `fake`: a fake Atlassian (jira_fake.FakeJira) in this process, one
  per test module: install keys and Jira sites.
- `config_dir`: a configuration directory for running the binaries
  directly (CGI mode, cellarctl), copied from the shared stack's.

Every stack is stopped even when a test fails, and its app log must hold
no sanitizer report: the suite runs against the ASan/UBSan build, and a
worker's leaks are only reported when it exits.  A stack from a factory
may carry more checks (StackFactory.check, with the promises of
harness: internal_errors, unexpected_worker_exits, replaced_workers,
leaks): they run at its teardown whatever subset of tests ran, and a
problem fails the run (an error at the teardown of the last test that
used the stack).
"""
import os
import re
import shutil
from pathlib import Path

import pytest

# Plain asserts inside the helpers get pytest's detailed messages too.
pytest.register_assert_rewrite("harness")

from harness import (CELLARCTL, FCGI, STACK_SCRIPT,  # noqa: E402
                     procs_of, read_text, run_script, sanitizer_report,
                     scratch_workspace,
                     start_stack, stop_stack)
from jira_fake import FakeJira  # noqa: E402


def _require_binaries():
    missing = [str(p) for p in (FCGI, CELLARCTL) if not os.access(p, os.X_OK)]
    if missing:
        pytest.fail(f"not built: {', '.join(missing)} (run make first)",
                    pytrace=False)


def _require_stack_script():
    if not os.access(STACK_SCRIPT, os.X_OK):
        pytest.fail(f"{STACK_SCRIPT} is missing or not executable",
                    pytrace=False)


def _sanitizer_failures(dirs):
    """Sanitizer reports found in the app logs of the given stack dirs."""
    out = []
    for d in dirs:
        rep = sanitizer_report(read_text(Path(d) / "log" / "app.log"))
        if rep:
            out.append(f"sanitizer report in {d}/log/app.log:\n{rep}")
    return out


@pytest.fixture(scope="session")
def workspace(request):
    """A scratch directory for the session's stacks, searchable by
    nginx's unprivileged workers (mode 0755).  Removed when every test
    passed, kept (and named) otherwise."""
    yield from scratch_workspace(request, "cellar-it-",
                                 "integration: stack directories")


@pytest.fixture(scope="session")
def stack(workspace):
    """The shared stack: default configuration, two workers."""
    _require_binaries()
    _require_stack_script()
    d = workspace / "main"
    try:
        yield start_stack(d, workers=2)
    finally:
        problems = stop_stack(d) + _sanitizer_failures([d])
        if problems:
            for p in problems:
                print(p)
            pytest.fail("\n\n".join(problems), pytrace=False)


class StackFactory:
    """Starts extra stacks; remembers every directory it handed out so
    that teardown can stop whatever runs there, and the checks to run
    on each stack then."""

    def __init__(self, workspace, name):
        self.workspace = workspace
        self.name = name
        self.dirs = []
        self.running = set()
        self.stacks = {}        # dir -> its current harness.Stack
        self.workers = {}       # dir -> its number of workers
        self.checks = {}        # dir -> [(live, fn)]

    def new_dir(self, tag="extra"):
        """A fresh, not yet existing stack directory."""
        d = self.workspace / f"{self.name}-{tag}-{len(self.dirs)}"
        self.dirs.append(d)
        return d

    def __call__(self, drop_ins=None, workers=1, tag="extra", checks=()):
        """Starts a stack with these drop-ins ({file name: text}) and
        this many workers; returns its harness.Stack.  checks: functions
        of the Stack returning a list of problems, run once the stack
        stopped at teardown (see check)."""
        d = self.new_dir(tag)
        self.running.add(d)
        self.workers[d] = workers
        st = start_stack(d, drop_ins=drop_ins, workers=workers)
        self.stacks[d] = st
        for fn in checks:
            self.check(st, fn)
        return st

    def check(self, st, fn, live=False):
        """At teardown, fn(stack) must return no problem (a list of
        strings).  A live check runs while the stack still runs (worker
        pids...) and is skipped if a test stopped it; any other runs
        after the stop, when the logs are complete.  A check that
        raises is a problem too."""
        self.checks.setdefault(st.dir, []).append((live, fn))

    def stop(self, st):
        """Stops a stack now; returns the problems stop_stack found."""
        self.running.discard(st.dir)
        return stop_stack(st.dir)

    def restart(self, st):
        """tests/stack stop, then start in the same directory with the
        same workers; returns the new Stack (the checks stay)."""
        problems = self.stop(st)
        assert not problems, problems
        new = start_stack(st.dir, workers=self.workers.get(st.dir, 1))
        self.running.add(st.dir)
        self.stacks[st.dir] = new
        return new

    def stop_raw(self, st):
        """Runs tests/stack stop once and returns (returncode, output),
        leaving every check to the caller."""
        self.running.discard(st.dir)
        return run_script("stop", st.dir, out_path=f"{st.dir}.stop.out")

    def _run_checks(self, d, live):
        st = self.stacks.get(d)
        problems = []
        for is_live, fn in self.checks.get(d, []):
            if is_live != live or st is None:
                continue
            try:
                problems += fn(st)
            except Exception as e:      # noqa: BLE001
                problems.append(f"check {getattr(fn, '__name__', fn)} of "
                                f"{d} raised {e!r}")
        return problems

    def teardown(self):
        problems = []
        for d in reversed(self.dirs):
            if d in self.running:
                problems += self._run_checks(d, live=True)
                problems += stop_stack(d)
            elif procs_of(d):
                # A raw start by the test, or a stop that failed.
                problems += [p for p in stop_stack(d)
                             if "processes left" in p] or [
                    f"processes of {d} were still running at teardown"]
            problems += self._run_checks(d, live=False)
        self.running.clear()
        return problems + _sanitizer_failures(self.dirs)


def _finish(factory):
    """Tears a factory's stacks down; fails (the test, or as an error
    its teardown) with every problem found."""
    problems = factory.teardown()
    if problems:
        for p in problems:
            print(p)
        pytest.fail("\n\n".join(problems), pytrace=False)


@pytest.fixture
def make_stack(workspace, request):
    """Factory for extra stacks, e.g.
    make_stack({"50-test.conf": "[server]\\nmax_requests = 5\\n"}, workers=1).
    All of them are stopped when the test ends."""
    _require_binaries()
    _require_stack_script()
    f = StackFactory(workspace,
                     re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name)[:40])
    try:
        yield f
    finally:
        _finish(f)


@pytest.fixture(scope="module")
def module_stacks(workspace, request):
    """make_stack for a module: a StackFactory (named after the module,
    test_auth -> "auth") whose stacks are stopped, and checked, when the
    module's last test ends.  A module-scoped fixture starts its stack
    with it:

        st = module_stacks({"50-x.conf": text}, workers=2, tag="stack",
                           checks=[harness.internal_errors])
    """
    _require_binaries()
    _require_stack_script()
    name = request.module.__name__.rpartition(".")[2]
    f = StackFactory(workspace, name.removeprefix("test_"))
    try:
        yield f
    finally:
        _finish(f)


@pytest.fixture(scope="module")
def fake():
    """A fake Atlassian for the module: install keys, Jira sites."""
    with FakeJira() as f:
        yield f


@pytest.fixture
def config_dir(stack, tmp_path):
    """A configuration directory for running the binaries directly: a
    copy of the shared stack's cellar.conf (tests/stack keeps that one
    valid for the current code: keys, state directory...) and an empty
    conf.d.  Returns the directory (tmp_path/etc)."""
    etc = tmp_path / "etc"
    (etc / "conf.d").mkdir(parents=True)
    shutil.copyfile(stack.etc / "cellar.conf", etc / "cellar.conf")
    return etc
