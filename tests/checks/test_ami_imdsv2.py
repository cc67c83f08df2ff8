from __future__ import annotations

import pytest

from checks.ami_imdsv2 import ID, check, plan
from wizard.errors import UsageError
from wizard.facts import Facts, Unit
from wizard.model import Status

V1 = "[Service]\nExecStart=/bin/sh -c 'curl -s http://169.254.169.254/latest/meta-data/instance-id'\n"
V2 = (
    "[Service]\nExecStart=/bin/sh -c 't=$(curl -X PUT http://169.254.169.254/latest/api/token "
    '-H "X-aws-ec2-metadata-token-ttl-seconds: 60"); curl -H "X-aws-ec2-metadata-token: $t" '
    "http://169.254.169.254/latest/meta-data/instance-id'\n"
)


def test_the_advice_names_register_image_and_modify_image_attribute() -> None:
    finding = check(Facts())
    assert finding.status is Status.INFO and finding.id == ID
    assert "--imds-support v2.0" in finding.summary
    where = {e.path: e.detail for e in finding.evidence}
    assert "--imds-support v2.0" in where["aws ec2 register-image"]
    assert "hop limit of 2" in where["aws ec2 register-image"]
    assert "cannot be switched back" in where["aws ec2 modify-image-attribute"]
    assert finding.options == ()


def test_a_token_less_metadata_unit_warns_and_is_named() -> None:
    facts = Facts(
        units=(
            Unit("/etc/systemd/system/old.service", V1, True),
            Unit("/etc/systemd/system/new.service", V2, True),
        ),
        rc_local="#!/bin/sh\nREGION=$(curl http://169.254.169.254/latest/meta-data/placement/region)\n",
    )
    finding = check(facts)
    assert finding.status is Status.WARN and "2 boot unit(s)" in finding.summary
    named = {(e.path, e.line) for e in finding.evidence if "IMDSv1" in e.detail}
    assert named == {("/etc/systemd/system/old.service", 2), ("/etc/rc.local", 2)}


def test_nothing_to_apply() -> None:
    with pytest.raises(UsageError, match="when the AMI is registered"):
        plan(Facts(), "set")
