"""paid-product-code: a paid image should check, at boot, that its product code is intact.

Nothing here can be applied by the wizard: the check lives in the publisher's software.
"""

from __future__ import annotations

from checks.base import catalog
from checks.launch_key import boot_sources
from checks.registry import CheckMeta
from wizard.actions import Action, PlanContext
from wizard.facts import Facts
from wizard.i18n import _
from wizard.model import Evidence, Finding, Status

ID = "paid-product-code"
META = CheckMeta(id=ID, order=160, needs=("is_ec2", "product_codes"))
NEEDLE = "meta-data/product-codes"


def check(facts: Facts) -> Finding:
    entry = catalog()[ID]
    if not facts.is_ec2 or not facts.product_codes:
        return entry.finding(Status.SKIP, _("free AMI: nothing to verify"))
    codes = ", ".join(facts.product_codes)
    evidence = [Evidence("instance metadata", 0, f"product code(s): {codes}")]
    verifiers = [u for u in boot_sources(facts) if NEEDLE in u.text]
    evidence += [
        Evidence(u.path, 0, "reads the product codes from instance metadata") for u in verifiers
    ]
    if verifiers:
        return entry.finding(
            Status.PASS, f"paid AMI ({codes}); a boot unit reads its product code", evidence
        )
    return entry.finding(
        Status.INFO,
        f"paid AMI ({codes}): make your software verify the product code at boot",
        evidence,
    )


def plan(facts: Facts, option_id: str, ctx: PlanContext | None = None) -> tuple[Action, ...]:
    """No option: the product-code check belongs in the publisher's own software."""
    from wizard.errors import UsageError

    raise UsageError(f"{ID} has no option {option_id!r}: nothing for the wizard to apply")
