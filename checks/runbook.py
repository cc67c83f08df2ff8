"""The "compromised account" runbook (seed 003): ordered steps, each with its live data.

Pure: the step text comes from `checks/catalog/runbook.yaml`, the live data from a
RunbookFacts gathered by `wizard.aws.gather_runbook`. Nothing here touches the account.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from checks._catalog import raw
from wizard.account_facts import CONTACT_TYPES, RunbookFacts, TrailEvent, unavailable
from wizard.model import Evidence

RUNBOOK_ID = "account-runbook"  # its catalog entry: checks/catalog/runbook.yaml

# live-data key -> the RunbookFacts error areas that feed it ("events" covers events:NAME)
LIVE_AREAS: dict[str, tuple[str, ...]] = {
    "root-keys": ("summary",),
    "credential-report": ("credential-report",),
    "alternate-contacts": ("alternate-contacts",),
    "events": ("events:",),
}


@dataclass(frozen=True)
class RunbookStep:
    number: int  # 1-based, the order the steps must be taken in
    id: str
    title: str
    action: str
    console: str = ""
    live: tuple[str, ...] = ()  # keys of LIVE_AREAS


@dataclass(frozen=True)
class RunbookView:
    """One step with the live data relevant to it, and why any of that data is missing."""

    step: RunbookStep
    evidence: tuple[Evidence, ...] = ()
    errors: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()  # what this endpoint or region cannot answer (not an error)


@cache
def runbook_steps() -> tuple[RunbookStep, ...]:
    data: dict[str, Any] = raw(RUNBOOK_ID)  # validated against the catalog schema
    return tuple(
        RunbookStep(
            number=n,
            id=s["id"],
            title=s["title"],
            action=str(s["action"]).strip(),
            console=s.get("console", "") or "",
            live=tuple(s.get("live", [])),
        )
        for n, s in enumerate(data["steps"], start=1)
    )


def _last4(key_id: str) -> str:
    # enough to match a key against the console's list without printing it whole
    return f"…{key_id[-4:]}" if key_id else ""


def _credential_row(row: Mapping[str, str]) -> Evidence | None:
    user = row.get("user", "")
    bits = []
    if row.get("password_enabled") == "true":
        bits.append(f"password (last used {row.get('password_last_used', '?')})")
    if row.get("mfa_active") == "false" and row.get("password_enabled") == "true":
        bits.append("no MFA")
    for n in (1, 2):
        if row.get(f"access_key_{n}_active") == "true":
            used = row.get(f"access_key_{n}_last_used_date", "N/A")
            bits.append(f"key {n} active (last used {used})")
    if not bits:
        return None  # nothing left to rotate for this user
    path = "iam:root" if user == "<root_account>" else f"iam:user/{user}"
    return Evidence(path, 0, ", ".join(bits))


# regional events an intruder leaves where the owner does not look
WATCH_REGIONS = frozenset({"RunInstances"})


def _event(e: TrailEvent, home: str) -> Evidence:
    unusual = e.name in WATCH_REGIONS and e.region and e.region != home
    bits = (
        e.time,
        e.username or "?",
        f"from {e.source_ip}" if e.source_ip else "",
        f"key {_last4(e.access_key)}" if e.access_key else "",
        f"on {e.resources}" if e.resources else "",
        f"({e.user_agent})" if e.user_agent else "",
        f"OUTSIDE the home region {home}" if unusual else "",
    )
    where = f"cloudtrail:{e.region}:event/{e.name}" if e.region else f"cloudtrail:event/{e.name}"
    return Evidence(where, 0, " ".join(b for b in bits if b))


def _live(key: str, facts: RunbookFacts) -> list[Evidence]:
    if key == "root-keys":
        present = facts.root_access_keys_present
        state = {True: "access keys present", False: "no access keys", None: "unknown"}[present]
        mfa = {True: "MFA on", False: "MFA off", None: "MFA unknown"}[facts.root_mfa_enabled]
        return [Evidence("iam:root", 0, f"{state}, {mfa}")]
    if key == "credential-report":
        rows = (_credential_row(r) for r in facts.credential_report)
        return [e for e in rows if e is not None]
    if key == "alternate-contacts":
        return [
            Evidence(
                f"account:alternate-contact/{k}", 0, facts.alternate_contacts.get(k) or "missing"
            )
            for k in CONTACT_TYPES
        ]
    if key == "events":
        return [_event(e, facts.region) for events in facts.events.values() for e in events]
    raise KeyError(f"unknown runbook live-data key: {key}")


def _errors(key: str, facts: RunbookFacts) -> list[str]:
    return [
        f"{area}: {why}"
        for area, why in facts.errors.items()
        for prefix in LIVE_AREAS[key]
        if area == prefix or (prefix.endswith(":") and area.startswith(prefix))
    ]


def runbook(facts: RunbookFacts | None = None) -> list[RunbookView]:
    """Every step in order; with facts, each carries its live data (or why it is missing)."""
    views = []
    for step in runbook_steps():
        evidence: list[Evidence] = []
        errors: list[str] = []
        notes: list[str] = []
        if facts is not None:
            for key in step.live:
                missing = _errors(key, facts)
                errors += [m for m in missing if not unavailable(m.partition(": ")[2])]
                skipped = [m for m in missing if unavailable(m.partition(": ")[2])]
                if skipped:
                    what = sorted(
                        {
                            m.partition(":")[0] if key != "events" else "event history"
                            for m in skipped
                        }
                    )
                    notes.append(
                        f"{', '.join(what)}: not available at this endpoint/region "
                        f"({len(skipped)} lookup(s))"
                    )
                # event lookups fail one by one: still show the names that could be read
                if not missing or key == "events":
                    evidence += _live(key, facts)
        views.append(
            RunbookView(
                step=step, evidence=tuple(evidence), errors=tuple(errors), notes=tuple(notes)
            )
        )
    return views
