"""Missing parts: not root, no overlayfs, no Docker, a tool missing from PATH. The lab
says what is missing and how to fix it, and runs every lesson (and step) that does
not need it. Each case is real: a real unprivileged user, a real overlayfs home
(where the kernel refuses an overlay upper), a Docker address that does not answer,
a PATH without the tool."""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import REPO, need_root, need_tool, shikumi

NOBODY = 65534


def _path_without(tmp: Path, *tools: str) -> str:
    """A PATH dir holding every program on this PATH except *tools*."""
    d = tmp / "bin"
    d.mkdir()
    for entry in [*os.environ.get("PATH", "").split(":"), "/usr/sbin", "/sbin"]:
        if not os.path.isdir(entry):
            continue
        for name in os.listdir(entry):
            src = os.path.join(entry, name)
            if name in tools or (d / name).exists() or not os.access(src, os.X_OK):
                continue
            (d / name).symlink_to(src)
    return str(d)


def _play(*lessons: str, home: Path, **env: str) -> dict:
    r = shikumi("play", *lessons, "--json", home=home, env=env, timeout=600)
    assert "Traceback" not in r.stderr, r.stderr
    assert r.returncode == 0, r.stdout + r.stderr
    return json.loads(r.stdout)


def test_tool_missing_from_path_skips_only_what_needs_it(tmp_path: Path) -> None:
    need_root()
    need_tool("tree")
    path = _path_without(tmp_path, "tree")
    out = _play("04", home=tmp_path / "home", PATH=path)
    (lesson,) = out["lessons"]
    assert (
        lesson["skipped"] == 1 and lesson["failed"] == 0 and lesson["passed"] == lesson["steps"] - 1
    )
    (skip,) = lesson["skips"]
    assert "tree" in skip["reason"] and "apt-get install tree" in skip["reason"]
    listed = shikumi("list", "--json", home=tmp_path / "home", env={"PATH": path})
    row = next(x for x in json.loads(listed.stdout) if x["id"].startswith("04"))
    assert "tool.tree" in row["missing"]
    doc = json.loads(shikumi("doctor", "--json", home=tmp_path / "home", env={"PATH": path}).stdout)
    tree = next(c for c in doc["checks"] if c["name"] == "tool.tree")
    assert not tree["ok"] and "tree" in tree["fix"]


def test_no_docker_daemon_skips_the_docker_lessons(tmp_path: Path) -> None:
    need_root()
    from lab.lesson.catalog import find
    from lab.lesson.loader import load_lesson

    lessons = []
    for folder in find([REPO / "lessons"]):
        lesson, _ = load_lesson(folder)
        if lesson and "docker" in [
            *lesson.requires,
            *(r for s in lesson.steps for r in s.requires),
        ]:
            lessons.append(lesson.id)
    if not lessons:
        pytest.skip("no bundled lesson requires docker yet")
    out = _play(*lessons, home=tmp_path / "home", DOCKER_HOST="unix:///nonexistent/docker.sock")
    for lesson in out["lessons"]:
        assert lesson["failed"] == 0
        assert lesson["skipped"] >= 1
        assert any("docker" in s["reason"] and "fix" in s["reason"] for s in lesson["skips"])


def test_home_on_overlayfs_skips_what_needs_overlayfs(tmp_path: Path) -> None:
    """A Docker container's / is overlayfs, and an overlay upper cannot live there:
    the real kernel refuses it, doctor says so, and overlay steps are skipped."""
    need_root()
    need_tool("unshare", "mount")
    base = tmp_path / "ovl"
    for d in ("lower", "upper", "work", "merged"):
        (base / d).mkdir(parents=True)
    home = base / "merged" / "home"
    script = (
        f"mount -t overlay overlay -o lowerdir={base}/lower,upperdir={base}/upper,workdir={base}/work {base}/merged"
        f" && SHIKUMI_HOME={home} {sys.executable} -m lab play 01 05 --json"
    )
    r = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=600,
    )
    assert "Traceback" not in r.stderr, r.stderr
    assert r.returncode == 0, r.stdout + r.stderr
    out = json.loads(r.stdout)
    first, libs = out["lessons"]
    assert first["failed"] == 0 and first["skipped"] == 0  # lesson 01 needs nothing of it
    assert libs["failed"] == 0 and libs["skipped"] >= 1
    assert any("overlayfs" in s["reason"] for s in libs["skips"])


def _nobody_python(tmp: Path) -> tuple[list[str], dict[str, str]]:
    """An interpreter and import path an unprivileged user can read: the system python3
    with a copy of the package and the venv's site-packages under *tmp*."""
    py = shutil.which("python3", path="/usr/bin:/bin")
    if py is None:
        pytest.skip("needs /usr/bin/python3 (assets/provision.sh installs it)")
    want = tuple(sys.version_info[:2])
    code = f"import sys; sys.exit(0 if tuple(sys.version_info[:2]) == {want} else 1)"
    if subprocess.run([py, "-c", code]).returncode != 0:
        pytest.skip("the system python3 is not the venv's version")
    root = tmp / "pkg"
    shutil.copytree(REPO / "lab", root / "lab", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "lessons", root / "lessons")
    shutil.copytree(REPO / "assets", root / "assets")
    for sp in site.getsitepackages():
        for name in (
            "rich",
            "psutil",
            "markdown_it",
            "mdurl",
            "pygments",
            "textual",
            "typing_extensions.py",
            "platformdirs",
            "linkify_it",
            "uc_micro",
        ):
            src = Path(sp) / name
            if src.exists() and not (root / name).exists():
                (shutil.copytree if src.is_dir() else shutil.copy)(src, root / name)
    for p in [tmp, *tmp.parents][:1]:
        os.chmod(p, 0o755)
    subprocess.run(["chmod", "-R", "a+rX", str(tmp)], check=True)
    return [py, "-m", "lab"], {"PYTHONPATH": str(root), "SHIKUMI_LESSONS": str(root / "lessons")}


def test_not_root_runs_what_needs_no_root(tmp_path: Path) -> None:
    need_root()  # to become someone else
    work = Path("/tmp") / f"shikumi-nobody-{os.getpid()}"
    work.mkdir(mode=0o755)
    try:
        argv, env = _nobody_python(work)
        home = work / "home"
        home.mkdir()
        os.chown(home, NOBODY, NOBODY)
        full = dict(os.environ, **env, SHIKUMI_HOME=str(home), HOME=str(home))

        def as_nobody(*args: str) -> subprocess.CompletedProcess:
            return subprocess.run(
                [*argv, *args],
                capture_output=True,
                text=True,
                env=full,
                cwd=str(work),
                user=NOBODY,
                group=NOBODY,
                extra_groups=[],
                timeout=600,
            )

        r = as_nobody("play", "01", "02", "06", "--json")
        assert "Traceback" not in r.stderr, r.stderr
        assert r.returncode == 0, r.stdout + r.stderr
        lessons = {x["id"]: x for x in json.loads(r.stdout)["lessons"]}
        assert lessons["01-where-am-i"]["failed"] == 0 and lessons["01-where-am-i"]["passed"] >= 1
        rootfs = lessons["06-rootfs-tar"]
        assert rootfs["passed"] == 0 and rootfs["skipped"] == rootfs["steps"]
        assert all("root" in s["reason"] and "sudo" in s["reason"] for s in rootfs["skips"])
        doc = as_nobody("doctor", "--json")
        checks = {c["name"]: c for c in json.loads(doc.stdout)["checks"]}
        assert not checks["root"]["ok"] and "sudo" in checks["root"]["fix"]
        assert doc.returncode == 1  # a required check failed
        cleanup = as_nobody("cleanup")
        assert cleanup.returncode == 0 and "Traceback" not in cleanup.stderr
    finally:
        shutil.rmtree(work, ignore_errors=True)


def test_no_world_writable_files_left_in_the_home(tmp_path: Path) -> None:
    need_root()
    home = tmp_path / "home"
    _play("06", "07", home=home)
    bad = [str(p) for p in home.rglob("*") if not p.is_symlink() and p.lstat().st_mode & 0o002]
    assert bad == []
    assert not (home / "containers").exists() or not any((home / "containers").iterdir())
