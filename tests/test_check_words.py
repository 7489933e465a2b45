"""What checks say: what was expected and what was seen, in the learner's language, never
the pattern nor the check's command. No root: the outputs are real ActionResults put in a
Context, and a `command` check's command runs for real through a bounded bash."""

from __future__ import annotations

import re
import string
import subprocess
from pathlib import Path

import pytest

from lab.lesson import check_words, checks, checks_proc
from lab.lesson.context import Context
from lab.lesson.execute import Completed
from lab.lesson.model import ActionResult
from lab.lesson.variables import Variables
from tests.lessonkit import check

REGEX_BITS = ("/^", "\\s", "\\S", "\\d", ".*", "[^", "\\A", "\\Z", "(?", "$/")


def _bash(command: str, in_name: str, timeout: float) -> Completed:
    p = subprocess.run(
        ["bash", "-c", command], capture_output=True, text=True, timeout=timeout, check=False
    )
    return Completed(exit=p.returncode, stdout=p.stdout, stderr=p.stderr)


@pytest.fixture
def ctx(tmp_path: Path) -> Context:
    v = Variables(home=tmp_path, work=tmp_path / "work", lesson=tmp_path)
    c = Context(v, step_id="find-lib", runner=_bash)
    out = "linux-vdso.so.1\n/lib/x86_64-linux-gnu/libselinux.so.1\n"
    c.results["find-lib"] = [ActionResult("run", "ldd", 0, stdout=out)]
    c.results["typed"] = [ActionResult("try", "", 0, stdout="$ ls\nbin etc\n$ exit\n")]
    return c


LIB = {
    "pattern": r"^/\S+\.so[.\d]*$",
    "says": "the full path of one library file",
    "says_ja": "ライブラリファイル一つのフルパス",
}


def _ev(ctx: Context, kind: str, lang: str = "en", **params) -> checks.CheckResult:
    ctx.lang = lang
    return checks.evaluate(check(kind, "a library was found", **params), ctx)


def test_a_match_says_what_was_looked_for_and_quotes_what_was_seen(ctx: Context) -> None:
    r = _ev(ctx, "output-matches", **LIB)
    assert r.ok
    assert r.reason == (
        "this step's output shows the full path of one library file: "
        "“/lib/x86_64-linux-gnu/libselinux.so.1”"
    )
    ja = _ev(ctx, "output-matches", "ja", **LIB)
    assert ja.reason.startswith("このステップの出力にライブラリファイル一つのフルパスが見つかった")


def test_a_miss_never_quotes_the_pattern(ctx: Context) -> None:
    p = {**LIB, "pattern": r"^lo\s+UNKNOWN\s+127\.0\.0\.1/8"}
    for lang in ("en", "ja"):
        r = _ev(ctx, "output-matches", lang, **p)
        assert not r.ok
        assert "libselinux.so.1" in r.reason  # what was seen: the last line
        assert "UNKNOWN" not in r.reason and not any(b in r.reason for b in REGEX_BITS)
    assert (
        "does not show the full path of one library file yet"
        in _ev(ctx, "output-matches", **p).reason
    )


def test_a_failed_try_quotes_what_the_shell_showed_not_the_pattern(ctx: Context) -> None:
    r = _ev(ctx, "output-matches", of="typed", pattern="^ESCAPED: ", says="a line ESCAPED")
    assert not r.ok and r.reason.startswith("what your shell showed does not show a line ESCAPED")
    assert "^ESCAPED" not in r.reason


def test_without_says_the_words_are_generic_never_the_pattern(ctx: Context) -> None:
    r = _ev(ctx, "output-matches", pattern=r"^nothing\s+here$")
    assert not r.ok and "what this check looks for" in r.reason and "\\s" not in r.reason


def test_a_long_line_is_quoted_whole_up_to_160_characters(ctx: Context) -> None:
    line = "x" * 150
    ctx.results["find-lib"] = [ActionResult("run", "", 0, stdout=line + "\n")]
    r = _ev(ctx, "output-matches", pattern="^y", says="a y")
    assert line in r.reason  # no cut at ~80 columns
    assert len(check_words.clip("y" * 500)) == 160


def test_the_cause_is_named_a_step_not_run_yet(ctx: Context) -> None:
    for kind, params in (
        ("output-matches", {"of": "later", **LIB}),
        ("exit-status", {"of": "later", "status": 0}),
        ("path-exists", {"path": "{{out.later}}/x"}),
    ):
        r = _ev(ctx, kind, **params)
        assert not r.ok and r.reason == "step “later” has not run yet: run it first (r)", r
        ja = _ev(ctx, kind, "ja", **params)
        assert ja.reason.startswith("ステップ「later」はまだ実行されていない"), ja
    r = _ev(ctx, "ns-same", a="box", b="self")
    assert r.reason == "“box” has not been started yet: run the step that starts it first"
    r = _ev(ctx, "path-exists", path="/proc/{{pid.box}}")
    assert "“box” has not been started yet" in r.reason and "{{" not in r.reason


def test_a_command_check_never_quotes_its_command(ctx: Context) -> None:
    run = "printf 'eth0 DOWN\\n' | grep -q 'shk-secret-word'"
    r = _ev(ctx, "command", run=run)
    assert not r.ok and r.reason == "not yet: the check's command ended with status 1 (expected 0)"
    assert "shk-secret-word" not in r.reason
    said = _ev(ctx, "command", "ja", run="echo 'the link shkweb-h is down' >&2; exit 1")
    assert said.reason == (
        "まだ：確認用コマンドの終了ステータスは 1（期待は 0）：「the link shkweb-h is down」"
    )
    ok = _ev(ctx, "command", run="echo eth0 UP", pattern=r"^eth0\s+UP$", says="eth0, up")
    assert ok.ok and ok.reason == "what the check's command printed shows eth0, up: “eth0 UP”"


def test_proc_status_says_what_it_expected_and_saw_in_both_languages(ctx: Context) -> None:
    """proc-status, on this test's own process: its reasons come from check_words."""
    mine = Path("/proc/self/status").read_text()
    nnp = next(ln.split()[1] for ln in mine.splitlines() if ln.startswith("NoNewPrivs:"))
    ok = _ev(ctx, "proc-status", "ja", pid="self", fields={"NoNewPrivs": nnp})
    assert ok.ok and ok.reason.startswith(f"pid {_pid(ctx)}：NoNewPrivs は {nnp}（CapEff ")
    bad = _ev(ctx, "proc-status", "ja", pid="self", fields={"NoNewPrivs": "7"})
    assert not bad.ok and bad.reason == f"pid {_pid(ctx)}：NoNewPrivs は {nnp}（期待は 7）"
    bad = _ev(ctx, "proc-status", "en", pid="self", fields={"Nope": "1"})
    assert bad.reason == f"pid {_pid(ctx)}: Nope is absent, expected 1"


def _pid(ctx: Context) -> int:
    return ctx.pid("self")


def test_proc_status_by_cmdline_never_quotes_its_pattern(ctx: Context) -> None:
    p = {
        "cmdline": r"^no-such-program \d+ [^x]*$",
        "says": "the command line of a program that does not exist",
        "says_ja": "存在しないプログラムのコマンドライン",
    }
    for lang, want in (
        ("en", "no running process has the command line of a program that does not exist"),
        ("ja", "存在しないプログラムのコマンドラインを持つプロセスは動いていない"),
    ):
        r = _ev(ctx, "proc-status", lang, **p)
        assert not r.ok and r.reason == want
    r = _ev(ctx, "proc-status", "ja", cmdline=r"^no-such-program \d+$")
    assert r.reason == "この確認が探しているコマンドラインを持つプロセスは動いていない"
    assert not any(bit in r.reason for bit in REGEX_BITS)


def test_proc_status_names_the_missing_capability(ctx: Context) -> None:
    caps = Path("/proc/self/status").read_text()
    mask = next(ln.split()[1] for ln in caps.splitlines() if ln.startswith("CapEff:"))
    held = checks_proc.decode(mask)
    if held:  # as root: it holds cap_chown and more; says so when told it should not
        r = _ev(ctx, "proc-status", "ja", pid="self", lacks_caps=[held[0]])
        assert not r.ok
        assert r.reason.startswith(f"pid {_pid(ctx)} はまだ {held[0]} を持っている。")
        assert f"ケーパビリティ {len(held)} 個" in r.reason
    missing = [f"cap_{c}" for c in checks_proc.CAP_NAMES if f"cap_{c}" not in held]
    if missing:
        r = _ev(ctx, "proc-status", "en", pid="self", has_caps=[missing[0]])
        assert not r.ok
        assert r.reason.startswith(f"pid {_pid(ctx)} does not hold {missing[0]}, expected it to")
    r = _ev(ctx, "proc-status", "ja", pid="self", has_caps=["not_a_cap"])
    assert r.reason == "確認に、カーネルにないケーパビリティが書かれている：「not_a_cap」"


def test_path_words_in_both_languages(ctx: Context, tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    r = _ev(ctx, "path-exists", "ja", path=str(tmp_path / "f"), type="dir")
    assert r.reason == f"{tmp_path / 'f'} はファイルで、ディレクトリではない"
    r = _ev(ctx, "file-contains", "ja", path=str(tmp_path / "f"), pattern="^y", says="y の行")
    assert r.reason == f"{tmp_path / 'f'} に y の行はまだ見つからない。最後の行：「x」"


def test_every_sentence_has_both_languages_with_the_same_blanks() -> None:
    en, ja = check_words.WORDS["en"], check_words.WORDS["ja"]
    assert set(en) == set(ja)
    fields = string.Formatter()
    for key in en:
        names_en = {f for _, f, _, _ in fields.parse(en[key]) if f}
        names_ja = {f for _, f, _, _ in fields.parse(ja[key]) if f}
        assert names_en == names_ja, key
        words = re.sub(r"\{\w+\}", "", ja[key])
        assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", words) or not re.search(
            r"[a-z]{4}", words
        ), f"{key}: {ja[key]!r} reads as English"


def test_a_link_that_is_down_is_named_as_the_cause(ctx: Context) -> None:
    out = "lo               UNKNOWN        127.0.0.1/8\nshktwo-c@if7     LOWERLAYERDOWN 10.213.0.3/24\n"
    p = {"pattern": r"shktwo-c\S*\s+UP\s+10\.213\.0\.3/24", "says": "the end shktwo-c, up"}
    r = _ev(ctx, "command", run=f"printf '{out}'", **p)
    assert not r.ok and r.reason.endswith(
        "— shktwo-c is up but its other end is down (LOWERLAYERDOWN): switch the other end on"
    )
    r = _ev(ctx, "command", "ja", run="printf 'eth0 DOWN\\n'", **p)
    assert "リンク eth0 が DOWN のまま（ip link set eth0 up で起動する）" in r.reason
    assert "\\s" not in r.reason
