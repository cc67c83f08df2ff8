"""`ami-wizard serve` in a real browser: Debian's headless chromium driven by Selenium, on
127.0.0.1 only. The page opens, the first screen arrives, keys fix a guideline on the
session's own practice image, the session cap answers the browser over it, and every
practice dir is gone when its browser closes (and the server's root when it stops)."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

# Every byte the page receives on its websocket, kept for the test to read: textual-serve's
# terminal draws on a canvas, so the screen's text is not in the DOM.
RECORD_WS = """
(() => {
  const Orig = window.WebSocket; window.__wsText = "";
  window.WebSocket = function (...a) {
    const ws = new Orig(...a);
    ws.addEventListener("message", (e) => {
      if (typeof e.data === "string") { window.__wsText += e.data; }
      else if (e.data instanceof Blob) { e.data.text().then((t) => { window.__wsText += t; }); }
      else { window.__wsText += new TextDecoder().decode(e.data); }
    });
    ws.addEventListener("close", (e) => { window.__wsClosed = e.code + " " + e.reason; });
    return ws;
  };
  window.WebSocket.prototype = Orig.prototype;
  Object.assign(window.WebSocket, Orig);
})();
"""
ANSI = re.compile(r"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b[\]P_][^\x07\x1b]*(\x07|\x1b\\)?|\x1b.")


SERVE = [sys.executable, "-m", "wizard.cli", "serve"]


def start_server(tmp: Path, port: int, *argv: str) -> subprocess.Popen[str]:
    """`ami-wizard serve` on 127.0.0.1:PORT with its temp root and state under TMP."""
    return subprocess.Popen(
        [*SERVE, "--port", str(port), *argv],
        env=dict(os.environ, TMPDIR=str(tmp), XDG_STATE_HOME=str(tmp / "state")),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(what: str, cond: Callable[[], object], timeout: float = 60.0) -> object:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = cond()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def chromium() -> webdriver.Chrome:
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for flag in (
        "--headless=new",
        "--no-proxy-server",
        # nothing resolves but loopback: the page's web font (fonts.googleapis.com) and any
        # update or sync request fail here instead of leaving the machine
        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-sync",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-default-apps",
        "--disable-extensions",
        "--disable-dev-shm-usage",
        "--window-size=1280,900",
    ):
        opts.add_argument(flag)
    if os.geteuid() == 0:
        opts.add_argument("--no-sandbox")  # chromium refuses to start as root with its sandbox
    driver = webdriver.Chrome(options=opts, service=Service("/usr/bin/chromedriver"))
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": RECORD_WS})
    return driver


def screen_text(driver: webdriver.Chrome) -> str:
    return ANSI.sub("", str(driver.execute_script("return window.__wsText || ''")))


def tree_hash(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        h.update(str(p.relative_to(root)).encode())
        if p.is_file() and not p.is_symlink():
            h.update(p.read_bytes())
    return h.hexdigest()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    port = free_port()
    proc = start_server(tmp_path, port, "--max-sessions", "1")

    def listening() -> bool:
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", port)) == 0

    try:
        wait_for("the server to listen", listening, 30)
        yield f"http://127.0.0.1:{port}/", tmp_path
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert not list(tmp_path.glob("ami-wizard-serve-*")), "the server left its root behind"


def practice_dirs(tmp: Path) -> list[Path]:
    return list(tmp.glob("ami-wizard-serve-*/session-*/ami-wizard-practice-*"))


def test_a_browser_fixes_a_guideline_and_its_practice_dir_goes(
    server: tuple[str, Path],
) -> None:
    url, tmp = server
    ARTIFACTS.mkdir(exist_ok=True)
    first = chromium()
    try:
        first.get(url)
        wait_for("the overview", lambda: "root" in screen_text(first).lower(), 90)
        dirs = wait_for("the session's practice dir", lambda: practice_dirs(tmp), 30)
        assert isinstance(dirs, list) and len(dirs) == 1
        practice = dirs[0]
        before = tree_hash(practice)
        wait_for("the probe", lambda: "FAIL" in screen_text(first), 90)
        keys = first.find_element(By.CSS_SELECTOR, ".xterm-helper-textarea")
        keys.send_keys("\n")  # the first guideline
        time.sleep(3)
        keys.send_keys("a")  # apply its recommended option…
        time.sleep(1)
        keys.send_keys("y")  # …after the confirmation
        wait_for("the fix on the practice image", lambda: tree_hash(practice) != before, 60)
        wait_for("the screen to say so", lambda: "[PASS]" in screen_text(first), 30)
        time.sleep(1)
        shot = ARTIFACTS / "serve-after-fix.png"
        first.save_screenshot(str(shot))
        print(f"screenshot: {shot}")
        assert shot.stat().st_size > 0

        # the cap is 1: a second browser is told the classroom is full, nothing starts
        second = chromium()
        try:
            second.get(url)
            assert "classroom is full" in second.find_element(By.TAG_NAME, "body").text
        finally:
            second.quit()
        assert len(practice_dirs(tmp)) == 1
    finally:
        first.quit()
    wait_for("the practice dir to go", lambda: not practice.exists(), 30)
    assert not list(tmp.glob("ami-wizard-serve-*/session-*"))


@pytest.mark.parametrize("mode", ["demo", "learn"])
def test_a_session_killed_by_sigterm_or_sighup_removes_its_dir(tmp_path: Path, mode: str) -> None:
    for sig in (signal.SIGTERM, signal.SIGHUP):
        root = tmp_path / sig.name
        root.mkdir()
        proc = subprocess.Popen(
            [*SERVE, "--mode", mode, "--session-root", str(root)],
            env=dict(os.environ, TEXTUAL_DRIVER="textual.drivers.web_driver:WebDriver"),
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for("a practice dir", lambda r=root: list(r.glob("session-*/ami-wizard-*")), 60)
            proc.send_signal(sig)
            proc.wait(30)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert not list(root.iterdir()), f"{sig.name} left {list(root.iterdir())}"


def run_cli(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SERVE, *argv],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_bad_input_is_one_line_and_exit_2() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        cases = {
            ("--port", port): "Address already in use",
            ("--host", "no-such-host.invalid"): "not an address of this machine",
            ("--port", "0"): "not a port",
            ("--max-sessions", "0"): "at least 1",
        }
        for argv, message in cases.items():
            r = run_cli(*argv)
            assert r.returncode == 2, argv
            assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_a_host_other_than_loopback_is_warned_about() -> None:
    # 0.0.0.0 with a port already taken on it: the warning comes first, then the one-line
    # error, so nothing actually listens beyond loopback in the test
    with socket.socket() as busy:
        busy.bind(("0.0.0.0", 0))
        busy.listen()
        r = run_cli("--host", "0.0.0.0", "--port", str(busy.getsockname()[1]))
    assert r.returncode == 2
    first = r.stderr.splitlines()[0]
    assert "WARNING" in first and "anyone who can reach" in first
    assert "WARNING" not in run_cli("--host", "localhost", "--port", "0").stderr


def test_learn_mode_serves_a_course_over_the_websocket_and_cleans_up(tmp_path: Path) -> None:
    import asyncio

    import aiohttp

    port = free_port()
    proc = start_server(tmp_path, port, "--mode", "learn", "--seed", "7", "--max-sessions", "1")

    async def learner() -> tuple[str, int | None]:
        url = f"http://127.0.0.1:{port}/ws?width=100&height=30"
        seen = b""
        async with aiohttp.ClientSession() as http, http.ws_connect(url) as ws:
            end = time.monotonic() + 90
            while b" lessons, " not in seen:
                msg = await asyncio.wait_for(ws.receive(), end - time.monotonic())
                if msg.type == aiohttp.WSMsgType.BINARY:
                    seen += msg.data
                    seen = ANSI.sub("", seen.decode("utf-8", "replace")).encode()
                elif msg.type != aiohttp.WSMsgType.TEXT:
                    break
            assert list(tmp_path.glob("ami-wizard-serve-*/session-*/ami-wizard-learn-*"))
            # over the cap: closed with 1013 and the message, no second process
            async with http.ws_connect(url) as extra:
                await extra.receive()
                code = extra.close_code
        return seen.decode(), code

    try:
        wait_for("the server", lambda: socket.socket().connect_ex(("127.0.0.1", port)) == 0, 30)
        text, code = asyncio.run(learner())
        assert re.search(r"Course \S+ #7: 0/\d+ lessons", text), text[-2000:]
        assert code == 1013
        wait_for("the session dir to go", lambda: not list(tmp_path.glob("*/session-*")), 30)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
    assert not list(tmp_path.glob("ami-wizard-serve-*"))
