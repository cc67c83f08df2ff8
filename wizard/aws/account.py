"""The account's global areas, read once per audit: IAM, Organizations, contacts, billing, S3.

Each function reads one area and raises on failure; `Areas.area` turns that into a reason.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Mapping
from typing import Any

from wizard.account_facts import (
    CONTACT_TYPES,
    Alarm,
    Bucket,
    ConsoleUser,
    Organization,
    PolicyDoc,
    Principal,
)
from wizard.aws.reader import Areas, Reader, code, document, pages

SUPPORT_POLICY = "arn:{partition}:iam::aws:policy/AWSSupportAccess"
BPA_KEYS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
PUBLIC_GRANTEES = {
    "http://acs.amazonaws.com/groups/global/AllUsers": "AllUsers",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers": "AuthenticatedUsers",
}
MAX_BUCKETS = 200  # each bucket costs three calls: a bound on a huge account


def summary(r: Reader) -> dict[str, int]:
    return dict(r.client("iam").get_account_summary()["SummaryMap"])


def anomaly_monitors(r: Reader, billing_region: str) -> tuple[str, ...]:
    ce = r.client("ce", billing_region)
    monitors = pages(ce, "get_anomaly_monitors", "AnomalyMonitors")
    return tuple(m.get("MonitorName") or m.get("MonitorArn", "") for m in monitors)


def console_users(r: Reader) -> tuple[ConsoleUser, ...]:
    iam = r.client("iam")
    users: list[ConsoleUser] = []
    for u in pages(iam, "list_users", "Users"):
        name = u["UserName"]
        try:
            iam.get_login_profile(UserName=name)
            console = True
        except Exception as exc:
            if code(exc) != "NoSuchEntity":
                raise
            console = False
        devices = list(pages(iam, "list_mfa_devices", "MFADevices", UserName=name))
        users.append(ConsoleUser(name=name, console_access=console, mfa_devices=len(devices)))
    return tuple(users)


def _name(p: Mapping[str, Any]) -> str:
    # AWS sends PolicyName; some endpoints (moto) leave it out of the customer policies of
    # get-account-authorization-details: the name is the ARN's last path segment
    arn = str(p.get("Arn") or p.get("PolicyArn") or "")
    return str(p.get("PolicyName") or arn.rsplit("/", 1)[-1] or "(unnamed policy)")


def _inline(items: list[dict[str, Any]]) -> tuple[PolicyDoc, ...]:
    return tuple(PolicyDoc(_name(p), document(p.get("PolicyDocument"))) for p in items)


def _attached(items: list[dict[str, Any]]) -> tuple[str, ...]:
    return tuple(str(p["PolicyArn"]) for p in items if p.get("PolicyArn"))


def principals(r: Reader) -> tuple[tuple[Principal, ...], dict[str, PolicyDoc]]:
    """Users, groups, roles and customer policies in one paginated authorization listing."""
    iam = r.client("iam")
    found: list[Principal] = []
    policies: dict[str, PolicyDoc] = {}
    filters = ["User", "Role", "Group", "LocalManagedPolicy"]
    for n, page in enumerate(
        iam.get_paginator("get_account_authorization_details").paginate(Filter=filters)
    ):
        if n >= 50:
            break
        for u in page.get("UserDetailList", []):
            found.append(
                Principal(
                    kind="user",
                    name=u["UserName"],
                    arn=u.get("Arn", ""),
                    attached=_attached(u.get("AttachedManagedPolicies", [])),
                    inline=_inline(u.get("UserPolicyList", [])),
                    groups=tuple(u.get("GroupList", [])),
                )
            )
        for g in page.get("GroupDetailList", []):
            found.append(
                Principal(
                    kind="group",
                    name=g["GroupName"],
                    arn=g.get("Arn", ""),
                    attached=_attached(g.get("AttachedManagedPolicies", [])),
                    inline=_inline(g.get("GroupPolicyList", [])),
                )
            )
        for ro in page.get("RoleDetailList", []):
            found.append(
                Principal(
                    kind="role",
                    name=ro["RoleName"],
                    arn=ro.get("Arn", ""),
                    attached=_attached(ro.get("AttachedManagedPolicies", [])),
                    inline=_inline(ro.get("RolePolicyList", [])),
                    service_linked=ro.get("Path", "/").startswith("/aws-service-role/"),
                )
            )
        for p in page.get("Policies", []):
            versions = p.get("PolicyVersionList", [])
            default = next((v for v in versions if v.get("IsDefaultVersion")), None)
            if default is not None and p.get("Arn"):
                policies[p["Arn"]] = PolicyDoc(_name(p), document(default.get("Document")))
    return tuple(found), policies


def credential_report(r: Reader) -> tuple[dict[str, str], ...]:
    iam = r.client("iam")
    # generation is asynchronous on AWS: ask until it says COMPLETE, a bounded number of times
    for _ in range(15):
        if iam.generate_credential_report().get("State") == "COMPLETE":
            break
        time.sleep(1)
    else:
        raise TimeoutError("the credential report was not ready after 15 s")
    content = iam.get_credential_report()["Content"]
    text = content.decode("utf-8") if isinstance(content, bytes) else str(content)
    return tuple(dict(row) for row in csv.DictReader(io.StringIO(text)))


def password_policy(r: Reader) -> dict[str, Any] | None:
    try:
        return dict(r.client("iam").get_account_password_policy()["PasswordPolicy"])
    except Exception as exc:
        if code(exc) == "NoSuchEntity":
            return None
        raise


def alternate_contacts(r: Reader) -> dict[str, str | None]:
    account = r.client("account")
    contacts: dict[str, str | None] = {}
    for kind in CONTACT_TYPES:
        try:
            got = account.get_alternate_contact(AlternateContactType=kind)["AlternateContact"]
            contacts[kind] = got.get("Name") or "(no name)"
        except Exception as exc:
            if code(exc) != "ResourceNotFoundException":
                raise
            contacts[kind] = None
    return contacts


def _metric_is_billing(alarm: Mapping[str, Any]) -> bool:
    metrics = [alarm] + [
        q.get("MetricStat", {}).get("Metric", {}) for q in alarm.get("Metrics", [])
    ]
    return any(
        m.get("Namespace") == "AWS/Billing" and m.get("MetricName") == "EstimatedCharges"
        for m in metrics
    )


def billing_alarms(r: Reader, billing_region: str) -> tuple[Alarm, ...]:
    cw = r.client("cloudwatch", billing_region)
    return tuple(
        Alarm(
            name=a["AlarmName"],
            state=a.get("StateValue", ""),
            actions_enabled=bool(a.get("ActionsEnabled", True)),
            actions=len(a.get("AlarmActions", [])),
        )
        for a in pages(cw, "describe_alarms", "MetricAlarms")
        if _metric_is_billing(a)
    )


def organization(r: Reader, areas: Areas, account_id: str) -> Organization | None:
    orgs = r.client("organizations")
    try:
        org = orgs.describe_organization()["Organization"]
    except Exception as exc:
        if code(exc) == "AWSOrganizationsNotInUseException":
            return None
        raise

    def on(target: str) -> list[str]:
        try:
            found = pages(
                orgs,
                "list_policies_for_target",
                "Policies",
                TargetId=target,
                Filter="SERVICE_CONTROL_POLICY",
            )
            return [p.get("Name") or p.get("Id", "") for p in found]
        except Exception as exc:
            if code(exc) == "PolicyTypeNotEnabledException":
                return []  # SCPs are off in this organization: none apply
            raise

    def scps() -> tuple[str, ...]:
        # SCPs apply from the root down through each OU to the account: read the whole chain
        names: list[str] = []
        target, is_root = account_id, False
        for _ in range(7):  # the account, up to five nested OUs, the root
            names.extend(on(target))
            if is_root:
                break
            parents = orgs.list_parents(ChildId=target).get("Parents", [])
            if not parents:
                break
            target, is_root = parents[0]["Id"], parents[0].get("Type") == "ROOT"
        return tuple(dict.fromkeys(names))

    return Organization(
        id=org.get("Id", ""),
        management_account_id=org.get("MasterAccountId", ""),
        scps=areas.area("scps", "organizations", scps, ()),
    )


def support_role(r: Reader, partition: str) -> tuple[str, ...]:
    """Who holds AWS's AWSSupportAccess policy (role/NAME, user/NAME, group/NAME)."""
    iam = r.client("iam")
    arn = SUPPORT_POLICY.format(partition=partition)
    try:
        got = iam.list_entities_for_policy(PolicyArn=arn)
    except Exception as exc:
        if code(exc) == "NoSuchEntity":
            return ()  # an endpoint that does not know the managed policy: nobody holds it
        raise
    return (
        tuple(f"role/{x['RoleName']}" for x in got.get("PolicyRoles", []))
        + tuple(f"user/{x['UserName']}" for x in got.get("PolicyUsers", []))
        + tuple(f"group/{x['GroupName']}" for x in got.get("PolicyGroups", []))
    )


def _bpa(raw: Mapping[str, Any]) -> dict[str, bool]:
    return {k: bool(raw.get(k)) for k in BPA_KEYS}


def account_bpa(r: Reader, account_id: str) -> dict[str, bool] | None:
    """S3 Block Public Access for the whole account; None: never configured."""
    try:
        got = r.client("s3control").get_public_access_block(AccountId=account_id)
    except Exception as exc:
        if code(exc) == "NoSuchPublicAccessBlockConfiguration":
            return None
        raise
    return _bpa(got.get("PublicAccessBlockConfiguration", {}))


def _bucket(s3: Any, name: str) -> Bucket:
    bpa: dict[str, bool] | None = None
    try:
        bpa = _bpa(s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"])
    except Exception as exc:
        if code(exc) != "NoSuchPublicAccessBlockConfiguration":
            raise
    grants = s3.get_bucket_acl(Bucket=name).get("Grants", [])
    public_acl = tuple(
        dict.fromkeys(
            PUBLIC_GRANTEES[g["Grantee"]["URI"]]
            for g in grants
            if g.get("Grantee", {}).get("URI") in PUBLIC_GRANTEES
        )
    )
    policy_public: bool | None = None
    try:
        status = s3.get_bucket_policy_status(Bucket=name).get("PolicyStatus", {})
        policy_public = bool(status.get("IsPublic"))
    except Exception as exc:
        if code(exc) != "NoSuchBucketPolicy":
            raise
    return Bucket(
        name=name, block_public_access=bpa, public_acl=public_acl, policy_public=policy_public
    )


def buckets(r: Reader) -> tuple[Bucket, ...]:
    s3 = r.client("s3")
    names = [b["Name"] for b in s3.list_buckets().get("Buckets", [])][:MAX_BUCKETS]
    return tuple(_bucket(s3, n) for n in names)
