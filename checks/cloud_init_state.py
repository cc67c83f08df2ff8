"""cloud-init-state: cloud-init's cache of this instance must not ship in the image.

The cache holds the builder's user-data and marks once-only modules as done.
"""

from __future__ import annotations

from checks.base import catalog
from wizard.facts import Facts
from wizard.model import Evidence, Finding, Status

ID = "cloud-init-state"
STATE_DIR = "/var/lib/cloud"


def check(facts: Facts) -> Finding:
    entry = catalog()[ID]
    ci = facts.cloud_init
    if not ci.installed:
        return entry.finding(Status.SKIP, "cloud-init is not installed")
    if not ci.state_entries:
        return entry.finding(Status.PASS, f"no cloud-init state under {STATE_DIR}")
    paths = [name if name.startswith("/") else f"{STATE_DIR}/{name}" for name in ci.state_entries]
    evidence = [
        Evidence(p, 0, "cloud-init state" if p.startswith(STATE_DIR + "/") else "cloud-init log")
        for p in paths
    ]
    return entry.finding(
        Status.FAIL,
        f"{len(ci.state_entries)} cloud-init state entries from this instance would ship "
        "(its user-data included)",
        evidence,
    )
