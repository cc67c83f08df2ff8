"""The guideline checks: one pure module per guideline, run in catalog order.

`run_checks(facts)` is the only entry point the engine needs; a check that raises gives an
`error` finding instead of stopping the others.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterable

from checks.base import Unchanged, catalog
from wizard.model import Finding, Status

log = logging.getLogger(__name__)

# The order the wizard walks them: access first, traces and first-boot preparation last.
INSTANCE_CHECKS: tuple[str, ...] = (
    "root-ssh-login",
    "ssh-password-auth",
    "ssh-use-dns",
    "root-password",
    "user-passwords",
    "authorized-keys",
    "ssh-host-keys",
    "launch-key",
    "bundle-credentials",
    "shell-history",
    "machine-id",
    "cloud-init-state",
    "ami-tools",
    "bundle-excludes",
    "identify",
    "paid-product-code",
)


def module_name(check_id: str) -> str:
    return "checks." + check_id.replace("-", "_")


def run_one(check_id: str, facts: object) -> Finding:
    entry = catalog()[check_id]
    try:
        module = importlib.import_module(module_name(check_id))
        finding: Finding = module.check(facts)
    except Exception as exc:  # one broken check must not hide the others
        log.debug("check %s failed", check_id, exc_info=True)
        return entry.finding(Status.ERROR, f"the check itself failed: {type(exc).__name__}: {exc}")
    return finding


def unchanged(check_id: str, facts: object, option_id: str) -> Unchanged | None:
    """The check's own reason why `option_id` plans nothing here (its optional module-level
    `unchanged(facts, option_id)`), or None: then the finding's status is the explanation."""
    module = importlib.import_module(module_name(check_id))
    hook = getattr(module, "unchanged", None)  # optional: most checks need none
    if hook is None:
        return None
    reason: Unchanged | None = hook(facts, option_id)
    return reason


def run_checks(facts: object, ids: Iterable[str] | None = None) -> list[Finding]:
    wanted = list(ids) if ids is not None else list(INSTANCE_CHECKS)
    return [run_one(i, facts) for i in wanted]
