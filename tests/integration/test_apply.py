"""Apply, verify and undo fixes on a real OpenSSH instance, with faults injected.

Every test starts from a disposable instance; the overlay's upper dir shows exactly what the
wizard wrote or deleted, which is how "nothing of ours is left behind" is checked.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.conftest import ClientKey
from tests.integration.instance import Instance, UpperChange
from tests.integration.test_audit import HOSTILE, seed_unprepared
from wizard.targets import ConnectOptions, Target, open_target

# Side files the system's own tools keep beside what they change (usermod's backup copy and
# lock file); they exist on every such system and are not ours.
SYSTEM_SIDE_FILES = {"/etc/shadow-", "/etc/.pwd.lock", "/etc/passwd-", "/etc/gshadow-"}


def connect(inst: Instance, options: ConnectOptions, user: str = "root") -> Target:
    return open_target(f"ssh://{user}@127.0.0.1:{inst.port}", options)


def ours_left(changes: list[UpperChange]) -> list[str]:
    """Temp, backup or journal files of ours anywhere on the instance."""
    return [
        c.path
        for c in changes
        if ".ami-wizard." in c.path
        or c.path.endswith((".bak", "~", ".orig"))
        or "journal" in c.path
        or "/ami-wizard" in c.path.lower()
    ]


def snapshot(inst: Instance, paths: list[str]) -> dict[str, tuple[bytes, str]]:
    """Bytes plus `mode uid gid` of files inside the instance (absent: empty, "absent")."""
    out = {}
    for p in paths:
        st = inst.exec(["stat", "-c", "%a %u %g", "--", p], check=False)
        if st.returncode:
            out[p] = (b"", "absent")
        else:
            out[p] = (inst.read(p), st.stdout.decode().strip())
    return out


def sshd_t(inst: Instance) -> str:
    """`sshd -T` inside the instance; a throwaway host key in its /tmp (a tmpfs, not the
    overlay) stands in once the real ones are gone."""
    if not inst.exists("/tmp/probe-hostkey"):
        inst.exec(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", "/tmp/probe-hostkey"])
    return inst.exec(["sshd", "-T", "-h", "/tmp/probe-hostkey"]).stdout.decode().lower()


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wizard.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture
def seeded(instance: Instance) -> Instance:
    seed_unprepared(instance)
    return instance


def test_recommended_apply_leaves_instance_ready_and_clean(
    seeded: Instance, client_key: ClientKey, known_hosts: Path
) -> None:
    inst = seeded
    before = {c.path for c in inst.upper_changes()}
    proc = cli(
        "apply",
        f"ssh://root@127.0.0.1:{inst.port}",
        "--recommended",
        "--yes",
        "-i",
        str(client_key.path),
        "--known-hosts",
        str(known_hosts),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "root-ssh-login: fail -> pass" in proc.stdout
    assert "shell-history: fail -> pass" in proc.stdout
    # effective values, from the running sshd's own view
    t = sshd_t(inst)
    assert "permitrootlogin without-password" in t or "permitrootlogin prohibit-password" in t
    assert "passwordauthentication no" in t
    assert "kbdinteractiveauthentication no" in t
    shadow = inst.read("/etc/shadow").decode()
    root_hash = next(ln for ln in shadow.splitlines() if ln.startswith("root:")).split(":")[1]
    assert root_hash.startswith("!")
    assert not inst.exec(["sh", "-c", "ls /etc/ssh/ssh_host_*"], check=False).stdout
    unit = inst.read("/etc/systemd/system/ssh-keygen-firstboot.service").decode()
    assert "ssh-keygen -A" in unit and "Before=ssh.service" in unit
    assert inst.exists("/etc/systemd/system/multi-user.target.wants/ssh-keygen-firstboot.service")
    for gone in (
        "/root/.ssh/authorized_keys",
        "/root/.bash_history",
        "/home/builder/.python_history",
        f"/home/builder/{HOSTILE}",
        "/home/builder/.aws/credentials",
    ):
        assert not inst.exists(gone), gone
    changes = inst.upper_changes()
    assert ours_left(changes) == []
    assert not any(c.path.endswith("PWNED") for c in changes)
    new = {c.path: c.kind for c in changes if c.path not in before}
    allowed_written = {
        "/etc/shadow",
        "/etc/machine-id",
        "/var/lib/dbus/machine-id",
        "/etc/ssh/sshd_config",
        "/etc/ssh/sshd_config.d/00-ami-wizard.conf",
        "/etc/systemd/system/ssh-keygen-firstboot.service",
        "/etc/systemd/system/multi-user.target.wants/ssh-keygen-firstboot.service",
        "/etc/systemd/system/launch-key-imds.service",
        "/etc/systemd/system/multi-user.target.wants/launch-key-imds.service",
    } | SYSTEM_SIDE_FILES
    for path, kind in new.items():
        if kind == "deleted":
            continue
        assert path in allowed_written or kind == "dir", (path, kind)
