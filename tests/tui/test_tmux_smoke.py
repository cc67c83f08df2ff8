"""Smoke test of the INSTALLED console script: `ami-wizard demo` in a real tmux terminal,
driven by keys, quit with ctrl+q; the practice image is removed on exit."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

SCRIPT = Path(sys.executable).parent / "ami-wizard"


class Tmux:
    """One private tmux server (its own socket) running one command."""

    def __init__(self, socket: Path) -> None:
        self.socket = socket

    def run(self, *args: str) -> str:
        proc = subprocess.run(
            ["tmux", "-S", str(self.socket), *args], capture_output=True, text=True, timeout=10
        )
        return proc.stdout

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "wiz")

    def keys(self, *keys: str) -> None:
        self.run("send-keys", "-t", "wiz", *keys)

    def wait_for(self, text: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        shown = ""
        while time.monotonic() < deadline:
            shown = self.screen()
            if text in shown:
                return shown
            time.sleep(0.2)
        raise AssertionError(f"{text!r} never appeared; the screen was:\n{shown}")


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[Tmux]:
    if shutil.which("tmux") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("tmux is missing in CI")
        pytest.skip("tmux is not installed")
    if not SCRIPT.exists():
        pytest.fail(f"the console script {SCRIPT} is not installed (pip install -e .)")
    t = Tmux(tmp_path / "tmux.sock")
    yield t
    t.run("kill-server")


def test_installed_demo_in_tmux(tmux: Tmux, tmp_path: Path) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    done = tmp_path / "exit-status"
    env = {
        "HOME": os.environ["HOME"],
        "XDG_CONFIG_HOME": os.environ["XDG_CONFIG_HOME"],
        "XDG_STATE_HOME": os.environ["XDG_STATE_HOME"],
        "TMPDIR": str(scratch),
        "TERM": "xterm-256color",
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }
    exports = " ".join(f"{k}='{v}'" for k, v in env.items())
    command = f"env -i {exports} '{SCRIPT}' demo; echo $? > '{done}'; sleep 30"
    tmux.run("new-session", "-d", "-s", "wiz", "-x", "80", "-y", "24", command)

    tmux.wait_for("[FAIL] Root cannot log in")
    assert "guidelines done" in tmux.screen()
    assert list(scratch.glob("ami-wizard-practice-*")), "no practice image was made"

    tmux.keys("Down", "Down")  # the third guideline: UseDNS
    tmux.keys("Enter")
    shown = tmux.wait_for("Why it matters")
    assert "UseDNS yes" in shown  # the evidence: /etc/ssh/sshd_config:8
    tmux.keys("Escape")
    tmux.wait_for("guidelines done")
    tmux.keys("f")
    tmux.wait_for("Final phase, in order")
    tmux.keys("C-q")

    deadline = time.monotonic() + 15
    while not done.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert done.exists(), f"ctrl+q did not quit; the screen was:\n{tmux.screen()}"
    assert done.read_text().strip() == "0"
    assert not list(scratch.glob("ami-wizard-practice-*")), "the practice image was left behind"
