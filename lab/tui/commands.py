"""The app's one command table: every key, its action, its label and what it does.

The key bindings (``bindings(scope, lang)``), the command palette (``palette(scope,
lang)``) and the help screen's rows (``help_rows(lang)``) are all made from ``COMMANDS``,
in English and Japanese. Labels are keys of the string catalog (lab/tui/strings.py).

Scopes: "app" (ShikumiApp, everywhere), "list" (the lesson list), "lesson" (a lesson).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from textual.binding import Binding
from textual.dom import DOMNode

from lab.tui.strings import s

SCOPES = ("app", "list", "lesson")


@dataclass(frozen=True)
class Command:
    scope: str
    keys: str  # Textual key names, comma-separated ("" for a help row only)
    action: str
    label: str  # strings key of the footer / palette label
    show: bool = True  # in the footer
    priority: bool = False
    palette: tuple[str, str] | None = None  # what it does, (en, ja), in the command palette
    help: tuple[str, str, str] | None = None  # (keys as shown, en, ja) for the help screen
    help_rank: int = 0  # the help screen's order


COMMANDS: tuple[Command, ...] = (
    # -- everywhere --
    Command(
        "app",
        "q",
        "quit",
        "key.quit",
        help=("q", "quit (cleans up first)", "終了 (後片付けしてから)"),
        help_rank=16,
    ),
    Command(
        "app",
        "l",
        "toggle_lang",
        "key.lang",
        palette=("English / 日本語", "English / 日本語"),
        help=("l", "English / 日本語", "English / 日本語"),
        help_rank=10,
    ),
    Command(
        "app",
        "question_mark",
        "help",
        "key.help",
        palette=("what each key does", "各キーの働き"),
        help=("?", "this help", "このヘルプ"),
        help_rank=15,
    ),
    Command(
        "app",
        "b",
        "big",
        "key.big",
        show=False,
        palette=("big screen: fewer, wider columns", "拡大表示: 列を減らして大きく"),
        help=(
            "b",
            "big screen: fewer, wider columns (projector)",
            "拡大表示: 列を減らして大きく (プロジェクタ向け)",
        ),
        help_rank=11,
    ),
    Command(
        "app",
        "d",
        "toggle_dark",
        "key.theme",
        show=False,
        help=("d", "light / dark theme", "ライト / ダーク テーマ"),
        help_rank=13,
    ),
    Command(
        "app",
        "",
        "command_palette",
        "key.palette",
        help=(
            "Ctrl+P",
            "command palette: every action by name",
            "コマンドパレット: すべての操作を名前で",
        ),
        help_rank=14,
    ),
    # -- the lesson list --
    Command("list", "enter", "open", "key.open", priority=True),
    # -- a lesson --
    Command(
        "lesson",
        "r",
        "run",
        "key.run",
        palette=(
            "run this step's commands, views and checks",
            "このステップのコマンド・ビュー・チェックを実行",
        ),
        help=(
            "r",
            "run the step: its commands, views and checks (every command is shown before it runs)",
            "ステップを実行: コマンド・ビュー・チェック (実行前にコマンドを表示)",
        ),
        help_rank=1,
    ),
    Command(
        "lesson",
        "n,right",
        "next",
        "key.next",
        palette=("go to the next step", "次のステップへ"),
        help=("n  →", "next step", "次のステップ"),
        help_rank=2,
    ),
    Command(
        "lesson",
        "p,left",
        "previous",
        "key.prev",
        palette=("go to the previous step", "前のステップへ"),
        help=("p  ←", "previous step", "前のステップ"),
        help_rank=3,
    ),
    Command(
        "lesson",
        "g",
        "jump",
        "key.jump",
        palette=("jump to a step", "ステップへ移動"),
        help=("g  1–9", "jump to a step", "ステップへ移動"),
        help_rank=4,
    ),
    Command(
        "lesson",
        "h",
        "hint",
        "key.hint",
        palette=("show one more hint", "ヒントをもう一つ表示"),
        help=("h", "a hint (one more each press)", "ヒント (押すたびに一つずつ)"),
        help_rank=5,
    ),
    Command(
        "lesson",
        "s",
        "solution",
        "key.solution",
        palette=("show the solution", "解答を表示"),
        help=(
            "s / S",
            "show the solution / run the step with it",
            "解答を表示 / 解答でステップを実行",
        ),
        help_rank=6,
    ),
    Command(
        "lesson",
        "S",
        "run_solution",
        "key.run_solution",
        show=False,
        palette=("run the step with its solution", "解答でステップを実行"),
    ),
    Command(
        "lesson",
        "t",
        "try_it",
        "key.try",
        palette=(
            "a real shell in the step's context; checks run when you exit",
            "ステップの環境で本物のシェル。exit でチェック",
        ),
        help=(
            "t",
            "try it yourself: a real shell in the step's context; exit it to run the checks",
            "自分でやってみる: ステップの環境で本物のシェル。exit でチェック",
        ),
        help_rank=7,
    ),
    Command(
        "lesson",
        "R",
        "reset",
        "key.reset",
        palette=("clean up the lesson and start it again", "レッスンを片付けて最初から"),
        help=(
            "R",
            "reset the lesson: clean up everything it made, start again",
            "レッスンをリセット: 作ったものを片付けて最初から",
        ),
        help_rank=8,
    ),
    Command(
        "lesson",
        "escape",
        "back",
        "key.back",
        palette=("back to the lesson list", "レッスン一覧へ"),
        help=(
            "Esc",
            "back to the lessons (while a step runs: cancel it)",
            "レッスン一覧へ (実行中はステップを中断)",
        ),
        help_rank=9,
    ),
    Command(
        "lesson",
        "o",
        "outline",
        "key.outline",
        show=False,
        palette=("show or hide the step outline", "ステップ一覧の表示/非表示"),
        help=("o", "show or hide the step outline", "ステップ一覧の表示/非表示"),
        help_rank=12,
    ),
    *(Command("lesson", str(n), f"goto({n})", "key.jump", show=False) for n in range(1, 10)),
)


def commands(scope: str) -> list[Command]:
    """The commands of *scope*, in table order."""
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r} (one of {', '.join(SCOPES)})")
    return [c for c in COMMANDS if c.scope == scope]


def bindings(scope: str, lang: str = "en") -> list[Binding]:
    """The key bindings of *scope*, labelled in *lang* (each binding's id is its label key)."""
    return [
        Binding(c.keys, c.action, s(c.label, lang), show=c.show, id=c.label, priority=c.priority)
        for c in commands(scope)
        if c.keys
    ]


def palette(scope: str, lang: str) -> Iterator[tuple[str, str, str]]:
    """(title, help, action) of each command of *scope* the palette offers."""
    for c in commands(scope):
        if c.palette is not None:
            yield s(c.label, lang), c.palette[lang == "ja"], c.action


def help_rows(lang: str) -> list[tuple[str, str]]:
    """(keys, what they do) for the help screen, in its order."""
    rows = sorted((c for c in COMMANDS if c.help is not None), key=lambda c: c.help_rank)
    return [(c.help[0], c.help[2] if lang == "ja" else c.help[1]) for c in rows if c.help]


def localize(node: DOMNode, lang: str) -> None:
    """Label *node*'s bindings from this table in *lang* (the footer shows them).

    Textual 8 has no public way to change a binding's description once a node has its
    bindings, so each table binding is replaced by the same binding with the other label.
    """
    labels = {c.label for c in COMMANDS}
    table = node._bindings.key_to_bindings
    for k, found in table.items():
        table[k] = [
            Binding(
                b.key,
                b.action,
                s(b.id, lang),
                show=b.show,
                key_display=b.key_display,
                priority=b.priority,
                tooltip=b.tooltip,
                id=b.id,
                system=b.system,
                group=b.group,
            )
            if b.id in labels
            else b
            for b in found
        ]
    if node.is_attached:
        node.refresh_bindings()
