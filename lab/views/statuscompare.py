"""``statuscompare``: /proc/PID/status of two or three processes side by side
(slides 13–14): one row per field, one column per process, values that are not
the same in every column lit, and what each field means (``explain`` /
``explain_ja``, with built-in defaults for the usual fields)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table
from rich.text import Text

from lab.host import procfs

PARAMS: dict[str, tuple[Any, bool]] = {
    "pids": (list, True),  # 2 or 3 of: a number, a spawned name, "self", "host"
    "labels": (list, False),
    "labels_ja": (list, False),  # the labels in Japanese (default: labels)
    "keys": (list, False),  # default: procfs.KEY_FIELDS
    "explain": (dict, False),
    "explain_ja": (dict, False),
    "title": (str, False),
    "title_ja": (str, False),
}

EXPLAIN = {
    "Name": "program name (at most 15 characters)",
    "State": "R running, S sleeping, D waiting for I/O, T stopped, Z zombie",
    "Pid": "process ID",
    "PPid": "parent's process ID",
    "Uid": "user IDs: real, effective, saved, filesystem",
    "Gid": "group IDs: real, effective, saved, filesystem",
    "Threads": "threads in the process",
    "VmRSS": "physical memory in use now",
    "VmSize": "virtual memory mapped",
    "NSpid": "its PID in each PID namespace, outermost first",
    "CapEff": "capabilities in effect (a bit mask of root's powers)",
    "Cpus_allowed_list": "CPUs it may run on",
}
EXPLAIN_JA = {
    "Name": "プログラム名（最大 15 文字）",
    "State": "R 実行中、S 待機中、D I/O 待ち、T 停止、Z ゾンビ",
    "Pid": "プロセス ID",
    "PPid": "親プロセスの ID",
    "Uid": "ユーザー ID：実・実効・保存・ファイルシステム",
    "Gid": "グループ ID：実・実効・保存・ファイルシステム",
    "Threads": "プロセス内のスレッド数",
    "VmRSS": "いま使っている物理メモリ",
    "VmSize": "確保している仮想メモリ",
    "NSpid": "PID 名前空間ごとの PID（外側から順に）",
    "CapEff": "有効なケーパビリティ（root の権限のビットマスク）",
    "Cpus_allowed_list": "実行してよい CPU",
}


@dataclass
class Proc:
    label: str
    pid: int
    fields: dict[str, str] = field(default_factory=dict)
    error: str = ""  # the status file could not be read (gone, no permission)
    label_ja: str = ""


@dataclass
class Row:
    key: str
    values: list[str]  # one per process; "" when the field is absent
    differ: bool
    explain: str = ""
    explain_ja: str = ""


@dataclass
class StatusCompareData:
    title: str
    procs: list[Proc]
    rows: list[Row]
    title_ja: str = ""


def collect(ctx: Any, **p: Any) -> StatusCompareData:
    specs = list(p["pids"])
    if not 2 <= len(specs) <= 3:
        raise ValueError("statuscompare needs 2 or 3 pids")
    labels = [str(x) for x in p.get("labels") or []]
    labels_ja = [str(x) for x in p.get("labels_ja") or []]
    procs = []
    for i, spec in enumerate(specs):
        pid = ctx.pid(spec)
        label = labels[i] if i < len(labels) and labels[i] else str(spec)
        label_ja = labels_ja[i] if i < len(labels_ja) and labels_ja[i] else label
        try:
            procs.append(Proc(label, pid, procfs.status(pid).fields, label_ja=label_ja))
        except OSError as e:
            procs.append(Proc(label, pid, error=e.strerror or str(e), label_ja=label_ja))
    keys = [str(k) for k in p.get("keys") or procfs.KEY_FIELDS]
    ex = {**EXPLAIN, **(p.get("explain") or {})}
    ex_ja = {**EXPLAIN_JA, **(p.get("explain_ja") or {})}
    rows = []
    for k in keys:
        values = [pr.fields.get(k, "") for pr in procs]
        readable = [v for v, pr in zip(values, procs, strict=True) if not pr.error]
        rows.append(
            Row(k, values, len(set(readable)) > 1, str(ex.get(k, "")), str(ex_ja.get(k, "")))
        )
    title = str(p.get("title", ""))
    return StatusCompareData(title, procs, rows, str(p.get("title_ja", "")) or title)


WIDE = 90  # from this many cells on, the meanings get a column; below, a legend under the table


class StatusTable:
    """The table, laid out for the width it gets: a meaning column when there is room,
    otherwise the meanings as a legend below (a squeezed column wraps every word)."""

    def __init__(self, data: StatusCompareData, lang: str) -> None:
        self.data, self.lang = data, lang

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield from _render(self.data, self.lang, options.max_width >= WIDE)


def _value(v: str) -> str:
    return " ".join(v.split())  # Uid/Gid are tab-separated: keep them on one short line


def _render(data: StatusCompareData, lang: str, wide: bool) -> list[Any]:
    ja = lang == "ja"
    title = (data.title_ja or data.title) if ja else data.title
    default = "/proc/PID/status を並べて" if ja else "/proc/PID/status side by side"
    t = Table(title=title or default, title_justify="left")
    t.add_column("項目" if ja else "field", style="bold cyan", no_wrap=True)
    for pr in data.procs:
        label = (pr.label_ja or pr.label) if ja else pr.label
        t.add_column(f"{label}\nPID {pr.pid}", overflow="fold")
    if wide:
        t.add_column("意味" if ja else "meaning", style="dim", overflow="fold")
    absent = "（なし）" if ja else "—"
    legend = Table.grid(padding=(0, 1))
    legend.add_column(style="bold cyan", no_wrap=True)
    legend.add_column(style="dim")
    for r in data.rows:
        cells = []
        for v, pr in zip(r.values, data.procs, strict=True):
            if pr.error:
                cells.append(Text(pr.error, style="red"))
            else:
                cells.append(Text(_value(v) or absent, style="bold yellow" if r.differ else ""))
        note = (r.explain_ja or r.explain) if ja else (r.explain or r.explain_ja)
        t.add_row(r.key, *cells, *([note] if wide else []))
        if note:
            legend.add_row(r.key, note)
    if wide or not legend.row_count:
        return [t]
    return [t, Text("意味" if ja else "what the fields mean", style="bold"), legend]


def render(data: StatusCompareData, lang: str = "en") -> StatusTable:
    return StatusTable(data, lang)
