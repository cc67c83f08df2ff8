"""What every check shares: its catalog entry (text in YAML) and how a Finding is built.

A check module is pure: `check(facts) -> Finding`, no I/O. Its words (title, why, each
option's trade-off) live in `checks/catalog/<id>.yaml`, loaded once here. A module whose
`plan()` can be empty on purpose may also define `unchanged(facts, option_id) -> Unchanged |
None` to say why (see `Unchanged`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources
from typing import Any

import yaml

from wizard.facts import Facts
from wizard.model import Evidence, Finding, Severity, Status

# libyaml's safe loader when PyYAML has it: 20x faster on the catalog (audit start-up).
_SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: str) -> Any:
    """yaml.safe_load, with libyaml's C safe loader when available."""
    return yaml.load(text, Loader=_SAFE_LOADER)  # noqa: S506 (a safe loader, C or Python)


@dataclass(frozen=True)
class Unchanged:
    """Why an option's plan is empty here when the check's status alone would mislead: the
    preview says this instead of "already compliant".

    `unknown` is True when the state could not be read (nothing to change because nothing is
    known), False when the option does nothing on this target for `reason`.
    """

    reason: str
    unknown: bool = False


GROUPS = (
    "ssh-access",
    "accounts",
    "keys-credentials",
    "traces",
    "first-boot",
    "identity",
    "account",  # the AWS account chapter
    "runbook",  # the compromised-account runbook (not a check)
)


@dataclass(frozen=True)
class Option:
    id: str
    label: str
    tradeoff: str
    recommended: bool = False
    reversible: bool = True  # False: the step destroys material that must not be journaled


@dataclass(frozen=True)
class CatalogEntry:
    id: str
    title: str
    group: str
    severity: Severity
    why: str  # short: why it matters
    learn: str  # fuller explanation for newcomers
    seed: str  # which seed section(s) this guideline comes from
    options: tuple[Option, ...]
    optional: bool = False  # the guideline itself is optional (e.g. UseDNS)
    console: str = ""  # account chapter: where in the AWS console to fix it
    cli: str = ""  # account chapter: the AWS CLI command that fixes it

    @property
    def recommended(self) -> str | None:
        return next((o.id for o in self.options if o.recommended), None)

    def option(self, option_id: str) -> Option | None:
        return next((o for o in self.options if o.id == option_id), None)

    def finding(
        self,
        status: Status,
        summary: str,
        evidence: Iterable[Evidence] = (),
        severity: Severity | None = None,
    ) -> Finding:
        """Build this check's Finding; options and the recommended one come from the catalog."""
        return Finding(
            id=self.id,
            title=self.title,
            status=status,
            severity=severity or self.severity,
            summary=summary,
            evidence=tuple(evidence),
            options=tuple(o.id for o in self.options),
            recommended=self.recommended,
        )


def _entry(data: dict[str, Any]) -> CatalogEntry:
    return CatalogEntry(
        id=data["id"],
        title=data["title"],
        group=data["group"],
        severity=Severity(data["severity"]),
        why=data["why"].strip(),
        learn=data.get("learn", "").strip(),
        seed=data.get("seed", ""),
        optional=bool(data.get("optional", False)),
        console=str(data.get("console", "")).strip(),
        cli=str(data.get("cli", "")).strip(),
        options=tuple(
            Option(
                id=o["id"],
                label=o["label"],
                tradeoff=o["tradeoff"].strip(),
                recommended=bool(o.get("recommended", False)),
                reversible=bool(o.get("reversible", True)),
            )
            for o in data.get("options", [])
        ),
    )


@cache
def catalog() -> dict[str, CatalogEntry]:
    """Every catalog entry by check id, read from the YAML files shipped with the package."""
    entries: dict[str, CatalogEntry] = {}
    folder = resources.files("checks").joinpath("catalog")
    for item in sorted(folder.iterdir(), key=lambda p: p.name):
        if item.name.endswith(".yaml"):
            data = load_yaml(item.read_text(encoding="utf-8"))
            entry = _entry(data)
            entries[entry.id] = entry
    return entries


def search_gaps(facts: Facts, *searches: str) -> str:
    """ "search incomplete: ..." when a probe search the caller depends on stopped early
    (time or file count limit, a file it would not read), else ""."""
    reasons = [n.text for n in facts.incomplete if n.search in searches]
    return "search incomplete: " + "; ".join(dict.fromkeys(reasons)) if reasons else ""


def unless_complete(finding: Finding, facts: Facts, *searches: str) -> Finding:
    """The finding as it stands when every search it depends on ran to its end; otherwise
    never `pass` nor a reassuring `info`: those become `warn`, and the summary says why."""
    gap = search_gaps(facts, *searches)
    if not gap:
        return finding
    if finding.status in (Status.PASS, Status.INFO):
        return replace(finding, status=Status.WARN, summary=f"{gap} ({finding.summary})")
    return replace(finding, summary=f"{finding.summary}; {gap}")
