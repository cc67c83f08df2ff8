"""ami-tools: the EC2 AMI tools (instance-store bundling) and the packages should be current.

Only instance-store AMIs are bundled with ec2-bundle-vol; EBS-backed images do not need them.
"""

from __future__ import annotations

from checks.base import catalog
from wizard.facts import Facts
from wizard.model import Evidence, Finding, Status

ID = "ami-tools"


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
