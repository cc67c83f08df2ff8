"""ssh-use-dns: sshd should not make logins depend on DNS (optional guideline).

UseDNS cannot be set inside a Match block, so only the global value matters.
"""

from __future__ import annotations

from checks import _sshd
from checks._plans import option
from checks.base import catalog
from wizard.actions import Action, PlanContext, SetSshd
from wizard.facts import Facts
from wizard.model import Finding, Status

ID = "ssh-use-dns"


def check(facts: Facts) -> Finding:
    entry = catalog()[ID]
    config = _sshd.load(facts)
    if config is None:
        return entry.finding(Status.SKIP, "no sshd configuration found: no SSH server to check")
    eff = _sshd.effective(facts, config, "usedns")
    origin = eff.origin(facts)
    if eff.value == "no":
        return entry.finding(Status.PASS, f"UseDNS is no ({origin})", eff.evidence)
    return entry.finding(
        Status.WARN,
        f"UseDNS is {eff.value} ({origin}): logins wait on reverse DNS and fail when it is down",
        eff.evidence,
    )


def plan(facts: Facts, option_id: str, ctx: PlanContext | None = None) -> tuple[Action, ...]:
    """Set UseDNS to the chosen value (empty when it already has it)."""
    value = option(ID, option_id)
    config = _sshd.load(facts)
    if config is None or _sshd.effective(facts, config, "usedns").value == value:
        return ()
    return (SetSshd(check_id=ID, keyword="UseDNS", args=(value,)),)


unchanged = _sshd.unchanged  # the preview's reason when the plan is empty (sshd -T failed)
