"""ami-tools: the EC2 AMI tools (instance-store bundling) and the packages should be current.

Only instance-store AMIs are bundled with ec2-bundle-vol; EBS-backed images do not need them.
"""

from __future__ import annotations

from checks._plans import option
from checks.base import Unchanged, catalog
from checks.registry import CheckMeta
from wizard.actions import Action, PlanContext, PlanRefused, RunCommand
from wizard.facts import Facts
from wizard.model import Evidence, Finding, Status

ID = "ami-tools"
META = CheckMeta(
    id=ID,
    order=130,
    needs=("ami_tools", "ami_tools_version", "package_manager", "pending_updates", "live"),
    actions=(RunCommand,),
)


def check(facts: Facts) -> Finding:
    entry = catalog()[ID]
    version = f" {facts.ami_tools_version}" if facts.ami_tools_version else ""
    evidence = [Evidence(t.path, 0, f"EC2 AMI tool{version}") for t in facts.ami_tools]
    pending = facts.pending_updates
    manager = facts.package_manager or "package manager"
    if pending:
        evidence.append(Evidence(manager, 0, f"{pending} pending update(s)"))
        return entry.finding(
            Status.WARN,
            f"{pending} package update(s) pending: the image would ship out of date",
            evidence,
        )
    if not facts.ami_tools:
        return entry.finding(
            Status.SKIP,
            "no EC2 AMI tools found: only needed to bundle instance-store AMIs",
            evidence,
        )
    if pending is None:
        return entry.finding(
            Status.INFO,
            f"EC2 AMI tools{version} found; pending updates unknown (package cache unreadable)",
            evidence,
        )
    return entry.finding(Status.PASS, f"EC2 AMI tools{version} found; no pending updates", evidence)


UPGRADE = {
    "apt": ("apt-get", "-y", "-o", "Dpkg::Options::=--force-confold", "upgrade"),
    "dnf": ("dnf", "-y", "upgrade"),
    "yum": ("yum", "-y", "update"),
    "zypper": ("zypper", "--non-interactive", "update"),
    "apk": ("apk", "upgrade"),
}


def plan(facts: Facts, option_id: str, ctx: PlanContext | None = None) -> tuple[Action, ...]:
    """Upgrade the packages (the AMI tools among them where packaged) on a live target."""
    option(ID, option_id)
    if not facts.pending_updates:
        return ()
    if not facts.live:
        raise PlanRefused("packages in an image cannot be updated without running it")
    argv = UPGRADE.get(facts.package_manager)
    if argv is None:
        raise PlanRefused("no known package manager on the target: update it by hand")
    return (RunCommand(check_id=ID, argv=argv, reversible=False),)


def unchanged(facts: Facts, option_id: str) -> Unchanged | None:
    """Why `update` plans nothing: unknown pending updates are not "already current"."""
    if facts.pending_updates is None:
        manager = facts.package_manager or "the package manager"
        return Unchanged(
            f"the number of pending updates is unknown ({manager} keeps no count the probe can "
            "read): update the packages by hand before taking the image",
            unknown=True,
        )
    if not facts.pending_updates and not facts.ami_tools:
        return Unchanged("no EC2 AMI tools are installed and no package update is pending")
    return None
