"""ssh-password-auth: both password routes into sshd must be closed.

PasswordAuthentication and keyboard-interactive (PAM usually asks for the same password)
are judged on their effective values and on every Match block that can reopen them for some
connection; PermitEmptyPasswords yes counts too.
"""

from __future__ import annotations

from checks import _sshd
from checks._plans import option
from checks.base import catalog
from checks.registry import CheckMeta
from wizard.actions import Action, PlanContext, SetSshd
from wizard.facts import Facts
from wizard.model import Finding, Status
from wizard.sshd_config import SshdConfig

ID = "ssh-password-auth"
META = CheckMeta(
    id=ID,
    order=20,
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


_YES = frozenset({"yes"})
EMPTY = _sshd.Rule("permitemptypasswords", _YES)


def _rules(facts: Facts, config: SshdConfig) -> list[_sshd.Rule]:
    # Since 8.7 ChallengeResponseAuthentication is an alias the model folds into
    # KbdInteractiveAuthentication; before, keyboard-interactive follows
    # ChallengeResponseAuthentication unless KbdInteractiveAuthentication is set explicitly.
    if not _sshd.version_before(facts, 8, 7):
        words = ["passwordauthentication", "kbdinteractiveauthentication"]
    else:
        words = ["passwordauthentication", "challengeresponseauthentication"]
        if config.effective("kbdinteractiveauthentication").source is not None:
            words.append("kbdinteractiveauthentication")
    return [_sshd.Rule(kw, _YES) for kw in words]


def _judged(facts: Facts) -> list[_sshd.Judgement] | None:
    """The password routes, then PermitEmptyPasswords when some connection gets `yes`."""
    config = _sshd.load(facts)
    if config is None:
        return None
    judged = [_sshd.judge(facts, config, rule) for rule in _rules(facts, config)]
    empty = _sshd.judge(facts, config, EMPTY)
    return [*judged, empty] if empty.unsafe else judged


def check(facts: Facts) -> Finding:
    entry = catalog()[ID]
    judged = _judged(facts)
    if judged is None:
        return entry.finding(Status.SKIP, "no sshd configuration found: no SSH server to check")
    evidence = [e for j in judged for e in j.eff.evidence]
    reopened = [e for j in judged for e in (*j.reopened, *j.live)]
    harmless = [e for j in judged for e in j.harmless]
    parts = [f"{j.eff.name} is {j.eff.value} ({j.eff.origin(facts)})" for j in judged]
    summary = "; ".join(parts)
    if any(j.eff.value == "yes" for j in judged):
        return entry.finding(Status.FAIL, summary, evidence + reopened + harmless)
    first = next((j for j in judged if j.reopens), None)
    if first is not None:
        return entry.finding(
            Status.FAIL,
            f"password logins are off, but {first.where_reopened()} turns them on again",
            evidence + reopened + harmless,
        )
    return entry.finding(Status.PASS, summary, evidence + harmless)


def plan(facts: Facts, option_id: str, ctx: PlanContext | None = None) -> tuple[Action, ...]:
    """Turn off every password route that is on for some connection (password,
    keyboard-interactive, empty passwords), Match blocks included."""
    option(ID, option_id)
    judged = _judged(facts) or []
    return tuple(
        SetSshd(
            check_id=ID,
            keyword=j.eff.name,
            args=("no",),
            clear_in_match=_sshd.clear_in_match(j),
        )
        for j in judged
        if j.eff.value != "no" or j.reopens
    )


unchanged = _sshd.unchanged  # the preview's reason when the plan is empty (sshd -T failed)
