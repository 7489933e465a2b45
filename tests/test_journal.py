"""The journal and `shikumi cleanup`, against the real kernel.

The central test: a child process creates a real directory, tmpfs mount,
network namespace, cgroup and long-running process (an orphan-to-be inside a
new PID namespace) through the journal API, is SIGKILLed, and `shikumi cleanup`
must leave nothing behind.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from lab.host import mounts
from lab.safety import journal, procs
from lab.safety.journal import Journal
from lab.safety.remove import safe_rmtree
from lab.safety.resources import make_dir, mount
from lab.safety.undo import validate
from tests.support import cgroup_root_for, need_root, need_tool, shikumi


def _netns() -> set[str]:
    return set(os.listdir("/run/netns")) if os.path.isdir("/run/netns") else set()


def _mount_targets() -> set[str]:
    return {m.target for m in mounts.mounts()}


def _pids() -> set[int]:
    return {int(p) for p in os.listdir("/proc") if p.isdigit()}


CHILD = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from lab.safety.journal import Journal
    from lab.safety import resources
    tag, cg_root = sys.argv[1], sys.argv[2]
    j = Journal.open()
    work, _ = resources.make_dir(j, j.home / "work" / tag)
    (work / "mnt").mkdir()
    resources.mount(j, "tmpfs", str(work / "mnt"), "tmpfs", 0, "size=1m")
    (work / "mnt" / "file").write_text("inside the tmpfs")
    resources.netns_add(j, "shk-t" + tag)
    cg = Path(cg_root) / ("shikumi-test-" + tag)
    resources.cgroup_create(j, cg)
    # a container-like process: the real sleeper is PID 1 of a new PID namespace,
    # behind `unshare --fork`; killing us orphans it
    p, _ = resources.spawn(j, ["unshare", "--pid", "--fork", "--mount-proc", "sleep", "1000"], "sleeper")
    (cg / "cgroup.procs").write_text(str(p.pid))
    from lab.safety import procs
    inner = procs.innermost(p.pid)
    while procs.comm(inner) != "sleep":  # until PID 1 inside has exec'd sleep
        time.sleep(0.002)
        inner = procs.innermost(p.pid)
    print(json.dumps({"home": str(j.home), "work": str(work), "cg": str(cg), "pid": p.pid, "inner": inner}), flush=True)
    time.sleep(1000)
    """
).replace("import os, sys, time", "import json, os, sys, time")


@pytest.fixture()
def home(tmp_path: Path) -> Path:
    h = tmp_path / "home"
    yield h
    # belt and braces: never leave this test's resources on the machine
    if h.exists():
        journal.recover(h, force=True)


def test_kill_then_cleanup_leaves_nothing(home: Path) -> None:
    need_root()
    need_tool("unshare", "ip")
    cg_root = cgroup_root_for("pids")
    if cg_root is None:
        pytest.skip("needs a cgroup hierarchy (v1 pids or v2)")
    tag = str(os.getpid())
    before_mounts, before_netns = _mount_targets(), _netns()

    env = dict(os.environ, SHIKUMI_HOME=str(home))
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, tag, str(cg_root)], stdout=subprocess.PIPE, text=True, env=env
    )
    line = child.stdout.readline()  # type: ignore[union-attr]
    assert line, "the child died before creating its resources"
    info = json.loads(line)
    work, cg = Path(info["work"]), Path(info["cg"])

    # everything really exists before the kill
    assert str(work / "mnt") in _mount_targets()
    assert f"shk-t{tag}" in _netns()
    assert cg.is_dir() and (cg / "cgroup.procs").read_text().split()
    sleepers = [info["inner"]]
    assert procs.alive(sleepers[0]), "the sleeper in its PID namespace is running"
    nspid = [
        ln
        for ln in Path(f"/proc/{sleepers[0]}/status").read_text().splitlines()
        if ln.startswith("NSpid")
    ]
    assert nspid and nspid[0].split()[-1] == "1", f"the sleeper is PID 1 in its namespace: {nspid}"

    child.send_signal(signal.SIGKILL)
    child.wait(10)
    time.sleep(0.1)
    assert procs.alive(sleepers[0]), (
        "killing the lab orphans its container process (as after a real crash)"
    )

    r = shikumi("cleanup", "--json", home=home)
    assert r.returncode == 0, r.stdout + r.stderr
    report = json.loads(r.stdout)
    kinds = sorted(u["kind"] for u in report["undone"])
    assert kinds == ["cgroup", "dir", "mount", "netns", "process"], report
    assert all(u["ok"] for u in report["undone"]), report

    # /run/netns itself is iproute2's own bind mount, made once by the first
    # `ip netns add` on a machine and shared by every tool that uses it
    assert not (_mount_targets() - before_mounts - {"/run/netns"}), "a mount is left"
    assert _netns() == before_netns, "a network namespace is left"
    assert not cg.exists(), "the cgroup is left"
    assert not work.exists(), "the work directory is left"
    time.sleep(0.05)
    # the container's processes (checked by pid: other tests may run sleeps meanwhile)
    left = [p for p in [info["pid"], *sleepers] if procs.alive(p)]
    assert not left, f"processes left: {left}"
    assert not list((home / "journal").glob("*.jsonl")), "the dead session's journal is gone"

    # cleanup is idempotent
    r2 = shikumi("cleanup", "--json", home=home)
    assert r2.returncode == 0 and json.loads(r2.stdout)["undone"] == []


def test_next_start_recovers_a_dead_session(home: Path) -> None:
    need_root()
    code = textwrap.dedent(
        """
        import os
        from lab.safety.journal import Journal
        from lab.safety import resources
        j = Journal.open()
        d, _ = resources.make_dir(j, j.home / "work" / "crash")
        (d / "m").mkdir()
        resources.mount(j, "tmpfs", str(d / "m"), "tmpfs", 0, "size=1m")
        os._exit(9)   # a crash: no close(), no cleanup
        """
    )
    r = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, SHIKUMI_HOME=str(home)))
    assert r.returncode == 9
    target = str(home.resolve() / "work" / "crash" / "m")
    assert target in _mount_targets()
    with Journal.open(home) as j:  # the next start
        assert j.recovered is not None and sorted(x.entry.kind for x in j.recovered.results) == [
            "dir",
            "mount",
        ]
    assert target not in _mount_targets()
    assert not (home / "work" / "crash").exists()


def test_busy_mount_is_detached_lazily(home: Path) -> None:
    need_root()
    with Journal.open(home) as j:
        d, _ = make_dir(j, j.home / "busy")
        mount(j, "tmpfs", str(d), "tmpfs", 0, "size=1m")
        holder = subprocess.Popen(["sleep", "30"], cwd=d)  # keeps the mount busy
        try:
            report = j.rollback()
        finally:
            holder.kill()
            holder.wait()
    assert report.ok, report
    assert str(d) not in _mount_targets()


def test_cleanup_refuses_entries_outside_the_home(home: Path, tmp_path: Path) -> None:
    victim = tmp_path / "precious"
    victim.mkdir()
    (victim / "data").write_text("keep me")
    with Journal.open(home) as j:
        # the API refuses to create it …
        with pytest.raises(Exception, match="outside the lab home"):
            j.record("dir", str(victim))
        with pytest.raises(Exception, match="outside the lab home"):
            j.record("dir", str(j.home / ".." / "precious"))
    # … and a forged journal that names it is refused by cleanup
    jdir = home / "journal"
    forged = [
        {"op": "session", "pid": 999999, "start": 1},
        {"op": "create", "seq": 1, "kind": "dir", "target": str(victim)},
        {
            "op": "create",
            "seq": 2,
            "kind": "dir",
            "target": str(home / "work" / ".." / ".." / "precious"),
        },
        {"op": "create", "seq": 3, "kind": "link", "target": "eth0"},
        {"op": "create", "seq": 4, "kind": "netns", "target": "default"},
        {
            "op": "create",
            "seq": 5,
            "kind": "cgroup",
            "target": "/sys/fs/cgroup/memory/system.slice",
        },
        {
            "op": "create",
            "seq": 6,
            "kind": "iptables",
            "target": "filter/INPUT",
            "meta": {"table": "filter", "chain": "INPUT", "rule": ["-j", "DROP"]},
        },
        {"op": "create", "seq": 7, "kind": "mount", "target": "/"},
        {"op": "create", "seq": 8, "kind": "process", "target": "init", "meta": {"pid": 1}},
    ]
    (jdir / "999999-1-000000.jsonl").write_text(
        "\n".join(json.dumps(x) for x in forged) + "\n{torn"
    )
    r = shikumi("cleanup", "--json", home=home)
    assert r.returncode == 0, r.stderr
    undone = json.loads(r.stdout)["undone"]
    assert len(undone) == 8 and all(u["refused"] for u in undone), undone
    assert (victim / "data").read_text() == "keep me"
    assert "refused" in (jdir / "refused.log").read_text()
    # refused entries are logged once and dropped: the next cleanup is clean
    assert json.loads(shikumi("cleanup", "--json", home=home).stdout)["undone"] == []


def test_symlink_inside_home_is_removed_not_followed(home: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep").write_text("x")
    with Journal.open(home) as j:
        d, _ = make_dir(j, j.home / "w")
        (d / "link").symlink_to(outside)
        (d / "sub").mkdir()
        (d / "sub" / "f").write_text("y")
    assert not (home / "w").exists()
    assert (outside / "keep").read_text() == "x"
    with pytest.raises(RuntimeError):
        safe_rmtree(str(outside), home)


def test_live_session_is_left_alone_unless_forced(home: Path) -> None:
    code = textwrap.dedent(
        """
        import time
        from lab.safety.journal import Journal
        from lab.safety import resources
        j = Journal.open()
        resources.make_dir(j, j.home / "live")
        print("ready", flush=True)
        time.sleep(60)
        """
    )
    p = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ, SHIKUMI_HOME=str(home)),
    )
    try:
        assert p.stdout.readline().strip() == "ready"  # type: ignore[union-attr]
        r = json.loads(shikumi("cleanup", "--json", home=home).stdout)
        assert r["undone"] == [] and [x["pid"] for x in r["live"]] == [p.pid]
        assert (home / "live").is_dir()
        text = shikumi("cleanup", home=home).stdout
        assert "still running" in text and "--force" in text
        r = json.loads(shikumi("cleanup", "--json", "--force", home=home).stdout)
        assert [u["kind"] for u in r["undone"]] == ["dir"] and r["undone"][0]["ok"]
        assert not (home / "live").exists()
        assert p.wait(5) == -signal.SIGKILL
    finally:
        p.kill()


def test_torn_last_line_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_text(
        '{"op":"session","pid":1}\n{"op":"create","seq":1,"kind":"dir","target":"/x/a"}\n'
        '{"op":"create","seq":2,"kind":"dir","target":"/x/b"}\n{"op":"release","seq":1}\n{"op":"crea'
    )
    header, entries = journal.read_journal(path)
    assert header["pid"] == 1
    assert [e.target for e in entries] == ["/x/b"]


def test_validate_names() -> None:
    from lab.safety.journal import Entry

    h = Path("/var/lib/shikumi")
    assert validate(Entry(1, "link", "shk-veth0"), h) == ""
    assert "15" in validate(Entry(1, "link", "shk-much-too-long-name"), h)
    assert validate(Entry(1, "cgroup", "/sys/fs/cgroup/memory/shikumi/x"), h) == ""
    assert validate(Entry(1, "cgroup", "/sys/fs/cgroup/memory/shikumi/../../x"), h) != ""
    rule = ["-s", "10.0.0.0/24", "-j", "MASQUERADE", "-m", "comment", "--comment", "shikumi:s"]
    assert (
        validate(Entry(1, "iptables", "nat/POSTROUTING", {"table": "nat", "rule": rule}), h) == ""
    )
