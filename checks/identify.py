"""identify: the image should say who publishes it and what it is.

The values come from the operator (plan or config), not from the target.
"""

from __future__ import annotations

from checks.base import catalog
from wizard.facts import Facts
from wizard.model import Evidence, Finding, Status

ID = "identify"


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
