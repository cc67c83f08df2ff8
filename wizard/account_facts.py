"""What the account chapter knows about an AWS account: plain, frozen data (seed 003).

`wizard.aws` gathers these facts read-only; the account checks (`checks.account`,
`checks.runbook`) judge them and never import the gatherer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

CONTACT_TYPES = ("BILLING", "OPERATIONS", "SECURITY")


@dataclass(frozen=True)
class PolicyDoc:
    """An IAM policy document (inline or the default version of a customer-managed one)."""

    name: str
    document: Mapping[str, Any]


@dataclass(frozen=True)
class Principal:
    """An IAM user, role or group and the permissions attached to it."""

    kind: str  # "user" | "role" | "group"
    name: str
    arn: str = ""
    attached: tuple[str, ...] = ()  # managed policy ARNs attached directly
    inline: tuple[PolicyDoc, ...] = ()
    groups: tuple[str, ...] = ()  # users only: the groups it belongs to
    service_linked: bool = False  # roles under /aws-service-role/: owned by AWS


@dataclass(frozen=True)
class ConsoleUser:
    """An IAM user's console access and MFA devices."""

    name: str
    console_access: bool
    mfa_devices: int


@dataclass(frozen=True)
class Trail:
    name: str
    arn: str = ""
    home_region: str = ""
    multi_region: bool = False
    organization: bool = False
    logging: bool | None = None  # None: the status could not be read (see status_error)
    insights: tuple[str, ...] = ()  # enabled insight types
    status_error: str = ""
    log_file_validation: bool = False
    kms_key_id: str = ""  # "" : log files are encrypted with S3's own keys only


@dataclass(frozen=True)
class Alarm:
    name: str
    state: str = ""
    actions_enabled: bool = True
    actions: int = 0  # how many alarm actions (SNS topics...) it triggers


@dataclass(frozen=True)
class Detector:
    id: str
    status: str  # ENABLED | DISABLED


@dataclass(frozen=True)
class Organization:
    id: str
    management_account_id: str = ""
    scps: tuple[str, ...] = ()  # names of SCPs on this account and its parents, up to the root


@dataclass(frozen=True)
class Analyzer:
    name: str
    type: str
    status: str


@dataclass(frozen=True)
class Image:
    id: str
    name: str = ""
    public: bool = False
    imds_support: str = ""  # "v2.0" when registered with ImdsSupport=v2.0, else ""


@dataclass(frozen=True)
class Snapshot:
    id: str
    public: bool = False


@dataclass(frozen=True)
class OpenRule:
    """One security-group ingress rule that lets the whole internet in."""

    group_id: str
    group_name: str
    source: str  # 0.0.0.0/0 or ::/0
    protocol: str  # "tcp", "udp", "-1" (all)
    from_port: int | None = None
    to_port: int | None = None
    in_use: bool = True  # attached to at least one network interface


@dataclass(frozen=True)
class Instance:
    id: str
    state: str = ""
    http_tokens: str = ""  # "required" (IMDSv2 only) | "optional"
    http_endpoint: str = "enabled"


@dataclass(frozen=True)
class Recorder:
    name: str
    recording: bool = False
    all_supported: bool = False


@dataclass(frozen=True)
class Bucket:
    name: str
    block_public_access: Mapping[str, bool] | None = None  # None: the bucket has no BPA config
    public_acl: tuple[str, ...] = ()  # grantee groups (AllUsers, AuthenticatedUsers)
    policy_public: bool | None = None  # None: no bucket policy (or its status is unknown)


@dataclass(frozen=True)
class RegionFacts:
    """What one region holds. An area listed in `errors` holds its empty default."""

    region: str
    guardduty_detectors: tuple[Detector, ...] = ()
    analyzers: tuple[Analyzer, ...] = ()
    images: tuple[Image, ...] = ()
    snapshots: tuple[Snapshot, ...] = ()
    image_block_public_access: str = ""  # block-new-sharing | unblocked
    open_rules: tuple[OpenRule, ...] = ()
    ebs_encryption_by_default: bool | None = None
    instances: tuple[Instance, ...] = ()
    imds_default_http_tokens: str = ""  # the account default for new instances ("" : none)
    config_recorders: tuple[Recorder, ...] = ()
    trails: tuple[Trail, ...] = ()  # what describe-trails answers in this region
    errors: Mapping[str, str] = field(default_factory=dict)  # area -> why it could not be read


# The reason text that means "this endpoint or region has no such API": such a check skips.
UNAVAILABLE = "not available at this endpoint/region"


def unavailable(reason: str) -> bool:
    return reason.startswith(UNAVAILABLE)


@dataclass(frozen=True)
class AccountFacts:
    """Everything the account checks know, read at `collected_at`.

    A field whose area appears in `errors` holds its empty default, not a verdict.
    """

    account_id: str
    region: str
    partition: str = "aws"
    caller_arn: str = ""
    collected_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    summary: Mapping[str, int] = field(default_factory=dict)  # iam get_account_summary
    trails: tuple[Trail, ...] = ()
    anomaly_monitors: tuple[str, ...] = ()
    console_users: tuple[ConsoleUser, ...] = ()
    principals: tuple[Principal, ...] = ()
    managed_policies: Mapping[str, PolicyDoc] = field(default_factory=dict)  # customer, by ARN
    credential_report: tuple[Mapping[str, str], ...] = ()  # the CSV rows, as AWS writes them
    password_policy: Mapping[str, Any] | None = None  # None: the account has none
    alternate_contacts: Mapping[str, str | None] = field(default_factory=dict)  # type -> name
    billing_alarms: tuple[Alarm, ...] = ()
    guardduty_detectors: tuple[Detector, ...] = ()
    organization: Organization | None = None  # None: not a member of an organization
    support_role_entities: tuple[str, ...] = ()  # who holds AWSSupportAccess ("role/NAME"...)
    account_block_public_access: Mapping[str, bool] | None = None  # S3, account-wide
    buckets: tuple[Bucket, ...] = ()
    regions: Mapping[str, RegionFacts] = field(default_factory=dict)  # every region read
    errors: Mapping[str, str] = field(default_factory=dict)  # area -> why it could not be read

    @property
    def trails_all(self) -> tuple[Trail, ...]:
        """Every trail seen in any region, once (a multi-region trail shows in each)."""
        seen: dict[str, Trail] = {t.arn or t.name: t for t in self.trails}
        for r in self.regions.values():
            for t in r.trails:
                seen.setdefault(t.arn or t.name, t)
        return tuple(seen.values())


@dataclass(frozen=True)
class TrailEvent:
    """One CloudTrail management event, as much as an investigator needs to follow it."""

    name: str
    time: str
    username: str = ""
    source_ip: str = ""
    user_agent: str = ""
    access_key: str = ""
    region: str = ""
    resources: str = ""  # what it touched, as CloudTrail names it (user, image, instance ids)


@dataclass(frozen=True)
class RunbookFacts:
    """Live data for the compromised-account runbook."""

    account_id: str
    region: str
    regions: tuple[str, ...] = ()  # where the events were looked up
    root_access_keys_present: bool | None = None
    root_mfa_enabled: bool | None = None
    credential_report: tuple[Mapping[str, str], ...] = ()
    alternate_contacts: Mapping[str, str | None] = field(default_factory=dict)
    events: Mapping[str, tuple[TrailEvent, ...]] = field(default_factory=dict)  # by event name
    errors: Mapping[str, str] = field(default_factory=dict)
