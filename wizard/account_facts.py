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


@dataclass(frozen=True)
class Snapshot:
    id: str
    public: bool = False


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
    analyzers: tuple[Analyzer, ...] = ()
    images: tuple[Image, ...] = ()
    snapshots: tuple[Snapshot, ...] = ()
    image_block_public_access: str = ""  # block-new-sharing | unblocked
    errors: Mapping[str, str] = field(default_factory=dict)  # area -> why it could not be read


@dataclass(frozen=True)
class TrailEvent:
    """One CloudTrail management event, as much as an investigator needs to follow it."""

    name: str
    time: str
    username: str = ""
    source_ip: str = ""
    user_agent: str = ""
    access_key: str = ""


@dataclass(frozen=True)
class RunbookFacts:
    """Live data for the compromised-account runbook."""

    account_id: str
    region: str
    root_access_keys_present: bool | None = None
    root_mfa_enabled: bool | None = None
    credential_report: tuple[Mapping[str, str], ...] = ()
    alternate_contacts: Mapping[str, str | None] = field(default_factory=dict)
    events: Mapping[str, tuple[TrailEvent, ...]] = field(default_factory=dict)  # by event name
    errors: Mapping[str, str] = field(default_factory=dict)
