"""Apply, verify and undo fixes on a real OpenSSH instance, with faults injected.

Every test starts from a disposable instance; the overlay's upper dir shows exactly what the
wizard wrote or deleted, which is how "nothing of ours is left behind" is checked.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from checks.registry import off_by_default
from tests.integration.conftest import ClientKey, require_sudo
from tests.integration.instance import Instance, UpperChange
from tests.integration.test_audit import HOSTILE, seed_unprepared
from wizard.actions import RunCommand, SetSshd
from wizard.apply import Applier
from wizard.journal import Journal
from wizard.model import Status
from wizard.session import Session, undo_session
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
        if path.startswith("/var/log/") and kind == "written" and not inst.read(path):
            continue  # a log system-traces emptied (kept for the services that write it)
        if path == "/etc/hostname" and kind == "written" and not inst.read(path):
            continue  # system-traces empties the builder's host name (never removes the file)
        assert path in allowed_written or kind == "dir", (path, kind)


REVERSIBLE = {
    "root-ssh-login": "prohibit-password",
    "ssh-password-auth": "disable",
    "ssh-use-dns": "yes",
    "root-password": "lock-and-randomise-at-first-boot",
    "user-passwords": "lock",
    "authorized-keys": "clear",
    "launch-key": "imds-fetch-unit",
    "bundle-credentials": "move-outside-bundle",
    "machine-id": "empty",
}
WATCHED = [
    "/etc/ssh/sshd_config",
    "/etc/ssh/sshd_config.d/00-ami-wizard.conf",
    "/etc/shadow",
    "/etc/machine-id",
    "/root/.ssh/authorized_keys",
    "/home/builder/.aws/credentials",
    "/etc/systemd/system/launch-key-imds.service",
    "/etc/systemd/system/root-password-firstboot.service",
]


@pytest.fixture
def target(seeded: Instance, ssh_options: ConnectOptions) -> Iterator[Target]:
    with connect(seeded, ssh_options) as t:
        yield t


def test_undo_restores_every_reversible_change_byte_for_byte(
    seeded: Instance, target: Target, ssh_options: ConnectOptions
) -> None:
    inst = seeded
    inst.useradd("carol", password="carol-password-1")
    # /mnt as another file system, as the instance store is on EC2: the move needs one.
    inst.exec(["mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", "/mnt"])
    original = snapshot(inst, WATCHED)
    session = Session(target)
    session.audit()
    outcome = session.apply(REVERSIBLE, include_final=True, confirm_irreversible=False)
    by_id = {c.check_id: c for c in outcome.checks}
    for check_id in REVERSIBLE:
        assert by_id[check_id].error is None, (check_id, by_id[check_id].error)
        assert by_id[check_id].after is not Status.FAIL, (check_id, by_id[check_id])
    assert snapshot(inst, WATCHED) != original
    assert inst.exists("/mnt/ami-wizard-moved/home/builder/.aws/credentials")
    # authorized_keys is gone (final phase): undo from a second login is impossible, so it
    # goes over the same connection, as the TUI would.
    result = session.undo()
    assert result.ok, result.errors
    assert snapshot(inst, WATCHED) == original
    assert not inst.exists("/mnt/ami-wizard-moved/home/builder/.aws/credentials")
    assert ours_left(inst.upper_changes()) == []
    with connect(inst, ssh_options) as again:  # a new login works after undo
        assert again.run(["true"]).ok


def test_invalid_sshd_config_changes_nothing(
    seeded: Instance, target: Target, ssh_options: ConnectOptions
) -> None:
    inst = seeded
    session = Session(target)
    before = session.audit()
    original = snapshot(inst, WATCHED[:2])
    journal = Journal.create(session.id, {"target": target.uri, "kind": target.kind})
    applier = Applier(
        target,
        journal,
        sshd_version=before.facts.sshd_version,
        sshd_files=before.facts.sshd_files,
        new_login=getattr(target, "try_new_login", None),
    )
    # A value the model accepts but this sshd rejects: an unknown cipher.
    bad = SetSshd(check_id="root-ssh-login", keyword="Ciphers", args=("no-such-cipher",))
    result = applier.apply("root-ssh-login", [bad])
    assert result.error and "sshd -t" in result.error
    assert snapshot(inst, WATCHED[:2]) == original
    assert ours_left(inst.upper_changes()) == []
    with connect(inst, ssh_options) as again:
        assert again.run(["true"]).ok


def test_change_that_breaks_new_logins_is_rolled_back(
    seeded: Instance, target: Target, ssh_options: ConnectOptions
) -> None:
    inst = seeded
    session = Session(target)
    before = session.audit()
    original = snapshot(inst, WATCHED[:2])
    journal = Journal.create(session.id, {"target": target.uri, "kind": target.kind})
    applier = Applier(
        target,
        journal,
        sshd_version=before.facts.sshd_version,
        sshd_files=before.facts.sshd_files,
        new_login=getattr(target, "try_new_login", None),
    )
    # Valid for sshd -t, reloads fine, and locks every login out: only the new login notices.
    lockout = SetSshd(check_id="root-ssh-login", keyword="AllowUsers", args=("nobody",))
    result = applier.apply("root-ssh-login", [lockout])
    assert result.rolled_back
    assert result.error and "rolled back" in result.error and "work again" in result.error
    assert snapshot(inst, WATCHED[:2]) == original
    with connect(inst, ssh_options) as again:
        assert again.run(["true"]).ok


def test_lockout_choice_is_refused_for_a_root_login(target: Target) -> None:
    session = Session(target)
    session.audit()
    preview = session.preview("root-ssh-login", "no")
    assert preview.refusal and "lock out" in preview.refusal
    outcome = session.apply({"root-ssh-login": "no"})
    assert outcome.errors and outcome.checks[0].before is Status.FAIL
    assert outcome.checks[0].after is Status.FAIL  # nothing was changed


@pytest.mark.parametrize("how", ["read-only", "full"])
def test_failed_write_leaves_instance_as_it_was(
    seeded: Instance, target: Target, ssh_options: ConnectOptions, how: str
) -> None:
    inst = seeded
    original = snapshot(inst, WATCHED[:2])
    if how == "read-only":
        inst.exec(["mount", "--bind", "-o", "ro", "/etc/ssh", "/etc/ssh"])
        inst.exec(["mount", "-o", "remount,bind,ro", "/etc/ssh"])
    else:
        # A tiny tmpfs holding a copy of /etc/ssh, filled to the last byte, mounted over it.
        inst.exec(["mkdir", "-p", "/run/fullfs"])
        inst.exec(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", "/run/fullfs"])
        inst.exec(["cp", "-a", "/etc/ssh/.", "/run/fullfs/"])
        inst.exec(["sh", "-c", "cat /dev/zero > /run/fullfs/filler"], check=False)
        inst.exec(["mount", "--move", "/run/fullfs", "/etc/ssh"])
    session = Session(target)
    session.audit()
    outcome = session.apply({"root-ssh-login": "prohibit-password", "ssh-use-dns": "yes"})
    assert outcome.errors
    assert outcome.checks[0].error
    assert snapshot(inst, WATCHED[:2]) == original
    leftovers = inst.exec(["sh", "-c", "ls -a /etc/ssh | grep ami-wizard || true"]).stdout
    assert leftovers == b""
    with connect(inst, ssh_options) as again:
        assert again.run(["true"]).ok


def test_dropped_connection_mid_apply_is_undoable(
    seeded: Instance, target: Target, ssh_options: ConnectOptions
) -> None:
    inst = seeded
    original = snapshot(inst, WATCHED)
    session = Session(target)
    session.audit()
    seen: list[str] = []

    def drop_after_first_write(message: str) -> None:
        seen.append(message)
        if message.startswith("machine-id:"):
            target._transport.close()  # type: ignore[attr-defined]

    outcome = session.apply(
        {"root-ssh-login": "prohibit-password", "machine-id": "empty", "user-passwords": "lock"},
        progress=drop_after_first_write,
    )
    assert outcome.errors
    assert any("root-ssh-login" in m for m in seen)
    with connect(inst, ssh_options) as again:
        result = undo_session(session.id, again)
        assert result.ok, result.errors
    assert snapshot(inst, WATCHED) == original
    assert ours_left(inst.upper_changes()) == []


def test_non_root_operator_with_sudo(
    seeded: Instance, client_key: ClientKey, ssh_options: ConnectOptions
) -> None:
    require_sudo()
    inst = seeded
    inst.useradd("opsuser", sudo=True)
    inst.authorize("opsuser", client_key.public_line)
    original = snapshot(inst, WATCHED[:3])
    with connect(inst, ssh_options, user="opsuser") as t:
        session = Session(t)
        session.audit()
        # As a sudo user, root may be shut out of SSH entirely: not refused.
        assert session.preview("root-ssh-login", "no").refusal is None
        outcome = session.apply(
            {"root-ssh-login": "no", "ssh-password-auth": "disable", "root-password": "lock"}
        )
        assert outcome.ok, outcome.errors
        assert {c.after for c in outcome.checks} == {Status.PASS}
        assert "permitrootlogin no" in sshd_t(inst)
        assert session.undo().ok
    assert snapshot(inst, WATCHED[:3]) == original


def test_dry_run_changes_nothing(
    seeded: Instance, client_key: ClientKey, known_hosts: Path
) -> None:
    inst = seeded
    before = inst.upper_changes()
    proc = cli(
        "apply",
        f"ssh://root@127.0.0.1:{inst.port}",
        "--recommended",
        "--dry-run",
        "-i",
        str(client_key.path),
        "--known-hosts",
        str(known_hosts),
    )
    assert proc.returncode == 0, proc.stderr
    assert "+PermitRootLogin prohibit-password" in proc.stdout
    assert "shred and delete /etc/ssh/ssh_host_ed25519_key" in proc.stdout
    assert "dry run: nothing was changed" in proc.stdout
    assert inst.upper_changes() == before


def test_bad_plan_is_one_line_exit_2(tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text("schema: ami-wizard/plan/v1\nchoices:\n  root-ssh-login: no\n")
    proc = cli("apply", "image:/", "--plan", str(plan), "--dry-run")
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and 'quote it: "no"' in proc.stderr


def _all_options() -> list[tuple[str, str]]:
    from checks import INSTANCE_CHECKS
    from checks.base import catalog

    return [(c, o.id) for c in INSTANCE_CHECKS for o in catalog()[c].options]


# Refused on this instance, for a stated reason (the test asserts the refusal instead).
EXPECTED_REFUSALS = {
    ("launch-key", "cloud-init"): "cloud-init is not installed",
}


@pytest.mark.parametrize(("check_id", "option_id"), _all_options())
def test_every_option_applies_and_verifies(
    seeded: Instance,
    client_key: ClientKey,
    ssh_options: ConnectOptions,
    check_id: str,
    option_id: str,
) -> None:
    require_sudo()
    inst = seeded
    # A sudo user logs in, so that even `PermitRootLogin no` leaves a proven way in.
    inst.useradd("opsuser", sudo=True)
    inst.authorize("opsuser", client_key.public_line)
    inst.write("/home/builder/cert-$(touch PWNED).pem", "-----BEGIN CERTIFICATE-----\n")
    if option_id == "move-outside-bundle":  # /mnt on another file system (instance store)
        inst.exec(["mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", "/mnt"])
    with connect(inst, ssh_options, user="opsuser") as t:
        session = Session(t)
        session.audit()
        preview = session.preview(check_id, option_id)
        if (check_id, option_id) in EXPECTED_REFUSALS:
            assert preview.refusal and EXPECTED_REFUSALS[check_id, option_id] in preview.refusal
            return
        assert preview.refusal is None, preview.refusal
        if check_id == "ami-tools" and preview.actions:
            # A real upgrade needs the network (tests/integration/test_ami_tools.py runs one
            # from a local repository); here the plan must be apt's, irreversible, and nothing
            # else.
            assert all(isinstance(a, RunCommand) for a in preview.actions), preview.actions
            argvs = [a.argv for a in preview.actions if isinstance(a, RunCommand)]
            assert all("apt-get" in argv[:3] for argv in argvs), argvs
            assert not any(a.reversible for a in preview.actions)
            return
        outcome = session.apply({check_id: option_id}, confirm_irreversible=True)
        assert outcome.ok, outcome.errors
        result = outcome.checks[0]
        if option_id == "keep":  # nothing changes, and the check says so
            assert not preview.actions and not result.actions_done
            if check_id in off_by_default():  # choosing an option turns it on: judged now
                assert result.before is Status.SKIP and result.after is not Status.PASS
            else:
                assert result.after is result.before
            return
        if option_id == "keep-and-exclude":
            # The keys stay (the check still says so); the bundle leaves them out.
            assert "/root/.ssh" in outcome.exclude_list
            assert "/home/opsuser/.ssh" in outcome.exclude_list
            return
        if check_id == "accounts-privilege":
            # opsuser's NOPASSWD rule is the operator's own login: never restated, so it stays
            # flagged, like the host's pending security updates; nothing else may be left.
            left = {f.id: f for f in session.after.findings}[check_id]  # type: ignore[union-attr]
            rest = [e for e in left.evidence if "security update" not in e.detail]
            assert all("opsuser" in e.detail for e in rest), left.evidence
            return
        assert result.after is not Status.FAIL, result
        assert result.after is not Status.ERROR, result
        if preview.actions and check_id not in ("bundle-excludes",):
            assert result.actions_done, result
    assert not any(c.path.endswith("PWNED") for c in inst.upper_changes())
    assert ours_left(inst.upper_changes()) == [] or check_id == "bundle-credentials"


def test_cli_plan_apply_then_undo_by_session_id(
    seeded: Instance, client_key: ClientKey, known_hosts: Path, tmp_path: Path
) -> None:
    inst = seeded
    original = snapshot(inst, WATCHED)
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        "schema: ami-wizard/plan/v1\nchoices:\n"
        "  root-ssh-login: prohibit-password\n  ssh-use-dns: 'yes'\n  machine-id: empty\n"
    )
    ssh = ["-i", str(client_key.path), "--known-hosts", str(known_hosts)]
    report = tmp_path / "outcome"
    proc = cli(
        "apply",
        f"ssh://root@127.0.0.1:{inst.port}",
        "--plan",
        str(plan),
        "--report",
        str(report),
        *ssh,
    )
    assert "root-ssh-login: fail -> pass" in proc.stdout, proc.stdout + proc.stderr
    assert "machine-id: fail -> pass" in proc.stdout
    doc = json.loads((tmp_path / "outcome.json").read_text())
    assert doc["schema"] == "ami-wizard/report/v1"
    rows = {c["id"]: c for c in doc["checks"]}
    assert rows["root-ssh-login"]["before"]["status"] == "fail"
    assert rows["root-ssh-login"]["after"]["status"] == "pass"
    assert rows["root-ssh-login"]["choice"]["option"] == "prohibit-password"
    assert rows["root-ssh-login"]["actions"]["commands"]
    assert (tmp_path / "outcome.md").is_file() and (tmp_path / "outcome.html").is_file()
    session_id = proc.stdout.split("undo with `ami-wizard undo ", 1)[1].split("`", 1)[0]
    assert snapshot(inst, WATCHED) != original
    undo = cli("undo", session_id)  # reconnects with the paths the session recorded
    assert undo.returncode == 0, undo.stdout + undo.stderr
    assert "restored /etc/machine-id" in undo.stdout
    assert snapshot(inst, WATCHED) == original
    assert ours_left(inst.upper_changes()) == []
