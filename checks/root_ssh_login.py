"""root-ssh-login: sshd must not accept a password (or any method) for root with `yes`.

The effective PermitRootLogin is judged, not a file line: Includes, first-value-wins, the
version-dependent default and Match blocks all count.
"""

from __future__ import annotations

from checks import _sshd
from checks._plans import option
from checks.base import catalog
from wizard.actions import Action, PlanContext, SetSshd
from wizard.facts import Facts
from wizard.model import Finding, Status

ID = "root-ssh-login"
SAFE = ("prohibit-password", "forced-commands-only", "no")


def check(facts: Facts) -> Finding:
    entry = catalog()[ID]
    config = _sshd.load(facts)
    if config is None:
        return entry.finding(Status.SKIP, "no sshd configuration found: no SSH server to check")
    eff = _sshd.effective(facts, config, "permitrootlogin")
    reopened = _sshd.match_overrides(config, eff, lambda v: v == "yes")
    evidence = eff.evidence + reopened
    origin = eff.origin(facts)
    if eff.value == "yes":
        return entry.finding(
            Status.FAIL,
            f"PermitRootLogin is yes ({origin}): root may log in with a password",
            evidence,
        )
    if eff.value not in SAFE:
        return entry.finding(
            Status.WARN,
            f"PermitRootLogin has an unexpected value {eff.value!r} ({origin})",
            evidence,
        )
    shown = eff.value
    if eff.spelled.lower() == "without-password":
        shown = "without-password (the deprecated spelling of prohibit-password)"
    if reopened:
        first = reopened[0]
        return entry.finding(
            Status.WARN,
            f"PermitRootLogin is {shown} ({origin}), but a Match block at "
            f"{first.path}:{first.line} sets it to yes",
            evidence,
        )
    return entry.finding(Status.PASS, f"PermitRootLogin is {shown} ({origin})", evidence)


def plan(facts: Facts, option_id: str, ctx: PlanContext | None = None) -> tuple[Action, ...]:
    """Set PermitRootLogin to the chosen value where it takes effect (empty when it already is)."""
    value = option(ID, option_id)
    config = _sshd.load(facts)
    if config is None:
        return ()
    eff = _sshd.effective(facts, config, "permitrootlogin")
    reopened = _sshd.match_overrides(config, eff, lambda v: v == "yes")
    if eff.value == value and eff.spelled.lower() != "without-password" and not reopened:
        return ()
    clear = ("yes",) if reopened else ()
    return (SetSshd(check_id=ID, keyword="PermitRootLogin", args=(value,), clear_in_match=clear),)


unchanged = _sshd.unchanged  # the preview's reason when the plan is empty (sshd -T failed)
