"""The account's global rules (IAM, the root user, contacts, billing, Organizations, S3): pure
functions from AccountFacts to a verdict (seed 003)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from checks._account_common import STALE, Verdict, unmet, when
from checks.base import CatalogEntry
from wizard.account_facts import CONTACT_TYPES, AccountFacts, Bucket, PolicyDoc, Principal
from wizard.model import Evidence, Status

MIN_PASSWORD_LENGTH = 14  # CIS AWS Foundations asks for 14
ADMIN_POLICY_SUFFIX = ":iam::aws:policy/AdministratorAccess"
DEFAULT_SCP = "FullAWSAccess"  # attached everywhere once SCPs are on; it restricts nothing
ROOT_ROW = "<root_account>"


# --- root user ---------------------------------------------------------------------------


def root_mfa(f: AccountFacts, entry: CatalogEntry) -> Verdict:
    if f.summary.get("AccountMFAEnabled"):
        return Status.PASS, "the root user has MFA", [Evidence("iam:root", 0, "MFA enabled")]
    return unmet(entry), "the root user has no MFA", [Evidence("iam:root", 0, "MFA not enabled")]


def root_keys(f: AccountFacts, entry: CatalogEntry) -> Verdict:
    if f.summary.get("AccountAccessKeysPresent"):
        return (
            unmet(entry),
            "the root user has access keys",
            [Evidence("iam:root", 0, "access keys present")],
        )
    return Status.PASS, "the root user has no access keys", []


# --- people ------------------------------------------------------------------------------


def console_mfa(f: AccountFacts, entry: CatalogEntry) -> Verdict:
    bare = [u for u in f.console_users if u.console_access and u.mfa_devices == 0]
    evidence = [Evidence(f"iam:user/{u.name}", 0, "console password, no MFA device") for u in bare]
    if bare:
        return unmet(entry), f"{len(bare)} console user(s) without MFA", evidence
    n = sum(1 for u in f.console_users if u.console_access)
    return Status.PASS, f"all {n} console user(s) have MFA", []


def _key_problems(row: Mapping[str, str], now: datetime) -> list[str]:
    problems = []
    for n in (1, 2):
        if row.get(f"access_key_{n}_active") != "true":
            continue
        rotated = when(row.get(f"access_key_{n}_last_rotated"))
        used = when(row.get(f"access_key_{n}_last_used_date"))
        if rotated and now - rotated > STALE:
            problems.append(f"key {n} is {(now - rotated).days} days old")
        if used is None:
            problems.append(f"key {n} was never used")
        elif now - used > STALE:
            problems.append(f"key {n} unused for {(now - used).days} days")
    return problems


def key_age(f: AccountFacts, entry: CatalogEntry) -> Verdict:
    evidence = []
    active = 0
    for row in f.credential_report:
        user = row.get("user", "")
        if user == ROOT_ROW:
            continue  # root keys are account-root-access-keys' business
        active += sum(row.get(f"access_key_{n}_active") == "true" for n in (1, 2))
        problems = _key_problems(row, f.collected_at)
        if problems:
            evidence.append(Evidence(f"iam:user/{user}", 0, "; ".join(problems)))
    if evidence:
        return unmet(entry), f"{len(evidence)} user(s) with stale or unused keys", evidence
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


def admin_access(f: AccountFacts, entry: CatalogEntry) -> Verdict:
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
            unmet(entry),
            f"{len(users)} user(s) and {len(roles)} role(s) with full admin rights",
            users + roles,
        )
    if roles:
        # an admin role is often needed; long-lived admin users are what least privilege forbids
        return Status.WARN, f"{len(roles)} role(s) with full admin rights: review each", roles
    return Status.PASS, "no user or role has full admin rights", []


def password_policy(f: AccountFacts, entry: CatalogEntry) -> Verdict:
    pol = f.password_policy
    if pol is None:
        return (
            unmet(entry),
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


def cost_anomaly(f: AccountFacts, entry: CatalogEntry) -> Verdict:
    evidence = [Evidence(f"ce:anomaly-monitor/{m}", 0, "") for m in f.anomaly_monitors]
    if evidence:
        return Status.PASS, f"{len(evidence)} cost anomaly monitor(s)", evidence
    return unmet(entry), "no cost anomaly monitor", []


def contacts(f: AccountFacts, entry: CatalogEntry) -> Verdict:
    missing = [k for k in CONTACT_TYPES if not f.alternate_contacts.get(k)]
    evidence = [
        Evidence(f"account:alternate-contact/{k}", 0, "missing" if k in missing else "set")
        for k in CONTACT_TYPES
    ]
    if missing:
        return unmet(entry), "no alternate contact for " + ", ".join(missing), evidence
    return Status.PASS, "billing, operations and security contacts are set", evidence


def billing_alarm(f: AccountFacts, entry: CatalogEntry) -> Verdict:
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
    return unmet(entry), "no billing alarm on EstimatedCharges", evidence


def organizations(f: AccountFacts, entry: CatalogEntry) -> Verdict:
    org = f.organization
    if org is None:
        return unmet(entry), "the account is not in an organization", []
    scps = [s for s in org.scps if s != DEFAULT_SCP]
    evidence = [Evidence(f"organizations:organization/{org.id}", 0, "member")]
    evidence += [Evidence(f"organizations:scp/{s}", 0, "applies to this account") for s in scps]
    if scps:
        return Status.PASS, f"member of {org.id} with {len(scps)} SCP(s)", evidence
    return unmet(entry), f"member of {org.id}, but no SCP restricts it", evidence


def root_recent_use(f: AccountFacts, entry: CatalogEntry) -> Verdict:
    row = next((r for r in f.credential_report if r.get("user") == ROOT_ROW), None)
    if row is None:
        return Status.SKIP, "the credential report has no root row at this endpoint", []
    uses = {
        "password": when(row.get("password_last_used")),
        "key 1": when(row.get("access_key_1_last_used_date")),
        "key 2": when(row.get("access_key_2_last_used_date")),
    }
    recent = {k: v for k, v in uses.items() if v is not None and f.collected_at - v <= STALE}
    if recent:
        evidence = [
            Evidence("iam:root", 0, f"{k} used {(f.collected_at - v).days} day(s) ago")
            for k, v in recent.items()
        ]
        return unmet(entry), "the root user was used in the last 90 days", evidence
    return Status.PASS, "the root user was not used in the last 90 days", []


def unused_passwords(f: AccountFacts, entry: CatalogEntry) -> Verdict:
    evidence = []
    for row in f.credential_report:
        user = row.get("user", "")
        if user == ROOT_ROW or row.get("password_enabled") != "true":
            continue
        used = when(row.get("password_last_used"))
        since = (
            used or when(row.get("password_last_changed")) or when(row.get("user_creation_time"))
        )
        if since is not None and f.collected_at - since > STALE:
            what = "last used" if used else "never used, set"
            detail = f"console password {what} {(f.collected_at - since).days} days ago"
            evidence.append(Evidence(f"iam:user/{user}", 0, detail))
    if evidence:
        return unmet(entry), f"{len(evidence)} console password(s) unused for 90+ days", evidence
    return Status.PASS, "every console password was used in the last 90 days", []


def support_role(f: AccountFacts, entry: CatalogEntry) -> Verdict:
    holders = f.support_role_entities
    evidence = [Evidence(f"iam:{h}", 0, "holds AWSSupportAccess") for h in holders]
    if any(h.startswith("role/") for h in holders):
        return Status.PASS, "a role may open and manage AWS Support cases", evidence
    return unmet(entry), "no role holds AWSSupportAccess", evidence


def _bpa_off(bpa: Mapping[str, bool] | None) -> list[str]:
    if bpa is None:
        return ["not configured"]
    return [k for k, v in bpa.items() if not v]


def s3_public_access(f: AccountFacts, entry: CatalogEntry) -> Verdict:
    account_off = _bpa_off(f.account_block_public_access)
    evidence = [
        Evidence(
            "s3:account-block-public-access",
            0,
            "all four settings on" if not account_off else "off: " + ", ".join(account_off),
        )
    ]
    public = []
    for b in f.buckets:

        def on(key: str, b: Bucket = b) -> bool:
            acct = f.account_block_public_access or {}
            return bool(acct.get(key) or (b.block_public_access or {}).get(key))

        bits = [f"ACL grants {g}" for g in b.public_acl if not on("IgnorePublicAcls")]
        if b.policy_public and not on("RestrictPublicBuckets"):
            bits.append("bucket policy is public")
        if bits:
            public.append(b.name)
            evidence.append(Evidence(f"s3:bucket/{b.name}", 0, "; ".join(bits)))
        elif account_off and _bpa_off(b.block_public_access):
            evidence.append(Evidence(f"s3:bucket/{b.name}", 0, "no Block Public Access"))
    if public:
        return unmet(entry), f"{len(public)} public bucket(s): " + ", ".join(public), evidence
    if account_off:
        return Status.WARN, "account-wide S3 Block Public Access is not fully on", evidence
    return Status.PASS, "S3 Block Public Access is on for the whole account", evidence
