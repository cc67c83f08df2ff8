"""ami-imdsv2: register the AMI so that its instances require IMDSv2 (advice for the
registration, and a look at what in the image would break when they do).

Nothing changes on the target: `--imds-support v2.0` is a property of the AMI, given to
`aws ec2 register-image` (or later to `modify-image-attribute`). What the image can hold
against it is a boot unit that still asks the metadata service without a session token:
with the AMI marked v2.0 those requests are refused, so the finding warns about each one.
"""

from __future__ import annotations

from checks.base import catalog
from checks.launch_key import TOKEN_HEADER, boot_sources
from checks.registry import CheckMeta
from wizard.actions import Action, PlanContext
from wizard.errors import UsageError
from wizard.facts import Facts, Unit
from wizard.i18n import _
from wizard.model import Evidence, Finding, Status

ID = "ami-imdsv2"
META = CheckMeta(id=ID, order=155, needs=("units", "rc_local"))
# How a program reaches the metadata service (IPv4, IPv6, or the path alone behind a variable).
METADATA = ("169.254.169.254", "fd00:ec2::254", "/latest/meta-data", "/latest/api/token")

REGISTER = Evidence(
    "aws ec2 register-image",
    0,
    "--name ... --imds-support v2.0: every instance launched from the new AMI requires "
    "IMDSv2 session tokens, with a PUT response hop limit of 2",
)
MODIFY = Evidence(
    "aws ec2 modify-image-attribute",
    0,
    "--image-id ami-... --imds-support v2.0: for an AMI already registered (create-image "
    "included); it cannot be switched back: only a new AMI from the same snapshot can",
)


def _line(unit: Unit) -> int:
    for number, line in enumerate(unit.text.splitlines(), 1):
        if any(m in line for m in METADATA):
            return number
    return 0


def v1_only(facts: Facts) -> list[Unit]:
    """Boot units (rc.local included) that read instance metadata without a session token."""
    return [
        u
        for u in boot_sources(facts)
        if any(m in u.text for m in METADATA) and TOKEN_HEADER not in u.text.lower()
    ]


def check(facts: Facts) -> Finding:
    entry = catalog()[ID]
    old = v1_only(facts)
    evidence = [REGISTER, MODIFY]
    evidence += [
        Evidence(u.path, _line(u), "reads instance metadata without a session token (IMDSv1)")
        for u in old
    ]
    if old:
        return entry.finding(
            Status.WARN,
            f"{len(old)} boot unit(s) still use IMDSv1: move them to IMDSv2 before registering "
            "the AMI with --imds-support v2.0, or they fail on every launch",
            evidence,
        )
    return entry.finding(
        Status.INFO,
        _(
            "register the AMI with --imds-support v2.0 so that its instances require IMDSv2; "
            "nothing found in the image's boot units still uses IMDSv1"
        ),
        evidence,
    )


def plan(facts: Facts, option_id: str, ctx: PlanContext | None = None) -> tuple[Action, ...]:
    """No option: the setting belongs to the AMI's registration, not to the target."""
    raise UsageError(f"{ID} has no option {option_id!r}: it is set when the AMI is registered")
