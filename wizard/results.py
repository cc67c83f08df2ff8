"""One audit's result as plain data: the target it read, its facts and the findings.

Everything the CLI, the screens and the report show comes from an AuditResult; the engine
(wizard.engine) makes them, and they sit at the bottom so any layer may read them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from wizard import __version__
from wizard.facts import Facts
from wizard.model import Finding, Summary
from wizard.report_doc import TargetDoc


@dataclass(frozen=True)
class TargetInfo:
    uri: str
    hostname: str
    os: str
    kernel: str
    instance_id: str
    ami_id: str
    account: dict[str, str] = field(default_factory=dict)  # account chapter: id, region, caller

    def to_dict(self) -> TargetDoc:
        out: TargetDoc = {
            "uri": self.uri,
            "hostname": self.hostname,
            "os": self.os,
            "kernel": self.kernel,
            "instance_id": self.instance_id,
            "ami_id": self.ami_id,
        }
        if self.account:
            out["account"] = dict(self.account)
        return out


@dataclass(frozen=True)
class AuditResult:
    target: TargetInfo
    facts: Facts | Any  # Facts for an instance, wizard.account_facts.AccountFacts for an account
    findings: tuple[Finding, ...]
    started: str  # ISO 8601, UTC
    duration_s: float
    tool_version: str = __version__
    # the account chapter: check id -> region (or "global") -> status; empty for an instance
    matrix: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def summary(self) -> Summary:
        return Summary.of(self.findings)
