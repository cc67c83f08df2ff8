"""What every check shares: its catalog entry (text in YAML) and how a Finding is built.

A check module is pure: `check(facts) -> Finding`, no I/O. Its words (title, why, each
option's trade-off) live in `checks/catalog/<id>.yaml`, loaded and validated once by
`checks._catalog`. A module whose
`plan()` can be empty on purpose may also define `unchanged(facts, option_id) -> Unchanged |
None` to say why (see `Unchanged`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from checks._catalog import CatalogEntry, CatalogError, Option, catalog, groups, load_yaml
from wizard.facts import Facts
from wizard.model import Finding, Status

__all__ = [
    "GROUPS",
    "CatalogEntry",
    "CatalogError",
    "Option",
    "Unchanged",
    "catalog",
    "load_yaml",
    "search_gaps",
    "unless_complete",
]


@dataclass(frozen=True)
class Unchanged:
    """Why an option's plan is empty here when the check's status alone would mislead: the
    preview says this instead of "already compliant".

    `unknown` is True when the state could not be read (nothing to change because nothing is
    known), False when the option does nothing on this target for `reason`.
    """

    reason: str
    unknown: bool = False


GROUPS = groups()  # the overview's groups, in order (from the catalog schema)


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
