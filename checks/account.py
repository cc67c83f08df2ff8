"""The account-hardening checks (seed 003): pure functions from AccountFacts to Findings.

A check is global (IAM, contacts, billing, S3: judged once) or regional (judged in every region
read, then summed up into one verdict: the worst region's status, and a summary that names the
regions). Each check names the fact areas it reads; an area that could not be read makes that
check (in that region) `skip` when the endpoint or region lacks the API, `error` with the
one-line reason (the permission needed) otherwise. The wizard never changes the account.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from checks import _account_global as g
from checks import _account_region as rg
from checks._account_common import Verdict
from checks.base import CatalogEntry, catalog
from wizard.account_facts import AccountFacts, RegionFacts, unavailable
from wizard.model import Evidence, Finding, Status

log = logging.getLogger(__name__)

GLOBAL = "global"  # the matrix's column for checks judged once for the whole account
# worst first: the account's verdict on a regional check is its worst region's
RANK = {
    Status.FAIL: 5,
    Status.ERROR: 4,
    Status.WARN: 3,
    Status.INFO: 2,
    Status.PASS: 1,
    Status.SKIP: 0,
}
REGIONS_SHOWN = 4

GlobalRule = Callable[[AccountFacts, CatalogEntry], Verdict]
RegionRule = Callable[[RegionFacts, AccountFacts, CatalogEntry], Verdict]


@dataclass(frozen=True)
class Rule:
    areas: tuple[str, ...]  # the fact areas it reads (AccountFacts.errors or RegionFacts.errors)
    judge: GlobalRule | None = None
    per_region: RegionRule | None = None


# The order the chapter walks them: the root user, people, logs, money, network, sharing.
CHECKS: dict[str, Rule] = {
    "account-root-mfa": Rule(("summary",), g.root_mfa),
    "account-root-access-keys": Rule(("summary",), g.root_keys),
    "account-root-recent-use": Rule(("credential-report",), g.root_recent_use),
    "account-console-mfa": Rule(("console-users",), g.console_mfa),
    "account-access-key-age": Rule(("credential-report",), g.key_age),
    "account-unused-passwords": Rule(("credential-report",), g.unused_passwords),
    "account-admin-access": Rule(("iam-principals",), g.admin_access),
    "account-password-policy": Rule(("password-policy",), g.password_policy),
    "account-support-role": Rule(("support-role",), g.support_role),
    "account-cloudtrail": Rule(("trails",), per_region=rg.cloudtrail),
    "account-config-recorder": Rule(("config",), per_region=rg.config_recorder),
    "account-cost-anomaly": Rule(("anomaly-monitors",), g.cost_anomaly),
    "account-alternate-contacts": Rule(("alternate-contacts",), g.contacts),
    "account-billing-alarm": Rule(("billing-alarms",), g.billing_alarm),
    "account-guardduty": Rule(("guardduty",), per_region=rg.guardduty),
    "account-organizations": Rule(("organization", "scps"), g.organizations),
    "account-access-analyzer": Rule(("access-analyzer",), per_region=rg.access_analyzer),
    "account-open-admin-ports": Rule(("security-groups",), per_region=rg.open_admin_ports),
    "account-s3-public-access": Rule(("s3-account-bpa", "s3-buckets"), g.s3_public_access),
    "account-ebs-encryption": Rule(("ebs-encryption",), per_region=rg.ebs_encryption),
    "account-imdsv2": Rule(("instances",), per_region=rg.imdsv2),
    "account-public-amis": Rule(("images", "snapshots"), per_region=rg.public_amis),
    "account-ami-imds-support": Rule(("images",), per_region=rg.ami_imds_support),
    "account-ami-block-public-access": Rule(("image-block-public-access",), per_region=rg.ami_bpa),
}
ACCOUNT_CHECKS: tuple[str, ...] = tuple(CHECKS)


def _unread(areas: tuple[str, ...], errors: Mapping[str, str], where: str) -> Verdict | None:
    """skip (no such API here) or error (denied, broken) when an area it reads is missing."""
    missing = [(a, errors[a]) for a in areas if a in errors]
    if not missing:
        return None
    evidence = [Evidence(f"aws:{where}:{a}" if where else f"aws:{a}", 0, why) for a, why in missing]
    text = "; ".join(dict.fromkeys(why for _, why in missing))
    if all(unavailable(why) for _, why in missing):
        return Status.SKIP, text, evidence
    return Status.ERROR, "could not be read: " + text, evidence


def _safe(check_id: str, call: Callable[[], Verdict]) -> Verdict:
    try:
        return call()
    except Exception:  # one broken rule must not hide the others, nor print its exception
        log.exception("account check %s failed", check_id)
        return Status.ERROR, "the check itself failed (an internal error; see --debug)", []


def _regions_text(regions: list[str]) -> str:
    if len(regions) <= REGIONS_SHOWN:
        return ", ".join(regions)
    return ", ".join(regions[:REGIONS_SHOWN]) + f" and {len(regions) - REGIONS_SHOWN} more"


def _sum_up(verdicts: Mapping[str, Verdict]) -> Verdict:
    """One verdict from each region's: the worst status; the summary groups equal findings."""
    if not verdicts:
        return Status.SKIP, "no region was read", []
    groups: dict[tuple[Status, str], list[str]] = {}
    for region, (status, summary, _) in verdicts.items():
        groups.setdefault((status, summary), []).append(region)
    ordered = sorted(groups.items(), key=lambda kv: -RANK[kv[0][0]])
    worst = ordered[0][0][0]
    parts = [
        f"{summary} in {_regions_text(regions)}"
        for (status, summary), regions in ordered
        if status not in (Status.PASS, Status.SKIP) or worst in (Status.PASS, Status.SKIP)
    ]
    passed = sum(len(r) for (s, _), r in ordered if s is Status.PASS)
    if worst not in (Status.PASS, Status.SKIP) and passed:
        parts.append(f"fine in {passed} other region(s)")
    evidence = [e for _, _, ev in verdicts.values() for e in ev]
    return worst, "; ".join(parts), evidence


def judge(check_id: str, facts: AccountFacts) -> tuple[Finding, dict[str, Status]]:
    """The check's finding for the whole account and its status per region (or "global")."""
    entry = catalog()[check_id]
    rule = CHECKS[check_id]
    if rule.per_region is None:
        whole = rule.judge
        assert whole is not None
        verdict = _unread(rule.areas, facts.errors, "") or _safe(
            check_id, lambda: whole(facts, entry)
        )
        return entry.finding(verdict[0], verdict[1], verdict[2]), {GLOBAL: verdict[0]}
    per_region = rule.per_region
    verdicts: dict[str, Verdict] = {}
    for name, region in facts.regions.items():

        def one(region: RegionFacts = region) -> Verdict:
            return per_region(region, facts, entry)

        verdicts[name] = _unread(rule.areas, region.errors, name) or _safe(check_id, one)
    status, summary, evidence = _sum_up(verdicts)
    return entry.finding(status, summary, evidence), {n: v[0] for n, v in verdicts.items()}


def region_matrix(
    facts: AccountFacts, ids: Iterable[str] | None = None
) -> tuple[list[Finding], dict[str, dict[str, str]]]:
    """The findings and, per check, each region's status ("global" for global checks)."""
    findings: list[Finding] = []
    matrix: dict[str, dict[str, str]] = {}
    for check_id in ACCOUNT_CHECKS if ids is None else ids:
        finding, per = judge(check_id, facts)
        findings.append(finding)
        matrix[check_id] = {k: str(v) for k, v in per.items()}
    return findings, matrix
