"""The compare view aligned by key: row N left and row N right are about the same file,
mount point or field (lessons 13 and 14). The commands run for real (bash, bounded)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from rich.console import Console

from lab.lesson.execute import Completed
from lab.views import compare


class _Ctx:
    def run(self, command: str, in_name: str = "", timeout: float = 10.0) -> Completed:
        p = subprocess.run(
            ["bash", "-c", command], capture_output=True, text=True, timeout=timeout, check=False
        )
        return Completed(exit=p.returncode, stdout=p.stdout, stderr=p.stderr)


def _text(renderable: Any, width: int = 120) -> str:
    console = Console(width=width, record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


FILES = r"([\w-]+\.txt)"


def test_rows_pair_the_same_file_even_in_another_order_and_with_a_file_missing() -> None:
    data = compare.collect(
        _Ctx(),
        columns=[
            {
                "label": "inside",
                "command": "printf '%s\\n' /srv/a.txt /notes/b.txt /scratch/c.txt",
                "key": FILES,
            },
            {
                "label": "host",
                "command": "printf '%s\\n' ~lab/volumes/b.txt ~lab/work/site/a.txt "
                "\"ls: cannot access '~lab/box/scratch/c.txt': No such file or directory\"",
                "key": FILES,
            },
        ],
    )
    assert [r.key for r in data.rows] == ["a.txt", "b.txt", "c.txt"]
    a, b, c = data.rows
    assert a.cells == [["/srv/a.txt"], ["~lab/work/site/a.txt"]]
    assert b.cells == [["/notes/b.txt"], ["~lab/volumes/b.txt"]]
    assert c.cells[1][0].endswith("No such file or directory")
    # drawn: each row's two cells on the same line
    lines = _text(compare.render(data)).splitlines()
    row = next(ln for ln in lines if "/srv/a.txt" in ln)
    assert "~lab/work/site/a.txt" in row


def test_a_key_found_on_one_side_only_shows_a_dash_on_the_other() -> None:
    data = compare.collect(
        _Ctx(),
        columns=[
            {
                "label": "inside",
                "command": "printf '%s\\n' 'overlay / overlay rw' 'proc /proc proc rw' "
                "'/dev/x /notes ext4 rw'",
                "key": r"^\S+ /?(\S*) ",
            },
            {
                "label": "host",
                "command": "printf '%s\\n' '/h/containers/box overlay' '/h/containers/box/notes ext4'",
                "key": r"/containers/box/?(\S*) ",
            },
        ],
    )
    assert [r.key for r in data.rows] == ["", "proc", "notes"]
    assert data.rows[1].cells[1] == []  # the host does not see the container's /proc
    out = _text(compare.render(data, "ja"))
    proc = next(ln for ln in out.splitlines() if "proc /proc" in ln)
    assert "—" in proc


def test_a_record_on_several_lines_stays_in_its_row() -> None:
    docker = "printf '%s\\n' LowerDir /d/l1 /d/l2 UpperDir /d/u WorkDir /d/w MergedDir /d/m"
    lab = "printf '%s\\n' LowerDir /h/layers/x UpperDir /h/c/upper MergedDir /h/c/merged"
    data = compare.collect(
        _Ctx(),
        columns=[
            {"label": "Docker", "command": docker, "key": r"^(\w+Dir)$"},
            {"label": "lab", "command": lab, "key": r"^(\w+Dir)$"},
        ],
    )
    rows = {r.key: r.cells for r in data.rows}
    assert list(rows) == ["LowerDir", "UpperDir", "WorkDir", "MergedDir"]
    assert rows["LowerDir"][0] == ["LowerDir", "/d/l1", "/d/l2"]
    assert rows["WorkDir"][1] == []
    assert rows["MergedDir"] == [["MergedDir", "/d/m"], ["MergedDir", "/h/c/merged"]]


def test_lines_before_any_key_are_kept_in_a_last_row() -> None:
    data = compare.collect(
        _Ctx(),
        columns=[
            {"label": "l", "command": "printf '%s\\n' 'warning: odd' 'k1 a'", "key": r"^(k\d) "},
            {"label": "r", "command": "printf '%s\\n' 'k1 b'", "key": r"^(k\d) "},
        ],
    )
    assert [r.key for r in data.rows] == ["k1", compare.OTHER]
    assert data.rows[-1].cells == [["warning: odd"], []]
    assert "lines with no key" in _text(compare.render(data))


def test_without_keys_the_columns_stay_two_blocks() -> None:
    data = compare.collect(
        _Ctx(),
        columns=[
            {"label": "one", "command": "printf 'a\\nb\\n'"},
            {"label": "two", "command": "printf 'a\\nc\\n'"},
        ],
    )
    assert data.rows == [] and data.columns[0].unique == {"b"}


def test_a_padded_line_wider_than_its_cell_loses_its_padding_before_it_wraps() -> None:
    """Lesson 21 step 3: /proc/PID/status pads with tabs and uid_map with spaces; in
    a narrow cell the numbers stay on the line of their field name. A line that fits
    is drawn as printed, padding and all. Real files of this very process."""
    data = compare.collect(
        _Ctx(),
        columns=[
            {
                "label": "host",
                "command": "grep -E '^(Uid|Gid):' /proc/self/status; "
                'echo "uid_map: $(cat /proc/self/uid_map)"',
                "key": r"^(\w+):",
            },
            {
                "label": "inside",
                "command": "grep -E '^(Uid|Gid):' /proc/self/status; "
                'echo "uid_map: $(cat /proc/self/uid_map)"',
                "key": r"^(\w+):",
            },
        ],
    )
    status = Path("/proc/self/status").read_text()
    uid = next(ln for ln in status.splitlines() if ln.startswith("Uid:")).split()[1:]
    assert "\t" in status and len(uid) == 4
    narrow = _text(compare.render(data), width=64).splitlines()
    # each field's four numbers on its own line, after the field name
    assert any(ln.count(" ".join(["Uid:", *uid])) == 2 for ln in narrow), narrow
    umap = Path("/proc/self/uid_map").read_text().splitlines()[0]
    assert any("uid_map: " + " ".join(umap.split()) in ln for ln in narrow), narrow
    # wide enough: as printed (tabs expanded, the kernel's padding kept)
    wide = _text(compare.render(data), width=160)
    assert "Uid:\t".expandtabs(8) + uid[0] in wide
    assert "uid_map: " + umap in wide
