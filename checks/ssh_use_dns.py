"""ssh-use-dns: sshd should not make logins depend on DNS (optional guideline).

UseDNS cannot be set inside a Match block, so only the global value matters.
"""

from __future__ import annotations

from checks import _sshd
from checks._plans import option
from checks.base import catalog
from checks.registry import CheckMeta
from wizard.actions import Action, PlanContext, SetSshd
from wizard.facts import Facts
from wizard.model import Finding, Status

ID = "ssh-use-dns"
META = CheckMeta(
    id=ID,
    order=30,
    needs=(
        "live",
        "sshd_files",
        "sshd_main",
        "sshd_t",
        "sshd_t_conn",
        "sshd_t_error",
        "sshd_version",
    ),
    actions=(SetSshd,),
)
RULE = _sshd.Rule("usedns", frozenset({"yes"}))


def _judged(facts: Facts) -> _sshd.Judgement | None:
    config = _sshd.load(facts)
    return None if config is None else _sshd.judge(facts, config, RULE)


def check(facts: Facts) -> Finding:
    entry = catalog()[ID]
    judged = _judged(facts)
    if judged is None:
        return entry.finding(Status.SKIP, "no sshd configuration found: no SSH server to check")
    eff = judged.eff
    origin = eff.origin(facts)
    if not judged.unsafe:
        return entry.finding(Status.PASS, f"UseDNS is {eff.value} ({origin})", judged.evidence)
    return entry.finding(
        Status.WARN,
        f"UseDNS is {eff.value} ({origin}): logins wait on reverse DNS and fail when it is down",
        judged.evidence,
    )


def plan(facts: Facts, option_id: str, ctx: PlanContext | None = None) -> tuple[Action, ...]:
    """Set UseDNS to the chosen value (empty when it already has it: see `unchanged`)."""
    value = option(ID, option_id)
    judged = _judged(facts)
    if judged is None or judged.eff.value == value:
        return ()
    return (SetSshd(check_id=ID, keyword="UseDNS", args=(value,)),)


unchanged = _sshd.unchanged  # the preview's reason when the plan is empty (sshd -T failed)
