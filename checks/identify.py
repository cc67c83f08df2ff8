"""identify: the image should say who publishes it and what it is.

The values come from the operator (plan or config), not from the target.
"""

from __future__ import annotations

from checks._plans import option
from checks.base import Unchanged, catalog
from checks.registry import CheckMeta
from wizard.actions import Action, PlanContext
from wizard.facts import Facts
from wizard.model import Evidence, Finding, Status

ID = "identify"
META = CheckMeta(id=ID, order=150, needs=("identity",))


def check(facts: Facts) -> Finding:
    entry = catalog()[ID]
    publisher = facts.identity.get("publisher", "").strip()
    description = facts.identity.get("description", "").strip()
    evidence = [
        Evidence("identity", 0, f"{name}: {value or '(not set)'}")
        for name, value in (("publisher", publisher), ("description", description))
    ]
    if publisher and description:
        return entry.finding(Status.PASS, f"published by {publisher}: {description}", evidence)
    missing = " and ".join(
        n for n, v in (("publisher", publisher), ("description", description)) if not v
    )
    return entry.finding(
        Status.INFO,
        f"no {missing} given: users only see an account number; set them for register-image",
        evidence,
    )


def plan(facts: Facts, option_id: str, ctx: PlanContext | None = None) -> tuple[Action, ...]:
    """Nothing changes on the target: the publisher and description go to register-image."""
    option(ID, option_id)
    return ()


def unchanged(facts: Facts, option_id: str) -> Unchanged | None:
    """The target never changes for this check: say so instead of "already compliant"."""
    missing = [n for n in ("publisher", "description") if not facts.identity.get(n, "").strip()]
    if missing:
        return Unchanged(
            f"no {' and '.join(missing)} is configured (identity: in the config or the plan): "
            "there is nothing to record for register-image yet"
        )
    return Unchanged(
        "the publisher and description go to register-image, not to the target: pass them "
        "there when you register the image"
    )
