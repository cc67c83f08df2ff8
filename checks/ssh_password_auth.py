"""ssh-password-auth: both password routes into sshd must be closed.

PasswordAuthentication and keyboard-interactive (PAM usually asks for the same password)
are judged on their effective values, and Match blocks that reopen them are shown.
"""

from __future__ import annotations

from checks import _sshd
from checks._plans import option
from checks.base import catalog
from wizard.actions import Action, PlanContext, SetSshd
from wizard.facts import Facts
from wizard.model import Finding, Status
from wizard.sshd_config import SshdConfig

ID = "ssh-password-auth"


def _keywords(facts: Facts, config: SshdConfig) -> list[str]:
    # Since 8.7 ChallengeResponseAuthentication is an alias the model folds into
    # KbdInteractiveAuthentication; before, keyboard-interactive follows
    # ChallengeResponseAuthentication unless KbdInteractiveAuthentication is set explicitly.
    if not _sshd.version_before(facts, 8, 7):
        return ["passwordauthentication", "kbdinteractiveauthentication"]
    words = ["passwordauthentication", "challengeresponseauthentication"]
    if config.effective("kbdinteractiveauthentication").source is not None:
        words.append("kbdinteractiveauthentication")
    return words


def check(facts: Facts) -> Finding:
    entry = catalog()[ID]
    config = _sshd.load(facts)
    if config is None:
        return entry.finding(Status.SKIP, "no sshd configuration found: no SSH server to check")
    settings = [_sshd.effective(facts, config, kw) for kw in _keywords(facts, config)]
    evidence = [e for s in settings for e in s.evidence]
    reopened = [e for s in settings for e in _sshd.match_overrides(config, s, lambda v: v == "yes")]
    parts = [f"{s.name} is {s.value} ({s.origin(facts)})" for s in settings]
    summary = "; ".join(parts)
    if any(s.value == "yes" for s in settings):
        return entry.finding(Status.FAIL, summary, evidence + reopened)
    if reopened:
        where = f"{reopened[0].path}:{reopened[0].line}"
        return entry.finding(
            Status.WARN,
            f"password logins are off, but a Match block at {where} turns them on again",
            evidence + reopened,
        )
    return entry.finding(Status.PASS, summary, evidence)


def plan(facts: Facts, option_id: str, ctx: PlanContext | None = None) -> tuple[Action, ...]:
    """Turn off every password route that is on (password and keyboard-interactive)."""
    option(ID, option_id)
    config = _sshd.load(facts)
    if config is None:
        return ()
    actions: list[Action] = []
    for kw in _keywords(facts, config):
        eff = _sshd.effective(facts, config, kw)
        reopened = _sshd.match_overrides(config, eff, lambda v: v == "yes")
        if eff.value != "no" or reopened:
            clear = ("yes",) if reopened else ()
            actions.append(
                SetSshd(check_id=ID, keyword=_sshd.name(kw), args=("no",), clear_in_match=clear)
            )
    return tuple(actions)


unchanged = _sshd.unchanged  # the preview's reason when the plan is empty (sshd -T failed)
