"""The class report: one self-contained HTML page from several progress exports.

    page = render(exports, lang="en", left_out=["b.json: damaged export (…); left out"])

Learners × steps coloured by how each step went (done / with hints / with the
solution / tried / not reached), the steps where most learners needed help, and
a chart of the time per lesson (inline SVG). Plain escaped HTML and inline CSS:
no script, nothing fetched, so it opens offline and prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape

from lab.lesson.export import Export, kind
from lab.lesson.progress import StepRecord

COLOURS = {
    "done": "#2e9d5b",
    "hinted": "#e0b43a",
    "solution": "#9b59b6",
    "tried": "#d9534f",
    "not_reached": "#e6e8eb",
}
TOP = 10  # steps listed under "where the class needed help"

WORDS = {
    "en": {
        "title": "shikumi class report",
        "made": "made {when} from {n} export(s)",
        "left_out": "left out",
        "legend": "legend",
        "done": "done on their own",
        "hinted": "done, with hints",
        "solution": "done with the solution",
        "tried": "tried, not done",
        "not_reached": "not reached",
        "grid": "Learners × steps",
        "learner": "learner",
        "steps_done": "done",
        "help": "Where the class needed help",
        "help_note": "learners per step, ranked by those who used hints or the solution",
        "step": "step",
        "lesson": "lesson",
        "hinted_n": "saw hints",
        "solution_n": "used the solution",
        "stuck_n": "not done",
        "attempts": "attempts (avg)",
        "none_help": "nobody needed a hint or the solution.",
        "time": "Time per lesson",
        "time_note": "average time on screen per learner who opened the lesson (minutes)",
        "learners": "learners",
        "no_data": "no learner has started a lesson yet.",
        "tip": "{learner} · {step}: {how} · attempts {attempts}, hints {hints}, time {time}",
    },
    "ja": {
        "title": "shikumi クラスレポート",
        "made": "{when} 作成 ({n} 件のエクスポートから)",
        "left_out": "除外したファイル",
        "legend": "凡例",
        "done": "自力で完了",
        "hinted": "ヒントを見て完了",
        "solution": "解答を使って完了",
        "tried": "挑戦したが未完了",
        "not_reached": "未着手",
        "grid": "学習者 × ステップ",
        "learner": "学習者",
        "steps_done": "完了",
        "help": "助けが必要だったステップ",
        "help_note": "ステップごとの学習者数 (ヒントや解答を使った人の多い順)",
        "step": "ステップ",
        "lesson": "レッスン",
        "hinted_n": "ヒントを見た",
        "solution_n": "解答を使った",
        "stuck_n": "未完了",
        "attempts": "試行 (平均)",
        "none_help": "ヒントも解答も使われませんでした。",
        "time": "レッスンごとの時間",
        "time_note": "レッスンを開いた学習者一人あたりの平均画面時間 (分)",
        "learners": "人",
        "no_data": "まだ誰もレッスンを始めていません。",
        "tip": "{learner} · {step}: {how} · 試行 {attempts}、ヒント {hints}、時間 {time}",
    },
}


@dataclass
class Column:
    lesson: str
    step: str
    title: dict[str, str]


def _clock(seconds: float) -> str:
    s = round(seconds)
    return f"{s // 60}:{s % 60:02d}"


def _names(exports: list[Export]) -> list[str]:
    """Each learner's label; a name seen twice gets its file's name beside it."""
    seen: dict[str, int] = {}
    for ex in exports:
        seen[ex.learner] = seen.get(ex.learner, 0) + 1
    return [ex.learner if seen[ex.learner] == 1 else f"{ex.learner} ({ex.path})" for ex in exports]


def columns(exports: list[Export]) -> tuple[list[Column], dict[str, dict[str, str]]]:
    """Every step any export lists, lesson by lesson (ids in order), each lesson's
    steps in the order of the first export that has it: (columns, lesson titles)."""
    order: dict[str, list[Column]] = {}
    titles: dict[str, dict[str, str]] = {}
    for ex in exports:
        for lesson in ex.lessons:
            cols = order.setdefault(lesson.id, [])
            titles.setdefault(lesson.id, lesson.title)
            have = {c.step for c in cols}
            cols += [Column(lesson.id, s.id, s.title) for s in lesson.steps if s.id not in have]
    return [c for lid in sorted(order) for c in order[lid]], titles


def _records(ex: Export) -> dict[tuple[str, str], StepRecord]:
    return {(le.id, s.id): s.record for le in ex.lessons for s in le.steps}


def _reached(exports: list[Export]) -> set[str]:
    return {
        le.id
        for ex in exports
        for le in ex.lessons
        for s in le.steps
        if kind(s.record) != "not_reached"
    }


def _grid(exports: list[Export], cols: list[Column], titles: dict, lang: str) -> str:
    w = WORDS[lang]
    names = _names(exports)
    lessons: list[tuple[str, int]] = []
    for c in cols:
        if lessons and lessons[-1][0] == c.lesson:
            lessons[-1] = (c.lesson, lessons[-1][1] + 1)
        else:
            lessons.append((c.lesson, 1))
    head1 = "".join(
        f'<th colspan="{n}" class="lesson" title="{escape(titles[lid].get(lang, lid))}">'
        f"{escape(lid.split('-', 1)[0])}</th>"
        for lid, n in lessons
    )
    numbers: list[int] = []  # each step's number within its lesson
    for i, c in enumerate(cols):
        numbers.append(numbers[-1] + 1 if i and cols[i - 1].lesson == c.lesson else 1)
    head2 = "".join(
        f'<th class="stepno" title="{escape(c.lesson)} · {escape(c.title.get(lang, c.step))}">'
        f"{n}</th>"
        for c, n in zip(cols, numbers, strict=True)
    )
    rows = []
    for ex, name in zip(exports, names, strict=True):
        recs = _records(ex)
        cells, done = [], 0
        for c in cols:
            rec = recs.get((c.lesson, c.step), StepRecord())
            how = kind(rec)
            done += how in ("done", "hinted", "solution")
            tip = w["tip"].format(
                learner=name,
                step=f"{c.lesson} {c.title.get(lang, c.step)}",
                how=w[how],
                attempts=rec.attempts,
                hints=rec.hints,
                time=_clock(rec.seconds),
            )
            cells.append(f'<td class="c {how}" title="{escape(tip)}"></td>')
        rows.append(
            f'<tr><th class="who">{escape(name)}</th><td class="n">{done}/{len(cols)}</td>'
            + "".join(cells)
            + "</tr>"
        )
    return (
        f'<table class="grid"><thead><tr><th rowspan="2">{w["learner"]}</th>'
        f'<th rowspan="2">{w["steps_done"]}</th>{head1}</tr><tr>{head2}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _help(exports: list[Export], cols: list[Column], lang: str) -> str:
    w = WORDS[lang]
    recs = [_records(ex) for ex in exports]
    ranked = []
    for c in cols:
        got = [r[(c.lesson, c.step)] for r in recs if (c.lesson, c.step) in r]
        hinted = sum(1 for r in got if r.hints)
        solved = sum(1 for r in got if r.solutions)
        stuck = sum(1 for r in got if kind(r) == "tried")
        helped = sum(1 for r in got if r.hints or r.solutions)
        tries = [r.attempts for r in got if r.attempts]
        if helped or stuck:
            avg = sum(tries) / len(tries) if tries else 0.0
            ranked.append((helped, stuck, sum(r.hints for r in got), c, hinted, solved, avg))
    if not ranked:
        return f"<p>{w['none_help']}</p>"
    ranked.sort(key=lambda t: (-t[0], -t[1], -t[2], t[3].lesson))
    body = "".join(
        f"<tr><td>{escape(c.lesson)}</td><td>{escape(c.title.get(lang, c.step))}</td>"
        f'<td class="n">{hinted}</td><td class="n">{solved}</td><td class="n">{stuck}</td>'
        f'<td class="n">{avg:.1f}</td></tr>'
        for _, stuck, _, c, hinted, solved, avg in ranked[:TOP]
    )
    return (
        f'<p class="note">{w["help_note"]}</p><table class="help"><thead><tr>'
        f"<th>{w['lesson']}</th><th>{w['step']}</th>"
        f"<th>{w['hinted_n']}</th><th>{w['solution_n']}</th><th>{w['stuck_n']}</th>"
        f"<th>{w['attempts']}</th></tr></thead><tbody>{body}</tbody></table>"
    )


def time_chart(exports: list[Export], titles: dict, lang: str) -> str:
    """A horizontal bar per lesson: the average time per learner who spent any."""
    per: dict[str, list[float]] = {}
    for ex in exports:
        for le in ex.lessons:
            spent = sum(s.record.seconds for s in le.steps)
            if spent > 0:
                per.setdefault(le.id, []).append(spent)
    if not per:
        return f"<p>{WORDS[lang]['no_data']}</p>"
    rows = [(lid, sum(v) / len(v), len(v)) for lid, v in sorted(per.items())]
    top = max(avg for _, avg, _ in rows)
    label_w, bar_w, row_h = 230, 420, 26
    height = row_h * len(rows) + 10
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{label_w + bar_w + 150}"'
        f' height="{height}" role="img" aria-label="{escape(WORDS[lang]["time"])}">'
    ]
    for i, (lid, avg, n) in enumerate(rows):
        y = 5 + i * row_h
        width = max(2.0, bar_w * avg / top)
        name = titles.get(lid, {}).get(lang, lid)
        short = name if len(name) <= 28 else name[:27] + "…"
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 17}" text-anchor="end">'
            f"{escape(lid.split('-', 1)[0])} {escape(short)}</text>"
            f'<rect x="{label_w}" y="{y + 3}" width="{width:.1f}" height="{row_h - 8}"'
            f' fill="#3b7dd8"><title>{escape(lid)}: {_clock(avg)}</title></rect>'
            f'<text x="{label_w + width + 6:.1f}" y="{y + 17}">{avg / 60:.1f} min'
            f" · {n} {escape(WORDS[lang]['learners'])}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


CSS = """
body { font-family: "Noto Sans CJK JP", "Noto Sans", "DejaVu Sans", sans-serif; margin: 24px;
       color: #1d2329; background: #fff; }
h1 { margin: 0 0 4px; } h2 { margin-top: 28px; }
.made, .note { color: #5b6670; margin: 4px 0 12px; }
.left-out { background: #fff4e5; border-left: 4px solid #e0a030; padding: 8px 12px; }
.left-out li { font-family: monospace; }
.legend span { display: inline-block; margin-right: 16px; }
.legend i { display: inline-block; width: 14px; height: 14px; vertical-align: -2px;
            margin-right: 4px; border-radius: 3px; }
table { border-collapse: collapse; }
.grid th, .grid td { padding: 0; }
.grid th.lesson { border-left: 2px solid #fff; background: #eef1f4; font-size: 12px;
                  padding: 2px 4px; }
.grid th.stepno { font-size: 10px; color: #5b6670; font-weight: normal; width: 18px; }
.grid th.who { text-align: left; padding: 2px 10px 2px 0; white-space: nowrap; }
.grid td.c { width: 18px; height: 18px; border: 2px solid #fff; border-radius: 4px; }
td.n { text-align: right; padding: 2px 10px; font-variant-numeric: tabular-nums; }
.help th, .help td { border-bottom: 1px solid #e6e8eb; padding: 4px 10px; text-align: left;
                   white-space: nowrap; }
.chart text { font-size: 13px; fill: #1d2329; }
"""


def render(exports: list[Export], lang: str = "en", left_out: list[str] | None = None) -> str:
    """The page (a str of HTML) for *exports*; *left_out*: one line per file not used."""
    w = WORDS[lang if lang in WORDS else "en"]
    lang = lang if lang in WORDS else "en"
    cols, titles = columns(exports)
    reached = _reached(exports)
    shown = [c for c in cols if c.lesson in reached]
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    out = [
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">',
        f"<title>{w['title']}</title><style>{CSS}</style></head><body>",
        f"<h1>{w['title']}</h1>",
        f'<p class="made">{escape(w["made"].format(when=when, n=len(exports)))}</p>',
    ]
    if left_out:
        items = "".join(f"<li>{escape(line)}</li>" for line in left_out)
        out.append(f'<div class="left-out"><b>{w["left_out"]}</b><ul>{items}</ul></div>')
    legend = "".join(f'<span><i style="background:{COLOURS[k]}"></i>{w[k]}</span>' for k in COLOURS)
    out.append(f'<p class="legend">{legend}</p>')
    out.append(f"<h2>{w['grid']}</h2>")
    out.append(_grid(exports, shown, titles, lang) if shown else f"<p>{w['no_data']}</p>")
    out.append(f"<h2>{w['help']}</h2>")
    out.append(_help(exports, shown, lang))
    out.append(f'<h2>{w["time"]}</h2><p class="note">{w["time_note"]}</p>')
    out.append(time_chart(exports, titles, lang))
    colours = "".join(f".c.{k} {{ background: {v}; }}" for k, v in COLOURS.items())
    out.append(f"<style>{colours}</style></body></html>\n")
    return "\n".join(out)
