"""Read-only gathering of AWS account facts for the account-hardening chapter (seed 003).

One boto3 Session, bounded timeouts and retries. The global services (IAM, Organizations,
account contacts, billing, S3) are read once; every enabled region (`ec2 describe-regions`,
or the regions the operator names) is read concurrently, a bounded number at a time. Every
area that cannot be read (denied, unsupported in the region or by the endpoint) is recorded
as a one-line reason instead of raising.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from wizard.account_facts import AccountFacts, PolicyDoc, Principal, RegionFacts, RunbookFacts
from wizard.aws import account as acct
from wizard.aws import events as ev
from wizard.aws.reader import Areas, Reader, reason
from wizard.aws.region import read_region
from wizard.errors import TargetError, UsageError

if TYPE_CHECKING:  # boto3 is an optional extra: only imported when the chapter runs
    import boto3

log = logging.getLogger(__name__)

BOTO3_MISSING = "the account chapter needs boto3: pip install 'ami-wizard[aws]'"
# Billing metrics and Cost Explorer live in one region per partition.
BILLING_REGION = {"aws": "us-east-1", "aws-us-gov": "us-gov-west-1", "aws-cn": "cn-northwest-1"}
MAX_WORKERS = 8  # regions read at once: enough to hide latency, few enough not to be throttled

Progress = Callable[[str, int, int], None]  # (what is being read, done, total)

__all__ = [
    "BOTO3_MISSING",
    "Progress",
    "gather_account",
    "gather_runbook",
    "make_session",
    "parse_regions",
    "reason",
]


# --- session -----------------------------------------------------------------------------


def _boto3() -> Any:
    try:
        import boto3
    except ImportError as exc:
        raise UsageError(BOTO3_MISSING) from exc
    return boto3


def parse_regions(spec: str | Sequence[str] | None) -> tuple[str, ...]:
    """`--region` as given: one region, a comma- or space-separated list, or none (all)."""
    if spec is None:
        return ()
    parts = spec.replace(",", " ").split() if isinstance(spec, str) else list(spec)
    for p in parts:
        if not p.replace("-", "").isalnum() or p.count("-") < 2:
            raise UsageError(f"not an AWS region name: {p!r}")
    return tuple(dict.fromkeys(parts))


def make_session(profile: str | None, region: str | None) -> boto3.Session:
    """One boto3 Session for the whole audit; a missing profile or region is a usage error."""
    boto3 = _boto3()
    from botocore.exceptions import ProfileNotFound

    first = parse_regions(region)[:1]
    try:
        session = boto3.Session(
            profile_name=profile or None, region_name=first[0] if first else None
        )
    except ProfileNotFound as exc:
        raise UsageError(f"AWS profile not found: {profile}") from exc
    if not session.region_name:
        raise UsageError("no AWS region: set one in the profile, AWS_REGION, or pass it")
    return session


# --- entry points ------------------------------------------------------------------------


def _identity(r: Reader) -> tuple[str, str, str]:
    """Account id, caller ARN and partition; failing here means we cannot audit at all."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        ident = r.client("sts").get_caller_identity()
    except (BotoCoreError, ClientError) as exc:
        raise TargetError(f"cannot read the AWS caller identity: {reason(exc)}") from exc
    arn = str(ident.get("Arn", ""))
    partition = arn.split(":")[1] if arn.count(":") >= 2 else "aws"
    return str(ident["Account"]), arn, partition


def enabled_regions(r: Reader, areas: Areas) -> tuple[str, ...]:
    """Every region enabled for this account (opt-in regions only once opted in)."""

    def read() -> tuple[str, ...]:
        got = r.client("ec2").describe_regions(AllRegions=False).get("Regions", [])
        names = [
            x["RegionName"]
            for x in got
            if x.get("OptInStatus", "opt-in-not-required") != "not-opted-in"
        ]
        return tuple(sorted(names))

    found = areas.area("regions", "ec2", read, ())
    return found or (r.session.region_name,)  # unreadable: at least the session's region


def _read_global(r: Reader, account_id: str, partition: str) -> tuple[dict[str, Any], Areas]:
    a = Areas()
    billing = BILLING_REGION.get(partition, r.session.region_name)
    no_principals: tuple[tuple[Principal, ...], dict[str, PolicyDoc]] = ((), {})
    principals, policies = a.area(
        "iam-principals", "iam", lambda: acct.principals(r), no_principals
    )
    fields: dict[str, Any] = {
        "summary": a.area("summary", "iam", lambda: acct.summary(r), {}),
        "anomaly_monitors": a.area(
            "anomaly-monitors", "ce", lambda: acct.anomaly_monitors(r, billing), ()
        ),
        "console_users": a.area("console-users", "iam", lambda: acct.console_users(r), ()),
        "principals": principals,
        "managed_policies": policies,
        "credential_report": a.area(
            "credential-report", "iam", lambda: acct.credential_report(r), ()
        ),
        "password_policy": a.area("password-policy", "iam", lambda: acct.password_policy(r), None),
        "alternate_contacts": a.area(
            "alternate-contacts", "account", lambda: acct.alternate_contacts(r), {}
        ),
        "billing_alarms": a.area(
            "billing-alarms", "cloudwatch", lambda: acct.billing_alarms(r, billing), ()
        ),
        "organization": a.area(
            "organization", "organizations", lambda: acct.organization(r, a, account_id), None
        ),
        "support_role_entities": a.area(
            "support-role", "iam", lambda: acct.support_role(r, partition), ()
        ),
        "account_block_public_access": a.area(
            "s3-account-bpa", "s3control", lambda: acct.account_bpa(r, account_id), None
        ),
        "buckets": a.area("s3-buckets", "s3", lambda: acct.buckets(r), ()),
    }
    return fields, a


def gather_account(
    session: Any,
    endpoint_url: str | None = None,
    regions: Sequence[str] | None = None,
    progress: Progress | None = None,
) -> AccountFacts:
    """Read the global services once and every region in `regions` (none: all enabled ones)
    concurrently; never raises per area."""
    r = Reader(session, endpoint_url)
    account_id, caller_arn, partition = _identity(r)
    top = Areas()
    names = tuple(regions) if regions else enabled_regions(r, top)
    total = len(names) + 1
    done = 0
    by_region: dict[str, RegionFacts] = {}
    global_fields: dict[str, Any] = {}
    global_errors: dict[str, str] = {}
    with ThreadPoolExecutor(max_workers=min(MAX_WORKERS, total)) as pool:
        futures: dict[Future[Any], str] = {
            pool.submit(read_region, r, name, account_id): name for name in names
        }
        glob = pool.submit(_read_global, r, account_id, partition)
        futures[glob] = ""
        for fut in as_completed(futures):
            name = futures[fut]
            done += 1
            if fut is glob:
                global_fields, areas = glob.result()
                global_errors = areas.errors
            else:
                by_region[name] = fut.result()
            if progress is not None:
                progress(name or "global services", done, total)
    return AccountFacts(
        account_id=account_id,
        region=session.region_name,
        partition=partition,
        caller_arn=caller_arn,
        collected_at=datetime.now(UTC),
        regions={n: by_region[n] for n in names},
        errors={**top.errors, **global_errors},
        **global_fields,
    )


def gather_runbook(
    session: Any, endpoint_url: str | None = None, regions: Sequence[str] | None = None
) -> RunbookFacts:
    """Live data for the compromised-account runbook: root keys, credentials, recent events
    (IAM ones where IAM records them, EC2 ones in every region read)."""
    r = Reader(session, endpoint_url)
    account_id, _, partition = _identity(r)
    a = Areas()
    names = tuple(regions) if regions else enabled_regions(r, a)
    summary: dict[str, int] = a.area("summary", "iam", lambda: acct.summary(r), {})
    since = datetime.now(UTC) - timedelta(days=90)  # the event history keeps 90 days
    iam_region = BILLING_REGION.get(partition, session.region_name)
    jobs = [(iam_region, n) for n in ev.GLOBAL_EVENTS]
    jobs += [(reg, n) for reg in names for n in ev.REGIONAL_EVENTS]
    events: dict[str, list[Any]] = {n: [] for n in (*ev.GLOBAL_EVENTS, *ev.REGIONAL_EVENTS)}

    def one(job: tuple[str, str]) -> tuple[str, str, tuple[Any, ...], str]:
        region, name = job
        try:
            return region, name, ev.lookup(r, region, name, since), ""
        except Exception as exc:
            return region, name, (), reason(exc, "cloudtrail")

    with ThreadPoolExecutor(max_workers=MAX_WORKERS) as pool:
        for region, name, found, why in pool.map(one, jobs):
            events[name].extend(found)
            if why:
                a.errors[f"events:{name}@{region}"] = why
    return RunbookFacts(
        account_id=account_id,
        region=session.region_name,
        regions=names,
        root_access_keys_present=(
            bool(summary["AccountAccessKeysPresent"])
            if "AccountAccessKeysPresent" in summary
            else None
        ),
        root_mfa_enabled=(
            bool(summary["AccountMFAEnabled"]) if "AccountMFAEnabled" in summary else None
        ),
        credential_report=a.area("credential-report", "iam", lambda: acct.credential_report(r), ()),
        alternate_contacts=a.area(
            "alternate-contacts", "account", lambda: acct.alternate_contacts(r), {}
        ),
        events={k: tuple(v) for k, v in events.items()},
        errors=dict(a.errors),
    )
