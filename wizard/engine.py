"""The audit engine: open a target, probe it once, run the checks, hand back one result.

Everything the CLI and the screens show comes from an AuditResult; this module does the
I/O (through the target) so that screens and checks do none.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime

from checks import registry, run_checks
from wizard.account_facts import AccountFacts
from wizard.config import Config
from wizard.errors import UsageError
from wizard.model import Finding
from wizard.probe import run_probe
from wizard.results import AuditResult, TargetInfo
from wizard.targets.base import ConnectOptions, Target

Progress = Callable[[str, int, int], None]  # the account read: (what, done, total)


def open_target(spec: str, options: ConnectOptions) -> Target:
    """Open any target the CLI accepts, the practice instance included."""
    if spec == "demo":
        from wizard.demo import PracticeTarget

        return PracticeTarget()  # removed again when the target is closed
    from wizard.targets import open_target as open_real

    return open_real(spec, options)


def validate_ids(ids: Iterable[str] | None) -> list[str] | None:
    if ids is None:
        return None
    wanted = list(ids)
    unknown = [i for i in wanted if not registry.is_check(i)]
    if unknown:
        raise UsageError(f"unknown check id {unknown[0]!r} (known: {', '.join(registry.ids())})")
    return wanted


def audit(
    target: Target, config: Config | None = None, ids: Iterable[str] | None = None
) -> AuditResult:
    """Probe the target once and run the checks on the facts."""
    config = config or Config()
    wanted = validate_ids(ids)
    started = datetime.now(UTC).replace(microsecond=0).isoformat()
    t0 = time.monotonic()
    facts = run_probe(target, config.probe)
    if config.identity:
        facts = replace(facts, identity=dict(config.identity))
    if config.selected:
        facts = replace(facts, selected=tuple(validate_ids(config.selected) or ()))
    findings = tuple(run_checks(facts, wanted))
    info = TargetInfo(
        uri=target.uri,
        hostname=facts.hostname,
        os=facts.os_pretty or " ".join(x for x in (facts.os_id, facts.os_version) if x),
        kernel=facts.kernel,
        instance_id=facts.instance_id,
        ami_id=facts.ami_id,
    )
    return AuditResult(info, facts, findings, started, time.monotonic() - t0)


def gather_and_check_account(
    profile: str | None, region: str | None, progress: Progress | None = None
) -> tuple[AccountFacts, list[Finding], dict[str, dict[str, str]]]:
    """Gather the account's facts (`wizard.aws`) and run every account check on them: the
    findings and the region x check matrix (check id -> region or "global" -> status)."""
    from checks.account import region_matrix
    from wizard.aws import gather_account, make_session, parse_regions

    regions = parse_regions(region)
    facts = gather_account(make_session(profile, region), regions=regions, progress=progress)
    findings, matrix = region_matrix(facts)
    return facts, findings, matrix


def audit_account(
    spec: str, region: str | None = None, progress: Progress | None = None
) -> AuditResult:
    """The account chapter headless: `aws:` or `aws:PROFILE`, read-only. `region`: one region,
    a comma-separated list, or None for every enabled region."""
    profile = spec.removeprefix("aws:") or None
    started = datetime.now(UTC).replace(microsecond=0).isoformat()
    t0 = time.monotonic()
    facts, findings, matrix = gather_and_check_account(profile, region, progress)
    info = TargetInfo(
        uri=spec,
        hostname="",
        os="",
        kernel="",
        instance_id="",
        ami_id="",
        account={
            "account_id": facts.account_id,
            "region": facts.region,
            "regions": ",".join(facts.regions),  # additive: every region read
            "caller_arn": facts.caller_arn,
        },
    )
    return AuditResult(info, facts, tuple(findings), started, time.monotonic() - t0, matrix=matrix)
