"""What a check says it saw, in the learner's language.

A check's *reason* is one sentence a learner reads after ✓ or ✗: what was expected and
what was seen, in words. It never quotes a pattern (a failed try that quotes the regex
it wants teaches the learner to type the regex); a check with a pattern carries
``says``/``says_ja``, the words for what the pattern looks for, and the reason uses
those. ``say(key, lang, **values)`` formats one of the sentences below.
"""

from __future__ import annotations

import re
import string

_EN: dict[str, str] = {
    # how a command of the step ended (the runner's notes)
    "run.cancelled": "cancelled",
    "run.timeout": "timed out after {seconds} s (its whole process group was killed)",
    "run.nostart": "could not start: {error}",
    "run.cut": " (output cut)",
    "run.exited": "exited {status}",
    "run.expected.ok": "expected to fail with status {status}: it did",
    "run.expected.bad": "expected to fail with status {status}, but it exited {exit}",
    # where the text came from
    "where.step": "this step's output",
    "where.step.stderr": "this step's error output",
    "where.step.both": "this step's output (stdout and stderr)",
    "where.of": "the output of step “{of}”",
    "where.of.stderr": "the error output of step “{of}”",
    "where.of.both": "the output of step “{of}” (stdout and stderr)",
    "where.try": "what your shell showed",
    "where.file": "{path}",
    "where.command": "what the check's command printed",
    # searching
    "found": "{where} shows {says}: “{seen}”",
    "not.found": "{where} does not show {says} yet; its last line: “{last}”",
    "not.found.empty": "{where} does not show {says} yet (it is empty)",
    "says.default": "what this check looks for",
    # the state of the machine
    "path.none": "{path} does not exist",
    "path.kind": "{path} is a {kind}, not a {want}",
    "path.is": "{path} exists ({kind})",
    "path.still": "{path} still exists",
    "path.gone": "{path} does not exist",
    "kind.file": "file",
    "kind.dir": "directory",
    "kind.symlink": "symbolic link",
    "cannot.read": "cannot read {path}: {why}",
    "step.not.run": "step “{of}” has not run yet: run it first (r)",
    "exited": "step “{of}” ended with status {exit} (expected {want})",
    "cmd.start": "the check's command could not start: {why}",
    "cmd.slow": "the check's command did not finish within 30 s",
    "cmd.no": "not yet: the check's command ended with status {exit} (expected {want})",
    "cmd.no.said": "not yet: the check's command ended with status {exit} (expected {want}): “{said}”",
    "cmd.yes": "the check's command ended with status {exit}, as expected",
    "ns.no.proc": "process {pid} does not exist (or has no {type} namespace)",
    "ns.no.read": "cannot read /proc/{pid}/ns/{type}: {why}",
    "ns.differ.bad": "pid {a} and pid {b} are in different {types} namespaces ({pairs})",
    "ns.same.bad": "pid {a} and pid {b} share the {types} namespaces ({pairs})",
    "ns.same.ok": "pid {a} and pid {b} are in the same {types} namespaces",
    "ns.differ.ok": "pid {a} and pid {b} are in different {types} namespaces",
    "mount.ok": "{fstype} {source} is mounted on {target}{scope}",
    "mount.none.at": "nothing is mounted on {target}{scope}",
    "mount.none.type": "no {fstype} mount{scope}",
    "mount.none.both": "no {fstype} mount on {target}{scope}",
    "mount.scope": " in the mount namespace of pid {pid}",
    "mount.no.read": "cannot read the mounts of pid {pid}: {why}",
    "proc.none": "“{name}” has not been started yet: run the step that starts it first",
    "proc.dead": "“{name}” (pid {pid}) is not running any more",
    "proc.ok": "“{name}” is running as pid {pid}",
    # proc-status: one process's /proc/PID/status
    "ps.who.docker": "container {name}",
    "ps.who.runc": "runc container {id}",
    "ps.who.pid": "pid {pid}",
    "ps.docker.none": "Docker has no container “{name}” yet",
    "ps.docker.stopped": "container “{name}” exists but is not running",
    "ps.runc.none": "runc (--root {root}) has no container “{id}” yet",
    "ps.runc.state": "runc container “{id}” is {status}, not running",
    "ps.says.default": "the command line this check looks for",
    "ps.cmdline.none": "no running process has {says}",
    "ps.cmdline.bad": "the check's command-line pattern is not valid: {why}",
    "ps.cap.unknown": "the check names a capability the kernel does not have: “{name}”",
    "ps.cap.missing": "{who} does not hold {cap}, expected it to (CapEff {mask}: {count} capabilities)",
    "ps.cap.extra": "{who} still holds {cap}, expected it not to (CapEff {mask}: {count} capabilities)",
    "ps.field": "{who}: {field} is {seen}, expected {want}",
    "ps.absent": "absent",
    "ps.field.ok": "{field} {value}",
    "ps.holds": "holds {caps}",
    "ps.lacks": "lacks {caps}",
    "ps.join": "; ",
    "ps.comma": ", ",
    "ps.ok": "{who}: {what} (CapEff {mask}: {count} capabilities)",
    "ps.found": "{who} is running (CapEff {mask}: {count} capabilities)",
    "var.out": "step “{of}” has not run yet: run it first (r)",
    "var.pid": "“{name}” has not been started yet: run the step that starts it first",
    "broke": "the check broke: {why}",
    "cause.down": " — the link {link} is down (switch it on: ip link set {link} up)",
    "cause.lower": " — {link} is up but its other end is down (LOWERLAYERDOWN): switch the other end on",
}

_JA: dict[str, str] = {
    "run.cancelled": "取り消しました",
    "run.timeout": "{seconds} 秒で時間切れ（プロセスグループごと終了させました）",
    "run.nostart": "起動できませんでした：{error}",
    "run.cut": "（出力は途中まで）",
    "run.exited": "終了ステータス {status}",
    "run.expected.ok": "終了ステータス {status} で失敗するはずで、そのとおりになりました",
    "run.expected.bad": "終了ステータス {status} で失敗するはずが、{exit} で終了しました",
    "where.step": "このステップの出力",
    "where.step.stderr": "このステップのエラー出力",
    "where.step.both": "このステップの出力（標準出力と標準エラー）",
    "where.of": "ステップ「{of}」の出力",
    "where.of.stderr": "ステップ「{of}」のエラー出力",
    "where.of.both": "ステップ「{of}」の出力（標準出力と標準エラー）",
    "where.try": "あなたのシェルの表示",
    "where.file": "{path}",
    "where.command": "確認用コマンドの出力",
    "found": "{where}に{says}が見つかった：「{seen}」",
    "not.found": "{where}に{says}はまだ見つからない。最後の行：「{last}」",
    "not.found.empty": "{where}に{says}はまだ見つからない（空っぽ）",
    "says.default": "この確認が探しているもの",
    "path.none": "{path} は存在しない",
    "path.kind": "{path} は{kind}で、{want}ではない",
    "path.is": "{path} がある（{kind}）",
    "path.still": "{path} はまだある",
    "path.gone": "{path} は存在しない",
    "kind.file": "ファイル",
    "kind.dir": "ディレクトリ",
    "kind.symlink": "シンボリックリンク",
    "cannot.read": "{path} を読めない：{why}",
    "step.not.run": "ステップ「{of}」はまだ実行されていない。先に実行してください（r）",
    "exited": "ステップ「{of}」の終了ステータスは {exit}（期待は {want}）",
    "cmd.start": "確認用のコマンドを起動できなかった：{why}",
    "cmd.slow": "確認用のコマンドが 30 秒以内に終わらなかった",
    "cmd.no": "まだ：確認用コマンドの終了ステータスは {exit}（期待は {want}）",
    "cmd.no.said": "まだ：確認用コマンドの終了ステータスは {exit}（期待は {want}）：「{said}」",
    "cmd.yes": "確認用コマンドの終了ステータスは {exit}（期待どおり）",
    "ns.no.proc": "プロセス {pid} は存在しない（または {type} 名前空間がない）",
    "ns.no.read": "/proc/{pid}/ns/{type} を読めない：{why}",
    "ns.differ.bad": "pid {a} と pid {b} の {types} 名前空間が別々になっている（{pairs}）",
    "ns.same.bad": "pid {a} と pid {b} が {types} 名前空間を共有している（{pairs}）",
    "ns.same.ok": "pid {a} と pid {b} の {types} 名前空間は同じ",
    "ns.differ.ok": "pid {a} と pid {b} の {types} 名前空間は別々",
    "mount.ok": "{scope}{target} に {fstype}（{source}）がマウントされている",
    "mount.none.at": "{scope}{target} には何もマウントされていない",
    "mount.none.type": "{scope}{fstype} のマウントはない",
    "mount.none.both": "{scope}{target} に {fstype} のマウントはない",
    "mount.scope": "pid {pid} のマウント名前空間では、",
    "mount.no.read": "pid {pid} のマウントを読めない：{why}",
    "proc.none": "「{name}」はまだ起動していない。先にそれを起動するステップを実行してください",
    "proc.dead": "「{name}」（pid {pid}）はもう動いていない",
    "proc.ok": "「{name}」は pid {pid} で動いている",
    "ps.who.docker": "コンテナ {name}",
    "ps.who.runc": "runc のコンテナ {id}",
    "ps.who.pid": "pid {pid}",
    "ps.docker.none": "Docker にはまだコンテナ「{name}」がない",
    "ps.docker.stopped": "コンテナ「{name}」はあるが、動いていない",
    "ps.runc.none": "runc（--root {root}）にはまだコンテナ「{id}」がない",
    "ps.runc.state": "runc のコンテナ「{id}」は running ではなく {status}",
    "ps.says.default": "この確認が探しているコマンドライン",
    "ps.cmdline.none": "{says}を持つプロセスは動いていない",
    "ps.cmdline.bad": "確認のコマンドラインのパターンが正しくない：{why}",
    "ps.cap.unknown": "確認に、カーネルにないケーパビリティが書かれている：「{name}」",
    "ps.cap.missing": "{who} は {cap} を持っていない。期待は持っていること（CapEff {mask}：ケーパビリティ {count} 個）",
    "ps.cap.extra": "{who} はまだ {cap} を持っている。期待は持たないこと（CapEff {mask}：ケーパビリティ {count} 個）",
    "ps.field": "{who}：{field} は {seen}（期待は {want}）",
    "ps.absent": "項目なし",
    "ps.field.ok": "{field} は {value}",
    "ps.holds": "{caps} を持つ",
    "ps.lacks": "{caps} を持たない",
    "ps.join": "、",
    "ps.comma": "、",
    "ps.ok": "{who}：{what}（CapEff {mask}：ケーパビリティ {count} 個）",
    "ps.found": "{who} は動いている（CapEff {mask}：ケーパビリティ {count} 個）",
    "var.out": "ステップ「{of}」はまだ実行されていない。先に実行してください（r）",
    "var.pid": "「{name}」はまだ起動していない。先にそれを起動するステップを実行してください",
    "broke": "確認が壊れた：{why}",
    "cause.down": " — リンク {link} が DOWN のまま（ip link set {link} up で起動する）",
    "cause.lower": " — {link} は起動しているが、相手側の端が DOWN（LOWERLAYERDOWN）。もう一方の端を起動する",
}

WORDS: dict[str, dict[str, str]] = {"en": _EN, "ja": _JA}


_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")
_ASCII = re.compile(r"[A-Za-z0-9/~.‹›_-]")


def say(key: str, lang: str = "en", **values: object) -> str:
    """The sentence *key* in *lang* (English when *lang* is not known) with *values*.
    In Japanese a value in Latin letters (a path, a name) is set off from the Japanese
    around it by a space, as the lessons write it (``/srv/a.txt に``)."""
    table = WORDS.get(lang, _EN)
    template = table.get(key, _EN[key])
    if lang != "ja":
        return template.format(**values)
    parts = list(string.Formatter().parse(template))
    out: list[str] = []
    for i, (literal, name, spec, _conv) in enumerate(parts):
        out.append(literal)
        if name is None:
            continue
        v = format(values[name], spec or "")
        after = parts[i + 1][0][:1] if i + 1 < len(parts) else ""
        if v and literal and _CJK.match(literal[-1]) and _ASCII.match(v[0]):
            v = " " + v
        if v and after and _CJK.match(after) and _ASCII.match(v[-1]):
            v += " "
        out.append(v)
    return "".join(out)


def clip(line: str, width: int = 160) -> str:
    """A quoted line cut in the middle if it is very long (its end often says the most)."""
    line = " ".join(line.split())
    if len(line) <= width:
        return line
    head = width // 3
    return line[:head] + "…" + line[-(width - head - 1) :]
