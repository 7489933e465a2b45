"""The app's one command table: every key, its action, its label and what it does.

The key bindings (``bindings(scope)``), the footer's labels (``label(action, lang)``,
read by lab/tui/widgets/footer.py), the command palette (``palette(scope, lang)``) and
the help screen's rows (``help_rows(lang)``) are all made from ``COMMANDS``, in English
and Japanese. Labels are keys of the string catalog (lab/tui/strings.py).

Scopes: "app" (ShikumiApp, everywhere), "list" (the lesson list), "lesson" (a lesson).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from textual.binding import Binding

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
    extra: bool = False  # its footer key hides on a narrow terminal (CSS: .-narrow .-extra)


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
        extra=True,
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
        palette=("big screen: one panel at a time", "拡大表示: パネルを一つずつ"),
        help=(
            "b",
            "big screen (projector): one panel at a time, roomy, the step's point first",
            "拡大表示 (プロジェクタ向け): パネルを一つずつ、余白を広く、要点から",
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
        extra=True,
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
        extra=True,
        palette=("go to the previous step", "前のステップへ"),
        help=("p  ←", "previous step", "前のステップ"),
        help_rank=3,
    ),
    Command(
        "lesson",
        "g",
        "jump",
        "key.jump",
        extra=True,
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
        extra=True,
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
            "a real shell in the step's context; the checks follow each command",
            "ステップの環境で本物のシェル。コマンドごとにチェック",
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
        extra=True,
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
            "back to the lessons (while a step runs: cancel it; zoomed: back)",
            "レッスン一覧へ (実行中はステップを中断、最大化中は元に戻す)",
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
    Command(
        "lesson",
        "z",
        "zoom",
        "key.zoom",
        palette=("zoom the focused panel (again: back)", "選択中のパネルを最大化 (もう一度で戻る)"),
        help=(
            "z",
            "zoom: the focused panel fills the screen (z or Esc again: back)",
            "最大化: 選択中のパネルを全画面に (z か Esc で戻る)",
        ),
        help_rank=9,
    ),
    Command(
        "lesson",
        "v",
        "next_panel",
        "key.panel",
        extra=True,
        palette=("the next panel (output, views)", "次のパネル (出力・ビュー)"),
        help=(
            "Tab  v",
            "the next panel; on a small screen one panel shows at a time: v shows the next",
            "次のパネルへ。小さい画面では一度に一つ: v で次を表示",
        ),
        help_rank=9,
    ),
    Command(
        "lesson",
        "e",
        "explain",
        "key.explain",
        extra=True,
        palette=("the step's whole text, or only its title", "ステップの説明全文 / 題名だけ"),
        help=(
            "e",
            "after a run the text folds to the step's title and commands: e unfolds it",
            "実行後は説明が題名とコマンドだけに畳まれます: e で全文",
        ),
        help_rank=9,
    ),
    Command(
        "lesson",
        "pagedown",
        "scroll_page(1)",
        "key.scroll",
        priority=True,  # over the focused panel's own (hidden) PgDn: the footer shows it
        help=(
            "PgDn PgUp  ↑ ↓",
            "scroll the focused panel (Home / End: its top / end)",
            "選択中のパネルをスクロール (Home / End: 先頭 / 末尾)",
        ),
        help_rank=9,
    ),
    Command("lesson", "pageup", "scroll_page(-1)", "key.scroll", show=False, priority=True),
    *(Command("lesson", str(n), f"goto({n})", "key.jump", show=False) for n in range(1, 10)),
)


def commands(scope: str) -> list[Command]:
    """The commands of *scope*, in table order."""
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r} (one of {', '.join(SCOPES)})")
    return [c for c in COMMANDS if c.scope == scope]


def bindings(scope: str, lang: str = "en") -> list[Binding]:
    """The key bindings of *scope*, labelled in *lang* (each binding's id is its label key);
    the footer shows each label in the app's language as it changes (``label``)."""
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


def label(action: str, lang: str) -> str | None:
    """The footer label of *action* in *lang*, from this table (None if it has no row)."""
    name = action.rpartition(".")[2]  # "app.quit" → "quit"
    found = next((c for c in COMMANDS if c.action == name), None)
    return s(found.label, lang) if found is not None else None


def is_extra(action: str) -> bool:
    """Whether *action*'s footer key may hide on a narrow terminal (help and the palette
    list it still)."""
    name = action.rpartition(".")[2]
    found = next((c for c in COMMANDS if c.action == name), None)
    return found is not None and found.extra
