"""The account-hardening checks (seed 003): pure functions from AccountFacts to Findings.

Each check names the fact areas it reads; if one of them could not be read, the check is
`error` with that reason and the others still run. The wizard never changes the account.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from checks.base import CatalogEntry, catalog
from wizard.account_facts import CONTACT_TYPES, AccountFacts, PolicyDoc, Principal
from wizard.model import Evidence, Finding, Status

log = logging.getLogger(__name__)

# The order the chapter walks them: the root user first, then people, logs, money, sharing.
ACCOUNT_CHECKS: tuple[str, ...] = (
    "account-root-mfa",
    "account-root-access-keys",
    "account-console-mfa",
    "account-access-key-age",
    "account-admin-access",
    "account-password-policy",
    "account-cloudtrail",
    "account-cost-anomaly",
    "account-alternate-contacts",
    "account-billing-alarm",
    "account-guardduty",
    "account-organizations",
    "account-access-analyzer",
    "account-public-amis",
    "account-ami-block-public-access",
)

KEY_MAX_AGE = timedelta(days=90)
MIN_PASSWORD_LENGTH = 14  # CIS AWS Foundations asks for 14
ADMIN_POLICY_SUFFIX = ":iam::aws:policy/AdministratorAccess"
DEFAULT_SCP = "FullAWSAccess"  # attached everywhere once SCPs are on; it restricts nothing

Verdict = tuple[Status, str, list[Evidence]]


def _unmet(entry: CatalogEntry) -> Status:
    # the seed's "additional measures" are optional: missing them warns, it does not fail
    return Status.WARN if entry.optional else Status.FAIL


# --- root user ---------------------------------------------------------------------------


def _root_mfa(f: AccountFacts, entry: CatalogEntry) -> Verdict:
    if f.summary.get("AccountMFAEnabled"):
        return Status.PASS, "the root user has MFA", [Evidence("iam:root", 0, "MFA enabled")]
    return _unmet(entry), "the root user has no MFA", [Evidence("iam:root", 0, "MFA not enabled")]


def _root_keys(f: AccountFacts, entry: CatalogEntry) -> Verdict:
    if f.summary.get("AccountAccessKeysPresent"):
        return (
            _unmet(entry),
            "the root user has access keys",
            [Evidence("iam:root", 0, "access keys present")],
        )
    return Status.PASS, "the root user has no access keys", []


# --- people ------------------------------------------------------------------------------


def _console_mfa(f: AccountFacts, entry: CatalogEntry) -> Verdict:
    bare = [u for u in f.console_users if u.console_access and u.mfa_devices == 0]
    evidence = [Evidence(f"iam:user/{u.name}", 0, "console password, no MFA device") for u in bare]
    if bare:
        return _unmet(entry), f"{len(bare)} console user(s) without MFA", evidence
    n = sum(1 for u in f.console_users if u.console_access)
    return Status.PASS, f"all {n} console user(s) have MFA", []


def _when(value: str | None) -> datetime | None:
    """A credential-report date; AWS writes N/A, no_information or not_supported for none."""
    if not value or not value[:1].isdigit():
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _key_problems(row: Mapping[str, str], now: datetime) -> list[str]:
    problems = []
    for n in (1, 2):
        if row.get(f"access_key_{n}_active") != "true":
            continue
        rotated = _when(row.get(f"access_key_{n}_last_rotated"))
        used = _when(row.get(f"access_key_{n}_last_used_date"))
        if rotated and now - rotated > KEY_MAX_AGE:
            problems.append(f"key {n} is {(now - rotated).days} days old")
        if used is None:
            problems.append(f"key {n} was never used")
        elif now - used > KEY_MAX_AGE:
            problems.append(f"key {n} unused for {(now - used).days} days")
    return problems


def _key_age(f: AccountFacts, entry: CatalogEntry) -> Verdict:
    evidence = []
    active = 0
    for row in f.credential_report:
        user = row.get("user", "")
        if user == "<root_account>":
            continue  # root keys are account-root-access-keys' business
        active += sum(row.get(f"access_key_{n}_active") == "true" for n in (1, 2))
        problems = _key_problems(row, f.collected_at)
        if problems:
            evidence.append(Evidence(f"iam:user/{user}", 0, "; ".join(problems)))
    if evidence:
        return _unmet(entry), f"{len(evidence)} user(s) with stale or unused keys", evidence
    return Status.PASS, f"{active} active key(s), all rotated and in use within 90 days", []


def _grants_everything(doc: Mapping[str, Any]) -> bool:
    statements = doc.get("Statement", [])
    if isinstance(statements, Mapping):
        statements = [statements]
    for st in statements:
        if not isinstance(st, Mapping) or st.get("Effect") != "Allow":
            continue
        actions = st.get("Action", [])
        resources = st.get("Resource", [])
        actions = [actions] if isinstance(actions, str) else actions
        resources = [resources] if isinstance(resources, str) else resources
        if any(a in ("*", "*:*") for a in actions) and "*" in resources:
            return True
    return False


def _admin_reasons(p: Principal, policies: Mapping[str, PolicyDoc]) -> list[str]:
    reasons = [
        "AdministratorAccess attached" for arn in p.attached if arn.endswith(ADMIN_POLICY_SUFFIX)
    ]
    reasons += [
        f"policy {policies[arn].name} allows *:*"
        for arn in p.attached
        if arn in policies and _grants_everything(policies[arn].document)
    ]
    reasons += [
        f"inline policy {d.name} allows *:*" for d in p.inline if _grants_everything(d.document)
    ]
    return reasons


def _admin_access(f: AccountFacts, entry: CatalogEntry) -> Verdict:
    admin_groups = {
        p.name for p in f.principals if p.kind == "group" and _admin_reasons(p, f.managed_policies)
    }
    users: list[Evidence] = []
    roles: list[Evidence] = []
    for p in f.principals:
        if p.kind == "group" or p.service_linked:
            continue
        reasons = _admin_reasons(p, f.managed_policies)
        reasons += [f"via group {g}" for g in p.groups if g in admin_groups]
        if reasons:
            target = users if p.kind == "user" else roles
            target.append(Evidence(f"iam:{p.kind}/{p.name}", 0, "; ".join(reasons)))
    if users:
        return (
            _unmet(entry),
            f"{len(users)} user(s) and {len(roles)} role(s) with full admin rights",
            users + roles,
        )
    if roles:
        # an admin role is often needed; long-lived admin users are what least privilege forbids
        return Status.WARN, f"{len(roles)} role(s) with full admin rights: review each", roles
    return Status.PASS, "no user or role has full admin rights", []


def _password_policy(f: AccountFacts, entry: CatalogEntry) -> Verdict:
    pol = f.password_policy
    if pol is None:
        return (
            _unmet(entry),
            "no password policy",
            [Evidence("iam:password-policy", 0, "none set: AWS defaults apply")],
        )
    length = int(pol.get("MinimumPasswordLength", 0))
    rules = [f"min length {length}"] + [
        k for k in ("RequireSymbols", "RequireNumbers", "RequireUppercaseCharacters") if pol.get(k)
    ]
    if pol.get("PasswordReusePrevention"):
        rules.append(f"reuse prevention {pol['PasswordReusePrevention']}")
    evidence = [Evidence("iam:password-policy", 0, ", ".join(rules))]
    if length < MIN_PASSWORD_LENGTH:
        return (
            Status.WARN,
            f"password policy allows {length}-character passwords (< {MIN_PASSWORD_LENGTH})",
            evidence,
        )
    return Status.PASS, "a password policy is set", evidence


# --- logs, money, contacts ---------------------------------------------------------------


def _cloudtrail(f: AccountFacts, entry: CatalogEntry) -> Verdict:
    evidence = []
    for t in f.trails:
        bits = ["multi-region" if t.multi_region else "single-region"]
        bits.append({True: "logging", False: "NOT logging", None: "status unknown"}[t.logging])
        bits.append("insights: " + ",".join(t.insights) if t.insights else "no insights")
        if t.status_error:
            bits.append(t.status_error)
        evidence.append(Evidence(f"cloudtrail:trail/{t.name}", 0, ", ".join(bits)))
    good = [t for t in f.trails if t.multi_region and t.logging]
    if not good:
        summary = "no multi-region trail is logging" if f.trails else "no CloudTrail trail"
        return _unmet(entry), summary, evidence
    if not any(t.insights for t in good):
        return Status.WARN, f"trail {good[0].name} logs all regions but has no insights", evidence
    return Status.PASS, "a multi-region trail is logging, with insights", evidence


def _cost_anomaly(f: AccountFacts, entry: CatalogEntry) -> Verdict:
    evidence = [Evidence(f"ce:anomaly-monitor/{m}", 0, "") for m in f.anomaly_monitors]
    if evidence:
        return Status.PASS, f"{len(evidence)} cost anomaly monitor(s)", evidence
    return _unmet(entry), "no cost anomaly monitor", []


def _contacts(f: AccountFacts, entry: CatalogEntry) -> Verdict:
    missing = [k for k in CONTACT_TYPES if not f.alternate_contacts.get(k)]
    evidence = [
        Evidence(f"account:alternate-contact/{k}", 0, "missing" if k in missing else "set")
        for k in CONTACT_TYPES
    ]
    if missing:
        return _unmet(entry), "no alternate contact for " + ", ".join(missing), evidence
    return Status.PASS, "billing, operations and security contacts are set", evidence


def _billing_alarm(f: AccountFacts, entry: CatalogEntry) -> Verdict:
    evidence = [
        Evidence(
            f"cloudwatch:alarm/{a.name}",
            0,
            f"state {a.state or '?'}, {a.actions if a.actions_enabled else 0} action(s)",
        )
        for a in f.billing_alarms
    ]
    if any(a.actions_enabled and a.actions for a in f.billing_alarms):
        return Status.PASS, "a billing alarm notifies someone", evidence
    if f.billing_alarms:
        return Status.WARN, "billing alarms exist but notify nobody", evidence
    return _unmet(entry), "no billing alarm on EstimatedCharges", evidence


def _guardduty(f: AccountFacts, entry: CatalogEntry) -> Verdict:
    evidence = [Evidence(f"guardduty:detector/{d.id}", 0, d.status) for d in f.guardduty_detectors]
    if any(d.status == "ENABLED" for d in f.guardduty_detectors):
        return Status.PASS, f"GuardDuty is on in {f.region}", evidence
    return _unmet(entry), f"GuardDuty is off in {f.region}", evidence


def _organizations(f: AccountFacts, entry: CatalogEntry) -> Verdict:
    org = f.organization
    if org is None:
        return _unmet(entry), "the account is not in an organization", []
    scps = [s for s in org.scps if s != DEFAULT_SCP]
    evidence = [Evidence(f"organizations:organization/{org.id}", 0, "member")]
    evidence += [Evidence(f"organizations:scp/{s}", 0, "applies to this account") for s in scps]
    if scps:
        return Status.PASS, f"member of {org.id} with {len(scps)} SCP(s)", evidence
    return _unmet(entry), f"member of {org.id}, but no SCP restricts it", evidence


def _access_analyzer(f: AccountFacts, entry: CatalogEntry) -> Verdict:
    evidence = [
        Evidence(f"access-analyzer:analyzer/{a.name}", 0, f"{a.type} {a.status}")
        for a in f.analyzers
    ]
    if any(a.status == "ACTIVE" for a in f.analyzers):
        return Status.PASS, f"IAM Access Analyzer is active in {f.region}", evidence
    return _unmet(entry), f"no active IAM Access Analyzer in {f.region}", evidence


# --- sharing -----------------------------------------------------------------------------


def _public_amis(f: AccountFacts, entry: CatalogEntry) -> Verdict:
    evidence = [
        Evidence(f"ec2:image/{i.id}", 0, f"public ({i.name})" if i.name else "public")
        for i in f.images
        if i.public
    ]
    evidence += [
        Evidence(f"ec2:snapshot/{s.id}", 0, "anyone may create volumes from it")
        for s in f.snapshots
        if s.public
    ]
    if evidence:
        return _unmet(entry), f"{len(evidence)} public image(s) or snapshot(s)", evidence
    return (
        Status.PASS,
        f"none of {len(f.images)} image(s) and {len(f.snapshots)} snapshot(s) is public",
        [],
    )


def _ami_bpa(f: AccountFacts, entry: CatalogEntry) -> Verdict:
    state = f.image_block_public_access or "not reported"
    evidence = [Evidence("ec2:image-block-public-access", 0, state)]
    if state == "block-new-sharing":
        return Status.PASS, f"new public AMI sharing is blocked in {f.region}", evidence
    return _unmet(entry), f"AMIs can be made public in {f.region}", evidence


CheckFn = Callable[[AccountFacts, CatalogEntry], Verdict]

# check id -> (fact areas it reads, the rule)
CHECKS: dict[str, tuple[tuple[str, ...], CheckFn]] = {
    "account-root-mfa": (("summary",), _root_mfa),
    "account-root-access-keys": (("summary",), _root_keys),
    "account-console-mfa": (("console-users",), _console_mfa),
    "account-access-key-age": (("credential-report",), _key_age),
    "account-admin-access": (("iam-principals",), _admin_access),
    "account-password-policy": (("password-policy",), _password_policy),
    "account-cloudtrail": (("trails",), _cloudtrail),
    "account-cost-anomaly": (("anomaly-monitors",), _cost_anomaly),
    "account-alternate-contacts": (("alternate-contacts",), _contacts),
    "account-billing-alarm": (("billing-alarms",), _billing_alarm),
    "account-guardduty": (("guardduty",), _guardduty),
    "account-organizations": (("organization", "scps"), _organizations),
    "account-access-analyzer": (("access-analyzer",), _access_analyzer),
    "account-public-amis": (("images", "snapshots"), _public_amis),
    "account-ami-block-public-access": (("image-block-public-access",), _ami_bpa),
}


def run_account_check(check_id: str, facts: AccountFacts) -> Finding:
    entry = catalog()[check_id]
    areas, rule = CHECKS[check_id]
    unread = [(a, facts.errors[a]) for a in areas if a in facts.errors]
    if unread:
        return entry.finding(
            Status.ERROR,
            "could not be read: " + "; ".join(why for _, why in unread),
            [Evidence(f"aws:{a}", 0, why) for a, why in unread],
        )
    try:
        status, summary, evidence = rule(facts, entry)
    except Exception as exc:  # one broken rule must not hide the others
        log.exception("account check %s failed", check_id)
        return entry.finding(Status.ERROR, f"the check itself failed: {type(exc).__name__}: {exc}")
    return entry.finding(status, summary, evidence)


def run_account_checks(facts: AccountFacts, ids: Iterable[str] | None = None) -> list[Finding]:
    """Every account check (or those in `ids`), in chapter order."""
    return [run_account_check(i, facts) for i in (ACCOUNT_CHECKS if ids is None else ids)]
