"""A disposable instance for integration tests: the host's own system, seen through an overlay.

`unshare` gives sshd private mount and pid namespaces; an overlay over `/` (upper dir in a
temp dir) plus a chroot makes every write land in the upper dir, so the host is untouched
and the upper dir lists exactly what was written or deleted. See DESIGN.md, "Testing with a
real instance".
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

SSHD = "/usr/sbin/sshd"
LOG_NAME = "sshd.log"
# What OpenSSH logs at DEBUG1 for every session channel a client opens (verified on 9.2).
SESSION_OPEN = "server_input_channel_open: ctype session "
# PATH for commands run inside: the host's environment (HOME etc.) must not leak in.
INSIDE_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C"}

# Runs as PID 1 of the new pid namespace, in a private mount namespace. Mounts are
# private (unshare --propagation private), so nothing here is seen by the host.
_START = r"""
set -eu
T="$1"; PORT="$2"; M="$T/merged"
mount -t overlay overlay -o "lowerdir=/,upperdir=$T/upper,workdir=$T/work" "$M"
mount -t proc proc "$M/proc"
mount --rbind /dev "$M/dev"
mount -t tmpfs -o mode=1777 tmpfs "$M/dev/shm"
mount -t tmpfs -o mode=0755 tmpfs "$M/run"
mount -t tmpfs -o mode=1777 tmpfs "$M/tmp"
mkdir -m 0755 "$M/run/sshd" "$M/run/ami-test"
mount --bind "$T/log" "$M/run/ami-test"
# The test machine's own browser (chromium, for the serve tests) ships Google API keys in
# /etc/chromium.d; the builder an instance stands for has no browser, so hide that directory.
if [ -d "$M/etc/chromium.d" ]; then mount -t tmpfs -o mode=0755 tmpfs "$M/etc/chromium.d"; fi
if ! ls "$M"/etc/ssh/ssh_host_*_key >/dev/null 2>&1; then
  chroot "$M" ssh-keygen -A >&2
fi
exec chroot "$M" /usr/sbin/sshd -D -p "$PORT" -o ListenAddress=127.0.0.1 \
  -o PidFile=/run/sshd.pid -E /run/ami-test/sshd.log -o LogLevel=DEBUG1
"""


@dataclass(frozen=True)
class UpperChange:
    """One entry of the overlay's upper dir: a path inside the instance and what happened."""

    path: str
    kind: str  # "written" (file or symlink), "deleted" (whiteout), "dir" (new or opaque dir)


def missing_requirements() -> str | None:
    """Why an instance cannot start here, or None when it can."""
    if os.geteuid() != 0:
        return "needs root (overlay mounts and namespaces)"
    for tool in (SSHD, "unshare", "nsenter", "chroot", "ssh-keygen"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (Debian: openssh-server, util-linux)"
    with open("/proc/filesystems", encoding="ascii") as fh:
        if "overlay" not in fh.read():
            return "the kernel has no overlay file system"
    return None


def free_port() -> int:
    """A port free on 127.0.0.1 right now (sshd may still lose a race: start() retries)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class InstanceError(RuntimeError):
    """The instance could not start or a command inside it failed."""


class Instance:
    """One disposable sshd instance. Use as a context manager, or start()/stop()."""

    def __init__(self, base_dir: str | os.PathLike[str] | None = None) -> None:
        self._base_dir = base_dir
        self.dir: Path | None = None
        self.port = 0
        self.pid = 0
        self._proc: subprocess.Popen[bytes] | None = None

    # -- lifecycle -------------------------------------------------------------------
    def start(self, timeout: float = 5.0) -> Instance:
        reason = missing_requirements()
        if reason:
            raise InstanceError(reason)
        self.dir = Path(tempfile.mkdtemp(prefix="ami-instance-", dir=self._base_dir))
        for sub in ("upper", "work", "merged", "log"):
            (self.dir / sub).mkdir()
        last = ""
        for _attempt in range(5):
            self.port = free_port()
            started, last = self._try_start(timeout)
            if started:
                return self
            # Lost the port to someone else between free_port() and sshd's bind: retry.
            if "Address already in use" not in last and "Cannot bind" not in last:
                break
        self.stop()
        raise InstanceError(f"sshd did not start: {last.strip()[-2000:]}")

    def _try_start(self, timeout: float) -> tuple[bool, str]:
        assert self.dir is not None
        log = self.dir / "log" / LOG_NAME
        log.write_bytes(b"")
        self._proc = subprocess.Popen(
            [
                "unshare",
                "--mount",
                "--pid",
                "--fork",
                "--kill-child",
                "--propagation",
                "private",
                "--",
                "sh",
                "-c",
                _START,
                "ami-instance",
                str(self.dir),
                str(self.port),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=INSIDE_ENV,
        )
        ready = f"Server listening on 127.0.0.1 port {self.port}."
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready in log.read_text(errors="replace"):
                self.pid = self._sshd_pid()
                return True, ""
            if self._proc.poll() is not None:
                err = self._proc.stderr.read().decode(errors="replace") if self._proc.stderr else ""
                return False, err + log.read_text(errors="replace")
            time.sleep(0.005)
        self._kill()
        return False, "timed out waiting for sshd to listen\n" + log.read_text(errors="replace")

    def _sshd_pid(self) -> int:
        assert self._proc is not None
        # unshare --fork has exactly one child: the namespace's PID 1, which exec'd sshd.
        children = Path(f"/proc/{self._proc.pid}/task/{self._proc.pid}/children").read_text()
        return int(children.split()[0])

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if self.pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()  # --kill-child takes the namespace down with it
            proc.wait(timeout=5)
        if proc.stderr:
            proc.stderr.close()
        self.pid = 0

    def stop(self) -> None:
        """Stop sshd (the whole pid namespace goes with it) and delete the overlay dirs."""
        self._kill()
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self) -> Instance:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- looking inside --------------------------------------------------------------
    @property
    def upper(self) -> Path:
        assert self.dir is not None, "instance not started"
        return self.dir / "upper"

    def exec(
        self, argv: list[str], input: bytes | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[bytes]:
        """Run argv inside the instance (its mounts, pids and root) as root."""
        if not self.pid:
            raise InstanceError("instance not started")
        proc = subprocess.run(
            ["nsenter", "-t", str(self.pid), "-m", "-p", "-r", "-w", "--", *argv],
            input=input,
            capture_output=True,
            env=INSIDE_ENV,
            check=False,
            timeout=30,
        )
        if check and proc.returncode != 0:
            raise InstanceError(
                f"{argv!r} failed inside the instance ({proc.returncode}):"
                f" {proc.stderr.decode(errors='replace').strip()}"
            )
        return proc

    def write(self, path: str, data: bytes | str, mode: int = 0o644, owner: str = "root") -> None:
        """Create or replace a file inside the instance (parents made as needed)."""
        if isinstance(data, str):
            data = data.encode()
        script = (
            'mkdir -p -- "$(dirname -- "$1")" && cat > "$1" && chmod "$2" "$1" && chown "$3" "$1"'
        )
        self.exec(["sh", "-c", script, "write", path, f"{mode:o}", owner], input=data)

    def read(self, path: str) -> bytes:
        return self.exec(["cat", "--", path]).stdout

    def exists(self, path: str) -> bool:
        return self.exec(["test", "-e", path], check=False).returncode == 0

    def useradd(
        self, name: str, password: str | None = None, sudo: bool = False, nopasswd: bool = True
    ) -> None:
        """Add a login user (home in /home), with a password and sudo rights if asked."""
        self.exec(["useradd", "--create-home", "--shell", "/bin/sh", name])
        if password is not None:
            self.exec(["chpasswd"], input=f"{name}:{password}\n".encode())
        if sudo:
            rule = f"{name} ALL=(ALL:ALL) {'NOPASSWD: ' if nopasswd else ''}ALL\n"
            self.write(f"/etc/sudoers.d/{name}", rule, mode=0o440)

    def authorize(self, user: str, pubkey_line: str) -> None:
        """Append a public key to the user's ~/.ssh/authorized_keys inside the instance."""
        script = (
            'home=$(getent passwd "$1" | cut -d: -f6) && mkdir -p "$home/.ssh"'
            ' && cat >> "$home/.ssh/authorized_keys" && chmod 700 "$home/.ssh"'
            ' && chmod 600 "$home/.ssh/authorized_keys" && chown -R "$1:" "$home/.ssh"'
        )
        line = pubkey_line.strip() + "\n"
        self.exec(["sh", "-c", script, "authorize", user], input=line.encode())

    def host_key_line(self, key_type: str = "ed25519") -> str:
        """A known_hosts line for this instance's host key, as `[127.0.0.1]:PORT type key`."""
        pub = self.read(f"/etc/ssh/ssh_host_{key_type}_key.pub").decode().split()
        return f"[127.0.0.1]:{self.port} {pub[0]} {pub[1]}"

    def log(self) -> str:
        """sshd's log so far (DEBUG1)."""
        assert self.dir is not None
        return (self.dir / "log" / LOG_NAME).read_text(errors="replace")

    def log_offset(self) -> int:
        return len(self.log())

    def count_session_channels(self, since_offset: int = 0) -> int:
        """How many session channels clients opened since `since_offset` of log()."""
        return self.log()[since_offset:].count(SESSION_OPEN)

    def upper_changes(self) -> list[UpperChange]:
        """Every file written or deleted inside the instance (paths as seen inside)."""
        changes: list[UpperChange] = []
        top = str(self.upper)
        for dirpath, dirnames, filenames in os.walk(top):
            rel_dir = "/" + os.path.relpath(dirpath, top).removeprefix(".").lstrip("/")
            for name in dirnames:
                inside = os.path.join(rel_dir, name)
                full = os.path.join(dirpath, name)
                if os.path.islink(full):  # os.walk lists symlinks to dirs as dirs
                    changes.append(UpperChange(inside, "written"))
                elif not os.path.lexists(inside) or _opaque(full):
                    changes.append(UpperChange(inside, "dir"))
            for name in filenames:
                inside = os.path.join(rel_dir, name)
                st = os.lstat(os.path.join(dirpath, name))
                if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
                    changes.append(UpperChange(inside, "deleted"))
                else:
                    changes.append(UpperChange(inside, "written"))
        return sorted(changes, key=lambda c: c.path)


def _opaque(path: str) -> bool:
    try:
        return os.getxattr(path, "trusted.overlay.opaque", follow_symlinks=False) == b"y"
    except OSError:
        return False
