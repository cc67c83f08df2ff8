"""The signed checklist report's content: every guideline before, the choice and why, what was
done, after.

`build_report` turns plain session data (a ReportInput: the session's final findings and
events) into one document (schema `ami-wizard/report/v1`, typed in wizard.report_doc); it is
rendered by wizard.report_md and wizard.report_html and written (and signed) by
wizard.report_files. The report only reads findings and events it is given (the session's
final state): it never runs a check itself, so it cannot say two different things about one
target.
"""

from __future__ import annotations

import getpass
import logging
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import cast

from checks import registry
from checks.base import catalog
from wizard import __version__
from wizard.facts import Facts
from wizard.formats import probe_notes
from wizard.model import Finding, SessionEvent
from wizard.report_doc import (
    AccountCheckDoc,
    AccountDoc,
    CheckDoc,
    EventDoc,
    EvidenceDoc,
    OpenDoc,
    ProbeNoteDoc,
    ReportDoc,
    StateDoc,
)
from wizard.report_testboot import TestBootInput
from wizard.report_testboot import section as test_boot_section
from wizard.results import AuditResult
from wizard.secrets import clean_text

log = logging.getLogger(__name__)

REPORT_SCHEMA = "ami-wizard/report/v1"
# A check is "left open" when its last known status is one of these (pass and skip are done).
OPEN_STATUSES = ("fail", "error", "warn", "info")
STATUS_ORDER = ("pass", "fail", "warn", "info", "skip", "error")


# --- input ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckActions:
    """What was done for one check, as plain text: the commands/steps and a summary of diffs."""

    commands: tuple[str, ...] = ()
    diff_summary: str = ""
    error: str | None = None
    rolled_back: bool = False
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReportInput:
    """Everything a report says, as plain data (no session internals).

    Empty `operator`, `started` or `finished` are filled in by `build_report` (the current
    user@host, the before audit's time, now); pass them for reproducible bytes.
    """

    before: AuditResult
    after: AuditResult | None = None
    choices: Mapping[str, str] = field(default_factory=dict)  # check id -> option id
    notes: Mapping[str, str] = field(default_factory=dict)  # check id -> the operator's note
    actions: Mapping[str, CheckActions] = field(default_factory=dict)
    operator: str = ""  # "user@host" of the operator's machine
    started: str = ""  # ISO 8601, UTC
    finished: str = ""  # ISO 8601, UTC
    tool_version: str = __version__
    session_id: str = ""
    # The session's final exclude list; None: the evidence paths of the latest bundle-excludes
    # finding (the same list, read from the finding, never computed here).
    exclude_list: tuple[str, ...] | None = None
    events: tuple[SessionEvent, ...] = ()  # what the session did, in order (applied, undone)
    warnings: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()
    account: AccountInput | None = None  # None: the report has no "account" key
    test_boot: TestBootInput | None = None  # None: no "test_boot" key (wizard/report_testboot.py)


@dataclass(frozen=True)
class RunbookTick:
    """One step of the compromised-account runbook and whether the operator ticked it."""

    number: int
    id: str
    title: str
    done: bool = False


@dataclass(frozen=True)
class AccountInput:
    """The AWS account chapter for the report: the account audit and the runbook's state.

    `result` is None when the account was not read (then `error` says why, if it was tried).
    """

    result: AuditResult | None = None
    error: str = ""
    runbook: tuple[RunbookTick, ...] = ()


def operator_identity() -> str:
    """`user@host` of the machine the wizard runs on (not the target)."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no login name and no passwd entry (some containers)
        user = str(os.getuid()) if hasattr(os, "getuid") else "unknown"
    return f"{user}@{socket.gethostname()}"


def utc_now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


# --- content ----------------------------------------------------------------------------


def _clean(obj: object) -> object:
    """Every string (keys too) of a JSON-ready value with secrets masked."""
    if isinstance(obj, str):
        return clean_text(obj)
    if isinstance(obj, dict):
        return {clean_text(str(k)): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    return obj


def _evidence(f: Finding) -> list[EvidenceDoc]:
    return [{"path": e.path, "line": e.line, "detail": e.detail} for e in f.evidence]


def _state(f: Finding | None) -> StateDoc | None:
    if f is None:
        return None
    return {"status": str(f.status), "summary": f.summary, "evidence": _evidence(f)}


def _event(e: SessionEvent) -> EventDoc:
    return {"time": e.time, "kind": e.kind, "session": e.session, "summary": e.summary}


def _counts(result: AuditResult | None) -> dict[str, int] | None:
    if result is None:
        return None
    counts = result.summary.counts
    return {k: counts.get(k, 0) for k in STATUS_ORDER}


def build_report(inp: ReportInput) -> ReportDoc:
    """The report as a JSON-ready dict (schema `ami-wizard/report/v1`), scrubbed of secrets."""
    entries = catalog()
    before = {f.id: f for f in inp.before.findings}
    after = {f.id: f for f in inp.after.findings} if inp.after else {}
    order = [f.id for f in inp.before.findings] + [
        i for i in (*after, *inp.choices) if i not in before
    ]
    latest = inp.after or inp.before
    checks: list[CheckDoc] = []
    left_open: list[OpenDoc] = []
    for check_id in dict.fromkeys(order):
        fb, fa = before.get(check_id), after.get(check_id)
        last = fa or fb
        entry = entries.get(check_id)
        option_id = inp.choices.get(check_id)
        option = entry.option(option_id) if entry and option_id else None
        acts = inp.actions.get(check_id, CheckActions())
        is_open = last is not None and str(last.status) in OPEN_STATUSES
        checks.append(
            {
                "id": check_id,
                "title": last.title if last else (entry.title if entry else check_id),
                "group": entry.group if entry else "",
                "severity": str(last.severity) if last else "",
                "before": _state(fb),
                "choice": (
                    {
                        "option": option_id,
                        "label": option.label if option else "",
                        "recommended": bool(option and option.recommended),
                        "reversible": bool(option.reversible) if option else True,
                    }
                    if option_id
                    else None
                ),
                "note": inp.notes.get(check_id, ""),
                "actions": {
                    "commands": list(acts.commands),
                    "diff_summary": acts.diff_summary,
                    "error": acts.error,
                    "rolled_back": acts.rolled_back,
                    "notes": list(acts.notes),
                },
                "after": _state(fa),
                "open": is_open,
            }
        )
        if is_open and last is not None:
            left_open.append(
                {
                    "id": check_id,
                    "title": last.title,
                    "status": str(last.status),
                    "summary": last.summary,
                }
            )
    if inp.exclude_list is not None:
        excludes = list(inp.exclude_list)
    else:
        derived = next((f for f in latest.findings if f.id == registry.exclude_list_check()), None)
        excludes = [e.path for e in derived.evidence] if derived is not None else []
    identity = dict(latest.facts.identity) if isinstance(latest.facts, Facts) else {}
    report: ReportDoc = {
        "schema": REPORT_SCHEMA,
        "tool": {"name": "ami-wizard", "version": inp.tool_version},
        "session": inp.session_id,
        "operator": inp.operator or operator_identity(),
        "started": inp.started or inp.before.started,
        "finished": inp.finished or utc_now(),
        "target": latest.target.to_dict(),
        "image": {
            "publisher": identity.get("publisher", ""),
            "description": identity.get("description", ""),
            "contact": identity.get("contact", ""),
        },
        "summary": {"before": _counts(inp.before), "after": _counts(inp.after)},
        "checks": checks,
        "open": left_open,
        "bundle_excludes": excludes,
        "events": [_event(e) for e in inp.events],
        "probe_notes": [
            ProbeNoteDoc(kind=n["kind"], search=n["search"], text=n["text"])
            for n in probe_notes(latest)
        ],
        "warnings": list(inp.warnings),
        "errors": list(inp.errors),
    }
    if inp.account is not None:
        report["account"] = _account(inp.account, inp.notes)
    if inp.test_boot is not None:
        report["test_boot"] = test_boot_section(inp.test_boot)
    return cast(ReportDoc, _clean(report))


def _account(acc: AccountInput, notes: Mapping[str, str]) -> AccountDoc:
    """The optional "account" key: each account check as read, and the runbook checklist."""
    entries = catalog()
    checks: list[AccountCheckDoc] = []
    if acc.result is not None:
        for f in acc.result.findings:
            entry = entries.get(f.id)
            checks.append(
                {
                    "id": f.id,
                    "title": f.title,
                    "severity": str(f.severity),
                    "status": str(f.status),
                    "summary": f.summary,
                    "evidence": _evidence(f),
                    "console": entry.console if entry else "",
                    "cli": entry.cli if entry else "",
                    "note": notes.get(f.id, ""),
                }
            )
    doc: AccountDoc = {
        "uri": acc.result.target.uri if acc.result is not None else "",
        "read_at": acc.result.started if acc.result is not None else "",
        "error": acc.error,
        "summary": _counts(acc.result),
        "checks": checks,
        "runbook": [
            {"step": t.number, "id": t.id, "title": t.title, "done": t.done} for t in acc.runbook
        ],
    }
    # which account, as the engine read it (wizard.engine.audit_account)
    account = acc.result.target.account if acc.result is not None else {}
    if "account_id" in account:
        doc["account_id"] = str(account["account_id"])
    if "region" in account:
        doc["region"] = str(account["region"])
    if "caller_arn" in account:
        doc["caller_arn"] = str(account["caller_arn"])
    if account.get("regions"):
        doc["regions"] = str(account["regions"]).split(",")
    matrix = acc.result.matrix if acc.result is not None else {}
    for c in checks:
        if c["id"] in matrix:
            c["regions"] = dict(matrix[c["id"]])
    return doc
