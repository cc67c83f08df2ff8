"""The system-traces steps (`trace`, `zero`) under dash, bash and busybox sh and in the image
backend, on temp trees: truncate keeps the inode, remove refuses a file a process holds
open, a socket, a symlink and a file that is not the one probed; zeroing overwrites the freed
blocks of a small loop-mounted ext4 and leaves nothing behind. (The shell `aw_zero` reads
this machine's mounts, so it only runs inside the disposable instance:
tests/integration/test_system_traces.py.)"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import replace
from pathlib import Path

import pytest

from tests.test_apply_steps import SHELLS, info, run
from wizard.backend import StepsFailed
from wizard.backend_image import ImageBackend
from wizard.shell_steps import Step, written


@pytest.mark.parametrize("shell", SHELLS)
def test_truncate_and_remove(shell: list[str], tmp_path: Path) -> None:
    log = tmp_path / "syslog"
    log.write_bytes(b"x" * 500)
    tmp = tmp_path / "build.tar"
    tmp.write_bytes(b"y")
    before = log.stat().st_ino
    steps = [
        Step("trace", str(log), flag=True, expect=info(log)),
        Step("trace", str(tmp), expect=info(tmp)),
    ]
    proc = run(shell, steps)
    assert proc.returncode == 0, proc.stderr
    assert log.stat().st_size == 0 and log.stat().st_ino == before
    assert not tmp.exists()


@pytest.mark.parametrize("shell", SHELLS)
def test_remove_refuses_what_must_stay(shell: list[str], tmp_path: Path) -> None:
    held = tmp_path / "held"
    held.write_bytes(b"open")
    other = tmp_path / "other"
    other.write_bytes(b"abc")
    expect_other = info(other)
    other.unlink()
    other.write_bytes(b"abcd")  # another file now at the probed name
    sock_path = tmp_path / "agent.sock"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(sock_path))
    (tmp_path / "link").symlink_to(held)
    holder = subprocess.Popen(["sh", "-c", 'exec 3<"$1"; exec sleep 30', "sh", str(held)])
    try:
        for _ in range(1000):
            if os.path.realpath(f"/proc/{holder.pid}/fd/3") == str(held):
                break
            time.sleep(0.005)
        cases = {
            "held": Step("trace", str(held), expect=info(held)),
            "socket": Step("trace", str(sock_path), expect=info(sock_path)),
            "link": Step("trace", str(tmp_path / "link"), expect=info(tmp_path / "link")),
            "other": Step("trace", str(other), expect=expect_other),
        }
        for name, step in cases.items():
            proc = run(shell, [step])
            assert proc.returncode != 0, name
            if os.geteuid() == 0 and name == "held":
                assert b"a running process holds it open" in proc.stderr
        # Truncating a file held open is allowed: the handle stays valid.
        assert run(shell, [Step("trace", str(held), flag=True, expect=info(held))]).returncode == 0
    finally:
        holder.kill()
        holder.wait()
        sock.close()
    assert held.exists() and held.stat().st_size == 0
    assert sock_path.exists() and other.read_bytes() == b"abcd"


def test_any_size_lets_a_growing_log_be_truncated(tmp_path: Path) -> None:
    log = tmp_path / "auth.log"
    log.write_bytes(b"a")
    probed = info(log)
    log.write_bytes(b"a new line")
    grown = Step("trace", str(log), flag=True, expect=probed)
    assert run(["dash"], [grown]).returncode != 0
    loose = Step("trace", str(log), flag=True, expect=replace(probed, size=-1))
    assert run(["dash"], [loose]).returncode == 0
    assert log.read_bytes() == b""


def test_journal_record_of_a_trace_step() -> None:
    truncated = written(Step("trace", "/var/log/x", mode=0o640, uid=0, gid=4, flag=True))
    assert truncated is not None and truncated.kind == "file" and truncated.content == b""
    assert truncated.mode == 0o640 and truncated.gid == 4
    removed = written(Step("trace", "/var/tmp/x"))
    assert removed is not None and removed.kind == "absent"


def test_image_trace_steps(tmp_path: Path) -> None:
    root = tmp_path / "img"
    (root / "var/log").mkdir(parents=True)
    (root / "var/tmp").mkdir(parents=True)
    log = root / "var/log/syslog"
    log.write_bytes(b"x" * 10)
    tmp = root / "var/tmp/t"
    tmp.write_bytes(b"t")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(root / "var/tmp/s"))
    backend = ImageBackend(str(root))
    backend.perform(
        [
            Step("trace", "/var/log/syslog", flag=True, expect=info(log)),
            Step("trace", "/var/tmp/t", expect=info(tmp)),
        ]
    )
    assert log.read_bytes() == b"" and not tmp.exists()
    with pytest.raises(StepsFailed, match="not a regular file"):
        backend.perform([Step("trace", "/var/tmp/s", expect=info(root / "var/tmp/s"))])
    sock.close()
    (root / "var/log/link").symlink_to(log)
    with pytest.raises(StepsFailed, match="not a regular file"):
        backend.perform([Step("trace", "/var/log/link", expect=info(root / "var/log/link"))])
    assert log.exists()


def test_image_zero_overwrites_deleted_data_on_a_small_ext4(tmp_path: Path) -> None:
    """A 16 MiB ext4 (no journal, no root reserve) mounted from a file as the image: a deleted
    file's bytes are still in the file before, gone after, and no fill file is left."""
    if os.geteuid() != 0 or shutil.which("mkfs.ext4") is None:
        pytest.skip("a loop-mounted ext4 needs root and e2fsprogs")
    disk, mnt = tmp_path / "disk.img", tmp_path / "mnt"
    disk.write_bytes(b"")
    os.truncate(disk, 16 << 20)
    mnt.mkdir()
    subprocess.run(
        ["mkfs.ext4", "-q", "-F", "-m", "0", "-O", "^has_journal", str(disk)], check=True
    )
    if subprocess.run(["mount", "-o", "loop", str(disk), str(mnt)], check=False).returncode:
        pytest.skip("no loop device here")
    marker = b"AMI-WIZARD-FREED-BLOCK-" * 50
    try:
        (mnt / "keep").write_bytes(b"k")
        (mnt / "secret").write_bytes(marker * 100)
        os.sync()
        (mnt / "secret").unlink()
        os.sync()
        assert marker[:23] in disk.read_bytes()
        ImageBackend(str(mnt)).perform([Step("zero", argv=("30", str(64 << 20), "0"))])
        assert sorted(p.name for p in mnt.iterdir()) == ["keep", "lost+found"]
    finally:
        subprocess.run(["umount", str(mnt)], check=True)
    assert marker[:23] not in disk.read_bytes()


def test_image_zero_refuses_a_plain_directory(tmp_path: Path) -> None:
    """The practice instance is a directory on the operator's own disk: never filled."""
    with pytest.raises(StepsFailed, match="not a mounted volume"):
        ImageBackend(str(tmp_path)).perform([Step("zero", argv=("1", "1048576", "0"))])


@pytest.mark.parametrize("shell", SHELLS)
def test_truncate_refuses_a_hard_link(shell: list[str], tmp_path: Path) -> None:
    """A log that is a second name of another file (a planted hard link to /etc/shadow, say)
    is never emptied: that would empty the other file."""
    precious = tmp_path / "precious"
    precious.write_bytes(b"keep me")
    log = tmp_path / "app.log"
    os.link(precious, log)
    proc = run(shell, [Step("trace", str(log), flag=True, expect=info(log))])
    assert proc.returncode != 0 and b"another hard link" in proc.stderr
    with pytest.raises(StepsFailed, match="another hard link"):
        ImageBackend(str(tmp_path)).perform(
            [Step("trace", "/app.log", flag=True, expect=replace(info(log), path="/app.log"))]
        )
    assert precious.read_bytes() == b"keep me"
