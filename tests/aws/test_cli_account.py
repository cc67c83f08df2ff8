"""`ami-wizard audit aws:[PROFILE]` as a process, against moto's server on loopback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

from tests.aws.test_account import seed_careless


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    # the aws_env fixture put the loopback endpoint and fake credentials in os.environ
    return subprocess.run(
        [sys.executable, "-m", "wizard.cli", "audit", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ),
        check=False,
    )


def test_audit_aws_profile_flags_a_careless_account(aws: Callable[..., Any]) -> None:
    image = seed_careless(aws)
    proc = run_cli("aws:audit", "--format", "json", "--region", "eu-west-1,us-east-1")
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["schema"] == "ami-wizard/audit/v1"
    assert doc["target"]["uri"] == "aws:audit"
    assert doc["target"]["account"]["account_id"] == "123456789012"
    checks = {c["id"]: c for c in doc["checks"]}
    assert checks["account-public-amis"]["status"] == "fail"
    assert any(image in e["path"] for e in checks["account-public-amis"]["evidence"])
    assert checks["account-cloudtrail"]["status"] == "fail"
    assert checks["account-console-mfa"]["status"] == "fail"
    # an API moto lacks is a skip for that check, saying so; the others still ran
    assert checks["account-cost-anomaly"]["status"] == "skip"
    assert "not available at this endpoint/region" in checks["account-cost-anomaly"]["summary"]
    # additive to audit/v1: the regions read and the region x check matrix
    assert doc["target"]["account"]["regions"] == "eu-west-1,us-east-1"
    matrix = doc["account_regions"]
    assert matrix["regions"] == ["eu-west-1", "global", "us-east-1"]
    assert matrix["matrix"]["account-public-amis"] == {"eu-west-1": "fail", "us-east-1": "pass"}
    assert matrix["matrix"]["account-root-mfa"] == {"global": "fail"}
    assert proc.stderr == ""  # no progress line when stderr is not a terminal


def test_audit_aws_unknown_profile_is_one_line(aws_env: str) -> None:
    proc = run_cli("aws:no-such-profile")
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "no-such-profile" in proc.stderr


def test_audit_aws_sarif(aws: Callable[..., Any]) -> None:
    seed_careless(aws)
    proc = run_cli("aws:", "--format", "sarif", "--region", "eu-west-1")
    assert proc.returncode == 1, proc.stderr
    results = json.loads(proc.stdout)["runs"][0]["results"]
    assert {r["ruleId"] for r in results} >= {"account-root-mfa", "account-public-amis"}
