"""The checklist report's document (schema `ami-wizard/report/v1`) as types.

`wizard.report.build_report` makes one `ReportDoc` (a JSON-ready dict); the renderers
(wizard.report_md, wizard.report_html) and the writer read exactly these keys. TypedDicts,
not dataclasses, because the document is the public JSON: what is typed here is what is
signed, key for key.
"""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict


class EvidenceDoc(TypedDict):
    path: str
    line: int
    detail: str


class StateDoc(TypedDict):
    """A check's state before or after: its status, one-line summary and evidence."""

    status: str
    summary: str
    evidence: list[EvidenceDoc]


class ChoiceDoc(TypedDict):
    option: str
    label: str
    recommended: bool
    reversible: bool


class ActionsDoc(TypedDict):
    commands: list[str]
    diff_summary: str
    error: str | None
    rolled_back: bool
    notes: list[str]


class CheckDoc(TypedDict):
    """One guideline: before, the operator's choice and note, what was done, after."""

    id: str
    title: str
    group: str
    severity: str
    before: StateDoc | None
    choice: ChoiceDoc | None
    note: str
    actions: ActionsDoc
    after: StateDoc | None
    open: bool


class OpenDoc(TypedDict):
    """A guideline left open (fail, error, warn or info at the end)."""

    id: str
    title: str
    status: str
    summary: str


class ProbeNoteDoc(TypedDict):
    kind: str  # "limit": a search stopped early; "error": something the probe could not read
    search: str  # the search a limit concerns ("" for an error)
    text: str


class EventDoc(TypedDict):
    time: str
    kind: str
    session: str
    summary: str


class TargetDoc(TypedDict):
    uri: str
    hostname: str
    os: str
    kernel: str
    instance_id: str
    ami_id: str
    account: NotRequired[dict[str, str]]


class ToolDoc(TypedDict):
    name: str
    version: str


class ImageDoc(TypedDict):
    publisher: str
    description: str
    contact: str  # where users report problems ("" when not given)


class SummaryDoc(TypedDict):
    """Counts per status (pass, fail, warn, info, skip, error); None when there is no state."""

    before: dict[str, int] | None
    after: dict[str, int] | None


class AccountCheckDoc(TypedDict):
    id: str
    title: str
    severity: str
    status: str
    summary: str
    evidence: list[EvidenceDoc]
    console: str
    cli: str
    note: str
    regions: NotRequired[dict[str, str]]  # region (or "global") -> status; additive


class RunbookDoc(TypedDict):
    step: int
    id: str
    title: str
    done: bool


class AccountDoc(TypedDict):
    """The optional AWS account chapter: each account check as read, and the runbook."""

    uri: str
    account_id: NotRequired[str]
    region: NotRequired[str]
    caller_arn: NotRequired[str]
    read_at: str
    error: str
    summary: dict[str, int] | None
    checks: list[AccountCheckDoc]
    runbook: list[RunbookDoc]
    regions: NotRequired[list[str]]  # every region read; additive


class ReportDoc(TypedDict):
    schema: str
    tool: ToolDoc
    session: str
    operator: str
    started: str
    finished: str
    target: TargetDoc
    image: ImageDoc
    summary: SummaryDoc
    checks: list[CheckDoc]
    open: list[OpenDoc]
    bundle_excludes: list[str]
    events: list[EventDoc]
    probe_notes: list[ProbeNoteDoc]  # of the final probe: a search cut short is never hidden
    warnings: list[str]
    errors: list[str]
    account: NotRequired[AccountDoc]
    test_boot: NotRequired[dict[str, Any]]  # wizard/report_testboot.py: section()
