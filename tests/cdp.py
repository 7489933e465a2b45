"""A headless Chromium driven through the DevTools protocol (aiohttp's websocket
client): open a page, evaluate JavaScript, type keys, take a screenshot.

    async with Browser.start(tmp_path) as b:
        await b.goto("http://127.0.0.1:8000/")
        await b.wait_for("document.body.classList.contains('-first-byte')")
        await b.key("Enter")
        png = await b.screenshot()
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# kept by the page: the text of every websocket message it receives (the app's screen)
CAPTURE = """(() => {
  const Real = window.WebSocket;
  window.__frames = [];
  const keep = (d) => {
    if (typeof d === "string") window.__frames.push(d);
    else if (d instanceof ArrayBuffer) window.__frames.push(new TextDecoder().decode(d));
    else if (d instanceof Blob) d.text().then((t) => window.__frames.push(t));
  };
  function Capturing(url, protocols) {
    const ws = protocols === undefined ? new Real(url) : new Real(url, protocols);
    ws.addEventListener("message", (e) => keep(e.data));
    return ws;
  }
  Capturing.prototype = Real.prototype;
  for (const k of ["CONNECTING", "OPEN", "CLOSING", "CLOSED"]) Capturing[k] = Real[k];
  window.WebSocket = Capturing;
})();"""
ANSI = re.compile(r"\x1b(\[[0-9;?<>=]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[@-Z\\-_])")
KEYS = {  # key -> (code, windowsVirtualKeyCode, text)
    "Enter": ("Enter", 13, "\r"),
    "Escape": ("Escape", 27, ""),
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Browser:
    def __init__(self, proc: subprocess.Popen, ws: Any, session: Any) -> None:
        self.proc, self.ws, self.session = proc, ws, session
        self.ids = itertools.count(1)

    @classmethod
    @contextlib.asynccontextmanager
    async def start(cls, tmp: Path, width: int = 1280, height: int = 800):
        import aiohttp

        assert CHROMIUM, "chromium is not installed"
        port = free_port()
        proc = subprocess.Popen(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",  # as root
                "--disable-gpu",
                "--no-first-run",
                f"--user-data-dir={tmp / 'chromium-profile'}",
                f"--remote-debugging-port={port}",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        session = aiohttp.ClientSession()
        try:
            target = await cls._page_target(session, port)
            ws = await session.ws_connect(target, max_msg_size=64 * 2**20)
            browser = cls(proc, ws, session)
            await browser.call("Page.enable")
            await browser.call("Runtime.enable")
            await browser.call("Page.addScriptToEvaluateOnNewDocument", source=CAPTURE)
            yield browser
        finally:
            await session.close()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)

    @staticmethod
    async def _page_target(session: Any, port: int) -> str:
        deadline = time.monotonic() + 30
        while True:
            try:
                async with session.get(f"http://127.0.0.1:{port}/json/list") as r:
                    pages = [t for t in await r.json() if t.get("type") == "page"]
                    if pages:
                        return str(pages[0]["webSocketDebuggerUrl"])
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("chromium's DevTools did not answer in 30 s")
            await asyncio.sleep(0.2)

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        n = next(self.ids)
        await self.ws.send_str(json.dumps({"id": n, "method": method, "params": params}))
        while True:
            msg = await asyncio.wait_for(self.ws.receive_json(), timeout=30)
            if msg.get("id") == n:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return dict(msg.get("result", {}))

    async def goto(self, url: str) -> None:
        await self.call("Page.navigate", url=url)

    async def js(self, expression: str) -> Any:
        r = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return r.get("result", {}).get("value")

    async def wait_for(self, expression: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not await self.js(expression):
            if time.monotonic() > deadline:
                raise TimeoutError(f"still false after {timeout} s: {expression}")
            await asyncio.sleep(0.2)

    async def key(self, key: str) -> None:
        """Press *key* (a name in KEYS, or one character) in the focused terminal."""
        await self.js("document.querySelector('.xterm-helper-textarea').focus()")
        if key in KEYS:
            code, vk, text = KEYS[key]
        else:
            code, vk, text = f"Key{key.upper()}", ord(key.upper()), key
        common = dict(key=key, code=code, windowsVirtualKeyCode=vk, nativeVirtualKeyCode=vk)
        await self.call("Input.dispatchKeyEvent", type="keyDown", text=text, **common)
        await self.call("Input.dispatchKeyEvent", type="keyUp", **common)

    async def screenshot(self) -> bytes:
        r = await self.call("Page.captureScreenshot", format="png")
        return base64.b64decode(r["data"])

    async def screen_text(self) -> str:
        """Everything the app has sent to this page so far, without escape sequences."""
        frames = await self.js("window.__frames ? window.__frames.join('') : ''")
        return ANSI.sub("", str(frames or ""))

    async def wait_for_text(self, text: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while text not in await self.screen_text():
            if time.monotonic() > deadline:
                raise TimeoutError(f"the app never showed {text!r} in {timeout} s")
            await asyncio.sleep(0.3)
