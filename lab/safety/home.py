"""The lab's home: where everything the lab creates lives, and path checks.

A home is checked before anything uses it (``check_home``): never ``/`` or a
system directory (nor an ancestor of one), and either a directory the lab made
(it holds the marker file ``.shikumi-home``), an older lab home (it has the
lab's ``journal/`` directory, or holds only what the lab keeps there), or a new
or empty directory. Anything else is
refused with one clear line and nothing is touched. ``ensure_home`` creates the
home and writes the marker.

The lab's own state (the marker, ``journal/``, the progress file) is never an
operation's target: ``is_inside``/``require_inside`` refuse paths that are, or
contain, one of them.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

from lab.errors import BadHome, PathOutsideHome

DEFAULT_ROOT_HOME = Path("/var/lib/shikumi")
MARKER = ".shikumi-home"
STATE = (
    MARKER,
    "journal",
    "progress.json",
    "progress.json.bak",
    "run.lock",
    "log",  # the app's log and crash logs
)  # the lab's own, never a target

# a home is never one of these, nor an ancestor of one
SYSTEM_DIRS = frozenset(
    {
        "/",
        "/bin",
        "/boot",
        "/dev",
        "/etc",
        "/home",
        "/lib",
        "/lib32",
        "/lib64",
        "/libx32",
        "/lost+found",
        "/media",
        "/mnt",
        "/opt",
        "/proc",
        "/root",
        "/run",
        "/sbin",
        "/snap",
        "/srv",
        "/sys",
        "/tmp",
        "/usr",
        "/usr/bin",
        "/usr/games",
        "/usr/include",
        "/usr/lib",
        "/usr/lib32",
        "/usr/lib64",
        "/usr/libexec",
        "/usr/libx32",
        "/usr/local",
        "/usr/local/bin",
        "/usr/local/lib",
        "/usr/local/sbin",
        "/usr/local/share",
        "/usr/sbin",
        "/usr/share",
        "/usr/src",
        "/var",
        "/var/backups",
        "/var/cache",
        "/var/lib",
        "/var/local",
        "/var/lock",
        "/var/log",
        "/var/mail",
        "/var/opt",
        "/var/run",
        "/var/spool",
        "/var/tmp",
        "/var/www",
    }
)
# nothing inside these is a home either (kernel and device filesystems, the boot files)
SYSTEM_TREES = ("/proc", "/sys", "/dev", "/boot", "/etc")


def home_dir() -> Path:
    """$SHIKUMI_HOME, else /var/lib/shikumi as root, else the user's data dir (unchecked)."""
    env = os.environ.get("SHIKUMI_HOME")
    if env:
        return Path(env).expanduser().absolute()
    if os.geteuid() == 0:
        return DEFAULT_ROOT_HOME
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "shikumi"


def _label(home: Path) -> str:
    env = os.environ.get("SHIKUMI_HOME")
    if env and Path(env).expanduser().absolute() == home:
        return f"SHIKUMI_HOME={env}"
    return f"the lab home {home}"


def _is_system(real: str) -> bool:
    if real in SYSTEM_DIRS:
        return True
    if any(real == t or real.startswith(t + "/") for t in SYSTEM_TREES):
        return True
    if real.startswith("/lib") and "/" not in real[1:]:  # /lib*, whatever the multiarch
        return True
    prefix = real.rstrip("/") + "/"
    return any(d.startswith(prefix) for d in SYSTEM_DIRS)  # an ancestor of a system directory


def _is_real(path: str, directory: bool) -> bool:
    """A regular file (or directory), not a symlink to one."""
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) if directory else stat.S_ISREG(st.st_mode)


# what the lab keeps in a home (an older home holds only these, without the marker)
LAB_NAMES = frozenset(
    {*STATE, "logs", "work", "containers", "images", "layers", "build", "sandbox", "volumes"}
)


def _is_lab_name(name: str) -> bool:
    return name in LAB_NAMES or (name.startswith(".progress-") and name.endswith(".tmp"))


def check_home(home: Path | None = None) -> Path:
    """The real path of *home* if it may be the lab's home; raises BadHome otherwise.

    Changes nothing (``ensure_home`` creates it and writes the marker).
    """
    home = Path(os.path.abspath(home or home_dir()))
    real = os.path.realpath(home)
    fix = f"choose a new or empty directory (default {DEFAULT_ROOT_HOME})"
    if _is_system(real):
        what = "a system directory" if real == str(home) else f"a system directory ({real})"
        raise BadHome(f"{_label(home)} is {what}; {fix}")
    try:
        st = os.stat(real)
    except FileNotFoundError:
        return Path(real)  # new: ensure_home creates it
    except OSError as e:
        raise BadHome(f"{_label(home)} cannot be used: {e.strerror}; {fix}") from None
    if not stat.S_ISDIR(st.st_mode):
        raise BadHome(f"{_label(home)} is not a directory; {fix}")
    if _is_real(os.path.join(real, MARKER), False) or _is_real(os.path.join(real, "journal"), True):
        return Path(real)  # the lab's (an older lab home has journal/ and no marker yet)
    try:
        empty = not os.listdir(real)
    except OSError as e:
        raise BadHome(f"{_label(home)} cannot be read: {e.strerror}; {fix}") from None
    if not empty and not all(_is_lab_name(n) for n in os.listdir(real)):
        raise BadHome(
            f"{_label(home)} is a directory the lab did not make (not empty, no {MARKER}); {fix}"
        )
    return Path(real)


def ensure_home(home: Path | None = None) -> Path:
    """Check the home, create it (0755, never world-writable), mark it; its real path."""
    real = check_home(home)
    real.mkdir(parents=True, exist_ok=True, mode=0o755)
    st = real.stat()
    if st.st_mode & 0o002:
        os.chmod(real, st.st_mode & ~0o002)
    marker = real / MARKER
    if not marker.exists():
        fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        try:
            os.write(fd, b"shikumi-lab home: everything here was made by the lab\n")
        finally:
            os.close(fd)
    return real


def is_inside(path: str | os.PathLike[str], home: str | os.PathLike[str]) -> bool:
    """True if *path* names something strictly inside *home*, other than the lab's state.

    The parent directory is resolved (so `..` and symlinked parents cannot
    escape); the last component is not followed, so a symlink inside the home
    that points outside is itself inside (removing it removes only the link).
    The lab's own state (the marker, journal/, the progress file) is not a
    target: a path that is one of them, or holds one, is not "inside".
    """
    p = Path(os.path.abspath(os.fspath(path)))
    if p.name in ("", ".", ".."):
        return False
    real_home = Path(os.path.realpath(home))
    parent = Path(os.path.realpath(p.parent))
    candidate = parent / p.name
    if not (candidate != real_home and real_home in candidate.parents):
        return False
    first = candidate.relative_to(real_home).parts[0]
    return first not in STATE


def require_inside(path: str | os.PathLike[str], home: str | os.PathLike[str]) -> Path:
    if not is_inside(path, home):
        p = Path(os.path.abspath(os.fspath(path)))
        real_home = Path(os.path.realpath(home))
        with contextlib.suppress(ValueError, IndexError):
            rel = Path(os.path.realpath(p.parent)).joinpath(p.name).relative_to(real_home)
            if rel.parts[0] in STATE:
                raise PathOutsideHome(
                    f"refusing {os.fspath(path)!r}: it is the lab's own state ({rel.parts[0]})"
                )
        raise PathOutsideHome(
            f"refusing {os.fspath(path)!r}: it is not inside the lab home {os.fspath(home)}"
        )
    return Path(os.path.abspath(os.fspath(path)))
