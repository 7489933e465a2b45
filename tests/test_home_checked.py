"""The lab's home is checked before any command uses it (the real CLI, in subprocesses).

SHIKUMI_HOME=/ once made every path "inside the home": a lesson could remove /etc.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from lab.errors import BadHome, PathOutsideHome
from lab.safety import home as homes
from lab.safety.home import MARKER, check_home, ensure_home, is_inside, require_inside
from tests.support import shikumi

# every command, with arguments that would make it touch the home if it got that far
# (`open` would start the app: the refusal must come first, within the timeout)
COMMANDS = [
    ["list"],
    ["list", "--json"],
    ["play", "01"],
    ["open", "01"],
    ["doctor"],
    ["cleanup"],
    ["check"],
]


def _fingerprint(d: Path, deep: bool) -> dict[str, tuple]:
    """Names, types, sizes, mtimes (and contents when *deep*) under *d*."""
    out: dict[str, tuple] = {}
    st = os.lstat(d)
    out["."] = (st.st_mode, st.st_mtime_ns, st.st_ctime_ns)
    walker = os.walk(d) if deep else [(str(d), [], os.listdir(d))]
    for dirpath, dirs, files in walker:
        for n in sorted(dirs + files):
            p = os.path.join(dirpath, n)
            st = os.lstat(p)
            digest = ""
            if deep and os.path.isfile(p) and not os.path.islink(p):
                digest = hashlib.sha256(Path(p).read_bytes()).hexdigest()
            out[os.path.relpath(p, d)] = (st.st_mode, st.st_size, st.st_mtime_ns, digest)
    return out


def _refused_everywhere(home: Path, what: str, fingerprint_deep: bool) -> None:
    before = _fingerprint(home, fingerprint_deep)
    for cmd in COMMANDS:
        r = shikumi(*cmd, home=home, timeout=60)
        lines = [x for x in r.stderr.splitlines() if x.strip()]
        assert r.returncode != 0, f"shikumi {' '.join(cmd)} ran with SHIKUMI_HOME={home}"
        assert len(lines) == 1, f"shikumi {' '.join(cmd)}: not one line:\n{r.stderr}"
        assert lines[0].startswith(f"shikumi: SHIKUMI_HOME={home} is {what}"), lines[0]
        assert "choose a new or empty directory" in lines[0]
        assert "Traceback" not in r.stderr + r.stdout
        assert r.stdout == "", f"shikumi {' '.join(cmd)} printed: {r.stdout[:200]}"
    assert _fingerprint(home, fingerprint_deep) == before, f"{home} changed"
    for state in (MARKER, "journal", "progress.json", "logs", "work"):
        assert not os.path.lexists(home / state) or state in before, f"{home / state} was made"


@pytest.mark.parametrize("system", ["/", "/etc", "/usr"])
def test_system_directories_are_refused_by_every_command(system: str) -> None:
    _refused_everywhere(Path(system), "a system directory", fingerprint_deep=False)


def test_a_foreign_directory_is_refused_by_every_command(tmp_path: Path) -> None:
    foreign = tmp_path / "photos"
    (foreign / "2024").mkdir(parents=True)
    (foreign / "2024" / "a.jpg").write_bytes(b"\xff\xd8 not really")
    (foreign / "notes.txt").write_text("mine\n")
    os.symlink("/etc", foreign / "etc-link")
    _refused_everywhere(foreign, "a directory the lab did not make", fingerprint_deep=True)


def test_a_symlink_to_a_system_directory_is_refused(tmp_path: Path) -> None:
    link = tmp_path / "home"
    os.symlink("/etc", link)
    r = shikumi("list", home=link, timeout=60)
    assert r.returncode != 0
    assert r.stderr.strip() == (
        f"shikumi: SHIKUMI_HOME={link} is a system directory (/etc); "
        "choose a new or empty directory (default /var/lib/shikumi)"
    )


def test_a_new_or_empty_directory_becomes_a_marked_home(tmp_path: Path) -> None:
    new = tmp_path / "new" / "home"
    r = shikumi("cleanup", "--json", home=new, timeout=60)
    assert r.returncode == 0, r.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    r = shikumi("cleanup", home=empty, timeout=60)
    assert r.returncode == 0, r.stderr
    assert (empty / MARKER).is_file(), "the marker was not written"
    # marked: it may hold anything now
    (empty / "work").mkdir()
    (empty / "work" / "f").write_text("x")
    r = shikumi("list", "--json", home=empty, timeout=60)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout), "no lessons listed"


def test_an_old_style_home_still_works_and_gets_its_marker(tmp_path: Path) -> None:
    """Earlier versions made /var/lib/shikumi with journal/ (and progress) but no marker."""
    old = tmp_path / "shikumi"
    (old / "journal").mkdir(parents=True, mode=0o700)
    (old / "progress.json").write_text(json.dumps({"version": 1, "lessons": {"01-where-am-i": {}}}))
    r = shikumi("list", "--json", home=old, timeout=60)
    assert r.returncode == 0, r.stderr
    r = shikumi("cleanup", home=old, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "nothing to clean up" in r.stdout
    assert (old / MARKER).is_file()
    assert (old / "progress.json").exists(), "the learner's progress was lost"
    # one that holds only what the lab keeps there (progress saved, no journal yet)
    only = tmp_path / "only-progress"
    only.mkdir()
    (only / "progress.json").write_text(json.dumps({"version": 1, "lessons": {}}))
    r = shikumi("list", "--json", home=only, timeout=60)
    assert r.returncode == 0, r.stderr
    # but with a foreign file beside it, it is not the lab's
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    (mixed / "progress.json").write_text(json.dumps({"version": 1, "lessons": {}}))
    (mixed / "thesis.tex").write_text("mine")
    r = shikumi("list", "--json", home=mixed, timeout=60)
    assert r.returncode != 0 and "did not make" in r.stderr


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/etc",
        "/usr",
        "/usr/lib",
        "/var",
        "/var/lib",
        "/tmp",
        "/home",
        "/root",
        "/boot",
        "/dev",
        "/proc",
        "/sys",
        "/run",
        "/opt",
        "/srv",
        "/mnt",
        "/media",
        "/lib",
        "/lib64",
        "/sbin",
        "/bin",
        "/proc/self",
        "/sys/fs/cgroup/x",
        "/etc/new-dir",
    ],
)
def test_check_home_refuses_system_paths(path: str) -> None:
    with pytest.raises(BadHome, match="system directory"):
        check_home(Path(path))


def test_check_home_accepts_ordinary_new_homes(tmp_path: Path) -> None:
    assert check_home(tmp_path / "x" / "y") == tmp_path / "x" / "y"
    assert str(check_home(Path("/var/lib/shikumi-test-never-made"))).startswith("/var/lib/")
    assert not (tmp_path / "x").exists(), "check_home must not create anything"


def test_the_labs_own_state_is_never_a_target(tmp_path: Path) -> None:
    home = ensure_home(tmp_path / "home")
    for state in homes.STATE:
        for p in (home / state, home / state / "x" / "y"):
            assert not is_inside(p, home)
            with pytest.raises(PathOutsideHome, match="own state"):
                require_inside(p, home)
    assert is_inside(home / "work" / "journal", home)  # a lesson's dir may have that name
    assert not is_inside(home, home)


def test_an_operation_on_the_journal_is_refused(tmp_path: Path) -> None:
    from lab.errors import LabError
    from lab.safety.journal import Journal

    with Journal.open(tmp_path / "home") as j:
        for target in (j.home / "journal", j.path, j.home / "progress.json", j.home / MARKER):
            with pytest.raises(LabError, match="refusing to create dir"):
                j.record("dir", str(target))
        assert j.path.exists()


def test_the_api_refuses_a_system_home_too() -> None:
    """Not only the CLI: opening a journal (what every operation needs) checks the home."""
    from lab.safety import journal
    from lab.safety.journal import Journal

    for bad in (Path("/"), Path("/etc"), Path("/usr")):
        with pytest.raises(BadHome, match="system directory"):
            Journal.open(bad)
        with pytest.raises(BadHome, match="system directory"):
            journal.recover(bad)
        assert not (bad / "journal").exists() and not (bad / MARKER).exists()
