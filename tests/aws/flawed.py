"""A deliberately flawed two-region account on moto, shared by the tests, bench/ and the Prowler
comparison: every flaw it plants is listed in FLAWS with the region it lives in.

Two flaws cannot be made through moto's API (root access keys, the root user's last sign-in):
moto runs in this process (ThreadedMotoServer), so `plant_root` sets them on its IAM backend.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

ACCOUNT = "123456789012"  # moto's default account
REGIONS = ("us-east-1", "eu-west-1")
FAKE_AMI = "ami-0123456789abcdef0"  # with MOTO_EC2_LOAD_DEFAULT_AMIS=false any id launches

Client = Callable[..., Any]

ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def start_moto(port: int = 0) -> tuple[Any, str]:
    """moto's HTTP server on 127.0.0.1 (in this process), without the ~2,600 default images."""
    os.environ["MOTO_EC2_LOAD_DEFAULT_AMIS"] = "false"
    from moto.server import ThreadedMotoServer

    if not port:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    return server, f"http://127.0.0.1:{port}"


def plant_root(keys: bool = True, last_used_days_ago: int | None = 3) -> None:
    """Root access keys and a recent root sign-in, on moto's in-process IAM backend."""
    from moto.iam import models

    backend = models.iam_backends[ACCOUNT]["aws"]
    backend.account_summary._account_access_keys_present = 1 if keys else 0  # moto has no API
    if last_used_days_ago is None:
        return
    when = (datetime.now(UTC) - timedelta(days=last_used_days_ago)).strftime(
        "%Y-%m-%dT%H:%M:%S+00:00"
    )
    row = (
        f"<root_account>,arn:aws:iam::{ACCOUNT}:root,2020-01-01T00:00:00+00:00,not_supported,"
        f"{when},not_supported,not_supported,false,{'true' if keys else 'false'},"
        "2020-01-01T00:00:00+00:00,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n"
    )
    original = backend.get_credential_report

    def with_root() -> str:
        header, _, rest = original().partition("\n")
        return f"{header}\n{row}{rest}"

    # on this backend instance only: moto's reset builds it anew, so no test inherits it
    backend.get_credential_report = with_root


def age_access_keys(user: str, days: int) -> None:
    """moto stamps keys with now: move `user`'s keys `days` into the past."""
    from moto.iam import models

    backend = models.iam_backends[ACCOUNT]["aws"]
    for key in backend.users[user].access_keys:
        key.create_date = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=days)


def seed_flawed(aws: Client) -> dict[str, str]:
    """Plant every flaw of the issue's fake account; returns the ids the tests look for."""
    iam = aws("iam", "us-east-1")
    # people: a console user without MFA and with a stale key; admin through every form
    iam.create_user(UserName="alice")
    iam.create_login_profile(UserName="alice", Password="Sup3r-secret-pass!")
    iam.create_access_key(UserName="alice")
    age_access_keys("alice", 200)
    iam.create_user(UserName="bob")  # inline *:* on the user
    iam.put_user_policy(UserName="bob", PolicyName="god", PolicyDocument=json.dumps(ALL))
    iam.create_user(UserName="carol")  # customer-managed *:* attached
    custom = iam.create_policy(PolicyName="everything", PolicyDocument=json.dumps(ALL))
    iam.attach_user_policy(UserName="carol", PolicyArn=custom["Policy"]["Arn"])
    iam.create_group(GroupName="ops")  # inline *:* on a group
    iam.put_group_policy(GroupName="ops", PolicyName="ops-all", PolicyDocument=json.dumps(ALL))
    iam.create_user(UserName="dave")
    iam.add_user_to_group(GroupName="ops", UserName="dave")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "ec2.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    iam.create_role(RoleName="deploy", AssumeRolePolicyDocument=json.dumps(trust))
    iam.put_role_policy(RoleName="deploy", PolicyName="all", PolicyDocument=json.dumps(ALL))
    iam.update_account_password_policy(MinimumPasswordLength=8)
    plant_root()

    # us-east-1: a public AMI (registered without ImdsSupport) from an IMDSv1 instance
    east = aws("ec2", "us-east-1")
    inst = east.run_instances(ImageId=FAKE_AMI, MinCount=1, MaxCount=1)["Instances"][0]
    image = east.create_image(InstanceId=inst["InstanceId"], Name="golden")["ImageId"]
    east.modify_image_attribute(ImageId=image, LaunchPermission={"Add": [{"Group": "all"}]})
    s3 = aws("s3", "us-east-1")
    s3.create_bucket(Bucket="flawed-public-site", ACL="public-read")

    # eu-west-1: a public snapshot and SSH open to the world on a used security group
    west = aws("ec2", "eu-west-1")
    vol = west.create_volume(AvailabilityZone="eu-west-1a", Size=1)["VolumeId"]
    snap = west.create_snapshot(VolumeId=vol)["SnapshotId"]
    west.modify_snapshot_attribute(
        SnapshotId=snap, Attribute="createVolumePermission", OperationType="add", GroupNames=["all"]
    )
    sg = west.create_security_group(GroupName="open-ssh", Description="ssh from anywhere")[
        "GroupId"
    ]
    west.authorize_security_group_ingress(
        GroupId=sg,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 22,
                "ToPort": 22,
                "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
            }
        ],
    )
    west_inst = west.run_instances(
        ImageId=FAKE_AMI,
        MinCount=1,
        MaxCount=1,
        SecurityGroupIds=[sg],
        MetadataOptions={"HttpTokens": "required"},
    )["Instances"][0]
    return {
        "image": str(image),
        "snapshot": str(snap),
        "security_group": str(sg),
        "east_instance": str(inst["InstanceId"]),
        "west_instance": str(west_inst["InstanceId"]),
    }
