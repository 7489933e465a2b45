"""What of the lab's is on this machine right now, and a fingerprint of the host's
binaries and libraries — for the kill harness and the suite-wide integrity check."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from lab.safety.undo_registry import LOCAL_IMAGE_RE

HOST_TREES = ("/usr/bin", "/usr/sbin", "/usr/lib", "/usr/lib64", "/etc")
# The account databases: lesson 21 adds a user (shikumi-…) and cleanup deletes it, so
# their times change while their content comes back; they are compared by content,
# the lab's own lines (shikumi-…, which lab_things reports while they exist) left out.
# Their backups (passwd- …) and the lock are rewritten by every useradd/userdel: not compared.
ACCOUNT_FILES = tuple(
    f"/etc/{n}" for n in ("passwd", "group", "shadow", "gshadow", "subuid", "subgid")
)
ACCOUNT_SKIP = (*(f + "-" for f in ACCOUNT_FILES), "/etc/.pwd.lock")
CGROUP_ROOT = "/sys/fs/cgroup"


def lab_things(home: Path | None = None) -> list[str]:
    """Everything of the lab's that exists now: mounts, netns, links, iptables rules,
    cgroups, marked processes (a registry of lesson 22 too), Docker containers and images
    named shikumi… or pulled from 127.0.0.1:PORT/shikumi…, images with no name (compared
    before and after, as everything here), users named shikumi-… and their
    subordinate-id lines, and (with *home*) runc and crun containers under the lab's roots
    HOME/runc and HOME/crun and registries' folders

    With *home*, a marked process whose environment names another lab home
    (SHIKUMI_HOME=…) is another lab's, not ours; one without it (a container's
    cleared environment) still counts."""
    found: list[str] = []
    home_s = str(home) if home else None
    with open("/proc/self/mountinfo") as f:
        for line in f:
            parts = line.split()
            target = parts[4]
            ours = (
                home_s and (target == home_s or target.startswith(home_s + "/"))
            ) or "shikumi" in target
            docker_own = target.startswith(("/run/shikumi-docker", "/var/lib/shikumi-docker"))
            if ours and not docker_own:
                found.append(f"mount {target}")
    if os.path.isdir("/run/netns"):
        found += [f"netns {n}" for n in os.listdir("/run/netns") if n.startswith("shk")]
    found += [f"link {n}" for n in os.listdir("/sys/class/net") if n.startswith("shk")]
    if shutil.which("iptables"):
        for table in ("filter", "nat"):
            try:
                r = subprocess.run(
                    ["iptables", "-w", "5", "-t", table, "-S"],
                    capture_output=True,
                    text=True,
                    timeout=30,
                )
            except subprocess.TimeoutExpired:
                found.append(f"iptables {table}: could not be listed within 30 s")
                continue
            found += [f"iptables {table}: {ln}" for ln in r.stdout.splitlines() if "shikumi" in ln]
    for dirpath, dirnames, _ in os.walk(CGROUP_ROOT):
        if dirpath[len(CGROUP_ROOT) :].count("/") >= 4:
            dirnames[:] = []
        found += [f"cgroup {os.path.join(dirpath, d)}" for d in dirnames if d.startswith("shikumi")]
    me = os.getpid()
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == me:
            continue
        try:
            env = Path(f"/proc/{name}/environ").read_bytes()
            state = Path(f"/proc/{name}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if b"SHIKUMI_MARK=shikumi-" not in env or state == "Z":
            continue
        homes = [v for v in env.split(b"\0") if v.startswith(b"SHIKUMI_HOME=")]
        if home_s and homes and f"SHIKUMI_HOME={home_s}".encode() not in homes:
            continue
        with contextlib.suppress(OSError):
            found.append(f"process {name} {Path(f'/proc/{name}/comm').read_text().strip()}")
    found += _docker_things()
    for path, what in (
        ("/etc/passwd", "user"),
        ("/etc/subuid", "subuid"),
        ("/etc/subgid", "subgid"),
    ):
        with contextlib.suppress(OSError):
            found += [
                f"{what} {ln.split(':', 1)[0]}"
                for ln in Path(path).read_text().splitlines()
                if ln.startswith("shikumi-")
            ]
    if home is not None:  # runc/crun containers under the lab's own roots (HOME/runc, HOME/crun)
        for tool in ("runc", "crun"):
            root = Path(home) / tool
            with contextlib.suppress(OSError):
                found += [f"{tool} container {n}" for n in os.listdir(root) if (root / n).is_dir()]
        reg = Path(home) / "registry"  # lesson 22's registries: config, storage, log
        with contextlib.suppress(OSError):
            found += [f"registry {reg / n}" for n in os.listdir(reg) if (reg / n).is_dir()]
    return sorted(found)


class _NoAnswer(Exception):
    pass


def _docker_words(args: list[str], env: dict[str, str]) -> list[str] | None:
    """The words `docker ARGS` printed; None when it failed (no daemon)."""
    try:
        r = subprocess.run(["docker", *args], capture_output=True, text=True, env=env, timeout=30)
    except subprocess.TimeoutExpired:
        raise _NoAnswer from None
    return r.stdout.split() if r.returncode == 0 else None


def _docker_things() -> list[str]:
    if not shutil.which("docker"):
        return []
    from lab.host.dockerhost import with_docker_host

    env = with_docker_host(dict(os.environ))
    out: list[str] = []
    try:
        names = _docker_words(["ps", "-a", "--format", "{{.Names}}"], env)
        if names is None:  # no daemon: nothing of the lab's can be in it
            return []
        out += [f"docker container {n}" for n in names if n.startswith("shikumi")]
        tags = _docker_words(["images", "--format", "{{.Repository}}:{{.Tag}}"], env) or []
        out += [
            f"docker image {n}"
            for n in tags
            if (n.startswith("shikumi") and not n.startswith("shikumi-fresh"))
            or LOCAL_IMAGE_RE.match(n.rsplit(":", 1)[0])  # pulled from lesson 22's registry
        ]
        # an image of the lab's that an undo only untagged (still in use then) has no name
        ids = _docker_words(["images", "-f", "dangling=true", "--format", "{{.ID}}"], env) or []
        out += [f"docker image {i} (no name)" for i in ids]
        nets = _docker_words(["network", "ls", "--format", "{{.Name}}"], env) or []
        out += [f"docker network {n}" for n in nets if n.startswith("shikumi")]
    except _NoAnswer:
        out.append("docker: no answer within 30 s")
    return out


def ip_forward() -> str:
    return Path("/proc/sys/net/ipv4/ip_forward").read_text().strip()


def host_fingerprint(hash_files: list[str] | None = None) -> dict[str, str]:
    """(size, mtime, ctime, mode) of every file in the host's binary, library and
    config trees, plus the sha256 of *hash_files* (the ones lessons copy or hide)."""
    fp: dict[str, str] = {}
    for top in HOST_TREES:
        for dirpath, dirnames, names in os.walk(top):
            dirnames[:] = [d for d in dirnames if not os.path.islink(os.path.join(dirpath, d))]
            for n in names:
                p = os.path.join(dirpath, n)
                if p in ACCOUNT_SKIP:
                    continue
                if p in ACCOUNT_FILES:
                    fp[p] = _account_content(p)
                    continue
                try:
                    st = os.lstat(p)
                except OSError:
                    continue
                fp[p] = f"{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_mode:o}"
    for p in hash_files or []:
        try:
            fp["sha256 " + p] = hashlib.sha256(Path(p).read_bytes()).hexdigest()
        except OSError as e:
            fp["sha256 " + p] = f"unreadable: {e}"
    return fp


def _account_content(path: str) -> str:
    """sha256 of an account database without the lab's own lines, and its mode."""
    try:
        st = os.lstat(path)
        lines = [ln for ln in Path(path).read_text().splitlines() if not ln.startswith("shikumi-")]
    except OSError as e:
        return f"unreadable: {e}"
    return f"{hashlib.sha256(chr(10).join(lines).encode()).hexdigest()}:{st.st_mode:o}"


def lesson_files() -> list[str]:
    """The files lessons copy into rootfs or hide in the sandbox: the ldd closure of
    the lesson programs."""
    from lab.host import ldd
    from lab.ops import rootfs

    progs = [
        p
        for p in [*rootfs.DEFAULT_PROGRAMS, "bash", "tree", "head", "wc", "perl"]
        if shutil.which(p)
    ]
    _, files = ldd.closure(progs)
    return sorted({os.path.realpath(f) for f in files})


def changed(
    before: dict[str, str], after: dict[str, str], ignore: tuple[str, ...] = ("/etc/mtab",)
) -> list[str]:
    keys = set(before) | set(after)
    return sorted(k for k in keys if before.get(k) != after.get(k) and not k.startswith(ignore))
