"""The guideline checks: one pure module per guideline, found and ordered by `checks.registry`.

`run_checks(facts)` is the only entry point the engine needs; a check that raises gives an
`error` finding instead of stopping the others. `INSTANCE_CHECKS` is the registry's ordered
id list at the moment it is read (kept for callers that want a plain tuple).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

from checks import registry
from checks.base import Unchanged, catalog
from wizard.facts import Facts
from wizard.model import Finding, Status

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    INSTANCE_CHECKS: tuple[str, ...]


def __getattr__(name: str) -> object:
    if name == "INSTANCE_CHECKS":  # computed: the registry may have gained a package
        return registry.ids()
    raise AttributeError(f"module 'checks' has no attribute {name!r}")


def module_name(check_id: str) -> str:
    return registry.module_name(check_id)


NOT_SELECTED = (
    "not selected: an optional guideline, off unless you turn it on (in the wizard, or "
    "`guidelines: {enable: [...]}` in the config file); not judged"
)


def run_one(check_id: str, facts: object) -> Finding:
    entry = catalog()[check_id]
    if isinstance(facts, Facts) and registry.not_selected(check_id, facts):
        return entry.finding(Status.SKIP, NOT_SELECTED)
    try:
        finding: Finding = registry.get(check_id).check(facts)
    except Exception as exc:  # one broken check must not hide the others
        log.debug("check %s failed", check_id, exc_info=True)
        return entry.finding(Status.ERROR, f"the check itself failed: {type(exc).__name__}: {exc}")
    return finding


def unchanged(check_id: str, facts: object, option_id: str) -> Unchanged | None:
    """The check's own reason why `option_id` plans nothing here (its optional module-level
    `unchanged(facts, option_id)`), or None: then the finding's status is the explanation."""
    hook = registry.get(check_id).unchanged  # optional: most checks need none
    if hook is None:
        return None
    reason: Unchanged | None = hook(facts, option_id)
    return reason


def run_checks(facts: object, ids: Iterable[str] | None = None) -> list[Finding]:
    wanted = list(ids) if ids is not None else list(registry.ids())
    return [run_one(i, facts) for i in wanted]
