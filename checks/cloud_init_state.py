"""cloud-init-state: cloud-init's cache of this instance must not ship in the image.

The cache holds the builder's user-data and marks once-only modules as done.
"""

from __future__ import annotations

from checks._plans import option
from checks.base import catalog
from checks.registry import CheckMeta
from wizard.actions import Action, DeleteFile, PlanContext, RunCommand
from wizard.facts import Facts
from wizard.i18n import _
from wizard.model import Evidence, Finding, Status

ID = "cloud-init-state"
META = CheckMeta(
    id=ID,
    order=120,
    needs=("cloud_init", "live"),
    actions=(DeleteFile, RunCommand),
    launch_trace=True,
)
STATE_DIR = "/var/lib/cloud"


def check(facts: Facts) -> Finding:
    entry = catalog()[ID]
    ci = facts.cloud_init
    if not ci.installed:
        return entry.finding(Status.SKIP, _("cloud-init is not installed"))
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


def plan(facts: Facts, option_id: str, ctx: PlanContext | None = None) -> tuple[Action, ...]:
    """Live: `cloud-init clean --logs`. Image: delete the same state and logs under its root
    (cloud-init inside an image is never run). The state holds user-data: no undo."""
    option(ID, option_id)
    ci = facts.cloud_init
    if not ci.installed or not ci.state_entries:
        return ()
    if facts.live:
        return (RunCommand(check_id=ID, argv=("cloud-init", "clean", "--logs"), reversible=False),)
    paths = [name if name.startswith("/") else f"{STATE_DIR}/{name}" for name in ci.state_entries]
    return tuple(DeleteFile(check_id=ID, path=p, recursive=True, reversible=False) for p in paths)
