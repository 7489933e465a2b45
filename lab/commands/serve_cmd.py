"""`shikumi serve [--host H] [--port P] [--read-only]`: the app in a browser.

textual-serve (an aiohttp app) starts one app process per browser tab and
relays its screen over a websocket. The lab runs as root, so whoever reaches
the page gets a root lab; hence, in front of textual-serve's routes:

- bound to 127.0.0.1 by default; any other address needs a random token,
  printed at start (``http://HOST:PORT/?token=…``). The page given with the
  right token sets it as a cookie (HttpOnly, SameSite=Strict) that the
  websocket and the static files then carry; a request without it gets 403.
- on a loopback address the Host header must be a loopback name (a page
  elsewhere cannot reach the lab through DNS rebinding);
- the websocket's Origin, when a browser sends one, must be this server (a
  page on another site cannot open a socket to the lab: 403).

``--read-only`` starts every app with SHIKUMI_READ_ONLY=1: steps do not run,
shells do not open, progress is not written (lab/lesson/serving.py).
The page is served without textual-serve's web font link (it works offline).
"""

from __future__ import annotations

import argparse
import hmac
import ipaddress
import os
import secrets
import shlex
import sys
from html import escape
from typing import Any
from urllib.parse import urlsplit

from lab.errors import LabError

COOKIE = "shikumi_token"
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1", "[::1]")

PAGE = """<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<title>{title}</title>
<link rel="stylesheet" href="/static/css/xterm.css">
<script src="/static/js/textual.js"></script>
<style>
@font-face {{ font-family: "Roboto Mono";
  src: url("/static/fonts/RobotoMono-VariableFont_wght.ttf") format("truetype"); }}
body {{ background: #0c181f; margin: 0; }}
.textual-terminal {{ width: 100vw; height: 100vh; opacity: 0; transition: opacity 0.3s; }}
body.-first-byte .textual-terminal {{ opacity: 1; }}
.note {{ position: absolute; inset: 0; display: flex; align-items: center;
  justify-content: center; color: #eee; font: 16px "Roboto Mono", monospace; }}
body.-first-byte .starting {{ display: none; }}
.ended {{ display: none; }}
body.-closed .ended {{ display: flex; background: #0c181f; }}
.ended a {{ color: #9cf; margin-left: 1em; }}
</style>
</head>
<body>
<div class="note starting">{starting}</div>
<div class="note ended">{ended} <a href="/">{again}</a></div>
<div id="terminal" class="textual-terminal"
     data-session-websocket-url="{ws_url}" data-font-size="{font_size}"></div>
</body>
</html>
"""

WORDS = {
    "en": {
        "starting": "starting shikumi…",
        "ended": "The session ended.",
        "again": "Start again",
        "at": "the lab in a browser at {url}",
        "read_only": " (read-only: steps do not run, shells do not open)",
        "token": "  anyone with this address gets a root lab: share it only with your class;"
        " a request without the token is refused",
        "stop": "  stop it with Ctrl+C",
    },
    "ja": {
        "starting": "shikumi を起動しています…",
        "ended": "セッションが終了しました。",
        "again": "もう一度",
        "at": "ブラウザで開けます: {url}",
        "read_only": " (閲覧専用: ステップの実行もシェルもできません)",
        "token": "  このアドレスを知る人は root のラボを使えます。クラスの人にだけ伝えてください。"
        "トークンのない要求は拒否します",
        "stop": "  Ctrl+C で止まります",
    },
}


def is_loopback(host: str) -> bool:
    if host.strip("[]") in ("localhost", "::1"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _host_name(host_header: str) -> str:
    """The name in a Host header, without the port ("[::1]:8000" -> "[::1]")."""
    if host_header.startswith("["):
        return host_header.split("]", 1)[0] + "]"
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


def refusal(
    token: str | None, loopback: bool, path: str, query: dict, cookies: dict, headers: Any
) -> str:
    """Why a request is refused ('' if it is let in)."""
    host = headers.get("Host", "")
    if loopback and _host_name(host) not in LOOPBACK_NAMES:
        return f"this lab is served on a loopback address; Host {host!r} is not one"
    origin = headers.get("Origin")
    if path == "/ws" and origin is not None and urlsplit(origin).netloc != host:
        return f"a page from {origin!r} may not open the lab"
    if token is not None:
        given = str(query.get("token") or cookies.get(COOKIE) or "")
        if not hmac.compare_digest(given.encode(), token.encode()):
            return "this lab needs the token printed when shikumi serve started (…/?token=…)"
    return ""


def make_server(
    command: str, host: str, port: int, token: str | None, lang: str, title: str
) -> Any:
    """A textual-serve Server with the checks above in front of its routes."""
    from aiohttp import web
    from textual_serve.server import Server

    loopback = is_loopback(host)

    @web.middleware
    async def guard(request: web.Request, handler: Any) -> web.StreamResponse:
        why = refusal(
            token, loopback, request.path, request.query, request.cookies, request.headers
        )
        if why:
            raise web.HTTPForbidden(text=f"shikumi serve: {why}\n")
        response = await handler(request)
        if token is not None and request.path == "/" and request.query.get("token"):
            response.set_cookie(COOKIE, token, httponly=True, samesite="Strict")
        return response

    class LabServer(Server):
        async def _make_app(self) -> web.Application:
            app = await super()._make_app()
            app.middlewares.append(guard)
            return app

        async def handle_index(self, request: web.Request) -> web.Response:  # type: ignore[override]
            scheme = "wss" if request.secure else "ws"
            try:
                font = max(8, min(40, int(request.query.get("fontsize", "16"))))
            except ValueError:
                font = 16
            page = PAGE.format(
                lang=lang,
                title=escape(title),
                ws_url=escape(f"{scheme}://{request.host}/ws"),
                font_size=font,
                **{k: escape(v) for k, v in WORDS[lang].items()},
            )
            return web.Response(text=page, content_type="text/html")

        async def on_startup(self, app: web.Application) -> None:
            pass  # the command prints its own start lines

    return LabServer(command, host=host, port=port, title=title)


def cmd_serve(args: argparse.Namespace) -> int:
    from lab.lesson import serving
    from lab.lesson.i18n import pick_lang

    try:
        import textual_serve  # noqa: F401
    except ImportError:
        raise LabError(
            "textual-serve is not installed", "./run.sh installs it (pip install textual-serve)"
        ) from None
    if not 0 < args.port < 65536:
        raise LabError(f"port {args.port} is not a TCP port", "give one from 1 to 65535")
    lang = pick_lang(getattr(args, "lang", None))
    host = args.host
    token = None if is_loopback(host) else secrets.token_urlsafe(24)
    argv = [sys.executable, "-m", "lab", "--lang", lang]
    if args.read_only:
        os.environ[serving.READ_ONLY_ENV] = "1"  # every app this server starts reads it
    shown = f"[{host}]" if ":" in host else host
    if host in ("0.0.0.0", "::"):
        import socket

        shown = socket.gethostname()
    url = f"http://{shown}:{args.port}/" + (f"?token={token}" if token else "")
    w = WORDS[lang]
    mode = w["read_only"] if args.read_only else ""
    print("shikumi serve: " + w["at"].format(url=url) + mode, flush=True)
    if token:
        print(w["token"], flush=True)
    print(w["stop"], flush=True)
    # exec: the app is the server's own child (it gets SIGHUP if the server dies)
    server = make_server("exec " + shlex.join(argv), host, args.port, token, lang, "shikumi")
    try:
        server.serve()
    except OSError as e:
        raise LabError(f"cannot serve on {host}:{args.port}: {e.strerror or e}") from None
    return 0
