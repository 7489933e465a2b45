"""Lessons 10–13 (images, overlay, build, commit / save / export, the real Docker),
for real as root with a Docker daemon: they pass with nothing skipped, and leave
nothing behind — no mount under the home, no container directory, no shikumi-…
Docker image or container of theirs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lab.host import mounts
from lab.ops import docker
from tests.support import need_root, need_tool, shikumi

LESSONS = ["10-images-overlay", "11-build-by-hand", "12-commit-save-export", "13-real-docker"]
# the Docker objects lessons 11-13 make (other lessons' objects may exist meanwhile)
DOCKER_OBJECTS = {
    "shikumi-hello",
    "shikumi-box",
    "shikumi-lab",
    "shikumi-labrun",
    "shikumi-committed",
    "shikumi-l13-old",
    "shikumi-l13-oldimg",
    "shikumi-l12-hello",
    "shikumi-l12-box",
    "shikumi-l12",
    "shikumi-l11-base",
    "shikumi-l11-mine",
}


def _ours(names: list[str]) -> list[str]:
    return [n for n in names if n.split(":", 1)[0] in DOCKER_OBJECTS]


def test_lessons_10_to_13_lint_clean() -> None:
    r = shikumi("check", *[f"lessons/{x}" for x in LESSONS])
    assert r.returncode == 0, r.stdout + r.stderr
    assert "warning" not in r.stdout + r.stderr
    assert "error" not in (r.stdout + r.stderr).replace("0 error(s)", "")


def test_lessons_10_to_13_pass_and_leave_nothing(tmp_path: Path) -> None:
    need_root()
    need_tool("unshare", "nsenter", "chroot", "ldd", "tar", "docker")
    why = docker.available()
    if why:
        pytest.skip(why)
    home = tmp_path / "home"
    r = shikumi("play", "10", "11", "12", "13", "--json", home=home, timeout=600)
    data = json.loads(r.stdout)
    assert [x["id"] for x in data["lessons"]] == LESSONS
    for lesson in data["lessons"]:
        assert lesson["failed"] == 0, lesson
        assert lesson["skipped"] == 0, lesson
        assert lesson["passed"] == lesson["steps"], lesson
    # other suites may run beside this one: only what these lessons made counts
    ours = [x for x in data["leaked"] if not any(k in x for k in ("netns", "link", "cgroup"))]
    assert ours == [], data["leaked"]
    assert [m.target for m in mounts.under(str(home)) if m.target != str(home)] == []
    assert not (home / "containers").exists()
    assert not (home / "images").exists()
    assert not (home / "layers").exists()
    assert _ours(docker.names("image")) == []
    assert _ours(docker.names("container")) == []


def test_lesson_13_is_skipped_with_the_reason_without_docker(tmp_path: Path) -> None:
    env = {"DOCKER_HOST": "unix:///nonexistent/shikumi-docker.sock"}
    r = shikumi("list", "--json", home=tmp_path / "home", env=env)
    assert r.returncode == 0, r.stderr
    row = next(x for x in json.loads(r.stdout) if x["id"] == "13-real-docker")
    assert row["available"] is False
    assert any("docker" in m for m in row["missing"]), row


def test_lessons_10_to_13_read_in_japanese(tmp_path: Path) -> None:
    need_root()
    need_tool("unshare", "nsenter", "chroot", "ldd", "tar")
    r = shikumi("play", "10", "12", "--lang", "ja", home=tmp_path / "home", timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "コピーアップ" in r.stdout and "ホワイトアウト" in r.stdout
    assert "平らなファイルシステム" in r.stdout
    for english in (
        "Copy-up: changing a file",
        "the image, whole",
        "Containers pile up",
        "c 0/0 whiteout",
        "wasted ",
    ):
        assert english not in r.stdout, english
