"""`shikumi serve`: the app in a real headless browser (Debian's chromium, driven
through the DevTools protocol), the token in front of a non-loopback bind, the
Host and Origin checks, and --read-only.

What the browser tests prove: the page loads, its websocket reaches an app
process that draws the lesson list (the text the page received over the socket
is read back, and a screenshot is kept), Enter opens lesson 01 and `r` runs its
first step for real (the learner's progress file then says it passed, written
by that app); `t` in a browser says how to practise instead of suspending; with
--read-only, `r` and `t` are refused on screen and nothing is written; with a
token, the page opened with it gets the lab and the one without is refused; a
server killed with SIGKILL leaves no app process behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from cdp import CHROMIUM, Browser, free_port

from lab.commands.serve_cmd import COOKIE, is_loopback, refusal

pytest.importorskip("textual_serve")
REPO = Path(__file__).resolve().parent.parent


# -- the checks, without a server ------------------------------------------------------
def test_loopback_addresses() -> None:
    assert all(map(is_loopback, ["127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"]))
    assert not any(map(is_loopback, ["0.0.0.0", "10.0.2.15", "::", "example.org"]))


def test_refusals() -> None:
    local = {"Host": "127.0.0.1:8000"}
    assert refusal(None, True, "/", {}, {}, local) == ""
    assert "Host 'evil.example:8000'" in refusal(
        None, True, "/", {}, {}, {"Host": "evil.example:8000"}
    )
    assert refusal(None, True, "/", {}, {}, {"Host": "[::1]:8000"}) == ""
    assert refusal(None, True, "/", {}, {}, {"Host": "localhost"}) == ""
    same = {**local, "Origin": "http://127.0.0.1:8000"}
    assert refusal(None, True, "/ws", {}, {}, same) == ""
    other = {**local, "Origin": "http://evil.example"}
    assert "may not open the lab" in refusal(None, True, "/ws", {}, {}, other)
    remote = {"Host": "10.0.2.15:8000"}
    assert "needs the token" in refusal("s3cret", False, "/", {}, {}, remote)
    assert "needs the token" in refusal("s3cret", False, "/", {"token": "wrong"}, {}, remote)
    assert refusal("s3cret", False, "/", {"token": "s3cret"}, {}, remote) == ""
    assert refusal("s3cret", False, "/ws", {}, {COOKIE: "s3cret"}, remote) == ""


@pytest.mark.parametrize(
    "argv", [["serve"], ["reset"], ["progress"], ["class"], ["class", "report"]]
)
def test_help(argv: list[str]) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "lab", *argv, "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0 and "usage: shikumi" in r.stdout


def test_a_port_in_use_is_one_line(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = subprocess.run(
            [sys.executable, "-m", "lab", "serve", "--port", str(port)],
            cwd=REPO,
            env=dict(os.environ, SHIKUMI_HOME=str(tmp_path / "home")),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.strip() == (
        f"shikumi serve: cannot serve on 127.0.0.1:{port}: error while attempting to bind on"
        f" address ('127.0.0.1', {port}): address already in use"
    )


# -- a real server -----------------------------------------------------------------------
def start(home: Path, *args: str) -> tuple[subprocess.Popen, str]:
    """`shikumi serve` on a free port: (the process, the URL it printed)."""
    port = free_port()
    env = dict(os.environ, SHIKUMI_HOME=str(home), PYTHONPATH=str(REPO))
    proc = subprocess.Popen(
        [sys.executable, "-m", "lab", "serve", "--port", str(port), "--lang", "en", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()
    m = re.search(r"at (http://\S+)", first)
    assert m, first
    deadline = time.monotonic() + 30
    while True:  # listening?
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/static/css/xterm.css", timeout=5)
            break
        except urllib.error.HTTPError:
            break  # it answered (403 without a token)
        except OSError:
            assert time.monotonic() < deadline, "shikumi serve never listened"
            time.sleep(0.2)
    return proc, m.group(1)


def stop(proc: subprocess.Popen) -> str:
    """End the server and whatever is left of its process group; its output."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        out, _ = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate(timeout=30)
    return out


@pytest.fixture
def served(tmp_path: Path, request) -> Iterator[tuple[str, Path]]:
    home = tmp_path / "home"
    proc, url = start(home, *getattr(request, "param", ()))
    try:
        yield url, home
    finally:
        out = stop(proc)
        assert "Traceback" not in out, out


def get(url: str, **headers: str) -> tuple[int, str, str]:
    req = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode(), r.headers.get("Set-Cookie", "")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), ""


@pytest.mark.parametrize("served", [("--host", "0.0.0.0")], indirect=True)
def test_a_non_loopback_bind_needs_the_token(served: tuple[str, Path]) -> None:
    url, _ = served
    m = re.fullmatch(r"http://[^/]+:(\d+)/\?token=([\w-]{20,})", url)
    assert m, url
    base = f"http://127.0.0.1:{m.group(1)}"
    for path in ("/", "/?token=wrong", "/static/js/textual.js", "/ws"):
        code, body, _ = get(base + path)
        assert code == 403 and "needs the token" in body, (path, code, body)
    code, body, cookie = get(f"{base}/?token={m.group(2)}")
    assert code == 200 and "data-session-websocket-url" in body
    assert cookie.startswith(f"{COOKIE}={m.group(2)}") and "HttpOnly" in cookie
    code, _, _ = get(base + "/static/js/textual.js", Cookie=f"{COOKIE}={m.group(2)}")
    assert code == 200
    assert "fonts.googleapis" not in body  # the page fetches nothing from outside


def test_loopback_needs_no_token_but_refuses_foreign_hosts_and_origins(
    served: tuple[str, Path],
) -> None:
    url, _ = served
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/", url)
    code, body, _ = get(url)
    assert code == 200 and "ws://127.0.0.1:" in body
    assert get(url, Host="rebound.example")[0] == 403
    ws = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13"}
    ws["Sec-WebSocket-Key"] = "dGhlIHNhbXBsZSBub25jZQ=="
    assert get(url + "ws", Origin="http://evil.example", **ws)[0] == 403


# -- in a real browser ---------------------------------------------------------------------
browser = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (provision.sh --test-tools)"
)
STEP_ONE = "Which Linux is this?"


def progress(home: Path) -> dict:
    try:
        return json.loads((home / "progress.json").read_text())["lessons"]
    except FileNotFoundError:
        return {}


async def open_lesson_01(b: Browser, url: str) -> None:
    await b.goto(url)
    await b.wait_for("document.body.classList.contains('-first-byte')")
    await b.wait_for_text("Where am I?")  # the lesson list, drawn by the app
    await b.key("Enter")  # the first lesson
    await b.wait_for_text(STEP_ONE)


@browser
@pytest.mark.root
@pytest.mark.kernel
async def test_in_a_browser_the_list_loads_and_a_step_runs(
    served: tuple[str, Path], tmp_path: Path
) -> None:
    url, home = served
    async with Browser.start(tmp_path) as b:
        await b.goto(url)
        await b.wait_for("document.body.classList.contains('-first-byte')")
        await b.wait_for_text("Where am I?")
        await b.wait_for_text("Namespace inodes")
        shot = await b.screenshot()
        assert shot.startswith(b"\x89PNG") and len(shot) > 20_000
        shots = Path(os.environ.get("SHIKUMI_SHOTS") or tmp_path)  # docs/img's come from here
        (shots / "serve-lesson-list.png").write_bytes(shot)
        await b.key("Enter")
        await b.wait_for_text(STEP_ONE)
        await b.key("r")  # run step 1 for real
        await b.wait_for_text("passed")
        (shots / "serve-step.png").write_bytes(await b.screenshot())
        deadline = time.monotonic() + 30
        while progress(home).get("01-where-am-i", {}).get("distro", {}).get("status") != "passed":
            assert time.monotonic() < deadline, progress(home)
            time.sleep(0.2)
        assert progress(home)["01-where-am-i"]["distro"]["attempts"] == 1
        await b.key("n")  # step 2 has a try: a browser cannot hand a terminal to a shell
        await b.key("t")
        await b.wait_for_text("sudo shikumi shell")


@browser
@pytest.mark.root
@pytest.mark.kernel
@pytest.mark.parametrize("served", [("--read-only",)], indirect=True)
async def test_read_only_refuses_to_run_a_step(served: tuple[str, Path], tmp_path: Path) -> None:
    url, home = served
    async with Browser.start(tmp_path) as b:
        await open_lesson_01(b, url)
        await b.key("r")
        await b.wait_for_text("a read-only view")
        await b.key("n")
        await b.key("t")
        await b.wait_for_text("cannot open a shell")
        text = await b.screen_text()
    assert "read-only" in text.split("cannot open a shell", 1)[1][:200]
    assert progress(home) == {}  # nothing written
    assert not (home / "run.lock").exists()  # no step ever took the home's run lock
    assert not (home / "work").exists()


@browser
@pytest.mark.root
@pytest.mark.kernel
async def test_a_browser_s_app_ends_when_the_server_is_killed(tmp_path: Path) -> None:
    """SIGKILL leaves textual-serve no chance to stop its apps: each app asked for
    SIGHUP at its parent's death (its guard then cleans up and ends it)."""
    import psutil

    proc, url = start(tmp_path / "home")
    try:
        async with Browser.start(tmp_path) as b:
            await b.goto(url)
            await b.wait_for_text("Where am I?")
            apps = psutil.Process(proc.pid).children(recursive=True)
            assert [a.cmdline()[1:3] for a in apps] == [["-m", "lab"]]  # exec: no shell between
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
            _, alive = psutil.wait_procs(apps, timeout=20)
            for a in alive:
                a.kill()
            assert alive == [], "an app outlived its server"
    finally:
        stop(proc)


@browser
@pytest.mark.root
@pytest.mark.kernel
@pytest.mark.parametrize("served", [("--host", "0.0.0.0")], indirect=True)
async def test_with_the_token_a_browser_gets_the_lab(
    served: tuple[str, Path], tmp_path: Path
) -> None:
    """The page opened with ?token= keeps it in a cookie that the websocket carries;
    the same page without it is refused."""
    url, _ = served
    m = re.fullmatch(r"http://[^/]+:(\d+)/\?token=([\w-]+)", url)
    assert m, url
    async with Browser.start(tmp_path) as b:
        await b.goto(f"http://127.0.0.1:{m.group(1)}/")  # no token yet
        await b.wait_for("document.body && document.body.innerText.includes('needs the token')")
        await b.goto(f"http://127.0.0.1:{m.group(1)}/?token={m.group(2)}")
        await b.wait_for_text("Where am I?")  # the websocket got through with the cookie
