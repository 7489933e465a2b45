"""The leak check (`leaks.snapshot`, taken before and after every lesson) sees the
iptables rules and the Docker objects a lesson left behind, not only mounts,
namespaces, links, cgroups and processes."""

from __future__ import annotations

import io
import subprocess
import tarfile
import time
import uuid
from pathlib import Path

import pytest

from lab.lesson import leaks
from lab.ops import docker
from tests.support import need_docker, need_root, need_tool


def _ipt(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["iptables", "-w", "5", *args], capture_output=True, text=True, timeout=30
    )


def test_an_iptables_rule_left_behind_is_reported(tmp_path: Path) -> None:
    need_root()
    need_tool("iptables", "iptables-save")
    tag = f"shikumi:leaktest-{uuid.uuid4().hex[:8]}"
    filter_rule = [
        "OUTPUT",
        "-d",
        "192.0.2.77/32",
        "-m",
        "comment",
        "--comment",
        tag,
        "-j",
        "ACCEPT",
    ]
    nat_rule = [
        "POSTROUTING",
        "-d",
        "192.0.2.78/32",
        "-m",
        "comment",
        "--comment",
        tag,
        "-j",
        "RETURN",
    ]
    foreign = [
        "OUTPUT",
        "-d",
        "192.0.2.79/32",
        "-m",
        "comment",
        "--comment",
        "not-the-lab",
        "-j",
        "ACCEPT",
    ]
    before = leaks.snapshot(tmp_path, "s1")
    added: list[list[str]] = []
    try:
        for table, rule in (("filter", filter_rule), ("nat", nat_rule), ("filter", foreign)):
            r = _ipt("-t", table, "-A", *rule)
            assert r.returncode == 0, r.stderr
            added.append(["-t", table, "-D", *rule])
        after = leaks.snapshot(tmp_path, "s1")
        left = leaks.leaked(before, after)
        rules = [x for x in left if x.startswith("iptables ")]
        assert len(rules) == 2, left
        assert any(x.startswith("iptables filter: -A OUTPUT -d 192.0.2.77/32") for x in rules)
        assert any(x.startswith("iptables nat: -A POSTROUTING -d 192.0.2.78/32") for x in rules)
        assert all(tag in x for x in rules)
        assert not [x for x in left if "not-the-lab" in x], "a rule without the lab's comment"
    finally:
        for undo in added:
            _ipt(*undo)
    assert leaks.leaked(before, leaks.snapshot(tmp_path, "s1")) == []


def test_a_docker_container_and_image_left_behind_are_reported(tmp_path: Path) -> None:
    need_root()
    need_docker()
    name = f"shikumi-leaktest-{uuid.uuid4().hex[:8]}"
    image = f"{name}:t"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("hello.txt")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"hi\n"))
    tar_path = tmp_path / "layer.tar"
    tar_path.write_bytes(buf.getvalue())
    before = leaks.snapshot(tmp_path, "s1")
    try:
        docker.docker(["import", str(tar_path), image], timeout=120)
        docker.docker(["create", "--name", name, image, "/hello"], timeout=120)
        left = leaks.leaked(before, leaks.snapshot(tmp_path, "s1"))
        assert f"docker container {name}" in left, left
        assert f"docker image {image}" in left, left
    finally:
        docker.docker(["rm", "-f", name], check=False, timeout=120)
        docker.docker(["rmi", "-f", image], check=False, timeout=120)
    assert leaks.leaked(before, leaks.snapshot(tmp_path, "s1")) == []


def test_no_docker_daemon_is_no_docker_leak(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-such.sock")
    assert leaks._docker_objects() == []
    sock = tmp_path / "silent.sock"  # a daemon that accepts and never answers
    import socket

    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(str(sock))
    srv.listen(1)
    monkeypatch.setenv("DOCKER_HOST", f"unix://{sock}")
    monkeypatch.setattr(leaks, "TIMEOUT", 0.3)
    try:
        t0 = time.monotonic()
        assert leaks._docker_objects() == []
        assert time.monotonic() - t0 < 5  # the timeout holds (generous bound: a hang guard)
    finally:
        srv.close()
