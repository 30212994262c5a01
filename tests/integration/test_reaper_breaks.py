"""
What a breaker found in cellar-reaper and cellarctl restore, each as a
test that failed before its fix (README, "The reaper"):

- a purge whose offsite command failed kept the tenant in the offsite
  copy forever: the rewritten runs are now sent again until the command
  succeeds, and the tenant's row (the evidence of an unfinished purge)
  stays until then;
- one damaged tenant file made every backup run fail for every tenant:
  it is held and skipped, the run completes for the others;
- with more than 64 kept runs, a rotation destroyed a master key the
  newest run needed;
- a restore beside a reaper run could swap into a file a rotation had
  just retired: restore takes the reaper's lock;
- a run once made with the clock ahead stopped every later backup
  ("not due" until then);
- a run directory that is a link is no run, and purge never goes into
  its target;
- an offsite command that deletes the run it was given does not count as
  a copy.
"""
import fcntl
import json
import os
import re
import shutil

from test_reaper import (assert_purged, audit, ctl, next_second, offsite_script,
                         ok, out_of, own_env, reaper, run_of, snapshot, verify)


def drop_in(env, name, text):
    (env.etc / "conf.d" / name).write_text(text)


def test_a_purge_whose_offsite_copy_failed_is_finished_once_it_works(
        make_stack, fake, tmp_path):
    mirror = tmp_path / "offsite"
    mirror.mkdir()
    env = own_env(make_stack, fake, "[backup]\noffsite_command = " +
                  offsite_script(tmp_path / "mirror.sh", mirror) + "\n",
                  tag="offsite-purge")
    a = env.tenant(templates=2)
    env.tenant(templates=1)
    run = run_of(ok(reaper(env.etc, "--now", "backup")))
    assert (mirror / run / "tenants" / f"{a.id}.db").is_file()
    env.lifecycle(a, "uninstalled")

    drop_in(env, "90-broken-offsite.conf",
            "[backup]\noffsite_command = exit 1\n")
    p = reaper(env.etc, "purge", at="+22d")
    assert p.returncode == 1, out_of(p)
    assert "offsite_pending" in p.stderr, out_of(p)
    # Locally gone; the offsite copy still has it, and the audit says the
    # deletion is not done.
    assert not (env.runs / run / "tenants" / f"{a.id}.db").exists()
    assert (mirror / run / "tenants" / f"{a.id}.db").is_file()
    rc, v = audit(env.etc, at="+31d")
    assert not v["departed_deleted"][0], v

    (env.etc / "conf.d" / "90-broken-offsite.conf").unlink()
    out = ok(reaper(env.etc, "purge", at="+22d"))
    assert re.search(r"1 of 1 due tenants deleted", out), out
    assert_purged(env, a, a.id, extra_roots=[mirror])
    rc, v = audit(env.etc, at="+31d")
    assert v["departed_deleted"][0], v


def test_a_damaged_tenant_is_held_and_the_run_completes_for_the_others(
        make_stack, fake):
    env = own_env(make_stack, fake, tag="damaged-backup")
    bad = env.tenant(templates=40)
    good = env.tenant(templates=3)
    keep = snapshot(good)
    # Every page in the file itself (the workers' last close checkpoints
    # the -wal into it), then damaged where only the file holds it.
    env.st = make_stack.restart(env.st)
    path = env.tenants_dir / f"{bad.id}.db"
    with open(path, "r+b") as f:        # a data page, not page 1
        f.seek(4196)
        f.write(os.urandom(64))
    p = reaper(env.etc, "--now", "backup")
    assert p.returncode == 1, out_of(p)
    assert f"tenant={bad.id}" in p.stderr, out_of(p)
    run = run_of(p.stdout, status="FAILED")
    assert run in env.complete_runs(), env.run_entries()
    m = env.manifest(run)
    assert [x["id"] for x in m["tenants"]] == [good.id], m["tenants"]
    assert f"{run}: ok" in verify(env, run)
    line = [ln for ln in ok(ctl(env.etc, "tenants")).splitlines()
            if bad.id in ln][0]
    assert "quarantined" in line, line
    assert snapshot(good) == keep


def test_with_many_runs_kept_a_rotation_keeps_the_master_key_the_newest_needs(  # noqa: E501
        make_stack, fake):
    env = own_env(make_stack, fake, tag="many-runs")
    env.tenant(templates=1)
    r0 = run_of(ok(reaper(env.etc, "--now", "backup")))
    # 64 more runs under master 1 (copies of r0 under older names).
    for i in range(64):
        name = f"2026{(i // 28) + 1:02d}{(i % 28) + 1:02d}T000000Z"
        shutil.copytree(env.runs / r0, env.runs / name)
        mf = env.runs / name / "manifest.json"
        m = json.loads(mf.read_text())
        m["run"] = name
        mf.write_text(json.dumps(m))
    ok(reaper(env.etc, "--now", "rotate"))          # master 2
    next_second()
    r1 = run_of(ok(reaper(env.etc, "--now", "backup")))
    ok(reaper(env.etc, "--now", "rotate"))          # master 3
    assert (env.st.dir / "keys" / "master-0002.key").is_file(), \
        "the master key of the newest run was destroyed"
    assert f"{r1}: ok" in verify(env, r1)


def test_a_restore_waits_for_no_reaper_run(make_stack, fake):
    env = own_env(make_stack, fake, tag="restore-lock")
    t = env.tenant(templates=2)
    ok(reaper(env.etc, "--now", "backup"))
    with open(env.state / "reaper.lock", "a") as lk:
        fcntl.flock(lk, fcntl.LOCK_EX | fcntl.LOCK_NB)
        p = ctl(env.etc, "restore", t.id)
        assert p.returncode == 1, out_of(p)
        assert "reaper.lock" in p.stderr, out_of(p)
    ok(ctl(env.etc, "restore", t.id))


def test_a_run_made_with_the_clock_ahead_stops_no_later_backup(
        make_stack, fake):
    env = own_env(make_stack, fake, tag="clock-ahead")
    env.tenant(templates=1)
    ok(reaper(env.etc, "--now", "run", at="+400d"))
    out = ok(reaper(env.etc, "run"))
    assert re.search(r"^backup: ok", out, re.M), out
    # And the audit does not take the run from the future for evidence.
    rc, v = audit(env.etc)
    assert v["backup_daily"][0], v


def test_a_run_directory_that_is_a_link_is_no_run_and_purge_stays_out(
        make_stack, fake, tmp_path):
    env = own_env(make_stack, fake, tag="run-link")
    a = env.tenant(templates=1)
    ok(reaper(env.etc, "--now", "backup"))
    decoy = tmp_path / "elsewhere"
    (decoy / "tenants").mkdir(parents=True)
    (decoy / "tenants" / f"{a.id}.db").write_bytes(b"not yours")
    (decoy / "manifest.json").write_text("{}")
    link = env.runs / "20991231T000000Z"
    link.symlink_to(decoy)
    assert "20991231T000000Z" not in env.backup_list()
    env.lifecycle(a, "uninstalled")
    ok(reaper(env.etc, "purge", at="+22d"))
    assert (decoy / "tenants" / f"{a.id}.db").read_bytes() == b"not yours"
    link.unlink()


def test_an_offsite_command_that_deletes_the_run_is_no_copy(
        make_stack, fake):
    env = own_env(make_stack, fake, '[backup]\noffsite_command = '
                  'rm -rf "$1"\n', tag="offsite-rm")
    env.tenant(templates=1)
    p = reaper(env.etc, "--now", "backup")
    assert p.returncode == 1, out_of(p)
    assert "offsite_removed_run" in p.stderr, out_of(p)
    rc, v = audit(env.etc)
    assert not v["backup_offsite"][0], v
