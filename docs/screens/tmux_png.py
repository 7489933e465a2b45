"""A PNG of a whole tmux window (the app and the learner's shell beside it): each
pane's screen with its colours (`tmux capture-pane -e -p`), side by side as tmux
draws them, recorded by Rich as SVG and turned into PNG by rsvg-convert (what the
README's other screenshots go through, librsvg2-bin in assets/provision.sh).

    python docs/screens/tmux_png.py SOCKET TARGET OUT.png

SOCKET: the tmux server (`tmux -L SOCKET`); TARGET: its window (`session:0`).
Only panes laid out left to right are drawn (the split beside the app).
"""

from __future__ import annotations

import io
import subprocess
import sys
import tempfile
from pathlib import Path

from rich.console import Console
from rich.text import Text

TIMEOUT = 10


def tmux(socket: str, *args: str) -> str:
    r = subprocess.run(
        ["tmux", "-L", socket, *args], capture_output=True, text=True, timeout=TIMEOUT
    )
    if r.returncode != 0:
        raise SystemExit(f"tmux {' '.join(args)}: {r.stderr.strip()}")
    return r.stdout


def pane_rows(socket: str, pane: str, width: int, height: int) -> list[Text]:
    raw = tmux(socket, "capture-pane", "-e", "-p", "-t", pane)
    rows = []
    for line in (raw.splitlines() + [""] * height)[:height]:
        text = Text.from_ansi(line, no_wrap=True)
        text.truncate(width, pad=True)
        rows.append(text)
    return rows


def window_png(socket: str, target: str, out: Path) -> None:
    fields = "#{pane_id} #{pane_left} #{pane_width} #{pane_height}"
    panes = [
        line.split() for line in tmux(socket, "list-panes", "-t", target, "-F", fields).splitlines()
    ]
    panes.sort(key=lambda p: int(p[1]))
    height = max(int(p[3]) for p in panes)
    columns = [pane_rows(socket, p[0], int(p[2]), height) for p in panes]
    width = sum(int(p[2]) for p in panes) + len(panes) - 1
    console = Console(record=True, width=width, file=io.StringIO(), color_system="truecolor")
    for i in range(height):
        row = Text(no_wrap=True)
        for k, col in enumerate(columns):
            if k:
                row.append("│", "bright_black")
            row.append_text(col[i])
        console.print(row, no_wrap=True, overflow="crop")
    with tempfile.TemporaryDirectory() as tmp:
        svg = Path(tmp) / "window.svg"
        svg.write_text(console.export_svg(title="shikumi — the app and your shell beside it"))
        subprocess.run(["rsvg-convert", "-o", str(out), str(svg)], check=True, timeout=60)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    window_png(sys.argv[1], sys.argv[2], Path(sys.argv[3]))
