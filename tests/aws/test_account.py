"""The account chapter: pure checks on hand-built facts, and the gatherer against moto's server.

moto answers some APIs (Cost Explorer anomaly monitors, Access Analyzer, AMI block public
access, CloudTrail lookup_events) with an error page; the contract is that exactly those
checks come back `error` with a reason while the others still give a verdict.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import sys
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from checks.account import ACCOUNT_CHECKS, judge, region_matrix
from checks.base import catalog
from checks.runbook import runbook, runbook_steps
from tests.aws.conftest import REGION, need, post
from tests.aws.flawed import FAKE_AMI
from wizard.account_facts import (
    AccountFacts,
    Alarm,
    Analyzer,
    Bucket,
    ConsoleUser,
    Detector,
    Image,
    Instance,
    OpenRule,
    Organization,
    PolicyDoc,
    Principal,
    Recorder,
    RegionFacts,
    RunbookFacts,
    Snapshot,
    Trail,
    TrailEvent,
)
from wizard.aws import (
    gather_account,
    gather_runbook,
    make_session,
)
from wizard.aws.reader import drop_account_label
from wizard.engine import gather_and_check_account
from wizard.errors import UsageError
from wizard.model import Finding, Status

NOW = datetime(2025, 6, 1, tzinfo=UTC)
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
ACCOUNT = "123456789012"  # moto's default account


REGION_FIELDS = {f.name for f in dataclasses.fields(RegionFacts)} - {"region", "errors"}


def facts(region_errors: dict[str, str] | None = None, **kw: Any) -> AccountFacts:
    """AccountFacts with one region, eu-west-1, holding the regional fields given."""
    regional = {k: kw.pop(k) for k in list(kw) if k in REGION_FIELDS and k != "trails"}
    region = RegionFacts(region="eu-west-1", errors=region_errors or {}, **regional)
    return AccountFacts(
        account_id=ACCOUNT,
        region="eu-west-1",
        collected_at=NOW,
        regions={"eu-west-1": region},
        **kw,
    )


def iso(days_ago: int) -> str:
    return (NOW - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def key_row(user: str, rotated: int, used: int | None) -> dict[str, str]:
    return {
        "user": user,
        "password_enabled": "false",
        "mfa_active": "false",
        "access_key_1_active": "true",
        "access_key_1_last_rotated": iso(rotated),
        "access_key_1_last_used_date": "N/A" if used is None else iso(used),
        "access_key_2_active": "false",
        "access_key_2_last_rotated": "N/A",
        "access_key_2_last_used_date": "N/A",
    }


GOOD_TRAIL = Trail(
    "main",
    home_region="us-east-1",
    multi_region=True,
    logging=True,
    insights=("ApiCallRateInsight",),
    log_file_validation=True,
    kms_key_id="alias/cloudtrail",
)
BPA_ON = dict.fromkeys(
    ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), True
)


def pw_row(user: str, used: int) -> dict[str, str]:
    return key_row(user, 1, None) | {
        "access_key_1_active": "false",
        "password_enabled": "true",
        "password_last_used": iso(used),
    }


# check id -> (facts that pass, facts that do not, the status and an evidence path when not)
CASES: dict[str, tuple[AccountFacts, AccountFacts, Status, str]] = {
    "account-root-mfa": (
        facts(summary={"AccountMFAEnabled": 1}),
        facts(summary={"AccountMFAEnabled": 0}),
        Status.FAIL,
        "iam:root",
    ),
    "account-root-access-keys": (
        facts(summary={"AccountAccessKeysPresent": 0}),
        facts(summary={"AccountAccessKeysPresent": 1}),
        Status.FAIL,
        "iam:root",
    ),
    "account-console-mfa": (
        facts(console_users=(ConsoleUser("bob", True, 1), ConsoleUser("ci", False, 0))),
        facts(console_users=(ConsoleUser("bob", True, 1), ConsoleUser("alice", True, 0))),
        Status.FAIL,
        "iam:user/alice",
    ),
    "account-access-key-age": (
        facts(credential_report=(key_row("bob", 30, 1), key_row("<root_account>", 900, None))),
        facts(credential_report=(key_row("bob", 30, 1), key_row("old", 120, 2))),
        Status.FAIL,
        "iam:user/old",
    ),
    "account-admin-access": (
        facts(
            principals=(Principal("user", "bob", attached=("arn:aws:iam::aws:policy/ReadOnly",)),)
        ),
        facts(principals=(Principal("user", "alice", inline=(PolicyDoc("god", ALL),)),)),
        Status.FAIL,
        "iam:user/alice",
    ),
    "account-password-policy": (
        facts(password_policy={"MinimumPasswordLength": 16, "RequireSymbols": True}),
        facts(password_policy=None),
        Status.FAIL,
        "iam:password-policy",
    ),
    "account-cloudtrail": (
        facts(trails=(GOOD_TRAIL,)),
        facts(trails=(Trail("local", home_region="eu-west-1", multi_region=False, logging=True),)),
        Status.FAIL,
        "cloudtrail:eu-west-1:trail/local",
    ),
    "account-cost-anomaly": (
        facts(anomaly_monitors=("services",)),
        facts(anomaly_monitors=()),
        Status.FAIL,
        "",
    ),
    "account-alternate-contacts": (
        facts(alternate_contacts={"BILLING": "Ann", "OPERATIONS": "Ops", "SECURITY": "Sec"}),
        facts(alternate_contacts={"BILLING": "Ann", "OPERATIONS": None, "SECURITY": "Sec"}),
        Status.FAIL,
        "account:alternate-contact/OPERATIONS",
    ),
    "account-billing-alarm": (
        facts(billing_alarms=(Alarm("spend", "OK", True, 1),)),
        facts(billing_alarms=()),
        Status.WARN,  # an additional measure: optional in the catalog
        "",
    ),
    "account-guardduty": (
        facts(guardduty_detectors=(Detector("d1", "ENABLED"),)),
        facts(guardduty_detectors=(Detector("d1", "DISABLED"),)),
        Status.WARN,
        "guardduty:eu-west-1:detector/d1",
    ),
    "account-organizations": (
        facts(organization=Organization("o-1", scps=("FullAWSAccess", "deny-regions"))),
        facts(organization=Organization("o-1", scps=("FullAWSAccess",))),
        Status.WARN,
        "organizations:organization/o-1",
    ),
    "account-access-analyzer": (
        facts(analyzers=(Analyzer("acct", "ACCOUNT", "ACTIVE"),)),
        facts(analyzers=(Analyzer("acct", "ACCOUNT", "DISABLED"),)),
        Status.WARN,
        "access-analyzer:eu-west-1:analyzer/acct",
    ),
    "account-public-amis": (
        facts(images=(Image("ami-1", "web"),), snapshots=(Snapshot("snap-1"),)),
        facts(images=(Image("ami-1", "web"),), snapshots=(Snapshot("snap-2", public=True),)),
        Status.FAIL,
        "ec2:eu-west-1:snapshot/snap-2",
    ),
    "account-ami-block-public-access": (
        facts(image_block_public_access="block-new-sharing"),
        facts(image_block_public_access="unblocked"),
        Status.FAIL,
        "ec2:eu-west-1:image-block-public-access",
    ),
    "account-root-recent-use": (
        facts(credential_report=(pw_row("<root_account>", 200),)),
        facts(credential_report=(pw_row("<root_account>", 3),)),
        Status.FAIL,
        "iam:root",
    ),
    "account-unused-passwords": (
        facts(credential_report=(pw_row("bob", 5), pw_row("<root_account>", 300))),
        facts(credential_report=(pw_row("bob", 5), pw_row("old", 120))),
        Status.FAIL,
        "iam:user/old",
    ),
    "account-support-role": (
        facts(support_role_entities=("role/support",)),
        facts(support_role_entities=("user/bob",)),
        Status.WARN,
        "iam:user/bob",
    ),
    "account-config-recorder": (
        facts(config_recorders=(Recorder("default", recording=True, all_supported=True),)),
        facts(config_recorders=(Recorder("default", recording=False),)),
        Status.WARN,
        "config:eu-west-1:recorder/default",
    ),
    "account-open-admin-ports": (
        facts(open_rules=()),
        facts(open_rules=(OpenRule("sg-1", "web", "::/0", "tcp", 3389, 3389),)),
        Status.FAIL,
        "ec2:eu-west-1:security-group/sg-1",
    ),
    "account-s3-public-access": (
        facts(account_block_public_access=BPA_ON, buckets=(Bucket("b", public_acl=("AllUsers",)),)),
        facts(account_block_public_access=None, buckets=(Bucket("b", public_acl=("AllUsers",)),)),
        Status.FAIL,
        "s3:bucket/b",
    ),
    "account-ebs-encryption": (
        facts(ebs_encryption_by_default=True),
        facts(ebs_encryption_by_default=False),
        Status.FAIL,
        "ec2:eu-west-1:ebs-encryption-by-default",
    ),
    "account-imdsv2": (
        facts(
            instances=(Instance("i-1", "running", "required"),), imds_default_http_tokens="required"
        ),
        facts(instances=(Instance("i-2", "stopped", "optional"),)),
        Status.FAIL,
        "ec2:eu-west-1:instance/i-2",
    ),
    "account-ami-imds-support": (
        facts(images=(Image("ami-1", "web", public=True, imds_support="v2.0"),)),
        facts(images=(Image("ami-2", "web", public=True),)),
        Status.FAIL,
        "ec2:eu-west-1:image/ami-2",
    ),
}


def run_account_check(check_id: str, facts: AccountFacts) -> Finding:
    return judge(check_id, facts)[0]


def run_account_checks(facts: AccountFacts) -> list[Finding]:
    return region_matrix(facts)[0]


def by_id(findings: list[Finding]) -> dict[str, Finding]:
    return {f.id: f for f in findings}


# --- pure checks ---------------------------------------------------------------------------


def test_every_check_has_a_case_and_catalog_entry() -> None:
    assert set(CASES) == set(ACCOUNT_CHECKS)
    for check_id in ACCOUNT_CHECKS:
        entry = catalog()[check_id]
        assert entry.group == "account"
        assert entry.recommended == "fix-manually"


@pytest.mark.parametrize("check_id", sorted(CASES))
def test_check_passes_and_flags(check_id: str) -> None:
    good, bad, status, path = CASES[check_id]
    passed = run_account_check(check_id, good)
    assert passed.status is Status.PASS, passed.summary
    flagged = run_account_check(check_id, bad)
    assert flagged.status is status, flagged.summary
    assert flagged.options == ("fix-manually",)
    if path:
        assert path in [e.path for e in flagged.evidence]


def test_key_age_names_each_problem() -> None:
    f = facts(credential_report=(key_row("never", 10, None), key_row("idle", 30, 100)))
    ev = {e.path: e.detail for e in run_account_check("account-access-key-age", f).evidence}
    assert ev == {
        "iam:user/never": "key 1 was never used",
        "iam:user/idle": "key 1 unused for 100 days",
    }


def test_admin_through_group_and_customer_policy_and_roles_only_warn() -> None:
    custom = "arn:aws:iam::123456789012:policy/everything"
    f = facts(
        principals=(
            Principal("group", "admins", attached=(ADMIN,)),
            Principal("user", "carol", groups=("admins",)),
            Principal("role", "deploy", attached=(custom,)),
            Principal("role", "AWSServiceRoleForX", attached=(ADMIN,), service_linked=True),
        ),
        managed_policies={custom: PolicyDoc("everything", ALL)},
    )
    finding = run_account_check("account-admin-access", f)
    assert finding.status is Status.FAIL
    details = {e.path: e.detail for e in finding.evidence}
    assert details == {
        "iam:user/carol": "via group admins",
        "iam:role/deploy": "policy everything allows *:*",
    }
    roles_only = facts(principals=(Principal("role", "deploy", attached=(ADMIN,)),))
    assert run_account_check("account-admin-access", roles_only).status is Status.WARN


def test_cloudtrail_without_insights_warns_and_no_trail_fails() -> None:
    plain = dataclasses.replace(GOOD_TRAIL, insights=())
    assert run_account_check("account-cloudtrail", facts(trails=(plain,))).status is Status.WARN
    unvalidated = dataclasses.replace(GOOD_TRAIL, log_file_validation=False)
    finding = run_account_check("account-cloudtrail", facts(trails=(unvalidated,)))
    assert finding.status is Status.FAIL and "no log file validation" in finding.summary
    assert "NO log file validation" in finding.evidence[0].detail
    stopped = dataclasses.replace(GOOD_TRAIL, logging=False)
    finding = run_account_check("account-cloudtrail", facts(trails=(stopped,)))
    assert finding.status is Status.FAIL
    assert "NOT logging" in finding.evidence[0].detail


def test_short_password_policy_warns() -> None:
    f = facts(password_policy={"MinimumPasswordLength": 8})
    finding = run_account_check("account-password-policy", f)
    assert finding.status is Status.WARN
    assert finding.evidence[0].detail == "min length 8"


def test_unreadable_area_errors_that_check_only() -> None:
    f = facts(
        summary={"AccountMFAEnabled": 1, "AccountAccessKeysPresent": 0},
        region_errors={"images": "permission denied: the caller needs ec2:DescribeImages"},
    )
    found = by_id(run_account_checks(f))
    assert found["account-public-amis"].status is Status.ERROR
    assert "needs ec2:DescribeImages" in found["account-public-amis"].summary
    assert found["account-public-amis"].evidence[0].path == "aws:eu-west-1:images"
    assert found["account-root-mfa"].status is Status.PASS
    errors = {i for i, f in found.items() if f.status is Status.ERROR}
    assert errors == {"account-public-amis", "account-ami-imds-support"}  # both read images


def test_missing_boto3_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)  # makes `import boto3` raise ImportError
    with pytest.raises(UsageError, match=r"ami-wizard\[aws\]"):
        make_session(None, "eu-west-1")


# --- the runbook ---------------------------------------------------------------------------


def test_runbook_steps_in_order_with_live_data() -> None:
    steps = runbook_steps()
    assert [s.number for s in steps] == list(range(1, 12))
    assert steps[0].id == "root-keys" and steps[-1].id == "harden"
    rf = RunbookFacts(
        account_id=ACCOUNT,
        region="eu-west-1",
        root_access_keys_present=True,
        root_mfa_enabled=False,
        credential_report=(
            key_row("mallory", 1, 1),
            key_row("idle-nothing", 1, 1) | {"access_key_1_active": "false"},
        ),
        events={
            "CreateUser": (
                TrailEvent(
                    "CreateUser",
                    "2025-05-30T10:00:00",
                    "mallory",
                    "203.0.113.9",
                    "curl",
                    "AKIAEXAMPLEKEY1234",
                ),
            ),
            "ConsoleLogin": (),
        },
        errors={"events:ConsoleLogin": "LookupEvents: permission denied (AccessDenied)"},
    )
    views = {v.step.id: v for v in runbook(rf)}
    assert views["root-keys"].evidence[0].detail == "access keys present, MFA off"
    assert [e.path for e in views["credentials"].evidence] == ["iam:user/mallory"]
    trail = views["trail"]
    assert trail.errors == ("events:ConsoleLogin: LookupEvents: permission denied (AccessDenied)",)
    assert len(trail.evidence) == 1
    assert "from 203.0.113.9" in trail.evidence[0].detail
    assert "AKIAEXAMPLEKEY1234" not in trail.evidence[0].detail  # only the last four
    assert "…1234" in trail.evidence[0].detail
    assert views["bill"].evidence == () and views["bill"].errors == ()


# --- against moto's server -----------------------------------------------------------------


def seed_careless(aws: Callable[..., Any], mp: pytest.MonkeyPatch | None = None) -> str:
    """No trail, no policy, a console user without MFA and with an unused key, a public AMI.

    With `mp`, alice also gets AdministratorAccess: moto only knows AWS's managed policies
    when told to load them (slow), and it reads that when its IAM backend is next built.
    The server runs in this process, so the environment variable reaches it.
    """
    if mp is not None:
        mp.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
        post(f"{os.environ['AMI_WIZARD_AWS_ENDPOINT_URL']}/moto-api/reset")
    iam = aws("iam")
    iam.create_user(UserName="alice")
    iam.create_login_profile(UserName="alice", Password="Sup3r-secret-pass!")
    iam.create_access_key(UserName="alice")
    if mp is not None:
        iam.attach_user_policy(UserName="alice", PolicyArn=ADMIN)
    ec2 = aws("ec2")
    inst = ec2.run_instances(ImageId=FAKE_AMI, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    image = ec2.create_image(InstanceId=inst, Name="golden")["ImageId"]
    ec2.modify_image_attribute(ImageId=image, LaunchPermission={"Add": [{"Group": "all"}]})
    return str(image)


def seed_careful(aws: Callable[..., Any]) -> None:
    iam = aws("iam")
    iam.create_user(UserName="bob")
    iam.create_login_profile(UserName="bob", Password="Sup3r-secret-pass!")
    serial = iam.create_virtual_mfa_device(VirtualMFADeviceName="bob")["VirtualMFADevice"]
    iam.enable_mfa_device(
        UserName="bob",
        SerialNumber=serial["SerialNumber"],
        AuthenticationCode1="123456",
        AuthenticationCode2="654321",
    )
    iam.update_account_password_policy(MinimumPasswordLength=16, PasswordReusePrevention=24)
    aws("s3").create_bucket(
        Bucket="trail-logs", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    ct = aws("cloudtrail")
    ct.create_trail(
        Name="main",
        S3BucketName="trail-logs",
        IsMultiRegionTrail=True,
        EnableLogFileValidation=True,
        KmsKeyId="alias/cloudtrail",
    )
    ct.start_logging(Name="main")
    ct.put_insight_selectors(
        TrailName="main", InsightSelectors=[{"InsightType": "ApiCallRateInsight"}]
    )
    account = aws("account")
    for kind in ("BILLING", "OPERATIONS", "SECURITY"):
        account.put_alternate_contact(
            AlternateContactType=kind,
            Name=f"{kind.title()} team",
            Title="team",
            EmailAddress=f"{kind.lower()}@example.com",
            PhoneNumber="+10000000000",
        )
    topic = aws("sns", "us-east-1").create_topic(Name="billing")["TopicArn"]
    aws("cloudwatch", "us-east-1").put_metric_alarm(
        AlarmName="spend-over-100",
        Namespace="AWS/Billing",
        MetricName="EstimatedCharges",
        Dimensions=[{"Name": "Currency", "Value": "USD"}],
        Statistic="Maximum",
        Period=21600,
        EvaluationPeriods=1,
        Threshold=100.0,
        ComparisonOperator="GreaterThanThreshold",
        AlarmActions=[topic],
    )
    aws("guardduty").create_detector(Enable=True)
    aws("ec2").enable_ebs_encryption_by_default()
    cfg = aws("config")
    cfg.put_configuration_recorder(
        ConfigurationRecorder={
            "name": "default",
            "roleARN": f"arn:aws:iam::{ACCOUNT}:role/config",
            "recordingGroup": {"allSupported": True},
        }
    )
    cfg.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": "trail-logs"})
    cfg.start_configuration_recorder(ConfigurationRecorderName="default")
    s3control = aws("s3control")
    s3control.meta.events.register("before-send.s3-control", drop_account_label)
    s3control.put_public_access_block(AccountId=ACCOUNT, PublicAccessBlockConfiguration=BPA_ON)
    org = aws("organizations")
    org.create_organization(FeatureSet="ALL")
    scp = org.create_policy(
        Name="deny-other-regions",
        Type="SERVICE_CONTROL_POLICY",
        Description="only eu-west-1",
        Content=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Deny",
                        "Action": "*",
                        "Resource": "*",
                        "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["eu-west-1"]}},
                    }
                ],
            }
        ),
    )
    org.attach_policy(PolicyId=scp["Policy"]["PolicySummary"]["Id"], TargetId=ACCOUNT)


# moto has no model for these: they must come back as `skip` saying so, never an error
UNSUPPORTED_BY_MOTO = {
    "account-cost-anomaly",
    "account-access-analyzer",
    "account-ami-block-public-access",
}


def assert_unsupported_are_errors(found: dict[str, Finding]) -> None:
    for check_id in UNSUPPORTED_BY_MOTO:
        assert found[check_id].status is Status.SKIP, (check_id, found[check_id].summary)
        assert "not available at this endpoint/region" in found[check_id].summary
    others = set(found) - UNSUPPORTED_BY_MOTO
    assert all(found[i].status is not Status.ERROR for i in others), [
        (i, found[i].summary) for i in others if found[i].status is Status.ERROR
    ]
    assert_no_exception_text(found.values())


EXCEPTION_WORDS = re.compile(
    r"Traceback|Error:|Exception|KeyError|TypeError|AttributeError|botocore|<!doctype|<html",
    re.IGNORECASE,
)


def assert_no_exception_text(findings: Iterable[Finding]) -> None:
    """No finding, summary or evidence, ever shows a Python exception or an error page."""
    for f in findings:
        for text in (f.summary, *(e.detail for e in f.evidence), *(e.path for e in f.evidence)):
            assert not EXCEPTION_WORDS.search(text), (f.id, text)


def test_careless_account_is_flagged(
    aws: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    image = seed_careless(aws, monkeypatch)
    facts_, findings, _ = gather_and_check_account(None, REGION)
    found = by_id(findings)
    assert facts_.account_id == ACCOUNT and facts_.partition == "aws"
    assert_unsupported_are_errors(found)

    def flagged(check_id: str, status: Status = Status.FAIL) -> dict[str, str]:
        assert found[check_id].status is status, (check_id, found[check_id].summary)
        return {e.path: e.detail for e in found[check_id].evidence}

    assert flagged("account-console-mfa") == {"iam:user/alice": "console password, no MFA device"}
    assert flagged("account-access-key-age") == {"iam:user/alice": "key 1 was never used"}
    assert flagged("account-admin-access") == {"iam:user/alice": "AdministratorAccess attached"}
    assert flagged("account-cloudtrail") == {}
    assert found["account-cloudtrail"].summary.endswith("in eu-west-1")
    assert flagged("account-password-policy") == {
        "iam:password-policy": "none set: AWS defaults apply"
    }
    assert flagged("account-public-amis") == {f"ec2:eu-west-1:image/{image}": "public (golden)"}
    assert flagged("account-imdsv2")  # the instance the image came from allows IMDSv1
    assert flagged("account-alternate-contacts")["account:alternate-contact/SECURITY"] == "missing"
    assert flagged("account-root-mfa") == {"iam:root": "MFA not enabled"}
    flagged("account-billing-alarm", Status.WARN)
    flagged("account-guardduty", Status.WARN)
    flagged("account-organizations", Status.WARN)
    # moto always reports no root keys; the fail side is covered by the pure test above
    assert found["account-root-access-keys"].status is Status.PASS


def test_careful_account_passes_where_moto_has_the_api(aws: Callable[..., Any]) -> None:
    seed_careful(aws)
    _, findings, _ = gather_and_check_account(
        "audit", "eu-west-1"
    )  # the named profile from the temp config
    found = by_id(findings)
    assert_unsupported_are_errors(found)
    expected_pass = {
        "account-root-access-keys",
        "account-console-mfa",
        "account-access-key-age",
        "account-admin-access",
        "account-password-policy",
        "account-cloudtrail",
        "account-alternate-contacts",
        "account-billing-alarm",
        "account-guardduty",
        "account-organizations",
        "account-public-amis",
        "account-ami-imds-support",
        "account-config-recorder",
        "account-ebs-encryption",
        "account-open-admin-ports",
        "account-s3-public-access",
        "account-imdsv2",
        "account-unused-passwords",
    }
    not_passing = {i: found[i].summary for i in expected_pass if found[i].status is not Status.PASS}
    assert not_passing == {}
    assert "ApiCallRateInsight" in found["account-cloudtrail"].evidence[0].detail
    assert [e.path for e in found["account-organizations"].evidence][-1] == (
        "organizations:scp/deny-other-regions"
    )
    # moto cannot turn on root MFA: that reading is honest, not a pass
    assert found["account-root-mfa"].status is Status.FAIL


def test_denied_permission_errors_only_that_check(aws: Callable[..., Any], aws_env: str) -> None:
    """A real IAM deny, enforced by moto, turns one check into `error`; the rest still run."""
    iam = aws("iam")
    iam.create_user(UserName="auditor")
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "*", "Resource": "*"},
            {"Effect": "Deny", "Action": "ec2:DescribeImages", "Resource": "*"},
        ],
    }
    iam.put_user_policy(UserName="auditor", PolicyName="audit", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName="auditor")["AccessKey"]
    boto3 = need("boto3")
    session = boto3.Session(
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
        region_name="eu-west-1",
    )
    post(f"{aws_env}/moto-api/reset-auth", b"0")  # enforce IAM from now; aws_env resets it
    f = gather_account(session, regions=["eu-west-1"])
    assert f.regions["eu-west-1"].errors["images"] == (
        "permission denied: the caller needs ec2:DescribeImages"
    )
    found = by_id(run_account_checks(f))
    assert found["account-public-amis"].status is Status.ERROR
    assert "permission denied" in found["account-public-amis"].summary
    assert_no_exception_text(found.values())
    assert found["account-password-policy"].status is Status.FAIL  # still read and judged


def test_unknown_profile_is_a_usage_error(aws_env: str) -> None:
    with pytest.raises(UsageError, match="profile not found"):
        gather_and_check_account("no-such-profile", "eu-west-1")


def test_runbook_gathering_against_moto(aws: Callable[..., Any]) -> None:
    seed_careless(aws)
    boto3 = need("boto3")
    rf = gather_runbook(boto3.Session(region_name="eu-west-1"), regions=["eu-west-1", "us-east-1"])
    assert rf.root_access_keys_present is False
    assert [r["user"] for r in rf.credential_report] == ["alice"]
    # moto has no event history: each lookup is "not available", never a crash
    names = (
        "CreateUser",
        "CreateAccessKey",
        "AttachUserPolicy",
        "RunInstances",
        "ModifyImageAttribute",
    )
    for name in names:
        assert rf.events[name] == ()
    assert all("not available at this endpoint/region" in why for why in rf.errors.values())
    assert "events:RunInstances@us-east-1" in rf.errors  # regional events: every region
    views = {v.step.id: v for v in runbook(rf)}
    assert views["credentials"].evidence[0].path == "iam:user/alice"
    trail = views["trail"]
    assert trail.errors == ()  # a missing API is a note, not an error
    assert trail.notes == ("event history: not available at this endpoint/region (8 lookup(s))",)


def test_runbook_lists_events_and_flags_runinstances_far_from_home() -> None:
    far = TrailEvent(
        "RunInstances",
        "2025-05-30T10:00:00",
        "mallory",
        "203.0.113.9",
        region="ap-south-1",
        resources="i-0abc",
    )
    near = dataclasses.replace(far, region="eu-west-1")
    public = TrailEvent(
        "ModifyImageAttribute",
        "2025-05-30T11:00:00",
        "mallory",
        region="eu-west-1",
        resources="ami-1",
    )
    rf = RunbookFacts(
        account_id=ACCOUNT,
        region="eu-west-1",
        events={"RunInstances": (far, near), "ModifyImageAttribute": (public,)},
    )
    ev = {e.path + " " + e.detail for e in {v.step.id: v for v in runbook(rf)}["trail"].evidence}
    assert any(
        x.startswith("cloudtrail:ap-south-1:event/RunInstances") and "OUTSIDE the home region" in x
        for x in ev
    )
    assert any(
        x.startswith("cloudtrail:eu-west-1:event/RunInstances") and "OUTSIDE" not in x for x in ev
    )
    assert any("ModifyImageAttribute" in x and "on ami-1" in x for x in ev)


# --- reasons: never an exception text ------------------------------------------------------


def test_reason_is_one_line_without_exception_text() -> None:
    from botocore.exceptions import ClientError, EndpointConnectionError

    from wizard.aws.reader import Areas, reason

    denied = ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "ListAnalyzers")
    assert reason(denied, "accessanalyzer") == (
        "permission denied: the caller needs access-analyzer:ListAnalyzers"
    )
    page = ClientError(
        {
            "Error": {"Code": "500", "Message": "<!doctype html>"},
            "ResponseMetadata": {"HTTPStatusCode": 500},
        },
        "GetAnomalyMonitors",
    )
    assert reason(page, "ce") == "not available at this endpoint/region (GetAnomalyMonitors)"
    assert reason(EndpointConnectionError(endpoint_url="http://127.0.0.1:1")) == (
        "could not reach the AWS endpoint (network or timeout)"
    )
    areas = Areas()
    assert areas.area("x", "iam", lambda: {}["PolicyName"], ()) == ()
    assert areas.errors["x"] == "could not be read (an internal error of the wizard; see --debug)"


def test_a_broken_rule_is_an_error_without_its_exception(monkeypatch: pytest.MonkeyPatch) -> None:
    import checks.account as account

    def broken(*_: Any) -> Any:
        raise KeyError("PolicyName")

    rule = account.CHECKS["account-public-amis"]
    monkeypatch.setitem(
        account.CHECKS, "account-public-amis", dataclasses.replace(rule, per_region=broken)
    )
    finding = run_account_check("account-public-amis", facts())
    assert finding.status is Status.ERROR
    assert (
        finding.summary == "the check itself failed (an internal error; see --debug) in eu-west-1"
    )
    assert_no_exception_text([finding])


def test_progress_line_on_a_terminal_only(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from wizard import cli

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = Tty()
    monkeypatch.setattr(sys, "stderr", out)
    monkeypatch.delenv("CI", raising=False)
    show = cli._account_progress()
    assert show is not None
    show("eu-west-1", 1, 2)
    show("global services", 2, 2)
    assert out.getvalue().endswith("reading the account: 2/2 (global services)\n")
    monkeypatch.setenv("CI", "true")
    assert cli._account_progress() is None


def test_regions_are_parsed_and_checked() -> None:
    from wizard.aws import parse_regions

    assert parse_regions("us-east-1, eu-west-1,us-east-1") == ("us-east-1", "eu-west-1")
    assert parse_regions(None) == ()
    with pytest.raises(UsageError, match="not an AWS region"):
        parse_regions("eu-west-1;rm")


def test_without_region_every_enabled_region_is_listed(aws: Callable[..., Any]) -> None:
    from wizard.aws import enabled_regions
    from wizard.aws.reader import Areas, Reader

    boto3 = need("boto3")
    areas = Areas()
    found = enabled_regions(Reader(boto3.Session(region_name=REGION)), areas)
    assert {"us-east-1", "eu-west-1"} <= set(found) and len(found) > 2
    assert areas.errors == {}
