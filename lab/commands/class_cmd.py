"""`shikumi class report FILE… -o OUT.html [--lang en|ja]`: one page for the instructor.

Each file is a learner's export (`shikumi progress --export`). A file that is
damaged, foreign or from a newer shikumi gets one line naming it (on stderr and
on the page) and the report is made from the rest; with no usable file at all
nothing is written and the exit is 1.
"""

from __future__ import annotations

import argparse
import sys

from lab.errors import LabError


def cmd_class(args: argparse.Namespace) -> int:
    from lab.commands.progress_cmd import write_file
    from lab.commands.report_html import render
    from lab.lesson.export import ExportError, read
    from lab.lesson.i18n import pick_lang

    if getattr(args, "class_command", None) != "report":
        raise LabError(
            "say what to do with the class", "e.g. shikumi class report *.json -o report.html"
        )
    lang = pick_lang(getattr(args, "lang", None))
    exports, left_out = [], []
    for path in args.files:
        try:
            exports.append(read(path))
        except ExportError as e:
            left_out.append(str(e))
            print(f"shikumi class report: {e}", file=sys.stderr)
    if not exports:
        raise LabError(
            "no usable export among the files given",
            "collect them with: shikumi progress --export NAME.json",
        )
    write_file(args.output, render(exports, lang, left_out))
    print(
        f"wrote {args.output}: {len(exports)} learner(s)"
        + (f", {len(left_out)} file(s) left out" if left_out else ""),
        file=sys.stderr,
    )
    return 0
