"""
Black-box tests of key rotation (cellar-reaper rotate; README, "The
reaper"): what a security reviewer relies on when a page says "keys
rotated every 90 days".

- Under load (reads and writes from two tenants), three forced
  rotations (each: a new master key, keys and secrets re-wrapped, the
  registry rekeyed, every tenant file re-encrypted under a new data key)
  leave no non-2xx answer and every template as it was.
- After a rotation each tenant file exists only under its newest key:
  the old files go ten minutes later, the old data keys and master keys
  once no kept backup needs them (and stay while one does).
- kill -9 at every durable step of a rotation: the next run finishes it;
  every tenant stays readable, no pending key is left, the audit is
  green for keys at rest.
- The audit's key_rotation goes red at 91 days and green after the
  reaper's run that day.

Shares its helpers with test_reaper.py (the reaper and cellarctl run
directly, time moved with libfaketime).
"""
import re
import threading
import time

import pytest

from test_reaper import (audit, ctl, fill, killed_at, ok, out_of, own_env,
                         past_503, reaper, run_of, snapshot, tmpfs, verify)

ROTATE_STEPS = ["rotate.master_added", "rotate.rewrapped",
                "rotate.registry_rekeyed", "rotate.pending_recorded",
                "rotate.file_written", "rotate.verified", "rotate.promoted"]


def status(env, at=None):
    """cellarctl rotate --status: {kind: (version, age_days, detail)}."""
    out = ok(ctl(env.etc, "rotate", "--status", at=at))
    rows = {}
    for ln in out.splitlines():
        if ln.startswith("#") or not ln.strip():
            continue
        f = ln.split("\t")
        rows[f[0]] = (f[1], f[2], f[3])
    assert set(rows) == {"master", "registry", "data_keys", "secrets"}, out
    return rows


def tenant_files(env, t):
    return sorted(p.name for p in env.tenants_dir.iterdir()
                  if p.name.startswith(t.id + ".") and
                  p.name.endswith(".db"))


def key_files(env):
    return sorted(p.name for p in (env.st.dir / "keys").iterdir())


def retired(env, at=None):
    detail = status(env, at)["data_keys"][2]
    m = re.search(r"(\d+) pending, (\d+) retired", detail)
    assert m, detail
    return int(m.group(1)), int(m.group(2))


def test_rotations_under_load_answer_every_request_and_lose_nothing(
        make_stack, fake):
    env = own_env(make_stack, fake, tag="load", workers=2)
    ts = [env.tenant(templates=5), env.tenant(templates=5)]
    before = [snapshot(t) for t in ts]
    tpl = [t.list_all(t.acct, manage="true")[0]["id"] for t in ts]
    run0 = run_of(ok(reaper(env.etc, "--now", "backup")))
    bad, count, stop = [], [0], threading.Event()

    def hammer(i):
        t = ts[i]
        k = 0
        while not stop.is_set():
            k += 1
            if k % 3 == 0:          # a write: one use counted
                r = t.use(t.acct, tpl[i])
            elif k % 3 == 1:
                r = t.req("GET", "/api/templates", t.acct)
            else:
                r = t.req("GET", "/api/tenant", t.acct)
            count[0] += 1
            if not 200 <= r.status_code < 300:
                bad.append((r.request.method, r.request.path_url,
                            r.status_code, r.text[:200]))

    threads = [threading.Thread(target=hammer, args=(i % 2,))
               for i in range(4)]
    for th in threads:
        th.start()
    try:
        time.sleep(0.3)
        for _ in range(3):
            out = ok(reaper(env.etc, "--now", "rotate"))
            assert re.search(r"^rotate: ok, .* 2 tenant files "
                             r"re-encrypted", out, re.M), out
            time.sleep(0.2)
    finally:
        stop.set()
        for th in threads:
            th.join()
    assert not bad, f"{len(bad)} of {count[0]} requests failed: {bad[:5]}"
    assert count[0] > 30, f"only {count[0]} requests: too little load"
    # Nothing lost: every template as it was, except the uses counted.
    for t, b in zip(ts, before):
        assert [x[:3] for x in snapshot(t)] == [x[:3] for x in b]
        info = env.info(t)
        assert info["keys"]["dataKeyVersion"] == 4, info
        assert info["keys"]["lastRotatedAt"], info

    st = status(env)
    assert st["master"][0] == "4", st
    assert st["registry"][0] == "4", st
    assert st["data_keys"][0] == "4-4", st
    assert st["secrets"][2].startswith("0 of 2"), st
    # Old files stay ten minutes (a worker may still read one) ...
    for t in ts:
        assert tenant_files(env, t) == sorted(
            [f"{t.id}.db"] + [f"{t.id}.v{v}.db" for v in (2, 3, 4)]), \
            tenant_files(env, t)
    # ... then go; data keys 2 and 3 with them, key 1 stays for run0.
    out = ok(reaper(env.etc, "rotate", at="+11m"))
    assert re.search(r"4 data keys and \d+ master keys destroyed", out), out
    for t in ts:
        assert tenant_files(env, t) == [f"{t.id}.v4.db"]
    assert retired(env) == (0, 2)
    # Master keys: 4, and 1 (run0's registry copy is under it).
    assert key_files(env) == ["master-0001.key", "master-0004.key"], \
        key_files(env)
    assert f"{run0}: ok" in verify(env, run0)
    # Once run0 is pruned nothing needs key 1 or master 1 any more:
    # the prune that deleted it destroys them.
    run1 = run_of(ok(reaper(env.etc, "--now", "backup", at="+31d")))
    out = ok(reaper(env.etc, "prune", at="+31d"))
    assert re.search(r"deleted 1 runs past keep_days, .* 2 data keys and 1 "
                     r"master keys no run needs", out), out
    out = ok(reaper(env.etc, "rotate", at="+31d"))
    assert re.search(r"0 data keys and 0 master keys destroyed", out), out
    assert retired(env, at="+31d") == (0, 0)
    assert key_files(env) == ["master-0004.key"], key_files(env)
    assert f"{run1}: ok" in verify(env, run1)
    for t, b in zip(ts, before):
        assert [x[:3] for x in snapshot(t)] == [x[:3] for x in b]


@pytest.mark.parametrize("step", ROTATE_STEPS)
def test_rotation_killed_at_any_step_is_finished_by_the_next_run(
        make_stack, fake, step):
    env = own_env(make_stack, fake, tag=f"kr{ROTATE_STEPS.index(step)}")
    ts = [env.tenant(templates=3), env.tenant(templates=3)]
    before = [snapshot(t) for t in ts]

    killed_at(reaper(env.etc, "--now", "rotate", kill_at=step), step)
    # The next run, not forced: it finishes what was begun.
    out = ok(reaper(env.etc, "rotate"))
    assert out.startswith("rotate: ok"), out
    st = status(env)
    assert st["registry"][0] == st["master"][0], st
    assert st["secrets"][2].startswith("0 of 2"), st
    assert retired(env)[0] == 0, "a pending key was left"
    for t, b in zip(ts, before):
        assert snapshot(t) == b
        # And it writes, on whichever file is current.
        t.create(t.acct, f"after {step}", "body")
    rc, v = audit(env.etc)
    assert v["at_rest"][0] and v["key_rotation"][0], v
    # A forced run after it rotates everything once more, cleanly.
    out = ok(reaper(env.etc, "--now", "rotate"))
    assert re.search(r"2 tenant files re-encrypted", out), out
    for t, b in zip(ts, before):
        assert len(snapshot(t)) == len(b) + 1


def test_audit_key_rotation_is_red_at_91_days_and_green_after_the_run(
        make_stack, fake):
    env = own_env(make_stack, fake, tag="91d")
    t = env.tenant(templates=2)
    rc, v = audit(env.etc, at="+91d")
    assert not v["key_rotation"][0], v
    out = ok(reaper(env.etc, "run", at="+91d"))
    assert re.search(r"^rotate: ok, .* 1 tenant files re-encrypted", out,
                     re.M), out
    rc, v = audit(env.etc, at="+91d")
    assert v["key_rotation"][0], v
    # Not due again the next day: nothing re-encrypted.
    out = ok(reaper(env.etc, "run", at="+92d"))
    assert re.search(r"^rotate: ok, .* 0 tenant files re-encrypted", out,
                     re.M), out
    assert env.info(t)["keys"]["dataKeyVersion"] == 2


def test_a_full_disk_during_rotation_keeps_the_old_files_and_the_next_run_completes(  # noqa: E501
        make_stack, fake):
    env = own_env(make_stack, fake, tag="rfull")
    with tmpfs(env.tenants_dir, "3m"):
        try:
            ts = [env.tenant(templates=20), env.tenant(templates=20)]
            before = [snapshot(t) for t in ts]
            filler = env.tenants_dir / "filler"
            fill(filler)
            p = reaper(env.etc, "--now", "rotate")
            assert p.returncode == 1, out_of(p)
            assert "storage_full" in p.stderr, out_of(p)
            assert re.search(r"^rotate: FAILED", p.stdout, re.M), out_of(p)
            # The old files serve, whole; no half-made new one is left.
            for t, b in zip(ts, before):
                assert snapshot(t) == b
                assert tenant_files(env, t) == [f"{t.id}.db"]
            assert status(env)["data_keys"][0] == "1-1"

            filler.unlink()
            # Not forced: the pending keys are finished.
            out = ok(reaper(env.etc, "rotate"))
            assert re.search(r"2 tenant files re-encrypted", out), out
            assert retired(env)[0] == 0
            assert status(env)["data_keys"][0] == "2-2"
            for t, b in zip(ts, before):
                assert snapshot(t) == b
                t.create(t.acct, "after the full disk", "body")
        finally:
            # The workers hold files on the tmpfs: stopped before umount.
            make_stack.stop(env.st)


def test_a_run_made_before_a_rotation_restores_under_the_new_key(
        make_stack, fake):
    env = own_env(make_stack, fake, tag="rrestore", workers=2)
    t = env.tenant(templates=3)
    before = snapshot(t)
    run0 = run_of(ok(reaper(env.etc, "--now", "backup")))
    ok(reaper(env.etc, "--now", "rotate"))
    t.create(t.acct, "made after the backup", "body")
    assert len(snapshot(t)) == len(before) + 1
    out = ok(ctl(env.etc, "restore", t.id, "--from", run0))
    assert f"restored from run {run0}" in out, out
    # Under key 2, in the file of key 2, holding what run0 held (a
    # worker that held the old file answers once 503: README).
    assert past_503(lambda: env.info(t))["keys"]["dataKeyVersion"] == 2
    assert tenant_files(env, t)[-1] == f"{t.id}.v2.db"
    assert past_503(lambda: snapshot(t)) == before
