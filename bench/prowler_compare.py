"""Side by side with Prowler: our account checks and Prowler's equivalents, on the same flawed
two-region moto account (tests/aws/flawed.py), every call to 127.0.0.1.

Test-only: Prowler is not a dependency of ami-wizard. Install it into a throw-away venv and
point --prowler at it:

    python3 -m venv /tmp/prowler-venv && /tmp/prowler-venv/bin/pip install prowler
    .venv/bin/python bench/prowler_compare.py --prowler /tmp/prowler-venv/bin/prowler

`--markdown` prints the mapping table (ours -> Prowler ids -> seed section) for the README.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from checks.account import ACCOUNT_CHECKS
from checks.base import catalog

# our check -> Prowler's check ids that judge the same thing (empty: Prowler has none)
PROWLER: dict[str, tuple[str, ...]] = {
    "account-root-mfa": ("iam_root_mfa_enabled",),
    "account-root-access-keys": ("iam_no_root_access_key",),
    "account-root-recent-use": ("iam_avoid_root_usage",),
    "account-console-mfa": ("iam_user_mfa_enabled_console_access",),
    "account-access-key-age": ("iam_rotate_access_key_90_days", "iam_user_accesskey_unused"),
    "account-unused-passwords": ("iam_user_console_access_unused",),
    "account-admin-access": (
        "iam_inline_policy_no_administrative_privileges",
        "iam_customer_attached_policy_no_administrative_privileges",
        "iam_aws_attached_policy_no_administrative_privileges",
    ),
    "account-password-policy": ("iam_password_policy_minimum_length_14",),
    "account-support-role": ("iam_support_role_created",),
    "account-cloudtrail": (
        "cloudtrail_multi_region_enabled",
        "cloudtrail_log_file_validation_enabled",
        "cloudtrail_kms_encryption_enabled",
    ),
    "account-config-recorder": ("config_recorder_all_regions_enabled",),
    "account-cost-anomaly": (),
    "account-alternate-contacts": ("account_security_contact_information_is_registered",),
    "account-billing-alarm": (),
    "account-guardduty": ("guardduty_is_enabled",),
    "account-organizations": (
        "organizations_account_part_of_organizations",
        "organizations_scp_check_deny_regions",
    ),
    "account-access-analyzer": ("accessanalyzer_enabled",),
    "account-open-admin-ports": (
        "ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_22",
        "ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_3389",
        "ec2_securitygroup_allow_ingress_from_internet_to_all_ports",
    ),
    "account-s3-public-access": (
        "s3_account_level_public_access_blocks",
        "s3_bucket_level_public_access_block",
        "s3_bucket_public_access",
    ),
    "account-ebs-encryption": ("ec2_ebs_default_encryption",),
    "account-imdsv2": ("ec2_instance_imdsv2_enabled", "ec2_instance_account_imdsv2_enabled"),
    "account-public-amis": ("ec2_ami_public", "ec2_ebs_public_snapshot"),
    "account-ami-imds-support": (),
    "account-ami-block-public-access": ("ec2_ami_account_block_public_access",),
}
REGIONS = ("us-east-1", "eu-west-1")


def markdown() -> str:
    rows = [
        "| ami-wizard check | Prowler check ids | seed 003 section |",
        "|---|---|---|",
    ]
    for check_id in ACCOUNT_CHECKS:
        ids = ", ".join(f"`{p}`" for p in PROWLER[check_id]) or "(none)"
        rows.append(f"| `{check_id}` | {ids} | {catalog()[check_id].seed} |")
    return "\n".join(rows)


def _env(url: str, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": url,  # boto3/botocore send every service here
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
            "AMI_WIZARD_AWS_ENDPOINT_URL": url,
            "NO_PROXY": "127.0.0.1",
            "HOME": str(home),
        }
    )
    return env


def ours(url: str, home: Path) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    os.environ.update(_env(url, home))
    from wizard.engine import audit_account

    result = audit_account("aws:", ",".join(REGIONS))
    return {f.id: f.status.value for f in result.findings}, result.matrix


def prowler(exe: str, url: str, out: Path) -> dict[str, dict[str, list[str]]]:
    """Prowler's verdicts: check id -> status (PASS/FAIL/...) -> the regions they were in."""
    checks = sorted({p for ids in PROWLER.values() for p in ids})
    cmd = [exe, "aws", "--region", *REGIONS, "--scan-unused-services"]
    cmd += ["--aws-retries-max-attempts", "1", "--no-banner", "-M", "json-ocsf"]
    cmd += ["-o", str(out), "-F", "prowler", "-c", *checks]
    proc = subprocess.run(
        cmd,
        env=_env(url, out),
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    found: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    report = out / "prowler.ocsf.json"
    if not report.exists():
        sys.stderr.write(proc.stdout[-2000:] + proc.stderr[-2000:])
        return found
    for item in json.loads(report.read_text() or "[]"):
        check = item.get("metadata", {}).get("event_code", "")
        status = item.get("status_code", "?")
        region = item.get("cloud", {}).get("region", "") or "global"
        found[check][status].append(region)
    return found


def _theirs(found: dict[str, dict[str, list[str]]], check: str) -> str:
    if check not in found:
        return "no result"
    parts = []
    for status in ("FAIL", "MANUAL", "PASS"):
        regions = found[check].get(status, [])
        if regions:
            where = ",".join(sorted(set(regions)))
            parts.append(f"{status} x{len(regions)} ({where})")
    return "; ".join(parts)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--prowler", default="/tmp/prowler-venv/bin/prowler")
    ap.add_argument("--markdown", action="store_true", help="print the README mapping table")
    args = ap.parse_args()
    if args.markdown:
        print(markdown())
        return 0
    from tests.aws.flawed import seed_flawed, start_moto

    server, url = start_moto()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            home = Path(tmp)
            os.environ.update(_env(url, home))
            import boto3

            session = boto3.Session(region_name="us-east-1")

            def client(service: str, region: str = "us-east-1") -> Any:
                return session.client(service, region_name=region, endpoint_url=url)

            seed_flawed(client)
            mine, matrix = ours(url, home)
            theirs = prowler(args.prowler, url, home / "out")
    finally:
        server.stop()
    print(f"{'ami-wizard check':34} {'ours (per region)':38} Prowler check: verdicts (regions)")
    for check_id in ACCOUNT_CHECKS:
        per = ",".join(f"{r}={s}" for r, s in matrix[check_id].items())
        ids = PROWLER[check_id] or ("(no equivalent)",)
        for n, pid in enumerate(ids):
            left = f"{check_id:34} {mine[check_id] + ' ' + per:38}" if n == 0 else " " * 73
            right = f"{pid}: {_theirs(theirs, pid)}" if PROWLER[check_id] else pid
            print(f"{left} {right}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
