"""Shared value types: statuses, severities, evidence and findings.

Checks produce Findings from Facts; screens, the CLI and reports consume them. Everything
here is frozen and JSON-friendly so the same objects feed every output format.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Status(StrEnum):
    PASS = "pass"  # noqa: S105 (a status, not a password)
    FAIL = "fail"
    WARN = "warn"
    INFO = "info"
    SKIP = "skip"
    ERROR = "error"


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"


@dataclass(frozen=True)
class Evidence:
    """One piece of evidence: where (path and 1-based line, or 0 when not line-based) and what.

    `detail` must never hold a secret in full: use `wizard.secrets.mask` first.
    """

    path: str
    line: int = 0
    detail: str = ""

    def to_dict(self) -> dict[str, object]:
        return {"path": self.path, "line": self.line, "detail": self.detail}


@dataclass(frozen=True)
class Finding:
    """The result of one check against one set of facts."""

    id: str
    title: str
    status: Status
    severity: Severity
    summary: str
    evidence: tuple[Evidence, ...] = ()
    options: tuple[str, ...] = ()
    recommended: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "title": self.title,
            "status": str(self.status),
            "severity": str(self.severity),
            "summary": self.summary,
            "evidence": [e.to_dict() for e in self.evidence],
            "options": list(self.options),
            "recommended": self.recommended,
        }


@dataclass(frozen=True)
class Summary:
    counts: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, findings: list[Finding] | tuple[Finding, ...]) -> Summary:
        counts = {s.value: 0 for s in Status}
        for f in findings:
            counts[f.status.value] += 1
        return cls(counts)

    @property
    def failed(self) -> bool:
        return self.counts.get("fail", 0) > 0 or self.counts.get("error", 0) > 0


@dataclass(frozen=True)
class SessionEvent:
    """Something an apply session did, in the order it happened (the report lists them).

    `kind` is "applied" or "undone"; `summary` is one line for people, never a secret.
    """

    time: str  # ISO 8601, UTC
    kind: str
    session: str
    summary: str

    def to_dict(self) -> dict[str, str]:
        return {
            "time": self.time,
            "kind": self.kind,
            "session": self.session,
            "summary": self.summary,
        }
