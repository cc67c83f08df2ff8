"""ami-tools with real apt on a real instance (Debian): an old `ec2-ami-tools` package is
installed from a local file repository, a newer one is offered there; the audit reads the
installed version from dpkg's database and the pending update from apt's cache (no network:
the instance's only source is the local repository), and `ami-tools-only` upgrades exactly
that package with `apt-get install --only-upgrade`. The other package managers cannot run
here: their parsing and commands are unit-tested (tests/checks/test_ami_tools.py)."""

from __future__ import annotations

import hashlib
import subprocess
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

CHECK = "ami-tools"
PKG = "ec2-ami-tools"
OLD, NEW = "1.4.0-2", "1.5.19-1"
REPO = "/srv/ami-wizard-test-repo"


def _deb(base: Path, version: str) -> Path:
    """A tiny architecture-independent package holding an ec2-bundle-vol script."""
    tree = base / f"{PKG}-{version}"
    (tree / "DEBIAN").mkdir(parents=True)
    (tree / "usr" / "bin").mkdir(parents=True)
    (tree / "DEBIAN" / "control").write_text(
        f"Package: {PKG}\nVersion: {version}\nArchitecture: all\n"
        "Maintainer: test <test@example.invalid>\nDescription: test stand-in\n"
    )
    script = tree / "usr" / "bin" / "ec2-bundle-vol"
    script.write_text(f"#!/bin/sh\necho {version}\n")
    script.chmod(0o755)
    out = base / f"{PKG}_{version}_all.deb"
    subprocess.run(
        ["dpkg-deb", "--root-owner-group", "-b", str(tree), str(out)],
        check=True,
        capture_output=True,
    )
    return out


def _packages_entry(deb: Path, version: str) -> str:
    data = deb.read_bytes()
    return (
        f"Package: {PKG}\nVersion: {version}\nArchitecture: all\n"
        f"Maintainer: test <test@example.invalid>\nFilename: ./{deb.name}\n"
        f"Size: {len(data)}\nSHA256: {hashlib.sha256(data).hexdigest()}\n"
        "Description: test stand-in\n\n"
    )


@pytest.fixture(scope="module")
def inst(tmp_path_factory: pytest.TempPathFactory, client_key: ClientKey) -> Iterator[Instance]:
    require(missing_requirements())
    base = tmp_path_factory.mktemp("debs")
    old, new = _deb(base, OLD), _deb(base, NEW)
    with Instance(tmp_path_factory.mktemp("apt")) as instance:
        instance.authorize("root", client_key.public_line)
        instance.write(f"{REPO}/{old.name}", old.read_bytes())
        instance.write(f"{REPO}/{new.name}", new.read_bytes())
        instance.write(f"{REPO}/Packages", _packages_entry(new, NEW))
        # Only the local repository: apt never reaches the network, and the host's lists
        # (whose pending updates would hide ours) are gone inside the instance only.
        instance.exec(["sh", "-c", "rm -rf /etc/apt/sources.list.d/* /var/lib/apt/lists/*"])
        instance.write("/etc/apt/sources.list", f"deb [trusted=yes] file:{REPO} ./\n")
        instance.exec(["apt-get", "-qq", "update"])
        instance.exec(["dpkg", "-i", f"{REPO}/{old.name}"])
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


def test_version_and_pending_update_read_and_the_package_upgraded(
    inst: Instance, options: ConnectOptions
) -> None:
    with connect(inst, options) as target:
        session = Session(target)
        result = session.audit()
        facts = session.before.facts  # type: ignore[union-attr]
        assert (facts.ami_tools_package, facts.ami_tools_version) == (PKG, OLD)
        assert facts.ami_tools_update == NEW
        assert facts.pending_packages == (PKG,)
        found = {f.id: f for f in result.findings}[CHECK]
        assert found.status is Status.WARN
        assert OLD in found.summary and NEW in found.summary
        assert "/usr/bin/ec2-bundle-vol" in [e.path for e in found.evidence]
        outcome = session.apply({CHECK: "ami-tools-only"}, confirm_irreversible=True)
        assert outcome.ok, outcome.errors
        after = outcome.checks[0]
        assert (after.check_id, after.after) == (CHECK, Status.PASS), after
    installed = inst.exec(["dpkg-query", "-W", "-f", "${Version}", PKG]).stdout.decode()
    assert installed == NEW
