"""root-ssh-login: sshd must not accept a password (or any method) for root with `yes`.

The effective PermitRootLogin is judged, not a file line: Includes, first-value-wins, the
version-dependent default and Match blocks all count.
"""

from __future__ import annotations

from checks import _sshd
from checks._plans import option
from checks.base import catalog
from checks.registry import CheckMeta
from wizard.actions import Action, PlanContext, SetSshd
from wizard.facts import Facts
from wizard.model import Finding, Status

ID = "root-ssh-login"
META = CheckMeta(
    id=ID,
    order=10,
    needs=(
        "accounts",
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
SAFE = ("prohibit-password", "forced-commands-only", "no")
RULE = _sshd.Rule("permitrootlogin", frozenset({"yes"}), root_only=True)


def check(facts: Facts) -> Finding:
    entry = catalog()[ID]
    config = _sshd.load(facts)
    if config is None:
        return entry.finding(Status.SKIP, "no sshd configuration found: no SSH server to check")
    judged = _sshd.judge(facts, config, RULE)
    eff = judged.eff
    evidence = judged.evidence
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
    if judged.reopens:
        return entry.finding(
            Status.FAIL,
            f"PermitRootLogin is {shown} ({origin}), but {judged.where_reopened()} sets it to "
            "yes: root may log in with a password there",
            evidence,
        )
    return entry.finding(Status.PASS, f"PermitRootLogin is {shown} ({origin})", evidence)


def _judged(facts: Facts) -> _sshd.Judgement | None:
    config = _sshd.load(facts)
    return None if config is None else _sshd.judge(facts, config, RULE)


def plan(facts: Facts, option_id: str, ctx: PlanContext | None = None) -> tuple[Action, ...]:
    """Set PermitRootLogin to the chosen value where it takes effect, and comment out Match
    blocks that set it to yes (empty when nothing needs to change)."""
    value = option(ID, option_id)
    judged = _judged(facts)
    if judged is None:
        return ()
    eff = judged.eff
    if eff.value == value and eff.spelled.lower() != "without-password" and not judged.reopens:
        return ()
    clear = _sshd.clear_in_match(judged)
    return (SetSshd(check_id=ID, keyword="PermitRootLogin", args=(value,), clear_in_match=clear),)


def refusal(
    facts: Facts, option_id: str, actions: tuple[Action, ...], ctx: PlanContext
) -> str | None:
    """The session's lock-out rule: never close root logins under a root login."""
    locks_root = option_id in ("no", "forced-commands-only")
    if ctx.login_user == "root" and actions and locks_root:
        return (
            f"refused: PermitRootLogin {option_id} would lock out this root login, the "
            "only way in proven to work — log in as a sudo user and run it from there"
        )
    return None


unchanged = _sshd.unchanged  # the preview's reason when the plan is empty (sshd -T failed)
