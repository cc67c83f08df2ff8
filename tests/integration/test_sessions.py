"""Undo that knows history, one lock per target and a private state dir, on a real OpenSSH
instance: undo twice, undo after a later fix, two applies at once, umask 000.

The CLI runs as the operator would run it; the instance's files are compared byte for byte
(with mode and owner) before and after every refusal.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.integration.conftest import ClientKey
from tests.integration.instance import Instance
from tests.integration.test_apply import cli, ours_left, snapshot
from tests.integration.test_audit import seed_unprepared
from wizard.session import Session
from wizard.sessions import target_lock
from wizard.targets import ConnectOptions, open_target

WATCHED = [
    "/etc/ssh/sshd_config",
    "/etc/ssh/sshd_config.d/00-ami-wizard.conf",
    "/etc/machine-id",
    "/etc/shadow",
]
SSHD_CONFIG = "/etc/ssh/sshd_config"


@pytest.fixture
def seeded(instance: Instance) -> Instance:
    seed_unprepared(instance)
    return instance


def _ssh(client_key: ClientKey, known_hosts: Path) -> list[str]:
    return ["-i", str(client_key.path), "--known-hosts", str(known_hosts)]


def _apply(inst: Instance, plan: Path, choices: str, *ssh: str) -> str:
    plan.write_text(f"schema: ami-wizard/plan/v1\nchoices:\n{choices}")
    proc = cli("apply", f"ssh://root@127.0.0.1:{inst.port}", "--plan", str(plan), *ssh)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout.split("undo with `ami-wizard undo ", 1)[1].split("`", 1)[0]


ROOT_AND_MACHINE_ID = "  root-ssh-login: prohibit-password\n  machine-id: empty\n"


def test_undo_twice_is_refused_and_keeps_the_later_fix(
    seeded: Instance, client_key: ClientKey, known_hosts: Path, tmp_path: Path
) -> None:
    inst = seeded
    original = snapshot(inst, WATCHED)
    sid = _apply(inst, tmp_path / "plan.yaml", ROOT_AND_MACHINE_ID, *_ssh(client_key, known_hosts))
    first = cli("undo", sid)
    assert first.returncode == 0, first.stdout + first.stderr
    assert snapshot(inst, WATCHED) == original
    inst.write("/etc/machine-id", b"", mode=0o444)  # fixed again later, by hand
    fixed = snapshot(inst, WATCHED)
    upper = inst.upper_changes()
    again = cli("undo", sid)
    assert again.returncode == 1, again.stdout + again.stderr
    assert again.stderr.count("\n") == 1 and "already undone" in again.stderr
    assert snapshot(inst, WATCHED) == fixed
    assert inst.upper_changes() == upper


def test_undo_after_a_later_fix_refuses_and_names_a_newer_session(
    seeded: Instance, client_key: ClientKey, known_hosts: Path, tmp_path: Path
) -> None:
    inst = seeded
    ssh = _ssh(client_key, known_hosts)
    original = snapshot(inst, WATCHED)
    sid = _apply(inst, tmp_path / "plan.yaml", ROOT_AND_MACHINE_ID, *ssh)
    # A later fix by hand in the file the session wrote: undo must not roll it back.
    assert b"PermitRootLogin prohibit-password" in inst.read(SSHD_CONFIG)
    inst.write(SSHD_CONFIG, inst.read(SSHD_CONFIG) + b"# a later fix by hand\n", mode=0o644)
    edited = snapshot(inst, WATCHED)
    proc = cli("undo", sid)
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1, proc.stderr
    assert f"{SSHD_CONFIG} changed since session {sid}" in proc.stderr
    assert snapshot(inst, WATCHED) == edited  # nothing at all was undone
    # A newer session changes the same file: the older one's undo names it.
    newer = _apply(inst, tmp_path / "plan2.yaml", "  ssh-password-auth: disable\n", *ssh)
    proc = cli("undo", sid)
    assert proc.returncode == 1, proc.stderr
    assert f"changed later by session {newer}" in proc.stderr
    assert b"# a later fix by hand" in inst.read(SSHD_CONFIG)
    assert cli("undo", newer).returncode == 0
    assert snapshot(inst, WATCHED) == edited  # the newer undo gives back the edited file
    forced = cli("undo", sid, "--force", "--yes")
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert snapshot(inst, WATCHED) == original
    assert ours_left(inst.upper_changes()) == []


def test_two_applies_at_once_one_waits_out(
    seeded: Instance, client_key: ClientKey, known_hosts: Path, ssh_options: ConnectOptions
) -> None:
    inst = seeded
    uri = f"ssh://root@127.0.0.1:{inst.port}"
    entered, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def first_apply() -> None:
        def progress(_msg: str) -> None:
            entered.set()
            release.wait(120)  # hold the first apply in the middle of its steps

        try:
            with open_target(uri, ssh_options) as target, target_lock(target):
                session = Session(target)
                session.audit()
                assert session.apply({"machine-id": "empty"}, progress=progress).ok
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
            entered.set()

    worker = threading.Thread(target=first_apply)
    worker.start()
    try:
        assert entered.wait(120) and not errors, errors
        middle = snapshot(inst, WATCHED)
        plan = Path(str(known_hosts) + ".plan.yaml")
        plan.write_text(
            "schema: ami-wizard/plan/v1\nchoices:\n  root-ssh-login: prohibit-password\n"
        )
        second = cli("apply", uri, "--plan", str(plan), *_ssh(client_key, known_hosts))
        assert snapshot(inst, WATCHED) == middle  # the second changed nothing
    finally:
        release.set()
        worker.join(120)
    assert not errors, errors
    assert second.returncode == 2, second.stdout + second.stderr
    assert second.stderr.count("\n") == 1
    assert f"another ami-wizard session is changing {uri} (pid {os.getpid()})" in second.stderr
    assert inst.read("/etc/machine-id") == b""  # the first one finished its work


def test_state_dir_is_private_under_umask_000(
    seeded: Instance, client_key: ClientKey, known_hosts: Path, tmp_path: Path, isolated_home: Path
) -> None:
    inst = seeded
    original = snapshot(inst, WATCHED)
    plan = tmp_path / "plan.yaml"
    plan.write_text(f"schema: ami-wizard/plan/v1\nchoices:\n{ROOT_AND_MACHINE_ID}")
    ssh = _ssh(client_key, known_hosts)
    base = [sys.executable, "-m", "wizard.cli"]
    umask0 = {"preexec_fn": lambda: os.umask(0)}  # the operator's shell has umask 000
    apply = subprocess.run(
        [*base, "apply", f"ssh://root@127.0.0.1:{inst.port}", "--plan", str(plan), *ssh],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        **umask0,  # type: ignore[arg-type]
    )
    assert apply.returncode == 0, apply.stdout + apply.stderr
    state_dir = isolated_home / ".local/state/ami-wizard"
    for p in [isolated_home / ".local/state", state_dir, *state_dir.rglob("*")]:
        want = 0o700 if p.is_dir() else 0o600
        assert stat.S_IMODE(p.lstat().st_mode) == want, p
    sid = apply.stdout.split("undo with `ami-wizard undo ", 1)[1].split("`", 1)[0]
    journal = state_dir / "sessions" / sid / "journal.jsonl"
    os.chmod(journal, 0o622)  # someone could have written what undo would run
    refused = cli("undo", sid)
    assert refused.returncode == 2 and "writable by group or others" in refused.stderr
    assert snapshot(inst, WATCHED) != original
    os.chmod(journal, 0o600)
    undo = subprocess.run(
        [*base, "undo", sid], capture_output=True, text=True, timeout=300, check=False, **umask0
    )  # type: ignore[call-overload]
    assert undo.returncode == 0, undo.stdout + undo.stderr
    assert snapshot(inst, WATCHED) == original
