"""The checklist report's `test_boot` section: present only when a test-boot ran, rendered in
every format with target data escaped, masked like the rest, and covered by the signature."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.test_testboot import META, _boot
from wizard import testboot
from wizard.demo import EXAMPLE_KEY_ID, seed_practice_image
from wizard.engine import audit
from wizard.model import Evidence, Finding, Severity, Status
from wizard.report import ReportInput, build_report
from wizard.report_files import write_report
from wizard.report_html import to_html
from wizard.report_md import to_markdown
from wizard.report_testboot import TestBootInput
from wizard.results import AuditResult, TargetInfo
from wizard.targets.image import ImageTarget
from wizard.testboot import from_result
from wizard.testboot_judge import Launch

SSH_KEYGEN = shutil.which("ssh-keygen") or "/usr/bin/ssh-keygen"
SCRIPT = "<script>alert(1)</script>"
STAMP = "2024-05-01T10:00:00+00:00"


@pytest.fixture(scope="module")
def before(tmp_path_factory: pytest.TempPathFactory) -> AuditResult:
    root = seed_practice_image(tmp_path_factory.mktemp("img"))
    return audit(ImageTarget(str(root)))


def booted() -> TestBootInput:
    """A test-boot of two launches as wizard/testboot.py returns it, with hostile text from
    the image in a finding (a unit name) and a leaked key id in a journal line."""
    findings = (
        Finding(
            "launch-1/first-boot-units",
            "First-boot units ran and succeeded, once",
            Status.FAIL,
            Severity.HIGH,
            "x.service did not succeed on a new instance",
            (Evidence(f"{SCRIPT}.service", 0, f"journal: export KEY={EXAMPLE_KEY_ID}"),),
        ),
        Finding(
            "launches/machine-id", "machine-id differs", Status.PASS, Severity.HIGH, "they differ"
        ),
    )
    target = TargetInfo("image:/mnt/image", "img", "Debian", "", "", "ami-0test")
    result = testboot.TestBootResult(
        AuditResult(target, None, findings, STAMP, 9.0),
        (
            Launch(1, META, "admin", _boot(machine_id="m1")),
            Launch(
                2,
                META,
                "admin",
                _boot(
                    machine_id="m2",
                    root_digest="d2",
                    host_keys={"/etc/ssh/ssh_host_ed25519_key.pub": "SHA256:b"},
                ),
            ),
        ),
    )
    return from_result(result)


def test_no_section_without_a_test_boot(before: AuditResult) -> None:
    report = build_report(ReportInput(before=before, finished=STAMP))
    assert "test_boot" not in report
    assert "Test-boot" not in to_markdown(report) and "Test-boot" not in to_html(report)


def test_a_test_boot_is_in_every_format_escaped_and_masked(before: AuditResult) -> None:
    report = build_report(ReportInput(before=before, finished=STAMP, test_boot=booted()))
    section = report["test_boot"]
    assert section["booted"] is True and section["target"] == "image:/mnt/image"
    assert section["summary"]["fail"] == 1 and section["summary"]["pass"] == 1
    assert [r["machine_id"] for r in section["launches"]] == ["m1", "m2"]
    assert [f["id"] for f in section["findings"]] == [
        "launch-1/first-boot-units",
        "launches/machine-id",
    ]
    text = json.dumps(report) + to_markdown(report) + to_html(report)
    assert EXAMPLE_KEY_ID not in text  # masked like every report
    md, page = to_markdown(report), to_html(report)
    assert "| /etc/machine-id | `m1` | `m2` |" in md
    assert "| ssh\\_host\\_ed25519\\_key.pub | `SHA256:a` | `SHA256:b` |" in md
    assert f"`{SCRIPT}.service`" in md  # a code span: shown, never markup
    assert "<script>" not in page
    assert "&lt;script&gt;" in page


def test_not_booted_says_what_is_not_proven(before: AuditResult) -> None:
    why = "the image has no systemd: nothing was booted, so sshd is NOT proven"
    report = build_report(
        ReportInput(
            before=before,
            finished=STAMP,
            test_boot=TestBootInput("image:/x", STAMP, not_proven=why),
        )
    )
    assert report["test_boot"]["booted"] is False
    assert report["test_boot"]["not_proven"] == why
    assert "**Not booted:** the image has no systemd" in to_markdown(report)
    assert "NOT proven" in to_html(report)


def test_the_signature_covers_the_test_boot_section(before: AuditResult, tmp_path: Path) -> None:
    key = tmp_path / "k"
    subprocess.run([SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    signers = tmp_path / "allowed_signers"
    pub = Path(f"{key}.pub").read_text().split()
    signers.write_text(f'op@example.test namespaces="ami-wizard" {pub[0]} {pub[1]}\n')
    report = build_report(ReportInput(before=before, finished=STAMP, test_boot=booted()))
    write_report(report, tmp_path / "r", formats=("json",), sign_key=str(key))
    data = tmp_path / "r.json"

    def verify() -> int:
        with open(data, "rb") as stdin:
            argv = [SSH_KEYGEN, "-Y", "verify", "-f", str(signers), "-I", "op@example.test"]
            argv += ["-n", "ami-wizard", "-s", f"{data}.sig"]
            return subprocess.run(argv, stdin=stdin, capture_output=True, check=False).returncode

    assert verify() == 0
    # Say the failing launch passed: the signature no longer holds.
    data.write_bytes(data.read_bytes().replace(b'"status":"fail"', b'"status":"pass"', 1))
    assert b'"test_boot"' in data.read_bytes()
    assert verify() != 0
