"""`shikumi doctor`: what this machine has for the lab, each probed for real.

Every check is a real attempt — an overlay is mounted, each namespace type is
created (in a child process), a cgroup is made per controller, each tool is run
— then undone. Probes run concurrently and never raise: a probe that breaks
becomes a failing check carrying the error.

    run_checks(home)          every check, in a stable order
    requirement_names()       the names a lesson may list under its requirements
    missing(reqs, checks)     the failing checks behind those names
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from lab.doctor import (
    cgroups_probe,
    lsm_probe,
    ns_probe,
    overlay_probe,
    runtime_probe,
    tools_probe,
    userns_probe,
)
from lab.doctor.probe import RUN_AS_ROOT, Check, one_line, run

__all__ = ["Check", "missing", "requirement_names", "run_checks"]

MIN_KERNEL = (4, 0)
BUG = "report this as a bug (shikumi doctor --json shows the error)"

# VM vendors as /sys/class/dmi/id shows them
_DMI_VMS = (
    ("qemu", "qemu"),
    ("kvm", "kvm"),
    ("virtualbox", "oracle"),
    ("innotek", "oracle"),
    ("vmware", "vmware"),
    ("xen", "xen"),
    ("hyper-v", "microsoft"),
    ("virtual machine", "microsoft"),
    ("amazon ec2", "amazon"),
    ("google compute engine", "google"),
    ("parallels", "parallels"),
    ("bhyve", "bhyve"),
    ("cloud hypervisor", "cloud-hypervisor"),
    ("firecracker", "firecracker"),
)


# -- the public interface ------------------------------------------------------------


def requirement_names() -> set[str]:
    """Every name a lesson may list as a requirement (the linter checks against this)."""
    names = {"root", "overlayfs", "cgroup", "cgroup2", "docker"}
    names |= {f"ns.{t}" for t in ns_probe.NAMESPACES}
    names |= {f"cgroup.{c}" for c in cgroups_probe.CONTROLLERS}
    names |= {f"tool.{t.name}" for t in tools_probe.TOOLS}
    names |= set(lsm_probe.NAMES) | set(runtime_probe.NAMES) | set(userns_probe.NAMES)
    return names


def missing(requirements: Iterable[str], checks: list[Check]) -> list[Check]:
    """The failing checks behind *requirements* (a name no check answers counts as failing)."""
    by_name = {c.name: c for c in checks}
    known = requirement_names()
    out: list[Check] = []
    for req in requirements:
        name = "docker.daemon" if req == "docker" else req
        check = by_name.get(name)
        if check is None:
            if req in known:
                check = Check(name, False, False, "not checked", "run shikumi doctor")
            else:
                check = Check(
                    req,
                    False,
                    False,
                    f"unknown requirement {req!r}",
                    "fix the lesson file (shikumi check lists the known names)",
                )
        if not check.ok and check not in out:
            out.append(check)
    return out


def run_checks(home: Path | None = None) -> list[Check]:
    """Every check, in a stable order. *home* is the lab home (scratch space and journal)."""
    tools = tools_probe.TOOLS
    tasks: list[tuple[list[tuple[str, bool]], Callable[[], list[Check]]]] = [
        ([("root", True), ("kernel", True)], lambda: [check_root(), check_kernel()]),
        ([("virt", False)], lambda: [check_virt()]),
        (
            [("overlayfs", True), ("cgroup", False), ("cgroup2", False)]
            + [(f"cgroup.{c}", False) for c in cgroups_probe.CONTROLLERS],
            lambda: _probe_mounts_and_cgroups(home),
        ),
        (
            [(f"ns.{t}", req) for t, (_, req) in ns_probe.NAMESPACES.items()],
            ns_probe.probe_namespaces,
        ),
        *(
            ([(f"tool.{t.name}", t.required)], lambda t=t: [tools_probe.probe_tool(t)])
            for t in tools
        ),
        ([("docker.daemon", False)], lambda: [tools_probe.probe_docker_daemon()]),
        ([(n, False) for n in lsm_probe.NAMES], lsm_probe.probe_all),
        ([(n, False) for n in runtime_probe.NAMES], runtime_probe.probe_all),
        ([(n, False) for n in userns_probe.NAMES], userns_probe.probe_all),
    ]
    with ThreadPoolExecutor(max_workers=len(tasks), thread_name_prefix="doctor") as pool:
        futures = [pool.submit(_guarded, names, fn) for names, fn in tasks]
        found = {c.name: c for f in futures for c in f.result()}
    order = (
        ["root", "kernel", "virt", "overlayfs"]
        + [f"ns.{t}" for t in ns_probe.NAMESPACES]
        + ["cgroup", "cgroup2"]
        + [f"cgroup.{c}" for c in cgroups_probe.CONTROLLERS]
        + [f"tool.{t.name}" for t in tools]
        + ["docker.daemon"]
        + list(lsm_probe.NAMES)
        + list(runtime_probe.NAMES)
        + list(userns_probe.NAMES)
    )
    return [found[n] for n in order if n in found] + [c for n, c in found.items() if n not in order]


# -- running probes safely -----------------------------------------------------------


def _guarded(names: list[tuple[str, bool]], fn: Callable[[], list[Check]]) -> list[Check]:
    """fn(), or — if it raises — a failing check for each name it should have answered."""
    try:
        return fn()
    except Exception as e:
        detail = one_line(f"the probe failed: {type(e).__name__}: {e}".replace("\n", " "), 300)
        return [Check(n, False, req, detail, BUG) for n, req in names]


def _open_journal(home: Path | None) -> object | None:
    """A journal in *home*, or None (no home, not writable, or no journal module)."""
    if home is None:
        return None
    try:
        from lab.safety.journal import Journal

        return Journal.open(home, recover_dead=False)
    except Exception:
        return None  # e.g. not root and /var/lib/shikumi not writable: a temp dir will do


def _probe_mounts_and_cgroups(home: Path | None) -> list[Check]:
    """The probes that create things: one thread, one journal (recorded before each creation)."""
    journal = _open_journal(home)
    checks: list[Check] = []
    try:
        jhome = getattr(journal, "home", None)
        checks += _guarded(
            [("overlayfs", True)], lambda: [overlay_probe.probe_overlay(journal, jhome)]
        )
        layout = cgroups_probe.detect_layout()
        checks += _guarded(
            [("cgroup", False), ("cgroup2", False)], lambda: cgroups_probe.probe_layout(layout)
        )
        for c in cgroups_probe.CONTROLLERS:
            checks += _guarded(
                [(f"cgroup.{c}", False)],
                lambda c=c: [cgroups_probe.probe_controller(layout, c, journal)],
            )
    finally:
        if journal is not None:
            journal.close()  # type: ignore[attr-defined]  # undoes anything a probe left behind
    return checks


# -- root, kernel, virtualisation ----------------------------------------------------


def check_root() -> Check:
    euid = os.geteuid()
    try:
        user = pwd.getpwuid(euid).pw_name
    except KeyError:
        user = "?"
    if euid == 0:
        return Check("root", True, True, "euid 0 (root)", "")
    return Check(
        "root",
        False,
        True,
        f"euid {euid} ({user}): not root; mounts, namespaces and cgroups need root",
        RUN_AS_ROOT,
    )


def kernel_version(release: str) -> tuple[int, int] | None:
    m = re.match(r"(\d+)\.(\d+)", release)
    return (int(m.group(1)), int(m.group(2))) if m else None


def distro() -> str:
    try:
        with open("/etc/os-release") as f:
            fields = dict(line.rstrip("\n").split("=", 1) for line in f if "=" in line)
    except OSError:
        return "unknown distribution (no /etc/os-release)"
    return (fields.get("PRETTY_NAME") or fields.get("NAME") or "unknown distribution").strip("\"'")


def check_kernel() -> Check:
    u = os.uname()
    ver = kernel_version(u.release)
    where = f"{u.sysname} {u.release} ({u.version}) {u.machine} on {distro()}"
    need = f"≥ {MIN_KERNEL[0]}.{MIN_KERNEL[1]} for overlayfs with several lower dirs (Docker's overlay2)"
    if ver is None:
        return Check("kernel", True, True, f"{where}; release not parsed, assuming {need}", "")
    if ver < MIN_KERNEL:
        return Check(
            "kernel",
            False,
            True,
            f"{where}: too old, the lab needs {need}",
            "use a newer kernel: the Vagrantfile's Debian 12 VM has one",
        )
    return Check("kernel", True, True, f"{where}; {need}", "")


def _read(path: str) -> str:
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def _vm_fallback() -> str:
    dmi = (
        _read("/sys/class/dmi/id/product_name") + " " + _read("/sys/class/dmi/id/sys_vendor")
    ).lower()
    for needle, name in _DMI_VMS:
        if needle in dmi:
            return name
    if re.search(r"^flags\s*:.*\bhypervisor\b", _read("/proc/cpuinfo"), re.M):
        return "a hypervisor (cpu flag)"
    return "none"


def _container_fallback() -> str:
    if os.path.exists("/.dockerenv"):
        return "docker"
    if os.path.exists("/run/.containerenv"):
        return "podman"
    env = _read("/proc/1/environ")
    m = re.search(r"(?:^|\0)container=([^\0]+)", env)
    if m:
        return m.group(1)
    cg = _read("/proc/1/cgroup")
    for needle in ("kubepods", "docker", "lxc", "containerd", "libpod"):
        if needle in cg:
            return needle
    return "none"


def check_virt() -> Check:
    """Informational: are we in a VM, a container, both, or on bare metal?"""
    tool = shutil.which("systemd-detect-virt")
    vm = container = ""
    how = "systemd-detect-virt"
    if tool:
        vm = one_line(run([tool, "--vm"], timeout=2)[1])
        container = one_line(run([tool, "--container"], timeout=2)[1])
    if not vm:
        vm, how = _vm_fallback(), "/sys/class/dmi/id, /proc/cpuinfo"
    if not container:
        container, how = _container_fallback(), how + ", /.dockerenv, /proc/1/cgroup"
    parts = []
    if vm != "none":
        parts.append(f"virtual machine ({vm})")
    if container != "none":
        parts.append(f"container ({container}; the lab needs a privileged one)")
    what = " inside a ".join(reversed(parts)) if parts else "bare metal (no VM or container found)"
    return Check("virt", True, False, f"{what} [{how}]", "")
