"""ssh-password-auth: both password routes into sshd must be closed.

PasswordAuthentication and keyboard-interactive (PAM usually asks for the same password)
are judged on their effective values and on every Match block that can reopen them for some
connection; PermitEmptyPasswords yes counts too. One sshd template
(`checks._sshd.Guideline`) does the judging and the fix; this module is its data.
"""

from __future__ import annotations

from checks import _sshd
from checks.registry import CheckMeta
from wizard.actions import SetSshd
from wizard.facts import Facts
from wizard.sshd_config import SshdConfig

ID = "ssh-password-auth"
META = CheckMeta(id=ID, order=20, needs=_sshd.NEEDS, actions=(SetSshd,))

_YES = frozenset({"yes"})


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


GUIDELINE = _sshd.Guideline(
    ID,
    rules=_rules,
    also_if_unsafe=(_sshd.Rule("permitemptypasswords", _YES),),
    reopened="password logins are off, but {where} turns them on again",
    value="no",  # the one option, `disable`, turns every route off
)
check = GUIDELINE.check
plan = GUIDELINE.plan
unchanged = _sshd.unchanged  # the preview's reason when the plan is empty (sshd -T failed)
