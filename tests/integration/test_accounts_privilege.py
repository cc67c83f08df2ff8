"""accounts-privilege on a real instance: an extra UID 0 account, passwordless sudo for a
build account (in sudoers.d and in a file reached by @include), a login account without a
home and world-writable files are all found; the fix removes only the write bits (checked on
the target, journaled) and restates ci's sudo rules with a password in a visudo-checked
drop-in (sudo really asks again), and undo takes both back. One instance for the module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import ClientKey, require
from tests.integration.instance import Instance, missing_requirements
from tests.integration.test_apply import connect
from wizard.model import Status
from wizard.session import Session
from wizard.targets import ConnectOptions

pytestmark = pytest.mark.sshd

CHECK = "accounts-privilege"
WW_FILE = "/etc/ami-test-app.conf"
WW_DIR = "/opt/ami-test-drop"
STICKY = "/var/ami-test-sticky"


DROP_IN = "/etc/sudoers.d/zz-ami-wizard"


def _sudo_without_password(inst: Instance) -> bool:
    """Can ci run /usr/bin/id through sudo without typing a password?"""
    proc = inst.exec(["su", "-s", "/bin/sh", "ci", "-c", "sudo -n /usr/bin/id -u"], check=False)
    return proc.returncode == 0 and proc.stdout.strip() == b"0"


def _mode(inst: Instance, path: str) -> str:
    return inst.exec(["stat", "-c", "%a", path]).stdout.decode().strip()


@pytest.fixture(scope="module")
def inst(tmp_path_factory: pytest.TempPathFactory, client_key: ClientKey) -> Iterator[Instance]:
    require(missing_requirements())
    with Instance(tmp_path_factory.mktemp("priv")) as instance:
        instance.authorize("root", client_key.public_line)
        instance.exec(["useradd", "-o", "-u", "0", "-M", "-s", "/bin/sh", "toor"])
        instance.exec(["useradd", "-M", "-d", "/home/ghost", "-s", "/bin/sh", "ghost"])
        instance.useradd("ci", sudo=True, nopasswd=True)  # /etc/sudoers.d/ci
        instance.write("/etc/sudoers.d/60-include", "@include /etc/sudoers.extra\n", mode=0o440)
        instance.write("/etc/sudoers.extra", "ci ALL=(root) NOPASSWD: /usr/bin/id\n", mode=0o440)
        instance.write(WW_FILE, "key=value\n", mode=0o666)
        instance.exec(["install", "-d", "-m", "777", WW_DIR])
        instance.exec(["install", "-d", "-m", "1777", STICKY])
        instance.write(f"{STICKY}/inside", "x\n", mode=0o666)  # under a sticky dir: skipped
        instance.exec(["ln", "-s", "/tmp", "/etc/ami-test-link"])  # a symlink: not counted
        yield instance


@pytest.fixture(scope="module")
def options(
    tmp_path_factory: pytest.TempPathFactory, inst: Instance, client_key: ClientKey
) -> ConnectOptions:
    known = Path(tmp_path_factory.mktemp("kh")) / "known_hosts"
    known.write_text(inst.host_key_line() + "\n")
    return ConnectOptions(
        identity=str(client_key.path), known_hosts=str(known), use_agent=False, timeout=10
    )


def test_planted_privilege_problems_found_and_write_bits_removed_undoably(
    inst: Instance, options: ConnectOptions
) -> None:
    with connect(inst, options) as target:
        session = Session(target)
        found = {f.id: f for f in session.audit().findings}[CHECK]
        assert found.status is Status.FAIL
        details = [(e.path, e.detail) for e in found.evidence]
        assert any("toor has UID 0" in d for _, d in details)
        assert any(p == "/etc/sudoers.d/ci" and "ci" in d for p, d in details)
        assert any(p == "/etc/sudoers.extra" for p, _ in details)
        assert any("ghost" in d and "does not exist" in d for _, d in details)
        paths = {p for p, _ in details}
        assert {WW_FILE, WW_DIR} <= paths
        assert f"{STICKY}/inside" not in paths and STICKY not in paths
        assert "/etc/ami-test-link" not in paths
        assert _sudo_without_password(inst)
        outcome = session.apply({CHECK: "fix-all"})
        assert outcome.ok, outcome.errors
        assert (_mode(inst, WW_FILE), _mode(inst, WW_DIR)) == ("664", "775")
        after = session.after  # type: ignore[union-attr]
        assert not {f.path for f in after.facts.world_writable} & {WW_FILE, WW_DIR}
        # sudo asks ci for a password again (the drop-in restates both rules, read last) ...
        drop_in = inst.read(DROP_IN).decode()
        assert "ci ALL=(ALL:ALL) PASSWD: ALL" in drop_in and "PASSWD: /usr/bin/id" in drop_in
        assert not _sudo_without_password(inst)
        left = {f.id: f for f in after.findings}[CHECK]
        assert not any(e.path.startswith("/etc/sudoers") for e in left.evidence), left.evidence
        # ... while the accounts and the original rules are left to the operator
        assert inst.exists("/etc/sudoers.d/ci") and "toor" in left.summary + str(left.evidence)
        assert _mode(inst, f"{STICKY}/inside") == "666"
        assert session.undo().ok
    assert (_mode(inst, WW_FILE), _mode(inst, WW_DIR)) == ("666", "777")
    assert not inst.exists(DROP_IN)
    assert _sudo_without_password(inst)
