"""What a lesson may have left behind: a snapshot of the lab-named things on the
machine, taken before and after, so ``play`` can report leaks."""

from __future__ import annotations

import http.client
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from lab.host import dockerview, mounts
from lab.host.dockerhost import docker_get, docker_socket, with_docker_host
from lab.safety import journal, procs
from lab.safety.undo import RULE_COMMENT
from lab.safety.undo_registry import LOCAL_IMAGE_RE

CGROUP_ROOT = Path("/sys/fs/cgroup")
CGROUP_DEPTH = 4


@dataclass(frozen=True)
class Snapshot:
    things: frozenset[str] = field(default_factory=frozenset)


def _names(path: str, prefix: str) -> list[str]:
    try:
        return [n for n in os.listdir(path) if n.startswith(prefix)]
    except OSError:
        return []


def _cgroups() -> list[str]:
    found: list[str] = []
    base = str(CGROUP_ROOT)
    for dirpath, dirnames, _ in os.walk(base):
        depth = dirpath[len(base) :].count("/")
        if depth >= CGROUP_DEPTH:
            dirnames[:] = []
        found += [os.path.join(dirpath, d) for d in dirnames if d.startswith("shikumi")]
    return found


IPTABLES_TABLES = ("filter", "nat")
TIMEOUT = 5.0  # for iptables-save and the Docker daemon: a hung one must not hang a lesson
SBIN_PATH = "/usr/local/sbin:/usr/sbin:/sbin:/usr/local/bin:/usr/bin:/bin"


def _iptables_rules() -> list[str]:
    """The rules carrying the lab's comment (``-m comment --comment shikumi…``, as
    ``resources.iptables_add`` tags every rule it adds) in the filter and nat tables."""
    save = shutil.which("iptables-save", path=SBIN_PATH)
    if save is None:
        return []
    try:  # one iptables-save for every table: half the time of one per table
        r = subprocess.run([save], capture_output=True, text=True, timeout=TIMEOUT)
    except (OSError, subprocess.TimeoutExpired):
        return [f"iptables: could not be listed within {TIMEOUT:g} s"]
    found: list[str] = []
    table = ""
    for line in r.stdout.splitlines():
        if line.startswith("*"):
            table = line[1:].strip()
        elif (
            table in IPTABLES_TABLES
            and line.startswith("-A ")
            and (f"--comment {RULE_COMMENT}" in line or f'--comment "{RULE_COMMENT}' in line)
        ):
            found.append(f"iptables {table}: {line}")
    return found


def _docker_cli(args: list[str], env: dict[str, str]) -> list[str] | None:
    """`docker ARGS` lines, or None if the daemon does not answer."""
    if shutil.which("docker") is None:
        return None
    try:
        r = subprocess.run(
            ["docker", *args], capture_output=True, text=True, timeout=TIMEOUT, env=env
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return r.stdout.split() if r.returncode == 0 else None


def _docker_objects() -> list[str]:
    """Docker containers, images and networks named shikumi-… (the lab names every one it makes
    so), and images with no name at all (one the lab's `docker rmi -f` only untagged,
    because something still used it, is left so: a leak the names never show), if a
    daemon answers; none if there is no daemon. Asked over the daemon's unix
    socket (a few ms, where two `docker` commands take ~50 ms); `docker ps -a` /
    `docker images` when DOCKER_HOST is not a unix socket."""
    env = with_docker_host(dict(os.environ))
    host = env.get("DOCKER_HOST", "")
    if host and not host.startswith("unix://"):
        names = _docker_cli(["ps", "-a", "--format", "{{.Names}}"], env) or []
        tags = _docker_cli(["images", "--format", "{{.Repository}}:{{.Tag}}"], env) or []
        nets = _docker_cli(["network", "ls", "--format", "{{.Name}}"], env) or []
        ids = _docker_cli(["images", "-f", "dangling=true", "--format", "{{.ID}}"], env) or []
        unnamed = [f"docker image {i} (no name)" for i in ids]
    else:
        sock = docker_socket(env)
        if not sock:
            return []
        try:
            containers = docker_get(sock, "/containers/json?all=1", TIMEOUT)
            images = docker_get(sock, "/images/json", TIMEOUT)
            networks = docker_get(sock, "/networks", TIMEOUT)
        except (OSError, ValueError, http.client.HTTPException):
            return []  # no daemon answering: nothing of the lab's can be in it
        names = [n.lstrip("/") for c in containers for n in c.get("Names") or []]
        tags = [t for i in images for t in i.get("RepoTags") or []]
        # an image pulled by digest from the lab's registry has no tag, only a digest
        tags += [d for i in images for d in i.get("RepoDigests") or []]
        nets = [str(n.get("Name", "")) for n in networks]
        unnamed = [f"docker image {n}" for n in map(dockerview.unnamed, images) if n]
    found = unnamed + [f"docker container {n}" for n in names if n.startswith("shikumi-")]
    found += [
        f"docker image {t}" for t in tags if t.startswith("shikumi-") or _from_lab_registry(t)
    ]
    found += [f"docker network {n}" for n in nets if n.startswith("shikumi-")]
    return found


def _from_lab_registry(ref: str) -> bool:
    """127.0.0.1:PORT/shikumi…:TAG or …@sha256:…: pulled from a registry of lesson 22."""
    repo = ref.split("@", 1)[0] if "@" in ref else ref.rsplit(":", 1)[0]
    return bool(LOCAL_IMAGE_RE.match(repo))


def _registries(home: Path) -> list[str]:
    """The registries' directories under HOME/registry (one per running registry of
    lesson 22: its config, storage and log; removed with it)."""
    root = home / "registry"
    return [f"registry {root / n}" for n in _names(str(root), "") if (root / n).is_dir()]


def _runc_containers(home: Path) -> list[str]:
    """The containers in the lab's runc and crun roots (HOME/runc, HOME/crun): each one a
    directory there for as long as the runtime knows it, running or stopped."""
    found = []
    for tool in ("runc", "crun"):
        root = home / tool
        found += [f"{tool} container {n}" for n in _names(str(root), "") if (root / n).is_dir()]
    return found


def _users() -> list[str]:
    """Users named shikumi-… (lesson 21 makes one) and their lines in /etc/subuid and
    /etc/subgid: a user left behind keeps a uid and subordinate ids on the machine."""
    found = []
    for path, what in (
        ("/etc/passwd", "user"),
        ("/etc/subuid", "subuid"),
        ("/etc/subgid", "subgid"),
    ):
        try:
            lines = Path(path).read_text().splitlines()
        except OSError:
            continue
        found += [f"{what} {ln.split(':', 1)[0]}" for ln in lines if ln.startswith("shikumi-")]
    return found


def snapshot(home: Path, session: str) -> Snapshot:
    home_s = str(home)
    things = {f"mount {m.target}" for m in mounts.under(home_s) if m.target != home_s}
    things |= {f"netns {n}" for n in _names("/run/netns", "shk")}
    things |= {f"link {n}" for n in _names("/sys/class/net", "shk")}
    things |= {f"cgroup {c}" for c in _cgroups()}
    things |= {f"process {p}" for p in procs.with_marker(f"shikumi-{session}-", prefix=True)}
    things |= set(_iptables_rules())
    things |= set(_docker_objects())
    things |= set(_runc_containers(home))
    things |= set(_users())
    things |= set(_registries(home))
    return Snapshot(frozenset(things))


def claimed_by_others(home: Path, session: str) -> set[str]:
    """What other live sessions in this home have journaled (another instance of
    the lab, e.g. an instructor's demo beside a learner's): not this lesson's leak."""
    claimed: set[str] = set()
    for e in journal.pending(home):
        if e.session == session:
            continue
        if e.kind == "mount":
            claimed.add(f"mount {e.target}")
        elif e.kind == "registry":
            claimed.add(f"registry {e.target}")
        elif e.kind in ("netns", "link", "cgroup"):
            claimed.add(f"{e.kind} {e.target}")
            if e.kind == "cgroup":  # and the cgroup's parents named shikumi…
                parent = Path(e.target).parent
                while parent.name.startswith("shikumi"):
                    claimed.add(f"cgroup {parent}")
                    parent = parent.parent
    return claimed


def leaked(
    before: Snapshot, after: Snapshot, home: Path | None = None, session: str = ""
) -> list[str]:
    new = after.things - before.things
    if home is not None and new:
        new -= claimed_by_others(home, session)
    return sorted(new)
