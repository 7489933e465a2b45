"""Shared libraries: what a binary links, as `ldd` reports it, and the closure of a set."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field

from lab.errors import LabError

_ARROW = re.compile(r"^\s*(\S+)\s+=>\s+(\S+)\s+\(0x[0-9a-f]+\)\s*$")
_PLAIN = re.compile(r"^\s*(/\S+)\s+\(0x[0-9a-f]+\)\s*$")
_VIRTUAL = re.compile(r"^\s*(linux-vdso\.so\.\d+|linux-gate\.so\.\d+)\s+\(0x[0-9a-f]+\)\s*$")
_NOTFOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found\s*$")


@dataclass(frozen=True)
class Lib:
    soname: str  # what the binary asks for ("libc.so.6"), or the loader's path
    path: str | None  # where the loader finds it (None: not found; "" for the vDSO)
    kind: str  # "library", "loader", "vdso", "missing"


@dataclass
class Linked:
    binary: str  # the path asked about
    real: str  # after following symlinks (/bin/sh -> /usr/bin/dash)
    libs: list[Lib] = field(default_factory=list)
    static: bool = False

    @property
    def missing(self) -> list[str]:
        return [lib.soname for lib in self.libs if lib.kind == "missing"]


def parse_ldd(text: str) -> dict[str, list[Lib]]:
    """Parse `ldd A B …` output into {binary: libs} (one binary: key "")."""
    out: dict[str, list[Lib]] = {}
    current = ""
    for line in text.splitlines():
        if not line.strip():
            continue
        if not line.startswith(("\t", " ")) and line.rstrip().endswith(":"):
            current = line.rstrip()[:-1]
            out.setdefault(current, [])
            continue
        libs = out.setdefault(current, [])
        if m := _VIRTUAL.match(line):
            libs.append(Lib(m.group(1), "", "vdso"))
        elif m := _ARROW.match(line):
            libs.append(Lib(m.group(1), m.group(2), "library"))
        elif m := _PLAIN.match(line):
            libs.append(Lib(m.group(1), m.group(1), "loader"))
        elif m := _NOTFOUND.match(line):
            libs.append(Lib(m.group(1), None, "missing"))
        elif "not a dynamic executable" in line or "statically linked" in line:
            libs.append(Lib("", "", "static"))
    return out


def resolve_binary(name: str) -> str:
    """A command name or path → an absolute path (PATH lookup for bare names)."""
    path = name if "/" in name else shutil.which(name)
    if not path or not os.path.isfile(path):
        raise LabError(
            f"{name}: no such program on this machine", f"install it, or leave {name} out"
        )
    return os.path.abspath(path)


def linked(binaries: list[str]) -> list[Linked]:
    """Run `ldd` once over every binary and return what each links."""
    paths = [resolve_binary(b) for b in binaries]
    if not paths:
        return []
    if shutil.which("ldd") is None:
        raise LabError("ldd is not installed", "apt-get install libc-bin (or ./run.sh installs it)")
    r = subprocess.run(["ldd", *paths], capture_output=True, text=True, timeout=30)
    parsed = parse_ldd(r.stdout + "\n" + r.stderr)
    result = []
    for p in paths:
        libs = parsed.get(p) if len(paths) > 1 else parsed.get("", parsed.get(p, []))
        libs = libs or []
        static = any(lib.kind == "static" for lib in libs)
        result.append(
            Linked(p, os.path.realpath(p), [lib for lib in libs if lib.kind != "static"], static)
        )
    return result


def closure(binaries: list[str]) -> tuple[list[Linked], list[str]]:
    """What the binaries link, and every file they need (binaries, libraries, loader).

    ldd already prints the transitive closure (it runs the loader), so one
    call per set is enough.
    """
    items = linked(binaries)
    files: list[str] = []
    seen: set[str] = set()
    for item in items:
        for path in [item.binary, *[lib.path for lib in item.libs if lib.path]]:
            if path and path not in seen:
                seen.add(path)
                files.append(path)
    return items, files
