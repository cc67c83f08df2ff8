"""The issue's flawed two-region account on moto: one read finds every planted flaw, names the
region of each regional one, and no check ends in `error`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from checks.account import ACCOUNT_CHECKS
from tests.aws.flawed import REGIONS, seed_flawed
from tests.aws.test_account import assert_no_exception_text, by_id
from wizard.engine import audit_account
from wizard.model import Status
from wizard.results import AuditResult


@pytest.fixture
def flawed(aws: Callable[..., Any]) -> Iterator[tuple[AuditResult, dict[str, str]]]:
    ids = seed_flawed(aws)
    yield audit_account("aws:", ",".join(REGIONS)), ids


def test_every_planted_flaw_is_found_with_its_region(
    flawed: tuple[AuditResult, dict[str, str]],
) -> None:
    result, ids = flawed
    found = by_id(list(result.findings))
    assert list(found) == list(ACCOUNT_CHECKS)

    def ev(check_id: str) -> dict[str, str]:
        assert found[check_id].status is Status.FAIL, (check_id, found[check_id].summary)
        return {e.path: e.detail for e in found[check_id].evidence}

    assert ev("account-root-access-keys") == {"iam:root": "access keys present"}
    assert "iam:root" in ev("account-root-recent-use")
    assert ev("account-console-mfa") == {"iam:user/alice": "console password, no MFA device"}
    assert ev("account-access-key-age")["iam:user/alice"].startswith("key 1 is 200 days old")
    assert ev("account-admin-access") == {
        "iam:user/bob": "inline policy god allows *:*",
        "iam:user/carol": "policy everything allows *:*",
        "iam:user/dave": "via group ops",
        "iam:role/deploy": "inline policy all allows *:*",
    }
    assert found["account-password-policy"].status is Status.WARN
    assert "8-character" in found["account-password-policy"].summary
    # no trail: each region says so
    assert found["account-cloudtrail"].status is Status.FAIL
    assert result.matrix["account-cloudtrail"] == {"us-east-1": "fail", "eu-west-1": "fail"}
    # the public AMI is in us-east-1, the public snapshot in eu-west-1: both named with region
    amis = ev("account-public-amis")
    assert amis[f"ec2:us-east-1:image/{ids['image']}"] == "public (golden)"
    assert f"ec2:eu-west-1:snapshot/{ids['snapshot']}" in amis
    assert "in us-east-1, eu-west-1" in found["account-public-amis"].summary
    assert f"ec2:us-east-1:image/{ids['image']}" in ev("account-ami-imds-support")
    ssh = ev("account-open-admin-ports")
    assert ssh == {
        f"ec2:eu-west-1:security-group/{ids['security_group']}": (
            "open-ssh: port 22 open to 0.0.0.0/0"
        )
    }
    assert "in eu-west-1" in found["account-open-admin-ports"].summary
    assert result.matrix["account-open-admin-ports"] == {"us-east-1": "pass", "eu-west-1": "fail"}
    imds = ev("account-imdsv2")
    assert f"ec2:us-east-1:instance/{ids['east_instance']}" in imds
    assert not any(ids["west_instance"] in p for p in imds)  # that one requires IMDSv2
    assert "s3:bucket/flawed-public-site" in ev("account-s3-public-access")
    assert set(ev("account-ebs-encryption")) == {
        "ec2:us-east-1:ebs-encryption-by-default",
        "ec2:eu-west-1:ebs-encryption-by-default",
    }
    # optional measures warn, in both regions
    assert result.matrix["account-guardduty"] == {"us-east-1": "warn", "eu-west-1": "warn"}
    assert result.matrix["account-config-recorder"] == {"us-east-1": "warn", "eu-west-1": "warn"}
    # nothing ends in error; what moto lacks is skip, saying so
    assert [i for i, f in found.items() if f.status is Status.ERROR] == []
    skipped = {i for i, f in found.items() if f.status is Status.SKIP}
    assert skipped == {
        "account-cost-anomaly",
        "account-access-analyzer",
        "account-ami-block-public-access",
    }
    for i in skipped:
        assert "not available at this endpoint/region" in found[i].summary
    assert_no_exception_text(result.findings)
    assert result.target.account["regions"] == "us-east-1,eu-west-1"
