"""Read-only gathering of AWS account facts for the account-hardening chapter (seed 003).

One boto3 Session, bounded timeouts and retries; every area that cannot be read (denied,
unsupported in the region or by the endpoint) is recorded in `errors` instead of raising.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from wizard.account_facts import (
    CONTACT_TYPES,
    AccountFacts,
    Alarm,
    Analyzer,
    ConsoleUser,
    Detector,
    Image,
    Organization,
    PolicyDoc,
    Principal,
    RunbookFacts,
    Snapshot,
    Trail,
    TrailEvent,
)
from wizard.errors import TargetError, UsageError

if TYPE_CHECKING:  # boto3 is an optional extra: only imported when the chapter runs
    import boto3

log = logging.getLogger(__name__)

ENDPOINT_ENV = "AMI_WIZARD_AWS_ENDPOINT_URL"
BOTO3_MISSING = "the account chapter needs boto3: pip install 'ami-wizard[aws]'"

# Billing metrics and Cost Explorer live in one region per partition.
BILLING_REGION = {"aws": "us-east-1", "aws-us-gov": "us-gov-west-1", "aws-cn": "cn-northwest-1"}
RUNBOOK_EVENTS = ("ConsoleLogin", "CreateUser", "CreateAccessKey")
MAX_PAGES = 50  # a bound on every paginated listing, so a huge account cannot stall the audit

# Error codes that mean "this principal may not read that": the check errors, the rest run.
DENIED_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "UnauthorizedException",
        "AuthorizationError",
    }
)

T = TypeVar("T")


# --- session -----------------------------------------------------------------------------


def _boto3() -> Any:
    try:
        import boto3
    except ImportError as exc:
        raise UsageError(BOTO3_MISSING) from exc
    return boto3


def client_config() -> Any:
    """The botocore Config every client uses: short timeouts, one retry."""
    _boto3()
    from botocore.config import Config

    return Config(
        connect_timeout=5,
        read_timeout=20,
        retries={"max_attempts": 2, "mode": "standard"},
    )


def make_session(profile: str | None, region: str | None) -> boto3.Session:
    """One boto3 Session for the whole audit; a missing profile or region is a usage error."""
    boto3 = _boto3()
    from botocore.exceptions import ProfileNotFound

    try:
        session = boto3.Session(profile_name=profile or None, region_name=region or None)
    except ProfileNotFound as exc:
        raise UsageError(f"AWS profile not found: {profile}") from exc
    if not session.region_name:
        raise UsageError("no AWS region: set one in the profile, AWS_REGION, or pass it")
    return session


class _Reader:
    """Opens clients from one session and records why an area could not be read."""

    def __init__(self, session: Any, endpoint_url: str | None = None) -> None:
        self.session = session
        self.endpoint_url = endpoint_url or os.environ.get(ENDPOINT_ENV) or None
        self.config = client_config()
        self.errors: dict[str, str] = {}
        self._clients: dict[tuple[str, str], Any] = {}

    def client(self, service: str, region: str | None = None) -> Any:
        key = (service, region or self.session.region_name)
        if key not in self._clients:
            self._clients[key] = self.session.client(
                service,
                region_name=key[1],
                endpoint_url=self.endpoint_url,
                config=self.config,
            )
        return self._clients[key]

    def area(self, name: str, read: Callable[[], T], default: T) -> T:
        """Run `read`; on any failure note the reason under `name` and return `default`."""
        try:
            return read()
        except Exception as exc:  # a denied or unsupported API must not stop the other areas
            self.errors[name] = reason(exc)
            log.info("account area %s unreadable: %s", name, self.errors[name])
            return default


def reason(exc: BaseException) -> str:
    """One line saying why a call failed, without the endpoint's HTML error pages."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        error = response.get("Error", {})
        code = str(error.get("Code", ""))
        message = str(error.get("Message", "")).strip()
        op = getattr(exc, "operation_name", "") or "call"
        if code in DENIED_CODES:
            return f"{op}: permission denied ({code})"
        if code.isdigit() or message.startswith("<"):
            status = response.get("ResponseMetadata", {}).get("HTTPStatusCode", code)
            return f"{op}: the endpoint answered HTTP {status} (API not supported there?)"
        return f"{op}: {code}: {message.splitlines()[0] if message else ''}".rstrip(": ")
    text = str(exc).splitlines()[0] if str(exc) else ""
    if "invalid XML received" in str(exc) or "<!doctype" in str(exc).lower():
        text = "the endpoint answered with an error page (API not supported there?)"
    return f"{type(exc).__name__}: {text}"[:300]


def _code(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def _pages(client: Any, operation: str, key: str, **kwargs: Any) -> Iterator[Any]:
    """Items under `key` across at most MAX_PAGES pages of a listing."""
    if client.can_paginate(operation):
        pages = client.get_paginator(operation).paginate(**kwargs)
        for n, page in enumerate(pages):
            if n >= MAX_PAGES:
                log.warning("%s: stopped after %d pages", operation, MAX_PAGES)
                break
            yield from page.get(key, [])
    else:
        yield from getattr(client, operation)(**kwargs).get(key, [])


def _document(raw: Any) -> Mapping[str, Any]:
    """Policy documents come decoded from boto3, but some endpoints send URL-encoded JSON."""
    if isinstance(raw, Mapping):
        return raw
    if isinstance(raw, str):
        from urllib.parse import unquote

        try:
            loaded = json.loads(unquote(raw))
        except ValueError:
            return {}
        return loaded if isinstance(loaded, Mapping) else {}
    return {}


# --- areas -------------------------------------------------------------------------------


def _summary(r: _Reader) -> dict[str, int]:
    return dict(r.client("iam").get_account_summary()["SummaryMap"])


def _trails(r: _Reader) -> tuple[Trail, ...]:
    found: list[Trail] = []
    for t in r.client("cloudtrail").describe_trails(includeShadowTrails=True)["trailList"]:
        arn = t.get("TrailARN", "")
        home = t.get("HomeRegion") or r.session.region_name
        # status and insights are answered by the trail's home region
        ct = r.client("cloudtrail", home)
        logging_on: bool | None = None
        insights: tuple[str, ...] = ()
        status_error = ""
        try:
            logging_on = bool(ct.get_trail_status(Name=arn or t["Name"]).get("IsLogging"))
        except Exception as exc:  # an org trail seen from a member may deny this
            status_error = reason(exc)
        # asked even when HasInsightSelectors is false: not every endpoint keeps that flag
        try:
            sel = ct.get_insight_selectors(TrailName=arn or t["Name"])
            insights = tuple(s["InsightType"] for s in sel.get("InsightSelectors", []))
        except Exception as exc:
            if _code(exc) != "InsightNotEnabledException":
                status_error = status_error or reason(exc)
        found.append(
            Trail(
                name=t["Name"],
                arn=arn,
                home_region=home,
                multi_region=bool(t.get("IsMultiRegionTrail")),
                organization=bool(t.get("IsOrganizationTrail")),
                logging=logging_on,
                insights=insights,
                status_error=status_error,
            )
        )
    return tuple(found)


def _anomaly_monitors(r: _Reader, billing_region: str) -> tuple[str, ...]:
    ce = r.client("ce", billing_region)
    monitors = _pages(ce, "get_anomaly_monitors", "AnomalyMonitors")
    return tuple(m.get("MonitorName") or m.get("MonitorArn", "") for m in monitors)


def _console_users(r: _Reader) -> tuple[ConsoleUser, ...]:
    iam = r.client("iam")
    users: list[ConsoleUser] = []
    for u in _pages(iam, "list_users", "Users"):
        name = u["UserName"]
        try:
            iam.get_login_profile(UserName=name)
            console = True
        except Exception as exc:
            if _code(exc) != "NoSuchEntity":
                raise
            console = False
        devices = list(_pages(iam, "list_mfa_devices", "MFADevices", UserName=name))
        users.append(ConsoleUser(name=name, console_access=console, mfa_devices=len(devices)))
    return tuple(users)


def _inline(items: list[dict[str, Any]]) -> tuple[PolicyDoc, ...]:
    return tuple(PolicyDoc(p["PolicyName"], _document(p.get("PolicyDocument"))) for p in items)


def _attached(items: list[dict[str, Any]]) -> tuple[str, ...]:
    return tuple(p["PolicyArn"] for p in items)


def _principals(r: _Reader) -> tuple[tuple[Principal, ...], dict[str, PolicyDoc]]:
    """Users, groups, roles and customer policies in one paginated authorization listing."""
    iam = r.client("iam")
    filters = ["User", "Role", "Group", "LocalManagedPolicy"]
    principals: list[Principal] = []
    policies: dict[str, PolicyDoc] = {}
    paginator = iam.get_paginator("get_account_authorization_details")
    for n, page in enumerate(paginator.paginate(Filter=filters)):
        if n >= MAX_PAGES:
            break
        for u in page.get("UserDetailList", []):
            principals.append(
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
            principals.append(
                Principal(
                    kind="group",
                    name=g["GroupName"],
                    arn=g.get("Arn", ""),
                    attached=_attached(g.get("AttachedManagedPolicies", [])),
                    inline=_inline(g.get("GroupPolicyList", [])),
                )
            )
        for ro in page.get("RoleDetailList", []):
            principals.append(
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
            default = next(
                (v for v in p.get("PolicyVersionList", []) if v.get("IsDefaultVersion")), None
            )
            if default is not None:
                policies[p["Arn"]] = PolicyDoc(p["PolicyName"], _document(default.get("Document")))
    return tuple(principals), policies


def _credential_report(r: _Reader) -> tuple[dict[str, str], ...]:
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


def _password_policy(r: _Reader) -> dict[str, Any] | None:
    try:
        return dict(r.client("iam").get_account_password_policy()["PasswordPolicy"])
    except Exception as exc:
        if _code(exc) == "NoSuchEntity":
            return None
        raise


def _alternate_contacts(r: _Reader) -> dict[str, str | None]:
    account = r.client("account")
    contacts: dict[str, str | None] = {}
    for kind in CONTACT_TYPES:
        try:
            got = account.get_alternate_contact(AlternateContactType=kind)["AlternateContact"]
            contacts[kind] = got.get("Name") or "(no name)"
        except Exception as exc:
            if _code(exc) != "ResourceNotFoundException":
                raise
            contacts[kind] = None
    return contacts


def _metric_is_billing(alarm: Mapping[str, Any]) -> bool:
    if alarm.get("Namespace") == "AWS/Billing" and alarm.get("MetricName") == "EstimatedCharges":
        return True
    for q in alarm.get("Metrics", []):  # metric-math alarms name their metrics inside
        metric = q.get("MetricStat", {}).get("Metric", {})
        if metric.get("Namespace") == "AWS/Billing" and metric.get("MetricName") == (
            "EstimatedCharges"
        ):
            return True
    return False


def _billing_alarms(r: _Reader, billing_region: str) -> tuple[Alarm, ...]:
    cw = r.client("cloudwatch", billing_region)
    return tuple(
        Alarm(
            name=a["AlarmName"],
            state=a.get("StateValue", ""),
            actions_enabled=bool(a.get("ActionsEnabled", True)),
            actions=len(a.get("AlarmActions", [])),
        )
        for a in _pages(cw, "describe_alarms", "MetricAlarms")
        if _metric_is_billing(a)
    )


def _detectors(r: _Reader) -> tuple[Detector, ...]:
    gd = r.client("guardduty")
    found = []
    for detector_id in _pages(gd, "list_detectors", "DetectorIds"):
        status = gd.get_detector(DetectorId=detector_id).get("Status", "")
        found.append(Detector(id=detector_id, status=status))
    return tuple(found)


def _organization(r: _Reader, account_id: str) -> Organization | None:
    orgs = r.client("organizations")
    try:
        org = orgs.describe_organization()["Organization"]
    except Exception as exc:
        if _code(exc) == "AWSOrganizationsNotInUseException":
            return None
        raise

    def on(target: str) -> list[str]:
        try:
            found = _pages(
                orgs,
                "list_policies_for_target",
                "Policies",
                TargetId=target,
                Filter="SERVICE_CONTROL_POLICY",
            )
            return [p.get("Name") or p.get("Id", "") for p in found]
        except Exception as exc:
            if _code(exc) == "PolicyTypeNotEnabledException":
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
        scps=r.area("scps", scps, ()),
    )


def _analyzers(r: _Reader) -> tuple[Analyzer, ...]:
    aa = r.client("accessanalyzer")
    return tuple(
        Analyzer(name=a["name"], type=a.get("type", ""), status=a.get("status", ""))
        for a in _pages(aa, "list_analyzers", "analyzers")
    )


def _images(r: _Reader) -> tuple[Image, ...]:
    ec2 = r.client("ec2")
    return tuple(
        Image(id=i["ImageId"], name=i.get("Name", ""), public=bool(i.get("Public")))
        for i in _pages(ec2, "describe_images", "Images", Owners=["self"])
    )


def _snapshots(r: _Reader, account_id: str) -> tuple[Snapshot, ...]:
    ec2 = r.client("ec2")
    found = []
    for s in _pages(ec2, "describe_snapshots", "Snapshots", OwnerIds=["self"]):
        if s.get("OwnerId") not in (None, account_id):
            continue  # some endpoints answer "self" loosely; only ours can be fixed by us
        perms = ec2.describe_snapshot_attribute(
            SnapshotId=s["SnapshotId"], Attribute="createVolumePermission"
        ).get("CreateVolumePermissions", [])
        public = any(p.get("Group") == "all" for p in perms)
        found.append(Snapshot(id=s["SnapshotId"], public=public))
    return tuple(found)


def _image_bpa(r: _Reader) -> str:
    state = r.client("ec2").get_image_block_public_access_state()
    return str(state.get("ImageBlockPublicAccessState", ""))


def _identity(r: _Reader) -> tuple[str, str, str]:
    """Account id, caller ARN and partition; failing here means we cannot audit at all."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        ident = r.client("sts").get_caller_identity()
    except (BotoCoreError, ClientError) as exc:
        raise TargetError(f"cannot read the AWS caller identity: {reason(exc)}") from exc
    arn = str(ident.get("Arn", ""))
    partition = arn.split(":")[1] if arn.count(":") >= 2 else "aws"
    return str(ident["Account"]), arn, partition


# --- entry points ------------------------------------------------------------------------


def gather_account(session: Any, endpoint_url: str | None = None) -> AccountFacts:
    """Read every area the account checks need, with one session; never raises per area."""
    r = _Reader(session, endpoint_url)
    account_id, caller_arn, partition = _identity(r)
    billing_region = BILLING_REGION.get(partition, session.region_name)
    no_principals: tuple[tuple[Principal, ...], dict[str, PolicyDoc]] = ((), {})
    principals, policies = r.area("iam-principals", lambda: _principals(r), no_principals)
    facts = AccountFacts(
        account_id=account_id,
        region=session.region_name,
        partition=partition,
        caller_arn=caller_arn,
        collected_at=datetime.now(UTC),
        summary=r.area("summary", lambda: _summary(r), {}),
        trails=r.area("trails", lambda: _trails(r), ()),
        anomaly_monitors=r.area(
            "anomaly-monitors", lambda: _anomaly_monitors(r, billing_region), ()
        ),
        console_users=r.area("console-users", lambda: _console_users(r), ()),
        principals=principals,
        managed_policies=policies,
        credential_report=r.area("credential-report", lambda: _credential_report(r), ()),
        password_policy=r.area("password-policy", lambda: _password_policy(r), None),
        alternate_contacts=r.area("alternate-contacts", lambda: _alternate_contacts(r), {}),
        billing_alarms=r.area("billing-alarms", lambda: _billing_alarms(r, billing_region), ()),
        guardduty_detectors=r.area("guardduty", lambda: _detectors(r), ()),
        organization=r.area("organization", lambda: _organization(r, account_id), None),
        analyzers=r.area("access-analyzer", lambda: _analyzers(r), ()),
        images=r.area("images", lambda: _images(r), ()),
        snapshots=r.area("snapshots", lambda: _snapshots(r, account_id), ()),
        image_block_public_access=r.area("image-block-public-access", lambda: _image_bpa(r), ""),
        errors=dict(r.errors),
    )
    return facts


def _events(r: _Reader, name: str, since: datetime) -> tuple[TrailEvent, ...]:
    ct = r.client("cloudtrail")
    found = []
    for e in _pages(
        ct,
        "lookup_events",
        "Events",
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": name}],
        StartTime=since,
        PaginationConfig={"MaxItems": 50},
    ):
        detail: dict[str, Any] = {}
        with contextlib.suppress(ValueError):  # the summary fields above still help
            detail = json.loads(e.get("CloudTrailEvent") or "{}")
        when = e.get("EventTime")
        found.append(
            TrailEvent(
                name=name,
                time=when.isoformat() if isinstance(when, datetime) else str(when or ""),
                username=e.get("Username", ""),
                source_ip=str(detail.get("sourceIPAddress", "")),
                user_agent=str(detail.get("userAgent", ""))[:120],
                access_key=e.get("AccessKeyId", ""),
            )
        )
    return tuple(found)


def _bind(
    fn: Callable[[_Reader, str, datetime], T], r: _Reader, name: str, since: datetime
) -> Callable[[], T]:
    return lambda: fn(r, name, since)


def gather_runbook(session: Any, endpoint_url: str | None = None) -> RunbookFacts:
    """Live data for the compromised-account runbook: root keys, credentials, recent events."""
    r = _Reader(session, endpoint_url)
    account_id, _, _ = _identity(r)
    empty: dict[str, int] = {}
    summary = r.area("summary", lambda: _summary(r), empty)
    since = datetime.now(UTC) - timedelta(days=90)  # the event history keeps 90 days
    events: dict[str, tuple[TrailEvent, ...]] = {}
    for name in RUNBOOK_EVENTS:
        events[name] = r.area(f"events:{name}", _bind(_events, r, name, since), ())
    return RunbookFacts(
        account_id=account_id,
        region=session.region_name,
        root_access_keys_present=(
            bool(summary["AccountAccessKeysPresent"])
            if "AccountAccessKeysPresent" in summary
            else None
        ),
        root_mfa_enabled=(
            bool(summary["AccountMFAEnabled"]) if "AccountMFAEnabled" in summary else None
        ),
        credential_report=r.area("credential-report", lambda: _credential_report(r), ()),
        alternate_contacts=r.area("alternate-contacts", lambda: _alternate_contacts(r), {}),
        events=events,
        errors=dict(r.errors),
    )
