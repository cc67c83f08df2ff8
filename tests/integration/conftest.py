"""Fixtures for the real-sshd integration tests: the instance, a client key, a connected target.

Missing tools (sshd, unshare, root) skip these tests on a workstation but fail them in CI
(CI=true), where a missing sshd means the suite is not testing what it claims.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.instance import Instance, missing_requirements
from wizard.targets import ConnectOptions, Target, open_target


def require(reason: str | None) -> None:
    """Skip (or, in CI, fail) when `reason` says something is missing."""
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"integration requirement missing in CI: {reason}")
    pytest.skip(reason)


def require_sudo() -> None:
    require(None if shutil.which("sudo") else "sudo is not installed (Debian: sudo)")


@dataclass(frozen=True)
class ClientKey:
    path: Path
    public_line: str


@pytest.fixture(scope="session")
def client_key(tmp_path_factory: pytest.TempPathFactory) -> ClientKey:
    """An ed25519 key pair made for this test run only (no passphrase)."""
    require(missing_requirements())
    path = tmp_path_factory.mktemp("client") / "id_ed25519"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "ami-wizard-test", "-f", str(path)],
        check=True,
    )
    return ClientKey(path, path.with_suffix(".pub").read_text().strip())


@pytest.fixture
def instance(tmp_path: Path, client_key: ClientKey) -> Iterator[Instance]:
    """A fresh disposable instance, root authorised for the test key."""
    require(missing_requirements())
    with Instance(tmp_path) as inst:
        inst.authorize("root", client_key.public_line)
        yield inst


@pytest.fixture
def known_hosts(tmp_path: Path, instance: Instance) -> Path:
    path = tmp_path / "known_hosts"
    path.write_text(instance.host_key_line() + "\n")
    return path


@pytest.fixture
def ssh_options(known_hosts: Path, client_key: ClientKey) -> ConnectOptions:
    return ConnectOptions(
        identity=str(client_key.path), known_hosts=str(known_hosts), use_agent=False, timeout=10
    )


@pytest.fixture
def ssh_target(instance: Instance, ssh_options: ConnectOptions) -> Iterator[Target]:
    with open_target(f"ssh://root@127.0.0.1:{instance.port}", ssh_options) as target:
        yield target
