"""The report's optional AWS account section: the account findings (with the console path and
CLI command), the runbook checklist, escaping of account data, and a signature over it all.

Also the config file's `aws:` section, which chooses the account the wizard reads.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from checks.account import ACCOUNT_CHECKS, region_matrix
from checks.base import catalog
from checks.runbook import runbook_steps
from wizard.account_facts import AccountFacts, Image, RegionFacts
from wizard.config import AwsConfig, load_config
from wizard.demo import seed_practice_image
from wizard.driver import Driver
from wizard.engine import audit
from wizard.errors import SignatureError, UsageError
from wizard.report import AccountInput, ReportInput, RunbookTick, build_report
from wizard.report_files import to_json_bytes, write_report
from wizard.report_html import to_html
from wizard.report_md import to_markdown
from wizard.results import AuditResult, TargetInfo
from wizard.signing import verify_file
from wizard.targets.image import ImageTarget

SCRIPT = "<script>alert(1)</script>"
STARTED, FINISHED = "2024-05-01T10:00:00+00:00", "2024-05-01T10:20:00+00:00"
ACCOUNT_ID = "123456789012"


@pytest.fixture(scope="module")
def instance(tmp_path_factory: pytest.TempPathFactory) -> AuditResult:
    root = seed_practice_image(tmp_path_factory.mktemp("img"))
    return audit(ImageTarget(str(root), kind="image", uri=f"image:{root}"))


def account_result() -> AuditResult:
    """A careless account: no MFA, no trail, one public AMI whose name is hostile markup."""
    facts = AccountFacts(
        account_id=ACCOUNT_ID,
        region="eu-west-1",
        summary={"AccountMFAEnabled": 0, "AccountAccessKeysPresent": 1},
        regions={
            "eu-west-1": RegionFacts(
                region="eu-west-1",
                images=(Image("ami-0123", name=SCRIPT, public=True),),
                image_block_public_access="unblocked",
            ),
            "us-east-1": RegionFacts(region="us-east-1", image_block_public_access="unblocked"),
        },
    )
    info = TargetInfo(
        uri="aws:audit",
        hostname="",
        os="",
        kernel="",
        instance_id="",
        ami_id="",
        account={
            "account_id": ACCOUNT_ID,
            "region": "eu-west-1",
            "regions": "eu-west-1,us-east-1",
            "caller_arn": "arn:aws:iam::x",
        },
    )
    findings, matrix = region_matrix(facts)
    return AuditResult(info, facts, tuple(findings), STARTED, 0.1, matrix=matrix)


def ticks(done: set[str]) -> tuple[RunbookTick, ...]:
    return tuple(RunbookTick(s.number, s.id, s.title, s.id in done) for s in runbook_steps())


def report_with(
    instance: AuditResult, account: AccountInput | None, notes: dict[str, str] | None = None
) -> dict[str, object]:
    return build_report(
        ReportInput(
            before=instance,
            notes=notes or {},
            operator="alice@laptop",
            started=STARTED,
            finished=FINISHED,
            account=account,
        )
    )


def test_no_account_chapter_means_no_account_key(instance: AuditResult) -> None:
    assert "account" not in report_with(instance, None)


def test_account_section_content(instance: AuditResult) -> None:
    first = runbook_steps()[0].id
    report = report_with(instance, AccountInput(account_result(), runbook=ticks({first})))
    account = report["account"]
    assert isinstance(account, dict)
    assert account["uri"] == "aws:audit" and account["account_id"] == ACCOUNT_ID
    assert account["region"] == "eu-west-1" and account["read_at"] == STARTED
    checks = {c["id"]: c for c in account["checks"]}
    assert list(checks) == list(ACCOUNT_CHECKS)
    amis = checks["account-public-amis"]
    assert amis["status"] == "fail"
    assert amis["evidence"] == [
        {"path": "ec2:eu-west-1:image/ami-0123", "line": 0, "detail": f"public ({SCRIPT})"}
    ]
    assert amis["console"] == catalog()["account-public-amis"].console != ""
    assert amis["cli"] == catalog()["account-public-amis"].cli != ""
    assert checks["account-root-mfa"]["status"] == "fail"
    assert account["summary"]["fail"] >= 3
    assert [(t["step"], t["done"]) for t in account["runbook"]][:2] == [(1, True), (2, False)]
    # the instance part is untouched by the account's findings
    assert {c["id"] for c in report["checks"]}.isdisjoint(ACCOUNT_CHECKS)
    # canonical bytes round-trip: what is signed holds the section
    assert json.loads(to_json_bytes(report))["account"] == account
    # additive: the regions read and each check's status per region
    assert account["regions"] == ["eu-west-1", "us-east-1"]
    assert amis["regions"] == {"eu-west-1": "fail", "us-east-1": "pass"}
    assert checks["account-root-mfa"]["regions"] == {"global": "fail"}


def test_markdown_and_html_show_the_region_matrix(instance: AuditResult) -> None:
    report = build_report(
        ReportInput(before=instance, account=AccountInput(account_result()), started=STARTED)
    )
    md = to_markdown(report)  # type: ignore[arg-type]
    assert "### By region" in md
    assert "| Check | global | eu-west-1 | us-east-1 |" in md
    assert "| `account-public-amis` | · | fail | pass |" in md
    assert "| `account-root-mfa` | fail | · | · |" in md
    html = to_html(report)  # type: ignore[arg-type]
    assert "<h3>By region</h3>" in html and '<td class="fail">fail</td>' in html


def test_account_that_could_not_be_read(instance: AuditResult) -> None:
    report = report_with(instance, AccountInput(None, error="no credentials", runbook=ticks(set())))
    account = report["account"]
    assert isinstance(account, dict)
    assert account["error"] == "no credentials" and account["checks"] == []
    assert account["summary"] is None
    assert "no credentials" in to_markdown(report)
    assert "no credentials" in to_html(report)


def test_markdown_and_html_show_findings_fixes_and_ticks(instance: AuditResult) -> None:
    steps = runbook_steps()
    note = {"account-root-mfa": f"hardware key ordered {SCRIPT}"}
    report = report_with(
        instance, AccountInput(account_result(), runbook=ticks({steps[1].id})), note
    )
    account = report["account"]
    assert isinstance(account, dict)
    assert account["checks"][0]["note"] == note["account-root-mfa"]
    md = to_markdown(report)
    assert "**Operator's note:** hardware key ordered" in md
    assert "## AWS account" in md and "## Compromised-account runbook" in md
    assert f"- [ ] 1. {steps[0].title}" in md
    assert f"- [x] 2. {steps[1].title}" in md
    assert "ec2:eu-west-1:image/ami-0123" in md
    assert SCRIPT not in md  # markup in account data is escaped
    assert "**CLI:**" in md and "**Console:**" in md
    page = to_html(report)
    assert "<h2>AWS account</h2>" in page
    assert SCRIPT not in page and "&lt;script&gt;" in page
    assert "hardware key ordered &lt;script&gt;" in page
    assert page.count("☑") == 1 and page.count("☐") == len(steps) - 1


def test_signed_report_with_account_verifies(instance: AuditResult, tmp_path: Path) -> None:
    keygen = shutil.which("ssh-keygen")
    if keygen is None:
        pytest.skip("needs ssh-keygen")
    key = tmp_path / "id_ed25519"
    subprocess.run(
        [keygen, "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True, timeout=30
    )
    report = report_with(instance, AccountInput(account_result(), runbook=ticks(set())))
    paths = write_report(report, tmp_path / "r", sign_key=str(key))
    assert str(tmp_path / "r.json.sig") in paths
    verified = verify_file(str(tmp_path / "r.json"), public_key=str(key) + ".pub")
    assert verified.key_type == "ssh-ed25519"
    signed = json.loads((tmp_path / "r.json").read_text())
    assert signed["account"]["checks"][0]["id"] == ACCOUNT_CHECKS[0]
    # tampering with the account section breaks the signature
    (tmp_path / "r.json").write_bytes(
        (tmp_path / "r.json").read_bytes().replace(b'"done":false', b'"done":true', 1)
    )
    with pytest.raises(SignatureError):
        verify_file(str(tmp_path / "r.json"), public_key=str(key) + ".pub")


def test_driver_account_input_and_ticks() -> None:
    driver = Driver("demo")
    assert driver.account_input() is None  # chapter unused: no section
    step = runbook_steps()[2].id
    driver.tick_runbook(step, True)
    with pytest.raises(UsageError):
        driver.tick_runbook("no-such-step", True)
    acc = driver.account_input()
    assert acc is not None and acc.result is None
    assert [t.id for t in acc.runbook if t.done] == [step]
    driver.account = account_result()
    acc = driver.account_input()
    assert acc is not None and acc.result is driver.account


def test_config_aws_section(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("identity: {publisher: me}\n")
    assert load_config(path).aws == AwsConfig()
    path.write_text("aws: {profile: audit, region: eu-west-1}\n")
    assert load_config(path).aws == AwsConfig("audit", "eu-west-1", configured=True)
    path.write_text("aws:\n")  # an empty section: read with the default chain at start
    assert load_config(path).aws == AwsConfig(configured=True)
    path.write_text("aws: [audit]\n")
    with pytest.raises(UsageError, match="aws must be a mapping"):
        load_config(path)
