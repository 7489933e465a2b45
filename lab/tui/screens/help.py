"""Help: what each key does, in the app's language."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from lab.tui import applog
from lab.tui.strings import s

_HELP = {
    "en": [
        (
            "r",
            "run the step: its commands, views and checks (every command is shown before it runs)",
        ),
        ("n  →", "next step"),
        ("p  ←", "previous step"),
        ("g  1–9", "jump to a step"),
        ("h", "a hint (one more each press)"),
        ("s / S", "show the solution / run the step with it"),
        ("t", "try it yourself: a real shell in the step's context; exit it to run the checks"),
        ("R", "reset the lesson: clean up everything it made, start again"),
        ("Esc", "back to the lessons (while a step runs: cancel it)"),
        ("l", "English / 日本語"),
        ("b", "big screen: fewer, wider columns (projector)"),
        ("o", "show or hide the step outline"),
        ("d", "light / dark theme"),
        ("Ctrl+P", "command palette: every action by name"),
        ("?", "this help"),
        ("q", "quit (cleans up first)"),
    ],
    "ja": [
        ("r", "ステップを実行: コマンド・ビュー・チェック (実行前にコマンドを表示)"),
        ("n  →", "次のステップ"),
        ("p  ←", "前のステップ"),
        ("g  1–9", "ステップへ移動"),
        ("h", "ヒント (押すたびに一つずつ)"),
        ("s / S", "解答を表示 / 解答でステップを実行"),
        ("t", "自分でやってみる: ステップの環境で本物のシェル。exit でチェック"),
        ("R", "レッスンをリセット: 作ったものを片付けて最初から"),
        ("Esc", "レッスン一覧へ (実行中はステップを中断)"),
        ("l", "English / 日本語"),
        ("b", "拡大表示: 列を減らして大きく (プロジェクタ向け)"),
        ("o", "ステップ一覧の表示/非表示"),
        ("d", "ライト / ダーク テーマ"),
        ("Ctrl+P", "コマンドパレット: すべての操作を名前で"),
        ("?", "このヘルプ"),
        ("q", "終了 (後片付けしてから)"),
    ],
}


def help_table(lang: str) -> Table:
    table = Table(box=None, show_header=False, padding=(0, 2))
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column()
    for k, what in _HELP.get(lang, _HELP["en"]):
        table.add_row(k, what)
    return table


@applog.guarded
class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,question_mark,q", "close", "Close")]  # noqa: RUF012

    def __init__(self, lang: str) -> None:
        super().__init__()
        self.lang = lang

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="dialog"):
            yield Static(s("help.title", self.lang), classes="dialog-title")
            yield Static(help_table(self.lang))
            yield Static(s("help.close", self.lang), classes="dialog-foot")

    def action_close(self) -> None:
        self.dismiss(None)
