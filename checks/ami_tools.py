"""ami-tools: the EC2 AMI tools (instance-store bundling) and the packages should be current.

Only instance-store AMIs are bundled with ec2-bundle-vol; EBS-backed images do not need them.
The installed version comes from the package database in the image (dpkg, rpm or apk); the
pending updates from the package manager's local cache on a live target.
"""

from __future__ import annotations

from checks._plans import option
from checks.base import Unchanged, catalog
from checks.registry import CheckMeta
from wizard.actions import Action, PlanContext, PlanRefused, RunCommand
from wizard.facts import Facts
from wizard.i18n import _
from wizard.model import Evidence, Finding, Status

ID = "ami-tools"
META = CheckMeta(
    id=ID,
    order=130,
    needs=(
        "ami_tools",
        "ami_tools_version",
        "ami_tools_package",
        "ami_tools_update",
        "package_manager",
        "pending_updates",
        "pending_packages",
        "pending_security",
        "live",
    ),
    actions=(RunCommand,),
)
# Where each package manager keeps what it knows: the evidence's "path".
DATABASE = {
    "apt": "/var/lib/dpkg/status",
    "dnf": "/var/lib/rpm",
    "yum": "/var/lib/rpm",
    "zypper": "/var/lib/rpm",
    "apk": "/lib/apk/db/installed",
}
_NONINTERACTIVE_APT = ("env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "-y")
_KEEP_CONFIG = ("-o", "Dpkg::Options::=--force-confold")
# Every pending update, per package manager.
UPGRADE = {
    "apt": (*_NONINTERACTIVE_APT, *_KEEP_CONFIG, "upgrade"),
    "dnf": ("dnf", "-y", "upgrade"),
    "yum": ("yum", "-y", "update"),
    "zypper": ("zypper", "--non-interactive", "update"),
    "apk": ("apk", "upgrade"),
}
# One package only (its name follows): never installs it where it is missing.
UPGRADE_ONE = {
    "apt": (*_NONINTERACTIVE_APT, *_KEEP_CONFIG, "install", "--only-upgrade"),
    "dnf": ("dnf", "-y", "upgrade"),
    "yum": ("yum", "-y", "update"),
    "zypper": ("zypper", "--non-interactive", "update"),
    "apk": ("apk", "upgrade"),
}


def _tools_evidence(facts: Facts) -> list[Evidence]:
    version = f" {facts.ami_tools_version}" if facts.ami_tools_version else ""
    evidence = [Evidence(t.path, 0, f"EC2 AMI tool{version}") for t in facts.ami_tools]
    if facts.ami_tools_package:
        where = DATABASE.get(facts.package_manager, "package database")
        offer = f"; {facts.ami_tools_update} on offer" if facts.ami_tools_update else ""
        evidence.append(
            Evidence(
                where, 0, f"package {facts.ami_tools_package} {facts.ami_tools_version}{offer}"
            )
        )
    return evidence


def _pending_evidence(facts: Facts) -> Evidence:
    names = facts.pending_packages
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    security = f" ({facts.pending_security} for security)" if facts.pending_security else ""
    detail = f"{facts.pending_updates} pending update(s){security}" + (
        f": {shown}" if shown else ""
    )
    return Evidence(facts.package_manager or "package manager", 0, detail)


def check(facts: Facts) -> Finding:
    entry = catalog()[ID]
    evidence = _tools_evidence(facts)
    installed = bool(facts.ami_tools or facts.ami_tools_package)
    name = facts.ami_tools_package or "EC2 AMI tools"
    version = f" {facts.ami_tools_version}" if facts.ami_tools_version else ""
    if facts.ami_tools_update:
        if facts.pending_updates:
            evidence.append(_pending_evidence(facts))
        return entry.finding(
            Status.WARN,
            f"{name}{version} is installed and {facts.ami_tools_update} is available: "
            "update it before bundling or sharing the image",
            evidence,
        )
    if facts.pending_updates:
        evidence.append(_pending_evidence(facts))
        return entry.finding(
            Status.WARN,
            f"{facts.pending_updates} package update(s) pending: the image would ship out of date",
            evidence,
        )
    if not installed:
        return entry.finding(
            Status.SKIP,
            _(
                "the EC2 AMI tools are not installed: they are only needed to bundle instance-store "
                "(S3-backed) AMIs, not for EBS-backed images"
            ),
            evidence,
        )
    if facts.pending_updates is None:
        why = "not a live target" if not facts.live else "the package cache could not be read"
        return entry.finding(
            Status.INFO,
            f"{name}{version} found; pending updates unknown ({why})",
            evidence,
        )
    return entry.finding(Status.PASS, f"{name}{version} found; no pending updates", evidence)


def _command(facts: Facts, table: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    if not facts.live:
        raise PlanRefused("packages in an image cannot be updated without running it")
    argv = table.get(facts.package_manager)
    if argv is None:
        raise PlanRefused("no known package manager on the target: update it by hand")
    return argv


def plan(facts: Facts, option_id: str, ctx: PlanContext | None = None) -> tuple[Action, ...]:
    """`update`: every pending package (the AMI tools among them); `ami-tools-only`: just the
    AMI tools' package, with the package manager's own single-package upgrade."""
    chosen = option(ID, option_id)
    if chosen == "ami-tools-only":
        if not facts.ami_tools_package:
            if facts.ami_tools:
                raise PlanRefused(
                    "the AMI tools here are not from a package: replace them by hand with the "
                    "current release from AWS"
                )
            return ()
        if facts.pending_updates is not None and not facts.ami_tools_update:
            return ()
        argv = (*_command(facts, UPGRADE_ONE), facts.ami_tools_package)
        return (RunCommand(check_id=ID, argv=argv, reversible=False),)
    if not facts.pending_updates:
        return ()
    return (RunCommand(check_id=ID, argv=_command(facts, UPGRADE), reversible=False),)


def unchanged(facts: Facts, option_id: str) -> Unchanged | None:
    """Why a plan is empty: unknown pending updates are not "already current"."""
    if option_id == "ami-tools-only" and not facts.ami_tools_package:
        return Unchanged("no package of the EC2 AMI tools is installed")
    if facts.pending_updates is None:
        manager = facts.package_manager or "the package manager"
        return Unchanged(
            f"the number of pending updates is unknown ({manager} could not say, or this is "
            "not a live target): update the packages by hand before taking the image",
            unknown=True,
        )
    if not facts.pending_updates and not facts.ami_tools:
        return Unchanged("no EC2 AMI tools are installed and no package update is pending")
    return None
