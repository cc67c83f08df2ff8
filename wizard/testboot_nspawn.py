"""The machinery under test-boot: network namespaces, overlay copies and systemd-nspawn boots.

A launch is an overlay over the image (the image is only ever the read-only lower dir), booted
with `systemd-nspawn --boot` in a network namespace of its own that holds nothing but loopback.
Sockets into that namespace are made by a short-lived thread that enters it (a socket keeps the
namespace it was created in), so the metadata stub and the SSH client need no helper process.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from wizard.errors import UsageError, WizardError

log = logging.getLogger(__name__)

CLONE_NEWNET = 0x40000000
NETNS_DIR = Path("/run/netns")
BOOT_TIMEOUT = 90.0
T = TypeVar("T")


class BootError(WizardError):
    """A launch could not be booted or reached; the message says how far it got."""


def preflight() -> None:
    """A one-line UsageError when this machine cannot boot images at all."""
    if os.geteuid() != 0:
        raise UsageError("test-boot needs root (overlay mounts, network namespaces, nspawn)")
    for tool, package in (
        ("systemd-nspawn", "systemd-container"),
        ("ip", "iproute2"),
        ("nsenter", "util-linux"),
        ("ssh-keygen", "openssh-client"),
    ):
        if shutil.which(tool) is None:
            raise UsageError(f"{tool} is not installed (Debian package {package})")


def in_netns(name: str, make: Callable[[], T]) -> T:
    """Run `make` in a thread that has entered network namespace `name`; return its result."""
    box: dict[str, object] = {}

    def run() -> None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            fd = os.open(NETNS_DIR / name, os.O_RDONLY)
            try:
                if libc.setns(fd, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), f"setns into network namespace {name}")
            finally:
                os.close(fd)
            box["value"] = make()
        except BaseException as exc:  # handed to the caller's thread below
            box["error"] = exc

    thread = threading.Thread(target=run, name=f"netns-{name}")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]


def connect(netns: str, host: str, port: int, timeout: float = 5.0) -> socket.socket:
    """A TCP connection made inside `netns`."""
    return in_netns(netns, lambda: socket.create_connection((host, port), timeout=timeout))


def listen(netns: str, host: str, port: int) -> socket.socket:
    def make() -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(16)
        return sock

    return in_netns(netns, make)


@contextlib.contextmanager
def netns(name: str) -> Iterator[str]:
    """A network namespace with only loopback, up; removed on exit."""
    made = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
    if made.returncode != 0:
        raise BootError(f"cannot create network namespace {name}: {made.stderr.strip()}")
    try:
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False, capture_output=True)


@contextlib.contextmanager
def overlay(lower: Path, work: Path) -> Iterator[tuple[Path, Path]]:
    """An overlay mount over `lower` (never written); yields (merged, upper)."""
    upper, scratch, merged = work / "upper", work / "work", work / "merged"
    for d in (upper, scratch, merged):
        d.mkdir(parents=True, exist_ok=True)
    options = f"lowerdir={lower},upperdir={upper},workdir={scratch}"
    result = subprocess.run(
        ["mount", "-t", "overlay", "overlay", "-o", options, str(merged)],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise BootError(f"cannot mount an overlay over {lower}: {result.stderr.strip()}")
    try:
        yield merged, upper
    finally:
        subprocess.run(["umount", "-l", str(merged)], check=False, capture_output=True)


@dataclass
class Container:
    """One running boot of a launch's overlay under systemd-nspawn."""

    root: Path
    netns: str
    machine: str
    console_log: Path
    process: subprocess.Popen[bytes] | None = None
    leader: int = 0

    def boot(self) -> float:
        """Boot and wait until systemd reports the boot finished; seconds taken."""
        start = time.monotonic()
        argv = [
            "systemd-nspawn",
            "-q",
            "-D",
            str(self.root),
            "-b",
            "--register=no",
            "--keep-unit",
            f"--machine={self.machine}",
            f"--network-namespace-path={NETNS_DIR / self.netns}",
            "--console=passive",
        ]
        with self.console_log.open("ab") as out:
            self.process = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
            )
        deadline = start + BOOT_TIMEOUT
        while not self.leader:
            self.leader = _init_of(self.process.pid)
            self._alive_or_raise()
            if time.monotonic() > deadline:
                raise BootError("systemd-nspawn started no init process")
            time.sleep(0.05)
        state = ""
        while time.monotonic() < deadline:
            self._alive_or_raise()
            left = max(1.0, deadline - time.monotonic())
            result = self.run(["systemctl", "is-system-running", "--wait"], timeout=left)
            state = result.stdout.strip()
            if state in ("running", "degraded"):
                return time.monotonic() - start
            time.sleep(0.2)
        raise BootError(f"the boot did not finish in {BOOT_TIMEOUT:.0f} s (state {state!r})")

    def _alive_or_raise(self) -> None:
        assert self.process is not None
        if self.process.poll() is not None:
            tail = self.console_log.read_text(errors="replace").strip().splitlines()[-1:]
            raise BootError(
                f"systemd-nspawn exited with {self.process.returncode}"
                + (f": {tail[0]}" if tail else "")
            )

    def run(
        self, argv: Sequence[str], timeout: float = 30.0, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run argv inside the container (all its namespaces, its root)."""
        try:
            return subprocess.run(
                ["nsenter", "-t", str(self.leader), "-a", "-r", "-w", "--", *argv],
                input=stdin,
                capture_output=True,
                text=True,
                timeout=timeout,
                env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"},
            )
        except subprocess.TimeoutExpired:
            return subprocess.CompletedProcess(list(argv), 124, "", "timed out")

    def poweroff(self, timeout: float = 60.0) -> None:
        """Shut the container down cleanly (a kill after `timeout`)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.run(["systemctl", "poweroff", "--no-block"], timeout=10)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            log.warning("container %s did not power off; killing it", self.machine)
            self.process.kill()
            self.process.wait(timeout=10)
        self.leader = 0


def _init_of(pid: int) -> int:
    """The container's init below nspawn process `pid`, or 0 while there is none yet.

    nspawn forks helper children (still named systemd-nspawn) before one of them execs the
    image's init; only a descendant that has exec'd something else is the init."""
    frontier = [pid]
    for _ in range(3):
        found = []
        for parent in frontier:
            try:
                found += Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
            except OSError:
                continue
        for child in found:
            with contextlib.suppress(OSError):
                if Path(f"/proc/{child}/comm").read_text().strip() != "systemd-nspawn":
                    return int(child)
        frontier = [int(c) for c in found]
    return 0
