"""`ami-wizard serve`: the wizard in browsers (a classroom), with textual-serve.

Each browser connection gets its own wizard process (textual-serve spawns one per websocket)
on its own practice image: `--mode demo` (the practice instance of `ami-wizard demo`) or
`--mode learn` (a fresh course per learner, seeded by `--seed`/`--level`). Every session lives
in a private temp dir (its practice image, its XDG state: journals, course progress) under the
server's own temp root; the session removes its dir on a normal exit, SIGTERM and SIGHUP, and
the server removes the whole root when it stops (so even a killed session leaves nothing).
"""

from __future__ import annotations

import argparse
import atexit
import ipaddress
import os
import shlex
import shutil
import signal
import socket
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType
from typing import Any

from wizard.errors import UsageError

MODES = ("demo", "learn")
DEFAULT_PORT = 8000
DEFAULT_MAX_SESSIONS = 20
FULL_MESSAGE = "The classroom is full: {n} sessions are running. Try again when one ends."


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register `serve` on the main parser's subcommands."""
    p = sub.add_parser(
        "serve",
        help="serve the wizard on practice images to browsers (a classroom)",
        epilog="Every browser gets its own practice image, removed when the browser goes. "
        "Anyone who can reach HOST:PORT gets a session: keep the default 127.0.0.1 unless "
        "the network is the classroom's.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help="port (default 8000)")
    p.add_argument(
        "--max-sessions",
        type=int,
        default=DEFAULT_MAX_SESSIONS,
        metavar="N",
        help=f"at most N browsers at once (default {DEFAULT_MAX_SESSIONS})",
    )
    p.add_argument("--mode", choices=MODES, default="demo", help="demo (default) or learn")
    p.add_argument("--seed", type=int, metavar="N", help="learn: every learner's seed")
    p.add_argument("--level", help="learn: basic, real-world or tricky")
    # the per-browser process (textual-serve runs it): not for people
    p.add_argument("--session-root", help=argparse.SUPPRESS)


def cmd_serve(args: argparse.Namespace) -> int:
    if args.session_root:
        return run_session(args)
    _check_args(args)
    if not ipaddress.ip_address(_resolve(args.host)).is_loopback:
        print(
            f"ami-wizard: WARNING: serving on {args.host}: anyone who can reach "
            f"{args.host}:{args.port} gets a wizard session (no login, no TLS)",
            file=sys.stderr,
        )
    _check_port_free(args.host, args.port)
    root = Path(tempfile.mkdtemp(prefix="ami-wizard-serve-"))
    try:
        server = ClassroomServer(
            _session_command(args, root),
            host=args.host,
            port=args.port,
            max_sessions=args.max_sessions,
            title=f"ami-wizard {args.mode}",
        )
        print(f"ami-wizard: serving {args.mode} on {server.public_url}", file=sys.stderr)
        server.serve()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


def _check_args(args: argparse.Namespace) -> None:
    if not 0 < args.port < 65536:
        raise UsageError(f"--port {args.port}: not a port (1-65535)")
    if args.max_sessions < 1:
        raise UsageError("--max-sessions must be at least 1")
    if args.level is not None:
        from wizard.learn_scenario import LEVELS

        if args.level not in LEVELS:
            raise UsageError(f"--level {args.level}: one of {', '.join(LEVELS)}")


def _resolve(host: str) -> str:
    try:
        return str(socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)[0][4][0])
    except (OSError, UnicodeError):
        raise UsageError(f"--host {host}: not an address of this machine") from None


def _check_port_free(host: str, port: int) -> None:
    addr = _resolve(host)
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((addr, port))
        except OSError as exc:
            raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror}") from None


def _session_command(args: argparse.Namespace, root: Path) -> str:
    argv = [sys.executable, "-m", "wizard.cli", "serve", "--mode", args.mode]
    argv += ["--session-root", str(root)]
    if args.seed is not None:
        argv += ["--seed", str(args.seed)]
    if args.level:
        argv += ["--level", args.level]
    # textual-serve starts the command with a shell; `exec` makes the wizard that shell's
    # process, so the signals it sends reach the wizard itself
    return "exec " + shlex.join(argv)


def _make_server_class() -> type:
    from aiohttp import web
    from textual_serve.server import Server

    class _ClassroomServer(Server):
        """textual-serve's Server with a cap on concurrent sessions (it has none).

        Over the cap the page says so (HTTP 503) and a websocket that still arrives is closed
        with code 1013 (try again later) and the same message, before any process starts."""

        def __init__(self, command: str, *, max_sessions: int, **kw: Any) -> None:
            super().__init__(command, **kw)
            self.max_sessions = max_sessions
            self.sessions = 0

        def _full(self) -> str | None:
            if self.sessions >= self.max_sessions:
                return FULL_MESSAGE.format(n=self.sessions)
            return None

        async def handle_index(self, request: web.Request) -> Any:
            full = self._full()
            if full:
                return web.Response(
                    status=503,
                    text=f"<html><body><h1>{full}</h1></body></html>",
                    content_type="text/html",
                )
            return await super().handle_index(request)

        async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
            full = self._full()
            if full:
                ws = web.WebSocketResponse()
                await ws.prepare(request)
                await ws.close(code=1013, message=full.encode()[:120])
                return ws
            self.sessions += 1
            try:
                return await super().handle_websocket(request)
            finally:
                self.sessions -= 1

    return _ClassroomServer


def ClassroomServer(command: str, **kw: Any) -> Any:
    """A textual-serve server for COMMAND with a session cap (aiohttp is imported only here)."""
    return _make_server_class()(command, **kw)


# -- the per-browser session process ------------------------------------------------------


_RUNNING: list[Any] = []  # the session's Textual app, once built (for the signal handler)


def _exit_on_signal(signum: int, _frame: FrameType | None) -> None:
    """SIGTERM/SIGHUP: ask the running app to exit through its own loop (an exception raised
    inside asyncio's loop tears its tasks down half-way); a second signal, or one before the
    app runs, exits at once. Either way the `finally` of run_session removes the dir."""
    app = _RUNNING.pop() if _RUNNING else None  # taken: a second signal finds none
    loop = getattr(app, "_loop", None)
    if app is None or loop is None:
        raise SystemExit(128 + signum)
    loop.call_soon_threadsafe(app.exit, None, 128 + signum)


def _remove_dir(home: Path, patience: float = 5.0) -> None:
    """Remove the session dir, again if a worker thread still wrote into it meanwhile."""
    deadline = time.monotonic() + patience
    while True:
        shutil.rmtree(home, ignore_errors=True)
        if not os.path.lexists(home) or time.monotonic() > deadline:
            return
        time.sleep(0.1)


def _run_app(app: Any) -> int:
    _RUNNING[:] = [app]
    try:
        app.run()
    finally:
        _RUNNING.clear()
    return int(app.return_code or 0)


def run_session(args: argparse.Namespace) -> int:
    """One browser's wizard: a private dir for its practice image and state, removed at exit."""
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _exit_on_signal)
    home = Path(tempfile.mkdtemp(prefix="session-", dir=args.session_root))
    atexit.register(_remove_dir, home, 1.0)  # after worker threads are joined, a last look
    try:
        os.environ["XDG_STATE_HOME"] = str(home / "state")
        os.environ["TMPDIR"] = str(home)
        tempfile.tempdir = str(home)  # every later mkdtemp (practice image, learn) goes here
        if args.mode == "learn":
            return _run_learn(args)
        from screens.app import make_app

        return _run_app(make_app("demo"))
    finally:
        _remove_dir(home)


def _run_learn(args: argparse.Namespace) -> int:
    from screens.learn import LearnApp
    from wizard.learn import LearnRun
    from wizard.learn_progress import load_course

    run = LearnRun.start(load_course(args.seed, args.level))
    try:
        run.save()  # no practice AWS account per browser: a moto server each is too heavy
        code = _run_app(LearnApp(run))
        run.save()
        return code
    finally:
        run.close()
