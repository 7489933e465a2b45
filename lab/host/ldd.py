"""Shared libraries: what a binary links, as `ldd` reports it, and the closure of a set."""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import time
from dataclasses import dataclass, field

from lab.errors import LabError
from lab.host import proc_run

TIMEOUT = 30.0  # for listing the libraries of a set of programs

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


def interpreter(path: str) -> str | None:
    """The ELF program interpreter (PT_INTERP) of *path*: the dynamic loader that
    `ldd` asks to list the libraries; None for a static binary or a non-ELF file."""
    try:
        with open(path, "rb") as f:
            head = f.read(64)
            if len(head) < 64 or head[:4] != b"\x7fELF":
                return None
            wide, end = head[4] == 2, "<" if head[5] == 1 else ">"
            if wide:
                (phoff,) = struct.unpack_from(end + "Q", head, 32)
                phentsize, phnum = struct.unpack_from(end + "HH", head, 54)
            else:
                (phoff,) = struct.unpack_from(end + "I", head, 28)
                phentsize, phnum = struct.unpack_from(end + "HH", head, 42)
            f.seek(phoff)
            table = f.read(phentsize * phnum)
            for i in range(phnum):
                off = i * phentsize
                if struct.unpack_from(end + "I", table, off)[0] != 3:  # PT_INTERP
                    continue
                if wide:
                    (p_offset,) = struct.unpack_from(end + "Q", table, off + 8)
                    (p_filesz,) = struct.unpack_from(end + "Q", table, off + 32)
                else:
                    (p_offset,) = struct.unpack_from(end + "I", table, off + 4)
                    (p_filesz,) = struct.unpack_from(end + "I", table, off + 16)
                f.seek(p_offset)
                return f.read(p_filesz).rstrip(b"\0").decode(errors="replace") or None
    except (OSError, struct.error):
        return None
    return None


def _list(paths: list[str]) -> dict[str, list[Lib]]:
    """What `ldd` prints for each path, asked of each binary's own loader (`ld.so
    --list`, which is what the ldd script runs), all at once; `ldd` itself is the
    fallback for anything the direct way cannot answer."""
    out: dict[str, list[Lib]] = {}
    running: dict[str, subprocess.Popen] = {}
    for p in paths:
        loader = interpreter(p)
        if loader is None:
            out[p] = [Lib("", "", "static")] if _is_elf(p) else []
        elif os.access(loader, os.X_OK):
            running[p] = proc_run.start(
                [loader, "--list", p], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
    slow = [p for p in paths if p not in out and p not in running]
    deadline = time.monotonic() + TIMEOUT  # one limit for them all: they run side by side
    try:
        for p, proc in running.items():
            stdout, _ = proc_run.finish(proc, max(0.1, deadline - time.monotonic()))
            if proc.returncode == 0:
                out[p] = parse_ldd(stdout).get("", [])
            else:
                slow.append(p)
    finally:
        for proc in running.values():  # after a timeout: the ones not yet read go too
            if proc.returncode is None:
                proc_run.stop(proc)
    if slow:
        if shutil.which("ldd") is None:
            raise LabError(
                "ldd is not installed", "apt-get install libc-bin (or ./run.sh installs it)"
            )
        # the ldd script runs the loader as its child: the whole group is killed at the limit
        r = proc_run.run(["ldd", *slow], capture_output=True, text=True, timeout=TIMEOUT)
        parsed = parse_ldd(r.stdout + "\n" + r.stderr)
        for p in slow:
            out[p] = (parsed.get(p) if len(slow) > 1 else parsed.get("", parsed.get(p, []))) or []
    return out


def _is_elf(path: str) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"\x7fELF"
    except OSError:
        return False


def linked(binaries: list[str]) -> list[Linked]:
    """What each binary links, as `ldd` reports it."""
    paths = [resolve_binary(b) for b in binaries]
    if not paths:
        return []
    listed = _list(paths)
    result = []
    for p in paths:
        libs = listed.get(p) or []
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
