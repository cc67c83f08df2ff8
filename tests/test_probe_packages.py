"""The probe's packages section on an image root: the AMI tools' version is read from the
image's own package database (text files for dpkg and apk), in every shell, and nothing is
asked of the package manager (an image is never live: no pending-update query runs)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.test_probe import SHELLS, mini_root, run
from wizard import probe

DPKG_STATUS = """\
Package: adduser
Status: install ok installed
Version: 3.134

Package: ec2-ami-tools
Status: install ok installed
Priority: optional
Architecture: all
Version: 1.5.7-1
Description: the EC2 AMI tools

Package: aws-amitools-ec2
Status: deinstall ok config-files
Version: 9.9
"""
APK_INSTALLED = """\
C:Q1abc=
P:busybox
V:1.36.1-r15

C:Q1def=
P:aws-amitools-ec2
V:1.5.19-r0
"""


@pytest.mark.parametrize("shell", SHELLS, ids=lambda s: s[0])
def test_dpkg_database_in_the_image_gives_the_version(tmp_path: Path, shell: list[str]) -> None:
    if shutil.which(shell[0]) is None:
        pytest.fail(f"{shell[0]} is needed for this test (install it)")
    root = mini_root(tmp_path)
    (root / "var" / "lib" / "dpkg").mkdir(parents=True)
    (root / "var" / "lib" / "dpkg" / "status").write_text(DPKG_STATUS)
    (root / "usr" / "bin").mkdir(parents=True)
    (root / "usr" / "bin" / "apt-get").write_text("#!/bin/sh\nexit 99\n")
    (root / "usr" / "bin" / "apt-get").chmod(0o755)
    out, proc = run(root, shell)
    assert proc.returncode == 0, proc.stderr
    facts = probe.parse(out, root=str(root), live=False, target_kind="image")
    assert facts.package_manager == "apt"
    assert (facts.ami_tools_package, facts.ami_tools_version) == ("ec2-ami-tools", "1.5.7-1")
    assert facts.pending_updates is None  # an image: nothing was asked of apt
    assert b"pkgupd" not in out


def test_apk_database_in_the_image(tmp_path: Path) -> None:
    root = mini_root(tmp_path)
    (root / "lib" / "apk" / "db").mkdir(parents=True)
    (root / "lib" / "apk" / "db" / "installed").write_text(APK_INSTALLED)
    out, proc = run(root, ["dash"])
    assert proc.returncode == 0, proc.stderr
    facts = probe.parse(out, root=str(root), live=False, target_kind="image")
    assert (facts.ami_tools_package, facts.ami_tools_version) == ("aws-amitools-ec2", "1.5.19-r0")


def test_rpm_database_without_rpm_is_a_note_not_a_guess(tmp_path: Path) -> None:
    if shutil.which("rpm"):
        pytest.skip("rpm is installed here: the note is for machines without it")
    root = mini_root(tmp_path)
    (root / "var" / "lib" / "rpm").mkdir(parents=True)
    out, _ = run(root, ["dash"])
    facts = probe.parse(out, root=str(root), live=False, target_kind="image")
    assert facts.ami_tools_package == ""
    assert any("rpm database was not read" in n for n in facts.probe_errors)
