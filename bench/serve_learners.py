"""Benchmark: a classroom of N learners on `ami-wizard serve` (demo mode) on this machine.

The learners are websocket clients speaking textual-serve's protocol (what its page's script
does: open /ws?width=W&height=H, send ["stdin", keys] and ["resize", ...], read the terminal
bytes), not browsers: ten headless chromiums would measure chromium on a 2-core machine, not
the server. Measured per learner:
  - time to first screen: from opening the websocket to the overview with the practice image
    probed (the first "[FAIL]" row drawn), which is the moment a learner can start;
  - memory: the RSS of the session's process tree (the wizard textual-serve spawned for it,
    and its children), read from /proc once every learner has the first screen.
One learner alone first (the baseline), then N at once, in the same run and server.

    .venv/bin/python bench/serve_learners.py --learners 10
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

HERE = Path(__file__).resolve().parents[1]
SERVE = [sys.executable, "-m", "wizard.cli", "serve"]
ANSI = re.compile(rb"\x1b\[[0-9;?<>=]*[ -/]*[@-~]")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                stat = Path(f"/proc/{d}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            kids.setdefault(ppid, []).append(int(d))
    return kids


def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_rss_mib(pid: int, kids: dict[int, list[int]]) -> float:
    todo, total = [pid], 0
    while todo:
        p = todo.pop()
        total += rss_kib(p)
        todo += kids.get(p, [])
    return total / 1024


class Learner:
    def __init__(self, url: str) -> None:
        self.url = url
        self.first_screen_s: float | None = None
        self.ready = asyncio.Event()
        self.leave = asyncio.Event()

    async def run(self, session: aiohttp.ClientSession) -> None:
        start = time.monotonic()
        seen = b""
        async with session.ws_connect(self.url + "ws?width=120&height=36") as ws:
            reader = asyncio.create_task(self._read(ws, start, seen))
            await self.leave.wait()
            await ws.close()
            reader.cancel()

    async def _read(self, ws: aiohttp.ClientWebSocketResponse, start: float, seen: bytes) -> None:
        async for msg in ws:
            if msg.type == aiohttp.WSMsgType.BINARY:
                seen += msg.data
            elif msg.type == aiohttp.WSMsgType.TEXT:
                seen += msg.data.encode()
            if self.first_screen_s is None and b"[FAIL]" in ANSI.sub(b"", seen[-200_000:]):
                self.first_screen_s = time.monotonic() - start
                self.ready.set()


async def classroom(url: str, n: int, server_pid: int, timeout: float) -> dict[str, list[float]]:
    before = set(children().get(server_pid, []))
    learners = [Learner(url) for _ in range(n)]
    async with aiohttp.ClientSession() as session:
        tasks = [asyncio.create_task(lrn.run(session)) for lrn in learners]
        await asyncio.wait_for(asyncio.gather(*(lrn.ready.wait() for lrn in learners)), timeout)
        kids = children()
        sessions = [p for p in kids.get(server_pid, []) if p not in before]
        rss = [tree_rss_mib(p, kids) for p in sessions]
        for lrn in learners:
            lrn.leave.set()
        await asyncio.gather(*tasks)
    # the sessions end and remove their dirs before the next round starts
    end = time.monotonic() + 30
    while set(children().get(server_pid, [])) - before and time.monotonic() < end:
        await asyncio.sleep(0.2)
    return {"first_screen_s": [lrn.first_screen_s or 0.0 for lrn in learners], "rss_mib": rss}


def line(label: str, r: dict[str, list[float]]) -> str:
    t, m = sorted(r["first_screen_s"]), r["rss_mib"]
    return (
        f"{label:<12} sessions {len(m):>2}  first screen p50 {statistics.median(t):5.2f} s"
        f"  max {max(t):5.2f} s   RSS/session mean {statistics.mean(m):6.1f} MiB"
        f"  max {max(m):6.1f} MiB  total {sum(m):7.1f} MiB"
    )


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--learners", type=int, default=10)
    ap.add_argument("--timeout", type=float, default=300)
    args = ap.parse_args()
    port = free_port()
    tmp = tempfile.mkdtemp(prefix="bench-serve-")
    server = subprocess.Popen(
        [*SERVE, "--port", str(port), "--max-sessions", str(args.learners)],
        cwd=HERE,
        env=dict(os.environ, TMPDIR=tmp, XDG_STATE_HOME=tmp + "/state"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(120):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.25)
        url = f"http://127.0.0.1:{port}/"
        one = asyncio.run(classroom(url, 1, server.pid, args.timeout))
        many = asyncio.run(classroom(url, args.learners, server.pid, args.timeout))
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(30)
    left = list(Path(tmp).glob("ami-wizard-serve-*"))
    print(f"ami-wizard serve (demo), {os.cpu_count()} cores, learners = websocket clients")
    print(line("1 learner", one))
    print(line(f"{args.learners} learners", many))
    t1 = statistics.median(one["first_screen_s"])
    tn = statistics.median(many["first_screen_s"])
    print(f"first screen p50: x{tn / t1:.1f} with {args.learners} learners at once")
    print(f"practice dirs left after the server stopped: {len(left)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
